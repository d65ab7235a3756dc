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

        # batch and submit send with every option from the environment. Nothing listens on
        # port 9: the batch's check of kivo-api names it and stops (exit 2). Where the check is
        # answered and nothing listens after it, the events stay pending (exit 5) within the
        # KIVO_RETRY_DEADLINE.
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("kivo_test_key_000000000000\n")
        os.chmod(key, 0o600)
        send = dict(KIVO_API_BASE_URL="http://127.0.0.1:9", KIVO_API_KEY_FILE=key,
                    KIVO_RETRY_DEADLINE="0.5", KIVO_REQUEST_TIMEOUT="1", KIVO_CONCURRENCY="2")
        c = os.path.join(tmp, "c")
        rc, _, err = run("batch", "-q", "-f", example_spec(), env=clean_env(KIVO_OUT=c, **send))
        check(rc == 2 and "http://127.0.0.1:9" in err,
              "batch sending from the environment, nothing there: exit %d: %s" % (rc, err))
        send["KIVO_API_BASE_URL"] = "http://127.0.0.1:%d" % check_then_gone()
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


def gen_job(tmp, records, files=1):
    """A generated corpus of `records` records (seed 1) split over `files` files, and its spec."""
    paths = []
    for i in range(files):
        path = os.path.join(tmp, "corpus-%d.jsonl" % i)
        subprocess.run([os.path.join(ROOT, "scripts", "gen-corpus"), "--records",
                        str(records // files), "--seed", str(i + 1), "--out", path, "--quiet"],
                       check=True)
        paths.append(os.path.basename(path))
    spec = os.path.join(tmp, "spec.json")
    with open(example_spec()) as f:
        s = json.load(f)
    s["inputs"] = paths
    with open(spec, "w") as f:
        json.dump(s, f)
    return spec


PROGRESS = re.compile(r"^kivo-worker: progress: (\d+) records \((\d+)/s\), ([\d.]+) of ([\d.]+) "
                      r"MB \((\d+)%\), ([\d.]+) MB/s, (\w+) elapsed, ETA (\w+|\?)$")


def case_progress_lines():
    """Without a terminal: a progress line every --progress-interval; none before it is due."""
    with TempDir() as tmp:
        spec = gen_job(tmp, 300)
        out = os.path.join(tmp, "out")
        args = ["batch", "-f", spec, "-o", out, "--threads", "1", "--chunk-bytes", "4096",
                "--html", "none"]
        rc, _, err = run(*args, "--progress-interval", "0.001")
        check(rc in (0, 3), "batch: exit %d: %s" % (rc, err))
        lines = [l for l in err.splitlines() if l.startswith("kivo-worker: progress:")]
        check(len(lines) >= 3, "%d progress lines: %s" % (len(lines), err[:2000]))
        last = -1
        total = summary(out)["records_read"]
        for l in lines:
            m = PROGRESS.match(l)
            check(m, "progress line not in the documented form: %r" % l)
            rec = int(m.group(1))
            check(last <= rec <= total, "records go %d -> %d (of %d)" % (last, rec, total))
            check(0 <= int(m.group(5)) <= 100, "percentage: %r" % l)
            check(m.group(8) != "?", "no ETA for a plain file: %r" % l)
            last = rec
        check(int(PROGRESS.match(lines[-1]).group(1)) > int(PROGRESS.match(lines[0]).group(1)),
              "the records never moved: %s" % lines)
        # The default (30 s) is not due in a run this short; 0 turns the lines off; so does -q.
        for extra, env in (([], None), (["--progress-interval", "0"], None), (["-q"], None),
                           ([], clean_env(KIVO_PROGRESS_INTERVAL="0"))):
            rc, _, err = run(*args, *extra, env=env)
            check(rc in (0, 3) and "progress:" not in err, "%s: %s" % (extra, err[:500]))
        rc, _, err = run(*args, env=clean_env(KIVO_PROGRESS_INTERVAL="0.001"))
        check("kivo-worker: progress:" in err, "KIVO_PROGRESS_INTERVAL ignored: %s" % err[:300])
        for bad in ("-1", "x", "", "1e9"):
            rc, _, err = run(*args, "--progress-interval", bad)
            check(rc == 2 and "--progress-interval" in err, "%r: exit %d %s" % (bad, rc, err))


def case_quiet_verbose():
    """-q: nothing on stderr but errors; -v: a line per input file, counts that add up."""
    with TempDir() as tmp:
        spec = gen_job(tmp, 90, files=3)
        out = os.path.join(tmp, "out")
        rc, stdout, err = run("batch", "-f", spec, "-o", out, "-q")
        check(rc in (0, 3) and err == "" and stdout == "", "-q: exit %d, stderr %r" % (rc, err))
        rc, _, err = run("batch", "-f", spec, "-o", out)
        check("records read" in err, "without -q the closing line is printed: %r" % err)
        # With rejects (exit 3) -q still says nothing; an error it does say.
        bad = os.path.join(tmp, "bad.json")
        with open(spec) as f:
            s = json.load(f)
        with open(os.path.join(tmp, "broken.jsonl"), "w") as f:
            f.write('{"customer_run_id": "x"\nnot json\n')
        s["inputs"].append("broken.jsonl")
        with open(bad, "w") as f:
            json.dump(s, f)
        rc, _, err = run("batch", "-f", bad, "-o", os.path.join(tmp, "o2"), "-q")
        check(rc == 3 and err == "", "-q with rejects: exit %d, %r" % (rc, err))
        rc, _, err = run("batch", "-f", os.path.join(tmp, "missing.json"), "-q")
        check(rc == 2 and "missing.json" in err, "-q hides an error: %d %r" % (rc, err))

        o3 = os.path.join(tmp, "o3")
        rc, _, err = run("batch", "-f", bad, "-o", o3, "-v", "--chunk-bytes", "4096")
        check(rc == 3, "-v: exit %d: %s" % (rc, err))
        files = re.findall(r"^kivo-worker: read (\S+) \((\d+)/(\d+)\): (\d+) records, (\d+) "
                           r"reviewed, (\d+) rejected$", err, re.M)
        check(len(files) == 4, "%d file lines: %s" % (len(files), err))
        check([int(f[1]) for f in files] == [1, 2, 3, 4] and all(f[2] == "4" for f in files),
              "file lines out of order: %s" % files)
        check(files[3][0].endswith("broken.jsonl"), "last file: %s" % files[3][0])
        sm = summary(o3)
        check(sum(int(f[3]) for f in files) == sm["records_read"], "records: %s vs %s"
              % (files, sm["records_read"]))
        check(sum(int(f[5]) for f in files) == sm["records_rejected"] and int(files[3][5]) == 2,
              "rejected: %s vs %s" % (files, sm["records_rejected"]))
        check(all(int(f[3]) == int(f[4]) + int(f[5]) for f in files), "sums: %s" % files)
        rc, _, err = run("batch", "-f", bad, "-o", o3, "-v", "-q")
        check(err == "", "-q wins over -v: %r" % err)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\}'
                    r' (-?[0-9.e+]+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def read_metrics(path):
    """Parses Prometheus text format strictly: {(name, ((label, value), ...)): value}."""
    with open(path) as f:
        text = f.read()
    check(text.endswith("\n"), "the metrics file ends with a newline")
    helped, typed, samples = set(), {}, {}
    for line in text.splitlines():
        m = re.match(r"^# HELP ([a-z_]+) \S.*$", line)
        if m:
            check(m.group(1) not in helped, "HELP twice for %s" % m.group(1))
            helped.add(m.group(1))
            continue
        m = re.match(r"^# TYPE ([a-z_]+) (gauge|counter)$", line)
        if m:
            check(m.group(1) in helped and m.group(1) not in typed, "TYPE order: %r" % line)
            typed[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        check(m, "not a sample line: %r" % line)
        check(m.group(1) in typed, "sample before its TYPE: %r" % line)
        labels = tuple(LABEL.findall(m.group(2)))
        key = (m.group(1), labels)
        check(key not in samples, "sample twice: %r" % line)
        samples[key] = float(m.group(3))
    return samples


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def metric(samples, name, **extra):
    found = [v for (n, labels), v in samples.items() if n == name and
             all(dict(labels).get(k) == w for k, w in extra.items())]
    check(len(found) == 1, "%s %s: %d samples" % (name, extra, len(found)))
    return found[0]


def case_metrics_file():
    """--metrics-file: Prometheus text, the summary's counts, atomic, never through a link."""
    with TempDir() as tmp:
        prom = os.path.join(tmp, "textfile")
        os.mkdir(prom)
        path = os.path.join(prom, "kivo.prom")
        with open(example_spec()) as f:
            s = json.load(f)
        wf = 'support "answers" \\ review'
        s["workflow_id"] = wf
        s["inputs"] = [os.path.join(ROOT, "data", "examples", p) for p in s["inputs"]]
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump(s, f)
        out = os.path.join(tmp, "out")
        rc, _, err = run("batch", "-q", "-f", spec, "-o", out, "--metrics-file", path,
                         "--batch-id", "rel-2")
        check(rc == 0, "batch: exit %d: %s" % (rc, err))
        check(os.listdir(prom) == ["kivo.prom"], "left in the folder: %s" % os.listdir(prom))
        check(os.stat(path).st_mode & 0o777 == 0o644 & ~current_umask(),
              "mode %o" % (os.stat(path).st_mode & 0o777))
        m = read_metrics(path)
        sm = summary(out)
        for (name, labels) in m:
            d = dict(labels)
            if name != "kivo_worker_info":
                check(unescape(d.get("workflow_id", "")) == wf and d.get("batch_id") == "rel-2",
                      "labels of %s: %s" % (name, labels))
        check(metric(m, "kivo_worker_batch_running") == 0, "running")
        check(metric(m, "kivo_worker_batch_exit_code") == 0, "exit code")
        for key in ("records_read", "records_reviewed", "records_rejected", "claims",
                    "unsupported_claims", "files", "threads"):
            check(metric(m, "kivo_worker_batch_" + key) == sm[key], key)
        check(metric(m, "kivo_worker_batch_bytes_read") == sm["bytes_read"], "bytes")
        check(metric(m, "kivo_worker_batch_duplicate_run_ids") == sm["duplicate_run_ids"], "dups")
        for v, n in sm["verdicts"].items():
            check(metric(m, "kivo_worker_batch_runs", verdict=v) == n, "verdict %s" % v)
        for c, n in sm["failure_categories"].items():
            check(metric(m, "kivo_worker_batch_runs_with_category", category=c) == n, c)
        import time
        check(abs(metric(m, "kivo_worker_batch_last_update_timestamp_seconds") - time.time())
              < 120, "update time")

        # Rejects: exit 3 in the file; the file is replaced, not appended to.
        with open(os.path.join(tmp, "broken.jsonl"), "w") as f:
            f.write("not json\n")
        s["inputs"].append(os.path.join(tmp, "broken.jsonl"))
        with open(spec, "w") as f:
            json.dump(s, f)
        rc, _, err = run("batch", "-q", "-f", spec, "-o", os.path.join(tmp, "o2"),
                         "--metrics-file", path, env=clean_env())
        m2 = read_metrics(path)
        check(rc == 3 and metric(m2, "kivo_worker_batch_exit_code") == 3 and
              metric(m2, "kivo_worker_batch_records_rejected") == 1, "rejects: %d %s" % (rc, err))

        # A link where the file goes is not followed; its target keeps its bytes.
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("keep")
        link = os.path.join(prom, "linked.prom")
        os.symlink(victim, link)
        rc, _, err = run("batch", "-q", "-f", spec, "-o", os.path.join(tmp, "o3"),
                         "--metrics-file", link)
        check(rc == 2 and "linked.prom" in err and "symbolic link" in err,
              "a link: exit %d: %s" % (rc, err))
        check(not os.path.exists(os.path.join(tmp, "o3")), "a link: the batch ran")
        check(open(victim).read() == "keep" and os.path.islink(link), "the link was followed")
        check(sorted(os.listdir(prom)) == ["kivo.prom", "linked.prom"], "temporary files left: %s"
              % os.listdir(prom))
        # A folder that is not there is found before the batch runs.
        o4 = os.path.join(tmp, "o4")
        rc, _, err = run("batch", "-q", "-f", spec, "-o", o4, "--metrics-file",
                         os.path.join(tmp, "nowhere", "kivo.prom"))
        check(rc == 2 and "nowhere" in err and not os.path.exists(o4), "missing folder: %d %s"
              % (rc, err))
        rc, _, err = run("batch", "-q", "-f", spec, "-o", o4, env=clean_env(
            KIVO_METRICS_FILE=os.path.join(prom, "env.prom")))
        check(rc == 3 and os.path.exists(os.path.join(prom, "env.prom")), "KIVO_METRICS_FILE")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def case_spec_errors():
    """Job spec errors say where: line and column, a trailing comma, a BOM, "did you mean"."""
    with TempDir() as tmp:
        good = open(example_spec()).read()
        # A trailing comma: the comma's own line and column.
        lines = good.rstrip().splitlines()
        tc = "\n".join(lines[:-2] + [lines[-2] + ","] + lines[-1:]) + "\n"
        comma_line = len(lines) - 1
        comma_col = len(lines[-2]) + 1
        cases = [
            ("trailing.json", tc,
             ["line %d, column %d" % (comma_line, comma_col), "trailing comma", "'}'"]),
            ("bom.json", b"\xef\xbb\xbf" + good.encode(), ["byte order mark", "EF BB BF"]),
            ("missing-colon.json", '{\n  "schema_version"\n    "x"}',
             ["line 3, column 5 (byte 25)", "':' expected"]),
            ("utf8-col.json", '{"\u00e9\u00e9": 1, "b": tru}',
             ["line 1, column 16 (byte 17)", "invalid token"]),
            ("unknown-key.json", good.replace('"inputs"', '"inptus"'),
             ['unknown field "inptus"', 'did you mean "inputs"?', "line 9, column 3"]),
            ("unknown-nested.json", good.replace('"source_title"', '"source_tilte"'),
             ['unknown field "fields.source_tilte"', 'did you mean "fields.source_title"?',
              "line 15, column 5"]),
            ("far-key.json", good.replace('"inputs"', '"zzzzzz"'), ['unknown field "zzzzzz"']),
            ("bad-type.json", good.replace('"strict"', '7'),
             ['"strictness"', "line 6, column 3"]),
        ]
        for name, text, needles in cases:
            path = write(os.path.join(tmp, name), text)
            rc, _, err = run("batch", "-f", path, "-o", os.path.join(tmp, "out"))
            check(rc == 2, "%s: exit %d: %s" % (name, rc, err))
            check(len(err.strip().splitlines()) == 1, "%s: one line: %s" % (name, err))
            for n in needles:
                check(n in err, "%s: %r not in %s" % (name, n, err.strip()))
        rc, _, err = run("batch", "-f", os.path.join(tmp, "far-key.json"), "-o", "x")
        check("did you mean" not in err, "a far-off key got a suggestion: %s" % err)
        check(not os.path.exists(os.path.join(tmp, "out")), "an invalid spec wrote output")


def case_json_offsets():
    """A malformed record's reason gives the byte where its JSON went wrong, not byte 0."""
    with TempDir() as tmp:
        lines = ['{"customer_run_id": "a", "output": "x", "sources": [],}',
                 '{"customer_run_id": "b", "output": tru}',
                 '{"customer_run_id": "c" "output": "x"}']
        write(os.path.join(tmp, "in.jsonl"), "\n".join(lines) + "\n")
        with open(example_spec()) as f:
            s = json.load(f)
        s["inputs"] = ["in.jsonl"]
        spec = write(os.path.join(tmp, "spec.json"), json.dumps(s))
        out = os.path.join(tmp, "out")
        rc, _, err = run("batch", "-q", "-f", spec, "-o", out)
        check(rc == 3, "exit %d: %s" % (rc, err))
        with open(os.path.join(out, "rejects.jsonl")) as f:
            rejects = [json.loads(l) for l in f]
        check(len(rejects) == 3, "rejects: %s" % rejects)
        want = [lines[0].index(",}") + 1, lines[1].index("tru"), lines[2].index('"output"')]
        for r, w in zip(rejects, want):
            reason = json.dumps(r)
            check("near byte %d:" % w in reason, "want byte %d in %s" % (w, reason))


def refused_port():
    """(socket, port): a loopback port bound by a socket that does not listen, so connections to
    it are refused, and no other test can take it while the socket is open (a port found free
    and closed again could be bound by another test's server before it is used)."""
    import socket
    so = socket.socket()
    so.bind(("127.0.0.1", 0))
    return so, so.getsockname()[1]


def check_then_gone():
    """A port where something answers the batch's check of kivo-api (GET
    /v1/private-worker/whoami, issue 14's fail-fast) once and then nothing listens: the batch
    reviews, and its events meet refused connections."""
    import http.server
    import threading

    class Once(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"kind":"api_key","project":"p","scopes":["private_worker:write"]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    once = http.server.HTTPServer(("127.0.0.1", 0), Once)

    def serve_once():
        once.handle_request()
        once.server_close()
    threading.Thread(target=serve_once, daemon=True).start()
    return once.server_port


def case_transport_errors():
    """A refused connection is named (then retried); a TLS failure is named and not retried.
    A batch checks kivo-api before it reviews anything (issue 14's fail-fast): refused, it ends
    with exit 2 and writes nothing; `submit` of an outbox retries until its deadline."""
    import http.server
    import threading
    import time
    with TempDir() as tmp:
        key = write(os.path.join(tmp, "key"), "kivo_test_key_000000000000\n")
        os.chmod(key, 0o600)
        out = os.path.join(tmp, "out")
        held, port = refused_port()
        rc, _, err = run("batch", "-f", example_spec(), "-o", out, "-q", env=clean_env(
            KIVO_API_BASE_URL="http://127.0.0.1:%d" % port, KIVO_API_KEY_FILE=key,
            KIVO_RETRY_DEADLINE="1"))
        check(rc == 2 and "refused" in err.lower() and "nothing was reviewed" in err and
              not os.path.exists(out), "batch, refused: exit %d: %s" % (rc, err))

        # A server that answers the check and is gone before the events: the sender's refused
        # connections, named once, retried until the deadline.
        port = check_then_gone()
        rc, _, err = run("batch", "-f", example_spec(), "-o", out, "-q", env=clean_env(
            KIVO_API_BASE_URL="http://127.0.0.1:%d" % port, KIVO_API_KEY_FILE=key,
            KIVO_RETRY_DEADLINE="1"))
        check(rc == 5, "refused: exit %d: %s" % (rc, err))
        check(err.count("no answer from kivo-api at http://127.0.0.1:%d" % port) == 1 and
              "refused" in err.lower() and "retrying" in err, "refused, named once: %s" % err)
        check("no usable answer for 1 s (last: " in err, "the closing message: %s" % err)

        # https:// to a plain HTTP server: the TLS handshake fails; named at once, not retried.
        class Quiet(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            t0 = time.monotonic()
            rc, _, err = run("submit", env=clean_env(
                KIVO_OUTBOX=out, KIVO_API_BASE_URL="https://127.0.0.1:%d" % srv.server_port,
                KIVO_API_KEY_FILE=key, KIVO_RETRY_DEADLINE="60", KIVO_CONCURRENCY="1"))
            spent = time.monotonic() - t0
        finally:
            srv.shutdown()
            srv.server_close()
        check(rc == 5 and "TLS" in err and "not retried" in err, "TLS: exit %d: %s" % (rc, err))
        check(spent < 30, "the TLS failure was retried for %.0f s" % spent)
        check("no answer from" not in err, "TLS retried as if there were no answer: %s" % err)

        # `run` the same: a refused connection named once, then retried until the deadline.
        cred = write(os.path.join(tmp, "cred"), "kivo_wc_test_000000000000\n")
        os.chmod(cred, 0o600)
        rc, _, err = run("run", "--job-token", "local", "-f", example_spec(),
                         "--review-run-id", "rr_" + "0" * 32, "--worker-credential-file", cred,
                         "--outbox", os.path.join(tmp, "run-outbox"), env=clean_env(
                             KIVO_API_BASE_URL="http://127.0.0.1:%d" % port,
                             KIVO_RETRY_DEADLINE="1"))
        check(rc == 5 and err.count("run: no answer from kivo-api") == 1 and "refused" in
              err.lower(), "run, refused: exit %d: %s" % (rc, err))
        held.close()


def loaded_files(tmp, name, *args, env):
    """(rc, stderr, the dynamic linker's log of the files it loaded) of one run of the worker."""
    log = os.path.join(tmp, name)
    rc, _, err = run(*args, env=dict(env, LD_DEBUG="files", LD_DEBUG_OUTPUT=log))
    text = ""
    for f in os.listdir(tmp):
        if f.startswith(name + "."):
            with open(os.path.join(tmp, f), errors="replace") as fh:
                text += fh.read()
    return rc, err, text


def case_libcurl_on_demand():
    """libcurl is loaded by the first HTTP client (client.c), not at start-up (issue 19's peak
    RSS: it and its libraries are ~4 MB resident): a batch that sends nothing never loads it;
    one that checks kivo-api does, and reaches it (here: refused)."""
    with TempDir() as tmp:
        rc, err, log = loaded_files(tmp, "plain", "batch", "-f", example_spec(), "-o",
                                    os.path.join(tmp, "out"), "-q", env=clean_env())
        check(rc == 0, "batch: exit %d: %s" % (rc, err))
        check("libc.so" in log, "no dynamic linker log: %r" % log[:200])
        check("libcurl" not in log, "a batch that sends nothing loaded libcurl: %s" %
              [l for l in log.splitlines() if "libcurl" in l][:3])

        key = write(os.path.join(tmp, "key"), "kivo_test_key_000000000000\n")
        os.chmod(key, 0o600)
        held, port = refused_port()
        rc, err, log = loaded_files(tmp, "check", "batch", "-f", example_spec(), "-o",
                                    os.path.join(tmp, "out2"), "-q", env=clean_env(
                                        KIVO_API_BASE_URL="http://127.0.0.1:%d" % port,
                                        KIVO_API_KEY_FILE=key, KIVO_RETRY_DEADLINE="1"))
        held.close()
        check(rc == 2 and "refused" in err.lower(), "batch, refused: exit %d: %s" % (rc, err))
        check(re.search(r"file=libcurl\.so\.4 .*dynamically loaded", log) is not None,
              "libcurl not loaded on demand: %s" %
              [l for l in log.splitlines() if "libcurl" in l][:3])


def current_umask():
    u = os.umask(0)
    os.umask(u)
    return u


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


def main():
    return case_main(CASES, configure)


if __name__ == "__main__":
    sys.exit(main())
