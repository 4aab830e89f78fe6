/* test_record.c: record_encode (checked with json-c, strict, UTF-8 validating), record_make_id, record_format_ts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record.h"

#define GUARD 256

static char line[RECORD_MAX + 1 + GUARD];

/* Encodes R, checks the line's shape and that nothing was written past RECORD_MAX + 1. */
static size_t
encode(const struct record *r)
{
	size_t len;

	memset(line, 0xaa, sizeof line);
	len = record_encode(r, line);
	for (size_t i = RECORD_MAX + 1; i < sizeof line; i++)
		assert_int_equal((unsigned char)line[i], 0xaa);
	assert_true(len > 2);
	assert_true(len <= RECORD_MAX);
	assert_int_equal(line[len], '\0');
	assert_int_equal(strlen(line), len);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_null(memchr(line, '\r', len));
	return len;
}

/* Parses the line as one strict JSON object with valid UTF-8, nothing left over. */
static json_object *
parse(size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;

	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)(len - 1));
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		print_error("json-c: %s\nline: %s\n",
		    json_tokener_error_desc(json_tokener_get_error(tok)), line);
		fail();
	}
	assert_int_equal(json_tokener_get_parse_end(tok), len - 1);
	json_tokener_free(tok);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v)) {
		print_error("key \"%s\" missing in %s\n", key, line);
		fail();
	}
	return v;
}

static int
has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void
assert_str(json_object *o, const char *key, const char *want, size_t wantlen)
{
	json_object *v = get(o, key);

	assert_true(json_object_is_type(v, json_type_string));
	assert_int_equal(json_object_get_string_len(v), wantlen);
	assert_memory_equal(json_object_get_string(v), want, wantlen);
}

#define ASSERT_STR(o, key, lit) assert_str((o), (key), (lit), sizeof(lit) - 1)

static void
assert_long(json_object *o, const char *key, long want)
{
	json_object *v = get(o, key);

	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), want);
}

static void
assert_null_value(json_object *o, const char *key)
{
	assert_true(json_object_is_type(get(o, key), json_type_null));
}

static void
assert_truncated(json_object *o)
{
	json_object *v = get(o, "truncated");

	assert_true(json_object_is_type(v, json_type_boolean));
	assert_true(json_object_get_boolean(v));
}

/* A realistic message-mode record. */

static char *const base_argv[] = { "sendmail", "-t", "-i", "-fbounce@shop.example", NULL };
static const char parent0_argv[] = "sh\0-c\0/usr/sbin/sendmail -t -i";
static const char parent1_argv[] = "php\0-d\0sendmail_path=/usr/sbin/sendmail -t -i\0x.php\0FIRST";
static const struct rec_parent base_parents[2] = {
	{ 4242, 1009, "/usr/bin/dash", parent0_argv, sizeof parent0_argv - 1 },
	{ 4241, 1009, "/usr/bin/php8.2", parent1_argv, sizeof parent1_argv - 1 },
};
static const struct rec_env base_env[2] = {
	{ "SCRIPT_FILENAME", "/var/www/vhosts/shop.example/httpdocs/x.php" },
	{ "HTTP_HOST", "shop.example" },
};
static const struct strv base_rcpt[3] = {
	{ "a@example.com", 13 }, { "b@example.net", 13 }, { "c@example.org", 13 },
};

static struct record
base(void)
{
	struct record r = {
		.id = "20261126185412.0123456789abcdef",
		.ts = { 1795719252, 123456789 },
		.host = "web01.example",
		.action = "deliver",
		.mode = "message",
		.uid = 1009, .gid = 1009, .pid = 4243,
		.cwd = "/var/www/vhosts/shop.example/httpdocs/wp-content/uploads",
		.script = "/var/www/vhosts/shop.example/httpdocs/wp-content/uploads/x.php",
		.script_from = "fd",
		.parents = base_parents, .nparents = 2,
		.env = base_env, .nenv = 2,
		.argv = base_argv, .argc = 4,
		.sender = "bounce@shop.example",
		.from = { "Shop <shop@shop.example>", 24 },
		.subject = { "Your account", 12 },
		.message_id = { "<1@shop.example>", 16 },
		.php_script = { "1009:x.php", 10 },
		.rcpt = base_rcpt, .nrcpt = 3, .rcpt_count = 3,
		.forged_header = 0,
		.error = NULL,
	};
	return r;
}

