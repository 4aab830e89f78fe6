/* standin: a recording stand-in for qmail's /var/qmail/bin/sendmail. It parses options exactly like
 * qmail's sendmail and records argv, stdin and the process state it inherited for qwrap's tests.
 * With -bs it speaks SMTP like qmail-smtpd and also records each message it accepts; it takes
 * bare LF in the data as most MTAs do, unless STANDIN_SMTP_QMAIL=1 asks for qmail-smtpd's own
 * reading (read_data_qmail). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_MESSAGE, MODE_SMTP, MODE_QUEUE, MODE_USAGE };

static const char *const mode_names[] = { "message", "smtp", "queue-list", "usage" };

#define BUFSIZE 65536
static char iobuf[BUFSIZE];

/* ---- small helpers ------------------------------------------------------------------------ */

static int write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void err_puts(const char *s)
{
	/* Nowhere left to report a failing stderr; the exit status still tells the story. */
	(void)write_all(2, s, strlen(s));
}

static _Noreturn void die(const char *msg)
{
	err_puts("standin: fatal: ");
	err_puts(msg);
	err_puts("\n");
	_exit(111);
}

static _Noreturn void die_sys(const char *what)
{
	const char *e = strerror(errno);

	err_puts("standin: fatal: ");
	err_puts(what);
	err_puts(": ");
	err_puts(e);
	err_puts("\n");
	_exit(111);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die("out of memory");
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die("out of memory");
	return d;
}

/* Strict unsigned decimal; no sign, no spaces, no trailing junk. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; ++s) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* ---- growable string buffer (for argv and info.json) -------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *b, const void *s, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		die("out of memory");
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2)
				die("out of memory");
			cap *= 2;
		}
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_ll(struct sb *b, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);

	if (n < 0 || (size_t)n >= sizeof tmp)
		die("snprintf failed");
	sb_add(b, tmp, (size_t)n);
}

/* JSON string; every byte outside printable ASCII becomes \u00XX so the output is always valid. */
static void sb_json_str(struct sb *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	sb_add(b, "\"", 1);
	for (; *s; ++s) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			sb_add(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sb_add(b, e, 6);
		} else {
			sb_add(b, s, 1);
		}
	}
	sb_add(b, "\"", 1);
}

static void sb_key(struct sb *b, const char *key)
{
	if (b->len > 1)
		sb_add(b, ",", 1);
	sb_json_str(b, key);
	sb_add(b, ":", 1);
}

/* ---- state captured at start ---------------------------------------------------------------- */

struct fdent {
	int fd;
	char *target;
};

static struct fdent *fds;
static size_t nfds;

static char *readlink_str(const char *path)
{
	static char buf[PATH_MAX + 1];
	ssize_t n = readlink(path, buf, sizeof buf - 1);

	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

static void add_fd(int fd)
{
	char path[64];
	const char *t;
	int n = snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	if (n < 0 || (size_t)n >= sizeof path)
		die("snprintf failed");
	t = readlink_str(path);
	fds = xrealloc(fds, (nfds + 1) * sizeof *fds);
	fds[nfds].fd = fd;
	fds[nfds].target = xstrdup(t ? t : "");
	++nfds;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct fdent *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Must run before anything else opens a file, so the list is exactly what the caller left open. */
static void capture_fds(void)
{
	DIR *d = opendir("/proc/self/fd");

	if (!d) {
		int fd;
		/* A hostile RLIMIT_NOFILE can leave no slot for the directory: probe one by one. */
		if (errno != EMFILE && errno != ENFILE)
			die_sys("unable to open /proc/self/fd");
		for (fd = 0; fd < 65536; ++fd)
			if (fcntl(fd, F_GETFD) != -1)
				add_fd(fd);
		return;
	}
	int self = dirfd(d);
	if (self < 0)
		die_sys("dirfd");
	for (;;) {
		struct dirent *de;
		unsigned long v;
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				die_sys("unable to read /proc/self/fd");
			break;
		}
		if (parse_uint(de->d_name, INT_MAX, &v) < 0 || (int)v == self)
			continue;
		add_fd((int)v);
	}
	if (closedir(d) < 0)
		die_sys("closedir");
	qsort(fds, nfds, sizeof *fds, cmp_fd);
}

static int fd_was_open(int fd)
{
	size_t i;

	for (i = 0; i < nfds; ++i)
		if (fds[i].fd == fd)
			return 1;
	return 0;
}

/* Park an O_PATH descriptor on a closed 0/1/2 so our own files cannot land there; reads and
 * writes on an O_PATH fd still fail with EBADF, just as on the closed fd. */
static void guard_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; ++fd) {
		int n;
		if (fd_was_open(fd))
			continue;
		n = open("/dev/null", O_PATH | O_CLOEXEC);
		if (n < 0)
			die_sys("unable to open /dev/null");
		if (n != fd) {
			if (dup3(n, fd, O_CLOEXEC) < 0)
				die_sys("dup3");
			if (close(n) < 0)
				die_sys("close");
		}
	}
}

