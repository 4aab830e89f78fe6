/*
 * fuzz_phpscan.c: libFuzzer harness for qwrap-install's reading of where
 * PHP's mail() leads (installer/phpscan.c).  The input is written as a
 * php.ini, a scan directory's ini, an FPM pool and an Apache vhost of a
 * host tree, and its first line is also the text of a symbolic link on the
 * way to /usr/sbin/sendmail: the setting parser and the link resolution see
 * hostile text.  Each report is one line without control characters, and
 * no more misses are counted than programs were checked.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inst.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static char root[PATH_MAX];

static void
put(const char *path, const uint8_t *d, size_t n)
{
	char full[2 * PATH_MAX];
	int fd;

	snprintf(full, sizeof full, "%s%s", root, path);
	CHECK((fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0);
	CHECK(write(fd, d, n) == (ssize_t)n);
	close(fd);
}

static void
dir(const char *path)
{
	char full[2 * PATH_MAX];

	snprintf(full, sizeof full, "%s%s", root, path);
	CHECK(mkdir(full, 0755) == 0);
}

static void
report(int problem, const char *msg, void *arg)
{
	(void)arg;
	CHECK(problem == 0 || problem == 1);
	for (const char *c = msg; *c != '\0'; c++)
		CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void
setup(void)
{
	static const char *const dirs[] = { "/bin", "/usr", "/usr/sbin", "/usr/lib", "/etc",
	    "/etc/php", "/etc/php/8.2", "/etc/php/8.2/fpm", "/etc/php/8.2/fpm/conf.d",
	    "/etc/php/8.2/fpm/pool.d", "/etc/apache2", "/etc/apache2/sites-enabled", NULL };
	const char *tmp = getenv("TMPDIR");

	snprintf(root, sizeof root, "%s/fuzz-phpscan.XXXXXX", tmp ? tmp : "/tmp");
	CHECK(mkdtemp(root) != NULL);
	for (int i = 0; dirs[i] != NULL; i++)
		dir(dirs[i]);
	put("/bin/sendmail", (const uint8_t *)"#!/bin/sh\n", 10);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	char link[PATH_MAX], full[2 * PATH_MAX];
	const uint8_t *nl = memchr(d, '\n', size);
	size_t n = nl ? (size_t)(nl - d) : size;
	struct reach_result res;

	if (root[0] == '\0')
		setup();
	put("/etc/php/8.2/fpm/php.ini", d, size);
	put("/etc/php/8.2/fpm/conf.d/99-x.ini", d, size);
	put("/etc/php/8.2/fpm/pool.d/www.conf", d, size);
	put("/etc/apache2/sites-enabled/x.conf", d, size);
	/* The first line, made a link's text where PHP's default leads. */
	if (n > 0 && n < sizeof link && memchr(d, '\0', n) == NULL) {
		memcpy(link, d, n);
		link[n] = '\0';
		snprintf(full, sizeof full, "%s/usr/sbin/sendmail", root);
		unlink(full);
		CHECK(symlink(link, full) == 0);
		snprintf(full, sizeof full, "%s/usr/lib/sendmail", root);
		unlink(full);
		CHECK(symlink(link, full) == 0);
	}
	CHECK(reach_scan(root, "/bin/sendmail", &res, report, NULL) == 0);
	CHECK(res.misses >= 0 && res.misses <= res.checked);
	return 0;
}
