/*
 * state.c: install.state.  Read by the set-gid wrapper (bounded, one read of
 * a root-owned file), written only by qwrap-install as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iofull.h"
#include "number.h"
#include "state.h"

static int
path_of(const char *dir, const char *name, char out[PATH_MAX], char err[STATE_ERR_MAX])
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		snprintf(err, STATE_ERR_MAX, "state directory path too long: %s", dir);
		return -1;
	}
	return 0;
}

static int
text(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	/* Zero-filled, so a key given twice leaves nothing of its first value. */
	memset(dst, 0, cap);
	memcpy(dst, v, n);
	return 0;
}

/* Every number of install.state is one of ours, and none is negative. */
static int
number(long long *dst, const char *v, int base)
{
	return number_parse(v, base, dst) < 0 || *dst < 0 ? -1 : 0;
}

/* One key=value; unknown keys are skipped, so later versions may add some. */
static int
field(struct install_state *s, const char *k, const char *v)
{
	const struct { const char *k; char *p; size_t cap; } texts[] = {
		{ "target", s->target, sizeof s->target },
		{ "original", s->original, sizeof s->original },
		{ "wrapper", s->wrapper, sizeof s->wrapper },
		{ "sha256", s->sha256, sizeof s->sha256 },
		{ "session", s->session, sizeof s->session },
		{ "scheduler", s->scheduler, sizeof s->scheduler },
		{ "job", s->job, sizeof s->job },
	};
	const struct { const char *k; long long *p; int base; } numbers[] = {
		{ "dev", &s->dev, 10 }, { "ino", &s->ino, 10 }, { "mode", &s->mode, 8 },
		{ "uid", &s->uid, 10 }, { "gid", &s->gid, 10 },
		{ "enabled_at", &s->enabled_at, 10 }, { "log_offset", &s->log_offset, 10 },
		{ "log_ino", &s->log_ino, 10 },
		{ "deadline", &s->deadline, 10 },
	};

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (strcmp(k, texts[i].k) == 0)
			return text(texts[i].p, texts[i].cap, v);
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (strcmp(k, numbers[i].k) == 0)
			return number(numbers[i].p, v, numbers[i].base);
	return 0;
}

int
state_parse(const char *buf, size_t len, struct install_state *s, char err[STATE_ERR_MAX])
{
	char line[PATH_MAX + 32];
	size_t i = 0;
	int lineno = 0;

	memset(s, 0, sizeof *s);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
		char *eq;

		lineno++;
		if (n >= sizeof line || memchr(buf + i, '\0', n) != NULL) {
			snprintf(err, STATE_ERR_MAX, "line %d is too long or holds a NUL", lineno);
			return -1;
		}
		memcpy(line, buf + i, n);
		line[n] = '\0';
		i += n + 1;
		if (n == 0)
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, STATE_ERR_MAX, "line %d has no '='", lineno);
			return -1;
		}
		*eq = '\0';
		if (field(s, line, eq + 1) < 0) {
			snprintf(err, STATE_ERR_MAX, "line %d: bad value for '%.32s'", lineno, line);
			return -1;
		}
	}
	if (s->target[0] != '/' || s->original[0] != '/' || s->wrapper[0] != '/' ||
	    strlen(s->sha256) != 64 || strspn(s->sha256, "0123456789abcdef") != 64) {
		snprintf(err, STATE_ERR_MAX, "incomplete: target, original, wrapper or sha256 missing");
		return -1;
	}
	return 0;
}

size_t
state_format(const struct install_state *s, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "version=1\ntarget=%s\noriginal=%s\nwrapper=%s\ndev=%lld\n"
	    "ino=%lld\nmode=%llo\nuid=%lld\ngid=%lld\nsha256=%s\nenabled_at=%lld\nlog_offset=%lld\n"
	    "log_ino=%lld\ndeadline=%lld\nsession=%s\nscheduler=%s\njob=%s\n",
	    s->target, s->original, s->wrapper, s->dev, s->ino, (unsigned long long)s->mode,
	    s->uid, s->gid, s->sha256, s->enabled_at, s->log_offset, s->log_ino, s->deadline,
	    s->session, s->scheduler, s->job);

	return n < 0 ? cap : (size_t)n;
}

/*
 * Reads DIR/NAME, which must be a regular file owned by root or TRUSTED and
 * writable by nobody else, into BUF (STATE_FILE_MAX bytes at most, *LEN
 * read).  1, 0 when there is none, -1 with ERR set (and errno on open).
 */
