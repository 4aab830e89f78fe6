/* held.h: qwrap held, release and discard: the hold spool.  Runs as root. */
#ifndef QWRAP_HELD_H
#define QWRAP_HELD_H

#include "config.h"

/* Each returns a sysexits status; messages go to stdout and stderr. */
int held_list(const struct conf *c, int json);
int held_release(const struct conf *c, int argc, char *argv[]);
int held_discard(const struct conf *c, int argc, char *argv[]);

#endif
