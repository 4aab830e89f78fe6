#!/usr/bin/env python3
"""Integration tests: the real qwrap-sendmail, privately installed, in front of
the real qmail (notqmail, built from ../shared/vendor by tests/notqmail.sh) or,
where a test must see or break what qmail cannot show, a recording stand-in
for qmail's sendmail (tests/standin/).  As root, the wrapper is installed
root:qwrap 2755 and run as an unprivileged user, so the set-gid path is the
one under test.  Prints one line per test and "N passed, N failed" at the end.

Env.send and check_queued run the real qmail: a message must be found in its
queue byte for byte as qmail's own sendmail queues it, but for qwrap's header,
with the same envelope and exit status, queued as the caller.  Env.run and
check_delivered run the stand-in, kept for what a real qmail cannot do: report
the process state it inherited (descriptors, gids, signal mask, umask, session),
fail on request (STANDIN_EXIT), and read -bs sessions in ways the relay must
meet (bare LF, a server that closes first).
"""

import argparse
import calendar
import contextlib
import fcntl
import grp
import json
import os
import pwd
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROUP = "qwrap"
USER = "qwraptest"
HEADER = b"X-Additional-Header"

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Env:
    """A private install under a throwaway root, and the ways to run it."""

    def __init__(self, build, san):
        self.san = san
        self.root = tempfile.mkdtemp(prefix="qwrap-it.")
        os.chmod(self.root, 0o755)
        self.sbin = os.path.join(self.root, "sbin")
        self.wrapper = os.path.join(self.sbin, "qwrap-sendmail")
        self.real = os.path.join(self.root, "bin", "sendmail-qmail")
        self.conf = os.path.join(self.root, "etc", "qwrap", "qwrap.conf")
        self.log = os.path.join(self.root, "var", "log", "qwrap", "capture.log")
        self.launch = os.path.join(self.root, "bin", "launch")
        self.is_root = os.geteuid() == 0
        self.made_user = self.made_group = False
        if self.is_root:
            self._make_user_and_group()
        itbuild = self.itbuild = os.path.join(build, "it")
        # The host qwrap-install --verify looks at (PHP, /usr/sbin/sendmail) is the
        # tree's too: what the tests put there, not this machine's.
        make = self.make = ["make", "-s", "-C", REPO, "BUILD=" + itbuild, "PREFIX=" + self.root,
                            "SYSCONFDIR=" + os.path.join(self.root, "etc"),
                            "LOCALSTATEDIR=" + os.path.join(self.root, "var"),
                            "REAL_SENDMAIL=" + self.real, "QWRAP_GROUP=" + GROUP,
                            "SCANROOT=" + self.root] + (["SAN=1"] if san else [])
        subprocess.run(make + ["all", itbuild + "/standin", itbuild + "/launch"],
                       check=True)
        subprocess.run(make + ["install"], check=True, stdout=subprocess.DEVNULL)
        os.makedirs(os.path.dirname(self.real), exist_ok=True)
        shutil.copy(os.path.join(REPO, itbuild, "standin"), self.real)
        shutil.copy(os.path.join(REPO, itbuild, "launch"), self.launch)
        os.chmod(self.real, 0o755)
        os.chmod(self.launch, 0o755)
        # No limits unless a test sets its own: most tests send many messages.
        with open(self.conf, "rb") as f:
            self.conf_text = b"\n".join(
                b"limits = ();" if l.startswith(b"limits ") else l
                for l in f.read().split(b"\n"))
        self.rec_root = os.path.join(self.root, "rec")
        os.mkdir(self.rec_root)
        os.chmod(self.rec_root, 0o1777)
        self.seq = 0
        # The real qmail, for every test that sends a message through to it.
        self.qmail, self.no_qmail = realqmail.Qmail.find()
        if self.qmail is None and self.is_root:
            raise RuntimeError("cannot build the real qmail: " + self.no_qmail)
        if self.qmail and self.is_root:
            self.qmail.clear()

    def _make_user_and_group(self):
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", GROUP], check=True)
            self.made_group = True
        try:
            pwd.getpwnam(USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", USER], check=True)
            self.made_user = True
        self.uid = pwd.getpwnam(USER).pw_uid
        self.gid = pwd.getpwnam(USER).pw_gid

    def unappend(self):
        """Lifts the append-only attribute qwrap-install --enable puts on the log."""
        if os.path.isfile(self.log) and not os.path.islink(self.log):
            subprocess.run(["chattr", "-a", self.log], check=False)

    def cleanup(self):
        self.unappend()
        if self.qmail and self.is_root:
            self.qmail.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.made_user:
            subprocess.run(["userdel", USER], check=False)
        if self.made_group:
            subprocess.run(["groupdel", GROUP], check=False)

    def set_conf(self, extra=b""):
        """The installed config with EXTRA lines appended (a later key wins... so
        tests replace whole keys by removing the old line first)."""
        text = self.conf_text
        for line in extra.splitlines():
            key = line.split(b"=")[0].strip()
            text = b"\n".join(l for l in text.splitlines()
                              if not l.strip().startswith(key + b" ")
                              and not l.strip().startswith(key + b"=")) + b"\n"
        with open(self.conf, "wb") as f:
            f.write(text + extra + b"\n")

    def reset_conf(self):
        with open(self.conf, "wb") as f:
            f.write(self.conf_text)

    def log_size(self):
        return os.path.getsize(self.log) if os.path.isfile(self.log) else 0

    def records_since(self, offset):
        if not os.path.isfile(self.log) or os.path.islink(self.log):
            return []  # a test put a FIFO or a symlink there
        with open(self.log, "rb") as f:
            f.seek(offset)
            data = f.read()
        assert data == b"" or data.endswith(b"\n"), "log does not end in a newline"
        return [json.loads(l) for l in data.split(b"\n") if l]

    def new_recdir(self):
        self.seq += 1
        d = os.path.join(self.rec_root, str(self.seq))
        os.mkdir(d)
        os.chmod(d, 0o1777)
        return d

    def run(self, args, stdin=b"", as_user=True, env=None, launch=None, cwd=None,
            argv0=None, prog=None, timeout=120, stdin_file=None):
        """Runs the wrapper (or PROG); returns (completed process, new records, stand-in records)."""
        recdir = self.new_recdir()
        e = {"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir}
        if env:
            e.update(env)
        cmd = [prog or self.wrapper] + list(args)
        if launch is not None or argv0 is not None:
            pre = [self.launch] + list(launch or [])
            if argv0 is not None:
                pre += ["--argv0", argv0]
            cmd = pre + ["--"] + cmd
        if as_user and self.is_root:
            cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups"] + cmd
        start = self.log_size()
        p = subprocess.run(cmd, input=None if stdin_file else stdin,
                           stdin=stdin_file, capture_output=True, env=e,
                           cwd=cwd or self.root, timeout=timeout)
        return p, self.records_since(start), standin_records(recdir)


    def send(self, args, stdin=b"", direct=False, prog=None, **kw):
        """Runs ARGS through qwrap into the real qmail (or straight to qmail's own
        sendmail when DIRECT); returns (completed process, new records, the
        messages it queued)."""
        if self.qmail is None:
            raise Skip("no real qmail: " + self.no_qmail)
        self.conf_sendmail(self.qmail.sendmail)
        mark = self.qmail.mark()
        p, recs, _ = self.run(args, stdin, prog=prog or (self.qmail.sendmail if direct else None),
                              **kw)
        return p, recs, self.qmail.since(mark)

    def conf_sendmail(self, path):
        """Points the config's real sendmail at PATH, keeping the rest as the test set it."""
        with open(self.conf, "rb") as f:
            lines = f.read().splitlines()
        want = b'sendmail = "%s";' % path.encode()
        if want not in lines:
            lines = [l for l in lines if not re.match(rb"\s*sendmail\s*=", l)] + [want]
            with open(self.conf, "wb") as f:
                f.write(b"\n".join(lines) + b"\n")


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it as skipped."""


def standin_records(recdir):
    out = []
    for name in sorted(os.listdir(recdir)):
        d = os.path.join(recdir, name)
        info = os.path.join(d, "info.json")
        if not os.path.exists(info):
            continue
        with open(info) as f:
            rec = json.load(f)
        with open(os.path.join(d, "stdin"), "rb") as f:
            rec["stdin"] = f.read()
        with open(os.path.join(d, "argv"), "rb") as f:
            rec["argv"] = f.read().split(b"\0")[:-1]
        # -bs sessions: every message the stand-in accepted, in order, with its data.
        rec["messages"] = []
        smtp = os.path.join(d, "smtp.json")
        if os.path.exists(smtp):
            with open(smtp) as f:
                for n, m in enumerate(json.load(f), 1):
                    with open(os.path.join(d, "msg.%d" % n), "rb") as f:
                        m["data"] = f.read()
                    rec["messages"].append(m)
        out.append(rec)
    return out


def split_header(data):
    """Splits qwrap's header field (first line plus folded lines) off DATA."""
    end = data.index(b"\n") + 1
    while end < len(data) and data[end:end + 1] in (b" ", b"\t"):
        end = data.index(b"\n", end) + 1
    return data[:end], data[end:]


def header_values(field):
    name, _, value = field.partition(b":")
    assert name == HEADER, name
    value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    out = {}
    for part in value.split(b";"):
        k, _, v = part.strip().partition(b"=")
        out[k.decode()] = v.decode()
    return out


def one(records, what="record"):
    assert len(records) == 1, "expected one %s, got %d" % (what, len(records))
    return records[0]


def check_delivered(env, p, recs, got, message):
    """The stand-in got our header first and MESSAGE otherwise unchanged."""
    assert p.returncode == 0, "exit %d: %r" % (p.returncode, p.stderr[-500:])
    r = one(recs)
    s = one(got, "stand-in run")
    field, rest = split_header(s["stdin"])
    assert rest == message, "message changed: %d bytes in, %d out" % (len(message), len(rest))
    assert header_values(field)["id"] == r["id"]
    assert field.count(b"\n") == field.count(b"\n ") + 1 - (1 if field.endswith(b"\n ") else 0)
    return r, s, field


# What qmail-inject writes afresh for each message: the Date and Message-ID it adds when a
# message has none.  Masked on both sides of a comparison, and only in the header section.
QMAIL_FRESH = re.compile(rb"^(Date): \d+ \w+ \d{4} \d\d:\d\d:\d\d -0000$|"
                         rb"^(Message-ID): <\d{14}\.\d+\.qmail@[^>\s]*>$", re.M)
HEADER_END = re.compile(rb"\r?\n\r?\n")


def qmail_fresh_masked(data):
    m = HEADER_END.search(data)
    end = m.end() if m else len(data)
    return QMAIL_FRESH.sub(lambda f: (f.group(1) or f.group(2)) + b": *", data[:end]) + data[end:]


def cut_field(data, name=HEADER):
    """Splits the one header field called NAME (with its folded lines) out of DATA, a
    message as queued: returns (the field, DATA without it)."""
    m = HEADER_END.search(data)
    head = data[:m.start() + 1] if m else data
    starts = [m.start() for m in re.finditer(rb"(?:^|\n)" + re.escape(name) + rb":", head)]
    assert len(starts) == 1, "%d fields %r in %r" % (len(starts), name, data[:300])
    start = starts[0] + (1 if data[starts[0]:starts[0] + 1] == b"\n" else 0)
    end = data.index(b"\n", start) + 1
    while data[end:end + 1] in (b" ", b"\t"):
        end = data.index(b"\n", end) + 1
    return data[start:end], data[:start] + data[end:]


def check_queued(env, args, msg, want=None, environ=None, **kw):
    """MSG sent with ARGS into the real qmail through qwrap, and WANT (MSG unless given)
    straight to qmail's own sendmail: the same exit status and output, the same
    envelope, and the same message in the queue, but for qwrap's header, and
    queued as the caller with the group dropped.  Returns (record, queued, field)."""
    pd, _, direct = env.send(args, msg if want is None else want, direct=True, env=environ, **kw)
    p, recs, got = env.send(args, msg, env=environ, **kw)
    assert (p.returncode, p.stdout, p.stderr) == (pd.returncode, pd.stdout, pd.stderr), \
        (args, p.returncode, pd.returncode, p.stderr[-300:], pd.stderr[-300:])
    assert p.returncode == 0, (args, p.returncode, p.stderr[-300:])
    r = one(recs)
    q, d = one(got, "queued message"), one(direct, "queued message")
    assert (q.sender, q.rcpt) == (d.sender, d.rcpt), (q, d)
    field, rest = cut_field(q.body)
    assert qmail_fresh_masked(rest) == qmail_fresh_masked(d.body), \
        "message changed: %d bytes queued directly, %d through qwrap" % (len(d.body), len(rest))
    assert header_values(field)["id"] == r["id"]
    if env.is_root:
        # qmail-queue is set-uid qmailq: the file's group is its caller's effective gid.
        assert q.uid == q.received_uid == env.uid, q
        assert os.stat(env.qmail.mess_path(q.inode)).st_gid == env.gid
    return r, q, field


# ---------------------------------------------------------------- PHP mail()

PHP_SCRIPT = b"""<?php
$ok = mail("alice@example.com, Bob <bob@example.org>", "Your invoice 42",
           "Hello,\\nplease find it attached.\\n.\\nbye\\n",
           "From: shop@shop.example\\r\\nCc: carol@example.net\\r\\nBcc: dave@example.com");
echo $ok ? "sent" : "failed";
"""


def make_vhost(env):
    httpdocs = os.path.join(env.root, "vhosts", "shop.example", "httpdocs", "sub")
    os.makedirs(httpdocs, exist_ok=True)
    script = os.path.join(httpdocs, "contact.php")
    with open(script, "wb") as f:
        f.write(PHP_SCRIPT)
    if env.is_root:
        for d, _, files in os.walk(os.path.join(env.root, "vhosts")):
            os.chown(d, env.uid, env.gid)
            for fn in files:
                os.chown(os.path.join(d, fn), env.uid, env.gid)
    return httpdocs, script


def php(env, sendmail_path, cwd, script="contact.php", extra=()):
    """PHP runs SCRIPT, mail() calling SENDMAIL_PATH; into the real qmail."""
    args = ["-d", "sendmail_path=" + sendmail_path, "-d", "mail.add_x_header=On"] + \
        list(extra) + [script]
    return env.send(args, prog="/usr/bin/php", cwd=cwd)


@test
def php_mail__cli_script_in_vhost__header_first_and_record_right(env):
    cwd, script = make_vhost(env)
    p_direct, _, direct = php(env, env.qmail.sendmail + " -t -i", cwd)
    assert p_direct.stdout == b"sent", p_direct.stdout
    p, recs, got = php(env, env.wrapper + " -t -i", cwd)
    assert p.stdout == b"sent", (p.stdout, p.stderr)
    r, q = one(recs), one(got, "queued message")
    d = one(direct, "queued message")
    field, rest = cut_field(q.body)
    assert qmail_fresh_masked(rest) == qmail_fresh_masked(d.body), (rest, d.body)
    assert (q.sender, q.rcpt) == (d.sender, d.rcpt)
    assert sorted(q.rcpt) == [b"alice@example.com", b"bob@example.org", b"carol@example.net",
                              b"dave@example.com"], q.rcpt
    # The first line PHP wrote is qwrap's; qmail-inject puts its Date and
    # Message-ID before it.
    assert b"\n" + field + b"To: " in q.body, q.body[:600]
    assert field.startswith(HEADER + b": id=" + r["id"].encode() + b";")
    hv = header_values(field)
    assert r["script"] == script and r["script_from"] == "fd", (r["script"], r["script_from"])
    assert hv["script"] == script and hv["cwd"] == cwd and hv["uid"] == str(r["uid"])
    assert r["cwd"] == cwd and r["mode"] == "message" and r["action"] == "deliver"
    assert r["subject"] == "Your invoice 42"
    assert r["rcpt"] == ["alice@example.com", "bob@example.org", "carol@example.net",
                         "dave@example.com"], r["rcpt"]
    assert r["rcpt_count"] == 4 and r["from"] == "shop@shop.example"
    assert r["php_script"].endswith(":contact.php")
    if env.is_root:
        assert r["uid"] == env.uid and r["gid"] == env.gid
        assert q.uid == q.received_uid == env.uid
    assert r["parents"][0]["argv"][:2] == ["sh", "-c"], r["parents"]
    assert any(pp["exe"].startswith("/usr/bin/php") for pp in r["parents"]), r["parents"]


@test
def php_mail__script_from_stdin__php_header_or_none(env):
    # Code from stdin has no file: fd and argv give nothing, and the header names
    # "Standard input code", which is no file in the cwd, so: none.
    cwd, _ = make_vhost(env)
    p, recs, got = env.run(["-d", "sendmail_path=" + env.wrapper + " -t -i", "-d",
                            "mail.add_x_header=On"], prog="/usr/bin/php", cwd=cwd,
                           stdin=PHP_SCRIPT)
    r = one(recs)
    assert p.stdout == b"sent" and r["script_from"] == "none" and r["script"] is None, r


@test
def php_mail__library_and_chdir__header_basename_when_it_exists(env):
    cwd, script = make_vhost(env)
    lib = os.path.join(cwd, "mailer.php")
    with open(lib, "wb") as f:
        f.write(b"<?php function send() { return mail('x@example.com', 's', 'b'); }\n")
    entry = os.path.join(cwd, "entry.php")
    with open(entry, "wb") as f:
        f.write(b"<?php require __DIR__ . '/mailer.php'; echo send() ? 'sent' : 'failed';\n")
    if env.is_root:
        os.chown(lib, env.uid, env.gid)
        os.chown(entry, env.uid, env.gid)
    p, recs, _ = php(env, env.wrapper + " -t -i", cwd, script="entry.php")
    r = one(recs)
    # The entry script is the open fd; the header's basename names the library.
    assert r["script"] == entry and r["script_from"] == "fd", r
    assert r["php_script"].endswith(":mailer.php")


@test
def php_mail__cgi_environ__server_value_beats_putenv(env):
    # php-cgi as suexec runs it: the CGI environment is in php-cgi's own
    # /proc/PID/environ; a putenv() in the script changes only the wrapper's.
    if not shutil.which("php-cgi"):
        return "skipped: php-cgi not installed"
    cwd, script = make_vhost(env)
    forged = os.path.join(cwd, "forged.php")
    with open(forged, "wb") as f:
        f.write(b"<?php putenv('SCRIPT_FILENAME=/elsewhere/innocent.php');"
                b" echo mail('x@example.com', 's', 'b') ? 'sent' : 'failed';\n")
    if env.is_root:
        os.chown(forged, env.uid, env.gid)
    cgi = {"GATEWAY_INTERFACE": "CGI/1.1", "SCRIPT_FILENAME": forged, "REDIRECT_STATUS": "200",
           "REQUEST_METHOD": "GET", "SERVER_NAME": "shop.example", "HTTP_HOST": "shop.example",
           "REQUEST_URI": "/sub/forged.php", "DOCUMENT_ROOT": os.path.dirname(cwd),
           "REMOTE_ADDR": "192.0.2.7"}
    p, recs, _ = env.run(["-d", "sendmail_path=" + env.wrapper + " -t -i",
                          "-d", "cgi.force_redirect=0"], prog=shutil.which("php-cgi"),
                         cwd=cwd, env=cgi)
    r = one(recs)
    assert b"sent" in p.stdout, p.stdout
    # The fd source comes first and names the same file; the claim in env is kept apart.
    assert r["script"] == forged and r["script_from"] in ("fd", "cgi-environ"), r
    assert r["env"]["SCRIPT_FILENAME"] == "/elsewhere/innocent.php", r["env"]
    assert r["env"]["HTTP_HOST"] == "shop.example"


# ---------------------------------------------------------------- body integrity

def message_with(body, crlf=True, extra=b""):
    eol = b"\r\n" if crlf else b"\n"
    return (b"To: a@example.com" + eol + b"Subject: test" + eol + extra + eol) + body


@test
def body__many_shapes_and_sizes__byte_identical(env):
    rnd = random.Random(7)
    bodies = [b"", b"x", b"no final newline", b".\n", b"a\n.\nb\n.\n", b"\0\0\0\n",
              b"line\r\nmixed\nends\r", bytes(range(256)) * 3]
    for size in (65535 - 40, 65536, 65537, 200000, 3 * 1024 * 1024 + 17):
        bodies.append(bytes(rnd.getrandbits(8) for _ in range(min(size, 4096))) *
                      (size // 4096) + b"z" * (size % 4096))
    for crlf in (True, False):
        for body in bodies:
            msg = message_with(body, crlf)
            r, q, field = check_queued(env, ["-t"], msg)
            assert field.endswith(b"\r\n") == crlf


@test
def body__header_line_over_64k__byte_identical(env):
    msg = b"To: a@example.com\nX-Long: " + b"v" * (100 * 1024) + b"\nSubject: s\n\nbody\n"
    r, q, _ = check_queued(env, ["-t"], msg)
    assert r["rcpt"] == ["a@example.com"] and q.rcpt == [b"a@example.com"]


@test
def body__empty_input_and_no_header__delivered(env):
    for msg in (b"", b"just a body line without colon\n", b"\n\nbody"):
        check_queued(env, ["x@example.com"], msg)
    # No recipient at all, with -t or without: qmail queues it with none (qmail-send
    # then drops it) and exits 0, and so through qwrap.
    for args in ([], ["-t"]):
        r, q, _ = check_queued(env, args, b"Subject: nobody\n\nbody\n")
        assert q.rcpt == [] and r["rcpt_count"] == 0, (q, r)


@test
def body__100_mib_through_a_pipe__byte_identical_constant_memory(env):
    size = 100 * 1024 * 1024
    path = os.path.join(env.root, "big.msg")
    rnd = random.Random(100)
    chunk = bytes(rnd.getrandbits(8) for _ in range(1 << 16))
    with open(path, "wb") as f:
        f.write(b"To: big@example.com\r\nSubject: big\r\n\r\n")
        for _ in range(size // len(chunk)):
            f.write(chunk)
    # A pipe, as PHP's popen gives: cat feeds the wrapper, and qmail's own sendmail.
    queued = []
    for prog in (env.qmail.sendmail, env.wrapper):
        env.conf_sendmail(env.qmail.sendmail)
        mark = env.qmail.mark()
        start = env.log_size()
        cmd = "cat %s | %s -t" % (path, prog)
        if env.is_root:
            cmd = "cat %s | setpriv --reuid=%s --regid=%s --init-groups %s -t" % (
                path, USER, USER, prog)
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=600,
                           env={"PATH": "/usr/bin:/bin"})
        assert p.returncode == 0, p.stderr
        queued.append(one(env.qmail.since(mark), "queued message"))
    recs = env.records_since(start)
    direct, q = queued
    field, rest = cut_field(q.body)
    assert qmail_fresh_masked(rest) == qmail_fresh_masked(direct.body), "100 MiB message changed"
    assert len(rest) > size
    assert header_values(field)["id"] == one(recs)["id"]
    os.unlink(path)


# ---------------------------------------------------------------- passthrough modes

QMAIL_TIMES = re.compile(rb"\d+ \w+ \d{4} \d\d:\d\d:\d\d -0000|"
                         rb"\(qmail \d+ invoked|250 ok \d+ qp \d+")


def qmail_times_masked(data):
    """DATA with the times and pids qmail writes into replies and Received lines masked."""
    return QMAIL_TIMES.sub(b"*", data)


def check_passed_through(env, args, stdin=b"", **kw):
    """ARGS through qwrap and straight to qmail's own sendmail: the same exit status,
    output and queued messages, untouched.  Returns (record, queued messages).
    Both run as argv[0] "sendmail", as PHP calls it: qmail's usage names argv[0]."""
    kw.setdefault("argv0", "sendmail")
    pd, _, direct = env.send(args, stdin, direct=True, **kw)
    p, recs, got = env.send(args, stdin, **kw)
    assert p.returncode == pd.returncode, (args, p.returncode, pd.returncode, p.stderr)
    assert qmail_times_masked(p.stdout) == qmail_times_masked(pd.stdout), (p.stdout, pd.stdout)
    assert p.stderr == pd.stderr, (p.stderr, pd.stderr)
    assert [qmail_times_masked(q.data) for q in got] == \
        [qmail_times_masked(q.data) for q in direct], (got, direct)
    assert [(q.sender, q.rcpt) for q in got] == [(q.sender, q.rcpt) for q in direct]
    return one(recs), got


@test
def passthrough__bp_bs_and_rejected__untouched_with_mode_records(env):
    # smtp_mode = "passthrough": the dialogue reaches qmail-smtpd untouched, and
    # the message is queued as it was sent; one record for the session.
    env.set_conf(b'smtp_mode = "passthrough";')
    smtp = (b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\n\r\n"
            b"X-Additional-Header: no\r\n.\r\nQUIT\r\n")
    r, got = check_passed_through(env, ["-bs"], smtp)
    # qmail-smtpd stores CRLF as LF.
    assert got[0].data.endswith(b" -0000\nSubject: s\n\nX-Additional-Header: no\n"), got[0].data
    assert HEADER + b": no" in got[0].data and got[0].data.count(HEADER) == 1
    assert (got[0].sender, got[0].rcpt) == (b"a@b", [b"c@d"])
    assert (r["mode"], r["action"]) == ("smtp", "passthrough") and "rcpt" not in r
    env.reset_conf()

    # The queue listing (qmail-qread), by option and by argv[0].
    r, got = check_passed_through(env, ["-bp"], b"must not be read")
    assert r["mode"] == "queue-list" and got == []
    r, got = check_passed_through(env, [], argv0="mailq")
    assert r["mode"] == "queue-list" and r["argv"][0] == "mailq" and got == []

    # What qmail's sendmail refuses, it refuses through qwrap too: the same usage, exit 100.
    # With mta = "qmail" qwrap knows it will and passes it through; without (any MTA) an
    # option it cannot tell is a submission: counted and recorded as a message, and refused.
    for mta, mode in ((b'mta = "qmail";', "other"), (b"", "message")):
        env.set_conf(mta)
        for args in (["-X"], ["-f"], ["-r", "x@y"], ["-t", "-U"]):
            r, got = check_passed_through(env, args, b"To: a@b.example\n\nbody\n")
            assert got == [] and (r["mode"], r["action"]) == (mode, "deliver" if
                                                              mode == "message" else "passthrough"), (args, r)
            assert r["argv"][1:] == args
        # What queues nothing in any MTA passes through untouched whatever mta says.
        for args in (["-bd"], ["-t", "-q1h"], ["-q"]):
            r, got = check_passed_through(env, args, b"To: a@b.example\n\nbody\n")
            assert got == [] and (r["mode"], r["action"]) == ("other", "passthrough"), (args, r)


@test
def passthrough__exit_status_and_signals__reach_the_caller(env):
    for mode in (["-bs"], ["-t"], ["-bp"]):
        for code, want in (("0", 0), ("100", 100), ("111", 111), ("sig:9", -9), ("sig:15", -15)):
            p, recs, got = env.run(mode, stdin=b"Subject: s\n\nb\n", env={"STANDIN_EXIT": code})
            assert p.returncode == want, (mode, code, p.returncode)
            # -bs is relayed: a session without a message leaves no record.
            assert len(recs) == (0 if mode == ["-bs"] else 1), (mode, recs)


# ---------------------------------------------------------------- hostile input

@test
def hostile__cwd_argv_env_headers__one_header_line_valid_json(env):
    bad = b"evil\r\nBcc: victim@example.com;x\xff\xfe%"
    d = os.path.join(env.root.encode(), b"h", bad)
    os.makedirs(d, exist_ok=True)
    os.chmod(os.path.join(env.root.encode(), b"h"), 0o755)
    os.chmod(d, 0o755)
    msg = (b"To: a@example.com\r\nSubject: s\r\n\tmore\xff\r\nFrom: \x00\x01x\r\n"
           b"X-Additional-Header: id=forged; uid=0\r\n x-additional-header : again\r\n"
           b"x-additional-header: third\r\n\r\nX-Additional-Header: body stays\r\n")
    # Caller-supplied headers of our name are renamed; the body is untouched: the
    # same as the renamed message sent straight to qmail.
    expected = msg.replace(b"X-Additional-Header: id=forged", b"X-Qwrap-Forged-X-Additional-Header: id=forged")
    expected = expected.replace(b"\r\nx-additional-header: third", b"\r\nX-Qwrap-Forged-x-additional-header: third")
    r, q, field = check_queued(env, ["-t", "-f", "a\nb@c", "r\r\ncpt@x;\xff"], msg, want=expected,
                               cwd=d, environ={"SCRIPT_FILENAME": "/x\n.php", "HTTP_HOST": "h\x1b[31m"})
    # Our field has no raw control bytes; continuation lines start with a space.
    lines = field.split(b"\r\n")[:-1]
    assert all(l.startswith(b" ") for l in lines[1:]), lines
    assert all(0x20 <= c <= 0x7e for l in lines for c in l), field
    assert r["forged_header"] == 2, r
    assert r["cwd"].encode("utf-8", "replace").endswith(b"evil\r\nBcc: victim@example.com;x\\xff\\xfe%")
    assert r["sender"] == "a\nb@c"


@test
def hostile__leading_fold_and_mbox_from__cannot_extend_or_hide(env):
    # A first line that starts with a space would continue qwrap's header; an
    # mbox "From " line does not end qmail-inject's header section.
    msg = (b" uid=0; cwd=/root; script=/var/www/victim/contact.php\nTo: decoy@x\n"
           b"From evil Thu Nov 26 18:00:00 2026\nBcc: v1@x, v2@y\n"
           b"X-Additional-Header: id=forged\n\nbody\n")
    want = (b"X-Qwrap-Forged-Fold:" + msg).replace(
        b"\nX-Additional-Header: id=forged", b"\nX-Qwrap-Forged-X-Additional-Header: id=forged")
    r, q, field = check_queued(env, ["-t"], msg, want=want)
    assert b"victim" not in field and len(q.rcpt) == 3, q
    assert r["rcpt"] == ["decoy@x", "v1@x", "v2@y"] and r["forged_header"] == 2, r


def long_header_section(forged_at, nl=b"\n"):
    """A header section longer than the wrapper's 64 KiB buffer, with fields named like
    ours from FORGED_AT bytes in, then a body naming it too.  Returns the message and
    what the real sendmail must get after qwrap's header."""
    head = b"To: a@example.com" + nl + b"Subject: long" + nl
    while len(head) < forged_at - 40:
        head += b"X-Filler: %06d" % len(head) + nl
    head += b"X-Pad: " + b"p" * (forged_at - len(head) - 7 - len(nl)) + nl
    assert len(head) == forged_at
    ours = [b"X-Additional-Header: id=forged; uid=0" + nl,
            b"x-additional-header\t : blanks before the colon" + nl,
            b"X-ADDITIONAL-HEADER:" + nl]
    others = [b"\tX-Additional-Header: a continuation" + nl,
              b"X-Additional-Headers: another name" + nl,
              b"".join(b"X-Filler: %06d" % i + nl for i in range(500))]
    tail = ours[0] + others[0] + ours[1] + others[1] + others[2] + ours[2] + nl
    body = b"X-Additional-Header: in the body" + nl + bytes(range(256)) * 800
    want = head + tail + body
    for o in ours:
        want = want.replace(o, MSG_FORGED + o, 1)
    return head + tail + body, want


MSG_FORGED = b"X-Qwrap-Forged-"


@test
def hostile__forged_fields_past_64k__renamed_to_the_end_of_the_header(env):
    # Where the buffer ends: inside the forged name, right before it, well past it.
    for at, nl in ((65536 - 5, b"\n"), (65536, b"\r\n"), (65536 - 1, b"\r\n"), (70000, b"\n")):
        msg, want = long_header_section(at, nl)
        r, _, _ = check_queued(env, ["-t"], msg, want=want)
        assert r["truncated"] is True, r
    # Every line of the section named like ours: the one across the buffer's end too.
    lines = b"".join(b"X-Additional-Header: %05d\n" % i for i in range(4000))
    msg = b"Subject: all\nTo: a@example.com\n" + lines + b"\nbody\n"
    check_queued(env, ["-t"], msg,
                 want=msg.replace(b"X-Additional-Header: ", MSG_FORGED + b"X-Additional-Header: "))


@test
def hostile__forged_field_after_a_bare_cr__renamed_in_the_buffer_and_past_it(env):
    # Finding 7: qmail-inject keeps a bare CR inside a field, and a reader that takes it
    # for a line end shows what follows as a field of its own: "X-Additional-Header".
    # (A NUL in a name makes no field at all: qmail-inject, like Postfix, takes that
    # line for the body's first, so it stays as it is.)
    forged = (b"To: a@example.com\nSubject: s\rX-Additional-Header: id=forged; uid=0\n"
              b" more\rx-additional-header\t: folded\nX-Ok: a\r\nX-Nul: X-Additional\0-Header: x\n")
    renamed = forged.replace(b"\rX-Additional-Header:", b"\r" + MSG_FORGED + b"X-Additional-Header:")
    renamed = renamed.replace(b"\rx-additional-header\t:", b"\r" + MSG_FORGED +
                              b"x-additional-header\t:")
    body = b"\nbody\rX-Additional-Header: in the body stays\n"
    r, q, _ = check_queued(env, ["-t"], forged + body, want=renamed + body)
    assert r["forged_header"] == 2, r
    # Past the wrapper's 64 KiB buffer, where the rest of the header is streamed.
    filler = b"".join(b"X-Filler: %06d\n" % i for i in range(7000))
    check_queued(env, ["-t"], filler + forged + body, want=filler + renamed + body)


@test
def hostile__long_header_typed_at_a_terminal__one_end_of_input_is_enough(env):
    # A header section past 64 KiB that ends with the input: read to its end, and not again
    # (a terminal would wait for a second end of input, and take what is typed then).
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    lines = b"".join(b"X-Filler-%03d: " % i + b"v" * 490 + b"\n" for i in range(140))
    msg = b"Subject: typed\n" + lines + b"X-Additional-Header: forged\n"

    def type_it():
        os.write(master, msg + b"\x04")
        time.sleep(3)
        os.write(master, b"typed later\n\x04")  # a wrapper still reading takes this in

    typist = threading.Thread(target=type_it)
    typist.start()
    try:
        p, recs, got = env.run(["-t"], stdin_file=slave, timeout=30)
    finally:
        typist.join()
        os.close(slave)
        os.close(master)
    assert p.returncode == 0, p.stderr
    field, rest = split_header(one(got)["stdin"])
    assert rest == msg.replace(b"\nX-Additional-Header", b"\n" + MSG_FORGED + b"X-Additional-Header")


@test
def hostile__stdio_closed__delivered_with_record(env):
    p, recs, got = env.run(["-t"], launch=["--close", "0", "--close", "1", "--close", "2"])
    r = one(recs)
    assert r["action"] == "deliver"
    s = one(got)
    assert [f["fd"] for f in s["fds"]][:3] == [0, 1, 2], s["fds"]
    assert s["stdin"].startswith(HEADER)


@test
def hostile__100_inherited_fds__only_stdio_reaches_sendmail(env):
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", launch=["--open-fds", "100"])
    assert p.returncode == 0
    s = one(got)
    assert [f["fd"] for f in s["fds"]] == [0, 1, 2], s["fds"]
    assert s["fds"][0]["target"].startswith("pipe:")
    one(recs)


@test
def hostile__tiny_rlimit_fsize__no_torn_record_and_on_error(env):
    size = env.log_size()
    msg = b"Subject: s\n\nb\n"
    p, recs, got = env.run(["-t"], stdin=msg, launch=["--fsize", str(size + 10)])
    assert p.returncode == 0 and recs == [], (p.returncode, recs)
    assert b"file size limit" in p.stderr, p.stderr
    check_delivered_without_record(got, msg)
    assert env.log_size() == size
    env.set_conf(b'on_error = "tempfail";')
    try:
        p, recs, got = env.run(["-t"], stdin=msg, launch=["--fsize", str(size + 10)])
        assert p.returncode == 75 and recs == [] and got == [], (p.returncode, got)
    finally:
        env.reset_conf()


def check_delivered_without_record(got, msg):
    s = one(got)
    _, rest = split_header(s["stdin"])
    assert rest == msg


@test
def hostile__tiny_rlimit_nofile__delivered_and_reported(env):
    # The stand-in itself needs a few fds: below that, compare with it alone.
    msg = b"Subject: s\n\nb\n"
    for n in (4, 5, 6, 8, 16):
        d, _, _ = env.run(["-t"], stdin=msg, launch=["--nofile", str(n)], prog=env.real)
        p, recs, got = env.run(["-t"], stdin=msg, launch=["--nofile", str(n)])
        if d.returncode != 0:
            assert p.returncode == d.returncode, (n, p.returncode, d.returncode)
            continue
        assert p.returncode == 0, (n, p.returncode, p.stderr)
        s = one(got)
        assert s["stdin"].endswith(msg), (n, s["stdin"])
        if not recs or not s["stdin"].startswith(HEADER):
            assert b"warning" in p.stderr, (n, p.stderr)


@test
def hostile__argc0_and_odd_argv0__no_crash(env):
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", launch=["--argc0"])
    # Linux 5.18+ turns argc 0 into argv {""}; older kernels leave it 0 (exit 64).
    assert p.returncode in (0, 64), p.returncode
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", argv0=b"x\nuid=0\xff")
    assert p.returncode == 0 and one(recs)["argv"][0] == "x\nuid=0\\xff"


@test
def parents__long_command_line__kept_to_1_kib_then_cut_and_marked(env):
    # A parent's argv is kept by bytes, not by words (issue 25): thirty short words
    # whole; forty words of 99 bytes cut at 1024 bytes of the list, marked truncated.
    def parent_argv(words):
        script = env.wrapper + " -t; exit $?"
        p, recs, _ = env.run(["-c", script, "sh"] + words, prog="/bin/sh",
                             stdin=b"Subject: s\n\nb\n")
        assert p.returncode == 0, p.stderr
        r = one(recs)
        return r, r["parents"][0]["argv"]

    short = ["w%d" % i for i in range(30)]
    r, a = parent_argv(short)
    assert a == ["/bin/sh", "-c", env.wrapper + " -t; exit $?", "sh"] + short, a
    assert "truncated" not in r, r
    long = ["%02d" % i + "x" * 97 for i in range(40)]
    r, a = parent_argv(long)
    assert r.get("truncated") is True, r
    assert sum(len(w) for w in a) + len(a) - 1 == 1024, a
    assert a[4:-1] == long[:len(a) - 5] and long[len(a) - 5].startswith(a[-1]), a


@test
def paths__unresolved_script_with_slashes_and_dots__recorded_tidied(env):
    # A script that cannot be resolved is kept as it was seen, but tidied (issue 25):
    # "//" and "/./" are one "/", ".." stays (across a link it is not the parent).
    seen = env.root + "//gone/./bin/../notify.pl/."
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", env={"SCRIPT_FILENAME": seen})
    assert p.returncode == 0, p.stderr
    r = one(recs)
    want = env.root + "/gone/bin/../notify.pl"
    assert (r["script"], r["script_from"], r.get("script_unresolved")) == (want, "env", True), r
    field, _ = split_header(one(got, "stand-in run")["stdin"])
    assert b"//" not in field and b"/./" not in field, field


@contextlib.contextmanager
def log_moved_away(env):
    """The capture log set aside for a test that puts something else at its path; yields
    a writable file elsewhere, which the wrapper must never write to."""
    env.unappend()
    elsewhere = os.path.join(env.root, "elsewhere.log")
    open(elsewhere, "w").close()
    os.chmod(elsewhere, 0o666)
    backup = env.log + ".keep"
    os.rename(env.log, backup)
    try:
        yield elsewhere
    finally:
        if os.path.lexists(env.log):
            os.unlink(env.log)
        os.rename(backup, env.log)


PRLIMIT_ATTACK = r"""
import os, resource, subprocess, sys, time
wrapper, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
refused, codes = 0, []
msg = b"To: a@example.com\nSubject: race\n\n" + b"b" * 300 + b"\n"
for i in range(n):
    p = subprocess.Popen([wrapper, "-t"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin",
                                                         "STANDIN_SINK": "1"})
    p.stdin.write(msg)
    p.stdin.close()
    # Lower the file size limit of the wrapper and of every process it started, again
    # and again, until it is done: one of them writes the record.
    while p.poll() is None:
        pids = [p.pid]
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                pids += [int(c) for c in f.read().split()]
        except OSError:
            pass
        for pid in pids:
            try:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, limit))
            except PermissionError:
                refused += 1
            except (ProcessLookupError, OSError):
                pass
    codes.append(p.wait())
print(refused, " ".join(map(str, codes)))
"""


@test
def hostile__prlimit_racing_the_record__never_a_torn_line_every_record_written(env):
    # The caller's other processes lower RLIMIT_FSIZE of the running wrapper while it
    # writes its record (finding 3): before, a record could be cut in the middle, and
    # jq stops at the first broken line; or lost.  The keeper that writes it is out of
    # reach.  (A limit set before the exec, which the caller may always do, keeps the
    # record out of the log: under on_error = "tempfail" that message is refused.)
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    env.set_conf(b'on_error = "tempfail";')
    n = 60 if env.san else 200
    start = env.log_size()
    limit = start + 64   # past the log's end: any record written under it is cut
    p = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                        sys.executable, "-c", PRLIMIT_ATTACK, env.wrapper, str(n), str(limit)],
                       capture_output=True, timeout=600, cwd=env.root)
    assert p.returncode == 0, p.stderr[-2000:]
    with open(env.log, "rb") as f:
        f.seek(start)
        data = f.read()
    lines = data.split(b"\n")
    assert lines[-1] == b"", data[-300:]
    recs = []
    for line in lines[:-1]:
        recs.append(json.loads(line))   # a torn line fails here
    refused, *codes = p.stdout.split()
    codes = [int(c) for c in codes]
    assert len(codes) == n and set(codes) <= {0, 75}, codes
    # Every message sent has its record in the log, whole.  How many are sent depends
    # on how often the loop lowers the limit before the exec, which the caller may always
    # do (then the log is not written and the message refused): a race whose odds move
    # with the machine's load.
    assert len(recs) == codes.count(0) >= n // 10, (len(recs), codes.count(0))
    assert all(r["action"] == "deliver" and "error" not in r for r in recs), \
        [r for r in recs if "error" in r][:2]
    assert int(refused) > 0, "the keeper's limit was never tried"


@test
def hostile__log_symlink_fifo_mode__reported_and_delivered(env):
    msg = b"Subject: s\n\nb\n"
    with log_moved_away(env) as elsewhere:
        for setup, words in (
                (lambda: os.symlink(elsewhere, env.log), b"symbolic link"),
                (lambda: (os.mkfifo(env.log), os.chmod(env.log, 0o622)), b"FIFO"),
                (lambda: (open(env.log, "w").close(), os.chmod(env.log, 0o666)), b"mode")):
            setup()
            try:
                p, _, got = env.run(["-t"], stdin=msg, timeout=20)
                assert p.returncode == 0, p.stderr
                assert words in p.stderr and b"warning" in p.stderr, p.stderr
                check_delivered_without_record(got, msg)
                assert os.path.getsize(elsewhere) == 0
                env.set_conf(b'on_error = "tempfail";')
                p, _, got = env.run(["-t"], stdin=msg, timeout=20)
                assert p.returncode == 75 and got == [], (p.returncode, got)
            finally:
                env.reset_conf()
                os.unlink(env.log)


@test
def hostile__timers_and_signals__caller_state_reaches_sendmail(env):
    msg = b"Subject: s\n\nb\n"
    hostile = ["--umask", "027", "--block", "10", "--ignore", "12", "--ignore", "13"]
    _, _, direct = env.run(["-t"], stdin=msg, launch=hostile, prog=env.real)
    p, recs, got = env.run(["-t"], stdin=msg, launch=hostile + ["--itimer", "50000"])
    assert p.returncode == 0, p.returncode
    d, s = one(direct), one(got)
    for k in ("umask", "sigblk", "sigign"):
        assert d[k] == s[k], (k, d[k], s[k])
    assert s["umask"] == 0o027
    one(recs)


@test
def hostile__tz_and_preload__ignored(env):
    p, recs, _ = env.run(["-t"], stdin=b"Subject: s\n\nb\n", env={"TZ": "UTC-14"})
    ts = one(recs)["ts"]
    t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(t - time.time()) < 60, ts
    if not env.is_root:
        return "preload part skipped: needs root for set-gid"
    so = os.path.join(env.root, "evil.so")
    marker = os.path.join(env.rec_root, "preloaded")
    src = os.path.join(env.root, "evil.c")
    # Each process that loads the library appends the program it is.
    with open(src, "w") as f:
        f.write('#include <fcntl.h>\n#include <unistd.h>\n'
                '__attribute__((constructor)) static void e(void) {\n'
                '  char b[4096]; ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);\n'
                '  int fd = open("%s", O_CREAT|O_WRONLY|O_APPEND, 0666);\n'
                '  if (n > 0 && fd >= 0) { b[n++] = 10; write(fd, b, n); }\n}\n' % marker)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, src], check=True)
    os.chmod(so, 0o755)
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", env={"LD_PRELOAD": so})
    assert p.returncode == 0 and len(recs) == 1
    with open(marker) as f:
        loaded = f.read().split()
    # setpriv, before the wrapper, loads it: the library works.  The set-gid
    # wrapper never does, and glibc's secure mode removes LD_PRELOAD from the
    # environment it passes on, so the real sendmail does not either.
    assert "/usr/bin/setpriv" in loaded, loaded
    assert env.wrapper not in loaded and env.real not in loaded, loaded


