/*
 * message.c: read the start of the message and pick the header fields the
 * record needs.  The input is the caller's and fully hostile: every index is
 * bounded by the buffer, nothing is recursive, and nothing is allocated.
 */
#include "message.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "iofull.h"

int
message_read(int fd, struct message *m)
{
	const char *nl;
	ssize_t n;

	m->len = 0;
	m->eof = 0;
	while (m->len < sizeof m->buf) {
		n = read(fd, m->buf + m->len, sizeof m->buf - m->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			m->eof = 1;
			break;
		}
		m->len += (size_t)n;
	}
	nl = memchr(m->buf, '\n', m->len);
	m->crlf = nl != NULL && nl > m->buf && nl[-1] == '\r';
	return 0;
}

enum { TAIL_LINE, TAIL_NAME, TAIL_WSP, TAIL_REST, TAIL_CR, TAIL_BODY };	/* struct msgtail's state */

/* One header field: its name and its raw value (continuation lines included). */
struct field {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
};

/* A field name's byte: printable ASCII but the colon. */
static int
name_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':';
}

/* Length of the field name at LINE, or 0 if LINE does not start a header field. */
static size_t
field_name_len(const char *line, size_t n)
{
	size_t i = 0, end;

	while (i < n && name_byte((unsigned char)line[i]))
		i++;
	end = i;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;		/* obsolete syntax allows space before the colon */
	return end > 0 && i < n && line[i] == ':' ? end : 0;
}

/*
 * Finds the next header field at *POS in [0, END); returns 0 at the end of
 * the section, setting *POS to where the body starts.
 */
static int
next_field(const char *buf, size_t end, int eof_in_buf, size_t *pos,
    struct field *fl, int *cut)
{
	size_t p = *pos, colon, valstart, lineend;
	const char *nl;

	/* A full buffer that ends inside the header section: the rest was not seen. */
	if (p >= end) {
		if (!eof_in_buf)
			*cut = 1;
		return 0;
	}
	if (buf[p] == '\n') {
		*pos = p + 1;
		return 0;
	}
	if (buf[p] == '\r' && p + 1 < end && buf[p + 1] == '\n') {
		*pos = p + 2;
		return 0;
	}
	if (p == 0 && (buf[0] == ' ' || buf[0] == '\t')) {
		/* Continuation lines with no field above them would continue
		 * qwrap's header: a nameless field, guarded by message_write. */
		fl->namelen = 0;
		valstart = p;
	} else if (end - p >= 5 && memcmp(buf + p, "From ", 5) == 0) {
		/* qmail-inject keeps an mbox "From " line as a header and reads on. */
		fl->namelen = 0;
		valstart = p + 5;
	} else if ((fl->namelen = field_name_len(buf + p, end - p)) == 0) {
		/* Not a header line, so the body starts here; unless the line is unfinished. */
		if (!eof_in_buf && memchr(buf + p, '\n', end - p) == NULL)
			*cut = 1;
		return 0;
	} else {
		colon = p + fl->namelen;
		while (buf[colon] != ':')
			colon++;
		valstart = colon + 1;
	}
	fl->name = buf + p;
	/* The field runs on over continuation lines that start with a space or tab. */
	lineend = p;
	for (;;) {
		nl = memchr(buf + lineend, '\n', end - lineend);
		if (nl == NULL) {
			if (!eof_in_buf)
				*cut = 1;
			lineend = end;
			break;
		}
		lineend = (size_t)(nl - buf) + 1;
		if (lineend >= end || (buf[lineend] != ' ' && buf[lineend] != '\t'))
			break;
	}
	fl->value = buf + valstart;
	fl->valuelen = lineend - valstart;
	*pos = lineend;
	return 1;
}

static int
named(const struct field *fl, const char *name)
{
	return strlen(name) == fl->namelen && strncasecmp(fl->name, name, fl->namelen) == 0;
}

