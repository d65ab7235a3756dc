#!/usr/bin/env python3
"""kivo-worker run from cron, CI and schedulers (issue 18): options from KIVO_* variables,
progress without a terminal, -q/-v, --metrics-file, and the error messages.

    worker_ops.py --worker build/kivo-worker --root . CASE
"""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import TempDir, case_main, check  # noqa: E402

WORKER = ROOT = None
COMMANDS = ["batch", "run", "submit", "compare", "explain"]


def clean_env(**extra):
    """The environment without any KIVO_* variable of the caller, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIVO_")}
    env.update(extra)
    return env


def run(*args, env=None, timeout=120, cwd=None):
    p = subprocess.run([WORKER] + list(args), capture_output=True, timeout=timeout, cwd=cwd,
                       env=env if env is not None else clean_env())
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def example_spec():
    return os.path.join(ROOT, "data", "examples", "job-spec.json")


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def help_value_options(cmd):
    """The long options of `cmd --help` that take a value (a metavar after the name)."""
    _, out, _ = run(cmd, "--help")
    opts = set()
    for line in out.splitlines():
        if re.match(r"\s+-", line):
            head = re.split(r"(?<=\S)\s{2,}", line.strip(), maxsplit=1)[0]
            opts |= set(re.findall(r"--([a-z][a-z-]*)[ =][A-Za-z]", head))
    return opts


def help_environment(cmd):
    """{variable: option} from the "Environment" section of `cmd --help`."""
    _, out, _ = run(cmd, "--help")
    check("\nEnvironment" in out, "%s --help has no Environment section" % cmd)
    section = out.split("\nEnvironment", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^  (KIVO_[A-Z_]+)\s+--([a-z-]+)$", section, re.M))


def case_env_help():
    """Every option that takes a value has a KIVO_* variable in --help, named by the rule."""
    for cmd in COMMANDS:
        want = help_value_options(cmd) - {"worker-credential"}
        env = help_environment(cmd)
        check(len(want) >= 2, "%s: found its value options: %s" % (cmd, want))
        check(set(env.values()) == want, "%s: variables %s, value options %s"
              % (cmd, sorted(env.values()), sorted(want)))
        for var, opt in env.items():
            base = opt[5:] if opt.startswith("kivo-") else opt
            name = base.upper().replace("-", "_")
            check(var in ("KIVO_" + name, "KIVO_%s_%s" % (cmd.upper(), name)),
                  "%s: %s for --%s" % (cmd, var, opt))
    # The examples.
    env = help_environment("batch")
    for var in ("KIVO_API_BASE_URL", "KIVO_API_KEY_FILE", "KIVO_THREADS"):
        check(var in env, "batch --help lists %s" % var)


def case_env_batch():
    """A batch configured only by the environment; the command line wins over it."""
    with TempDir() as tmp:
        out = os.path.join(tmp, "from-env")
        env = clean_env(KIVO_JOB_SPEC_FILE=example_spec(), KIVO_OUT=out, KIVO_THREADS="1",
                        KIVO_HTML="none", KIVO_BATCH_ID="nightly-7", KIVO_CHUNK_BYTES="4096",
                        KIVO_JUNIT=os.path.join(tmp, "junit.xml"))
        rc, _, err = run("batch", "-q", env=env)
        check(rc == 0, "batch from the environment: exit %d: %s" % (rc, err))
        s = summary(out)
        check(s["threads"] == 1, "KIVO_THREADS=1: threads %s" % s["threads"])
        check(s["batch_id"] == "nightly-7", "KIVO_BATCH_ID: %s" % s["batch_id"])
        check(not os.path.exists(os.path.join(out, "index.html")), "KIVO_HTML=none wrote a page")
        check(os.path.exists(os.path.join(tmp, "junit.xml")), "KIVO_JUNIT wrote nothing")

        # The command line wins, option by option; the rest still comes from the environment.
        out2 = os.path.join(tmp, "from-argv")
        rc, _, err = run("batch", "-q", "--out", out2, "-t", "2", "--batch-id=cli", env=env)
        check(rc == 0, "batch with both: exit %d: %s" % (rc, err))
        s = summary(out2)
        check((s["threads"], s["batch_id"]) == (2, "cli"), "the command line did not win: %s %s"
              % (s["threads"], s["batch_id"]))
        check(not os.path.exists(os.path.join(out2, "index.html")), "KIVO_HTML lost to nothing")

        # A bad value from the environment is refused like one from the command line, naming
        # the variable; the same bad value is harmless when the command line overrides it.
        bad = dict(env, KIVO_THREADS="two", KIVO_OUT=os.path.join(tmp, "bad"))
        rc, _, err = run("batch", env=bad)
        check(rc == 2 and "--threads" in err and "KIVO_THREADS" in err,
              "bad KIVO_THREADS: exit %d: %s" % (rc, err))
        check(not os.path.exists(os.path.join(tmp, "bad")), "bad KIVO_THREADS wrote output")
        rc, _, err = run("batch", "-q", "--threads", "1", env=bad)
        check(rc == 0, "--threads over a bad KIVO_THREADS: exit %d: %s" % (rc, err))
        for var, val in (("KIVO_HTML", "some"), ("KIVO_CONCURRENCY", "0"),
                         ("KIVO_RETRY_DEADLINE", "soon"), ("KIVO_FAIL_ON", "nonsense>")):
            rc, _, err = run("batch", env=dict(env, **{var: val}))
            check(rc == 2, "%s=%s: exit %d: %s" % (var, val, rc, err))
        # Variables of options the command does not have are not its business.
        rc, _, err = run("batch", "-q", "--out", os.path.join(tmp, "o3"),
                         env=dict(env, KIVO_COMPARE_HTML="x", KIVO_EXPLAIN_RUN_ID="y",
                                  KIVO_REVIEW_RUN_ID="z"))
        check(rc == 0, "unrelated variables: exit %d: %s" % (rc, err))


def case_env_commands():
    """compare, explain and submit read their variables too (scoped ones by their scope)."""
    with TempDir() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for d in (a, b):
            rc, _, err = run("batch", "-q", "-f", example_spec(), "-o", d)
            check(rc == 0, "batch: %s" % err)
        junit = os.path.join(tmp, "cmp.xml")
        rc, _, err = run("compare", "-q", a, b,
                         env=clean_env(KIVO_COMPARE_JUNIT=junit, KIVO_JUNIT="/nonexistent/x",
                                       KIVO_HTML="none"))
        check(rc == 0 and os.path.exists(junit), "KIVO_COMPARE_JUNIT: exit %d: %s" % (rc, err))
        rc, _, err = run("compare", "-q", a, b, env=clean_env(KIVO_COMPARE_FAIL_ON="bogus>1"))
        check(rc == 2 and "KIVO_COMPARE" not in err and "bogus" in err,
              "KIVO_COMPARE_FAIL_ON: exit %d: %s" % (rc, err))

        with open(os.path.join(a, "events.jsonl")) as f:
            first = json.loads(f.readline())["customer_run_id"]
        rc, out, err = run("explain", "--json", env=clean_env(
            KIVO_JOB_SPEC_FILE=example_spec(), KIVO_EXPLAIN_RUN_ID=first))
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        check(rc == 0 and len(lines) == 1, "KIVO_EXPLAIN_RUN_ID: exit %d, %d records: %s"
              % (rc, len(lines), err))

        # batch and submit send with every option from the environment; nothing listens on
        # the port, so the events stay pending (exit 5) within the KIVO_RETRY_DEADLINE.
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("kivo_test_key_000000000000\n")
        os.chmod(key, 0o600)
        send = dict(KIVO_API_BASE_URL="http://127.0.0.1:9", KIVO_API_KEY_FILE=key,
                    KIVO_RETRY_DEADLINE="0.5", KIVO_REQUEST_TIMEOUT="1", KIVO_CONCURRENCY="2")
        c = os.path.join(tmp, "c")
        rc, _, err = run("batch", "-q", "-f", example_spec(), env=clean_env(KIVO_OUT=c, **send))
        check(rc == 5, "batch sending from the environment: exit %d (want 5): %s" % (rc, err))
        rc, _, err = run("submit", env=clean_env(KIVO_OUTBOX=c, **send))
        check(rc == 5, "submit from the environment: exit %d (want 5): %s" % (rc, err))
        rc, _, err = run("submit", env=clean_env(KIVO_OUTBOX=c, **dict(send, KIVO_CONCURRENCY="0")))
        check(rc == 2 and "KIVO_CONCURRENCY" in err, "KIVO_CONCURRENCY=0: %d %s" % (rc, err))


def case_unknown_options():
    """An unknown option: one line, "did you mean" when one is close, a pointer to --help."""
    with TempDir() as tmp:
        out = os.path.join(tmp, "out")
        for args, needles in [
                (["batch", "--treads", "2"], ["unknown option '--treads'", "'--threads'"]),
                (["batch", "--job_spec_file", "x"], ["'--job-spec-file'"]),
                (["batch", "--zzzzzz"], ["unknown option '--zzzzzz'"]),
                (["batch", "-Z"], ["unknown option '-Z'"]),
                (["batch", "--json=yes"], ["'--json' takes no value"]),
                (["batch", "--threads"], ["'--threads' needs a value"]),
                (["batch", "-t"], ["'-t' needs a value"]),
                (["batch", "--re", "1"], ["ambiguous", "--retry-deadline", "--request-timeout"]),
                (["compare", "--jnuit", "x"], ["'--junit'"]),
                (["submit", "--outbx", "x"], ["'--outbox'"]),
                (["run", "--review-run", "x", "--worker-credentail-file", "y"],
                 ["'--worker-credential-file'"]),
                (["explain", "--rn-id", "x"], ["'--run-id'"]),
                (["bacth"], ["unknown command 'bacth'", "'batch'"])]:
            if args[0] == "batch":
                args = ["batch", "--out", out] + args[1:]
            rc, stdout, err = run(*args)
            what = " ".join(args)
            check(rc == 2, "%s: exit %d" % (what, rc))
            check(stdout == "", "%s: printed on stdout: %s" % (what, stdout[:200]))
            lines = err.splitlines()
            check(len(lines) == 1, "%s: %d lines on stderr: %s" % (what, len(lines), err))
            check("--help" in err, "%s: no pointer to --help: %s" % (what, err))
            for n in needles:
                check(n in err, "%s: %r not in %s" % (what, n, err))
        check(not os.path.exists(out), "a usage error wrote output")
        rc, _, err = run("batch", "--zzzzzz")
        check("did you mean" not in err, "a far-off option got a suggestion: %s" % err)


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


def main():
    return case_main(CASES, configure)


if __name__ == "__main__":
    sys.exit(main())
