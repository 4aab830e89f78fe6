/*
 * keeper.h: the part of qwrap-sendmail that keeps the qwrap group (the
 * rules it follows are at the top of keeper.c).  The worker's side, which
 * starts it and asks it, is split.h.
 */
#ifndef QWRAP_KEEPER_H
#define QWRAP_KEEPER_H

#include <sys/types.h>

#include "config.h"
#include "freeze.h"

#define KEEPER_SEND_S 10	/* for an answer the worker does not read */

/* What the keeper works with: the kernel's facts, and what it read itself. */
struct keeper_setup {
	const struct conf *conf;	/* root's, read by the keeper */
	int logfd;			/* the capture log, opened with the group; -1: none */
	long uid, gid, pid;		/* the caller's real ids and the worker's pid: the kernel's */
	const char *host;
	const char *host_id;		/* the keeper's (record_host_id); NULL: none */
	char *const *argv;		/* the wrapper's, as the caller gave them: to release with */
	int argc;
	const struct freezes *freezes;	/* root's, read by the keeper; NULL: none */
	const char *freeze_err;		/* not NULL nor "": the freezes could not be read, mail waits */
	int freeze_live;		/* read again from QWRAP_FREEZE_PATH when it changes */
};

/*
 * The keeper's start, in the process forked for it: reads with the group
 * what only the group may read (the config at QWRAP_CONF_PATH, owned by
 * root or TRUSTED; the state of a timed session; the log, opened), says what
 * it found (struct kstart) on SOCK, then serves with S, completed.
 */
void __attribute__((noreturn)) keeper_main(int sock, uid_t trusted, struct keeper_setup *s);

/*
 * Serves the worker's requests on SOCK until it closes its end; never
 * returns.  Exits 0 then, or 2 after a request it refuses (having removed a
 * hold under way and written nothing for it).
 */
void __attribute__((noreturn)) keeper_serve(int sock, const struct keeper_setup *s);

#endif
