/* test_logfile.c: logfile_open's refusals (symlink, FIFO, directory, links, owner, mode) and logfile_append's single write and size-limit check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logfile.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 32];
static char err[LOGFILE_ERR_MAX];

/*
 * write(2) as seen by the code under test: counted while COUNTING is set, so
 * a test can prove that a record goes out in exactly one call.
 */
static int counting, nwrites;
static size_t lastwrite;

ssize_t
write(int fd, const void *buf, size_t n)
{
	if (counting) {
		nwrites++;
		lastwrite = n;
	}
	return syscall(SYS_write, fd, buf, n);
}

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof dir, "logfile") < 0)
		return -1;
	snprintf(path, sizeof path, "%s/capture.log", dir);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* Creates PATH with CONTENT and MODE (exactly, whatever the umask). */
static void
make_log(const char *p, const char *content, mode_t mode)
{
	assert_int_equal(tmpdir_write(p, content, strlen(content), mode), 0);
}

static const char *
slurp(const char *p, size_t *n)
{
	static char buf[65536];
	int fd = open(p, O_RDONLY);
	ssize_t r;

	assert_true(fd >= 0);
	r = read(fd, buf, sizeof buf - 1);
	assert_true(r >= 0);
	close(fd);
	buf[r] = '\0';
	if (n != NULL)
		*n = (size_t)r;
	return buf;
}

static void
assert_refused(uid_t trusted, const char *what)
{
	int fd = logfile_open(path, trusted, err);

	if (fd >= 0) {
		close(fd);
		fail_msg("log %s accepted", path);
	}
	assert_non_null(strstr(err, path));
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, what);
}

/* logfile_open. */

static void
logfile_open__mode_0620_root__append_only_cloexec(void **state)
{
	(void)state;
	int fd, fl;

	make_log(path, "old\n", 0620);
	fd = logfile_open(path, geteuid(), err);
	assert_true(fd >= 0);
	fl = fcntl(fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_WRONLY);
	assert_true(fl & O_APPEND);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* Opening neither truncates nor writes. */
	assert_string_equal(slurp(path, NULL), "old\n");
}

static void
logfile_open__owner_only_modes__accepted(void **state)
{
	(void)state;
	static const mode_t ok[] = { 0600, 0620, 0200, 0400, 0610, 0630 };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int fd;

		if (!(ok[i] & 0200) && geteuid() != 0)
			continue;	/* only root can open a file without owner write */
		unlink(path);
		make_log(path, "", ok[i]);
		fd = logfile_open(path, geteuid(), err);
		if (fd < 0)
			fail_msg("mode %04o refused: %s", (unsigned)ok[i], err);
		close(fd);
	}
}

static void
logfile_open__group_readable_or_world_access__refused(void **state)
{
	(void)state;
	static const mode_t bad[] = { 0640, 0660, 0644, 0604, 0602, 0601, 0622, 0624, 0666, 0670,
	    0607 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unlink(path);
		make_log(path, "", bad[i]);
		assert_refused(geteuid(), "mode");
	}
}

static void
logfile_open__symlink_to_good_log__refused(void **state)
{
	(void)state;
	char real[PATH_MAX * 2];

	snprintf(real, sizeof real, "%s/real.log", dir);
	make_log(real, "", 0620);
	assert_int_equal(symlink(real, path), 0);
	assert_refused(geteuid(), "symbolic link");
}

