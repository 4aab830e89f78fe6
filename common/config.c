/*
 * config.c: load and validate qwrap.conf with libconfig.  Runs inside the
 * set-gid wrapper: it opens only the path it is given, checks the open file's
 * owner and mode, and copies every value into fixed-size fields.
 */
#include "config.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const field_names[] = {
	[FIELD_ID] = "id", [FIELD_UID] = "uid", [FIELD_GID] = "gid",
	[FIELD_PID] = "pid", [FIELD_CWD] = "cwd", [FIELD_SCRIPT] = "script",
};
#define NFIELD_NAMES (sizeof field_names / sizeof field_names[0])

const char *
conf_field_name(enum conf_field f)
{
	return (unsigned)f < NFIELD_NAMES ? field_names[f] : "?";
}

void
conf_defaults(struct conf *c)
{
	/* Every field by name: the arrays are used only as far as their counts. */
	c->log_syslog = 0;
	snprintf(c->sendmail, sizeof c->sendmail, "%s", QWRAP_REAL_SENDMAIL);
	snprintf(c->log_file, sizeof c->log_file, "%s", QWRAP_LOG_PATH);
	snprintf(c->header_name, sizeof c->header_name, "X-Additional-Header");
	c->fields[0] = FIELD_ID;
	c->fields[1] = FIELD_UID;
	c->fields[2] = FIELD_CWD;
	c->fields[3] = FIELD_SCRIPT;
	c->nfields = 4;
	snprintf(c->state_dir, sizeof c->state_dir, "%s", QWRAP_STATE_DIR);
	snprintf(c->spool_dir, sizeof c->spool_dir, "%s", QWRAP_SPOOL_DIR);
	c->spool_max_mb = 1024;
	c->vhosts_root[0] = '\0';
	c->on_error = ON_ERROR_DELIVER;
	c->smtp_mode = SMTP_MODE_RELAY;
	c->mta = MTA_ANY;
	snprintf(c->fpm_status_path, sizeof c->fpm_status_path, "/fpm-status");
	c->limits[0] = (struct conf_limit){ LIMIT_PER_UID, 200, 3600,
	    LIMIT_COUNT_MESSAGES, LIMIT_HOLD, 0 };
	c->nlimits = 1;
	c->exempt_uids[0] = 0;
	c->nexempt = 1;
}

long
conf_parse_duration(const char *s)
{
	long n = 0, unit = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (LONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	switch (*s) {
	case '\0': break;
	case 's': unit = 1; s++; break;
	case 'm': unit = 60; s++; break;
	case 'h': unit = 3600; s++; break;
	case 'd': unit = 86400; s++; break;
	case 'w': unit = 7 * 86400; s++; break;
	default: return -1;
	}
	if (*s != '\0' || n > LONG_MAX / unit)
		return -1;
	return n * unit;
}

struct ctx {
	const char *path;
	char *err;
	int bad;
};

static void
fail(struct ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char msg[CONF_ERR_MAX];
	va_list ap;

	if (x->bad++)
		return;		/* the first error is the one worth reading */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(x->err, CONF_ERR_MAX, "%s:%d: %s", x->path,
	    s ? (int)config_setting_source_line(s) : 0, msg);
}

static const char *
str_of(struct ctx *x, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		const char *name = config_setting_name(s);

		if (name != NULL)
			fail(x, s, "'%s' must be a string", name);
		else
			fail(x, s, "each element must be a string");
		return NULL;
	}
	return config_setting_get_string(s);
}

