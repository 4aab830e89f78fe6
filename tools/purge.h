/* purge.h: qwrap purge: which messages of a qmail queue a purge takes (--dry-run).  Run as root. */
#ifndef QWRAP_PURGE_H
#define QWRAP_PURGE_H

#include "config.h"

/* ARGV after "purge"; a sysexits status. */
int purge(const struct conf *c, int argc, char *argv[]);

#endif
