#!/usr/bin/env bash
# Installs what the install and packaging tests (tests/install/) need besides the build: lintian
# for the .debs, zsh to parse the zsh completions, systemd's systemd-analyze for the unit, man-db
# for man and lexgrog, file and dpkg-dev for CPack's DEB generator and dpkg-shlibdeps, adduser for
# the kivo-api package, sqlite3 for the online backup of docs/operations.md. Idempotent, through
# install-deps.sh; prints nothing when all are there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh lintian zsh systemd man-db file dpkg-dev adduser sqlite3
