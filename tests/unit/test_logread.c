/* test_logread.c: the capture-log reader of qwrap's reports: JSON validation and decoding, times, torn lines, vhosts, tallies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jsonread.h"
#include "filter.h"
#include "logread.h"
#include "queue.h"
#include "tally.h"
#include "vhost.h"

static char dir[PATH_MAX], path[PATH_MAX + 32];

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof dir, "logread") < 0)
		return -1;
	snprintf(path, sizeof path, "%s/capture.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static int
valid(const char *s)
{
	struct jr_object o;

	return jr_parse(s, strlen(s), &o) == 0;
}

static void
test_json_grammar(void **state)
{
	static const char *const good[] = { "{}", " {\"a\":1} ", "{\"a\":[1,-2.5e+3,true,false,null,"
		"{\"b\":\"\\u00e9\\n\\\"\"}],\"c\":\"\xc3\xa9\"}", "{\"a\":[]}", "{\"a\":0.0}" };
	static const char *const bad[] = { "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":tru}", "{\"a\":\"x}", "{a:1}",
		"{\"a\":\"\\x41\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\xc3\"}",
		"{\"a\":\"\xed\xa0\x80\"}", "{\"a\":1} x", "{\"a\":1}{\"b\":2}", "{\"a\":[1 2]}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}" };

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_json_members_and_decoding(void **state)
{
	const char *s = "{\"a\":\"x\",\"s\":\"\\u00e9\\ud83d\\ude00\\u0000\\udc00|\\t\\\\\","
	    "\"n\":-42,\"l\":[\"p\", \"q\" ,3],\"a\":\"last\"}";
	struct jr_object o;
	const struct jr_member *m;
	const char *pos = NULL, *e;
	char out[64];
	size_t elen;
	long v;

	(void)state;
	assert_int_equal(jr_parse(s, strlen(s), &o), 0);
	assert_int_equal(o.n, 5);
	/* A repeated key: the last one, as jq has it. */
	m = jr_get(&o, "a");
	assert_int_equal(jr_string(m->val, m->vallen, out, sizeof out), 4);
	assert_string_equal(out, "last");
	m = jr_get(&o, "s");
	jr_string(m->val, m->vallen, out, sizeof out);
	assert_string_equal(out, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd|\t\\");
	/* Cut at a character boundary, never inside one. */
	assert_int_equal(jr_string(m->val, m->vallen, out, 4), 2);
	assert_int_equal(jr_string(m->val, m->vallen, out, 6), 2);
	assert_int_equal(jr_string(m->val, m->vallen, out, 7), 6);
	m = jr_get(&o, "n");
	assert_int_equal(jr_long(m->val, m->vallen, &v), 0);
	assert_int_equal(v, -42);
	assert_int_equal(jr_string(m->val, m->vallen, out, sizeof out), -1);
	assert_null(jr_get(&o, "missing"));
	m = jr_get(&o, "l");
	assert_int_equal(jr_next(m->val, m->vallen, &pos, &e, &elen), 1);
	assert_int_equal(jr_string(e, elen, out, sizeof out), 1);
	assert_string_equal(out, "p");
	assert_int_equal(jr_next(m->val, m->vallen, &pos, &e, &elen), 1);
	assert_string_equal((jr_string(e, elen, out, sizeof out), out), "q");
	assert_int_equal(jr_next(m->val, m->vallen, &pos, &e, &elen), 1);
	assert_int_equal(elen, 1);
	assert_int_equal(jr_next(m->val, m->vallen, &pos, &e, &elen), 0);
	assert_int_equal(jr_long("1.5", 3, &v), -1);
	assert_int_equal(jr_long("99999999999999999999", 20, &v), -1);
}

