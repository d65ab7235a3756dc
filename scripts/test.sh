#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test under ctest: first the normal build, then
# (in CI, or with KIVO_SANITIZE_TESTS=1) the same suite built with ASan and UBSan.
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

if [ "${CI:-}" = "true" ] || [ "${KIVO_SANITIZE_TESTS:-0}" = "1" ]; then
    echo "== sanitizer build (ASan + UBSan) =="
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKIVO_SANITIZE=ON >/dev/null
    cmake --build build-asan -j "$jobs" >build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    (cd build-asan && ctest --output-on-failure -j "$jobs")
fi
