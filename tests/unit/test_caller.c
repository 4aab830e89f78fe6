/* test_caller.c: caller_scan_fds, caller_identify and caller_resolve_script against a made-up /proc tree in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller.h"
#include "origin.h"

#define HELD_FDS 40		/* fds 3..HELD_FDS are held, so opendir never lands on a fake fd */

static char top[PATH_MAX];	/* the temp dir */
static char proc[PATH_MAX];	/* TOP/proc, the fake procroot */
static char files[PATH_MAX];	/* TOP/files, real scripts */
static char oldcwd[PATH_MAX];
static int held[HELD_FDS + 1];
static struct caller c;

static const char *
pathf(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX * 2];
	static int k;
	char *p = bufs[k++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, PATH_MAX * 2, fmt, ap);
	va_end(ap);
	return p;
}

static void
mkdir_p(const char *path)
{
	char tmp[PATH_MAX * 2];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(tmp, 0755);
			*s = '/';
		}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", tmp, strerror(errno));
}

static void
write_file(const char *path, const void *data, size_t n)
{
	assert_int_equal(tmpdir_write(path, data, n, 0644), 0);
}

static void
link_to(const char *target, const char *path)
{
	unlink(path);
	if (symlink(target, path) < 0)
		fail_msg("symlink %s -> %s: %s", path, target, strerror(errno));
}

static int
setup(void **state)
{
	(void)state;
	if (getcwd(oldcwd, sizeof oldcwd) == NULL)
		return -1;
	if (tmpdir_make(top, sizeof top, "caller") < 0)
		return -1;
	snprintf(proc, sizeof proc, "%s/proc", top);
	snprintf(files, sizeof files, "%s/files", top);
	mkdir_p(pathf("%s/self/fd", proc));
	mkdir_p(files);
	memset(&c, 0, sizeof c);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (chdir(oldcwd) < 0)
		return -1;
	return tmpdir_remove(top);
}

/* Holds every free fd from 3 to HELD_FDS open on /dev/null. */
static int
hold_fds(void **state)
{
	(void)state;
	for (int fd = 3; fd <= HELD_FDS; fd++) {
		held[fd] = 0;
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDONLY);

			if (n < 0)
				return -1;
			if (n != fd) {
				if (dup2(n, fd) < 0)
					return -1;
				close(n);
			}
			held[fd] = 1;
		}
	}
	return 0;
}

static int
release_fds(void **state)
{
	(void)state;
	for (int fd = 3; fd <= HELD_FDS; fd++)
		if (held[fd])
			close(fd);
	return 0;
}

/* A fake process: status, and optionally cmdline, exe, cwd. */
static void
fake_proc(long pid, long ruid, long euid, long ppid, const char *exe, const char *cmdline,
    size_t cmdlen, const char *cwd)
{
	char status[512];
	int n;

	mkdir_p(pathf("%s/%ld", proc, pid));
	n = snprintf(status, sizeof status,
	    "Name:\tproc%ld\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%ld\nNgid:\t0\n"
	    "Pid:\t%ld\nPPid:\t%ld\nTracerPid:\t0\nUid:\t%ld\t%ld\t%ld\t%ld\n"
	    "Gid:\t100\t100\t100\t100\nFDSize:\t64\n",
	    pid, pid, pid, ppid, ruid, euid, euid, euid);
	write_file(pathf("%s/%ld/status", proc, pid), status, (size_t)n);
	if (exe != NULL)
		link_to(exe, pathf("%s/%ld/exe", proc, pid));
	if (cmdline != NULL)
		write_file(pathf("%s/%ld/cmdline", proc, pid), cmdline, cmdlen);
	if (cwd != NULL)
		link_to(cwd, pathf("%s/%ld/cwd", proc, pid));
}

#define CMD(lit) (lit), sizeof(lit)	/* cmdline bytes, final NUL included as the kernel has it */

static void
fake_environ(long pid, const char *env, size_t n)
{
	write_file(pathf("%s/%ld/environ", proc, pid), env, n);
}

static void
fake_fd(int fd, const char *target)
{
	link_to(target, pathf("%s/self/fd/%d", proc, fd));
}

/* Creates FILES/NAME; the path returned stays valid for the next 16 calls. */
static const char *
real_file(const char *name)
{
	static char ring[16][PATH_MAX * 2];
	static int k;
	char *p = ring[k++ % 16];

	snprintf(p, PATH_MAX * 2, "%s/%s", files, name);
	write_file(p, "<?php\n", 6);
	return p;
}

static void
identify(long uid, long ppid, char *const envp[])
{
	caller_identify(proc, uid, uid, 4243, ppid, envp, &c);
}

/* caller_scan_fds. */

static void
caller_scan_fds__several_php__lowest_fd(void **state)
{
	(void)state;
	char out[PATH_MAX];
	const char *a = real_file("a.php"), *b = real_file("b.php");

	fake_fd(9, real_file("c.php"));
	fake_fd(5, b);
	fake_fd(4, a);
	assert_int_equal(caller_scan_fds(proc, out), 1);
	assert_string_equal(out, a);
}

static void
caller_scan_fds__non_scripts_skipped__real_php_found(void **state)
{
	(void)state;
	char out[PATH_MAX];
	const char *dir = pathf("%s/dir.php", files);
	const char *want;

	mkdir_p(dir);
	fake_fd(3, real_file("notes.txt"));
	fake_fd(4, "pipe:[123456]");
	fake_fd(5, "/x.php (deleted)");
	fake_fd(6, dir);
	fake_fd(7, "socket:[99]");
	fake_fd(8, pathf("%s/gone.php", files));	/* dangling */
	fake_fd(10, "relative.php");
	want = real_file("real.php");
	fake_fd(12, want);
	assert_int_equal(caller_scan_fds(proc, out), 1);
	assert_string_equal(out, want);
}

