# lib.sh - shared by the worker-meets-API integration tests: a real kivo-api on a free loopback
# port with a temporary database, always stopped on exit (trap), and small helpers.
#
# Source it after setting KIVO_WORKER and KIVO_API (paths of the two binaries). It makes $T (a
# temporary folder removed on exit unless KEEP=1), and start_api / stop_api / kill_api.

set -euo pipefail

: "${KIVO_WORKER:?}" "${KIVO_API:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/kivo-it.XXXXXX")
API_PID=""
PORT=""
DB="$T/kivo.db"

cleanup() {
    local rc=$?
    if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
        kill -KILL "$API_PID" 2>/dev/null || true
        wait "$API_PID" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ]; then
        echo "--- FAILED (rc $rc); server log tail:" >&2
        tail -n 20 "$T/api.log" 2>/dev/null >&2 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
    exit "$rc"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# start_api [extra serve flags]: on $PORT (picked once, kept across restarts), waits for /healthz.
start_api() {
    [ -n "$PORT" ] || PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    "$KIVO_API" serve --listen "127.0.0.1:$PORT" --db "$DB" --quiet "$@" >>"$T/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 200); do
        if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then return 0; fi
        kill -0 "$API_PID" 2>/dev/null || fail "kivo-api exited at start (see $T/api.log)"
        sleep 0.05
    done
    fail "kivo-api did not answer /healthz on $BASE"
}

kill_api() {   # SIGKILL, as a crash would
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
}

stop_api() {
    kill -TERM "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
    API_PID=""
}

# make_key PROJECT: a project key with the private-worker scopes, into $T/PROJECT.key (0600).
make_key() {
    umask 077
    "$KIVO_API" keys create --db "$DB" --project "$1" \
        --scopes private_worker:write,private_worker:read | head -n 1 >"$T/$1.key"
    grep -q '^kivo_sk_' "$T/$1.key" || fail "keys create printed no kivo_sk_ key"
}

# api_get PATH TOKENFILE: GET with the token from a file (never on a command line of ours).
api_get() {
    curl -sS -H @<(printf 'Authorization: Bearer %s\n' "$(cat "$2")") "$BASE$1"
}

# count_runs KEYFILE [STATUS]: pages through the private-worker list, prints the number of runs.
count_runs() {
    python3 - "$BASE" "$1" "${2:-}" <<'PY'
import json, sys, urllib.request
base, keyfile, status = sys.argv[1], sys.argv[2], sys.argv[3]
key = open(keyfile).read().strip()
n, cursor = 0, None
while True:
    q = "limit=200" + (f"&status={status}" if status else "") + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(f"{base}/v1/private-worker/review-runs?{q}",
                                 headers={"Authorization": f"Bearer {key}"})
    page = json.load(urllib.request.urlopen(req))
    n += len(page["runs"])
    cursor = page.get("next_cursor")
    if not cursor:
        break
print(n)
PY
}

# write_spec DIR INPUT: a job spec in DIR reading INPUT (relative to DIR), reports in DIR/out.
write_spec() {
    cat >"$1/job-spec.json" <<JSON
{"schema_version":"kivo_worker_job_spec.v1","workflow_id":"support_answer_review",
 "workflow_name":"Support answer review","intended_use":"customer_facing","strictness":"strict",
 "policy_version":"standard-support-v1","worker_id":"worker_support_001",
 "inputs":["$2"],
 "report_store":{"path":"./out","label":"Customer report store"}}
JSON
}
