"""test_load.py - kivo-api under concurrent load, and kill -9 in the middle of it.

Phase 1: 8 keep-alive clients create and complete 2,000 runs; then exactly 2,000 runs are
completed, each with exactly one completed event, through the API and in the database file.
Phase 2: the same load against a fresh database; the server is killed with SIGKILL while
requests are in flight, restarted on the same file, and every acknowledged create and event must
still be there (the event replays to its first answer).
"""
import os
import sqlite3
import threading
import time

import apitest as t
from apitest import PW, check

CLIENTS = 8
RUNS = 2000


def worker(port, key, prefix, n, acked, stop, errors):
    c = t.Client(port)
    i = 0
    try:
        while (n is None or i < n) and not stop.is_set():
            body = t.create_body(f"{prefix}_{threading.get_ident()}_{i}", n_sources=1)
            st, _, run = c.request("POST", PW, body, key)
            if st != 201:
                errors.append(f"create {st} {run}")
                break
            acked.append(("create", run["review_run_id"], None, None, None))
            ev = t.event_body(body, run["review_run_id"], "completed", 1)
            st, _, ans = c.request("POST", f"{PW}/{run['review_run_id']}/events", ev,
                                   run["worker_credential"])
            if st != 202:
                errors.append(f"event {st} {ans}")
                break
            acked.append(("event", run["review_run_id"], run["worker_credential"], ev, ans))
            i += 1
    except OSError as e:      # the server was killed under us
        if not stop.is_set():
            errors.append(f"connection: {e}")
    finally:
        c.close()


def load(srv, key, prefix, per_client=None, stop=None):
    acked, errors = [], []
    stop = stop or threading.Event()
    threads = [threading.Thread(target=worker,
                                args=(srv.port, key, prefix, per_client, acked, stop, errors))
               for _ in range(CLIENTS)]
    for th in threads:
        th.start()
    return threads, acked, errors, stop


def phase_complete(d):
    db = os.path.join(d, "load.db")
    key = t.make_key(db)
    srv = t.Server(db, "--rate-limit", "0", "--quiet").start()
    t0 = time.time()
    threads, acked, errors, _ = load(srv, key, "load", RUNS // CLIENTS)
    for th in threads:
        th.join()
    secs = time.time() - t0
    print(f"{RUNS} create+completed pairs from {CLIENTS} clients in {secs:.2f} s "
          f"({RUNS / secs:.0f} pairs/s)", flush=True)
    check(not errors, f"load errors: {errors[:3]}")
    c = srv.client()
    total, cursor, ids = 0, None, set()
    while True:
        q = f"{PW}?status=completed&limit=200" + (f"&cursor={cursor}" if cursor else "")
        st, _, page = c.request("GET", q, token=key)
        if not check(st == 200, f"list {st}"):
            break
        for r in page["runs"]:
            ids.add(r["review_run_id"])
            check(r["event_count"] == 1 and r["last_sequence"] == 1, f"run {r['review_run_id']}")
        total += len(page["runs"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    check(total == RUNS and len(ids) == RUNS, f"API lists {total} completed runs, want {RUNS}")
    c.close()
    check(srv.stop() == 0, "load server exits 0 on SIGTERM")
    con = sqlite3.connect(db)
    runs = con.execute("SELECT count(*) FROM pw_runs WHERE status = 'completed'").fetchone()[0]
    check(runs == RUNS, f"{runs} completed runs in the database, want {RUNS}")
    check(con.execute("SELECT count(*) FROM pw_runs").fetchone()[0] == RUNS, "no extra runs")
    bad = con.execute("SELECT count(*) FROM pw_runs r WHERE (SELECT count(*) FROM pw_events e "
                      "WHERE e.run = r.id AND e.event_type = 'completed') != 1").fetchone()[0]
    check(bad == 0, f"{bad} runs without exactly one completed event")
    con.close()


def phase_kill9(d):
    db = os.path.join(d, "kill.db")
    key = t.make_key(db)
    srv = t.Server(db, "--rate-limit", "0", "--quiet").start()
    threads, acked, errors, stop = load(srv, key, "kill")
    # Until 600 acknowledgements; the bound is for a hang only (ASan on a loaded 2-core machine
    # is slow, and "enough load before the kill" is checked below).
    deadline = time.time() + 120
    while len(acked) < 600 and time.time() < deadline:
        time.sleep(0.01)
    stop.set()              # clients finish the pair in hand: requests are still in flight
    srv.kill9()             # SIGKILL
    for th in threads:
        th.join()
    events = [a for a in acked if a[0] == "event"]
    creates = [a for a in acked if a[0] == "create"]
    print(f"killed after {len(creates)} acknowledged creates, {len(events)} events", flush=True)
    check(len(events) >= 200, "enough load before the kill")
    check(not errors, f"errors before the kill: {errors[:3]}")

    srv.start()
    c = srv.client()
    for _, rid, _, _, _ in creates:
        st, _, run = c.request("GET", f"{PW}/{rid}", token=key)
        check(st == 200, f"acknowledged create {rid} lost after kill -9 ({st})")
    for _, rid, cred, ev, ans in events:
        st, _, again = c.request("POST", f"{PW}/{rid}/events", ev, cred)
        check(st == 200 and again == ans, f"acknowledged event of {rid} lost ({st} {again})")
    c.close()
    check(srv.stop() == 0, "restarted server exits 0")
    con = sqlite3.connect(db)
    stored = con.execute("SELECT count(*) FROM pw_events").fetchone()[0]
    check(stored >= len(events), f"{stored} events stored, {len(events)} acknowledged")
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "database intact")
    con.close()


def main():
    d = t.tmpdir()
    phase_complete(d)
    phase_kill9(d)
    t.finish()


if __name__ == "__main__":
    main()
