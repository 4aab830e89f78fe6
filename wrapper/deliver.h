/*
 * deliver.h: hand the message to the real sendmail.  The wrapper's process
 * becomes the real sendmail (execve), so its exit status, signals, stdout and
 * stderr reach the caller as they would without qwrap.  Runs without the group.
 */
#ifndef QWRAP_DELIVER_H
#define QWRAP_DELIVER_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "message.h"
#include "sanitize.h"

#define DELIVER_ERR_MAX 512

/*
 * The pipe the real sendmail will read its stdin from.  Opened before any
 * of the message is read, so running out of fds cannot strand a half-read
 * message.
 */
struct channel {
	int rfd, wfd;
	size_t cap;		/* what the pipe holds without a reader */
};

/*
 * Checks that PATH is an absolute path to an executable regular file owned by
 * root or by the owner of SELF (the running binary's stat), writable by
 * nobody else, and not SELF itself.
 */
int deliver_check_target(const char *path, const struct stat *self,
    char err[DELIVER_ERR_MAX]);

int deliver_channel_open(struct channel *ch);

/*
 * Makes fd 0 yield HDR, then the message as message_write writes it (with
 * the rest of its header section, if longer than the buffer, renamed the
 * same way), then the rest of the caller's stdin.  A message that fits in
 * the pipe is written there at once; a longer one is streamed by a
 * detached pump process that is not the real sendmail's child.  0, or -1
 * with ERR set.
 */
int deliver_feed(struct channel *ch, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname,
    char err[DELIVER_ERR_MAX]);

/* Restores the caller's process state and execs PATH.  Returns only on failure. */
int deliver_exec(const char *path, char *const argv[], char *const envp[],
    const struct procstate *ps);

#endif
