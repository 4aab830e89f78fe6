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
#include <signal.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "jsonread.h"
#include "quarantine.h"
#include "report.h"
#include "rewrite.h"

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
		struct qr_manifest p;
		time_t t;

		if (quarantine_manifest(root, names[i]->d_name, &p, err) < 0) {
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
		quarantine_manifest_free(&p);
		free(names[i]);
	}
	free(names);
	close(lock);
	return EX_OK;
}

#define ENVELOPE_MAX (64L << 20)	/* an envelope file read at most, as qwrap scan */

/*
 * DIR/NAME whole into *BUF (its length in *N): 1, 0 when absent, -1 with
 * *WHY (unreadable, too large, or cut: an envelope file ends with a NUL).
 */
static int
slurp(const char *dir, const char *name, char **buf, size_t *n, const char **why)
{
	char path[PATH_MAX + 16];
	FILE *f, *out;
	size_t cap = 0;
	char chunk[65536];
	size_t k;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	*buf = NULL;
	*n = 0;
	if ((f = fopen(path, "re")) == NULL) {
		*why = errno == ENOENT ? NULL : "its copy cannot be read";
		return errno == ENOENT ? 0 : -1;
	}
	if ((out = open_memstream(buf, &cap)) == NULL) {
		fclose(f);
		*why = "out of memory";
		return -1;
	}
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0 && ftell(out) < ENVELOPE_MAX)
		fwrite(chunk, 1, k, out);
	*why = ferror(f) ? "its copy cannot be read" : ftell(out) >= ENVELOPE_MAX ?
	    "its envelope is larger than 64 MiB" : NULL;
	fclose(f);
	if (fclose(out) != 0 && *why == NULL)
		*why = "out of memory";
	*n = cap;
	if (*why == NULL && *n > 0 && (*buf)[*n - 1] != '\0')
		*why = "its envelope is cut short";
	return *why == NULL ? 1 : -1;
}

/*
 * The pieces of an envelope file (one per NUL: u<uid>, p<pid>, F<sender>,
 * T<rcpt>, D<done>) that qmail-queue takes, to OUT: F when SENDER, and each
 * T, taken back from qmail-send's rewrite by V when given.  The T's given.
 */
static long
put_pieces(FILE *out, const char *buf, size_t n, int sender, const struct rewrite *v)
{
	long count = 0;

	for (const char *p = buf; p < buf + n; p += strlen(p) + 1) {
		if (p[0] == 'F' && sender)
			fwrite(p, 1, strlen(p) + 1, out);
		if (p[0] == 'T' && p[1] != '\0') {
			fprintf(out, "T%s%c", v != NULL ? rewrite_undo(v, p + 1) : p + 1, '\0');
			count++;
		}
	}
	return count;
}

/*
 * The envelope of the quarantined message in DIR for qmail-queue, into *ENV
 * (*LEN bytes): from its todo (or intd) when it has one, all its recipients,
 * as qmail-send would split it again; else info with the recipients of local
 * and remote not yet delivered, a local one as it was before qmail-send's
 * rewrite.  The recipients given, or -1 with *WHY.
 */
