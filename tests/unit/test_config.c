/* test_config.c: conf_load (values, defaults, every bad value with its FILE:LINE, owner and mode checks) and conf_parse_duration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "paths.h"

static char dir[PATH_MAX];
static char path[PATH_MAX + 32];
static struct conf c, defaults;
static char err[CONF_ERR_MAX];

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof dir, "config") < 0)
		return -1;
	snprintf(path, sizeof path, "%s/qwrap.conf", dir);
	conf_defaults(&defaults);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void
write_conf_mode(const char *text, mode_t mode)
{
	assert_int_equal(tmpdir_write(path, text, strlen(text), mode), 0);
}

static enum conf_status
load_text(const char *text)
{
	write_conf_mode(text, 0644);
	memset(&c, 0x5a, sizeof c);
	return conf_load(path, geteuid(), &c, err);
}

/* Field by field (struct padding is not compared); SENDMAIL too when WITH_SENDMAIL. */
static void
assert_conf_equal(const struct conf *a, const struct conf *b, int with_sendmail, int with_lines)
{
	if (with_sendmail)
		assert_string_equal(a->sendmail, b->sendmail);
	assert_string_equal(a->log_file, b->log_file);
	assert_int_equal(a->log_syslog, b->log_syslog);
	assert_string_equal(a->header_name, b->header_name);
	assert_int_equal(a->nfields, b->nfields);
	for (int i = 0; i < a->nfields; i++)
		assert_int_equal(a->fields[i], b->fields[i]);
	assert_string_equal(a->state_dir, b->state_dir);
	assert_string_equal(a->spool_dir, b->spool_dir);
	assert_int_equal(a->on_error, b->on_error);
	assert_int_equal(a->nlimits, b->nlimits);
	for (int i = 0; i < a->nlimits; i++) {
		assert_int_equal(a->limits[i].per, b->limits[i].per);
		assert_int_equal(a->limits[i].max, b->limits[i].max);
		assert_int_equal(a->limits[i].window, b->limits[i].window);
		assert_int_equal(a->limits[i].count, b->limits[i].count);
		assert_int_equal(a->limits[i].action, b->limits[i].action);
		if (with_lines)
			assert_int_equal(a->limits[i].line, b->limits[i].line);
	}
	assert_int_equal(a->nexempt, b->nexempt);
	for (int i = 0; i < a->nexempt; i++)
		assert_int_equal(a->exempt_uids[i], b->exempt_uids[i]);
}

/* Everything but SENDMAIL equals the defaults. */
static void
assert_defaults_except_sendmail(void)
{
	assert_conf_equal(&c, &defaults, 0, 1);
}

static void
assert_defaults(void)
{
	assert_conf_equal(&c, &defaults, 1, 1);
}

/* TEXT is refused with "PATH:LINE: ..." containing WHAT; C holds the defaults. */
static void
assert_bad_at(const char *text, int line, const char *what)
{
	char prefix[PATH_MAX + 64];
	enum conf_status st = load_text(text);

	if (st != CONF_BAD) {
		print_error("accepted:\n%s\n", text);
		fail();
	}
	snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, what) == NULL) {
		print_error("config:\n%s\nerror:  %s\nwanted: %s... %s\n", text, err, prefix, what);
		fail();
	}
	assert_null(strstr(err, "(null)"));
	assert_defaults_except_sendmail();
}

/* Loading and defaults. */

static void
conf_defaults__values__as_documented(void **state)
{
	(void)state;
	conf_defaults(&c);
	assert_string_equal(c.sendmail, QWRAP_REAL_SENDMAIL);
	assert_string_equal(c.log_file, QWRAP_LOG_PATH);
	assert_int_equal(c.log_syslog, 0);
	assert_string_equal(c.header_name, "X-Additional-Header");
	assert_int_equal(c.nfields, 4);
	assert_int_equal(c.fields[0], FIELD_ID);
	assert_int_equal(c.fields[1], FIELD_UID);
	assert_int_equal(c.fields[2], FIELD_CWD);
	assert_int_equal(c.fields[3], FIELD_SCRIPT);
	assert_string_equal(c.state_dir, QWRAP_STATE_DIR);
	assert_string_equal(c.spool_dir, QWRAP_SPOOL_DIR);
	assert_int_equal(c.on_error, ON_ERROR_DELIVER);
	assert_int_equal(c.nlimits, 1);
	assert_int_equal(c.limits[0].per, LIMIT_PER_UID);
	assert_int_equal(c.limits[0].max, 200);
	assert_int_equal(c.limits[0].window, 3600);
	assert_int_equal(c.limits[0].count, LIMIT_COUNT_MESSAGES);
	assert_int_equal(c.limits[0].action, LIMIT_HOLD);
	assert_int_equal(c.nexempt, 1);
	assert_int_equal(c.exempt_uids[0], 0);
}

