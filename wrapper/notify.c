/* notify.c: the notice of a limit, through the real sendmail (see notify.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iofull.h"
#include "notify.h"
#include "sanitize.h"

#define NOTICE_MAX 2048

int
notify_limit(const char *sendmail, const char *to, const char *host, const char *id,
    long uid, const struct rl_verdict *v, const struct conf_limit *l)
{
	static const char *const actions[] = { "held", "rejected", "logged" };
	static char *const env[] = { "PATH=/usr/bin:/bin", NULL };	/* nothing of the caller's */
	char msg[NOTICE_MAX];
	int n, status;
	pid_t child;

	n = snprintf(msg, sizeof msg,
	    "To: %s\nSubject: qwrap: limit %d reached for uid %ld\nAuto-Submitted: auto-generated\n\n"
	    "qwrap-sendmail on %s: limit %d (at most %ld %s in %ld s) reached for\n  %s\n"
	    "Messages over it are %s.  This is the first in this window; no more notices\n"
	    "for this key until the window has passed.\n\nRecord of the message that reached it:"
	    " %s\nSee: qwrap held\n", to, v->rule + 1, uid, host, v->rule + 1, l->max,
	    l->count == LIMIT_COUNT_RECIPIENTS ? "recipients" : "messages", l->window, v->key,
	    actions[l->action], id);
	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	/* A grandchild, so that the caller never waits for it or reaps it. */
	if ((child = fork()) < 0)
		return -1;
	if (child == 0) {
		if (fork() == 0) {
			char *argv[] = { "sendmail", "-t", NULL };
			int p[2];

			/* The notice fits in a pipe: written first, then read by the real sendmail. */
			if (pipe(p) < 0 || write_full(p[1], msg, (size_t)n) < 0 || close(p[1]) < 0 ||
			    dup2(p[0], 0) < 0 || sanitize_null_stdio(1) < 0)
				_exit(1);
			sanitize_close_fds();	/* the sender's uid may trace it: none of ours */
			signal(SIGPIPE, SIG_DFL);
			execve(sendmail, argv, env);
			_exit(1);
		}
		_exit(0);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}