# ---------------------------------------------------------------- set-gid for real

@test
def setgid__unprivileged_user__record_written_log_closed_gid_dropped(env):
    if not env.is_root:
        return "skipped: needs root"
    st = os.stat(env.wrapper)
    assert stat.S_IMODE(st.st_mode) == 0o2755 and st.st_uid == 0
    assert st.st_gid == grp.getgrnam(GROUP).gr_gid
    lst = os.stat(env.log)
    assert stat.S_IMODE(lst.st_mode) == 0o620 and lst.st_gid == st.st_gid
    p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n")
    r, s = one(recs), one(got)
    assert r["uid"] == env.uid
    assert (s["rgid"], s["egid"], s["sgid"]) == (env.gid,) * 3, s
    assert (s["ruid"], s["euid"]) == (env.uid, env.uid)
    assert GROUP not in [grp.getgrgid(g).gr_name for g in s["groups"]]
    assert [f["fd"] for f in s["fds"]] == [0, 1, 2], s["fds"]
    assert s["at_secure"] == 0
    # The user can neither read nor truncate nor append to the log by hand.
    probe = ("import os,sys\n"
             "for fl in (os.O_RDONLY, os.O_WRONLY|os.O_TRUNC, os.O_WRONLY|os.O_APPEND):\n"
             "  try: os.open(sys.argv[1], fl); print('opened', fl)\n"
             "  except PermissionError: pass\n")
    out = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                          sys.executable, "-c", probe, env.log], capture_output=True)
    assert out.stdout == b"" and out.returncode == 0, (out.stdout, out.stderr)


