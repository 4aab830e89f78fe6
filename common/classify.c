/*
 * classify.c: what the real sendmail will do with an argv, in the option
 * grammar of the MTA behind the wrapper (the config's "mta"):
 *
 *   qmail    "vimte:f:p:o:B:F:EJxb:" with DJB's getopt: qmail acts on -bp and
 *            -bs the moment it meets them and rejects an unknown option the
 *            moment it meets that, so the first of those decides;
 *   postfix  "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx" with POSIX
 *            getopt, plus Postfix's "-q" and "-V" alone; every option is
 *            read and the last mode set wins;
 *   any      (the default) every MTA at once: the most cautious of qmail's
 *            reading, Postfix's and a union grammar's, in which an option it
 *            does not know, or one it cannot read, is a submission, and only
 *            what queues no message in any of qmail, Postfix, Exim and
 *            Sendmail passes through; the options end where any of them ends
 *            them, and a letter takes an argument if it does in any of them.
 *
 * The rule all three keep: no argv that makes the real sendmail queue a
 * message is taken for anything but message mode (header, record, limits).
 * A grammar may err only the other way: an argv the MTA then refuses is
 * counted and recorded as a message.  Pure; runs without the group.
 */
#include "classify.h"

#include <string.h>

/* Getopt letters; ':' after those that take an argument. */
static const char *const options[] = {
	/* Every letter that takes an argument in any of them takes one here: a word
	 * one MTA reads as an option's argument is never taken for a mode. */
	[MTA_ANY] = "A:B:C:D:F:GIL:M:N:O:Q:R:S:UV:X:b:cd:e:f:h:imno:p:q:r:tvxEJ",
	[MTA_QMAIL] = "vimte:f:p:o:B:F:EJxb:",
	[MTA_POSTFIX] = "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx",
};

const char *
mode_name(enum mode m)
{
	switch (m) {
	case MODE_MESSAGE: return "message";
	case MODE_SMTP: return "smtp";
	case MODE_QUEUE_LIST: return "queue-list";
	case MODE_OTHER: return "other";
	}
	return "other";
}

/* Returns ':' for an option with an argument, 1 for a plain one, 0 if unknown. */
static int
option_kind(enum conf_mta mta, char c)
{
	const char *s;

	if (c == ':' || c == '\0' || (s = strchr(options[mta], c)) == NULL)
		return 0;
	return s[1] == ':' ? ':' : 1;
}

/* The argument of the option at P in ARGV[*I]: the rest of its word, else the next word
 * (*I moves on to it); NULL when there is none. */
static const char *
option_arg(const char *p, int argc, char *const argv[], int *i)
{
	if (p[1] != '\0')
		return p + 1;
	if (*i + 1 < argc && argv[*i + 1] != NULL)
		return argv[++*i];
	return NULL;
}

static const char *
basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/*
 * The mode "-b LETTER" sets.  qmail knows m, p and s and refuses the rest;
 * Postfix knows d, l (daemons), i, m, p, s and v (v queues a report to the
 * sender: a message), ignores h and H, and refuses the rest.  For any MTA,
 * the letters that queue nothing anywhere: d, D (daemons), i (aliases), p,
 * s, t (address test), e, f, F (Exim's tests), P and V (Exim's
 * configuration and version); the rest (m, v, Postfix's ignored h and H,
 * Exim's batched -bS, letters nobody knows) are messages.
 */
static enum mode
b_mode(enum conf_mta mta, char c)
{
	if (c == 'm')
		return MODE_MESSAGE;
	if (c == 'p')
		return MODE_QUEUE_LIST;
	if (c == 's')
		return MODE_SMTP;
	if (mta == MTA_QMAIL)
		return MODE_OTHER;
	if (mta == MTA_POSTFIX)
		return c == 'v' ? MODE_MESSAGE : MODE_OTHER;
	return c != '\0' && strchr("dDitefFPV", c) != NULL ? MODE_OTHER : MODE_MESSAGE;
}

