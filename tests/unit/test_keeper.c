/*
 * test_keeper.c: the keeper as a worker taken over would see it: its facts
 * stamped over any claim, a hold from open to envelope, and every malformed,
 * oversized or out-of-order request refused with nothing written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "keeper.h"
#include "kproto.h"
#include "split.h"

static char dir[PATH_MAX], logpath[PATH_MAX + 16];
static struct conf c;
static char *args[] = { "sendmail", "-t", "-i", NULL };
static unsigned char req[KPROTO_REQ_MAX + 64];
static struct freezes fz;	/* the keeper's freezes: none unless a test adds some */
static const char *freeze_err;

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make(dir, sizeof dir, "keeper") < 0)
		return -1;
	conf_defaults(&c);
	c.nexempt = 0;		/* the tests run as root, exempt by default */
	c.nlimits = 1;
	/* The second message in an hour is held. */
	c.limits[0] = (struct conf_limit){ LIMIT_PER_UID, 1, 3600, LIMIT_COUNT_MESSAGES, LIMIT_HOLD, 1 };
	snprintf(c.state_dir, sizeof c.state_dir, "%s", dir);
	snprintf(c.spool_dir, sizeof c.spool_dir, "%s/spool", dir);
	snprintf(c.log_file, sizeof c.log_file, "%s/capture.log", dir);
	snprintf(logpath, sizeof logpath, "%s", c.log_file);
	fz.n = 0;
	freeze_err = NULL;
	return mkdir(c.spool_dir, 0700);
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static struct keeper start_logging(int logging);

/* A keeper on a socketpair, as split_start makes one but without a fork of main. */
static struct keeper
start(void)
{
	return start_logging(1);
}

