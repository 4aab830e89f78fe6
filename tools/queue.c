/*
 * queue.c: see queue.h.  The layout and formats are qmail's (qmail-queue.c,
 * qmail-send.c): mess/N/ID is the message, qmail-queue's Received line
 * first; todo/ID and intd/ID hold "u<uid>\0p<pid>\0F<sender>\0T<rcpt>\0...";
 * after preprocessing, info/N/ID holds "F<sender>\0" and local/N/ID and
 * remote/N/ID "T<rcpt>\0" each, T turned to D once done.  N is ID mod the
 * split, so the split directory a message is in names the others.
 */
#include "queue.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathclean.h"

#define ENVELOPE_MAX (64L << 20)	/* an envelope file read at most */

/*
 * Reads a regular file whole (up to MAX bytes) into *BUF; its length, or -1
 * with errno (ENOENT: gone, or never there).  Never follows a symbolic link
 * or opens a FIFO: a queue holds a FIFO (lock/trigger) that would block.
 */
static ssize_t
read_file(const char *path, char **buf, size_t *cap, size_t max, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	for (;;) {
		if (len + 1 >= *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nb;

			if (*cap >= max + 1 || (nb = realloc(*buf, ncap)) == NULL)
				break;
			*buf = nb;
			*cap = ncap;
		}
		n = read(fd, *buf + len, (*cap > max + 1 ? max + 1 : *cap) - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= max)
			break;
	}
	close(fd);
	if (*buf != NULL)
		(*buf)[len] = '\0';
	return (ssize_t)len;
}

static void
copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
add_rcpt(struct qmsg *m, enum rcpt_channel ch, int done, const char *addr, size_t n)
{
	size_t need = n + 3;

	if (m->rcptlen + need + 1 > m->rcptcap) {
		size_t ncap = (m->rcptlen + need + 1) * 2;
		char *nb = realloc(m->rcpt, ncap);

		if (nb == NULL)
			return -1;
		m->rcpt = nb;
		m->rcptcap = ncap;
	}
	m->rcpt[m->rcptlen++] = "LRP"[ch];
	m->rcpt[m->rcptlen++] = done ? 'D' : 'T';
	memcpy(m->rcpt + m->rcptlen, addr, n);
	m->rcptlen += n;
	m->rcpt[m->rcptlen++] = '\0';
	m->nrcpt[ch]++;
	m->ndone += done;
	return 0;
}

int
qmsg_rcpt(const struct qmsg *m, size_t *pos, enum rcpt_channel *ch, int *done,
    const char **addr)
{
	const char *p;

	if (*pos >= m->rcptlen)
		return 0;
	p = m->rcpt + *pos;
	*ch = p[0] == 'L' ? RCPT_LOCAL : p[0] == 'R' ? RCPT_REMOTE : RCPT_PENDING;
	*done = p[1] == 'D';
	*addr = p + 2;
	*pos += strlen(p) + 1;
	return 1;
}

/*
 * The fields of an envelope file: each "<letter><text>\0".  CH says which
 * recipients' channel it is (RCPT_PENDING for todo/intd).
 */
static int
parse_envelope(struct qmsg *m, const char *s, size_t n, enum rcpt_channel ch)
{
	const char *end = s + n;

	while (s < end) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));
		size_t len = nul ? (size_t)(nul - s) : (size_t)(end - s);

		if (len > 0) {
			switch (s[0]) {
			case 'F':
				copy(m->sender, sizeof m->sender, s + 1, len - 1);
				m->has_envelope = 1;
				break;
			case 'u':
				m->envelope_uid = strtol(s + 1, NULL, 10);
				break;
			case 'T':
			case 'D':
				if (add_rcpt(m, ch, s[0] == 'D', s + 1, len - 1) < 0)
					return -1;
				break;
			}
		}
		s += len + 1;
	}
	return 0;
}

