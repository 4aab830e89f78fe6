"""qwrap freeze and thaw (issue 21): root stops one sender's mail from the next message
on, with no config edit; the wrapper's keeper reads the freezes at each message.  Every
message goes into the real qmail as the site user; what a freeze holds goes to the hold
spool and is released with today's commands."""
import json
import os
import subprocess
import time

import __main__ as run  # run.py's helpers
import smtp  # its lock-step -bs client
from reports import qwrap as tool  # qwrap, as root or (as_user) as the site user

TESTS = []


def freeze_test(fn):
    TESTS.append(fn)
    return fn


def freeze(env, *args):
    p = tool(env, "freeze", *args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return int(p.stdout.split()[1].rstrip(b":"))


def freezes(env):
    p = tool(env, "freeze", "--json")
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.splitlines()]


def freeze_path(env):
    return os.path.join(os.path.dirname(env.conf), "freeze")


MSG = b"To: a@x.example\nSubject: frozen?\n\nbody\n"


def held_by(env, r, fid, what):
    """R is a hold by freeze FID, and its message is in the spool, nowhere else."""
    assert r["action"] == "hold" and r["freeze"]["id"] == fid, (what, r)
    assert "limit" not in r, (what, r)
    assert r["id"] in run.spool_ids(env), (what, r["id"], run.spool_ids(env))


@freeze_test
def freeze__each_selector_holds_from_the_next_message_thaw_and_expiry_end_it(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    run.clear_limits(env)
    cwd, script = run.make_vhost(env)
    vhosts = os.path.join(env.root, "vhosts")
    try:
        # Nothing frozen: delivered, and no freeze file at all.
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 0 and len(got) == 1 and "freeze" not in run.one(recs)
        assert not os.path.exists(freeze_path(env))

        # By uid (as --user): held, exit 0 (PHP's mail() says sent), nothing queued.
        fid = freeze(env, "--user", run.USER)
        st = os.stat(freeze_path(env))
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o640), (st.st_uid, oct(st.st_mode))
        p, recs, got = run.php(env, env.wrapper + " -t -i", cwd)
        assert p.stdout == b"sent" and got == [], (p.stdout, p.stderr)
        r = run.one(recs)
        held_by(env, r, fid, "--user")
        assert r["freeze"] == {"id": fid, "by": "uid", "name": run.USER,
                               "value": str(env.uid), "action": "hold"}, r["freeze"]
        # Root's own mail is not the frozen uid's.
        p, recs, got = env.send(["-t"], MSG, as_user=False)
        assert p.returncode == 0 and len(got) == 1, p.stderr
        listed = freezes(env)
        assert [(f["id"], f["by"], f["value"], f["caught"], f["until"]) for f in listed] == \
            [(fid, "uid", str(env.uid), 1, 0)], listed
        # Held mail is released with today's command, as the sender, into qmail.
        held_id = r["id"]
        p = tool(env, "held", "--json")
        assert p.returncode == 0 and b'"rule":"freeze:%d"' % fid in p.stdout, p.stdout
        p = tool(env, "thaw", str(fid))
        assert p.returncode == 0 and p.stdout == b"freeze %d thawed\n" % fid, p
        assert not os.path.exists(freeze_path(env)), "no freeze left, no file"
        mark = env.qmail.mark()
        p = tool(env, "release", held_id)
        assert p.returncode == 0, p.stderr
        assert len(env.qmail.since(mark)) == 1
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 0 and len(got) == 1 and "freeze" not in run.one(recs)

        # By script (a glob, '*' across '/'), by cwd (and below), by vhost: each
        # holds what it names and nothing else.
        other = os.path.join(env.root, "vhosts", "other.example", "httpdocs")
        os.makedirs(other, exist_ok=True)
        os.chown(other, env.uid, env.gid)
        for args, frozen, free in (
                (["--script", os.path.join(vhosts, "*", "contact.php")], cwd, None),
                (["--cwd", os.path.dirname(cwd)], cwd, other),
                (["--vhost", "shop.example", "--vhosts-root", vhosts], cwd, other)):
            fid = freeze(env, *args)
            p, recs, got = run.php(env, env.wrapper + " -t -i", frozen)
            assert p.stdout == b"sent" and got == [], (args, p.stdout, p.stderr)
            held_by(env, run.one(recs), fid, args)
            if free is not None:
                p, recs, got = env.send(["-t"], MSG, cwd=free)
                assert p.returncode == 0 and len(got) == 1, (args, p.stderr)
            assert tool(env, "thaw", str(fid)).returncode == 0
        # A script freeze needs a script: mail with none (here, from the shell) goes.
        fid = freeze(env, "--script", "*")
        p, recs, got = env.send(["-t"], MSG, cwd=other)
        assert p.returncode == 0 and len(got) == 1 and run.one(recs)["script"] is None
        assert tool(env, "thaw", "--all").returncode == 0

        # Reject: exit 69, PHP's mail() fails, the record says which freeze.
        fid = freeze(env, "--uid", str(env.uid), "--action", "reject")
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 69 and got == [], (p.returncode, p.stderr)
        assert b"frozen by the administrator (freeze %d)" % fid in p.stderr, p.stderr
        assert run.one(recs)["action"] == "reject" and run.one(recs)["freeze"]["id"] == fid
        p, recs, got = run.php(env, env.wrapper + " -t -i", cwd)
        assert p.stdout == b"failed" and got == [], p.stdout
        assert tool(env, "thaw", str(fid)).returncode == 0

        # --for: it ends by itself.
        fid = freeze(env, "--uid", str(env.uid), "--for", "2s")
        assert freezes(env)[0]["until"] > 0
        p, recs, got = env.send(["-t"], MSG)
        held_by(env, run.one(recs), fid, "--for 2s")
        time.sleep(2.2)
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 0 and len(got) == 1 and "freeze" not in run.one(recs)
        assert freezes(env) == [], freezes(env)

        # Usage: two selectors, a bad duration or action, a thaw of what is not there.
        for bad in (["--uid", "1", "--cwd", "/"], ["--uid", "1", "--for", "soon"],
                    ["--uid", "1", "--action", "drop"], ["--cwd", "tmp"], ["--for", "1h"]):
            assert tool(env, "freeze", *bad).returncode == 64, bad
        assert tool(env, "thaw", "424242").returncode == 66
    finally:
        tool(env, "thaw", "--all")
        run.clear_limits(env)
    return "uid, user, script, cwd, vhost; reject; --for; release"


