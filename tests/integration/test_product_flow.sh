#!/usr/bin/env bash
# The product page's Enterprise Worker flow against a real kivo-api: create with curl exactly as
# deployment-modes.txt shows (with real hashes), then `kivo-worker run` with the run's
# credential; the run must read completed with the counts and hashes of the local claim report.
# Also: --job-token other than local, a record that is not in the inputs (failed event), the
# credential of run A used on run B (403, said clearly), and a rerun that changes nothing.
. "$(dirname "$0")/lib.sh"

start_api
make_key proj
mkdir -p "$T/job/traces"
cp "$KIVO_DATA/examples/traces/"*.jsonl "$T/job/traces/"
write_spec "$T/job" "traces/*.jsonl"

# Real hashes of a record, as a customer would compute them from their own trace.
hashes() {
python3 - "$T/job/traces" "$1" <<'PY'
import glob, hashlib, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")):
    for line in open(f, encoding="utf-8"):
        r = json.loads(line)
        if r["customer_run_id"] == sys.argv[2]:
            h = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()
            print(h(r["output"]), len(r["sources"]), json.dumps([h(s["text"]) for s in r["sources"]], separators=(",", ":")))
            sys.exit(0)
print("sha256:" + "0" * 64, 1, json.dumps(["sha256:" + "1" * 64]))
PY
}

KIVO_API_BASE_URL=$BASE
KIVO_API_KEY=$(cat "$T/proj.key")
create() {  # create CUSTOMER_RUN_ID -> the JSON answer (as on the product page)
read -r OUT_HASH SRC_COUNT SRC_HASHES < <(hashes "$1")
curl -sS "$KIVO_API_BASE_URL/v1/private-worker/review-runs" \
-H "Authorization: Bearer $KIVO_API_KEY" \
-H "Content-Type: application/json" \
-d '{
"schema_version": "kivo_private_worker_review_run_create.v1",
"customer_run_id": "'"$1"'",
"workflow_id": "support_answer_review",
"workflow_name": "Support answer review",
"title": "Support answer check",
"intended_use": "customer_facing",
"strictness": "strict",
"source_count": '"$SRC_COUNT"',
"source_hashes": '"$SRC_HASHES"',
"output_hash": "'"$OUT_HASH"'",
"worker_id": "worker_support_001",
"worker_version": "kivo-private-worker.2026-05-09.v1",
"policy_version": "standard-support-v1",
"customer_storage_pointer": {
"type": "customer_owned",
"label": "Customer report store",
"opaque_id": "reports/support_answer_review/'"$1"'"
}
}'
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

ANSWER=$(create sup-1124-001)
REVIEW_RUN_ID=$(field review_run_id <<<"$ANSWER")
KIVO_WORKER_CREDENTIAL=$(field worker_credential <<<"$ANSWER")
case "$KIVO_WORKER_CREDENTIAL" in kivo_wc_*) ;; *) fail "create answered $ANSWER";; esac

# --job-token other than local: a clear usage error, nothing sent.
set +e
"$KIVO_WORKER" run --job-token remote --job-spec-file "$T/job/job-spec.json" \
    --kivo-api-base-url "$BASE" --review-run-id "$REVIEW_RUN_ID" \
    --worker-credential "$KIVO_WORKER_CREDENTIAL" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "--job-token remote: exit $rc, want 2"
grep -q "only runs local jobs" "$T/err" || fail "--job-token remote: unclear message: $(cat "$T/err")"

# The product page's command, as written.
cd "$T/job"
kivo_worker() { "$KIVO_WORKER" "$@"; }
kivo_worker run \
--job-token local \
--job-spec-file ./job-spec.json \
--kivo-api-base-url "$KIVO_API_BASE_URL" \
--review-run-id "$REVIEW_RUN_ID" \
--worker-credential "$KIVO_WORKER_CREDENTIAL"
cd - >/dev/null

