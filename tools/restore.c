/*
 * restore.c: see restore.h.
 *
 * A message goes back through qmail-queue, as any new mail does: the
 * quarantined mess file byte for byte on its fd 0, and on fd 1 the envelope
 * of what was still to do, "F<sender>\0" and "T<rcpt>\0" per recipient not
 * yet delivered, then "\0".  qmail-queue adds its own Received line, as it
 * does to every message; the message's old one stays below it.
 * A local recipient of a preprocessed message is taken back to the address
 * qmail-send rewrote (tools/rewrite.h).
 */
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "jsonread.h"
#include "queue.h"
#include "quarantine.h"
#include "report.h"
#include "rewrite.h"

/* A purge as its manifest tells it. */
struct purge_info {
	char queue[PATH_MAX];
	long time;
	char command[4096];	/* raw JSON */
	int header, ended;
	long moved, restored;
	unsigned long *ids;	/* moved, in order */
	unsigned char *done;	/* restored already, per ids[] */
	size_t n, cap;
};

static long
index_of(const struct purge_info *p, unsigned long id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ids[i] == id)
			return (long)i;
	return -1;
}

static int
info_line(const char *line, size_t n, void *arg)
{
	struct purge_info *p = arg;
	struct jr_object o;
	const struct jr_member *t, *v;
	char type[16];
	long id, k;

	if (jr_parse(line, n, &o) < 0 || (t = jr_get(&o, "type")) == NULL ||
	    jr_string(t->val, t->vallen, type, sizeof type) < 0)
		return 0;
	if (strcmp(type, "purge") == 0) {
		if ((v = jr_get(&o, "queue")) != NULL)
			jr_string(v->val, v->vallen, p->queue, sizeof p->queue);
		if ((v = jr_get(&o, "time")) != NULL)
			jr_long(v->val, v->vallen, &p->time);
		if ((v = jr_get(&o, "command")) != NULL && v->vallen < sizeof p->command)
			snprintf(p->command, sizeof p->command, "%.*s", (int)v->vallen, v->val);
		p->header = 1;
	} else if (strcmp(type, "end") == 0) {
		p->ended = 1;
	} else if ((v = jr_get(&o, "id")) == NULL || jr_long(v->val, v->vallen, &id) < 0) {
		return 0;
	} else if (strcmp(type, "moved") == 0 && index_of(p, (unsigned long)id) < 0) {
		if (p->n == p->cap) {
			size_t cap = p->cap * 2 + 64;
			unsigned long *ids = realloc(p->ids, cap * sizeof *ids);
			unsigned char *done = ids == NULL ? NULL : realloc(p->done, cap);

			if (ids != NULL)
				p->ids = ids;
			if (done == NULL)
				return -1;
			p->done = done;
			p->cap = cap;
		}
		p->ids[p->n] = (unsigned long)id;
		p->done[p->n++] = 0;
		p->moved++;
	} else if (strcmp(type, "restored") == 0 && (k = index_of(p, (unsigned long)id)) >= 0 &&
	    !p->done[k]) {
		p->done[k] = 1;
		p->restored++;
	}
	return 0;
}

static int
read_purge(const char *root, const char *name, struct purge_info *p, char err[QR_ERR_MAX])
{
	memset(p, 0, sizeof *p);
	if (quarantine_read(root, name, info_line, p, err) < 0)
		return -1;
	if (!p->header) {
		snprintf(err, QR_ERR_MAX, "purge %s has no manifest header", name);
		return -1;
	}
	return 0;
}

