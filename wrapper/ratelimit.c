/*
 * ratelimit.c: per count and key, a file "limit-RULE-KEY" in state_dir.  The
 * count is what a rule's per, count and window say (RULE hashes them), not
 * its max or action: editing those keeps the counts, and rules that differ
 * only in them share one file.  A file holds a 512-byte head (magic, the
 * largest max it grew for, the window, when it last warned and for which
 * action, the key for the admin's eyes, a checksum) and a ring of slots,
 * one per counted send (time in ms, count, checksum), appended as first
 * needed up to the largest max of the rules that share it.  A send is allowed when the counts of the
 * slots inside the window plus its own stay within a rule's max; since each
 * slot holds at least 1, an allowed send always finds a slot outside the
 * window to reuse, so the count is exact.  Each slot is one 16-byte
 * pwrite(2): a sender killed mid-update leaves the old slot or the new one.
 *
 * The files of counts no rule keeps any more are removed when the rules
 * change, once nothing was counted in them for their window
 * (ratelimit_sweep).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iofull.h"
#include "ratelimit.h"
#include "sha256.h"

#define HEAD_SIZE 512
#define KEY_ROOM  (HEAD_SIZE - 40)
#define SLOT_SIZE 16
#define MAGIC     "qwrlim1\n"
#define CHUNK     4096
#define RULE_HEX  16	/* hex digits of a count's hash in a file's name */
#define KEY_HEX   40	/* of the key's */
#define NAME_MAX_ 72	/* "limit-" RULE "-" KEY, NUL */
#define STAMP     "rules-"	/* "rules-" and the hash of every rule's count: swept for */
#define SWEEP_NEVER (400LL * 86400)	/* s: a stamp's time when no file waits to go idle */
#define WARN_LOG  1	/* a log rule fired; a hold or reject rule of the same count warns again */
#define WARN_STOP 2

struct head {
	char magic[8];
	int64_t max, window, warned_ms;
	uint32_t warned_level;	/* of that warning: WARN_LOG or WARN_STOP */
	uint32_t check;
	char key[KEY_ROOM];
};

struct slot {
	int64_t ts_ms;
	uint32_t n, check;
};

_Static_assert(sizeof(struct head) == HEAD_SIZE, "head size");
_Static_assert(sizeof(struct slot) == SLOT_SIZE, "slot size");

/* What one rule's file says about this message. */
struct ruleio {
	int fd;
	int fresh;		/* empty, or corrupt long enough ago: rewritten on use */
	int skipped;		/* could not be opened: the rule is not applied (on_error) */
	int unusable;		/* corrupt or busy: counts as reached, never written */
	long long sum;		/* counted inside the window */
	long free_slot;		/* where this send goes */
	struct head head;
};

static uint32_t
fnv(const void *p, size_t n, uint32_t h)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

static uint32_t
head_check(const struct head *h)
{
	return fnv(h, offsetof(struct head, check), 2166136261u) ^
	    fnv(h->key, sizeof h->key, 2166136261u);
}

static uint32_t
slot_check(long idx, const struct slot *s)
{
	uint32_t h = fnv(&idx, sizeof idx, 2166136261u);

	return fnv(s, offsetof(struct slot, check), h) ^ 0x9e3779b9u;
}

/* The key as people see it (record, stderr, syslog): control characters as '?'. */
static void
make_key(const struct conf_limit *r, long uid, const char *script, const char *cwd,
    char *out, size_t cap)
{
	switch (r->per) {
	case LIMIT_PER_SCRIPT:
		snprintf(out, cap, "script:%ld:%s", uid, script ? script : "?");
		break;
	case LIMIT_PER_CWD:
		snprintf(out, cap, "cwd:%ld:%s", uid, cwd ? cwd : "?");
		break;
	default:
		snprintf(out, cap, "uid:%ld", uid);
	}
	for (; *out; out++)
		if ((unsigned char)*out < 0x20 || *out == 0x7f)
			*out = '?';
}

