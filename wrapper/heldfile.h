/*
 * heldfile.h: the keeper's side of holding a message.  It creates
 * SPOOL/ID.msg.tmp, which the worker writes through the descriptor it is
 * given, and at the commit checks the spool's cap, renames the message to
 * ID.msg and writes its envelope as ID.env the same way, so that an ID.env
 * always names a whole message.  Needs the group (spool_dir is root:qwrap
 * 0770).  A failure removes what was written.
 */
#ifndef QWRAP_HELDFILE_H
#define QWRAP_HELDFILE_H

#include <limits.h>

#include "spool.h"

/* A growing hold looks at what the spool holds again each time it has taken this much. */
#define HELD_LOOK_EVERY (256 * 1024)

struct heldfile {
	char msg[PATH_MAX], msgtmp[PATH_MAX], env[PATH_MAX], envtmp[PATH_MAX];
	const char *dir;
	int fd;			/* the keeper's own descriptor of msgtmp; -1: none */
};

/* Creates DIR/ID.msg.tmp (ID checked by the caller); 0, or -1 with ERR set. */
int heldfile_create(struct heldfile *h, const char *dir, const char *id, char err[SPOOL_ERR_MAX]);

/*
 * The message is whole: if the spool (this message included) holds at
 * most CAP bytes, names it and writes E as its envelope.  0, or -1 with ERR
 * set and nothing left.
 */
int heldfile_commit(struct heldfile *h, long long cap, const struct spool_env *e,
    char err[SPOOL_ERR_MAX]);

/* Removes a hold under way. */
void heldfile_remove(struct heldfile *h);

#endif
