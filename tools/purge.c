/*
 * purge.c: qwrap purge: which messages of a qmail queue, by what `qwrap
 * scan` reads of each (tools/queue.c): who queued it, qwrap's header, its
 * envelope, subject and age; printed (--dry-run), or moved into the
 * quarantine (tools/quarantine.h) with qmail-send stopped
 * (tools/qmailsend.h).
 *
 * qwrap's header counts only where it is the wrapper's: its uid is the one
 * qmail-queue recorded (anyone can write such a header, as scan says).
 */
#include "purge.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "number.h"
#include "pathclean.h"
#include "queue.h"
#include "report.h"
#include "json.h"
#include "qmailsend.h"
#include "quarantine.h"
#include "restore.h"
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

/*
 * Whether double bounce M (qmail-send's: sender "#@[]") is of a bounce to
 * one of SENDERS: qmail-send writes each failed recipient of the bounce as
 * "<address>:" at the start of a line of its report (qmail-send.c,
 * injectbounce), before the original bounce.
 */
static int
double_bounce_of(const struct qmsg *m, const char *senders, size_t len)
{
	static char text[65536];
	char want[QUEUE_TEXT_MAX + 4];
	ssize_t n;
	int fd = open(m->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	for (const char *s = senders; s < senders + len; s += strlen(s) + 1) {
		if (!s[0])
			continue;
		snprintf(want, sizeof want, "\n<%s>:", s);
		for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + n - p))) != NULL; p++)
			if (strncasecmp(p, want, strlen(want)) == 0)
				return 1;
	}
	return 0;
}

/* A bounce (null sender) to one of SENDERS (NUL-separated, LEN bytes), or a double bounce of one. */
static int
bounce_to(const struct qmsg *m, const char *senders, size_t len)
{
	size_t pos = 0;
	enum rcpt_channel ch;
	int done;
	const char *addr;

	if (!m->has_envelope)
		return 0;
	if (strcmp(m->sender, "#@[]") == 0)
		return double_bounce_of(m, senders, len);
	if (m->sender[0] != '\0')
		return 0;
	while (qmsg_rcpt(m, &pos, &ch, &done, &addr))
		for (const char *s = senders; s < senders + len; s += strlen(s) + 1)
			if (s[0] && strcasecmp(s, addr) == 0)
				return 1;
	return 0;
}

/* What the manifest and --json say of M (JSON members, no braces) into B. */
static void
fields_of(const struct qmsg *m, int bounce, struct jbuf *b)
{
	char subject[QUEUE_TEXT_MAX * 4];
	long rcpt = m->nrcpt[RCPT_LOCAL] + m->nrcpt[RCPT_REMOTE] + m->nrcpt[RCPT_PENDING];

	queue_decode_2047(m->subject, subject, sizeof subject);
	jb_raw(b, "\"uid\":");
	jb_long(b, m->uid);
	jb_raw(b, ",\"sender\":");
	jb_cstr(b, m->has_envelope ? m->sender : "", QUEUE_TEXT_MAX * 6);
	jb_raw(b, ",\"recipients\":");
	jb_long(b, rcpt);
	jb_raw(b, ",\"subject\":");
	jb_cstr(b, subject, QUEUE_TEXT_MAX * 6);
	jb_raw(b, ",\"size\":");
	jb_long(b, (long)m->size);
	jb_raw(b, ",\"queued\":");
	jb_long(b, (long)m->queued);
	jb_raw(b, m->preprocessed ? ",\"state\":\"preprocessed\"" : ",\"state\":\"todo\"");
	jb_raw(b, bounce ? ",\"bounce_of_chosen\":true" : ",\"bounce_of_chosen\":false");
}

/* One message chosen: a TSV line, or with JSON a line of TYPE with FIELDS. */
static void
print(const struct qmsg *m, int json, int bounce, const char *type, const char *fields)
{
	char subject[QUEUE_TEXT_MAX * 4];
	long rcpt = m->nrcpt[RCPT_LOCAL] + m->nrcpt[RCPT_REMOTE] + m->nrcpt[RCPT_PENDING];

	if (json) {
		printf("{\"type\":\"%s\",\"id\":%lu,%s}\n", type, m->id, fields);
		return;
	}
	queue_decode_2047(m->subject, subject, sizeof subject);
	printf("%lu\t%ld\t", m->id, m->uid);
	report_field(m->has_envelope ? (m->sender[0] ? m->sender : "<>") : "", 0, 0, 0);
	printf("%ld\t%s\t", rcpt, bounce ? "bounce" : "chosen");
	report_field(subject, 0, 1, 0);
}

/* A message to move: where it is and what the manifest will say of it. */
struct pick {
	unsigned long id;
	char split[24];
	char *fields;
	int bounce;
};

