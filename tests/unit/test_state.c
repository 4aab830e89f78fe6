/* test_state.c: install.state parsing, the format round trip, and the refusals and deadline check the set-gid wrapper relies on. */
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

#include "state.h"

static char dir[PATH_MAX], path[PATH_MAX + 32];
static char err[STATE_ERR_MAX];

static const char GOOD[] =
    "version=1\ntarget=/var/qmail/bin/sendmail\noriginal=/var/qmail/bin/sendmail-qmail\n"
    "wrapper=/usr/local/sbin/qwrap-sendmail\ndev=2049\nino=123456\nmode=755\nuid=0\ngid=0\n"
    "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "enabled_at=1700000000\nlog_offset=42\nlog_ino=77\ndeadline=1700003600\nsession=00112233aabbccdd\n"
    "scheduler=timer\njob=4242\n";

static int
setup(void **state)
{
	(void)state;
	char home[PATH_MAX + 32];

	if (tmpdir_make(dir, sizeof dir, "state") < 0)
		return -1;
	snprintf(home, sizeof home, "%s/%s", dir, STATE_HOME);
	snprintf(path, sizeof path, "%s/%s", dir, STATE_NAME);
	return mkdir(home, 0750);
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void
write_file(const char *text, mode_t mode)
{
	assert_int_equal(tmpdir_write(path, text, strlen(text), mode), 0);
}

static void
state_parse__good_file__every_field(void **state)
{
	struct install_state s;

	(void)state;
	assert_int_equal(state_parse(GOOD, sizeof GOOD - 1, &s, err), 0);
	assert_string_equal(s.target, "/var/qmail/bin/sendmail");
	assert_string_equal(s.original, "/var/qmail/bin/sendmail-qmail");
	assert_int_equal(s.ino, 123456);
	assert_int_equal(s.mode, 0755);
	assert_int_equal(s.deadline, 1700003600);
	assert_string_equal(s.session, "00112233aabbccdd");
	assert_string_equal(s.scheduler, "timer");
	assert_string_equal(s.job, "4242");
}

static void
state_format__parse__round_trip(void **state)
{
	struct install_state a, b;
	char buf[STATE_FILE_MAX];
	size_t n;

	(void)state;
	assert_int_equal(state_parse(GOOD, sizeof GOOD - 1, &a, err), 0);
	n = state_format(&a, buf, sizeof buf);
	assert_true(n < sizeof buf);
	assert_memory_equal(buf, GOOD, sizeof GOOD - 1);
	assert_int_equal(state_parse(buf, n, &b, err), 0);
	assert_memory_equal(&a, &b, sizeof a);
}

static void
state_parse__malformed__refused_with_reason(void **state)
{
	static const char head[] = "target=/a\noriginal=/b\nwrapper=/c\n";
	static const char sum[] =
	    "sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
	static const struct { const char *with_sum, *tail; } bad[] = {
		{ "", "" },				/* no sha256 */
		{ sum, "target=relative\n" },		/* not absolute */
		{ sum, "no equals sign\n" },
		{ sum, "deadline=12x\n" },
		{ sum, "deadline=-5\n" },
		{ sum, "session=0123456789abcdef0\n" },	/* one digit too many */
		{ sum, "mode=9\n" },			/* not octal */
	};
	struct install_state s;
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(buf, sizeof buf, "%s%s%s", head, bad[i].with_sum, bad[i].tail);

		err[0] = '\0';
		assert_int_equal(state_parse(buf, (size_t)n, &s, err), -1);
		assert_true(err[0] != '\0');
	}
	/* A NUL inside a line is refused, not read as the end of the file. */
	assert_int_equal(state_parse("target=/a\0b\n", 12, &s, err), -1);
}

static void
state_save__load_retire__round_trip(void **state)
{
	struct install_state a, b;

	(void)state;
	assert_int_equal(state_parse(GOOD, sizeof GOOD - 1, &a, err), 0);
	assert_int_equal(state_save(dir, getgid(), &a, err), 0);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &b, err), 1);
	assert_memory_equal(&a, &b, sizeof a);
	/* Retired, the session is over and its record is kept as install.last. */
	assert_int_equal(state_retire(dir, err), 0);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &b, err), 0);
	assert_int_equal(state_load(dir, STATE_LAST, getuid(), &b, err), 1);
	assert_memory_equal(&a, &b, sizeof a);
}

