#!/usr/bin/env python3
"""pg_api.py - kivo-api create+event pairs per second and p99 latency, SQLite against PostgreSQL,
with 1 and 2 server instances on one database (issue 17).

For each store and each instance count: a fresh database, one key, N `kivo-api serve` processes
(--rate-limit 0 --quiet) on it, and build/bench/bench_api driving them with keep-alive libcurl
clients (client i talks to instance i % N; each pair is a create and its completed event, p99 per
pair). The stores:
  sqlite          one file in WAL mode, --sync normal (the default: WAL in the page cache at
                  commit, survives kill -9 of the server, not power loss)
  sqlite-full     --sync full (fsync per commit: survives power loss)
  pg              PostgreSQL from Debian's packages, started here with initdb in a temporary
                  folder (tests/api/pgserver.py), Unix socket, default durability
                  (fsync on, synchronous_commit on: fsync per commit)
  pg-async        the same with synchronous_commit=off (commits reach the disk within ~200 ms;
                  like sqlite normal, survives a crash of kivo-api, not of the machine)

Usage (from the repository root, after scripts/build.sh):
  python3 bench/pg_api.py [--bin build/kivo-api] [--bench build/bench/bench_api]
                          [--clients 8] [--seconds 3] [--reps 3] [--stores sqlite,pg,...]
                          [--instances 1,2] [--json]
Prints one line per configuration and a table; the machine's load average is printed with it,
since the figures move with whatever else runs.

The load test of issue 17 (two instances, 8 clients x 2,000 runs, one instance killed by SIGKILL
midway, every run created once with exactly one completed event) is tests/api/test_pg_multi.py at
full size: `KIVO_TEST_BACKEND=postgresql python3 tests/api/test_pg_multi.py build/kivo-api
--runs 2000 --no-races` (ctest api_pg_multi runs it at 8 x 100).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))
import pgserver  # noqa: E402

STORES = {
    "sqlite": {},
    "sqlite-full": {"serve": ["--sync", "full"]},
    "pg": {"pg": {}},
    "pg-async": {"pg": {"synchronous_commit": "off"}},
}


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_healthy(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("kivo-api exited at start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("kivo-api did not answer /healthz")


def one(args, store, instances, pgs, tmp, n):
    conf = STORES[store]
    if "pg" in conf:
        key = json.dumps(conf["pg"], sort_keys=True)
        if key not in pgs:
            pgs[key] = pgserver.PgServer(conf["pg"])
        db = pgs[key].create_db(f"bench_{n}")
    else:
        db = os.path.join(tmp, f"bench_{n}.db")
    r = subprocess.run([args.bin, "keys", "create", "--create", "--db", db, "--project", "bench",
                        "--scopes", "private_worker:write,private_worker:read"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    api_key = r.stdout.split()[0]
    procs, urls = [], []
    try:
        for i in range(instances):
            port = free_port()
            p = subprocess.Popen([args.bin, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                                  "--rate-limit", "0", "--quiet", *conf.get("serve", [])],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_healthy(port, p)
            urls += ["--url", f"http://127.0.0.1:{port}"]
        load = os.getloadavg()[0]
        r = subprocess.run([args.bench, *urls, "--key", api_key, "--clients", str(args.clients),
                            "--seconds", str(args.seconds), "--reps", str(args.reps)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"bench_api failed: {r.stdout}{r.stderr}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    reps = [(float(a), float(b)) for a, b in
            re.findall(r"= (\d+) pairs/s .*p99 ([\d.]+) ms", r.stdout)]
    reps.sort()
    med = reps[len(reps) // 2]
    return {"store": store, "instances": instances, "pairs_per_s": med[0], "p99_ms": med[1],
            "reps": reps, "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/kivo-api")
    ap.add_argument("--bench", default="build/bench/bench_api")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--stores", default="sqlite,sqlite-full,pg,pg-async")
    ap.add_argument("--instances", default="1,2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    stores = args.stores.split(",")
    for s in stores:
        if s not in STORES:
            ap.error(f"unknown store {s} ({', '.join(STORES)})")
    tmp = tempfile.mkdtemp(prefix="kivo-bench-pg-")
    pgs, rows = {}, []
    try:
        print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()}, {args.clients} clients, "
              f"{args.reps} x {args.seconds} s per configuration (median repetition)", flush=True)
        n = 0
        for s in stores:
            for inst in [int(x) for x in args.instances.split(",")]:
                res = one(args, s, inst, pgs, tmp, n)
                n += 1
                rows.append(res)
                print(json.dumps(res) if args.json else
                      f"{s:12} {inst} instance(s): {res['pairs_per_s']:7.0f} pairs/s, p99 "
                      f"{res['p99_ms']:7.2f} ms (load {res['load_before']} -> "
                      f"{res['load_after']})", flush=True)
    finally:
        for p in pgs.values():
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.json:
        print("\n| store | instances | pairs/s | p99 ms |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['store']} | {r['instances']} | {r['pairs_per_s']:.0f} | "
                  f"{r['p99_ms']:.2f} |")


if __name__ == "__main__":
    main()
