#!/bin/sh
# notqmail.sh: builds the real qmail (notqmail, vendored in ../shared/vendor)
# into a private home for the tests and the benchmark, once per machine, and
# prints that home.  The home is compiled into qmail's programs, so it is
# named after the tarball's checksum: a new tarball gets a new home, and the
# same one is never built twice.  qmail-send is never started here, so
# qmail-queue only writes the queue, which is what the tests read.  An
# existing /var/qmail is never touched.
#
# Needs root (qmail's users, a set-uid qmail-queue); as another user it
# prints the home only when it is already built, and otherwise fails.
set -eu
cd "$(dirname "$0")/.."

# ../shared beside the checkout, as CI has it; for a clone made elsewhere
# (git clone . /tmp/x), beside the repository it was cloned from.
vendor=../shared/vendor
origin=$(git config --get remote.origin.url 2>/dev/null || true)
case $origin in
/*) [ -d "$vendor" ] || vendor=$origin/../shared/vendor ;;
esac
tarball=${QWRAP_NOTQMAIL_TARBALL:-$vendor/notqmail-1.08-a7012e4.tar.gz}
base=${QWRAP_NOTQMAIL_BASE:-/var/lib/qwrap-test}

[ -f "$tarball" ] || { echo "notqmail: no $tarball" >&2; exit 1; }
sum=$(sha256sum "$tarball" | cut -c1-64)
home=$base/notqmail-$(echo "$sum" | cut -c1-12)

built() { [ "$(cat "$home/.qwrap-built" 2>/dev/null)" = "$sum" ]; }
if built; then
	echo "$home"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "notqmail: not built yet; building it needs root (users, set-uid qmail-queue)" >&2
	exit 1
fi

# The users and groups of INSTALL.ids.md.  notqmail looks them up by name at
# run time; existing ones (a real qmail's) are used as they are.
getent group nofiles >/dev/null || groupadd --system nofiles
getent group qmail >/dev/null || groupadd --system qmail
for u in alias:nofiles qmaild:nofiles qmaill:nofiles qmailp:nofiles \
         qmailq:qmail qmailr:qmail qmails:qmail; do
	getent passwd "${u%%:*}" >/dev/null ||
		useradd --system --no-create-home --home-dir "$home" \
			--shell /usr/sbin/nologin -g "${u#*:}" "${u%%:*}"
done

mkdir -p "$base"
chmod 755 "$base"
exec 9>"$base/.lock"
flock 9
if built; then      # another run built it while this one waited
	echo "$home"
	exit 0
fi
echo "notqmail: building $(basename "$tarball") into $home (once per machine)" >&2
src=$(mktemp -d "$base/build.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -xzf "$tarball" -C "$src"
cd "$src"/notqmail-*
echo "$home" > conf-qmail
rm -rf "$home"
mkdir -p "$home"
log=$src/build.log
if ! { make setup check && ./config-fast localhost; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "notqmail: build failed" >&2
	exit 1
fi
# The alias user's home, where qmail looks for .qmail-default and friends.
mkdir -p "$home/alias"
chown alias:nofiles "$home/alias"
chmod 2755 "$home/alias"
echo "$sum" > "$home/.qwrap-built"
echo "$home"
