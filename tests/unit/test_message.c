/* test_message.c: reading the message start (message_read), its header fields (message_parse) and writing it back (message_write). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "message.h"

#define OURS "X-Additional-Header"

static struct message m;
static struct msgfields f;
static char tmpdir[PATH_MAX];
static char big[2 * MSG_BUF_MAX];

static int
setup_dir(void **state)
{
	(void)state;
	if (tmpdir_make(tmpdir, sizeof tmpdir, "message") < 0)
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

static const char *
tmp_path(const char *name)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	return p;
}

/* Puts S[0..N) in the message buffer as if message_read had read it. */
static void
set_msg(const void *s, size_t n, int eof)
{
	assert_true(n <= sizeof m.buf);
	memset(&m, 0, sizeof m);
	memcpy(m.buf, s, n);
	m.len = n;
	m.eof = eof;
}

#define SET(lit) set_msg((lit), sizeof(lit) - 1, 1)

static void
parse(int headers_rcpt, char *const argv[], int argc)
{
	memset(&f, 0x5a, sizeof f);	/* message_parse must reset everything */
	message_parse(&m, headers_rcpt, argv, argc, OURS, &f);
}

static void
assert_strv(struct strv v, const char *want, size_t n)
{
	if (v.p == NULL) {
		print_error("value absent, wanted \"%s\"\n", want);
		fail();
	}
	if (v.n != n || memcmp(v.p, want, n) != 0) {
		print_error("got \"%.*s\" (%zu), wanted \"%.*s\" (%zu)\n", (int)v.n, v.p, v.n,
		    (int)n, want, n);
		fail();
	}
}

#define ASSERT_STRV(v, lit) assert_strv((v), (lit), sizeof(lit) - 1)

static void
assert_rcpts(const char *const *want, size_t n)
{
	assert_int_equal(f.nrcpt, n);
	for (size_t i = 0; i < n; i++)
		assert_strv(f.rcpt[i], want[i], strlen(want[i]));
}

#define RCPTS(...) do { \
	static const char *const w_[] = { __VA_ARGS__ }; \
	assert_rcpts(w_, sizeof w_ / sizeof w_[0]); \
} while (0)

/* Writes N bytes to a new pipe from a child, CHUNK at a time; returns the read end. */
static int
pipe_from_child(const char *s, size_t n, size_t chunk, int pause_us, pid_t *pid)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		close(p[0]);
		for (size_t off = 0; off < n;) {
			size_t k = n - off < chunk ? n - off : chunk;
			ssize_t w = write(p[1], s + off, k);

			if (w <= 0)
				_exit(1);
			off += (size_t)w;
			if (pause_us)
				usleep((useconds_t)pause_us);
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void
reap(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int
file_with(const char *name, const void *s, size_t n)
{
	const char *p = tmp_path(name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void
fill_pattern(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(i % 251);
}

/* message_read. */

static void
message_read__small_pipe__whole_and_eof(void **state)
{
	(void)state;
	static const char msg[] = "Subject: x\n\nbody\n";
	pid_t pid;
	int fd = pipe_from_child(msg, sizeof msg - 1, 4096, 0, &pid);

	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, sizeof msg - 1);
	assert_memory_equal(m.buf, msg, sizeof msg - 1);
	assert_int_equal(m.eof, 1);
	assert_int_equal(m.crlf, 0);
	close(fd);
	reap(pid);
}

static void
message_read__slow_writer_small_chunks__all_collected(void **state)
{
	(void)state;
	static char msg[3000];
	pid_t pid;
	int fd;

	fill_pattern(msg, sizeof msg);
	fd = pipe_from_child(msg, sizeof msg, 100, 2000, &pid);
	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, sizeof msg);
	assert_memory_equal(m.buf, msg, sizeof msg);
	assert_int_equal(m.eof, 1);
	close(fd);
	reap(pid);
}

static void
message_read__empty_input__len_0_eof(void **state)
{
	(void)state;
	int fd = file_with("empty", "", 0);

	m.len = 99;
	m.crlf = 1;
	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.eof, 1);
	assert_int_equal(m.crlf, 0);
	close(fd);
}

static void
message_read__exactly_64k_file__full_buffer_nothing_lost(void **state)
{
	(void)state;
	int fd;
	char c;

	fill_pattern(big, MSG_BUF_MAX);
	fd = file_with("exact", big, MSG_BUF_MAX);
	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, MSG_BUF_MAX);
	assert_int_equal(m.eof, 0);
	assert_memory_equal(m.buf, big, MSG_BUF_MAX);
	/* Nothing was read past the buffer: the rest (here none) streams later. */
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
}

static void
message_read__larger_pipe__buffer_full_rest_left_in_pipe(void **state)
{
	(void)state;
	const size_t n = MSG_BUF_MAX + 1000;
	pid_t pid;
	int fd;
	size_t got = 0;
	char rest[2000];
	ssize_t r;

	fill_pattern(big, n);
	fd = pipe_from_child(big, n, 7000, 0, &pid);
	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, MSG_BUF_MAX);
	assert_int_equal(m.eof, 0);
	assert_memory_equal(m.buf, big, MSG_BUF_MAX);
	while ((r = read(fd, rest + got, sizeof rest - got)) > 0)
		got += (size_t)r;
	assert_int_equal(got, 1000);
	assert_memory_equal(rest, big + MSG_BUF_MAX, 1000);
	close(fd);
	reap(pid);
}

