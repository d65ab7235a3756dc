#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the main job on the
# bundled example corpus with the example's own job spec. No server is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=build/example-reports
rm -rf "$out"
set +e
build/kivo-worker batch --job-spec-file data/examples/job-spec.json --out "$out" "$@"
rc=$?
set -e
echo "summary: $out/summary.json  events: $out/events.jsonl  reports: $out/reports/" >&2
echo "reviewer's view: open $out/index.html in a browser (no server needed)" >&2
exit $rc
