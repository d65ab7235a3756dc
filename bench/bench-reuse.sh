#!/usr/bin/env bash
# bench-reuse.sh - the nightly rerun (issue 14): a batch over a generated corpus, then the same
# batch again with --reuse of the first one's store, under /usr/bin/time. Prints wall and CPU
# (user+sys) seconds, peak RSS and MB/s of both, the reuse run's share of the first run's time
# (the target: at most 1/10), and checks that the two runs' events are byte-identical and that
# every record was carried over. CPU time is the steadier figure on a shared machine.
#
# Usage: bench/bench-reuse.sh [--size 256M] [--seed 42] [--threads N] [--html flagged|none|all]
#                             [--out-root DIR] [--runs R]
#   --size      corpus size for scripts/gen-corpus --bytes (default 256M)
#   --threads   worker threads (default: nproc)
#   --html      --html of both runs (default flagged, the worker's default)
#   --out-root  where the two output folders go (default /tmp: ext4 here)
#   --runs      runs of each; the median of each figure is reported (default 1)
# Environment: KIVO_BUILD_DIR (default build; use a Release build for figures),
#              KIVO_BENCH_DIR (corpus cache, default /tmp/kivo-bench-cache).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${KIVO_BUILD_DIR:-$root/build}
cache=${KIVO_BENCH_DIR:-/tmp/kivo-bench-cache}
size=256M
seed=42
threads=$(nproc)
html=flagged
out_root=/tmp
runs=1
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --html) html=$2; shift 2 ;;
        --out-root) out_root=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-reuse: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-reuse: $tool not found" >&2; exit 1; }
done
. "$root/bench/lib.sh"
bench_corpus "$root" "$cache" "$size" "$seed"
work=$(mktemp -d "$out_root/kivo-bench-reuse.XXXXXX")
trap 'rm -rf "$work"' EXIT
spec=$work/job-spec.json
cat >"$spec" <<JSON
{"schema_version":"kivo_worker_job_spec.v1","workflow_id":"bench_reuse",
 "intended_use":"customer_facing","strictness":"strict","policy_version":"bench-v1",
 "worker_id":"bench","inputs":["$corpus"],"report_store":{"path":"$work/unused"}}
JSON

# One timed batch: prints "wall user sys rss_kb" and leaves its summary in $2/summary.json.
timed() {
    local out=$1; shift
    rm -rf "$out"
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
        "$build/kivo-worker" batch --job-spec-file "$spec" --out "$out" --threads "$threads" \
        --html "$html" --quiet "$@" >/dev/null || { rc=$?; [ $rc -eq 3 ] || exit $rc; }
    cat "$work/time"
}

bytes=$(stat -c %s "$corpus")
: >"$work/first.txt"
: >"$work/reuse.txt"
for _ in $(seq "$runs"); do
    timed "$work/first" >>"$work/first.txt"
    timed "$work/again" --reuse "$work/first" >>"$work/reuse.txt"
    cmp -s "$work/first/events.jsonl" "$work/again/events.jsonl" ||
        { echo "bench-reuse: events differ between the first run and the rerun" >&2; exit 1; }
done
python3 - "$work" "$bytes" "$size" "$threads" "$html" "$runs" <<'PY'
import json, statistics, sys
work, nbytes, size, threads, html, runs = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]

def med(name):
    rows = [list(map(float, l.split())) for l in open("%s/%s.txt" % (work, name)) if l.strip()]
    return [statistics.median(c) for c in zip(*rows)]

s1 = json.load(open(work + "/first/summary.json"))
s2 = json.load(open(work + "/again/summary.json"))
if s2.get("records_reused") != s1["records_reviewed"]:
    sys.exit("bench-reuse: %s of %s records reused" % (s2.get("records_reused"),
                                                       s1["records_reviewed"]))
print("corpus %s (%d bytes, %d records), %s threads, --html %s, median of %s run(s)" %
      (size, nbytes, s1["records_read"], threads, html, runs))
f, r = med("first"), med("reuse")
for name, (wall, user, sys_, rss) in (("first run", f), ("--reuse", r)):
    print("%-10s wall %7.2f s  cpu %7.2f s (user %.2f, sys %.2f)  peak RSS %4.0f MB  %6.1f MB/s"
          % (name, wall, user + sys_, user, sys_, rss / 1024, nbytes / 1e6 / wall))
print("rerun / first: wall %.3f  cpu %.3f  (target <= 0.100)" %
      (r[0] / f[0], (r[1] + r[2]) / (f[1] + f[2])))
PY
