#!/usr/bin/env python3
"""bench-compare.py - `kivo-worker compare` on two generated per-run report stores: wall time,
runs/s and peak RSS, to check that a million-run pair stays within 256 MiB.

    bench/bench-compare.py --worker build/kivo-worker --runs 1000000 [--dir /tmp/kivo-bench-cmp]
                           [--group-by split] [--keep]

Writes BASE and CAND under --dir in the per-run layout (reports/<workflow>/<run>/claim_report.json,
~1 KB each, three claims, a metadata object with a four-valued "split" and a unique "question"):
the candidate changes the verdict of about 10% of the runs, and each side has 1% of runs the
other lacks. Generation is seeded (--seed), so two runs of the bench compare the same stores. Then
runs compare once to warm the page cache and --repeat times timed (median), each with
--json > /dev/null, and prints the peak RSS of the compare process (getrusage of the child).
Generating a million-run pair takes a few minutes and ~9 GB of disk (4 KiB per file): run it on
a quiet machine, and without --keep the stores are removed at the end.
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time

VERDICTS = ["pass", "needs_review", "fail"]
CATS = ["unsupported_claim", "unsupported_policy_claim", "unsupported_numeric_claim",
        "unsupported_entity_claim", "contradicted_claim"]


def report(rid, verdict, rng, split, flip):
    claims = []
    for k in range(3):
        flagged = verdict != "pass" and k == 0
        claims.append({"claim_id": "c%d" % (k + 1),
                       "text": "Claim %d of run %s says something%s." % (k, rid,
                                                                         " new" if flip else ""),
                       "start": 40 * k, "end": 40 * k + 39,
                       "status": "unsupported" if flagged else "supported",
                       "support_score": 0.31 if flagged else 0.9,
                       "failure_category": "unsupported_claim" if flagged else None,
                       "evidence": [{"source_id": "kb-1", "start": 0, "end": 120}],
                       "unsupported_spans": []})
    cats = [] if verdict == "pass" else [rng.choice(CATS)]
    doc = {"schema_version": "kivo_claim_report.v1", "review_run_id": None,
           "customer_run_id": rid, "workflow_id": "bench", "worker_id": "w",
           "worker_version": "kivo-worker.bench", "engine_version": "kivo-engine.4",
           "policy_version": "p1", "strictness": "strict", "intended_use": "customer_facing",
           "gate_verdict": verdict, "safe_use_status": verdict, "claim_count": 3,
           "unsupported_claim_count": int(verdict != "pass"), "contradicted_claim_count": 0,
           "partially_supported_claim_count": 0, "failure_categories": cats,
           "output_hash": "sha256:" + "ab" * 32, "source_count": 1,
           "sources": [{"source_id": "kb-1", "title": "Policy", "sha256": "sha256:" + "cd" * 32}],
           "claims": claims,
           "metadata": {"split": split, "question": "question about run " + rid}}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def generate(root, n, seed):
    rng = random.Random(seed)
    base, cand = os.path.join(root, "base"), os.path.join(root, "cand")
    t0 = time.time()
    for i in range(n + n // 100):
        rid = "run-%08d" % i
        split = "s%d" % (i % 4)
        v = VERDICTS[0 if rng.random() < 0.6 else (1 if rng.random() < 0.5 else 2)]
        w = rng.choice(VERDICTS) if rng.random() < 0.10 else v
        in_base = i < n
        in_cand = i >= n // 100
        for store, verdict, ok, flip in ((base, v, in_base, False), (cand, w, in_cand, w != v)):
            if not ok:
                continue
            d = os.path.join(store, "reports", "bench", rid)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "claim_report.json"), "w") as f:
                f.write(report(rid, verdict, rng, split, flip))
        if i and i % 100000 == 0:
            print("  generated %d runs per side (%.0f s)" % (i, time.time() - t0), file=sys.stderr)
    return base, cand


def run_compare(worker, base, cand, group_by):
    args = [worker, "compare", base, cand, "--json", "--quiet"]
    if group_by:
        args += ["--group-by", group_by]
    t0 = time.time()
    pid = os.fork()
    if pid == 0:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        os.execv(worker, args)
    _, status, ru = os.wait4(pid, 0)
    wall = time.time() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 6):
        raise SystemExit("compare failed: status %d" % status)
    return wall, ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", required=True)
    ap.add_argument("--runs", type=int, default=100000, help="runs per side (default 100000)")
    ap.add_argument("--dir", default="/tmp/kivo-bench-cmp")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--group-by", default="split")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the stores (reused when present)")
    a = ap.parse_args()
    root = os.path.join(a.dir, "n%d-s%d" % (a.runs, a.seed))
    base, cand = os.path.join(root, "base"), os.path.join(root, "cand")
    try:
        if not os.path.exists(os.path.join(root, "done")):
            shutil.rmtree(root, ignore_errors=True)
            print("generating %d runs per side in %s" % (a.runs, root), file=sys.stderr)
            generate(root, a.runs, a.seed)
            open(os.path.join(root, "done"), "w").close()
        run_compare(a.worker, base, cand, a.group_by)          # warm the page cache
        walls, rss = [], []
        for _ in range(a.repeat):
            w, r = run_compare(a.worker, base, cand, a.group_by)
            walls.append(w)
            rss.append(r)
        med = statistics.median(walls)
        total = 2 * a.runs
        print("compare: %d runs per side (%d reports), --group-by %s" % (a.runs, total,
                                                                           a.group_by or "-"))
        print("  wall %.2f s median of %d (%s), %.0f reports/s" % (
            med, a.repeat, ", ".join("%.2f" % w for w in walls), total / med))
        print("  peak RSS %.1f MiB (max of the runs), %.0f bytes per baseline run" % (
            max(rss) / 2 ** 20, max(rss) / a.runs))
        load = os.getloadavg()[0]
        print("  load average %.1f at the end (figures are noisy above the core count, %d)" %
              (load, os.cpu_count()))
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
