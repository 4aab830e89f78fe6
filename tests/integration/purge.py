"""qwrap purge and qwrap restore (issue 21): which messages of a qmail queue a purge takes,
per filter, against the fixture's truth.json (a real qmail queue, preprocessed and not);
the move into the quarantine, file for file, and its manifest; a purge killed at every
step (the message whole in the queue or whole in the quarantine, never both after
--resume); the refusal while a qmail-send runs; restore through a qmail-queue model that
records its input, and through the real qmail-queue, with the virtual-domain rewrite of
local recipients taken back; --bounces-of against bounces queued into the real qmail."""
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import time

import __main__ as run  # run.py's helpers
import scan

TESTS = []


def purge_test(fn):
    TESTS.append(fn)
    return fn


def chosen(env, queue, *args):
    p = run.qwrap_tool(env, "purge", "--dry-run", "--queue", queue, "--json", *args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    summary = lines.pop()
    assert summary["type"] == "summary" and summary["dry_run"] is True, summary
    assert summary["chosen"] + summary["bounces"] == len(lines), (summary, len(lines))
    return {m["id"]: m for m in lines}


def domain_of(a):
    return a.rpartition("@")[2].lower()


def files_of(queue):
    out = {}
    for d, _, fns in os.walk(queue):
        for f in fns:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, queue)] = fh.read()
    return out


def filter_cases(name):
    """(args, which truth.json messages they choose) for fixture tarball NAME."""
    truth = scan.truth()
    msgs = truth["messages"]
    root = truth["vhosts_root"]

    def wrapper(t):
        h = t["wrapper_header"]
        return h if h and t["received"]["invoked"] == "by uid" and \
            int(h["uid"]) == t["received"]["uid"] else None

    def rcpts(t):
        r = t["recipients"]
        return r["local"] + r["remote"] if name == "queue.tar.gz" else \
            t["todo_envelope"]["T"]

    def uid(t):
        rec = t["received"]
        return rec["uid"] if rec["invoked"] == "by uid" else t["todo_envelope"]["u"]

    def site(path):
        rest = path[len(root) + 1:] if path and path.startswith(root + "/") else ""
        return rest.split("/")[0] if rest else None

    cases = [
        (["--uid", "1009"], lambda t: uid(t) == 1009),
        (["--user", "root"], lambda t: uid(t) == 0),
        (["--script", "*/x.php"],
         lambda t: wrapper(t) is not None and fnmatch.fnmatchcase(wrapper(t)["script"],
                                                                  "*/x.php")),
        (["--vhost", "shop.example", "--vhosts-root", root],
         lambda t: wrapper(t) is not None and "shop.example" in (
             site(wrapper(t)["script"]), site(wrapper(t)["cwd"]))),
        (["--sender", "NEWS@blog"], lambda t: "news@blog" in t["envelope_sender"].lower()),
        (["--subject", "suspended|v1agra"],
         lambda t: re.search("suspended|v1agra", t["subject_decoded"], re.I)),
        (["--rcpt-domain", "example.org"],
         lambda t: any(domain_of(a) == "example.org" or domain_of(a).endswith(
             ".example.org") for a in rcpts(t))),
        (["--uid", "1009", "--subject", "suspended"],
         lambda t: uid(t) == 1009 and re.search("suspended", t["subject_decoded"], re.I)),
        (["--id", str(msgs[7]["id"])], lambda t: t["id"] == msgs[7]["id"]),
        (["--older-than", "1d"], lambda t: True),
        (["--newer-than", "1d"], lambda t: False),
    ]
    return cases


@purge_test
def purge__dry_run_fixture__exact_set_per_filter_nothing_changed(env):
    msgs = scan.truth()["messages"]
    done = []
    for name in ("queue.tar.gz", "queue-todo.tar.gz"):
        queue = scan.extract(env, name)
        before = files_of(queue)
        try:
            cases = filter_cases(name)
            for args, match in cases:
                want = {t["id"] for t in msgs if match(t)}
                got = chosen(env, queue, *args)
                assert set(got) == want, (name, args, sorted(set(got) ^ want))
                assert want or args == ["--newer-than", "1d"], ("a weak case", args)
            # A dry run changes nothing; no filter at all is refused.
            p = run.qwrap_tool(env, "purge", "--dry-run", "--queue", queue)
            assert p.returncode == 64, p
            assert files_of(queue) == before, "the queue changed"
            done.append("%s: %d filters" % (name, len(cases)))
        finally:
            scan.remove(queue)
    return ", ".join(done)


