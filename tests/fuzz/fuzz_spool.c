/* fuzz_spool.c: libFuzzer harness for spool_env_parse, the envelope of held mail that qwrap release trusts (common/spool.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_spool: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spool_env e, again;
	char *text = malloc(size + 1), *copy;
	char path[] = "/tmp/fuzz_spool.XXXXXX";
	ssize_t n;
	int fd;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	if (spool_env_parse(text, size, &e) < 0) {
		CHECK(e.argv == NULL);
		free(text);
		return 0;
	}
	/* What a good envelope promises: an id, uid and gid, argv NULL-terminated. */
	CHECK(e.id[0] != '\0' && e.id[0] != '.' && strchr(e.id, '/') == NULL);
	CHECK(e.uid >= 0 && e.uid < 0xffffffffL && e.gid >= 0 && e.gid < 0xffffffffL && e.argc >= 1);
	CHECK(e.argv[e.argc] == NULL);
	/* Written back, it parses to the same. */
	CHECK((fd = mkstemp(path)) >= 0);
	unlink(path);
	CHECK(spool_env_write(fd, &e) == 0);
	n = lseek(fd, 0, SEEK_CUR);
	CHECK((copy = malloc((size_t)n + 1)) != NULL);
	CHECK(pread(fd, copy, (size_t)n, 0) == n);
	close(fd);
	CHECK(spool_env_parse(copy, (size_t)n, &again) == 0);
	CHECK(strcmp(e.id, again.id) == 0 && e.uid == again.uid && e.gid == again.gid &&
	    e.ts == again.ts && e.argc == again.argc);
	for (int i = 0; i < e.argc; i++)
		CHECK(strcmp(e.argv[i], again.argv[i]) == 0);
	CHECK((e.cwd == NULL) == (again.cwd == NULL) && (!e.cwd || strcmp(e.cwd, again.cwd) == 0));
	free(again.argv);
	free(copy);
	free(e.argv);
	free(text);
	return 0;
}
