/* test_smtp.c: the SMTP the -bs relay reads (wrapper/smtp.c): verbs, addresses, replies, EHLO, data. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "smtp.h"

#define S(lit) lit, sizeof lit - 1

static void
verb__case_and_ends__as_servers_split_them(void **state)
{
	(void)state;
	assert_int_equal(smtp_verb(S("DATA\r\n")), SMTP_DATA);
	assert_int_equal(smtp_verb(S("data\n")), SMTP_DATA);
	assert_int_equal(smtp_verb(S("DaTa extra words\r\n")), SMTP_DATA);
	/* A tab or any control byte ends the verb: over-reading DATA is the safe side. */
	assert_int_equal(smtp_verb(S("DATA\tx\r\n")), SMTP_DATA);
	assert_int_equal(smtp_verb(S("DATA")), SMTP_DATA);
	assert_int_equal(smtp_verb(S("DATAX\r\n")), SMTP_OTHER);
	assert_int_equal(smtp_verb(S(" DATA\r\n")), SMTP_OTHER);
	assert_int_equal(smtp_verb(S("MAIL FROM:<a@b>\r\n")), SMTP_MAIL);
	assert_int_equal(smtp_verb(S("rcpt to:<a@b>\r\n")), SMTP_RCPT);
	assert_int_equal(smtp_verb(S("EHLO x\r\n")), SMTP_EHLO);
	assert_int_equal(smtp_verb(S("HELO x\r\n")), SMTP_HELO);
	assert_int_equal(smtp_verb(S("RSET\r\n")), SMTP_RSET);
	assert_int_equal(smtp_verb(S("BDAT 100 LAST\r\n")), SMTP_BDAT);
	assert_int_equal(smtp_verb(S("StartTLS\r\n")), SMTP_STARTTLS);
	assert_int_equal(smtp_verb(S("\r\n")), SMTP_OTHER);
	assert_int_equal(smtp_verb("", 0), SMTP_OTHER);
}

static void
address__brackets_bare_params_and_cut(void **state)
{
	char a[16];

	(void)state;
	assert_int_equal(smtp_address(S("MAIL FROM:<a@b.example> SIZE=10\r\n"), a, sizeof a), 0);
	assert_string_equal(a, "a@b.example");
	assert_int_equal(smtp_address(S("MAIL FROM: <>\r\n"), a, sizeof a), 0);
	assert_string_equal(a, "");
	assert_int_equal(smtp_address(S("RCPT TO: c@d BODY=8BITMIME\r\n"), a, sizeof a), 0);
	assert_string_equal(a, "c@d");
	assert_int_equal(smtp_address(S("RCPT TO:<unterminated\r\n"), a, sizeof a), 0);
	assert_string_equal(a, "unterminated");
	assert_int_equal(smtp_address(S("RCPT TO:<0123456789abcdefgh@x>\r\n"), a, sizeof a), 1);
	assert_string_equal(a, "0123456789abcde");
	assert_int_equal(smtp_address(S("RCPT TO <a@b>\r\n"), a, sizeof a), -1);
	/* A NUL ends the address: it could not be told apart in a C string. */
	assert_int_equal(smtp_address("RCPT TO:<a\0b>", 13, a, sizeof a), 0);
	assert_string_equal(a, "a");
}

static void
reply_code__lines_and_last(void **state)
{
	int last;

	(void)state;
	assert_int_equal(smtp_reply_code(S("250-host\r\n"), &last), 250);
	assert_false(last);
	assert_int_equal(smtp_reply_code(S("250 ok\r\n"), &last), 250);
	assert_true(last);
	assert_int_equal(smtp_reply_code(S("354\r\n"), &last), 354);
	assert_true(last);
	assert_int_equal(smtp_reply_code(S("25x ok\r\n"), &last), 0);
	assert_true(last);
	assert_int_equal(smtp_reply_code(S("2"), &last), 0);
}

