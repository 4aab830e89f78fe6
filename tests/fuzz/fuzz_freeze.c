/*
 * fuzz_freeze.c: libFuzzer harness for the freezes file (common/freeze.c),
 * which the keeper reads with the group at each message.  The input is the
 * file.  Read or refused whole; what is read must format back to a file
 * that reads the same, every value printable and within its bounds.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "freeze.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static char path[64];

static void
put(const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	static struct freezes a, b;
	static char text[FREEZE_FILE_MAX];
	char err[FREEZE_ERR_MAX];
	size_t len;
	int rc;

	if (path[0] == '\0')
		snprintf(path, sizeof path, "%s/freeze-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		    (int)getpid());
	put(d, size);
	rc = freeze_load(path, getuid(), &a, err);
	CHECK(rc == 1 || (rc == -1 && a.n == 0 && memchr(err, '\0', sizeof err) != NULL));
	if (rc != 1)
		return 0;
	CHECK(a.n <= FREEZE_MAX);
	for (int i = 0; i < a.n; i++) {
		const struct freeze *f = &a.f[i];

		CHECK(f->id > 0 && f->name[0] && f->value[0]);
		CHECK(f->by != FREEZE_CWD || f->value[0] == '/');
		for (const char *p = f->value; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	len = freeze_format(&a, text);
	CHECK(len < FREEZE_FILE_MAX);
	put(text, len);
	CHECK(freeze_load(path, getuid(), &b, err) == 1 && b.n == a.n);
	for (int i = 0; i < a.n; i++)
		CHECK(a.f[i].id == b.f[i].id && a.f[i].until == b.f[i].until &&
		    strcmp(a.f[i].value, b.f[i].value) == 0 && strcmp(a.f[i].name, b.f[i].name) == 0);
	return 0;
}
