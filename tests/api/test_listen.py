#!/usr/bin/env python3
"""api_listen (issue 18): --listen accepts :PORT, localhost:PORT and [::1]:PORT; a port in use is
named; --log-format text and json on a real server, and a bad --log-format is refused.

    test_listen.py build/kivo-api
"""
import http.client
import itertools
import json
import os
import socket
import subprocess
import time

import apitest as t
from apitest import check


def says_listening(log, port):
    """True when the server log at path log says it listens on port (its own line: a /healthz
    answer alone could come from another test's server that took the port first)."""
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return any("listening on " in line and (":%d " % port) in line for line in f)
    except OSError:
        return False


def healthy(host, port, timeout=60, proc=None, log=None):
    """Waits for GET /healthz 200 at host:port; returns the answer's X-Request-Id or None (also
    as soon as proc, when given, has exited). With log, only once that log says it listens."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        if log is not None and not says_listening(log, port):
            time.sleep(0.05)
            continue
        try:
            c = http.client.HTTPConnection(host, port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return r.getheader("X-Request-Id")
        except OSError:
            time.sleep(0.05)
    return None


_logs = itertools.count()  # a new log for every server, though a port may come round again


def serve(db, listen, *extra, log, env=None):
    with open(log, "ab") as f:
        return subprocess.Popen([t.BIN, "serve", "--db", db, "--listen", listen, *extra],
                                stdout=subprocess.DEVNULL, stderr=f, env=env)


def serve_free(db, form, host, log_dir, *extra, env=None):
    """Starts a server on a free port written as form (e.g. ":%d") and waits for its health
    check: (process, port, log, request id or None). free_port() only finds a port that was free
    a moment ago; another test running at the same time can take it before the server binds, so a
    server that exits saying its port is in use is started again on a new one (as
    apitest.Server.start does). Any other failure is returned as it is, with the log printed."""
    for _ in range(5):
        port = t.free_port()
        log = os.path.join(log_dir, "listen-%d-%d.log" % (port, next(_logs)))
        p = serve(db, form % port, *extra, log=log, env=env)
        rid = healthy(host, port, proc=p, log=log)
        if rid is None and p.poll() is not None and "is already in use" in open(log).read():
            continue
        if rid is None:
            print("server log %s:\n%s" % (log, open(log).read()[-2000:]))
        return p, port, log, rid
    raise RuntimeError("five free ports were all taken before kivo-api bound them")


def stop(p):
    p.terminate()
    try:
        return p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def main():
    d = t.tmpdir()
    db = os.path.join(d, "api.db")
    t.make_key(db)
    cases = [(":%d", "127.0.0.1"), ("localhost:%d", "localhost"), ("127.0.0.1:%d", "127.0.0.1")]
    if ipv6_loopback():
        cases.append(("[::1]:%d", "::1"))
    else:
        print("note: no IPv6 loopback here; [::1] not tried")
    for form, host in cases:
        p, port, log, rid = serve_free(db, form, host, d)
        check(rid is not None, "--listen %s: /healthz at %s:%d" % (form % port, host, port))
        if rid is not None and form.startswith("localhost"):
            # A port in use is named, and the first server keeps serving.
            log2 = os.path.join(d, "second.log")
            q = serve(db, form % port, log=log2)
            try:
                rc = q.wait(30)
            except subprocess.TimeoutExpired:
                q.kill()
                rc = None
            text = open(log2).read()
            check(rc not in (0, None) and ("port %d is already in use" % port) in text,
                  "a port in use: exit %s, %r" % (rc, text))
            check(healthy(host, port, 5) is not None, "the first server still answers")
        check(stop(p) == 0, "--listen %s: exit 0 on SIGTERM" % (form % port))
        text = open(log).read()
        check(("rid=%s" % rid) in text if rid else True,
              "the text log names the request id %s: %r" % (rid, text[-500:]))

    # Bad values are refused before anything starts.
    for flag, value in (("--listen", "nowhere.invalid:8787"), ("--listen", "[::1]8787"),
                        ("--log-format", "xml")):
        port = t.free_port()
        args = [t.BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port]
        args += [flag, value] if flag == "--log-format" else []
        if flag == "--listen":
            args[args.index("--listen") + 1] = value
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and r.stderr.strip(), "%s %s: exit %d %r" % (flag, value,
                                                                          r.returncode, r.stderr))
    r = subprocess.run([t.BIN, "serve", "--db", db, "--listen", "127.0.0.1:1", "--log-format",
                        "xml"], capture_output=True, text=True, timeout=30)
    check("--log-format" in r.stderr, "names --log-format: %r" % r.stderr)

    # JSON: the server's own lines too; KIVO_API_LOG_FORMAT does the same.
    env = dict(os.environ, KIVO_API_LOG_FORMAT="json")
    jd = os.path.join(d, "json")
    os.mkdir(jd)
    p, port, log, rid = serve_free(db, "127.0.0.1:%d", "127.0.0.1", jd, env=env)
    check(stop(p) == 0, "json server exits 0")
    objs = [json.loads(line) for line in open(log) if line.strip()]
    check(any(o.get("request_id") == rid and o.get("route") == "/healthz" for o in objs),
          "the health check's line has its request id %s: %s" % (rid, objs))
    check(any(o.get("msg") == "stopped" for o in objs), "the server's own lines are JSON")
    t.finish()


if __name__ == "__main__":
    main()