static int have_umask;
static long umask_val;
static char *sigblk, *sigign;

static char *status_field(char *status, const char *name)
{
	size_t nl = strlen(name);
	char *line = status;

	while (line && *line) {
		char *end = strchr(line, '\n');
		if (!strncmp(line, name, nl) && line[nl] == ':') {
			char *v = line + nl + 1;
			size_t len;
			while (*v == ' ' || *v == '\t')
				++v;
			len = end ? (size_t)(end - v) : strlen(v);
			char *r = xrealloc(NULL, len + 1);
			memcpy(r, v, len);
			r[len] = 0;
			return r;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Reading Umask: from /proc is the only way to learn the umask without changing it. */
static void capture_status(void)
{
	static char buf[16384];
	size_t len = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	char *u;

	if (fd < 0)
		die_sys("unable to open /proc/self/status");
	for (;;) {
		ssize_t r;
		if (len >= sizeof buf - 1)
			die("/proc/self/status too large");
		r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die_sys("unable to read /proc/self/status");
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	if (close(fd) < 0)
		die_sys("close");

	u = status_field(buf, "Umask");
	if (u) {
		char *end;
		errno = 0;
		umask_val = strtol(u, &end, 8);
		have_umask = !errno && end != u && !*end;
		free(u);
	}
	sigblk = status_field(buf, "SigBlk");
	sigign = status_field(buf, "SigIgn");
}

/* ---- qmail sendmail's option parsing (DJB subgetopt + sendmail.c) ----------------------------- */

static const char optstring[] = "vimte:f:p:o:B:F:EJxb:";
static const char usage_line[] =
	"sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]\n";

static void opt_problem(const char *what, char c)
{
	char s[2] = { c, '\n' };

	err_puts("sendmail: ");
	err_puts(what);
	(void)write_all(2, s, 2); /* as err_puts: nowhere to report a failing stderr */
	err_puts(usage_line);
}

static enum mode parse_args(int argc, char **argv)
{
	const char *prog = (argc > 0 && argv[0]) ? argv[0] : "";
	const char *p;
	int ind = 1, pos = 0;

	for (p = prog; *p; ++p)
		if (*p == '/')
			prog = p + 1;

	for (;;) {
		const char *s;
		const char *arg = NULL;
		char c;

		if (ind >= argc || !argv[ind])
			break;
		if (pos && !argv[ind][pos]) {
			++ind;
			pos = 0;
			if (ind >= argc || !argv[ind])
				break;
		}
		if (!pos) {
			if (argv[ind][0] != '-')
				break;
			pos = 1;
			c = argv[ind][1];
			/* "-" stays as an operand; any word starting "--" ends options and is consumed. */
			if (c == '-' || c == 0) {
				if (c)
					++ind;
				break;
			}
		}
		c = argv[ind][pos++];
		for (s = optstring; *s; ++s) {
			if (c == *s)
				break;
			if (s[1] == ':')
				++s;
		}
		if (!*s) {
			opt_problem("illegal option -- ", c);
			return MODE_USAGE;
		}
		if (s[1] == ':') {
			arg = argv[ind] + pos;
			++ind;
			pos = 0;
			if (!*arg) {
				if (ind >= argc || !argv[ind]) {
					opt_problem("option requires an argument -- ", c);
					return MODE_USAGE;
				}
				arg = argv[ind++];
			}
		}
		switch (c) {
		case 'E':
		case 'J':
			/* optional argument glued to the option: skip the rest of the word */
			pos += (int)strlen(argv[ind] + pos);
			break;
		case 'b':
			switch (arg[0]) {
			case 'm':
				break;
			case 'p':
				return MODE_QUEUE;
			case 's':
				return MODE_SMTP;
			default:
				err_puts(usage_line);
				return MODE_USAGE;
			}
			break;
		default:
			break; /* everything else is accepted and ignored */
		}
	}

	if (!strcmp(prog, "mailq"))
		return MODE_QUEUE;
	if (!strcmp(prog, "newaliases")) {
		err_puts("sendmail: fatal: please use fastforward/newaliases instead\n");
		return MODE_USAGE;
	}
	return MODE_MESSAGE;
}

/* ---- recording ------------------------------------------------------------------------------ */

static int open_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die_sys(name);
	/* a hostile umask must not make the record unreadable */
	if (fchmod(fd, 0644) < 0)
		die_sys("fchmod");
	return fd;
}

static void write_file(int dirfd, const char *name, const void *p, size_t n)
{
	int fd = open_file(dirfd, name);

	if (write_all(fd, p, n) < 0)
		die_sys(name);
	if (close(fd) < 0)
		die_sys(name);
}

/* A new unique directory per invocation; pid + time + counter keeps concurrent runs apart. */
static int make_record_dir(const char *base)
{
	struct sb path = { 0 };
	unsigned counter;
	int fd;

	for (counter = 0;; ++counter) {
		struct timespec ts;
		char name[96];
		int n;

		if (counter >= 10000)
			die("unable to create a unique record directory");
		if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
			die_sys("clock_gettime");
		n = snprintf(name, sizeof name, "/%ld.%llu.%u", (long)getpid(),
			     (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec,
			     counter);
		if (n < 0 || (size_t)n >= sizeof name)
			die("snprintf failed");
		path.len = 0;
		sb_puts(&path, base);
		sb_puts(&path, name);
		if (mkdir(path.p, 0755) == 0)
			break;
		if (errno != EEXIST)
			die_sys("unable to create record directory");
	}
	/* chmod by path first: under umask 0777 the new directory could not even be opened */
	if (chmod(path.p, 0755) < 0)
		die_sys("chmod record directory");
	fd = open(path.p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die_sys("unable to open record directory");
	free(path.p);
	return fd;
}

static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			die_sys("poll");
}

/* Streams stdin to out (or discards it when out < 0) in constant memory.
 * Returns 0, or -1 on a read error (the count so far stays valid). */
static int copy_stdin(int out, unsigned long long *total)
{
	for (;;) {
		ssize_t r = read(0, iobuf, sizeof iobuf);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* a caller may hand us a non-blocking descriptor */
				wait_readable(0);
				continue;
			}
			return -1;
		}
		*total += (unsigned long long)r;
		if (out >= 0 && write_all(out, iobuf, (size_t)r) < 0)
			die_sys("unable to write stdin record");
	}
}

/* ---- SMTP (-bs): a small qmail-smtpd ------------------------------------------------------ */

/* qmail's sendmail -bs answers "451 qq waitpid surprise" after queueing when its caller left
 * SIGCHLD ignored; main() captures the inherited disposition before anything can touch it. */
static int sigchld_ignored;
static unsigned long smtp_close_after; /* STANDIN_SMTP_CLOSE_AFTER; 0 = never */

enum smtp_end { SMTP_DONE, SMTP_CUT, SMTP_STRAY_LF, SMTP_READ_FAILED, SMTP_WRITE_FAILED };

struct smtp {
	int rec;			/* record directory, -1 in sink mode */
	int tee;			/* the "stdin" record, -1 in sink mode */
	unsigned long long *stdin_bytes;
	size_t pos, len;		/* the unread part of iobuf */
	int eof, read_failed, write_failed;
	struct sb out;			/* replies not yet written */
	struct sb line;			/* the current command line */
	struct sb log;			/* smtp.json entries written so far */
	int seenmail;
	struct sb from, rcpts;		/* the transaction; rcpts as JSON strings joined by ',' */
	unsigned long nrcpt, messages, commands;
};

static void sb_reset(struct sb *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = 0;
}

static void reply(struct smtp *s, const char *text)
{
	sb_puts(&s->out, text);
}

static int flush_replies(struct smtp *s)
{
	if (s->write_failed)
		return -1;
	if (s->out.len && write_all(1, s->out.p, s->out.len) < 0) {
		s->write_failed = 1;
		return -1;
	}
	sb_reset(&s->out);
	return 0;
}

/* Refills iobuf, teeing every byte into the stdin record. Replies are flushed first: a
 * pipelining client waits for them before it sends more, so holding them would deadlock.
 * Returns 0 at EOF and after any I/O failure, which ends the session just the same. */
static size_t fill(struct smtp *s)
{
	ssize_t r;

	if (s->eof)
		return 0;
	if (flush_replies(s) < 0) {
		s->eof = 1;
		return 0;
	}
	for (;;) {
		r = read(0, iobuf, sizeof iobuf);
		if (r >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			wait_readable(0); /* a caller may hand us a non-blocking descriptor */
			continue;
		}
		s->read_failed = 1;
		s->eof = 1;
		return 0;
	}
	if (r == 0) {
		s->eof = 1;
		return 0;
	}
	*s->stdin_bytes += (unsigned long long)r;
	if (s->tee >= 0 && write_all(s->tee, iobuf, (size_t)r) < 0)
		die_sys("unable to write stdin record");
	s->pos = 0;
	s->len = (size_t)r;
	return (size_t)r;
}

/* One command line without its "\n" and one "\r", as qmail's commands.c reads it.
 * Returns -1 at EOF; like qmail, an unterminated last line is ignored. */
static int get_line(struct smtp *s)
{
	sb_reset(&s->line);
	sb_add(&s->line, "", 0); /* never NULL, even for an empty line */
	for (;;) {
		const char *p, *nl;
		size_t n;

		if (s->pos == s->len && !fill(s))
			return -1;
		p = iobuf + s->pos;
		nl = memchr(p, '\n', s->len - s->pos);
		n = nl ? (size_t)(nl - p) : s->len - s->pos;
		sb_add(&s->line, p, n);
		s->pos += n + (nl != NULL);
		if (nl)
			break;
	}
	if (s->line.len && s->line.p[s->line.len - 1] == '\r')
		s->line.p[--s->line.len] = 0;
	return 0;
}

/* qmail-smtpd's addrparse: the address inside <...>, else the word after ':'; a source route
 * is dropped, quotes and backslashes are removed, anything after the address is ignored. */
static int addr_parse(const char *arg, struct sb *addr)
{
	char terminator = '>';
	const char *lt = strchr(arg, '<');
	int esc = 0, quoted = 0;

	if (lt) {
		arg = lt + 1;
	} else {
		terminator = ' ';
		arg += strcspn(arg, ":");
		if (*arg == ':')
			++arg;
		while (*arg == ' ')
			++arg;
	}
	if (*arg == '@')
		while (*arg)
			if (*arg++ == ':')
				break;
	sb_reset(addr);
	sb_add(addr, "", 0);
	for (; *arg; ++arg) {
		if (esc) {
			sb_add(addr, arg, 1);
			esc = 0;
		} else if (*arg == terminator && !quoted) {
			break;
		} else if (*arg == '\\') {
			esc = 1;
		} else if (*arg == '"') {
			quoted = !quoted;
		} else {
			sb_add(addr, arg, 1);
		}
	}
	return addr->len + 1 > 900 ? -1 : 0; /* qmail counts the terminating NUL */
}

static void new_transaction(struct smtp *s, int seenmail)
{
	s->seenmail = seenmail;
	sb_reset(&s->rcpts);
	s->nrcpt = 0;
}

static void smtp_ehlo(struct smtp *s)
{
	const char *ext = getenv("STANDIN_SMTP_EXT");

	reply(s, "250-standin\r\n250-PIPELINING\r\n");
	/* extra keywords go before the last line so the reply stays one well-formed reply */
	while (ext && *ext) {
		size_t n;
		ext += strspn(ext, " \t");
		n = strcspn(ext, " \t");
		if (n) {
			reply(s, "250-");
			sb_add(&s->out, ext, n);
			reply(s, "\r\n");
		}
		ext += n;
	}
	reply(s, "250 8BITMIME\r\n");
}

static void smtp_mail(struct smtp *s, const char *arg)
{
	struct sb addr = { 0 };

	/* a syntax error leaves a transaction in progress untouched, as in qmail */
	if (addr_parse(arg, &addr) < 0) {
		reply(s, "555 syntax error (#5.5.4)\r\n");
		free(addr.p);
		return;
	}
	free(s->from.p);
	s->from = addr;
	new_transaction(s, 1);
	reply(s, "250 ok\r\n");
}

static void smtp_rcpt(struct smtp *s, const char *arg)
{
	struct sb addr = { 0 };

	if (!s->seenmail) {
		reply(s, "503 MAIL first (#5.5.1)\r\n");
	} else if (addr_parse(arg, &addr) < 0) {
		reply(s, "555 syntax error (#5.5.4)\r\n");
	} else if (!strncmp(addr.p, "reject", 6)) {
		/* the tests' way to get a recipient refused, as rcpthosts would */
		reply(s, "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n");
	} else {
		if (s->nrcpt++)
			sb_add(&s->rcpts, ",", 1);
		sb_json_str(&s->rcpts, addr.p);
		reply(s, "250 ok\r\n");
	}
	free(addr.p);
}

/* The message goes to its file in BUFSIZE pieces, so memory does not grow with its size. */
static char msgbuf[BUFSIZE];
static size_t msglen;

static void msg_flush(int fd)
{
	if (fd >= 0 && msglen && write_all(fd, msgbuf, msglen) < 0)
		die_sys("unable to write message record");
	msglen = 0;
}

static void msg_put(int fd, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = sizeof msgbuf - msglen;
		if (k > n)
			k = n;
		memcpy(msgbuf + msglen, p, k);
		msglen += k;
		p += k;
		n -= k;
		if (msglen == sizeof msgbuf)
			msg_flush(fd);
	}
}

/* Message data up to a line that is just "." (CRLF or bare LF), with the leading dot of any
 * other line removed; every other byte is kept. Returns -1 when input ends first. */
static int read_data(struct smtp *s, int fd)
{
	enum { LINE_START, IN_LINE, DOT, DOT_CR } st = LINE_START;
	char c;

	for (;;) {
		if (s->pos == s->len && !fill(s))
			return -1;
		if (st == IN_LINE) {
			/* the bulk of a message: copy through to the end of the line at once */
			const char *p = iobuf + s->pos;
			const char *nl = memchr(p, '\n', s->len - s->pos);
			size_t n = nl ? (size_t)(nl - p) + 1 : s->len - s->pos;
			msg_put(fd, p, n);
			s->pos += n;
			if (nl)
				st = LINE_START;
			continue;
		}
		c = iobuf[s->pos++];
		switch (st) {
		case LINE_START:
			if (c == '.') {
				st = DOT;
				continue;
			}
			break;
		case DOT:
			if (c == '\n')
				return 0;
			if (c == '\r') {
				st = DOT_CR;
				continue;
			}
			break;
		case DOT_CR:
			if (c == '\n')
				return 0;
			msg_put(fd, "\r", 1);
			break;
		case IN_LINE:
			break;
		}
		msg_put(fd, &c, 1);
		st = c == '\n' ? LINE_START : IN_LINE;
	}
}

/* STANDIN_SMTP_QMAIL=1: the data as qmail-smtpd's blast() reads it.  Lines must end in CRLF
 * and are stored ending in LF (a CR not before LF is kept, as is the dot of ".\r" not before
 * LF); a bare LF anywhere, ".\n" included, is answered 451 and ends the session (qmail's
 * straynewline()).  Returns 0 at the end line, -1 when input ends first, -2 at a bare LF. */
static int smtp_qmail;

static int read_data_qmail(struct smtp *s, int fd)
{
	enum { MID, LINE_START, DOT, DOT_CR, CR } st = LINE_START;
	char c;

	for (;;) {
		if (s->pos == s->len && !fill(s))
			return -1;
		c = iobuf[s->pos++];
		switch (st) {
		case MID:
		case LINE_START:
		case DOT:
			if (c == '\n')
				return -2;
			if (c == '\r') {
				st = st == DOT ? DOT_CR : CR;
				continue;
			}
			if (c == '.' && st == LINE_START) {
				st = DOT;
				continue;
			}
			st = MID;
			break;
		case DOT_CR:
			if (c == '\n')
				return 0;
			msg_put(fd, ".\r", 2);
			if (c == '\r') {
				st = CR;
				continue;
			}
			st = MID;
			break;
		case CR:
			if (c == '\n') {
				st = LINE_START;
				break;
			}
			if (c != '\r') {
				msg_put(fd, "\r", 1);
				st = MID;
			}
			break;
		}
		msg_put(fd, &c, 1);
	}
}

/* Returns -1 when input ended inside the message, which is then dropped as qmail drops it;
 * -2 when a bare LF ended the session. */
static int smtp_data(struct smtp *s)
{
	char name[32], text[64];
	int fd = -1, n;

	if (!s->seenmail) {
		reply(s, "503 MAIL first (#5.5.1)\r\n");
		return 0;
	}
	if (!s->nrcpt) {
		reply(s, "503 RCPT first (#5.5.1)\r\n");
		return 0;
	}
	s->seenmail = 0;
	reply(s, "354 go ahead\r\n");
	n = snprintf(name, sizeof name, "msg.%lu", s->messages + 1);
	if (n < 0 || (size_t)n >= sizeof name)
		die("snprintf failed");
	if (s->rec >= 0)
		fd = open_file(s->rec, name);
	if ((n = smtp_qmail ? read_data_qmail(s, fd) : read_data(s, fd)) < 0) {
		msglen = 0;
		if (fd >= 0 && (close(fd) < 0 || unlinkat(s->rec, name, 0) < 0))
			die_sys(name);
		if (n == -2)
			reply(s, "451 See http://pobox.com/~djb/docs/smtplf.html.\r\n");
		return n;
	}
	msg_flush(fd);
	if (fd >= 0 && close(fd) < 0)
		die_sys(name);
	++s->messages;

	/* the reply comes after the message is stored: with SIGCHLD ignored qmail has queued it */
	if (sigchld_ignored)
		n = snprintf(text, sizeof text, "451 qq waitpid surprise (#4.3.0)");
	else
		n = snprintf(text, sizeof text, "250 ok 1700000000 qp %lu", s->messages);
	if (n < 0 || (size_t)n >= sizeof text)
		die("snprintf failed");
	sb_puts(&s->log, s->log.len ? ",\n{\"from\":" : "{\"from\":");
	sb_json_str(&s->log, s->from.p ? s->from.p : "");
	sb_puts(&s->log, ",\"rcpt\":[");
	sb_puts(&s->log, s->rcpts.p ? s->rcpts.p : "");
	sb_puts(&s->log, "],\"reply\":");
	sb_json_str(&s->log, text);
	sb_puts(&s->log, "}");
	reply(s, text);
	reply(s, "\r\n");
	new_transaction(s, 0);
	return 0;
}

/* Runs the dialogue on stdin/stdout; with rec >= 0 it stores msg.N and smtp.json there. */
static enum smtp_end smtp_session(int rec, int tee, unsigned long long *stdin_bytes)
{
	struct smtp s = { .rec = rec, .tee = tee, .stdin_bytes = stdin_bytes };
	enum smtp_end end = SMTP_DONE;
	int r;

	reply(&s, "220 standin ESMTP\r\n");
	while (get_line(&s) == 0) {
		char *verb = s.line.p, *arg = verb + strcspn(verb, " ");

		/* the verb is everything up to the first space, as in qmail's commands.c */
		if (*arg) {
			*arg++ = 0;
			while (*arg == ' ')
				++arg;
		}
		if (smtp_close_after && ++s.commands == smtp_close_after) {
			reply(&s, "421 standin closing connection\r\n");
			break;
		}
		if (!strcasecmp(verb, "helo")) {
			new_transaction(&s, 0);
			reply(&s, "250 standin\r\n");
		} else if (!strcasecmp(verb, "ehlo")) {
			new_transaction(&s, 0);
			smtp_ehlo(&s);
		} else if (!strcasecmp(verb, "mail")) {
			smtp_mail(&s, arg);
		} else if (!strcasecmp(verb, "rcpt")) {
			smtp_rcpt(&s, arg);
		} else if (!strcasecmp(verb, "data")) {
			if ((r = smtp_data(&s)) < 0) {
				end = r == -2 ? SMTP_STRAY_LF : SMTP_CUT;
				break;
			}
		} else if (!strcasecmp(verb, "rset")) {
			new_transaction(&s, 0);
			reply(&s, "250 flushed\r\n");
		} else if (!strcasecmp(verb, "noop")) {
			reply(&s, "250 ok\r\n");
		} else if (!strcasecmp(verb, "vrfy")) {
			reply(&s, "252 send some mail, i'll try my best\r\n");
		} else if (!strcasecmp(verb, "quit")) {
			reply(&s, "221 standin\r\n");
			break;
		} else {
			reply(&s, "502 unimplemented (#5.5.1)\r\n");
		}
	}
	(void)flush_replies(&s);
	if (s.read_failed)
		end = SMTP_READ_FAILED;
	else if (s.write_failed)
		end = SMTP_WRITE_FAILED;

	if (rec >= 0) {
		struct sb j = { 0 };
		sb_puts(&j, "[");
		if (s.log.len)
			sb_add(&j, s.log.p, s.log.len);
		sb_puts(&j, "]\n");
		write_file(rec, "smtp.json", j.p, j.len);
		free(j.p);
	}
	free(s.out.p);
	free(s.line.p);
	free(s.log.p);
	free(s.from.p);
	free(s.rcpts.p);
	return end;
}

static long long rlim_json(int res)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) < 0)
		die_sys("getrlimit");
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur;
}

