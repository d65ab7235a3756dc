"""test_contract.py - kivo-api against every rule of api.md, on the real binary.

CLI exit codes and key handling; the full auth matrix (401/403/404); every error code; closed
schemas, caps and raw fields; idempotent creates and events (replay 200, conflicting replay 409);
sequence and terminal rules; hash equality with create; credential re-issue and expiry; list
paging; hosted review runs (engine verdict, report, delete); limits (413 without reading the
body, 429 with Retry-After); metrics; SIGTERM finishing a request in flight and exiting 0; and no
token in any log line.
"""
import glob
import json
import os
import re
import signal
import socket
import sqlite3
import time

import apitest as t
from apitest import PW, HR, check, expect


def cli_checks(d):
    db = t.new_db(d, "cli")
    r = t.run_cli("--help")
    check(r.returncode == 0 and "serve" in r.stdout, "--help exits 0 and lists serve")
    r = t.run_cli("--version")
    check(r.returncode == 0 and r.stdout.startswith("kivo-api "), "--version exits 0")
    check(t.run_cli().returncode == 2, "no command exits 2")
    check(t.run_cli("frobnicate").returncode == 2, "unknown command exits 2")
    check(t.run_cli("serve").returncode == 2, "serve without --db exits 2")
    check(t.run_cli("serve", "--db", db, "--listen", "nowhere").returncode == 2,
          "serve with a bad --listen exits 2")
    check(t.run_cli("serve", "--db", db, "--bogus").returncode == 2, "unknown flag exits 2")
    check(t.run_cli("serve", "--help").returncode == 0, "serve --help exits 0")
    # getopt_long (cli.c): every way a flag can be wrong is a usage error naming it.
    r = t.run_cli("serve", "--db")
    check(r.returncode == 2 and "--db needs a value (PATH|URI)" in r.stderr, "a missing value exits 2")
    r = t.run_cli("serve", "--db", db, "--quiet=yes")
    check(r.returncode == 2 and "--quiet takes no value" in r.stderr, "a switch with a value exits 2")
    r = t.run_cli("serve", "--db", db, "stray")
    check(r.returncode == 2 and "unknown option 'stray'" in r.stderr, "an argument exits 2")
    r = t.run_cli("serve", "--db", db, "--bogus=1")
    check(r.returncode == 2 and "unknown option '--bogus'" in r.stderr, "unknown --flag=value exits 2")
    r = t.run_cli("serve", "--db=" + db, "--listen=nowhere")
    check(r.returncode == 2 and "--listen" in r.stderr, "--flag=value is read (bad --listen=)")
    r = t.run_cli("keys", "create", "--db", db, "--project", "acme", "--scopes", "admin")
    check(r.returncode == 2 and r.stdout == "", "keys create with a bad scope exits 2, prints no key")
    r = t.run_cli("keys", "create", "--db", db, "--project", "a b", "--scopes",
                  "review_runs:read")
    check(r.returncode == 2, "keys create with a bad project exits 2")
    r = t.run_cli("keys", "create", "--create", "--db", db, "--project", "acme", "--scopes",
                  "review_runs:read,private_worker:write")
    check(r.returncode == 0, "keys create exits 0")
    lines = r.stdout.splitlines()
    check(len(lines) == 1 and re.fullmatch(r"kivo_sk_[A-Za-z0-9_-]{43}", lines[0]),
          "keys create prints the key alone on the first line")
    key = lines[0]
    r = t.run_cli("keys", "list", "--db", db)
    check(r.returncode == 0 and key[:16] in r.stdout and "acme" in r.stdout
          and "review_runs:read,private_worker:write" in r.stdout, "keys list shows the key")
    check(key[16:] not in r.stdout and key not in r.stdout + r.stderr,
          "keys list never shows the key")
    stored = t.sql(db, "SELECT token_hash FROM api_keys")[0][0]
    if t.BACKEND == "postgresql":
        stored = bytes.fromhex(stored[2:])  # bytea as psql prints it: \x...
    check(stored == __import__("hashlib").sha256(key.encode()).digest(),
          "only the key's SHA-256 is stored")
    env = dict(os.environ, KIVO_API_DB=db)
    r = t.run_cli("keys", "list", env=env)
    check(r.returncode == 0 and key[:16] in r.stdout, "keys list takes KIVO_API_DB")
    check(t.run_cli("keys", "revoke", "--db", db, "--prefix", "kivo_sk_nothere").returncode == 3,
          "keys revoke of an unknown prefix exits 3")
    check(t.run_cli("keys", "revoke", "--db", db, "--prefix", key[:16]).returncode == 0,
          "keys revoke exits 0")
    check(t.run_cli("keys", "revoke", "--db", db, "--prefix", key[:16]).returncode == 3,
          "revoking twice exits 3")
    r = t.run_cli("keys", "list", "--db", db)
    check(re.search(r"\t\d{4}-\d\d-\d\dT[^\t]*Z$", r.stdout.splitlines()[1]) is not None,
          "keys list shows the revocation time")


