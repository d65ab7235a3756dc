#!/usr/bin/env bash
# Installs the Debian packages Kivo builds, tests and runs with. Idempotent: when every package is
# already present it prints nothing and touches nothing. Needs root (or sudo) only when something
# is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git curl ca-certificates
    libssl-dev libxxhash-dev libsimdjson-dev libjansson-dev libcurl4-openssl-dev
    libmicrohttpd-dev libsqlite3-dev libstemmer-dev libutf8proc-dev
    libzstd-dev zlib1g-dev zstd libcmocka-dev python3 libsystemd-dev lowdown clang-format
    libpq-dev postgresql
)
# Open MPI: kivo-worker's MPI variant and its mpirun tests (issue 17).
packages+=(libopenmpi-dev openmpi-bin)
# Extra packages for the browser and packaging tests are installed by their own scripts.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
