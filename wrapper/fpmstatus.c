/*
 * fpmstatus.c: a FastCGI client just big enough for php-fpm's status page,
 * and a reader of its "full" JSON, one byte stream at a time, bounded.
 */
#include "fpmstatus.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "iofull.h"

enum { FCGI_BEGIN_REQUEST = 1, FCGI_END_REQUEST = 3, FCGI_PARAMS = 4, FCGI_STDIN = 5,
	FCGI_STDOUT = 6 };

void
fpm_reader_init(struct fpm_reader *r, long pid)
{
	memset(r, 0, sizeof *r);
	r->pid = pid;
	r->cur_pid = -1;
}

/* No control bytes: a path php-fpm wrote, not a torn or hostile line. */
static int
printable(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/* A string just ended, and C follows it: a member's name, or a value. */
static void
string_then(struct fpm_reader *r, int c)
{
	r->str_done = 0;
	r->str[r->strlen_ < sizeof r->str ? r->strlen_ : sizeof r->str - 1] = '\0';
	if (c == ':') {
		/* Only short names matter ("pid", "script"): a longer one is none of them. */
		if (r->strlen_ < sizeof r->key)
			memcpy(r->key, r->str, r->strlen_ + 1);
		else
			r->key[0] = '\0';
		return;
	}
	/*
	 * php-fpm keeps a script's path in 256 bytes: one that fills them may
	 * have been cut, to a file of the sender's choosing.
	 */
	if (r->depth == 3 && strcmp(r->key, "script") == 0 && !r->bad &&
	    r->strlen_ < FPM_SCRIPT_MAX && r->str[0] == '/' && printable(r->str))
		memcpy(r->cur_script, r->str, r->strlen_ + 1);
	/* The worker's script is its current request's only while it runs one. */
	if (r->depth == 3 && strcmp(r->key, "state") == 0)
		r->cur_running = !r->bad && (strcmp(r->str, "Running") == 0 ||
		    strcmp(r->str, "Finishing") == 0);
	r->key[0] = '\0';
}

static void
json_byte(struct fpm_reader *r, int c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";

	if (r->in_str) {
		if (r->esc) {
			/* \uXXXX is not a byte of a path we can check: the value is refused. */
			const char *k = strchr(from, c);

			r->esc = 0;
			if (k == NULL || c == '\0')
				r->bad = 1;
			else
				c = to[k - from];
		} else if (c == '\\') {
			r->esc = 1;
			return;
		} else if (c == '"') {
			r->in_str = 0;
			r->str_done = 1;
			return;
		}
		if (r->strlen_ + 1 < sizeof r->str)
			r->str[r->strlen_] = (char)c;
		r->strlen_++;
		return;
	}
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return;
	if (r->in_num && !(c >= '0' && c <= '9')) {
		r->in_num = 0;
		if (r->depth == 3 && strcmp(r->key, "pid") == 0)
			r->cur_pid = r->num;
		r->key[0] = '\0';
	}
	if (r->str_done)
		string_then(r, c);
	switch (c) {
	case '"':
		r->in_str = 1;
		r->bad = 0;
		r->strlen_ = 0;
		break;
	case '{':
	case '[':
		if (++r->depth == 3 && c == '{') {
			r->cur_pid = -1;
			r->cur_running = 0;
			r->cur_script[0] = '\0';
		}
		break;
	case '}':
	case ']':
		/* The end of a worker's object: was it ours? */
		if (r->depth == 3 && c == '}' && r->cur_pid == r->pid && r->cur_running &&
		    r->cur_script[0])
			memcpy(r->script, r->cur_script, strlen(r->cur_script) + 1);
		r->depth--;
		r->key[0] = '\0';
		break;
	default:
		if (c >= '0' && c <= '9') {
			if (!r->in_num)
				r->num = 0;
			r->in_num = 1;
			if (r->num < 100000000)
				r->num = r->num * 10 + (c - '0');
		} else if (c != ':' && c != ',')
			r->key[0] = '\0';	/* true, false, null, a sign or a dot */
	}
}

static void
page_bytes(struct fpm_reader *r, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && r->script[0] == '\0'; i++) {
		if (r->body) {
			json_byte(r, p[i]);
			continue;
		}
		/* The headers end at an empty line. */
		if (p[i] == '\n') {
			r->body = r->linelen == 0;
			r->linelen = 0;
		} else if (p[i] != '\r')
			r->linelen = -1;
	}
}

