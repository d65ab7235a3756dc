#!/usr/bin/env python3
"""Integration tests of the real kivo-worker binary: one case per ctest.

    worker_cli.py --worker build/kivo-worker --root . CASE

Every case runs the worker into fresh temporary folders and checks its outputs against the
documents (issue 2, spec/api.md, data/examples/README.md, tests/data/bad_README.md).
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import (  # noqa: E402
    ARTIFACT_KEYS, CATEGORIES, EVENT_KEYS, RAW_FIELDS, VERDICTS, TempDir, case_main, check,
    event_id, read_records, run, sha256_text, store_reports, tree, write_spec)

WORKER = ROOT = None
WORKFLOW = "support_answer_review"


def example_spec():
    return os.path.join(ROOT, "data", "examples", "job-spec.json")


def example_inputs():
    return sorted(glob.glob(os.path.join(ROOT, "data", "examples", "traces", "*.jsonl")))


def data(name):
    return os.path.join(ROOT, "tests", "data", name)


def batch(spec, out, *extra):
    return run(WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet", *extra)


def read_jsonl(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.split("\n")
    check(lines[-1] == "", "%s does not end with a newline" % path)
    return [json.loads(line) for line in lines[:-1]]


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


COUNT_FIELDS = ["schema_version", "worker_version", "engine_version", "workflow_id", "files",
                "records_read", "records_reviewed", "records_rejected", "duplicate_run_ids",
                "claims", "unsupported_claims", "verdicts", "failure_categories", "bytes_read"]


def same_outputs(a, b, what):
    """events.jsonl, rejects.jsonl and every report byte for byte (in either layout: the two
    layouts hold the same reports), the parts too when both are v2; summary counts."""
    for name in ("events.jsonl", "rejects.jsonl"):
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            check(fa.read() == fb.read(), "%s: %s differs" % (what, name))
    ta, tb = store_reports(a), store_reports(b)
    check(sorted(ta) == sorted(tb), "%s: report runs differ: %s" %
          (what, sorted(set(ta) ^ set(tb))[:5]))
    for k in ta:
        check(ta[k] == tb[k], "%s: the report of %s differs" % (what, k))
    pa = {k: v for k, v in tree(os.path.join(a, "reports")).items() if k.startswith("part-")}
    pb = {k: v for k, v in tree(os.path.join(b, "reports")).items() if k.startswith("part-")}
    if pa and pb:   # the same bytes, however --part-size cut them
        check(b"".join(pa[k] for k in sorted(pa)) == b"".join(pb[k] for k in sorted(pb)),
              "%s: parts differ" % what)
    sa, sb = summary(a), summary(b)
    for k in COUNT_FIELDS:
        check(sa[k] == sb[k], "%s: summary %s %r != %r" % (what, k, sa[k], sb[k]))


# ---------------------------------------------------------------------------------------------

def case_example_determinism():
    """The example job: exit 0, every record reviewed, the same bytes at 1 and 2 threads and in
    4 KiB chunks (many chunks per file), in small parts, and in the per-run layout."""
    with TempDir() as tmp:
        runs = [("t1", ["--threads", "1"]), ("t2", ["--threads", "2"]),
                ("t2c", ["--threads", "2", "--chunk-bytes", "4096"]),
                ("t1c", ["--threads", "1", "--chunk-bytes", "4096"]),
                ("small", ["--threads", "2", "--part-size", "4K"]),
                ("pr", ["--threads", "2", "--layout", "per-run"])]
        for name, extra in runs:
            out = os.path.join(tmp, name)
            rc, _, err = batch(example_spec(), out, *extra)
            check(rc == 0, "%s: exit %d, want 0: %s" % (name, rc, err))
            s = summary(out)
            check(s["records_read"] == 30 and s["records_reviewed"] == 30 and
                  s["records_rejected"] == 0, "%s: counts %r" % (name, s))
            with open(os.path.join(out, "rejects.jsonl"), "rb") as f:
                check(f.read() == b"", "%s: rejects.jsonl not empty" % name)
            reports = store_reports(out)
            check(len(reports) == 30, "%s: %d reports, want 30" % (name, len(reports)))
            files = sorted(tree(os.path.join(out, "reports")))
            if name == "pr":
                # claim_report.html pages (issue 7) sit beside the flagged runs' reports.
                check(all(k.startswith(WORKFLOW + os.sep) and
                          k.endswith(("claim_report.json", "claim_report.html"))
                          for k in files), "%s: unexpected report paths" % name)
            elif name == "small":
                # 4 KiB parts: ~1.4 KB reports, so a part closes after 3 of them.
                check(len(files) > 5 and files[-1] == "part-%05d.jsonl" % (len(files) - 2),
                      "%s: parts %s" % (name, files))
            else:
                check(files == ["index", "part-00000.jsonl"], "%s: reports/ holds %s" %
                      (name, files))
            check(not any(n.endswith((".tmp", ".partial")) for n in tree(out)),
                  "%s: temporary files left behind" % name)
        for name, _ in runs[1:]:
            same_outputs(os.path.join(tmp, "t1"), os.path.join(tmp, name), "t1 vs " + name)
        # The events are in input order: the example's files, then their lines.
        ids = [e["customer_run_id"] for e in read_jsonl(os.path.join(tmp, "t1", "events.jsonl"))]
        want = [r["id"] for r in read_records(example_inputs())]
        check(ids == want, "events not in input order: %s" % ids[:5])


def case_large_corpus_determinism():
    """A bigger corpus (three files, ~700 records, bad lines and a duplicate run id among them):
    the same events, rejects and reports at 1, 2 and 3 threads, in 4 KiB chunks and 1 MiB ones."""
    good = []
    for path in example_inputs():
        with open(path, "rb") as f:
            good += [l for l in f.read().split(b"\n") if l.strip()]
    with open(data("bad_mixed.jsonl"), "rb") as f:
        bad = [l for l in f.read().split(b"\n") if l.strip()]
    with TempDir() as tmp:
        inputs = []
        n = 0
        for fi in range(3):
            lines = []
            for i in range(230):
                line = good[(i + fi) % len(good)]
                rid = json.loads(line)["customer_run_id"]
                lines.append(line.replace(('"%s"' % rid).encode(),
                                          ('"%s-f%d-%d"' % (rid, fi, i)).encode(), 1))
                n += 1
                if i % 37 == 5:
                    # malformed JSON, bad UTF-8, no output, no run id, cut-off line
                    lines.append(bad[[1, 3, 5, 7, 12][(i // 37) % 5]])
                    n += 1
            lines.append(lines[3])       # a repeated run id: a duplicate reject
            n += 1
            path = os.path.join(tmp, "corpus-%d.jsonl" % fi)
            with open(path, "wb") as f:
                f.write(b"\n".join(lines) + b"\n")
            inputs.append(path)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["corpus-*.jsonl"])
        # Where each bad line is, computed here from the bytes written.
        want_rejects = []
        for path in inputs:
            with open(path, "rb") as f:
                content = f.read()
            offset = 0
            for ln, line in enumerate(content.split(b"\n")[:-1], 1):
                if line in [bad[k] for k in (1, 3, 5, 7, 12)]:
                    want_rejects.append((path, ln, offset))
                offset += len(line) + 1
        outs = []
        for name, extra in [("a", ["--threads", "1"]), ("b", ["--threads", "2"]),
                            ("c", ["--threads", "3", "--chunk-bytes", "4096"]),
                            ("d", ["--threads", "2", "--chunk-bytes", "5000"])]:
            out = os.path.join(tmp, "out-" + name)
            rc, _, err = batch(spec, out, *extra)
            check(rc == 3, "%s: exit %d, want 3 (rejects): %s" % (name, rc, err))
            outs.append(out)
        for o in outs[1:]:
            same_outputs(outs[0], o, "threads/chunks " + os.path.basename(o))
        s = summary(outs[0])
        check(s["records_read"] == n, "records_read %d, want %d" % (s["records_read"], n))
        check(s["records_read"] == s["records_reviewed"] + s["records_rejected"],
              "read != reviewed + rejected: %r" % s)
        check(s["duplicate_run_ids"] == 3, "duplicates %d, want 3" % s["duplicate_run_ids"])
        rejects = read_jsonl(os.path.join(outs[0], "rejects.jsonl"))
        check(len(rejects) == s["records_rejected"], "rejects.jsonl lines != records_rejected")
        got = [(r["file"], r["line"], r["offset"]) for r in rejects
               if "duplicate" not in r["reason"]]
        check(got == want_rejects, "reject positions %s, want %s" % (got[:4], want_rejects[:4]))
        dups = [r for r in rejects if "duplicate" in r["reason"]]
        check(len(dups) == 3, "want 3 duplicate rejects, got %d" % len(dups))
        for d in dups:
            check(re.search(r"first seen at .*corpus-\d\.jsonl line 4\b", d["reason"]),
                  "duplicate reason does not say where: %s" % d["reason"])
        events = read_jsonl(os.path.join(outs[0], "events.jsonl"))
        check(len(events) == s["records_reviewed"], "events != records_reviewed")
        check(len({e["customer_run_id"] for e in events}) == len(events), "repeated run ids")


# The table of tests/data/bad_README.md: file -> (exit, read, reviewed, [(line, offset, reason)]).
BAD_TABLE = {
    "bad_malformed_json.jsonl": (3, 3, 2, [(2, 288, "invalid JSON")]),
    "bad_invalid_utf8.jsonl": (3, 3, 2, [(2, 288, "UTF-8")]),
    "bad_missing_output.jsonl": (3, 3, 2, [(2, 288, "output")]),
    "bad_missing_run_id.jsonl": (3, 3, 2, [(2, 288, "customer_run_id")]),
    "bad_truncated_last_line.jsonl": (3, 3, 2, [(3, 576, "truncated")]),
    "bad_no_final_newline.jsonl": (0, 2, 2, []),
    "bad_run_ids.jsonl": (0, 5, 5, []),
    "bad_mixed.jsonl": (3, 13, 8, [(2, 289, "invalid JSON"), (4, 716, "UTF-8"),
                                   (6, 1290, "output"), (8, 1799, "customer_run_id"),
                                   (13, 3183, "truncated")]),
}


def case_bad_fixtures():
    """Each bad fixture: the exit code, one reject line per bad record with file, line, offset
    and reason, every good record reviewed, read = reviewed + rejected; the same with many
    chunks and threads."""
    for name, (code, read, reviewed, want) in sorted(BAD_TABLE.items()):
        path = data(name)
        with TempDir() as tmp:
            spec = write_spec(os.path.join(tmp, "spec.json"), [path])
            for extra in (["--threads", "1"], ["--threads", "2", "--chunk-bytes", "4096"]):
                out = os.path.join(tmp, "out%s" % extra[1])
                rc, _, err = batch(spec, out, *extra)
                check(rc == code, "%s: exit %d, want %d: %s" % (name, rc, code, err))
                s = summary(out)
                check((s["records_read"], s["records_reviewed"], s["records_rejected"]) ==
                      (read, reviewed, read - reviewed),
                      "%s: read/reviewed/rejected %d/%d/%d, want %d/%d/%d" %
                      (name, s["records_read"], s["records_reviewed"], s["records_rejected"],
                       read, reviewed, read - reviewed))
                rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
                check(len(rejects) == len(want), "%s: %d rejects, want %d" %
                      (name, len(rejects), len(want)))
                for r, (line, offset, reason) in zip(rejects, want):
                    for k in ("file", "line", "offset", "reason"):
                        check(k in r, "%s: reject without %s: %r" % (name, k, r))
                    check(r["file"] == path, "%s: reject file %r" % (name, r["file"]))
                    check((r["line"], r["offset"]) == (line, offset),
                          "%s: reject at line %d offset %d, want %d/%d" %
                          (name, r["line"], r["offset"], line, offset))
                    check(reason.lower() in r["reason"].lower(),
                          "%s line %d: reason %r does not mention %r" %
                          (name, line, r["reason"], reason))
                # Every good record has its event and its report.
                events = read_jsonl(os.path.join(out, "events.jsonl"))
                check(len(events) == reviewed, "%s: %d events, want %d" %
                      (name, len(events), reviewed))
                reports = store_reports(out)
                check(len(reports) == reviewed, "%s: %d reports, want %d" %
                      (name, len(reports), reviewed))
                good_ids = {r["id"] for r in read_records([path])}
                got_ids = {e["customer_run_id"] for e in events}
                # The truncated line does not parse, so read_records skips it as well.
                check(got_ids == good_ids, "%s: reviewed %s, want %s" %
                      (name, sorted(got_ids), sorted(good_ids)))
                # A reject quotes no record text.
                with open(path, "rb") as f:
                    raw = f.read().decode("utf-8", "replace")
                for m in re.finditer(r'"output":"([^"]{30,})', raw):
                    with open(os.path.join(out, "rejects.jsonl")) as f:
                        check(m.group(1)[:30] not in f.read(),
                              "%s: rejects.jsonl quotes output text" % name)


def case_line_endings():
    """CRLF line ends, blank and white-space-only lines, and an empty file: blank lines are no
    records but still count for line numbers; a CR before the LF is not part of the record."""
    good = "Standard shipping takes 3 to 5 business days and costs $4.99."
    with TempDir() as tmp:
        lines = [make_record("crlf-1", good, good), "", "   \t", make_record("crlf-4", good, good),
                 '{"customer_run_id":"bad-5","output":', make_record("crlf-6", good, good)]
        body = "\r\n".join(lines) + "\r\n"
        with open(os.path.join(tmp, "a.jsonl"), "w", newline="") as f:
            f.write(body)
        open(os.path.join(tmp, "b.jsonl"), "w").close()
        spec = write_spec(os.path.join(tmp, "spec.json"), ["a.jsonl", "b.jsonl"])
        for threads in ("1", "2"):
            out = os.path.join(tmp, "out" + threads)
            rc, _, err = batch(spec, out, "--threads", threads, "--chunk-bytes", "4096")
            check(rc == 3, "exit %d, want 3: %s" % (rc, err))
            s = summary(out)
            check((s["files"], s["records_read"], s["records_reviewed"], s["records_rejected"]) ==
                  (2, 4, 3, 1), "summary %r" % s)
            rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
            offset = sum(len(l) + 2 for l in lines[:4])
            check(len(rejects) == 1 and (rejects[0]["line"], rejects[0]["offset"]) == (5, offset),
                  "rejects %r, want line 5 offset %d" % (rejects, offset))
            events = read_jsonl(os.path.join(out, "events.jsonl"))
            check([e["customer_run_id"] for e in events] == ["crlf-1", "crlf-4", "crlf-6"],
                  "events %s" % [e["customer_run_id"] for e in events])
            check(all(e["output_hash"] == sha256_text(good) for e in events), "output hashes")
        # Only an empty file: nothing to do, and that is a success.
        spec = write_spec(os.path.join(tmp, "spec-empty.json"), ["b.jsonl"])
        out = os.path.join(tmp, "out-empty")
        rc, _, err = batch(spec, out)
        check(rc == 0, "empty input: exit %d: %s" % (rc, err))
        check(summary(out)["records_read"] == 0, "empty input read records")
        with open(os.path.join(out, "events.jsonl"), "rb") as f:
            check(f.read() == b"", "events for an empty input")


def case_mutations():
    """Seeded random damage to real records (flipped and dropped bytes, cut lines, invalid UTF-8,
    deep nesting, odd types where strings belong): the worker never crashes, every non-blank
    line is either reviewed or rejected with a reason, and 1 and 2 threads agree."""
    import random
    rnd = random.Random(20261128)
    good = []
    for path in example_inputs():
        with open(path, "rb") as f:
            good += [l for l in f.read().split(b"\n") if l.strip()]
    lines = []
    for i in range(400):
        line = bytearray(good[i % len(good)].replace(b'"sup-', b'"m%d-' % i, 1))
        kind = rnd.randrange(9)
        if kind == 0:
            for _ in range(rnd.randrange(1, 4)):
                line[rnd.randrange(len(line))] = rnd.randrange(256)
        elif kind == 1:
            del line[rnd.randrange(len(line)):]
        elif kind == 2:
            at = rnd.randrange(len(line))
            line[at:at] = rnd.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82"])
        elif kind == 3:
            line = bytearray(b"[" * 3000 + b"]" * 3000)
        elif kind == 4:
            line = line.replace(b'"output":"', b'"output":{"x":"', 1)
        elif kind == 5:
            line = line.replace(b'"sources":[', b'"sources":[7,', 1)
        elif kind == 6:
            line = line.replace(b'"text":"', b'"text":{"deep":[1,{"k":"', 1)
        elif kind == 7:
            line = bytearray(b'{"customer_run_id":"m%d-x","output":"' % i + b"A. " * 3000 + b'"}')
        line = bytes(line).replace(b"\n", b" ")
        lines.append(line)
    with TempDir() as tmp:
        with open(os.path.join(tmp, "m.jsonl"), "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        spec = write_spec(os.path.join(tmp, "spec.json"), ["m.jsonl"])
        outs = []
        for threads in ("1", "2"):
            out = os.path.join(tmp, "out" + threads)
            rc, _, err = batch(spec, out, "--threads", threads, "--chunk-bytes", "4096")
            check(rc in (0, 3), "exit %d (a crash?): %s" % (rc, err[-2000:]))
            outs.append(out)
        same_outputs(outs[0], outs[1], "mutations 1 vs 2 threads")
        s = summary(outs[0])
        records = sum(1 for l in lines if l.strip(b" \t\r"))
        check(s["records_read"] == records, "read %d, want %d" % (s["records_read"], records))
        check(s["records_reviewed"] + s["records_rejected"] == records, "counts %r" % s)
        rejects = read_jsonl(os.path.join(outs[0], "rejects.jsonl"))
        check(len(rejects) == s["records_rejected"], "reject lines")
        check(all(r["reason"] for r in rejects), "a reject without a reason")
        check(s["records_rejected"] > 50 and s["records_reviewed"] > 50,
              "mutations too mild or too harsh: %r" % s)


def case_run_id_paths():
    """Per-run layout: run ids "../../x", "a/b" and ".." land in one encoded folder each,
    directly inside reports/<workflow>/, and nothing is written outside the out folder. In the
    report store v2 `show` finds each of them by its id, with the same bytes."""
    for name in ("bad_run_ids.jsonl", "bad_mixed.jsonl"):
        with TempDir() as tmp:
            spec = write_spec(os.path.join(tmp, "spec.json"), [data(name)])
            parent = os.path.join(tmp, "p1", "p2")
            out = os.path.join(parent, "out")
            os.makedirs(parent)
            rc, _, err = batch(spec, out, "--threads", "2", "--layout", "per-run")
            check(rc in (0, 3), "%s: exit %d: %s" % (name, rc, err))
            base = os.path.realpath(os.path.join(out, "reports", WORKFLOW))
            seen = {}
            for d, dirs, files in os.walk(out):
                for n in files + dirs:
                    real = os.path.realpath(os.path.join(d, n))
                    check(real.startswith(os.path.realpath(out) + os.sep),
                          "%s: %s escapes the out folder" % (name, real))
                for n in files:
                    if n != "claim_report.json":
                        continue
                    p = os.path.realpath(os.path.join(d, n))
                    folder = os.path.dirname(p)
                    check(os.path.dirname(folder) == base,
                          "%s: report %s is not directly under %s" % (name, p, base))
                    with open(p) as f:
                        rid = json.load(f)["customer_run_id"]
                    check(rid not in seen, "%s: two reports for %r" % (name, rid))
                    seen[rid] = os.path.basename(folder)
            for rid in ("../../x", "a/b") + ((("..",) if name == "bad_run_ids.jsonl" else ())):
                check(rid in seen, "%s: no report for run id %r" % (name, rid))
                comp = seen[rid]
                check("/" not in comp and comp not in (".", "..") and not comp.startswith("."),
                      "%s: run id %r stored as %r" % (name, rid, comp))
            # Nothing beside the out folder, above it, or at the targets the ids aim at.
            check(sorted(os.listdir(parent)) == ["out"], "%s: %s" % (name, os.listdir(parent)))
            check(sorted(os.listdir(os.path.join(tmp, "p1"))) == ["p2"], "%s: wrote into p1" % name)
            check(not os.path.exists(os.path.join(out, "reports", "x")), "%s: reports/x" % name)
            check(not os.path.exists(os.path.join(base, "a", "b")), "%s: a/b nested" % name)
            check(sorted(os.listdir(os.path.join(out, "reports"))) == [WORKFLOW],
                  "%s: reports/ holds %s" % (name, os.listdir(os.path.join(out, "reports"))))
            v2 = os.path.join(tmp, "v2")
            rc, _, err = batch(spec, v2, "--threads", "2")
            check(rc in (0, 3), "%s v2: exit %d: %s" % (name, rc, err))
            per_run = store_reports(out)
            for rid in per_run:
                rc, shown, err = run(WORKER, "show", "--out", v2, rid)
                check(rc == 0 and shown.encode() == per_run[rid],
                      "%s: show %r: exit %d %s" % (name, rid, rc, err))


def expect_usage(args, needles, what, out=None):
    rc, stdout, err = run(WORKER, *args)
    check(rc == 2, "%s: exit %d, want 2 (stderr: %s)" % (what, rc, err.strip()))
    for n in needles:
        check(n.lower() in err.lower(), "%s: stderr does not name %r: %s" % (what, n, err.strip()))
    if out is not None:
        check(not os.path.exists(out), "%s: wrote %s for an invalid job" % (what, out))


def case_bad_specs():
    """An invalid spec, or inputs that cannot be read, is exit 2 with a message naming the
    problem, and nothing is written."""
    with TempDir() as tmp:
        traces = os.path.join(ROOT, "data", "examples", "traces")
        out = os.path.join(tmp, "out")

        def spec(name, text):
            p = os.path.join(tmp, name)
            with open(p, "w") as f:
                f.write(text)
            return p

        base = json.load(open(example_spec()))
        base["inputs"] = [os.path.join(traces, "*.jsonl")]

        def variant(name, **changes):
            s = dict(base)
            for k, v in changes.items():
                if v is None:
                    s.pop(k, None)
                else:
                    s[k] = v
            return spec(name, json.dumps(s))

        cases = [
            (variant("unknown.json", inptus=["x"]), ["unknown field", "inptus"]),
            (variant("unknown2.json", fields=dict(base["fields"], outptu="/o")),
             ["unknown field", "fields.outptu"]),
            (variant("noinputs.json", inputs=None), ["inputs"]),
            (variant("emptyinputs.json", inputs=[]), ["inputs"]),
            (variant("schema.json", schema_version="kivo_worker_job_spec.v0"),
             ["schema_version"]),
            (variant("noschema.json", schema_version=None), ["schema_version"]),
            (variant("noworkflow.json", workflow_id=None), ["workflow_id"]),
            (variant("strictness.json", strictness="harsh"), ["strictness"]),
            (variant("pointer.json", fields=dict(base["fields"], output="output")),
             ["fields.output"]),
            (variant("limit.json", limits={"max_line_bytes": 10}), ["limits.max_line_bytes"]),
            (variant("glob.json", inputs=[os.path.join(traces, "*.csv")]),
             ["*.csv", "matches no file"]),
            (variant("globdir.json", inputs=["nothing-here/*.jsonl"]),
             ["nothing-here/*.jsonl"]),
            (variant("missing.json", inputs=[os.path.join(traces, "2026-01-01-none.jsonl")]),
             ["2026-01-01-none.jsonl"]),
            (spec("notjson.json", '{"schema_version": '), ["not valid JSON"]),
            (spec("dup.json", json.dumps(base)[:-1] + ', "workflow_id": "again"}'),
             ["duplicate", "workflow_id"]),
        ]
        # An input that exists but cannot be read: a dangling symlink, a folder without data.
        os.symlink("/nonexistent/kivo-target.jsonl", os.path.join(tmp, "dangling.jsonl"))
        cases.append((variant("dangling.json", inputs=[os.path.join(tmp, "dangling.jsonl")]),
                      ["cannot read input", "dangling.jsonl"]))
        os.mkdir(os.path.join(tmp, "nodata"))
        cases.append((variant("nodata.json", inputs=[os.path.join(tmp, "nodata")]),
                      ["nodata", "no .jsonl"]))
        if os.geteuid() != 0:      # root reads mode-000 files anyway
            locked = os.path.join(tmp, "locked.jsonl")
            open(locked, "w").close()
            os.chmod(locked, 0)
            cases.append((variant("locked.json", inputs=[locked]), ["locked.jsonl"]))
        for path, needles in cases:
            expect_usage(["batch", "--job-spec-file", path, "--out", out, "--quiet"], needles,
                         os.path.basename(path), out)
        # The spec file itself unreadable: missing, or a folder.
        expect_usage(["batch", "--job-spec-file", os.path.join(tmp, "none.json"), "--out", out],
                     ["none.json"], "missing spec", out)
        expect_usage(["batch", "--job-spec-file", tmp, "--out", out], ["cannot read job spec"],
                     "spec is a folder", out)
        # The worker's own example spec still works from this folder (sanity of the variants).
        rc, _, err = batch(variant("good.json"), out)
        check(rc == 0, "the unchanged spec failed: exit %d: %s" % (rc, err))


def case_fatal_io():
    """An out folder that cannot be made is a fatal I/O error: exit 1 with a message."""
    with TempDir() as tmp:
        blocker = os.path.join(tmp, "file")
        open(blocker, "w").close()
        rc, _, err = batch(example_spec(), os.path.join(blocker, "out"))
        check(rc == 1, "exit %d, want 1: %s" % (rc, err))
        check("cannot create" in err and "file/out" in err, "message: %s" % err.strip())
        # A report that cannot be written mid-run (per-run layout: a file where its folder must
        # go): exit 1, and no events.jsonl claims runs whose reports are missing; no partial
        # files are left.
        out = os.path.join(tmp, "out")
        wf = os.path.join(out, "reports", WORKFLOW)
        os.makedirs(wf)
        open(os.path.join(wf, "sup-1125-004"), "w").close()
        rc, _, err = batch(example_spec(), out, "--threads", "2", "--layout", "per-run")
        check(rc == 1, "blocked report: exit %d, want 1: %s" % (rc, err))
        check("cannot write reports" in err, "message: %s" % err.strip())
        left = sorted(os.listdir(out))
        # The manifest stays: it names the batch the folder belongs to.
        check(left == ["manifest.json", "reports"],
              "after a fatal error the out folder holds %s" % left)
        # The report store v2: a folder where its index goes.
        out = os.path.join(tmp, "out2")
        os.makedirs(os.path.join(out, "reports", "index"))
        rc, _, err = batch(example_spec(), out, "--threads", "2")
        check(rc == 1 and "reports/index" in err, "blocked index: exit %d: %s" % (rc, err))
        left = sorted(os.listdir(out))
        # The manifest stays: it names the batch the folder belongs to.
        check(left == ["manifest.json", "reports"],
              "after a fatal error the out folder holds %s" % left)


def make_record(rid, output, text):
    return json.dumps({"customer_run_id": rid, "output": output,
                       "sources": [{"id": "kb", "title": "T", "text": text}]})


def case_line_limit():
    """A line over limits.max_line_bytes is a reject (with its line and offset), and the lines
    around it are reviewed; a line longer than the read chunk but under the limit is fine."""
    good = "Standard shipping takes 3 to 5 business days and costs $4.99."
    with TempDir() as tmp:
        long_text = ("Standard shipping takes 3 to 5 business days. " * 70)[:3200]
        lines = [make_record("ok-1", good, good),
                 make_record("too-long", good, long_text),
                 make_record("ok-3", good, good)]
        body = "\n".join(lines) + "\n"
        with open(os.path.join(tmp, "in.jsonl"), "w") as f:
            f.write(body)
        offset = len(lines[0]) + 1
        check(len(lines[1]) > 3000, "test input too short")

        # 1) Limit 1024, line of ~3.3 KB, read in default (1 MiB) and 4 KiB chunks.
        # BUG (src/worker/batch.c review_slot / src/worker/reader.c wk_reader_next): the limit is
        # only checked when one line fills a whole read buffer, so a line longer than
        # max_line_bytes but shorter than the chunk is reviewed instead of rejected. Fix: in
        # review_slot(), reject a line with len > spec->max_line_bytes with the same reason
        # ("line of N bytes is over the limit of M bytes") as an over-long chunk.
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"],
                          limits={"max_line_bytes": 1024})
        for extra in ([], ["--chunk-bytes", "4096"]):
            out = os.path.join(tmp, "out%d" % len(extra))
            rc, _, err = batch(spec, out, *extra)
            s = summary(out)
            rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
            events = read_jsonl(os.path.join(out, "events.jsonl"))
            check([e["customer_run_id"] for e in events] == ["ok-1", "ok-3"],
                  "chunk %s: reviewed %s, want ok-1 and ok-3 (a %d-byte line passed a 1024-byte "
                  "limit)" % (extra or "default", [e["customer_run_id"] for e in events],
                              len(lines[1])))
            check(rc == 3, "exit %d, want 3: %s" % (rc, err))
            check(len(rejects) == 1 and rejects[0]["line"] == 2 and
                  rejects[0]["offset"] == offset and "limit" in rejects[0]["reason"],
                  "rejects: %r" % rejects)
            check(s["records_read"] == 3 and s["records_rejected"] == 1, "summary %r" % s)


def case_line_limit_over_chunk():
    """A line longer than the read chunk: over the limit it is a reject and the rest goes on;
    under the limit the buffer grows and it is reviewed."""
    good = "Standard shipping takes 3 to 5 business days and costs $4.99."
    with TempDir() as tmp:
        long_text = ("Standard shipping takes 3 to 5 business days. " * 250)[:10500]
        lines = [make_record("ok-1", good, good), make_record("long", good, long_text),
                 make_record("ok-3", good, good)]
        with open(os.path.join(tmp, "in.jsonl"), "w") as f:
            f.write("\n".join(lines))          # and no final newline
        # Exactly at the limit, and one byte over it (line bytes without the '\n').
        edge = [make_record("at-limit", good, "x" * 4700), make_record("over", good, "x" * 4700)]
        edge[0] = edge[0].replace('"T"', '"' + "T" * (5000 - len(edge[0]) + 1) + '"')
        edge[1] = edge[1].replace('"T"', '"' + "T" * (5001 - len(edge[1]) + 1) + '"')
        check((len(edge[0]), len(edge[1])) == (5000, 5001), "edge lengths %d %d" %
              (len(edge[0]), len(edge[1])))
        with open(os.path.join(tmp, "edge.jsonl"), "w") as f:
            f.write(lines[0] + "\n" + edge[0] + "\n" + edge[1] + "\n" + lines[2] + "\n")
        spec = write_spec(os.path.join(tmp, "edge.json"), ["edge.jsonl"],
                          limits={"max_line_bytes": 5000})
        out = os.path.join(tmp, "out-edge")
        rc, _, err = batch(spec, out, "--chunk-bytes", "4096")
        check(rc == 3, "edge: exit %d, want 3: %s" % (rc, err))
        events = read_jsonl(os.path.join(out, "events.jsonl"))
        check([e["customer_run_id"] for e in events] == ["ok-1", "at-limit", "ok-3"],
              "edge: reviewed %s" % [e["customer_run_id"] for e in events])
        rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
        # (The reason counts the '\n' too: "line of 5002 bytes"; only the limit is checked.)
        check(len(rejects) == 1 and rejects[0]["line"] == 3 and
              "limit of 5000 bytes" in rejects[0]["reason"], "edge: rejects %r" % rejects)
        for limit, want_ids, code in ((1024, ["ok-1", "ok-3"], 3),
                                      (65536, ["ok-1", "long", "ok-3"], 0)):
            spec = write_spec(os.path.join(tmp, "spec%d.json" % limit), ["in.jsonl"],
                              limits={"max_line_bytes": limit})
            for threads in ("1", "2"):
                out = os.path.join(tmp, "out-%d-%s" % (limit, threads))
                rc, _, err = batch(spec, out, "--chunk-bytes", "4096", "--threads", threads)
                check(rc == code, "limit %d: exit %d, want %d: %s" % (limit, rc, code, err))
                events = read_jsonl(os.path.join(out, "events.jsonl"))
                check([e["customer_run_id"] for e in events] == want_ids,
                      "limit %d: reviewed %s" % (limit, [e["customer_run_id"] for e in events]))
                rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
                if code == 3:
                    check(len(rejects) == 1, "rejects %r" % rejects)
                    r = rejects[0]
                    check((r["line"], r["offset"]) == (2, len(lines[0]) + 1), "reject %r" % r)
                    check("limit" in r["reason"] and str(limit) in r["reason"], "reason %r" % r)
                else:
                    check(rejects == [], "rejects %r" % rejects)
                s = summary(out)
                check(s["records_read"] == 3 and
                      s["records_reviewed"] + s["records_rejected"] == 3, "summary %r" % s)


def case_events_scan():
    """events.jsonl of the example: one JSON object per line with exactly the event schema's
    keys, no rejected raw field at any depth, no output or source text, and every value checked
    against the input and the report it points at."""
    with TempDir() as tmp:
        out = os.path.join(tmp, "out")
        rc, _, err = batch(example_spec(), out, "--threads", "2")
        check(rc == 0, "exit %d: %s" % (rc, err))
        path = os.path.join(out, "events.jsonl")
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8")
        lines = raw.split("\n")
        check(lines[-1] == "" and len(lines) == 31, "want 30 newline-ended lines")
        recs = {r["id"]: r for r in read_records(example_inputs())}
        spec = json.load(open(example_spec()))
        stored = store_reports(out)
        strings = []
        ids = set()
        for n, line in enumerate(lines[:-1], 1):
            pairs = json.loads(line, object_pairs_hook=lambda p: p)
            keys = [k for k, _ in pairs]
            check(keys == EVENT_KEYS, "line %d keys %s" % (n, keys))
            e = json.loads(line)

            def walk(v):
                if isinstance(v, dict):
                    for k, x in v.items():
                        check(k not in RAW_FIELDS, "line %d holds raw field %r" % (n, k))
                        walk(x)
                elif isinstance(v, list):
                    for x in v:
                        walk(x)
                elif isinstance(v, str):
                    strings.append(v)
            walk(e)
            rid = e["customer_run_id"]
            check(rid in recs and rid not in ids, "line %d: run id %r" % (n, rid))
            ids.add(rid)
            rec = recs[rid]
            check(e["schema_version"] == "kivo_private_worker_review_run_event.v1", "schema")
            check(e["event_type"] == "completed" and e["status"] == "completed", "type/status")
            check(e["event_id"] == event_id(WORKFLOW, rid), "line %d: event_id %s" %
                  (n, e["event_id"]))
            check(e["sequence"] == 1, "sequence %r" % e["sequence"])
            check(e["review_run_id"] is None, "offline events have no review_run_id")
            check(e["worker_id"] == spec["worker_id"], "worker_id")
            check(e["worker_version"].startswith("kivo-worker."), "worker_version")
            check(e["gate_verdict"] in VERDICTS and e["safe_use_status"] in VERDICTS, "verdicts")
            check(0 <= e["unsupported_claim_count"] <= e["claim_count"], "counts")
            check(e["output_hash"] == sha256_text(rec["output"]),
                  "%s: output_hash is not sha256 of the output" % rid)
            check(e["source_count"] == len(rec["sources"]) == len(e["source_hashes"]),
                  "%s: source_count" % rid)
            for (sid, _, text), h in zip(rec["sources"], e["source_hashes"]):
                check(h == sha256_text(text), "%s: hash of source %s" % (rid, sid))
            check(all(c in CATEGORIES for c in e["redacted_failure_categories"]), "categories")
            a = e["artifact_summaries"]
            check(len(a) == 1 and list(a[0]) == ARTIFACT_KEYS, "artifact keys")
            a = a[0]
            check((a["artifact_name"], a["artifact_type"], a["format"], a["file_count"]) ==
                  ("claim_report", "claim_report", "json", 1), "artifact %r" % a)
            check(a["storage_label"] == spec["report_store"]["label"], "storage_label")
            report_bytes = stored[rid]
            check(a["sha256"] == sha256_text(report_bytes),
                  "%s: artifact sha256 is not the stored report's" % rid)
            report = json.loads(report_bytes)
            for k in ("gate_verdict", "safe_use_status", "claim_count",
                      "unsupported_claim_count", "output_hash", "source_count"):
                check(report[k] == e[k], "%s: %s differs between event and report" % (rid, k))
            check(report["failure_categories"] == e["redacted_failure_categories"],
                  "%s: categories differ" % rid)
            check(len(report["claims"]) == e["claim_count"], "%s: claim_count" % rid)
            check([s["sha256"] for s in report["sources"]] == e["source_hashes"],
                  "%s: source hashes differ" % rid)
        check(ids == set(recs), "not every run has an event")
        # No raw text: no 24-byte stretch of any output or source, raw or as decoded strings.
        blob = raw + "\n" + "\n".join(strings)
        texts = [r["output"] for r in recs.values()] + \
                [t for r in recs.values() for (_, _, t) in r["sources"]]
        windows = 0
        for t in texts:
            for i in range(0, max(len(t) - 24, 0) + 1, 8):
                w = t[i:i + 24]
                if len(w.strip()) < 16:
                    continue
                windows += 1
                check(w not in blob, "events.jsonl holds input text %r" % w)
                check(json.dumps(w)[1:-1] not in raw, "events.jsonl holds escaped text %r" % w)
        check(windows > 1000, "too few windows checked (%d)" % windows)


def case_summary():
    """summary.json adds up against events.jsonl and the input; --json prints the same counts."""
    with TempDir() as tmp:
        out = os.path.join(tmp, "out")
        rc, stdout, err = batch(example_spec(), out, "--threads", "2", "--json")
        check(rc == 0, "exit %d: %s" % (rc, err))
        printed = json.loads(stdout)
        s = summary(out)
        for k in COUNT_FIELDS + ["threads", "out_dir"]:
            check(printed[k] == s[k], "--json %s %r != summary.json %r" % (k, printed[k], s[k]))
        check(s["schema_version"] == "kivo_worker_summary.v1", "schema_version")
        check(s["workflow_id"] == WORKFLOW and s["threads"] == 2, "workflow/threads")
        check(s["out_dir"] == out, "out_dir %r" % s["out_dir"])
        check(s["files"] == 3, "files %r" % s["files"])
        check(s["bytes_read"] == sum(os.path.getsize(p) for p in example_inputs()), "bytes_read")
        check((s["records_read"], s["records_reviewed"], s["records_rejected"],
               s["duplicate_run_ids"]) == (30, 30, 0, 0), "records %r" % s)
        events = read_jsonl(os.path.join(out, "events.jsonl"))
        check(sum(s["verdicts"].values()) == 30, "verdicts add up to %d" %
              sum(s["verdicts"].values()))
        for v in VERDICTS:
            check(s["verdicts"][v] == sum(e["gate_verdict"] == v for e in events), "verdict " + v)
        check(sorted(s["failure_categories"]) == sorted(CATEGORIES), "category keys")
        for c in CATEGORIES:
            check(s["failure_categories"][c] ==
                  sum(c in e["redacted_failure_categories"] for e in events), "category " + c)
        # data/examples/README.md: exactly one empty output and one run without sources.
        check(s["failure_categories"]["empty_output"] == 1, "empty_output runs")
        check(s["failure_categories"]["no_sources"] == 1, "no_sources runs")
        check(s["claims"] == sum(e["claim_count"] for e in events), "claims")
        check(s["unsupported_claims"] == sum(e["unsupported_claim_count"] for e in events),
              "unsupported_claims")
        for k in ("seconds", "mb_per_s", "records_per_s", "claims_per_s"):
            check(isinstance(s[k], (int, float)) and s[k] >= 0, k)
        check(s["peak_rss_bytes"] > 0, "peak_rss_bytes")
        # Without --json nothing goes to stdout; without --quiet the closing line goes to stderr.
        rc, stdout, err = run(WORKER, "batch", "--job-spec-file", example_spec(), "--out",
                              os.path.join(tmp, "out2"))
        check(rc == 0 and stdout == "", "stdout without --json: %r" % stdout[:80])
        check("30 records read" in err, "stderr line: %s" % err.strip())


def case_options():
    """--help and --version exit 0; usage errors exit 2."""
    for args in (["--help"], ["-h"], ["help"], ["batch", "--help"]):
        rc, out, err = run(WORKER, *args)
        check(rc == 0, "%s: exit %d" % (args, rc))
        check("Usage: kivo-worker" in out, "%s: no usage on stdout" % args)
    rc, out, _ = run(WORKER, "--version")
    check(rc == 0 and "kivo-worker" in out and "kivo-engine" in out, "--version: %r" % out)
    with TempDir() as tmp:
        out_dir = os.path.join(tmp, "out")
        spec = example_spec()
        for args, needle in [
                ([], "Usage"),
                (["frobnicate"], "unknown command"),
                (["batch"], "--job-spec-file"),
                (["batch", "--bogus"], ""),
                (["batch", "--job-spec-file"], ""),
                (["batch", "--job-spec-file", spec, "--threads", "0"], "--threads"),
                (["batch", "--job-spec-file", spec, "--threads", "two"], "--threads"),
                (["batch", "--job-spec-file", spec, "--threads", "-1"], "--threads"),
                (["batch", "--job-spec-file", spec, "--chunk-bytes", "100"], "--chunk-bytes"),
                (["batch", "--job-spec-file", spec, "extra-arg"], "extra-arg")]:
            if args[:1] == ["batch"] and args[-1] != "--job-spec-file":
                args = args + ["--out", out_dir]
            expect_usage(args, [needle] if needle else [], " ".join(args) or "(no arguments)",
                         out_dir)


def case_compressed():
    """.jsonl.gz and .jsonl.zst inputs (files, and found in a folder) give the same bytes as the
    plain corpus at 1 and 2 threads and in small chunks; a truncated or corrupt compressed file
    is one reject at the point where it breaks, its records before that point are reviewed, and
    the other files of the job go on."""
    import gzip
    import shutil
    import subprocess
    with TempDir() as tmp:
        plain = os.path.join(tmp, "plain", "corpus.jsonl")
        os.makedirs(os.path.dirname(plain))
        run(os.path.join(ROOT, "scripts", "gen-corpus"), "--records", "400", "--seed", "5",
            "--out", plain, "--quiet")
        with open(plain, "rb") as f:
            body = f.read()
        os.makedirs(os.path.join(tmp, "gz"))
        os.makedirs(os.path.join(tmp, "zst"))
        with gzip.open(os.path.join(tmp, "gz", "corpus.jsonl.gz"), "wb") as f:
            f.write(body)
        zst = os.path.join(tmp, "zst", "corpus.jsonl.zst")
        subprocess.run(["zstd", "-q", "-3", plain, "-o", zst], check=True)
        ref = os.path.join(tmp, "out-plain")
        rc, _, err = batch(write_spec(os.path.join(tmp, "plain.json"), ["plain/corpus.jsonl"]), ref)
        check(rc == 0, "plain: exit %d: %s" % (rc, err))
        check(summary(ref)["records_reviewed"] == 400, "plain: %r" % summary(ref))
        for name, inputs in (("gz", ["gz/corpus.jsonl.gz"]), ("zst", ["zst/corpus.jsonl.zst"]),
                             ("gz-folder", ["gz"]), ("zst-folder", ["zst"])):
            spec = write_spec(os.path.join(tmp, name + ".json"), inputs)
            for extra in ([], ["--threads", "2"], ["--threads", "2", "--chunk-bytes", "4096"]):
                out = os.path.join(tmp, "out-%s-%d" % (name, len(extra)))
                rc, _, err = batch(spec, out, *extra)
                check(rc == 0, "%s %s: exit %d: %s" % (name, extra, rc, err))
                same_outputs(ref, out, "%s %s" % (name, extra))

        # Damage: a .gz cut in the middle, a .zst with bytes overwritten mid-file, and a plain
        # file after them in the same job.
        with open(os.path.join(tmp, "gz", "corpus.jsonl.gz"), "rb") as f:
            gz = f.read()
        with open(zst, "rb") as f:
            zs = bytearray(f.read())
        os.makedirs(os.path.join(tmp, "bad"))
        with open(os.path.join(tmp, "bad", "a-cut.jsonl.gz"), "wb") as f:
            f.write(gz[: len(gz) // 2])
        mid = len(zs) // 2
        zs[mid:mid + 64] = b"\xff" * 64
        with open(os.path.join(tmp, "bad", "b-corrupt.jsonl.zst"), "wb") as f:
            f.write(bytes(zs))
        shutil.copy(plain, os.path.join(tmp, "bad", "c-plain.jsonl"))
        out = os.path.join(tmp, "out-bad")
        rc, _, err = batch(write_spec(os.path.join(tmp, "bad.json"), ["bad"]), out)
        check(rc == 3, "damaged: exit %d, want 3: %s" % (rc, err))
        rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
        files = sorted(os.path.basename(r["file"]) for r in rejects
                       if "compressed data is corrupt or truncated" in r["reason"])
        check(files == ["a-cut.jsonl.gz", "b-corrupt.jsonl.zst"], "damage rejects: %r" % rejects)
        events = read_jsonl(os.path.join(out, "events.jsonl"))
        s = summary(out)
        # Each damaged file gave some of its records before the damage, the plain one all 400;
        # duplicates of the run ids across files are rejects, never lost.
        check(s["records_reviewed"] == 400 and len(events) == 400, "damaged: %r" % s)
        check(s["records_read"] == s["records_reviewed"] + s["records_rejected"], "summary %r" % s)
        dups = [r for r in rejects if "duplicate customer_run_id" in r["reason"]]
        check(100 < len(dups) < 800, "records before the damage: %d duplicates" % len(dups))


def snapshot(root):
    """{relative path: (kind, bytes or link target, mode)} of everything under root, links not
    followed: what the worker may not change outside its folder."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if os.path.islink(p):
                out[os.path.relpath(p, root)] = ("link", os.readlink(p), st.st_mode)
            elif os.path.isdir(p):
                out[os.path.relpath(p, root)] = ("dir", None, st.st_mode)
            else:
                with open(p, "rb") as f:
                    out[os.path.relpath(p, root)] = ("file", f.read(), st.st_mode)
    return out