KINDS = ("mess", "info", "local", "remote", "todo", "intd", "bounce")
TARBALLS = ("queue.tar.gz", "queue-todo.tar.gz")


def files_of_message(files, mid):
    """The queue files (from files_of) of message MID, by kind."""
    return {k.split("/")[0]: v for k, v in files.items()
            if os.path.basename(k) == str(mid) and k.split("/")[0] in KINDS}


def purge(env, queue, quarantine, *args):
    """A purge: the messages it says it moved, and its summary."""
    p = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", quarantine, "--json",
                       *args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    summary = lines.pop() if lines and lines[-1]["type"] == "summary" else None
    assert all(m["type"] == "moved" for m in lines), lines
    return {m["id"]: m for m in lines}, summary


def manifest(quarantine, name):
    with open(os.path.join(quarantine, name, "manifest"), "rb") as f:
        return [json.loads(l) for l in f.read().splitlines()]


def qmail_queue_model(d):
    """A qmail-queue that records its input, the message (fd 0) and the envelope (fd 1),
    as N.mess and N.env in D/rec; it exits 0, as qmail-queue does once a message is queued."""
    rec = os.path.join(d, "rec")
    os.mkdir(rec)
    path = os.path.join(d, "qmail-queue")
    with open(path, "w") as f:
        f.write("#!/usr/bin/python3\nimport os, sys\nrec = %r\n"
                "n = len(os.listdir(rec)) // 2\n"
                "m = sys.stdin.buffer.read()\n"
                "e = os.fdopen(1, 'rb').read()\n"
                "open(os.path.join(rec, '%%d.mess' %% n), 'wb').write(m)\n"
                "open(os.path.join(rec, '%%d.env' %% n), 'wb').write(e)\n" % rec)
    os.chmod(path, 0o755)
    return path, rec


