#!/usr/bin/env bash
# Bulk: `kivo-worker batch --kivo-api-base-url --api-key-file` over a 1,000-run generated corpus
# gives exactly 1,000 completed runs whose counts and hashes match the local reports; rerunning
# the batch, or `submit`, sends and creates nothing; a raw field is refused before sending and a
# 4xx goes to the dead letters, neither creating anything.
. "$(dirname "$0")/lib.sh"

start_api
make_key proj
gen_job 1000
OUT="$T/job/out"

"$KIVO_WORKER" batch --job-spec-file "$T/job/job-spec.json" \
    --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err1" || fail "batch: $(cat "$T/err1")"
grep -q "1000 events: 1000 sent" "$T/err1" || fail "first batch: $(cat "$T/err1")"
check_runs "$T/proj.key" 1000
grep -q "^kivo_sk_\|kivo_wc_" "$OUT"/* 2>/dev/null && fail "a token was written to the outbox"

# Rerun the finished batch: it reviews again, but sends and creates nothing.
"$KIVO_WORKER" batch --job-spec-file "$T/job/job-spec.json" \
    --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err2" || fail "rerun: $(cat "$T/err2")"
grep -q "1000 events: 0 sent, 0 replays or found done, 1000 already sent before; runs 0 created, 0 reused; 0 dead-lettered, 0 pending; 0 requests" "$T/err2" ||
    fail "rerun sent something: $(cat "$T/err2")"
# So does submit, with the key from the environment.
KIVO_API_KEY=$(cat "$T/proj.key") "$KIVO_WORKER" submit --outbox "$OUT" --kivo-api-base-url "$BASE" \
    --json >"$T/submit.json" 2>"$T/err3" || fail "submit: $(cat "$T/err3")"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["requests"]==0 and s["already_sent"]==1000 else "FAIL: submit after the batch: %r" % s)' "$T/submit.json"
check_runs "$T/proj.key" 1000

# Defence in depth: an event with a raw field at depth is refused before it leaves; an event
# the server refuses (400: customer_run_id over 512 chars) is dead-lettered, not retried; an event
# that cannot make its run's create body (no worker_id) is dead-lettered here, not sent.
python3 - "$OUT/events.jsonl" <<'PY'
import json, sys
path = sys.argv[1]
ev = json.loads(open(path).readline())
raw = dict(ev, event_id="evt_raw_test", customer_run_id="cust_raw")
raw["artifact_summaries"] = [dict(ev["artifact_summaries"][0], extra={"prompt": "You are..."})]
long = dict(ev, event_id="evt_long_test", customer_run_id="x" * 600)
noworker = dict(ev, event_id="evt_noworker_test", customer_run_id="cust_noworker")
del noworker["worker_id"]
with open(path, "a") as f:
    f.write(json.dumps(raw, separators=(",", ":")) + "\n")
    f.write(json.dumps(long, separators=(",", ":")) + "\n")
    f.write(json.dumps(noworker, separators=(",", ":")) + "\n")
PY
set +e
"$KIVO_WORKER" submit --outbox "$OUT" --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err4"
rc=$?
set -e
[ "$rc" = 4 ] || fail "submit with bad events: exit $rc, want 4: $(cat "$T/err4")"
python3 - "$OUT/dead-letter.jsonl" <<'PY'
import json, sys
dl = {d["event_id"]: d for d in map(json.loads, open(sys.argv[1]))}
assert dl["evt_raw_test"]["error"]["code"] == "raw_fields_refused", dl
assert dl["evt_raw_test"]["http_status"] is None, dl
assert "prompt" in dl["evt_raw_test"]["error"]["fields"], dl
assert dl["evt_long_test"]["http_status"] == 400, dl
assert dl["evt_long_test"]["error"]["code"] == "schema_violation", dl
assert dl["evt_noworker_test"]["error"]["code"] == "invalid_event", dl
assert dl["evt_noworker_test"]["http_status"] is None, dl
print("# dead letters:", {k: v["error"]["code"] for k, v in dl.items()})
PY
# Dead is final: a second submit does not try them again.
"$KIVO_WORKER" submit --outbox "$OUT" --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err5" ||
    fail "second submit: $(cat "$T/err5")"
grep -q "0 requests" "$T/err5" || fail "dead letters were retried: $(cat "$T/err5")"
check_runs "$T/proj.key" 1000
echo "ok: bulk 1000"