def case_planted_symlinks():
    """Links planted in the out folder (issue 12): at the old temporary names they are never
    touched; at a name the worker writes, or as a folder on its way, the batch stops with exit 1
    and a message naming the link. Nothing outside the out folder is ever written. Both layouts
    (the per-run one has the most names to plant links at)."""
    with TempDir() as tmp:
        clean = os.path.join(tmp, "clean")
        rc, _, err = batch(example_spec(), clean, "--threads", "2", "--layout", "per-run")
        check(rc == 0, "clean run: exit %d: %s" % (rc, err))
        wf = os.path.join("reports", WORKFLOW)
        flagged = sorted(r for r in os.listdir(os.path.join(clean, wf))
                         if os.path.exists(os.path.join(clean, wf, r, "claim_report.html")))
        passed = sorted(r for r in os.listdir(os.path.join(clean, wf)) if r not in flagged)
        check(flagged and passed, "the example has flagged and passing runs: %r" % flagged)
        run1, run2 = flagged[0], passed[0]
        outside = os.path.join(tmp, "outside")

        def attempt(name, links, want_rc, needles=(), folders=(), layout="per-run"):
            """A fresh out folder with `folders` made and `links` planted (path in out ->
            target name in outside), then a batch; the outside tree must not change."""
            shutil.rmtree(outside, ignore_errors=True)
            os.makedirs(os.path.join(outside, "outside_dir"))
            for v in ("victim1", "victim2", "victim4", "victim5"):
                with open(os.path.join(outside, v), "w") as f:
                    f.write("precious %s\n" % v)
            before = snapshot(outside)
            out = os.path.join(tmp, "out-" + name)
            for d in folders:
                os.makedirs(os.path.join(out, d), exist_ok=True)
            for path, target in links:
                os.makedirs(os.path.dirname(os.path.join(out, path)), exist_ok=True)
                os.symlink(os.path.join(outside, target), os.path.join(out, path))
            rc, _, err = batch(example_spec(), out, "--threads", "2", "--layout", layout)
            check(rc == want_rc, "%s: exit %d, want %d: %s" % (name, rc, want_rc, err.strip()))
            for n in needles:
                check(n in err, "%s: the message does not name %r: %s" % (name, n, err.strip()))
            after = snapshot(outside)
            check(after == before, "%s: the worker changed files outside its folder: %s" %
                  (name, sorted(set(after) ^ set(before)) or
                   [k for k in after if after[k] != before[k]]))
            # The links themselves are left as they were (v2 removes its own names).
            for path, target in (links if layout == "per-run" or want_rc != 0 else ()):
                p = os.path.join(out, path)
                check(os.path.islink(p) and os.readlink(p) == os.path.join(outside, target),
                      "%s: the link %s was changed" % (name, path))
            return out, err

        # The four links. The old fixed temporary names are never used, so the first
        # three harm nothing and the batch succeeds with its files where they belong.
        planted = [(os.path.join(wf, run1, "claim_report.json.tmp"), "victim1"),
                   ("summary.json.tmp", "victim2"), ("index.html.tmp", "victim4"),
                   ("events.jsonl.partial", "victim5")]
        out, _ = attempt("old-tmp-names", planted, 0)
        got = set(tree(out)) - set(p for p, _ in planted)
        check(got == set(tree(clean)), "old-tmp-names: files %s" % sorted(got ^ set(tree(clean))))
        # A linked run folder: refused, its reports written nowhere.
        attempt("run-folder", [(os.path.join(wf, "sup-1124-002"), "outside_dir")], 1,
                ["reports/%s/sup-1124-002" % WORKFLOW, "symbolic link"])
        # Linked folders higher up: reports/ and reports/<workflow>.
        attempt("reports", [("reports", "outside_dir")], 1, ["/reports", "symbolic link"])
        attempt("workflow", [(wf, "outside_dir")], 1, [wf, "symbolic link"])
        # Links at the names the worker writes: refused, the victim untouched.
        for name in ("events.jsonl", "rejects.jsonl", "summary.json", "index.html"):
            attempt(name, [(name, "victim2")], 1, [name, "symbolic link"])
        attempt("report", [(os.path.join(wf, run1, "claim_report.json"), "victim1")], 1,
                ["%s/claim_report.json" % run1, "symbolic link"])
        attempt("page", [(os.path.join(wf, run1, "claim_report.html"), "victim1")], 1,
                ["%s/claim_report.html" % run1, "symbolic link"])
        # A stale page link beside a run that gets no page: removed, not followed.
        out, _ = attempt("stale-page", [], 0, folders=[os.path.join(wf, run2)])
        os.symlink(os.path.join(outside, "victim1"), os.path.join(out, wf, run2,
                                                                  "claim_report.html"))
        rc, _, err = batch(example_spec(), out, "--layout", "per-run")
        check(rc == 0 and not os.path.lexists(os.path.join(out, wf, run2, "claim_report.html")),
              "stale page link: exit %d: %s" % (rc, err))
        with open(os.path.join(outside, "victim1")) as f:
            check(f.read() == "precious victim1\n", "stale page link: the victim changed")
        # The report store v2: a linked reports/ folder is refused; links at the names of parts
        # and of the index (left, say, by an earlier batch) are removed, never followed.
        attempt("v2-reports", [("reports", "outside_dir")], 1, ["/reports", "symbolic link"],
                layout="v2")
        out, _ = attempt("v2-names", [("reports/part-00000.jsonl", "victim1"),
                                      ("reports/part-00000.jsonl.partial", "victim2"),
                                      ("reports/index", "victim4")], 0, layout="v2")
        check(len(store_reports(out)) == 30, "v2-names: the store is incomplete")
        # Its pages: a linked pages/ folder is refused; links at page names are removed.
        attempt("v2-pages", [("pages", "outside_dir")], 1, ["pages", "symbolic link"],
                layout="v2")
        out, _ = attempt("v2-page-names", [("pages/0000.html", "victim1"),
                                           ("pages/0000.html.partial", "victim2"),
                                           ("pages/0001.html", "victim4")], 0, layout="v2")
        page0 = os.path.join(out, "pages", "0000.html")
        check(os.path.isfile(page0) and not os.path.islink(page0) and
              sorted(os.listdir(os.path.join(out, "pages"))) == ["0000.html"],
              "v2-page-names: pages %s" % os.listdir(os.path.join(out, "pages")))
        # submit on an outbox whose state file is a link: refused before anything is sent.
        out, _ = attempt("outbox", [("outbox.state", "victim2")], 0)
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("kivo_test_key\n")
        rc, _, err = run(WORKER, "submit", "--outbox", out, "--kivo-api-base-url",
                         "http://127.0.0.1:9", "--api-key-file", key, "--retry-deadline", "1")
        check(rc == 1 and "outbox.state" in err and "symbolic link" in err,
              "submit with a linked outbox.state: exit %d: %s" % (rc, err.strip()))
        with open(os.path.join(outside, "victim2")) as f:
            check(f.read() == "precious victim2\n", "outbox.state link: the victim changed")


