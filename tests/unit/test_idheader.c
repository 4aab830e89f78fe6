/* test_idheader.c: percent-encoding of header values (idheader_encode) and the folded identification header (idheader_build). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "idheader.h"

#define GUARD 512

static char hdr[IDHEADER_MAX + GUARD];

static const enum conf_field default_fields[] = { FIELD_ID, FIELD_UID, FIELD_CWD, FIELD_SCRIPT };

/* Builds into HDR and checks that nothing past IDHEADER_MAX was touched. */
static size_t
build(const char *name, const enum conf_field *fields, int n, const struct idvalues *v,
    const char *eol)
{
	size_t len;

	memset(hdr, 0xaa, sizeof hdr);
	len = idheader_build(name, fields, n, v, eol, hdr);
	for (size_t i = IDHEADER_MAX; i < sizeof hdr; i++)
		assert_int_equal((unsigned char)hdr[i], 0xaa);
	assert_true(len < IDHEADER_MAX);
	assert_int_equal(strlen(hdr), len);
	return len;
}

/*
 * Checks the shape every built header must have: starts with "NAME:", ends
 * in EOL, no CR or LF except in EOL sequences that are followed by a space
 * (a fold) or end the field, every line at most 998 bytes, and at most 78
 * unless it holds a single field.  Returns the number of lines.
 */
static int
check_shape(const char *h, size_t len, const char *name, const char *eol)
{
	size_t el = strlen(eol), start = 0, nl = strlen(name);
	int lines = 0;

	assert_memory_equal(h, name, nl);
	assert_int_equal(h[nl], ':');
	assert_true(len >= el);
	assert_memory_equal(h + len - el, eol, el);
	for (size_t i = 0; i < len; i++) {
		if (h[i] != '\r' && h[i] != '\n')
			continue;
		/* Must be the start of a whole EOL. */
		assert_memory_equal(h + i, eol, el);
		{
			size_t linelen = i - start, semis = 0;

			assert_true(linelen <= 998);
			for (size_t k = start; k < i; k++)
				if (h[k] == ';')
					semis++;
			if (linelen > IDHEADER_FOLD) {
				/* One field only: at most the separator that ends it. */
				assert_true(semis == 0 || (semis == 1 && h[i - 1] == ';'));
			}
			if (lines > 0)
				assert_int_equal(h[start], ' ');
			/* A fold is only made when the next field would not fit. */
			if (i + el < len) {
				const char *next = h + i + el + 1, *end = next;

				assert_int_equal(h[i + el], ' ');
				while (*end != ';' && *end != '\r' && *end != '\n')
					end++;
				if (*end == ';')
					end++;
				assert_true(linelen + 1 + (size_t)(end - next) > IDHEADER_FOLD);
			}
		}
		lines++;
		i += el - 1;
		start = i + 1;
	}
	assert_int_equal(start, len);
	return lines;
}

/* HDR with every "EOL " fold turned back into " ", and the final EOL removed. */
static const char *
unfold(const char *h, size_t len, const char *eol)
{
	static char u[IDHEADER_MAX];
	size_t el = strlen(eol), k = 0;

	for (size_t i = 0; i < len - el; i++) {
		if (strncmp(h + i, eol, el) == 0) {
			i += el - 1;
			continue;
		}
		u[k++] = h[i];
	}
	u[k] = '\0';
	return u;
}

/* idheader_encode. */

static size_t
encode_str(const char *s, size_t n, char *out, size_t cap)
{
	size_t len = idheader_encode(s, n, out, cap);

	assert_int_equal(strlen(out), len);
	assert_true(len < cap);
	return len;
}

static void
idheader_encode__cap_below_minimum__empty_no_overrun(void **state)
{
	char out[8] = "xxxxxxx";

	(void)state;
	assert_int_equal(idheader_encode("\x80" "abcdef", 7, out, 2), 0);
	assert_string_equal(out, "");
	assert_int_equal(out[2], 'x');
	assert_int_equal(idheader_encode("abc", 3, out, 0), 0);
	assert_int_equal(out[0], '\0');
}

