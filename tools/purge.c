/*
 * purge.c: qwrap purge's choice of messages in a qmail queue, by what
 * `qwrap scan` reads of each (tools/queue.c): who queued it, qwrap's header,
 * its envelope, subject and age.  This version prints the choice
 * (--dry-run); moving the messages into a quarantine is not built yet.
 *
 * qwrap's header counts only where it is the wrapper's: its uid is the one
 * qmail-queue recorded (anyone can write such a header, as scan says).
 */
#include "purge.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "number.h"
#include "queue.h"
#include "report.h"
#include "vhost.h"

struct choice {
	long uid;
	int has_uid;
	const char *script;	/* glob, as qwrap grep --script */
	const char *vhost;	/* site name, as qwrap top --by vhost names it */
	const char *sender;	/* substring of the envelope sender, any case */
	regex_t subject;	/* extended, any case, against the decoded Subject */
	int has_subject;
	const char *domain;	/* a recipient at it, or below it */
	long older, newer;	/* seconds; 0: not given */
	unsigned long id;
	int has_id;
	int bounces_of;
	char vhosts_root[PATH_MAX];
	time_t now;
};

/* Whether the wrapper wrote M's qwrap header (not the sender, pretending). */
static int
wrapper_header(const struct qmsg *m)
{
	return m->qwrap && strcmp(m->invoked, "by uid") == 0 && m->qwrap_uid == m->uid;
}

static int
at_domain(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');
	size_t a, d = strlen(domain);

	if (at == NULL)
		return 0;
	a = strlen(++at);
	return (a == d && strcasecmp(at, domain) == 0) ||
	    (a > d && at[a - d - 1] == '.' && strcasecmp(at + a - d, domain) == 0);
}

static int
chosen(const struct choice *c, const struct qmsg *m)
{
	char subject[QUEUE_TEXT_MAX * 4], site[256];
	size_t pos = 0;
	enum rcpt_channel ch;
	int done, any;
	const char *addr;

	if (c->has_id && m->id != c->id)
		return 0;
	if (c->has_uid && m->uid != c->uid)
		return 0;
	if (c->script != NULL && (!wrapper_header(m) || fnmatch(c->script, m->qwrap_script, 0) != 0))
		return 0;
	if (c->vhost != NULL && (!wrapper_header(m) ||
	    ((vhost_of(c->vhosts_root, m->qwrap_script, site, sizeof site) < 0 ||
	    strcmp(site, c->vhost) != 0) &&
	    (vhost_of(c->vhosts_root, m->qwrap_cwd, site, sizeof site) < 0 ||
	    strcmp(site, c->vhost) != 0))))
		return 0;
	if (c->sender != NULL && (!m->has_envelope || strcasestr(m->sender, c->sender) == NULL))
		return 0;
	if (c->has_subject) {
		queue_decode_2047(m->subject, subject, sizeof subject);
		if (regexec(&c->subject, subject, 0, NULL, 0) != 0)
			return 0;
	}
	if (c->domain != NULL) {
		for (any = 0; !any && qmsg_rcpt(m, &pos, &ch, &done, &addr);)
			any = at_domain(addr, c->domain);
		if (!any)
			return 0;
	}
	if (c->older > 0 && m->queued > c->now - c->older)
		return 0;
	if (c->newer > 0 && m->queued < c->now - c->newer)
		return 0;
	return 1;
}

/* A bounce (null sender) to one of SENDERS (NUL-separated, LEN bytes). */
static int
bounce_to(const struct qmsg *m, const char *senders, size_t len)
{
	size_t pos = 0;
	enum rcpt_channel ch;
	int done;
	const char *addr;

	if (!m->has_envelope || m->sender[0] != '\0')
		return 0;
	while (qmsg_rcpt(m, &pos, &ch, &done, &addr))
		for (const char *s = senders; s < senders + len; s += strlen(s) + 1)
			if (s[0] && strcasecmp(s, addr) == 0)
				return 1;
	return 0;
}

