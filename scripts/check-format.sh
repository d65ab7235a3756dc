#!/usr/bin/env bash
# Checks that every C and C++ source of the tree is formatted as .clang-format says (issue 13).
# Usage: scripts/check-format.sh [CLANG_FORMAT]   (exit 1 and the files' names when one is not)
# To format: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = "--fix" ]; then
    fix=1
    shift
fi
cf=${1:-$(command -v clang-format || command -v clang-format-14 || true)}
[ -n "$cf" ] || { echo "check-format: clang-format is not installed (scripts/install-deps.sh)" >&2; exit 1; }
mapfile -t files < <(find src include tests bench -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) \
    -not -path '*/node_modules/*' | LC_ALL=C sort)
if [ "$fix" = 1 ]; then
    "$cf" -i --style=file "${files[@]}"
    exit 0
fi
bad=()
for f in "${files[@]}"; do
    "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    echo "check-format: ${#bad[@]} file(s) differ from .clang-format (run scripts/check-format.sh --fix):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted"
