"""test_batches.py - batch identity, the batch filter and the batch list (issue 15), on the real
kivo-api.

- A private-worker run is (project, batch_id, customer_run_id), an absent batch_id being
  "default": the same customer_run_id in two batches makes two runs; a repeat inside a batch is
  idempotent (200, same run); "default" named or left out is the same create.
- GET /v1/private-worker/review-runs?batch_id= filters; GET /v1/private-worker/batches lists
  batches with exact verdict counts, newest first, paged with cursors, per workflow.
- The security matrix: another project's key sees none of these batches or runs (not in the
  list, not through the filter); a key without private_worker:read, a worker credential and no
  token are refused.
- An event naming another batch than its run's is a conflict; hosted runs take batch_id too.
- Migration 4 keeps a version-3 database's runs, ids and events, puts them in "default", and the
  old runs stay idempotent.
"""
import os
import sqlite3

import apitest as t
from apitest import PW, HR, check, expect

BATCHES = "/v1/private-worker/batches"


def create(c, key, cid, batch=None, workflow="support_answer_review", expect_status=201):
    body = t.create_body(cid, workflow_id=workflow)
    if batch is not None:
        body["batch_id"] = batch
    r = c.request("POST", PW, body, token=key)
    check(r[0] == expect_status, f"create {cid} in {batch}: {r[0]} {r[2]}")
    return body, r[2]


def complete(c, body, ans, verdict):
    ev = t.event_body(body, ans["review_run_id"], gate_verdict=verdict, safe_use_status=verdict)
    if "batch_id" in body:
        ev["batch_id"] = body["batch_id"]
    r = c.request("POST", f"{PW}/{ans['review_run_id']}/events", ev,
                  token=ans["worker_credential"])
    check(r[0] == 202, f"completed event: {r[0]} {r[2]}")


def identity(c, key):
    b0, a0 = create(c, key, "cr_same")
    b1, a1 = create(c, key, "cr_same", batch="release-2026.12")
    check(a0["review_run_id"] != a1["review_run_id"],
          "the same customer_run_id in a new batch is a new run")
    _, again = create(c, key, "cr_same", batch="release-2026.12", expect_status=200)
    check(again["review_run_id"] == a1["review_run_id"], "a repeat inside a batch is the same run")
    _, named = create(c, key, "cr_same", batch="default", expect_status=200)
    check(named["review_run_id"] == a0["review_run_id"],
          "batch_id \"default\" and no batch_id are the same create")
    r = c.request("GET", f"{PW}/{a1['review_run_id']}", token=key)
    check(r[0] == 200 and r[2]["batch_id"] == "release-2026.12", "GET shows the run's batch")
    r = c.request("GET", f"{PW}/{a0['review_run_id']}", token=key)
    check(r[0] == 200 and r[2]["batch_id"] == "default", "GET shows \"default\" when none given")
    # Terminal in one batch: 409 there, while the other batch's run is untouched.
    complete(c, b1, again, "fail")
    r = c.request("POST", PW, b1, token=key)
    expect(r, 409, "conflict", "customer_run_id", what="repeat of a terminal run in its batch")
    create(c, key, "cr_same", expect_status=200)
    for bad in ["", "a b", "x" * 129, "sl/ash", "é"]:
        body = t.create_body("cr_bad", batch_id=bad)
        expect(c.request("POST", PW, body, token=key), 400, "schema_violation", "batch_id",
               what=f"batch_id {bad!r}")
    body = t.create_body("cr_bad", batch_id=7)
    expect(c.request("POST", PW, body, token=key), 400, "schema_violation", "batch_id",
           what="batch_id of the wrong type")
    # An event that names another batch than its run's.
    b, a = create(c, key, "cr_evt", batch="b1")
    ev = t.event_body(b, a["review_run_id"], batch_id="b2")
    r = c.request("POST", f"{PW}/{a['review_run_id']}/events", ev, token=a["worker_credential"])
    expect(r, 409, "conflict", "batch_id", what="event naming another batch")
    ev["batch_id"] = "b1"
    r = c.request("POST", f"{PW}/{a['review_run_id']}/events", ev, token=a["worker_credential"])
    check(r[0] == 202, f"the same event naming its batch is accepted: {r[0]} {r[2]}")


