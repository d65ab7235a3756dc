"""Helpers shared by the kivo-worker integration tests (Python 3 standard library only).

Independent re-implementations of what the worker documents, so that the tests check the worker
against the documents rather than against itself: the flattening of structured sources, what is
hashed, the event id, the event schema and the rejected raw field names.
"""
import argparse
import hashlib
import glob
import json
import os
import shutil
import subprocess
import tempfile

# kivo_private_worker_review_run_event.v1: the product page and spec/api.md, in order.
EVENT_KEYS = [
    "schema_version", "event_id", "event_type", "review_run_id", "customer_run_id", "batch_id",
    "worker_id",
    "worker_version", "sequence", "status", "gate_verdict", "safe_use_status", "claim_count",
    "unsupported_claim_count", "source_count", "source_hashes", "output_hash",
    "redacted_failure_categories", "artifact_summaries",
]
ARTIFACT_KEYS = ["artifact_name", "artifact_type", "format", "sha256", "file_count",
                 "storage_label"]
REPORT_KEYS = [
    "schema_version", "review_run_id", "customer_run_id", "workflow_id", "batch_id", "worker_id",
    "worker_version", "engine_version", "policy_version", "strictness", "intended_use",
    "gate_verdict", "safe_use_status", "claim_count", "unsupported_claim_count",
    "contradicted_claim_count", "partially_supported_claim_count", "failure_categories",
    "output_hash", "source_count", "sources", "claims",
]
CLAIM_KEYS = ["claim_id", "text", "start", "end", "status", "support_score", "failure_category",
              "evidence", "unsupported_spans"]
EVIDENCE_KEYS = ["source_id", "start", "end"]
SOURCE_KEYS = ["source_id", "title", "sha256"]
# api.md "Rejected raw fields" (tool traces also as tool_calls).
RAW_FIELDS = ["ai_output", "prompt", "system_prompt", "messages", "source_text", "source_spans",
              "retrieved_context", "embeddings", "screenshots", "uploads", "tool_traces",
              "tool_calls"]
CATEGORIES = ["unsupported_claim", "unsupported_policy_claim", "unsupported_numeric_claim",
              "unsupported_entity_claim", "contradicted_claim", "no_sources", "empty_output"]
