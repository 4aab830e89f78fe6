/* test_classify.c: classify() against qmail's sendmail grammar "vimte:f:p:o:B:F:EJxb:" and DJB
 * getopt rules, Postfix's, and the grammar of any MTA. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "classify.h"

/* A NULL-terminated argv from string literals. */
#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static struct invocation
run(char *const argv[])
{
	struct invocation inv;
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	memset(&inv, 0x5a, sizeof inv);	/* classify must set every field */
	classify(argc, argv, MTA_QMAIL, &inv);
	return inv;
}

/* One argv (NULL-ended, argv[0] first) under grammar MTA: the mode, -t, the sender. */
struct case_ {
	enum conf_mta mta;
	const char *argv[10];
	enum mode mode;
	int headers_rcpt;
	const char *sender;
};

static void
check_cases(const struct case_ *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct invocation inv;
		int argc = 0;

		while (c[i].argv[argc] != NULL)
			argc++;
		memset(&inv, 0x5a, sizeof inv);
		classify(argc, (char *const *)c[i].argv, c[i].mta, &inv);
		if (inv.mode != c[i].mode || (inv.mode == MODE_MESSAGE &&
		    (inv.headers_rcpt != c[i].headers_rcpt || (c[i].sender == NULL) !=
		    (inv.sender == NULL) || (c[i].sender && strcmp(c[i].sender, inv.sender) != 0))))
			fail_msg("case %zu (%s %s %s): mode %s, -t %d, sender %s", i, c[i].argv[1],
			    c[i].argv[2] ? c[i].argv[2] : "", c[i].argv[2] && c[i].argv[3] ?
			    c[i].argv[3] : "", mode_name(inv.mode), inv.headers_rcpt,
			    inv.sender ? inv.sender : "(none)");
	}
}

#define M MODE_MESSAGE
#define O MODE_OTHER
#define Q MODE_QUEUE_LIST
#define S MODE_SMTP
#define PF MTA_POSTFIX

/* Postfix's getopt string, "+A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx": every
 * option a normal submission may carry is message mode, with -t seen after it. */
