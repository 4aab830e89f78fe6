/*
 * qwrap-install: swap qwrap-sendmail in for the MTA's sendmail and back,
 * without the target ever missing and without ever losing the original.
 * Runs as root; never set-gid.  This version has --enable, --revert,
 * --status and --verify; --for and the set-up of group, log and
 * directories are still to come (see the README).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "paths.h"
#include "sha256.h"

#ifndef QWRAP_SBINDIR
#define QWRAP_SBINDIR "/usr/local/sbin"
#endif
#define DEFAULT_TARGET "/var/qmail/bin/sendmail"
#define STATE_NAME "install.state"

/* What was at the target before qwrap, recorded at enable. */
struct state {
	char target[PATH_MAX], original[PATH_MAX], wrapper[PATH_MAX];
	unsigned long long dev, ino;
	unsigned mode;
	long uid, gid;
	char sha256[65];
	long long enabled_at, log_offset;
};

static const char *root = "";	/* --root: every path below lives under it */
static struct conf conf;

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("qwrap-install: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* PATH as seen from here: under --root when one was given. */
static const char *
at(const char *path, char buf[PATH_MAX])
{
	if (snprintf(buf, PATH_MAX, "%s%s", root, path) >= PATH_MAX)
		die(EX_USAGE, "path too long: %s%s", root, path);
	return buf;
}

static void
dir_of(const char *path, char out[PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	snprintf(out, PATH_MAX, "%.*s", slash && slash != path ? (int)(slash - path) : 1,
	    slash ? path : ".");
}

/* A rename is durable only once its directory is on disk. */
static void
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	dir_of(path, dir);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) < 0)
		die(EX_IOERR, "cannot sync directory %s: %s", dir, strerror(errno));
	close(fd);
}

/* The SHA-256 of a regular file's content, or of a symbolic link's target text. */
static void
fingerprint(const char *path, const struct stat *st, char out[65])
{
	if (S_ISLNK(st->st_mode)) {
		char link[PATH_MAX];
		ssize_t n = readlink(path, link, sizeof link);
		struct sha256 s;

		if (n < 0)
			die(EX_IOERR, "cannot read link %s: %s", path, strerror(errno));
		sha256_init(&s);
		sha256_update(&s, link, (size_t)n);
		sha256_hex(&s, out);
		return;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || sha256_fd(fd, out) < 0)
		die(EX_IOERR, "cannot read %s: %s", path, strerror(errno));
	close(fd);
}

static int
is_link_to(const char *path, const char *want)
{
	char link[PATH_MAX];
	ssize_t n = readlink(path, link, sizeof link - 1);

	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

static void
state_path(char out[PATH_MAX])
{
	char dir[PATH_MAX];

	snprintf(out, PATH_MAX, "%s/%s", at(conf.state_dir, dir), STATE_NAME);
}

/* 1 when a state file was read, 0 when there is none. */
static int
state_read(struct state *s)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	FILE *fp;

	state_path(path);
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		die(EX_IOERR, "cannot read %s: %s", path, strerror(errno));
	}
	memset(s, 0, sizeof *s);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *eq = strchr(line, '='), *v;

		if (eq == NULL)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		if (strcmp(line, "target") == 0)
			snprintf(s->target, sizeof s->target, "%s", v);
		else if (strcmp(line, "original") == 0)
			snprintf(s->original, sizeof s->original, "%s", v);
		else if (strcmp(line, "wrapper") == 0)
			snprintf(s->wrapper, sizeof s->wrapper, "%s", v);
		else if (strcmp(line, "dev") == 0)
			s->dev = strtoull(v, NULL, 10);
		else if (strcmp(line, "ino") == 0)
			s->ino = strtoull(v, NULL, 10);
		else if (strcmp(line, "mode") == 0)
			s->mode = (unsigned)strtoul(v, NULL, 8);
		else if (strcmp(line, "uid") == 0)
			s->uid = strtol(v, NULL, 10);
		else if (strcmp(line, "gid") == 0)
			s->gid = strtol(v, NULL, 10);
		else if (strcmp(line, "sha256") == 0)
			snprintf(s->sha256, sizeof s->sha256, "%s", v);
		else if (strcmp(line, "enabled_at") == 0)
			s->enabled_at = strtoll(v, NULL, 10);
		else if (strcmp(line, "log_offset") == 0)
			s->log_offset = strtoll(v, NULL, 10);
	}
	fclose(fp);
	if (s->target[0] == '\0' || s->original[0] == '\0' || s->wrapper[0] == '\0' ||
	    strlen(s->sha256) != 64)
		die(EX_DATAERR, "%s is incomplete; look at it, then remove it or use --force", path);
	return 1;
}

