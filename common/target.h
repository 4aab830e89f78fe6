/*
 * target.h: the one rule for what may be the real sendmail behind the
 * wrapper, which the wrapper checks before each message and qwrap-install
 * before it moves anything.
 */
#ifndef QWRAP_TARGET_H
#define QWRAP_TARGET_H

#include <sys/stat.h>

enum target_fault {
	TARGET_OK,
	TARGET_IS_WRAPPER,	/* qwrap-sendmail itself: mail would go round for ever */
	TARGET_NOT_PROGRAM,	/* not a regular file with an execute bit */
	TARGET_UNSAFE,		/* owned by other than root or the wrapper's owner, or group/other-writable */
};

/*
 * Judges ST, the stat(2) of a candidate, against SELF, that of the
 * installed qwrap-sendmail (NULL when there is none): whoever owns the
 * wrapper could replace it, so they may own the real sendmail too.
 */
enum target_fault target_judge(const struct stat *st, const struct stat *self);

#endif
