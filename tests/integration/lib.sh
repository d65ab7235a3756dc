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

# shellcheck source=SCRIPTDIR/../lib/start_api.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/start_api.sh"

serve_api() { # PORT [extra serve flags]
    local port=$1
    shift
    exec "$KIVO_API" serve --listen "127.0.0.1:$port" --db "$DB" --create --quiet "$@"
}

# start_api [extra serve flags]: on $PORT (picked once, kept across restarts), waits until the
# server's own log says it listens there and /healthz answers (tests/lib/start_api.sh). The first
# start picks a free port, and another when a test takes it before kivo-api binds it.
start_api() {
    local rc=0
    if [ -n "$PORT" ]; then
        START_API_SECONDS=30 start_api_on "$PORT" "$T/api.log" serve_api "$@" || rc=$?
    else
        START_API_SECONDS=30 start_api_free "$T/api.log" serve_api "$@" || rc=$?
        PORT=$API_PORT
    fi
    BASE="http://127.0.0.1:$PORT"
    [ "$rc" = 0 ] || fail "kivo-api on $BASE: $(start_api_reason "$rc") (see $T/api.log)"
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

# kivo_testlib.py (store_reports: the reports of either layout).
KIVO_TESTLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../worker" && pwd)

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

# gen_job N [DIR]: a generated corpus of N records (seed 1) and its job spec in DIR ($T/job).
gen_job() {
    local d=${2:-$T/job}
    mkdir -p "$d"
    "$KIVO_SCRIPTS/gen-corpus" --records "$1" --seed 1 --out "$d/corpus.jsonl" --quiet
    write_spec "$d" corpus.jsonl
}

# check_runs KEYFILE N: the server holds exactly N private-worker runs, all completed, each with
# exactly one event, whose counts, verdicts and hashes are those of the local claim reports.
check_runs() {
    python3 - "$BASE" "$1" "$2" "${3:-$T/job/out}" "$KIVO_TESTLIB_DIR" <<'PY'
import glob, hashlib, json, sys, urllib.request
base, keyfile, want, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[5])
from kivo_testlib import store_reports
key = open(keyfile).read().strip()
runs, cursor = [], None
while True:
    q = "limit=200" + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(f"{base}/v1/private-worker/review-runs?{q}",
                                 headers={"Authorization": f"Bearer {key}"})
    page = json.load(urllib.request.urlopen(req))
    runs += page["runs"]
    cursor = page.get("next_cursor")
    if not cursor:
        break
local = {}
# Either layout (the report store v2 by default): each report's exact bytes.
for rid, raw in store_reports(out).items():
    local[rid] = (json.loads(raw), "sha256:" + hashlib.sha256(raw).hexdigest(),
                  "reports/support_answer_review/%s/claim_report.json" % rid)
bad = []
ids = [r["customer_run_id"] for r in runs]
if len(runs) != want: bad.append(f"{len(runs)} runs on the server, want {want}")
if len(set(ids)) != len(ids): bad.append(f"{len(ids) - len(set(ids))} duplicate customer_run_ids")
if len(local) != want: bad.append(f"{len(local)} local reports, want {want}")
for run in runs:
    c = run["customer_run_id"]
    if run["status"] != "completed": bad.append(f"{c}: status {run['status']}"); continue
    if run["event_count"] != 1: bad.append(f"{c}: {run['event_count']} events, want 1")
    if c not in local: bad.append(f"{c}: no local report"); continue
    rep, sha, path = local[c]
    for k in ("gate_verdict", "safe_use_status", "claim_count", "unsupported_claim_count",
              "output_hash", "source_count"):
        if run.get(k) != rep[k]: bad.append(f"{c}: {k} server {run.get(k)!r} local {rep[k]!r}")
    if run.get("source_hashes") != [s["sha256"] for s in rep["sources"]]:
        bad.append(f"{c}: source_hashes differ")
    if run["artifact_summaries"][0]["sha256"] != sha: bad.append(f"{c}: report sha256 differs")
    p = run.get("customer_storage_pointer") or {}
    if path != p.get("opaque_id"): bad.append(f"{c}: opaque_id {p.get('opaque_id')!r}")
if bad:
    print("FAIL: " + "; ".join(bad[:10]) + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else ""))
    sys.exit(1)
print(f"# {len(runs)} runs completed, one event each, counts and hashes match the local reports")
PY
}

# wait_lines FILE N [SECONDS]: until FILE has at least N lines.
wait_lines() {
    local i
    for i in $(seq 1 $(( ${3:-30} * 100 ))); do
        if [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; then return 0; fi
        sleep 0.01
    done
    fail "$1 never reached $2 lines"
}
