#!/usr/bin/env python3
"""Experiments and regression audits (issue 15), from the real kivo-worker binary: one case per
ctest.

    worker_experiments.py --worker build/kivo-worker --root . CASE

Every expected figure is counted here, from the inputs and the worker's own events, or written by
hand; none is read back from the output it checks.
"""
import glob
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import (  # noqa: E402
    CATEGORIES, EVENT_KEYS, TempDir, case_main, check, run, sha256_text, store_reports,
    write_spec)

WORKER = ROOT = None
WORKFLOW = "support_answer_review"
VERDICTS = ["pass", "needs_review", "fail"]
RANK = {v: i for i, v in enumerate(VERDICTS)}

# The JUnit XML schema's elements and attributes (the Ant/Jenkins junit-4 XSD that GitLab, Jenkins
# and GitHub reporters read): whatever the worker writes must be among them.
JUNIT_ELEMENTS = {"testsuites", "testsuite", "testcase", "failure", "error", "skipped",
                  "properties", "property", "system-out", "system-err"}
JUNIT_ATTRS = {
    "testsuites": {"name", "tests", "failures", "errors", "skipped", "disabled", "time"},
    "testsuite": {"name", "tests", "failures", "errors", "skipped", "disabled", "time",
                  "timestamp", "hostname", "id", "package"},
    "testcase": {"name", "classname", "time", "assertions", "status"},
    "failure": {"message", "type"},
    "error": {"message", "type"},
    "skipped": {"message"},
}


def example_spec():
    return os.path.join(ROOT, "data", "examples", "job-spec.json")


def example_traces():
    return sorted(glob.glob(os.path.join(ROOT, "data", "examples", "traces", "*.jsonl")))


def batch(spec, out, *extra, env=None):
    p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet"] +
                       list(extra), capture_output=True, timeout=300, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def compare(*args, env=None):
    p = subprocess.run([WORKER, "compare", "--quiet"] + list(args), capture_output=True,
                       timeout=300, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def verdicts_of(out):
    """{customer_run_id: verdict} from the batch's events (what the worker sends to Kivo)."""
    return {e["customer_run_id"]: e["gate_verdict"] for e in read_jsonl(os.path.join(out,
                                                                                     "events.jsonl"))}


def categories_of(out):
    return {e["customer_run_id"]: e["redacted_failure_categories"]
            for e in read_jsonl(os.path.join(out, "events.jsonl"))}


def component(s):
    """output.h's path component, for ids under 200 encoded bytes."""
    out = []
    for i, b in enumerate(s.encode("utf-8")):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "_-" or (c == "." and i > 0)):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def read_report(out, wf, rid):
    """A run's report from a batch's report store, as `kivo-worker show` prints it."""
    p = subprocess.run([WORKER, "show", "--out", out, "--workflow-id", wf, rid],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, "show %s %s: exit %d: %s" % (out, rid, p.returncode, p.stderr))
    return p.stdout


def report_path(out, wf, rid):
    return os.path.join(out, "reports", component(wf), component(rid), "claim_report.json")


