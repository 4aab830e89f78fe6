/*
 * qwrap-sendmail: stands in for /var/qmail/bin/sendmail.  Records who sent
 * each message, adds an identification header, and execs the real sendmail.
 *
 * WARNING: this program is set-gid qwrap.  The caller controls argv (argc 0
 * included), the environment, open and closed fds, the cwd, the umask,
 * rlimits, the signal mask and dispositions, interval timers, stdin, and the
 * timing of all of it.  So it is split in two at start-up, as qmail-inject
 * and qmail-queue are two programs: the prologue, which has the group,
 * looks only at the kernel's facts and forks the keeper (keeper.c), which
 * keeps the group, reads root's config and the session's end, opens the
 * capture log and answers a few fixed requests; this process, the worker,
 * drops the group for good and does everything else (argv, /proc, php-fpm,
 * the message, the -bs relay, the real sendmail) as the caller.  The real sendmail and any helper process
 * get none of the group.
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

#include "paths.h"
#include "run.h"

/* Kept by the linker whatever its flags (retain: even with --gc-sections). */
__attribute__((used, retain)) static const char mark[] = QWRAP_SENDMAIL_MARK;

/* Fixed texts and our own error strings only; of the caller's, only a limit's key. */
static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	char what[PROBLEMS_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "qwrap-sendmail: %s\n", what);
	run_log(LOG_MAIL | LOG_ERR, "%s", what);
	_exit(status);
}

/* Becomes the real sendmail: its exit status and signals are the caller's to see. */
static void __attribute__((noreturn))
exec_real(struct run *r)
{
	closelog();
	keeper_end(&r->keeper);
	deliver_exec(r->conf->sendmail, r->argv, r->envp, r->ps);
	die(EX_UNAVAILABLE, "cannot run the real sendmail %s: %s", r->conf->sendmail,
	    strerror(errno));
}

/*
 * Everything done with the group, before anything the caller wrote is
 * read: sanitise the process, and split.  Returns in the worker, without
 * the group.
 */
static void
prologue(struct run *r, struct procstate *ps)
{
	static struct utsname uts;
	struct keeper_setup ks;
	char err[SPLIT_ERR_MAX];

	/* Open 0-2 first, so nothing we open later can land on stdio. */
	if (sanitize_stdio() < 0)
		_exit(EX_TEMPFAIL);
	openlog("qwrap-sendmail", LOG_PID, LOG_MAIL);
	if (sanitize_state(ps) < 0)
		die(EX_TEMPFAIL, "cannot reset the process state");
	if (r->argc < 1 || r->argv[0] == NULL)
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
	if (stat("/proc/self/exe", &r->self) < 0)
		die(EX_TEMPFAIL, "cannot stat /proc/self/exe");
	if (uname(&uts) == 0)
		r->host = uts.nodename;
	/*
	 * Under no_new_privs, a tracer or in a user namespace the kernel runs a
	 * set-gid program without its group: no limit could be counted then.
	 */
	r->no_group = (r->self.st_mode & S_ISGID) && getegid() != r->self.st_gid && geteuid() != 0;

	ks = (struct keeper_setup){ .conf = NULL, .logfd = -1, .uid = (long)getuid(),
	    .gid = (long)getgid(), .pid = (long)getpid(), .host = r->host, .argv = r->argv,
	    .argc = r->argc };
	switch (split_start(&r->keeper, r->self.st_uid, &ks, err)) {
	case -1:
		die(EX_TEMPFAIL, "cannot drop the qwrap group");
	case 1:
		run_problem(r, err);
	}
}

/*
 * Who is calling, while the keeper reads the config: the PHP script is often
 * among the inherited fds, so they are looked at before they are closed.
 */
static void
identify(struct run *r)
{
	caller_scan_fds("/proc", r->caller.fd_script);
	sanitize_close_fds_but(r->keeper.sock, r->keeper.sock);
	caller_identify("/proc", (long)getuid(), (long)getgid(), (long)getpid(), (long)getppid(),
	    r->envp, &r->caller);
	origin_find("/proc", r->envp, &r->caller, &r->origin);
}

/*
 * The config, the session's end and the log, as the keeper found them.  With
 * no keeper (a caller out of processes, or one that stopped it) the config
 * is read here, and capture goes on; only whether capture is on cannot be
 * read without the group, so a missing config then refuses mail as when it
 * is.
 */
