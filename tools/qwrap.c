/*
 * qwrap: the admin tool.  Runs as root (or any admin), never set-gid.  Who
 * is sending, from the capture log (grep, top, tail, rate) and from the qmail
 * queue (scan, purge, restore); the hold spool (held, release, discard); check-config.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "held.h"
#include "number.h"
#include "paths.h"
#include "rate.h"
#include "report.h"
#include "freezecmd.h"
#include "purge.h"
#include "restore.h"
#include "scan.h"
#include "vhost.h"

/* The usage, to OUT; --help asks for it on stdout. */
static void
usage_to(FILE *out)
{
	fprintf(out, "usage: qwrap grep [FILTER...] [--json] [--rotated] [FILE...]\n"
	    "       qwrap top --by uid|user|cwd|script|vhost|from|rcpt-domain|host|origin [-n N]"
	    " [FILTER...] [--json] [--rotated] [FILE...]\n"
	    "       qwrap tail [-f] [-n N] [FILTER...] [--json] [FILE]\n"
	    "       qwrap rate [--by KEY] [-n N] [--step DURATION] [FILTER...] [--json] [--rotated]"
	    " [FILE...]\n"
	    "  FILTER: --since T --until T (2h, 30m, 7d, or 2026-11-26T10:00:00Z), --uid N,\n"
	    "          --user NAME, --cwd DIR, --script GLOB, --id ID, --action A[,B],\n"
	    "          --rcpt-min N, --from TEXT, --to TEXT, --subject REGEX, --host NAME,\n"
	    "          --origin O[,P] (web, cron, at, ssh, systemd, console, unknown);\n"
	    "          --vhosts-root DIR for the vhost column and key\n"
	    "       qwrap scan [--queue DIR] [-n N] [--json] [--vhosts-root DIR]\n"
	    "       qwrap scan --id ID [--queue DIR] [--json]\n"
	    "       qwrap scan --maillog FILE [-n N] [--json]\n"
	    "       qwrap check-config [FILE]\n"
	    "       qwrap held [--json]\n"
	    "       qwrap release ID... | --all | --uid N | --script GLOB\n"
	    "       qwrap discard ID... | --all | --uid N | --script GLOB\n"
	    "       qwrap freeze [--json]\n"
	    "       qwrap freeze --uid N | --user NAME | --script GLOB | --cwd DIR | --vhost NAME\n"
	    "                    [--for DURATION] [--action hold|reject] [--vhosts-root DIR]\n"
	    "       qwrap thaw ID... | --all\n"
	    "       qwrap purge [--dry-run] [--queue DIR] [--json] [--stop CMD --start CMD |"
	    " --restart]\n"
	    "                   FILTER... [--bounces-of]\n"
	    "  FILTER: --uid N, --user NAME, --script GLOB, --vhost NAME, --sender TEXT,\n"
	    "          --subject REGEX, --rcpt-domain D, --older-than D, --newer-than D, --id ID\n"
	    "       qwrap purge --resume | --list [--json]\n"
	    "       qwrap restore PURGE [ID...] [--again] [--json]\n");
}

static int
usage(void)
{
	usage_to(stderr);
	return EX_USAGE;
}

/* Prints the file's verdict, and the effective settings when it is good. */
static int
check_config(const char *path)
{
	static struct conf c;
	char err[CONF_ERR_MAX];

	switch (conf_load(path, (uid_t)-1, &c, err)) {
	case CONF_BAD:
		fprintf(stderr, "qwrap: %s\n", err);
		return EX_CONFIG;
	case CONF_ABSENT:
		printf("%s: absent; the built-in defaults apply\n", path);
		break;
	case CONF_OK:
		printf("%s: ok\n", path);
		break;
	}
	printf("sendmail  = %s\nlog       = %s%s\nheader    = %s:", c.sendmail,
	    c.log_file, c.log_syslog ? " (and syslog)" : "", c.header_name);
	for (int i = 0; i < c.nfields; i++)
		printf(" %s", conf_field_name(c.fields[i]));
	printf("\non_error  = %s\nlimits    = %d\n",
	    c.on_error == ON_ERROR_DELIVER ? "deliver" : "tempfail", c.nlimits);
	return 0;
}

