#!/usr/bin/env bash
# Resume (issue 14): a report store v2 batch killed with SIGKILL at exact points (the test hook
# KIVO_WORKER_TEST_KILL, no timing races) while reviewing, while storing, while closing a part,
# after a checkpoint's data is durable but before its manifest, while the manifest is written,
# while writing a page of pages/ (page:25 is the first run of page 3: page 2 was closed after the
# last checkpoint, so the resume opens it again), while closing a page, and after the finished
# outputs but before the manifest says complete; each time rerun with the same spec and folder:
# the reports, parts, pages, index lookups, events, rejects and summary counts are byte-identical
# to an uninterrupted run. --metrics-file is written at each checkpoint (running 1) and at the end
# (running 0). SIGTERM stops at a checkpoint (exit 143, summary "interrupted"), and the rerun
# resumes. Then, against a real kivo-api, a batch killed three times and rerun sends each event
# exactly once. A folder of another batch is refused.
. "$(dirname "$0")/lib.sh"

gen_job 200
# Records with bad lines and a duplicate, so that rejects and the duplicate table resume too.
python3 - "$T/job/corpus.jsonl" <<'PY'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")[:-1]
lines.insert(37, b'{"customer_run_id": "broken", "output": ')
lines.insert(150, lines[10])
open(p, "wb").write(b"\n".join(lines) + b"\n")
PY
SPEC="$T/job/job-spec.json"
# Small chunks and parts and a checkpoint after every round: many of each in 200 records.
OPTS=(--quiet --threads 2 --chunk-bytes 16384 --part-size 64K)
export KIVO_WORKER_CHECKPOINT_BYTES=1
# 8 runs a page: the flagged runs of 200 records fill many pages.
export KIVO_WORKER_PAGE_RUNS=8

set +e
"$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/ref" "${OPTS[@]}"
rc=$?
set -e
[ "$rc" = 3 ] || fail "uninterrupted run: exit $rc, want 3 (one reject, one duplicate)"