struct picks {
	struct pick *p;
	size_t n, cap;
};

static int
keep(struct picks *ps, const struct qmsg *m, int bounce, const char *fields)
{
	if (ps->n == ps->cap) {
		struct pick *more = realloc(ps->p, (ps->cap = ps->cap * 2 + 64) * sizeof *more);

		if (more == NULL)
			return -1;
		ps->p = more;
	}
	ps->p[ps->n].id = m->id;
	snprintf(ps->p[ps->n].split, sizeof ps->p[ps->n].split, "%s", m->split);
	ps->p[ps->n].bounce = bounce;
	if ((ps->p[ps->n].fields = strdup(fields)) == NULL)
		return -1;
	ps->n++;
	return 0;
}

static void
picks_free(struct picks *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->p[i].fields);
	free(ps->p);
}

/*
 * Reads QUEUE for the messages C chooses (and, with --bounces-of, the bounces
 * to their senders): printed when PS is NULL (a dry run), else kept in PS.
 * 0, or a sysexits status after saying why.
 */
static int
choose(const struct choice *c, const char *queue_dir, const char *header_name, int json,
    struct picks *ps, long *chosen_n, long *bounces)
{
	static char fields[QUEUE_TEXT_MAX * 16];
	char *senders = NULL, err[QUEUE_ERR_MAX];
	size_t slen = 0, scap = 0;
	struct queue q;
	struct qmsg m = { 0 };
	int rc, status = EX_OK;

	for (int pass = 0; status == EX_OK && pass < 1 + c->bounces_of; pass++) {
		if (queue_open(&q, queue_dir, header_name, err) < 0) {
			fprintf(stderr, "qwrap purge: %s\n", err);
			status = errno == EACCES ? EX_NOPERM : EX_NOINPUT;
			break;
		}
		while (status == EX_OK && (rc = queue_next(&q, &m, err)) == 1) {
			int mine = chosen(c, &m), bounce = pass == 1 && !mine &&
			    bounce_to(&m, senders, slen);
			struct jbuf b;

			if (!(pass == 0 && mine) && !bounce)
				continue;
			jb_init(&b, fields, sizeof fields);
			fields_of(&m, bounce, &b);
			++*(bounce ? bounces : chosen_n);
			if (ps == NULL)
				print(&m, json, bounce, "message", fields);
			else if (keep(ps, &m, bounce, fields) < 0)
				status = EX_OSERR;
			if (pass == 0 && c->bounces_of && m.has_envelope) {
				size_t k = strlen(m.sender) + 1;
				char *more = slen + k > scap ? realloc(senders, scap = 2 * (slen + k)) :
				    senders;

				if (more == NULL) {
					status = EX_OSERR;
					break;
				}
				senders = more;
				memcpy(senders + slen, m.sender, k);
				slen += k;
			}
		}
		queue_close(&q);
		if (status == EX_OSERR)
			fprintf(stderr, "qwrap purge: out of memory\n");
		else if (rc < 0) {
			fprintf(stderr, "qwrap purge: %s\n", err);
			status = EX_IOERR;
		}
	}
	qmsg_free(&m);
	free(senders);
	return status;
}

/* ARGV as a JSON array, for the manifest. */
static void
command_json(int argc, char *argv[], char *out, size_t cap)
{
	struct jbuf b;

	jb_init(&b, out, cap);
	jb_raw(&b, "[\"qwrap\"");
	for (int i = 0; i < argc; i++) {
		jb_raw(&b, ",");
		jb_cstr(&b, argv[i], 4096);
	}
	jb_raw(&b, "]");
	if (b.overflow)
		snprintf(out, cap, "[\"qwrap\",\"purge\",\"...\"]");
}

/*
 * SIGINT, SIGTERM or SIGHUP while qmail-send is stopped: the message being
 * moved is finished, no other is begun, and qmail-send is started again.
 */
static volatile sig_atomic_t interrupted;

#define STOP_WAIT 600	/* seconds for qmail-send to exit once told to */

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * Moves the messages of PS out of QUEUE into a new purge in ROOT, printing
 * each; it stops early if asked to (a signal) or if qmail-send runs again
 * (looked for every 256 messages).  A sysexits status.
 */
