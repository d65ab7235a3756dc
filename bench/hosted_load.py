#!/usr/bin/env python3
"""hosted_load.py - issue 12's "one tenant starves the others" packets against a real kivo-api.

Scenarios (each starts its own server on a temporary database unless --url/--key are given):

  starve   N packets of ~2.9 MB from a 20-word vocabulary posted at once by one key, while another
           key polls /healthz and makes private-worker creates every 0.5 s. Prints each review's
           time and answer, and /healthz's and the creates' latency (p50, p99, max) while the
           packets run.
  uploads  N connections announce a 16 MiB hosted body and send all of it but the last byte, then
           hold. Prints the server's RSS before and with them open (VmRSS, VmHWM from /proc), and
           how many were refused from the headers.
  big      one ~14.8 MB packet (a long answer of short sentences, as a bulk export would send):
           status, time, response bytes, claims, and the database's size after.
  list     GET /v1/review-runs?limit=50 ten times: the median time and the answer's size. With
           --db, on a database kept from an earlier run (e.g. `big --db F` on a binary that
           stores the big run).

    bench/hosted_load.py --bin build/kivo-api starve [--packets 8] [--serve-args "..."]
    bench/hosted_load.py --bin build/kivo-api uploads [--uploads 100]
    bench/hosted_load.py --bin build/kivo-api big
    bench/hosted_load.py --bin OLD/kivo-api big --db /tmp/big.db     # keep the database
    cp /tmp/big.db* /tmp/new/ && bench/hosted_load.py --bin build/kivo-api list --db /tmp/new/big.db

Packets are seeded (--seed) and identical for the same arguments. A binary from before issue 12
(no --create) gets its database from `keys create`.
"""
import argparse
import http.client
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

VOCAB20 = ("hub lumen price ships order refund store member days costs home battery light "
           "screen cable power plan month return policy").split()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, extra, db=None):
        self.tmp = tempfile.mkdtemp(prefix="kivo-hosted-")
        self.db = db or os.path.join(self.tmp, "hosted.db")
        helptext = subprocess.run([binary, "serve", "--help"], capture_output=True,
                                  text=True).stdout
        create = ["--create"] if "--create" in helptext else []
        self.keys = []
        for project in ("tenant_a", "tenant_b"):
            r = subprocess.run([binary, "keys", "create", *create, "--db", self.db, "--project",
                                project, "--scopes", "review_runs:write,review_runs:read,"
                                "private_worker:write,private_worker:read"],
                               capture_output=True, text=True, check=True)
            self.keys.append(r.stdout.splitlines()[0])
        self.port = free_port()
        log = open(os.path.join(self.tmp, "server.log"), "wb")
        self.proc = subprocess.Popen([binary, "serve", "--db", self.db, "--listen",
                                      f"127.0.0.1:{self.port}", "--quiet", "--rate-limit", "0",
                                      *extra], stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(400):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        sys.exit("hosted_load: the server did not start")

    def rss(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) // 1024
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(port, key, path, body, timeout=600):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", path, body=data, headers={"Authorization": "Bearer " + key,
                                                    "Content-Type": "application/json"})
        r = c.getresponse()
        got = r.read()
        c.close()
        return r.status, got, time.monotonic() - t0
    except OSError as e:
        return None, str(e).encode(), time.monotonic() - t0


def sentence(rng, words, n):
    w = [rng.choice(words) for _ in range(n)]
    return " ".join(w).capitalize() + "."


def vocab_packet(rng, cid, size, share):
    """~size bytes: an answer of `share` and one source of the rest, both from the 20 words."""
    def text(n):
        parts, total = [], 0
        while total < n:
            s = sentence(rng, VOCAB20, rng.randint(6, 14))
            parts.append(s)
            total += len(s) + 1
        return " ".join(parts)
    return {"schema_version": "kivo_review_run_create.v1", "customer_run_id": cid,
            "workflow_id": "flood", "output": text(int(size * share)),
            "sources": [{"source_id": "kb", "text": text(size - int(size * share))}]}


def big_packet(rng, size):
    words = [f"w{i}" for i in range(2000)] + VOCAB20
    weights = [1.0 / (i + 1) for i in range(len(words))]
    parts, total = [], 0
    while total < size - 300000:
        n = rng.randint(5, 12)
        s = " ".join(rng.choices(words, weights, k=n)).capitalize() + f" costs ${rng.randint(1, 999)}."
        parts.append(s)
        total += len(s) + 1
    src, stotal = [], 0
    while stotal < 300000:
        s = " ".join(rng.choices(words, weights, k=10)).capitalize() + "."
        src.append(s)
        stotal += len(s) + 1
    return {"schema_version": "kivo_review_run_create.v1", "customer_run_id": "big",
            "workflow_id": "export", "output": " ".join(parts),
            "sources": [{"source_id": "kb", "text": " ".join(src)}]}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def starve(a, srv):
    rng = random.Random(a.seed)
    packets = [json.dumps(vocab_packet(rng, f"p{i}", a.packet_bytes, a.output_share)).encode()
               for i in range(a.packets)]
    print(f"starve: {a.packets} packets of {len(packets[0]) / 1e6:.2f} MB (20-word vocabulary, "
          f"answer {a.output_share:.0%}), posted at once by one key")
    results = [None] * a.packets
    stop = threading.Event()
    probes = {"healthz": [], "pw_create": []}

    def one(i):
        results[i] = post(srv.port, srv.keys[0], "/v1/review-runs", packets[i])

    def probe():
        n = 0
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                c.request("GET", "/healthz")
                st = c.getresponse().status
                c.close()
            except OSError:
                st = None
            probes["healthz"].append((st, time.monotonic() - t0))
            body = {"schema_version": "kivo_private_worker_review_run_create.v1",
                    "customer_run_id": f"probe{n}", "workflow_id": "w", "worker_id": "wk",
                    "worker_version": "v1"}
            st, _, took = post(srv.port, srv.keys[1], "/v1/private-worker/review-runs", body, 60)
            probes["pw_create"].append((st, took))
            n += 1
            stop.wait(0.5)

    th = [threading.Thread(target=one, args=(i,)) for i in range(a.packets)]
    pr = threading.Thread(target=probe)
    t0 = time.monotonic()
    pr.start()
    for x in th:
        x.start()
    for x in th:
        x.join()
    wall = time.monotonic() - t0
    stop.set()
    pr.join()
    for i, (st, body, took) in enumerate(results):
        extra = ""
        try:
            j = json.loads(body)
            extra = (f"claims {j.get('claim_count')}" if st in (200, 201)
                     else j.get("error", {}).get("message", ""))
        except ValueError:
            extra = body[:80]
        print(f"  packet {i}: {st} in {took:.1f} s  {extra}")
    print(f"  all {a.packets} done in {wall:.1f} s")
    for name, xs in probes.items():
        lat = [x[1] * 1000 for x in xs if x[0] in (200, 201)]
        bad = [x[0] for x in xs if x[0] not in (200, 201)]
        print(f"  {name} from another tenant: {len(lat)}/{len(xs)} answered; ms p50 "
              f"{pct(lat, 0.5):.1f} p99 {pct(lat, 0.99):.1f} max {max(lat, default=0):.1f}"
              f"{'; failed: ' + str(bad[:5]) if bad else ''}")


