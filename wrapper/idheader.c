/*
 * idheader.c: the identification header (its form: qwrap-sendmail(8)).  The values come from
 * the caller (cwd, script path), so each is percent-encoded and capped; only
 * this file decides where the line breaks, and only between fields.
 */
#include "idheader.h"

#include <stdio.h>
#include <string.h>

static int
plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '%';
}

size_t
idheader_encode(const char *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0, need = 0, room;

	if (cap < IDHEADER_ENCODE_MIN) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	room = cap - 1;
	for (size_t i = 0; i < n; i++)
		need += plain((unsigned char)s[i]) ? 1 : 3;
	/* A value that does not fit whole keeps room for "..." to say it was cut. */
	if (need > room)
		room -= 3;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (k + (plain(c) ? 1 : 3) > room)
			break;
		if (plain(c))
			out[k++] = (char)c;
		else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	if (need > cap - 1) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return k;
}

size_t
idheader_build(const char *name, const enum conf_field *fields, int nfields,
    const struct idvalues *v, const char *eol, char *out)
{
	char value[IDHEADER_VALUE_MAX + 1], piece[IDHEADER_VALUE_MAX + 16];
	size_t len, col;
	int n;

	n = snprintf(out, IDHEADER_MAX, "%s:", name);
	len = col = (size_t)n;
	for (int i = 0; i < nfields; i++) {
		const char *s = NULL;
		long num = 0;
		size_t plen;

		switch (fields[i]) {
		case FIELD_ID: s = v->id; break;
		case FIELD_UID: num = v->uid; break;
		case FIELD_GID: num = v->gid; break;
		case FIELD_PID: num = v->pid; break;
		case FIELD_CWD: s = v->cwd; break;
		case FIELD_SCRIPT: s = v->script ? v->script : "none"; break;
		}
		if (fields[i] == FIELD_UID || fields[i] == FIELD_GID || fields[i] == FIELD_PID)
			snprintf(value, sizeof value, "%ld", num);
		else
			idheader_encode(s, strlen(s), value, sizeof value);
		n = snprintf(piece, sizeof piece, "%s=%s%s", conf_field_name(fields[i]),
		    value, i + 1 < nfields ? ";" : "");
		plen = (size_t)n;
		/* Fold only between fields: a break inside a value would change it. */
		if (i > 0 && col + 1 + plen > IDHEADER_FOLD) {
			if (len + strlen(eol) + 1 + plen + 3 > IDHEADER_MAX)
				break;
			len += (size_t)snprintf(out + len, IDHEADER_MAX - len, "%s ", eol);
			col = 1;
		} else {
			if (len + 1 + plen + 3 > IDHEADER_MAX)
				break;
			out[len++] = ' ';
			col++;
		}
		memcpy(out + len, piece, plen);
		len += plen;
		col += plen;
	}
	len += (size_t)snprintf(out + len, IDHEADER_MAX - len, "%s", eol);
	return len;
}
