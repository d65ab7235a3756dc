#!/usr/bin/env bash
# bench-scaleout.sh - issue 17's scale-out figures on a generated corpus (scripts/gen-corpus):
#   1. one kivo-worker process with 2 threads against `mpirun -n 2 kivo-worker-mpi` with 1
#      thread per rank (same corpus, --html none, stores on /dev/shm): wall time, CPU time
#      (user + sys of the process tree, which a loaded machine distorts far less than wall time),
#      peak RSS; the merged store's events.jsonl must equal the single process's;
#   2. `kivo-worker merge` of 2 and of 8 shards of the same corpus: wall and CPU time of the
#      merge alone (the shards are made first, untimed).
# Every timed run is repeated --runs times and the median printed.
#
# Usage: bench/bench-scaleout.sh [--size 256M] [--seed 42] [--runs 3] [--out-root /dev/shm]
# Environment: KIVO_BUILD_DIR (default build; a Release build with kivo-worker-mpi),
#              KIVO_BENCH_DIR (default /tmp/kivo-bench-cache, the corpus cache).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${KIVO_BUILD_DIR:-$root/build}
cache=${KIVO_BENCH_DIR:-/tmp/kivo-bench-cache}
size=256M
seed=42
runs=3
out_root=/dev/shm
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --out-root) out_root=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-scaleout: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in python3 mpirun /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-scaleout: $tool not found" >&2; exit 1; }
done
[ -x "$build/kivo-worker-mpi" ] || { echo "bench-scaleout: no $build/kivo-worker-mpi" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

. "$root/bench/lib.sh"
bench_corpus "$root" "$cache" "$size" "$seed"
spec=$cache/job-spec-$corpus_tag.json
bench_spec "$spec" "$(basename "$corpus")"
bytes=$(stat -c %s "$corpus")
cat "$corpus" >/dev/null   # into the page cache
work=$(mktemp -d "$out_root/kivo-scaleout.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs "$@" under /usr/bin/time; prints "wall cpu rss_kib" (cpu = user + sys; RSS of the largest
# process, for mpirun the largest rank).
timed() {
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" ||
        { cat "$work/err" >&2; return 1; }
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/time"
}
median() { python3 -c 'import sys; v=sorted(map(float,sys.argv[1:])); n=len(v); print("%.2f" % (v[n//2] if n%2 else (v[n//2-1]+v[n//2])/2))' "$@"; }

report() { # name, then lines "wall cpu rss"
    local name=$1; shift
    local w=() c=() r=()
    while read -r a b d; do w+=("$a"); c+=("$b"); r+=("$d"); done <<<"$(printf '%s\n' "$@")"
    local mw mc
    mw=$(median "${w[@]}"); mc=$(median "${c[@]}")
    printf '%-34s wall %7s s  cpu %7s s  %7.1f MB/s  peak RSS %6d KiB  (runs: %s)\n' "$name" \
        "$mw" "$mc" "$(python3 -c "print($bytes / 1e6 / $mw)")" \
        "$(printf '%s\n' "${r[@]}" | sort -n | tail -1)" "${w[*]}"
}

echo "corpus: $corpus ($bytes bytes, $(wc -l <"$corpus") records); build: $build; runs: $runs"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
single=() ranks=()
for i in $(seq "$runs"); do
    rm -rf "$work/one" "$work/mpi"
    single+=("$(timed "$build/kivo-worker" batch --job-spec-file "$spec" --out "$work/one" \
        --threads 2 --html none --quiet)")
    ranks+=("$(timed mpirun --oversubscribe -n 2 "$build/kivo-worker-mpi" batch \
        --job-spec-file "$spec" --out "$work/mpi" --threads 1 --html none --quiet)")
    cmp -s "$work/one/events.jsonl" "$work/mpi/events.jsonl" ||
        { echo "bench-scaleout: events.jsonl differs between one process and mpirun" >&2; exit 1; }
done
report "1 process x 2 threads" "${single[@]}"
report "mpirun -n 2 x 1 thread" "${ranks[@]}"

for n in 2 8; do
    dirs=()
    for k in $(seq 0 $((n - 1))); do
        "$build/kivo-worker" batch --job-spec-file "$spec" --out "$work/s$n-$k" --shard "$k/$n" \
            --threads 2 --html none --quiet || [ $? -eq 3 ]
        dirs+=("$work/s$n-$k")
    done
    m=()
    for i in $(seq "$runs"); do
        rm -rf "$work/m$n"
        m+=("$(timed "$build/kivo-worker" merge --out "$work/m$n" --quiet "${dirs[@]}")")
    done
    cmp -s "$work/one/events.jsonl" "$work/m$n/events.jsonl" ||
        { echo "bench-scaleout: merged events.jsonl of $n shards differs" >&2; exit 1; }
    report "merge of $n shards" "${m[@]}"
    rm -rf "${dirs[@]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