/* What a rule counts, as text: per, count and window; neither max nor action. */
static void
count_of(const struct conf_limit *r, char out[64])
{
	snprintf(out, 64, "%d:%d:%ld:", (int)r->per, (int)r->count, r->window);
}

/* The hash of what R counts, RULE_HEX digits: the part of a file's name the sweep reads. */
static void
rule_hex(const struct conf_limit *r, char out[RULE_HEX + 1])
{
	static const char salt[] = "qwrap limit count\n";
	char what[64], hex[65];
	struct sha256 s;

	count_of(r, what);
	sha256_init(&s);
	sha256_update(&s, salt, sizeof salt - 1);
	sha256_update(&s, what, strlen(what));
	sha256_hex(&s, hex);
	memcpy(out, hex, RULE_HEX);
	out[RULE_HEX] = '\0';
}

/*
 * The file's name: what the rule counts, then a hash of that and the whole
 * key, so no path of the caller's is used.
 */
static void
file_name(const struct conf_limit *r, long uid, const char *script, const char *cwd,
    char out[NAME_MAX_])
{
	char what[96], rule[RULE_HEX + 1], hex[65];
	const char *path = r->per == LIMIT_PER_SCRIPT ? script : r->per == LIMIT_PER_CWD ? cwd : "";
	struct sha256 s;

	count_of(r, what);
	snprintf(what + strlen(what), sizeof what - strlen(what), "%ld:", uid);
	sha256_init(&s);
	sha256_update(&s, what, strlen(what));
	if (path != NULL)
		sha256_update(&s, path, strlen(path) + 1);
	sha256_hex(&s, hex);
	rule_hex(r, rule);
	snprintf(out, NAME_MAX_, "limit-%s-%.40s", rule, hex);
}

/*
 * Reads the ring of IO, SIZE bytes of file; slots past its end are empty
 * (they are written as they are first used), and the ring grows up to CAP,
 * the largest max of the rules that count here (a ring that grew for a
 * larger max before is read whole, up to the largest max there may be).
 * 0, or -1 when the file is not what it should be.
 */
static int
scan(struct ruleio *io, const struct conf_limit *r, long cap, off_t size, long long now_ms)
{
	static struct slot chunk[CHUNK / SLOT_SIZE];
	long long oldest = -1, edge = now_ms - (long long)r->window * 1000;
	long idx = 0, oldest_idx = 0, have = (long)((size - HEAD_SIZE) / SLOT_SIZE);

	if (size < HEAD_SIZE || (size - HEAD_SIZE) % SLOT_SIZE != 0 || have > CONF_LIMIT_MAX ||
	    pread(io->fd, &io->head, sizeof io->head, 0) != (ssize_t)sizeof io->head ||
	    memcmp(io->head.magic, MAGIC, 8) != 0 ||
	    io->head.window != r->window || io->head.check != head_check(&io->head))
		return -1;
	io->free_slot = have < cap ? have : -1;
	while (idx < have) {
		long want = have - idx < (long)(CHUNK / SLOT_SIZE) ? have - idx :
		    (long)(CHUNK / SLOT_SIZE);
		ssize_t got = pread(io->fd, chunk, (size_t)want * SLOT_SIZE,
		    HEAD_SIZE + (off_t)idx * SLOT_SIZE);

		if (got != (ssize_t)want * SLOT_SIZE)
			return -1;
		for (long i = 0; i < want; i++, idx++) {
			const struct slot *s = &chunk[i];

			if (s->check != slot_check(idx, s))
				return -1;
			if (s->ts_ms <= edge) {
				if (io->free_slot < 0 || io->free_slot > idx)
					io->free_slot = idx;
				continue;
			}
			/* Inside the window, future stamps included (a clock set back). */
			io->sum += s->n;
			if (oldest < 0 || s->ts_ms < oldest) {
				oldest = s->ts_ms;
				oldest_idx = idx;
			}
		}
	}
	/* Full of the window: only a "log" rule lets more through; it forgets the oldest. */
	if (io->free_slot < 0)
		io->free_slot = oldest_idx;
	return 0;
}

