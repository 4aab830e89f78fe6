/*
 * classify.h: sort a sendmail invocation into the modes qwrap treats
 * differently, in the option grammar of the MTA behind the wrapper (the
 * config's "mta").  Pure; runs unprivileged.
 */
#ifndef QWRAP_CLASSIFY_H
#define QWRAP_CLASSIFY_H

#include "config.h"

enum mode {
	MODE_MESSAGE,		/* a message on stdin: header, record, limits */
	MODE_SMTP,		/* -bs: an SMTP dialogue on stdin/stdout */
	MODE_QUEUE_LIST,	/* -bp or mailq */
	MODE_OTHER,		/* what queues no message: passed through */
};

struct invocation {
	enum mode mode;
	int headers_rcpt;	/* -t: recipients come from the header too */
	const char *sender;	/* -f (or Postfix's -r) value, NULL when absent */
	int first_rcpt;		/* argv index of the first recipient operand */
};

/*
 * Classifies ARGV (ARGC >= 1) as the MTA's sendmail would act on it: an argv
 * that makes it queue a message is always MODE_MESSAGE (or MODE_SMTP).
 */
void classify(int argc, char *const argv[], enum conf_mta mta, struct invocation *inv);

const char *mode_name(enum mode m);

#endif
