/* hold.c: a held message, written by the worker (hold.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hold.h"
#include "iofull.h"

#define COPY_CHUNK 65536

int
hold_write(struct hold *h, const void *p, size_t n, char err[SPOOL_ERR_MAX])
{
	if (write_full(h->fd, p, n) < 0) {
		/* EPIPE: the keeper stopped taking it, and says why when asked. */
		snprintf(err, SPOOL_ERR_MAX, "cannot write the held message: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
hold_close(struct hold *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

struct sink {
	struct hold *h;
	char *err;
};

static int
to_hold(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	return hold_write(s->h, p, n, s->err);
}

int
hold_stream(struct hold *h, const char *hdr, size_t hdrlen, const struct message *m,
    const struct msgfields *f, const char *ourname, char err[SPOOL_ERR_MAX])
{
	static char buf[COPY_CHUNK];
	struct sink s = { h, err };
	struct msgtail t;
	ssize_t n;
	int r;

	if (hold_write(h, hdr, hdrlen, err) < 0 ||
	    message_write_to(to_hold, &s, m, f, ourname, &t) < 0)
		return -1;
	if ((r = msgtail_copy(&t, 0, to_hold, &s)) == -2)
		goto unreadable;
	if (r < 0)
		return -1;
	/* The rest of stdin, a buffer at a time. */
	while (r == 0 && !m->eof && (n = read(0, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto unreadable;
		if (hold_write(h, buf, (size_t)n, err) < 0)
			return -1;
	}
	return 0;
unreadable:
	snprintf(err, SPOOL_ERR_MAX, "cannot read the message: %s", strerror(errno));
	return -1;
}
