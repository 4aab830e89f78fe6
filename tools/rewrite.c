/* rewrite.c: see rewrite.h. */
#include "rewrite.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * TEXT[0..N) as qmail reads a control file (control.c): a copy with a NUL
 * for each newline, trailing blanks cut, a comment line ("#") emptied.
 */
static char *
lines(const char *text, size_t n)
{
	char *buf = malloc(n + 1);
	size_t start = 0;

	if (buf == NULL)
		return NULL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (i < n && buf[i] != '\n')
			continue;
		buf[i] = '\0';
		for (size_t j = i; j > start && (buf[j - 1] == ' ' || buf[j - 1] == '\t'); j--)
			buf[j - 1] = '\0';
		if (buf[start] == '#')
			buf[start] = '\0';
		start = i + 1;
	}
	return buf;
}

static char *
read_control(const char *qmail, const char *name, size_t *len)
{
	char path[PATH_MAX + 64], *text = NULL, *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/control/%s", qmail, name);
	*len = 0;
	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	/* The whole file: a control file has no NUL (one that has ends there). */
	if ((n = getdelim(&text, &cap, '\0', f)) > 0) {
		*len = strnlen(text, (size_t)n);
		buf = lines(text, *len);
		if (buf == NULL)
			*len = 0;
	}
	free(text);
	fclose(f);
	return buf;
}

void
rewrite_load(const char *qmail, struct rewrite *r)
{
	r->vdoms = read_control(qmail, "virtualdomains", &r->vlen);
	r->locals = read_control(qmail, "locals", &r->llen);
	/* Without control/locals, qmail takes control/me as the one local domain. */
	if (r->locals == NULL)
		r->locals = read_control(qmail, "me", &r->llen);
}

int
rewrite_set(struct rewrite *r, const char *vdoms, size_t vlen, const char *locals, size_t llen)
{
	r->vlen = vlen;
	r->llen = llen;
	r->vdoms = lines(vdoms, vlen);
	r->locals = lines(locals, llen);
	return r->vdoms != NULL && r->locals != NULL ? 0 : -1;
}

void
rewrite_free(struct rewrite *r)
{
	free(r->vdoms);
	free(r->locals);
	r->vdoms = r->locals = NULL;
}

/* Each line of TEXT (N bytes, lines NUL-ended) that is not empty, one per call: L starts NULL. */
static const char *
next_line(const char *text, size_t n, const char *l)
{
	if (text == NULL)
		return NULL;
	for (l = l == NULL ? text : l + strlen(l) + 1; l < text + n; l += strlen(l) + 1)
		if (l[0] != '\0')
			return l;
	return NULL;
}

const char *
rewrite_prefix(const struct rewrite *r, const char *addr)
{
	const char *at = strrchr(addr, '@'), *l = NULL;
	size_t len = strlen(addr), a = at == NULL ? len : (size_t)(at - addr);

	/* qmail-send looks at locals first: a local domain is never rewritten. */
	while (at != NULL && (l = next_line(r->locals, r->llen, l)) != NULL)
		if (strcasecmp(l, at + 1) == 0)
			return NULL;
	/*
	 * Then virtualdomains: the whole address, its domain, each parent domain
	 * (.x.y), "".  Of two lines with one key the last counts, as in qmail's
	 * constmap, which puts each new entry first.
	 */
	for (size_t i = 0; i <= len; i++) {
		const char *found = NULL;

		if (!(i == 0 || i == a + 1 || i == len || (i > a && addr[i] == '.')))
			continue;
		for (l = NULL; (l = next_line(r->vdoms, r->vlen, l)) != NULL;) {
			const char *colon = strchr(l, ':');

			if (colon != NULL && (size_t)(colon - l) == len - i &&
			    strncasecmp(l, addr + i, len - i) == 0)
				found = colon + 1;
		}
		if (found != NULL)
			return found[0] ? found : NULL;
	}
	return NULL;
}

const char *
rewrite_undo(const struct rewrite *r, const char *addr)
{
	const char *l = NULL;

	while ((l = next_line(r->vdoms, r->vlen, l)) != NULL) {
		const char *colon = strchr(l, ':'), *p, *orig, *again;
		size_t k;

		if (colon == NULL || colon[1] == '\0')
			continue;
		p = colon + 1;
		k = strlen(p);
		if (strncmp(addr, p, k) != 0 || addr[k] != '-')
			continue;
		orig = addr + k + 1;
		if ((again = rewrite_prefix(r, orig)) != NULL && strcmp(again, p) == 0)
			return orig;
	}
	return addr;
}