VERDICTS = ["pass", "needs_review", "fail"]
STATUSES = ["supported", "partially_supported", "unsupported", "contradicted"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Literal(str):
    """A JSON number kept as written ("4.50" stays "4.50")."""


def load_ordered(text):
    """Parses JSON keeping member order (a list of pairs) and numbers as written."""
    return json.loads(text, object_pairs_hook=lambda pairs: ("obj", pairs),
                      parse_float=Literal, parse_int=Literal, parse_constant=Literal)


def scalar_text(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    return str(v)


def flatten(v):
    """record.h's kivo_json_flatten, from its documentation: a string as itself, a scalar as its
    literal, an object or array as one "path: value" line per scalar leaf, paths joined with '.',
    array elements by 1-based position, members in input order."""
    out = []

    def walk(node, path):
        if isinstance(node, tuple) and node[0] == "obj":
            for k, x in node[1]:
                walk(x, path + [k])
        elif isinstance(node, list):
            for i, x in enumerate(node, 1):
                walk(x, path + [str(i)])
        else:
            out.append("%s: %s\n" % (".".join(path), scalar_text(node)))

    if isinstance(v, (list, tuple)):
        walk(v, [])
        return "".join(out)
    return scalar_text(v)


def get(node, key):
    if isinstance(node, tuple) and node[0] == "obj":
        for k, x in node[1]:
            if k == key:
                return x
    return None


def sha256_text(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def event_id(workflow_id, run_id, typ="completed"):
    msg = workflow_id.encode() + b"\0" + run_id.encode() + b"\0" + typ.encode()
    return "evt_" + hashlib.sha256(msg).hexdigest()[:24]


def read_records(paths):
    """The example-format records of the given JSONL files: dicts with run id, output and a list
    of (id, title, text) with structured texts flattened, in input order."""
    recs = []
    for path in paths:
        with open(path, "rb") as f:
            for raw in f.read().split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    doc = load_ordered(raw.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                rid = get(doc, "customer_run_id")
                out = get(doc, "output")
                if not isinstance(rid, str) or not isinstance(out, str):
                    continue
                srcs = get(doc, "sources")
                if srcs is None:
                    srcs = []
                elif not isinstance(srcs, list):
                    srcs = [srcs]
                sources = []
                for i, s in enumerate(srcs, 1):
                    if isinstance(s, str):
                        sources.append(("source_%d" % i, None, s))
                    else:
                        sid = get(s, "id")
                        text = get(s, "text")
                        sources.append((sid if isinstance(sid, str) and sid else "source_%d" % i,
                                        get(s, "title"),
                                        text if isinstance(text, str) else flatten(text)))
                recs.append({"id": rid, "output": out, "sources": sources})
    return recs


def run(worker, *args, cwd=None, timeout=60):
    p = subprocess.run([worker] + list(args), cwd=cwd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def tree(root):
    """{relative path: bytes} of every file under root."""
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root)] = f.read()
    return files


def store_reports(out):
    """{customer_run_id: report bytes} of a batch's report store, either layout: v2 (the index
    reports/index says where each report is in reports/part-NNNNN.jsonl[.zst]; every part line
    is checked to be exactly one indexed report) or per-run (reports/<wf>/<run>/
    claim_report.json, keyed by the report's own customer_run_id)."""
    import sqlite3
    index = os.path.join(out, "reports", "index")
    reports = {}
    if not os.path.exists(index):
        for p in glob.glob(os.path.join(out, "reports", "*", "*", "claim_report.json")):
            with open(p, "rb") as f:
                data = f.read()
            reports[json.loads(data)["customer_run_id"]] = data
        return reports
    db = sqlite3.connect("file:%s?mode=ro" % index, uri=True)
    try:
        comp = dict(db.execute("SELECT key, value FROM store"))["compression"]
        rows = db.execute("SELECT run_id, part, offset, length, sha256 FROM runs ORDER BY seq")
        parts = {}
        for run_id, part, offset, length, sha in rows:
            if part not in parts:
                name = os.path.join(out, "reports", "part-%05d.jsonl" % part)
                if comp == "zstd":
                    parts[part] = subprocess.run(["zstd", "-dc", name + ".zst"], check=True,
                                                 capture_output=True).stdout
                else:
                    with open(name, "rb") as f:
                        parts[part] = f.read()
            data = parts[part][offset:offset + length]
            check(data.endswith(b"\n"), "%s: report %s does not end a line" % (out, run_id))
            check(sha256_text(data) == sha, "%s: index sha256 of %s differs" % (out, run_id))
            reports[run_id] = data
    finally:
        db.close()
    # The parts hold exactly the indexed reports, in order, one per line.
    lines = [l + b"\n" for p in sorted(parts) for l in parts[p].split(b"\n")[:-1]]
    check(lines == list(reports.values()), "%s: parts hold other lines than the index" % out)
    return reports


def write_spec(path, inputs, **extra):
    spec = {
        "schema_version": "kivo_worker_job_spec.v1",
        "workflow_id": "support_answer_review",
        "intended_use": "customer_facing",
        "strictness": "strict",
        "policy_version": "standard-support-v1",
        "worker_id": "worker_support_001",
        "inputs": inputs,
        "fields": {"customer_run_id": "/customer_run_id", "output": "/output",
                   "sources": "/sources", "source_id": "/id", "source_title": "/title",
                   "source_text": "/text"},
        "report_store": {"path": "./kivo-reports", "label": "Customer report store"},
    }
    spec.update(extra)
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="kivo-worker-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def case_main(cases, configure):
    """The command line of a case script: `SCRIPT --worker W --root R CASE`. configure(worker,
    root) gets the absolute paths; the case runs; a Failure prints FAIL and exits 1."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    configure(os.path.abspath(a.worker), os.path.abspath(a.root))
    try:
        cases[a.case]()
    except Failure as e:
        print("FAIL %s: %s" % (a.case, e))
        return 1
    print("ok %s" % a.case)
    return 0
