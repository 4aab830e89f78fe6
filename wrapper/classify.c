/*
 * classify.c: qmail's sendmail option grammar, "vimte:f:p:o:B:F:EJxb:", with
 * DJB's getopt rules.  qmail acts on -bp and -bs the moment it meets them, and
 * rejects an unknown option the moment it meets that, so the first of those
 * decides the mode; argv[0] "mailq" and "newaliases" are looked at afterwards.
 */
#include "classify.h"

#include <string.h>

#define OPTIONS "vimte:f:p:o:B:F:EJxb:"

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
option_kind(char c)
{
	const char *s;

	if (c == ':' || c == '\0' || (s = strchr(OPTIONS, c)) == NULL)
		return 0;
	return s[1] == ':' ? ':' : 1;
}

static const char *
basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

void
classify(int argc, char *const argv[], struct invocation *inv)
{
	int i;

	memset(inv, 0, sizeof *inv);
	inv->mode = MODE_MESSAGE;
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
			int kind = option_kind(*p);

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
			if (p[1] != '\0')
				arg = p + 1;
			else if (i + 1 < argc && argv[i + 1] != NULL)
				arg = argv[++i];
			else {
				inv->mode = MODE_OTHER;
				return;
			}
			if (*p == 'f')
				inv->sender = arg;
			else if (*p == 'b') {
				if (arg[0] == 'p') {
					inv->mode = MODE_QUEUE_LIST;
					return;
				}
				if (arg[0] == 's') {
					inv->mode = MODE_SMTP;
					return;
				}
				if (arg[0] != 'm') {
					inv->mode = MODE_OTHER;
					return;
				}
			}
			break;	/* the argument used up the rest of the word */
		}
	}
	inv->first_rcpt = i;
	if (argv[0] != NULL && strcmp(basename_of(argv[0]), "mailq") == 0)
		inv->mode = MODE_QUEUE_LIST;
	else if (argv[0] != NULL && strcmp(basename_of(argv[0]), "newaliases") == 0)
		inv->mode = MODE_OTHER;
}
