/*
 * vhost.h: the site a path belongs to.  Under a Plesk-style vhosts root
 * (ROOT/DOMAIN/..., ROOT/system/DOMAIN/...) it is the domain; under /home,
 * cPanel-style (/home/USER/public_html/...), it is the user.
 */
#ifndef QWRAP_VHOST_H
#define QWRAP_VHOST_H

#include <limits.h>
#include <stddef.h>

#define PSA_CONF "/etc/psa/psa.conf"

/*
 * The vhosts root: OPTION when given, else Plesk's HTTPD_VHOSTS_D from
 * PSA_CONF_PATH, else CONFIGURED (the config's vhosts_root), else "".
 */
void vhost_root(const char *option, const char *psa_conf_path, const char *configured,
    char root[PATH_MAX]);

/*
 * The site of PATH into OUT: ROOT/SITE/... (ROOT/system/SITE/... on Plesk);
 * else /home/USER/domains/DOMAIN/... (DirectAdmin), /home/USER/DOMAIN/...
 * (a cPanel addon domain: a name with a dot), /home/USER/... (USER).  0, or
 * -1 when PATH is under none.
 */
int vhost_of(const char *root, const char *path, char *out, size_t cap);

#endif
