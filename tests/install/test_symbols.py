#!/usr/bin/env python3
"""install_symbols: libkivo.so exports exactly the public API of include/kivo/.

Every kivo_* function or object declared in a public header (static inline ones aside) must be
exported, and nothing else may be: no kv_* internal, no simdjson or C++ runtime symbol. A
function added to a header but defined nowhere, or an internal that leaks, fails here.
Usage: test_symbols.py LIBKIVO_SO INCLUDE_DIR
"""
import re
import subprocess
import sys
from pathlib import Path


def declared(include_dir):
    names, inline = set(), set()
    for h in sorted(Path(include_dir, "kivo").glob("*.h")):
        text = h.read_text()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
        inline |= set(re.findall(r"static\s+inline\s[^;{(]*?\b(kivo_\w+)\s*\(", text))
        names |= set(re.findall(r"\b(kivo_\w+)\s*\(", text))
        names |= set(re.findall(r"extern\s+(?!\"C\")[^;({]*?\b(kivo_\w+)\s*(?:\[|;)", text))
    return names - inline


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    return {parts[2] for parts in (l.split() for l in out.splitlines()) if len(parts) == 3}


def main():
    lib, include_dir = sys.argv[1], sys.argv[2]
    want, have = declared(include_dir), exported(lib)
    if len(want) < 20:
        print("FAIL: found only %d declarations in %s" % (len(want), include_dir))
        return 1
    missing, extra = sorted(want - have), sorted(have - want)
    for name in missing:
        print("FAIL: declared in include/kivo/ but not exported: %s" % name)
    for name in extra:
        print("FAIL: exported but not declared in include/kivo/: %s" % name)
    if missing or extra:
        return 1
    print("install_symbols: %d symbols exported, all declared in include/kivo/" % len(have))
    return 0


if __name__ == "__main__":
    sys.exit(main())