static void
fill_head(struct head *h, const struct conf_limit *r, long cap, const char *key,
    long long warned_ms, uint32_t level)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, MAGIC, 8);
	h->max = cap;
	h->window = r->window;
	h->warned_ms = warned_ms;
	h->warned_level = level;
	snprintf(h->key, sizeof h->key, "%s", key);
	h->check = head_check(h);
}

/*
 * A new state file comes into being whole: its head is written to a file of
 * its own, which is then linked to PATH (link(2) never replaces a file: when
 * two first sends of a key race, the second uses the first's).  So an empty
 * or short state file is never a new one: it was cut, and counts as corrupt
 * (as reached, until a window after its last change), never as a reset.
 * 0; -1 when no file can be made in DIR (the admin's to mend); -2 when one
 * was made but could not be written or linked (a file size limit or a full
 * disk, which a caller can cause).  errno says why.
 */
static int
create_whole(const char *dir, const char *path, const struct conf_limit *r, long cap, long uid,
    const char *script, const char *cwd)
{
	char tmp[PATH_MAX], key[RL_KEY_MAX];
	struct head h;
	int fd = -1, rc, e;

	for (int i = 0; fd < 0 && i < 3; i++) {
		snprintf(tmp, sizeof tmp, "%s/.new-%ld-%lld-%d", dir, (long)getpid(), clock_ms(), i);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0660);
	}
	if (fd < 0)
		return -1;
	make_key(r, uid, script, cwd, key, sizeof key);
	fill_head(&h, r, cap, key, 0, 0);
	errno = EFBIG;	/* a short write sets none: a file size limit */
	rc = pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -2;
	close(fd);
	if (rc == 0 && link(tmp, path) < 0 && errno != EEXIST)
		rc = -2;
	e = errno;
	unlink(tmp);
	errno = e;
	return rc;
}

/*
 * Opens PATH (creating it whole) and locks it, within RL_WAIT_MS in all.  A file
 * removed meanwhile (an admin resetting a key) is opened anew, so that no
 * count goes into a file nobody will read again.  0, or -1 with ERR set and
 * IO marked skipped or unusable.
 */
static int
open_locked(const char *dir, const char *path, const char *name, const struct conf_limit *r,
    long cap, long uid, const char *script, const char *cwd, struct ruleio *io, struct stat *st,
    char err[RL_ERR_MAX])
{
	long long end = clock_ms() + RL_WAIT_MS;

	for (int tries = 0;; tries++) {
		long long left = end - clock_ms();
		int made = 0;

		io->fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (io->fd < 0 && errno == ENOENT && (made = create_whole(dir, path, r, cap, uid, script, cwd)) == 0)
			io->fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (io->fd < 0) {
			int e = errno;

			snprintf(err, RL_ERR_MAX, "limit state %s: %s", path, strerror(e));
			/*
			 * Out of descriptors or space, or a new file that could not be
			 * written, is what a caller can cause: reached.  A missing or
			 * unwritable state_dir is the admin's: on_error decides.
			 */
			if (made == -2 || e == EMFILE || e == ENFILE || e == ENOSPC || e == EDQUOT)
				io->unusable = 1;
			else
				io->skipped = 1;
			return -1;
		}
		/* A bounded wait: a stopped or slow sender holds up only its own key. */
		if (flock_bounded(io->fd, left > 0 ? (int)left : 0) < 0) {
			if (errno == ETIMEDOUT)
				snprintf(err, RL_ERR_MAX, "limit state %s is held by another sender for"
				    " over %d ms; counted as reached", name, RL_WAIT_MS);
			else
				snprintf(err, RL_ERR_MAX, "cannot lock limit state %s: %s", name,
				    strerror(errno));
			io->unusable = 1;
			return -1;
		}
		if (fstat(io->fd, st) < 0 || !S_ISREG(st->st_mode)) {
			snprintf(err, RL_ERR_MAX, "limit state %s is not a regular file", name);
			io->unusable = 1;
			return -1;
		}
		if (st->st_nlink > 0)
			return 0;
		/* Removed under us each time (sweeps): never count into a file nobody reads. */
		if (tries == 2) {
			snprintf(err, RL_ERR_MAX, "limit state %s was removed while it was opened,"
			    " three times; counted as reached", name);
			io->unusable = 1;
			return -1;
		}
		close(io->fd);
	}
}

