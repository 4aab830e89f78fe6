/*
 * caller.h: who is sending.  Kernel facts (uid, gid, pid, cwd, ancestors)
 * first, then the script, with the source it was found in.  Runs in the
 * worker, without the group.
 */
#ifndef QWRAP_CALLER_H
#define QWRAP_CALLER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "record.h"

/*
 * Bytes of an ancestor's argv kept: more than the record keeps, so that a
 * command line cut here is cut by the record's encoder too, which marks it.
 */
#define CALLER_ARGV_MAX 2048
_Static_assert(CALLER_ARGV_MAX > RECORD_PARGV_CUT + 2, "a cut argv must reach the encoder cut");
#define CALLER_ENV_MAX RECORD_ENV_MAX

struct caller_parent {
	long pid;
	long uid;
	char name[64];		/* the kernel's name for it (comm), from status */
	char exe[PATH_MAX];	/* "" when unreadable (not dumpable) */
	char argv[CALLER_ARGV_MAX];	/* NUL-separated */
	size_t argvlen;
};

struct caller {
	long uid, gid, pid;
	char cwd[PATH_MAX];	/* "?" when it cannot be had */
	struct caller_parent parents[RECORD_MAX_PARENTS];
	int nparents;
	long above;		/* the parent of the last of PARENTS (of the caller when none); 0 at the top */
	char fd_script[PATH_MAX];	/* from the inherited fds; "" if none */
	char script[PATH_MAX];
	const char *script_from;	/* fpm-status, fd, cgi-environ, env, prepend, shell-fd, argv,
					   argv-module, php-header, none */
	int script_unresolved;	/* SCRIPT is as seen: its canonical path could not be had */
	struct rec_env env[CALLER_ENV_MAX];	/* claimed CGI variables, from envp */
	int nenv;
};

/* The variable contrib/qwrap-prepend.php sets to the entry script's real path. */
#define CALLER_PREPEND_VAR "QWRAP_SCRIPT_FILENAME"
#define CALLER_PREPEND_FILE "qwrap-prepend.php"	/* its name, as installed */

/*
 * Looks at fds 3 and up of the process under PROCROOT/self/fd, by readlink
 * and stat only, and copies the lowest that is a regular *.php file into OUT.
 * Returns 1 when one was found.
 */
int caller_scan_fds(const char *procroot, char out[PATH_MAX]);

/*
 * Fills the kernel facts: UID, GID, PID as given, the cwd, and the
 * ancestors from PPID up while they run as UID (at most RECORD_MAX_PARENTS);
 * also the claimed CGI variables of ENVP.  Leaves fd_script alone.
 */
void caller_identify(const char *procroot, long uid, long gid, long pid,
    long ppid, char *const envp[], struct caller *c);

/*
 * Picks the script from the best source available (in the order qwrap-sendmail(8) gives).
 * First, when FPM_SOCKET is not NULL (nor ""), a php-fpm worker among the
 * ancestors is asked about at its pool's status page: FPM_SOCKET is the
 * pool's pm.status_listen, %p standing for the pool's name, FPM_PATH its
 * pm.status_path; the server's record of the request beats every other
 * source ("fpm-status").  PHP_HEADER is the X-PHP-Originating-Script value,
 * or NULL.
 */
void caller_resolve_script(const char *procroot, char *const envp[],
    const char *php_header, size_t php_header_len, const char *fpm_socket,
    const char *fpm_path, struct caller *c);

/* The php-fpm worker among the ancestors ("php-fpm: pool NAME"): its pid and NAME, or 0. */
long caller_fpm_worker(const struct caller *c, char pool[64]);

/* The real and effective uid on the Uid: line of a /proc/PID/status text; 0, or -1. */
int caller_uids(const char *status, long *ruid, long *euid);

/* Reads at most CAP-1 bytes of PATH into BUF, NUL-terminated; -1 on error. */
ssize_t caller_read_small(const char *path, char *buf, size_t cap);

/* The value of NAME in ENVP (first occurrence), or NULL. */
const char *caller_getenv(char *const envp[], const char *name);

#endif