static void
record_encode__typical_message__every_field_and_value(void **state)
{
	(void)state;
	struct record r = base();
	size_t len = encode(&r);
	json_object *o = parse(len), *a, *p, *e;

	assert_long(o, "v", 1);
	ASSERT_STR(o, "ts", "2026-11-26T18:54:12.123Z");
	ASSERT_STR(o, "id", "20261126185412.0123456789abcdef");
	ASSERT_STR(o, "host", "web01.example");
	ASSERT_STR(o, "action", "deliver");
	ASSERT_STR(o, "mode", "message");
	assert_long(o, "uid", 1009);
	assert_long(o, "gid", 1009);
	assert_long(o, "pid", 4243);
	ASSERT_STR(o, "cwd", "/var/www/vhosts/shop.example/httpdocs/wp-content/uploads");
	ASSERT_STR(o, "script", "/var/www/vhosts/shop.example/httpdocs/wp-content/uploads/x.php");
	ASSERT_STR(o, "script_from", "fd");

	a = get(o, "parents");
	assert_true(json_object_is_type(a, json_type_array));
	assert_int_equal(json_object_array_length(a), 2);
	p = json_object_array_get_idx(a, 0);
	assert_long(p, "pid", 4242);
	assert_long(p, "uid", 1009);
	ASSERT_STR(p, "exe", "/usr/bin/dash");
	e = get(p, "argv");
	assert_int_equal(json_object_array_length(e), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 0)), "sh");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 1)), "-c");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 2)),
	    "/usr/sbin/sendmail -t -i");
	p = json_object_array_get_idx(a, 1);
	assert_long(p, "pid", 4241);
	e = get(p, "argv");
	assert_int_equal(json_object_array_length(e), 5);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(e, 3)), "x.php");

	e = get(o, "env");
	assert_true(json_object_is_type(e, json_type_object));
	assert_int_equal(json_object_object_length(e), 2);
	ASSERT_STR(e, "SCRIPT_FILENAME", "/var/www/vhosts/shop.example/httpdocs/x.php");
	ASSERT_STR(e, "HTTP_HOST", "shop.example");

	a = get(o, "argv");
	assert_int_equal(json_object_array_length(a), 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(json_object_get_string(json_object_array_get_idx(a, (size_t)i)),
		    base_argv[i]);

	ASSERT_STR(o, "sender", "bounce@shop.example");
	ASSERT_STR(o, "from", "Shop <shop@shop.example>");
	a = get(o, "rcpt");
	assert_int_equal(json_object_array_length(a), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 2)), "c@example.org");
	assert_long(o, "rcpt_count", 3);
	ASSERT_STR(o, "subject", "Your account");
	ASSERT_STR(o, "message_id", "<1@shop.example>");
	ASSERT_STR(o, "php_script", "1009:x.php");
	assert_false(has(o, "truncated"));
	assert_false(has(o, "error"));
	assert_false(has(o, "forged_header"));
	json_object_put(o);
}

static void
record_encode__typical_message__starts_with_version(void **state)
{
	(void)state;
	struct record r = base();

	encode(&r);
	assert_memory_equal(line, "{\"v\":1,\"ts\":\"", 13);
}

static void
record_encode__passthrough_without_message__no_message_keys(void **state)
{
	(void)state;
	static char *const argv[] = { "sendmail", "-bp", NULL };
	struct record r = {
		.id = "20261126185412.0000000000000001", .ts = { 0, 0 }, .host = "h",
		.action = "passthrough", .mode = "queue-list", .uid = 0, .gid = 0, .pid = 1,
		.cwd = "/", .script = NULL, .script_from = "none",
		.argv = argv, .argc = 2,
	};
	size_t len = encode(&r);
	json_object *o = parse(len);

	ASSERT_STR(o, "ts", "1970-01-01T00:00:00.000Z");
	ASSERT_STR(o, "action", "passthrough");
	ASSERT_STR(o, "mode", "queue-list");
	assert_null_value(o, "script");
	assert_null_value(o, "sender");
	assert_int_equal(json_object_array_length(get(o, "parents")), 0);
	assert_int_equal(json_object_object_length(get(o, "env")), 0);
	assert_int_equal(json_object_array_length(get(o, "argv")), 2);
	assert_false(has(o, "rcpt"));
	assert_false(has(o, "rcpt_count"));
	assert_false(has(o, "from"));
	assert_false(has(o, "subject"));
	assert_false(has(o, "message_id"));
	assert_false(has(o, "php_script"));
	assert_false(has(o, "truncated"));
	json_object_put(o);
}

