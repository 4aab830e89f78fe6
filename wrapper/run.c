/* run.c: the steps every mode shares (run.h). */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "idheader.h"
#include "notify.h"

void
run_problem(struct run *r, const char *what)
{
	size_t n = strlen(r->problems);

	snprintf(r->problems + n, sizeof r->problems - n, "%s%s", n ? "; " : "", what);
}

/* With the caller's TZ out of sight: the zone is read at the first line (most runs write none). */
void
run_log(int priority, const char *fmt, ...)
{
	static int zone_read;
	va_list ap;

	if (!zone_read) {
		sanitize_zone();
		zone_read = 1;
	}
	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}

void
run_new_message(struct run *r)
{
	clock_gettime(CLOCK_REALTIME, &r->now);
	record_make_id(&r->now, r->id);
	r->verdict.rule = -1;
	r->verdict.warn = 0;
	r->freeze = 0;
}

static const char *
script_of(const struct run *r)
{
	return r->caller.script[0] ? r->caller.script : NULL;
}

int
run_freezes_exist(void)
{
	struct stat st;

	/* Not readable without the group, but whether it is there can be seen. */
	return stat(QWRAP_FREEZE_PATH, &st) == 0 || errno != ENOENT;
}

int
run_limits_apply(const struct run *r)
{
	/* A freeze made since this sender started applies to its next message too. */
	return r->limits_on || run_freezes_exist();
}

enum limit_outcome
run_limits(struct run *r, long rcpt)
{
	const struct conf_limit *l;
	struct kreply a;

	if (keeper_limits(&r->keeper, rcpt, script_of(r), r->caller.cwd, &a) < 0) {
		char why[sizeof a.err + 64];

		/* Never let through uncounted: the caller may have stopped the keeper for that. */
		snprintf(why, sizeof why, "the limits cannot be counted (%s)", a.err);
		run_problem(r, why);
		return LIMIT_UNCOUNTED;
	}
	if (a.err[0])
		run_problem(r, a.err);
	r->verdict = (struct rl_verdict){ .rule = a.rule, .action = (enum limit_action)a.action,
	    .count = (long)a.n, .warn = a.warn };
	memcpy(r->verdict.key, a.key, sizeof r->verdict.key);
	/* The administrator froze what this message is: held or refused, whatever the limits. */
	if ((r->freeze = a.freeze) > 0) {
		r->verdict.rule = -1;
		return r->verdict.action == LIMIT_REJECT ? LIMIT_REJECTED : LIMIT_HELD;
	}
	if (r->verdict.rule < 0 || r->verdict.rule >= r->conf->nlimits) {
		r->verdict.rule = -1;
		return LIMIT_DELIVER;
	}
	l = &r->conf->limits[r->verdict.rule];
	r->fired = rl_fired(r->conf, &r->verdict);
	/* Once per key and window, not once per message. */
	if (r->verdict.warn)
		run_log(LOG_MAIL | LOG_WARNING, "limit %d reached for %s: %ld %s in %lds (max %ld);"
		    " action %s", r->verdict.rule + 1, r->verdict.key, r->verdict.count,
		    conf_limit_counts[l->count], l->window, l->max, conf_limit_actions[l->action]);
	return r->verdict.action == LIMIT_HOLD ? LIMIT_HELD :
	    r->verdict.action == LIMIT_REJECT ? LIMIT_REJECTED : LIMIT_DELIVER;
}

const char *
run_limited_why(const struct run *r)
{
	static char why[RL_KEY_MAX + 128];

	if (r->freeze > 0)
		snprintf(why, sizeof why, "frozen by the administrator (freeze %ld)", r->freeze);
	else
		snprintf(why, sizeof why, "limit %d reached (%s, %ld %s in %lds at most)",
		    r->fired.rule, r->verdict.key, r->fired.max, r->fired.count, r->fired.window);
	return why;
}