static void
conf_load__full_good_file__every_value(void **state)
{
	(void)state;
	enum conf_status st = load_text(
	    "# qwrap.conf\n"
	    "sendmail  = \"/opt/qmail/bin/sendmail-real\";\n"
	    "log       = { file = \"/srv/log/capture.log\"; syslog = true; };\n"
	    "header    = { name = \"X-Sender-Id\"; fields = [\"id\", \"pid\", \"gid\", \"script\", \"cwd\", \"uid\"]; };\n"
	    "state_dir = \"/srv/state\";\n"
	    "spool_dir = \"/srv/spool\";\n"
	    "spool_max_mb = 64;\n"
	    "on_error  = \"tempfail\";\n"
	    "limits    = (\n"
	    "  { per = \"script\"; max = 50; window = \"10m\"; count = \"recipients\"; action = \"reject\"; },\n"
	    "  { per = \"cwd\"; max = 1000000; window = 90; action = \"log\"; },\n"
	    "  { per = \"uid\"; max = 1; window = \"2d\"; count = \"messages\"; action = \"hold\"; }\n"
	    ");\n"
	    "exempt_uids = (0, 33, 4294967294L);\n");

	assert_int_equal(st, CONF_OK);
	assert_string_equal(err, "");
	assert_string_equal(c.sendmail, "/opt/qmail/bin/sendmail-real");
	assert_string_equal(c.log_file, "/srv/log/capture.log");
	assert_int_equal(c.log_syslog, 1);
	assert_string_equal(c.header_name, "X-Sender-Id");
	assert_int_equal(c.nfields, 6);
	assert_int_equal(c.fields[0], FIELD_ID);
	assert_int_equal(c.fields[1], FIELD_PID);
	assert_int_equal(c.fields[2], FIELD_GID);
	assert_int_equal(c.fields[3], FIELD_SCRIPT);
	assert_int_equal(c.fields[4], FIELD_CWD);
	assert_int_equal(c.fields[5], FIELD_UID);
	assert_string_equal(c.state_dir, "/srv/state");
	assert_string_equal(c.spool_dir, "/srv/spool");
	assert_int_equal(c.spool_max_mb, 64);
	assert_int_equal(c.on_error, ON_ERROR_TEMPFAIL);
	assert_int_equal(c.nlimits, 3);
	assert_int_equal(c.limits[0].per, LIMIT_PER_SCRIPT);
	assert_int_equal(c.limits[0].max, 50);
	assert_int_equal(c.limits[0].window, 600);
	assert_int_equal(c.limits[0].count, LIMIT_COUNT_RECIPIENTS);
	assert_int_equal(c.limits[0].action, LIMIT_REJECT);
	assert_int_equal(c.limits[0].line, 10);
	assert_int_equal(c.limits[1].per, LIMIT_PER_CWD);
	assert_int_equal(c.limits[1].max, 1000000);
	assert_int_equal(c.limits[1].window, 90);
	assert_int_equal(c.limits[1].count, LIMIT_COUNT_MESSAGES);
	assert_int_equal(c.limits[1].action, LIMIT_LOG);
	assert_int_equal(c.limits[1].line, 11);
	assert_int_equal(c.limits[2].per, LIMIT_PER_UID);
	assert_int_equal(c.limits[2].window, 2 * 86400);
	assert_int_equal(c.limits[2].action, LIMIT_HOLD);
	assert_int_equal(c.nexempt, 3);
	assert_int_equal(c.exempt_uids[0], 0);
	assert_int_equal(c.exempt_uids[1], 33);
	assert_int_equal(c.exempt_uids[2], 4294967294L);
}