def file_modes(out):
    return {os.path.relpath(os.path.join(d, n), out): os.lstat(os.path.join(d, n)).st_mode & 0o7777
            for d, dirs, files in os.walk(out) for n in dirs + files}


def case_file_modes():
    """What the batch creates is private (issue 12): reports and pages, which hold raw text, 0600;
    summary.json, index.html, events.jsonl, rejects.jsonl 0640 (metadata only); folders 0750;
    the umask takes bits away from all of them. Reports that were 0644 are replaced by 0600.
    The report store v2: parts 0600 (raw text), its index 0640 (ids, hashes, verdicts)."""
    with TempDir() as tmp:
        for mask in (0o022, 0o077, 0o002):
            out = os.path.join(tmp, "v2-%03o" % mask)
            p = subprocess.run([WORKER, "batch", "--job-spec-file", example_spec(), "--out", out,
                                "--quiet", "--part-size", "8K"], capture_output=True,
                               preexec_fn=lambda m=mask: os.umask(m), timeout=120)
            check(p.returncode == 0, "v2 umask %03o: exit %d: %s" % (mask, p.returncode, p.stderr))
            modes = file_modes(out)
            for rel, mode in modes.items():
                base = os.path.basename(rel)
                want = (0o600 if base.startswith("part-") or rel.startswith("pages/") else
                        0o640 if base in ("summary.json", "index.html", "events.jsonl", "manifest.json",
                                          "rejects.jsonl", "index") else
                        0o750 if os.path.isdir(os.path.join(out, rel)) else None)
                check(want is not None, "v2 umask %03o: unexpected %s" % (mask, rel))
                check(mode == want & ~mask, "v2 umask %03o: %s is %04o, want %04o" %
                      (mask, rel, mode, want & ~mask))
            # Pages (raw text) 0600 like the parts.
            check(sum(r.startswith("reports/part-") for r in modes) > 2 and
                  "reports/index" in modes and "pages/0000.html" in modes,
                  "v2 umask %03o: %s" % (mask, sorted(modes)))
        for mask in (0o022, 0o077, 0o002):
            out = os.path.join(tmp, "out-%03o" % mask, "deeper")
            p = subprocess.run([WORKER, "batch", "--job-spec-file", example_spec(), "--out", out,
                                "--quiet", "--threads", "2", "--layout", "per-run"],
                               capture_output=True,
                               preexec_fn=lambda m=mask: os.umask(m), timeout=120)
            check(p.returncode == 0, "umask %03o: exit %d: %s" % (mask, p.returncode, p.stderr))
            modes = file_modes(out)
            pages = 0
            for rel, mode in modes.items():
                base = os.path.basename(rel)
                want = (0o600 if base in ("claim_report.json", "claim_report.html") else
                        0o640 if base in ("summary.json", "index.html", "events.jsonl", "manifest.json",
                                          "rejects.jsonl") else
                        0o750 if os.path.isdir(os.path.join(out, rel)) else None)
                check(want is not None, "umask %03o: unexpected %s" % (mask, rel))
                check(mode == want & ~mask, "umask %03o: %s is %04o, want %04o" %
                      (mask, rel, mode, want & ~mask))
                pages += base == "claim_report.html"
            check(pages > 0 and len(modes) > 60, "umask %03o: %d entries" % (mask, len(modes)))
            # The out folder and the parent it made: 0750 less the umask too.
            for d in (out, os.path.dirname(out)):
                m = os.stat(d).st_mode & 0o7777
                check(m == 0o750 & ~mask, "umask %03o: %s is %04o" % (mask, d, m))
        # A rerun over reports an older worker left 0644: replaced by private files.
        out = os.path.join(tmp, "out-022", "deeper")
        for rel in file_modes(out):
            if rel.endswith(".json") or rel.endswith(".html"):
                os.chmod(os.path.join(out, rel), 0o644)
        p = subprocess.run([WORKER, "batch", "--job-spec-file", example_spec(), "--out", out,
                            "--quiet", "--layout", "per-run"], capture_output=True,
                           preexec_fn=lambda: os.umask(0o022))
        check(p.returncode == 0, "rerun: %s" % p.stderr)
        for rel, mode in file_modes(out).items():
            if rel.endswith("claim_report.json"):
                check(mode == 0o600, "rerun: %s is %04o" % (rel, mode))


