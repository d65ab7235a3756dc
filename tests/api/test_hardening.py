"""test_hardening.py - issue 12's server findings, each on the real kivo-api over loopback.

- the database: created only with --create (serve and keys create), mode 0600 less the umask,
  a bad scope named; removed or replaced under a running server: /healthz 503, writes refused,
  the log says why, and a restart does not make a new empty one;
- a full disk (a file size limit set on the running server): the log names the real error, not
  "cannot rollback", /healthz is 503 until a write works again;
- a truncated or immutable -shm: requests refused with 503 instead of a silent SIGBUS, and the
  SIGBUS that does come is logged;
- bodies and URLs that gave a 500 or a wrong 200: an unknown field cut inside a character,
  \\u0000 in a hosted output, /healthz%00x, %00 in a query, duplicate query parameters, control
  and bidi characters in ids;
- deleted hosted runs: the identical body again is 409, the body digest is gone, and the deleted
  text is in neither the database file nor the WAL;
- revoking a key revokes the worker credentials it was issued.
"""
import json
import os
import resource
import signal
import socket
import sqlite3
import stat
import subprocess
import time

import apitest as t
from apitest import PW, HR, check, expect

MARKER = "Quokkazebra7731"


def packet(cid, output="The Lumen Home Hub costs $10. It ships in two days.", **over):
    b = {"schema_version": "kivo_review_run_create.v1", "customer_run_id": cid,
         "workflow_id": "wf", "output": output,
         "sources": [{"source_id": "kb", "title": "Price list",
                      "text": "The Lumen Home Hub costs $10. Shipping takes two days."}]}
    b.update(over)
    return b


def raw(port, data, timeout=10):
    """Sends raw bytes on a new connection; returns everything read until the server closes or
    one full answer (head and Content-Length body) arrived."""
    s = socket.create_connection((t.HOST, port), timeout=timeout)
    s.sendall(data)
    got = b""
    try:
        while True:
            part = s.recv(65536)
            if not part:
                break
            got += part
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep:
                n = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        n = int(v.strip())
                if len(body) >= n:
                    break
    except socket.timeout:
        pass
    s.close()
    return got


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def json_of(resp):
    return json.loads(resp.partition(b"\r\n\r\n")[2] or b"null")


def log_of(srv):
    with open(srv.log, encoding="utf-8", errors="replace") as f:
        return f.read()


def wait_exit(srv, timeout=20):
    try:
        return srv.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        srv.kill9()
        return None


# ---- the database file ------------------------------------------------------------------------

def databases(d):
    db = os.path.join(d, "nothere.db")
    r = t.run_cli("keys", "create", "--db", db, "--project", "acme", "--scopes",
                  "review_runs:read")
    check(r.returncode == 1 and r.stdout == "" and "--create" in r.stderr
          and not os.path.exists(db), f"keys create on a missing database refuses: {r.stderr}")
    r = t.run_cli("serve", "--db", db, "--listen", f"127.0.0.1:{t.free_port()}")
    check(r.returncode == 1 and "does not exist" in r.stderr and "--create" in r.stderr
          and not os.path.exists(db), f"serve on a missing database refuses: {r.stderr}")
    r = t.run_cli("keys", "list", "--db", db)
    check(r.returncode == 1 and not os.path.exists(db), "keys list does not create a database")
    r = t.run_cli("keys", "create", "--create", "--db", db, "--project", "acme", "--scopes",
                  "review_runs:read,reviews:write")
    check(r.returncode == 2 and "'reviews:write'" in r.stderr and not os.path.exists(db),
          f"a bad scope is named: {r.stderr}")
    r = t.run_cli("keys", "list", "--create", "--db", db)
    check(r.returncode == 2, "--create is for keys create only")

    # migrate: refuses a missing database, makes it with --create (mode 0600, the latest schema,
    # the one a serve on it finds: no migration left), and is idempotent.
    r = t.run_cli("migrate", "--db", db)
    check(r.returncode == 1 and "--create" in r.stderr and not os.path.exists(db),
          f"migrate on a missing database refuses: {r.stderr}")
    latest = int(t.run_cli("--version").stdout.rsplit("schema", 1)[1].strip(" )\n"))
    for attempt in ("first", "again"):
        r = t.run_cli("migrate", "--create", "--db", db)
        check(r.returncode == 0 and r.stdout == f"{db}: schema {latest}\n",
              f"migrate --create ({attempt}): {r.returncode} {r.stdout!r} {r.stderr!r}")
    con = sqlite3.connect(db)
    got = con.execute("PRAGMA user_version").fetchone()[0]
    con.close()
    check(got == latest, f"migrate left user_version {got}, not {latest}")
    check(stat.S_IMODE(os.stat(db).st_mode) & 0o077 == 0, "migrate's database is private")
    r = t.run_cli("keys", "create", "--db", db, "--project", "acme", "--scopes", "review_runs:read")
    check(r.returncode == 0, f"keys create on a migrated database: {r.stderr}")
    os.unlink(db)

    # Mode 0600 less the umask; -wal and -shm take the database file's mode.
    for mask, want in ((0o022, 0o600), (0o077, 0o600), (0o277, 0o400)):
        path = os.path.join(d, f"mode{mask:o}.db")
        r = subprocess.run([t.BIN, "keys", "create", "--create", "--db", path, "--project", "a",
                            "--scopes", "review_runs:read"], capture_output=True, text=True,
                           preexec_fn=lambda m=mask: os.umask(m), timeout=60)
        got = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
        check(got == want, f"umask {mask:o}: database mode {got and oct(got)} != {oct(want)} "
                           f"({r.stderr.strip()})")
    path = os.path.join(d, "mode22.db")
    srv = t.Server(path).start()
    for suffix in ("-wal", "-shm"):
        got = stat.S_IMODE(os.stat(path + suffix).st_mode)
        check(got == 0o600, f"{suffix} mode {oct(got)}")
    check(srv.stop() == 0, "mode server stops")


