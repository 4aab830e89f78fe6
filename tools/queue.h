/*
 * queue.h: reading a live qmail queue, read-only and without qmail-send: a
 * message's envelope (info + local + remote once preprocessed, todo or intd
 * before) and what its header says about where it came from.  Nothing in
 * the queue is written, locked or waited for; only regular files are opened.
 */
#ifndef QWRAP_QUEUE_H
#define QWRAP_QUEUE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define QUEUE_ERR_MAX (PATH_MAX + 128)
#define QUEUE_TEXT_MAX 1024	/* a header value or an address kept, cut beyond */
#define QUEUE_HEAD_MAX 65536	/* the header section read at most */

enum rcpt_channel { RCPT_LOCAL, RCPT_REMOTE, RCPT_PENDING };	/* pending: not yet split */

struct qmsg {
	unsigned long id;	/* the name of mess/N/ID (the inode it had when queued) */
	char path[PATH_MAX];	/* mess/N/ID */
	char split[24];		/* N */
	int preprocessed;	/* info/N/ID exists: qmail-send has split it */
	int has_envelope;	/* an envelope was found at all */
	char sender[QUEUE_TEXT_MAX];
	/* Recipients: "C" channel, "D" done or "T" not, the address, NUL; NUL after each. */
	char *rcpt;
	size_t rcptlen, rcptcap;
	long nrcpt[3], ndone;
	long envelope_uid;	/* u of todo/intd, before preprocessing; -1 */
	/* qmail-queue's Received line: how the message entered. */
	char invoked[16];	/* "by uid", "from network", "for bounce", "by alias", "" */
	long uid;		/* of "invoked by uid", else of the envelope; -1 */
	long qq_pid;
	char received_date[64];
	/* qmail-smtpd's line after it, when the message came by SMTP. */
	int smtp;
	char smtp_host[256], smtp_helo[256], smtp_info[256], smtp_ip[64];
	long nreceived;		/* Received lines in all */
	/* qwrap's header, percent-decoded. */
	int qwrap;
	char qwrap_id[64], qwrap_cwd[PATH_MAX], qwrap_script[PATH_MAX];
	long qwrap_uid;
	char subject[QUEUE_TEXT_MAX], from[QUEUE_TEXT_MAX], message_id[QUEUE_TEXT_MAX];
	off_t size;
	time_t queued;		/* the mtime of mess/N/ID */
	int unreadable;		/* errno of a file of it that could not be read; 0 */
};

struct queue {
	char dir[PATH_MAX];
	const char *header_name;	/* qwrap's header */
	void *mess;		/* DIR * of mess/ */
	void *split;		/* DIR * of mess/N/ */
	char split_name[NAME_MAX + 1];
	long vanished;		/* messages gone while read: skipped */
};

/* Opens DIR for a scan; -1 with ERR. */
int queue_open(struct queue *q, const char *dir, const char *header_name,
    char err[QUEUE_ERR_MAX]);

/*
 * The next message: 1 with M filled, 0 after the last, -1 with ERR when the
 * queue's directories cannot be read.  A message whose files cannot be read
 * is still given, with M->unreadable set.
 */
int queue_next(struct queue *q, struct qmsg *m, char err[QUEUE_ERR_MAX]);

/* The one message ID: 1, or 0 when it is not in the queue. */
int queue_get(struct queue *q, unsigned long id, struct qmsg *m);

/* Regular files under DIR/SUB, as qmail-qstat counts them (find SUB -type f). */
long queue_count(const char *dir, const char *sub);

void queue_close(struct queue *q);
void qmsg_free(struct qmsg *m);

/* Each recipient of M, one per call: *POS starts at 0.  1, or 0 after the last. */
int qmsg_rcpt(const struct qmsg *m, size_t *pos, enum rcpt_channel *ch, int *done,
    const char **addr);

/* The header section of a message file, as text: unfolded fields for FN(name, value, arg). */
void queue_fields(const char *head, size_t n, void (*fn)(const char *, size_t, const char *,
    size_t, void *), void *arg);

/*
 * An RFC 2047 header value ("=?UTF-8?B?...?=", Q or B, any charset iconv
 * knows) decoded into OUT as UTF-8; what cannot be decoded is kept as it is.
 */
void queue_decode_2047(const char *in, char *out, size_t cap);

#endif
