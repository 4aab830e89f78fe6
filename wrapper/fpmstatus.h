/*
 * fpmstatus.h: php-fpm's status page as a source of the script.  A pool
 * with pm.status_listen answers "?full" with one block per worker: its pid,
 * state and the script it runs.  The worker that is the caller's ancestor
 * runs the script that called sendmail, whatever opcache cached or the
 * script did to its cwd, fds or environment.  Asked over FastCGI, within
 * FPM_STATUS_MS, after the group was dropped.
 */
#ifndef QWRAP_FPMSTATUS_H
#define QWRAP_FPMSTATUS_H

#include <limits.h>
#include <stddef.h>

#define FPM_STATUS_MS 500	/* the longest the wrapper waits for the page */
#define FPM_LINE_MAX (PATH_MAX + 64)

/* Reading the answer: FastCGI records, then the page's lines. */
struct fpm_reader {
	long pid;		/* the worker asked about */
	unsigned char head[8];	/* a record header being read */
	size_t headlen;
	size_t content, padding;	/* left of the record's content and padding */
	int type;		/* of the record being read */
	int ended;		/* END_REQUEST seen */
	int body;		/* past the page's HTTP-style headers */
	char line[FPM_LINE_MAX];
	size_t linelen;
	int overlong;		/* the line did not fit: skipped to its end */
	long block_pid;		/* of the worker block being read, -1 before its pid line */
	char script[PATH_MAX];	/* the worker's script, "" until found */
};

void fpm_reader_init(struct fpm_reader *r, long pid);

/* Reads N bytes of the answer; 1 once the worker's script is known, else 0. */
int fpm_reader_feed(struct fpm_reader *r, const unsigned char *p, size_t n);

/* The FastCGI request for PATH?full into OUT (room for FPM_REQUEST_MAX); its length, 0 if PATH is too long. */
#define FPM_REQUEST_MAX 1024
size_t fpm_request(const char *path, unsigned char out[FPM_REQUEST_MAX]);

/*
 * Asks the status page at unix socket SOCKET (pm.status_listen), path PATH
 * (pm.status_path), for the script worker PID runs.  1 with OUT set, 0 when
 * it could not be had in time.
 */
int fpm_status_script(const char *socket, const char *path, long pid, char out[PATH_MAX]);

#endif