static void
conf_load__brief_example__defaults_equal(void **state)
{
	(void)state;
	/* The example config of qwrap.conf(5), spelled out, gives exactly the compiled-in defaults. */
	char text[2048];

	snprintf(text, sizeof text,
	    "sendmail  = \"%s\";\n"
	    "log       = { file = \"%s\"; syslog = false; };\n"
	    "header    = { name = \"X-Additional-Header\"; fields = [\"id\", \"uid\", \"cwd\", \"script\"]; };\n"
	    "state_dir = \"%s\";\n"
	    "spool_dir = \"%s\";\n"
	    "on_error  = \"deliver\";\n"
	    "limits    = ( { per = \"uid\"; max = 200; window = \"1h\"; action = \"hold\"; } );\n"
	    "exempt_uids = [0];\n",
	    QWRAP_REAL_SENDMAIL, QWRAP_LOG_PATH, QWRAP_STATE_DIR, QWRAP_SPOOL_DIR);
	assert_int_equal(load_text(text), CONF_OK);
	assert_conf_equal(&c, &defaults, 1, 0);
}

static void
conf_load__absent_file__absent_with_defaults(void **state)
{
	(void)state;
	memset(&c, 0x5a, sizeof c);
	strcpy(err, "junk");
	assert_int_equal(conf_load(path, 0, &c, err), CONF_ABSENT);
	assert_string_equal(err, "");
	assert_defaults();
}

static void
conf_load__absent_directory__absent(void **state)
{
	(void)state;
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/nodir/qwrap.conf", dir);
	assert_int_equal(conf_load(p, 0, &c, err), CONF_ABSENT);
}

static void
conf_load__empty_file__ok_defaults(void **state)
{
	(void)state;
	assert_int_equal(load_text(""), CONF_OK);
	assert_defaults();
}

static void
conf_load__only_some_keys__rest_default(void **state)
{
	(void)state;
	assert_int_equal(load_text("on_error = \"tempfail\";\nlog = { syslog = true; };\n"), CONF_OK);
	assert_int_equal(c.on_error, ON_ERROR_TEMPFAIL);
	assert_int_equal(c.log_syslog, 1);
	assert_string_equal(c.log_file, QWRAP_LOG_PATH);
	assert_string_equal(c.sendmail, QWRAP_REAL_SENDMAIL);
	assert_int_equal(c.nlimits, 1);
	assert_int_equal(c.limits[0].max, 200);
	assert_int_equal(c.nfields, 4);
}

static void
conf_load__empty_limits_and_exempt__none(void **state)
{
	(void)state;
	assert_int_equal(load_text("limits = ();\nexempt_uids = [];\n"), CONF_OK);
	assert_int_equal(c.nlimits, 0);
	assert_int_equal(c.nexempt, 0);
}

static void
conf_load__limit_defaults__count_messages_action_hold(void **state)
{
	(void)state;
	assert_int_equal(load_text("limits = ( { per = \"cwd\"; max = 3; window = \"1w\"; } );\n"),
	    CONF_OK);
	assert_int_equal(c.limits[0].count, LIMIT_COUNT_MESSAGES);
	assert_int_equal(c.limits[0].action, LIMIT_HOLD);
	assert_int_equal(c.limits[0].window, 7 * 86400);
}

static void
conf_load__window_forms__seconds(void **state)
{
	(void)state;
	static const struct { const char *w; long secs; } ok[] = {
		{ "\"1h\"", 3600 }, { "\"30s\"", 30 }, { "\"90\"", 90 }, { "\"366d\"", 366L * 86400 },
		{ "1", 1 }, { "31622400", 366L * 86400 },
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char text[256];

		snprintf(text, sizeof text, "limits = ( { per = \"uid\"; max = 1; window = %s; } );\n",
		    ok[i].w);
		assert_int_equal(load_text(text), CONF_OK);
		assert_int_equal(c.limits[0].window, ok[i].secs);
	}
}

static void
conf_load__header_name_76_chars__ok(void **state)
{
	(void)state;
	char text[256], name[CONF_HEADER_NAME_MAX + 1];

	memset(name, 'H', CONF_HEADER_NAME_MAX);
	name[CONF_HEADER_NAME_MAX] = '\0';
	snprintf(text, sizeof text, "header = { name = \"%s\"; };\n", name);
	assert_int_equal(load_text(text), CONF_OK);
	assert_string_equal(c.header_name, name);
}

/* Bad values: each is an error naming the file and the line. */

