/*
 * filter.c: see filter.h.  Values are decoded only for the filters given.
 */
#include "filter.h"

#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "number.h"
#include "pathclean.h"

#define VAL_MAX LOG_VALUE_MAX

void
filter_init(struct filter *f)
{
	memset(f, 0, sizeof *f);
}

void
filter_free(struct filter *f)
{
	if (f->has_subject)
		regfree(&f->subject);
	f->has_subject = 0;
}

/* A duration back from now ("2h", "90m", "3d") or a time ("2026-11-26T10:00:00Z"). */
static int
when(const char *arg, long long now_ms, long long *ms)
{
	long secs = conf_parse_duration(arg);

	/* Back past the year 1970 is no time a record has: refused, not wrapped around. */
	if (secs > now_ms / 1000)
		return -1;
	if (secs >= 0) {
		*ms = now_ms - (long long)secs * 1000;
		return 0;
	}
	return log_parse_time(arg, strlen(arg), ms);
}

/*
 * --cwd DIR and --script PATTERN, tidied as rec_str tidies the records'
 * paths, so "/home/u/./bin" finds what "/home/u/bin" finds.  A pattern with
 * a bracket expression is taken as it is: "[/.]" is no path's "/.".
 */
static int
path_option(struct filter *f, int opt, const char *arg, char err[FILTER_ERR_MAX])
{
	char *buf = opt == OPT_CWD ? f->cwd_clean : f->script_clean;
	size_t n = strlen(arg);

	if (n >= sizeof f->cwd_clean) {
		snprintf(err, FILTER_ERR_MAX, "--%s: longer than a path can be",
		    opt == OPT_CWD ? "cwd" : "script");
		return -1;
	}
	memcpy(buf, arg, n + 1);
	if (opt == OPT_CWD)
		path_clean(buf);
	else
		path_clean_glob(buf);
	*(opt == OPT_CWD ? &f->cwd : &f->script) = buf;
	return 0;
}

int
filter_option(struct filter *f, int opt, const char *arg, long long now_ms,
    char err[FILTER_ERR_MAX])
{
	struct passwd *pw;
	int rc;

	f->any = 1;
	switch (opt) {
	case OPT_SINCE:
	case OPT_UNTIL:
		if (when(arg, now_ms, opt == OPT_SINCE ? &f->since : &f->until) < 0) {
			snprintf(err, FILTER_ERR_MAX, "%s: not a duration (2h, 30m, 7d) or a time"
			    " (2026-11-26T10:00:00Z, 2026-11-26 10:00, 2026-11-26)", arg);
			return -1;
		}
		*(opt == OPT_SINCE ? &f->has_since : &f->has_until) = 1;
		return 0;
	case OPT_UID:
		if (number_count(arg, &f->uid) < 0) {
			snprintf(err, FILTER_ERR_MAX, "--uid %s: not a number", arg);
			return -1;
		}
		f->has_uid = 1;
		return 0;
	case OPT_USER:
		if ((pw = getpwnam(arg)) == NULL) {
			snprintf(err, FILTER_ERR_MAX, "--user %s: no such user on this host"
			    " (--uid takes a number)", arg);
			return -1;
		}
		f->uid = (long)pw->pw_uid;
		f->has_uid = 1;
		return 0;
	case OPT_RCPT_MIN:
		if (number_count(arg, &f->rcpt_min) < 0) {
			snprintf(err, FILTER_ERR_MAX, "--rcpt-min %s: not a number", arg);
			return -1;
		}
		return 0;
	case OPT_SUBJECT:
		filter_free(f);
		if ((rc = regcomp(&f->subject, arg, REG_EXTENDED | REG_ICASE | REG_NOSUB)) != 0) {
			char msg[256];

			regerror(rc, &f->subject, msg, sizeof msg);
			snprintf(err, FILTER_ERR_MAX, "--subject %s: %s", arg, msg);
			return -1;
		}
		f->has_subject = 1;
		return 0;
	case OPT_CWD:
	case OPT_SCRIPT:
		return path_option(f, opt, arg, err);
	case OPT_ID: f->id = arg; return 0;
	case OPT_ACTION: f->actions = arg; return 0;
	case OPT_ORIGIN: f->origins = arg; return 0;
	case OPT_FROM: f->from = arg; return 0;
	case OPT_TO: f->to = arg; return 0;
	case OPT_HOST: f->host = arg; return 0;
	}
	snprintf(err, FILTER_ERR_MAX, "unknown filter");
	return -1;
}

/* WORD is one of the comma-separated LIST. */
static int
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list;; p++) {
		size_t k = strcspn(p, ",");

		if (k == n && k > 0 && strncmp(p, word, n) == 0)
			return 1;
		p += k;
		if (*p == '\0')
			return 0;
	}
}

static int
str_is(const struct logrec *r, const char *key, const char *want)
{
	char buf[VAL_MAX];

	return strcmp(rec_str(r, key, buf, sizeof buf), want) == 0;
}

static int
to_matches(const struct filter *f, const struct logrec *r)
{
	const struct jr_member *m = jr_get(&r->o, "rcpt");
	const char *pos = NULL, *e;
	char buf[VAL_MAX];
	size_t elen;

	if (m == NULL)
		return 0;
	while (jr_next(m->val, m->vallen, &pos, &e, &elen) == 1)
		if (jr_string(e, elen, buf, sizeof buf) >= 0 && strcasestr(buf, f->to) != NULL)
			return 1;
	return 0;
}

int
filter_match(const struct filter *f, const struct logrec *r)
{
	char buf[VAL_MAX];

	if (!f->any)
		return 1;
	if ((f->has_since && r->ts_ms < f->since) || (f->has_until && r->ts_ms >= f->until))
		return 0;
	if (f->has_uid && rec_long(r, "uid", -1) != f->uid)
		return 0;
	if (f->id != NULL && !str_is(r, "id", f->id) && !str_is(r, "held_id", f->id))
		return 0;
	if (f->actions != NULL && !in_list(f->actions, rec_str(r, "action", buf, sizeof buf)))
		return 0;
	if (f->origins != NULL && !in_list(f->origins, rec_str(r, "origin", buf, sizeof buf)))
		return 0;
	if (f->host != NULL && !str_is(r, "host", f->host))
		return 0;
	if (f->rcpt_min > 0 && rec_long(r, "rcpt_count", 0) < f->rcpt_min)
		return 0;
	if (f->cwd != NULL && !path_below(f->cwd, rec_str(r, "cwd", buf, sizeof buf)))
		return 0;
	if (f->script != NULL && fnmatch(f->script, rec_str(r, "script", buf, sizeof buf), 0) != 0)
		return 0;
	if (f->from != NULL && strcasestr(rec_str(r, "sender", buf, sizeof buf), f->from) == NULL &&
	    strcasestr(rec_str(r, "from", buf, sizeof buf), f->from) == NULL)
		return 0;
	if (f->to != NULL && !to_matches(f, r))
		return 0;
	if (f->has_subject && regexec(&f->subject, rec_str(r, "subject", buf, sizeof buf), 0,
	    NULL, 0) != 0)
		return 0;
	return 1;
}

int
filter_action(const struct filter *f, const struct logrec *r, const char *actions)
{
	char buf[64];

	return f->actions != NULL || in_list(actions, rec_str(r, "action", buf, sizeof buf));
}
