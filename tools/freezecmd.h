/* freezecmd.h: qwrap freeze and thaw: root's freezes (common/freeze.h).  Run as root. */
#ifndef QWRAP_FREEZECMD_H
#define QWRAP_FREEZECMD_H

#include "config.h"
#include "freeze.h"

/* ARGV after "freeze": lists the freezes, or adds one.  A sysexits status. */
int freezecmd_freeze(const struct conf *c, int argc, char *argv[]);

/* ARGV after "thaw": ID... or --all.  A sysexits status. */
int freezecmd_thaw(int argc, char *argv[]);

#endif
