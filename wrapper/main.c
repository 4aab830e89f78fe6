/*
 * qwrap-sendmail: stands in for /var/qmail/bin/sendmail.  Records who sent
 * each message, adds an identification header, and execs the real sendmail.
 *
 * WARNING: this program is set-gid qwrap.  The caller controls argv (argc 0
 * included), the environment, open and closed fds, the cwd, the umask,
 * rlimits, the signal mask and dispositions, interval timers, stdin, and the
 * timing of all of it.  The group is used for reading the end of a timed
 * capture session from install.state, opening the capture log and, when
 * limits are configured, for the limit state and the hold spool.  The log
 * goes at once to a keeper child (keeper.c) that keeps the group as its saved
 * gid, so the caller cannot change its limits while it writes.  Before
 * anything the caller wrote (stdin, /proc, the environment) is looked at, it
 * is dropped for good, or with limits lowered to the saved gid: effective
 * again only to update the limit state and to open, commit or remove a held
 * message, whose file names are hashes; the message itself is read and
 * written without it.  The real sendmail and any helper process get none.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "caller.h"
#include "classify.h"
#include "config.h"
#include "deliver.h"
#include "hold.h"
#include "idheader.h"
#include "keeper.h"
#include "logfile.h"
#include "message.h"
#include "notify.h"
#include "ratelimit.h"
#include "paths.h"
#include "relay.h"
#include "record.h"
#include "sanitize.h"
#include "state.h"

#define PROBLEMS_MAX 1024

/* Kept by the linker whatever its flags (retain: even with --gc-sections). */
__attribute__((used, retain)) static const char mark[] = QWRAP_SENDMAIL_MARK;

static struct conf conf;
static struct caller caller;
static struct message msg;
static struct msgfields fields;
static char problems[PROBLEMS_MAX];	/* what went wrong, for the record and the report */
static char id[RECORD_ID_LEN];		/* of the record and the header */
static struct timespec now;
static const char *host = "?";	/* the node name, for the record and the notice */
static struct keeper keeper = { -1, -1, 0 };	/* holds the capture log, opened with the group */
static int limits_on;			/* limits apply to this caller */
static gid_t kept;			/* the group, kept as the saved gid while limits_on */
static char **args;			/* of this run, for records and held mail */
static int nargs;

/*
 * syslog(3), stamped in the system's time zone: the zone is read once, at
 * the first line (most runs write none), with the caller's TZ out of sight.
 */
static void __attribute__((format(printf, 2, 3)))
logline(int priority, const char *fmt, ...)
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

static void
problem(const char *what)
{
	size_t n = strlen(problems);

	snprintf(problems + n, sizeof problems - n, "%s%s", n ? "; " : "", what);
}

/*
 * Fixed texts and our own error strings only; of the caller's, only a limit's
 * key (a path made printable by ratelimit) is echoed.
 */
static void __attribute__((noreturn))
die(int status, const char *what)
{
	fprintf(stderr, "qwrap-sendmail: %s\n", what);
	logline(LOG_MAIL | LOG_ERR, "%s", what);
	_exit(status);
}

/* Becomes the real sendmail: its exit status and signals are the caller's to see. */
static void __attribute__((noreturn))
exec_real(char *argv[], char *envp[], const struct procstate *ps)
{
	char err[PATH_MAX + 128];

	closelog();
	keeper_end(&keeper);
	deliver_exec(conf.sendmail, argv, envp, ps);
	snprintf(err, sizeof err, "cannot run the real sendmail %s: %s", conf.sendmail,
	    strerror(errno));
	die(EX_UNAVAILABLE, err);
}

static struct rl_verdict verdict;	/* of the limits; verdict.rule < 0: none fired */
static struct rec_limit fired;

enum limit_outcome { LIMIT_DELIVER, LIMIT_HELD, LIMIT_REJECTED };

static int
exempt(long uid)
{
	for (int i = 0; i < conf.nexempt; i++)
		if (conf.exempt_uids[i] == uid)
			return 1;
	return 0;
}

/* The group back to the saved gid only, after the limits or the spool needed it. */
static void
lower_group(void)
{
	if (getegid() != getgid() && sanitize_lower_group(&kept) < 0)
		die(EX_TEMPFAIL, "cannot lower the qwrap group");
}