static void
conf_load__sendmail_bad__error_at_line(void **state)
{
	(void)state;
	char text[PATH_MAX + 64], longp[PATH_MAX + 1];

	assert_bad_at("sendmail = \"sendmail-qmail\";\n", 1, "absolute");
	assert_bad_at("\n\nsendmail = 5;\n", 3, "'sendmail' must be a string");
	assert_bad_at("sendmail = [\"/x\"];\n", 1, "must be a string");
	memset(longp, 'a', PATH_MAX);
	longp[0] = '/';
	longp[PATH_MAX] = '\0';
	snprintf(text, sizeof text, "sendmail = \"%s\";\n", longp);
	assert_bad_at(text, 1, "too long");
}

/* fpm_status: both keys; the path as long as one FastCGI request holds, and no longer. */
static void
conf_load__fpm_status__path_bounded(void **state)
{
	char text[CONF_FPM_PATH_MAX + 128], longp[CONF_FPM_PATH_MAX + 2];

	(void)state;
	assert_int_equal(load_text("fpm_status = { socket = \"/run/php/%p-status.sock\"; "
	    "path = \"/status\"; };\n"), CONF_OK);
	assert_string_equal(c.fpm_status_socket, "/run/php/%p-status.sock");
	assert_string_equal(c.fpm_status_path, "/status");
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[CONF_FPM_PATH_MAX] = '\0';
	snprintf(text, sizeof text, "fpm_status = { path = \"%s\"; };\n", longp);
	assert_int_equal(load_text(text), CONF_OK);
	assert_string_equal(c.fpm_status_path, longp);
	longp[CONF_FPM_PATH_MAX] = 'a';
	longp[CONF_FPM_PATH_MAX + 1] = '\0';
	snprintf(text, sizeof text, "fpm_status = { path = \"%s\"; };\n", longp);
	assert_bad_at(text, 1, "too long");
	assert_bad_at("fpm_status = { path = \"status\"; };\n", 1, "absolute");
	assert_bad_at("fpm_status = { listen = \"/x\"; };\n", 1, "unknown key 'fpm_status.listen'");
}

static void
conf_load__log_bad__error_at_line(void **state)
{
	(void)state;
	assert_bad_at("log = \"/var/log/x\";\n", 1, "'log' must be a group");
	assert_bad_at("log = {\n  file = 5;\n};\n", 2, "'file' must be a string");
	assert_bad_at("log = {\n  file = \"capture.log\";\n};\n", 2, "absolute");
	assert_bad_at("log = {\n  file = \"/x\";\n  syslog = \"yes\";\n};\n", 3, "true or false");
	assert_bad_at("log = { syslog = 1; };\n", 1, "true or false");
	assert_bad_at("log = {\n  file = \"/x\";\n\n  rotate = true;\n};\n", 4, "unknown key 'log.rotate'");
}

static void
conf_load__header_name_bad__error_at_line(void **state)
{
	(void)state;
	char text[256], name[CONF_HEADER_NAME_MAX + 2];

	assert_bad_at("header = { name = \"X-A:B\"; };\n", 1, "'header.name'");
	assert_bad_at("header = { name = \"X A\"; };\n", 1, "'header.name'");
	assert_bad_at("header = { name = \"\"; };\n", 1, "'header.name'");
	assert_bad_at("header = { name = \"X-\\tA\"; };\n", 1, "'header.name'");
	assert_bad_at("header = { name = \"X-\xc3\xa9\"; };\n", 1, "'header.name'");
	assert_bad_at("header = {\n name = 7;\n};\n", 2, "must be a string");
	memset(name, 'H', CONF_HEADER_NAME_MAX + 1);
	name[CONF_HEADER_NAME_MAX + 1] = '\0';
	snprintf(text, sizeof text, "\nheader = { name = \"%s\"; };\n", name);
	assert_bad_at(text, 2, "'header.name'");
	assert_bad_at("header = \"X-Id\";\n", 1, "'header' must be a group");
}

static void
conf_load__header_fields_bad__error_at_line(void **state)
{
	(void)state;
	assert_bad_at("header = {\n  fields = [\"id\", \"bogus\"];\n};\n", 2, "unknown header field \"bogus\"");
	assert_bad_at("header = {\n  fields = [\"id\",\n    \"id\"];\n};\n", 3, "listed twice");
	assert_bad_at("header = {\n  fields = [];\n};\n", 2, "1 to 8 fields");
	assert_bad_at("header = {\n  fields = \"id\";\n};\n", 2, "must be a list");
	assert_bad_at("header = {\n  fields = [\"ID\"];\n};\n", 2, "unknown header field \"ID\"");
	assert_bad_at("header = {\n  size = 1;\n};\n", 2, "unknown key 'header.size'");
}

