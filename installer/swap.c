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
#include "target.h"

/*
 * The original gets the config's sendmail name, never over another file:
 * except over the second name the last revert left, once the MTA replaced
 * the target since (LAST proves it is that same file).
 */
int
swap_second_name(const char *target, const struct stat *tst, const char *original,
    const struct install_state *last, char err[ERR_MAX])
{
	struct stat ost, a, b;
	int same = 0, r;

	if (lstat(original, &ost) == 0) {
		if (ost.st_dev == tst->st_dev && ost.st_ino == tst->st_ino)
			;	/* given at an enable that stopped before its end */
		else if (last == NULL || swap_is_original(original, last, &same, err) != 0 || !same) {
			snprintf(err, ERR_MAX, "%s exists and is not %s: refusing to overwrite it; set"
			    " 'sendmail' in the config to a free name or move that file away", original,
			    target);
			return EX_CANTCREAT;
		} else if ((r = swap_replace(original, 0, target, err)) != 0)
			return r;
		else
			note("%s was the original of the last session, replaced since: it now names"
			    " the current %s", original, target);
	} else if (errno != ENOENT) {
		snprintf(err, ERR_MAX, "%s: %s", original, strerror(errno));
		return EX_IOERR;
	} else if (linkat(AT_FDCWD, target, AT_FDCWD, original, 0) < 0) {
		snprintf(err, ERR_MAX, "cannot link %s to %s: %s (they must be on one file system)",
		    target, original, strerror(errno));
		return EX_CANTCREAT;
	}
	if (sync_dir_of(original, err) < 0)
		return EX_IOERR;
	/* A relative symbolic link (Exim's sendmail -> exim4) only works beside its target. */
	if (stat(target, &a) < 0 || stat(original, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		unlink(original);
		snprintf(err, ERR_MAX, "%s is a symbolic link that leads elsewhere when named %s:"
		    " set 'sendmail' in the config to a name in the same directory", target,
		    original);
		return EX_CONFIG;
	}
	return 0;
}

/*
 * Makes TARGET a symbolic link to FROM, or another name of FROM, by
 * rename(2) of a link made under a temporary name in the same directory.
 */
int
swap_replace(const char *target, int symbolic, const char *from, char err[ERR_MAX])
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

/*
 * Before enable changes anything: the target is to be the real sendmail
 * under its second name ORIGINAL, so enable requires what the wrapper
 * requires of it (wrapper/deliver.c), or every message would fail, and
 * more: an executable file of root's that nobody else may change, in
 * directories only root may change, and not qwrap-sendmail itself behind a
 * link made by hand.
 */
int
swap_check_original(const char *target, const char *original, const char *wrapper,
    char err[ERR_MAX])
{
	const char *paths[] = { target, original };
	char dir[PATH_MAX];
	struct stat st, w, d;

	if (stat(target, &st) < 0) {
		snprintf(err, ERR_MAX, "%s leads nowhere (%s): there is no sendmail to put qwrap in"
		    " front of", target, strerror(errno));
		return EX_NOINPUT;
	}
	switch (target_judge(&st, stat(wrapper, &w) == 0 ? &w : NULL)) {
	case TARGET_OK:
		break;
	case TARGET_IS_WRAPPER:
		snprintf(err, ERR_MAX, "%s leads to qwrap-sendmail already, by a link not made by"
		    " qwrap-install: put the MTA's sendmail back there, then enable", target);
		return EX_DATAERR;
	case TARGET_NOT_PROGRAM:
		snprintf(err, ERR_MAX, "%s is not an executable file: it cannot be the real sendmail",
		    target);
		return EX_DATAERR;
	case TARGET_UNSAFE:
		snprintf(err, ERR_MAX, "%s belongs to uid %ld with mode %04o: the wrapper hands mail"
		    " only to a real sendmail of root's (or the wrapper's owner's) that nobody else"
		    " may write; make it so (chown root, chmod go-w), then enable", target,
		    (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return EX_DATAERR;
	}
	for (int i = 0; i < 2; i++) {
		path_dir(paths[i], dir);
		if (stat(dir, &d) == 0 && (d.st_uid != 0 || (d.st_mode & 022))) {
			snprintf(err, ERR_MAX, "%s must be root's and writable by nobody else (it is"
			    " uid %ld, mode %04o): whoever may write there could replace the real"
			    " sendmail", dir, (long)d.st_uid, (unsigned)(d.st_mode & 07777));
			return EX_DATAERR;
		}
	}
	return 0;
}