/* Written to a temporary name, synced and renamed: a crash leaves the old state or the new. */
static void
state_write(const struct state *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *fp;

	state_path(path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fp = fopen(tmp, "we")) == NULL)
		die(EX_CANTCREAT, "cannot write %s: %s", tmp, strerror(errno));
	fprintf(fp, "version=1\ntarget=%s\noriginal=%s\nwrapper=%s\ndev=%llu\nino=%llu\n"
	    "mode=%o\nuid=%ld\ngid=%ld\nsha256=%s\nenabled_at=%lld\nlog_offset=%lld\n",
	    s->target, s->original, s->wrapper, s->dev, s->ino, s->mode, s->uid, s->gid,
	    s->sha256, s->enabled_at, s->log_offset);
	if (fflush(fp) != 0 || fsync(fileno(fp)) < 0 || fclose(fp) != 0 || rename(tmp, path) < 0)
		die(EX_IOERR, "cannot write %s: %s", path, strerror(errno));
	sync_dir(path);
}

static void
state_remove(void)
{
	char path[PATH_MAX];

	state_path(path);
	if (unlink(path) < 0 && errno != ENOENT)
		die(EX_IOERR, "cannot remove %s: %s", path, strerror(errno));
	sync_dir(path);
}

/*
 * Makes TARGET name what MAKE creates under a temporary name in the same
 * directory, by rename(2): at every instant TARGET names the old file or the
 * new one, never nothing.
 */
static void
replace_atomically(const char *target, int (*make)(const char *from, const char *tmp),
    const char *from)
{
	char tmp[PATH_MAX], dir[PATH_MAX];

	dir_of(target, dir);
	snprintf(tmp, sizeof tmp, "%s/.sendmail.qwrap.%ld", dir, (long)getpid());
	unlink(tmp);
	if (make(from, tmp) < 0)
		die(EX_CANTCREAT, "cannot create %s: %s", tmp, strerror(errno));
	if (rename(tmp, target) < 0) {
		int e = errno;

		unlink(tmp);
		die(EX_IOERR, "cannot rename %s to %s: %s", tmp, target, strerror(e));
	}
	sync_dir(target);
}

static int
make_symlink(const char *to, const char *tmp)
{
	return symlink(to, tmp);
}

static int
make_hardlink(const char *from, const char *tmp)
{
	return linkat(AT_FDCWD, from, AT_FDCWD, tmp, 0);
}

static long long
log_size(void)
{
	char path[PATH_MAX];
	struct stat st;

	return stat(at(conf.log_file, path), &st) == 0 ? (long long)st.st_size : 0;
}