static void
idheader_encode__plain_path__unchanged(void **state)
{
	(void)state;
	char out[128];

	assert_int_equal(encode_str("/var/www/x.php", 14, out, sizeof out), 14);
	assert_string_equal(out, "/var/www/x.php");
}

static void
idheader_encode__specials__percent_uppercase_hex(void **state)
{
	(void)state;
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ ";", 1, "%3B" }, { "%", 1, "%25" }, { " ", 1, "%20" }, { "\r", 1, "%0D" },
		{ "\n", 1, "%0A" }, { "\0", 1, "%00" }, { "\t", 1, "%09" }, { "\x7f", 1, "%7F" },
		{ "\x80", 1, "%80" }, { "\xff", 1, "%FF" }, { "\xc3\xa9", 2, "%C3%A9" },
		{ "!", 1, "!" }, { "~", 1, "~" }, { "=", 1, "=" }, { ":", 1, ":" },
		{ "a b;c%d\r\ne\0f", 12, "a%20b%3Bc%25d%0D%0Ae%00f" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		encode_str(cases[i].in, cases[i].n, out, sizeof out);
		assert_string_equal(out, cases[i].want);
	}
}

static void
idheader_encode__every_byte__plain_or_escape(void **state)
{
	(void)state;
	char out[16], want[16];

	for (unsigned c = 0; c < 256; c++) {
		char in = (char)c;

		if (c >= '!' && c <= '~' && c != ';' && c != '%')
			snprintf(want, sizeof want, "%c", c);
		else
			snprintf(want, sizeof want, "%%%02X", c);
		encode_str(&in, 1, out, sizeof out);
		assert_string_equal(out, want);
	}
}

static void
idheader_encode__too_long__cut_with_dots(void **state)
{
	(void)state;
	char in[100], out[21];
	size_t len;

	memset(in, 'a', sizeof in);
	len = encode_str(in, sizeof in, out, sizeof out);
	assert_true(len >= 4);
	assert_string_equal(out + len - 3, "...");
	for (size_t i = 0; i < len - 3; i++)
		assert_int_equal(out[i], 'a');
	/* Uses the room it has: no more than the dots' worth is wasted. */
	assert_true(len >= sizeof out - 4);
}

static void
idheader_encode__cut_inside_escapes__whole_escapes_only(void **state)
{
	(void)state;
	char in[50], out[20];

	memset(in, ';', sizeof in);
	for (size_t cap = 5; cap <= sizeof out; cap++) {
		size_t len = encode_str(in, sizeof in, out, cap);

		assert_true(len >= 3);
		assert_string_equal(out + len - 3, "...");
		assert_int_equal((len - 3) % 3, 0);
		for (size_t i = 0; i + 3 <= len - 3; i += 3)
			assert_memory_equal(out + i, "%3B", 3);
	}
}

static void
idheader_encode__value_that_exactly_fits__kept_whole(void **state)
{
	(void)state;
	char out[10];

	/* 9 bytes and the NUL fill the 10-byte buffer exactly: nothing is cut. */
	encode_str("abcdefghi", 9, out, sizeof out);
	assert_string_equal(out, "abcdefghi");
	encode_str("abcdefgh", 8, out, sizeof out);
	assert_string_equal(out, "abcdefgh");
	encode_str("abc%d", 5, out, sizeof out);
	assert_string_equal(out, "abc%25d");
}

static void
idheader_encode__fits_with_room__kept_whole(void **state)
{
	(void)state;
	char out[10];

	encode_str("abcdefg", 7, out, sizeof out);
	assert_string_equal(out, "abcdefg");
	encode_str("", 0, out, sizeof out);
	assert_string_equal(out, "");
}

/* idheader_build. */

