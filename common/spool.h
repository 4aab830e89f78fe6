/*
 * spool.h: held mail.  SPOOL/ID.msg is the message as it would have been
 * delivered (qwrap's header first); SPOOL/ID.env its envelope, NUL-separated
 * "key=value" items (id, ts, uid, gid, cwd, script, script_from, rule, key, then one
 * "argv=" per argument, in order).  qwrap-sendmail writes .msg, then .env,
 * each under a temporary name renamed into place, so an .env always names a
 * whole message.  qwrap release and discard read and remove them.
 */
#ifndef QWRAP_SPOOL_H
#define QWRAP_SPOOL_H

#include <limits.h>
#include <stddef.h>

#include "record.h"

#define SPOOL_ERR_MAX (PATH_MAX + 128)
#define SPOOL_ENV_MAX (4 * 1024 * 1024)	/* argv is at most ARG_MAX (2 MiB) */
#define SPOOL_ARGS_MAX 65536
#define SPOOL_LOCK_MS 3000	/* the longest a hold waits to commit */

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

/* Bytes of held mail in DIR now (partial files of holds under way not counted); -1 on error. */
long long spool_usage(const char *dir);

#endif