static void
caller_scan_fds__only_stdio_fds__none(void **state)
{
	(void)state;
	char out[PATH_MAX] = "junk";

	fake_fd(0, real_file("zero.php"));
	fake_fd(1, real_file("one.php"));
	fake_fd(2, real_file("two.php"));
	assert_int_equal(caller_scan_fds(proc, out), 0);
	assert_string_equal(out, "");
}

static void
caller_scan_fds__deleted_script__none(void **state)
{
	(void)state;
	char out[PATH_MAX];

	fake_fd(3, pathf("%s/x.php (deleted)", files));
	real_file("x.php (deleted)");	/* even when such a file happens to exist */
	assert_int_equal(caller_scan_fds(proc, out), 0);
	assert_string_equal(out, "");
}

static void
caller_scan_fds__php_variants__accepted_and_rejected(void **state)
{
	(void)state;
	static const struct { const char *name; int ok; } cases[] = {
		{ "a.php", 1 }, { "a.php5", 1 }, { "a.php8", 1 }, { "a.phtml", 1 },
		{ "a.php.bak", 0 }, { "a.phps", 0 }, { "a.PHP", 0 }, { "a.txt", 0 },
		{ "php", 0 }, { "a.inc", 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[PATH_MAX];
		const char *p = real_file(cases[i].name);

		fake_fd(3, p);
		assert_int_equal(caller_scan_fds(proc, out), cases[i].ok);
		if (cases[i].ok)
			assert_string_equal(out, p);
	}
}

static void
caller_scan_fds__odd_entries__ignored(void **state)
{
	(void)state;
	char out[PATH_MAX];
	const char *p = real_file("ok.php");

	link_to(real_file("abc.php"), pathf("%s/self/fd/abc", proc));
	link_to(real_file("n.php"), pathf("%s/self/fd/3x", proc));
	link_to(real_file("neg.php"), pathf("%s/self/fd/-4", proc));
	fake_fd(20, p);
	assert_int_equal(caller_scan_fds(proc, out), 1);
	assert_string_equal(out, p);
}

static void
caller_scan_fds__no_fd_directory__none(void **state)
{
	(void)state;
	char out[PATH_MAX] = "junk";

	assert_int_equal(caller_scan_fds(pathf("%s/nonexistent", top), out), 0);
	assert_string_equal(out, "");
}

static void
caller_scan_fds__real_proc_open_scripts__lowest_found(void **state)
{
	(void)state;
	char out[PATH_MAX];
	const char *p1 = real_file("first.php"), *p2 = real_file("second.php");
	int fd1 = open(p1, O_RDONLY), fd2 = open(p2, O_RDONLY);

	assert_true(fd1 > HELD_FDS);
	assert_true(fd2 > fd1);
	assert_int_equal(caller_scan_fds("/proc", out), 1);
	assert_string_equal(out, p1);
	close(fd1);
	close(fd2);
}

/* caller_identify. */

static void
caller_identify__same_uid_chain__stops_at_root_parent(void **state)
{
	(void)state;
	fake_proc(100, 1009, 1009, 99, "/usr/bin/dash", CMD("sh\0-c\0/usr/sbin/sendmail -t -i"), files);
	fake_proc(99, 1009, 1009, 98, "/usr/bin/php8.2", CMD("php\0x.php"), files);
	fake_proc(98, 0, 0, 1, "/usr/sbin/cron", CMD("/usr/sbin/cron\0-f"), "/");
	fake_proc(1, 0, 0, 0, "/sbin/init", CMD("/sbin/init"), "/");
	identify(1009, 100, NULL);
	assert_int_equal(c.uid, 1009);
	assert_int_equal(c.gid, 1009);
	assert_int_equal(c.pid, 4243);
	assert_int_equal(c.nparents, 2);
	assert_int_equal(c.parents[0].pid, 100);
	assert_int_equal(c.parents[0].uid, 1009);
	assert_string_equal(c.parents[0].exe, "/usr/bin/dash");
	assert_int_equal(c.parents[0].argvlen, sizeof "sh\0-c\0/usr/sbin/sendmail -t -i" - 1);
	assert_memory_equal(c.parents[0].argv, "sh\0-c\0/usr/sbin/sendmail -t -i",
	    c.parents[0].argvlen);
	assert_int_equal(c.parents[1].pid, 99);
	assert_string_equal(c.parents[1].exe, "/usr/bin/php8.2");
	assert_int_equal(c.parents[1].argvlen, 9);
	assert_memory_equal(c.parents[1].argv, "php\0x.php", 9);
}

static void
caller_identify__long_chain__four_levels(void **state)
{
	(void)state;
	for (long pid = 200; pid > 193; pid--)
		fake_proc(pid, 1009, 1009, pid - 1, "/bin/bash", CMD("bash"), "/");
	identify(1009, 200, NULL);
	assert_int_equal(c.nparents, RECORD_MAX_PARENTS);
	for (int i = 0; i < RECORD_MAX_PARENTS; i++)
		assert_int_equal(c.parents[i].pid, 200 - i);
}

static void
caller_identify__root_parent__not_recorded(void **state)
{
	(void)state;
	fake_proc(300, 0, 0, 1, "/usr/sbin/php-fpm8.2", CMD("php-fpm: pool www"), "/");
	identify(1009, 300, NULL);
	assert_int_equal(c.nparents, 0);
}

static void
caller_identify__setuid_parent__stops(void **state)
{
	(void)state;
	/* Real uid ours, effective uid root: not the caller's own process. */
	fake_proc(310, 1009, 0, 309, "/usr/bin/sudo", CMD("sudo\0x"), "/");
	fake_proc(309, 1009, 1009, 1, "/bin/bash", CMD("bash"), "/");
	identify(1009, 310, NULL);
	assert_int_equal(c.nparents, 0);
}

static void
caller_identify__root_caller__root_parents_recorded(void **state)
{
	(void)state;
	fake_proc(320, 0, 0, 319, "/bin/sh", CMD("/bin/sh\0-c\0sendmail -t"), "/");
	fake_proc(319, 0, 0, 0, "/usr/sbin/cron", CMD("/usr/sbin/cron\0-f"), "/");
	identify(0, 320, NULL);
	assert_int_equal(c.nparents, 2);
	assert_int_equal(c.parents[1].pid, 319);
}

static void
caller_identify__missing_status__no_parents(void **state)
{
	(void)state;
	identify(1009, 4000, NULL);
	assert_int_equal(c.nparents, 0);
	identify(1009, 0, NULL);
	assert_int_equal(c.nparents, 0);
}

static void
caller_identify__missing_exe_and_cmdline__empty_values(void **state)
{
	(void)state;
	fake_proc(330, 1009, 1009, 0, NULL, NULL, 0, NULL);
	identify(1009, 330, NULL);
	assert_int_equal(c.nparents, 1);
	assert_int_equal(c.parents[0].pid, 330);
	assert_string_equal(c.parents[0].exe, "");
	assert_int_equal(c.parents[0].argvlen, 0);
}

static void
caller_identify__long_cmdline__cut_nul_terminated(void **state)
{
	(void)state;
	static char cmd[5000];

	for (size_t i = 0; i < sizeof cmd; i++)
		cmd[i] = i % 100 == 99 ? '\0' : 'a';
	fake_proc(340, 1009, 1009, 0, "/usr/bin/perl", cmd, sizeof cmd, "/");
	identify(1009, 340, NULL);
	assert_int_equal(c.nparents, 1);
	assert_true(c.parents[0].argvlen > 0);
	assert_true(c.parents[0].argvlen < CALLER_ARGV_MAX);
	/* Past the record's cut, so the record is cut and marked truncated too. */
	assert_true(c.parents[0].argvlen > RECORD_PARGV_CUT);
	assert_int_equal(c.parents[0].argv[c.parents[0].argvlen], '\0');
	assert_memory_equal(c.parents[0].argv, cmd, c.parents[0].argvlen);
}

static void
caller_identify__status_symlink__not_followed(void **state)
{
	(void)state;
	char status[256];
	int n;

	/* A status reached through a symlink is refused (read with O_NOFOLLOW). */
	mkdir_p(pathf("%s/350", proc));
	n = snprintf(status, sizeof status, "Name:\tx\nPPid:\t0\nUid:\t1009\t1009\t1009\t1009\n");
	write_file(pathf("%s/fake-status", files), status, (size_t)n);
	link_to(pathf("%s/fake-status", files), pathf("%s/350/status", proc));
	identify(1009, 350, NULL);
	assert_int_equal(c.nparents, 0);
}

static void
caller_identify__cwd__from_getcwd(void **state)
{
	(void)state;
	char want[PATH_MAX];

	assert_int_equal(chdir(files), 0);
	assert_non_null(getcwd(want, sizeof want));
	identify(1009, 0, NULL);
	assert_string_equal(c.cwd, want);
}

static void
caller_identify__removed_cwd__question_mark(void **state)
{
	(void)state;
	const char *gone = pathf("%s/gone", top);

	mkdir_p(gone);
	assert_int_equal(chdir(gone), 0);
	assert_int_equal(rmdir(gone), 0);
	identify(1009, 0, NULL);
	assert_string_equal(c.cwd, "?");
}

static void
caller_identify__envp__claimed_cgi_vars_collected(void **state)
{
	(void)state;
	char *envp[] = {
		"PATH=/usr/bin", "REMOTE_ADDR=203.0.113.9", "SCRIPT_FILENAMEX=/no",
		"HTTP_HOST", "SCRIPT_FILENAME=/var/www/x.php", "HTTP_HOST=shop.example",
		"SCRIPT_FILENAME=/second.php", "REQUEST_URI=/?a=b", "DOCUMENT_ROOT=",
		NULL,
	};

	identify(1009, 0, envp);
	assert_int_equal(c.nenv, 5);
	/* In the record's order, first occurrence of each. */
	assert_string_equal(c.env[0].name, "SCRIPT_FILENAME");
	assert_string_equal(c.env[0].value, "/var/www/x.php");
	assert_ptr_equal(c.env[0].value, envp[4] + 16);
	assert_string_equal(c.env[1].name, "DOCUMENT_ROOT");
	assert_string_equal(c.env[1].value, "");
	assert_string_equal(c.env[2].name, "HTTP_HOST");
	assert_string_equal(c.env[2].value, "shop.example");
	assert_string_equal(c.env[3].name, "REMOTE_ADDR");
	assert_string_equal(c.env[4].name, "REQUEST_URI");
	assert_string_equal(c.env[4].value, "/?a=b");
}

static void
caller_identify__null_envp__no_env(void **state)
{
	(void)state;
	c.nenv = 3;
	identify(1009, 0, NULL);
	assert_int_equal(c.nenv, 0);
}

static void
caller_identify__leaves_fd_script_alone(void **state)
{
	(void)state;
	snprintf(c.fd_script, sizeof c.fd_script, "/var/www/x.php");
	identify(1009, 0, NULL);
	assert_string_equal(c.fd_script, "/var/www/x.php");
}

static void
caller_getenv__names__exact_match_first(void **state)
{
	(void)state;
	char *envp[] = { "PATHX=1", "PATH", "PATH=/bin", "PATH=/usr/bin", NULL };

	assert_string_equal(caller_getenv(envp, "PATH"), "/bin");
	assert_null(caller_getenv(envp, "PAT"));
	assert_null(caller_getenv(envp, "HOME"));
	assert_null(caller_getenv(NULL, "PATH"));
}

/* caller_resolve_script: the sources in order. */

static void
php_cgi_parent(long pid, const char *env, size_t n)
{
	fake_proc(pid, 1009, 1009, 0, "/usr/bin/php-cgi8.2", CMD("/usr/bin/php-cgi"), files);
	fake_environ(pid, env, n);
}

#define ENVIRON(lit) (lit), sizeof(lit)

static void
caller_resolve_script__fd__beats_everything(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/env.php", "QWRAP_SCRIPT_FILENAME=/prepend.php", NULL };

	php_cgi_parent(400, ENVIRON("GATEWAY_INTERFACE=CGI/1.1\0SCRIPT_FILENAME=/cgi.php"));
	identify(1009, 400, envp);
	snprintf(c.fd_script, sizeof c.fd_script, "/var/www/fd.php");
	caller_resolve_script(proc, envp, "0:x.php", 7, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/fd.php");
	assert_string_equal(c.script_from, "fd");
}

static void
caller_resolve_script__php_cgi_environ__beats_putenv(void **state)
{
	(void)state;
	/* The script's putenv() changed its own environment, which sendmail inherits. */
	char *envp[] = { "SCRIPT_FILENAME=/tmp/innocent.php", NULL };

	php_cgi_parent(410, ENVIRON("PATH=/bin\0GATEWAY_INTERFACE=CGI/1.1\0"
	    "SCRIPT_FILENAME=/var/www/vhosts/shop.example/httpdocs/index.php\0SERVER_NAME=x"));
	identify(1009, 410, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/vhosts/shop.example/httpdocs/index.php");
	assert_string_equal(c.script_from, "cgi-environ");
}

static void
caller_resolve_script__php_cgi_grandparent__found(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	fake_proc(420, 1009, 1009, 421, "/usr/bin/dash", CMD("sh\0-c\0/usr/sbin/sendmail -t -i"), files);
	fake_proc(421, 1009, 1009, 0, "/usr/bin/php-cgi8.2", CMD("/usr/bin/php-cgi"), files);
	fake_environ(421, ENVIRON("GATEWAY_INTERFACE=CGI/1.1\0SCRIPT_FILENAME=/var/www/a.php"));
	identify(1009, 420, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/a.php");
	assert_string_equal(c.script_from, "cgi-environ");
}

static void
caller_resolve_script__php_cgi_without_gateway__env_used(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/var/www/claimed.php", NULL };

	/* php-cgi run from a shell, not by a web server: its environ is the user's. */
	php_cgi_parent(430, ENVIRON("SCRIPT_FILENAME=/var/www/fromparent.php\0PATH=/bin"));
	identify(1009, 430, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/claimed.php");
	assert_string_equal(c.script_from, "env");
}

static void
caller_resolve_script__unresolved_path__tidied_dot_dot_kept(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/nonexistent-qwrap//www/./b/../notify.pl/.", NULL };

	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/nonexistent-qwrap/www/b/../notify.pl");
	assert_string_equal(c.script_from, "env");
	assert_true(c.script_unresolved);
}

static void
caller_resolve_script__resolved_path__canonical_not_lexical(void **state)
{
	(void)state;
	char env[PATH_MAX + 32], *envp[] = { env, NULL };

	/* x.php/. is no file: realpath fails, and the path is not made one by tidying. */
	write_file(pathf("%s/x.php", files), "<?php", 5);
	snprintf(env, sizeof env, "SCRIPT_FILENAME=%s//sub/..//./x.php", files);
	mkdir_p(pathf("%s/sub", files));
	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, pathf("%s/x.php", files));
	assert_false(c.script_unresolved);
	snprintf(env, sizeof env, "SCRIPT_FILENAME=%s/x.php/.", files);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, pathf("%s/x.php", files));
	assert_true(c.script_unresolved);
}

static void
caller_resolve_script__non_cgi_parent_environ__ignored(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/var/www/claimed.php", NULL };

	fake_proc(440, 1009, 1009, 0, "/usr/sbin/php-fpm8.2", CMD("php-fpm: pool www"), "/");
	fake_environ(440, ENVIRON("GATEWAY_INTERFACE=CGI/1.1\0SCRIPT_FILENAME=/var/www/fpm.php"));
	identify(1009, 440, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/claimed.php");
	assert_string_equal(c.script_from, "env");
}

static void
caller_resolve_script__php_cgi_upgraded_binary__cgi_environ_still_used(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/tmp/innocent.php", NULL };

	/* After a PHP package upgrade, running php-cgi processes show "(deleted)". */
	fake_proc(450, 1009, 1009, 0, "/usr/bin/php-cgi8.2 (deleted)", CMD("/usr/bin/php-cgi"), files);
	fake_environ(450, ENVIRON("GATEWAY_INTERFACE=CGI/1.1\0SCRIPT_FILENAME=/var/www/real.php"));
	identify(1009, 450, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/real.php");
	assert_string_equal(c.script_from, "cgi-environ");
}

static void
caller_resolve_script__env_script_filename__env(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=/var/www/x.php", "QWRAP_SCRIPT_FILENAME=/var/www/p.php", NULL };

	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/x.php");
	assert_string_equal(c.script_from, "env");
}

static void
caller_resolve_script__relative_env__falls_to_prepend(void **state)
{
	(void)state;
	char *envp[] = { "SCRIPT_FILENAME=x.php", "QWRAP_SCRIPT_FILENAME=/var/www/p.php", NULL };

	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/p.php");
	assert_string_equal(c.script_from, "prepend");
}

static void
caller_resolve_script__prepend__beats_argv(void **state)
{
	(void)state;
	char *envp[] = { "QWRAP_SCRIPT_FILENAME=/var/www/entry.php", NULL };

	real_file("x.php");
	fake_proc(460, 1009, 1009, 0, "/usr/bin/php8.2", CMD("php\0x.php"), files);
	identify(1009, 460, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "/var/www/entry.php");
	assert_string_equal(c.script_from, "prepend");
}

static void
caller_resolve_script__php_argv_with_d_options__resolved_against_cwd(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("x.php");

	real_file("FIRST");	/* an operand after the script that exists must not win */
	fake_proc(470, 1009, 1009, 471, "/usr/bin/dash", CMD("sh\0-c\0/var/qmail/bin/sendmail -t -i"), files);
	fake_proc(471, 1009, 1009, 0, "/usr/bin/php8.2",
	    CMD("php\0-d\0sendmail_path=/var/qmail/bin/sendmail -t -i\0-d\0mail.add_x_header=On\0"
	    "x.php\0FIRST\0COUNT"), files);
	identify(1009, 470, envp);
	assert_int_equal(c.nparents, 2);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__php_argv_absolute_and_f__resolved(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("abs.php");
	char cmd[PATH_MAX + 32];
	int n;

	n = snprintf(cmd, sizeof cmd, "php8.2%c-n%c-f%c%s", 0, 0, 0, want);
	fake_proc(480, 1009, 1009, 0, "/usr/bin/php8.2", cmd, (size_t)n + 1, "/");
	identify(1009, 480, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__php_r__nothing_from_argv(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	real_file("mail('a@x','s','b');");
	fake_proc(490, 1009, 1009, 0, "/usr/bin/php8.2", CMD("php\0-r\0mail('a@x','s','b');"), files);
	identify(1009, 490, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "");
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__sh_c_only__none(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	real_file("sendmail");
	fake_proc(500, 1009, 1009, 0, "/usr/bin/dash", CMD("sh\0-c\0sendmail"), files);
	identify(1009, 500, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__sh_e_script__argv(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("cron.sh");
	char cmd[PATH_MAX + 32];
	int n;

	/* What the kernel runs for a script starting "#!/bin/sh -e". */
	n = snprintf(cmd, sizeof cmd, "/bin/sh%c-e%c%s", 0, 0, want);
	fake_proc(510, 1009, 1009, 0, "/usr/bin/dash", cmd, (size_t)n + 1, "/");
	identify(1009, 510, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__perl_and_python__argv(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *pl = real_file("mailer.pl"), *py = real_file("mailer.py");

	fake_proc(520, 1009, 1009, 0, "/usr/bin/perl", CMD("/usr/bin/perl\0-w\0-I\0lib\0mailer.pl"), files);
	identify(1009, 520, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, pl);
	assert_string_equal(c.script_from, "argv");

	fake_proc(521, 1009, 1009, 0, "/usr/bin/python3.11", CMD("python3\0-u\0mailer.py\0--to\0x"), files);
	identify(1009, 521, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, py);
	assert_string_equal(c.script_from, "argv");
}

/* Each interpreter's command line, as the kernel keeps it: which file it runs, if any. */
static void
caller_resolve_script__interpreters__script_word_module_or_none(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	static const struct {
		const char *exe, *cmd;
		size_t len;
		const char *script, *from;	/* script relative to FILES, or NULL: none */
	} cases[] = {
#define C(exe, lit, script, from) { exe, lit, sizeof(lit), script, from }
		/* -W takes no value in Perl (it is Python's that does). */
		C("/usr/bin/perl", "perl\0-W\0s.pl", "s.pl", "argv"),
		C("/usr/bin/perl", "perl\0-wle\0print 1\0s.pl", NULL, "none"),
		C("/usr/bin/perl", "perl\0-Ilib\0-Mstrict\0s.pl", "s.pl", "argv"),
		C("/usr/bin/python3.11", "python3\0-W\0ignore\0s.py", "s.py", "argv"),
		C("/usr/bin/python3.11", "python3\0-Bc\0import os\0s.py", NULL, "none"),
		C("/usr/bin/python3.11", "python3\0-m\0tools.mailer\0--to\0x", "tools/mailer.py",
		    "argv-module"),
		C("/usr/bin/python3.11", "python3\0-u\0-mpkg", "pkg/__main__.py", "argv-module"),
		/* Isolated: the cwd is not on its path, the module is not there. */
		C("/usr/bin/python3.11", "python3\0-I\0-m\0tools.mailer", NULL, "none"),
		C("/usr/bin/python3.11", "python3\0-m\0../s", NULL, "none"),
		C("/usr/bin/ruby3.1", "ruby\0-I\0lib\0-rjson\0s.rb", "s.rb", "argv"),
		C("/usr/bin/ruby3.1", "ruby\0-e\0puts 1\0s.rb", NULL, "none"),
		C("/usr/bin/node", "node\0--require=x\0-r\0y\0s.js", "s.js", "argv"),
		C("/usr/bin/node", "node\0--eval=1\0s.js", NULL, "none"),
		C("/usr/bin/node", "node\0-p\0s.js", NULL, "none"),
		C(NULL, "nodejs\0--\0s.js", "s.js", "argv"),
		C("/usr/bin/bash", "bash\0-o\0errexit\0s.sh", "s.sh", "argv"),
		C("/usr/bin/bash", "bash\0-ec\0s.sh", NULL, "none"),
		C("/usr/bin/php8.2", "php\0-dx=1\0-f\0s.php", "s.php", "argv"),
		C("/usr/bin/php8.2", "php\0-\0s.php", NULL, "none"),
#undef C
	};

	real_file("s.pl");
	real_file("s.py");
	real_file("s.rb");
	real_file("s.js");
	real_file("s.sh");
	real_file("s.php");
	mkdir_p(pathf("%s/tools/x", files));
	mkdir_p(pathf("%s/pkg/x", files));
	real_file("tools/mailer.py");
	real_file("pkg/__main__.py");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fake_proc(570 + (long)i, 1009, 1009, 0, cases[i].exe, cases[i].cmd, cases[i].len, files);
		identify(1009, 570 + (long)i, envp);
		caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
		if (strcmp(c.script_from, cases[i].from) != 0 ||
		    strcmp(c.script, cases[i].script ? pathf("%s/%s", files, cases[i].script) : "") != 0)
			fail_msg("case %zu (%s): got %s from %s", i, cases[i].cmd, c.script, c.script_from);
	}
}

static void
caller_resolve_script__no_exe_link__argv0_names_interpreter(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("y.php");

	fake_proc(530, 1009, 1009, 0, NULL, CMD("php\0y.php"), files);
	identify(1009, 530, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__argv_script_missing_or_dir__next_parent(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("outer.php");

	mkdir_p(pathf("%s/adir.php", files));
	fake_proc(540, 1009, 1009, 541, "/usr/bin/php8.2", CMD("php\0missing.php"), files);
	fake_proc(541, 1009, 1009, 542, "/usr/bin/php8.2", CMD("php\0adir.php"), files);
	fake_proc(542, 1009, 1009, 0, "/usr/bin/php8.2", CMD("php\0outer.php"), files);
	identify(1009, 540, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__non_interpreter_parent__not_argv(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	real_file("x.php");
	fake_proc(550, 1009, 1009, 0, "/usr/bin/mutt", CMD("mutt\0x.php"), files);
	identify(1009, 550, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__argv__beats_php_header(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *want = real_file("x.php");

	real_file("hdr.php");
	assert_int_equal(chdir(files), 0);
	fake_proc(560, 1009, 1009, 0, "/usr/bin/php8.2", CMD("php\0x.php"), files);
	identify(1009, 560, envp);
	caller_resolve_script(proc, envp, "0:hdr.php", 9, NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "argv");
}

static void
caller_resolve_script__php_header_owner_matches__joined_with_cwd(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	char want[PATH_MAX * 2], cwd[PATH_MAX];

	char hdrval[64];

	real_file("hdr.php");
	assert_int_equal(chdir(files), 0);
	assert_non_null(getcwd(cwd, sizeof cwd));
	snprintf(want, sizeof want, "%s/hdr.php", cwd);
	/* PHP writes "UID:basename" with the script owner's uid: here, ours. */
	snprintf(hdrval, sizeof hdrval, "%ld:hdr.php", (long)geteuid());
	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, hdrval, strlen(hdrval), NULL, NULL, &c);
	assert_string_equal(c.script, want);
	assert_string_equal(c.script_from, "php-header");
}

static void
caller_resolve_script__php_header_other_owner__none(void **state)
{
	(void)state;
	char *envp[] = { NULL };
	const char *p = real_file("hdr.php");

	assert_int_equal(chdir(files), 0);
	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, "1009:hdr.php", 12, NULL, NULL, &c);
	assert_string_equal(c.script_from, "none");
	/* Owned by 1009, it is accepted. */
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 1009, 1009), 0);
		caller_resolve_script(proc, envp, "1009:hdr.php", 12, NULL, NULL, &c);
		assert_string_equal(c.script_from, "php-header");
		caller_resolve_script(proc, envp, "0:hdr.php", 9, NULL, NULL, &c);
		assert_string_equal(c.script_from, "none");
	}
}

static void
caller_resolve_script__php_header_malformed__none(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"0:../files/hdr.php", "0:sub/hdr.php", "0:", ":hdr.php", "x0:hdr.php",
		"hdr.php", "0:..", "0:.", "0:missing.php", "99999999999999999999:hdr.php",
		"-0:hdr.php", "0 :hdr.php",
	};
	char *envp[] = { NULL };

	real_file("hdr.php");
	mkdir_p(pathf("%s/sub", files));
	write_file(pathf("%s/sub/hdr.php", files), "x", 1);
	assert_int_equal(chdir(files), 0);
	identify(1009, 0, envp);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		caller_resolve_script(proc, envp, bad[i], strlen(bad[i]), NULL, NULL, &c);
		assert_string_equal(c.script, "");
		assert_string_equal(c.script_from, "none");
	}
	/* A NUL inside the value. */
	caller_resolve_script(proc, envp, "0:hdr.php\0x", 11, NULL, NULL, &c);
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__php_header_directory__none(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	mkdir_p(pathf("%s/d.php", files));
	assert_int_equal(chdir(files), 0);
	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, "0:d.php", 7, NULL, NULL, &c);
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__nothing__none(void **state)
{
	(void)state;
	char *envp[] = { "PATH=/bin", NULL };

	snprintf(c.script, sizeof c.script, "/stale.php");
	identify(1009, 0, envp);
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script, "");
	assert_string_equal(c.script_from, "none");
}

static void
caller_resolve_script__relative_fd_script__ignored(void **state)
{
	(void)state;
	char *envp[] = { "QWRAP_SCRIPT_FILENAME=/var/www/p.php", NULL };

	identify(1009, 0, envp);
	snprintf(c.fd_script, sizeof c.fd_script, "x.php");
	caller_resolve_script(proc, envp, NULL, 0, NULL, NULL, &c);
	assert_string_equal(c.script_from, "prepend");
}

/* origin_find. */

static long started = 100;	/* the start time (ticks since boot) of the next process named */

/* A process named NAME (its comm) as UID, child of PPID; CMD its command line or NULL. */
static void
named(long pid, const char *name, long uid, long ppid, const char *cmd, size_t cmdlen)
{
	char status[512];
	int n;

	fake_proc(pid, uid, uid, ppid, NULL, cmd, cmdlen, NULL);
	n = snprintf(status, sizeof status, "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\n"
	    "PPid:\t%ld\nUid:\t%ld\t%ld\t%ld\t%ld\n", name, ppid, uid, uid, uid, uid);
	write_file(pathf("%s/%ld/status", proc, pid), status, (size_t)n);
	n = snprintf(status, sizeof status, "%ld (%s) S %ld %ld %ld 0 -1 4194560 10 0 0 0 1 2 0 0 20 0"
	    " 1 0 %ld 1000 100\n", pid, name, ppid, pid, pid, started);
	write_file(pathf("%s/%ld/stat", proc, pid), status, (size_t)n);
}

/* The caller's session's terminal (0: none) and cgroup file. */
static void
self(long tty, const char *cgroup)
{
	char stat[256];
	int n = snprintf(stat, sizeof stat, "4243 (qwrap) send) R 700 4243 4243 %ld -1 4194560 10 0 0"
	    " 0 1 2 0 0 20 0 1 0 200 1000 100\n", tty);

	write_file(pathf("%s/self/stat", proc), stat, (size_t)n);
	write_file(pathf("%s/self/cgroup", proc), cgroup, strlen(cgroup));
}

static struct origin o;

static void
origin_of(long ppid, char *const envp[])
{
	identify(1009, ppid, envp);
	origin_find(proc, envp, &c, &o);
}

#define ORIGIN(k, f, i, ifr) do { \
	assert_string_equal(o.kind, k); \
	assert_string_equal(o.from, f); \
	assert_string_equal(o.info, i); \
	if ((ifr) == NULL) assert_null(o.info_from); \
	else assert_string_equal(o.info_from, ifr); \
} while (0)

static void
origin_find__servers_of_another_uid__their_kind(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	self(0, "0::/system.slice/cron.service\n");
	named(1, "systemd", 0, 0, NULL, 0);
	named(701, "cron", 0, 1, NULL, 0);
	named(700, "sh", 1009, 701, NULL, 0);
	origin_of(700, envp);
	ORIGIN("cron", "ancestor", "", NULL);

	named(712, "php-fpm8.2", 0, 1, NULL, 0);
	named(711, "php-fpm8.2", 1009, 712, CMD("php-fpm: pool shop      "));
	named(710, "sh", 1009, 711, NULL, 0);
	origin_of(710, envp);
	ORIGIN("web", "ancestor", "pool=shop", "title");

	named(721, "atd", 0, 1, NULL, 0);
	named(720, "sh", 1009, 721, NULL, 0);
	origin_of(720, envp);
	ORIGIN("at", "ancestor", "", NULL);

	/* An SSH login: the user's own sshd, root's above it; the address from the shell's environment. */
	named(733, "sshd", 0, 1, NULL, 0);
	named(732, "sshd", 1009, 733, CMD("sshd: site@notty"));
	named(731, "bash", 1009, 732, CMD("-bash"));
	fake_environ(731, CMD("HOME=/x\0SSH_CONNECTION=192.0.2.7 50123 192.0.2.1 22\0TERM=xterm"));
	named(730, "php8.2", 1009, 731, NULL, 0);
	origin_of(730, envp);
	ORIGIN("ssh", "ancestor", "addr=192.0.2.7", "ancestor-env");

	/* The caller's own environment first. */
	char *ssh[] = { "SSH_CONNECTION=2001:db8::5 4000 2001:db8::1 22", NULL };
	origin_of(730, ssh);
	ORIGIN("ssh", "ancestor", "addr=2001:db8::5", "env");

	/* A CGI request: the site from the server's variables, a claim. */
	char *cgi[] = { "SERVER_NAME=shop.example", NULL };
	named(741, "apache2", 33, 1, NULL, 0);
	named(740, "perl", 1009, 741, NULL, 0);
	origin_of(740, cgi);
	ORIGIN("web", "ancestor", "vhost=shop.example", "env");
}

static void
origin_find__own_processes__a_claim_beaten_by_another_uid(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	self(0, "0::/\n");
	named(1, "init", 0, 0, NULL, 0);
	/* The caller can name its own processes anything. */
	named(750, "cron", 1009, 1, NULL, 0);
	origin_of(750, envp);
	ORIGIN("cron", "own-ancestor", "", NULL);

	/* A set-uid program the caller ran under a name of its choosing keeps its real uid. */
	named(756, "cron", 1009, 1, NULL, 0);
	{
		static const char setuid[] = "Name:\tcron\nPPid:\t1\nUid:\t1009\t0\t0\t0\n";

		write_file(pathf("%s/756/status", proc), setuid, sizeof setuid - 1);
	}
	named(755, "sh", 1009, 756, NULL, 0);
	origin_of(755, envp);
	ORIGIN("cron", "own-ancestor", "", NULL);

	/* ... but not root's sshd above them. */
	named(752, "sshd", 0, 1, NULL, 0);
	named(751, "cron", 1009, 752, NULL, 0);
	origin_of(751, envp);
	ORIGIN("ssh", "ancestor", "", NULL);

	/* A name is what lies within stat's outermost parentheses, whatever it holds. */
	named(754, "x) S 1 (cron", 0, 1, NULL, 0);
	named(753, "sh", 1009, 754, NULL, 0);
	origin_of(753, envp);
	ORIGIN("unknown", "none", "", NULL);
}

static void
origin_find__no_server__terminal_systemd_unit_or_unknown(void **state)
{
	(void)state;
	char *envp[] = { NULL };

	named(1, "init", 0, 0, NULL, 0);
	named(760, "mailerd", 1009, 1, NULL, 0);
	self(0, "0::/system.slice/mailer.service\n");
	origin_of(760, envp);
	ORIGIN("unknown", "none", "", NULL);	/* a unit, but pid 1 is not systemd */

	self(34816, "0::/\n");
	origin_of(760, envp);
	ORIGIN("console", "tty", "", NULL);

	named(1, "systemd", 0, 0, NULL, 0);
	self(0, "12:pids:/\n1:name=systemd:/system.slice/mailer.service\n0::/\n");
	origin_of(760, envp);
	ORIGIN("systemd", "cgroup", "unit=mailer.service", "cgroup");

	self(0, "0::/user.slice/user-1009.slice/user@1009.service/app.slice/job.service\n");
	origin_of(760, envp);
	ORIGIN("systemd", "cgroup", "unit=user@1009.service/job.service", "cgroup");
	/* A user's own unit named like a user manager is still under the user's. */
	self(0, "0::/user.slice/user-1009.slice/user@1009.service/app.slice/user@0.service\n");
	origin_of(760, envp);
	ORIGIN("systemd", "cgroup", "unit=user@1009.service/user@0.service", "cgroup");

	/* A parent that started after its child has taken a dead one's pid: not believed. */
	started = 300;
	named(771, "sshd", 0, 1, NULL, 0);
	started = 100;
	named(770, "sh", 1009, 771, NULL, 0);
	self(0, "0::/\n");
	origin_of(770, envp);
	ORIGIN("unknown", "none", "", NULL);

	/* A loop in the tree (a made-up /proc) ends all the same. */
	named(761, "sh", 1009, 762, NULL, 0);
	named(762, "sh", 1009, 761, NULL, 0);
	self(0, "0::/\n");
	origin_of(761, envp);
	ORIGIN("unknown", "none", "", NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(caller_scan_fds__several_php__lowest_fd),
		T(caller_scan_fds__non_scripts_skipped__real_php_found),
		T(caller_scan_fds__only_stdio_fds__none),
		T(caller_scan_fds__deleted_script__none),
		T(caller_scan_fds__php_variants__accepted_and_rejected),
		T(caller_scan_fds__odd_entries__ignored),
		T(caller_scan_fds__no_fd_directory__none),
		T(caller_scan_fds__real_proc_open_scripts__lowest_found),
		T(caller_identify__same_uid_chain__stops_at_root_parent),
		T(caller_identify__long_chain__four_levels),
		T(caller_identify__root_parent__not_recorded),
		T(caller_identify__setuid_parent__stops),
		T(caller_identify__root_caller__root_parents_recorded),
		T(caller_identify__missing_status__no_parents),
		T(caller_identify__missing_exe_and_cmdline__empty_values),
		T(caller_identify__long_cmdline__cut_nul_terminated),
		T(caller_identify__status_symlink__not_followed),
		T(caller_identify__cwd__from_getcwd),
		T(caller_identify__removed_cwd__question_mark),
		T(caller_identify__envp__claimed_cgi_vars_collected),
		T(caller_identify__null_envp__no_env),
		T(caller_identify__leaves_fd_script_alone),
		T(caller_getenv__names__exact_match_first),
		T(caller_resolve_script__fd__beats_everything),
		T(caller_resolve_script__php_cgi_environ__beats_putenv),
		T(caller_resolve_script__php_cgi_grandparent__found),
		T(caller_resolve_script__unresolved_path__tidied_dot_dot_kept),
		T(caller_resolve_script__resolved_path__canonical_not_lexical),
		T(caller_resolve_script__php_cgi_without_gateway__env_used),
		T(caller_resolve_script__non_cgi_parent_environ__ignored),
		T(caller_resolve_script__php_cgi_upgraded_binary__cgi_environ_still_used),
		T(caller_resolve_script__env_script_filename__env),
		T(caller_resolve_script__relative_env__falls_to_prepend),
		T(caller_resolve_script__prepend__beats_argv),
		T(caller_resolve_script__php_argv_with_d_options__resolved_against_cwd),
		T(caller_resolve_script__php_argv_absolute_and_f__resolved),
		T(caller_resolve_script__php_r__nothing_from_argv),
		T(caller_resolve_script__sh_c_only__none),
		T(caller_resolve_script__sh_e_script__argv),
		T(caller_resolve_script__perl_and_python__argv),
		T(caller_resolve_script__interpreters__script_word_module_or_none),
		T(origin_find__servers_of_another_uid__their_kind),
		T(origin_find__own_processes__a_claim_beaten_by_another_uid),
		T(origin_find__no_server__terminal_systemd_unit_or_unknown),
		T(caller_resolve_script__no_exe_link__argv0_names_interpreter),
		T(caller_resolve_script__argv_script_missing_or_dir__next_parent),
		T(caller_resolve_script__non_interpreter_parent__not_argv),
		T(caller_resolve_script__argv__beats_php_header),
		T(caller_resolve_script__php_header_owner_matches__joined_with_cwd),
		T(caller_resolve_script__php_header_other_owner__none),
		T(caller_resolve_script__php_header_malformed__none),
		T(caller_resolve_script__php_header_directory__none),
		T(caller_resolve_script__nothing__none),
		T(caller_resolve_script__relative_fd_script__ignored),
	};

	return cmocka_run_group_tests(tests, hold_fds, release_fds);
}
