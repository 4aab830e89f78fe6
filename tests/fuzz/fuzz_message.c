/* fuzz_message.c: libFuzzer harness for message_parse, message_write, message_written_size and the header tail (common/message.c). */
/*
 * Input: byte 0 is a set of flags, the rest is the message as message_read
 * would have left it in struct message.
 *   bit 0     eof (stdin ended within the buffer)
 *   bit 1     headers_rcpt (-t)
 *   bits 2-4  which argv recipient operands are passed
 *   bit 5     the name is given to message_parse/message_write in lower case
 *   bit 6     the message is repeated until it fills MSG_BUF_MAX (eof then
 *             comes from bit 0 as well, so a full buffer with eof = 0 is the
 *             "header section longer than the buffer" case)
 * The bytes of buf past len are poisoned, so a read beyond len is reported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#include "message.h"

#define OURNAME "X-Additional-Header"
#define PREFIX_LEN (sizeof MSG_FORGED_PREFIX - 1)

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_message: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

static struct message *msg;
static struct msgfields *fields;
static char *written;		/* what message_write wrote */
static size_t written_cap;
static char *expect;		/* what it should have written */
static int outfd = -1;

/* Recipient operands; set 5 has more than MSG_RCPT_MAX of them. */
static char *set1[] = { "alice@example.com" };
static char *set2[] = { "bob@example.org", "carol@example.net" };
static char *set3[] = { " dave@example.com\r\n", "\t", "", "\r\n" };
static char *set4[] = { "a\nb@example.com", "X-Additional-Header: x", "e\r@x" };
static char *set5[300];
static char set5_buf[300][32];
static char *set6[1];
static char set6_buf[700];
static char *set7[] = { "undisclosed-recipients:;", "\"q, r\" <q@r>", "<@a,@b:c@d>" };

static struct {
	char **argv;
	int argc;
} sets[8] = {
	{ NULL, 0 }, { set1, 1 }, { set2, 2 }, { set3, 4 }, { set4, 3 },
	{ set5, 300 }, { set6, 1 }, { set7, 3 },
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < 300; i++) {
		snprintf(set5_buf[i], sizeof set5_buf[i], "user%d@example.com", i);
		set5[i] = set5_buf[i];
	}
	memset(set6_buf, 'l', sizeof set6_buf - 1);
	set6_buf[300] = '@';
	set6_buf[sizeof set6_buf - 1] = '\0';
	set6[0] = set6_buf;

	msg = malloc(sizeof *msg);
	fields = malloc(sizeof *fields);
	/* At most one prefix per 3 bytes ("a:\n") and one guard, so this always suffices. */
	written_cap = MSG_BUF_MAX + (MSG_BUF_MAX / 3 + 1) * PREFIX_LEN + sizeof MSG_FOLD_GUARD + 1;
	written = malloc(written_cap);
	expect = malloc(written_cap);
	outfd = memfd_create("fuzz_message", MFD_CLOEXEC);
	if (msg == NULL || fields == NULL || written == NULL || expect == NULL || outfd < 0) {
		perror("fuzz_message: setup");
		abort();
	}
	return 0;
}

/* Like field_name_len in message.c, written from RFC 5322 §3.6.8 and §4.5.3. */
static size_t
ref_name_len(const char *s, size_t n)
{
	size_t i = 0, end;

	while (i < n && (unsigned char)s[i] >= 33 && (unsigned char)s[i] <= 126 && s[i] != ':')
		i++;
	end = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return end > 0 && i < n && s[i] == ':' ? end : 0;
}

/* A name character (RFC 5322 ftext): printable ASCII but ':'. */
static int
ref_namechar(char c)
{
	return (unsigned char)c >= 33 && (unsigned char)c <= 126 && c != ':';
}

/*
 * In the field BUF[FROM..TO): each bare CR followed by NAME, blanks and a
 * colon, which a reader taking a bare CR for a line end would show as a field
 * of that name: noted in STARTS (where the name starts), in order.
 */
