/*
 * fuzz_origin.c: libFuzzer harness for what origin.c reads of /proc: the
 * ancestors' status (a name the caller may set), the caller's stat and
 * cgroup (a user's own unit has the name it gave it), and the environment
 * that names an SSH client.  The input is split at "\n--\n" into: the
 * status and stat of pid 3 (the caller's parent), of pid 2 and of pid 1,
 * the caller's stat, its cgroup, and its environment (lines become
 * variables); each is written into a private procroot.  Whatever they hold, the origin must be
 * one of the record's words, decided the same way twice, its info one
 * line within its buffer, labelled when present and only then.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller.h"
#include "origin.h"
#include "record.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static char root[64];

static void
put(const char *rel, const uint8_t *p, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (n > 0 && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static int
one_of(const char *s, const char *const set[], int n)
{
	for (int i = 0; s != NULL && i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	static const char *const files[] = { "3/status", "3/stat", "2/status", "2/stat",
		"1/status", "1/stat", "self/stat", "self/cgroup" };
	enum { NFILES = sizeof files / sizeof files[0] };
	static struct caller c;
	static char envbuf[4096];
	char *envp[64];
	struct origin o, again;
	size_t part = 0, start = 0, nenv = 0;

	if (root[0] == '\0') {
		snprintf(root, sizeof root, "%s/origin-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		    (int)getpid());
		mkdir(root, 0700);
		for (const char *dir = "1\0002\0003\0self\0"; *dir; dir += strlen(dir) + 1) {
			char path[128];

			snprintf(path, sizeof path, "%s/%s", root, dir);
			mkdir(path, 0700);
		}
	}
	for (size_t i = 0; i <= size && part < NFILES; i++)
		if (i == size || (i + 4 <= size && memcmp(d + i, "\n--\n", 4) == 0)) {
			put(files[part++], d + start, i - start);
			start = i + 4;
		}
	for (; part < NFILES; part++)
		put(files[part], NULL, 0);
	/* The rest: the caller's environment, a variable a line. */
	if (start < size) {
		size_t n = size - start < sizeof envbuf - 1 ? size - start : sizeof envbuf - 1;

		memcpy(envbuf, d + start, n);
		envbuf[n] = '\0';
		for (char *s = envbuf, *nl; nenv < 63 && s != NULL; s = nl ? nl + 1 : NULL) {
			if ((nl = strchr(s, '\n')) != NULL)
				*nl = '\0';
			envp[nenv++] = s;
		}
	}
	envp[nenv] = NULL;

	caller_identify(root, 1000, 1000, 4, 3, envp, &c);
	origin_find(root, envp, &c, &o);
	origin_find(root, envp, &c, &again);
	CHECK(one_of(o.kind, record_origin_kinds, RECORD_ORIGIN_KINDS));
	CHECK(one_of(o.from, record_origin_froms, RECORD_ORIGIN_FROMS));
	CHECK(strcmp(o.kind, again.kind) == 0 && strcmp(o.from, again.from) == 0 &&
	    strcmp(o.info, again.info) == 0);
	CHECK(memchr(o.info, '\0', sizeof o.info) != NULL);
	CHECK(o.info[0] == '\0' ? o.info_from == NULL :
	    one_of(o.info_from, record_origin_info_froms, RECORD_ORIGIN_INFO_FROMS));
	for (const char *p = o.info; *p; p++)
		CHECK(*p != '\n');
	return 0;
}
