/*
 * qwrap-install: swaps qwrap-sendmail in for the MTA's sendmail and back,
 * with the target never missing and the original never lost, and runs timed
 * capture sessions that end by themselves.  Runs as root; never set-gid.
 * Every change happens under a lock on the state directory, in an order
 * where a crash at any step leaves the old state or the new one, and the
 * next run finishes or explains.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "inst.h"
#include "paths.h"

#define LONGEST_SESSION (366L * 86400)
#define LOCK_WAIT 60		/* seconds another installer may hold the lock */

static const char *root = "";	/* --root: every path below lives under it */
static char rootbuf[PATH_MAX];
static struct conf conf;
static int scheduled;		/* run by a session's scheduled revert: report to syslog too */
static char err[ERR_MAX];

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "qwrap-install: %s\n", msg);
	if (scheduled)
		syslog(LOG_ERR, "%s", msg);
	exit(status);
}

/* A module's failure: its sysexits code and its explanation. */
static void
check(int status)
{
	if (status != 0)
		die(status, "%s", err);
}

static void
under_root(const char *path, char out[PATH_MAX])
{
	if (path_at(root, path, out) < 0)
		die(EX_USAGE, "path too long: %s%s", root, path);
}

static const char *
when(long long t)
{
	static char buf[2][64];
	static int i;
	time_t tt = (time_t)t;
	struct tm tm;

	i = !i;
	strftime(buf[i], sizeof buf[i], "%Y-%m-%d %H:%M:%S %Z", localtime_r(&tt, &tm));
	return buf[i];
}

static const char *
span(long long s)
{
	static char buf[64];

	if (s >= 86400)
		snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", s / 86400, s % 86400 / 3600,
		    s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", s / 3600, s % 3600 / 60, s % 60);
	else
		snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
	return buf;
}

/*
 * One installer at a time: the lock is the state directory itself, held
 * until exit.  A hung installer does not hold a scheduled revert forever.
 */
static void
lock_state_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), waited = 0;

	if (fd < 0)
		die(EX_IOERR, "cannot open %s: %s", dir, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			die(EX_IOERR, "cannot lock %s: %s", dir, strerror(errno));
		if (waited++ == LOCK_WAIT)
			die(EX_TEMPFAIL, "another qwrap-install has held %s for %d s; try again",
			    dir, LOCK_WAIT);
		sleep(1);
	}
}

/*
 * The state's own directory, where nothing that has the group can remove
 * it (an older install's files moved in): of the state directory's group.
 */
static void
state_home_of(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		die(EX_IOERR, "cannot look at %s: %s", dir, strerror(errno));
	if (state_home(dir, st.st_gid, err) < 0)
		die(EX_IOERR, "%s", err);
}

static int
load_state(const char *dir, const char *name, struct install_state *s)
{
	int r = state_load(dir, name, 0, s, err);

	if (r < 0 && (errno == EACCES || errno == EPERM))
		die(EX_NOPERM, "%s: run as root", err);
	if (r < 0)
		die(EX_DATAERR, "%s; look at it, then remove it or restore the original by hand", err);
	return r;
}

static void
save_state(const char *dir, gid_t gid, const struct install_state *s)
{
	if (state_save(dir, gid, s, err) < 0)
		die(EX_IOERR, "%s", err);
}

