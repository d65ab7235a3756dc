#!/usr/bin/env bash
# Configures and builds Kivo in build/ (Release with debug info). Binaries land at
# build/kivo-worker and build/kivo-api. Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >build/build.log 2>&1 || { cat build/build.log; exit 1; }
