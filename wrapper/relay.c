/*
 * relay.c: the -bs session, relayed.  Commands go to the server as they
 * come (RFC 2920 pipelining included) and each reply is matched to the
 * command it answers, in order, so the relay knows which recipients the
 * server accepted and when message data starts.  Where the stream could
 * be read two ways, the server's reply decides: data starts only on a 354
 * to a command the relay took for DATA, and a 354 to anything else ends
 * the session.  Before DATA goes on, everything sent must be answered: then
 * the relay knows the transaction and may answer the client itself.
 *
 * Message data is relayed without the poll loop: the client sends it
 * without waiting and the server answers only after its end, so blocking
 * writes cannot deadlock.  Its first MSG_BUF_MAX bytes are read unstuffed
 * into the message buffer, parsed as in message mode, and sent stuffed
 * again after qwrap's header; the rest goes on as it came.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "deliver.h"
#include "idheader.h"
#include "iofull.h"
#include "smtp.h"

#define IN_MAX (64 * 1024)	/* the client's bytes not yet relayed */
#define OUT_MAX (64 * 1024)	/* commands the server has not taken yet */
#define LINE_MAX_SMTP (16 * 1024)	/* a longer command line is refused */
#define REPLY_MAX (16 * 1024)	/* a reply is filtered and matched whole up to this */
#define QUEUE_MAX 256		/* commands awaiting their reply */
#define CHUNK 8192
#define TEMPFAIL_REPLY "451 4.3.0 Cannot take the message now; try again later\r\n"

/* What a reply answers. */
enum awaited { A_OTHER, A_EHLO, A_HELO, A_MAIL, A_RCPT, A_DATA, A_RSET, A_OURS, A_EOD };

struct awaiting {
	enum awaited what;
	char addr[MSG_ADDR_MAX];	/* of MAIL or RCPT */
	int cut;		/* the address was cut to fit */
};

static struct {
	const struct relay_hooks *h;
	const char *ourname;
	struct message *m;
	struct msgfields *f;
	int to, from;		/* the server's stdin and stdout */
	char in[IN_MAX];
	size_t inpos, inlen;
	int client_eof;
	char out[OUT_MAX];
	size_t outlen;
	char reply[REPLY_MAX];
	size_t replylen;
	struct awaiting q[QUEUE_MAX];
	size_t qhead, qlen;
	int await_data;		/* DATA sent: what follows depends on its reply */
	int skipping;		/* the rest of an over-long command line is dropped */
	int over;		/* the session is over: nothing more is relayed */
	int no_client;		/* the client's input is read no more; the server's still is */
	int stuff_start;	/* the stuffing writer is at a line start */
	struct relay_txn txn;
} r;

/* Waits for fd 0 or 1 to be ready, should the caller have made it non-blocking. */
static void
client_wait(int fd, short events)
{
	struct pollfd pf = { fd, events, 0 };

	while (poll(&pf, 1, -1) < 0 && errno == EINTR)
		;
}

