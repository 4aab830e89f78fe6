"""Integration tests of qwrap grep, top and tail, imported by run.py.

Logs with known content are generated here (a seeded random mix of sites,
users, hosts and actions, with invalid, torn and non-UTF-8-escaped lines
among them), the installed qwrap reads them, and every answer is compared
with one computed here from the records themselves, by the rules of the
CLI contract (and, for two tables, by jq).  Each test takes run.py's Env.
"""

import calendar
import fnmatch
import gzip
import json
import os
import pwd
import queue
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time

USER = "qwraptest"
VHOSTS = "/var/www/vhosts"
PSA_DIR = "/etc/psa"
SENDING = ("deliver", "hold", "reject")		# what top counts without --action
KEYS = ("uid", "user", "cwd", "script", "vhost", "from", "rcpt-domain", "host", "origin")
HOSTS = ("web1.example.net", "web2.example.net", "mx.example.net")
DROP = object()					# small_record(): leave this key out

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# --- Running qwrap -----------------------------------------------------------

def qwrap(env, *args, stdin=None, as_user=False, timeout=120):
    cmd = [os.path.join(env.sbin, "qwrap")] + [str(a) for a in args]
    if as_user and env.is_root:
        cmd = ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups"] + cmd
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)


def qwrap_ok(env, *args, **kw):
    p = qwrap(env, *args, **kw)
    assert p.returncode == 0, "qwrap %s: exit %d: %s" % (
        " ".join(map(str, args)), p.returncode, p.stderr.decode(errors="replace")[-600:])
    return p


def out_lines(data):
    assert data == b"" or data.endswith(b"\n"), "output does not end in a newline: %r" % data[-200:]
    return data.split(b"\n")[:-1]


def grep_json(env, *args):
    """The lines `qwrap grep --json ARGS` prints."""
    return out_lines(qwrap_ok(env, "grep", "--json", *args).stdout)


def top_json(env, *args):
    """The rows of `qwrap top --json ARGS`, as (key, messages, recipients)."""
    rows = []
    for line in out_lines(qwrap_ok(env, "top", "--json", *args).stdout):
        row = json.loads(line)
        assert sorted(row) == ["key", "messages", "recipients"], line
        rows.append((row["key"], row["messages"], row["recipients"]))
    return rows


def ids(lines):
    return [json.loads(l)["id"] for l in lines]


def same_lines(got, want, what):
    """GOT and WANT are lists of record lines: equal, or a message naming the ids."""
    if got != want:
        g, w = ids(got), ids(want)
        note = (" (the same records: their text differs)" if g == w else
                " (the same records in another order: %s...)" % g[:6] if sorted(g) == sorted(w)
                else "")
        raise AssertionError("%s: %d records, expected %d; extra %s, missing %s%s" % (
            what, len(got), len(want), [i for i in g if i not in w][:5],
            [i for i in w if i not in g][:5], note))


def same_rows(got, want, what):
    if got != want:
        diff = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w][:3]
        raise AssertionError("%s: %d rows, expected %d; first differences (row, got, want): %s"
                             % (what, len(got), len(want), diff))


def private_dir(env):
    d = tempfile.mkdtemp(dir=env.root)
    os.chmod(d, 0o755)
    return d


def write_log(path, texts, final_newline=True, opener=open):
    with opener(path, "wb") as f:
        f.write(b"\n".join(texts) + (b"\n" if final_newline and texts else b""))


def skip_message(name, nth):
    """qwrap's stderr line for NTH, the line numbers it must skip in NAME."""
    return "qwrap: %s: %d line%s skipped, not a whole record (the first: line %d)" % (
        name, len(nth), "" if len(nth) == 1 else "s", nth[0])


# --- Times -------------------------------------------------------------------