def recorded(rec):
    out = []
    for i in range(len(os.listdir(rec)) // 2):
        with open(os.path.join(rec, "%d.mess" % i), "rb") as f:
            m = f.read()
        with open(os.path.join(rec, "%d.env" % i), "rb") as f:
            out.append((m, f.read()))
    return out


def envelope_of(t, name):
    """What restore must give qmail-queue for truth.json's message T: the sender, and
    the recipients not yet delivered (all of them before preprocessing)."""
    if name == "queue.tar.gz":
        r = t["recipients"]
        sender = t["envelope_sender"]
        rcpts = sorted(a for a in r["local"] + r["remote"] if a not in r["done"])
    else:
        sender = t["todo_envelope"]["F"]
        rcpts = t["todo_envelope"]["T"]
    return sender, rcpts


def parse_envelope(e):
    assert e.endswith(b"\0\0"), e
    fields = e[:-1].split(b"\0")[:-1]
    assert fields[0][:1] == b"F" and all(f[:1] == b"T" for f in fields[1:]), fields
    return fields[0][1:].decode(), [f[1:].decode() for f in fields[1:]]


@purge_test
def purge__fixture__moves_exact_set_file_for_file__restore_gives_qmail_queue_the_same(env):
    if not env.is_root:
        return "skipped: needs root (the quarantine is root's)"
    by_id = {t["id"]: t for t in scan.truth()["messages"]}
    moved_all = 0
    for name in TARBALLS:
        for args, match in filter_cases(name):
            want = {i for i, t in by_id.items() if match(t)}
            if not want:
                continue
            queue = scan.extract(env, name)
            d = scan.private_dir(env)
            qr = os.path.join(d, "quarantine")
            try:
                before = files_of(queue)
                got, summary = purge(env, queue, qr, *args)
                where = (name, args)
                assert set(got) == want, (where, sorted(set(got) ^ want))
                assert summary["moved"] == len(want) and summary["skipped"] == 0, summary
                assert oct(os.stat(qr).st_mode & 0o777) == "0o700", where
                pname = summary["purge"]
                # The queue lost exactly the files of the chosen messages; the rest is as it was.
                after = files_of(queue)
                for k, v in before.items():
                    if k.split("/")[0] in KINDS and os.path.basename(k).isdigit() and \
                            int(os.path.basename(k)) in want:
                        assert k not in after, (where, k)
                    else:
                        assert after.get(k) == v, (where, k)
                assert set(after) <= set(before), where
                # Each copy is the message's files, byte for byte, and its entry line.
                lines = manifest(qr, pname)
                assert lines[0]["type"] == "purge" and lines[0]["queue"] == os.path.realpath(queue)
                assert lines[-1]["type"] == "end" and lines[-1]["moved"] == len(want), lines[-1]
                entries = {l["id"]: l for l in lines[1:-1]}
                assert len(lines) == len(want) + 2 and set(entries) == want, where
                for mid in want:
                    copy = files_of(os.path.join(qr, pname, str(mid)))
                    entry = json.loads(copy.pop("entry"))
                    assert entry == entries[mid], (where, mid)
                    assert copy == files_of_message(before, mid), (where, mid)
                    assert entry["sender"] == envelope_of(by_id[mid], name)[0]
                p = run.qwrap_tool(env, "purge", "--list", "--json", "--quarantine", qr)
                listed = [json.loads(l) for l in p.stdout.splitlines()]
                assert [(x["name"], x["moved"], x["restored"], x["complete"]) for x in listed] \
                    == [(pname, len(want), 0, True)], listed

                # Restore: qmail-queue gets each message's bytes and its envelope.
                qq, rec = qmail_queue_model(d)
                p = run.qwrap_tool(env, "restore", pname, "--quarantine", qr, "--qmail-queue", qq)
                assert p.returncode == 0, (where, p.stderr)
                given = {}
                for mess, e in recorded(rec):
                    sender, rcpts = parse_envelope(e)
                    given[mess] = (sender, rcpts)
                expect = {}
                for mid in want:
                    sender, rcpts = envelope_of(by_id[mid], name)
                    expect[files_of_message(before, mid)["mess"]] = (sender, rcpts)
                if name == "queue.tar.gz":
                    given = {k: (v[0], sorted(v[1])) for k, v in given.items()}
                assert len(recorded(rec)) == len(want) and given == expect, where
                # Once only, unless asked again; --list counts it.
                mid = min(want)
                p = run.qwrap_tool(env, "restore", pname, str(mid), "--quarantine", qr,
                                   "--qmail-queue", qq)
                assert p.returncode == 64 and b"restored already" in p.stderr, p
                p = run.qwrap_tool(env, "restore", pname, str(mid), "--again", "--quarantine",
                                   qr, "--qmail-queue", qq)
                assert p.returncode == 0 and len(recorded(rec)) == len(want) + 1, p
                p = run.qwrap_tool(env, "purge", "--list", "--json", "--quarantine", qr)
                assert json.loads(p.stdout)["restored"] == len(want), p.stdout
                moved_all += len(want)
            finally:
                scan.remove(queue)
                shutil.rmtree(d, ignore_errors=True)
    return "%d messages moved and restored over both fixture queues" % moved_all


def only_messages(queue, keep):
    """Removes from QUEUE every message but those in KEEP."""
    for sub in KINDS:
        for dirpath, _, names in os.walk(os.path.join(queue, sub)):
            for n in names:
                if n.isdigit() and int(n) not in keep:
                    os.unlink(os.path.join(dirpath, n))


@purge_test
def purge__killed_at_every_step__whole_in_queue_or_quarantine__resume_finishes(env):
    if not env.is_root:
        return "skipped: needs root (the quarantine is root's)"
    by_id = {t["id"]: t for t in scan.truth()["messages"]}
    calls = ["openat", "write", "fsync", "mkdir", "mkdirat", "rename", "renameat",
             "renameat2", "unlink", "unlinkat", "syncfs", "utimensat", "flock", "ftruncate"]
    crashes = halfway = unfinished = 0
    # Under the sanitizers (slower by half) the preprocessed queue is enough.
    for name in TARBALLS[:1] if env.san else TARBALLS:
        web2 = sorted(i for i, t in by_id.items() if t["scenario"] == "web2-bulk")[:2]
        other = sorted(i for i, t in by_id.items() if t["scenario"] == "root-cron")[:1]
        template = scan.extract(env, name)
        only_messages(template, set(web2 + other))
        original = files_of(template)
        work = scan.private_dir(env)
        try:
            for call in calls:
                n = 1
                while True:
                    queue = os.path.join(work, "queue")
                    qr = os.path.join(work, "quarantine")
                    shutil.rmtree(queue, ignore_errors=True)
                    shutil.rmtree(qr, ignore_errors=True)
                    shutil.copytree(template, queue, symlinks=True)
                    cmd = [os.path.join(env.sbin, "qwrap"), "purge", "--queue", queue,
                           "--quarantine", qr, "--uid", "1010"]
                    if not run.strace_kill(cmd, call, n):
                        break
                    crashes += 1
                    where = "%s: killed at %s #%d" % (name, call, n)

                    def copies():
                        """Each committed copy: (purge, id) -> its files."""
                        out = {}
                        if os.path.isdir(qr):
                            for pn in os.listdir(qr):
                                for c in os.listdir(os.path.join(qr, pn)):
                                    if c.isdigit():
                                        out[(pn, int(c))] = files_of(os.path.join(qr, pn, c))
                        return out

                    # Right after the crash: each message whole in the queue, or whole in
                    # the quarantine; one that is partly in the queue has no file left
                    # that would make qmail-send see it.
                    now = files_of(queue)
                    held = copies()
                    for mid in web2 + other:
                        orig = files_of_message(original, mid)
                        left = files_of_message(now, mid)
                        mine = [files for (pn, c), files in held.items() if c == mid]
                        whole_copy = any({k: v for k, v in f.items() if k != "entry"} == orig
                                         for f in mine)
                        assert left == orig or whole_copy, (where, mid, sorted(left))
                        if left and left != orig:
                            halfway += 1
                            assert not {"info", "todo"} & set(left), (where, mid, sorted(left))
                        if mid in other:
                            assert left == orig and not mine, (where, mid)
                    # --list says a purge that has no end line stopped half way, and
                    # restore waits for --resume.
                    p = run.qwrap_tool(env, "purge", "--list", "--json", "--quarantine", qr)
                    assert p.returncode == 0, (where, p.stderr)
                    for x in (json.loads(l) for l in p.stdout.splitlines()):
                        if not x["complete"]:
                            r = run.qwrap_tool(env, "restore", x["name"], "--quarantine", qr,
                                               "--qmail-queue", "/bin/false")
                            assert r.returncode == 75 and b"--resume" in r.stderr, (where, r)
                            unfinished += 1
                    # --resume finishes it: never both in the queue and in the quarantine.
                    p = run.qwrap_tool(env, "purge", "--resume", "--queue", queue,
                                       "--quarantine", qr)
                    assert p.returncode == 0, (where, p.stderr)
                    for x in (json.loads(l) for l in run.qwrap_tool(
                            env, "purge", "--list", "--json", "--quarantine", qr)
                            .stdout.splitlines()):
                        assert x["complete"], (where, x)
                    now = files_of(queue)
                    held = copies()
                    for mid in web2:
                        left = files_of_message(now, mid)
                        mine = [k for k in held if k[1] == mid]
                        assert (left == files_of_message(original, mid) and not mine) or \
                            (not left and len(mine) == 1), (where, mid, sorted(left), mine)
                    # And the purge run again takes the rest: each once, in the quarantine.
                    p = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr,
                                       "--uid", "1010")
                    assert p.returncode == 0 or b"no message matched" in p.stderr, (where, p)
                    now = files_of(queue)
                    held = copies()
                    lines = []
                    for pn in (os.listdir(qr) if os.path.isdir(qr) else []):
                        lines += [l["id"] for l in manifest(qr, pn) if l["type"] == "moved"]
                    for mid in web2:
                        assert not files_of_message(now, mid), (where, mid)
                        mine = [f for k, f in held.items() if k[1] == mid]
                        assert len(mine) == 1 and lines.count(mid) == 1, (where, mid, lines)
                        mine[0].pop("entry")
                        assert mine[0] == files_of_message(original, mid), (where, mid)
                    for mid in other:
                        assert files_of_message(now, mid) == files_of_message(original, mid)
                    n += 1
        finally:
            scan.remove(template)
            shutil.rmtree(work, ignore_errors=True)
    assert crashes > 20 and halfway > 0 and unfinished > 0, (crashes, halfway, unfinished)
    return "%d crash points: %d left a purge to finish, %d a message half out of the queue" % (
        crashes, unfinished, halfway)


