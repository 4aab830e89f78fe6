/* test_ratelimit.c: ratelimit_check with an injected clock: exact sliding windows, recipients, several rules, corrupt and busy state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "ratelimit.h"

static char dir[PATH_MAX];
static struct conf c;
static struct rl_verdict v;

static const long long T0 = 1800000000000LL;	/* ms */

static int
setup(void **state)
{
	(void)state;
	conf_defaults(&c);
	c.nlimits = 1;
	c.limits[0] = (struct conf_limit){ LIMIT_PER_UID, 3, 10, LIMIT_COUNT_MESSAGES, LIMIT_HOLD, 1 };
	return tmpdir_make(dir, sizeof dir, "ratelimit");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* 1 when a message from UID at T (ms after T0) is stopped by a rule. */
static int
send_at(long uid, long long t, long rcpt)
{
	assert_int_equal(ratelimit_check(dir, &c, uid, "/srv/a.php", "/srv", rcpt, T0 + t, &v), 0);
	return v.rule >= 0;
}

static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* The one state file of the first rule. */
static void
state_file(char out[PATH_MAX + 300])
{
	struct dirent *e;
	DIR *d = opendir(dir);

	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "limit-", 6) == 0)
			snprintf(out, PATH_MAX + 300, "%s/%s", dir, e->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

static void
ratelimit_check__sliding_window__exact_at_the_edge(void **state)
{
	(void)state;
	assert_false(send_at(1000, 0, 1));
	assert_false(send_at(1000, 1000, 1));
	assert_false(send_at(1000, 2000, 1));
	assert_true(send_at(1000, 3000, 1));		/* a fourth within 10 s */
	assert_int_equal(v.count, 3);
	assert_string_equal(v.key, "uid:1000");
	assert_int_equal(v.action, LIMIT_HOLD);
	assert_true(v.warn);				/* first firing in this window */
	assert_true(send_at(1000, 9999, 1));
	assert_false(v.warn);				/* once per window, not per message */
	assert_false(send_at(1000, 10000, 1));		/* the send at 0 left the window */
	assert_true(send_at(1000, 10999, 1));		/* 1000, 2000, 10000 are inside */
	assert_false(send_at(1000, 11000, 1));
	/* Another uid has its own count. */
	assert_false(send_at(1001, 11000, 1));
}

static void
ratelimit_check__recipients__counted_by_message_size(void **state)
{
	(void)state;
	c.limits[0].count = LIMIT_COUNT_RECIPIENTS;
	c.limits[0].max = 10;
	assert_false(send_at(1000, 0, 6));
	assert_true(send_at(1000, 1, 5));		/* 6 + 5 > 10 */
	assert_int_equal(v.count, 6);
	assert_false(send_at(1000, 2, 4));		/* 6 + 4 = 10 */
	assert_true(send_at(1000, 3, 1));
	assert_true(send_at(1001, 4, 11));		/* alone over the limit */
}

static void
ratelimit_check__held_message__not_counted_by_other_rules(void **state)
{
	(void)state;
	c.nlimits = 2;
	c.limits[0] = (struct conf_limit){ LIMIT_PER_UID, 100, 60, LIMIT_COUNT_MESSAGES, LIMIT_LOG, 1 };
	c.limits[1] = (struct conf_limit){ LIMIT_PER_SCRIPT, 1, 60, LIMIT_COUNT_MESSAGES, LIMIT_REJECT, 2 };
	assert_false(send_at(1000, 0, 1));
	for (int i = 1; i <= 5; i++) {
		assert_true(send_at(1000, i, 1));
		assert_int_equal(v.rule, 1);
		assert_string_equal(v.key, "script:1000:/srv/a.php");
	}
	/* Another script of the same uid: the uid rule saw 1 send, not 6. */
	assert_int_equal(ratelimit_check(dir, &c, 1000, "/srv/b.php", "/srv", 1, T0 + 10, &v), 0);
	assert_int_equal(v.rule, -1);
	/* The uid rule's max edited: its count (2 in the window) goes on. */
	c.limits[0].max = 2;
	assert_int_equal(ratelimit_check(dir, &c, 1000, "/srv/c.php", "/srv", 1, T0 + 11, &v), 0);
	assert_int_equal(v.rule, 0);
	assert_int_equal(v.action, LIMIT_LOG);
	assert_int_equal(v.count, 2);
}

/* The names of the limit files in DIR, sorted, joined by spaces, into OUT. */
static int
limit_files(char *out, size_t cap)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), k = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strncmp(list[i]->d_name, "limit-", 6) == 0) {
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", k ? " " : "",
			    list[i]->d_name);
			k++;
		}
		free(list[i]);
	}
	free(list);
	return k;
}

