/*
 * spool.h: held mail.  SPOOL/ID.msg is the message as it would have been
 * delivered (qwrap's header first); SPOOL/ID.env its envelope, NUL-separated
 * "key=value" items (id, ts, uid, gid, cwd, script, script_from, rule, key, then one
 * "argv=" per argument, in order).  qwrap-sendmail writes .msg, then .env,
 * each under a temporary name renamed into place, so an .env always names a
 * whole message.  qwrap release and discard read and remove them.  No lock
 * is shared among senders: a sender can stop its own process at any point.
 */
#ifndef QWRAP_SPOOL_H
#define QWRAP_SPOOL_H

#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "record.h"

#define SPOOL_ERR_MAX (PATH_MAX + 128)
#define SPOOL_ENV_MAX (4 * 1024 * 1024)	/* argv is at most ARG_MAX (2 MiB) */
#define SPOOL_ARGS_MAX 65536
#define SPOOL_STALE_S 3600	/* a hold's file untouched this long was left by a killed sender */

struct spool_env {
	char id[RECORD_ID_LEN];
	long long ts;		/* seconds since the epoch */
	long uid, gid;
	const char *cwd, *script, *script_from, *rule, *key;	/* point into the .env text */
	char **argv;		/* NULL-terminated; malloc'd by spool_env_parse */
	int argc;
};

/* Writes E's items to FD (no buffer: argv may be large).  0, or -1 (errno). */
int spool_env_write(int fd, const struct spool_env *e);

/*
 * Parses the LEN bytes of TEXT (which E then points into); 0, or -1 when
 * malformed.  Free E->argv when done.
 */
int spool_env_parse(char *text, size_t len, struct spool_env *e);

/*
 * Bytes in DIR now: held mail, and the partial files of holds under way,
 * which take their room as they grow.  What a sender killed while holding
 * left behind SPOOL_STALE_S ago or more (a partial file, or an ID.msg whose
 * envelope never came: that sender was not told it was held) is removed
 * instead, and named to GONE when it is not NULL.  -1 on error.
 */
long long spool_sweep(const char *dir, time_t now, void (*gone)(const char *dir,
    const char *name));

#endif
