"""Which script sent the mail, per PHP SAPI (issue 8), with the real Debian packages:
php-cli, php-cgi as suexec runs it, php-fpm (with and without the fpm_status source),
Apache 2 with mod_php (with and without contrib/qwrap-prepend.php), a Perl CGI and a
shell script from cron.  The daemons are started here, as root, on private sockets and
a free loopback port, and stopped by pid; the site's code runs as the site user.

Facts these tests rest on (measured here):
- opcache compiles a script on its first request; only then is the script's fd inherited
  by mail()'s child.  opcache.file_update_protection (2 s) keeps a script younger than
  that out of the cache, so every request to a just-written file is a miss: the site's
  files get an mtime in the past.
- php-fpm and Apache each keep their opcache in memory of their own master, so a freshly
  started daemon always starts with a miss.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import __main__ as run  # run.py's helpers: make_vhost, php, one, cut_field, ...

TESTS = []


def sapi_test(fn):
    TESTS.append(fn)
    return fn


def need_root(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install, daemons running as the site user)"
    return None


# ---------------------------------------------------------------- the site

MAIL = b"mail('alice@example.com', 'hello', 'body') ? 'sent' : 'failed'"

# Name -> (path relative to the site, content).  "sub" is under httpdocs; "lib" and
# "bin" are beside it, outside the document root.
SITE_FILES = {
    "chdir": ("httpdocs/sub/contact-chdir.php", b"<?php chdir('/tmp'); echo " + MAIL + b";\n"),
    "lib": ("httpdocs/sub/contact-lib.php",
            b"<?php require __DIR__ . '/../../lib/mailer.php';\n"
            b"echo send_it() ? 'sent' : 'failed';\n"),
    "mailer": ("lib/mailer.php",
               b"<?php function send_it() {\n"
               b"    return mail('alice@example.com', 'from the lib', 'body');\n}\n"),
    # Opens another .php file and keeps it open while mail() runs.
    "decoy": ("httpdocs/sub/decoy.php",
              b"<?php $keep = fopen(__DIR__ . '/../../lib/innocent.php', 'r');\necho " +
              MAIL + b";\n"),
    "innocent": ("lib/innocent.php", b"<?php // an innocent file\n"),
    # PHP in a file without a .php name, and a forged SCRIPT_FILENAME.
    "html": ("httpdocs/sub/page.html",
             b"<?php putenv('SCRIPT_FILENAME=/elsewhere/innocent.php'); echo " + MAIL + b";\n"),
    # A CLI script that dresses up as an FPM worker of pool "shop".
    "forge": ("bin/forge.php",
              b"<?php cli_set_process_title('php-fpm: pool shop'); echo " + MAIL + b";\n"),
}


class Site:
    """run.make_vhost's tree (httpdocs/sub/contact.php) plus SITE_FILES, all the site
    user's, every file an mtime a minute in the past (see the module's docstring)."""

    def __init__(self, env, extra=None):
        # A fresh tree: files other tests left there (sub/mailer.php) would change the truth.
        shutil.rmtree(os.path.join(env.root, "vhosts", "shop.example"), ignore_errors=True)
        self.sub, self.contact = run.make_vhost(env)
        self.httpdocs = os.path.dirname(self.sub)
        self.root = os.path.dirname(self.httpdocs)
        self.path = {"contact": self.contact}
        files = dict(SITE_FILES)
        files.update(extra or {})
        for name, (rel, data) in files.items():
            p = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, 0o755 if rel.startswith("bin/") or rel.endswith(".cgi") else 0o644)
            self.path[name] = p
        past = time.time() - 60
        for d, _, fns in os.walk(self.root):
            os.chmod(d, 0o755)
            for x in [d] + [os.path.join(d, fn) for fn in fns]:
                os.chown(x, env.uid, env.gid)
                os.utime(x, (past, past))

    def uri(self, name):
        p = self.path[name]
        top = self.httpdocs if p.startswith(self.httpdocs + "/") else self.root
        return "/" + os.path.relpath(p, top)


def check_origin_of_harness(r, what):
    """R is of a process this test started: its origin is this process's own."""
    got = (r.get("origin"), r.get("origin_from"))
    assert got == harness_origin(), "%s: origin %r, expected %r" % (what, got, harness_origin())


def check_record(env, r, script, script_from, cwd, what):
    """The record's kernel facts and script, against the truth."""
    got = (r["uid"], r["gid"], r["cwd"], r["script"], r["script_from"])
    want = (env.uid, env.gid, cwd, script, script_from)
    assert got == want, "%s: got uid, gid, cwd, script, script_from %r, want %r" % (
        what, got, want)
    assert r["action"] == "deliver" and r["mode"] == "message", (what, r["action"], r["mode"])


class Seen:
    """Each record a test checks against the truth, in order, for its note."""

    def __init__(self, env):
        self.env = env
        self.seen = []

    def check(self, r, name, script, script_from, cwd):
        self.seen.append("%s:%s" % (name, r["script_from"]))
        check_record(self.env, r, script, script_from, cwd, "%s (%d)" % (name, len(self.seen)))
        return r

    def note(self):
        return "records: " + ", ".join(self.seen)


def queued_once(env, queued, r):
    """QUEUED is one message: qwrap's header names record R, and qmail queued it as
    the site user."""
    q = run.one(queued, "queued message")
    assert run.header_values(run.cut_field(q.body)[0])["id"] == r["id"], (q, r["id"])
    assert q.uid == q.received_uid == env.uid, q
    return q