static void write_info(int dirfd, enum mode mode, int argc, unsigned long long stdin_bytes,
		       int exit_code, int exit_sig)
{
	struct sb j = { 0 };
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t *groups;
	int ngroups, i;
	size_t k;
	const char *exe;
	static char cwd[PATH_MAX + 1];
	int fd;

	if (getresuid(&ru, &eu, &su) < 0)
		die_sys("getresuid");
	if (getresgid(&rg, &eg, &sg) < 0)
		die_sys("getresgid");
	ngroups = getgroups(0, NULL);
	if (ngroups < 0)
		die_sys("getgroups");
	groups = xrealloc(NULL, (size_t)ngroups * sizeof *groups);
	ngroups = getgroups(ngroups, groups);
	if (ngroups < 0)
		die_sys("getgroups");

	sb_puts(&j, "{");
	sb_key(&j, "mode");
	sb_json_str(&j, mode_names[mode]);
	sb_key(&j, "pid");
	sb_ll(&j, (long long)getpid());
	sb_key(&j, "ruid");
	sb_ll(&j, (long long)ru);
	sb_key(&j, "euid");
	sb_ll(&j, (long long)eu);
	sb_key(&j, "suid");
	sb_ll(&j, (long long)su);
	sb_key(&j, "rgid");
	sb_ll(&j, (long long)rg);
	sb_key(&j, "egid");
	sb_ll(&j, (long long)eg);
	sb_key(&j, "sgid");
	sb_ll(&j, (long long)sg);
	sb_key(&j, "groups");
	sb_puts(&j, "[");
	for (i = 0; i < ngroups; ++i) {
		if (i)
			sb_puts(&j, ",");
		sb_ll(&j, (long long)groups[i]);
	}
	sb_puts(&j, "]");
	free(groups);
	sb_key(&j, "umask");
	if (have_umask)
		sb_ll(&j, umask_val);
	else
		sb_puts(&j, "null");
	sb_key(&j, "sigblk");
	if (sigblk)
		sb_json_str(&j, sigblk);
	else
		sb_puts(&j, "null");
	sb_key(&j, "sigign");
	if (sigign)
		sb_json_str(&j, sigign);
	else
		sb_puts(&j, "null");
	sb_key(&j, "fds");
	sb_puts(&j, "[");
	for (k = 0; k < nfds; ++k) {
		if (k)
			sb_puts(&j, ",");
		sb_puts(&j, "{\"fd\":");
		sb_ll(&j, fds[k].fd);
		sb_puts(&j, ",\"target\":");
		sb_json_str(&j, fds[k].target);
		sb_puts(&j, "}");
	}
	sb_puts(&j, "]");
	sb_key(&j, "at_secure");
	sb_ll(&j, (long long)getauxval(AT_SECURE));
	sb_key(&j, "exe");
	exe = readlink_str("/proc/self/exe");
	sb_json_str(&j, exe ? exe : "");
	sb_key(&j, "cwd");
	sb_json_str(&j, getcwd(cwd, sizeof cwd) ? cwd : "");
	sb_key(&j, "rlimit_fsize");
	sb_ll(&j, rlim_json(RLIMIT_FSIZE));
	sb_key(&j, "rlimit_nofile");
	sb_ll(&j, rlim_json(RLIMIT_NOFILE));
	sb_key(&j, "argc");
	sb_ll(&j, argc);
	sb_key(&j, "stdin_bytes");
	sb_ll(&j, (long long)stdin_bytes);
	sb_key(&j, "exit");
	if (exit_sig) {
		char s[32];
		int n = snprintf(s, sizeof s, "sig:%d", exit_sig);
		if (n < 0 || (size_t)n >= sizeof s)
			die("snprintf failed");
		sb_json_str(&j, s);
	} else {
		sb_ll(&j, exit_code);
	}
	sb_puts(&j, "}\n");

	/* rename last: a reader that sees info.json knows the record is complete */
	fd = open_file(dirfd, "info.json.tmp");
	if (write_all(fd, j.p, j.len) < 0)
		die_sys("info.json.tmp");
	if (close(fd) < 0)
		die_sys("info.json.tmp");
	if (renameat(dirfd, "info.json.tmp", dirfd, "info.json") < 0)
		die_sys("rename info.json");
	free(j.p);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			die_sys("nanosleep");
}

