#!/usr/bin/env python3
"""The ctest labels that the team's rules name select the tests they mean.

    ctest_labels.py CTEST BUILD_DIR

Engine changes are checked with `ctest -L engine`. No test carried that label once, and ctest
ran none and passed. Every test whose name has "engine" in it (the engine's unit tests
engine_*, the worker's worker_engine_* and the corpus replays fuzz_engine_*) must carry
the label "engine", no other test may, and the label must select at least the engine's
unit tests.
"""
import json
import subprocess
import sys

sys.dont_write_bytecode = True


def main():
    ctest, build = sys.argv[1], sys.argv[2]
    out = subprocess.run([ctest, "--show-only=json-v1"], cwd=build, check=True,
                         stdout=subprocess.PIPE).stdout
    problems = []
    labelled = []
    for test in json.loads(out)["tests"]:
        labels = []
        for prop in test.get("properties", []):
            if prop["name"] == "LABELS":
                labels = prop["value"]
        name = test["name"]
        if "engine" in labels:
            labelled.append(name)
        if ("engine" in name) != ("engine" in labels):
            problems.append("%s has labels %s" % (name, ",".join(labels) or "(none)"))
    if not any(n.startswith("engine_") for n in labelled):
        problems.append("`ctest -L engine` selects no engine_* test")
    for p in problems:
        print("ctest_labels:", p)
    print("ctest_labels: `ctest -L engine` selects %d tests" % len(labelled))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
