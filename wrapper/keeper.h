/*
 * keeper.h: the part of qwrap-sendmail that keeps the qwrap group (the
 * rules it follows are at the top of keeper.c).  The worker's side, which
 * starts it and asks it, is split.h.
 */
#ifndef QWRAP_KEEPER_H
#define QWRAP_KEEPER_H

#include "config.h"

/* What the keeper is given at the split, before anything the caller wrote was read. */
struct keeper_setup {
	const struct conf *conf;	/* root's, read before the split */
	int logfd;			/* the capture log, opened with the group; -1: none */
	long uid, gid, pid;		/* the caller's real ids and the worker's pid: the kernel's */
	const char *host;
	char *const *argv;		/* the wrapper's, as the caller gave them: to release with */
	int argc;
};

/*
 * Serves the worker's requests on SOCK until it closes its end; never
 * returns.  Exits 0 then, or 2 after a request it refuses (having removed a
 * hold under way and written nothing for it).
 */
void __attribute__((noreturn)) keeper_serve(int sock, const struct keeper_setup *s);

#endif
