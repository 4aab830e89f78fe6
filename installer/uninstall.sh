#!/bin/sh
# uninstall.sh: `make uninstall`.  Reverts first when capture is on (the
# MTA's sendmail must never point at a removed file), removes what
# install.sh put in place, and lists what it kept, with the commands that
# remove it: the config and freezes, the capture log (append-only), the
# state, held mail and purged mail.
set -eu
DESTDIR=$1 SBINDIR=$2 MANDIR=$3 SYSCONFDIR=$4 LOCALSTATEDIR=$5
D=$DESTDIR

inst="$D$SBINDIR/qwrap-install"
if [ -z "$D" ] && [ -x "$inst" ]; then
	if ! status=$("$inst" --status 2>&1); then
		echo "uninstall: qwrap-install --status failed; nothing removed while capture may be on:" >&2
		echo "$status" >&2
		exit 1
	fi
	case "$status" in
	*"capture:  on"* | *"capture:  off, but a state was recorded"*)
		echo "uninstall: capture is on: qwrap-install --revert first"
		"$inst" --revert || { echo "uninstall: the revert failed: nothing removed" >&2; exit 1; }
		;;
	esac
fi

for f in "$D$SBINDIR/qwrap-sendmail" "$D$SBINDIR/qwrap" "$D$SBINDIR/qwrap-install" \
    "$D$MANDIR/man8/qwrap-sendmail.8" "$D$MANDIR/man8/qwrap.8" "$D$MANDIR/man8/qwrap-install.8" \
    "$D$MANDIR/man5/qwrap.conf.5" "$D$MANDIR/man5/qwrap-log.5" "$D$SYSCONFDIR/logrotate.d/qwrap"; do
	if [ -e "$f" ]; then
		rm -f "$f"
		echo "removed $f"
	fi
done

log="$D$LOCALSTATEDIR/log/qwrap"
kept() { [ -e "$1" ] && printf '  %-36s %s\n' "$1" "$2"; return 0; }
echo "kept (remove by hand if you want them gone):"
kept "$D$SYSCONFDIR/qwrap" "the config and freezes: rm -r $D$SYSCONFDIR/qwrap"
kept "$log" "the capture log: chattr -a $log/capture.log; rm -r $log"
kept "$D$LOCALSTATEDIR/lib/qwrap" "limit counts and the session's state: rm -r $D$LOCALSTATEDIR/lib/qwrap"
kept "$D$LOCALSTATEDIR/spool/qwrap" "held mail (qwrap release first): rm -r $D$LOCALSTATEDIR/spool/qwrap"
kept "$D$LOCALSTATEDIR/lib/qwrap-quarantine" "purged mail (qwrap restore first): rm -r $D$LOCALSTATEDIR/lib/qwrap-quarantine"