@purge_test
def purge__refused_while_qmail_send_runs__stop_and_start_commands_run_around_it(env):
    if not env.is_root:
        return "skipped: needs root (the quarantine is root's)"
    d = scan.private_dir(env)
    queue = scan.extract(env, "queue.tar.gz")
    qr = os.path.join(d, "quarantine")
    fake = os.path.join(d, "qmail-send")   # what purge looks for: a process of that name
    shutil.copy("/bin/sleep", fake)
    init = "/etc/init.d/qmail"
    made_init = False
    procs = []
    try:
        def start_fake(uid=0):
            def drop():
                if uid:
                    os.setgid(env.gid)
                    os.setuid(uid)
            p = subprocess.Popen([fake, "300"], preexec_fn=drop)
            procs.append(p)
            assert run.wait_for(lambda: open("/proc/%d/comm" % p.pid).read() == "qmail-send\n",
                                5)
            return p

        os.chmod(d, 0o755)
        # A tenant's process of that name is not qmail-send: it holds nothing up.
        t = start_fake(env.uid)
        n = len(chosen(env, queue, "--user", "root"))
        assert n > 0 and len(purge(env, queue, qr, "--user", "root")[0]) == n
        t.kill()
        p = start_fake()
        before = files_of(queue)
        r = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr, "--uid", "1010")
        assert r.returncode == 75 and b"qmail-send runs (pid %d" % p.pid in r.stderr, r
        assert files_of(queue) == before
        # A dry run reads only: it goes on.
        assert len(chosen(env, queue, "--uid", "1010")) == 5
        # Told how: stopped, purged, started again, each command shown first.
        started = os.path.join(d, "started")
        r = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr, "--uid", "1010",
                           "--stop", "kill %d" % p.pid, "--start", "touch " + started)
        assert r.returncode == 0, r
        assert b"stopping qmail-send: kill %d" % p.pid in r.stderr, r.stderr
        assert b"starting qmail-send: touch " in r.stderr and os.path.exists(started), r.stderr
        assert b"moved 5 messages" in r.stderr, r.stderr
        # A stop command that fails: refused, nothing moved, and the start command run
        # all the same (a stop may have half worked).
        p = start_fake()
        os.unlink(started)
        before = files_of(queue)
        r = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr, "--uid", "1009",
                           "--stop", "false", "--start", "touch " + started)
        assert r.returncode == 75 and b"false failed" in r.stderr, r
        assert os.path.exists(started) and files_of(queue) == before, r.stderr
        os.unlink(started)
        # --restart: what the host runs it with, here an init script, shown before.
        if not os.path.exists(init) and not os.path.exists("/etc/systemd/system/qmail.service"):
            made_init = True
            with open(init, "w") as f:
                f.write("#!/bin/sh\ncase $1 in stop) pkill -x qmail-send;; start) touch %s;;"
                        " esac\n" % started)
            os.chmod(init, 0o755)
            r = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr, "--uid",
                               "1009")
            assert r.returncode == 75 and b'"/etc/init.d/qmail stop"' in r.stderr, r
            r = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine", qr, "--uid",
                               "1009", "--restart")
            assert r.returncode == 0, r
            assert b"stopping qmail-send: /etc/init.d/qmail stop" in r.stderr, r.stderr
            assert os.path.exists(started) and p.wait(5) is not None
        return "refused, then stopped and started by the commands given%s" % (
            " and by the init script" if made_init else "")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        if made_init:
            os.unlink(init)
        scan.remove(queue)
        shutil.rmtree(d, ignore_errors=True)