/* qmail's sendmail: the first -bp, -bs or unknown option decides. */
static void
classify_qmail(int argc, char *const argv[], struct invocation *inv)
{
	int i;

	for (i = 1; i < argc && argv[i] != NULL; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {	/* DJB's getopt: any "--word" ends the options, consumed */
			i++;
			break;
		}
		for (const char *p = a + 1; *p != '\0'; p++) {
			const char *arg;
			int kind = option_kind(MTA_QMAIL, *p);

			if (kind == 0) {
				inv->mode = MODE_OTHER;	/* qmail: illegal option */
				return;
			}
			if (*p == 'E' || *p == 'J')
				break;	/* the rest of the word is their optional argument */
			if (kind == 1) {
				if (*p == 't')
					inv->headers_rcpt = 1;
				continue;
			}
			if ((arg = option_arg(p, argc, argv, &i)) == NULL) {
				inv->mode = MODE_OTHER;
				return;
			}
			if (*p == 'f')
				inv->sender = arg;
			else if (*p == 'b' && (inv->mode = b_mode(MTA_QMAIL, arg[0])) != MODE_MESSAGE)
				return;
			break;	/* the argument used up the rest of the word */
		}
	}
	inv->first_rcpt = i;
}

/*
 * Postfix's sendmail, and any MTA: POSIX getopt, stopping at the first
 * operand; every option is read and the last mode set wins.  Postfix
 * refuses an unknown option, one without its argument, -n and a -B other
 * than 8BITMIME or 7BIT; for any MTA those are submissions.
 */
static void
classify_getopt(enum conf_mta mta, int argc, char *const argv[], struct invocation *inv)
{
	int postfix = mta == MTA_POSTFIX, queue_run = 0, i;

	for (i = 1; i < argc && argv[i] != NULL; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0 || (!postfix && a[1] == '-')) {	/* qmail: any --word */
			i++;
			break;
		}
		if (strcmp(a, "-q") == 0) {	/* Postfix: flush the queue; any MTA: a queue run */
			inv->mode = MODE_OTHER;
			continue;
		}
		/* Postfix: "-V" before a word of two bytes is VERP (the word stays); else "V:". */
		if (postfix && strcmp(a, "-V") == 0 && i + 1 < argc && argv[i + 1] != NULL &&
		    strlen(argv[i + 1]) == 2)
			continue;
		for (const char *p = a + 1; *p != '\0'; p++) {
			const char *arg;
			int kind = option_kind(mta, *p);

			if (kind == 0 || (postfix && *p == 'n')) {
				if (postfix) {
					inv->mode = MODE_OTHER;	/* usage: nothing queued */
					return;
				}
				continue;	/* not known here: a flag of some MTA's */
			}
			if (*p == 'E' || *p == 'J')
				break;	/* qmail: the rest of the word is their optional argument */
			if (kind == 1) {
				if (*p == 't')
					inv->headers_rcpt = 1;
				else if (*p == 'I')
					inv->mode = MODE_OTHER;	/* newaliases */
				continue;
			}
			if ((arg = option_arg(p, argc, argv, &i)) == NULL) {
				if (postfix)
					inv->mode = MODE_OTHER;
				inv->first_rcpt = i + 1;
				return;
			}
			if (*p == 'f' || *p == 'r')
				inv->sender = arg;
			else if (*p == 'b' && postfix && (arg[0] == 'h' || arg[0] == 'H'))
				;	/* Postfix ignores them: the mode stays */
			else if (*p == 'b') {
				inv->mode = b_mode(mta, arg[0]);
				if (postfix && inv->mode == MODE_OTHER &&
				    (arg[0] == '\0' || strchr("dil", arg[0]) == NULL))
					return;	/* "unsupported": nothing queued */
			} else if (*p == 'o' && mta == MTA_ANY && (strcmp(arg, "A") == 0 ||
			    arg[0] == 'M' || strcmp(arg, "P") == 0 || strcmp(arg, "X") == 0)) {
				if (i + 1 < argc && argv[i + 1] != NULL)
					i++;	/* Exim: these take the next word too */
			} else if (*p == 'q')
				queue_run = 1;	/* -q1h, -qRsite: a queue run, or Postfix's refusal */
			else if (postfix && *p == 'B' && strcmp(arg, "8BITMIME") != 0 &&
			    strcmp(arg, "7BIT") != 0) {
				inv->mode = MODE_OTHER;
				return;
			}
			break;	/* the argument used up the rest of the word */
		}
	}
	inv->first_rcpt = i;
	if (queue_run)
		inv->mode = MODE_OTHER;
	/*
	 * An MTA whose grammar is not known may read a -t where this one saw an
	 * argument (Sendmail's -d, -C and -Q take one only sometimes): any word
	 * of options with a t in it counts recipients in the header too.
	 */
	if (mta == MTA_ANY)
		for (int j = 1; j < argc && argv[j] != NULL; j++)
			if (argv[j][0] == '-' && argv[j][1] != '-' && strchr(argv[j] + 1, 't'))
				inv->headers_rcpt = 1;
}