static void
test_times(void **state)
{
	long long ms;

	(void)state;
	assert_int_equal(log_parse_time("1970-01-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(log_parse_time("2026-11-26T23:27:01.185Z", 24, &ms), 0);
	assert_int_equal(ms, 1795735621185LL);
	assert_int_equal(log_parse_time("2026-11-27T01:27:01.185+02:00", 29, &ms), 0);
	assert_int_equal(ms, 1795735621185LL);
	assert_int_equal(log_parse_time("2026-11-26T18:57:01.1854-0430", 29, &ms), 0);
	assert_int_equal(ms, 1795735621185LL);
	assert_int_equal(log_parse_time("2024-02-29 12:00", 16, &ms), 0);
	assert_int_equal(ms, 1709208000000LL);
	assert_int_equal(log_parse_time("2026-11-26", 10, &ms), 0);
	assert_int_equal(ms, 1795651200000LL);
	assert_int_equal(log_parse_time("2026-13-01", 10, &ms), -1);
	assert_int_equal(log_parse_time("2026-02-29", 10, &ms), -1);
	assert_int_equal(log_parse_time("2026-11-31", 10, &ms), -1);
	assert_int_equal(log_parse_time("2000-02-29", 10, &ms), 0);
	assert_int_equal(log_parse_time("1900-02-29", 10, &ms), -1);
	assert_int_equal(log_parse_time("2026-11-26T24:00Z", 17, &ms), -1);
	assert_int_equal(log_parse_time("2026-11-26T10:00:00.Z", 21, &ms), -1);
	assert_int_equal(log_parse_time("2026-11-26X", 11, &ms), -1);
	assert_int_equal(log_parse_time("26-11-26", 8, &ms), -1);
}

#define REC(id) "{\"v\":1,\"ts\":\"2026-11-26T10:00:00.000Z\",\"id\":\"" id "\"}"

static void
test_torn_and_invalid_lines(void **state)
{
	static const char text[] = REC("a") "\n"
	    "{\"v\":1,\"ts\":\"2026-11-2" REC("b") "\n"		/* torn, then b whole */
	    "not json\n"
	    "{\"v\":2,\"ts\":\"2026-11-26T10:00:00.000Z\",\"id\":\"x\"}\n"	/* another version */
	    "{\"v\":1,\"ts\":\"yesterday\",\"id\":\"x\"}\n"
	    "{\"v\":1,\"ts\":\"2026-11-26T10:00:00.000Z\",\"id\":7}\n"
	    "\n" REC("c") "\r\n"
	    "{\"v\":1,\"id\":\"\xff\"}\n"
	    REC("d");						/* no newline at the end */
	struct logfile f;
	struct logrec r;
	char err[LOG_ERR_MAX], id[16];
	const char *want[] = { "a", "b", "c", "d" };
	int n = 0;

	(void)state;
	assert_int_equal(tmpdir_write(path, text, sizeof text - 1, 0600), 0);
	assert_int_equal(log_open(&f, path, err), 0);
	while (log_next(&f, &r, err) == 1) {
		assert_true(n < 4);
		assert_string_equal(rec_str(&r, "id", id, sizeof id), want[n++]);
	}
	assert_int_equal(n, 4);
	assert_int_equal(f.invalid, 6);
	assert_int_equal(f.first_invalid, 2);
	log_close(&f);
}

/* An older wrapper's or another host's paths read tidied; the filters' arguments are tidied alike. */
static void
rec_str__untidy_paths__cwd_and_script_tidied_others_as_written(void **state)
{
	static const char line[] = "{\"v\":1,\"ts\":\"2026-11-26T10:00:00.000Z\",\"id\":\"a\","
	    "\"cwd\":\"/home/u//bin/.\",\"script\":\"/home/u/bin/./../notify.pl\","
	    "\"subject\":\"a//b/./c\",\"env\":{\"SCRIPT_FILENAME\":\"/x//y\"}}";
	struct logrec r;
	struct filter f;
	char buf[256], err[FILTER_ERR_MAX];

	(void)state;
	assert_int_equal(log_parse(line, sizeof line - 1, &r), 0);
	assert_string_equal(rec_str(&r, "cwd", buf, sizeof buf), "/home/u/bin");
	assert_string_equal(rec_str(&r, "script", buf, sizeof buf), "/home/u/bin/../notify.pl");
	assert_string_equal(rec_str(&r, "subject", buf, sizeof buf), "a//b/./c");

	filter_init(&f);
	assert_int_equal(filter_option(&f, OPT_CWD, "/home//u/./", 0, err), 0);
	assert_string_equal(f.cwd, "/home/u");
	assert_true(filter_match(&f, &r));
	assert_int_equal(filter_option(&f, OPT_SCRIPT, "/home/u//bin/./../*.pl", 0, err), 0);
	assert_string_equal(f.script, "/home/u/bin/../*.pl");
	assert_true(filter_match(&f, &r));
	/* A bracket expression is no path: "[/.]" stays, and matches no "/" before "..". */
	assert_int_equal(filter_option(&f, OPT_SCRIPT, "/home/u/bin/[/.]./notify.pl", 0, err), 0);
	assert_string_equal(f.script, "/home/u/bin/[/.]./notify.pl");
	assert_int_equal(filter_option(&f, OPT_CWD, "/home/u/bin/..", 0, err), 0);
	assert_false(filter_match(&f, &r));
	filter_free(&f);
}

static void
test_overlong_line_skipped(void **state)
{
	static char text[3 * LOG_LINE_MAX];
	struct logfile f;
	struct logrec r;
	char err[LOG_ERR_MAX], id[16];
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(text, REC("a") "\n{\"v\":1,\"x\":\"");
	memset(text + n, 'x', 2 * LOG_LINE_MAX);
	n += 2 * LOG_LINE_MAX;
	n += (size_t)sprintf(text + n, "\"}\n" REC("b") "\n");
	assert_int_equal(tmpdir_write(path, text, n, 0600), 0);
	assert_int_equal(log_open(&f, path, err), 0);
	assert_int_equal(log_next(&f, &r, err), 1);
	assert_string_equal(rec_str(&r, "id", id, sizeof id), "a");
	assert_int_equal(log_next(&f, &r, err), 1);
	assert_string_equal(rec_str(&r, "id", id, sizeof id), "b");
	assert_int_equal(log_next(&f, &r, err), 0);
	assert_int_equal(f.invalid, 1);
	log_close(&f);
}

static void
test_vhosts(void **state)
{
	char out[64], root[PATH_MAX], psa[PATH_MAX + 16];
	static const char conf[] = "# Plesk\nHTTPD_VHOSTS_D_X /nope\n  HTTPD_VHOSTS_D\t/srv/vhosts/ \n";

	(void)state;
	assert_int_equal(vhost_of("/var/www/vhosts", "/var/www/vhosts/a.example/httpdocs/x.php",
	    out, sizeof out), 0);
	assert_string_equal(out, "a.example");
	assert_int_equal(vhost_of("/var/www/vhosts", "/var/www/vhosts/system/b.example/conf",
	    out, sizeof out), 0);
	assert_string_equal(out, "b.example");
	assert_int_equal(vhost_of("/var/www/vhosts", "/home/carol/public_html/x.php", out,
	    sizeof out), 0);
	assert_string_equal(out, "carol");
	assert_int_equal(vhost_of("", "/home/carol/public_html/x.php", out, sizeof out), 0);
	assert_string_equal(out, "carol");
	/* DirectAdmin's domains, cPanel's addon domains; dot files are not domains. */
	assert_int_equal(vhost_of("", "/home/dan/domains/d.example/public_html/x.php", out,
	    sizeof out), 0);
	assert_string_equal(out, "d.example");
	assert_int_equal(vhost_of("", "/home/erin/e.example/x.php", out, sizeof out), 0);
	assert_string_equal(out, "e.example");
	assert_int_equal(vhost_of("", "/home/erin/.cache/x", out, sizeof out), 0);
	assert_string_equal(out, "erin");
	assert_int_equal(vhost_of("", "/home/dan/domains/", out, sizeof out), 0);
	assert_string_equal(out, "dan");
	assert_int_equal(vhost_of("/var/www/vhosts", "/var/www/vhostsx/a/b", out, sizeof out), -1);
	assert_int_equal(vhost_of("/var/www/vhosts", "/var/www/vhosts", out, sizeof out), -1);
	assert_int_equal(vhost_of("/var/www/vhosts", "/var/www/vhosts/../x", out, sizeof out), -1);
	assert_int_equal(vhost_of("/var/www/vhosts", "/tmp/x", out, sizeof out), -1);
	assert_int_equal(vhost_of("", "", out, sizeof out), -1);

	snprintf(psa, sizeof psa, "%s/psa.conf", dir);
	assert_int_equal(tmpdir_write(psa, conf, sizeof conf - 1, 0644), 0);
	vhost_root(NULL, psa, "/conf", root);
	assert_string_equal(root, "/srv/vhosts");
	vhost_root("/opt/v/", psa, "/conf", root);
	assert_string_equal(root, "/opt/v");
	vhost_root(NULL, "/nonexistent/psa.conf", "/conf", root);
	assert_string_equal(root, "/conf");
	vhost_root(NULL, "/nonexistent/psa.conf", "", root);
	assert_string_equal(root, "");
}

static void
test_tally_order_and_growth(void **state)
{
	struct tally t = { 0 };
	char key[16];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "k%d", i % 2500);
		struct tally_row *r = tally_row(&t, key);

		assert_non_null(r);
		r->messages += i % 2500 == 7 ? 10 : 1;
		r->recipients += i % 2500 == 9 ? 5 : 1;
	}
	assert_int_equal(t.n, 2500);
	tally_sort(&t);
	assert_string_equal(t.rows[0].key, "k7");
	assert_int_equal(t.rows[0].messages, 20);
	assert_string_equal(t.rows[1].key, "k9");
	assert_int_equal(t.rows[1].recipients, 10);
	/* Then equal rows by key. */
	assert_string_equal(t.rows[2].key, "k0");
	assert_string_equal(t.rows[3].key, "k1");
	assert_string_equal(t.rows[4].key, "k10");
	tally_free(&t);

	/* An empty key is shown, and counted, as "-". */
	assert_non_null(tally_add(&t, "", 1, 2));
	assert_non_null(tally_add(&t, "-", 1, 3));
	assert_int_equal(t.n, 1);
	assert_int_equal(tally_find(&t, "-")->recipients, 5);
	assert_null(tally_find(&t, ""));
	tally_free(&t);
}

