/* fuzz_classify.c: fuzzes the argv classifier with NUL-separated argument lists. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

#define MAX_ARGS 64

/* How much of qwrap a mode gets: everything (0), per message in a session (1), nothing (2). */
static int
rank_of(enum mode m)
{
	return m == MODE_MESSAGE ? 0 : m == MODE_SMTP ? 1 : 2;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 1];
	struct invocation inv;
	int argc = 0, rank[MTA_POSTFIX + 1];

	if (copy == NULL)
		return 0;
	memset(&inv, 0x5a, sizeof inv);	/* nothing left from the last input */
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; argc < MAX_ARGS && p <= copy + size; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	for (int mta = MTA_ANY; mta <= MTA_POSTFIX; mta++) {
		classify(argc, argv, (enum conf_mta)mta, &inv);
		if (inv.mode != MODE_MESSAGE && inv.mode != MODE_SMTP &&
		    inv.mode != MODE_QUEUE_LIST && inv.mode != MODE_OTHER)
			__builtin_trap();
		/* first_rcpt is meaningful for message mode: operands lie within argv. */
		if (inv.mode == MODE_MESSAGE && (inv.first_rcpt < 1 || inv.first_rcpt > argc))
			__builtin_trap();
		/* The sender, when any, is a piece of one of the arguments. */
		if (inv.sender != NULL && (inv.sender < copy || inv.sender > copy + size))
			__builtin_trap();
		rank[mta] = rank_of(inv.mode);
	}
	/* "any" is never less strict than an MTA it stands for: what qmail or
	 * Postfix would queue as a message, it takes for one (or a -bs session). */
	if (rank[MTA_ANY] > rank[MTA_QMAIL] || rank[MTA_ANY] > rank[MTA_POSTFIX])
		__builtin_trap();
	free(copy);
	return 0;
}
