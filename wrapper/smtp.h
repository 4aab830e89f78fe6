/*
 * smtp.h: the parts of SMTP the -bs relay must understand, with no I/O, so
 * they can be fuzzed alone: the verb and address of a command line, the
 * lines of a reply, the EHLO keywords the relay cannot pass on, and the
 * message data's dot-stuffing and end.  All input is hostile (the client's)
 * or at least unchecked (the server's); every index is bounded.
 */
#ifndef QWRAP_SMTP_H
#define QWRAP_SMTP_H

#include <stddef.h>

enum smtp_verb {
	SMTP_OTHER, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET,
	SMTP_BDAT, SMTP_STARTTLS,
};

/*
 * The verb of command line LINE (LEN bytes, its line end included or not):
 * the bytes up to the first space, tab or line end, compared without case.
 */
enum smtp_verb smtp_verb(const char *line, size_t len);

/*
 * The address of a "MAIL FROM:" or "RCPT TO:" line into ADDR (ADDRMAX bytes,
 * NUL-terminated): the text between < and >, or up to the first space when
 * there are no brackets.  0, 1 when it was cut to fit, -1 when there is none.
 */
int smtp_address(const char *line, size_t len, char *addr, size_t addrmax);

/*
 * A reply line LINE (LEN bytes up to and including its "\n"): its code (the
 * first three digits, 0 when they are not digits) and whether it is the last
 * line of its reply (anything but "ddd-").
 */
int smtp_reply_code(const char *line, size_t len, int *last);

/*
 * Rewrites the LEN bytes of the EHLO reply REPLY in place without the
 * extensions the relay cannot follow (STARTTLS, CHUNKING, BINARYMIME: after
 * them the stream is no longer lines and dot-stuffed data), keeping the
 * reply well-formed; returns the new length.
 */
size_t smtp_ehlo_filter(char *reply, size_t len);

/* Reading message data: where in a line we are, and which "." line ended it. */
enum smtp_data_state { DS_LINE_START, DS_MID, DS_DOT, DS_DOT_CR, DS_END, DS_END_LF };

#define SMTP_DATA_ENDED(st) ((st) >= DS_END)

/*
 * Reads up to N bytes of message data at IN, from state *ST, and stops after
 * the end-of-data line (".\r\n" or ".\n" at a line start; *ST becomes
 * DS_END or DS_END_LF).  When OUT is not NULL the message's bytes, without the dots that
 * stuff lines, go there, and reading stops before OUT would overflow
 * (*OUTLEN bytes used of OUTMAX).  Returns the bytes of IN read.
 */
size_t smtp_data_scan(enum smtp_data_state *st, const char *in, size_t n, char *out,
    size_t outmax, size_t *outlen);

/*
 * The raw bytes a state holds back (a line's first "." and a CR after it):
 * what must still be sent when raw forwarding takes over from OUT; and
 * for an end state, the end-of-data line as it came.
 */
const char *smtp_data_pending(enum smtp_data_state st);

/*
 * Copies the N bytes of message data at IN to OUT stuffed for the wire: a
 * "." starting a line gets a second one.  *AT_START says whether IN starts a
 * line, and is updated.  OUT needs room for 2 * N bytes; returns its length.
 */
size_t smtp_stuff(int *at_start, const char *in, size_t n, char *out);

#endif
