/*
 * caller.c: identify the process that ran sendmail, from /proc (PROCROOT, so
 * tests can hand in a made-up tree).  Runs without the qwrap group, with the
 * caller's own credentials, so it can read exactly what the caller could.
 */
#include "caller.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpmstatus.h"
#include "pathclean.h"

#define ENVIRON_MAX 65536	/* of a php-cgi parent's environment, enough for a CGI request */

const char *
caller_getenv(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

ssize_t
caller_read_small(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* readlinkat into OUT, NUL-terminated; -1 on error or when the target does not fit. */
static int
read_link(int at, const char *path, char *out, size_t cap)
{
	ssize_t n = readlinkat(at, path, out, cap);

	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
is_php_file(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (path[0] != '/' || dot == NULL || ends_with(path, " (deleted)"))
		return 0;
	/* .php, .php5, .php8, .phtml */
	if (strcmp(dot, ".phtml") == 0)
		return 1;
	if (strncmp(dot, ".php", 4) != 0)
		return 0;
	for (dot += 4; *dot; dot++)
		if (*dot < '0' || *dot > '9')
			return 0;
	return 1;
}

int
caller_scan_fds(const char *procroot, char out[PATH_MAX])
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	struct stat st;
	long best = -1;
	DIR *d;

	out[0] = '\0';
	snprintf(dir, sizeof dir, "%s/self/fd", procroot);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end != '\0' || end == e->d_name || fd < 3 || fd == dirfd(d))
			continue;
		if (best >= 0 && fd > best)
			continue;
		/* readlink and stat only: the caller's fds are never read from. */
		if (read_link(dirfd(d), e->d_name, target, sizeof target) < 0 ||
		    !is_php_file(target))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		/*
		 * mod_php opens auto_prepend_file first: the admin's (root's)
		 * copy of ours is never the entry script.
		 */
		if (ends_with(target, "/" CALLER_PREPEND_FILE) && st.st_uid == 0)
			continue;
		best = fd;
		memcpy(out, target, strlen(target) + 1);
	}
	closedir(d);
	return best >= 0;
}