static void
ratelimit_check__max_and_action_edited__count_goes_on(void **state)
{
	char before[4096], after[4096];

	(void)state;
	assert_false(send_at(1000, 0, 1));
	assert_false(send_at(1000, 1, 1));
	assert_int_equal(limit_files(before, sizeof before), 1);
	/* max 3 to 5, hold to reject: the same file, two more allowed, not five. */
	c.limits[0].max = 5;
	c.limits[0].action = LIMIT_REJECT;
	assert_false(send_at(1000, 2, 1));
	assert_false(send_at(1000, 3, 1));
	assert_false(send_at(1000, 4, 1));
	assert_true(send_at(1000, 5, 1));
	assert_int_equal(v.count, 5);
	assert_int_equal(v.action, LIMIT_REJECT);
	/* Down to 2: reached at once, the ring grown for 5 read whole. */
	c.limits[0].max = 2;
	assert_true(send_at(1000, 6, 1));
	assert_int_equal(v.count, 5);
	/* When the first two have left the window, still 3 inside: reached. */
	assert_true(send_at(1000, 10001, 1));
	assert_int_equal(v.count, 3);
	assert_false(send_at(1000, 10005, 1));	/* all five gone */
	assert_int_equal(limit_files(after, sizeof after), 1);
	assert_string_equal(after, before);
}

static void
ratelimit_check__window_or_count_edited__a_new_count(void **state)
{
	char before[4096], after[4096];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_false(send_at(1000, i, 1));
	assert_true(send_at(1000, 3, 1));
	limit_files(before, sizeof before);
	c.limits[0].window = 20;
	assert_false(send_at(1000, 4, 1));	/* another count: the window means another thing */
	assert_int_equal(limit_files(after, sizeof after), 2);
	c.limits[0].count = LIMIT_COUNT_RECIPIENTS;
	assert_false(send_at(1000, 5, 1));
	assert_int_equal(limit_files(after, sizeof after), 3);
}

static void
ratelimit_check__two_rules_one_count__one_file_counted_once(void **state)
{
	(void)state;
	/* A log rule at 2 and a hold rule at 4 of the same per, count and window. */
	c.nlimits = 2;
	c.limits[0] = (struct conf_limit){ LIMIT_PER_UID, 2, 10, LIMIT_COUNT_MESSAGES, LIMIT_LOG, 1 };
	c.limits[1] = (struct conf_limit){ LIMIT_PER_UID, 4, 10, LIMIT_COUNT_MESSAGES, LIMIT_HOLD, 2 };
	assert_false(send_at(1000, 0, 1));
	assert_false(send_at(1000, 1, 1));
	assert_true(send_at(1000, 2, 1));
	assert_int_equal(v.rule, 0);
	assert_int_equal(v.count, 2);
	assert_true(v.warn);
	assert_true(send_at(1000, 3, 1));	/* logged and delivered: counted once, not twice */
	assert_int_equal(v.count, 3);
	assert_false(v.warn);
	assert_true(send_at(1000, 4, 1));
	assert_int_equal(v.rule, 1);		/* 4 + 1 > 4: held, the hold rule named */
	assert_int_equal(v.action, LIMIT_HOLD);
	assert_int_equal(v.count, 4);
	assert_true(v.warn);			/* a hold after the log rule's warning: said */
	assert_true(send_at(1000, 5, 1));
	assert_int_equal(v.count, 4);		/* held: not counted */
	assert_false(v.warn);
	{
		char names[4096];

		assert_int_equal(limit_files(names, sizeof names), 1);
	}
}

/* Every limit file and stamp in DIR last changed long ago: idle, and the sweep due. */
static void
age_all(void)
{
	const struct timespec t[2] = { { 1, 0 }, { 1, 0 } };
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 300];

		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		if (strncmp(list[i]->d_name, "limit-", 6) == 0 ||
		    strncmp(list[i]->d_name, "rules-", 6) == 0)
			utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
		free(list[i]);
	}
	free(list);
}

