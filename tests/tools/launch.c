/* launch: runs a program under hostile process state (closed or leaked fds, tiny rlimits, odd
 * umask, blocked/ignored signals, a pending alarm, argc == 0) to test how qwrap-sendmail copes. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

extern char **environ;

#define EXIT_USAGE 64
#define EXIT_SETUP 125
#define EXIT_EXEC 127
#define MAX_CLOSE 1024

static const char usage_text[] =
	"usage: launch [--close FD] [--open-fds N] [--fsize BYTES] [--nofile N] [--argc0]\n"
	"              [--argv0 STRING] [--umask OCTAL] [--block SIGNUM] [--ignore SIGNUM]\n"
	"              [--itimer USEC] [--cwd DIR] [--setsid] -- PROGRAM [ARGS...]\n";

static int fd2_open(void)
{
	return fcntl(2, F_GETFD) != -1;
}

static void err_puts(const char *s)
{
	size_t n = strlen(s);

	/* Nowhere left to report a failing stderr; the exit status still tells the story. */
	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

static _Noreturn void usage(const char *why, const char *what)
{
	err_puts("launch: ");
	err_puts(why);
	if (what) {
		err_puts(": ");
		err_puts(what);
	}
	err_puts("\n");
	err_puts(usage_text);
	_exit(EXIT_USAGE);
}

static _Noreturn void fail(const char *what, int code)
{
	const char *e = strerror(errno);

	if (fd2_open()) {
		err_puts("launch: ");
		err_puts(what);
		err_puts(": ");
		err_puts(e);
		err_puts("\n");
	}
	_exit(code);
}

/* Strict number in the given base; "unlimited" only where allow_inf says so. */
static unsigned long long parse_num(const char *opt, const char *s, int base,
				    unsigned long long max, int allow_inf)
{
	unsigned long long v;
	char *end;

	if (allow_inf && (!strcmp(s, "unlimited") || !strcmp(s, "infinity")))
		return RLIM_INFINITY;
	if (*s < '0' || *s > '9')
		usage("bad value for", opt);
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		usage("bad value for", opt);
	return v;
}

static int parse_sig(const char *opt, const char *s)
{
	int sig = (int)parse_num(opt, s, 10, (unsigned long long)SIGRTMAX, 0);

	if (sig < 1)
		usage("bad value for", opt);
	return sig;
}

static void set_limit(int res, rlim_t v, const char *what)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	if (setrlimit(res, &rl) < 0)
		fail(what, EXIT_SETUP);
}

