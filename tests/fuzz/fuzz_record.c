/* fuzz_record.c: libFuzzer harness for record_encode and the JSON writer it uses (common/record.c, common/json.c). */
/*
 * Every string of the record comes from a slice of the input: a length byte
 * (low 7 bits; with the high bit set the slice is repeated 1..64 times, so
 * long values are cheap to reach) and that many bytes.  Each string gets its
 * own allocation of exactly its size, so a read past a value is reported.
 * The line is parsed back with json-c (strict, UTF-8 validated) and every
 * value compared with what was given: equal when "truncated" is absent, a
 * prefix cut at a character boundary when it is present.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "record.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_record: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

#define MAX_ARGC 100
#define MAX_RCPT 320
#define MAX_ALLOCS (8 * 1024)

static const char *const env_names[] = {
	"SCRIPT_FILENAME", "DOCUMENT_ROOT", "HTTP_HOST", "SERVER_NAME", "REMOTE_ADDR", "REQUEST_URI",
};
static const char *const actions[] = { "deliver", "hold", "reject", "passthrough", "release", "discard" };
static const char *const modes[] = { "message", "smtp", "queue-list", "other" };
static const char *const sources[] = { "fpm-status", "fd", "cgi-environ", "env", "prepend", "shell-fd", "argv", "argv-module", "php-header", "none" };

/* ---- input reader and the allocations of one run ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static void *allocs[MAX_ALLOCS];
static size_t nallocs;

static void *
alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	CHECK(p != NULL && nallocs < MAX_ALLOCS);
	allocs[nallocs++] = p;
	return p;
}

static unsigned
u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint64_t
u64(struct rd *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | u8(r);
	return v;
}

/* A byte string that may hold NUL bytes: its own allocation of exactly N bytes. */
static struct strv
slice(struct rd *r)
{
	unsigned b = u8(r), rep = 1;
	size_t len = b & 0x7f, n;
	char *p;

	if (b & 0x80)
		rep = 1 + u8(r) % 64;
	if (len > r->n)
		len = r->n;
	n = len * rep;
	p = alloc(n);
	for (unsigned i = 0; i < rep; i++)
		memcpy(p + i * len, r->p, len);
	r->p += len, r->n -= len;
	return (struct strv){ p, n };
}

/* A C string: a slice cut at its first NUL, in an allocation of exactly its size. */
static const char *
cstr(struct rd *r)
{
	struct strv v = slice(r);
	size_t n = strnlen(v.p, v.n);
	char *s = alloc(n + 1);

	memcpy(s, v.p, n);
	s[n] = '\0';
	return s;
}

/* ---- what a string should decode to ---- */

/* Length of a valid UTF-8 sequence at S (RFC 3629 §4), 0 if there is none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/*
 * The decoded JSON string the writer promises for S[0..N): valid UTF-8 as
 * it is (control bytes and all, as escapes), each other byte as the four
 * characters \xNN.  BOUNDARY[k] is 1 where a cut may fall.
 */
static char expbuf[8192 * 4 + 8];
static unsigned char boundary[8192 * 4 + 8];

static size_t
expected(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0, step;

	boundary[0] = 1;
	while (i < n) {
		if ((step = utf8_seq(u + i, n - i)) > 0) {
			memcpy(expbuf + k, s + i, step);
			for (size_t j = 1; j < step; j++)
				boundary[k + j] = 0;
			k += step;
			i += step;
		} else {
			snprintf(expbuf + k, 5, "\\x%02x", u[i]);
			memset(boundary + k + 1, 0, 3);
			k += 4;
			i++;
		}
		boundary[k] = 1;
	}
	return k;
}

/* J is the JSON string for S[0..N): all of it, or (TRUNCATED) a prefix at a boundary. */
static void
check_string(struct json_object *j, const char *s, size_t n, int truncated)
{
	size_t k = expected(s, n), got;
	const char *g;

	CHECK(j != NULL && json_object_is_type(j, json_type_string));
	g = json_object_get_string(j);
	got = (size_t)json_object_get_string_len(j);
	if (truncated) {
		CHECK(got <= k && boundary[got]);
		CHECK(memcmp(g, expbuf, got) == 0);
	} else
		CHECK(got == k && memcmp(g, expbuf, k) == 0);
}

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *j = NULL;

	return json_object_object_get_ex(o, key, &j) ? j : NULL;
}

