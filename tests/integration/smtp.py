"""sendmail -bs through qwrap's relay (issue 7): real clients, into the real qmail-smtpd
and, for what it cannot show or must be made to do (pipelined replies, bare LF, a
server that closes first, failures on request), the stand-in's model of it."""
import grp
import hashlib
import json
import os
import random
import re
import select
import subprocess
import tempfile
import threading
import time

import __main__ as run  # run.py's helpers: one, split_header, header_values

TESTS = []


def smtp_test(fn):
    TESTS.append(fn)
    return fn


def session(*msgs, ehlo=True):
    out = [b"EHLO client\r\n" if ehlo else b"HELO client\r\n"]
    for frm, rcpts, data in msgs:
        out.append(b"MAIL FROM:<%s>\r\n" % frm)
        out += [b"RCPT TO:<%s>\r\n" % r for r in rcpts]
        out.append(b"DATA\r\n")
        out.append(data)
    out.append(b"QUIT\r\n")
    return b"".join(out)


# ---------------------------------------------------------------- helpers

SIGCHLD = 17


def stuff(data):
    """DATA as a client sends it: a dot before every line that starts with one, and the end line.
    DATA must end in a line end (the server stores all before the end line, that included)."""
    assert data == b"" or data.endswith(b"\n")
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def as_user(env, cmd, launch=None):
    if launch is not None:
        cmd = [env.launch] + list(launch) + ["--"] + cmd
    if env.is_root:
        cmd = ["setpriv", "--reuid=" + run.USER, "--regid=" + run.USER, "--init-groups"] + cmd
    return cmd


def check_stored(m, rec, data):
    """A message the stand-in stored: qwrap's header (one line, REC's id) first, then DATA."""
    field, rest = run.split_header(m["data"])
    assert run.header_values(field)["id"] == rec["id"], (field, rec["id"])
    assert rest == data, "stored data differs: %d bytes sent, %d stored; first difference at %s" % (
        len(data), len(rest), next((i for i, (a, b) in enumerate(zip(data, rest)) if a != b),
                                   min(len(data), len(rest))))
    assert m["data"].count(b"\n" + run.HEADER + b":") == 0, "a second header named like qwrap's"
    return field


def all_messages(got):
    return [m for s in got for m in s["messages"]]


