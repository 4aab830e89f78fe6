#!/usr/bin/env python3
"""scan_bench.py: `qwrap scan` on a generated qmail queue (issue 6).

Writes a queue of 100,000 messages (--quick: 10,000) in the formats of the
real queue in ../shared/fixtures/qmail (mess/N/ID with qmail-queue's
Received line first, info/N/ID, local/N/ID and remote/N/ID, split 23; a
tenth not yet preprocessed, in todo/ and intd/), from a few hundred uids,
some through qwrap's header, some by SMTP.  Then times `qwrap scan` over it
(3 runs, cold and warm page cache are not told apart: the queue is fresh)
and measures its peak RSS with tests/bench/rssprobe.c, at a tenth of the
queue and at all of it.

usage: python3 tests/bench/scan_bench.py [--quick] [--keep]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_bench import BUILD, ROOT, peak_rss_kib, say, tools  # noqa: E402
SPLIT = 23


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def generate(top, n, seed=6):
    rnd = random.Random(seed)
    for d in ("mess", "info", "local", "remote", "intd"):
        for i in range(SPLIT):
            os.makedirs(os.path.join(top, d, str(i)), exist_ok=True)
    os.makedirs(os.path.join(top, "todo"), exist_ok=True)
    domains = ["site%03d.example" % i for i in range(300)]
    subjects = ["Your account has been suspended - action required", "Invoice #%d overdue",
                "=?UTF-8?B?0JLQsNGIINCw0LrQutCw0YPQvdGCINC30LDQsdC70L7QutC40YDQvtCy0LDQvQ==?=",
                "Cron <root@web01> /usr/local/bin/backup.sh", "Weekly deals %d"]
    for k in range(n):
        msg_id = 1000000 + k * 7
        split = str(msg_id % SPLIT)
        uid = 10000 + rnd.randrange(300)
        site = domains[uid - 10000]
        smtp = k % 50 == 0
        received = ("Received: (qmail %d invoked from network); 26 Nov 2026 18:40:29 -0000\n"
                    "Received: from unknown (HELO User) (203.0.113.%d)\n"
                    "  by localhost with SMTP; 26 Nov 2026 18:40:29 -0000\n" % (k, k % 250)
                    if smtp else
                    "Received: (qmail %d invoked by uid %d); 26 Nov 2026 18:40:29 -0000\n" % (k, uid))
        head = received + ("Date: 26 Nov 2026 18:40:29 -0000\nMessage-ID: <%d.qmail@localhost>\n"
                           % k)
        if k % 3 == 0:
            head += ("X-Additional-Header: id=20261126184029.%012x; uid=%d;\n cwd=/var/www/vhosts/"
                     "%s/httpdocs;\n script=/var/www/vhosts/%s/httpdocs/x%d.php\r\n"
                     % (k, uid, site, site, k % 40))
        rcpt = ["u%d@%s" % (rnd.randrange(10 ** 6), rnd.choice(["example.com", "example.net",
                "example.org", "mail.example.com"])) for _ in range(1 + k % 9)]
        subject = rnd.choice(subjects)
        if "%d" in subject:
            subject = subject % (k % 100)
        head += "From: web@%s\nTo: %s\nSubject: %s\r\n\n" % (site, ", ".join(rcpt), subject)
        write(os.path.join(top, "mess", split, str(msg_id)), (head + "Hello.\r\n" * 20).encode())
        sender = b"Fweb@" + site.encode() + b"\0"
        trcpt = b"".join(b"T" + r.encode() + b"\0" for r in rcpt)
        if k % 10 == 9:
            env = b"u%d\0p%d\0" % (uid, k) + sender + trcpt
            write(os.path.join(top, "intd", split, str(msg_id)), env)
            os.link(os.path.join(top, "intd", split, str(msg_id)), os.path.join(top, "todo",
                                                                              str(msg_id)))
        else:
            write(os.path.join(top, "info", split, str(msg_id)), sender)
            write(os.path.join(top, "remote", split, str(msg_id)), trcpt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    n = 10000 if args.quick else 100000
    tmp = tempfile.mkdtemp(prefix="qwrap-scan-bench.", dir="/tmp")
    try:
        qwrap, probe = tools(tmp)
        say("bench: generating a queue of %d messages" % n)
        big, small = os.path.join(tmp, "queue"), os.path.join(tmp, "queue-tenth")
        generate(big, n)
        generate(small, n // 10)
        times = []
        for r in range(3):
            t = time.perf_counter()
            p = subprocess.run([qwrap, "scan", "--queue", big, "--json", "-n", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            times.append(time.perf_counter() - t)
            if p.returncode != 0:
                raise SystemExit("bench: qwrap scan failed: " + p.stderr.decode()[-500:])
        summary = json.loads(p.stdout.splitlines()[-1])
        if summary["scanned"] != n or summary["not_preprocessed"] != n // 10:
            raise SystemExit("bench: qwrap scan read %d messages of %d" % (summary["scanned"], n))
        rss = [(count, peak_rss_kib(probe, tmp, [qwrap, "scan", "--queue", q]))
               for q, count in ((small, n // 10), (big, n))]
        med = statistics.median(times)
        text = "\n".join([
            "%d messages (%d not yet preprocessed), 3 runs of `qwrap scan --json -n 0`:"
            " median %.2f s, %.0f messages/s" % (n, n // 10, med, n / med),
            "",
            "| queue | peak RSS of `qwrap scan` |",
            "|---:|---:|",
        ] + ["| %d messages | %.1f MiB |" % (c, k / 1024) for c, k in rss])
        say(text)
        with open(os.path.join(ROOT, BUILD, "scan-bench.md"), "w") as f:
            f.write(text + "\n")
    finally:
        if args.keep:
            say("bench: kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