static void
conf_load__header_fields_not_strings__clear_message(void **state)
{
	(void)state;
	/* An element of the list has no name: the message must still read well. */
	assert_bad_at("header = {\n  fields = (\"id\", 3);\n};\n", 2, "string");
}

static void
conf_load__dirs_and_on_error_bad__error_at_line(void **state)
{
	(void)state;
	assert_bad_at("state_dir = \"var/lib/qwrap\";\n", 1, "absolute");
	assert_bad_at("\nspool_dir = 1;\n", 2, "'spool_dir' must be a string");
	assert_bad_at("on_error = \"bounce\";\n", 1, "\"deliver\" or \"tempfail\"");
	assert_bad_at("on_error = true;\n", 1, "'on_error' must be a string");
	assert_bad_at("on_error = \"Deliver\";\n", 1, "\"deliver\" or \"tempfail\"");
	assert_bad_at("spool_max_mb = 0;\n", 1, "from 1 to 1048576");
	/* notify goes into a To: line of the notice: one plain address only. */
	assert_bad_at("notify = \"admin\";\n", 1, "one mail address");
	assert_bad_at("notify = \"a@b.example\\nBcc: c@d.example\";\n", 1, "one mail address");
	assert_bad_at("notify = \"a@b.example, c@d.example\";\n", 1, "one mail address");
	assert_bad_at("notify = 1;\n", 1, "one mail address");
}

static void
conf_load__notify__address_or_empty(void **state)
{
	(void)state;
	assert_int_equal(load_text("notify = \"postmaster@example.com\";\n"), CONF_OK);
	assert_string_equal(c.notify, "postmaster@example.com");
	assert_int_equal(load_text("notify = \"\";\n"), CONF_OK);
	assert_string_equal(c.notify, "");
}

static void
conf_load__vhosts_root__absolute_path_default_none(void **state)
{
	(void)state;
	assert_int_equal(load_text(""), CONF_OK);
	assert_string_equal(c.vhosts_root, "");
	assert_int_equal(load_text("vhosts_root = \"/var/www/vhosts\";\n"), CONF_OK);
	assert_string_equal(c.vhosts_root, "/var/www/vhosts");
	assert_bad_at("vhosts_root = \"vhosts\";\n", 1, "absolute");
}

static void
conf_load__limits_shape_bad__error_at_line(void **state)
{
	(void)state;
	char text[4096];
	size_t n = 0;

	assert_bad_at("limits = { per = \"uid\"; max = 1; window = \"1h\"; };\n", 1, "must be a list");
	assert_bad_at("limits = [1, 2];\n", 1, "must be a list");
	assert_bad_at("limits = (\n  \"uid\" );\n", 2, "each limit must be a group");
	n += (size_t)snprintf(text + n, sizeof text - n, "limits = (\n");
	for (int i = 0; i < CONF_MAX_LIMITS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		    "  { per = \"uid\"; max = 1; window = 1; }%s\n", i < CONF_MAX_LIMITS ? "," : "");
	snprintf(text + n, sizeof text - n, ");\n");
	assert_bad_at(text, 1, "at most 16 limits");
}

