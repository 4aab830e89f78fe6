/* target.c: what may be the real sendmail (target.h). */
#include "target.h"

#include <stddef.h>

enum target_fault
target_judge(const struct stat *st, const struct stat *self)
{
	if (self != NULL && self->st_dev == st->st_dev && self->st_ino == st->st_ino)
		return TARGET_IS_WRAPPER;
	if (!S_ISREG(st->st_mode) || !(st->st_mode & 0111))
		return TARGET_NOT_PROGRAM;
	if ((st->st_uid != 0 && (self == NULL || st->st_uid != self->st_uid)) ||
	    (st->st_mode & 022))
		return TARGET_UNSAFE;
	return TARGET_OK;
}
