/* test_fpmstatus.c: the FastCGI request for php-fpm's status page and the reader of its answer (wrapper/fpmstatus.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fpmstatus.h"

/*
 * php-fpm 8.2's answer to ?full&json for a pool of two, one running
 * slow.php for a request whose query string tried to add a "script" of its
 * own (escaped by php-fpm), in three records.
 */
static const char page[] =
    "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: application/json\r\n\r\n"
    "{\"pool\":\"site\",\"process manager\":\"static\",\"start time\":1795751050,"
    "\"slow requests\":0, \"processes\":[{\"pid\":11403,\"state\":\"Running\","
    "\"start time\":1795751050,\"requests\":1,\"request method\":\"GET\","
    "\"request uri\":\"\\/slow.php?a=x\\n\\\"script\\\":\\\"\\/evil\\\", b\\\\\","
    "\"content length\":0,\"user\":\"-\",\"script\":\"\\/srv\\/site\\/httpdocs\\/slow.php\","
    "\"last request cpu\":0.00,\"last request memory\":0},{\"pid\":11404,\"state\":\"Idle\","
    "\"request uri\":\"-\",\"user\":\"-\",\"script\":\"-\",\"last request cpu\":0.00}]}";

static size_t
record(unsigned char *o, int type, const char *body, size_t n, int pad)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
	    (unsigned char)n, (unsigned char)pad, 0 };

	memcpy(o, h, 8);
	memcpy(o + 8, body, n);
	memset(o + 8 + n, 0, (size_t)pad);
	return 8 + n + (size_t)pad;
}

static size_t
answer(unsigned char *o)
{
	size_t n = 0, half = 100;

	n += record(o + n, 6, page, half, 3);
	n += record(o + n, 7, "warn", 4, 0);
	n += record(o + n, 6, page + half, sizeof page - 1 - half, 0);
	n += record(o + n, 3, "\0\0\0\0\0\0\0\0", 8, 0);
	return n;
}

static void
reader__running_worker__its_script_whole_or_byte_by_byte(void **state)
{
	unsigned char a[2048];
	struct fpm_reader r;
	size_t n = answer(a);
	int found = 0;

	(void)state;
	fpm_reader_init(&r, 11403);
	assert_true(fpm_reader_feed(&r, a, n));
	assert_string_equal(r.script, "/srv/site/httpdocs/slow.php");
	fpm_reader_init(&r, 11403);
	for (size_t i = 0; i < n && !found; i++)
		found = fpm_reader_feed(&r, a + i, 1);
	assert_true(found);
	assert_string_equal(r.script, "/srv/site/httpdocs/slow.php");
}

static void
reader__idle_or_unknown_worker__none(void **state)
{
	unsigned char a[2048];
	struct fpm_reader r;
	size_t n = answer(a);

	(void)state;
	fpm_reader_init(&r, 11404);	/* idle: "script": "-" */
	assert_false(fpm_reader_feed(&r, a, n));
	assert_true(r.ended);
	fpm_reader_init(&r, 1140);	/* a pid that is a prefix of another */
	assert_false(fpm_reader_feed(&r, a, n));
	assert_string_equal(r.script, "");
}

/* The page, in one STDOUT record, with FROM replaced by TO once. */
static size_t
variant(unsigned char *o, const char *from, const char *to)
{
	static char text[4096];
	const char *at = strstr(page, from);
	int n = snprintf(text, sizeof text, "%.*s%s%s", (int)(at - page), page, to,
	    at + strlen(from));

	return record(o, 6, text, (size_t)n, 0) + record(o + 8 + (size_t)n, 3, "\0\0\0\0\0\0\0\0", 8, 0);
}

static void
reader__idle_worker_or_cut_path__not_its_request(void **state)
{
	unsigned char a[8192];
	char longpath[300];
	struct fpm_reader r;
	size_t n;

	(void)state;
	/* An idle worker shows its last request's script, not the sender's. */
	n = variant(a, "\"Running\"", "\"Idle\"");
	fpm_reader_init(&r, 11403);
	assert_false(fpm_reader_feed(&r, a, n));
	n = variant(a, "\"Running\"", "\"Finishing\"");
	fpm_reader_init(&r, 11403);
	assert_true(fpm_reader_feed(&r, a, n));
	/* php-fpm cuts a path at 255 bytes: one that long may be cut. */
	memset(longpath, 'e', sizeof longpath);
	longpath[0] = '/';
	snprintf(longpath + 254, sizeof longpath - 254, ".php");	/* 258 bytes */
	n = variant(a, "\\/srv\\/site\\/httpdocs\\/slow.php", longpath);
	fpm_reader_init(&r, 11403);
	assert_false(fpm_reader_feed(&r, a, n));
	longpath[250] = '\0';
	n = variant(a, "\\/srv\\/site\\/httpdocs\\/slow.php", longpath);
	fpm_reader_init(&r, 11403);
	assert_true(fpm_reader_feed(&r, a, n));
}

static void
request__records_and_params(void **state)
{
	unsigned char q[FPM_REQUEST_MAX];
	size_t n = fpm_request("/fpm-status", q), params;
	const char *want[] = { "SCRIPT_NAME", "/fpm-status", "QUERY_STRING", "full&json",
	    "REQUEST_METHOD", "GET" };

	(void)state;
	assert_true(n > 40);
	assert_int_equal(q[1], 1);	/* BEGIN_REQUEST, a responder */
	assert_int_equal(q[9], 1);
	assert_int_equal(q[17], 4);	/* PARAMS */
	params = (size_t)q[20] << 8 | q[21];
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_non_null(memmem(q + 24, params, want[i], strlen(want[i])));
	/* An empty PARAMS and an empty STDIN end it. */
	assert_memory_equal(q + n - 16, "\1\4\0\1\0\0\0\0\1\5\0\1\0\0\0\0", 16);
	assert_int_equal(fpm_request("relative", q), 0);
}

/* The longest path the config takes fits, three times over, and the params' length says so. */
static void
request__longest_path__fits(void **state)
{
	unsigned char q[FPM_REQUEST_MAX];
	char path[CONF_FPM_PATH_MAX + 2];
	size_t n, params;

	(void)state;
	memset(path, 'p', sizeof path - 1);
	path[0] = '/';
	path[CONF_FPM_PATH_MAX + 1] = '\0';
	assert_int_equal(fpm_request(path, q), 0);
	path[CONF_FPM_PATH_MAX] = '\0';
	n = fpm_request(path, q);
	assert_true(n > 3 * CONF_FPM_PATH_MAX && n <= FPM_REQUEST_MAX);
	params = (size_t)q[20] << 8 | q[21];
	assert_int_equal(n, 24 + params + 16);
	assert_non_null(memmem(q + 24, params, path, strlen(path)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader__running_worker__its_script_whole_or_byte_by_byte),
		cmocka_unit_test(reader__idle_or_unknown_worker__none),
		cmocka_unit_test(reader__idle_worker_or_cut_path__not_its_request),
		cmocka_unit_test(request__records_and_params),
		cmocka_unit_test(request__longest_path__fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
