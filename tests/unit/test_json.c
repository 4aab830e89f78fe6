/* test_json.c: the bounded JSON writer (jb_*) and its UTF-8 check, json_utf8_len. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static char out[1 << 16];

/* jb_str of S[0..N) into a large buffer; returns the text, TRUNC gets the flag. */
static const char *
enc(const char *s, size_t n, size_t maxout, int *trunc)
{
	struct jbuf b;

	jb_init(&b, out, sizeof out);
	jb_str(&b, s, n, maxout);
	assert_false(b.overflow);
	assert_int_equal(b.len, strlen(out));
	if (trunc != NULL)
		*trunc = b.truncated;
	return out;
}

#define ENC(lit) enc((lit), sizeof(lit) - 1, 4096, NULL)

/* Table 3-7 of the Unicode standard, written out independently of json.c. */
static size_t
ref_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	unsigned lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c == 0xe0)
		need = 3, lo = 0xa0;
	else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		need = 3;
	else if (c == 0xed)
		need = 3, hi = 0x9f;
	else if (c == 0xf0)
		need = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3)
		need = 4;
	else if (c == 0xf4)
		need = 4, hi = 0x8f;
	else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* True when S[0..N) is entirely valid UTF-8 with no byte below 0x20. */
static int
valid_json_text(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t k = ref_utf8_len(u + i, n - i);

		if (k == 0 || u[i] < 0x20)
			return 0;
		i += k;
	}
	return 1;
}

/* jb_init, jb_raw, jb_long, jb_key. */

static void
jb_init__any_buffer__empty_string(void **state)
{
	(void)state;
	char buf[8] = "xxxxxxx";
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.overflow, 0);
	assert_int_equal(b.truncated, 0);
	assert_string_equal(buf, "");
}

static void
jb_raw__two_pieces__concatenated(void **state)
{
	(void)state;
	char buf[32];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_raw(&b, "{\"v\":");
	jb_raw(&b, "1}");
	assert_string_equal(buf, "{\"v\":1}");
	assert_int_equal(b.len, 7);
}

static void
jb_long__extremes__decimal(void **state)
{
	(void)state;
	char buf[128], want[128];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_long(&b, 0);
	jb_raw(&b, " ");
	jb_long(&b, -1);
	jb_raw(&b, " ");
	jb_long(&b, LONG_MIN);
	jb_raw(&b, " ");
	jb_long(&b, LONG_MAX);
	snprintf(want, sizeof want, "0 -1 %ld %ld", LONG_MIN, LONG_MAX);
	assert_string_equal(buf, want);
	assert_false(b.overflow);
}

static void
jb_key__first_and_later__comma_only_between(void **state)
{
	(void)state;
	char buf[64];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_raw(&b, "{");
	jb_key(&b, "a", 1);
	jb_long(&b, 1);
	jb_key(&b, "b", 0);
	jb_long(&b, 2);
	jb_raw(&b, "}");
	assert_string_equal(buf, "{\"a\":1,\"b\":2}");
}

/* Escaping. */

static void
jb_str__plain_ascii__quoted_unchanged(void **state)
{
	(void)state;
	assert_string_equal(ENC("hello world/x.php"), "\"hello world/x.php\"");
}

static void
jb_str__empty__two_quotes(void **state)
{
	(void)state;
	int t = -1;

	assert_string_equal(enc("", 0, 0, &t), "\"\"");
	assert_int_equal(t, 0);
}

