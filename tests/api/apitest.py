"""apitest.py - shared harness of the kivo-api integration tests (Python standard library only).

Starts the real kivo-api binary on a free 127.0.0.1 port with a temporary database, talks to it
over keep-alive HTTP/1.1, and makes sure no server outlives the test: every started process is
killed at exit, on SIGTERM/SIGINT to the test, and on an uncaught exception.
"""
import atexit
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KIVO_API_BIN", "build/kivo-api")
# The store the tests run against: "sqlite" (a file per database) or "postgresql" (a database per
# new_db() in one real PostgreSQL server this process starts; ctest label api_pg).
BACKEND = os.environ.get("KIVO_TEST_BACKEND", "sqlite")
HOST = "127.0.0.1"
ALL_SCOPES = "review_runs:write,review_runs:read,private_worker:write,private_worker:read"
TOKENS = set()  # every token the tests were given or sent: logs_without_tokens() greps for each
_servers = []
_tmpdirs = []
failures = []


def _cleanup():
    for s in _servers:
        s.kill9()
    if _pg is not None:
        _pg.stop()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_signal(signum, frame):
    _cleanup()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


_pg = None
_db_logs = {}  # database URI -> its server log path, for new_db()'s PostgreSQL databases


def pg():
    """The PostgreSQL server of this test process, started on first use."""
    global _pg
    if _pg is None:
        import pgserver
        _pg = pgserver.PgServer({"fsync": "off", "synchronous_commit": "off"})
    return _pg


def new_db(d, name):
    """A new, empty database named for `name`: the path d/name.db on SQLite, a new database on
    this process's PostgreSQL server (its logs still go to d/name.db.log)."""
    path = os.path.join(d, name + ".db")
    if BACKEND != "postgresql":
        return path
    url = pg().create_db(re.sub(r"[^a-z0-9_]", "_", name.lower()) + "_%d" % len(_db_logs))
    _db_logs[url] = path + ".log"
    return url


def sql(db, query, args=()):
    """Rows of `query` (? placeholders) on either backend, as tuples of str/int/bytes/None on
    SQLite and of str/None on PostgreSQL (psql's text)."""
    if BACKEND != "postgresql":
        import sqlite3
        con = sqlite3.connect(db)
        try:
            rows = con.execute(query, args).fetchall()
            con.commit()
        finally:
            con.close()
        return rows
    parts = query.split("?")
    text = parts[0]
    for a, rest in zip(args, parts[1:]):
        text += ("'" + str(a).replace("'", "''") + "'" if isinstance(a, str) else str(a)) + rest
    dbname = re.search(r"postgresql:///([^?]+)", db).group(1)
    out = pg().psql(dbname, text)
    return [tuple(None if v == "<NULL>" else v for v in line.split("\t"))
            for line in out.splitlines()]


def tmpdir():
    d = tempfile.mkdtemp(prefix="kivo-api-test-")
    _tmpdirs.append(d)
    return d


