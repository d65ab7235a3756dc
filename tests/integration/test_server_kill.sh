#!/usr/bin/env bash
# The server is killed with SIGKILL in the middle of a bulk batch and restarted: the batch rides
# it out (connection errors are retried with backoff) and ends with exactly 1,000 completed runs,
# one event each. A second time, the server stays down past the worker's retry deadline: the
# batch exits 5 with events pending, and `submit` drains them once the server is back.
. "$(dirname "$0")/lib.sh"

# A rate limit on the API key slows the creates down to a few seconds, so there is a middle.
LIMIT=(--rate-limit 250 --rate-burst 20)
start_api "${LIMIT[@]}"
make_key proj
gen_job 1000
OUT="$T/job/out"

"$KIVO_WORKER" batch --job-spec-file "$T/job/job-spec.json" --retry-deadline 60 \
    --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" 2>"$T/err1" &
WORKER=$!
wait_lines "$OUT/outbox.state" 500
kill_api
note "server killed at $(wc -l <"$OUT/outbox.state") state lines"
sleep 1
start_api "${LIMIT[@]}"
wait "$WORKER" || fail "batch across the server's crash: exit $?: $(cat "$T/err1")"
note "$(grep events: "$T/err1")"
grep -q "0 dead-lettered, 0 pending" "$T/err1" || fail "batch: $(cat "$T/err1")"
check_runs "$T/proj.key" 1000

# Down for longer than the deadline: pending, then drained by submit.
make_key proj2
gen_job 1000 "$T/job2"
OUT2="$T/job2/out"
"$KIVO_WORKER" batch --job-spec-file "$T/job2/job-spec.json" --retry-deadline 2 \
    --kivo-api-base-url "$BASE" --api-key-file "$T/proj2.key" 2>"$T/err2" &
WORKER=$!
wait_lines "$OUT2/outbox.state" 300
kill_api
set +e
wait "$WORKER"
rc=$?
set -e
[ "$rc" = 5 ] || fail "batch with the server down: exit $rc, want 5: $(cat "$T/err2")"
grep -q "still pending; send them later with kivo-worker submit" "$T/err2" || fail "no hint: $(cat "$T/err2")"
note "$(grep events: "$T/err2")"
start_api "${LIMIT[@]}"
"$KIVO_WORKER" submit --outbox "$OUT2" --kivo-api-base-url "$BASE" --api-key-file "$T/proj2.key" \
    2>"$T/err3" || fail "submit: exit $?: $(cat "$T/err3")"
note "$(grep events: "$T/err3")"
check_runs "$T/proj2.key" 1000 "$OUT2"
# The first project is untouched by all this.
check_runs "$T/proj.key" 1000
echo "ok: server killed mid-batch"