static void
ratelimit_sweep__rules_changed__only_unused_limit_files_go(void **state)
{
	char names[4096], keep[4096], path[PATH_MAX + 64];
	int removed, fd;

	(void)state;
	c.nlimits = 2;
	c.limits[1] = (struct conf_limit){ LIMIT_PER_SCRIPT, 3, 60, LIMIT_COUNT_MESSAGES, LIMIT_HOLD, 2 };
	assert_false(send_at(1000, 0, 1));
	assert_false(send_at(1001, 0, 1));
	assert_int_equal(limit_files(names, sizeof names), 4);
	/* What is not a limit file of ours stays: a directory, a link, other names. */
	snprintf(path, sizeof path, "%s/install", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof path, "%s/limit-%040d", dir, 0);
	assert_int_equal(mkdir(path, 0750), 0);	/* the name of an old file, but a directory */
	snprintf(path, sizeof path, "%s/notes", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof path, "%s/limit-%s", dir, "0123456789abcdef-x");
	assert_int_equal(symlink("/etc/passwd", path), 0);
	/* The older name of a file, the whole rule hashed: no rule counts there. */
	snprintf(path, sizeof path, "%s/limit-%s", dir, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(symlink("notes", path), 0);

	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 1);		/* the old name: a link, removed, not followed */
	snprintf(path, sizeof path, "%s/notes", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* Once per set of rules: the stamp says so. */
	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 0);

	/*
	 * The script rule goes: its two files go once they are idle (a keeper
	 * with an older config must not take a new rule's counts), the uid
	 * rule's stay, with their counts.
	 */
	limit_files(keep, sizeof keep);
	c.nlimits = 1;
	c.limits[0].max = 1;	/* an edit of max is no change of the counts */
	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 0);			/* counting still: kept */
	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 0);			/* not due: one look */
	age_all();
	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(limit_files(names, sizeof names), 4 - 2 + 2);	/* the dir and the link stay */
	assert_true(send_at(1000, 1, 1));
	assert_int_equal(v.count, 1);
	/* The window changed: the uid files go too, idle. */
	c.limits[0].window = 11;
	age_all();
	assert_int_equal(ratelimit_sweep(dir, &c, &removed), 0);
	assert_int_equal(removed, 2);
	assert_false(send_at(1000, 2, 1));
	snprintf(path, sizeof path, "%s/install", dir);
	assert_int_equal(access(path, F_OK), 0);
}

static void
ratelimit_check__log_rule__delivers_and_marks(void **state)
{
	(void)state;
	c.limits[0].action = LIMIT_LOG;
	for (int i = 0; i < 3; i++)
		assert_false(send_at(1000, i, 1));
	for (int i = 3; i < 10; i++) {
		assert_true(send_at(1000, i, 1));
		assert_int_equal(v.action, LIMIT_LOG);
	}
}

static void
ratelimit_check__ring_of_many_reads__exact(void **state)
{
	(void)state;
	/* 1000 slots: the ring is read in several pieces; the count stays exact across them. */
	c.limits[0].max = 1000;
	for (int i = 0; i < 1000; i++)
		assert_false(send_at(1000, i, 1));
	assert_true(send_at(1000, 1000, 1));
	assert_int_equal(v.count, 1000);
	/* The sends at 0..299 ms leave the window 10 s later: 300 more, and not one more. */
	for (int i = 0; i < 300; i++)
		assert_false(send_at(1000, 10299, 1));
	assert_true(send_at(1000, 10299, 1));
	assert_int_equal(v.count, 1000);
	/* At 10999 ms all the first sends have left: 700 more, in the slots past the first piece. */
	for (int i = 0; i < 700; i++)
		assert_false(send_at(1000, 10999, 1));
	assert_true(send_at(1000, 10999, 1));
	assert_int_equal(v.count, 1000);
}

static void
ratelimit_check__corrupt_state__reached_until_a_window_passed(void **state)
{
	char path[PATH_MAX + 300];
	struct timeval tv[2];
	int fd;

	(void)state;
	assert_false(send_at(1000, 0, 1));
	state_file(path);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage!", 8, 520), 8);
	close(fd);
	/* Its last change is "now" (T0 + 1 s): reached, and said, until T0 + 11 s. */
	tv[0].tv_sec = tv[1].tv_sec = (time_t)(T0 / 1000 + 1);
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(path, tv), 0);
	assert_true(send_at(1000, 2000, 1));
	assert_non_null(strstr(v.error, "corrupt"));
	assert_true(send_at(1000, 10999, 1));
	/* Never a reset before that; afterwards a fresh count. */
	assert_false(send_at(1000, 11000, 1));
	assert_string_equal(v.error, "");
	assert_false(send_at(1000, 11001, 1));
}

/* Cut to nothing (or to less than its head): the same as corrupt, never a fresh count. */
static void
ratelimit_check__state_truncated__reached_not_reset(void **state)
{
	char path[PATH_MAX + 300];
	struct timeval tv[2];

	(void)state;
	for (off_t size = 0; size <= 600; size += 300) {
		assert_false(send_at(1000 + size, 0, 1));
		assert_false(send_at(1000 + size, 1, 1));
		assert_false(send_at(1000 + size, 2, 1));
		state_file(path);
		assert_int_equal(truncate(path, size), 0);
		tv[0].tv_sec = tv[1].tv_sec = (time_t)(T0 / 1000 + 1);
		tv[0].tv_usec = tv[1].tv_usec = 0;
		assert_int_equal(utimes(path, tv), 0);
		/* 300 keeps a part of the head; 600 the head and a part of the first slot. */
		assert_true(send_at(1000 + size, 3000, 1));
		assert_non_null(strstr(v.error, "corrupt"));
		assert_false(send_at(1000 + size, 11000, 1));
		assert_int_equal(unlink(path), 0);
	}
}