@test
def setgid__nosuid_like_run_without_group__fails_to_log_but_delivers(env):
    # Running the wrapper without its group (as NoNewPrivileges or a nosuid
    # mount would) cannot open the 0620 log: delivered, reported.
    if not env.is_root:
        return "skipped: needs root"
    # The stand-in: under no_new_privs the real qmail cannot queue at all (its qmail-queue
    # is set-uid: "qq trouble creating files in queue"), with qwrap or without.
    msg = b"Subject: s\n\nb\n"
    recdir = env.new_recdir()
    q = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                        "--no-new-privs", env.wrapper, "-t"], input=msg, capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir})
    assert q.returncode == 0 and b"cannot open log" in q.stderr, q.stderr
    check_delivered_without_record(standin_records(recdir), msg)
    d = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                        "--no-new-privs", env.qmail.sendmail, "-t"], capture_output=True,
                       input=b"To: a@example.com\n\nb\n", env={"PATH": "/usr/bin:/bin"})
    assert d.returncode != 0 and b"qq trouble" in d.stderr, (d.returncode, d.stderr)


# ---------------------------------------------------------------- real sendmail problems

@test
def target__missing_or_itself__exit_69_nothing_read(env):
    for target in (os.path.join(env.root, "nope"), env.wrapper):
        env.set_conf(b'sendmail = "%s";' % target.encode())
        try:
            p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n")
            assert p.returncode == 69, (target, p.returncode, p.stderr)
            assert b"real sendmail" in p.stderr and got == []
            r = one(recs)
            assert r["action"] == "reject" and "real sendmail" in r["error"]
        finally:
            env.reset_conf()


@test
def config__bad_file__delivered_warning_names_line(env):
    env.set_conf(b"bogus_key = 1;")
    try:
        p, recs, got = env.send(["-t"], b"To: a@example.com\nSubject: s\n\nb\n")
        assert p.returncode == 0 and b"unknown key 'bogus_key'" in p.stderr, p.stderr
        assert b"qwrap.conf:" in p.stderr
        assert "bogus_key" in one(recs)["error"]
        one(got, "queued message")
    finally:
        env.reset_conf()
    out = subprocess.run([os.path.join(env.sbin, "qwrap"), "check-config", env.conf],
                         capture_output=True)
    assert out.returncode == 0, out.stderr
    bad = os.path.join(env.root, "bad.conf")
    with open(bad, "w") as f:
        f.write('sendmail = "/x";\nheader = { name = "bad name"; };\n')
    out = subprocess.run([os.path.join(env.sbin, "qwrap"), "check-config", bad],
                         capture_output=True)
    assert out.returncode == 78 and (bad + ":2:").encode() in out.stderr, out.stderr


@test
def config__privacy_fields_and_name__honoured(env):
    env.set_conf(b'header = { name = "X-Qwrap-Id"; fields = ["id"]; };')
    p, recs, got = env.send(["-t"], b"To: a@example.com\nSubject: s\n\nb\n")
    field, _ = cut_field(one(got, "queued message").body, b"X-Qwrap-Id")
    assert field == b"X-Qwrap-Id: id=" + one(recs)["id"].encode() + b"\n", field
    assert HEADER not in one(got).data


