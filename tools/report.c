/*
 * report.c: see report.h.  Records stream through: grep prints each as it
 * passes, top keeps one row per key.
 */
#include "report.h"

#include <ctype.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "json.h"
#include "rate.h"
#include "tally.h"
#include "vhost.h"

#define VAL_MAX LOG_VALUE_MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ELLIPSIS "\xe2\x80\xa6"	/* U+2026, one column */

/* What top counts unless --action says otherwise: attempts to send, not their aftermath. */
#define SENDING_ACTIONS "deliver,hold,reject"

static const char *const keys[] = { "uid", "user", "cwd", "script", "vhost", "from",
	"rcpt-domain", "host", "origin", NULL };

int
report_key_known(const char *by)
{
	for (int i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], by) == 0)
			return 1;
	return 0;
}

const char *
report_user(long uid)
{
	/* Direct-mapped: a server's site users are a few thousand consecutive uids. */
	static struct { long uid; char name[64]; } cache[4096];
	static char used[4096];
	int i = (int)((unsigned long)uid % 4096);

	if (!used[i] || cache[i].uid != uid) {
		struct passwd *pw = uid >= 0 ? getpwuid((uid_t)uid) : NULL;

		cache[i].uid = uid;
		if (pw != NULL && strlen(pw->pw_name) < sizeof cache[i].name)
			snprintf(cache[i].name, sizeof cache[i].name, "%s", pw->pw_name);
		else
			cache[i].name[0] = '\0';
		used[i] = 1;
	}
	return cache[i].name;
}

/* The site of a record: its script's, else its cwd's. */
static const char *
record_vhost(const struct report *rp, const struct logrec *r, char *out, size_t cap)
{
	char path[VAL_MAX];

	if (vhost_of(rp->vhosts_root, rec_str(r, "script", path, sizeof path), out, cap) == 0 ||
	    vhost_of(rp->vhosts_root, rec_str(r, "cwd", path, sizeof path), out, cap) == 0)
		return out;
	return "";
}

/* "Name <addr@x>" or "addr@x" to "addr@x", lower case, in place. */
static char *
address(char *s)
{
	char *lt = strrchr(s, '<'), *gt;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		*gt = '\0';
		s = lt + 1;
	}
	s += strspn(s, " \t");
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
		s[n - 1] = '\0';
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/*
 * S for a person into OUT (CAP bytes, at least 1), each character a terminal
 * must not get (json_char_unsafe: a byte that is not UTF-8, C0, DEL, C1, the
 * bidirectional controls, the line separators) as '?', so that what a sender wrote cannot rewrite
 * the screen or split a line.  Returns the characters written.
 */
int
report_clean(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	int n = 0;

	while (*p) {
		/* 4: a NUL ends the string before any lead byte could be read past it. */
		size_t k = json_utf8_len(p, 4);
		int bad = json_char_unsafe(p, k);

		k = k ? k : 1;
		if (o + (bad ? 1 : k) >= cap)
			break;
		if (bad)
			out[o++] = '?';
		else
			memcpy(out + o, p, k), o += k;
		p += k;
		n++;	/* columns: characters, not bytes */
	}
	out[o] = '\0';
	return n;
}

/* The first byte after N characters of S, which report_clean made UTF-8. */
static const char *
skip_chars(const char *s, int n)
{
	for (; n > 0 && *s; n--)
		for (s++; ((unsigned char)*s & 0xc0) == 0x80; s++)
			;
	return s;
}

int
report_fit(const char *s, int width, char *out, size_t cap)
{
	static char clean[65536];
	int n = report_clean(s[0] ? s : "-", clean, sizeof clean);

	/* Cut from the left: the end of a path, the script's name, is what tells rows apart. */
	if (width > 0 && n > width) {
		snprintf(out, cap, ELLIPSIS "%s", skip_chars(clean, n - (width - 1)));
		return width;
	}
	snprintf(out, cap, "%s", clean);
	return n;
}