static void
classify__postfix_every_option__as_postfix_acts(void **state)
{
	(void)state;
	static const struct case_ c[] = {
		{ PF, { "sendmail", "-U", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-r", "x@y", "-t" }, M, 1, "x@y" },
		{ PF, { "sendmail", "-rx@y", "a@b" }, M, 0, "x@y" },
		{ PF, { "sendmail", "-N", "never", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-G", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-X", "/tmp/log", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-h", "5", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-V", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-V+=", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-V", "+=", "-t" }, M, 0, NULL },	/* -V alone: += is a recipient */
		{ PF, { "sendmail", "-c", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-p", "x", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-L", "x", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-R", "full", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-A", "x", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-C", "/etc/postfix", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-O", "x=y", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-F", "Name", "-e", "x", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-ffrom@x", "-oi", "-i", "-m", "-v", "-x", "-t" }, M, 1, "from@x" },
		{ PF, { "sendmail", "-B", "8BITMIME", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-bm", "a@b" }, M, 0, NULL },
		{ PF, { "sendmail", "-bv", "a@b" }, M, 0, NULL },	/* a report is queued */
		{ PF, { "sendmail", "-bp", "-bm", "-t" }, M, 1, NULL },	/* the last mode wins */
		{ PF, { "mailq", "-bm", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "-q", "-bm", "-t" }, M, 1, NULL },
		{ PF, { "sendmail", "--", "-bp" }, M, 0, NULL },
		{ PF, { "sendmail", "-bp" }, Q, 0, NULL },
		{ PF, { "mailq" }, Q, 0, NULL },
		{ PF, { "sendmail", "-bm", "-bp" }, Q, 0, NULL },
		{ PF, { "sendmail", "-bs" }, S, 0, NULL },
		{ PF, { "sendmail", "-bd" }, O, 0, NULL },
		{ PF, { "sendmail", "-bi" }, O, 0, NULL },
		{ PF, { "sendmail", "-I" }, O, 0, NULL },
		{ PF, { "newaliases" }, O, 0, NULL },
		{ PF, { "sendmail", "-q" }, O, 0, NULL },
		{ PF, { "sendmail", "-q1h" }, O, 0, NULL },
		{ PF, { "sendmail", "-qRexample.com" }, O, 0, NULL },
		{ PF, { "sendmail", "-bx" }, O, 0, NULL },		/* unsupported */
		{ PF, { "sendmail", "-n", "-t" }, O, 0, NULL },	/* not supported */
		{ PF, { "sendmail", "-B", "9BIT", "-t" }, O, 0, NULL },
		{ PF, { "sendmail", "-Z", "-t" }, O, 0, NULL },	/* usage */
		{ PF, { "sendmail", "-t", "-f" }, O, 0, NULL },	/* no argument */
		{ PF, { "sendmail", "-V", "-bp", "v@x" }, M, 0, NULL },	/* "V:" takes -bp */
		{ PF, { "sendmail", "-bh", "-t" }, M, 1, NULL },	/* ignored: still a message */
		{ PF, { "sendmail", "-bH", "-bm", "v@x" }, M, 0, NULL },
		{ PF, { "sendmail", "-bl" }, O, 0, NULL },
	};

	check_cases(c, sizeof c / sizeof c[0]);
}

/* No grammar known: what no MTA reads as a mode that queues nothing is a message. */
static void
classify__any_mta__unknown_options_submit_only_modes_pass(void **state)
{
	(void)state;
	static const struct case_ c[] = {
		{ MTA_ANY, { "sendmail", "-U", "-t" }, M, 1, NULL },
		{ MTA_ANY, { "sendmail", "-Z", "-t" }, M, 1, NULL },	/* unknown: a submission */
		{ MTA_ANY, { "sendmail", "-t", "-X" }, M, 1, NULL },	/* no argument: the same */
		{ MTA_ANY, { "sendmail", "-r", "x@y", "a@b" }, M, 0, "x@y" },
		{ MTA_ANY, { "sendmail", "-N", "-q" }, M, 0, NULL },	/* Postfix: -N's argument */
		{ MTA_ANY, { "sendmail", "-V", "-q1h" }, M, 0, NULL },	/* Sendmail: -V's */
		{ MTA_ANY, { "sendmail", "-D", "-bp" }, M, 0, NULL },	/* Sendmail: -D's */
		{ MTA_ANY, { "sendmail", "--x", "-q" }, M, 0, NULL },	/* qmail: options end */
		{ MTA_ANY, { "sendmail", "-Eq", "a@b" }, M, 0, NULL },	/* qmail: -E's rest */
		{ MTA_ANY, { "sendmail", "-N", "-t" }, M, 1, NULL },	/* Exim: -N, then -t */
		{ MTA_ANY, { "sendmail", "-bS" }, M, 0, NULL },	/* Exim: batched SMTP */
		{ MTA_ANY, { "sendmail", "-bv", "a@b" }, M, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bz" }, M, 0, NULL },
		{ MTA_ANY, { "mailq", "-bm" }, M, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bp" }, Q, 0, NULL },
		{ MTA_ANY, { "mailq" }, Q, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bs" }, S, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bd" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bt" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-bV" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-I" }, O, 0, NULL },
		{ MTA_ANY, { "newaliases" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-q" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-q15m" }, O, 0, NULL },
		{ MTA_ANY, { "sendmail", "-t", "-qRsite" }, O, 0, NULL },
		/* Exim: -oA, -oM..., -oP, -oX take the next word. */
		{ MTA_ANY, { "sendmail", "-oMa", "-bp", "v@x" }, M, 0, NULL },
		{ MTA_ANY, { "sendmail", "-oMs", "-q", "v@x" }, M, 0, NULL },
		{ MTA_ANY, { "sendmail", "-oP", "-bV", "v@x" }, M, 0, NULL },
		{ MTA_ANY, { "sendmail", "-oX", "-bd", "v@x" }, M, 0, NULL },
		/* Sendmail: -d's argument is optional: "-ti" may be options. */
		{ MTA_ANY, { "sendmail", "-d", "-ti", "r1" }, M, 1, NULL },
		{ MTA_ANY, { "sendmail", "-bh", "v@x" }, M, 0, NULL },	/* Postfix ignores it */
		/* qmail refuses these, so with mta = "qmail" they pass through. */
		{ MTA_QMAIL, { "sendmail", "-U", "-t" }, O, 0, NULL },
		{ MTA_QMAIL, { "sendmail", "-r", "x@y", "-t" }, O, 0, NULL },
	};

	check_cases(c, sizeof c / sizeof c[0]);
}

#undef M
#undef O
#undef Q
#undef S
#undef PF

static void
assert_message(const struct invocation *inv)
{
	assert_int_equal(inv->mode, MODE_MESSAGE);
}

static void
assert_other(const struct invocation *inv)
{
	assert_int_equal(inv->mode, MODE_OTHER);
}

/* Plain invocations. */

static void
classify__no_arguments__message_first_rcpt_1(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 1);
	assert_int_equal(inv.headers_rcpt, 0);
	assert_null(inv.sender);
}

static void
classify__recipients_only__message_first_rcpt_1(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "a@example.com", "b@example.com");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 1);
	assert_int_equal(inv.headers_rcpt, 0);
	assert_null(inv.sender);
}

static void
classify__t__headers_rcpt(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-t");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__i__message_no_headers_rcpt(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-i", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 0);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__oi_attached__message(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-oi", "-t", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__o_separate_argument__consumes_next_word(void **state)
{
	(void)state;
	/* "-t" here is the argument of -o, not the -t option. */
	char *const *argv = ARGV("sendmail", "-o", "-t", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 0);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__sendmail_t_i__php_default(void **state)
{
	(void)state;
	char *const *argv = ARGV("/usr/sbin/sendmail", "-t", "-i");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 3);
	assert_null(inv.sender);
}

/* -f, the envelope sender. */

static void
classify__f_attached__sender_points_into_word(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-fbounce@shop.example", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_ptr_equal(inv.sender, argv[1] + 2);
	assert_string_equal(inv.sender, "bounce@shop.example");
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__f_separate__sender_is_next_word(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-f", "bounce@shop.example", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_ptr_equal(inv.sender, argv[2]);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__f_empty_separate__null_sender(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-f", "", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_ptr_equal(inv.sender, argv[2]);
	assert_string_equal(inv.sender, "");
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__f_missing_argument__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-t", "-f");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__f_argument_null_within_argc__other(void **state)
{
	(void)state;
	char *argv[] = { "sendmail", "-f", NULL, "a@x", NULL };
	struct invocation inv;

	classify(4, argv, MTA_QMAIL, &inv);
	assert_other(&inv);
}

static void
classify__f_value_looks_like_option__taken_as_value(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-f", "-t", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_string_equal(inv.sender, "-t");
	assert_int_equal(inv.headers_rcpt, 0);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__f_given_twice__last_wins(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-fa@x", "-f", "b@y");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_string_equal(inv.sender, "b@y");
	assert_int_equal(inv.first_rcpt, 4);
}

static void
classify__F_missing_argument__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-F");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

/* Clusters. */

static void
classify__cluster_tif_separate__all_applied(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-tif", "x@y", "r@z");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_ptr_equal(inv.sender, argv[2]);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__cluster_tifx_attached__sender_x(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-tifx", "r@z");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_string_equal(inv.sender, "x");
	assert_ptr_equal(inv.sender, argv[1] + 4);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__cluster_ft_attached__t_is_the_sender(void **state)
{
	(void)state;
	/* After an option that takes an argument, the rest of the word is that argument. */
	char *const *argv = ARGV("sendmail", "-ft", "r@z");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_string_equal(inv.sender, "t");
	assert_int_equal(inv.headers_rcpt, 0);
}

static void
classify__cluster_with_unknown__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-tiX", "a@x");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__all_ignored_options__message_first_rcpt_after_them(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-v", "-m", "-x", "-e", "m", "-p", "proto",
	    "-B8BITMIME", "-B", "7BIT", "-F", "Full Name", "-oem", "-odb", "a@x", "b@y");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 15);
	assert_string_equal(argv[inv.first_rcpt], "a@x");
}

/* -E and -J take the rest of their word as an optional argument. */

static void
classify__E_swallows_rest_of_word__bp_not_seen(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-Ebp", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__J_swallows_unknown_letters__message(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-JXqV", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__E_alone__next_word_still_an_option(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-E", "-t", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__tE_cluster__t_applied_rest_swallowed(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-tEX");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 2);
}

/* -b modes. */

static void
classify__bm__message(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-bm", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__b_separate_m__message(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-b", "m", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__bp__queue_list(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-bp");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__b_separate_p__queue_list(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-b", "p");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__bs__smtp(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-bs");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_SMTP);
}

static void
classify__cluster_tbs__smtp(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-tbs");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_SMTP);
}

static void
classify__bd_bi_bv_bt_bD__other(void **state)
{
	(void)state;
	static const char *const modes[] = { "-bd", "-bi", "-bv", "-bt", "-bD", "-bh", "-be" };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		char *argv[] = { "sendmail", (char *)modes[i], "a@x", NULL };
		struct invocation inv;

		classify(3, argv, MTA_QMAIL, &inv);
		assert_other(&inv);
	}
}

static void
classify__b_empty_argument__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-b", "", "a@x");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__b_missing_argument__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-b");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__bp_after_unknown_option__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-X", "-bp");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__bp_before_unknown_option__queue_list(void **state)
{
	(void)state;
	/* qmail execs qmail-qread at -bp, before it ever looks at -X. */
	char *const *argv = ARGV("sendmail", "-bp", "-X", "-f");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__bs_before_missing_argument__smtp(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-bs", "-f");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_SMTP);
}

static void
classify__bm_before_unknown_option__other(void **state)
{
	(void)state;
	/* -bm does not act at once: the later -X still makes qmail fail. */
	char *const *argv = ARGV("sendmail", "-bm", "-X");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__bd_before_bp__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-bd", "-bp");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

/* Unknown options. */

static void
classify__unknown_options__other(void **state)
{
	(void)state;
	static const char *const opts[] = {
		"-X", "-r", "-rbob@x", "-q", "-q1h", "-V", "-C", "-C/tmp/cf", "-N", "-h",
		"-L", "-G", "-U", "-R", "-d0", "-A", "-n", "-I", "-:", "-?",
	};

	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		char *argv[] = { "sendmail", "-t", (char *)opts[i], "a@x", NULL };
		struct invocation inv;

		classify(4, argv, MTA_QMAIL, &inv);
		assert_other(&inv);
	}
}

static void
classify__phpmailer_X_injection__other(void **state)
{
	(void)state;
	/* CVE-2016-10033: the sender splits into words that smuggle -X. */
	char *const *argv = ARGV("sendmail", "-t", "-i", "-f", "a\\\"", "-oQ/tmp/",
	    "-X/var/www/html/x.php", "b\"@c");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__unknown_option_after_operand__ignored(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "a@x", "-X", "-bp");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 1);
}

/* End of options. */

static void
classify__double_dash__ends_options_and_is_consumed(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-t", "--", "-X", "-bp");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__double_dash_word__ends_options_and_is_consumed(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "--verbose", "-X", "a@x");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__double_dash_last__first_rcpt_is_argc(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-i", "--");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 3);
}

static void
classify__single_dash__is_an_operand(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "-t", "-", "-X");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.headers_rcpt, 1);
	assert_int_equal(inv.first_rcpt, 2);
}

