"""A fleet of servers (issue 23): records shipped by two real rsyslogd instances, started
here on 127.0.0.1 with contrib/rsyslog's configs (private paths, ports and work
directories put in): byte for byte, none lost or doubled when the central one is away or
the sender restarts; qwrap top --by host over the central file; qwrap tail -f across the
next day's file; the progress line on a terminal; the record's host_id."""
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import __main__ as run  # run.py's helpers

TESTS = []
CONTRIB = os.path.join(run.REPO, "contrib", "rsyslog")


def fleet_test(fn):
    TESTS.append(fn)
    return fn


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rsyslogd:
    """One rsyslogd in the foreground, its config contrib/rsyslog/NAME with SUBS put in."""

    def __init__(self, top, name, subs):
        self.dir = os.path.join(top, name)
        os.makedirs(os.path.join(self.dir, "work"))
        with open(os.path.join(CONTRIB, name + ".conf")) as f:
            text = f.read()
        for old, new in subs:
            assert old in text, (name, old)
            text = text.replace(old, new)
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write('global(workDirectory="%s")\n' % os.path.join(self.dir, "work") + text)
        p = subprocess.run(["rsyslogd", "-N1", "-f", self.conf], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        self.p = None

    def start(self):
        self.log = open(os.path.join(self.dir, "rsyslogd.out"), "ab")
        self.p = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i",
                                   os.path.join(self.dir, "pid")],
                                  stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(30)
        self.p = None


def records(n, start=0, hosts=("web01.example", "web02.example")):
    """N records as the wrapper writes them, of every shape the hop must keep: raw UTF-8 and
    \\u escapes, quotes and backslashes, U+2028, and lines up to the 4 KiB bound."""
    rnd = random.Random(start)
    out = []
    for i in range(start, start + n):
        host = hosts[i % len(hosts)]
        r = {"v": 1, "ts": "2026-12-07T03:20:%02d.%03dZ" % (i % 60, i % 1000),
             "id": "20261207032000.%016x" % i, "host": host,
             "host_id": hashlib.sha256(host.encode()).hexdigest()[:32],
             "action": "deliver", "mode": "message", "uid": 1000 + i % 7, "gid": 1000,
             "pid": 4000 + i, "cwd": "/var/www/vhosts/shop.example/httpdocs",
             "script": "/var/www/vhosts/shop.example/httpdocs/x%d.php" % (i % 3),
             "subject": "Prix spécial \"%d\" \\ \u2028 %s" % (i, "é" * rnd.randint(0, 40)),
             "rcpt": ["a%d@example.org" % k for k in range(rnd.randint(1, 3))]}
        line = json.dumps(r, ensure_ascii=bool(i % 2), separators=(",", ":"))
        if i % 97 == 0:   # a long one, just under the bound
            r["subject"] += "x" * (4095 - len(line.encode()) - 1)
            line = json.dumps(r, ensure_ascii=bool(i % 2), separators=(",", ":"))
            assert len(line.encode()) + 1 <= 4096
        out.append(line.encode() + b"\n")
    return out


def append(path, lines):
    with open(path, "ab") as f:
        f.write(b"".join(lines))


def central_bytes(fleet):
    data = b""
    for name in sorted(os.listdir(fleet)):
        with open(os.path.join(fleet, name), "rb") as f:
            data += f.read()
    return data