static void
purge_free(struct purge_info *p)
{
	free(p->ids);
	free(p->done);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
visible(const struct dirent *d)
{
	return quarantine_name_ok(d->d_name);
}

int
purge_list(const char *root, int json)
{
	struct dirent **names;
	char err[QR_ERR_MAX], when[32];
	int n, lock;

	if ((lock = quarantine_lock(root, err)) < 0) {
		if (errno == ENOENT) {
			fprintf(stderr, "qwrap purge: no purge has been made (%s)\n", root);
			return EX_OK;
		}
		fprintf(stderr, "qwrap purge: %s\n", err);
		return EX_NOPERM;
	}
	if ((n = scandir(root, &names, visible, by_name)) < 0) {
		fprintf(stderr, "qwrap purge: cannot read %s: %s\n", root, strerror(errno));
		close(lock);
		return EX_IOERR;
	}
	if (!json && isatty(STDOUT_FILENO))
		printf("PURGE\tTIME\tMOVED\tRESTORED\tSTATE\tQUEUE\n");
	for (int i = 0; i < n; i++) {
		struct purge_info p;
		time_t t;

		if (read_purge(root, names[i]->d_name, &p, err) < 0) {
			fprintf(stderr, "qwrap purge: %s\n", err);
			free(names[i]);
			continue;
		}
		if (json) {
			printf("{\"type\":\"purge\",\"name\":\"%s\",\"time\":%ld,\"queue\":",
			    names[i]->d_name, p.time);
			report_json_string(p.queue);
			printf(",\"moved\":%ld,\"restored\":%ld,\"complete\":%s,\"command\":%s}\n",
			    p.moved, p.restored, p.ended ? "true" : "false",
			    p.command[0] ? p.command : "null");
		} else {
			t = (time_t)p.time;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("%s\t%s\t%ld\t%ld\t%s\t", names[i]->d_name, when, p.moved, p.restored,
			    p.ended ? "complete" : "half-way(qwrap purge --resume)");
			report_field(p.queue, 0, 1, 0);
		}
		purge_free(&p);
		free(names[i]);
	}
	free(names);
	close(lock);
	return EX_OK;
}

/* The envelope of M for qmail-queue into *ENV: what is left to deliver.  Its recipients. */
static long
envelope_of(const struct qmsg *m, const struct rewrite *v, char **env, size_t *len)
{
	size_t pos = 0;
	enum rcpt_channel ch;
	int done;
	const char *addr;
	long n = 0;
	FILE *f = open_memstream(env, len);

	if (f == NULL)
		return -1;
	fprintf(f, "F%s%c", m->sender, '\0');
	while (qmsg_rcpt(m, &pos, &ch, &done, &addr)) {
		if (done)
			continue;
		fprintf(f, "T%s%c", ch == RCPT_LOCAL ? rewrite_undo(v, addr) : addr, '\0');
		n++;
	}
	fputc('\0', f);
	return fclose(f) == 0 ? n : -1;
}

/*
 * Runs QQ with the file MESS on fd 0 and ENV on fd 1.  Its exit status
 * (0 queued), or -1 with errno.
 */
static int
queue_it(const char *qq, const char *mess, const char *env, size_t len)
{
	int in, fds[2], status;
	pid_t pid;

	if ((in = open(mess, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		close(in);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (dup2(in, 0) < 0 || dup2(fds[0], 1) < 0)
			_exit(111);
		execl(qq, "qmail-queue", (char *)NULL);
		_exit(120);	/* qmail-queue's own "unable to exec" */
	}
	close(in);
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return -1;
	}
	/* qmail-queue reads the message first, then this; a pipe it left early is its exit status. */
	(void)write_full(fds[1], env, len);
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
usage(void)
{
	fprintf(stderr, "usage: qwrap restore PURGE [ID...] [--again] [--json] [--quarantine DIR]"
	    " [--qmail-queue PATH]\n"
	    "       (qwrap purge --list names the purges)\n");
	return EX_USAGE;
}

int
restore(const struct conf *conf, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "again", no_argument, NULL, 'a' }, { "json", no_argument, NULL, 'j' },
		{ "quarantine", required_argument, NULL, 'r' },
		{ "qmail-queue", required_argument, NULL, 'q' }, { NULL, 0, NULL, 0 },
	};
	const char *root = QUARANTINE_DIR, *qq = NULL, *name;
	char err[QR_ERR_MAX], qmail[PATH_MAX], path[PATH_MAX + 64], line[256], *env = NULL;
	int opt, again = 0, json = 0, lock, status = EX_OK, rc;
	long done = 0, failed = 0, n;
	size_t envlen;
	struct purge_info p;
	struct rewrite v = { 0 };
	struct qmsg m = { 0 };

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': again = 1; break;
		case 'j': json = 1; break;
		case 'r': root = optarg; break;
		case 'q': qq = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	name = argv[optind++];
	if ((lock = quarantine_lock(root, err)) < 0) {
		fprintf(stderr, "qwrap restore: %s\n", err);
		return EX_NOINPUT;
	}
	if (read_purge(root, name, &p, err) < 0) {
		fprintf(stderr, "qwrap restore: %s\n", err);
		close(lock);
		return EX_NOINPUT;
	}
	if (!p.ended) {
		fprintf(stderr, "qwrap restore: purge %s stopped half way: qwrap purge --resume"
		    " finishes it first\n", name);
		status = EX_TEMPFAIL;
		goto out;
	}
	/* The IDs asked for, each one this purge moved; none: all it moved and did not put back. */
	for (int i = optind; i < argc; i++) {
		char *end;
		long k = index_of(&p, strtoul(argv[i], &end, 10));

		if (*end != '\0' || k < 0) {
			fprintf(stderr, "qwrap restore: %s: not a message purge %s moved\n", argv[i],
			    name);
			status = EX_USAGE;
		} else if (p.done[k] && !again) {
			fprintf(stderr, "qwrap restore: %s was restored already; --again queues it"
			    " once more\n", argv[i]);
			status = EX_USAGE;
		} else {
			p.done[k] = 2;	/* asked for */
		}
	}
	if (status != EX_OK)
		goto out;
	/* The queue's qmail: /var/qmail for /var/qmail/queue. */
	snprintf(qmail, sizeof qmail, "%s", p.queue);
	if (strrchr(qmail, '/') != NULL && strrchr(qmail, '/') != qmail)
		*strrchr(qmail, '/') = '\0';
	if (qq == NULL) {
		snprintf(path, sizeof path, "%s/bin/qmail-queue", qmail);
		qq = path;
	}
	rewrite_load(qmail, &v);
	for (size_t i = 0; i < p.n; i++) {
		char dir[PATH_MAX + 64], mess[PATH_MAX + 64];
		const char *why = NULL;

		rc = 0;
		n = 0;
		if (optind < argc ? p.done[i] != 2 : p.done[i] != 0)
			continue;
		snprintf(dir, sizeof dir, "%s/%s/%lu", root, name, p.ids[i]);
		snprintf(mess, sizeof mess, "%s/mess", dir);
		if (queue_load_copy(dir, conf->header_name, p.ids[i], &m) != 1 || !m.has_envelope)
			why = "its copy is not whole";
		else if ((n = envelope_of(&m, &v, &env, &envlen)) < 0)
			why = "out of memory";
		else if (n == 0)
			why = "every recipient had been delivered";
		else if ((rc = queue_it(qq, mess, env, envlen)) != 0)
			why = rc < 0 ? strerror(errno) : "qmail-queue failed";
		free(env);
		env = NULL;
		if (why != NULL) {
			fprintf(stderr, "qwrap restore: %lu: not queued: %s%s\n", p.ids[i], why,
			    rc > 0 && n > 0 ? " (see its exit status below)" : "");
			if (rc > 0 && n > 0)
				fprintf(stderr, "qwrap restore: %s exited %d\n", qq, rc);
			failed++;
			continue;
		}
		snprintf(line, sizeof line, "{\"type\":\"restored\",\"id\":%lu,\"time\":%ld,"
		    "\"recipients\":%ld}", p.ids[i], (long)time(NULL), n);
		if (quarantine_note(root, name, line, err) < 0) {
			/* Queued, but not noted: said, so that it is not queued twice. */
			fprintf(stderr, "qwrap restore: %lu was queued, but %s\n", p.ids[i], err);
			status = EX_IOERR;
		}
		done++;
		if (json)
			printf("%s\n", line);
		else
			printf("%lu\trestored\t%ld recipient%s\n", p.ids[i], n, n == 1 ? "" : "s");
	}
	fprintf(stderr, "qwrap restore: %ld message%s queued again from purge %s%s\n", done,
	    done == 1 ? "" : "s", name, failed ? "; some were not (see above)" : "");
	if (failed && status == EX_OK)
		status = EX_TEMPFAIL;
out:
	qmsg_free(&m);
	rewrite_free(&v);
	purge_free(&p);
	close(lock);
	return status;
}