static int
move(const struct picks *ps, const char *queue_dir, const char *root, const char *command,
    int json)
{
	char err[QR_ERR_MAX], summary[128];
	struct quarantine qr;
	long skipped = 0;
	int rc = 0, early = 0;

	if (quarantine_begin(&qr, root, queue_dir, command, err) < 0) {
		fprintf(stderr, "qwrap purge: %s\n", err);
		return EX_CANTCREAT;
	}
	for (size_t i = 0; i < ps->n && rc >= 0; i++) {
		const struct pick *p = &ps->p[i];
		long uid, pid;

		if (interrupted || ((i & 255) == 255 && (pid = qmail_send_running("/proc", &uid)))) {
			fprintf(stderr, "qwrap purge: %s: stopped after %zu of %zu messages; the same"
			    " purge again takes the rest\n", interrupted ? "interrupted" :
			    "qmail-send runs again", i, ps->n);
			early = 1;
			break;
		}
		if ((rc = quarantine_move(&qr, p->split, p->id, p->fields, err)) == 1) {
			if (json)
				printf("{\"type\":\"moved\",\"id\":%lu,\"purge\":\"%s\",%s}\n", p->id,
				    qr.name, p->fields);
			else
				printf("%lu\tmoved%s\n", p->id, p->bounce ? " (bounce)" : "");
		} else {
			fprintf(stderr, "qwrap purge: %s\n", err);
			skipped += rc == 0;
		}
	}
	snprintf(summary, sizeof summary, "\"moved\":%ld,\"skipped\":%ld", qr.moved, skipped);
	/* Stopped by an error: the next purge, or --resume, finishes what it left. */
	if (quarantine_end(&qr, rc >= 0, summary, err) < 0) {
		fprintf(stderr, "qwrap purge: %s\n", err);
		rc = -1;
	}
	if (json) {
		printf("{\"type\":\"summary\",\"dry_run\":false,\"purge\":\"%s\",\"quarantine\":",
		    qr.name);
		report_json_string(root);
		printf(",%s,\"complete\":%s}\n", summary, rc >= 0 ? "true" : "false");
	}
	fprintf(stderr, "qwrap purge: moved %ld message%s into %s/%s%s; qwrap restore %s"
	    " puts them back\n", qr.moved, qr.moved == 1 ? "" : "s", root, qr.name,
	    skipped ? " (some were not taken: see above)" : "", qr.name);
	if (rc < 0)
		fprintf(stderr, "qwrap purge: stopped half way: qwrap purge --resume finishes it\n");
	return rc < 0 ? EX_IOERR : early ? EX_TEMPFAIL : EX_OK;
}

static int
usage(void)
{
	fprintf(stderr, "usage: qwrap purge [--dry-run] [--queue DIR] [--quarantine DIR] [--json]\n"
	    "         [--stop CMD --start CMD | --restart] FILTER... [--bounces-of]\n"
	    "       qwrap purge --resume [--queue DIR] [--quarantine DIR] [--stop CMD --start CMD"
	    " | --restart]\n"
	    "       qwrap purge --list [--quarantine DIR] [--json]\n"
	    "FILTER: --uid N | --user NAME, --script GLOB, --vhost NAME [--vhosts-root DIR],\n"
	    "        --sender TEXT, --subject REGEX, --rcpt-domain DOMAIN, --older-than D,\n"
	    "        --newer-than D, --id ID\n");
	return EX_USAGE;
}

/*
 * Stops qmail-send if it runs: with STOP (START given too), or what was
 * detected when RESTART; START_CMD gets the command that starts it again.
 * 1 stopped, 0 it was not running, -1 refused (said why), -2 the stop
 * command ran but qmail-send did not stop (it must be started again all the
 * same: the stop may yet take effect).
 */
static int
stop_qmail_send(const char *stop, const char *start, int restart, char *start_cmd, size_t cap)
{
	char dstop[512], dstart[512];
	long uid, pid = qmail_send_running("/proc", &uid);
	int found = qmail_send_detect(dstop, dstart, sizeof dstop);

	if (pid == 0)
		return 0;
	if (pid < 0) {
		fprintf(stderr, "qwrap purge: /proc cannot be read: whether qmail-send runs is"
		    " unknown, so nothing is taken\n");
		return -1;
	}
	if (stop == NULL && !(restart && found)) {
		fprintf(stderr, "qwrap purge: qmail-send runs (pid %ld, uid %ld): it keeps the"
		    " queue's state in memory, so nothing is taken from under it.\n", pid, uid);
		if (found)
			fprintf(stderr, "qwrap purge: this host runs it with \"%s\" / \"%s\": add"
			    " --restart to have purge do that, or give --stop CMD --start CMD\n",
			    dstop, dstart);
		else
			fprintf(stderr, "qwrap purge: give --stop CMD --start CMD, or stop it first\n");
		return -1;
	}
	if ((size_t)snprintf(start_cmd, cap, "%s", stop != NULL ? start : dstart) >= cap) {
		fprintf(stderr, "qwrap purge: --start is too long\n");
		return -1;
	}
	return qmail_send_run("stopping", stop != NULL ? stop : dstop, 1, STOP_WAIT,
	    &interrupted) < 0 ? -2 : 1;
}

