/*
 * classify.h: sort a sendmail invocation into the modes qwrap treats
 * differently, using qmail's own option grammar.  Pure; runs unprivileged.
 */
#ifndef QWRAP_CLASSIFY_H
#define QWRAP_CLASSIFY_H

enum mode {
	MODE_MESSAGE,		/* a message on stdin: header, record, limits */
	MODE_SMTP,		/* -bs: an SMTP dialogue on stdin/stdout */
	MODE_QUEUE_LIST,	/* -bp or mailq */
	MODE_OTHER,		/* what qmail's sendmail rejects: passed through */
};

struct invocation {
	enum mode mode;
	int headers_rcpt;	/* -t: recipients come from the header too */
	const char *sender;	/* -f value, NULL when absent */
	int first_rcpt;		/* argv index of the first recipient operand */
};

/* Classifies ARGV (ARGC >= 1) exactly as qmail's sendmail would act on it. */
void classify(int argc, char *const argv[], struct invocation *inv);

const char *mode_name(enum mode m);

#endif