SERVERS = {"php-fpm": "web", "apache": "web", "httpd": "web", "nginx": "web", "lighttpd": "web",
           "lsphp": "web", "litespeed": "web", "lshttpd": "web", "caddy": "web", "uwsgi": "web",
           "cron": "cron", "crond": "cron", "anacron": "cron", "fcron": "cron", "atd": "at",
           "sshd": "ssh", "dropbear": "ssh", "login": "console", "agetty": "console",
           "getty": "console"}


def pid1_systemd_unit():
    """The unit systemd would be named for a detached process of ours, or None."""
    with open("/proc/1/comm") as f:
        if f.read().strip() != "systemd":
            return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            path = line.rstrip("\n").split(":", 2)[2]
            units = [p for p in path.split("/") if p.endswith(".service")]
            if units and (line.startswith("0::") or ":name=systemd:" in line):
                return units[-1]
    return None


def harness_origin():
    """(origin, origin_from) of a process the site user runs from this test process,
    worked out here from this process's own ancestors, which are all another uid's
    than the site user's: the nearest server among them, else the terminal of this
    session, else systemd's unit, else unknown."""
    pid = os.getpid()
    for _ in range(32):
        with open("/proc/%d/status" % pid) as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        name = status["Name"].strip().lower().rstrip("0123456789.")
        if name in SERVERS:
            return SERVERS[name], "ancestor"
        pid = int(status["PPid"])
        if pid == 0:
            break
    with open("/proc/self/stat") as f:
        if int(f.read().rsplit(")", 1)[1].split()[4]) != 0:
            return "console", "tty"
    return ("systemd", "cgroup") if pid1_systemd_unit() else ("unknown", "none")


def site_argv(argv, environ):
    """The command that runs ARGV as the site user with exactly ENVIRON."""
    return (["setpriv", "--reuid=" + run.USER, "--regid=" + run.USER, "--init-groups",
             "env", "-i"] + ["%s=%s" % kv for kv in sorted(environ.items())] + list(argv))


def run_as_site(env, argv, cwd, environ, timeout=30):
    """ARGV as the site user with exactly ENVIRON, as cron or suexec would start it;
    returns (process, records, messages queued)."""
    cmd = site_argv(argv, environ)
    start = env.log_size()
    env.conf_sendmail(env.qmail.sendmail)
    mark = env.qmail.mark()
    p = subprocess.run(cmd, capture_output=True, cwd=cwd, timeout=timeout,
                       env={"PATH": "/usr/bin:/bin"})
    return p, env.records_since(start), env.qmail.since(mark)


# ---------------------------------------------------------------- daemons

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def can_connect(addr):
    fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