/*
 * The limits, with the group back only for their state: count a message of
 * RCPT recipients, or say it is to be held or refused.
 */
static enum limit_outcome
check_limits(long rcpt)
{
	const char *script = caller.script[0] ? caller.script : NULL;
	long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	const struct conf_limit *l;

	if (sanitize_raise_group(kept) < 0) {
		problem("cannot take the group back for the limits; none applied");
		return LIMIT_DELIVER;
	}
	if (ratelimit_check(conf.state_dir, &conf, caller.uid, script, caller.cwd, rcpt, now_ms,
	    &verdict) < 0 || verdict.error[0])
		problem(verdict.error);
	lower_group();
	if (verdict.rule < 0)
		return LIMIT_DELIVER;
	l = &conf.limits[verdict.rule];
	fired = (struct rec_limit){ verdict.rule + 1, conf_limit_pers[l->per],
	    conf_limit_counts[l->count], conf_limit_actions[l->action], verdict.key, verdict.count,
	    l->max, l->window };
	/* Once per key and window, not once per message. */
	if (verdict.warn)
		logline(LOG_MAIL | LOG_WARNING, "limit %d reached for %s: %ld %s in %lds (max %ld);"
		    " action %s", verdict.rule + 1, verdict.key, verdict.count,
		    conf_limit_counts[l->count], l->window, l->max, conf_limit_actions[l->action]);
	return verdict.action == LIMIT_HOLD ? LIMIT_HELD : verdict.action == LIMIT_REJECT ?
	    LIMIT_REJECTED : LIMIT_DELIVER;
}

/* The envelope of a held message: who sent it, the rule, and the argv to release it with. */
static void
spool_env_of(char *argv[], int argc, struct spool_env *env, char rule[16])
{
	snprintf(rule, 16, "%d", verdict.rule + 1);
	*env = (struct spool_env){ .ts = now.tv_sec, .uid = caller.uid, .gid = caller.gid,
	    .cwd = caller.cwd, .script = caller.script[0] ? caller.script : NULL,
	    .script_from = caller.script_from, .rule = rule, .key = verdict.key,
	    .argv = argv, .argc = argc };
	memcpy(env->id, id, sizeof env->id);
}

/* The record of this run: kernel facts, the caller's claims, the message's fields. */
static size_t
encode_record(const char *action, const struct invocation *inv, int with_rcpt,
    char line[RECORD_MAX + 1])
{
	static struct rec_parent parents[RECORD_MAX_PARENTS];
	struct record rec;

	for (int i = 0; i < caller.nparents; i++)
		parents[i] = (struct rec_parent){ caller.parents[i].pid, caller.parents[i].uid,
		    caller.parents[i].exe, caller.parents[i].argv, caller.parents[i].argvlen };
	rec = (struct record){
		.id = id, .ts = now, .host = host,
		.action = action, .mode = mode_name(inv->mode),
		.uid = caller.uid, .gid = caller.gid, .pid = caller.pid, .cwd = caller.cwd,
		.script = caller.script[0] ? caller.script : NULL, .script_from = caller.script_from,
		.parents = parents, .nparents = caller.nparents,
		.env = caller.env, .nenv = caller.nenv,
		.argv = args, .argc = nargs, .sender = inv->sender,
		.from = fields.from, .subject = fields.subject,
		.message_id = fields.message_id, .php_script = fields.php_script,
		.rcpt = with_rcpt ? fields.rcpt : NULL, .nrcpt = fields.nrcpt,
		.rcpt_count = fields.rcpt_count, .forged_header = fields.nforged,
		.truncated = fields.cut || fields.header_cut,
		.limit = verdict.rule >= 0 ? &fired : NULL,
		.error = problems[0] ? problems : NULL,
	};
	return record_encode(&rec, line);
}

/*
 * The spool is the group's: a hold is opened, committed or removed with it,
 * and written without it.
 */
static int
raise_for_spool(char *err)
{
	if (sanitize_raise_group(kept) == 0)
		return 0;
	snprintf(err, SPOOL_ERR_MAX, "cannot take the group back for the spool");
	return -1;
}

/* What the spool holds, holds under way included: looked at with the group, as it was. */
static long long
spool_use(const char *dir)
{
	int had = getegid() == kept;
	long long used;

	if (!had && sanitize_raise_group(kept) < 0)
		return -1;
	used = spool_sweep(dir, time(NULL), NULL);
	if (!had)
		lower_group();
	return used;
}

