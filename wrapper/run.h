/*
 * run.h: one run of qwrap-sendmail as the worker sees it, after the split,
 * without the group; and the steps its modes share: a new message, the
 * limits, a hold, the record.  main.c decides what a run's outcome means
 * for the caller, in one place.
 */
#ifndef QWRAP_RUN_H
#define QWRAP_RUN_H

#include <sys/stat.h>
#include <time.h>

#include "caller.h"
#include "classify.h"
#include "config.h"
#include "deliver.h"
#include "message.h"
#include "origin.h"
#include "ratelimit.h"
#include "record.h"
#include "sanitize.h"
#include "split.h"

#define PROBLEMS_MAX 1024

struct run {
	const struct conf *conf;
	const struct procstate *ps;	/* the caller's, given back before exec */
	char **argv, **envp;
	int argc;
	const char *host;		/* the node name, for the record and the notice */
	struct stat self;		/* the running binary */
	struct keeper keeper;		/* the part that keeps the group */
	int logging;			/* the keeper holds the capture log */
	int limits_on;			/* limits (or a freeze) may apply to this caller */
	int frozen;			/* a freeze may: the keeper's word, or a guess without it */
	long freeze;			/* the freeze that held or refused this message, or 0 */
	int no_group;			/* run set-gid without the group (no_new_privs, ...) */
	int target_ok;			/* the real sendmail is fit to run */
	char target_err[DELIVER_ERR_MAX];
	struct invocation inv;
	struct caller caller;
	struct origin origin;
	struct message msg;
	struct msgfields fields;
	/* Of the message under way. */
	struct timespec now;
	char id[RECORD_ID_LEN];		/* of the record and the header */
	struct rl_verdict verdict;	/* the keeper's; rule < 0: none fired */
	struct rec_limit fired;
	int child_status;		/* -bs: the real sendmail's wait status */
	char problems[PROBLEMS_MAX];	/* what went wrong, for the record and the report */
};

/* What became of the run; main.c maps it to what the caller sees. */
enum outcome {
	OUT_SEND,		/* exec the real sendmail (the message is in its stdin) */
	OUT_HELD,		/* held whole: exit 0 */
	OUT_LIMITED,		/* a limit refused it */
	OUT_UNCOUNTED,		/* the limits could not be counted: refused, to try again */
	OUT_NO_TARGET,		/* the real sendmail is unfit */
	OUT_NOT_FED,		/* the message could not be handed on */
	OUT_REFUSED,		/* capture failed under on_error = "tempfail" */
	OUT_AS_CHILD,		/* -bs: end as the real sendmail, our child, ended (child_status) */
};

enum limit_outcome { LIMIT_DELIVER, LIMIT_HELD, LIMIT_REJECTED, LIMIT_UNCOUNTED };

void run_problem(struct run *r, const char *what);

/* syslog(3), stamped in the system's time zone, read at the first line. */
void run_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new message: its time, its id, no verdict yet. */
void run_new_message(struct run *r);

/* Whether root's freezes file is there (or cannot be looked at, which counts as there). */
int run_freezes_exist(void);

/* Whether the keeper must be asked about this message: limits, or a freeze, may apply. */
int run_limits_apply(const struct run *r);

/* The limits, asked of the keeper, for a message of RCPT recipients. */
enum limit_outcome run_limits(struct run *r, long rcpt);

/* Why the limits refused this message: the rule that fired, or the freeze. */
const char *run_limited_why(const struct run *r);

/* qwrap's header for this message, its lines ending in EOL; its length. */
size_t run_header(const struct run *r, const char *eol, char *hdr);

/*
 * The record of this message, as ACTION (with the recipients when
 * WITH_RCPT), to the log and then to syslog as asked.  Under on_error =
 * "tempfail" a message that was to be sent (REFUSABLE) whose record the log
 * did not take is refused: the record says "reject" and 1 is returned.
 */
int run_record(struct run *r, const char *action, int with_rcpt, int refusable);

/* The modes. */
enum outcome run_message(struct run *r);
enum outcome run_passthrough(struct run *r);
enum outcome run_smtp(struct run *r);

#endif
