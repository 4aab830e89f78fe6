"""Integration tests of qwrap scan, imported by run.py.

The queue under test is mostly the fixture in ../shared/fixtures/qmail: a real
qmail queue (notqmail, conf-split 23) holding 40 messages, before and after
qmail-send preprocessed it, with truth.json saying what each message is.  Every
field qwrap reports for every message, and every table of its summary, is
compared with the values computed here from truth.json.  Generated queues in
the same formats (thousands of messages, bad envelopes, FIFOs, messages that
vanish while the scan runs) and generated maillogs cover the rest.  Each test
takes run.py's Env.
"""

import base64
import gzip
import json
import os
import pwd
import random
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fixture_dir():
    """../shared/fixtures/qmail beside the checkout, as CI has it; for a clone made
    elsewhere (git clone . /tmp/x), beside the repository it was cloned from."""
    tail = os.path.join("shared", "fixtures", "qmail")
    here = os.path.join(REPO, "..", tail)
    if os.path.isdir(here):
        return here
    p = subprocess.run(["git", "-C", REPO, "config", "--get", "remote.origin.url"],
                       capture_output=True, text=True)
    origin = p.stdout.strip()
    if p.returncode == 0 and origin.startswith("/"):
        there = os.path.join(origin, "..", tail)
        if os.path.isdir(there):
            return there
    return here     # missing: the tests that need it say so by name


FIXTURE = fixture_dir()
USER = "qwraptest"
SPLIT = 23
TABLES = ("entered", "uid", "sender", "subject", "script", "origin", "rcpt_domain")
EX_USAGE, EX_NOINPUT, EX_NOPERM = 64, 66, 77

TESTS = []

from reports import out_lines, qwrap  # noqa: E402  (the same ways to run qwrap)


def test(fn):
    TESTS.append(fn)
    return fn


# --- Running qwrap scan --------------------------------------------------------

def why(p):
    return "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-800:])


def near(line, e):
    """The text of LINE around the place where JSON error E was found."""
    pos = getattr(e, "pos", 0)
    return line[max(0, pos - 160):pos + 100].decode(errors="replace")


class Scan:
    """`qwrap scan --json` parsed: the queue line, the messages (scan order), the
    summary, and BAD, the lines that are no JSON (each a message of its own).
    ORDER has the id of every message line, JSON or not, in scan order."""

    def __init__(self, stdout):
        self.queue, self.messages, self.summary, self.bad = None, [], None, []
        self.order = [int(i) for i in re.findall(
            rb'^\{"type":"message","message":\{"id":(\d+),', stdout, re.M)]
        for n, line in enumerate(out_lines(stdout), 1):
            try:
                o = json.loads(line)
            except ValueError as e:
                self.bad.append("line %d is not JSON (%s): ...%s..." % (
                    n, e, near(line, e)))
                continue
            if o.get("type") == "queue":
                assert self.queue is None and n == 1, "queue line at line %d" % n
                self.queue = o
            elif o.get("type") == "message":
                assert self.summary is None, "a message after the summary"
                self.messages.append(o["message"])
            elif o.get("type") == "summary":
                assert self.summary is None, "two summaries"
                self.summary = o
            else:
                raise AssertionError("line %d: unknown type: %s" % (n, line[:200]))
        assert self.queue is not None and self.summary is not None, \
            "no queue line or no summary (%d bad lines: %s)" % (len(self.bad), self.bad[:1])
        self.by_id = {m["id"]: m for m in self.messages}
        assert len(self.by_id) == len(self.messages), "an id reported twice"

    def strict(self):
        assert not self.bad, "%d output lines are no JSON; the first: %s" % (
            len(self.bad), self.bad[0])
        return self


def scan_json(env, queue, *args, ok=True, timeout=120):
    p = qwrap(env, "scan", "--queue", queue, "--json", *args, timeout=timeout)
    if ok:
        assert p.returncode == 0 and p.stderr == b"", why(p)
    return Scan(p.stdout)


# --- The fixture ---------------------------------------------------------------

_truth = None


def truth():
    global _truth
    if _truth is None:
        with open(os.path.join(FIXTURE, "truth.json"), encoding="utf-8") as f:
            _truth = json.load(f)
    return _truth


def private_dir(env):
    """A temporary directory under the install root: 0700 and root's when run as root."""
    return tempfile.mkdtemp(prefix="scan.", dir=env.root)


def extract(env, name, into=None):
    """The fixture tarball NAME extracted (owners, modes and mtimes kept as root):
    the path of its queue/ directory."""
    d = into or private_dir(env)
    with tarfile.open(os.path.join(FIXTURE, name)) as t:
        if hasattr(tarfile, "fully_trusted_filter"):
            t.extractall(d, filter="fully_trusted")
        else:
            t.extractall(d)
    return os.path.join(d, "queue")


def remove(path):
    shutil.rmtree(os.path.dirname(path) if path.endswith("/queue") else path,
                  ignore_errors=True)


def qstat(queue_name):
    """The two numbers of the fixture's qmail-qstat output."""
    with open(os.path.join(FIXTURE, queue_name)) as f:
        text = f.read()
    a = re.search(r"^messages in queue: (\d+)$", text, re.M)
    b = re.search(r"^messages in queue but not yet preprocessed: (\d+)$", text, re.M)
    return int(a.group(1)), int(b.group(1))


def header_fields(path):
    """The header fields of a message file, as (name, value): unfolded, CRs
    removed, the value stripped of surrounding blanks; the header ends at the
    first empty line (a lone CR counts as empty, as PHP's CRLF blank line)."""
    with open(path, "rb") as f:
        data = f.read(65536)
    fields = []
    for raw in data.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line == b"":
            break
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1] += line
            continue
        if b":" in line:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return [(n.decode(), v.strip(b" \t").decode("utf-8", "replace")) for n, v in fields]


def received_values(path):
    return [v for n, v in header_fields(path) if n.lower() == "received"]


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name if uid >= 0 else ""
    except KeyError:
        return ""


def vhost_of(root, path):
    """The site of PATH, as qwrap names it: the first directory under ROOT (under
    ROOT/system for Plesk's logs), else under /home; "" for none."""
    def under(r, p):
        if not r or not p.startswith(r + "/"):
            return ""
        return p[len(r) + 1:].split("/")[0]
    root = root.rstrip("/") if root != "/" else root
    site = under(root, path)
    if site == "system":
        site = path[len(root) + 1:].split("/")[1] if path.count("/") > root.count("/") + 1 else ""
    if not site:
        site = under("/home", path)
    return "" if site in (".", "..") else site


def uid_vhost(uid, root):
    try:
        return vhost_of(root, pwd.getpwuid(uid).pw_dir) if uid >= 0 else ""
    except KeyError:
        return ""


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def diff_dict(got, want, what):
    """The keys of WANT whose value GOT does not have, as messages."""
    return ["%s: %s is %r, expected %r" % (what, k, got.get(k, "<missing>"), v)
            for k, v in want.items() if got.get(k, "<missing>") != v]


def fixture_message(t, queue, before_preprocessing=False):
    """What qwrap must say of truth message T in the queue at QUEUE."""
    rec, env_ = t["received"], t["todo_envelope"]
    mess = os.path.join(queue, "mess", str(t["id"] % SPLIT), str(t["id"]))
    if before_preprocessing:
        recipients = {"local": [], "remote": [], "pending": env_["T"], "done": []}
        sender = env_["F"]
        uid = rec["uid"] if rec["invoked"] == "by uid" else env_["u"]
    else:
        recipients = {"local": t["recipients"]["local"], "remote": t["recipients"]["remote"],
                      "pending": [], "done": t["recipients"]["done"]}
        sender = t["envelope_sender"]
        uid = rec["uid"] if rec["invoked"] == "by uid" else -1
    smtp = t["smtp_received"]
    wh = t["wrapper_header"]
    want = {
        "id": t["id"], "path": mess, "preprocessed": not before_preprocessing,
        "sender": sender, "recipients": recipients,
        "recipient_count": {k: len(recipients[k]) for k in recipients},
        "uid": uid, "user": user_name(uid), "invoked": rec["invoked"],
        "qmail_queue_pid": rec["qmail_queue_pid"], "received_date": rec["date"],
        "received_lines": len(received_values(mess)),
        "smtp": None if smtp is None else {
            "remote_host": smtp["remote_host"], "helo": smtp["helo"] or "",
            "remote_info": smtp["remote_info"] or "", "remote_ip": smtp["remote_ip"]},
        "qwrap": None if wh is None else {
            "id": wh["id"], "uid": wh["uid"], "cwd": wh["cwd"], "script": wh["script"]},
        "subject": t["subject"], "subject_decoded": t["subject_decoded"],
        "from": t["from"], "message_id": t["message_id"], "size": t["size"],
        "queued": rfc3339(os.stat(mess).st_mtime),
    }
    want["recipient_count"]["total"] = sum(len(v) for k, v in recipients.items() if k != "done")
    if before_preprocessing:
        assert env_["u"] == t["caller_uid"] and env_["p"] == rec["qmail_queue_pid"]
    return want


