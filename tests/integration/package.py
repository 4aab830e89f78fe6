"""The packages (issue 22), on this machine, as root: the .deb built with dpkg-buildpackage
from a copy of the tree, checked by lintian, installed with dpkg -i (every path's owner and
mode, the set-gid bit through dpkg-statoverride, capture off), enabled in front of a qmail
model (/var/qmail/bin/sendmail: the stand-in), upgraded while enabled to a rebuilt package
of a higher version (capture still works, through the new binary), removed while enabled
(the original back, byte for byte), purged (the config and state gone, the log kept unless
QWRAP_PURGE_LOG=yes, held mail kept).  The RPM built with rpmbuild, its file list, modes
and scriptlets read with rpm -qp --scripts --dump, and its %preun run here against the
installed package.  Not under SAN: the packages build their own binaries."""
import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile

import __main__ as run  # run.py's helpers

TESTS = []
REPO = run.REPO


def package_test(fn):
    TESTS.append(fn)
    return fn


def sh(cmd, ok=True, **kw):
    p = subprocess.run(cmd, capture_output=True, **kw)
    if ok:
        assert p.returncode == 0, (cmd, p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def source_copy(dest):
    """The tree as `make deb` copies it: without the build directories and .git."""
    os.makedirs(dest)
    tar = subprocess.Popen(["tar", "--exclude=./build", "--exclude=./build-*", "--exclude=./.git",
                            "-C", REPO, "-cf", "-", "."], stdout=subprocess.PIPE)
    sh(["tar", "-C", dest, "-xf", "-"], stdin=tar.stdout)
    assert tar.wait() == 0


def build_deb(top, version=None):
    """Builds the .deb in TOP/qwrap (VERSION: a changelog entry put first); its path."""
    src = os.path.join(top, "qwrap")
    source_copy(src)
    if version:
        log = os.path.join(src, "debian", "changelog")
        with open(log) as f:
            old = f.read()
        with open(log, "w") as f:
            f.write("qwrap (%s) unstable; urgency=medium\n\n  * A rebuild for the upgrade "
                    "test.\n\n -- qwrap developers <qwrap@qwrap.invalid>  Mon, 07 Dec 2026 "
                    "04:00:00 +0000\n\n%s" % (version, old))
    sh(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src)
    debs = [f for f in os.listdir(top) if re.match(r"qwrap_.*_[a-z0-9]+\.deb$", f)]
    assert len(debs) == 1, os.listdir(top)
    return os.path.join(top, debs[0])


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mode_of(path):
    st = os.lstat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            oct(stat.S_IMODE(st.st_mode)))


def installed(name="qwrap"):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
    return p.returncode == 0 and "installed" in p.stdout and "not-installed" not in p.stdout


def send(env, recdir):
    """One message from the unprivileged user through /var/qmail/bin/sendmail."""
    p = subprocess.run(["setpriv", "--reuid=" + run.USER, "--regid=" + run.USER, "--init-groups",
                        "/var/qmail/bin/sendmail", "-t", "-i"],
                       input=b"To: a@example.org\nSubject: package\n\nbody\n",
                       env={"PATH": "/usr/bin:/bin", "STANDIN_DIR": recdir},
                       capture_output=True, cwd="/tmp")
    assert p.returncode == 0, p
    return run.standin_records(recdir)


def log_records(path="/var/log/qwrap/capture.log"):
    with open(path, "rb") as f:
        return [l for l in f.read().splitlines() if l]


