#!/usr/bin/env python3
"""flood.py - issue 12's idle-connection flood against a real kivo-api, full size.

N sockets (default 4,100) each send a partial request head, then one more header line every
--interval seconds (default 20), never the blank line that ends the head. Meanwhile /healthz is
asked every 0.5 s from another loopback address, with a 2 s timeout. Prints how many flood
sockets the server took and kept, how many it closed and when, and /healthz's answers and
latency (p50, p99, max).

    bench/flood.py --bin build/kivo-api [--sockets 4100] [--interval 20] [--seconds 60]
                   [--sources 1] [--serve-args "--header-timeout 30"]

--sources K spreads the flood over 127.0.0.1 .. 127.0.0.K (a distributed attacker, which the
per-address limit alone does not stop). The server is started on a temporary database with
--create; a binary without --create (before issue 12) gets its database from `keys create`.
"""
import argparse
import http.client
import os
import resource
import selectors
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(binary, extra, tmp):
    db = os.path.join(tmp, "flood.db")
    port = free_port()
    helptext = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    if "--create" in helptext:
        extra = ["--create"] + extra
    else:
        subprocess.run([binary, "keys", "create", "--db", db, "--project", "p", "--scopes",
                        "review_runs:read"], capture_output=True, check=True)
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                             "--quiet", *extra], stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("flood: the server did not start")


def poll_healthz(port, src, stop, out):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2, source_address=(src, 0))
            c.request("GET", "/healthz")
            st = c.getresponse().status
            c.close()
        except OSError:
            st = None
        out.append((time.monotonic(), st, time.monotonic() - t0))
        stop.wait(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/kivo-api")
    ap.add_argument("--sockets", type=int, default=4100)
    ap.add_argument("--interval", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sources", type=int, default=1)
    ap.add_argument("--health-source", default="127.0.0.250")
    ap.add_argument("--serve-args", default="")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.sockets + 1024), hard))
    tmp = tempfile.mkdtemp(prefix="kivo-flood-")
    proc, port = start_server(a.bin, shlex.split(a.serve_args), tmp)
    stop = threading.Event()
    health = []
    poller = threading.Thread(target=poll_healthz, args=(port, a.health_source, stop, health))

    sel = selectors.DefaultSelector()
    socks, refused = [], 0
    t0 = time.monotonic()
    for i in range(a.sockets):
        s = socket.socket()
        try:
            s.bind((f"127.0.0.{1 + i % a.sources}", 0))
            s.settimeout(1)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-0: 1\r\n")
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        except OSError:
            s.close()
            refused += 1
    opened = time.monotonic() - t0
    poller.start()
    closed_at = {}
    next_line = time.monotonic() + a.interval
    end = t0 + a.seconds
    while time.monotonic() < end:
        if time.monotonic() >= next_line:
            for s in socks:
                if s not in closed_at:
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except OSError:
                        closed_at[s] = time.monotonic() - t0
            next_line += a.interval
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed_at.setdefault(s, time.monotonic() - t0)
                sel.unregister(s)
    stop.set()
    poller.join()
    for s in socks:
        s.close()
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()

    within_1s = sum(1 for v in closed_at.values() if v < opened + 1)
    print(f"flood: {a.sockets} sockets from {a.sources} address(es), a header line every "
          f"{a.interval:g} s, {a.seconds:g} s; server args: {a.serve_args or '(defaults)'}")
    print(f"  connect failed {refused}; connected {len(socks)} in {opened:.1f} s; closed by the "
          f"server {len(closed_at)} ({within_1s} at once, the rest by "
          f"{max(closed_at.values(), default=0):.1f} s); still open at the end "
          f"{len(socks) - len(closed_at)}")
    lat = sorted(x[2] * 1000 for x in health if x[1] == 200)
    n = len(health)
    ok = len(lat)
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print(f"  /healthz from {a.health_source}: {ok}/{n} answered 200; latency ms p50 "
              f"{statistics.median(lat):.1f} p99 {p(0.99):.1f} max {lat[-1]:.1f}")
    else:
        print(f"  /healthz from {a.health_source}: 0/{n} answered")
    worst = 0.0
    gap_start = None
    for tm, st, _ in health:
        if st != 200 and gap_start is None:
            gap_start = tm
        elif st == 200 and gap_start is not None:
            worst = max(worst, tm - gap_start)
            gap_start = None
    if gap_start is not None:
        worst = max(worst, health[-1][0] - gap_start)
    print(f"  longest stretch without an answer: {worst:.1f} s")


if __name__ == "__main__":
    main()