REPORT="$T/job/out/reports/support_answer_review/sup-1124-001/claim_report.json"
[ -f "$REPORT" ] || fail "no claim report at $REPORT"
api_get "/v1/private-worker/review-runs/$REVIEW_RUN_ID" "$T/proj.key" >"$T/run.json"
python3 - "$T/run.json" "$REPORT" "$REVIEW_RUN_ID" <<'PY'
import hashlib, json, sys
run, rep, rr = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
raw = open(sys.argv[2], "rb").read()
def eq(a, b, what):
    if a != b: sys.exit(f"FAIL: {what}: server {a!r} != local {b!r}")
eq(run["status"], "completed", "status")
eq(run["event_count"], 2, "event_count (started + completed)")
eq(run["last_sequence"], 2, "last_sequence")
eq(rep["review_run_id"], rr, "report review_run_id")
for k in ("gate_verdict", "safe_use_status", "claim_count", "unsupported_claim_count",
          "output_hash", "source_count"):
    eq(run[k], rep[k], k)
eq(run["source_hashes"], [s["sha256"] for s in rep["sources"]], "source_hashes")
eq(run["artifact_summaries"][0]["sha256"], "sha256:" + hashlib.sha256(raw).hexdigest(), "report sha256")
print(f"# run {rr}: completed, {run['claim_count']} claims, {run['unsupported_claim_count']} unsupported, {run['gate_verdict']}")
PY

# A rerun changes nothing on the server (the outbox says both events are sent).
set +e
"$KIVO_WORKER" run --job-token local --job-spec-file "$T/job/job-spec.json" \
    --kivo-api-base-url "$BASE" --review-run-id "$REVIEW_RUN_ID" \
    --worker-credential "$KIVO_WORKER_CREDENTIAL" 2>"$T/err"
rc=$?
set -e
note "rerun of a completed run: exit $rc: $(tail -n 1 "$T/err")"
api_get "/v1/private-worker/review-runs/$REVIEW_RUN_ID" "$T/proj.key" >"$T/run2.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["event_count"]==2 and r["status"]=="completed" else "FAIL: rerun changed the run: %r" % r)' "$T/run2.json"

# Credential from a file and from the environment; a record missing from the inputs: failed.
ANSWER=$(create cust_not_in_inputs)
RR_MISSING=$(field review_run_id <<<"$ANSWER")
(umask 077; field worker_credential <<<"$ANSWER" >"$T/missing.cred")
set +e
"$KIVO_WORKER" run --job-token local --job-spec-file "$T/job/job-spec.json" \
    --kivo-api-base-url "$BASE" --review-run-id "$RR_MISSING" \
    --worker-credential-file "$T/missing.cred" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 3 ] || fail "missing record: exit $rc, want 3: $(cat "$T/err")"
api_get "/v1/private-worker/review-runs/$RR_MISSING" "$T/proj.key" >"$T/run3.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["status"]=="failed" and r.get("failure_code")=="record_not_found" else "FAIL: missing record: %r" % r)' "$T/run3.json"

# Credential of run A on run B: 403, and the worker says so.
ANSWER=$(create sup-1124-002)
RR_B=$(field review_run_id <<<"$ANSWER")
CRED_B=$(field worker_credential <<<"$ANSWER")
ANSWER=$(create sup-1125-001)
CRED_A=$(field worker_credential <<<"$ANSWER")
set +e
KIVO_WORKER_CREDENTIAL=$CRED_A "$KIVO_WORKER" run --job-token local \
    --job-spec-file "$T/job/job-spec.json" --kivo-api-base-url "$BASE" --review-run-id "$RR_B" \
    2>"$T/err"
rc=$?
set -e
[ "$rc" = 4 ] || fail "credential of A on B: exit $rc, want 4: $(cat "$T/err")"
grep -q "403" "$T/err" && grep -q "credential of another run" "$T/err" ||
    fail "credential of A on B: unclear message: $(cat "$T/err")"
