/*
 * qwrap: the admin tool.  Runs as root (or any admin), never set-gid; for
 * now it validates a configuration file the way the wrapper reads it.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "paths.h"

static int
usage(void)
{
	fprintf(stderr, "usage: qwrap check-config [FILE]\n");
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

int
main(int argc, char *argv[])
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "check-config") == 0 && argc <= 3)
		return check_config(argc == 3 ? argv[2] : QWRAP_CONF_PATH);
	return usage();
}
