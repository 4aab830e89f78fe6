/*
 * relay.h: sendmail -bs through qwrap.  The real sendmail -bs runs as the
 * wrapper's child and the wrapper relays the SMTP dialogue between it and
 * the caller, byte for byte, except that each message gets qwrap's header
 * as its first line (stuffed like every line of the data), a limit may hold
 * or refuse a message (the relay answers the client itself then, and RSETs
 * the server), and the EHLO reply loses the extensions after which the
 * stream could not be followed (STARTTLS, CHUNKING, BINARYMIME).  Runs in
 * the worker, without the group: the hooks ask the keeper for the limits
 * and the spool.
 */
#ifndef QWRAP_RELAY_H
#define QWRAP_RELAY_H

#include <stddef.h>

#include "hold.h"
#include "message.h"
#include "sanitize.h"

#define RELAY_ERR_MAX 512

/* One mail transaction: what the server accepted of it. */
struct relay_txn {
	char sender[MSG_ADDR_MAX];
	int has_sender;		/* a MAIL was accepted */
	char rcpt_buf[MSG_RCPT_MAX][MSG_ADDR_MAX];
	char *rcpt[MSG_RCPT_MAX];	/* into rcpt_buf, as message_parse takes them */
	int nrcpt;		/* kept */
	long rcpt_count;	/* accepted */
	int cut;		/* an address was cut to fit: the transaction cannot be held whole */
};

enum relay_verdict { RELAY_DELIVER, RELAY_HOLD, RELAY_REJECT };

/* What the wrapper does for each message of the session; ARG is passed to each. */
struct relay_hooks {
	void *arg;
	/* DATA comes for T next: deliver, hold or refuse it (why, in WHY). */
	enum relay_verdict (*begin)(void *arg, const struct relay_txn *t, char *why, size_t whymax);
	/* qwrap's header for the message just read, its lines ending in EOL; its length. */
	size_t (*header)(void *arg, const char *eol, char *hdr);
	/* The spool, for a message begin said to hold: 0, or -1 with ERR set. */
	int (*hold_open)(void *arg, const struct relay_txn *t, struct hold *hd, char *err);
	int (*hold_commit)(void *arg, struct hold *hd, char *err);
	void (*hold_abort)(void *arg, struct hold *hd, char *err);	/* ERR: why, if it is known */
	/*
	 * The message's record: the action taken, and what went wrong or NULL.
	 * A message to deliver is recorded before its end line goes to the
	 * server; -1 then says that the log did not take it and on_error
	 * refuses such a message.
	 */
	int (*record)(void *arg, const struct relay_txn *t, const char *action, const char *problem);
	/* The server refused, or never answered, a message recorded as delivered. */
	void (*refused)(void *arg, const char *problem);
};

/*
 * Runs PATH with ARGV and ENVP as a child without the group, with the
 * caller's process state PS given back except SIGCHLD, which it gets at its
 * default (qmail-smtpd cannot wait for qmail-queue otherwise), and relays
 * the session between it and fds 0 and 1.  Each message's start is read
 * into M and parsed into F (OURNAME renamed as in message mode).  Returns
 * the child's wait status, or -1 with ERR set when no child could be
 * started (nothing was read from the client then).
 */
int relay_run(const char *path, char *const argv[], char *const envp[],
    const struct procstate *ps, const char *ourname, struct message *m,
    struct msgfields *f, const struct relay_hooks *h, char err[RELAY_ERR_MAX]);

#endif
