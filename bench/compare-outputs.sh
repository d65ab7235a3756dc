#!/usr/bin/env bash
# compare-outputs.sh - are two kivo-worker builds' outputs byte-identical? For speed work
# (issue 19): every step must leave reports and events exactly as they were.
#
# Runs both workers' `batch` on the same inputs and compares the output folders file by file:
#   gen        the generated corpus (scripts/gen-corpus --bytes SIZE --seed 42, cached like
#              run-worker-bench.sh's), --html none, at each thread count of --threads
#   examples   data/examples (job-spec.json and the two releases' specs), --html all
#   ragtruth   scripts/eval-ragtruth's corpus and job spec (its run folder), --html none
# Compared: events.jsonl, rejects.jsonl, every reports/part-* (zstd parts decompressed), the
# report index as an SQL dump (its part_stat.* store rows, file status, set aside), pages;
# summary.json and manifest.json with their timing, RSS and folder fields set aside. Prints one
# line per comparison and exits 1 on any difference.
#
# Usage: bench/compare-outputs.sh REF_WORKER NEW_WORKER [--size 64M] [--threads "1 2"]
#                                 [--sets "gen examples ragtruth"] [--work DIR] [--keep]
#                                 [--ragtruth DIR]   (eval-ragtruth's --data)
# Environment: KIVO_BENCH_DIR (the corpus cache, default /tmp/kivo-bench-cache).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
[ $# -ge 2 ] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
ref=$(realpath "$1")
new=$(realpath "$2")
shift 2
size=64M
threads="1 2"
sets="gen examples ragtruth"
work=""
keep=0
ragtruth=()
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --sets) sets=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --ragtruth) ragtruth=(--data "$2"); shift 2 ;;
        *) echo "compare-outputs: unknown argument: $1" >&2; exit 2 ;;
    esac
done
for w in "$ref" "$new"; do
    [ -x "$w" ] || { echo "compare-outputs: $w is not an executable" >&2; exit 2; }
done
[ -n "$work" ] || work=$(mktemp -d /tmp/kivo-compare-outputs.XXXXXX)
mkdir -p "$work"
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
status=0

# same DIR_A DIR_B NAME: compares two output folders.
same() {
    local a=$1 b=$2 name=$3 bad=0
    python3 - "$a" "$b" <<'EOF' || bad=1
import json, os, re, sqlite3, subprocess, sys
a, b = sys.argv[1], sys.argv[2]
VOLATILE = {"seconds", "mb_per_s", "records_per_s", "claims_per_s", "peak_rss_bytes", "out_dir",
            "started_at", "finished_at", "updated_at", "elapsed_seconds", "created_at"}
# The manifest's fingerprints of the job hash its paths (each side's own folder in ragtruth).
FINGERPRINTS = {"batch", "options"}
def strip(v, drop=VOLATILE):
    if isinstance(v, dict):
        return {k: strip(x, drop) for k, x in v.items() if k not in drop}
    if isinstance(v, list):
        return [strip(x, drop) for x in v]
    return v
def content(path):
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    if os.path.basename(path) == "summary.json":
        return json.dumps(strip(json.load(open(path))), sort_keys=True).encode()
    if os.path.basename(path) == "manifest.json":
        return json.dumps(strip(json.load(open(path)), VOLATILE | FINGERPRINTS), sort_keys=True).encode()
    if os.path.basename(path) == "index" or path.endswith(".sqlite"):
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            # The store table's part_stat.NNNNN rows are each part file's status (inode, times):
            # a property of the run's files, not of its output.
            return "\n".join(l for l in con.iterdump() if "'part_stat." not in l).encode()
        finally:
            con.close()
    data = open(path, "rb").read()
    if path.endswith(".html"):  # the page embeds the summary
        data = re.sub(rb'"(%s)":("[^"]*"|[-0-9.e+]+)' % "|".join(VOLATILE).encode(), b"", data)
    return data
def files(top):
    out = set()
    for d, _, fs in os.walk(top):
        for f in fs:
            if f.endswith(("-wal", "-shm", ".lock")):
                continue
            out.add(os.path.relpath(os.path.join(d, f), top))
    return out
fa, fb = files(a), files(b)
bad = sorted(fa ^ fb)
for f in sorted(fa & fb):
    if content(os.path.join(a, f)) != content(os.path.join(b, f)):
        bad.append(f)
if bad:
    print("  differ: " + ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else ""))
    sys.exit(1)
print("  %d files" % len(fa))
EOF
    if [ "$bad" = 0 ]; then
        echo "same: $name"
    else
        echo "DIFFERENT: $name ($a vs $b)"
        status=1
    fi
}

# run WORKER SPEC OUT ARGS...: one batch (exit 0 or 3/5: flagged records are not an error here).
run() {
    local worker=$1 spec=$2 out=$3
    shift 3
    local rc=0
    "$worker" batch --job-spec-file "$spec" --out "$out" --quiet "$@" >/dev/null 2>"$out.err" || rc=$?
    case $rc in 0 | 3 | 4 | 5 | 6) ;; *) echo "compare-outputs: $worker exited $rc on $spec" >&2; cat "$out.err" >&2; status=1 ;; esac
}

for set in $sets; do
    case $set in
    gen)
        bench_corpus "$root" "${KIVO_BENCH_DIR:-/tmp/kivo-bench-cache}" "$size" 42
        spec=$work/gen-spec.json
        bench_spec "$spec" "$corpus"
        for t in $threads; do
            run "$ref" "$spec" "$work/gen-ref-$t" --threads "$t" --html none
            run "$new" "$spec" "$work/gen-new-$t" --threads "$t" --html none
            same "$work/gen-ref-$t" "$work/gen-new-$t" "generated $size, $t thread(s)"
            rm -rf "$work/gen-ref-$t" "$work/gen-new-$t"
        done
        ;;
    examples)
        for spec in "$root/data/examples/job-spec.json" "$root/data/examples/releases/"job-spec-*.json; do
            name=$(basename "$spec" .json)
            (cd "$(dirname "$spec")" && run "$ref" "$spec" "$work/ex-ref-$name" --threads 2 --html all)
            (cd "$(dirname "$spec")" && run "$new" "$spec" "$work/ex-new-$name" --threads 2 --html all)
            same "$work/ex-ref-$name" "$work/ex-new-$name" "data/examples $name"
        done
        ;;
    ragtruth)
        # eval-ragtruth writes the corpus and spec into its --out folder and runs the worker
        # there; its metrics go to a log, only the run folders are compared.
        for side in ref new; do
            w=$ref
            [ "$side" = new ] && w=$new
            python3 "$root/scripts/eval-ragtruth" --worker "$w" --threads 2 --out "$work/rt-$side" "${ragtruth[@]}" \
                >"$work/rt-$side.log" 2>&1 || { echo "compare-outputs: eval-ragtruth ($side) failed, see $work/rt-$side.log" >&2; status=1; }
        done
        same "$work/rt-ref/run" "$work/rt-new/run" "RAGTruth (eval-ragtruth's run)"
        ;;
    *) echo "compare-outputs: unknown set $set" >&2; exit 2 ;;
    esac
done
exit $status
