/*
 * keeper.c: the capture log's keeper, a child of the set-gid wrapper.
 *
 * It is forked right after the log is opened, while the wrapper still has
 * the qwrap group and before anything the caller wrote is read.  It keeps
 * the group as its saved gid, so its credentials differ from the caller's:
 * the caller's own processes cannot lower its file size limit (prlimit),
 * trace it, or read its memory, and so cannot cut a record in the middle
 * while it is written (they could do all three to the rest of the wrapper,
 * which runs as the caller once the group is dropped).  It does one thing:
 * it appends, with one write(2), each record the wrapper sends it, one
 * datagram each.  What it trusts of a request: nothing but its length; it
 * writes only a single line of printable bytes ending in '\n', at most
 * RECORD_MAX bytes, and refuses anything else.  It exits when the wrapper's
 * end of the socket closes.  What it cannot stop: being killed (it runs with
 * the caller's uid), which loses the record, as on_error then says.
 */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record.h"
#include "sanitize.h"

/* One line of printable bytes (UTF-8 included) ending in '\n': what record_encode writes. */
static int
one_record_line(const unsigned char *p, size_t n)
{
	if (n < 2 || p[n - 1] != '\n')
		return 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

static void __attribute__((noreturn))
keeper_run(int sock, int logfd, const char *path)
{
	static unsigned char rec[RECORD_MAX + 1];
	char reply[1 + LOGFILE_ERR_MAX];

	for (;;) {
		/* MSG_TRUNC: the datagram's whole length, so one too long is seen as such. */
		ssize_t n = recv(sock, rec, sizeof rec, MSG_TRUNC);
		size_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if ((size_t)n > RECORD_MAX || !one_record_line(rec, (size_t)n)) {
			reply[0] = '1';
			snprintf(reply + 1, sizeof reply - 1, "the log keeper refused a request of %zd"
			    " bytes that is not one record line", n);
		} else if (logfile_append(logfd, path, (const char *)rec, (size_t)n, reply + 1) < 0)
			reply[0] = '1';
		else
			reply[0] = '0', reply[1] = '\0';
		len = 1 + strlen(reply + 1);
		if (send(sock, reply, len, MSG_NOSIGNAL) != (ssize_t)len)
			_exit(0);
	}
}

int
keeper_start(int logfd, const char *path, struct keeper *k, char err[LOGFILE_ERR_MAX])
{
	int sv[2];
	gid_t kept;

	k->sock = -1;
	k->pid = -1;
	k->lost = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot start the log keeper: %s", strerror(errno));
		close(logfd);
		return -1;
	}
	if ((k->pid = fork()) < 0) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot start the log keeper: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(logfd);
		return -1;
	}
	if (k->pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Nothing of the caller's: not its stdio, not a descriptor it gave. */
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		close(sv[0]);
		sanitize_close_fds_but(sv[1], logfd);
		/* The group as the saved gid only: enough to be out of the caller's reach. */
		if (sanitize_lower_group(&kept) < 0)
			_exit(1);
		keeper_run(sv[1], logfd, path);
	}
	close(sv[1]);
	close(logfd);
	k->sock = sv[0];
	return 0;
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

int
keeper_append(struct keeper *k, const char *rec, size_t len, char err[LOGFILE_ERR_MAX])
{
	char reply[1 + LOGFILE_ERR_MAX];
	struct pollfd p = { .fd = k->sock, .events = POLLIN };
	ssize_t n;

	if (k->lost) {
		snprintf(err, LOGFILE_ERR_MAX, "the log keeper failed before; record not written");
		return -1;
	}
	if (send(k->sock, rec, len, MSG_NOSIGNAL) != (ssize_t)len) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot hand the record to the log keeper: %s",
		    strerror(errno));
		return lose(k);
	}
	while ((n = poll(&p, 1, KEEPER_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (n == 0) {
		snprintf(err, LOGFILE_ERR_MAX, "the log keeper did not answer in %d ms",
		    KEEPER_WAIT_MS);
		return lose(k);
	}
	while ((n = recv(k->sock, reply, sizeof reply - 1, 0)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		snprintf(err, LOGFILE_ERR_MAX, "the log keeper is gone; record not written");
		return lose(k);
	}
	reply[n] = '\0';
	if (reply[0] == '0')
		return 0;
	snprintf(err, LOGFILE_ERR_MAX, "%s", reply + 1);
	return -1;
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