static void
new_session(struct install_state *s, long duration)
{
	unsigned char r[STATE_SESSION_LEN / 2];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		die(EX_OSERR, "getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(s->session + 2 * i, 3, "%02x", r[i]);
	s->deadline = duration ? (long long)time(NULL) + duration : 0;
	s->scheduler[0] = s->job[0] = '\0';
}

/* Schedules the end of a timed session; the wrapper's deadline check backs it up. */
static void
schedule(const char *dir, gid_t gid, struct install_state *s, const char *how)
{
	if (s->deadline == 0)
		return;
	if (schedule_start(how, root, s, err) != 0) {
		fprintf(stderr, "qwrap-install: warning: the automatic revert is not scheduled (%s);"
		    " qwrap-sendmail stops capturing at %s all the same; run qwrap-install --revert"
		    " then\n", err, when(s->deadline));
		return;
	}
	save_state(dir, gid, s);
	note("capture ends at %s (in %s); revert scheduled by %s%s%s", when(s->deadline),
	    span(s->deadline - (long long)time(NULL)), s->scheduler, s->job[0] ? " " : "", s->job);
}

/* Where this session's records start: the log's inode and size now. */
static void
log_mark(struct install_state *s)
{
	char path[PATH_MAX];
	struct stat st;

	under_root(conf.log_file, path);
	if (stat(path, &st) == 0) {
		s->log_ino = (long long)st.st_ino;
		s->log_offset = (long long)st.st_size;
	}
}

/* Whether A and B (paths under the root) name entries of one directory. */
static int
same_directory(const char *a, const char *b)
{
	char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];

	path_dir(a, da);
	path_dir(b, db);
	return realpath(da, ra) != NULL && realpath(db, rb) != NULL && strcmp(ra, rb) == 0;
}

static int
enable(const char *target_arg, long duration, const char *how)
{
	char target[PATH_MAX], original[PATH_MAX], wrapper[PATH_MAX], path[PATH_MAX];
	char dir[PATH_MAX];
	struct install_state s, last;
	struct stat tst;
	gid_t gid;
	int have, have_last;

	under_root(target_arg, target);
	under_root(conf.sendmail, original);
	if (lstat(target, &tst) < 0)
		die(EX_NOINPUT, "%s: %s; nothing to put qwrap in front of", target, strerror(errno));
	/* Renaming the wrapper's link over the original's only name would lose it. */
	if (same_entry(target, original))
		die(EX_CONFIG, "%s and 'sendmail' in the config (%s) are one name: the original"
		    " needs a second name of its own; set 'sendmail' to another name in the same"
		    " directory, such as %s-qmail", target_arg, conf.sendmail, target_arg);
	/*
	 * Another target, and the config still names qmail's second name in
	 * another directory: it was not set for this target.  Going on would
	 * make that MTA's program look like qmail's, or take over the name the
	 * last session left there.
	 */
	if (strcmp(target_arg, DEFAULT_TARGET) != 0 &&
	    strcmp(conf.sendmail, QWRAP_REAL_SENDMAIL) == 0 && !same_directory(target, original))
		die(EX_CONFIG, "'sendmail' in the config is %s, not in the same directory as %s:"
		    " the original must get its second name beside it.  Set sendmail = \"%s-real\";"
		    " in %s, then enable again", conf.sendmail, target_arg, target_arg,
		    QWRAP_CONF_PATH);
	under_root(QWRAP_WRAPPER, wrapper);
	if (!is_link_to(target, QWRAP_WRAPPER))
		check(swap_check_original(target, original, wrapper, err));
	/* Nothing the wrapper trusts may lie below a directory someone else may write. */
	for (int i = 0, r; (r = trusted_nth(root, &conf, i, err)) >= 0; i++)
		check(r);

	/* What the wrapper needs to record anything, made or put right, under the lock. */
	check(setup_group(&gid, err));
	under_root(conf.state_dir, dir);
	check(setup_dir(dir, gid, err));
	lock_state_dir(dir);
	state_home_of(dir);
	check(setup_wrapper(wrapper, gid, err));
	under_root(conf.log_file, path);
	check(setup_log(path, gid, err));
	under_root(conf.spool_dir, path);
	check(setup_dir(path, gid, err));

	have = load_state(dir, STATE_NAME, &s);
	if (lstat(target, &tst) < 0)
		die(EX_NOINPUT, "%s: %s; nothing to put qwrap in front of", target, strerror(errno));
	if (S_ISLNK(tst.st_mode) && is_link_to(target, QWRAP_WRAPPER)) {
		struct install_state old = s;

		if (!have)
			die(EX_DATAERR, "%s already points to qwrap-sendmail but no state was recorded;"
			    " put the original back by hand (if %s is it: ln -f %s %s), then enable"
			    " again", target, original, original, target);
		if (duration == 0 && (s.deadline == 0 || (long long)time(NULL) < s.deadline)) {
			note("already enabled since %s%s", when(s.enabled_at),
			    s.deadline ? "; --for changes when the session ends" : "");
			return 0;
		}
		/* A new end for the session (none: until --revert), under a new name. */
		new_session(&s, duration);
		save_state(dir, gid, &s);
		schedule_cancel(&old);
		if (duration == 0)
			note("the timed session had expired; capturing again, until --revert");
		schedule(dir, gid, &s, how);
		return 0;
	}
	if (have && ((long long)tst.st_dev != s.dev || (long long)tst.st_ino != s.ino))
		die(EX_DATAERR, "a state from an earlier enable names another file; run --revert first");

	/* The original keeps a second name, then the target becomes the wrapper's link. */
	/* The last session's original only for the same target. */
	have_last = load_state(dir, STATE_LAST, &last) && strcmp(last.target, target_arg) == 0;
	check(swap_second_name(target, &tst, original, have_last ? &last : NULL, err));
	memset(&s, 0, sizeof s);
	snprintf(s.target, sizeof s.target, "%s", target_arg);
	snprintf(s.original, sizeof s.original, "%s", conf.sendmail);
	snprintf(s.wrapper, sizeof s.wrapper, "%s", QWRAP_WRAPPER);
	s.dev = (long long)tst.st_dev;
	s.ino = (long long)tst.st_ino;
	s.mode = tst.st_mode & 07777;
	s.uid = tst.st_uid;
	s.gid = tst.st_gid;
	if (fingerprint(original, &tst, s.sha256, err) < 0)
		die(EX_IOERR, "%s", err);
	s.enabled_at = (long long)time(NULL);
	log_mark(&s);
	new_session(&s, duration);
	save_state(dir, gid, &s);
	check(swap_replace(target, 1, QWRAP_WRAPPER, err));
	note("enabled: %s -> %s (the original is %s)", target, QWRAP_WRAPPER, original);
	schedule(dir, gid, &s, how);
	return 0;
}

