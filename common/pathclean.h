/*
 * pathclean.h: a path as it is shown, lexically tidied: "//" and "/./" are
 * one "/", a trailing "/." or "/" goes.  Used by the worker on a path it
 * could not resolve and by the admin's tools on every path they read.
 */
#ifndef QWRAP_PATHCLEAN_H
#define QWRAP_PATHCLEAN_H

#include <stddef.h>

/*
 * Cleans the NUL-terminated path P in place, as Go's path.Clean does but
 * for "..": empty and "." components go, ".." stays, since "a/b/.." is not
 * "a" when b is a symbolic link.  "/" stays "/", a relative path of dots
 * only becomes ".", "" stays "".  Never makes P longer; returns its length.
 */
size_t path_clean(char *p);

/*
 * A glob an admin typed to match paths (--script), tidied as far as it is
 * safe: "//" and "/./" inside it become "/", and nothing else changes.  A
 * leading "./" or a trailing "/." or "/" stays: dropping them could turn a
 * pattern that matches nothing into "*", which matches everything.  One
 * with a bracket expression ("[/.]" is no path) is left whole.
 */
void path_clean_glob(char *p);

/* 1 when PATH (NULL: none) is DIR or below it, by its components: /a/bc is not below /a/b. */
int path_below(const char *dir, const char *path);

#endif