static int
bool_of(struct ctx *x, const config_setting_t *s, int *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		fail(x, s, "'%s' must be true or false", config_setting_name(s));
		return -1;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

static int
long_of(struct ctx *x, const config_setting_t *s, const char *what, long *out)
{
	int t = config_setting_type(s);

	if (t == CONFIG_TYPE_INT)
		*out = config_setting_get_int(s);
	else if (t == CONFIG_TYPE_INT64)
		*out = (long)config_setting_get_int64(s);
	else {
		fail(x, s, "%s must be an integer", what);
		return -1;
	}
	return 0;
}

static void
abs_path(struct ctx *x, const config_setting_t *s, char *out, size_t cap)
{
	const char *v = str_of(x, s);

	if (v == NULL)
		return;
	if (v[0] != '/')
		fail(x, s, "'%s' must be an absolute path, not \"%s\"",
		    config_setting_name(s), v);
	else if (strlen(v) >= cap)
		fail(x, s, "'%s' is too long", config_setting_name(s));
	else
		memcpy(out, v, strlen(v) + 1);
}

/* Picks VALUE's index in NAMES (NULL-terminated); -1 when it is not there. */
static int
one_of(const char *value, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

static int
enum_of(struct ctx *x, const config_setting_t *s, const char *const *names,
    const char *choices)
{
	const char *v = str_of(x, s);
	int i;

	if (v == NULL)
		return -1;
	if ((i = one_of(v, names)) < 0)
		fail(x, s, "'%s' must be %s, not \"%s\"",
		    config_setting_name(s), choices, v);
	return i;
}

static void
load_log(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	if (!config_setting_is_group(g)) {
		fail(x, g, "'log' must be a group: log = { file = \"...\"; syslog = false; }");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "file") == 0)
			abs_path(x, s, c->log_file, sizeof c->log_file);
		else if (strcmp(k, "syslog") == 0)
			bool_of(x, s, &c->log_syslog);
		else
			fail(x, s, "unknown key 'log.%s' (known: file, syslog)", k);
	}
}

/* php-fpm's status page per pool: the socket (%p: the pool's name) and the path. */
static void
load_fpm_status(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	if (!config_setting_is_group(g)) {
		fail(x, g, "'fpm_status' must be a group: fpm_status = { socket = \"/run/php/%%p-status.sock\"; path = \"/fpm-status\"; }");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "socket") == 0)
			abs_path(x, s, c->fpm_status_socket, sizeof c->fpm_status_socket);
		else if (strcmp(k, "path") == 0)
			abs_path(x, s, c->fpm_status_path, sizeof c->fpm_status_path);
		else
			fail(x, s, "unknown key 'fpm_status.%s' (known: socket, path)", k);
	}
}

static int
valid_header_name(const char *v)
{
	/* Fields that mean something to mail software: renaming them would break mail. */
	static const char *const taken[] = { "From", "Sender", "Reply-To", "To",
	    "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To",
	    "References", "Received", "Return-Path", "MIME-Version",
	    "Delivered-To", "X-PHP-Originating-Script", NULL };
	size_t n = strlen(v);

	if (n == 0 || n > CONF_HEADER_NAME_MAX)
		return 0;
	for (int i = 0; taken[i] != NULL; i++)
		if (strcasecmp(v, taken[i]) == 0)
			return 0;
	if (strncasecmp(v, "Content-", 8) == 0 || strncasecmp(v, "Resent-", 7) == 0)
		return 0;
	for (; *v; v++)
		if (*v < 0x21 || *v > 0x7e || *v == ':')
			return 0;
	return 1;
}

