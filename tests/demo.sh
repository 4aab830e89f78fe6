#!/bin/sh
# demo.sh: `make demo`.  The main job end to end, with no MTA: a private
# install under a throwaway prefix, a PHP script in a vhost-like tree that
# calls mail(), qwrap-sendmail in front of a recording stand-in for qmail's
# sendmail, then what the stand-in received and the capture record; then a
# few more messages, from two sites, and qwrap's answer to "who is sending?".
set -eu
cd "$(dirname "$0")/.."

root=$(mktemp -d /tmp/qwrap-demo.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
B=build-demo

# As root the demo runs the wrapper set-gid, as user nobody: the real thing.
run_as=
if [ "$(id -u)" = 0 ]; then
	if ! getent group qwrap >/dev/null; then
		echo "demo: creating the system group qwrap (qwrap-sendmail is set-gid qwrap)"
		groupadd --system qwrap
	fi
	run_as="setpriv --reuid=nobody --regid=nogroup --init-groups"
fi

echo "demo: building and installing privately under $root"
make -s BUILD=$B PREFIX="$root" SYSCONFDIR="$root/etc" LOCALSTATEDIR="$root/var" \
    REAL_SENDMAIL="$root/bin/sendmail-qmail" all $B/standin install
install -D -m 0755 $B/standin "$root/bin/sendmail-qmail"

site="$root/vhosts/shop.example/httpdocs/wp-content/uploads"
mkdir -p "$site" "$root/received"
chmod 1777 "$root/received"
cat > "$site/x.php" <<'PHP'
<?php
// A compromised upload: the kind of script qwrap is there to find.
mail("victim1@example.com, victim2@example.org",
     "Your account has been suspended - action required",
     "Click here to keep your account: http://phish.example/\n",
     "From: security@bank.example\r\nBcc: victim3@example.net");
PHP
blog="$root/vhosts/blog.example/httpdocs"
mkdir -p "$blog"
cat > "$blog/contact.php" <<'PHP'
<?php
mail("owner@blog.example", "Contact form", "Hello\n", "From: visitor@example.net");
PHP
chmod -R a+rX "$root/vhosts"

echo "demo: running, from $site:"
echo "      php -d sendmail_path='$root/sbin/qwrap-sendmail -t -i' x.php${run_as:+  (as nobody)}"
(cd "$site" && STANDIN_DIR="$root/received" $run_as php \
    -d sendmail_path="$root/sbin/qwrap-sendmail -t -i" -d mail.add_x_header=On x.php)

echo
echo "=== what the real sendmail (the stand-in) received: qwrap's header comes first"
cat "$root"/received/*/stdin
echo
echo "=== the capture record, one JSON line in $root/var/log/qwrap/capture.log"
jq . "$root/var/log/qwrap/capture.log"
echo
ls -l "$root/sbin/qwrap-sendmail" "$root/var/log/qwrap/capture.log"

echo
echo "demo: x.php runs twice more, and blog.example's contact form once"
for dir in "$site" "$site" "$blog"; do
	script=x.php
	[ "$dir" = "$blog" ] && script=contact.php
	(cd "$dir" && STANDIN_DIR="$root/received" $run_as php \
	    -d sendmail_path="$root/sbin/qwrap-sendmail -t -i" $script)
done
echo
echo "=== who is sending? qwrap top --by script"
"$root/sbin/qwrap" top --by script
echo
echo "=== and which sites: qwrap top --by vhost --vhosts-root $root/vhosts"
"$root/sbin/qwrap" top --by vhost --vhosts-root "$root/vhosts"
echo "demo: done (the private install is removed again)"
