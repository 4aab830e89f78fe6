/* tmpdir.h: the scratch directory every unit driver's setup and teardown use, and its files. */
#ifndef QWRAP_TEST_TMPDIR_H
#define QWRAP_TEST_TMPDIR_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int
tmpdir_rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Makes a fresh /tmp/qwrap-test-NAME-XXXXXX into DIR (PATH_MAX bytes); 0 or -1. */
static inline int
tmpdir_make(char *dir, size_t cap, const char *name)
{
	snprintf(dir, cap, "/tmp/qwrap-test-%s-XXXXXX", name);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes TOP and everything under it, symlinks not followed. */
static inline int
tmpdir_remove(const char *top)
{
	return nftw(top, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Replaces PATH with N bytes of DATA and gives it exactly MODE, whatever the umask; 0 or -1. */
static inline int
tmpdir_write(const char *path, const void *data, size_t n, mode_t mode)
{
	ssize_t w;
	int fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		return -1;
	w = n ? write(fd, data, n) : 0;
	if (fchmod(fd, mode) < 0 || w != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

#endif
