# shellcheck shell=bash
# start_api.sh - sourced by the shell tests that start a kivo-api of their own on a loopback port.
#
# start_api_free LOG LAUNCH [ARG...]
#   Runs `LAUNCH PORT ARG...` in the background (stdout and stderr appended to LOG) on a free
#   loopback port. LAUNCH is a command or shell function that ends by exec'ing the server (so the
#   process started is the server) with --listen / KIVO_API_LISTEN 127.0.0.1:PORT. The server is
#   up once its own log line says it listens on that port and /healthz answers there: an answer
#   alone could come from another test's kivo-api that took the port first. A free port may be
#   taken by another test between picking and binding: the server then says the port is in use
#   and exits, and is started again on a new one (five tries).
# start_api_on PORT LOG LAUNCH [ARG...]
#   The same on a given port (a restart on the port the clients know), without retries.
#
# Both set API_PORT and API_PID and return 0 when the server is up, 1 when it exited (LOG says
# why), 2 when it runs but did not answer within START_API_SECONDS (default 60), and
# start_api_free 3 when five ports were taken in turn. Call them as `start_api_free ... || rc=$?`
# under `set -e`.

start_api_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One start on $1; 4: the server exited saying its port is in use.
start_api_try() {
    local port=$1 log=$2 launch=$3 mark i
    shift 3
    mark=$(stat -c %s "$log" 2>/dev/null || echo 0)
    API_PORT=$port
    "$launch" "$port" "$@" >>"$log" 2>&1 &
    API_PID=$!
    for ((i = 0; i < ${START_API_SECONDS:-60} * 20; i++)); do
        # (grep reads a process substitution: under pipefail, tail's SIGPIPE when grep -q stops
        # early would fail a pipeline)
        if grep -q "listening on 127.0.0.1:$port " < <(tail -c +"$((mark + 1))" "$log") &&
            curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$API_PID" 2>/dev/null && return 2
    grep -q "is already in use" < <(tail -c +"$((mark + 1))" "$log") && return 4
    return 1
}

start_api_free() {
    local log=$1 try rc
    shift
    for try in 1 2 3 4 5; do
        rc=0
        start_api_try "$(start_api_port)" "$log" "$@" || rc=$?
        [ "$rc" = 4 ] || return "$rc"
        echo "# port $API_PORT was taken before kivo-api bound it (try $try); picking another" >&2
    done
    return 3
}

# start_api_reason RC: what a failed start's return code says, for a test's failure message.
start_api_reason() {
    case $1 in
    1) echo "the server exited" ;;
    2) echo "the server runs but did not answer /healthz" ;;
    3) echo "five free ports were taken in turn" ;;
    *) echo "the start failed ($1)" ;;
    esac
}

start_api_on() {
    local rc=0
    start_api_try "$@" || rc=$?
    [ "$rc" = 4 ] && return 1
    return "$rc"
}
