/*
 * idheader.h: build the identification header line that goes first in the
 * message.  Pure; every value is encoded so it can never start a new header
 * line or carry a control byte.
 */
#ifndef QWRAP_IDHEADER_H
#define QWRAP_IDHEADER_H

#include <stddef.h>

#include "config.h"

#define IDHEADER_MAX 4096	/* the whole field, folded */
#define IDHEADER_VALUE_MAX 900	/* one encoded value, so a line stays under 998 */
#define IDHEADER_FOLD 78
#define IDHEADER_ENCODE_MIN 4	/* smallest cap: room for "..." and the NUL */

struct idvalues {
	const char *id;
	long uid, gid, pid;
	const char *cwd;
	const char *script;	/* NULL: "none" */
};

/*
 * Percent-encodes S[0..N) into OUT (CAP bytes, NUL-terminated): every byte
 * outside '!'..'~', and ';' and '%', becomes %XX.  A value that does not fit
 * is cut at a whole escape and ends in "...".  Returns the length; a CAP
 * below IDHEADER_ENCODE_MIN gives an empty string.
 */
size_t idheader_encode(const char *s, size_t n, char *out, size_t cap);

/*
 * Writes "NAME: f1=v1; f2=v2..." followed by EOL ("\n" or "\r\n") into OUT,
 * folded before a field that would pass column IDHEADER_FOLD.  Returns the
 * length (OUT holds at least IDHEADER_MAX bytes).
 */
size_t idheader_build(const char *name, const enum conf_field *fields, int nfields,
    const struct idvalues *v, const char *eol, char *out);

#endif