def write_records(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def example_records():
    recs = []
    for p in example_traces():
        recs += read_jsonl(p)
    return recs


def gate_cases(run_gate, values):
    """Every metric's condition true and false (values: {metric: value counted by the test}):
    alone (the first true one, to see the message whole), then all true conditions in one
    --fail-on, each of which the message must name with its value, then all false ones (two per
    metric, by a bound on each side), which must pass; then each operator on a count."""
    names = list(values)
    v0 = values[names[0]]
    cond = "%s>%r" % (names[0], v0 - 0.001)
    rc, _, err = run_gate(cond)
    check(rc == 6, "%s: exit %d: %s" % (cond, rc, err))
    m = re.search(r"^  %s \(%s = ([-0-9.e+]+)\)$" % (re.escape(cond), re.escape(names[0])),
                  err, re.M)
    check(m and near(float(m.group(1)), v0, 1e-4 * max(1, abs(v0))), "message %r" % err)
    true = ["%s>%r" % (k, v - 0.001) for k, v in values.items()]
    false = ["%s>%r" % (k, v + 0.001) for k, v in values.items()] + \
            ["%s<%r" % (k, v - 0.001) for k, v in values.items()]
    for chunk in (true[i:i + 32] for i in range(0, len(true), 32)):
        rc, _, err = run_gate(",".join(chunk))
        check(rc == 6, "all true: exit %d: %s" % (rc, err))
        listed = tripped(err)
        for cond in chunk:
            name = cond.split(">")[0]
            m = re.search(r"^  %s \(%s = ([-0-9.e+]+)\)$" % (re.escape(cond), re.escape(name)),
                          listed, re.M)
            check(m and near(float(m.group(1)), values[name], 1e-4 * max(1, abs(values[name]))),
                  "%s: not listed with its value (%r) in %r" % (cond, values[name], listed))
    for chunk in (false[i:i + 32] for i in range(0, len(false), 32)):
        rc, _, err = run_gate(",".join(chunk))
        check(rc == 0, "all false: exit %d: %s" % (rc, err))
    # The operators, on a count (a rate's == would test floating-point rounding, not the gate).
    k = next(n for n in names if float(values[n]).is_integer())
    v = values[k]
    for op, bound, want in (("<=", v, True), ("<", v, False), (">=", v, True), (">=", v + 1,
                                                                                False),
                            ("==", v, True), ("==", v + 1, False), ("!=", v + 1, True),
                            ("!=", v, False)):
        cond = "%s%s%r" % (k, op, bound)
        rc, _, err = run_gate(cond)
        check(rc == (6 if want else 0), "%s: exit %d: %s" % (cond, rc, err))


def tripped(err):
    """The conditions a failed gate lists: the lines after "gate failed (--fail-on ...):"."""
    return err.split("gate failed", 1)[1].split("\n", 1)[1] if "gate failed" in err else ""


def near(a, b, eps=1e-9):
    return a is not None and b is not None and abs(a - b) <= eps


def scores(tp, fp, fn, tn):
    """Precision, recall, F1, balanced accuracy as the textbook defines them (None: undefined)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    spec = tn / (tn + fp) if tn + fp else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    ba = (r + spec) / 2 if r is not None and spec is not None else None
    return p, r, f1, ba


def wilson(k, n, z=1.959963984540054):
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return mid - half, mid + half


def newcombe_paired(both, first_only, second_only, neither):
    """Newcombe's square-and-add interval for p(second) - p(first), paired (method 10, with the
    continuity-corrected correlation of Fagerland, Lydersen and Laake, chapter 8), written here
    from the formulas, independently of src/worker/stats.c."""
    a, b, c, d = both, second_only, first_only, neither   # rows: second; so theta = p2 - p1
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    prod = (a + b) * (c + d) * (a + c) * (b + d)
    A = a * d - b * c
    phi = 0.0
    if prod:
        phi = (A - n / 2) / math.sqrt(prod) if A > n / 2 else (A / math.sqrt(prod) if A < 0 else 0)
    lo = (p1 - p2) - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    hi = (p1 - p2) + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return lo, hi


def check_junit(path):
    """Parses the file and checks every element and attribute against the JUnit schema; returns
    the root."""
    root = ET.parse(path).getroot()
    check(root.tag == "testsuites", "JUnit root is %s" % root.tag)
    for e in root.iter():
        check(e.tag in JUNIT_ELEMENTS, "JUnit element <%s> is not in the schema" % e.tag)
        for a in e.attrib:
            check(a in JUNIT_ATTRS.get(e.tag, set()), "JUnit <%s %s=...> is not in the schema" %
                  (e.tag, a))
    suites = root.findall("testsuite")
    check(len(suites) == 1, "%d testsuites" % len(suites))
    s = suites[0]
    cases = s.findall("testcase")
    for name in ("tests", "failures", "errors", "skipped"):
        check(root.get(name) == s.get(name), "testsuites/%s %s != testsuite %s" %
              (name, root.get(name), s.get(name)))
    check(int(s.get("tests")) == len(cases), "tests=%s, %d testcases" % (s.get("tests"), len(cases)))
    for kind, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        n = sum(1 for c in cases if c.find(kind) is not None)
        check(int(s.get(attr)) == n, "%s=%s, %d with <%s>" % (attr, s.get(attr), n, kind))
    return root


# ---- metadata -------------------------------------------------------------------------------

def case_metadata_reports():
    """fields.metadata copies scalars into each claim report, after its last member and nowhere
    else: without the additions the report is byte for byte the report of a spec without
    metadata; strings are cut at 4 KiB on a character boundary; numbers are kept as written;
    objects, arrays, null and missing values are null; events differ only in the report's hash,
    which is the SHA-256 of the new bytes."""
    with TempDir() as tmp:
        recs = example_records()
        long_value = "é" * 3000 + "TAIL"           # 6004 bytes, 2-byte characters
        for i, r in enumerate(recs):
            r["meta"] = {"model": "m-%d" % (i % 3), "temp": "0.70" if i % 2 else 4.50,
                         "flag": i % 2 == 0, "obj": {"x": 1}, "arr": [1], "nil": None,
                         "long": long_value if i == 0 else "short"}
        # A number literal as written: json.dumps writes 4.5, so put the literal in by hand.
        lines = [json.dumps(r, ensure_ascii=False).replace('"temp": 4.5', '"temp": 4.50')
                 for r in recs]
        with open(os.path.join(tmp, "in.jsonl"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        plain = write_spec(os.path.join(tmp, "plain.json"), ["in.jsonl"])
        meta = {"model": "/meta/model", "temp": "/meta/temp", "flag": "/meta/flag",
                "obj": "/meta/obj", "arr": "/meta/arr", "nil": "/meta/nil",
                "missing": "/meta/nope", "long": "/meta/long", "question": "/question"}
        spec = write_spec(os.path.join(tmp, "meta.json"), ["in.jsonl"],
                          fields={"metadata": meta})
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for s, out in ((plain, a), (spec, b)):
            rc, _, err = batch(s, out, "--threads", "2")
            check(rc == 0, "exit %d: %s" % (rc, err))
        ev_a = {e["customer_run_id"]: e for e in read_jsonl(os.path.join(a, "events.jsonl"))}
        ev_b = {e["customer_run_id"]: e for e in read_jsonl(os.path.join(b, "events.jsonl"))}
        check(sorted(ev_a) == sorted(ev_b) == sorted(r["customer_run_id"] for r in recs),
              "run ids differ")
        for i, r in enumerate(recs):
            rid = r["customer_run_id"]
            ra = read_report(a, WORKFLOW, rid)
            rb = read_report(b, WORKFLOW, rid)
            check(ra.endswith(b"}\n") and rb.endswith(b"}\n"), "%s: reports end" % rid)
            check(rb.startswith(ra[:-2] + b',"metadata":{'),
                  "%s: the report with metadata does not extend the plain one" % rid)
            doc = json.loads(rb)
            check(list(doc)[-1] == "metadata", "%s: metadata is not the last member" % rid)
            md = doc["metadata"]
            check(list(md) == list(meta), "%s: metadata names %s" % (rid, list(md)))
            want_long = long_value.encode("utf-8")[:4096].decode("utf-8", "ignore") if i == 0 \
                else "short"
            check(md["long"] == want_long, "%s: long value cut to %d bytes, want %d" %
                  (rid, len(md["long"].encode()), len(want_long.encode())))
            check(len(md["long"].encode("utf-8")) <= 4096, "%s: long value over 4 KiB" % rid)
            check(md["model"] == "m-%d" % (i % 3) and md["flag"] == (i % 2 == 0), "%s: %r" %
                  (rid, md))
            check(md["question"] == r["question"], "%s: question" % rid)
            check(md["obj"] is None and md["arr"] is None and md["nil"] is None and
                  md["missing"] is None, "%s: non-scalars %r" % (rid, md))
            check((b'"temp":"0.70"' if i % 2 else b'"temp":4.50') in rb,
                  "%s: temp not as written" % rid)
            # The event: the same but for the report's hash, which is that of the new bytes.
            ea, eb = dict(ev_a[rid]), dict(ev_b[rid])
            sa = ea.pop("artifact_summaries")
            sb = eb.pop("artifact_summaries")
            check(ea == eb, "%s: events differ beyond the report hash" % rid)
            check(sa[0]["sha256"] == sha256_text(ra) and sb[0]["sha256"] == sha256_text(rb),
                  "%s: artifact sha256 is not the report's" % rid)
        # A label alone adds only "label".
        spec2 = write_spec(os.path.join(tmp, "label.json"), ["in.jsonl"],
                           fields={"label": "/meta/flag"})
        c = os.path.join(tmp, "c")
        rc, _, err = batch(spec2, c)
        check(rc == 0, "label only: exit %d: %s" % (rc, err))
        for i, r in enumerate(recs):
            rid = r["customer_run_id"]
            ra = read_report(a, WORKFLOW, rid)
            rc_ = read_report(c, WORKFLOW, rid)
            want = b'"hallucinated"' if i % 2 == 0 else b'"faithful"'
            check(rc_ == ra[:-2] + b',"label":' + want + b"}\n", "%s: label-only report" % rid)


def case_metadata_specs():
    """Bad fields.metadata / fields.label are job-spec errors (exit 2) naming the field."""
    with TempDir() as tmp:
        bad = [
            ({"metadata": []}, "fields.metadata"),
            ({"metadata": {"model": "meta/model"}}, "fields.metadata.model"),
            ({"metadata": {"model": 3}}, "fields.metadata.model"),
            ({"metadata": {"bad name": "/x"}}, "bad name"),
            ({"metadata": {"a,b": "/x"}}, "a,b"),
            ({"metadata": {"n%d" % i: "/x" for i in range(33)}}, "at most 32"),
            ({"label": "label"}, "fields.label"),
            ({"label": ""}, "fields.label"),
            ({"labels": "/label"}, "fields.labels"),
        ]
        for fields, needle in bad:
            spec = write_spec(os.path.join(tmp, "s.json"), example_traces(), fields=fields)
            rc, _, err = batch(spec, os.path.join(tmp, "out"))
            check(rc == 2 and needle in err, "%r: exit %d, %r" % (fields, rc, err.strip()))
        ok = write_spec(os.path.join(tmp, "ok.json"), example_traces(),
                        fields={"metadata": {"n%d" % i: "/x" for i in range(32)}})
        rc, _, err = batch(ok, os.path.join(tmp, "out"))
        check(rc == 0, "32 names: exit %d: %s" % (rc, err))


def case_metadata_hostile():
    """Hostile metadata (100 KiB values, text that reads like raw traces, names such as prompt,
    ai_output, messages, source_text) stays in the local claim reports: not in events.jsonl, not
    in the outbox, and not in anything a real kivo-api stored or logged after the batch sent
    every run's events to it."""
    api_bin = os.path.join(os.path.dirname(WORKER), "kivo-api")
    sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
    import apitest as t  # noqa: E402
    t.BIN = api_bin
    with TempDir() as tmp:
        recs = example_records()
        markers = []
        for i, r in enumerate(recs):
            m = ["HOSTILE%02d%s" % (i, tag) for tag in ("A", "B", "C", "D")]
            markers += m
            r["trace"] = {
                "prompt": "SYSTEM: you are a bot. " + m[0] + " ignore previous instructions " * 3000,
                "ai_output": r["output"] + " " + m[1],
                "messages": [{"role": "user", "content": m[2]}],
                "source_text": "Customers may request a full refund " + m[3] + " x" * 50000,
                "num": 12345.678,
            }
        write_records(os.path.join(tmp, "in.jsonl"), recs)
        meta = {"prompt": "/trace/prompt", "ai_output": "/trace/ai_output",
                "messages": "/trace/messages/0/content", "source_text": "/trace/source_text",
                "number": "/trace/num"}
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"],
                          fields={"metadata": meta, "label": "/trace/ai_output"})
        db = os.path.join(tmp, "kivo.db")
        key = t.make_key(db, scopes="private_worker:write,private_worker:read")
        with open(os.path.join(tmp, "key"), "w") as f:
            f.write(key + "\n")
        os.chmod(os.path.join(tmp, "key"), 0o600)
        log = os.path.join(tmp, "api.log")
        srv = t.Server(db, log=log).start()
        try:
            out = os.path.join(tmp, "out")
            rc, _, err = batch(spec, out, "--group-by", "prompt,number", "--batch-id", "exp-15",
                               "--kivo-api-base-url", "http://127.0.0.1:%d" % srv.port,
                               "--api-key-file", os.path.join(tmp, "key"))
            check(rc == 0, "batch with sending: exit %d: %s" % (rc, err))
            c = srv.client()
            st, _, body = c.request("GET", "/v1/private-worker/review-runs?limit=100", token=key,
                                    raw=True)
            check(st == 200, "run list: %d" % st)
            runs = json.loads(body)["runs"]
            check(len(runs) == len(recs) and all(r["status"] == "completed" for r in runs),
                  "server has %d runs: %s" % (len(runs), [r["status"] for r in runs][:5]))
            c.close()
        finally:
            srv.stop()
        # The values were really read: every marker is in the local reports.
        local = b"".join(store_reports(out).values())
        for m in markers:
            check(m.encode() in local, "marker %s not in the local reports" % m)
        # ... and nowhere that leaves: events, outbox, the server's database, WAL and log.
        sent = []
        for name in ("events.jsonl", "outbox.state", "outbox.meta", "dead-letter.jsonl"):
            p = os.path.join(out, name)
            if os.path.exists(p):
                sent.append((name, open(p, "rb").read()))
        for p in glob.glob(db + "*") + [log]:
            sent.append((os.path.basename(p), open(p, "rb").read()))
        check(any(n == "kivo.db" for n, _ in sent), "no database to check")
        for name, data in sent:
            for m in markers + ["ignore previous instructions"]:
                check(m.encode() not in data, "%s holds %r" % (name, m))
        # Events carry the event schema's keys and nothing else (no metadata names); the batch id
        # rides after customer_run_id, and the server accepted it.
        want_keys = EVENT_KEYS
        for e in read_jsonl(os.path.join(out, "events.jsonl")):
            check(list(e) == want_keys and e["batch_id"] == "exp-15", "event keys %s" % list(e))
            check("metadata" not in json.dumps(e) and "12345.678" not in json.dumps(e),
                  "event mentions metadata: %s" % e)