static void
ehlo_filter__hides_what_the_relay_cannot_follow(void **state)
{
	char r1[] = "250-host\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SIZE 10\r\n250 STARTTLS\r\n";
	char r2[] = "250-host\r\n250-binarymime\r\n250 8BITMIME\r\n";
	char r3[] = "250 host\r\n";
	char r4[] = "502 unimplemented\r\n250-CHUNKING\r\n";
	char r5[] = "250-CHUNKING\r\n250 STARTTLS\r\n";	/* the first line names the server */
	size_t n;

	(void)state;
	n = smtp_ehlo_filter(r1, strlen(r1));
	assert_int_equal(n, strlen("250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n"));
	assert_memory_equal(r1, "250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n", n);
	n = smtp_ehlo_filter(r2, strlen(r2));
	assert_memory_equal(r2, "250-host\r\n250 8BITMIME\r\n", n);
	assert_int_equal(smtp_ehlo_filter(r3, strlen(r3)), strlen("250 host\r\n"));
	assert_int_equal(smtp_ehlo_filter(r4, strlen(r4)), strlen(r4));
	n = smtp_ehlo_filter(r5, strlen(r5));
	assert_memory_equal(r5, "250 CHUNKING\r\n", n);
}

/* Scans IN whole; returns the unstuffed message, its length in *LEN, the state in *ST. */
static size_t
scan(const char *in, size_t n, char *out, size_t *len, enum smtp_data_state *st)
{
	*st = DS_LINE_START;
	*len = 0;
	return smtp_data_scan(st, in, n, out, 4096, len);
}

static void
data_scan__dots_and_end__as_qmail_smtpd(void **state)
{
	char out[4096];
	size_t len, used;
	enum smtp_data_state st;

	(void)state;
	used = scan(S("Subject: s\r\n\r\n..a\r\n...\r\nx.y\r\n.\r\nQUIT\r\n"), out, &len, &st);
	assert_int_equal(st, DS_END);
	assert_int_equal(used, strlen("Subject: s\r\n\r\n..a\r\n...\r\nx.y\r\n.\r\n"));
	assert_int_equal(len, strlen("Subject: s\r\n\r\n.a\r\n..\r\nx.y\r\n"));
	assert_memory_equal(out, "Subject: s\r\n\r\n.a\r\n..\r\nx.y\r\n", len);
	/* An empty message, a bare LF end, and qmail's kept dot of ".\r" without "\n". */
	used = scan(S(".\r\n"), out, &len, &st);
	assert_true(used == 3 && len == 0 && st == DS_END);
	used = scan(S("a\n.\nRSET"), out, &len, &st);
	assert_true(used == 4 && len == 2 && st == DS_END_LF);
	used = scan(S(".\rx\r\n.\r\n"), out, &len, &st);
	assert_int_equal(len, 5);
	assert_memory_equal(out, ".\rx\r\n", 5);
	/* Not ended: every byte read, the state says where. */
	used = scan(S("a\r\n."), out, &len, &st);
	assert_true(used == 4 && st == DS_DOT);
	assert_string_equal(smtp_data_pending(st), ".");
	assert_string_equal(smtp_data_pending(DS_END), ".\r\n");
	assert_string_equal(smtp_data_pending(DS_END_LF), ".\n");
}

static void
data_scan__full_buffer__stops_and_resumes(void **state)
{
	char out[8];
	size_t len = 0, used = 0, n;
	enum smtp_data_state st = DS_LINE_START;
	const char in[] = "abcdefghij\r\n.\r\n";

	(void)state;
	n = smtp_data_scan(&st, in, strlen(in), out, sizeof out, &len);
	assert_true(n < strlen(in) && len <= sizeof out && len >= sizeof out - 2);
	used += n;
	len = 0;
	used += smtp_data_scan(&st, in + used, strlen(in) - used, NULL, 0, &len);
	assert_int_equal(used, strlen(in));
	assert_int_equal(st, DS_END);
}

static void
stuff__line_starts_get_a_dot(void **state)
{
	char out[64];
	int start = 1;
	size_t n;

	(void)state;
	n = smtp_stuff(&start, S(".a\r\n.\r\nb.c\n."), out);
	assert_int_equal(n, strlen("..a\r\n..\r\nb.c\n.."));
	assert_memory_equal(out, "..a\r\n..\r\nb.c\n..", n);
	assert_false(start);
	n = smtp_stuff(&start, S("."), out);	/* mid-line: no dot added */
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verb__case_and_ends__as_servers_split_them),
		cmocka_unit_test(address__brackets_bare_params_and_cut),
		cmocka_unit_test(reply_code__lines_and_last),
		cmocka_unit_test(ehlo_filter__hides_what_the_relay_cannot_follow),
		cmocka_unit_test(data_scan__dots_and_end__as_qmail_smtpd),
		cmocka_unit_test(data_scan__full_buffer__stops_and_resumes),
		cmocka_unit_test(stuff__line_starts_get_a_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
