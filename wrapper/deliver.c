/*
 * deliver.c: feed stdin and exec the real sendmail.  The body streams in
 * constant memory: splice(2) moves the caller's pages into the pipe.
 */
#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iofull.h"
#include "sanitize.h"
#include "target.h"

#define PIPE_WANT (256 * 1024)	/* enough for the whole first buffer and the header */
#define PUMP_CHUNK (1024 * 1024)

int
deliver_check_target(const char *path, const struct stat *self, char err[DELIVER_ERR_MAX])
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(err, DELIVER_ERR_MAX, "real sendmail %s is not an absolute path", path);
		return -1;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, DELIVER_ERR_MAX, "real sendmail %s: %s", path, strerror(errno));
		return -1;
	}
	switch (target_judge(&st, self)) {
	case TARGET_OK:
		/* And this caller may run it: found now, before any of the message is read. */
		if (access(path, X_OK) == 0)
			return 0;
		snprintf(err, DELIVER_ERR_MAX, "real sendmail %s is not an executable file", path);
		break;
	case TARGET_IS_WRAPPER:
		snprintf(err, DELIVER_ERR_MAX,
		    "real sendmail %s is qwrap-sendmail itself; set 'sendmail' in the config to the MTA's program",
		    path);
		break;
	case TARGET_NOT_PROGRAM:
		snprintf(err, DELIVER_ERR_MAX, "real sendmail %s is not an executable file", path);
		break;
	case TARGET_UNSAFE:
		snprintf(err, DELIVER_ERR_MAX,
		    "real sendmail %s must be owned by root and writable by nobody else", path);
		break;
	}
	return -1;
}

int
deliver_channel_open(struct channel *ch)
{
	int fds[2], cap;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	ch->rfd = fds[0];
	ch->wfd = fds[1];
	/* A user over the pipe quota keeps the default size: the pump takes over then. */
	fcntl(ch->wfd, F_SETPIPE_SZ, PIPE_WANT);
	cap = fcntl(ch->wfd, F_GETPIPE_SZ);
	ch->cap = cap > 0 ? (size_t)cap : 4096;
	return 0;
}

/*
 * HDR, the message read so far, and the rest of its header section from
 * stdin, renamed as the buffer's: 0, 1 when stdin ended there, -1 when FD
 * is closed, -2 on a read error.
 */
static int
write_prefix(int fd, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname)
{
	struct msgtail t;

	if (write_full(fd, hdr, hdrlen) < 0 || message_write(fd, m, f, ourname, &t) < 0)
		return -1;
	return msgtail_copy(&t, 0, message_out_fd, &fd);
}

/* Copies the rest of stdin to FD: -1 on a read error, -2 when FD is closed. */
static int
copy_stdin(int fd)
{
	static char buf[65536];
	ssize_t n;

	for (;;) {
		n = splice(0, NULL, fd, NULL, PUMP_CHUNK, SPLICE_F_MOVE);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EPIPE)
			return -2;
		if (errno != EINVAL && errno != ESPIPE)
			return -1;
		break;		/* stdin cannot be spliced (a tty, say): copy it */
	}
	for (;;) {
		n = read(0, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (write_full(fd, buf, (size_t)n) < 0)
			return -2;
	}
}

/*
 * The pump, a grandchild so that the real sendmail never sees an unexpected
 * child.  If the caller's stdin fails mid-message, it kills the real
 * sendmail, so that a cut message is refused, never queued.
 */
static void
pump(int wfd, int pidfd, pid_t sendmail, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname)
{
	int r;

	/* Nobody waits on our stdout or stderr: the caller reads the real sendmail's. */
	sanitize_null_stdio(1);
	/* The capture log and the rest are none of the pump's, which reads the caller's data. */
	sanitize_close_fds_but(wfd, pidfd >= 0 ? pidfd : wfd);
	/*
	 * Larger pipes on both sides mean fewer wake-ups per megabyte; either
	 * call may fail (stdin not a pipe, the user's pipe quota) and that is fine.
	 */
	fcntl(0, F_SETPIPE_SZ, PUMP_CHUNK);
	fcntl(wfd, F_SETPIPE_SZ, PUMP_CHUNK);
	r = write_prefix(wfd, hdr, hdrlen, m, f, ourname);
	if (r == -1)
		_exit(0);	/* the real sendmail stopped reading; its status tells the caller */
	/*
	 * By pidfd, so a sendmail that already exited cannot be mistaken for a
	 * process that reused its pid; the bare pid only where pidfds are missing.
	 */
	if (r == -2 || (r == 0 && copy_stdin(wfd) == -1)) {
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		else
			kill(sendmail, SIGKILL);
	}
	_exit(0);
}

/* Last resort when no process can be started: the message goes into memory. */
static int
feed_memfd(struct channel *ch, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname)
{
	int fd, r;

	close(ch->rfd);
	close(ch->wfd);
	if ((fd = memfd_create("qwrap-message", MFD_CLOEXEC)) < 0)
		return -1;
	if ((r = write_prefix(fd, hdr, hdrlen, m, f, ourname)) < 0 ||
	    (r == 0 && copy_stdin(fd) != 0) ||
	    lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
deliver_feed(struct channel *ch, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname,
    char err[DELIVER_ERR_MAX])
{
	size_t total = hdrlen + message_written_size(m, f);
	pid_t self = getpid(), child;
	int pidfd, status = 0;

	/*
	 * A pipe fills page by page, and a write that does not fit the last
	 * page's rest starts a new one: allow a page per write, so these
	 * writes can never block with nobody reading yet.
	 */
	if (m->eof && total + (size_t)(3 + 2 * f->nforged) * 4096 <= ch->cap) {
		/* It all fits in the pipe: no process needed (and no header tail: stdin ended). */
		if (write_prefix(ch->wfd, hdr, hdrlen, m, f, ourname) < 0) {
			snprintf(err, DELIVER_ERR_MAX, "cannot write the message: %s", strerror(errno));
			return -1;
		}
	} else {
		pidfd = (int)syscall(SYS_pidfd_open, self, 0);
		child = fork();
		if (child == 0) {
			pid_t grandchild = fork();

			if (grandchild != 0)	/* failing to fork tells the wrapper by status 1 */
				_exit(grandchild < 0);
			close(ch->rfd);
			pump(ch->wfd, pidfd, self, hdr, hdrlen, m, f, ourname);
		}
		if (pidfd >= 0)
			close(pidfd);
		if (child > 0 && (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))) {
			/* Killed after it may have forked the pump: two readers of stdin would lose bytes. */
			snprintf(err, DELIVER_ERR_MAX, "the process starting the pump was killed");
			return -1;
		}
		if (child < 0 || WEXITSTATUS(status) != 0) {
			if (feed_memfd(ch, hdr, hdrlen, m, f, ourname) < 0) {
				snprintf(err, DELIVER_ERR_MAX, "cannot stream the message: %s",
				    strerror(errno));
				return -1;
			}
			return 0;
		}
	}
	close(ch->wfd);
	if (dup2(ch->rfd, 0) < 0) {
		snprintf(err, DELIVER_ERR_MAX, "cannot set up stdin: %s", strerror(errno));
		return -1;
	}
	close(ch->rfd);
	return 0;
}

int
deliver_exec(const char *path, char *const argv[], char *const envp[],
    const struct procstate *ps)
{
	if (sanitize_restore(ps) < 0)
		return -1;
	execve(path, argv, envp);
	return -1;
}