def batches(c, key, other):
    # Workflow w1: batch "nov" (2 pass, 1 fail, 1 running), then "dec" (1 pass, 2 needs_review);
    # workflow w2: batch "nov" (1 fail). Made in this order, so newest first is w2/nov, w1/dec,
    # w1/nov.
    plan = [("w1", "nov", ["pass", "pass", "fail", None]),
            ("w1", "dec", ["pass", "needs_review", "needs_review"]),
            ("w2", "nov", ["fail"])]
    for wf, batch, verdicts in plan:
        for i, v in enumerate(verdicts):
            body, ans = create(c, key, f"ds_{wf}_{i}", batch=batch, workflow=wf)
            if v:
                complete(c, body, ans, v)
    r = c.request("GET", BATCHES + "?workflow_id=w1", token=key)
    check(r[0] == 200, f"batch list: {r[0]} {r[2]}")
    got = [(b["workflow_id"], b["batch_id"], b["run_count"], b["verdict_counts"])
           for b in r[2]["batches"]]
    check(got == [("w1", "dec", 3, {"pass": 1, "needs_review": 2, "fail": 0}),
                  ("w1", "nov", 4, {"pass": 2, "needs_review": 0, "fail": 1})],
          f"w1's batches, newest first, exact counts: {got}")
    check(r[2]["next_cursor"] is None, "one page, no cursor")
    first = r[2]["batches"][1]
    check(first["first_created_at"] <= first["last_created_at"] and
          first["first_created_at"].endswith("Z"), "first/last created as RFC 3339")
    # Paged: every batch of the project once, newest first, one per page.
    seen, cursor = [], None
    for _ in range(20):
        r = c.request("GET", BATCHES + "?limit=1" + (f"&cursor={cursor}" if cursor else ""),
                      token=key)
        check(r[0] == 200 and len(r[2]["batches"]) <= 1, f"page: {r[0]}")
        seen += [(b["workflow_id"], b["batch_id"]) for b in r[2]["batches"]]
        cursor = r[2]["next_cursor"]
        if not cursor:
            break
    check(seen[:3] == [("w2", "nov"), ("w1", "dec"), ("w1", "nov")] and
          len(seen) == len(set(seen)), f"pages walk every batch once, newest first: {seen}")
    check(("support_answer_review", "default") in seen and
          ("support_answer_review", "release-2026.12") in seen, "the identity test's batches")
    # The run list filters by batch (and workflow).
    r = c.request("GET", PW + "?workflow_id=w1&batch_id=nov", token=key)
    check(r[0] == 200 and len(r[2]["runs"]) == 4 and
          all(x["batch_id"] == "nov" and x["workflow_id"] == "w1" for x in r[2]["runs"]),
          "?batch_id= lists only that batch's runs")
    r = c.request("GET", PW + "?batch_id=nov&gate_verdict=fail", token=key)
    check(r[0] == 200 and sorted(x["workflow_id"] for x in r[2]["runs"]) == ["w1", "w2"],
          "batch and verdict filters combine")
    expect(c.request("GET", PW + "?batch_id=a%20b", token=key), 400, "schema_violation",
           "batch_id", what="bad batch filter")
    expect(c.request("GET", BATCHES + "?batch_id=nov", token=key), 400, "schema_violation",
           what="the batch list takes no batch_id")
    expect(c.request("GET", BATCHES + "?workflow_id=", token=key), 400, "schema_violation",
           "workflow_id", what="empty workflow filter")
    expect(c.request("GET", BATCHES + "?cursor=nonsense", token=key), 400, "schema_violation",
           "cursor", what="bad cursor")
    # Security matrix: another project sees none of it.
    r = c.request("GET", BATCHES, token=other)
    check(r[0] == 200 and r[2]["batches"] == [], "another project's key lists no batches")
    r = c.request("GET", PW + "?batch_id=nov", token=other)
    check(r[0] == 200 and r[2]["runs"] == [], "another project's batch filter finds nothing")
    body, ans = create(c, other, "ds_w1_0", batch="nov", workflow="w1")
    r = c.request("GET", BATCHES + "?workflow_id=w1", token=other)
    check(r[0] == 200 and [(b["batch_id"], b["run_count"]) for b in r[2]["batches"]] ==
          [("nov", 1)], "the same batch name in another project is its own batch")
    r = c.request("GET", BATCHES + "?workflow_id=w1", token=key)
    check([(b["batch_id"], b["run_count"]) for b in r[2]["batches"]] == [("dec", 3), ("nov", 4)],
          "and does not change this project's counts")
    return ans