static void
conf_load__limit_values_bad__error_at_line(void **state)
{
	(void)state;
	static const struct { const char *kv; const char *what; } cases[] = {
		{ "per = \"user\";", "\"uid\", \"script\" or \"cwd\"" },
		{ "per = 1;", "'per' must be a string" },
		{ "max = 0;", "'max' must be from 1 to 1000000" },
		{ "max = -5;", "'max' must be from 1 to 1000000" },
		{ "max = 1000001;", "'max' must be from 1 to 1000000" },
		{ "max = \"200\";", "'max' must be an integer" },
		{ "max = 1.5;", "'max' must be an integer" },
		{ "window = \"0\";", "'window' must be a duration" },
		{ "window = \"10x\";", "'window' must be a duration" },
		{ "window = \"\";", "'window' must be a duration" },
		{ "window = \"1h \";", "'window' must be a duration" },
		{ "window = \"367d\";", "'window' must be a duration" },
		{ "window = 0;", "'window' must be a duration" },
		{ "window = -60;", "'window' must be a duration" },
		{ "window = true;", "'window'" },
		{ "count = \"bytes\";", "\"messages\" or \"recipients\"" },
		{ "count = 1;", "'count' must be a string" },
		{ "action = \"drop\";", "\"hold\", \"reject\" or \"log\"" },
		{ "action = \"HOLD\";", "\"hold\", \"reject\" or \"log\"" },
		{ "burst = 5;", "unknown key 'burst' in a limit" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *kv = cases[i].kv;
		char text[512];

		/* The bad setting sits alone on line 4, after the other required ones. */
		snprintf(text, sizeof text, "# limits\nlimits = (\n  { %s%s%s\n    %s\n  }\n);\n",
		    strncmp(kv, "per ", 4) ? "per = \"uid\"; " : "",
		    strncmp(kv, "max ", 4) ? "max = 10; " : "",
		    strncmp(kv, "window ", 7) ? "window = \"1h\";" : "", kv);
		assert_bad_at(text, 4, cases[i].what);
	}
}

static void
conf_load__limit_missing_required__error_at_group_line(void **state)
{
	(void)state;
	assert_bad_at("limits = (\n  { per = \"uid\"; max = 1; window = \"1h\"; },\n"
	    "  { max = 1; window = \"1h\"; }\n);\n", 3, "needs 'per', 'max' and 'window'");
	assert_bad_at("limits = (\n\n  { per = \"uid\"; window = \"1h\"; }\n);\n", 3,
	    "needs 'per', 'max' and 'window'");
	assert_bad_at("limits = (\n  { per = \"uid\"; max = 1; }\n);\n", 2,
	    "needs 'per', 'max' and 'window'");
	assert_bad_at("limits = ( {} );\n", 1, "needs 'per', 'max' and 'window'");
}

static void
conf_load__exempt_uids_bad__error_at_line(void **state)
{
	(void)state;
	char text[2048];
	size_t n = 0;

	assert_bad_at("exempt_uids = [0,\n  -1];\n", 2, "uid -1 is out of range");
	assert_bad_at("exempt_uids = [4294967295L];\n", 1, "out of range");
	assert_bad_at("exempt_uids = [\"0\"];\n", 1, "an exempt uid must be an integer");
	assert_bad_at("exempt_uids = 0;\n", 1, "must be a list");
	n += (size_t)snprintf(text + n, sizeof text - n, "exempt_uids = [");
	for (int i = 0; i < CONF_MAX_EXEMPT + 1; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s%d", i ? ", " : "", 1000 + i);
	snprintf(text + n, sizeof text - n, "];\n");
	assert_bad_at(text, 1, "at most 64");
}

static void
conf_load__unknown_top_level_key__error_at_its_line(void **state)
{
	(void)state;
	assert_bad_at("sendmail = \"/x\";\n# comment\n\nsendmial = \"/y\";\n", 4, "unknown key 'sendmial'");
	assert_bad_at("capture = true;\n", 1, "unknown key 'capture'");
}

static void
conf_load__syntax_error__error_at_its_line(void **state)
{
	(void)state;
	assert_bad_at("on_error = \"deliver\";\nlog = { file = \"/x\"; syslog = ; };\n", 2, "");
	assert_bad_at("on_error = \"deliver\";\n\n\nlimits = ( { per = \"uid\"; };\n", 4, "");
	assert_bad_at("sendmail = = \"/x\";\n", 1, "");
	assert_bad_at("a = 1;\na = 2;\n", 2, "");
}

static void
conf_load__include__refused_at_its_line(void **state)
{
	(void)state;
	assert_bad_at("on_error = \"deliver\";\n  @include \"extra.conf\"\n", 2,
	    "@include is not allowed");
}

static void
conf_load__two_bad_keys__first_reported(void **state)
{
	(void)state;
	assert_bad_at("on_error = \"x\";\nstate_dir = \"rel\";\n", 1, "on_error");
}

static void
conf_load__bad_file__valid_sendmail_kept(void **state)
{
	(void)state;
	assert_int_equal(load_text("sendmail = \"/opt/sm\";\non_error = \"bounce\";\n"), CONF_BAD);
	assert_string_equal(c.sendmail, "/opt/sm");
	assert_defaults_except_sendmail();

	/* Order does not matter. */
	assert_int_equal(load_text("log = { file = \"rel\"; };\nsendmail = \"/opt/sm2\";\n"), CONF_BAD);
	assert_string_equal(c.sendmail, "/opt/sm2");
	assert_string_equal(c.log_file, QWRAP_LOG_PATH);
}

static void
conf_load__bad_sendmail_in_bad_file__default_sendmail(void **state)
{
	(void)state;
	assert_int_equal(load_text("sendmail = \"relative\";\non_error = \"bounce\";\n"), CONF_BAD);
	assert_string_equal(c.sendmail, QWRAP_REAL_SENDMAIL);
	assert_int_equal(load_text("sendmail = \"/opt/sm\";\nlog = { \n"), CONF_BAD);
	assert_string_equal(c.sendmail, QWRAP_REAL_SENDMAIL);
}

/* Who may have written the file. */

static void
conf_load__group_or_world_writable__refused(void **state)
{
	(void)state;
	static const mode_t bad[] = { 0664, 0666, 0646, 0620, 0602 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_conf_mode("on_error = \"tempfail\";\nsendmail = \"/opt/sm\";\n", bad[i]);
		assert_int_equal(conf_load(path, geteuid(), &c, err), CONF_BAD);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "writable"));
		assert_defaults();
		/* check-config on an arbitrary file passes (uid_t)-1: no check. */
		assert_int_equal(conf_load(path, (uid_t)-1, &c, err), CONF_OK);
		assert_int_equal(c.on_error, ON_ERROR_TEMPFAIL);
	}
}

