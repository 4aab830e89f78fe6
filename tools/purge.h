/* purge.h: qwrap purge: messages out of a qmail queue into the quarantine.  Run as root. */
#ifndef QWRAP_PURGE_H
#define QWRAP_PURGE_H

#include "config.h"

/* ARGV after "purge"; a sysexits status. */
int purge(const struct conf *c, int argc, char *argv[]);

#endif