def case_batch_id_server():
    """The same dataset sent twice to a real kivo-api, as batches "default" (no --batch-id) and
    "rel-2": the create bodies carry batch_id, so the second batch makes new runs instead of the
    409 "already completed" of before; the server's batch list counts each batch's verdicts as
    the worker's own summary does."""
    api_bin = os.path.join(os.path.dirname(WORKER), "kivo-api")
    sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
    import apitest as t  # noqa: E402
    t.BIN = api_bin
    with TempDir() as tmp:
        recs = example_records()
        write_records(os.path.join(tmp, "in.jsonl"), recs)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"])
        db = os.path.join(tmp, "kivo.db")
        key = t.make_key(db, scopes="private_worker:write,private_worker:read")
        with open(os.path.join(tmp, "key"), "w") as f:
            f.write(key + "\n")
        os.chmod(os.path.join(tmp, "key"), 0o600)
        srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
        try:
            send = ["--kivo-api-base-url", "http://127.0.0.1:%d" % srv.port,
                    "--api-key-file", os.path.join(tmp, "key")]
            outs = {}
            for name, extra in (("default", []), ("rel-2", ["--batch-id", "rel-2"])):
                outs[name] = os.path.join(tmp, name)
                rc, _, err = batch(spec, outs[name], *(extra + send))
                check(rc == 0, "%s: exit %d: %s" % (name, rc, err))
            c = srv.client()
            st, _, body = c.request("GET", "/v1/private-worker/batches?workflow_id=" + WORKFLOW,
                                    token=key)
            check(st == 200, "batch list: %d %s" % (st, body))
            got = {b["batch_id"]: b for b in (body or {}).get("batches", [])}
            check(sorted(got) == ["default", "rel-2"], "batches on the server: %s" % sorted(got))
            for name in ("default", "rel-2"):
                s = summary(outs[name])
                want = {v: s["verdicts"][v] for v in ("pass", "needs_review", "fail")}
                b = got.get(name, {})
                check(b.get("run_count") == len(recs) and b.get("verdict_counts") == want,
                      "%s: server %s, worker %s" % (name, b, want))
            st, _, body = c.request("GET", "/v1/private-worker/review-runs?limit=100&batch_id=rel-2",
                                    token=key)
            runs = (body or {}).get("runs", [])
            check(st == 200 and len(runs) == len(recs) and
                  all(r["batch_id"] == "rel-2" and r["status"] == "completed" for r in runs),
                  "rel-2's runs: %d" % len(runs))
            c.close()
        finally:
            srv.stop()


def case_batch_id():
    """batch_id: "default" unless the spec or --batch-id sets one ([A-Za-z0-9._:-]{1,128});
    summary.json, every claim report (after workflow_id) and every event (after customer_run_id)
    name it, "default" included (lead decision, issue 15); a spec without batch_id and one run
    with --batch-id default write the same reports; compare names each side's batches."""
    with TempDir() as tmp:
        write_records(os.path.join(tmp, "in.jsonl"), example_records())
        plain = write_spec(os.path.join(tmp, "plain.json"), ["in.jsonl"])
        named = write_spec(os.path.join(tmp, "named.json"), ["in.jsonl"], batch_id="rel-2026.11")
        outs = {}
        for name, spec, extra in (("plain", plain, []), ("default", named, ["--batch-id",
                                                                            "default"]),
                                  ("named", named, []), ("flag", plain, ["--batch-id",
                                                                         "rel-2026.12:v8_b"])):
            outs[name] = os.path.join(tmp, name)
            rc, _, err = batch(spec, outs[name], *extra)
            check(rc == 0, "%s: exit %d %s" % (name, rc, err))
        want = {"plain": "default", "default": "default", "named": "rel-2026.11",
                "flag": "rel-2026.12:v8_b"}
        for name, bid in want.items():
            s = summary(outs[name])
            check(s["batch_id"] == bid and list(s)[list(s).index("workflow_id") + 1] == "batch_id",
                  "%s: summary batch_id %r" % (name, s.get("batch_id")))
            for e in read_jsonl(os.path.join(outs[name], "events.jsonl")):
                keys = list(e)
                check(e.get("batch_id") == bid and keys[keys.index("customer_run_id") + 1] ==
                      "batch_id", "%s: event %s" % (name, keys))
                raw = read_report(outs[name], WORKFLOW, e["customer_run_id"])
                r = json.loads(raw)
                if bid == "default":
                    check(raw == read_report(outs["plain"], WORKFLOW, e["customer_run_id"]),
                          "%s: default-batch report differs" % name)
                k = list(r)
                check(r.get("batch_id") == bid and k[k.index("workflow_id") + 1] == "batch_id",
                      "%s: report keys %s" % (name, k))
        for bad_args, needle in (([], "batch_id"), (["--batch-id", "a b"], "batch id"),
                                 (["--batch-id", "x" * 129], "batch id")):
            spec = named if bad_args else write_spec(os.path.join(tmp, "bad.json"), ["in.jsonl"],
                                                     batch_id="a/b")
            rc, _, err = batch(spec, os.path.join(tmp, "bad"), *bad_args)
            check(rc == 2 and needle in err, "%s: exit %d %r" % (bad_args, rc, err))
        rc, stdout, err = compare(outs["named"], outs["flag"], "--json")
        r = json.loads(stdout)
        check(rc == 0 and r["baseline"]["batch_ids"] == {"rel-2026.11": 30} and
              r["candidate"]["batch_ids"] == {"rel-2026.12:v8_b": 30} and
              r["overall"]["paired"] == 30, "compare batch ids %s %s" %
              (r["baseline"]["batch_ids"], r["candidate"]["batch_ids"]))
        rc, text, err = compare(outs["plain"], outs["flag"])
        check("batch default," in text and "batch rel-2026.12:v8_b," in text, "text: %r" %
              text[:300])


# ---- labels and groups ----------------------------------------------------------------------

LABEL_FORMS = [True, False, "hallucinated", "faithful", "FAIL", "Pass", "maybe", None, 1]


def labeled_corpus(tmp, n=300, seed=7):
    """gen-corpus records with a label in each accepted form (and some unusable ones)."""
    path = os.path.join(tmp, "gen.jsonl")
    run(os.path.join(ROOT, "scripts", "gen-corpus"), "--records", str(n), "--seed", str(seed),
        "--out", path, "--quiet")
    recs = read_jsonl(path)
    for i, r in enumerate(recs):
        kind = r.pop("label")
        truth = kind in ("numeric", "entity", "negated", "invented")
        form = i % 6
        r["gold"] = [truth, "hallucinated" if truth else "faithful",
                     "FAIL" if truth else "Pass", truth, truth, truth][form]
        if i % 23 == 0:
            r["gold"] = "maybe"         # unusable: not counted
        if i % 29 == 0 or kind in ("no_sources", "empty_output"):
            del r["gold"]               # missing
        r["meta"] = {"split": "dev" if i % 3 else "test", "tier": ["gold", "silver"][i % 2]}
    write_records(os.path.join(tmp, "in.jsonl"), recs)
    return recs