@test
def syslog__copy_enabled__record_sent_to_dev_log(env):
    # A private mount namespace gets a /dev whose "log" is our socket.
    if not env.is_root or not shutil.which("unshare"):
        return "skipped: needs root and unshare"
    import socket
    path = os.path.join(env.root, "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.settimeout(10)
    env.set_conf(b'log = { file = "%s"; syslog = true; };' % env.log.encode())
    recdir = env.new_recdir()
    script = ("mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && "
              "mknod -m 666 /dev/full c 1 7 && mknod -m 666 /dev/urandom c 1 9 && "
              "touch /dev/log && mount --bind %s /dev/log && "
              "exec setpriv --reuid=%s --regid=%s --init-groups %s -t" % (
                  path, USER, USER, env.wrapper))
    try:
        start = env.log_size()
        # The caller's TZ, 14 hours off, must not date the syslog line (finding 7).
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           input=b"Subject: s\n\nb\n", capture_output=True,
                           env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "STANDIN_DIR": recdir,
                                "TZ": "UTC-14"})
        assert p.returncode == 0, p.stderr
        r = one(env.records_since(start))
        line = sock.recv(8192)
    finally:
        sock.close()
        env.reset_conf()
    assert b"qwrap-sendmail[" in line and b'"id":"%s"' % r["id"].encode() in line, line
    assert line.startswith(b"<22>"), line  # LOG_MAIL | LOG_INFO
    # The system's local time, as date(1) without TZ gives it.
    now = subprocess.run(["date", "+%H %M"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout.split()
    stamp = re.match(rb"<22>\w{3} +\d+ (\d\d):(\d\d):\d\d ", line)
    assert stamp, line
    minutes = lambda h, m: int(h) * 60 + int(m)
    off = abs(minutes(*stamp.groups()) - minutes(*now)) % (24 * 60)
    assert min(off, 24 * 60 - off) <= 2, (stamp.groups(), now)


# ---------------------------------------------------------------- qwrap-install

def tmp_write(path, data, mode=0o755):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def sha256_of(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Swap:
    """The stand-in moved to a sendmail name of its own, as qmail's sendmail is
    before enable; the config's sendmail path (env.real) is then free."""

    def __init__(self, env):
        self.env = env
        self.target = os.path.join(env.root, "bin", "sendmail")
        self.installer = os.path.join(env.sbin, "qwrap-install")
        os.rename(env.real, self.target)
        self.sum = sha256_of(self.target)
        self.ino = os.stat(self.target).st_ino

    def run(self, *args):
        return subprocess.run([self.installer] + list(args), capture_output=True)

    def enable(self):
        return self.run("--enable", "--target", self.target)

    def close(self):
        self.run("--revert", "--force")
        if os.path.lexists(self.target + ".qwrap-replaced"):
            os.unlink(self.target + ".qwrap-replaced")
        if not os.path.exists(self.env.real):
            os.link(self.target, self.env.real)
        os.unlink(self.target)
        # The stand-in back under its name, whatever the test left there.
        if sha256_of(self.env.real) != self.sum:
            os.unlink(self.env.real)
            shutil.copy(os.path.join(REPO, self.env.itbuild, "standin"), self.env.real)
            os.chmod(self.env.real, 0o755)


@test
def install__enable_send_revert__original_restored(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    try:
        p = sw.enable()
        assert p.returncode == 0, p.stderr
        assert os.readlink(sw.target) == env.wrapper
        assert os.stat(env.real).st_ino == sw.ino and sha256_of(env.real) == sw.sum
        again = sw.enable()
        assert again.returncode == 0 and b"already enabled" in again.stdout, again.stdout
        # Mail sent by the target's name now goes through qwrap.
        p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", prog=sw.target)
        assert p.returncode == 0 and one(got)["stdin"].startswith(HEADER)
        assert one(recs)["argv"][0] == sw.target
        st = sw.run("--status")
        assert b"capture:  on" in st.stdout and b"records:  1 this session" in st.stdout, st.stdout
        assert b"no time limit" in st.stdout, st.stdout
        # The state is for root (and the wrapper's group) only.
        p = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                            sw.installer, "--status"], capture_output=True)
        assert p.returncode == 77 and b"run as root" in p.stderr, (p.returncode, p.stderr)
        p = sw.run("--revert")
        assert p.returncode == 0, p.stderr
        assert not os.path.islink(sw.target)
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
        again = sw.run("--revert")
        assert again.returncode == 0 and b"not enabled" in again.stdout
        assert b"capture:  off" in sw.run("--status").stdout
    finally:
        sw.close()


@test
def install__drift_and_taken_name__refused_until_force(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    try:
        # The config's name for the original is taken by another file: refused, untouched.
        with open(env.real, "wb") as f:
            f.write(b"#!/bin/sh\nexit 0\n")
        p = sw.enable()
        assert p.returncode == 73 and b"refusing to overwrite" in p.stderr, p.stderr
        assert os.stat(sw.target).st_ino == sw.ino
        os.unlink(env.real)
        assert sw.enable().returncode == 0
        # A package update replaces the target behind qwrap's back.
        tmp = sw.target + ".pkg"
        with open(tmp, "wb") as f:
            f.write(b"#!/bin/sh\necho updated\n")
        os.chmod(tmp, 0o755)
        os.rename(tmp, sw.target)
        p = sw.run("--revert")
        assert p.returncode == 65 and b"something replaced it" in p.stderr, p.stderr
        with open(sw.target, "rb") as f:
            assert f.read() == b"#!/bin/sh\necho updated\n"
        p = sw.run("--revert", "--force")
        assert p.returncode == 0, p.stderr
        assert sha256_of(sw.target) == sw.sum
        # What replaced it is kept under a name of its own.
        with open(sw.target + ".qwrap-replaced", "rb") as f:
            assert f.read() == b"#!/bin/sh\necho updated\n"
        os.unlink(sw.target + ".qwrap-replaced")
        # The same, but the update's file is the one to keep: --keep-target.
        assert sw.enable().returncode == 0
        os.rename(tmp_write(sw.target + ".pkg", b"#!/bin/sh\necho updated\n"), sw.target)
        p = sw.run("--revert", "--keep-target")
        assert p.returncode == 0 and b"left as it is" in p.stdout, p.stderr
        with open(sw.target, "rb") as f:
            assert f.read() == b"#!/bin/sh\necho updated\n"
        assert b"capture:  off" in sw.run("--status").stdout
        # The next enable takes the updated file, over the last session's second name.
        assert sw.enable().returncode == 0
        assert sw.run("--revert").returncode == 0
        with open(sw.target, "rb") as f:
            assert f.read() == b"#!/bin/sh\necho updated\n"
        # The state removed behind qwrap's back: said, and revert does not guess.
        assert sw.enable().returncode == 0
        os.unlink(os.path.join(env.root, "var", "lib", "qwrap", "install", "install.state"))
        st = sw.run("--status", "--target", sw.target).stdout
        assert b"nothing was recorded" in st, st
        p = sw.run("--revert", "--target", sw.target)
        assert p.returncode == 65 and b"put the original back by hand" in p.stderr, p.stderr
        assert b"ln -f %s %s" % (env.real.encode(), sw.target.encode()) in p.stderr, p.stderr
        assert os.path.islink(sw.target)
        os.rename(env.real, sw.target)
        os.link(sw.target, env.real)
    finally:
        sw.close()


@test
def install__unsafe_names_and_originals__refused_before_anything_changes(env):
    # Each of these would lose the original or make every message fail, were enable to go on.
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    bindir = os.path.dirname(sw.target)

    def refused(code, why, target=None):
        p = sw.run("--enable", "--target", target or sw.target)
        assert p.returncode == code and why in p.stderr, (why, p.returncode, p.stderr)
        assert not os.path.islink(sw.target) and os.stat(sw.target).st_ino == sw.ino
        assert sha256_of(sw.target) == sw.sum
        assert not os.path.exists(os.path.join(env.root, "var", "lib", "qwrap", "install", "install.state"))

    try:
        # The config's name for the original is the target itself, however spelled.
        for name in (sw.target, bindir + "//./sendmail"):
            env.set_conf(b'sendmail = "%s";' % name.encode())
            refused(78, b"are one name")
        env.reset_conf()
        # ... or --target names the config's name for the original.
        os.link(sw.target, env.real)
        refused(78, b"are one name", env.real)
        os.unlink(env.real)
        # Originals the wrapper would refuse to hand mail to.
        for mode, owner, why in ((0o775, 0, b"nobody else may write"),
                                 (0o755, env.uid, b"belongs to uid %d" % env.uid),
                                 (0o644, 0, b"not an executable file")):
            os.chown(sw.target, owner, 0)
            os.chmod(sw.target, mode)
            refused(65, why)
        os.chown(sw.target, 0, 0)
        os.chmod(sw.target, 0o755)
        os.chmod(bindir, 0o775)
        try:
            refused(65, b"writable by nobody else")
        finally:
            os.chmod(bindir, 0o755)
        # A config that names someone else's directory or log, by a typo: never re-moded.
        foreign = os.path.join(env.root, "foreign")
        os.makedirs(foreign, exist_ok=True)
        os.chmod(foreign, 0o1777)
        tmp_write(os.path.join(foreign, "cron"), b"x", 0o644)
        maillog = tmp_write(os.path.join(env.root, "mail.log"), b"Nov 27 postfix: x\n", 0o640)
        for conf, what in ((b'spool_dir = "%s";' % foreign.encode(), foreign),
                           (b'log = { file = "%s"; };' % maillog.encode(), maillog)):
            env.set_conf(conf)
            refused(78, b"of qwrap's own")
            assert mode_of(what)[:2] == (0, 0) and mode_of(what)[2] in (0o1777, 0o640), what
        env.reset_conf()
        # A link to the wrapper made by hand, spelled otherwise than enable spells it.
        os.rename(sw.target, sw.target + ".keep")
        os.symlink(env.sbin + "/./qwrap-sendmail", sw.target)
        p = sw.enable()
        assert p.returncode == 65 and b"leads to qwrap-sendmail already" in p.stderr, p.stderr
        os.unlink(sw.target)
        os.rename(sw.target + ".keep", sw.target)
        # All put right: enabled.  Then the target removed: revert puts the original back
        # (--keep-target has nothing to keep).
        assert sw.enable().returncode == 0
        os.unlink(sw.target)
        p = sw.run("--revert", "--keep-target")
        assert p.returncode == 64 and b"nothing to keep" in p.stderr, p.stderr
        p = sw.run("--revert")
        assert p.returncode == 0 and b"missing" in p.stdout, (p.stdout, p.stderr)
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
        assert not os.path.lexists(sw.target + ".qwrap-replaced")
    finally:
        env.reset_conf()
        sw.close()


@test
def install__mta_installed_through_the_link__said_and_nothing_made_set_gid(env):
    # qmail's "make setup check" opens the target with O_TRUNC, following the link: its new
    # sendmail lands in qwrap-sendmail's file.  Revert must not quietly put the old original
    # back over it, and enable must not make a file that is not qwrap's set-gid qwrap.
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    saved = env.wrapper + ".saved"
    shutil.copy2(env.wrapper, saved)
    new_qmail = b"#!/bin/sh\necho new qmail\n"
    try:
        # The wrapper merely gone (uninstalled during a session): revert still works.
        assert sw.enable().returncode == 0
        os.rename(env.wrapper, saved + ".away")
        try:
            p = sw.run("--revert")
            assert p.returncode == 0 and not os.path.islink(sw.target), p.stderr
        finally:
            os.rename(saved + ".away", env.wrapper)
        assert sw.enable().returncode == 0
        with open(sw.target, "wb") as f:
            f.write(new_qmail)
        v = sw.run("--verify")
        assert v.returncode == 78 and b"is not qwrap-sendmail" in v.stdout, v.stdout
        p = sw.run("--revert")
        assert p.returncode == 65 and b"no longer holds qwrap-sendmail" in p.stderr, p.stderr
        assert os.path.islink(sw.target)
        # Whatever it is, it does not keep the wrapper's set-gid bit.
        assert mode_of(env.wrapper)[2] == 0o755, oct(mode_of(env.wrapper)[2])
        # Kept as the message says: moved over the target, the session ended around it.
        os.rename(env.wrapper, sw.target)
        p = sw.run("--revert", "--keep-target")
        assert p.returncode == 0, p.stderr
        with open(sw.target, "rb") as f:
            assert f.read() == new_qmail
        # A file that is not qwrap-sendmail at the wrapper's path is never made set-gid.
        tmp_write(env.wrapper, b"#!/bin/sh\necho not qwrap\n")
        os.rename(sw.target, sw.target + ".new")
        os.rename(env.real, sw.target)
        p = sw.enable()
        assert p.returncode == 78 and b"is not qwrap-sendmail" in p.stderr, p.stderr
        assert mode_of(env.wrapper) == (0, 0, 0o755) and not os.path.islink(sw.target)
        os.unlink(sw.target + ".new")
    finally:
        os.replace(saved, env.wrapper)
        os.chown(env.wrapper, 0, grp.getgrnam(GROUP).gr_gid)
        os.chmod(env.wrapper, 0o2755)
        sw.close()


@test
def install__1000_swaps_under_load__target_never_missing(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    stop = threading.Event()
    misses = []

    def watch():
        while not stop.is_set():
            try:
                os.stat(sw.target)
            except FileNotFoundError:
                misses.append("stat")

    # Something execs the target the whole time, as mail() would.
    loop = subprocess.Popen(["sh", "-c", 'while :; do "$0" -bp >/dev/null || echo MISS $?; done',
                             sw.target], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "STANDIN_SINK": "1"})
    t = threading.Thread(target=watch)
    t.start()
    try:
        cycles = 200 if env.san else 1000
        for _ in range(cycles):
            assert sw.enable().returncode == 0
            assert sw.run("--revert").returncode == 0
    finally:
        stop.set()
        t.join()
        loop.kill()
        out = loop.communicate()[0]
        sw.close()
    assert misses == [] and b"MISS" not in out, (misses[:3], out[:200])


@test
def install__mta_update_between_sessions__next_enable_takes_the_new_binary(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    try:
        assert sw.enable().returncode == 0
        assert sw.run("--revert").returncode == 0
        # A package update replaces sendmail; the last session's second name stays.
        tmp = sw.target + ".dpkg-new"
        with open(tmp, "wb") as f:
            f.write(b"#!/bin/sh\nexec cat >/dev/null\n")
        os.chmod(tmp, 0o755)
        os.rename(tmp, sw.target)
        new_ino = os.stat(sw.target).st_ino
        p = sw.enable()
        assert p.returncode == 0 and b"original of the last session" in p.stdout, p.stderr
        assert os.stat(env.real).st_ino == new_ino
        assert sw.run("--revert").returncode == 0
        assert os.stat(sw.target).st_ino == new_ino
        # Anything else under that name is still never overwritten.
        os.unlink(env.real)
        with open(env.real, "wb") as f:
            f.write(b"someone else's\n")
        p = sw.enable()
        assert p.returncode == 73 and b"refusing to overwrite" in p.stderr, p.stderr
        os.unlink(env.real)
    finally:
        sw.close()


@test
def install__verify__passes_then_names_what_is_wrong(env):
    if not env.is_root:
        return "skipped: needs root"
    inst = os.path.join(env.sbin, "qwrap-install")
    p = subprocess.run([inst, "--verify"], capture_output=True)
    with open("/proc/sys/fs/protected_hardlinks") as f:
        hardlinks_protected = f.read().strip() == "1"
    if hardlinks_protected:
        # Nothing wrong, but nothing enabled: a failed check of its own, named.
        assert p.returncode == 1 and b"all checks passed, but capture is off" in p.stdout, \
            p.stdout
    else:  # a host setting the test cannot change: it must be the only problem
        problems = [l for l in p.stdout.splitlines() if l.startswith(b"PROBLEM")]
        assert p.returncode == 78 and len(problems) == 1 and b"protected_hardlinks" in problems[0]
    # A PHP process that cannot gain the group (NoNewPrivileges) is named.
    php_nnp = subprocess.Popen(["setpriv", "--no-new-privs", "php", "-r", "sleep(30);"])
    try:
        def running():
            with open("/proc/%d/comm" % php_nnp.pid) as f:
                return f.read().strip() == "php"
        assert wait_for(running, 10)
        p = subprocess.run([inst, "--verify"], capture_output=True)
        assert b"warning: process %d (php) runs with NoNewPrivileges" % php_nnp.pid in p.stdout, \
            p.stdout
    finally:
        php_nnp.kill()
        php_nnp.wait()
    env.unappend()
    os.chmod(env.log, 0o640)
    try:
        p = subprocess.run([inst, "--verify"], capture_output=True)
        assert p.returncode == 78, p.stdout
        assert b"PROBLEM: log " in p.stdout and b"want root:qwrap 0620" in p.stdout, p.stdout
    finally:
        os.chmod(env.log, 0o620)
    # The real sendmail: what enable requires of it, checked all along.
    os.chmod(env.real, 0o775)
    try:
        p = subprocess.run([inst, "--verify"], capture_output=True)
        assert p.returncode == 78 and b"PROBLEM: the real sendmail: " in p.stdout and \
            b"nobody else may write" in p.stdout, p.stdout
    finally:
        os.chmod(env.real, 0o755)


@test
def install__root_dir__works_inside_the_tree(env):
    if not env.is_root:
        return "skipped: needs root"
    r = tempfile.mkdtemp(prefix="qwrap-root.")
    try:
        def inside(p):
            return r + p
        for d in (os.path.dirname(env.conf), os.path.join(env.root, "var", "lib", "qwrap"),
                  env.sbin, os.path.dirname(env.real), "/var/qmail/bin"):
            os.makedirs(inside(d), exist_ok=True)
        shutil.copy(env.conf, inside(env.conf))
        shutil.copy(env.wrapper, inside(env.wrapper))
        tmp_write(inside("/var/qmail/bin/sendmail"), b"qmail's sendmail\n")
        inst = os.path.join(env.sbin, "qwrap-install")
        p = subprocess.run([inst, "--root", r, "--enable"], capture_output=True)
        assert p.returncode == 0, p.stderr
        # The link is as the staged system will see it: without the root.
        assert os.readlink(inside("/var/qmail/bin/sendmail")) == env.wrapper
        with open(inside(env.real), "rb") as f:
            assert f.read() == b"qmail's sendmail\n"
        p = subprocess.run([inst, "--root", r, "--revert"], capture_output=True)
        assert p.returncode == 0, p.stderr
        with open(inside("/var/qmail/bin/sendmail"), "rb") as f:
            assert f.read() == b"qmail's sendmail\n"
        # A relative --root: the revert job, which runs from /, still finds the tree.
        p = subprocess.run([inst, "--root", os.path.basename(r), "--enable", "--for", "1s",
                            "--scheduler", "timer"], capture_output=True, cwd=os.path.dirname(r))
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: not os.path.islink(inside("/var/qmail/bin/sendmail")), 20), \
            "the timed session in a relative --root tree never ended"
        with open(inside("/var/qmail/bin/sendmail"), "rb") as f:
            assert f.read() == b"qmail's sendmail\n"
    finally:
        # enable made the tree's log append-only: lifted, or the tree could not go.
        subprocess.run(["chattr", "-a", inside(env.log)], check=False, capture_output=True)
        shutil.rmtree(r, ignore_errors=True)


@test
def install__directories_others_may_write__refused_and_a_missing_config_refuses_mail(env):
    # Finding 6: enable and verify checked only the directories that hold the target and
    # the log.  A user owning /etc/qwrap could delete qwrap.conf (the wrapper then ran on
    # its defaults, silently); one who may write the wrapper's directory could replace it.
    if not env.is_root:
        return "skipped: needs root"
    r = tempfile.mkdtemp(prefix="qwrap-root.")
    inst = os.path.join(env.sbin, "qwrap-install")
    staff = grp.getgrnam("staff").gr_gid if "staff" in [g.gr_name for g in grp.getgrall()] else 50

    def inside(p):
        return r + p
    try:
        for d in (os.path.dirname(env.conf), os.path.join(env.root, "var", "lib", "qwrap"),
                  env.sbin, os.path.dirname(env.real), "/var/qmail/bin"):
            os.makedirs(inside(d), exist_ok=True)
        shutil.copy(env.conf, inside(env.conf))
        shutil.copy(env.wrapper, inside(env.wrapper))
        tmp_write(inside("/var/qmail/bin/sendmail"), b"qmail's sendmail\n")
        os.makedirs(inside(os.path.dirname(env.log)), exist_ok=True)
        os.makedirs(inside(os.path.join(env.root, "var", "spool")), exist_ok=True)
        placements = [   # (directory, owner uid, gid, mode)
            (os.path.dirname(env.conf), env.uid, 0, 0o755),          # the config's
            (env.sbin, 0, staff, 0o2775),                            # the wrapper's, Debian's staff
            (os.path.join(env.root, "var"), env.uid, 0, 0o755),       # above log, state, spool
            (os.path.join(env.root, "var", "lib"), 0, 0, 0o777),      # above the state
            (os.path.join(env.root, "var", "spool"), env.uid, 0, 0o755),
            (os.path.dirname(env.log), 0, env.gid, 0o775),            # the log's
            (os.path.dirname(env.real), env.uid, 0, 0o755),           # the real sendmail's
        ]
        for d, uid, gid, mode in placements:
            st = os.stat(inside(d))
            os.chown(inside(d), uid, gid)
            os.chmod(inside(d), mode)
            try:
                p = subprocess.run([inst, "--root", r, "--enable"], capture_output=True)
                # 65: the real sendmail's own directory, refused as before.
                assert p.returncode in (65, 78) and inside(d).encode() in p.stderr, \
                    (d, p.returncode, p.stderr)
                assert not os.path.islink(inside("/var/qmail/bin/sendmail")), d
                v = subprocess.run([inst, "--root", r, "--verify"], capture_output=True)
                assert v.returncode == 78 and inside(d).encode() in v.stdout + v.stderr, \
                    (d, v.stdout, v.stderr)
            finally:
                os.chown(inside(d), st.st_uid, st.st_gid)
                os.chmod(inside(d), stat.S_IMODE(st.st_mode))
        p = subprocess.run([inst, "--root", r, "--enable"], capture_output=True)
        assert p.returncode == 0, p.stderr
    finally:
        subprocess.run(["chattr", "-a", inside(env.log)], check=False, capture_output=True)
        shutil.rmtree(r, ignore_errors=True)
    # Capture on, the config gone: mail waits (75), and says why; back, it goes again.
    sw = Swap(env)
    try:
        assert sw.enable().returncode == 0
        os.rename(env.conf, env.conf + ".away")
        try:
            p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", prog=sw.target)
            assert p.returncode == 75 and b"missing while capture is on" in p.stderr, p.stderr
            assert got == [] and recs == []
        finally:
            os.rename(env.conf + ".away", env.conf)
        p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", prog=sw.target)
        assert p.returncode == 0 and len(got) == 1, p.stderr
        assert sw.run("--revert").returncode == 0
    finally:
        sw.close()


@test
def install__state_out_of_the_groups_reach__moved_in_from_an_older_install(env):
    # Finding 7: install.state lay in state_dir (root:qwrap 0770), so anything with the
    # group could remove it (and a session's end with it).  Now in a root:qwrap 0750 home.
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    sdir = os.path.join(env.root, "var", "lib", "qwrap")
    state = os.path.join(sdir, "install", "install.state")
    try:
        assert sw.enable().returncode == 0
        st = os.stat(os.path.dirname(state))
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (
            0, grp.getgrnam(GROUP).gr_gid, 0o750), st
        probe = "import os, sys; open(sys.argv[1]).read(); os.unlink(sys.argv[1])"
        p = subprocess.run(["setpriv", "--reuid=" + USER, "--regid=" + GROUP, "--clear-groups",
                            sys.executable, "-c", probe, state], capture_output=True)
        assert p.returncode != 0 and b"PermissionError" in p.stderr, p.stderr
        assert os.path.exists(state)
        # An older install's state, in state_dir itself: read there, moved in by the next run.
        for name in ("install.state", "install.last"):
            if os.path.exists(os.path.join(sdir, "install", name)):
                os.rename(os.path.join(sdir, "install", name), os.path.join(sdir, name))
        os.rmdir(os.path.dirname(state))
        assert b"capture:  on" in sw.run("--status").stdout
        assert sw.run("--revert").returncode == 0
        assert os.path.exists(os.path.join(sdir, "install", "install.last"))
        assert not os.path.exists(os.path.join(sdir, "install.state"))
    finally:
        sw.close()


def install_state(env):
    out = {}
    path = os.path.join(env.root, "var", "lib", "qwrap", "install", "install.state")
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def process_alive(pid):
    """Running, not merely a zombie nobody has reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def mode_of(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def append_only(path):
    out = subprocess.run(["lsattr", "-d", path], capture_output=True, check=True).stdout
    return b"a" in out.split()[0]


@test
def install__enable_sets_up_group_log_dirs_and_wrapper(env):
    if not env.is_root:
        return "skipped: needs root"
    gid = grp.getgrnam(GROUP).gr_gid
    state_dir = os.path.join(env.root, "var", "lib", "qwrap")
    spool_dir = os.path.join(env.root, "var", "spool", "qwrap")
    # Everything enable is to put right, put wrong.
    env.unappend()
    os.chown(env.log, 0, 0)
    os.chmod(env.log, 0o666)
    os.chown(state_dir, 0, 0)
    os.chmod(state_dir, 0o755)
    shutil.rmtree(spool_dir)
    os.chown(env.wrapper, 0, 0)
    os.chmod(env.wrapper, 0o755)
    sw = Swap(env)
    try:
        p = sw.enable()
        assert p.returncode == 0, p.stderr
        assert mode_of(env.log) == (0, gid, 0o620)
        assert append_only(env.log), "log is not append-only"
        assert mode_of(state_dir) == (0, gid, 0o770) and mode_of(spool_dir) == (0, gid, 0o770)
        assert mode_of(env.wrapper) == (0, gid, 0o2755)
        assert b"now root:qwrap 2755" in p.stdout and b"append-only" in p.stdout, p.stdout
        # The set-gid wrapper writes its record again.
        p, recs, got = env.run(["-t"], stdin=b"Subject: s\n\nb\n", prog=sw.target)
        assert p.returncode == 0 and one(recs)["uid"] == env.uid
        # The install state is for root and the wrapper's group only.
        st = os.stat(os.path.join(state_dir, "install", "install.state"))
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640)
        assert sw.run("--revert").returncode == 0
        # A log directory others may write to is refused, with nothing changed.
        logdir = os.path.dirname(env.log)
        os.chmod(logdir, 0o777)
        try:
            p = sw.enable()
            assert p.returncode == 78 and b"writable by nobody else" in p.stderr, p.stderr
            assert not os.path.islink(sw.target)
        finally:
            os.chmod(logdir, 0o755)
        # A user whose primary group it is could write the log directly: refused.
        subprocess.run(["useradd", "--system", "--no-create-home", "-g", GROUP, "qwrapprim"],
                       check=True, capture_output=True)
        try:
            p = sw.enable()
            assert p.returncode == 78 and b"primary group of user qwrapprim" in p.stderr, p.stderr
            v = sw.run("--verify")
            assert v.returncode == 78 and b"primary group of user qwrapprim" in v.stdout
        finally:
            subprocess.run(["userdel", "qwrapprim"], check=True, capture_output=True)
        # A member of the group could write the log directly: refused.
        subprocess.run(["gpasswd", "-a", USER, GROUP], check=True, capture_output=True)
        try:
            p = sw.enable()
            assert p.returncode == 78 and b"has members" in p.stderr, p.stderr
            assert not os.path.islink(sw.target)
        finally:
            subprocess.run(["gpasswd", "-d", USER, GROUP], check=True, capture_output=True)
    finally:
        sw.close()


@test
def install__no_qwrap_group__enable_makes_it(env):
    if not env.is_root:
        return "skipped: needs root"
    # A host without the group: /etc as a copy without it, in a private mount namespace.
    etc = tempfile.mkdtemp(prefix="qwrap-etc.")
    sw = Swap(env)
    try:
        subprocess.run(["cp", "-a", "/etc/.", etc], check=True)
        for name in ("group", "gshadow"):
            path = os.path.join(etc, name)
            if os.path.exists(path):
                with open(path) as f:
                    lines = [l for l in f if not l.startswith(GROUP + ":")]
                with open(path, "w") as f:
                    f.writelines(lines)
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount --bind "$0" /etc && exec "$@"', etc, sw.installer,
                            "--enable", "--target", sw.target], capture_output=True)
        assert p.returncode == 0, p.stderr
        assert b"made the system group qwrap" in p.stdout, p.stdout
        with open(os.path.join(etc, "group")) as f:
            made = [l.strip().split(":") for l in f if l.startswith(GROUP + ":")]
        assert len(made) == 1 and made[0][3] == "", made
        assert int(made[0][2]) < 1000, "not a system group: %s" % made
        assert os.stat(env.wrapper).st_gid == int(made[0][2])
    finally:
        sw.close()
        shutil.rmtree(etc, ignore_errors=True)
        # Back to the host's group for the tests that follow.
        env.unappend()
        gid = grp.getgrnam(GROUP).gr_gid
        os.chown(env.wrapper, 0, gid)
        os.chmod(env.wrapper, 0o2755)
        for path in (env.log, os.path.join(env.root, "var", "lib", "qwrap"),
                     os.path.join(env.root, "var", "spool", "qwrap")):
            os.chown(path, 0, gid)


@test
def session__for_3s__ends_by_itself_and_for_again_moves_the_end(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    try:
        # An fd of the caller's (a lock, a pipe) does not stay open in the timer.
        r, w = os.pipe()
        p = subprocess.run([sw.installer, "--enable", "--for", "1h", "--scheduler", "timer",
                            "--target", sw.target], capture_output=True, pass_fds=(r, w))
        os.close(r)
        os.close(w)
        assert p.returncode == 0, p.stderr
        first = int(install_state(env)["job"])
        assert process_alive(first)
        # Once it runs as the timer (exec'd), only /dev/null on 0-2 is open.
        def exec_done():
            with open("/proc/%d/cmdline" % first, "rb") as f:
                return b"\0--at\0" in f.read()
        assert wait_for(exec_done, 5)
        # Just after its exec it may still be reading its config: wait for it to settle.
        def only_stdio():
            return sorted(os.listdir("/proc/%d/fd" % first)) == ["0", "1", "2"]
        assert wait_for(only_stdio, 5), os.listdir("/proc/%d/fd" % first)
        assert os.readlink("/proc/%d/cwd" % first) == "/"
        st = sw.run("--status").stdout
        assert b"left)" in st and b"scheduled by timer %d" % first in st, st
        assert re.search(rb"ends at .* \((59m|1h00m)", st), st
        # A second --for moves the end: the first timer goes, a new one counts 3s.
        p = sw.run("--enable", "--for", "8s", "--scheduler", "timer", "--target", sw.target)
        assert p.returncode == 0, p.stderr
        second = int(install_state(env)["job"])
        assert second != first and wait_for(lambda: not process_alive(first), 5)
        msg = b"Subject: during\n\nb\n"
        p, recs, got = env.run(["-t"], stdin=msg, prog=sw.target)
        check_delivered(env, p, recs, got, msg)
        assert wait_for(lambda: not os.path.islink(sw.target), 20), "the session did not end"
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
        assert b"capture:  off" in sw.run("--status").stdout
        assert wait_for(lambda: not process_alive(second), 5)
    finally:
        sw.close()


@test
def session__timer_killed__wrapper_stops_capturing_at_the_deadline(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    try:
        p = sw.run("--enable", "--for", "8s", "--scheduler", "timer", "--target", sw.target)
        assert p.returncode == 0, p.stderr
        state = install_state(env)
        os.kill(int(state["job"]), signal.SIGKILL)
        # Sent is not done: --status looks before the timer has exited (a flake in CI).
        assert wait_for(lambda: not process_alive(int(state["job"])), 10), "the timer lives"
        st = sw.run("--status").stdout
        assert b"which is gone" in st, st
        msg = b"Subject: s\n\nb\n"
        p, recs, got = env.run(["-t"], stdin=msg, prog=sw.target)
        check_delivered(env, p, recs, got, msg)
        time.sleep(max(0, int(state["deadline"]) + 1 - time.time()))
        # Past the deadline: the real sendmail, untouched: no header, no record.
        for body in (msg, b"X: y\n\n" + os.urandom(300000)):
            p, recs, got = env.run(["-t"], stdin=body, prog=sw.target)
            assert p.returncode == 0 and recs == [], (p.returncode, recs)
            assert one(got)["stdin"] == body
            assert one(got)["argv"][1:] == [b"-t"]
        st = sw.run("--status").stdout
        assert b"expired at" in st and b"not yet reverted" in st and b"records:  1 " in st, st
        v = sw.run("--verify").stdout
        assert b"ended but was not reverted" in v, v
        # A stale job's revert leaves a newer session alone; --revert finishes this one.
        p = sw.run("--revert", "--session", "0123456789abcdef")
        assert p.returncode == 0 and b"over already" in p.stdout and os.path.islink(sw.target)
        p = sw.run("--revert")
        assert p.returncode == 0, p.stderr
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
        # With no scheduler at all, the deadline alone ends capture.
        p = sw.run("--enable", "--for", "1s", "--scheduler", "none", "--target", sw.target)
        assert p.returncode == 0 and install_state(env)["scheduler"] == "none", p.stderr
        time.sleep(2)
        p, recs, got = env.run(["-t"], stdin=msg, prog=sw.target)
        assert p.returncode == 0 and recs == [] and one(got)["stdin"] == msg
        # Enabling an expired session again captures again, with no end.
        p = sw.enable()
        assert p.returncode == 0 and b"had expired" in p.stdout, p.stdout
        assert install_state(env)["deadline"] == "0"
        p, recs, got = env.run(["-t"], stdin=msg, prog=sw.target)
        check_delivered(env, p, recs, got, msg)
    finally:
        sw.close()


@test
def session__at_scheduler__job_ends_the_session(env):
    if not env.is_root:
        return "skipped: needs root"
    if env.san:
        return "skipped: atd runs jobs on the minute; once, without sanitizers, is enough"
    # atd is installed (tests/deps.sh) but not started; run one for this test.
    atd = None if subprocess.run(["pgrep", "-x", "atd"], capture_output=True).returncode == 0 \
        else subprocess.Popen(["/usr/sbin/atd", "-f"])
    sw = Swap(env)

    def atq():
        return subprocess.run(["atq"], capture_output=True, check=True).stdout

    try:
        p = sw.run("--enable", "--for", "1h", "--scheduler", "at", "--target", sw.target)
        assert p.returncode == 0, p.stderr
        first = install_state(env)
        assert first["scheduler"] == "at" and first["job"].isdigit(), first
        assert re.search(rb"^%s\t" % first["job"].encode(), atq(), re.M), atq()
        st = sw.run("--status").stdout
        assert b"scheduled by at %s\n" % first["job"].encode() in st, st
        # A new end: the first job is removed, the new one ends the session.
        p = sw.run("--enable", "--for", "5s", "--scheduler", "at", "--target", sw.target)
        assert p.returncode == 0, p.stderr
        second = install_state(env)
        assert not re.search(rb"^%s\t" % first["job"].encode(), atq(), re.M), atq()
        assert wait_for(lambda: not os.path.islink(sw.target), 90), "the at job did not revert"
        # Not before the deadline: the job waits for the second.
        assert time.time() >= int(second["deadline"])
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
    finally:
        sw.close()
        if atd is not None:
            atd.terminate()
            atd.wait()


def strace_kill(cmd, syscall, n):
    """Runs CMD, killing it with SIGKILL as it enters its Nth SYSCALL; True when it died so."""
    p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + syscall,
                        "-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, n)] + cmd,
                       capture_output=True)
    return p.returncode == -signal.SIGKILL or p.returncode == 128 + signal.SIGKILL


@test
def install__killed_at_every_step__old_or_new_state_and_next_run_finishes(env):
    if not env.is_root:
        return "skipped: needs root"
    sw = Swap(env)
    calls = ["openat", "write", "fsync", "fchown", "fchmod", "ioctl", "mkdir", "linkat",
             "link", "symlink", "symlinkat", "rename", "renameat", "renameat2", "unlink",
             "unlinkat", "flock", "getrandom"]

    def consistent(where):
        st = os.lstat(sw.target)  # never missing
        if os.path.islink(sw.target):
            assert os.readlink(sw.target) == env.wrapper, where
        else:
            assert st.st_ino == sw.ino, where
        # The original is never lost: one of its names still holds it, unchanged.
        names = [n for n in (sw.target, env.real) if os.path.exists(n) and
                 not os.path.islink(n) and os.stat(n).st_ino == sw.ino]
        assert names and sha256_of(names[0]) == sw.sum, where

    crashes = halfway = 0
    state = os.path.join(env.root, "var", "lib", "qwrap", "install", "install.state")
    try:
        timed = ["--for", "1h", "--scheduler", "none"]
        for op, args in (("--enable", []), ("--enable", timed), ("--revert", [])):
            for call in calls:
                n = 1
                while True:
                    # Start each run from the state the operation begins in.
                    if op == "--enable":
                        assert sw.run("--revert").returncode == 0
                    else:
                        assert sw.enable().returncode == 0
                    cmd = [sw.installer, op] + args + \
                        (["--target", sw.target] if op == "--enable" else [])
                    if not strace_kill(cmd, call, n):
                        break
                    crashes += 1
                    where = "%s %s killed at %s #%d" % (op, " ".join(args), call, n)
                    consistent(where)
                    # Stopped with the original in place and a state recorded: --status
                    # says what finishes it.
                    if os.path.exists(state) and not os.path.islink(sw.target):
                        out = sw.run("--status").stdout
                        assert b"stopped half way; qwrap-install --revert finishes it" in out, \
                            (where, out)
                        halfway += 1
                    # The next run of the same operation repairs or finishes it.
                    p = subprocess.run(cmd, capture_output=True)
                    assert p.returncode == 0, (where, p.stderr)
                    consistent(where)
                    assert os.path.islink(sw.target) == (op == "--enable"), where
                    leftovers = [f for f in os.listdir(os.path.dirname(sw.target))
                                 if f.endswith(".qwrap-new")]
                    assert leftovers == [], (where, leftovers)
                    n += 1
        assert sw.run("--revert").returncode == 0
        assert os.stat(sw.target).st_ino == sw.ino and sha256_of(sw.target) == sw.sum
    finally:
        sw.close()
    assert crashes > 0 and halfway > 0, "strace never killed the installer: nothing was tested"
    return "%d crash points, %d of them half way" % (crashes, halfway)


@test
def install__postfix_sendmail_binary_and_exim_style_symlink(env):
    if not env.is_root:
        return "skipped: needs root"
    assert os.path.exists("/usr/sbin/postdrop"), "Debian's postfix is not installed (tests/deps.sh)"
    spool = "/var/spool/postfix/maildrop"
    sbin = os.path.join(env.root, "usr", "sbin")
    os.makedirs(sbin, exist_ok=True)
    inst = os.path.join(env.sbin, "qwrap-install")
    try:
        for layout in ("binary", "symlink"):
            target = os.path.join(sbin, "sendmail")
            if layout == "binary":
                shutil.copy("/usr/sbin/sendmail", target)  # Debian's Postfix sendmail
                os.chmod(target, 0o755)
            else:  # Exim's: sendmail -> exim4, the MTA's binary beside it
                shutil.copy("/usr/sbin/sendmail", os.path.join(sbin, "mta"))
                os.chmod(os.path.join(sbin, "mta"), 0o755)
                os.symlink("mta", target)
            before = os.lstat(target)
            # The config still names qmail's second name, in another directory: refused,
            # saying what to set (the other MTA's program never gets qmail's name).
            env.reset_conf()
            p = subprocess.run([inst, "--enable", "--target", target], capture_output=True)
            assert p.returncode == 78 and b'Set sendmail = "%s-real"' % target.encode() in \
                p.stderr, p.stderr
            assert os.lstat(target).st_ino == before.st_ino and sha256_of(env.real) != \
                sha256_of(target if layout == "binary" else os.path.join(sbin, "mta"))
            if layout == "symlink":
                # Given its second name in another directory, the link would lead nowhere.
                env.set_conf(b'sendmail = "%s";' % os.path.join(env.root, "bin", "sm.mta").encode())
                p = subprocess.run([inst, "--enable", "--target", target], capture_output=True)
                assert p.returncode == 78 and b"same directory" in p.stderr, p.stderr
                assert os.readlink(target) == "mta"
                assert not os.path.lexists(os.path.join(env.root, "bin", "sm.mta"))
            real = os.path.join(sbin, "sendmail.mta")
            env.set_conf(b'sendmail = "%s";' % real.encode())
            p = subprocess.run([inst, "--enable", "--target", target], capture_output=True)
            assert p.returncode == 0, p.stderr
            assert os.readlink(target) == env.wrapper
            subject = "qwrap-postfix-%s-%d" % (layout, os.getpid())
            msg = b"To: someone@example.com\nSubject: %s\n\nhello from qwrap\n" % subject.encode()
            old = set(os.listdir(spool))
            p, recs, _ = env.run(["-t", "-i"], stdin=msg, prog=target)
            assert p.returncode == 0, p.stderr
            r = one(recs)
            assert r["action"] == "deliver" and r["subject"] == subject
            new = [f for f in set(os.listdir(spool)) - old]
            assert len(new) == 1, new
            queued = subprocess.run(["postcat", os.path.join(spool, new[0])],
                                    capture_output=True, check=True).stdout
            os.unlink(os.path.join(spool, new[0]))
            body = queued.split(b"*** MESSAGE CONTENTS")[1].split(b"\n", 1)[1]
            assert body.startswith(HEADER + b": id=" + r["id"].encode()), body[:200]
            assert body.count(HEADER) == 1 and b"\nhello from qwrap\n" in body
            assert b"sender: %s\n" % USER.encode() in queued, queued[:300]
            p = subprocess.run([inst, "--revert"], capture_output=True)
            assert p.returncode == 0, p.stderr
            after = os.lstat(target)
            assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
            if layout == "symlink":
                assert os.readlink(target) == "mta"
            else:
                assert sha256_of(target) == sha256_of("/usr/sbin/sendmail")
            os.unlink(target)
            os.unlink(real)
    finally:
        env.reset_conf()
        shutil.rmtree(os.path.join(env.root, "usr"), ignore_errors=True)


POSTFIX_OPTIONS = (  # Postfix's getopt string, +A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx
    ["-A", "x"], ["-B", "8BITMIME"], ["-C", "/etc/postfix"], ["-F", "Name"], ["-G"], ["-I"],
    ["-L", "x"], ["-N", "never"], ["-O", "x=y"], ["-R", "full"], ["-U"], ["-V"], ["-V", "+="],
    ["-X", "/tmp/qwrap-x"], ["-bm"], ["-bv"], ["-c"], ["-e", "x"], ["-f", "a@b.example"],
    ["-h", "5"], ["-i"], ["-m"], ["-n"], ["-o", "i"], ["-p", "x"], ["-r", "a@b.example"],
    ["-q", "1h"], ["-q"], ["-t"], ["-v"], ["-x"])


@test
def classify__postfix_sendmail_every_option__nothing_queued_past_the_limit(env):
    # A uid limit of 1 an hour: the second message is refused.  Postfix's real sendmail
    # queues a message for most of its options; through qwrap, none of them may get one
    # past the limit, with mta = "postfix" and with no mta said (any MTA).
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    assert os.path.exists("/usr/sbin/postdrop"), "Debian's postfix is not installed (tests/deps.sh)"
    spool = "/var/spool/postfix/maildrop"
    msg = b"To: someone@example.com\nSubject: postfix options\n\nbody\n"

    def queued(args, prog):
        before = set(os.listdir(spool))
        p, recs, _ = env.run(args, stdin=msg, prog=prog)
        new = set(os.listdir(spool)) - before
        for f in new:
            os.unlink(os.path.join(spool, f))
        return p, recs, len(new)

    argvs = [o + ([] if o == ["-t"] else ["-t"]) for o in POSTFIX_OPTIONS]
    direct = {tuple(a): queued(a, "/usr/sbin/sendmail")[2] for a in argvs}
    assert sum(direct.values()) >= 20, direct   # most of them queue a message
    for mta in (b"", b'mta = "postfix";'):
        clear_limits(env)
        env.set_conf(limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "reject"; }',
                                b'sendmail = "/usr/sbin/sendmail";\n' + mta))
        p, recs, n = queued(["-t"], env.wrapper)
        assert p.returncode == 0 and n == 1, (p.returncode, p.stderr)
        for args in argvs:
            p, recs, n = queued(args, env.wrapper)
            assert n == 0, (mta, args, "queued past the limit", recs)
            if direct[tuple(args)]:
                r = one(recs)
                assert (r["mode"], r["action"]) == ("message", "reject"), (mta, args, r)
                assert p.returncode == 69, (mta, args, p.returncode)
    clear_limits(env)


@test
def logrotate__installed_stanza__rotates_by_rename_and_keeps_append_only(env):
    if not env.is_root:
        return "skipped: needs root"
    gid = grp.getgrnam(GROUP).gr_gid
    subprocess.run(["chattr", "+a", env.log], check=True)
    # As make install put it in place, with this install's log path.
    conf = os.path.join(env.root, "etc", "logrotate.d", "qwrap")
    msg = b"Subject: s\n\nb\n"
    p, recs, _ = env.run(["-t"], stdin=msg)
    before = os.stat(env.log)
    state = os.path.join(env.root, "logrotate.state")
    p = subprocess.run(["logrotate", "-f", "-s", state, conf], capture_output=True)
    assert p.returncode == 0, p.stderr
    rotated = env.log + ".1"
    assert os.stat(rotated).st_ino == before.st_ino, "not rotated by rename"
    with open(rotated, "rb") as f:
        assert b'"id":"%s"' % recs[0]["id"].encode() in f.read()
    assert mode_of(env.log) == (0, gid, 0o620) and os.path.getsize(env.log) == 0
    assert append_only(env.log)
    p, recs, _ = env.run(["-t"], stdin=msg)
    assert p.returncode == 0 and len(recs) == 1
    subprocess.run(["chattr", "-a", rotated], check=False)
    os.unlink(rotated)


# ---------------------------------------------------------------- limits and the hold spool

def clear_limits(env):
    """A fresh start for the limit state and the hold spool."""
    for d, prefix in ((os.path.join(env.root, "var", "lib", "qwrap"), "limit-"),
                      (os.path.join(env.root, "var", "spool", "qwrap"), "")):
        for f in os.listdir(d):
            if f.startswith(prefix) and not f.startswith("install."):
                os.unlink(os.path.join(d, f))


def spool_ids(env):
    d = os.path.join(env.root, "var", "spool", "qwrap")
    return sorted(f[:-4] for f in os.listdir(d) if f.endswith(".env"))


def qwrap_tool(env, *args, **kw):
    return subprocess.run([os.path.join(env.sbin, "qwrap")] + list(args), capture_output=True,
                          **kw)


def limit_conf(rule, extra=b""):
    return b"limits = ( " + rule + b" );\n" + extra


@test
def limits__64_senders_one_uid__exactly_100_delivered_rest_held(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(limit_conf(b'{ per = "uid"; max = 100; window = "1h"; action = "hold"; }'))
    per = 2 if env.san else 3
    msg_path = os.path.join(env.root, "lim.msg")
    with open(msg_path, "wb") as f:
        f.write(b"To: a@example.com\nSubject: lim\n\nbody\n")
    env.conf_sendmail(env.qmail.sendmail)
    mark = env.qmail.mark()
    start = env.log_size()
    script = "i=0; while [ $i -lt %d ]; do %s -t < %s || exit 1; i=$((i+1)); done" % (
        per, env.wrapper, msg_path)
    cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups", "sh", "-c", script]
    procs = [subprocess.Popen(cmd, env={"PATH": "/usr/bin:/bin"}) for _ in range(64)]
    assert all(p.wait(timeout=600) == 0 for p in procs)
    recs = env.records_since(start)
    total = 64 * per
    delivered = [r for r in recs if r["action"] == "deliver"]
    held = [r for r in recs if r["action"] == "hold"]
    assert len(recs) == total and len(delivered) == 100 and len(held) == total - 100, \
        (len(recs), len(delivered), len(held))
    queued = env.qmail.since(mark)
    assert len(queued) == 100 and all(q.uid == env.uid for q in queued)
    ids = sorted(header_values(cut_field(q.body)[0])["id"] for q in queued)
    assert ids == sorted(r["id"] for r in delivered)
    assert sorted(r["id"] for r in held) == spool_ids(env)
    lim = held[0]["limit"]
    assert lim["rule"] == 1 and lim["per"] == "uid" and lim["key"] == "uid:%d" % env.uid
    assert lim["counted"] == 100 and lim["max"] == 100 and lim["window"] == 3600, lim
    listed = [json.loads(l) for l in qwrap_tool(env, "held", "--json").stdout.splitlines()]
    assert sorted(h["id"] for h in listed) == spool_ids(env)
    assert all(h["uid"] == env.uid and h["subject"] == "lim" for h in listed)
    clear_limits(env)


@test
def limits__per_script_php_64_senders__exactly_100_and_other_scripts_free(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    senders = 32 if env.san else 64
    limit = 3 * senders // 2  # of 2 * senders messages: a quarter is held
    env.set_conf(limit_conf(b'{ per = "script"; max = %d; window = "1h"; action = "hold"; }'
                            % limit))
    cwd, _ = make_vhost(env)
    two = os.path.join(cwd, "two.php")
    with open(two, "w") as f:
        f.write('<?php echo (mail("a@x.example", "s", "b") && mail("b@x.example", "s", "b"))'
                ' ? "sent" : "failed";')
    other = os.path.join(cwd, "other.php")
    with open(other, "w") as f:
        f.write('<?php echo mail("c@x.example", "s", "b") ? "sent" : "failed";')
    for path in (two, other):
        os.chown(path, env.uid, env.gid)
    env.conf_sendmail(env.qmail.sendmail)
    start, mark = env.log_size(), env.qmail.mark()

    def php_run(script):
        return subprocess.Popen(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                                 "/usr/bin/php", "-d", "sendmail_path=" + env.wrapper + " -t -i",
                                 script], cwd=cwd, stdout=subprocess.PIPE,
                                env={"PATH": "/usr/bin:/bin"})
    procs = [php_run(two) for _ in range(senders)] + [php_run(other) for _ in range(5)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(o == b"sent" for o in outs), outs[:3]  # hold: mail() returns true
    recs = env.records_since(start)
    mine = [r for r in recs if r["script"] == two]
    assert len(mine) == 2 * senders
    delivered = [r for r in mine if r["action"] == "deliver"]
    held = [r for r in mine if r["action"] == "hold"]
    assert len(delivered) == limit and len(held) == 2 * senders - limit
    assert all(r["limit"]["key"] == "script:%d:%s" % (env.uid, two) for r in held)
    assert sorted(r["id"] for r in held) == spool_ids(env)
    # Another script of the same uid has its own count.
    assert [r["action"] for r in recs if r["script"] == other] == ["deliver"] * 5
    # What the real qmail queued: exactly the messages delivered, each naming its record.
    ids = sorted(header_values(cut_field(q.body)[0])["id"] for q in env.qmail.since(mark))
    assert ids == sorted(r["id"] for r in recs if r["action"] == "deliver")
    clear_limits(env)


@test
def limits__reject_and_recipients__exit_69_php_false_nothing_queued(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(limit_conf(b'{ per = "uid"; max = 5; count = "recipients"; window = "1h";'
                            b' action = "reject"; }'))
    # -t and operands both count: 3 in the header, then 3 more as operands is 6 > 5.
    m1 = b"To: a@x.example, b@x.example\nCc: c@x.example\nSubject: one\n\nb\n"
    # Out of descriptors (the caller's doing) does not get a message past the limits.
    for n in (4, 5, 6, 7, 8):
        p, recs, got = env.run(["-t"], stdin=m1, launch=["--nofile", str(n)])
        if p.returncode == 0:  # enough descriptors: delivered, and counted
            assert len(got) == 1 and "error" not in one(recs), (n, recs)
        else:
            assert p.returncode in (69, 75) and got == [], (n, p.returncode, p.stderr)
    clear_limits(env)
    # Counted as qmail counts them: the recipients qmail queues.
    p, recs, got = env.send(["-t"], m1)
    assert p.returncode == 0 and one(recs)["rcpt_count"] == 3 == len(one(got).rcpt)
    p, recs, got = env.send(["d@x.example", "e@x.example", "f@x.example"],
                            b"Subject: two\n\nb\n")
    assert p.returncode == 69, p.returncode
    assert b"limit 1 reached" in p.stderr and b"message not sent" in p.stderr, p.stderr
    assert got == [] and one(recs)["action"] == "reject"
    assert one(recs)["limit"]["counted"] == 3 and one(recs)["limit"]["count"] == "recipients"
    p, recs, got = env.send(["d@x.example", "e@x.example"], b"Subject: three\n\nb\n")
    assert p.returncode == 0 and len(one(got).rcpt) == 2, p.stderr  # 3 + 2 = 5
    # PHP's mail() sees the refusal.
    cwd, script = make_vhost(env)
    p, recs, got = php(env, env.wrapper + " -t -i", cwd)
    assert p.stdout == b"failed" and got == [] and one(recs)["action"] == "reject", p.stdout
    # Root is exempt by default.
    p, recs, got = env.send(["-t"], m1, as_user=False)
    assert p.returncode == 0 and len(got) == 1 and "limit" not in one(recs)
    # Recipients as qmail-inject finds them: six in a list without commas are six, not one.
    clear_limits(env)
    six = b"To: a@x b@y c@z d@w e@v f@u\nSubject: s\n\nb\n"
    assert len(one(env.send(["-t"], six, direct=True)[2]).rcpt) == 6
    p, recs, got = env.send(["-t"], six)
    assert p.returncode == 69 and got == [] and one(recs)["rcpt_count"] == 6, (p.returncode, recs)
    assert one(recs)["rcpt"] == ["a@x", "b@y", "c@z", "d@w", "e@v", "f@u"], one(recs)["rcpt"]
    clear_limits(env)


@test
def limits__run_without_the_group__refused_not_let_through_uncounted(env):
    # no_new_privs (as setpriv or a systemd unit sets it), a tracer or a user namespace make
    # the kernel ignore the set-gid bit: the wrapper cannot open the limit state.  Mail the
    # limits apply to is refused (75); without limits, or for an exempt uid, on_error decides
    # (delivered; the record only in syslog, which the log cannot take).
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    nnp = ["--no-new-privs", "--reuid=" + USER, "--regid=" + USER, "--init-groups", env.wrapper]
    msg = b"To: a@x.example\nSubject: s\n\nb\n"
    clear_limits(env)
    try:
        env.set_conf(limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "reject"; }'))
        for args in (["-t"], ["-bs"]):
            p, recs, got = env.run(nnp + args, stdin=msg, as_user=False, prog="/usr/bin/setpriv")
            assert p.returncode == 75 and b"without the qwrap group" in p.stderr, (args, p)
            assert got == [] and recs == [], (got, recs)
        p, recs, got = env.run(["-t"], stdin=msg)  # with the group: counted, delivered
        assert p.returncode == 0 and len(got) == 1 and one(recs)["action"] == "deliver"
        # Exempt, or no limits: delivered as before, with no record in the log.
        for conf in (b'exempt_uids = [0, %d];' % env.uid, b"limits = ();"):
            env.set_conf(limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "reject";'
                                    b' }') + conf if conf.startswith(b"exempt") else conf)
            p, recs, got = env.run(nnp + ["-t"], stdin=msg, as_user=False, prog="/usr/bin/setpriv")
            assert p.returncode == 0 and len(got) == 1 and recs == [], (conf, p.stderr, recs)
    finally:
        env.reset_conf()
        clear_limits(env)


@test
def limits__notify__one_notice_per_key_and_window_no_injection(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    # The notice runs the real sendmail with PATH only: a script names the record dir.
    sendmail, recdir = held_sendmail(env)
    env.set_conf(limit_conf(b'{ per = "cwd"; max = 1; window = "1h"; action = "reject"; }',
                            b'notify = "admin@example.com";\nsendmail = "%s";' % sendmail.encode()))
    # A working directory whose name tries to add header lines to the notice.
    evil = os.path.join(env.root, "rec", "x\nBcc: victim@example.com\n")
    os.makedirs(evil)
    os.chmod(evil, 0o777)
    e = {"PATH": "/usr/bin:/bin"}
    cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups", env.wrapper, "-t"]
    for i in range(3):
        p = subprocess.run(cmd, input=b"To: a@x.example\nSubject: %d\n\nb\n" % i, cwd=evil,
                           env=e, capture_output=True)
        assert p.returncode == (0 if i == 0 else 69), (i, p.returncode, p.stderr)
    # The first message, and one notice (not two) for the two rejected.
    assert wait_for(lambda: len(standin_records(recdir)) >= 2, 10)
    time.sleep(0.5)
    got = standin_records(recdir)
    notices = [g for g in got if g["stdin"].startswith(b"To: admin@example.com\n")]
    assert len(got) == 2 and len(notices) == 1, [g["stdin"][:80] for g in got]
    head, _, body = notices[0]["stdin"].partition(b"\n\n")
    assert head.split(b"\n") == [b"To: admin@example.com",
                                 b"Subject: qwrap: limit 1 reached for uid %d" % env.uid,
                                 b"Auto-Submitted: auto-generated"], head
    assert b"x?Bcc: victim@example.com?" in body and b"rejected" in body, body
    assert notices[0]["argv"][1:] == [b"-t"]
    clear_limits(env)
    shutil.rmtree(os.path.join(env.root, "rec", "x\nBcc: victim@example.com\n"))


def held_sendmail(env, exit_status=0):
    """The config's real sendmail: a root-owned script that runs the stand-in
    with a known record directory (a release runs it with a bare environment)."""
    recdir = env.new_recdir()
    path = os.path.join(env.root, "bin", "release-sendmail")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nfd1=$(readlink /proc/$$/fd/1); echo \"$fd1\" > %s/fd1\n"
                "cut -d' ' -f6 /proc/$$/stat > %s/sid\n"
                "STANDIN_DIR=%s STANDIN_EXIT=%d exec %s \"$@\"\n" % (
                    recdir, recdir, recdir, exit_status, env.real))
    os.chmod(path, 0o755)
    return path, recdir


def limit_files(env):
    d = os.path.join(env.root, "var", "lib", "qwrap")
    return sorted(f for f in os.listdir(d) if f.startswith("limit-"))


@test
def limits__rule_edited__max_keeps_the_count_window_starts_anew(env):
    # Issue 25: a limit's state is what it counts (per, count, window), not its max or
    # action; a file no rule counts in any more is removed when the rules change.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)

    def send(n):
        out = []
        for _ in range(n):
            p, recs, _ = env.run(["-t"], stdin=b"To: a@example.com\nSubject: e\n\nb\n")
            r = one(recs)
            assert p.returncode == (69 if r["action"] == "reject" else 0), p.stderr
            out.append(r)
        return out
    try:
        env.set_conf(limit_conf(b'{ per = "uid"; max = 3; window = "1h"; action = "hold"; }'))
        assert [r["action"] for r in send(2)] == ["deliver"] * 2
        first = limit_files(env)
        assert len(first) == 1, first
        # max 3 to 4, hold to reject: the count goes on (2 + 2 allowed, the fifth refused).
        env.set_conf(limit_conf(b'{ per = "uid"; max = 4; window = "1h"; action = "reject"; }'))
        rs = send(3)
        assert [r["action"] for r in rs] == ["deliver", "deliver", "reject"], rs
        assert rs[2]["limit"]["counted"] == 4 and rs[2]["limit"]["max"] == 4, rs[2]
        assert limit_files(env) == first
        # Another window: another count.  The old file stays until nothing was counted
        # in it for its window (a keeper with an older config, stopped and resumed by a
        # tenant, must not take a new rule's counts for unused ones); then it goes.
        env.set_conf(limit_conf(b'{ per = "uid"; max = 4; window = "2h"; action = "reject"; }'))
        assert [r["action"] for r in send(1)] == ["deliver"]
        now = limit_files(env)
        assert len(now) == 2 and first[0] in now, (first, now)
        age_state(env, hours=2)
        send(1)
        assert limit_files(env) == [n for n in now if n != first[0]], limit_files(env)
        # No rule at all: every limit file goes, once idle.
        env.reset_conf()
        age_state(env, hours=3)
        send(1)
        assert limit_files(env) == []
    finally:
        env.reset_conf()
        clear_limits(env)


def age_state(env, hours):
    """Time passes for the limit state: its files and stamps changed HOURS earlier."""
    d = os.path.join(env.root, "var", "lib", "qwrap")
    then = time.time() - hours * 3600
    for n in os.listdir(d):
        if n.startswith(("limit-", "rules-")):
            os.utime(os.path.join(d, n), (then, then), follow_symlinks=False)


HOLD_AFTER_ONE = limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "hold"; }')


def hold_one(env, args, msg, **kw):
    """Under a rule that holds all but the first message: one sent, then MSG held.
    Returns its record's id."""
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE)
    env.run(["-t"], stdin=b"Subject: first\n\nb\n")
    p, recs, got = env.run(args, stdin=msg, **kw)
    assert p.returncode == 0 and got == [] and one(recs)["action"] == "hold", p.stderr
    return one(recs)["id"]


def state_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def keeper_of(pid):
    """The keeper of the wrapper PID: the qwrap-sendmail process of its uid that has the
    group effective and started next after it (it is nobody's child: forked twice)."""
    qwrap_gid = grp.getgrnam(GROUP).gr_gid

    def stat_of(p):
        with open("/proc/%s/status" % p) as f:
            st = f.read()
        with open("/proc/%s/stat" % p) as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19])
        field = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
        return (field["Name"].strip(), int(field["Uid"].split()[0]),
                int(field["Gid"].split()[1]), start)
    _, uid, _, start = stat_of(pid)
    best = None
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            name, u, egid, s = stat_of(d)
        except (OSError, KeyError, IndexError, ValueError):
            continue
        if name == "qwrap-sendmail" and u == uid and egid == qwrap_gid and s >= start and \
                int(d) != pid and (best is None or s < best[1]):
            best = (int(d), s)
    return best and best[0]


