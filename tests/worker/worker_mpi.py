#!/usr/bin/env python3
"""kivo-worker-mpi under a real `mpirun --oversubscribe -n 4` (issue 17).

    worker_mpi.py --worker build/kivo-worker --root . CASE

kivo-worker-mpi sits beside kivo-worker. Rank i reviews shard i/4 into DIR/ranks/rank-0000i,
rank 0 merges: DIR must hold the bytes of one kivo-worker batch (worker_shard.same_store). A rank
killed midway makes mpirun fail; the same command again resumes the shards and gives the same
store. With a real kivo-api, each rank sends its own runs and the server sees each run once.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import worker_shard as ws  # noqa: E402
from kivo_testlib import TempDir, case_main, check  # noqa: E402

WORKER = ROOT = MPI_WORKER = None
RANKS = 4


def mpi_env(extra=None):
    env = dict(os.environ)
    for k in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "KIVO_SHARD", "KIVO_OUT"):
        env.pop(k, None)
    if os.getuid() == 0:   # CI containers run as root; Open MPI refuses that unless told
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    # One machine, no network fabric: shared memory and loopback only, quietly.
    env.setdefault("OMPI_MCA_btl", "self,vader,tcp")
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    env.setdefault("OMPI_MCA_btl_tcp_if_include", "lo")
    env.setdefault("OMPI_MCA_oob_tcp_if_include", "lo")
    env.setdefault("OMPI_MCA_pml", "ob1")
    # Open MPI keeps its own allocations until exit: under LeakSanitizer (the CI's ASan pass) they
    # would be reported as the worker's leaks. Everything else of ASan/UBSan stays on.
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
    env.update(extra or {})
    return env


def mpirun(args, kill_rank=None, kill_at=None, env=None, timeout=600):
    """mpirun -n 4 kivo-worker-mpi ARGS; kill_rank's process gets KIVO_WORKER_TEST_KILL."""
    cmd = ["mpirun", "--oversubscribe", "-n", str(RANKS)]
    if kill_rank is None:
        cmd += [MPI_WORKER] + args
    else:
        cmd += ["sh", "-c", 'if [ "$OMPI_COMM_WORLD_RANK" = %d ]; then '
                'KIVO_WORKER_TEST_KILL=%s; export KIVO_WORKER_TEST_KILL; fi; exec "$0" "$@"'
                % (kill_rank, kill_at), MPI_WORKER] + args
    p = subprocess.run(cmd, capture_output=True, env=mpi_env(env), timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check_ranks(out):
    for r in range(RANKS):
        info = json.load(open(os.path.join(out, "ranks", "rank-%05d" % r, "shard.json")))
        check(info["shard"] == r and info["shards"] == RANKS, "rank %d: shard.json %r" % (r, info))


def case_ranks():
    """mpirun -n 4 over the generated corpus (its large file split across ranks) and over the
    example: the store of one process."""
    with TempDir() as tmp:
        for name, spec, want in (("corpus", ws.make_corpus(tmp), 3),
                                 ("example", ws.example_spec(), 0)):
            one = os.path.join(tmp, name + "-one")
            rc, err = ws.batch(spec, one, "--threads", "1")
            check(rc == want, "%s: single run exit %d: %s" % (name, rc, err))
            out = os.path.join(tmp, name + "-mpi")
            rc, _, err = mpirun(["batch", "--job-spec-file", spec, "--out", out, "--threads",
                                 "1"])
            check(rc == want, "%s: mpirun exit %d, want %d: %s" % (name, rc, want, err))
            check("%d ranks:" % RANKS in err, "%s: no closing line from rank 0: %s" % (name, err))
            check_ranks(out)
            ws.same_store(one, out, name + " under mpirun")
        # --html none, no label, no run id in two ranks: rank 0 merges by copying ranges and
        # moves its own index and parts into the merged store (4K parts: many cuts).
        os.mkdir(os.path.join(tmp, "plain"))
        spec = ws.make_corpus(os.path.join(tmp, "plain"), dups=False, label=False)
        extra = ["--html", "none", "--part-size", "4K", "--threads", "1"]
        one = os.path.join(tmp, "plain-one")
        rc, err = ws.batch(spec, one, *extra)
        check(rc == 3, "plain: single run exit %d: %s" % (rc, err))
        out = os.path.join(tmp, "plain-mpi")
        rc, _, err = mpirun(["batch", "--job-spec-file", spec, "--out", out] + extra,
                            env={"KIVO_WORKER_TEST_MERGE": "say"})
        check(rc == 3 and "copy by ranges" in err, "plain: mpirun exit %d: %s" % (rc, err))
        ws.same_store(one, out, "plain under mpirun (copy by ranges)")
        check(not os.path.exists(os.path.join(out, "ranks", "rank-00000", "reports", "index")),
              "rank 0's index was copied, not moved")
        # The same command again: every rank starts over (finished), rank 0's moved store too.
        rc, _, err = mpirun(["batch", "--job-spec-file", spec, "--out", out] + extra)
        check(rc == 3, "plain: mpirun again exit %d: %s" % (rc, err))
        ws.same_store(one, out, "plain under mpirun, run again")
        # Usage that makes no sense per rank is refused by every rank: mpirun fails.
        rc, _, err = mpirun(["batch", "--job-spec-file", ws.example_spec(), "--out",
                             os.path.join(tmp, "bad"), "--shard", "0/2"])
        check(rc != 0 and "each rank is a shard" in err, "--shard under mpirun: %d %s" % (rc, err))


def case_rank_dies():
    """Rank 2 killed (SIGKILL) after its 150th stored report: mpirun fails and nothing is merged;
    the same command again resumes every shard (rank 2 from its checkpoint) and gives the store
    of one process."""
    with TempDir() as tmp:
        spec = ws.make_corpus(tmp)
        one = os.path.join(tmp, "one")
        rc, err = ws.batch(spec, one, "--threads", "1")
        check(rc == 3, "single run exit %d: %s" % (rc, err))
        out = os.path.join(tmp, "mpi")
        args = ["batch", "--job-spec-file", spec, "--out", out, "--threads", "1",
                "--chunk-bytes", "16384"]
        env = {"KIVO_WORKER_CHECKPOINT_BYTES": "16384"}
        rc, _, err = mpirun(args, kill_rank=2, kill_at="store:100", env=env)
        check(rc != 0, "mpirun with a killed rank exited 0: %s" % err)
        check(not os.path.exists(os.path.join(out, "summary.json")),
              "a merged summary after a rank died")
        man = json.load(open(os.path.join(out, "ranks", "rank-00002", "manifest.json")))
        check(man["state"] == "running" and "checkpoint" in man,
              "rank 2 left no checkpoint: %r" % man.get("state"))
        rc, _, err = mpirun(args, env=env)
        check(rc == 3, "mpirun again: exit %d: %s" % (rc, err))
        s2 = json.load(open(os.path.join(out, "ranks", "rank-00002", "summary.json")))
        check(s2.get("resumed") is True, "rank 2 did not resume: %r" % s2)
        ws.same_store(one, out, "after a rank died and mpirun ran again")


def case_events_once():
    """Each rank sends its own runs to a real kivo-api (one credential per run): the server holds
    each run of the job once, completed, and the ranks' outboxes are all acknowledged."""
    with TempDir() as tmp:
        spec = ws.example_spec()
        srv, key, sending = ws.api_server(tmp)
        try:
            out = os.path.join(tmp, "mpi")
            args = ["batch", "--job-spec-file", spec, "--out", out, "--threads", "1", *sending]
            rc, _, err = mpirun(args)
            check(rc == 0, "mpirun with sending: exit %d: %s" % (rc, err))
            # Again: every event is already acknowledged; nothing is created twice.
            rc, _, err = mpirun(args)
            check(rc == 0, "mpirun again: exit %d: %s" % (rc, err))
            c = srv.client()
            st, _, body = c.request("GET", "/v1/private-worker/review-runs?limit=100", token=key,
                                    raw=True)
            c.close()
            check(st == 200, "run list: %d" % st)
            runs = json.loads(body)["runs"]
            ids = sorted(r["customer_run_id"] for r in runs)
            events = [json.loads(l) for l in open(os.path.join(out, "events.jsonl"))]
            want = sorted(e["customer_run_id"] for e in events)
            check(ids == want and len(ids) == 30, "server runs %d, want 30 once each" % len(ids))
            check(all(r["status"] == "completed" for r in runs), "a run not completed")
            for r in range(RANKS):
                d = os.path.join(out, "ranks", "rank-%05d" % r)
                evs = [json.loads(l)["event_id"] for l in open(os.path.join(d, "events.jsonl"))]
                last = {}   # outbox.h: the last state line of an event wins
                if evs:
                    for line in open(os.path.join(d, "outbox.state")):
                        f = line.split()
                        if len(f) == 3:
                            last[f[0]] = f[1]
                check(all(last.get(e) == "sent" for e in evs),
                      "rank %d: not every event sent: %r" % (r, {e: last.get(e) for e in evs}))
        finally:
            srv.stop()


def case_rank_nomem():
    """One rank of two runs out of memory while the ranks gather each other's run ids (before
    sending; KIVO_WORKER_TEST_MPI_NOMEM on that rank only, at either allocation): every rank
    fails together, so mpirun ends (within 120 s, not waiting forever for the collective the
    failed rank left) with a non-zero exit and says why."""
    with TempDir() as tmp:
        srv, _, sending = ws.api_server(tmp)
        try:
            for step in (1, 2):
                for bad_rank in (0, 1):
                    out = os.path.join(tmp, "mpi-%d-%d" % (step, bad_rank))
                    cmd = ["mpirun", "--oversubscribe", "-n", "2", "sh", "-c",
                           'if [ "$OMPI_COMM_WORLD_RANK" = %d ]; then '
                           'KIVO_WORKER_TEST_MPI_NOMEM=%d; export KIVO_WORKER_TEST_MPI_NOMEM; '
                           'fi; exec "$0" "$@"' % (bad_rank, step), MPI_WORKER,
                           "batch", "--job-spec-file", ws.example_spec(), "--out", out,
                           "--threads", "1", *sending]
                    # Its own process group: a hung mpirun is killed with its ranks.
                    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=mpi_env(), start_new_session=True)
                    try:
                        _, err = p.communicate(timeout=120)
                    except subprocess.TimeoutExpired:
                        os.killpg(p.pid, signal.SIGKILL)
                        p.communicate()
                        check(False, "step %d, rank %d out of memory: mpirun still running "
                              "after 120 s (the other rank waits forever)" % (step, bad_rank))
                    err = err.decode("utf-8", "replace")
                    check(p.returncode != 0, "step %d, rank %d out of memory: mpirun exit 0: %s"
                          % (step, bad_rank, err))
                    check("rank %d: out of memory while gathering the ranks' run ids" % bad_rank
                          in err, "step %d: no message from rank %d: %s" % (step, bad_rank, err))
                    check("a rank could not gather the ranks' run ids" in err,
                          "step %d, rank %d: no message from the other ranks: %s"
                          % (step, bad_rank, err))
        finally:
            srv.stop()


