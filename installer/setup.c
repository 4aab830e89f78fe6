/*
 * setup.c: what qwrap-sendmail needs to record anything: the qwrap group with
 * no members, the wrapper root:qwrap 2755 where set-gid works, the log
 * root:qwrap 0620 (append-only where the file system has it) in a directory
 * only root writes, and the state and spool directories root:qwrap 0770.
 * Each step makes what is missing and puts right an owner or mode that is off.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include "inst.h"

/* A member, or a user whose primary group it is, could write the log directly. */
int
group_check(gid_t gid, char err[ERR_MAX])
{
	struct group *g = getgrgid(gid);
	struct passwd *pw;
	int found = 0;

	if (g != NULL && g->gr_mem[0] != NULL) {
		snprintf(err, ERR_MAX, "group qwrap has members (%s...): it must have none;"
		    " remove them (gpasswd -d USER qwrap)", g->gr_mem[0]);
		return -1;
	}
	setpwent();
	while (!found && (pw = getpwent()) != NULL)
		if (pw->pw_gid == gid) {
			snprintf(err, ERR_MAX, "qwrap is the primary group of user %s: it must be"
			    " nobody's", pw->pw_name);
			found = 1;
		}
	endpwent();
	return found ? -1 : 0;
}

/* A user who can write the log's directory could replace the log. */
int
log_dir_check(const char *dir, char err[ERR_MAX])
{
	struct stat st;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, ERR_MAX, "the log's directory %s must be root's and writable by nobody"
		    " else", dir);
		return -1;
	}
	return 0;
}

int
setup_group(gid_t *gid, char err[ERR_MAX])
{
	char groupadd[PATH_MAX], out[512];
	struct group *g = getgrnam("qwrap");

	if (g == NULL) {
		char *argv[] = { groupadd, "--system", "qwrap", NULL };

		if (find_program("groupadd", groupadd) < 0) {
			snprintf(err, ERR_MAX, "there is no group qwrap and no groupadd to make it");
			return EX_UNAVAILABLE;
		}
		/* Another installer may have made it meanwhile: only its absence is a failure. */
		int r = run_command(argv, NULL, out, sizeof out);

		if ((g = getgrnam("qwrap")) == NULL) {
			snprintf(err, ERR_MAX, "groupadd --system qwrap failed: %s", out);
			return EX_OSERR;
		}
		if (r == 0)
			note("made the system group qwrap (gid %ld)", (long)g->gr_gid);
	}
	*gid = g->gr_gid;
	return group_check(*gid, err) < 0 ? EX_CONFIG : 0;
}

/*
 * Owner root:GID and MODE on the open FD; chown first, as it clears set-gid.
 * An append-only file keeps its owner and mode: the attribute is lifted for
 * the change (setup_log sets it again).
 */
static int
own(int fd, const struct stat *st, gid_t gid, mode_t mode, const char *path, char err[ERR_MAX])
{
	int flags;

	if (st->st_uid == 0 && st->st_gid == gid && (st->st_mode & 07777) == mode)
		return 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_APPEND_FL)) {
		flags &= ~FS_APPEND_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	if (fchown(fd, 0, gid) < 0 || fchmod(fd, mode) < 0) {
		snprintf(err, ERR_MAX, "cannot make %s root:qwrap %04o: %s", path, (unsigned)mode,
		    strerror(errno));
		return EX_NOPERM;
	}
	note("%s is now root:qwrap %04o (was %ld:%ld %04o)", path, (unsigned)mode,
	    (long)st->st_uid, (long)st->st_gid, (unsigned)(st->st_mode & 07777));
	return 0;
}

int
setup_wrapper(const char *path, gid_t gid, char err[ERR_MAX])
{
	struct statvfs vfs;
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		snprintf(err, ERR_MAX, "%s is not installed (%s): run make install first", path,
		    fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return EX_UNAVAILABLE;
	}
	if (st.st_uid != 0) {
		snprintf(err, ERR_MAX, "%s belongs to uid %ld, not root: reinstall it as root", path,
		    (long)st.st_uid);
		close(fd);
		return EX_CONFIG;
	}
	/* An MTA's installer writing through the target's link puts its own program here. */
	if (!is_qwrap_sendmail(path)) {
		snprintf(err, ERR_MAX, "%s is not qwrap-sendmail (another program was installed"
		    " through a link to it?): run make install again, then enable", path);
		close(fd);
		return EX_CONFIG;
	}
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
		snprintf(err, ERR_MAX, "%s is on a file system mounted nosuid: the set-gid bit would be"
		    " ignored and nothing recorded; install qwrap where set-gid works", path);
		close(fd);
		return EX_CONFIG;
	}
	r = own(fd, &st, gid, 02755, path, err);
	close(fd);
	return r;
}