static void
message_read__larger_file__buffer_full_offset_at_64k(void **state)
{
	(void)state;
	int fd;

	fill_pattern(big, sizeof big);
	fd = file_with("large", big, sizeof big);
	assert_int_equal(message_read(fd, &m), 0);
	assert_int_equal(m.len, MSG_BUF_MAX);
	assert_int_equal(m.eof, 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), MSG_BUF_MAX);
	close(fd);
}

static void
message_read__crlf_first_line__crlf_set(void **state)
{
	(void)state;
	static const struct { const char *s; int crlf; } cases[] = {
		{ "Subject: x\r\n\r\nbody\r\n", 1 },
		{ "Subject: x\nFrom: y\r\n\r\n", 0 },
		{ "Subject: x\r\nFrom: y\n\n", 1 },
		{ "\r\nbody", 1 },
		{ "\nbody\r\n", 0 },
		{ "no newline at all\r", 0 },
		{ "", 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = file_with("crlf", cases[i].s, strlen(cases[i].s));

		assert_int_equal(message_read(fd, &m), 0);
		assert_int_equal(m.crlf, cases[i].crlf);
		close(fd);
	}
}

static void
message_read__unreadable_fd__minus_one(void **state)
{
	(void)state;
	int fd = open(tmpdir, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	assert_int_equal(message_read(fd, &m), -1);
	close(fd);
	assert_int_equal(message_read(-1, &m), -1);
}

/* message_parse: the fields for the record. */

static void
message_parse__record_fields__picked(void **state)
{
	(void)state;
	SET("Received: by x\n"
	    "From: Shop <shop@shop.example>\n"
	    "To: a@x\n"
	    "Subject: Your account\n"
	    "Message-ID: <1@shop.example>\n"
	    "X-PHP-Originating-Script: 1009:x.php\n"
	    "\n"
	    "body\n");
	parse(0, NULL, 0);
	ASSERT_STRV(f.from, "Shop <shop@shop.example>");
	ASSERT_STRV(f.subject, "Your account");
	ASSERT_STRV(f.message_id, "<1@shop.example>");
	ASSERT_STRV(f.php_script, "1009:x.php");
	assert_int_equal(f.nforged, 0);
	assert_int_equal(f.header_cut, 0);
}

static void
message_parse__absent_fields__null(void **state)
{
	(void)state;
	SET("To: a@x\n\nbody\n");
	parse(0, NULL, 0);
	assert_null(f.from.p);
	assert_null(f.subject.p);
	assert_null(f.message_id.p);
	assert_null(f.php_script.p);
	assert_int_equal(f.nrcpt, 0);
	assert_int_equal(f.rcpt_count, 0);
}

static void
message_parse__repeated_fields__first_occurrence(void **state)
{
	(void)state;
	SET("Subject: first\nFrom: a@x\nSubject: second\nFrom: b@y\n"
	    "X-PHP-Originating-Script: 1:one.php\nX-PHP-Originating-Script: 2:two.php\n\n");
	parse(0, NULL, 0);
	ASSERT_STRV(f.subject, "first");
	ASSERT_STRV(f.from, "a@x");
	ASSERT_STRV(f.php_script, "1:one.php");
}

static void
message_parse__folded_value__unfolded(void **state)
{
	(void)state;
	SET("Subject: a long\r\n subject\r\n\tline\r\nFrom: x@y\r\n\r\nbody");
	parse(0, NULL, 0);
	ASSERT_STRV(f.subject, "a long subject\tline");
	ASSERT_STRV(f.from, "x@y");
}

static void
message_parse__surrounding_blanks__trimmed(void **state)
{
	(void)state;
	SET("Subject: \t  spaced out  \t\nFrom:x@y\n\n");
	parse(0, NULL, 0);
	ASSERT_STRV(f.subject, "spaced out");
	ASSERT_STRV(f.from, "x@y");
}

static void
message_parse__empty_value__present_and_empty(void **state)
{
	(void)state;
	SET("Subject:\nMessage-ID:   \n\n");
	parse(0, NULL, 0);
	assert_non_null(f.subject.p);
	assert_int_equal(f.subject.n, 0);
	assert_non_null(f.message_id.p);
	assert_int_equal(f.message_id.n, 0);
}

static void
message_parse__names_any_case__picked(void **state)
{
	(void)state;
	SET("SUBJECT: s\nfrom: f\nmessage-id: <m>\nx-php-originating-script: 0:a.php\n\n");
	parse(0, NULL, 0);
	ASSERT_STRV(f.subject, "s");
	ASSERT_STRV(f.from, "f");
	ASSERT_STRV(f.message_id, "<m>");
	ASSERT_STRV(f.php_script, "0:a.php");
}

static void
message_parse__space_before_colon__still_the_field(void **state)
{
	(void)state;
	SET("Subject \t: spaced\n\n");
	parse(0, NULL, 0);
	ASSERT_STRV(f.subject, "spaced");
}

static void
message_parse__similar_names__not_picked(void **state)
{
	(void)state;
	SET("Subjects: no\nX-Subject: no\nFromage: no\nResent-From: no\n\n");
	parse(0, NULL, 0);
	assert_null(f.subject.p);
	assert_null(f.from.p);
}

static void
message_parse__nul_and_8bit_in_value__kept(void **state)
{
	(void)state;
	static const char msg[] = "Subject: a\0b \xc3\xa9\xff\n\n";

	set_msg(msg, sizeof msg - 1, 1);
	parse(0, NULL, 0);
	assert_strv(f.subject, "a\0b \xc3\xa9\xff", 7);
}

static void
message_parse__long_value__capped_at_value_max(void **state)
{
	(void)state;
	static char msg[5000];
	size_t n;

	n = (size_t)snprintf(msg, sizeof msg, "Subject: ");
	memset(msg + n, 'S', 3000);
	n += 3000;
	memcpy(msg + n, "\nFrom: f@x\n\n", 12);
	set_msg(msg, n + 12, 1);
	parse(0, NULL, 0);
	assert_non_null(f.subject.p);
	assert_int_equal(f.subject.n, MSG_VALUE_MAX);
	for (size_t i = 0; i < f.subject.n; i++)
		assert_int_equal(f.subject.p[i], 'S');
	ASSERT_STRV(f.from, "f@x");
}

/* Recipients. */

static void
message_parse__t_to_cc_bcc__all_recipients(void **state)
{
	(void)state;
	SET("To: a@x, B <b@y>\nCc: c@z\nSubject: s\nBcc: d@w\nReply-To: no@x\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y", "c@z", "d@w");
	assert_int_equal(f.rcpt_count, 4);
}

static void
message_parse__no_t__header_recipients_ignored(void **state)
{
	(void)state;
	char *argv[] = { "r@x", "s@y" };

	SET("To: a@x\nCc: c@z\n\n");
	parse(0, argv, 2);
	RCPTS("r@x", "s@y");
	assert_int_equal(f.rcpt_count, 2);
}

static void
message_parse__t_with_argv__argv_appended(void **state)
{
	(void)state;
	char *argv[] = { "r@x" };

	SET("To: a@x\n\n");
	parse(1, argv, 1);
	RCPTS("a@x", "r@x");
	assert_int_equal(f.rcpt_count, 2);
}

/* qmail-inject takes each operand for one recipient, a blank one too. */
static void
message_parse__argv_operands__each_one_recipient(void **state)
{
	(void)state;
	char *argv[] = { "", "  ", " r@x\t" };

	SET("\n");
	parse(0, argv, 3);
	RCPTS("", "", "r@x");
	assert_int_equal(f.rcpt_count, 3);
}

static void
message_parse__resent_fields__take_precedence(void **state)
{
	(void)state;
	SET("To: a@x\nCc: b@x\nResent-To: r@y\nResent-Cc: s@y\nResent-Bcc: t@y\n\n");
	parse(1, NULL, 0);
	RCPTS("r@y", "s@y", "t@y");
}

static void
message_parse__resent_after_to__still_take_precedence(void **state)
{
	(void)state;
	SET("Resent-Date: now\nTo: a@x\n\n");
	parse(1, NULL, 0);
	assert_int_equal(f.nrcpt, 0);
	assert_int_equal(f.rcpt_count, 0);
}

static void
message_parse__resent_names_any_case__recipients(void **state)
{
	(void)state;
	SET("To: a@x\nRESENT-to: r@y\n\n");
	parse(1, NULL, 0);
	RCPTS("r@y");
}

static void
message_parse__display_names_with_commas__split_correctly(void **state)
{
	(void)state;
	SET("To: \"Doe, John\" <john@x>, Jane Roe <jane@y>,\"a,b\"<ab@z>\n\n");
	parse(1, NULL, 0);
	RCPTS("john@x", "jane@y", "ab@z");
}

static void
message_parse__comments__dropped(void **state)
{
	(void)state;
	SET("To: a@x (Alice, A.), b@y (nested (c, d) e), (lead) c@z\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y", "c@z");
}

static void
message_parse__undisclosed_group__no_recipients(void **state)
{
	(void)state;
	SET("To: undisclosed-recipients:;\nCc: recipient list not shown: ;\n\n");
	parse(1, NULL, 0);
	assert_int_equal(f.nrcpt, 0);
	assert_int_equal(f.rcpt_count, 0);
}

static void
message_parse__group_with_members__members_only(void **state)
{
	(void)state;
	SET("To: Team: a@x, B <b@y>;, c@z\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y", "c@z");
}

/* Without its '>', the '<' is one more special within an address, as qmail-inject reads it. */
static void
message_parse__unclosed_angle__one_address_with_it(void **state)
{
	(void)state;
	SET("To: a@x, Name <b@y\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "Name<b@y");
}

/*
 * Addresses as qmail-inject's token822_addrlist finds them, right to left: a
 * word right after another starts an address, so a list without commas is
 * as many recipients as qmail delivers to; a phrase before <...> is not one.
 */
static void
message_parse__addresses_as_qmail_inject_splits_them(void **state)
{
	static const struct {
		const char *field;
		const char *want[5];
		int n;
	} cases[] = {
		{ "To: a@x b@y c@z d@w", { "a@x", "b@y", "c@z", "d@w" }, 4 },
		{ "To: John Smith j@x", { "John", "Smith", "j@x" }, 3 },
		{ "To: a@x John <j@y>", { "j@y" }, 1 },
		{ "To: a@x (c) b@y", { "a@x", "b@y" }, 2 },
		{ "To: a(c)@(d)x", { "a@x" }, 1 },
		{ "To: <>, b@y", { "", "b@y" }, 2 },
		{ "To: undisclosed-recipients: ;", { NULL }, 0 },
		{ "To: \"a b\"@x, \"q\\\"t\"@y", { "a b@x", "q\"t@y" }, 2 },
		{ "To: u@[1.2.3.4] v@w", { "u@[1.2.3.4]", "v@w" }, 2 },
		{ "To: a.b@x.y", { "a.b@x.y" }, 1 },
		{ "To: Team: a@x b@y;, c@z", { "a@x", "b@y", "c@z" }, 3 },
		{ "To: <@r1,@r2:a@x> b@y", { "a@x", "b@y" }, 2 },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = snprintf(text, sizeof text, "%s\n\n", cases[i].field);

		set_msg(text, (size_t)n, 1);
		parse(1, NULL, 0);
		if (f.rcpt_count != cases[i].n)
			print_error("%s: %ld recipients\n", cases[i].field, f.rcpt_count);
		assert_int_equal(f.rcpt_count, cases[i].n);
		assert_int_equal(f.nrcpt, (size_t)cases[i].n);
		for (int j = 0; j < cases[i].n; j++)
			assert_strv(f.rcpt[j], cases[i].want[j], strlen(cases[i].want[j]));
	}
}

static void
message_parse__angle_route__address_after_colon(void **state)
{
	(void)state;
	SET("To: <@relay1,@relay2:a@x>, Name <b@y>\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y");
}

static void
message_parse__folded_address_list__unfolded(void **state)
{
	(void)state;
	SET("To: a@x,\r\n b@y,\r\n\t\"C\" <c@z>\r\n\r\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y", "c@z");
}

static void
message_parse__empty_list_elements__skipped(void **state)
{
	(void)state;
	SET("To: ,a@x,, ,b@y,\nCc:\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y");
	assert_int_equal(f.rcpt_count, 2);
}

static void
message_parse__more_than_rcpt_max__all_counted(void **state)
{
	(void)state;
	static char msg[16384];
	size_t n = 0;

	n += (size_t)snprintf(msg + n, sizeof msg - n, "To: ");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%sr%d@x", i ? ", " : "", i);
	n += (size_t)snprintf(msg + n, sizeof msg - n, "\n\n");
	set_msg(msg, n, 1);
	{
		char *argv[] = { "extra@y" };

		parse(1, argv, 1);
	}
	assert_int_equal(f.nrcpt, MSG_RCPT_MAX);
	assert_int_equal(f.rcpt_count, 301);
	assert_strv(f.rcpt[0], "r0@x", 4);
	assert_strv(f.rcpt[MSG_RCPT_MAX - 1], "r255@x", 6);
}

static void
message_parse__long_addresses__pool_bounds_kept_count_full(void **state)
{
	(void)state;
	static char msg[40000];
	static char addr[100][251];
	size_t n = 0;

	n += (size_t)snprintf(msg + n, sizeof msg - n, "Subject: s\nTo: ");
	for (int i = 0; i < 100; i++) {
		memset(addr[i], 'a' + i % 26, 240);
		snprintf(addr[i] + 240, 11, "@x%03d.com", i);
		n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s", i ? ", " : "", addr[i]);
	}
	n += (size_t)snprintf(msg + n, sizeof msg - n, "\n\n");
	set_msg(msg, n, 1);
	parse(1, NULL, 0);
	assert_int_equal(f.rcpt_count, 100);
	assert_true(f.nrcpt >= 1);
	assert_true(f.nrcpt < 100);
	assert_true(f.pool_len <= sizeof f.pool);
	for (size_t i = 0; i < f.nrcpt; i++)
		assert_strv(f.rcpt[i], addr[i], strlen(addr[i]));
}

static void
message_parse__address_over_addr_max__capped_counted(void **state)
{
	(void)state;
	static char msg[2000];
	size_t n = 0;

	n += (size_t)snprintf(msg, sizeof msg, "To: ");
	memset(msg + n, 'a', 1000);
	n += 1000;
	n += (size_t)snprintf(msg + n, sizeof msg - n, "@x, b@y\n\n");
	set_msg(msg, n, 1);
	parse(1, NULL, 0);
	assert_int_equal(f.rcpt_count, 2);
	assert_int_equal(f.nrcpt, 2);
	assert_true(f.rcpt[0].n <= MSG_ADDR_MAX);
	assert_true(f.rcpt[0].n > 0);
	assert_strv(f.rcpt[1], "b@y", 3);
}

/* The end of the header section. */

static void
message_parse__blank_line_lf__header_end_after_it(void **state)
{
	(void)state;
	SET("A: b\nC: d\n\nbody\n");
	parse(0, NULL, 0);
	assert_int_equal(f.header_end, 11);
	assert_int_equal(f.header_cut, 0);
}

static void
message_parse__blank_line_crlf__header_end_after_it(void **state)
{
	(void)state;
	SET("A: b\r\nC: d\r\n\r\nbody\r\n");
	parse(0, NULL, 0);
	assert_int_equal(f.header_end, 14);
}

static void
message_parse__non_header_line__ends_section(void **state)
{
	(void)state;
	SET("To: a@x\nthis is the body\nSubject: not a header\nCc: c@z\n");
	parse(1, NULL, 0);
	assert_int_equal(f.header_end, 8);
	assert_null(f.subject.p);
	RCPTS("a@x");
}

static void
message_parse__mbox_from_line__header_goes_on_as_in_qmail(void **state)
{
	(void)state;
	SET("To: decoy@x\nFrom evil Tue Nov 26 18:54:12 2026\nBcc: v1@x, v2@y\n"
	    "X-Additional-Header: id=forged\nSubject: x\n\n");
	parse(1, NULL, 0);
	assert_int_equal(f.header_end, m.len);
	ASSERT_STRV(f.subject, "x");
	assert_null(f.from.p);
	RCPTS("decoy@x", "v1@x", "v2@y");
	assert_int_equal(f.nforged, 1);
}

static void
message_parse__unknown_resent_field__plain_recipients_still_count(void **state)
{
	(void)state;
	SET("Resent-X: 1\nBcc: v1@x, v2@y\n\n");
	parse(1, NULL, 0);
	RCPTS("v1@x", "v2@y");
}

static void
message_parse__apparently_to__recipients(void **state)
{
	(void)state;
	SET("To: a@x\nApparently-To: b@y\n\n");
	parse(1, NULL, 0);
	RCPTS("a@x", "b@y");
}


static void
message_parse__no_blank_line_eof__whole_input_is_header(void **state)
{
	(void)state;
	SET("Subject: only headers\nFrom: f@x");
	parse(0, NULL, 0);
	assert_int_equal(f.header_end, m.len);
	assert_int_equal(f.header_cut, 0);
	ASSERT_STRV(f.from, "f@x");
}

static void
message_parse__empty_message__header_end_0(void **state)
{
	(void)state;
	set_msg("", 0, 1);
	parse(0, NULL, 0);
	assert_int_equal(f.header_end, 0);
	assert_int_equal(f.nrcpt, 0);
	assert_int_equal(f.header_cut, 0);
}

/* A full buffer of header fields, the last one cut at SUFFIX. */
static void
fill_header_buffer(const char *tail)
{
	size_t n = 0, tl = strlen(tail);

	memset(&m, 0, sizeof m);
	while (n + 100 + tl < sizeof m.buf)
		n += (size_t)snprintf(m.buf + n, sizeof m.buf - n, "X-Filler-%06zu: %.*s\n", n,
		    20, "abcdefghijklmnopqrstuvwxyz");
	/* Pad with one more field so the tail lands exactly at the end. */
	{
		size_t pad = sizeof m.buf - tl - n;

		assert_true(pad >= 4);
		memcpy(m.buf + n, "X:", 2);
		memset(m.buf + n + 2, 'p', pad - 3);
		m.buf[n + pad - 1] = '\n';
		n += pad;
	}
	memcpy(m.buf + n, tail, tl);
	m.len = sizeof m.buf;
	m.eof = 0;
}

static void
message_parse__buffer_ends_inside_value__header_cut(void **state)
{
	(void)state;
	fill_header_buffer("Subject: cut in the midd");
	parse(0, NULL, 0);
	assert_int_equal(f.header_cut, 1);
	assert_int_equal(f.header_end, MSG_BUF_MAX);
}

static void
message_parse__buffer_ends_at_line_end_in_header__header_cut(void **state)
{
	(void)state;
	/* The buffer is full and still in the header section: more may follow. */
	fill_header_buffer("Subject: whole line\n");
	parse(0, NULL, 0);
	assert_int_equal(f.header_cut, 1);
}

static void
message_parse__buffer_ends_inside_field_name__header_cut(void **state)
{
	(void)state;
	fill_header_buffer("X-Additional-Hea");
	parse(0, NULL, 0);
	assert_int_equal(f.header_cut, 1);
}

static void
message_parse__full_buffer_with_blank_line__not_cut(void **state)
{
	(void)state;
	memset(&m, 0, sizeof m);
	memcpy(m.buf, "Subject: s\n\n", 12);
	memset(m.buf + 12, 'b', sizeof m.buf - 12);
	m.len = sizeof m.buf;
	m.eof = 0;
	parse(0, NULL, 0);
	assert_int_equal(f.header_cut, 0);
	assert_int_equal(f.header_end, 12);
}

/* Forged identification headers. */

static void
message_parse__forged_any_case_and_spacing__counted(void **state)
{
	(void)state;
	SET("X-Additional-Header: id=fake\n"
	    "x-additional-header : id=fake2\n"
	    "X-ADDITIONAL-HEADER:\n"
	    "X-Additional-Headers: not ours\n"
	    "X-Additional-Header-2: not ours\n"
	    "\n"
	    "X-Additional-Header: in the body\n");
	parse(0, NULL, 0);
	assert_int_equal(f.nforged, 3);
}

static void
message_parse__custom_name__counted(void **state)
{
	(void)state;
	SET("X-Qwrap-Id: a\nX-Additional-Header: b\n\n");
	memset(&f, 0, sizeof f);
	message_parse(&m, 0, NULL, 0, "X-Qwrap-Id", &f);
	assert_int_equal(f.nforged, 1);
}

/* message_write. */

/* A message_out to an fd (ARG) for the tests. */
static int
to_mem(void *arg, const void *p, size_t n)
{
	return write(*(int *)arg, p, n) == (ssize_t)n ? 0 : -1;
}

static const char *
write_and_read(size_t *outlen)
{
	static char back[2 * MSG_BUF_MAX];
	const char *p = tmp_path("out");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ssize_t r;

	struct msgtail t;

	assert_true(fd >= 0);
	assert_int_equal(message_write(fd, &m, &f, OURS, &t), 0);
	assert_int_equal(msgtail_active(&t), f.header_cut);
	assert_int_equal(msgtail_end(&t, to_mem, &fd), 0);	/* as if the input ended here */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	r = read(fd, back, sizeof back);
	assert_true(r >= 0);
	close(fd);
	*outlen = (size_t)r;
	if (!f.header_cut)
		assert_int_equal(*outlen, message_written_size(&m, &f));
	return back;
}

static void
message_write__leading_continuation_line__guarded(void **state)
{
	static const char want[] = MSG_FOLD_GUARD " uid=0; script=/victim.php\nTo: a@x\n\nbody\n";
	const char *out;
	size_t n;

	(void)state;
	SET(" uid=0; script=/victim.php\nTo: a@x\n\nbody\n");
	parse(1, NULL, 0);
	RCPTS("a@x");
	assert_int_equal(f.nforged, 1);
	out = write_and_read(&n);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(out, want, n);
}

static void
message_write__nothing_forged__byte_for_byte(void **state)
{
	(void)state;
	static const char msg[] = "From: a@x\r\nSubject: s\r\n\r\nbody\0with NUL\r\n.\r\nno final newline";
	size_t n;
	const char *out;

	set_msg(msg, sizeof msg - 1, 1);
	parse(1, NULL, 0);
	out = write_and_read(&n);
	assert_int_equal(n, sizeof msg - 1);
	assert_memory_equal(out, msg, n);
}

static void
message_write__forged_fields__prefixed_in_header_only(void **state)
{
	(void)state;
	static const char in[] =
	    "X-Additional-Header: id=fake\n"
	    "Subject: s\n"
	    "x-additional-header : two\n"
	    "\tfolded on\n"
	    "\n"
	    "X-Additional-Header: in the body\n";
	static const char want[] =
	    "X-Qwrap-Forged-X-Additional-Header: id=fake\n"
	    "Subject: s\n"
	    "X-Qwrap-Forged-x-additional-header : two\n"
	    "\tfolded on\n"
	    "\n"
	    "X-Additional-Header: in the body\n";
	size_t n;
	const char *out;

	set_msg(in, sizeof in - 1, 1);
	parse(1, NULL, 0);
	assert_int_equal(f.nforged, 2);
	assert_int_equal(message_written_size(&m, &f), sizeof want - 1);
	out = write_and_read(&n);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(out, want, n);
}

static void
message_write__forged_after_non_header_line__untouched(void **state)
{
	(void)state;
	static const char in[] = "Subject: s\r\nnot a header\r\nX-Additional-Header: x\r\n";
	size_t n;
	const char *out;

	set_msg(in, sizeof in - 1, 1);
	parse(0, NULL, 0);
	assert_int_equal(f.nforged, 0);
	out = write_and_read(&n);
	assert_int_equal(n, sizeof in - 1);
	assert_memory_equal(out, in, n);
}

static void
message_write__crlf_forged_last_header__prefixed(void **state)
{
	(void)state;
	static const char in[] = "Subject: s\r\nX-ADDITIONAL-HEADER: a\r\n\r\nbody\r\n";
	static const char want[] = "Subject: s\r\nX-Qwrap-Forged-X-ADDITIONAL-HEADER: a\r\n\r\nbody\r\n";
	size_t n;
	const char *out;

	set_msg(in, sizeof in - 1, 1);
	parse(0, NULL, 0);
	out = write_and_read(&n);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(out, want, n);
}

static void
message_write__full_buffer__same_bytes_plus_prefixes(void **state)
{
	(void)state;
	size_t n, k = 0;
	const char *out;

	memset(&m, 0, sizeof m);
	for (int i = 0; i < 20; i++)
		k += (size_t)snprintf(m.buf + k, sizeof m.buf - k, "%s: v%d\n",
		    i % 3 == 0 ? OURS : "X-Other", i);
	m.buf[k++] = '\n';
	for (; k < sizeof m.buf; k++)
		m.buf[k] = (char)(k % 7 == 0 ? '\n' : 'x');
	memcpy(m.buf + 5000, "\n" OURS ": body\n", sizeof("\n" OURS ": body\n") - 1);
	m.len = sizeof m.buf;
	m.eof = 0;
	parse(0, NULL, 0);
	assert_int_equal(f.nforged, 7);
	out = write_and_read(&n);
	assert_int_equal(n, m.len + 7 * (sizeof MSG_FORGED_PREFIX - 1));
	/* Removing each inserted prefix gives back the input exactly. */
	{
		static char undone[2 * MSG_BUF_MAX];
		size_t u = 0, pl = sizeof MSG_FORGED_PREFIX - 1;
		int removed = 0;

		for (size_t i = 0; i < n;) {
			if ((i == 0 || out[i - 1] == '\n') && i + pl <= n &&
			    memcmp(out + i, MSG_FORGED_PREFIX, pl) == 0) {
				i += pl;
				removed++;
				continue;
			}
			undone[u++] = out[i++];
		}
		assert_int_equal(removed, 7);
		assert_int_equal(u, m.len);
		assert_memory_equal(undone, m.buf, m.len);
	}
}

static void
message_write__read_only_fd__minus_one(void **state)
{
	(void)state;
	struct msgtail t;
	int fd;

	SET("X-Additional-Header: a\n\nbody\n");
	parse(0, NULL, 0);
	fd = file_with("ro", "", 0);
	close(fd);
	fd = open(tmp_path("ro"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(message_write(fd, &m, &f, OURS, &t), -1);
	close(fd);
	SET("Subject: a\n\nbody\n");
	parse(0, NULL, 0);
	fd = open(tmp_path("ro"), O_RDONLY);
	assert_int_equal(message_write(fd, &m, &f, OURS, &t), -1);
	close(fd);
}

/* The header tail: a section longer than the buffer, renamed to its end. */

static char tail_out[4 * MSG_BUF_MAX];
static size_t tail_len;

static int
to_tail_out(void *arg, const void *p, size_t n)
{
	(void)arg;
	assert_true(tail_len + n <= sizeof tail_out);
	memcpy(tail_out + tail_len, p, n);
	tail_len += n;
	return 0;
}

/* A buffer full of header fields, ending with HEAD_END (perhaps an unfinished line). */
static void
full_header_buffer(const char *head_end)
{
	size_t k = 0, e = strlen(head_end);

	memset(&m, 0, sizeof m);
	while (k + 40 < sizeof m.buf - e)
		k += (size_t)snprintf(m.buf + k, sizeof m.buf - e - k, "X-Filler: %06zu\n", k);
	while (k < sizeof m.buf - e)
		m.buf[k++] = '\t';	/* a long continuation of the last filler */
	memcpy(m.buf + k, head_end, e);
	m.len = sizeof m.buf;
	m.eof = 0;
	parse(0, NULL, 0);
	assert_true(f.header_cut);
}

/* The message written with REST following the buffer, fed CHUNK bytes at a time. */
static void
write_with_rest(const char *rest, size_t chunk)
{
	struct msgtail t;
	size_t n = strlen(rest);

	tail_len = 0;
	assert_int_equal(message_write_to(to_tail_out, NULL, &m, &f, OURS, &t), 0);
	for (size_t i = 0; i < n; i += chunk)
		assert_int_equal(msgtail_feed(&t, rest + i, n - i < chunk ? n - i : chunk,
		    to_tail_out, NULL), 0);
	assert_int_equal(msgtail_end(&t, to_tail_out, NULL), 0);
}

/* What the output must be: the buffer's bytes, then WANT. */
static void
assert_tail(const char *want)
{
	size_t w = strlen(want);

	assert_int_equal(tail_len, m.len + w);
	assert_memory_equal(tail_out, m.buf, m.len);
	assert_memory_equal(tail_out + m.len, want, w);
}

static void
msgtail__forged_fields_past_the_buffer__renamed_to_the_body(void **state)
{
	static const char rest[] =
	    "nal-Header: forged across the buffer's end\n"
	    "x-additional-header \t : blanks before the colon\n"
	    "\tX-Additional-Header: a continuation, not a field\n"
	    "X-Additional-Headers: another name\n"
	    "From someone Sat Jan  3 01:05:34 1996\n"
	    "X-Additional-Header:\n"
	    "Subject: s\n"
	    "\n"
	    "X-Additional-Header: in the body\n";
	static const char want[] =
	    "nal-Header: forged across the buffer's end\n"
	    "X-Qwrap-Forged-x-additional-header \t : blanks before the colon\n"
	    "\tX-Additional-Header: a continuation, not a field\n"
	    "X-Additional-Headers: another name\n"
	    "From someone Sat Jan  3 01:05:34 1996\n"
	    "X-Qwrap-Forged-X-Additional-Header:\n"
	    "Subject: s\n"
	    "\n"
	    "X-Additional-Header: in the body\n";
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096 };

	(void)state;
	full_header_buffer("\nX-Additio");
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		write_with_rest(rest, chunks[i]);
		/* The unfinished line is held: the prefix goes before it, in the output. */
		assert_int_equal(tail_len, m.len + 15 + sizeof want - 1);
		assert_memory_equal(tail_out, m.buf, m.len - 9);
		assert_memory_equal(tail_out + m.len - 9, MSG_FORGED_PREFIX "X-Additio", 24);
		assert_memory_equal(tail_out + m.len + 15, want, sizeof want - 1);
	}
}

static void
msgtail__section_ends_at_a_non_field_line__body_untouched(void **state)
{
	(void)state;
	full_header_buffer("\n");
	write_with_rest("Subject: s\r\nnot a field\r\nX-Additional-Header: body\r\n", 5);
	assert_tail("Subject: s\r\nnot a field\r\nX-Additional-Header: body\r\n");
	write_with_rest("X-Additional-Header\r\nX-Additional-Header: body\r\n", 1);
	assert_tail("X-Additional-Header\r\nX-Additional-Header: body\r\n");
	write_with_rest("\r\nX-Additional-Header: body\r\n", 2);
	assert_tail("\r\nX-Additional-Header: body\r\n");
	write_with_rest("X-Additional-Header: a\r\n\r\nX-Additional-Header: body\r\n", 3);
	assert_tail("X-Qwrap-Forged-X-Additional-Header: a\r\n\r\nX-Additional-Header: body\r\n");
}

static void
msgtail__input_ends_within_a_name__held_bytes_unchanged(void **state)
{
	(void)state;
	full_header_buffer("\n");
	write_with_rest("X-Additional-Header  \t", 4);
	assert_tail("X-Additional-Header  \t");
	write_with_rest("X-Addi", 1);
	assert_tail("X-Addi");
}

static void
msgtail__blanks_past_the_hold__renamed_without_the_colon(void **state)
{
	static char rest[MSG_TAIL_HOLD + 100], want[MSG_TAIL_HOLD + 200];

	(void)state;
	full_header_buffer("\n");
	snprintf(rest, sizeof rest, "%s%*s: x\n\nbody\n", OURS, MSG_TAIL_HOLD, "");
	snprintf(want, sizeof want, "%s%s", MSG_FORGED_PREFIX, rest);
	write_with_rest(rest, 100);
	assert_tail(want);
}

static void
msgtail_copy__from_an_fd__renamed_then_stops_at_the_body(void **state)
{
	static const char rest[] = "nal-Header: x\n\nX-Additional-Header: body\n";
	struct msgtail t;
	int fd;

	(void)state;
	full_header_buffer("\nX-Additio");
	fd = file_with("rest", rest, sizeof rest - 1);
	tail_len = 0;
	assert_int_equal(message_write_to(to_tail_out, NULL, &m, &f, OURS, &t), 0);
	assert_int_equal(msgtail_copy(&t, fd, to_tail_out, NULL), 0);
	assert_false(msgtail_active(&t));
	close(fd);
	assert_int_equal(tail_len, m.len + 15 + sizeof rest - 1);
	assert_memory_equal(tail_out + m.len - 9, MSG_FORGED_PREFIX "X-Additio", 24);
	assert_memory_equal(tail_out + m.len + 15, rest, sizeof rest - 1);
	/* Input that ends within the section: 1, so nobody reads it again (a terminal would wait). */
	fd = file_with("rest", "nal-Header: x\nSubject: s", 24);
	tail_len = 0;
	assert_int_equal(message_write_to(to_tail_out, NULL, &m, &f, OURS, &t), 0);
	assert_int_equal(msgtail_copy(&t, fd, to_tail_out, NULL), 1);
	close(fd);
	assert_int_equal(tail_len, m.len + 15 + 24);
}

static void
message_written_size__no_forged__len(void **state)
{
	(void)state;
	SET("Subject: a\n\nbody\n");
	parse(0, NULL, 0);
	assert_int_equal(message_written_size(&m, &f), m.len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_read__small_pipe__whole_and_eof),
		cmocka_unit_test(message_read__slow_writer_small_chunks__all_collected),
		cmocka_unit_test(message_read__empty_input__len_0_eof),
		cmocka_unit_test(message_read__exactly_64k_file__full_buffer_nothing_lost),
		cmocka_unit_test(message_read__larger_pipe__buffer_full_rest_left_in_pipe),
		cmocka_unit_test(message_read__larger_file__buffer_full_offset_at_64k),
		cmocka_unit_test(message_read__crlf_first_line__crlf_set),
		cmocka_unit_test(message_read__unreadable_fd__minus_one),
		cmocka_unit_test(message_parse__record_fields__picked),
		cmocka_unit_test(message_parse__absent_fields__null),
		cmocka_unit_test(message_parse__repeated_fields__first_occurrence),
		cmocka_unit_test(message_parse__folded_value__unfolded),
		cmocka_unit_test(message_parse__surrounding_blanks__trimmed),
		cmocka_unit_test(message_parse__empty_value__present_and_empty),
		cmocka_unit_test(message_parse__names_any_case__picked),
		cmocka_unit_test(message_parse__space_before_colon__still_the_field),
		cmocka_unit_test(message_parse__similar_names__not_picked),
		cmocka_unit_test(message_parse__nul_and_8bit_in_value__kept),
		cmocka_unit_test(message_parse__long_value__capped_at_value_max),
		cmocka_unit_test(message_parse__t_to_cc_bcc__all_recipients),
		cmocka_unit_test(message_parse__no_t__header_recipients_ignored),
		cmocka_unit_test(message_parse__t_with_argv__argv_appended),
		cmocka_unit_test(message_parse__argv_operands__each_one_recipient),
		cmocka_unit_test(message_parse__resent_fields__take_precedence),
		cmocka_unit_test(message_parse__resent_after_to__still_take_precedence),
		cmocka_unit_test(message_parse__resent_names_any_case__recipients),
		cmocka_unit_test(message_parse__display_names_with_commas__split_correctly),
		cmocka_unit_test(message_parse__comments__dropped),
		cmocka_unit_test(message_parse__undisclosed_group__no_recipients),
		cmocka_unit_test(message_parse__group_with_members__members_only),
		cmocka_unit_test(message_parse__unclosed_angle__one_address_with_it),
		cmocka_unit_test(message_parse__addresses_as_qmail_inject_splits_them),
		cmocka_unit_test(message_parse__angle_route__address_after_colon),
		cmocka_unit_test(message_parse__folded_address_list__unfolded),
		cmocka_unit_test(message_parse__empty_list_elements__skipped),
		cmocka_unit_test(message_parse__more_than_rcpt_max__all_counted),
		cmocka_unit_test(message_parse__long_addresses__pool_bounds_kept_count_full),
		cmocka_unit_test(message_parse__address_over_addr_max__capped_counted),
		cmocka_unit_test(message_parse__blank_line_lf__header_end_after_it),
		cmocka_unit_test(message_parse__blank_line_crlf__header_end_after_it),
		cmocka_unit_test(message_parse__non_header_line__ends_section),
		cmocka_unit_test(message_parse__mbox_from_line__header_goes_on_as_in_qmail),
		cmocka_unit_test(message_parse__unknown_resent_field__plain_recipients_still_count),
		cmocka_unit_test(message_parse__apparently_to__recipients),
		cmocka_unit_test(message_write__leading_continuation_line__guarded),
		cmocka_unit_test(message_parse__no_blank_line_eof__whole_input_is_header),
		cmocka_unit_test(message_parse__empty_message__header_end_0),
		cmocka_unit_test(message_parse__buffer_ends_inside_value__header_cut),
		cmocka_unit_test(message_parse__buffer_ends_at_line_end_in_header__header_cut),
		cmocka_unit_test(message_parse__buffer_ends_inside_field_name__header_cut),
		cmocka_unit_test(message_parse__full_buffer_with_blank_line__not_cut),
		cmocka_unit_test(message_parse__forged_any_case_and_spacing__counted),
		cmocka_unit_test(message_parse__custom_name__counted),
		cmocka_unit_test(message_write__nothing_forged__byte_for_byte),
		cmocka_unit_test(message_write__forged_fields__prefixed_in_header_only),
		cmocka_unit_test(message_write__forged_after_non_header_line__untouched),
		cmocka_unit_test(message_write__crlf_forged_last_header__prefixed),
		cmocka_unit_test(message_write__full_buffer__same_bytes_plus_prefixes),
		cmocka_unit_test(message_write__read_only_fd__minus_one),
		cmocka_unit_test(message_written_size__no_forged__len),
		cmocka_unit_test(msgtail__forged_fields_past_the_buffer__renamed_to_the_body),
		cmocka_unit_test(msgtail__section_ends_at_a_non_field_line__body_untouched),
		cmocka_unit_test(msgtail__input_ends_within_a_name__held_bytes_unchanged),
		cmocka_unit_test(msgtail__blanks_past_the_hold__renamed_without_the_colon),
		cmocka_unit_test(msgtail_copy__from_an_fd__renamed_then_stops_at_the_body),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
