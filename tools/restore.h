/*
 * restore.h: what came out of the queue goes back: qwrap restore re-queues
 * quarantined messages through qmail-queue, and qwrap purge --list shows
 * the purges (tools/quarantine.h).  Run as root.
 */
#ifndef QWRAP_RESTORE_H
#define QWRAP_RESTORE_H

#include "paths.h"

/* Root's alone: beside the state directory, which the qwrap group may write. */
#define QUARANTINE_DIR QWRAP_STATE_DIR "-quarantine"

/* ARGV after "restore"; a sysexits status. */
int restore(int argc, char *argv[]);

/* The purges in ROOT, oldest first, as TSV or JSON lines; a sysexits status. */
int purge_list(const char *root, int json);

#endif
