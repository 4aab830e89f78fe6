/*
 * vhost.c: see vhost.h.
 */
#include "vhost.h"

#include <stdio.h>
#include <string.h>

/* HTTPD_VHOSTS_D from psa.conf: "KEY VALUE" lines, '#' comments. */
static int
psa_vhosts(const char *path, char root[PATH_MAX])
{
	char line[PATH_MAX + 64];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *p = line + strspn(line, " \t"), *v, *e;

		if (strncmp(p, "HTTPD_VHOSTS_D", 14) != 0 || (p[14] != ' ' && p[14] != '\t'))
			continue;
		v = p + 14 + strspn(p + 14, " \t");
		e = v + strcspn(v, " \t\r\n");
		*e = '\0';
		if (v[0] == '/' && (size_t)(e - v) < PATH_MAX) {
			memcpy(root, v, (size_t)(e - v) + 1);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

void
vhost_root(const char *option, const char *psa_conf_path, const char *configured,
    char root[PATH_MAX])
{
	root[0] = '\0';
	if (option != NULL && option[0] != '\0')
		snprintf(root, PATH_MAX, "%s", option);
	else if (!psa_vhosts(psa_conf_path, root) && configured != NULL)
		snprintf(root, PATH_MAX, "%s", configured);
	/* "/var/www/vhosts/" and "/var/www/vhosts" are one root. */
	for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
		root[n - 1] = '\0';
}

/* The first path component of PATH after the directory ROOT, or NULL. */
static const char *
under(const char *root, const char *path, size_t *len)
{
	size_t n = strlen(root);
	const char *p;

	if (n == 0 || strncmp(path, root, n) != 0 || path[n] != '/')
		return NULL;
	p = path + n + 1;
	*len = strcspn(p, "/");
	return *len > 0 ? p : NULL;
}

int
vhost_of(const char *root, const char *path, char *out, size_t cap)
{
	const char *p;
	size_t len;

	/* Plesk keeps each domain's logs and configuration under ROOT/system/DOMAIN. */
	if ((p = under(root, path, &len)) != NULL && len == 6 && memcmp(p, "system/", 7) == 0) {
		p += 7;
		len = strcspn(p, "/");
	}
	if (p == NULL || len == 0) {
		/*
		 * /home/USER/...: the panels' layouts.  DirectAdmin's
		 * /home/USER/domains/DOMAIN and cPanel's addon domain
		 * /home/USER/DOMAIN (a name with a dot) are the domain's; the rest,
		 * cPanel's public_html included, is USER's.
		 */
		const char *rest;
		size_t n;

		if ((p = under("/home", path, &len)) != NULL && (rest = p + len)[0] == '/') {
			n = strcspn(rest + 1, "/");
			if (n == 7 && memcmp(rest + 1, "domains/", 8) == 0 &&
			    (n = strcspn(rest + 9, "/")) > 0) {
				p = rest + 9;
				len = n;
			} else if (n > 0 && rest[1] != '.' && memchr(rest + 1, '.', n) != NULL) {
				p = rest + 1;
				len = n;
			}
		}
	}
	if (p == NULL || len == 0 || len >= cap || (len == 1 && p[0] == '.') ||
	    (len == 2 && p[0] == '.' && p[1] == '.'))
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}
