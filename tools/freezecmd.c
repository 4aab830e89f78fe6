/*
 * freezecmd.c: qwrap freeze and thaw, for root.  The freezes are one file
 * (freeze.h), replaced whole: written under a temporary name beside it,
 * flushed, renamed over it, under a lock on its directory, so that the
 * keeper reads either the old list or the new one.  The file is root's,
 * group qwrap (the keeper reads it with the group), mode 0640; when no
 * freeze is left it is removed, so that a sender whose keeper could not
 * start is refused only while some freeze exists.
 */
#include "freezecmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "jsonread.h"
#include "logread.h"
#include "number.h"
#include "pathclean.h"
#include "paths.h"
#include "report.h"
#include "vhost.h"

static struct freezes fz;
static char text[FREEZE_FILE_MAX];

/* The freezes' directory, opened. */
static int
open_dir(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof dir, "%s", QWRAP_FREEZE_PATH);
	return open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Locks the freezes' directory for a change; the descriptor, or -1 having said why. */
static int
lock_dir(void)
{
	int fd;

	if ((fd = open_dir()) < 0 || flock(fd, LOCK_EX) < 0) {
		fprintf(stderr, "qwrap: cannot lock the directory of %s: %s\n", QWRAP_FREEZE_PATH,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* FZ, without the freezes that have ended, into the file: EX_OK or a sysexits status. */
static int
save(long long now)
{
	static struct freezes check;
	char tmp[PATH_MAX + 16], err[FREEZE_ERR_MAX] = "";
	struct stat wrapper;
	size_t len;
	int fd, dfd, kept = 0;

	for (int i = 0; i < fz.n; i++)
		if (fz.f[i].until == 0 || now < fz.f[i].until)
			fz.f[kept++] = fz.f[i];
	fz.n = kept;
	if (fz.n == 0) {
		if (unlink(QWRAP_FREEZE_PATH) < 0 && errno != ENOENT) {
			fprintf(stderr, "qwrap: cannot remove %s: %s\n", QWRAP_FREEZE_PATH, strerror(errno));
			return EX_CANTCREAT;
		}
		return EX_OK;
	}
	/* The group the wrapper runs its keeper with. */
	if (stat(QWRAP_WRAPPER, &wrapper) < 0) {
		fprintf(stderr, "qwrap: %s: %s (its group reads the freezes)\n", QWRAP_WRAPPER,
		    strerror(errno));
		return EX_UNAVAILABLE;
	}
	len = freeze_format(&fz, text);
	snprintf(tmp, sizeof tmp, "%s.new", QWRAP_FREEZE_PATH);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fchown(fd, 0, wrapper.st_gid) < 0 || fchmod(fd, 0640) < 0 ||
	    write_full(fd, text, len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "qwrap: cannot write %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return EX_CANTCREAT;
	}
	/* Read back as the keeper will: a file it would refuse would stop all mail. */
	if (freeze_load(tmp, 0, &check, err) != 1 || check.n != fz.n) {
		fprintf(stderr, "qwrap: the freezes would not read back (%s); nothing changed\n",
		    err);
		unlink(tmp);
		return EX_SOFTWARE;
	}
	if (rename(tmp, QWRAP_FREEZE_PATH) < 0 || (dfd = open_dir()) < 0 || fsync(dfd) < 0) {
		fprintf(stderr, "qwrap: cannot put %s in place: %s\n", QWRAP_FREEZE_PATH,
		    strerror(errno));
		unlink(tmp);
		return EX_CANTCREAT;
	}
	close(dfd);
	return EX_OK;
}

static int
load(void)
{
	char err[FREEZE_ERR_MAX];

	if (freeze_load(QWRAP_FREEZE_PATH, 0, &fz, err) < 0) {
		fprintf(stderr, "qwrap: %s\n", err);
		return EX_DATAERR;
	}
	return EX_OK;
}

/* How many messages each freeze held or refused, from the capture log's records. */
static void
caught(const struct conf *c, long counts[FREEZE_MAX])
{
	struct logfile f;
	struct logrec r;
	char err[LOG_ERR_MAX];

	memset(counts, 0, sizeof(long) * FREEZE_MAX);
	if (log_open(&f, c->log_file, err) < 0)
		return;
	while (log_next(&f, &r, err) == 1) {
		const struct jr_member *m = jr_get(&r.o, "freeze");
		struct jr_object o;
		const struct jr_member *id;
		long n;

		if (m == NULL || jr_parse(m->val, m->vallen, &o) < 0 ||
		    (id = jr_get(&o, "id")) == NULL || jr_long(id->val, id->vallen, &n) < 0)
			continue;
		for (int i = 0; i < fz.n; i++)
			if (fz.f[i].id == n && r.ts_ms >= fz.f[i].created * 1000)
				counts[i]++;
	}
	log_close(&f);
}

static void
when(long long t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0)
		snprintf(out, cap, "until thawed");
	else if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld", t);
}

static int
list(const struct conf *c, int json)
{
	long counts[FREEZE_MAX];
	long long now = time(NULL);
	int shown = 0;

	caught(c, counts);
	if (!json && isatty(1))
		printf("%4s  %-6s  %-6s  %-20s  %8s  %s\n", "ID", "BY", "ACTION", "UNTIL", "CAUGHT",
		    "WHAT");
	for (int i = 0; i < fz.n; i++) {
		const struct freeze *f = &fz.f[i];
		char until[32], what[PATH_MAX + FREEZE_NAME_MAX + 8];

		if (f->until != 0 && now >= f->until)
			continue;
		shown++;
		when(f->until, until, sizeof until);
		if (json) {
			printf("{\"id\":%ld,\"by\":\"%s\",\"name\":", f->id, freeze_by_names[f->by]);
			report_json_string(f->name);
			printf(",\"value\":");
			report_json_string(f->value);
			printf(",\"action\":\"%s\",\"created\":%lld,\"until\":%lld,\"caught\":%ld}\n",
			    f->action == LIMIT_HOLD ? "hold" : "reject", f->created, f->until, counts[i]);
			continue;
		}
		snprintf(what, sizeof what, "%s%s%s%s", strcmp(f->name, "-") ? f->name : "",
		    strcmp(f->name, "-") ? " (" : "", f->value, strcmp(f->name, "-") ? ")" : "");
		if (isatty(1))
			printf("%4ld  %-6s  %-6s  %-20s  %8ld  %s\n", f->id, freeze_by_names[f->by],
			    f->action == LIMIT_HOLD ? "hold" : "reject", until, counts[i], what);
		else
			printf("%ld\t%s\t%s\t%s\t%ld\t%s\t%s\n", f->id, freeze_by_names[f->by],
			    f->action == LIMIT_HOLD ? "hold" : "reject", until, counts[i], f->name,
			    f->value);
	}
	if (!json && isatty(1) && shown == 0)
		printf("no freezes\n");
	return EX_OK;
}

enum { FZ_UID = 0x100, FZ_USER, FZ_SCRIPT, FZ_CWD, FZ_VHOST, FZ_FOR, FZ_ACTION, FZ_JSON,
	FZ_VROOT };

static int
freeze_usage(void)
{
	fprintf(stderr, "usage: qwrap freeze [--json]\n"
	    "       qwrap freeze --uid N | --user NAME | --script GLOB | --cwd DIR | --vhost NAME\n"
	    "                    [--for DURATION] [--action hold|reject] [--vhosts-root DIR]\n");
	return EX_USAGE;
}

/* NAME when it is one plain word (the file's NAME field), else "-". */
static void
set_name(struct freeze *f, const char *name)
{
	int plain = name[0] != '\0' && strlen(name) < sizeof f->name;

	for (const char *p = name; plain && *p; p++)
		plain = (unsigned char)*p > 0x20 && *p != 0x7f;
	snprintf(f->name, sizeof f->name, "%s", plain ? name : "-");
}

/* DIR's canonical path into F's value when it has one (the wrapper compares canonical paths). */
static void
set_dir(struct freeze *f, const char *dir)
{
	char canon[PATH_MAX];

	snprintf(f->value, sizeof f->value, "%s", realpath(dir, canon) != NULL ? canon : dir);
}

/* The new freeze F from one selector; EX_OK, or a status having said why. */
static int
selector(int opt, const char *arg, const char *vroot, struct freeze *f)
{
	struct passwd *pw;
	struct stat st;
	long uid;

	snprintf(f->name, sizeof f->name, "-");
	switch (opt) {
	case FZ_UID:
		if (number_count(arg, &uid) < 0 || uid > 0x7fffffffL) {
			fprintf(stderr, "qwrap freeze: --uid %s: not a uid\n", arg);
			return EX_USAGE;
		}
		f->by = FREEZE_UID;
		if ((pw = getpwuid((uid_t)uid)) != NULL)
			set_name(f, pw->pw_name);
		snprintf(f->value, sizeof f->value, "%ld", uid);
		return EX_OK;
	case FZ_USER:
		if ((pw = getpwnam(arg)) == NULL) {
			fprintf(stderr, "qwrap freeze: --user %s: no such user on this host\n", arg);
			return EX_NOUSER;
		}
		f->by = FREEZE_UID;
		set_name(f, arg);
		snprintf(f->value, sizeof f->value, "%ld", (long)pw->pw_uid);
		return EX_OK;
	case FZ_SCRIPT:
		f->by = FREEZE_SCRIPT;
		break;
	case FZ_CWD:
		f->by = FREEZE_CWD;
		if (arg[0] != '/') {
			fprintf(stderr, "qwrap freeze: --cwd %s: an absolute directory, please\n", arg);
			return EX_USAGE;
		}
		break;
	case FZ_VHOST:
		/* As qwrap top names sites: VHOSTS_ROOT/NAME, or cPanel's /home/NAME. */
		f->by = FREEZE_VHOST;
		if (strchr(arg, '/') != NULL || arg[0] == '.' || arg[0] == '\0' ||
		    strchr(arg, ' ') != NULL || strlen(arg) >= sizeof f->name) {
			fprintf(stderr, "qwrap freeze: --vhost %s: not a site's name\n", arg);
			return EX_USAGE;
		}
		set_name(f, arg);
		for (int k = vroot[0] ? 0 : 1; k < 2; k++) {
			char dir[PATH_MAX];

			if ((size_t)snprintf(dir, sizeof dir, "%s/%s", k ? "/home" : vroot, arg) <
			    sizeof dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
				set_dir(f, dir);
				return EX_OK;
			}
		}
		fprintf(stderr, "qwrap freeze: --vhost %s: no such site under %s%s/home\n", arg,
		    vroot, vroot[0] ? " or " : "");
		return EX_NOINPUT;
	}
	if (strlen(arg) >= sizeof f->value || arg[0] == '\0') {
		fprintf(stderr, "qwrap freeze: the value is empty or too long\n");
		return EX_USAGE;
	}
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "qwrap freeze: the value holds a control character\n");
			return EX_USAGE;
		}
	if (f->by == FREEZE_CWD)
		set_dir(f, arg);
	else
		snprintf(f->value, sizeof f->value, "%s", arg);
	/* As records have paths: "//" and "/./" one "/" (path_clean_glob says how far). */
	if (f->by == FREEZE_CWD)
		path_clean(f->value);
	else
		path_clean_glob(f->value);
	return EX_OK;
}

