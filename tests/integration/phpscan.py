"""Where PHP's mail() leads (issue 25, the silent miss): qwrap-install --verify and
--status read every PHP configuration of the host as PHP reads it and name each whose
sendmail_path goes around the wrapper, with the line to write instead.  The host is a
tree the test builds (the integration build's SCANROOT is env.root): php.ini files with
their scan directories, FPM pools, an Apache vhost, Plesk's, cPanel's and CloudLinux's
layouts, PHP binaries that are the real php, and Postfix's real sendmail as
/usr/sbin/sendmail.  The fixes --verify prints are applied as printed; then nothing is
left to name, before and after enable."""
import json
import os
import re
import shutil
import subprocess

import __main__ as run  # run.py's helpers

TESTS = []


def php_test(fn):
    TESTS.append(fn)
    return fn


# Made under env.root by the test, removed after: the host's own trees.
HOST_TREES = ["etc/php", "etc/apache2", "opt", "usr", "var/www", "var/qmail"]


def put(env, path, text, mode=0o644):
    full = os.path.join(env.root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)
    os.chmod(full, mode)
    return full


def link(env, path, to):
    full = os.path.join(env.root, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if os.path.lexists(full):
        os.unlink(full)
    os.symlink(to, full)


def build_host(env):
    """A host with qmail at /bin/sendmail (the Swap's target), Postfix's sendmail at
    /usr/sbin/sendmail, and PHP configured every way it can be."""
    sendmail = os.path.join(env.root, "usr/sbin/sendmail")
    os.makedirs(os.path.dirname(sendmail))
    shutil.copy("/usr/sbin/sendmail" if os.path.exists("/usr/sbin/sendmail") else "/bin/true",
                sendmail)
    link(env, "/usr/lib/sendmail", "../sbin/sendmail")
    put(env, "/etc/php/8.2/cli/php.ini", "[PHP]\nengine = On\n[mail function]\n"
        ";sendmail_path =\n")
    put(env, "/etc/php/8.2/cli/conf.d/10-opcache.ini", "zend_extension=opcache.so\n")
    put(env, "/etc/php/8.2/fpm/php.ini", "[mail function]\nsendmail_path = /bin/sendmail -t -i\n")
    put(env, "/etc/php/8.2/fpm/conf.d/10-opcache.ini", "zend_extension=opcache.so\n")
    # The scan directory's last word wins over php.ini's: this one goes around.
    put(env, "/etc/php/8.2/fpm/conf.d/99-mail.ini",
        "; the site's bounce address\nsendmail_path = \"/usr/sbin/sendmail -t -i -fwww@example.com\"\n")
    # Two pools in one file: each is checked, not only the last.
    put(env, "/etc/php/8.2/fpm/pool.d/www.conf",
        "[www]\nuser = www-data\n;php_admin_value[sendmail_path] = /bin/sendmail\n"
        "php_admin_value[sendmail_path] = /usr/sbin/sendmail -t -i\n"
        "[www2]\nphp_admin_value[sendmail_path] = /bin/sendmail -t -i\n")
    # FPM applies php_value too, whatever the setting's mode.
    put(env, "/etc/php/8.2/fpm/pool.d/value.conf",
        "[value]\nphp_value[sendmail_path] = /usr/sbin/sendmail -t -i -fa=b\n")
    # Programs that run the rest (env, nice, timeout): the program is past them.
    put(env, "/etc/php/8.2/fpm/pool.d/env.conf",
        "[env]\nphp_admin_value[sendmail_path] = /usr/bin/env -i /usr/sbin/sendmail -t\n"
        "[nice]\nphp_admin_value[sendmail_path] = nice -n 5 timeout 30 /bin/sendmail -t -i\n")
    # A bare name: sh finds it in its default PATH.
    put(env, "/etc/php/8.2/fpm/pool.d/relative.conf",
        "[relative]\nphp_admin_value[sendmail_path] = sendmail -t -i\n")
    # A FIFO as the program: said, never opened for real (nor waited on).
    os.mkfifo(os.path.join(env.root, "usr/sbin/fifo"))
    put(env, "/etc/php/8.2/fpm/pool.d/fifo.conf",
        "[fifo]\nphp_admin_value[sendmail_path] = /usr/sbin/fifo -t\n")
    # A [HOST=...] section applies there only: checked on its own, the global kept.
    put(env, "/etc/php/8.2/cgi/php.ini", "sendmail_path = /bin/sendmail -t -i\n"
        "[HOST=www.example.com]\nsendmail_path = /usr/sbin/sendmail -t\n")
    put(env, "/etc/php/8.2/cgi/conf.d/10-opcache.ini", "zend_extension=opcache.so\n")
    # Plesk's per-domain php.ini without a setting: its PHP's own scan directory is read
    # too, so "not set" cannot be told from the file; nothing is said.
    put(env, "/var/www/vhosts/system/other.example/etc/php.ini", "memory_limit = 128M\n")
    # Through an absolute link, resolved inside the host: it reaches the target.
    link(env, "/usr/local/bin/qmail-sendmail", "/bin/sendmail")
    put(env, "/etc/php/8.2/fpm/pool.d/linked.conf",
        "[linked]\nphp_admin_value[sendmail_path] = /usr/local/bin/qmail-sendmail -t -i\n")
    # Debian's *-available: on only through a link from conf.d, which there is not.
    put(env, "/etc/php/8.2/mods-available/mail.ini", "sendmail_path = /usr/sbin/sendmail\n")
    # Plesk: the real sendmail named directly, behind the wrapper's back.
    put(env, "/var/qmail/bin/qmail-inject", "#!/bin/false\n", 0o755)
    put(env, "/opt/plesk/php/8.1/etc/php.ini", "[PHP]\n\n[mail function]\n"
        "sendmail_path = /var/qmail/bin/qmail-inject -H ; qmail's own\n")
    put(env, "/opt/plesk/php/8.1/etc/php.d/20-x.ini", "extension=x.so\n")
    put(env, "/var/www/vhosts/system/example.com/etc/php.ini",
        "sendmail_path = /usr/lib/sendmail -t -i\n")
    # cPanel: a program that does not exist is a warning (mail() fails; nothing goes around).
    put(env, "/opt/cpanel/ea-php81/root/etc/php.ini", "sendmail_path = /usr/sbin/sendmail.gone -t\n")
    put(env, "/opt/cpanel/ea-php81/root/etc/php-fpm.d/site.conf",
        "[site]\nphp_admin_value[sendmail_path] = /bin/sendmail -t -i\n")
    put(env, "/opt/alt/php80/etc/php.ini", "sendmail_path = /usr/sbin/loop -t -i\n")
    link(env, "/usr/sbin/loop", "/usr/sbin/loop")
    put(env, "/opt/alt/php74/etc/php.ini", "sendmail_path = /bin/sendmail -t -i\n")
    # exec first (docs/PHP.md: PHP becomes the wrapper's parent): the program is the next word.
    put(env, "/etc/php/8.2/fpm/pool.d/exec.conf",
        "[exec]\nphp_admin_value[sendmail_path] = \"exec /bin/sendmail -t -i\"\n")
    put(env, "/opt/alt/php82/etc/php.ini", "sendmail_path = \"exec /usr/sbin/sendmail -t -i\"\n")
    put(env, "/etc/apache2/sites-available/example.conf",
        "<VirtualHost *:80>\n  ServerName example.com\n"
        "  php_admin_value sendmail_path \"/usr/sbin/sendmail -t -i -fweb@example.com\"\n"
        "</VirtualHost>\n")
    link(env, "/etc/apache2/sites-enabled/example.conf", "../sites-available/example.conf")
    # PHP binaries, each the real php: one reads the cli php.ini (said once, of the file),
    # one no php.ini at all with a default of its own, one not root's (never run).
    put(env, "/usr/bin/php8.2", "#!/bin/sh\nexec php -c %s \"$@\"\n"
        % os.path.join(env.root, "etc/php/8.2/cli/php.ini"), 0o755)
    link(env, "/usr/bin/php", "/usr/bin/php8.2")
    put(env, "/usr/bin/php7", "#!/bin/sh\nexec php -n -d sendmail_path=/usr/sbin/sendmail \"$@\"\n",
        0o755)
    ran = os.path.join(env.root, "php9-ran")
    put(env, "/usr/bin/php9", "#!/bin/sh\ntouch %s\n" % ran, 0o755)
    os.chown(os.path.join(env.root, "usr/bin/php9"), env.uid, 0)
    put(env, "/usr/bin/phpize", "#!/bin/sh\nexit 1\n", 0o755)
    return ran


def remove_host(env):
    for t in HOST_TREES:
        shutil.rmtree(os.path.join(env.root, t), ignore_errors=True)


def reach_lines(out):
    """verify's lines about where PHP and sendmail lead: (kind, text)."""
    got = []
    for l in out.decode().splitlines():
        m = re.match(r"(PROBLEM|warning): ((PHP |/usr/).*)", l)
        if m:
            got.append((m.group(1), m.group(2)))
    return got


def fix(env, line):
    """Applies what a --verify line says to write, as an admin would."""
    m = re.match(r"PHP (\S+):(\d+): .*; write instead: (.*)$", line)
    if m:
        path = os.path.join(env.root, m.group(1).lstrip("/"))
        with open(path) as f:
            lines = f.read().split("\n")
        lines[int(m.group(2)) - 1] = m.group(3)
        with open(path, "w") as f:
            f.write("\n".join(lines))
        return
    m = re.match(r"PHP (\S+): sendmail_path is not set: .*add under \[mail function\]: (.*)$", line)
    if m:
        with open(os.path.join(env.root, m.group(1).lstrip("/")), "a") as f:
            f.write("[mail function]\n%s\n" % m.group(2))
        return
    m = re.match(r"PHP (\S+) \(php -i\): .*; write in \S+ \(there is none\): sendmail_path ="
                 r" \"(.*)\"$", line)
    if m:  # no php.ini to write it in: the binary's own -d, here
        put(env, m.group(1), "#!/bin/sh\nexec php -n -d 'sendmail_path=%s' \"$@\"\n" % m.group(2),
            0o755)
        return
    m = re.match(r"(/usr/\S+) .*if qmail delivers here: ln -sfn (\S+) (\S+)$", line)
    assert m and m.group(1) == m.group(3), line
    link(env, m.group(3), m.group(2))


@php_test
def install__php_scan__each_config_around_the_wrapper_named_with_its_fix(env):
    if not env.is_root:
        return "skipped: needs root"
    assert not any(os.path.exists(os.path.join(env.root, t)) for t in HOST_TREES)
    sw = run.Swap(env)
    ran = build_host(env)
    inst = os.path.join(env.sbin, "qwrap-install")
    try:
        # Before enable, --verify is told the target enable will be given.
        v = subprocess.run([inst, "--verify", "--target", sw.target], capture_output=True)
        assert v.returncode == 78, (v.returncode, v.stdout)
        got = reach_lines(v.stdout)
        problems = sorted(t for k, t in got if k == "PROBLEM")
        warnings = sorted(t for k, t in got if k == "warning")
        around = "not /bin/sendmail: its mail goes around capture"
        want = sorted([
            "PHP /etc/apache2/sites-enabled/example.conf:3: \"php_admin_value sendmail_path"
            " /usr/sbin/sendmail -t -i -fweb@example.com\" runs /usr/sbin/sendmail, %s; write"
            " instead: php_admin_value sendmail_path \"/bin/sendmail -t -i -fweb@example.com\""
            % around,
            "PHP /etc/php/8.2/cli/php.ini: sendmail_path is not set: PHP's built-in"
            " \"/usr/sbin/sendmail -t -i\" runs /usr/sbin/sendmail, %s; add under"
            " [mail function]: sendmail_path = \"/bin/sendmail -t -i\"" % around,
            "PHP /etc/php/8.2/cgi/php.ini:3: \"sendmail_path = /usr/sbin/sendmail -t\" runs"
            " /usr/sbin/sendmail, %s; write instead: sendmail_path = \"/bin/sendmail -t\""
            % around,
            "PHP /etc/php/8.2/fpm/conf.d/99-mail.ini:2: \"sendmail_path = /usr/sbin/sendmail -t -i"
            " -fwww@example.com\" runs /usr/sbin/sendmail, %s; write instead: sendmail_path ="
            " \"/bin/sendmail -t -i -fwww@example.com\"" % around,
            "PHP /etc/php/8.2/fpm/pool.d/env.conf:2: \"php_admin_value[sendmail_path] ="
            " /usr/bin/env -i /usr/sbin/sendmail -t\" runs /usr/sbin/sendmail, %s; write instead:"
            " php_admin_value[sendmail_path] = \"/usr/bin/env -i /bin/sendmail -t\"" % around,
            "PHP /etc/php/8.2/fpm/pool.d/relative.conf:2: \"php_admin_value[sendmail_path] ="
            " sendmail -t -i\" runs sendmail (found by PATH: /usr/sbin/sendmail, %s); write"
            " instead: php_admin_value[sendmail_path] = \"/bin/sendmail -t -i\"" % around,
            "PHP /etc/php/8.2/fpm/pool.d/value.conf:2: \"php_value[sendmail_path] ="
            " /usr/sbin/sendmail -t -i -fa=b\" runs /usr/sbin/sendmail, %s; write instead:"
            " php_value[sendmail_path] = \"/bin/sendmail -t -i -fa=b\"" % around,
            "PHP /etc/php/8.2/fpm/pool.d/www.conf:4: \"php_admin_value[sendmail_path] ="
            " /usr/sbin/sendmail -t -i\" runs /usr/sbin/sendmail, %s; write instead:"
            " php_admin_value[sendmail_path] = \"/bin/sendmail -t -i\"" % around,
            "PHP /opt/alt/php82/etc/php.ini:1: \"sendmail_path = exec /usr/sbin/sendmail -t -i\""
            " runs /usr/sbin/sendmail, %s; write instead: sendmail_path ="
            " \"exec /bin/sendmail -t -i\"" % around,
            "PHP /opt/plesk/php/8.1/etc/php.ini:4: \"sendmail_path = /var/qmail/bin/qmail-inject"
            " -H\" runs /var/qmail/bin/qmail-inject, %s (a script: if it runs the target in the"
            " end, this is not a miss); write instead: sendmail_path = \"/bin/sendmail -H\""
            % around,
            "PHP /var/www/vhosts/system/example.com/etc/php.ini:1: \"sendmail_path ="
            " /usr/lib/sendmail -t -i\" runs /usr/lib/sendmail, which is /usr/sbin/sendmail, %s;"
            " write instead: sendmail_path = \"/bin/sendmail -t -i\"" % around,
            "PHP /usr/bin/php7 (php -i): sendmail_path \"/usr/sbin/sendmail\" runs"
            " /usr/sbin/sendmail, %s; write in /etc/php/8.2/cli/php.ini (there is none):"
            " sendmail_path = \"/bin/sendmail\"" % around,
            "/usr/sbin/sendmail is not /bin/sendmail: what cron, scripts and PHP's default send"
            " through it goes around capture; if qmail delivers here: ln -sfn /bin/sendmail"
            " /usr/sbin/sendmail",
        ])
        assert problems == want, "\n".join(["got:"] + problems + ["want:"] + want)
        assert warnings == sorted([
            "PHP /etc/php/8.2/fpm/pool.d/fifo.conf:2: \"php_admin_value[sendmail_path] ="
            " /usr/sbin/fifo -t\" runs /usr/sbin/fifo, not a program: PHP's mail() fails; write"
            " instead: php_admin_value[sendmail_path] = \"/bin/sendmail -t\"",
            "PHP /opt/alt/php80/etc/php.ini:1: \"sendmail_path = /usr/sbin/loop -t -i\" runs"
            " /usr/sbin/loop, a link that leads nowhere (a loop, or too long); write instead:"
            " sendmail_path = \"/bin/sendmail -t -i\"",
            "PHP /opt/cpanel/ea-php81/root/etc/php.ini:1: \"sendmail_path = /usr/sbin/sendmail.gone"
            " -t\" runs /usr/sbin/sendmail.gone, which does not exist: PHP's mail() fails; write"
            " instead: sendmail_path = \"/bin/sendmail -t\"",
            "PHP /usr/bin/php9 not run (php -i): it is uid %d, mode 0755, 1 links, in a directory"
            " of mode 0755: root runs only a file of root's alone" % env.uid,
        ]), warnings
        assert not os.path.exists(ran)
        # --status says the same, counted.
        st = subprocess.run([inst, "--status", "--target", sw.target], capture_output=True)
        out = st.stdout.decode()
        assert "sendmail: 13 of " in out and "lead around capture" in out, out
        for p in want:
            assert "\n          " + p + "\n" in out, (p, out)
        # Fixed as printed, nothing is left; nor once enabled (the target is the wrapper's link).
        for p in problems:
            fix(env, p)
        for enabled in (False, True):
            if enabled:
                assert sw.enable().returncode == 0
            v = subprocess.run([inst, "--verify", "--target", sw.target], capture_output=True)
            left = [t for k, t in reach_lines(v.stdout) if k == "PROBLEM"]
            assert left == [], (enabled, left)
            st = subprocess.run([inst, "--status", "--target", sw.target],
                                capture_output=True).stdout.decode()
            # What is left is only worth a look (a FIFO, a loop, a missing program).
            assert re.search(r"sendmail: \d+ found \(PHP's configurations, /usr/sbin/sendmail\),"
                             r" none around capture; 4 to look at:\n", st), st
    finally:
        remove_host(env)
        if os.path.exists(ran):
            os.unlink(ran)
        sw.close()


@php_test
def install__first_hour__install_verify_fix_enable_php_look_revert_uninstall(env):
    # A new admin's first hour on a host with Postfix's /usr/sbin/sendmail beside qmail
    # and PHP left at its default: each step as the README and the messages say it.
    if not env.is_root:
        return "skipped: needs root"
    assert not any(os.path.exists(os.path.join(env.root, t)) for t in HOST_TREES)
    inst = os.path.join(env.sbin, "qwrap-install")
    sw = run.Swap(env)
    shutil.copy("/usr/sbin/sendmail" if os.path.exists("/usr/sbin/sendmail") else "/bin/true",
                put(env, "/usr/sbin/sendmail", ""))
    ini = put(env, "/etc/php/8.2/cli/php.ini", "[PHP]\nengine = On\n")
    put(env, "/etc/php/8.2/cli/conf.d/10-opcache.ini", "zend_extension=opcache.so\n")
    try:
        # Install: it says what it put where, and the next step.
        p = subprocess.run(env.make + ["install"], capture_output=True)
        assert p.returncode == 0 and b"next: qwrap-install --verify" in p.stdout, p
        # Verify: PHP would go around capture, named with the line that mends it.
        v = subprocess.run([inst, "--verify", "--target", sw.target], capture_output=True)
        assert v.returncode == 78, v.stdout
        got = [t for k, t in reach_lines(v.stdout) if k == "PROBLEM"]
        assert len(got) == 2 and \
            got[0].startswith("PHP /etc/php/8.2/cli/php.ini: sendmail_path is not set") and \
            got[1].startswith("/usr/sbin/sendmail is not /bin/sendmail"), got
        for line in got:
            fix(env, line)
        with open(ini) as f:
            assert f.read().endswith("[mail function]\nsendmail_path = \"/bin/sendmail -t -i\"\n")
        # Nothing wrong is left, but capture is off: its own status, named.
        v = subprocess.run([inst, "--verify", "--target", sw.target], capture_output=True)
        assert v.returncode == 1 and b"all checks passed, but capture is off" in v.stdout, v
        # Enable for an hour; verify passes.
        p = subprocess.run([inst, "--enable", "--for", "1h", "--scheduler", "none", "--target",
                            sw.target], capture_output=True)
        assert p.returncode == 0, p.stderr
        v = subprocess.run([inst, "--verify"], capture_output=True)
        assert v.returncode == 0 and b"all checks passed; capture is on" in v.stdout, v.stdout
        st = subprocess.run([inst, "--status"], capture_output=True).stdout.decode()
        assert "capture:  on since" in st and "session:  ends at" in st, st
        assert re.search(r"sendmail: \d+ found .* each leads to /bin/sendmail\n", st), st
        # Send from PHP, as the site's user, with the sendmail_path the fix wrote
        # (its program under this test's tree).
        cwd, script = run.make_vhost(env)
        p, recs, got = env.run(["-d", "sendmail_path=%s -t -i" % sw.target, "-d",
                                "mail.add_x_header=On", "contact.php"], prog="/usr/bin/php",
                               cwd=cwd)
        assert p.stdout == b"sent" and len(got) == 1, (p.stdout, p.stderr)
        r = run.one(recs)
        assert r["script"] == script and r["uid"] == env.uid, r
        # Look: who is sending, and the record itself.
        from reports import qwrap_ok, top_json
        top = top_json(env, "--by", "script")
        assert script in [key for key, _, _ in top], top
        g = qwrap_ok(env, "grep", "--script", script, "--json").stdout
        assert json.loads(g.splitlines()[-1])["id"] == r["id"], g
        # Revert: the original is back, the same file.
        p = subprocess.run([inst, "--revert"], capture_output=True)
        assert p.returncode == 0, p.stderr
        assert not os.path.islink(sw.target) and os.stat(sw.target).st_ino == sw.ino
        assert b"capture:  off" in subprocess.run([inst, "--status"], capture_output=True).stdout
        # Uninstall: the programs go, the log stays, and it says how to remove it.
        p = subprocess.run(env.make + ["uninstall"], capture_output=True)
        assert p.returncode == 0 and not os.path.exists(env.wrapper), p
        assert b"chattr -a " + env.log.encode() in p.stdout and os.path.exists(env.log), p.stdout
        return "installed, verified, mended as told, enabled, sent, looked, reverted, removed"
    finally:
        if not os.path.exists(env.wrapper):
            subprocess.run(env.make + ["install"], check=True, stdout=subprocess.DEVNULL)
        remove_host(env)
        sw.close()
