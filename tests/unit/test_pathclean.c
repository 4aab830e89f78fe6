/* test_pathclean.c: path_clean, on a table of paths and against a reference on random ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathclean.h"

static void
check(const char *in, const char *want)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof buf, "%s", in);
	n = path_clean(buf);
	if (strcmp(buf, want) != 0) {
		print_error("path_clean(\"%s\") is \"%s\", not \"%s\"\n", in, buf, want);
		fail();
	}
	assert_int_equal(n, strlen(want));
}

static void
path_clean__slashes_and_dots__one_slash(void **state)
{
	(void)state;
	check("/var/www//vhosts///shop/x.php", "/var/www/vhosts/shop/x.php");
	check("/home/u/./bin/./notify.pl", "/home/u/bin/notify.pl");
	check("/home/u/bin/.", "/home/u/bin");
	check("/home/u/bin/", "/home/u/bin");
	check("/home/u/bin//.//", "/home/u/bin");
	check("//x", "/x");
	check("/./././x", "/x");
	check("x//y/./z/", "x/y/z");
	check("./x.php", "x.php");
}

static void
path_clean__dot_dot__kept_as_it_is(void **state)
{
	(void)state;
	/* "a/b/.." is not "a" when b is a link: only the system may resolve it. */
	check("/a/b/../c", "/a/b/../c");
	check("/a/b/..", "/a/b/..");
	check("/../x", "/../x");
	check("../../x", "../../x");
	check("/a/./../b//..", "/a/../b/..");
}

static void
path_clean__names_with_dots__kept(void **state)
{
	(void)state;
	check("/a/.b/c.", "/a/.b/c.");
	check("/a/.../x", "/a/.../x");
	check("/a/..b/b..", "/a/..b/b..");
	check("/home/u/.config/./x", "/home/u/.config/x");
}

static void
path_clean__root_empty_and_relative_dots(void **state)
{
	(void)state;
	check("/", "/");
	check("//", "/");
	check("/.", "/");
	check("/./", "/");
	check("///.//.", "/");
	check("", "");
	check(".", ".");
	check("./", ".");
	check(".//./", ".");
	check("?", "?");
	check("x", "x");
}

/* The reference: split on '/', keep every component but "" and ".", join. */
static void
reference(const char *in, char *out)
{
	const char *p = in;
	size_t o = 0;
	int root = in[0] == '/', any = 0;

	if (in[0] == '\0') {
		out[0] = '\0';
		return;
	}
	if (root)
		out[o++] = '/';
	while (*p) {
		size_t k = strcspn(p, "/");

		if (k > 0 && !(k == 1 && p[0] == '.')) {
			if (any)
				out[o++] = '/';
			memcpy(out + o, p, k);
			o += k;
			any = 1;
		}
		p += k;
		if (*p == '/')
			p++;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
}

static void
path_clean__random_paths__as_the_reference_idempotent_never_longer(void **state)
{
	(void)state;
	static const char alphabet[] = "//..ab\xc3\xa9";
	char in[64], buf[64], want[64], again[64];

	srand(25);
	for (int t = 0; t < 200000; t++) {
		size_t n = (size_t)rand() % (sizeof in - 1), len;

		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
		in[n] = '\0';
		memcpy(buf, in, n + 1);
		len = path_clean(buf);
		reference(in, want);
		if (strcmp(buf, want) != 0) {
			print_error("path_clean(\"%s\") is \"%s\", the reference \"%s\"\n", in, buf, want);
			fail();
		}
		assert_int_equal(len, strlen(buf));
		assert_true(len <= n);
		assert_null(strstr(buf, "//"));
		assert_null(strstr(buf, "/./"));
		memcpy(again, buf, len + 1);
		path_clean(again);
		assert_string_equal(again, buf);
	}
}

static void
path_below__components_not_prefixes(void **state)
{
	(void)state;
	assert_true(path_below("/a/b", "/a/b"));
	assert_true(path_below("/a/b", "/a/b/c.php"));
	assert_true(path_below("/a/b/", "/a/b/c.php"));
	assert_true(path_below("/", "/x"));
	assert_false(path_below("/a/b", "/a/bc"));
	assert_false(path_below("/a/b", "/a"));
	assert_false(path_below("/a/b", NULL));
}

static void
path_clean_glob__inside_only__never_widened(void **state)
{
	static const char *const cases[][2] = {
		{ "/var/www//vhosts/./shop/*.php", "/var/www/vhosts/shop/*.php" },
		{ "*/.", "*/." },		/* not "*": that would match every path */
		{ "./*", "./*" },
		{ "*//", "*//" },
		{ "/a///b/././c", "/a/b/c" },
		{ "/a/[/.]/x", "/a/[/.]/x" },	/* a bracket expression: left whole */
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[64];

		snprintf(buf, sizeof buf, "%s", cases[i][0]);
		path_clean_glob(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_clean__slashes_and_dots__one_slash),
		cmocka_unit_test(path_below__components_not_prefixes),
		cmocka_unit_test(path_clean_glob__inside_only__never_widened),
		cmocka_unit_test(path_clean__dot_dot__kept_as_it_is),
		cmocka_unit_test(path_clean__names_with_dots__kept),
		cmocka_unit_test(path_clean__root_empty_and_relative_dots),
		cmocka_unit_test(path_clean__random_paths__as_the_reference_idempotent_never_longer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
