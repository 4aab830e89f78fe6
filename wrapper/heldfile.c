/*
 * heldfile.c: held mail's files, kept by the keeper (heldfile.h).  No lock
 * is shared among senders (a sender may stop its own process at any
 * point): holds committed at the same instant may pass the cap by what the
 * others hold, and a hold whose sender sends nothing for an hour
 * mid-message is taken for a leftover and fails.
 */
#include "heldfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"

static int
fail(char err[SPOOL_ERR_MAX], const char *what, const char *path)
{
	snprintf(err, SPOOL_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

int
heldfile_create(struct heldfile *h, const char *dir, const char *id, char err[SPOOL_ERR_MAX])
{
	*h = (struct heldfile){ .dir = dir, .fd = -1 };
	if (snprintf(h->msg, sizeof h->msg, "%s/%s.msg", dir, id) >= (int)sizeof h->msg ||
	    snprintf(h->env, sizeof h->env, "%s/%s.env", dir, id) >= (int)sizeof h->env ||
	    snprintf(h->msgtmp, sizeof h->msgtmp, "%s.tmp", h->msg) >= (int)sizeof h->msgtmp ||
	    snprintf(h->envtmp, sizeof h->envtmp, "%s.tmp", h->env) >= (int)sizeof h->envtmp) {
		snprintf(err, SPOOL_ERR_MAX, "spool path too long: %s", dir);
		return -1;
	}
	unlink(h->msgtmp);
	h->fd = open(h->msgtmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (h->fd < 0)
		return fail(err, "cannot create", h->msgtmp);
	return 0;
}

void
heldfile_remove(struct heldfile *h)
{
	if (h->fd < 0)
		return;
	close(h->fd);
	unlink(h->msgtmp);
	h->fd = -1;
}

static int
write_env(const char *tmp, const struct spool_env *e)
{
	int fd;

	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (spool_env_write(fd, e) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	return close(fd);
}

int
heldfile_commit(struct heldfile *h, long long cap, const struct spool_env *e,
    char err[SPOOL_ERR_MAX])
{
	long long used;
	struct stat st;
	int fd = h->fd;

	h->fd = -1;
	/*
	 * Fresh: a file untouched for an hour is taken for what a killed
	 * sender left, and this sender may have kept its input open that long.
	 */
	if (futimens(fd, NULL) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fail(err, "cannot write", h->msgtmp);
		close(fd);
		goto undo;
	}
	/* The cap against what the spool holds now, this message included. */
	if ((used = spool_sweep(h->dir, time(NULL), NULL)) < 0) {
		fail(err, "cannot read the hold spool", h->dir);
		goto undo;
	}
	if (used > cap) {
		snprintf(err, SPOOL_ERR_MAX, "the hold spool is full (spool_max_mb)");
		goto undo;
	}
	if (rename(h->msgtmp, h->msg) < 0) {
		fail(err, "cannot rename", h->msgtmp);
		goto undo;
	}
	if (write_env(h->envtmp, e) < 0 || rename(h->envtmp, h->env) < 0 ||
	    fsync_dir(h->dir) < 0) {
		fail(err, "cannot write the envelope", h->env);
		goto undo;
	}
	/*
	 * A sweep may take a message between its two names for one whose
	 * sender was killed, if this sender was stopped there for an hour.
	 */
	if (lstat(h->msg, &st) < 0) {
		fail(err, "the held message was removed while it was committed:", h->msg);
		goto undo;
	}
	return 0;
undo:
	unlink(h->envtmp);
	unlink(h->env);
	unlink(h->msg);
	unlink(h->msgtmp);
	return -1;
}