static int
enable(const char *target_arg)
{
	char target[PATH_MAX], original[PATH_MAX], wrapper[PATH_MAX];
	struct stat tst, ost, wst;
	struct state s;
	int have_state = state_read(&s);

	snprintf(wrapper, sizeof wrapper, "%s/qwrap-sendmail", QWRAP_SBINDIR);
	at(target_arg, target);
	at(conf.sendmail, original);
	if (stat(at(wrapper, (char[PATH_MAX]){ 0 }), &wst) < 0 || !S_ISREG(wst.st_mode))
		die(EX_UNAVAILABLE, "%s%s is not installed: run make install first", root, wrapper);
	if (lstat(target, &tst) < 0)
		die(EX_NOINPUT, "%s: %s; nothing to put qwrap in front of", target, strerror(errno));
	if (S_ISLNK(tst.st_mode) && is_link_to(target, wrapper)) {
		if (have_state) {
			printf("qwrap-install: already enabled since %s", ctime(&(time_t){ s.enabled_at }));
			return 0;
		}
		die(EX_DATAERR, "%s already points to qwrap-sendmail but no state was recorded;"
		    " put the original back by hand, then enable again", target);
	}
	if (have_state && (tst.st_dev != s.dev || tst.st_ino != s.ino))
		die(EX_DATAERR, "a state from an earlier enable names another file; run --revert first");

	/* The original gets its second name once, never over another file. */
	if (lstat(original, &ost) == 0) {
		if (ost.st_dev != tst.st_dev || ost.st_ino != tst.st_ino)
			die(EX_CANTCREAT, "%s exists and is not %s: refusing to overwrite it;"
			    " set 'sendmail' in the config to a free name or move it away", original, target);
	} else if (errno != ENOENT)
		die(EX_IOERR, "%s: %s", original, strerror(errno));
	else {
		if (linkat(AT_FDCWD, target, AT_FDCWD, original, 0) < 0)
			die(EX_CANTCREAT, "cannot link %s to %s: %s", target, original, strerror(errno));
		sync_dir(original);
	}

	memset(&s, 0, sizeof s);
	snprintf(s.target, sizeof s.target, "%s", target_arg);
	snprintf(s.original, sizeof s.original, "%s", conf.sendmail);
	snprintf(s.wrapper, sizeof s.wrapper, "%s", wrapper);
	s.dev = tst.st_dev;
	s.ino = tst.st_ino;
	s.mode = tst.st_mode & 07777;
	s.uid = tst.st_uid;
	s.gid = tst.st_gid;
	fingerprint(original, &tst, s.sha256);
	s.enabled_at = time(NULL);
	s.log_offset = log_size();
	state_write(&s);

	replace_atomically(target, make_symlink, wrapper);
	printf("qwrap-install: enabled: %s -> %s (the original is %s)\n", target, wrapper, original);
	return 0;
}

static int
revert(int force)
{
	char target[PATH_MAX], original[PATH_MAX], sum[65];
	struct stat tst, ost;
	struct state s;

	if (!state_read(&s)) {
		printf("qwrap-install: not enabled; nothing to revert\n");
		return 0;
	}
	at(s.target, target);
	at(s.original, original);
	if (lstat(original, &ost) < 0)
		die(EX_NOINPUT, "the original %s is gone (%s); nothing to put back", original,
		    strerror(errno));
	if (lstat(target, &tst) == 0 && tst.st_dev == ost.st_dev && tst.st_ino == ost.st_ino) {
		/* An enable that stopped before the swap, or a revert before its cleanup. */
		state_remove();
		printf("qwrap-install: %s is already the original; finished\n", target);
		return 0;
	}
	if (!is_link_to(target, s.wrapper) && !force)
		die(EX_DATAERR, "%s no longer points to qwrap-sendmail: something replaced it (an MTA or"
		    " Plesk update?).  Nothing changed.  Look at it; --force puts %s back over it",
		    target, original);
	fingerprint(original, &ost, sum);
	if ((ost.st_dev != s.dev || ost.st_ino != s.ino || strcmp(sum, s.sha256) != 0 ||
	    (ost.st_mode & 07777) != s.mode || (long)ost.st_uid != s.uid ||
	    (long)ost.st_gid != s.gid) && !force)
		die(EX_DATAERR, "%s is not the file recorded at enable (inode, mode, owner or SHA-256"
		    " differ).  Nothing changed.  --force puts it back all the same", original);
	replace_atomically(target, make_hardlink, original);
	state_remove();
	printf("qwrap-install: reverted: %s is the original again (also still named %s)\n",
	    target, original);
	return 0;
}