@purge_test
def purge__real_qmail__restore_through_qmail_queue__virtual_domain_recipient_as_it_was(env):
    if not env.is_root or env.qmail is None:
        return "skipped: needs root and the real qmail"
    q = env.qmail
    q.clear()
    d = scan.private_dir(env)
    qr = os.path.join(d, "quarantine")
    try:
        # Preprocessed, never delivered: qmail-send runs with no concurrency.
        q.control("concurrencylocal", "0\n")
        q.control("concurrencyremote", "0\n")
        # Two lines for one domain: the last counts, as in qmail-send.
        q.control("virtualdomains", "vd.example:first\nvd.example:alias-vd\n")
        for sender, rcpts in (("spam@shop.example", ["bob@vd.example", "r@remote.example"]),
                              ("spam@shop.example", ["r2@remote.example"]),
                              ("alice@shop.example", ["carol@vd.example"])):
            p = subprocess.run([q.sendmail, "-f", sender] + rcpts,
                               input=b"Subject: hello\n\nbody\n", capture_output=True)
            assert p.returncode == 0, p.stderr
        q.run_send(lambda text: text.count(b"info msg") >= 3)
        locals_ = b"".join(open(os.path.join(dp, f), "rb").read()
                           for dp, _, fs in os.walk(os.path.join(q.queue, "local")) for f in fs)
        assert b"Talias-vd-bob@vd.example\0" in locals_, locals_   # qmail-send's rewrite
        before = {}
        for dp, _, fs in os.walk(os.path.join(q.queue, "mess")):
            for f in fs:
                with open(os.path.join(dp, f), "rb") as fh:
                    before[int(f)] = fh.read()
        got, summary = purge(env, q.queue, qr, "--sender", "spam@shop.example")
        assert len(got) == 2 and summary["moved"] == 2, (got, summary)
        assert all(m["state"] == "preprocessed" for m in got.values()), got
        mark = q.mark()
        p = run.qwrap_tool(env, "restore", summary["purge"], "--quarantine", qr)
        assert p.returncode == 0, p.stderr
        back = q.since(mark)
        assert len(back) == 2, back
        for m in back:
            assert m.sender == b"spam@shop.example" and m.received_uid == 0, m
            assert m.body in (before[i] for i in got), m
        assert sorted(sorted(m.rcpt) for m in back) == [
            [b"bob@vd.example", b"r@remote.example"], [b"r2@remote.example"]], back
        return "2 purged after preprocessing, queued again with their envelopes"
    finally:
        for c in ("concurrencylocal", "concurrencyremote", "virtualdomains"):
            q.control(c, None)
        q.clear()
        shutil.rmtree(d, ignore_errors=True)


