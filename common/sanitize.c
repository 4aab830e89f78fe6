/*
 * sanitize.c: the first thing the set-gid wrapper does.  Every value here
 * came from the caller; docs/SECURITY.md lists the attacks.
 */
#include "sanitize.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int
sanitize_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		int n;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* Lowest free fd is this one, so a later open can never land on stdio. */
		if ((n = open("/dev/null", O_RDWR | O_NOFOLLOW)) != fd) {
			if (n >= 0)
				close(n);
			return -1;
		}
		if (fstat(n, &st) < 0 || !S_ISCHR(st.st_mode))
			return -1;
	}
	/*
	 * In secure mode glibc itself plugs a closed fd 0 with /dev/full,
	 * write-only; a closed stdin is an empty message, so read /dev/null.
	 */
	if ((fcntl(0, F_GETFL) & O_ACCMODE) == O_WRONLY) {
		int n = open("/dev/null", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (n < 0 || dup2(n, 0) != 0)
			return -1;
		close(n);
	}
	return 0;
}

int
sanitize_null_stdio(int first)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return -1;
	for (int fd = first; fd <= 2; fd++)
		if (fd != null && dup2(null, fd) < 0) {
			close(null);
			return -1;
		}
	return null > 2 ? close(null) : 0;
}

/* Closes FIRST to LAST (~0U: to the end). */
static void
close_from_to(unsigned first, unsigned last)
{
	struct rlimit rl;

	if (first > last || close_range(first, last, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 65536)
		rl.rlim_cur = 65536;
	for (unsigned fd = first; fd <= last && fd < rl.rlim_cur; fd++)
		close((int)fd);
}

void
sanitize_close_fds(void)
{
	close_from_to(3, ~0U);
}

void
sanitize_close_fds_but(int a, int b)
{
	unsigned lo, hi;

	/* 0 to 2 are never closed: keeping one of them keeps nothing more. */
	if (a < 3)
		a = b;
	if (b < 3)
		b = a;
	if (a < 3) {
		sanitize_close_fds();
		return;
	}
	lo = (unsigned)(a < b ? a : b);
	hi = (unsigned)(a < b ? b : a);

	close_from_to(3, lo - 1);
	close_from_to(lo + 1, hi - 1);
	close_from_to(hi + 1, ~0U);
}

static int
set_handler(int sig, void (*h)(int), struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, old);
}

static int
raise_limit(int res, struct rlimit *saved)
{
	struct rlimit rl;

	if (getrlimit(res, saved) < 0)
		return -1;
	rl = *saved;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(res, &rl);
}

/*
 * glibc's syslog() stamps each line with the local time, and the zone comes
 * from TZ, which is the caller's: a caller could date the wrapper's syslog
 * lines as it liked.  Called before the first line, this reads the zone with
 * the environment out of sight, so it is the system's (/etc/localtime);
 * localtime_r, which syslog uses, never reads TZ again.  The environment
 * itself is not touched: the real sendmail gets the caller's TZ as before.
 */
void
sanitize_zone(void)
{
	static char *no_env[] = { NULL };
	char **env = environ;

	environ = no_env;
	tzset();
	environ = env;
}

int
sanitize_state(struct procstate *ps)
{
	static const struct itimerval off;
	struct rlimit nocore;

	ps->umask = umask(077);
	/*
	 * A closed pipe or a file size limit must give us an error to handle,
	 * not kill us between the log write and the exec; we reap our own child.
	 */
	if (set_handler(SIGPIPE, SIG_IGN, &ps->pipe) < 0 ||
	    set_handler(SIGXFSZ, SIG_IGN, &ps->xfsz) < 0 ||
	    set_handler(SIGCHLD, SIG_DFL, &ps->chld) < 0)
		return -1;
	/* Interval timers survive exec: a caller could time a kill to the microsecond. */
	if (setitimer(ITIMER_REAL, &off, NULL) < 0 ||
	    setitimer(ITIMER_VIRTUAL, &off, NULL) < 0 ||
	    setitimer(ITIMER_PROF, &off, NULL) < 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -1;
	/* Only the soft limit: the caller's own limit must be restorable. */
	if (getrlimit(RLIMIT_CORE, &ps->core) < 0)
		return -1;
	nocore = (struct rlimit){ 0, ps->core.rlim_max };
	if (setrlimit(RLIMIT_CORE, &nocore) < 0)
		return -1;
	if (raise_limit(RLIMIT_FSIZE, &ps->fsize) < 0 ||
	    raise_limit(RLIMIT_NOFILE, &ps->nofile) < 0)
		return -1;
	return 0;
}

/*
 * The caller's limit RES again.  Its other processes may have lowered our
 * hard limit meanwhile (prlimit, once the group is gone): then what they
 * left, which is the caller's own choice, rather than no real sendmail.
 */
static int
restore_limit(int res, const struct rlimit *orig)
{
	struct rlimit now, want = *orig;

	if (setrlimit(res, &want) == 0)
		return 0;
	if (errno != EPERM || getrlimit(res, &now) < 0)
		return -1;
	if (want.rlim_max > now.rlim_max)
		want.rlim_max = now.rlim_max;
	if (want.rlim_cur > want.rlim_max)
		want.rlim_cur = want.rlim_max;
	return setrlimit(res, &want);
}

int
sanitize_restore(const struct procstate *ps)
{
	umask(ps->umask);
	if (sigaction(SIGPIPE, &ps->pipe, NULL) < 0 ||
	    sigaction(SIGXFSZ, &ps->xfsz, NULL) < 0 ||
	    sigaction(SIGCHLD, &ps->chld, NULL) < 0)
		return -1;
	if (restore_limit(RLIMIT_FSIZE, &ps->fsize) < 0 ||
	    restore_limit(RLIMIT_NOFILE, &ps->nofile) < 0 ||
	    restore_limit(RLIMIT_CORE, &ps->core) < 0)
		return -1;
	return 0;
}

int
sanitize_drop_group(void)
{
	gid_t g = getgid(), r, e, s;

	if (setresgid(g, g, g) < 0 || getresgid(&r, &e, &s) < 0)
		return -1;
	return r == g && e == g && s == g ? 0 : -1;
}
