/* iofull.h: write(2) until everything is written, retrying on EINTR; durable renames; bounded locks. */
#ifndef QWRAP_IOFULL_H
#define QWRAP_IOFULL_H

#include <stddef.h>

/* 0 when all N bytes were written, -1 (errno set) otherwise. */
int write_full(int fd, const void *p, size_t n);

/* Milliseconds of the monotonic clock: deadlines that a clock step cannot move. */
long long clock_ms(void);

/*
 * flock(FD, LOCK_EX), waiting at most MS milliseconds of wall-clock time:
 * 0, or -1 (errno ETIMEDOUT when another held it all that time).
 */
int flock_bounded(int fd, int ms);

/* fsync(2) of directory DIR, which makes a rename or link in it durable; 0 or -1 (errno). */
int fsync_dir(const char *dir);

#endif