static int
spool_open(struct hold *hd, const struct spool_env *env, char *err)
{
	int r;

	if (raise_for_spool(err) < 0)
		return -1;
	r = hold_open(hd, conf.spool_dir, conf.spool_max_mb, env, spool_use, err);
	lower_group();
	return r;
}

static void
spool_abort(struct hold *hd)
{
	sanitize_raise_group(kept);
	hold_abort(hd);
	lower_group();
}

static int
spool_commit(struct hold *hd, char *err)
{
	int r;

	if (raise_for_spool(err) < 0) {
		spool_abort(hd);	/* tries the group again: only with it can the file go */
		return -1;
	}
	r = hold_commit(hd, err);
	lower_group();
	return r;
}

/* Holds the message whole in the spool; -1, in problems, when it cannot. */
static int
hold(const char *hdr, size_t hdrlen)
{
	struct spool_env env;
	struct hold hd;
	char rule[16], err[SPOOL_ERR_MAX];

	spool_env_of(args, nargs, &env, rule);
	if (spool_open(&hd, &env, err) < 0)
		goto fail;
	if (hold_stream(&hd, hdr, hdrlen, &msg, &fields, conf.header_name, err) < 0) {
		spool_abort(&hd);
		goto fail;
	}
	if (spool_commit(&hd, err) == 0)
		return 0;
fail:
	problem(err);
	return -1;
}

/* After the log: the record to syslog as asked, with what went wrong, and the limit's notice. */
static void
report(const char *line, size_t linelen)
{
	if (conf.log_syslog)
		logline(LOG_MAIL | LOG_INFO, "%.*s", (int)linelen - 1, line);
	/* A record the log may not have kept goes to syslog with what went wrong. */
	if (problems[0])
		logline(LOG_MAIL | LOG_WARNING, "%s; record: %.*s", problems, (int)linelen - 1, line);
	if (verdict.warn && conf.notify[0] &&
	    notify_limit(conf.sendmail, conf.notify, host, id, caller.uid, &verdict,
	    &conf.limits[verdict.rule]) < 0)
		logline(LOG_MAIL | LOG_WARNING, "cannot send the limit notice to %s", conf.notify);
}

/*
 * The record of this run, as ACTION, to the log and then to syslog as
 * asked.  A record the log does not take is encoded again with what went
 * wrong; under on_error = "tempfail" a message that was to be sent
 * (REFUSABLE) is refused then, and the record says "reject": returns 1.
 */
static int
log_record(const char *action, const struct invocation *inv, int with_rcpt, int refusable)
{
	char line[RECORD_MAX + 1], err[LOGFILE_ERR_MAX];
	size_t linelen = encode_record(action, inv, with_rcpt, line);
	int refuse = 0;

	if ((keeper.sock >= 0 || keeper.lost) && keeper_append(&keeper, line, linelen, err) < 0) {
		problem(err);
		if (conf.on_error == ON_ERROR_TEMPFAIL && refusable)
			action = "reject", refuse = 1;
		linelen = encode_record(action, inv, with_rcpt, line);
	}
	report(line, linelen);
	return refuse;
}

/*
 * sendmail -bs, relayed: each message of the session gets what message
 * mode gives one message.  These are the relay's hooks; the caller was
 * identified once, and the problems of the session's start stay in every
 * record, the message's own only in its own.
 */
static size_t session_problems;	/* the start of problems[] they fill */

static enum relay_verdict
smtp_begin(const struct relay_txn *t, char *why, size_t whymax)
{
	enum limit_outcome out = LIMIT_DELIVER;

	clock_gettime(CLOCK_REALTIME, &now);
	record_make_id(&now, id);
	verdict.rule = -1;
	verdict.warn = 0;
	if (limits_on && t->rcpt_count > 0)
		out = check_limits(t->rcpt_count);
	if (out == LIMIT_REJECTED) {
		snprintf(why, whymax, "limit %d reached (%s, %ld %s in %lds at most); try again later",
		    fired.rule, verdict.key, fired.max, fired.count, fired.window);
		return RELAY_REJECT;
	}
	/* Under on_error = "tempfail" a capture that already failed refuses the message. */
	if (problems[0] && conf.on_error == ON_ERROR_TEMPFAIL && out != LIMIT_HELD) {
		snprintf(why, whymax, "capture failed and on_error is tempfail; try again later");
		return RELAY_REJECT;
	}
	return out == LIMIT_HELD ? RELAY_HOLD : RELAY_DELIVER;
}