def access(c, srv, cred):
    k_write = t.make_key(srv.db, project="acme", scopes="private_worker:write")
    k_hosted = t.make_key(srv.db, project="acme", scopes="review_runs:read")
    expect(c.request("GET", BATCHES, token=k_write), 403, "forbidden",
           what="batches need private_worker:read")
    expect(c.request("GET", BATCHES, token=k_hosted), 403, "forbidden",
           what="a hosted key cannot list batches")
    expect(c.request("GET", BATCHES, token=cred), 403, "forbidden",
           what="a worker credential cannot list batches")
    expect(c.request("GET", BATCHES), 401, "unauthenticated", what="no token")
    k_read = t.make_key(srv.db, project="acme", scopes="private_worker:read")
    r = c.request("POST", BATCHES, {}, token=k_read)
    check(r[0] == 405, f"POST to the batch list is 405: {r[0]}")


def hosted(c, key):
    packet = {"schema_version": "kivo_review_run_create.v1", "customer_run_id": "h1",
              "workflow_id": "hw", "output": "The store opens at 9am.",
              "sources": [{"source_id": "s1", "title": "Hours", "text": "The store opens at 9am."}]}
    r0 = c.request("POST", HR, packet, token=key)
    check(r0[0] == 201 and r0[2]["batch_id"] == "default", f"hosted run, default batch: {r0[0]}")
    r1 = c.request("POST", HR, dict(packet, batch_id="exp-2"), token=key)
    check(r1[0] == 201 and r1[2]["batch_id"] == "exp-2" and
          r1[2]["review_run_id"] != r0[2]["review_run_id"], "hosted: a new batch is a new run")
    r2 = c.request("POST", HR, dict(packet, batch_id="exp-2"), token=key)
    check(r2[0] == 200 and r2[2]["review_run_id"] == r1[2]["review_run_id"],
          "hosted: a repeat inside the batch is the same run")
    r3 = c.request("POST", HR, dict(packet, batch_id="default"), token=key)
    check(r3[0] == 200 and r3[2]["review_run_id"] == r0[2]["review_run_id"],
          "hosted: \"default\" named or not is the same run")
    r = c.request("GET", f"{HR}/{r1[2]['review_run_id']}/report", token=key)
    check(r[0] == 200 and r[2]["batch_id"] == "exp-2", "the hosted claim report names its batch")
    r = c.request("GET", f"{HR}/{r0[2]['review_run_id']}/report", token=key)
    check(r[0] == 200 and r[2]["batch_id"] == "default", "and \"default\" too")
    r = c.request("GET", HR + "?batch_id=exp-2", token=key)
    check(r[0] == 200 and [x["review_run_id"] for x in r[2]["runs"]] ==
          [r1[2]["review_run_id"]], "the hosted list filters by batch")
    expect(c.request("POST", HR, dict(packet, batch_id="no way"), token=key), 400,
           "schema_violation", "batch_id", what="hosted: bad batch_id")


V3_PW_RUNS = """CREATE TABLE pw_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, project TEXT NOT NULL,
  customer_run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, worker_id TEXT NOT NULL,
  status TEXT NOT NULL, gate_verdict TEXT, create_body TEXT NOT NULL,
  create_digest BLOB NOT NULL, cred_hash BLOB NOT NULL UNIQUE, cred_issued_at INTEGER NOT NULL,
  cred_expires_at INTEGER NOT NULL, last_sequence INTEGER NOT NULL DEFAULT 0,
  event_count INTEGER NOT NULL DEFAULT 0, terminal_body TEXT, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, terminal_at INTEGER, key_id INTEGER,
  UNIQUE (project, customer_run_id))"""
V3_COLS = ("id, run_id, project, customer_run_id, workflow_id, worker_id, status, gate_verdict, "
           "create_body, create_digest, cred_hash, cred_issued_at, cred_expires_at, "
           "last_sequence, event_count, terminal_body, created_at, updated_at, terminal_at, key_id")


