/* util.c: paths under --root, directory syncs, fingerprints and child commands. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "inst.h"
#include "iofull.h"
#include "paths.h"
#include "sha256.h"

int
path_at(const char *root, const char *path, char out[PATH_MAX])
{
	return snprintf(out, PATH_MAX, "%s%s", root, path) >= PATH_MAX ? -1 : 0;
}

void
path_dir(const char *path, char out[PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, PATH_MAX, ".");
	else
		snprintf(out, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/*
 * Whether directory P may hold what qwrap trusts: root's, and writable by
 * nobody else -- but a sticky directory of root's (/tmp), where nobody may
 * remove or rename what is not theirs, or a group-writable one whose group
 * is root's.
 */
static int
dir_trusted(const struct stat *st)
{
	int sticky = (st->st_mode & S_ISVTX) != 0;

	return S_ISDIR(st->st_mode) && st->st_uid == 0 && (!(st->st_mode & 002) || sticky) &&
	    (!(st->st_mode & 020) || st->st_gid == 0 || sticky);
}

static int
untrusted(const char *what, const char *dir, const struct stat *st, char err[ERR_MAX])
{
	snprintf(err, ERR_MAX, "%s: directory %s is uid %ld, gid %ld, mode %04o; every directory"
	    " above what qwrap trusts must be root's and writable by nobody else (chown root,"
	    " chmod go-w), or whoever may write it could replace what is below", what, dir,
	    (long)st->st_uid, (long)st->st_gid, (unsigned)(st->st_mode & 07777));
	return EX_CONFIG;
}

/*
 * Every directory from FROM on in the absolute path P (a directory), P
 * included, must be trusted.  By lstat when LINKS: a symbolic link on the
 * way is not looked through (the directory that holds it is checked, and
 * the caller checks where it leads); the walk stops where the path no
 * longer exists.
 */
static int
walk(const char *what, char *p, size_t from, int links, char err[ERR_MAX])
{
	struct stat st;

	for (size_t i = from;; i++) {
		char c = p[i];
		int r;

		if (c != '/' && c != '\0')
			continue;
		p[i] = '\0';
		r = links ? lstat(i == 0 ? "/" : p, &st) : stat(i == 0 ? "/" : p, &st);
		if (r < 0 && errno != ENOENT) {
			snprintf(err, ERR_MAX, "%s: cannot look at %s: %s", what, p, strerror(errno));
			p[i] = c;
			return EX_CONFIG;
		}
		if (r == 0 && !(links && S_ISLNK(st.st_mode)) && !dir_trusted(&st)) {
			r = untrusted(what, i == 0 ? "/" : p, &st, err);
			p[i] = c;
			return r;
		}
		p[i] = c;
		if (c == '\0' || (r < 0 && links))
			return 0;
	}
}

/*
 * Every directory from ROOT (the --root tree, or /) down to the one that
 * holds PATH must be trusted (dir_trusted), as OpenSSH's StrictModes and
 * Postfix's "postfix check" want: whoever may write one of them could put a
 * file of their own in the place of anything below it, and qwrap would
 * trust it.  Both the path as written (so that the directory holding a
 * symbolic link on the way is checked) and the path it resolves to; a PATH
 * that does not exist yet from its nearest existing ancestor.  Anything
 * that cannot be looked at is not trusted.  0, or EX_CONFIG with ERR naming
 * WHAT and the directory.
 */
int
trusted_path(const char *root, const char *what, const char *path, char err[ERR_MAX])
{
	char dir[PATH_MAX], real[PATH_MAX], top[PATH_MAX] = "/";
	size_t start, rootlen = strlen(root);
	int r;

	path_dir(path, dir);
	if ((r = walk(what, dir, rootlen, 1, err)) != 0)
		return r;
	while (realpath(dir, real) == NULL) {
		char up[PATH_MAX];

		if (errno != ENOENT || strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0) {
			snprintf(err, ERR_MAX, "%s: cannot resolve %s: %s", what, dir, strerror(errno));
			return EX_CONFIG;
		}
		path_dir(dir, up);
		memcpy(dir, up, sizeof dir);
	}
	if (root[0] != '\0' && realpath(root, top) == NULL) {
		snprintf(err, ERR_MAX, "cannot resolve %s: %s", root, strerror(errno));
		return EX_CONFIG;
	}
	start = strcmp(top, "/") == 0 ? 0 : strlen(top);
	if (strncmp(real, top, start) != 0 || (real[start] != '/' && real[start] != '\0'))
		start = 0;	/* a link out of the tree: all of it is checked */
	return walk(what, real, start, 0, err);
}

/*
 * trusted_path for the Ith of what the wrapper trusts (paths as the system
 * sees them, under ROOT): 0 or EX_CONFIG as that does; -1 past the last.
 */