@purge_test
def purge__bounces_of__null_sender_mail_to_the_chosen_senders(env):
    if not env.is_root or env.qmail is None:
        return "skipped: needs root and the real qmail"
    env.qmail.clear()
    q = env.qmail

    def inject(sender, rcpt, subject):
        p = subprocess.run([q.sendmail, "-f", sender, rcpt], input=b"Subject: %s\n\nb\n" % subject,
                           capture_output=True)
        assert p.returncode == 0, p.stderr

    inject("spam@shop.example", "a@victim.example", b"spam")
    inject("spam@shop.example", "b@victim.example", b"spam")
    inject("", "spam@shop.example", b"failure notice")        # a bounce of the spam
    inject("", "Spam@Shop.Example", b"failure notice")        # addresses are any case
    inject("", "alice@shop.example", b"failure notice")       # someone else's bounce
    inject("alice@shop.example", "c@x.example", b"hello")
    got = chosen(env, q.queue, "--sender", "spam@shop.example", "--bounces-of")
    kinds = sorted((m["sender"], m["bounce_of_chosen"], m["subject"]) for m in got.values())
    assert kinds == [("", True, "failure notice"), ("", True, "failure notice"),
                     ("spam@shop.example", False, "spam"),
                     ("spam@shop.example", False, "spam")], kinds
    assert len(chosen(env, q.queue, "--sender", "spam@shop.example")) == 2
    env.qmail.clear()
    return "2 chosen, 2 bounces of them, 2 others left"


