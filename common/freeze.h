/*
 * freeze.h: the administrator's freezes: from the next message on, what a
 * freeze matches is held (or refused) by qwrap-sendmail, with no config edit
 * and no reload.  `qwrap freeze` writes them, root's own file, replaced
 * whole by rename; qwrap-sendmail's keeper reads it at each message.
 *
 * The file: one line per freeze, "ID CREATED UNTIL ACTION BY NAME VALUE":
 * ID a positive number; CREATED and UNTIL seconds since the epoch (UNTIL 0:
 * until thawed); ACTION hold or reject; BY uid, script, cwd or vhost; NAME
 * what the admin named (a user, a vhost) or "-"; VALUE the rest of the line:
 * the uid, the script's glob, or the directory (a vhost's is its directory).
 */
#ifndef QWRAP_FREEZE_H
#define QWRAP_FREEZE_H

#include <limits.h>
#include <sys/types.h>

#include "config.h"

#define FREEZE_MAX 64		/* freezes at once */
#define FREEZE_NAME_MAX 256
#define FREEZE_FILE_MAX (FREEZE_MAX * (PATH_MAX + FREEZE_NAME_MAX + 96))
#define FREEZE_ERR_MAX (PATH_MAX + 128)

enum freeze_by { FREEZE_UID, FREEZE_SCRIPT, FREEZE_CWD, FREEZE_VHOST };

extern const char *const freeze_by_names[4];	/* "uid", "script", "cwd", "vhost" */

struct freeze {
	long id;
	long long created, until;	/* until 0: no end */
	enum limit_action action;	/* LIMIT_HOLD or LIMIT_REJECT */
	enum freeze_by by;
	char name[FREEZE_NAME_MAX];	/* "-" when none */
	char value[PATH_MAX];
};

struct freezes {
	int n;
	struct freeze f[FREEZE_MAX];
};

/*
 * Reads PATH into FZ: a regular file of one link, owned by root or TRUSTED,
 * writable by its owner only.  1 when read, 0 when there is none (no file:
 * no freezes), -1 with ERR when it is unsafe or malformed.
 */
int freeze_load(const char *path, uid_t trusted, struct freezes *fz, char err[FREEZE_ERR_MAX]);

/* FZ as the file's text into OUT (FREEZE_FILE_MAX); its length. */
size_t freeze_format(const struct freezes *fz, char *out);

/*
 * The first freeze of FZ in force at NOW that matches a message of UID
 * from CWD running SCRIPT (NULL: none known), or NULL.  A script glob is
 * fnmatch(3)'s with '*' matching '/' too; a cwd freeze matches its
 * directory and all below; a vhost freeze, the script or the cwd there.
 */
const struct freeze *freeze_match(const struct freezes *fz, long uid, const char *script,
    const char *cwd, long long now);

/* Whether any freeze of FZ in force at NOW could match a message of UID. */
int freeze_may_match(const struct freezes *fz, long uid, long long now);

#endif
