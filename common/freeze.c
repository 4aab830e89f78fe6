/*
 * freeze.c: see freeze.h.  The file is root's; it is parsed strictly all
 * the same, and a line that does not parse makes the whole file refused:
 * the keeper then refuses mail with a temporary failure rather than guess
 * which freezes were meant.
 */
#include "freeze.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "number.h"
#include "pathclean.h"

const char *const freeze_by_names[4] = { "uid", "script", "cwd", "vhost" };

/* The next space-separated word of *P (up to the line's end), NUL-terminated in place. */
static char *
word(char **p)
{
	char *w = *p, *e = w + strcspn(w, " ");

	if (*e == ' ')
		*e++ = '\0';
	*p = e;
	return w;
}

static int
number(const char *s, long long *out)
{
	return s[0] >= '0' && s[0] <= '9' ? number_parse(s, 10, out) : -1;
}

static int
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* One line, without its newline, into F; 0, or -1 when it is not a freeze. */
static int
parse_line(char *line, struct freeze *f)
{
	char *p = line, *id = word(&p), *created = word(&p), *until = word(&p);
	char *action = word(&p), *by = word(&p), *name = word(&p);
	long long n;
	int k;

	if (number(id, &n) < 0 || n <= 0 || n > 999999)
		return -1;
	f->id = (long)n;
	if (number(created, &f->created) < 0 || number(until, &f->until) < 0)
		return -1;
	if (strcmp(action, "hold") == 0)
		f->action = LIMIT_HOLD;
	else if (strcmp(action, "reject") == 0)
		f->action = LIMIT_REJECT;
	else
		return -1;
	for (k = 0; k < 4 && strcmp(by, freeze_by_names[k]) != 0; k++)
		;
	if (k == 4)
		return -1;
	f->by = (enum freeze_by)k;
	if (name[0] == '\0' || strlen(name) >= sizeof f->name || !printable(name) ||
	    p[0] == '\0' || strlen(p) >= sizeof f->value || !printable(p))
		return -1;
	if (f->by == FREEZE_UID ? number(p, &n) < 0 || n > 0x7fffffffL : f->by != FREEZE_SCRIPT &&
	    p[0] != '/')
		return -1;
	memcpy(f->name, name, strlen(name) + 1);
	memcpy(f->value, p, strlen(p) + 1);
	return 0;
}

int
freeze_load(const char *path, uid_t trusted, struct freezes *fz, char err[FREEZE_ERR_MAX])
{
	static char text[FREEZE_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t got;
	int fd, line = 0;

	fz->n = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, FREEZE_ERR_MAX, "cannot open the freezes %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (st.st_uid != 0 && st.st_uid != trusted) || (st.st_mode & 022)) {
		snprintf(err, FREEZE_ERR_MAX, "the freezes %s are not root's file, writable by root"
		    " only", path);
		close(fd);
		return -1;
	}
	while (len < sizeof text - 1 && (got = read(fd, text + len, sizeof text - 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, FREEZE_ERR_MAX, "cannot read the freezes %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)got;
	}
	close(fd);
	text[len] = '\0';
	if (len == sizeof text - 1 || memchr(text, '\0', len) != NULL ||
	    (len > 0 && text[len - 1] != '\n')) {
		snprintf(err, FREEZE_ERR_MAX, "the freezes %s are too long or not lines of text", path);
		return -1;
	}
	for (char *s = text, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		*nl = '\0';
		line++;
		if (fz->n == FREEZE_MAX || parse_line(s, &fz->f[fz->n]) < 0) {
			snprintf(err, FREEZE_ERR_MAX, "the freezes %s: line %d is not a freeze%s", path,
			    line, fz->n == FREEZE_MAX ? " (too many)" : "");
			fz->n = 0;
			return -1;
		}
		fz->n++;
	}
	return 1;
}

size_t
freeze_format(const struct freezes *fz, char *out)
{
	size_t len = 0;

	for (int i = 0; i < fz->n; i++) {
		const struct freeze *f = &fz->f[i];

		len += (size_t)snprintf(out + len, FREEZE_FILE_MAX - len, "%ld %lld %lld %s %s %s %s\n",
		    f->id, f->created, f->until, f->action == LIMIT_HOLD ? "hold" : "reject",
		    freeze_by_names[f->by], f->name, f->value);
	}
	return len;
}

static int
in_force(const struct freeze *f, long long now)
{
	return f->until == 0 || now < f->until;
}

const struct freeze *
freeze_match(const struct freezes *fz, long uid, const char *script, const char *cwd,
    long long now)
{
	for (int i = 0; i < fz->n; i++) {
		const struct freeze *f = &fz->f[i];
		int hit = 0;

		if (!in_force(f, now))
			continue;
		switch (f->by) {
		case FREEZE_UID:
			hit = strtol(f->value, NULL, 10) == uid;
			break;
		case FREEZE_SCRIPT:
			hit = script != NULL && fnmatch(f->value, script, 0) == 0;
			break;
		case FREEZE_CWD:
			hit = path_below(f->value, cwd);
			break;
		case FREEZE_VHOST:
			hit = path_below(f->value, script) || path_below(f->value, cwd);
			break;
		}
		if (hit)
			return f;
	}
	return NULL;
}

int
freeze_may_match(const struct freezes *fz, long uid, long long now)
{
	for (int i = 0; i < fz->n; i++)
		if (in_force(&fz->f[i], now) && (fz->f[i].by != FREEZE_UID ||
		    strtol(fz->f[i].value, NULL, 10) == uid))
			return 1;
	return 0;
}
