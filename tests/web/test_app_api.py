#!/usr/bin/env python3
"""kivo-api's reviewer page and packet endpoint, over HTTP (tests/api/apitest.py's harness).

    test_app_api.py build/kivo-api

/app/ and its two assets without auth, with the CSP and other headers, the same bytes as
src/web/; /app redirects; unknown assets are 404; only GET. GET /v1/review-runs/{id}/packet:
401 without a token, 403 without review_runs:read, for a worker credential and for another
project's run, 404 for an unknown run and after DELETE, and otherwise the exact output and
sources that were posted (hostile text included), in order, with null titles where none was sent.
"""
import os
import sys

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
import apitest as t  # noqa: E402

HOSTILE_OUT = ('Refunds take 5 to 7 business days. </script><script>alert(1)</script> '
               '"><img src=x onerror=alert(2)> javascript:alert(3) \u2028 \u00e9')


def main():
    d = t.tmpdir()
    db = os.path.join(d, "kivo.db")
    key = t.make_key(db)
    other = t.make_key(db, project="other")
    pw_only = t.make_key(db, scopes="private_worker:write,private_worker:read")
    srv = t.Server(db, "--quiet").start()
    c = srv.client()

    # The page and its assets.
    for path, name, ctype in (("/app/", "app.html", "text/html"),
                              ("/app/review.js", "review.js", "text/javascript"),
                              ("/app/review.css", "review.css", "text/css")):
        st, h, body = c.request("GET", path, raw=True)
        t.check(st == 200, f"{path}: status {st}")
        with open(os.path.join(ROOT, "src", "web", name), "rb") as f:
            t.check(body == f.read(), f"{path}: not the bytes of src/web/{name}")
        t.check(h.get("Content-Type", "").startswith(ctype),
                f"{path}: type {h.get('Content-Type')}")
        csp = h.get("Content-Security-Policy", "")
        for part in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                     "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"):
            t.check(part in csp, f"{path}: CSP lacks {part!r}: {csp!r}")
        t.check("unsafe" not in csp, f"{path}: CSP {csp!r}")
        t.check(h.get("X-Content-Type-Options") == "nosniff", f"{path}: nosniff")
        t.check(h.get("Referrer-Policy") == "no-referrer", f"{path}: referrer policy")
    st, h, _ = c.request("GET", "/app", raw=True)
    t.check(st == 308 and h.get("Location") == "/app/", f"/app: {st} {h.get('Location')}")
    for path in ("/app/x.js", "/app/../healthz", "/app/review.js/", "/apps"):
        t.expect(c.request("GET", path), 404, "not_found", what=path)
    st, h, _ = c.request("POST", "/app/", body="{}", raw=True)
    t.check(st == 405 and h.get("Allow") == "GET", f"POST /app/: {st} {h.get('Allow')}")
    st, h, body = c.request("HEAD", "/app/", raw=True)
    t.check(st == 200 and body == b"", f"HEAD /app/: {st} {len(body)} bytes")

    # A hosted run with hostile text, a source without a title.
    sources = [{"source_id": "kb-<b>1</b>", "title": "<script>alert(4)</script>",
                "text": "Refunds are issued within 5 to 7 business days.</script><img src=x>"},
               {"source_id": "kb-2", "text": "Shipping takes 3 to 5 days."}]
    body = {"schema_version": "kivo_review_run_create.v1", "customer_run_id": "app-1",
            "workflow_id": "wf", "output": HOSTILE_OUT, "sources": sources}
    run = t.expect(c.request("POST", t.HR, body, token=key), 201, what="create")
    rid = run["review_run_id"]
    packet = f"{t.HR}/{rid}/packet"

    t.expect(c.request("GET", packet), 401, "unauthenticated", what="packet without a token")
    t.expect(c.request("GET", packet, token=pw_only), 403, "forbidden", what="packet without scope")
    t.expect(c.request("GET", packet, token=other), 403, "forbidden",
             what="another project's packet")
    t.expect(c.request("GET", f"{t.HR}/rr_nosuchrun/packet", token=key), 404, "not_found",
             what="unknown run")
    t.expect(c.request("POST", packet, body={}, token=key), 405, "method_not_allowed",
             what="POST packet")
    got = t.expect(c.request("GET", packet, token=key), 200, what="packet")
    if isinstance(got, dict):
        t.check(got.get("review_run_id") == rid, f"packet run id {got.get('review_run_id')}")
        t.check(got.get("output") == HOSTILE_OUT, "packet output is not the posted text")
        want = [{"source_id": s["source_id"], "title": s.get("title"), "text": s["text"]}
                for s in sources]
        t.check(got.get("sources") == want, f"packet sources {got.get('sources')}")
        # Offsets of the report index the packet's texts.
        rep = t.expect(c.request("GET", f"{t.HR}/{rid}/report", token=key), 200, what="report")
        out = got["output"].encode()
        for cl in rep["claims"]:
            t.check(out[cl["start"]:cl["end"]].decode() == cl["text"],
                    f"claim {cl['claim_id']} is not at its offsets in the packet's output")
    # A worker credential is never accepted where an API key is required.
    pw = t.expect(c.request("POST", t.PW, t.create_body("cred-1"), token=pw_only), 201,
                  what="private-worker create")
    if isinstance(pw, dict):
        t.expect(c.request("GET", packet, token=pw["worker_credential"]), 403, "forbidden",
                 what="packet with a worker credential")

    t.expect(c.request("DELETE", f"{t.HR}/{rid}", token=key), 200, what="delete")
    t.expect(c.request("GET", packet, token=key), 404, "not_found", what="packet after delete")

    # Metrics name the new routes by pattern, never by id.
    st, _, text = c.request("GET", "/metrics")
    t.check('route="/v1/review-runs/{id}/packet"' in text and 'route="/app/"' in text,
            "metrics lack the packet or app route")
    t.check(rid not in text, "a run id in /metrics")
    c.close()
    t.check(srv.stop() == 0, "serve did not exit 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    main()