@package_test
def package__deb__install_enable_upgrade_while_on_remove_reverts_purge_keeps_the_log(env):
    if not env.is_root:
        return "skipped: needs root (dpkg -i)"
    if env.san:
        return "skipped under SAN: the package builds its own binaries"
    for path in ("/var/qmail", "/usr/sbin/qwrap-sendmail", "/etc/qwrap", "/var/log/qwrap"):
        if os.path.lexists(path):
            return "skipped: %s exists on this machine: the test installs the package there" % path
    if installed():
        return "skipped: a qwrap package is installed here"
    top = tempfile.mkdtemp(prefix="qwrap-pkg.")
    made_qmail = False
    try:
        deb1 = build_deb(os.path.join(top, "v1"))
        deb2 = build_deb(os.path.join(top, "v2"), version="1.0.1")
        # lintian: no errors; the warnings are the README's (Packages).
        p = sh(["lintian", "--no-tag-display-limit", deb1], ok=False)
        tags = sorted(set(re.findall(r"^([EW]): qwrap[^:]*: (\S+)", p.stdout.decode(), re.M)))
        assert [t for t in tags if t[0] == "E"] == [], p.stdout
        assert tags == [("W", "shared-library-lacks-prerequisites")], tags

        # The qmail model: qmail's sendmail is the stand-in.
        os.makedirs("/var/qmail/bin")
        made_qmail = True
        shutil.copy(env.real, "/var/qmail/bin/sendmail")
        os.chmod("/var/qmail/bin/sendmail", 0o755)
        original = sha256("/var/qmail/bin/sendmail")
        ino = os.stat("/var/qmail/bin/sendmail").st_ino

        sh(["dpkg", "-i", deb1])
        want = {
            "/usr/sbin/qwrap-sendmail": ("root", "qwrap", "0o2755"),
            "/usr/sbin/qwrap": ("root", "root", "0o755"),
            "/usr/sbin/qwrap-install": ("root", "root", "0o755"),
            "/etc/qwrap": ("root", "root", "0o755"),
            "/etc/qwrap/qwrap.conf": ("root", "root", "0o644"),
            "/etc/logrotate.d/qwrap": ("root", "root", "0o644"),
            "/var/log/qwrap": ("root", "root", "0o755"),
            "/var/log/qwrap/capture.log": ("root", "qwrap", "0o620"),
            "/var/lib/qwrap": ("root", "qwrap", "0o770"),
            "/var/spool/qwrap": ("root", "qwrap", "0o770"),
            "/usr/share/man/man8/qwrap.8.gz": ("root", "root", "0o644"),
            "/usr/share/man/man8/qwrap-sendmail.8.gz": ("root", "root", "0o644"),
            "/usr/share/man/man8/qwrap-install.8.gz": ("root", "root", "0o644"),
            "/usr/share/man/man5/qwrap.conf.5.gz": ("root", "root", "0o644"),
        }
        for path, w in want.items():
            assert mode_of(path) == w, (path, mode_of(path), w)
        overrides = sh(["dpkg-statoverride", "--list"]).stdout.decode()
        for line in ("root qwrap 2755 /usr/sbin/qwrap-sendmail", "root qwrap 770 /var/lib/qwrap",
                     "root qwrap 770 /var/spool/qwrap"):
            assert line in overrides, (line, overrides)
        with open("/var/lib/dpkg/info/qwrap.conffiles") as f:
            assert f.read().split() == ["/etc/logrotate.d/qwrap", "/etc/qwrap/qwrap.conf"]
        # Installing never enables capture.
        assert not os.path.islink("/var/qmail/bin/sendmail")
        assert b"capture:  off" in sh(["qwrap-install", "--status"]).stdout

        # Enabled in front of the model: a user's message is captured.
        sh(["qwrap-install", "--enable"])
        assert os.readlink("/var/qmail/bin/sendmail") == "/usr/sbin/qwrap-sendmail"
        recdir = env.new_recdir()
        got = send(env, recdir)
        assert len(got) == 1 and got[0]["stdin"].endswith(b"Subject: package\n\nbody\n"), got
        assert got[0]["stdin"].startswith(b"X-"), got
        assert len(log_records()) == 1

        # Upgrade while on: the link keeps its name, the new binary is behind it, set-gid.
        # (The builds are reproducible: the new file has the old bytes, under a new inode.)
        old = os.stat("/usr/sbin/qwrap-sendmail").st_ino
        p = sh(["dpkg", "-i", deb2])
        assert b"reverting" not in p.stdout + p.stderr, p.stdout
        assert os.readlink("/var/qmail/bin/sendmail") == "/usr/sbin/qwrap-sendmail"
        x = os.path.join(top, "x2")
        sh(["dpkg-deb", "-x", deb2, x])
        assert sha256("/usr/sbin/qwrap-sendmail") == \
            sha256(os.path.join(x, "usr/sbin/qwrap-sendmail"))
        assert os.stat("/usr/sbin/qwrap-sendmail").st_ino != old
        assert mode_of("/usr/sbin/qwrap-sendmail") == ("root", "qwrap", "0o2755")
        assert b"capture:  on" in sh(["qwrap-install", "--status"]).stdout
        got = send(env, env.new_recdir())
        assert len(got) == 1 and len(log_records()) == 2, got
        assert "1.0.1" in sh(["dpkg-query", "-W", "-f=${Version}", "qwrap"]).stdout.decode()

        # Remove while on: reverted first; the original is back, the same file.
        p = sh(["dpkg", "-r", "qwrap"])
        assert b"reverting before the removal" in p.stdout, p.stdout
        assert not os.path.islink("/var/qmail/bin/sendmail")
        assert os.stat("/var/qmail/bin/sendmail").st_ino == ino
        assert sha256("/var/qmail/bin/sendmail") == original
        assert not os.path.exists("/usr/sbin/qwrap-sendmail")
        assert os.path.exists("/etc/qwrap/qwrap.conf"), "remove took a conffile"

        # Purge: config and state gone, the log kept and said so.
        p = sh(["dpkg", "-P", "qwrap"])
        assert b"kept the capture log" in p.stdout, p.stdout
        for gone in ("/etc/qwrap", "/var/lib/qwrap", "/var/spool/qwrap"):
            assert not os.path.exists(gone), gone
        assert len(log_records()) == 2
        assert "/usr/sbin/qwrap-sendmail" not in sh(["dpkg-statoverride", "--list"]).stdout.decode()

        # Held mail is kept by a purge; the log goes when asked.
        sh(["dpkg", "-i", deb2])
        held = "/var/spool/qwrap/1000/held.eml"
        os.makedirs(os.path.dirname(held))
        with open(held, "w") as f:
            f.write("a held message\n")
        p = sh(["dpkg", "-P", "qwrap"], env=dict(os.environ, QWRAP_PURGE_LOG="yes"))
        assert b"kept /var/spool/qwrap" in p.stdout, p.stdout
        assert os.path.exists(held) and not os.path.exists("/var/log/qwrap"), p.stdout
        return "built twice (1.0.0, 1.0.1), lintian 1 warning, installed, upgraded while on, " \
               "removed and purged twice"
    finally:
        if installed():
            sh(["dpkg", "-P", "qwrap"], ok=False)
        for p in ("/usr/sbin/qwrap-sendmail", "/var/lib/qwrap", "/var/spool/qwrap"):
            sh(["dpkg-statoverride", "--remove", p], ok=False)
        if made_qmail:
            shutil.rmtree("/var/qmail", ignore_errors=True)
        sh(["chattr", "-a", "/var/log/qwrap/capture.log"], ok=False)
        for d in ("/var/log/qwrap", "/var/spool/qwrap", "/var/lib/qwrap", "/etc/qwrap"):
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)


