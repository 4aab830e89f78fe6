/*
 * mode_message.c: a message on stdin (sendmail -t, -f, recipients...): read
 * its start, identify the script, build the header, apply the limits, then
 * hand it to the real sendmail or hold it, and record it.  And what queues
 * no message (-bp, -bv, ...): passed through, and recorded.
 */
#include <limits.h>
#include <string.h>

#include "hold.h"
#include "idheader.h"
#include "run.h"

/*
 * Holds the message whole in the spool; -1, in problems, when it cannot.
 * Its id, and so its header, is the one the keeper made for the hold.
 */
static int
hold(struct run *r)
{
	struct hold hd;
	char err[SPOOL_ERR_MAX], hdr[IDHEADER_MAX];
	size_t hdrlen;

	if (keeper_hold_open(&r->keeper, &hd, r->id, r->caller.cwd,
	    r->caller.script[0] ? r->caller.script : NULL, r->caller.script_from, NULL, NULL, 0,
	    err) < 0)
		goto fail;
	hdrlen = run_header(r, r->msg.crlf ? "\r\n" : "\n", hdr);
	if (hold_stream(&hd, hdr, hdrlen, &r->msg, &r->fields, r->conf->header_name, err) < 0) {
		keeper_hold_abort(&r->keeper, &hd, err);
		goto fail;
	}
	if (keeper_hold_commit(&r->keeper, &hd, err) == 0)
		return 0;
fail:
	run_problem(r, err);
	return -1;
}

enum outcome
run_message(struct run *r)
{
	const struct conf *c = r->conf;
	struct channel ch = { -1, -1, 0 };
	enum limit_outcome limited = LIMIT_DELIVER;
	char hdr[IDHEADER_MAX], err[DELIVER_ERR_MAX];
	size_t hdrlen = 0;
	int capture = r->target_ok, fed = 1, refuse;
	const char *action;

	if (capture && deliver_channel_open(&ch) < 0) {
		/* Out of descriptors is the caller's doing: it must not get past the limits. */
		if (run_limits_apply(r)) {
			run_problem(r, "cannot open a pipe; message not sent");
			return OUT_UNCOUNTED;
		}
		run_problem(r, "cannot open a pipe: message delivered without the header");
		capture = 0;
	}
	if (capture) {
		if (message_read(0, &r->msg) < 0) {
			run_problem(r, "cannot read the message from standard input");
			return OUT_NOT_FED;
		}
		message_parse(&r->msg, r->inv.headers_rcpt, r->argv + r->inv.first_rcpt,
		    r->argc - r->inv.first_rcpt, c->header_name, &r->fields);
	}
	/* php-fpm is asked for captured mail only. */
	caller_resolve_script("/proc", r->envp, r->fields.php_script.p, r->fields.php_script.n,
	    capture ? c->fpm_status_socket : NULL, c->fpm_status_path, &r->caller);

	/* The message goes into the pipe before the record is written, so that it can say how that went. */
	run_new_message(r);
	if (capture) {
		hdrlen = run_header(r, r->msg.crlf ? "\r\n" : "\n", hdr);
		if (run_limits_apply(r)) {
			/* Recipients past the buffer cannot be counted: too many, then. */
			limited = run_limits(r, r->fields.header_cut && r->inv.headers_rcpt ?
			    LONG_MAX / 2 : r->fields.rcpt_count);
			if (limited == LIMIT_HELD && hold(r) < 0)
				limited = LIMIT_REJECTED;	/* the caller is told; nothing is queued */
		}
	}
	/* Under on_error = "tempfail" a capture that already failed refuses the message. */
	refuse = r->problems[0] && c->on_error == ON_ERROR_TEMPFAIL && limited != LIMIT_HELD;
	if (capture && limited == LIMIT_DELIVER && !refuse &&
	    deliver_feed(&ch, hdr, hdrlen, &r->msg, &r->fields, c->header_name, err) < 0) {
		run_problem(r, err);
		fed = 0;
	}

	/* One record, one write. */
	action = limited == LIMIT_HELD ? "hold" : "deliver";
	if (!r->target_ok || !fed || refuse ||
	    (limited != LIMIT_DELIVER && limited != LIMIT_HELD))
		action = "reject";
	if (run_record(r, action, capture, limited != LIMIT_HELD))
		refuse = 1;
	if (limited == LIMIT_HELD)
		return OUT_HELD;
	if (limited == LIMIT_REJECTED)
		return OUT_LIMITED;
	if (limited == LIMIT_UNCOUNTED)
		return OUT_UNCOUNTED;
	if (!r->target_ok)
		return OUT_NO_TARGET;
	if (!fed)
		return OUT_NOT_FED;
	return refuse ? OUT_REFUSED : OUT_SEND;
}

enum outcome
run_passthrough(struct run *r)
{
	/* As for a message: under on_error = "tempfail" a failed capture refuses. */
	int refuse = r->problems[0] && r->conf->on_error == ON_ERROR_TEMPFAIL;

	caller_resolve_script("/proc", r->envp, NULL, 0, r->inv.mode == MODE_SMTP ?
	    r->conf->fpm_status_socket : NULL, r->conf->fpm_status_path, &r->caller);
	run_new_message(r);
	if (run_record(r, !r->target_ok || refuse ? "reject" : "passthrough", 0, 1))
		refuse = 1;
	return !r->target_ok ? OUT_NO_TARGET : refuse ? OUT_REFUSED : OUT_SEND;
}
