/*
 * mode_smtp.c: sendmail -bs, relayed (relay.c): each message of the session
 * gets what message mode gives one message.  These are the relay's hooks;
 * the caller was identified once, and the problems of the session's start
 * stay in every record, the message's own only in its own.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>

#include "hold.h"
#include "relay.h"
#include "run.h"

struct session {
	struct run *r;
	size_t start_problems;	/* the length of the session's own problems */
	int told;		/* they were said, with the first message */
};

static enum relay_verdict
begin(void *arg, const struct relay_txn *t, char *why, size_t whymax)
{
	struct run *r = ((struct session *)arg)->r;
	enum limit_outcome out = LIMIT_DELIVER;

	run_new_message(r);
	if (run_limits_apply(r) && t->rcpt_count > 0)
		out = run_limits(r, t->rcpt_count);
	if (out == LIMIT_REJECTED) {
		snprintf(why, whymax, "%s; try again later", run_limited_why(r));
		return RELAY_REJECT;
	}
	if (out == LIMIT_UNCOUNTED) {
		snprintf(why, whymax, "the limits cannot be counted now; try again later");
		return RELAY_REJECT;
	}
	/* Under on_error = "tempfail" a capture that already failed refuses the message. */
	if (r->problems[0] && r->conf->on_error == ON_ERROR_TEMPFAIL && out != LIMIT_HELD) {
		snprintf(why, whymax, "capture failed and on_error is tempfail; try again later");
		return RELAY_REJECT;
	}
	return out == LIMIT_HELD ? RELAY_HOLD : RELAY_DELIVER;
}

static size_t
header(void *arg, const char *eol, char *hdr)
{
	return run_header(((struct session *)arg)->r, eol, hdr);
}

/*
 * Held for qwrap release as a message-mode sendmail: -f SENDER -- RECIPIENTS.
 * The message's id becomes the keeper's, before its header is made.
 */
static int
hold_open(void *arg, const struct relay_txn *t, struct hold *hd, char *err)
{
	struct run *r = ((struct session *)arg)->r;

	if (t->cut || t->nrcpt < t->rcpt_count) {
		snprintf(err, SPOOL_ERR_MAX, "more than %d recipients, or one too long, to hold whole",
		    MSG_RCPT_MAX);
		return -1;
	}
	return keeper_hold_open(&r->keeper, hd, r->id, r->caller.cwd,
	    r->caller.script[0] ? r->caller.script : NULL, r->caller.script_from, t->sender,
	    t->rcpt, t->nrcpt, err);
}

static int
hold_commit(void *arg, struct hold *hd, char *err)
{
	return keeper_hold_commit(&((struct session *)arg)->r->keeper, hd, err);
}

static void
hold_abort(void *arg, struct hold *hd, char *err)
{
	keeper_hold_abort(&((struct session *)arg)->r->keeper, hd, err);
}

static int
record(void *arg, const struct relay_txn *t, const char *action, const char *what)
{
	struct session *s = arg;
	struct run *r = s->r;
	const char *news;
	int refuse;

	r->inv.sender = t->has_sender ? t->sender : NULL;
	if (what != NULL)
		run_problem(r, what);
	/* As in message mode: what cannot be recorded is not sent. */
	if ((refuse = run_record(r, action, 1, strcmp(action, "deliver") == 0)))
		action = "reject";
	/*
	 * Standard error is not the dialogue: the caller's log hears of it, as
	 * in message mode; the session's own problems with its first message.
	 */
	news = r->problems;
	if (s->told && s->start_problems > 0)
		news += s->start_problems + (r->problems[s->start_problems] ? 2 : 0);	/* "; " */
	if (news[0])
		fprintf(stderr, "qwrap-sendmail: warning: %s%s\n", news,
		    strcmp(action, "deliver") == 0 ? "; message sent anyway" : "");
	s->told = 1;
	r->problems[s->start_problems] = '\0';
	return refuse ? -1 : 0;
}

/* A message recorded as delivered that the server refused: said in syslog, by its id. */
static void
refused(void *arg, const char *what)
{
	run_log(LOG_MAIL | LOG_WARNING, "message %s: %s", ((struct session *)arg)->r->id, what);
}

enum outcome
run_smtp(struct run *r)
{
	struct session s = { r, strlen(r->problems), 0 };
	struct relay_hooks hooks = { &s, begin, header, hold_open, hold_commit, hold_abort, record,
	    refused };
	char err[RELAY_ERR_MAX];

	caller_resolve_script("/proc", r->envp, NULL, 0, r->conf->fpm_status_socket,
	    r->conf->fpm_status_path, &r->caller);
	r->inv.mode = MODE_SMTP;
	r->child_status = relay_run(r->conf->sendmail, r->argv, r->envp, r->ps,
	    r->conf->header_name, &r->msg, &r->fields, &hooks, err);
	if (r->child_status >= 0)
		return OUT_AS_CHILD;
	/* Without the relay there are no limits: a caller short of processes is refused. */
	run_problem(r, err);
	if (run_limits_apply(r))
		return OUT_UNCOUNTED;
	return run_passthrough(r);
}