static void
jb_str__quote_and_backslash__escaped(void **state)
{
	(void)state;
	assert_string_equal(ENC("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

static void
jb_str__newline_cr_tab__short_escapes(void **state)
{
	(void)state;
	assert_string_equal(ENC("a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
}

static void
jb_str__every_control_byte__escaped(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 0x20; c++) {
		char in = (char)c, want[16];

		if (c == '\n')
			snprintf(want, sizeof want, "\"\\n\"");
		else if (c == '\r')
			snprintf(want, sizeof want, "\"\\r\"");
		else if (c == '\t')
			snprintf(want, sizeof want, "\"\\t\"");
		else
			snprintf(want, sizeof want, "\"\\u%04x\"", c);
		assert_string_equal(enc(&in, 1, 4096, NULL), want);
	}
}

static void
jb_str__nul_inside__escaped_not_ended(void **state)
{
	(void)state;
	static const char in[] = { 'a', '\0', 'b' };

	assert_string_equal(enc(in, 3, 4096, NULL), "\"a\\u0000b\"");
}

static void
jb_str__del__escaped(void **state)
{
	(void)state;
	assert_string_equal(ENC("a\x7f" "b"), "\"a\\u007fb\"");
}

static void
jb_str__printable_ascii__raw_except_quote_backslash(void **state)
{
	(void)state;
	for (unsigned c = 0x20; c < 0x7f; c++) {
		char in = (char)c, want[8];

		if (c == '"' || c == '\\')
			snprintf(want, sizeof want, "\"\\%c\"", c);
		else
			snprintf(want, sizeof want, "\"%c\"", c);
		assert_string_equal(enc(&in, 1, 4096, NULL), want);
	}
}

/* UTF-8. */

static void
jb_str__valid_multibyte__kept_raw(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"\xc2\xa0",		/* U+00A0, just past the C1 controls */
		"\xc3\xa9",		/* é */
		"\xdf\xbf",		/* U+07FF */
		"\xe0\xa0\x80",		/* U+0800 */
		"\xe2\x82\xac",		/* € */
		"\xed\x9f\xbf",		/* U+D7FF, just below the surrogates */
		"\xee\x80\x80",		/* U+E000, just above */
		"\xef\xbf\xbf",		/* U+FFFF */
		"\xf0\x90\x80\x80",	/* U+10000 */
		"\xf0\x9d\x84\x9e",	/* 𝄞 */
		"\xf4\x8f\xbf\xbf",	/* U+10FFFF */
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char want[16];

		snprintf(want, sizeof want, "\"%s\"", ok[i]);
		assert_string_equal(enc(ok[i], strlen(ok[i]), 4096, NULL), want);
	}
}

/* Valid UTF-8 that a terminal takes as a control: C1 (U+009B is CSI), the
 * bidirectional controls, and the line and paragraph separators (U+2028, U+2029).
 * Escaped, so that jq or tail never prints them raw. */
static void
jb_str__c1_and_bidi_controls__escaped_as_u(void **state)
{
	(void)state;
	static const char *const ctl[][2] = {
		{ "\xc2\x80", "\"\\u0080\"" }, { "\xc2\x9b", "\"\\u009b\"" },
		{ "\xc2\x9f", "\"\\u009f\"" }, { "\xd8\x9c", "\"\\u061c\"" },
		{ "\xe2\x80\x8e", "\"\\u200e\"" }, { "\xe2\x80\x8f", "\"\\u200f\"" },
		{ "\xe2\x80\xaa", "\"\\u202a\"" }, { "\xe2\x80\xae", "\"\\u202e\"" },
		{ "\xe2\x81\xa6", "\"\\u2066\"" }, { "\xe2\x81\xa9", "\"\\u2069\"" },
		{ "\xe2\x80\xa8", "\"\\u2028\"" }, { "\xe2\x80\xa9", "\"\\u2029\"" },
		{ "a\xe2\x80\xae" "b", "\"a\\u202eb\"" },
	};
	/* Their neighbours are text. */
	static const char *const text[] = { "\xc2\xa0", "\xd8\x9b", "\xe2\x80\x8d",
		"\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\xa5", "\xe2\x81\xaa" };

	for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
		assert_string_equal(enc(ctl[i][0], strlen(ctl[i][0]), 4096, NULL), ctl[i][1]);
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
		char want[16];

		snprintf(want, sizeof want, "\"%s\"", text[i]);
		assert_string_equal(enc(text[i], strlen(text[i]), 4096, NULL), want);
	}
}

static void
jb_str__mixed_text__kept_raw(void **state)
{
	(void)state;
	assert_string_equal(ENC("Caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80"),
	    "\"Caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80\"");
}

static void
jb_str__lone_continuation__backslash_x(void **state)
{
	(void)state;
	assert_string_equal(ENC("a\x80" "b"), "\"a\\\\x80b\"");
	assert_string_equal(ENC("\xbf"), "\"\\\\xbf\"");
}

static void
jb_str__overlong_c0_80__each_byte_escaped(void **state)
{
	(void)state;
	assert_string_equal(ENC("\xc0\x80"), "\"\\\\xc0\\\\x80\"");
	assert_string_equal(ENC("\xc1\xbf"), "\"\\\\xc1\\\\xbf\"");
	assert_string_equal(ENC("\xe0\x80\xaf"), "\"\\\\xe0\\\\x80\\\\xaf\"");
	assert_string_equal(ENC("\xf0\x8f\xbf\xbf"), "\"\\\\xf0\\\\x8f\\\\xbf\\\\xbf\"");
}

static void
jb_str__surrogate_ed_a0_80__escaped(void **state)
{
	(void)state;
	assert_string_equal(ENC("\xed\xa0\x80"), "\"\\\\xed\\\\xa0\\\\x80\"");
	assert_string_equal(ENC("\xed\xbf\xbf"), "\"\\\\xed\\\\xbf\\\\xbf\"");
}

static void
jb_str__beyond_10ffff_and_f5_up__escaped(void **state)
{
	(void)state;
	assert_string_equal(ENC("\xf4\x90\x80\x80"), "\"\\\\xf4\\\\x90\\\\x80\\\\x80\"");
	assert_string_equal(ENC("\xf5\x80\x80\x80"), "\"\\\\xf5\\\\x80\\\\x80\\\\x80\"");
	assert_string_equal(ENC("\xf8"), "\"\\\\xf8\"");
	assert_string_equal(ENC("\xfe\xff"), "\"\\\\xfe\\\\xff\"");
}

static void
jb_str__truncated_sequence__escaped_then_resynchronised(void **state)
{
	(void)state;
	/* At the end of the value. */
	assert_string_equal(ENC("x\xe2\x82"), "\"x\\\\xe2\\\\x82\"");
	/* Followed by ASCII, then by a valid character. */
	assert_string_equal(ENC("\xe2\x82" "A\xc3\xa9"), "\"\\\\xe2\\\\x82A\xc3\xa9\"");
	/* A 4-byte sequence missing its last byte. */
	assert_string_equal(ENC("\xf0\x9d\x84"), "\"\\\\xf0\\\\x9d\\\\x84\"");
	/* A lead byte followed by another lead byte. */
	assert_string_equal(ENC("\xc3\xc3\xa9"), "\"\\\\xc3\xc3\xa9\"");
}

static void
jb_str__valid_sequence_cut_by_n__escaped(void **state)
{
	(void)state;
	/* N ends inside "€": the bytes after N must not be looked at. */
	assert_string_equal(enc("\xe2\x82\xac", 2, 4096, NULL), "\"\\\\xe2\\\\x82\"");
}

static void
json_utf8_len__against_unicode_table__agrees(void **state)
{
	(void)state;
	static const unsigned char tails[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	    0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf0, 0xff };
	unsigned char s[4];
	const size_t nt = sizeof tails;

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < nt; c++)
				for (size_t d = 0; d < nt; d++) {
					s[0] = (unsigned char)a;
					s[1] = (unsigned char)b;
					s[2] = tails[c];
					s[3] = tails[d];
					for (size_t n = 1; n <= 4; n++)
						if (json_utf8_len(s, n) != ref_utf8_len(s, n)) {
							print_error("bytes %02x %02x %02x %02x n=%zu: got %zu want %zu\n",
							    a, b, tails[c], tails[d], n, json_utf8_len(s, n),
							    ref_utf8_len(s, n));
							fail();
						}
				}
}

static void
jb_str__all_two_byte_inputs__valid_utf8_no_raw_controls(void **state)
{
	(void)state;
	char in[3];

	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			const char *s;

			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = 'z';
			s = enc(in, 3, 4096, NULL);
			assert_true(valid_json_text(s, strlen(s)));
			/* The only unescaped quotes are the outer two. */
			for (size_t i = 1; s[i + 1] != '\0'; i++)
				if (s[i] == '"')
					assert_int_equal(s[i - 1], '\\');
		}
}