static void
idheader_build__default_fields_short_values__one_line(void **state)
{
	(void)state;
	struct idvalues v = { "ID1", 1009, 1009, 4243, "/w", "/w/x.php" };
	size_t len = build("X-Additional-Header", default_fields, 4, &v, "\n");

	assert_string_equal(hdr, "X-Additional-Header: id=ID1; uid=1009; cwd=/w; script=/w/x.php\n");
	assert_int_equal(check_shape(hdr, len, "X-Additional-Header", "\n"), 1);
}

static void
idheader_build__realistic_values__folded_before_cwd(void **state)
{
	(void)state;
	struct idvalues v = { "20261126185412.0123456789abcdef", 1009, 1009, 4243,
	    "/var/www", "/var/www/x.php" };
	size_t len = build("X-Additional-Header", default_fields, 4, &v, "\n");

	assert_string_equal(hdr,
	    "X-Additional-Header: id=20261126185412.0123456789abcdef; uid=1009;\n"
	    " cwd=/var/www; script=/var/www/x.php\n");
	assert_int_equal(check_shape(hdr, len, "X-Additional-Header", "\n"), 2);
}

static void
idheader_build__crlf__folds_and_ends_with_crlf(void **state)
{
	(void)state;
	struct idvalues v = { "20261126185412.0123456789abcdef", 1009, 1009, 4243,
	    "/var/www", "/var/www/x.php" };
	size_t len = build("X-Additional-Header", default_fields, 4, &v, "\r\n");

	assert_string_equal(hdr,
	    "X-Additional-Header: id=20261126185412.0123456789abcdef; uid=1009;\r\n"
	    " cwd=/var/www; script=/var/www/x.php\r\n");
	check_shape(hdr, len, "X-Additional-Header", "\r\n");
}

static void
idheader_build__script_null__none(void **state)
{
	(void)state;
	static const enum conf_field f[] = { FIELD_SCRIPT };
	struct idvalues v = { "ID", 1, 2, 3, "/", NULL };

	build("X-Additional-Header", f, 1, &v, "\n");
	assert_string_equal(hdr, "X-Additional-Header: script=none\n");
}

static void
idheader_build__numbers__decimal(void **state)
{
	(void)state;
	static const enum conf_field f[] = { FIELD_PID, FIELD_GID, FIELD_UID };
	struct idvalues v = { "ID", -1, 0, 4194304, "/", "/x" };

	build("X-Q", f, 3, &v, "\n");
	assert_string_equal(hdr, "X-Q: pid=4194304; gid=0; uid=-1\n");
}

static void
idheader_build__fields_order_and_names__as_configured(void **state)
{
	(void)state;
	static const enum conf_field f[] = { FIELD_SCRIPT, FIELD_PID, FIELD_ID, FIELD_CWD,
	    FIELD_GID, FIELD_UID };
	struct idvalues v = { "I", 10, 20, 30, "/c", "/s" };

	build("X-Sender-Id", f, 6, &v, "\n");
	assert_string_equal(hdr, "X-Sender-Id: script=/s; pid=30; id=I; cwd=/c; gid=20; uid=10\n");
}

static void
idheader_build__id_only__no_paths(void **state)
{
	(void)state;
	static const enum conf_field f[] = { FIELD_ID };
	struct idvalues v = { "20261126185412.0123456789abcdef", 1009, 1009, 1,
	    "/var/www/secret", "/var/www/secret/x.php" };

	build("X-Additional-Header", f, 1, &v, "\r\n");
	assert_string_equal(hdr, "X-Additional-Header: id=20261126185412.0123456789abcdef\r\n");
}

static void
idheader_build__hostile_values__encoded_never_a_new_line(void **state)
{
	(void)state;
	struct idvalues v = { "ID", 1, 1, 1, "/a b;c%d\r\nBcc: victim@x\n",
	    "/x\0y" };
	size_t len = build("X-Additional-Header", default_fields, 4, &v, "\n");

	assert_string_equal(hdr, "X-Additional-Header: id=ID; uid=1;"
	    " cwd=/a%20b%3Bc%25d%0D%0ABcc:%20victim@x%0A;\n script=/x\n");
	assert_int_equal(check_shape(hdr, len, "X-Additional-Header", "\n"), 2);
}

