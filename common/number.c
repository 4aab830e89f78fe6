/*
 * number.c: see number.h.
 */
#include "number.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

int
number_parse(const char *s, int base, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, base);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

int
number_count(const char *s, long *out)
{
	long long v;

	if (s[0] < '0' || s[0] > '9' || number_parse(s, 10, &v) < 0 || v > LONG_MAX)
		return -1;
	*out = (long)v;
	return 0;
}