/* Records the capture log gained since enable (all of it when it was rotated since). */
static long long
records_since(long long offset)
{
	char path[PATH_MAX], buf[65536];
	long long n = 0;
	ssize_t r;
	int fd = open(at(conf.log_file, path), O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (lseek(fd, 0, SEEK_END) < offset)
		offset = 0;
	lseek(fd, offset, SEEK_SET);
	while ((r = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static int
status(void)
{
	struct state s;
	long long n;

	if (!state_read(&s)) {
		printf("capture: off\nlog:     %s%s\n", root, conf.log_file);
		return 0;
	}
	n = records_since(s.log_offset);
	printf("capture: on since %s", ctime(&(time_t){ s.enabled_at }));
	printf("target:  %s%s -> %s\noriginal: %s%s\nlog:     %s%s\n", root, s.target,
	    s.wrapper, root, s.original, root, conf.log_file);
	if (n >= 0)
		printf("records: %lld since enable\n", n);
	else
		printf("records: (log unreadable)\n");
	return 0;
}

/* --verify: one line per finding; problems make the exit status EX_CONFIG. */
static int problems;

static void __attribute__((format(printf, 2, 3)))
finding(int problem, const char *fmt, ...)
{
	va_list ap;

	problems += problem;
	printf("%s: ", problem ? "PROBLEM" : "warning");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Owner root, group GID (or any when -1), exactly MODE; returns 0 when it is so. */
static int
check_owner_mode(const char *what, const char *path, gid_t gid, unsigned mode, int want_reg)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		finding(1, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (want_reg ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))
		finding(1, "%s %s is not a %s", what, path, want_reg ? "regular file" : "directory");
	else if (st.st_uid != 0 || (gid != (gid_t)-1 && st.st_gid != gid) ||
	    (st.st_mode & 07777) != mode)
		finding(1, "%s %s is %ld:%ld %04o; want root:qwrap %04o", what, path,
		    (long)st.st_uid, (long)st.st_gid, (unsigned)(st.st_mode & 07777), mode);
	else
		return 0;
	return -1;
}

static long
sysctl_value(const char *name)
{
	char path[128], buf[32];
	FILE *fp;
	long v = -1;

	snprintf(path, sizeof path, "/proc/sys/fs/%s", name);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(buf, sizeof buf, fp) != NULL)
			v = strtol(buf, NULL, 10);
		fclose(fp);
	}
	return v;
}

/* PHP and web server processes that cannot gain the qwrap group. */
static void
check_no_new_privs(void)
{
	static const char *const names[] = { "php-fpm", "php-cgi", "php", "apache2", "httpd",
	    "lsphp", NULL };
	struct dirent *e;
	DIR *d = opendir("/proc");
	int warned = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && warned < 5) {
		char path[300], line[256], comm[64] = "";
		int nnp = 0;
		FILE *fp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof line, fp) != NULL) {
			if (strncmp(line, "Name:", 5) == 0)
				sscanf(line + 5, "%63s", comm);
			else if (strncmp(line, "NoNewPrivs:", 11) == 0)
				nnp = atoi(line + 11);
		}
		fclose(fp);
		for (int i = 0; nnp && names[i] != NULL; i++)
			if (strncmp(comm, names[i], strlen(names[i])) == 0) {
				finding(0, "process %s (%s) runs with NoNewPrivileges: mail it sends"
				    " cannot be recorded (the set-gid bit is ignored)", e->d_name, comm);
				warned++;
				break;
			}
	}
	closedir(d);
}