def to_v3(db):
    """Rewrites a database to the schema migration 3 left (pw_runs without batch_id, unique on
    (project, customer_run_id)), as an older kivo-api would have it."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = OFF")
    con.executescript(
        V3_PW_RUNS.replace("CREATE TABLE pw_runs", "CREATE TABLE old") + ";"
        f"INSERT INTO old ({V3_COLS}) SELECT {V3_COLS} FROM pw_runs;"
        "DROP TABLE pw_runs; ALTER TABLE old RENAME TO pw_runs;"
        "CREATE INDEX pw_runs_by_project ON pw_runs (project, id);"
        "CREATE INDEX pw_runs_by_status ON pw_runs (status);"
        "CREATE TABLE hold AS SELECT * FROM hosted_runs; DROP TABLE hosted_runs;"
        "CREATE TABLE hosted_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL "
        "UNIQUE, project TEXT NOT NULL, customer_run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, "
        "status TEXT NOT NULL, gate_verdict TEXT NOT NULL, safe_use_status TEXT NOT NULL, "
        "summary TEXT NOT NULL, body_digest BLOB NOT NULL, packet TEXT, claims TEXT, report TEXT, "
        "created_at INTEGER NOT NULL, deleted_at INTEGER, UNIQUE (project, customer_run_id));"
        "INSERT INTO hosted_runs SELECT id, run_id, project, customer_run_id, workflow_id, status, "
        "gate_verdict, safe_use_status, summary, body_digest, packet, claims, report, created_at, "
        "deleted_at FROM hold; DROP TABLE hold;"
        "CREATE INDEX hosted_runs_by_project ON hosted_runs (project, id);"
        "CREATE INDEX hosted_runs_by_status ON hosted_runs (status);"
        "PRAGMA user_version = 3;")
    con.commit()
    con.close()


def migration(d):
    db = os.path.join(d, "v3.db")
    key = t.make_key(db)
    srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
    c = srv.client()
    runs = []
    for i in range(3):
        body, ans = create(c, key, f"old_{i}")
        runs.append((body, ans))
    complete(c, runs[0][0], runs[0][1], "pass")
    c.close()
    check(srv.stop() == 0, "server exits 0")
    con = sqlite3.connect(db)
    before = con.execute("SELECT id, run_id, customer_run_id FROM pw_runs ORDER BY id").fetchall()
    events = con.execute("SELECT count(*) FROM pw_events").fetchone()[0]
    con.close()
    to_v3(db)
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA user_version").fetchone()[0] == 3 and
          "batch_id" not in {r[1] for r in con.execute("PRAGMA table_info(pw_runs)")},
          "the database is at version 3 before the server opens it")
    con.close()
    srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
    c = srv.client()
    con = sqlite3.connect(db)
    after = con.execute("SELECT id, run_id, customer_run_id FROM pw_runs ORDER BY id").fetchall()
    batches = {b for (b,) in con.execute("SELECT DISTINCT batch_id FROM pw_runs")}
    check(con.execute("PRAGMA user_version").fetchone()[0] == 4, "migrated to version 4")
    check(after == before and batches == {"default"}, "runs keep their ids, all in \"default\"")
    check(con.execute("SELECT count(*) FROM pw_events").fetchone()[0] == events and
          con.execute("PRAGMA foreign_key_check").fetchall() == [], "events kept, keys hold")
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
    con.close()
    _, again = create(c, key, "old_1", expect_status=200)
    check(again["review_run_id"] == runs[1][1]["review_run_id"],
          "an old run stays idempotent after the migration")
    r = c.request("POST", PW, runs[0][0], token=key)
    expect(r, 409, "conflict", "customer_run_id", what="an old terminal run stays terminal")
    _, new = create(c, key, "old_0", batch="after")
    check(new["review_run_id"] not in [a["review_run_id"] for _, a in runs],
          "an old customer_run_id in a new batch is a new run")
    r = c.request("GET", BATCHES, token=key)
    check(r[0] == 200 and [(b["batch_id"], b["run_count"], b["verdict_counts"]["pass"])
                           for b in r[2]["batches"]] == [("after", 1, 0), ("default", 3, 1)],
          f"the batch list after the migration: {r[2]}")
    c.close()
    check(srv.stop() == 0, "server exits 0")


def main():
    d = t.tmpdir()
    db = os.path.join(d, "kivo.db")
    key = t.make_key(db, project="acme")
    other = t.make_key(db, project="other")
    srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
    c = srv.client()
    identity(c, key)
    ans = batches(c, key, other)
    access(c, srv, ans["worker_credential"])
    hosted(c, key)
    c.close()
    check(srv.stop() == 0, "server exits 0")
    migration(d)
    t.finish()


if __name__ == "__main__":
    main()