def case_input_shrinks():
    """An input truncated while the batch reads it (issue 12), at a line boundary so that no torn
    line gives it away: a reject names the file, where reading stopped and the two sizes; exit 3;
    every record before the cut is reviewed. Deterministic: the worker is stopped (SIGSTOP), the
    bytes it has read so far are taken from /proc/PID/io, the file is cut well past them, then the
    worker goes on (SIGCONT)."""
    with TempDir() as tmp:
        trace = os.path.join(tmp, "big.jsonl")
        lines = []
        with open(trace, "wb") as f:
            for i in range(6000):
                line = (make_record("shrink-%05d" % i, "The plan costs $%d a month." % (i % 50),
                                    "Plans. The plan costs $%d a month. Support is free. %s" %
                                    (i % 50, "x" * (i % 700))) + "\n").encode()
                lines.append(line)
                f.write(line)
        size = os.path.getsize(trace)
        spec = write_spec(os.path.join(tmp, "spec.json"), [trace])
        out = os.path.join(tmp, "out")
        errf = open(os.path.join(tmp, "stderr"), "wb")
        # The per-run layout: its first report file says when reading has begun.
        w = subprocess.Popen([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet",
                              "--threads", "1", "--chunk-bytes", "4096", "--layout", "per-run"],
                             stderr=errf,
                             stdout=subprocess.DEVNULL)
        first = os.path.join(out, "reports", WORKFLOW, "shrink-00000", "claim_report.json")
        deadline = time.time() + 60
        while not os.path.exists(first) and w.poll() is None and time.time() < deadline:
            time.sleep(0.002)
        os.kill(w.pid, signal.SIGSTOP)
        try:
            check(w.poll() is None, "the worker ended before it could be stopped")
            with open("/proc/%d/io" % w.pid) as f:
                rchar = int(next(l for l in f if l.startswith("rchar:")).split()[1])
            # Everything the worker has read is below rchar (it counts every read of the process),
            # so a cut past it is met by a read still to come.
            cut_at = rchar + (256 << 10)
            check(cut_at < size // 2, "the worker read %d of %d bytes before it was stopped" %
                  (rchar, size))
            kept = 0
            n_kept = 0
            for line in lines:
                if kept >= cut_at:
                    break
                kept += len(line)
                n_kept += 1
            os.truncate(trace, kept)
        finally:
            os.kill(w.pid, signal.SIGCONT)
        rc = w.wait(timeout=120)
        errf.close()
        with open(os.path.join(tmp, "stderr")) as f:
            err = f.read()
        check(rc == 3, "exit %d, want 3: %s" % (rc, err))
        rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
        check(len(rejects) == 1, "rejects: %r" % rejects)
        r = rejects[0]
        check(r["file"] == trace and r["offset"] == kept and r["line"] == n_kept + 1,
              "reject %r, want offset %d line %d" % (r, kept, n_kept + 1))
        check("shrank while it was read" in r["reason"] and str(size) in r["reason"] and
              str(kept) in r["reason"], "reason: %s" % r["reason"])
        s = summary(out)
        check(s["records_reviewed"] == n_kept and s["records_rejected"] == 1 and
              s["records_read"] == n_kept + 1, "summary %r, want %d reviewed" % (s, n_kept))
        check(len(read_jsonl(os.path.join(out, "events.jsonl"))) == n_kept, "events")