static struct keeper
start_logging(int logging)
{
	struct keeper k = { -1, -1, -1, 0 };
	struct keeper_setup s = { .conf = &c, .logfd = -1, .uid = (long)getuid(),
	    .gid = (long)getgid(), .pid = 4242, .host = "testhost", .host_id = NULL, .argv = args,
	    .argc = 3, .freezes = &fz, .freeze_err = freeze_err, .freeze_live = 0 };
	int sv[2];

	s.logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	assert_true(s.logfd >= 0);
	if (!logging) {
		close(s.logfd);
		s.logfd = -1;
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	k.pid = fork();
	assert_true(k.pid >= 0);
	if (k.pid == 0) {
		close(sv[0]);
		keeper_serve(sv[1], &s);
	}
	close(sv[1]);
	close(s.logfd);
	k.sock = sv[0];
	return k;
}

/* The keeper's exit status once the socket is closed. */
static int
stop(struct keeper *k)
{
	int st;

	close(k->sock);
	assert_int_equal(waitpid(k->pid, &st, 0), k->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static off_t
log_size(void)
{
	struct stat st;

	return stat(logpath, &st) == 0 ? st.st_size : 0;
}

static int
spool_files(void)
{
	DIR *d = opendir(c.spool_dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static struct record
claims(void)
{
	static char *argv[] = { "sendmail", "-t", NULL };

	return (struct record){ .id = "20261206120000.0123456789abcdef", .action = "deliver",
	    .mode = "message", .uid = 0, .gid = 0, .pid = 1, .host = "forged", .cwd = "/srv/a",
	    .script = "/srv/a/x.php", .script_from = "env", .argv = argv, .argc = 2 };
}

static void
test_record_stamped_with_the_keepers_facts(void **state)
{
	struct keeper k = start();
	struct record r = claims();
	struct kreply a;
	char want[128];

	(void)state;
	assert_int_equal(keeper_record(&k, &r, &a), 0);
	assert_int_equal(a.line[a.linelen - 1], '\n');
	snprintf(want, sizeof want, "\"uid\":%ld,\"gid\":%ld,\"pid\":4242,", (long)getuid(),
	    (long)getgid());
	assert_non_null(strstr(a.line, want));
	assert_non_null(strstr(a.line, "\"host\":\"testhost\""));
	assert_null(strstr(a.line, "forged"));
	assert_non_null(strstr(a.line, "\"cwd\":\"/srv/a\""));
	assert_int_equal(log_size(), (off_t)a.linelen);
	assert_int_equal(stop(&k), 0);
}

/* A value that would close its string and add a field stays inside its string. */
static void
test_claims_cannot_add_fields(void **state)
{
	struct keeper k = start();
	struct record r = claims();
	struct kreply a;

	(void)state;
	r.cwd = "/x\",\"uid\":0,\"y\":\"";
	assert_int_equal(keeper_record(&k, &r, &a), 0);
	assert_non_null(strstr(a.line, "\"cwd\":\"/x\\\",\\\"uid\\\":0,\\\"y\\\":\\\"\","));
	assert_int_equal(stop(&k), 0);
}

/* The origin's words are the record's vocabulary: another, or half a pair, is refused. */
static void
test_origin_outside_the_vocabulary_refused(void **state)
{
	static const char *const bad[][4] = {
		{ "web\",\"uid\":0", "ancestor", NULL, NULL },
		{ "cron", "root", NULL, NULL },
		{ "cron", NULL, NULL, NULL },
		{ "ssh", "ancestor", "addr=1.2.3.4", NULL },
		{ "ssh", "ancestor", "addr=1.2.3.4", "sshd" },
		{ NULL, NULL, "pool=x", "title" },
	};
	struct record r = claims();
	struct kreply a;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct keeper k = start();
		off_t before = log_size();

		r.origin = bad[i][0];
		r.origin_from = bad[i][1];
		r.origin_info = bad[i][2];
		r.origin_info_from = bad[i][3];
		assert_int_equal(keeper_record(&k, &r, &a), -1);
		assert_int_equal(stop(&k), 2);
		assert_int_equal(log_size(), before);
	}
	{
		struct keeper k = start();

		r.origin = "ssh";
		r.origin_from = "ancestor";
		r.origin_info = "addr=192.0.2.7";
		r.origin_info_from = "ancestor-env";
		assert_int_equal(keeper_record(&k, &r, &a), 0);
		assert_non_null(strstr(a.line, "\"origin\":\"ssh\",\"origin_from\":\"ancestor\","
		    "\"origin_info\":\"addr=192.0.2.7\",\"origin_info_from\":\"ancestor-env\""));
		assert_int_equal(stop(&k), 0);
	}
}

/* A freeze of the caller's uid: held (with no limit counted), and the record names it. */
static void
test_freeze_holds_uncounted_and_is_recorded(void **state)
{
	struct keeper k;
	struct record r = claims();
	struct kreply a;
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];

	(void)state;
	fz.n = 2;
	/* The first freeze has ended; the second is the uid's, until thawed. */
	fz.f[0] = (struct freeze){ 3, 1, 2, LIMIT_REJECT, FREEZE_UID, "-", "" };
	fz.f[1] = (struct freeze){ 7, 1, 0, LIMIT_HOLD, FREEZE_UID, "site", "" };
	snprintf(fz.f[0].value, sizeof fz.f[0].value, "%ld", (long)getuid());
	snprintf(fz.f[1].value, sizeof fz.f[1].value, "%ld", (long)getuid());
	k = start();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(keeper_limits(&k, 1, "/srv/a/x.php", "/srv/a", &a), 0);
		assert_int_equal(a.freeze, 7);
		assert_int_equal(a.action, LIMIT_HOLD);
		assert_int_equal(a.rule, -1);
		assert_int_equal(keeper_hold_open(&k, &h, id, "/srv/a", "/srv/a/x.php", "env", NULL,
		    NULL, 0, err), 0);
		assert_int_equal(hold_write(&h, "Subject: x\n\nbody\n", 17, err), 0);
		assert_int_equal(keeper_hold_commit(&k, &h, err), 0);
		r.action = "hold";
		r.id = id;
		assert_int_equal(keeper_record(&k, &r, &a), 0);
		assert_non_null(strstr(a.line, ",\"freeze\":{\"id\":7,\"by\":\"uid\",\"name\":\"site\","));
		assert_null(strstr(a.line, "\"limit\""));
	}
	assert_int_equal(stop(&k), 0);
	assert_int_equal(spool_files(), 6);
	/* Thawed: the limit (one message an hour) was never counted, so the next goes. */
	fz.n = 0;
	k = start();
	assert_int_equal(keeper_limits(&k, 1, "/srv/a/x.php", "/srv/a", &a), 0);
	assert_int_equal(a.freeze, 0);
	assert_int_equal(a.rule, -1);
	assert_int_equal(stop(&k), 0);
}

/* A reject freeze of a script; freezes that cannot be read refuse every message. */
static void
test_freeze_reject_and_unreadable(void **state)
{
	struct keeper k;
	struct kreply a;
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];

	(void)state;
	fz.n = 1;
	fz.f[0] = (struct freeze){ 9, 1, 0, LIMIT_REJECT, FREEZE_SCRIPT, "-", "/srv/*/x.php" };
	k = start();
	assert_int_equal(keeper_limits(&k, 1, "/srv/b/y.php", "/srv/b", &a), 0);
	assert_int_equal(a.freeze, 0);
	assert_int_equal(keeper_limits(&k, 1, "/srv/a/x.php", "/srv/a", &a), 0);
	assert_int_equal(a.freeze, 9);
	assert_int_equal(a.action, LIMIT_REJECT);
	/* A rejected message is not held. */
	assert_int_equal(keeper_hold_open(&k, &h, id, "/srv/a", "/srv/a/x.php", "env", NULL, NULL, 0,
	    err), -1);
	assert_int_equal(stop(&k), 2);
	assert_int_equal(spool_files(), 0);

	freeze_err = "the freezes are not root's file";
	k = start();
	assert_int_equal(keeper_limits(&k, 1, "/srv/b/y.php", "/srv/b", &a), -1);
	assert_string_equal(a.err, "the freezes are not root's file");
	assert_int_equal(stop(&k), 0);
}

/* A hold verdict (a message counted first when needed), then a hold open: its id in ID. */
static void
open_hold(struct keeper *k, struct hold *h, char id[RECORD_ID_LEN])
{
	struct record r = claims();
	struct kreply a;
	char err[SPOOL_ERR_MAX];

	assert_int_equal(keeper_limits(k, 1, "/srv/a/x.php", "/srv/a", &a), 0);
	if (a.rule < 0) {
		keeper_record(k, &r, &a);	/* -1 with no log */
		assert_true(a.linelen > 0);
		assert_int_equal(keeper_limits(k, 1, "/srv/a/x.php", "/srv/a", &a), 0);
	}
	assert_int_equal(a.rule, 0);
	assert_int_equal(a.action, LIMIT_HOLD);
	assert_int_equal(keeper_hold_open(k, h, id, "/srv/a", "/srv/a/x.php", "env", NULL, NULL, 0,
	    err), 0);
	assert_true(kproto_id_ok(id));
}

static void
test_hold_from_open_to_envelope(void **state)
{
	struct keeper k = start();
	struct record r = claims();
	struct kreply a;
	struct hold h;
	char err[SPOOL_ERR_MAX], path[PATH_MAX + 64], env[8192], id[RECORD_ID_LEN];
	int fd;
	ssize_t n;

	(void)state;
	open_hold(&k, &h, id);
	assert_int_equal(hold_write(&h, "Subject: x\n\nbody\n", 17, err), 0);
	assert_int_equal(keeper_hold_commit(&k, &h, err), 0);
	r.action = "hold";
	r.id = id;
	assert_int_equal(keeper_record(&k, &r, &a), 0);
	assert_non_null(strstr(a.line, "\"limit\":{\"rule\":1"));
	assert_int_equal(stop(&k), 0);

	snprintf(path, sizeof path, "%s/%s.env", c.spool_dir, id);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	n = read(fd, env, sizeof env);
	close(fd);
	assert_true(n > 0);
	snprintf(path, sizeof path, "uid=%ld", (long)getuid());
	assert_non_null(memmem(env, (size_t)n, path, strlen(path) + 1));
	/* The wrapper's own argv, not a claim. */
	assert_non_null(memmem(env, (size_t)n, "argv=-i", 8));
	assert_int_equal(spool_files(), 2);
}

/* The keeper takes the message from a pipe and stops at the spool's cap: the file goes. */
static void
test_hold_past_the_cap_stopped(void **state)
{
	static char chunk[65536];
	struct keeper k;
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];
	int i, r = 0;

	(void)state;
	c.spool_max_mb = 1;
	k = start();
	open_hold(&k, &h, id);
	memset(chunk, 'x', sizeof chunk);
	for (i = 0; i < 64 && (r = hold_write(&h, chunk, sizeof chunk, err)) == 0; i++)
		;
	assert_int_equal(r, -1);	/* EPIPE, well before 4 MiB */
	keeper_hold_abort(&k, &h, err);
	assert_string_equal(err, "the hold spool is full (spool_max_mb)");
	assert_int_equal(spool_files(), 0);
	assert_int_equal(stop(&k), 0);
}

