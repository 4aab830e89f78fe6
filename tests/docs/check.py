#!/usr/bin/env python3
"""docs/check.py: the documentation cannot drift from the programs.

- Every man page is `mandoc -T lint` clean (warnings and worse).
- Every link between README.md and docs/*.md leads to a file and a heading
  that are there.
- Every command shown in a code block of README.md and docs/*.md (a line that,
  after a `# ` prompt, starts with qwrap, qwrap-install or make) names a
  command and options the program has: qwrap's subcommand and each option
  appear in its usage text, qwrap-install's options in its --help, and each
  make target exists (make -n).

Prints one line per failure and "docs: N passed, M failed".
usage: python3 tests/docs/check.py [--build DIR]
"""
import argparse
import glob
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def code_lines(path):
    """(line number, text) of each line inside a ``` block of PATH."""
    inside = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("```"):
                inside = not inside
                continue
            if inside:
                yield n, line.rstrip("\n")


def commands_of(text):
    """The argv of each command on a line (a prompt and a comment cut; what follows a pipe
    or a redirection is not ours), or none."""
    text = re.sub(r"^\s*#\s+", "", text)
    text = re.split(r"\s#\s|\s#$", text)[0]
    out = []
    for part in re.split(r"\s*(?:;|&&)\s*", text):
        part = re.split(r"\s(?:\||>|2>)\s", part)[0]
        try:
            argv = shlex.split(part)
        except ValueError:
            continue
        if not argv or argv[0] not in ("qwrap", "qwrap-install", "make"):
            continue
        if len(argv) > 1 and argv[1].endswith(":"):
            continue     # output, not a command: "qwrap purge: moved ..."
        out.append(argv)
    return out


def anchor(heading):
    """The anchor GitHub makes of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"(?ms)^```.*?^```", "", f.read())
    return {anchor(h) for h in re.findall(r"^#{1,6} (.*)$", text, re.M)}


def broken_links(path):
    """Each link of PATH to a file that is not there, or to an anchor that is not in it."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"(?ms)^```.*?^```", "", f.read())
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        if not os.path.exists(dest):
            yield target
        elif frag and dest.endswith(".md") and frag not in anchors(dest):
            yield target


def usage_text(prog, *args):
    p = subprocess.run([prog] + list(args), capture_output=True, text=True)
    return p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    failures, passed = [], 0

    for page in sorted(glob.glob(os.path.join(ROOT, "man", "*.[0-9]"))):
        p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page], capture_output=True,
                           text=True)
        if p.returncode == 0 and not p.stdout.strip():
            passed += 1
        else:
            failures.append("%s: mandoc -T lint:\n%s" % (os.path.relpath(page, ROOT),
                                                         (p.stdout + p.stderr).strip()))

    qwrap_usage = usage_text(os.path.join(build, "qwrap"))
    install_usage = usage_text(os.path.join(build, "qwrap-install"), "--help")
    targets = {}
    docs = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for doc in docs:
        for n, line, argv in ((n, l, a) for n, l in code_lines(doc) for a in commands_of(l)):
            where = "%s:%d: %s" % (os.path.relpath(doc, ROOT), n, line.strip())
            bad = []
            if argv[0] == "make":
                for t in [a for a in argv[1:] if not a.startswith("-") and "=" not in a]:
                    if t not in targets:
                        targets[t] = subprocess.run(["make", "-n", "-C", ROOT, t],
                                                    capture_output=True).returncode == 0
                    if not targets[t]:
                        bad.append("no make target " + t)
            else:
                text = qwrap_usage if argv[0] == "qwrap" else install_usage
                if argv[0] == "qwrap" and len(argv) > 1 and \
                        not re.search(r"qwrap %s\b" % re.escape(argv[1]), text):
                    bad.append("no qwrap %s" % argv[1])
                for a in argv[1:]:
                    opt = a.split("=")[0]
                    if re.fullmatch(r"--?[a-zA-Z][\w-]*", opt) and \
                            not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text):
                        bad.append("no option " + opt)
            if bad:
                failures.append("%s: %s" % (where, ", ".join(bad)))
            else:
                passed += 1
    for doc in docs:
        bad = list(broken_links(doc))
        if bad:
            failures.append("%s: broken links: %s" % (os.path.relpath(doc, ROOT), ", ".join(bad)))
        else:
            passed += 1
    for f in failures:
        print("FAIL " + f)
    print("docs: %d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
