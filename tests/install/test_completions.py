#!/usr/bin/env python3
"""install_completions: the bash and zsh completions of kivo-worker and kivo-api.

Both files of each program parse (`bash -n`, `zsh -n`). The bash completion is run for real: it
offers the commands, every option each command's --help lists (and only options the program
accepts), and the values of the options that take a fixed set. Every option of every --help is
also named in the zsh completion.
Usage: test_completions.py COMPLETIONS_DIR KIVO_WORKER KIVO_API
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what)


def help_options(prog, *cmd):
    """Every -x / --xyz named in the option column of `prog cmd --help`."""
    out = subprocess.run([prog, *cmd, "--help"], capture_output=True, text=True).stdout
    opts = set()
    for line in out.splitlines():
        if re.match(r"\s+-", line):
            head = re.split(r"(?<=\S)\s{2,}", line.strip(), maxsplit=1)[0]
            opts |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", head))
    return opts


def help_commands(prog):
    """The commands the top-level --help lists under "Commands:"."""
    out = subprocess.run([prog, "--help"], capture_output=True, text=True).stdout
    section = out.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0] if "\nCommands:\n" in out else ""
    return re.findall(r"^  ([a-z][a-z-]*)\s", section, re.M)


def bash_complete(script, func, line, cwd):
    """COMPREPLY of func for the command line `line` (completing its last word)."""
    words = line.split(" ")
    code = ('source "$1" || exit 1; COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; shift 2; '
            'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); %s; '
            'printf "%%s\\n" "${COMPREPLY[@]}"' % func)
    out = subprocess.run(["bash", "-c", code, "bash", script, line] + words, cwd=cwd,
                         capture_output=True, text=True, check=True).stdout
    return set(w for w in out.splitlines() if w)


def accepted(prog, cmd, opt, cwd):
    """Whether prog knows opt. It is given a value ("--opt=x", "-o x") so that the --help after it
    stays an option: the program then prints its help, or refuses the value or a switch's "=x",
    and never starts any work."""
    argv = [opt + "=x"] if opt.startswith("--") else [opt, "x"]
    p = subprocess.run([prog, *cmd, *argv, "--help"], capture_output=True, text=True, cwd=cwd,
                       timeout=20)
    return not re.search(r"unrecognized option|unknown option|invalid option", p.stderr)


def program(name, prog, comp_dir, actions, tmp):
    bash_file = os.path.join(comp_dir, name + ".bash")
    zsh_file = os.path.join(comp_dir, "_" + name)
    func = "_" + name.replace("-", "_")
    check(subprocess.run(["bash", "-n", bash_file]).returncode == 0, "bash -n " + bash_file)
    zsh = shutil.which("zsh")
    check(zsh is not None, "zsh is installed (scripts/install-deps.sh)")
    if zsh:
        check(subprocess.run([zsh, "-n", zsh_file]).returncode == 0, "zsh -n " + zsh_file)
    zsh_text = open(zsh_file).read()

    commands = help_commands(prog)
    check(len(commands) >= 2, "%s --help lists its commands: %s" % (name, commands))
    top = bash_complete(bash_file, func, name + " ", tmp)
    want = set(commands) | {"-h", "--help", "-V", "--version"}
    check(top == want, "%s: commands offered %s, want %s" % (name, sorted(top), sorted(want)))
    for cmd in commands:
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(cmd), zsh_text),
              "zsh: _%s does not name the command %s" % (name, cmd))
        argv = cmd.split()
        in_help = help_options(prog, *argv)
        check(len(in_help) >= 2, "%s %s --help lists options: %s" % (name, cmd, in_help))
        # A command with actions (keys create|list|revoke) has one --help for all of them.
        offered = set()
        for action in actions.get(cmd, [""]):
            line = " ".join(w for w in (name, cmd, action, "-") if w)
            got = bash_complete(bash_file, func, line, tmp)
            check(len(got) >= 2, "bash: %r offers options: %s" % (line, sorted(got)))
            for opt in sorted(got):
                check(accepted(prog, argv + ([action] if action else []), opt, tmp),
                      "bash: %r offers %s, which the program rejects" % (line, opt))
            offered |= got
        missing = sorted(in_help - offered)
        check(not missing, "bash: %s %s does not offer %s" % (name, cmd, missing))
        for opt in sorted(in_help):
            check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), zsh_text),
                  "zsh: _%s does not name %s (%s)" % (name, opt, cmd))


def main():
    comp_dir, worker, api = (os.path.abspath(a) for a in sys.argv[1:4])
    tmp = tempfile.mkdtemp(prefix="kivo-comp-")
    try:
        open(os.path.join(tmp, "job-spec.json"), "w").close()
        os.mkdir(os.path.join(tmp, "reports"))
        program("kivo-worker", worker, comp_dir, {}, tmp)
        program("kivo-api", api, comp_dir, {"keys": ["create", "list", "revoke"]}, tmp)
        wb, ab = os.path.join(comp_dir, "kivo-worker.bash"), os.path.join(comp_dir, "kivo-api.bash")
        for script, func, line, want in [
                (wb, "_kivo_worker", "kivo-worker batch --html ", {"flagged", "all", "none"}),
                (wb, "_kivo_worker", "kivo-worker batch --html=f", {"flagged"}),
                (wb, "_kivo_worker", "kivo-worker batch -f job", {"job-spec.json"}),
                (wb, "_kivo_worker", "kivo-worker batch --out rep", {"reports"}),
                (wb, "_kivo_worker", "kivo-worker run --job-token ", {"local"}),
                (wb, "_kivo_worker", "kivo-worker b", {"batch"}),
                (ab, "_kivo_api", "kivo-api serve --sync ", {"normal", "full"}),
                (ab, "_kivo_api", "kivo-api keys ", {"create", "list", "revoke", "--help"}),
                (ab, "_kivo_api", "kivo-api keys create --scopes private_worker:w",
                 {"write"}),
                (ab, "_kivo_api", "kivo-api keys create --scopes review_runs:read,pr",
                 {"read,private_worker:write", "read,private_worker:read"})]:
            got = bash_complete(script, func, line, tmp)
            check(got == want, "bash: %r completes to %s, want %s" % (line, sorted(got),
                                                                     sorted(want)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        return 1
    print("install_completions: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