/* The config the wrapper uses, for the spool and log paths. */
static const struct conf *
config(void)
{
	static struct conf c;
	char err[CONF_ERR_MAX];

	/* Root runs this, and release runs programs it names: root's file only. */
	if (conf_load(QWRAP_CONF_PATH, 0, &c, err) == CONF_BAD) {
		fprintf(stderr, "qwrap: %s\n", err);
		exit(EX_CONFIG);
	}
	return &c;
}

/* The log and the vhosts root from the config, unless the command line gives both. */
static int
report_config(struct report *rp, const char *vhosts_option)
{
	static struct conf c;
	char err[CONF_ERR_MAX];

	if (conf_load(QWRAP_CONF_PATH, 0, &c, err) == CONF_BAD) {
		fprintf(stderr, "qwrap: %s\n", err);
		if (rp->nfiles == 0)
			return -1;
	}
	rp->log_file = c.log_file;
	vhost_root(vhosts_option, PSA_CONF, c.vhosts_root, rp->vhosts_root);
	return 0;
}

/* qwrap grep, top, tail and rate: ARGV[0] is which. */
static int
report(int argc, char *argv[])
{
	static const struct option opts[] = {
		FILTER_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "rotated", no_argument, NULL, 'R' },
		{ "vhosts-root", required_argument, NULL, 'V' },
		{ "by", required_argument, NULL, 'b' },
		{ "follow", no_argument, NULL, 'f' },
		{ "step", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd = argv[0], *vhosts = NULL;
	struct report rp = { .rows = strcmp(cmd, "tail") == 0 ? 10 : strcmp(cmd, "rate") == 0 ?
	    5 : 20 };
	struct timespec now;
	char err[FILTER_ERR_MAX];
	int opt, status;

	clock_gettime(CLOCK_REALTIME, &now);
	rp.now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	filter_init(&rp.filter);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:f", opts, NULL)) != -1) {
		if (opt >= OPT_SINCE && opt < OPT_FILTER_END) {
			if (filter_option(&rp.filter, opt, optarg, rp.now_ms, err) < 0) {
				fprintf(stderr, "qwrap %s: %s\n", cmd, err);
				return EX_USAGE;
			}
			continue;
		}
		switch (opt) {
		case 'j': rp.json = 1; break;
		case 'R': rp.rotated = 1; break;
		case 'V': vhosts = optarg; break;
		case 'b': rp.by = optarg; break;
		case 'f': rp.follow = 1; break;
		case 'S':
			if ((rp.step_ms = conf_parse_duration(optarg)) <= 0 ||
			    rp.step_ms > 366L * 86400) {
				fprintf(stderr, "qwrap %s: --step %s: not a duration (30s, 5m, 1h,"
				    " 1d)\n", cmd, optarg);
				return EX_USAGE;
			}
			rp.step_ms *= 1000;
			break;
		case 'n':
			if (number_count(optarg, &rp.rows) < 0) {
				fprintf(stderr, "qwrap %s: -n %s: not a number\n", cmd, optarg);
				return EX_USAGE;
			}
			break;
		default:
			fprintf(stderr, "qwrap %s: unknown or incomplete option %s\n", cmd,
			    argv[optind - 1]);
			return usage();
		}
	}
	rp.files = argv + optind;
	rp.nfiles = argc - optind;
	rp.tty = isatty(1);
	/* Only where it is seen and mixes with nothing: grep's records on the same terminal do. */
	rp.progress = isatty(2) && (strcmp(cmd, "top") == 0 || strcmp(cmd, "rate") == 0 ||
	    !rp.tty);
	/* Say which argument is wrong, not only how it should look. */
	if (strcmp(cmd, "top") == 0 && (rp.by == NULL || !report_key_known(rp.by))) {
		fprintf(stderr, "qwrap top: --by %s%s one of %s\n", rp.by ? rp.by : "",
		    rp.by ? ": not" : "needs", REPORT_KEYS);
		return EX_USAGE;
	}
	if (strcmp(cmd, "rate") == 0 && rp.by != NULL && !report_key_known(rp.by)) {
		fprintf(stderr, "qwrap rate: --by %s: not one of %s\n", rp.by, REPORT_KEYS);
		return EX_USAGE;
	}
	if (strcmp(cmd, "top") != 0 && strcmp(cmd, "rate") != 0 && rp.by != NULL) {
		fprintf(stderr, "qwrap %s: --by is top's and rate's\n", cmd);
		return EX_USAGE;
	}
	if (strcmp(cmd, "rate") != 0 && rp.step_ms > 0) {
		fprintf(stderr, "qwrap %s: --step is rate's\n", cmd);
		return EX_USAGE;
	}
	if (rp.follow && strcmp(cmd, "tail") != 0) {
		fprintf(stderr, "qwrap %s: -f is tail's\n", cmd);
		return EX_USAGE;
	}
	if (strcmp(cmd, "tail") == 0 && rp.nfiles > 1) {
		fprintf(stderr, "qwrap tail: one file (or a quoted pattern), not %d\n", rp.nfiles);
		return EX_USAGE;
	}
	if (report_config(&rp, vhosts) < 0)
		return EX_CONFIG;
	status = strcmp(cmd, "grep") == 0 ? report_grep(&rp) :
	    strcmp(cmd, "top") == 0 ? report_top(&rp) :
	    strcmp(cmd, "rate") == 0 ? report_rate(&rp) : report_tail(&rp);
	filter_free(&rp.filter);
	return status;
}