def auth_matrix(srv, keys, d):
    c = srv.client()
    k, k_other = keys["all"], keys["other"]
    body = t.create_body("auth_run_a")
    a = expect(c.request("POST", PW, body, k), 201, what="create run A")
    b = expect(c.request("POST", PW, t.create_body("auth_run_b"), k), 201, what="create run B")
    run_a, cred_a = a["review_run_id"], a["worker_credential"]
    run_b, cred_b = b["review_run_id"], b["worker_credential"]
    check(re.fullmatch(r"kivo_wc_[A-Za-z0-9_-]{43}", cred_a) is not None, "credential format")
    check(a["status"] == "created" and a["credential_expires_at"].endswith("Z"), "create answer")
    ev = t.event_body(body, run_a, "started", 1)

    # 401: no, malformed, unknown, revoked tokens.
    expect(c.request("POST", PW, body), 401, "unauthenticated", what="no token")
    expect(c.request("POST", PW, body, headers={"Authorization": "Basic abc"}), 401,
           "unauthenticated", what="not a bearer token")
    expect(c.request("POST", PW, body, "kivo_sk_short"), 401, "unauthenticated",
           what="malformed key")
    expect(c.request("POST", PW, body, "kivo_sk_" + "A" * 43), 401, "unauthenticated",
           what="unknown key")
    expect(c.request("POST", f"{PW}/{run_a}/events", ev, "kivo_wc_" + "B" * 43), 401,
           "unauthenticated", what="unknown credential")
    expect(c.request("GET", PW, token=keys["revoked"]), 401, "unauthenticated",
           what="revoked key")
    # 403: wrong kind, scope, project, run.
    expect(c.request("POST", f"{PW}/{run_a}/events", ev, k), 403, "forbidden",
           what="API key on the events endpoint")
    expect(c.request("POST", PW, t.create_body("x"), cred_a), 403, "forbidden",
           what="credential on the create endpoint")
    expect(c.request("GET", PW, token=cred_a), 403, "forbidden",
           what="credential on the list endpoint")
    expect(c.request("GET", HR, token=cred_a), 403, "forbidden",
           what="credential on a hosted endpoint")
    expect(c.request("POST", PW, t.create_body("y"), keys["pw_read"]), 403, "forbidden",
           what="key without private_worker:write")
    expect(c.request("GET", PW, token=keys["review"]), 403, "forbidden",
           what="key without private_worker:read")
    expect(c.request("GET", HR, token=keys["pw_read"]), 403, "forbidden",
           what="key without review_runs:read")
    expect(c.request("GET", f"{PW}/{run_a}", token=k_other), 403, "forbidden",
           what="key of another project")
    expect(c.request("POST", f"{PW}/{run_b}/events", t.event_body(body, run_b, "started", 1),
                     cred_a), 403, "forbidden", what="credential of another run (events)")
    expect(c.request("GET", f"{PW}/{run_b}", token=cred_a), 403, "forbidden",
           what="credential of another run (get)")
    listing = expect(c.request("GET", PW, token=k_other), 200, what="other project's list")
    check(listing["runs"] == [], "another project's list does not show acme's runs")
    # 404
    expect(c.request("GET", f"{PW}/rr_00000000000000000000000000000000", token=k), 404,
           "not_found", what="unknown run")
    expect(c.request("GET", f"{HR}/rr_00000000000000000000000000000000", token=k), 404,
           "not_found", what="unknown hosted run")
    expect(c.request("GET", "/v2/nothing", token=k), 404, "not_found", what="unknown path")
    expect(c.request("PUT", PW, body, k), 405, "method_not_allowed", what="wrong method")
    # The credential reads its own run.
    got = expect(c.request("GET", f"{PW}/{run_a}", token=cred_a), 200, what="credential GET")
    check(got.get("review_run_id") == run_a and got.get("status") == "created"
          and "worker_credential" not in json.dumps(got) and "kivo_wc_" not in json.dumps(got),
          "GET run shows metadata, never the credential")
    # Credential after completion: 401 for new events and reads.
    ok = expect(c.request("POST", f"{PW}/{run_a}/events",
                          t.event_body(body, run_a, "completed", 1), cred_a), 202,
                what="complete run A")
    expect(c.request("POST", f"{PW}/{run_a}/events",
                     t.event_body(body, run_a, "progress", 2), cred_a), 401, "unauthenticated",
           what="credential after completion (event)")
    expect(c.request("GET", f"{PW}/{run_a}", token=cred_a), 401, "unauthenticated",
           what="credential after completion (get)")
    check(ok == {"accepted": True, "event_id": "evt_auth_run_a_completed_1",
                 "run_status": "completed"}, f"event answer {ok}")
    # Re-issue: a repeated create answers 200, same run, new credential; the old one stops.
    again = expect(c.request("POST", PW, t.create_body("auth_run_b"), k), 200, what="repeat create")
    check(again["review_run_id"] == run_b and again["worker_credential"] != cred_b,
          "repeat create: same run, fresh credential")
    expect(c.request("POST", f"{PW}/{run_b}/events", t.event_body(body, run_b, "started", 1),
                     cred_b), 401, "unauthenticated", what="re-issued (old) credential")
    expect(c.request("GET", f"{PW}/{run_b}", token=again["worker_credential"]), 200,
           what="new credential works")
    expect(c.request("POST", PW, t.create_body("auth_run_a"), k), 409, "conflict",
           "customer_run_id", what="create repeat of a terminal run")
    expect(c.request("POST", PW, t.create_body("auth_run_b", title="Another title"), k), 409,
           "conflict", "customer_run_id", what="create repeat with another body")
    c.close()


def expiry(d):
    db = t.new_db(d, "ttl")
    k = t.make_key(db)
    # 3 s: the event "before expiry" must reach the server within the TTL of the create, which a
    # slow ASan server on a loaded machine could miss with 1 s.
    srv = t.Server(db, "--credential-ttl", "3", "--quiet").start()
    c = srv.client()
    body = t.create_body("ttl_run")
    a = expect(c.request("POST", PW, body, k), 201, what="create (ttl 3 s)")
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events",
                     t.event_body(body, a["review_run_id"], "started", 1),
                     a["worker_credential"]), 202, what="event before expiry")
    time.sleep(3.3)
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events",
                     t.event_body(body, a["review_run_id"], "progress", 2),
                     a["worker_credential"]), 401, "unauthenticated", what="expired credential")
    expect(c.request("GET", f"{PW}/{a['review_run_id']}", token=a["worker_credential"]), 401,
           "unauthenticated", what="expired credential (get)")
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events", b"{not json",
                     a["worker_credential"]), 401, "unauthenticated",
           what="expired credential with a broken body")
    # The replay of an accepted event still answers (safe retries).
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events",
                     t.event_body(body, a["review_run_id"], "started", 1),
                     a["worker_credential"]), 200, what="replay with an expired credential")
    c.close()
    check(srv.stop() == 0, "ttl server exits 0 on SIGTERM")