static size_t
smtp_header(const char *eol, char *hdr)
{
	struct idvalues idv = { id, caller.uid, caller.gid, caller.pid, caller.cwd,
	    caller.script[0] ? caller.script : NULL };

	return idheader_build(conf.header_name, conf.fields, conf.nfields, &idv, eol, hdr);
}

/*
 * Held for qwrap release as a message-mode sendmail: -f SENDER -- RECIPIENTS.
 * The envelope is static: the hold points to it until its commit.
 */
static int
smtp_hold_open(const struct relay_txn *t, struct hold *hd, char *err)
{
	static char *argv[5 + MSG_RCPT_MAX], rule[16];
	static struct spool_env env;
	int n = 0;

	if (t->cut || t->nrcpt < t->rcpt_count) {
		snprintf(err, SPOOL_ERR_MAX, "more than %d recipients, or one too long, to hold whole",
		    MSG_RCPT_MAX);
		return -1;
	}
	argv[n++] = args[0];
	argv[n++] = "-f";
	argv[n++] = (char *)t->sender;
	argv[n++] = "--";
	for (int i = 0; i < t->nrcpt; i++)
		argv[n++] = t->rcpt[i];
	argv[n] = NULL;
	spool_env_of(argv, n, &env, rule);
	return spool_open(hd, &env, err);
}

static int
smtp_record(const struct relay_txn *t, const char *action, const char *what)
{
	struct invocation inv = { MODE_SMTP, 0, t->has_sender ? t->sender : NULL, nargs };
	static int told;	/* the session's own problems, said once */
	const char *news;
	int refuse;

	if (what != NULL)
		problem(what);
	/* As in message mode: what cannot be recorded is not sent. */
	if ((refuse = log_record(action, &inv, 1, strcmp(action, "deliver") == 0)))
		action = "reject";
	/*
	 * Standard error is not the dialogue: the caller's log hears of it, as
	 * in message mode; the session's own problems with its first message.
	 */
	news = problems;
	if (told && session_problems > 0)
		news += session_problems + (problems[session_problems] ? 2 : 0);	/* "; " */
	if (news[0])
		fprintf(stderr, "qwrap-sendmail: warning: %s%s\n", news,
		    strcmp(action, "deliver") == 0 ? "; message sent anyway" : "");
	told = 1;
	problems[session_problems] = '\0';
	return refuse ? -1 : 0;
}

/* A message recorded as delivered that the server refused: said in syslog, by its id. */
static void
smtp_refused(const char *what)
{
	logline(LOG_MAIL | LOG_WARNING, "message %s: %s", id, what);
}

