/*
 * jsonread.c: see jsonread.h.  Recursive descent over a bounded text, depth
 * limited; every function returns the end of what it read, or NULL.
 */
#include "jsonread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char *value(const char *p, const char *end, int depth);

static const char *
space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* P is at the opening quote; returns the end after the closing one. */
static const char *
string(const char *p, const char *end)
{
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			if (*p == 'u') {
				if (end - p < 5)
					return NULL;
				for (int i = 1; i <= 4; i++)
					if (hex((unsigned char)p[i]) < 0)
						return NULL;
				p += 5;
			} else if (strchr("\"\\/bfnrt", *p) != NULL && *p != '\0') {
				p++;
			} else {
				return NULL;
			}
		} else if (c < 0x80) {
			p++;
		} else {
			size_t k = json_utf8_len((const unsigned char *)p, (size_t)(end - p));

			if (k == 0)
				return NULL;
			p += k;
		}
	}
	return NULL;
}

static const char *
digits(const char *p, const char *end)
{
	const char *start = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

static const char *
number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if ((p = digits(p, end)) == NULL)
		return NULL;
	if (p < end && *p == '.' && (p = digits(p + 1, end)) == NULL)
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if ((p = digits(p, end)) == NULL)
			return NULL;
	}
	return p;
}

static const char *
word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* An object or array at P; members of the top level go into O when not NULL. */
static const char *
container(const char *p, const char *end, int depth, struct jr_object *o)
{
	char close = *p == '{' ? '}' : ']';

	if (depth >= JR_MAX_DEPTH)
		return NULL;
	p = space(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		const char *key = NULL, *kend = NULL, *val;

		if (close == '}') {
			if (p >= end || *p != '"')
				return NULL;
			key = p;
			if ((p = kend = string(p, end)) == NULL)
				return NULL;
			p = space(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = space(p + 1, end);
		}
		val = p;
		if ((p = value(p, end, depth + 1)) == NULL)
			return NULL;
		if (o != NULL) {
			if (o->n >= JR_MAX_MEMBERS)
				return NULL;
			o->m[o->n++] = (struct jr_member){ key + 1, (size_t)(kend - key) - 2, val,
			    (size_t)(p - val) };
		}
		p = space(p, end);
		if (p < end && *p == ',') {
			p = space(p + 1, end);
			continue;
		}
		if (p < end && *p == close)
			return p + 1;
		return NULL;
	}
}

static const char *
value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		return container(p, end, depth, NULL);
	case '"':
		return string(p, end);
	case 't':
		return word(p, end, "true");
	case 'f':
		return word(p, end, "false");
	case 'n':
		return word(p, end, "null");
	default:
		return number(p, end);
	}
}

int
jr_parse(const char *s, size_t n, struct jr_object *o)
{
	const char *end = s + n, *p = space(s, end);

	o->n = 0;
	if (p >= end || *p != '{' || (p = container(p, end, 0, o)) == NULL)
		return -1;
	return space(p, end) == end ? 0 : -1;
}

const struct jr_member *
jr_get(const struct jr_object *o, const char *key)
{
	size_t n = strlen(key);

	for (int i = o->n - 1; i >= 0; i--)
		if (o->m[i].keylen == n && memcmp(o->m[i].key, key, n) == 0)
			return &o->m[i];
	return NULL;
}

/* Appends the UTF-8 of code point C if it fits in CAP less the NUL. */
static int
put_utf8(char *out, size_t *len, size_t cap, unsigned long c)
{
	unsigned char b[4];
	size_t k;

	if (c < 0x80) {
		b[0] = (unsigned char)c, k = 1;
	} else if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6), b[1] = (unsigned char)(0x80 | (c & 0x3f)), k = 2;
	} else if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12), b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f)), k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | c >> 18), b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f)), b[3] = (unsigned char)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (*len + k >= cap)
		return -1;
	memcpy(out + *len, b, k);
	*len += k;
	return 0;
}

static unsigned long
hex4(const char *p)
{
	return (unsigned long)(hex(p[0]) << 12 | hex(p[1]) << 8 | hex(p[2]) << 4 | hex(p[3]));
}

long
jr_string(const char *val, size_t n, char *out, size_t cap)
{
	const char *p = val + 1, *end = val + n - 1;
	size_t len = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	/* jr_parse validated it: only the escapes need looking at. */
	if (n < 2 || val[0] != '"')
		return -1;
	while (p < end) {
		unsigned long c;
		size_t k;

		if (*p != '\\') {
			k = *(const unsigned char *)p < 0x80 ? 1 :
			    json_utf8_len((const unsigned char *)p, (size_t)(end - p));
			if (k == 0 || len + k >= cap)
				break;
			memcpy(out + len, p, k);
			len += k, p += k;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			c = hex4(p + 1);
			p += 4;
			if (c >= 0xd800 && c < 0xdc00 && end - p > 6 && p[1] == '\\' && p[2] == 'u' &&
			    hex4(p + 3) >= 0xdc00 && hex4(p + 3) < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (hex4(p + 3) - 0xdc00);
				p += 6;
			} else if (c == 0 || (c >= 0xd800 && c < 0xe000)) {
				c = 0xfffd;
			}
			break;
		default: c = (unsigned char)*p; break;
		}
		p++;
		if (put_utf8(out, &len, cap, c) < 0)
			break;
	}
	out[len] = '\0';
	return (long)len;
}

int
jr_long(const char *val, size_t n, long *out)
{
	char tmp[24], *e;

	if (n == 0 || n >= sizeof tmp || (val[0] != '-' && (val[0] < '0' || val[0] > '9')))
		return -1;
	memcpy(tmp, val, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtol(tmp, &e, 10);
	return *e == '\0' && errno == 0 ? 0 : -1;
}

int
jr_next(const char *val, size_t n, const char **pos, const char **elem, size_t *elen)
{
	const char *end = val + n, *p;

	if (n == 0 || val[0] != '[')
		return -1;
	p = space(*pos == NULL ? val + 1 : *pos, end);
	if (*pos != NULL && p < end && *p == ',')
		p = space(p + 1, end);
	if (p >= end || *p == ']')
		return 0;
	*elem = p;
	if ((p = value(p, end, 1)) == NULL)
		return -1;
	*elen = (size_t)(p - *elem);
	*pos = p;
	return 1;
}