static void
logfile_open__fifo_without_reader__refused_at_once(void **state)
{
	(void)state;
	pid_t pid;
	int st;

	assert_int_equal(mkfifo(path, 0620), 0);
	/* In a child with an alarm: an open that blocks fails this test, not the suite. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char e[LOGFILE_ERR_MAX];

		alarm(5);
		_exit(logfile_open(path, geteuid(), e) < 0 && strstr(e, "FIFO") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("FIFO not refused at once (status %#x)", (unsigned)st);
}

static void
logfile_open__fifo_with_reader__refused(void **state)
{
	(void)state;
	int rd;

	assert_int_equal(mkfifo(path, 0620), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_refused(geteuid(), "not a regular file");
	close(rd);
}

static void
logfile_open__directory__refused(void **state)
{
	(void)state;
	assert_int_equal(mkdir(path, 0700), 0);
	assert_refused(geteuid(), "Is a directory");
}

static void
logfile_open__two_links__refused(void **state)
{
	(void)state;
	char other[PATH_MAX * 2];

	make_log(path, "", 0620);
	snprintf(other, sizeof other, "%s/hardlink", dir);
	assert_int_equal(link(path, other), 0);
	assert_refused(geteuid(), "2 links");
}

static void
logfile_open__other_owner__refused_unless_trusted(void **state)
{
	(void)state;
	int fd;

	if (geteuid() != 0)
		skip();
	make_log(path, "", 0620);
	assert_int_equal(chown(path, 1234, 0), 0);
	assert_refused(0, "owned by uid 1234");
	assert_refused(4321, "owned by uid 1234");
	assert_refused((uid_t)-1, "owned by uid 1234");
	fd = logfile_open(path, 1234, err);
	assert_true(fd >= 0);
	close(fd);
}

static void
logfile_open__missing__refused_not_created(void **state)
{
	(void)state;
	struct stat st;

	assert_refused(geteuid(), "cannot open log");
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* logfile_append. */

static void
logfile_append__two_records__appended_in_order(void **state)
{
	(void)state;
	static const char r1[] = "{\"v\":1,\"id\":\"a\"}\n", r2[] = "{\"v\":1,\"id\":\"b\"}\n";
	int fd;

	make_log(path, "{\"v\":1,\"id\":\"old\"}\n", 0620);
	fd = logfile_open(path, geteuid(), err);
	assert_true(fd >= 0);
	assert_int_equal(logfile_append(fd, path, r1, sizeof r1 - 1, err), 0);
	assert_int_equal(logfile_append(fd, path, r2, sizeof r2 - 1, err), 0);
	close(fd);
	assert_string_equal(slurp(path, NULL),
	    "{\"v\":1,\"id\":\"old\"}\n{\"v\":1,\"id\":\"a\"}\n{\"v\":1,\"id\":\"b\"}\n");
}

static void
logfile_append__record__exactly_one_write(void **state)
{
	(void)state;
	static char rec[4096];
	int fd;

	memset(rec, 'r', sizeof rec - 1);
	rec[sizeof rec - 1] = '\n';
	make_log(path, "", 0620);
	fd = logfile_open(path, geteuid(), err);
	assert_true(fd >= 0);
	nwrites = 0;
	counting = 1;
	assert_int_equal(logfile_append(fd, path, rec, sizeof rec, err), 0);
	counting = 0;
	close(fd);
	assert_int_equal(nwrites, 1);
	assert_int_equal(lastwrite, sizeof rec);
}

static void
logfile_append__other_writer_in_between__still_at_end(void **state)
{
	(void)state;
	int fd, other;
	size_t n;

	make_log(path, "", 0620);
	fd = logfile_open(path, geteuid(), err);
	other = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0 && other >= 0);
	assert_int_equal(logfile_append(fd, path, "one\n", 4, err), 0);
	assert_int_equal(write(other, "two\n", 4), 4);
	assert_int_equal(logfile_append(fd, path, "three\n", 6, err), 0);
	close(fd);
	close(other);
	assert_string_equal(slurp(path, &n), "one\ntwo\nthree\n");
}

static void
logfile_append__read_only_fd__error(void **state)
{
	(void)state;
	int fd;

	make_log(path, "x\n", 0620);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	err[0] = '\0';
	assert_int_equal(logfile_append(fd, path, "rec\n", 4, err), -1);
	assert_non_null(strstr(err, path));
	close(fd);
	assert_string_equal(slurp(path, NULL), "x\n");
}

