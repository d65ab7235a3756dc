#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test under ctest: first the normal build, then
# (in CI, or with KIVO_CLANG_BUILD=1) the whole tree built once more by clang with the same -Werror,
# then (in CI, or with KIVO_SANITIZE_TESTS=1) the same suite built with ASan and UBSan, then (in CI,
# or with KIVO_FUZZ_TESTS=1) every fuzz harness for a minute (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# chromium, node and playwright-core for the browser tests (ctest -L web); idempotent.
scripts/install-browser.sh
# lintian, zsh, systemd-analyze, man for the install and packaging tests (ctest -L install).
scripts/install-packaging.sh
scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
(cd build && ctest --output-on-failure -j "$jobs")

# clang warns where gcc does not (-Wstring-concatenation on a literal split across two lines of an
# array), and warnings are errors in both: build everything, tests included, with clang too. Built
# only; the tests run in the gcc builds. clang and OpenMP for clang are what fuzz.sh installs.
if [ "${CI:-}" = "true" ] || [ "${KIVO_CLANG_BUILD:-0}" = "1" ]; then
    echo "== clang build (-Werror) =="
    scripts/install-deps.sh clang libomp-dev
    CC=clang CXX=clang++ cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-clang -j "$jobs" >build-clang.log 2>&1 ||
        { grep -E -A3 "(error|warning):" build-clang.log || tail -50 build-clang.log; exit 1; }
fi

if [ "${CI:-}" = "true" ] || [ "${KIVO_SANITIZE_TESTS:-0}" = "1" ]; then
    echo "== sanitizer build (ASan + UBSan) =="
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKIVO_SANITIZE=ON >/dev/null
    cmake --build build-asan -j "$jobs" >build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    (cd build-asan && ctest --output-on-failure -j "$jobs")
fi

# Fuzzing (tests/fuzz/): the sanitizer build above replayed every corpus entry; here each libFuzzer
# harness (clang, installed by fuzz.sh) runs for 60 s, as many at a time as there are cores. Any
# crash fails the run and prints its input.
if [ "${CI:-}" = "true" ] || [ "${KIVO_FUZZ_TESTS:-0}" = "1" ]; then
    echo "== fuzzing (libFuzzer, ${KIVO_FUZZ_SECONDS:-60} s per harness) =="
    FUZZ_JOBS=${FUZZ_JOBS:-$jobs} scripts/fuzz.sh "${KIVO_FUZZ_SECONDS:-60}"
fi
