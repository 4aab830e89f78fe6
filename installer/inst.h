/*
 * inst.h: the modules of qwrap-install, which runs as root and is never
 * set-gid.  Each returns 0 or a sysexits code with ERR set; only main.c exits.
 */
#ifndef QWRAP_INST_H
#define QWRAP_INST_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"
#include "state.h"

#define ERR_MAX (2 * PATH_MAX + 256)

/* The target enable replaces when not told another: qmail's sendmail. */
#define DEFAULT_TARGET "/var/qmail/bin/sendmail"

/* util.c: paths, files and commands. */
int path_at(const char *root, const char *path, char out[PATH_MAX]);
void path_dir(const char *path, char out[PATH_MAX]);
int sync_dir_of(const char *path, char err[ERR_MAX]);
int fingerprint(const char *path, const struct stat *st, char out[65], char err[ERR_MAX]);
int is_link_to(const char *path, const char *want);
/* 1 when PATH is a qwrap-sendmail binary (it holds QWRAP_SENDMAIL_MARK). */
int is_qwrap_sendmail(const char *path);
/* 1 when what is left to read of FD (a regular file) holds QWRAP_SENDMAIL_MARK. */
int has_qwrap_mark(int fd);
/* 1 when PATH is the file S recorded as the original (an enable or revert stopped half way). */
int is_recorded_original(const char *path, const struct install_state *s);
/* 1 when A and B are one directory entry however spelled: one directory, one name. */
int same_entry(const char *a, const char *b);
int trusted_path(const char *root, const char *what, const char *path, char err[ERR_MAX]);
int trusted_nth(const char *root, const struct conf *c, int i, char err[ERR_MAX]);
int run_command(char *const argv[], const char *input, char *out, size_t outcap);
int find_program(const char *name, char out[PATH_MAX]);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* setup.c: what the wrapper needs, made or put right. */
int group_check(gid_t gid, char err[ERR_MAX]);
int log_dir_check(const char *dir, char err[ERR_MAX]);
int setup_group(gid_t *gid, char err[ERR_MAX]);
int setup_wrapper(const char *path, gid_t gid, char err[ERR_MAX]);
int setup_log(const char *path, gid_t gid, char err[ERR_MAX]);
int setup_dir(const char *path, gid_t gid, char err[ERR_MAX]);

/* swap.c: the target replaced by rename(2), never missing. */
int swap_second_name(const char *target, const struct stat *tst, const char *original,
    const struct install_state *last, char err[ERR_MAX]);
int swap_replace(const char *target, int symbolic, const char *from, char err[ERR_MAX]);
int swap_is_original(const char *path, const struct install_state *s, int *same,
    char err[ERR_MAX]);
int swap_check_original(const char *target, const char *original, const char *wrapper,
    char err[ERR_MAX]);

/* schedule.c: the end of a timed session. */
int schedule_start(const char *how, const char *root, struct install_state *s,
    char err[ERR_MAX]);
void schedule_cancel(const struct install_state *s);
int schedule_pending(const struct install_state *s);
void schedule_wait(long long deadline);

/* verify.c: --verify; the number of problems found. */
int verify_all(const char *root, const struct conf *c, const char *target);

/* phpscan.c: where each PHP configuration's and the system's sendmail lead. */
struct reach_result {
	int checked;	/* the programs looked at */
	int misses;	/* those that do not reach the wrapper */
	int warnings;	/* those that lead nowhere, or could not be told */
	char target[PATH_MAX];	/* the capture target, as the host names it */
};

/*
 * Every PHP configuration and /usr/sbin/sendmail, /usr/lib/sendmail, on the
 * host under ROOT: REPORT is called for each that does not reach TARGET
 * (the host's path of the capture target) or the wrapper, PROBLEM 1 for a
 * miss, 0 for a warning.  0, or -1 when a path does not fit.
 */
int reach_scan(const char *root, const char *target, struct reach_result *res,
    void (*report)(int problem, const char *msg, void *arg), void *arg);

/* Whether capture is on: a session recorded, its target the wrapper's link. */
int verify_capture_on(const char *root, const struct conf *c);

/* --verify's status when every check passed but capture is off. */
#define VERIFY_CAPTURE_OFF 1

#endif