def deleted_database(d):
    db = os.path.join(d, "gone.db")
    k = t.make_key(db)
    srv = t.Server(db).start()
    c = srv.client()
    run = expect(c.request("POST", HR, packet("before"), k), 201, what="create before removal")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    st, _, body = c.request("GET", "/healthz")
    check(st == 503 and body.get("status") == "unavailable" and "removed" in body.get("problem", "")
          and d not in json.dumps(body), f"healthz after removal: {st} {body}")
    expect(c.request("POST", HR, packet("after"), k), 503, "unavailable",
           what="a write after the removal is refused")
    expect(c.request("POST", PW, t.create_body("after"), k), 503, "unavailable",
           what="a private-worker write after the removal is refused")
    # A thread with its connection open reads on from the unlinked file; a thread that must open
    # one now cannot (the file is gone, and is not made again): 503. Never a 404 from a new one.
    for _ in range(8):
        st, _, got = c.request("GET", f"{HR}/{run['review_run_id']}", token=k)
        check(st == 503 or (st == 200 and got.get("review_run_id") == run["review_run_id"]),
              f"a read after the removal: {st} {got}")
    c.close()
    log = log_of(srv)
    check("was removed while the server ran" in log and db in log,
          "the log says which file went and why writes stop")
    check(srv.stop() == 0, "server with a removed database stops cleanly")
    check(not os.path.exists(db), "stopping does not recreate the database")
    r = t.run_cli("serve", "--db", db, "--listen", f"127.0.0.1:{t.free_port()}")
    check(r.returncode == 1 and not os.path.exists(db),
          "a restart does not silently make a new empty database")

    # Replaced (a new inode at the same path): the same, from the -wal as well.
    db = os.path.join(d, "swap.db")
    k = t.make_key(db)
    srv = t.Server(db).start()
    c = srv.client()
    expect(c.request("POST", HR, packet("x1"), k), 201, what="create before replacement")
    os.rename(db, db + ".old")
    with open(db + ".old", "rb") as src, open(db, "wb") as dst:
        dst.write(src.read())
    st, _, body = c.request("GET", "/healthz")
    check(st == 503, f"healthz after the file was replaced: {st}")
    expect(c.request("DELETE", f"{HR}/rr_0123456789abcdef0123456789abcdef", token=k), 503,
           "unavailable", what="a delete after replacement is refused")
    c.close()
    check("was replaced by another file" in log_of(srv), "the log says the file was replaced")
    srv.kill9()


