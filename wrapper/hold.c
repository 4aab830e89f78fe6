/*
 * hold.c: the message goes to DIR/ID.msg.tmp, is synced and renamed to
 * ID.msg; then the envelope likewise to ID.env.  A failure removes what was
 * written, so the caller is told and nothing half-held stays behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "iofull.h"

#define COPY_CHUNK 65536

static int
fail(char err[SPOOL_ERR_MAX], const char *what, const char *path)
{
	snprintf(err, SPOOL_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* Creates PATH.tmp, lets WRITE fill it, syncs it and renames it to PATH. */
static int
put(const char *path, int (*fill)(int fd, const void *arg, char err[SPOOL_ERR_MAX]),
    const void *arg, char err[SPOOL_ERR_MAX])
{
	char tmp[PATH_MAX];
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0)
		return fail(err, "cannot create", tmp);
	if (fill(fd, arg, err) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		if (err[0] == '\0')
			fail(err, "cannot write", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fail(err, "cannot rename", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct msgarg {
	const char *hdr;
	size_t hdrlen;
	const struct message *m;
	const struct msgfields *f;
	const char *ourname;
	long long room;		/* bytes the spool may still take */
};

static int
fill_message(int fd, const void *arg, char err[SPOOL_ERR_MAX])
{
	static char buf[COPY_CHUNK];
	const struct msgarg *a = arg;
	long long total = (long long)(a->hdrlen + message_written_size(a->m, a->f));
	ssize_t n;

	if (total > a->room) {
		snprintf(err, SPOOL_ERR_MAX, "the hold spool is full (spool_max_mb)");
		return -1;
	}
	if (write_full(fd, a->hdr, a->hdrlen) < 0 || message_write(fd, a->m, a->f, a->ourname) < 0)
		return -1;
	/* The rest of stdin, a buffer at a time. */
	while (!a->m->eof && (n = read(0, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, SPOOL_ERR_MAX, "cannot read the message: %s", strerror(errno));
			return -1;
		}
		if ((total += n) > a->room) {
			snprintf(err, SPOOL_ERR_MAX, "the hold spool is full (spool_max_mb)");
			return -1;
		}
		if (write_full(fd, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

static int
fill_env(int fd, const void *arg, char err[SPOOL_ERR_MAX])
{
	(void)err;
	return spool_env_write(fd, arg);
}

int
hold_message(const char *dir, long max_mb, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname,
    const struct spool_env *env, char err[SPOOL_ERR_MAX])
{
	char msg[PATH_MAX], envp[PATH_MAX];
	long long used = spool_usage(dir);
	struct msgarg a = { hdr, hdrlen, m, f, ourname, (long long)max_mb * 1024 * 1024 - used };

	err[0] = '\0';
	if (used < 0)
		return fail(err, "cannot read the hold spool", dir);
	if (snprintf(msg, sizeof msg, "%s/%s.msg", dir, env->id) >= (int)sizeof msg ||
	    snprintf(envp, sizeof envp, "%s/%s.env", dir, env->id) >= (int)sizeof envp) {
		snprintf(err, SPOOL_ERR_MAX, "spool path too long: %s", dir);
		return -1;
	}
	if (put(msg, fill_message, &a, err) < 0)
		return -1;
	if (put(envp, fill_env, env, err) < 0 || fsync_dir(dir) < 0) {
		if (err[0] == '\0')
			fail(err, "cannot sync", dir);
		unlink(envp);
		unlink(msg);
		return -1;
	}
	return 0;
}
