/*
 * fpmstatus.h: php-fpm's status page as a source of the script.  A pool
 * with pm.status_listen answers "?full&json" with one object per worker:
 * its pid, state and the entry script (SCRIPT_FILENAME) of the request it
 * runs.  The running worker that is the caller's ancestor runs the script
 * that called sendmail, whatever opcache cached or the script did to its
 * cwd, fds or environment.  Asked over FastCGI, within FPM_STATUS_MS, with
 * the caller's own gid, and only of a socket whose peer is root's.
 */
#ifndef QWRAP_FPMSTATUS_H
#define QWRAP_FPMSTATUS_H

#include <limits.h>
#include <stddef.h>

#define FPM_STATUS_MS 500	/* the longest the wrapper waits for the page */
#define FPM_SCRIPT_MAX 255	/* php-fpm's own buffer for a script's path, less one */

/*
 * Reading the answer: FastCGI records, then the page's headers, then its
 * JSON ("?full&json"), where php-fpm escapes what a request put in its
 * fields; the text form would let a request's URI add lines of its own.
 */
struct fpm_reader {
	long pid;		/* the worker asked about */
	unsigned char head[8];	/* a record header being read */
	size_t headlen;
	size_t content, padding;	/* left of the record's content and padding */
	int type;		/* of the record being read */
	int ended;		/* END_REQUEST seen */
	int body;		/* past the page's headers */
	int linelen;		/* of the header line being read; -1 once one had bytes */
	/* The JSON: nesting, the string being read, and the process object at depth 3. */
	int depth, in_str, esc, bad, str_done, in_num;
	char str[PATH_MAX];
	size_t strlen_;
	char key[16];		/* the member name whose value comes next */
	long cur_pid, num;
	int cur_running;	/* the worker's state: Running or Finishing */
	char cur_script[PATH_MAX];
	char script[PATH_MAX];	/* the worker's script, "" until found */
};

void fpm_reader_init(struct fpm_reader *r, long pid);

/* Reads N bytes of the answer; 1 once the worker's script is known, else 0. */
int fpm_reader_feed(struct fpm_reader *r, const unsigned char *p, size_t n);

/* The FastCGI request for PATH?full&json into OUT; its length, 0 if PATH is too long. */
#define FPM_REQUEST_MAX 1024
size_t fpm_request(const char *path, unsigned char out[FPM_REQUEST_MAX]);

/*
 * Asks the status page at unix socket SOCKET (pm.status_listen), path PATH
 * (pm.status_path), for the script worker PID runs.  1 with OUT set, 0 when
 * it could not be had in time.
 */
int fpm_status_script(const char *socket, const char *path, long pid, char out[PATH_MAX]);

#endif