/* Relays the session and ends as the real sendmail did; returns only when it could not start. */
static void
smtp_session(char *envp[], const struct procstate *ps)
{
	static const struct relay_hooks hooks = { smtp_begin, smtp_header, smtp_hold_open,
	    spool_commit, spool_abort, smtp_record, smtp_refused };
	char err[RELAY_ERR_MAX];
	int status;

	if (!limits_on && sanitize_drop_group() < 0)
		die(EX_TEMPFAIL, "cannot drop the qwrap group");
	session_problems = strlen(problems);
	status = relay_run(conf.sendmail, args, envp, ps, conf.header_name, &msg, &fields, &hooks,
	    err);
	if (status < 0) {
		/* Without the relay there are no limits: a caller short of processes is refused. */
		if (limits_on)
			die(EX_TEMPFAIL, err);
		problem(err);
		return;
	}
	closelog();
	if (WIFSIGNALED(status)) {
		sigset_t one;

		/* Killed as the real sendmail was, whatever the caller blocked. */
		sigemptyset(&one);
		sigaddset(&one, WTERMSIG(status));
		signal(WTERMSIG(status), SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : EX_TEMPFAIL);
}

int
main(int argc, char *argv[], char *envp[])
{
	struct procstate ps;
	struct invocation inv;
	struct channel ch = { -1, -1, 0 };
	struct idvalues idv;
	const char *action;
	char err[PATH_MAX + 128], target_err[DELIVER_ERR_MAX];
	enum conf_status cstatus;
	int logfd;
	char hdr[IDHEADER_MAX];
	size_t hdrlen = 0;
	int capture, target_ok, feed_ok = 1, refuse;
	enum limit_outcome limited = LIMIT_DELIVER;
	struct stat self;
	struct utsname uts;

	/* Open 0-2 first, so nothing we open later can land on stdio. */
	if (sanitize_stdio() < 0)
		_exit(EX_TEMPFAIL);
	/* The PHP script is often among the inherited fds: look before closing them. */
	caller_scan_fds("/proc", caller.fd_script);
	sanitize_close_fds();
	openlog("qwrap-sendmail", LOG_PID, LOG_MAIL);
	if (sanitize_state(&ps) < 0)
		die(EX_TEMPFAIL, "cannot reset the process state");
	if (argc < 1 || argv[0] == NULL)
		die(EX_USAGE, "called without a program name");
	/* Set-gid without the loader's secure mode would honour LD_PRELOAD and friends. */
	if (getegid() != getgid() && getauxval(AT_SECURE) != 1)
		die(EX_TEMPFAIL, "set-gid without secure mode; refusing to run");
	if (geteuid() != getuid())
		die(EX_TEMPFAIL, "must be installed set-gid, not set-uid");

	/*
	 * Whoever owns the installed binary could replace it, so they may own
	 * its files too; and the real sendmail must not be this binary.
	 */
	if (stat("/proc/self/exe", &self) < 0)
		die(EX_TEMPFAIL, "cannot stat /proc/self/exe");

	/* The configuration comes from the compiled-in path only. */
	if ((cstatus = conf_load(QWRAP_CONF_PATH, self.st_uid, &conf, err)) == CONF_BAD)
		problem(err);

	/*
	 * A timed capture session whose revert never ran ends here all the
	 * same: the real sendmail, untouched, with no header and no record.
	 */
	if (state_session_over(conf.state_dir, self.st_uid, time(NULL))) {
		if (sanitize_drop_group() < 0)
			die(EX_TEMPFAIL, "cannot drop the qwrap group");
		if (deliver_check_target(conf.sendmail, &self, target_err) < 0)
			die(EX_UNAVAILABLE, target_err);
		exec_real(argv, envp, &ps);
	}
	/*
	 * Once capture is on, a missing config is no reason to fall back on the
	 * defaults, with other limits and perhaps another log: its absence is a
	 * mistake (or worse) the admin must see, and mail waits until it is back.
	 */
	if (cstatus == CONF_ABSENT && state_enabled(conf.state_dir, self.st_uid))
		die(EX_TEMPFAIL, "the config " QWRAP_CONF_PATH " is missing while capture is on;"
		    " message not sent (put it back, or qwrap-install --revert)");

	/*
	 * Open the log while we still hold the group, and hand it to the keeper,
	 * whose credentials stay out of the caller's reach while it writes.  Then
	 * drop the group for good or, when limits are configured, keep it only as
	 * the saved gid until they are applied: the caller's data is read with
	 * the caller's gid.
	 */
	if ((logfd = logfile_open(conf.log_file, self.st_uid, err)) < 0 ||
	    keeper_start(logfd, conf.log_file, &keeper, err) < 0)
		problem(err);
	verdict.rule = -1;
	if ((conf.nlimits > 0 ? sanitize_lower_group(&kept) : sanitize_drop_group()) < 0)
		die(EX_TEMPFAIL, "cannot lower the qwrap group");

	args = argv;
	nargs = argc;
	classify(argc, argv, conf.mta, &inv);
	capture = inv.mode == MODE_MESSAGE;
	caller_identify("/proc", (long)getuid(), (long)getgid(), (long)getpid(),
	    (long)getppid(), envp, &caller);
	limits_on = conf.nlimits > 0 && !exempt(caller.uid);
	/*
	 * Under no_new_privs, a tracer or in a user namespace the kernel runs a
	 * set-gid program without its group (KEPT is then the caller's own): no
	 * limit could be counted, so mail the limits apply to is refused, never
	 * let through uncounted.
	 */
	if (limits_on && (self.st_mode & S_ISGID) && kept != self.st_gid && geteuid() != 0 &&
	    (inv.mode == MODE_MESSAGE ||
	    (inv.mode == MODE_SMTP && conf.smtp_mode == SMTP_MODE_RELAY)))
		die(EX_TEMPFAIL, "running without the qwrap group (no_new_privs, a tracer or a user"
		    " namespace): the limits cannot be counted; message not sent");
	if (uname(&uts) == 0)
		host = uts.nodename;

	/* The real sendmail must be there before any of the message is read. */
	target_ok = deliver_check_target(conf.sendmail, &self, target_err) == 0;
	if (!target_ok) {
		problem(target_err);
		capture = 0;
	}
	if (capture && deliver_channel_open(&ch) < 0) {
		/* Out of descriptors is the caller's doing: it must not get past the limits. */
		if (limits_on)
			die(EX_TEMPFAIL, "cannot open a pipe; message not sent");
		problem("cannot open a pipe: message delivered without the header");
		capture = 0;
	}
	if (capture) {
		if (message_read(0, &msg) < 0)
			die(EX_TEMPFAIL, "cannot read the message from standard input");
		message_parse(&msg, inv.headers_rcpt, argv + inv.first_rcpt,
		    argc - inv.first_rcpt, conf.header_name, &fields);
	}
	/* php-fpm is asked for captured mail only: a listing or a refusal need not wait for it. */
	caller_resolve_script("/proc", envp, fields.php_script.p, fields.php_script.n,
	    capture || inv.mode == MODE_SMTP ? conf.fpm_status_socket : NULL,
	    conf.fpm_status_path, &caller);
	if (inv.mode == MODE_SMTP && conf.smtp_mode == SMTP_MODE_RELAY && target_ok)
		smtp_session(envp, &ps);	/* returns only when it could not start: passed through */

	/*
	 * The message goes into the pipe before the record is written, so that
	 * the record can say whether that worked.
	 */
	clock_gettime(CLOCK_REALTIME, &now);
	record_make_id(&now, id);
	if (capture) {
		idv = (struct idvalues){ id, caller.uid, caller.gid, caller.pid, caller.cwd,
		    caller.script[0] ? caller.script : NULL };
		hdrlen = idheader_build(conf.header_name, conf.fields, conf.nfields, &idv,
		    msg.crlf ? "\r\n" : "\n", hdr);
		if (limits_on) {
			/* Recipients past the buffer cannot be counted: too many, then. */
			limited = check_limits(fields.header_cut && inv.headers_rcpt ? LONG_MAX / 2 :
			    fields.rcpt_count);
			if (limited == LIMIT_HELD && hold(hdr, hdrlen) < 0)
				limited = LIMIT_REJECTED;	/* the caller is told; nothing is queued */
		}
	}
	if (sanitize_drop_group() < 0)
		die(EX_TEMPFAIL, "cannot drop the qwrap group");
	/* Under on_error = "tempfail" a capture that already failed refuses the message. */
	refuse = problems[0] && conf.on_error == ON_ERROR_TEMPFAIL && limited != LIMIT_HELD;
	if (capture && limited == LIMIT_DELIVER && !refuse &&
	    deliver_feed(&ch, hdr, hdrlen, &msg, &fields, conf.header_name, err) < 0) {
		problem(err);
		feed_ok = 0;
	}

	/* One record, one write. */
	action = inv.mode != MODE_MESSAGE ? "passthrough" : limited == LIMIT_HELD ? "hold" :
	    "deliver";
	if (!target_ok || !feed_ok || refuse || limited == LIMIT_REJECTED)
		action = "reject";
	if (log_record(action, &inv, capture, limited != LIMIT_HELD))
		refuse = 1;
	keeper_end(&keeper);
	if (limited == LIMIT_HELD) {
		closelog();
		_exit(0);
	}
	if (limited == LIMIT_REJECTED) {
		snprintf(err, sizeof err, "limit %d reached (%s, %ld %s in %lds at most): message not"
		    " sent", fired.rule, verdict.key, fired.max, fired.count, fired.window);
		die(EX_UNAVAILABLE, err);
	}
	if (!target_ok)
		die(EX_UNAVAILABLE, target_err);
	if (!feed_ok)
		die(EX_TEMPFAIL, "cannot hand the message on; message not sent");
	if (refuse)
		die(EX_TEMPFAIL, "capture failed and on_error is tempfail; message not sent");
	if (problems[0])
		fprintf(stderr, "qwrap-sendmail: warning: %s; message sent anyway\n", problems);
	exec_real(argv, envp, &ps);
}