static void
ref_cr(const char *buf, size_t from, size_t to, const char *name, size_t *starts,
    size_t *nstarts)
{
	size_t n = strlen(name);

	for (size_t i = from; i + 1 < to; i++) {
		size_t j = i + 1, k;

		if (buf[i] != '\r' || to - j <= n || strncasecmp(buf + j, name, n) != 0)
			continue;
		for (k = j + n; k < to && (buf[k] == ' ' || buf[k] == '\t'); k++)
			;
		if (k < to && buf[k] == ':')
			starts[(*nstarts)++] = j;
	}
}

/*
 * The header section of BUF[0..LEN): fields (a name line and the lines
 * that start with WSP after it) up to an empty line (included) or a line
 * that is not a field (excluded).  Notes in STARTS the start of each field
 * named NAME and returns the end of the section.  *OPEN says whether more
 * input could still have extended the section: it ran to the end of the
 * buffer, or the buffer ends in a line that more bytes could make a field
 * or the empty line ("Subj", "Subject ", "\r").
 */
static size_t
ref_header(const char *buf, size_t len, const char *name, size_t *starts, size_t *nstarts,
    int *open)
{
	size_t p = 0, nl, f0;

	*nstarts = 0;
	*open = 0;
	for (;;) {
		if (p >= len) {
			*open = 1;
			return len;
		}
		if (buf[p] == '\n')
			return p + 1;
		if (buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n')
			return p + 2;
		/*
		 * As qmail-inject reads them: continuation lines at the very
		 * start, and an mbox "From " line, are header lines without a name.
		 */
		if ((p == 0 && (buf[0] == ' ' || buf[0] == '\t')) ||
		    (len - p >= 5 && memcmp(buf + p, "From ", 5) == 0))
			nl = (size_t)-1;
		else
			nl = ref_name_len(buf + p, len - p);
		if (nl == 0) {
			size_t i = p;

			if (buf[p] == '\r' && p + 1 == len)
				*open = 1;
			else if (ref_namechar(buf[p])) {
				while (i < len && ref_namechar(buf[i]))
					i++;
				while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
					i++;
				*open = i == len;
			}
			return p;
		}
		if (nl != (size_t)-1 && nl == strlen(name) && strncasecmp(buf + p, name, nl) == 0)
			starts[(*nstarts)++] = p;
		f0 = p;
		/* to the end of the line, then over continuation lines */
		do {
			const char *e = memchr(buf + p, '\n', len - p);

			if (e == NULL) {
				ref_cr(buf, f0, len, name, starts, nstarts);
				*open = 1;
				return len;
			}
			p = (size_t)(e - buf) + 1;
		} while (p < len && (buf[p] == ' ' || buf[p] == '\t'));
		ref_cr(buf, f0, p, name, starts, nstarts);
	}
}

static int
has_crlf_byte(struct strv v)
{
	return memchr(v.p, '\r', v.n) != NULL || memchr(v.p, '\n', v.n) != NULL;
}

static void
check_in_pool(const struct msgfields *f, struct strv v, size_t cap, int may_be_absent)
{
	if (v.p == NULL) {
		CHECK(may_be_absent);
		CHECK(v.n == 0);
		return;
	}
	CHECK(v.p >= f->pool && v.p <= f->pool + sizeof f->pool);
	CHECK(v.n <= (size_t)(f->pool + sizeof f->pool - v.p));
	CHECK(v.p + v.n <= f->pool + f->pool_len);
	CHECK(v.n <= cap);
	CHECK(!has_crlf_byte(v));
}

static size_t starts[MSG_BUF_MAX];

static int
to_fd(void *arg, const void *p, size_t n)
{
	return write(*(int *)arg, p, n) == (ssize_t)n ? 0 : -1;
}

static char *split_out;
static size_t split_len;

static int
to_split_out(void *arg, const void *p, size_t n)
{
	(void)arg;
	CHECK(split_len + n <= written_cap);
	memcpy(split_out + split_len, p, n);
	split_len += n;
	return 0;
}

/* A run of blanks that, after our name, passes what the tail holds. */
static int
long_blanks(const char *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		run = p[i] == ' ' || p[i] == '\t' ? run + 1 : 0;
		if (run >= MSG_TAIL_HOLD - (sizeof OURNAME - 1))
			return 1;
	}
	return 0;
}