static void
open_rule(const char *dir, const struct conf_limit *r, long cap, const char *name, long uid,
    const char *script, const char *cwd, long long now_ms, struct ruleio *io,
    char err[RL_ERR_MAX])
{
	char path[PATH_MAX];
	struct stat st;

	memset(io, 0, sizeof *io);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (open_locked(dir, path, name, r, cap, uid, script, cwd, io, &st, err) < 0)
		return;
	/* A file is born whole (create_whole): empty or short, it was cut, which never resets. */
	if (scan(io, r, cap, st.st_size, now_ms) == 0)
		return;
	/* Corrupt: the limit counts as reached until a whole window has passed. */
	if ((long long)st.st_mtim.tv_sec * 1000 + (long long)r->window * 1000 <= now_ms) {
		io->fresh = 1;
		io->sum = 0;
		return;
	}
	snprintf(err, RL_ERR_MAX, "limit state %s is corrupt; counted as reached until %lds after"
	    " its last change", name, r->window);
	io->unusable = 1;
}

static int
write_head(struct ruleio *io, const struct conf_limit *r, long cap, const char *key,
    long long warned_ms, uint32_t level)
{
	fill_head(&io->head, r, cap, key, warned_ms, level);
	return pwrite(io->fd, &io->head, sizeof io->head, 0) == (ssize_t)sizeof io->head ? 0 : -1;
}

/*
 * A file corrupt a whole window ago starts again as its head alone: the head
 * first, then the old slots cut off, so that a sender killed between leaves
 * a whole head and old slots (counted: never fewer than there were).
 */
static int
init_file(struct ruleio *io, const struct conf_limit *r, long cap, const char *key)
{
	if (write_head(io, r, cap, key, 0, 0) < 0 || ftruncate(io->fd, HEAD_SIZE) < 0)
		return -1;
	io->free_slot = 0;
	io->fresh = 0;
	return 0;
}

static int
count_send(struct ruleio *io, const struct conf_limit *r, long cap, const char *key, long n,
    long long now_ms)
{
	struct slot s = { now_ms, (uint32_t)n, 0 };

	if (io->fresh && init_file(io, r, cap, key) < 0)
		return -1;
	s.check = slot_check(io->free_slot, &s);
	return pwrite(io->fd, &s, sizeof s, HEAD_SIZE + (off_t)io->free_slot * SLOT_SIZE) ==
	    (ssize_t)sizeof s ? 0 : -1;
}