static void
finish(const char *dir, const struct install_state *s, const char *session)
{
	if (state_retire(dir, err) < 0)
		die(EX_IOERR, "%s", err);
	/* A scheduled revert running now is the job itself: nothing to cancel. */
	if (session == NULL)
		schedule_cancel(s);
}

static int
revert(int force, int keep, const char *target_arg, const char *session, long long at)
{
	char target[PATH_MAX], original[PATH_MAX], dir[PATH_MAX], wrapper[PATH_MAX];
	struct install_state s;
	struct stat tst, ost, wst;
	int same, missing = 0;

	/* A scheduled revert waits here for its deadline. */
	if (at > 0)
		schedule_wait(at);
	under_root(conf.state_dir, dir);
	if (access(dir, F_OK) == 0) {
		lock_state_dir(dir);
		state_home_of(dir);
	}
	if (access(dir, F_OK) < 0 || !load_state(dir, STATE_NAME, &s)) {
		under_root(target_arg, target);
		if (session == NULL && is_link_to(target, QWRAP_WRAPPER))
			die(EX_DATAERR, "%s points to qwrap-sendmail, but nothing was recorded (%s/%s is"
			    " missing): put the original back by hand (if %s%s is it: ln -f %s%s %s)",
			    target, dir, STATE_NAME, root, conf.sendmail, root, conf.sendmail, target);
		note("not enabled; nothing to revert");
		return 0;
	}
	if (session != NULL && strcmp(session, s.session) != 0) {
		note("session %s is over already; nothing to do", session);
		return 0;
	}
	under_root(s.target, target);
	under_root(s.original, original);
	if (same_entry(target, original))
		die(EX_DATAERR, "the state names %s as its own original: the enable that wrote it had"
		    " 'sendmail' set to the target itself, and the MTA's program was lost then."
		    "  Reinstall the MTA's sendmail over the link, then remove %s/%s", target, dir,
		    STATE_NAME);
	if (keep) {
		/* An update replaced the target: keep it, and end the session around it. */
		if (is_link_to(target, s.wrapper))
			die(EX_USAGE, "%s still points to qwrap-sendmail: --keep-target is for a target"
			    " an update replaced; use --revert", target);
		if (lstat(target, &tst) < 0 && errno == ENOENT)
			die(EX_USAGE, "%s is missing: there is nothing to keep; --revert puts the"
			    " original back", target);
		finish(dir, &s, session);
		note("session ended; %s left as it is", target);
		return 0;
	}
	if (lstat(original, &ost) < 0)
		die(EX_NOINPUT, "the original %s is gone (%s); nothing to put back", original,
		    strerror(errno));
	if (lstat(target, &tst) < 0) {
		/* Nothing there to keep or to lose: the original goes back at once. */
		if (errno != ENOENT)
			die(EX_IOERR, "%s: %s", target, strerror(errno));
		missing = 1;
		note("%s is missing (removed since enable)", target);
	} else if (tst.st_dev == ost.st_dev && tst.st_ino == ost.st_ino) {
		/* An enable that stopped before the swap, or a revert before its cleanup. */
		finish(dir, &s, session);
		note("%s is already the original; finished", target);
		return 0;
	}
	under_root(s.wrapper, wrapper);
	if (!missing && is_link_to(target, s.wrapper) && access(wrapper, F_OK) == 0 &&
	    !is_qwrap_sendmail(wrapper)) {
		/* Whatever it is, it is not to run set-gid qwrap. */
		if (lstat(wrapper, &wst) == 0 && (wst.st_mode & S_ISGID) &&
		    chmod(wrapper, wst.st_mode & 0755) == 0)
			note("%s: set-gid bit removed", wrapper);
		if (!force)
			die(EX_DATAERR, "%s no longer holds qwrap-sendmail: a program was installed"
			    " through the link %s (an MTA's make setup?), and may be the MTA's new"
			    " sendmail.  To keep it: mv %s %s, then --revert --keep-target, then make"
			    " install of qwrap again; --force puts the recorded original back instead",
			    wrapper, target, wrapper, target);
	}
	if (!missing && !is_link_to(target, s.wrapper) && !force)
		die(EX_DATAERR, "%s no longer points to qwrap-sendmail: something replaced it (an MTA"
		    " or Plesk update?).  Nothing changed.  Look at it: --keep-target keeps it and"
		    " ends the session, --force puts %s back over it", target, original);
	check(swap_is_original(original, &s, &same, err));
	if (!same && !force)
		die(EX_DATAERR, "%s is not the file recorded at enable (inode, mode, owner or SHA-256"
		    " differ).  Nothing changed.  --force puts it back all the same", original);
	/* What replaced the target is not thrown away: it keeps a name of its own. */
	if (!missing && !is_link_to(target, s.wrapper)) {
		char spare[PATH_MAX];

		if (snprintf(spare, sizeof spare, "%s.qwrap-replaced", target) >= (int)sizeof spare ||
		    linkat(AT_FDCWD, target, AT_FDCWD, spare, 0) < 0)
			die(EX_CANTCREAT, "cannot keep what replaced %s as %s.qwrap-replaced (%s);"
			    " nothing changed", target, target, strerror(errno));
		note("what replaced %s is kept as %s", target, spare);
	}
	check(swap_replace(target, 0, original, err));
	finish(dir, &s, session);
	note("reverted: %s is the original again (also still named %s)", target, original);
	if (scheduled)
		syslog(LOG_NOTICE, "capture session %s ended: %s is the original again", session,
		    target);
	return 0;
}