def gids_of(pid):
    """The real, effective, saved and file-system gids of process PID."""
    with open("/proc/%d/status" % pid) as f:
        return [int(x) for x in next(l for l in f if l.startswith("Gid:")).split()[1:]]


SLOW_HEAD = b"To: r@x.example\nSubject: slow\n\n" + b"x" * 70000   # past the first buffer


def slow_hold(env, recdir):
    """A held message's sender, as the unprivileged user, stopped in read(2) with the hold
    file open after SLOW_HEAD: returns the process (the worker) and its keeper's pid."""
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    p = subprocess.Popen(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                          env.wrapper, "-t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin",
                                                      "STANDIN_DIR": recdir})
    p.stdin.write(SLOW_HEAD)
    p.stdin.flush()
    assert wait_for(lambda: any(f.endswith(".msg.tmp") for f in os.listdir(spool)), 10), \
        "the hold never started"
    assert wait_for(lambda: state_of(p.pid) == "S", 10), state_of(p.pid)
    keeper = keeper_of(p.pid)
    assert keeper, "no keeper"
    return p, keeper


@test
def held__message_streamed_to_the_spool_without_the_group(env):
    # The caller's data is read without the group, not even as the saved gid: the keeper
    # opens the held file and commits it (for the -bs relay too).  Seen in /proc while the
    # wrapper waits for the rest of a held message.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE)
    qwrap_gid = grp.getgrnam(GROUP).gr_gid
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    try:
        env.run(["-t"], stdin=b"Subject: first\n\nb\n")
        start = env.log_size()
        p, keeper = slow_hold(env, env.new_recdir())
        assert gids_of(p.pid) == [env.gid] * 4, gids_of(p.pid)
        # Its keeper has the group, effective.
        assert gids_of(keeper)[:2] == [env.gid, qwrap_gid], gids_of(keeper)
        out, err = p.communicate(b"the rest\n", timeout=30)
        assert p.returncode == 0, err
        r = one(env.records_since(start))
        assert r["action"] == "hold" and spool_ids(env) == [r["id"]], r
        with open(os.path.join(spool, r["id"] + ".msg"), "rb") as f:
            assert split_header(f.read())[1] == SLOW_HEAD + b"the rest\n"
    finally:
        env.reset_conf()
        clear_limits(env)