/*
 * M (all of the input, in the buffer) cut where a hash of DATA says: the
 * start parsed and written as a full buffer would be, the rest fed through
 * the tail in pieces of a size the hash says too.  It must come out as
 * WLEN bytes of written[].
 */
static void
check_split(const struct message *m, const char *name, const uint8_t *data, size_t size,
    size_t wlen)
{
	static struct message *m2;
	static struct msgfields *f2;
	struct msgtail t;
	uint32_t h = 2166136261u;
	size_t k, piece;

	if (m2 == NULL && ((m2 = malloc(sizeof *m2)) == NULL || (f2 = malloc(sizeof *f2)) == NULL ||
	    (split_out = malloc(written_cap)) == NULL))
		abort();
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	/* At least a byte: message_read never leaves the buffer empty while input remains. */
	k = m->len ? 1 + h % m->len : 0;
	piece = 1 + (h >> 16) % 97;
	memcpy(m2->buf, m->buf, k);
	m2->len = k;
	m2->eof = k == m->len;
	m2->crlf = m->crlf;
	message_parse(m2, 0, NULL, 0, name, f2);
	split_len = 0;
	CHECK(message_write_to(to_split_out, NULL, m2, f2, name, &t) == 0);
	for (size_t i = k; i < m->len; i += piece)
		CHECK(msgtail_feed(&t, m->buf + i, m->len - i < piece ? m->len - i : piece,
		    to_split_out, NULL) == 0);
	CHECK(msgtail_end(&t, to_split_out, NULL) == 0);
	CHECK(split_len == wlen);
	CHECK(memcmp(split_out, written, wlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message *m = msg;
	struct msgfields *f = fields;
	const char *name = (size > 0 && (data[0] & 0x20)) ? "x-additional-header" : OURNAME;
	unsigned flags;
	size_t hend, nstarts, wlen, elen, done;
	const char *nl;
	ssize_t r;
	int headers_rcpt, set, open, lead;
	struct msgtail tail;

	if (size == 0)
		return 0;
	flags = data[0];
	data++, size--;
	headers_rcpt = (flags >> 1) & 1;
	set = (flags >> 2) & 7;

	/* As message_read leaves it. */
	if ((flags & 0x40) && size > 0) {
		for (m->len = 0; m->len < MSG_BUF_MAX; ) {
			size_t n = size < MSG_BUF_MAX - m->len ? size : MSG_BUF_MAX - m->len;

			memcpy(m->buf + m->len, data, n);
			m->len += n;
		}
	} else {
		m->len = size < MSG_BUF_MAX ? size : MSG_BUF_MAX;
		memcpy(m->buf, data, m->len);
	}
	m->eof = flags & 1;
	nl = memchr(m->buf, '\n', m->len);
	m->crlf = nl != NULL && nl > m->buf && nl[-1] == '\r';
	ASAN_POISON_MEMORY_REGION(m->buf + m->len, sizeof m->buf - m->len);

	message_parse(m, headers_rcpt, sets[set].argv, sets[set].argc, name, f);

	/* What the record gets. */
	CHECK(f->header_end <= m->len);
	CHECK(f->nrcpt <= MSG_RCPT_MAX);
	CHECK(f->pool_len <= sizeof f->pool);
	CHECK(f->rcpt_count >= 0 && (size_t)f->rcpt_count >= f->nrcpt);
	/* "<>" and a blank operand are recipients too, as qmail-inject counts them. */
	for (size_t i = 0; i < f->nrcpt; i++)
		check_in_pool(f, f->rcpt[i], MSG_ADDR_MAX, 0);
	check_in_pool(f, f->from, MSG_VALUE_MAX, 1);
	check_in_pool(f, f->subject, MSG_VALUE_MAX, 1);
	check_in_pool(f, f->message_id, MSG_VALUE_MAX, 1);
	check_in_pool(f, f->php_script, MSG_VALUE_MAX, 1);
	/* Every operand is one recipient; without -t nothing else is. */
	CHECK(f->rcpt_count >= sets[set].argc);
	if (!headers_rcpt)
		CHECK(f->rcpt_count == sets[set].argc);

	/*
	 * The header section, found independently.  When the buffer ends in a
	 * line that may yet become a field, the section may be taken to end
	 * before that line or at the end of the buffer.
	 */
	hend = ref_header(m->buf, m->len, OURNAME, starts, &nstarts, &open);
	if (hend < m->len && open)
		CHECK(f->header_end == hend || f->header_end == m->len);
	else
		CHECK(f->header_end == hend);
	/*
	 * header_cut: input remains and the section did not end within the
	 * buffer.  Checked for the states message_read leaves (eof, or a full
	 * buffer).  A last line that is unfinished but can no longer become a
	 * field ("Hello wor") may be taken either way.
	 */
	if (m->eof)
		CHECK(!f->header_cut);
	else if (m->len == MSG_BUF_MAX) {
		if (open)
			CHECK(f->header_cut);
		else if (hend == m->len || memchr(m->buf + hend, '\n', m->len - hend) != NULL)
			CHECK(!f->header_cut);
	}
	/* cut: set (at least) when a counted recipient was not kept. */
	if ((size_t)f->rcpt_count > f->nrcpt)
		CHECK(f->cut);
	/*
	 * The fields named like ours that are renamed: those in [0, header_end)
	 * and, when the section runs past the buffer, all of the buffer's (the
	 * tail takes the input to end after the buffer).
	 */
	(void)ref_header(m->buf, f->header_cut ? m->len : f->header_end, OURNAME, starts, &nstarts,
	    &open);
	lead = m->len > 0 && (m->buf[0] == ' ' || m->buf[0] == '\t');
	CHECK(f->nforged >= 0 && (size_t)f->nforged == nstarts + lead);

	/*
	 * The input with the guard first when it starts with a continuation
	 * line, the prefix before each of those fields, and nothing else.
	 */
	elen = done = 0;
	if (lead) {
		memcpy(expect, MSG_FOLD_GUARD, sizeof MSG_FOLD_GUARD - 1);
		elen = sizeof MSG_FOLD_GUARD - 1;
	}
	for (size_t i = 0; i < nstarts; i++) {
		memcpy(expect + elen, m->buf + done, starts[i] - done);
		elen += starts[i] - done;
		memcpy(expect + elen, MSG_FORGED_PREFIX, PREFIX_LEN);
		elen += PREFIX_LEN;
		done = starts[i];
	}
	memcpy(expect + elen, m->buf + done, m->len - done);
	elen += m->len - done;

	CHECK(ftruncate(outfd, 0) == 0);
	CHECK(lseek(outfd, 0, SEEK_SET) == 0);
	CHECK(message_write(outfd, m, f, name, &tail) == 0);
	CHECK(!msgtail_active(&tail) || f->header_cut);
	CHECK(msgtail_end(&tail, to_fd, &outfd) == 0);
	wlen = (size_t)lseek(outfd, 0, SEEK_CUR);
	CHECK(wlen < written_cap);
	r = pread(outfd, written, written_cap, 0);
	CHECK(r >= 0 && (size_t)r == wlen);
	if (!f->header_cut)
		CHECK(message_written_size(m, f) == wlen);
	CHECK(wlen == elen);
	CHECK(memcmp(written, expect, elen) == 0);

	/*
	 * A whole message written at once is written the same when only its
	 * start was in the buffer and the rest came through the tail, in
	 * pieces of any size.  (Not for a name like ours followed by more
	 * blanks than the tail holds: that one is renamed without its colon.)
	 */
	if (m->eof && !long_blanks(m->buf, m->len))
		check_split(m, name, data, size, wlen);

	ASAN_UNPOISON_MEMORY_REGION(m->buf + m->len, sizeof m->buf - m->len);
	return 0;
}
