/*
 * phpscan.c: where PHP's mail() and the system's sendmail lead.
 *
 * PHP runs its sendmail_path (by default /usr/sbin/sendmail -t -i); where
 * that is another MTA's program, or qmail's own behind the wrapper's back,
 * every message of that PHP goes around capture and nothing else would say
 * so.  Each PHP configuration on the host is read as PHP reads it -- a
 * php.ini with its scan directory, an FPM pool, an Apache directive, and
 * what `php -i` of each PHP binary says -- and the program each one runs is
 * resolved, links followed, on the host seen under ROOT and QWRAP_SCAN_ROOT.
 * It reaches the wrapper when it resolves to the capture target (which is
 * the wrapper's link once enabled) or to the wrapper itself.
 *
 * sendmail_path is PHP_INI_SYSTEM: a tenant's .user.ini, .htaccess or
 * ini_set() cannot change it.  (A php-cgi or suPHP that reads a php.ini
 * from the script's own directory is not seen here; docs/PHP.md says so.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inst.h"
#include "paths.h"

#define PHP_DEFAULT_PATH "/usr/sbin/sendmail -t -i"
#define MAX_FILES 20000		/* a bound on the walk, far above any real host */
#define MAX_PHPINI 512
#define MAX_BINARIES 64
#define PHP_OUT_MAX (512 * 1024)

/* Where PHP's configurations live, and how deep the walk goes below each. */
static const struct {
	const char *dir, *first;	/* FIRST: the names of the top level taken, or NULL */
	int depth;
} roots[] = {
	{ "/etc/php", NULL, 5 },			/* Debian, Ubuntu */
	{ "/etc/php.ini", NULL, 0 },			/* RHEL's php.ini ... */
	{ "/etc/php.d", NULL, 1 },			/* ... and its scan directory */
	{ "/etc/php-fpm.d", NULL, 1 },
	{ "/etc/php-fpm.conf", NULL, 0 },
	{ "/usr/local/etc/php", NULL, 3 },		/* built from source */
	{ "/usr/local/lib/php.ini", NULL, 0 },
	{ "/opt/plesk/php", NULL, 4 },			/* Plesk's PHP versions */
	{ "/opt/cpanel", "ea-php*", 5 },		/* cPanel's EasyApache PHP */
	{ "/opt/alt", "php*", 4 },			/* CloudLinux alt-php */
	{ "/usr/local", "php*", 3 },			/* DirectAdmin's /usr/local/phpXY */
	{ "/etc/apache2", NULL, 3 },			/* php_admin_value in a vhost */
	{ "/etc/httpd", NULL, 3 },
	{ "/var/www/vhosts/system", NULL, 3 },		/* Plesk's per-domain: the most, last */
};

/* Where PHP binaries are, as glob patterns: the CLI's, and FPM's (the web's). */
static const char *const binaries[] = {
	"/usr/bin/php*", "/usr/local/bin/php*", "/opt/plesk/php/*/bin/php",
	"/opt/cpanel/ea-php*/root/usr/bin/php", "/opt/alt/php*/usr/bin/php",
	"/usr/local/php*/bin/php", "/usr/sbin/php-fpm*", "/usr/local/sbin/php-fpm*",
	"/opt/plesk/php/*/sbin/php-fpm", "/opt/cpanel/ea-php*/root/usr/sbin/php-fpm",
	"/opt/alt/php*/usr/sbin/php-fpm", "/usr/local/php*/sbin/php-fpm",
};

/* The programs that run the system's MTA by convention. */
static const char *const system_sendmails[] = { "/usr/sbin/sendmail", "/usr/lib/sendmail" };

/* The scan directories PHP builds read beside their php.ini. */
static const char *const scan_dirs[] = { "conf.d", "php.d", "php.d.all", "php.conf.d" };

struct setting {
	char file[PATH_MAX];	/* the host's path of the file that sets it */
	long line;		/* 0: not set, PHP's built-in default */
	char key[64];		/* as written: sendmail_path, php_admin_value[sendmail_path], ... */
	int apache;		/* php_admin_value KEY VALUE, not KEY = VALUE */
	char value[1024];
};