static void
classify__empty_word__is_an_operand(void **state)
{
	(void)state;
	char *const *argv = ARGV("sendmail", "", "-X");
	struct invocation inv = run(argv);

	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 1);
}

/* argv[0]. */

static void
classify__argv0_mailq__queue_list(void **state)
{
	(void)state;
	char *const *argv = ARGV("mailq");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__argv0_usr_bin_mailq__queue_list(void **state)
{
	(void)state;
	char *const *argv = ARGV("/usr/bin/mailq", "-t", "a@x");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__argv0_mailq_with_bad_option__other(void **state)
{
	(void)state;
	/* qmail runs getopt before it looks at its name. */
	char *const *argv = ARGV("mailq", "-X");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__argv0_mailq_with_bs__smtp(void **state)
{
	(void)state;
	char *const *argv = ARGV("mailq", "-bs");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_SMTP);
}

static void
classify__argv0_newaliases__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("newaliases");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__argv0_path_newaliases__other(void **state)
{
	(void)state;
	char *const *argv = ARGV("/usr/sbin/newaliases", "-t");
	struct invocation inv = run(argv);

	assert_other(&inv);
}

static void
classify__argv0_newaliases_with_bp__queue_list(void **state)
{
	(void)state;
	char *const *argv = ARGV("newaliases", "-bp");
	struct invocation inv = run(argv);

	assert_int_equal(inv.mode, MODE_QUEUE_LIST);
}

static void
classify__argv0_like_mailq__message(void **state)
{
	(void)state;
	static const char *const names[] = { "mailq.sh", "xmailq", "/usr/bin/mailq/x",
	    "MAILQ", "sendmail", "/var/qmail/bin/sendmail" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *argv[] = { (char *)names[i], "a@x", NULL };
		struct invocation inv;

		classify(2, argv, MTA_QMAIL, &inv);
		assert_message(&inv);
		assert_int_equal(inv.first_rcpt, 1);
	}
}

static void
classify__argv0_null__message(void **state)
{
	(void)state;
	char *argv[] = { NULL };
	struct invocation inv;

	classify(1, argv, MTA_QMAIL, &inv);
	assert_message(&inv);
	assert_int_equal(inv.first_rcpt, 1);
}

static void
mode_name__each_mode__record_names(void **state)
{
	(void)state;
	assert_string_equal(mode_name(MODE_MESSAGE), "message");
	assert_string_equal(mode_name(MODE_SMTP), "smtp");
	assert_string_equal(mode_name(MODE_QUEUE_LIST), "queue-list");
	assert_string_equal(mode_name(MODE_OTHER), "other");
	assert_string_equal(mode_name((enum mode)42), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify__no_arguments__message_first_rcpt_1),
		cmocka_unit_test(classify__recipients_only__message_first_rcpt_1),
		cmocka_unit_test(classify__t__headers_rcpt),
		cmocka_unit_test(classify__i__message_no_headers_rcpt),
		cmocka_unit_test(classify__oi_attached__message),
		cmocka_unit_test(classify__o_separate_argument__consumes_next_word),
		cmocka_unit_test(classify__sendmail_t_i__php_default),
		cmocka_unit_test(classify__f_attached__sender_points_into_word),
		cmocka_unit_test(classify__f_separate__sender_is_next_word),
		cmocka_unit_test(classify__f_empty_separate__null_sender),
		cmocka_unit_test(classify__f_missing_argument__other),
		cmocka_unit_test(classify__f_argument_null_within_argc__other),
		cmocka_unit_test(classify__f_value_looks_like_option__taken_as_value),
		cmocka_unit_test(classify__f_given_twice__last_wins),
		cmocka_unit_test(classify__F_missing_argument__other),
		cmocka_unit_test(classify__cluster_tif_separate__all_applied),
		cmocka_unit_test(classify__cluster_tifx_attached__sender_x),
		cmocka_unit_test(classify__cluster_ft_attached__t_is_the_sender),
		cmocka_unit_test(classify__cluster_with_unknown__other),
		cmocka_unit_test(classify__all_ignored_options__message_first_rcpt_after_them),
		cmocka_unit_test(classify__E_swallows_rest_of_word__bp_not_seen),
		cmocka_unit_test(classify__J_swallows_unknown_letters__message),
		cmocka_unit_test(classify__E_alone__next_word_still_an_option),
		cmocka_unit_test(classify__tE_cluster__t_applied_rest_swallowed),
		cmocka_unit_test(classify__bm__message),
		cmocka_unit_test(classify__b_separate_m__message),
		cmocka_unit_test(classify__bp__queue_list),
		cmocka_unit_test(classify__b_separate_p__queue_list),
		cmocka_unit_test(classify__bs__smtp),
		cmocka_unit_test(classify__cluster_tbs__smtp),
		cmocka_unit_test(classify__bd_bi_bv_bt_bD__other),
		cmocka_unit_test(classify__b_empty_argument__other),
		cmocka_unit_test(classify__b_missing_argument__other),
		cmocka_unit_test(classify__bp_after_unknown_option__other),
		cmocka_unit_test(classify__bp_before_unknown_option__queue_list),
		cmocka_unit_test(classify__bs_before_missing_argument__smtp),
		cmocka_unit_test(classify__bm_before_unknown_option__other),
		cmocka_unit_test(classify__bd_before_bp__other),
		cmocka_unit_test(classify__unknown_options__other),
		cmocka_unit_test(classify__phpmailer_X_injection__other),
		cmocka_unit_test(classify__unknown_option_after_operand__ignored),
		cmocka_unit_test(classify__double_dash__ends_options_and_is_consumed),
		cmocka_unit_test(classify__double_dash_word__ends_options_and_is_consumed),
		cmocka_unit_test(classify__double_dash_last__first_rcpt_is_argc),
		cmocka_unit_test(classify__single_dash__is_an_operand),
		cmocka_unit_test(classify__empty_word__is_an_operand),
		cmocka_unit_test(classify__argv0_mailq__queue_list),
		cmocka_unit_test(classify__argv0_usr_bin_mailq__queue_list),
		cmocka_unit_test(classify__argv0_mailq_with_bad_option__other),
		cmocka_unit_test(classify__argv0_mailq_with_bs__smtp),
		cmocka_unit_test(classify__argv0_newaliases__other),
		cmocka_unit_test(classify__argv0_path_newaliases__other),
		cmocka_unit_test(classify__argv0_newaliases_with_bp__queue_list),
		cmocka_unit_test(classify__argv0_like_mailq__message),
		cmocka_unit_test(classify__postfix_every_option__as_postfix_acts),
		cmocka_unit_test(classify__any_mta__unknown_options_submit_only_modes_pass),
		cmocka_unit_test(classify__argv0_null__message),
		cmocka_unit_test(mode_name__each_mode__record_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