def bad_bodies(srv, k):
    c = srv.client()
    cases = [
        (b"", "empty body"), (b"{", "truncated"), (b"[]", "array"), (b"\"x\"", "string"),
        (b"{\"a\":1} x", "trailing garbage"), (b"{\"a\":\"\xff\xfe\"}", "invalid UTF-8"),
        (b"{\"a\":\"\xed\xa0\x80\"}", "UTF-8 surrogate"),
        (b"[" * 10000 + b"]" * 10000, "deep nesting (arrays)"),
        (b"{\"a\":" * 200 + b"1" + b"}" * 200, "deep nesting (objects)"),
        (b"{\"source_count\":1e999}", "huge exponent"),
        (b"{\"a\":1,\"a\":2}", "duplicate keys"),
        (b"{\"customer_run_id\":\"x\",\"customer_run_id\":\"x\"}", "duplicate keys, same value"),
        (b"{\"a\":\"\x00\"}", "raw NUL in a string"), (b"{'a':1}", "single quotes"),
        (b"{\"a\":01}", "leading zero"), (b"{\"a\":NaN}", "NaN"),
    ]
    for raw, what in cases:
        for path in (PW, HR):
            expect(c.request("POST", path, raw, k), 400, "invalid_json", what=f"{what} on {path}")
    big = b'{"schema_version":"kivo_private_worker_review_run_create.v1","customer_run_id":"c",' \
          b'"workflow_id":"w","worker_id":"w","worker_version":"v","source_count":' \
          b'123456789012345678901234567890}'
    st, _, body = c.request("POST", PW, big, k)
    check(st == 400 and body["error"]["code"] in ("invalid_json", "schema_violation"),
          f"huge integer: 400, got {st} {body}")
    # A run created, evented and listed still works after all that (no crash).
    expect(c.request("GET", "/healthz"), 200, what="alive after bad bodies")
    c.close()


def mutations(srv, k):
    """Seeded random byte mutations of valid bodies: every answer is a 4xx or 2xx, never a crash."""
    import random
    rng = random.Random(20261128)
    c = srv.client()
    base = json.dumps(t.create_body("mutant")).encode()
    statuses = {}
    for i in range(300):
        b = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            op = rng.randint(0, 2)
            pos = rng.randrange(len(b))
            if op == 0:
                b[pos] = rng.randrange(256)
            elif op == 1:
                del b[pos]
            else:
                b[pos:pos] = bytes([rng.choice(b'{}[]",:\\0e-')])
        st = c.request("POST", PW, bytes(b), k)[0]
        statuses[st] = statuses.get(st, 0) + 1
    check(set(statuses) <= {200, 201, 400, 409, 422}, f"mutation statuses {statuses}")
    expect(c.request("GET", "/healthz"), 200, what="alive after mutations")
    c.close()


def schema_and_raw(srv, k):
    c = srv.client()
    body = t.create_body("schema_run")
    b = dict(body, schema_version="kivo_private_worker_review_run_create.v2")
    expect(c.request("POST", PW, b, k), 400, "schema_violation", "schema_version",
           what="wrong schema_version")
    b = dict(body)
    del b["worker_id"]
    expect(c.request("POST", PW, b, k), 400, "schema_violation", "worker_id",
           what="missing field")
    expect(c.request("POST", PW, dict(body, color="blue"), k), 400, "schema_violation", "color",
           what="unknown field")
    expect(c.request("POST", PW, dict(body, source_count="2"), k), 400, "schema_violation",
           "source_count", what="wrongly typed field")
    expect(c.request("POST", PW, dict(body, title="t" * 201), k), 400, "schema_violation",
           "title", what="title over 200 chars")
    expect(c.request("POST", PW, dict(body, customer_run_id="c" * 513), k), 400,
           "schema_violation", "customer_run_id", what="id over 512 chars")
    expect(c.request("POST", PW, dict(body, source_count=3), k), 400, "schema_violation",
           "source_hashes", what="source_count != len(source_hashes)")
    expect(c.request("POST", PW, dict(body, output_hash="sha256:output_hash"), k), 400,
           "schema_violation", "output_hash", what="placeholder hash")
    # 422 at any depth, each with its use_instead.
    raw = dict(body, prompt="p", customer_storage_pointer={
        "type": "customer_owned", "opaque_id": "x", "extra": [{"screenshots": []}]},
        ai_output="o", messages=[], tool_traces=[])
    err = expect(c.request("POST", PW, raw, k), 422, "raw_fields_rejected", what="raw fields")
    rej = {r["field"]: r["use_instead"] for r in err["error"].get("rejected_fields", [])}
    check(rej == {"prompt": "prompt_version or policy_version",
                  "customer_storage_pointer.extra[0].screenshots": "opaque storage pointer",
                  "ai_output": "output_hash and your report pointer",
                  "messages": "customer_run_id and workflow metadata",
                  "tool_traces": "opaque storage pointer"}, f"rejected_fields {rej}")
    check(set(err["error"]["fields"]) == set(rej), "422 fields list each rejected field")
    run = expect(c.request("POST", PW, body, k), 201, what="schema run create")
    rid, cred = run["review_run_id"], run["worker_credential"]
    ev = t.event_body(body, rid, "completed", 1)
    for name in ("source_text", "retrieved_context", "embeddings", "uploads", "tool_calls",
                 "system_prompt", "source_spans"):
        bad = dict(ev, artifact_summaries=[dict(ev["artifact_summaries"][0], **{name: "x"})])
        e = expect(c.request("POST", f"{PW}/{rid}/events", bad, cred), 422,
                   "raw_fields_rejected", f"artifact_summaries[0].{name}",
                   what=f"raw field {name} nested in an event")
    expect(c.request("POST", f"{PW}/{rid}/events", dict(ev, extra=1), cred), 400,
           "schema_violation", "extra", what="unknown event field")
    bad = dict(ev)
    del bad["gate_verdict"]
    expect(c.request("POST", f"{PW}/{rid}/events", bad, cred), 400, "schema_violation",
           "gate_verdict", what="completed event without gate_verdict")
    expect(c.request("POST", f"{PW}/{rid}/events", dict(ev, sequence=0), cred), 400,
           "schema_violation", "sequence", what="sequence 0")
    expect(c.request("POST", f"{PW}/{rid}/events", dict(ev, unsupported_claim_count=19), cred),
           400, "schema_violation", "unsupported_claim_count", what="unsupported > claims")
    expect(c.request("POST", f"{PW}/{rid}/events",
                     dict(ev, redacted_failure_categories=["raw_prompt_leak"]), cred), 400,
           "schema_violation", "redacted_failure_categories[0]", what="unknown category")
    expect(c.request("POST", f"{PW}/{rid}/events", dict(ev, title="x"), cred), 400,
           "schema_violation", "title", what="create-only field in an event")
    c.close()


