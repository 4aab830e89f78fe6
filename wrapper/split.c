/* split.c: the worker's side of the split (split.h). */
#include "split.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitize.h"

int
split_start(struct keeper *k, const struct keeper_setup *s, char err[SPLIT_ERR_MAX])
{
	int sv[2], started = 0;

	*k = (struct keeper){ -1, -1, 0 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		snprintf(err, SPLIT_ERR_MAX, "cannot start the keeper: %s", strerror(errno));
	else if ((k->pid = fork()) < 0) {
		snprintf(err, SPLIT_ERR_MAX, "cannot start the keeper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
	} else if (k->pid == 0) {
		struct keeper_setup ks = *s;
		struct ucred peer;
		socklen_t len = sizeof peer;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Nothing of the caller's: not its stdio, not a descriptor it gave. */
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		close(sv[0]);
		sanitize_close_fds_but(sv[1], s->logfd);
		/* The worker's pid, from the kernel: it made the pair. */
		if (getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 ||
		    (long)peer.uid != s->uid)
			_exit(1);
		ks.pid = peer.pid;
		keeper_serve(sv[1], &ks);
	} else {
		close(sv[1]);
		k->sock = sv[0];
		started = 1;
	}
	if (s->logfd >= 0)
		close(s->logfd);
	if (sanitize_drop_group() < 0)
		return -1;
	return started ? 0 : 1;
}

/* Ends a keeper that failed, for good: no answer of it is read again. */
static int
lose(struct keeper *k)
{
	if (k->sock >= 0) {
		kill(k->pid, SIGKILL);
		close(k->sock);
		k->sock = -1;
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	k->lost = 1;
	return -1;
}

/* Sends the LEN bytes of REQ and waits for the answer, and the descriptor it may carry. */
static int
ask(struct keeper *k, const unsigned char *req, size_t len, struct kreply *a, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { a, sizeof *a };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct pollfd p = { .fd = k->sock, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t n;

	memset(a, 0, sizeof *a);
	a->status = -1;
	if (fd != NULL)
		*fd = -1;
	if (k->sock < 0) {
		snprintf(a->err, sizeof a->err, k->lost ? "the keeper failed before" :
		    "no keeper is running");
		return -1;
	}
	if (len == 0) {
		snprintf(a->err, sizeof a->err, "a request too long for the keeper");
		return -1;
	}
	if (send(k->sock, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		snprintf(a->err, sizeof a->err, "cannot ask the keeper: %s", strerror(errno));
		return lose(k);
	}
	while ((n = poll(&p, 1, KEEPER_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (n == 0) {
		snprintf(a->err, sizeof a->err, "the keeper did not answer in %d ms", KEEPER_WAIT_MS);
		return lose(k);
	}
	while ((n = recvmsg(k->sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof *a) {
		memset(a, 0, sizeof *a);
		a->status = -1;
		snprintf(a->err, sizeof a->err, "the keeper is gone");
		return lose(k);
	}
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof got);
			if (fd != NULL && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	a->err[sizeof a->err - 1] = a->key[sizeof a->key - 1] = '\0';
	if (a->linelen > RECORD_MAX)
		a->linelen = 0;
	return a->status == 0 ? 0 : -1;
}

int
keeper_record(struct keeper *k, const struct record *r, struct kreply *a)
{
	static unsigned char req[KPROTO_REQ_MAX];

	return ask(k, req, kproto_record(req, r), a, NULL);
}

int
keeper_limits(struct keeper *k, long long recipients, const char *script, const char *cwd,
    struct kreply *a)
{
	static unsigned char req[KPROTO_REQ_MAX];

	return ask(k, req, kproto_limits(req, recipients, script, cwd), a, NULL);
}

/* What the spool holds now, asked for while a hold grows. */
static long long
spool_use(void *arg)
{
	static struct kreply a;
	unsigned char req[16];

	return ask(arg, req, kproto_plain(req, KREQ_HOLD_USE), &a, NULL) < 0 ? -1 : a.n;
}

static int
answer(const struct kreply *a, char err[SPOOL_ERR_MAX])
{
	snprintf(err, SPOOL_ERR_MAX, "%s", a->err);
	return -1;
}

int
keeper_hold_open(struct keeper *k, struct hold *h, const char *id, const char *cwd,
    const char *script, const char *script_from, const char *sender, char *const rcpt[],
    int nrcpt, char err[SPOOL_ERR_MAX])
{
	static unsigned char req[KPROTO_REQ_MAX];
	static struct kreply a;
	size_t len = kproto_hold_open(req, id, cwd, script, script_from, sender, rcpt, nrcpt);
	int fd;

	h->fd = -1;
	if (len == 0 && sender != NULL) {
		snprintf(err, SPOOL_ERR_MAX, "more than %d recipients, or one too long, to hold whole",
		    KPROTO_RCPT_MAX);
		return -1;
	}
	if (ask(k, req, len, &a, &fd) < 0)
		return answer(&a, err);
	if (fd < 0) {
		snprintf(err, SPOOL_ERR_MAX, "the keeper gave no hold file");
		keeper_hold_abort(k, h);
		return -1;
	}
	if (hold_begin(h, fd, a.cap, a.n, spool_use, k, err) < 0) {
		keeper_hold_abort(k, h);
		return -1;
	}
	return 0;
}

int
keeper_hold_commit(struct keeper *k, struct hold *h, char err[SPOOL_ERR_MAX])
{
	static struct kreply a;
	unsigned char req[16];

	hold_close(h);
	if (ask(k, req, kproto_plain(req, KREQ_HOLD_COMMIT), &a, NULL) < 0)
		return answer(&a, err);
	return 0;
}

void
keeper_hold_abort(struct keeper *k, struct hold *h)
{
	static struct kreply a;
	unsigned char req[16];

	hold_close(h);
	ask(k, req, kproto_plain(req, KREQ_HOLD_ABORT), &a, NULL);
}

void
keeper_end(struct keeper *k)
{
	struct pollfd p;
	char c;

	if (k->sock < 0)
		return;
	/*
	 * The end of input tells it to exit, and its exit closes its end: then
	 * it is reaped.  One its caller stopped is not waited for long.
	 */
	p = (struct pollfd){ .fd = k->sock, .events = POLLIN };
	if (shutdown(k->sock, SHUT_WR) < 0 || poll(&p, 1, KEEPER_END_MS) != 1 ||
	    recv(k->sock, &c, 1, MSG_DONTWAIT) != 0)
		kill(k->pid, SIGKILL);
	close(k->sock);
	k->sock = -1;
	while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
		;
}
