/*
 * pathclean.c: see pathclean.h.  Runs in the worker (without the group) and
 * in the admin's tools; it only ever moves bytes towards the start of P.
 */
#include "pathclean.h"

size_t
path_clean(char *p)
{
	size_t r, w, root = p[0] == '/';

	if (p[0] == '\0')
		return 0;
	/* W never passes R: a separator is written only for one read and skipped. */
	for (r = w = root; p[r] != '\0';) {
		if (p[r] == '/') {
			r++;
			continue;
		}
		if (p[r] == '.' && (p[r + 1] == '/' || p[r + 1] == '\0')) {
			r++;
			continue;
		}
		if (w > root)
			p[w++] = '/';
		while (p[r] != '\0' && p[r] != '/')
			p[w++] = p[r++];
	}
	if (w == 0)
		p[w++] = '.';
	p[w] = '\0';
	return w;
}