int
trusted_nth(const char *root, const struct conf *c, int i, char err[ERR_MAX])
{
	const struct { const char *what, *path; } p[] = {
		{ "the wrapper", QWRAP_WRAPPER }, { "the config", QWRAP_CONF_PATH },
		{ "the log", c->log_file }, { "the state directory", c->state_dir },
		{ "the spool directory", c->spool_dir }, { "the real sendmail", c->sendmail },
	};
	char full[PATH_MAX];

	if (i < 0 || (size_t)i >= sizeof p / sizeof p[0])
		return -1;
	if (path_at(root, p[i].path, full) < 0)
		return 0;
	return trusted_path(root, p[i].what, full, err);
}

/* A rename or a link is durable only once its directory is on disk. */
int
sync_dir_of(const char *path, char err[ERR_MAX])
{
	char dir[PATH_MAX];

	path_dir(path, dir);
	if (fsync_dir(dir) < 0) {
		snprintf(err, ERR_MAX, "cannot sync directory %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The SHA-256 of a regular file's content, or of a symbolic link's text. */
int
fingerprint(const char *path, const struct stat *st, char out[65], char err[ERR_MAX])
{
	int fd;

	if (S_ISLNK(st->st_mode)) {
		char link[PATH_MAX];
		ssize_t n = readlink(path, link, sizeof link);
		struct sha256 s;

		if (n < 0) {
			snprintf(err, ERR_MAX, "cannot read link %s: %s", path, strerror(errno));
			return -1;
		}
		sha256_init(&s);
		sha256_update(&s, link, (size_t)n);
		sha256_hex(&s, out);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    sha256_fd(fd, out) < 0) {
		snprintf(err, ERR_MAX, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
is_link_to(const char *path, const char *want)
{
	char link[PATH_MAX];
	ssize_t n = readlink(path, link, sizeof link - 1);

	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

int
is_qwrap_sendmail(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), found;
	struct stat st;

	if (fd < 0)
		return 0;
	found = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && has_qwrap_mark(fd);
	close(fd);
	return found;
}

int
has_qwrap_mark(int fd)
{
	static const char mark[] = QWRAP_SENDMAIL_MARK;
	static char buf[65536 + sizeof mark];
	size_t keep = 0;
	ssize_t n;
	int found = 0;

	while (!found && (n = read(fd, buf + keep, sizeof buf - keep)) > 0) {
		size_t len = keep + (size_t)n;

		found = memmem(buf, len, mark, sizeof mark - 1) != NULL;
		/* A mark cut by the read ends in the next one. */
		keep = len < sizeof mark - 1 ? len : sizeof mark - 1;
		memmove(buf, buf + len - keep, keep);
	}
	return found;
}

int
is_recorded_original(const char *path, const struct install_state *s)
{
	struct stat st;

	return lstat(path, &st) == 0 && (long long)st.st_dev == s->dev &&
	    (long long)st.st_ino == s->ino;
}

int
same_entry(const char *a, const char *b)
{
	char da[PATH_MAX], db[PATH_MAX];
	const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
	struct stat sa, sb;

	path_dir(a, da);
	path_dir(b, db);
	na = na ? na + 1 : a;
	nb = nb ? nb + 1 : b;
	if (stat(da, &sa) < 0 || stat(db, &sb) < 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && strcmp(na, nb) == 0;
}

int
find_program(const char *name, char out[PATH_MAX])
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL };

	for (int i = 0; dirs[i] != NULL; i++) {
		snprintf(out, PATH_MAX, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

/*
 * Runs ARGV[0] (an absolute path) with INPUT on stdin, a plain environment,
 * no other descriptor of ours, in a session of its own, and a minute to
 * finish (then the whole session is killed: a child it left holding the
 * pipe does not hang us either); what it prints (stdout and stderr) goes to OUT when given.
 * The exit status, or -1 when it could not run or died of a signal.
 */
int
run_command(char *const argv[], const char *input, char *out, size_t outcap)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	char buf[512];
	int in[2], res[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	time_t deadline = time(NULL) + 60;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(res, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(in[0]);
		close(in[1]);
		close(res[0]);
		close(res[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		dup2(in[0], 0);
		dup2(res[1], 1);
		dup2(res[1], 2);
		closefrom(3);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		/* at records the working directory in its job: make it one that stays. */
		if (chdir("/") == 0)
			execve(argv[0], argv, env);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	if (input != NULL)
		write_full(in[1], input, strlen(input));
	close(in[1]);
	for (;;) {
		struct pollfd p = { .fd = res[0], .events = POLLIN };
		long left = (long)(deadline - time(NULL));

		if (left <= 0 || poll(&p, 1, (int)left * 1000) == 0) {
			kill(-pid, SIGKILL);	/* it, and what it started */
			break;
		}
		if ((n = read(res[0], buf, sizeof buf)) == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (out != NULL && len + 1 < outcap) {
			size_t k = (size_t)n < outcap - 1 - len ? (size_t)n : outcap - 1 - len;

			memcpy(out + len, buf, k);
			len += k;
		}
	}
	if (out != NULL)
		out[len] = '\0';
	close(res[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
note(const char *fmt, ...)
{
	va_list ap;

	fputs("qwrap-install: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
