/*
 * keeper.c: the part of qwrap-sendmail that keeps the qwrap group.
 *
 * qwrap-sendmail splits at start-up, as qmail-inject and qmail-queue, or
 * Postfix's sendmail and postdrop, are two programs: before anything the
 * caller wrote is read, it opens the capture log and forks this keeper,
 * which keeps the group; the rest (the worker) drops the group for good and
 * does all the parsing.  The keeper answers, over a socketpair, a few fixed
 * requests (kproto.h), one at a time, in the order a message needs them.
 *
 * It trusts:
 *   - its memory as the split left it: the config (root's file), the log's
 *     descriptor, the caller's real uid and gid (the kernel's: the worker
 *     cannot change the keeper's), the worker's pid (SO_PEERCRED), the
 *     host name, and the wrapper's argv as the caller gave it;
 *   - its own clock.
 * It takes from the worker, as the caller's claims, and says so by where
 * it puts them: the record's values (cwd, script, argv, the message's
 * fields, what went wrong), the limit keys' script and cwd, the recipient
 * count, and the -bs envelope of a held message.  It stamps into every
 * record and held envelope, itself: uid, gid, pid, ts, host, the limit
 * that fired and its key.  The record is encoded here, so no value the
 * worker sends can be read as another field.
 * It refuses, and then removes a hold under way, writes nothing more and
 * exits: a request that does not decode or passes a bound (kproto.c), a
 * record while a hold is open, a "hold" record without a committed hold
 * or a committed hold recorded as anything else, a hold the verdict did
 * not ask for, a second hold at once, a hold request with none open.  A
 * worker that sends one is broken or taken over; nothing it says is
 * believed afterwards.
 * It never reads the message, /proc, the environment or php-fpm; parses no
 * text; opens no path the worker names (spool files are named by the
 * record id, hex digits and dots); runs no program.
 * It cannot stop being killed (it runs with the caller's uid): the record
 * is then lost, as on_error says, and a hold under way is swept later.
 * The group is effective throughout; the caller's processes cannot trace
 * it or change its limits, its credentials not being theirs.
 */
#include "keeper.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "heldfile.h"
#include "kproto.h"
#include "logfile.h"
#include "paths.h"
#include "ratelimit.h"
#include "state.h"

/* What one message has asked for so far. */
struct txn {
	struct rl_verdict v;	/* v.rule >= 0: a limit fired for it */
	int counted;		/* the limits were asked about */
	struct heldfile hf;	/* hf.fd >= 0: a hold under way */
	int held;		/* committed; its record is next */
	struct kreq open;	/* the hold's request, decoded from OPENBUF */
	char *argv[4 + KPROTO_RCPT_MAX + 1];	/* a -bs hold's: -f SENDER -- RCPT... */
};

static unsigned char req[KPROTO_REQ_MAX + 1], openbuf[KPROTO_REQ_MAX];
static struct kreq q;
static struct kreply a;
static struct txn tx = { .hf = { .fd = -1 } };

/* Exits, having removed a hold under way: 0 when the worker is gone, 2 when refused. */
static void __attribute__((noreturn))
end(int status)
{
	heldfile_remove(&tx.hf);
	_exit(status);
}

/* A request that does not decode or comes out of order: nothing it asks is done. */
static void __attribute__((noreturn))
refuse(void)
{
	end(2);
}

static void
say(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof fd)];
	struct iovec iov = { &a, sizeof a };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof cbuf);
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof fd);
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	if (sendmsg(sock, &m, MSG_NOSIGNAL) != (ssize_t)sizeof a)
		end(0);		/* the worker is gone */
}