static long
status_field(const char *status, const char *name)
{
	const char *p = status;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == status || p[-1] == '\n') && p[n] == ':')
			return strtol(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

int
caller_uids(const char *status, long *ruid, long *euid)
{
	const char *p = strstr(status, "\nUid:");

	return p != NULL && sscanf(p + 5, "%ld %ld", ruid, euid) == 2 ? 0 : -1;
}

void
caller_identify(const char *procroot, long uid, long gid, long pid,
    long ppid, char *const envp[], struct caller *c)
{
	char path[PATH_MAX], status[4096];
	const char *name;

	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
	if (getcwd(c->cwd, sizeof c->cwd) == NULL || c->cwd[0] != '/')
		snprintf(c->cwd, sizeof c->cwd, "?");

	c->nparents = 0;
	while (ppid > 0 && c->nparents < RECORD_MAX_PARENTS) {
		struct caller_parent *p = &c->parents[c->nparents];
		ssize_t n;
		long next, ruid, euid;

		snprintf(path, sizeof path, "%s/%ld/status", procroot, ppid);
		if (caller_read_small(path, status, sizeof status) < 0)
			break;
		/* Another user's process (root's cron, the FPM master) is not ours to record. */
		if (caller_uids(status, &ruid, &euid) < 0 || ruid != uid || euid != uid)
			break;
		next = status_field(status, "PPid");
		p->pid = ppid;
		p->uid = uid;
		/* The first line. */
		name = strncmp(status, "Name:", 5) == 0 ? status + 5 + strspn(status + 5, " \t") : "";
		snprintf(p->name, sizeof p->name, "%.*s", (int)strcspn(name, "\n"), name);
		snprintf(path, sizeof path, "%s/%ld/exe", procroot, ppid);
		read_link(AT_FDCWD, path, p->exe, sizeof p->exe);
		snprintf(path, sizeof path, "%s/%ld/cmdline", procroot, ppid);
		n = caller_read_small(path, p->argv, sizeof p->argv);
		p->argvlen = n > 0 ? (size_t)n : 0;
		/* A cut argument still ends in NUL: the record encoder splits on it. */
		if (p->argvlen > 0 && p->argv[p->argvlen - 1] == '\0')
			p->argvlen--;
		c->nparents++;
		ppid = next;
	}
	c->above = ppid;

	c->nenv = 0;
	for (int i = 0; i < CALLER_ENV_MAX; i++) {
		const char *v = caller_getenv(envp, record_env_names[i]);

		if (v != NULL)
			c->env[c->nenv++] = (struct rec_env){ record_env_names[i], v };
	}
}

/* Program name without directory, version digits and dots: "php-cgi8.2" is "php-cgi". */
static void
program_family(const struct caller_parent *p, char *out, size_t cap)
{
	const char *name = p->exe[0] ? p->exe : p->argv;
	const char *base = strrchr(name, '/');
	size_t n;

	base = base ? base + 1 : name;
	n = strlen(base);
	/* A binary replaced by a package upgrade still runs under its old name. */
	if (n > 10 && strcmp(base + n - 10, " (deleted)") == 0)
		n -= 10;
	while (n > 0 && ((base[n - 1] >= '0' && base[n - 1] <= '9') || base[n - 1] == '.'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

/*
 * The script, as the canonical path of its file (no "." or "..", no link),
 * resolved as the caller; one that cannot be resolved (gone, not permitted)
 * is kept as it was seen, tidied ("//" and "/./" are "/", ".." stays), and
 * said to be so.
 */
static int
set_script(struct caller *c, const char *path, size_t n, const char *from)
{
	char seen[PATH_MAX], canon[PATH_MAX];

	if (n == 0 || n >= sizeof seen || path[0] != '/' || memchr(path, '\0', n))
		return 0;
	memcpy(seen, path, n);
	seen[n] = '\0';
	c->script_unresolved = realpath(seen, canon) == NULL;
	if (c->script_unresolved)
		path_clean(seen);
	memcpy(c->script, c->script_unresolved ? seen : canon,
	    strlen(c->script_unresolved ? seen : canon) + 1);
	c->script_from = from;
	return 1;
}

/*
 * The script a shell ancestor reads, from the descriptor it keeps open on
 * it: bash's 255, or dash's (and most shells') lowest from 10 up.
 */
static int
from_shell_fd(const char *procroot, long pid, struct caller *c)
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	struct stat st;
	long best = -1;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/%ld/fd", procroot, pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end != '\0' || end == e->d_name || fd < 10 ||
		    (best >= 0 && (best == 255 || (fd > best && fd != 255))))
			continue;
		if (read_link(dirfd(d), e->d_name, target, sizeof target) < 0 || target[0] != '/' ||
		    fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		best = fd;
		memcpy(dir, target, strlen(target) + 1);
	}
	closedir(d);
	return best >= 0 && set_script(c, dir, strlen(dir), "shell-fd");
}

/* SCRIPT_FILENAME as the web server set it, in a php-cgi parent's environment. */
static int
from_cgi_environ(const char *procroot, struct caller *c)
{
	static char env[ENVIRON_MAX];
	char family[64], path[PATH_MAX];

	for (int i = 0; i < c->nparents; i++) {
		const char *script = NULL;
		int cgi = 0;
		ssize_t n;

		program_family(&c->parents[i], family, sizeof family);
		if (strcmp(family, "php-cgi") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%ld/environ", procroot, c->parents[i].pid);
		if ((n = caller_read_small(path, env, sizeof env)) <= 0)
			return 0;
		for (char *e = env; e < env + n; e += strlen(e) + 1) {
			if (strncmp(e, "GATEWAY_INTERFACE=", 18) == 0)
				cgi = 1;
			else if (strncmp(e, "SCRIPT_FILENAME=", 16) == 0 && script == NULL)
				script = e + 16;
		}
		return cgi && script != NULL &&
		    set_script(c, script, strlen(script), "cgi-environ");
	}
	return 0;
}

/* The word after A in a NUL-separated list ending at END, or NULL. */
static const char *
next_word(const char *a, const char *end)
{
	a += strlen(a) + 1;
	return a < end ? a : NULL;
}

/*
 * How each interpreter's command line names its script: options whose value
 * is code (no file to name), options whose value is the next word, the one
 * whose value is the script, and Python's module option.  Options are
 * space-separated, each with a space before and after.
 */
struct interp {
	const char *family;
	int shell;		/* keeps its script open on a descriptor (from_shell_fd) */
	const char *code, *value, *file, *module;
};

static const struct interp interps[] = {
	{ "sh", 1, " -c ", " -o -O --rcfile --init-file ", "", "" },
	{ "bash", 1, " -c ", " -o -O --rcfile --init-file ", "", "" },
	{ "dash", 1, " -c ", " -o ", "", "" },
	{ "zsh", 1, " -c ", " -o ", "", "" },
	{ "ksh", 1, " -c ", " -o ", "", "" },
	{ "mksh", 1, " -c ", " -o ", "", "" },
	{ "php", 0, " -r -R -B -E ", " -d -c -z ", " -f ", "" },
	{ "perl", 0, " -e -E ", " -I ", "", "" },
	{ "python", 0, " -c ", " -W -X --check-hash-based-pycs ", "", " -m " },
	{ "ruby", 0, " -e ", " -I -r -C -E --encoding ", "", "" },
	{ "node", 0, " -e --eval -p --print ",
	    " -r --require --import --loader --experimental-loader -C --conditions --input-type --title ",
	    "", "" },
};

static const struct interp *
interp_of(const char *family)
{
	for (size_t i = 0; i < sizeof interps / sizeof interps[0]; i++)
		/* php-cgi is php; nodejs (Debian's old name) is node. */
		if (strcmp(family, interps[i].family) == 0 ||
		    (strcmp(interps[i].family, "php") == 0 && strncmp(family, "php", 3) == 0) ||
		    (strcmp(interps[i].family, "node") == 0 && strcmp(family, "nodejs") == 0))
			return &interps[i];
	return NULL;
}

/* Whether the option OPT, N bytes ("-x", "--name"), is in LIST. */
static int
in_list(const char *list, const char *opt, size_t n)
{
	for (const char *p = list; *p; p++)
		if (p > list && p[-1] == ' ' && strncmp(p, opt, n) == 0 && p[n] == ' ')
			return 1;
	return 0;
}

enum { ARG_NONE, ARG_FILE, ARG_MODULE };

/*
 * The script named on an interpreter ancestor's command line: a file
 * (ARG_FILE) or, for "python -m", a module (ARG_MODULE), in *WORD.  Code
 * given inline ("sh -c", "perl -e", "python -c", "php -r") names none.
 * Short options may be bundled ("perl -wle CODE", "php -dx=1").
 */
static int
script_arg(const struct caller_parent *p, const struct interp *in, const char **word)
{
	const char *end = p->argv + p->argvlen;
	const char *a = next_word(p->argv, end);	/* past argv[0] */
	int isolated = 0;	/* python -I or -P: the cwd is not where modules come from */

	for (; a != NULL; a = next_word(a, end)) {
		char opt[3] = { '-', 0, 0 };
		size_t n = strlen(a);

		if (strcmp(a, "--") == 0) {
			*word = next_word(a, end);
			return *word != NULL ? ARG_FILE : ARG_NONE;
		}
		if (a[0] != '-' || n == 1) {
			*word = a;
			return n > 1 ? ARG_FILE : ARG_NONE;	/* "-": from standard input */
		}
		if (a[1] == '-') {
			const char *eq = strchr(a, '=');
			size_t k = eq != NULL ? (size_t)(eq - a) : n;

			if (in_list(in->code, a, k))
				return ARG_NONE;
			if (eq == NULL && in_list(in->value, a, k) && (a = next_word(a, end)) == NULL)
				return ARG_NONE;
			continue;
		}
		/* A bundle of short options: the first that takes a value ends it. */
		for (const char *c = a + 1; *c; c++) {
			opt[1] = *c;
			if (in_list(in->code, opt, 2))
				return ARG_NONE;
			if (strchr("IP", *c) != NULL && in->module[0])
				isolated = 1;
			if (in_list(in->file, opt, 2) || in_list(in->module, opt, 2) ||
			    in_list(in->value, opt, 2)) {
				const char *v = c[1] ? c + 1 : next_word(a, end);
				int kind = in_list(in->file, opt, 2) ? ARG_FILE :
				    in_list(in->module, opt, 2) ? ARG_MODULE : ARG_NONE;

				if (v == NULL)
					return ARG_NONE;
				if (kind == ARG_MODULE && isolated)
					return ARG_NONE;
				if (kind != ARG_NONE) {
					*word = v;
					return kind;
				}
				if (!c[1])
					a = v;	/* the value was the next word */
				break;
			}
		}
	}
	return ARG_NONE;
}

/*
 * The file "python -m NAME" runs when its cwd is first on its path, as it
 * is unless isolated: CWD/NAME.py, or a package's CWD/NAME/__main__.py.
 */
static int
module_file(const char *cwd, const char *name, char *out, size_t cap)
{
	char rel[NAME_MAX + 1];
	size_t n = strlen(name);
	struct stat st;

	if (n == 0 || n >= sizeof rel || name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
		return -1;
	for (size_t i = 0; i <= n; i++) {
		if (name[i] && !isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '.')
			return -1;
		rel[i] = name[i] == '.' ? '/' : name[i];
	}
	for (int pkg = 0; pkg < 2; pkg++) {
		int k = snprintf(out, cap, "%s/%s%s", strcmp(cwd, "/") ? cwd : "", rel,
		    pkg ? "/__main__.py" : ".py");

		if (k > 0 && (size_t)k < cap && stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return k;
	}
	return -1;
}

/*
 * The nearest interpreter ancestor that names its script: a shell's open
 * script descriptor first, then the command line's file, resolved against
 * that process's own cwd and taken only if it is a regular file.
 */
static int
from_argv(const char *procroot, struct caller *c)
{
	char family[64], path[PATH_MAX], cwd[PATH_MAX], full[PATH_MAX];
	struct stat st;

	for (int i = 0; i < c->nparents; i++) {
		const struct interp *in;
		const char *arg;
		int kind, n;

		program_family(&c->parents[i], family, sizeof family);
		if ((in = interp_of(family)) == NULL)
			continue;
		if (in->shell && from_shell_fd(procroot, c->parents[i].pid, c))
			return 1;
		if ((kind = script_arg(&c->parents[i], in, &arg)) == ARG_NONE)
			continue;
		cwd[0] = '\0';
		if (kind == ARG_MODULE || arg[0] != '/') {
			snprintf(path, sizeof path, "%s/%ld/cwd", procroot, c->parents[i].pid);
			if (read_link(AT_FDCWD, path, cwd, sizeof cwd) < 0 || cwd[0] != '/')
				continue;
		}
		if (kind == ARG_MODULE) {
			if ((n = module_file(cwd, arg, full, sizeof full)) < 0)
				continue;
			return set_script(c, full, (size_t)n, "argv-module");
		}
		n = snprintf(full, sizeof full, "%s%s%s", cwd, strcmp(cwd, "/") && cwd[0] ? "/" : "",
		    arg);
		if (n < 0 || (size_t)n >= sizeof full || stat(full, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		return set_script(c, full, (size_t)n, "argv");
	}
	return 0;
}

/* "UID:basename" joined with the cwd, when that file exists and UID owns it. */
static int
from_php_header(const char *hdr, size_t n, struct caller *c)
{
	char base[NAME_MAX + 1], full[PATH_MAX];
	const char *colon = memchr(hdr, ':', n);
	struct stat st;
	long owner = 0;
	size_t blen;
	int len;

	if (colon == NULL || colon == hdr || c->cwd[0] != '/')
		return 0;
	for (const char *p = hdr; p < colon; p++) {
		if (*p < '0' || *p > '9' || owner > 0x7fffffffL / 10)
			return 0;
		owner = owner * 10 + (*p - '0');
	}
	blen = n - (size_t)(colon + 1 - hdr);
	if (blen == 0 || blen > NAME_MAX || memchr(colon + 1, '/', blen) ||
	    memchr(colon + 1, '\0', blen))
		return 0;
	memcpy(base, colon + 1, blen);
	base[blen] = '\0';
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return 0;
	len = snprintf(full, sizeof full, "%s/%s", strcmp(c->cwd, "/") ? c->cwd : "", base);
	if (len < 0 || (size_t)len >= sizeof full || stat(full, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (long)st.st_uid != owner)
		return 0;
	return set_script(c, full, (size_t)len, "php-header");
}

long
caller_fpm_worker(const struct caller *c, char pool[64])
{
	static const char title[] = "php-fpm: pool ";

	for (int i = 0; i < c->nparents; i++) {
		const struct caller_parent *p = &c->parents[i];
		size_t t = sizeof title - 1, n = 0, k;

		if (p->argvlen <= t || memcmp(p->argv, title, t) != 0)
			continue;
		while (t + n < p->argvlen && n < 63 && (isalnum((unsigned char)p->argv[t + n]) ||
		    (p->argv[t + n] != '\0' && strchr("._-", p->argv[t + n]) != NULL)))
			n++;
		/*
		 * What follows the name can only be the padding of the process
		 * title; a title that is not php-fpm's may be a decoy: look on.
		 */
		for (k = t + n; k < p->argvlen; k++)
			if (p->argv[k] != ' ' && p->argv[k] != '\0')
				break;
		if (k < p->argvlen || n == 0 || p->argv[t] == '.')
			continue;
		memcpy(pool, p->argv + t, n);
		pool[n] = '\0';
		return p->pid;
	}
	return 0;
}

/*
 * The script the worker among the ancestors runs, from its pool's status page
 * (SOCKET_PATTERN with %p for the pool's name, PATH): the server's own record.
 */
static int
from_fpm_status(const char *socket_pattern, const char *path, struct caller *c)
{
	char sock[PATH_MAX], pool[64], script[PATH_MAX];
	size_t o = 0;
	long pid;

	if (socket_pattern[0] == '\0' || (pid = caller_fpm_worker(c, pool)) == 0)
		return 0;
	for (const char *p = socket_pattern; *p && o + 1 < sizeof sock; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(sock + o, sizeof sock - o, "%s", pool);
			p++;
		} else
			sock[o++] = *p;
	}
	if (o >= sizeof sock - 1)
		return 0;
	sock[o] = '\0';
	if (!fpm_status_script(sock, path, pid, script))
		return 0;
	return set_script(c, script, strlen(script), "fpm-status");
}

void
caller_resolve_script(const char *procroot, char *const envp[],
    const char *php_header, size_t php_header_len, const char *fpm_socket,
    const char *fpm_path, struct caller *c)
{
	const char *v;

	c->script[0] = '\0';
	c->script_from = "none";
	c->script_unresolved = 0;
	if (fpm_socket != NULL && from_fpm_status(fpm_socket, fpm_path, c))
		return;
	if (set_script(c, c->fd_script, strlen(c->fd_script), "fd"))
		return;
	if (from_cgi_environ(procroot, c))
		return;
	if ((v = caller_getenv(envp, "SCRIPT_FILENAME")) != NULL &&
	    set_script(c, v, strlen(v), "env"))
		return;
	if ((v = caller_getenv(envp, CALLER_PREPEND_VAR)) != NULL &&
	    set_script(c, v, strlen(v), "prepend"))
		return;
	if (from_argv(procroot, c))
		return;
	if (php_header != NULL && from_php_header(php_header, php_header_len, c))
		return;
}
