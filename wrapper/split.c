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

/* The keeper, in the grandchild: nothing of the caller's, then its start. */
static void __attribute__((noreturn))
keeper_child(int sock, uid_t trusted, const struct keeper_setup *s)
{
	struct keeper_setup ks = *s;
	struct ucred peer;
	socklen_t len = sizeof peer;

	/* Not its stdio, not a descriptor it gave: a pipe of the caller's held open would hang it. */
	if (sanitize_null_stdio(0) < 0)
		_exit(1);
	sanitize_close_fds_but(sock, sock);
	/* The worker's pid, from the kernel: it made the pair. */
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || (long)peer.uid != s->uid)
		_exit(1);
	ks.pid = peer.pid;
	keeper_main(sock, trusted, &ks);
}

int
split_start(struct keeper *k, uid_t trusted, const struct keeper_setup *s,
    char err[SPLIT_ERR_MAX])
{
	int sv[2], started = 0;

	*k = (struct keeper){ -1, -1, -1, 0 };
	/*
	 * Forked twice, so that it is nobody's child once the worker execs: its
	 * exit is not waited for (its last answer came after its last write),
	 * and the real sendmail inherits no child.
	 */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		snprintf(err, SPLIT_ERR_MAX, "cannot start the keeper: %s", strerror(errno));
	else if ((k->helper = fork()) < 0) {
		snprintf(err, SPLIT_ERR_MAX, "cannot start the keeper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
	} else if (k->helper == 0) {
		pid_t pid;

		close(sv[0]);
		if ((pid = fork()) == 0)
			keeper_child(sv[1], trusted, s);
		_exit(pid < 0);
	} else {
		close(sv[1]);
		k->sock = sv[0];
		started = 1;
	}
	if (sanitize_drop_group() < 0)
		return -1;
	return started ? 0 : 1;
}

/* The helper is long gone by now; a late one is waited for all the same. */
static void
reap_helper(struct keeper *k)
{
	if (k->helper > 0)
		while (waitpid(k->helper, NULL, 0) < 0 && errno == EINTR)
			;
	k->helper = -1;
}

static int lose(struct keeper *k, int stuck);

int
keeper_started(struct keeper *k, struct kstart *st, char err[SPLIT_ERR_MAX])
{
	struct pollfd p = { .fd = k->sock, .events = POLLIN };
	ssize_t n;

	if (k->sock < 0) {
		snprintf(err, SPLIT_ERR_MAX, "no keeper is running");
		return -1;
	}
	while ((n = poll(&p, 1, KEEPER_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (n == 1)
		while ((n = recv(k->sock, st, sizeof *st, 0)) < 0 && errno == EINTR)
			;
	reap_helper(k);
	if (n != (ssize_t)sizeof *st || st->pid <= 0) {
		snprintf(err, SPLIT_ERR_MAX, "the keeper did not start");
		return lose(k, 0);
	}
	k->pid = (pid_t)st->pid;
	st->conf_err[sizeof st->conf_err - 1] = st->log_err[sizeof st->log_err - 1] = '\0';
	return 0;
}

/*
 * Ends a keeper that failed, for good: no answer of it is read again, and
 * one that did not answer in time (STUCK: alive, its pid its own) never
 * completes the request it was stopped in.
 */
static int
lose(struct keeper *k, int stuck)
{
	if (k->sock >= 0) {
		if (stuck && k->pid > 0)
			kill(k->pid, SIGKILL);
		close(k->sock);
		k->sock = -1;
	}
	reap_helper(k);
	k->lost = 1;
	return -1;
}

/* Sends the LEN bytes of REQ and waits for the answer, and the descriptor it may carry. */
static int
ask_within(struct keeper *k, const unsigned char *req, size_t len, struct kreply *a, int *fd,
    int wait_ms)
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
		return lose(k, 0);
	}
	while ((n = poll(&p, 1, wait_ms)) < 0 && errno == EINTR)
		;
	if (n == 0) {
		snprintf(a->err, sizeof a->err, "the keeper did not answer in %d ms", wait_ms);
		return lose(k, 1);
	}
	while ((n = recvmsg(k->sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof *a) {
		memset(a, 0, sizeof *a);
		a->status = -1;
		snprintf(a->err, sizeof a->err, "the keeper is gone");
		return lose(k, 0);
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

static int
ask(struct keeper *k, const unsigned char *req, size_t len, struct kreply *a, int *fd)
{
	return ask_within(k, req, len, a, fd, KEEPER_WAIT_MS);
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

int
keeper_hold_open(struct keeper *k, struct hold *h, char id[RECORD_ID_LEN], const char *cwd,
    const char *script, const char *script_from, const char *sender, char *const rcpt[],
    int nrcpt, char err[SPOOL_ERR_MAX])
{
	static unsigned char req[KPROTO_REQ_MAX];
	static struct kreply a;
	size_t len = kproto_hold_open(req, cwd, script, script_from, sender, rcpt, nrcpt);
	int fd;

	h->fd = -1;
	if (len == 0 && sender != NULL) {
		snprintf(err, SPOOL_ERR_MAX, "more than %d recipients, or one too long, to hold whole",
		    KPROTO_RCPT_MAX);
		return -1;
	}
	if (ask(k, req, len, &a, &fd) < 0) {
		snprintf(err, SPOOL_ERR_MAX, "%s", a.err);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, SPOOL_ERR_MAX, "the keeper gave no pipe for the held message");
		keeper_hold_abort(k, h, err);
		return -1;
	}
	h->fd = fd;
	a.id[sizeof a.id - 1] = '\0';
	memcpy(id, a.id, RECORD_ID_LEN);
	return 0;
}

/* Closes the pipe and asks TYPE; the keeper's reason, if it gave one, into ERR. */
static int
hold_end(struct keeper *k, struct hold *h, enum kreq_type type, int wait_ms,
    char err[SPOOL_ERR_MAX])
{
	static struct kreply a;
	unsigned char req[16];
	int r;

	hold_close(h);
	r = ask_within(k, req, kproto_plain(req, type), &a, NULL, wait_ms);
	if (a.err[0])
		snprintf(err, SPOOL_ERR_MAX, "%s", a.err);
	return r;
}

int
keeper_hold_commit(struct keeper *k, struct hold *h, char err[SPOOL_ERR_MAX])
{
	/* It syncs the whole message: killed in the middle, it would leave it held unrecorded. */
	return hold_end(k, h, KREQ_HOLD_COMMIT, KEEPER_COMMIT_MS, err);
}

void
keeper_hold_abort(struct keeper *k, struct hold *h, char err[SPOOL_ERR_MAX])
{
	/* Stopped by the keeper (the spool full): its reason is the one to tell. */
	hold_end(k, h, KREQ_HOLD_ABORT, KEEPER_WAIT_MS, err);
}

void
keeper_end(struct keeper *k)
{
	/* The end of input tells it to exit; it had answered all it was asked. */
	if (k->sock >= 0)
		close(k->sock);
	k->sock = -1;
	reap_helper(k);
}