/*
 * A bare CR inside a field (qmail-inject keeps it), then a name like ours,
 * blanks and a colon: a mail reader or MTA that takes a bare CR for a line
 * end would show a field of our name there.  Returns where that name starts
 * in [P, END), the first such, or NULL.
 */
static const char *
cr_forged(const char *p, const char *end, const char *ourname)
{
	size_t n = strlen(ourname);

	while (p < end && (p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		const char *q;

		/* After a CR: a LF (a line end) never matches a name. */
		if ((size_t)(end - ++p) <= n || strncasecmp(p, ourname, n) != 0)
			continue;
		for (q = p + n; q < end && (*q == ' ' || *q == '\t'); q++)
			;
		if (q < end && *q == ':')
			return p;
	}
	return NULL;
}

/* The whole field FL, its continuation lines included, ends here. */
static const char *
field_end(const struct field *fl)
{
	return fl->value + fl->valuelen;
}

/* The Resent- fields qmail-inject knows; any one of them switches recipients to Resent-To/Cc/Bcc. */
static int
is_resent_field(const struct field *fl)
{
	static const char *const names[] = { "Resent-Sender", "Resent-From",
	    "Resent-Reply-To", "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-Date",
	    "Resent-Message-ID", NULL };

	for (int i = 0; names[i] != NULL; i++)
		if (named(fl, names[i]))
			return 1;
	return 0;
}

/* The fields qmail-inject -H takes recipients from (hfield.c, qmail-inject.c). */
static int
is_rcpt_field(const struct field *fl, int resent)
{
	if (resent)
		return named(fl, "Resent-To") || named(fl, "Resent-Cc") || named(fl, "Resent-Bcc");
	return named(fl, "To") || named(fl, "Cc") || named(fl, "Bcc") || named(fl, "Apparently-To");
}

/* Copies an unfolded, trimmed value of at most CAP bytes into the pool. */
static struct strv
pool_add(struct msgfields *f, const char *v, size_t n, size_t cap)
{
	char *out = f->pool + f->pool_len;
	size_t room = sizeof f->pool - f->pool_len, k = 0;

	size_t i;

	if (cap > room)
		cap = room;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	for (i = 0; i < n && k < cap; i++)
		if (v[i] != '\r' && v[i] != '\n')
			out[k++] = v[i];
	for (; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n' && v[i] != ' ' && v[i] != '\t') {
			f->cut = 1;
			break;
		}
	while (k > 0 && (out[k - 1] == ' ' || out[k - 1] == '\t'))
		k--;
	f->pool_len += k;
	return (struct strv){ out, k };
}

/* One recipient counted, and kept for the record while there is room. */
static void
add_rcpt(struct msgfields *f, const char *a, size_t n)
{
	f->rcpt_count++;
	if (f->nrcpt == MSG_RCPT_MAX || f->pool_len + MSG_ADDR_MAX > MSG_RCPT_POOL) {
		f->cut = 1;	/* counted, not kept */
		return;
	}
	f->rcpt[f->nrcpt++] = pool_add(f, a, n, MSG_ADDR_MAX);
}

/*
 * Recipients of an address-list field, found as qmail-inject finds them
 * (token822.c): the value cut into tokens, then read from right to left.
 * The <...> of "phrase <addr>" is the address and the phrase is not; a
 * word right after a word starts another address ("a@x b@y" is two, as
 * qmail delivers it); a group's name ends at its colon.  Where qmail-inject
 * refuses the field (an unbalanced quote, a stray ")", a broken group) it
 * sends nothing at all, and the count is only a close guess.
 */
enum { TK_ATOM, TK_QUOTE, TK_LITERAL, TK_COMMENT, TK_SPECIAL };

struct token {
	unsigned at, len;	/* its bytes in the value, quotes and escapes included */
	unsigned addr_end;	/* an address starts here and ends before token addr_end - 1 */
	unsigned char type;
	char c;			/* a special's character */
};

static struct token toks[MSG_BUF_MAX];	/* a token is a byte at least */

/* qmail's atomok(): what may follow within an atom. */
static int
atom_byte(char c)
{
	return c != '\0' && strchr(" \t\r\n([\"<>;:@,.", c) == NULL;
}

static size_t
tokenize(const char *v, size_t n)
{
	size_t i = 0, nt = 0;

	while (i < n) {
		struct token *t = &toks[nt];
		char c = v[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
			continue;
		}
		t->at = (unsigned)i;
		if (c != '\0' && strchr(".,@<>:;", c) != NULL) {
			t->type = TK_SPECIAL;
			t->c = c;
			i++;
		} else if (c == '(' || c == '"' || c == '[') {
			char close = c == '(' ? ')' : c == '"' ? '"' : ']';
			int level = 1;

			t->type = c == '(' ? TK_COMMENT : c == '"' ? TK_QUOTE : TK_LITERAL;
			for (i++; i < n && level > 0; i++) {
				if (v[i] == '\\')
					i++;
				else if (v[i] == close)
					level--;
				else if (c == '(' && v[i] == '(')
					level++;
			}
		} else {
			t->type = TK_ATOM;
			do
				i += v[i] == '\\' ? 2 : 1;
			while (i < n && atom_byte(v[i]));
		}
		if (i > n)
			i = n;	/* an escape at the very end */
		t->len = (unsigned)i - t->at;
		t->addr_end = 0;
		nt++;
	}
	return nt;
}

static int
special(size_t t, char c)
{
	return toks[t].type == TK_SPECIAL && toks[t].c == c;
}

/*
 * Tokens LO to END (comments left out) as qmail-inject unquotes an address,
 * without a source route (<@a,@b:x@y>).
 */
static void
add_address(struct msgfields *f, const char *v, size_t lo, size_t end)
{
	char addr[MSG_ADDR_MAX];
	size_t k = 0;

	if (lo < end && special(lo, '@')) {
		while (lo < end && !special(lo, ':'))
			lo++;
		lo++;
	}
	for (size_t j = lo; j < end; j++) {
		const struct token *t = &toks[j];
		const char *p = v + t->at, *e = p + t->len;

		if (t->type == TK_COMMENT)
			continue;
		for (; p < e && k < sizeof addr; p++) {
			if (*p == '\\' && t->type != TK_SPECIAL && p + 1 < e)
				p++;
			else if (*p == '"' && t->type == TK_QUOTE)
				continue;	/* the quotes, not what they quote */
			addr[k++] = *p;
		}
	}
	add_rcpt(f, addr, k);
}

static void
parse_addresses(struct msgfields *f, const char *v, size_t n)
{
	size_t nt = tokenize(v, n), lo = 0, end = 0;
	long t = (long)nt - 1;
	int wordok = 1, has = 0;

/* An address is marked where it starts (the '>' of "<>"), and taken from left to right after. */
#define GOT(lo, end) (toks[lo].addr_end = (unsigned)(end) + 1)
#define FLUSH() do { if (has) GOT(lo, end); has = 0; } while (0)
#define TAKE() do { if (!has) end = (size_t)t + 1; has = 1; lo = (size_t)t--; } while (0)
	while (t >= 0) {
		const struct token *tok = &toks[t];

		if (special((size_t)t, ';') || special((size_t)t, ',')) {
			FLUSH();
			wordok = 1;
			t--;
		} else if (special((size_t)t, ':')) {
			/* The group's name, back to the comma before it, is no address. */
			FLUSH();
			while (t >= 0 && !special((size_t)t, ','))
				t--;
			t--;
			wordok = 1;
		} else if (special((size_t)t, '>')) {
			FLUSH();
			end = (size_t)t;
			while (--t >= 0 && !special((size_t)t, '<'))
				;
			GOT(t + 1 < (long)end ? (size_t)(t + 1) : end, end);	/* "<>" too */
			/* The '<', then the phrase before it. */
			for (t--; t >= 0 && (toks[t].type == TK_ATOM || toks[t].type == TK_QUOTE ||
			    toks[t].type == TK_COMMENT || special((size_t)t, '@') ||
			    special((size_t)t, '.')); t--)
				;
			wordok = 0;
		} else if (tok->type == TK_COMMENT) {
			t--;
		} else if (tok->type == TK_SPECIAL) {	/* '@', '.', a '<' without its '>' */
			wordok = 1;
			TAKE();
		} else {
			if (!wordok)
				FLUSH();
			wordok = 0;
			TAKE();
		}
	}
	FLUSH();
#undef GOT
#undef FLUSH
#undef TAKE
	for (size_t j = 0; j < nt; j++)
		if (toks[j].addr_end)
			add_address(f, v, j, toks[j].addr_end - 1);
}

void
message_parse(const struct message *m, int headers_rcpt, char *const argv[],
    int argc, const char *ourname, struct msgfields *f)
{
	struct field fl;
	size_t pos = 0;
	int resent = 0, cut = 0;

	/* Only the scalars: the arrays are filled as far as the counts say, and
	 * zeroing 40 KiB costs page faults on every message. */
	f->from = f->subject = f->message_id = f->php_script = (struct strv){ NULL, 0 };
	f->nrcpt = 0;
	f->rcpt_count = 0;
	f->header_end = 0;
	f->nforged = 0;
	f->header_cut = 0;
	f->cut = 0;
	f->lead_fold = 0;
	f->pool_len = 0;
	/* Does the message use Resent- fields? Then only those name recipients (as qmail-inject does). */
	while (next_field(m->buf, m->len, m->eof, &pos, &fl, &cut))
		if (is_resent_field(&fl))
			resent = 1;
	f->header_end = pos;
	f->header_cut = cut;
	f->lead_fold = m->len > 0 && (m->buf[0] == ' ' || m->buf[0] == '\t');

	pos = 0;
	while (next_field(m->buf, m->len, m->eof, &pos, &fl, &cut)) {
		if (named(&fl, "From") && f->from.p == NULL)
			f->from = pool_add(f, fl.value, fl.valuelen, MSG_VALUE_MAX);
		else if (named(&fl, "Subject") && f->subject.p == NULL)
			f->subject = pool_add(f, fl.value, fl.valuelen, MSG_VALUE_MAX);
		else if (named(&fl, "Message-ID") && f->message_id.p == NULL)
			f->message_id = pool_add(f, fl.value, fl.valuelen, MSG_VALUE_MAX);
		else if (named(&fl, "X-PHP-Originating-Script") && f->php_script.p == NULL)
			f->php_script = pool_add(f, fl.value, fl.valuelen, MSG_VALUE_MAX);
		else if (named(&fl, ourname))
			f->nforged++;
		for (const char *q = fl.name; (q = cr_forged(q, field_end(&fl), ourname)) != NULL; q++)
			f->nforged++;
		if (headers_rcpt && is_rcpt_field(&fl, resent))
			parse_addresses(f, fl.value, fl.valuelen);
	}
	for (int i = 0; i < argc; i++)
		add_rcpt(f, argv[i], strlen(argv[i]));
	f->nforged += f->lead_fold;
}

size_t
message_written_size(const struct message *m, const struct msgfields *f)
{
	return m->len + (size_t)(f->nforged - f->lead_fold) * (sizeof MSG_FORGED_PREFIX - 1) +
	    (size_t)f->lead_fold * (sizeof MSG_FOLD_GUARD - 1);
}

/*
 * Where message_write stops when the section runs past the buffer: after
 * the buffer's last line end, so the tail starts at a line's start.
 */
static size_t
tail_start(const struct message *m, const struct msgfields *f)
{
	size_t i = m->len;

	if (!f->header_cut)
		return m->len;
	while (i > 0 && m->buf[i - 1] != '\n')
		i--;
	return i;
}

int
message_write_to(message_out out, void *arg, const struct message *m,
    const struct msgfields *f, const char *ourname, struct msgtail *t)
{
	struct field fl;
	size_t pos = 0, done = 0, end = tail_start(m, f);
	int cut = 0;

	/* Field by field: zeroing held[] would cost every message a kilobyte of stores. */
	t->name = ourname;
	t->namelen = strlen(ourname);
	t->state = f->header_cut ? TAIL_LINE : TAIL_BODY;
	t->ours = t->from = t->cr = 0;
	t->len = t->nheld = 0;
	if (f->lead_fold && out(arg, MSG_FOLD_GUARD, sizeof MSG_FOLD_GUARD - 1) < 0)
		return -1;
	/* Nothing named like ours (the usual case): no second walk of the header. */
	if (f->nforged > f->lead_fold || f->header_cut) {
		while (pos < end && next_field(m->buf, end, 1, &pos, &fl, &cut)) {
			const char *q = fl.name;

			/* The field's own name, then any after a bare CR inside it. */
			for (int first = named(&fl, ourname); first || (q = cr_forged(q,
			    field_end(&fl), ourname)) != NULL; first = 0, q++) {
				if (out(arg, m->buf + done, (size_t)(q - m->buf) - done) < 0 ||
				    out(arg, MSG_FORGED_PREFIX, sizeof MSG_FORGED_PREFIX - 1) < 0)
					return -1;
				done = (size_t)(q - m->buf);
			}
		}
	}
	if (out(arg, m->buf + done, end - done) < 0)
		return -1;
	return msgtail_feed(t, m->buf + end, m->len - end, out, arg);
}

int
message_out_fd(void *arg, const void *p, size_t n)
{
	return write_full(*(int *)arg, p, n);
}

int
message_write(int fd, const struct message *m, const struct msgfields *f,
    const char *ourname, struct msgtail *t)
{
	return message_write_to(message_out_fd, &fd, m, f, ourname, t);
}

int
msgtail_active(const struct msgtail *t)
{
	return t->state != TAIL_BODY;
}

/* What is held goes out, after the prefix when the line is ours. */
static int
release(struct msgtail *t, int ours, message_out out, void *arg)
{
	size_t n = t->nheld;

	t->nheld = 0;
	if (ours && out(arg, MSG_FORGED_PREFIX, sizeof MSG_FORGED_PREFIX - 1) < 0)
		return -1;
	return n > 0 ? out(arg, t->held, n) : 0;
}

/*
 * A line at a time, as next_field reads the section: one starting with a
 * blank continues a field, "From " or a name, blanks and a colon start one,
 * anything else starts the body.  Only a line that may still be ours is
 * held; every other byte goes out as it comes.
 */
int
msgtail_feed(struct msgtail *t, const char *p, size_t n, message_out out, void *arg)
{
	const char *end = p + n;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		const char *nl;

		switch (t->state) {
		case TAIL_BODY:
			return out(arg, p, (size_t)(end - p));
		case TAIL_REST:
			/* To the line's end, or to a CR within it (see cr_forged). */
			for (nl = p; nl < end && *nl != '\n' && *nl != '\r'; nl++)
				;
			if (nl == end)
				return out(arg, p, (size_t)(end - p));
			if (out(arg, p, (size_t)(nl + 1 - p)) < 0)
				return -1;
			p = nl + 1;
			t->state = *nl == '\n' ? TAIL_LINE : TAIL_CR;
			continue;
		case TAIL_CR:
			/* A bare CR: a name like ours after it is renamed, a line end is one. */
			if (c == '\n' || c == '\r' || !name_byte(c)) {
				t->state = TAIL_REST;
				continue;
			}
			t->state = TAIL_NAME;
			t->len = 0;
			t->ours = 1;
			t->from = 0;
			t->cr = 1;
			continue;
		case TAIL_LINE:
			if (c == ' ' || c == '\t') {
				t->state = TAIL_REST;
				continue;
			}
			if (!name_byte(c)) {
				t->state = TAIL_BODY;
				continue;
			}
			t->state = TAIL_NAME;
			t->len = 0;
			t->ours = t->from = 1;
			t->cr = 0;
			continue;
		case TAIL_NAME:
			if (name_byte(c) && !t->ours) {
				/* Not ours: the run of name bytes goes out at once. */
				const char *q = p;

				for (; q < end && name_byte((unsigned char)*q); q++) {
					t->len++;
					t->from = t->from && t->len <= 4 && *q == "From"[t->len - 1];
				}
				if (out(arg, p, (size_t)(q - p)) < 0)
					return -1;
				p = q;
				continue;
			}
			if (name_byte(c)) {
				t->len++;
				t->from = t->from && t->len <= 4 && c == (unsigned char)"From"[t->len - 1];
				if (t->ours && (t->len > t->namelen ||
				    tolower(c) != tolower((unsigned char)t->name[t->len - 1]))) {
					t->ours = 0;
					if (release(t, 0, out, arg) < 0)
						return -1;
				}
				break;
			}
			t->ours = t->ours && t->len == t->namelen;
			if (c == ':') {
				if (release(t, t->ours, out, arg) < 0)
					return -1;
				t->state = TAIL_REST;
				continue;
			}
			if (c == ' ' && t->from && t->len == 4) {
				/* qmail-inject keeps an mbox "From " line as a header. */
				if (release(t, 0, out, arg) < 0)
					return -1;
				t->state = TAIL_REST;
				continue;
			}
			if (c == ' ' || c == '\t') {
				t->state = TAIL_WSP;
				if (!t->ours && release(t, 0, out, arg) < 0)
					return -1;
				break;
			}
			if (release(t, 0, out, arg) < 0)
				return -1;
			t->state = t->cr ? TAIL_REST : TAIL_BODY;
			continue;
		case TAIL_WSP:
			if ((c == ' ' || c == '\t') && !t->ours) {
				const char *q = p;

				while (q < end && (*q == ' ' || *q == '\t'))
					q++;
				if (out(arg, p, (size_t)(q - p)) < 0)
					return -1;
				p = q;
				continue;
			}
			if (c == ' ' || c == '\t')
				break;
			if (c == ':') {
				if (release(t, t->ours, out, arg) < 0)
					return -1;
				t->state = TAIL_REST;
				continue;
			}
			if (release(t, 0, out, arg) < 0)
				return -1;
			t->state = t->cr ? TAIL_REST : TAIL_BODY;
			continue;
		}
		/* A byte of a line that may be ours is held, else it goes out. */
		if (!t->ours) {
			if (out(arg, p, 1) < 0)
				return -1;
		} else if (t->nheld == sizeof t->held) {
			/* Too many blanks to wait for the colon: renamed all the same. */
			t->ours = 0;
			if (release(t, 1, out, arg) < 0 || out(arg, p, 1) < 0)
				return -1;
		} else {
			t->held[t->nheld++] = (char)c;
		}
		p++;
	}
	return 0;
}

int
msgtail_end(struct msgtail *t, message_out out, void *arg)
{
	t->state = TAIL_BODY;
	return release(t, 0, out, arg);
}

int
msgtail_copy(struct msgtail *t, int fd, message_out out, void *arg)
{
	static char buf[65536];
	ssize_t n;

	while (msgtail_active(t)) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		/* Not read again after its end: a terminal would wait for a second one. */
		if (n == 0)
			return msgtail_end(t, out, arg) < 0 ? -1 : 1;
		if (msgtail_feed(t, buf, (size_t)n, out, arg) < 0)
			return -1;
	}
	return 0;
}