static void
record_encode__empty_rcpt_list__empty_array_and_count_zero(void **state)
{
	(void)state;
	struct record r = base();
	json_object *o;

	r.nrcpt = 0;
	r.rcpt_count = 0;
	o = parse(encode(&r));
	assert_int_equal(json_object_array_length(get(o, "rcpt")), 0);
	assert_long(o, "rcpt_count", 0);
	json_object_put(o);
}

static void
record_encode__forged_and_error__present(void **state)
{
	(void)state;
	struct record r = base();
	json_object *o;

	r.forged_header = 2;
	r.error = "cannot open log /var/log/qwrap/capture.log: it is a symbolic link";
	o = parse(encode(&r));
	assert_long(o, "forged_header", 2);
	ASSERT_STR(o, "error", "cannot open log /var/log/qwrap/capture.log: it is a symbolic link");
	json_object_put(o);
}

static void
record_encode__every_action_and_mode__passed_through(void **state)
{
	(void)state;
	static const char *const actions[] = { "deliver", "hold", "reject", "passthrough",
	    "release", "discard" };
	static const char *const modes[] = { "message", "smtp", "queue-list", "other" };

	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < 4; j++) {
			struct record r = base();
			json_object *o;

			r.action = actions[i];
			r.mode = modes[j];
			o = parse(encode(&r));
			assert_str(o, "action", actions[i], strlen(actions[i]));
			assert_str(o, "mode", modes[j], strlen(modes[j]));
			json_object_put(o);
		}
}

static void
record_encode__negative_and_large_numbers__exact(void **state)
{
	(void)state;
	struct record r = base();
	json_object *o;

	r.uid = 4294967294L;
	r.gid = -1;
	r.pid = 4194304;
	r.rcpt_count = 2147483648L;
	o = parse(encode(&r));
	assert_long(o, "uid", 4294967294L);
	assert_long(o, "gid", -1);
	assert_long(o, "pid", 4194304);
	assert_long(o, "rcpt_count", 2147483648L);
	json_object_put(o);
}

/* Hostile values. */

static void
record_encode__nul_cr_lf_and_invalid_utf8__escaped_and_valid(void **state)
{
	(void)state;
	static const char subj[] = "a\0b\r\nBcc: x@evil\n\xff\xc3\xa9\"\\";
	static const char rc[] = "r\0@x\r\n";
	static char *const argv[] = { "sendmail", "a\nb", "\x80\xed\xa0\x80", NULL };
	static const char pargv[] = "php\0\xc0\x80.php";
	const struct rec_parent par = { 7, 1009, "/usr/bin/ph\x01p", pargv, sizeof pargv - 1 };
	const struct rec_env env = { "REQUEST_URI", "/?q=\r\n\x7f" };
	const struct strv rcpt = { rc, sizeof rc - 1 };
	struct record r = base();
	json_object *o, *a, *p;

	r.subject = (struct strv){ subj, sizeof subj - 1 };
	r.from = (struct strv){ "\xf5\x80", 2 };
	r.cwd = "/tmp/\x1b[31m";
	r.script = "/tmp/\xe2\x82.php";
	r.argv = argv;
	r.argc = 3;
	r.parents = &par;
	r.nparents = 1;
	r.env = &env;
	r.nenv = 1;
	r.rcpt = &rcpt;
	r.nrcpt = 1;
	o = parse(encode(&r));
	ASSERT_STR(o, "subject", "a\0b\r\nBcc: x@evil\n\\xff\xc3\xa9\"\\");
	ASSERT_STR(o, "from", "\\xf5\\x80");
	ASSERT_STR(o, "cwd", "/tmp/\x1b[31m");
	ASSERT_STR(o, "script", "/tmp/\\xe2\\x82.php");
	a = get(o, "argv");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 1)), "a\nb");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 2)),
	    "\\x80\\xed\\xa0\\x80");
	a = get(o, "rcpt");
	assert_int_equal(json_object_get_string_len(json_object_array_get_idx(a, 0)), 6);
	assert_memory_equal(json_object_get_string(json_object_array_get_idx(a, 0)), "r\0@x\r\n", 6);
	p = json_object_array_get_idx(get(o, "parents"), 0);
	ASSERT_STR(p, "exe", "/usr/bin/ph\x01p");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(get(p, "argv"), 1)),
	    "\\xc0\\x80.php");
	ASSERT_STR(get(o, "env"), "REQUEST_URI", "/?q=\r\n\x7f");
	assert_false(has(o, "truncated"));
	json_object_put(o);
}