note "A on B says: $(cat "$T/err")"
api_get "/v1/private-worker/review-runs/$RR_B" "$T/proj.key" >"$T/run4.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["status"]=="created" and r["event_count"]==0 else "FAIL: run B changed: %r" % r)' "$T/run4.json"
# ... and B's own credential, from the environment, works.
KIVO_WORKER_CREDENTIAL=$CRED_B "$KIVO_WORKER" run --job-token local \
    --job-spec-file "$T/job/job-spec.json" --kivo-api-base-url "$BASE" --review-run-id "$RR_B"

# A record over the engine's claim limit (issue 12): the run fails with failure_code
# record_over_limit, and the worker says which limit.
mkdir -p "$T/big/traces"
python3 - "$T/big/traces/big.jsonl" <<'PY'
import json, sys
out = " ".join("The hub costs %d dollars." % i for i in range(10001))
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"customer_run_id": "cust_over_limit", "output": out,
                        "sources": [{"id": "kb", "text": "The hub costs 10 dollars."}]}) + "\n")
PY
write_spec "$T/big" "traces/*.jsonl"
ANSWER=$(create cust_over_limit)
RR_BIG=$(field review_run_id <<<"$ANSWER")
set +e
KIVO_WORKER_CREDENTIAL=$(field worker_credential <<<"$ANSWER") "$KIVO_WORKER" run \
    --job-token local --job-spec-file "$T/big/job-spec.json" --kivo-api-base-url "$BASE" \
    --review-run-id "$RR_BIG" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 3 ] || fail "over the claim limit: exit $rc, want 3: $(cat "$T/err")"
grep -q "over the limit of 10000 claims per record" "$T/err" ||
    fail "over the claim limit: unclear message: $(cat "$T/err")"
api_get "/v1/private-worker/review-runs/$RR_BIG" "$T/proj.key" >"$T/run5.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["status"]=="failed" and r.get("failure_code")=="record_over_limit" else "FAIL: over the claim limit: %r" % r)' "$T/run5.json"

# Links planted in the report store (issue 12): the run's outbox folder, or its report folder,
# linked out of the store. Refused with exit 1 and a message naming the link; nothing written
# outside.
mkdir -p "$T/outside"
ANSWER=$(create sup-1126-001)
RR_C=$(field review_run_id <<<"$ANSWER")
CRED_C=$(field worker_credential <<<"$ANSWER")
run_c() {
    set +e
    KIVO_WORKER_CREDENTIAL=$CRED_C "$KIVO_WORKER" run --job-token local \
        --job-spec-file "$T/job/job-spec.json" --kivo-api-base-url "$BASE" \
        --review-run-id "$RR_C" 2>"$T/err"
    rc=$?
    set -e
}
mkdir -p "$T/job/out/runs"
ln -s "$T/outside" "$T/job/out/runs/$RR_C"
run_c
[ "$rc" = 1 ] || fail "linked outbox folder: exit $rc, want 1: $(cat "$T/err")"
grep -q "runs/$RR_C: it is a symbolic link" "$T/err" || fail "linked outbox: $(cat "$T/err")"
[ -z "$(ls -A "$T/outside")" ] || fail "linked outbox: wrote $(ls -A "$T/outside")"
rm "$T/job/out/runs/$RR_C"
ln -s "$T/outside" "$T/job/out/reports/support_answer_review/sup-1126-001"
run_c
[ "$rc" = 1 ] || fail "linked report folder: exit $rc, want 1: $(cat "$T/err")"
grep -q "reports/support_answer_review/sup-1126-001: it is a symbolic link" "$T/err" ||
    fail "linked report folder: $(cat "$T/err")"
[ -z "$(ls -A "$T/outside")" ] || fail "linked report folder: wrote $(ls -A "$T/outside")"
echo "ok: product flow"
