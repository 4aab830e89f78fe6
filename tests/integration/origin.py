"""Where a message came from (issue 20): the record's origin, from real daemons started
here as root (cron, atd, sshd on 127.0.0.1 with keys made here), a terminal made by
script(1), and a daemon with no server above it.  Web requests are checked in sapi.py
(php-fpm, mod_php).  The site's job is a shell script the site user runs; each record
must name it (shell-fd) and say where it came from, and by what.

Detached processes (setsid -f) have pid 1, or the nearest subreaper, as their parent,
so what they find does not depend on how the test suite itself was started (over ssh,
on a terminal, from cron)."""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import __main__ as run  # run.py's helpers
import sapi

TESTS = []


def origin_test(fn):
    TESTS.append(fn)
    return fn


JOB = (b"#!/bin/sh\n"
       b"printf 'To: ops@example.com\\nSubject: origin\\n\\nok\\n' | %s -t\n"
       b"echo sent\n")


def site_with_job(env):
    """The site, with JOB at SITE/bin/job.sh, and the real qmail behind the wrapper."""
    if not env.is_root:
        raise run.Skip("needs root (the set-gid install, daemons run as root)")
    site = sapi.Site(env, {"job": ("bin/job.sh", JOB % env.wrapper.encode())})
    env.conf_sendmail(env.qmail.sendmail)
    return site, site.path["job"]