/* Prints S through report_clean; on a terminal, cut and padded to WIDTH. */
void
report_field(const char *s, int width, int last, int tty)
{
	static char clean[65536 + 4];
	int n = report_fit(s, tty ? width : 0, clean, sizeof clean);

	fputs(clean, stdout);
	if (last)
		putchar('\n');
	else if (width < 0)
		return;
	else if (!tty)
		putchar('\t');
	else
		for (printf("  "); n < width; n++)
			putchar(' ');
}

int
report_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long n;

	if (env != NULL && (n = strtol(env, NULL, 10)) > 0 && n < 10000)
		return (int)n;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

void
report_print(struct report *rp, const struct logrec *r)
{
	char buf[VAL_MAX], user[96], site[256];
	long uid = rec_long(r, "uid", -1);

	if (rp->json) {
		fwrite(r->line, 1, r->len, stdout);
		putchar('\n');
		return;
	}
	if (report_user(uid)[0])
		snprintf(user, sizeof user, "%s(%ld)", report_user(uid), uid);
	else
		snprintf(user, sizeof user, "%ld(%ld)", uid, uid);
	report_field(rec_str(r, "ts", buf, sizeof buf), 24, 0, rp->tty);
	report_field(rec_str(r, "id", buf, sizeof buf), 31, 0, rp->tty);
	report_field(rec_str(r, "action", buf, sizeof buf), 7, 0, rp->tty);
	report_field(uid < 0 ? "" : user, 16, 0, rp->tty);
	report_field(record_vhost(rp, r, site, sizeof site), 20, 0, rp->tty);
	report_field(rec_str(r, "script", buf, sizeof buf), 40, 0, rp->tty);
	snprintf(site, sizeof site, "%ld", rec_long(r, "rcpt_count", 0));
	report_field(site, 4, 0, rp->tty);
	report_field(rec_str(r, "subject", buf, sizeof buf), 0, 1, rp->tty);
}

void
report_skipped(const struct logfile *f)
{
	if (f->invalid > 0)
		fprintf(stderr, "qwrap: %s: %ld line%s skipped, not a whole record (the first:"
		    " line %ld)\n", f->name, f->invalid, f->invalid == 1 ? "" : "s", f->first_invalid);
}

/* Each record of every file that passes the filters goes to FN. */
struct walk {
	struct report *rp;
	void (*fn)(struct report *, const struct logrec *, void *);
	void *arg;
	int status;
};

#define PROGRESS_EVERY 100000	/* records between two progress lines */

/* How far reading F has come, on one line of the terminal (stderr). */
static void
progress(const struct logfile *f)
{
	struct stat st;
	off_t at = lseek(f->fd, 0, SEEK_CUR);
	char name[40];

	report_clean(strrchr(f->name, '/') != NULL ? strrchr(f->name, '/') + 1 : f->name, name,
	    sizeof name);
	if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0)
		fprintf(stderr, "\rqwrap: %s: %ld records, %lld of %lld MiB", name, f->lineno,
		    (long long)(at >> 20), (long long)(st.st_size >> 20));
	else
		fprintf(stderr, "\rqwrap: %s: %ld records", name, f->lineno);
}

static int
walk_file(const char *path, void *arg)
{
	struct walk *w = arg;
	struct logfile f;
	struct logrec r;
	char err[LOG_ERR_MAX];
	int rc;

	if (log_open(&f, path, err) < 0) {
		fprintf(stderr, "qwrap: %s\n", err);
		w->status = EX_NOINPUT;
		return 0;
	}
	while ((rc = log_next(&f, &r, err)) == 1) {
		if (filter_match(&w->rp->filter, &r))
			w->fn(w->rp, &r, w->arg);
		if (w->rp->progress && f.lineno % PROGRESS_EVERY == 0)
			progress(&f);
	}
	if (w->rp->progress && f.lineno >= PROGRESS_EVERY)
		fprintf(stderr, "\r%78s\r", "");
	if (rc < 0) {
		fprintf(stderr, "qwrap: %s\n", err);
		w->status = EX_IOERR;
	}
	report_skipped(&f);
	log_close(&f);
	return 0;
}

