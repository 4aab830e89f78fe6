/*
 * report.h: qwrap grep, top and tail: the capture log answers "who is sending".
 */
#ifndef QWRAP_REPORT_H
#define QWRAP_REPORT_H

#include <limits.h>

#include "filter.h"
#include "tally.h"

struct report {
	struct filter filter;
	int json;		/* raw records, or JSON rows */
	int tty;		/* stdout is a terminal: aligned columns */
	int progress;		/* a progress line on stderr, a terminal, while reading */
	int rotated;		/* read each log's rotations first */
	char vhosts_root[PATH_MAX];
	const char *by;		/* top: uid, user, cwd, script, vhost, from, rcpt-domain, host */
	long rows;		/* top: how many; tail: how many before following */
	int follow;		/* tail -f */
	char **files;		/* the logs to read; none: the configured log */
	int nfiles;
	const char *log_file;
	long long now_ms;	/* when the command started: what --since 2h counts back from */
	long long step_ms;	/* rate --step; 0: chosen by the span */
};

/* Exit statuses: 0, or a sysexits code after saying why on stderr. */
int report_grep(struct report *rp);
int report_top(struct report *rp);
int report_tail(struct report *rp);

struct spark;

/* What top and rate count: messages and recipients per key, and over time. */
struct report_count {
	struct tally t;		/* per key ("-" for none) */
	struct tally per;	/* with UNIT: per interval and key, "N\x1fKEY" for ts / UNIT = N */
	long long unit;		/* ms; 0: no PER */
	struct spark *spark;	/* non-NULL: each row's marks too */
	long long min, max;	/* ms: the first and last message counted, when ANY */
	int any;
	long records;		/* counted so far: marks a row as counted for this one */
	int nomem;
};

/* Counts the messages of RP's logs that pass its filters into C: 0 or a sysexits code. */
int report_count(struct report *rp, struct report_count *c);
void report_count_free(struct report_count *c);

/* The keys qwrap top knows, for a message. */
#define REPORT_KEYS "uid,user,cwd,script,vhost,from,rcpt-domain,host,origin"

/* 1 when BY names a key qwrap top knows. */
int report_key_known(const char *by);

/* S as a JSON string to stdout, escaped as the wrapper's records are (\xNN for bad bytes). */
void report_json_string(const char *s);

/* The user name of UID on this host, looked up once; "" when it has none. */
const char *report_user(long uid);

/* Shared with tail.c: one record, as grep prints it; the lines F skipped, on stderr. */
void report_print(struct report *rp, const struct logrec *r);

/* The heading of grep's and tail's columns, on a terminal (RP->tty) and not --json. */
void report_heading(const struct report *rp);
void report_skipped(const struct logfile *f);

/*
 * Prints S ("-" when empty) for a person: control characters and
 * bidirectional overrides as '?'.  Then a newline when LAST, nothing when
 * WIDTH < 0, else a tab, or on a terminal (TTY) two spaces and padding to
 * WIDTH characters.  On a terminal, S longer than WIDTH (> 0, LAST or not)
 * is cut from the left to "…" and its last WIDTH - 1 characters.
 */
void report_field(const char *s, int width, int last, int tty);

/* S with what a terminal must not get as '?', into OUT (CAP bytes); returns its characters. */
int report_clean(const char *s, char *out, size_t cap);

/* S ("-" when empty) through report_clean, cut from the left to WIDTH (> 0) characters. */
int report_fit(const char *s, int width, char *out, size_t cap);

/* The terminal's width: $COLUMNS, else standard output's window, else 80. */
int report_columns(void);

/* A / B rounded down (B > 0): a time before 1970 falls in the interval before 0. */
static inline long long
report_floordiv(long long a, long long b)
{
	return a / b - (a % b < 0);
}

#endif
