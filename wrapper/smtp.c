/*
 * smtp.c: SMTP as the -bs relay reads it.  Where servers differ, the relay
 * errs towards seeing a command as DATA (a server that disagrees says so in
 * its reply, and the relay follows the reply) and towards ending data where
 * any server would.
 */
#include "smtp.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "BDAT", SMTP_BDAT }, { "STARTTLS", SMTP_STARTTLS },
};

enum smtp_verb
smtp_verb(const char *line, size_t len)
{
	size_t n = 0;

	/* Space, tab, CR, LF and every other control byte end the verb. */
	while (n < len && (unsigned char)line[n] > 0x20)
		n++;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i].name) == n && strncasecmp(line, verbs[i].name, n) == 0)
			return verbs[i].verb;
	return SMTP_OTHER;
}

int
smtp_address(const char *line, size_t len, char *addr, size_t addrmax)
{
	const char *p = memchr(line, ':', len), *end = line + len;
	size_t n = 0;
	int cut = 0;
	char stop = ' ';

	addr[0] = '\0';
	if (p == NULL || addrmax == 0)
		return -1;
	for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p < end && *p == '<')
		p++, stop = '>';
	for (; p < end && *p != stop && *p != '\r' && *p != '\n' && *p != '\0'; p++) {
		if (stop == ' ' && *p == '\t')
			break;
		if (n + 1 < addrmax)
			addr[n++] = *p;
		else
			cut = 1;
	}
	addr[n] = '\0';
	return cut;
}

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

int
smtp_reply_code(const char *line, size_t len, int *last)
{
	*last = !(len >= 4 && line[3] == '-');
	if (len < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]))
		return 0;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static int
hidden(const char *line, size_t len)
{
	static const char *const names[] = { "STARTTLS", "CHUNKING", "BINARYMIME" };
	size_t n = 0;

	if (len < 4)
		return 0;
	while (4 + n < len && (unsigned char)line[4 + n] > 0x20)
		n++;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(line + 4, names[i], n) == 0)
			return 1;
	return 0;
}

size_t
smtp_ehlo_filter(char *reply, size_t len)
{
	size_t in = 0, out = 0, lastkept = 0;
	int first = 1, droppedlast = 0, last;

	if (smtp_reply_code(reply, len, &last) / 100 != 2)
		return len;
	while (in < len) {
		const char *nl = memchr(reply + in, '\n', len - in);
		size_t n = nl ? (size_t)(nl - (reply + in)) + 1 : len - in;

		smtp_reply_code(reply + in, n, &last);
		/* The first line names the server; it is never an extension. */
		if (!first && hidden(reply + in, n)) {
			droppedlast = last;
		} else {
			memmove(reply + out, reply + in, n);
			lastkept = out;
			out += n;
			droppedlast = 0;
		}
		first = 0;
		in += n;
	}
	if (droppedlast && out - lastkept >= 4)
		reply[lastkept + 3] = ' ';
	return out;
}

size_t
smtp_data_scan(enum smtp_data_state *st, const char *in, size_t n, char *out,
    size_t outmax, size_t *outlen)
{
	size_t i = 0;

#define EMIT(c) do { if (out) out[(*outlen)++] = (c); } while (0)
	for (; i < n && !SMTP_DATA_ENDED(*st); i++) {
		char c = in[i];

		/* Room for the most one byte can give back: a held ".\r" and itself. */
		if (out && outmax - *outlen < 3)
			break;
		/* Within a line only its end matters: up to it at memchr's pace. */
		if (*st == DS_MID && c != '\n') {
			size_t k = n - i;
			const char *nl;

			if (out && k > outmax - *outlen - 2)
				k = outmax - *outlen - 2;
			if ((nl = memchr(in + i, '\n', k)) != NULL)
				k = (size_t)(nl - (in + i));
			if (out) {
				memcpy(out + *outlen, in + i, k);
				*outlen += k;
			}
			i += k - 1;
			continue;
		}
		switch (*st) {
		case DS_LINE_START:
			if (c == '.') {
				*st = DS_DOT;
				break;
			}
			/* FALLTHROUGH */
		case DS_MID:
			EMIT(c);
			*st = c == '\n' ? DS_LINE_START : DS_MID;
			break;
		case DS_DOT:
			if (c == '\r')
				*st = DS_DOT_CR;
			else if (c == '\n')
				*st = DS_END_LF;
			else {
				EMIT(c);	/* the stuffing dot is dropped */
				*st = DS_MID;
			}
			break;
		case DS_DOT_CR:
			if (c == '\n') {
				*st = DS_END;
				break;
			}
			/* qmail-smtpd keeps the dot of ".\r" not followed by "\n". */
			EMIT('.');
			EMIT('\r');
			EMIT(c);
			*st = DS_MID;
			break;
		case DS_END:
		case DS_END_LF:
			break;
		}
	}
#undef EMIT
	return i;
}

const char *
smtp_data_pending(enum smtp_data_state st)
{
	static const char *const held[] = { "", "", ".", ".\r", ".\r\n", ".\n" };

	return held[st];
}

size_t
smtp_stuff(int *at_start, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (*at_start && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		*at_start = in[i] == '\n';
	}
	return o;
}