@freeze_test
def freeze__paths_typed_with_double_slashes_and_dots__kept_as_records_have_them(env):
    # Records hold tidied paths ("//" and "/./" one "/"): so does a freeze, or it would
    # never match; a glob's bracket expression is left as typed.
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    try:
        freeze(env, "--script", "/var/www//vhosts/./shop.example/*.php")
        freeze(env, "--script", "/var/www/[/.]x.php")
        freeze(env, "--cwd", "/nonexistent//a/./b/")
        got = [(f["by"], f["value"]) for f in freezes(env)]
        assert got == [("script", "/var/www/vhosts/shop.example/*.php"),
                       ("script", "/var/www/[/.]x.php"), ("cwd", "/nonexistent/a/b")], got
    finally:
        tool(env, "thaw", "--all")


@freeze_test
def freeze__limits_meanwhile_and_a_frozen_sender_cannot_lift_it(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    run.clear_limits(env)
    env.set_conf(run.limit_conf(b'{ per = "uid"; max = 1; window = "1h"; action = "hold"; }'))
    try:
        fid = freeze(env, "--uid", str(env.uid), "--action", "reject")
        for _ in range(3):
            p, recs, got = env.send(["-t"], MSG)
            assert p.returncode == 69 and run.one(recs)["freeze"]["id"] == fid
        # The sender cannot thaw it, nor touch the file, nor read it.
        p = tool(env, "thaw", "--all", as_user=True)
        assert p.returncode != 0 and os.path.exists(freeze_path(env)), p
        p = subprocess.run(smtp.as_user(env, ["sh", "-c", "rm -f %s; : > %s; cat %s" % (
            (freeze_path(env),) * 3)]), capture_output=True)
        assert p.stdout == b"" and freezes(env)[0]["id"] == fid, (p.stdout, p.stderr)
        # Nor get past it: without a keeper (no process left for it), or without the
        # group (no_new_privs), mail waits (75), it does not go out.
        for pre, what, why in ((["prlimit", "--nproc=1:1"], "no keeper",
                                b"the limits cannot be counted (no keeper is running)"),
                               (["setpriv", "--no-new-privs"], "no group",
                                b"running without the qwrap group")):
            start = env.log_size()
            p = subprocess.run(smtp.as_user(env, pre + [env.wrapper, "-t"]), input=MSG,
                               capture_output=True, env={"PATH": "/usr/bin:/bin"})
            assert p.returncode == 75 and why in p.stderr, (what, p.returncode, p.stderr)
            assert env.records_since(start) == [], what  # the keeper was not there to write
        # The frozen messages were not counted: thawed, the first goes, the second is
        # held by the limit.
        assert tool(env, "thaw", str(fid)).returncode == 0
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 0 and len(got) == 1, p.stderr
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 0 and got == [] and run.one(recs)["limit"]["rule"] == 1
        assert "freeze" not in run.one(recs)
        # A freezes file that does not parse (written by hand) stops all mail, 75, until
        # it is mended; thaw --all removes it.
        with open(freeze_path(env), "w") as f:
            f.write("1 0 0 hold uid a name with spaces 1009\n")
        os.chown(freeze_path(env), 0, os.stat(env.wrapper).st_gid)
        os.chmod(freeze_path(env), 0o640)
        p, recs, got = env.send(["-t"], MSG)
        assert p.returncode == 75 and got == [] and b"line 1 is not a freeze" in p.stderr, p
        p = tool(env, "thaw", "--all")
        assert p.returncode == 0 and not os.path.exists(freeze_path(env)), p
        # Thawed, with no freeze left, a sender without a keeper is not refused for it.
        env.reset_conf()
        p = subprocess.run(smtp.as_user(env, ["prlimit", "--nproc=1:1", env.wrapper, "-t"]),
                           input=MSG, capture_output=True,
                           # LeakSanitizer's exit check needs a process of its own.
                           env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": env.new_recdir(),
                                "ASAN_OPTIONS": "detect_leaks=0"})
        assert p.returncode == 0, (p.returncode, p.stderr)
    finally:
        tool(env, "thaw", "--all")
        env.reset_conf()
        run.clear_limits(env)
    return "counted after the thaw only; thaw, rm, overwrite, read, no keeper, no group: refused"


