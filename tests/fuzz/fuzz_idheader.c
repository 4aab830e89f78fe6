/* fuzz_idheader.c: libFuzzer harness for idheader_build and idheader_encode (wrapper/idheader.c). */
/*
 * Input layout:
 *   byte 0     flags: bit 0 eol "\r\n" (else "\n"), bit 1 script NULL,
 *              bit 2 a 76-byte header name (the longest config allows),
 *              bit 3 duplicate fields allowed (config forbids them),
 *              bit 7 fuzz idheader_encode alone instead
 *   byte 1     low 3 bits: number of fields - 1
 *   bytes 2-4  eight 3-bit field codes (6 and 7 stand for cwd and script)
 *   bytes 5-6  where the data splits into cwd and script
 *   bytes 7-14 uid (gid and pid are derived from it)
 *   the rest   cwd bytes, then script bytes; each is cut at its first NUL
 * Encode-alone mode: bytes 1-2 give the cap, the rest is the value.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idheader.h"

/*
 * idheader_encode needs cap >= 4 (room for "..." and the NUL) when the value
 * does not fit; a smaller cap overflows OUT (tests/fuzz/crashes/README).
 */
#ifndef FUZZ_ENCODE_MIN_CAP
#define FUZZ_ENCODE_MIN_CAP 1
#endif

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_idheader: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

#define ID "20261126185412.0123456789abcdef"
#define VALUE_CAP (IDHEADER_VALUE_MAX + 1)	/* what idheader_build gives each value */

static int
plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '%';
}

/* Length of S[0..N) fully percent-encoded. */
static size_t
encoded_len(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += plain((unsigned char)s[i]) ? 1 : 3;
	return k;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* lower case is not what the encoder writes */
}

/* Decodes E[0..N) into OUT; -1 if it is not exactly what the encoder writes. */
static long
decode(const char *e, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval(e[i + 1]);
			lo = hexval(e[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			if (plain(c))
				return -1;	/* would have been written as itself */
			out[k++] = (char)c;
			i += 2;
		} else if (plain(c))
			out[k++] = (char)c;
		else
			return -1;
	}
	return (long)k;
}

/*
 * ENC (length N) is the encoding of IN[0..INLEN) that a buffer of CAP bytes
 * allowed: whole, or cut at a whole escape and ended with "...".
 */
static void
check_encoding(const char *enc, size_t n, const char *in, size_t inlen, size_t cap)
{
	static char dec[IDHEADER_MAX * 4];
	long d;

	CHECK(n < cap);
	d = decode(enc, n, dec);
	if (d >= 0 && (size_t)d == inlen && memcmp(dec, in, inlen) == 0)
		return;		/* whole */
	/* Cut: that only happens when the whole would not have fit. */
	CHECK(encoded_len(in, inlen) + 1 > cap);
	CHECK(n >= 3 && memcmp(enc + n - 3, "...", 3) == 0);
	d = decode(enc, n - 3, dec);
	CHECK(d >= 0 && (size_t)d < inlen && memcmp(dec, in, (size_t)d) == 0);
}

static void
fuzz_encode(const uint8_t *data, size_t size)
{
	size_t cap, n;
	char *out;

	if (size < 3)
		return;
	cap = FUZZ_ENCODE_MIN_CAP + ((size_t)data[1] << 8 | data[2]) % 2048;
	data += 3, size -= 3;
	out = malloc(cap);	/* exactly CAP bytes: a write past them is reported */
	CHECK(out != NULL);
	n = idheader_encode((const char *)data, size, out, cap);
	CHECK(n < cap);
	CHECK(out[n] == '\0' && strlen(out) == n);
	if (cap >= 4)
		check_encoding(out, n, (const char *)data, size, cap);
	free(out);
}

static long
take_long(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (long)v;
}

/* The value of field NAME in the unfolded header U, at piece I; checks its name. */
static const char *
piece_value(const char *piece, size_t plen, const char *fname, size_t *vlen)
{
	size_t fl = strlen(fname);

	CHECK(plen > fl && memcmp(piece, fname, fl) == 0 && piece[fl] == '=');
	*vlen = plen - fl - 1;
	return piece + fl + 1;
}

