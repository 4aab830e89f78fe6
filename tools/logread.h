/*
 * logread.h: the records of capture logs, plain or gzip'd, one after the
 * other.  A line that is not a record (torn by a crash, cut, edited, not
 * JSON) is counted and skipped, and reading goes on at the next record.
 */
#ifndef QWRAP_LOGREAD_H
#define QWRAP_LOGREAD_H

#include <stddef.h>
#include <zlib.h>

#include "jsonread.h"

#define LOG_LINE_MAX 65536	/* a record is at most 4096 bytes; longer is not one */
#define LOG_VALUE_MAX LOG_LINE_MAX	/* so any decoded value of a line fits */
#define LOG_ERR_MAX  (4096 + 256)

struct logrec {
	const char *line;	/* the record's text, without the newline */
	size_t len;
	struct jr_object o;
	long long ts_ms;	/* "ts", milliseconds since the epoch, UTC */
};

struct logfile {
	const char *name;
	gzFile gz;
	char *buf;		/* LOG_LINE_MAX * 2 */
	size_t start, end;	/* the unread bytes */
	int fd;			/* the file under gz, for tail's checks */
	int eof;
	int follow;		/* at the end, a line without its newline is still being written */
	long lineno;
	long invalid;		/* lines skipped */
	long first_invalid;	/* the line number of the first */
};

/* Opens PATH ("-" is standard input) for reading; -1 with ERR set. */
int log_open(struct logfile *f, const char *path, char err[LOG_ERR_MAX]);

/* The next record: 1 with R set (valid until the next call), 0 at the end, -1 on error. */
int log_next(struct logfile *f, struct logrec *r, char err[LOG_ERR_MAX]);

/* After the end: look again for what was appended since. */
void log_more(struct logfile *f);

void log_close(struct logfile *f);

/* Checks a line as a record: a JSON object with "v": 1, a "ts" and an "id". */
int log_parse(const char *line, size_t len, struct logrec *r);

/* RFC 3339 ("2026-11-26T23:27:01.185Z", "+02:00", "2026-11-26 23:27", "2026-11-26") to ms; -1. */
int log_parse_time(const char *s, size_t n, long long *ms);

/*
 * The files to read for PATH: with ROTATED its rotations oldest first
 * (PATH.N.gz or PATH.N, ..., PATH.1), then PATH; or, with NEWEST_FIRST, the
 * other way round.  Calls FN for each name until it returns non-zero.
 */
int log_rotations(const char *path, int rotated, int newest_first,
    int (*fn)(const char *, void *), void *arg);

/*
 * The string member KEY of R decoded into BUF (see jr_string): "" when
 * absent or not a string.  The paths "cwd" and "script" come tidied
 * (path_clean), whichever wrapper wrote them.
 */
const char *rec_str(const struct logrec *r, const char *key, char *buf, size_t cap);

/* The integer member KEY of R, or DFLT. */
long rec_long(const struct logrec *r, const char *key, long dflt);

#endif
