/*
 * keeper.c: the part of qwrap-sendmail that keeps the qwrap group.
 *
 * qwrap-sendmail splits at start-up, as qmail-inject and qmail-queue, or
 * Postfix's sendmail and postdrop, are two programs: before anything the
 * caller wrote is read, it forks this keeper, which keeps the group, reads
 * root's config and the session's end and opens the capture log; the rest
 * (the worker) drops the group for good and does all the parsing.  The
 * keeper answers, over a socketpair, a few fixed requests (kproto.h), one at
 * a time, in the order a message needs them.
 *
 * It trusts its memory as the fork left it (the caller's real uid and gid,
 * which the worker cannot change, the host name, the wrapper's argv as the
 * caller gave it), what it read itself (the config, the state, root's
 * freezes, the log's descriptor), the worker's pid from SO_PEERCRED, and its
 * own clock.
 * It takes from the worker, as the caller's claims: the record's values
 * (cwd, script, ancestors, argv, the message's fields, what went wrong, its
 * time within the run), the limit keys' script and cwd, the recipient count,
 * the -bs envelope and the bytes of a held message.  It stamps into every
 * record and held envelope itself: uid, gid, pid, host, the limit that fired
 * and its key, or the freeze that matched; it makes a held message's id; it encodes the record, so no
 * value the worker sends can be read as another field; it writes a held
 * message into the spool itself, from a pipe, within the spool's cap.
 * It refuses, and then removes a hold under way, writes nothing more and
 * exits: a request that does not decode or passes a bound (kproto.c), a
 * record while a hold is open, a "hold" record that does not name the hold
 * committed, a hold the verdict did not ask for, a second hold at once, a
 * hold request with none open, a commit while the pipe is open.  A worker
 * that sends one is broken or taken over; nothing it says is believed
 * afterwards (a hold it committed is recorded by the keeper).
 * It never reads the message's text, /proc, the environment or php-fpm;
 * parses no text but root's config and freezes; reads no directory but
 * state_dir's names, to remove the limit counts no rule keeps (ratelimit_sweep);
 * opens no path the worker names; runs no program.  It cannot stop being killed (it runs with the caller's
 * uid): the record is then lost, as on_error says, and a hold under way is
 * swept later.  Its credentials (the group effective) are not the
 * caller's, whose processes cannot trace it or change its limits.
 */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "heldfile.h"
#include "iofull.h"
#include "kproto.h"
#include "logfile.h"
#include "paths.h"
#include "ratelimit.h"
#include "state.h"

/* What one message has asked for so far. */
struct txn {
	struct rl_verdict v;	/* v.rule >= 0: a limit fired for it */
	const struct freeze *frozen;	/* or this freeze matched it (v.action is its) */
	int counted;		/* the limits were asked about */
	int holding;		/* a hold is open: from HOLD_OPEN to its commit or abort */
	struct heldfile hf;	/* its file; hf.fd -1 once removed */
	int pipe;		/* the read end of the worker's pipe; -1 at its end */
	long long cap, room, total, next_look;
	const char *stopped;	/* why the keeper stopped taking it, or NULL */
	int held;		/* committed; its record is next */
	char id[RECORD_ID_LEN];	/* the held message's, made here */
	struct kreq open;	/* the hold's request, decoded from OPENBUF */
	char *argv[4 + KPROTO_RCPT_MAX + 1];	/* a -bs hold's: -f SENDER -- RCPT... */
};

static unsigned char req[KPROTO_REQ_MAX + 1], openbuf[KPROTO_REQ_MAX];
static struct kreq q;
static struct kreply a;
static struct txn tx = { .hf = { .fd = -1 }, .pipe = -1 };
static const struct keeper_setup *setup;
static struct timespec started;

/* Root's freezes as keeper_main read them (setup points here), and what they were read from. */
static struct freezes fz;
static char fz_err[FREEZE_ERR_MAX];
static struct stat fz_st;	/* st_ino 0: there was no file */
static uid_t fz_trusted;

static void record_written(const struct keeper_setup *s, const struct txn *t, struct record *r);

/*
 * Exits: 0 when the worker is gone, 2 when refused.  A hold under way is
 * removed; one committed whose record never came is recorded here.
 */
