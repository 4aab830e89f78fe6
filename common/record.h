/*
 * record.h: the capture log record (JSON Lines, version 1), shared by the
 * wrapper that writes it and the tools that write release/discard records.
 */
#ifndef QWRAP_RECORD_H
#define QWRAP_RECORD_H

#include <stddef.h>
#include <time.h>

#define RECORD_MAX 4096		/* one write(2), so appends never interleave */
#define RECORD_ID_LEN 40
#define RECORD_MAX_PARENTS 4
#define RECORD_ENV_MAX 6	/* the claimed CGI variables a record may name */
#define RECORD_STR_CUT 1024	/* bytes of any one value encoded, at the most */
#define RECORD_LIST_CUT 64	/* elements of argv and rcpt */
#define RECORD_ITEM_CUT 256	/* bytes of one element */
#define RECORD_PARGV_CUT 1024	/* bytes of each parent's argv, words and separators */

/* A byte string that may hold anything, NUL included (message header values). */
struct strv {
	const char *p;		/* NULL: the field is absent */
	size_t n;
};

struct rec_parent {
	long pid;
	long uid;
	const char *exe;
	const char *argv;	/* NUL-separated, ARGC elements */
	size_t argvlen;
};

struct rec_env {
	const char *name;
	const char *value;
};

/* The limit that fired for this message (qwrap.conf(5), limits). */
struct rec_limit {
	int rule;		/* 1-based position in the config's limits */
	const char *per, *count, *action;	/* as in the config */
	const char *key;	/* "uid:1000", "script:1000:/path", "cwd:1000:/path" */
	long counted;		/* in the window before this message */
	long max, window;	/* window in seconds */
};

/* The administrator's freeze that held or refused this message (freeze.h). */
struct rec_freeze {
	long id;
	const char *by, *name, *value, *action;
};

struct record {
	const char *id;
	struct timespec ts;
	const char *host;
	const char *host_id;	/* record_host_id's; NULL: none */
	const char *action;	/* deliver, hold, reject, passthrough, release, discard */
	const char *mode;	/* message, smtp, queue-list, other */
	long uid, gid, pid;
	const char *cwd;
	const char *script;	/* NULL when none was found */
	const char *script_from;
	int script_unresolved;	/* SCRIPT is as seen, not the canonical path of a file */
	/* Where it came from (the wrapper's origin.h); NULL in records of other programs. */
	const char *origin, *origin_from, *origin_info, *origin_info_from;
	const struct rec_parent *parents;
	int nparents;
	const struct rec_env *env;
	int nenv;
	char *const *argv;
	int argc;
	const char *sender;	/* envelope -f, NULL when not given */
	struct strv from, subject, message_id, php_script;
	const struct strv *rcpt;	/* NULL: no recipient list (not message mode) */
	size_t nrcpt;
	long rcpt_count;
	int forged_header;	/* caller-supplied headers of our name, renamed */
	int truncated;		/* the caller already cut something (the encoder adds its own cuts) */
	const struct rec_limit *limit;	/* NULL when no limit fired */
	const struct rec_freeze *freeze;	/* NULL when no freeze matched */
	const char *held_id;	/* release and discard: the id of the held message's record */
	const char *error;	/* what went wrong, NULL when nothing did */
};

/* The names of the CGI variables a record may carry, RECORD_ENV_MAX of them. */
extern const char *const record_env_names[RECORD_ENV_MAX];

/* The values origin, origin_from and origin_info_from may take. */
#define RECORD_ORIGIN_KINDS 7
#define RECORD_ORIGIN_FROMS 5
#define RECORD_ORIGIN_INFO_FROMS 4
extern const char *const record_origin_kinds[RECORD_ORIGIN_KINDS];
extern const char *const record_origin_froms[RECORD_ORIGIN_FROMS];
extern const char *const record_origin_info_froms[RECORD_ORIGIN_INFO_FROMS];

/*
 * A stable id of this host for a fleet's view, into OUT (33 bytes): 32 hex
 * digits of SHA-256 over "qwrap host id\n" and MACHINE_ID's content (as
 * /etc/machine-id).  It stays when the host is renamed, and it does not give
 * away the machine id itself.  0, or -1 when the file is missing or not a
 * machine id.
 */
int record_host_id(const char *machine_id, char out[33]);

/*
 * Encodes R as one JSON line ending in '\n', at most RECORD_MAX bytes, into
 * OUT (at least RECORD_MAX + 1 bytes).  Long values and lists are cut, in
 * steps, until it fits; "truncated": true then says so.  Returns the length.
 */
size_t record_encode(const struct record *r, char *out);

/* "20261126185412.<16 hex digits of randomness>": unique, sortable by time. */
void record_make_id(const struct timespec *ts, char id[RECORD_ID_LEN]);

/* RFC 3339 UTC with milliseconds: "2026-11-26T18:54:12.123Z". */
void record_format_ts(const struct timespec *ts, char out[32]);

#endif
