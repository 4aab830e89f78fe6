/*
 * state.h: install.state, what qwrap-install records at enable (the original
 * sendmail's identity, the capture session and its scheduled end).  Written
 * by qwrap-install as root:qwrap 0640; read by qwrap-install and, while
 * set-gid, by qwrap-sendmail, which only wants the session's deadline.
 */
#ifndef QWRAP_STATE_H
#define QWRAP_STATE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/*
 * Both files live in STATE_HOME, a directory of state_dir's that is
 * root:qwrap 0750: the group (the wrapper) may read them, and nothing that
 * has the group may remove or replace them, as it could in state_dir
 * (root:qwrap 0770, the limits' state).  Installs before this kept them in
 * state_dir itself (STATE_OLD_*): read from there until qwrap-install moves
 * them (state_home).
 */
#define STATE_HOME        "install"
#define STATE_NAME        STATE_HOME "/install.state"
#define STATE_LAST        STATE_HOME "/install.last"	/* the last session's, after revert */
#define STATE_OLD_NAME    "install.state"
#define STATE_OLD_LAST    "install.last"
#define STATE_FILE_MAX    8192	/* bytes read at most; a real one is ~400 */
#define STATE_ERR_MAX     (PATH_MAX + 128)
#define STATE_SESSION_LEN 16	/* hex digits of a session's name */

struct install_state {
	char target[PATH_MAX], original[PATH_MAX], wrapper[PATH_MAX];
	long long dev, ino, mode, uid, gid;	/* the original, as it was at enable */
	char sha256[65];
	long long enabled_at, log_offset, log_ino;	/* where this session's records start */
	long long deadline;		/* end of a timed session; 0 when there is none */
	char session[STATE_SESSION_LEN + 1];	/* names the session's scheduled revert */
	char scheduler[16];		/* systemd-run, at, timer or none; empty until scheduled */
	char job[64];			/* the unit, the at job or the timer's pid */
};

/* Parses the key=value lines in BUF: 0, or -1 with ERR set when malformed or incomplete. */
int state_parse(const char *buf, size_t len, struct install_state *s, char err[STATE_ERR_MAX]);

/* The file's text; the length, which is >= CAP when it did not fit. */
size_t state_format(const struct install_state *s, char *buf, size_t cap);

/*
 * Reads DIR/NAME (STATE_NAME or STATE_LAST), which must be a regular file
 * owned by root or TRUSTED and writable by nobody else.  1 when read, 0 when
 * there is none, -1 with ERR set (and errno, when opening failed).
 */
int state_load(const char *dir, const char *name, uid_t trusted, struct install_state *s,
    char err[STATE_ERR_MAX]);

/*
 * Writes it by a synced temporary file renamed into place, root:GID 0640, so
 * that a crash leaves the old state or the new one.  0, or -1 with ERR set.
 */
int state_save(const char *dir, gid_t gid, const struct install_state *s,
    char err[STATE_ERR_MAX]);

/*
 * Makes DIR/STATE_HOME root:GID 0750, or puts it right (it must be root's
 * already: something else made it otherwise), and moves the files an older
 * install left in DIR into it, never over newer ones.  Root only (the
 * installer).  0, or -1 with ERR set.
 */
int state_home(const char *dir, gid_t gid, char err[STATE_ERR_MAX]);

/* Ends a session: install.state becomes install.last, in one rename. */
int state_retire(const char *dir, char err[STATE_ERR_MAX]);

/* 1 when DIR holds a state of TRUSTED's (or root's): capture was enabled and not reverted. */
int state_enabled(const char *dir, uid_t trusted);

/* 1 when DIR's state names a timed session whose deadline is NOW or past. */
int state_session_over(const char *dir, uid_t trusted, time_t now);

#endif