int
ratelimit_check(const char *state_dir, const struct conf *c, long uid, const char *script,
    const char *cwd, long recipients, long long now_ms, struct rl_verdict *v)
{
	static struct ruleio io[CONF_MAX_LIMITS];
	static char names[CONF_MAX_LIMITS][NAME_MAX_];
	char key[RL_KEY_MAX], err[RL_ERR_MAX];
	int deliver = 1, r = 0, owner[CONF_MAX_LIMITS];
	long cap[CONF_MAX_LIMITS];

	memset(v, 0, sizeof *v);
	v->rule = -1;
	/*
	 * Rules that count the same (per, count, window) share a file: the first
	 * of them opens it, once (a second flock of it would wait for the first),
	 * and it may grow for the largest max among them.
	 */
	for (int i = 0; i < c->nlimits; i++) {
		file_name(&c->limits[i], uid, script, cwd, names[i]);
		owner[i] = i;
		cap[i] = c->limits[i].max;
		for (int j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0) {
				owner[i] = j;
				if (cap[j] < c->limits[i].max)
					cap[j] = c->limits[i].max;
				break;
			}
	}
	for (int i = 0; i < c->nlimits; i++) {
		io[i].fd = -1;
		if (owner[i] != i)
			continue;
		err[0] = '\0';
		open_rule(state_dir, &c->limits[i], cap[i], names[i], uid, script, cwd, now_ms, &io[i],
		    err);
		if (err[0] && v->error[0] == '\0')
			snprintf(v->error, sizeof v->error, "%s", err);
		if (io[i].skipped)
			r = -1;
	}
	for (int i = 0; i < c->nlimits; i++) {
		const struct conf_limit *l = &c->limits[i];
		const struct ruleio *f = &io[owner[i]];
		long n = l->count == LIMIT_COUNT_RECIPIENTS ? (recipients > 0 ? recipients : 1) : 1;

		if (f->skipped || (!f->unusable && f->sum + n <= l->max))
			continue;
		if (l->action != LIMIT_LOG)
			deliver = 0;
		/* The verdict names the first hold or reject rule, else the first log rule. */
		if (v->rule < 0 || (v->action == LIMIT_LOG && l->action != LIMIT_LOG)) {
			v->rule = i;
			v->action = l->action;
			v->count = (long)f->sum;
			make_key(l, uid, script, cwd, v->key, sizeof v->key);
		}
	}
	for (int i = 0; i < c->nlimits; i++) {
		const struct conf_limit *l = &c->limits[i];
		long n = l->count == LIMIT_COUNT_RECIPIENTS ? (recipients > 0 ? recipients : 1) : 1;
		uint32_t level;

		if (owner[i] != i || io[i].fd < 0)
			continue;
		make_key(l, uid, script, cwd, key, sizeof key);
		/* A send that cannot be counted (a file size limit, a full disk) is not let through. */
		if (!io[i].unusable && deliver && count_send(&io[i], l, cap[i], key, n, now_ms) < 0) {
			if (v->error[0] == '\0')
				snprintf(v->error, sizeof v->error, "cannot count in the limit state: %s;"
				    " counted as reached", strerror(errno));
			if (v->rule < 0 || v->action == LIMIT_LOG) {
				v->rule = i;
				v->action = l->action;
				v->count = (long)io[i].sum;
				snprintf(v->key, sizeof v->key, "%s", key);
			}
		}
		/*
		 * One warning per key and window, when a rule counted here first
		 * fires; a hold or reject after a log rule's warning warns again.
		 */
		level = v->action == LIMIT_LOG ? WARN_LOG : WARN_STOP;
		if (v->rule >= 0 && owner[v->rule] == i && !io[i].unusable && (io[i].fresh ||
		    io[i].head.warned_ms <= now_ms - (long long)l->window * 1000 ||
		    io[i].head.warned_level < level)) {
			v->warn = 1;
			if ((io[i].fresh && init_file(&io[i], l, cap[i], key) < 0) ||
			    write_head(&io[i], l, cap[i], key, now_ms, level) < 0)
				r = -1;
		}
		close(io[i].fd);
		io[i].fd = -1;
	}
	if (r < 0 && v->error[0] == '\0')
		snprintf(v->error, sizeof v->error, "cannot update the limit state in %s: %s",
		    state_dir, strerror(errno));
	return r;
}

/* NAME is "limit-" and RULE_HEX then KEY_HEX lower-case hex digits; *RULE, its RULE part. */
static int
limit_file(const char *name, const char **rule)
{
	const char *p = name + 6;

	if (strncmp(name, "limit-", 6) != 0)
		return 0;
	*rule = p;
	/* The older name, "limit-" and 40 digits, hashed the whole rule: no rule counts there now. */
	if (strlen(p) == KEY_HEX && strspn(p, "0123456789abcdef") == KEY_HEX) {
		*rule = NULL;
		return 1;
	}
	return strlen(p) == RULE_HEX + 1 + KEY_HEX &&
	    strspn(p, "0123456789abcdef") == RULE_HEX && p[RULE_HEX] == '-' &&
	    strspn(p + RULE_HEX + 1, "0123456789abcdef") == KEY_HEX;
}