static void
load_header(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	if (!config_setting_is_group(g)) {
		fail(x, g, "'header' must be a group: header = { name = \"...\"; fields = [...]; }");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "name") == 0) {
			const char *v = str_of(x, s);
			if (v != NULL && !valid_header_name(v))
				fail(x, s, "'header.name' must be 1 to %d printable characters without ':' or spaces, and not a standard field such as From or Subject",
				    CONF_HEADER_NAME_MAX);
			else if (v != NULL)
				memcpy(c->header_name, v, strlen(v) + 1);
		} else if (strcmp(k, "fields") == 0) {
			int n = config_setting_length(s);
			unsigned seen = 0;

			if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
				fail(x, s, "'header.fields' must be a list such as [\"id\", \"uid\"]");
				continue;
			}
			if (n < 1 || n > CONF_MAX_FIELDS) {
				fail(x, s, "'header.fields' must name 1 to %d fields", CONF_MAX_FIELDS);
				continue;
			}
			for (int j = 0; j < n; j++) {
				config_setting_t *e = config_setting_get_elem(s, j);
				const char *v = str_of(x, e);
				int f;

				if (v == NULL)
					break;
				for (f = 0; f < (int)NFIELD_NAMES; f++)
					if (strcmp(v, field_names[f]) == 0)
						break;
				if (f == (int)NFIELD_NAMES) {
					fail(x, e, "unknown header field \"%s\" (known: id, uid, gid, pid, cwd, script)", v);
					break;
				}
				if (seen & (1u << f)) {
					fail(x, e, "header field \"%s\" listed twice", v);
					break;
				}
				seen |= 1u << f;
				c->fields[j] = (enum conf_field)f;
			}
			c->nfields = n;
		} else
			fail(x, s, "unknown key 'header.%s' (known: name, fields)", k);
	}
}

const char *const conf_limit_pers[] = { "uid", "script", "cwd", NULL };
const char *const conf_limit_counts[] = { "messages", "recipients", NULL };
const char *const conf_limit_actions[] = { "hold", "reject", "log", NULL };

static void
load_limit(struct ctx *x, const config_setting_t *g, struct conf_limit *l)
{
	int have_per = 0, have_max = 0, have_window = 0, v;

	*l = (struct conf_limit){ LIMIT_PER_UID, 0, 0, LIMIT_COUNT_MESSAGES,
	    LIMIT_HOLD, config_setting_source_line(g) };
	if (!config_setting_is_group(g)) {
		fail(x, g, "each limit must be a group: { per = \"uid\"; max = 200; window = \"1h\"; action = \"hold\"; }");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "per") == 0) {
			if ((v = enum_of(x, s, conf_limit_pers, "\"uid\", \"script\" or \"cwd\"")) >= 0)
				l->per = (enum limit_per)v;
			have_per = 1;
		} else if (strcmp(k, "max") == 0) {
			if (long_of(x, s, "'max'", &l->max) == 0 &&
			    (l->max < 1 || l->max > CONF_LIMIT_MAX))
				fail(x, s, "'max' must be from 1 to %d", CONF_LIMIT_MAX);
			have_max = 1;
		} else if (strcmp(k, "window") == 0) {
			const char *w;
			long n = -1;

			if (config_setting_type(s) == CONFIG_TYPE_STRING) {
				w = config_setting_get_string(s);
				n = conf_parse_duration(w);
			} else
				long_of(x, s, "'window'", &n);
			if (n < 1 || n > 366L * 86400)
				fail(x, s, "'window' must be a duration from 1s to 366d, such as \"10m\" or \"1h\"");
			l->window = n;
			have_window = 1;
		} else if (strcmp(k, "count") == 0) {
			if ((v = enum_of(x, s, conf_limit_counts, "\"messages\" or \"recipients\"")) >= 0)
				l->count = (enum limit_count)v;
		} else if (strcmp(k, "action") == 0) {
			if ((v = enum_of(x, s, conf_limit_actions, "\"hold\", \"reject\" or \"log\"")) >= 0)
				l->action = (enum limit_action)v;
		} else
			fail(x, s, "unknown key '%s' in a limit (known: per, max, window, count, action)", k);
	}
	if (!have_per || !have_max || !have_window)
		fail(x, g, "a limit needs 'per', 'max' and 'window'");
}

