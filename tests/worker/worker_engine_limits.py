#!/usr/bin/env python3
"""The real kivo-worker on records shaped to break the engine (issue 12): one case per ctest.

    worker_engine_limits.py --worker build/kivo-worker --root . CASE
"""
import json
import os
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import TempDir, case_main, check, run, write_spec  # noqa: E402

WORKER = ROOT = None


def read_jsonl(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().decode("utf-8").splitlines()]


def batch(tmp, records, *extra, **spec_extra):
    """Writes records (dicts) as one JSONL file, runs a batch over it: (rc, stderr, out)."""
    with open(os.path.join(tmp, "in.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"], **spec_extra)
    out = os.path.join(tmp, "out")
    rc, _, err = run(WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet", *extra,
                     timeout=300)
    return rc, err, out


def case_index_overflow_packet():
    """Issue 12's packet as a trace line: 43 sentences "Lumen Home Hub costs $N." wrote past the
    engine's postings (index.c) and aborted the batch (malloc assertion, exit 134). It is
    reviewed like any record, between two others."""
    text = " ".join("Lumen Home Hub costs $%d." % (i + 10) for i in range(43))
    good = "Standard shipping takes 3 to 5 business days."
    records = [{"customer_run_id": "before", "output": good, "sources": [{"id": "kb", "text": good}]},
               {"customer_run_id": "h1", "output": "The Lumen Home Hub costs $10.",
                "sources": [{"id": "kb", "text": text}]},
               {"customer_run_id": "after", "output": good, "sources": [{"id": "kb", "text": good}]}]
    for threads in ("1", "2"):
        with TempDir() as tmp:
            rc, err, out = batch(tmp, records, "--threads", threads)
            check(rc == 0, "threads %s: exit %d, want 0: %s" % (threads, rc, err.strip()[-400:]))
            events = read_jsonl(os.path.join(out, "events.jsonl"))
            check([e["customer_run_id"] for e in events] == ["before", "h1", "after"],
                  "reviewed %s" % [e["customer_run_id"] for e in events])
            with open(os.path.join(out, "reports", "support_answer_review", "h1",
                                   "claim_report.json")) as f:
                report = json.load(f)
            check(report["claim_count"] == 1 and report["claims"][0]["status"] == "supported",
                  "h1 report: %r" % report["claims"])


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


if __name__ == "__main__":
    sys.exit(case_main(CASES, configure))
