/*
 * schedule.c: the automatic revert at the end of a timed capture session,
 * scheduled with what the host has: a systemd timer when systemd is PID 1,
 * else an at job when atd runs, else a detached timer process.  Each runs
 * "qwrap-install --revert --session ID --at DEADLINE", which waits for the
 * deadline to the second and then does nothing unless that session is still
 * the current one, so a stale job can never end a newer session.  Should
 * none of them run, qwrap-sendmail stops capturing at the deadline by itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "inst.h"
#include "paths.h"

/* This program's path, for the job to run. */
static void
self_path(char out[PATH_MAX])
{
	ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);

	if (n < 0 || (out[n] = '\0', strstr(out, " (deleted)") != NULL))
		snprintf(out, PATH_MAX, "%s/qwrap-install", QWRAP_SBINDIR);
}

static int
process_named(const char *name)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	int found = 0;

	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char path[300], comm[64] = "";
		FILE *fp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof comm, fp) != NULL)
			found = strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n';
		fclose(fp);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static const char *
pick(void)
{
	char prog[PATH_MAX];
	struct stat st;

	if (stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) &&
	    find_program("systemd-run", prog) == 0)
		return "systemd-run";
	if (find_program("at", prog) == 0 && process_named("atd"))
		return "at";
	return "timer";
}

static int
by_systemd(const char *self, const char *root, struct install_state *s, char err[ERR_MAX])
{
	char prog[PATH_MAX], unit[64], when[64], at[32], out[1024];
	char *argv[20];
	int i = 0;

	if (find_program("systemd-run", prog) < 0) {
		snprintf(err, ERR_MAX, "there is no systemd-run");
		return EX_UNAVAILABLE;
	}
	snprintf(unit, sizeof unit, "--unit=qwrap-revert-%s", s->session);
	snprintf(when, sizeof when, "--on-active=%llds", s->deadline - (long long)time(NULL));
	snprintf(at, sizeof at, "%lld", s->deadline);
	argv[i++] = prog;
	argv[i++] = unit;
	argv[i++] = when;
	argv[i++] = "--timer-property=AccuracySec=1s";
	argv[i++] = "--description=qwrap: end of a capture session";
	argv[i++] = (char *)self;
	argv[i++] = "--revert";
	argv[i++] = "--session";
	argv[i++] = s->session;
	argv[i++] = "--at";
	argv[i++] = at;
	if (root[0] != '\0') {
		argv[i++] = "--root";
		argv[i++] = (char *)root;
	}
	argv[i] = NULL;
	if (run_command(argv, NULL, out, sizeof out) != 0) {
		snprintf(err, ERR_MAX, "systemd-run failed: %s", out);
		return EX_OSERR;
	}
	snprintf(s->job, sizeof s->job, "qwrap-revert-%s.timer", s->session);
	return 0;
}

/* Single quotes for sh, for at's job script. */
static int
quote(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	if (cap < 3)
		return -1;
	dst[n++] = '\'';
	for (; *s; s++) {
		if (n + 5 >= cap)
			return -1;
		if (*s == '\'') {
			memcpy(dst + n, "'\\''", 4);
			n += 4;
		} else
			dst[n++] = *s;
	}
	dst[n++] = '\'';
	dst[n] = '\0';
	return 0;
}

static int
by_at(const char *self, const char *root, struct install_state *s, char err[ERR_MAX])
{
	char prog[PATH_MAX], when[32], qself[2 * PATH_MAX], qroot[2 * PATH_MAX] = "''";
	char script[5 * PATH_MAX], out[1024], *job;
	time_t t = (time_t)s->deadline;
	struct tm tm;
	char *argv[] = { prog, "-M", "-t", when, NULL };	/* -M: no mail to root */

	if (find_program("at", prog) < 0) {
		snprintf(err, ERR_MAX, "there is no at");
		return EX_UNAVAILABLE;
	}
	/*
	 * at takes local time; atd runs jobs on the minute, so the job itself
	 * waits for the second (--at).
	 */
	strftime(when, sizeof when, "%Y%m%d%H%M.%S", localtime_r(&t, &tm));
	if (quote(qself, sizeof qself, self) < 0 || quote(qroot, sizeof qroot, root) < 0) {
		snprintf(err, ERR_MAX, "path too long for an at job");
		return EX_USAGE;
	}
	snprintf(script, sizeof script, "exec %s --revert --session %s --at %lld%s%s\n", qself,
	    s->session, s->deadline, root[0] ? " --root " : "", root[0] ? qroot : "");
	if (run_command(argv, script, out, sizeof out) != 0 ||
	    (job = strstr(out, "job ")) == NULL) {
		snprintf(err, ERR_MAX, "at failed: %s", out);
		return EX_OSERR;
	}
	snprintf(s->job, sizeof s->job, "%ld", strtol(job + 4, NULL, 10));
	return 0;
}

