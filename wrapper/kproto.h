/*
 * kproto.h: what the worker may ask the keeper, as fixed binary requests
 * (one SOCK_SEQPACKET datagram each), and the keeper's answer.
 *
 * A request is a u32 type, then its fields in a fixed order: numbers as
 * u32 or i64 (host order: both ends are one binary), strings as a u32
 * length, the bytes and a NUL, or the length 0xffffffff for none.  The
 * keeper decodes a request into pointers into the datagram it received,
 * after checking every length against what is left and every count
 * against its bound; a string that must be one (a path, an action) may not
 * hold a NUL.  The worker's values are cut before they are sent so that a
 * request never passes KPROTO_REQ_MAX and the record encoder still sees
 * that they were cut.
 */
#ifndef QWRAP_KPROTO_H
#define QWRAP_KPROTO_H

#include <stddef.h>

#include "config.h"
#include "logfile.h"
#include "ratelimit.h"
#include "record.h"
#include "spool.h"

#define KPROTO_REQ_MAX  (128 * 1024)	/* bytes of one request */
#define KPROTO_LIST_MAX (RECORD_LIST_CUT + 1)	/* argv, rcpt items of a record sent */
#define KPROTO_ENV_MAX  RECORD_ENV_MAX
#define KPROTO_RCPT_MAX 256	/* recipients of a held -bs message (MSG_RCPT_MAX) */
#define KPROTO_ADDR_MAX 256	/* bytes of one (MSG_ADDR_MAX) */

#define KPROTO_NONE 0xffffffffu	/* the length of a string that is not there */
#define KPROTO_STR_CUT  (RECORD_STR_CUT + 4)	/* past the encoder's cut, by more than a UTF-8 character */
#define KPROTO_ITEM_CUT (RECORD_ITEM_CUT + 4)
#define KPROTO_PARGV_MAX 4096	/* an ancestor's NUL-separated argv (CALLER_ARGV_MAX, 2048) */

enum kreq_type {
	KREQ_RECORD = 1,	/* append this record: the worker's claims, the keeper's facts */
	KREQ_LIMITS,		/* count these limit keys for a message, say the verdict */
	KREQ_HOLD_OPEN,		/* hold the message the verdict holds: a pipe to write it into */
	KREQ_HOLD_COMMIT,	/* the pipe is closed: the message is whole, name it, write its envelope */
	KREQ_HOLD_ABORT,	/* remove it */
};

/* A request, decoded: its strings point into the datagram. */
struct kreq {
	enum kreq_type type;
	/* KREQ_RECORD: uid, gid, pid, host and limit are left for the keeper; ts is bounded by it. */
	struct record rec;
	struct rec_parent parents[RECORD_MAX_PARENTS];
	struct rec_env env[KPROTO_ENV_MAX];
	char *argv[KPROTO_LIST_MAX + 1];
	struct strv rcpt[KPROTO_LIST_MAX];
	/* KREQ_LIMITS */
	long long recipients;
	const char *script, *cwd;	/* and KREQ_HOLD_OPEN's */
	/* KREQ_HOLD_OPEN */
	const char *script_from;
	const char *sender;	/* NULL: message mode, held with the wrapper's own argv */
	const char *hold_rcpt[KPROTO_RCPT_MAX];
	int nhold_rcpt;
};

/* The keeper's answer; strings NUL-terminated. */
struct kreply {
	int status;		/* 0, or -1: err says why */
	int rule, action, warn;	/* KREQ_LIMITS: as struct rl_verdict */
	long freeze;		/* KREQ_LIMITS: the freeze that matched (then ACTION is its), or 0 */
	long long n;		/* KREQ_LIMITS: counted */
	char id[RECORD_ID_LEN];	/* KREQ_HOLD_OPEN: the held message's (and its record's) id */
	char key[RL_KEY_MAX];
	char err[SPOOL_ERR_MAX];
	char line[RECORD_MAX + 1];	/* KREQ_RECORD: the line as encoded */
	size_t linelen;
};

/*
 * The keeper's first word, unasked: what it read and opened with the group.
 * The worker takes its config from here, read once.
 */
struct kstart {
	long pid;		/* the keeper's, to end it by */
	int cstatus;		/* enum conf_status */
	int session_over;	/* a timed capture session has ended: the real sendmail, untouched */
	int config_missing;	/* the config is missing while capture is on: mail waits */
	int logging;		/* the capture log is open */
	int frozen;		/* a freeze may match this caller's mail: ask, as for limits */
	char conf_err[CONF_ERR_MAX];
	char log_err[LOGFILE_ERR_MAX];
	struct conf conf;
};

/*
 * The worker's side: each writes a request into OUT (KPROTO_REQ_MAX bytes)
 * and returns its length, cutting values as the comment above says.
 */
size_t kproto_record(unsigned char *out, const struct record *r);
size_t kproto_limits(unsigned char *out, long long recipients, const char *script,
    const char *cwd);
size_t kproto_hold_open(unsigned char *out, const char *cwd, const char *script,
    const char *script_from, const char *sender, char *const rcpt[], int nrcpt);
size_t kproto_plain(unsigned char *out, enum kreq_type type);

/*
 * The keeper's side: decodes the N bytes at P into Q.  0, or -1 when the
 * request is malformed in any way (then Q means nothing).
 */
int kproto_decode(const unsigned char *p, size_t n, struct kreq *q);

/* A record id as record_make_id writes it: it names files in the spool. */
int kproto_id_ok(const char *id);

#endif