static void
state_load__writable_by_others_or_symlink__refused(void **state)
{
	struct install_state s;
	char other[PATH_MAX + 32];

	(void)state;
	write_file(GOOD, 0666);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), -1);
	assert_non_null(strstr(err, "writable by nobody else"));
	snprintf(other, sizeof other, "%s/elsewhere", dir);
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(chmod(other, 0640), 0);	/* refused for being a link, not for its mode */
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), -1);
	assert_non_null(strstr(err, "cannot open"));
}

static void
state_load__larger_than_the_limit__refused(void **state)
{
	static char big[STATE_FILE_MAX + 64];
	struct install_state s;

	(void)state;
	memset(big, '\n', sizeof big - 1);
	memcpy(big, GOOD, sizeof GOOD - 1);
	write_file(big, 0640);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), -1);
	assert_non_null(strstr(err, "larger than"));
}

static void
state_session_over__deadline_edges(void **state)
{
	(void)state;
	assert_int_equal(state_session_over(dir, getuid(), 1800000000), 0);	/* no file */
	write_file(GOOD, 0640);
	assert_int_equal(state_session_over(dir, getuid(), 1700003599), 0);
	assert_int_equal(state_session_over(dir, getuid(), 1700003600), 1);
	assert_int_equal(state_session_over(dir, getuid(), 1800000000), 1);
	/* No deadline: capture until --revert. */
	{
		char text[sizeof GOOD + 8];
		char *d;

		memcpy(text, GOOD, sizeof GOOD);
		d = strstr(text, "deadline=");
		memcpy(d, "deadline=0\nx=", 13);
		write_file(text, 0640);
		assert_int_equal(state_session_over(dir, getuid(), 1800000000), 0);
	}
	/* A file others could write is not believed: capture goes on. */
	write_file(GOOD, 0666);
	assert_int_equal(state_session_over(dir, getuid(), 1800000000), 0);
}

/* An older install's files in the state directory itself: read there, then moved in. */
static void
state_home__older_install__read_then_moved_in_never_over_newer(void **state)
{
	char old[PATH_MAX + 32], home[PATH_MAX + 32];
	struct install_state s;
	struct stat st;

	(void)state;
	snprintf(old, sizeof old, "%s/%s", dir, STATE_OLD_NAME);
	snprintf(home, sizeof home, "%s/%s", dir, STATE_HOME);
	assert_int_equal(rmdir(home), 0);
	assert_int_equal(tmpdir_write(old, GOOD, strlen(GOOD), 0640), 0);
	assert_int_equal(state_session_over(dir, getuid(), 1800000000), 1);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), 1);
	if (geteuid() != 0)
		skip();	/* the directory is made root's */
	assert_int_equal(state_home(dir, getgid(), err), 0);
	assert_int_equal(stat(home, &st), 0);
	assert_true(S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0750);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), 1);
	/* Never over the one in its home. */
	assert_int_equal(tmpdir_write(old, "junk\n", 5, 0640), 0);
	assert_int_equal(state_home(dir, getgid(), err), 0);
	assert_int_equal(state_load(dir, STATE_NAME, getuid(), &s, err), 1);
	assert_int_equal(access(old, F_OK), 0);
	/* A home something else made is refused. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(home), 0);
	assert_int_equal(mkdir(home, 0777), 0);
	assert_int_equal(chown(home, 1, 1), 0);
	assert_int_equal(state_home(dir, getgid(), err), -1);
	assert_non_null(strstr(err, "must be a directory of root's"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_parse__good_file__every_field),
		cmocka_unit_test(state_format__parse__round_trip),
		cmocka_unit_test(state_parse__malformed__refused_with_reason),
		cmocka_unit_test_setup_teardown(state_save__load_retire__round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(state_load__writable_by_others_or_symlink__refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(state_load__larger_than_the_limit__refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(state_session_over__deadline_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    state_home__older_install__read_then_moved_in_never_over_newer, setup, teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
