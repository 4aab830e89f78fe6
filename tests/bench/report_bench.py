#!/usr/bin/env python3
"""report_bench.py: `qwrap top` against the jq pipeline of the old recipe (issue 5).

Generates a capture log of 1 million realistic records (2,000 scripts over 400
vhosts; every 10 records share a cwd, so cwd has 100,000 distinct values),
then times, alternating run by run on the same file:

    qwrap top --by script -n 0 FILE
    jq -r .script FILE | sort | uniq -c | sort -rn

checks that both give the same counts, and measures qwrap's peak RSS
(tests/bench/rssprobe.c) over the first 10% of the log and over all of it,
by script (2,000 keys) and by cwd (10,000 and 100,000 keys): memory follows
the number of distinct keys, not the size of the log.

With --fleet (issue 23; `make bench-fleet`): the central file of a fleet,
10 million records (about 5 GB) from 200 hosts, timed by host against
`jq -r .host | sort | uniq -c | sort -rn`, with qwrap's peak RSS over all of it;
into build-bench-report/fleet-bench.md.

usage: python3 tests/bench/report_bench.py [--quick] [--fleet] [--records N] [--keep]
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = "build-bench-report"


def say(*a):
    print(*a, flush=True)


def generate(path, n, seed=5, hosts=1):
    """N records shaped like the wrapper's, written with json.dumps, from HOSTS hosts."""
    rnd = random.Random(seed)
    domains = ["site%03d.example" % i for i in range(400)]
    scripts = ["/var/www/vhosts/%s/httpdocs/%s" % (rnd.choice(domains), rnd.choice(
        ["contact.php", "wp-mail.php", "index.php", "wp-content/plugins/x/mailer.php",
         "cart/checkout.php"]).replace(".php", "%d.php" % i)) for i in range(2000)]
    weights = [1.0 / (i + 1) for i in range(len(scripts))]  # a few send most, as in life
    t0 = 1795651200
    with open(path, "w") as f:
        for i in range(n):
            script = rnd.choices(scripts, weights)[0] if i % 512 else scripts[-1]
            uid = 10000 + hash(script.split("/")[4]) % 400
            rcpt = ["user%d@%s" % (rnd.randrange(10**6), rnd.choice(["example.net",
                    "mail.example", "example.org"])) for _ in range(1 + (i % 7 == 0) * 4)]
            ts = t0 + i * 0.05
            rec = {"v": 1, "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) +
                   ".%03dZ" % (i % 1000),
                   "id": "%s.%016x" % (time.strftime("%Y%m%d%H%M%S", time.gmtime(ts)),
                                       rnd.getrandbits(64)),
                   "host": "web%03d" % (i % hosts) if hosts > 1 else "web1", "action": "deliver", "mode": "message", "uid": uid,
                   "gid": uid, "pid": 1000 + i % 30000,
                   "cwd": "/var/www/vhosts/%s/httpdocs/d%d" % (domains[i // 10 % 400], i // 10),
                   "script": script, "script_from": "fd",
                   "parents": [{"pid": 900, "uid": uid, "exe": "/opt/plesk/php/8.2/bin/php-cgi",
                                "argv": ["php-cgi"]},
                               {"pid": 899, "uid": uid, "exe": "/bin/sh",
                                "argv": ["sh", "-c", "/usr/sbin/sendmail -t -i"]}],
                   "env": {"SCRIPT_FILENAME": script, "HTTP_HOST": script.split("/")[4]},
                   "argv": ["/usr/sbin/sendmail", "-t", "-i"], "sender": None,
                   "from": "WordPress <wordpress@%s>" % script.split("/")[4],
                   "rcpt": rcpt, "rcpt_count": len(rcpt),
                   "subject": rnd.choice(["Your order", "Password reset", "Newsletter",
                                          "Gewinnspiel: Sie haben gewonnen \u2014 jetzt!"]),
                   "message_id": "<%x@%s>" % (i, script.split("/")[4]),
                   "php_script": "%d:%s" % (uid, os.path.basename(script))}
            f.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")


def timed(argv, shell=False):
    t = time.perf_counter()
    p = subprocess.run(argv, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (argv, p.stderr.decode()[-500:]))
    return dt, p.stdout


def tools(tmp):
    """qwrap built into BUILD, and tests/bench/rssprobe.c compiled into TMP: their paths."""
    subprocess.run(["make", "-s", "BUILD=" + BUILD, BUILD + "/qwrap"], cwd=ROOT, check=True)
    probe = os.path.join(tmp, "rssprobe")
    subprocess.run(["cc", "-O2", "-o", probe, os.path.join(ROOT, "tests/bench/rssprobe.c")],
                   check=True)
    return os.path.join(ROOT, BUILD, "qwrap"), probe


def peak_rss_kib(probe, tmp, argv):
    out = os.path.join(tmp, "probe.out")
    subprocess.run([probe, out] + argv, stdout=subprocess.DEVNULL, check=True)
    with open(out) as f:
        main = [l.split() for l in f if l.startswith("main ")][0]
    return int(main[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="200,000 records, 1 round")
    ap.add_argument("--records", type=int)
    ap.add_argument("--fleet", action="store_true", help="10 million records, 200 hosts, by host")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    n = args.records or (200000 if args.quick else 10000000 if args.fleet else 1000000)
    key = "host" if args.fleet else "script"
    rounds = 1 if args.quick else 3
    tmp = tempfile.mkdtemp(prefix="qwrap-report-bench.", dir="/tmp")
    try:
        qwrap, probe = tools(tmp)
        log = os.path.join(tmp, "capture.log")
        say("bench: generating %d records" % n)
        generate(log, n, hosts=200 if args.fleet else 1)
        tenth = os.path.join(tmp, "tenth.log")
        with open(log, "rb") as src, open(tenth, "wb") as dst:
            for i, line in enumerate(src):
                if i >= n // 10:
                    break
                dst.write(line)
        size = os.path.getsize(log)
        q_argv = [qwrap, "top", "--by", key, "-n", "0", log]
        jq_cmd = "jq -r .%s %s | sort | uniq -c | sort -rn" % (key, log)
        q_times, jq_times = [], []
        for r in range(rounds):
            say("bench: round %d of %d" % (r + 1, rounds))
            for which in (("q", "jq") if r % 2 == 0 else ("jq", "q")):
                if which == "q":
                    dt, q_out = timed(q_argv)
                    q_times.append(dt)
                else:
                    dt, jq_out = timed(jq_cmd, shell=True)
                    jq_times.append(dt)
        # Both must say the same thing.
        ours = {l.split("\t")[2]: int(l.split("\t")[0]) for l in q_out.decode().splitlines()}
        theirs = {}
        for l in jq_out.decode().splitlines():
            c, k = l.strip().split(" ", 1)
            theirs[k] = int(c)
        if ours != theirs:
            raise SystemExit("bench: qwrap top and the jq pipeline disagree")
        rss = []
        for by, path, what in ((key, tenth, "10% of the log"), (key, log, "the whole log"),
                               ("cwd", tenth, "10% of the log"), ("cwd", log, "the whole log")):
            argv = [qwrap, "top", "--by", by, "-n", "0", path]
            keys = len(timed(argv)[1].splitlines())
            rss.append(("by %s, %s" % (by, what), keys, peak_rss_kib(probe, tmp, argv)))
        qm, jm = statistics.median(q_times), statistics.median(jq_times)
        lines = [
            "%s, %d CPUs; %s; %d records, %.0f MiB; %d round(s)" % (
                platform.platform(), os.cpu_count(), time.strftime("%Y-%m-%d %H:%M UTC",
                time.gmtime()), n, size / 2**20, rounds),
            "| | median s | records/s |",
            "|---|---:|---:|",
            "| `qwrap top --by %s` | %.2f | %.0f |" % (key, qm, n / qm),
            "| `jq -r .%s \\| sort \\| uniq -c \\| sort -rn` | %.2f | %.0f |" % (key, jm, n / jm),
            "",
            "qwrap is **%.1f times** as fast (target: at least 3); both gave the same %d counts." % (
                jm / qm, len(ours)),
            "",
            "| qwrap's peak RSS | keys | MiB |",
            "|---|---:|---:|",
        ]
        for what, keys, kib in rss:
            lines.append("| %s | %d | %.1f |" % (what, keys, kib / 1024))
        text = "\n".join(lines)
        say(text)
        md = "fleet-bench.md" if args.fleet else "report-bench.md"
        with open(os.path.join(ROOT, BUILD, md), "w") as f:
            f.write(text + "\n")
        say("bench: qwrap top %.2f s, jq pipeline %.2f s: %.1fx; Markdown in %s/%s"
            % (qm, jm, jm / qm, BUILD, md))
    finally:
        if args.keep:
            say("bench: kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
