/*
 * json.h: a tiny JSON writer into a caller-owned fixed buffer.  Used by the
 * set-gid wrapper for its records, so it allocates nothing and never writes
 * past the buffer; every string is escaped to valid UTF-8 JSON.
 */
#ifndef QWRAP_JSON_H
#define QWRAP_JSON_H

#include <stddef.h>

struct jbuf {
	char *p;
	size_t cap;
	size_t len;
	int overflow;		/* something did not fit: the result is unusable */
	int truncated;		/* a string was cut at its cap */
};

void jb_init(struct jbuf *b, char *p, size_t cap);
void jb_raw(struct jbuf *b, const char *s);
void jb_long(struct jbuf *b, long v);

/*
 * Appends S[0..N) as a quoted JSON string whose escaped content is at most
 * MAXOUT bytes; a longer value is cut at a character boundary and marks the
 * buffer truncated.  Bytes that are not valid UTF-8 become the text \xNN.
 */
void jb_str(struct jbuf *b, const char *s, size_t n, size_t maxout);

/* Same, for a NUL-terminated string; NULL writes null. */
void jb_cstr(struct jbuf *b, const char *s, size_t maxout);

/* Appends "key": to an object, with a comma unless FIRST. */
void jb_key(struct jbuf *b, const char *key, int first);

/* Length of the valid UTF-8 sequence at S (at most N bytes), 0 if invalid. */
size_t json_utf8_len(const unsigned char *s, size_t n);

/*
 * Whether the character of K bytes at P (K as json_utf8_len gave it; 0: not
 * UTF-8) must never reach a terminal raw: C0, DEL and C1 controls (0x9b is
 * CSI to some terminals), the bidirectional controls that would show a
 * path in another order than it has, and U+2028 and U+2029, the line and
 * paragraph separators, which JavaScript and some log viewers take as a line
 * break (a record would look torn in two).  jb_str writes them as \uXXXX;
 * the admin tool prints them as '?'.
 */
int json_char_unsafe(const unsigned char *p, size_t k);

#endif
