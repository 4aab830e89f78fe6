/*
 * hold.h: a message a limit holds, written whole to the spool, with its
 * envelope, streamed in constant memory.  hold_open, hold_commit and
 * hold_abort need the group (spool_dir is root:qwrap 0770); the writes go
 * to the open file, without it.
 */
#ifndef QWRAP_HOLD_H
#define QWRAP_HOLD_H

#include "message.h"
#include "spool.h"

/* A message being held: ID.msg.tmp, open, then committed or removed. */
struct hold {
	char msg[PATH_MAX], msgtmp[PATH_MAX], env_path[PATH_MAX], envtmp[PATH_MAX];
	const char *dir;
	const struct spool_env *env;
	int fd;
	long long cap, room, total;	/* the spool's cap, the room for this hold, bytes written */
	long long next_look;		/* TOTAL at which the spool's use is looked at again */
	long long (*use)(const char *dir);	/* what DIR holds, this hold included; -1: unknown */
};

/* A growing hold looks at the spool again each time it has written this much. */
#define HOLD_LOOK_EVERY (256 * 1024)

/*
 * Starts holding the message ENV describes in DIR, whose held mail may not
 * pass MAX_MB MiB, by more than HOLD_LOOK_EVERY for each hold under way:
 * USE says what the spool holds (it takes the group, which the hold's
 * writes do without).  Then hold_write the message's bytes, and hold_commit
 * it or hold_abort.  0, or -1 with ERR set and nothing left in the spool
 * (on every failure, hold_write and hold_commit included).
 */
int hold_open(struct hold *h, const char *dir, long max_mb, const struct spool_env *env,
    long long (*use)(const char *dir), char err[SPOOL_ERR_MAX]);
int hold_write(struct hold *h, const void *p, size_t n, char err[SPOOL_ERR_MAX]);
int hold_commit(struct hold *h, char err[SPOOL_ERR_MAX]);
void hold_abort(struct hold *h);

/*
 * Writes HDR, then M as message_write writes it (and the rest of its header
 * section the same way), then the rest of fd 0, to the hold H; needs no
 * group.  0, or -1 with ERR set: the caller then aborts the hold.
 */
int hold_stream(struct hold *h, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname, char err[SPOOL_ERR_MAX]);

#endif
