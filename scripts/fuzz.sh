#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang in build-fuzz/ and runs each of them for
# SECONDS (default 60), one after another (FUZZ_JOBS=N runs N at a time).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]      e.g. scripts/fuzz.sh 600 engine_review
#
# Each harness starts from its seed corpus (tests/fuzz/corpus/<name>/, read only) and from what
# earlier runs found (build-fuzz/corpus/<name>/, where new inputs go). A crash, leak, timeout or
# out-of-memory stops that harness; its input is saved under tests/fuzz/crashes/<name>/ (untracked,
# so `git status` shows it) and the run fails. Minimize it, fix it, and add it to the seed corpus:
#   build-fuzz/fuzz_<name> -minimize_crash=1 -runs=20000 \
#       -exact_artifact_path=tests/fuzz/corpus/<name>/<what> CRASH
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-len_control=0 for long inputs from the start).
# Logs and a summary line per harness (runs, executions per second, corpus) are in
# build-fuzz/logs/. Exit status: 0 when nothing crashed, 1 when something did, 2 on a build error.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
all=(json_record engine_review engine_memo jobspec api_body outbox_state compare_report jsonwrite shard_info)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")
jobs=${FUZZ_JOBS:-1}

# clang, its libFuzzer and sanitizer runtimes (libclang-rt-dev), OpenMP for clang (libomp-dev),
# llvm-symbolizer for readable stacks (llvm).
scripts/install-deps.sh clang libclang-rt-dev libomp-dev llvm

mkdir -p build-fuzz
if ! { CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DKIVO_FUZZ=ON >build-fuzz/configure.log 2>&1 &&
       cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" --target fuzz \
          >build-fuzz/build.log 2>&1; }; then
    cat build-fuzz/configure.log build-fuzz/build.log | tail -50
    exit 2
fi

# Harnesses that read files (job spec, outbox, the API's SQLite store) write them to a scratch
# folder: in memory when possible, 4x the executions per second of a disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi
# libFuzzer reports sanitizer errors itself (exit 1, the input saved); leaks count as crashes.
export ASAN_OPTIONS=detect_leaks=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
mkdir -p build-fuzz/logs

# run_one NAME: fuzzes NAME for $seconds; exit status 0 clean, 1 finding.
run_one() {
    local name=$1 bin=build-fuzz/fuzz_$1 work=build-fuzz/corpus/$1 crashes=tests/fuzz/crashes/$1
    local log=build-fuzz/logs/$1.log rc=0
    mkdir -p "$work" "$crashes"
    nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 \
        -max_len="${FUZZ_MAX_LEN:-8192}" -dict="tests/fuzz/$name.dict" -print_final_stats=1 \
        -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "$work" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1 || rc=$?
    local runs eps corp
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corp=$(ls "$work" | wc -l)
    printf '%-14s %5ss  runs %-10s exec/s %-7s corpus %-6s %s\n' "$name" "$seconds" \
        "${runs:-?}" "${eps:-?}" "$corp" \
        "$([ $rc -eq 0 ] && echo clean || echo "FINDING (exit $rc)")" |
        tee "build-fuzz/logs/$name.summary"
    if [ $rc -ne 0 ]; then
        grep -E "^SUMMARY|ERROR:|runtime error|fuzz check failed" "$log" | head -5 | sed 's/^/    /'
        for f in $(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log"); do
            echo "    input: $f   (replay: $bin $f)"
            # CI keeps no files: the input itself goes into the log.
            [ "${CI:-}" = "true" ] && { echo "    base64:"; base64 "$f" | sed 's/^/      /'; }
        done
        [ "${CI:-}" = "true" ] && tail -60 "$log" | sed 's/^/    | /'
    fi
    return $rc
}

failed=0
pids=()
for name in "${harnesses[@]}"; do
    if [ ! -x "build-fuzz/fuzz_$name" ]; then
        echo "fuzz.sh: no harness $name (have: ${all[*]})" >&2
        exit 2
    fi
    if [ "$jobs" -le 1 ]; then
        run_one "$name" || failed=1
    else
        run_one "$name" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || failed=1
done
exit $failed