def need_root(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    return None


class Client:
    """A lock-step SMTP client on the wrapper's -bs: it waits for every reply and sends message
    data only after a 354, as a well-behaved client does."""

    def __init__(self, env, extra_env=None, launch=None, timeout=60):
        self.env = env
        self.recdir = env.new_recdir()
        e = {"PATH": "/usr/bin:/bin", "STANDIN_DIR": self.recdir}
        e.update(extra_env or {})
        self.start = env.log_size()
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(as_user(env, [env.wrapper, "-bs"], launch),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                  env=e, cwd=env.root)
        self.deadline = time.time() + timeout
        self.buf = b""
        self.eof = False
        self.broken = False
        self.transcript = b""
        self.greeting = self.reply()

    def reply(self):
        """One whole reply, all its lines; what there is (maybe b"") when the output ends."""
        out = b""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                out += line
                if line[3:4] != b"-":
                    self.transcript += out
                    return out
                continue
            if self.eof:
                out += self.buf
                self.buf = b""
                self.transcript += out
                return out
            left = self.deadline - time.time()
            if left <= 0:
                self.kill("no reply in time; so far %r" % (self.transcript + out + self.buf))
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True

    def kill(self, why):
        """Ends a hung session (the stand-in then sees its input end) and fails the test."""
        self.p.kill()
        self.p.wait()
        raise AssertionError(why)

    def send(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            self.broken = True

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def message(self, sender, rcpts, data):
        """MAIL, RCPT..., DATA; DATA (unstuffed, ends in CRLF) goes only after a 354.
        Returns the replies, the last one the answer to the message or to DATA."""
        out = [self.cmd(b"MAIL FROM:<%s>" % sender)]
        out += [self.cmd(b"RCPT TO:<%s>" % r) for r in rcpts]
        out.append(self.cmd(b"DATA"))
        if out[-1].startswith(b"354"):
            self.send(stuff(data))
            out.append(self.reply())
        return out

    def finish(self, quit=True):
        """QUIT (unless told not to), end of input; returns (exit status, stderr, records,
        stand-in records)."""
        if quit and not self.eof:
            self.quit_reply = self.cmd(b"QUIT")
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        while not self.eof:
            left = self.deadline - time.time()
            if left <= 0:
                self.kill("the relay did not end: %r" % self.transcript)
            ready, _, _ = select.select([self.p.stdout], [], [], left)
            if ready:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                self.transcript += chunk
                self.eof = not chunk
        code = self.p.wait(timeout=max(1, self.deadline - time.time()))
        self.p.stdout.close()
        self.err.seek(0)
        err = self.err.read()
        self.err.close()
        return code, err, self.env.records_since(self.start), run.standin_records(self.recdir)


def limits_conf(env, action, most=2, extra=b""):
    """One uid rule, MOST an hour, on fresh state; returns the config's text for it."""
    run.clear_limits(env)
    conf = run.limit_conf(b'{ per = "uid"; max = %d; window = "1h"; action = "%s"; }'
                          % (most, action.encode()), extra)
    env.set_conf(conf)
    return conf


def user_dir(env, name):
    """A directory the unprivileged user owns, under the private root."""
    d = os.path.join(env.root, name)
    os.makedirs(d, exist_ok=True)
    if env.is_root:
        os.chown(d, env.uid, env.gid)
    return d


def user_file(env, path, data):
    with open(path, "wb") as f:
        f.write(data)
    if env.is_root:
        os.chown(path, env.uid, env.gid)
    return path


# ---------------------------------------------------------------- hand-written sessions

@smtp_test
def smtp__pipelined_two_messages__header_record_each(env):
    m1 = b"Subject: one\r\nFrom: a@b\r\n\r\nbody 1\r\n..dot\r\n.\r\n"
    m2 = b"Subject: two\r\n\r\nbody 2\r\n.\r\n"
    p, recs, got = env.run(["-bs"], stdin=session((b"a@b", [b"c@d", b"reject@d"], m1),
                                                   (b"", [b"e@f"], m2)))
    assert p.returncode == 0, (p.returncode, p.stderr)
    s = run.one(got)
    msgs = s["messages"]
    assert len(msgs) == 2, (msgs, p.stdout)
    assert len(recs) == 2, recs
    for m, r, orig in zip(msgs, recs, (m1, m2)):
        field, rest = run.split_header(m["data"])
        assert run.header_values(field)["id"] == r["id"], (field, r)
        unstuffed = orig[:-3].replace(b"\r\n..", b"\r\n.")
        assert rest == unstuffed, (rest, unstuffed)
        assert r["mode"] == "smtp" and r["action"] == "deliver", r
    assert recs[0]["rcpt"] == ["c@d"] and recs[0]["sender"] == "a@b", recs[0]
    assert recs[0]["subject"] == "one"
    assert recs[1]["rcpt"] == ["e@f"] and recs[1]["sender"] == "", recs[1]
    assert b"553 " in p.stdout and p.stdout.count(b"250 ok 1700000000") == 2, p.stdout


@smtp_test
def smtp__pipelined_batch_forty_messages_and_noop__replies_in_order(env):
    # One write of the whole session: every command, every message; the relay must keep
    # replies in order and give each message its own header and record.
    n = 40
    datas = [b"Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n" % (i, i, i)
             for i in range(n)]
    stdin = [b"EHLO c\r\n"]
    for i, d in enumerate(datas):
        stdin += [b"MAIL FROM:<s%d@x>\r\n" % i, b"RCPT TO:<r%d@x>\r\n" % i, b"NOOP\r\n",
                  b"DATA\r\n", stuff(d)]
    stdin.append(b"QUIT\r\n")
    p, recs, got = env.run(["-bs"], stdin=b"".join(stdin))
    assert p.returncode == 0, p.stderr
    want = b"220 standin ESMTP\r\n250-standin\r\n250-PIPELINING\r\n250 8BITMIME\r\n" + b"".join(
        b"250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok 1700000000 qp %d\r\n" % (i + 1)
        for i in range(n)) + b"221 standin\r\n"
    assert p.stdout == want, p.stdout
    s = run.one(got)
    msgs = s["messages"]
    assert len(msgs) == len(recs) == n, (len(msgs), recs)
    for i, (m, r, d) in enumerate(zip(msgs, recs, datas)):
        check_stored(m, r, d)
        assert (r["sender"], r["rcpt"], r["subject"], r["message_id"]) == (
            "s%d@x" % i, ["r%d@x" % i], "m%d" % i, "<m%d@x>" % i), r
    assert len({r["id"] for r in recs}) == n
    # The real sendmail runs as the caller, qwrap's group dropped, with stdio only: any other
    # end of its pipes left open would keep it from ever seeing its input end.
    assert [f["fd"] for f in s["fds"]] == [0, 1, 2], s["fds"]
    assert s["fds"][0]["target"].startswith("pipe:") and s["fds"][1]["target"].startswith("pipe:")
    if env.is_root:
        assert (s["ruid"], s["euid"], s["rgid"], s["egid"], s["sgid"]) == (
            env.uid, env.uid, env.gid, env.gid, env.gid), s
        assert grp.getgrnam(run.GROUP).gr_gid not in s["groups"], s["groups"]


@smtp_test
def smtp__rset_between_transactions__reset_recipients_not_in_record(env):
    d1 = b"Subject: after rset\r\n\r\nb\r\n"
    d2 = b"Subject: after mail again\r\n\r\nb\r\n"
    stdin = (b"EHLO c\r\n"
             b"MAIL FROM:<gone@x>\r\nRCPT TO:<old1@x>\r\nRCPT TO:<old2@x>\r\nRSET\r\n"
             b"MAIL FROM:<kept@x>\r\nRCPT TO:<new@x>\r\nDATA\r\n" + stuff(d1) +
             # a transaction reset, then DATA without one: refused, no record
             b"MAIL FROM:<gone2@x>\r\nRCPT TO:<old3@x>\r\nRSET\r\nDATA\r\n"
             # MAIL again without RSET starts a new transaction too
             b"MAIL FROM:<gone3@x>\r\nRCPT TO:<old4@x>\r\nMAIL FROM:<kept2@x>\r\n"
             b"RCPT TO:<new2@x>\r\nDATA\r\n" + stuff(d2) + b"QUIT\r\n")
    p, recs, got = env.run(["-bs"], stdin=stdin)
    assert p.returncode == 0, p.stderr
    assert b"503 MAIL first" in p.stdout, p.stdout
    msgs = run.one(got)["messages"]
    assert len(msgs) == 2 and len(recs) == 2, (msgs, recs, p.stdout)
    assert (recs[0]["sender"], recs[0]["rcpt"], recs[0]["rcpt_count"]) == ("kept@x", ["new@x"], 1)
    assert (recs[1]["sender"], recs[1]["rcpt"], recs[1]["rcpt_count"]) == ("kept2@x", ["new2@x"], 1)
    assert msgs[0]["rcpt"] == ["new@x"] and msgs[1]["rcpt"] == ["new2@x"], msgs
    check_stored(msgs[0], recs[0], d1)
    check_stored(msgs[1], recs[1], d2)
    # Lock-step, the same.
    c = Client(env)
    c.cmd(b"EHLO c")
    c.cmd(b"MAIL FROM:<gone@x>")
    c.cmd(b"RCPT TO:<old@x>")
    assert c.cmd(b"RSET").startswith(b"250"), c.transcript
    rs = c.message(b"kept@x", [b"new@x", b"reject@x"], d1)
    code, err, recs, got = c.finish()
    assert rs[-1].startswith(b"250 ok"), c.transcript
    r = run.one(recs)
    assert (r["sender"], r["rcpt"], r["rcpt_count"]) == ("kept@x", ["new@x"], 1), r
    check_stored(run.one(all_messages(got)), r, d1)


@smtp_test
def smtp__ehlo_filter_starttls_bdat__hidden_refused_never_forwarded(env):
    data = b"Subject: after\r\n\r\nb\r\n"
    stdin = (b"EHLO c\r\nSTARTTLS\r\nHELO c\r\nehlo c\r\nBDAT 0 LAST\r\nStartTLS\r\n"
             b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n" + stuff(data) + b"QUIT\r\n")
    ext = {"STANDIN_SMTP_EXT": "CHUNKING STARTTLS SIZE BINARYMIME ENHANCEDSTATUSCODES"}
    p, recs, got = env.run(["-bs"], stdin=stdin, env=ext)
    assert p.returncode == 0, p.stderr
    ehlo = (b"250-standin\r\n250-PIPELINING\r\n250-SIZE\r\n250-ENHANCEDSTATUSCODES\r\n"
            b"250 8BITMIME\r\n")
    want = (b"220 standin ESMTP\r\n" + ehlo + b"454 4.7.0 TLS not available\r\n"
            b"250 standin\r\n" + ehlo + b"502 5.5.1 BDAT is not available here; use DATA\r\n"
            b"454 4.7.0 TLS not available\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n"
            b"250 ok 1700000000 qp 1\r\n221 standin\r\n")
    assert p.stdout == want, p.stdout
    s = run.one(got)
    # Neither reached the server.
    assert b"STARTTLS" not in s["stdin"].upper() and b"BDAT" not in s["stdin"], s["stdin"]
    check_stored(run.one(s["messages"]), run.one(recs), data)
    # The direct dialogue does advertise them: the filter is what hid them.
    direct = subprocess.run([env.real, "-bs"], input=b"EHLO c\r\nQUIT\r\n", capture_output=True,
                            env={"STANDIN_DIR": env.new_recdir(), **ext})
    assert b"250-STARTTLS\r\n" in direct.stdout and b"250-CHUNKING" in direct.stdout, direct.stdout


def dotty_lines(n_bytes, seed):
    """CRLF lines, most of them starting with dots (a lone "." and ".." included), of many
    lengths, N_BYTES in all."""
    out, i = [], seed
    size = 0
    while size < n_bytes:
        i += 1
        line = b"." * (1 + i % 3) + b"x" * ((i * 7) % 13) if i % 5 else b"plain %d" % i
        if i % 17 == 0:
            line = b"."
        out.append(line + b"\r\n")
        size += len(line) + 2
    return b"".join(out)


@smtp_test
def smtp__dots_around_64k_split__stored_exactly(env):
    # The relay reads the first 64 KiB unstuffed, then relays the rest as it came: dot lines at
    # every phase of that split (and of the reads behind it) must come out as the client meant.
    datas = []
    for shift in range(0, 24):
        datas.append(b"Subject: dots %d\r\nX-Pad: %s\r\n\r\n" % (shift, b"p" * shift) +
                     dotty_lines(140000, shift))
    # Messages that end (with a dot line just before the end line) right at the split.
    for total in range(65526, 65545):
        head = b"Subject: end at %d\r\n\r\n" % total
        tail = b".z\r\n..\r\n.\r\n"
        filler = total - len(head) - len(tail) - 2
        datas.append(head + b"f" * filler + b"\r\n" + tail)
        assert len(datas[-1]) == total
    c = Client(env)
    c.cmd(b"EHLO c")
    answers = [c.message(b"a@x", [b"b@x"], d)[-1] for d in datas]
    code, err, recs, got = c.finish()
    assert code == 0, err
    assert all(a.startswith(b"250 ok") for a in answers), [a for a in answers if b"250" not in a]
    msgs = all_messages(got)
    assert len(msgs) == len(recs) == len(datas), (len(msgs), len(recs))
    for m, r, d in zip(msgs, recs, datas):
        check_stored(m, r, d)
        assert r["action"] == "deliver" and "error" not in r, r
    # The same pipelined: the whole session in one go.
    p, recs, got = env.run(["-bs"], stdin=session(*[(b"a@x", [b"b@x"], stuff(d)) for d in datas]))
    assert p.returncode == 0, p.stderr
    msgs = all_messages(got)
    assert len(msgs) == len(recs) == len(datas), (len(msgs), len(recs))
    for m, r, d in zip(msgs, recs, datas):
        check_stored(m, r, d)


@smtp_test
def smtp__8bit_nul_long_lines_big_message__stored_exactly(env):
    body8 = bytes(b for b in range(256) if b not in (10, 13)) * 4 + b"\r\n\0\0\0\r\n\xff\xfe\r\n"
    datas = [
        b"Subject: 8bit \xc3\xa9\xff\r\nFrom: x@y\r\n\r\n" + body8,
        b"Subject: long line\r\n\r\n" + b"L" * (200 * 1024) + b"\r\n" + b".dot line\r\n",
        b"Subject: long dot line\r\n\r\n." + b"D" * (200 * 1024) + b"\r\nend\r\n",
        b"Subject: long header\r\nX-Long: " + b"v" * (100 * 1024) + b"\r\nFrom: f@x\r\n\r\nb\r\n",
        b"Subject: big\r\n\r\n" + (bytes(range(256)) + b"\r\n") * 4000,
        b"Subject: no body\r\n\r\n",
        b"no header at all\r\n",
        b"",
        b".first line starts with a dot\r\nSubject: dot first\r\n\r\nb\r\n",
        b".\r\n",
        b"Subject: bare LF\n\nline\n.dot\nend\n",  # the stand-in, unlike qmail, takes bare LF
        b"Subject: bare CR\r\n\r\na\rb\r\r\n\r\r\n",
    ]
    c = Client(env)
    c.cmd(b"EHLO c")
    answers = [c.message(b"a@x", [b"b@x"], d)[-1] for d in datas]
    code, err, recs, got = c.finish()
    assert code == 0 and all(a.startswith(b"250 ok") for a in answers), (code, answers)
    msgs = all_messages(got)
    assert len(msgs) == len(recs) == len(datas)
    for m, r, d in zip(msgs, recs, datas):
        check_stored(m, r, d)
    assert recs[0]["from"] == "x@y" and recs[4]["subject"] == "big", recs[:5]
    assert [r["subject"] for r in recs[1:4]] == ["long line", "long dot line", "long header"]
    # An unstuffed ".\r" not followed by "\n": qmail-smtpd keeps the dot and the CR, and so
    # must the relay (the stand-in alone would drop the dot; through the relay it gets ".." ).
    wire = b"Subject: dot CR\r\n\r\n.\rX\r\n.\r\rY\r\n.\r\n"
    p, recs, got = env.run(["-bs"], stdin=session((b"a@x", [b"b@x"], wire)))
    check_stored(run.one(all_messages(got)), run.one(recs),
                 b"Subject: dot CR\r\n\r\n.\rX\r\n.\r\rY\r\n")


@smtp_test
def smtp__forged_header__renamed_one_qwrap_header(env):
    data_wire = (b"Subject: forged\r\nX-Additional-Header: id=fake; uid=0\r\n"
                 b".X-Additional-Header: id=dotted\r\n"      # one dot: the server unstuffs it
                 b"..X-Additional-Header: two dots\r\n"      # stays ".X-Additional-..."
                 b"x-additional-header: lower case\r\n\r\n"
                 b"X-Additional-Header: in the body\r\n.\r\n")
    p, recs, got = env.run(["-bs"], stdin=session((b"a@x", [b"b@x"], data_wire)))
    assert p.returncode == 0, p.stderr
    r = run.one(recs)
    m = run.one(all_messages(got))
    field, rest = run.split_header(m["data"])
    assert run.header_values(field)["id"] == r["id"]
    want = (b"Subject: forged\r\nX-Qwrap-Forged-X-Additional-Header: id=fake; uid=0\r\n"
            b"X-Qwrap-Forged-X-Additional-Header: id=dotted\r\n"
            b".X-Additional-Header: two dots\r\n"
            b"X-Qwrap-Forged-x-additional-header: lower case\r\n\r\n"
            b"X-Additional-Header: in the body\r\n")
    assert rest == want, rest
    head = m["data"].split(b"\r\n\r\n")[0]
    assert head.startswith(field) and [
        l for l in head.split(b"\r\n") if l.lower().startswith(b"x-additional-header:")] == \
        [field.split(b"\r\n")[0]], head
    assert r["forged_header"] == 3, r
    # A first line that starts with a space would continue qwrap's header.
    fold = b" uid=0; script=/var/www/victim.php\r\nSubject: fold\r\n\r\nb\r\n"
    p, recs, got = env.run(["-bs"], stdin=session((b"a@x", [b"b@x"], stuff(fold))))
    r, m = run.one(recs), run.one(all_messages(got))
    field = check_stored(m, r, b"X-Qwrap-Forged-Fold:" + fold)
    assert b"victim" not in field and r["subject"] == "fold", (field, r)


def long_forged_header(n_lines):
    """A header section past the relay's 64 KiB head: every field named like ours, and
    lines starting with a dot between them; the data as the client sends it, and as the
    server must store it."""
    lines = []
    for i in range(n_lines):
        lines.append(b"X-Additional-Header: %05d\r\n" % i if i % 5 else b".X-Dot: %05d\r\n" % i)
    head = b"Subject: long\r\n" + b"".join(lines) + b"\r\n"
    body = b".body line\r\nX-Additional-Header: body\r\n" + dotty_lines(200000, 7)
    data = head + body
    want = head.replace(b"\nX-Additional-Header: ", b"\nX-Qwrap-Forged-X-Additional-Header: ") + body
    return stuff(data), want


@smtp_test
def smtp__forged_fields_past_64k__renamed_delivered_and_held(env):
    skip = need_root(env)
    if skip:
        return skip
    wire, want = long_forged_header(4000)
    assert len(wire) > 90000
    rule = limits_conf(env, "hold")
    try:
        p, recs, got = env.run(["-bs"], stdin=session(
            (b"a@x", [b"b@x"], stuff(b"Subject: one\r\n\r\nb\r\n")),
            (b"a@x", [b"b@x"], wire), (b"a@x", [b"b@x"], wire)))
        assert p.returncode == 0, p.stderr
        assert [r["action"] for r in recs] == ["deliver", "deliver", "hold"], recs
        m = all_messages(got)[1]
        field, rest = run.split_header(m["data"])
        assert run.header_values(field)["id"] == recs[1]["id"]
        assert rest == want, rest[65000:66000]
        p, rel, runs = release_tool(env, rule)
        assert p.returncode == 0, p.stderr
        field, rest = run.split_header(run.one(runs)["stdin"])
        assert run.header_values(field)["id"] == recs[2]["id"]
        assert rest == want.replace(b"\r\n", b"\n"), rest[65000:66000]
    finally:
        run.clear_limits(env)


@smtp_test
def smtp__client_disconnects_mid_data__nothing_queued_record_says_so(env):
    cases = {
        "right after DATA": b"",
        "in the head": b"Subject: cut\r\n\r\npartial line",
        "after a dot": b"Subject: cut\r\n\r\nline\r\n.",
        "after dot CR": b"Subject: cut\r\n\r\nline\r\n.\r",
        "in the tail": b"Subject: cut\r\n\r\n" + b"y" * 100 + (b"z" * 998 + b"\r\n") * 150,
    }
    for what, partial in cases.items():
        stdin = b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n" + partial
        p, recs, got = env.run(["-bs"], stdin=stdin, timeout=30)
        s = run.one(got)
        assert s["messages"] == [], (what, s["messages"])
        r = run.one(recs)
        assert r["action"] == "reject" and "within the message" in r["error"], (what, r)
        assert r["rcpt"] == ["b@x"] and r["mode"] == "smtp", (what, r)
        # The stand-in, like qmail-smtpd, gives up with 111; the caller gets its status.
        assert p.returncode == 111 == s["exit"], (what, p.returncode, s["exit"])
        assert p.stdout.endswith(b"354 go ahead\r\n"), (what, p.stdout)
    # Input ends right after the message, without QUIT: the message is whole, so delivered.
    data = b"Subject: no quit\r\n\r\nb\r\n"
    p, recs, got = env.run(["-bs"], stdin=b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\n"
                           b"DATA\r\n" + stuff(data), timeout=30)
    assert p.returncode == 0 and p.stdout.endswith(b"250 ok 1700000000 qp 1\r\n"), p.stdout
    r = run.one(recs)
    assert r["action"] == "deliver" and "error" not in r, r
    check_stored(run.one(all_messages(got)), r, data)


@smtp_test
def smtp__trickling_client_and_closed_stdout__same_result_no_hang(env):
    # Commands and data in pieces of 1 to 7 bytes, so that every state of the relay's command
    # and data readers meets the end of a read.
    rnd = random.Random(11)
    datas = [b"Subject: trickle %d\r\n\r\n" % i + dotty_lines(1500, i) + b".\r\n\r\n.x\r\n"
             for i in range(3)]
    wire = session(*[(b"a@x", [b"b@x", b"reject@x"], stuff(d)) for d in datas])
    c = Client(env, timeout=60)
    pos = 0
    while pos < len(wire):
        n = rnd.randint(1, 7)
        c.send(wire[pos:pos + n])
        pos += n
        time.sleep(0.0002)
    code, err, recs, got = c.finish(quit=False)
    assert code == 0, err
    assert c.transcript.count(b"250 ok 1700000000") == 3 and c.transcript.endswith(
        b"221 standin\r\n"), c.transcript
    msgs = all_messages(got)
    assert len(msgs) == len(recs) == 3
    for m, r, d in zip(msgs, recs, datas):
        check_stored(m, r, d)
        assert r["rcpt"] == ["b@x"], r
    # A client that stops reading replies (its end of our stdout closed): no hang.
    recdir = env.new_recdir()
    start = env.log_size()
    proc = subprocess.Popen(as_user(env, [env.wrapper, "-bs"]), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir}, cwd=env.root)
    proc.stdout.close()
    try:
        proc.stdin.write(session((b"a@x", [b"b@x"], stuff(datas[0]))))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    code = proc.wait(timeout=30)
    stored = all_messages(run.standin_records(recdir))
    # Whatever got through has its record: no message queued without one.
    delivered = [r for r in env.records_since(start) if r["action"] == "deliver"]
    assert len(stored) <= len(delivered), (stored, delivered)
    for m in stored:
        check_stored(m, delivered[0], datas[0])
    return "stdout closed: exit %d, stand-in stored %d message(s)" % (code, len(stored))


def close_after(env, n, n_msgs=1):
    """A lock-step session against a server that closes at its Nth command."""
    c = Client(env, extra_env={"STANDIN_SMTP_CLOSE_AFTER": str(n)}, timeout=30)
    replies = [c.cmd(b"EHLO c")]
    for i in range(n_msgs):
        replies += c.message(b"a%d@x" % i, [b"b%d@x" % i], b"Subject: s%d\r\n\r\nb\r\n" % i)
    replies.append(c.cmd(b"QUIT"))
    code, err, recs, got = c.finish(quit=False)
    return c, replies, code, recs, got


@smtp_test
def smtp__server_closes_first__client_gets_421_no_hang_records_sane(env):
    bye = b"421 standin closing connection\r\n"
    # EHLO is 1, MAIL 2, RCPT 3, DATA 4, QUIT 5; with two messages MAIL of the second is 5.
    c, replies, code, recs, got = close_after(env, 3)   # at RCPT
    assert replies[2] == bye and replies[3:] == [b"", b""], replies
    assert code == 0 and recs == [] and all_messages(got) == [], (code, recs)
    c, replies, code, recs, got = close_after(env, 4)   # at DATA
    assert replies[3] == bye and replies[4] == b"", replies
    r = run.one(recs)
    assert code == 0 and all_messages(got) == []
    assert r["action"] == "reject" and "421 standin closing" in r["error"], r
    c, replies, code, recs, got = close_after(env, 5)   # at QUIT, after the message
    assert replies[3] == b"354 go ahead\r\n" and replies[4].startswith(b"250 ok"), replies
    assert replies[5] == bye and code == 0, replies
    r = run.one(recs)
    assert r["action"] == "deliver" and "error" not in r, r
    check_stored(run.one(all_messages(got)), r, b"Subject: s0\r\n\r\nb\r\n")
    c, replies, code, recs, got = close_after(env, 5, n_msgs=2)  # at the second MAIL
    assert replies[4].startswith(b"250 ok") and replies[5] == bye, replies
    assert len(recs) == 1 and recs[0]["action"] == "deliver", recs
    # Pipelined: the whole session written at once, the server gone at each point.
    data = b"Subject: p\r\n\r\nb\r\n"
    stdin = session((b"a@x", [b"b@x"], stuff(data)), (b"c@x", [b"d@x"], stuff(data)))
    # EHLO 1, MAIL 2, RCPT 3, DATA 4, MAIL 5, RCPT 6, DATA 7, QUIT 8.
    for n, delivered in ((1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 1), (7, 1), (8, 2)):
        p, recs, got = env.run(["-bs"], stdin=stdin, env={"STANDIN_SMTP_CLOSE_AFTER": str(n)},
                               timeout=30)
        assert p.stdout.endswith(bye), (n, p.stdout)
        assert len(all_messages(got)) == delivered, (n, all_messages(got))
        assert [r["action"] for r in recs if r["action"] == "deliver"] == ["deliver"] * delivered
        for r in recs:
            assert r["mode"] == "smtp" and (r["action"] == "deliver") == ("error" not in r), (n, r)


SCRIPTED = r"""#!/bin/sh
# A real sendmail -bs other than the stand-in: EHLO as $EHLO_REPLY says, and after the data
# the reply $DATA_REPLY, or (empty) none at all: it exits, as on a crash.  With
# $DATA_EXIT_AFTER=N it exits after N lines of the data.
printf '220 scripted\r\n'
while IFS= read -r l; do case "$l" in
  [Ee][Hh][Ll][Oo]*)
    printf '%b' "${EHLO_REPLY:-250-scripted\r\n250-PIPELINING\r\n250 STARTTLS\r\n}";;
  [Dd][Aa][Tt][Aa]*) printf '354 go\r\n'; n=0
    while IFS= read -r d; do [ "$d" = "$(printf '.\r')" ] && break
      n=$((n+1)); if [ "$n" = "${DATA_EXIT_AFTER:-0}" ]; then
        [ -n "$DATA_EXIT_SAY" ] && printf '%s\r\n' "$DATA_EXIT_SAY"; exit 0; fi; done
    [ -n "$DATA_REPLY" ] || exit 0
    printf '%s\r\n' "$DATA_REPLY";;
  [Qq][Uu][Ii][Tt]*) printf '221 bye\r\n'; exit 0;;
  *) printf '250 ok\r\n';;
esac; done
"""


def scripted_server(env):
    path = os.path.join(env.root, "bin", "scripted-sendmail")
    with open(path, "w") as f:
        f.write(SCRIPTED)
    os.chmod(path, 0o755)
    env.set_conf(b'sendmail = "%s";' % path.encode())


@smtp_test
def smtp__scripted_server__refusal_silence_and_last_ehlo_line_hidden(env):
    scripted_server(env)
    data = b"Subject: refused?\r\n\r\nb\r\n"
    # The server refuses the message after its data: the client is told.  The record was
    # written before the end line went (as message mode records before the real sendmail
    # runs), so it says deliver; the refusal goes to syslog by the message's id.
    c = Client(env, extra_env={"DATA_REPLY": "554 5.6.0 no thanks"}, timeout=30)
    ehlo = c.cmd(b"EHLO c")
    replies = c.message(b"a@x", [b"b@x"], data)
    code, err, recs, _ = c.finish()
    # STARTTLS was the last line: the line before it becomes the last.
    assert ehlo == b"250-scripted\r\n250 PIPELINING\r\n", ehlo
    assert replies[-1] == b"554 5.6.0 no thanks\r\n" and c.quit_reply == b"221 bye\r\n", replies
    r = run.one(recs)
    assert r["action"] == "deliver" and "error" not in r, r
    assert r["subject"] == "refused?" and r["rcpt"] == ["b@x"], r
    # A temporary refusal, and a one-line EHLO reply that is all a hidden keyword's neighbour.
    c = Client(env, extra_env={"DATA_REPLY": "451 4.3.0 later",
                               "EHLO_REPLY": "250 scripted\\r\\n"}, timeout=30)
    assert c.cmd(b"EHLO c") == b"250 scripted\r\n"
    replies = c.message(b"a@x", [b"b@x"], data)
    code, err, recs, _ = c.finish()
    assert replies[-1] == b"451 4.3.0 later\r\n" and run.one(recs)["action"] == "deliver", recs
    # It takes the data and exits without a word (a crash, an OOM kill): no hang.
    c = Client(env, timeout=30)
    c.cmd(b"EHLO c")
    replies = c.message(b"a@x", [b"b@x"], b"Subject: lost?\r\n\r\nb\r\n")
    code, err, recs, got = c.finish(quit=False)
    assert replies[-2] == b"354 go\r\n" and replies[-1] == b"", replies
    assert code == 0, (code, err)
    r = run.one(recs)
    assert r["action"] == "deliver" and r["subject"] == "lost?", r
    note = "silent server: client saw EOF after its data; record action %s" % r["action"]
    # It exits within the data of a message bigger than a pipe holds: no hang, no SIGPIPE.
    c = Client(env, extra_env={"DATA_EXIT_AFTER": "3"}, timeout=30)
    c.cmd(b"EHLO c")
    big = b"Subject: half\r\n\r\n" + (b"z" * 78 + b"\r\n") * 20000
    replies = c.message(b"a@x", [b"b@x"], big)
    code, err, recs, got = c.finish(quit=False)
    assert replies[-2] == b"354 go\r\n" and replies[-1] == b"", replies
    assert code == 0, (code, err)
    r = run.one(recs)
    assert r["action"] == "reject" and "stopped reading" in r["error"], r
    # It says why before it goes (qmail-smtpd's 451 on a bare LF): the client hears it.
    c = Client(env, extra_env={"DATA_EXIT_AFTER": "3", "DATA_EXIT_SAY": "451 bare LF"},
               timeout=30)
    c.cmd(b"EHLO c")
    replies = c.message(b"a@x", [b"b@x"], big)
    code, err, recs, got = c.finish(quit=False)
    assert replies[-1] == b"451 bare LF\r\n", replies
    assert run.one(recs)["action"] == "reject"
    return note + "; server gone mid-data: client saw EOF, record %s %r" % (r["action"], r["error"])


@smtp_test
def smtp__many_recipients_and_overlong_line__flow_control_and_counts(env):
    # 3000 recipients in one write: more than the relay's reply queue (256) and its buffers
    # (64 KiB) hold; every reply still comes back in order and every accepted one is counted.
    n = 3000
    rcpts = [b"recipient-number-%04d@a-rather-long-domain.example" % i for i in range(n)]
    rcpts[7] = b"reject-7@x"
    data = b"Subject: many\r\n\r\nb\r\n"
    long_line = b"NOOP " + b"n" * 20000 + b"\r\n"
    stdin = (b"EHLO c\r\n" + long_line + b"MAIL FROM:<a@x>\r\n" +
             b"".join(b"RCPT TO:<%s>\r\n" % r for r in rcpts) + b"DATA\r\n" + stuff(data) +
             b"QUIT\r\n")
    p, recs, got = env.run(["-bs"], stdin=stdin, timeout=60)
    assert p.returncode == 0, p.stderr
    want = (b"220 standin ESMTP\r\n250-standin\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
            b"500 5.5.2 Line too long\r\n250 ok\r\n" +
            b"250 ok\r\n" * 7 + b"553 sorry, that domain isn't in my list of allowed rcpthosts"
            b" (#5.7.1)\r\n" + b"250 ok\r\n" * (n - 8) +
            b"354 go ahead\r\n250 ok 1700000000 qp 1\r\n221 standin\r\n")
    assert p.stdout == want, p.stdout[:300]
    s = run.one(got)
    assert b"n" * 100 not in s["stdin"], "the over-long line reached the server"
    m = run.one(s["messages"])
    accepted = [r.decode() for r in rcpts if not r.startswith(b"reject")]
    assert m["rcpt"] == accepted
    r = run.one(recs)
    check_stored(m, r, data)
    assert r["rcpt_count"] == n - 1 and r["rcpt"] == accepted[:len(r["rcpt"])], r["rcpt_count"]
    assert r.get("truncated") is True and len(json.dumps(r)) <= 4096


@smtp_test
def smtp__log_unusable__delivered_and_warned_or_tempfail_refuses_each(env):
    # The log is a symbolic link: not written; mail still goes (on_error = "deliver"), or
    # under on_error = "tempfail" every message is refused before the server sees it.
    datas = [b"Subject: nolog %d\r\n\r\nb\r\n" % i for i in range(2)]
    stdin = session(*[(b"a@x", [b"b@x"], stuff(d)) for d in datas])
    with run.log_moved_away(env) as elsewhere:
        os.symlink(elsewhere, env.log)
        p, _, got = env.run(["-bs"], stdin=stdin, timeout=30)
        assert p.returncode == 0 and p.stdout.count(b"250 ok 1700000000") == 2, p.stdout
        warned = p.stderr
        msgs = all_messages(got)
        assert len(msgs) == 2 and os.path.getsize(elsewhere) == 0
        for m, d in zip(msgs, datas):
            field, rest = run.split_header(m["data"])
            assert rest == d and run.header_values(field)["id"], m
        env.set_conf(b'on_error = "tempfail";')
        p, _, got = env.run(["-bs"], stdin=session(*[(b"a@x", [b"b@x"], b"") for d in datas]),
                            timeout=30)
        assert p.returncode == 0 and p.stdout.count(b"\r\n451 4.7.1 ") == 2, p.stdout
        s = run.one(got)
        assert s["messages"] == [] and b"DATA" not in s["stdin"], s["stdin"]
        # As in message mode (qwrap-sendmail(8) DIAGNOSTICS), the caller's
        # standard error hears of it: the session's problem once, with its first message.
        assert warned.count(b"symbolic link") == 1, warned
        assert warned.count(b"; message sent anyway\n") == 1, warned
        env.reset_conf()


@smtp_test
def smtp__exit_status_and_signal__the_real_sendmails(env):
    data = b"Subject: st\r\n\r\nb\r\n"
    for code, want in (("0", 0), ("111", 111), ("100", 100), ("sig:15", -15), ("sig:9", -9)):
        p, recs, got = env.run(["-bs"], stdin=session((b"a@x", [b"b@x"], stuff(data))),
                               env={"STANDIN_EXIT": code})
        assert p.returncode == want, (code, p.returncode, p.stderr)
        r = run.one(recs)
        assert r["action"] == "deliver", r
        check_stored(run.one(all_messages(got)), r, data)


@smtp_test
def smtp__sigchld_ignored_by_caller__250_one_copy_passthrough_451(env):
    # qmail's sendmail -bs answers "451 qq waitpid surprise" after queueing when SIGCHLD is
    # ignored; the relay gives its child SIGCHLD at default.
    datas = [b"Subject: w%d\r\n\r\nb\r\n" % i for i in range(3)]
    stdin = session(*[(b"a@x", [b"b@x"], stuff(d)) for d in datas])
    p, recs, got = env.run(["-bs"], stdin=stdin, launch=["--ignore", str(SIGCHLD)])
    assert p.returncode == 0 and p.stdout.count(b"250 ok 1700000000") == 3, p.stdout
    assert b"waitpid surprise" not in p.stdout
    s = run.one(got)
    assert len(s["messages"]) == len(recs) == 3
    for m, r, d in zip(s["messages"], recs, datas):
        check_stored(m, r, d)
        assert m["reply"].startswith("250 ok"), m
    assert int(s["sigign"], 16) & (1 << (SIGCHLD - 1)) == 0, s["sigign"]
    # Passthrough leaves the caller's disposition: exactly the behaviour without qwrap.
    env.set_conf(b'smtp_mode = "passthrough";')
    p, recs, got = env.run(["-bs"], stdin=stdin, launch=["--ignore", str(SIGCHLD)])
    assert p.stdout.count(b"451 qq waitpid surprise") == 3, p.stdout
    s = run.one(got)
    assert int(s["sigign"], 16) & (1 << (SIGCHLD - 1)), s["sigign"]
    assert [m["reply"][:3] for m in s["messages"]] == ["451"] * 3
    assert [(r["mode"], r["action"]) for r in recs] == [("smtp", "passthrough")]


# ---------------------------------------------------------------- swaks

def swaks(env, *args, extra_env=None, data=None, sw_env=None):
    """swaks --pipe '<wrapper> -bs' as the unprivileged user; returns run()'s triple."""
    argv = ["--pipe", env.wrapper + " -bs", "--from", "sender@x.example",
            "--helo", "client.example", "--hide-informational"] + list(args)
    if data is not None:
        d = user_dir(env, "swaks")
        path = user_file(env, os.path.join(d, "data.txt"), data)
        argv += ["--data", "@" + path]
    return env.run(argv, prog="/usr/bin/swaks", env=extra_env, timeout=60)


SWAKS_DATA = (b"Subject: via swaks\nFrom: Sender <sender@x.example>\nMessage-Id: <sw1@x.example>\n"
              b"\nline 1\n.starts with a dot\n..two dots\n.\nlast\n")


def swaks_stored(data):
    """What the server stores of swaks' --data: LF made CRLF, and the CRLF swaks adds before
    the end line."""
    return data.replace(b"\n", b"\r\n") + b"\r\n"


def check_swaks(env, p, recs, got, rcpts, data=SWAKS_DATA):
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr)
    # swaks ignores SIGCHLD: without the relay's care this would be "451 qq waitpid surprise".
    assert re.search(rb"(?m)^<-  250 ok 1700000000 qp 1\r?$", p.stdout), p.stdout
    assert b"waitpid surprise" not in p.stdout, p.stdout
    s = run.one(got)
    m = run.one(s["messages"])  # exactly one copy
    r = run.one(recs)
    check_stored(m, r, swaks_stored(data))
    assert (r["mode"], r["action"], r["sender"], r["rcpt"], r["rcpt_count"]) == (
        "smtp", "deliver", "sender@x.example", rcpts, len(rcpts)), r
    assert (r["subject"], r["from"], r["message_id"]) == (
        "via swaks", "Sender <sender@x.example>", "<sw1@x.example>"), r
    assert m["rcpt"] == rcpts and m["from"] == "sender@x.example", m
    return r, s


@smtp_test
def smtp__swaks_one_message__250_one_copy_header_record(env):
    p, recs, got = swaks(env, "--to", "ok@x.example", data=SWAKS_DATA)
    r, s = check_swaks(env, p, recs, got, ["ok@x.example"])
    # The dialogue swaks had: the server's own replies.
    assert b"<-  220 standin ESMTP" in p.stdout and b"<-  221 standin" in p.stdout, p.stdout
    assert r["uid"] == env.uid if env.is_root else True
    assert any("swaks" in " ".join(pp["argv"]) for pp in r["parents"]), r["parents"]
    # swaks' own message (no --data) as well.
    p, recs, got = swaks(env, "--to", "ok@x.example")
    assert p.returncode == 0 and re.search(rb"<-  250 ok 1700000000", p.stdout), p.stdout
    r = run.one(recs)
    m = run.one(run.one(got)["messages"])
    field, rest = run.split_header(m["data"])
    assert run.header_values(field)["id"] == r["id"] and r["subject"].startswith("test ")
    assert rest.count(b"X-Mailer: swaks") == 1
    assert rest.endswith(b"This is a test mailing\r\n\r\n\r\n"), rest
    return "script %r from %s" % (r["script"], r["script_from"])


@smtp_test
def smtp__swaks_pipelining_and_rejected_recipient__accepted_only_in_record(env):
    for pipelining in ([], ["--pipeline"]):
        p, recs, got = swaks(env, "--to", "ok@x.example,reject@x.example,ok2@x.example",
                             *pipelining, data=SWAKS_DATA)
        assert re.search(rb"<\*\* +553 sorry", p.stdout), p.stdout
        check_swaks(env, p, recs, got, ["ok@x.example", "ok2@x.example"])
        if pipelining:
            # swaks really pipelined: MAIL, both RCPTs and DATA went before the first reply.
            assert re.search(rb" -> MAIL FROM:.*\n -> RCPT TO:.*\n -> RCPT TO:.*\n"
                             rb" -> RCPT TO:.*\n -> DATA", p.stdout), p.stdout
    # Every recipient refused: DATA refused by the server, no message, no record of one.
    p, recs, got = swaks(env, "--to", "reject@x.example", "--pipeline", data=SWAKS_DATA)
    assert p.returncode != 0 and run.one(got)["messages"] == [], p.stdout
    assert recs == [], recs  # no message, no record


@smtp_test
def smtp__swaks_passthrough__451_waitpid_surprise_as_without_qwrap(env):
    # The counterpart that proves the swaks tests can fail: with the dialogue passed through,
    # swaks' ignored SIGCHLD reaches the real sendmail, which says 451 after queueing.
    env.set_conf(b'smtp_mode = "passthrough";')
    p, recs, got = swaks(env, "--to", "ok@x.example", data=SWAKS_DATA)
    assert re.search(rb"(?m)^<\*\* +451 qq waitpid surprise", p.stdout), p.stdout
    assert p.returncode != 0
    s = run.one(got)
    m = run.one(s["messages"])
    assert m["data"] == swaks_stored(SWAKS_DATA) and m["reply"].startswith("451"), m
    assert [(r["mode"], r["action"]) for r in recs] == [("smtp", "passthrough")], recs


# ---------------------------------------------------------------- limits per message

LIMIT_MSGS = [(b"s%d@x" % i, [b"r%d@x" % i, b"q%d@x" % i],
               b"Subject: limited %d\r\n\r\nbody %d\r\n.dot\r\n" % (i, i)) for i in range(4)]


@smtp_test
def smtp__limit_reject__third_and_fourth_answered_451_server_never_sees_them(env):
    skip = need_root(env)
    if skip:
        return skip
    limits_conf(env, "reject")
    try:
        c = Client(env)
        c.cmd(b"EHLO c")
        answers = [c.message(*m) for m in LIMIT_MSGS]
        code, err, recs, got = c.finish()
    finally:
        run.clear_limits(env)
    assert code == 0, err
    for a in answers[:2]:
        assert a[-2] == b"354 go ahead\r\n" and a[-1].startswith(b"250 ok 1700000000"), a
    for a in answers[2:]:
        assert re.fullmatch(rb"451 4\.7\.1 limit \d+ reached \(.*\); try again later\r\n",
                            a[-1]), a
    s = run.one(got)
    assert len(s["messages"]) == 2
    assert [r["action"] for r in recs] == ["deliver", "deliver", "reject", "reject"], recs
    for m, r, (frm, rcpts, data) in zip(s["messages"], recs, LIMIT_MSGS):
        check_stored(m, r, data)
        assert "limit" not in r
    for r, (frm, rcpts, data) in zip(recs[2:], LIMIT_MSGS[2:]):
        assert r["limit"] and r["limit"]["max"] == 2, r
        assert r["sender"] == frm.decode() and r["rcpt"] == [x.decode() for x in rcpts], r
    # The server saw no DATA of those two, and had each transaction reset.
    assert s["stdin"].count(b"DATA\r\n") == 2, s["stdin"]
    assert s["stdin"].count(b"RSET\r\n") == 2 and b"limited 2" not in s["stdin"], s["stdin"]


@smtp_test
def smtp__swaks_pipelining_under_limits__relay_answers_data_itself(env):
    # A real pipelining client sends MAIL, RCPT and DATA in one go and waits for DATA's reply:
    # the relay's own 451 (reject) or 354 ... 250 (hold) must satisfy it.
    skip = need_root(env)
    if skip:
        return skip
    try:
        for action in ("reject", "hold"):
            limits_conf(env, action)
            runs = [swaks(env, "--to", "ok@x.example", "--pipeline", data=SWAKS_DATA)
                    for _ in range(3)]
            for p, recs, got in runs[:2]:
                check_swaks(env, p, recs, got, ["ok@x.example"])
            p, recs, got = runs[2]
            r = run.one(recs)
            assert run.one(got)["messages"] == [], (action, got)
            assert r["action"] == action and r["limit"]["max"] == 2, r
            if action == "reject":
                assert p.returncode != 0 and re.search(
                    rb"(?m)^<\*\* +451 4\.7\.1 limit \d+ reached", p.stdout), p.stdout
            else:
                assert p.returncode == 0 and re.search(rb"(?m)^<-  354 go ahead", p.stdout) and \
                    re.search(rb"(?m)^<-  250 ok\r?$", p.stdout), p.stdout
                assert run.spool_ids(env) == [r["id"]]
            assert re.search(rb"(?m)^<-  221 standin", p.stdout), p.stdout
    finally:
        run.clear_limits(env)


@smtp_test
def smtp__limit_hold_pipelined_and_big__held_as_the_server_would_store_it(env):
    skip = need_root(env)
    if skip:
        return skip
    rule = limits_conf(env, "hold")
    big = b"Subject: big held\r\n\r\n" + dotty_lines(150000, 3) + b"a\rb\r\r\n..\r\n"
    datas = [b"Subject: p%d\r\n\r\n.d\r\n" % i for i in range(3)] + [big]
    try:
        # The whole session in one write: the held data follows DATA in the same reads.
        p, recs, got = env.run(["-bs"], stdin=session(
            *[(b"a%d@x" % i, [b"b%d@x" % i], stuff(d)) for i, d in enumerate(datas)]))
        assert p.returncode == 0, p.stderr
        assert p.stdout.count(b"354 go ahead\r\n") == 4 and p.stdout.endswith(
            b"250 ok\r\n250 ok\r\n354 go ahead\r\n250 ok\r\n221 standin\r\n"), p.stdout
        assert [r["action"] for r in recs] == ["deliver", "deliver", "hold", "hold"], recs
        msgs = run.one(got)["messages"]
        for m, r, d in zip(msgs, recs, datas):
            check_stored(m, r, d)
        assert len(msgs) == 2 and run.spool_ids(env) == sorted(r["id"] for r in recs[2:])
        p, rel, runs = release_tool(env, rule)
        assert p.returncode == 0 and len(runs) == 2, p.stderr
        by_id = {}
        for s in runs:
            field, rest = run.split_header(s["stdin"])
            by_id[run.header_values(field)["id"]] = (s, rest)
        for i, r in ((2, recs[2]), (3, recs[3])):
            s, rest = by_id[r["id"]]
            assert s["argv"][1:] == [b"-f", b"a%d@x" % i, b"--", b"b%d@x" % i], s["argv"]
            # qmail-smtpd's CRLF to LF: a CR before CR LF stays, a lone CR stays.
            assert rest == datas[i].replace(b"\r\n", b"\n"), (len(rest), len(datas[i]))
    finally:
        run.clear_limits(env)


def release_tool(env, rule):
    """qwrap release --all with a real sendmail whose runs land in a known record directory."""
    script, recdir = run.held_sendmail(env)
    env.set_conf(rule + b'sendmail = "%s";' % script.encode())
    start = env.log_size()
    p = run.qwrap_tool(env, "release", "--all")
    return p, env.records_since(start), run.standin_records(recdir)


@smtp_test
def smtp__limit_hold__250_for_all_two_held_release_delivers_as_message_mode(env):
    skip = need_root(env)
    if skip:
        return skip
    rule = limits_conf(env, "hold")
    try:
        c = Client(env)
        c.cmd(b"EHLO c")
        answers = [c.message(*m) for m in LIMIT_MSGS]
        # The client ends within a held message: nothing of it is kept.
        c.cmd(b"MAIL FROM:<cut@x>")
        c.cmd(b"RCPT TO:<cut@x>")
        assert c.cmd(b"DATA") == b"354 go ahead\r\n", c.transcript
        c.send(b"Subject: cut\r\n\r\nhalf a mess")
        code, err, recs, got = c.finish(quit=False)
        assert code in (0, 111), (code, err)
        for a in answers:
            assert a[-2] == b"354 go ahead\r\n" and a[-1].startswith(b"250 ok"), a
        assert [r["action"] for r in recs] == ["deliver", "deliver", "hold", "hold", "reject"]
        assert "within the message" in recs[4]["error"], recs[4]
        held = recs[2:4]
        assert all(r["limit"] for r in held), held
        assert run.spool_ids(env) == sorted(r["id"] for r in held), run.spool_ids(env)
        s = run.one(got)
        assert len(s["messages"]) == 2 and b"limited 2" not in s["stdin"]
        for m, r, (_, _, data) in zip(s["messages"], recs, LIMIT_MSGS):
            check_stored(m, r, data)
        listing = run.qwrap_tool(env, "held").stdout
        assert b"limited 2" in listing and b"limited 3" in listing, listing
        # More recipients than a held envelope keeps whole: refused for now, not half held.
        c = Client(env)
        c.cmd(b"EHLO c")
        many = c.message(b"m@x", [b"r%d@x" % i for i in range(300)], b"Subject: many\r\n\r\nb\r\n")
        code, err, recs2, _ = c.finish()
        assert many[-1].startswith(b"451 4.3.0 "), many[-1]
        assert run.one(recs2)["action"] == "reject" and run.one(recs2)["error"], recs2
        assert len(run.spool_ids(env)) == 2
        # Released: the real sendmail in message mode, -f SENDER -- RECIPIENTS, the message
        # as the server would have stored it (unstuffed, LF), qwrap's header first.
        p, rel, runs = release_tool(env, rule)
        assert p.returncode == 0, p.stderr
        assert run.spool_ids(env) == []
        assert len(runs) == 2 and sorted(r["held_id"] for r in rel) == sorted(r["id"] for r in held)
        by_id = {}
        for s in runs:
            field, rest = run.split_header(s["stdin"])
            assert field.endswith(b"\n") and not field.endswith(b"\r\n"), field
            by_id[run.header_values(field)["id"]] = (s, rest)
        for r, (frm, rcpts, data) in zip(held, LIMIT_MSGS[2:]):
            s, rest = by_id[r["id"]]
            assert s["mode"] == "message", s
            assert s["argv"][1:] == [b"-f", frm, b"--"] + rcpts, s["argv"]
            assert rest == data.replace(b"\r\n", b"\n"), rest
            assert (s["ruid"], s["rgid"]) == (env.uid, env.gid)
    finally:
        run.clear_limits(env)


# ---------------------------------------------------------------- PHP libraries

SYMFONY = b"""<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\\Component\\Mailer\\Transport\\SendmailTransport;
use Symfony\\Component\\Mime\\Email;
$t = new SendmailTransport($argv[1] . ' -bs');
foreach ([1, 2] as $i) {
    $e = (new Email())->from('Shop <shop@shop.example>')
        ->to('alice@example.com', 'bob@example.org')
        ->subject("Symfony $i")
        ->text("Hello $i,\\n.\\n..two dots\\n.starts with a dot\\nbye\\n");
    $sent = $t->send($e);
    file_put_contents($argv[2] . "/sent.$i", $sent->toString());
}
unset($t);
echo "sent";
"""


PHPMAILER = b"""<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
use PHPMailer\\PHPMailer\\PHPMailer;
$m = new PHPMailer(true);
$m->isSendmail();
$m->Sendmail = $argv[1];
$m->setFrom('shop@shop.example', 'Shop');
$m->addAddress('alice@example.com');
$m->addCC('carol@example.net');
$m->Subject = 'PHPMailer test';
$m->Body = "Hello,\\n.\\nX-Additional-Header: not a header here\\nbye\\n";
$m->MessageID = '<fixed.1@shop.example>';
$m->MessageDate = 'Fri, 27 Nov 2026 00:00:00 +0000';
$m->send();
echo "sent";
"""


@smtp_test
def smtp__phpmailer_sendmail_mode__message_mode_record_body_intact(env):
    # Into the real qmail, and straight into qmail's own sendmail: the same queued message
    # but for qwrap's header.
    d = user_dir(env, "phpmailer")
    script = user_file(env, os.path.join(d, "mailer.php"), PHPMAILER)
    p0, _, direct = env.send([script, env.qmail.sendmail], prog="/usr/bin/php", cwd=d)
    assert p0.stdout == b"sent", (p0.stdout, p0.stderr)
    p, recs, got = env.send([script, env.wrapper], prog="/usr/bin/php", cwd=d)
    assert p.stdout == b"sent", (p.stdout, p.stderr)
    r, q, d0 = run.one(recs), run.one(got), run.one(direct)
    field, rest = run.cut_field(q.body)
    assert run.qmail_fresh_masked(rest) == run.qmail_fresh_masked(d0.body), (rest, d0.body)
    assert (q.sender, sorted(q.rcpt)) == (d0.sender, sorted(d0.rcpt)) == (
        b"shop@shop.example", [b"alice@example.com", b"carol@example.net"]), q
    assert run.header_values(field)["id"] == r["id"]
    assert (r["mode"], r["action"], r["subject"]) == ("message", "deliver", "PHPMailer test"), r
    assert "-t" in r["argv"], r["argv"]
    assert sorted(r["rcpt"]) == ["alice@example.com", "carol@example.net"], r
    assert r["sender"] == "shop@shop.example" and r["message_id"] == "<fixed.1@shop.example>"
    assert r["script"] == script and run.header_values(field)["script"] == script, r
    assert b"\n.\nX-Additional-Header: not a header here\n" in rest.replace(b"\r\n", b"\n")


# ---------------------------------------------------------------- into the real qmail-smtpd

SMTPD_RECEIVED = re.compile(rb"^Received: from \S+ \(HELO [^)]*\) \([^)]*\)\n"
                            rb"  by \S+ with E?SMTP; [^\n]*\n")


def smtpd_stored(q):
    """A message qmail-smtpd queued: what follows its Received line."""
    m = SMTPD_RECEIVED.match(q.body)
    assert m, q.body[:300]
    return q.body[m.end():]


@smtp_test
def smtp__real_qmail_smtpd__session_replies_and_queue_as_without_qwrap_but_the_header(env):
    # One session straight into qmail's sendmail -bs (qmail-smtpd), the same through qwrap's
    # relay: the same replies, and the same messages queued, each with one qwrap header.
    m1 = b"Subject: one\r\nFrom: a@b.example\r\n\r\nbody 1\r\n..dot\r\n\xff\x00 8-bit\r\n"
    m2 = b"Subject: two\r\nX-Additional-Header: id=forged\r\n\r\nbody 2\r\n"
    renamed = m2.replace(b"X-Additional-Header: id=forged", b"X-Qwrap-Forged-X-Additional-Header: id=forged")
    sess = lambda second: session((b"a@b.example", [b"c@d.example", b"e@f.example"], stuff(m1)),
                                  (b"", [b"g@h.example"], stuff(second)), ehlo=False)
    pd, _, direct = env.send(["-bs"], sess(renamed), direct=True)
    p, recs, got = env.send(["-bs"], sess(m2))
    assert p.returncode == pd.returncode == 0, (p.returncode, p.stderr)
    assert run.qmail_times_masked(p.stdout) == run.qmail_times_masked(pd.stdout), (p.stdout, pd.stdout)
    assert p.stdout.count(b"250 ok ") == 2, p.stdout
    assert len(got) == len(direct) == len(recs) == 2, (got, direct, recs)
    for q, d, r in zip(got, direct, recs):
        assert (q.sender, q.rcpt) == (d.sender, d.rcpt), (q, d)
        assert q.uid == d.uid and (not env.is_root or q.uid == env.uid), q
        field, rest = run.cut_field(smtpd_stored(q))
        assert run.header_values(field)["id"] == r["id"]
        assert rest == smtpd_stored(d), (rest, smtpd_stored(d))
        assert (r["mode"], r["action"]) == ("smtp", "deliver"), r
    assert got[0].rcpt == [b"c@d.example", b"e@f.example"] and got[1].sender == b""
    assert recs[1]["forged_header"] == 1, recs[1]


def check_as_qmail(env, wire, direct_wire=None):
    """The session WIRE through qwrap's relay into the real qmail-smtpd, and DIRECT_WIRE
    (WIRE unless given: what qwrap must make of it) straight to qmail's sendmail -bs: the
    same exit status and replies, and the same messages queued, but for one qwrap header
    each, naming its record.  Returns the records of the messages queued.  (A message
    qmail-smtpd refuses after its data still has a record, "deliver" if the refusal came
    after it was written: syslog has the correction.)"""
    pd, _, direct = env.send(["-bs"], direct_wire or wire, direct=True)
    p, recs, got = env.send(["-bs"], wire)
    assert p.returncode == pd.returncode, (p.returncode, pd.returncode, p.stderr)
    assert run.qmail_times_masked(p.stdout) == run.qmail_times_masked(pd.stdout), \
        (p.stdout[-600:], pd.stdout[-600:])
    assert len(got) == len(direct) <= len(recs), (len(got), len(direct), len(recs))
    by_id = {r["id"]: r for r in recs}
    mine = []
    for n, (q, d) in enumerate(zip(got, direct)):
        assert (q.sender, q.rcpt) == (d.sender, d.rcpt), (n, q, d)
        field, rest = run.cut_field(smtpd_stored(q))
        mine.append(by_id[run.header_values(field)["id"]])
        want = smtpd_stored(d)
        assert rest == want, "message %d differs at byte %d" % (n, next(
            (i for i, (a, b) in enumerate(zip(rest, want)) if a != b), min(len(rest), len(want))))
    return mine


@smtp_test
def smtp__real_qmail_smtpd__every_shape_of_session_as_without_qwrap(env):
    # The hand-written sessions of the tests above, into qmail-smtpd itself.
    many = [(b"s%d@x" % i, [b"r%d@x" % i],
             b"Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n" % (i, i, i))
            for i in range(40)]
    recs = check_as_qmail(env, session(*[(f, r, stuff(d)) for f, r, d in many]))
    assert [r["sender"] for r in recs] == ["s%d@x" % i for i in range(40)]
    # Dot lines at every phase of the relay's 64 KiB head, messages ending at it.
    dots = [b"Subject: dots %d\r\nX-Pad: %s\r\n\r\n" % (k, b"p" * k) + dotty_lines(140000, k)
            for k in range(0, 24, 3)]
    for total in range(65530, 65540):
        head, tail = b"Subject: end at %d\r\n\r\n" % total, b".z\r\n..\r\n.\r\n"
        dots.append(head + b"f" * (total - len(head) - len(tail) - 2) + b"\r\n" + tail)
    check_as_qmail(env, session(*[(b"a@x", [b"b@x"], stuff(d)) for d in dots]))
    # 8-bit, NUL, long lines, a big message, no header, nothing, bare CR.
    body8 = bytes(b for b in range(256) if b not in (10, 13)) * 4 + b"\r\n\0\0\0\r\n\xff\r\n"
    odd = [b"Subject: 8bit \xc3\xa9\xff\r\n\r\n" + body8,
           b"Subject: long line\r\n\r\n" + b"L" * (200 * 1024) + b"\r\n.dot line\r\n",
           b"Subject: long header\r\nX-Long: " + b"v" * (100 * 1024) + b"\r\n\r\nb\r\n",
           b"Subject: big\r\n\r\n" + (bytes(b for b in range(256) if b != 10) + b"\r\n") * 4000,
           b"no header at all\r\n", b"", b".\r\n", b"Subject: bare CR\r\n\r\na\rb\r\r\n"]
    assert len(check_as_qmail(env, session(*[(b"a@x", [b"b@x"], stuff(d)) for d in odd]))) == 8
    # A bare LF: qmail-smtpd's 451, and the session ends, through qwrap as without it.
    check_as_qmail(env, session((b"a@x", [b"b@x"], stuff(b"Subject: ok\r\n\r\nb\r\n")),
                                (b"a@x", [b"b@x"], stuff(b"Subject: LF\n\nb\n")),
                                (b"a@x", [b"b@x"], stuff(b"Subject: after\r\n\r\nb\r\n"))))
    # Forged fields, renamed; past the head too.
    forged = (b"Subject: forged\r\nX-Additional-Header: id=fake; uid=0\r\n"
              b"..X-Additional-Header: dotted\r\nx-additional-header: lower\r\n\r\n"
              b"X-Additional-Header: in the body\r\n")
    renamed = forged.replace(b"\nX-Additional-Header: id", b"\nX-Qwrap-Forged-X-Additional-Header: id")
    renamed = renamed.replace(b"\nx-additional-header: lower", b"\nX-Qwrap-Forged-x-additional-header: lower")
    wire, want = long_forged_header(4000)
    recs = check_as_qmail(env, session((b"a@x", [b"b@x"], stuff(forged)), (b"a@x", [b"b@x"], wire)),
                          session((b"a@x", [b"b@x"], stuff(renamed)), (b"a@x", [b"b@x"], stuff(want))))
    assert recs[0]["forged_header"] == 2, recs[0]
    # RSET, and MAIL again without it.
    rset = (b"EHLO c\r\nMAIL FROM:<gone@x>\r\nRCPT TO:<old@x>\r\nRSET\r\n"
            b"MAIL FROM:<kept@x>\r\nRCPT TO:<new@x>\r\nDATA\r\n" + stuff(b"Subject: s\r\n\r\nb\r\n") +
            b"MAIL FROM:<gone2@x>\r\nRCPT TO:<old2@x>\r\nMAIL FROM:<kept2@x>\r\n"
            b"RCPT TO:<new2@x>\r\nDATA\r\n" + stuff(b"Subject: t\r\n\r\nb\r\n") + b"QUIT\r\n")
    recs = check_as_qmail(env, rset)
    assert [(r["sender"], r["rcpt"]) for r in recs] == [("kept@x", ["new@x"]), ("kept2@x", ["new2@x"])]


@smtp_test
def smtp__real_qmail_smtpd__symfony_mailer_each_message_queued_as_sent(env):
    d = user_dir(env, "symfony-qmail")
    script = user_file(env, os.path.join(d, "mailer.php"), SYMFONY)
    p, recs, got = env.send([script, env.wrapper, d], prog="/usr/bin/php", cwd=d, timeout=60)
    assert p.stdout == b"sent", (p.stdout, p.stderr)
    assert len(got) == len(recs) == 2, (got, recs)
    for i, (q, r) in enumerate(zip(got, recs), 1):
        with open(os.path.join(d, "sent.%d" % i), "rb") as f:
            sent = f.read()
        # qmail-smtpd stores CRLF as LF, and keeps the CRLF Symfony puts before the end line.
        field, rest = run.cut_field(smtpd_stored(q))
        assert rest == (sent + b"\r\n").replace(b"\r\n", b"\n"), (rest[:300], sent[:300])
        assert b"Subject: Symfony %d\r\n" % i in sent and b"\r\n..two dots\r\n" in sent
        hv = run.header_values(field)
        assert hv["id"] == r["id"] and r["script"] == script == hv["script"], r
        assert r["cwd"] == d == hv["cwd"]
        assert (r["mode"], r["action"], r["subject"], r["sender"], r["from"]) == (
            "smtp", "deliver", "Symfony %d" % i, "shop@shop.example", "Shop <shop@shop.example>"), r
        assert r["rcpt"] == ["alice@example.com", "bob@example.org"] and r["rcpt_count"] == 2
        assert (q.sender, q.rcpt) == (b"shop@shop.example", [b"alice@example.com", b"bob@example.org"])
        assert not env.is_root or q.uid == env.uid
    return "script_from %s" % recs[0]["script_from"]


# ---------------------------------------------------------------- size and memory

def vmhwm(pid):
    """The peak RSS of process PID while it is qwrap-sendmail (not yet setpriv, not the
    stand-in), else 0."""
    try:
        with open("/proc/%d/status" % pid) as f:
            status = dict(l.split(":", 1) for l in f if ":" in l)
    except OSError:
        return 0
    if status.get("Name", "").strip() != "qwrap-sendmail" or "VmHWM" not in status:
        return 0
    return int(status["VmHWM"].split()[0]) * 1024


@smtp_test
def smtp__100_mib_message__byte_identical_small_memory(env):
    size = 100 * 1024 * 1024
    block = dotty_lines(1 << 20, 1)[:(1 << 20) - 2] + b"\r\n"
    block = block.replace(b"x" * 12, b"\xff\x00\xc3\xa9\x80" + b"x" * 7)  # some 8-bit and NULs
    head = b"Subject: big\r\nFrom: big@x\r\n\r\n"
    wire = stuff(block)[:-3]
    want = hashlib.sha256(head)
    path = os.path.join(env.root, "big.smtp")
    with open(path, "wb") as f:
        f.write(b"EHLO c\r\nMAIL FROM:<big@x>\r\nRCPT TO:<r@x>\r\nDATA\r\n" + head)
        for _ in range(size // len(block)):
            f.write(wire)
            want.update(block)
        f.write(b".\r\nQUIT\r\n")
    recdir = env.new_recdir()
    start = env.log_size()
    peak = [0, 0]
    with open(path, "rb") as stdin:
        proc = subprocess.Popen(as_user(env, [env.wrapper, "-bs"]), stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir},
                                cwd=env.root)
        done = threading.Event()

        def sample():
            while not done.wait(0.005):
                hwm = vmhwm(proc.pid)
                peak[0] = max(peak[0], hwm)
                peak[1] += hwm > 0

        t = threading.Thread(target=sample)
        t.start()
        try:
            out, err = proc.communicate(timeout=600)
        finally:
            done.set()
            t.join()
    os.unlink(path)
    assert proc.returncode == 0, err
    assert out.endswith(b"250 ok 1700000000 qp 1\r\n221 standin\r\n"), out
    r = run.one(env.records_since(start))
    (d,) = [os.path.join(recdir, x) for x in os.listdir(recdir)]
    os.unlink(os.path.join(d, "stdin"))  # the stand-in's copy of the session: not needed
    with open(os.path.join(d, "msg.1"), "rb") as f:
        first = f.read(1 << 16)
        field, rest = run.split_header(first)
        assert run.header_values(field)["id"] == r["id"]
        got = hashlib.sha256(rest)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            got.update(chunk)
    os.unlink(os.path.join(d, "msg.1"))
    assert got.hexdigest() == want.hexdigest(), "100 MiB message changed"
    assert r["action"] == "deliver" and r["subject"] == "big" and "error" not in r, r
    if env.san:
        return "memory not checked under sanitizers (peak %d KiB)" % (peak[0] >> 10)
    # Sampled while it ran (the high-water mark only grows): it must have been seen working.
    assert peak[1] >= 3, "the wrapper was sampled only %d times" % peak[1]
    assert peak[0] < 8 << 20, "peak RSS %d KiB" % (peak[0] >> 10)
    return "peak RSS %d KiB (%d samples)" % (peak[0] >> 10, peak[1])


# ---------------------------------------------------------------- found by review

def child_of(pid):
    """A child of PID: the real sendmail under the relay."""
    for x in os.listdir("/proc"):
        if x.isdigit():
            try:
                with open("/proc/%s/stat" % x) as f:
                    st = f.read()
            except OSError:
                continue
            name, rest = st.split("(", 1)[1].rsplit(")", 1)
            if int(rest.split()[1]) == pid and name != "qwrap-sendmail":
                return int(x)
    return None


@smtp_test
def smtp__relay_stopped_and_killed_after_the_data__no_message_without_a_record(env):
    # The caller may stop and kill its own wrapper.  The record is written before the end
    # line goes to the server, so whatever the server queued has a record.
    import signal
    c = Client(env, timeout=30)
    c.cmd(b"EHLO c")
    c.cmd(b"MAIL FROM:<a@x>")
    c.cmd(b"RCPT TO:<b@x>")
    assert c.cmd(b"DATA").startswith(b"354")
    server = child_of(c.p.pid)
    assert server, "no server under the relay"
    os.kill(server, signal.SIGSTOP)
    c.send(b"Subject: no record?\r\n\r\nbody\r\n.\r\n")
    time.sleep(0.3)
    os.kill(c.p.pid, signal.SIGSTOP)
    os.kill(server, signal.SIGCONT)
    time.sleep(0.3)
    os.kill(c.p.pid, signal.SIGKILL)
    c.p.wait()
    deadline = time.time() + 10
    while time.time() < deadline and child_of(c.p.pid) is None and os.path.exists(
            "/proc/%d" % server):
        time.sleep(0.05)
    recs = env.records_since(c.start)
    stored = all_messages(run.standin_records(c.recdir))
    assert len(stored) == 1, stored
    r = run.one(recs)
    check_stored(stored[0], r, b"Subject: no record?\r\n\r\nbody\r\n")
    assert r["action"] == "deliver", r


@smtp_test
def smtp__log_keeper_stopped_then_let_go__a_late_answer_never_counts(env):
    # The caller stops its relay's log keeper: the first record gets no answer in time,
    # so the keeper is ended for good, and every later record of the session is said to
    # be lost (stderr, syslog) instead of taken as written on the late answer.
    import signal
    c = Client(env, timeout=60)
    c.cmd(b"EHLO c")
    keeper = run.keeper_of(c.p.pid)
    assert keeper, "no keeper of the relay"
    os.kill(keeper, signal.SIGSTOP)
    first = c.message(b"a@x", [b"b@x"], b"Subject: one\r\n\r\nb\r\n")[-1]
    try:
        os.kill(keeper, signal.SIGCONT)
    except ProcessLookupError:
        pass    # ended already, as it should be
    time.sleep(0.3)
    second = c.message(b"a@x", [b"b@x"], b"Subject: two\r\n\r\nb\r\n")[-1]
    code, err, recs, got = c.finish()
    # on_error = "deliver": both go, and both records are said to be lost.
    assert first.startswith(b"250") and second.startswith(b"250"), (first, second, err)
    assert len(all_messages(got)) == 2
    assert recs == [], recs
    assert err.count(b"did not answer") == 1 and err.count(b"failed before") == 1, err


@smtp_test
def smtp__tempfail_and_a_log_that_cannot_grow__451_nothing_queued(env):
    import resource
    env.set_conf(b'on_error = "tempfail";')
    try:
        size = env.log_size()

        def small_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        recdir = env.new_recdir()
        p = subprocess.run(as_user(env, [env.wrapper, "-bs"]), capture_output=True,
                           preexec_fn=small_files, timeout=30, cwd=env.root,
                           env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir},
                           input=session((b"a@x", [b"b@x"], stuff(b"Subject: s\r\n\r\nb\r\n"))))
        assert b"\r\n451 4.3.0 " in p.stdout, p.stdout
        assert all_messages(run.standin_records(recdir)) == [], "queued without a record"
        assert env.log_size() == size
    finally:
        env.reset_conf()