def check_fixture_messages(scan, queue, before_preprocessing=False):
    """Differences between every message qwrap reported and truth.json."""
    problems = []
    ids = [t["id"] for t in truth()["messages"]]
    if sorted(scan.by_id) != sorted(ids):
        problems.append("ids: extra %s, missing %s" % (
            sorted(set(scan.by_id) - set(ids)), sorted(set(ids) - set(scan.by_id))))
    now = time.time()
    for t in truth()["messages"]:
        got = scan.by_id.get(t["id"])
        if got is None:
            continue
        want = fixture_message(t, queue, before_preprocessing)
        problems += diff_dict(got, want, "message %d (%s)" % (t["id"], t["source_ref"]))
        age = now - os.stat(want["path"]).st_mtime
        if not isinstance(got.get("age"), int) or abs(got["age"] - age) > 30:
            problems.append("message %d: age %r, expected about %d" % (t["id"], got.get("age"), age))
    return problems


# --- Tables as the contract defines them -----------------------------------------

def ordered(rows):
    """Table rows sorted: messages desc, recipients desc, key ascending (bytes)."""
    return sorted(rows, key=lambda r: (-r["messages"], -r["recipients"],
                                       r["key"].encode("utf-8", "surrogateescape")))


class Tables:
    """The summary tables computed here from plain message descriptions (dicts
    with id, invoked, uid, sender (None: no envelope), subject (decoded), script
    (None: no header), qwrap_id, rcpts [(address, done)]), in scan order."""

    def __init__(self, msgs, root="", records=None, origins=None):
        records = records or {}
        origins = origins or {}	# qwrap id -> its record's origin
        self.tables = {name: {} for name in TABLES}
        uids = {}
        by_qwrap_id = {}
        for m in msgs:
            total = len(m["rcpts"])

            def add(name, key, rcpt=total):
                row = self.tables[name].setdefault(key or "-", {"key": key or "-",
                                                                "messages": 0, "recipients": 0})
                row["messages"] += 1
                row["recipients"] += rcpt
            add("entered", "by uid %d" % m["uid"] if m["invoked"] == "by uid"
                else m["invoked"] or "unknown")
            add("uid", str(m["uid"]) if m["uid"] >= 0 else "")
            uids[str(m["uid"]) if m["uid"] >= 0 else "-"] = m["uid"]
            add("sender", "-" if m["sender"] is None else m["sender"] or "<>")
            add("subject", m["subject"])
            if m["script"] is not None:
                # One row per qwrap id, named by its record's script when the log has one.
                qid = m["qwrap_id"] or "-"
                entry = by_qwrap_id.setdefault(qid, [m["script"], 0, 0])
                entry[1] += 1
                entry[2] += total
            seen = set()
            for addr, _ in m["rcpts"]:
                dom = addr.rpartition("@")[2].lower() if "@" in addr else ""
                row = self.tables["rcpt_domain"].setdefault(dom or "-", {
                    "key": dom or "-", "messages": 0, "recipients": 0})
                row["recipients"] += 1
                if dom not in seen:
                    seen.add(dom)
                    row["messages"] += 1
        for qid, (script, n, r) in by_qwrap_id.items():
            script = records.get(qid, script) or "-"
            row = self.tables["script"].setdefault(script, {"key": script, "messages": 0,
                                                            "recipients": 0})
            row["messages"] += n
            row["recipients"] += r
            origin = origins.get(qid) or "-"
            row = self.tables["origin"].setdefault(origin, {"key": origin, "messages": 0,
                                                            "recipients": 0})
            row["messages"] += n
            row["recipients"] += r
        for row in self.tables["uid"].values():
            uid = uids[row["key"]]
            row["user"] = user_name(uid)
            row["vhost"] = uid_vhost(uid, root)
        self.sorted = {name: ordered(list(rows.values())) for name, rows in self.tables.items()}
        # Largest first, ties in scan order; senders as in the sender table ("<>" the
        # null one, "" none known).
        self.most = sorted(({"id": m["id"], "recipients": len(m["rcpts"]), "uid": m["uid"],
                             "sender": "" if m["sender"] is None else m["sender"] or "<>",
                             "subject": m["subject"]}
                            for m in msgs), key=lambda e: -e["recipients"])

    def check(self, summary, rows=0):
        problems = []
        for name in TABLES:
            want = self.sorted[name][:rows] if rows else self.sorted[name]
            got = summary.get(name)
            if got != want:
                problems.append("table %s: %d rows, expected %d; first differences: %s" % (
                    name, len(got or []), len(want),
                    [(i, g, w) for i, (g, w) in enumerate(zip(got or [], want)) if g != w][:3]
                    or "(one list is a prefix of the other)"))
        want = self.most[:rows or 1000]
        if summary.get("most_recipients") != want:
            got = summary.get("most_recipients") or []
            problems.append("most_recipients: %d entries, expected %d; first differences: %s" % (
                len(got), len(want),
                [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w][:3]))
        return problems


def truth_descriptions(scan, before_preprocessing=False):
    """The fixture's messages as Tables wants them, in the order qwrap scanned them."""
    by_id = {t["id"]: t for t in truth()["messages"]}
    out = []
    for m in scan.messages:
        t = by_id[m["id"]]
        rec = t["received"]
        if before_preprocessing:
            rcpts = [(a, False) for a in t["todo_envelope"]["T"]]
            sender = t["todo_envelope"]["F"]
            uid = rec["uid"] if rec["invoked"] == "by uid" else t["todo_envelope"]["u"]
        else:
            rcpts = [(a, False) for a in t["recipients"]["local"] + t["recipients"]["remote"]]
            sender = t["envelope_sender"]
            uid = rec["uid"] if rec["invoked"] == "by uid" else -1
        wh = t["wrapper_header"]
        out.append({"id": t["id"], "invoked": rec["invoked"], "uid": uid, "sender": sender,
                    "subject": t["subject_decoded"], "script": wh and wh["script"],
                    "qwrap_id": wh and wh["id"], "rcpts": rcpts})
    return out


def summary_vs_truth_summary(s):
    """The summary against truth.json's own totals (not computed here)."""
    ts = truth()["summary"]
    problems = []

    def same(what, got, want):
        if got != want:
            problems.append("%s: %r, expected %r" % (what, got, want))

    def counts(table, field="messages"):
        return {r["key"]: r[field] for r in s[table]}
    same("recipients", s["recipients"], {"local": ts["recipients_local"],
                                         "remote": ts["recipients_remote"], "pending": 0,
                                         "done": ts["recipients_done"]})
    same("with_qwrap_header", s["with_qwrap_header"], ts["with_wrapper_header"])
    same("entered", counts("entered"), ts["per_received_invoked"])
    same("script", counts("script"), ts["with_wrapper_header_by_script"])
    same("subject", counts("subject"), ts["top_subjects"])
    same("rcpt_domain recipients", counts("rcpt_domain", "recipients"), ts["recipient_domains"])
    same("most_recipients[0]", s["most_recipients"][0]["recipients"], ts["max_recipients"])
    same("null senders", counts("sender").get("<>"), ts["null_sender"])
    both = sum(1 for t in truth()["messages"]
               if t["recipients"]["local"] and t["recipients"]["remote"])
    same("messages with local and remote recipients", both, ts["with_both_local_and_remote"])
    return problems


# --- The fixture, preprocessed ----------------------------------------------------

@test
def scan__fixture_queue__every_message_and_summary_as_truth(env):
    queue = extract(env, "queue.tar.gz")
    try:
        root = truth()["vhosts_root"]
        sc = scan_json(env, queue, "-n", "0", "--vhosts-root", root)
        problems = list(sc.bad)
        messages, todo = qstat("qmail-qstat.txt")
        want_queue = {"type": "queue", "queue": queue, "messages": messages,
                      "not_preprocessed": todo}
        if sc.queue != want_queue:
            problems.append("queue line %r, expected %r" % (sc.queue, want_queue))
        problems += check_fixture_messages(sc, queue)
        s = sc.summary
        problems += diff_dict(s, {"messages": 40, "not_preprocessed": 0, "scanned": 40,
                                  "preprocessed": 40, "vanished": 0, "without_envelope": 0}, "summary")
        if not sc.bad:
            problems += Tables(truth_descriptions(sc), root).check(s)
        problems += summary_vs_truth_summary(s)
        assert not problems, "%d differences:\n  %s" % (len(problems), "\n  ".join(problems))
    finally:
        remove(queue)


@test
def scan__rows_option__every_table_cut_to_n_default_10(env):
    queue = extract(env, "queue.tar.gz")
    try:
        full = scan_json(env, queue, "-n", "0")
        for args, n in (((), 10), (("-n", "3"), 3), (("-n", "1"), 1), (("-n", "100"), 100)):
            s = scan_json(env, queue, *args).summary
            for name in TABLES:
                assert s[name] == full.summary[name][:n], "-n %d: table %s: %s" % (
                    n, name, s[name])
            assert s["most_recipients"] == full.summary["most_recipients"][:n], \
                "-n %d: most_recipients %s" % (n, s["most_recipients"])
        assert len(full.summary["subject"]) == len(truth()["summary"]["top_subjects"])
        assert len(full.summary["most_recipients"]) == 40
        for bad in ("x", "-1", "3x", ""):
            p = qwrap(env, "scan", "--queue", queue, "-n", bad)
            assert p.returncode == EX_USAGE and p.stdout == b"", "-n %r: %s" % (bad, why(p))
    finally:
        remove(queue)


# --- The fixture, before preprocessing -----------------------------------------------

