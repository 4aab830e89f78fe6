/*
 * scan.c: qwrap scan.  Reads every message of a qmail queue once (queue.c),
 * tallies who queued it and what it is, and prints the tables an admin
 * needs to name the source: uids with their users and vhosts, envelope
 * senders, subjects, scripts from qwrap's header (joined with the capture
 * log), recipient domains, the messages with most recipients, and those a
 * local uid queued around the wrapper while capture was on.
 */
#include "scan.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "logread.h"
#include "queue.h"
#include "report.h"
#include "state.h"
#include "tally.h"
#include "vhost.h"

#define MOST_MAX 1000	/* "most recipients" keeps at most this many */

struct most {
	unsigned long id;
	long rcpt;
	long uid;
	char *sender, *subject;
};

struct scan {
	long scanned, preprocessed, rcpt[3], done, with_header, no_envelope, unreadable;
	int unreadable_errno;
	struct tally entered, uid, sender, subject, domain, scripts;
	struct tally origins;	/* from the records of the queue's qwrap ids */
	struct tally ids;	/* qwrap ids: their header's script, or their record's */
	struct most *most;
	long nmost, cap_most;
	unsigned long *around;	/* local mail without qwrap's header, queued during capture */
	size_t naround, cap_around;
	unsigned long *unverified;	/* with a header that is not the wrapper's */
	size_t nunverified, cap_unverified;
	struct tally pending;	/* queue id -> qwrap id: headers to look up in the log */
	int capture_known;	/* install.state says when capture was on */
	long long capture_from, capture_until;	/* until 0: still on */
	int log_read;		/* the capture log could be read for the join */
	size_t ids_found;	/* of sc.ids, in the log */
	int nomem;
};

/* Appends ID to the list *V of *N (capacity *CAP); -1 when out of memory. */
static int
push(unsigned long **v, size_t *n, size_t *cap, unsigned long id)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		unsigned long *nv = realloc(*v, ncap * sizeof *nv);

		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = id;
	return 0;
}

static int
during_capture(const struct scan *sc, const struct qmsg *m)
{
	return sc->capture_known && m->queued >= sc->capture_from &&
	    (sc->capture_until == 0 || m->queued < sc->capture_until);
}

/*
 * Anyone who sends around the wrapper can write a header like qwrap's.  The
 * wrapper's names the uid qmail-queue saw, and, during capture, an id the
 * capture log has: a header that fails either is listed as unverified.  The
 * log is read after the scan, so the id check waits in PENDING.
 */
static void
check_header(struct scan *sc, const struct qmsg *m)
{
	char key[32];
	struct tally_row *r;

	if (strcmp(m->invoked, "by uid") == 0 && m->qwrap_uid != m->uid) {
		if (push(&sc->unverified, &sc->nunverified, &sc->cap_unverified, m->id) < 0)
			sc->nomem = 1;
		return;
	}
	if (!during_capture(sc, m))
		return;
	snprintf(key, sizeof key, "%lu", m->id);
	if ((r = tally_row(&sc->pending, key)) == NULL ||
	    (r->note == NULL && (r->note = strdup(m->qwrap_id)) == NULL))
		sc->nomem = 1;
}

static void
json_key(const char *k, int first)
{
	printf("%s\"%s\":", first ? "" : ",", k);
}

static struct tally_row *
count(struct scan *sc, struct tally *t, const char *key, long messages, long rcpt)
{
	struct tally_row *r = tally_add(t, key, messages, rcpt);

	if (r == NULL)
		sc->nomem = 1;
	return r;
}


/* The vhost of a uid: its home directory's (Plesk and cPanel put it in the site). */
static void
vhost_of_uid(const struct scan_opts *o, long uid, char *out, size_t cap)
{
	struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;

	if (pw == NULL || vhost_of(o->vhosts_root, pw->pw_dir, out, cap) < 0)
		out[0] = '\0';
}

static long
total_rcpt(const struct qmsg *m)
{
	return m->nrcpt[RCPT_LOCAL] + m->nrcpt[RCPT_REMOTE] + m->nrcpt[RCPT_PENDING];
}

