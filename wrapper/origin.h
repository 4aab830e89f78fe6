/*
 * origin.h: where a message came from, a web request, a cron or at job, an
 * SSH login, a systemd service or a terminal, decided from the caller's
 * ancestors.  Runs in the worker, without the group, as the caller.
 */
#ifndef QWRAP_ORIGIN_H
#define QWRAP_ORIGIN_H

#include "caller.h"

#define ORIGIN_MAX_HOPS 32	/* ancestors looked at, up to pid 1 */
#define ORIGIN_INFO_MAX 160

/* The values are those of record.h's record_origin_*: the keeper refuses others. */
struct origin {
	const char *kind;	/* web, cron, at, ssh, systemd, console, unknown */
	/*
	 * How: "ancestor" (a process of another uid, which the caller cannot
	 * have named), "own-ancestor" (one of the caller's own, a claim),
	 * "tty" (the caller's session has a terminal), "cgroup" (the systemd
	 * unit the caller runs in), "none".
	 */
	const char *from;
	char info[ORIGIN_INFO_MAX];	/* "pool=NAME", "vhost=NAME", "addr=IP", "unit=NAME"; "" */
	const char *info_from;	/* "title", "env", "ancestor-env", "cgroup"; NULL with no info */
};

/*
 * Decides O for the caller C, as caller_identify filled it, from PROCROOT: the nearest ancestor of another uid that is a known server
 * (php-fpm, apache2, nginx, ... ; cron; atd; sshd; login) names it; failing
 * that, the nearest of the caller's own; then a terminal; then the systemd
 * unit; else unknown.
 */
void origin_find(const char *procroot, char *const envp[], const struct caller *c,
    struct origin *o);

#endif
