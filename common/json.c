/*
 * json.c: bounded JSON writer (see json.h).  Privileged callers rely on it
 * never to overrun and never to emit a raw control byte or invalid UTF-8.
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

void
jb_init(struct jbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->overflow = 0;
	b->truncated = 0;
	if (cap > 0)
		p[0] = '\0';
}

static void
put(struct jbuf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
jb_raw(struct jbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

void
jb_long(struct jbuf *b, long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%ld", v);

	put(b, tmp, (size_t)n);
}

void
jb_key(struct jbuf *b, const char *key, int first)
{
	if (!first)
		put(b, ",", 1);
	put(b, "\"", 1);
	jb_raw(b, key);
	put(b, "\":", 2);
}

size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, cp = c & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

int
json_char_unsafe(const unsigned char *p, size_t k)
{
	return k == 0 || p[0] < 0x20 || p[0] == 0x7f ||
	    (k == 2 && ((p[0] == 0xc2 && p[1] < 0xa0) || (p[0] == 0xd8 && p[1] == 0x9c))) ||
	    (k == 3 && p[0] == 0xe2 && ((p[1] == 0x80 && (p[2] == 0x8e || p[2] == 0x8f ||
	    (p[2] >= 0xa8 && p[2] <= 0xae))) || (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)));
}

void
jb_str(struct jbuf *b, const char *s, size_t n, size_t maxout)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, out = 0;

	put(b, "\"", 1);
	while (i < n) {
		char esc[8];
		const char *piece = esc;
		size_t plen, step = 1;
		unsigned c = u[i];

		switch (c) {
		case '"': piece = "\\\""; plen = 2; break;
		case '\\': piece = "\\\\"; plen = 2; break;
		case '\n': piece = "\\n"; plen = 2; break;
		case '\r': piece = "\\r"; plen = 2; break;
		case '\t': piece = "\\t"; plen = 2; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
			} else if (c < 0x80) {
				piece = s + i;
				plen = 1;
			} else if ((step = json_utf8_len(u + i, n - i)) > 0 &&
			    json_char_unsafe(u + i, step)) {
				/* Valid, but raw on a terminal (jq, tail) it would be a control. */
				unsigned cp = step == 2 ? (c & 0x1fu) << 6 | (u[i + 1] & 0x3fu) :
				    (c & 0x0fu) << 12 | (u[i + 1] & 0x3fu) << 6 | (u[i + 2] & 0x3fu);
				plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", cp);
			} else if (step > 0) {
				piece = s + i;
				plen = step;
			} else {
				/* Not UTF-8: keep the byte readable and the line valid. */
				plen = (size_t)snprintf(esc, sizeof esc, "\\\\x%02x", c);
				step = 1;
			}
		}
		if (out + plen > maxout) {
			b->truncated = 1;
			break;
		}
		put(b, piece, plen);
		out += plen;
		i += step;
	}
	put(b, "\"", 1);
}

void
jb_cstr(struct jbuf *b, const char *s, size_t maxout)
{
	if (s == NULL)
		jb_raw(b, "null");
	else
		jb_str(b, s, strlen(s), maxout);
}