int main(int argc, char **argv)
{
	int close_fds[MAX_CLOSE];
	int nclose = 0, open_fds = 0, argc0 = 0, do_setsid = 0, have_umask = 0;
	int have_fsize = 0, have_nofile = 0, have_ignore = 0, i;
	rlim_t fsize = 0, nofile = 0;
	mode_t mask = 0;
	long itimer_usec = 0;
	const char *argv0 = NULL, *cwd = NULL, *prog;
	sigset_t block, ignore;
	char *argc0_argv[] = { NULL };
	char **new_argv;

	if (sigemptyset(&block) < 0 || sigemptyset(&ignore) < 0)
		fail("sigemptyset", EXIT_SETUP);

	for (i = 1; i < argc; ++i) {
		const char *o = argv[i];
		const char *val = NULL;

		if (!strcmp(o, "--"))
			break;
		if (!strcmp(o, "--argc0")) {
			argc0 = 1;
			continue;
		}
		if (!strcmp(o, "--setsid")) {
			do_setsid = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage("missing value for", o);
		val = argv[++i];

		if (!strcmp(o, "--close")) {
			if (nclose >= MAX_CLOSE)
				usage("too many --close", NULL);
			close_fds[nclose++] = (int)parse_num(o, val, 10, INT_MAX, 0);
		} else if (!strcmp(o, "--open-fds")) {
			open_fds = (int)parse_num(o, val, 10, 1048576, 0);
		} else if (!strcmp(o, "--fsize")) {
			fsize = (rlim_t)parse_num(o, val, 10, RLIM_INFINITY, 1);
			have_fsize = 1;
		} else if (!strcmp(o, "--nofile")) {
			nofile = (rlim_t)parse_num(o, val, 10, RLIM_INFINITY, 1);
			have_nofile = 1;
		} else if (!strcmp(o, "--argv0")) {
			argv0 = val;
		} else if (!strcmp(o, "--umask")) {
			mask = (mode_t)parse_num(o, val, 8, 0777, 0);
			have_umask = 1;
		} else if (!strcmp(o, "--block")) {
			if (sigaddset(&block, parse_sig(o, val)) < 0)
				usage("bad value for", o);
		} else if (!strcmp(o, "--ignore")) {
			int sig = parse_sig(o, val);
			if (sig == SIGKILL || sig == SIGSTOP || sigaddset(&ignore, sig) < 0)
				usage("bad value for", o);
			have_ignore = 1;
		} else if (!strcmp(o, "--itimer")) {
			itimer_usec = (long)parse_num(o, val, 10, LONG_MAX, 0);
			if (itimer_usec == 0)
				usage("bad value for", o); /* 0 would disarm the timer rather than arm it */
		} else if (!strcmp(o, "--cwd")) {
			cwd = val;
		} else {
			usage("unknown option", o);
		}
	}
	if (i >= argc)
		usage("missing --", NULL);
	if (i + 1 >= argc)
		usage("missing PROGRAM", NULL);
	if (argc0 && argv0)
		usage("--argc0 and --argv0 exclude each other", NULL);
	prog = argv[i + 1];

	/* argv[0] is PROGRAM unless --argv0; the rest follow PROGRAM on our own command line */
	if (argc0) {
		new_argv = argc0_argv;
	} else {
		new_argv = &argv[i + 1];
		if (argv0)
			new_argv[0] = (char *)argv0;
	}

	/* Relative PROGRAM paths are resolved after --cwd, as execve would see them. */
	if (cwd && chdir(cwd) < 0)
		fail(cwd, EXIT_SETUP);
	if (do_setsid && setsid() < 0)
		fail("setsid (already a process group leader? run launch from a non-interactive shell)",
		     EXIT_SETUP);

	/* Open before closing, so the requested closes win and the leaked fds start at 3. */
	if (open_fds > 0) {
		int fd = -1, n;
		for (n = 0; n < open_fds; ++n) {
			fd = open("/dev/null", O_RDWR);
			if (fd < 0)
				fail("open /dev/null", EXIT_SETUP);
		}
		if (fd != 200 && dup2(fd, 200) < 0)
			fail("dup2 to fd 200", EXIT_SETUP);
	}
	for (i = 0; i < nclose; ++i)
		if (close(close_fds[i]) < 0 && errno != EBADF)
			fail("close", EXIT_SETUP);

	if (have_fsize)
		set_limit(RLIMIT_FSIZE, fsize, "setrlimit RLIMIT_FSIZE");
	if (have_nofile)
		set_limit(RLIMIT_NOFILE, nofile, "setrlimit RLIMIT_NOFILE");
	if (have_umask)
		umask(mask);

	if (have_ignore) {
		struct sigaction sa;
		int sig;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		if (sigemptyset(&sa.sa_mask) < 0)
			fail("sigemptyset", EXIT_SETUP);
		for (sig = 1; sig <= SIGRTMAX; ++sig)
			if (sigismember(&ignore, sig) == 1 && sigaction(sig, &sa, NULL) < 0)
				fail("sigaction SIG_IGN", EXIT_SETUP);
	}
	if (sigprocmask(SIG_BLOCK, &block, NULL) < 0)
		fail("sigprocmask", EXIT_SETUP);

	/* Armed last so the countdown covers the exec'd program, not our setup. */
	if (itimer_usec > 0) {
		struct itimerval it;
		memset(&it, 0, sizeof it);
		it.it_value.tv_sec = itimer_usec / 1000000;
		it.it_value.tv_usec = itimer_usec % 1000000;
		if (setitimer(ITIMER_REAL, &it, NULL) < 0)
			fail("setitimer", EXIT_SETUP);
	}

	execve(prog, new_argv, environ);
	fail(prog, EXIT_EXEC);
}
