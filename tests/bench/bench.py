#!/usr/bin/env python3
"""bench.py: qwrap-sendmail's benchmark (the targets: docs/PERFORMANCE.md), run by `make bench`.

Builds and installs qwrap privately under a temporary directory, then times
the real sendmail called directly against the same called through
qwrap-sendmail (and through the old shell recipe, and through bare
exec-only wrappers for reference), interleaved run by run, for a small PHP
mail() message, 1 MiB and 100 MiB.  The real sendmail is the real qmail
(notqmail, built by tests/notqmail.sh; as root only), run as an unprivileged
user with qwrap-sendmail set-gid as installed; and the stand-in sendmail in
two modes, labelled: a sink (STANDIN_SINK=1: read the message, discard it)
and a model of a qmail submission (STANDIN_QUEUE=DIR).  It also measures the
peak RSS of qwrap-sendmail and of its keeper and pump at 1 KiB, 1 MiB and 100 MiB.

It prints ratios; it is not a pass/fail test.  It fails only when something
does not work (a build, a run that exits non-zero, a message that does not
arrive whole).  The same figures go to BUILD/bench.md as Markdown.

usage: python3 tests/bench/bench.py [--build DIR] [--quick] [--keep]
"""

import argparse
import base64
import ctypes
import datetime
import gc
import grp
import json
import os
import platform
import random
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import realqmail  # noqa: E402  (the real qmail the tests build, and its queue)
KiB = 1024
MiB = 1024 * KiB
PR_SET_CHILD_SUBREAPER = 36
HEADER_NAME = b"X-Additional-Header:"
# The Makefile's flags for a normal (non-sanitizer) build.
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-O2", "-g",
          "-D_FORTIFY_SOURCE=3", "-fstack-protector-strong", "-fstack-clash-protection",
          "-fPIE", "-pie", "-Wl,-z,relro,-z,now"]

# (timed rounds, warm-up rounds, peak-RSS probe runs) per message size, and with --quick;
# into the qmail model, whose fsyncs make each run slower, (rounds, warm-up) per size.
ROUNDS = {"small": (400, 20, 9), "1m": (60, 3, 9), "100m": (10, 1, 9)}
QUICK_ROUNDS = {"small": (60, 5, 3), "1m": (10, 1, 3), "100m": (3, 1, 3)}
QUEUE_ROUNDS = {"small": (200, 10), "100m": (10, 1)}
QUICK_QUEUE_ROUNDS = {"small": (40, 3), "100m": (3, 1)}
# Peak RSS medians of 1 MiB and 100 MiB closer than this count as equal: the
# same program varies by about 100 KiB from run to run.
RSS_NOISE_KIB = 256


class BenchError(Exception):
    pass


def say(*a):
    print(*a, flush=True)


def run_cmd(argv, what, **kw):
    p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    if p.returncode != 0:
        raise BenchError(f"{what} failed ({' '.join(argv)}):\n{p.stdout[-3000:]}")
    return p.stdout


# ---- build and private install -------------------------------------------------------------