@test
def scan__fixture_before_preprocessing__todo_envelopes_as_truth(env):
    queue = extract(env, "queue-todo.tar.gz")
    try:
        sc = scan_json(env, queue, "-n", "0")
        problems = list(sc.bad)
        want_queue = {"type": "queue", "queue": queue, "messages": 40, "not_preprocessed": 40}
        if sc.queue != want_queue:
            problems.append("queue line %r, expected %r" % (sc.queue, want_queue))
        problems += check_fixture_messages(sc, queue, before_preprocessing=True)
        s = sc.summary
        pending = sum(len(t["todo_envelope"]["T"]) for t in truth()["messages"])
        problems += diff_dict(s, {"messages": 40, "not_preprocessed": 40, "scanned": 40,
                                  "preprocessed": 0, "vanished": 0, "without_envelope": 0,
                                  "recipients": {"local": 0, "remote": 0, "pending": pending,
                                                 "done": 0}}, "summary")
        if not sc.bad:
            problems += Tables(truth_descriptions(sc, True)).check(s)
        # The uid of an SMTP message comes from the envelope here: qmaild's.
        net = {r["key"]: r["messages"] for r in s["uid"]}.get(str(truth()["ids"]["qmaild"]))
        if net != 2:
            problems.append("uid table: %r messages of qmaild's uid, expected 2" % net)
        assert not problems, "%d differences:\n  %s" % (len(problems), "\n  ".join(problems))
    finally:
        remove(queue)


# --- Text output ---------------------------------------------------------------------

def shown(s):
    """A field as the piped output shows it: '-' for empty, control characters as '?'."""
    s = re.sub("[\x00-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", "?", s)
    return s or "-"


def text_of_summary(s):
    """The lines `qwrap scan` prints piped, built from its JSON summary S."""
    lines = ["messages\t%d" % s["messages"], "not_preprocessed\t%d" % s["not_preprocessed"]]
    for name in TABLES:
        for r in s[name]:
            line = "%s\t%d\t%d\t%s" % (name, r["messages"], r["recipients"], shown(r["key"]))
            if name == "uid":
                line += "\t%s\t%s" % (shown(r["user"]), shown(r["vhost"]))
            lines.append(line)
    for e in s["most_recipients"]:
        lines.append("most\t%d\t%d\t%s\t%s\t%s" % (
            e["recipients"], e["id"], shown(str(e["uid"]) if e["uid"] >= 0 else ""),
            shown(e["sender"]), shown(e["subject"])))
    lines += ["around\t%d" % i for i in s["around_wrapper"]]
    return lines


@test
def scan__piped_text__every_table_row_as_in_json(env):
    queue = extract(env, "queue.tar.gz")
    try:
        for args in (("-n", "0"), (), ("-n", "2")):
            args = args + ("--vhosts-root", truth()["vhosts_root"])
            s = scan_json(env, queue, *args).summary
            p = qwrap(env, "scan", "--queue", queue, *args)
            assert p.returncode == 0 and p.stderr == b"", why(p)
            got = [l.decode() for l in out_lines(p.stdout)]
            want = text_of_summary(s)
            assert got == want, "%s: %d lines, expected %d; first differences: %s" % (
                " ".join(args), len(got), len(want),
                [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w][:3])
    finally:
        remove(queue)


# --- One message ---------------------------------------------------------------------

def truth_message(id_):
    return next(t for t in truth()["messages"] if t["id"] == id_)


@test
def scan__id__php_cron_and_smtp_messages_in_full_with_received_chain(env):
    queue = extract(env, "queue.tar.gz")
    try:
        php = next(t for t in truth()["messages"]
                   if t["scenario"] == "php-web1" and t["wrapper_header"])
        cron = next(t for t in truth()["messages"] if t["scenario"] == "root-cron")
        bs3 = next(t for t in truth()["messages"] if t["source_ref"].startswith("bs3"))
        for t in (php, cron, bs3):
            p = qwrap(env, "scan", "--queue", queue, "--id", t["id"], "--json")
            assert p.returncode == 0 and p.stderr == b"", why(p)
            lines = out_lines(p.stdout)
            assert len(lines) == 1, "%d lines" % len(lines)
            try:
                got = json.loads(lines[0])
            except ValueError as e:
                raise AssertionError("--id %d (%s) --json: not JSON (%s): ...%s..." % (
                    t["id"], t["source_ref"], e, near(lines[0], e)))
            want = fixture_message(t, queue)
            problems = diff_dict(got, want, "--id %d" % t["id"])
            mess = want["path"]
            want_received = [t["received"]["line"][len("Received: "):]]
            if t["smtp_received"]:
                want_received.append(t["smtp_received"]["line"][len("Received: "):])
            assert want_received == received_values(mess)[:len(want_received)]
            if got.get("received") != received_values(mess):
                problems.append("received %r, expected %r" % (got.get("received"),
                                                              received_values(mess)))
            if got.get("received", [None])[0] != want_received[0]:
                problems.append("received[0] is not qmail-queue's line")
            if "record" not in got or got["record"] is not None:
                problems.append("record %r, expected null" % got.get("record", "<missing>"))
            assert not problems, "\n  ".join(problems)
            if t is bs3:
                assert len(got["received"]) == 2 and got["smtp"]["remote_ip"] == "203.0.113.77"

            # The text: a few lines an admin reads.
            p = qwrap(env, "scan", "--queue", queue, "--id", t["id"])
            assert p.returncode == 0 and p.stderr == b"", why(p)
            text = p.stdout.decode().split("\n")
            need = ["message %d: %s" % (t["id"], mess)]
            need += ["  %d. %s" % (i + 1, v) for i, v in enumerate(received_values(mess))]
            if t is bs3:
                need.append("entered: from the network: qmail-smtpd, SMTP")
                need.append("SMTP client: unknown, HELO User, IP 203.0.113.77")
            else:
                uid = t["received"]["uid"]
                need.append("entered: invoked by uid %d (%s): a local program, PHP or CGI among"
                            " them" % (uid, user_name(uid) or "no user here"))
            wh = t["wrapper_header"]
            need.append("qwrap header: id %s, uid %d, cwd %s, script %s" % (
                wh["id"], wh["uid"], wh["cwd"], wh["script"]) if wh else "qwrap header: none")
            need.append("Subject: " + t["subject_decoded"])
            missing = [l for l in need if l not in text]
            assert not missing, "--id %d: lines missing %s in:\n%s" % (
                t["id"], missing, p.stdout.decode())
    finally:
        remove(queue)


@test
def scan__id_missing_or_not_a_number__exit_66_or_64(env):
    queue = extract(env, "queue.tar.gz")
    try:
        for json_ in ((), ("--json",)):
            for missing in ("12345", "0", str(1065314 + 23), "99999999999999999999999999"):
                p = qwrap(env, "scan", "--queue", queue, "--id", missing, *json_)
                assert p.returncode == EX_NOINPUT and p.stdout == b"" and \
                    b"no such message" in p.stderr, "--id %s: %s" % (missing, why(p))
            for bad in ("abc", "12x", "-5", "+5", " 5", "#1065314", "", "1065314 "):
                p = qwrap(env, "scan", "--queue", queue, "--id", bad, *json_)
                assert p.returncode == EX_USAGE and p.stdout == b"" and p.stderr, \
                    "--id %r: %s" % (bad, why(p))
        p = qwrap(env, "scan", "--queue", queue, "--id", "1065314", "--maillog", "/dev/null")
        assert p.returncode == EX_USAGE, "--id with --maillog: " + why(p)
    finally:
        remove(queue)


# --- The capture log ------------------------------------------------------------------

class Aside:
    """Moves PATH out of the way (and back): the tests write their own file there."""

    def __init__(self, env, path):
        self.env, self.path, self.aside = env, path, None

    def __enter__(self):
        if os.path.lexists(self.path):
            if self.path == self.env.log:
                self.env.unappend()
            self.aside = self.path + ".scan-test-aside"
            os.rename(self.path, self.aside)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        return self

    def __exit__(self, *exc):
        if os.path.lexists(self.path):
            os.unlink(self.path)
        if self.aside:
            os.rename(self.aside, self.path)


