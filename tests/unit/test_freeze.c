/* test_freeze.c: the freezes file: what is read, what is refused, the round trip, and what matches. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "freeze.h"

static char dir[PATH_MAX], path[PATH_MAX + 32];
static char err[FREEZE_ERR_MAX];
static struct freezes fz;
static char text[FREEZE_FILE_MAX];

static const char GOOD[] =
    "1 1700000000 0 hold uid site 1009\n"
    "2 1700000000 1700003600 reject script - /var/www/vhosts/*/httpdocs/wp-*.php\n"
    "3 1700000000 0 hold cwd - /var/www/vhosts/shop.example/httpdocs/tmp dir\n"
    "4 1700000000 0 hold vhost blog.example /var/www/vhosts/blog.example\n";

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof dir, "freeze") < 0)
		return -1;
	snprintf(path, sizeof path, "%s/freeze", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void
put(const char *s, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
freeze_load__good_file__every_field_and_the_round_trip(void **state)
{
	(void)state;
	put(GOOD, 0640);
	assert_int_equal(freeze_load(path, getuid(), &fz, err), 1);
	assert_int_equal(fz.n, 4);
	assert_int_equal(fz.f[0].id, 1);
	assert_int_equal(fz.f[0].by, FREEZE_UID);
	assert_string_equal(fz.f[0].name, "site");
	assert_string_equal(fz.f[0].value, "1009");
	assert_int_equal(fz.f[1].action, LIMIT_REJECT);
	assert_int_equal(fz.f[1].until, 1700003600);
	/* The value is the rest of the line, spaces and all. */
	assert_string_equal(fz.f[2].value, "/var/www/vhosts/shop.example/httpdocs/tmp dir");
	assert_int_equal(freeze_format(&fz, text), strlen(GOOD));
	assert_memory_equal(text, GOOD, strlen(GOOD));
}

static void
freeze_load__none_or_empty__no_freezes(void **state)
{
	(void)state;
	assert_int_equal(freeze_load(path, getuid(), &fz, err), 0);
	assert_int_equal(fz.n, 0);
	put("", 0640);
	assert_int_equal(freeze_load(path, getuid(), &fz, err), 1);
	assert_int_equal(fz.n, 0);
}

static void
freeze_load__unsafe_or_malformed__refused_whole(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"1 1700000000 0 hold uid site 1009",		/* no newline at its end */
		"0 1700000000 0 hold uid - 1009\n",		/* id 0 */
		"1 1700000000 0 keep uid - 1009\n",		/* action */
		"1 1700000000 0 hold gid - 1009\n",		/* by */
		"1 1700000000 0 hold uid - 10x9\n",		/* uid */
		"1 1700000000 0 hold uid - -1\n",
		"1 1700000000 0 hold cwd - tmp\n",		/* relative */
		"1 1700000000 0 hold script -\n",		/* no value */
		"1 +1700000000 0 hold uid - 1\n",		/* a sign */
		"1 1700000000 0 hold script - /a\tb\n",	/* a control byte */
		"1 1700000000 0 hold uid - 1\n\n",		/* an empty line */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put(bad[i], 0640);
		fz.n = 5;
		assert_int_equal(freeze_load(path, getuid(), &fz, err), -1);
		assert_int_equal(fz.n, 0);
	}
	put(GOOD, 0660);	/* writable by its group */
	assert_int_equal(freeze_load(path, getuid(), &fz, err), -1);
	assert_non_null(strstr(err, "writable by root only"));
	put(GOOD, 0640);
	assert_int_equal(freeze_load(path, getuid() + 1, &fz, err), getuid() == 0 ? 1 : -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(freeze_load(path, getuid(), &fz, err), -1);
}

static void
freeze_match__each_kind_first_in_force_wins(void **state)
{
	(void)state;
	const struct freeze *f;

	put(GOOD, 0640);
	assert_int_equal(freeze_load(path, getuid(), &fz, err), 1);
	f = freeze_match(&fz, 1009, NULL, "/", 1700000001);
	assert_non_null(f);
	assert_int_equal(f->id, 1);
	assert_null(freeze_match(&fz, 1010, NULL, "/", 1700000001));
	/* '*' crosses '/' as in qwrap grep --script. */
	f = freeze_match(&fz, 1010, "/var/www/vhosts/a/b/httpdocs/wp-mail.php", "/", 1700000001);
	assert_non_null(f);
	assert_int_equal(f->id, 2);
	/* Ended an hour in. */
	assert_null(freeze_match(&fz, 1010, "/var/www/vhosts/a/b/httpdocs/wp-mail.php", "/",
	    1700003600));
	f = freeze_match(&fz, 1010, NULL, "/var/www/vhosts/shop.example/httpdocs/tmp dir/x", 1);
	assert_int_equal(f->id, 3);
	assert_null(freeze_match(&fz, 1010, NULL, "/var/www/vhosts/shop.example/httpdocs/tmp dirt", 1));
	f = freeze_match(&fz, 1010, "/var/www/vhosts/blog.example/httpdocs/x.php", "/tmp", 1);
	assert_int_equal(f->id, 4);
	f = freeze_match(&fz, 1010, NULL, "/var/www/vhosts/blog.example", 1);
	assert_int_equal(f->id, 4);
	assert_true(freeze_may_match(&fz, 1010, 1));	/* script, cwd, vhost freezes: anyone */
	fz.n = 1;
	assert_false(freeze_may_match(&fz, 1010, 1));
	assert_true(freeze_may_match(&fz, 1009, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(freeze_load__good_file__every_field_and_the_round_trip),
		T(freeze_load__none_or_empty__no_freezes),
		T(freeze_load__unsafe_or_malformed__refused_whole),
		T(freeze_match__each_kind_first_in_force_wins),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
