#!/usr/bin/env bash
# install_debs: the Debian packages, installed into this system for real.
#  - cpack makes kivo-worker, kivo-api, libkivoN and libkivo-dev; lintian finds no error in them;
#  - dpkg -i installs all four (their dependencies came from dpkg-shlibdeps); both programs answer
#    --version from /usr/bin; the kivo user, /var/lib/kivo, the unit and its conffile are there;
#  - a program is built against the installed libkivo-dev with pkg-config alone and run;
#  - the installed server runs as kivo with the packaged settings and writes /var/lib/kivo;
#  - a local edit of /etc/kivo/kivo-api.env survives reinstalling; purge removes the packages.
# It needs root (CI runs as root on a throwaway machine) and skips, exit 77, without it.
# Usage: test_debs.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
# No `cmd | grep -q` here: with pipefail, grep -q's early exit can kill cmd with SIGPIPE.
build=$1 src=$2 version=$3
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: install_debs installs the packages into this system with dpkg -i: run as root"
    exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=SCRIPTDIR/../lib/start_api.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/start_api.sh"
packages="kivo-worker kivo-api libkivo0 libkivo-dev"
tmp=$(mktemp -d)
pid= made_db=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$made_db" ] && rm -f /var/lib/kivo/kivo.db /var/lib/kivo/kivo.db-wal /var/lib/kivo/kivo.db-shm
    # shellcheck disable=SC2086
    dpkg --purge $packages >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# One run at a time on this machine: dpkg's lock does not wait.
exec 9>/tmp/kivo-install-debs.lock
flock -w 600 9 || fail "another install_debs holds /tmp/kivo-install-debs.lock"

