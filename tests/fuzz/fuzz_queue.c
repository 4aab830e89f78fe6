/* fuzz_queue.c: libFuzzer harness for qwrap scan's queue reader (tools/queue.c): header fields, Received lines, qwrap's header, RFC 2047 words, and envelope files, read through a real queue directory. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_queue: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

static char top[PATH_MAX];

/* A field's name is one line's text before its colon; its value fits the buffer. */
static void
field(const char *name, size_t nlen, const char *v, size_t vlen, void *arg)
{
	(void)arg;
	CHECK(memchr(name, '\n', nlen) == NULL && memchr(name, ':', nlen) == NULL);
	CHECK(vlen < QUEUE_HEAD_MAX && (vlen == 0 || v[vlen - 1] != '\n'));
}

static void
put(const char *name, const uint8_t *p, size_t n)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof path, "%s/queue/%s", top, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(p, 1, n, f);
	fclose(f);
}

static void
setup(void)
{
	static const char *const dirs[] = { "queue", "queue/mess", "queue/mess/0", "queue/info",
		"queue/info/0", "queue/local", "queue/local/0", "queue/remote", "queue/remote/0",
		"queue/todo", NULL };
	char path[PATH_MAX + 64];

	snprintf(top, sizeof top, "%s/fuzzq-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	    (int)getpid());
	mkdir(top, 0700);
	for (int i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", top, dirs[i]);
		mkdir(path, 0700);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[QUEUE_TEXT_MAX];
	static struct qmsg m;
	char in[2048], err[QUEUE_ERR_MAX], qdir[PATH_MAX + 8];
	const uint8_t *parts[4] = { data, NULL, NULL, NULL };
	size_t lens[4] = { size, 0, 0, 0 };
	struct queue q;
	int k = 0, rc;

	if (top[0] == '\0')
		setup();
	/* RFC 2047 decoding of the input as a header value, into buffers of any size. */
	if (size < sizeof in) {
		memcpy(in, data, size);
		in[size] = '\0';
		for (size_t cap = 1; cap <= sizeof out; cap *= 4) {
			queue_decode_2047(in, out, cap);
			CHECK(strlen(out) < cap);
		}
	}
	queue_fields((const char *)data, size, field, NULL);

	/* Split at 0xff bytes into mess, info, remote and todo files of one message. */
	for (size_t i = 0; i < size && k < 3; i++)
		if (data[i] == 0xff) {
			lens[k] = (size_t)(data + i - parts[k]);
			parts[++k] = data + i + 1;
			lens[k] = size - i - 1;
		}
	put("mess/0/23", parts[0], lens[0]);
	if (k >= 1)
		put("info/0/23", parts[1], lens[1]);
	if (k >= 2)
		put("remote/0/23", parts[2], lens[2]);
	if (k >= 3)
		put("todo/23", parts[3], lens[3]);
	snprintf(qdir, sizeof qdir, "%s/queue", top);
	CHECK(queue_open(&q, qdir, "X-Additional-Header", err) == 0);
	while ((rc = queue_next(&q, &m, err)) == 1) {
		size_t pos = 0;
		long n = 0;
		enum rcpt_channel ch;
		const char *addr;
		int done;

		CHECK(m.id == 23);
		while (qmsg_rcpt(&m, &pos, &ch, &done, &addr))
			n++;
		CHECK(n == m.nrcpt[0] + m.nrcpt[1] + m.nrcpt[2]);
		CHECK(strlen(m.subject) < sizeof m.subject && strlen(m.sender) < sizeof m.sender);
		CHECK(strlen(m.smtp_ip) < sizeof m.smtp_ip && strlen(m.qwrap_script) <
		    sizeof m.qwrap_script);
	}
	CHECK(rc == 0);
	queue_close(&q);
	for (int i = 0; i < 3; i++) {
		static const char *const envelopes[] = { "info/0/23", "remote/0/23", "todo/23" };
		char p[PATH_MAX + 64];

		snprintf(p, sizeof p, "%s/%s", qdir, envelopes[i]);
		unlink(p);
	}
	return 0;
}