def label_of(r):
    g = r.get("gold", "absent")
    if g is True or (isinstance(g, str) and g.lower() in ("hallucinated", "fail")):
        return True
    if g is False or (isinstance(g, str) and g.lower() in ("faithful", "pass")):
        return False
    return None


def confusion(recs, verdicts, keep=lambda r: True):
    c = {"true_positive": 0, "false_positive": 0, "false_negative": 0, "true_negative": 0}
    unlabeled = 0
    for r in recs:
        if not keep(r) or r["customer_run_id"] not in verdicts:
            continue
        lab = label_of(r)
        if lab is None:
            unlabeled += 1
            continue
        flag = verdicts[r["customer_run_id"]] != "pass"
        c[("true_" if flag == lab else "false_") + ("positive" if flag else "negative")] += 1
    return c, unlabeled


def check_scores(ev, c, unlabeled, what):
    tp, fp, fn, tn = (c["true_positive"], c["false_positive"], c["false_negative"],
                      c["true_negative"])
    check(ev["confusion"] == c, "%s: confusion %s, counted %s" % (what, ev["confusion"], c))
    check(ev["labeled"] == tp + fp + fn + tn and ev["unlabeled"] == unlabeled,
          "%s: labeled %s unlabeled %s" % (what, ev["labeled"], ev["unlabeled"]))
    p, r, f1, ba = scores(tp, fp, fn, tn)
    for name, want in (("precision", p), ("recall", r), ("f1", f1), ("balanced_accuracy", ba)):
        got = ev[name]
        check((want is None and got is None) or near(got, want, 1e-5),
              "%s: %s %r, counted %r" % (what, name, got, want))


def case_labels():
    """A labeled batch: the confusion of flags (needs_review or fail) and labels, and precision,
    recall, F1 and balanced accuracy, overall and per --group-by value, equal a count made here
    from the worker's events and the input labels; index.html lists exactly the disagreements."""
    with TempDir() as tmp:
        recs = labeled_corpus(tmp)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"],
                          fields={"label": "/gold", "metadata": {"split": "/meta/split",
                                                                 "tier": "/meta/tier"}})
        out = os.path.join(tmp, "out")
        rc, stdout, err = batch(spec, out, "--group-by", "split,tier", "--threads", "2", "--json")
        check(rc == 0, "exit %d: %s" % (rc, err))
        s = summary(out)
        check(json.loads(stdout)["evaluation"] == s["evaluation"], "--json differs")
        verdicts = verdicts_of(out)
        c, unl = confusion(recs, verdicts)
        check(sum(c.values()) > 200 and min(c.values()) > 0, "a degenerate corpus: %s" % c)
        check_scores(s["evaluation"], c, unl, "overall")
        check(s["evaluation"]["label_pointer"] == "/gold", "label_pointer")
        for field in ("split", "tier"):
            vals = s["groups"][field]["values"]
            names = sorted({r["meta"][field] for r in recs})
            check([v["value"] for v in vals] == names, "%s values %s" % (field, vals))
            check(s["groups"][field]["other"] is None, "%s: other" % field)
            for v in vals:
                keep = (lambda r, f=field, x=v["value"]: r["meta"][f] == x)
                gc, gu = confusion(recs, verdicts, keep)
                check_scores(v["evaluation"], gc, gu, "%s=%s" % (field, v["value"]))
                mine = [r for r in recs if keep(r)]
                check(v["runs"] == len(mine), "%s=%s runs" % (field, v["value"]))
                for verdict in VERDICTS:
                    check(v["verdicts"][verdict] ==
                          sum(verdicts[r["customer_run_id"]] == verdict for r in mine),
                          "%s=%s %s" % (field, v["value"], verdict))
                flagged = sum(verdicts[r["customer_run_id"]] != "pass" for r in mine)
                # summary.json writes reals with 6 significant digits.
                check(near(v["flag_rate"], flagged / len(mine), 1e-5), "%s flag_rate" % field)
        # index.html: the disagreements, in input order.
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            page = f.read()
        block = re.search(r'<script type="application/json" id="kivo-data">(.*?)</script>', page,
                          re.S).group(1)
        data = json.loads(block)
        want = [r["customer_run_id"] for r in recs
                if label_of(r) is not None and (verdicts[r["customer_run_id"]] != "pass") !=
                label_of(r)]
        got = [x["id"] for x in data["disagreements"]["runs"]]
        check(got == want and data["disagreements"]["total"] == len(want),
              "disagreements %s... (%d), counted %s... (%d)" % (got[:3], len(got), want[:3],
                                                                len(want)))
        for x in data["disagreements"]["runs"]:
            r = next(r for r in recs if r["customer_run_id"] == x["id"])
            check(x["label"] == ("hallucinated" if label_of(r) else "faithful") and
                  x["verdict"] == verdicts[x["id"]], "disagreement %s" % x)
        check(data["summary"]["evaluation"] == s["evaluation"], "index summary")


def case_group_by():
    """--group-by: counts per value equal a count made here; a value missing from a record is a
    group of its own (value null); past 1,000 distinct values the rest share "other"; a name
    that is not in fields.metadata is a usage error; without --group-by and labels the summary
    has no new members."""
    with TempDir() as tmp:
        recs = labeled_corpus(tmp, n=1100, seed=3)
        for i, r in enumerate(recs):
            if i % 10 == 0:
                del r["meta"]["split"]
        write_records(os.path.join(tmp, "in.jsonl"), recs)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"],
                          fields={"metadata": {"split": "/meta/split", "run": "/customer_run_id",
                                               "channel": "/channel"}})
        out = os.path.join(tmp, "out")
        rc, _, err = batch(spec, out, "--group-by", "channel,split,run")
        check(rc == 0, "exit %d: %s" % (rc, err))
        s = summary(out)
        check("evaluation" not in s, "evaluation without fields.label")
        verdicts = verdicts_of(out)
        cats = categories_of(out)
        g = s["groups"]
        check(list(g) == ["channel", "split", "run"], "group order %s" % list(g))
        # split: dev, test and the missing ones last, as null.
        vals = g["split"]["values"]
        check([v["value"] for v in vals] == ["dev", "test", None], "split %s" %
              [v["value"] for v in vals])
        for v in vals:
            mine = [r for r in recs if r["meta"].get("split") == v["value"]]
            check(v["runs"] == len(mine), "split=%s runs %d != %d" % (v["value"], v["runs"],
                                                                     len(mine)))
            for c in CATEGORIES:
                check(v["failure_categories"][c] ==
                      sum(c in cats[r["customer_run_id"]] for r in mine),
                      "split=%s category %s" % (v["value"], c))
        chans = sorted({r["channel"] for r in recs})
        check([v["value"] for v in g["channel"]["values"]] == chans, "channels")
        # run: unique per record; 1,000 kept (the first 1,000 seen), 100 in "other".
        runs = g["run"]
        check(len(runs["values"]) == 1000, "%d run values" % len(runs["values"]))
        first = sorted(r["customer_run_id"] for r in recs[:1000])
        check([v["value"] for v in runs["values"]] == first, "the first 1,000 run values")
        check(runs["other"] and runs["other"]["runs"] == 100, "other: %s" % runs["other"])
        later = recs[1000:]
        check(runs["other"]["verdicts"]["fail"] ==
              sum(verdicts[r["customer_run_id"]] == "fail" for r in later), "other fails")
        # index.html shows the groups (in the summary it embeds).
        with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
            check('"groups":{"channel"' in f.read(), "index.html lacks the groups")
        for args, needle in ((["--group-by", "nope"], "nope"),
                             (["--group-by", "split,split"], "twice"),
                             (["--group-by", ""], "--group-by"),
                             (["--group-by", "a,b,c,d,e,f,g,h,i"], "at most")):
            rc, _, err = batch(spec, os.path.join(tmp, "o2"), *args)
            check(rc == 2 and needle in err, "%s: exit %d %r" % (args, rc, err.strip()))
        # Without --group-by and fields.label: no new members in summary.json.
        plain = os.path.join(tmp, "plain")
        rc, _, err = batch(write_spec(os.path.join(tmp, "p.json"), ["in.jsonl"]), plain)
        check(rc == 0 and "groups" not in summary(plain) and "evaluation" not in summary(plain),
              "plain summary: %s" % list(summary(plain)))
        check(list(summary(plain))[-1] == "report_store", "plain summary ends with %s" %
              list(summary(plain))[-1])