# Packages, and lintian on them.
t0=$SECONDS
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/debs" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log"; fail "cpack"; }
debs=$(ls "$tmp"/debs/*.deb)
[ "$(echo "$debs" | wc -l)" -eq 4 ] || fail "cpack made $(echo "$debs" | wc -l) packages, not 4"
t_cpack=$((SECONDS - t0))
# shellcheck disable=SC2086
lintian --fail-on error --tag-display-limit 0 $debs >"$tmp/lintian.log" 2>&1 ||
    { cat "$tmp/lintian.log"; fail "lintian found errors"; }
grep -E '^[EWI]:' "$tmp/lintian.log" || echo "lintian: no tag"
t_lintian=$((SECONDS - t0 - t_cpack))
for d in $debs; do
    dpkg-deb -f "$d" Package Version Depends | sed 's/^/  /'
done
dpkg-deb -f "$tmp"/debs/kivo-api_*.deb Depends | grep 'libmicrohttpd' >/dev/null ||
    fail "kivo-api's Depends did not come from dpkg-shlibdeps"

# Install. The postinst makes the database the settings name, unless one is already there.
[ -e /var/lib/kivo/kivo.db ] || made_db=1
# shellcheck disable=SC2086
dpkg -i $debs >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
[ "$(/usr/bin/kivo-worker --version | cut -d' ' -f1-2)" = "kivo-worker $version" ] ||
    fail "/usr/bin/kivo-worker --version: $(/usr/bin/kivo-worker --version)"
[ "$(/usr/bin/kivo-api --version | cut -d' ' -f1-2)" = "kivo-api $version" ] ||
    fail "/usr/bin/kivo-api --version: $(/usr/bin/kivo-api --version)"
/usr/bin/kivo-worker --version
/usr/bin/kivo-api --version
getent passwd kivo | grep ':/var/lib/kivo:' >/dev/null || fail "no kivo system user with home /var/lib/kivo"
[ "$(stat -c '%U:%G %a' /var/lib/kivo)" = "kivo:kivo 750" ] ||
    fail "/var/lib/kivo is $(stat -c '%U:%G %a' /var/lib/kivo)"
dpkg-query -W -f='${Conffiles}\n' kivo-api | grep '/etc/kivo/kivo-api.env' >/dev/null ||
    fail "/etc/kivo/kivo-api.env is not a conffile"
unit=$(dpkg -L kivo-api | grep '/systemd/system/kivo-api.service$') || fail "no unit in kivo-api"
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
man -w kivo-worker kivo-api kivo-job-spec >/dev/null || fail "man cannot find the pages"

# libkivo-dev: pkg-config alone, against the system's library.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags kivo) "$src/tests/install/consumer.c" \
    -o "$tmp/consumer" $(pkg-config --libs kivo) || fail "cannot build against libkivo-dev"
# libkivo0 updates the loader's cache through the ldconfig trigger, not a script of its own.
dpkg-deb -I "$tmp"/debs/libkivo0_*.deb triggers | grep -x 'activate-noawait ldconfig' >/dev/null ||
    fail "libkivo0 has no ldconfig trigger"
ldconfig -p | grep 'libkivo\.so\.0 ' >/dev/null ||
    fail "the ldconfig trigger did not put libkivo.so.0 in ld.so.cache"
ldd "$tmp/consumer" >"$tmp/ldd.txt" 2>&1 || true
grep -Eq "libkivo\.so\.0 => (/usr)?/lib/" "$tmp/ldd.txt" ||
    { cat "$tmp/ldd.txt"; fail "consumer does not use the system libkivo"; }
"$tmp/consumer" | grep ' unsupported=[1-9]' >/dev/null || fail "consumer against the system libkivo"

# The server as the unit runs it: user kivo, the packaged settings (another port: 8787 may be
# taken here), on the database the postinst made in /var/lib/kivo. With those settings a missing
# database stops it with an error (the settings no longer ask it to create one).
if [ -n "$made_db" ]; then
    [ "$(stat -c '%U:%G %a' /var/lib/kivo/kivo.db)" = "kivo:kivo 600" ] ||
        fail "the postinst's kivo.db is $(stat -c '%U:%G %a' /var/lib/kivo/kivo.db 2>&1)"
    (
        set -a
        # shellcheck disable=SC1091
        . /etc/kivo/kivo-api.env
        KIVO_API_DB=/var/lib/kivo/missing.db
        KIVO_API_LISTEN=127.0.0.1:1
        exec setpriv --reuid=kivo --regid=kivo --init-groups -- /usr/bin/kivo-api serve
    ) >"$tmp/missing.log" 2>&1 && fail "the packaged settings served a missing database"
    grep 'does not exist' "$tmp/missing.log" >/dev/null ||
        { cat "$tmp/missing.log"; fail "no 'does not exist' for a missing database"; }
    [ ! -e /var/lib/kivo/missing.db ] || fail "the packaged settings made a missing database"
    serve_debs() { # PORT
        set -a
        # shellcheck disable=SC1091
        . /etc/kivo/kivo-api.env
        # shellcheck disable=SC2034 # exported by set -a
        KIVO_API_LISTEN=127.0.0.1:$1
        exec setpriv --reuid=kivo --regid=kivo --init-groups -- /usr/bin/kivo-api serve
    }
    rc=0
    start_api_free "$tmp/server.log" serve_debs || rc=$?
    pid=$API_PID port=$API_PORT
    [ "$rc" = 0 ] ||
        { cat "$tmp/server.log"; fail "the installed kivo-api: $(start_api_reason "$rc")"; }
    curl -fsS "http://127.0.0.1:$port/healthz" | grep '"ok"' >/dev/null ||
        { cat "$tmp/server.log"; fail "the installed kivo-api does not answer /healthz"; }
    [ "$(stat -c %U /var/lib/kivo/kivo.db)" = kivo ] || fail "kivo.db is not the kivo user's"
    runuser -u kivo -- /usr/bin/kivo-api keys create --db /var/lib/kivo/kivo.db --project pkgtest \
        --scopes private_worker:read >"$tmp/key" || fail "keys create as kivo"
    curl -fsS -H "Authorization: Bearer $(cat "$tmp/key")" \
        "http://127.0.0.1:$port/v1/private-worker/review-runs" >/dev/null ||
        fail "the new key does not list runs"
    kill -TERM "$pid"
    wait "$pid" || fail "kivo-api did not exit 0 on SIGTERM"
    pid=
fi

# A conffile keeps its local edit across a reinstall.
echo "KIVO_API_THREADS=6" >>/etc/kivo/kivo-api.env
dpkg -i --force-confold "$tmp"/debs/kivo-api_*.deb >"$tmp/dpkg2.log" 2>&1 ||
    { cat "$tmp/dpkg2.log"; fail "dpkg -i again"; }
grep -qx 'KIVO_API_THREADS=6' /etc/kivo/kivo-api.env || fail "reinstalling lost the local edit"

# shellcheck disable=SC2086
dpkg --purge $packages >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/kivo-worker /usr/bin/kivo-api /etc/kivo/kivo-api.env "$unit"; do
    [ ! -e "$f" ] || fail "$f is still there after purge"
done
echo "install_debs: ok (cpack ${t_cpack} s, lintian ${t_lintian} s, the rest $((SECONDS - t0 - t_cpack - t_lintian)) s)"