static void
say_n(const char *s, size_t n)
{
	while (n > 0 && !r.over) {
		ssize_t w = write(1, s, n);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			client_wait(1, POLLOUT);
			continue;
		}
		if (w <= 0) {
			r.over = 1;	/* the client is gone: nobody to relay for */
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void
say(const char *s)
{
	say_n(s, strlen(s));
}

static void
txn_reset(void)
{
	r.txn.has_sender = 0;
	r.txn.nrcpt = 0;
	r.txn.rcpt_count = 0;
	r.txn.cut = 0;
}

static void
await(enum awaited what, const char *line, size_t len)
{
	struct awaiting *a = &r.q[(r.qhead + r.qlen++) % QUEUE_MAX];

	a->what = what;
	a->cut = 0;
	a->addr[0] = '\0';
	if (what == A_MAIL || what == A_RCPT)
		a->cut = smtp_address(line, len, a->addr, sizeof a->addr) == 1;
}

static void
to_server(const char *p, size_t n)
{
	memcpy(r.out + r.outlen, p, n);
	r.outlen += n;
}

/* Everything sent has its answer: the relay may speak for itself. */
static int
quiet(void)
{
	return r.qlen == 0 && r.outlen == 0;
}

/* PREFIX, then the first line of the N bytes at SRC, its control bytes as '?', into DST. */
static void
first_line(char *dst, size_t max, const char *prefix, const char *src, size_t n)
{
	size_t i, o = (size_t)snprintf(dst, max, "%s", prefix);

	for (i = 0; i < n && src[i] != '\r' && src[i] != '\n' && o + 1 < max; i++)
		dst[o++] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[o < max ? o : max - 1] = '\0';
}

/* Reads more of the client into r.in; 0 at its end. */
static ssize_t
read_client(void)
{
	ssize_t n;

	if (r.inpos > 0) {
		memmove(r.in, r.in + r.inpos, r.inlen - r.inpos);
		r.inlen -= r.inpos;
		r.inpos = 0;
	}
	if (r.inlen == sizeof r.in)
		return 1;	/* full: nothing read, but not the end either */
	for (;;) {
		n = read(0, r.in + r.inlen, sizeof r.in - r.inlen);
		if (n < 0 && errno == EAGAIN)
			client_wait(0, POLLIN);
		else if (n >= 0 || errno != EINTR)
			break;
	}
	if (n <= 0) {
		r.client_eof = 1;
		return 0;
	}
	r.inlen += (size_t)n;
	return n;
}

static int
server_put(const void *p, size_t n)
{
	return r.to >= 0 && write_full(r.to, p, n) == 0 ? 0 : -1;
}

static int
server_put_stuffed(void *arg, const void *p, size_t n)
{
	static char buf[2 * CHUNK];
	const char *s = p;

	(void)arg;
	while (n > 0) {
		size_t k = n < CHUNK ? n : CHUNK;

		if (server_put(buf, smtp_stuff(&r.stuff_start, s, k, buf)) < 0)
			return -1;
		s += k;
		n -= k;
	}
	return 0;
}

/* The message as the server would store it, SMTP's CRLF as sendmail's LF. */
struct held {
	struct hold *hd;
	int cr;			/* a CR not written yet: it may end a line */
	int failed;
	char err[SPOOL_ERR_MAX];
};

static int
hold_put(void *arg, const void *p, size_t n)
{
	static char buf[CHUNK + 1];
	struct held *hl = arg;
	const char *s = p;
	size_t o = 0;

	for (size_t i = 0; i < n && !hl->failed; i++) {
		if (hl->cr && s[i] != '\n')
			buf[o++] = '\r';
		hl->cr = s[i] == '\r';
		if (!hl->cr)
			buf[o++] = s[i];
		if (o >= CHUNK || i + 1 == n) {
			if (hold_write(hl->hd, buf, o, hl->err) < 0)
				hl->failed = 1;
			o = 0;
		}
	}
	return hl->failed ? -1 : 0;
}

/* The message's fields as far as known: the accepted recipients, and M parsed. */
static void
parse(void)
{
	const char *nl = memchr(r.m->buf, '\n', r.m->len);

	r.m->crlf = nl == NULL || (nl > r.m->buf && nl[-1] == '\r');
	message_parse(r.m, 0, r.txn.rcpt, r.txn.nrcpt, r.ourname, r.f);
	r.f->rcpt_count = r.txn.rcpt_count;
	if (r.txn.nrcpt < r.txn.rcpt_count || r.txn.cut)
		r.f->cut = 1;
}

/*
 * Reads the message's start into r.m, unstuffed; *ST tells where it
 * stopped.  -1 when the client's input ended first.
 */
static int
read_head(enum smtp_data_state *st)
{
	r.m->len = 0;
	for (;;) {
		r.inpos += smtp_data_scan(st, r.in + r.inpos, r.inlen - r.inpos, r.m->buf,
		    sizeof r.m->buf, &r.m->len);
		if (SMTP_DATA_ENDED(*st) || sizeof r.m->buf - r.m->len < 3)
			break;
		if (read_client() == 0)
			return -1;
	}
	r.m->eof = SMTP_DATA_ENDED(*st);
	parse();
	return 0;
}

/*
 * The rest of the data to the server as it came, all but the end line: a
 * "." or ".\r" that may start it is held back until the next byte tells.
 * 0, -1 when the client's input ended first, -2 when the server's did.
 */
static int
forward_rest(enum smtp_data_state *st)
{
	while (!SMTP_DATA_ENDED(*st)) {
		const char *held = smtp_data_pending(*st);
		size_t n, had = strlen(held), send, first;

		if (r.inpos == r.inlen && read_client() == 0)
			return -1;
		n = smtp_data_scan(st, r.in + r.inpos, r.inlen - r.inpos, NULL, 0, NULL);
		/* What is held back now is the end of what was held and what was read. */
		send = had + n - strlen(smtp_data_pending(*st));
		first = send < had ? send : had;
		if (server_put(held, first) < 0 || server_put(r.in + r.inpos, send - first) < 0)
			return -2;
		r.inpos += n;
	}
	return 0;
}

static char unstuffed[IN_MAX + 3];	/* data as feed_unstuffed reads it */

/*
 * The data read as the head was (unstuffed) through T to OUT, up to its
 * end, or only while T is within the header section when HEADER_ONLY.
 * Failures of OUT stop it when STOP_ON_FAILURE (else the data is still
 * read, so that none of it is taken for commands).  0, -1 when the
 * client's input ended first, -2 when OUT failed.
 */
static int
feed_unstuffed(enum smtp_data_state *st, struct msgtail *t, message_out out, void *arg,
    int header_only, int stop_on_failure)
{
	while (!SMTP_DATA_ENDED(*st) && (!header_only || msgtail_active(t))) {
		size_t n, len = 0;

		if (r.inpos == r.inlen && read_client() == 0)
			return -1;
		n = smtp_data_scan(st, r.in + r.inpos, r.inlen - r.inpos, unstuffed,
		    sizeof unstuffed, &len);
		r.inpos += n;
		if (msgtail_feed(t, unstuffed, len, out, arg) < 0 && stop_on_failure)
			return -2;
	}
	return msgtail_end(t, out, arg) < 0 && stop_on_failure ? -2 : 0;
}

/*
 * The rest of the data: while a header section longer than the head goes
 * on, renamed and stuffed again; then as it came.  0, -1 when the client's
 * input ended first, -2 when the server's did.
 */
static int
forward_tail(enum smtp_data_state *st, struct msgtail *t)
{
	int r1 = feed_unstuffed(st, t, server_put_stuffed, NULL, 1, 1);

	return r1 < 0 ? r1 : forward_rest(st);
}

/*
 * The message to the hold as the server would store it (unstuffed, lines
 * ending in LF): qwrap's header, the head, and the rest of the data, read
 * to its end even when the spool fails.  -1 when the client's input ended
 * first.
 */
static int
hold_data(enum smtp_data_state *st, struct held *hl)
{
	char hdr[IDHEADER_MAX];
	struct msgtail t;

	hold_put(hl, hdr, r.h->header(r.h->arg, "\n", hdr));
	message_write_to(hold_put, hl, r.m, r.f, r.ourname, &t);
	return feed_unstuffed(st, &t, hold_put, hl, 0, 0);
}

/*
 * The server's input ends here; what it still says is relayed.  With
 * STOP_CLIENT the client is no more read: it is told only the server's end.
 */
static void
close_server(int stop_client)
{
	if (r.to >= 0)
		close(r.to);
	r.to = -1;
	if (stop_client)
		r.no_client = 1;
}

/* The server is gone within the data. */
static void
server_lost(void)
{
	r.h->record(r.h->arg, &r.txn, "reject", "the MTA stopped reading within the message");
	close_server(1);
}

/* The client ended the session within the data: nothing of it may be queued. */
static void
cut_off(void)
{
	close_server(0);	/* the server sees its input end within the data */
	r.h->record(r.h->arg, &r.txn, "reject",
	    "the client ended the session within the message; nothing was queued");
}

/*
 * The server said 354: the message goes to it with qwrap's header first.
 * Its end line goes only after the record was written, as in message mode,
 * where the record is written before the real sendmail runs: no message is
 * queued without one, however the caller stops the relay.
 */
static void
deliver(void)
{
	enum smtp_data_state st = DS_LINE_START;
	char hdr[IDHEADER_MAX];
	struct msgtail t;
	size_t hdrlen;
	int rest;

	if (read_head(&st) < 0) {
		cut_off();
		return;
	}
	hdrlen = r.h->header(r.h->arg, r.m->crlf ? "\r\n" : "\n", hdr);
	r.stuff_start = 1;
	if (server_put_stuffed(NULL, hdr, hdrlen) < 0 ||
	    message_write_to(server_put_stuffed, NULL, r.m, r.f, r.ourname, &t) < 0 ||
	    (rest = forward_tail(&st, &t)) == -2) {
		server_lost();
		return;
	}
	if (rest == -1) {
		cut_off();
		return;
	}
	if (r.h->record(r.h->arg, &r.txn, "deliver", NULL) < 0) {
		close_server(1);	/* the message ends unfinished: the server queues nothing */
		say(TEMPFAIL_REPLY);
		return;
	}
	if (server_put(smtp_data_pending(st), strlen(smtp_data_pending(st))) < 0) {
		r.h->refused(r.h->arg, "the MTA stopped reading at the end of the message");
		close_server(1);
		return;
	}
	await(A_EOD, NULL, 0);
}

/* Writes the "RSET" that ends, for the server, a transaction the relay took over. */
static void
reset_server(void)
{
	to_server("RSET\r\n", 6);
	await(A_OURS, NULL, 0);
}

/* A limit holds this message: the relay takes it and answers for the server. */
static void
take_and_hold(void)
{
	enum smtp_data_state st = DS_LINE_START;
	struct hold hd;
	struct held hl = { &hd, 0, 0, "" };

	reset_server();
	if (r.h->hold_open(r.h->arg, &r.txn, &hd, hl.err) < 0) {
		say(TEMPFAIL_REPLY);
		r.h->record(r.h->arg, &r.txn, "reject", hl.err);
		return;
	}
	say("354 go ahead\r\n");
	if (read_head(&st) < 0 || hold_data(&st, &hl) < 0) {
		r.h->hold_abort(r.h->arg, &hd, hl.err);
		r.h->record(r.h->arg, &r.txn, "reject",
		    "the client ended the session within the message; nothing was held");
		return;
	}
	if (hl.failed) {
		r.h->hold_abort(r.h->arg, &hd, hl.err);
		say(TEMPFAIL_REPLY);
		r.h->record(r.h->arg, &r.txn, "reject", hl.err);
		return;
	}
	if (r.h->hold_commit(r.h->arg, &hd, hl.err) < 0) {
		say(TEMPFAIL_REPLY);
		r.h->record(r.h->arg, &r.txn, "reject", hl.err);
		return;
	}
	say("250 ok\r\n");
	r.h->record(r.h->arg, &r.txn, "hold", NULL);
}

/* DATA, with every command before it answered: the limits decide. */
static void
data(const char *line, size_t len)
{
	char why[512], reply[512];

	r.m->len = 0;
	parse();
	switch (r.h->begin(r.h->arg, &r.txn, why, sizeof why)) {
	case RELAY_REJECT:
		/* One line of at most 512 bytes, its end included (RFC 5321). */
		first_line(reply, sizeof reply - 2, "451 4.7.1 ", why, strlen(why));
		strcat(reply, "\r\n");
		say(reply);
		r.h->record(r.h->arg, &r.txn, "reject", NULL);
		reset_server();
		break;
	case RELAY_HOLD:
		take_and_hold();
		break;
	case RELAY_DELIVER:
		to_server(line, len);
		await(A_DATA, NULL, 0);
		r.await_data = 1;
		return;
	}
	txn_reset();
}

/* The server started data the relay cannot account for: it must not pass unread. */
static void
desync(void)
{
	say("421 4.3.0 The MTA started a message where qwrap saw none; closing\r\n");
	r.over = 1;
}

/* One whole reply of the server, to the command it answers. */
static void
reply(char *p, size_t n)
{
	char problem[300];
	struct awaiting *a;
	int last, code = smtp_reply_code(p, n, &last);

	if (r.qlen == 0) {
		/* Unasked for: a 421 before closing, say.  Never the start of data. */
		if (code == 354)
			desync();
		else
			say_n(p, n);
		return;
	}
	a = &r.q[r.qhead];
	r.qhead = (r.qhead + 1) % QUEUE_MAX;
	r.qlen--;
	/* Data the relay would not see as a message, or that no limit was asked about. */
	if (code == 354 && (a->what != A_DATA || r.txn.rcpt_count == 0)) {
		desync();
		return;
	}
	switch (a->what) {
	case A_OURS:
		if (code / 100 == 2)
			return;
		break;	/* a 421, say: the client must hear that the server goes */
	case A_EHLO:
		if (code / 100 == 2)
			txn_reset();
		n = smtp_ehlo_filter(p, n);
		break;
	case A_HELO:
	case A_RSET:
		if (code / 100 == 2)
			txn_reset();
		break;
	case A_MAIL:
		if (code / 100 == 2) {
			txn_reset();
			memcpy(r.txn.sender, a->addr, sizeof r.txn.sender);
			r.txn.has_sender = 1;
			r.txn.cut = a->cut;
		}
		break;
	case A_RCPT:
		if (code / 100 != 2)
			break;
		if (r.txn.nrcpt < MSG_RCPT_MAX) {
			memcpy(r.txn.rcpt_buf[r.txn.nrcpt], a->addr, sizeof a->addr);
			r.txn.rcpt[r.txn.nrcpt] = r.txn.rcpt_buf[r.txn.nrcpt];
			r.txn.nrcpt++;
		}
		r.txn.rcpt_count++;
		r.txn.cut |= a->cut;
		break;
	case A_DATA:
		r.await_data = 0;
		if (code == 354) {
			say_n(p, n);
			deliver();
			return;
		}
		if (r.txn.rcpt_count > 0) {
			first_line(problem, sizeof problem, "the MTA refused DATA: ", p, n);
			r.h->record(r.h->arg, &r.txn, "reject", problem);
		}
		break;
	case A_EOD:
		if (code / 100 != 2) {
			first_line(problem, sizeof problem, "the MTA refused the message: ", p, n);
			r.h->refused(r.h->arg, problem);
		}
		txn_reset();
		break;
	case A_OTHER:
		break;
	}
	say_n(p, n);
}

/* The server's output read so far, as whole replies. */
static void
replies(void)
{
	size_t pos = 0, start = 0;
	const char *nl;
	int last;

	while (!r.over && (nl = memchr(r.reply + pos, '\n', r.replylen - pos)) != NULL) {
		size_t n = (size_t)(nl - (r.reply + pos)) + 1;

		smtp_reply_code(r.reply + pos, n, &last);
		pos += n;
		if (last) {
			reply(r.reply + start, pos - start);
			start = pos;
		}
	}
	/* A reply longer than the buffer: its whole lines go on as they are. */
	if (start == 0 && r.replylen == sizeof r.reply) {
		if (pos == 0) {
			say("421 4.3.0 The MTA's reply is too long for qwrap; closing\r\n");
			r.over = 1;
		}
		say_n(r.reply, pos);
		start = pos;
	}
	memmove(r.reply, r.reply + start, r.replylen - start);
	r.replylen -= start;
}

static enum awaited
awaited_of(enum smtp_verb v)
{
	switch (v) {
	case SMTP_EHLO: return A_EHLO;
	case SMTP_HELO: return A_HELO;
	case SMTP_MAIL: return A_MAIL;
	case SMTP_RCPT: return A_RCPT;
	case SMTP_RSET: return A_RSET;
	default: return A_OTHER;
	}
}

/* Relays the client's whole command lines, as far as the state allows. */
static void
commands(void)
{
	while (!r.over && !r.no_client && !r.await_data && r.inpos < r.inlen) {
		const char *line = r.in + r.inpos, *nl;
		size_t avail = r.inlen - r.inpos, len;
		enum smtp_verb verb;

		if (r.skipping) {
			nl = memchr(line, '\n', avail);
			r.inpos = nl ? (size_t)(nl - r.in) + 1 : r.inlen;
			r.skipping = nl == NULL;
			continue;
		}
		nl = memchr(line, '\n', avail < LINE_MAX_SMTP ? avail : LINE_MAX_SMTP);
		if (nl == NULL && avail >= LINE_MAX_SMTP) {
			if (!quiet())
				return;
			say("500 5.5.2 Line too long\r\n");
			r.skipping = 1;
			continue;
		}
		if (nl == NULL) {
			/* The client's last words, cut: the server gets them as they are. */
			if (r.client_eof && r.outlen + avail <= sizeof r.out) {
				to_server(line, avail);
				r.inpos = r.inlen;
			}
			return;
		}
		len = (size_t)(nl - line) + 1;
		verb = smtp_verb(line, len);
		if ((verb == SMTP_DATA || verb == SMTP_BDAT || verb == SMTP_STARTTLS) && !quiet())
			return;
		if (r.qlen == QUEUE_MAX || r.outlen + len > sizeof r.out)
			return;
		r.inpos += len;
		if (verb == SMTP_BDAT)
			say("502 5.5.1 BDAT is not available here; use DATA\r\n");
		else if (verb == SMTP_STARTTLS)
			say("454 4.7.0 TLS not available\r\n");
		else if (verb == SMTP_DATA)
			data(line, len);
		else {
			to_server(line, len);
			await(awaited_of(verb), line, len);
		}
	}
}

static void
server_write(void)
{
	/* At most PIPE_BUF after POLLOUT: a pipe write that cannot block. */
	size_t n = r.outlen < PIPE_BUF ? r.outlen : PIPE_BUF;
	ssize_t w = write(r.to, r.out, n);

	if (w < 0 && errno == EINTR)
		return;
	if (w < 0) {
		/* The server no longer reads; what it still says is read to its end. */
		close(r.to);
		r.to = -1;
		r.outlen = 0;
		return;
	}
	memmove(r.out, r.out + w, r.outlen - (size_t)w);
	r.outlen -= (size_t)w;
}

static void
loop(void)
{
	while (!r.over) {
		struct pollfd pf[3];
		int n = 0, ci = -1, si, wi = -1;
		ssize_t got;

		commands();
		if (r.over)
			break;
		/* The client is done and all of it sent: the server sees its end. */
		if (r.client_eof && r.inpos == r.inlen && r.outlen == 0 && r.to >= 0) {
			close(r.to);
			r.to = -1;
		}
		if (!r.client_eof && !r.no_client && !r.await_data &&
		    (r.inpos > 0 || r.inlen < sizeof r.in))
			pf[ci = n++] = (struct pollfd){ 0, POLLIN, 0 };
		pf[si = n++] = (struct pollfd){ r.from, POLLIN, 0 };
		if (r.outlen > 0 && r.to >= 0)
			pf[wi = n++] = (struct pollfd){ r.to, POLLOUT, 0 };
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (wi >= 0 && pf[wi].revents)
			server_write();
		if (pf[si].revents) {
			got = read(r.from, r.reply + r.replylen, sizeof r.reply - r.replylen);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;	/* the server is done */
			r.replylen += (size_t)got;
			replies();
		}
		if (ci >= 0 && pf[ci].revents)
			read_client();
	}
}

/* The real sendmail, its stdin and stdout ours. */
static pid_t
start(const char *path, char *const argv[], char *const envp[], const struct procstate *ps,
    char err[RELAY_ERR_MAX])
{
	struct procstate own = *ps;
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0) {
		snprintf(err, RELAY_ERR_MAX, "cannot open a pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		snprintf(err, RELAY_ERR_MAX, "cannot open a pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || sanitize_drop_group() < 0)
			_exit(EX_TEMPFAIL);
		/* Its own children are its to wait for, whatever the caller ignores. */
		own.chld.sa_handler = SIG_DFL;
		own.chld.sa_flags = 0;
		deliver_exec(path, argv, envp, &own);
		dprintf(2, "qwrap-sendmail: cannot run the real sendmail %s: %s\n", path,
		    strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		snprintf(err, RELAY_ERR_MAX, "cannot start the real sendmail: %s", strerror(errno));
		close(in[1]);
		close(out[0]);
		return -1;
	}
	r.to = in[1];
	r.from = out[0];
	return pid;
}

int
relay_run(const char *path, char *const argv[], char *const envp[],
    const struct procstate *ps, const char *ourname, struct message *m,
    struct msgfields *f, const struct relay_hooks *h, char err[RELAY_ERR_MAX])
{
	pid_t pid;
	int status;

	r.h = h;
	r.ourname = ourname;
	r.m = m;
	r.f = f;
	if ((pid = start(path, argv, envp, ps, err)) < 0)
		return -1;
	await(A_OTHER, NULL, 0);	/* the greeting */
	loop();
	/* What the server never answered. */
	for (; r.qlen > 0; r.qlen--, r.qhead = (r.qhead + 1) % QUEUE_MAX) {
		if (r.q[r.qhead].what == A_EOD)
			r.h->refused(r.h->arg, "the session ended before the MTA answered the message");
		else if (r.q[r.qhead].what == A_DATA && r.txn.rcpt_count > 0)
			r.h->record(r.h->arg, &r.txn, "reject", "the MTA ended the session before the message");
	}
	if (r.to >= 0)
		close(r.to);
	close(r.from);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL << 8;
	return status;
}
