/*
 * split.h: the split at start-up, and the worker's requests to the keeper
 * (keeper.h), each answered within KEEPER_WAIT_MS.
 */
#ifndef QWRAP_SPLIT_H
#define QWRAP_SPLIT_H

#include <sys/types.h>

#include "hold.h"
#include "keeper.h"
#include "kproto.h"

#define KEEPER_WAIT_MS 10000	/* for an answer; a stopped keeper is its caller's doing */
#define KEEPER_COMMIT_MS 120000	/* for a commit, which syncs up to spool_max_mb */
#define SPLIT_ERR_MAX  SPOOL_ERR_MAX

struct keeper {
	int sock;		/* -1: none */
	pid_t pid;		/* as it said; -1 until then */
	pid_t helper;		/* the child that forked it and exits; -1 once reaped */
	int lost;		/* failed once (no answer, gone): every later request fails too */
};

/*
 * Forks the keeper (keeper_main, with TRUSTED and S), then drops the group
 * for good in this process, the worker: real, effective and saved gid all
 * the caller's.  0; 1 when the keeper could not be forked (ERR says why:
 * K->sock is -1); -1 when the group could not be dropped.
 */
int split_start(struct keeper *k, uid_t trusted, const struct keeper_setup *s,
    char err[SPLIT_ERR_MAX]);

/* Waits for the keeper's first word, ST.  0, or -1 with ERR set (and no keeper). */
int keeper_started(struct keeper *k, struct kstart *st, char err[SPLIT_ERR_MAX]);

/*
 * The requests.  Each returns 0 with the answer in A, or -1 with A->err
 * set: refused, failed, or no keeper (one that did not answer in time, or
 * is gone, is ended for good: a late answer must never pass for another's).
 */
int keeper_record(struct keeper *k, const struct record *r, struct kreply *a);
int keeper_limits(struct keeper *k, long long recipients, const char *script, const char *cwd,
    struct kreply *a);

/*
 * A hold for the message the verdict holds, with the claims for its
 * envelope; SENDER and RCPT for a -bs message, NULL to hold with the
 * wrapper's argv.  On success H is ready for hold_write and hold_stream,
 * and ID is the held message's id, made by the keeper: its record and
 * header must carry it.  Commit or abort closes H; an abort sets ERR to
 * why the keeper stopped taking the message, if it did.
 */
int keeper_hold_open(struct keeper *k, struct hold *h, char id[RECORD_ID_LEN], const char *cwd,
    const char *script, const char *script_from, const char *sender, char *const rcpt[],
    int nrcpt, char err[SPOOL_ERR_MAX]);
int keeper_hold_commit(struct keeper *k, struct hold *h, char err[SPOOL_ERR_MAX]);
void keeper_hold_abort(struct keeper *k, struct hold *h, char err[SPOOL_ERR_MAX]);

/* Tells the keeper to end (it exits by itself; the worker does not wait). */
void keeper_end(struct keeper *k);

#endif
