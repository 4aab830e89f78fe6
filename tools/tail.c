/*
 * tail.c: qwrap tail [-f]: the last records of the log, then, with -f, each
 * new one as it is appended, across rotations (a new file under the log's
 * name) and truncations (copytruncate).  Given a pattern (a central
 * server's 'capture-*.jsonl', one file a day), it reads the last file in name
 * order, and with -f goes on to the next once that one appears.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define POLL_MS 200

static void
nap(void)
{
	struct timespec ts = { 0, POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* Prints what passes the filters until the end of what is there now. */
static int
drain(struct report *rp, struct logfile *f)
{
	struct logrec r;
	char err[LOG_ERR_MAX];
	int rc;

	while ((rc = log_next(f, &r, err)) == 1)
		if (filter_match(&rp->filter, &r))
			report_print(rp, &r);
	if (rc < 0)
		fprintf(stderr, "qwrap: %s\n", err);
	fflush(stdout);
	return rc < 0 || ferror(stdout) ? -1 : 0;
}

/* The last ROWS records that pass the filters, oldest first. */
static int
last_rows(struct report *rp, struct logfile *f)
{
	size_t rows = rp->rows > 0 ? (size_t)rp->rows : 1;
	char **ring = calloc(rows, sizeof *ring), err[LOG_ERR_MAX];
	size_t *lens = calloc(rows, sizeof *lens), n = 0;
	struct logrec r;
	int rc;

	if (ring == NULL || lens == NULL) {
		free(ring);
		free(lens);
		fprintf(stderr, "qwrap: out of memory\n");
		return -1;
	}
	while ((rc = log_next(f, &r, err)) == 1) {
		size_t i = n % rows;

		if (rp->rows == 0 || !filter_match(&rp->filter, &r))
			continue;
		n++;
		free(ring[i]);
		if ((ring[i] = malloc(r.len)) != NULL)
			memcpy(ring[i], r.line, r.len);
		lens[i] = r.len;
	}
	/* Printed from copies, each parsed again: cheap for the few shown. */
	for (size_t k = n > rows ? n - rows : 0; k < n; k++) {
		size_t i = k % rows;

		if (ring[i] != NULL && log_parse(ring[i], lens[i], &r) == 0)
			report_print(rp, &r);
	}
	for (size_t i = 0; i < rows; i++)
		free(ring[i]);
	free(ring);
	free(lens);
	if (rc < 0)
		fprintf(stderr, "qwrap: %s\n", err);
	fflush(stdout);
	return rc < 0 ? -1 : 0;
}

/* The log was replaced (rotated) or cut (copytruncate) under our descriptor. */
static int
moved(const char *path, const struct logfile *f)
{
	struct stat now, ours;
	off_t pos = lseek(f->fd, 0, SEEK_CUR);

	if (stat(path, &now) < 0 || fstat(f->fd, &ours) < 0)
		return 0;
	return now.st_ino != ours.st_ino || now.st_dev != ours.st_dev ||
	    (pos >= 0 && now.st_size < pos);
}

/* The last file PATTERN matches in name order into OUT: 1, or 0 when none does. */
static int
newest(const char *pattern, char out[PATH_MAX])
{
	glob_t g;
	int found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;

	if (found)
		snprintf(out, PATH_MAX, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return found;
}

/* Waits for a file PATTERN matches (as -f does for a log not there yet): 0, or -1. */
static int
wait_newest(const struct report *rp, const char *pattern, char path[PATH_MAX])
{
	while (!newest(pattern, path)) {
		if (!rp->follow) {
			fprintf(stderr, "qwrap: no file matches %s\n", pattern);
			return -1;
		}
		nap();
	}
	return 0;
}

int
report_tail(struct report *rp)
{
	const char *arg = rp->nfiles > 0 ? rp->files[0] : rp->log_file;
	int pattern = strpbrk(arg, "*?[") != NULL;
	char path[PATH_MAX], next[PATH_MAX];
	struct logfile f;
	char err[LOG_ERR_MAX];

	if (!pattern)
		snprintf(path, sizeof path, "%s", arg);
	else if (wait_newest(rp, arg, path) < 0)
		return EX_NOINPUT;
	if (log_open(&f, path, err) < 0) {
		fprintf(stderr, "qwrap: %s\n", err);
		return EX_NOINPUT;
	}
	f.follow = rp->follow;
	report_heading(rp);
	if (last_rows(rp, &f) < 0) {
		log_close(&f);
		return EX_IOERR;
	}
	report_skipped(&f);
	while (rp->follow) {
		nap();
		log_more(&f);
		if (drain(rp, &f) < 0)
			break;
		/* The next day's file: the rest of this one, then that one from its start. */
		if (pattern && newest(arg, next) && strcmp(next, path) > 0) {
			f.follow = 0;
			log_more(&f);
			drain(rp, &f);
			log_close(&f);
			snprintf(path, sizeof path, "%s", next);
			if (log_open(&f, path, err) < 0) {
				fprintf(stderr, "qwrap: %s\n", err);
				return EX_NOINPUT;
			}
			f.follow = 1;
			continue;
		}
		if (!moved(path, &f))
			continue;
		/* What the old file got before it moved, then the new file from its start. */
		f.follow = 0;
		log_more(&f);
		drain(rp, &f);
		log_close(&f);
		while (log_open(&f, path, err) < 0) {
			if (errno != ENOENT) {
				fprintf(stderr, "qwrap: %s\n", err);
				return EX_NOINPUT;
			}
			nap();
		}
		f.follow = 1;
	}
	log_close(&f);
	return rp->follow ? EX_IOERR : 0;
}