/*
 * Records the capture log gained since enable; all of the current log when
 * it was rotated since (those in the rotated file are not counted).
 */
static long long
records_since(const struct install_state *s)
{
	char path[PATH_MAX], buf[65536];
	long long n = 0, offset = s->log_offset;
	struct stat st;
	ssize_t r;
	int fd;

	under_root(conf.log_file, path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (long long)st.st_ino != s->log_ino || st.st_size < offset)
		offset = 0;
	lseek(fd, offset, SEEK_SET);
	while ((r = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static void
collect(int problem, const char *msg, void *arg)
{
	fprintf(arg, "          %s%s\n", problem ? "" : "warning: ", msg);
}

/*
 * Where PHP's and the system's sendmail lead, with each that goes around
 * capture on a line of its own: a capture that is on but misses them is
 * the trap --status must not hide.
 */
static void
status_reach(const char *target)
{
	struct reach_result r;
	char *lines = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&lines, &len);

	if (fp == NULL || reach_scan(root, target, &r, collect, fp) < 0) {
		if (fp != NULL)
			fclose(fp);
		free(lines);
		return;
	}
	fclose(fp);
	if (r.misses > 0)
		printf("sendmail: %d of %d found lead around capture (PHP's configurations,"
		    " /usr/sbin/sendmail):\n%s", r.misses, r.checked, lines);
	else if (r.warnings > 0)
		printf("sendmail: %d found (PHP's configurations, /usr/sbin/sendmail), none around"
		    " capture; %d to look at:\n%s", r.checked, r.warnings, lines);
	else
		printf("sendmail: %d found (PHP's configurations, /usr/sbin/sendmail), each leads"
		    " to %s\n", r.checked, r.target);
	free(lines);
}

static int
status(const char *target_arg)
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct install_state s;
	long long now = (long long)time(NULL), n;

	under_root(conf.state_dir, dir);
	if (!load_state(dir, STATE_NAME, &s)) {
		under_root(target_arg, target);
		if (is_link_to(target, QWRAP_WRAPPER))
			printf("capture:  on, but nothing was recorded (%s/%s is missing):"
			    " qwrap-install cannot prove the original; put it back by hand (if %s%s"
			    " is it: ln -f %s%s %s)\n", dir, STATE_NAME, root, conf.sendmail, root,
			    conf.sendmail, target);
		else
			printf("capture:  off\n");
		printf("log:      %s%s\n", root, conf.log_file);
		status_reach(target_arg);
		return 0;
	}
	under_root(s.target, target);
	if (!is_link_to(target, s.wrapper) && is_recorded_original(target, &s))
		printf("capture:  off, but a state was recorded at %s: an enable or a revert that"
		    " stopped half way; qwrap-install --revert finishes it\n", when(s.enabled_at));
	else if (!is_link_to(target, s.wrapper))
		printf("capture:  off, but a state was recorded at %s: %s was replaced since;"
		    " see qwrap-install --verify\n", when(s.enabled_at), target);
	else
		printf("capture:  on since %s\n", when(s.enabled_at));
	if (s.deadline == 0)
		printf("session:  no time limit (until qwrap-install --revert)\n");
	else if (now >= s.deadline)
		printf("session:  expired at %s (%s ago), not yet reverted: qwrap-sendmail no longer"
		    " captures; run qwrap-install --revert\n", when(s.deadline), span(now - s.deadline));
	else {
		int pending = schedule_pending(&s);

		printf("session:  ends at %s (%s left)\n", when(s.deadline), span(s.deadline - now));
		if (s.scheduler[0] == '\0' || strcmp(s.scheduler, "none") == 0)
			printf("revert:   not scheduled: qwrap-sendmail stops capturing at the deadline;"
			    " run qwrap-install --revert then\n");
		else
			printf("revert:   scheduled by %s %s%s\n", s.scheduler, s.job, pending == 0 ?
			    " -- which is gone: qwrap-sendmail stops capturing at the deadline; run"
			    " qwrap-install --revert then" : "");
	}
	printf("target:   %s -> %s\noriginal: %s%s\nlog:      %s%s\n", target, s.wrapper, root,
	    s.original, root, conf.log_file);
	if ((n = records_since(&s)) >= 0)
		printf("records:  %lld this session\n", n);
	else
		printf("records:  (log unreadable)\n");
	status_reach(s.target);
	return 0;
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: qwrap-install --enable [--for DURATION] [--scheduler HOW] [--target PATH]"
	    " [--root DIR]\n"
	    "       qwrap-install --revert [--force | --keep-target] [--target PATH] [--root DIR]\n"
	    "       qwrap-install --status [--target PATH] [--root DIR]\n"
	    "       qwrap-install --verify [--target PATH] [--root DIR]\n"
	    "DURATION: 90s, 30m, 1h, 2d, 1w; HOW: auto, systemd-run, at, timer, none\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "enable", no_argument, NULL, 'e' }, { "revert", no_argument, NULL, 'r' },
		{ "status", no_argument, NULL, 's' }, { "verify", no_argument, NULL, 'v' },
		{ "target", required_argument, NULL, 't' }, { "for", required_argument, NULL, 'F' },
		{ "scheduler", required_argument, NULL, 'S' },
		{ "root", required_argument, NULL, 'R' }, { "force", no_argument, NULL, 'f' },
		{ "keep-target", no_argument, NULL, 'k' },
		{ "session", required_argument, NULL, 'I' }, { "at", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *target = DEFAULT_TARGET, *how = NULL, *session = NULL;
	char cpath[PATH_MAX], cerr[CONF_ERR_MAX];
	int c, action = 0, force = 0, keep = 0;
	long duration = 0;
	long long at = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': case 'r': case 's': case 'v':
			if (action && action != c)
				usage(EX_USAGE);
			action = c;
			break;
		case 't': target = optarg; break;
		case 'R':
			/* Absolute: a scheduled revert runs from / (schedule.c). */
			if ((root = realpath(optarg, rootbuf)) == NULL)
				die(EX_USAGE, "--root %s: %s", optarg, strerror(errno));
			if (strcmp(root, "/") == 0)
				root = "";
			break;
		case 'f': force = 1; break;
		case 'k': keep = 1; break;
		case 'S': how = optarg; break;
		case 'I': session = optarg; break;
		case 'A':
			if (strspn(optarg, "0123456789") != strlen(optarg) || strlen(optarg) > 12 ||
			    (at = strtoll(optarg, NULL, 10)) <= 0)
				usage(EX_USAGE);
			break;
		case 'F':
			duration = conf_parse_duration(optarg);
			if (duration < 1 || duration > LONGEST_SESSION)
				die(EX_USAGE, "--for takes a duration from 1s to 366d, such as 30m, 1h or 2d");
			break;
		case 'h': usage(0);
		default: usage(EX_USAGE);
		}
	}
	if (!action || optind != argc || target[0] != '/' ||
	    (how && (!duration || (strcmp(how, "auto") && strcmp(how, "systemd-run") &&
	    strcmp(how, "at") && strcmp(how, "timer") && strcmp(how, "none")))) ||
	    (duration && action != 'e') || ((session || at || force || keep) && action != 'r') || (force && keep) ||
	    (session && (strlen(session) != STATE_SESSION_LEN ||
	    strspn(session, "0123456789abcdef") != STATE_SESSION_LEN)))
		usage(EX_USAGE);
	if (session != NULL) {
		scheduled = 1;
		openlog("qwrap-install", LOG_PID, LOG_DAEMON);
	}
	if (geteuid() != 0 && (action == 'e' || action == 'r'))
		die(EX_NOPERM, "must be run as root");
	umask(022);
	under_root(QWRAP_CONF_PATH, cpath);
	if (conf_load(cpath, (uid_t)-1, &conf, cerr) == CONF_BAD)
		die(EX_CONFIG, "%s", cerr);
	switch (action) {
	case 'e': return enable(target, duration, how ? how : "auto");
	case 'r': return revert(force, keep, target, session, at);
	case 'v':
		if (verify_all(root, &conf, target) > 0) {
			printf("qwrap-install: problems found\n");
			return EX_CONFIG;
		}
		/* Nothing wrong, and nothing recorded either: that is not "passed". */
		if (!verify_capture_on(root, &conf)) {
			printf("qwrap-install: all checks passed, but capture is off:"
			    " qwrap-install --enable starts it\n");
			return VERIFY_CAPTURE_OFF;
		}
		printf("qwrap-install: all checks passed; capture is on\n");
		return 0;
	default: return status(target);
	}
}