@test
def split__keeper_or_worker_killed_mid_hold__nothing_half_held_no_torn_record(env):
    # The caller may kill either part (both run with its uid).  The worker killed while it
    # streams a held message: its keeper sees the socket close, removes the hold file and
    # exits, recording nothing (the caller was never told it was held).  The keeper killed
    # instead: the worker cannot commit, so the caller is told the message was not taken
    # (never held in half, never let through uncounted), and the log keeps whole lines.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE)
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    try:
        env.run(["-t"], stdin=b"Subject: first\n\nb\n")
        start = env.log_size()
        recdir = env.new_recdir()
        p, keeper = slow_hold(env, recdir)
        p.kill()
        p.wait(timeout=10)
        assert wait_for(lambda: not os.path.exists("/proc/%d" % keeper), 10), \
            "the keeper outlived its worker"
        assert os.listdir(spool) == [] and env.log_size() == start, os.listdir(spool)

        p, keeper = slow_hold(env, recdir)
        os.kill(keeper, signal.SIGKILL)
        out, err = p.communicate(b"the rest\n", timeout=30)
        assert p.returncode not in (0, None) and b"message not sent" in err, (p.returncode, err)
        assert os.listdir(spool) == [] or all(f.endswith(".tmp") for f in os.listdir(spool))
        assert standin_records(recdir) == []
        with open(env.log, "rb") as f:
            f.seek(start)
            data = f.read()
        assert data == b"" or all(json.loads(l) for l in data.splitlines()), data[-300:]
    finally:
        env.reset_conf()
        clear_limits(env)


