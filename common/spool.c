/* spool.c: the envelope of held mail, and the spool's size, leftovers swept (see spool.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "number.h"
#include "spool.h"

static int
item(int fd, const char *k, const char *v)
{
	if (v == NULL)
		return 0;
	if (write_full(fd, k, strlen(k)) < 0 || write_full(fd, "=", 1) < 0 ||
	    write_full(fd, v, strlen(v) + 1) < 0)
		return -1;
	return 0;
}

int
spool_env_write(int fd, const struct spool_env *e)
{
	char n[3][32];

	snprintf(n[0], sizeof n[0], "%lld", e->ts);
	snprintf(n[1], sizeof n[1], "%ld", e->uid);
	snprintf(n[2], sizeof n[2], "%ld", e->gid);
	if (item(fd, "id", e->id) < 0 || item(fd, "ts", n[0]) < 0 || item(fd, "uid", n[1]) < 0 ||
	    item(fd, "gid", n[2]) < 0 || item(fd, "cwd", e->cwd) < 0 ||
	    item(fd, "script", e->script) < 0 || item(fd, "script_from", e->script_from) < 0 ||
	    item(fd, "rule", e->rule) < 0 ||
	    item(fd, "key", e->key) < 0)
		return -1;
	for (int i = 0; i < e->argc; i++)
		if (item(fd, "argv", e->argv[i]) < 0)
			return -1;
	return 0;
}

int
spool_env_parse(char *text, size_t len, struct spool_env *e)
{
	long long n;
	int have = 0, cap = 0;

	memset(e, 0, sizeof *e);
	if (len == 0 || text[len - 1] != '\0')
		return -1;
	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\0';
	if ((e->argv = calloc((size_t)cap + 1, sizeof *e->argv)) == NULL)
		return -1;
	for (size_t i = 0; i < len;) {
		char *k = text + i, *v = strchr(k, '=');

		i += strlen(k) + 1;
		if (v == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(k, "id") == 0) {
			/* It names the spool's files: a record id, nothing that walks a path. */
			if (strlen(v) == 0 || strlen(v) >= sizeof e->id || v[0] == '.' ||
			    strspn(v, "0123456789abcdef.") != strlen(v))
				goto bad;
			memcpy(e->id, v, strlen(v) + 1);
			have |= 1;
		} else if (strcmp(k, "ts") == 0 && number_parse(v, 10, &n) == 0)
			e->ts = n;
		/* A uid or gid of -1 would mean "unchanged" to setresuid: never root by accident. */
		else if (strcmp(k, "uid") == 0 && number_parse(v, 10, &n) == 0 && n >= 0 && n < 0xffffffffLL)
			e->uid = (long)n, have |= 2;
		else if (strcmp(k, "gid") == 0 && number_parse(v, 10, &n) == 0 && n >= 0 && n < 0xffffffffLL)
			e->gid = (long)n, have |= 4;
		else if (strcmp(k, "cwd") == 0)
			e->cwd = v;
		else if (strcmp(k, "script") == 0)
			e->script = v;
		else if (strcmp(k, "script_from") == 0)
			e->script_from = v;
		else if (strcmp(k, "rule") == 0)
			e->rule = v;
		else if (strcmp(k, "key") == 0)
			e->key = v;
		else if (strcmp(k, "argv") == 0 && e->argc < SPOOL_ARGS_MAX)
			e->argv[e->argc++] = v;
		else
			goto bad;
	}
	if (have == 7 && e->argc >= 1)
		return 0;
bad:
	free(e->argv);
	e->argv = NULL;
	return -1;
}

/*
 * A sender killed while holding left NAME behind an hour or more ago: a
 * partial ID.msg.tmp or ID.env.tmp, or an ID.msg whose envelope never came.
 */
static int
left_behind(int dfd, const char *name, const struct stat *st, time_t now)
{
	char env[NAME_MAX + 1];
	size_t n = strlen(name);
	struct stat est;	/* fstatat, not faccessat: set-gid, the real ids may not search DIR */

	if (!S_ISREG(st->st_mode) || st->st_mtime > now - SPOOL_STALE_S || n <= 4)
		return 0;
	if (strcmp(name + n - 4, ".tmp") == 0)
		return 1;
	return strcmp(name + n - 4, ".msg") == 0 &&
	    snprintf(env, sizeof env, "%.*s.env", (int)n - 4, name) < (int)sizeof env &&
	    fstatat(dfd, env, &est, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

long long
spool_sweep(const char *dir, time_t now, void (*gone)(const char *dir, const char *name))
{
	struct dirent *d;
	long long total = 0;
	DIR *dp = opendir(dir);

	if (dp == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		struct stat st;

		if (d->d_name[0] == '.' ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (left_behind(dirfd(dp), d->d_name, &st, now) &&
		    unlinkat(dirfd(dp), d->d_name, 0) == 0) {
			if (gone != NULL)
				gone(dir, d->d_name);
			continue;
		}
		total += (long long)st.st_size;
	}
	closedir(dp);
	return total;
}
