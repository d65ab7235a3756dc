#!/usr/bin/env bash
# The worker is killed with SIGKILL in the middle of a bulk batch, twice, and rerun: the rerun
# ends with exactly 1,000 completed runs, one event each, counts and hashes matching the local
# reports, and sends again only what the killed process had not seen acknowledged.
. "$(dirname "$0")/lib.sh"

# A rate limit on the key stretches the sending over a few seconds, so there is a middle.
start_api --rate-limit 250 --rate-burst 20
make_key proj
gen_job 1000
OUT="$T/job/out"
batch() {   # exec: $! of `batch &` is then the worker itself, not a subshell around it
    exec "$KIVO_WORKER" batch --job-spec-file "$T/job/job-spec.json" --retry-deadline 60 \
        --kivo-api-base-url "$BASE" --api-key-file "$T/proj.key" "$@"
}

# While one batch works on the folder, a second one is turned away (exit 2) and harms nothing.
batch 2>"$T/err-first" &
WORKER=$!
wait_lines "$OUT/outbox.state" 50
set +e
(batch) 2>"$T/err-second"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a second batch on the same folder: exit $rc, want 2: $(cat "$T/err-second")"
grep -q "in use by another kivo-worker process" "$T/err-second" || fail "$(cat "$T/err-second")"
kill -KILL "$WORKER"
wait "$WORKER" 2>/dev/null || true

for at in 150 900; do
    batch 2>"$T/err-kill-$at" &
    WORKER=$!
    wait_lines "$OUT/outbox.state" "$at"
    kill -KILL "$WORKER"
    wait "$WORKER" 2>/dev/null || true
    note "worker killed at $(wc -l <"$OUT/outbox.state") state lines (waited for $at)"
done

(batch) 2>"$T/err-rerun" || fail "rerun after the kills: exit $?: $(cat "$T/err-rerun")"
note "$(grep events: "$T/err-rerun")"
grep -q "0 dead-lettered, 0 pending" "$T/err-rerun" || fail "rerun: $(cat "$T/err-rerun")"
# The rerun did not start from scratch: what was acknowledged before the kills is not resent
# (900 state lines are about 450 created and 450 sent).
python3 - "$T/err-rerun" <<'PY'
import re, sys
line = next(l for l in open(sys.argv[1]) if "events:" in l)
before = int(re.search(r"(\d+) already sent before", line).group(1))
assert 400 <= before < 1000, "already sent before the rerun: %d, want 400..999: %s" % (before, line)
PY
check_runs "$T/proj.key" 1000

# And a third run changes nothing.
(batch) 2>"$T/err-again" || fail "third run: $(cat "$T/err-again")"
grep -q "1000 already sent before; runs 0 created, 0 reused; 0 dead-lettered, 0 pending; 0 requests" \
    "$T/err-again" || fail "third run sent something: $(cat "$T/err-again")"
check_runs "$T/proj.key" 1000
echo "ok: worker killed twice and rerun"
