"""The real qmail for the tests: notqmail built from ../shared/vendor into a
private home by tests/notqmail.sh, and readers of the queue it writes.

qmail-send never runs here except in run_send, briefly, for a test that wants
a preprocessed queue: qmail-queue only writes mess/ and todo/ + intd/, and a
test finds the messages it queued by the todo entries that were not there
before it ran.
"""

import os
import re
import shutil
import signal
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RECEIVED = re.compile(rb"^Received: \(qmail (\d+) invoked (by uid (\d+)|from network|"
                      rb"for bounce|by alias)\); \d+ \w+ \d{4} \d\d:\d\d:\d\d -0000\n")


class Queued:
    """One message qmail-queue wrote: its envelope and its bytes."""

    def __init__(self, inode, envelope, data):
        self.inode = inode
        self.data = data
        self.uid = self.pid = None
        self.sender = None
        self.rcpt = []
        for field in envelope.split(b"\0")[:-1]:
            kind, value = field[:1], field[1:]
            if kind == b"u":
                self.uid = int(value)
            elif kind == b"p":
                self.pid = int(value)
            elif kind == b"F":
                self.sender = value
            elif kind == b"T":
                self.rcpt.append(value)
        m = RECEIVED.match(data)
        assert m, "no qmail-queue Received line: %r" % data[:200]
        self.received = m.group(0)
        self.received_uid = int(m.group(3)) if m.group(3) else None
        self.body = data[m.end():]  # the message as qmail-inject gave it to qmail-queue

    def __repr__(self):
        return "<queued %d uid=%s F=%r T=%r %d bytes>" % (
            self.inode, self.uid, self.sender, self.rcpt, len(self.data))


class Qmail:
    def __init__(self, home):
        self.home = home
        self.sendmail = os.path.join(home, "bin", "sendmail")
        self.queue = os.path.join(home, "queue")

    @classmethod
    def find(cls):
        """The home tests/notqmail.sh built (building it as root), or None and why."""
        p = subprocess.run(["sh", os.path.join(REPO, "tests", "notqmail.sh")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None, p.stderr.strip()
        return cls(p.stdout.strip()), None

    def mark(self):
        """The messages not yet preprocessed (their inodes, the names in todo/)."""
        return set(int(n) for n in os.listdir(os.path.join(self.queue, "todo")))

    def since(self, mark):
        """The messages queued since MARK (from mark()), in the order qmail-queue ran."""
        out = []
        for inode in self.mark() - mark:
            with open(os.path.join(self.queue, "todo", str(inode)), "rb") as f:
                envelope = f.read()
            with open(self.mess_path(inode), "rb") as f:
                data = f.read()
            out.append(Queued(inode, envelope, data))
        return sorted(out, key=lambda q: q.pid)

    def mess_path(self, inode):
        # conf-split, compiled in, is the number of mess/ subdirectories.
        split = len(os.listdir(os.path.join(self.queue, "mess")))
        return os.path.join(self.queue, "mess", str(inode % split), str(inode))

    def clear(self):
        """Empties the queue (qmail-send must not be running)."""
        for sub in ("mess", "info", "local", "remote"):
            for d in os.listdir(os.path.join(self.queue, sub)):
                dd = os.path.join(self.queue, sub, d)
                for n in os.listdir(dd):
                    os.unlink(os.path.join(dd, n))
        for sub in ("todo", "intd", "bounce", "pid"):
            dd = os.path.join(self.queue, sub)
            for n in os.listdir(dd):
                os.unlink(os.path.join(dd, n))

    def run_send(self, done, timeout=60):
        """Runs qmail-send (and qmail-lspawn, -rspawn, -clean under it, as qmail-start
        does) until DONE(its log so far) is true, then stops it with SIGTERM, as an
        admin would; returns the whole log.  Root only."""
        log_path = os.path.join(self.home, "qmail-send.log")
        with open(log_path, "wb") as log:
            # The last argument is the logger, run as qmaill: cat, to the log file.
            p = subprocess.Popen([os.path.join(self.home, "bin", "qmail-start"), "./Maildir/",
                                  "cat"], stdout=log, stderr=subprocess.STDOUT,
                                 env={"PATH": os.path.join(self.home, "bin") + ":/usr/bin:/bin"},
                                 start_new_session=True)
        try:
            deadline = time.time() + timeout
            while True:
                with open(log_path, "rb") as f:
                    text = f.read()
                if done(text):
                    break
                assert p.poll() is None, "qmail-send exited: %r" % text[-500:]
                assert time.time() < deadline, "qmail-send never got there: %r" % text[-1500:]
                time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        # The logger ends when qmail-send's end of its pipe closes.
        deadline = time.time() + 10
        while b"status: exiting" not in text and time.time() < deadline:
            time.sleep(0.05)
            with open(log_path, "rb") as f:
                text = f.read()
        os.unlink(log_path)
        return text

    def control(self, name, text):
        """Writes control/NAME (TEXT None: removes it)."""
        path = os.path.join(self.home, "control", name)
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
            return
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def assign(self, lines):
        """users/assign as LINES (the qmail-users(5) map), compiled by qmail-newu."""
        with open(os.path.join(self.home, "users", "assign"), "w") as f:
            f.write("".join(l + "\n" for l in lines) + ".\n")
        subprocess.run([os.path.join(self.home, "bin", "qmail-newu")], check=True)
