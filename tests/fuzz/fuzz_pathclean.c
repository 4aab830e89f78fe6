/* fuzz_pathclean.c: libFuzzer harness for path_clean (common/pathclean.c): the input, up to its first NUL, is the path. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pathclean.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_pathclean: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

#define CAP 8192

/* The components of P that are not "" or "." (".." included), one after the other, NUL-ended. */
static size_t
components(const char *p, char *out)
{
	size_t o = 0;

	while (*p) {
		size_t k = strcspn(p, "/");

		if (k > 0 && !(k == 1 && p[0] == '.')) {
			memcpy(out + o, p, k);
			o += k;
			out[o++] = '\0';
		}
		p += k + (p[k] == '/');
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[CAP], p[CAP], again[CAP], want[CAP], got[CAP];
	size_t n = strnlen((const char *)data, size < CAP - 1 ? size : CAP - 1), len, wn, gn;

	memcpy(in, data, n);
	in[n] = '\0';
	memset(p, 0x55, sizeof p);
	memcpy(p, in, n + 1);
	len = path_clean(p);

	/* Never longer, NUL-ended where it says, nothing written past the input. */
	CHECK(len <= n && strlen(p) == len);
	for (size_t i = n + 1; i < sizeof p; i++)
		CHECK((unsigned char)p[i] == 0x55);
	/* Tidy: no empty or "." component, no trailing slash but the root's. */
	CHECK(strstr(p, "//") == NULL && strstr(p, "/./") == NULL);
	CHECK(len < 2 || (p[len - 1] != '/' && strcmp(p + len - 2, "/.") != 0));
	/* The same components in the same order, ".." among them; rooted as before. */
	CHECK((n == 0) == (len == 0));
	CHECK((in[0] == '/') == (p[0] == '/'));
	wn = components(in, want);
	gn = components(p, got);
	CHECK(wn == gn && memcmp(want, got, wn) == 0);
	/* "." only for a relative path that had nothing but "." and "/" in it. */
	CHECK((strcmp(p, ".") == 0) == (n > 0 && in[0] != '/' && wn == 0));
	/* Idempotent. */
	memcpy(again, p, len + 1);
	CHECK(path_clean(again) == len && strcmp(again, p) == 0);
	return 0;
}