@package_test
def package__rpm__file_list_modes_and_scriptlets(env):
    if env.san:
        return "skipped under SAN: the package builds its own binaries"
    top = tempfile.mkdtemp(prefix="qwrap-rpm.")
    try:
        src = os.path.join(top, "src", "qwrap-1.0.0")
        source_copy(src)
        os.makedirs(os.path.join(top, "SOURCES"))
        sh(["tar", "-C", os.path.join(top, "src"), "-czf",
            os.path.join(top, "SOURCES", "qwrap-1.0.0.tar.gz"), "qwrap-1.0.0"])
        sh(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + top,
            os.path.join(REPO, "qwrap.spec")])
        rpm = os.path.join(top, "RPMS", "x86_64", "qwrap-1.0.0-1.x86_64.rpm")
        out = sh(["rpm", "-qp", "--scripts", "--dump", rpm]).stdout.decode()
        files = {}
        for line in out.splitlines():
            f = line.split(" ")
            if len(f) == 11 and f[0].startswith("/"):
                # path size mtime digest mode owner group isconfig isdoc rdev symlink
                files[f[0]] = (f[4], f[5], f[6], f[7])
        want = {
            "/usr/sbin/qwrap-sendmail": ("0102755", "root", "qwrap", "0"),
            "/usr/sbin/qwrap": ("0100755", "root", "root", "0"),
            "/usr/sbin/qwrap-install": ("0100755", "root", "root", "0"),
            "/etc/qwrap": ("040755", "root", "root", "0"),
            "/etc/qwrap/qwrap.conf": ("0100644", "root", "root", "1"),
            "/etc/logrotate.d/qwrap": ("0100644", "root", "root", "1"),
            "/var/log/qwrap": ("040755", "root", "root", "0"),
            "/var/lib/qwrap": ("040770", "root", "qwrap", "0"),
            "/var/spool/qwrap": ("040770", "root", "qwrap", "0"),
            "/usr/share/man/man8/qwrap.8": ("0100644", "root", "root", "0"),
            "/usr/share/man/man5/qwrap.conf.5": ("0100644", "root", "root", "0"),
        }
        for path, w in want.items():
            assert files.get(path) == w, (path, files.get(path), w)
        # Never the capture log: an erase must not take it.
        assert not [p for p in files if "capture.log" in p], files
        assert re.search(r"preinstall scriptlet.*\n.*groupadd -r qwrap", out), out
        assert "postinstall scriptlet" in out and "chmod 0620" in out, out
        # %preun, run here against a stand-in qwrap-install: an upgrade ($1 = 1) never
        # reverts, an erase ($1 = 0) reverts when capture is on, and stops when it cannot.
        preun = re.search(r"preuninstall scriptlet \(using /bin/sh\):\n(.*?)(?=\n\S+ scriptlet|\Z)",
                          out, re.S).group(1)
        bindir = os.path.join(top, "bin")
        os.makedirs(bindir)
        calls = os.path.join(top, "calls")
        fake = os.path.join(bindir, "qwrap-install")
        for status, revert, arg, rc, want_calls in (
                ("capture:  on since x", 0, "1", 0, ""),
                ("capture:  on since x", 0, "0", 0, "--status --revert"),
                ("capture:  off", 0, "0", 0, "--status"),
                ("capture:  on since x", 65, "0", 1, "--status --revert")):
            with open(fake, "w") as f:
                f.write("#!/bin/sh\nprintf '%%s ' \"$1\" >> %s\n"
                        "[ \"$1\" = --status ] && echo '%s'\n"
                        "[ \"$1\" = --revert ] && exit %d\nexit 0\n" % (calls, status, revert))
            os.chmod(fake, 0o755)
            if os.path.exists(calls):
                os.unlink(calls)
            p = sh(["sh", "-c", preun.replace("/usr/sbin/qwrap-install", fake), "preun", arg],
                   ok=False)
            got = open(calls).read().strip() if os.path.exists(calls) else ""
            assert (p.returncode, got) == (rc, want_calls), (status, arg, p, got)
        return "%d paths, scriptlets as the .deb's" % len(files)
    finally:
        shutil.rmtree(top, ignore_errors=True)