/* qwrap scan: ARGV[0] is "scan". */
static int
scan(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "id", required_argument, NULL, 'i' },
		{ "maillog", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "vhosts-root", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct scan_opts o = { .queue = "/var/qmail/queue", .rows = 10 };
	const char *vhosts = NULL;
	static struct conf c;
	char err[CONF_ERR_MAX];
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': o.queue = optarg; break;
		case 'i': o.id = optarg; break;
		case 'm': o.maillog = optarg; break;
		case 'j': o.json = 1; break;
		case 'V': vhosts = optarg; break;
		case 'n':
			if (number_count(optarg, &o.rows) < 0) {
				fprintf(stderr, "qwrap scan: -n %s: not a number\n", optarg);
				return EX_USAGE;
			}
			break;
		default:
			fprintf(stderr, "qwrap scan: unknown or incomplete option %s\n",
			    argv[optind - 1]);
			return usage();
		}
	}
	if (optind != argc || (o.id && o.maillog))
		return usage();
	/* The header's name, the log and the state: a bad config leaves the defaults. */
	if (conf_load(QWRAP_CONF_PATH, 0, &c, err) == CONF_BAD)
		fprintf(stderr, "qwrap: %s (the defaults apply)\n", err);
	o.conf = &c;
	vhost_root(vhosts, PSA_CONF, c.vhosts_root, o.vhosts_root);
	o.tty = isatty(1);
	o.progress = isatty(2) && !o.json;
	return o.maillog ? scan_maillog(&o) : o.id ? scan_message(&o) : scan_queue(&o);
}

/* qwrap --help, qwrap help, and --help anywhere after a command (-h first after it). */
static int
asks_help(int argc, char *argv[])
{
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0 || (argc > 2 && strcmp(argv[2], "-h") == 0))
		return 1;
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		return usage();
	if (asks_help(argc, argv)) {
		usage_to(stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "grep") == 0 || strcmp(argv[1], "top") == 0 ||
	    strcmp(argv[1], "tail") == 0 || strcmp(argv[1], "rate") == 0)
		return report(argc - 1, argv + 1);
	if (strcmp(argv[1], "scan") == 0)
		return scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-config") == 0 && argc <= 3)
		return check_config(argc == 3 ? argv[2] : QWRAP_CONF_PATH);
	if (strcmp(argv[1], "held") == 0 && (argc == 2 || (argc == 3 &&
	    strcmp(argv[2], "--json") == 0)))
		return held_list(config(), argc == 3);
	if (strcmp(argv[1], "release") == 0)
		return held_release(config(), argc - 2, argv + 2);
	if (strcmp(argv[1], "discard") == 0)
		return held_discard(config(), argc - 2, argv + 2);
	if (strcmp(argv[1], "purge") == 0)
		return purge(config(), argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return restore(argc - 1, argv + 1);
	if (strcmp(argv[1], "freeze") == 0)
		return freezecmd_freeze(config(), argc - 1, argv + 1);
	if (strcmp(argv[1], "thaw") == 0)
		return freezecmd_thaw(argc - 2, argv + 2);
	return usage();
}
