/*
 * jsonread.h: a validating reader for one line of JSON, for the capture log.
 * jr_object checks the whole text against RFC 8259 (UTF-8 included) and
 * indexes the members of the top-level object without copying; values are
 * decoded only when asked for, so a report that needs one field pays for one.
 */
#ifndef QWRAP_JSONREAD_H
#define QWRAP_JSONREAD_H

#include <stddef.h>

#define JR_MAX_MEMBERS 64	/* a record has about 25 */
#define JR_MAX_DEPTH   16	/* a record nests 3 deep */

struct jr_member {
	const char *key;	/* the key's raw text, without its quotes */
	size_t keylen;
	const char *val;	/* the value's raw text */
	size_t vallen;
};

struct jr_object {
	struct jr_member m[JR_MAX_MEMBERS];
	int n;
};

/* 0 when S[0..N) is exactly one JSON object (surrounding spaces allowed), else -1. */
int jr_parse(const char *s, size_t n, struct jr_object *o);

/* The value of KEY (the last one, as jq has it, if the key repeats), or NULL. */
const struct jr_member *jr_get(const struct jr_object *o, const char *key);

/*
 * Decodes the JSON string VAL into OUT, NUL-terminated, cut at a character
 * boundary to fit CAP.  \u0000 and unpaired surrogates become U+FFFD, so the
 * result is a C string of valid UTF-8.  Returns its length, or -1 when VAL
 * is not a string (null included).
 */
long jr_string(const char *val, size_t n, char *out, size_t cap);

/* An integer value into OUT: 0, or -1 when VAL is not an integer that fits a long. */
int jr_long(const char *val, size_t n, long *out);

/*
 * The elements of the array VAL, one per call: *POS starts at NULL.  Returns
 * 1 with ELEM set, 0 after the last, -1 when VAL is not an array.
 */
int jr_next(const char *val, size_t n, const char **pos, const char **elem, size_t *elen);

#endif