static int
walk(struct report *rp, void (*fn)(struct report *, const struct logrec *, void *), void *arg)
{
	struct walk w = { rp, fn, arg, 0 };

	if (rp->nfiles == 0)
		log_rotations(rp->log_file, rp->rotated, 0, walk_file, &w);
	for (int i = 0; i < rp->nfiles; i++)
		log_rotations(rp->files[i], rp->rotated && strcmp(rp->files[i], "-") != 0, 0,
		    walk_file, &w);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("qwrap: standard output");
		return EX_IOERR;
	}
	return w.status;
}

static void
grep_one(struct report *rp, const struct logrec *r, void *arg)
{
	(void)arg;
	report_print(rp, r);
}

int
report_grep(struct report *rp)
{
	report_heading(rp);
	return walk(rp, grep_one, NULL);
}

void
report_heading(const struct report *rp)
{
	if (rp->tty && !rp->json)
		printf("%-24s  %-31s  %-7s  %-16s  %-20s  %-40s  %-4s  %s\n", "TIME (UTC)", "ID",
		    "ACTION", "USER(UID)", "VHOST", "SCRIPT", "RCPT", "SUBJECT");
}

/*
 * One message at R's time under KEY, with RECIPIENTS of its recipients:
 * counted once per record and key however many of its recipients are
 * there (C->records marks the rows it was counted in).
 */
static void
count(struct report_count *c, const struct logrec *r, const char *key, long recipients)
{
	static char cell[VAL_MAX + 32];
	struct tally_row *row = tally_add(&c->t, key, 0, recipients);
	int first;

	if (row == NULL) {
		c->nomem = 1;
		return;
	}
	first = row->mark != c->records;
	row->mark = c->records;
	row->messages += first;
	if (!c->any || r->ts_ms < c->min)
		c->min = r->ts_ms;
	if (!c->any || r->ts_ms > c->max)
		c->max = r->ts_ms;
	c->any = 1;
	if (c->spark != NULL && first && spark_add(c->spark, &c->t, row, r->ts_ms) < 0)
		c->nomem = 1;
	if (c->unit > 0) {
		snprintf(cell, sizeof cell, "%lld\x1f%s", report_floordiv(r->ts_ms, c->unit), row->key);
		if (tally_add(&c->per, cell, first, recipients) == NULL)
			c->nomem = 1;
	}
}

/*
 * Each listed recipient's domain, with the message once per domain.  The
 * list may have been cut (rcpt_count says how many there were): these are
 * the recipients the record names.
 */
static void
count_domains(struct report_count *c, const struct logrec *r)
{
	const struct jr_member *m = jr_get(&r->o, "rcpt");
	const char *pos = NULL, *e;
	char buf[VAL_MAX];
	size_t elen;

	if (m == NULL)
		return;
	while (jr_next(m->val, m->vallen, &pos, &e, &elen) == 1 && !c->nomem) {
		char *a, *at;

		if (jr_string(e, elen, buf, sizeof buf) < 0)
			continue;
		a = address(buf);
		at = strrchr(a, '@');
		count(c, r, at != NULL ? at + 1 : "", 1);
	}
}

static void
count_one(struct report *rp, const struct logrec *r, void *arg)
{
	struct report_count *c = arg;
	char buf[VAL_MAX], *key = buf;

	if (!filter_action(&rp->filter, r, SENDING_ACTIONS))
		return;
	c->records++;
	if (rp->by == NULL) {
		buf[0] = '\0';		/* rate without --by: one series */
	} else if (strcmp(rp->by, "rcpt-domain") == 0) {
		count_domains(c, r);
		return;
	} else if (strcmp(rp->by, "uid") == 0 || strcmp(rp->by, "user") == 0) {
		long uid = rec_long(r, "uid", LONG_MIN);

		/* No uid: counted under "-", as grep shows it; two uids of one name are one row. */
		if (uid == LONG_MIN)
			buf[0] = '\0';
		else if (strcmp(rp->by, "user") == 0 && report_user(uid)[0])
			snprintf(buf, sizeof buf, "%s", report_user(uid));
		else
			snprintf(buf, sizeof buf, "%ld", uid);
	} else if (strcmp(rp->by, "vhost") == 0) {
		key = (char *)record_vhost(rp, r, buf, sizeof buf);
	} else if (strcmp(rp->by, "from") == 0) {
		/* The envelope sender when the caller gave one, else the From header. */
		if (rec_str(r, "sender", buf, sizeof buf)[0] == '\0')
			rec_str(r, "from", buf, sizeof buf);
		key = address(buf);
	} else {
		rec_str(r, rp->by, buf, sizeof buf);
	}
	count(c, r, key, rec_long(r, "rcpt_count", 0));
}