def ts_of(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def ms_of(text):
    """A UTC time "2026-11-26T10:00:00.250Z" (or without the milliseconds) in ms."""
    secs = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + (int(text[20:23]) if text[19] == "." else 0)


# --- Records -----------------------------------------------------------------

def record_text(rec, ascii_only=True):
    """REC as the wrapper writes it; ASCII_ONLY escapes non-ASCII as \\uXXXX
    (surrogate pairs beyond the BMP), else it is written as UTF-8."""
    return json.dumps(rec, separators=(",", ":"), ensure_ascii=ascii_only).encode()


def small_record(ms, rid, **fields):
    """A plain record at MS with id RID; FIELDS replace (or, as DROP, remove) keys."""
    rec = {"v": 1, "ts": ts_of(ms), "id": rid, "host": HOSTS[0], "action": "deliver",
           "mode": "message", "uid": 0, "gid": 0, "pid": 4242, "cwd": "/tmp", "script": None,
           "sender": None, "from": "Shop <shop@example.com>", "rcpt": ["a@b.example"],
           "rcpt_count": 1, "subject": "hello"}
    rec.update(fields)
    for k in [k for k, v in fields.items() if v is DROP]:
        del rec[k]
    return rec


class Line:
    """A line of a generated log: RAW as written; REC the record qwrap must read
    from it and TEXT the part grep --json prints (None for none); SKIPPED when
    qwrap must count it as not a whole record."""

    def __init__(self, raw, rec=None, text=None, skipped=False):
        self.raw, self.rec, self.text, self.skipped = raw, rec, text, skipped

    @classmethod
    def record(cls, rec, ascii_only=True):
        text = record_text(rec, ascii_only)
        return cls(text, rec, text)


DOMAINS = ("shop.example", "shop.example-old", "blog.example.org", "ünï.example", "news.example")
CPANEL_USERS = ("alice", "bob", "jos\\xe9")	# \xe9: a non-UTF-8 byte, as the wrapper writes it
ELSEWHERE = ("/", "/tmp", "/srv/app", VHOSTS + "X/shop.example", "/home")
SUBDIRS = ("", "/wp-admin", "/shop/cart", "/cron")
SCRIPT_NAMES = ("index.php", "wp-mail.php", "wp-cron.php", "contact.php", "mailer.py")
LOCALS = ("john", "Mary.Sue", "info", "x+tag", "ZED")
RCPT_DOMAINS = ("b.example", "B.Example", "c.example.org", "C.EXAMPLE.ORG", "mail.d.example",
                "ümlaut.example", "jos\\xe9.example")
SENDERS = (None,) * 6 + ("", "bounce@Shop.Example", "<>", "Return Path <Bounces@News.Example>")
FROMS = ("Example Shop <Shop@Example.com>", "plain@x.example", "  Spaced@X.Example\t", "No Angle",
         None, "", "Weird <x> Name <Real@Example.COM>", "Café <cafe@café.example>",
         "Mary <MARY@b.example")
SUBJECTS = ("Your invoice", "Re: Order 123", "RE: order 456", "Café menu", "Line\nbreak",
            "Tab\there", "\x1b[31mred\x1b[0m", "\U0001F389 Party", "\\xff\\xfe broken", "", None,
            "Order 789 shipped", "C1\x85control", "DEL\x7fchar", "Ünïcödé subject", "INVOICE #7")


def site_dir(rng):
    k = rng.random()
    if k < 0.45:
        return "%s/%s/httpdocs" % (VHOSTS, rng.choice(DOMAINS))
    if k < 0.55:
        return "%s/system/%s/conf" % (VHOSTS, rng.choice(DOMAINS))
    if k < 0.85:
        return "/home/%s/public_html" % rng.choice(CPANEL_USERS)
    return rng.choice(ELSEWHERE)


def cwd_and_script(rng):
    cwd = (site_dir(rng).rstrip("/") + rng.choice(SUBDIRS)) or "/"
    k = rng.random()
    if k < 0.6:
        script = cwd.rstrip("/") + "/" + rng.choice(SCRIPT_NAMES)
    elif k < 0.72:
        script = None
    elif k < 0.77:
        script = ""
    elif k < 0.85:
        script = "/usr/bin/php"		# under no site: the vhost comes from cwd
    else:
        script = site_dir(rng).rstrip("/") + "/" + rng.choice(SCRIPT_NAMES)
    return cwd, script


def rcpt_entry(rng):
    addr = "%s@%s" % (rng.choice(LOCALS), rng.choice(RCPT_DOMAINS))
    return rng.choice((addr, addr, "Some Name <%s>" % addr, '"Doe, J" <%s>' % addr,
                       " %s\t" % addr, "<%s>" % addr, "Weird <x> Name <%s>" % addr,
                       "odd@host@C.Example.ORG", "undisclosed-recipients", ""))


def random_record(rng, ms, host, uid):
    cwd, script = cwd_and_script(rng)
    rcpt = [rcpt_entry(rng) for _ in range(rng.choice((0, 1, 1, 1, 2, 3, 5)))]
    rec = {"v": 1, "ts": ts_of(ms),
           "id": time.strftime("%Y%m%d%H%M%S", time.gmtime(ms // 1000)) +
           ".%016x" % rng.getrandbits(64),
           "host": host,
           "action": rng.choices(("deliver", "hold", "reject", "passthrough"), (70, 12, 8, 5))[0],
           "mode": "message", "uid": uid, "gid": uid, "pid": rng.randrange(100, 99999),
           "cwd": cwd, "script": script, "script_from": "argv",
           "parents": [{"pid": rng.randrange(100, 99999), "uid": uid, "exe": "/usr/bin/php8.2",
                        "argv": ["php-fpm: pool www"]}],
           "env": {}, "argv": ["/usr/sbin/sendmail", "-t", "-i"],
           "sender": rng.choice(SENDERS), "from": rng.choice(FROMS),
           "rcpt": rcpt, "rcpt_count": len(rcpt), "subject": rng.choice(SUBJECTS)}
    k = rng.random()
    if k < 0.08:
        rec["rcpt_count"] += rng.randint(1, 40)	# a list cut short in the log
    elif k < 0.10:
        rec["rcpt"] = None
    elif k < 0.11:
        del rec["rcpt"]
    if rng.random() < 0.85:	# the others: records from before qwrap recorded it
        rec["origin"] = rng.choice(("web", "web", "web", "cron", "at", "ssh", "systemd",
                                    "console", "unknown"))
        rec["origin_from"] = "ancestor"
    return rec


def bad_line(rng, text):
    """A line made from record TEXT that is not a whole record."""
    return rng.choice((
        lambda: b"not json at all",
        lambda: b"[" + text + b"]",
        lambda: b'"' + text.replace(b'"', b"'") + b'"',
        lambda: text.replace(b'"v":1', b'"v":2', 1),
        lambda: text.replace(b'"v":1,', b"", 1),
        lambda: re.sub(rb'"ts":"[^"]*"', b'"ts":"yesterday"', text, count=1),
        lambda: re.sub(rb'"ts":"[^"]*"', b'"ts":"2026-11-26T25:00:00.000Z"', text, count=1),
        lambda: re.sub(rb'"id":"[^"]*"', b'"id":42', text, count=1),
        lambda: text[:-1] + b',"x":"caf\xe9"}',		# a raw Latin-1 byte
        lambda: text[:-1] + b',"x":"\xc0\xaf"}',		# an overlong form
        lambda: text[:-1] + b',"x":"\xed\xa0\x80"}',	# a UTF-16 surrogate in UTF-8
        lambda: text + b" trailing",
        lambda: text[:len(text) // 2],			# cut short, nothing after it
    ))()


class Dataset:
    """A few thousand generated records in one log per host, with invalid lines."""

    def __init__(self, env, seed=20261126, n=3000):
        rng = random.Random(seed)
        self.uids = [0, 33, user_uid(), 10001, 10002]
        self.dir = private_dir(env)
        self.lines = {h: [] for h in HOSTS}
        held = []
        clock = ms_of("2026-11-20T00:00:00.000Z")
        for _ in range(n):
            clock += rng.randrange(1, 240000)
            ms = clock - rng.randrange(1, 3600000) if rng.random() < 0.02 else clock
            if held and rng.random() < 0.06:
                # A release or discard of a held message: its host, a new id, held_id.
                orig = held.pop(rng.randrange(len(held)))
                rec = dict(random_record(rng, ms, orig["host"], orig["uid"]),
                           action=rng.choice(("release", "discard")), held_id=orig["id"])
                for k in ("cwd", "script", "sender", "from", "rcpt", "rcpt_count", "subject"):
                    if k in orig:
                        rec[k] = orig[k]
            else:
                rec = random_record(rng, ms, rng.choice(HOSTS), rng.choice(self.uids))
                if rec["action"] == "hold":
                    held.append(rec)
            lines = self.lines[rec["host"]]
            line = Line.record(rec, ascii_only=rng.random() < 0.5)
            k = rng.random()
            if k < 0.01:
                # Torn: a record cut short by a crash, the next one on the same line.
                cut = record_text(random_record(rng, ms, rec["host"], 0))
                line = Line(cut[:rng.randrange(8, len(cut) - 1)] + line.raw, rec, line.raw,
                            skipped=True)
            elif k < 0.012:
                line.raw = line.text = b"  " + line.raw		# spaces around JSON are allowed
            lines.append(line)
            if rng.random() < 0.04:
                lines.append(Line(bad_line(rng, record_text(random_record(rng, ms, "x", 0))),
                                  skipped=True))
        last = random_record(rng, clock + 1, HOSTS[-1], 0)
        self.lines[HOSTS[-1]].append(Line.record(last))
        self.paths = []
        for i, host in enumerate(HOSTS):
            path = os.path.join(self.dir, host + ".log")
            # The last log ends in a record without its newline.
            write_log(path, [l.raw for l in self.lines[host]], final_newline=i < len(HOSTS) - 1)
            self.paths.append(path)

    def records(self):
        """(record, text) of every record qwrap must read, in the order it reads them."""
        return [(l.rec, l.text) for h in HOSTS for l in self.lines[h] if l.rec is not None]

    def skip_messages(self):
        return [skip_message(p, [i + 1 for i, l in enumerate(self.lines[h]) if l.skipped])
                for h, p in zip(HOSTS, self.paths)]


_datasets = {}


def dataset(env):
    """One Dataset per Env, generated once for the tests that share it."""
    if env.root not in _datasets:
        _datasets[env.root] = Dataset(env)
    return _datasets[env.root]


def user_uid():
    try:
        return pwd.getpwnam(USER).pw_uid
    except KeyError:
        return 10003


def named_user():
    """A user with a name, its uid in the generated logs: USER when it exists."""
    return (USER, user_uid()) if user_of(user_uid()) == USER else ("root", 0)


def user_of(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


# --- The contract, computed here ----------------------------------------------

def text_of(rec, key):
    """A string member, "" when absent or not a string (as qwrap decodes it)."""
    v = rec.get(key)
    return v if isinstance(v, str) else ""


def int_of(rec, key, default):
    v = rec.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(s):
    """Lower case as a C locale has it: ASCII letters only."""
    return s.translate(ASCII_LOWER)


def address(s):
    """"Name <Addr@X>" or "Addr@X" to "addr@x"."""
    lt = s.rfind("<")
    if lt >= 0 and s.find(">", lt) >= 0:
        s = s[lt + 1:s.find(">", lt)]
    return lower(s.strip(" \t"))


def below(d, path):
    d = d.rstrip("/") or "/"
    return path.startswith("/") if d == "/" else path == d or path.startswith(d + "/")


def site(root, path):
    """The vhost of PATH: ROOT/DOMAIN/..., ROOT/system/DOMAIN/..., /home/USER/...; or None."""
    root = root.rstrip("/")
    if root and path.startswith(root + "/"):
        parts = path[len(root) + 1:].split("/")
        if parts[0] == "system" and len(parts) > 1:
            parts = parts[1:]
        if parts[0]:
            return parts[0]
    if path.startswith("/home/") and path[6:].split("/")[0]:
        parts = path[6:].split("/")
        if len(parts) > 2 and parts[1] == "domains" and parts[2]:
            return parts[2]                      # DirectAdmin
        if len(parts) > 1 and "." in parts[1] and not parts[1].startswith("."):
            return parts[1]                      # a cPanel addon domain
        return parts[0]
    return None


def vhost(rec, root):
    return site(root, text_of(rec, "script")) or site(root, text_of(rec, "cwd")) or "-"


def subject_matches(pattern, rec):
    """POSIX extended, any case (ASCII), no REG_NEWLINE; the patterns used mean the
    same in Python's re."""
    return re.search(pattern, text_of(rec, "subject"), re.IGNORECASE | re.ASCII | re.DOTALL)


def top_keys(rec, by, root=VHOSTS):
    """[(key, messages, recipients)] that REC adds to a `top --by BY` table."""
    count = int_of(rec, "rcpt_count", 0)
    if by == "rcpt-domain":
        domains = {}
        for e in rec["rcpt"] if isinstance(rec.get("rcpt"), list) else []:
            if isinstance(e, str):
                a = address(e)
                d = a[a.rfind("@") + 1:] if "@" in a else ""
                domains[d or "-"] = domains.get(d or "-", 0) + 1
        return [(d, 1, n) for d, n in domains.items()]
    if by in ("uid", "user"):
        uid = int_of(rec, "uid", None)
        key = "-" if uid is None else str(uid) if by == "uid" else user_of(uid)
    elif by == "vhost":
        key = vhost(rec, root)
    elif by == "from":
        key = address(text_of(rec, "sender") or text_of(rec, "from"))
    else:
        key = text_of(rec, by)
    return [(key or "-", 1, count)]


def expected_top(records, by, match=lambda r: True, actions=SENDING, root=VHOSTS):
    table = {}
    for rec in records:
        if match(rec) and text_of(rec, "action") in actions:
            for key, m, n in top_keys(rec, by, root):
                row = table.setdefault(key, [0, 0])
                row[0] += m
                row[1] += n
    return sorted(((k, m, n) for k, (m, n) in table.items()),
                  key=lambda r: (-r[1], -r[2], r[0].encode()))


def shown(s):
    """A field as qwrap prints it for a person: C0, DEL and C1 controls as '?'."""
    return "".join("?" if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 else c for c in s or "-")


def shown_tty(s):
    """A field as qwrap prints it on a terminal: shown(), and the bidirectional
    controls as '?' too."""
    return "".join("?" if c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067"
                   "\u2068\u2069\u2028\u2029" else c for c in shown(s))


def top_text(rows):
    return b"".join(b"%d\t%d\t%s\n" % (m, n, shown(k).encode()) for k, m, n in rows)


def grep_text(rec, root=VHOSTS):
    """The tab-separated line of piped `qwrap grep` for REC."""
    uid = int_of(rec, "uid", -1)
    fields = [text_of(rec, "ts"), text_of(rec, "id"), text_of(rec, "action"),
              "%s(%d)" % (user_of(uid), uid) if uid >= 0 else "", vhost(rec, root),
              text_of(rec, "script"), str(int_of(rec, "rcpt_count", 0)), text_of(rec, "subject")]
    return "\t".join(shown(f) for f in fields).encode()


# --- grep and top over the generated logs ----------------------------------------

def filter_cases(ds):
    """(filter options, what they select), for the generated logs."""
    recs = [r for r, _ in ds.records()]
    released = next(r for r in recs if "held_id" in r)["held_id"]
    delivered = [r for r in recs if r["action"] == "deliver"][77]["id"]
    name, uid = named_user()
    s = text_of
    return [
        ([], lambda r: True),
        (["--uid", "0"], lambda r: r["uid"] == 0),
        (["--uid", str(user_uid())], lambda r: r["uid"] == user_uid()),
        (["--user", name], lambda r: r["uid"] == uid),
        (["--user", "root"], lambda r: r["uid"] == 0),
        (["--cwd", VHOSTS + "/shop.example"], lambda r: below(VHOSTS + "/shop.example", r["cwd"])),
        (["--cwd", "/home/alice/"], lambda r: below("/home/alice", r["cwd"])),
        (["--cwd", "/"], lambda r: True),
        (["--script", "*/wp-*.php"], lambda r: fnmatch.fnmatchcase(s(r, "script"), "*/wp-*.php")),
        (["--script", "/home/*"], lambda r: s(r, "script").startswith("/home/")),
        (["--script", "*"], lambda r: True),
        (["--script", "/var/www/vhosts/system/*/con?/*.p[hy]*"],
         lambda r: fnmatch.fnmatchcase(s(r, "script"), "/var/www/vhosts/system/*/con?/*.p[hy]*")),
        (["--id", released], lambda r: released in (r["id"], r.get("held_id"))),
        (["--id", delivered], lambda r: r["id"] == delivered),
        (["--action", "hold"], lambda r: r["action"] == "hold"),
        (["--action", "release,discard"], lambda r: r["action"] in ("release", "discard")),
        (["--rcpt-min", "3"], lambda r: r["rcpt_count"] >= 3),
        (["--from", "SHOP@example"], lambda r: "shop@example" in lower(s(r, "sender")) or
         "shop@example" in lower(s(r, "from"))),
        (["--from", "café"], lambda r: "café" in lower(s(r, "sender")) or
         "café" in lower(s(r, "from"))),
        (["--to", "@B.EXAMPLE"], lambda r: any("@b.example" in lower(e)
                                               for e in r.get("rcpt") or [])),
        (["--to", "ümlaut"], lambda r: any("ümlaut" in e for e in r.get("rcpt") or [])),
        (["--subject", "invoice|order [0-9]+"],
         lambda r: subject_matches("invoice|order [0-9]+", r)),
        (["--subject", "^re:"], lambda r: subject_matches("^re:", r)),
        (["--subject", r"\\x"], lambda r: "\\x" in s(r, "subject")),
        (["--subject", "café|ünï"], lambda r: subject_matches("café|ünï", r)),
        (["--host", HOSTS[1]], lambda r: r["host"] == HOSTS[1]),
        (["--origin", "cron,ssh"], lambda r: s(r, "origin") in ("cron", "ssh")),
        (["--origin", "web", "--action", "deliver"],
         lambda r: s(r, "origin") == "web" and r["action"] == "deliver"),
        (["--host", "web2"], lambda r: False),
        (["--since", "2026-11-22", "--until", "2026-11-24T12:00:00+02:00"],
         lambda r: ms_of("2026-11-22T00:00:00Z") <= ms_of(r["ts"]) < ms_of("2026-11-24T10:00:00Z")),
        (["--host", HOSTS[0], "--action", "deliver,hold", "--rcpt-min", "2", "--cwd", VHOSTS],
         lambda r: r["host"] == HOSTS[0] and r["action"] in ("deliver", "hold") and
         r["rcpt_count"] >= 2 and below(VHOSTS, r["cwd"])),
        (["--user", name, "--subject", "order", "--to", "example.org"],
         lambda r: r["uid"] == uid and subject_matches("order", r) and
         any("example.org" in lower(e) for e in r.get("rcpt") or [])),
    ]


@test
def report__generated_logs__every_filter_selects_exactly_the_expected_records(env):
    ds = dataset(env)
    records = ds.records()
    p = qwrap_ok(env, "grep", "--json", *ds.paths)
    same_lines(out_lines(p.stdout), [t for _, t in records], "grep --json, no filter")
    assert p.stderr.decode().splitlines() == ds.skip_messages(), p.stderr.decode()
    for args, match in filter_cases(ds):
        want = [t for r, t in records if match(r)]
        assert want or args == ["--host", "web2"], "%s selects nothing: a weak case" % args
        same_lines(grep_json(env, *args, *ds.paths), want, "grep %s" % " ".join(args))
    return "%d records, %d filters" % (len(records), len(filter_cases(ds)))


@test
def report__generated_logs__every_top_table_equals_the_one_computed_here(env):
    ds = dataset(env)
    recs = [r for r, _ in ds.records()]
    root = ["--vhosts-root", VHOSTS]
    for by in KEYS:
        want = expected_top(recs, by)
        assert len(want) >= 3, "top --by %s: too few keys to tell an order" % by
        same_rows(top_json(env, "--by", by, "-n", "0", *root, *ds.paths), want,
                  "top --by %s -n 0" % by)
        same_rows(top_json(env, "--by", by, *root, *ds.paths), want[:20], "top --by %s" % by)
        p = qwrap_ok(env, "top", "--by", by, "-n", "3", *root, *ds.paths)
        assert p.stdout == top_text(want[:3]), "top --by %s -n 3, piped:\n%r\nwant\n%r" % (
            by, p.stdout, top_text(want[:3]))
    ms = ms_of
    cases = [
        (["--by", "vhost", "--host", HOSTS[0]], "vhost", lambda r: r["host"] == HOSTS[0], SENDING),
        (["--by", "from", "--action", "release,discard"], "from", lambda r: True,
         ("release", "discard")),
        (["--by", "script", "--action", "passthrough"], "script", lambda r: True, ("passthrough",)),
        (["--by", "uid", "--since", "2026-11-21T06:00:00Z", "--until", "2026-11-23"], "uid",
         lambda r: ms("2026-11-21T06:00:00Z") <= ms(r["ts"]) < ms("2026-11-23T00:00:00Z"), SENDING),
        (["--by", "rcpt-domain", "--to", "example.org"], "rcpt-domain",
         lambda r: any("example.org" in lower(e) for e in r.get("rcpt") or []), SENDING),
        (["--by", "user", "--cwd", "/home"], "user", lambda r: below("/home", r["cwd"]), SENDING),
        (["--by", "host", "--subject", "invoice"], "host",
         lambda r: subject_matches("invoice", r), SENDING),
        (["--by", "cwd", "--rcpt-min", "2", "-n", "5"], "cwd", lambda r: r["rcpt_count"] >= 2,
         SENDING),
        (["--by", "script", "--origin", "cron"], "script",
         lambda r: text_of(r, "origin") == "cron", SENDING),
    ]
    for args, by, match, actions in cases:
        want = expected_top(recs, by, match, actions)
        if "-n" in args:
            want = want[:int(args[args.index("-n") + 1])]
        else:
            args = args + ["-n", "0"]
        assert want, "top %s: empty, a weak case" % args
        same_rows(top_json(env, *args, *root, *ds.paths), want, "top %s" % " ".join(args))
    return "%d keys, %d filtered tables" % (len(KEYS), len(cases))


# jq's own count of a top table from the records' JSON: key, messages, recipients.
JQ_TOP = r"""
  [ .[] | select(.action == "deliver" or .action == "hold" or .action == "reject")
        | { key: ((.%s // "") | if . == "" then "-" else . end), n: (.rcpt_count // 0) } ]
  | group_by(.key)
  | map({ key: .[0].key, messages: length, recipients: (map(.n) | add) })
  | sort_by(-.messages, -.recipients, .key)
  | .[] | [.key, .messages, .recipients]
"""


@test
def report__generated_logs__top_by_script_and_host_equal_jq(env):
    ds = dataset(env)
    records = b"\n".join(t for _, t in ds.records()) + b"\n"
    for by in ("script", "host"):
        p = subprocess.run(["jq", "-s", "-c", JQ_TOP % by], input=records, capture_output=True)
        assert p.returncode == 0, "jq: %s" % p.stderr.decode()
        want = [tuple(json.loads(l)) for l in out_lines(p.stdout)]
        assert len(want) > 2, "jq found too few %s keys" % by
        same_rows(top_json(env, "--by", by, "-n", "0", *ds.paths), want, "top --by %s vs jq" % by)


@test
def report__grep_piped__tab_separated_fields_for_every_generated_record(env):
    ds = dataset(env)
    p = qwrap_ok(env, "grep", "--vhosts-root", VHOSTS + "/", *ds.paths)
    want = [grep_text(r) for r, _ in ds.records()]
    got = out_lines(p.stdout)
    assert len(got) == len(want), "%d lines for %d records" % (len(got), len(want))
    for g, w in zip(got, want):
        assert g == w, "grep, piped:\n%r\nwant\n%r" % (g, w)
    assert b"\x1b" not in p.stdout and b"\x7f" not in p.stdout, "a raw control byte printed"


@test
def report__grep_piped__control_characters_shown_as_question_marks(env):
    d = private_dir(env)
    stranger = next(u for u in range(42000, 43000) if user_of(u) == str(u))
    recs = [
        small_record(ms_of("2026-11-26T10:00:00.000Z"), "id-1", uid=0, rcpt_count=2,
                     cwd=VHOSTS + "/shop.example/httpdocs",
                     script=VHOSTS + "/shop.example/httpdocs/index.php",
                     subject="Hello\x1b[2J\nBcc: x\tTab\x7fDel\x85C1 café \\xff"),
        small_record(ms_of("2026-11-26T10:00:01.500Z"), "id-2", uid=stranger, action="hold",
                     cwd="/home/bob/public_html", script=None, subject=None, rcpt_count=0),
        small_record(ms_of("2026-11-26T10:00:02.000Z"), "id-3", uid=DROP, cwd="/tmp/evil\ndir",
                     script="/tmp/evil\ndir/x\x1b.php", subject="\U0001F389 ok",
                     action="reject"),
    ]
    log = os.path.join(d, "capture.log")
    write_log(log, [record_text(recs[0]), record_text(recs[1], ascii_only=False),
                    record_text(recs[2])])
    p = qwrap_ok(env, "grep", "--vhosts-root", VHOSTS, log)
    want = [
        "2026-11-26T10:00:00.000Z\tid-1\tdeliver\troot(0)\tshop.example\t"
        "/var/www/vhosts/shop.example/httpdocs/index.php\t2\t"
        "Hello?[2J?Bcc: x?Tab?Del?C1 café \\xff",
        "2026-11-26T10:00:01.500Z\tid-2\thold\t%d(%d)\tbob\t-\t0\t-" % (stranger, stranger),
        "2026-11-26T10:00:02.000Z\tid-3\treject\t-\t-\t/tmp/evil?dir/x?.php\t1\t\U0001F389 ok",
    ]
    got = out_lines(p.stdout)
    assert got == [w.encode() for w in want], "grep, piped:\n%s" % "\n".join(map(repr, got))
    assert b"\x1b" not in p.stdout and b"\x7f" not in p.stdout and b"\xc2\x85" not in p.stdout


# --- Time filters ---------------------------------------------------------------

def time_log(env, instants):
    """A log with one record at each of INSTANTS (ms), in shuffled order; its path
    and the ids of the instants."""
    order = list(instants)
    random.Random(7).shuffle(order)
    log = os.path.join(private_dir(env), "capture.log")
    write_log(log, [record_text(small_record(ms, "t%d" % ms)) for ms in order])
    return log, order


def ids_between(order, since=None, until=None):
    return ["t%d" % ms for ms in order
            if (since is None or ms >= since) and (until is None or ms < until)]


@test
def report__time_filters__since_inclusive_until_exclusive_to_the_millisecond_any_form(env):
    T = ms_of("2026-11-26T10:00:00.000Z")
    U = ms_of("2026-11-26T11:00:00.000Z")
    S = ms_of("2026-11-26T10:00:00.250Z")
    D = ms_of("2026-11-26T00:00:00.000Z")
    E = ms_of("2026-11-26T23:00:00.000Z")
    log, order = time_log(env, [x + d for x in (D, T, S, U, E) for d in (-1, 0, 1)])
    forms = [
        ("2026-11-26T10:00:00Z", T), ("2026-11-26T10:00:00.000Z", T),
        ("2026-11-26T12:00:00+02:00", T), ("2026-11-26T05:30:00-04:30", T),
        ("2026-11-26 10:00", T), ("2026-11-26T10:00", T), ("2026-11-26 10:00:00", T),
        ("2026-11-26T10:00:00.250Z", S), ("2026-11-26T12:00:00.250+02:00", S),
        ("2026-11-26", D), ("2026-11-26T11:00:00Z", U), ("2026-11-26T13:00:00+02:00", U),
        ("2026-11-27T01:00:00+02:00", E), ("2026-11-26T23:00", E),
    ]
    for text, ms in forms:
        for opt, want in (("--since", ids_between(order, since=ms)),
                          ("--until", ids_between(order, until=ms))):
            got = ids(grep_json(env, opt, text, log))
            assert got == want, "%s %s: %s, want %s" % (opt, text, got, want)
    for since, s, until, u in (("2026-11-26T12:00:00+02:00", T, "2026-11-26T11:00:00Z", U),
                               ("2026-11-26 10:00", T, "2026-11-26T13:00:00+02:00", U),
                               ("2026-11-26T10:00:00.250Z", S, "2026-11-26T10:00:00.251Z", S + 1)):
        got = ids(grep_json(env, "--since", since, "--until", until, log))
        assert got == ids_between(order, s, u), "--since %s --until %s: %s" % (since, until, got)
    n = len(ids_between(order, T, U))
    got = top_json(env, "--by", "host", "--since", "2026-11-26T10:00:00Z", "--until",
                   "2026-11-26T11:00:00Z", log)
    assert got == [(HOSTS[0], n, n)], "top over [T, U): %s, want %d messages" % (got, n)


@test
def report__time_filters__durations_count_back_from_now(env):
    now = int(time.time() * 1000)
    spans = {"90s": 90, "30m": 1800, "2h": 7200, "3d": 3 * 86400, "1w": 7 * 86400}
    log, order = time_log(env, [now - secs * 1000 + d * 60000
                                for secs in spans.values() for d in (-1, 1)])
    for text, secs in spans.items():
        edge = now - secs * 1000
        for opt, want in (("--since", ids_between(order, since=edge)),
                          ("--until", ids_between(order, until=edge))):
            got = ids(grep_json(env, opt, text, log))
            assert got == want, "%s %s: %s, want %s" % (opt, text, got, want)
    got = ids(grep_json(env, "--since", "2h", "--until", "30m", log))
    assert got == ids_between(order, now - 7200000, now - 1800000), "--since 2h --until 30m"
    assert len(got) == 2, got


# --- Invalid lines, long lines, input files --------------------------------------------

@test
def report__invalid_lines__skipped_and_counted_torn_record_still_read(env):
    d = private_dir(env)
    r = [small_record(ms_of("2026-11-26T10:00:00.000Z") + i, "r%d" % i,
                      subject="\\xff\\xfe text" if i == 4 else "s%d" % i) for i in range(8)]
    t = [record_text(x) for x in r]
    lines = [
        (t[0], t[0]),
        (b"not json", None),
        (b'{"v":1,"ts":"2026-11-2' + t[1], t[1]),			# torn, and the record after it
        (t[2], t[2]),
        (t[3][:-1] + b',"x":"caf\xe9"}', None),				# raw non-UTF-8
        (b'{"v":1,"ts":"2026-11-26T10:00:00.000Z","id":7}', None),	# id not a string
        (t[3].replace(b'"v":1', b'"v":2'), None),
        (b"[]", None),
        (t[4], t[4]),							# \xNN as text: valid
        (re.sub(rb'"ts":"[^"]*"', b'"ts":"26/11/2026"', t[5]), None),
        (t[5][:-1] + b',"x":"\xc0\xaf"}', None),				# overlong UTF-8
        (t[6][:40], None),						# cut short
        (t[7], t[7]),							# no newline after it
    ]
    log = os.path.join(d, "capture.log")
    write_log(log, [raw for raw, _ in lines], final_newline=False)
    write_log(log + ".gz", [raw for raw, _ in lines], final_newline=False, opener=gzip.open)
    want = [text for _, text in lines if text is not None]
    nth = [i + 1 for i, (raw, text) in enumerate(lines) if text is None or text != raw]
    with open(log, "rb") as f:
        data = f.read()
    for name, args, stdin in ((log, [log], None), (log + ".gz", [log + ".gz"], None),
                              ("(standard input)", ["-"], data)):
        p = qwrap(env, "grep", "--json", *args, stdin=stdin)
        assert p.returncode == 0, "exit %d for %s" % (p.returncode, name)
        same_lines(out_lines(p.stdout), want, "grep --json %s" % name)
        assert p.stderr.decode().splitlines() == [skip_message(name, nth)], p.stderr.decode()
    got = top_json(env, "--by", "host", log, log)
    assert got == [(HOSTS[0], 2 * len(want), 2 * len(want))], "top over both: %s" % got


@test
def report__long_lines__over_64k_skipped_wherever_they_fall(env):
    # Whole records longer than 64 KiB are not records (the wrapper writes at
    # most 4 KiB); one just under 64 KiB is.  Each alone in a file, and after a
    # first line that moves it within qwrap's read buffer.
    d = private_dir(env)
    base = ms_of("2026-11-26T10:00:00.000Z")
    under = record_text(small_record(base, "under", subject="u" * 65000))
    assert len(under) < 65536
    failures = []
    for size in (66000, 70000, 100000, 140000):
        over = record_text(small_record(base, "over%d" % size, subject="o" * size))
        for lead in (b"", under):
            log = os.path.join(d, "%d-%d.log" % (size, len(lead)))
            after = record_text(small_record(base + 1, "after"))
            write_log(log, ([lead] if lead else []) + [over, after])
            p = qwrap_ok(env, "grep", "--json", log)
            want = ([lead] if lead else []) + [after]
            if out_lines(p.stdout) != want:
                failures.append("a %d-byte line%s: read as a record" % (
                    len(over), " after a 65000-byte one" if lead else " first"))
            elif skip_message(log, [2 if lead else 1]) not in p.stderr.decode():
                failures.append("a %d-byte line: no skip message: %s" % (len(over), p.stderr))
    assert not failures, "; ".join(failures)


@test
def report__rotated__gz_and_plain_rotations_read_oldest_first(env):
    d = private_dir(env)
    base = ms_of("2026-11-26T10:00:00.000Z")

    def batch(name, n):
        return [record_text(small_record(base + i, "%s-%d" % (name, i))) for i in range(n)]

    log = os.path.join(d, "capture.log")
    old, older, current = batch("old", 3), batch("older", 4), batch("current", 2)
    write_log(log + ".2.gz", older, opener=gzip.open)
    write_log(log + ".1", old)
    write_log(log, current)
    write_log(log + ".4", batch("beyond-a-gap", 1))		# no .3: not a rotation
    same_lines(grep_json(env, "--rotated", log), older + old + current, "--rotated")
    same_lines(grep_json(env, log), current, "without --rotated")
    same_lines(grep_json(env, log + ".2.gz"), older, "a .gz given")
    # .N.gz and .N mixed the other way round, two logs, and the configured log.
    other = os.path.join(d, "other.log")
    o2, o1, o0 = batch("o2", 1), batch("o1", 2), batch("o0", 1)
    write_log(other + ".2", o2)
    write_log(other + ".1.gz", o1, opener=gzip.open)
    write_log(other, o0)
    same_lines(grep_json(env, "--rotated", other, log), o2 + o1 + o0 + older + old + current,
               "--rotated, two logs")
    got = top_json(env, "--by", "host", "--rotated", log, other)
    assert got == [(HOSTS[0], 13, 13)], "top --rotated: %s" % got
    env.set_conf(b'log = { file = "%s"; syslog = false; };' % other.encode())
    try:
        same_lines(grep_json(env, "--rotated"), o2 + o1 + o0, "--rotated, the configured log")
        same_lines(grep_json(env), o0, "the configured log")
    finally:
        env.reset_conf()


@test
def report__unreadable_log__unprivileged_user_exit_66_run_as_root(env):
    if not env.is_root:
        return "skipped: needs root (to make a log its user cannot read)"
    d = private_dir(env)
    log = os.path.join(d, "capture.log")
    write_log(log, [record_text(small_record(ms_of("2026-11-26T10:00:00.000Z"), "x"))])
    os.chmod(log, 0o600)
    assert len(grep_json(env, log)) == 1, "root reads it"
    env.set_conf(b'log = { file = "%s"; syslog = false; };' % log.encode())
    try:
        for args in (["grep", log], ["grep", "--json"], ["top", "--by", "uid", log],
                     ["tail", log], ["tail", "-f"], ["grep", "--rotated", log, log]):
            p = qwrap(env, *args, as_user=True, timeout=20)
            assert p.returncode == 66, "%s as %s: exit %d" % (args, USER, p.returncode)
            assert b"run as root" in p.stderr, "%s: %s" % (args, p.stderr)
            assert p.stdout == b"", p.stdout
    finally:
        env.reset_conf()


@test
def report__options_after_the_files__still_options(env):
    log = os.path.join(private_dir(env), "capture.log")
    base = 1795651200000
    write_log(log, [record_text(small_record(base + i * 1000, "r%d" % i, script="/s%d.php" % (i % 2)))
                    for i in range(5)])
    p = qwrap_ok(env, "top", log, "--by", "script", "--since", ts_of(base + 2000), "--json")
    rows = [json.loads(l) for l in out_lines(p.stdout)]
    assert rows == [{"key": "/s0.php", "messages": 2, "recipients": 2},
                    {"key": "/s1.php", "messages": 1, "recipients": 1}], rows
    p = qwrap_ok(env, "grep", log, "--id", "r3", "--json")
    assert [json.loads(l)["id"] for l in out_lines(p.stdout)] == ["r3"]


@test
def report__bad_usage__exit_64(env):
    empty = os.path.join(private_dir(env), "empty.log")
    write_log(empty, [])
    # Each says which argument is wrong.
    for args, says in ((["top", empty], b"top: --by needs one of uid,user,cwd"),
                       (["top", "--by", "domain", empty], b"--by domain: not one of uid,"),
                       (["grep", "--by", "uid", empty], b"--by is top's"),
                       (["grep", "-f", empty], b"-f is tail's"),
                       (["tail", empty, empty], b"one file"),
                       (["grep", "--since", "nonsense", empty], b"nonsense"),
                       (["top", "--by", "uid", "--until", "2026-13-01", empty], b"2026-13-01"),
                       (["grep", "--since", "2h30", empty], b"2h30"),
                       (["grep", "--user", "no-such-user-qwrap", empty], b"no-such-user-qwrap"),
                       (["grep", "--uid", "root", empty], b"--uid"),
                       (["top", "--by", "uid", "-n", "ten", empty], b"-n"),
                       (["grep", "--subject", "(", empty], b"--subject"),
                       (["grep", "--bogus", empty], b"--bogus")):
        p = qwrap(env, *args)
        assert p.returncode == 64, "%s: exit %d, not 64" % (args, p.returncode)
        assert says in p.stderr, "%s: stderr %r does not say %r" % (args, p.stderr, says)
    # --help: the usage on standard output, exit 0; of both admin programs.
    for prog in ("qwrap", "qwrap-install"):
        p = subprocess.run([os.path.join(env.sbin, prog), "--help"], capture_output=True)
        assert p.returncode == 0 and p.stdout.startswith(b"usage: ") and not p.stderr, (prog, p)
    # And after a command, as an admin types it half way.
    for args in (["top", "--by", "script", "--help"], ["purge", "-h"], ["freeze", "--help"],
                 ["rate", "--help"], ["held", "--help"]):
        p = qwrap(env, *args)
        assert p.returncode == 0 and p.stdout.startswith(b"usage: ") and not p.stderr, (args, p)


@test
def report__top_missing_keys__counted_under_dash(env):
    # Absent, null and empty values of each key count under "-".
    base = ms_of("2026-11-26T10:00:00.000Z")
    absent = {k: DROP for k in ("uid", "cwd", "script", "host", "sender", "from", "rcpt")}
    empty = {"uid": 0, "cwd": "", "script": "", "host": "", "sender": "", "from": "", "rcpt": [""]}
    recs = [small_record(base, "absent", rcpt_count=2, **absent),
            small_record(base, "null", rcpt_count=3, **{k: None for k in absent}),
            small_record(base, "empty", rcpt_count=4, **empty)]
    log = os.path.join(private_dir(env), "capture.log")
    write_log(log, [record_text(r) for r in recs])
    want = {"uid": [("-", 2, 5), ("0", 1, 4)], "user": [("-", 2, 5), ("root", 1, 4)],
            "rcpt-domain": [("-", 1, 1)]}
    wrong = []
    for by in KEYS:
        got = top_json(env, "--by", by, log)
        if got != want.get(by, [("-", 3, 9)]):
            wrong.append("--by %s: %s" % (by, got))
    assert not wrong, "; ".join(wrong)


# --- rate and the picture on a terminal -------------------------------------------

RATE_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)


def iso_of(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def expected_rate(records, step=None, by=None, n=5, since=None, until=None,
                  match=lambda r: True, actions=SENDING):
    """The rows of `qwrap rate`, as (start, key, messages, recipients): the
    span from SINCE to UNTIL, else the first message to the last, in
    intervals of STEP ms (else the smallest of RATE_STEPS that makes at most
    60); the N (0: all) keys with most messages, in top's order."""
    cells, times = {}, []
    for rec in records:
        if not (match(rec) and text_of(rec, "action") in actions):
            continue
        keys = top_keys(rec, by) if by else [("-", 1, int_of(rec, "rcpt_count", 0))]
        if keys:
            times.append(ms_of(rec["ts"]))
        for key, m, r in keys:
            cells.setdefault(key, []).append((times[-1], m, r))
    if since is None and not times:
        return []
    lo = since if since is not None else min(times)
    hi = until - 1 if since is not None else max(times)
    hi = max([hi, lo] + times)
    if step is None:
        step = next((s * 1000 for s in RATE_STEPS if hi // (s * 1000) - lo // (s * 1000) < 60),
                    RATE_STEPS[-1] * 1000)
    first, count = lo // step, hi // step - lo // step + 1
    if by:
        order = [k for k, _, _ in expected_top(records, by, match, actions)]
        order = order[:n] if n > 0 else order
    else:
        order = ["-"]
    table = {}
    for key in order:
        for ts, m, r in cells.get(key, []):
            c = table.setdefault((ts // step - first, key), [0, 0])
            c[0] += m
            c[1] += r
    return [(iso_of((first + i) * step), k) + tuple(table.get((i, k), (0, 0)))
            for i in range(count) for k in order]


def rate_tsv(rows, by):
    return b"".join(b"%s\t%d\t%d%s\n" % (t.encode(), m, r, (b"\t" + shown(k).encode()) if by else b"")
                    for t, k, m, r in rows)


@test
def report__rate__generated_logs_tsv_and_json_equal_the_intervals_computed_here(env):
    ds = dataset(env)
    recs = [r for r, _ in ds.records()]
    root = ["--vhosts-root", VHOSTS]
    since, until = ms_of("2026-11-21T06:00:00Z"), ms_of("2026-11-23T00:00:00Z")
    cases = [
        ([], dict()),
        (["--step", "1h"], dict(step=3600000)),
        (["--step", "6h", "--by", "script"], dict(step=6 * 3600000, by="script")),
        (["--step", "1d", "--by", "rcpt-domain", "-n", "0"], dict(step=86400000, by="rcpt-domain", n=0)),
        (["--by", "user", "-n", "2"], dict(by="user", n=2)),
        (["--step", "30m", "--since", iso_of(since), "--until", iso_of(until), "--by", "host"],
         dict(step=1800000, by="host", since=since, until=until,
              match=lambda r: since <= ms_of(r["ts"]) < until)),
        (["--since", iso_of(since), "--until", iso_of(until), "--host", HOSTS[1]],
         dict(since=since, until=until,
              match=lambda r: since <= ms_of(r["ts"]) < until and r["host"] == HOSTS[1])),
        (["--step", "2h", "--action", "release,discard", "--by", "from"],
         dict(step=7200000, by="from", actions=("release", "discard"))),
        # Nothing passes: with --since the window's intervals all 0, without nothing at all.
        (["--host", "nowhere", "--since", iso_of(since), "--until", iso_of(since + 3 * 3600000)],
         dict(since=since, until=since + 3 * 3600000, match=lambda r: False)),
        (["--host", "nowhere"], dict(match=lambda r: False)),
        (["--step", "20m", "--action", "reject", "--host", HOSTS[2]],
         dict(step=1200000, actions=("reject",), match=lambda r: r["host"] == HOSTS[2])),
    ]
    for args, kw in cases:
        want = expected_rate(recs, **kw)
        what = "rate %s" % " ".join(args)
        assert want or "nowhere" in args, "%s: empty, a weak case" % what
        if "reject" in args:
            assert any(m == 0 for _, _, m, _ in want), "%s: no empty interval, a weak case" % what
        p = qwrap_ok(env, "rate", *args, *root, *ds.paths)
        got, exp = p.stdout, rate_tsv(want, kw.get("by"))
        assert got == exp, "%s, piped:\n%s\nwant\n%s" % (what, got[:600], exp[:600])
        rows = [json.loads(l) for l in out_lines(qwrap_ok(env, "rate", "--json", *args, *root,
                                                          *ds.paths).stdout)]
        fields = ["start", "key", "messages", "recipients"] if kw.get("by") else \
            ["start", "messages", "recipients"]
        assert all(list(r) == fields for r in rows), "%s --json: members %s" % (what, rows[:2])
        got_rows = [(r["start"], r.get("key", "-"), r["messages"], r["recipients"]) for r in rows]
        same_rows(got_rows, want, what + " --json")
    # The sums of each series are top's rows.
    by_script = expected_rate(recs, step=86400000, by="script", n=0)
    sums = {}
    for _, k, m, r in by_script:
        sums[k] = (sums.get(k, (0, 0))[0] + m, sums.get(k, (0, 0))[1] + r)
    assert sorted((k, m, r) for k, (m, r) in sums.items()) == sorted(expected_top(recs, "script"))
    return "%d cases" % len(cases)


@test
def report__rate__records_before_1970_or_centuries_old__right_interval_and_quick(env):
    # A time before 1970 falls in the interval before 0, not in the one at 0; a record
    # dated year 1 beside today's (a host with no clock at boot) neither makes the chosen
    # step print a line per minute of the span nor takes longer than the records do.
    log = os.path.join(private_dir(env), "capture.log")
    write_log(log, [record_text(small_record(0, "a", ts="1969-12-31T23:59:30.000Z")),
                    record_text(small_record(0, "b", ts="1970-01-01T00:00:30.000Z"))])
    got = qwrap_ok(env, "rate", "--step", "1m", log).stdout
    assert got == b"1969-12-31T23:59:00Z\t1\t1\n1970-01-01T00:00:00Z\t1\t1\n", got
    write_log(log, [record_text(small_record(0, "a", ts="0001-01-01T00:00:00.000Z")),
                    record_text(small_record(ms_of("2026-11-26T10:00:00.000Z"), "b"))])
    t = time.time()
    lines = out_lines(qwrap(env, "rate", log, timeout=30).stdout)
    assert time.time() - t < 10 and 2 <= len(lines) <= 61, (time.time() - t, len(lines))
    # Four digits of year, as the log's (the first interval, aligned to the step, may
    # start before year 1).
    assert all(re.match(rb"(\d{4}|-\d{3})-\d\d-\d\dT\d\d:\d\d:\d\dZ\t", l) for l in lines), \
        lines[:3]
    assert sum(int(l.split(b"\t")[1]) for l in lines) == 2, lines


@test
def report__rate__bad_step_or_key__exit_64(env):
    empty = os.path.join(private_dir(env), "empty.log")
    write_log(empty, [record_text(small_record(ms_of("2026-11-26T10:00:00.000Z"), "a"))])
    for args, says in ((["rate", "--step", "5x", empty], b"--step 5x"),
                       (["rate", "--step", "0", empty], b"--step 0"),
                       (["rate", "--by", "domain", empty], b"--by domain: not one of uid,"),
                       (["top", "--by", "uid", "--step", "5m", empty], b"--step is rate's"),
                       (["rate", "--step", "1s", "--since", "2020-01-01", empty],
                        b"more than 1000000")):
        p = qwrap(env, *args)
        assert p.returncode == 64, "%s: exit %d, not 64: %s" % (args, p.returncode, p.stderr)
        assert says in p.stderr, "%s: stderr %r does not say %r" % (args, p.stderr, says)


def on_pty(env, args, cols, rows=60, columns=None):
    """`qwrap ARGS` with a terminal of COLS columns as its standard output and
    error (raw: what it writes is what arrives), $COLUMNS set to COLUMNS or
    unset: what reached the terminal, and the exit status."""
    import pty
    import struct
    import termios
    import fcntl
    import tty
    master, slave = pty.openpty()
    tty.setraw(slave)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    e = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        e["COLUMNS"] = str(columns)
    p = subprocess.Popen([os.path.join(env.sbin, "qwrap")] + list(args), stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave, env=e, start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:		# EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return out, p.wait(timeout=60)


SPARKS = "▁▂▃▄▅▆▇█"
BARS = "█▏▎▍▌▋▊▉"


def terminal_text(out, extra):
    """OUT decoded, after checking that it holds nothing but text, newlines and
    EXTRA's characters: no escape sequence, no other control character."""
    text = out.decode("utf-8")
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0 or
           0x2000 <= ord(c) < 0x3000 and c not in extra or 0x202a <= ord(c) <= 0x202e or
           0x2066 <= ord(c) <= 0x2069]
    assert not bad, "reached the terminal: %r in %r" % (bad[:5], text[:400])
    return text


def spike_log(env):
    """An hour from T0: a steady script, one a minute; a long-path script
    sending 120 in its last ten minutes; a script whose path holds escapes."""
    t0 = ms_of("2026-11-26T09:00:00.000Z")
    spike = VHOSTS + "/shop.example/httpdocs/wp-content/uploads/2026/11/cache/tmp/very/deep/x.php"
    hostile = VHOSTS + "/evil.example/\x1b[2J\x1b]0;pwned\x07\x9b31m\u202egnp.php"
    recs = [small_record(t0 + i * 60000 + 500, "s%d" % i, script=VHOSTS + "/blog.example/a.php")
            for i in range(60)]
    recs += [small_record(t0 + 3000000 + i * 5000, "x%d" % i, script=spike, rcpt_count=3)
             for i in range(120)]
    recs += [small_record(t0 + 1800000, "h", script=hostile)]
    recs.sort(key=lambda r: r["ts"])
    log = os.path.join(private_dir(env), "capture.log")
    write_log(log, [record_text(r) for r in recs])
    return log, t0, recs, spike, hostile


@test
def report__top_on_a_pty__sparklines_aligned_paths_cut_from_the_left_nothing_raw(env):
    log, t0, recs, spike, hostile = spike_log(env)
    cols = 100
    args = ["top", "--by", "script", "--since", iso_of(t0), "--until", iso_of(t0 + 3600000), log]
    out, rc = on_pty(env, args, cols)
    assert rc == 0, out
    lines = terminal_text(out, SPARKS + "…").split("\n")
    assert lines[-1] == "", "no newline at the end: %r" % lines[-1]
    lines = lines[:-1]
    # The window: --since to --until in 32 marks of whole seconds.
    width = -(-3600000 // 32 // 1000) * 1000
    assert lines[0] == "SENDS: %s to %s, a mark per 1m53s" % (iso_of(t0), iso_of(t0 + 32 * width)), \
        lines[0]
    head = lines[1]
    assert head.startswith("MESSAGES  RECIPIENTS  SENDS ") and head.endswith("  script"), head
    key_col = head.index("script")
    assert key_col == 22 + 32 + 2, head
    want = expected_top(recs, "script")
    assert len(lines) == 2 + len(want), lines
    for line, (key, m, r) in zip(lines[2:], want):
        assert len(line) <= cols, "wider than the terminal: %d: %r" % (len(line), line)
        assert line[:22] == "%8d  %10d  " % (m, r), line
        marks = line[22:22 + 32]
        assert set(marks) <= set(SPARKS + " "), "not a sparkline: %r" % marks
        assert line[54:56] == "  " and line[56] != " ", "the key does not start at column 56: %r" % line
        # Each mark: the row's messages then, in eighths of its busiest mark; none a blank.
        counts = [0] * 32
        for rec in recs:
            if text_of(rec, "script") == key:
                counts[(ms_of(rec["ts"]) - t0) // width] += 1
        most = max(counts)
        assert marks == "".join(SPARKS[(c * 8 - 1) // most] if c else " " for c in counts), \
            "%s: marks %r for %s" % (key, marks, counts)
        name = shown_tty(key)
        if len(name) > cols - key_col:
            assert line[key_col:] == "…" + name[-(cols - key_col - 1):], "cut: %r" % line
        else:
            assert line[key_col:] == name, line
    # The spike: blank until its last ten minutes, then at its height.
    spike_line = next(l for l in lines if l.endswith("/very/deep/x.php"))
    assert spike_line[56] == "…", spike_line
    assert spike_line[22:22 + 26].strip() == "" and "█" in spike_line[22 + 26:54], spike_line
    assert any(l.endswith("?[2J?]0;pwned??31m?gnp.php") for l in lines), lines
    # Without --since: the marks span the first record to the last; the same columns.
    out, rc = on_pty(env, ["top", "--by", "script", log], cols)
    lines = terminal_text(out, SPARKS + "…").split("\n")[:-1]
    assert rc == 0 and lines[0].startswith("SENDS: "), lines
    key_col = lines[1].index("script")
    assert len(lines) == 2 + len(want) and 22 + 16 + 2 <= key_col <= 22 + 32 + 2, lines
    for line in lines[2:]:
        assert set(line[22:key_col - 2]) <= set(SPARKS + " ") and line[key_col - 2:key_col] == "  " \
            and line[key_col] != " " and len(line) <= cols, "not aligned: %r" % line
    # Piped and --json: whole values, no marks.
    piped = qwrap_ok(env, *args).stdout
    assert piped == b"".join(b"%d\t%d\t%s\n" % (m, r, shown_tty(k).encode()) for k, m, r in want), \
        piped
    assert [r[0] for r in top_json(env, *args[1:])] == [k for k, _, _ in want]


@test
def report__grep_on_a_pty__long_values_cut_columns_aligned(env):
    log, t0, recs, spike, hostile = spike_log(env)
    out, rc = on_pty(env, ["grep", "--vhosts-root", VHOSTS, log], 200)
    lines = terminal_text(out, "…").split("\n")[:-1]
    assert rc == 0 and len(lines) == len(recs) + 1, lines[:3]
    col = lines[0].index("SCRIPT")
    rcpt = lines[0].index("RCPT")
    for line, rec in zip(lines[1:], recs):
        script = shown_tty(text_of(rec, "script"))
        cell = line[col:rcpt].rstrip()
        if len(script) > 40:
            assert cell == "…" + script[-39:], cell
        else:
            assert cell == script, cell
        assert line[rcpt - 2:rcpt] == "  " and line[rcpt] != " ", "RCPT column moved: %r" % line


@test
def report__rate_on_a_pty__bars_from_one_column_scaled_to_the_width(env):
    log, t0, recs, spike, hostile = spike_log(env)
    for cols, columns in ((90, None), (130, 130), (200, 70)):
        width = columns or cols
        out, rc = on_pty(env, ["rate", "--step", "5m", log], cols, columns=columns)
        assert rc == 0, out
        lines = terminal_text(out, BARS).split("\n")[:-1]
        want = expected_rate(recs, step=300000)
        assert lines[0] == "START (UTC)        MESSAGES  RECIPIENTS", lines[0]
        assert lines[-1] == "%d intervals of 5m" % len(want), lines[-1]
        most = max(m for _, _, m, _ in want)
        for line, (start, _, m, r) in zip(lines[1:-1], want):
            assert line[:41] == "%-17s  %8d  %10d  " % (start[:16] + "Z", m, r), line
            bar = line[41:]
            assert set(bar) <= set(BARS), "not a bar: %r" % bar
            eighths = max(1, m * (width - 41) * 8 // most) if m else 0
            assert bar == "█" * (eighths // 8) + ("" if eighths % 8 == 0 else BARS[eighths % 8]), \
                "%d of %d in %d columns: %r" % (m, most, width - 41, bar)
            assert len(line) <= width
        assert len(lines) == len(want) + 2
    out, rc = on_pty(env, ["rate", "--step", "10m", "--by", "script", "-n", "3", log], 100)
    text = terminal_text(out, BARS + "…")
    assert rc == 0 and text.count("START (UTC)") == 3, text
    groups = [l for l in text.split("\n") if l.startswith("script ")]
    assert groups == ["script " + shown_tty(k) for k, _, _ in expected_top(recs, "script")[:3]], \
        groups
    for line in text.split("\n"):
        assert len(line) <= 100, line


# --- tail ----------------------------------------------------------------------

class Follow:
    """A running `qwrap tail -f ARGS`, its output lines gathered by a thread."""

    def __init__(self, env, *args):
        self.p = subprocess.Popen([os.path.join(env.sbin, "qwrap"), "tail", "-f"] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line[:-1] if line.endswith(b"\n") else line)
        self.lines.put(None)

    def take(self, n, timeout=10):
        """The next N lines, or fewer when they do not come within TIMEOUT seconds."""
        out, deadline = [], time.time() + timeout
        while len(out) < n:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            if line is None:
                break
            out.append(line)
        return out

    def expect(self, want, what):
        got = self.take(len(want))
        assert got == want, "tail -f, %s: %s, want %s" % (what, ids(got), ids(want))
        extra = self.take(1, timeout=0.7)
        assert not extra, "tail -f, %s: then also %s" % (what, extra)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        err = self.p.stderr.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return err


def append(path, texts):
    with open(path, "ab") as f:
        f.write(b"".join(t + b"\n" for t in texts))


@test
def report__tail__last_n_matching_records_as_grep_prints_them(env):
    log = os.path.join(private_dir(env), "capture.log")
    base = ms_of("2026-11-26T10:00:00.000Z")
    recs = [small_record(base + i, "r%d" % i, action=("hold" if i % 3 == 0 else "deliver"),
                         subject="n\u00b0%d\x1b" % i) for i in range(30)]
    texts = [record_text(r) for r in recs]
    write_log(log, texts[:12] + [b"garbage"] + texts[12:])
    holds = [t for r, t in zip(recs, texts) if r["action"] == "hold"]
    for args, want in ((["-n", "4", "--action", "hold"], holds[-4:]), ([], texts[-10:]),
                       (["-n", "0"], []), (["-n", "100"], texts),
                       (["-n", "2", "--id", "r7"], [texts[7]])):
        same_lines(out_lines(qwrap_ok(env, "tail", "--json", *args, log).stdout), want,
                   "tail %s" % " ".join(args))
    piped = out_lines(qwrap_ok(env, "grep", log).stdout)
    assert out_lines(qwrap_ok(env, "tail", "-n", "3", log).stdout) == piped[-3:], "tail, piped"


@test
def report__tail_follow__new_records_then_across_a_rename_rotation(env):
    d = private_dir(env)
    log = os.path.join(d, "capture.log")
    base = ms_of("2026-11-26T10:00:00.000Z")
    r = [record_text(small_record(base + i, "r%d" % i, action="hold" if i == 16 else "deliver"))
         for i in range(30)]
    write_log(log, r[:15])
    f = Follow(env, "-n", "3", "--json", log)
    h = Follow(env, "-n", "1", "--action", "hold", "--json", log)
    try:
        f.expect(r[12:15], "the last 3")
        append(log, r[15:17])
        f.expect(r[15:17], "appended")
        with open(log, "ab") as out:		# a record written in two parts
            out.write(r[17][:30])
            out.flush()
            assert not f.take(1, timeout=0.7), "tail -f printed half a record"
            out.write(r[17][30:] + b"\n")
        f.expect(r[17:18], "completed")
        # logrotate: renamed away, the writer still appends to it, then a new file.
        os.rename(log, log + ".1")
        append(log + ".1", r[18:19])
        time.sleep(0.5)
        write_log(log, r[19:21])
        f.expect(r[18:21], "the old file's last, then the new file")
        append(log, r[21:23])
        f.expect(r[21:23], "appended to the new file")
        h.expect([r[16]], "the one hold, filtered")
    finally:
        errs = f.stop() + h.stop()
    assert errs == b"", errs


@test
def report__tail_follow__copytruncate_read_again_from_the_start(env):
    d = private_dir(env)
    log = os.path.join(d, "capture.log")
    base = ms_of("2026-11-26T10:00:00.000Z")
    r = [record_text(small_record(base + i, "r%d" % i)) for i in range(30)]
    write_log(log, r[:20])
    f = Follow(env, "-n", "2", "--json", log)
    try:
        f.expect(r[18:20], "the last 2")
        append(log, r[20:21])
        f.expect(r[20:21], "appended")
        shutil.copy(log, log + ".1")			# logrotate's copytruncate
        with open(log, "r+b") as out:
            out.truncate(0)
        time.sleep(0.5)
        append(log, r[21:24])
        f.expect(r[21:24], "after the truncation")
        append(log, r[24:25])
        f.expect(r[24:25], "appended after it")
    finally:
        err = f.stop()
    assert err == b"", err


# --- vhosts ------------------------------------------------------------------------

SITES_ROOT = "/srv/vhosts"
# (script, cwd, the vhost under SITES_ROOT, the vhost with no root known)
SITE_CASES = [
    (SITES_ROOT + "/alpha.example/httpdocs/index.php", SITES_ROOT + "/alpha.example/httpdocs",
     "alpha.example", "-"),
    (None, SITES_ROOT + "/system/beta.example/logs", "beta.example", "-"),
    ("", SITES_ROOT + "/gamma.example", "gamma.example", "-"),
    ("/home/carol/public_html/contact.php", "/", "carol", "carol"),
    ("/usr/bin/php", "/home/dave/public_html/cron", "dave", "dave"),
    (SITES_ROOT + "/alpha.example/httpdocs/a.php", "/home/carol/public_html", "alpha.example",
     "carol"),
    ("/var/www/vhosts/other.example/httpdocs/x.php", "/tmp", "-", "-"),
    (SITES_ROOT + "X/delta.example/x.php", "/srv", "-", "-"),
    (None, "/home", "-", "-"),
    ("/home/dan/domains/d.example/public_html/x.php", "/", "d.example", "d.example"),
    (None, "/home/erin/e.example", "e.example", "e.example"),
]


def site_log(env):
    """A log of the SITE_CASES (the first three twice; case i with i + 1
    recipients) and, per record, its vhost under SITES_ROOT and with no root."""
    recs, under_root, no_root = [], [], []
    base = ms_of("2026-11-26T10:00:00.000Z")
    for i, (script, cwd, site_in, site_out) in enumerate(SITE_CASES):
        for k in range(2 if i < 3 else 1):
            recs.append(small_record(base + len(recs), "s%d-%d" % (i, k), script=script, cwd=cwd,
                                     rcpt_count=i + 1))
            under_root.append(site_in)
            no_root.append(site_out)
    log = os.path.join(private_dir(env), "capture.log")
    write_log(log, [record_text(r) for r in recs])
    return log, recs, under_root, no_root


def vhost_rows(recs, sites):
    """The `top --by vhost` table of RECS when their vhosts are SITES."""
    table = {}
    for rec, key in zip(recs, sites):
        m, n = table.get(key, (0, 0))
        table[key] = (m + 1, n + rec["rcpt_count"])
    return sorted(((k, m, n) for k, (m, n) in table.items()),
                  key=lambda r: (-r[1], -r[2], r[0].encode()))


def psa_conf_says():
    try:
        with open(os.path.join(PSA_DIR, "psa.conf")) as f:
            return any(l.split()[:1] == ["HTTPD_VHOSTS_D"] for l in f)
    except OSError:
        return False


@test
def report__vhost__from_vhosts_root_option_or_config_key_plesk_and_cpanel(env):
    if psa_conf_says():
        return "skipped: this host's psa.conf names a vhosts root, which the config key yields to"
    log, recs, under_root, no_root = site_log(env)
    with_root, without = vhost_rows(recs, under_root), vhost_rows(recs, no_root)
    assert len(with_root) > 4 and with_root != without
    for args in (["--vhosts-root", SITES_ROOT], ["--vhosts-root", SITES_ROOT + "//"]):
        same_rows(top_json(env, "--by", "vhost", *args, log), with_root, "top %s" % args)
    same_rows(top_json(env, "--by", "vhost", log), without, "top --by vhost, no root known")
    # A log where no path lies under a known layout: said, not only a row of dashes.
    lonely = os.path.join(private_dir(env), "lonely.log")
    write_log(lonely, [record_text(small_record(ms_of("2026-11-26T10:00:00.000Z"), "l",
                                                script="/srv/app/x.php", cwd="/srv/app"))])
    p = qwrap(env, "top", "--by", "vhost", lonely)
    assert p.returncode == 0 and b"give --vhosts-root DIR" in p.stderr, p.stderr
    p = qwrap(env, "top", "--by", "vhost", log)
    assert b"give --vhosts-root" not in p.stderr, p.stderr
    column = [l.split(b"\t")[4].decode()
              for l in out_lines(qwrap_ok(env, "grep", "--vhosts-root", SITES_ROOT, log).stdout)]
    assert column == under_root, "grep's vhost column: %s" % column
    try:
        env.set_conf(b'vhosts_root = "%s/";' % SITES_ROOT.encode())
        same_rows(top_json(env, "--by", "vhost", log), with_root, "top, vhosts_root in the config")
        env.set_conf(b'vhosts_root = "/var/www/vhosts";')
        same_rows(top_json(env, "--by", "vhost", "--vhosts-root", SITES_ROOT, log), with_root,
                  "top, the option over the config")
    finally:
        env.reset_conf()


def top_under_psa(env, conf_dir, *args):
    """`qwrap top --json ARGS` with CONF_DIR mounted on /etc/psa, in a mount
    namespace of its own: the rows."""
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
           'mount --bind "$1" %s && shift && exec "$@"' % PSA_DIR, "sh", conf_dir,
           os.path.join(env.sbin, "qwrap"), "top", "--json"] + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    assert p.returncode == 0, "unshare ... qwrap top: exit %d: %s" % (
        p.returncode, p.stderr.decode(errors="replace"))
    rows = map(json.loads, out_lines(p.stdout))
    return [(r["key"], r["messages"], r["recipients"]) for r in rows]


@test
def report__vhost__plesk_psa_conf_in_a_mount_namespace(env):
    if not env.is_root:
        return "skipped: needs root"
    log, recs, under_root, no_root = site_log(env)
    conf_dir = private_dir(env)
    with open(os.path.join(conf_dir, "psa.conf"), "w") as f:
        f.write("# Plesk\nPRODUCT_ROOT_D /opt/psa\n  HTTPD_VHOSTS_D\t%s/ \nDUMP_D /var/lib/psa\n"
                % SITES_ROOT)
    made = not os.path.exists(PSA_DIR)
    if made:
        os.mkdir(PSA_DIR)
    try:
        same_rows(top_under_psa(env, conf_dir, "--by", "vhost", log), vhost_rows(recs, under_root),
                  "top --by vhost, HTTPD_VHOSTS_D from psa.conf")
        env.set_conf(b'vhosts_root = "/var/www/vhosts";')
        same_rows(top_under_psa(env, conf_dir, "--by", "vhost", log), vhost_rows(recs, under_root),
                  "psa.conf over the config key")
        same_rows(top_under_psa(env, conf_dir, "--by", "vhost", "--vhosts-root", "/nowhere", log),
                  vhost_rows(recs, no_root), "the option over psa.conf")
    finally:
        env.reset_conf()
        if made:
            os.rmdir(PSA_DIR)