static void
record_encode__parent_argv_with_empty_elements__kept(void **state)
{
	(void)state;
	static const char pargv[] = "perl\0\0-e\0";
	const struct rec_parent par = { 9, 1009, "", pargv, sizeof pargv - 1 };
	struct record r = base();
	json_object *o, *a;

	r.parents = &par;
	r.nparents = 1;
	o = parse(encode(&r));
	a = get(json_object_array_get_idx(get(o, "parents"), 0), "argv");
	assert_int_equal(json_object_array_length(a), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 0)), "perl");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 1)), "");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 2)), "-e");
	ASSERT_STR(json_object_array_get_idx(get(o, "parents"), 0), "exe", "");
	json_object_put(o);
}

/* Size limits. */

static void
record_encode__value_under_first_cap__kept_whole(void **state)
{
	(void)state;
	static char subj[1000];
	struct record r = base();
	json_object *o;

	memset(subj, 'S', sizeof subj);
	r.subject = (struct strv){ subj, sizeof subj };
	o = parse(encode(&r));
	assert_str(o, "subject", subj, sizeof subj);
	assert_false(has(o, "truncated"));
	json_object_put(o);
}

static void
record_encode__long_subject__cut_and_truncated(void **state)
{
	(void)state;
	static char subj[5000];
	struct record r = base();
	json_object *o, *v;

	memset(subj, 'S', sizeof subj);
	r.subject = (struct strv){ subj, sizeof subj };
	o = parse(encode(&r));
	v = get(o, "subject");
	assert_true(json_object_get_string_len(v) > 0);
	assert_true(json_object_get_string_len(v) < (int)sizeof subj);
	assert_memory_equal(json_object_get_string(v), subj, (size_t)json_object_get_string_len(v));
	assert_truncated(o);
	ASSERT_STR(o, "id", "20261126185412.0123456789abcdef");
	json_object_put(o);
}

static void
record_encode__ten_thousand_args__fits_truncated(void **state)
{
	(void)state;
	enum { N = 10000 };
	static char words[N][40];
	static char *argv[N + 1];
	struct record r = base();
	json_object *o, *a;

	for (int i = 0; i < N; i++) {
		snprintf(words[i], sizeof words[i], "recipient%05d@example.com", i);
		argv[i] = words[i];
	}
	argv[N] = NULL;
	r.argv = argv;
	r.argc = N;
	o = parse(encode(&r));
	a = get(o, "argv");
	assert_true(json_object_array_length(a) >= 1);
	assert_true(json_object_array_length(a) < N);
	for (size_t i = 0; i < json_object_array_length(a); i++)
		assert_string_equal(json_object_get_string(json_object_array_get_idx(a, i)), words[i]);
	assert_truncated(o);
	assert_long(o, "rcpt_count", 3);
	json_object_put(o);
}

static void
record_encode__huge_rcpt_list__fits_truncated_count_full(void **state)
{
	(void)state;
	enum { N = 256 };
	static char addrs[N][256];
	static struct strv rcpt[N];
	struct record r = base();
	json_object *o, *a;

	for (int i = 0; i < N; i++) {
		memset(addrs[i], 'x', sizeof addrs[i]);
		snprintf(addrs[i], 32, "rcpt%03d@", i);
		addrs[i][strlen(addrs[i])] = 'd';
		rcpt[i] = (struct strv){ addrs[i], sizeof addrs[i] };
	}
	r.rcpt = rcpt;
	r.nrcpt = N;
	r.rcpt_count = 123456;
	o = parse(encode(&r));
	a = get(o, "rcpt");
	assert_true(json_object_array_length(a) >= 1);
	assert_true(json_object_array_length(a) < N);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *v = json_object_array_get_idx(a, i);

		assert_memory_equal(json_object_get_string(v), addrs[i],
		    (size_t)json_object_get_string_len(v));
	}
	assert_long(o, "rcpt_count", 123456);
	assert_truncated(o);
	json_object_put(o);
}