def wait_record(env, start, what, timeout):
    """The one record written after log offset START, waiting up to TIMEOUT s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs = env.records_since(start)
        if recs:
            time.sleep(0.2)  # a second one would be a fault too
            return run.one(env.records_since(start), what)
        time.sleep(0.2)
    raise AssertionError("%s: no record within %ds" % (what, timeout))


def check_origin(r, what, origin, origin_from, info=None, info_from=None):
    got = (r.get("origin"), r.get("origin_from"), r.get("origin_info"),
           r.get("origin_info_from"))
    want = (origin, origin_from, info, info_from)
    assert got == want, "%s: got origin, from, info, info_from %r, want %r" % (what, got, want)


def detached(env, argv, environ, cwd="/"):
    """ARGV as the site user, in a session of its own, its parent gone: pid 1's child."""
    subprocess.run(["setsid", "-f"] + sapi.site_argv(argv, environ), cwd=cwd, check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def daemon_is_running(name):
    """Root's NAME runs.  Only root's: the site user's own "cron" of the test before
    may still be exiting, and it runs no crontab."""
    return subprocess.run(["pgrep", "-x", "-u", "root", name],
                          capture_output=True).returncode == 0


PLAIN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/", "SHELL": "/bin/sh", "LOGNAME": run.USER}


@origin_test
def origin__terminal_and_daemon__console_by_tty_else_unknown_or_unit(env):
    site, job = site_with_job(env)
    # On a terminal script(1) makes: console, by the session's terminal.
    start = env.log_size()
    detached(env, ["script", "-qec", "sh " + job, "/dev/null"], PLAIN_ENV)
    r = wait_record(env, start, "on a terminal", 30)
    sapi.check_record(env, r, job, "shell-fd", "/", "on a terminal")
    check_origin(r, "on a terminal", "console", "tty")
    # A daemon: no terminal, no server above it.
    start = env.log_size()
    detached(env, ["sh", job], PLAIN_ENV)
    r = wait_record(env, start, "daemon", 30)
    sapi.check_record(env, r, job, "shell-fd", "/", "daemon")
    unit = sapi.pid1_systemd_unit()
    if unit:
        check_origin(r, "daemon", "systemd", "cgroup", "unit=" + unit, "cgroup")
    else:
        check_origin(r, "daemon", "unknown", "none")
    # The caller's own processes can call themselves anything: a claim, and said so.
    fake = os.path.join(site.root, "bin", "cron")
    shutil.copy("/bin/dash", fake)
    os.chown(fake, env.uid, env.gid)
    start = env.log_size()
    detached(env, [fake, "-c", "sh %s; true" % job], PLAIN_ENV)
    r = wait_record(env, start, "fake cron", 30)
    check_origin(r, "fake cron", "cron", "own-ancestor")
    return "console (tty), %s, own-ancestor" % ("systemd" if unit else "unknown")


@origin_test
def origin__real_cron_and_atd__cron_and_at_by_their_root_process(env):
    if env.san:
        return "skipped: cron and atd run jobs on the minute; once, without sanitizers, is enough"
    site, job = site_with_job(env)
    env.conf_sendmail(env.qmail.sendmail)
    started = []
    crontab = "/etc/cron.d/qwrap-test-%d" % os.getpid()
    try:
        # cron: a line in /etc/cron.d for the site user, run by the next minute.
        with open(crontab, "w") as f:
            f.write('MAILTO=""\nHOME=/\n* * * * * %s /bin/sh %s >/dev/null 2>&1\n' % (run.USER, job))
        os.chmod(crontab, 0o644)
        start = env.log_size()
        if not daemon_is_running("cron"):
            started.append(subprocess.Popen(["/usr/sbin/cron", "-f"],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            r = wait_record(env, start, "cron job", 75)
        except AssertionError as e:
            ps = subprocess.run(["ps", "-eo", "pid,ppid,user,comm,args"], capture_output=True,
                                text=True).stdout
            raise AssertionError("%s (cron started here: %s); cron processes: %s" % (
                e, bool(started), [l for l in ps.splitlines() if "cron" in l]))
        os.unlink(crontab)
        sapi.check_record(env, r, job, "shell-fd", r["cwd"], "cron job")
        check_origin(r, "cron job", "cron", "ancestor")
        assert r["parents"][-1]["argv"][:2] == ["/bin/sh", "-c"], r["parents"]

        # at: a job the site user queues, run by atd at once.
        if not daemon_is_running("atd"):
            started.append(subprocess.Popen(["/usr/sbin/atd", "-f"]))
            time.sleep(0.5)
        start = env.log_size()
        p = subprocess.run(sapi.site_argv(["at", "now"], PLAIN_ENV), cwd="/",
                           input=("sh %s >/dev/null 2>&1\n" % job).encode(),
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        r = wait_record(env, start, "at job", 75)
        sapi.check_record(env, r, job, "shell-fd", r["cwd"], "at job")
        check_origin(r, "at job", "at", "ancestor")
    finally:
        if os.path.exists(crontab):
            os.unlink(crontab)
        for d in started:
            d.terminate()
            d.wait()
    return "cron (started here: %s), at" % ("yes" if started else "no")


@origin_test
def origin__ssh_login__ssh_with_the_clients_address(env):
    site, job = site_with_job(env)
    d = tempfile.mkdtemp(prefix="qwrap-sshd-")
    port = sapi.free_port()
    shell = pwd.getpwnam(run.USER).pw_shell
    sshd = None
    try:
        for key in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            os.path.join(d, key)], check=True)
        os.makedirs(os.path.join(d, "keys"))
        shutil.copy(os.path.join(d, "client.pub"), os.path.join(d, "keys", run.USER))
        os.chmod(os.path.join(d, "keys", run.USER), 0o644)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "sshd_config"), "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host\nPidFile %s/pid\n"
                    "AuthorizedKeysFile %s/keys/%%u\nStrictModes no\nUsePAM yes\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "AllowUsers %s\n" % (port, d, d, d, run.USER))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        # The site user logs in with a shell for this test only (the suite's has none).
        subprocess.run(["usermod", "-s", "/bin/sh", run.USER], check=True)
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                 os.path.join(d, "sshd_config")],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "w"))
        deadline = time.time() + 15
        while not sapi.can_connect(("127.0.0.1", port)):
            assert time.time() < deadline and sshd.poll() is None, open(
                os.path.join(d, "log")).read()
            time.sleep(0.1)

        def login(command):
            start = env.log_size()
            p = subprocess.run(["ssh", "-i", os.path.join(d, "client"), "-p", str(port),
                                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                                run.USER + "@127.0.0.1", command],
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            assert p.returncode == 0 and p.stdout.strip().endswith(b"sent"), (
                p.returncode, p.stdout, p.stderr, open(os.path.join(d, "log")).read())
            return wait_record(env, start, command, 10)

        # The address from the caller's own SSH_CONNECTION, which the login set.
        r = login("sh " + job)
        sapi.check_record(env, r, job, "shell-fd", r["cwd"], "ssh")
        check_origin(r, "ssh", "ssh", "ancestor", "addr=127.0.0.1", "env")
        # Without it in the caller's environment: from the login shell's, an ancestor.
        r = login("env -u SSH_CONNECTION sh " + job)
        check_origin(r, "ssh, env cleared", "ssh", "ancestor", "addr=127.0.0.1", "ancestor-env")
    finally:
        if sshd is not None:
            sshd.terminate()
            sshd.wait()
        subprocess.run(["usermod", "-s", shell, run.USER], check=True)
        shutil.rmtree(d, ignore_errors=True)
    return "sshd on 127.0.0.1:%d" % port