same_as_ref() {   # same_as_ref DIR WHAT
    python3 - "$T/ref" "$1" "$2" "$KIVO_TESTLIB_DIR" "$KIVO_WORKER" <<'PY'
import glob, json, os, subprocess, sys
ref, out, what, lib, worker = sys.argv[1:]
sys.path.insert(0, lib)
sys.dont_write_bytecode = True
from kivo_testlib import store_reports
def read(d, n):
    return open(os.path.join(d, n), "rb").read()
for n in ("events.jsonl", "rejects.jsonl"):
    assert read(ref, n) == read(out, n), "%s: %s differs" % (what, n)
parts = lambda d: [os.path.basename(p) for p in sorted(glob.glob(d + "/reports/part-*"))]
assert parts(ref) == parts(out), "%s: parts %s, want %s" % (what, parts(out), parts(ref))
for p in parts(ref):
    assert read(ref, "reports/" + p) == read(out, "reports/" + p), "%s: %s differs" % (what, p)
pages = lambda d: sorted(os.listdir(d + "/pages"))
assert len(pages(ref)) > 3, "the reference has %d pages" % len(pages(ref))
assert pages(ref) == pages(out), "%s: pages %s, want %s" % (what, pages(out), pages(ref))
for p in pages(ref):
    assert read(ref, "pages/" + p) == read(out, "pages/" + p), "%s: pages/%s differs" % (what, p)
ra, rb = store_reports(ref), store_reports(out)
assert ra == rb, "%s: the indexed reports differ" % what
sa, sb = json.loads(read(ref, "summary.json")), json.loads(read(out, "summary.json"))
for k in ("records_read", "records_reviewed", "records_rejected", "duplicate_run_ids", "claims",
          "unsupported_claims", "verdicts", "failure_categories", "bytes_read"):
    assert sa[k] == sb[k], "%s: summary %s %r, want %r" % (what, k, sb[k], sa[k])
assert not sb.get("interrupted"), "%s: summary says interrupted" % what
for rid in list(ra)[:1] + list(ra)[len(ra) // 2:len(ra) // 2 + 1] + list(ra)[-1:]:
    got = subprocess.run([worker, "show", "--out", out, rid], capture_output=True).stdout
    assert got == ra[rid], "%s: show %s" % (what, rid)
left = [n for n in os.listdir(out) + os.listdir(out + "/reports") + os.listdir(out + "/pages")
        if n.endswith((".partial", ".tmp"))]
assert not left, "%s: left behind %s" % (what, left)
PY
}

# Each point: killed there, rerun to the end, compared. The counts are passes of the point.
# store:60 also runs with --metrics-file: the killed batch left it as its last checkpoint wrote it
# (running 1, the counts so far, no exit code), the finished rerun with running 0 and exit code 3.
for point in review:80 store:60 part_close:2 checkpoint:4 manifest:6 finish:1 store:1 page:25 \
    page_close:3; do
    rm -rf "$T/k" "$T/metrics.prom"
    metrics=()
    [ "$point" = store:60 ] && metrics=(--metrics-file "$T/metrics.prom")
    set +e
    KIVO_WORKER_TEST_KILL=$point "$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" \
        "${OPTS[@]}" "${metrics[@]}" 2>"$T/err-kill"
    rc=$?
    set -e
    [ "$rc" = 137 ] || fail "$point: exit $rc, want 137 (SIGKILL): $(cat "$T/err-kill")"
    if [ ${#metrics[@]} -gt 0 ]; then
        [ -f "$T/metrics.prom" ] || fail "metrics: no --metrics-file after the checkpoints"
        grep -qx 'kivo_worker_batch_running{[^}]*} 1' "$T/metrics.prom" ||
            fail "metrics: not running mid-batch: $(grep running "$T/metrics.prom")"
        mid=$(sed -n 's/^kivo_worker_batch_records_read{[^}]*} //p' "$T/metrics.prom")
        [ "${mid:-0}" -gt 0 ] && [ "$mid" -lt 202 ] || fail "metrics: $mid records mid-batch"
        ! grep -q '^kivo_worker_batch_exit_code' "$T/metrics.prom" || fail "metrics: exit code"
    fi
    set +e
    "$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" "${OPTS[@]}" "${metrics[@]}" \
        2>"$T/err-rerun"
    rc=$?
    set -e
    [ "$rc" = 3 ] || fail "$point: rerun exit $rc: $(cat "$T/err-rerun")"
    if [ ${#metrics[@]} -gt 0 ]; then
        grep -qx 'kivo_worker_batch_running{[^}]*} 0' "$T/metrics.prom" &&
            grep -qx 'kivo_worker_batch_exit_code{[^}]*} 3' "$T/metrics.prom" &&
            grep -qx 'kivo_worker_batch_records_read{[^}]*} 202' "$T/metrics.prom" ||
            fail "metrics at the end: $(grep -E 'running|exit_code|records_read' "$T/metrics.prom")"
    fi
    same_as_ref "$T/k" "killed at $point" || fail "killed at $point: output differs"
    resumed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("resumed", False))' "$T/k/summary.json")
    note "killed at $point, rerun: resumed $resumed"
    case $point in review:80|store:60|part_close:2|manifest:6|finish:1|page:*|page_close:*)
        [ "$resumed" = True ] || fail "$point: the rerun started again instead of resuming";;
    esac
done

# Killed several times in a row before the rerun that finishes.
rm -rf "$T/k"
for point in store:40 part_close:1 checkpoint:2; do
    set +e
    KIVO_WORKER_TEST_KILL=$point "$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" \
        "${OPTS[@]}" 2>/dev/null
    rc=$?
    set -e
    [ "$rc" = 137 ] || fail "chain $point: exit $rc"
done
set +e
"$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" "${OPTS[@]}" 2>/dev/null
set -e
same_as_ref "$T/k" "killed three times" || fail "killed three times: output differs"

# SIGTERM: stops at the next checkpoint, says so, and the rerun resumes.
rm -rf "$T/k"
set +e
KIVO_WORKER_TEST_KILL=store:50:TERM "$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" \
    "${OPTS[@]}" 2>"$T/err-term"
rc=$?
set -e
[ "$rc" = 143 ] || fail "SIGTERM: exit $rc, want 143: $(cat "$T/err-term")"
grep -q "stopped by SIGTERM" "$T/err-term" && grep -q "resume" "$T/err-term" ||
    fail "SIGTERM message: $(cat "$T/err-term")"
python3 -c 'import json,sys; s = json.load(open(sys.argv[1])); assert s["interrupted"] is True and 0 < s["records_read"] < 202, s' "$T/k/summary.json" ||
    fail "SIGTERM: summary.json"
set +e
"$KIVO_WORKER" batch --job-spec-file "$SPEC" --out "$T/k" "${OPTS[@]}" 2>/dev/null
set -e
same_as_ref "$T/k" "after SIGTERM" || fail "after SIGTERM: output differs"

# Another batch's folder is refused (exit 2) and left as it was, unless --overwrite.
gen_job 20 "$T/other"
set +e
"$KIVO_WORKER" batch --job-spec-file "$T/other/job-spec.json" --out "$T/k" --quiet 2>"$T/err-other"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "another batch" "$T/err-other" || fail "other batch: exit $rc: $(cat "$T/err-other")"
same_as_ref "$T/k" "after a refused batch" || fail "the refused batch changed the folder"
"$KIVO_WORKER" batch --job-spec-file "$T/other/job-spec.json" --out "$T/k" --quiet --overwrite ||
    fail "--overwrite: exit $?"
[ "$(wc -l <"$T/k/events.jsonl")" = 20 ] || fail "--overwrite: $(wc -l <"$T/k/events.jsonl") events"

# Exactly once at a real kivo-api: killed three times while reviewing, then run to the end.
start_api
make_key proj
OUT="$T/job/out"
for point in review:50 store:40 checkpoint:2; do
    set +e
    KIVO_WORKER_TEST_KILL=$point "$KIVO_WORKER" batch --job-spec-file "$SPEC" "${OPTS[@]}" \
        --retry-deadline 60 --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>/dev/null
    rc=$?
    set -e
    [ "$rc" = 137 ] || fail "api $point: exit $rc"
done
set +e
"$KIVO_WORKER" batch --job-spec-file "$SPEC" "${OPTS[@]}" --retry-deadline 60 \
    --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err-api"
rc=$?
set -e
[ "$rc" = 3 ] || fail "api rerun: exit $rc: $(cat "$T/err-api")"
same_as_ref "$OUT" "with kivo-api" || fail "with kivo-api: output differs"
check_runs "$T/proj.key" 200 "$OUT"
echo "ok: resumed after SIGKILL at 7 points, SIGTERM, and sent each event once"