static void
record_encode__four_parents_long_argv__fits_truncated(void **state)
{
	(void)state;
	static char exe[4][4000], pargv[4][1024];
	static struct rec_parent par[4];
	struct record r = base();
	json_object *o, *a;

	for (int i = 0; i < 4; i++) {
		memset(exe[i], 'e', sizeof exe[i] - 1);
		exe[i][0] = '/';
		exe[i][sizeof exe[i] - 1] = '\0';
		/* Many short words, then one long one, NUL-separated. */
		for (size_t k = 0; k < sizeof pargv[i]; k++)
			pargv[i][k] = k % 8 == 7 ? '\0' : (char)('a' + k % 8);
		par[i] = (struct rec_parent){ 100 + i, 1009, exe[i], pargv[i], sizeof pargv[i] - 1 };
	}
	r.parents = par;
	r.nparents = 4;
	o = parse(encode(&r));
	a = get(o, "parents");
	assert_true(json_object_array_length(a) >= 1);
	assert_true(json_object_array_length(a) <= 4);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *p = json_object_array_get_idx(a, i), *pa = get(p, "argv");

		assert_long(p, "pid", 100 + (long)i);
		assert_long(p, "uid", 1009);
		assert_true(json_object_array_length(pa) >= 1);
		assert_string_equal(json_object_get_string(json_object_array_get_idx(pa, 0)), "abcdefg");
	}
	assert_truncated(o);
	json_object_put(o);
}

/* The bytes a parent's argv list holds as the encoder counts them: words, and one per separator. */
static size_t
pargv_bytes(json_object *a)
{
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(a); i++)
		n += (i > 0) + (size_t)json_object_get_string_len(json_object_array_get_idx(a, i));
	return n;
}

static json_object *
one_parent_argv(const char *pargv, size_t len, json_object **o)
{
	const struct rec_parent par = { 9, 1009, "/usr/bin/php8.2", pargv, len };
	struct record r = base();

	r.parents = &par;
	r.nparents = 1;
	*o = parse(encode(&r));
	return get(json_object_array_get_idx(get(*o, "parents"), 0), "argv");
}

static void
record_encode__parent_argv_forty_short_words__all_kept(void **state)
{
	(void)state;
	static char pargv[40 * 20];
	json_object *o, *a;

	/* 40 words of 19 bytes: 799 bytes, far more than 8 words, all under the cut. */
	for (size_t k = 0; k < sizeof pargv; k++)
		pargv[k] = k % 20 == 19 ? '\0' : (char)('a' + k / 20 % 26);
	a = one_parent_argv(pargv, sizeof pargv - 1, &o);
	assert_int_equal(json_object_array_length(a), 40);
	assert_int_equal(pargv_bytes(a), sizeof pargv - 1);
	assert_false(has(o, "truncated"));
	json_object_put(o);
}

static void
record_encode__parent_argv_exactly_the_cut__whole_not_truncated(void **state)
{
	(void)state;
	static char pargv[RECORD_PARGV_CUT];
	json_object *o, *a;

	memset(pargv, 'x', sizeof pargv);
	pargv[500] = '\0';
	a = one_parent_argv(pargv, sizeof pargv, &o);
	assert_int_equal(json_object_array_length(a), 2);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT);
	assert_false(has(o, "truncated"));
	json_object_put(o);
}

static void
record_encode__parent_argv_over_the_cut__cut_at_1024_bytes_truncated(void **state)
{
	(void)state;
	static char pargv[4000];
	json_object *o, *a;

	for (size_t k = 0; k < sizeof pargv; k++)
		pargv[k] = k % 100 == 99 ? '\0' : 'w';
	a = one_parent_argv(pargv, sizeof pargv - 1, &o);
	/* Ten words of 99 and their separators are 999 bytes; 24 of the eleventh fill the cut. */
	assert_int_equal(json_object_array_length(a), 11);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT);
	assert_int_equal(json_object_get_string_len(json_object_array_get_idx(a, 10)), 24);
	assert_truncated(o);
	json_object_put(o);
}