def build_and_install(build, tmp):
    """Returns a dict of the programs and notes about how they were made."""
    make_vars = [f"BUILD={build}", f"PREFIX={tmp}", f"SYSCONFDIR={tmp}/etc",
                 f"LOCALSTATEDIR={tmp}/var", f"REAL_SENDMAIL={tmp}/standin"]
    notes = []
    # -B: the compiled-in paths name this run's temporary directory; objects
    # of an earlier run must never be reused, whatever make thinks of them.
    say(f"bench: building qwrap into {build} and installing it under {tmp}")
    run_cmd(["make", "-B", "-j2", *make_vars, "all"], "make all")
    out = run_cmd(["make", *make_vars, "install"], "make install")
    for line in out.splitlines():
        if line.startswith("install:"):
            notes.append(line)
    # Thousands of messages from one uid: no limits, unless a run sets its own.
    conf = os.path.join(tmp, "etc", "qwrap", "qwrap.conf")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write("\n".join("limits = ();" if l.startswith("limits ") else l
                          for l in text.split("\n")))

    # The stand-in's rule has been BUILD/standin and BUILD/tests/standin: try
    # both, and compile it directly with the Makefile's flags if neither works.
    standin = os.path.join(tmp, "standin")
    tried = []
    for target in (os.path.join(build, "standin"), os.path.join(build, "tests", "standin")):
        p = subprocess.run(["make", *make_vars, target], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        built = os.path.join(ROOT, target)
        if p.returncode == 0 and os.path.isfile(built) and os.access(built, os.X_OK):
            shutil.copyfile(built, standin)
            break
        tried.append(f"`make {target}`: " + (p.stdout.strip().splitlines() or ["failed"])[-1])
    else:
        notes.append("stand-in compiled directly from tests/standin/standin.c with the "
                     "Makefile's flags (" + "; ".join(tried) + ")")
        run_cmd(["cc", *CFLAGS, "-o", standin, "tests/standin/standin.c"], "compiling the stand-in")
    os.chmod(standin, 0o755)

    probe = os.path.join(tmp, "rssprobe")
    run_cmd(["cc", *CFLAGS, "-o", probe, "tests/bench/rssprobe.c"], "compiling rssprobe")

    wrapper = os.path.join(tmp, "sbin", "qwrap-sendmail")
    # The exec-only wrapper is linked as qwrap-sendmail is (static-pie or
    # dynamic), so that the two differ only in what they do.
    static = elf_is_static(wrapper)
    execonly = os.path.join(tmp, "execonly")
    flags = [("-static-pie" if static and f == "-pie" else f) for f in CFLAGS]
    run_cmd(["cc", *flags, f'-DREAL_SENDMAIL="{standin}"', "-o", execonly,
             "tests/bench/execonly.c"], "compiling execonly")
    # The same without a C library: what the exec alone costs, start-up apart.
    execbare = None
    if platform.machine() == "x86_64" and platform.system() == "Linux":
        execbare = os.path.join(tmp, "execbare")
        run_cmd(["cc", "-O2", "-nostdlib", "-static", f'-DREAL_SENDMAIL="{standin}"', "-o",
                 execbare, "tests/bench/execbare.c"], "compiling execbare")
    st = os.stat(wrapper)
    if st.st_mode & stat.S_ISGID:
        os.chmod(wrapper, stat.S_IMODE(st.st_mode) & ~stat.S_ISGID)
        group = grp.getgrgid(st.st_gid).gr_name
        notes.append(f"qwrap-sendmail was installed set-gid (group {group}); the bit is "
                     "removed from this private install for the main runs")

    # A set-gid copy, to show what a secure-mode (AT_SECURE) start costs: any
    # group other than ours makes the exec a set-gid one.
    sgid = None
    if os.geteuid() == 0:
        for name in ("qwrap", "mail", "nogroup"):
            try:
                g = grp.getgrnam(name)
            except KeyError:
                continue
            if g.gr_gid != os.getgid():
                sgid = os.path.join(tmp, "sbin", "qwrap-sendmail-sgid")
                shutil.copyfile(wrapper, sgid)
                os.chown(sgid, 0, g.gr_gid)
                os.chmod(sgid, 0o2755)
                notes.append(f"qwrap set-gid: a copy of qwrap-sendmail, root:{name} mode 2755 "
                             "(AT_SECURE exec), timed for the small message only")
                break

    recipe = os.path.join(tmp, "recipe.sh")
    with open(recipe, "w") as f:
        f.write("#!/bin/sh\n"
                f"(echo X-Additional-Header: $PWD; cat) | tee -a {tmp}/mail.send | {standin} \"$@\"\n")
    os.chmod(recipe, 0o755)
    return {"standin": standin, "wrapper": wrapper, "sgid": sgid, "execonly": execonly,
            "execbare": execbare, "static": static, "probe": probe, "recipe": recipe,
            "mailsend": os.path.join(tmp, "mail.send"),
            "log": os.path.join(tmp, "var", "log", "qwrap", "capture.log"), "notes": notes}


def elf_is_static(path):
    """True when the ELF file has no program interpreter (static or static-pie)."""
    with open(path, "rb") as f:
        h = f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2 or h[5] != 1:
            return False	# not a 64-bit little-endian ELF: say dynamic
        phoff = int.from_bytes(h[32:40], "little")
        phentsize = int.from_bytes(h[54:56], "little")
        phnum = int.from_bytes(h[56:58], "little")
        f.seek(phoff)
        for _ in range(phnum):
            if int.from_bytes(f.read(phentsize)[:4], "little") == 3:	# PT_INTERP
                return False
    return True


def standin_has_queue(standin, msgpath, qdir):
    """Whether this stand-in knows STANDIN_QUEUE (one without it wants STANDIN_DIR)."""
    with open(msgpath, "rb") as f:
        p = subprocess.run([standin, "-t", "-i"], stdin=f, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL,
                           env={"PATH": "/usr/bin:/bin", "STANDIN_QUEUE": qdir})
    return p.returncode == 0


# ---- messages ------------------------------------------------------------------------------

def small_message():
    """What PHP's mail() hands sendmail for a contact form, CRLF headers: 1024 bytes."""
    head = ("To: customer@example.net\r\n"
            "Subject: Your enquiry #10482 at Example Shop\r\n"
            "X-PHP-Originating-Script: 1001:contact.php\r\n"
            "From: Example Shop <shop@example.com>\r\n"
            "Reply-To: support@example.com\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n")
    body = ("Hello Jane,\r\n\r\n"
            "thank you for your message. We have received your enquiry about order\r\n"
            "#10482 and one of our team will get back to you within one working day.\r\n\r\n"
            "Your message:\r\n"
            "> Hi, the parcel has not arrived yet and the tracking page shows no\r\n"
            "> update since Monday. Could you check with the carrier, please?\r\n\r\n"
            "You can see the status of your order at any time in your account:\r\n"
            "https://shop.example.com/account/orders/10482\r\n\r\n"
            "Kind regards,\r\nExample Shop customer service\r\n"
            "--\r\nExample Shop Ltd, 1 High Street, Exampletown\r\n")
    msg = (head + body).encode()
    pad = 1024 - len(msg)
    assert pad >= 2, len(msg)
    return msg + b"." * (pad - 2) + b"\r\n"


def write_large_message(path, size, seed):
    """A mail with a base64 attachment of pseudo-random bytes, exactly SIZE bytes."""
    head = ("To: customer@example.net\r\n"
            "Subject: Your invoice\r\n"
            "X-PHP-Originating-Script: 1001:invoice.php\r\n"
            "From: Example Shop <shop@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
            "\r\n"
            "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            "Please find your invoice attached.\r\n\r\n"
            "--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode()
    tail = b"\r\n--b1--\r\n"
    rng = random.Random(seed)
    left = size - len(head) - len(tail)
    with open(path, "wb") as f:
        f.write(head)
        while left > 0:
            chunk = base64.encodebytes(rng.randbytes(57 * 16384)).replace(b"\n", b"\r\n")
            chunk = chunk[:left]
            f.write(chunk)
            left -= len(chunk)
        f.write(tail)
    assert os.path.getsize(path) == size


# ---- running -------------------------------------------------------------------------------

class Runner:
    """Starts one program per message with posix_spawn and waits for it."""

    def __init__(self, tmp):
        self.devnull = os.open("/dev/null", os.O_RDWR)
        self.errpath = os.path.join(tmp, "stderr.log")
        self.errfd = os.open(self.errpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.cat = shutil.which("cat") or "/bin/cat"
        self.failures = []
        self.orphan_rss = []	# ru_maxrss (KiB) of the pumps reaped after timed runs

    def run(self, argv, env, msgpath, pipe, what):
        """Wall time in ns of one message, from spawn to the exit of everything started."""
        fd = os.open(msgpath, os.O_RDONLY)
        try:
            if not pipe:
                acts = [(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, self.devnull, 1),
                        (os.POSIX_SPAWN_DUP2, self.errfd, 2)]
                t0 = time.perf_counter_ns()
                pid = os.posix_spawn(argv[0], argv, env, file_actions=acts)
                _, status, _ = os.wait4(pid, 0)
                t1 = time.perf_counter_ns()
            else:
                # The realistic case: PHP's popen hands sendmail a pipe.
                r, w = os.pipe()
                wacts = [(os.POSIX_SPAWN_DUP2, fd, 0), (os.POSIX_SPAWN_DUP2, w, 1),
                         (os.POSIX_SPAWN_DUP2, self.errfd, 2)]
                acts = [(os.POSIX_SPAWN_DUP2, r, 0), (os.POSIX_SPAWN_DUP2, self.devnull, 1),
                        (os.POSIX_SPAWN_DUP2, self.errfd, 2)]
                t0 = time.perf_counter_ns()
                wpid = os.posix_spawn(self.cat, [self.cat], env, file_actions=wacts)
                pid = os.posix_spawn(argv[0], argv, env, file_actions=acts)
                os.close(r)
                os.close(w)
                _, status, _ = os.wait4(pid, 0)
                _, wstatus = os.waitpid(wpid, 0)
                t1 = time.perf_counter_ns()
                if wstatus != 0:
                    self.failures.append(f"{what}: the writer (cat) exited with status {wstatus:#x}")
        finally:
            os.close(fd)
        if status != 0:
            self.failures.append(f"{what}: exit status {os.waitstatus_to_exitcode(status)}")
        self.reap_orphans(what)
        return t1 - t0

    def reap_orphans(self, what):
        """Reaps the pumps reparented to us, so that no run overlaps the next."""
        deadline = time.monotonic() + 60
        while True:
            try:
                pid, status, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                if time.monotonic() > deadline:
                    raise BenchError(f"{what}: a descendant still runs 60 s after the message")
                time.sleep(0.0002)
                continue
            self.orphan_rss.append(ru.ru_maxrss)
            if status != 0:
                self.failures.append(f"{what}: an orphan exited with status {status:#x}")

    def probe(self, probe, argv, env, msgpath, pipe, outpath):
        """Peak RSS (KiB) of the program and of its orphans, measured by rssprobe."""
        self.run([probe, outpath, *argv], env, msgpath, pipe, "rssprobe")
        main, orphans = None, []
        with open(outpath) as f:
            for line in f:
                kind, status, rss = line.split()
                if int(status) != 0:
                    self.failures.append(f"rssprobe {argv[0]}: {kind} status {int(status):#x}")
                if kind == "main":
                    main = int(rss)
                else:
                    orphans.append(int(rss))
        if main is None:
            raise BenchError("rssprobe wrote no result")
        return main, orphans


def verify_delivery(runner, prog, msgpath, pipe, tmp, label):
    """One run through qwrap with the stand-in recording: the message must arrive whole."""
    recdir = os.path.join(tmp, "verify", label)
    os.makedirs(recdir)
    env = {"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir}
    runner.run([prog, "-t", "-i"], env, msgpath, pipe, f"verify {label}")
    dirs = os.listdir(recdir)
    if len(dirs) != 1:
        raise BenchError(f"verify {label}: the stand-in left {len(dirs)} records, not 1")
    rec = os.path.join(recdir, dirs[0])
    with open(os.path.join(rec, "info.json")) as f:
        info = json.load(f)
    stdin = os.path.join(rec, "stdin")
    size = os.path.getsize(msgpath)
    with open(stdin, "rb") as got, open(msgpath, "rb") as want:
        first = got.read(8192)
        if not first.startswith(HEADER_NAME):
            raise BenchError(f"verify {label}: the message does not start with {HEADER_NAME!r}")
        # The header, with its folded continuation lines.
        end = first.index(b"\n") + 1
        while first[end:end + 1] in (b" ", b"\t"):
            end = first.index(b"\n", end) + 1
        hdrlen = end
        total = os.path.getsize(stdin)
        if total != size + hdrlen or info.get("stdin_bytes") != total:
            raise BenchError(f"verify {label}: the stand-in read {total} bytes, "
                             f"expected {size} + {hdrlen} of header")
        got.seek(hdrlen)
        while True:
            a, b = got.read(MiB), want.read(MiB)
            if a != b:
                raise BenchError(f"verify {label}: the message arrived changed")
            if not a:
                break
    if info.get("exit") != 0:
        raise BenchError(f"verify {label}: the stand-in exited {info.get('exit')}")
    shutil.rmtree(recdir)
    return hdrlen


# ---- statistics and output -----------------------------------------------------------------

def quartiles(xs):
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def fmt_ms(ns):
    ms = ns / 1e6
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 1000 else f"{ms:.0f}"


def fmt_rss(kib):
    return "-" if kib is None else f"{kib / 1024:.2f}"


def rss_med(xs):
    return statistics.median(xs) if xs else None


def fmt_rss_cell(xs):
    """Median over the runs, and the largest when it differs."""
    if not xs:
        return "-"
    med, top = statistics.median(xs), max(xs)
    return fmt_rss(med) + (f" (max {fmt_rss(top)})" if fmt_rss(top) != fmt_rss(med) else "")


def table(rows, markdown, text_cols=1):
    """rows: list of lists of strings, the first one the header; the first
    TEXT_COLS columns are text (left-aligned), the others numbers."""
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |",
               "|" + "|".join("---" if i < text_cols else "---:"
                              for i in range(len(rows[0]))) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i < text_cols else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-bench", help="build directory (default build-bench)")
    ap.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke test")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    os.chdir(ROOT)
    rounds = QUICK_ROUNDS if args.quick else ROUNDS
    started = time.monotonic()

    # Make us the reaper of the keepers and pumps, grandchildren whose parent exits at once.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise BenchError("prctl(PR_SET_CHILD_SUBREAPER) failed: " + os.strerror(ctypes.get_errno()))

    tmp = tempfile.mkdtemp(prefix="qwrap-bench.", dir="/tmp")
    try:
        return bench(args, rounds, tmp, started)
    finally:
        if args.keep:
            say(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


class OtherLoad:
    """How much CPU the rest of the machine used while we ran: all busy time
    (/proc/stat) less our own and our children's, as a share of all CPUs.
    The load average cannot tell: it counts the benchmark itself."""

    def __init__(self):
        self.start = self.sample()

    @staticmethod
    def sample():
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:8]]
        except (OSError, ValueError):
            return None
        busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")  # not idle, iowait
        t = os.times()
        return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()

    def share(self):
        end = self.sample()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        others = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return max(0.0, others / ((end[2] - self.start[2]) * (os.cpu_count() or 1)))


INTO = {"sink": "sink", "queue": "qmail model", "qmail": "real qmail"}
GROUP, USER = "qwrap", "qwraptest"     # the integration tests' group and user


class BenchUser:
    """The qwrap group and an unprivileged user for the real-qmail runs (root only):
    made when missing, removed afterwards."""

    def __init__(self):
        self.made = []
        if os.geteuid() != 0:
            self.uid = None
            return
        for kind, name, cmd in (("group", GROUP, ["groupadd", "--system", GROUP]),
                                ("passwd", USER, ["useradd", "--system", "--no-create-home",
                                                  "--shell", "/usr/sbin/nologin", USER])):
            if subprocess.run(["getent", kind, name], stdout=subprocess.DEVNULL).returncode:
                run_cmd(cmd, f"making the {kind} {name}")
                self.made.append(kind)
        import pwd
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def remove(self):
        if "passwd" in self.made:
            subprocess.run(["userdel", USER])
        if "group" in self.made:
            subprocess.run(["groupdel", GROUP])


def find_qmail():
    """The real qmail the tests build (tests/notqmail.sh, once per machine), or None."""
    qm, why = realqmail.Qmail.find()
    if qm is None:
        say("bench: no real qmail: " + why)
    return qm


def into_real_qmail(progs, qm, tmp, user):
    """The programs of the real-qmail runs: qmail's own sendmail directly, and every
    wrapper in front of it; the two qwrap installs point their config at it and are
    set-gid again, as installed (they run as an unprivileged user there)."""
    sendmail = qm.sendmail
    q = {"direct": sendmail, "qwrap": progs["wrapper"], "limits": progs["limits"],
         "freeze": progs["freeze"]}
    confs = {}
    for wrapper in (progs["wrapper"], progs["limits"], progs["freeze"]):
        top = os.path.dirname(os.path.dirname(wrapper))
        conf = os.path.join(top, "etc", "qwrap", "qwrap.conf")
        with open(conf) as f:
            confs[conf] = f.read()
        lines = [l for l in confs[conf].split("\n") if not l.startswith("sendmail ")]
        with open(conf, "w") as f:
            f.write("\n".join(lines + [f'sendmail = "{sendmail}";', ""]))
        os.chown(wrapper, 0, grp.getgrnam(GROUP).gr_gid)
        os.chmod(wrapper, 0o2755)

    def restore():
        for conf, text in confs.items():
            with open(conf, "w") as f:
                f.write(text)
        for wrapper in (progs["wrapper"], progs["limits"], progs["freeze"]):
            os.chmod(wrapper, 0o755)
    q["restore"] = restore
    q["execonly"] = os.path.join(tmp, "execonly-qmail")
    flags = [("-static-pie" if progs["static"] and f == "-pie" else f) for f in CFLAGS]
    run_cmd(["cc", *flags, f'-DREAL_SENDMAIL="{sendmail}"', "-o", q["execonly"],
             "tests/bench/execonly.c"], "compiling execonly for qmail")
    if progs["execbare"]:
        q["bare"] = os.path.join(tmp, "execbare-qmail")
        run_cmd(["cc", "-O2", "-nostdlib", "-static", f'-DREAL_SENDMAIL="{sendmail}"', "-o",
                 q["bare"], "tests/bench/execbare.c"], "compiling execbare for qmail")
    q["shell"] = os.path.join(tmp, "recipe-qmail.sh")
    with open(q["shell"], "w") as f:
        f.write("#!/bin/sh\n"
                f"(echo X-Additional-Header: $PWD; cat) | tee -a {progs['mailsend']} | {sendmail} \"$@\"\n")
    os.chmod(q["shell"], 0o755)
    # The user runs the private install, reads the messages and appends to the recipe's log.
    os.chmod(tmp, 0o755)
    open(progs["mailsend"], "a").close()
    os.chown(progs["mailsend"], user.uid, user.gid)
    return q


def round_as_user(runner, user, order, argvs, msgpath, pipe, what):
    """One round of ORDER run as USER, in a child that drops root for good first; returns
    {variant: ns}.  A child per round lets root empty the queue between rounds."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # the keepers and pumps are reaped here
            os.setgroups([])
            os.setresgid(user.gid, user.gid, user.gid)
            os.setresuid(user.uid, user.uid, user.uid)
            env = {"PATH": "/usr/bin:/bin"}
            out = {"ns": {v: runner.run(argvs[v], env, msgpath, pipe, f"{what} {v}")
                          for v in order}, "failures": runner.failures}
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        except BaseException as e:  # noqa: B036  (the child must never return)
            os.write(w, json.dumps({"error": repr(e)}).encode())
            os._exit(1)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(data)
    if "error" in out:
        raise BenchError(f"{what}: {out['error']}")
    runner.failures += out["failures"]
    return out["ns"]


LIMIT_RULES = ('limits = ( { per = "uid"; max = 1000000; window = "1h"; action = "hold"; },\n'
               '           { per = "script"; max = 1000000; window = "1h"; action = "hold"; } );')


def install_variant(build, tmp, standin, name, rules=None, freeze_uid=None):
    """Another private install, under TMP/NAME: with RULES for its limits (and no exempt
    uid: each message reads and updates the state files, as on a server with limits), or
    with one freeze of a uid nobody has (each message asks the keeper, which reads the
    freezes, and goes on)."""
    top = os.path.join(tmp, name)
    make_vars = [f"BUILD={build}-{name}", f"PREFIX={top}", f"SYSCONFDIR={top}/etc",
                 f"LOCALSTATEDIR={top}/var", f"REAL_SENDMAIL={standin}"]
    say(f"bench: building and installing another qwrap, {name}, under {top}")
    run_cmd(["make", "-B", "-j2", *make_vars, "all"], f"make all ({name})")
    run_cmd(["make", *make_vars, "install"], f"make install ({name})")
    if rules is not None:
        conf = os.path.join(top, "etc", "qwrap", "qwrap.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write("\n".join(rules if l.startswith("limits ") else
                              "exempt_uids = [];" if l.startswith("exempt_uids") else l
                              for l in text.split("\n")))
    if freeze_uid is not None:
        run_cmd([os.path.join(top, "sbin", "qwrap"), "freeze", "--uid", str(freeze_uid)],
                f"qwrap freeze ({name})")
    wrapper = os.path.join(top, "sbin", "qwrap-sendmail")
    st = os.stat(wrapper)
    os.chmod(wrapper, stat.S_IMODE(st.st_mode) & ~stat.S_ISGID)
    return wrapper, os.path.join(top, "var", "log", "qwrap", "capture.log")


def bench(args, rounds, tmp, started):
    user = BenchUser()
    try:
        return bench_as(args, rounds, tmp, started, user)
    finally:
        user.remove()


def bench_as(args, rounds, tmp, started, user):
    qrounds = QUICK_QUEUE_ROUNDS if args.quick else QUEUE_ROUNDS
    progs = build_and_install(args.build, tmp)
    progs["limits"], progs["limits_log"] = install_variant(args.build, tmp, progs["standin"],
                                                           "limits", rules=LIMIT_RULES)
    progs["freeze"], progs["freeze_log"] = install_variant(args.build, tmp, progs["standin"],
                                                           "freeze", freeze_uid=2000000000)
    for n in progs["notes"]:
        say("bench: " + n)

    say("bench: writing the messages")
    msgs = {"small": os.path.join(tmp, "msg-1k"), "1m": os.path.join(tmp, "msg-1m"),
            "100m": os.path.join(tmp, "msg-100m")}
    with open(msgs["small"], "wb") as f:
        f.write(small_message())
    write_large_message(msgs["1m"], MiB, 1)
    write_large_message(msgs["100m"], 100 * MiB, 100)
    label = {"small": "1 KiB", "1m": "1 MiB", "100m": "100 MiB"}

    qdir = os.path.join(tmp, "queue")
    os.mkdir(qdir)
    queue = standin_has_queue(progs["standin"], msgs["small"], qdir)
    envs = {"sink": {"PATH": "/usr/bin:/bin", "STANDIN_SINK": "1"},
            "queue": {"PATH": "/usr/bin:/bin", "STANDIN_QUEUE": qdir}}

    runner = Runner(tmp)
    wrapper_runs = 0
    variants = {
        "direct": ("stand-in directly", progs["standin"]),
        "qwrap": ("through qwrap-sendmail", progs["wrapper"]),
        "sgid": ("through qwrap-sendmail, set-gid", progs["sgid"]),
        "limits": ("through qwrap-sendmail with a uid and a script limit", progs["limits"]),
        "freeze": ("through qwrap-sendmail with a freeze (of another uid)", progs["freeze"]),
        "execonly": ("through an exec-only C wrapper", progs["execonly"]),
        "bare": ("through an exec-only wrapper without a C library", progs["execbare"]),
        "shell": ("through the shell recipe", progs["recipe"]),
    }
    # Every case: (size, stdin is a pipe, into, variants timed).
    bare = ["bare"] if progs["execbare"] else []
    cases = [("small", False, "sink",
              ["direct", "qwrap", "execonly"] + bare + ["shell"] +
              (["sgid"] if progs["sgid"] else [])),
             ("1m", False, "sink", ["direct", "qwrap", "shell"]),
             ("1m", True, "sink", ["direct", "qwrap", "shell"]),
             ("100m", False, "sink", ["direct", "qwrap", "shell"]),
             ("100m", True, "sink", ["direct", "qwrap", "shell"])]
    if queue:
        cases += [("small", False, "queue",
                   ["direct", "qwrap", "limits", "freeze", "execonly"] + bare + ["shell"]),
                  ("100m", True, "queue", ["direct", "qwrap", "shell"])]
    qm = find_qmail() if user.uid is not None else None
    if qm:
        cases += [("small", False, "qmail",
                   ["direct", "qwrap", "limits", "freeze", "execonly"] + bare + ["shell"]),
                  ("100m", True, "qmail", ["direct", "qwrap", "shell"])]

    say("bench: checking that messages arrive whole through qwrap")
    hdrlens = []
    for key, pipe in sorted({(c[0], c[1]) for c in cases}):
        hdrlens.append(verify_delivery(runner, progs["wrapper"], msgs[key], pipe, tmp,
                                       f"{key}-{'pipe' if pipe else 'file'}"))
        wrapper_runs += 1
    if progs["sgid"]:
        verify_delivery(runner, progs["sgid"], msgs["small"], False, tmp, "small-sgid")
        wrapper_runs += 1

    times = {}
    load = OtherLoad()
    qprogs = None
    for key, pipe, into, vs in cases:
        timed, warm = rounds[key][:2] if into == "sink" else qrounds[key]
        kind = "pipe" if pipe else "file"
        say(f"bench: {label[key]} message, stdin a {kind}, into the {INTO[into]}: "
            f"{timed} rounds of {', '.join(vs)}")
        res = {v: [] for v in vs}
        gc.collect()
        gc.disable()
        try:
            for i in range(warm + timed):
                # Rotate the order each round, so that no variant always runs first.
                order = vs[i % len(vs):] + vs[:i % len(vs)]
                what = f"{key} {kind} {into}"
                if into == "qmail" and qprogs is None:
                    qprogs = into_real_qmail(progs, qm, tmp, user)
                if into == "qmail":
                    ns = round_as_user(runner, user, order,
                                       {v: [qprogs[v], "-t", "-i"] for v in order},
                                       msgs[key], pipe, what)
                    qm.clear()
                else:
                    ns = {}
                    for v in order:
                        argv = [variants[v][1], "-t", "-i"]
                        ns[v] = runner.run(argv, envs[into], msgs[key], pipe, f"{what} {v}")
                        if v in ("qwrap", "sgid"):
                            wrapper_runs += 1
                if "shell" in order:
                    os.truncate(progs["mailsend"], 0)	# the recipe's log, kept small
                if i >= warm:
                    for v in order:
                        res[v].append(ns[v])
        finally:
            gc.enable()
        times[(key, pipe, into)] = res
    other = load.share()
    if qprogs:
        qprogs["restore"]()
        # The real-qmail runs wrote to the logs as the user, through the set-gid bit: one
        # record each, none with an error.
        for path, v in ((progs["log"], "qwrap"), (progs["limits_log"], "limits"),
                        (progs["freeze_log"], "freeze")):
            want = sum(len(res.get(v, [])) + qrounds[key][1] * (v in res)
                       for (key, _, into), res in times.items() if into == "qmail")
            with open(path, "rb") as f:
                recs = [r for r in map(json.loads, f) if r["uid"] == user.uid]
            bad = [r["error"] for r in recs if "error" in r]
            if len(recs) != want or bad:
                runner.failures.append(f"real qmail: {path}: {len(recs)} records for {want} "
                                       f"messages, {len(bad)} with an error {bad[:1]}")

    say("bench: peak RSS")
    rss = {}
    out = os.path.join(tmp, "probe.out")
    for key, pipe in (("small", False), ("1m", False), ("100m", False), ("100m", True)):
        d, q = [], []
        for _ in range(rounds[key][2]):	# alternated, as the timed runs
            d.append(runner.probe(progs["probe"], [progs["standin"], "-t", "-i"], envs["sink"],
                                  msgs[key], pipe, out))
            q.append(runner.probe(progs["probe"], [progs["wrapper"], "-t", "-i"], envs["sink"],
                                  msgs[key], pipe, out))
            wrapper_runs += 1
        rss[(key, pipe)] = {"direct": [m for m, _ in d], "qwrap": [m for m, _ in q],
                            "pump": [r for _, o in q for r in o]}
        if any(o for _, o in d):
            runner.failures.append(f"rss {key}: the direct stand-in left orphans")

    # The capture log: one valid record per wrapper run.
    records, with_error = 0, []
    with open(progs["log"], "rb") as f:
        for line in f:
            r = json.loads(line)
            if r["uid"] != 0:
                continue    # a real-qmail run, counted below
            records += 1
            if "error" in r:
                with_error.append(r["error"])
    if records != wrapper_runs:
        runner.failures.append(f"capture log has {records} records for {wrapper_runs} wrapper runs")
    with open(runner.errpath, errors="replace") as f:
        errtext = f.read()
    if os.listdir(qdir):
        runner.failures.append(f"the qmail model left files in {qdir}")

    report(args, times, rss, label, variants, progs, hdrlens, records, with_error, errtext,
           started, other)
    if runner.failures:
        for f in runner.failures[:20]:
            say("bench: FAILED: " + f)
        return 1
    return 0


def cost_parts(med, into):
    """What qwrap's extra time per small message is made of, into the sink or the queue."""
    def extra(v):
        return (med[("small", False, into, v)] - med[("small", False, into, "direct")]) / 1e6
    q, e = extra("qwrap"), extra("execonly")
    if ("small", False, into, "bare") in med:
        b = extra("bare")
        exec_part = (f"{b:.2f} ms is the kernel's exec (exec-only wrapper without a C "
                     f"library), {e - b:.2f} ms the C library's start-up (exec-only wrapper, "
                     f"glibc)")
    else:
        exec_part = f"{e:.2f} ms is the one more exec (exec-only wrapper)"
    return (f"Into the {INTO[into]}: of qwrap's extra {q:.2f} ms per small message, "
            f"{exec_part} and {q - e:.2f} ms qwrap's own work.")


def report(args, times, rss, label, variants, progs, hdrlens, records, with_error, errtext,
           started, other):
    rows = [["message", "stdin", "into", "rounds", "variant", "median ms", "p25-p75 ms",
             "ratio", "+ per msg"]]
    ratio, med = {}, {}
    for (key, pipe, into), res in times.items():
        dmed = statistics.median(res["direct"])
        for v, xs in res.items():
            m = med[(key, pipe, into, v)] = statistics.median(xs)
            lo, hi = quartiles(xs)
            ratio[(key, pipe, into, v)] = m / dmed
            name = "qmail's sendmail directly" if (into, v) == ("qmail", "direct") else \
                variants[v][0]
            rows.append([label[key], "pipe" if pipe else "file", INTO[into], str(len(xs)),
                         name, fmt_ms(m), f"{fmt_ms(lo)}-{fmt_ms(hi)}",
                         "1" if v == "direct" else f"{m / dmed:.2f}",
                         "" if v == "direct" else f"{(m - dmed) / 1e6:+.2f} ms"])
    queue = ("small", False, "queue") in times

    rrows = [["peak RSS (MiB)", "1 KiB", "1 MiB", "100 MiB", "100 MiB, pipe"]]
    cols = [("small", False), ("1m", False), ("100m", False), ("100m", True)]
    rrows.append(["stand-in alone"] + [fmt_rss_cell(rss[c]["direct"]) for c in cols])
    rrows.append(["qwrap-sendmail + stand-in"] + [fmt_rss_cell(rss[c]["qwrap"]) for c in cols])
    rrows.append(["qwrap keeper and pump (each)"] + [fmt_rss_cell(rss[c]["pump"]) for c in cols])
    nprobe = {len(rss[c]["qwrap"]) for c in cols}

    # Up to 64 KiB the wrapper reads the message into its buffer; past that
    # nothing may grow: compare 1 MiB with 100 MiB, medians of the runs.
    q = [rss_med(rss[c]["qwrap"]) for c in cols[:3]]
    pumps = [rss_med(rss[c]["pump"]) for c in cols[1:3]]
    grows = (q[2] - q[1] > RSS_NOISE_KIB or
             (None not in pumps and pumps[1] - pumps[0] > RSS_NOISE_KIB))

    def r(*k):
        return f"{ratio[k]:.2f}"

    summary = (f"bench: small ratio {r('small', False, 'sink', 'qwrap')} into the sink "
               f"(exec-only wrapper {r('small', False, 'sink', 'execonly')}, shell recipe "
               f"{r('small', False, 'sink', 'shell')})")
    def small(into):
        """A small message into INTO: qwrap, the limits, the references, and qwrap against
        the exec-only wrapper, which the targets put at about the target itself: what
        qwrap's own work costs on top of the exec any wrapper pays."""
        def vs_exec(v):
            return f"{med[('small', False, into, v)] / med[('small', False, into, 'execonly')]:.2f}"
        bare = (f", exec-only without a C library {r('small', False, into, 'bare')}"
                if ('small', False, into, 'bare') in ratio else "")
        return (f"{r('small', False, into, 'qwrap')} (with two limits "
                f"{r('small', False, into, 'limits')}, with a freeze "
                f"{r('small', False, into, 'freeze')}, exec-only {r('small', False, into, 'execonly')}"
                f"{bare}, shell {r('small', False, into, 'shell')}; against the exec-only wrapper "
                f"{vs_exec('qwrap')}, with two limits {vs_exec('limits')}, with a freeze "
                f"{vs_exec('freeze')}")

    if queue:
        summary += f", {small('queue')}) into the qmail model"
    if ("small", False, "qmail") in times:
        summary += (f"; into the real qmail, set-gid, as a user: {small('qmail')}, target <= 1.05)"
                    f", 100 MiB from a pipe {r('100m', True, 'qmail', 'qwrap')} (target <= 1.15)")
    summary += (f"; 100 MiB ratio {r('100m', False, 'sink', 'qwrap')} file / "
                f"{r('100m', True, 'sink', 'qwrap')} pipe into the sink")
    if queue:
        summary += f", {r('100m', True, 'queue', 'qwrap')} pipe into the qmail model"
    summary += (f"; peak RSS {'/'.join(fmt_rss(x) for x in q)} MiB at 1 KiB/1 MiB/100 MiB, "
                f"keeper and pump {'/'.join(fmt_rss(x) for x in pumps)} MiB at 1 MiB/100 MiB "
                f"({'GROWS' if grows else 'does not grow'} with message size)")
    busy = other is not None and other > 0.10
    if busy:
        summary += f"; machine busy ({other:.0%} of the CPUs used by other work): rerun when idle"

    uname = platform.uname()
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        pass
    rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    machine = (f"Linux {uname.release}, {cpu}, {os.cpu_count()} CPUs; qwrap {rev or '?'}; "
               f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
               f"{'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s; "
               f"other work used {'?' if other is None else f'{other:.0%}'} of the CPUs "
               f"during the timed runs")
    cmd = "make bench" + ("" if args.build == "build-bench" and not args.quick else
                          "   # here: python3 tests/bench/bench.py" +
                          ("" if args.build == "build-bench" else f" --build {args.build}") +
                          (" --quick" if args.quick else ""))
    link = "static-pie" if progs["static"] else "dynamic"
    notes = [
        "'real qmail': notqmail 1.08 built from ../shared/vendor by tests/notqmail.sh into a "
        "private home, qmail-send not running: sendmail, qmail-inject and the set-uid "
        "qmail-queue write each message into the queue (emptied by root between rounds).  "
        "These runs are as an unprivileged user (qwraptest), with qwrap-sendmail and the "
        "limits and freeze installs set-gid root:qwrap as installed, as on a server; the exec-only "
        "wrappers and the shell recipe exec qmail's sendmail."
        if ("small", False, "qmail") in times else "No real qmail runs (they need root).",
        "The stand-in (tests/standin) runs in the same mode on every side of the other "
        "comparisons, labelled by what it is. "
        "'sink': STANDIN_SINK=1, it reads the message and discards it."
        + (" 'qmail model': STANDIN_QUEUE=DIR, the shape of a real qmail submission, which "
           "the targets are stated against: sendmail execs qmail-inject, which pipes "
           "the message to a forked and exec'd qmail-queue that writes it and an envelope "
           "file with fsync." if queue else ""),
        "Runs are interleaved round by round (order rotated each round) and timed from "
        "posix_spawn to the exit of the last process started; ratio = median / median of the "
        "direct runs; '+ per msg' = the median's difference to direct.  With a pipe, a "
        "`cat` writes the message into it, as PHP's popen() does (its time is in both sides).",
        "Into the sink and the model, qwrap-sendmail runs without the set-gid bit, as the "
        "calling user (root here): that measures the wrapper's own work.  Installed set-gid, the exec is a secure-mode one "
        "(AT_SECURE)"
        + ("; the 'set-gid' row measures what that adds." if progs["sgid"] else
           " (not measured: that needs root)."),
        f"The exec-only C wrapper (tests/bench/execonly.c, linked {link} like qwrap-sendmail) "
        f"execs the stand-in and does nothing else: its cost over direct is the price of one "
        f"more exec, the floor for any wrapper.  Against the sink that floor is high, as the "
        f"sink does almost nothing; an exec-only wrapper measured about 1.10 "
        f"into real qmail."
        + (" The exec-only wrapper without a C library (tests/bench/execbare.c, -nostdlib "
           "-static) makes the execve system call from _start: its cost over direct is the "
           "kernel's exec alone, and the exec-only wrapper's cost over it is the C library's "
           "start-up." if progs["execbare"] else ""),
        f"Peak RSS is ru_maxrss from wait4 in tests/bench/rssprobe.c, which forks the program "
        f"from a small process (a child that Python starts would report Python's own RSS); "
        f"median of {'/'.join(str(n) for n in sorted(nprobe))} runs into the sink, the largest "
        f"in brackets when it differs.  Linux keeps the peak across exec, so 'qwrap-sendmail + "
        f"stand-in' is the larger of the two; the keeper and the pump (grandchildren, "
        f"reparented to the probe as child subreaper) are one row, each process counted on "
        f"its own.  A 1 KiB message needs no pump: it fits the pipe.  Up to 64 KiB of the message is read into the wrapper's buffer, so 1 MiB and "
        f"100 MiB are the sizes to compare (equal within {RSS_NOISE_KIB} KiB, the run-to-run "
        f"noise).",
        f"Every message size and stdin kind was checked once with the stand-in recording: the "
        f"message arrived whole, after qwrap's header ({min(hdrlens)}-{max(hdrlens)} bytes).  "
        f"Capture log: {records} records, all valid JSON, {len(with_error)} with an error.",
    ] + [n for n in progs["notes"] if not n.startswith("install:")]
    if busy:
        notes.append("Other work was running (over 10% of the CPUs): the interleaving cancels "
                     "slow drift, but contention for the CPUs makes these figures noisier; "
                     "run again on an idle machine.")
    for into in ("sink", "queue", "qmail"):
        if ("small", False, into) in times:
            notes.append(cost_parts(med, into))

    say("")
    say(machine)
    say(table(rows, False, 5))
    say("")
    say(table(rrows, False))
    for n in notes:
        say("- " + n)
    if with_error:
        say(f"bench: capture log errors, e.g. {with_error[0]}")
    if errtext:
        say("bench: programs wrote to stderr:\n" + errtext[:2000])
    say("")
    say(summary)

    md = ["## Benchmark", "",
          f"Reproduce with `{cmd}` (as root, from the top of the tree; `--quick` for a short run).", "",
          machine, "", table(rows, True, 5), "", table(rrows, True), ""]
    md += ["- " + n for n in notes]
    md += ["", "`" + summary + "`", ""]
    os.makedirs(args.build, exist_ok=True)
    with open(os.path.join(args.build, "bench.md"), "w") as f:
        f.write("\n".join(md))
    say(f"bench: Markdown written to {os.path.join(args.build, 'bench.md')}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
