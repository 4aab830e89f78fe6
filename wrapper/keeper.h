/*
 * keeper.h: the process of qwrap-sendmail that holds the capture log and
 * writes the records, forked while the wrapper still has the qwrap group.
 */
#ifndef QWRAP_KEEPER_H
#define QWRAP_KEEPER_H

#include <sys/types.h>

#include "logfile.h"

#define KEEPER_WAIT_MS 10000	/* for a record's answer; a stopped keeper is its caller's doing */
#define KEEPER_END_MS  1000	/* for it to exit once told */

struct keeper {
	int sock;		/* -1: none */
	pid_t pid;
	int lost;		/* failed once (no answer, gone): every later record fails too */
};

/*
 * Forks the keeper, which takes LOGFD (the log at PATH, opened with the
 * group) and keeps the group as its saved gid only, so that its credentials
 * are never the caller's.  The caller keeps no copy of LOGFD.  0, or -1 with
 * ERR set and K->sock -1.
 */
int keeper_start(int logfd, const char *path, struct keeper *k, char err[LOGFILE_ERR_MAX]);

/*
 * Has the keeper append the record REC[0..LEN) (one line); 0, or -1 with ERR
 * set.  A keeper that does not answer in time, or is gone, is ended and
 * lost: a late answer must never pass for a later record's.
 */
int keeper_append(struct keeper *k, const char *rec, size_t len, char err[LOGFILE_ERR_MAX]);

/* Ends the keeper and reaps it (before an exec, so the next program inherits nothing). */
void keeper_end(struct keeper *k);

#endif