static void
failed(const char *what)
{
	a.status = -1;
	snprintf(a.err, sizeof a.err, "%s", what);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The limits for this message: the uid is the keeper's, script and cwd the worker's claims. */
static void
limits(const struct keeper_setup *s, struct txn *t)
{
	if (t->hf.fd >= 0 || t->held)
		refuse();
	t->v = (struct rl_verdict){ .rule = -1 };
	t->counted = 1;
	if (conf_limits_apply(s->conf, s->uid) &&
	    (ratelimit_check(s->conf->state_dir, s->conf, s->uid, q.script, q.cwd,
	    (long)q.recipients, now_ms(), &t->v) < 0 || t->v.error[0]))
		snprintf(a.err, sizeof a.err, "%s", t->v.error);	/* answered all the same */
	a.rule = t->v.rule;
	a.action = (int)t->v.action;
	a.warn = t->v.warn;
	a.n = t->v.count;
	snprintf(a.key, sizeof a.key, "%s", t->v.key);
}

/* A hold file for the message the verdict holds; its envelope is kept for the commit. */
static int
hold_open(const struct keeper_setup *s, struct txn *t, size_t n)
{
	const struct conf *c = s->conf;
	long long used;
	int argc = 0;

	if (!t->counted || t->v.rule < 0 || t->v.action != LIMIT_HOLD || t->hf.fd >= 0 ||
	    t->held)
		refuse();
	/* Decoded again from a copy of its own: the next requests reuse REQ. */
	memcpy(openbuf, req, n);
	if (kproto_decode(openbuf, n, &t->open) < 0)
		refuse();
	if (t->open.sender != NULL) {
		t->argv[argc++] = s->argv[0];
		t->argv[argc++] = "-f";
		t->argv[argc++] = (char *)t->open.sender;
		t->argv[argc++] = "--";
		for (int i = 0; i < t->open.nhold_rcpt; i++)
			t->argv[argc++] = (char *)t->open.hold_rcpt[i];
		t->argv[argc] = NULL;
	} else {
		size_t len = 0;

		/* What qwrap release could not read back is not held: the caller is told instead. */
		for (int i = 0; i < s->argc && len <= SPOOL_ENV_MAX / 2; i++)
			len += strlen(s->argv[i]) + sizeof "argv=";
		if (s->argc > SPOOL_ARGS_MAX || len > SPOOL_ENV_MAX / 2) {
			failed("arguments too many or too long to hold");
			return -1;
		}
	}
	if ((used = spool_sweep(c->spool_dir, time(NULL), NULL)) < 0) {
		snprintf(a.err, sizeof a.err, "cannot read the hold spool %s", c->spool_dir);
		a.status = -1;
		return -1;
	}
	a.n = used;
	a.cap = (long long)c->spool_max_mb * 1024 * 1024;
	if (used >= a.cap) {
		failed("the hold spool is full (spool_max_mb)");
		return -1;
	}
	if (heldfile_create(&t->hf, c->spool_dir, t->open.id, a.err) < 0) {
		a.status = -1;
		return -1;
	}
	return t->hf.fd;
}

static void
hold_commit(const struct keeper_setup *s, struct txn *t)
{
	char rule[16];
	struct spool_env e = { .ts = time(NULL), .uid = s->uid, .gid = s->gid,
	    .cwd = t->open.cwd, .script = t->open.script, .script_from = t->open.script_from,
	    .rule = rule, .key = t->v.key };

	snprintf(rule, sizeof rule, "%d", t->v.rule + 1);
	memcpy(e.id, t->open.id, strlen(t->open.id) + 1);
	e.argv = t->open.sender != NULL ? t->argv : (char **)s->argv;
	for (e.argc = 0; e.argv[e.argc] != NULL; e.argc++)
		;
	if (heldfile_commit(&t->hf, (long long)s->conf->spool_max_mb * 1024 * 1024, &e, a.err) < 0)
		a.status = -1;
	else
		t->held = 1;
}

/* The record: the worker's claims as sent, the keeper's facts stamped over them. */
static void
record(const struct keeper_setup *s, struct txn *t)
{
	struct rec_limit fired;
	int hold = strcmp(q.rec.action, "hold") == 0;

	if (t->hf.fd >= 0 || hold != t->held)
		refuse();
	q.rec.uid = s->uid;
	q.rec.gid = s->gid;
	q.rec.pid = s->pid;
	q.rec.host = s->host;
	clock_gettime(CLOCK_REALTIME, &q.rec.ts);
	q.rec.limit = NULL;
	if (t->counted && t->v.rule >= 0) {
		fired = rl_fired(s->conf, &t->v);
		q.rec.limit = &fired;
	}
	a.linelen = record_encode(&q.rec, a.line);
	if (s->logfd < 0)
		failed("no capture log is open");
	else if (logfile_append(s->logfd, s->conf->log_file, a.line, a.linelen, a.err) < 0)
		a.status = -1;
	/* The message is done with: the next one starts afresh. */
	t->counted = t->held = 0;
}

void
keeper_main(int sock, uid_t trusted, struct keeper_setup *s)
{
	static struct kstart st;
	static struct conf conf;

	st.pid = getpid();
	/* The configuration comes from the compiled-in path only. */
	st.cstatus = conf_load(QWRAP_CONF_PATH, trusted, &conf, st.conf_err);
	if (st.cstatus != CONF_BAD)
		st.conf_err[0] = '\0';
	st.session_over = state_session_over(conf.state_dir, trusted, time(NULL));
	st.config_missing = st.cstatus == CONF_ABSENT && state_enabled(conf.state_dir, trusted);
	s->conf = &conf;
	s->logfd = -1;
	if (!st.session_over && !st.config_missing &&
	    (s->logfd = logfile_open(conf.log_file, trusted, st.log_err)) >= 0)
		st.logging = 1;
	st.conf = conf;
	if (send(sock, &st, sizeof st, MSG_NOSIGNAL) != (ssize_t)sizeof st)
		_exit(0);
	keeper_serve(sock, s);
}

void
keeper_serve(int sock, const struct keeper_setup *s)
{
	struct txn *t = &tx;

	for (;;) {
		/* MSG_TRUNC: the datagram's whole length, so one too long is seen as such. */
		ssize_t n = recv(sock, req, sizeof req, MSG_TRUNC);
		int fd = -1;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			end(0);
		if ((size_t)n > KPROTO_REQ_MAX || kproto_decode(req, (size_t)n, &q) < 0)
			refuse();
		memset(&a, 0, sizeof a);
		switch (q.type) {
		case KREQ_RECORD:
			record(s, t);
			break;
		case KREQ_LIMITS:
			limits(s, t);
			break;
		case KREQ_HOLD_OPEN:
			fd = hold_open(s, t, (size_t)n);
			break;
		case KREQ_HOLD_USE:
			if (t->hf.fd < 0)
				refuse();
			if ((a.n = spool_sweep(s->conf->spool_dir, time(NULL), NULL)) < 0)
				failed("cannot read the hold spool");
			break;
		case KREQ_HOLD_COMMIT:
			if (t->hf.fd < 0)
				refuse();
			hold_commit(s, t);
			break;
		case KREQ_HOLD_ABORT:
			if (t->hf.fd < 0)
				refuse();
			heldfile_remove(&t->hf);
			break;
		}
		say(sock, fd);
	}
}
