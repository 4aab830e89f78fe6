/*
 * notify.h: the optional mail to the admin (config 'notify') when a limit
 * first fires for a key in a window.  Runs after the group was dropped.
 */
#ifndef QWRAP_NOTIFY_H
#define QWRAP_NOTIFY_H

#include "config.h"
#include "ratelimit.h"

/*
 * Hands a short notice to the real sendmail SENDMAIL (argv "sendmail -t",
 * environment PATH only), in a detached process that the caller does not
 * wait for; it runs as the caller, who could kill it.  The subject
 * holds only numbers; the key goes in the body (ratelimit made it printable).  0, or -1 when no process started.
 */
int notify_limit(const char *sendmail, const char *to, const char *host, const char *id,
    long uid, const struct rl_verdict *v, const struct conf_limit *l);

#endif
