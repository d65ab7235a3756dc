#!/usr/bin/env python3
"""install_notify: kivo-api's sd_notify protocol, as kivo-api.service (Type=notify) relies on it.

A datagram socket stands in for systemd's NOTIFY_SOCKET. READY=1 must arrive only once the
database exists and the port accepts connections; SIGTERM must bring STOPPING=1 and then a clean
exit 0. A server that cannot open its database must exit non-zero without READY=1, so systemd
marks the start failed instead of waiting.
Usage: test_notify.py KIVO_API
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(sock, deadline):
    """Datagrams until the deadline, each as a dict of its KEY=value lines."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            return
        yield dict(l.split("=", 1) for l in data.splitlines() if "=" in l)


def start(api, tmp, db, port):
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify.sock"))
    return subprocess.Popen([api, "serve", "--db", db, "--create",
                             "--listen", "127.0.0.1:%d" % port, "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main():
    api = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="kivo-notify-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(tmp, "notify.sock"))
    proc = None
    try:
        # A database that cannot be opened: no READY=1, a non-zero exit.
        proc = start(api, tmp, os.path.join(tmp, "missing", "dir", "kivo.db"), free_port())
        rc = proc.wait(timeout=30)
        got = list(messages(sock, time.monotonic() + 0.2))
        check(rc != 0, "a server without its database exits non-zero (rc %d)" % rc)
        check(not any("READY" in m for m in got), "no READY=1 without a database: %r" % got)

        db = os.path.join(tmp, "kivo.db")
        for _ in range(5):
            port = free_port()
            proc = start(api, tmp, db, port)
            ready, err = None, "running"
            deadline = time.monotonic() + 30
            while ready is None and time.monotonic() < deadline:
                for m in messages(sock, time.monotonic() + 0.1):
                    if m.get("READY") == "1":
                        ready = m
                        # At this instant the database must exist and the port must take
                        # connections.
                        check(os.path.exists(db), "READY=1 came after the database was opened")
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=2).close()
                            bound = True
                        except OSError:
                            bound = False
                        check(bound, "READY=1 came after the port was bound")
                        break
                if ready is None and proc.poll() is not None:
                    err = proc.stderr.read()
                    break
            # free_port() only found a port free a moment ago: another test may take it before
            # kivo-api binds it, and then the server exits saying so; another port is tried.
            if ready is None and "is already in use" in err:
                continue
            break
        check(ready is not None, "READY=1 arrived (stderr: %s)" % err)
        if ready is None:
            return 1
        check("listening on 127.0.0.1:%d" % port in ready.get("STATUS", ""),
              "STATUS names the address: %r" % ready)
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=10) as r:
            check(r.status == 200, "healthz answers after READY=1")

        proc.send_signal(signal.SIGTERM)
        stopping = any(m.get("STOPPING") == "1" for m in messages(sock, time.monotonic() + 10))
        check(stopping, "SIGTERM brought STOPPING=1")
        rc = proc.wait(timeout=60)
        check(rc == 0, "kivo-api exits 0 after SIGTERM (rc %d)" % rc)
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        return 1
    print("install_notify: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