/* A worker that kept the pipe open (to write on after the commit) is refused. */
static void
test_commit_with_the_pipe_kept_refused(void **state)
{
	struct keeper k = start();
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];
	int kept;

	(void)state;
	open_hold(&k, &h, id);
	kept = dup(h.fd);
	assert_int_equal(hold_write(&h, "x\n", 2, err), 0);
	assert_int_equal(keeper_hold_commit(&k, &h, err), -1);
	close(kept);
	assert_int_equal(stop(&k), 2);
	assert_int_equal(spool_files(), 0);
}

/*
 * A "hold" record must name the hold committed; a worker that ends without
 * it leaves the keeper to write it.
 */
static void
test_hold_record_is_the_holds(void **state)
{
	struct keeper k = start();
	struct record r = claims();
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN], last[RECORD_MAX + 1];
	FILE *f;

	(void)state;
	open_hold(&k, &h, id);
	assert_int_equal(keeper_hold_commit(&k, &h, err), 0);
	r.action = "hold";		/* with the id the worker made, not the hold's */
	assert_true(send(k.sock, req, kproto_record(req, &r), MSG_NOSIGNAL) > 0);
	assert_int_equal(stop(&k), 2);
	assert_int_equal(spool_files(), 2);
	assert_non_null(f = fopen(logpath, "r"));
	while (fgets(last, sizeof last, f) != NULL)
		;
	fclose(f);
	assert_non_null(strstr(last, id));
	assert_non_null(strstr(last, "\"action\":\"hold\""));
	assert_non_null(strstr(last, "the sender ended before its record"));
}

