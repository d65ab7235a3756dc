#!/usr/bin/env python3
"""bench-store.py - issue 14's targets for the report store v2, measured and judged.

    bench/bench-store.py [--build DIR] [--cache DIR] [--size 256M] [--seed 42] [--runs 2]
                         [--big 4G] [--show-runs 1000000] [--only ratio,threads,files,rss,show]

ratio    the 256 MiB generated corpus (scripts/gen-corpus --bytes SIZE --seed SEED), 1 thread:
         the default `--html flagged` writing to ext4 (the cache folder, /tmp by default) against
         `--html none` writing to tmpfs (/dev/shm); target: the first at >= 90% of the second's
         throughput. Runs alternate (A B A B ...); medians.
threads  the same default run at 2 threads against 1; target >= 1.8x.
files    files and folders in the out folder besides reports/part-* and pages/*; target <= 20.
rss      peak RSS of a default 2-thread batch over a corpus of --big bytes (generated into the
         cache folder and deleted afterwards); target <= 256 MiB.
show     `kivo-worker show` of the first, middle and last run of a --show-runs-run batch (tiny
         records, `--html none`), 21 times each, against `kivo-worker --version` (process start)
         at the same moment, and callgrind's instructions for one show; target < 50 ms.

Every timed run goes through /usr/bin/time: wall, user and system seconds, peak RSS. The load
average is printed beside each figure, because on a shared machine wall time is mostly waiting
for a CPU: a wall-time target is judged only when the 1-minute load average stayed below the
number of CPUs during the runs, else it is reported as "not judged (load)", with the CPU-time
(user + sys) figures beside it. Use a Release build (--build, default build-rel, made with
cmake -DCMAKE_BUILD_TYPE=Release).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPUS = os.cpu_count() or 1


def load():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def size_bytes(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * mult[s[-1].upper()] if s[-1].upper() in mult else int(s)


def timed(argv, env=None, stdout=subprocess.DEVNULL):
    """Runs argv under /usr/bin/time; returns (rc, wall, user, sys, peak RSS bytes, load before,
    load after)."""
    fd, tf = tempfile.mkstemp(prefix="kivo-bench-time-")
    os.close(fd)
    l0 = load()
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf] + argv, env=env,
                       stdout=stdout, stderr=subprocess.PIPE)
    l1 = load()
    with open(tf) as f:
        wall, user, sys_, rss = f.read().split()[-4:]
    os.unlink(tf)
    if p.returncode not in (0, 3):
        sys.exit("bench-store: %s exited %d: %s" % (" ".join(argv[:3]), p.returncode,
                                                     p.stderr.decode(errors="replace")[-400:]))
    return {"wall": float(wall), "user": float(user), "sys": float(sys_),
            "rss": int(rss) * 1024, "load": max(l0, l1)}


def spec_for(cache, corpus, name):
    spec = os.path.join(cache, name)
    with open(spec, "w") as f:
        json.dump({"schema_version": "kivo_worker_job_spec.v1",
                   "workflow_id": "support_answer_review", "intended_use": "customer_facing",
                   "strictness": "strict", "policy_version": "standard-support-v1",
                   "worker_id": "worker_bench_001", "inputs": [os.path.abspath(corpus)],
                   "fields": {"customer_run_id": "/customer_run_id", "output": "/output",
                              "sources": "/sources", "source_id": "/id",
                              "source_title": "/title", "source_text": "/text"},
                   "report_store": {"path": "./kivo-reports", "label": "bench"}}, f)
    return spec


def corpus_of(cache, size, seed):
    gen = subprocess.run(["sha256sum", os.path.join(ROOT, "scripts", "gen-corpus")],
                         capture_output=True, text=True).stdout[:8]
    path = os.path.join(cache, "corpus-s%s-%s-%s.jsonl" % (seed, size, gen))
    if not os.path.exists(path):
        print("generating %s" % path, flush=True)
        subprocess.run([os.path.join(ROOT, "scripts", "gen-corpus"), "--bytes", size, "--seed",
                        str(seed), "--out", path + ".tmp"], check=True)
        os.rename(path + ".tmp", path)
    return path


def batch(worker, spec, out, threads, html, env=None):
    shutil.rmtree(out, ignore_errors=True)
    r = timed([worker, "batch", "--job-spec-file", spec, "--out", out, "--threads", str(threads),
               "--html", html, "--quiet"], env=env)
    return r


def show(r, what, mb):
    cpu = r["user"] + r["sys"]
    print("  %-34s wall %7.2f s (%6.1f MB/s)  user %7.2f s  sys %6.2f s  (%6.1f MB/s of CPU)  "
          "peak RSS %6.1f MiB  load %.1f" % (what, r["wall"], mb / r["wall"], r["user"],
                                              r["sys"], mb / cpu, r["rss"] / 2**20, r["load"]),
          flush=True)


def med(rs, key):
    return statistics.median(x[key] for x in rs)


def verdict(ok, judged, why=""):
    if not judged:
        return "NOT JUDGED (%s)" % why
    return "MET" if ok else "NOT MET"


def bench_ratio_threads(a, worker, what):
    corpus = corpus_of(a.cache, a.size, a.seed)
    spec = spec_for(a.cache, corpus, "spec-ratio.json")
    mb = os.path.getsize(corpus) / 1e6
    subprocess.run(["cat", corpus], stdout=subprocess.DEVNULL)   # into the page cache
    shm = tempfile.mkdtemp(prefix="kivo-bench-", dir="/dev/shm")
    ext4 = os.path.join(a.cache, "out-flagged")
    print("corpus %s: %.1f MB, %d records" % (corpus, mb, sum(1 for _ in open(corpus, "rb"))))
    fl1, none1, fl2 = [], [], []
    try:
        for i in range(a.runs):
            r = batch(worker, spec, ext4, 1, "flagged")
            show(r, "1 thread, flagged, ext4 #%d" % (i + 1), mb)
            fl1.append(r)
            if "ratio" in what:
                r = batch(worker, spec, os.path.join(shm, "out"), 1, "none")
                show(r, "1 thread, none, tmpfs #%d" % (i + 1), mb)
                none1.append(r)
            if "threads" in what:
                r = batch(worker, spec, ext4 + "-t2", 2, "flagged")
                show(r, "2 threads, flagged, ext4 #%d" % (i + 1), mb)
                fl2.append(r)
        with open(os.path.join(ext4, "summary.json")) as f:
            rs = json.load(f)["report_store"]
        print("  out folder: %d parts, %d pages" % (rs["parts"], rs["pages"]))
        if "files" in what:
            n = 0
            for d, dirs, files in os.walk(ext4):
                rel = os.path.relpath(d, ext4)
                for name in dirs + files:
                    p = os.path.normpath(os.path.join(rel, name))
                    if not (p.startswith("reports/part-") or p.startswith("pages/")):
                        n += 1
            print("TARGET files besides parts and pages <= 20: %d -> %s" % (n, verdict(n <= 20, 1)))
        if "ratio" in what:
            wall = med(none1, "wall") / med(fl1, "wall")
            cpu = (med(none1, "user") + med(none1, "sys")) / (med(fl1, "user") + med(fl1, "sys"))
            lmax = max(r["load"] for r in fl1 + none1)
            print("TARGET 1 thread flagged/ext4 >= 90%% of none/tmpfs: wall %.1f%%, CPU time "
                  "%.1f%% (max load %.1f) -> wall %s; CPU time %s" %
                  (100 * wall, 100 * cpu, lmax, verdict(wall >= 0.9, lmax < CPUS - 0.5, "load"),
                   verdict(cpu >= 0.9, 1)))
        if "threads" in what:
            sp = med(fl1, "wall") / med(fl2, "wall")
            eff = (med(fl1, "user") + med(fl1, "sys")) / (med(fl2, "user") + med(fl2, "sys"))
            lmax = max(r["load"] for r in fl1 + fl2)
            print("TARGET 2 threads >= 1.8x of 1: wall %.2fx (max load %.1f; CPU time at 2 "
                  "threads is %.2f of 1 thread's) -> %s" %
                  (sp, lmax, 1 / eff, verdict(sp >= 1.8, lmax < CPUS - 1.5, "load")))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        if not a.keep:
            for d in (ext4, ext4 + "-t2"):
                shutil.rmtree(d, ignore_errors=True)


def bench_rss(a, worker):
    corpus = corpus_of(a.cache, a.big, a.seed)
    spec = spec_for(a.cache, corpus, "spec-big.json")
    out = os.path.join(a.cache, "out-big")
    mb = os.path.getsize(corpus) / 1e6
    try:
        r = batch(worker, spec, out, 2, "flagged")
        show(r, "%s corpus, 2 threads, flagged" % a.big, mb)
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        print("  %d records reviewed, %d parts, %d pages" %
              (s["records_reviewed"], s["report_store"]["parts"], s["report_store"]["pages"]))
        print("TARGET peak RSS on %s <= 256 MiB: %.1f MiB -> %s" %
              (a.big, r["rss"] / 2**20, verdict(r["rss"] <= 256 << 20, 1)))
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if not a.keep:
            os.unlink(corpus)


def bench_show(a, worker):
    n = a.show_runs
    corpus = os.path.join(a.cache, "tiny-%d.jsonl" % n)
    if not os.path.exists(corpus):
        with open(corpus + ".tmp", "w") as f:
            for i in range(n):
                f.write('{"customer_run_id":"run-%07d","output":"The plan costs $%d a month.",'
                        '"sources":[{"id":"s","title":"t","text":"The plan costs $%d a month."}]}\n'
                        % (i, i % 50, i % 50))
        os.rename(corpus + ".tmp", corpus)
    spec = spec_for(a.cache, corpus, "spec-tiny.json")
    out = os.path.join(a.cache, "out-tiny")
    if not os.path.exists(os.path.join(out, "reports", "index")) or a.fresh_show:
        r = batch(worker, spec, out, 2, "none")
        show(r, "%d tiny records, 2 threads, none" % n, os.path.getsize(corpus) / 1e6)
    print("  index %.1f MB" % (os.path.getsize(os.path.join(out, "reports", "index")) / 1e6))
    ids = ["run-%07d" % i for i in (0, n // 2, n - 1)]
    for rid in ids:   # warm: the index's pages in the page cache, as for any repeated lookup
        subprocess.run([worker, "show", "--out", out, rid], stdout=subprocess.DEVNULL, check=True)
    res = {}
    for what, argv in [("show " + rid, [worker, "show", "--out", out, rid]) for rid in ids] + \
            [("--version", [worker, "--version"])]:
        rs = [timed(argv) for _ in range(21)]
        res[what] = rs
        print("  %-22s wall median %5.0f ms (min %3.0f)  user+sys median %4.0f ms  load %.1f" %
              (what, 1000 * med(rs, "wall"), 1000 * min(x["wall"] for x in rs),
               1000 * statistics.median(x["user"] + x["sys"] for x in rs),
               max(x["load"] for x in rs)), flush=True)
    worst = max(med(res["show " + rid], "wall") for rid in ids)
    base = med(res["--version"], "wall")
    lmax = max(x["load"] for rs in res.values() for x in rs)
    ir = None
    if shutil.which("valgrind"):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                                os.path.join(d, "cg"), worker, "show", "--out", out, ids[1]],
                               capture_output=True, text=True)
            for line in p.stderr.splitlines():
                if "Collected" in line:
                    ir = int(line.split()[-1])
        print("  callgrind: show %s = %s instructions" % (ids[1], "{:,}".format(ir) if ir else "?"))
    print("TARGET show < 50 ms on %d runs: wall median %.0f ms (--version alone %.0f ms; max load "
          "%.1f) -> %s" % (n, 1000 * worst, 1000 * base, lmax,
                           verdict(worst < 0.05, lmax < CPUS - 0.5, "load")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-rel"))
    ap.add_argument("--cache", default="/tmp/kivo-bench-store")
    ap.add_argument("--size", default="256M")
    ap.add_argument("--seed", default=42, type=int)
    ap.add_argument("--runs", default=2, type=int)
    ap.add_argument("--big", default="4G")
    ap.add_argument("--show-runs", default=1000000, type=int)
    ap.add_argument("--only", default="ratio,threads,files,rss,show")
    ap.add_argument("--keep", action="store_true", help="keep outputs and the big corpus")
    ap.add_argument("--fresh-show", action="store_true", help="rebuild the show store")
    a = ap.parse_args()
    worker = os.path.join(a.build, "kivo-worker")
    if not os.access(worker, os.X_OK):
        sys.exit("bench-store: %s is missing (cmake -S . -B build-rel "
                 "-DCMAKE_BUILD_TYPE=Release && cmake --build build-rel)" % worker)
    os.makedirs(a.cache, exist_ok=True)
    what = set(a.only.split(","))
    ver = subprocess.run([worker, "--version"], capture_output=True, text=True).stdout.strip()
    print("%s; %d CPUs; load average %.1f; cache %s" % (ver, CPUS, load(), a.cache), flush=True)
    if what & {"ratio", "threads", "files"}:
        bench_ratio_threads(a, worker, what)
    if "rss" in what:
        bench_rss(a, worker)
    if "show" in what:
        bench_show(a, worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
