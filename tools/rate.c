/*
 * rate.c: see rate.h.  Counts stream into fixed memory per key: top's marks
 * into SPARK_MARKS counts a row, rate's into one tally cell per interval and
 * key that had a message.
 */
#include "rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define RATE_UNIT 60000LL		/* ms: what rate keeps when it chooses the step itself */
#define RATE_LINES 60			/* at most, for a step it chooses */
#define RATE_INTERVALS 1000000	/* at most, for any step: a mistyped one is not a flood */

/* "▁" to "█": a mark's height in eighths; UTF-8, 3 bytes each. */
static const char *const blocks[] = { "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
	"\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88" };
/* "▏" to "▉": the last, partial, eighths of a bar. */
static const char *const eighths[] = { "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
	"\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89" };

/* MS as "2026-11-26T09:05:00Z", or without the seconds when SECONDS is 0. */
static const char *
iso(long long ms, int seconds, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	/* Four digits of year, as the log's own times (strftime's %Y does not pad). */
	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "?");
	else if (seconds)
		snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, 32, "%04d-%02d-%02dT%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min);
	return out;
}

/* MS as "2m8s", "1h", "250ms". */
static const char *
duration(long long ms, char out[48])
{
	static const struct { long long ms; const char *unit; } units[] = {
		{ 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ms >= units[i].ms) {
			o += (size_t)snprintf(out + o, 48 - o, "%lld%s", ms / units[i].ms,
			    units[i].unit);
			ms %= units[i].ms;
		}
	return out;
}

void
spark_init(struct spark *s, long long since, long long until)
{
	memset(s, 0, sizeof *s);
	s->since = since;
	s->until = until;
	if (since >= 0) {
		s->origin = since;
		s->width = until > since ? (until - since + SPARK_MARKS - 1) / SPARK_MARKS : 1;
		/* Whole seconds, when a mark is that long: "a mark per 1m53s". */
		if (s->width > 1000)
			s->width = (s->width + 999) / 1000 * 1000;
		s->started = 1;
	}
}

/*
 * The window grown to hold TS: WIDTH doubled P times and ORIGIN moved back
 * by M marks, so old mark I is all in new mark (M + I) >> P.  Moving back,
 * the newest record is put at the right end: the room is left where records
 * came from.
 */
static void
grow(struct spark *s, struct tally *t, long long ts)
{
	long long lo = s->placed ? MIN(s->min, ts) : ts, hi = s->placed ? MAX(s->max, ts) : ts;
	long long need, m, w2;
	int p;

	for (p = 0;; p++) {
		w2 = s->width << p;
		need = lo < s->origin ? (s->origin - lo + s->width - 1) / s->width : 0;
		if (s->origin - need * s->width + SPARK_MARKS * w2 > hi)
			break;
	}
	m = lo < s->origin ? (s->origin + SPARK_MARKS * w2 - hi + s->width - 1) / s->width - 1 : 0;
	for (size_t r = 0; r < t->cap; r++) {
		unsigned moved[SPARK_MARKS] = { 0 }, *marks = t->rows[r].marks;

		if (t->rows[r].key == NULL || marks == NULL)
			continue;
		for (long long i = 0; i < SPARK_MARKS; i++)
			if (marks[i] > 0 && ((m + i) >> p) < SPARK_MARKS)
				moved[(m + i) >> p] += marks[i];
		memcpy(marks, moved, sizeof moved);
	}
	s->origin -= m * s->width;
	s->width = w2;
}

int
spark_add(struct spark *s, struct tally *t, struct tally_row *row, long long ts)
{
	if (!s->started) {
		s->origin = ts - ts % 1000;
		s->width = 1000;
		s->started = 1;
	}
	if (ts < s->origin || ts >= s->origin + SPARK_MARKS * s->width)
		grow(s, t, ts);
	if (row->marks == NULL && (row->marks = calloc(SPARK_MARKS, sizeof *row->marks)) == NULL)
		return -1;
	row->marks[(ts - s->origin) / s->width]++;
	s->min = s->placed ? MIN(s->min, ts) : ts;
	s->max = s->placed ? MAX(s->max, ts) : ts;
	s->placed = 1;
	return 0;
}

/* The marks shown: from --since to its end, else from the first record to the last. */
static void
shown(const struct spark *s, int *first, int *last)
{
	long long lo = s->since >= 0 ? s->since : s->min;
	long long hi = s->since >= 0 ? MAX(s->until - 1, s->max) : s->max;

	*first = (int)MAX(0, MIN(SPARK_MARKS - 1, (lo - s->origin) / s->width));
	*last = (int)MAX(*first, MIN(SPARK_MARKS - 1, (hi - s->origin) / s->width));
}

int
spark_heading(const struct spark *s)
{
	char from[32], to[32], step[48];
	int first, last;

	shown(s, &first, &last);
	printf("SENDS: %s to %s, a mark per %s\n", iso(s->origin + first * s->width, 1, from),
	    iso(s->origin + (last + 1) * s->width, 1, to), duration(s->width, step));
	return MAX(last - first + 1, 5);
}

void
spark_print(const struct spark *s, const struct tally_row *row)
{
	unsigned most = 0;
	int first, last, i;

	shown(s, &first, &last);
	for (i = first; i <= last && row->marks != NULL; i++)
		most = MAX(most, row->marks[i]);
	for (i = first; i <= last; i++) {
		unsigned n = row->marks != NULL ? row->marks[i] : 0;

		/* None is a blank: the gap shows; one message is never lost in the rounding. */
		fputs(n == 0 ? " " : blocks[(n * 8 - 1) / most], stdout);
	}
	for (i = last - first + 1; i < 5; i++)
		putchar(' ');
}

/* ---- qwrap rate ---- */

/*
 * The step when none is given: the smallest of these that shows LO to HI in
 * RATE_LINES, else as many weeks as that takes (a log that spans years).
 */
static long long
auto_step(long long lo, long long hi)
{
	static const long long steps[] = { 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
		43200, 86400, 604800 };
	const long long week = 604800 * 1000LL;

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (report_floordiv(hi, steps[i] * 1000) - report_floordiv(lo, steps[i] * 1000) <
		    RATE_LINES)
			return steps[i] * 1000;
	return week * ((report_floordiv(hi, week) - report_floordiv(lo, week)) / RATE_LINES + 1);
}

struct series {
	const char *key;
	long messages, recipients;	/* in all */
	long *m, *r;			/* per interval */
};

/*
 * The NS series' counts per interval of STEP from FIRST, N of them, from
 * C's cells of C->unit: one pass over the cells that hold a message, not
 * over the span (which one record dated 1971 makes decades of minutes).
 */
static int
series_fill(const struct report_count *c, struct series *sr, size_t ns, long long first,
    long long n, long long step)
{
	struct tally idx = { 0 };
	long long per = step / c->unit;
	int rc = -1;

	for (size_t k = 0; k < ns; k++) {
		struct tally_row *row;

		if ((sr[k].m = calloc((size_t)n, sizeof *sr[k].m)) == NULL ||
		    (sr[k].r = calloc((size_t)n, sizeof *sr[k].r)) == NULL ||
		    (row = tally_row(&idx, sr[k].key)) == NULL)
			goto out;
		row->mark = (long)k;
	}
	for (size_t i = 0; i < c->per.cap; i++) {
		const struct tally_row *cell = &c->per.rows[i], *s;
		long long u, at;
		char *end;

		if (cell->key == NULL)
			continue;
		u = strtoll(cell->key, &end, 10);
		if (*end != '\x1f' || (s = tally_find(&idx, end + 1)) == NULL)
			continue;
		if ((at = report_floordiv(u, per) - first) >= 0 && at < n) {
			sr[s->mark].m[at] += cell->messages;
			sr[s->mark].r[at] += cell->recipients;
		}
	}
	rc = 0;
out:
	tally_free(&idx);
	return rc;
}

/* A bar of N of MOST, in eighths of WIDTH columns; a message is never a bar of none. */
static void
bar(long n, long most, int width)
{
	long e = most > 0 ? n * width * 8 / most : 0;

	if (n > 0 && e == 0)
		e = 1;
	for (long i = 0; i < e / 8; i++)
		fputs(blocks[7], stdout);
	fputs(eighths[e % 8], stdout);
}

static void
print_json(const struct report *rp, struct series *sr, size_t ns, long long first, long long n,
    long long step)
{
	char when[32];

	for (long long i = 0; i < n; i++)
		for (size_t k = 0; k < ns; k++) {
			printf("{\"start\":\"%s\"", iso((first + i) * step, 1, when));
			if (rp->by != NULL) {
				printf(",\"key\":");
				report_json_string(sr[k].key);
			}
			printf(",\"messages\":%ld,\"recipients\":%ld}\n", sr[k].m[i], sr[k].r[i]);
		}
}

static void
print_tsv(const struct report *rp, struct series *sr, size_t ns, long long first, long long n,
    long long step)
{
	char when[32];

	for (long long i = 0; i < n; i++)
		for (size_t k = 0; k < ns; k++) {
			printf("%s\t%ld\t%ld", iso((first + i) * step, 1, when), sr[k].m[i], sr[k].r[i]);
			if (rp->by != NULL) {
				putchar('\t');
				report_field(sr[k].key, 0, 1, 0);
			} else {
				putchar('\n');
			}
		}
}

/*
 * On a terminal: a line per interval with a bar of its messages, all bars
 * to one scale; with --by, a group of lines per key under its name.
 */
static void
print_chart(const struct report *rp, struct series *sr, size_t ns, long long first,
    long long n, long long step)
{
	int seconds = step % 60000 != 0, label = seconds ? 20 : 17;
	int width = MAX(report_columns() - (label + 2 + 8 + 2 + 10 + 2), 10);
	char when[32], every[48];
	long most = 0;

	for (size_t k = 0; k < ns; k++)
		for (long long i = 0; i < n; i++)
			most = MAX(most, sr[k].m[i]);
	for (size_t k = 0; k < ns; k++) {
		if (rp->by != NULL) {
			printf("%s%s ", k > 0 ? "\n" : "", rp->by);
			report_field(sr[k].key, MAX(report_columns() - (int)strlen(rp->by) - 1, 12),
			    1, 1);
		}
		printf("%-*s  %8s  %10s\n", label, "START (UTC)", "MESSAGES", "RECIPIENTS");
		for (long long i = 0; i < n; i++) {
			printf("%-*s  %8ld  %10ld  ", label, iso((first + i) * step, seconds, when),
			    sr[k].m[i], sr[k].r[i]);
			bar(sr[k].m[i], most, width);
			putchar('\n');
		}
	}
	printf("%lld intervals of %s\n", n, duration(step, every));
}

int
report_rate(struct report *rp)
{
	struct report_count c = { .unit = rp->step_ms > 0 ? rp->step_ms : RATE_UNIT };
	int has_since = rp->filter.has_since, status;
	long long lo, hi, step, first, n;
	struct series *sr = NULL;
	size_t ns = 0;

	if ((status = report_count(rp, &c)) == EX_OSERR)
		goto done;
	/* From --since to its end, empty or not; else from the first message to the last. */
	if (!has_since && !c.any)
		goto done;
	lo = has_since ? rp->filter.since : c.min;
	hi = has_since ? (rp->filter.has_until ? rp->filter.until : rp->now_ms) - 1 : c.max;
	if (c.any)
		hi = MAX(hi, c.max);
	hi = MAX(hi, lo);
	step = rp->step_ms > 0 ? rp->step_ms : auto_step(lo, hi);
	first = report_floordiv(lo, step);
	n = report_floordiv(hi, step) - first + 1;
	if (n > RATE_INTERVALS) {
		char every[48];

		fprintf(stderr, "qwrap rate: --step %s: %lld intervals, more than %d: a larger step"
		    " or a shorter --since\n", duration(step, every), n, RATE_INTERVALS);
		status = EX_USAGE;
		goto done;
	}
	tally_sort(&c.t);
	ns = rp->by == NULL ? 1 : rp->rows > 0 && (size_t)rp->rows < c.t.n ? (size_t)rp->rows :
	    c.t.n;
	if ((sr = calloc(ns > 0 ? ns : 1, sizeof *sr)) == NULL)
		goto nomem;
	/* Without --by every message is under "-", whether any was counted or not. */
	for (size_t k = 0; k < ns; k++)
		sr[k].key = rp->by == NULL ? "-" : c.t.rows[k].key;
	if (series_fill(&c, sr, ns, first, n, step) < 0)
		goto nomem;
	if (rp->json)
		print_json(rp, sr, ns, first, n, step);
	else if (!rp->tty)
		print_tsv(rp, sr, ns, first, n, step);
	else if (ns > 0)
		print_chart(rp, sr, ns, first, n, step);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("qwrap: standard output");
		status = EX_IOERR;
	}
	goto done;
nomem:
	fprintf(stderr, "qwrap: out of memory\n");
	status = EX_OSERR;
done:
	for (size_t k = 0; sr != NULL && k < ns; k++) {
		free(sr[k].m);
		free(sr[k].r);
	}
	free(sr);
	report_count_free(&c);
	return status;
}
