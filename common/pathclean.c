/*
 * pathclean.c: see pathclean.h.  path_clean runs in the worker (without the
 * group) and in the admin's tools; it only ever moves bytes towards the start
 * of P.  path_below is the keeper's test of a freeze by directory, and the
 * tools' --cwd filter.
 */
#include "pathclean.h"

#include <string.h>

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

int
path_below(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return path != NULL && strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

void
path_clean_glob(char *p)
{
	char *w = p;

	if (strchr(p, '[') != NULL)
		return;
	for (const char *r = p; *r != '\0';) {
		/* Inside: a '/' followed by more of the pattern, not its end. */
		if (r > p && *r == '/' && r[1] == '/' && r[2] != '\0') {
			r++;
			continue;
		}
		if (r > p && *r == '/' && r[1] == '.' && r[2] == '/' && r[3] != '\0') {
			r += 2;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}
