/*
 * origin.c: see origin.h.  Reads /proc/PID/stat of each ancestor above the
 * caller's own (the kernel shows every user's: its name and parent), the
 * status (its uids) of those whose name is a server's, the environment of
 * the caller's own ancestors, and the caller's own stat and cgroup.
 */
#include "origin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Program names (version digits cut) and what each says of where a message came from. */
static const struct { const char *name, *kind; } servers[] = {
	{ "php-fpm", "web" }, { "apache", "web" }, { "httpd", "web" }, { "nginx", "web" },
	{ "lighttpd", "web" }, { "lsphp", "web" }, { "litespeed", "web" }, { "lshttpd", "web" },
	{ "caddy", "web" }, { "uwsgi", "web" },
	{ "cron", "cron" }, { "crond", "cron" }, { "anacron", "cron" }, { "fcron", "cron" },
	{ "atd", "at" },
	{ "sshd", "ssh" }, { "dropbear", "ssh" },
	{ "login", "console" }, { "agetty", "console" }, { "getty", "console" },
};

/* What a process's name (its comm) says, or NULL. */
static const char *
kind_of(const char *comm)
{
	char name[32];
	size_t n = strlen(comm);

	if (n >= sizeof name)
		return NULL;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)comm[i]);
	while (n > 0 && (isdigit((unsigned char)name[n - 1]) || name[n - 1] == '.'))
		n--;
	name[n] = '\0';
	for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++)
		if (strcmp(name, servers[i].name) == 0)
			return servers[i].kind;
	return NULL;
}

/* What /proc/PID/stat says of a process. */
struct pstat {
	char name[32];		/* its comm, as the kernel keeps it */
	long ppid;
	long tty;		/* tty_nr: its session's terminal, 0 when none */
	unsigned long long start;	/* clock ticks since boot */
};

/*
 * Process PID's stat ("self" when PID is 0): "PID (NAME) STATE PPID PGRP
 * SESSION TTY ... STARTTIME ...", NAME up to the last ')', STARTTIME the
 * 22nd field.
 */
static int
pstat_of(const char *procroot, long pid, struct pstat *ps)
{
	char path[64 + PATH_MAX], stat[1024];
	const char *open, *close;

	if (pid == 0)
		snprintf(path, sizeof path, "%s/self/stat", procroot);
	else
		snprintf(path, sizeof path, "%s/%ld/stat", procroot, pid);
	if (caller_read_small(path, stat, sizeof stat) < 0 || (open = strchr(stat, '(')) == NULL ||
	    (close = strrchr(open, ')')) == NULL || close - open - 1 >= (long)sizeof ps->name ||
	    sscanf(close + 1, " %*c %ld %*d %*d %ld %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d"
	    " %*d %*d %*d %llu", &ps->ppid, &ps->tty, &ps->start) != 3)
		return -1;
	memcpy(ps->name, open + 1, (size_t)(close - open - 1));
	ps->name[close - open - 1] = '\0';
	return 0;
}

/* NAME's value in a NUL-separated environment block, or NULL. */
static const char *
env_in(const char *env, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (const char *e = env; e < env + len; e += strlen(e) + 1)
		if (strncmp(e, name, n) == 0 && e[n] == '=')
			return e + n + 1;
	return NULL;
}

/*
 * NAME from the caller's own environment ("env"), else from the nearest of
 * its own ancestors' that has it ("ancestor-env"): each a claim.
 */
static const char *
claimed_env(const char *procroot, char *const envp[], const struct caller *c,
    const char *name, const char **from)
{
	static char env[65536];
	char path[64 + PATH_MAX];
	const char *v;
	ssize_t n;

	if ((v = caller_getenv(envp, name)) != NULL) {
		*from = "env";
		return v;
	}
	for (int i = 0; i < c->nparents; i++) {
		snprintf(path, sizeof path, "%s/%ld/environ", procroot, c->parents[i].pid);
		if ((n = caller_read_small(path, env, sizeof env)) > 0 &&
		    (v = env_in(env, (size_t)n, name)) != NULL) {
			*from = "ancestor-env";
			return v;
		}
	}
	return NULL;
}

/*
 * The systemd service the caller runs in, from its cgroup (v2's "0::PATH"
 * or v1's "N:name=systemd:PATH"): the last "*.service" in PATH, after the
 * user manager's ("user@UID.service/job.service") when it is a user's own
 * unit, which that user named.
 */
