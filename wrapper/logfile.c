/*
 * logfile.c: open and append to the capture log (docs/SECURITY.md: the log).
 * The open runs with the qwrap group; nothing here truncates, reads, renames
 * or creates the log: the installer creates it with the right owner and mode.
 */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int
logfile_open(const char *path, uid_t trusted, char err[LOGFILE_ERR_MAX])
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot open log %s: %s", path,
		    errno == ELOOP ? "it is a symbolic link" :
		    errno == ENXIO ? "it is a FIFO" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot stat log %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(err, LOGFILE_ERR_MAX, "log %s is not a regular file", path);
	else if (st.st_nlink != 1)
		snprintf(err, LOGFILE_ERR_MAX, "log %s has %lu links; it must have exactly one",
		    path, (unsigned long)st.st_nlink);
	else if (st.st_uid != 0 && st.st_uid != trusted)
		snprintf(err, LOGFILE_ERR_MAX, "log %s is owned by uid %ld, not root", path,
		    (long)st.st_uid);
	else if (st.st_mode & 0047)
		snprintf(err, LOGFILE_ERR_MAX,
		    "log %s has mode %04o; it must be readable by its owner only (0620)",
		    path, (unsigned)(st.st_mode & 07777));
	else
		return fd;
	close(fd);
	return -1;
}

int
logfile_append(int fd, const char *path, const char *rec, size_t len,
    char err[LOGFILE_ERR_MAX])
{
	struct rlimit rl;
	ssize_t n;

	/*
	 * Past RLIMIT_FSIZE the kernel writes only part of a record, and a
	 * check of the size first races with other writers: with any file
	 * size limit at all (the caller's choice), the log is not written.
	 */
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		snprintf(err, LOGFILE_ERR_MAX, "cannot write log %s: a file size limit is set", path);
		return -1;
	}
	do
		n = write(fd, rec, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		snprintf(err, LOGFILE_ERR_MAX, "cannot write log %s: %s", path, strerror(errno));
	else
		snprintf(err, LOGFILE_ERR_MAX, "short write to log %s (%zd of %zu bytes)",
		    path, n, len);
	return -1;
}
