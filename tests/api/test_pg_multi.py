"""test_pg_multi.py - several kivo-api processes on one PostgreSQL database (issue 17).

Every rule of api.md that concerns more than one request must hold when the requests go to
different processes, with no lock shared between them but the database's:
- races: the same create sent at once to two servers by 8 clients makes one run (one 201, the
  rest 200 with the same run id); the same event at once makes one event (one 202, the rest the
  same answer as a replay); events with rising sequences sent at once are accepted only in rising
  order (the stored sequences rise with their acceptance, the rest are 409 conflict_sequence);
  a completed and a failed event at once: one of them ends the run, the other is refused; an event
  after the credential expired is 401 on both servers.
- load: two servers, CLIENTS clients x RUNS runs spread over both (client i starts on server
  i % 2, then alternates), server A killed with SIGKILL when about half the runs are done; a
  client whose server is gone repeats the same request on the other one (idempotent create and
  event). Then every run was created exactly once and has exactly one completed event, in the
  database and through the API.

Runs on PostgreSQL only (KIVO_TEST_BACKEND=postgresql; ctest label api_pg). Arguments after the
binary: --clients N --runs N (per client; default 8 x 200, ctest runs 8 x 100; the full 8 x 2,000
is in bench/README.md), --no-races, --no-kill, --json (one summary line with the figures).
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

import apitest as t
from apitest import PW, check


def races(d):
    db = t.new_db(d, "races")
    key = t.make_key(db)
    a = t.Server(db, "--quiet", "--rate-limit", "0", log=os.path.join(d, "races_a.log")).start()
    b = t.Server(db, "--quiet", "--rate-limit", "0", log=os.path.join(d, "races_b.log")).start()
    servers = [a, b]

    def together(fn, n=8):
        """Runs fn(i) in n threads released at once; returns the results in order."""
        out = [None] * n
        gate = threading.Barrier(n)

        def run(i):
            c = servers[i % 2].client()
            gate.wait()
            try:
                out[i] = fn(i, c)
            finally:
                c.close()
        ths = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(120)
        return out

    for r in range(20):
        body = t.create_body(f"race_{r}", n_sources=1)
        got = together(lambda i, c: c.request("POST", PW, body, key))
        codes = sorted(g[0] for g in got)
        ids = {g[2].get("review_run_id") for g in got if isinstance(g[2], dict)}
        check(codes == [200] * 7 + [201] and len(ids) == 1,
              f"race {r}: one create from 8 at once on two servers: {codes} {ids}")
        # The last credential handed out is the live one: ask once more for a known one.
        st, _, run = servers[r % 2].client().request("POST", PW, body, key)
        rid, cred = run["review_run_id"], run["worker_credential"]
        ev = t.event_body(body, rid, "started", 1)
        got = together(lambda i, c: c.request("POST", f"{PW}/{rid}/events", ev, cred))
        codes = sorted(g[0] for g in got)
        answers = {json.dumps(g[2], sort_keys=True) for g in got}
        check(codes == [200] * 7 + [202] and len(answers) == 1,
              f"race {r}: one event from 8 at once: {codes} {answers}")
        # Progress events with sequences 2..9 at once: accepted ones rise in acceptance order.
        got = together(lambda i, c: c.request(
            "POST", f"{PW}/{rid}/events",
            t.event_body(body, rid, "progress", 2 + i, event_id=f"p{r}_{i}"), cred))
        accepted = [2 + i for i, g in enumerate(got) if g[0] == 202]
        others = [g for g in got if g[0] != 202]
        check(accepted and all(g[0] == 409 and g[2]["error"]["fields"] == ["sequence"]
                               for g in others),
              f"race {r}: progress answers {[g[0] for g in got]}")
        # Two events accepted on one stale last_sequence would leave the run's last_sequence
        # below the highest accepted one (a lost update), or store a sequence twice.
        rows = t.sql(db, "SELECT e.sequence, r.last_sequence, r.event_count FROM pw_events e "
                     "JOIN pw_runs r ON r.id = e.run WHERE r.run_id = ? ORDER BY e.sequence",
                     (rid,))
        seqs = [int(x[0]) for x in rows]
        top = max(seqs)
        check(seqs == [1] + sorted(accepted) and int(rows[0][1]) == top == max(accepted)
              and int(rows[0][2]) == len(seqs),
              f"race {r}: stored events {rows} (accepted {accepted})")
        done = t.event_body(body, rid, "completed", top + 1, event_id=f"done_{r}")
        fail = t.event_body(body, rid, "failed", top + 1, event_id=f"fail_{r}",
                            failure_code="worker_oom")
        got = together(lambda i, c: c.request("POST", f"{PW}/{rid}/events",
                                              done if i % 2 else fail, cred), n=2)
        # The loser finds the run ended (409) or, after the retry, its credential retired by
        # the winner (a terminal event ends the credential too: 401), as on one server.
        codes = sorted(g[0] for g in got)
        check(codes in ([202, 409], [202, 401]),
              f"race {r}: completed vs failed at once: {codes} {[g[2] for g in got]}")
        st, _, run = a.client().request("GET", f"{PW}/{rid}", token=key)
        check(run.get("status") in ("completed", "failed") and run.get("event_count") ==
              2 + len(accepted), f"race {r}: the run ended once: {run}")
    # Expiry: a credential of 1 s, checked by the server that did not issue it.
    ttl_db = t.new_db(d, "ttl")
    k2 = t.make_key(ttl_db)
    ta = t.Server(ttl_db, "--quiet", "--credential-ttl", "1",
                  log=os.path.join(d, "ttl_a.log")).start()
    tb = t.Server(ttl_db, "--quiet", "--credential-ttl", "1",
                  log=os.path.join(d, "ttl_b.log")).start()
    body = t.create_body("ttl_multi", n_sources=1)
    st, _, run = ta.client().request("POST", PW, body, k2)
    time.sleep(1.2)
    ev = t.event_body(body, run["review_run_id"], "started", 1)
    st, _, ans = tb.client().request("POST", f"{PW}/{run['review_run_id']}/events", ev,
                                     run["worker_credential"])
    check(st == 401, f"an expired credential is refused by the other server: {st} {ans}")
    for s in (a, b, ta, tb):
        check(s.stop() == 0, "server exits 0")


def client(i, servers, key, runs, prefix, state, errors, progress):
    """Creates and completes `runs` runs, starting on servers[i % 2] and alternating; a request
    that meets a dead server is sent again to the other one."""
    conns = [None, None]
    which = i % 2

    def send(method, path, body, token):
        nonlocal which
        for attempt in range(40):
            s = servers[which]
            if s.proc.poll() is not None:   # dead: go to the other one
                which ^= 1
                continue
            if conns[which] is None:
                conns[which] = t.Client(s.port)
            try:
                st, _, ans = conns[which].request(method, path, body, token)
            except OSError:
                conns[which].close()
                conns[which] = None
                which ^= 1
                state["retried"] += 1
                continue
            if st == 503 or st == 429:
                time.sleep(0.05)
                continue
            return st, ans
        return 0, "gave up"

    try:
        for n in range(runs):
            body = t.create_body(f"{prefix}_{i}_{n}", n_sources=1)
            t0 = time.perf_counter()
            st, run = send("POST", PW, body, key)
            if st not in (200, 201):
                errors.append(f"create {st} {run}")
                return
            ev = t.event_body(body, run["review_run_id"], "completed", 1)
            st, ans = send("POST", f"{PW}/{run['review_run_id']}/events", ev,
                           run["worker_credential"])
            if st not in (200, 202) or not ans.get("accepted"):
                errors.append(f"event {st} {ans}")
                return
            state["lat"].append(time.perf_counter() - t0)
            progress.append(1)
            which ^= 1
    finally:
        for c in conns:
            if c:
                c.close()


def load(d, clients, runs, kill):
    db = t.new_db(d, "load")
    key = t.make_key(db)
    a = t.Server(db, "--quiet", "--rate-limit", "0", log=os.path.join(d, "load_a.log")).start()
    b = t.Server(db, "--quiet", "--rate-limit", "0", log=os.path.join(d, "load_b.log")).start()
    servers = [a, b]
    state = {"lat": [], "retried": 0}
    errors, progress = [], []
    total = clients * runs
    ths = [threading.Thread(target=client,
                            args=(i, servers, key, runs, "load", state, errors, progress))
           for i in range(clients)]
    t0 = time.perf_counter()
    for th in ths:
        th.start()
    killed_at = None
    if kill:
        while len(progress) < total // 2 and any(th.is_alive() for th in ths):
            time.sleep(0.01)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        killed_at = len(progress)
    for th in ths:
        th.join()
    secs = time.perf_counter() - t0
    check(not errors, f"load: client errors: {errors[:5]}")
    check(len(progress) == total, f"load: {len(progress)} of {total} runs done")
    # The database: every run once, each with exactly one completed event.
    rows = t.sql(db, "SELECT count(*), count(DISTINCT customer_run_id), "
                 "count(*) FILTER (WHERE status = 'completed'), "
                 "count(*) FILTER (WHERE event_count = 1) FROM pw_runs")[0]
    check([int(x) for x in rows] == [total] * 4,
          f"load: runs, distinct, completed, one event each: {rows} (want {total})")
    ev = t.sql(db, "SELECT count(*), count(DISTINCT run), "
               "count(*) FILTER (WHERE event_type = 'completed') FROM pw_events")[0]
    check([int(x) for x in ev] == [total] * 3, f"load: events, runs with one, completed: {ev}")
    # Through the API, on the server that lived: the list holds every run, each completed.
    c = b.client()
    seen, cursor = 0, None
    while True:
        path = f"{PW}?limit=200&status=completed" + (f"&cursor={cursor}" if cursor else "")
        st, _, page = c.request("GET", path, token=key)
        if st != 200:
            check(False, f"load: list {st} {page}")
            break
        seen += len(page["runs"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    c.close()
    check(seen == total, f"load: the API lists {seen} completed runs of {total}")
    check(b.stop() == 0, "the surviving server exits 0")
    if not kill:
        check(a.stop() == 0, "server A exits 0")
    lat = sorted(state["lat"])
    return {"clients": clients, "runs_per_client": runs, "runs": total, "seconds": round(secs, 2),
            "pairs_per_second": round(total / secs, 1) if secs else 0,
            "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 2) if lat else None,
            "killed_after_runs": killed_at, "requests_repeated": state["retried"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin", nargs="?")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--no-races", action="store_true")
    ap.add_argument("--no-kill", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if t.BACKEND != "postgresql":
        print("test_pg_multi.py needs KIVO_TEST_BACKEND=postgresql", file=sys.stderr)
        sys.exit(2)
    d = t.tmpdir()
    if not args.no_races:
        races(d)
    res = load(d, args.clients, args.runs, not args.no_kill)
    print(json.dumps(res) if args.json else f"load: {res}", flush=True)
    leaked = t.logs_without_tokens([os.path.join(d, f) for f in os.listdir(d)
                                    if f.endswith(".log")])
    check(not leaked, f"tokens in the server logs: {leaked}")
    t.finish()


if __name__ == "__main__":
    main()
