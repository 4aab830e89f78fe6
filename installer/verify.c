/*
 * verify.c: --verify re-checks, without changing anything, what enable set
 * up, plus the host settings and services that would defeat it.  One line
 * per finding: PROBLEM (capture is not trustworthy) or warning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "inst.h"
#include "paths.h"

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

/* Owner root, group GID (any when -1), exactly MODE; 0 when it is so. */
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

	while (d != NULL && warned < 5 && (e = readdir(d)) != NULL) {
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
	if (d != NULL)
		closedir(d);
}

static void
check_log(const char *path, gid_t gid)
{
	char dir[PATH_MAX], err[ERR_MAX];
	int fd, flags;

	check_owner_mode("log", path, gid, 0620, 1);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_APPEND_FL))
			finding(0, "log %s is not append-only (chattr +a)", path);
		close(fd);
	}
	path_dir(path, dir);
	if (log_dir_check(dir, err) < 0)
		finding(1, "%s", err);
}

/*
 * The wrapper checks the real sendmail, then execs it by path: what enable
 * requires of it holds all along.  Missing is fine before enable gives it
 * this name; check_session covers after.
 */
static void
check_real_sendmail(const char *path, const char *wrapper)
{
	char err[ERR_MAX];
	struct stat st;

	if (lstat(path, &st) == 0 && swap_check_original(path, path, wrapper, err) != 0)
		finding(1, "the real sendmail: %s", err);
}

static void
check_session(const char *root, const struct conf *c)
{
	char dir[PATH_MAX], target[PATH_MAX], original[PATH_MAX], err[ERR_MAX];
	struct install_state s;
	int same = 0, r;

	if (path_at(root, c->state_dir, dir) < 0)
		return;
	if ((r = state_load(dir, STATE_NAME, 0, &s, err)) < 0) {
		finding(1, "%s", err);
		return;
	}
	if (r == 0)
		return;
	if (path_at(root, s.target, target) < 0 || path_at(root, s.original, original) < 0)
		return;
	if (!is_link_to(target, s.wrapper) && is_recorded_original(target, &s))
		finding(1, "an enable or a revert stopped half way: %s is the original again;"
		    " qwrap-install --revert finishes it", target);
	else if (!is_link_to(target, s.wrapper))
		finding(1, "capture is on, but %s no longer points to qwrap-sendmail (an update"
		    " replaced or removed it?); see qwrap-install(8), --revert", target);
	if (swap_is_original(original, &s, &same, err) != 0)
		finding(1, "%s", err);
	else if (!same)
		finding(1, "the original %s changed since enable (inode, mode, owner or SHA-256)",
		    original);
	if (s.deadline > 0 && (long long)time(NULL) >= s.deadline)
		finding(0, "the timed session ended but was not reverted: run qwrap-install --revert");
}

static void
reach_finding(int problem, const char *msg, void *arg)
{
	(void)arg;
	finding(problem, "%s", msg);
}

/* The capture target: the session's, or the one enable would replace (TARGET). */
static void
verify_target(const char *root, const struct conf *c, const char *target, char out[PATH_MAX])
{
	char dir[PATH_MAX], err[ERR_MAX];
	struct install_state s;

	if (path_at(root, c->state_dir, dir) == 0 && state_load(dir, STATE_NAME, 0, &s, err) == 1)
		snprintf(out, PATH_MAX, "%s", s.target);
	else
		snprintf(out, PATH_MAX, "%s", target);
}

int
verify_capture_on(const char *root, const struct conf *c)
{
	char dir[PATH_MAX], target[PATH_MAX], err[ERR_MAX];
	struct install_state s;

	return path_at(root, c->state_dir, dir) == 0 && state_load(dir, STATE_NAME, 0, &s, err) == 1 &&
	    path_at(root, s.target, target) == 0 && is_link_to(target, s.wrapper);
}

int
verify_all(const char *root, const struct conf *c, const char *target)
{
	char path[PATH_MAX], wrapper[PATH_MAX], err[ERR_MAX];
	struct group *g = getgrnam("qwrap");
	gid_t gid = g ? g->gr_gid : (gid_t)-1;
	struct reach_result reach;
	struct statvfs vfs;

	problems = 0;
	if (g == NULL)
		finding(1, "there is no group qwrap (groupadd --system qwrap, or qwrap-install --enable)");
	else if (group_check(gid, err) < 0)
		finding(1, "%s", err);
	if (path_at(root, QWRAP_WRAPPER, wrapper) < 0)
		return ++problems;
	if (access(wrapper, F_OK) == 0 && !is_qwrap_sendmail(wrapper))
		finding(1, "%s is not qwrap-sendmail: another program was installed over it or"
		    " through a link to it (see qwrap-install --revert, which says how to keep it)",
		    wrapper);
	if (check_owner_mode("wrapper", wrapper, gid, 02755, 1) == 0 &&
	    statvfs(wrapper, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		finding(1, "wrapper %s is on a file system mounted nosuid: set-gid is ignored", wrapper);
	if (path_at(root, c->log_file, path) == 0)
		check_log(path, gid);
	if (path_at(root, c->sendmail, path) == 0)
		check_real_sendmail(path, wrapper);
	if (path_at(root, c->state_dir, path) == 0)
		check_owner_mode("state_dir", path, gid, 0770, 0);
	if (path_at(root, c->spool_dir, path) == 0)
		check_owner_mode("spool_dir", path, gid, 0770, 0);
	if (sysctl_value("protected_hardlinks") != 1)
		finding(1, "fs.protected_hardlinks is not 1: a user could link the log elsewhere;"
		    " sysctl fs.protected_hardlinks=1, and fs.protected_hardlinks = 1 in"
		    " /etc/sysctl.d/99-qwrap.conf to keep it");
	if (sysctl_value("protected_symlinks") != 1)
		finding(0, "fs.protected_symlinks is not 1: sysctl fs.protected_symlinks=1, and"
		    " fs.protected_symlinks = 1 in /etc/sysctl.d/99-qwrap.conf to keep it");
	for (int i = 0, r; (r = trusted_nth(root, c, i, err)) >= 0; i++)
		if (r != 0)
			finding(1, "%s", err);
	check_session(root, c);
	verify_target(root, c, target, path);
	if (reach_scan(root, path, &reach, reach_finding, NULL) < 0)
		finding(1, "the capture target %s: the path is too long", path);
	check_no_new_privs();
	return problems;
}
