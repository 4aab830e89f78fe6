/*
 * record.c: encode a capture record as one bounded JSON line.  Runs in the
 * set-gid wrapper; everything written comes through the escaping writer.
 */
#include "record.h"
#include "json.h"
#include "sha256.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

const char *const record_env_names[RECORD_ENV_MAX] = {
	"SCRIPT_FILENAME", "DOCUMENT_ROOT", "HTTP_HOST", "SERVER_NAME",
	"REMOTE_ADDR", "REQUEST_URI",
};

const char *const record_origin_kinds[RECORD_ORIGIN_KINDS] = {
	"web", "cron", "at", "ssh", "systemd", "console", "unknown",
};
const char *const record_origin_froms[RECORD_ORIGIN_FROMS] = {
	"ancestor", "own-ancestor", "tty", "cgroup", "none",
};
const char *const record_origin_info_froms[RECORD_ORIGIN_INFO_FROMS] = {
	"title", "env", "ancestor-env", "cgroup",
};

/* How much of each value survives; later steps are used when a record is too long. */
struct caps {
	size_t str;		/* any one string */
	size_t list;		/* elements of argv and rcpt */
	size_t item;		/* one element */
	int parents;
	size_t pargv;		/* bytes of each parent's argv (encode_pargv) */
};

static const struct caps steps[] = {
	{ RECORD_STR_CUT, RECORD_LIST_CUT, RECORD_ITEM_CUT, RECORD_MAX_PARENTS, RECORD_PARGV_CUT },
	{ 512, 16, 128, RECORD_MAX_PARENTS, 512 },
	{ 160, 8, 64, 2, 160 },
	{ 64, 4, 32, 1, 64 },	/* always fits: about 2.7 KiB at the very most */
};

/* A UTC calendar time. */
struct utc {
	long year;
	int mon, mday, hour, min, sec;
};

/*
 * Seconds since the epoch to UTC by arithmetic (Howard Hinnant's
 * days-from-civil, inverted), because gmtime_r lets glibc read TZ and
 * /etc/localtime first: neither has any business in a set-gid program.
 */
static struct utc
utc_of(time_t t)
{
	long days = (long)(t / 86400), secs = (long)(t % 86400), era, doe, yoe, doy, mp;
	struct utc u;

	if (secs < 0)
		secs += 86400, days--;
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	u.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	u.mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	u.year = yoe + era * 400 + (u.mon <= 2);
	u.hour = (int)(secs / 3600);
	u.min = (int)(secs / 60 % 60);
	u.sec = (int)(secs % 60);
	return u;
}

void
record_format_ts(const struct timespec *ts, char out[32])
{
	struct utc u = utc_of(ts->tv_sec);

	snprintf(out, 32, "%04ld-%02d-%02dT%02d:%02d:%02d.%03ldZ", u.year, u.mon,
	    u.mday, u.hour, u.min, u.sec, ts->tv_nsec / 1000000);
}

void
record_make_id(const struct timespec *ts, char id[RECORD_ID_LEN])
{
	unsigned long long rnd = 0;
	struct utc u = utc_of(ts->tv_sec);

	/* getrandom can only fail this early in boot; time and pid still separate ids. */
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
		rnd = ((unsigned long long)getpid() << 32) ^ (unsigned long long)ts->tv_nsec;
	snprintf(id, RECORD_ID_LEN, "%04ld%02d%02d%02d%02d%02d.%016llx", u.year,
	    u.mon, u.mday, u.hour, u.min, u.sec, rnd);
}

static void
key_str(struct jbuf *b, const char *k, const char *v, const struct caps *c)
{
	jb_key(b, k, 0);
	jb_cstr(b, v, c->str);
}

static void
key_strv(struct jbuf *b, const char *k, struct strv v, const struct caps *c)
{
	if (v.p == NULL)
		return;
	jb_key(b, k, 0);
	jb_str(b, v.p, v.n, c->str);
}

static void
key_long(struct jbuf *b, const char *k, long v)
{
	jb_key(b, k, 0);
	jb_long(b, v);
}

/*
 * A parent's NUL-separated argv as a list of at most CAP bytes: each word's
 * bytes as encoded, and one for each separator, as /proc/PID/cmdline counts
 * them.  A cut falls on a character boundary (jb_str) and ends the list; a
 * word that is left out, or cut, marks the record truncated.
 */
static void
encode_pargv(struct jbuf *b, const struct rec_parent *p, size_t cap)
{
	size_t off = 0, left = cap;

	jb_raw(b, "[");
	while (off < p->argvlen && !b->overflow) {
		size_t n = strnlen(p->argv + off, p->argvlen - off), before, mark = b->len;
		int earlier = b->truncated, cut;

		if (off > 0) {
			/* A separator and nothing of the word would be a word made up. */
			if (left == 0 || (left == 1 && n > 0)) {
				b->truncated = 1;
				break;
			}
			left--;
			jb_raw(b, ",");
		}
		before = b->len;
		b->truncated = 0;
		jb_str(b, p->argv + off, n, left);
		cut = b->truncated;
		b->truncated |= earlier;
		/* Not even its first character fitted (an escape, an emoji): no "" made up. */
		if (cut && !b->overflow && off > 0 && n > 0 && b->len - before == 2) {
			b->len = mark;
			b->p[mark] = '\0';
		}
		if (cut || b->overflow)
			break;
		left -= b->len - before - 2;	/* the quotes are not the word's */
		off += n + 1;
	}
	jb_raw(b, "]");
}

