/*
 * quarantine.c: see quarantine.h.  The queue's layout is qmail's
 * (tools/queue.c); nothing here runs while qmail-send does (tools/purge.c
 * makes sure), so the only other writer of the queue is qmail-queue, which
 * makes new messages under new inodes and never touches one that has a
 * todo or info file.
 */
#include "quarantine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "json.h"
#include "jsonread.h"
#include "sha256.h"

#define LINE_MAX_BYTES 16384	/* a manifest line: a message's entry is under 4 KiB */

/* A message's files, in the order a move removes them (quarantine.h says why). */
static const struct kind {
	const char *name;	/* in the quarantine */
	const char *dir;	/* in the queue */
	int split;		/* dir/SPLIT/ID, or dir/ID */
} kinds[] = {
	{ "info", "info", 1 }, { "todo", "todo", 0 }, { "todo", "todo", 1 },
	{ "local", "local", 1 }, { "remote", "remote", 1 }, { "bounce", "bounce", 0 },
	{ "intd", "intd", 0 }, { "intd", "intd", 1 }, { "mess", "mess", 1 },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])
#define MARKERS 3	/* the first three: a message qmail-send knows has one */

/*
 * The directory of kind K's files (with SPLIT) in the queue QFD, opened
 * never through a symbolic link: a split directory made a link would have
 * root read or remove files elsewhere.  -1 with errno (ENOENT: none).
 */
