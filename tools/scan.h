/*
 * scan.h: qwrap scan: who filled a live qmail queue, read without qmail-send.
 */
#ifndef QWRAP_SCAN_H
#define QWRAP_SCAN_H

#include <limits.h>

struct conf;

struct scan_opts {
	const char *queue;	/* the queue directory */
	const char *id;		/* --id: one message */
	const char *maillog;	/* --maillog: SMTP-auth users instead */
	int json;
	int tty;		/* stdout is a terminal */
	int progress;		/* stderr is a terminal: say how far it got */
	long rows;		/* per table; 0 for all */
	char vhosts_root[PATH_MAX];
	const struct conf *conf;
};

/* Exit statuses: 0, or a sysexits code after saying why on stderr. */
int scan_queue(const struct scan_opts *o);
int scan_message(const struct scan_opts *o);
int scan_maillog(const struct scan_opts *o);

#endif