int
report_count(struct report *rp, struct report_count *c)
{
	int status = walk(rp, count_one, c);

	if (c->nomem)
		fprintf(stderr, "qwrap: out of memory: too many distinct keys\n");
	return c->nomem ? EX_OSERR : status;
}

void
report_count_free(struct report_count *c)
{
	tally_free(&c->t);
	tally_free(&c->per);
}

/* JSON string of S to stdout: the record encoder's escaping, so \xNN for bad bytes. */
void
report_json_string(const char *s)
{
	char buf[256];
	struct jbuf b;
	size_t n = strlen(s);

	putchar('"');
	/* In pieces of up to 40 bytes (240 escaped), never cut before a continuation byte. */
	while (n > 0) {
		size_t take = n > 40 ? 40 : n;

		while (take < n && take > 1 && ((unsigned char)s[take] & 0xc0) == 0x80)
			take--;
		jb_init(&b, buf, sizeof buf);
		jb_str(&b, s, take, sizeof buf);
		fwrite(b.p + 1, 1, b.len - 2, stdout);
		s += take;
		n -= take;
	}
	putchar('"');
}

static void
json_row(const char *key, long messages, long recipients)
{
	printf("{\"key\":");
	report_json_string(key);
	printf(",\"messages\":%ld,\"recipients\":%ld}\n", messages, recipients);
}

int
report_top(struct report *rp)
{
	struct report_count c = { 0 };
	struct spark sp;
	int status, marks = 0, used = 8 + 2 + 10 + 2;
	size_t shown;

	/* The sparkline only where a person looks: piped and --json stay what they were. */
	if (rp->tty && !rp->json) {
		spark_init(&sp, rp->filter.has_since ? rp->filter.since : -1,
		    rp->filter.has_until ? rp->filter.until : rp->now_ms);
		c.spark = &sp;
	}
	if ((status = report_count(rp, &c)) == EX_OSERR) {
		report_count_free(&c);
		return status;
	}
	tally_sort(&c.t);
	/* Every record under "-": no layout was found, which a row of dashes does not say. */
	if (strcmp(rp->by, "vhost") == 0 && c.t.n == 1 && strcmp(c.t.rows[0].key, "-") == 0)
		fprintf(stderr, "qwrap top: no script or cwd lies under %s%s/home (Plesk's"
		    " HTTPD_VHOSTS_D, cPanel's and DirectAdmin's layouts): give --vhosts-root DIR,"
		    " or vhosts_root in qwrap.conf\n", rp->vhosts_root[0] ? rp->vhosts_root : "",
		    rp->vhosts_root[0] ? " or " : "");
	shown = rp->rows > 0 && (size_t)rp->rows < c.t.n ? (size_t)rp->rows : c.t.n;
	if (c.spark != NULL && shown > 0) {
		marks = spark_heading(&sp);
		used += marks + 2;
		printf("%8s  %10s  %-*s  %s\n", "MESSAGES", "RECIPIENTS", marks, "SENDS", rp->by);
	}
	for (size_t i = 0; i < shown; i++) {
		struct tally_row *row = &c.t.rows[i];

		if (rp->json) {
			json_row(row->key, row->messages, row->recipients);
			continue;
		}
		printf(rp->tty ? "%8ld  %10ld  " : "%ld\t%ld\t", row->messages, row->recipients);
		if (c.spark != NULL) {
			spark_print(&sp, row);
			printf("  ");
		}
		/* A long key cut from the left to the terminal's width: no line wraps. */
		report_field(row->key, rp->tty ? MAX(report_columns() - used, 12) : 0, 1, rp->tty);
	}
	report_count_free(&c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("qwrap: standard output");
		return EX_IOERR;
	}
	return status;
}