static int
unit_of(const char *procroot, char *out, size_t cap)
{
	char path[64 + PATH_MAX], cg[4096];

	snprintf(path, sizeof path, "%s/self/cgroup", procroot);
	if (caller_read_small(path, cg, sizeof cg) < 0)
		return 0;
	for (const char *line = cg; *line; line += strcspn(line, "\n") + 1) {
		size_t len = strcspn(line, "\n");
		const char *p = NULL, *unit = NULL, *user = NULL, *seg;
		size_t ulen = 0, uslen = 0;

		if (strncmp(line, "0::/", 4) == 0)
			p = line + 3;
		else if ((seg = strstr(line, ":name=systemd:/")) != NULL && seg < line + len)
			p = seg + 14;
		for (seg = p; p != NULL && seg < line + len; seg += strcspn(seg + 1, "/\n") + 1) {
			size_t k = strcspn(seg + 1, "/\n");

			if (k > 8 && strncmp(seg + 1 + k - 8, ".service", 8) == 0) {
				unit = seg + 1;
				ulen = k;
				if (user == NULL && strncmp(unit, "user@", 5) == 0) {
					user = unit;
					uslen = k;
				}
			}
		}
		if (unit != NULL && ulen + uslen + 7 < cap) {
			if (user != NULL && user != unit)
				snprintf(out, cap, "unit=%.*s/%.*s", (int)uslen, user, (int)ulen, unit);
			else
				snprintf(out, cap, "unit=%.*s", (int)ulen, unit);
			return 1;
		}
		if (line[len] == '\0')
			break;
	}
	return 0;
}

/* What the kind's record says beside it, when known: the pool, the site, the address. */
static void
info(const char *procroot, char *const envp[], const struct caller *c, struct origin *o)
{
	char pool[64];
	const char *v = NULL, *from = NULL;

	if (strcmp(o->kind, "web") == 0) {
		if (caller_fpm_worker(c, pool) != 0) {
			snprintf(o->info, sizeof o->info, "pool=%s", pool);
			o->info_from = "title";
			return;
		}
		if ((v = caller_getenv(envp, "SERVER_NAME")) == NULL)
			v = caller_getenv(envp, "HTTP_HOST");
		from = "env";
		if (v != NULL && v[0] && strlen(v) < 128)
			snprintf(o->info, sizeof o->info, "vhost=%s", v);
	} else if (strcmp(o->kind, "ssh") == 0) {
		/* "CLIENT-IP CLIENT-PORT SERVER-IP SERVER-PORT" */
		v = claimed_env(procroot, envp, c, "SSH_CONNECTION", &from);
		if (v != NULL) {
			size_t n = strspn(v, "0123456789abcdefABCDEF:.");

			if (n > 0 && n < 64 && (v[n] == ' ' || v[n] == '\0'))
				snprintf(o->info, sizeof o->info, "addr=%.*s", (int)n, v);
		}
	}
	if (o->info[0])
		o->info_from = from;
}

void
origin_find(const char *procroot, char *const envp[], const struct caller *c, struct origin *o)
{
	char path[64 + PATH_MAX], status[4096];
	const char *own = NULL;
	int systemd = 0;	/* pid 1 is systemd */
	long ppid = c->above;
	struct pstat self, ps;

	*o = (struct origin){ .kind = NULL };
	/* The caller's own, as caller_identify read them: a claim at the most. */
	for (int i = 0; i < c->nparents && own == NULL; i++)
		own = kind_of(c->parents[i].name);
	/*
	 * An ancestor starts before its child: a process that started later has
	 * taken the pid of one that ended (a caller may wait for a server's new
	 * child to get it), and the walk stops there.
	 */
	if (pstat_of(procroot, 0, &self) < 0) {
		self = (struct pstat){ .tty = 0 };
		ppid = 0;
	}
	ps.start = self.start;
	for (int hop = c->nparents; ppid > 0 && hop < ORIGIN_MAX_HOPS; hop++) {
		unsigned long long child = ps.start;
		const char *kind;
		long ruid, euid;

		if (pstat_of(procroot, ppid, &ps) < 0 || ps.start > child)
			break;
		if ((kind = kind_of(ps.name)) != NULL) {
			/* Its uids, only now: status costs twice what stat does. */
			snprintf(path, sizeof path, "%s/%ld/status", procroot, ppid);
			if (caller_read_small(path, status, sizeof status) < 0 ||
			    caller_uids(status, &ruid, &euid) < 0)
				break;
			/*
			 * Another user's process, by its real uid as well: a set-uid
			 * program the caller ran (newgrp, su) keeps the caller's real
			 * uid and takes the name of the link it was run by.
			 */
			if (ruid != c->uid && euid != c->uid) {
				o->kind = kind;
				o->from = "ancestor";
				break;
			}
			if (own == NULL)
				own = kind;
		}
		if (ppid == 1)
			systemd = strcmp(ps.name, "systemd") == 0;
		ppid = ps.ppid;
	}
	if (o->kind == NULL && own != NULL) {
		o->kind = own;
		o->from = "own-ancestor";
	}
	if (o->kind == NULL && self.tty != 0) {
		o->kind = "console";
		o->from = "tty";
	}
	if (o->kind == NULL && systemd &&
	    unit_of(procroot, o->info, sizeof o->info)) {
		o->kind = "systemd";
		o->from = "cgroup";
		o->info_from = "cgroup";
		return;
	}
	if (o->kind == NULL) {
		o->kind = "unknown";
		o->from = "none";
		return;
	}
	info(procroot, envp, c, o);
}
