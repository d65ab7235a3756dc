#!/usr/bin/env python3
"""install_hardening: the programs and libkivo.so are built as Debian hardens packaged code
(CMakeLists.txt, KIVO_HARDEN), read back from the ELF files with readelf:
  - position-independent executables (ELF type DYN with an interpreter);
  - full RELRO: a GNU_RELRO segment and BIND_NOW (the GOT is read-only once started);
  - no executable stack (GNU_STACK without E);
  - the stack protector (__stack_chk_fail imported);
  - _FORTIFY_SOURCE in optimized builds: at least one checked libc call (__*_chk) imported.
Usage: test_hardening.py BUILD_TYPE FILE..."""
import re
import subprocess
import sys

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


def main():
    build_type, files = sys.argv[1], sys.argv[2:]
    for f in files:
        header = readelf("-h", f)
        segments = readelf("-l", f)
        dynamic = readelf("-d", f)
        symbols = readelf("--dyn-syms", f)
        is_lib = ".so" in f
        check("DYN" in re.search(r"Type:\s+(\S+)", header).group(1), f"{f}: not position-independent")
        if not is_lib:
            check("INTERP" in segments, f"{f}: an executable without an interpreter")
        check("GNU_RELRO" in segments, f"{f}: no GNU_RELRO segment")
        check(re.search(r"\(BIND_NOW\)|\(FLAGS\)\s.*\bBIND_NOW\b|\(FLAGS_1\)\s.*\bNOW\b", dynamic)
              is not None, f"{f}: not bound now (-z now)")
        stack = re.search(r"GNU_STACK(.*)", segments)
        check(stack is not None and not re.search(r"\bRWE\b", stack.group(1)),
              f"{f}: executable stack")
        check("__stack_chk_fail" in symbols, f"{f}: no stack protector (__stack_chk_fail)")
        if build_type not in ("Debug", ""):
            chk = sorted(set(re.findall(r"\b(__\w+_chk)\b", symbols)) - {"__stack_chk_fail"})
            check(len(chk) > 0, f"{f}: no _FORTIFY_SOURCE checked call in a {build_type} build")
            print(f"{f}: fortified calls: {', '.join(chk[:8])}{' ...' if len(chk) > 8 else ''}")
    if failures:
        return 1
    print(f"install_hardening: ok ({len(files)} files, {build_type or 'no'} build type)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