def spool_names(env):
    return sorted(os.listdir(os.path.join(env.root, "var", "spool", "qwrap")))


@smtp_test
def smtp__hold_that_fails_or_is_cut_off__leaves_nothing_in_the_spool(env):
    skip = need_root(env)
    if skip:
        return skip
    limits_conf(env, "hold", 1, b"spool_max_mb = 1;")
    try:
        small = b"Subject: s\r\n\r\nbody\r\n"
        big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1500
        p, recs, got = env.run(["-bs"], stdin=session((b"a@x", [b"b@x"], stuff(small)),
                                                       (b"a@x", [b"b@x"], stuff(big)),
                                                       (b"a@x", [b"b@x"], stuff(big))))
        assert p.stdout.count(b"\r\n451 4.3.0 ") == 2, p.stdout
        assert [r["action"] for r in recs] == ["deliver", "reject", "reject"], recs
        assert spool_names(env) == [], spool_names(env)
        # The client hangs up within a held message.
        p, recs, got = env.run(["-bs"], stdin=b"EHLO c\r\nMAIL FROM:<a@x>\r\n"
                               b"RCPT TO:<b@x>\r\nDATA\r\nSubject: cut\r\n\r\npartial")
        assert run.one(recs)["action"] == "reject" and spool_names(env) == []
    finally:
        env.reset_conf()
        run.clear_limits(env)