static void
configure(struct run *r, struct conf *conf)
{
	static struct kstart st;
	char err[SPLIT_ERR_MAX];

	if (keeper_started(&r->keeper, &st, err) < 0) {
		run_problem(r, err);
		/* A caller that stopped its keeper (or left it no processes) gets no mail past them. */
		r->frozen = run_freezes_exist();
		switch (conf_load(QWRAP_CONF_PATH, r->self.st_uid, conf, err)) {
		case CONF_ABSENT:
			die(EX_TEMPFAIL, "no keeper (%s), and the config " QWRAP_CONF_PATH
			    " is missing; message not sent", r->problems);
		case CONF_BAD:
			run_problem(r, err);
			break;
		case CONF_OK:
			break;
		}
		return;
	}
	*conf = st.conf;
	r->frozen = st.frozen;
	if (st.cstatus == CONF_BAD)
		run_problem(r, st.conf_err);
	/*
	 * A timed capture session whose revert never ran ends here all the
	 * same: the real sendmail, untouched, with no header and no record.
	 */
	if (st.session_over) {
		if (deliver_check_target(conf->sendmail, &r->self, r->target_err) < 0)
			die(EX_UNAVAILABLE, "%s", r->target_err);
		exec_real(r);
	}
	/*
	 * Once capture is on, a missing config is no reason to fall back on the
	 * defaults, with other limits and perhaps another log: its absence is a
	 * mistake (or worse) the admin must see, and mail waits until it is back.
	 */
	if (st.config_missing)
		die(EX_TEMPFAIL, "the config " QWRAP_CONF_PATH " is missing while capture is on;"
		    " message not sent (put it back, or qwrap-install --revert)");
	if (!st.logging)
		run_problem(r, st.log_err);
	r->logging = st.logging;
}

/*
 * What the caller sees of the outcome: decided here only.  The keeper ends
 * with this process, or just before the exec.
 */
static void __attribute__((noreturn))
finish(struct run *r, enum outcome out)
{
	int status = r->child_status;

	switch (out) {
	case OUT_SEND:
		if (r->problems[0])
			fprintf(stderr, "qwrap-sendmail: warning: %s; message sent anyway\n",
			    r->problems);
		exec_real(r);
	case OUT_HELD:
		closelog();
		_exit(0);
	case OUT_LIMITED:
		die(EX_UNAVAILABLE, "%s: message not sent", run_limited_why(r));
	case OUT_NO_TARGET:
		die(EX_UNAVAILABLE, "%s", r->target_err);
	case OUT_UNCOUNTED:
	case OUT_NOT_FED:
		die(EX_TEMPFAIL, "%s; message not sent", r->problems);
	case OUT_REFUSED:
		die(EX_TEMPFAIL, "capture failed and on_error is tempfail; message not sent");
	case OUT_AS_CHILD:
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
	_exit(EX_SOFTWARE);
}

int
main(int argc, char *argv[], char *envp[])
{
	static struct run run;
	static struct conf conf;
	struct procstate ps;
	enum outcome out;

	/*
	 * Field by field: the rest of RUN (static, so zero) is not touched before
	 * the split, and each page of it the worker writes afterwards is a page
	 * the fork did not have to share.
	 */
	run.conf = &conf;
	run.ps = &ps;
	run.argv = argv;
	run.envp = envp;
	run.argc = argc;
	run.host = "?";
	run.keeper = (struct keeper){ -1, -1, -1, 0 };
	run.verdict.rule = -1;
	prologue(&run, &ps);
	identify(&run);
	configure(&run, &conf);

	classify(argc, argv, conf.mta, &run.inv);
	/* The real sendmail must be there before any of the message is read. */
	run.target_ok = deliver_check_target(conf.sendmail, &run.self, run.target_err) == 0;
	if (!run.target_ok)
		run_problem(&run, run.target_err);
	run.limits_on = conf_limits_apply(&conf, run.caller.uid) || run.frozen;
	/* Mail the limits apply to is refused then, never let through uncounted. */
	if (run.limits_on && run.no_group && (run.inv.mode == MODE_MESSAGE ||
	    (run.inv.mode == MODE_SMTP && conf.smtp_mode == SMTP_MODE_RELAY)))
		die(EX_TEMPFAIL, "running without the qwrap group (no_new_privs, a tracer or a user"
		    " namespace): the limits cannot be counted; message not sent");

	/* A session handed on whole cannot be checked message by message. */
	if (run.inv.mode == MODE_SMTP && run.frozen && conf.smtp_mode != SMTP_MODE_RELAY)
		die(EX_TEMPFAIL, "a freeze may apply to this sender, and -bs sessions are handed on"
		    " whole (smtp_mode = \"passthrough\"): message not sent");

	if (run.inv.mode == MODE_MESSAGE)
		out = run_message(&run);
	else if (run.inv.mode == MODE_SMTP && conf.smtp_mode == SMTP_MODE_RELAY && run.target_ok)
		out = run_smtp(&run);
	else
		out = run_passthrough(&run);
	finish(&run, out);
}