static int
read_state(const char *dir, const char *name, uid_t trusted, char buf[STATE_FILE_MAX + 1],
    size_t *len, char err[STATE_ERR_MAX])
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	*len = 0;
	if (path_of(dir, name, path, err) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
		int e = errno;

		if (e == ENOENT)
			return 0;
		snprintf(err, STATE_ERR_MAX, "cannot open %s: %s", path, strerror(e));
		errno = e;	/* the installer tells EACCES apart */
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != trusted) || (st.st_mode & 022)) {
		snprintf(err, STATE_ERR_MAX, "%s must be a regular file of root's, writable by nobody else",
		    path);
		close(fd);
		return -1;
	}
	while (*len <= STATE_FILE_MAX &&
	    (n = read(fd, buf + *len, STATE_FILE_MAX + 1 - *len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, STATE_ERR_MAX, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		*len += (size_t)n;
	}
	close(fd);
	if (*len > STATE_FILE_MAX) {
		snprintf(err, STATE_ERR_MAX, "%s is larger than %d bytes", path, STATE_FILE_MAX);
		return -1;
	}
	return 1;
}

/* read_state, from where an older install kept it when it is not yet in STATE_HOME. */
static int
read_state_moved(const char *dir, const char *name, uid_t trusted, char *buf, size_t *len,
    char err[STATE_ERR_MAX])
{
	int r = read_state(dir, name, trusted, buf, len, err);

	if (r == 0 && strcmp(name, STATE_NAME) == 0)
		r = read_state(dir, STATE_OLD_NAME, trusted, buf, len, err);
	else if (r == 0 && strcmp(name, STATE_LAST) == 0)
		r = read_state(dir, STATE_OLD_LAST, trusted, buf, len, err);
	return r;
}

int
state_load(const char *dir, const char *name, uid_t trusted, struct install_state *s,
    char err[STATE_ERR_MAX])
{
	char buf[STATE_FILE_MAX + 1], why[STATE_ERR_MAX];
	size_t len;
	int r = read_state_moved(dir, name, trusted, buf, &len, err);

	if (r <= 0)
		return r;
	if (state_parse(buf, len, s, why) < 0) {
		snprintf(err, STATE_ERR_MAX, "%s/%s: %s", dir, name, why);
		return -1;
	}
	return 1;
}

/* The renames in STATE_HOME are durable once it is on disk. */
static int
sync_state_dir(const char *dir, char err[STATE_ERR_MAX])
{
	char home[PATH_MAX];

	if (path_of(dir, STATE_HOME, home, err) < 0)
		return -1;
	if (fsync_dir(home) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot sync %s: %s", home, strerror(errno));
		return -1;
	}
	return 0;
}

int
state_home(const char *dir, gid_t gid, char err[STATE_ERR_MAX])
{
	static const char *const moves[][2] = { { STATE_OLD_NAME, "install.state" },
	    { STATE_OLD_LAST, "install.last" } };
	struct stat st;
	int dfd, hfd = -1, r = -1;

	/* By descriptor: whatever has the group may rename things in DIR meanwhile. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (mkdirat(dfd, STATE_HOME, 0750) < 0 && errno != EEXIST) {
		snprintf(err, STATE_ERR_MAX, "cannot make %s/%s: %s", dir, STATE_HOME, strerror(errno));
		goto out;
	}
	if ((hfd = openat(dfd, STATE_HOME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(hfd, &st) < 0 || st.st_uid != 0) {
		snprintf(err, STATE_ERR_MAX, "%s/%s must be a directory of root's; something else made"
		    " it: look at it, remove it, and run again", dir, STATE_HOME);
		goto out;
	}
	if (fchown(hfd, 0, gid) < 0 || fchmod(hfd, 0750) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot make %s/%s root:qwrap 0750: %s", dir, STATE_HOME,
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
		if (renameat2(dfd, moves[i][0], hfd, moves[i][1], RENAME_NOREPLACE) < 0 &&
		    errno != ENOENT && errno != EEXIST) {
			snprintf(err, STATE_ERR_MAX, "cannot move %s/%s into %s: %s", dir, moves[i][0],
			    STATE_HOME, strerror(errno));
			goto out;
		}
	if (fsync(hfd) < 0 || fsync(dfd) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot sync %s: %s", dir, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (hfd >= 0)
		close(hfd);
	close(dfd);
	return r;
}

int
state_save(const char *dir, gid_t gid, const struct install_state *s, char err[STATE_ERR_MAX])
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[STATE_FILE_MAX];
	size_t len = state_format(s, buf, sizeof buf);
	int fd;

	if (path_of(dir, STATE_NAME, path, err) < 0 || path_of(dir, STATE_NAME ".tmp", tmp, err) < 0)
		return -1;
	if (len >= sizeof buf) {
		snprintf(err, STATE_ERR_MAX, "the state does not fit in %d bytes", STATE_FILE_MAX);
		return -1;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_full(fd, buf, len) < 0 || fchown(fd, 0, gid) < 0 || fchmod(fd, 0640) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		snprintf(err, STATE_ERR_MAX, "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return sync_state_dir(dir, err);
}

int
state_retire(const char *dir, char err[STATE_ERR_MAX])
{
	char path[PATH_MAX], last[PATH_MAX];

	if (path_of(dir, STATE_NAME, path, err) < 0 || path_of(dir, STATE_LAST, last, err) < 0)
		return -1;
	if (rename(path, last) < 0 && errno != ENOENT) {
		snprintf(err, STATE_ERR_MAX, "cannot rename %s: %s", path, strerror(errno));
		return -1;
	}
	return sync_state_dir(dir, err);
}

/* The wrapper's question when its config is missing: is capture on? */
int
state_enabled(const char *dir, uid_t trusted)
{
	char buf[STATE_FILE_MAX + 1], err[STATE_ERR_MAX];
	size_t len;

	return read_state_moved(dir, STATE_NAME, trusted, buf, &len, err) == 1;
}

/* The wrapper's question, on every message: only the deadline line is read. */
int
state_session_over(const char *dir, uid_t trusted, time_t now)
{
	char buf[STATE_FILE_MAX + 1], err[STATE_ERR_MAX];
	long long deadline = 0;
	size_t len;

	if (read_state_moved(dir, STATE_NAME, trusted, buf, &len, err) != 1)
		return 0;
	for (size_t i = 0; i < len;) {
		const char *line = buf + i, *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;

		i += n + 1;
		if (n > 9 && n < 32 && memcmp(line, "deadline=", 9) == 0) {
			char v[32];

			memcpy(v, line + 9, n - 9);
			v[n - 9] = '\0';
			if (number(&deadline, v, 10) < 0)
				deadline = 0;
		}
	}
	return deadline > 0 && now >= deadline;
}