static void __attribute__((noreturn))
end(int status)
{
	heldfile_remove(&tx.hf);
	if (tx.held && setup != NULL) {
		static struct strv rcpt[KPROTO_RCPT_MAX];
		struct record r = { .id = tx.id, .action = "hold",
		    .mode = tx.open.sender != NULL ? "smtp" : "message", .cwd = tx.open.cwd,
		    .script = tx.open.script, .script_from = tx.open.script_from,
		    .argv = setup->argv, .argc = setup->argc, .sender = tx.open.sender,
		    .error = "the sender ended before its record; this one is the keeper's" };

		if (tx.open.sender != NULL) {
			for (int i = 0; i < tx.open.nhold_rcpt; i++)
				rcpt[i] = (struct strv){ tx.open.hold_rcpt[i], strlen(tx.open.hold_rcpt[i]) };
			r.rcpt = rcpt;
			r.nrcpt = r.rcpt_count = tx.open.nhold_rcpt;
		}
		clock_gettime(CLOCK_REALTIME, &r.ts);
		record_written(setup, &tx, &r);
	}
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

/*
 * Root's freezes, read again when the file is another or has changed since:
 * a freeze made while a sender runs (a -bs session, a sender waiting for its
 * message) applies to its next message.
 */
static void
freezes_read(void)
{
	struct stat st = { 0 };

	if (stat(QWRAP_FREEZE_PATH, &st) < 0 && errno != ENOENT) {
		fz.n = 0;
		snprintf(fz_err, sizeof fz_err, "cannot look at the freezes %s: %s",
		    QWRAP_FREEZE_PATH, strerror(errno));
		fz_st.st_ino = (ino_t)-1;	/* looked at again next time */
		return;
	}
	/* None before and none now (st_ino 0 both), or the same file unchanged. */
	if (st.st_ino == fz_st.st_ino && st.st_dev == fz_st.st_dev && st.st_size == fz_st.st_size &&
	    st.st_mtim.tv_sec == fz_st.st_mtim.tv_sec && st.st_mtim.tv_nsec == fz_st.st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == fz_st.st_ctim.tv_sec && st.st_ctim.tv_nsec == fz_st.st_ctim.tv_nsec)
		return;
	fz_st = st;
	if (freeze_load(QWRAP_FREEZE_PATH, fz_trusted, &fz, fz_err) >= 0)
		fz_err[0] = '\0';
}

/* The limits for this message: the uid is the keeper's, script and cwd the worker's claims. */
static void
limits(const struct keeper_setup *s, struct txn *t)
{
	if (t->holding || t->held)
		refuse();
	t->v = (struct rl_verdict){ .rule = -1 };
	t->counted = 1;
	/* The administrator's freezes first: what one holds is neither sent nor counted. */
	if (s->freeze_live)
		freezes_read();
	if (s->freeze_err != NULL && s->freeze_err[0]) {
		failed(s->freeze_err);
		return;
	}
	t->frozen = s->freezes == NULL ? NULL :
	    freeze_match(s->freezes, s->uid, q.script, q.cwd, time(NULL));
	if (t->frozen != NULL) {
		t->v.action = t->frozen->action;
		snprintf(t->v.key, sizeof t->v.key, "freeze:%ld", t->frozen->id);
		a.rule = -1;
		a.action = (int)t->v.action;
		a.freeze = t->frozen->id;
		memcpy(a.key, t->v.key, sizeof a.key);
		return;
	}
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

/* Stops taking a hold: the worker's next write fails, and its commit is refused with WHY. */
static void
stop(struct txn *t, const char *why)
{
	if (t->pipe >= 0)
		close(t->pipe);
	t->pipe = -1;
	heldfile_remove(&t->hf);
	if (t->stopped == NULL)
		t->stopped = why;
}

/*
 * The message as the worker writes it into the pipe, into the hold file,
 * within the spool's cap: what the spool holds is looked at again every
 * HELD_LOOK_EVERY bytes, this hold counted as written, so that holds open
 * together cannot each take the room there was.  Returns 1 at the pipe's
 * end (or once stopped), 0 when nothing more is there now.
 */
static int
take(const struct keeper_setup *s, struct txn *t)
{
	static char buf[1 << 16];
	static int copy;	/* the spool's file system cannot splice: read and write */

	for (;;) {
		/* Never past the room: one byte more says it is full. */
		size_t want = t->room - t->total + 1 < (long long)sizeof buf ?
		    (size_t)(t->room - t->total + 1) : sizeof buf;
		ssize_t n;

		if (t->pipe < 0)
			return 1;
		if (!copy) {
			n = splice(t->pipe, NULL, t->hf.fd, NULL, want, SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EINVAL) {
				copy = 1;
				continue;
			}
		} else if ((n = read(t->pipe, buf, want)) > 0 && write_full(t->hf.fd, buf, (size_t)n) < 0)
			n = -1;
		if (n == 0) {
			close(t->pipe);
			t->pipe = -1;
			return 1;
		}
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			stop(t, "cannot write the held message");
			return 1;
		}
		if ((t->total += n) > t->next_look) {
			long long used = spool_sweep(s->conf->spool_dir, time(NULL), NULL);

			if (used < 0) {
				stop(t, "cannot read the hold spool");
				return 1;
			}
			t->room = t->cap - (used - t->total);
			t->next_look = t->total + HELD_LOOK_EVERY;
		}
		if (t->total > t->room) {
			stop(t, "the hold spool is full (spool_max_mb)");
			return 1;
		}
	}
}

/*
 * A hold for the message the verdict holds: a file in the spool named by
 * an id made here, and a pipe whose write end goes to the worker.  Its
 * envelope is kept for the commit.  Returns the write end, or -1.
 */
static int
hold_open(const struct keeper_setup *s, struct txn *t, size_t n)
{
	const struct conf *c = s->conf;
	struct timespec now;
	long long used;
	int argc = 0, fds[2];

	if (!t->counted || (t->v.rule < 0 && t->frozen == NULL) || t->v.action != LIMIT_HOLD ||
	    t->holding || t->held)
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
	t->cap = (long long)c->spool_max_mb * 1024 * 1024;
	if ((used = spool_sweep(c->spool_dir, time(NULL), NULL)) < 0) {
		snprintf(a.err, sizeof a.err, "cannot read the hold spool %s", c->spool_dir);
		a.status = -1;
		return -1;
	}
	if ((t->room = t->cap - used) <= 0) {
		failed("the hold spool is full (spool_max_mb)");
		return -1;
	}
	/* The worker never names a file: the id, record and header too, is the keeper's. */
	clock_gettime(CLOCK_REALTIME, &now);
	record_make_id(&now, t->id);
	if (heldfile_create(&t->hf, c->spool_dir, t->id, a.err) < 0) {
		a.status = -1;
		return -1;
	}
	/* The read end never blocks: the keeper listens to the worker's socket too. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		fds[0] = fds[1] = -1;
	else if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = -1;
	}
	if (fds[0] < 0) {
		heldfile_remove(&t->hf);
		failed("cannot open a pipe for the held message");
		return -1;
	}
	t->pipe = fds[0];
	t->total = 0;
	t->next_look = HELD_LOOK_EVERY;
	t->stopped = NULL;
	t->holding = 1;
	memcpy(a.id, t->id, sizeof a.id);
	return fds[1];
}

/* The pipe must be at its end: a worker that commits while it may still write is refused. */
static void
hold_commit(const struct keeper_setup *s, struct txn *t)
{
	char rule[16];
	struct spool_env e = { .ts = time(NULL), .uid = s->uid, .gid = s->gid,
	    .cwd = t->open.cwd, .script = t->open.script, .script_from = t->open.script_from,
	    .rule = rule, .key = t->v.key };

	if (take(s, t) == 0)
		refuse();
	t->holding = 0;
	if (t->stopped != NULL) {
		failed(t->stopped);
		return;
	}
	if (t->frozen != NULL)
		snprintf(rule, sizeof rule, "freeze:%ld", t->frozen->id);
	else
		snprintf(rule, sizeof rule, "%d", t->v.rule + 1);
	memcpy(e.id, t->id, sizeof e.id);
	e.argv = t->open.sender != NULL ? t->argv : (char **)s->argv;
	for (e.argc = 0; e.argv[e.argc] != NULL; e.argc++)
		;
	if (heldfile_commit(&t->hf, t->cap, &e, a.err) < 0)
		a.status = -1;
	else
		t->held = 1;
}

static void
hold_abort(struct txn *t)
{
	stop(t, NULL);
	if (t->stopped != NULL)
		snprintf(a.err, sizeof a.err, "%s", t->stopped);	/* why, for the worker to say */
	t->holding = 0;
}

/* Encodes R with the keeper's facts stamped over it, and appends it. */
static void
record_written(const struct keeper_setup *s, const struct txn *t, struct record *r)
{
	struct rec_limit fired;
	struct rec_freeze frozen;

	r->uid = s->uid;
	r->gid = s->gid;
	r->pid = s->pid;
	r->host = s->host;
	r->host_id = s->host_id;
	r->limit = NULL;
	r->freeze = NULL;
	if (t->counted && t->v.rule >= 0) {
		fired = rl_fired(s->conf, &t->v);
		r->limit = &fired;
	}
	if (t->counted && t->frozen != NULL) {
		frozen = (struct rec_freeze){ t->frozen->id, freeze_by_names[t->frozen->by],
		    t->frozen->name, t->frozen->value, t->frozen->action == LIMIT_HOLD ? "hold" : "reject" };
		r->freeze = &frozen;
	}
	a.linelen = record_encode(r, a.line);
	if (s->logfd < 0)
		failed("no capture log is open");
	else if (logfile_append(s->logfd, s->conf->log_file, a.line, a.linelen, a.err) < 0)
		a.status = -1;
}

/*
 * The record: the worker's claims as sent, the keeper's facts stamped over
 * them; its time no earlier than the keeper's start and no later than now.
 * A held message's record is the one with the hold's id.
 */
static void
record(const struct keeper_setup *s, struct txn *t)
{
	struct timespec now;
	int hold = strcmp(q.rec.action, "hold") == 0;

	if (t->holding || hold != t->held || (hold && strcmp(q.rec.id, t->id) != 0))
		refuse();
	clock_gettime(CLOCK_REALTIME, &now);
	if (q.rec.ts.tv_nsec < 0 || q.rec.ts.tv_nsec >= 1000000000L ||
	    q.rec.ts.tv_sec > now.tv_sec || q.rec.ts.tv_sec < started.tv_sec)
		q.rec.ts = now;
	record_written(s, t, &q.rec);
	/* The message is done with: the next one starts afresh. */
	t->counted = t->held = 0;
	t->frozen = NULL;
}

void
keeper_main(int sock, uid_t trusted, struct keeper_setup *s)
{
	static struct kstart st;
	static struct conf conf;
	static char host_id[33];

	/* Nothing of the caller's, its working directory included. */
	if (chdir("/") < 0)
		_exit(1);
	/* Before its first word: the worker's message starts no earlier. */
	clock_gettime(CLOCK_REALTIME, &started);
	st.pid = getpid();
	/* The configuration comes from the compiled-in path only. */
	st.cstatus = conf_load(QWRAP_CONF_PATH, trusted, &conf, st.conf_err);
	if (st.cstatus != CONF_BAD)
		st.conf_err[0] = '\0';
	st.session_over = state_session_over(conf.state_dir, trusted, time(NULL));
	st.config_missing = st.cstatus == CONF_ABSENT && state_enabled(conf.state_dir, trusted);
	s->conf = &conf;
	/* Root's freezes; unreadable ones make every message wait. */
	fz_trusted = trusted;
	freezes_read();
	s->freezes = &fz;
	s->freeze_err = fz_err;
	s->freeze_live = 1;
	st.frozen = fz_err[0] || freeze_may_match(&fz, s->uid, time(NULL));
	s->logfd = -1;
	if (!st.session_over && !st.config_missing &&
	    (s->logfd = logfile_open(conf.log_file, trusted, st.log_err)) >= 0)
		st.logging = 1;
	/*
	 * The host's id for the records, here beside the worker's walk of /proc
	 * rather than before the split.  Root's file, only hashed: nothing of the
	 * caller's goes into it.
	 */
	if (record_host_id("/etc/machine-id", host_id) == 0)
		s->host_id = host_id;
	st.conf = conf;
	if (send(sock, &st, sizeof st, MSG_NOSIGNAL) != (ssize_t)sizeof st)
		_exit(0);
	/*
	 * The counts no rule keeps any more go, once idle, after a change of the
	 * rules (one lstat(2) otherwise), while the worker walks /proc.  Only with a
	 * config that loaded: the defaults have no rules, and would sweep all.
	 */
	if (st.cstatus == CONF_OK) {
		int removed;

		ratelimit_sweep(conf.state_dir, &conf, &removed);
	}
	keeper_serve(sock, s);
}

/* Waits for the worker's next request, taking a held message meanwhile. */
static void
next_request(int sock, const struct keeper_setup *s, struct txn *t)
{
	while (t->pipe >= 0) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
		    { .fd = t->pipe, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				end(0);
			continue;
		}
		if (p[1].revents)
			take(s, t);
		if (p[0].revents)
			return;
	}
}

void
keeper_serve(int sock, const struct keeper_setup *s)
{
	/* A worker that stops reading its answers does not hold the keeper for ever. */
	struct timeval limit = { KEEPER_SEND_S, 0 };
	struct txn *t = &tx;

	setup = s;
	if (started.tv_sec == 0)
		clock_gettime(CLOCK_REALTIME, &started);
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
	for (;;) {
		ssize_t n;
		int fd = -1;

		next_request(sock, s, t);
		/* MSG_TRUNC: the datagram's whole length, so one too long is seen as such. */
		n = recv(sock, req, sizeof req, MSG_TRUNC);
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
		case KREQ_HOLD_COMMIT:
			if (!t->holding)
				refuse();
			hold_commit(s, t);
			break;
		case KREQ_HOLD_ABORT:
			if (!t->holding)
				refuse();
			hold_abort(t);
			break;
		}
		say(sock, fd);
		if (fd >= 0)
			close(fd);	/* the worker's end: the pipe ends when the worker closes it */
	}
}