static void
idheader_build__long_cwd__own_line_within_998(void **state)
{
	(void)state;
	static char cwd[5000];
	struct idvalues v = { "20261126185412.0123456789abcdef", 1009, 1009, 1, cwd, "/s.php" };
	const char *eols[] = { "\n", "\r\n" };

	for (size_t i = 0; i < sizeof cwd - 1; i++)
		cwd[i] = "/a;\r\n\x80% b"[i % 9];
	cwd[0] = '/';
	cwd[sizeof cwd - 1] = '\0';
	for (int e = 0; e < 2; e++) {
		size_t len = build("X-Additional-Header", default_fields, 4, &v, eols[e]);
		const char *c = strstr(hdr, "cwd=");

		check_shape(hdr, len, "X-Additional-Header", eols[e]);
		assert_non_null(c);
		/* The cwd field starts its own folded line and is cut with "...". */
		assert_int_equal(c[-1], ' ');
		assert_int_equal(c[-2], '\n');
		assert_non_null(strstr(c, "...;"));
		assert_non_null(strstr(hdr, "script=/s.php"));
	}
}

static void
idheader_build__value_of_value_max__kept_whole(void **state)
{
	(void)state;
	static const enum conf_field f[] = { FIELD_CWD };
	static char cwd[IDHEADER_VALUE_MAX + 1];
	struct idvalues v = { "ID", 1, 1, 1, cwd, NULL };

	/* A cwd whose encoding is exactly IDHEADER_VALUE_MAX bytes is within bounds. */
	memset(cwd, 'a', IDHEADER_VALUE_MAX);
	cwd[0] = '/';
	cwd[IDHEADER_VALUE_MAX] = '\0';
	build("X-Additional-Header", f, 1, &v, "\n");
	assert_int_equal(strlen(hdr), strlen("X-Additional-Header: cwd=") + IDHEADER_VALUE_MAX + 1);
	assert_null(strstr(hdr, "..."));
}

static void
idheader_build__long_header_name__first_field_stays_on_first_line(void **state)
{
	(void)state;
	static char name[CONF_HEADER_NAME_MAX + 1];
	struct idvalues v = { "20261126185412.0123456789abcdef", 1009, 1009, 1, "/var/www",
	    "/var/www/x.php" };
	size_t len;

	memset(name, 'N', CONF_HEADER_NAME_MAX);
	name[CONF_HEADER_NAME_MAX] = '\0';
	len = build(name, default_fields, 4, &v, "\n");
	check_shape(hdr, len, name, "\n");
	/* Nothing may stand alone on the first line: the name is followed by a field. */
	assert_int_equal(hdr[CONF_HEADER_NAME_MAX + 1], ' ');
	assert_memory_equal(hdr + CONF_HEADER_NAME_MAX + 2, "id=", 3);
}