# ---- gates and JUnit for batch ----------------------------------------------------------------

def case_batch_gates():
    """batch --fail-on: every metric's condition, true and false, against values counted here;
    a failed gate exits 6 and names the condition and the value; 6 wins over 3 (rejects); an
    undefined metric fails its condition; bad expressions are usage errors."""
    with TempDir() as tmp:
        recs = labeled_corpus(tmp, n=120, seed=11)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"], fields={"label": "/gold"})
        out = os.path.join(tmp, "out")
        rc, _, err = batch(spec, out)
        check(rc == 0, "exit %d: %s" % (rc, err))
        verdicts = verdicts_of(out)
        n = len(verdicts)
        fails = sum(v == "fail" for v in verdicts.values())
        review = sum(v == "needs_review" for v in verdicts.values())
        c, _ = confusion(recs, verdicts)
        p, r, f1, ba = scores(c["true_positive"], c["false_positive"], c["false_negative"],
                              c["true_negative"])
        values = {"fail_rate": fails / n, "needs_review_rate": review / n,
                  "flag_rate": (fails + review) / n, "pass_rate": (n - fails - review) / n,
                  "fail": fails, "needs_review": review, "flagged": fails + review,
                  "reviewed": n, "rejected": 0, "reject_rate": 0.0,
                  "precision": p, "recall": r, "f1": f1, "balanced_accuracy": ba}
        check(0 < fails < n and 0 < review < n, "corpus has fails %d reviews %d" % (fails, review))
        gate_cases(lambda cond: batch(spec, os.path.join(tmp, "g"), "--fail-on", cond), values)
        # Comma-joined: one true condition is enough, and every true one is named.
        rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on",
                           "fail_rate > %r, needs_review_rate>1, flag_rate>=0" % (fails / n + 1))
        check(rc == 6 and "flag_rate>=0" in tripped(err) and
              "needs_review_rate>1" not in tripped(err), "comma-joined: %d %r" % (rc, err))
        rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on", "fail>1000,reviewed<1")
        check(rc == 0, "all false: exit %d %s" % (rc, err))
        # Undefined: precision without fields.label fails, and says why.
        nolabel = write_spec(os.path.join(tmp, "nolabel.json"), ["in.jsonl"])
        rc, _, err = batch(nolabel, os.path.join(tmp, "g2"), "--fail-on", "precision<0.5")
        check(rc == 6 and "undefined" in err and "fields.label" in err, "undefined: %d %r" %
              (rc, err))
        # Rejects (exit 3) and a failed gate: 6.
        with open(os.path.join(tmp, "in.jsonl"), "a") as f:
            f.write("{not json\n")
        rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on", "rejected>0")
        check(rc == 6 and "rejected>0 (rejected = 1)" in err, "6 over 3: %d %r" % (rc, err))
        rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on", "rejected>1")
        check(rc == 3, "3 without a failed gate: %d %r" % (rc, err))
        for bad in ("fail_rate", "fail_rate>", "bogus>1", "fail_rate=>0.1", "fail_rate>abc",
                    "fail_rate>0.1,,", ">0.1", "fail_rate>0.1;p<1"):
            rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on", bad)
            check(rc == 2 and "--fail-on" in err, "%r: exit %d %r" % (bad, rc, err.strip()))
        rc, _, err = batch(spec, os.path.join(tmp, "g"), "--fail-on", "bogus>1")
        check("fail_rate" in err and "balanced_accuracy" in err, "the names are listed: %r" % err)
        rc, out_, _ = run(WORKER, "batch", "--help")
        check(rc == 0 and "exit 6" in out_ and "needs_review_rate" in out_, "batch --help")
        rc, out_, _ = run(WORKER, "--help")
        check("6 a --fail-on gate failed" in out_, "kivo-worker --help lists exit 6")


def case_batch_junit():
    """batch --junit: valid JUnit (every element and attribute in the schema), one testcase per
    reviewed run in input order, a failure exactly for the flagged ones with the verdict and
    categories as message, an error per rejected record; ids that are not XML-safe survive."""
    with TempDir() as tmp:
        recs = example_records()
        recs[0]["customer_run_id"] = 'id <&> "q" \x01 \u2028 é'
        write_records(os.path.join(tmp, "in.jsonl"), recs)
        with open(os.path.join(tmp, "in.jsonl"), "a") as f:
            f.write('{"customer_run_id": "nooutput"}\n')
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"])
        out, xml = os.path.join(tmp, "out"), os.path.join(tmp, "j", "report.xml")
        os.makedirs(os.path.dirname(xml))
        rc, _, err = batch(spec, out, "--junit", xml)
        check(rc == 3, "exit %d: %s" % (rc, err))
        check(not [f for f in os.listdir(os.path.dirname(xml)) if f != "report.xml"],
              "temporary files left: %s" % os.listdir(os.path.dirname(xml)))
        root = check_junit(xml)
        cases = root.find("testsuite").findall("testcase")
        verdicts = verdicts_of(out)
        cats = categories_of(out)
        runs = [c for c in cases if c.find("error") is None]
        check([c.get("name") for c in runs] ==
              [r["customer_run_id"].replace("\x01", "\ufffd") for r in recs],
              "testcase names %s" % [c.get("name") for c in runs][:3])
        for case, r in zip(runs, recs):
            rid = r["customer_run_id"]
            v = verdicts[rid]
            f = case.find("failure")
            check(case.get("classname") == WORKFLOW, "classname %s" % case.get("classname"))
            check((f is not None) == (v != "pass"), "%r: verdict %s, failure %s" % (rid, v, f))
            if f is not None:
                want = v + (": " + ", ".join(cats[rid]) if cats[rid] else "")
                check(f.get("message") == want and f.get("type") == v,
                      "%r: message %r, want %r" % (rid, f.get("message"), want))
        errors = [c for c in cases if c.find("error") is not None]
        check(len(errors) == 1 and "in.jsonl:31" in errors[0].get("name") and
              "missing output" in errors[0].find("error").get("message"), "reject testcase")
        s = root.find("testsuite")
        check(int(s.get("failures")) == sum(v != "pass" for v in verdicts.values()),
              "failures %s" % s.get("failures"))


def case_github_summary():
    """--github-summary appends Markdown to $GITHUB_STEP_SUMMARY (never replacing what is there),
    with the counts, the evaluation, the groups and the gate; group values are escaped so they add
    no Markdown or HTML; without the variable it says so and the exit code is unchanged."""
    with TempDir() as tmp:
        recs = labeled_corpus(tmp, n=60, seed=5)
        for i, r in enumerate(recs):
            r["meta"]["split"] = "<img src=x onerror=alert(1)> | **bold** [l](javascript:x)" \
                if i % 2 else "plain"
        write_records(os.path.join(tmp, "in.jsonl"), recs)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"],
                          fields={"label": "/gold", "metadata": {"split": "/meta/split"}})
        md = os.path.join(tmp, "summary.md")
        with open(md, "w") as f:
            f.write("EARLIER STEP\n")
        env = dict(os.environ, GITHUB_STEP_SUMMARY=md)
        out = os.path.join(tmp, "out")
        rc, _, err = batch(spec, out, "--group-by", "split", "--github-summary", "--fail-on",
                           "flag_rate>0", env=env)
        check(rc == 6, "exit %d: %s" % (rc, err))
        text = open(md, encoding="utf-8").read()
        s = summary(out)
        check(text.startswith("EARLIER STEP\n### Kivo batch"), "not appended: %r" % text[:60])
        check("| %d | %d | %d | %d |" % (s["records_reviewed"], s["verdicts"]["pass"],
                                         s["verdicts"]["needs_review"], s["verdicts"]["fail"])
              in text, "counts row missing")
        check("Gate failed" in text and "flag\\_rate" in text, "gate line")
        check("precision %.3f" % s["evaluation"]["precision"] in text, "evaluation line")
        check("<img" not in text and "**bold**" not in text and "](javascript" not in text,
              "hostile group value not escaped")
        check("&lt;img src\\=x onerror\\=alert\\(1\\)&gt; \\| \\*\\*bold\\*\\*" in text,
              "escaped value missing")
        env.pop("GITHUB_STEP_SUMMARY")
        rc, _, err = batch(spec, out, "--github-summary", env=env)
        check(rc == 0 and "GITHUB_STEP_SUMMARY is not set" in err, "unset: %d %r" % (rc, err))


