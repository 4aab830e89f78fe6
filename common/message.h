/*
 * message.h: the first part of the message on stdin, read into a fixed
 * buffer, and what the record needs from its header section.  The body is
 * never held whole: what does not fit in the buffer streams through later.
 * Runs after the group was dropped, or lowered to the saved gid (limits).
 */
#ifndef QWRAP_MESSAGE_H
#define QWRAP_MESSAGE_H

#include <stddef.h>

#include "record.h"

#define MSG_BUF_MAX (64 * 1024)	/* bytes of the message read before delivery starts */
#define MSG_RCPT_MAX 256	/* recipients kept for the record; all are counted */
#define MSG_RCPT_POOL 16384	/* bytes for the kept recipients */
#define MSG_VALUE_MAX 1024	/* bytes kept of From, Subject, Message-ID, X-PHP-... */
#define MSG_ADDR_MAX 256	/* bytes kept of one recipient */
#define MSG_FORGED_PREFIX "X-Qwrap-Forged-"
#define MSG_FOLD_GUARD "X-Qwrap-Forged-Fold:"	/* before a message that starts with a continuation line */

struct message {
	char buf[MSG_BUF_MAX];
	size_t len;		/* bytes in buf */
	int eof;		/* stdin ended within buf */
	int crlf;		/* the first line ends in CRLF */
};

struct msgfields {
	struct strv from, subject, message_id, php_script;
	struct strv rcpt[MSG_RCPT_MAX];
	size_t nrcpt;		/* kept */
	long rcpt_count;	/* counted */
	size_t header_end;	/* end of the header section in buf */
	int nforged;		/* header fields named like ours */
	int header_cut;		/* the header section did not fit in the buffer */
	int cut;		/* a value or the recipient list was cut to its limit */
	int lead_fold;		/* the message starts with a space or tab (counted in nforged) */
	char pool[MSG_RCPT_POOL + 4 * MSG_VALUE_MAX];	/* unfolded values */
	size_t pool_len;
};

/* Reads FD until MSG_BUF_MAX bytes or end of input; -1 on a read error. */
int message_read(int fd, struct message *m);

/*
 * Parses the header section of M.  Recipients: with HEADERS_RCPT (-t) those
 * of To/Cc/Bcc (Resent-To/Cc/Bcc when any Resent- field is present), then the
 * ARGC operands in ARGV; otherwise only the operands.  OURNAME is the
 * identification header's name, whose occurrences are noted for renaming.
 */
void message_parse(const struct message *m, int headers_rcpt, char *const argv[],
    int argc, const char *ourname, struct msgfields *f);

/* Where message_write_to writes: 0, or -1 on failure. */
typedef int (*message_out)(void *arg, const void *p, size_t n);

/* A message_out to the fd ARG points to. */
int message_out_fd(void *arg, const void *p, size_t n);

#define MSG_TAIL_HOLD 1024	/* bytes of a line held while it may be a field named like ours */

/*
 * A header section longer than the buffer goes on past it: its last line,
 * perhaps unfinished, and what follows it on the input up to the body are
 * the tail, renamed as message_write renames the section in the buffer.  A
 * line's start is held back until it is known to be a field (or not), so
 * the prefix can go before a name that arrives in pieces; a line starting
 * with a name like ours whose name and blanks after it pass MSG_TAIL_HOLD
 * bytes is renamed without waiting for its colon.  (Names are shorter:
 * CONF_HEADER_NAME_MAX.)
 */
struct msgtail {
	const char *name;	/* ours */
	size_t namelen;
	int state;		/* where in a line; the body once the section ended */
	int ours;		/* the name so far is ours, or a start of it */
	int from;		/* the line so far is a start of "From" */
	int cr;			/* the name being read follows a bare CR, not a line's start */
	size_t len;		/* bytes of the name so far */
	size_t nheld;
	char held[MSG_TAIL_HOLD];
};

/*
 * Writes M through OUT as it was read, except that each header field of the
 * section in the buffer named OURNAME gets MSG_FORGED_PREFIX before its
 * name, and a message starting with a continuation line gets MSG_FOLD_GUARD
 * first, so that nothing can pass for qwrap's header.  Starts T: when the
 * section runs past the buffer (F->header_cut), its last line goes into T,
 * and what follows on the input must go through T while msgtail_active.
 * -1 when OUT fails.
 */
int message_write_to(message_out out, void *arg, const struct message *m,
    const struct msgfields *f, const char *ourname, struct msgtail *t);

/* message_write_to, to FD. */
int message_write(int fd, const struct message *m, const struct msgfields *f,
    const char *ourname, struct msgtail *t);

/* Bytes message_write will write, when the section ended in the buffer (!F->header_cut). */
size_t message_written_size(const struct message *m, const struct msgfields *f);

/* Still within the header section: input must go through msgtail_feed. */
int msgtail_active(const struct msgtail *t);

/* N more bytes of input through T to OUT (past the section, unchanged); -1 when OUT fails. */
int msgtail_feed(struct msgtail *t, const char *p, size_t n, message_out out, void *arg);

/* The input ended: what T holds goes out as it is; -1 when OUT fails. */
int msgtail_end(struct msgtail *t, message_out out, void *arg);

/*
 * Reads FD through T to OUT while T is active: 0 when the body began (the
 * rest of FD follows unchanged), 1 when FD ended, -1 when OUT fails, -2
 * when FD cannot be read.
 */
int msgtail_copy(struct msgtail *t, int fd, message_out out, void *arg);

#endif
