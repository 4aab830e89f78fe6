/*
 * sanitize.h: take control of the process state a hostile caller hands the
 * set-gid wrapper, and give the caller's own state back just before exec.
 */
#ifndef QWRAP_SANITIZE_H
#define QWRAP_SANITIZE_H

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

/* What the real sendmail must see again: the caller's, not ours. */
struct procstate {
	mode_t umask;
	struct sigaction pipe, xfsz, chld;
	struct rlimit fsize, core, nofile;
};

/* Makes sure fds 0, 1 and 2 are open (on /dev/null if they were not). */
int sanitize_stdio(void);

/*
 * Puts /dev/null on fds FIRST to 2, for a helper process whose stdio nobody
 * reads or that must hold none of the caller's.  0, or -1.
 */
int sanitize_null_stdio(int first);

/* Closes every fd from 3 up. */
void sanitize_close_fds(void);

/* The same but fds A and B (they may be one). */
void sanitize_close_fds_but(int a, int b);

/*
 * umask 077, SIGPIPE/SIGXFSZ ignored and SIGCHLD default, no interval
 * timers, not dumpable, no core file, file size and fd limits raised as far
 * as the hard limits allow.  The caller's values are saved in PS.
 */
int sanitize_state(struct procstate *ps);

/* The time zone for syslog's timestamps: the system's, never the caller's TZ. */
void sanitize_zone(void);

/*
 * Gives up the qwrap group for good: real, effective and saved gid all
 * become the caller's, and that is checked.  0, or -1.
 */
int sanitize_drop_group(void);

/* Puts back what sanitize_state changed (the timers stay off). */
int sanitize_restore(const struct procstate *ps);

#endif
