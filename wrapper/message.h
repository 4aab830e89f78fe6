/*
 * message.h: the first part of the message on stdin, read into a fixed
 * buffer, and what the record needs from its header section.  The body is
 * never held whole: what does not fit in the buffer streams through later.
 * Runs after the group was dropped.
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

/*
 * Writes M to FD as it was read, except that each header field of the
 * section [0, F->header_end) named OURNAME gets MSG_FORGED_PREFIX before its
 * name, and a message starting with a continuation line gets MSG_FOLD_GUARD
 * first, so that nothing can pass for qwrap's header.  -1 on a write error.
 */
int message_write(int fd, const struct message *m, const struct msgfields *f,
    const char *ourname);

/* Where message_write_to writes: 0, or -1 on failure. */
typedef int (*message_out)(void *arg, const void *p, size_t n);

/* message_write, through OUT. */
int message_write_to(message_out out, void *arg, const struct message *m,
    const struct msgfields *f, const char *ourname);

/* Bytes message_write will write. */
size_t message_written_size(const struct message *m, const struct msgfields *f);

#endif
