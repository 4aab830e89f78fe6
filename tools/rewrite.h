/*
 * rewrite.h: qmail-send's rewrite of a local recipient, taken back.  When it
 * splits a message, qmail-send stores a recipient of a virtual domain as
 * PREFIX-ADDR, PREFIX from control/virtualdomains (qmail-send.c, rewrite()).
 * A message queued again with that address would get the prefix twice, so
 * qwrap restore gives qmail-queue the address qmail-send started from.
 */
#ifndef QWRAP_REWRITE_H
#define QWRAP_REWRITE_H

#include <stddef.h>

struct rewrite {
	char *vdoms;		/* control/virtualdomains, a NUL for each newline */
	size_t vlen;
	char *locals;		/* control/locals, the same */
	size_t llen;
};

/* Reads QMAIL/control/virtualdomains and locals; a file that is missing is empty. */
void rewrite_load(const char *qmail, struct rewrite *r);

/* The same from text, for tests: VDOMS and LOCALS as the files hold them. */
int rewrite_set(struct rewrite *r, const char *vdoms, size_t vlen, const char *locals,
    size_t llen);

/* The prefix qmail-send's rewrite gives ADDR, or NULL when it gives none. */
const char *rewrite_prefix(const struct rewrite *r, const char *addr);

/*
 * The address qmail-send rewrote into the local recipient ADDR: a suffix of
 * ADDR, after "PREFIX-", when rewriting that suffix gives PREFIX; else ADDR.
 */
const char *rewrite_undo(const struct rewrite *r, const char *addr);

void rewrite_free(struct rewrite *r);

#endif