@test
def pump__holds_only_its_pipes_not_the_log(env):
    # A message longer than the first buffer, from a pipe still open: the pump process that
    # streams it on reads the caller's data, so it keeps no descriptor of the wrapper's but
    # stdin, /dev/null on 1 and 2, the pipe to the real sendmail and its pidfd.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    uid = pwd.getpwnam(USER).pw_uid
    p = subprocess.Popen(["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                          env.wrapper, "-t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin",
                                                      "STANDIN_DIR": env.new_recdir()})
    try:
        p.stdin.write(b"To: r@x.example\nSubject: long\n\n" + b"x" * 200000)
        p.stdin.flush()

        def pumps():
            out = []
            for d in os.listdir("/proc"):
                try:
                    with open("/proc/%s/status" % d) as f:
                        st = f.read()
                except (OSError, ValueError):
                    continue
                if st.startswith("Name:\tqwrap-sendmail\n") and "\nUid:\t%d\t" % uid in st:
                    out.append(int(d))
            return out
        assert wait_for(lambda: len(pumps()) == 1, 10), pumps()
        fds = {}
        fddir = "/proc/%d/fd" % pumps()[0]
        for n in os.listdir(fddir):
            fds[int(n)] = os.readlink(os.path.join(fddir, n))
        assert fds[1] == fds[2] == "/dev/null" and fds[0].startswith("pipe:"), fds
        rest = sorted(v for k, v in fds.items() if k > 2)
        assert len([v for v in rest if v.startswith("pipe:")]) == 1, fds
        assert all(v.startswith("pipe:") or v == "anon_inode:[pidfd]" for v in rest), fds
    finally:
        p.communicate(b"end\n", timeout=30)
    assert p.returncode == 0, p.stderr


@test
def held__release_as_the_sender__byte_identical_failure_keeps_it(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    rule = HOLD_AFTER_ONE
    body = b"X: y\n\n" + os.urandom(200000)  # beyond the first buffer: streamed to the spool
    msg = b"To: r@x.example\nSubject: keep me\n" + body
    held_id = hold_one(env, ["-t", "-fbounce@x.example"], msg, cwd=os.path.join(env.root, "rec"))
    assert spool_ids(env) == [held_id]
    listing = qwrap_tool(env, "held").stdout
    assert held_id.encode() in listing and b"keep me" in listing, listing
    # Piped: tab-separated, no heading, the user's name beside the uid.
    fields = listing.splitlines()[0].split(b"\t")
    assert len(fields) == 7 and fields[0] == held_id.encode(), listing
    assert (fields[2], fields[3]) == (str(env.uid).encode(), USER.encode()), fields
    # On a terminal: a heading, and the columns under it.
    out, status = reports.on_pty(env, ["held"], 160)
    text = reports.terminal_text(out, "…").splitlines()
    assert status == 0 and text[0].startswith("ID ") and len(text) == 2, text
    assert text[1].index("keep me") == text[0].index("SUBJECT"), text
    assert text[1].split()[3] == USER, text
    # A release whose real sendmail fails keeps it, and says so.
    failing, _ = held_sendmail(env, exit_status=75)
    env.set_conf(rule + b'sendmail = "%s";' % failing.encode())
    start = env.log_size()
    p = qwrap_tool(env, "release", held_id)
    assert p.returncode == 75 and b"still held" in p.stderr, (p.returncode, p.stderr)
    assert spool_ids(env) == [held_id]
    assert one(env.records_since(start))["held_id"] == held_id
    # Released: as the sender's uid and gid, with the original argv, byte for byte.
    good, recdir = held_sendmail(env)
    env.set_conf(rule + b'sendmail = "%s";' % good.encode())
    start = env.log_size()
    # Root's shell has a root-only file open: none of it reaches the sender's process.
    secret = os.open(os.path.join(env.root, "root-only"), os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                     0o600)
    try:
        p = qwrap_tool(env, "release", "--uid", str(env.uid), pass_fds=(secret,))
    finally:
        os.close(secret)
    assert p.returncode == 0, p.stderr
    s = one(standin_records(recdir))
    assert [f["fd"] for f in s["fds"]] == [0, 1, 2], s["fds"]
    assert (s["ruid"], s["euid"], s["rgid"], s["egid"]) == (env.uid, env.uid, env.gid, env.gid), s
    # In a session of its own, with nothing of root's terminal.
    with open(os.path.join(recdir, "sid")) as f:
        assert int(f.read()) != os.getsid(0)
    with open(os.path.join(recdir, "fd1")) as f:
        fd1 = f.read().strip()
        assert fd1 == "/dev/null", fd1
    assert s["argv"][1:] == [b"-t", b"-fbounce@x.example"]
    field, rest = split_header(s["stdin"])
    assert rest == msg and header_values(field)["id"] == held_id
    r = one(env.records_since(start))
    assert r["action"] == "release" and r["held_id"] == held_id and r["uid"] == env.uid
    assert spool_ids(env) == []
    assert [f for f in os.listdir(os.path.join(env.root, "var", "spool", "qwrap"))
            if not f.startswith(".")] == []
    # discard: gone, with its record.
    env.set_conf(rule)
    env.run(["-t"], stdin=b"Subject: spam\n\nb\n")
    (spam,) = spool_ids(env)
    start = env.log_size()
    assert qwrap_tool(env, "discard", "--script", "*").returncode != 0  # no script: no match
    p = qwrap_tool(env, "discard", "--all")
    assert p.returncode == 0 and spool_ids(env) == []
    r = one(env.records_since(start))
    assert r["action"] == "discard" and r["held_id"] == spam
    # What a sender killed mid-hold left, an hour on, is removed and said; newer is kept.
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    old_tmp = os.path.join(spool, "20261126000000.00000000000000bb.msg.tmp")
    orphan = os.path.join(spool, "20261126000000.00000000000000cc.msg")
    young = os.path.join(spool, "20261126000000.00000000000000dd.msg.tmp")
    for path in (old_tmp, orphan, young):
        with open(path, "wb") as f:
            f.write(b"Subject: half\n")
    for path in (old_tmp, orphan):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    p = qwrap_tool(env, "held")
    assert p.returncode == 0 and p.stderr.count(b"removed") == 2, p.stderr
    assert not os.path.exists(old_tmp) and not os.path.exists(orphan) and os.path.exists(young)
    os.unlink(young)
    # An envelope that names root, written by someone else, is never run as root.
    fid = "20261126000000.00000000000000aa"
    for name, data in ((fid + ".env", b"id=%s\0ts=1\0uid=0\0gid=0\0argv=sendmail\0argv=-t\0"
                        % fid.encode()), (fid + ".msg", b"Subject: x\n\nb\n")):
        path = os.path.join(spool, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, env.uid, env.gid)
    good, recdir = held_sendmail(env)
    env.set_conf(rule + b'sendmail = "%s";' % good.encode())
    p = qwrap_tool(env, "release", "--all")
    assert p.returncode == 66 and b"not written by the uid" in p.stderr, (p.returncode, p.stderr)
    assert standin_records(recdir) == []
    clear_limits(env)


@test
def held__released_into_the_real_qmail__queued_as_the_sender_byte_for_byte(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE)
    msg = b"To: r@x.example\nSubject: keep me\n\n" + os.urandom(200000)
    args = ["-t", "-fbounce@x.example"]
    _, _, direct = env.send(args, msg, direct=True)
    p, recs, got = env.send(["-t"], b"To: a@x.example\nSubject: first\n\nb\n")
    assert p.returncode == 0 and len(got) == 1
    p, recs, got = env.send(args, msg)
    assert p.returncode == 0 and got == [] and one(recs)["action"] == "hold", p.stderr
    held_id = one(recs)["id"]
    mark = env.qmail.mark()
    p = qwrap_tool(env, "release", held_id)
    assert p.returncode == 0 and spool_ids(env) == [], p.stderr
    q, d = one(env.qmail.since(mark)), one(direct)
    # Queued by qmail as the sender, not root, with the sender's envelope.
    assert q.uid == q.received_uid == env.uid, q
    assert os.stat(env.qmail.mess_path(q.inode)).st_gid == env.gid
    assert (q.sender, q.rcpt) == (d.sender, d.rcpt) == (b"bounce@x.example", [b"r@x.example"])
    field, rest = cut_field(q.body)
    assert header_values(field)["id"] == held_id
    assert qmail_fresh_masked(rest) == qmail_fresh_masked(d.body)
    clear_limits(env)


@test
def hostile__c1_and_bidi_controls__never_raw_in_the_log_or_on_roots_terminal(env):
    # CSI as the C1 control U+009B, a right-to-left override, an isolate, and a raw
    # 0x9b byte: in a Subject, a script's directory and argv.  jq, tail and qwrap would
    # put them on root's terminal as they were written.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    evil = "\u009b2J\u202egpj.php\u2066"
    d = os.path.join(env.root.encode(), b"c1", evil.encode())
    os.makedirs(d, exist_ok=True)
    for p in (os.path.dirname(d), d):
        os.chmod(p, 0o755)
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE)
    env.run(["-t"], stdin=b"To: a@x.example\nSubject: first\n\nb\n")
    start = env.log_size()
    msg = b"To: a@x.example\nSubject: pay " + evil.encode() + b" \x9b31m now\n\nb\n"
    p, recs, _ = env.run(["-t", "-f", evil], stdin=msg, cwd=d)
    r = one(recs)
    assert p.returncode == 0 and r["action"] == "hold", (p.returncode, p.stderr)
    with open(env.log, "rb") as f:
        f.seek(start)
        raw = f.read()
    outs = [raw] + [qwrap_tool(env, *a).stdout for a in (
        ["held"], ["held", "--json"], ["grep", "--id", r["id"]],
        ["grep", "--id", r["id"], "--json"], ["top", "--by", "cwd"])]
    for n, out in enumerate(outs):
        for bad in (b"\xc2\x9b", b"\xe2\x80\xae", b"\xe2\x81\xa6", b"\x9b"):
            assert bad not in out, (n, bad, out[:600])
    # Escaped, not lost: the record still says exactly what was sent.
    assert r["cwd"].endswith("/c1/" + evil) and r["sender"] == evil, r
    assert r["subject"] == "pay " + evil + " \\x9b31m now", r["subject"]
    assert b"\\u009b2J\\u202egpj.php\\u2066" in raw, raw[:400]
    clear_limits(env)