class Daemon:
    """A server started in the foreground by us; stop() ends it and its children by pid."""

    def __init__(self, argv, environ, log, what):
        self.log = log
        self.what = what
        self.out = open(log + ".out", "wb")
        # A session of its own: Apache signals its whole process group when it stops.
        self.p = subprocess.Popen(argv, env=environ, stdout=self.out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        self.kids = set()

    def logs(self):
        text = b""
        for path in (self.log, self.log + ".out"):
            try:
                with open(path, "rb") as f:
                    text += f.read()[-1500:]
            except OSError:
                pass
        return text.decode("utf-8", "replace")

    def check_clean(self):
        """Nothing the sanitizers say (a SAN build's wrapper writes to the server's log)."""
        for path in (self.log, self.log + ".out"):
            try:
                with open(path, "rb") as f:
                    text = f.read()
            except OSError:
                continue
            for word in (b"Sanitizer", b"runtime error:"):
                assert word not in text, "%s: %s" % (path, text[text.index(word) - 200:][:1500])

    def wait_ready(self, addrs, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if self.p.poll() is not None:
                raise AssertionError("%s exited with %s: %s" % (
                    self.what, self.p.returncode, self.logs()))
            if all(can_connect(a) for a in addrs):
                self.kids.update(children_of(self.p.pid))
                return
            time.sleep(0.05)
        raise AssertionError("%s: %r not ready in %ds: %s" % (self.what, addrs, timeout,
                                                                self.logs()))

    def stop(self):
        if self.p.poll() is None:
            self.kids.update(children_of(self.p.pid))
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        # A worker the master did not take with it (it should have).
        for pid in self.kids:
            if run.process_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.out.close()


def find_one(pattern, what):
    found = sorted(glob.glob(pattern))
    assert found, "%s (%s) is not installed: run tests/deps.sh as root" % (what, pattern)
    return found[-1]


# ---------------------------------------------------------------- php-fpm

class Fpm(Daemon):
    """php-fpm's master with one static pool per name in POOLS, each running as the site
    user on DIR/NAME.sock with one worker.  A pool's dict: sendmail (its sendmail_path,
    with php_admin_value), status (pm.status_listen on DIR/NAME-status.sock), lines (more
    pool lines).  INI: php.ini lines for every pool (PHP_INI_SCAN_DIR, after Debian's)."""

    def __init__(self, env, pools, ini=""):
        self.dir = tempfile.mkdtemp(prefix="fpm.", dir=env.root)
        os.chmod(self.dir, 0o755)
        conf = ["[global]", "pid = %s/fpm.pid" % self.dir, "error_log = %s/fpm.log" % self.dir,
                "daemonize = no"]
        self.sockets = {}
        for name, opt in pools.items():
            sock = os.path.join(self.dir, name + ".sock")
            self.sockets[name] = sock
            conf += ["[%s]" % name, "user = " + run.USER, "group = " + run.USER,
                     "listen = " + sock, "listen.owner = " + run.USER,
                     "listen.group = " + run.USER, "listen.mode = 0660",
                     "pm = static", "pm.max_children = 1",
                     "php_admin_flag[mail.add_x_header] = on",
                     "catch_workers_output = yes"]  # the wrapper's stderr, into fpm.log
            if opt.get("sendmail"):
                conf.append('php_admin_value[sendmail_path] = "%s"' % opt["sendmail"])
            if opt.get("status"):
                conf += ["pm.status_path = /fpm-status",
                         "pm.status_listen = %s/%s-status.sock" % (self.dir, name)]
            conf += opt.get("lines", [])
        path = os.path.join(self.dir, "fpm.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        if ini:
            d = os.path.join(self.dir, "php.d")
            os.mkdir(d)
            with open(os.path.join(d, "99-test.ini"), "w") as f:
                f.write(ini)
            environ["PHP_INI_SCAN_DIR"] = ":" + d
        binary = find_one("/usr/sbin/php-fpm*", "php-fpm")
        super().__init__([binary, "-F", "-y", path, "-p", self.dir], environ,
                         os.path.join(self.dir, "fpm.log"), "php-fpm")
        ready = list(self.sockets.values()) + [
            "%s/%s-status.sock" % (self.dir, n) for n, o in pools.items() if o.get("status")]
        ready += [l.split("=", 1)[1].strip().replace("$pool", n) for n, o in pools.items()
                  for l in o.get("lines", []) if l.startswith("pm.status_listen")]
        try:
            self.wait_ready(ready)
        except BaseException:
            self.stop()
            raise

    def request(self, env, site, name, pool, query="", as_site=False, path_info=""):
        """One GET of SITE's script NAME through POOL's socket, as a web server sends it
        (or, AS_SITE, as the site user can send it himself); returns the one record.
        PATH_INFO: after the script's path, as a web server that does not split it off
        sends it (php-fpm's cgi.fix_pathinfo splits it)."""
        script = site.path[name]
        uri = site.uri(name)
        cgi = {"GATEWAY_INTERFACE": "CGI/1.1", "SCRIPT_FILENAME": script + path_info,
               "SCRIPT_NAME": uri + path_info,
               "REQUEST_URI": uri + ("?" + query if query else ""), "DOCUMENT_URI": uri,
               "DOCUMENT_ROOT": site.httpdocs, "REQUEST_METHOD": "GET", "QUERY_STRING": query,
               "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "shop.example",
               "HTTP_HOST": "shop.example", "REMOTE_ADDR": "192.0.2.7",
               "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "80"}
        cmd = ["cgi-fcgi", "-bind", "-connect", self.sockets[pool]]
        if as_site:
            cmd = ["setpriv", "--reuid=" + run.USER, "--regid=" + run.USER,
                   "--init-groups"] + cmd
        start = env.log_size()
        env.conf_sendmail(env.qmail.sendmail)
        mark = env.qmail.mark()
        p = subprocess.run(cmd, env=cgi, capture_output=True, timeout=20)
        assert p.returncode == 0 and p.stdout.endswith(b"sent"), (
            name, p.returncode, p.stdout[-300:], p.stderr[-300:], self.logs())
        self.check_clean()
        r = run.one(env.records_since(start), "record of %s" % name)
        queued_once(env, env.qmail.since(mark), r)
        return r


def fpm_parents(r, pool, via_sh=True):
    """wrapper <- sh -c <- the pool's worker (not dumpable: no exe); the root master ends it."""
    ps = r["parents"]
    if via_sh:
        assert ps[0]["argv"][:2] == ["sh", "-c"], ps
        ps = ps[1:]
    assert len(ps) == 1 and ps[0]["argv"][0].startswith("php-fpm: pool " + pool), r["parents"]
    assert ps[0]["exe"] == "" and ps[0]["uid"] == r["uid"], ps


@sapi_test
def sapi__fpm_without_status_key__fd_on_miss_then_header_guess_or_none(env):
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    fpm = Fpm(env, {"shop": {"sendmail": env.wrapper + " -t -i", "status": True}})
    seen = Seen(env)
    try:
        def req(name, want_from, want_script, cwd):
            return seen.check(fpm.request(env, site, name, "shop"), name, want_script,
                              want_from, cwd)

        # Miss: the script's fd is inherited.  Hits: no fd; the cwd is the script's
        # directory and X-PHP-Originating-Script names contact.php, which is there and
        # is the header uid's: the guess is right.
        r = req("contact", "fd", site.contact, site.sub)
        fpm_parents(r, "shop")
        assert r["php_script"] == "%d:contact.php" % env.uid, r["php_script"]
        assert r["env"] == {}, r["env"]  # FastCGI params never reach the environment
        for _ in range(2):
            req("contact", "php-header", site.contact, site.sub)
        # chdir: the fd names the entry script on the miss; on a hit nothing can.
        req("chdir", "fd", site.path["chdir"], "/tmp")
        req("chdir", "none", None, "/tmp")
        # A library elsewhere: the header names mailer.php, not in the cwd: none.
        r = req("lib", "fd", site.path["lib"], site.sub)
        assert r["php_script"] == "%d:mailer.php" % env.uid, r["php_script"]
        req("lib", "none", None, site.sub)
        # A script that keeps another .php file open: on the miss the entry script has
        # the lower fd.  On a hit the file it holds is the only .php fd, and the fd
        # source names it: the limit README's table states (fpm_status is not fooled so).
        req("decoy", "fd", site.path["decoy"], site.sub)
        req("decoy", "fd", site.path["innocent"], site.sub)
    finally:
        fpm.stop()
    return seen.note()


class QuietServer:
    """A unix socket that accepts and then says nothing: a hung status page."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        os.chmod(path, 0o666)
        self.s.listen(8)
        self.conns = []
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.s.close()
        for c in self.conns:
            c.close()


@sapi_test
def sapi__fpm_status_key__every_request_names_the_entry_script(env):
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    sh = env.wrapper + " -t -i"
    fpm = Fpm(env, {"shop": {"sendmail": sh, "status": True},
                    # sendmail_path from php.ini, with exec: the worker is the wrapper's
                    # parent, no sh between.  (In a pool file, php-fpm would put its
                    # prefix before "exec ...", as before any sendmail_path that does not
                    # start with a slash.)
                    "blog": {"status": True},
                    # no status socket at all, and one whose page never answers
                    "nostatus": {"sendmail": sh}, "quiet": {"sendmail": sh}},
              ini='sendmail_path = "exec %s"\n' % sh)
    quiet = QuietServer(os.path.join(fpm.dir, "quiet-status.sock"))
    env.set_conf(b'fpm_status = { socket = "%s/%%p-status.sock"; path = "/fpm-status"; };'
                 % fpm.dir.encode())
    n = [0]
    try:
        def req(name, cwd, pool="shop", want_from="fpm-status", want=None):
            n[0] += 1
            r = fpm.request(env, site, name, pool)
            check_record(env, r, want or site.path[name], want_from, cwd,
                         "%s via %s (%d)" % (name, pool, n[0]))
            # A web request, by root's php-fpm master above the worker; the pool by the
            # worker's title.
            origin = [r.get(k) for k in ("origin", "origin_from", "origin_info",
                                         "origin_info_from")]
            assert origin == ["web", "ancestor", "pool=" + pool, "title"], origin
            return r

        # Miss and hits alike, whatever the script did to cwd and fds.
        for i in range(3):
            r = req("contact", site.sub)
            if i == 0:
                fpm_parents(r, "shop")
        for _ in range(2):
            req("chdir", "/tmp")
            req("lib", site.sub)
            req("decoy", site.sub)
        # Another pool: %p is its name; with exec the worker is the parent.
        for _ in range(2):
            fpm_parents(req("contact", site.sub, "blog"), "blog", via_sh=False)
        # Status page missing or silent: the other sources, within a bound.  (The
        # pools share the master's opcache: contact.php is a hit by now.)
        for pool in ("nostatus", "quiet"):
            t0 = time.time()
            req("contact", site.sub, pool, "php-header", site.contact)
            took = time.time() - t0
            assert took < 2, "%s: the request took %.1fs" % (pool, took)
        assert quiet.conns, "the wrapper never asked the quiet status socket"
        # A CLI script that calls itself "php-fpm: pool shop": the status page has no
        # worker with its pid, so it gets nothing from it and the fd names it.
        p, recs, _ = env.run(["-d", "sendmail_path=" + sh, "-d", "mail.add_x_header=On",
                              site.path["forge"]], prog="/usr/bin/php", cwd="/")
        r = run.one(recs)
        assert p.stdout == b"sent", (p.stdout, p.stderr)
        assert r["parents"][1]["argv"][0] == "php-fpm: pool shop", r["parents"]
        check_record(env, r, site.path["forge"], "fd", "/", "forged process title")
    finally:
        env.reset_conf()
        quiet.close()
        fpm.stop()


@sapi_test
def sapi__fpm_status_key__request_data_cannot_forge_the_status_page(env):
    # The status page's text format prints a request's data as it came: a newline in it
    # would start a line of the sender's choosing in his worker's block, before the real
    # "script:" line; qwrap asks for the JSON form, where php-fpm escapes it.  Two routes:
    # - QUERY_STRING: the pool's socket is the site user's (listen.owner, as
    #   contrib/php-fpm-pool.conf advises), so he can send FastCGI requests himself;
    # - SCRIPT_NAME with the URL's (decoded) path info after the script, as a web server
    #   sends it that leaves the split to php-fpm (cgi.fix_pathinfo): the "request URI".
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    fpm = Fpm(env, {"shop": {"sendmail": env.wrapper + " -t -i", "status": True}})
    env.set_conf(b'fpm_status = { socket = "%s/%%p-status.sock"; path = "/fpm-status"; };'
                 % fpm.dir.encode())
    # The text form's line, and the JSON form's member: php-fpm's JSON escapes both.
    forged = ("\nscript: " + site.path["innocent"] + '","script":"' + site.path["innocent"] +
              '"}')
    wrong = []
    try:
        r = fpm.request(env, site, "contact", "shop")  # the miss, out of the way
        check_record(env, r, site.contact, "fpm-status", site.sub, "plain request")
        for what, kw in (("QUERY_STRING, from the site user", {"query": "x" + forged,
                                                                "as_site": True}),
                         ("path info, from a web server", {"path_info": "/" + forged})):
            r = fpm.request(env, site, "contact", "shop", **kw)
            # The truth, from the status page: its JSON escapes what the request put in.
            got = (r["uid"], r["cwd"], r["script"], r["script_from"])
            if got != (env.uid, site.sub, site.contact, "fpm-status"):
                wrong.append("%s: uid, cwd, script, script_from %r" % (what, got))
    finally:
        env.reset_conf()
        fpm.stop()
    assert not wrong, "; ".join(wrong)


def install_prepend(env):
    """contrib/qwrap-prepend.php, installed as an admin would: root's, 0644, readable by
    every site."""
    share = os.path.join(env.root, "share", "qwrap")
    os.makedirs(share, exist_ok=True)
    os.chmod(os.path.dirname(share), 0o755)
    os.chmod(share, 0o755)
    prepend = os.path.join(share, "qwrap-prepend.php")
    shutil.copy(os.path.join(run.REPO, "contrib", "qwrap-prepend.php"), prepend)
    os.chmod(prepend, 0o644)
    past = time.time() - 60
    os.utime(prepend, (past, past))
    return prepend


@sapi_test
def sapi__fpm_contrib_pool_snippet__works_as_shipped(env):
    # contrib/php-fpm-pool.conf in a pool, as its comment says, its paths moved into the
    # test's tree; qwrap.conf as contrib/qwrap.conf's comment shows.
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    prepend = install_prepend(env)
    with open(os.path.join(run.REPO, "contrib", "php-fpm-pool.conf")) as f:
        snippet = f.read()
    d = tempfile.mkdtemp(prefix="run-php.", dir=env.root)
    os.chmod(d, 0o755)
    for old, new in (("/run/php/", d + "/"), ("/var/qmail/bin/sendmail", env.wrapper),
                     ("/usr/local/share/qwrap/qwrap-prepend.php", prepend)):
        assert old in snippet, old
        snippet = snippet.replace(old, new)
    lines = [l for l in snippet.splitlines() if l.strip() and not l.startswith(";")]
    fpm = Fpm(env, {"shop": {"lines": lines}})
    env.set_conf(b'fpm_status = { socket = "%s/%%p-status.sock"; };' % d.encode())
    seen = Seen(env)
    try:
        for name, cwd in (("contact", site.sub), ("contact", site.sub), ("chdir", "/tmp")):
            seen.check(fpm.request(env, site, name, "shop"), name, site.path[name],
                       "fpm-status", cwd)
    finally:
        env.reset_conf()
        fpm.stop()
    return seen.note()


@sapi_test
def sapi__fpm_prepend_without_status_key__fd_on_miss_then_prepend(env):
    # The second best under php-fpm: contrib/qwrap-prepend.php.  php-fpm opens the entry
    # script before the prepend file, so a miss still shows the entry script's fd first.
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    prepend = install_prepend(env)
    fpm = Fpm(env, {"shop": {"sendmail": env.wrapper + " -t -i",
                             "lines": ["php_admin_value[auto_prepend_file] = " + prepend]}})
    seen = Seen(env)
    try:
        for name, want_from, cwd in (("contact", "fd", site.sub), ("contact", "prepend", site.sub),
                                     ("contact", "prepend", site.sub), ("chdir", "fd", "/tmp"),
                                     ("chdir", "prepend", "/tmp"), ("lib", "fd", site.sub),
                                     ("lib", "prepend", site.sub)):
            seen.check(fpm.request(env, site, name, "shop"), name, site.path[name], want_from, cwd)
    finally:
        fpm.stop()
    return seen.note()


# ---------------------------------------------------------------- Apache + mod_php

class Apache(Daemon):
    """Apache 2 (prefork) with mod_php, our own config, on a free loopback port; the
    children run as the site user.  DIRECTIVES go into the document root's <Directory>."""

    def __init__(self, env, site, directives):
        self.dir = tempfile.mkdtemp(prefix="apache.", dir=env.root)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        mods = "/usr/lib/apache2/modules"
        php = find_one(mods + "/libphp8*.so", "libapache2-mod-php")
        conf = [
            "ServerRoot /etc/apache2", "ServerName 127.0.0.1",
            "LoadModule mpm_prefork_module %s/mod_mpm_prefork.so" % mods,
            "LoadModule authz_core_module %s/mod_authz_core.so" % mods,
            "LoadModule dir_module %s/mod_dir.so" % mods,
            "LoadModule mime_module %s/mod_mime.so" % mods,
            "LoadModule php_module " + php,
            "Listen 127.0.0.1:%d" % self.port,
            "PidFile %s/apache.pid" % self.dir, "DefaultRuntimeDir " + self.dir,
            "ErrorLog %s/error.log" % self.dir, "LogLevel warn",
            "User " + run.USER, "Group " + run.USER,
            "StartServers 1", "MinSpareServers 1", "MaxSpareServers 2", "MaxRequestWorkers 2",
            "TypesConfig /etc/mime.types", "DocumentRoot " + site.httpdocs,
            "<Directory %s>" % site.httpdocs, "  Require all granted",
            '  php_admin_value sendmail_path "%s -t -i"' % env.wrapper,
            "  php_admin_flag mail.add_x_header on"] + ["  " + d for d in directives] + [
            "</Directory>",
            '<FilesMatch "\\.php$">', "  SetHandler application/x-httpd-php", "</FilesMatch>"]
        path = os.path.join(self.dir, "httpd.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        super().__init__(["/usr/sbin/apache2", "-f", path, "-DFOREGROUND"],
                         {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
                         os.path.join(self.dir, "error.log"), "apache2")
        try:
            self.wait_ready([("127.0.0.1", self.port)])
        except BaseException:
            self.stop()
            raise

    def request(self, env, site, name):
        start = env.log_size()
        env.conf_sendmail(env.qmail.sendmail)
        mark = env.qmail.mark()
        p = subprocess.run(["curl", "-sS", "--max-time", "15", "http://127.0.0.1:%d%s" % (
            self.port, site.uri(name))], capture_output=True, timeout=20)
        assert p.returncode == 0 and p.stdout.endswith(b"sent"), (
            name, p.returncode, p.stdout[-300:], p.stderr[-300:], self.logs())
        self.check_clean()
        r = run.one(env.records_since(start), "record of %s" % name)
        queued_once(env, env.qmail.since(mark), r)
        return r


def apache_parents(r):
    """wrapper <- sh -c <- an Apache child as the site user (not dumpable); the root
    parent ends the list."""
    ps = r["parents"]
    assert len(ps) == 2 and ps[0]["argv"][:2] == ["sh", "-c"], ps
    assert ps[1]["argv"][0] == "/usr/sbin/apache2" and ps[1]["exe"] == "", ps


@sapi_test
def sapi__mod_php__fd_on_miss_then_header_guess_or_none(env):
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    apache = Apache(env, site, [])
    seen = Seen(env)
    try:
        def req(name, want_from, want_script, cwd):
            r = seen.check(apache.request(env, site, name), name, want_script, want_from, cwd)
            # Apache's root parent: a web request (its site is not in the environment).
            assert (r.get("origin"), r.get("origin_from")) == ("web", "ancestor"), r
            assert "origin_info" not in r, r
            return r

        r = req("contact", "fd", site.contact, site.sub)
        apache_parents(r)
        assert r["env"] == {}, r["env"]
        for _ in range(2):
            req("contact", "php-header", site.contact, site.sub)
        req("chdir", "fd", site.path["chdir"], "/tmp")
        req("chdir", "none", None, "/tmp")
        req("lib", "fd", site.path["lib"], site.sub)
        req("lib", "none", None, site.sub)
        # As with php-fpm: on a hit the .php file the script holds passes for it.
        req("decoy", "fd", site.path["decoy"], site.sub)
        req("decoy", "fd", site.path["innocent"], site.sub)
    finally:
        apache.stop()
    return seen.note()


@sapi_test
def sapi__mod_php_prepend__entry_script_every_request(env):
    # contrib/qwrap-prepend.php as README says for mod_php.  A miss (each first request, and
    # every one with opcache off) shows the entry script's fd, a source taken before the
    # prepend's variable; hits have only the variable.  mod_php opens the prepend file before
    # the entry script, on a lower fd: root's copy of ours is never taken for the script.
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    prepend = install_prepend(env)
    seen = Seen(env)
    for opcache in ("on", "off"):
        apache = Apache(env, site, ["php_admin_value auto_prepend_file " + prepend,
                                    "php_admin_flag opcache.enable " + opcache])
        try:
            for name, cwd, miss in (("contact", site.sub, True), ("contact", site.sub, False),
                                    ("contact", site.sub, False), ("chdir", "/tmp", True),
                                    ("chdir", "/tmp", False), ("lib", site.sub, True),
                                    ("lib", site.sub, False)):
                seen.check(apache.request(env, site, name), name, site.path[name],
                           "fd" if miss or opcache == "off" else "prepend", cwd)
        finally:
            apache.stop()
        seen.seen.append("|")
    return seen.note()


# ---------------------------------------------------------------- php-cli

@sapi_test
def sapi__cli_absolute_relative_chdir_and_lib_elsewhere__fd_names_the_entry(env):
    # run.py's php_mail__* cover a relative path from the script's own directory and
    # a library beside the script; here: the other ways a CLI script is started.
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    sh = env.wrapper + " -t -i"
    for sendmail, cwd, arg, name, want_cwd in (
            (sh, "/", site.contact, "contact", "/"),                      # absolute, from /
            (sh, site.httpdocs, "sub/contact.php", "contact", site.httpdocs),  # relative
            (sh, "/", site.path["chdir"], "chdir", "/tmp"),                # chdir() first
            (sh, site.root, "httpdocs/sub/contact-lib.php", "lib", site.root),  # lib elsewhere
            ("exec " + sh, "/", site.contact, "contact", "/")):            # no sh between
        p, recs, got = run.php(env, sendmail, cwd, script=arg)
        assert p.stdout == b"sent", (arg, p.stdout, p.stderr)
        r = run.one(recs)
        queued_once(env, got, r)
        check_record(env, r, site.path[name], "fd", want_cwd, "php %s from %s" % (arg, cwd))
        php = r["parents"][0 if sendmail.startswith("exec") else 1]
        assert php["exe"].startswith("/usr/bin/php") and php["argv"][-1] == arg, r["parents"]
        if name == "lib":
            assert r["php_script"] == "%d:mailer.php" % env.uid, r["php_script"]


# ---------------------------------------------------------------- php-cgi

def cgi_environ(site, name, path=None):
    path = path or site.path[name]
    uri = site.uri(name)
    return {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "Apache",
            "SCRIPT_FILENAME": path, "SCRIPT_NAME": uri, "REQUEST_URI": uri,
            "DOCUMENT_ROOT": site.httpdocs, "REQUEST_METHOD": "GET", "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "shop.example",
            "HTTP_HOST": "shop.example", "SERVER_PORT": "80", "REMOTE_ADDR": "192.0.2.7",
            "REDIRECT_STATUS": "200", "PATH": "/usr/local/bin:/usr/bin:/bin"}


@sapi_test
def sapi__php_cgi_as_suexec__fd_or_server_environ_never_the_forgery(env):
    # suexec: the site user, the script's directory as cwd, php-cgi without arguments,
    # the whole CGI environment; the ini (sendmail_path) from a scan dir, after Debian's.
    skip = need_root(env)
    if skip:
        return skip
    site = Site(env)
    cgi = shutil.which("php-cgi")
    assert cgi, "php-cgi is not installed: run tests/deps.sh as root"
    ini = os.path.join(env.root, "php-cgi.d")
    os.makedirs(ini, exist_ok=True)
    with open(os.path.join(ini, "99-qwrap.ini"), "w") as f:
        f.write('sendmail_path = "%s -t -i"\nmail.add_x_header = On\n' % env.wrapper)
    os.chmod(ini, 0o755)
    os.chmod(os.path.join(ini, "99-qwrap.ini"), 0o644)
    for name, want_from, want_cwd in (("contact", "fd", site.sub), ("chdir", "fd", "/tmp"),
                                      ("lib", "fd", site.sub), ("html", "cgi-environ", site.sub)):
        e = cgi_environ(site, name)
        e["PHP_INI_SCAN_DIR"] = ":" + ini
        p, recs, got = run_as_site(env, [cgi], os.path.dirname(site.path[name]), e)
        assert p.stdout.endswith(b"sent"), (name, p.stdout[-300:], p.stderr[-300:])
        r = run.one(recs)
        queued_once(env, got, r)
        check_record(env, r, site.path[name], want_from, want_cwd, "php-cgi " + name)
        assert r["parents"][1]["exe"].startswith("/usr/bin/php-cgi"), r["parents"]
        assert r["env"]["HTTP_HOST"] == "shop.example", r["env"]
        # The environment is a claim, kept apart; page.html forged it.
        assert r["env"]["SCRIPT_FILENAME"] == (
            "/elsewhere/innocent.php" if name == "html" else site.path[name]), r["env"]


# ---------------------------------------------------------------- Perl and sh

@sapi_test
def sapi__perl_cgi_and_cron_jobs__env_claim_or_interpreter_argv(env):
    skip = need_root(env)
    if skip:
        return skip
    w = env.wrapper.encode()
    perl = (b"#!/usr/bin/perl -w\nuse strict;\n"
            b"open(my $m, '|-', '" + w + b"', '-t', '-i') or die \"pipe: $!\";\n"
            b"print $m \"To: alice\\@example.com\\nSubject: perl\\n\\nbody\\n\";\n"
            b"close($m) or die \"sendmail: $?\";\nprint \"Content-Type: text/plain\\n\\nsent\";\n")
    job = (b"#!/bin/sh\n"
           b"printf 'To: ops@example.com\\nSubject: nightly\\n\\nok\\n' | " + w + b" -t\n"
           b"echo sent\n")
    cd_job = b"#!/bin/sh\ncd /tmp\n" + job.split(b"\n", 1)[1]
    site = Site(env, {"cgi": ("cgi-bin/contact.cgi", perl), "pl": ("bin/report.pl", perl),
                      "job": ("bin/job.sh", job), "cdjob": ("bin/cd-job.sh", cd_job)})
    cron = {"PATH": "/usr/bin:/bin", "HOME": site.root, "SHELL": "/bin/sh",
            "LOGNAME": run.USER}
    cgibin = os.path.dirname(site.path["cgi"])
    cases = (
        # A Perl CGI, exec'd as suexec does: the server's SCRIPT_FILENAME is in the
        # environment (a claim: "env"), and it is the true one.
        ("perl CGI", [site.path["cgi"]], cgibin,
         dict(cgi_environ(site, "cgi"), PATH="/usr/bin:/bin"), site.path["cgi"], "env", cgibin),
        # cron: no CGI variables; the interpreter's script argument, against its cwd.
        ("perl, relative", ["perl", "bin/report.pl"], site.root, cron, site.path["pl"], "argv",
         site.root),
        # Run from another directory by a path with "..", or through a link: the file's
        # canonical path, so that one script is one row of `qwrap top --by script`.
        ("perl, .. from elsewhere", ["perl", "../bin/report.pl"], cgibin, cron,
         site.path["pl"], "argv", cgibin),
        ("perl, through a link", ["perl", "report-link.pl"], site.root, cron, site.path["pl"],
         "argv", site.root),
        # A shell reads its script from a descriptor it keeps open (dash's 10, bash's
        # 255): found there first, whatever its argument or cwd.
        ("sh job from /", ["sh", site.path["job"]], "/", cron, site.path["job"], "shell-fd",
         "/"),
        ("sh job, relative", ["sh", "bin/job.sh"], site.root, cron, site.path["job"],
         "shell-fd", site.root),
        ("bash job, relative", ["bash", "bin/job.sh"], site.root, cron, site.path["job"],
         "shell-fd", site.root),
        ("cron's sh -c, shebang", ["sh", "-c", site.path["job"]], "/", cron, site.path["job"],
         "shell-fd", "/"),
        # Started by a relative path and then cd'd away: the argument no longer
        # resolves, but the shell still has the script open.
        ("sh job, relative, cd", ["sh", "bin/cd-job.sh"], site.root, cron, site.path["cdjob"],
         "shell-fd", "/tmp"),
        # Code given inline names no file.
        ("perl -e", ["perl", "-e", "open(my $m, '|-', '%s', '-t') or die; print $m "
                     "\"Subject: e\\n\\nb\\n\"; close($m) or die; print \"sent\\n\";"
                     % env.wrapper], site.root, cron, None, "none", site.root),
    )
    os.symlink(site.path["pl"], os.path.join(site.root, "report-link.pl"))
    for what, argv, cwd, environ, script, want_from, want_cwd in cases:
        p, recs, got = run_as_site(env, argv, cwd, environ)
        assert p.returncode == 0 and p.stdout.rstrip(b"\n").endswith(b"sent"), (
            what, p.returncode, p.stdout, p.stderr)
        r = run.one(recs)
        check_record(env, r, script, want_from, want_cwd, what)
        check_origin_of_harness(r, what)
        # The interpreter is the wrapper's parent (perl's list-form pipe; sh forks for
        # the pipeline).
        exe = "/usr/bin/perl" if "perl" in what else os.path.realpath(
            "/bin/bash" if "bash" in what else "/bin/sh")
        assert r["parents"][0]["exe"].startswith(exe), (what, r["parents"])
        queued_once(env, got, r)



# ---------------------------------------------------------------- other interpreters

def mailer_scripts(w, chdir):
    """A mailer in each interpreter, sending through the wrapper W by its own list-form
    pipe (the interpreter is the wrapper's parent), after a chdir to CHDIR if given.
    Name -> (file under the site, shebang interpreter, code)."""
    msg = "To: alice@example.com\\nSubject: interp\\n\\nbody\\n"
    cd = {"py": "import os; os.chdir(%r)\n" % chdir if chdir else "",
          "rb": "Dir.chdir(%r)\n" % chdir if chdir else "",
          "js": "process.chdir(%r);\n" % chdir if chdir else ""}
    return {
        "py": ("#!/usr/bin/env python3\nimport subprocess\n" + cd["py"] +
               "subprocess.run([%r, '-t', '-i'], input=b'%s', check=True)\nprint('sent')\n"
               % (w, msg)),
        "rb": ("#!/usr/bin/env ruby\n" + cd["rb"] +
               "IO.popen([%r, '-t', '-i'], 'w') { |m| m.write(\"%s\") }\n"
               "raise 'sendmail' unless $?.success?\nputs 'sent'\n" % (w, msg)),
        "js": ("#!/usr/bin/env node\n" + cd["js"] +
               "const r = require('child_process').spawnSync(%r, ['-t', '-i'], "
               "{input: \"%s\"});\nif (r.status !== 0) process.exit(1);\n"
               "console.log('sent');\n" % (w, msg)),
    }


@sapi_test
def sapi__python_ruby_node__by_relative_path_shebang_module_and_after_cd(env):
    skip = need_root(env)
    if skip:
        return skip
    extra = {}
    for ext, code in mailer_scripts(env.wrapper, None).items():
        extra[ext] = ("bin/mailer." + ext, code.encode())
    for ext, code in mailer_scripts(env.wrapper, "/").items():
        extra["cd-" + ext] = ("bin/cd-mailer." + ext, code.encode())
    extra["module"] = ("tools/mailer.py", mailer_scripts(env.wrapper, None)["py"].encode())
    extra["init"] = ("tools/__init__.py", b"")
    site = Site(env, extra)
    cron = {"PATH": "/usr/bin:/bin", "HOME": site.root, "SHELL": "/bin/sh",
            "LOGNAME": run.USER}
    other = site.httpdocs   # "another directory" than the scripts'
    interp = {"py": "python3", "rb": "ruby", "js": "node"}
    cases = []
    for ext, prog in sorted(interp.items()):
        cases += [
            # As the interpreter's argument, by a relative path from elsewhere.
            ("%s ../bin" % prog, [prog, "../bin/mailer." + ext], other, site.path[ext],
             "argv", prog),
            # Through "#!/usr/bin/env PROG", by a relative path: env execs PROG with it.
            ("%s #! relative" % prog, ["../bin/mailer." + ext], other, site.path[ext],
             "argv", prog),
            # Started by its absolute path, cd / before sending: still that file.
            ("%s #! absolute, cd /" % prog, [site.path["cd-" + ext]], other,
             site.path["cd-" + ext], "argv", prog),
            # By a relative path and then cd /: the word no longer names the file
            # from the process's cwd; nothing is guessed.
            ("%s relative, cd /" % prog, [prog, "../bin/cd-mailer." + ext], other, None,
             "none", prog),
        ]
    cases += [
        ("python3 -m", ["python3", "-m", "tools.mailer"], site.root, site.path["module"],
         "argv-module", "python3"),
        ("python3 -c", ["python3", "-c", mailer_scripts(env.wrapper, None)["py"]], site.root,
         None, "none", "python3"),
        ("node -e", ["node", "-e", mailer_scripts(env.wrapper, None)["js"].split("\n", 1)[1]],
         site.root, None, "none", "node"),
        ("ruby -e", ["ruby", "-e", mailer_scripts(env.wrapper, None)["rb"].split("\n", 1)[1]],
         site.root, None, "none", "ruby"),
    ]
    for what, argv, cwd, script, want_from, prog in cases:
        p, recs, got = run_as_site(env, argv, cwd, cron)
        assert p.returncode == 0 and p.stdout.rstrip(b"\n").endswith(b"sent"), (
            what, p.returncode, p.stdout, p.stderr)
        r = run.one(recs)
        want_cwd = "/" if "cd /" in what else cwd
        check_record(env, r, script, want_from, want_cwd, what)
        check_origin_of_harness(r, what)
        exe = os.path.realpath(shutil.which(prog, path="/usr/bin:/bin"))
        assert r["parents"][0]["exe"] == exe, (what, r["parents"][0], exe)
        queued_once(env, got, r)
    return "%d cases: python3, ruby, node by argument, #!/usr/bin/env, -m, -c/-e, cd /" % len(
        cases)
