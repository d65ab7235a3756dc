#!/usr/bin/env python3
"""install_cli: -V, --version and --help of kivo-worker and kivo-api, in one style.

Both programs: `-V` and `--version` print the same single line "PROG VERSION (engine ENGINE...)"
on stdout and exit 0; `-h` and `--help` print the same text ("Usage: PROG COMMAND [OPTIONS]",
Commands:, Options: with -h/--help and -V/--version, Exit codes:) and exit 0; no command prints
that text on stderr and exits 2. Each command's --help starts "Usage: PROG COMMAND".
Usage: test_cli.py KIVO_WORKER KIVO_API VERSION
"""
import re
import subprocess
import sys

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what)


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def help_commands(prog):
    """The commands the top-level --help lists under "Commands:"."""
    out = subprocess.run([prog, "--help"], capture_output=True, text=True).stdout
    section = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0] if "\nCommands:\n" in out else ""
    return re.findall(r"^  ([a-z][a-z-]*)\s", section, re.M)


def program(path, name, version, want):
    commands = help_commands(path)
    check(set(want) <= set(commands), "%s --help lists the commands %s: %s" % (name, want, commands))
    outs = [run(path, flag) for flag in ("-V", "--version")]
    for (rc, out, err), flag in zip(outs, ("-V", "--version")):
        check(rc == 0 and err == "", "%s %s exits 0 quietly (rc %d, %r)" % (name, flag, rc, err))
        check(re.fullmatch(r"%s %s \(engine kivo-engine\.\d+(, [^()]+)?\)\n" %
                           (re.escape(name), re.escape(version)), out),
              "%s %s prints 'PROG VERSION (engine ...)': %r" % (name, flag, out))
    check(outs[0][1] == outs[1][1], "%s -V and --version agree" % name)

    helps = [run(path, flag) for flag in ("-h", "--help")]
    rc, text, err = helps[1]
    check(rc == 0 and err == "" and helps[0] == helps[1], "%s -h and --help agree, exit 0" % name)
    lines = text.splitlines()
    long_lines = [l for l in lines if len(l) > 100]
    check(not long_lines, "%s --help lines fit 100 columns: %r" % (name, long_lines[:2]))
    check(lines and lines[0] == "Usage: %s COMMAND [OPTIONS]" % name, "%s --help first line: %r"
          % (name, lines[:1]))
    for heading in ("Commands:", "Options:"):
        check(heading in lines, "%s --help has a %r section" % (name, heading))
    check(any(l.startswith("Exit codes:") for l in lines), "%s --help lists exit codes" % name)
    for opt in ("  -h, --help ", "  -V, --version "):
        check(any(l.startswith(opt) for l in lines), "%s --help lists %r" % (name, opt.strip()))
    for cmd in commands:
        rc, out, err = run(path, cmd, "--help")
        check(rc == 0 and out.startswith("Usage: %s %s" % (name, cmd)),
              "%s %s --help starts 'Usage: %s %s' (rc %d): %r" % (name, cmd, name, cmd, rc,
                                                                  out[:60]))

    rc, out, err = run(path)
    check(rc == 2 and out == "" and err == helps[1][1],
          "%s without a command prints the usage on stderr, exit 2 (rc %d)" % (name, rc))


def main():
    worker, api, version = sys.argv[1:4]
    program(worker, "kivo-worker", version, ["batch", "run", "submit"])
    program(api, "kivo-api", version, ["serve", "keys"])
    if FAILS:
        return 1
    print("install_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
