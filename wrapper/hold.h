/*
 * hold.h: the worker's side of holding a message: it streams the message,
 * in constant memory, into the pipe the keeper gave it (keeper.c takes it
 * into the spool, within the spool's cap), without the group.
 */
#ifndef QWRAP_HOLD_H
#define QWRAP_HOLD_H

#include "message.h"
#include "spool.h"

struct hold {
	int fd;			/* the pipe's write end; -1: none */
};

int hold_write(struct hold *h, const void *p, size_t n, char err[SPOOL_ERR_MAX]);

/* Closes the pipe: the message is whole, or abandoned. */
void hold_close(struct hold *h);

/*
 * Writes HDR, then M as message_write writes it (and the rest of its header
 * section the same way), then the rest of fd 0, to the hold H.  0, or -1
 * with ERR set: the caller then has the hold removed.
 */
int hold_stream(struct hold *h, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname, char err[SPOOL_ERR_MAX]);

#endif