@smtp_test
def smtp__non_blocking_stdin__a_lock_step_session_goes_through(env):
    import fcntl
    r, w = os.pipe()
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
    recdir = env.new_recdir()
    start = env.log_size()
    p = subprocess.Popen(as_user(env, [env.wrapper, "-bs"]), stdin=r, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=env.root,
                         env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir})
    os.close(r)
    try:
        os.write(w, b"HELO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
        time.sleep(0.3)
        os.write(w, stuff(b"Subject: nb\r\n\r\nbody\r\n") + b"QUIT\r\n")
    finally:
        os.close(w)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and b"250 ok 1700000000" in out, (out, err)
    check_stored(run.one(all_messages(run.standin_records(recdir))),
                 run.one(env.records_since(start)), b"Subject: nb\r\n\r\nbody\r\n")



# ---------------------------------------------------------------- qmail-smtpd's own reading

QMAIL_SMTPD = {"STANDIN_SMTP_QMAIL": "1"}  # the stand-in reads DATA as qmail-smtpd's blast()
# CRs where qmail-smtpd keeps them: alone, before CRLF, after a line's first dot.
CR_DATA = b"Subject: crs\r\n\r\nline\r\n.dot\r\n.\rX\r\na\rb\r\r\n\r\r\n..\r\n"


@smtp_test
def smtp__qmail_smtpd_bare_lf__same_451_and_exit_as_without_qwrap_nothing_queued(env):
    # qmail-smtpd answers a bare LF within the data with 451 and exits 1 (straynewline), the
    # message unqueued; CRLF lines it stores ending in LF.  Through the relay the client must
    # see the same, whether the LF comes within the head the relay parses, past it, or in the
    # end line (".\n", which the relay would take for the end).
    bad = {"within the head": b"Subject: q\r\n\r\nbad\nline\r\n",
           "past the head": b"Subject: q\r\n\r\n" + b"x" * 200000 + b"\r\nbad\nline\r\n",
           "in the end line": b"Subject: q\r\n\r\nline\r\n"}
    for what, data in bad.items():
        end = b".\n" if what == "in the end line" else b".\r\n"
        stdin = session((b"a@x", [b"b@x"], stuff(CR_DATA)), (b"c@x", [b"d@x"], stuff(data)[:-3] + end))
        direct, _, dgot = env.run(["-bs"], stdin=stdin, env=QMAIL_SMTPD, prog=env.real)
        p, recs, got = env.run(["-bs"], stdin=stdin, env=QMAIL_SMTPD)
        assert direct.stdout.endswith(b"354 go ahead\r\n451 See http://pobox.com/~djb/docs/"
                                      b"smtplf.html.\r\n") and direct.returncode == 1, direct
        assert (p.stdout, p.returncode) == (direct.stdout, direct.returncode), (what, p.stdout)
        # One message queued, the first, with one header; its bytes as without qwrap.
        msgs, dmsgs = run.one(got)["messages"], run.one(dgot)["messages"]
        assert len(msgs) == len(dmsgs) == 1, (what, msgs)
        assert dmsgs[0]["data"] == CR_DATA.replace(b"\r\n", b"\n"), dmsgs[0]["data"]
        field = check_stored(msgs[0], recs[0], dmsgs[0]["data"])
        assert field.endswith(b"\n") and not field.endswith(b"\r\n"), field
        # A record for each message: the refusal came after the second's record was written
        # (by design: README, "no message is queued without a record").
        assert [r["action"] for r in recs] == ["deliver", "deliver"], (what, recs)
        assert recs[1]["sender"] == "c@x", recs[1]


@smtp_test
def smtp__qmail_smtpd_held_then_released__same_bytes_as_qmail_smtpd_stored(env):
    # The relay holds a message "as the server would store it": here the server is qmail's
    # reading of DATA, so a held message, once released, must reach the real sendmail with the
    # very bytes the stand-in stored for the same data delivered (qwrap's header apart).
    skip = need_root(env)
    if skip:
        return skip
    rule = limits_conf(env, "hold", 2)
    big = CR_DATA + b"".join(b".%d\r\r\n\r.\r\n" % i for i in range(20000))  # past the head
    try:
        # Each delivered once, then held once.
        datas = [CR_DATA, big, CR_DATA, big]
        p, recs, got = env.run(["-bs"], stdin=session(*[(b"a@x", [b"b@x"], stuff(d))
                                                        for d in datas]), env=QMAIL_SMTPD)
        assert p.returncode == 0 and p.stdout.count(b"354 go ahead\r\n250 ok") == 4, p.stdout
        assert [r["action"] for r in recs] == ["deliver", "deliver", "hold", "hold"], recs
        stored = [run.split_header(m["data"])[1] for m in run.one(got)["messages"]]
        assert stored[0] == CR_DATA.replace(b"\r\n", b"\n"), stored[0]
        rel, _, runs = release_tool(env, rule)
        assert rel.returncode == 0 and len(runs) == 2, rel.stderr
        for s in runs:
            field, rest = run.split_header(s["stdin"])
            i = [r["id"] for r in recs].index(run.header_values(field)["id"])
            assert i in (2, 3) and rest == stored[i - 2], (i, len(rest), len(stored[i - 2]))
    finally:
        run.clear_limits(env)
