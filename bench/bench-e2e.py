#!/usr/bin/env python3
"""bench-e2e.py - end to end: kivo-worker batch reviews a generated corpus and, for every run,
creates the private-worker run and posts its completed event to a real kivo-api on loopback.

Prints runs per second for the whole job and for its sending part, and the CPU each side used
(user + system seconds, and as a share of the wall time of the job: 100% = one core busy), so you
can see which side limits the throughput. The server's figures come from /proc/PID/stat; the
worker's from its rusage. Peak RSS of both is printed too.

    scripts/build.sh && bench/bench-e2e.py                  # 2,000 runs
    bench/bench-e2e.py --runs 10000 --concurrency 64 --sync full

Every run starts from an empty database and an empty outbox in a temporary folder (removed
afterwards unless --keep). It fails if the server does not end with exactly --runs completed runs.
"""
import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu(pid):
    """user+system seconds and peak RSS (KiB) of a live process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
    return cpu, rss


def count_completed(base, key):
    n, cursor = 0, None
    while True:
        q = "limit=200&status=completed" + ("&cursor=" + cursor if cursor else "")
        req = urllib.request.Request(base + "/v1/private-worker/review-runs?" + q,
                                     headers={"Authorization": "Bearer " + key})
        page = json.load(urllib.request.urlopen(req))
        n += len(page["runs"])
        cursor = page.get("next_cursor")
        if not cursor:
            return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2000, help="records in the corpus (default 2000)")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="worker's requests in flight (default: the worker's own default)")
    ap.add_argument("--threads", type=int, default=0, help="worker review threads (default all)")
    ap.add_argument("--sync", choices=("normal", "full"), default="normal",
                    help="the server's SQLite synchronous mode (default normal)")
    ap.add_argument("--build", default=os.environ.get("KIVO_BUILD_DIR", os.path.join(ROOT, "build")))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()

    worker = os.path.join(a.build, "kivo-worker")
    api = os.path.join(a.build, "kivo-api")
    for b in (worker, api):
        if not os.access(b, os.X_OK):
            sys.exit("bench-e2e: %s is not built (run scripts/build.sh)" % b)
    tmp = tempfile.mkdtemp(prefix="kivo-e2e.")
    server = None
    try:
        db = os.path.join(tmp, "kivo.db")
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        log = open(os.path.join(tmp, "api.log"), "w")
        # No rate limit: the bench measures capacity, not the default per-token policy.
        server = subprocess.Popen([api, "serve", "--listen", "127.0.0.1:%d" % port, "--db", db,
                                   "--quiet", "--rate-limit", "0", "--sync", a.sync],
                                  stdout=log, stderr=log)
        for _ in range(400):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit("bench-e2e: kivo-api exited at start (see %s/api.log)" % tmp)
                time.sleep(0.025)
        key = subprocess.run([api, "keys", "create", "--create", "--db", db, "--project", "bench", "--scopes",
                              "private_worker:write,private_worker:read"], check=True,
                             capture_output=True, text=True).stdout.splitlines()[0].strip()
        keyfile = os.path.join(tmp, "bench.key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, key.encode())
        os.close(fd)

        job = os.path.join(tmp, "job")
        os.makedirs(job)
        subprocess.run([os.path.join(ROOT, "scripts", "gen-corpus"), "--records", str(a.runs),
                        "--seed", "7", "--out", os.path.join(job, "corpus.jsonl"), "--quiet"],
                       check=True)
        spec = os.path.join(job, "job-spec.json")
        with open(spec, "w") as f:
            json.dump({"schema_version": "kivo_worker_job_spec.v1",
                       "workflow_id": "support_answer_review",
                       "workflow_name": "Support answer review", "intended_use": "customer_facing",
                       "strictness": "strict", "policy_version": "standard-support-v1",
                       "worker_id": "worker_bench_001", "inputs": ["corpus.jsonl"],
                       "report_store": {"path": "./out", "label": "Bench report store"}}, f)
        cmd = [worker, "batch", "--job-spec-file", spec, "--kivo-api-base-url", base,
               "--api-key-file", keyfile, "--json"]
        if a.concurrency:
            cmd += ["--concurrency", str(a.concurrency)]
        if a.threads:
            cmd += ["--threads", str(a.threads)]

        s_cpu0, _ = proc_cpu(server.pid)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        events = os.path.join(job, "out", "events.jsonl")
        out_f, err_f = open(os.path.join(tmp, "w.out"), "w+"), open(os.path.join(tmp, "w.err"), "w+")
        t0 = time.monotonic()
        w = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
        # The review ends when events.jsonl appears (renamed into place); the sending follows.
        # Sampling the worker's CPU then splits its time between the two phases.
        w_review_cpu, t_review = None, None
        while w.poll() is None:
            if w_review_cpu is None and os.path.exists(events):
                try:
                    w_review_cpu, _ = proc_cpu(w.pid)
                    t_review = time.monotonic() - t0
                    s_cpu_mid, _ = proc_cpu(server.pid)
                except OSError:
                    pass
            time.sleep(0.002)
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        s_cpu1, s_rss = proc_cpu(server.pid)
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read(), err_f.read()
        if w.returncode != 0:
            sys.exit("bench-e2e: worker exit %d: %s" % (w.returncode, stderr.strip()))
        if w_review_cpu is None:
            sys.exit("bench-e2e: the worker ended before its review phase could be sampled")
        summary = json.loads(stdout)
        m = re.search(r"(\d+) events: (\d+) sent.*?in ([0-9.]+) s", stderr)
        send_s = float(m.group(3)) if m else float("nan")
        done = count_completed(base, key)
        if done != a.runs:
            sys.exit("bench-e2e: %d completed runs on the server, want %d" % (done, a.runs))
        w_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        s_cpu = s_cpu1 - s_cpu0
        print("bench-e2e: %d runs, %d CPUs, load %.2f, worker threads %s, concurrency %s, sync %s"
              % (a.runs, os.cpu_count(), os.getloadavg()[0], a.threads or "all",
                 a.concurrency or "default", a.sync))
        print("  end to end      %8.2f s  %9.0f runs/s  (review %.2f s, send %.2f s)"
              % (wall, a.runs / wall, summary["seconds"], send_s))
        print("  sending only    %8.2f s  %9.0f runs/s  (create + completed event = 2 requests "
              "a run)" % (send_s, a.runs / send_s))
        send_wall = wall - t_review
        w_send = w_cpu - w_review_cpu
        s_send = s_cpu1 - s_cpu_mid
        print("  worker CPU      %8.2f s  %8.0f%% of wall  peak RSS %6.1f MiB"
              % (w_cpu, 100 * w_cpu / wall, ru1.ru_maxrss / 1024))
        print("  kivo-api CPU    %8.2f s  %8.0f%% of wall  peak RSS %6.1f MiB"
              % (s_cpu, 100 * s_cpu / wall, s_rss / 1024))
        print("  while sending (%.2f s): worker %.2f s CPU (%.0f%%), kivo-api %.2f s CPU (%.0f%%); "
              "CPU per run: worker %.0f us, kivo-api %.0f us"
              % (send_wall, w_send, 100 * w_send / send_wall, s_send, 100 * s_send / send_wall,
                 1e6 * w_send / a.runs, 1e6 * s_send / a.runs))
        print("  server holds %d completed runs, one per record" % done)
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        if a.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