def sha(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def check(cond, what):
    """Records a failed expectation without stopping, so one run shows every failure."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def expect(resp, status, code=None, field=None, what=""):
    st, _, body = resp
    ok = check(st == status, f"{what}: status {st} != {status}; body {str(body)[:300]}")
    if ok and code is not None:
        got = body.get("error", {}).get("code") if isinstance(body, dict) else None
        ok = check(got == code, f"{what}: code {got} != {code}; body {str(body)[:300]}")
        if ok and isinstance(body, dict):
            err = body["error"]
            check(isinstance(err.get("message"), str) and isinstance(err.get("fields"), list),
                  f"{what}: error shape {err}")
    if ok and field is not None:
        fields = body.get("error", {}).get("fields", [])
        check(field in fields, f"{what}: field {field} not in {fields}")
    if isinstance(body, (dict, list)) or isinstance(body, str):
        text = json.dumps(body) if not isinstance(body, str) else body
        if st >= 400:
            check("kivo_sk_" not in text and "kivo_wc_" not in text,
                  f"{what}: a token appears in an error body")
    return body


def finish():
    if failures:
        print(f"{len(failures)} expectation(s) failed", flush=True)
        sys.exit(1)
    print("all expectations met", flush=True)
    sys.exit(0)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_cli(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, env=env)


def make_key(db, project="acme", scopes=ALL_SCOPES):
    r = run_cli("keys", "create", "--create", "--db", db, "--project", project,
                "--scopes", scopes)
    assert r.returncode == 0, r.stderr
    key = r.stdout.splitlines()[0]
    assert re.fullmatch(r"kivo_sk_[A-Za-z0-9_-]{43,}", key), key
    TOKENS.add(key)
    return key


def logs_without_tokens(paths):
    """The tokens of TOKENS (whole, or their secret part after the 8-letter prefix) found in the
    files at paths: [(path, token)]; empty when the logs hold none."""
    found = []
    for p in paths:
        with open(p, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for tok in TOKENS:
            secret = tok[8:] if len(tok) > 24 else tok
            if tok in text or (len(secret) >= 16 and secret in text):
                found.append((p, tok[:12] + "..."))
    return found


class Server:
    def __init__(self, db, *extra, log=None):
        self.db = db
        self.extra = list(extra)
        self.port = None
        self.proc = None
        self.log = log or _db_logs.get(db) or (db + ".log")
        _servers.append(self)

    def start(self, timeout=60):
        """Starts the server on a free port and waits until it answers /healthz and its own log
        says it listens on that port. free_port() only finds a port that was free a moment ago:
        another test running at the same time can take it before the server binds it. Then the
        server exits saying the port is in use, and it is started again on a new port; and a
        /healthz answer alone could come from that other test's kivo-api, so the server's own
        "listening on" line is what tells it is ours. Any other failure is not retried: it
        raises, with the end of the log printed."""
        for attempt in range(5):
            self.port = free_port()
            mark = os.path.getsize(self.log) if os.path.exists(self.log) else 0
            logf = open(self.log, "ab")
            self.proc = subprocess.Popen(
                [BIN, "serve", "--db", self.db, "--listen", f"{HOST}:{self.port}", *self.extra],
                stdout=subprocess.DEVNULL, stderr=logf)
            logf.close()
            if self._wait_up(mark, timeout):
                return self
            taken = self.proc.poll() is not None and "is already in use" in self._log_from(mark)
            self.kill9()
            if not taken:
                break
        self.show_log("kivo-api did not start on 127.0.0.1:%d" % self.port)
        raise RuntimeError("kivo-api did not start; see " + self.log)

    def _log_from(self, mark):
        try:
            with open(self.log, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _wait_up(self, mark, timeout):
        """True once this server's log (from byte mark) says it listens on self.port and
        /healthz there answers 200; False when the process exits or the timeout passes."""
        listening = f"listening on {HOST}:{self.port} "
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            if listening in self._log_from(mark):
                try:
                    c = http.client.HTTPConnection(HOST, self.port, timeout=5)
                    c.request("GET", "/healthz")
                    st = c.getresponse().status
                    c.close()
                    if st == 200:
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            rc = None
        if rc != 0:
            self.show_log(f"kivo-api exited {rc} after signal {int(sig)}")
        return rc

    def show_log(self, why, lines=40):
        """Prints why and the last lines of the server's log (stderr), so that a failed stop or
        start says what the server said (a sanitizer report, a store error) in the test output."""
        print(f"-- {why}; the end of {self.log}:", flush=True)
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                print("".join(f.readlines()[-lines:]), end="", flush=True)
        except OSError as e:
            print(f"(cannot read the log: {e})", flush=True)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self):
        return Client(self.port)


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects once when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, token=None, headers=None, raw=False):
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
            TOKENS.add(token)
        hdrs.update(headers or {})
        auth = hdrs.get("Authorization", "")
        if auth.startswith("Bearer ") and len(auth) > 7:
            TOKENS.add(auth[7:])
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 1:
                    raise
        if raw:
            return r.status, dict(r.getheaders()), data
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return r.status, dict(r.getheaders()), parsed

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


PW = "/v1/private-worker/review-runs"
HR = "/v1/review-runs"


def create_body(customer_run_id, n_sources=2, **over):
    hashes = [sha(f"source {i} of {customer_run_id}") for i in range(n_sources)]
    b = {
        "schema_version": "kivo_private_worker_review_run_create.v1",
        "customer_run_id": customer_run_id,
        "workflow_id": "support_answer_review",
        "workflow_name": "Support answer review",
        "title": "Support answer check",
        "intended_use": "customer_facing",
        "strictness": "strict",
        "source_count": n_sources,
        "source_hashes": hashes,
        "output_hash": sha("output of " + customer_run_id),
        "worker_id": "worker_support_001",
        "worker_version": "kivo-private-worker.2026-05-09.v1",
        "policy_version": "standard-support-v1",
        "customer_storage_pointer": {"type": "customer_owned", "label": "Customer report store",
                                     "opaque_id": "reports/" + customer_run_id},
    }
    b.update(over)
    return b


def event_body(create, run_id, event_type="completed", sequence=1, event_id=None, **over):
    b = {
        "schema_version": "kivo_private_worker_review_run_event.v1",
        "event_id": event_id or f"evt_{create['customer_run_id']}_{event_type}_{sequence}",
        "event_type": event_type,
        "review_run_id": run_id,
        "customer_run_id": create["customer_run_id"],
        "worker_id": create["worker_id"],
        "worker_version": create["worker_version"],
        "sequence": sequence,
    }
    if event_type == "completed":
        b.update({
            "status": "completed", "gate_verdict": "needs_review",
            "safe_use_status": "needs_review", "claim_count": 18, "unsupported_claim_count": 3,
            "source_count": create["source_count"], "source_hashes": create["source_hashes"],
            "output_hash": create["output_hash"],
            "redacted_failure_categories": ["unsupported_policy_claim"],
            "artifact_summaries": [{"artifact_name": "claim_report",
                                    "artifact_type": "claim_report", "format": "json",
                                    "sha256": sha("report"), "file_count": 1,
                                    "storage_label": "Customer report store"}],
        })
    b.update(over)
    return b