static void
load_limits(struct ctx *x, const config_setting_t *s, struct conf *c)
{
	int n = config_setting_length(s);

	if (!config_setting_is_list(s)) {
		fail(x, s, "'limits' must be a list of groups: limits = ( { ... }, { ... } );");
		return;
	}
	if (n > CONF_MAX_LIMITS) {
		fail(x, s, "at most %d limits", CONF_MAX_LIMITS);
		return;
	}
	for (int i = 0; i < n; i++)
		load_limit(x, config_setting_get_elem(s, i), &c->limits[i]);
	c->nlimits = n;
}

static void
load_exempt(struct ctx *x, const config_setting_t *s, struct conf *c)
{
	int n = config_setting_length(s);

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		fail(x, s, "'exempt_uids' must be a list of uids such as [0]");
		return;
	}
	if (n > CONF_MAX_EXEMPT) {
		fail(x, s, "at most %d exempt uids", CONF_MAX_EXEMPT);
		return;
	}
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, i);

		if (long_of(x, e, "an exempt uid", &c->exempt_uids[i]) == 0 &&
		    (c->exempt_uids[i] < 0 || c->exempt_uids[i] > 0xfffffffeL))
			fail(x, e, "uid %ld is out of range", c->exempt_uids[i]);
	}
	c->nexempt = n;
}

static void
load_root(struct ctx *x, const config_setting_t *root, struct conf *c)
{
	static const char *const on_errors[] = { "deliver", "tempfail", NULL };
	static const char *const smtp_modes[] = { "relay", "passthrough", NULL };
	static const char *const mtas[] = { "any", "qmail", "postfix", NULL };
	int v;

	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "sendmail") == 0)
			abs_path(x, s, c->sendmail, sizeof c->sendmail);
		else if (strcmp(k, "log") == 0)
			load_log(x, s, c);
		else if (strcmp(k, "header") == 0)
			load_header(x, s, c);
		else if (strcmp(k, "fpm_status") == 0)
			load_fpm_status(x, s, c);
		else if (strcmp(k, "state_dir") == 0)
			abs_path(x, s, c->state_dir, sizeof c->state_dir);
		else if (strcmp(k, "spool_dir") == 0)
			abs_path(x, s, c->spool_dir, sizeof c->spool_dir);
		else if (strcmp(k, "vhosts_root") == 0)
			abs_path(x, s, c->vhosts_root, sizeof c->vhosts_root);
		else if (strcmp(k, "notify") == 0) {
			const char *a = config_setting_type(s) == CONFIG_TYPE_STRING ?
			    config_setting_get_string(s) : NULL;
			size_t n = a ? strlen(a) : 0;
			int ok = a != NULL && n <= CONF_NOTIFY_MAX && (n == 0 || strchr(a, '@') != NULL);

			/* An address that goes into a To: line: nothing that could start another. */
			for (size_t j = 0; ok && j < n; j++)
				ok = a[j] > 0x20 && a[j] < 0x7f && a[j] != ',' && a[j] != '<' && a[j] != '>';
			if (!ok)
				fail(x, s, "'notify' must be one mail address such as \"postmaster@example.com\", or \"\"");
			else
				memcpy(c->notify, a, n + 1);
		} else if (strcmp(k, "spool_max_mb") == 0) {
			if (long_of(x, s, "'spool_max_mb'", &c->spool_max_mb) == 0 &&
			    (c->spool_max_mb < 1 || c->spool_max_mb > 1048576))
				fail(x, s, "'spool_max_mb' must be from 1 to 1048576 (MiB)");
		}
		else if (strcmp(k, "on_error") == 0) {
			if ((v = enum_of(x, s, on_errors, "\"deliver\" or \"tempfail\"")) >= 0)
				c->on_error = (enum conf_on_error)v;
		} else if (strcmp(k, "smtp_mode") == 0) {
			if ((v = enum_of(x, s, smtp_modes, "\"relay\" or \"passthrough\"")) >= 0)
				c->smtp_mode = (enum conf_smtp_mode)v;
		} else if (strcmp(k, "mta") == 0) {
			if ((v = enum_of(x, s, mtas, "\"any\", \"qmail\" or \"postfix\"")) >= 0)
				c->mta = (enum conf_mta)v;
		} else if (strcmp(k, "limits") == 0)
			load_limits(x, s, c);
		else if (strcmp(k, "exempt_uids") == 0)
			load_exempt(x, s, c);
		else
			fail(x, s, "unknown key '%s' (known: sendmail, log, header, state_dir, spool_dir, spool_max_mb, on_error, smtp_mode, mta, limits, exempt_uids, notify, vhosts_root, fpm_status)", k);
	}
}

