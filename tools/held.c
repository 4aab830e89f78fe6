/*
 * held.c: the hold spool, for root.  A held message is released by handing
 * it to the real sendmail as its sender's uid and gid, with its original
 * argv, from its original directory; it leaves the spool only once the real
 * sendmail exited 0.  Release and discard each write a record of their own
 * that names the held message's record (held_id).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/file.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "held.h"
#include "iofull.h"
#include "json.h"
#include "message.h"
#include "pathclean.h"
#include "record.h"
#include "report.h"
#include "sanitize.h"
#include "spool.h"

#define RELEASE_WAIT 300	/* seconds one release may take */

struct held {
	struct spool_env env;
	char *text;		/* the .env file, which ENV points into */
	long long size;		/* of the .msg */
	char subject[256];
	long rcpt_count;
};

static struct message msg;
static struct msgfields fields;

static int
read_all(const char *path, char **out, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > SPOOL_ENV_MAX ||
	    (*out = malloc((size_t)st.st_size + 1)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = read(fd, *out, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* What the listing shows of the message: its recipients and Subject, as the wrapper saw them. */
static void
summarize(const struct conf *c, const char *path, struct held *h)
{
	struct invocation inv;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0)
		h->size = (long long)st.st_size;
	if (message_read(fd, &msg) == 0) {
		classify(h->env.argc, h->env.argv, c->mta, &inv);
		message_parse(&msg, inv.headers_rcpt, h->env.argv + inv.first_rcpt,
		    h->env.argc - inv.first_rcpt, c->header_name, &fields);
		snprintf(h->subject, sizeof h->subject, "%.*s", (int)(fields.subject.p ?
		    fields.subject.n : 0), fields.subject.p ? fields.subject.p : "");
		h->rcpt_count = fields.rcpt_count;
	}
	close(fd);
}

/*
 * The wrapper writes both files as the sender (its effective uid), so an
 * envelope naming another uid -- root above all -- was not written by it.
 * The argv must be one the wrapper holds: message mode.
 */
static int
made_by_sender(const struct conf *c, const struct held *h, const char *msgpath)
{
	char envpath[PATH_MAX];
	struct invocation inv;
	struct stat a, b;

	snprintf(envpath, sizeof envpath, "%s/%s.env", c->spool_dir, h->env.id);
	if (lstat(envpath, &a) < 0 || lstat(msgpath, &b) < 0 || !S_ISREG(a.st_mode) ||
	    !S_ISREG(b.st_mode) || a.st_nlink != 1 || b.st_nlink != 1 ||
	    (long)a.st_uid != h->env.uid || (long)b.st_uid != h->env.uid)
		return 0;
	classify(h->env.argc, h->env.argv, c->mta, &inv);
	return inv.mode == MODE_MESSAGE;
}

/* What a sender killed while holding left behind, an hour on: removed by spool_sweep, and said. */
static void
removed(const char *dir, const char *name)
{
	fprintf(stderr, "qwrap: removed %s/%s, left by a sender killed while its message was"
	    " being held\n", dir, name);
}

/* The held messages, oldest first, into *OUT, *N of them; 0 or a sysexits status. */
static int
load_all(const struct conf *c, struct held **out, int *n)
{
	struct held *all = NULL;
	struct dirent **names;
	int count;

	spool_sweep(c->spool_dir, time(NULL), removed);
	count = scandir(c->spool_dir, &names, NULL, alphasort);
	*n = 0;
	if (count < 0) {
		fprintf(stderr, "qwrap: cannot read %s: %s%s\n", c->spool_dir, strerror(errno),
		    errno == EACCES ? " (run as root)" : "");
		return errno == EACCES ? EX_NOPERM : EX_IOERR;
	}
	all = calloc((size_t)count + 1, sizeof *all);
	for (int i = 0; i < count; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name), tlen;
		char path[PATH_MAX];
		struct held *h = &all[*n];

		if (all == NULL || len < 5 || strcmp(name + len - 4, ".env") != 0 || name[0] == '.')
			goto next;
		snprintf(path, sizeof path, "%s/%s", c->spool_dir, name);
		if (read_all(path, &h->text, &tlen) < 0 || spool_env_parse(h->text, tlen, &h->env) < 0 ||
		    strlen(h->env.id) != len - 4 || strncmp(name, h->env.id, len - 4) != 0) {
			fprintf(stderr, "qwrap: %s: unreadable or malformed envelope; left alone\n", path);
			goto next;
		}
		snprintf(path, sizeof path, "%s/%s.msg", c->spool_dir, h->env.id);
		if (!made_by_sender(c, h, path)) {
			fprintf(stderr, "qwrap: %s: not written by the uid its envelope names (%ld), or"
			    " not a plain file; left alone\n", h->env.id, h->env.uid);
			goto next;
		}
		summarize(c, path, h);
		(*n)++;
		free(names[i]);
		continue;
next:
		/* Not counted: what this entry took is given back, and the slot reused. */
		if (all != NULL) {
			free(h->text);
			free(h->env.argv);
			memset(h, 0, sizeof *h);
		}
		free(names[i]);
	}
	free(names);
	if (all == NULL) {
		fprintf(stderr, "qwrap: out of memory\n");
		return EX_OSERR;
	}
	*out = all;
	return 0;
}

static void
free_all(struct held *all, int n)
{
	for (int i = 0; i < n; i++) {
		free(all[i].env.argv);
		free(all[i].text);
	}
	free(all);
}

static const char *
age(long long ts)
{
	static char buf[32];
	long long s = (long long)time(NULL) - ts;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
	return buf;
}

int
held_list(const struct conf *c, int json)
{
	static char line[1 << 20];
	struct held *all;
	int n, r = load_all(c, &all, &n);

	if (r != 0)
		return r;
	int tty = isatty(STDOUT_FILENO);

	/* A table on a terminal; piped, tab-separated lines without a heading, as grep's. */
	if (!json && tty)
		printf("%-34s %7s %6s %-12s %5s  %-40s  %s\n", "ID", "AGE", "UID", "USER", "RCPT",
		    "SCRIPT", "SUBJECT");
	for (int i = 0; i < n; i++) {
		struct held *h = &all[i];
		struct jbuf b;

		if (!json) {
			char script[PATH_MAX], subject[sizeof h->subject];

			/* For root's terminal: no escape sequences from what a sender wrote. */
			const char *user = report_user(h->env.uid);

			report_clean(h->env.script ? h->env.script : "-", script, sizeof script);
			report_clean(h->subject, subject, sizeof subject);
			if (tty) {	/* a long script cut from the left, as in top's table */
				printf("%-34s %7s %6ld %-12s %5ld  ", h->env.id, age(h->env.ts),
				    h->env.uid, user[0] ? user : "-", h->rcpt_count);
				report_field(h->env.script ? h->env.script : "-", 40, 0, 1);
				report_field(h->subject, 0, 1, 1);
			} else
				printf("%s\t%s\t%ld\t%s\t%ld\t%s\t%s\n", h->env.id, age(h->env.ts),
				    h->env.uid, user[0] ? user : "-", h->rcpt_count, script, subject);
			continue;
		}
		jb_init(&b, line, sizeof line);
		jb_raw(&b, "{\"id\":");
		jb_cstr(&b, h->env.id, 64);
		jb_raw(&b, ",\"ts\":");
		jb_long(&b, (long)h->env.ts);
		jb_raw(&b, ",\"uid\":");
		jb_long(&b, h->env.uid);
		jb_raw(&b, ",\"gid\":");
		jb_long(&b, h->env.gid);
		jb_raw(&b, ",\"cwd\":");
		jb_cstr(&b, h->env.cwd, 4096);
		jb_raw(&b, ",\"script\":");
		jb_cstr(&b, h->env.script, 4096);
		jb_raw(&b, ",\"script_from\":");
		jb_cstr(&b, h->env.script_from, 64);
		jb_raw(&b, ",\"rule\":");
		jb_cstr(&b, h->env.rule, 64);
		jb_raw(&b, ",\"key\":");
		jb_cstr(&b, h->env.key, 4096);
		jb_raw(&b, ",\"argv\":[");
		for (int k = 0; k < h->env.argc; k++) {
			if (k)
				jb_raw(&b, ",");
			jb_cstr(&b, h->env.argv[k], 4096);
		}
		jb_raw(&b, "],\"rcpt_count\":");
		jb_long(&b, h->rcpt_count);
		jb_raw(&b, ",\"subject\":");
		jb_cstr(&b, h->subject, 1024);
		jb_raw(&b, ",\"size\":");
		jb_long(&b, (long)h->size);
		jb_raw(&b, "}\n");
		if (!b.overflow)
			fwrite(line, 1, b.len, stdout);
	}
	free_all(all, n);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* The record of a release or discard, appended to the capture log as root. */
static void
record(const struct conf *c, const struct held *h, const char *action, const char *error)
{
	char id[RECORD_ID_LEN], line[RECORD_MAX + 1];
	struct utsname uts;
	struct timespec ts;
	struct record r;
	size_t len;
	int fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	record_make_id(&ts, id);
	r = (struct record){ .id = id, .ts = ts, .host = uname(&uts) == 0 ? uts.nodename : "?",
	    .action = action, .mode = "message", .uid = h->env.uid, .gid = h->env.gid,
	    .pid = (long)getpid(), .cwd = h->env.cwd, .script = h->env.script,
	    .script_from = h->env.script_from ? h->env.script_from : "none",
	    .argv = h->env.argv, .argc = h->env.argc,
	    .held_id = h->env.id, .error = error };
	len = record_encode(&r, line);
	if ((fd = open(c->log_file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    write_full(fd, line, len) < 0)
		fprintf(stderr, "qwrap: cannot write the %s record to %s: %s\n", action, c->log_file,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The real sendmail, as the sender, from the sender's directory; its exit status. */
static int
hand_over(const struct conf *c, const struct held *h, const char *msgpath)
{
	static char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	int status, fd = open(msgpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	gid_t gid = (gid_t)h->env.gid;
	pid_t pid;

	if (fd < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Nothing of root's terminal or session for a process the sender may trace. */
		if (setsid() < 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(EX_OSERR);
		/* Nothing of root's descriptors either: a sender could take one from the
		 * process (pidfd_getfd, /proc) and write where only root may. */
		if (dup2(fd, 0) < 0)
			_exit(EX_OSERR);
		sanitize_close_fds();
		if (setgroups(1, &gid) < 0 ||
		    setresgid(gid, gid, gid) < 0 || setresuid((uid_t)h->env.uid, (uid_t)h->env.uid,
		    (uid_t)h->env.uid) < 0 || getuid() != (uid_t)h->env.uid)
			_exit(EX_OSERR);
		/* From where it was sent, as far as the sender may still go there. */
		if ((h->env.cwd == NULL || chdir(h->env.cwd) < 0) && chdir("/") < 0)
			_exit(EX_OSERR);
		execve(c->sendmail, h->env.argv, env);
		_exit(EX_UNAVAILABLE);
	}
	close(fd);
	/* A sender who stops the release (it runs as them) does not stop the rest. */
	for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited++) {
		if (waited == RELEASE_WAIT * 10) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 128 + SIGKILL;
		}
		usleep(100000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void
remove_held(const struct conf *c, const struct held *h)
{
	char path[PATH_MAX];

	/* The envelope first: a message without one is no longer listed. */
	snprintf(path, sizeof path, "%s/%s.env", c->spool_dir, h->env.id);
	unlink(path);
	snprintf(path, sizeof path, "%s/%s.msg", c->spool_dir, h->env.id);
	unlink(path);
	fsync_dir(c->spool_dir);
}

/* ID... | --all | --uid N | --script GLOB: 1 when H is chosen. */
static int
chosen(const struct held *h, int argc, char *argv[])
{
	if (strcmp(argv[0], "--all") == 0)
		return 1;
	if (strcmp(argv[0], "--uid") == 0)
		return strtol(argv[1], NULL, 10) == h->env.uid;
	if (strcmp(argv[0], "--script") == 0)
		return h->env.script != NULL && fnmatch(argv[1], h->env.script, 0) == 0;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], h->env.id) == 0)
			return 1;
	return 0;
}

static int
each(const struct conf *c, int argc, char *argv[], int release)
{
	int n, done = 0, failed = 0, lock, r;
	char lockpath[PATH_MAX];
	struct held *all;

	char *end = NULL;

	/* --uid takes a number: a typo must not choose uid 0. */
	if (argc == 2 && strcmp(argv[0], "--uid") == 0)
		strtol(argv[1], &end, 10);
	if (argc < 1 || ((strcmp(argv[0], "--uid") == 0 || strcmp(argv[0], "--script") == 0) &&
	    argc != 2) || (strcmp(argv[0], "--all") == 0 && argc != 1) ||
	    (strcmp(argv[0], "--uid") == 0 && (end == argv[1] || *end != '\0'))) {
		fprintf(stderr, "usage: qwrap %s ID... | --all | --uid N | --script GLOB\n",
		    release ? "release" : "discard");
		return EX_USAGE;
	}
	/* As records have paths: "//" and "/./" one "/" (path_clean_glob says how far). */
	if (strcmp(argv[0], "--script") == 0)
		path_clean_glob(argv[1]);
	/*
	 * One release or discard at a time, so that no message goes out twice;
	 * on a lock file of its own, so that holds never wait for a release.
	 */
	snprintf(lockpath, sizeof lockpath, "%s/.release.lock", c->spool_dir);
	if ((lock = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    flock(lock, LOCK_EX) < 0) {
		fprintf(stderr, "qwrap: cannot lock %s: %s\n", c->spool_dir, strerror(errno));
		return errno == EACCES ? EX_NOPERM : EX_IOERR;
	}
	if ((r = load_all(c, &all, &n)) != 0)
		return r;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], why[128];
		int st;

		if (!chosen(&all[i], argc, argv))
			continue;
		if (!release) {
			remove_held(c, &all[i]);
			record(c, &all[i], "discard", NULL);
			printf("discarded %s\n", all[i].env.id);
			done++;
			continue;
		}
		snprintf(path, sizeof path, "%s/%s.msg", c->spool_dir, all[i].env.id);
		if ((st = hand_over(c, &all[i], path)) == 0) {
			remove_held(c, &all[i]);
			record(c, &all[i], "release", NULL);
			printf("released %s\n", all[i].env.id);
			done++;
		} else {
			snprintf(why, sizeof why, "the real sendmail exited %d; still held", st);
			record(c, &all[i], "release", why);
			fprintf(stderr, "qwrap: %s: %s\n", all[i].env.id, why);
			failed++;
		}
	}
	free_all(all, n);
	fflush(stdout);
	if (done + failed == 0) {
		fprintf(stderr, "qwrap: no held message matches\n");
		return EX_NOINPUT;
	}
	return failed ? EX_TEMPFAIL : 0;
}

int
held_release(const struct conf *c, int argc, char *argv[])
{
	return each(c, argc, argv, 1);
}

int
held_discard(const struct conf *c, int argc, char *argv[])
{
	return each(c, argc, argv, 0);
}
