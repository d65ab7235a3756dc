#!/usr/bin/env bash
# install_unit: kivo-api.service and kivo-api.env as `cmake --install` writes them.
#  - `systemd-analyze verify` passes (ExecStart exists, man:kivo-api(1) resolves);
#  - `systemd-analyze security --offline` keeps the exposure at or under 1.5 ("OK");
#  - the hardening the issue names is there;
#  - the settings file names only variables `kivo-api serve --help` knows, and every one of them;
#  - the unit's ExecStart with every setting of the file (the commented examples too) starts a
#    server that answers /healthz (database and address moved to a temporary folder).
# Usage: test_unit.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
P=$tmp/prefix
cmake --install "$build" --prefix "$P" --component api >/dev/null
unit=$P/lib/systemd/system/kivo-api.service
env_file=$P/etc/kivo/kivo-api.env

MANPATH=$P/share/man: systemd-analyze verify "$unit" || fail "systemd-analyze verify"
systemd-analyze security --offline=true --threshold=15 --no-pager "$unit" >"$tmp/security.txt" ||
    { cat "$tmp/security.txt"; fail "systemd-analyze security: exposure over 1.5"; }
grep "Overall exposure" "$tmp/security.txt"

for d in Type=notify ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
         ReadWritePaths=/var/lib/kivo User=kivo "EnvironmentFile=$env_file" \
         "ExecStart=$P/bin/kivo-api serve"; do
    grep -qx -- "$d" "$unit" || fail "kivo-api.service lacks $d"
done

# The settings file and serve --help list the same variables.
"$P/bin/kivo-api" serve --help | grep -o 'KIVO_API_[A-Z_]*' | sort -u >"$tmp/help.vars"
sed -n 's/^#\{0,1\}\(KIVO_API_[A-Z_]*\)=.*/\1/p' "$env_file" | sort -u >"$tmp/env.vars"
diff "$tmp/help.vars" "$tmp/env.vars" >"$tmp/vars.diff" ||
    { cat "$tmp/vars.diff"; fail "kivo-api.env and 'kivo-api serve --help' list different variables (< help, > env file)"; }

# ExecStart with every setting, as systemd would pass them (examples uncommented), on a database
# made first as the package's postinst makes it (the settings do not let the server create one).
"$P/bin/kivo-api" migrate --create --db "$tmp/kivo.db" >/dev/null || fail "kivo-api migrate --create"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
# shellcheck source=SCRIPTDIR/../lib/start_api.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/start_api.sh"
serve_unit() { # PORT
    set -a
    # shellcheck disable=SC1090
    . <(sed -n 's/^#\{0,1\}\(KIVO_API_[A-Z_]*=.*\)/\1/p' "$env_file")
    # shellcheck disable=SC2034 # exported by set -a
    KIVO_API_DB=$tmp/kivo.db KIVO_API_LISTEN=127.0.0.1:$1
    # shellcheck disable=SC2086
    exec $exec_start
}
rc=0
start_api_free "$tmp/server.log" serve_unit || rc=$?
pid=$API_PID port=$API_PORT
[ "$rc" = 0 ] ||
    { cat "$tmp/server.log"; fail "ExecStart with kivo-api.env: $(start_api_reason "$rc")"; }
curl -fsS "http://127.0.0.1:$port/healthz" | grep '"ok"' >/dev/null ||
    { cat "$tmp/server.log"; fail "ExecStart with kivo-api.env: no /healthz"; }
kill -TERM "$pid"
wait "$pid" || fail "kivo-api did not exit 0 on SIGTERM"
pid=
echo "install_unit: ok"