static void
idheader_build__many_shapes__always_well_formed(void **state)
{
	(void)state;
	static char cwd[3000], script[3000];
	static const char alphabet[] = "/abc;% \r\n\x01\x80\xff=xyz0123456789";
	const char *eols[] = { "\n", "\r\n" };
	unsigned seed = 7;

	for (int round = 0; round < 2000; round++) {
		enum conf_field f[6];
		int nf = 1 + round % 6, used = 0;
		struct idvalues v;
		size_t cl, sl, len;
		const char *eol = eols[round % 2], *u;
		char want[IDHEADER_MAX];
		int wl;

		/* Distinct fields in a varying order. */
		for (int i = 0; i < nf; i++) {
			int k;

			do {
				seed = seed * 1103515245u + 12345u;
				k = (int)((seed >> 16) % 6);
			} while (used & (1 << k));
			used |= 1 << k;
			f[i] = (enum conf_field)k;
		}
		seed = seed * 1103515245u + 12345u;
		cl = (seed >> 8) % (round % 3 == 0 ? sizeof cwd - 1 : 90);
		seed = seed * 1103515245u + 12345u;
		sl = (seed >> 8) % (round % 5 == 0 ? sizeof script - 1 : 70);
		for (size_t i = 0; i < cl; i++) {
			seed = seed * 1103515245u + 12345u;
			cwd[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
			if (cwd[i] == '\0')
				cwd[i] = 'q';
		}
		cwd[cl] = '\0';
		for (size_t i = 0; i < sl; i++)
			script[i] = (char)('a' + (i + (size_t)round) % 26);
		script[sl] = '\0';
		v = (struct idvalues){ "20261126185412.0123456789abcdef", round, -round,
		    round * 7, cwd, round % 7 == 0 ? NULL : script };
		len = build("X-Additional-Header", f, nf, &v, eol);
		check_shape(hdr, len, "X-Additional-Header", eol);

		/* Unfolded, it is exactly "NAME: f=v; f=v" with each value encoded. */
		wl = snprintf(want, sizeof want, "X-Additional-Header:");
		for (int i = 0; i < nf; i++) {
			char val[IDHEADER_VALUE_MAX + 1];

			switch (f[i]) {
			case FIELD_ID: idheader_encode(v.id, strlen(v.id), val, sizeof val); break;
			case FIELD_UID: snprintf(val, sizeof val, "%ld", v.uid); break;
			case FIELD_GID: snprintf(val, sizeof val, "%ld", v.gid); break;
			case FIELD_PID: snprintf(val, sizeof val, "%ld", v.pid); break;
			case FIELD_CWD: idheader_encode(cwd, cl, val, sizeof val); break;
			case FIELD_SCRIPT:
				if (v.script == NULL)
					snprintf(val, sizeof val, "none");
				else
					idheader_encode(script, sl, val, sizeof val);
				break;
			}
			wl += snprintf(want + wl, sizeof want - (size_t)wl, " %s=%s%s",
			    conf_field_name(f[i]), val, i + 1 < nf ? ";" : "");
		}
		u = unfold(hdr, len, eol);
		assert_string_equal(u, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(idheader_encode__cap_below_minimum__empty_no_overrun),
		cmocka_unit_test(idheader_encode__plain_path__unchanged),
		cmocka_unit_test(idheader_encode__specials__percent_uppercase_hex),
		cmocka_unit_test(idheader_encode__every_byte__plain_or_escape),
		cmocka_unit_test(idheader_encode__too_long__cut_with_dots),
		cmocka_unit_test(idheader_encode__cut_inside_escapes__whole_escapes_only),
		cmocka_unit_test(idheader_encode__value_that_exactly_fits__kept_whole),
		cmocka_unit_test(idheader_encode__fits_with_room__kept_whole),
		cmocka_unit_test(idheader_build__default_fields_short_values__one_line),
		cmocka_unit_test(idheader_build__realistic_values__folded_before_cwd),
		cmocka_unit_test(idheader_build__crlf__folds_and_ends_with_crlf),
		cmocka_unit_test(idheader_build__script_null__none),
		cmocka_unit_test(idheader_build__numbers__decimal),
		cmocka_unit_test(idheader_build__fields_order_and_names__as_configured),
		cmocka_unit_test(idheader_build__id_only__no_paths),
		cmocka_unit_test(idheader_build__hostile_values__encoded_never_a_new_line),
		cmocka_unit_test(idheader_build__long_cwd__own_line_within_998),
		cmocka_unit_test(idheader_build__value_of_value_max__kept_whole),
		cmocka_unit_test(idheader_build__long_header_name__first_field_stays_on_first_line),
		cmocka_unit_test(idheader_build__many_shapes__always_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