/* The per-string cap. */

static void
jb_str__fits_exactly__not_truncated(void **state)
{
	(void)state;
	int t = -1;

	assert_string_equal(enc("abc", 3, 3, &t), "\"abc\"");
	assert_int_equal(t, 0);
	assert_string_equal(enc("a\n", 2, 3, &t), "\"a\\n\"");
	assert_int_equal(t, 0);
}

static void
jb_str__longer_than_cap__cut_and_truncated(void **state)
{
	(void)state;
	int t = 0;

	assert_string_equal(enc("abcdef", 6, 4, &t), "\"abcd\"");
	assert_int_equal(t, 1);
}

static void
jb_str__cap_inside_multibyte__cut_before_character(void **state)
{
	(void)state;
	int t = 0;

	/* "a€": the cap of 3 falls inside the 3-byte "€". */
	assert_string_equal(enc("a\xe2\x82\xac", 4, 3, &t), "\"a\"");
	assert_int_equal(t, 1);
	t = 0;
	assert_string_equal(enc("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8, 7, &t),
	    "\"\xf0\x9f\x98\x80\"");
	assert_int_equal(t, 1);
}

static void
jb_str__cap_inside_escape__whole_escape_dropped(void **state)
{
	(void)state;
	int t = 0;

	assert_string_equal(enc("ab\n", 3, 3, &t), "\"ab\"");
	assert_int_equal(t, 1);
	t = 0;
	assert_string_equal(enc("a\x01", 2, 6, &t), "\"a\"");
	assert_int_equal(t, 1);
	t = 0;
	/* "\\x80" is 5 bytes of output. */
	assert_string_equal(enc("a\x80", 2, 5, &t), "\"a\"");
	assert_int_equal(t, 1);
	t = 0;
	assert_string_equal(enc("a\x80", 2, 6, &t), "\"a\\\\x80\"");
	assert_int_equal(t, 0);
}

static void
jb_str__cap_zero_nonempty__empty_truncated(void **state)
{
	(void)state;
	int t = 0;

	assert_string_equal(enc("x", 1, 0, &t), "\"\"");
	assert_int_equal(t, 1);
}

static void
jb_str__cap_counts_escaped_bytes__output_within_cap(void **state)
{
	(void)state;
	char in[600];
	int t = 0;
	const char *s;

	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (char)(i % 3 == 0 ? '"' : i % 3 == 1 ? '\x80' : '\x02');
	s = enc(in, sizeof in, 100, &t);
	assert_true(strlen(s) - 2 <= 100);
	assert_int_equal(t, 1);
	assert_true(valid_json_text(s, strlen(s)));
	/* Never a dangling backslash before the closing quote. */
	assert_int_equal(s[strlen(s) - 1], '"');
	assert_true(s[strlen(s) - 2] != '\\' || s[strlen(s) - 3] == '\\');
}

static void
jb_str__truncated_flag__sticks_for_buffer(void **state)
{
	(void)state;
	char buf[128];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_str(&b, "abcdef", 6, 2);
	jb_str(&b, "x", 1, 10);
	assert_int_equal(b.truncated, 1);
	assert_string_equal(buf, "\"ab\"\"x\"");
}

static void
jb_cstr__null__json_null(void **state)
{
	(void)state;
	char buf[16];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_cstr(&b, NULL, 10);
	jb_raw(&b, ",");
	jb_cstr(&b, "a\"", 10);
	assert_string_equal(buf, "null,\"a\\\"\"");
}

/* The buffer. */

static void
jb_raw__fills_to_cap_minus_one__no_overflow(void **state)
{
	(void)state;
	char buf[5];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_raw(&b, "abcd");
	assert_false(b.overflow);
	assert_int_equal(b.len, 4);
	assert_string_equal(buf, "abcd");
}

static void
jb_raw__one_byte_too_many__overflow(void **state)
{
	(void)state;
	char buf[5];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_raw(&b, "abcde");
	assert_true(b.overflow);
	assert_true(b.len < sizeof buf);
	assert_int_equal(buf[b.len], '\0');
}

static void
jb_str__buffer_too_small__overflow_and_nothing_past_cap(void **state)
{
	(void)state;
	char big[256];
	struct jbuf b;

	memset(big, 0xaa, sizeof big);
	jb_init(&b, big, 16);
	jb_raw(&b, "{");
	jb_str(&b, "a long value that does not fit \xe2\x82\xac\x01\x80", 36, 4096);
	jb_raw(&b, "}");
	jb_long(&b, 123456789);
	assert_true(b.overflow);
	assert_true(b.len < 16);
	assert_int_equal(big[b.len], '\0');
	for (size_t i = 16; i < sizeof big; i++)
		assert_int_equal((unsigned char)big[i], 0xaa);
}

static void
jb_raw__after_overflow__nothing_more_appended(void **state)
{
	(void)state;
	char buf[8];
	struct jbuf b;
	size_t len;

	jb_init(&b, buf, sizeof buf);
	jb_raw(&b, "abc");
	jb_raw(&b, "defghijk");
	assert_true(b.overflow);
	len = b.len;
	jb_raw(&b, "x");
	jb_long(&b, 1);
	assert_int_equal(b.len, len);
	assert_true(b.overflow);
}

static void
jb_key__buffer_too_small__overflow(void **state)
{
	(void)state;
	char buf[6];
	struct jbuf b;

	jb_init(&b, buf, sizeof buf);
	jb_key(&b, "longkey", 0);
	assert_true(b.overflow);
	assert_true(b.len < sizeof buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jb_init__any_buffer__empty_string),
		cmocka_unit_test(jb_raw__two_pieces__concatenated),
		cmocka_unit_test(jb_long__extremes__decimal),
		cmocka_unit_test(jb_key__first_and_later__comma_only_between),
		cmocka_unit_test(jb_str__plain_ascii__quoted_unchanged),
		cmocka_unit_test(jb_str__empty__two_quotes),
		cmocka_unit_test(jb_str__quote_and_backslash__escaped),
		cmocka_unit_test(jb_str__newline_cr_tab__short_escapes),
		cmocka_unit_test(jb_str__every_control_byte__escaped),
		cmocka_unit_test(jb_str__nul_inside__escaped_not_ended),
		cmocka_unit_test(jb_str__del__escaped),
		cmocka_unit_test(jb_str__printable_ascii__raw_except_quote_backslash),
		cmocka_unit_test(jb_str__valid_multibyte__kept_raw),
		cmocka_unit_test(jb_str__c1_and_bidi_controls__escaped_as_u),
		cmocka_unit_test(jb_str__mixed_text__kept_raw),
		cmocka_unit_test(jb_str__lone_continuation__backslash_x),
		cmocka_unit_test(jb_str__overlong_c0_80__each_byte_escaped),
		cmocka_unit_test(jb_str__surrogate_ed_a0_80__escaped),
		cmocka_unit_test(jb_str__beyond_10ffff_and_f5_up__escaped),
		cmocka_unit_test(jb_str__truncated_sequence__escaped_then_resynchronised),
		cmocka_unit_test(jb_str__valid_sequence_cut_by_n__escaped),
		cmocka_unit_test(json_utf8_len__against_unicode_table__agrees),
		cmocka_unit_test(jb_str__all_two_byte_inputs__valid_utf8_no_raw_controls),
		cmocka_unit_test(jb_str__fits_exactly__not_truncated),
		cmocka_unit_test(jb_str__longer_than_cap__cut_and_truncated),
		cmocka_unit_test(jb_str__cap_inside_multibyte__cut_before_character),
		cmocka_unit_test(jb_str__cap_inside_escape__whole_escape_dropped),
		cmocka_unit_test(jb_str__cap_zero_nonempty__empty_truncated),
		cmocka_unit_test(jb_str__cap_counts_escaped_bytes__output_within_cap),
		cmocka_unit_test(jb_str__truncated_flag__sticks_for_buffer),
		cmocka_unit_test(jb_cstr__null__json_null),
		cmocka_unit_test(jb_raw__fills_to_cap_minus_one__no_overflow),
		cmocka_unit_test(jb_raw__one_byte_too_many__overflow),
		cmocka_unit_test(jb_str__buffer_too_small__overflow_and_nothing_past_cap),
		cmocka_unit_test(jb_raw__after_overflow__nothing_more_appended),
		cmocka_unit_test(jb_key__buffer_too_small__overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