static _Noreturn void die_by_signal(int sig)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	if (sigemptyset(&sa.sa_mask) < 0)
		die_sys("sigemptyset");
	if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &sa, NULL) < 0)
		die_sys("sigaction");
	if (sigemptyset(&set) < 0 || sigaddset(&set, sig) < 0)
		die_sys("sigaddset");
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		die_sys("sigprocmask");
	if (raise(sig) != 0)
		die_sys("raise");
	/* signals whose default action is to ignore (or stop, then continue) land here */
	die("still alive after raising STANDIN_EXIT signal");
}

/*
 * STANDIN_QUEUE=DIR: the shape of a real qmail submission, for the benchmark,
 * recording nothing.  "sendmail" execs "qmail-inject", which streams the
 * message through a pipe to a forked and exec'd "qmail-queue", which writes
 * it to DIR with fsync (message file, then envelope file) and exits; the
 * files are removed again so that repeated runs do not fill the disk.
 */
static int qmail_model(char **argv, const char *dir)
{
	const char *stage = getenv("STANDIN_STAGE");
	char path[PATH_MAX];
	ssize_t n;
	int fd, status;

	if (stage == NULL) {
		if (setenv("STANDIN_STAGE", "inject", 1) < 0)
			die_sys("setenv");
		execv("/proc/self/exe", argv);
		die_sys("exec qmail-inject stage");
	}
	if (!strcmp(stage, "inject")) {
		int p[2];
		pid_t pid;

		if (pipe(p) < 0 || (pid = fork()) < 0)
			die_sys("pipe/fork");
		if (pid == 0) {
			if (dup2(p[0], 0) < 0 || setenv("STANDIN_STAGE", "queue", 1) < 0)
				die_sys("dup2/setenv");
			close(p[0]);
			close(p[1]);
			execv("/proc/self/exe", argv);
			die_sys("exec qmail-queue stage");
		}
		close(p[0]);
		while ((n = read(0, iobuf, sizeof iobuf)) > 0)
			if (write_all(p[1], iobuf, (size_t)n) < 0)
				die_sys("write to qmail-queue stage");
		if (n < 0)
			die_sys("read");
		close(p[1]);
		if (waitpid(pid, &status, 0) < 0)
			die_sys("waitpid");
		return WIFEXITED(status) ? WEXITSTATUS(status) : 111;
	}
	snprintf(path, sizeof path, "%s/mess.%ld", dir, (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		die_sys("open queue file");
	while ((n = read(0, iobuf, sizeof iobuf)) > 0)
		if (write_all(fd, iobuf, (size_t)n) < 0)
			die_sys("write queue file");
	if (n < 0 || fsync(fd) < 0 || close(fd) < 0 || unlink(path) < 0)
		die_sys("queue file");
	snprintf(path, sizeof path, "%s/intd.%ld", dir, (long)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    write_all(fd, "F\0Tuser@example.com\0", 20) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || unlink(path) < 0)
		die_sys("envelope file");
	return 0;
}

int main(int argc, char **argv)
{
	const char *v;
	int sink, dirfd = -1, exit_code = -1, exit_sig = 0, exit_set, i;
	unsigned long sleep_for = 0, u;
	unsigned long long stdin_bytes = 0;
	enum mode mode;
	struct sigaction old;

	/* first of all: nothing below may change the disposition before it is seen */
	if (sigaction(SIGCHLD, NULL, &old) < 0)
		die_sys("sigaction");
	sigchld_ignored = !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN;

	if ((v = getenv("STANDIN_QUEUE")) != NULL && *v)
		return qmail_model(argv, v);
	v = getenv("STANDIN_SINK");
	sink = v && !strcmp(v, "1");
	if (!sink) {
		capture_fds();
		guard_std_fds();
		capture_status();
	}

	v = getenv("STANDIN_EXIT");
	exit_set = v && *v;
	if (exit_set) {
		if (!strncmp(v, "sig:", 4)) {
			if (parse_uint(v + 4, (unsigned long)SIGRTMAX, &u) < 0 || u == 0)
				die("STANDIN_EXIT: bad signal number");
			exit_sig = (int)u;
		} else {
			if (parse_uint(v, 255, &u) < 0)
				die("STANDIN_EXIT must be empty, 0..255 or sig:N");
			exit_code = (int)u;
		}
	}
	v = getenv("STANDIN_SLEEP_MS");
	if (v && *v && parse_uint(v, 86400000UL, &sleep_for) < 0)
		die("STANDIN_SLEEP_MS must be a number of milliseconds");
	v = getenv("STANDIN_SMTP_CLOSE_AFTER");
	if (v && *v && (parse_uint(v, ULONG_MAX, &smtp_close_after) < 0 || !smtp_close_after))
		die("STANDIN_SMTP_CLOSE_AFTER must be a number of commands, 1 or more");

	v = getenv("STANDIN_SMTP_QMAIL");
	smtp_qmail = v && !strcmp(v, "1");
	v = getenv("STANDIN_DIR");
	if (!sink && (!v || !*v))
		die("STANDIN_DIR is not set");

	mode = parse_args(argc, argv);
	if (exit_code < 0)
		exit_code = mode == MODE_USAGE ? 100 : 0;

	if (!sink) {
		struct sb a = { 0 };
		dirfd = make_record_dir(v);
		for (i = 0; i < argc && argv[i]; ++i)
			sb_add(&a, argv[i], strlen(argv[i]) + 1);
		write_file(dirfd, "argv", a.p ? a.p : "", a.len);
		free(a.p);
	}

	{
		int out = sink ? -1 : open_file(dirfd, "stdin");
		int io_failed = 0;

		switch (mode) {
		case MODE_MESSAGE:
			if (copy_stdin(out, &stdin_bytes) < 0) {
				err_puts("standin: unable to read message\n");
				io_failed = 1;
			}
			break;
		case MODE_SMTP:
			switch (smtp_session(dirfd, out, &stdin_bytes)) {
			case SMTP_DONE:
				break;
			case SMTP_CUT:
				/* qmail-smtpd gives up too; the client never saw the message accepted */
				if (!exit_set)
					exit_code = 111;
				break;
			case SMTP_STRAY_LF:
				if (!exit_set)
					exit_code = 1;	/* straynewline()'s _exit(1) */
				break;
			case SMTP_READ_FAILED:
				err_puts("standin: unable to read stdin\n");
				io_failed = 1;
				break;
			case SMTP_WRITE_FAILED:
				err_puts("standin: unable to write to stdout\n");
				io_failed = 1;
				break;
			}
			break;
		case MODE_QUEUE: {
			static const char list[] = "standin: queue listing\n";
			if (write_all(1, list, sizeof list - 1) < 0) {
				err_puts("standin: unable to write to stdout\n");
				io_failed = 1;
			}
			break;
		}
		case MODE_USAGE:
			break;
		}
		/* like qmail, an I/O failure is a temporary error whatever STANDIN_EXIT asked for */
		if (io_failed) {
			exit_code = 111;
			exit_sig = 0;
		}
		if (out >= 0 && close(out) < 0)
			die_sys("unable to write stdin record");
	}

	if (!sink) {
		write_info(dirfd, mode, argc, stdin_bytes, exit_code, exit_sig);
		if (close(dirfd) < 0)
			die_sys("close record directory");
	}

	if (sleep_for)
		sleep_ms(sleep_for);
	if (exit_sig)
		die_by_signal(exit_sig);
	return exit_code;
}