static void
print(const struct qmsg *m, int json, int bounce)
{
	char subject[QUEUE_TEXT_MAX * 4];
	long rcpt = m->nrcpt[RCPT_LOCAL] + m->nrcpt[RCPT_REMOTE] + m->nrcpt[RCPT_PENDING];

	queue_decode_2047(m->subject, subject, sizeof subject);
	if (json) {
		printf("{\"type\":\"message\",\"id\":%lu,\"uid\":%ld,\"sender\":", m->id, m->uid);
		report_json_string(m->has_envelope ? m->sender : "");
		printf(",\"recipients\":%ld,\"subject\":", rcpt);
		report_json_string(subject);
		printf(",\"size\":%lld,\"queued\":%lld,\"bounce_of_chosen\":%s}\n", (long long)m->size,
		    (long long)m->queued, bounce ? "true" : "false");
		return;
	}
	printf("%lu\t%ld\t", m->id, m->uid);
	report_field(m->has_envelope ? (m->sender[0] ? m->sender : "<>") : "", 0, 0, 0);
	printf("%ld\t%s\t", rcpt, bounce ? "bounce" : "chosen");
	report_field(subject, 0, 1, 0);
}

static int
usage(void)
{
	fprintf(stderr, "usage: qwrap purge --dry-run [--queue DIR] [--json] [--uid N | --user NAME]\n"
	    "         [--script GLOB] [--vhost NAME [--vhosts-root DIR]] [--sender TEXT]\n"
	    "         [--subject REGEX] [--rcpt-domain DOMAIN] [--older-than D] [--newer-than D]\n"
	    "         [--id ID] [--bounces-of]\n");
	return EX_USAGE;
}

enum { P_DRY = 0x100, P_QUEUE, P_JSON, P_UID, P_USER, P_SCRIPT, P_VHOST, P_VROOT, P_SENDER,
	P_SUBJECT, P_DOMAIN, P_OLDER, P_NEWER, P_ID, P_BOUNCES };

