/* fuzz_state.c: libFuzzer harness for state_parse and state_format, install.state as the set-gid wrapper reads it (common/state.c). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "state.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_state: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

static void
check_text(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
	CHECK(strchr(s, '\n') == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct install_state a, b;
	static char buf[STATE_FILE_MAX];
	char err[STATE_ERR_MAX];
	size_t n;

	memset(err, 0x55, sizeof err);
	if (state_parse((const char *)data, size, &a, err) < 0) {
		CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
		return 0;
	}
	/* What a successful parse promises. */
	CHECK(a.target[0] == '/' && a.original[0] == '/' && a.wrapper[0] == '/');
	CHECK(strlen(a.sha256) == 64);
	check_text(a.target, sizeof a.target);
	check_text(a.original, sizeof a.original);
	check_text(a.wrapper, sizeof a.wrapper);
	check_text(a.session, sizeof a.session);
	check_text(a.scheduler, sizeof a.scheduler);
	check_text(a.job, sizeof a.job);
	CHECK(a.deadline >= 0 && a.enabled_at >= 0 && a.log_offset >= 0);
	/* What the installer writes, it reads back the same. */
	n = state_format(&a, buf, sizeof buf);
	if (n >= sizeof buf)
		return 0;
	CHECK(state_parse(buf, n, &b, err) == 0);
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	return 0;
}