static long
envelope_of(const char *dir, const struct rewrite *v, char **env, size_t *len,
    const char **why)
{
	char *buf = NULL;
	size_t n;
	long count = 0;
	int rc;
	FILE *out = open_memstream(env, len);

	if (out == NULL) {
		*why = "out of memory";
		return -1;
	}
	if ((rc = slurp(dir, "todo", &buf, &n, why)) == 0)
		rc = slurp(dir, "intd", &buf, &n, why);
	if (rc > 0) {
		count = put_pieces(out, buf, n, 1, NULL);
	} else if (rc == 0 && (rc = slurp(dir, "info", &buf, &n, why)) > 0) {
		put_pieces(out, buf, n, 1, NULL);
		for (int i = 0; i < 2 && rc >= 0; i++) {
			free(buf);
			buf = NULL;
			if ((rc = slurp(dir, i == 0 ? "local" : "remote", &buf, &n, why)) > 0)
				count += put_pieces(out, buf, n, 0, i == 0 ? v : NULL);
		}
	} else if (rc == 0) {
		*why = "its copy has no envelope";
		rc = -1;
	}
	free(buf);
	fputc('\0', out);
	if (fclose(out) != 0 && rc >= 0) {
		*why = "out of memory";
		rc = -1;
	}
	if (rc >= 0 && (*env)[0] != 'F') {
		*why = "its envelope has no sender";
		rc = -1;
	}
	return rc < 0 ? -1 : count;
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
		signal(SIGPIPE, SIG_DFL);
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
	/*
	 * qmail-queue reads the message first, then this; a pipe it left early
	 * (EPIPE: SIGPIPE is ignored) is told by its exit status.
	 */
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
restore(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "again", no_argument, NULL, 'a' }, { "json", no_argument, NULL, 'j' },
		{ "quarantine", required_argument, NULL, 'r' },
		{ "qmail-queue", required_argument, NULL, 'q' }, { NULL, 0, NULL, 0 },
	};
	const char *root = QUARANTINE_DIR, *qq = NULL, *name;
	char err[QR_ERR_MAX], qmail[PATH_MAX], qqpath[PATH_MAX + 64], path[PATH_MAX * 2];
	char line[256], *env = NULL;
	int opt, again = 0, json = 0, lock, status = EX_OK, rc;
	long done = 0, failed = 0, n;
	size_t envlen;
	struct qr_manifest p;
	struct rewrite v = { 0 };
	unsigned char *want = NULL;

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
	/* A qmail-queue that stops reading early is told by its status, not by our death. */
	signal(SIGPIPE, SIG_IGN);
	if ((lock = quarantine_lock(root, err)) < 0) {
		fprintf(stderr, "qwrap restore: %s\n", err);
		return EX_NOINPUT;
	}
	if (quarantine_manifest(root, name, &p, err) < 0) {
		fprintf(stderr, "qwrap restore: %s\n", err);
		close(lock);
		return EX_NOINPUT;
	}
	if ((want = calloc(p.n + 1, 1)) == NULL) {
		fprintf(stderr, "qwrap restore: out of memory\n");
		status = EX_OSERR;
		goto out;
	}
	if (!p.ended) {
		fprintf(stderr, "qwrap restore: purge %s stopped half way: qwrap purge --resume"
		    " finishes it first\n", name);
		status = EX_TEMPFAIL;
		goto out;
	}
	/* The IDs asked for, each one this purge moved; none: all it moved and did not put back. */
	for (size_t i = 0; optind == argc && i < p.n; i++) {
		want[i] = p.state[i] == QR_MOVED;
		if ((p.state[i] & ~QR_EVER) == QR_RESTORING) {
			fprintf(stderr, "qwrap restore: %lu: a restore of it stopped before it was"
			    " noted: it may be in the queue already (qwrap scan --id); qwrap restore %s"
			    " %lu --again queues it\n", p.ids[i], name, p.ids[i]);
			failed++;
		}
	}
	for (int i = optind; i < argc; i++) {
		char *end;
		long k = qr_index(&p, strtoul(argv[i], &end, 10));

		if (*end != '\0' || k < 0) {
			fprintf(stderr, "qwrap restore: %s: not a message purge %s moved\n", argv[i],
			    name);
			status = EX_USAGE;
		} else if (p.state[k] != QR_MOVED && !again) {
			fprintf(stderr, "qwrap restore: %s was restored already%s; --again queues it"
			    " once more\n", argv[i], (p.state[k] & ~QR_EVER) == QR_RESTORING ? " (perhaps)" : "");
			status = EX_USAGE;
		} else {
			want[k] = 1;
		}
	}
	if (status != EX_OK)
		goto out;
	/* The queue's qmail: /var/qmail for /var/qmail/queue. */
	snprintf(qmail, sizeof qmail, "%s", p.queue);
	if (strrchr(qmail, '/') != NULL && strrchr(qmail, '/') != qmail)
		*strrchr(qmail, '/') = '\0';
	if (qq == NULL) {
		snprintf(qqpath, sizeof qqpath, "%s/bin/qmail-queue", qmail);
		qq = qqpath;
	}
	rewrite_load(qmail, &v);
	for (size_t i = 0; i < p.n; i++) {
		char dir[PATH_MAX + 64], mess[PATH_MAX + 64];
		const char *why = NULL;

		rc = 0;
		n = 0;
		if (!want[i])
			continue;
		snprintf(dir, sizeof dir, "%s/%s/%lu", root, name, p.ids[i]);
		snprintf(mess, sizeof mess, "%s/mess", dir);
		snprintf(line, sizeof line, "{\"type\":\"restoring\",\"id\":%lu,\"time\":%ld}",
		    p.ids[i], (long)time(NULL));
		if ((n = envelope_of(dir, &v, &env, &envlen, &why)) < 0)
			;
		else if (n == 0)
			why = "every recipient had been delivered";
		else if (quarantine_note(root, name, line, err) < 0)
			why = err;
		else if ((rc = queue_it(qq, mess, env, envlen)) != 0) {
			why = rc < 0 ? strerror(errno) : "qmail-queue failed";
			/*
			 * qmail-queue's exit status (not a signal) says it queued nothing:
			 * the next restore may go on without --again.
			 */
			if (rc < 128) {
				snprintf(line, sizeof line, "{\"type\":\"unrestored\",\"id\":%lu,"
				    "\"time\":%ld}", p.ids[i], (long)time(NULL));
				if (quarantine_note(root, name, line, err) < 0)
					fprintf(stderr, "qwrap restore: %s\n", err);
			}
		}
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
		snprintf(path, sizeof path, "%s/bounce", dir);
		if (access(path, F_OK) == 0)
			fprintf(stderr, "qwrap restore: %lu had a bounce pending (the report of its"
			    " failed recipients, kept in %s): it was not sent\n", p.ids[i], path);
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
	free(want);
	rewrite_free(&v);
	quarantine_manifest_free(&p);
	close(lock);
	return status;
}
