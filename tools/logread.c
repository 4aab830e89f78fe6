/*
 * logread.c: see logread.h.  zlib reads plain files as they are, so one
 * reader serves the log and its compressed rotations.
 */
#include "logread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathclean.h"

#define BUF_SIZE (2 * LOG_LINE_MAX)

int
log_open(struct logfile *f, const char *path, char err[LOG_ERR_MAX])
{
	int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	memset(f, 0, sizeof *f);
	f->name = strcmp(path, "-") == 0 ? "(standard input)" : path;
	if (fd < 0) {
		snprintf(err, LOG_ERR_MAX, "cannot read %s: %s%s", f->name, strerror(errno),
		    errno == EACCES ? " (the capture log is for root only: run as root)" : "");
		return -1;
	}
	if ((f->buf = malloc(BUF_SIZE)) == NULL || (f->gz = gzdopen(fd, "rb")) == NULL) {
		snprintf(err, LOG_ERR_MAX, "cannot read %s: out of memory", f->name);
		free(f->buf);
		close(fd);
		return -1;
	}
	f->fd = fd;
	gzbuffer(f->gz, 256 * 1024);
	return 0;
}

void
log_close(struct logfile *f)
{
	if (f->gz != NULL)
		gzclose(f->gz);
	free(f->buf);
	f->gz = NULL;
	f->buf = NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

static long
days_in(long y, long m)
{
	static const long days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : days[m - 1];
}

/* N digits at *P into *V. */
static int
num(const char **p, const char *end, int n, long *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int
lit(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int
log_parse_time(const char *s, size_t n, long long *ms)
{
	const char *p = s, *end = s + n;
	long y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, oh = 0, om = 0;
	int sign = 0;

	if (num(&p, end, 4, &y) || lit(&p, end, '-') || num(&p, end, 2, &mo) ||
	    lit(&p, end, '-') || num(&p, end, 2, &d))
		return -1;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (num(&p, end, 2, &h) || lit(&p, end, ':') || num(&p, end, 2, &mi))
			return -1;
		if (p < end && *p == ':') {
			p++;
			if (num(&p, end, 2, &sec))
				return -1;
			if (p < end && *p == '.') {
				int k = 0;

				for (p++; p < end && *p >= '0' && *p <= '9'; p++, k++)
					if (k < 3)
						frac = frac * 10 + (*p - '0');
				if (k == 0)
					return -1;
				for (; k < 3; k++)
					frac *= 10;
			}
		}
		if (p < end && (*p == 'Z' || *p == 'z')) {
			p++;
		} else if (p < end && (*p == '+' || *p == '-')) {
			sign = *p++ == '-' ? -1 : 1;
			if (num(&p, end, 2, &oh) || (p < end && *p == ':' && (p++, 0)) ||
			    num(&p, end, 2, &om))
				return -1;
		}
	}
	if (p != end || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*ms -= (long long)sign * (oh * 3600 + om * 60);
	*ms = *ms * 1000 + frac;
	return 0;
}

int
log_parse(const char *line, size_t len, struct logrec *r)
{
	const struct jr_member *v, *ts, *id;
	long version;

	if (jr_parse(line, len, &r->o) < 0)
		return -1;
	v = jr_get(&r->o, "v");
	ts = jr_get(&r->o, "ts");
	id = jr_get(&r->o, "id");
	if (v == NULL || jr_long(v->val, v->vallen, &version) < 0 || version != 1 ||
	    ts == NULL || ts->vallen < 2 || ts->val[0] != '"' ||
	    log_parse_time(ts->val + 1, ts->vallen - 2, &r->ts_ms) < 0 ||
	    id == NULL || id->val[0] != '"')
		return -1;
	r->line = line;
	r->len = len;
	return 0;
}

/*
 * A line that is no record may still end in one: a record cut short by a
 * crash is followed, on the same line, by the next one written.  Every
 * record starts {"v":, which no string inside one can contain unescaped.
 */
static int
parse_or_resync(const char *line, size_t len, struct logrec *r)
{
	const char *p = line, *end = line + len;

	if (log_parse(line, len, r) == 0)
		return 0;
	while ((p = memmem(p + 1, (size_t)(end - p - 1), "{\"v\":", 5)) != NULL)
		if (log_parse(p, (size_t)(end - p), r) == 0)
			return 1;
	return -1;
}

static void
skipped(struct logfile *f)
{
	if (f->invalid++ == 0)
		f->first_invalid = f->lineno;
}

/* Reads more into the buffer; -1 on a read error. */
static int
fill(struct logfile *f, char err[LOG_ERR_MAX])
{
	int n, zerr;

	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->end - f->start);
		f->end -= f->start;
		f->start = 0;
	}
	n = gzread(f->gz, f->buf + f->end, (unsigned)(BUF_SIZE - f->end));
	if (n < 0) {
		const char *msg = gzerror(f->gz, &zerr);

		snprintf(err, LOG_ERR_MAX, "cannot read %s: %s", f->name,
		    zerr == Z_ERRNO ? strerror(errno) : msg);
		return -1;
	}
	if (n == 0)
		f->eof = 1;
	f->end += (size_t)n;
	return 0;
}

int
log_next(struct logfile *f, struct logrec *r, char err[LOG_ERR_MAX])
{
	for (;;) {
		char *line = f->buf + f->start;
		size_t avail = f->end - f->start;
		char *nl = memchr(line, '\n', avail);
		size_t len;

		if (nl == NULL && !f->eof && avail < LOG_LINE_MAX) {
			if (fill(f, err) < 0)
				return -1;
			continue;
		}
		if (nl == NULL && (avail == 0 || (f->follow && avail < LOG_LINE_MAX)))
			return 0;
		f->lineno++;
		if (nl == NULL && avail >= LOG_LINE_MAX) {
			/* Too long to be a record: skip it to its end. */
			skipped(f);
			do {
				f->start = f->end;
				if (fill(f, err) < 0)
					return -1;
				nl = memchr(f->buf, '\n', f->end);
			} while (nl == NULL && !f->eof);
			f->start = nl != NULL ? (size_t)(nl - f->buf) + 1 : f->end;
			continue;
		}
		/* The last line may lack its newline. */
		len = nl != NULL ? (size_t)(nl - line) : avail;
		f->start += len + (nl != NULL);
		if (len > LOG_LINE_MAX) {
			skipped(f);
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		switch (parse_or_resync(line, len, r)) {
		case 0:
			return 1;
		case 1:
			skipped(f);
			return 1;
		default:
			skipped(f);
		}
	}
}

void
log_more(struct logfile *f)
{
	gzclearerr(f->gz);
	f->eof = 0;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* PATH's rotation I (0: PATH itself) into NAME. */
static void
rotation(const char *path, int i, char *name, size_t cap)
{
	if (i == 0) {
		snprintf(name, cap, "%s", path);
		return;
	}
	snprintf(name, cap, "%s.%d", path, i);
	if (!exists(name))
		snprintf(name, cap, "%s.%d.gz", path, i);
}

int
log_rotations(const char *path, int rotated, int newest_first,
    int (*fn)(const char *, void *), void *arg)
{
	char name[PATH_MAX + 32];
	int last = 0, rc;

	/* logrotate numbers without gaps: the oldest is the last that exists. */
	while (rotated && last < 100000) {
		snprintf(name, sizeof name, "%s.%d", path, last + 1);
		if (!exists(name)) {
			snprintf(name, sizeof name, "%s.%d.gz", path, last + 1);
			if (!exists(name))
				break;
		}
		last++;
	}
	for (int k = 0; k <= last; k++) {
		rotation(path, newest_first ? k : last - k, name, sizeof name);
		if ((rc = fn(name, arg)) != 0)
			return rc;
	}
	return 0;
}

const char *
rec_str(const struct logrec *r, const char *key, char *buf, size_t cap)
{
	const struct jr_member *m = jr_get(&r->o, key);

	if (m == NULL || jr_string(m->val, m->vallen, buf, cap) < 0)
		buf[0] = '\0';
	/* Older wrappers and other hosts' may have written "//" or "/./". */
	else if (strcmp(key, "cwd") == 0 || strcmp(key, "script") == 0)
		path_clean(buf);
	return buf;
}

long
rec_long(const struct logrec *r, const char *key, long dflt)
{
	const struct jr_member *m = jr_get(&r->o, key);
	long v;

	return m != NULL && jr_long(m->val, m->vallen, &v) == 0 ? v : dflt;
}
