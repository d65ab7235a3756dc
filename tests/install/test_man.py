#!/usr/bin/env python3
"""install_man: the man pages built from docs/man/*.md.

Each page renders through man(1) without a single groff or man warning (what lintian checks),
has the sections a man page needs, a NAME line whatis/lexgrog can read, and the version in its
footer. kivo-worker(1) and kivo-api(1) name every option each command's --help lists, and every
KIVO_API_* variable; kivo-job-spec(5) names every key the worker's job spec loader accepts.
Usage: test_man.py MAN_BUILD_DIR SOURCE_DIR KIVO_WORKER KIVO_API VERSION
"""
import os
import re
import subprocess
import sys

FAILS = []
ENV = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="100", MANROFFSEQ="", MANROFFOPT="-rHY=0")


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what)


def help_text(prog, *cmd):
    return subprocess.run([prog, *cmd, "--help"], capture_output=True, text=True).stdout


def options(text):
    """Every -x / --xyz in the option column of a --help text."""
    opts = set()
    for line in text.splitlines():
        if re.match(r"\s+-", line):
            head = re.split(r"(?<=\S)\s{2,}", line.strip(), maxsplit=1)[0]
            opts |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", head))
    return opts


def help_commands(prog):
    """The commands the top-level --help lists under "Commands:"."""
    out = subprocess.run([prog, "--help"], capture_output=True, text=True).stdout
    section = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0] if "\nCommands:\n" in out else ""
    return re.findall(r"^  ([a-z][a-z-]*)\s", section, re.M)


def names(text, wanted, page):
    for w in sorted(wanted):
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(w), text), "%s does not name %s"
              % (page, w))


def render(path):
    warn = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path],
                          env=ENV, capture_output=True, text=True)
    check(warn.returncode == 0 and warn.stderr == "",
          "%s renders without warnings: %s" % (path, warn.stderr.strip()))
    out = subprocess.run(["man", "-l", path], env=ENV, capture_output=True, text=True)
    check(out.returncode == 0, "man -l %s" % path)
    return re.sub(r".\x08", "", out.stdout)


def main():
    man_dir, src, worker, api, version = sys.argv[1:6]
    pages = {}
    for page in ("kivo-worker.1", "kivo-api.1", "kivo-job-spec.5"):
        path = os.path.join(man_dir, page)
        check(os.path.exists(path + ".gz"), "%s.gz is built" % page)
        text = pages[page] = render(path)
        name = page.rsplit(".", 1)[0]
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
            check(re.search(r"^%s$" % section, text, re.M), "%s has a %s section" % (page, section))
        check("Kivo %s" % version in text, "%s footer names Kivo %s" % (page, version))
        whatis = subprocess.run(["lexgrog", path], capture_output=True, text=True)
        check(whatis.returncode == 0 and ('"%s - ' % name) in whatis.stdout,
              "lexgrog reads the NAME of %s: %s" % (page, whatis.stdout.strip()))

    for prog, page in ((worker, "kivo-worker.1"), (api, "kivo-api.1")):
        commands = help_commands(prog)
        check(len(commands) >= 2, "%s --help lists its commands: %s" % (prog, commands))
        for cmd in commands:
            check(re.search(r"^   %s$" % cmd, pages[page], re.M),
                  "%s has a subsection for the command %s" % (page, cmd))
    for cmd in [""] + help_commands(worker):
        text = help_text(worker, *([cmd] if cmd else []))
        names(pages["kivo-worker.1"], options(text) | set(re.findall(r"KIVO_[A-Z_]+", text)),
              "kivo-worker(1)")
    for cmd in [""] + help_commands(api):
        text = help_text(api, *([cmd] if cmd else []))
        names(pages["kivo-api.1"], options(text) | set(re.findall(r"KIVO_API_[A-Z_]+", text)),
              "kivo-api(1)")
    names(pages["kivo-api.1"], {"create", "list", "revoke", "review_runs:write",
                                "review_runs:read", "private_worker:write",
                                "private_worker:read"}, "kivo-api(1)")

    # The keys the loader accepts: its key tables in src/worker/jobspec.c.
    spec_src = open(os.path.join(src, "src/worker/jobspec.c")).read()
    keys = set()
    for table in ("top_keys", "store_keys", "limit_keys", "field_names", "fkeys"):
        m = re.search(r"\b%s\[[^]]*\]\s*=\s*\{(.*?)\};" % table, spec_src, re.S)
        check(m is not None, "jobspec.c has its %s table" % table)
        if m:
            keys |= set(re.findall(r'"([a-z_]+)"', m.group(1)))
    check(len(keys) >= 15, "found the job spec's keys: %s" % sorted(keys))
    names(pages["kivo-job-spec.5"], keys, "kivo-job-spec(5)")
    names(pages["kivo-job-spec.5"], {"kivo_worker_job_spec.v1", "customer_facing", "internal",
                                     "evaluation", "strict", "standard", "lenient"},
          "kivo-job-spec(5)")
    if FAILS:
        return 1
    print("install_man: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