int
purge(const struct conf *conf, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, P_DRY }, { "queue", required_argument, NULL, P_QUEUE },
		{ "json", no_argument, NULL, P_JSON }, { "uid", required_argument, NULL, P_UID },
		{ "user", required_argument, NULL, P_USER },
		{ "script", required_argument, NULL, P_SCRIPT },
		{ "vhost", required_argument, NULL, P_VHOST },
		{ "vhosts-root", required_argument, NULL, P_VROOT },
		{ "sender", required_argument, NULL, P_SENDER },
		{ "subject", required_argument, NULL, P_SUBJECT },
		{ "rcpt-domain", required_argument, NULL, P_DOMAIN },
		{ "older-than", required_argument, NULL, P_OLDER },
		{ "newer-than", required_argument, NULL, P_NEWER },
		{ "id", required_argument, NULL, P_ID },
		{ "bounces-of", no_argument, NULL, P_BOUNCES },
		{ NULL, 0, NULL, 0 },
	};
	static struct choice c;
	const char *queue_dir = "/var/qmail/queue", *vroot = NULL;
	char *senders = NULL, err[QUEUE_ERR_MAX];
	size_t slen = 0, scap = 0;
	long chosen_n = 0, bounces = 0, n;
	int opt, dry = 0, json = 0, filters = 0, rc;
	struct queue q;
	struct qmsg m = { 0 };
	struct passwd *pw;

	c.now = time(NULL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		filters += opt >= P_UID && opt != P_VROOT && opt != P_BOUNCES;
		switch (opt) {
		case P_DRY: dry = 1; break;
		case P_QUEUE: queue_dir = optarg; break;
		case P_JSON: json = 1; break;
		case P_SCRIPT: c.script = optarg; break;
		case P_VHOST: c.vhost = optarg; break;
		case P_VROOT: vroot = optarg; break;
		case P_SENDER: c.sender = optarg; break;
		case P_DOMAIN: c.domain = optarg; break;
		case P_BOUNCES: c.bounces_of = 1; break;
		case P_UID:
			if (number_count(optarg, &c.uid) < 0) {
				fprintf(stderr, "qwrap purge: --uid %s: not a number\n", optarg);
				return EX_USAGE;
			}
			c.has_uid = 1;
			break;
		case P_USER:
			if ((pw = getpwnam(optarg)) == NULL) {
				fprintf(stderr, "qwrap purge: --user %s: no such user on this host\n",
				    optarg);
				return EX_NOUSER;
			}
			c.uid = (long)pw->pw_uid;
			c.has_uid = 1;
			break;
		case P_SUBJECT:
			if (c.has_subject)
				regfree(&c.subject);
			if (regcomp(&c.subject, optarg, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
				fprintf(stderr, "qwrap purge: --subject %s: not a regular expression\n",
				    optarg);
				return EX_USAGE;
			}
			c.has_subject = 1;
			break;
		case P_OLDER:
		case P_NEWER:
			if ((n = conf_parse_duration(optarg)) <= 0) {
				fprintf(stderr, "qwrap purge: %s: not a duration (30m, 2h, 7d)\n", optarg);
				return EX_USAGE;
			}
			*(opt == P_OLDER ? &c.older : &c.newer) = n;
			break;
		case P_ID:
			if (number_count(optarg, &n) < 0) {
				fprintf(stderr, "qwrap purge: --id %s: not a message number\n", optarg);
				return EX_USAGE;
			}
			c.id = (unsigned long)n;
			c.has_id = 1;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	/* Never the whole queue by a slip: at least one filter. */
	if (filters == 0) {
		fprintf(stderr, "qwrap purge: say which messages (a filter); the whole queue is"
		    " never purged by default\n");
		return EX_USAGE;
	}
	if (!dry) {
		fprintf(stderr, "qwrap purge: only --dry-run in this version: the move into a"
		    " quarantine (and qwrap restore) are not built yet; nothing was changed\n");
		return EX_UNAVAILABLE;
	}
	vhost_root(vroot, PSA_CONF, conf->vhosts_root, c.vhosts_root);
	if (c.vhost != NULL && c.vhosts_root[0] == '\0')
		fprintf(stderr, "qwrap purge: no vhosts root: --vhost matches /home/NAME only\n");

	for (int pass = 0; pass < 1 + c.bounces_of; pass++) {
		if (queue_open(&q, queue_dir, conf->header_name, err) < 0) {
			fprintf(stderr, "qwrap purge: %s\n", err);
			free(senders);
			return errno == EACCES ? EX_NOPERM : EX_NOINPUT;
		}
		while ((rc = queue_next(&q, &m, err)) == 1) {
			int mine = chosen(&c, &m);

			if (pass == 0 && mine) {
				chosen_n++;
				print(&m, json, 0);
				if (c.bounces_of && m.has_envelope) {
					size_t k = strlen(m.sender) + 1;
					char *more = slen + k > scap ? realloc(senders, scap = 2 * (slen + k)) :
					    senders;

					if (more == NULL) {
						fprintf(stderr, "qwrap purge: out of memory\n");
						queue_close(&q);
						free(senders);
						return EX_OSERR;
					}
					senders = more;
					memcpy(senders + slen, m.sender, k);
					slen += k;
				}
			} else if (pass == 1 && !mine && bounce_to(&m, senders, slen)) {
				bounces++;
				print(&m, json, 1);
			}
		}
		queue_close(&q);
		if (rc < 0) {
			fprintf(stderr, "qwrap purge: %s\n", err);
			free(senders);
			qmsg_free(&m);
			return EX_IOERR;
		}
	}
	qmsg_free(&m);
	free(senders);
	if (json)
		printf("{\"type\":\"summary\",\"dry_run\":true,\"chosen\":%ld,\"bounces\":%ld}\n",
		    chosen_n, bounces);
	else
		fprintf(stderr, "qwrap purge: would purge %ld message%s%s (dry run: nothing was"
		    " changed)\n", chosen_n + bounces, chosen_n + bounces == 1 ? "" : "s",
		    c.bounces_of ? ", bounces to their senders included" : "");
	return EX_OK;
}