void
queue_fields(const char *head, size_t n, void (*fn)(const char *, size_t, const char *,
    size_t, void *), void *arg)
{
	static char value[QUEUE_HEAD_MAX];
	const char *p = head, *end = head + n;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *name = p, *colon, *v;
		size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p), vlen;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0)
			return;	/* the end of the header section */
		p = eol ? eol + 1 : end;
		colon = memchr(name, ':', len);
		if (colon == NULL || name[0] == ' ' || name[0] == '\t')
			continue;	/* not a field, or a fold with no field before it */
		/* The value with its folded lines joined, without CRs. */
		vlen = len - (size_t)(colon + 1 - name);
		copy(value, sizeof value, colon + 1, vlen);
		vlen = strlen(value);
		while (p < end && (*p == ' ' || *p == '\t')) {
			const char *e2 = memchr(p, '\n', (size_t)(end - p));
			size_t l2 = e2 ? (size_t)(e2 - p) : (size_t)(end - p);

			if (l2 > 0 && p[l2 - 1] == '\r')
				l2--;
			if (vlen + l2 < sizeof value - 1) {
				memcpy(value + vlen, p, l2);
				vlen += l2;
				value[vlen] = '\0';
			}
			p = e2 ? e2 + 1 : end;
		}
		for (v = value; *v == ' ' || *v == '\t'; v++)
			;
		vlen -= (size_t)(v - value);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		fn(name, (size_t)(colon - name), v, vlen, arg);
	}
}

static int
field_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* "(qmail 25575 invoked by uid 0); 26 Nov 2026 18:40:13 -0000", as qmail-queue writes it. */
static void
qmail_received(struct qmsg *m, const char *v)
{
	static const char *const how[] = { "from network", "for bounce", "by alias", NULL };
	const char *p, *semi;
	char *e;
	long pid;

	if (strncmp(v, "(qmail ", 7) != 0 || (pid = strtol(v + 7, &e, 10)) <= 0 ||
	    strncmp(e, " invoked ", 9) != 0)
		return;
	p = e + 9;
	if (strncmp(p, "by uid ", 7) == 0 && isdigit((unsigned char)p[7])) {
		snprintf(m->invoked, sizeof m->invoked, "by uid");
		m->uid = strtol(p + 7, &e, 10);
		p = e;
	} else {
		for (int i = 0; how[i] != NULL; i++)
			if (strncmp(p, how[i], strlen(how[i])) == 0) {
				snprintf(m->invoked, sizeof m->invoked, "%s", how[i]);
				p += strlen(how[i]);
			}
		if (m->invoked[0] == '\0')
			return;
	}
	m->qq_pid = pid;
	if ((semi = strstr(p, "; ")) != NULL)
		snprintf(m->received_date, sizeof m->received_date, "%s", semi + 2);
}

/* Up to the byte STOP, into OUT; the end of what was read, or NULL when STOP is not there. */
static const char *
until(const char *p, char stop, char *out, size_t cap)
{
	const char *e = strchr(p, stop);

	if (e == NULL)
		return NULL;
	copy(out, cap, p, (size_t)(e - p));
	return e;
}

/*
 * qmail-smtpd's line: "from HOST [(HELO name)] ([INFO@]IP) by LOCAL with SMTP; DATE",
 * unfolded.  HOST is "unknown" when the client's name was not known.
 */
static void
smtp_received(struct qmsg *m, const char *v)
{
	char ipinfo[320], *at;
	const char *p;

	if (strncmp(v, "from ", 5) != 0 || strstr(v, " with SMTP") == NULL ||
	    (p = until(v + 5, ' ', m->smtp_host, sizeof m->smtp_host)) == NULL)
		return;
	p++;
	if (strncmp(p, "(HELO ", 6) == 0) {
		if ((p = until(p + 6, ')', m->smtp_helo, sizeof m->smtp_helo)) == NULL)
			return;
		p += 1 + (p[1] == ' ');
	}
	if (*p != '(' || until(p + 1, ')', ipinfo, sizeof ipinfo) == NULL)
		return;
	if ((at = strrchr(ipinfo, '@')) != NULL) {
		*at = '\0';
		snprintf(m->smtp_info, sizeof m->smtp_info, "%s", ipinfo);
		snprintf(m->smtp_ip, sizeof m->smtp_ip, "%s", at + 1);
	} else {
		snprintf(m->smtp_ip, sizeof m->smtp_ip, "%s", ipinfo);
	}
	m->smtp = 1;
}

