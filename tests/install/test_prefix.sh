#!/usr/bin/env bash
# install_prefix: `cmake --install BUILD --prefix P` into a temporary P, then a program outside
# Kivo (consumer.c) built against P with nothing but `pkg-config --cflags --libs kivo`, run, and
# built again against the static libkivo.a with `pkg-config --static --libs kivo`.
# Usage: test_prefix.sh BUILD_DIR SOURCE_DIR VERSION LIBDIR INCLUDEDIR
set -euo pipefail
# No `cmd | grep -q` here: with pipefail, grep -q's early exit can kill cmd with SIGPIPE.
build=$1 src=$2 version=$3 libdir=$4 includedir=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
P=$tmp/prefix

cmake --install "$build" --prefix "$P" >"$tmp/install.log"

# The layout the issue promises.
for f in bin/kivo-worker bin/kivo-api \
         "$libdir/libkivo.a" "$libdir/libkivo.so" "$libdir/libkivo.so.0" \
         "$libdir/libkivo.so.$version" "$libdir/pkgconfig/kivo.pc" \
         share/man/man1/kivo-worker.1.gz share/man/man1/kivo-api.1.gz \
         share/man/man5/kivo-job-spec.5.gz \
         share/bash-completion/completions/kivo-worker share/bash-completion/completions/kivo-api \
         share/zsh/vendor-completions/_kivo-worker share/zsh/vendor-completions/_kivo-api \
         lib/systemd/system/kivo-api.service etc/kivo/kivo-api.env; do
    [ -e "$P/$f" ] || fail "cmake --install did not install $f"
done
for h in "$src"/include/kivo/*.h; do
    cmp -s "$h" "$P/$includedir/kivo/$(basename "$h")" || fail "header $(basename "$h") not installed"
done
[ "$(ls "$P/$includedir/kivo" | wc -l)" -eq "$(ls "$src"/include/kivo/*.h | wc -l)" ] ||
    fail "include/kivo holds files that are not public headers"
[ "$(readlink "$P/$libdir/libkivo.so")" = libkivo.so.0 ] || fail "libkivo.so is not a link to the SONAME"
readelf -d "$P/$libdir/libkivo.so.$version" | grep 'SONAME.*\[libkivo\.so\.0\]' >/dev/null || fail "SONAME"
"$P/bin/kivo-worker" --version | grep "^kivo-worker $version " >/dev/null || fail "installed kivo-worker --version"
"$P/bin/kivo-api" --version | grep "^kivo-api $version " >/dev/null || fail "installed kivo-api --version"

# Each public header compiles on its own, in C11 and in C++17.
export PKG_CONFIG_PATH=$P/$libdir/pkgconfig
[ "$(pkg-config --modversion kivo)" = "$version" ] || fail "pkg-config --modversion kivo"
cflags=$(pkg-config --cflags kivo)
for h in "$P/$includedir"/kivo/*.h; do
    echo "#include <kivo/$(basename "$h")>" >"$tmp/one.c"
    # shellcheck disable=SC2086
    cc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only $cflags "$tmp/one.c" ||
        fail "kivo/$(basename "$h") does not compile alone as C11"
    # shellcheck disable=SC2086
    c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ $cflags "$tmp/one.c" ||
        fail "kivo/$(basename "$h") does not compile alone as C++17"
done

# Shared: only what pkg-config says.
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic $cflags "$src/tests/install/consumer.c" \
    -o "$tmp/consumer" $(pkg-config --libs kivo)
readelf -d "$tmp/consumer" | grep 'NEEDED.*\[libkivo\.so\.0\]' >/dev/null || fail "consumer does not use libkivo.so.0"
LD_LIBRARY_PATH=$P/$libdir "$tmp/consumer" >"$tmp/shared.out" || fail "consumer (shared) failed"
cat "$tmp/shared.out"
LD_LIBRARY_PATH=$P/$libdir ldd "$tmp/consumer" | grep "libkivo.so.0 => $P/$libdir/" >/dev/null ||
    fail "consumer did not load the installed libkivo.so.0"

# Static: libkivo.a and the private dependencies pkg-config --static lists.
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic $cflags "$src/tests/install/consumer.c" \
    -o "$tmp/consumer-static" -Wl,--as-needed -Wl,-Bstatic -lkivo -Wl,-Bdynamic \
    $(pkg-config --static --libs kivo)
if readelf -d "$tmp/consumer-static" | grep 'NEEDED.*libkivo' >/dev/null; then
    fail "consumer-static still needs libkivo.so"
fi
"$tmp/consumer-static" >"$tmp/static.out" || fail "consumer (static) failed"
cmp -s "$tmp/shared.out" "$tmp/static.out" || fail "shared and static libkivo review differently"

# What the review said: a number the source contradicts is flagged, and the output hash is the
# SHA-256 of the output's bytes.
line=$(cat "$tmp/shared.out")
case "$line" in
*"verdict=pass "*) fail "a contradicted number passed: $line" ;;
*"verdict=needs_review "* | *"verdict=fail "*) ;;
*) fail "no verdict in: $line" ;;
esac
echo "$line" | grep -E ' unsupported=[1-9]' >/dev/null || fail "no unsupported claim in: $line"
want=$(printf '%s' "Refunds are issued within 30 days. The store opens at 9am." | sha256sum | cut -d' ' -f1)
echo "$line" | grep "output_hash=sha256:$want " >/dev/null || fail "output_hash is not sha256 of the output"
echo "install_prefix: ok"
