/*
 * number.h: strict integers from text (state files, envelopes, options).
 * strtoll alone accepts leading space, a sign, trailing junk and overflow.
 */
#ifndef QWRAP_NUMBER_H
#define QWRAP_NUMBER_H

/* The whole of S as an integer in BASE: 0, or -1 when S is empty, has more after it, or does not fit. */
int number_parse(const char *s, int base, long long *out);

/* A count a person typed: decimal digits only (no sign, no space), fitting a long; 0 or -1. */
int number_count(const char *s, long *out);

#endif