static void
logfile_append__short_write__error_no_retry(void **state)
{
	(void)state;
	static char fillbuf[65536], rec[8192];
	int p[2], cap;
	ssize_t got;

	/* A non-blocking pipe with 4096 bytes free takes only part of 8192. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	assert_true(cap > 8192);
	assert_int_equal(write(p[1], fillbuf, (size_t)cap - 4096), cap - 4096);
	memset(rec, 'z', sizeof rec);
	nwrites = 0;
	counting = 1;
	assert_int_equal(logfile_append(p[1], "pipe", rec, sizeof rec, err), -1);
	counting = 0;
	assert_int_equal(nwrites, 1);
	assert_non_null(strstr(err, "short write"));
	/* Drain: exactly what fitted, no second attempt. */
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	got = 0;
	for (;;) {
		ssize_t r = read(p[0], fillbuf, sizeof fillbuf);

		if (r <= 0)
			break;
		got += r;
	}
	assert_int_equal(got, cap);
	close(p[0]);
	close(p[1]);
}

/* Runs in a child so that the test process keeps its own RLIMIT_FSIZE. */
static int
append_under_limit(rlim_t limit, size_t reclen)
{
	static char rec[8192];
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		char e[LOGFILE_ERR_MAX];
		int fd;

		signal(SIGXFSZ, SIG_IGN);	/* a cut write must show in the file, not kill us */
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(10);
		if ((fd = logfile_open(path, geteuid(), e)) < 0)
			_exit(11);
		memset(rec, 'L', sizeof rec);
		rec[reclen - 1] = '\n';
		if (logfile_append(fd, path, rec, reclen, e) == 0)
			_exit(0);
		_exit(strstr(e, "file size limit") != NULL ? 1 : 12);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
logfile_append__any_file_size_limit__refused_file_unchanged(void **state)
{
	(void)state;
	size_t n;

	make_log(path, "", 0620);
	{
		int fd = open(path, O_WRONLY | O_APPEND);
		char hundred[100];

		memset(hundred, 'o', sizeof hundred);
		assert_int_equal(write(fd, hundred, sizeof hundred), 100);
		close(fd);
	}
	/* 100 bytes, limit 150: a 60-byte record would be cut, so nothing is written. */
	assert_int_equal(append_under_limit(150, 60), 1);
	slurp(path, &n);
	assert_int_equal(n, 100);
	/* Limit equal to the current size: even one byte is refused. */
	assert_int_equal(append_under_limit(100, 1), 1);
	slurp(path, &n);
	assert_int_equal(n, 100);
	/* Even a record that would fit: checking first would race with other writers. */
	assert_int_equal(append_under_limit(1 << 30, 50), 1);
	slurp(path, &n);
	assert_int_equal(n, 100);
}

static void
logfile_append__no_limit__written(void **state)
{
	(void)state;
	size_t n;

	make_log(path, "", 0620);
	assert_int_equal(append_under_limit(RLIM_INFINITY, 4096), 0);
	slurp(path, &n);
	assert_int_equal(n, 4096);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(logfile_open__mode_0620_root__append_only_cloexec),
		T(logfile_open__owner_only_modes__accepted),
		T(logfile_open__group_readable_or_world_access__refused),
		T(logfile_open__symlink_to_good_log__refused),
		T(logfile_open__fifo_without_reader__refused_at_once),
		T(logfile_open__fifo_with_reader__refused),
		T(logfile_open__directory__refused),
		T(logfile_open__two_links__refused),
		T(logfile_open__other_owner__refused_unless_trusted),
		T(logfile_open__missing__refused_not_created),
		T(logfile_append__two_records__appended_in_order),
		T(logfile_append__record__exactly_one_write),
		T(logfile_append__other_writer_in_between__still_at_end),
		T(logfile_append__read_only_fd__error),
		T(logfile_append__short_write__error_no_retry),
		T(logfile_append__any_file_size_limit__refused_file_unchanged),
		T(logfile_append__no_limit__written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
