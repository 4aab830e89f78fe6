/*
 * hold.h: a message a limit holds, written whole to the spool, with its
 * envelope, streamed in constant memory.  Runs with the group raised
 * (spool_dir is root:qwrap 0770).
 */
#ifndef QWRAP_HOLD_H
#define QWRAP_HOLD_H

#include "message.h"
#include "spool.h"

/*
 * Writes HDR, then M as message_write writes it, then the rest of fd 0, to
 * DIR/ID.msg, and ENV to DIR/ID.env, unless the spool would then hold more
 * than MAX_MB MiB.  0, or -1 with ERR set and nothing left in the spool.
 */
int hold_message(const char *dir, long max_mb, const char *hdr, size_t hdrlen,
    const struct message *m, const struct msgfields *f, const char *ourname,
    const struct spool_env *env, char err[SPOOL_ERR_MAX]);

#endif