def full_disk(d):
    """A file size limit on the running server stands in for a full disk: SQLite's writes past it
    fail (EFBIG; SIGXFSZ is ignored by the server). The server logs JSON lines here: a store error
    met while answering a request is one of them too, not a plain text line in a JSON log."""
    db = os.path.join(d, "full.db")
    k = t.make_key(db)
    srv = t.Server(db, "--log-format", "json").start()
    c = srv.client()
    expect(c.request("POST", HR, packet("fits"), k), 201, what="create before the disk fills")
    soft, hard = resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (4096, hard))
    big = packet("full", output="The hub costs $10. " * 2000)
    st, _, body = c.request("POST", HR, big, k)
    check(st == 500 and body["error"]["code"] == "internal", f"a write on a full disk: {st} {body}")
    st, _, health = c.request("GET", "/healthz")
    check(st == 503 and "writes to the database fail" in health.get("problem", ""),
          f"healthz on a full disk: {st} {health}")
    log = log_of(srv)
    check("cannot rollback" not in log, "the log does not say 'cannot rollback'")
    check("disk is full" in log or "disk I/O error" in log,
          f"the log names the real error: {log[-600:]}")
    lines = [ln for ln in log.splitlines() if ln.strip()]
    not_json = []
    for ln in lines:
        try:
            json.loads(ln)
        except ValueError:
            not_json.append(ln)
    check(not not_json, f"every line of a --log-format json log is JSON: {not_json[:3]}")
    check(any(json.loads(ln).get("level") == "error" and "disk" in json.loads(ln).get("msg", "")
              for ln in lines if ln not in not_json),
          "the store error is a JSON line with level error")
    check(srv.proc.poll() is None, "the server lives on")
    resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
    time.sleep(1.1)                   # one probe write a second at most
    st, _, health = c.request("GET", "/healthz")
    check(st == 200, f"healthz once the disk has room again: {st} {health}")
    expect(c.request("POST", HR, big, k), 201, what="the write works again")
    c.close()
    check(srv.stop() == 0, "full-disk server stops")


def shm(d):
    db = os.path.join(d, "shm.db")
    k = t.make_key(db)
    srv = t.Server(db, "--threads", "2").start()
    c = srv.client()
    expect(c.request("POST", HR, packet("s1"), k), 201, what="create before -shm trouble")
    # chattr +i needs CAP_LINUX_IMMUTABLE and a file system that has the flag.
    if subprocess.run(["chattr", "+i", db + "-shm"], capture_output=True).returncode == 0:
        time.sleep(0.2)               # requests see the files' state as of at most 100 ms ago
        try:
            expect(c.request("POST", HR, packet("s2"), k), 503, "unavailable",
                   what="a write with an immutable -shm is refused, not a SIGBUS")
            expect(c.request("GET", f"{HR}?limit=1", token=k), 503, "unavailable",
                   what="a read with an immutable -shm is refused")
            check(c.request("GET", "/healthz")[0] == 503, "healthz with an immutable -shm")
        finally:
            subprocess.run(["chattr", "-i", db + "-shm"], capture_output=True)
            time.sleep(0.2)
        check(srv.proc.poll() is None, "the server lived through an immutable -shm")
        expect(c.request("POST", HR, packet("s3"), k), 201, what="writes work once it is fixed")
        check("-shm is immutable" in log_of(srv), "the log names the immutable -shm")
    else:
        print("NOTE: chattr +i is not permitted here; the immutable -shm case is not run",
              flush=True)
    os.truncate(db + "-shm", 0)
    time.sleep(0.2)
    expect(c.request("POST", HR, packet("s4"), k), 503, "unavailable",
           what="a write with a truncated -shm is refused")
    check(c.request("GET", "/healthz")[0] == 503, "healthz with a truncated -shm")
    check(srv.proc.poll() is None, "the server lived through the request")
    check("shrank from" in log_of(srv), "the log names the truncated -shm")
    c.close()
    # Closing SQLite's connections touches the truncated mapping: SIGBUS, now with last words.
    srv.proc.send_signal(signal.SIGTERM)
    code = wait_exit(srv)
    if code == -signal.SIGBUS:
        check("fatal: SIGBUS" in log_of(srv) and db + "-shm" in log_of(srv),
              "a SIGBUS is logged with the file")
    else:
        check(code == 0, f"server with a truncated -shm exit {code}")


# ---- bodies and URLs ------------------------------------------------------------------------------