static void
utc(time_t t, char *out, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One message as a JSON object (no newline), left open for more members unless CLOSE. */
static void
json_message(const struct qmsg *m, time_t now, int close)
{
	static const char *const chans[] = { "local", "remote", "pending" };
	char when[32], subject[QUEUE_TEXT_MAX * 2];
	enum rcpt_channel ch;
	const char *addr;
	size_t pos;
	int done;

	printf("{\"id\":%lu", m->id);
	json_key("path", 0), report_json_string(m->path);
	printf(",\"preprocessed\":%s", m->preprocessed ? "true" : "false");
	json_key("sender", 0);
	if (m->has_envelope)
		report_json_string(m->sender);
	else
		printf("null");
	json_key("recipients", 0);
	for (int c = 0; c <= 3; c++) {
		int first = 1;

		printf("%s\"%s\":[", c ? "," : "{", c < 3 ? chans[c] : "done");
		for (pos = 0; qmsg_rcpt(m, &pos, &ch, &done, &addr);) {
			if (c < 3 ? (int)ch != c : !done)
				continue;
			printf("%s", first ? "" : ",");
			report_json_string(addr);
			first = 0;
		}
		printf("]");
	}
	printf("},\"recipient_count\":{\"local\":%ld,\"remote\":%ld,\"pending\":%ld,\"done\":%ld,"
	    "\"total\":%ld}", m->nrcpt[0], m->nrcpt[1], m->nrcpt[2], m->ndone, total_rcpt(m));
	printf(",\"uid\":%ld", m->uid);
	json_key("user", 0), report_json_string(report_user(m->uid));
	json_key("invoked", 0);
	if (m->invoked[0])
		report_json_string(m->invoked);
	else
		printf("null");
	printf(",\"qmail_queue_pid\":%ld", m->qq_pid);
	json_key("received_date", 0), report_json_string(m->received_date);
	printf(",\"received_lines\":%ld", m->nreceived);
	/* For network mail qmail-smtpd wrote the line; for local mail, maybe the sender. */
	printf(",\"smtp_trusted\":%s", strcmp(m->invoked, "from network") == 0 ? "true" : "false");
	json_key("smtp", 0);
	if (m->smtp) {
		printf("{");
		json_key("remote_host", 1), report_json_string(m->smtp_host);
		json_key("helo", 0), report_json_string(m->smtp_helo);
		json_key("remote_info", 0), report_json_string(m->smtp_info);
		json_key("remote_ip", 0), report_json_string(m->smtp_ip);
		printf("}");
	} else {
		printf("null");
	}
	json_key("qwrap", 0);
	if (m->qwrap) {
		printf("{");
		json_key("id", 1), report_json_string(m->qwrap_id);
		printf(",\"uid\":%ld", m->qwrap_uid);
		json_key("cwd", 0), report_json_string(m->qwrap_cwd);
		json_key("script", 0), report_json_string(m->qwrap_script);
		printf("}");
	} else {
		printf("null");
	}
	queue_decode_2047(m->subject, subject, sizeof subject);
	json_key("subject", 0), report_json_string(m->subject);
	json_key("subject_decoded", 0), report_json_string(subject);
	json_key("from", 0), report_json_string(m->from);
	json_key("message_id", 0), report_json_string(m->message_id);
	utc(m->queued, when, sizeof when);
	printf(",\"size\":%lld", (long long)m->size);
	json_key("queued", 0), report_json_string(when);
	printf(",\"age\":%lld", (long long)(now - m->queued));
	json_key("unreadable", 0);
	if (m->unreadable)
		report_json_string(strerror(m->unreadable));
	else
		printf("null");
	printf("%s", close ? "}" : "");
}

static void
keep_most(struct scan *sc, const struct qmsg *m, long limit)
{
	char subject[QUEUE_TEXT_MAX * 2];
	long rcpt = total_rcpt(m), i;
	struct most e;

	if (sc->nmost == limit && (limit == 0 || sc->most[limit - 1].rcpt >= rcpt))
		return;
	if (sc->nmost < limit) {
		if (sc->nmost == sc->cap_most) {
			long ncap = sc->cap_most ? sc->cap_most * 2 : 16;
			struct most *n = realloc(sc->most, (size_t)ncap * sizeof *n);

			if (n == NULL) {
				sc->nomem = 1;
				return;
			}
			sc->most = n;
			sc->cap_most = ncap;
		}
		sc->nmost++;
	} else {
		free(sc->most[limit - 1].sender);
		free(sc->most[limit - 1].subject);
	}
	queue_decode_2047(m->subject, subject, sizeof subject);
	/* Senders as in the sender table: "<>" the null one, "" none known. */
	e = (struct most){ m->id, rcpt, m->uid, strdup(m->has_envelope && !m->sender[0] ? "<>" :
	    m->sender), strdup(subject) };
	/* Largest first; among equals, the one scanned first. */
	for (i = sc->nmost - 1; i > 0 && sc->most[i - 1].rcpt < rcpt; i--)
		sc->most[i] = sc->most[i - 1];
	sc->most[i] = e;
}

static void
tally_message(struct scan *sc, const struct scan_opts *o, const struct qmsg *m)
{
	char key[QUEUE_TEXT_MAX * 2];
	long rcpt = total_rcpt(m);
	enum rcpt_channel ch;
	const char *addr, *at;
	size_t pos;
	int done;

	sc->scanned++;
	sc->preprocessed += m->preprocessed;
	sc->no_envelope += !m->has_envelope;
	if (m->unreadable && sc->unreadable++ == 0)
		sc->unreadable_errno = m->unreadable;
	for (int c = 0; c < 3; c++)
		sc->rcpt[c] += m->nrcpt[c];
	sc->done += m->ndone;
	if (strcmp(m->invoked, "by uid") == 0)
		snprintf(key, sizeof key, "by uid %ld", m->uid);
	else
		snprintf(key, sizeof key, "%s", m->invoked[0] ? m->invoked : "unknown");
	count(sc, &sc->entered, key, 1, rcpt);
	snprintf(key, sizeof key, m->uid >= 0 ? "%ld" : "", m->uid);
	count(sc, &sc->uid, key, 1, rcpt);
	count(sc, &sc->sender, m->has_envelope ? (m->sender[0] ? m->sender : "<>") : "", 1, rcpt);
	queue_decode_2047(m->subject, key, sizeof key);
	count(sc, &sc->subject, key, 1, rcpt);
	if (m->qwrap) {
		struct tally_row *r;

		sc->with_header++;
		/* By qwrap's id, so that the record can name the script; a header without one names it. */
		if (m->qwrap_id[0] == '\0') {
			count(sc, &sc->scripts, m->qwrap_script, 1, rcpt);
			count(sc, &sc->origins, "", 1, rcpt);
		} else if ((r = count(sc, &sc->ids, m->qwrap_id, 1, rcpt)) != NULL &&
		    r->note == NULL && (r->note = strdup(m->qwrap_script)) == NULL) {
			sc->nomem = 1;
		}
		check_header(sc, m);
	}
	/* Each domain once per message, with its recipients there. */
	for (pos = 0; qmsg_rcpt(m, &pos, &ch, &done, &addr);) {
		struct tally_row *r;

		snprintf(key, sizeof key, "%s", (at = strrchr(addr, '@')) != NULL ? at + 1 : "");
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if ((r = count(sc, &sc->domain, key, 0, 1)) == NULL)
			break;
		if (r->mark != sc->scanned) {
			r->mark = sc->scanned;
			r->messages++;
		}
	}
	keep_most(sc, m, o->rows > 0 ? o->rows : MOST_MAX);
	/* Queued by a local uid while capture was on, without qwrap's header. */
	if (!m->qwrap && strcmp(m->invoked, "by uid") == 0 && during_capture(sc, m) &&
	    push(&sc->around, &sc->naround, &sc->cap_around, m->id) < 0)
		sc->nomem = 1;
}

/* When capture was on, from install.state: since --enable, until the session's end. */
static void
capture_window(struct scan *sc, const struct scan_opts *o)
{
	struct install_state st;
	char err[STATE_ERR_MAX];

	if (state_load(o->conf->state_dir, STATE_NAME, 0, &st, err) == 1) {
		sc->capture_known = 1;
		sc->capture_from = st.enabled_at;
		sc->capture_until = st.deadline;
	}
}

/*
 * The capture log and its rotations, newest first (the queue holds recent
 * mail), record by record to FN until it says stop.
 */
struct each {
	int (*fn)(const struct logrec *, void *);
	void *arg;
	int opened;		/* some file of it could be read */
};

static int
each_file(const char *path, void *arg)
{
	struct each *e = arg;
	struct logfile f;
	struct logrec r;
	char err[LOG_ERR_MAX];
	int stop = 0;

	/* Not readable (not root): the join is what is lost, and the tables say so. */
	if (log_open(&f, path, err) < 0)
		return 0;
	e->opened = 1;
	while (!stop && log_next(&f, &r, err) == 1)
		stop = e->fn(&r, e->arg);
	log_close(&f);
	return stop;
}

/* 1 when some file of the log could be read. */
static int
each_record(const struct scan_opts *o, int (*fn)(const struct logrec *, void *), void *arg)
{
	struct each e = { fn, arg, 0 };

	log_rotations(o->conf->log_file, 1, 1, each_file, &e);
	return e.opened;
}

/*
 * A record of one of the queue's qwrap ids: the id is the wrapper's, and the
 * record names the script, which is what the table shows.  Stops once all
 * are found.
 */
static int
join_one(const struct logrec *r, void *arg)
{
	struct scan *sc = arg;
	static char id[128], script[LOG_VALUE_MAX], origin[64];
	struct tally_row *row;

	if ((row = tally_find(&sc->ids, rec_str(r, "id", id, sizeof id))) == NULL || row->mark)
		return 0;
	row->mark = 1;
	sc->ids_found++;
	if (rec_str(r, "script", script, sizeof script)[0] != '\0') {
		free(row->note);
		row->note = strdup(script);
	}
	count(sc, &sc->origins, rec_str(r, "origin", origin, sizeof origin), row->messages,
	    row->recipients);
	return sc->ids_found == sc->ids.n;
}

/* The headers queued during capture whose id the capture log has not: unverified. */
static void
check_pending(struct scan *sc)
{
	for (size_t i = 0; i < sc->pending.cap; i++) {
		const struct tally_row *p = &sc->pending.rows[i];
		const struct tally_row *r;

		if (p->key == NULL || ((r = tally_find(&sc->ids, p->note)) != NULL && r->mark))
			continue;
		if (push(&sc->unverified, &sc->nunverified, &sc->cap_unverified,
		    strtoul(p->key, NULL, 10)) < 0)
			sc->nomem = 1;
	}
}

static int
ascending(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * One table: on a terminal under a heading WHAT; piped, one line per row,
 * "NAME<tab>messages<tab>recipients<tab>key" (uid rows add user and vhost);
 * in JSON, "NAME": [{key, messages, recipients}, ...].
 */
static void
table(const struct scan_opts *o, struct tally *t, const char *name, const char *what,
    const char *column, int uids)
{
	size_t shown;

	if (t->n > 0)
		tally_sort(t);
	shown = o->rows > 0 && (size_t)o->rows < t->n ? (size_t)o->rows : t->n;
	if (o->json)
		printf(",\"%s\":[", name);
	else if (o->tty && shown > 0)
		printf("\n%s\n%8s  %10s  %s\n", what, "MESSAGES", "RECIPIENTS",
		    uids ? "UID       USER              VHOST" : column);
	for (size_t i = 0; i < shown; i++) {
		const struct tally_row *r = &t->rows[i];
		char site[256] = "";
		const char *user = "";

		if (uids && strcmp(r->key, "-") != 0) {
			user = report_user(atol(r->key));
			vhost_of_uid(o, atol(r->key), site, sizeof site);
		}
		if (o->json) {
			printf("%s{", i ? "," : "");
			json_key("key", 1), report_json_string(r->key);
			if (uids) {
				json_key("user", 0), report_json_string(user);
				json_key("vhost", 0), report_json_string(site);
			}
			printf(",\"messages\":%ld,\"recipients\":%ld}", r->messages, r->recipients);
			continue;
		}
		if (o->tty)
			printf("%8ld  %10ld  ", r->messages, r->recipients);
		else
			printf("%s\t%ld\t%ld\t", name, r->messages, r->recipients);
		report_field(r->key, 8, !uids, o->tty);
		if (uids) {
			report_field(user, 16, 0, o->tty);
			report_field(site, 0, 1, o->tty);
		}
	}
	if (o->json)
		printf("]");
}

static void
scan_free(struct scan *sc)
{
	tally_free(&sc->entered);
	tally_free(&sc->uid);
	tally_free(&sc->sender);
	tally_free(&sc->subject);
	tally_free(&sc->domain);
	tally_free(&sc->scripts);
	tally_free(&sc->origins);
	tally_free(&sc->ids);
	tally_free(&sc->pending);
	free(sc->unverified);
	for (long i = 0; i < sc->nmost; i++) {
		free(sc->most[i].sender);
		free(sc->most[i].subject);
	}
	free(sc->most);
	free(sc->around);
}

static void
print_most(const struct scan_opts *o, const struct scan *sc)
{
	if (o->json) {
		printf(",\"most_recipients\":[");
		for (long i = 0; i < sc->nmost; i++) {
			printf("%s{\"id\":%lu,\"recipients\":%ld,\"uid\":%ld", i ? "," : "",
			    sc->most[i].id, sc->most[i].rcpt, sc->most[i].uid);
			json_key("sender", 0), report_json_string(sc->most[i].sender ? sc->most[i].sender : "");
			json_key("subject", 0), report_json_string(sc->most[i].subject ?
			    sc->most[i].subject : "");
			printf("}");
		}
		printf("]");
		return;
	}
	if (o->tty && sc->nmost > 0)
		printf("\nthe messages with most recipients\n%10s  %10s  %-8s  %-30s  %s\n", "RECIPIENTS",
		    "ID", "UID", "SENDER", "SUBJECT");
	for (long i = 0; i < sc->nmost; i++) {
		char n[64];

		if (o->tty)
			printf("%10ld  %10lu  ", sc->most[i].rcpt, sc->most[i].id);
		else
			printf("most\t%ld\t%lu\t", sc->most[i].rcpt, sc->most[i].id);
		snprintf(n, sizeof n, sc->most[i].uid >= 0 ? "%ld" : "", sc->most[i].uid);
		report_field(n, 8, 0, o->tty);
		report_field(sc->most[i].sender ? sc->most[i].sender : "", 30, 0, o->tty);
		report_field(sc->most[i].subject ? sc->most[i].subject : "", 0, 1, o->tty);
	}
}

static void
print_around(const struct scan_opts *o, const struct scan *sc)
{
	if (o->json) {
		printf(",\"capture_known\":%s,\"log_read\":%s,\"around_wrapper\":[",
		    sc->capture_known ? "true" : "false", sc->log_read ? "true" : "false");
		for (size_t i = 0; i < sc->naround; i++)
			printf("%s%lu", i ? "," : "", sc->around[i]);
		printf("],\"unverified_header\":[");
		for (size_t i = 0; i < sc->nunverified; i++)
			printf("%s%lu", i ? "," : "", sc->unverified[i]);
		printf("]");
		return;
	}
	if (o->tty && sc->nunverified > 0)
		printf("\n%zu message%s with a header like qwrap's that is not the wrapper's (another"
		    " uid, or an id the capture log does not have): written by the sender\n",
		    sc->nunverified, sc->nunverified == 1 ? "" : "s");
	for (size_t i = 0; i < sc->nunverified; i++)
		printf(o->tty ? "  %lu\n" : "unverified\t%lu\n", sc->unverified[i]);
	if (!sc->capture_known) {
		if (o->tty)
			printf("\nno capture session is on (no install.state): cannot tell which"
			    " messages went around the wrapper\n");
		return;
	}
	if (o->tty)
		printf("\n%zu message%s queued by a local uid while capture was on, without"
		    " qwrap's header: sent around the wrapper%s\n", sc->naround,
		    sc->naround == 1 ? "" : "s", sc->naround ? ":" : "");
	for (size_t i = 0; i < sc->naround; i++)
		printf(o->tty ? "  %lu\n" : "around\t%lu\n", sc->around[i]);
}

int
scan_queue(const struct scan_opts *o)
{
	struct scan sc = { 0 };
	struct queue q;
	struct qmsg m = { 0 };
	char err[QUEUE_ERR_MAX];
	long in_queue, todo;
	time_t now = time(NULL);
	int rc, status = 0;

	if (queue_open(&q, o->queue, o->conf->header_name, err) < 0) {
		fprintf(stderr, "qwrap scan: %s\n", err);
		return errno == EACCES ? EX_NOPERM : EX_NOINPUT;
	}
	/* qmail-qstat's two numbers, counted first, as it counts them. */
	in_queue = queue_count(o->queue, "mess");
	todo = queue_count(o->queue, "todo");
	capture_window(&sc, o);
	if (o->json) {
		printf("{\"type\":\"queue\",\"queue\":");
		report_json_string(o->queue);
		printf(",\"messages\":%ld,\"not_preprocessed\":%ld}\n", in_queue, todo);
	}
	while ((rc = queue_next(&q, &m, err)) == 1) {
		tally_message(&sc, o, &m);
		if (o->json) {
			printf("{\"type\":\"message\",\"message\":");
			json_message(&m, now, 1);
			printf("}\n");
		}
		if (o->progress && sc.scanned % 1000 == 0)
			fprintf(stderr, "\rqwrap scan: %ld of %ld messages", sc.scanned, in_queue);
	}
	if (o->progress && sc.scanned >= 1000)
		fprintf(stderr, "\r%60s\r", "");
	if (rc < 0) {
		fprintf(stderr, "qwrap scan: %s\n", err);
		status = EX_IOERR;
	}
	if (sc.unreadable > 0)
		fprintf(stderr, "qwrap scan: %ld message%s could not be read whole (%s)%s: their"
		    " counts are missing what those files hold\n", sc.unreadable,
		    sc.unreadable == 1 ? "" : "s", strerror(sc.unreadable_errno),
		    sc.unreadable_errno == EACCES ? ", run as root" : "");
	if (sc.ids.n > 0)
		sc.log_read = each_record(o, join_one, &sc);
	if (sc.log_read)
		check_pending(&sc);
	if (sc.nunverified > 1)
		qsort(sc.unverified, sc.nunverified, sizeof *sc.unverified, ascending);
	for (size_t i = 0; i < sc.ids.cap; i++) {
		const struct tally_row *r = &sc.ids.rows[i];

		if (r->key == NULL)
			continue;
		if (count(&sc, &sc.scripts, r->note ? r->note : "", r->messages,
		    r->recipients) == NULL ||
		    (!r->mark && count(&sc, &sc.origins, "", r->messages, r->recipients) == NULL))
			break;
	}
	if (sc.nomem) {
		fprintf(stderr, "qwrap scan: out of memory\n");
		status = EX_OSERR;
	}

	if (o->json) {
		printf("{\"type\":\"summary\",\"messages\":%ld,\"not_preprocessed\":%ld,\"scanned\":%ld,"
		    "\"preprocessed\":%ld,\"vanished\":%ld,\"without_envelope\":%ld,\"unreadable\":%ld,"
		    "\"recipients\":{\"local\":%ld,\"remote\":%ld,\"pending\":%ld,\"done\":%ld},"
		    "\"with_qwrap_header\":%ld", in_queue, todo, sc.scanned, sc.preprocessed,
		    q.vanished, sc.no_envelope, sc.unreadable, sc.rcpt[0], sc.rcpt[1], sc.rcpt[2], sc.done,
		    sc.with_header);
	} else {
		printf(o->tty ? "messages in queue: %ld\nmessages in queue but not yet preprocessed:"
		    " %ld\n" : "messages\t%ld\nnot_preprocessed\t%ld\n", in_queue, todo);
		if (o->tty)
			printf("read %ld: %ld local and %ld remote recipients (%ld done), %ld not yet"
			    " split; %ld with qwrap's header\n", sc.scanned, sc.rcpt[0], sc.rcpt[1],
			    sc.done, sc.rcpt[2], sc.with_header);
	}
	table(o, &sc.entered, "entered", "how they entered (qmail-queue's Received line)",
	    "INVOKED", 0);
	table(o, &sc.uid, "uid", "by uid (invoked by uid; from the envelope before"
	    " preprocessing)", NULL, 1);
	table(o, &sc.sender, "sender", "by envelope sender", "SENDER", 0);
	table(o, &sc.subject, "subject", "by subject", "SUBJECT", 0);
	table(o, &sc.scripts, "script", "by script (qwrap's header; the capture log's record"
	    " when readable)", "SCRIPT", 0);
	table(o, &sc.origins, "origin", "by origin (the capture log's record: web, cron, at, ssh,"
	    " systemd, console, unknown)", "ORIGIN", 0);
	table(o, &sc.domain, "rcpt_domain", "by recipient domain (messages: those sent there)",
	    "DOMAIN", 0);
	print_most(o, &sc);
	print_around(o, &sc);
	if (o->json)
		printf("}\n");
	scan_free(&sc);
	qmsg_free(&m);
	queue_close(&q);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("qwrap scan: standard output");
		return EX_IOERR;
	}
	return status;
}

struct chain {
	const struct scan_opts *o;
	int n;
};

static void
print_received(const char *name, size_t nlen, const char *v, size_t vlen, void *arg)
{
	struct chain *c = arg;
	char value[QUEUE_TEXT_MAX * 4];

	if (nlen != 8 || strncasecmp(name, "Received", 8) != 0)
		return;
	snprintf(value, sizeof value, "%.*s", (int)vlen, v);
	if (c->o->json) {
		printf("%s", c->n ? "," : "");
		report_json_string(value);
	} else {
		printf("  %d. ", c->n + 1);
		report_field(value, 0, 1, 0);
	}
	c->n++;
}

struct find {
	const char *id;
	char *line;
};

static int
find_one(const struct logrec *r, void *arg)
{
	struct find *f = arg;
	char id[128];

	if (strcmp(rec_str(r, "id", id, sizeof id), f->id) != 0)
		return 0;
	f->line = strndup(r->line, r->len);
	return 1;
}

/* The capture log's record of qwrap id ID (malloc'd); NULL when none is readable. */
static char *
find_record(const struct scan_opts *o, const char *id)
{
	struct find f = { id, NULL };

	if (id[0] != '\0')
		each_record(o, find_one, &f);
	return f.line;
}

int
scan_message(const struct scan_opts *o)
{
	struct queue q;
	struct qmsg m = { 0 };
	struct chain c = { o, 0 };
	char err[QUEUE_ERR_MAX], *end, *record, head[QUEUE_HEAD_MAX], subject[QUEUE_TEXT_MAX * 2];
	unsigned long id = strtoul(o->id, &end, 10);
	size_t pos, n;
	enum rcpt_channel ch;
	const char *addr;
	int done, rc;
	FILE *f;

	if (*o->id < '0' || *o->id > '9' || *end != '\0') {
		fprintf(stderr, "qwrap scan: --id %s: a queue id is a number (#1065314 in"
		    " qmail-qread)\n", o->id);
		return EX_USAGE;
	}
	if (queue_open(&q, o->queue, o->conf->header_name, err) < 0) {
		fprintf(stderr, "qwrap scan: %s\n", err);
		return errno == EACCES ? EX_NOPERM : EX_NOINPUT;
	}
	rc = queue_get(&q, id, &m);
	queue_close(&q);
	if (rc == 0) {
		fprintf(stderr, "qwrap scan: no such message in the queue\n");
		qmsg_free(&m);
		return EX_NOINPUT;
	}
	if (m.unreadable)
		fprintf(stderr, "qwrap scan: %lu: cannot read all of its files: %s%s\n", m.id,
		    strerror(m.unreadable), m.unreadable == EACCES ? " (run as root)" : "");
	n = 0;
	if ((f = fopen(m.path, "re")) != NULL) {
		n = fread(head, 1, sizeof head, f);
		fclose(f);
	}
	record = m.qwrap ? find_record(o, m.qwrap_id) : NULL;
	if (o->json) {
		json_message(&m, time(NULL), 0);
		printf(",\"received\":[");
		queue_fields(head, n, print_received, &c);
		printf("],\"record\":%s}\n", record ? record : "null");
	} else {
		char when[32];

		utc(m.queued, when, sizeof when);
		queue_decode_2047(m.subject, subject, sizeof subject);
		printf("message %lu: %s\nqueued %s, %lld bytes, %s\nenvelope sender: ", m.id,
		    m.path, when, (long long)m.size, m.preprocessed ? "preprocessed" :
		    "not yet preprocessed");
		if (!m.has_envelope) {
			printf("(no envelope)");
		} else if (m.sender[0] == '\0') {
			printf("<> (a bounce)");
		} else {
			printf("<");
			report_field(m.sender, -1, 0, 0);
			printf(">");
		}
		printf("\nrecipients: %ld local, %ld remote, %ld not yet split, %ld done\n",
		    m.nrcpt[0], m.nrcpt[1], m.nrcpt[2], m.ndone);
		for (pos = 0; qmsg_rcpt(&m, &pos, &ch, &done, &addr);) {
			printf("  %-7s %s", ch == RCPT_LOCAL ? "local" : ch == RCPT_REMOTE ? "remote" :
			    "pending", done ? "done  " : "");
			report_field(addr, 0, 1, 0);
		}
		printf("entered: ");
		if (strcmp(m.invoked, "by uid") == 0)
			printf("invoked by uid %ld (%s): a local program, PHP or CGI among them\n",
			    m.uid, report_user(m.uid)[0] ? report_user(m.uid) : "no user here");
		else if (strcmp(m.invoked, "from network") == 0)
			printf("from the network: qmail-smtpd, SMTP\n");
		else if (m.invoked[0])
			printf("invoked %s\n", m.invoked);
		else
			printf("unknown: no qmail-queue Received line\n");
		if (m.smtp) {
			/* Only qmail-smtpd writes the line below qmail-queue's for network mail. */
			printf("SMTP client%s: ", strcmp(m.invoked, "from network") == 0 ? "" :
			    ", as the next Received line says (its sender could have written it)");
			report_field(m.smtp_host, -1, 0, 0);
			printf(", HELO ");
			report_field(m.smtp_helo[0] ? m.smtp_helo : m.smtp_host, -1, 0, 0);
			printf(", IP ");
			report_field(m.smtp_ip, -1, 0, 0);
			if (m.smtp_info[0]) {
				printf(", ident ");
				report_field(m.smtp_info, -1, 0, 0);
			}
			printf("\n");
		}
		printf("Received lines, newest first (the first is qmail-queue's: where it"
		    " entered this server):\n");
		queue_fields(head, n, print_received, &c);
		if (m.qwrap) {
			printf("qwrap header: id ");
			report_field(m.qwrap_id, -1, 0, 0);
			printf(", uid %ld, cwd ", m.qwrap_uid);
			report_field(m.qwrap_cwd, -1, 0, 0);
			printf(", script ");
			report_field(m.qwrap_script, 0, 1, 0);
		} else {
			printf("qwrap header: none\n");
		}
		if (m.qwrap) {
			printf("capture log record: ");
			report_field(record ? record : "not found (or the log is not readable: run as"
			    " root): a header the wrapper did not write?", 0, 1, 0);
		}
		printf("Subject: ");
		report_field(subject, 0, 1, 0);
		printf("From: ");
		report_field(m.from, 0, 1, 0);
		printf("Message-ID: ");
		report_field(m.message_id, 0, 1, 0);
	}
	free(record);
	qmsg_free(&m);
	return 0;
}

/*
 * The program and the message of a syslog line, "Nov 26 18:40:17 HOST
 * PROG[PID]: MESSAGE" or, from rsyslog's precise format, "2026-11-26T18:40:17
 * .123+00:00 HOST PROG[PID]: MESSAGE".  0, or -1 when it is not one.  What
 * matters is that MESSAGE is the program's: text it quotes cannot pass for it.
 */
static int
syslog_parts(char *line, char **prog, size_t *proglen, char **msg)
{
	char *p = line, *colon;
	int skip = isdigit((unsigned char)line[0]) ? 2 : 4;	/* time words, then the host */

	for (int i = 0; i < skip; i++) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	if ((colon = strstr(p, ": ")) == NULL || memchr(p, ' ', (size_t)(colon - p)) != NULL)
		return -1;
	*prog = p;
	*proglen = strcspn(p, "[:");
	*msg = colon + 2;
	return 0;
}

static int
prefix(const char *s, const char *pre)
{
	return strncmp(s, pre, strlen(pre)) == 0;
}

/*
 * The SMTP-auth user of a maillog line, or NULL.  Two formats: Plesk's qmail,
 * whose smtp_auth logs each login (its KB's recipe greps for it):
 *   Nov 26 18:40:17 web01 smtp_auth: smtp_auth: SMTP user info@shop.example : logged in from mail.example.net [203.0.113.5]
 * and vpopmail's vchkpw, the checkpassword of qmail-smtpd's AUTH patches
 * (qmailtoaster and others), for SMTP only (not its POP3 or IMAP logins):
 *   Nov 26 18:40:17 web01 vchkpw-submission: (LOGIN) login success info@shop.example:203.0.113.5
 */
static const char *
auth_user(char *line)
{
	char *prog, *msg, *e;
	size_t n;

	if (syslog_parts(line, &prog, &n, &msg) < 0)
		return NULL;
	if (n == 9 && strncmp(prog, "smtp_auth", 9) == 0) {
		if (prefix(msg, "smtp_auth: "))
			msg += 11;
		if (!prefix(msg, "SMTP user "))
			return NULL;
		msg += 10;
		e = msg + strcspn(msg, " ");
		if (!prefix(e, " : logged in") && !prefix(e, ": logged in"))
			return NULL;
	} else if ((n == 11 && strncmp(prog, "vchkpw-smtp", 11) == 0) ||
	    (n == 12 && strncmp(prog, "vchkpw-smtps", 12) == 0) ||
	    (n == 17 && strncmp(prog, "vchkpw-submission", 17) == 0)) {
		if (msg[0] == '(' && (e = strchr(msg, ')')) != NULL && e[1] == ' ')
			msg = e + 2;	/* the mechanism: (LOGIN), (PLAIN), (CRAM-MD5) */
		if (!prefix(msg, "login success "))
			return NULL;
		msg += 14;
		/* user@domain:IP; the address has no colon, the IP may have several. */
		e = msg + strcspn(msg, ": \t\r\n");
		if (*e != ':')
			return NULL;
	} else {
		return NULL;
	}
	if (e == msg)
		return NULL;
	*e = '\0';
	return msg;
}

int
scan_maillog(const struct scan_opts *o)
{
	struct tally users = { 0 };
	struct scan sc = { 0 };
	char *line = NULL;
	size_t cap = 0;
	long lines = 0, logins = 0;
	FILE *f = strcmp(o->maillog, "-") == 0 ? stdin : fopen(o->maillog, "re");

	if (f == NULL) {
		fprintf(stderr, "qwrap scan: cannot read %s: %s%s\n", o->maillog, strerror(errno),
		    errno == EACCES ? " (run as root)" : "");
		return EX_NOINPUT;
	}
	while (getline(&line, &cap, f) != -1) {
		const char *user = auth_user(line);

		lines++;
		if (user != NULL) {
			count(&sc, &users, user, 1, 0);
			logins++;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (o->json)
		printf("{\"type\":\"maillog\",\"lines\":%ld,\"logins\":%ld", lines, logins);
	else if (o->tty)
		printf("%ld lines, %ld SMTP-auth logins\n", lines, logins);
	table(o, &users, "auth_users", "SMTP-auth users by logins (MESSAGES: logins)", "USER", 0);
	if (o->json)
		printf("}\n");
	tally_free(&users);
	return sc.nomem ? EX_OSERR : 0;
}
