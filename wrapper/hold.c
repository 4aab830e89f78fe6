/*
 * hold.c: the message is streamed to DIR/ID.msg.tmp and synced; while it
 * grows, what the spool holds (holds under way included) is looked at
 * again every HOLD_LOOK_EVERY bytes.  Then the cap is checked against what
 * the spool holds now, and the message is renamed to ID.msg and its
 * envelope written as ID.env the same way, so that an ID.env always names
 * a whole message.  No lock is shared among senders (a sender may stop its
 * own process at any point): holds growing or committed at the same
 * instant may pass the cap by HOLD_LOOK_EVERY each, and a hold whose sender
 * sends nothing for an hour mid-message is taken for a leftover and fails.
 * A failure removes what was written: the caller is told, and nothing
 * half-held stays behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* Creates TMP, lets FILL write it, and syncs it; removes it on failure. */
static int
write_tmp(const char *tmp, int (*fill)(int fd, const void *arg, char err[SPOOL_ERR_MAX]),
    const void *arg, char err[SPOOL_ERR_MAX])
{
	int fd;

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
	return 0;
}

static int
full(char err[SPOOL_ERR_MAX])
{
	snprintf(err, SPOOL_ERR_MAX, "the hold spool is full (spool_max_mb)");
	return -1;
}

static int
fill_env(int fd, const void *arg, char err[SPOOL_ERR_MAX])
{
	(void)err;
	return spool_env_write(fd, arg);
}

/* The cap against what the spool holds now (this hold included), then the two names. */
static int
commit(const char *dir, long long cap, const char *msgtmp, const char *msg,
    const char *envtmp, const char *env, const struct spool_env *e, char err[SPOOL_ERR_MAX])
{
	long long used = spool_sweep(dir, time(NULL), NULL);
	struct stat st;

	if (used < 0)
		return fail(err, "cannot read the hold spool", dir);
	if (used > cap)
		return full(err);
	if (rename(msgtmp, msg) < 0)
		return fail(err, "cannot rename", msgtmp);
	if (write_tmp(envtmp, fill_env, e, err) < 0 || rename(envtmp, env) < 0 ||
	    fsync_dir(dir) < 0) {
		if (err[0] == '\0')
			fail(err, "cannot write the envelope", env);
		goto undo;
	}
	/*
	 * A sweep may take a message between its two names for one whose
	 * sender was killed, if this sender was stopped there for an hour.
	 * (A sweep that looked before the envelope came and removes after this
	 * check still wins: only a sender that stops itself there loses so.)
	 */
	if (lstat(msg, &st) < 0) {
		fail(err, "the held message was removed while it was committed:", msg);
		goto undo;
	}
	return 0;
undo:
	unlink(envtmp);
	unlink(env);
	unlink(msg);
	return -1;
}

int
hold_open(struct hold *h, const char *dir, long max_mb, const struct spool_env *env,
    long long (*use)(const char *dir), char err[SPOOL_ERR_MAX])
{
	size_t args = 0;
	long long used = use(dir);

	err[0] = '\0';
	*h = (struct hold){ .dir = dir, .env = env, .fd = -1, .use = use,
	    .cap = (long long)max_mb * 1024 * 1024, .next_look = HOLD_LOOK_EVERY };
	if (used < 0)
		return fail(err, "cannot read the hold spool", dir);
	/* The room left now; holds under way take theirs as they grow. */
	if ((h->room = h->cap - used) <= 0)
		return full(err);
	/* What qwrap release could not read back is not held: the caller is told instead. */
	for (int i = 0; i < env->argc && args <= SPOOL_ENV_MAX / 2; i++)
		args += strlen(env->argv[i]) + sizeof "argv=";
	if (env->argc > SPOOL_ARGS_MAX || args > SPOOL_ENV_MAX / 2) {
		snprintf(err, SPOOL_ERR_MAX, "arguments too many or too long to hold");
		return -1;
	}
	if (snprintf(h->msg, sizeof h->msg, "%s/%s.msg", dir, env->id) >= (int)sizeof h->msg ||
	    snprintf(h->env_path, sizeof h->env_path, "%s/%s.env", dir, env->id) >=
	    (int)sizeof h->env_path ||
	    snprintf(h->msgtmp, sizeof h->msgtmp, "%s.tmp", h->msg) >= (int)sizeof h->msgtmp ||
	    snprintf(h->envtmp, sizeof h->envtmp, "%s.tmp", h->env_path) >= (int)sizeof h->envtmp) {
		snprintf(err, SPOOL_ERR_MAX, "spool path too long: %s", dir);
		return -1;
	}
	unlink(h->msgtmp);
	h->fd = open(h->msgtmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (h->fd < 0)
		return fail(err, "cannot create", h->msgtmp);
	return 0;
}

int
hold_write(struct hold *h, const void *p, size_t n, char err[SPOOL_ERR_MAX])
{
	/*
	 * Other holds grow too: looked at again every HOLD_LOOK_EVERY bytes, so
	 * that holds kept open together cannot each take the room there was
	 * when they opened (what the spool holds counts this hold as written).
	 */
	if (h->total + (long long)n > h->next_look) {
		long long used = h->use(h->dir);

		if (used < 0)
			return fail(err, "cannot read the hold spool", h->dir);
		h->room = h->cap - (used - h->total);
		h->next_look = h->total + HOLD_LOOK_EVERY;
	}
	if ((h->total += (long long)n) > h->room)
		return full(err);
	if (write_full(h->fd, p, n) < 0)
		return fail(err, "cannot write", h->msgtmp);
	return 0;
}

void
hold_abort(struct hold *h)
{
	if (h->fd >= 0) {
		close(h->fd);
		unlink(h->msgtmp);
	}
	h->fd = -1;
}

int
hold_commit(struct hold *h, char err[SPOOL_ERR_MAX])
{
	int fd = h->fd;

	h->fd = -1;
	/*
	 * Fresh: a file untouched for an hour is taken for what a killed
	 * sender left, and this sender may have kept its input open that long.
	 */
	if (futimens(fd, NULL) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fail(err, "cannot write", h->msgtmp);
		close(fd);
		unlink(h->msgtmp);
		return -1;
	}
	if (commit(h->dir, h->cap, h->msgtmp, h->msg, h->envtmp, h->env_path, h->env, err) < 0) {
		unlink(h->msgtmp);
		return -1;
	}
	return 0;
}

struct sink {
	struct hold *h;
	char *err;
};

static int
to_hold(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	return hold_write(s->h, p, n, s->err);
}

int
hold_stream(struct hold *h, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname, char err[SPOOL_ERR_MAX])
{
	static char buf[COPY_CHUNK];
	struct sink s = { h, err };
	struct msgtail t;
	ssize_t n;
	int r;

	if (hold_write(h, hdr, hdrlen, err) < 0 ||
	    message_write_to(to_hold, &s, m, f, ourname, &t) < 0)
		return -1;
	if ((r = msgtail_copy(&t, 0, to_hold, &s)) == -2)
		goto unreadable;
	if (r < 0)
		return -1;
	/* The rest of stdin, a buffer at a time. */
	while (r == 0 && !m->eof && (n = read(0, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto unreadable;
		if (hold_write(h, buf, (size_t)n, err) < 0)
			return -1;
	}
	return 0;
unreadable:
	snprintf(err, SPOOL_ERR_MAX, "cannot read the message: %s", strerror(errno));
	return -1;
}