int
fpm_reader_feed(struct fpm_reader *r, const unsigned char *p, size_t n)
{
	while (n > 0 && r->script[0] == '\0' && !r->ended) {
		size_t k;

		if (r->content == 0 && r->padding == 0 && r->headlen < sizeof r->head) {
			r->head[r->headlen++] = *p++;
			n--;
			if (r->headlen == sizeof r->head) {
				r->type = r->head[1];
				r->content = (size_t)r->head[4] << 8 | r->head[5];
				r->padding = r->head[6];
				r->ended = r->type == FCGI_END_REQUEST;
			}
			continue;
		}
		if (r->content > 0) {
			k = n < r->content ? n : r->content;
			if (r->type == FCGI_STDOUT)
				page_bytes(r, p, k);
			r->content -= k;
		} else {
			k = n < r->padding ? n : r->padding;
			r->padding -= k;
		}
		p += k;
		n -= k;
		if (r->content == 0 && r->padding == 0)
			r->headlen = 0;
	}
	return r->script[0] != '\0';
}

static size_t
put_len(unsigned char *o, size_t n)
{
	if (n < 128) {
		o[0] = (unsigned char)n;
		return 1;
	}
	o[0] = (unsigned char)(n >> 24 | 0x80);
	o[1] = (unsigned char)(n >> 16);
	o[2] = (unsigned char)(n >> 8);
	o[3] = (unsigned char)n;
	return 4;
}

static size_t
put_pair(unsigned char *o, const char *name, const char *value)
{
	size_t a = strlen(name), b = strlen(value), n = 0;

	n += put_len(o + n, a);
	n += put_len(o + n, b);
	memcpy(o + n, name, a);
	memcpy(o + n + a, value, b);
	return n + a + b;
}

static size_t
put_header(unsigned char *o, int type, size_t len)
{
	const unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8),
	    (unsigned char)len, 0, 0 };

	memcpy(o, h, sizeof h);
	return sizeof h;
}

size_t
fpm_request(const char *path, unsigned char out[FPM_REQUEST_MAX])
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };	/* a responder */
	char uri[CONF_FPM_PATH_MAX + sizeof "?full&json"];
	size_t n = 0, params;

	/* Three copies of the path and what surrounds them: well within the request. */
	_Static_assert(3 * CONF_FPM_PATH_MAX + 256 <= FPM_REQUEST_MAX, "FPM_REQUEST_MAX too small");
	if (path[0] != '/' || strlen(path) > CONF_FPM_PATH_MAX)
		return 0;
	snprintf(uri, sizeof uri, "%s?full&json", path);
	n += put_header(out + n, FCGI_BEGIN_REQUEST, sizeof begin);
	memcpy(out + n, begin, sizeof begin);
	n += sizeof begin;
	params = n;
	n += 8;
	n += put_pair(out + n, "SCRIPT_NAME", path);
	n += put_pair(out + n, "SCRIPT_FILENAME", path);
	n += put_pair(out + n, "QUERY_STRING", "full&json");
	n += put_pair(out + n, "REQUEST_METHOD", "GET");
	n += put_pair(out + n, "REQUEST_URI", uri);
	put_header(out + params, FCGI_PARAMS, n - params - 8);
	n += put_header(out + n, FCGI_PARAMS, 0);
	n += put_header(out + n, FCGI_STDIN, 0);
	return n;
}

/* Waits for EVENTS on FD until END (clock_ms): 1 ready, 0 not in time or failed. */
static int
wait_for(int fd, short events, long long end)
{
	struct pollfd pf = { fd, events, 0 };
	long long left;

	while ((left = end - clock_ms()) > 0) {
		int r = poll(&pf, 1, (int)left);

		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
	return 0;
}

int
fpm_status_script(const char *socket_path, const char *path, long pid, char out[PATH_MAX])
{
	static struct fpm_reader r;
	unsigned char req[FPM_REQUEST_MAX], buf[16384];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = clock_ms() + FPM_STATUS_MS;
	struct ucred peer;
	socklen_t peerlen = sizeof peer;
	size_t len = fpm_request(path, req), sent = 0;
	int fd, found = 0;

	if (len == 0 || strlen(socket_path) >= sizeof sa.sun_path)
		return 0;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
	    (errno != EINPROGRESS && errno != EAGAIN))
		goto out;
	/* Only the php-fpm master (root) answers for a pool: not a socket the sender bound. */
	if (!wait_for(fd, POLLOUT, end) || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer,
	    &peerlen) < 0 || peer.uid != 0)
		goto out;
	while (sent < len) {
		ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

		if (w > 0)
			sent += (size_t)w;
		else if ((w < 0 && errno != EINTR && errno != EAGAIN) || !wait_for(fd, POLLOUT, end))
			goto out;
	}
	fpm_reader_init(&r, pid);
	while (!found && !r.ended && wait_for(fd, POLLIN, end)) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (n > 0)
			found = fpm_reader_feed(&r, buf, (size_t)n);
	}
	if (found)
		memcpy(out, r.script, strlen(r.script) + 1);
out:
	close(fd);
	return found;
}