def outbox_states(d):
    """{event_id: state} of a rank's outbox (outbox.h: the last state line of an event wins)."""
    last = {}
    if os.path.exists(os.path.join(d, "outbox.state")):
        for line in open(os.path.join(d, "outbox.state")):
            f = line.split()
            if len(f) == 3:
                last[f[0]] = f[1]
    return last


def all_runs(srv, key):
    """Every run the server lists (pages of 200, following next_cursor)."""
    runs, cursor = [], None
    c = srv.client()
    try:
        while True:
            path = "/v1/private-worker/review-runs?limit=200" + ("&cursor=" + cursor
                                                               if cursor else "")
            st, _, body = c.request("GET", path, token=key, raw=True)
            check(st == 200, "run list: %d %s" % (st, body[:200]))
            page = json.loads(body)
            runs += page["runs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return runs
    finally:
        c.close()


def case_events_dups():
    """Run ids held by two ranks (duplicates across shards in the generated corpus): one process
    sends the first record's run and rejects the later ones; under mpirun -n 4 each such run is
    sent once, by the rank of its first record, and the later ranks note those events
    "elsewhere" and send nothing for them. The server holds exactly the merged store's runs, each
    created once and completed with the merged store's event (nothing dead-lettered, no
    conflict); a second mpirun sends nothing more."""
    with TempDir() as tmp:
        spec = ws.make_corpus(tmp)
        one = os.path.join(tmp, "one")
        rc, err = ws.batch(spec, one, "--threads", "1")
        check(rc == 3, "single run exit %d: %s" % (rc, err))
        srv, key, sending = ws.api_server(tmp)
        try:
            out = os.path.join(tmp, "mpi")
            args = ["batch", "--job-spec-file", spec, "--out", out, "--threads", "1", *sending]
            rc, _, err = mpirun(args)
            check(rc == 3, "mpirun with sending: exit %d, want 3 (rejects): %s" % (rc, err))
            ws.same_store(one, out, "corpus under mpirun with sending")
            merged = [json.loads(l) for l in open(os.path.join(out, "events.jsonl"))]
            mine = {e["customer_run_id"]: e for e in merged}
            # The ranks' stored runs that an earlier rank also holds: the duplicates across ranks.
            first_rank, cross = {}, set()
            for r in range(RANKS):
                d = os.path.join(out, "ranks", "rank-%05d" % r)
                for l in open(os.path.join(d, "events.jsonl")):
                    crid = json.loads(l)["customer_run_id"]
                    if crid in first_rank:
                        cross.add(crid)
                    first_rank.setdefault(crid, r)
            check(len(cross) >= 2, "the corpus has no run id held by two ranks: %r" % cross)
            for r in range(RANKS):
                d = os.path.join(out, "ranks", "rank-%05d" % r)
                st = outbox_states(d)
                evs = [json.loads(l) for l in open(os.path.join(d, "events.jsonl"))]
                for e in evs:
                    want = "sent" if first_rank[e["customer_run_id"]] == r else "elsewhere"
                    check(e["customer_run_id"] in mine, "%s is not in the merged store" %
                          e["customer_run_id"])
                    check(st.get(e["event_id"]) == want,
                          "rank %d: event of %s is %r, want %s" % (r, e["customer_run_id"],
                                                                  st.get(e["event_id"]), want))
                check(not os.path.exists(os.path.join(d, "dead-letter.jsonl")),
                      "rank %d dead-lettered events" % r)
            runs = all_runs(srv, key)
            ids = sorted(r["customer_run_id"] for r in runs)
            check(ids == sorted(mine), "server runs %d, the merged store's %d" % (len(ids),
                                                                                 len(mine)))
            check(all(r["status"] == "completed" for r in runs), "a run not completed")
            # Each holds the merged store's result (the first record's), not a later rank's.
            for r in runs:
                e = mine[r["customer_run_id"]]
                check(r.get("gate_verdict") == e["gate_verdict"] and
                      r.get("output_hash", e["output_hash"]) == e["output_hash"],
                      "run %s: server %r, merged store %r" % (r["customer_run_id"],
                                                              r.get("gate_verdict"),
                                                              e["gate_verdict"]))
            # Again: nothing more is sent, nothing refused.
            rc, _, err = mpirun(args)
            check(rc == 3, "mpirun again: exit %d: %s" % (rc, err))
            check(sorted(r["customer_run_id"] for r in all_runs(srv, key)) == ids,
                  "the second mpirun changed the server's runs")
        finally:
            srv.stop()


def case_slurm():
    """scripts/scale-out/kivo-mpi.sbatch as Slurm would run it with --ntasks=4 (bash with
    SLURM_NTASKS and SLURM_CPUS_PER_TASK set; MPIRUN_ARGS=--oversubscribe on this one machine):
    the store of one process."""
    script = os.path.join(ROOT, "scripts", "scale-out", "kivo-mpi.sbatch")
    with TempDir() as tmp:
        spec = ws.make_corpus(tmp)
        one = os.path.join(tmp, "one")
        rc, err = ws.batch(spec, one, "--threads", "1")
        check(rc == 3, "single run exit %d: %s" % (rc, err))
        out = os.path.join(tmp, "all")
        env = {k: v for k, v in mpi_env().items() if not k.startswith("SLURM_")}
        env.update(SLURM_NTASKS=str(RANKS), SLURM_CPUS_PER_TASK="1",
                   MPIRUN_ARGS="--oversubscribe", KIVO_WORKER_MPI=MPI_WORKER)
        p = subprocess.run(["bash", script, spec, out], env=env, capture_output=True,
                           timeout=600)
        check(p.returncode == 3, "kivo-mpi.sbatch: exit %d: %s" % (p.returncode, p.stderr))
        check_ranks(out)
        ws.same_store(one, out, "kivo-mpi.sbatch with 4 tasks")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def configure(worker, root):
    global WORKER, ROOT, MPI_WORKER
    WORKER, ROOT = worker, root
    MPI_WORKER = os.path.join(os.path.dirname(worker), "kivo-worker-mpi")
    ws.configure(worker, root)
    check(shutil.which("mpirun") is not None, "mpirun not found")


def main():
    return case_main(CASES, configure)


if __name__ == "__main__":
    sys.exit(main())