static void
record_encode__parent_argv_word_ends_at_the_cut__next_word_left_out_truncated(void **state)
{
	(void)state;
	static char pargv[RECORD_PARGV_CUT + 3];
	json_object *o, *a;

	/* One word of exactly the cut, then "ab": no empty word made of the separator. */
	memset(pargv, 'x', sizeof pargv);
	pargv[RECORD_PARGV_CUT] = '\0';
	a = one_parent_argv(pargv, sizeof pargv, &o);
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT);
	assert_truncated(o);
	json_object_put(o);

	/* A separator with one byte left: the next word is left out, not written as "". */
	pargv[RECORD_PARGV_CUT - 1] = '\0';
	pargv[RECORD_PARGV_CUT] = 'y';
	a = one_parent_argv(pargv, sizeof pargv, &o);
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT - 1);
	assert_truncated(o);
	json_object_put(o);

	/* Three bytes left, but the next word starts with a control (\u0001, six): left out too. */
	pargv[RECORD_PARGV_CUT - 3] = '\0';
	pargv[RECORD_PARGV_CUT - 2] = '\1';
	pargv[RECORD_PARGV_CUT - 1] = 'z';
	pargv[RECORD_PARGV_CUT] = '\0';
	a = one_parent_argv(pargv, sizeof pargv, &o);
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT - 3);
	assert_truncated(o);
	json_object_put(o);
}

static void
record_encode__parent_argv_utf8_across_the_cut__cut_before_the_character(void **state)
{
	(void)state;
	static char pargv[1 + 2 * 600];
	json_object *o, *a;

	/* "a" and 600 two-byte characters: 1 + 2 * 511 bytes fit, half of the 512th would not. */
	pargv[0] = 'a';
	for (size_t k = 1; k < sizeof pargv; k += 2)
		memcpy(pargv + k, "\xc3\xa9", 2);
	a = one_parent_argv(pargv, sizeof pargv, &o);
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(pargv_bytes(a), RECORD_PARGV_CUT - 1);
	assert_memory_equal(json_object_get_string(json_object_array_get_idx(a, 0)), pargv,
	    RECORD_PARGV_CUT - 1);
	assert_truncated(o);
	json_object_put(o);
}

static void
record_encode__everything_huge_and_invalid__still_a_full_record(void **state)
{
	(void)state;
	enum { N = 10000, V = 20000 };
	static char junk[V], pargv[4][1024];
	static char *argv[N + 1];
	static struct strv rcpt[256];
	static struct rec_parent par[4];
	static struct rec_env env[6];
	static const char *const names[6] = { "SCRIPT_FILENAME", "DOCUMENT_ROOT", "HTTP_HOST",
	    "SERVER_NAME", "REMOTE_ADDR", "REQUEST_URI" };
	struct record r;
	json_object *o;

	/* Each byte escapes to the longest form: \\xNN (5 bytes) or \u00NN (6). */
	for (size_t i = 0; i < V - 1; i++)
		junk[i] = (char)(i % 2 ? 0xff : 0x01);
	junk[V - 1] = '\0';
	for (int i = 0; i < N; i++)
		argv[i] = junk;
	argv[N] = NULL;
	for (int i = 0; i < 256; i++)
		rcpt[i] = (struct strv){ junk, V - 1 };
	for (int i = 0; i < 4; i++) {
		memset(pargv[i], 0x80, sizeof pargv[i]);
		for (size_t k = 40; k < sizeof pargv[i]; k += 41)
			pargv[i][k] = '\0';
		par[i] = (struct rec_parent){ 1 + i, 1009, junk, pargv[i], sizeof pargv[i] };
	}
	for (int i = 0; i < 6; i++)
		env[i] = (struct rec_env){ names[i], junk };
	r = (struct record){
		.id = "20261126185412.0123456789abcdef", .ts = { 1795719252, 0 },
		.host = junk, .action = "deliver", .mode = "message",
		.uid = 1009, .gid = 1009, .pid = 77, .cwd = junk, .script = junk,
		.script_from = "env", .parents = par, .nparents = 4, .env = env, .nenv = 6,
		.argv = argv, .argc = N, .sender = junk,
		.from = { junk, V - 1 }, .subject = { junk, V - 1 },
		.message_id = { junk, V - 1 }, .php_script = { junk, V - 1 },
		.rcpt = rcpt, .nrcpt = 256, .rcpt_count = 99999, .forged_header = 3,
		.error = junk,
	};
	o = parse(encode(&r));
	/* Not the last-resort stub: the record still says who and what. */
	ASSERT_STR(o, "id", "20261126185412.0123456789abcdef");
	assert_long(o, "uid", 1009);
	assert_long(o, "pid", 77);
	ASSERT_STR(o, "action", "deliver");
	assert_long(o, "rcpt_count", 99999);
	assert_long(o, "forged_header", 3);
	assert_true(json_object_array_length(get(o, "parents")) >= 1);
	assert_true(json_object_array_length(get(o, "rcpt")) >= 1);
	assert_int_equal(json_object_object_length(get(o, "env")), 6);
	assert_truncated(o);
	json_object_put(o);
}