@freeze_test
def freeze__made_during_a_bs_session__its_next_message_held_passthrough_refused(env):
    if not env.is_root:
        return "skipped: needs root (the set-gid install)"
    run.clear_limits(env)
    data = b"Subject: one\r\n\r\nbody\r\n"
    try:
        # No freeze, no limits when the session starts: the first message goes; the
        # freeze made between the two holds the second, in the same session.
        c = smtp.Client(env)
        assert c.cmd(b"EHLO client").startswith(b"250")
        assert c.message(b"s@x.example", [b"a@x.example"], data)[-1].startswith(b"250")
        fid = freeze(env, "--uid", str(env.uid))
        assert c.message(b"s@x.example", [b"a@x.example"], data)[-1].startswith(b"250")
        code, err, recs, got = c.finish()
        assert code == 0 and len(smtp.all_messages(got)) == 1, (code, err, got)
        assert [r["action"] for r in recs] == ["deliver", "hold"], recs
        held_by(env, recs[1], fid, "-bs, second message")
        # With smtp_mode = "passthrough" the session would go around the freeze: refused.
        env.set_conf(b'smtp_mode = "passthrough";')
        c = smtp.Client(env)
        code, err, recs, got = c.finish(quit=False)
        assert code == 75 and b"a freeze may apply" in err and got == [], (code, err, got)
    finally:
        tool(env, "thaw", "--all")
        env.reset_conf()
        run.clear_limits(env)