static void
check_number(const char *v, size_t n, long want)
{
	char tmp[32];

	snprintf(tmp, sizeof tmp, "%ld", want);
	CHECK(n == strlen(tmp) && memcmp(v, tmp, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[IDHEADER_MAX + 64], unfolded[IDHEADER_MAX + 64];
	static char longname[CONF_HEADER_NAME_MAX + 1];
	enum conf_field fields[CONF_MAX_FIELDS];
	struct idvalues v;
	const char *eol, *name, *p;
	char *cwd, *script;
	size_t len, eollen, namelen, split, cwdlen, scriptlen, ulen, line, npieces;
	unsigned codes, flags;
	int nfields, dup;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		fuzz_encode(data, size);
		return 0;
	}
	if (size < 15)
		return 0;
	flags = data[0];
	eol = (flags & 1) ? "\r\n" : "\n";
	eollen = strlen(eol);
	if (flags & 4) {
		memset(longname, 'N', CONF_HEADER_NAME_MAX);
		memcpy(longname, "X-", 2);
		longname[CONF_HEADER_NAME_MAX] = '\0';
		name = longname;
	} else
		name = "X-Additional-Header";
	namelen = strlen(name);
	dup = (flags & 8) != 0;
	nfields = 1 + (data[1] & 7);
	codes = (unsigned)data[2] << 16 | (unsigned)data[3] << 8 | data[4];
	{
		unsigned seen = 0;
		int k = 0;

		for (int i = 0; i < 8 && k < nfields; i++) {
			unsigned c = (codes >> (3 * i)) & 7;
			enum conf_field f = c == 6 ? FIELD_CWD : c == 7 ? FIELD_SCRIPT : (enum conf_field)c;

			if (!dup && (seen & (1u << f)))
				continue;
			seen |= 1u << f;
			fields[k++] = f;
		}
		nfields = k;
	}
	split = (size_t)data[5] << 8 | data[6];
	v.id = ID;
	v.uid = take_long(data + 7);
	v.gid = (long)(int32_t)(v.uid >> 16);
	v.pid = (long)(uint16_t)v.uid;
	data += 15, size -= 15;
	if (split > size)
		split = size;
	cwdlen = strnlen((const char *)data, split);
	scriptlen = strnlen((const char *)data + split, size - split);
	cwd = malloc(cwdlen + 1);
	script = malloc(scriptlen + 1);
	CHECK(cwd != NULL && script != NULL);
	memcpy(cwd, data, cwdlen);
	cwd[cwdlen] = '\0';
	memcpy(script, data + split, scriptlen);
	script[scriptlen] = '\0';
	v.cwd = cwd;
	v.script = (flags & 2) ? NULL : script;

	len = idheader_build(name, fields, nfields, &v, eol, out);
#ifdef FUZZ_VERBOSE
	fwrite(out, 1, len, stderr);
#endif

	/* The shape: "NAME:", printable, folded lines, one field, eol at the end. */
	CHECK(len > namelen + 1 + eollen && len < IDHEADER_MAX);
	CHECK(memcmp(out, name, namelen) == 0 && out[namelen] == ':');
	CHECK(memcmp(out + len - eollen, eol, eollen) == 0);
	line = 0;
	ulen = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == eol[0] && len - i >= eollen && memcmp(out + i, eol, eollen) == 0) {
			i += eollen - 1;
			/* folding: every line but the last goes on with a space */
			if (i + 1 < len)
				CHECK(out[i + 1] == ' ');
			CHECK(line <= 998);
			line = 0;
			continue;
		}
		CHECK(c >= 0x20 && c <= 0x7e);
		line++;
		unfolded[ulen++] = (char)c;
	}
	CHECK(line == 0);
	unfolded[ulen] = '\0';

	/* Unfolded: "NAME: f1=v1; f2=v2; ...", one piece per field, in order. */
	p = unfolded + namelen + 1;
	npieces = 0;
	while (*p != '\0') {
		const char *piece, *end, *val;
		size_t plen, vlen;
		int last;

		CHECK(*p == ' ' && p[1] != ' ' && p[1] != '\0');
		piece = p + 1;
		end = strchr(piece, ' ');
		if (end == NULL)
			end = piece + strlen(piece);
		plen = (size_t)(end - piece);
		last = *end == '\0';
		CHECK(npieces < (size_t)nfields);
		/* ';' after every piece but the last field's */
		if (npieces + 1 < (size_t)nfields) {
			CHECK(plen > 0 && piece[plen - 1] == ';');
			plen--;
		} else
			CHECK(last);
		CHECK(memchr(piece, ';', plen) == NULL);
		val = piece_value(piece, plen, conf_field_name(fields[npieces]), &vlen);
		switch (fields[npieces]) {
		case FIELD_ID:
			CHECK(vlen == strlen(ID) && memcmp(val, ID, vlen) == 0);
			break;
		case FIELD_UID: check_number(val, vlen, v.uid); break;
		case FIELD_GID: check_number(val, vlen, v.gid); break;
		case FIELD_PID: check_number(val, vlen, v.pid); break;
		case FIELD_CWD:
			check_encoding(val, vlen, cwd, cwdlen, VALUE_CAP);
			break;
		case FIELD_SCRIPT:
			if (v.script == NULL)
				CHECK(vlen == 4 && memcmp(val, "none", 4) == 0);
			else
				check_encoding(val, vlen, script, scriptlen, VALUE_CAP);
			break;
		}
		npieces++;
		p = end;
	}
	/* All fields are there unless duplicates made it too long for IDHEADER_MAX. */
	if (!dup)
		CHECK(npieces == (size_t)nfields);
	else
		CHECK(npieces == (size_t)nfields || len > IDHEADER_MAX - 2 * (IDHEADER_VALUE_MAX + 16));
	CHECK(npieces >= 1);

	free(cwd);
	free(script);
	return 0;
}