static void
record_encode__many_random_records__always_valid(void **state)
{
	(void)state;
	static char pool[8192], pargv[1024];
	static char *argv[64];
	static struct strv rcpt[64];
	struct rec_parent par[4];
	unsigned seed = 12345;

	for (int round = 0; round < 300; round++) {
		struct record r = base();
		json_object *o;
		size_t plen;

		for (size_t i = 0; i < sizeof pool; i++) {
			seed = seed * 1103515245u + 12345u;
			pool[i] = (char)(seed >> 16);
		}
		pool[sizeof pool - 1] = '\0';
		for (int i = 0; i < 63; i++) {
			size_t off = (size_t)(i * 97 + round) % 4096;

			argv[i] = pool + off;
			rcpt[i] = (struct strv){ pool + off, (size_t)(round * 13 + i * 7) % 700 };
		}
		argv[63] = NULL;
		plen = (size_t)(round * 31) % sizeof pargv;
		memcpy(pargv, pool + 100, plen);
		for (int i = 0; i < 4; i++)
			par[i] = (struct rec_parent){ i, 1, pool + 200 * i, pargv, plen };
		r.argv = argv;
		r.argc = round % 64;
		r.rcpt = rcpt;
		r.nrcpt = (size_t)(round % 64);
		r.rcpt_count = round * 1000;
		r.parents = par;
		r.nparents = round % 5;
		r.subject = (struct strv){ pool + 300, (size_t)(round * 17) % 3000 };
		r.from = (struct strv){ pool + 900, (size_t)(round * 5) % 1500 };
		r.cwd = pool + (round % 1000);
		o = parse(encode(&r));
		assert_long(o, "rcpt_count", round * 1000);
		json_object_put(o);
	}
}

/* record_format_ts and record_make_id. */

static void
record_format_ts__every_week_1968_to_2100__same_as_gmtime(void **state)
{
	char got[32], want[32];
	struct tm tm;

	(void)state;
	for (long long t = -86400LL * 800; t < 4102444800LL; t += 86400LL * 7 + 3607) {
		struct timespec ts = { (time_t)t, 999000000 };
		time_t tt = (time_t)t;

		gmtime_r(&tt, &tm);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.999Z",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		record_format_ts(&ts, got);
		assert_string_equal(got, want);
	}
}