def case_case_collisions():
    """Run ids that differ only in letter case ("Run1", "run1") get folders that are one folder on
    a case-insensitive file system (issue 12): the batch keeps both (they are distinct runs),
    warns once with both places, and counts them in summary.json."""
    with TempDir() as tmp:
        trace = os.path.join(tmp, "case.jsonl")
        ids = ["Run1", "run1", "other", "RUN1", "Other", "plain", "x-Y", "X-y", "run1"]
        with open(trace, "w") as f:
            for rid in ids:
                f.write(make_record(rid, "The plan costs $5.", "The plan costs $5.") + "\n")
        spec = write_spec(os.path.join(tmp, "spec.json"), [trace])
        out = os.path.join(tmp, "out")
        rc, _, err = batch(spec, out)
        # The second "run1" is an exact duplicate: a reject as before.
        check(rc == 3, "exit %d: %s" % (rc, err))
        s = summary(out)
        # run1 (vs Run1), RUN1, Other (vs other), X-y (vs x-Y): 4.
        check(s["run_ids_differing_in_case"] == 4 and s["records_reviewed"] == 8 and
              s["duplicate_run_ids"] == 1, "summary %r" % s)
        warn = [l for l in err.splitlines() if "differs only in letter case" in l]
        check(len(warn) == 1 and '"run1"' in warn[0] and "line 2" in warn[0] and
              "line 1" in warn[0] and "case.jsonl" in warn[0], "warning: %s" % err)
        # Both reports are there (the report store v2 holds no folders per run; in the per-run
        # layout, on this case-sensitive file system).
        stored = store_reports(out)
        for rid in ids[:-1]:
            check(rid in stored, "no report for %s" % rid)
        rc, _, err = batch(spec, os.path.join(tmp, "per-run"), "--layout", "per-run")
        check(rc == 3, "per-run: exit %d: %s" % (rc, err))
        for rid in ids[:-1]:
            check(os.path.exists(os.path.join(tmp, "per-run", "reports", WORKFLOW, rid,
                                              "claim_report.json")), "no report for %s" % rid)
        # No such ids: no warning, a zero count.
        rc, _, err = batch(example_spec(), os.path.join(tmp, "out2"))
        check(rc == 0 and "letter case" not in err and
              summary(os.path.join(tmp, "out2"))["run_ids_differing_in_case"] == 0, err)