/* Makes the missing directories of PATH, root:root 0755. */
static int
make_parents(const char *path, char err[ERR_MAX])
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			snprintf(err, ERR_MAX, "cannot make %s: %s", p, strerror(errno));
			return EX_CANTCREAT;
		}
		*s = '/';
	}
	return 0;
}

/*
 * Append-only keeps even root's mistakes from rewriting the log in place.
 * Not every file system (or container) allows it: that is a note, not a failure.
 */
static void
make_append_only(int fd, const char *path)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		note("%s: no append-only attribute on this file system (%s)", path, strerror(errno));
		return;
	}
	if (flags & FS_APPEND_FL)
		return;
	flags |= FS_APPEND_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
		note("%s: cannot make it append-only (%s)", path, strerror(errno));
	else
		note("%s is now append-only (chattr +a)", path);
}

/* The file starts as a record of the capture log does. */
static int
is_capture_log(int fd)
{
	static const char start[] = "{\"v\":";
	char buf[sizeof start - 1];

	return pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf &&
	    memcmp(buf, start, sizeof buf) == 0;
}

int
setup_log(const char *path, gid_t gid, char err[ERR_MAX])
{
	char dir[PATH_MAX];
	struct stat st;
	int fd, r;

	path_dir(path, dir);
	if ((r = make_parents(path, err)) != 0)
		return r;
	if (log_dir_check(dir, err) < 0)
		return EX_CONFIG;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC, 0620);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, ERR_MAX, "the log %s must be a regular file with one name (%s)", path,
		    fd < 0 ? strerror(errno) : "it is not");
		if (fd >= 0)
			close(fd);
		return EX_CANTCREAT;
	}
	/* Likewise a log that is not the group's yet: empty, or qwrap's records. */
	if (st.st_gid != gid && st.st_size > 0 && !is_capture_log(fd)) {
		snprintf(err, ERR_MAX, "%s is not empty and not a qwrap capture log: name a file of"
		    " qwrap's own in the config", path);
		close(fd);
		return EX_CONFIG;
	}
	if ((r = own(fd, &st, gid, 0620, path, err)) == 0)
		make_append_only(fd, path);
	close(fd);
	return r;
}

/*
 * A directory enable did not make and that is not root:qwrap yet is put
 * right only when it is empty or all it holds is the group's (qwrap's own
 * files, left by a broken install): not a directory in use by others that a
 * typo in the config named.
 */
static int
only_ours(int fd, gid_t gid, const char *path, char err[ERR_MAX])
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int r = 0, dfd = dup(fd);

	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		snprintf(err, ERR_MAX, "cannot read %s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		/* qwrap release's lock file is root's own. */
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, ".release.lock") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_gid != gid) {
			snprintf(err, ERR_MAX, "%s holds %s, which is not the qwrap group's: name a"
			    " directory of qwrap's own in the config", path, e->d_name);
			r = EX_CONFIG;
		}
	}
	closedir(d);
	return r;
}

int
setup_dir(const char *path, gid_t gid, char err[ERR_MAX])
{
	struct stat st;
	int fd, r;

	if ((r = make_parents(path, err)) != 0)
		return r;
	if (mkdir(path, 0770) < 0 && errno != EEXIST) {
		snprintf(err, ERR_MAX, "cannot make %s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		snprintf(err, ERR_MAX, "%s must be a directory (%s)", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_CANTCREAT;
	}
	if ((st.st_uid != 0 || st.st_gid != gid) && (r = only_ours(fd, gid, path, err)) != 0) {
		close(fd);
		return r;
	}
	r = own(fd, &st, gid, 0770, path, err);
	close(fd);
	return r;
}