static void
record_format_ts__known_instants__rfc3339_millis(void **state)
{
	(void)state;
	char out[32];
	struct timespec ts;

	ts = (struct timespec){ 0, 0 };
	record_format_ts(&ts, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	ts = (struct timespec){ 1795719252, 123456789 };
	record_format_ts(&ts, out);
	assert_string_equal(out, "2026-11-26T18:54:12.123Z");
	ts = (struct timespec){ 1709251199, 999999999 };
	record_format_ts(&ts, out);
	assert_string_equal(out, "2024-02-29T23:59:59.999Z");
	ts = (struct timespec){ 2147483648L, 1000000 };
	record_format_ts(&ts, out);
	assert_string_equal(out, "2038-01-19T03:14:08.001Z");
	ts = (struct timespec){ 1795719252, 999999 };
	record_format_ts(&ts, out);
	assert_string_equal(out, "2026-11-26T18:54:12.000Z");
}

static void
record_make_id__any_time__date_dot_16_hex(void **state)
{
	(void)state;
	struct timespec ts = { 1795719252, 5 };
	char id[RECORD_ID_LEN];
	regex_t re;

	assert_int_equal(regcomp(&re, "^20261126185412\\.[0-9a-f]{16}$", REG_EXTENDED | REG_NOSUB), 0);
	for (int i = 0; i < 100; i++) {
		memset(id, 'Z', sizeof id);
		record_make_id(&ts, id);
		assert_int_equal(strlen(id), 31);
		assert_int_equal(regexec(&re, id, 0, NULL, 0), 0);
	}
	regfree(&re);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
record_make_id__ten_thousand_same_instant__all_unique(void **state)
{
	(void)state;
	enum { N = 10000 };
	static char ids[N][RECORD_ID_LEN];
	struct timespec ts = { 1795719252, 123 };

	for (int i = 0; i < N; i++)
		record_make_id(&ts, ids[i]);
	qsort(ids, N, sizeof ids[0], cmp_id);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
}

static void
record_make_id__later_second__sorts_after(void **state)
{
	(void)state;
	struct timespec a = { 1795719252, 999999999 }, b = { 1795719253, 0 };
	char ida[RECORD_ID_LEN], idb[RECORD_ID_LEN];

	for (int i = 0; i < 200; i++) {
		record_make_id(&a, ida);
		record_make_id(&b, idb);
		assert_true(strcmp(ida, idb) < 0);
	}
	record_make_id(&(struct timespec){ 0, 0 }, ida);
	assert_memory_equal(ida, "19700101000000.", 15);
}

/* A machine id gives 32 hex digits, the same each time, its own; anything else gives none. */
static void
record_host_id__machine_ids_good_and_bad(void **state)
{
	static const struct { const char *text; int ok; } cases[] = {
		{ "3d1219c7c4c5404aaa1f6d2a48adfda4\n", 1 },
		{ "3d1219c7c4c5404aaa1f6d2a48adfda5\n", 1 },
		{ "3d1219c7c4c5404aaa1f6d2a48adfda4", 0 },	/* no newline */
		{ "3D1219C7C4C5404AAA1F6D2A48ADFDA4\n", 0 },	/* not as machine-id(5) */
		{ "uninitialized\n", 0 },
		{ "", 0 },
		{ "3d1219c7c4c5404aaa1f6d2a48adfda4\nxx", 0 },
	};
	char path[] = "/tmp/qwrap-test-machine-id-XXXXXX", a[33], b[33], first[33] = "";

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, cases[i].text, strlen(cases[i].text)),
		    (ssize_t)strlen(cases[i].text));
		close(fd);
		assert_int_equal(record_host_id(path, a) == 0, cases[i].ok);
		if (cases[i].ok) {
			assert_int_equal(record_host_id(path, b), 0);
			assert_string_equal(a, b);
			assert_int_equal(strlen(a), 32);
			assert_int_equal(strspn(a, "0123456789abcdef"), 32);
			assert_string_not_equal(a, first);
			memcpy(first, a, sizeof first);
		}
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
	assert_int_equal(record_host_id("/nonexistent/machine-id", a), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_encode__typical_message__every_field_and_value),
		cmocka_unit_test(record_encode__typical_message__starts_with_version),
		cmocka_unit_test(record_encode__passthrough_without_message__no_message_keys),
		cmocka_unit_test(record_encode__empty_rcpt_list__empty_array_and_count_zero),
		cmocka_unit_test(record_encode__forged_and_error__present),
		cmocka_unit_test(record_encode__every_action_and_mode__passed_through),
		cmocka_unit_test(record_encode__negative_and_large_numbers__exact),
		cmocka_unit_test(record_encode__nul_cr_lf_and_invalid_utf8__escaped_and_valid),
		cmocka_unit_test(record_encode__parent_argv_with_empty_elements__kept),
		cmocka_unit_test(record_encode__value_under_first_cap__kept_whole),
		cmocka_unit_test(record_encode__long_subject__cut_and_truncated),
		cmocka_unit_test(record_encode__ten_thousand_args__fits_truncated),
		cmocka_unit_test(record_encode__huge_rcpt_list__fits_truncated_count_full),
		cmocka_unit_test(record_encode__four_parents_long_argv__fits_truncated),
		cmocka_unit_test(record_encode__parent_argv_forty_short_words__all_kept),
		cmocka_unit_test(record_encode__parent_argv_exactly_the_cut__whole_not_truncated),
		cmocka_unit_test(record_encode__parent_argv_over_the_cut__cut_at_1024_bytes_truncated),
		cmocka_unit_test(record_encode__parent_argv_word_ends_at_the_cut__next_word_left_out_truncated),
		cmocka_unit_test(record_encode__parent_argv_utf8_across_the_cut__cut_before_the_character),
		cmocka_unit_test(record_encode__everything_huge_and_invalid__still_a_full_record),
		cmocka_unit_test(record_encode__many_random_records__always_valid),
		cmocka_unit_test(record_format_ts__every_week_1968_to_2100__same_as_gmtime),
		cmocka_unit_test(record_format_ts__known_instants__rfc3339_millis),
		cmocka_unit_test(record_make_id__any_time__date_dot_16_hex),
		cmocka_unit_test(record_make_id__ten_thousand_same_instant__all_unique),
		cmocka_unit_test(record_make_id__later_second__sorts_after),
		cmocka_unit_test(record_host_id__machine_ids_good_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
