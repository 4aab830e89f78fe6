/*
 * fuzz_rewrite.c: libFuzzer harness for taking back qmail-send's rewrite of
 * a local recipient (tools/rewrite.c), which qwrap restore runs on addresses
 * a tenant chose.  The input: control/virtualdomains, control/locals and the
 * address, split at "\n--\n".  What comes back is the address itself or the
 * part after "PREFIX-", and then rewriting it gives that PREFIX again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* The next part of D: up to the separator, or the rest. */
static const uint8_t *
part(const uint8_t **d, size_t *size, size_t *n)
{
	const uint8_t *p = *d, *sep = memmem(p, *size, "\n--\n", 4);

	*n = sep != NULL ? (size_t)(sep - p) : *size;
	*d = sep != NULL ? sep + 4 : p + *size;
	*size -= sep != NULL ? *n + 4 : *n;
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	struct rewrite r = { 0 };
	const uint8_t *vd, *lo, *ad;
	size_t vn, ln, an;
	char *addr;
	const char *orig, *p;

	vd = part(&d, &size, &vn);
	lo = part(&d, &size, &ln);
	ad = part(&d, &size, &an);
	if ((addr = malloc(an + 1)) == NULL)
		return 0;
	memcpy(addr, ad, an);
	addr[an] = '\0';
	CHECK(rewrite_set(&r, (const char *)vd, vn, (const char *)lo, ln) == 0);
	orig = rewrite_undo(&r, addr);
	CHECK(orig >= addr && orig <= addr + strlen(addr));
	if (orig != addr) {
		size_t k = (size_t)(orig - addr) - 1;

		CHECK(addr[k] == '-');
		p = rewrite_prefix(&r, orig);
		CHECK(p != NULL && strlen(p) == k && strncmp(p, addr, k) == 0);
	}
	(void)rewrite_prefix(&r, addr);
	rewrite_free(&r);
	free(addr);
	return 0;
}
