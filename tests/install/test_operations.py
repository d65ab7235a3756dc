#!/usr/bin/env python3
"""install_operations: the procedures of docs/operations.md, run against the real kivo-api.

- Online backup: `sqlite3 DB ".backup FILE"` while a client keeps creating runs. The copy passes
  PRAGMA integrity_check, a server started on it knows the same schema version, and every run
  acknowledged before the backup began is in it.
- Key rotation: a second key for the same project and scopes works next to the first; after
  `keys revoke --prefix` of the first, the first is refused (401) and the second still works.
Usage: test_operations.py KIVO_API
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apitest as t  # noqa: E402  (the api tests' helpers: real server, keys, bodies)

SCOPES = "private_worker:write,private_worker:read"


def writer(server, key, acked, stop):
    """Creates runs until stop is set; appends (time acknowledged, run id) for each 201."""
    c = server.client()
    i = 0
    while not stop.is_set():
        st, _, body = c.request("POST", t.PW, t.create_body("ops-%06d" % i), token=key)
        if st == 201:
            acked.append((time.monotonic(), body["review_run_id"]))
        i += 1
    c.close()


def backup(db, key, tmp):
    server = t.Server(db, "--quiet").start()
    acked, stop = [], threading.Event()
    th = threading.Thread(target=writer, args=(server, key, acked, stop))
    th.start()
    while len(acked) < 150 and th.is_alive():
        time.sleep(0.02)
    copy = os.path.join(tmp, "kivo-backup.db")
    began = time.monotonic()
    r = subprocess.run(["sqlite3", db, ".backup '%s'" % copy], capture_output=True, text=True,
                       timeout=120)
    t.check(r.returncode == 0 and r.stderr == "", "sqlite3 .backup: %s" % r.stderr)
    # The writer goes on: wait for a run acknowledged after the backup began (a fixed sleep could
    # end before a loaded machine's next create).
    deadline = time.monotonic() + 60
    while th.is_alive() and not (acked and acked[-1][0] >= began) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    th.join()
    before = [rid for (at, rid) in acked if at < began]
    t.check(len(before) >= 150 and len(acked) > len(before),
            "runs were created before and during the backup (%d, %d)" % (len(before), len(acked)))
    t.check(server.stop() == 0, "the server exits 0 after SIGTERM")

    r = subprocess.run(["sqlite3", copy, "PRAGMA integrity_check"], capture_output=True,
                       text=True, timeout=60)
    t.check(r.stdout.strip() == "ok", "integrity_check of the backup: %r" % r.stdout)
    restored = t.Server(copy, "--quiet").start()
    c = restored.client()
    st, _, health = c.request("GET", "/healthz")
    version = subprocess.run([t.BIN, "--version"], capture_output=True, text=True).stdout
    t.check(st == 200 and ("database schema %s)" % health.get("schema_version")) in version,
            "the backup has this kivo-api's schema: %r vs %r" % (health, version))
    missing = [rid for rid in before
               if c.request("GET", "%s/%s" % (t.PW, rid), token=key)[0] != 200]
    t.check(not missing, "%d runs acknowledged before the backup are missing from it: %s"
            % (len(missing), missing[:3]))
    c.close()
    restored.stop()


def rotate(db):
    old = t.make_key(db, project="rotate", scopes=SCOPES)
    server = t.Server(db, "--quiet").start()
    c = server.client()
    t.expect(c.request("GET", t.PW, token=old), 200, what="old key before rotation")
    new = t.make_key(db, project="rotate", scopes=SCOPES)
    t.expect(c.request("GET", t.PW, token=new), 200, what="new key next to the old one")
    listed = t.run_cli("keys", "list", "--db", db)
    t.check(old[:16] in listed.stdout and new[:16] in listed.stdout and old not in listed.stdout,
            "keys list shows both prefixes and no key")
    r = t.run_cli("keys", "revoke", "--db", db, "--prefix", old[:16])
    t.check(r.returncode == 0, "keys revoke --prefix: %s" % r.stderr)
    t.expect(c.request("GET", t.PW, token=old), 401, what="old key after revoke")
    t.expect(c.request("GET", t.PW, token=new), 200, what="new key after revoke")
    c.close()
    server.stop()


def main():
    tmp = t.tmpdir()
    db = os.path.join(tmp, "kivo.db")
    key = t.make_key(db, scopes=SCOPES)
    backup(db, key, tmp)
    rotate(db)
    t.finish()


if __name__ == "__main__":
    main()