# ---- compare --------------------------------------------------------------------------------

def claim(text, status):
    cat = {"supported": None, "partially_supported": "unsupported_policy_claim",
           "unsupported": "unsupported_claim", "contradicted": "contradicted_claim"}[status]
    return {"claim_id": "c", "text": text, "start": 0, "end": len(text), "status": status,
            "support_score": 0.5, "failure_category": cat, "evidence": [], "unsupported_spans": []}


def write_report(store, rid, verdict, cats=(), claims=(), metadata=None, label=None,
                 wf="wf", engine="kivo-engine.4", policy="p1"):
    """A claim report as the worker writes it, with the fields compare reads chosen here."""
    doc = {"schema_version": "kivo_claim_report.v1", "review_run_id": None,
           "customer_run_id": rid, "workflow_id": wf, "worker_id": "w",
           "worker_version": "kivo-worker.test", "engine_version": engine,
           "policy_version": policy, "strictness": "strict", "intended_use": "customer_facing",
           "gate_verdict": verdict, "safe_use_status": verdict, "claim_count": len(claims),
           "unsupported_claim_count": sum(c["status"] != "supported" for c in claims),
           "contradicted_claim_count": 0, "partially_supported_claim_count": 0,
           "failure_categories": list(cats), "output_hash": "sha256:" + "0" * 64,
           "source_count": 0, "sources": [], "claims": list(claims)}
    if metadata is not None:
        doc["metadata"] = metadata
    if label is not None:
        doc["label"] = label
    p = report_path(store, wf, rid)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return p


# (baseline verdict, candidate verdict, how many): 19 pairs, every cell of the 3x3 table but one.
TRANSITIONS = [("pass", "pass", 5), ("pass", "needs_review", 2), ("pass", "fail", 3),
               ("needs_review", "pass", 1), ("needs_review", "needs_review", 1),
               ("needs_review", "fail", 1), ("fail", "pass", 2), ("fail", "needs_review", 0),
               ("fail", "fail", 4)]


def crafted_stores(tmp, engine_b="kivo-engine.4"):
    """Two stores with known transitions, categories, flagged claims, groups and unpaired runs."""
    base, cand = os.path.join(tmp, "base"), os.path.join(tmp, "cand")
    pairs = []
    k = 0
    for bv, cv, n in TRANSITIONS:
        for _ in range(n):
            k += 1
            rid = "r%02d" % k if k != 7 else "odd id/é %"
            split = "dev" if k % 2 else "test"
            bclaims = [claim("supported claim", "supported")]
            ccl = [claim("supported claim", "supported")]
            bcats, ccats = [], []
            if bv != "pass":
                bclaims.append(claim("old flagged %d" % k, "unsupported"))
                bcats = ["unsupported_claim"]
            if cv != "pass":
                # Keeps the baseline's flagged claim, if any, and adds a new one.
                if bv != "pass":
                    ccl.append(claim("old flagged %d" % k, "unsupported"))
                ccl.append(claim("new flagged %d" % k, "contradicted"))
                ccats = ["unsupported_claim", "contradicted_claim"] if bv != "pass" \
                    else ["contradicted_claim"]
            write_report(base, rid, bv, bcats, bclaims, metadata={"split": split})
            write_report(cand, rid, cv, ccats, ccl, metadata={"split": split}, engine=engine_b)
            pairs.append((rid, bv, cv, split, bcats, ccats))
    for rid in ("base-only-1", "base-only-2"):
        write_report(base, rid, "fail", ["no_sources"])
    for rid in ("cand-only-1", "cand-only-2", "cand-only-3"):
        write_report(cand, rid, "pass")
    return base, cand, pairs


def expected_pairs(pairs):
    t = {b: {c: 0 for c in VERDICTS} for b in VERDICTS}
    for _, bv, cv, _, _, _ in pairs:
        t[bv][cv] += 1
    e = {"paired": len(pairs), "transitions": t,
         "regressed": sum(RANK[cv] > RANK[bv] for _, bv, cv, _, _, _ in pairs),
         "fixed": sum(RANK[cv] < RANK[bv] for _, bv, cv, _, _, _ in pairs),
         "unchanged": sum(cv == bv for _, bv, cv, _, _, _ in pairs),
         "new_fail": sum(cv == "fail" and bv != "fail" for _, bv, cv, _, _, _ in pairs),
         "fixed_fail": sum(bv == "fail" and cv != "fail" for _, bv, cv, _, _, _ in pairs),
         # Each flagged candidate run flags "new flagged k", never flagged in the baseline; the
         # baseline's "old flagged k" stays flagged when the candidate is flagged too.
         "newly_flagged_claims": sum(cv != "pass" for _, bv, cv, _, _, _ in pairs),
         "no_longer_flagged_claims": sum(bv != "pass" and cv == "pass"
                                         for _, bv, cv, _, _, _ in pairs)}
    return e