static int
verify(void)
{
	char path[PATH_MAX], wrapper[PATH_MAX], dir[PATH_MAX];
	struct group *g = getgrnam("qwrap");
	struct statvfs vfs;
	struct state s;
	int fd, flags;

	if (g == NULL)
		finding(1, "there is no group qwrap (groupadd --system qwrap)");
	else if (g->gr_mem[0] != NULL)
		finding(1, "group qwrap has members (%s...): it must have none", g->gr_mem[0]);
	snprintf(wrapper, sizeof wrapper, "%s/qwrap-sendmail", QWRAP_SBINDIR);
	if (check_owner_mode("wrapper", at(wrapper, path), g ? g->gr_gid : (gid_t)-1, 02755, 1) == 0 &&
	    statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		finding(1, "wrapper %s is on a file system mounted nosuid: set-gid is ignored", path);
	check_owner_mode("log", at(conf.log_file, path), g ? g->gr_gid : (gid_t)-1, 0620, 1);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_APPEND_FL))
			finding(0, "log %s is not append-only (chattr +a)", path);
		close(fd);
	}
	dir_of(path, dir);
	{
		struct stat st;

		if (stat(dir, &st) == 0 && (st.st_uid != 0 || (st.st_mode & 022)))
			finding(1, "log directory %s must be root's and writable by nobody else", dir);
	}
	check_owner_mode("state_dir", at(conf.state_dir, path), g ? g->gr_gid : (gid_t)-1, 0770, 0);
	check_owner_mode("spool_dir", at(conf.spool_dir, path), g ? g->gr_gid : (gid_t)-1, 0770, 0);
	if (sysctl_value("protected_hardlinks") != 1)
		finding(1, "fs.protected_hardlinks is not 1: a user could link the log elsewhere");
	if (sysctl_value("protected_symlinks") != 1)
		finding(0, "fs.protected_symlinks is not 1");
	if (state_read(&s)) {
		char target[PATH_MAX], sum[65];
		struct stat ost;

		if (!is_link_to(at(s.target, target), s.wrapper))
			finding(1, "capture is on, but %s no longer points to qwrap-sendmail", target);
		if (lstat(at(s.original, path), &ost) < 0)
			finding(1, "the original %s is gone", path);
		else {
			fingerprint(path, &ost, sum);
			if (strcmp(sum, s.sha256) != 0 || ost.st_ino != s.ino)
				finding(1, "the original %s changed since enable", path);
		}
	}
	check_no_new_privs();
	printf("qwrap-install: %s\n", problems ? "problems found" : "all checks passed");
	return problems ? EX_CONFIG : 0;
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: qwrap-install --enable [--target PATH] [--root DIR]\n"
	    "       qwrap-install --revert [--force] [--root DIR]\n"
	    "       qwrap-install --status [--root DIR]\n"
	    "       qwrap-install --verify [--root DIR]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "enable", no_argument, NULL, 'e' }, { "revert", no_argument, NULL, 'r' },
		{ "status", no_argument, NULL, 's' }, { "verify", no_argument, NULL, 'v' },
		{ "target", required_argument, NULL, 't' },
		{ "root", required_argument, NULL, 'R' }, { "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *target = DEFAULT_TARGET;
	char cpath[PATH_MAX], err[CONF_ERR_MAX];
	int c, action = 0, force = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': case 'r': case 's': case 'v':
			if (action && action != c)
				usage(EX_USAGE);
			action = c;
			break;
		case 't': target = optarg; break;
		case 'R': root = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(0);
		default: usage(EX_USAGE);
		}
	}
	if (!action || optind != argc || target[0] != '/')
		usage(EX_USAGE);
	if (geteuid() != 0 && root[0] == '\0')
		die(EX_NOPERM, "must be run as root");
	umask(022);
	if (conf_load(at(QWRAP_CONF_PATH, cpath), (uid_t)-1, &conf, err) == CONF_BAD)
		die(EX_CONFIG, "%s", err);
	switch (action) {
	case 'e': return enable(target);
	case 'r': return revert(force);
	case 'v': return verify();
	default: return status();
	}
}