@purge_test
def purge__bounces_of__real_qmail_double_bounce_of_the_spams_bounce(env):
    if not env.is_root or env.qmail is None:
        return "skipped: needs root and the real qmail"
    q = env.qmail
    q.clear()
    try:
        # spam@localhost.localhost writes to a local address that does not exist:
        # qmail-send bounces it to spam@localhost.localhost, which does not exist either,
        # and sends the double bounce (sender #@[]) to doublebounceto, remote, where
        # nothing is delivered.
        spam = "spam@localhost.localhost"
        q.control("locals", "localhost\nlocalhost.localhost\n")
        q.control("concurrencyremote", "0\n")
        q.control("doublebounceto", "postmaster\n")
        q.control("doublebouncehost", "remote.example\n")
        for rcpt in ("nosuchuser@localhost.localhost", "victim@remote.example"):
            p = subprocess.run([q.sendmail, "-f", spam, rcpt],
                               input=b"Subject: spam\n\nb\n", capture_output=True)
            assert p.returncode == 0, p.stderr
        p = subprocess.run([q.sendmail, "-f", "alice@remote.example", "x@remote.example"],
                           input=b"Subject: hello\n\nb\n", capture_output=True)
        assert p.returncode == 0, p.stderr
        log = q.run_send(lambda text: b"from <#@[]>" in text)
        assert b"triple bounce" not in log, log
        got = chosen(env, q.queue, "--sender", spam, "--bounces-of")
        kinds = sorted((m["sender"], m["bounce_of_chosen"]) for m in got.values())
        assert kinds == [("#@[]", True), (spam, False)], got
        # Not the double bounce of someone else's bounce.
        got = chosen(env, q.queue, "--sender", "alice@", "--bounces-of")
        assert [m["sender"] for m in got.values()] == ["alice@remote.example"], got
        return "the spam and the double bounce of its bounce"
    finally:
        for c in ("concurrencyremote", "doublebounceto", "doublebouncehost"):
            q.control(c, None)
        q.control("locals", "localhost\n")
        q.clear()



def one_message_queue(env, name, mid):
    """Fixture NAME extracted with only message MID left in it: the queue's path."""
    queue = scan.extract(env, name)
    only_messages(queue, {mid})
    return queue


def queue_file(queue, kind, mid):
    for dirpath, _, names in os.walk(os.path.join(queue, kind)):
        if str(mid) in names:
            return os.path.join(dirpath, str(mid))
    return None