def case_compare_crafted():
    """compare on two crafted stores with known transitions: the 3x3 table, regressed, fixed,
    new and fixed fails, newly flagged claims, category deltas, the flag-rate change with its
    interval, the exact McNemar p-value worked out by hand, per group, the unpaired runs of each
    side, the regressed runs most severe first with links to both reports; text and JSON agree."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp)
        rc, stdout, err = compare(base, cand, "--json", "--group-by", "split")
        check(rc == 0, "exit %d: %s" % (rc, err))
        r = json.loads(stdout)
        check(r["schema_version"] == "kivo_worker_compare.v1", "schema")
        o = r["overall"]
        e = expected_pairs(pairs)
        for k, v in e.items():
            check(o[k] == v, "%s: %r, want %r" % (k, o[k], v))
        # By hand: flagged only in the baseline b = nr->pass 1 + fail->pass 2 = 3; only in the
        # candidate c = pass->nr 2 + pass->fail 3 = 5. n = 8, P(X <= 3) for X ~ Bin(8, 1/2) is
        # (1 + 8 + 28 + 56) / 256 = 93/256, so p = 2 * 93/256 = 186/256 = 0.7265625.
        fr = o["flag_rate"]
        check((fr["flagged_baseline_only"], fr["flagged_candidate_only"]) == (3, 5),
              "discordant %s" % fr)
        check(near(o["mcnemar_p"], 186 / 256), "McNemar p %r, want 0.7265625" % o["mcnemar_p"])
        both, neither = fr["flagged_both"], fr["flagged_neither"]
        check((both, neither) == (1 + 1 + 4, 5), "both %d neither %d" % (both, neither))
        check(near(fr["baseline"], 9 / 19) and near(fr["candidate"], 11 / 19) and
              near(fr["delta"], 2 / 19), "rates %s" % fr)
        lo, hi = newcombe_paired(both, 3, 5, neither)
        check(near(fr["delta_ci95_low"], lo, 1e-6) and near(fr["delta_ci95_high"], hi, 1e-6),
              "CI %r %r, want %r %r" % (fr["delta_ci95_low"], fr["delta_ci95_high"], lo, hi))
        fc = o["failure_categories"]
        for cat in CATEGORIES:
            b = sum(cat in p[4] for p in pairs)
            c = sum(cat in p[5] for p in pairs)
            check(fc[cat] == {"baseline": b, "candidate": c, "delta": c - b},
                  "category %s: %s, want %d -> %d" % (cat, fc[cat], b, c))
        # Per group.
        vals = r["groups"]["split"]["values"]
        check([v["value"] for v in vals] == ["dev", "test"], "groups %s" % vals)
        for v in vals:
            ge = expected_pairs([p for p in pairs if p[3] == v["value"]])
            for k, want in ge.items():
                check(v[k] == want, "split=%s %s: %r, want %r" % (v["value"], k, v[k], want))
            fb = sum(p[1] != "pass" and p[2] == "pass" for p in pairs if p[3] == v["value"])
            fc_ = sum(p[1] == "pass" and p[2] != "pass" for p in pairs if p[3] == v["value"])
            n = fb + fc_
            want_p = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(fb, fc_) + 1)) / 2 ** n) \
                if n else 1.0
            check(near(v["mcnemar_p"], want_p), "split=%s p %r want %r" % (v["value"],
                                                                          v["mcnemar_p"], want_p))
        # Unpaired.
        ub, uc = r["unpaired_baseline"], r["unpaired_candidate"]
        check(ub["total"] == 2 and [x["customer_run_id"] for x in ub["runs"]] ==
              ["base-only-1", "base-only-2"], "unpaired baseline %s" % ub)
        check(uc["total"] == 3 and [x["customer_run_id"] for x in uc["runs"]] ==
              ["cand-only-1", "cand-only-2", "cand-only-3"], "unpaired candidate %s" % uc)
        check(r["baseline"]["runs"] == len(pairs) + 2 and r["candidate"]["runs"] == len(pairs) + 3,
              "side runs %d %d" % (r["baseline"]["runs"], r["candidate"]["runs"]))
        # Regressed runs: all of them, the most severe first (to fail before to needs_review,
        # then the larger step), each with links to both reports.
        reg = r["regressed_runs"]
        check(reg["total"] == e["regressed"] == len(reg["runs"]), "regressed %s" % reg["total"])
        order = [(RANK[x["candidate_verdict"]], RANK[x["candidate_verdict"]] -
                  RANK[x["baseline_verdict"]]) for x in reg["runs"]]
        check(order == sorted(order, reverse=True), "order %s" % order)
        want_ids = sorted(p[0] for p in pairs if RANK[p[2]] > RANK[p[1]])
        check(sorted(x["customer_run_id"] for x in reg["runs"]) == want_ids, "regressed ids")
        for x in reg["runs"]:
            for side, store in (("baseline_link", base), ("candidate_link", cand)):
                check(x[side] and os.path.exists(os.path.join(store, x[side])),
                      "%s of %s: %r" % (side, x["customer_run_id"], x[side]))
            check(x["new_fail"] == (x["candidate_verdict"] == "fail"), "new_fail flag")
        check(r["warnings"] == [], "warnings %s" % r["warnings"])
        # The text report says the same.
        rc, text, err = compare(base, cand, "--group-by", "split")
        check(rc == 0, "text: exit %d" % rc)
        t = e["transitions"]
        for v in VERDICTS:
            row = re.search(r"^%s\s+(\d+)\s+(\d+)\s+(\d+)$" % v, text, re.M)
            check(row and [int(x) for x in row.groups()] == [t[v][c] for c in VERDICTS],
                  "text row %s: %r" % (v, row and row.group(0)))
        check("exact McNemar p = 0.7266" in text, "text p-value")
        check("regressed %d, fixed %d" % (e["regressed"], e["fixed"]) in text, "text counts")
        check("only in the baseline (2): base-only-1, base-only-2" in text, "text unpaired")
        check("odd id/é %" in text, "text lists the odd id")


def case_compare_batches():
    """compare on two real batches of the example corpus (the second with some answers made
    wrong or right): the transition table and the regressed runs equal a pairing done here of
    the two batches' events; the same batch against itself changes nothing (p = 1)."""
    with TempDir() as tmp:
        recs = example_records()
        a = [dict(r) for r in recs]
        b = [dict(r) for r in recs]
        for i, r in enumerate(b):
            if i % 4 == 0 and r.get("sources"):
                r["output"] = "You can return anything within 365 days for a full refund."
            if i % 5 == 1:
                src = r.get("sources") or []
                if src and isinstance(src[0], dict) and isinstance(src[0].get("text"), str):
                    r["output"] = src[0]["text"].split("\n")[-1]
        b = b[:-2]                                   # two runs only the baseline has
        b.append(dict(recs[0], customer_run_id="new-run"))
        write_records(os.path.join(tmp, "a.jsonl"), a)
        write_records(os.path.join(tmp, "b.jsonl"), b)
        oa, ob = os.path.join(tmp, "A"), os.path.join(tmp, "B")
        for name, out in (("a.jsonl", oa), ("b.jsonl", ob)):
            rc, _, err = batch(write_spec(os.path.join(tmp, name + ".spec"), [name]), out)
            check(rc == 0, "%s: exit %d %s" % (name, rc, err))
        va, vb = verdicts_of(oa), verdicts_of(ob)
        t = {x: {y: 0 for y in VERDICTS} for x in VERDICTS}
        for rid in va:
            if rid in vb:
                t[va[rid]][vb[rid]] += 1
        rc, stdout, err = compare(oa, ob, "--json")
        check(rc == 0, "exit %d %s" % (rc, err))
        r = json.loads(stdout)
        check(r["overall"]["transitions"] == t, "transitions %s, counted %s" %
              (r["overall"]["transitions"], t))
        reg = sorted(rid for rid in va if rid in vb and RANK[vb[rid]] > RANK[va[rid]])
        check(sorted(x["customer_run_id"] for x in r["regressed_runs"]["runs"]) == reg,
              "regressed %s" % reg)
        check(reg and r["overall"]["fixed"] > 0, "the corpus change should regress and fix")
        check(r["unpaired_baseline"]["total"] == 2 and r["unpaired_candidate"]["total"] == 1,
              "unpaired %s %s" % (r["unpaired_baseline"], r["unpaired_candidate"]))
        rc, stdout, err = compare(oa, oa, "--json")
        same = json.loads(stdout)["overall"]
        check(rc == 0 and same["regressed"] == 0 and same["fixed"] == 0 and
              same["mcnemar_p"] == 1 and same["newly_flagged_claims"] == 0 and
              same["flag_rate"]["delta"] == 0, "self-compare %s" % same)


def case_compare_gates():
    """compare --fail-on: each metric's condition true and false against values worked out from
    the crafted stores; exit 6 with the condition and its value named."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp)
        e = expected_pairs(pairs)
        n = len(pairs)
        cand_all = [p[2] for p in pairs] + ["pass"] * 3

        def rate_delta(v):
            return (sum(p[2] == v for p in pairs) - sum(p[1] == v for p in pairs)) / n
        values = {"flag_rate_delta": -rate_delta("pass"), "fail_rate_delta": rate_delta("fail"),
                  "needs_review_rate_delta": rate_delta("needs_review"), "p": 186 / 256,
                  "new_fail": e["new_fail"], "fixed_fail": e["fixed_fail"],
                  "regressed": e["regressed"], "fixed": e["fixed"],
                  "regressed_rate": e["regressed"] / n,
                  "newly_flagged_claims": e["newly_flagged_claims"], "paired": n,
                  "unpaired_baseline": 2, "unpaired_candidate": 3,
                  "fail_rate": cand_all.count("fail") / len(cand_all),
                  "needs_review_rate": cand_all.count("needs_review") / len(cand_all),
                  "flag_rate": (len(cand_all) - cand_all.count("pass")) / len(cand_all)}
        gate_cases(lambda cond: compare(base, cand, "--fail-on", cond), values)
        lo, hi = newcombe_paired(6, 3, 5, 5)
        rc, _, err = compare(base, cand, "--fail-on", "flag_rate_delta_ci_low>%r" % (lo - 1e-4))
        check(rc == 6, "ci_low: %d" % rc)
        rc, _, err = compare(base, cand, "--fail-on", "flag_rate_delta_ci_high<%r" % (hi + 1e-4))
        check(rc == 6, "ci_high: %d" % rc)
        # The examples, comma-joined.
        rc, _, err = compare(base, cand, "--fail-on", "flag_rate_delta>0.01,new_fail>0,p<0.05")
        check(rc == 6 and "flag_rate_delta>0.01" in err and "new_fail>0" in err and
              "p<0.05" not in tripped(err), "joined: %d %r" % (rc, err))
        rc, _, err = compare(base, cand, "--fail-on", "p<0.05")
        check(rc == 0, "p<0.05 is false here: %d" % rc)
        # No pairs: a delta is undefined, and fails its condition.
        rc, _, err = compare(base, os.path.join(tmp, "empty-store"), "--fail-on", "p<0.05")
        check(rc == 2, "a missing store is a usage error: %d" % rc)
        os.makedirs(os.path.join(tmp, "empty", "reports"))
        rc, _, err = compare(base, os.path.join(tmp, "empty"), "--fail-on", "flag_rate_delta>0.5")
        check(rc == 6 and "undefined" in err, "undefined delta: %d %r" % (rc, err))
        rc, _, err = compare(base, cand, "--fail-on", "fail_rate_delta>")
        check(rc == 2, "bad expression: %d" % rc)


def case_compare_junit():
    """compare --junit: schema-valid JUnit; a testcase per candidate run (failure when its pair
    regressed, naming both verdicts) and per baseline-only run; unpaired runs are skipped."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp)
        xml = os.path.join(tmp, "c.xml")
        rc, _, err = compare(base, cand, "--junit", xml)
        check(rc == 0, "exit %d %s" % (rc, err))
        root = check_junit(xml)
        cases = {c.get("name"): c for c in root.find("testsuite").findall("testcase")}
        check(len(cases) == len(pairs) + 2 + 3, "%d testcases" % len(cases))
        for rid, bv, cv, _, _, _ in pairs:
            f = cases[rid].find("failure")
            check((f is not None) == (RANK[cv] > RANK[bv]), "%s: %s -> %s failure %s" %
                  (rid, bv, cv, f))
            if f is not None:
                check(f.get("message").startswith("regressed: %s -> %s" % (bv, cv)),
                      "%s message %r" % (rid, f.get("message")))
        for rid in ("base-only-1", "base-only-2", "cand-only-1", "cand-only-2", "cand-only-3"):
            check(cases[rid].find("skipped") is not None, "%s not skipped" % rid)