def wait_bytes(fleet, want, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        got = central_bytes(fleet) if os.path.isdir(fleet) else b""
        if len(got) >= len(want):
            return got
        time.sleep(0.2)
    return central_bytes(fleet) if os.path.isdir(fleet) else b""


def same_records(got, sent, what):
    """Every record arrived once and byte for byte.  Not always in the sender's order:
    rsyslog's disk-assisted queue sends what it spilled to disk after what it kept in
    memory, so the central file is compared as a multiset of lines (each has its ts)."""
    lines = got.splitlines(keepends=True)
    assert got.endswith(b"\n"), what
    assert len(lines) == len(sent), (what, len(lines), len(sent))
    assert sorted(lines) == sorted(sent), (what, "records differ or are doubled")
    return sum(a != b for a, b in zip(lines, sent))


@fleet_test
def fleet__rsyslog_sender_to_central__byte_identical_none_lost_none_doubled(env):
    if not env.is_root:
        return "skipped: needs root (rsyslogd's ports and work directories)"
    top = tempfile.mkdtemp(prefix="qwrap-fleet.")
    port = str(free_port())
    log = os.path.join(top, "sender", "capture.log")
    fleet = os.path.join(top, "central", "fleet")
    central = Rsyslogd(top, "qwrap-central", [('port="2514"', 'port="%s"' % port),
                                              ("/var/log/qwrap-fleet/", fleet + "/")])
    sender = Rsyslogd(top, "qwrap-sender", [
        ("/var/log/qwrap/capture.log", log), ("central.example.net", "127.0.0.1"),
        ('port="2514"', 'port="%s"' % port),
        ('action.resumeInterval="10"', 'action.resumeInterval="1"')])
    try:
        os.makedirs(os.path.dirname(log))
        open(log, "wb").close()
        central.start()
        sender.start()
        sent = records(2000)
        append(log, sent)
        moved = same_records(wait_bytes(fleet, b"".join(sent)), sent, "first 2000")
        files = os.listdir(fleet)
        day = time.strftime("capture-%Y-%m-%d.jsonl", time.gmtime())
        assert day in files, files

        # The central server away for a while: the sender keeps what it could not send.
        central.stop()
        more = records(500, start=2000)
        append(log, more)
        time.sleep(3)
        central.start()
        sent += more
        moved += same_records(wait_bytes(fleet, b"".join(sent)), sent, "central restarted")

        # The sender stopped and started again: it goes on where it was, nothing twice.
        sender.stop()
        more = records(300, start=2500)
        append(log, more)
        sender.start()
        sent += more
        wait_bytes(fleet, b"".join(sent))
        time.sleep(2)   # anything doubled would come now
        moved += same_records(central_bytes(fleet), sent, "sender restarted")

        # The central view: who sent, per host.
        p = run.qwrap_tool(env, "top", "--by", "host", "--json", *[os.path.join(fleet, f)
                                                                    for f in files])
        assert p.returncode == 0, p.stderr
        rows = {r["key"]: r["messages"] for r in map(json.loads, p.stdout.splitlines())}
        assert rows == {"web01.example": 1400, "web02.example": 1400}, rows
        p = run.qwrap_tool(env, "grep", "--host", "web02.example", "--json",
                           os.path.join(fleet, day))
        assert len(p.stdout.splitlines()) == 1400, p.stderr
        return "2800 records byte for byte, central away 3 s, sender restarted (%d lines " \
            "out of the sender's order)" % moved
    finally:
        sender.stop()
        central.stop()
        shutil.rmtree(top, ignore_errors=True)


@fleet_test
def fleet__tail_f_pattern__goes_on_to_the_next_days_file(env):
    top = tempfile.mkdtemp(prefix="qwrap-fleet.")
    try:
        day1 = os.path.join(top, "capture-2026-12-07.jsonl")
        day2 = os.path.join(top, "capture-2026-12-08.jsonl")
        lines = records(6, hosts=("a.example",))
        append(day1, lines[:2])
        p = subprocess.Popen([os.path.join(env.sbin, "qwrap"), "tail", "-f", "-n", "1", "--json",
                              os.path.join(top, "capture-*.jsonl")], stdout=subprocess.PIPE)
        try:
            def next_id():
                line = p.stdout.readline()
                assert line, "qwrap tail ended"
                return json.loads(line)["id"]

            ids = [json.loads(l)["id"] for l in lines]
            assert next_id() == ids[1]          # -n 1: the last of the day
            append(day1, lines[2:3])
            assert next_id() == ids[2]
            append(day2, lines[3:5])            # midnight: the next day's file
            assert next_id() == ids[3] and next_id() == ids[4]
            append(day2, lines[5:6])
            assert next_id() == ids[5]
        finally:
            p.kill()
            p.wait()
        return "the last record, then one day's file after the other"
    finally:
        shutil.rmtree(top, ignore_errors=True)


@fleet_test
def fleet__progress_line_on_a_terminal_only(env):
    top = tempfile.mkdtemp(prefix="qwrap-fleet.")
    try:
        path = os.path.join(top, "big.jsonl")
        line = b'{"v":1,"ts":"2026-12-07T03:20:00.000Z","id":"x","host":"h%d","action":"deliver"}\n'
        with open(path, "wb") as f:
            for i in range(250000):
                f.write(line % (i % 3))
        qwrap = os.path.join(env.sbin, "qwrap")
        # Under a terminal (script(1) makes one): the progress line, then the table.
        p = subprocess.run(["script", "-qec", "%s top --by host %s" % (qwrap, path),
                            "/dev/null"], capture_output=True, timeout=120)
        assert p.returncode == 0, p
        out = p.stdout
        assert b"\rqwrap: big.jsonl: 100000 records" in out, out[:400]
        assert b"\rqwrap: big.jsonl: 200000 records" in out, out[:400]
        assert out.count(b"h0") == 1 and b"83334" in out, out[-400:]
        # Piped: none.
        p = run.qwrap_tool(env, "top", "--by", "host", path)
        assert p.returncode == 0 and b"records" not in p.stderr, p.stderr
        # tail on a terminal has grep's heading; piped, none.
        p = subprocess.run(["script", "-qec", "%s tail -n 1 %s" % (qwrap, path), "/dev/null"],
                           capture_output=True, timeout=60)
        assert p.stdout.startswith(b"TIME (UTC)") and p.stdout.count(b"\n") == 2, p.stdout
        p = run.qwrap_tool(env, "tail", "-n", "1", path)
        assert not p.stdout.startswith(b"TIME") and p.stdout.count(b"\n") == 1, p.stdout
        return "two progress lines on a terminal, none when piped; tail's heading"
    finally:
        shutil.rmtree(top, ignore_errors=True)


@fleet_test
def fleet__record_host_id__hash_of_the_machine_id(env):
    try:
        with open("/etc/machine-id", "rb") as f:
            mid = f.read()
    except OSError:
        mid = b""
    p, recs, _ = env.run(["-t", "-i"], stdin=b"To: a@example.org\nSubject: s\n\nb\n")
    assert p.returncode == 0 and len(recs) == 1, p
    if len(mid) != 33:
        assert "host_id" not in recs[0], recs[0]
        return "skipped: no machine id here: the record has no host_id, as it should"
    want = hashlib.sha256(b"qwrap host id\n" + mid).hexdigest()[:32]
    assert recs[0]["host_id"] == want, recs[0]
    return "host_id " + want
