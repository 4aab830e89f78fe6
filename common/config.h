/*
 * config.h: qwrap.conf (libconfig), loaded and validated the same way by every
 * qwrap program.  The set-gid wrapper calls it on the compiled-in path only.
 */
#ifndef QWRAP_CONFIG_H
#define QWRAP_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define CONF_ERR_MAX       512
#define CONF_FILE_MAX      65536	/* bytes of qwrap.conf read at most */
#define CONF_MAX_LIMITS    16
#define CONF_MAX_EXEMPT    64
#define CONF_MAX_FIELDS    8
#define CONF_HEADER_NAME_MAX 76
#define CONF_LIMIT_MAX     1000000	/* the largest 'max' of a limit (its state file: 16 MB) */
#define CONF_NOTIFY_MAX    254		/* an address, as SMTP allows it */
#define CONF_FPM_PATH_MAX  200		/* pm.status_path: three times in one FastCGI request */

enum conf_on_error { ON_ERROR_DELIVER, ON_ERROR_TEMPFAIL };

/*
 * Whose option grammar the real sendmail has: any (an option qwrap does not
 * know is a submission), or qmail's or Postfix's exactly (see classify.c).
 */
enum conf_mta { MTA_ANY, MTA_QMAIL, MTA_POSTFIX };

/* sendmail -bs: relayed with a record, header and limits per message, or passed through. */
enum conf_smtp_mode { SMTP_MODE_RELAY, SMTP_MODE_PASSTHROUGH };

/* The fields the identification header may carry, in the order listed. */
enum conf_field { FIELD_ID, FIELD_UID, FIELD_GID, FIELD_PID, FIELD_CWD, FIELD_SCRIPT };

enum limit_per { LIMIT_PER_UID, LIMIT_PER_SCRIPT, LIMIT_PER_CWD };
enum limit_count { LIMIT_COUNT_MESSAGES, LIMIT_COUNT_RECIPIENTS };
enum limit_action { LIMIT_HOLD, LIMIT_REJECT, LIMIT_LOG };

struct conf_limit {
	enum limit_per per;
	long max;
	long window;		/* seconds */
	enum limit_count count;
	enum limit_action action;
	int line;		/* where it was defined, for messages */
};

struct conf {
	char sendmail[PATH_MAX];
	char log_file[PATH_MAX];
	int log_syslog;
	char header_name[CONF_HEADER_NAME_MAX + 1];
	enum conf_field fields[CONF_MAX_FIELDS];
	int nfields;
	char state_dir[PATH_MAX];
	char spool_dir[PATH_MAX];
	long spool_max_mb;	/* held mail beyond this falls back to reject */
	char notify[CONF_NOTIFY_MAX + 1];	/* mailed when a limit first fires; "" for nobody */
	enum conf_on_error on_error;
	enum conf_smtp_mode smtp_mode;
	enum conf_mta mta;
	char vhosts_root[PATH_MAX];	/* for qwrap's reports, when Plesk's psa.conf does not say */
	char fpm_status_socket[PATH_MAX];	/* pm.status_listen, %p the pool; "" for none */
	char fpm_status_path[CONF_FPM_PATH_MAX + 1];	/* pm.status_path */
	struct conf_limit limits[CONF_MAX_LIMITS];
	int nlimits;
	long exempt_uids[CONF_MAX_EXEMPT];
	int nexempt;
};

/* Outcome of conf_load: the file was read, was absent (defaults apply), or is bad. */
enum conf_status { CONF_OK, CONF_ABSENT, CONF_BAD };

void conf_defaults(struct conf *c);

/*
 * Reads PATH into C (defaults first, so absent keys keep them).  When TRUSTED
 * is not (uid_t)-1 the file must be a regular file owned by root or TRUSTED
 * and writable by nobody else; check-config on an arbitrary file passes -1.
 * On CONF_BAD, ERR holds "FILE:LINE: message" and C holds the defaults.
 */
enum conf_status conf_load(const char *path, uid_t trusted, struct conf *c,
    char err[CONF_ERR_MAX]);

/* "90", "30s", "10m", "1h", "2d", "1w" → seconds; -1 when malformed. */
long conf_parse_duration(const char *s);

/* Whether C's limits apply to UID: there are some, and UID is not exempt. */
int conf_limits_apply(const struct conf *c, long uid);

const char *conf_field_name(enum conf_field f);

/* The names of enum limit_per, limit_count and limit_action, as in the file; NULL-terminated. */
extern const char *const conf_limit_pers[], *const conf_limit_counts[],
    *const conf_limit_actions[];

#endif