static void
encode_parents(struct jbuf *b, const struct record *r, const struct caps *c)
{
	jb_key(b, "parents", 0);
	jb_raw(b, "[");
	for (int i = 0; i < r->nparents; i++) {
		const struct rec_parent *p = &r->parents[i];

		if (i >= c->parents) {
			b->truncated = 1;
			break;
		}
		if (i > 0)
			jb_raw(b, ",");
		jb_raw(b, "{");
		jb_key(b, "pid", 1);
		jb_long(b, p->pid);
		key_long(b, "uid", p->uid);
		key_str(b, "exe", p->exe, c);
		jb_key(b, "argv", 0);
		encode_pargv(b, p, c->pargv);
		jb_raw(b, "}");
	}
	jb_raw(b, "]");
}

static void
encode(struct jbuf *b, const struct record *r, const struct caps *c)
{
	char ts[32];

	record_format_ts(&r->ts, ts);
	jb_raw(b, "{\"v\":1");
	key_str(b, "ts", ts, c);
	key_str(b, "id", r->id, c);
	key_str(b, "host", r->host, c);
	if (r->host_id != NULL)
		key_str(b, "host_id", r->host_id, c);
	key_str(b, "action", r->action, c);
	key_str(b, "mode", r->mode, c);
	key_long(b, "uid", r->uid);
	key_long(b, "gid", r->gid);
	key_long(b, "pid", r->pid);
	key_str(b, "cwd", r->cwd, c);
	key_str(b, "script", r->script, c);
	key_str(b, "script_from", r->script_from, c);
	if (r->script_unresolved)
		jb_raw(b, ",\"script_unresolved\":true");
	if (r->origin != NULL) {
		key_str(b, "origin", r->origin, c);
		key_str(b, "origin_from", r->origin_from, c);
	}
	if (r->origin_info != NULL) {
		key_str(b, "origin_info", r->origin_info, c);
		key_str(b, "origin_info_from", r->origin_info_from, c);
	}
	encode_parents(b, r, c);

	jb_key(b, "env", 0);
	jb_raw(b, "{");
	for (int i = 0; i < r->nenv; i++) {
		jb_key(b, r->env[i].name, i == 0);
		jb_cstr(b, r->env[i].value, c->str);
	}
	jb_raw(b, "}");

	jb_key(b, "argv", 0);
	jb_raw(b, "[");
	for (int i = 0; i < r->argc; i++) {
		if ((size_t)i == c->list) {
			b->truncated = 1;
			break;
		}
		if (i > 0)
			jb_raw(b, ",");
		jb_cstr(b, r->argv[i], c->item);
	}
	jb_raw(b, "]");

	key_str(b, "sender", r->sender, c);
	key_strv(b, "from", r->from, c);
	if (r->rcpt != NULL) {
		jb_key(b, "rcpt", 0);
		jb_raw(b, "[");
		for (size_t i = 0; i < r->nrcpt; i++) {
			if (i == c->list) {
				b->truncated = 1;
				break;
			}
			if (i > 0)
				jb_raw(b, ",");
			jb_str(b, r->rcpt[i].p, r->rcpt[i].n, c->item);
		}
		jb_raw(b, "]");
		key_long(b, "rcpt_count", r->rcpt_count);
	}
	key_strv(b, "subject", r->subject, c);
	key_strv(b, "message_id", r->message_id, c);
	key_strv(b, "php_script", r->php_script, c);
	if (r->forged_header > 0)
		key_long(b, "forged_header", r->forged_header);
	if (r->limit != NULL) {
		const struct rec_limit *l = r->limit;

		jb_key(b, "limit", 0);
		jb_raw(b, "{");
		jb_key(b, "rule", 1);
		jb_long(b, l->rule);
		key_str(b, "per", l->per, c);
		key_str(b, "count", l->count, c);
		key_str(b, "action", l->action, c);
		key_str(b, "key", l->key, c);
		key_long(b, "counted", l->counted);
		key_long(b, "max", l->max);
		key_long(b, "window", l->window);
		jb_raw(b, "}");
	}
	if (r->freeze != NULL) {
		jb_key(b, "freeze", 0);
		jb_raw(b, "{");
		jb_key(b, "id", 1);
		jb_long(b, r->freeze->id);
		key_str(b, "by", r->freeze->by, c);
		key_str(b, "name", r->freeze->name, c);
		key_str(b, "value", r->freeze->value, c);
		key_str(b, "action", r->freeze->action, c);
		jb_raw(b, "}");
	}
	if (r->held_id != NULL)
		key_str(b, "held_id", r->held_id, c);
	if (r->error != NULL)
		key_str(b, "error", r->error, c);
	if (b->truncated || r->truncated)
		jb_raw(b, ",\"truncated\":true");
	jb_raw(b, "}\n");
}

size_t
record_encode(const struct record *r, char *out)
{
	struct jbuf b;

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		jb_init(&b, out, RECORD_MAX + 1);
		encode(&b, r, &steps[i]);
		if (!b.overflow)
			return b.len;
	}
	/* Unreachable with the last step's caps; an empty line would be worse than this. */
	jb_init(&b, out, RECORD_MAX + 1);
	jb_raw(&b, "{\"v\":1,\"error\":\"record too long\",\"truncated\":true}\n");
	return b.len;
}

int
record_host_id(const char *machine_id, char out[33])
{
	static const char salt[] = "qwrap host id\n";
	char id[64], hex[65];
	struct sha256 h;
	ssize_t n;
	int fd = open(machine_id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	n = read(fd, id, sizeof id);
	close(fd);
	/* 32 lowercase hex digits and a newline, as machine-id(5) has it. */
	if (n != 33 || id[32] != '\n' || strspn(id, "0123456789abcdef") != 32)
		return -1;
	sha256_init(&h);
	sha256_update(&h, salt, sizeof salt - 1);
	sha256_update(&h, id, 33);
	sha256_hex(&h, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
	return 0;
}