static void
test_rfc2047_words(void **state)
{
	static const char *const cases[][2] = {
		{ "=?UTF-8?B?0JLQsNGI?=", "\xd0\x92\xd0\xb0\xd1\x88" },
		{ "=?iso-8859-1?q?caf=E9_ok?=", "caf\xc3\xa9 ok" },
		/* Space between two words is not text; before plain text it is. */
		{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
		{ "=?utf-8?q?a?= b", "a b" },
		/* ...nor before something that only starts like a word. */
		{ "=?utf-8?q?a?= =?x", "a =?x" },
		{ "=??q?a?= x", "=??q?a?= x" },			/* no charset */
		{ "=?no-such-charset?q?a?=", "=?no-such-charset?q?a?=" },
		{ "=?utf-8?x?a?=", "=?utf-8?x?a?=" },		/* no such encoding */
		{ "plain", "plain" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		queue_decode_2047(cases[i][0], out, sizeof out);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("%s: got \"%s\", expected \"%s\"", cases[i][0], out, cases[i][1]);
	}
	queue_decode_2047("=?utf-8?q?abcdef?=", out, 4);
	assert_string_equal(out, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_grammar),
		cmocka_unit_test(test_json_members_and_decoding),
		cmocka_unit_test(test_times),
		cmocka_unit_test_setup_teardown(test_torn_and_invalid_lines, setup, teardown),
		cmocka_unit_test(rec_str__untidy_paths__cwd_and_script_tidied_others_as_written),
		cmocka_unit_test_setup_teardown(test_overlong_line_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vhosts, setup, teardown),
		cmocka_unit_test(test_tally_order_and_growth),
		cmocka_unit_test(test_rfc2047_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