/*
 * argv[0] "mailq" lists the queue and "newaliases" rebuilds the aliases.
 * qmail looks at argv[0] once its options have not decided (-bp, -bs or one
 * it refuses decide first);
 * Postfix starts from it and lets an option change it ("mailq -bm" queues a
 * message), so for Postfix and any MTA it is only the mode to start from.
 */
static enum mode
argv0_mode(char *const argv[])
{
	const char *name = argv[0] != NULL ? basename_of(argv[0]) : "";

	if (strcmp(name, "mailq") == 0)
		return MODE_QUEUE_LIST;
	if (strcmp(name, "newaliases") == 0)
		return MODE_OTHER;
	return MODE_MESSAGE;
}

static void
classify_one(int argc, char *const argv[], enum conf_mta mta, struct invocation *inv)
{
	memset(inv, 0, sizeof *inv);
	if (mta == MTA_QMAIL) {
		inv->mode = MODE_MESSAGE;
		classify_qmail(argc, argv, inv);
		if (inv->mode == MODE_MESSAGE)	/* qmail's options did not decide */
			inv->mode = argv0_mode(argv);
	} else {
		inv->mode = argv0_mode(argv);
		classify_getopt(mta, argc, argv, inv);
	}
	if (inv->first_rcpt == 0)
		inv->first_rcpt = argc;
}

/* How much of qwrap a mode gets: everything, per message of a session, nothing. */
static int
rank(enum mode m)
{
	return m == MODE_MESSAGE ? 0 : m == MODE_SMTP ? 1 : 2;
}

/*
 * For any MTA, the most cautious of the readings: qmail's, Postfix's and the
 * union grammar's.  What one of them would queue as a message is a message,
 * with -t when one of them sees it and the operands from the earliest start.
 */
void
classify(int argc, char *const argv[], enum conf_mta mta, struct invocation *inv)
{
	struct invocation each[3];

	classify_one(argc, argv, mta, inv);
	if (mta != MTA_ANY)
		return;
	classify_one(argc, argv, MTA_QMAIL, &each[0]);
	classify_one(argc, argv, MTA_POSTFIX, &each[1]);
	each[2] = *inv;
	for (int k = 0; k < 2; k++)
		if (rank(each[k].mode) < rank(inv->mode))
			*inv = each[k];
	for (int k = 0; k < 3 && inv->mode == MODE_MESSAGE; k++) {
		if (each[k].mode != MODE_MESSAGE)
			continue;
		inv->headers_rcpt |= each[k].headers_rcpt;
		if (each[k].first_rcpt < inv->first_rcpt)
			inv->first_rcpt = each[k].first_rcpt;
		if (inv->sender == NULL)
			inv->sender = each[k].sender;
	}
}