struct scan {
	const char *prefix;		/* ROOT and QWRAP_SCAN_ROOT */
	char target[PATH_MAX];		/* the capture target, as the host names it */
	char target_at[PATH_MAX];	/* ... and where it resolves */
	char wrapper_at[PATH_MAX];
	int run_binaries;
	char phpini[MAX_PHPINI][PATH_MAX];	/* the php.ini files evaluated ... */
	char phpini_value[MAX_PHPINI][1024];	/* ... and the sendmail_path of each */
	int nphpini, files;
	char seen[MAX_BINARIES][PATH_MAX];	/* the PHP binaries run, resolved */
	struct reach_result *res;
	void (*report)(int, const char *, void *);
	void *arg;
};

/* PATH as the host names it: without QWRAP_SCAN_ROOT when it starts with that. */
static const char *
host_path(const char *path)
{
	size_t n = strlen(QWRAP_SCAN_ROOT);

	if (n > 0 && strncmp(path, QWRAP_SCAN_ROOT, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

/*
 * Resolves the host's absolute PATH as the host would, every symbolic link
 * followed inside PREFIX (an absolute link means the host's /, not ours),
 * into OUT (the host's path, PREFIX not in it).  0 when it exists, 1 when
 * it does not (OUT then ends in the missing part as written), -1 on a loop.
 */
static int
resolve_at(const char *prefix, const char *path, char out[PATH_MAX])
{
	char rest[2 * PATH_MAX], cur[PATH_MAX] = "", full[2 * PATH_MAX];
	int links = 0;

	snprintf(rest, sizeof rest, "%s", path);
	for (char *p = rest; *p != '\0';) {
		char name[NAME_MAX + 1], link[PATH_MAX], tail[2 * PATH_MAX];
		size_t n = strcspn(p, "/");
		struct stat st;
		ssize_t k;

		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n + (p[n] == '/');
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(cur, '/');

			if (slash != NULL)
				*slash = '\0';
			p += n + (p[n] == '/');
			continue;
		}
		if (n > NAME_MAX || strlen(cur) + 1 + n >= PATH_MAX)
			return -1;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + (p[n] == '/');
		snprintf(full, sizeof full, "%s%s/%s", prefix, cur, name);
		if (lstat(full, &st) < 0) {
			size_t end = strlen(p);

			while (end > 0 && p[end - 1] == '/')
				end--;
			snprintf(out, PATH_MAX, "%s/%s%s%.*s", cur, name, end ? "/" : "", (int)end, p);
			return 1;
		}
		if (!S_ISLNK(st.st_mode)) {
			strcat(cur, "/");
			strcat(cur, name);
			continue;
		}
		if (++links > 40 || (k = readlink(full, link, sizeof link - 1)) <= 0)
			return -1;
		link[k] = '\0';
		if (link[0] == '/')
			cur[0] = '\0';
		if (snprintf(tail, sizeof tail, "%s/%s", link, p) >= (int)sizeof tail)
			return -1;
		memcpy(rest, tail, sizeof rest);
		p = rest;
	}
	snprintf(out, PATH_MAX, "%s", cur[0] ? cur : "/");
	return 0;
}

/*
 * Whether the word from BASE to END is a program that runs the rest of the
 * command line (env, nice, timeout, ...); *ARG is then the number of words
 * of its own that follow before its options (timeout's duration).
 */
static int
wrapper_word(const char *base, const char *end, int *arg)
{
	static const char *const names[] = { "env", "nice", "ionice", "nohup", "setsid",
	    "stdbuf", "timeout" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if ((size_t)(end - base) == strlen(names[i]) &&
		    strncmp(base, names[i], (size_t)(end - base)) == 0) {
			*arg = strcmp(names[i], "timeout") == 0 ? 2 : 0;
			return 1;
		}
	return 0;
}

/*
 * The program of a shell command line, as PHP's popen() hands it to sh:
 * the first word, past variable assignments, an `exec` (which docs/PHP.md
 * recommends) and a program that runs the rest (env -i, nice -n 5, timeout
 * 30), their options too, its quotes taken off.  Its place in VALUE, the
 * quotes included, goes to *AT and *LEN.
 */
static void
program_of(const char *value, char out[PATH_MAX], size_t *at, size_t *len)
{
	const char *p = value + strspn(value, " \t");
	size_t n;

	for (int arg = 0;; arg = arg > 0 ? arg - 1 : 0) {
		const char *base;

		n = strcspn(p, " \t");
		base = memrchr(p, '/', n) ? (const char *)memrchr(p, '/', n) + 1 : p;
		if (n == 0 || !(arg > 0 || (n == 4 && strncmp(p, "exec", 4) == 0) ||
		    (memchr(p, '=', n) != NULL && strcspn(p, "=/") < strcspn(p, "/")) ||
		    (*p == '-' && p != value + strspn(value, " \t")) || wrapper_word(base, p + n, &arg)))
			break;
		/* nice -n N: the option's value is a word of its own */
		if (n == 2 && strncmp(p, "-n", 2) == 0)
			arg = 2;
		p += n + strspn(p + n, " \t");
	}
	*at = (size_t)(p - value);
	*len = n;
	if ((*p == '\'' || *p == '"') && strchr(p + 1, *p) != NULL) {
		n = (size_t)(strchr(p + 1, *p) - p - 1);
		*len = n + 2;
		p++;
	}
	snprintf(out, PATH_MAX, "%.*s", (int)n, p);
}

/* The first of sh's default PATH that holds NAME on the host, into OUT; 0, or -1. */
static int
on_path(const struct scan *sc, const char *name, char out[PATH_MAX])
{
	static const char *const dirs[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
	    "/usr/bin", "/sbin", "/bin" };
	char full[2 * PATH_MAX];

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(out, PATH_MAX, "%s/%s", dirs[i], name);
		snprintf(full, sizeof full, "%s%s", sc->prefix, out);
		if (strchr(name, '/') == NULL && name[0] != '\0' && access(full, X_OK) == 0)
			return 0;
	}
	return -1;
}

static void __attribute__((format(printf, 3, 4)))
miss(struct scan *sc, int problem, const char *fmt, ...)
{
	char msg[5 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/*
	 * One line, and nothing a terminal obeys (C0, DEL, and anything past
	 * ASCII: no C1 control or bidi override): names and values come from files.
	 */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	sc->res->misses += problem;
	sc->res->warnings += !problem;
	sc->report(problem, msg, sc->arg);
}

/*
 * Where PROGRAM leads: -1 when it reaches the wrapper; else WHY says where,
 * and the result is 1 for a miss, 0 for what is only worth a warning.
 */
static int
leads(struct scan *sc, const char *program, char *why, size_t cap)
{
	char at[PATH_MAX], full[2 * PATH_MAX], found[PATH_MAX], head[2] = "";
	struct stat st;
	int r, fd, mark;

	/* Not a path: sh looks it up in its default PATH (FPM's clear_env leaves that). */
	if (program[0] != '/' && on_path(sc, program, found) == 0) {
		r = leads(sc, found, why, cap);
		if (r >= 0) {
			snprintf(full, sizeof full, "%s", why);
			snprintf(why, cap, "%s (found by PATH: %s", program, full);
			snprintf(why + strlen(why), cap - strlen(why), ")");
		}
		return r;
	}
	if (program[0] != '/') {
		snprintf(why, cap, "%s, found by PATH: no directory of sh's default PATH has it",
		    program[0] ? program : "nothing");
		return 0;
	}
	if ((r = resolve_at(sc->prefix, program, at)) < 0) {
		snprintf(why, cap, "%s, a link that leads nowhere (a loop, or too long)", program);
		return 0;
	}
	/* Before the test for existence: a target not made yet is reported on its own. */
	if (strcmp(at, sc->target_at) == 0 || strcmp(at, sc->wrapper_at) == 0)
		return -1;
	if (r == 1) {
		snprintf(why, cap, "%s, which does not exist: PHP's mail() fails", program);
		return 0;
	}
	/* Read only as a regular file: a FIFO or device must not hang or be opened for real. */
	snprintf(full, sizeof full, "%s%s", sc->prefix, at);
	fd = open(full, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		snprintf(why, cap, "%s%s%s, not a program: PHP's mail() fails", program,
		    strcmp(at, program) ? ", which is " : "", strcmp(at, program) ? at : "");
		return 0;
	}
	mark = has_qwrap_mark(fd);
	if (pread(fd, head, 2, 0) != 2)
		head[0] = '\0';
	close(fd);
	if (mark)
		return -1;
	snprintf(why, cap, "%s%s%s, not %s: its mail goes around capture%s", program,
	    strcmp(at, program) ? ", which is " : "", strcmp(at, program) ? at : "", sc->target,
	    memcmp(head, "#!", 2) == 0 ? " (a script: if it runs the target in the end, this"
	    " is not a miss)" : "");
	return 1;
}

/*
 * What to write instead: the same setting and arguments, the target's
 * program, the value in double quotes (unquoted, PHP's ini scanner refuses
 * '=' and more, and then ignores the rest of the file).  A value that holds
 * a double quote or a ${...} cannot be written back so: said in words.
 */
static void
fix_of(const struct scan *sc, const struct setting *s, char *out, size_t cap)
{
	char program[PATH_MAX], value[sizeof s->value + PATH_MAX];
	size_t at, len;

	program_of(s->value, program, &at, &len);
	snprintf(value, sizeof value, "%.*s%s%s", (int)at, s->value, sc->target, s->value + at + len);
	if (strchr(value, '"') != NULL || strstr(value, "${") != NULL)
		snprintf(out, cap, "the same, with %s as its program", sc->target);
	else if (s->apache)
		snprintf(out, cap, "%s \"%s\"", s->key, value);
	else
		snprintf(out, cap, "%s = \"%s\"", s->key, value);
}

/* S's program, and a line when it does not reach the wrapper; VIA: the php.ini a binary read. */
static void
check_setting(struct scan *sc, const struct setting *s, const char *via)
{
	char program[PATH_MAX], why[3 * PATH_MAX], fix[3 * PATH_MAX];
	size_t at, len;
	int r;

	/* Empty (none, off and null are too): PHP's mail() fails, nothing goes around. */
	if (s->value[0] == '\0' || strcasecmp(s->value, "none") == 0 ||
	    strcasecmp(s->value, "off") == 0 || strcasecmp(s->value, "null") == 0)
		return;
	sc->res->checked++;
	program_of(s->value, program, &at, &len);
	if ((r = leads(sc, program, why, sizeof why)) < 0)
		return;
	fix_of(sc, s, fix, sizeof fix);
	if (s->line > 0)
		miss(sc, r, "PHP %s:%ld: \"%s%s%s\" runs %s; write instead: %s", s->file,
		    s->line, s->key, s->apache ? " " : " = ", s->value, why, fix);
	else if (s->line == 0)
		miss(sc, r, "PHP %s: sendmail_path is not set: PHP's built-in \"%s\" runs %s;"
		    " add under [mail function]: %s", s->file, s->value, why, fix);
	else
		miss(sc, r, "PHP %s (php -i): sendmail_path \"%s\" runs %s; write in %s: %s",
		    s->file, s->value, why, via, fix);
}

/* P past WORD and the blanks after it, or NULL; BLANK: at least one blank is needed. */
static const char *
after(const char *p, const char *word, int blank)
{
	size_t k = strlen(word), b;

	if (strncmp(p, word, k) != 0)
		return NULL;
	b = strspn(p + k, " \t");
	return blank && b == 0 ? NULL : p + k + b;
}

/*
 * Whether LINE sets sendmail_path, in one of the syntaxes that can:
 * php.ini's KEY = VALUE, an FPM pool's php_admin_value[KEY] = VALUE or
 * php_value[KEY] = VALUE (FPM applies either, whatever the setting's
 * mode), Apache's php_admin_value KEY VALUE (mod_php's php_value cannot set
 * a PHP_INI_SYSTEM setting).  The value unquoted, a php.ini comment (a ';'
 * outside double quotes) dropped.
 */
static int
parse_line(const char *line, struct setting *s)
{
	static const char *const pool[] = { "php_admin_value[sendmail_path]",
	    "php_value[sendmail_path]" };
	const char *p = line + strspn(line, " \t"), *v = NULL;
	size_t n;

	s->apache = 0;
	if ((v = after(p, "sendmail_path", 0)) != NULL)
		snprintf(s->key, sizeof s->key, "sendmail_path");
	for (size_t i = 0; v == NULL && i < sizeof pool / sizeof pool[0]; i++)
		if ((v = after(p, pool[i], 0)) != NULL)
			snprintf(s->key, sizeof s->key, "%s", pool[i]);
	if (v == NULL && (v = after(p, "php_admin_value", 1)) != NULL &&
	    (v = after(v, "sendmail_path", 1)) != NULL) {
		snprintf(s->key, sizeof s->key, "php_admin_value sendmail_path");
		s->apache = 1;
	}
	if (v == NULL || (!s->apache && *v++ != '='))
		return 0;
	v += strspn(v, " \t");
	if (*v == '"' || *v == '\'') {
		const char *end = strchr(v + 1, *v);

		n = end ? (size_t)(end - v - 1) : strcspn(v + 1, "\r\n");
		v++;
	} else {
		int quoted = 0;

		for (n = 0; v[n] != '\0' && v[n] != '\r' && v[n] != '\n' &&
		    (s->apache || quoted || v[n] != ';'); n++)
			quoted ^= v[n] == '"';
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
	}
	snprintf(s->value, sizeof s->value, "%.*s", (int)n, v);
	return 1;
}

/*
 * The settings of sendmail_path in FILE (the host's path).  A php.ini's
 * last one wins, into S (1 when there is one); one in a [HOST=...] or
 * [PATH=...] section applies there only, and is checked on its own, as is
 * each one when EACH (an FPM pool file or an Apache vhost holds many).
 */
static int
read_setting(struct scan *sc, const char *file, struct setting *s, int each)
{
	char full[2 * PATH_MAX], *line = NULL;
	size_t cap = 0;
	struct setting t;
	struct stat st;
	long no = 0;
	int fd, found = 0, special = 0;
	FILE *fp;

	/* A FIFO or a device put in the walk's way is not read (nor waited on). */
	snprintf(full, sizeof full, "%s%s", sc->prefix, file);
	if ((fd = open(full, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	while (getline(&line, &cap, fp) > 0) {
		const char *p = line + strspn(line, " \t");

		no++;
		if (*p == '[') {
			special = strncasecmp(p, "[HOST=", 6) == 0 || strncasecmp(p, "[PATH=", 6) == 0;
			continue;
		}
		if (strstr(p, "sendmail_path") == NULL || !parse_line(p, &t))
			continue;
		snprintf(t.file, sizeof t.file, "%s", file);
		t.line = no;
		if (each || special)
			check_setting(sc, &t, NULL);
		else {
			*s = t;
			found = 1;
		}
	}
	free(line);
	fclose(fp);
	return found;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * A php.ini as PHP reads it: its own setting, then each *.ini of its scan
 * directory in name order, the last one winning; PHP's default when none.
 * Without a scan directory beside it (Plesk's per-domain php.ini: the PHP
 * build's own is read too) "not set" cannot be told from here: that PHP's
 * php -i can.
 */
static void
check_phpini(struct scan *sc, const char *file)
{
	char dir[PATH_MAX];
	struct setting s = { .line = 0 };
	int set, scanned = 0;

	path_dir(file, dir);
	if (!(set = read_setting(sc, file, &s, 0))) {
		snprintf(s.file, sizeof s.file, "%s", file);
		snprintf(s.key, sizeof s.key, "sendmail_path");
		snprintf(s.value, sizeof s.value, "%s", PHP_DEFAULT_PATH);
	}
	for (size_t i = 0; i < sizeof scan_dirs / sizeof scan_dirs[0]; i++) {
		char sub[PATH_MAX], full[2 * PATH_MAX];
		struct dirent **names;
		int n;

		snprintf(sub, sizeof sub, "%s/%s", dir, scan_dirs[i]);
		snprintf(full, sizeof full, "%s%s", sc->prefix, sub);
		if ((n = scandir(full, &names, NULL, by_name)) < 0)
			continue;
		scanned = 1;
		for (int k = 0; k < n; k++) {
			char ini[PATH_MAX];

			if (fnmatch("*.ini", names[k]->d_name, 0) == 0 &&
			    snprintf(ini, sizeof ini, "%s/%s", sub, names[k]->d_name) < PATH_MAX)
				set |= read_setting(sc, ini, &s, 0);
			free(names[k]);
		}
		free(names);
	}
	if (!set && !scanned)
		return;
	if (sc->nphpini < MAX_PHPINI) {
		snprintf(sc->phpini[sc->nphpini], PATH_MAX, "%s", file);
		snprintf(sc->phpini_value[sc->nphpini++], 1024, "%s", s.value);
	}
	check_setting(sc, &s, NULL);
}

/* Whether FILE (the host's path) is read as part of a php.ini's scan directory. */
static int
in_scan_dir(const struct scan *sc, const char *file)
{
	char dir[PATH_MAX], up[PATH_MAX], ini[2 * PATH_MAX];
	const char *name;
	struct stat st;

	path_dir(file, dir);
	name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
	for (size_t i = 0; i < sizeof scan_dirs / sizeof scan_dirs[0]; i++)
		if (strcmp(name, scan_dirs[i]) == 0) {
			path_dir(dir, up);
			snprintf(ini, sizeof ini, "%s%s/php.ini", sc->prefix, up);
			return stat(ini, &st) == 0;
		}
	return 0;
}

static void
check_file(struct scan *sc, const char *file)
{
	const char *name = strrchr(file, '/') + 1;
	struct setting s;

	if (strcmp(name, "php.ini") == 0)
		check_phpini(sc, file);
	else if (fnmatch("*.ini", name, 0) == 0 && !in_scan_dir(sc, file)) {
		/* An ini of no php.ini here: its last setting. */
		if (read_setting(sc, file, &s, 0))
			check_setting(sc, &s, NULL);
	} else if (fnmatch("*.conf", name, 0) == 0)
		read_setting(sc, file, &s, 1);	/* FPM pools, Apache vhosts: each */
}

/* Whether NAME is a file PHP or a web server reads its settings from. */
static int
is_config(const char *name)
{
	return fnmatch("*.ini", name, 0) == 0 || fnmatch("*.conf", name, 0) == 0;
}

/* Every file below the host's DIR, to DEPTH levels; links to directories not followed. */
static void
walk(struct scan *sc, const char *dir, const char *first, int depth)
{
	char full[2 * PATH_MAX];
	struct dirent **names;
	struct stat st;
	int n;

	snprintf(full, sizeof full, "%s%s", sc->prefix, dir);
	if (stat(full, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		if (sc->files++ < MAX_FILES)
			check_file(sc, dir);
		return;
	}
	if (!S_ISDIR(st.st_mode) || (n = scandir(full, &names, NULL, by_name)) < 0)
		return;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char sub[PATH_MAX];

		/*
		 * Debian's *-available: what is on is read through *-enabled's or
		 * conf.d's links.  Plesk's per-domain logs and statistics: many
		 * files, none of PHP's.
		 */
		if (name[0] != '.' && (first == NULL || fnmatch(first, name, 0) == 0) &&
		    fnmatch("*-available", name, 0) != 0 && strcmp(name, "logs") != 0 &&
		    strcmp(name, "statistics") != 0 &&
		    snprintf(sub, sizeof sub, "%s/%s", dir, name) < PATH_MAX) {
			snprintf(full, sizeof full, "%s%s", sc->prefix, sub);
			if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
				walk(sc, sub, NULL, depth - 1);
			else if (is_config(name) && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
			    sc->files++ < MAX_FILES)
				check_file(sc, sub);
		}
		free(names[i]);
	}
	free(names);
}

/* The value of "KEY => VALUE => ..." in php -i's text, into OUT. */
static int
phpinfo_value(const char *text, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);

	for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (strncmp(l, key, k) == 0 && strncmp(l + k, " => ", 4) == 0) {
			const char *v = l + k + 4;
			size_t n = strcspn(v, "\n");
			const char *sep = memmem(v, n, " => ", 4);

			snprintf(out, cap, "%.*s", (int)(sep ? (size_t)(sep - v) : n), v);
			return 1;
		}
	return 0;
}

/*
 * Whether root may run the host's BIN: root's, writable by nobody else,
 * one name only (no hard link a user made in a sticky directory), in a
 * directory nobody else may write, below trusted ones.  0, or -1 with ERR.
 */
static int
runnable(const struct scan *sc, const char *bin, char err[ERR_MAX])
{
	char full[2 * PATH_MAX], dir[PATH_MAX];
	struct stat st, dst;

	snprintf(full, sizeof full, "%s%s", sc->prefix, bin);
	path_dir(full, dir);
	if (lstat(full, &st) < 0 || stat(dir, &dst) < 0) {
		snprintf(err, ERR_MAX, "%s", strerror(errno));
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & 022) || st.st_nlink != 1 || (dst.st_mode & 002)) {
		snprintf(err, ERR_MAX, "it is uid %ld, mode %04o, %ld links, in a directory of mode"
		    " %04o: root runs only a file of root's alone", (long)st.st_uid,
		    (unsigned)(st.st_mode & 07777), (long)st.st_nlink, (unsigned)(dst.st_mode & 07777));
		return -1;
	}
	return trusted_path("", bin, full, err) == 0 ? 0 : -1;
}

/*
 * What a PHP binary itself says, `php -i`: it knows its own built-in
 * default and which php.ini it reads.  Run only when root may (runnable),
 * never out of a --root tree.
 */
static void
check_binary(struct scan *sc, const char *bin)
{
	char full[2 * PATH_MAX], err[ERR_MAX], *out, loaded[PATH_MAX] = "", dir[PATH_MAX] = "";
	char *argv[] = { full, "-i", NULL };
	struct setting s = { .line = 0 };
	struct stat st;

	snprintf(full, sizeof full, "%s%s", sc->prefix, bin);
	if (stat(full, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return;
	if (runnable(sc, bin, err) != 0) {
		miss(sc, 0, "PHP %s not run (php -i): %s", bin, err);
		return;
	}
	if ((out = malloc(PHP_OUT_MAX)) == NULL)
		return;
	if (run_command(argv, NULL, out, PHP_OUT_MAX) == 0 &&
	    phpinfo_value(out, "sendmail_path", s.value, sizeof s.value)) {
		phpinfo_value(out, "Loaded Configuration File", loaded, sizeof loaded);
		phpinfo_value(out, "Configuration File (php.ini) Path", dir, sizeof dir);
		for (int i = 0; i < sc->nphpini; i++)
			if (strcmp(sc->phpini[i], host_path(loaded)) == 0 &&
			    strcmp(sc->phpini_value[i], s.value) == 0)
				goto done;	/* said already, of its php.ini */
		if (strcmp(s.value, "no value") == 0)
			goto done;
		snprintf(s.file, sizeof s.file, "%s", bin);
		snprintf(s.key, sizeof s.key, "sendmail_path");
		s.line = -1;
		if (loaded[0] == '\0' || strcmp(loaded, "(none)") == 0)
			snprintf(loaded, sizeof loaded, "%s/php.ini (there is none)", host_path(dir));
		check_setting(sc, &s, host_path(loaded));
	}
done:
	free(out);
}

static void
check_binaries(struct scan *sc)
{
	int nseen = 0;

	for (size_t i = 0; i < sizeof binaries / sizeof binaries[0]; i++) {
		char pattern[2 * PATH_MAX];
		glob_t g;

		snprintf(pattern, sizeof pattern, "%s%s", sc->prefix, binaries[i]);
		if (glob(pattern, 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			const char *bin = g.gl_pathv[k] + strlen(sc->prefix);
			const char *name = strrchr(bin, '/') + 1;
			char at[PATH_MAX];
			int dup = 0;

			/* php, php8.2, php82, php-fpm8.2: not php-cgi, php-config, phpize */
			const char *v = name + 3 + (strncmp(name + 3, "-fpm", 4) == 0 ? 4 : 0);

			if (strncmp(name, "php", 3) != 0 || strspn(v, "0123456789.") != strlen(v) ||
			    resolve_at(sc->prefix, bin, at) != 0)
				continue;
			for (int j = 0; j < nseen && !dup; j++)
				dup = strcmp(sc->seen[j], at) == 0;
			if (dup || nseen == MAX_BINARIES)
				continue;
			memcpy(sc->seen[nseen++], at, sizeof at);
			check_binary(sc, at);	/* the host's file, not what its link means here */
		}
		globfree(&g);
	}
}

/* /usr/sbin/sendmail and /usr/lib/sendmail: cron, scripts and PHP's default run them. */
static void
check_system(struct scan *sc)
{
	char said[PATH_MAX] = "";

	for (size_t i = 0; i < sizeof system_sendmails / sizeof system_sendmails[0]; i++) {
		const char *path = system_sendmails[i];
		char at[PATH_MAX], why[3 * PATH_MAX], full[2 * PATH_MAX];
		struct stat st;
		int r;

		snprintf(full, sizeof full, "%s%s", sc->prefix, path);
		/* /usr/lib/sendmail is most often a link to /usr/sbin/sendmail: said once. */
		if (lstat(full, &st) < 0 || (resolve_at(sc->prefix, path, at) == 0 &&
		    strcmp(at, said) == 0))
			continue;
		sc->res->checked++;
		if ((r = leads(sc, path, why, sizeof why)) < 0)
			continue;
		memcpy(said, at, sizeof said);
		if (r == 0)
			miss(sc, 0, "%s leads to %s", path, why);
		else
			miss(sc, 1, "%s%s%s%s is not %s: what cron, scripts and PHP's default send"
			    " through it goes around capture; if qmail delivers here: ln -sfn %s %s",
			    path, strcmp(at, path) ? ", which is " : "", strcmp(at, path) ? at : "",
			    strcmp(at, path) ? "," : "", sc->target, sc->target, path);
	}
}

int
reach_scan(const char *root, const char *target, struct reach_result *res,
    void (*report)(int problem, const char *msg, void *arg), void *arg)
{
	static struct scan sc;	/* large: not on the stack */
	char prefix[PATH_MAX];

	if (snprintf(prefix, sizeof prefix, "%s%s", root, QWRAP_SCAN_ROOT) >= PATH_MAX)
		return -1;
	memset(&sc, 0, sizeof sc);
	memset(res, 0, sizeof *res);
	sc.prefix = prefix;
	sc.res = res;
	sc.report = report;
	sc.arg = arg;
	sc.run_binaries = root[0] == '\0';
	snprintf(sc.target, sizeof sc.target, "%s", host_path(target));
	snprintf(res->target, sizeof res->target, "%s", sc.target);
	if (resolve_at(prefix, sc.target, sc.target_at) < 0 ||
	    resolve_at(prefix, host_path(QWRAP_WRAPPER), sc.wrapper_at) < 0)
		return -1;
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
		walk(&sc, roots[i].dir, roots[i].first, roots[i].depth);
	if (sc.files > MAX_FILES)
		miss(&sc, 0, "PHP: only the first %d of %d files looked at were read", MAX_FILES,
		    sc.files);
	if (sc.run_binaries)
		check_binaries(&sc);
	check_system(&sc);
	return 0;
}
