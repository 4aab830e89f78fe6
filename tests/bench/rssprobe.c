/*
 * rssprobe: runs one program and reports the peak RSS of it and of every
 * orphan it leaves behind (the wrapper's pump).  bench.py needs it because a
 * child that Python starts with posix_spawn shares Python's memory until its
 * exec, and Linux folds that memory's peak into the child's ru_maxrss: such a
 * child always "uses" as much memory as the Python process.  Here the child
 * is a fork of this small program, so its ru_maxrss is its own.
 *
 * usage: rssprobe OUTFILE PROGRAM [ARG...]
 * OUTFILE gets "main STATUS MAXRSS_KIB" and one "orphan STATUS MAXRSS_KIB"
 * per reparented descendant (STATUS as wait(2) returns it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char *argv[])
{
	char out[4096];
	size_t len = 0;
	struct rusage ru;
	pid_t child, p;
	int status, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: rssprobe OUTFILE PROGRAM [ARG...]\n");
		return 2;
	}
	/* The pump is a grandchild whose parent exits at once: make it ours. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("rssprobe: prctl");
		return 2;
	}
	child = fork();
	if (child < 0) {
		perror("rssprobe: fork");
		return 2;
	}
	if (child == 0) {
		execve(argv[2], argv + 2, environ);
		perror("rssprobe: execve");
		_exit(127);
	}
	while ((p = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR)
		;
	if (p < 0) {
		perror("rssprobe: wait4");
		return 2;
	}
	len += (size_t)snprintf(out + len, sizeof out - len, "main %d %ld\n", status, ru.ru_maxrss);
	for (;;) {
		p = wait4(-1, &status, 0, &ru);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;	/* ECHILD: every descendant has been reaped */
		if (len < sizeof out - 64)
			len += (size_t)snprintf(out + len, sizeof out - len, "orphan %d %ld\n",
			    status, ru.ru_maxrss);
	}
	/* Opened only now, so that no child inherits it. */
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, out, len) != (ssize_t)len || close(fd) < 0) {
		perror("rssprobe: write result");
		return 2;
	}
	return 0;
}
