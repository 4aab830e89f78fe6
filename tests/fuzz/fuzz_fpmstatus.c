/*
 * fuzz_fpmstatus.c: libFuzzer harness for the reader of php-fpm's status
 * page (wrapper/fpmstatus.c): FastCGI records, then the page's lines.  The
 * first 2 bytes are the worker's pid (1 to 65536); the rest is the answer.
 * Read whole and byte by byte, it must name the same script, an absolute
 * path without a control byte, or none.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fpmstatus.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	static struct fpm_reader a, b;
	long pid;
	int fa, fb = 0;

	if (size < 2)
		return 0;
	pid = (long)(d[0] << 8 | d[1]) + 1;
	fpm_reader_init(&a, pid);
	fpm_reader_init(&b, pid);
	fa = fpm_reader_feed(&a, d + 2, size - 2);
	for (size_t i = 2; i < size && !fb; i++)
		fb = fpm_reader_feed(&b, d + i, 1);
	CHECK(fa == fb && strcmp(a.script, b.script) == 0);
	CHECK(fa ? a.script[0] == '/' : a.script[0] == '\0');
	for (const char *p = a.script; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	return 0;
}