@test
def scan__capture_log_record__script_from_the_record_and_shown_by_id(env):
    queue = extract(env, "queue.tar.gz")
    msgs = truth()["messages"]
    x = [t for t in msgs if t["wrapper_header"] and t["wrapper_header"]["script"].endswith("/x.php")]
    joined, unscripted, unlogged = x[0], x[1], x[2]
    real = "/elsewhere/real.php"
    rec = {"v": 1, "ts": "2026-11-26T18:40:20.000Z", "id": joined["wrapper_header"]["id"],
           "host": "web01", "action": "deliver", "uid": 1009, "cwd": "/elsewhere",
           "script": real, "subject": joined["subject"], "origin": "cron",
           "origin_from": "ancestor"}
    # A record of the same id without script keeps the header's; one of an id
    # not in the queue adds nothing; a line that is no record is skipped.
    bare = {"v": 1, "ts": "2026-11-26T18:40:21.000Z", "id": unscripted["wrapper_header"]["id"],
            "action": "deliver", "uid": 1009}
    other = {"v": 1, "ts": "2026-11-26T18:40:22.000Z", "id": "20261126T184022Z.000000000000",
             "script": "/nowhere/other.php"}
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in (other, rec, bare)]
    try:
        with Aside(env, env.log):
            with open(env.log, "wb") as f:
                f.write(lines[0] + b"\nnot a record\n" + lines[1] + b"\n" + lines[2] + b"\n")
            s = scan_json(env, queue, "-n", "0").summary
            wh_rows = {}
            for t in msgs:
                if t["wrapper_header"]:
                    key = real if t is joined else t["wrapper_header"]["script"]
                    row = wh_rows.setdefault(key, {"key": key, "messages": 0, "recipients": 0})
                    row["messages"] += 1
                    row["recipients"] += t["recipient_count"]["total"]
            assert s["script"] == ordered(list(wh_rows.values())), s["script"]
            assert {r["key"]: r["messages"] for r in s["script"]}[real] == 1
            # The origin from the record; "-" for the messages whose record has none
            # (a record from before origins, or none found).
            header = [t for t in msgs if t["wrapper_header"]]
            rcpts = joined["recipient_count"]["total"]
            assert s["origin"] == ordered([
                {"key": "cron", "messages": 1, "recipients": rcpts},
                {"key": "-", "messages": len(header) - 1, "recipients":
                 sum(t["recipient_count"]["total"] for t in header) - rcpts}]), s["origin"]

            for t, want in ((joined, rec), (unscripted, bare), (unlogged, None)):
                p = qwrap(env, "scan", "--queue", queue, "--id", t["id"], "--json")
                assert p.returncode == 0, why(p)
                got = json.loads(p.stdout)
                assert got["record"] == want, "--id %d: record %r, expected %r" % (
                    t["id"], got["record"], want)
                assert got["qwrap"]["script"] == t["wrapper_header"]["script"]
            p = qwrap(env, "scan", "--queue", queue, "--id", joined["id"])
            assert p.returncode == 0, why(p)
            assert "capture log record: " + lines[1].decode() in p.stdout.decode().split("\n"), \
                p.stdout.decode()
        # The record in a gzip'd rotation joins the same way.
        rotated = env.log + ".1.gz"
        with Aside(env, env.log), Aside(env, rotated):
            open(env.log, "wb").close()
            with gzip.open(rotated, "wb") as f:
                f.write(lines[1] + b"\n")
            s = scan_json(env, queue, "-n", "0").summary
            assert {r["key"]: r["messages"] for r in s["script"]}.get(real) == 1, s["script"]
            p = qwrap(env, "scan", "--queue", queue, "--id", joined["id"], "--json")
            assert p.returncode == 0 and json.loads(p.stdout)["record"] == rec, why(p)
        # No log at all: the header's scripts.
        with Aside(env, env.log):
            s = scan_json(env, queue, "-n", "0").summary
            assert {r["key"]: r["messages"] for r in s["script"]} == \
                truth()["summary"]["with_wrapper_header_by_script"], s["script"]
    finally:
        remove(queue)


# --- Around the wrapper -----------------------------------------------------------------

def state_dir(env):
    m = re.search(rb'^\s*state_dir\s*=\s*"([^"]+)"', env.conf_text, re.M)
    return m.group(1).decode() if m else os.path.join(env.root, "var", "lib", "qwrap")


def state_text(env, enabled_at, deadline):
    return ("version=1\ntarget=/var/qmail/bin/sendmail\noriginal=/var/qmail/bin/sendmail.qwrap\n"
            "wrapper=%s\ndev=2049\nino=4242\nmode=100755\nuid=0\ngid=0\nsha256=%s\n"
            "enabled_at=%d\nlog_offset=0\nlog_ino=0\ndeadline=%d\nsession=scan-test\n"
            "scheduler=\njob=\n" % (env.wrapper, "ab" * 32, enabled_at, deadline)).encode()


def write_state(env, enabled_at, deadline, mode=0o640, owner=0):
    path = os.path.join(state_dir(env), "install", "install.state")
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    tmp = path + ".scan-test"
    with open(tmp, "wb") as f:
        f.write(state_text(env, enabled_at, deadline))
    os.chown(tmp, owner, 0)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