@purge_test
def purge__restore__todo_wins_long_sender_whole_early_exit_and_a_killed_restore(env):
    if not env.is_root:
        return "skipped: needs root (the quarantine is root's)"
    by_id = {t["id"]: t for t in scan.truth()["messages"]}
    mid = sorted(i for i, t in by_id.items() if t["scenario"] == "web2-bulk")[0]
    t = by_id[mid]
    d = scan.private_dir(env)
    qr = os.path.join(d, "quarantine")
    qq, rec = qmail_queue_model(d)
    queues = []
    try:
        def purge_one(queue):
            queues.append(queue)
            got, summary = purge(env, queue, qr, "--id", str(mid))
            assert list(got) == [mid], got
            return summary["purge"]

        def restored(pname, *args, ok=True):
            n = len(recorded(rec))
            p = run.qwrap_tool(env, "restore", pname, "--quarantine", qr, "--qmail-queue", qq,
                               *args)
            if ok:
                assert p.returncode == 0, p.stderr
                assert len(recorded(rec)) == n + 1
                return parse_envelope(recorded(rec)[-1][1])
            return p

        # Caught half split (todo still there, local not yet written): all recipients,
        # from todo, as qmail-send would split it again.
        queue = one_message_queue(env, "queue.tar.gz", mid)
        todo = os.path.join(queue, "todo", str(mid))
        with open(queue_file(scan.extract(env, "queue-todo.tar.gz", into=d + "/t"), "todo",
                             mid), "rb") as f:
            envelope = f.read()
        with open(todo, "wb") as f:
            f.write(envelope)
        local = queue_file(queue, "local", mid)
        if local:
            open(local, "wb").close()
        remote = queue_file(queue, "remote", mid)
        open(remote, "wb").close()
        sender, rcpts = restored(purge_one(queue))
        assert (sender, rcpts) == (t["todo_envelope"]["F"], t["todo_envelope"]["T"])

        # A sender longer than anything qwrap scan shows, and 5000 recipients: whole.
        queue = one_message_queue(env, "queue.tar.gz", mid)
        long_sender = "s" * 2000 + "@long.example"
        with open(queue_file(queue, "info", mid), "wb") as f:
            f.write(b"F" + long_sender.encode() + b"\0")
        many = ["r%d@x.example" % i for i in range(5000)]
        with open(queue_file(queue, "remote", mid), "wb") as f:
            f.write(b"".join(b"T" + a.encode() + b"\0" for a in many) + b"Ddone@x.example\0")
        local = queue_file(queue, "local", mid)
        if local:
            os.unlink(local)
        pname = purge_one(queue)
        # A qmail-queue that exits before it reads the envelope (over 64 KiB): said, not fatal.
        p = run.qwrap_tool(env, "restore", pname, "--quarantine", qr, "--qmail-queue",
                           "/bin/false")
        assert p.returncode == 75 and b"qmail-queue failed" in p.stderr, p
        # qmail-queue's status said nothing was queued: the next restore goes on.
        sender, rcpts = restored(pname)
        assert sender == long_sender and rcpts == many

        # A restore killed after qmail-queue queued it, before it was noted: refused, then
        # --again.
        queue = one_message_queue(env, "queue.tar.gz", mid)
        pname = purge_one(queue)
        killer = os.path.join(d, "qq-kill")
        with open(killer, "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null; kill -9 $PPID\n")
        os.chmod(killer, 0o755)
        p = run.qwrap_tool(env, "restore", pname, "--quarantine", qr, "--qmail-queue", killer)
        assert p.returncode == -9, p
        p = run.qwrap_tool(env, "restore", pname, str(mid), "--quarantine", qr,
                           "--qmail-queue", qq)
        assert p.returncode == 64 and b"(perhaps)" in p.stderr, p
        restored(pname, str(mid), "--again")
        return "todo over info, a 2 KiB sender and 5000 recipients, qmail-queue gone early, " \
               "a restore killed half way"
    finally:
        for q in queues:
            scan.remove(q)
        shutil.rmtree(d, ignore_errors=True)


@purge_test
def purge__split_directory_made_a_link__nothing_read_or_removed_through_it(env):
    if not env.is_root:
        return "skipped: needs root (the quarantine is root's)"
    by_id = {t["id"]: t for t in scan.truth()["messages"]}
    mid = sorted(i for i, t in by_id.items() if t["scenario"] == "web2-bulk")[0]
    d = scan.private_dir(env)
    queue = one_message_queue(env, "queue.tar.gz", mid)
    try:
        # Someone with the queue's owner made remote/N a link to a directory of root's.
        remote = queue_file(queue, "remote", mid)
        split = os.path.dirname(remote)
        elsewhere = os.path.join(d, "elsewhere")
        os.mkdir(elsewhere)
        os.rename(remote, os.path.join(elsewhere, str(mid)))
        os.rmdir(split) if not os.listdir(split) else shutil.rmtree(split)
        os.symlink(elsewhere, split)
        before = files_of(elsewhere)
        p = run.qwrap_tool(env, "purge", "--queue", queue, "--quarantine",
                           os.path.join(d, "quarantine"), "--id", str(mid))
        assert p.returncode != 0 and b"cannot read remote/" in p.stderr, p
        assert files_of(elsewhere) == before
        assert queue_file(queue, "info", mid) is not None, "the message left the queue"
        return "refused, the file behind the link untouched"
    finally:
        scan.remove(queue)
        shutil.rmtree(d, ignore_errors=True)
