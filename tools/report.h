/*
 * report.h: qwrap grep, top and tail: the capture log answers "who is sending".
 */
#ifndef QWRAP_REPORT_H
#define QWRAP_REPORT_H

#include <limits.h>

#include "filter.h"

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
};

/* Exit statuses: 0, or a sysexits code after saying why on stderr. */
int report_grep(struct report *rp);
int report_top(struct report *rp);
int report_tail(struct report *rp);

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
 * WIDTH characters.
 */
void report_field(const char *s, int width, int last, int tty);

/* S with what a terminal must not get as '?', into OUT (CAP bytes); returns its characters. */
int report_clean(const char *s, char *out, size_t cap);

#endif
