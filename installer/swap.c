/*
 * swap.c: the target becomes the wrapper's symlink or the original again by
 * rename(2) of a link made under a temporary name in the same directory, so
 * that at every instant the target names the old file or the new one.  The
 * original is never deleted: it keeps the second name enable gives it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "inst.h"

/* The original gets the config's sendmail name once, and never over another file. */
int
swap_second_name(const char *target, const struct stat *tst, const char *original,
    char err[ERR_MAX])
{
	struct stat ost;

	if (lstat(original, &ost) == 0) {
		if (ost.st_dev == tst->st_dev && ost.st_ino == tst->st_ino)
			return 0;
		snprintf(err, ERR_MAX, "%s exists and is not %s: refusing to overwrite it; set"
		    " 'sendmail' in the config to a free name or move that file away", original,
		    target);
		return EX_CANTCREAT;
	}
	if (errno != ENOENT) {
		snprintf(err, ERR_MAX, "%s: %s", original, strerror(errno));
		return EX_IOERR;
	}
	if (linkat(AT_FDCWD, target, AT_FDCWD, original, 0) < 0) {
		snprintf(err, ERR_MAX, "cannot link %s to %s: %s (they must be on one file system)",
		    target, original, strerror(errno));
		return EX_CANTCREAT;
	}
	return sync_dir_of(original, err) < 0 ? EX_IOERR : 0;
}

static int
replace(const char *target, int symbolic, const char *from, char err[ERR_MAX])
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *base = strrchr(target, '/') + 1;

	path_dir(target, dir);
	if (snprintf(tmp, sizeof tmp, "%s/.%s.qwrap-new", dir, base) >= (int)sizeof tmp) {
		snprintf(err, ERR_MAX, "path too long: %s", target);
		return EX_USAGE;
	}
	/* A crash may have left one; we hold the lock, so it is nobody else's. */
	unlink(tmp);
	if ((symbolic ? symlink(from, tmp) : linkat(AT_FDCWD, from, AT_FDCWD, tmp, 0)) < 0) {
		snprintf(err, ERR_MAX, "cannot create %s: %s", tmp, strerror(errno));
		return EX_CANTCREAT;
	}
	if (rename(tmp, target) < 0) {
		snprintf(err, ERR_MAX, "cannot rename %s to %s: %s", tmp, target, strerror(errno));
		unlink(tmp);
		return EX_IOERR;
	}
	return sync_dir_of(target, err) < 0 ? EX_IOERR : 0;
}

int
swap_to_symlink(const char *target, const char *to, char err[ERR_MAX])
{
	return replace(target, 1, to, err);
}

int
swap_to_hardlink(const char *target, const char *from, char err[ERR_MAX])
{
	return replace(target, 0, from, err);
}

/* *SAME is 1 when PATH is the file recorded at enable: inode, mode, owner and hash. */
int
swap_is_original(const char *path, const struct install_state *s, int *same, char err[ERR_MAX])
{
	char sum[65];
	struct stat st;

	if (lstat(path, &st) < 0) {
		snprintf(err, ERR_MAX, "the original %s is gone (%s)", path, strerror(errno));
		return EX_NOINPUT;
	}
	if (fingerprint(path, &st, sum, err) < 0)
		return EX_IOERR;
	*same = (long long)st.st_dev == s->dev && (long long)st.st_ino == s->ino &&
	    (long long)(st.st_mode & 07777) == s->mode && (long long)st.st_uid == s->uid &&
	    (long long)st.st_gid == s->gid && strcmp(sum, s->sha256) == 0;
	return 0;
}