def case_compare_html():
    """compare --html: a self-contained page (CSP of the inlined script and style, nothing
    fetched) whose data holds the result and the way from the page to both stores, so that every
    regressed run's two links reach existing pages; hostile ids only inside the data block."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp)
        hostile = '</script><img src=x onerror=alert(1)>'
        write_report(base, hostile, "pass")
        write_report(cand, hostile, "fail", ["contradicted_claim"])
        page = os.path.join(tmp, "site", "deep", "compare.html")
        rc, _, err = compare(base, cand, "--html", page)
        check(rc == 0, "exit %d %s" % (rc, err))
        with open(page, encoding="utf-8") as f:
            html = f.read()
        m = re.search(r'(<script type="application/json" id="kivo-data">)(.*?)(</script>)', html,
                      re.S)
        check(m, "no data block")
        outside = html[:m.start(2)] + html[m.end(2):]
        check("onerror" not in outside, "hostile text outside the data block")
        check('<body data-kivo="compare">' in html, "kind")
        check("Content-Security-Policy" in html and "default-src 'none'" in html, "CSP")
        check(not re.search(r'(src|href)="(https?:)?//', html), "page fetches something")
        data = json.loads(m.group(2))
        check(data["overall"]["regressed"] == expected_pairs(pairs)["regressed"] + 1, "regressed")
        here = os.path.dirname(page)
        for x in data["regressed_runs"]["runs"]:
            for root, link in ((data["baseline_root"], x["baseline_link"]),
                               (data["candidate_root"], x["candidate_link"])):
                target = os.path.normpath(os.path.join(here, root, link))
                check(os.path.isfile(target), "%s: link %s/%s -> %s" %
                      (x["customer_run_id"], root, link, target))


def case_compare_warnings():
    """Different engine versions are a warning (stderr and JSON), not an error; an unreadable
    report is counted, named and skipped; a folder that is not a report store, or a store v2 this
    build cannot read, is a usage error (exit 2); usage errors exit 2."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp, engine_b="kivo-engine.99")
        with open(report_path(cand, "wf", "r01"), "w") as f:
            f.write("{broken")
        rc, stdout, err = compare(base, cand, "--json")
        check(rc == 0, "exit %d %s" % (rc, err))
        r = json.loads(stdout)
        check(any("engine versions differ" in w and "kivo-engine.99" in w for w in r["warnings"]),
              "warnings %s" % r["warnings"])
        check("warning: engine versions differ" in err, "stderr %r" % err)
        check(r["candidate"]["unreadable_reports"] == 1 and
              "r01" in r["candidate"]["unreadable_examples"][0]["where"], "unreadable")
        check(r["overall"]["paired"] == len(pairs) - 1, "paired %d" % r["overall"]["paired"])
        check(r["unpaired_baseline"]["total"] == 3, "r01 is now baseline-only")
        os.makedirs(os.path.join(tmp, "plain"))
        rc, _, err = compare(base, os.path.join(tmp, "plain"))
        check(rc == 2 and "reports/" in err, "not a store: %d %r" % (rc, err))
        # A report store v2 whose batch never finished (its index is not complete): refused.
        v2 = os.path.join(tmp, "v2", "reports")
        os.makedirs(v2)
        open(os.path.join(v2, "part-00000.jsonl"), "w").close()
        open(os.path.join(v2, "index"), "w").close()
        rc, _, err = compare(base, os.path.dirname(v2))
        check(rc == 2 and "did not finish" in err, "v2: %d %r" % (rc, err))
        for args in ([base], [base, cand, "extra"], [base, cand, "--bogus"],
                     [base, cand, "--group-by", "a,,b"]):
            rc, _, err = compare(*args)
            check(rc == 2, "%s: exit %d" % (args, rc))
        rc, out_, _ = run(WORKER, "compare", "--help")
        check(rc == 0 and "flag_rate_delta" in out_ and "Usage: kivo-worker compare" in out_,
              "compare --help")


def case_compare_cut_names():
    """Engine versions and policy parts too long for compare's fields are cut between characters,
    never inside one: a cut inside "é" made invalid UTF-8, and jansson then silently dropped the
    name from engine_versions/policies and the warning that they differ (FINDINGS.md, found by
    fuzz_compare_report). Names are kept to 639 bytes; strictness and intended_use to 64 and
    policy_version to 500 in the policy line."""
    with TempDir() as tmp:
        base, cand = os.path.join(tmp, "base"), os.path.join(tmp, "cand")
        long_engine = "e" * 638 + "é"               # byte 639 is the middle of "é"
        strictness, policy = "s" * 63 + "é", "p" * 499 + "é"
        for rid in ("r1", "r2"):
            path = write_report(base, rid, "pass", engine=long_engine)
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            doc["strictness"], doc["policy_version"] = strictness, policy
            with open(path, "w", encoding="utf-8") as f:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
            write_report(cand, rid, "pass")
        rc, stdout, err = compare(base, cand, "--json")
        check(rc == 0, "exit %d %s" % (rc, err))
        r = json.loads(stdout)
        check(r["baseline"]["engine_versions"] == {"e" * 638: 2},
              "baseline engine_versions %r" % {k[:20]: v for k, v in
                                               r["baseline"]["engine_versions"].items()})
        want_policy = "s" * 63 + "/customer_facing/" + "p" * 499
        check(r["baseline"]["policies"] == {want_policy: 2},
              "baseline policies %r" % {k[:20]: v for k, v in r["baseline"]["policies"].items()})
        check(r["candidate"]["engine_versions"] == {"kivo-engine.4": 2}, "candidate engines")
        warnings = r["warnings"]
        check(any(w.startswith("engine versions differ: baseline " + "e" * 638 + ", candidate")
                  for w in warnings), "engine warning in %r" % [w[:60] for w in warnings])
        check(any(w.startswith("policies (strictness/intended_use/policy_version) differ: "
                               "baseline " + want_policy + ", candidate") for w in warnings),
              "policy warning in %r" % [w[:60] for w in warnings])


def case_compare_github_summary():
    """compare --github-summary: the pairs, the transition table, the groups and the most severe
    regressions, appended to $GITHUB_STEP_SUMMARY."""
    with TempDir() as tmp:
        base, cand, pairs = crafted_stores(tmp)
        md = os.path.join(tmp, "s.md")
        env = dict(os.environ, GITHUB_STEP_SUMMARY=md)
        rc, _, err = compare(base, cand, "--group-by", "split", "--github-summary",
                             "--fail-on", "new_fail>0", env=env)
        check(rc == 6, "exit %d %s" % (rc, err))
        text = open(md, encoding="utf-8").read()
        e = expected_pairs(pairs)
        t = e["transitions"]
        check(text.startswith("### Kivo compare"), "head %r" % text[:40])
        check("| %d | %d | %d | %d | %d |" % (e["paired"], e["regressed"], e["fixed"],
                                              e["new_fail"], e["newly_flagged_claims"]) in text,
              "pairs row")
        check("| pass | %d | %d | %d |" % (t["pass"]["pass"], t["pass"]["needs_review"],
                                           t["pass"]["fail"]) in text, "transition row")
        check("#### By split" in text and "#### Regressed runs" in text, "sections")
        check("Gate failed" in text and "new\\_fail&gt;0" in text, "gate")


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


if __name__ == "__main__":
    sys.exit(case_main(CASES, configure))