def events(srv, k):
    c = srv.client()
    body = t.create_body("event_run")
    run = expect(c.request("POST", PW, body, k), 201, what="event run create")
    rid, cred = run["review_run_id"], run["worker_credential"]
    url = f"{PW}/{rid}/events"
    started = t.event_body(body, rid, "started", 1)
    first = expect(c.request("POST", url, started, cred), 202, what="started")
    check(first == {"accepted": True, "event_id": started["event_id"], "run_status": "running"},
          f"started answer {first}")
    replay = expect(c.request("POST", url, started, cred), 200, what="replay")
    check(replay == first, "replay answers the first answer")
    # Same body, other key order and spacing: still the same event.
    text = json.dumps(dict(reversed(list(started.items()))), indent=2)
    check(c.request("POST", url, text, cred)[0] == 200, "replay with reordered keys is 200")
    expect(c.request("POST", url, dict(started, worker_version="other"), cred), 409, "conflict",
           "event_id", what="conflicting replay")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 1, event_id="p1"), cred),
           409, "conflict", "sequence", what="sequence equal to the last")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 5, event_id="p5"), cred),
           202, what="sequence may skip")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 4, event_id="p4"), cred),
           409, "conflict", "sequence", what="sequence below the last")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 6, event_id="p6",
                                              customer_run_id="someone_else"), cred),
           409, "conflict", "customer_run_id", what="customer_run_id of another run")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 6, event_id="p6b",
                                              review_run_id="rr_other"), cred),
           409, "conflict", "review_run_id", what="review_run_id of another run")
    expect(c.request("POST", url, t.event_body(body, rid, "progress", 6, event_id="p6c",
                                              worker_id="another_worker"), cred),
           409, "conflict", "worker_id", what="worker_id of another worker")
    done = t.event_body(body, rid, "completed", 7)
    expect(c.request("POST", url, dict(done, output_hash=t.sha("different")), cred), 409,
           "conflict", "output_hash", what="output_hash differs from create")
    expect(c.request("POST", url, dict(done, source_hashes=list(reversed(done["source_hashes"]))),
                     cred), 409, "conflict", "source_hashes",
           what="source_hashes differ from create")
    ok = expect(c.request("POST", url, done, cred), 202, what="completed")
    check(ok.get("run_status") == "completed", "completed answer")
    expect(c.request("POST", url, done, cred), 200, what="replay of the terminal event")
    expect(c.request("POST", url, dict(done, claim_count=19), cred), 409, "conflict",
           "event_id", what="conflicting replay of the terminal event")
    got = expect(c.request("GET", f"{PW}/{rid}", token=k), 200, what="get completed run")
    check(got["status"] == "completed" and got["gate_verdict"] == "needs_review"
          and got["claim_count"] == 18 and got["last_sequence"] == 7 and got["event_count"] == 3
          and got["redacted_failure_categories"] == ["unsupported_policy_claim"]
          and got["artifact_summaries"][0]["artifact_name"] == "claim_report"
          and got["terminal_at"] is not None, f"stored run {got}")
    # A failed run is terminal too.
    fb = t.create_body("failed_run")
    f = expect(c.request("POST", PW, fb, k), 201, what="failing run create")
    expect(c.request("POST", f"{PW}/{f['review_run_id']}/events",
                     t.event_body(fb, f["review_run_id"], "failed", 1, failure_code="worker_oom"),
                     f["worker_credential"]), 202, what="failed event")
    expect(c.request("POST", f"{PW}/{f['review_run_id']}/events",
                     t.event_body(fb, f["review_run_id"], "progress", 2),
                     f["worker_credential"]), 401, "unauthenticated", what="event after failure")
    expect(c.request("POST", PW, fb, k), 409, "conflict", what="create after failure")
    # Hashes not given at create are not compared.
    nb = t.create_body("nohash_run")
    for key in ("source_hashes", "output_hash", "source_count"):
        del nb[key]
    n = expect(c.request("POST", PW, nb, k), 201, what="create without hashes")
    expect(c.request("POST", f"{PW}/{n['review_run_id']}/events",
                     t.event_body(t.create_body("nohash_run"), n["review_run_id"]),
                     n["worker_credential"]), 202, what="completed without create hashes")
    c.close()