enum { P_DRY = 0x100, P_QUEUE, P_JSON, P_QUARANTINE, P_STOP, P_START, P_RESTART, P_RESUME,
	P_LIST, P_VROOT, P_BOUNCES,
	/* the filters */
	P_UID, P_USER, P_SCRIPT, P_VHOST, P_SENDER, P_SUBJECT, P_DOMAIN, P_OLDER, P_NEWER, P_ID };

int
purge(const struct conf *conf, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, P_DRY }, { "queue", required_argument, NULL, P_QUEUE },
		{ "json", no_argument, NULL, P_JSON },
		{ "quarantine", required_argument, NULL, P_QUARANTINE },
		{ "stop", required_argument, NULL, P_STOP },
		{ "start", required_argument, NULL, P_START },
		{ "restart", no_argument, NULL, P_RESTART },
		{ "resume", no_argument, NULL, P_RESUME }, { "list", no_argument, NULL, P_LIST },
		{ "uid", required_argument, NULL, P_UID },
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
	static char command[8192];
	const char *queue_dir = "/var/qmail/queue", *vroot = NULL, *root = QUARANTINE_DIR;
	const char *stop = NULL, *start = NULL;
	char start_cmd[512], err[QR_ERR_MAX];
	long chosen_n = 0, bounces = 0, n;
	int opt, dry = 0, json = 0, restart = 0, resume = 0, list = 0, filters = 0, rc, stopped;
	struct picks ps = { 0 };
	struct passwd *pw;

	c.now = time(NULL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		filters += opt >= P_UID;
		switch (opt) {
		case P_DRY: dry = 1; break;
		case P_QUEUE: queue_dir = optarg; break;
		case P_JSON: json = 1; break;
		case P_QUARANTINE: root = optarg; break;
		case P_STOP: stop = optarg; break;
		case P_START: start = optarg; break;
		case P_RESTART: restart = 1; break;
		case P_RESUME: resume = 1; break;
		case P_LIST: list = 1; break;
		case P_SCRIPT:	/* "//" and "/./" as one "/": as far as path_clean_glob may */
			path_clean_glob(optarg);
			c.script = optarg;
			break;
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
	if (optind != argc || (stop == NULL) != (start == NULL) || (list && (resume || dry)))
		return usage();
	if (list)
		return purge_list(root, json);
	/* Never the whole queue by a slip: at least one filter. */
	if (filters == 0 && !resume) {
		fprintf(stderr, "qwrap purge: say which messages (a filter); the whole queue is"
		    " never purged by default\n");
		return EX_USAGE;
	}
	vhost_root(vroot, PSA_CONF, conf->vhosts_root, c.vhosts_root);
	if (c.vhost != NULL && c.vhosts_root[0] == '\0')
		fprintf(stderr, "qwrap purge: no vhosts root: --vhost matches /home/NAME only\n");
	if (dry) {
		if ((rc = choose(&c, queue_dir, conf->header_name, json, NULL, &chosen_n,
		    &bounces)) != EX_OK)
			return rc;
		if (json)
			printf("{\"type\":\"summary\",\"dry_run\":true,\"chosen\":%ld,"
			    "\"bounces\":%ld}\n", chosen_n, bounces);
		else
			fprintf(stderr, "qwrap purge: would purge %ld message%s%s (dry run: nothing"
			    " was changed)\n", chosen_n + bounces, chosen_n + bounces == 1 ? "" : "s",
			    c.bounces_of ? ", bounces to their senders included" : "");
		return EX_OK;
	}

	/* From here a signal ends the purge between two messages, and qmail-send is started. */
	{
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	stopped = stop_qmail_send(stop, start, restart, start_cmd, sizeof start_cmd);
	if (stopped < 0) {
		rc = EX_TEMPFAIL;
	} else if ((n = quarantine_recover(root, err)) < 0) {
		/* A purge that stopped half way is finished before anything else. */
		fprintf(stderr, "qwrap purge: %s\n", err);
		rc = EX_IOERR;
	} else {
		if (n > 0)
			fprintf(stderr, "qwrap purge: finished %ld purge%s that had stopped half way\n",
			    n, n == 1 ? "" : "s");
		rc = EX_OK;
		if (!resume) {
			command_json(argc, argv, command, sizeof command);
			rc = choose(&c, queue_dir, conf->header_name, json, &ps, &chosen_n, &bounces);
			if (rc == EX_OK && ps.n == 0)
				fprintf(stderr, "qwrap purge: no message matched: nothing moved\n");
			else if (rc == EX_OK)
				rc = move(&ps, queue_dir, root, command, json);
		}
	}
	picks_free(&ps);
	if ((stopped == 1 || stopped == -2) &&
	    qmail_send_run("starting", start_cmd, 0, 0, &interrupted) < 0 && rc == EX_OK)
		rc = EX_SOFTWARE;
	return rc;
}