/* "key": "value" for a C string; "key": null when it is NULL. */
static void
check_cstr(struct json_object *o, const char *key, const char *s, int truncated)
{
	struct json_object *j;

	CHECK(json_object_object_get_ex(o, key, &j));
	if (s == NULL)
		CHECK(j == NULL);
	else
		check_string(j, s, strlen(s), truncated);
}

/* "key": "value" for a byte string; absent when it is absent. */
static int
check_strv(struct json_object *o, const char *key, struct strv v, int truncated)
{
	struct json_object *j = member(o, key);

	if (v.p == NULL) {
		CHECK(j == NULL && !json_object_object_get_ex(o, key, NULL));
		return 0;
	}
	check_string(j, v.p, v.n, truncated);
	return 1;
}

static void
check_long(struct json_object *o, const char *key, long want)
{
	struct json_object *j = member(o, key);

	CHECK(j != NULL && json_object_is_type(j, json_type_int));
	CHECK(json_object_get_int64(j) == (int64_t)want);
}

/* An array of at most N elements (exactly N unless TRUNCATED); returns its length. */
static size_t
check_array(struct json_object *a, size_t n, int truncated)
{
	size_t len;

	CHECK(a != NULL && json_object_is_type(a, json_type_array));
	len = json_object_array_length(a);
	CHECK(truncated ? len <= n : len == n);
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *out;
	static struct rec_parent parents[RECORD_MAX_PARENTS];
	static struct rec_env env[6];
	static struct strv rcpt[MAX_RCPT];
	struct rd rd = { data, size }, *r = &rd;
	struct record rec;
	struct json_object *o, *j, *a;
	struct json_tokener *tok;
	char id[RECORD_ID_LEN], ts[64];
	char **argv;
	unsigned f1, f2;
	size_t len, nkeys;
	int truncated;
	struct tm tm;

	if (out == NULL)
		out = malloc(RECORD_MAX + 1);	/* exactly what record_encode may use */
	CHECK(out != NULL);
	nallocs = 0;
	memset(&rec, 0, sizeof rec);

	f1 = u8(r);
	f2 = u8(r);
	rec.ts.tv_sec = (time_t)(u64(r) % 253402300800ULL);	/* up to 9999-12-31 */
	rec.ts.tv_nsec = (long)(u64(r) % 1000000000ULL);
	record_make_id(&rec.ts, id);
	rec.id = id;
	rec.action = actions[u8(r) % 6];
	rec.mode = modes[u8(r) % 4];
	rec.script_from = sources[u8(r) % (sizeof sources / sizeof sources[0])];
	rec.uid = (long)u64(r);
	rec.gid = (long)u64(r);
	rec.pid = (long)u64(r);
	rec.host = cstr(r);
	rec.cwd = (f1 & 1) ? NULL : cstr(r);
	rec.script = (f1 & 2) ? NULL : cstr(r);
	rec.sender = (f1 & 4) ? NULL : cstr(r);
	rec.error = (f1 & 8) ? NULL : cstr(r);
	rec.from = (f1 & 0x10) ? (struct strv){ NULL, 0 } : slice(r);
	rec.subject = (f1 & 0x20) ? (struct strv){ NULL, 0 } : slice(r);
	rec.message_id = (f1 & 0x40) ? (struct strv){ NULL, 0 } : slice(r);
	rec.php_script = (f1 & 0x80) ? (struct strv){ NULL, 0 } : slice(r);
	rec.forged_header = (f2 & 1) ? (int)(u8(r) + 1) : 0;
	rec.truncated = (f2 & 4) != 0;
	if (f2 & 8) {
		rec.origin = record_origin_kinds[u8(r) % RECORD_ORIGIN_KINDS];
		rec.origin_from = record_origin_froms[u8(r) % RECORD_ORIGIN_FROMS];
		if (f2 & 16) {
			rec.origin_info = cstr(r);
			rec.origin_info_from = record_origin_info_froms[u8(r) % RECORD_ORIGIN_INFO_FROMS];
		}
	}
	if (f2 & 32) {
		static struct rec_freeze fz;

		fz = (struct rec_freeze){ (long)(u64(r) % 1000000), "script", cstr(r), cstr(r),
		    (u8(r) & 1) ? "hold" : "reject" };
		rec.freeze = &fz;
	}

	rec.nparents = (int)(u8(r) % (RECORD_MAX_PARENTS + 1));
	for (int i = 0; i < rec.nparents; i++) {
		struct strv av;

		parents[i].pid = (long)u64(r);
		parents[i].uid = (long)u64(r);
		parents[i].exe = cstr(r);
		av = slice(r);
		parents[i].argv = av.p;
		parents[i].argvlen = av.n;
	}
	rec.parents = parents;

	rec.nenv = (int)(u8(r) % 7);
	for (int i = 0; i < rec.nenv; i++)
		env[i] = (struct rec_env){ env_names[i], cstr(r) };
	rec.env = env;

	rec.argc = (int)(u8(r) % MAX_ARGC);
	argv = alloc(((size_t)rec.argc + 1) * sizeof *argv);
	for (int i = 0; i < rec.argc; i++)
		argv[i] = (char *)cstr(r);
	argv[rec.argc] = NULL;
	rec.argv = argv;

	if (f2 & 2) {
		rec.rcpt = NULL;
		rec.nrcpt = (size_t)u8(r);	/* must be ignored */
		rec.rcpt_count = (long)u8(r);
	} else {
		rec.nrcpt = (size_t)(u8(r) << 8 | u8(r)) % MAX_RCPT;
		for (size_t i = 0; i < rec.nrcpt; i++)
			rcpt[i] = slice(r);
		rec.rcpt = rcpt;
		rec.rcpt_count = (long)rec.nrcpt + (long)u8(r) * (long)u8(r);
	}

	len = record_encode(&rec, out);
#ifdef FUZZ_VERBOSE
	fwrite(out, 1, len, stderr);
#endif

	/* One line: at most RECORD_MAX bytes, one '\n' at its end, no control byte. */
	CHECK(len >= 2 && len <= RECORD_MAX);
	CHECK(out[len - 1] == '\n');
	for (size_t i = 0; i < len - 1; i++)
		CHECK((unsigned char)out[i] >= 0x20);
	CHECK(memcmp(out, "{\"v\":1,", 7) == 0);

	tok = json_tokener_new();
	CHECK(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, out, (int)(len - 1));
	if (o == NULL || json_tokener_get_parse_end(tok) != len - 1)
		fprintf(stderr, "fuzz_record: json-c: %s\n%.*s",
		    json_tokener_error_desc(json_tokener_get_error(tok)), (int)len, out);
	CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
	CHECK(json_tokener_get_parse_end(tok) == len - 1);
	json_tokener_free(tok);
	CHECK(json_object_is_type(o, json_type_object));

	/* "truncated": true, or absent; then nothing may have been cut. */
	j = member(o, "truncated");
	truncated = j != NULL;
	if (truncated)
		CHECK(json_object_is_type(j, json_type_boolean) && json_object_get_boolean(j));
	if (rec.truncated)
		CHECK(truncated);	/* the caller's cuts are reported too */

	check_long(o, "v", 1);
	record_format_ts(&rec.ts, ts);
	CHECK(strlen(ts) == 24);
	gmtime_r(&rec.ts.tv_sec, &tm);
	{
		char want[64];

		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + strlen(want), sizeof want - strlen(want), ".%03ldZ",
		    rec.ts.tv_nsec / 1000000);
		CHECK(strcmp(ts, want) == 0);
	}
	check_cstr(o, "ts", ts, 0);
	check_cstr(o, "id", id, 0);
	check_cstr(o, "host", rec.host, truncated);
	check_cstr(o, "action", rec.action, 0);
	check_cstr(o, "mode", rec.mode, 0);
	check_long(o, "uid", rec.uid);
	check_long(o, "gid", rec.gid);
	check_long(o, "pid", rec.pid);
	check_cstr(o, "cwd", rec.cwd, truncated);
	check_cstr(o, "script", rec.script, truncated);
	check_cstr(o, "script_from", rec.script_from, 0);
	check_cstr(o, "sender", rec.sender, truncated);
	nkeys = 16;	/* v ts id host action mode uid gid pid cwd script script_from parents env argv sender */
	if (rec.origin != NULL) {
		check_cstr(o, "origin", rec.origin, 0);
		check_cstr(o, "origin_from", rec.origin_from, 0);
		nkeys += 2;
	}
	if (rec.origin_info != NULL) {
		check_cstr(o, "origin_info", rec.origin_info, truncated);
		check_cstr(o, "origin_info_from", rec.origin_info_from, 0);
		nkeys += 2;
	}
	if (rec.freeze != NULL) {
		j = member(o, "freeze");
		CHECK(j != NULL && json_object_is_type(j, json_type_object));
		CHECK(json_object_object_length(j) == 5);
		check_long(j, "id", rec.freeze->id);
		check_cstr(j, "by", rec.freeze->by, 0);
		check_cstr(j, "name", rec.freeze->name, truncated);
		check_cstr(j, "value", rec.freeze->value, truncated);
		check_cstr(j, "action", rec.freeze->action, 0);
		nkeys++;
	} else
		CHECK(!json_object_object_get_ex(o, "freeze", NULL));

	a = member(o, "parents");
	len = check_array(a, (size_t)rec.nparents, truncated);
	for (size_t i = 0; i < len; i++) {
		const struct rec_parent *p = &parents[i];
		struct json_object *po = json_object_array_get_idx(a, i), *pa;
		size_t off = 0, k = 0, na = 0, m, bytes;

		CHECK(po != NULL && json_object_is_type(po, json_type_object));
		CHECK(json_object_object_length(po) == 4);
		check_long(po, "pid", p->pid);
		check_long(po, "uid", p->uid);
		check_cstr(po, "exe", p->exe, truncated);
		/* NUL-separated; a last NUL ends the last element, it does not start one */
		for (off = 0; off < p->argvlen; off += strnlen(p->argv + off, p->argvlen - off) + 1)
			na++;
		pa = member(po, "argv");
		m = check_array(pa, na, truncated);
		for (off = 0, bytes = 0; k < m; k++) {
			size_t n = strnlen(p->argv + off, p->argvlen - off);
			struct json_object *w = json_object_array_get_idx(pa, k);

			check_string(w, p->argv + off, n, truncated);
			/* Cut by bytes: a decoded word is never longer than it was written. */
			bytes += (k > 0) + (size_t)json_object_get_string_len(w);
			off += n + 1;
		}
		CHECK(bytes <= RECORD_PARGV_CUT);
	}

	j = member(o, "env");
	CHECK(j != NULL && json_object_is_type(j, json_type_object));
	CHECK(json_object_object_length(j) == rec.nenv);
	for (int i = 0; i < rec.nenv; i++)
		check_cstr(j, env[i].name, env[i].value, truncated);

	a = member(o, "argv");
	len = check_array(a, (size_t)rec.argc, truncated);
	for (size_t i = 0; i < len; i++)
		check_string(json_object_array_get_idx(a, i), argv[i], strlen(argv[i]), truncated);

	nkeys += check_strv(o, "from", rec.from, truncated);
	nkeys += check_strv(o, "subject", rec.subject, truncated);
	nkeys += check_strv(o, "message_id", rec.message_id, truncated);
	nkeys += check_strv(o, "php_script", rec.php_script, truncated);

	if (rec.rcpt != NULL) {
		a = member(o, "rcpt");
		len = check_array(a, rec.nrcpt, truncated);
		for (size_t i = 0; i < len; i++)
			check_string(json_object_array_get_idx(a, i), rcpt[i].p, rcpt[i].n, truncated);
		check_long(o, "rcpt_count", rec.rcpt_count);
		nkeys += 2;
	} else {
		CHECK(!json_object_object_get_ex(o, "rcpt", NULL));
		CHECK(!json_object_object_get_ex(o, "rcpt_count", NULL));
	}
	if (rec.forged_header > 0) {
		check_long(o, "forged_header", rec.forged_header);
		nkeys++;
	} else
		CHECK(!json_object_object_get_ex(o, "forged_header", NULL));
	if (rec.error != NULL) {
		check_cstr(o, "error", rec.error, truncated);
		nkeys++;
	} else
		CHECK(!json_object_object_get_ex(o, "error", NULL));
	nkeys += truncated;
	/* Nothing else, and no key twice (json-c would keep only one). */
	CHECK((size_t)json_object_object_length(o) == nkeys);
	{
		size_t keys = 0;
		int depth = 0, instr = 0;

		/* count the top-level keys in the text itself: '"' after '{' or ',' at depth 1 */
		for (size_t i = 0; out[i] != '\n'; i++) {
			char c = out[i];

			if (instr) {
				if (c == '\\')
					i++;
				else if (c == '"')
					instr = 0;
				continue;
			}
			if (c == '"') {
				instr = 1;
				if (depth == 1 && (out[i - 1] == '{' || out[i - 1] == ','))
					keys++;
			} else if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']')
				depth--;
		}
		CHECK(keys == nkeys);
	}
	json_object_put(o);
	for (size_t i = 0; i < nallocs; i++)
		free(allocs[i]);
	return 0;
}