def case_show():
    """kivo-worker show (issue 14): the first, a middle and the last run of a batch print their
    exact stored bytes in both layouts; an unknown run, another workflow, a folder that is no
    report store and a missing --out exit 2 with a message; --html writes a run's page."""
    with TempDir() as tmp:
        v2, pr = os.path.join(tmp, "v2"), os.path.join(tmp, "pr")
        for out, extra in ((v2, ["--part-size", "8K"]), (pr, ["--layout", "per-run"])):
            rc, _, err = batch(example_spec(), out, *extra)
            check(rc == 0, "%s: exit %d: %s" % (out, rc, err))
        ids = [e["customer_run_id"] for e in read_jsonl(os.path.join(v2, "events.jsonl"))]
        events = {e["customer_run_id"]: e for e in read_jsonl(os.path.join(v2, "events.jsonl"))}
        stored = store_reports(pr)
        for rid in (ids[0], ids[len(ids) // 2], ids[-1]):
            for out in (v2, pr):
                for extra in ([], ["--workflow-id", WORKFLOW]):
                    rc, text, err = run(WORKER, "show", "--out", out, *extra, rid)
                    check(rc == 0 and text.encode() == stored[rid],
                          "show %s in %s: exit %d %s" % (rid, out, rc, err))
            sha = events[rid]["artifact_summaries"][0]["sha256"]
            check(sha256_text(stored[rid]) == sha, "%s: the event's sha256 is not show's" % rid)
        for out in (v2, pr):
            rc, text, err = run(WORKER, "show", "--out", out, "no-such-run")
            check(rc == 2 and text == "" and 'no run "no-such-run"' in err,
                  "unknown run in %s: exit %d %r" % (out, rc, err))
            rc, text, err = run(WORKER, "show", "--out", out, "--workflow-id", "other", ids[0])
            check(rc == 2 and 'workflow "other"' in err, "other workflow: exit %d %r" % (rc, err))
        os.makedirs(os.path.join(tmp, "empty"))
        rc, _, err = run(WORKER, "show", "--out", os.path.join(tmp, "empty"), ids[0])
        check(rc == 2 and "reports/" in err, "not a store: exit %d %r" % (rc, err))
        rc, _, err = run(WORKER, "show", ids[0])
        check(rc == 2 and "--out" in err, "no --out: exit %d %r" % (rc, err))
        # --html: the per-run layout's page of a flagged run, byte for byte; none for a pass.
        flagged = [r for r in ids if events[r]["gate_verdict"] != "pass"]
        passed = [r for r in ids if events[r]["gate_verdict"] == "pass"]
        page = os.path.join(tmp, "page.html")
        rc, _, err = run(WORKER, "show", "--out", pr, "--html", page, flagged[0])
        with open(os.path.join(pr, "reports", WORKFLOW, flagged[0], "claim_report.html"),
                  "rb") as f:
            want = f.read()
        check(rc == 0 and open(page, "rb").read() == want, "show --html: exit %d %s" % (rc, err))
        rc, _, err = run(WORKER, "show", "--out", pr, "--html", page, passed[0])
        check(rc == 2 and "no page" in err, "show --html of a pass: exit %d %r" % (rc, err))


def case_compressed_parts():
    """--compress zstd (issue 14): parts of independent zstd frames of at most about 1 MiB that
    zstdcat reads back whole (each line a claim report), the same reports as uncompressed, and
    show reads one run out of one frame."""
    with TempDir() as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        subprocess.run([os.path.join(ROOT, "scripts", "gen-corpus"), "--bytes", "8M", "--seed",
                        "7", "--out", corpus, "--quiet"], check=True)
        spec = write_spec(os.path.join(tmp, "spec.json"), [corpus])
        plain, z = os.path.join(tmp, "plain"), os.path.join(tmp, "z")
        for out, extra in ((plain, []), (z, ["--compress", "zstd", "--part-size", "2500K"])):
            rc, _, err = batch(spec, out, "--threads", "2", "--html", "none", *extra)
            check(rc == 0, "%s: exit %d: %s" % (out, rc, err))
        names = sorted(os.listdir(os.path.join(z, "reports")))
        check(names[0] == "index" and names[1] == "part-00000.jsonl.zst" and len(names) >= 3,
              "compressed parts: %s" % names)
        names = names[1:] + ["index"]
        want = store_reports(plain)
        got = store_reports(z)      # through `zstd -dc`, checking every line against the index
        check(got == want, "the compressed store holds other reports")
        lines = []
        for n in names[:-1]:
            p = subprocess.run(["zstdcat", os.path.join(z, "reports", n)], capture_output=True,
                               check=True)
            lines += [json.loads(l) for l in p.stdout.decode("utf-8").split("\n")[:-1]]
        check([r["customer_run_id"] for r in lines] == list(want),
              "zstdcat: %d reports in input order, want %d" % (len(lines), len(want)))
        import sqlite3
        db = sqlite3.connect(os.path.join(z, "reports", "index"))
        frames = db.execute("SELECT part, count(*), max(length) FROM frames GROUP BY part").fetchall()
        db.close()
        check(len(frames) == len(names) - 1 and all(n >= 2 for _, n, _ in frames[:-1]) and
              all(m <= (1 << 20) + 65536 for _, _, m in frames),
              "frames per part: %s" % frames)
        ids = list(want)
        for rid in (ids[0], ids[len(ids) // 2], ids[-1]):
            rc, text, err = run(WORKER, "show", "--out", z, rid)
            check(rc == 0 and text.encode() == want[rid], "show %s: exit %d %s" % (rid, rc, err))


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


def main():
    return case_main(CASES, configure)

if __name__ == "__main__":
    sys.exit(main())
