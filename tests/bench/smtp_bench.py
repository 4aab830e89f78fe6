#!/usr/bin/env python3
"""smtp_bench.py: `sendmail -bs` through qwrap's relay (issue 7), run by `make bench`.

Installs qwrap privately (bench.py's build_and_install) in front of the
stand-in, whose -bs mode speaks SMTP like qmail-smtpd (as a sink: messages
read, not kept), then times whole SMTP sessions given on stdin: the stand-in
called directly against the same session through qwrap-sendmail -bs,
interleaved run by run.  Sessions: one 1 KiB message (what Symfony Mailer
sends per mail() call), ten 1 KiB messages pipelined in one session, and
one 100 MiB message.  Peak RSS of the relay with the 100 MiB message and
with the 1 KiB one, by rssprobe (the real sendmail, its child, is counted
in: wait4 folds a process's reaped children into its peak).

It prints ratios; it is not a pass/fail test.  It fails only when something
does not work (a run that exits non-zero, a capture log without one record
per message).

usage: python3 tests/bench/smtp_bench.py [--build DIR] [--quick] [--keep]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import MiB, Runner, build_and_install, say, small_message  # noqa: E402

ROUNDS = {"one": 200, "ten": 100, "100m": 5}
QUICK = {"one": 30, "ten": 15, "100m": 2}


def session(messages):
    out = [b"EHLO bench.example\r\n"]
    for data in messages:
        out += [b"MAIL FROM:<www-data@bench.example>\r\n", b"RCPT TO:<a@example.com>\r\n",
                b"DATA\r\n", data, b".\r\n"]
    out.append(b"QUIT\r\n")
    return b"".join(out)


def as_smtp_data(msg):
    """LF lines as CRLF, dot-stuffed, ending in CRLF."""
    lines = msg.replace(b"\r\n", b"\n").split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


def write_big(path, size):
    line = b"x" * 76 + b"\r\n"
    with open(path, "wb") as f:
        f.write(b"EHLO bench.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
                b"DATA\r\nSubject: big\r\n\r\n")
        for _ in range(size // len(line)):
            f.write(line)
        f.write(b".\r\nQUIT\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/bench-smtp")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    rounds = QUICK if args.quick else ROUNDS
    tmp = tempfile.mkdtemp(prefix="qwrap-smtp-bench.")
    os.chmod(tmp, 0o755)
    try:
        progs = build_and_install(args.build, tmp)
        small = as_smtp_data(small_message())
        paths = {"one": os.path.join(tmp, "one"), "ten": os.path.join(tmp, "ten"),
                 "100m": os.path.join(tmp, "big")}
        with open(paths["one"], "wb") as f:
            f.write(session([small]))
        with open(paths["ten"], "wb") as f:
            f.write(session([small] * 10))
        write_big(paths["100m"], 100 * MiB)
        messages = {"one": 1, "ten": 10, "100m": 1}
        label = {"one": "1 message of 1 KiB", "ten": "10 pipelined messages of 1 KiB",
                 "100m": "1 message of 100 MiB"}
        env = {"PATH": "/usr/bin:/bin", "STANDIN_SINK": "1"}
        runner = Runner(tmp)
        rows, runs = [], 0
        for key in ("one", "ten", "100m"):
            say(f"bench-smtp: {label[key]}: {rounds[key]} rounds of direct, qwrap")
            res = {"direct": [], "qwrap": []}
            for i in range(rounds[key] + 1):	# the first round warms up
                order = ["direct", "qwrap"] if i % 2 == 0 else ["qwrap", "direct"]
                for v in order:
                    prog = progs["standin"] if v == "direct" else progs["wrapper"]
                    ns = runner.run([prog, "-bs"], env, paths[key], False, f"{key} {v}")
                    runs += messages[key] if v == "qwrap" else 0
                    if i > 0:
                        res[v].append(ns)
            d, q = statistics.median(res["direct"]), statistics.median(res["qwrap"])
            rows.append((label[key], d / 1e6, q / 1e6, q / d, (q - d) / 1e6))
        out = os.path.join(tmp, "probe.out")
        rss = {}
        for key in ("one", "100m"):
            rss[key] = statistics.median(
                runner.probe(progs["probe"], [progs["wrapper"], "-bs"], env, paths[key], False,
                             out)[0] for _ in range(3))
            runs += 3
        with open(progs["log"], "rb") as f:
            recs = [json.loads(l) for l in f]
        if len(recs) != runs or any(r["mode"] != "smtp" or r["action"] != "deliver"
                                    for r in recs):
            runner.failures.append(f"capture log: {len(recs)} records for {runs} messages")
        say("")
        say("| -bs session | direct (ms) | through qwrap (ms) | ratio | qwrap's cost (ms) |")
        say("|---|---|---|---|---|")
        for name, d, q, r, cost in rows:
            say(f"| {name} | {d:.2f} | {q:.2f} | {r:.2f} | {cost:.2f} |")
        say("")
        say(f"bench-smtp: peak RSS of qwrap-sendmail -bs (with its child): "
            f"{rss['one'] / 1024:.1f} MiB at 1 KiB, {rss['100m'] / 1024:.1f} MiB at 100 MiB")
        for f in runner.failures[:20]:
            say("bench-smtp: FAILED: " + f)
        return 1 if runner.failures else 0
    finally:
        if args.keep:
            say(f"bench-smtp: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