static int
unhex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* A value of qwrap's header, percent-decoded (qwrap-sendmail(8)). */
static void
decode(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && unhex((unsigned char)s[i + 1]) >= 0 &&
		    unhex((unsigned char)s[i + 2]) >= 0) {
			out[k++] = (char)(unhex((unsigned char)s[i + 1]) << 4 |
			    unhex((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
}

/* "id=...; uid=...; cwd=...; script=..." */
static void
qwrap_header(struct qmsg *m, const char *v)
{
	char tmp[32];

	m->qwrap = 1;
	while (*v) {
		size_t len = strcspn(v, ";"), klen = strcspn(v, "=");
		const char *val = v + klen + 1;

		if (klen < len) {
			size_t vlen = len - klen - 1;

			if (klen == 2 && strncmp(v, "id", 2) == 0)
				decode(m->qwrap_id, sizeof m->qwrap_id, val, vlen);
			else if (klen == 3 && strncmp(v, "uid", 3) == 0) {
				decode(tmp, sizeof tmp, val, vlen);
				m->qwrap_uid = strtol(tmp, NULL, 10);
			} else if (klen == 3 && strncmp(v, "cwd", 3) == 0) {
				decode(m->qwrap_cwd, sizeof m->qwrap_cwd, val, vlen);
				path_clean(m->qwrap_cwd);	/* shown and matched as records are */
			} else if (klen == 6 && strncmp(v, "script", 6) == 0) {
				decode(m->qwrap_script, sizeof m->qwrap_script, val, vlen);
				path_clean(m->qwrap_script);
			}
		}
		v += len;
		v += strspn(v, "; \t");
	}
}

struct fieldctx {
	struct qmsg *m;
	const char *header_name;
	int last_was_qmail;	/* the field before was qmail-queue's Received */
};

static void
one_field(const char *name, size_t nlen, const char *v, size_t vlen, void *arg)
{
	struct fieldctx *x = arg;
	struct qmsg *m = x->m;
	char value[QUEUE_TEXT_MAX * 4];
	int was_qmail = x->last_was_qmail;

	copy(value, sizeof value, v, vlen);
	x->last_was_qmail = 0;
	if (field_is(name, nlen, "Received")) {
		/* qmail-queue's line is the first field of every message it queued. */
		if (++m->nreceived == 1) {
			qmail_received(m, value);
			x->last_was_qmail = m->invoked[0] != '\0';
		} else if (was_qmail) {
			smtp_received(m, value);
		}
	} else if (!m->qwrap && field_is(name, nlen, x->header_name)) {
		qwrap_header(m, value);
	} else if (!m->subject[0] && field_is(name, nlen, "Subject")) {
		copy(m->subject, sizeof m->subject, v, vlen);
	} else if (!m->from[0] && field_is(name, nlen, "From")) {
		copy(m->from, sizeof m->from, v, vlen);
	} else if (!m->message_id[0] && field_is(name, nlen, "Message-ID")) {
		copy(m->message_id, sizeof m->message_id, v, vlen);
	}
}

/* Scratch for the files of one message, kept between messages. */
static char *filebuf;
static size_t filecap;

/*
 * The envelope file PATH; 1 read, 0 absent.  One that cannot be read is
 * noted in M and counts as read: it is there.
 */
static int
envelope(struct qmsg *m, const char *path, enum rcpt_channel ch)
{
	struct stat st;
	ssize_t n;

	if ((n = read_file(path, &filebuf, &filecap, ENVELOPE_MAX, &st)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
	} else if (parse_envelope(m, filebuf, (size_t)n, ch) == 0) {
		return 1;
	}
	if (m->unreadable == 0)
		m->unreadable = errno;
	return 1;
}

void
qmsg_free(struct qmsg *m)
{
	free(m->rcpt);
	m->rcpt = NULL;
	m->rcptcap = m->rcptlen = 0;
}

/*
 * Where the files of one message are ("": none such).  As qmail-send has it,
 * a todo file is the envelope while it exists (a split that stopped half way
 * is done again from it), then info, local and remote; intd alone is what
 * qmail-queue was writing.
 */
struct qpaths {
	char mess[PATH_MAX], info[PATH_MAX], local[PATH_MAX], remote[PATH_MAX];
	char todo[2][PATH_MAX], intd[2][PATH_MAX];
};

/*
 * Reads message ID from the files at P.  1 done, 0 when it vanished
 * (delivered and removed while we looked: skipped).
 */
static int
load(const struct qpaths *p, const char *header_name, unsigned long id, struct qmsg *m)
{
	char *rcpt = m->rcpt;
	size_t rcptcap = m->rcptcap;
	struct fieldctx x = { m, header_name, 0 };
	struct stat st;
	ssize_t n;

	memset(m, 0, sizeof *m);
	m->rcpt = rcpt;
	m->rcptcap = rcptcap;
	m->id = id;
	m->uid = m->envelope_uid = m->qwrap_uid = m->qq_pid = -1;
	snprintf(m->path, sizeof m->path, "%s", p->mess);
	/* A file that cannot be read (not root) costs what it would have said, not the scan. */
	if ((n = read_file(m->path, &filebuf, &filecap, QUEUE_HEAD_MAX, &st)) < 0) {
		if (errno == ENOENT)
			return 0;
		m->unreadable = errno;
	} else {
		m->size = st.st_size;
		m->queued = st.st_mtime;
		queue_fields(filebuf, (size_t)n, one_field, &x);
	}

	if (envelope(m, p->todo[0], RCPT_PENDING) || envelope(m, p->todo[1], RCPT_PENDING)) {
		;
	} else if (envelope(m, p->info, RCPT_PENDING)) {
		m->preprocessed = 1;
		envelope(m, p->local, RCPT_LOCAL);
		envelope(m, p->remote, RCPT_REMOTE);
	} else if (!envelope(m, p->intd[0], RCPT_PENDING)) {
		envelope(m, p->intd[1], RCPT_PENDING);
	}
	if (m->uid < 0)
		m->uid = m->envelope_uid;
	/* Gone meanwhile (delivered): what was read may be half of it. */
	if (access(m->path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return 1;
}

/* Message ID of split directory SPLIT in queue Q. */
static int
load_queued(struct queue *q, const char *split, unsigned long id, struct qmsg *m)
{
	static struct qpaths p;

	snprintf(p.mess, sizeof p.mess, "%s/mess/%s/%lu", q->dir, split, id);
	snprintf(p.info, sizeof p.info, "%s/info/%s/%lu", q->dir, split, id);
	snprintf(p.local, sizeof p.local, "%s/local/%s/%lu", q->dir, split, id);
	snprintf(p.remote, sizeof p.remote, "%s/remote/%s/%lu", q->dir, split, id);
	/* A big-todo qmail splits todo and intd too. */
	snprintf(p.todo[0], sizeof p.todo[0], "%s/todo/%lu", q->dir, id);
	snprintf(p.todo[1], sizeof p.todo[1], "%s/todo/%s/%lu", q->dir, split, id);
	snprintf(p.intd[0], sizeof p.intd[0], "%s/intd/%lu", q->dir, id);
	snprintf(p.intd[1], sizeof p.intd[1], "%s/intd/%s/%lu", q->dir, split, id);
	if (load(&p, q->header_name, id, m) != 1)
		return 0;
	snprintf(m->split, sizeof m->split, "%s", split);
	return 1;
}

int
queue_open(struct queue *q, const char *dir, const char *header_name,
    char err[QUEUE_ERR_MAX])
{
	char path[PATH_MAX + 8];

	memset(q, 0, sizeof *q);
	snprintf(q->dir, sizeof q->dir, "%s", dir);
	q->header_name = header_name;
	snprintf(path, sizeof path, "%s/mess", dir);
	if ((q->mess = opendir(path)) == NULL) {
		snprintf(err, QUEUE_ERR_MAX, "cannot read the queue %s: %s%s", path,
		    strerror(errno), errno == EACCES ? " (run as root)" : errno == ENOENT ?
		    " (not a qmail queue? --queue names it)" : "");
		return -1;
	}
	return 0;
}

void
queue_close(struct queue *q)
{
	if (q->split != NULL)
		closedir(q->split);
	if (q->mess != NULL)
		closedir(q->mess);
	q->split = q->mess = NULL;
}

/* A name made of digits only, as every queue file and split directory has. */
static int
numeric(const char *s, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return 0;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return *end == '\0' && errno == 0;
}

int
queue_next(struct queue *q, struct qmsg *m, char err[QUEUE_ERR_MAX])
{
	char path[PATH_MAX + NAME_MAX + 8];
	struct dirent *d;
	unsigned long id;
	int rc;

	for (;;) {
		if (q->split == NULL) {
			if ((d = readdir(q->mess)) == NULL)
				return 0;
			if (!numeric(d->d_name, &id))
				continue;
			snprintf(q->split_name, sizeof q->split_name, "%s", d->d_name);
			snprintf(path, sizeof path, "%s/mess/%s", q->dir, d->d_name);
			if ((q->split = opendir(path)) == NULL) {
				if (errno == ENOENT || errno == ENOTDIR)
					continue;
				snprintf(err, QUEUE_ERR_MAX, "cannot read %s: %s", path,
				    strerror(errno));
				return -1;
			}
		}
		if ((d = readdir(q->split)) == NULL) {
			closedir(q->split);
			q->split = NULL;
			continue;
		}
		if (!numeric(d->d_name, &id))
			continue;
		if ((rc = load_queued(q, q->split_name, id, m)) != 0)
			return rc;
		q->vanished++;
	}
}

int
queue_get(struct queue *q, unsigned long id, struct qmsg *m)
{
	char split[24];
	struct dirent *d;
	unsigned long n;

	/* The split is not known here (conf-split): the directory that has the file. */
	rewinddir(q->mess);
	while ((d = readdir(q->mess)) != NULL) {
		char path[PATH_MAX + NAME_MAX + 32];
		struct stat st;

		if (!numeric(d->d_name, &n))
			continue;
		snprintf(path, sizeof path, "%s/mess/%s/%lu", q->dir, d->d_name, id);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			snprintf(split, sizeof split, "%s", d->d_name);
			return load_queued(q, split, id, m);
		}
	}
	return 0;
}

static long
count_files(const char *path, int depth)
{
	DIR *dir = opendir(path);
	struct dirent *d;
	long n = 0;

	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		char sub[PATH_MAX + NAME_MAX + 2];
		struct stat st;

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, d->d_name);
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			n++;
		else if (S_ISDIR(st.st_mode) && depth < 2)
			n += count_files(sub, depth + 1);
	}
	closedir(dir);
	return n;
}

long
queue_count(const char *dir, const char *sub)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	return count_files(path, 0);
}

static int
b64(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The encoded text of one encoded word into BYTES; its length, or -1. */
static long
word_bytes(char enc, const char *s, size_t n, char *bytes, size_t cap)
{
	size_t k = 0;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		if (enc == 'Q') {
			if (s[i] == '_')
				bytes[k++] = ' ';
			else if (s[i] == '=' && i + 2 < n && unhex((unsigned char)s[i + 1]) >= 0 &&
			    unhex((unsigned char)s[i + 2]) >= 0) {
				bytes[k++] = (char)(unhex((unsigned char)s[i + 1]) << 4 |
				    unhex((unsigned char)s[i + 2]));
				i += 2;
			} else
				bytes[k++] = s[i];
		} else if (s[i] != '=') {
			int v = b64((unsigned char)s[i]);

			if (v < 0)
				return -1;
			acc = acc << 6 | (unsigned)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				bytes[k++] = (char)(acc >> bits & 0xff);
			}
		}
	}
	return (long)k;
}

/*
 * A converter from CHARSET to UTF-8, kept: opening one loads a module, and a
 * queue of spam has the same few charsets in thousands of subjects.
 */
static iconv_t
converter(const char *charset)
{
	static struct { char name[64]; iconv_t cd; } cache[8];
	static int next;
	int i;

	/* "" would be the locale's charset; a name too long to keep, none we know. */
	if (charset[0] == '\0' || strlen(charset) >= sizeof cache[0].name)
		return (iconv_t)-1;
	for (i = 0; i < 8; i++)
		if (cache[i].name[0] && strcasecmp(cache[i].name, charset) == 0) {
			iconv(cache[i].cd, NULL, NULL, NULL, NULL);	/* back to the initial state */
			return cache[i].cd;
		}
	i = next++ % 8;
	if (cache[i].name[0])
		iconv_close(cache[i].cd);
	cache[i].name[0] = '\0';
	if ((cache[i].cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return (iconv_t)-1;
	snprintf(cache[i].name, sizeof cache[i].name, "%s", charset);
	return cache[i].cd;
}

/* BYTES in CHARSET appended to OUT as UTF-8; -1 when the charset is unknown. */
static int
to_utf8(const char *charset, char *bytes, size_t n, char *out, size_t *len, size_t cap)
{
	iconv_t cd;
	char *in = bytes, *o = out + *len;
	size_t left = cap - *len - 1;

	if (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "us-ascii") == 0) {
		if (n > left)
			n = left;
		memcpy(o, bytes, n);
		*len += n;
		return 0;
	}
	if ((cd = converter(charset)) == (iconv_t)-1)
		return -1;
	iconv(cd, &in, &n, &o, &left);
	*len = (size_t)(o - out);
	return 0;
}

/*
 * The encoded word at P ("=?charset?B?...?=" or Q) appended to OUT as UTF-8:
 * the end of the word, or NULL when P starts none that can be decoded (then
 * OUT is as it was).
 */
static const char *
decode_word(const char *p, char *out, size_t *len, size_t cap)
{
	const char *q1, *end;
	char charset[64], bytes[QUEUE_TEXT_MAX];
	long n;

	if (p[0] != '=' || p[1] != '?' || (q1 = strchr(p + 2, '?')) == NULL ||
	    strchr("BbQq", q1[1]) == NULL || q1[1] == '\0' || q1[2] != '?' ||
	    (end = strstr(q1 + 3, "?=")) == NULL || (size_t)(q1 - p - 2) >= sizeof charset)
		return NULL;
	copy(charset, sizeof charset, p + 2, (size_t)(q1 - p - 2));
	charset[strcspn(charset, "*")] = '\0';	/* RFC 2231's language */
	n = word_bytes((char)toupper((unsigned char)q1[1]), q1 + 3, (size_t)(end - q1 - 3), bytes,
	    sizeof bytes);
	if (n < 0 || to_utf8(charset, bytes, (size_t)n, out, len, cap) < 0)
		return NULL;
	return end + 2;
}

void
queue_decode_2047(const char *in, char *out, size_t cap)
{
	size_t len = 0;
	const char *p = in, *e;
	int after_word = 0;

	while (*p && len + 1 < cap) {
		if ((e = decode_word(p, out, &len, cap)) != NULL) {
			p = e;
			after_word = 1;
			continue;
		}
		/* White space between two encoded words is not text (RFC 2047, 6.2). */
		if (after_word && (*p == ' ' || *p == '\t') &&
		    (e = decode_word(p + strspn(p, " \t"), out, &len, cap)) != NULL) {
			p = e;
			continue;
		}
		after_word = 0;
		out[len++] = *p++;
	}
	out[len] = '\0';
}
