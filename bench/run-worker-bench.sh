#!/usr/bin/env bash
# run-worker-bench.sh - end-to-end kivo-worker throughput on a generated corpus, beside
# `openssl dgst -sha256` over the same file (the floor for a worker that must SHA-256 nearly
# every byte; issue 6 asks for at most 2.0x its time on 1 thread).
#
# Generates the corpus once with scripts/gen-corpus into a cache folder (default
# /tmp/kivo-bench-cache, reused by later runs of the same generator), writes a job spec beside
# it, then runs
#   build/kivo-worker batch --job-spec-file SPEC --out DIR --threads T --json
# for T = 1 and T = nproc under /usr/bin/time -v, and prints MB/s, records/s, claims/s, peak RSS,
# the speedup of N threads over 1 and the time ratio to openssl. It also checks that events.jsonl
# is byte-identical for every thread count.
#
# Usage: bench/run-worker-bench.sh [--size 256M] [--seed 42] [--threads "1 N"] [--runs R] [--keep]
#                                [--out-root DIR] [--html all|flagged|none]
#   --size     corpus size for gen-corpus --bytes (K/M/G suffixes; default 256M)
#   --threads  thread counts to run (default "1 $(nproc)")
#   --runs     runs per thread count; the median wall time is reported (default 1)
#   --keep     keep the output folders (they hold one report per record)
#   --out-root where the output folders go (default: the cache folder; /dev/shm takes the file
#              system's cost of one folder and file per record out of the figure)
#   --html     the worker's --html mode (default flagged, the worker's own default)
# Environment: KIVO_BUILD_DIR (default build), KIVO_BENCH_DIR (default /tmp/kivo-bench-cache).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${KIVO_BUILD_DIR:-$root/build}
cache=${KIVO_BENCH_DIR:-/tmp/kivo-bench-cache}
size=256M
seed=42
threads="1 $(nproc)"
runs=1
keep=0
out_root=""
html=flagged
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --out-root) out_root=$2; shift 2 ;;
        --html) html=$2; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run-worker-bench: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
# Two of the same thread count would only repeat the run.
threads=$(printf '%s\n' $threads | awk '!seen[$0]++' | tr '\n' ' ')

for tool in python3 openssl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run-worker-bench: $tool not found" >&2; exit 1; }
done
. "$root/bench/lib.sh"
bench_corpus "$root" "$cache" "$size" "$seed"
spec=$cache/job-spec-$corpus_tag.json
bench_spec "$spec" "$(basename "$corpus")"

bytes=$(stat -c %s "$corpus")
records=$(wc -l <"$corpus")
cat "$corpus" >/dev/null   # into the page cache, as for every timed run below

now() { date +%s.%N; }
median() { python3 -c 'import sys; v=sorted(map(float,sys.argv[1:])); n=len(v); print(v[n//2] if n%2 else (v[n//2-1]+v[n//2])/2)' "$@"; }

# openssl: one warm-up, then the median of 3.
openssl dgst -sha256 "$corpus" >/dev/null
times=()
for _ in 1 2 3; do
    t0=$(now); openssl dgst -sha256 "$corpus" >/dev/null; t1=$(now)
    times+=("$(python3 -c "print($t1 - $t0)")")
done
t_ssl=$(median "${times[@]}")

printf 'corpus: %s, %s bytes, %s records (gen-corpus --bytes %s --seed %s); load average %s\n' \
    "$corpus" "$bytes" "$records" "$size" "$seed" "$(cut -d' ' -f1 /proc/loadavg)"
python3 -c "import sys; t=float(sys.argv[1]); print('openssl dgst -sha256: %.3f s, %.1f MB/s (median of 3)' % (t, int(sys.argv[2]) / t / 1e6))" \
    "$t_ssl" "$bytes"

worker=$build/kivo-worker
if [ ! -x "$worker" ]; then
    echo "run-worker-bench: $worker not built yet (scripts/build.sh); only the baseline above" >&2
    exit 0
fi
"$worker" --version 2>/dev/null || true

results=$cache/results-s$seed-$size.tsv
: >"$results"
for t in $threads; do
    out=${out_root:-$cache}/out-s$seed-$size-t$t
    walls=()
    rss=0
    for r in $(seq 1 "$runs"); do
        rm -rf "$out"
        set +e
        t0=$(now)
        /usr/bin/time -v -o "$cache/time-t$t.txt" "$worker" batch --job-spec-file "$spec" \
            --out "$out" --threads "$t" --html "$html" --json >"$cache/summary-t$t.json" 2>"$cache/stderr-t$t.txt"
        rc=$?
        t1=$(now)
        set -e
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
            echo "run-worker-bench: kivo-worker --threads $t exited $rc; stderr:" >&2
            tail -20 "$cache/stderr-t$t.txt" >&2
            exit 1
        fi
        [ "$rc" -eq 3 ] && echo "run-worker-bench: note: some records rejected (exit 3)" >&2
        walls+=("$(python3 -c "print($t1 - $t0)")")
        r_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$cache/time-t$t.txt")
        [ "$r_rss" -gt "$rss" ] && rss=$r_rss
        echo "run $r/$runs, $t threads: $(python3 -c "print('%.3f' % ${walls[-1]})") s, peak RSS ${r_rss} KiB" >&2
    done
    wall=$(median "${walls[@]}")
    events=$(sha256sum <"$out/events.jsonl" | cut -c1-64)
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$wall" "$rss" "$events" "$cache/summary-t$t.json" \
        >>"$results"
    [ "$keep" -eq 1 ] || rm -rf "$out"
done

python3 - "$results" "$bytes" "$t_ssl" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
nbytes, t_ssl = int(sys.argv[2]), float(sys.argv[3])
print("%-8s %8s %9s %11s %11s %13s %8s %10s" % ("threads", "wall s", "MB/s", "records/s",
      "claims/s", "peak RSS MiB", "speedup", "x openssl"))
base = None
for t, wall, rss, events, summary in rows:
    wall = float(wall)
    s = json.load(open(summary))
    recs = s.get("records_read", s.get("records", 0))
    claims = s.get("claims", 0)
    base = base or wall
    print("%-8s %8.3f %9.1f %11.0f %11.0f %13.1f %7.2fx %9.2fx" % (t, wall, nbytes / wall / 1e6,
          recs / wall, claims / wall, int(rss) / 1024, base / wall, wall / t_ssl))
print("records read %s, reviewed %s, rejected %s, claims %s (from the last summary)" % (
      s.get("records_read"), s.get("records_reviewed"), s.get("records_rejected"), s.get("claims")))
same = len({r[3] for r in rows}) == 1
print("events.jsonl identical across thread counts: %s" % ("yes" if same else "NO"))
print("wall time is the whole process (start-up, reading, engine, writing every report);"
      " x openssl = wall / openssl time")
sys.exit(0 if same else 1)
EOF