/* With no log (it could not be opened), a held message's record still ends its hold. */
static void
test_no_log_the_hold_still_ends(void **state)
{
	struct keeper k = start_logging(0);
	struct record r = claims();
	struct kreply a;
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];

	(void)state;
	open_hold(&k, &h, id);
	assert_int_equal(keeper_hold_commit(&k, &h, err), 0);
	r.action = "hold";
	r.id = id;
	assert_int_equal(keeper_record(&k, &r, &a), -1);
	assert_string_equal(a.err, "no capture log is open");
	assert_true(a.linelen > 0);	/* for syslog */
	assert_int_equal(keeper_limits(&k, 1, NULL, "/", &a), 0);	/* the next message */
	assert_int_equal(stop(&k), 0);
}

/* Sends N raw bytes: the keeper must exit 2, having written nothing. */
static void
refused(const void *p, size_t n, int hold_first)
{
	struct keeper k = start();
	struct hold h;
	off_t before;

	if (hold_first) {
		char id[RECORD_ID_LEN];

		open_hold(&k, &h, id);
		assert_int_equal(spool_files(), 1);
		hold_close(&h);
	}
	before = log_size();
	assert_int_equal(send(k.sock, p, n, MSG_NOSIGNAL), (ssize_t)n);
	assert_int_equal(stop(&k), 2);
	assert_int_equal(log_size(), before);
	assert_int_equal(spool_files(), 0);
}

