/*
 * logfile.h: the capture log, opened while the wrapper still holds the
 * qwrap group and appended to with one write(2) per record.
 */
#ifndef QWRAP_LOGFILE_H
#define QWRAP_LOGFILE_H

#include <stddef.h>
#include <sys/types.h>

#define LOGFILE_ERR_MAX 512

/*
 * Opens PATH for appending only, without following a symlink or blocking on
 * a FIFO, and refuses anything but a regular file with one link, owned by
 * root or TRUSTED, that neither its group nor others may read.  Returns the
 * fd, or -1 with ERR set.
 */
int logfile_open(const char *path, uid_t trusted, char err[LOGFILE_ERR_MAX]);

/*
 * Appends REC[0..LEN) with a single write(2); under any RLIMIT_FSIZE,
 * which could cut it, nothing is written.  0, or -1 with ERR set.
 */
int logfile_append(int fd, const char *path, const char *rec, size_t len,
    char err[LOGFILE_ERR_MAX]);

#endif
