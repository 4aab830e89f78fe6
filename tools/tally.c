/*
 * tally.c: see tally.h.  Open addressing with linear probing, FNV-1a.
 */
#include "tally.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return (size_t)h;
}

static struct tally_row *
slot(struct tally_row *rows, size_t cap, const char *key)
{
	size_t i = hash(key, strlen(key)) & (cap - 1);

	while (rows[i].key != NULL && strcmp(rows[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &rows[i];
}

static int
grow(struct tally *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct tally_row *rows = calloc(cap, sizeof *rows);

	if (rows == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->rows[i].key != NULL)
			*slot(rows, cap, t->rows[i].key) = t->rows[i];
	free(t->rows);
	t->rows = rows;
	t->cap = cap;
	return 0;
}

struct tally_row *
tally_row(struct tally *t, const char *key)
{
	struct tally_row *r;

	if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
		return NULL;
	r = slot(t->rows, t->cap, key);
	if (r->key == NULL) {
		if ((r->key = strdup(key)) == NULL)
			return NULL;
		t->n++;
	}
	return r;
}

struct tally_row *
tally_add(struct tally *t, const char *key, long messages, long recipients)
{
	struct tally_row *r = tally_row(t, key[0] ? key : "-");

	if (r != NULL) {
		r->messages += messages;
		r->recipients += recipients;
	}
	return r;
}

struct tally_row *
tally_find(const struct tally *t, const char *key)
{
	struct tally_row *r;

	if (t->cap == 0)
		return NULL;
	r = slot(t->rows, t->cap, key);
	return r->key != NULL ? r : NULL;
}

static int
larger_first(const void *a, const void *b)
{
	const struct tally_row *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	if (x->recipients != y->recipients)
		return x->recipients > y->recipients ? -1 : 1;
	return strcmp(x->key, y->key);
}

void
tally_sort(struct tally *t)
{
	size_t k = 0;

	if (t->n == 0)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->rows[i].key != NULL)
			t->rows[k++] = t->rows[i];
	memset(t->rows + k, 0, (t->cap - k) * sizeof *t->rows);
	qsort(t->rows, k, sizeof *t->rows, larger_first);
}

void
tally_free(struct tally *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->rows[i].key);
		free(t->rows[i].note);
		free(t->rows[i].marks);
	}
	free(t->rows);
	memset(t, 0, sizeof *t);
}
