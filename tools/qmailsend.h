/*
 * qmailsend.h: whether qmail-send runs, and stopping and starting it around
 * a purge.  A running qmail-send keeps the queue's state in memory (which
 * messages exist, which recipients are done), so no file of the queue may be
 * taken from under it: purge stops it first, as qmHandle does.
 */
#ifndef QWRAP_QMAILSEND_H
#define QWRAP_QMAILSEND_H

#include <signal.h>
#include <stddef.h>

/*
 * The first running process named qmail-send of root or of qmails (one of a
 * tenant's with that name cannot hold up a purge): its pid and uid; 0 when
 * none runs; -1 when /proc cannot be read.
 */
long qmail_send_running(const char *procroot, long *uid);

/*
 * How this host runs qmail-send, as shell commands into STOP and START (CAP
 * bytes each): daemontools' svc on a service directory, a systemd unit, or an
 * init script.  1 found, 0 none known.
 */
int qmail_send_detect(char *stop, char *start, size_t cap);

/*
 * Runs CMD with /bin/sh, then, when STOPPING, waits up to WAIT seconds for
 * qmail-send to be gone (less if *INTERRUPTED becomes set).  0, or -1 after
 * saying why on stderr.
 */
int qmail_send_run(const char *what, const char *cmd, int stopping, int wait,
    volatile sig_atomic_t *interrupted);

#endif
