/*
 * filter.h: the record filters that qwrap grep, top and tail share.
 */
#ifndef QWRAP_FILTER_H
#define QWRAP_FILTER_H

#include <getopt.h>
#include <limits.h>
#include <regex.h>

#include "logread.h"

#define FILTER_ERR_MAX 512

/* getopt_long codes of the filter options, above any short option's. */
enum filter_opt {
	OPT_SINCE = 0x100, OPT_UNTIL, OPT_UID, OPT_USER, OPT_CWD, OPT_SCRIPT, OPT_ID,
	OPT_ACTION, OPT_RCPT_MIN, OPT_FROM, OPT_TO, OPT_SUBJECT, OPT_HOST, OPT_ORIGIN,
	OPT_FILTER_END
};

/* The long options for getopt_long, with their codes above. */
#define FILTER_OPTIONS \
	{ "since", required_argument, NULL, OPT_SINCE }, \
	{ "until", required_argument, NULL, OPT_UNTIL }, \
	{ "uid", required_argument, NULL, OPT_UID }, \
	{ "user", required_argument, NULL, OPT_USER }, \
	{ "cwd", required_argument, NULL, OPT_CWD }, \
	{ "script", required_argument, NULL, OPT_SCRIPT }, \
	{ "id", required_argument, NULL, OPT_ID }, \
	{ "action", required_argument, NULL, OPT_ACTION }, \
	{ "rcpt-min", required_argument, NULL, OPT_RCPT_MIN }, \
	{ "from", required_argument, NULL, OPT_FROM }, \
	{ "to", required_argument, NULL, OPT_TO }, \
	{ "subject", required_argument, NULL, OPT_SUBJECT }, \
	{ "host", required_argument, NULL, OPT_HOST }, \
	{ "origin", required_argument, NULL, OPT_ORIGIN }

struct filter {
	long long since, until;	/* ms; since <= ts < until */
	int has_since, has_until;
	long uid;
	int has_uid;
	const char *cwd;	/* a directory: itself and all below */
	const char *script;	/* fnmatch(3) pattern, '*' matches '/' too */
	char cwd_clean[PATH_MAX], script_clean[PATH_MAX];	/* what they point to */
	const char *id;		/* the record's id, or the held_id it points to */
	const char *actions;	/* comma-separated list */
	const char *origins;	/* comma-separated list */
	long rcpt_min;
	const char *from, *to;	/* substrings, any case */
	const char *host;
	regex_t subject;	/* extended, any case */
	int has_subject;
	int any;		/* some filter was given */
};

void filter_init(struct filter *f);

/* Takes option OPT's ARG; NOW_MS is what durations count back from.  -1 with ERR. */
int filter_option(struct filter *f, int opt, const char *arg, long long now_ms,
    char err[FILTER_ERR_MAX]);

/* 1 when R passes every filter given. */
int filter_match(const struct filter *f, const struct logrec *r);

/* 1 when R passes the action filter or, with none given, is one of ACTIONS (comma list). */
int filter_action(const struct filter *f, const struct logrec *r, const char *actions);

void filter_free(struct filter *f);

#endif
