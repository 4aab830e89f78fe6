/* qmailsend.c: see qmailsend.h. */
#include "qmailsend.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long
qmail_send_running(const char *procroot, long *uid)
{
	char path[PATH_MAX], stat_[512], *p;
	DIR *d = opendir(procroot);
	struct dirent *e;
	struct stat st;
	long pid = 0;
	struct passwd *pw;
	uid_t qmails;
	ssize_t n;
	int fd;

	if (d == NULL)
		return -1;
	/* qmail-send runs as qmails (qmail-start's setuid): a tenant's process of that name is not it. */
	pw = getpwnam("qmails");
	qmails = pw != NULL ? pw->pw_uid : 0;
	while (pid == 0 && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		/* stat: "PID (COMM) STATE ...": a zombie has stopped already. */
		snprintf(path, sizeof path, "%s/%s/stat", procroot, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, stat_, sizeof stat_ - 1);
		close(fd);
		if (n <= 0)
			continue;
		stat_[n] = '\0';
		snprintf(path, sizeof path, "%s/%s", procroot, e->d_name);
		if ((p = strrchr(stat_, ')')) != NULL && p - stat_ >= 12 && p[-12] == ' ' &&
		    strncmp(p - 11, "(qmail-send", 11) == 0 && p[1] == ' ' && p[2] != 'Z' &&
		    stat(path, &st) == 0 && (st.st_uid == 0 || st.st_uid == qmails)) {
			pid = strtol(e->d_name, NULL, 10);
			*uid = (long)st.st_uid;
		}
	}
	closedir(d);
	return pid;
}

static int
executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The first of PATHS (NULL-ended) that exists: a service directory or a file. */
static const char *
first(const char *const paths[])
{
	for (int i = 0; paths[i] != NULL; i++)
		if (access(paths[i], F_OK) == 0)
			return paths[i];
	return NULL;
}

int
qmail_send_detect(char *stop, char *start, size_t cap)
{
	static const char *const services[] = { "/service/qmail-send", "/etc/service/qmail-send",
		"/var/service/qmail-send", "/service/qmail", "/etc/service/qmail", NULL };
	static const char *const units[] = { "/etc/systemd/system/qmail.service",
		"/lib/systemd/system/qmail.service", "/usr/lib/systemd/system/qmail.service",
		"/etc/systemd/system/qmail-send.service", "/lib/systemd/system/qmail-send.service",
		"/usr/lib/systemd/system/qmail-send.service", NULL };
	static const char *const scripts[] = { "/etc/init.d/qmail", "/etc/rc.d/init.d/qmail",
		NULL };
	const char *p;

	if ((p = first(services)) != NULL && (executable("/usr/local/bin/svc") ||
	    executable("/usr/bin/svc") || executable("/command/svc"))) {
		snprintf(stop, cap, "svc -d %s", p);
		snprintf(start, cap, "svc -u %s", p);
		return 1;
	}
	if ((p = first(units)) != NULL && executable("/bin/systemctl")) {
		const char *unit = strrchr(p, '/') + 1;

		snprintf(stop, cap, "systemctl stop %s", unit);
		snprintf(start, cap, "systemctl start %s", unit);
		return 1;
	}
	if ((p = first(scripts)) != NULL) {
		snprintf(stop, cap, "%s stop", p);
		snprintf(start, cap, "%s start", p);
		return 1;
	}
	return 0;
}

int
qmail_send_run(const char *what, const char *cmd, int stopping, int wait,
    volatile sig_atomic_t *interrupted)
{
	int status;
	pid_t pid;
	long running, uid;
	time_t deadline = time(NULL) + wait;

	fprintf(stderr, "qwrap purge: %s qmail-send: %s\n", what, cmd);
	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "qwrap purge: cannot fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "qwrap purge: %s failed (%s %d)\n", cmd,
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	/* qmail-send lets the deliveries in progress finish first: that can take minutes. */
	for (int said = 0; stopping && (running = qmail_send_running("/proc", &uid)) != 0; said = 1) {
		if (!said)
			fprintf(stderr, "qwrap purge: waiting up to %d s for qmail-send to exit (the"
			    " deliveries in progress finish first)\n", wait);
		if (time(NULL) >= deadline || *interrupted) {
			fprintf(stderr, "qwrap purge: qmail-send %s after %s\n", running < 0 ?
			    "cannot be looked for in /proc" : "still runs", cmd);
			return -1;
		}
		usleep(100000);
	}
	return 0;
}