static void
conf_load__safe_modes__accepted(void **state)
{
	(void)state;
	static const mode_t ok[] = { 0644, 0600, 0400, 0640, 0444, 0755 };

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		write_conf_mode("on_error = \"tempfail\";\n", ok[i]);
		assert_int_equal(conf_load(path, geteuid(), &c, err), CONF_OK);
		assert_int_equal(c.on_error, ON_ERROR_TEMPFAIL);
	}
}

static void
conf_load__owned_by_other_uid__refused_unless_trusted(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	write_conf_mode("on_error = \"tempfail\";\n", 0644);
	assert_int_equal(chown(path, 1234, 1234), 0);
	assert_int_equal(conf_load(path, 0, &c, err), CONF_BAD);
	assert_non_null(strstr(err, "owner 1234"));
	assert_int_equal(conf_load(path, 4321, &c, err), CONF_BAD);
	assert_int_equal(conf_load(path, 1234, &c, err), CONF_OK);
	assert_int_equal(c.on_error, ON_ERROR_TEMPFAIL);
	/* Root-owned is always fine. */
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(conf_load(path, 1234, &c, err), CONF_OK);
}

static void
conf_load__symlink__refused(void **state)
{
	(void)state;
	char real[PATH_MAX * 2];

	snprintf(real, sizeof real, "%s/real.conf", dir);
	write_conf_mode("on_error = \"tempfail\";\n", 0644);
	assert_int_equal(rename(path, real), 0);
	assert_int_equal(symlink(real, path), 0);
	assert_int_equal(conf_load(path, 0, &c, err), CONF_BAD);
	assert_non_null(strstr(err, path));
	assert_defaults();
	assert_int_equal(conf_load(path, (uid_t)-1, &c, err), CONF_BAD);
	/* A dangling symlink is not "absent" either. */
	unlink(real);
	assert_int_equal(conf_load(path, 0, &c, err), CONF_BAD);
}