int
freezecmd_freeze(const struct conf *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "uid", required_argument, NULL, FZ_UID },
		{ "user", required_argument, NULL, FZ_USER },
		{ "script", required_argument, NULL, FZ_SCRIPT },
		{ "cwd", required_argument, NULL, FZ_CWD },
		{ "vhost", required_argument, NULL, FZ_VHOST },
		{ "for", required_argument, NULL, FZ_FOR },
		{ "action", required_argument, NULL, FZ_ACTION },
		{ "json", no_argument, NULL, FZ_JSON },
		{ "vhosts-root", required_argument, NULL, FZ_VROOT },
		{ NULL, 0, NULL, 0 },
	};
	const char *sel_arg = NULL, *vhosts = NULL;
	char vroot[PATH_MAX];
	struct freeze f = { .action = LIMIT_HOLD };
	long long now = time(NULL);
	long secs = 0, max = 0;
	int opt, sel = 0, json = 0, lock, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case FZ_UID: case FZ_USER: case FZ_SCRIPT: case FZ_CWD: case FZ_VHOST:
			if (sel != 0) {
				fprintf(stderr, "qwrap freeze: one of --uid, --user, --script, --cwd,"
				    " --vhost at a time\n");
				return EX_USAGE;
			}
			sel = opt;
			sel_arg = optarg;
			break;
		case FZ_FOR:
			if ((secs = conf_parse_duration(optarg)) <= 0) {
				fprintf(stderr, "qwrap freeze: --for %s: not a duration (30m, 2h, 7d)\n",
				    optarg);
				return EX_USAGE;
			}
			break;
		case FZ_ACTION:
			if (strcmp(optarg, "hold") != 0 && strcmp(optarg, "reject") != 0) {
				fprintf(stderr, "qwrap freeze: --action %s: hold or reject\n", optarg);
				return EX_USAGE;
			}
			f.action = strcmp(optarg, "hold") == 0 ? LIMIT_HOLD : LIMIT_REJECT;
			break;
		case FZ_JSON:
			json = 1;
			break;
		case FZ_VROOT:
			vhosts = optarg;
			break;
		default:
			return freeze_usage();
		}
	}
	if (optind != argc || (sel == 0 && (secs || f.action != LIMIT_HOLD)))
		return freeze_usage();
	if (sel == 0)
		return (rc = load()) != EX_OK ? rc : list(c, json);
	vhost_root(vhosts, PSA_CONF, c->vhosts_root, vroot);
	if ((rc = selector(sel, sel_arg, vroot, &f)) != EX_OK)
		return rc;
	if ((lock = lock_dir()) < 0)
		return EX_CANTCREAT;
	if ((rc = load()) == EX_OK) {
		for (int i = 0; i < fz.n; i++)
			if (fz.f[i].id > max)
				max = fz.f[i].id;
		f.id = max + 1;
		f.created = now;
		f.until = secs ? now + secs : 0;
		if (fz.n == FREEZE_MAX) {
			fprintf(stderr, "qwrap freeze: %d freezes already; thaw some first\n", FREEZE_MAX);
			rc = EX_UNAVAILABLE;
		} else {
			fz.f[fz.n++] = f;
			rc = save(now);
		}
	}
	close(lock);
	if (rc == EX_OK) {
		char until[32];

		when(f.until, until, sizeof until);
		printf("freeze %ld: %s of %s %s%s%s, %s: from the next message on\n", f.id,
		    f.action == LIMIT_HOLD ? "holding mail" : "refusing mail", freeze_by_names[f.by],
		    f.value, strcmp(f.name, "-") ? " " : "", strcmp(f.name, "-") ? f.name : "", until);
	}
	return rc;
}