def bodies_and_urls(srv, k):
    c = srv.client()
    # An unknown field whose 120-byte cut fell inside a two-byte character: was a 500.
    for pad in (118, 119, 120):
        body = packet(f"cut{pad}")
        body["a" * pad + "é" + "é"] = 1
        got = expect(c.request("POST", HR, body, k), 400, "schema_violation",
                     what=f"unknown field of {pad} + 2-byte characters")
        f = (got.get("error", {}).get("fields") or [""])[0]
        check(len(f.encode()) <= 120 and f.startswith("a" * 10), f"cut field name {f!r}")
    # \u0000 in a hosted output (was a 500): reviewed, stored and read back whole.
    out = "The Lumen Home Hub costs $10.\u0000 It ships in two days."
    run = expect(c.request("POST", HR, packet("nul", output=out), k), 201,
                 what="NUL in a hosted output")
    rid = run.get("review_run_id", "")
    pk = expect(c.request("GET", f"{HR}/{rid}/packet", token=k), 200, what="packet with NUL")
    check(pk.get("output") == out, "the packet keeps the NUL")
    rep = expect(c.request("GET", f"{HR}/{rid}/report", token=k), 200, what="report with NUL")
    check(isinstance(rep, dict) and rep.get("review_run_id") == rid, "report with NUL parses")
    expect(c.request("GET", f"{HR}/{rid}", token=k), 200, what="run with NUL")
    check(expect(c.request("POST", HR, packet("nul", output=out), k), 200,
                 what="NUL packet repeat")["review_run_id"] == rid, "NUL packet repeat is 200")

    # %00 would cut the decoded path or value short.
    for target, want in ((b"/healthz%00x", 404), (b"/healthz%00", 404),
                         (b"/v1/review-runs%00/x", 404), (b"/metrics%00", 404)):
        resp = raw(srv.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close"
                   b"\r\n\r\n")
        check(status_of(resp) == want, f"{target!r}: {resp[:60]!r}")
    resp = raw(srv.port, b"GET /v1/review-runs?workflow_id=wf%00x HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer " + k.encode() + b"\r\nConnection: close\r\n\r\n")
    check(status_of(resp) == 400 and json_of(resp)["error"]["code"] == "schema_violation",
          f"%00 in a query value: {resp[:80]!r}")
    # Over-long targets and heads below libmicrohttpd's own 32 KiB limit are answered as JSON.
    resp = raw(srv.port, b"GET /v1/review-runs?workflow_id=" + b"w" * 10000 + b" HTTP/1.1\r\n"
               b"Host: x\r\nConnection: close\r\n\r\n")
    check(status_of(resp) == 414 and json_of(resp)["error"]["code"] == "uri_too_long",
          f"a 10 KB target: {resp[:120]!r}")
    resp = raw(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
               b"\r\nConnection: close\r\n\r\n")
    check(status_of(resp) == 431 and json_of(resp)["error"]["code"] == "headers_too_large",
          f"a 20 KB head: {resp[:120]!r}")
    # Past libmicrohttpd's own limit it answers itself (HTML, documented); the request state made
    # from the request line must still be freed (the ASan build's leak check at exit).
    resp = raw(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 +
               b"\r\n\r\n")
    check(status_of(resp) in (413, 431), f"a 40 KB head: {resp[:60]!r}")
    resp = raw(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n")
    check(status_of(resp) == 400, f"a header line without a colon: {resp[:60]!r}")
    # Duplicate query parameters: which one wins is not the client's guess to make.
    expect(c.request("GET", f"{HR}?limit=5&limit=6", token=k), 400, "schema_violation", "limit",
           what="duplicate limit")
    expect(c.request("GET", f"{PW}?status=created&status=failed", token=k), 400,
           "schema_violation", "status", what="duplicate status")
    expect(c.request("GET", f"{HR}?limit=5&workflow_id=wf", token=k), 200,
           what="distinct parameters")

    # Control and bidi characters in ids, names and labels.
    for ch in ("\u0085", "\u202e", "\u2066", "\u200f", "\u0001"):
        expect(c.request("POST", HR, packet(f"bidi{ch}x"), k), 400, "schema_violation",
               "customer_run_id", what=f"U+{ord(ch):04X} in a hosted customer_run_id")
        expect(c.request("POST", PW, t.create_body("ok_id", workflow_id=f"wf{ch}"), k), 400,
               "schema_violation", "workflow_id", what=f"U+{ord(ch):04X} in a workflow_id")
        src = packet(f"bidisrc{ord(ch)}")
        src["sources"][0]["source_id"] = f"kb{ch}"
        expect(c.request("POST", HR, src, k), 400, "schema_violation", "sources[0].source_id",
               what=f"U+{ord(ch):04X} in a source_id")
    expect(c.request("POST", HR, packet("caf\u00e9_\u05e9\u05dc\u05d5\u05dd"), k), 201,
           what="other non-ASCII ids pass")
    c.close()


# ---- deleted hosted runs ------------------------------------------------------------------------

def deleted_runs(srv, k):
    c = srv.client()
    body = packet("del_1", output=f"The {MARKER} hub costs $10. It ships in two days.",
                  title=f"Title {MARKER}", metadata={"note": f"meta {MARKER}"})
    body["sources"][0]["text"] = f"The {MARKER} hub costs $10. Shipping takes two days."
    run = expect(c.request("POST", HR, body, k), 201, what="create the run to delete")
    rid = run.get("review_run_id", "")
    expect(c.request("DELETE", f"{HR}/{rid}", token=k), 200, what="delete")
    got = expect(c.request("POST", HR, body, k), 409, "conflict", "customer_run_id",
                 what="the identical body again after the delete")
    check("deleted" in got.get("error", {}).get("message", ""), "409 says the run was deleted")
    expect(c.request("POST", HR, dict(body, title="Other"), k), 409, "conflict",
           what="another body with a deleted run's id")
    page = expect(c.request("GET", f"{HR}?status=deleted", token=k), 200, what="deleted list")
    item = next((r for r in page.get("runs", []) if r["review_run_id"] == rid), {})
    check(item.get("status") == "deleted" and item.get("deleted_at", "").endswith("Z"),
          f"a deleted run in the list has deleted_at: {item}")
    page = expect(c.request("GET", f"{HR}?status=completed&limit=1", token=k), 200,
                  what="completed list")
    check(page["runs"] and page["runs"][0]["deleted_at"] is None,
          "a completed run in the list has deleted_at null")
    c.close()
    con = sqlite3.connect(srv.db)
    digest = con.execute("SELECT body_digest FROM hosted_runs WHERE run_id = ?",
                         (rid,)).fetchone()[0]
    con.close()
    check(digest == b"", f"the body digest is dropped: {digest!r}")
    # The text must be in no file of the database: not in the file, not in the WAL.
    for suffix in ("", "-wal"):
        path = srv.db + suffix
        data = open(path, "rb").read() if os.path.exists(path) else b""
        check(MARKER.encode() not in data, f"deleted text still in {os.path.basename(path)}")


def revoked_key(d):
    db = os.path.join(d, "revoke.db")
    k = t.make_key(db)
    keep = t.make_key(db)
    srv = t.Server(db).start()
    c = srv.client()
    a = expect(c.request("POST", PW, t.create_body("rv_a"), k), 201, what="run of the key")
    b = expect(c.request("POST", PW, t.create_body("rv_b"), keep), 201, what="run of another key")
    ev = t.event_body(t.create_body("rv_a"), a["review_run_id"], "started", 1)
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events", ev, a["worker_credential"]),
           202, what="event before the revocation")
    check(t.run_cli("keys", "revoke", "--db", db, "--prefix", k[:16]).returncode == 0,
          "revoke the key")
    ev = t.event_body(t.create_body("rv_a"), a["review_run_id"], "progress", 2)
    got = expect(c.request("POST", f"{PW}/{a['review_run_id']}/events", ev,
                           a["worker_credential"]), 401, "unauthenticated",
                 what="the credential of a revoked key's run")
    check("revoked" in got.get("error", {}).get("message", ""), "401 says revoked")
    expect(c.request("GET", f"{PW}/{a['review_run_id']}", token=a["worker_credential"]), 401,
           "unauthenticated", what="GET with the credential of a revoked key's run")
    ev = t.event_body(t.create_body("rv_b"), b["review_run_id"], "started", 1)
    expect(c.request("POST", f"{PW}/{b['review_run_id']}/events", ev, b["worker_credential"]),
           202, what="another key's credential still works")
    # The same run created again by a live key gets a credential of that key.
    again = expect(c.request("POST", PW, t.create_body("rv_a"), keep), 200,
                   what="the revoked key's run re-created by a live key")
    ev = t.event_body(t.create_body("rv_a"), a["review_run_id"], "progress", 3)
    expect(c.request("POST", f"{PW}/{a['review_run_id']}/events", ev,
                     again["worker_credential"]), 202, what="the re-issued credential works")
    c.close()
    check(srv.stop() == 0, "revoke server stops")


def main():
    d = t.tmpdir()
    databases(d)
    db = os.path.join(d, "main.db")
    k = t.make_key(db)
    srv = t.Server(db).start()
    bodies_and_urls(srv, k)
    deleted_runs(srv, k)
    check(srv.proc.poll() is None, "the main server lived through every request")
    check(srv.stop() == 0, "main server exits 0")
    check("kivo_sk_" not in log_of(srv), "no token in the log")
    revoked_key(d)
    deleted_database(d)
    full_disk(d)
    shm(d)
    t.finish()


if __name__ == "__main__":
    main()