/* A file size limit (the caller's) that stops the new file's head: reached, never skipped. */
static void
ratelimit_check__new_state_unwritable__reached_not_skipped(void **state)
{
	struct rlimit old, small;
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = (struct rlimit){ 100, old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_check(dir, &c, 1000, "/srv/a.php", "/srv", 1, T0 + i, &v),
		    0);
		assert_true(v.rule >= 0);
		assert_non_null(strstr(v.error, "limit state"));
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
}

/* A new file never shows empty: it is linked into place with its head, and no
 * temporary file is left beside it. */
static void
ratelimit_check__new_state__born_whole_nothing_left_beside(void **state)
{
	char path[PATH_MAX + 300];
	struct stat st;
	struct dirent *e;
	DIR *d;
	int n = 0;

	(void)state;
	assert_false(send_at(1000, 0, 1));
	state_file(path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 512 + 16);
	assert_int_equal(st.st_nlink, 1);
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	assert_int_equal(n, 1);	/* the state file: no ".new-" file left */
}

static void
ratelimit_check__state_held_by_another__bounded_wait_then_reached(void **state)
{
	char path[PATH_MAX + 300];
	struct timespec a, b;
	int fd;

	(void)state;
	assert_false(send_at(1000, 0, 1));
	state_file(path);
	fd = open(path, O_RDONLY);
	assert_int_equal(flock(fd, LOCK_EX), 0);	/* a stopped sender, mid-update */
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_true(send_at(1000, 1, 1));
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_non_null(strstr(v.error, "held by another sender"));
	/* It waited the bound, not less and not much more. */
	assert_true(ms_between(&a, &b) >= RL_WAIT_MS - 50);
	assert_true(ms_between(&a, &b) <= RL_WAIT_MS + 1500);
	/* Other keys do not wait at all. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_false(send_at(1001, 2, 1));
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(ms_between(&a, &b) < RL_WAIT_MS / 2);
	close(fd);
	assert_false(send_at(1000, 3, 1));
}

static void
ratelimit_check__state_removed_while_waiting__counted_in_a_new_file(void **state)
{
	char path[PATH_MAX + 300];
	struct stat st;
	pid_t pid;
	int fd, status;

	(void)state;
	assert_false(send_at(1000, 0, 1));
	state_file(path);
	fd = open(path, O_RDONLY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {		/* a sender that opens the file and waits for its lock */
		close(fd);	/* (the lock is the parent's alone) */
		_exit(send_at(1000, 1, 1));
	}
	usleep(300 * 1000);
	/* The admin resets the key meanwhile. */
	assert_int_equal(unlink(path), 0);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Its send is in the file that is there now, not lost with the removed one. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 512 + 16);
	assert_false(send_at(1000, 2, 1));
	assert_false(send_at(1000, 3, 1));
	assert_true(send_at(1000, 4, 1));		/* 1, 2, 3: the reset key's three */
	assert_int_equal(v.count, 3);
}

static void
ratelimit_check__unusable_state_dir__error_and_not_applied(void **state)
{
	(void)state;
	assert_int_equal(ratelimit_check("/nonexistent/qwrap", &c, 1000, NULL, "/", 1, T0, &v), -1);
	assert_int_equal(v.rule, -1);
	assert_non_null(strstr(v.error, "/nonexistent/qwrap"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ratelimit_check__sliding_window__exact_at_the_edge,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(ratelimit_check__ring_of_many_reads__exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__state_removed_while_waiting__counted_in_a_new_file, setup, teardown),
		cmocka_unit_test_setup_teardown(ratelimit_check__recipients__counted_by_message_size,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__held_message__not_counted_by_other_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__max_and_action_edited__count_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__window_or_count_edited__a_new_count, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__two_rules_one_count__one_file_counted_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_sweep__rules_changed__only_unused_limit_files_go, setup, teardown),
		cmocka_unit_test_setup_teardown(ratelimit_check__log_rule__delivers_and_marks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__corrupt_state__reached_until_a_window_passed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__state_truncated__reached_not_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__new_state__born_whole_nothing_left_beside, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__new_state_unwritable__reached_not_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__state_held_by_another__bounded_wait_then_reached, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    ratelimit_check__unusable_state_dir__error_and_not_applied, setup, teardown),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
