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


def case_claim_limit():
    """A record of more than 10,000 claims (a 40 MB answer has ~600,000: it peaked at 3.26 GB
    and wrote a 248 MB report) is a reject whose reason names the limit; 10,000 are reviewed;
    the records around it are reviewed and the batch exits 3."""
    good = "Standard shipping takes 3 to 5 business days."
    src = [{"id": "kb", "text": "The hub costs 10 dollars."}]

    def facts(n):
        return " ".join("The hub costs %d dollars." % i for i in range(n))
    records = [{"customer_run_id": "before", "output": good, "sources": [{"id": "kb", "text": good}]},
               {"customer_run_id": "at-limit", "output": facts(10000), "sources": src},
               {"customer_run_id": "over", "output": facts(10001), "sources": src},
               {"customer_run_id": "after", "output": good, "sources": [{"id": "kb", "text": good}]}]
    with TempDir() as tmp:
        rc, err, out = batch(tmp, records, "--html", "none")
        check(rc == 3, "exit %d, want 3: %s" % (rc, err.strip()[-400:]))
        events = read_jsonl(os.path.join(out, "events.jsonl"))
        check([e["customer_run_id"] for e in events] == ["before", "at-limit", "after"],
              "reviewed %s" % [e["customer_run_id"] for e in events])
        check(events[1]["claim_count"] == 10000, "at-limit: %d claims" % events[1]["claim_count"])
        rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
        want = "the output has 10001 claims, over the limit of 10000 claims per record"
        check(len(rejects) == 1 and rejects[0]["line"] == 3 and rejects[0]["reason"] == want,
              "rejects %r" % rejects)
        check(not os.path.exists(os.path.join(out, "reports", "support_answer_review", "over")),
              "a report was written for the rejected record")


def case_default_line_limit():
    """Without limits.max_line_bytes a line is at most 8 MiB (it was 64 MiB: a thread holds about
    35 x the limit at worst, on every core): one byte over is a reject, the lines around it are
    reviewed."""
    good = "Standard shipping takes 3 to 5 business days."
    limit = 8 << 20
    line = json.dumps({"customer_run_id": "big", "output": good,
                       "sources": [{"id": "kb", "text": "x" * (limit + 1)}]})
    records = [{"customer_run_id": "before", "output": good, "sources": [{"id": "kb", "text": good}]}]
    with TempDir() as tmp:
        with open(os.path.join(tmp, "in.jsonl"), "w") as f:
            f.write(json.dumps(records[0]) + "\n" + line + "\n" + json.dumps(records[0]).replace(
                "before", "after") + "\n")
        spec = write_spec(os.path.join(tmp, "spec.json"), ["in.jsonl"])
        out = os.path.join(tmp, "out")
        rc, _, err = run(WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet",
                         "--html", "none", timeout=300)
        check(rc == 3, "exit %d, want 3: %s" % (rc, err.strip()[-400:]))
        events = read_jsonl(os.path.join(out, "events.jsonl"))
        check([e["customer_run_id"] for e in events] == ["before", "after"],
              "reviewed %s" % [e["customer_run_id"] for e in events])
        rejects = read_jsonl(os.path.join(out, "rejects.jsonl"))
        check(len(rejects) == 1 and rejects[0]["line"] == 2 and
              "over the limit of %d bytes" % limit in rejects[0]["reason"], "rejects %r" % rejects)
    rc, text, _ = run(WORKER, "batch", "--help")
    check(rc == 0 and "default 8 MiB" in text and "10,000 claims per record" in text,
          "batch --help does not document the limits")


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_") and fn.__doc__}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


if __name__ == "__main__":
    sys.exit(case_main(CASES, configure))
