/*
 * qwrap: the admin tool.  Runs as root (or any admin), never set-gid.  For
 * now: check-config, and the hold spool (held, release, discard).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "held.h"
#include "paths.h"

static int
usage(void)
{
	fprintf(stderr, "usage: qwrap check-config [FILE]\n"
	    "       qwrap held [--json]\n"
	    "       qwrap release ID... | --all | --uid N | --script GLOB\n"
	    "       qwrap discard ID... | --all | --uid N | --script GLOB\n");
	return EX_USAGE;
}

/* Prints the file's verdict, and the effective settings when it is good. */
static int
check_config(const char *path)
{
	static struct conf c;
	char err[CONF_ERR_MAX];

	switch (conf_load(path, (uid_t)-1, &c, err)) {
	case CONF_BAD:
		fprintf(stderr, "qwrap: %s\n", err);
		return EX_CONFIG;
	case CONF_ABSENT:
		printf("%s: absent; the built-in defaults apply\n", path);
		break;
	case CONF_OK:
		printf("%s: ok\n", path);
		break;
	}
	printf("sendmail  = %s\nlog       = %s%s\nheader    = %s:", c.sendmail,
	    c.log_file, c.log_syslog ? " (and syslog)" : "", c.header_name);
	for (int i = 0; i < c.nfields; i++)
		printf(" %s", conf_field_name(c.fields[i]));
	printf("\non_error  = %s\nlimits    = %d\n",
	    c.on_error == ON_ERROR_DELIVER ? "deliver" : "tempfail", c.nlimits);
	return 0;
}

/* The config the wrapper uses, for the spool and log paths. */
static const struct conf *
config(void)
{
	static struct conf c;
	char err[CONF_ERR_MAX];

	/* Root runs this, and release runs programs it names: root's file only. */
	if (conf_load(QWRAP_CONF_PATH, 0, &c, err) == CONF_BAD) {
		fprintf(stderr, "qwrap: %s\n", err);
		exit(EX_CONFIG);
	}
	return &c;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "check-config") == 0 && argc <= 3)
		return check_config(argc == 3 ? argv[2] : QWRAP_CONF_PATH);
	if (strcmp(argv[1], "held") == 0 && (argc == 2 || (argc == 3 &&
	    strcmp(argv[2], "--json") == 0)))
		return held_list(config(), argc == 3);
	if (strcmp(argv[1], "release") == 0)
		return held_release(config(), argc - 2, argv + 2);
	if (strcmp(argv[1], "discard") == 0)
		return held_discard(config(), argc - 2, argv + 2);
	return usage();
}