def listing(srv, k):
    c = srv.client()
    ids = []
    for i in range(5):
        b = t.create_body(f"list_run_{i}", workflow_id="list_flow")
        ids.append(expect(c.request("POST", PW, b, k), 201, what="list create")["review_run_id"])
    seen, cursor, pages = [], None, 0
    while True:
        q = f"{PW}?workflow_id=list_flow&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = expect(c.request("GET", q, token=k), 200, what="list page")
        seen += [r["review_run_id"] for r in page["runs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None or pages > 5:
            break
    check(seen == list(reversed(ids)) and pages == 3, f"paging newest first: {pages} pages")
    page = expect(c.request("GET", f"{PW}?status=completed&limit=200", token=k), 200,
                  what="filter by status")
    check(all(r["status"] == "completed" for r in page["runs"]) and page["runs"],
          "status filter")
    page = expect(c.request("GET", f"{PW}?gate_verdict=needs_review", token=k), 200,
                  what="filter by verdict")
    check(all(r["gate_verdict"] == "needs_review" for r in page["runs"]), "verdict filter")
    expect(c.request("GET", f"{PW}?limit=0", token=k), 400, "schema_violation", "limit",
           what="limit 0")
    expect(c.request("GET", f"{PW}?limit=abc", token=k), 400, "schema_violation", "limit",
           what="limit not a number")
    expect(c.request("GET", f"{PW}?cursor=garbage", token=k), 400, "schema_violation", "cursor",
           what="bad cursor")
    expect(c.request("GET", f"{PW}?status=done", token=k), 400, "schema_violation", "status",
           what="bad status filter")
    expect(c.request("GET", f"{PW}?colour=red", token=k), 400, "schema_violation", "colour",
           what="unknown query parameter")
    c.close()


def hosted(srv, keys):
    c = srv.client()
    k = keys["all"]
    packet = {
        "schema_version": "kivo_review_run_create.v1",
        "customer_run_id": "hosted_001", "workflow_id": "support_answer_review",
        "title": "Refund answer", "intended_use": "customer_facing", "strictness": "standard",
        "policy_version": "standard-support-v1", "metadata": {"team": "support", "ticket": 42},
        "output": "Refunds are available within 30 days of purchase. "
                  "Premium members get free overnight shipping to Mars.",
        "sources": [
            {"source_id": "refund_policy", "title": "Refund policy",
             "text": "Customers can request a refund within 30 days of purchase."},
            {"source_id": "shipping", "title": "Shipping",
             "text": "Standard shipping takes five business days."}],
    }
    run = expect(c.request("POST", HR, packet, k), 201, what="hosted create")
    rid = run.get("review_run_id", "")
    check(rid.startswith("rr_") and run["status"] == "completed"
          and run["gate_verdict"] in ("pass", "needs_review", "fail")
          and run["safe_use_status"] in ("pass", "needs_review", "fail")
          and run["claim_count"] == len(run["claims"]) >= 2, f"hosted answer {run}")
    out = packet["output"].encode()
    for cl in run["claims"]:
        check(out[cl["start"]:cl["end"]].decode() == cl["text"], "claim spans are byte offsets")
        check(cl["status"] in ("supported", "partially_supported", "unsupported", "contradicted")
              and 0 <= cl["support_score"] <= 1, f"claim {cl}")
        check((cl["failure_category"] is None) == (cl["status"] == "supported"),
              f"failure_category null only when supported: {cl}")
        for ev in cl["evidence"]:
            src = next(s for s in packet["sources"] if s["source_id"] == ev["source_id"])
            check(0 <= ev["start"] < ev["end"] <= len(src["text"].encode()), f"span {ev}")
    check(run["output_hash"] == t.sha(packet["output"])
          and run["source_hashes"] == [t.sha(s["text"]) for s in packet["sources"]],
          "hosted hashes are SHA-256 of output and sources")
    again = expect(c.request("POST", HR, packet, k), 200, what="hosted repeat")
    check(again["review_run_id"] == rid and again["claims"] == run["claims"],
          "hosted repeat answers the stored run")
    expect(c.request("POST", HR, dict(packet, title="Other"), k), 409, "conflict",
           "customer_run_id", what="hosted repeat with another body")
    twin = expect(c.request("POST", HR, dict(packet, customer_run_id="hosted_002"), k), 201,
                  what="hosted twin")
    check(twin["claims"] == run["claims"] and twin["gate_verdict"] == run["gate_verdict"],
          "same packet, same claims and verdict")
    got = expect(c.request("GET", f"{HR}/{rid}", token=k), 200, what="hosted get")
    check(got["claims"] == run["claims"] and got["metadata"] == packet["metadata"]
          and got["title"] == "Refund answer", "hosted get returns claims and metadata")
    rep = expect(c.request("GET", f"{HR}/{rid}/report", token=k), 200, what="hosted report")
    check(rep.get("schema_version") == "kivo_claim_report.v1" and rep["claims"] == run["claims"]
          and rep["review_run_id"] == rid, "report is the claim report of the run")
    page = expect(c.request("GET", f"{HR}?limit=1", token=k), 200, what="hosted list")
    check(len(page["runs"]) == 1 and page["runs"][0]["review_run_id"] == twin["review_run_id"]
          and page["next_cursor"], "hosted list newest first with a cursor")
    page2 = expect(c.request("GET", f"{HR}?limit=1&cursor={page['next_cursor']}", token=k), 200,
                   what="hosted list page 2")
    check(page2["runs"][0]["review_run_id"] == rid, "hosted page 2")
    expect(c.request("GET", f"{HR}/{rid}", token=keys["other"]), 403, "forbidden",
           what="hosted run of another project")
    expect(c.request("DELETE", f"{HR}/{rid}", token=keys["review_read"]), 403, "forbidden",
           what="delete without review_runs:write")
    gone = expect(c.request("DELETE", f"{HR}/{rid}", token=k), 200, what="hosted delete")
    check(gone.get("status") == "deleted" and gone["removed"]["packet"] is True
          and gone["removed"]["claims"] == run["claim_count"] and gone["removed"]["report"]
          and gone["removed"]["metadata"] is True, f"delete answer {gone}")
    after = expect(c.request("GET", f"{HR}/{rid}", token=k), 200, what="get after delete")
    check(after["status"] == "deleted" and after["claims"] is None and "metadata" not in after
          and "title" not in after and after["gate_verdict"] == run["gate_verdict"],
          "after delete: verdict kept, packet gone")
    expect(c.request("GET", f"{HR}/{rid}/report", token=k), 404, "not_found",
           what="report after delete")
    second = expect(c.request("DELETE", f"{HR}/{rid}", token=k), 200, what="second delete")
    check(second["removed"]["packet"] is False, "a second delete removes nothing")
    row = t.sql(srv.db, "SELECT packet, claims, report FROM hosted_runs WHERE run_id=?",
                (rid,))[0]
    check(row == (None, None, None), "delete removed packet, claims and report from the store")
    bad = dict(packet, customer_run_id="h3", sources=[])
    expect(c.request("POST", HR, bad, k), 400, "schema_violation", "sources", what="no sources")
    bad = dict(packet, customer_run_id="h4",
               sources=[{"source_id": f"s{i}", "text": "x"} for i in range(201)])
    expect(c.request("POST", HR, bad, k), 400, "schema_violation", "sources",
           what="201 sources")
    expect(c.request("POST", HR, dict(packet, customer_run_id="h5", surprise=1), k), 400,
           "schema_violation", "surprise", what="hosted closed schema")
    # Hosted bodies carry the output: raw field names are not rejected there.
    expect(c.request("POST", HR, dict(packet, customer_run_id="h6",
                                      metadata={"prompt": "fine here"}), k), 201,
           what="hosted metadata may use any key")
    c.close()


def limits(d, k_db):
    db = t.new_db(d, "limits")
    k = t.make_key(db)
    srv = t.Server(db, "--max-hosted-body", "8K", "--rate-limit", "0", "--quiet").start()
    c = srv.client()
    big = json.dumps(t.create_body("big", title="x" * 10)).encode()
    big = big[:-1] + b', "pad": "' + b"y" * (70 * 1024) + b'"}'
    expect(c.request("POST", PW, big, k), 413, "payload_too_large", what="65 KiB worker body")
    packet = {"schema_version": "kivo_review_run_create.v1", "customer_run_id": "big",
              "workflow_id": "w", "output": "z" * 9000, "sources": [{"source_id": "s",
                                                                      "text": "z"}]}
    expect(c.request("POST", HR, packet, k), 413, "payload_too_large", what="hosted over 8K")
    # Declared too large: answered from the headers, before any body byte is sent.
    s = socket.create_connection((t.HOST, srv.port), timeout=10)
    s.sendall(f"POST {PW} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\n"
              f"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n".encode())
    head = s.recv(4096).decode(errors="replace")
    s.close()
    check(head.startswith("HTTP/1.1 413"), f"413 from Content-Length alone: {head[:60]!r}")
    # Chunked upload with no length: counted as it arrives.
    s = socket.create_connection((t.HOST, srv.port), timeout=10)
    s.sendall(f"POST {PW} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\n"
              f"Transfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"a" * 16384
    for _ in range(5):
        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    s.sendall(b"0\r\n\r\n")
    head = s.recv(4096).decode(errors="replace")
    s.close()
    check(head.startswith("HTTP/1.1 413"), f"413 for a chunked body: {head[:60]!r}")
    # Unauthenticated uploads are refused from the headers too.
    s = socket.create_connection((t.HOST, srv.port), timeout=10)
    s.sendall(f"POST {PW} HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n".encode())
    head = s.recv(4096).decode(errors="replace")
    s.close()
    check(head.startswith("HTTP/1.1 401"), f"401 before the body: {head[:60]!r}")
    c.close()

    # The port is taken: serve says so and exits 1.
    busy = t.run_cli("serve", "--db", db, "--listen", f"127.0.0.1:{srv.port}", "--quiet")
    check(busy.returncode == 1, f"serve on a port in use exits 1 (got {busy.returncode})")
    check(srv.stop() == 0, "limits server exits 0")

    db = t.new_db(d, "rate")
    k = t.make_key(db)
    srv = t.Server(db, "--rate-limit", "1", "--rate-burst", "3", "--quiet").start()
    c = srv.client()
    got = [c.request("GET", PW, token=k) for _ in range(5)]
    statuses = [g[0] for g in got]
    check(statuses[:3] == [200, 200, 200] and 429 in statuses[3:], f"rate limit: {statuses}")
    limited = next((g for g in got if g[0] == 429), None)
    if limited:
        expect(limited, 429, "rate_limited", what="429 body")
        check(int(limited[1].get("Retry-After", "0")) >= 1, "429 has Retry-After")
    c.close()
    check(srv.stop() == 0, "rate server exits 0")


def migrations_pg(d):
    """The PostgreSQL store: a new database is at the SQLite store's latest version, a newer one
    is refused, and two processes migrating one empty database at once both succeed."""
    db = t.new_db(d, "future")
    t.make_key(db)
    check(t.sql(db, "SELECT version FROM kivo_schema") == [("4",)],
          "a new PostgreSQL database is at version 4")
    t.sql(db, "UPDATE kivo_schema SET version = 99")
    r = t.run_cli("serve", "--db", db, "--listen", f"127.0.0.1:{t.free_port()}", "--quiet")
    check(r.returncode == 1 and "newer" in r.stderr, f"a newer database is refused: {r.stderr}")
    db = t.new_db(d, "race")
    procs = [__import__("subprocess").Popen([t.BIN, "keys", "list", "--db", db],
                                            stdout=-1, stderr=-1) for _ in range(4)]
    codes = [p.wait(60) for p in procs]
    tables = {n for (n,) in t.sql(db, "SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    check(codes == [0, 0, 0, 0] and {"api_keys", "pw_runs", "pw_events", "hosted_runs",
                                     "kivo_schema"} <= tables,
          f"four processes migrate one new database together: {codes} {tables}")
    db = t.new_db(d, "migrate_cmd")
    r = t.run_cli("migrate", "--db", db)
    check(r.returncode == 0 and r.stdout.startswith("PostgreSQL dbname=migrate_cmd")
          and r.stdout.rstrip().endswith(": schema 4") and
          t.sql(db, "SELECT version FROM kivo_schema") == [("4",)],
          f"migrate on PostgreSQL: {r.stdout} {r.stderr}")
    r = t.run_cli("keys", "list", "--db", "postgresql:///nosuchdb?host=/nonexistent")
    check(r.returncode == 1 and "cannot connect to PostgreSQL" in r.stderr,
          f"an unreachable database exits 1 with a message: {r.stderr}")


def migrations(d):
    if t.BACKEND == "postgresql":
        return migrations_pg(d)
    db = os.path.join(d, "future.db")
    t.make_key(db)
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA user_version").fetchone()[0] == 4, "a new database is at version 4")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    r = t.run_cli("serve", "--db", db, "--listen", f"127.0.0.1:{t.free_port()}", "--quiet")
    check(r.returncode == 1 and "newer" in r.stderr, f"a newer database is refused: {r.stderr}")
    db = os.path.join(d, "v0.db")
    sqlite3.connect(db).close()
    r = t.run_cli("keys", "list", "--db", db)
    con = sqlite3.connect(db)
    tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    check(r.returncode == 0 and {"api_keys", "pw_runs", "pw_events", "hosted_runs"} <= tables,
          "an empty database is migrated forward")
    # A version-1 database (as the first release left it) gains migrations 2, 3 and 4 on open.
    db = os.path.join(d, "v1.db")
    t.make_key(db)
    con = sqlite3.connect(db)
    con.execute("DROP INDEX pw_runs_by_status")
    con.execute("DROP INDEX hosted_runs_by_status")
    con.execute("ALTER TABLE pw_runs DROP COLUMN key_id")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    check(t.run_cli("keys", "list", "--db", db).returncode == 0, "keys list on a v1 database")
    con = sqlite3.connect(db)
    idx = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    cols = {r[1] for r in con.execute("PRAGMA table_info(pw_runs)")}
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()
    check(ver == 4 and "pw_runs_by_status" in idx and "pw_runs_by_batch" in idx and
          "key_id" in cols and "batch_id" in cols, "migrations 1 -> 2 -> 3 -> 4 applied")


def sigterm_in_flight(d):
    db = t.new_db(d, "term")
    k = t.make_key(db)
    srv = t.Server(db, "--quiet").start()
    body = json.dumps(t.create_body("in_flight")).encode()
    s = socket.create_connection((t.HOST, srv.port), timeout=60)
    # "100 Continue" says the server has the head: the request is in flight from then on (a sleep
    # could end before a loaded machine's server read it, and SIGTERM would find nothing to wait
    # for).
    s.sendall(f"POST {PW} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\n"
              f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
    cont = b""
    while not cont.endswith(b"\r\n\r\n"):
        part = s.recv(1)
        if not part:
            break
        cont += part
    check(cont.startswith(b"HTTP/1.1 100"), f"the head is taken in: {cont[:40]!r}")
    s.sendall(body[:20])
    srv.proc.send_signal(signal.SIGTERM)
    # The server logs the signal once it refuses new connections (it drains from then on).
    deadline = time.monotonic() + 60
    while "finishing requests in flight" not in open(srv.log, errors="replace").read():
        if time.monotonic() > deadline or srv.proc.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    check(srv.proc.poll() is None, "server waits for the request in flight")
    # While it drains, a new connection is closed unanswered (the listen socket stays open until
    # the server stops: libmicrohttpd's quiesce raced its own threads and aborted the server).
    try:
        s2 = socket.create_connection((t.HOST, srv.port), timeout=5)
        s2.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        late = s2.recv(4096)
        s2.close()
    except OSError:
        late = b""
    check(late == b"", f"a connection made while draining is not served: {late[:40]!r}")
    s.sendall(body[20:])
    resp = b""
    while b"\r\n\r\n" not in resp:
        part = s.recv(4096)
        if not part:
            break
        resp += part
    s.close()
    check(resp.startswith(b"HTTP/1.1 201"), f"in-flight request answered: {resp[:40]!r}")
    try:
        code = srv.proc.wait(20)
    except Exception:
        code = None
    check(code == 0, f"SIGTERM exit code {code}")
    n = t.sql(db, "SELECT count(*) FROM pw_runs WHERE customer_run_id='in_flight'")[0][0]
    check(int(n) == 1, "the in-flight create was committed")


def metrics(srv):
    c = srv.client()
    st, hdrs, text = c.request("GET", "/metrics")
    check(st == 200 and hdrs.get("Content-Type", "").startswith("text/plain"), "metrics 200")
    for needle in ('kivo_api_requests_total{route="/v1/private-worker/review-runs",method="POST",'
                   'status="201"}',
                   'kivo_api_request_duration_seconds_bucket{route="/v1/review-runs",le="+Inf"}',
                   'kivo_api_runs{kind="private_worker",status="completed"}',
                   'kivo_api_runs{kind="hosted",status="deleted"} 1',
                   'kivo_api_events_accepted_total{event_type="completed"}',
                   'kivo_api_events_replayed_total',
                   'kivo_api_events_rejected_total{reason="conflict_sequence"} 2',
                   'kivo_api_events_rejected_total{reason="raw_fields_rejected"} 7',
                   'kivo_api_events_rejected_total{reason="conflict_event_id"} 2'):
        check(needle in text, f"metrics has {needle}")
    check("kivo_sk_" not in text and "kivo_wc_" not in text and "acme" not in text,
          "metrics carry no tokens or projects")
    c.close()


ROUTES = {"unknown", "/healthz", "/metrics", PW, PW + "/{id}", PW + "/{id}/events", HR,
          HR + "/{id}", HR + "/{id}/report", HR + "/{id}/packet", "/app/"}
LOG_KEYS = ["time", "level", "request_id", "method", "route", "status", "duration_ms", "project"]


def request_ids(srv, key):
    """X-Request-Id: made by the server, or the client's own when it is safe, in answer and log."""
    c = srv.client()
    st, h, _ = c.request("GET", "/healthz")
    check(st == 200 and re.fullmatch(r"[0-9a-f]{16}", h.get("X-Request-Id", "")),
          "X-Request-Id made by the server: %r" % h.get("X-Request-Id"))
    first = h["X-Request-Id"]
    st, h, _ = c.request("GET", "/healthz")
    check(h.get("X-Request-Id") != first, "two requests, one id")
    st, h, _ = c.request("GET", PW + "?limit=1", token=key, headers={"X-Request-Id": "trace-7.a:b"})
    check(st == 200 and h.get("X-Request-Id") == "trace-7.a:b", "the client's id is kept: %r" % h)
    for bad in ("a b", "x" * 65, "<script>", "id\u00e9"):
        st, h, _ = c.request("GET", "/healthz", headers={"X-Request-Id": bad.encode("utf-8")
                                                        .decode("latin-1")})
        check(re.fullmatch(r"[0-9a-f]{16}", h.get("X-Request-Id", "")),
              "an unsafe client id %r is replaced: %r" % (bad, h.get("X-Request-Id")))
    st, h, _ = c.request("GET", PW + "/rr_nothere/events?x=kivo_sk_pasted", token=key)
    c.close()


def json_log(log):
    """--log-format json: every line one object; request lines with the contract's keys, route
    templates only, the ids the answers carried."""
    lines = [l for l in log.splitlines() if l.strip()]
    check(len(lines) > 50, "the JSON log has %d lines" % len(lines))
    reqs = []
    for l in lines:
        try:
            o = json.loads(l)
        except ValueError:
            check(False, "not a JSON line: %r" % l[:200])
        check(isinstance(o, dict) and o.get("level") in ("info", "warn", "error") and
              isinstance(o.get("time"), str), "line without time/level: %r" % l[:200])
        if "request_id" in o:
            reqs.append(o)
            check(list(o)[:len(LOG_KEYS)] == LOG_KEYS, "keys %s" % list(o))
            check(o["route"] in ROUTES, "a route that is not a template: %r" % o["route"])
            check(isinstance(o["status"], int) and isinstance(o["duration_ms"], (int, float)),
                  "types: %r" % o)
            check(o["level"] == ("error" if o["status"] >= 500 else
                                 "warn" if o["status"] >= 400 else "info"), "level: %r" % o)
            check(o["project"] in (None, "acme", "globex"), "project: %r" % o["project"])
        else:
            check(isinstance(o.get("msg"), str), "a server line without msg: %r" % o)
    check(any(o["method"] == "POST" and o["route"] == PW and o["status"] == 201 and
              o["project"] == "acme" for o in reqs), "a create with its project is logged")
    check(any(o["request_id"] == "trace-7.a:b" for o in reqs), "the client's request id")
    check("rr_nothere" not in log and "pasted" not in log, "a raw path reached the log")
    check(any(o.get("msg", "").startswith("listening on") for o in map(json.loads, lines)),
          "the server's own lines are JSON too")


def main():
    d = t.tmpdir()
    cli_checks(d)
    db = t.new_db(d, "api")
    keys = {
        "all": t.make_key(db),
        "other": t.make_key(db, project="globex"),
        "pw_read": t.make_key(db, scopes="private_worker:read"),
        "review": t.make_key(db, scopes="review_runs:read,review_runs:write"),
        "review_read": t.make_key(db, scopes="review_runs:read"),
        "revoked": t.make_key(db),
    }
    t.run_cli("keys", "revoke", "--db", db, "--prefix", keys["revoked"][:16])
    srv = t.Server(db, "--log-format", "json").start()
    request_ids(srv, keys["all"])
    auth_matrix(srv, keys, d)
    expiry(d)
    bad_bodies(srv, keys["all"])
    mutations(srv, keys["all"])
    schema_and_raw(srv, keys["all"])
    events(srv, keys["all"])
    listing(srv, keys["all"])
    hosted(srv, keys)
    metrics(srv)
    limits(d, db)
    sigterm_in_flight(d)
    migrations(d)
    check(srv.stop() == 0, "main server exits 0 on SIGTERM")
    log = open(srv.log, encoding="utf-8", errors="replace").read()
    check("kivo_sk_" not in log and "kivo_wc_" not in log, "no token in the server log")
    json_log(log)
    # Every token the suite used, in every server log it wrote (issue 18).
    logs = glob.glob(os.path.join(d, "**", "*.log"), recursive=True)
    check(len(logs) >= 3 and len(t.TOKENS) >= 8, "logs %d, tokens %d" % (len(logs), len(t.TOKENS)))
    leaked = t.logs_without_tokens(logs)
    check(not leaked, "tokens in the server logs: %s" % leaked)
    if t.BACKEND == "postgresql":
        check(t.sql(db, "SELECT version FROM kivo_schema") == [("4",)], "schema version recorded")
    else:
        con = sqlite3.connect(db)
        check(con.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "database in WAL mode")
        check(con.execute("PRAGMA user_version").fetchone()[0] >= 1, "schema version recorded")
        con.close()
    t.finish()


if __name__ == "__main__":
    main()
