#!/usr/bin/env bash
# product_page.sh - the two curl calls of the product page (deployment-modes.txt), as written,
# against the real kivo-api with real SHA-256 hashes in place of the page's placeholders
# ("sha256:source_hash" and friends are not hashes; the page's one-entry source_hashes list stands
# for the four hashes its source_count announces).
#
# usage: product_page.sh path/to/kivo-api
set -euo pipefail

BIN=${1:-${KIVO_API_BIN:-build/kivo-api}}
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

export KIVO_API_DB="$WORK/kivo.db"
KIVO_API_KEY=$("$BIN" keys create --create --project acme --scopes private_worker:write,private_worker:read 2>/dev/null | head -n 1)
[[ "$KIVO_API_KEY" =~ ^kivo_sk_[A-Za-z0-9_-]{43}$ ]] || fail "keys create did not print a key"

# shellcheck source=SCRIPTDIR/../lib/start_api.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/start_api.sh"
serve() { KIVO_API_LISTEN="127.0.0.1:$1" exec "$BIN" serve --quiet; }
rc=0
start_api_free "$WORK/server.log" serve || rc=$?
SERVER_PID=$API_PID PORT=$API_PORT
export KIVO_API_BASE_URL="http://127.0.0.1:$PORT"
[ "$rc" = 0 ] || { cat "$WORK/server.log" >&2; fail "server did not start: $(start_api_reason "$rc")"; }

h() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
S1="sha256:$(h 'Refund policy text')"
S2="sha256:$(h 'Shipping policy text')"
S3="sha256:$(h 'Warranty policy text')"
S4="sha256:$(h 'Returns FAQ text')"
OUT="sha256:$(h 'The AI answer under review')"
REPORT="sha256:$(h 'claim report bytes')"

# Call 1, as on the page.
curl -sS "$KIVO_API_BASE_URL/v1/private-worker/review-runs" \
-H "Authorization: Bearer $KIVO_API_KEY" \
-H "Content-Type: application/json" \
-w '\n%{http_code}\n' -o "$WORK/create.json" \
-d '{
"schema_version": "kivo_private_worker_review_run_create.v1",
"customer_run_id": "cust_run_001",
"workflow_id": "support_answer_review",
"workflow_name": "Support answer review",
"title": "Support answer check",
"intended_use": "customer_facing",
"strictness": "strict",
"source_count": 4,
"source_hashes": ["'"$S1"'", "'"$S2"'", "'"$S3"'", "'"$S4"'"],
"output_hash": "'"$OUT"'",
"worker_id": "worker_support_001",
"worker_version": "kivo-private-worker.2026-05-09.v1",
"policy_version": "standard-support-v1",
"customer_storage_pointer": {
"type": "customer_owned",
"label": "Customer report store",
"opaque_id": "reports/support_answer_review/cust_run_001"
}
}' >"$WORK/create.status"
grep -qx 201 "$WORK/create.status" || fail "create: $(cat "$WORK/create.status") $(cat "$WORK/create.json")"
REVIEW_RUN_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["review_run_id"])' "$WORK/create.json")
KIVO_WORKER_CREDENTIAL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["worker_credential"])' "$WORK/create.json")
[[ "$REVIEW_RUN_ID" =~ ^rr_ ]] || fail "no review_run_id"
[[ "$KIVO_WORKER_CREDENTIAL" =~ ^kivo_wc_[A-Za-z0-9_-]{43}$ ]] || fail "no worker credential"

# Call 2, as on the page.
curl -sS "$KIVO_API_BASE_URL/v1/private-worker/review-runs/$REVIEW_RUN_ID/events" \
-H "Authorization: Bearer $KIVO_WORKER_CREDENTIAL" \
-H "Content-Type: application/json" \
-w '\n%{http_code}\n' -o "$WORK/event.json" \
-d '{
"schema_version": "kivo_private_worker_review_run_event.v1",
"event_id": "evt_cust_run_001_completed",
"event_type": "completed",
"review_run_id": "'"$REVIEW_RUN_ID"'",
"customer_run_id": "cust_run_001",
"worker_id": "worker_support_001",
"worker_version": "kivo-private-worker.2026-05-09.v1",
"sequence": 1,
"status": "completed",
"gate_verdict": "needs_review",
"safe_use_status": "needs_review",
"claim_count": 18,
"unsupported_claim_count": 3,
"source_count": 4,
"source_hashes": ["'"$S1"'", "'"$S2"'", "'"$S3"'", "'"$S4"'"],
"output_hash": "'"$OUT"'",
"redacted_failure_categories": ["unsupported_policy_claim"],
"artifact_summaries": [{
"artifact_name": "claim_report",
"artifact_type": "claim_report",
"format": "json",
"sha256": "'"$REPORT"'",
"file_count": 1,
"storage_label": "Customer report store"
}]
}' >"$WORK/event.status"
grep -qx 202 "$WORK/event.status" || fail "event: $(cat "$WORK/event.status") $(cat "$WORK/event.json")"
python3 - "$WORK/event.json" "$REVIEW_RUN_ID" <<'PY' || fail "event answer"
import json, sys
a = json.load(open(sys.argv[1]))
assert a == {"accepted": True, "event_id": "evt_cust_run_001_completed", "run_status": "completed"}, a
PY

# The stored run, read back with the API key: metadata only, verdict as reported.
curl -sS -H "Authorization: Bearer $KIVO_API_KEY" -o "$WORK/run.json" -w '%{http_code}' \
    "$KIVO_API_BASE_URL/v1/private-worker/review-runs/$REVIEW_RUN_ID" | grep -qx 200 || fail "get run"
python3 - "$WORK/run.json" <<'PY' || fail "stored run"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "completed" and r["gate_verdict"] == "needs_review", r
assert r["claim_count"] == 18 and r["unsupported_claim_count"] == 3, r
assert r["customer_storage_pointer"]["opaque_id"] == "reports/support_answer_review/cust_run_001"
assert "kivo_wc_" not in json.dumps(r)
PY

# The page's placeholders themselves are refused, naming the field.
code=$(curl -sS -o "$WORK/bad.json" -w '%{http_code}' "$KIVO_API_BASE_URL/v1/private-worker/review-runs" \
    -H "Authorization: Bearer $KIVO_API_KEY" -H "Content-Type: application/json" \
    -d '{"schema_version":"kivo_private_worker_review_run_create.v1","customer_run_id":"cust_run_002",
         "workflow_id":"w","worker_id":"w","worker_version":"v","output_hash":"sha256:output_hash"}')
[ "$code" = 400 ] && grep -q '"output_hash"' "$WORK/bad.json" || fail "placeholder hash: $code"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && rc=0 || rc=$?
SERVER_PID=""
[ "$rc" = 0 ] || fail "server exit code $rc after SIGTERM"
if grep -q -e kivo_sk_ -e kivo_wc_ "$WORK/server.log"; then fail "token in the server log"; fi
echo "product page calls: ok"
