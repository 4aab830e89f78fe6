/*
 * fuzz_kproto.c: libFuzzer harness for kproto_decode, the keeper's request
 * decoder, and what the keeper does with a decoded record (wrapper/kproto.c).
 * The input is a request datagram as the worker would send it.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kproto.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_kproto: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

static int
bounded(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kreq q, again;
	static unsigned char out[KPROTO_REQ_MAX];
	static char line[RECORD_MAX + 1];
	unsigned char *copy;
	size_t n, len;

	if (size > KPROTO_REQ_MAX)
		return 0;
	/* A copy of its own size, so that a read past the end is seen. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (kproto_decode(copy, size, &q) < 0) {
		free(copy);
		return 0;
	}
	switch (q.type) {
	case KREQ_RECORD:
		/* What the keeper relies on: the id names no path, lists within their bounds. */
		CHECK(kproto_id_ok(q.rec.id) && strchr(q.rec.id, '/') == NULL);
		CHECK(q.rec.argc >= 0 && q.rec.argc <= KPROTO_LIST_MAX && q.rec.argv[q.rec.argc] == NULL);
		CHECK(q.rec.nparents >= 0 && q.rec.nparents <= RECORD_MAX_PARENTS);
		CHECK(q.rec.nenv >= 0 && q.rec.nenv <= KPROTO_ENV_MAX);
		CHECK(q.rec.rcpt == NULL || q.rec.nrcpt <= KPROTO_LIST_MAX);
		CHECK(bounded(q.rec.cwd, RECORD_STR_CUT + 4) && bounded(q.rec.error, RECORD_STR_CUT + 4));
		/* The keeper's encoding: one printable line, within RECORD_MAX. */
		len = record_encode(&q.rec, line);
		CHECK(len > 1 && len <= RECORD_MAX && line[len - 1] == '\n');
		for (size_t i = 0; i + 1 < len; i++)
			CHECK((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
		/* Sent again as the worker would, it decodes to the same. */
		n = kproto_record(out, &q.rec);
		CHECK(n > 0 && kproto_decode(out, n, &again) == 0);
		CHECK(again.rec.argc == q.rec.argc && again.rec.nparents == q.rec.nparents &&
		    strcmp(again.rec.id, q.rec.id) == 0 && strcmp(again.rec.action, q.rec.action) == 0);
		break;
	case KREQ_LIMITS:
		CHECK(q.recipients >= 0 && q.recipients <= LONG_MAX / 2 && q.cwd != NULL && bounded(q.cwd, PATH_MAX));
		break;
	case KREQ_HOLD_OPEN:
		CHECK(q.nhold_rcpt >= 0 && q.nhold_rcpt <= KPROTO_RCPT_MAX);
		for (int i = 0; i < q.nhold_rcpt; i++)
			CHECK(q.hold_rcpt[i] != NULL && strlen(q.hold_rcpt[i]) <= KPROTO_ADDR_MAX);
		if (q.sender != NULL) {
			n = kproto_hold_open(out, q.cwd, q.script, q.script_from, q.sender,
			    (char *const *)q.hold_rcpt, q.nhold_rcpt);
			CHECK(n == 0 || kproto_decode(out, n, &again) == 0);
		}
		break;
	default:
		CHECK(q.type >= KREQ_HOLD_COMMIT && q.type <= KREQ_HOLD_ABORT && size == 4);
	}
	free(copy);
	return 0;
}