def uploads(a, srv):
    size = 16 * 1024 * 1024
    before = srv.rss()
    chunk = b"x" * (1 << 20)
    socks, refused, answered = [], 0, {}
    head = (f"POST /v1/review-runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {srv.keys[0]}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode()
    for i in range(a.uploads):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(head)
        sent = 0
        try:
            while sent < size - 1:
                n = min(len(chunk), size - 1 - sent)
                s.sendall(chunk[:n])
                sent += n
        except OSError:
            pass
        s.setblocking(False)
        try:
            got = s.recv(4096)
            if got:
                answered[i] = got.split(b"\r\n", 1)[0].decode(errors="replace")
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(1)
    for i, s in enumerate(socks):
        try:
            got = s.recv(4096)
            if got and i not in answered:
                answered[i] = got.split(b"\r\n", 1)[0].decode(errors="replace")
        except (BlockingIOError, OSError):
            pass
    during = srv.rss()
    codes = {}
    for line in answered.values():
        codes[line] = codes.get(line, 0) + 1
    st, _, took = post(srv.port, srv.keys[1], "/v1/private-worker/review-runs",
                       {"schema_version": "kivo_private_worker_review_run_create.v1",
                        "customer_run_id": "during_uploads", "workflow_id": "w",
                        "worker_id": "wk", "worker_version": "v1"}, 30)
    print(f"uploads: {a.uploads} connections announcing 16 MiB, all but the last byte sent")
    print(f"  server RSS before {before.get('VmRSS')} MiB; with them open {during.get('VmRSS')} "
          f"MiB (peak {during.get('VmHWM')} MiB)")
    print(f"  answered before the body ended: {len(answered)} {codes}")
    print(f"  a private-worker create meanwhile: {st} in {took * 1000:.1f} ms")
    for s in socks:
        s.close()


def big(a, srv):
    rng = random.Random(a.seed)
    body = json.dumps(big_packet(rng, a.big_bytes)).encode()
    before = srv.rss()
    st, got, took = post(srv.port, srv.keys[0], "/v1/review-runs", body, 3600)
    after = srv.rss()
    msg = ""
    try:
        j = json.loads(got)
        msg = (f"claims {j.get('claim_count')}" if st in (200, 201)
               else j.get("error", {}).get("message", ""))
    except ValueError:
        pass
    con_size = sum(os.path.getsize(srv.db + s) for s in ("", "-wal")
                   if os.path.exists(srv.db + s))
    print(f"big: one packet of {len(body) / 1e6:.1f} MB: {st} in {took:.1f} s, response "
          f"{len(got) / 1e6:.1f} MB, {msg}")
    print(f"  database + WAL after: {con_size / 1e6:.1f} MB; server RSS {before.get('VmRSS')} -> "
          f"{after.get('VmRSS')} MiB (peak {after.get('VmHWM')} MiB)")


def list_runs(a, srv):
    times, size = [], 0
    for _ in range(10):
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=600)
        c.request("GET", "/v1/review-runs?limit=50", headers={"Authorization": "Bearer " +
                                                                srv.keys[0]})
        r = c.getresponse()
        got = r.read()
        c.close()
        times.append(time.monotonic() - t0)
        size = len(got)
    print(f"list: GET /v1/review-runs?limit=50: {r.status}, {size} bytes, median "
          f"{statistics.median(times) * 1000:.1f} ms (min {min(times) * 1000:.1f}, max "
          f"{max(times) * 1000:.1f}) over 10")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=["starve", "uploads", "big", "list"])
    ap.add_argument("--db", help="use (and keep) this database instead of a temporary one")
    ap.add_argument("--bin", default="build/kivo-api")
    ap.add_argument("--serve-args", default="")
    ap.add_argument("--packets", type=int, default=8)
    ap.add_argument("--packet-bytes", type=int, default=2900000)
    ap.add_argument("--output-share", type=float, default=0.01)
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--big-bytes", type=int, default=14800000)
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args()
    srv = Server(a.bin, shlex.split(a.serve_args), a.db)
    try:
        {"starve": starve, "uploads": uploads, "big": big, "list": list_runs}[a.scenario](a, srv)
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