@test
def held__sixteen_holds_kept_open__the_spool_cap_holds(env):
    # Finding 5: a hold's room was fixed when it opened, so 16 holds kept open took a
    # spool of spool_max_mb = 8 to 111 MB.  Now each looks again every 256 KiB it grows.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(HOLD_AFTER_ONE + b"spool_max_mb = 8;")
    env.run(["-t"], stdin=b"Subject: first\n\nb\n")
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    start = env.log_size()
    procs = []
    for _ in range(16):
        procs.append(subprocess.Popen(
            ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups", env.wrapper, "-t"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin"}))
    chunk = b"Subject: big\n\n" + b"x" * (1 << 20)
    try:
        for _ in range(4):   # 4 MiB each, 64 MiB asked for in all, the holds all open
            for p in procs:
                try:
                    p.stdin.write(chunk)
                    p.stdin.flush()
                except BrokenPipeError:
                    pass     # refused: the spool is full
            chunk = b"x" * (1 << 20)
        time.sleep(0.5)
        held = sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool))
        assert held <= 8 * 2**20 + 16 * 256 * 1024, held
    finally:
        for p in procs:
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
        codes = [p.wait(timeout=60) for p in procs]
        errs = [p.stderr.read() for p in procs]
    assert set(codes) <= {0, 69} and codes.count(69) >= 8, (codes, errs[:2])
    recs = env.records_since(start)
    assert sorted(r["action"] for r in recs) == sorted(
        "hold" if c == 0 else "reject" for c in codes), (codes, recs)
    assert all("spool is full" in r["error"] for r in recs if r["action"] == "reject"), recs
    held = sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool))
    assert held <= 8 * 2**20 + 16 * 256 * 1024, held
    clear_limits(env)


@test
def held__forged_fields_past_64k__renamed_in_the_spool(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    msg, want = long_header_section(65536 - 5)
    held_id = hold_one(env, ["-t"], msg)
    good, recdir = held_sendmail(env)
    env.set_conf(HOLD_AFTER_ONE + b'sendmail = "%s";' % good.encode())
    p = qwrap_tool(env, "release", held_id)
    assert p.returncode == 0, p.stderr
    field, rest = split_header(one(standin_records(recdir))["stdin"])
    assert rest == want and header_values(field)["id"] == held_id, rest[65400:65700]
    clear_limits(env)
    env.reset_conf()


@test
def limits__stopped_or_killed_sender_and_corrupt_state__nobody_else_blocked(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    clear_limits(env)
    env.set_conf(limit_conf(b'{ per = "uid"; max = 3; window = "1h"; action = "hold"; }',
                            b"exempt_uids = [];"))
    msg = b"Subject: s\n\nb\n"
    state_dir = os.path.join(env.root, "var", "lib", "qwrap")
    # The keeper killed at its slot write (root, traced: the state file is root's to
    # write); the first pwrite is the new file's head, into a file of its own.  The
    # message is refused, to be sent again: never let through uncounted.
    p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64",
                        "-e", "inject=pwrite64:signal=SIGKILL:when=2", env.wrapper, "-t"],
                       input=msg, capture_output=True, env={"PATH": "/usr/bin:/bin",
                                                           "STANDIN_SINK": "1"})
    assert p.returncode == 75 and b"limits cannot be counted" in p.stderr, (p.returncode,
                                                                            p.stderr)
    # The state is whole: three more sends go, the fourth is held.
    outcomes = [one(env.run(["-t"], stdin=msg, as_user=False)[1])["action"] for _ in range(4)]
    assert outcomes == ["deliver"] * 3 + ["hold"], outcomes
    (state,) = [os.path.join(state_dir, f) for f in os.listdir(state_dir)
                if f.startswith("limit-")]
    # Stopped (SIGSTOP) at its write, holding the lock: its own key waits the
    # bound, then holds; another uid does not wait; SIGCONT, and it finishes.
    os.unlink(state)
    recdir = env.new_recdir()
    msgfile = os.path.join(env.root, "stop.msg")
    with open(msgfile, "wb") as f:
        f.write(msg)
    with open(msgfile, "rb") as f:
        stopped = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e",
                                    "trace=pwrite64", "-e",
                                    "inject=pwrite64:signal=SIGSTOP:when=2", env.wrapper, "-t"],
                                   stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir,
                                        # LeakSanitizer cannot work under ptrace (SAN builds).
                                        "ASAN_OPTIONS": "detect_leaks=0"})

    def stopped_pid():
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read()
            except OSError:
                continue
            if "(qwrap-sendmail)" in st and st.rsplit(")", 1)[1].split()[0] in ("t", "T"):
                return int(pid)
        return None
    assert wait_for(lambda: stopped_pid() is not None, 10), "the sender did not stop"
    try:
        t0 = time.time()
        _, recs, got = env.run(["-t"], stdin=msg, as_user=False)
        assert time.time() - t0 < 6 and one(recs)["action"] == "hold"
        assert "held by another sender" in one(recs)["error"]
        t0 = time.time()
        p, recs, got = env.run(["-t"], stdin=msg)
        assert time.time() - t0 < 2.5 and one(recs)["action"] == "deliver"
    finally:
        pid = stopped_pid()
        if pid:
            os.kill(pid, signal.SIGCONT)
        _, errout = stopped.communicate(timeout=20)
    assert stopped.returncode == 0 and len(standin_records(recdir)) == 1, \
        (stopped.returncode, errout, os.listdir(recdir))
    # It counted its message: two more go, then the limit of 3 holds.
    outcomes = [one(env.run(["-t"], stdin=msg, as_user=False)[1])["action"] for _ in range(3)]
    assert outcomes == ["deliver"] * 2 + ["hold"], outcomes
    # Corrupt: counted as reached, reported, not reset.
    with open(state, "r+b") as f:
        f.seek(600)
        f.write(b"\xff" * 32)
    _, recs, got = env.run(["-t"], stdin=msg, as_user=False)
    assert one(recs)["action"] == "hold" and "corrupt" in one(recs).get("error", ""), one(recs)
    # Cut to nothing (finding 7): the same, never a count started again.
    clear_limits(env)
    for _ in range(3):
        assert one(env.run(["-t"], stdin=msg)[1])["action"] == "deliver"
    (state,) = [os.path.join(state_dir, f) for f in os.listdir(state_dir)
                if f.startswith("limit-")]
    os.truncate(state, 0)
    _, recs, got = env.run(["-t"], stdin=msg)
    assert one(recs)["action"] == "hold" and "corrupt" in one(recs).get("error", ""), one(recs)
    assert [f for f in os.listdir(state_dir) if f.startswith(".new-")] == []
    # A full spool: hold falls back to reject, nothing kept, the caller told.
    clear_limits(env)
    env.set_conf(limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "hold"; }',
                            b"spool_max_mb = 1;"))
    env.run(["-t"], stdin=msg)
    p, recs, got = env.run(["-t"], stdin=b"Subject: big\n\n" + b"x" * (2 << 20))
    assert p.returncode == 69 and got == [] and one(recs)["action"] == "reject", p.returncode
    assert "spool is full" in one(recs)["error"]
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    assert os.listdir(spool) == []
    # A hold under way takes its room: another sender's partial file of 900 KB leaves too
    # little for 300 KB.  Left an hour ago by a killed sender, it is removed by the next hold.
    partial = os.path.join(spool, "20261126000000.00000000000000ee.msg.tmp")
    with open(partial, "wb") as f:
        f.write(b"x" * 900000)
    os.chown(partial, env.uid, grp.getgrnam(GROUP).gr_gid)
    m300 = b"Subject: 300k\n\n" + b"z" * 300000
    p, recs, got = env.run(["-t"], stdin=m300)
    assert p.returncode == 69 and "spool is full" in one(recs)["error"], (p.returncode, recs)
    # A message whose envelope never came, left as long ago, goes the same way.
    orphan = os.path.join(spool, "20261126000000.00000000000000ff.msg")
    with open(orphan, "wb") as f:
        f.write(b"Subject: orphan\n\nb\n")
    for path in (partial, orphan):
        os.chown(path, env.uid, grp.getgrnam(GROUP).gr_gid)
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    p, recs, got = env.run(["-t"], stdin=m300)
    assert p.returncode == 0 and one(recs)["action"] == "hold", (p.returncode, recs)
    assert not os.path.exists(partial) and not os.path.exists(orphan)
    assert len(spool_ids(env)) == 1
    # No lock among senders: one that stops while it holds (here a lock taken on the spool,
    # where holds used to commit) keeps nobody else's mail from being held.
    d = os.open(spool, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(d, fcntl.LOCK_EX)
        t0 = time.time()
        p, recs, got = env.run(["-t"], stdin=b"Subject: small\n\nb\n")
        assert p.returncode == 0 and one(recs)["action"] == "hold" and time.time() - t0 < 2
    finally:
        os.close(d)
    for f in os.listdir(spool):
        os.unlink(os.path.join(spool, f))
    # Many at once: the cap holds for what is held, the rest are rejected, none lost.
    clear_limits(env)
    big = os.path.join(env.root, "big.msg")
    with open(big, "wb") as f:
        f.write(b"Subject: big\n\n" + b"y" * 300000)
    recdir = env.new_recdir()
    start = env.log_size()
    # Each stalls mid-message, so that all are streaming into the spool at once.
    cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups", "sh", "-c",
           "(head -c 100000 %s; sleep 1; tail -c +100001 %s) | %s -t" % (big, big, env.wrapper)]
    procs = [subprocess.Popen(cmd, env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir},
                              stderr=subprocess.DEVNULL) for _ in range(12)]
    codes = [p.wait(timeout=120) for p in procs]
    recs = env.records_since(start)
    held = [r for r in recs if r["action"] == "hold"]
    spool = os.path.join(env.root, "var", "spool", "qwrap")
    size = sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool))
    assert size <= 1 << 20 and len(held) == len(spool_ids(env)) == codes.count(0) - 1, \
        (size, len(held), codes)
    # How many are held depends on how their writes interleave (holds that look at the
    # spool together each count the others' partial files): anywhere from none to three.
    assert codes.count(0) + codes.count(69) == 12 and len(held) <= 3, codes
    clear_limits(env)


# ---------------------------------------------------------------- concurrency

@test
def concurrency__64_senders_x_100__every_record_whole(env):
    per = 20 if env.san else 100
    msg = b"To: a@example.com\nSubject: s\n\nbody\n"
    recdir = env.new_recdir()
    start = env.log_size()
    script = "i=0; while [ $i -lt %d ]; do %s -t < %s || exit 1; i=$((i+1)); done" % (
        per, env.wrapper, os.path.join(env.root, "c.msg"))
    with open(os.path.join(env.root, "c.msg"), "wb") as f:
        f.write(msg)
    cmd = ["sh", "-c", script]
    if env.is_root:
        cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups"] + cmd
    e = {"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir}
    procs = [subprocess.Popen(cmd, env=e) for _ in range(64)]
    assert all(p.wait(timeout=1200) == 0 for p in procs)
    with open(env.log, "rb") as f:
        f.seek(start)
        data = f.read()
    lines = data.split(b"\n")
    assert lines[-1] == b""
    recs = [json.loads(l) for l in lines[:-1]]
    assert len(recs) == 64 * per, len(recs)
    assert len({r["id"] for r in recs}) == 64 * per
    assert all(r["action"] == "deliver" and r["rcpt"] == ["a@example.com"] for r in recs)
    got = os.listdir(recdir)
    assert len(got) == 64 * per, len(got)


@test
def install__make_uninstall_while_enabled__reverts_first_says_what_it_kept(env):
    if not env.is_root:
        return "skipped: needs root"
    make = env.make
    sw = Swap(env)
    try:
        assert sw.enable().returncode == 0
        p = subprocess.run(make + ["uninstall"], capture_output=True)
        assert p.returncode == 0, p.stderr
        out = p.stdout.decode()
        assert "capture is on: qwrap-install --revert first" in out, out
        # The target is the original again, the same file; the programs are gone.
        assert not os.path.islink(sw.target) and os.stat(sw.target).st_ino == sw.ino
        assert not os.path.exists(env.wrapper) and not os.path.exists(sw.installer)
        assert "removed " + env.wrapper in out, out
        # What it kept, each with the command that removes it.
        assert "chattr -a %s" % env.log in out and "rm -r " + os.path.dirname(env.conf) in out
        assert os.path.exists(env.log) and os.path.exists(env.conf)
        # make install says what it put where, and the next step.
        p = subprocess.run(make + ["install"], capture_output=True)
        assert p.returncode == 0, p.stderr
        assert b"installed: " + env.wrapper.encode() in p.stdout, p.stdout
        assert b"next: qwrap-install --verify" in p.stdout, p.stdout
        return "reverted, removed, kept and said so; installed again"
    finally:
        if not os.path.exists(env.wrapper):
            subprocess.run(make + ["install"], check=True, stdout=subprocess.DEVNULL)
        sw.close()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realqmail  # noqa: E402  (notqmail, built from ../shared/vendor)
import reports  # noqa: E402  (qwrap grep/top/tail)
TESTS.extend(reports.TESTS)
import scan  # noqa: E402  (qwrap scan)
TESTS.extend(scan.TESTS)
import smtp  # noqa: E402  (sendmail -bs, relayed)
TESTS.extend(smtp.TESTS)
import sapi  # noqa: E402  (which script, per PHP SAPI: php-fpm, mod_php, ...)
TESTS.extend(sapi.TESTS)
import origin  # noqa: E402  (where it came from: cron, at, ssh, a terminal, a daemon)
TESTS.extend(origin.TESTS)
import freeze  # noqa: E402  (qwrap freeze and thaw)
TESTS.extend(freeze.TESTS)
import purge  # noqa: E402  (qwrap purge and restore)
TESTS.extend(purge.TESTS)
import fleet  # noqa: E402  (records through rsyslog; the central view)
TESTS.extend(fleet.TESTS)
import phpscan  # noqa: E402  (where PHP's mail() leads: qwrap-install --verify, --status)
TESTS.extend(phpscan.TESTS)
import package  # noqa: E402  (the .deb and the RPM, installed on this machine)
TESTS.extend(package.TESTS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--san", action="store_true")
    ap.add_argument("-k", help="run only tests whose name contains this")
    args = ap.parse_args()
    env = Env(args.build, args.san)
    passed = failed = skipped = 0
    try:
        for fn in TESTS:
            if args.k and args.k not in fn.__name__:
                continue
            env.reset_conf()
            t0 = time.time()
            try:
                note = fn(env)
            except Skip as e:
                note = "skipped: %s" % e
            except Exception as e:  # a failed check or a crash: both are failures
                failed += 1
                print("FAIL %s: %s" % (fn.__name__, e))
                traceback.print_exc(limit=3)
                continue
            if note and note.startswith("skipped"):
                skipped += 1
                print("skip %s: %s" % (fn.__name__, note))
            else:
                passed += 1
                print("ok   %s (%.1fs)%s" % (fn.__name__, time.time() - t0,
                                             " — " + note if note else ""))
    finally:
        env.cleanup()
    print("integration%s: %d passed, %d failed, %d skipped" % (
        " (SAN)" if args.san else "", passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
