#!/bin/sh
# install.sh: `make install`.  Puts the programs, man pages, a config with
# this install's paths, a logrotate stanza and an empty capture log in place.  As root with the
# qwrap group present it makes the wrapper root:qwrap 2755 and the log
# root:qwrap 0620; otherwise it says which ownership steps it skipped.
# (qwrap-install --enable, not this script, swaps the wrapper in for qmail's.)
set -eu
DESTDIR=$1 SBINDIR=$2 MANDIR=$3 SYSCONFDIR=$4 LOCALSTATEDIR=$5 BUILD=$6 GROUP=$7
REAL_SENDMAIL=${REAL_SENDMAIL:-/var/qmail/bin/sendmail-qmail}

D=$DESTDIR
owned=no
if [ "$(id -u)" = 0 ] && getent group "$GROUP" >/dev/null; then
	owned=yes
fi

install -d -m 0755 "$D$SBINDIR" "$D$MANDIR/man8" "$D$MANDIR/man5" \
	"$D$SYSCONFDIR/qwrap" "$D$LOCALSTATEDIR/log/qwrap"
install -d -m 0770 "$D$LOCALSTATEDIR/lib/qwrap" "$D$LOCALSTATEDIR/spool/qwrap"
install -m 0755 "$BUILD/qwrap" "$D$SBINDIR/qwrap"
install -m 0755 "$BUILD/qwrap-install" "$D$SBINDIR/qwrap-install"

# The wrapper goes in under a temporary name and is renamed over the old one,
# so a running system never sees a half-written binary; chown before chmod,
# because chown clears the set-gid bit.
tmp="$D$SBINDIR/.qwrap-sendmail.new"
cp "$BUILD/qwrap-sendmail" "$tmp"
if [ $owned = yes ]; then
	chown "root:$GROUP" "$tmp"
	chmod 2755 "$tmp"
else
	chmod 0755 "$tmp"
fi
mv -f "$tmp" "$D$SBINDIR/qwrap-sendmail"

for m in man/*.8; do [ -e "$m" ] && install -m 0644 "$m" "$D$MANDIR/man8/"; done
for m in man/*.5; do [ -e "$m" ] && install -m 0644 "$m" "$D$MANDIR/man5/"; done

conf="$D$SYSCONFDIR/qwrap/qwrap.conf"
if [ ! -e "$conf" ]; then
	sed -e "s|/var/qmail/bin/sendmail-qmail|$REAL_SENDMAIL|" \
	    -e "s|/var/log/qwrap/capture.log|$LOCALSTATEDIR/log/qwrap/capture.log|" \
	    -e "s|/var/lib/qwrap|$LOCALSTATEDIR/lib/qwrap|" \
	    -e "s|/var/spool/qwrap|$LOCALSTATEDIR/spool/qwrap|" \
	    contrib/qwrap.conf > "$conf"
	chmod 0644 "$conf"
fi

# Rotation by rename, with the append-only attribute handled (contrib/logrotate.qwrap).
rotate="$D$SYSCONFDIR/logrotate.d/qwrap"
if [ ! -e "$rotate" ]; then
	install -d -m 0755 "$D$SYSCONFDIR/logrotate.d"
	sed -e "s|/var/log/qwrap/capture.log|$LOCALSTATEDIR/log/qwrap/capture.log|" \
	    -e "s|root qwrap|root $GROUP|" contrib/logrotate.qwrap > "$rotate"
	chmod 0644 "$rotate"
fi

# An existing log is left alone: it may be append-only (qwrap-install --enable),
# which forbids chmod and chown; --enable puts its owner and mode right.
log="$D$LOCALSTATEDIR/log/qwrap/capture.log"
if [ ! -e "$log" ]; then
	: > "$log"
	chmod 0620 "$log"
	[ $owned = no ] || chown "root:$GROUP" "$log"
fi
if [ $owned = yes ]; then
	chown "root:$GROUP" "$D$LOCALSTATEDIR/lib/qwrap" "$D$LOCALSTATEDIR/spool/qwrap"
else
	echo "install: not root or no group '$GROUP': ownership steps skipped," \
	     "qwrap-sendmail installed without the set-gid bit"
fi

echo "installed: $D$SBINDIR/qwrap-sendmail, qwrap, qwrap-install; man pages in $D$MANDIR;"
echo "  $conf, $rotate; the capture log $log"
echo "next: qwrap-install --verify (what is missing), then qwrap-install --enable --for 1h"
