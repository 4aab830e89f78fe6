/*
 * tally.h: messages and recipients per key, for qwrap top.  Memory grows with
 * the number of distinct keys, never with the number of records.
 */
#ifndef QWRAP_TALLY_H
#define QWRAP_TALLY_H

#include <stddef.h>

struct tally_row {
	char *key;		/* NULL: a free slot */
	long messages;
	long recipients;
	char *note;		/* the caller's, freed with the tally */
	long mark;		/* the caller's */
	unsigned *marks;	/* the caller's (top's sparkline), freed with the tally */
};

struct tally {
	struct tally_row *rows;
	size_t cap;		/* a power of two */
	size_t n;
};

/* The row of KEY, made when new; NULL when out of memory. */
struct tally_row *tally_row(struct tally *t, const char *key);

/* Adds to KEY's row ("" counts as "-", as the reports show it); NULL when out of memory. */
struct tally_row *tally_add(struct tally *t, const char *key, long messages, long recipients);

/* The row of KEY when there is one. */
struct tally_row *tally_find(const struct tally *t, const char *key);

/* Packs the rows to the front, largest first (messages, then recipients, then key). */
void tally_sort(struct tally *t);

void tally_free(struct tally *t);

#endif