/* Opens PATH without following a symlink and checks who may have written it. */
static int
open_checked(const char *path, uid_t trusted, char *err)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		close(fd);
		errno = EINVAL;
		return -2;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, CONF_ERR_MAX, "%s: not a regular file", path);
		close(fd);
		return -2;
	}
	if (trusted != (uid_t)-1 &&
	    ((st.st_uid != 0 && st.st_uid != trusted) || (st.st_mode & 022))) {
		snprintf(err, CONF_ERR_MAX,
		    "%s: must be owned by root and writable by nobody else (owner %ld, mode %04o)",
		    path, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -2;
	}
	return fd;
}

/*
 * libconfig would read any file an @include names, relative to the caller's
 * cwd and unchecked: the wrapper reads its one compiled-in file, so refuse.
 * Returns the line of the first @include, or 0.
 */
static int
include_line(const char *text)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) == 0)
			return line;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
	return 0;
}

/* Reads the whole file into TEXT; -1 with ERR set when it is too large or unreadable. */
static int
read_text(int fd, const char *path, char *text, size_t cap, char *err)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, text + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
			return -1;
		}
		len += (size_t)n;
		if (len == cap - 1) {
			snprintf(err, CONF_ERR_MAX, "%s: larger than %zu bytes", path, cap - 1);
			return -1;
		}
	}
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, CONF_ERR_MAX, "%s: contains a NUL byte", path);
		return -1;
	}
	return 0;
}

enum conf_status
conf_load(const char *path, uid_t trusted, struct conf *c, char err[CONF_ERR_MAX])
{
	static char text[CONF_FILE_MAX];
	struct ctx x = { path, err, 0 };
	config_t cfg;
	int fd, line;

	conf_defaults(c);
	err[0] = '\0';
	if ((fd = open_checked(path, trusted, err)) < 0) {
		if (fd == -1 && errno == ENOENT)
			return CONF_ABSENT;
		if (fd == -1)
			snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return CONF_BAD;
	}
	if (read_text(fd, path, text, sizeof text, err) < 0) {
		close(fd);
		return CONF_BAD;
	}
	close(fd);
	if ((line = include_line(text)) > 0) {
		snprintf(err, CONF_ERR_MAX, "%s:%d: @include is not allowed in qwrap.conf", path, line);
		return CONF_BAD;
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		snprintf(err, CONF_ERR_MAX, "%s:%d: %s", path,
		    config_error_line(&cfg), config_error_text(&cfg));
		x.bad = 1;
	} else
		load_root(&x, config_root_setting(&cfg), c);
	config_destroy(&cfg);
	if (x.bad) {
		/*
		 * A mistake anywhere else must not send mail to the wrong
		 * program, nor make a strict site lenient: a sendmail path and
		 * an on_error that did parse are kept.
		 */
		char sendmail[PATH_MAX];
		enum conf_on_error on_error = c->on_error;

		memcpy(sendmail, c->sendmail, sizeof sendmail);
		conf_defaults(c);
		memcpy(c->sendmail, sendmail, sizeof sendmail);
		c->on_error = on_error;
		return CONF_BAD;
	}
	return CONF_OK;
}

int
conf_limits_apply(const struct conf *c, long uid)
{
	for (int i = 0; i < c->nexempt; i++)
		if (c->exempt_uids[i] == uid)
			return 0;
	return c->nlimits > 0;
}