static void
test_malformed_requests_refused(void **state)
{
	static const struct rec_env bad_env[] = { { "HTTP_HOST\":\"h\",\"uid\":0,\"x", "v" } };
	struct record r = claims();
	size_t n = kproto_record(req, &r);
	uint32_t bad = 99;

	(void)state;
	assert_true(n > 0);
	refused(req, n - 1, 0);				/* cut short */
	memcpy(req + n, "x", 1);
	refused(req, n + 1, 0);				/* something after the last field */
	refused(&bad, sizeof bad, 0);			/* no such request */
	refused(req, 2, 0);				/* not even a type */
	memset(req + 20, 0xff, 4);			/* the id (after type and ts): none */
	refused(req, n, 0);
	r.id = "../../etc/x";				/* an id that walks */
	refused(req, kproto_record(req, &r), 0);
	r = claims();
	r.action = "release";				/* not the worker's to say */
	refused(req, kproto_record(req, &r), 0);
	r = claims();
	r.env = bad_env;				/* a name of its own, written as a key */
	r.nenv = 1;
	refused(req, kproto_record(req, &r), 0);
	r = claims();
	n = kproto_record(req, &r);
	req[24 + strlen(r.id)] = 'x';			/* the id's NUL */
	refused(req, n, 0);
	memset(req, 0, sizeof req);
	*(uint32_t *)req = KREQ_RECORD;
	refused(req, KPROTO_REQ_MAX + 1, 0);		/* too long */
}

static void
test_out_of_order_requests_refused(void **state)
{
	struct record r = claims();
	unsigned char p[64];

	(void)state;
	refused(p, kproto_plain(p, KREQ_HOLD_COMMIT), 0);	/* no hold open */
	refused(p, kproto_plain(p, KREQ_HOLD_ABORT), 0);
	refused(p, kproto_hold_open(p, "/", NULL, "none", NULL, NULL, 0), 0);	/* no verdict */
	r.action = "hold";
	refused(req, kproto_record(req, &r), 0);		/* "hold" with nothing held */
	r.action = "deliver";
	refused(req, kproto_record(req, &r), 1);		/* a record with a hold open */
	refused(req, kproto_limits(req, 1, NULL, "/"), 1);	/* limits with a hold open */
	refused(p, kproto_hold_open(p, "/", NULL, "none", NULL, NULL, 0), 1);	/* a second */
}

/* The worker gone mid-hold: the hold file goes, nothing is recorded. */
static void
test_worker_gone_mid_hold(void **state)
{
	struct keeper k = start();
	struct hold h;
	char err[SPOOL_ERR_MAX], id[RECORD_ID_LEN];
	off_t before;

	(void)state;
	open_hold(&k, &h, id);
	before = log_size();
	assert_int_equal(hold_write(&h, "x\n", 2, err), 0);
	hold_close(&h);
	assert_int_equal(stop(&k), 0);
	assert_int_equal(spool_files(), 0);
	assert_int_equal(log_size(), before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_stamped_with_the_keepers_facts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_cannot_add_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin_outside_the_vocabulary_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_holds_uncounted_and_is_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_freeze_reject_and_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_from_open_to_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_past_the_cap_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_with_the_pipe_kept_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_record_is_the_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_log_the_hold_still_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_requests_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_gone_mid_hold, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);	/* as sanitize_state sets it in the wrapper */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
