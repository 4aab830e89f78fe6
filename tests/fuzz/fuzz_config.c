/* fuzz_config.c: libFuzzer harness for conf_load, the qwrap.conf loader and validator (common/config.c). */
/*
 * The input is written to one temporary file (made once per process under
 * $TMPDIR, removed at exit) and loaded with trusted = (uid_t)-1, as
 * `qwrap check-config FILE` does.  Inputs with an @include directive are
 * skipped: libconfig would read whatever file they name (/dev/zero, a FIFO).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_config: check failed at line %d: %s\n", __LINE__, #c); \
	__builtin_trap(); } } while (0)

/*
 * libconfig 1.5 leaks the buffer of a string it was reading when the parse
 * fails (input: two bytes '""').  Its bug, not qwrap's; the wrapper exits soon.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char path[PATH_MAX];
static int fd = -1;

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof path, "%s/fuzz_config.XXXXXX.conf", tmp);
	if ((fd = mkstemps(path, 5)) < 0) {
		perror("fuzz_config: mkstemps");
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* The descriptor the next open would get. */
static int
lowest_free_fd(void)
{
	int n = fcntl(fd, F_DUPFD, 0);

	CHECK(n >= 0);
	close(n);
	return n;
}

static int
memmem_str(const uint8_t *d, size_t n, const char *s)
{
	return memmem(d, n, s, strlen(s)) != NULL;
}

/* S (a field of CAP bytes) is a NUL-terminated absolute path. */
static void
check_abs(const char *s, size_t cap)
{
	CHECK(memchr(s, '\0', cap) != NULL);
	CHECK(s[0] == '/');
}

static void
check_header_name(const char *n)
{
	/* renaming these would break mail (a sample of the list config.c refuses) */
	static const char *const taken[] = { "From", "To", "Cc", "Bcc", "Subject",
	    "Message-ID", "Date", "Received", "X-PHP-Originating-Script", NULL };
	size_t len = strnlen(n, CONF_HEADER_NAME_MAX + 1);

	CHECK(len >= 1 && len <= CONF_HEADER_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		CHECK(n[i] >= 0x21 && n[i] <= 0x7e && n[i] != ':');
	for (int i = 0; taken[i] != NULL; i++)
		CHECK(strcasecmp(n, taken[i]) != 0);
	CHECK(strncasecmp(n, "Content-", 8) != 0 && strncasecmp(n, "Resent-", 7) != 0);
}

/* What the validation promises of any configuration conf_load hands back. */
static void
check_valid(const struct conf *c)
{
	unsigned seen = 0;

	check_abs(c->sendmail, sizeof c->sendmail);
	check_abs(c->log_file, sizeof c->log_file);
	check_abs(c->state_dir, sizeof c->state_dir);
	check_abs(c->spool_dir, sizeof c->spool_dir);
	CHECK(c->spool_max_mb >= 1 && c->spool_max_mb <= 1048576);
	CHECK(c->log_syslog == 0 || c->log_syslog == 1);
	check_header_name(c->header_name);
	CHECK(c->nfields >= 1 && c->nfields <= CONF_MAX_FIELDS);
	for (int i = 0; i < c->nfields; i++) {
		CHECK((unsigned)c->fields[i] <= FIELD_SCRIPT);
		CHECK(!(seen & (1u << c->fields[i])));
		seen |= 1u << c->fields[i];
		CHECK(strcmp(conf_field_name(c->fields[i]), "?") != 0);
	}
	CHECK(c->on_error == ON_ERROR_DELIVER || c->on_error == ON_ERROR_TEMPFAIL);
	CHECK(c->nlimits >= 0 && c->nlimits <= CONF_MAX_LIMITS);
	for (int i = 0; i < c->nlimits; i++) {
		const struct conf_limit *l = &c->limits[i];

		CHECK((unsigned)l->per <= LIMIT_PER_CWD);
		CHECK((unsigned)l->count <= LIMIT_COUNT_RECIPIENTS);
		CHECK((unsigned)l->action <= LIMIT_LOG);
		CHECK(l->max >= 1 && l->max <= CONF_LIMIT_MAX);
		CHECK(l->window >= 1 && l->window <= 366L * 86400);
	}
	CHECK(c->nexempt >= 0 && c->nexempt <= CONF_MAX_EXEMPT);
	for (int i = 0; i < c->nexempt; i++)
		CHECK(c->exempt_uids[i] >= 0 && c->exempt_uids[i] <= 0xfffffffeL);
}

/* Equal as the programs see them: strings to their NUL, arrays to their counts. */
static int
same_conf(const struct conf *a, const struct conf *b)
{
	return strcmp(a->sendmail, b->sendmail) == 0 && strcmp(a->log_file, b->log_file) == 0 &&
	    a->log_syslog == b->log_syslog && strcmp(a->header_name, b->header_name) == 0 &&
	    a->nfields == b->nfields &&
	    memcmp(a->fields, b->fields, (size_t)a->nfields * sizeof a->fields[0]) == 0 &&
	    strcmp(a->state_dir, b->state_dir) == 0 && strcmp(a->spool_dir, b->spool_dir) == 0 &&
	    a->spool_max_mb == b->spool_max_mb &&
	    a->on_error == b->on_error && a->nlimits == b->nlimits &&
	    memcmp(a->limits, b->limits, (size_t)a->nlimits * sizeof a->limits[0]) == 0 &&
	    a->nexempt == b->nexempt &&
	    memcmp(a->exempt_uids, b->exempt_uids, (size_t)a->nexempt * sizeof a->exempt_uids[0]) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, defaults;
	char err[CONF_ERR_MAX];
	enum conf_status st;
	size_t plen = strlen(path);
	int free_fd;

	if (memmem_str(data, size, "@include"))
		return 0;
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

	memset(err, 0x55, sizeof err);
	free_fd = lowest_free_fd();
	st = conf_load(path, (uid_t)-1, &c, err);
	/* No descriptor is left open (the wrapper would hand it to the real sendmail). */
	CHECK(lowest_free_fd() == free_fd);
	CHECK(memchr(err, '\0', sizeof err) != NULL);
	switch (st) {
	case CONF_OK:
		CHECK(err[0] == '\0');
		check_valid(&c);
		break;
	case CONF_BAD:
		/* "PATH:LINE: message" (or "PATH: message" for an open error) */
		CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
		CHECK(strlen(err) > plen + 1);
		/* The defaults, except a sendmail path and an on_error that did parse. */
		check_valid(&c);
		conf_defaults(&defaults);
		memcpy(defaults.sendmail, c.sendmail, sizeof defaults.sendmail);
		defaults.on_error = c.on_error;
		CHECK(same_conf(&defaults, &c));
		break;
	default:
		CHECK(!"conf_load said the file it was given is absent");
	}
	return 0;
}