/* A grandchild in its own session, so neither the terminal nor our exit ends it. */
static int
by_timer(const char *self, const char *root, struct install_state *s, char err[ERR_MAX])
{
	char at[32];
	int p[2], status;
	pid_t child, timer = -1;

	snprintf(at, sizeof at, "%lld", s->deadline);
	if (pipe2(p, O_CLOEXEC) < 0 || (child = fork()) < 0) {
		snprintf(err, ERR_MAX, "cannot start the timer: %s", strerror(errno));
		return EX_OSERR;
	}
	if (child == 0) {
		char *argv[] = { (char *)self, "--revert", "--session", s->session, "--at", at,
		    root[0] ? "--root" : NULL, (char *)root, NULL };
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		setsid();
		if (fork() == 0) {
			/*
			 * Nothing of the caller's stays open for the whole session; the pid
			 * is reported once that is so, and the pipe closes at the exec.
			 */
			timer = getpid();
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (p[1] > 3)
				close_range(3, (unsigned)p[1] - 1, 0);
			close_range((unsigned)p[1] + 1, ~0U, 0);
			signal(SIGHUP, SIG_IGN);
			if (write(p[1], &timer, sizeof timer) == sizeof timer && chdir("/") == 0)
				execv(self, argv);
			_exit(127);
		}
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &timer, sizeof timer) != sizeof timer)
		timer = -1;
	close(p[0]);
	waitpid(child, &status, 0);
	if (timer <= 0) {
		snprintf(err, ERR_MAX, "cannot start the timer process");
		return EX_OSERR;
	}
	snprintf(s->job, sizeof s->job, "%ld", (long)timer);
	return 0;
}

int
schedule_start(const char *how, const char *root, struct install_state *s, char err[ERR_MAX])
{
	char self[PATH_MAX];
	int r;

	if (strcmp(how, "auto") == 0)
		how = pick();
	snprintf(s->scheduler, sizeof s->scheduler, "%s", how);
	s->job[0] = '\0';
	if (strcmp(how, "none") == 0)
		return 0;
	self_path(self);
	if (strcmp(how, "systemd-run") == 0)
		r = by_systemd(self, root, s, err);
	else if (strcmp(how, "at") == 0)
		r = by_at(self, root, s, err);
	else
		r = by_timer(self, root, s, err);
	if (r != 0)
		s->scheduler[0] = '\0';
	return r;
}

/* 1 when PID is the timer of session S. */
static int
is_timer(long pid, const char *session)
{
	char path[64], cmd[4096], want[64];
	ssize_t got, n;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	got = read(fd, cmd, sizeof cmd);
	close(fd);
	n = snprintf(want, sizeof want, "--session%c%s%c", 0, session, 0);
	for (ssize_t i = 0; i + n <= got; i++)
		if (memcmp(cmd + i, want, (size_t)n) == 0)
			return 1;
	return 0;
}

int
schedule_pending(const struct install_state *s)
{
	char prog[PATH_MAX], out[4096];

	if (strcmp(s->scheduler, "timer") == 0)
		return is_timer(atol(s->job), s->session);
	if (strcmp(s->scheduler, "systemd-run") == 0 && find_program("systemctl", prog) == 0) {
		char *argv[] = { prog, "is-active", "--quiet", (char *)s->job, NULL };

		return run_command(argv, NULL, NULL, 0) == 0;
	}
	if (strcmp(s->scheduler, "at") == 0 && find_program("atq", prog) == 0) {
		char *argv[] = { prog, NULL }, *l = out;

		if (run_command(argv, NULL, out, sizeof out) != 0)
			return -1;
		for (; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, s->job, strlen(s->job)) == 0 && l[strlen(s->job)] == '\t')
				return 1;
		return 0;
	}
	return -1;
}

void
schedule_cancel(const struct install_state *s)
{
	char prog[PATH_MAX];

	if (strcmp(s->scheduler, "timer") == 0 && is_timer(atol(s->job), s->session))
		kill((pid_t)atol(s->job), SIGTERM);
	else if (strcmp(s->scheduler, "systemd-run") == 0 && find_program("systemctl", prog) == 0) {
		char *argv[] = { prog, "stop", (char *)s->job, NULL };

		run_command(argv, NULL, NULL, 0);
	} else if (strcmp(s->scheduler, "at") == 0 && find_program("atrm", prog) == 0) {
		char *argv[] = { prog, (char *)s->job, NULL };

		run_command(argv, NULL, NULL, 0);
	}
}

/* Sleeps in short steps, so a suspend or a clock change cannot stretch the session. */
void
schedule_wait(long long deadline)
{
	long long left;

	while ((left = deadline - (long long)time(NULL)) > 0)
		sleep(left > 30 ? 30 : (unsigned)left);
}
