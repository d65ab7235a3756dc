#!/usr/bin/env python3
"""Golden claim reports: the example job's reports for a few runs against
tests/data/golden/<customer_run_id>.claim_report.json.

The engine is still being tuned, so only what tuning must not change is compared with the golden
file: the schema (keys and their order), ids, hashes, the sources, the policy fields. Claim
statuses, scores, counts, verdicts and the claims themselves are not frozen; instead every claim is
checked for what must always hold: its text is the output's bytes at [start, end), its evidence
names a source of the run and lies inside that source's text.

The hashes are also recomputed here from the input (issue 2: output_hash is the SHA-256 of the
output's UTF-8 bytes; a structured source is hashed as its documented flattened text), so a golden
file cannot drift from what is documented.

    worker_golden.py --worker build/kivo-worker --root .             # compare
    worker_golden.py --worker build/kivo-worker --root . --regenerate  # rewrite (check by hand!)
"""
import argparse
import glob
import json
import os
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import (  # noqa: E402
    CATEGORIES, CLAIM_KEYS, EVIDENCE_KEYS, REPORT_KEYS, SOURCE_KEYS, STATUSES, VERDICTS, Failure,
    TempDir, check, read_records, run, sha256_text)

WORKFLOW = "support_answer_review"
# A structured source (a store record), a plain-string source with a generated id, and a reply
# with non-ASCII text ("Hi Zoë") whose offsets are bytes, not characters.
GOLDEN_RUNS = ["sup-1124-009", "sup-1124-011", "sup-1126-008"]
# Fields that tuning the engine must not change.
STABLE = ["schema_version", "review_run_id", "customer_run_id", "workflow_id", "worker_id",
          "policy_version", "strictness", "intended_use", "output_hash", "source_count", "sources"]


def keys_of(pairs):
    return [k for k, _ in pairs]


def check_schema(text, rid):
    top = json.loads(text, object_pairs_hook=lambda p: p)
    check(keys_of(top) == REPORT_KEYS, "%s: report keys %s" % (rid, keys_of(top)))
    d = dict(top)
    for s in d["sources"]:
        check(keys_of(s) == SOURCE_KEYS, "%s: source keys %s" % (rid, keys_of(s)))
    for c in d["claims"]:
        check(keys_of(c) == CLAIM_KEYS, "%s: claim keys %s" % (rid, keys_of(c)))
        for e in dict(c)["evidence"]:
            check(keys_of(e) == EVIDENCE_KEYS, "%s: evidence keys %s" % (rid, keys_of(e)))


def check_invariants(report, rec):
    rid = rec["id"]
    out = rec["output"].encode("utf-8")
    texts = {sid: t.encode("utf-8") for sid, _, t in rec["sources"]}
    check(report["output_hash"] == sha256_text(out), "%s: output_hash" % rid)
    check([s["source_id"] for s in report["sources"]] == [s[0] for s in rec["sources"]],
          "%s: source ids" % rid)
    check([s["title"] for s in report["sources"]] == [s[1] for s in rec["sources"]],
          "%s: source titles" % rid)
    want = [sha256_text(t) for _, _, t in rec["sources"]]
    check([s["sha256"] for s in report["sources"]] == want,
          "%s: source hashes are not SHA-256 of the (flattened) texts" % rid)
    check(report["source_count"] == len(rec["sources"]), "%s: source_count" % rid)
    check(report["gate_verdict"] in VERDICTS and report["safe_use_status"] in VERDICTS,
          "%s: verdicts" % rid)
    check(all(c in CATEGORIES for c in report["failure_categories"]), "%s: categories" % rid)
    check(report["claim_count"] == len(report["claims"]), "%s: claim_count" % rid)
    prev = 0
    for i, c in enumerate(report["claims"], 1):
        check(c["claim_id"] == "c%d" % i, "%s: claim id %s" % (rid, c["claim_id"]))
        s, e = c["start"], c["end"]
        check(prev <= s < e <= len(out), "%s %s: offsets [%d,%d)" % (rid, c["claim_id"], s, e))
        prev = e
        check(out[s:e].decode("utf-8") == c["text"],
              "%s %s: text %r is not output[%d:%d] = %r" %
              (rid, c["claim_id"], c["text"], s, e, out[s:e]))
        check(c["status"] in STATUSES, "%s: status %r" % (rid, c["status"]))
        check((c["failure_category"] is None) == (c["status"] == "supported"),
              "%s %s: category %r with status %s" % (rid, c["claim_id"], c["failure_category"],
                                                    c["status"]))
        check(0 <= c["support_score"] <= 1, "%s: score" % rid)
        for ev in c["evidence"]:
            check(ev["source_id"] in texts, "%s: evidence names %r" % (rid, ev["source_id"]))
            check(0 <= ev["start"] < ev["end"] <= len(texts[ev["source_id"]]),
                  "%s: evidence [%d,%d) outside its source" % (rid, ev["start"], ev["end"]))
            # Evidence spans are whole UTF-8 text.
            texts[ev["source_id"]][ev["start"]:ev["end"]].decode("utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--regenerate", action="store_true")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    golden_dir = os.path.join(root, "tests", "data", "golden")
    inputs = sorted(glob.glob(os.path.join(root, "data", "examples", "traces", "*.jsonl")))
    recs = {r["id"]: r for r in read_records(inputs)}
    try:
        with TempDir() as tmp:
            out = os.path.join(tmp, "out")
            rc, _, err = run(os.path.abspath(a.worker), "batch", "--job-spec-file",
                             os.path.join(root, "data", "examples", "job-spec.json"),
                             "--out", out, "--quiet", "--threads", "2")
            check(rc == 0, "example job: exit %d: %s" % (rc, err))
            for rid in GOLDEN_RUNS:
                # The report as `show` gives it from the report store (its exact bytes).
                rc, text, err = run(os.path.abspath(a.worker), "show", "--out", out, rid)
                check(rc == 0, "show %s: exit %d: %s" % (rid, rc, err))
                gpath = os.path.join(golden_dir, rid + ".claim_report.json")
                if a.regenerate:
                    os.makedirs(golden_dir, exist_ok=True)
                    pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
                    with open(gpath, "w") as f:
                        f.write(pretty + "\n")
                    print("wrote %s" % gpath)
                    continue
                with open(gpath, "rb") as f:
                    gtext = f.read().decode("utf-8")
                check_schema(text, rid)
                check_schema(gtext, rid + " (golden)")
                report, golden = json.loads(text), json.loads(gtext)
                for k in STABLE:
                    check(report[k] == golden[k], "%s: %s is %r, golden %r" %
                          (rid, k, report[k], golden[k]))
                check_invariants(report, recs[rid])
                check_invariants(golden, recs[rid])
    except Failure as e:
        print("FAIL golden: %s" % e)
        return 1
    print("ok golden (%s)" % ", ".join(GOLDEN_RUNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