@test
def scan__install_state_window__around_wrapper_exactly_the_local_uid_mail_without_header(env):
    if not env.is_root:
        return "skipped: install.state must be root's"
    queue = extract(env, "queue.tar.gz")
    sdir = state_dir(env)
    made = not os.path.isdir(sdir)
    path = os.path.join(sdir, "install", "install.state")
    try:
        os.makedirs(sdir, exist_ok=True)
        with Aside(env, path):
            order = scan_json(env, queue).order
            mtime = {i: int(os.stat(os.path.join(queue, "mess", str(i % SPLIT), str(i))).st_mtime)
                     for i in order}
            by_id = {t["id"]: t for t in truth()["messages"]}
            around = [i for i in order if by_id[i]["received"]["invoked"] == "by uid"
                      and by_id[i]["wrapper_header"] is None]
            assert len(around) == 26, len(around)
            first, last = min(mtime.values()), max(mtime.values())

            def check(enabled_at, deadline, want, known=True):
                s = scan_json(env, queue).summary
                assert s["capture_known"] is known and s["around_wrapper"] == want, \
                    "enabled_at %d, deadline %d: capture_known %r, around %s, expected %s" % (
                        enabled_at, deadline, s["capture_known"], s["around_wrapper"], want)
                return s

            write_state(env, first - 3600, 0)
            s = check(first - 3600, 0, around)
            p = qwrap(env, "scan", "--queue", queue)
            assert p.returncode == 0, why(p)
            assert [l for l in out_lines(p.stdout) if l.startswith(b"around\t")] == \
                [b"around\t%d" % i for i in around]
            write_state(env, last + 1, 0)
            check(last + 1, 0, [])
            # Both ends: enabled_at counts, the deadline does not.
            mid = sorted(mtime[i] for i in around)[len(around) // 2]
            write_state(env, first - 3600, mid)
            check(first - 3600, mid, [i for i in around if mtime[i] < mid])
            write_state(env, mid, 0)
            check(mid, 0, [i for i in around if mtime[i] >= mid])
            write_state(env, mid, mid + 1)
            check(mid, mid + 1, [i for i in around if mtime[i] == mid])
            # A state file anyone else could have written is no state.
            write_state(env, first - 3600, 0, mode=0o660)
            check(0, 0, [], known=False)
            write_state(env, first - 3600, 0, owner=env.uid)
            check(0, 0, [], known=False)
            os.unlink(path)
            check(0, 0, [], known=False)
    finally:
        if made:
            shutil.rmtree(sdir, ignore_errors=True)
        remove(queue)


@test
def scan__forged_headers__another_uid_or_an_id_the_log_lacks_listed_unverified(env):
    """Mail sent around the wrapper can carry a header like qwrap's: one that names
    another uid than qmail-queue saw, or (during capture, with the log readable) an
    id the capture log does not have, is listed as unverified."""
    if not env.is_root:
        return "skipped: install.state must be root's"
    queue = extract(env, "queue.tar.gz")
    sdir = state_dir(env)
    made = not os.path.isdir(sdir)
    headers = [t for t in truth()["messages"] if t["wrapper_header"]]
    other_uid, not_logged = headers[0], headers[1]
    path = os.path.join(queue, "mess", str(other_uid["id"] % SPLIT), str(other_uid["id"]))
    with open(path, "rb") as f:
        data = f.read()
    assert data.count(b"uid=1009;") == 1, "the fixture's header changed"
    with open(path, "wb") as f:
        f.write(data.replace(b"uid=1009;", b"uid=1010;"))
    try:
        os.makedirs(sdir, exist_ok=True)
        with Aside(env, os.path.join(sdir, "install", "install.state")), Aside(env, env.log):
            # No log to read: only the uid can be checked.
            write_state(env, 0, 0)
            s = scan_json(env, queue).summary
            assert s["log_read"] is False and s["unverified_header"] == [other_uid["id"]], s
            # The log has every other header's id.
            with open(env.log, "w") as f:
                for t in headers:
                    if t is not not_logged:
                        f.write(json.dumps({"v": 1, "ts": "2026-11-26T18:40:20.000Z",
                                            "id": t["wrapper_header"]["id"], "uid": 1009}) + "\n")
            s = scan_json(env, queue).summary
            assert s["log_read"] is True and s["unverified_header"] == sorted(
                [other_uid["id"], not_logged["id"]]), s["unverified_header"]
            p = qwrap(env, "scan", "--queue", queue)
            assert b"unverified\t%d" % not_logged["id"] in out_lines(p.stdout), why(p)
            # Outside the capture session, a missing record proves nothing.
            write_state(env, 2 ** 40, 0)
            s = scan_json(env, queue).summary
            assert s["unverified_header"] == [other_uid["id"]], s["unverified_header"]
    finally:
        if made:
            shutil.rmtree(sdir, ignore_errors=True)
        remove(queue)


# --- The maillog ------------------------------------------------------------------------

# The two formats of a successful SMTP-auth login qwrap reads:
#   Plesk's qmail (smtp_auth):
#     Nov 26 18:40:17 web01 smtp_auth: smtp_auth: SMTP user info@shop.example : logged in from mail.example.net [203.0.113.5]
#   vpopmail's vchkpw (qmail-smtpd AUTH patches; the IP may be IPv6):
#     Nov 26 18:40:17 web01 vchkpw-submission: (LOGIN) login success info@shop.example:203.0.113.5
PLESK_OK = "%s web01 smtp_auth: smtp_auth: SMTP user %s : logged in from %s [%s]"
VCHKPW_OK = "%s web01 vchkpw-%s: (%s) login success %s:%s"
NOT_LOGINS = (
    "%s web01 smtp_auth: smtp_auth: FAILED: %s - password incorrect from %s [%s]",
    "%s web01 smtp_auth: smtp_auth: SMTP user %s : authentication failed from %s [%s]",
    "%s web01 vchkpw-smtp: password fail %s:%s%.0s",
    "%s web01 vchkpw-submission: vpopmail user not found %s:%s%.0s",
    "%s web01 vchkpw-smtps: smtp access denied %s:%s%.0s",
)
NOISE = (
    "Nov 26 18:41:03 web01 qmail-send: new msg 1065314",
    "Nov 26 18:41:03 web01 qmail-send: info msg 1065314: bytes 734 from <bounce@shop.example>"
    " qp 26310 uid 1009",
    "Nov 26 18:41:04 web01 sshd[812]: Accepted publickey for root from 192.0.2.9 port 5522",
    "Nov 26 18:41:05 web01 dovecot: imap-login: Login: user=<info@shop.example>, method=PLAIN",
    "Nov 26 18:41:06 web01 CRON[999]: (root) CMD (logged in users: none)",
    "Nov 26 18:41:07 web01 kernel: [ 12.34] SMTP user smtp_auth: no",
    "",
    "garbage \x01\x02 without a date",
)
AUTH_USERS = ("info@shop.example", "sales@shop.example", "admin@blog.example",
              "newsletter@promo.example.com", "postmaster@shop.example", "x@y.example")


def maillog(rng, n):
    """N generated lines, and the logins per user they hold."""
    lines, logins = [], {}
    for i in range(n):
        when = "Nov 26 18:%02d:%02d" % (i // 60 % 60, i % 60)
        user = rng.choice(AUTH_USERS[:3] * 4 + AUTH_USERS)
        ip = rng.choice(("203.0.113.5", "198.51.100.23", "2001:db8::17", "::ffff:192.0.2.4"))
        k = rng.random()
        if k < 0.3:
            lines.append(PLESK_OK % (when, user, rng.choice(("mail.example.net", "unknown")), ip))
            logins[user] = logins.get(user, 0) + 1
        elif k < 0.55:
            lines.append(VCHKPW_OK % (when, rng.choice(("smtp", "submission", "smtps")),
                                      rng.choice(("LOGIN", "PLAIN", "CRAM-MD5")), user, ip))
            logins[user] = logins.get(user, 0) + 1
        elif k < 0.8:
            lines.append(rng.choice(NOT_LOGINS) % (when, user, "mail.example.net", ip))
        else:
            lines.append(rng.choice(NOISE))
    return lines, logins


def maillog_rows(logins):
    return ordered([{"key": u, "messages": n, "recipients": 0} for u, n in logins.items()])


@test
def scan__maillog_two_formats__exact_logins_per_user(env):
    rng = random.Random(26)
    lines, logins = maillog(rng, 3000)
    d = private_dir(env)
    try:
        path = os.path.join(d, "maillog")
        data = ("\n".join(lines) + "\n").encode()
        with open(path, "wb") as f:
            f.write(data)
        want = {"type": "maillog", "lines": len(lines), "logins": sum(logins.values()),
                "auth_users": maillog_rows(logins)}
        assert len(logins) == len(AUTH_USERS)
        p = qwrap(env, "scan", "--maillog", path, "--json", "-n", "0")
        assert p.returncode == 0 and p.stderr == b"", why(p)
        got = [json.loads(l) for l in out_lines(p.stdout)]
        assert got == [want], "got %s, expected %s" % (got, want)
        # Cut to -n (10 by default, more than there are users here), from stdin too.
        for args, n in (((), 10), (("-n", "2"), 2)):
            p = qwrap(env, "scan", "--maillog", "-", "--json", *args, stdin=data)
            assert p.returncode == 0, why(p)
            got = json.loads(p.stdout)
            assert got["auth_users"] == want["auth_users"][:n] and got["logins"] == want["logins"], got
        # Piped text: one row per user.
        p = qwrap(env, "scan", "--maillog", path, "-n", "0")
        assert p.returncode == 0, why(p)
        assert out_lines(p.stdout) == [("auth_users\t%d\t0\t%s" % (r["messages"], r["key"])).encode()
                                       for r in want["auth_users"]], p.stdout[:500]
        # A last line without its newline still counts; an empty log has nobody.
        p = qwrap(env, "scan", "--maillog", "-", "--json", stdin=data + PLESK_OK.encode() % (
            b"Nov 26 19:00:00", b"late@shop.example", b"unknown", b"192.0.2.1"))
        got = json.loads(p.stdout)
        assert got["lines"] == len(lines) + 1 and got["logins"] == want["logins"] + 1, got
        p = qwrap(env, "scan", "--maillog", "/dev/null", "--json")
        assert json.loads(p.stdout) == {"type": "maillog", "lines": 0, "logins": 0,
                                        "auth_users": []}, p.stdout
        p = qwrap(env, "scan", "--maillog", os.path.join(d, "none"), "--json")
        assert p.returncode == EX_NOINPUT and p.stdout == b"", why(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def scan__maillog_failed_login_or_other_program_quoting_login_text__not_counted(env):
    # Text the client chooses can land in a line that is no login:
    # * vchkpw built with --enable-logging=p (ENABLE_LOGGING 3 or 4) logs the
    #   password of a failed login, "%s: password fail (pass: '%s') %s@%s:%s";
    # * spamd logs each message's Message-ID ("mid=<...>") in its result line.
    ok = "Nov 26 18:40:18 web01 vchkpw-smtp: (PLAIN) login success info@shop.example:203.0.113.5"
    not_logins = (
        "Nov 26 18:40:17 web01 vchkpw-smtp: password fail (pass: 'x login success "
        "admin@victim.example:1') info@shop.example:203.0.113.9",
        "Nov 26 18:40:19 web01 spamd[812]: spamd: result: Y 15 - BAYES_99 scantime=0.3,"
        "size=512,user=vpopmail,mid=<smtp_auth SMTP user boss@shop.example : logged in>,"
        "autolearn=no",
    )
    counted = []
    for line in not_logins:
        p = qwrap(env, "scan", "--maillog", "-", "--json", stdin=(line + "\n" + ok + "\n").encode())
        assert p.returncode == 0, why(p)
        got = json.loads(p.stdout)
        if got["logins"] != 1 or got["auth_users"] != [
                {"key": "info@shop.example", "messages": 1, "recipients": 0}]:
            counted.append("%r counted: %s" % (line, got["auth_users"]))
    assert not counted, "lines that are no login counted as logins:\n  " + "\n  ".join(counted)


@test
def scan__maillog_line_over_8k__counted_as_one_line(env):
    long_line = "Nov 26 18:40:17 web01 spamd[812]: spamd: " + "x" * 9000
    ok = "Nov 26 18:40:18 web01 vchkpw-smtp: (PLAIN) login success info@shop.example:203.0.113.5"
    p = qwrap(env, "scan", "--maillog", "-", "--json",
              stdin=(ok + "\n" + long_line + "\n" + ok + "\n").encode())
    assert p.returncode == 0, why(p)
    got = json.loads(p.stdout)
    assert (got["lines"], got["logins"]) == (3, 2), \
        "lines %d (expected 3), logins %d (expected 2): %s" % (got["lines"], got["logins"], got)


# --- Unreadable, missing, FIFOs, bad files ------------------------------------------------

@test
def scan__unreadable_or_missing_queue__exit_77_or_66_and_why(env):
    queue = extract(env, "queue.tar.gz")
    try:
        if env.is_root:
            # The queue is in a 0700 directory of root's.
            assert stat.S_IMODE(os.stat(os.path.dirname(queue)).st_mode) == 0o700
            for args in ((), ("--json",), ("--id", "1065314")):
                p = qwrap(env, "scan", "--queue", queue, *args, as_user=True)
                assert p.stdout == b"" and (
                    p.returncode == EX_NOPERM or
                    (p.returncode == EX_NOINPUT and b"run as root" in p.stderr)), \
                    "as %s %s: %s" % (USER, args, why(p))
        for missing in (os.path.join(queue, "nothing"), os.path.join(queue, "info", "0", "1065314")):
            for args in ((), ("--json",), ("--id", "1065314")):
                p = qwrap(env, "scan", "--queue", missing, *args)
                assert p.returncode == EX_NOINPUT and p.stdout == b"" and p.stderr, \
                    "%s %s: %s" % (missing, args, why(p))
    finally:
        remove(queue)


def run_with_timeout(env, *args, timeout=20):
    try:
        return qwrap(env, *args, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("qwrap %s: still running after %ds (blocked on a FIFO?)" % (
            " ".join(map(str, args)), timeout))


@test
def scan__fifos_in_queue__never_opened_never_block(env):
    queue = extract(env, "queue.tar.gz")
    try:
        os.makedirs(os.path.join(queue, "lock"), exist_ok=True)
        os.mkfifo(os.path.join(queue, "lock", "trigger"))
        os.mkfifo(os.path.join(queue, "mess", "5", "999999"))
        # A FIFO in place of an envelope file (the remote one of a real message).
        t = next(t for t in truth()["messages"] if t["files"]["remote"] and t["files"]["local"])
        remote = os.path.join(queue, t["files"]["remote"])
        os.unlink(remote)
        os.mkfifo(remote)
        for args in (("--json", "-n", "0"), ()):
            p = run_with_timeout(env, "scan", "--queue", queue, *args)
            assert p.returncode == 0 and p.stderr == b"", why(p)
        sc = Scan(run_with_timeout(env, "scan", "--queue", queue, "--json").stdout)
        assert sc.queue["messages"] == 40, sc.queue
        assert sc.summary["scanned"] == 40 and 999999 not in sc.by_id, sc.summary
        if t["id"] in sc.by_id:
            m = sc.by_id[t["id"]]
            assert m["recipients"]["remote"] == [] and \
                m["recipients"]["local"] == t["recipients"]["local"], m["recipients"]
        p = run_with_timeout(env, "scan", "--queue", queue, "--id", "999999", "--json")
        assert p.returncode == EX_NOINPUT and p.stdout == b"", why(p)
        p = run_with_timeout(env, "scan", "--queue", queue, "--id", t["id"])
        assert p.returncode == 0, why(p)
    finally:
        remove(queue)


def write(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


@test
def scan__hostile_header_text__never_reaches_the_terminal_raw(env):
    """Spam writes the header: escape sequences (ESC, raw 8-bit C1 such as 0x9b,
    UTF-8 C1, bidi overrides) in a Subject, a forged SMTP Received line and a
    forged qwrap header must show as '?' in the tables and in --id."""
    queue = private_dir(env)
    for d in ("mess/0", "info/0", "remote/0", "todo"):
        os.makedirs(os.path.join(queue, d))
    evil = b"\x1b]0;PWNED\x07\x1b[2J\x9b2J\xc2\x9b2J\xe2\x80\xaeevil"
    write(os.path.join(queue, "mess/0/23"),
          b"Received: (qmail 1 invoked by uid 1009); 26 Nov 2026 18:40:13 -0000\n"
          b"Received: from " + evil + b" (HELO " + evil + b") (" + evil + b"@1.2.3.4)\n"
          b"  by localhost with SMTP; 26 Nov 2026 18:40:13 -0000\n"
          b"X-Additional-Header: id=%1b[31m" + evil + b"; uid=1009; cwd=/x%1b; script=/y" + evil +
          b"\nSubject: " + evil + b" =?utf-8?q?hi=9b2J?=\nFrom: " + evil + b"\n\nbody\n")
    write(os.path.join(queue, "info/0/23"), b"F" + evil + b"\0")
    write(os.path.join(queue, "remote/0/23"), b"T" + evil + b"@x.example\0")
    for args in (("scan", "--queue", queue), ("scan", "--queue", queue, "--id", "23")):
        p = qwrap(env, *args)
        assert p.returncode == 0, why(p)
        for bad in (b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b", b"\xe2\x80\xae", b"\r"):
            assert bad not in p.stdout, "%r reached the output of %s:\n%r" % (bad, args, p.stdout)
        assert p.stdout.count(b"\n") == len(out_lines(p.stdout))
    p = qwrap(env, "scan", "--queue", queue, "--id", "23", "--json")
    m = json.loads(p.stdout)
    assert m["smtp_trusted"] is False and m["smtp"] is not None, m
    remove(queue)


@test
def scan__bad_envelopes_and_no_received_line__sane_values(env):
    queue = extract(env, "queue.tar.gz")
    try:
        msgs = [t for t in truth()["messages"] if t["files"]["remote"] and
                t["received"]["invoked"] == "by uid" and t["smtp_received"] is None]
        garbage, f_garbage, empty, no_nul_rcpt, todo_garbage = (msgs[i]["id"] for i in range(5))

        def path(kind, i, split=True):
            return os.path.join(queue, kind, str(i % SPLIT), str(i)) if split else \
                os.path.join(queue, kind, str(i))
        # info: garbage bytes without any NUL; "F..." without its NUL; nothing at all.
        write(path("info", garbage), bytes(range(0x80, 0x100)) * 3)
        write(path("info", f_garbage), b"Fjunk\x01\xff sender")
        write(path("info", empty), b"")
        # A recipients file whose last address has no NUL: still an address.
        write(path("remote", no_nul_rcpt), b"Ta@example.com\0Tb@example.net")
        # Before preprocessing: a todo envelope of garbage (the info file removed).
        os.unlink(path("info", todo_garbage))
        os.unlink(path("remote", todo_garbage))
        write(path("todo", todo_garbage, False), b"u12x\0pzz\0\xff\xfe\0Tc@example.org")
        # A message without any Received line, and one with only other programs' lines.
        bare_id, other_id = 424242, 424243
        write(path("mess", bare_id), b"Subject: no received\nFrom: a@example.com\n\nbody\n")
        write(path("info", bare_id), b"Fa@example.com\0")
        write(path("remote", bare_id), b"Tz@example.com\0")
        write(path("mess", other_id), b"Received: from x by y with SMTP; 26 Nov 2026\n"
              b"Received: (qmail 1 invoked by uid 5); 26 Nov 2026 18:40:13 -0000\n\nbody")
        write(path("todo", other_id, False), b"u77\0p1\0F\0Tq@example.com\0")
        # An empty message file, and a mess file that is all header, no newline at all.
        empty_mess, no_eol = 424244, 424245
        write(path("mess", empty_mess), b"")
        write(path("mess", no_eol), b"Received: (qmail 9 invoked by uid 0); 26 Nov 2026 18:40:13 -0000")

        p = qwrap(env, "scan", "--queue", queue, "--json", "-n", "0")
        assert p.returncode == 0 and p.stderr == b"", why(p)
        sc = Scan(p.stdout)
        got = sc.by_id
        assert len(sc.order) == 44 and sc.summary["scanned"] == 44, sc.order

        def expect(i, **want):
            problems = diff_dict(got[i], want, "message %d" % i)
            assert not problems, "\n  ".join(problems)
        t = {t["id"]: t for t in truth()["messages"]}
        expect(garbage, preprocessed=True, sender=None,
               recipients=dict(t[garbage]["recipients"], pending=[]))
        expect(f_garbage, preprocessed=True, sender="junk\x01\\xff sender")
        expect(empty, preprocessed=True, sender=None)
        expect(no_nul_rcpt, recipients={"local": t[no_nul_rcpt]["recipients"]["local"],
                                        "remote": ["a@example.com", "b@example.net"],
                                        "pending": [], "done": []})
        expect(todo_garbage, preprocessed=False, sender=None, uid=t[todo_garbage]["received"]["uid"],
               recipients={"local": [], "remote": [], "pending": ["c@example.org"], "done": []})
        expect(bare_id, invoked=None, uid=-1, user="", qmail_queue_pid=-1, received_date="",
               received_lines=0, smtp=None, qwrap=None, subject="no received",
               sender="a@example.com")
        # qmail-queue's line is the first one or none: a later one is another program's.
        expect(other_id, invoked=None, uid=77, qmail_queue_pid=-1, received_lines=2, smtp=None,
               preprocessed=False, sender="")
        expect(empty_mess, size=0, received_lines=0, invoked=None, sender=None, subject="",
               recipients={"local": [], "remote": [], "pending": [], "done": []},
               recipient_count={"local": 0, "remote": 0, "pending": 0, "done": 0, "total": 0})
        expect(no_eol, invoked="by uid", uid=0, qmail_queue_pid=9, received_lines=1)
        s = sc.summary
        assert s["without_envelope"] == 5 and s["preprocessed"] == 40, s
        entered = {r["key"]: r["messages"] for r in s["entered"]}
        assert entered["unknown"] == 3, entered
        senders = {r["key"]: r["messages"] for r in s["sender"]}
        assert senders["-"] == 5, senders

        for i in (garbage, todo_garbage, bare_id, empty_mess):
            p = qwrap(env, "scan", "--queue", queue, "--id", i, "--json")
            assert p.returncode == 0 and p.stderr == b"", why(p)
            one = json.loads(p.stdout)
            assert one["received"] == ([] if i in (bare_id, empty_mess) else received_values(
                path("mess", i))), one["received"]
            p = qwrap(env, "scan", "--queue", queue, "--id", i)
            assert p.returncode == 0 and b"message %d: " % i in p.stdout, why(p)
    finally:
        remove(queue)


@test
def scan__unreadable_envelope__message_kept_scan_goes_on(env):
    if not env.is_root:
        return "skipped: needs root to make a file only root can read"
    queue = extract(env, "queue.tar.gz")
    try:
        # Readable by anyone but one envelope file of root's, 0600: qwraptest
        # reads every message but cannot read that message's recipients.  The
        # one message may come out incomplete (or be left out, with a word on
        # stderr), but the other 39 must still be read: the message that is
        # first in scan order is the one made unreadable, so a scan that stops
        # there reports none of them.
        os.chmod(os.path.dirname(queue), 0o755)
        for d, dirs, files in os.walk(queue):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        order = scan_json(env, queue).order
        victim = order[0]
        t = truth_message(victim)
        target = os.path.join(queue, t["files"]["remote"] or t["files"]["local"])
        os.chown(target, 0, 0)
        os.chmod(target, 0o600)
        p = qwrap(env, "scan", "--queue", queue, "--json", as_user=True)
        assert p.returncode >= 0, "killed by signal %d" % -p.returncode
        sc = Scan(p.stdout)
        others = set(order) - {victim}
        assert others <= set(sc.order), \
            "one unreadable envelope file (%s) hid %d other messages; exit %d, stderr %r" % (
                target, len(others - set(sc.order)), p.returncode, p.stderr[-300:])
        assert sc.summary["scanned"] >= 39, sc.summary
    finally:
        remove(queue)


# --- Generated queues -------------------------------------------------------------------

SCRIPTS = ("/var/www/vhosts/shop.example/httpdocs/wp-content/uploads/x.php",
           "/var/www/vhosts/shop.example/httpdocs/my dir/send;mail.php",
           "/var/www/vhosts/blog.example/httpdocs/cgi-bin/newsletter.pl",
           "/home/alice/public_html/100%/mailer.php")
GEN_SUBJECTS = (
    # (raw as written in the file, unfolded raw, decoded)
    (b"Your invoice", "Your invoice", "Your invoice"),
    (b"=?UTF-8?B?" + base64.b64encode("Ваш счёт".encode()) + b"?=",
     "=?UTF-8?B?" + base64.b64encode("Ваш счёт".encode()).decode() + "?=", "Ваш счёт"),
    (b"=?ISO-8859-1?Q?Caf=E9_deals?=", "=?ISO-8859-1?Q?Caf=E9_deals?=", "Café deals"),
    (b"=?utf-8?q?Hello_?=\n =?UTF-8?Q?w=C3=B6rld?=", "=?utf-8?q?Hello_?= =?UTF-8?Q?w=C3=B6rld?=",
     "Hello wörld"),
    (b"Cheap\n watches", "Cheap watches", "Cheap watches"),
    (b"Re: Business proposal", "Re: Business proposal", "Re: Business proposal"),
    (None, "", ""),
)
GEN_DOMAINS = ("example.com", "Example.NET", "example.org", "list.example.com", "shop.example",
               "localhost.localdomain")


def pct(s):
    return "".join(c if c.isalnum() or c in "/._-" else "%%%02X" % ord(c) for c in s)


def generate_queue(env, n, seed, todo_share=0.1):
    """A queue of N generated messages in qmail's formats: its path and the
    messages as Tables wants them (with their files' expected facts)."""
    rng = random.Random(seed)
    queue = os.path.join(private_dir(env), "queue")
    for sub in ("mess", "info", "local", "remote"):
        for k in range(SPLIT):
            os.makedirs(os.path.join(queue, sub, str(k)))
    for sub in ("todo", "intd", "bounce", "pid"):
        os.makedirs(os.path.join(queue, sub))
    users = [0, 1009, 1010, 4000000]
    if env.is_root:
        users.append(env.uid)
    ids = rng.sample(range(100000, 9000000), n)
    base = 1795718413	# 26 Nov 2026 18:40:13 UTC
    msgs = []
    for k, i in enumerate(ids):
        split = str(i % SPLIT)
        pid = 20000 + k
        kind = rng.random()
        uid = rng.choice(users)
        if kind < 0.75:
            invoked = "by uid"
            first = b"Received: (qmail %d invoked by uid %d); 26 Nov 2026 18:40:13 -0000\n" % (pid, uid)
        elif kind < 0.87:
            invoked = "from network"
            uid = 1002
            first = (b"Received: (qmail %d invoked from network); 26 Nov 2026 18:40:13 -0000\n"
                     b"Received: from unknown (HELO relay) (192.0.2.%d)\n  by localhost with QMTP;"
                     b" 26 Nov 2026 18:40:13 -0000\n" % (pid, k % 250))
        elif kind < 0.95:
            invoked = "for bounce"
            uid = 1007
            first = b"Received: (qmail %d invoked for bounce); 26 Nov 2026 18:40:13 -0000\n" % pid
        else:
            invoked = "by alias"
            uid = 1001
            first = b"Received: (qmail %d invoked by alias); 26 Nov 2026 18:40:13 -0000\n" % pid
        sender = rng.choice(("", "web1@localhost.localdomain", "bounce@shop.example",
                             "news@blog.example", "Mixed@Case.Example"))
        rcpts = []
        for _ in range(rng.choice((1, 1, 2, 3, 5, 8, 30))):
            dom = rng.choice(GEN_DOMAINS)
            rcpts.append(("u%d@%s" % (rng.randrange(60), dom) if rng.random() < 0.97
                          else "postmaster", rng.random() < 0.1))
        raw_subject, subject, decoded = rng.choice(GEN_SUBJECTS)
        crlf = rng.random() < 0.5
        eol = b"\r\n" if crlf else b"\n"
        head = first + b"Date: 26 Nov 2026 18:40:13 -0000\nMessage-ID: <%d.qmail@localhost>\n" % i
        qwrap_id = script = None
        if invoked == "by uid" and rng.random() < 0.4:
            script = rng.choice(SCRIPTS)
            qwrap_id = "20261126T184013Z.%012x" % rng.getrandbits(48)
            head += (b"X-Additional-Header: id=%s; uid=%d;" % (qwrap_id.encode(), uid) + eol +
                     b" cwd=%s;" % pct(os.path.dirname(script)).encode() + eol +
                     b" script=%s" % pct(script).encode() + eol)
        head += b"From: Someone <someone@example.com>\n"
        if raw_subject is not None:
            head += b"Subject: " + raw_subject + eol
        head += b"To: undisclosed-recipients:;\n"
        body = eol + b"Hello.\n" * rng.choice((1, 10, 100)) + (b"x" * 70000 if k == 7 else b"")
        data = head + body
        mtime = base + k % 40
        write(os.path.join(queue, "mess", split, str(i)), data, mtime)
        todo = rng.random() < todo_share
        if todo:
            env_ = b"u%d\0p%d\0F%s\0" % (uid, pid, sender.encode()) + \
                b"".join(b"T%s\0" % a.encode() for a, _ in rcpts)
            write(os.path.join(queue, "todo", str(i)), env_)
            os.link(os.path.join(queue, "todo", str(i)), os.path.join(queue, "intd", str(i)))
            rcpts = [(a, False) for a, _ in rcpts]
            chans = {"local": [], "remote": [], "pending": [a for a, _ in rcpts]}
        else:
            write(os.path.join(queue, "info", split, str(i)), b"F%s\0" % sender.encode())
            local = [(a, d) for a, d in rcpts if a.endswith("localdomain") or "@" not in a]
            remote = [(a, d) for a, d in rcpts if (a, d) not in local]
            rcpts = local + remote
            for name, lst in (("local", local), ("remote", remote)):
                if lst:
                    write(os.path.join(queue, name, split, str(i)), b"".join(
                        (b"D" if d else b"T") + a.encode() + b"\0" for a, d in lst))
            chans = {"local": [a for a, _ in local], "remote": [a for a, _ in remote],
                     "pending": []}
        msgs.append({"id": i, "invoked": invoked,
                     "uid": uid if invoked == "by uid" or todo else -1,
                     "sender": sender, "subject": decoded, "raw_subject": subject,
                     "script": script, "qwrap_id": qwrap_id, "rcpts": rcpts, "chans": chans,
                     "done": [a for a, d in rcpts if d], "size": len(data), "todo": todo,
                     "pid": pid})
    return queue, msgs


@test
def scan__generated_queue_of_3000__every_total_and_table_as_generated(env):
    queue, msgs = generate_queue(env, 3000, seed=23)
    try:
        root = "/var/www/vhosts"
        sc = scan_json(env, queue, "-n", "0", "--vhosts-root", root).strict()
        todo = sum(m["todo"] for m in msgs)
        assert sc.queue == {"type": "queue", "queue": queue, "messages": 3000,
                            "not_preprocessed": todo}, sc.queue
        gen = {m["id"]: m for m in msgs}
        assert sorted(sc.by_id) == sorted(gen), "ids differ"
        problems = []
        for m in sc.messages:
            g = gen[m["id"]]
            want = {"preprocessed": not g["todo"], "sender": g["sender"],
                    "recipients": dict(g["chans"], done=g["done"]),
                    "uid": g["uid"], "invoked": g["invoked"], "qmail_queue_pid": g["pid"],
                    "subject": g["raw_subject"], "subject_decoded": g["subject"],
                    "size": g["size"], "smtp": None,
                    "qwrap": None if g["script"] is None else {
                        "id": g["qwrap_id"], "uid": g["uid"],
                        "cwd": os.path.dirname(g["script"]), "script": g["script"]}}
            problems += diff_dict(m, want, "message %d" % m["id"])
            if len(problems) > 20:
                break
        assert not problems, "\n  ".join(problems)
        s = sc.summary
        rc = {"local": sum(len(m["chans"]["local"]) for m in msgs),
              "remote": sum(len(m["chans"]["remote"]) for m in msgs),
              "pending": sum(len(m["chans"]["pending"]) for m in msgs),
              "done": sum(len(m["done"]) for m in msgs)}
        problems = diff_dict(s, {"messages": 3000, "not_preprocessed": todo, "scanned": 3000,
                                 "preprocessed": 3000 - todo, "vanished": 0,
                                 "without_envelope": 0, "recipients": rc,
                                 "with_qwrap_header": sum(m["script"] is not None for m in msgs)},
                             "summary")
        desc = [gen[m["id"]] for m in sc.messages]
        problems += Tables(desc, root).check(s)
        assert not problems, "\n  ".join(problems)
        assert {r["key"] for r in s["script"]} == set(SCRIPTS), s["script"]
    finally:
        remove(queue)


@test
def scan__headers_without_id__each_script_counted_apart(env):
    # header.fields may leave "id" out (fields = ["uid", "script"]): every such
    # header then has no id, and each message still names its own script.
    queue = os.path.join(private_dir(env), "queue")
    try:
        for k, (i, script) in enumerate(((1001, SCRIPTS[0]), (1002, SCRIPTS[0]),
                                         (1003, SCRIPTS[2]))):
            write(os.path.join(queue, "mess", str(i % SPLIT), str(i)),
                  b"Received: (qmail %d invoked by uid 1009); 26 Nov 2026 18:40:13 -0000\n"
                  b"X-Additional-Header: uid=1009; script=%s\nSubject: s\n\nbody\n" % (
                      k + 1, script.encode()))
            write(os.path.join(queue, "info", str(i % SPLIT), str(i)), b"Fa@example.com\0")
            write(os.path.join(queue, "remote", str(i % SPLIT), str(i)), b"Tb@example.com\0")
        s = scan_json(env, queue).summary
        got = {r["key"]: r["messages"] for r in s["script"]}
        assert got == {SCRIPTS[0]: 2, SCRIPTS[2]: 1}, "script table %s, expected %s" % (
            s["script"], {SCRIPTS[0]: 2, SCRIPTS[2]: 1})
    finally:
        remove(queue)


@test
def scan__messages_deleted_during_the_scan__skipped_silently(env):
    queue, msgs = generate_queue(env, 3000, seed=7, todo_share=0)
    try:
        gen = {m["id"]: m for m in msgs}
        doomed = random.Random(3).sample(sorted(gen), 1200)
        p = subprocess.Popen([os.path.join(env.sbin, "qwrap"), "scan", "--queue", queue,
                              "--json", "-n", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = [], []

        def read(stream, into, slow):
            while True:
                chunk = stream.read(4096) if slow else stream.read()
                if not chunk:
                    break
                into.append(chunk)
                if slow:
                    time.sleep(0.0005)	# qwrap writes on while we delete
        readers = [threading.Thread(target=read, args=(p.stdout, out, True)),
                   threading.Thread(target=read, args=(p.stderr, err, False))]
        for t in readers:
            t.start()
        touched = set()
        for k, i in enumerate(doomed):
            # In qmail-send's order: the recipients, the info, then qmail-clean's mess.
            split = str(i % SPLIT)
            touched.add(i)
            for sub in ("local", "remote", "info", "mess"):
                try:
                    os.unlink(os.path.join(queue, sub, split, str(i)))
                except FileNotFoundError:
                    pass
            if k % 20 == 0:
                time.sleep(0.001)
        try:
            p.wait(timeout=300)
        finally:
            for t in readers:
                t.join()
        stdout, stderr = b"".join(out), b"".join(err)
        assert p.returncode == 0 and stderr == b"", "exit %d: %r" % (p.returncode, stderr[-500:])
        sc = Scan(stdout).strict()
        s = sc.summary
        assert set(sc.by_id) <= set(gen), "ids never queued: %s" % sorted(set(sc.by_id) - set(gen))[:5]
        untouched = set(gen) - touched
        assert untouched <= set(sc.by_id), "messages never deleted not reported: %s" % (
            sorted(untouched - set(sc.by_id))[:5])
        assert s["scanned"] == len(sc.messages) and s["scanned"] + s["vanished"] <= 3000, s
        for m in sc.messages:
            g = gen[m["id"]]
            # All of it, or (deleted meanwhile) what was left: never another message's data.
            assert m["subject_decoded"] == g["subject"] and m["size"] == g["size"], m
            if m["id"] in untouched:
                assert m["sender"] == g["sender"] and m["recipients"]["remote"] == \
                    g["chans"]["remote"], m
            else:
                assert m["sender"] in (g["sender"], None), m
                for ch in ("local", "remote"):
                    assert m["recipients"][ch] in (g["chans"][ch], []), m
        return "%d deleted: %d of them reported, %d vanished while read" % (
            len(doomed), len(set(doomed) & set(sc.by_id)), s["vanished"])
    finally:
        remove(queue)


# --- A queue the real qmail wrote -------------------------------------------------------

def real_qmail_mailboxes(qm):
    """Local addresses in the private qmail home, by users/assign: box@here.example is
    delivered to a maildir, later@here.example always deferred (|exit 111)."""
    alias = pwd.getpwnam("alias")
    home = os.path.join(qm.home, "testbox")
    shutil.rmtree(home, ignore_errors=True)
    for d in ("", "Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"):
        os.mkdir(os.path.join(home, d), 0o700)
        os.chown(os.path.join(home, d), alias.pw_uid, alias.pw_gid)
    os.chmod(home, 0o755)
    for name, text in ((".qmail", "./Maildir/\n"), (".qmail-later", "|exit 111\n")):
        path = os.path.join(home, name)
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, alias.pw_uid, alias.pw_gid)
        os.chmod(path, 0o644)
    qm.assign(["=box:alias:%d:%d:%s:::" % (alias.pw_uid, alias.pw_gid, home),
               "=later:alias:%d:%d:%s:-:later:" % (alias.pw_uid, alias.pw_gid, home)])
    return home


@test
def scan__real_qmail_queue__as_queued_then_split_by_qmail_send(env):
    """Mail sent through qwrap, around it, and by -bs into the real qmail; scanned as
    qmail-queue wrote it, then after qmail-send ran briefly: split into info, local
    and remote, a local recipient delivered to a maildir (done), another deferred,
    remote ones deferred at a closed port on 127.0.0.1."""
    import __main__ as run
    import socket
    if not env.is_root:
        return "skipped: needs root (qmail's users, qmail-send)"
    if env.qmail is None:
        return "skipped: no real qmail: " + env.no_qmail
    qm = env.qmail
    qm.clear()
    box = real_qmail_mailboxes(qm)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))       # bound, never listening: connections are refused
    qm.control("smtproutes", ":127.0.0.1:%d\n" % closed.getsockname()[1])
    qm.control("locals", "localhost\nhere.example\n")
    try:
        sent = {}
        for name, args, msg, direct in (
                ("mixed", ["-t"], b"To: box@here.example, later@here.example, r1@remote.example\n"
                 b"Subject: mixed\n\nb\n", False),
                ("remote", ["-f", "news@site.example", "r2@remote.example", "r3@other.example"],
                 b"Subject: remote only\n\nb\n", False),
                ("around", ["-t"], b"To: later@here.example, r4@remote.example\n"
                 b"Subject: around the wrapper\n\nb\n", True)):
            p, recs, got = env.send(args, msg, direct=direct)
            assert p.returncode == 0, p.stderr
            sent[name] = (run.one(got, "queued message").inode, recs)
        p, recs, got = env.send(["-bs"], b"HELO x\r\nMAIL FROM:<bs@site.example>\r\n"
                                b"RCPT TO:<later@here.example>\r\nDATA\r\nSubject: by smtp\r\n"
                                b"\r\nb\r\n.\r\nQUIT\r\n")
        assert p.returncode == 0 and b"\r\n250 ok " in p.stdout, (p.stdout, p.stderr)
        sent["smtp"] = (run.one(got, "queued message").inode, recs)
        ids = {name: run.one(recs)["id"] for name, (_, recs) in sent.items() if recs}

        def check(sc, preprocessed):
            assert sc.queue["messages"] == 4 and sc.queue["not_preprocessed"] == (
                0 if preprocessed else 4), sc.queue
            want = {
                "mixed": (["box@here.example", "later@here.example"], ["r1@remote.example"],
                          ["box@here.example"]),
                "remote": ([], ["r2@remote.example", "r3@other.example"], []),
                "around": (["later@here.example"], ["r4@remote.example"], []),
                "smtp": (["later@here.example"], [], []),
            }
            for name, (inode, _) in sent.items():
                m = sc.by_id[inode]
                local, remote, done = want[name]
                if preprocessed:
                    r = {"local": local, "remote": remote, "pending": [], "done": done}
                else:
                    r = {"local": [], "remote": [], "pending": sorted(local + remote), "done": []}
                for v in m["recipients"].values():
                    v.sort()     # in qmail-inject's order
                assert (m["preprocessed"], m["recipients"]) == (preprocessed, r), (name, m)
                assert m["invoked"] == "by uid" and m["uid"] == env.uid, (name, m)
                if name == "around":
                    assert m["qwrap"] is None, m
                else:
                    assert m["qwrap"]["id"] == ids[name], (name, m["qwrap"], ids)
            assert sc.by_id[sent["remote"][0]]["sender"] == "news@site.example"
            assert sc.by_id[sent["smtp"][0]]["sender"] == "bs@site.example"

        check(scan_json(env, qm.queue, "-n", "0").strict(), False)
        # Eight deliveries: each recipient once, then qmail-send is stopped.
        log = qm.run_send(lambda text: len(re.findall(
            rb"\ndelivery \d+: (success|deferral|failure)", text)) >= 8)
        assert log.count(b"delivery") and b": failure" not in log, log
        assert len(re.findall(rb"\ndelivery \d+: success", log)) == 1, log
        assert len(os.listdir(os.path.join(box, "Maildir", "new"))) == 1
        for sub in ("info", "local", "remote"):
            assert sum(len(os.listdir(os.path.join(qm.queue, sub, d)))
                       for d in os.listdir(os.path.join(qm.queue, sub))) > 0, sub
        check(scan_json(env, qm.queue, "-n", "0").strict(), True)
    finally:
        closed.close()
        qm.control("smtproutes", None)
        qm.control("locals", "localhost\n")
        qm.assign([])
        qm.clear()
        shutil.rmtree(box, ignore_errors=True)