static void
conf_load__directory_or_fifo__refused_without_blocking(void **state)
{
	(void)state;
	pid_t pid;
	int st;

	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(conf_load(path, (uid_t)-1, &c, err), CONF_BAD);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	/* In a child with an alarm: an open that blocks fails this test, not the suite. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(5);
		_exit(conf_load(path, 0, &c, err) == CONF_BAD &&
		    strstr(err, "not a regular file") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("FIFO config not refused at once (status %#x)", (unsigned)st);
}

/* conf_parse_duration. */

static void
conf_parse_duration__units__seconds(void **state)
{
	(void)state;
	assert_int_equal(conf_parse_duration("0"), 0);
	assert_int_equal(conf_parse_duration("1"), 1);
	assert_int_equal(conf_parse_duration("90"), 90);
	assert_int_equal(conf_parse_duration("30s"), 30);
	assert_int_equal(conf_parse_duration("10m"), 600);
	assert_int_equal(conf_parse_duration("1h"), 3600);
	assert_int_equal(conf_parse_duration("2d"), 172800);
	assert_int_equal(conf_parse_duration("1w"), 604800);
	assert_int_equal(conf_parse_duration("007m"), 420);
}

static void
conf_parse_duration__malformed__minus_one(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "h", "1hh", "1h1", "1 h", " 1", "1 ", "-1", "+1", "1H", "1ms", "1.5h",
		"1y", "0x10", "1\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (conf_parse_duration(bad[i]) != -1)
			fail_msg("\"%s\" gave %ld", bad[i], conf_parse_duration(bad[i]));
	assert_int_equal(conf_parse_duration(NULL), -1);
}

static void
conf_parse_duration__overflow__minus_one(void **state)
{
	(void)state;
	char s[64];

	assert_int_equal(conf_parse_duration("9223372036854775808"), -1);
	assert_int_equal(conf_parse_duration("99999999999999999999999"), -1);
	snprintf(s, sizeof s, "%ldw", LONG_MAX / 604800 + 1);
	assert_int_equal(conf_parse_duration(s), -1);
	snprintf(s, sizeof s, "%ldw", LONG_MAX / 604800);
	assert_int_equal(conf_parse_duration(s), LONG_MAX / 604800 * 604800);
	snprintf(s, sizeof s, "%ldd", LONG_MAX / 86400 + 1);
	assert_int_equal(conf_parse_duration(s), -1);
	assert_int_equal(conf_parse_duration("922337203685477580"), 922337203685477580L);
}

static void
conf_field_name__each_field__config_spelling(void **state)
{
	(void)state;
	assert_string_equal(conf_field_name(FIELD_ID), "id");
	assert_string_equal(conf_field_name(FIELD_UID), "uid");
	assert_string_equal(conf_field_name(FIELD_GID), "gid");
	assert_string_equal(conf_field_name(FIELD_PID), "pid");
	assert_string_equal(conf_field_name(FIELD_CWD), "cwd");
	assert_string_equal(conf_field_name(FIELD_SCRIPT), "script");
	assert_string_equal(conf_field_name((enum conf_field)99), "?");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(conf_defaults__values__as_documented),
		T(conf_load__full_good_file__every_value),
		T(conf_load__brief_example__defaults_equal),
		T(conf_load__absent_file__absent_with_defaults),
		T(conf_load__absent_directory__absent),
		T(conf_load__empty_file__ok_defaults),
		T(conf_load__only_some_keys__rest_default),
		T(conf_load__empty_limits_and_exempt__none),
		T(conf_load__limit_defaults__count_messages_action_hold),
		T(conf_load__window_forms__seconds),
		T(conf_load__header_name_76_chars__ok),
		T(conf_load__sendmail_bad__error_at_line),
		T(conf_load__fpm_status__path_bounded),
		T(conf_load__log_bad__error_at_line),
		T(conf_load__header_name_bad__error_at_line),
		T(conf_load__header_fields_bad__error_at_line),
		T(conf_load__header_fields_not_strings__clear_message),
		T(conf_load__dirs_and_on_error_bad__error_at_line),
		T(conf_load__notify__address_or_empty),
		T(conf_load__vhosts_root__absolute_path_default_none),
		T(conf_load__limits_shape_bad__error_at_line),
		T(conf_load__limit_values_bad__error_at_line),
		T(conf_load__limit_missing_required__error_at_group_line),
		T(conf_load__exempt_uids_bad__error_at_line),
		T(conf_load__unknown_top_level_key__error_at_its_line),
		T(conf_load__syntax_error__error_at_its_line),
		T(conf_load__include__refused_at_its_line),
		T(conf_load__two_bad_keys__first_reported),
		T(conf_load__bad_file__valid_sendmail_kept),
		T(conf_load__bad_sendmail_in_bad_file__default_sendmail),
		T(conf_load__group_or_world_writable__refused),
		T(conf_load__safe_modes__accepted),
		T(conf_load__owned_by_other_uid__refused_unless_trusted),
		T(conf_load__symlink__refused),
		T(conf_load__directory_or_fifo__refused_without_blocking),
		T(conf_parse_duration__units__seconds),
		T(conf_parse_duration__malformed__minus_one),
		T(conf_parse_duration__overflow__minus_one),
		T(conf_field_name__each_field__config_spelling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
