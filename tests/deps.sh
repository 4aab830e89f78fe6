#!/bin/sh
# deps.sh: make sure the Debian packages that qwrap's build, tests, demo and
# benchmark need are installed.  As root it installs what is missing with
# apt-get; otherwise it names the missing packages and fails.
set -eu

PACKAGES="gcc libc6-dev make procps libconfig-dev libcmocka-dev php-cli php-cgi python3
clang libclang-rt-14-dev libjson-c-dev zlib1g-dev gzip jq util-linux passwd e2fsprogs strace logrotate
postfix at swaks php-symfony-mailer libphp-phpmailer
php8.2-fpm libfcgi-bin apache2 libapache2-mod-php8.2 curl perl
ruby nodejs cron openssh-server openssh-client
build-essential dpkg-dev debhelper lintian rpm rsyslog rsyslog-relp mandoc"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix is here for its real sendmail binary (qwrap-install --target
# /usr/sbin/sendmail): configured "Local only" without questions.  php-fpm and
# Apache are here for the per-SAPI tests, which start their own instances on
# private sockets and ports; Ruby and Node.js for the interpreters' scripts;
# cron and sshd for the origin tests, which start their own.  None of their
# services may start: a policy-rc.d that refuses, only while installing, and
# only if the host has none of its own.
echo "postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string qwrap-test.invalid" | debconf-set-selections
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	policy=/usr/sbin/policy-rc.d
fi
trap '[ -z "$policy" ] || rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