static int
kind_dir(int qfd, const struct kind *k, const char *split)
{
	int d = openat(qfd, k->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), sd;

	if (d < 0 || !k->split)
		return d;
	sd = openat(d, split, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(d);
	return sd;
}

/* A split directory's name, or a message's: digits only, as qmail makes them. */
static int
numeric(const char *s)
{
	if (*s == '\0' || strlen(s) > 20)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Opens kind K's file NAME of the queue QFD to read.  The descriptor; -2
 * when there is none; -1 with ERR.
 */
static int
open_queued(int qfd, const struct kind *k, const char *split, const char *name,
    char err[QR_ERR_MAX])
{
	int d = kind_dir(qfd, k, split), fd;
	struct stat st;

	if (d < 0 && errno == ENOENT)
		return -2;
	if (d >= 0) {
		fd = openat(d, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		close(d);
		if (fd < 0 && errno == ENOENT)
			return -2;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return fd;
		if (fd >= 0) {
			close(fd);
			errno = EINVAL;
		}
	}
	snprintf(err, QR_ERR_MAX, "cannot read %s/%s/%s: %s", k->dir, k->split ? split : ".", name,
	    errno == EINVAL ? "not a regular file" : strerror(errno));
	return -1;
}

/*
 * Copies IN (closed here) into NAME in directory DST, durable, with its
 * times; H, when given, gets its bytes.  0, or -1 with ERR.
 */
static int
copy_one(int in, int dst, const char *name, struct sha256 *h, char err[QR_ERR_MAX])
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int out;

	if (fstat(in, &st) < 0 || (out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot copy its %s: %s", name,
		    errno == EEXIST ? "two files of that kind" : strerror(errno));
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_full(out, buf, (size_t)n) < 0)
			break;
		if (h != NULL)
			sha256_update(h, buf, (size_t)n);
	}
	{
		struct timespec t[2] = { st.st_atim, st.st_mtim };

		if (n == 0)
			(void)futimens(out, t);
	}
	if (n != 0 || fsync(out) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot copy its %s: %s", name, strerror(errno));
		close(out);
		close(in);
		return -1;
	}
	close(in);
	if (close(out) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot write the copy of its %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes directory NAME in DIRFD and the files in it (a message's copy). */
static void
remove_copy(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				(void)unlinkat(fd, e->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Removes the queue's files of ID, in kinds' order.  0, or -1 with ERR. */
static int
remove_queued(int qfd, const char *split, unsigned long id, char err[QR_ERR_MAX])
{
	char name[24];

	snprintf(name, sizeof name, "%lu", id);
	for (size_t i = 0; i < NKINDS; i++) {
		int d = kind_dir(qfd, &kinds[i], split);

		if ((d < 0 && errno != ENOENT) ||
		    (d >= 0 && unlinkat(d, name, 0) < 0 && errno != ENOENT)) {
			snprintf(err, QR_ERR_MAX, "cannot remove %s/%s%s%s: %s (the message is whole"
			    " in the quarantine; qwrap purge --resume removes the rest)", kinds[i].dir,
			    kinds[i].split ? split : "", kinds[i].split ? "/" : "", name,
			    strerror(errno));
			if (d >= 0)
				close(d);
			return -1;
		}
		if (d >= 0)
			close(d);
	}
	return 0;
}

/* Appends LINE and a newline to FD in one write. */
static int
append_line(int fd, const char *line)
{
	size_t n = strlen(line);
	char *buf = malloc(n + 1);
	int rc;

	if (buf == NULL)
		return -1;
	memcpy(buf, line, n);
	buf[n] = '\n';
	rc = write_full(fd, buf, n + 1);
	free(buf);
	return rc;
}

int
quarantine_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL &&
	    strlen(name) < QR_NAME_MAX;
}

/* Opens ROOT, made if missing, refused unless it is a directory only its owner (us) reads. */
static int
open_root(const char *root, int make, char err[QR_ERR_MAX])
{
	struct stat st;
	int fd;

	if (make && mkdir(root, 0700) < 0 && errno != EEXIST) {
		snprintf(err, QR_ERR_MAX, "cannot make the quarantine %s: %s", root,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot open the quarantine %s: %s", root,
		    errno == ENOENT ? "no purge has been made" : strerror(errno));
		return -1;
	}
	/* It holds every tenant's mail: no one else may read it, or put a purge in it. */
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, QR_ERR_MAX, "the quarantine %s must be a directory of uid %ld with"
		    " mode 0700", root, (long)geteuid());
		close(fd);
		errno = EPERM;
		return -1;
	}
	/* One purge, resume or restore at a time. */
	if (flock_bounded(fd, 10000) < 0) {
		snprintf(err, QR_ERR_MAX, "another qwrap purge or restore holds %s", root);
		close(fd);
		errno = EAGAIN;
		return -1;
	}
	return fd;
}

int
quarantine_begin(struct quarantine *qr, const char *root, const char *queue,
    const char *command, char err[QR_ERR_MAX])
{
	char real[PATH_MAX], line[LINE_MAX_BYTES];
	time_t now = time(NULL);
	struct jbuf b;
	int rootfd;

	memset(qr, 0, sizeof *qr);
	qr->dirfd = qr->manifest = qr->queuefd = -1;
	if (realpath(queue, real) == NULL ||
	    (qr->queuefd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot open the queue %s: %s", queue, strerror(errno));
		return -1;
	}
	if ((rootfd = open_root(root, 1, err)) < 0) {
		close(qr->queuefd);
		return -1;
	}
	strftime(qr->name, sizeof qr->name, "%Y%m%d-%H%M%S", localtime(&now));
	for (int i = 2; mkdirat(rootfd, qr->name, 0700) < 0; i++) {
		if (errno != EEXIST || i > 99) {
			snprintf(err, QR_ERR_MAX, "cannot make a purge directory in %s: %s", root,
			    strerror(errno));
			goto fail;
		}
		strftime(qr->name, sizeof qr->name, "%Y%m%d-%H%M%S", localtime(&now));
		snprintf(qr->name + strlen(qr->name), 8, "-%d", i);
	}
	jb_init(&b, line, sizeof line);
	jb_raw(&b, "{\"type\":\"purge\",\"version\":1,\"name\":");
	jb_cstr(&b, qr->name, 64);
	jb_raw(&b, ",\"time\":");
	jb_long(&b, (long)now);
	jb_raw(&b, ",\"queue\":");
	jb_cstr(&b, real, PATH_MAX * 2);
	jb_raw(&b, ",\"command\":");
	jb_raw(&b, command);
	jb_raw(&b, "}");
	if (b.overflow || b.truncated) {
		snprintf(err, QR_ERR_MAX, "the purge's command is too long to record");
		goto fail;
	}
	if ((qr->dirfd = openat(rootfd, qr->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 ||
	    (qr->manifest = openat(qr->dirfd, "manifest", O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    append_line(qr->manifest, line) < 0 || fsync(qr->manifest) < 0 ||
	    fsync(qr->dirfd) < 0 || fsync(rootfd) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot start the purge in %s/%s: %s", root, qr->name,
		    strerror(errno));
		goto fail;
	}
	/* The lock on ROOT is held through the purge. */
	qr->rootfd = rootfd;
	return 0;
fail:
	if (qr->manifest >= 0)
		close(qr->manifest);
	if (qr->dirfd >= 0)
		close(qr->dirfd);
	close(qr->queuefd);
	close(rootfd);
	return -1;
}

int
quarantine_move(struct quarantine *qr, const char *split, unsigned long id, const char *fields,
    char err[QR_ERR_MAX])
{
	char name[24], part[32], hex[65], line[LINE_MAX_BYTES];
	struct sha256 h;
	int fd, in, marker = 0, mess = 0;
	struct jbuf b;

	snprintf(name, sizeof name, "%lu", id);
	snprintf(part, sizeof part, "%lu.part", id);
	if (!numeric(split)) {
		snprintf(err, QR_ERR_MAX, "%lu: not a split directory's name: %s", id, split);
		return -1;
	}
	for (size_t i = 0; i < MARKERS; i++) {
		if ((in = open_queued(qr->queuefd, &kinds[i], split, name, err)) == -1)
			return -1;
		if (in >= 0)
			close(in);
		marker |= in >= 0;
	}
	if (!marker) {
		snprintf(err, QR_ERR_MAX, "%lu: not whole in the queue (qmail-queue is still"
		    " writing it, or it is gone)", id);
		return 0;
	}
	if (mkdirat(qr->dirfd, part, 0700) < 0 ||
	    (fd = openat(qr->dirfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot make %s/%s: %s", qr->name, part,
		    strerror(errno));
		return -1;
	}
	sha256_init(&h);
	for (size_t i = 0; i < NKINDS; i++) {
		int last = i == NKINDS - 1;

		if ((in = open_queued(qr->queuefd, &kinds[i], split, name, err)) == -1 ||
		    (in >= 0 && copy_one(in, fd, kinds[i].name, last ? &h : NULL, err) < 0))
			goto fail;
		mess = last && in >= 0;
	}
	if (!mess) {
		snprintf(err, QR_ERR_MAX, "%lu: gone from the queue", id);
		close(fd);
		remove_copy(qr->dirfd, part);
		return 0;
	}
	sha256_hex(&h, hex);
	jb_init(&b, line, sizeof line);
	jb_raw(&b, "{\"type\":\"moved\",\"id\":");
	jb_raw(&b, name);
	jb_raw(&b, ",\"split\":");
	jb_cstr(&b, split, 32);
	jb_raw(&b, ",\"sha256\":\"");
	jb_raw(&b, hex);
	jb_raw(&b, "\",");
	jb_raw(&b, fields);
	jb_raw(&b, "}");
	if (b.overflow) {
		snprintf(err, QR_ERR_MAX, "%lu: its manifest line is too long", id);
		goto fail;
	}
	{
		int e = openat(fd, "entry", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);

		if (e < 0 || append_line(e, line) < 0 || fsync(e) < 0 || close(e) < 0) {
			snprintf(err, QR_ERR_MAX, "cannot write %s/%s/entry: %s", qr->name, part,
			    strerror(errno));
			if (e >= 0)
				close(e);
			goto fail;
		}
	}
	if (fsync(fd) < 0 || renameat(qr->dirfd, part, qr->dirfd, name) < 0 ||
	    fsync(qr->dirfd) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot commit %s/%s: %s", qr->name, name,
		    strerror(errno));
		goto fail;
	}
	close(fd);
	/* Whole in the quarantine: now it leaves the queue. */
	if (remove_queued(qr->queuefd, split, id, err) < 0)
		return -1;
	if (append_line(qr->manifest, line) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot write %s/manifest: %s", qr->name,
		    strerror(errno));
		return -1;
	}
	qr->moved++;
	return 1;
fail:
	close(fd);
	remove_copy(qr->dirfd, part);
	return -1;
}

/* Makes the queue's removals durable, then the end line. */
static int
finish(int queuefd, int manifest, const char *summary, char err[QR_ERR_MAX])
{
	char line[512];

	snprintf(line, sizeof line, "{\"type\":\"end\",\"time\":%ld,%s}", (long)time(NULL),
	    summary);
	if (syncfs(queuefd) < 0 || fsync(manifest) < 0 || append_line(manifest, line) < 0 ||
	    fsync(manifest) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot end the purge: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
quarantine_end(struct quarantine *qr, int complete, const char *summary,
    char err[QR_ERR_MAX])
{
	int rc = complete ? finish(qr->queuefd, qr->manifest, summary, err) : 0;

	close(qr->manifest);
	close(qr->dirfd);
	close(qr->queuefd);
	close(qr->rootfd);
	return rc;
}

/* Reads FD's lines to FN (FD is closed); a last line without its newline is not given. */
static int
each_line(int fd, int (*fn)(const char *, size_t, void *), void *arg)
{
	FILE *f = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (f == NULL) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		rc = fn(line, (size_t)n - 1, arg);
	}
	/* A read error is not the end: nothing is cut off after one. */
	if (ferror(f))
		rc = -1;
	free(line);
	fclose(f);
	return rc;
}


/* Cuts FD (a manifest) after its last newline: what a crash left of a line is not a line. */
static int
cut_torn(int fd)
{
	char buf[4096];
	off_t end = lseek(fd, 0, SEEK_END), at = end;
	ssize_t n, i;

	while (at > 0) {
		size_t k = at > (off_t)sizeof buf ? sizeof buf : (size_t)at;

		if ((n = pread(fd, buf, k, at - (off_t)k)) != (ssize_t)k)
			return -1;
		for (i = n - 1; i >= 0 && buf[i] != '\n'; i--)
			;
		if (i >= 0)
			return at - (off_t)k + i + 1 == end ? 0 : ftruncate(fd, at - (off_t)k + i + 1);
		at -= (off_t)k;
	}
	return end == 0 ? 0 : ftruncate(fd, 0);
}

/* Opens purge NAME's manifest to append, its lines given to FN, a torn last line (a crash) cut off. */
static int
open_manifest(int dirfd, char err[QR_ERR_MAX], int (*fn)(const char *, size_t, void *),
    void *arg)
{
	int fd = openat(dirfd, "manifest", O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC), rfd;

	if (fd < 0 || (rfd = openat(dirfd, "manifest", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    each_line(rfd, fn, arg) < 0 || cut_torn(fd) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot read its manifest: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
quarantine_lock(const char *root, char err[QR_ERR_MAX])
{
	return open_root(root, 0, err);
}

int
quarantine_note(const char *root, const char *name, const char *line, char err[QR_ERR_MAX])
{
	char path[PATH_MAX + QR_NAME_MAX + 16];
	int fd;

	snprintf(path, sizeof path, "%s/%s/manifest", root, name);
	fd = quarantine_name_ok(name) ? open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC) : -1;
	if (fd < 0 || cut_torn(fd) < 0 || append_line(fd, line) < 0 || fsync(fd) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static int
by_id(const void *a, const void *b, void *arg)
{
	const unsigned long *ids = arg;
	unsigned long x = ids[*(const size_t *)a], y = ids[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

long
qr_index(const struct qr_manifest *m, unsigned long id)
{
	size_t lo = 0, hi = m->n;

	if (m->order == NULL) {
		for (size_t i = 0; i < m->n; i++)
			if (m->ids[i] == id)
				return (long)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->ids[m->order[mid]] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->ids[m->order[lo]] == id ? (long)m->order[lo] : -1;
}

/*
 * One manifest line into M.  Lines of a type or shape it does not know are
 * passed over (qwrap purge --list shows what it read).  Every moved line
 * comes before the end line, and every restore after it: the index by id is
 * made once, at the end line, so that a large purge reads in n log n.
 */
static int
manifest_line(const char *line, size_t n, void *arg)
{
	struct qr_manifest *m = arg;
	struct jr_object o;
	const struct jr_member *t, *v;
	char type[16];
	long id, k;

	if (jr_parse(line, n, &o) < 0 || (t = jr_get(&o, "type")) == NULL ||
	    jr_string(t->val, t->vallen, type, sizeof type) < 0)
		return 0;
	if (strcmp(type, "purge") == 0) {
		if ((v = jr_get(&o, "queue")) != NULL)
			jr_string(v->val, v->vallen, m->queue, sizeof m->queue);
		if ((v = jr_get(&o, "time")) != NULL)
			jr_long(v->val, v->vallen, &m->time);
		if ((v = jr_get(&o, "command")) != NULL && v->vallen < sizeof m->command)
			snprintf(m->command, sizeof m->command, "%.*s", (int)v->vallen, v->val);
		m->header = m->queue[0] != '\0';
	} else if (strcmp(type, "end") == 0) {
		if (!m->ended && m->n > 0) {
			if ((m->order = malloc(m->n * sizeof *m->order)) == NULL)
				return -1;
			for (size_t i = 0; i < m->n; i++)
				m->order[i] = i;
			qsort_r(m->order, m->n, sizeof *m->order, by_id, m->ids);
		}
		m->ended = 1;
	} else if ((v = jr_get(&o, "id")) == NULL || jr_long(v->val, v->vallen, &id) < 0) {
		return 0;
	} else if (strcmp(type, "moved") == 0 && !m->ended) {
		if (m->n == m->cap) {
			size_t cap = m->cap * 2 + 64;
			unsigned long *ids = realloc(m->ids, cap * sizeof *ids);
			unsigned char *state = ids == NULL ? NULL : realloc(m->state, cap);

			if (ids != NULL)
				m->ids = ids;
			if (state == NULL)
				return -1;
			m->state = state;
			m->cap = cap;
		}
		m->ids[m->n] = (unsigned long)id;
		m->state[m->n++] = QR_MOVED;
		m->moved++;
	} else if ((k = qr_index(m, (unsigned long)id)) < 0) {
		return 0;
	} else if (strcmp(type, "restoring") == 0) {
		m->state[k] = QR_RESTORING | (m->state[k] & QR_EVER);
	} else if (strcmp(type, "unrestored") == 0) {
		/* qmail-queue said it queued nothing: as it was before. */
		m->state[k] = (m->state[k] & QR_EVER) ? QR_RESTORED | QR_EVER : QR_MOVED;
	} else if (strcmp(type, "restored") == 0) {
		m->restored += !(m->state[k] & QR_EVER);
		m->state[k] = QR_RESTORED | QR_EVER;
	}
	return 0;
}

void
quarantine_manifest_free(struct qr_manifest *m)
{
	free(m->ids);
	free(m->state);
	free(m->order);
	m->ids = NULL;
	m->state = NULL;
	m->order = NULL;
}

int
quarantine_manifest(const char *root, const char *name, struct qr_manifest *m,
    char err[QR_ERR_MAX])
{
	char path[PATH_MAX + QR_NAME_MAX + 16];
	int fd;

	memset(m, 0, sizeof *m);
	snprintf(path, sizeof path, "%s/%s/manifest", root, name);
	if (!quarantine_name_ok(name) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, QR_ERR_MAX, "no purge %s in %s", name, root);
		return -1;
	}
	if (each_line(fd, manifest_line, m) < 0) {
		snprintf(err, QR_ERR_MAX, "cannot read %s", path);
		quarantine_manifest_free(m);
		return -1;
	}
	if (!m->header) {
		snprintf(err, QR_ERR_MAX, "purge %s has no manifest header", name);
		quarantine_manifest_free(m);
		return -1;
	}
	return 0;
}

/* Reads the entry of copy NAME: its line, split and checksum.  0, or -1. */
static int
read_entry(int dirfd, const char *name, char *line, size_t cap, char split[24], char hex[65])
{
	char path[64];
	struct jr_object o;
	const struct jr_member *v, *h;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/entry", name);
	if ((fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, line, cap - 1);
	close(fd);
	if (n <= 1 || line[n - 1] != '\n')
		return -1;
	line[--n] = '\0';
	if (jr_parse(line, (size_t)n, &o) < 0 || (v = jr_get(&o, "split")) == NULL ||
	    (h = jr_get(&o, "sha256")) == NULL || jr_string(v->val, v->vallen, split, 24) <= 0 ||
	    jr_string(h->val, h->vallen, hex, 65) != 64)
		return -1;
	return 0;
}

/* Directory DIRFD to read from its start, on a descriptor of its own; NULL with errno. */
static DIR *
opendir_at(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (d == NULL && fd >= 0)
		close(fd);
	return d;
}

/* The names in directory DIRFD, or -1. */
static long
entries(int dirfd)
{
	DIR *d = opendir_at(dirfd);
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Finishes purge NAME of ROOTFD if it stopped half way: 1 finished, 0 nothing to do, -1. */
static int
recover_one(int rootfd, const char *name, char err[QR_ERR_MAX])
{
	struct qr_manifest s = { 0 };
	int dirfd, fd = -1, qfd = -1, rc = -1;
	char line[LINE_MAX_BYTES], split[24], hex[65], qhex[65];
	long moved = 0;
	DIR *d;
	struct dirent *e;

	if ((dirfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if ((fd = open_manifest(dirfd, err, manifest_line, &s)) < 0) {
		/* Stopped before its manifest: nothing was moved yet. */
		if (faccessat(dirfd, "manifest", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT && unlinkat(rootfd, name, AT_REMOVEDIR) == 0)
			rc = 1;
		goto out;
	}
	if (s.ended) {
		rc = 0;
		goto out;
	}
	if (!s.header && entries(dirfd) == 1 && unlinkat(dirfd, "manifest", 0) == 0 &&
	    unlinkat(rootfd, name, AT_REMOVEDIR) == 0) {
		/* Stopped while writing its first line: nothing was moved yet. */
		rc = 1;
		goto out;
	}
	if (!s.header || (qfd = open(s.queue, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, QR_ERR_MAX, "purge %s stopped half way, and its queue is unknown or"
		    " gone: finish it by hand", name);
		goto out;
	}
	if ((d = opendir_at(dirfd)) == NULL) {
		snprintf(err, QR_ERR_MAX, "cannot read purge %s: %s", name, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		unsigned long id = strtoul(e->d_name, &end, 10);

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (strcmp(end, ".part") == 0) {
			/* Never whole: the queue still has all of it. */
			remove_copy(dirfd, e->d_name);
			continue;
		}
		if (*end != '\0')
			continue;
		if (read_entry(dirfd, e->d_name, line, sizeof line, split, hex) < 0) {
			snprintf(err, QR_ERR_MAX, "purge %s: the copy of %s has no entry: finish it"
			    " by hand", name, e->d_name);
			closedir(d);
			goto out;
		}
		/* Still in the queue, the same bytes: its removal had not finished. */
		{
			int m = numeric(split) ?
			    open_queued(qfd, &kinds[NKINDS - 1], split, e->d_name, err) : -1;

			if (m == -1) {
				closedir(d);
				goto out;
			}
			if (m >= 0 && sha256_fd(m, qhex) == 0 && strcmp(qhex, hex) == 0 &&
			    remove_queued(qfd, split, id, err) < 0) {
				close(m);
				closedir(d);
				goto out;
			}
			if (m >= 0)
				close(m);
		}
		if (qr_index(&s, id) < 0 && append_line(fd, line) < 0) {
			snprintf(err, QR_ERR_MAX, "cannot write purge %s's manifest: %s", name,
			    strerror(errno));
			closedir(d);
			goto out;
		}
		moved++;
	}
	closedir(d);
	snprintf(line, sizeof line, "\"moved\":%ld,\"resumed\":true", moved);
	if (finish(qfd, fd, line, err) == 0)
		rc = 1;
out:
	quarantine_manifest_free(&s);
	if (qfd >= 0)
		close(qfd);
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}

long
quarantine_recover(const char *root, char err[QR_ERR_MAX])
{
	int rootfd, rc;
	long done = 0;
	DIR *d;
	struct dirent *e;

	if ((rootfd = open_root(root, 0, err)) < 0)
		return errno == ENOENT ? 0 : -1;
	if ((d = opendir_at(rootfd)) == NULL) {
		snprintf(err, QR_ERR_MAX, "cannot read %s: %s", root, strerror(errno));
		close(rootfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((rc = recover_one(rootfd, e->d_name, err)) < 0) {
			done = -1;
			break;
		}
		done += rc;
	}
	closedir(d);
	close(rootfd);
	return done;
}
