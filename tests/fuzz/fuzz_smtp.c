/*
 * fuzz_smtp.c: libFuzzer harness for wrapper/smtp.c.  The first byte picks
 * what is fuzzed, the second is a size; the rest is the input.
 *   0  smtp_verb and smtp_address on a command line
 *   1  smtp_reply_code and smtp_ehlo_filter on a reply
 *   2  smtp_data_scan: the relay's invariant.  The data read unstuffed into
 *      a buffer of the size byte's length, stuffed again, then the held raw
 *      bytes and the rest as they came, must read as the data itself: the
 *      server sees the message the client sent.  Chunking must not matter.
 *   3  smtp_stuff then smtp_data_scan gives the message back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* Reads all of IN; the bytes after the end line (if any) start at *REST. */
static char *
scan_all(const char *in, size_t n, size_t *outlen, size_t *rest, enum smtp_data_state *st)
{
	char *out = malloc(n * 3 + 3);

	*st = DS_LINE_START;
	*outlen = 0;
	*rest = smtp_data_scan(st, in, n, out, n * 3 + 3, outlen);
	return out;
}

static void
verbs(const char *in, size_t n, size_t addrmax)
{
	char addr[300];
	int r;

	if (addrmax == 0)
		addrmax = 1;
	CHECK(smtp_verb(in, n) <= SMTP_STARTTLS);
	r = smtp_address(in, n, addr, addrmax);
	CHECK(r >= -1 && r <= 1);
	CHECK(strlen(addr) < addrmax);
	CHECK(strpbrk(addr, "\r\n") == NULL);
}

static int
hidden_line(const char *l, size_t n)
{
	static const char *const names[] = { "STARTTLS", "CHUNKING", "BINARYMIME" };

	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(names[i]);

		if (n >= 4 + k && strncasecmp(l + 4, names[i], k) == 0 &&
		    (n == 4 + k || (unsigned char)l[4 + k] <= 0x20))
			return 1;
	}
	return 0;
}

static void
replies(const char *in, size_t n)
{
	char *r = malloc(n + 1);
	size_t len, pos = 0, lines = 0;
	int last, code = smtp_reply_code(in, n, &last);

	CHECK(code >= 0 && code <= 999);
	memcpy(r, in, n);
	len = smtp_ehlo_filter(r, n);
	CHECK(len <= n);
	if (code / 100 != 2)
		CHECK(len == n && memcmp(r, in, n) == 0);
	/* Of a 2xx reply, no line but the first names an extension the relay cannot follow. */
	while (code / 100 == 2 && pos < len) {
		const char *nl = memchr(r + pos, '\n', len - pos);
		size_t k = nl ? (size_t)(nl - (r + pos)) + 1 : len - pos;

		if (lines++ > 0)
			CHECK(!hidden_line(r + pos, k));
		pos += k;
	}
	free(r);
}

static void
data(const char *in, size_t n, size_t cap)
{
	enum smtp_data_state st = DS_LINE_START, st1, st2;
	char *head = malloc(cap + 3), *w, *u1, *u2;
	size_t headlen = 0, used, wlen, l1, l2, r1, r2;
	int at_start = 1;
	const char *held;

	/* The relay: a head read unstuffed, stuffed again, then the raw rest. */
	used = smtp_data_scan(&st, in, n, head, cap + 3, &headlen);
	CHECK(used <= n && headlen <= cap + 3);
	held = smtp_data_pending(st);
	w = malloc(2 * headlen + 4 + (n - used));
	wlen = smtp_stuff(&at_start, head, headlen, w);
	memcpy(w + wlen, held, strlen(held));
	wlen += strlen(held);
	memcpy(w + wlen, in + used, n - used);
	wlen += n - used;
	u1 = scan_all(in, n, &l1, &r1, &st1);
	u2 = scan_all(w, wlen, &l2, &r2, &st2);
	CHECK(l1 == l2 && memcmp(u1, u2, l1) == 0);
	CHECK(st1 == st2);
	/* What follows the end is left for the commands, the same. */
	CHECK(n - r1 == wlen - r2 && memcmp(in + r1, w + r2, n - r1) == 0);
	/* Byte by byte reads the same as all at once. */
	{
		enum smtp_data_state s = DS_LINE_START;
		size_t len = 0, i = 0;
		char *u3 = malloc(n * 3 + 3);

		while (i < n && !SMTP_DATA_ENDED(s))
			i += smtp_data_scan(&s, in + i, 1, u3, n * 3 + 3, &len);
		CHECK(s == st1 && len == l1 && memcmp(u3, u1, l1) == 0 && i == r1);
		free(u3);
	}
	free(head);
	free(w);
	free(u1);
	free(u2);
}

static void
roundtrip(const char *in, size_t n)
{
	char *w = malloc(2 * n + 8), *u;
	int at_start = 1;
	size_t wlen = smtp_stuff(&at_start, in, n, w), ulen, rest;
	enum smtp_data_state st;
	int nl = n == 0 || in[n - 1] == '\n';

	if (!nl) {
		memcpy(w + wlen, "\r\n", 2);
		wlen += 2;
	}
	memcpy(w + wlen, ".\r\n", 3);
	wlen += 3;
	u = scan_all(w, wlen, &ulen, &rest, &st);
	CHECK(st == DS_END && rest == wlen);
	CHECK(ulen == n + (nl ? 0 : 2) && memcmp(u, in, n) == 0);
	free(w);
	free(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	const char *in = (const char *)d + 2;
	size_t n;

	if (size < 2)
		return 0;
	n = size - 2;
	switch (d[0] % 4) {
	case 0: verbs(in, n, d[1] + 1); break;
	case 1: replies(in, n); break;
	case 2: data(in, n, d[1]); break;
	case 3: roundtrip(in, n); break;
	}
	return 0;
}
