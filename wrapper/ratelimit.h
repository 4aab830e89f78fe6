/*
 * ratelimit.h: the send-rate limits of qwrap.conf, exact over a sliding
 * window.  One small file per count (a rule's per, count and window: not
 * its max or action) and key in state_dir holds the sends of the last
 * window; it is read, decided on and updated under flock(2), held only for
 * that, with a bounded wait.  Runs in the keeper, with the group (state_dir
 * is root:qwrap 0770); the uid is the keeper's own, cwd and script the
 * worker's claims, and keys name files only through a hash.
 */
#ifndef QWRAP_RATELIMIT_H
#define QWRAP_RATELIMIT_H

#include <stddef.h>

#include "config.h"
#include "record.h"

#define RL_KEY_MAX   512	/* bytes of a key kept for the record */
#define RL_ERR_MAX   256
#define RL_WAIT_MS   3000	/* the longest one sender waits for another's update */

struct rl_verdict {
	int rule;		/* index of the rule that fired (hold/reject first), -1: none */
	enum limit_action action;
	char key[RL_KEY_MAX];	/* "uid:1000", "script:1000:/path", "cwd:1000:/path" */
	long count;		/* counted in the window before this message */
	int warn;		/* the rule's first firing for this key in this window */
	char error[RL_ERR_MAX];	/* a corrupt or busy state file: it counted as reached */
};

/*
 * Checks every rule of C for this message (MESSAGES is 1, RECIPIENTS its
 * recipient count) at NOW_MS (ms since the epoch; tests inject it).  When
 * no hold or reject rule fires, the message is counted under every rule.
 * 0, or -1 when state_dir itself is unusable (V->error says why).
 */
int ratelimit_check(const char *state_dir, const struct conf *c, long uid, const char *script,
    const char *cwd, long recipients, long long now_ms, struct rl_verdict *v);

/*
 * Removes from STATE_DIR the limit files of counts no rule of C keeps, and
 * older limit files (named after the whole rule), once nothing was counted
 * in them for their window (C may be older than the rules: a keeper stopped
 * and resumed); without taking any file's lock.  A stamp named after the
 * rules says it was done, its time when a file left will be idle, so that,
 * the rules unchanged, it costs one fstatat(2).  Names are matched whole (limit-HEX-HEX, limit-HEX,
 * rules-HEX), read from a descriptor of the directory opened without
 * following a link, and removed by unlinkat(2) on it: never a path built from
 * the caller's data, never what a link points to, never a directory.
 * *REMOVED counts the limit files removed.  0, or -1 (errno).
 */
int ratelimit_sweep(const char *state_dir, const struct conf *c, int *removed);

/* The record's account of the rule V says fired (V->rule >= 0), as C defines it. */
struct rec_limit rl_fired(const struct conf *c, const struct rl_verdict *v);

#endif
