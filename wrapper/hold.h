/*
 * hold.h: the worker's side of holding a message: it streams the message,
 * in constant memory, into the file the keeper opened for it (heldfile.h),
 * without the group.  While the message grows, what the spool holds
 * (holds under way included) is asked for again every HOLD_LOOK_EVERY
 * bytes, so that holds kept open together cannot each take the room there
 * was when they opened.  The keeper checks the cap again at the commit.
 */
#ifndef QWRAP_HOLD_H
#define QWRAP_HOLD_H

#include "message.h"
#include "spool.h"

struct hold {
	int fd;			/* the hold file; -1: none */
	long long cap, room, total;	/* the spool's cap, the room for this hold, bytes written */
	long long next_look;	/* TOTAL at which the spool's use is asked for again */
	long long (*use)(void *arg);	/* what the spool holds, this hold included; -1: unknown */
	void *arg;
};

/* A growing hold asks about the spool again each time it has written this much. */
#define HOLD_LOOK_EVERY (256 * 1024)

/*
 * Starts writing to FD, in a spool of CAP bytes that held USED when the
 * file was opened.  0, or -1 with ERR set when it is full.
 */
int hold_begin(struct hold *h, int fd, long long cap, long long used,
    long long (*use)(void *arg), void *arg, char err[SPOOL_ERR_MAX]);
int hold_write(struct hold *h, const void *p, size_t n, char err[SPOOL_ERR_MAX]);

/* Closes the worker's descriptor, before the keeper commits or removes the file. */
void hold_close(struct hold *h);

/*
 * Writes HDR, then M as message_write writes it (and the rest of its header
 * section the same way), then the rest of fd 0, to the hold H.  0, or -1
 * with ERR set: the caller then has the hold removed.
 */
int hold_stream(struct hold *h, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname, char err[SPOOL_ERR_MAX]);

#endif