size_t
run_header(const struct run *r, const char *eol, char *hdr)
{
	struct idvalues idv = { r->id, r->caller.uid, r->caller.gid, r->caller.pid, r->caller.cwd,
	    script_of(r) };

	return idheader_build(r->conf->header_name, r->conf->fields, r->conf->nfields, &idv, eol,
	    hdr);
}

/* The record's values as this process has them: the keeper stamps its facts over its own. */
static void
fill_record(const struct run *r, const char *action, int with_rcpt, struct record *rec)
{
	static struct rec_parent parents[RECORD_MAX_PARENTS];
	const struct caller *c = &r->caller;

	for (int i = 0; i < c->nparents; i++)
		parents[i] = (struct rec_parent){ c->parents[i].pid, c->parents[i].uid,
		    c->parents[i].exe, c->parents[i].argv, c->parents[i].argvlen };
	*rec = (struct record){
		.id = r->id, .ts = r->now, .host = r->host,
		.action = action, .mode = mode_name(r->inv.mode),
		.uid = c->uid, .gid = c->gid, .pid = c->pid,
		.cwd = c->cwd, .script = script_of(r), .script_from = c->script_from,
		.script_unresolved = c->script[0] && c->script_unresolved,
		.origin = r->origin.kind, .origin_from = r->origin.from,
		.origin_info = r->origin.info[0] ? r->origin.info : NULL,
		.origin_info_from = r->origin.info[0] ? r->origin.info_from : NULL,
		.parents = parents, .nparents = c->nparents, .env = c->env, .nenv = c->nenv,
		.argv = r->argv, .argc = r->argc, .sender = r->inv.sender,
		.from = r->fields.from, .subject = r->fields.subject,
		.message_id = r->fields.message_id, .php_script = r->fields.php_script,
		.rcpt = with_rcpt ? r->fields.rcpt : NULL, .nrcpt = r->fields.nrcpt,
		.rcpt_count = r->fields.rcpt_count, .forged_header = r->fields.nforged,
		.truncated = r->fields.cut || r->fields.header_cut,
		.limit = r->verdict.rule >= 0 ? &r->fired : NULL,
		.error = r->problems[0] ? r->problems : NULL,
	};
}

/* After the log: the record to syslog as asked, with what went wrong, and the limit's notice. */
static void
report(const struct run *r, const char *line, size_t len)
{
	if (r->conf->log_syslog)
		run_log(LOG_MAIL | LOG_INFO, "%.*s", (int)len - 1, line);
	/* A record the log may not have kept goes to syslog with what went wrong. */
	if (r->problems[0])
		run_log(LOG_MAIL | LOG_WARNING, "%s; record: %.*s", r->problems, (int)len - 1, line);
	if (r->verdict.warn && r->conf->notify[0] &&
	    notify_limit(r->conf->sendmail, r->conf->notify, r->host, r->id, r->caller.uid,
	    &r->verdict, &r->conf->limits[r->verdict.rule]) < 0)
		run_log(LOG_MAIL | LOG_WARNING, "cannot send the limit notice to %s", r->conf->notify);
}

int
run_record(struct run *r, const char *action, int with_rcpt, int refusable)
{
	static struct kreply a;
	static char here[RECORD_MAX + 1];
	struct record rec;
	int refuse = 0;

	fill_record(r, action, with_rcpt, &rec);
	/*
	 * A keeper hears of every message, log or none: the record ends the
	 * message's limits and hold there.  With no log it answers "no capture
	 * log is open" (said at the start), and its line goes to syslog only.
	 */
	if (r->keeper.sock >= 0 || r->logging) {
		int written = keeper_record(&r->keeper, &rec, &a) == 0;

		if (a.linelen > 0 && (written || !r->logging)) {
			report(r, a.line, a.linelen);
			return 0;
		}
	}
	if (r->logging) {
		run_problem(r, a.err[0] ? a.err : "the keeper wrote no record");
		if (r->conf->on_error == ON_ERROR_TEMPFAIL && refusable)
			action = "reject", refuse = 1;
		fill_record(r, action, with_rcpt, &rec);
	}
	report(r, here, record_encode(&rec, here));
	return refuse;
}