/* STAMP and 16 lower-case hex digits. */
static int
stamp_file(const char *name)
{
	size_t n = sizeof STAMP - 1;

	return strncmp(name, STAMP, n) == 0 && strlen(name + n) == 16 &&
	    strspn(name + n, "0123456789abcdef") == 16;
}

/*
 * The time (s) at which the file NAME will have had no send for its whole
 * window: its last change plus its head's window, or plus the longest
 * window a rule may have when the head cannot be read; 0 for what is not a
 * file (a link: never a count).  Read without its lock, changing nothing.
 * A keeper whose config is older than the rules (a stopped one, resumed)
 * takes a new rule's files for unused: this keeps it from removing any
 * that still counts.
 */
static long long
idle_at(int dfd, const char *name)
{
	struct head h;
	struct stat st;
	long long window = 366LL * 86400, at = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && memcmp(h.magic, MAGIC, 8) == 0 &&
		    h.check == head_check(&h) && h.window > 0 && h.window < window)
			window = h.window;
		at = (long long)st.st_mtime + window + 1;
	}
	close(fd);
	return at;
}

int
ratelimit_sweep(const char *state_dir, const struct conf *c, int *removed)
{
	static const char salt[] = "qwrap limit rules\n";
	char rules[CONF_MAX_LIMITS][RULE_HEX + 1], stamp[sizeof STAMP + 16], hex[65];
	char path[PATH_MAX + sizeof stamp];
	struct sha256 s;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, fd, made;
	long long now = (long long)time(NULL), due = now + SWEEP_NEVER;
	struct timespec when[2] = { { 0, 0 }, { 0, 0 } };

	*removed = 0;
	sha256_init(&s);
	sha256_update(&s, salt, sizeof salt - 1);
	for (int i = 0; i < c->nlimits; i++) {
		rule_hex(&c->limits[i], rules[i]);
		sha256_update(&s, rules[i], RULE_HEX + 1);
	}
	sha256_hex(&s, hex);
	snprintf(stamp, sizeof stamp, "%s%.16s", STAMP, hex);

	/*
	 * The rules are the ones swept for last, and no file left then has
	 * become idle since (the stamp's time says when one will): nothing to
	 * do, at the cost of one look.
	 */
	snprintf(path, sizeof path, "%s/%s", state_dir, stamp);
	if (lstat(path, &st) == 0 && st.st_mtime > now)
		return 0;
	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		close(dfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		const char *rule = NULL;
		int limit = limit_file(e->d_name, &rule), used = 0;

		/* Only qwrap's own names: the install directory, new files being made, stay. */
		if (!limit && (!stamp_file(e->d_name) || strcmp(e->d_name, stamp) == 0))
			continue;
		long long at;

		for (int i = 0; rule != NULL && i < c->nlimits && !used; i++)
			used = strncmp(rule, rules[i], RULE_HEX) == 0;
		if (used)
			continue;
		/* One still counting waits for the next sweep, when it will be idle. */
		if (limit && (at = idle_at(dfd, e->d_name)) > now) {
			due = at < due ? at : due;
			continue;
		}
		/* The entry itself, never what a link names; a directory is refused. */
		if (unlinkat(dfd, e->d_name, 0) == 0 && limit)
			(*removed)++;
	}
	closedir(d);
	/*
	 * Last, so that a sweep cut short is done again by the next sender; its
	 * time is when the next is due (a file left above goes idle).
	 */
	fd = openat(dfd, stamp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0660);
	when[0].tv_sec = when[1].tv_sec = (time_t)due;
	made = fd >= 0 && futimens(fd, when) == 0;
	if (fd >= 0)
		close(fd);
	close(dfd);
	return made ? 0 : -1;
}

struct rec_limit
rl_fired(const struct conf *c, const struct rl_verdict *v)
{
	const struct conf_limit *l = &c->limits[v->rule];

	return (struct rec_limit){ v->rule + 1, conf_limit_pers[l->per], conf_limit_counts[l->count],
	    conf_limit_actions[l->action], v->key, v->count, l->max, l->window };
}