int
freezecmd_thaw(int argc, char *argv[])
{
	long ids[FREEZE_MAX];
	int nids = 0, all = argc == 1 && strcmp(argv[0], "--all") == 0, lock, rc, gone = 0;

	for (int i = 0; !all && i < argc; i++)
		if (nids == FREEZE_MAX || number_count(argv[i], &ids[nids++]) < 0 || ids[nids - 1] == 0)
			argc = 0;
	if (argc == 0) {
		fprintf(stderr, "usage: qwrap thaw ID... | --all\n");
		return EX_USAGE;
	}
	if ((lock = lock_dir()) < 0)
		return EX_CANTCREAT;
	/* A file that does not parse stops all mail: --all removes it all the same. */
	if ((rc = load()) != EX_OK && all) {
		fz.n = 0;
		rc = save(time(NULL));
		if (rc == EX_OK)
			printf("the freezes file removed\n");
		close(lock);
		return rc;
	}
	if (rc == EX_OK) {
		int kept = 0;

		for (int i = 0; i < fz.n; i++) {
			int thaw = all;

			for (int k = 0; k < nids; k++)
				thaw |= fz.f[i].id == ids[k];
			if (thaw) {
				printf("freeze %ld thawed\n", fz.f[i].id);
				gone++;
			} else
				fz.f[kept++] = fz.f[i];
		}
		fz.n = kept;
		rc = save(time(NULL));
	}
	close(lock);
	if (rc == EX_OK && gone < (all ? gone : nids)) {
		fprintf(stderr, "qwrap thaw: %d of the freezes named were not there\n", nids - gone);
		return EX_NOINPUT;
	}
	return rc;
}
