"""qwrap purge --dry-run (issue 21): which messages of a qmail queue a purge takes, per
filter, against the fixture's truth.json (a real qmail queue, preprocessed and not), and
--bounces-of against bounces queued here into the real qmail.  The move into a quarantine
and qwrap restore are not built yet: without --dry-run purge changes nothing, says so."""
import fnmatch
import json
import os
import re
import subprocess

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


@purge_test
def purge__dry_run_fixture__exact_set_per_filter_nothing_changed(env):
    truth = scan.truth()
    msgs = truth["messages"]
    root = truth["vhosts_root"]
    done = []
    for name in ("queue.tar.gz", "queue-todo.tar.gz"):
        queue = scan.extract(env, name)
        before = files_of(queue)
        try:
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
            for args, match in cases:
                want = {t["id"] for t in msgs if match(t)}
                got = chosen(env, queue, *args)
                assert set(got) == want, (name, args, sorted(set(got) ^ want))
                assert want or args == ["--newer-than", "1d"], ("a weak case", args)
            # A dry run changes nothing; without --dry-run nothing is done yet, and
            # it says so; no filter at all is refused.
            p = run.qwrap_tool(env, "purge", "--queue", queue, "--uid", "1009")
            assert p.returncode == 69 and b"only --dry-run" in p.stderr, p
            p = run.qwrap_tool(env, "purge", "--dry-run", "--queue", queue)
            assert p.returncode == 64, p
            assert files_of(queue) == before, "the queue changed"
            done.append("%s: %d filters" % (name, len(cases)))
        finally:
            scan.remove(queue)
    return ", ".join(done)


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
