/* fuzz_logread.c: libFuzzer harness for qwrap's capture-log reader (tools/jsonread.c, tools/logread.c): the JSON validator and decoders, torn-line resynchronisation, times and vhosts. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "json.h"
#include "jsonread.h"
#include "logread.h"
#include "vhost.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_logread: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

/* A decoded string is a C string of valid UTF-8 that fits its buffer. */
static void
check_decoded(const char *out, long n, size_t cap)
{
	CHECK(n >= 0 && (size_t)n < cap && strlen(out) == (size_t)n);
	for (long i = 0; i < n;) {
		size_t k = (unsigned char)out[i] < 0x80 ? 1 :
		    json_utf8_len((const unsigned char *)out + i, (size_t)(n - i));

		CHECK(k > 0);
		i += (long)k;
	}
}

static void
check_value(const char *val, size_t n)
{
	static const size_t caps[] = { 1, 2, 3, 5, 64, 4096 };
	char out[4096];
	const char *pos = NULL, *e;
	size_t elen;
	long v, len;
	int rc, count = 0;

	for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
		if ((len = jr_string(val, n, out, caps[i])) >= 0)
			check_decoded(out, len, caps[i]);
		else
			CHECK(val[0] != '"');
	(void)jr_long(val, n, &v);
	while ((rc = jr_next(val, n, &pos, &e, &elen)) == 1) {
		CHECK(e >= val && e + elen <= val + n && elen > 0);
		check_value(e, elen);
		CHECK(++count <= (int)n);
	}
	CHECK(rc == 0 || val[0] != '[');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	static struct logrec r;
	struct logfile f;
	char err[LOG_ERR_MAX], out[64], name[64];
	long long ms;
	int fd, rc;

	if (log_parse(s, size, &r) == 0 || jr_parse(s, size, &r.o) == 0) {
		CHECK(r.o.n <= JR_MAX_MEMBERS);
		for (int i = 0; i < r.o.n; i++) {
			CHECK(r.o.m[i].key > s && r.o.m[i].val + r.o.m[i].vallen <= s + size);
			check_value(r.o.m[i].val, r.o.m[i].vallen);
		}
	}
	(void)log_parse_time(s, size, &ms);
	if (size < 512) {
		char path[512];

		memcpy(path, s, size);
		path[size] = '\0';
		if (vhost_of("/var/www/vhosts", path, out, sizeof out) == 0)
			CHECK(out[0] != '\0' && strchr(out, '/') == NULL && strlen(out) < sizeof out);
	}

	/* The same bytes as a whole log (one input in four: a file per run is slow). */
	if (size % 4 != 0 || (fd = memfd_create("log", 0)) < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
		if (log_open(&f, name, err) == 0) {
			while ((rc = log_next(&f, &r, err)) == 1)
				CHECK(r.len > 0 && jr_get(&r.o, "id") != NULL);
			CHECK(rc == 0 && f.invalid <= f.lineno);
			log_close(&f);
		}
	}
	close(fd);
	return 0;
}
