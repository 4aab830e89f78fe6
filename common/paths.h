/*
 * paths.h: the compiled-in paths.  The Makefile derives them from PREFIX,
 * SYSCONFDIR and LOCALSTATEDIR; nothing at run time can change them.
 */
#ifndef QWRAP_PATHS_H
#define QWRAP_PATHS_H

#ifndef QWRAP_CONF_PATH
#define QWRAP_CONF_PATH "/etc/qwrap/qwrap.conf"
#endif
/* The administrator's freezes (freeze.h), beside the config: see freeze.h for why. */
#ifndef QWRAP_FREEZE_PATH
#define QWRAP_FREEZE_PATH "/etc/qwrap/freeze"
#endif
#ifndef QWRAP_LOG_PATH
#define QWRAP_LOG_PATH "/var/log/qwrap/capture.log"
#endif
#ifndef QWRAP_STATE_DIR
#define QWRAP_STATE_DIR "/var/lib/qwrap"
#endif
#ifndef QWRAP_SPOOL_DIR
#define QWRAP_SPOOL_DIR "/var/spool/qwrap"
#endif
#ifndef QWRAP_SBINDIR
#define QWRAP_SBINDIR "/usr/local/sbin"
#endif
#define QWRAP_WRAPPER QWRAP_SBINDIR "/qwrap-sendmail"
/* In qwrap-sendmail's binary, so that qwrap-install can tell it from a file installed over it. */
#define QWRAP_SENDMAIL_MARK "qwrap-sendmail: the qwrap wrapper, mark 1"
/* The host whose PHP and sendmail qwrap-install --verify looks at: /, or a test's tree. */
#ifndef QWRAP_SCAN_ROOT
#define QWRAP_SCAN_ROOT ""
#endif
#ifndef QWRAP_REAL_SENDMAIL
#define QWRAP_REAL_SENDMAIL "/var/qmail/bin/sendmail-qmail"
#endif

#endif
