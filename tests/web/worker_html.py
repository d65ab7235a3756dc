#!/usr/bin/env python3
"""The worker's HTML pages, from the real binary: one case per ctest.

    worker_html.py --worker build/kivo-worker --root . CASE

modes  the example job under --html flagged (default), all and none: index.html and a
       claim_report.html beside exactly the runs the mode picks; a rerun with another mode leaves
       no stale page; no page asks for anything over the network; each carries a CSP meta whose
       hash sources are those of its inlined script and style, and nothing else may run.
xss    tests/web/xss.jsonl (script, "><img onerror=...> and javascript: text in run ids, answers
       and sources): outside the JSON data block no page holds a byte of that text, and the block
       reads back to the exact text.
"""
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

WORKER = ROOT = None
FLAGGED = ("needs_review", "fail")


sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "worker"))
from kivo_testlib import case_main, check  # noqa: E402


def batch(spec, out, *extra):
    # The per-run layout: its claim_report.html pages are what these cases check.
    p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet",
                        "--layout", "per-run"] + list(extra), capture_output=True, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def reports(out):
    """{run folder: claim report} for every claim_report.json under out."""
    found = {}
    for f in glob.glob(os.path.join(out, "reports", "*", "*", "claim_report.json")):
        with open(f, encoding="utf-8") as fh:
            found[os.path.dirname(f)] = json.load(fh)
    return found


def pages(out):
    return {os.path.dirname(f) for f in glob.glob(os.path.join(out, "reports", "*", "*",
                                                                "claim_report.html"))}


def csp_source(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def split_page(path):
    """(html outside the data block, data block text, parsed data) of one page, checked for the
    things every page must be: CSP meta first, hashes matching, nothing external."""
    with open(path, encoding="utf-8") as f:
        html = f.read()
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    check(m, "%s: no CSP meta" % path)
    csp = m.group(1)
    check(m.start() < html.index("<style>") and m.start() < html.index("<script"),
          "%s: the CSP meta comes after a style or script" % path)
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";"))
    check(directives.get("default-src") == "'none'", "%s: default-src %r" % (path, directives))
    check("unsafe" not in csp and "http" not in csp and "*" not in csp, "%s: CSP %s" % (path, csp))
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    check(len(scripts) == 1, "%s: %d executable scripts" % (path, len(scripts)))
    check(directives.get("script-src") == csp_source(scripts[0]),
          "%s: script-src is not the hash of the inlined script" % path)
    check(directives.get("style-src") == csp_source(style),
          "%s: style-src is not the hash of the inlined style" % path)
    d = re.search(r'<script type="application/json" id="kivo-data">(.*?)</script>', html, re.S)
    check(d, "%s: no data block" % path)
    outside = html[:d.start(1)] + html[d.end(1):]
    for bad in ("http://", "https://", "//cdn", "@import", "url(", " src=",
                "<link rel=\"stylesheet"):
        check(bad not in outside, "%s: page refers to %r" % (path, bad))
    check("http://" not in html and "https://" not in html, "%s: an http(s):// reference" % path)
    check(re.findall(r'href="([^"]*)"', outside) == ["data:,"], "%s: links %s" %
          (path, re.findall(r'href="([^"]*)"', outside)))
    for ch in "<>&":
        check(ch not in d.group(1), "%s: %r inside the data block" % (path, ch))
    return outside, d.group(1), json.loads(d.group(1))


def case_modes():
    spec = os.path.join(ROOT, "data", "examples", "job-spec.json")
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    try:
        for mode in ("flagged", "all", "none", "default", "flagged"):
            out = os.path.join(tmp, "out")      # one folder, rerun with each mode in turn
            rc, err = batch(spec, out, *([] if mode == "default" else ["--html", mode]))
            check(rc == 0, "--html %s: exit %d: %s" % (mode, rc, err))
            reps = reports(out)
            check(len(reps) == 30, "--html %s: %d reports" % (mode, len(reps)))
            flagged = {d for d, r in reps.items() if r["gate_verdict"] in FLAGGED}
            check(flagged and len(flagged) < 30, "the example has %d flagged runs" % len(flagged))
            want = {"flagged": flagged, "default": flagged, "all": set(reps), "none": set()}[mode]
            got = pages(out)
            check(got == want, "--html %s: pages for %d runs, want %d (extra %s, missing %s)" %
                  (mode, len(got), len(want), sorted(got - want)[:3], sorted(want - got)[:3]))
            index = os.path.join(out, "index.html")
            check(os.path.exists(index) == (mode != "none"), "--html %s: index.html %s" %
                  (mode, "missing" if mode != "none" else "left behind"))
            if mode == "none":
                continue
            _, _, data = split_page(index)
            check(data["kind"] == "index", "index kind %r" % data["kind"])
            check(data["flagged_total"] == len(flagged), "index counts %d flagged, want %d" %
                  (data["flagged_total"], len(flagged)))
            listed = {os.path.join(out, r["dir"]) for r in data["runs"]}
            check(listed == flagged, "index lists %d runs, want the %d flagged" %
                  (len(listed), len(flagged)))
            ranks = [(FLAGGED.index(r["verdict"]), r["unsupported"]) for r in data["runs"]]
            check(ranks == sorted(ranks, reverse=True), "index not most severe first: %s" % ranks)
            check(all(r["page"] for r in data["runs"]), "index says a flagged run has no page")
            with open(os.path.join(out, "summary.json")) as f:
                check(data["summary"] == json.load(f), "index summary differs from summary.json")
            for d in got:
                outside, _, run = split_page(os.path.join(d, "claim_report.html"))
                check('<body data-kivo="run">' in outside, "%s: not a run page" % d)
                with open(os.path.join(d, "claim_report.json"), "rb") as f:
                    check(run["report"] == json.loads(f.read()), "%s: report differs" % d)
                check(run["index"] == "../../../index.html",
                      "%s: index link %r" % (d, run["index"]))
                src = {s["source_id"]: s["text"] for s in run["packet"]["sources"]}
                for c in run["report"]["claims"]:
                    out_bytes = run["packet"]["output"].encode("utf-8")
                    check(out_bytes[c["start"]:c["end"]].decode("utf-8") == c["text"],
                          "%s: claim %s is not at its offsets" % (d, c["claim_id"]))
                    for e in c["evidence"]:
                        check(e["source_id"] in src and
                              e["end"] <= len(src[e["source_id"]].encode()),
                              "%s: evidence of %s outside its source" % (d, c["claim_id"]))
        # Same input, same pages: byte for byte at 1 and 2 threads.
        a, b = os.path.join(tmp, "t1"), os.path.join(tmp, "t2")
        for o, t in ((a, "1"), (b, "2")):
            rc, err = batch(spec, o, "--threads", t, "--html", "all")
            check(rc == 0, "threads %s: %s" % (t, err))
        for d in pages(a):
            rel = os.path.relpath(d, a)
            with open(os.path.join(d, "claim_report.html"), "rb") as f1, \
                    open(os.path.join(b, rel, "claim_report.html"), "rb") as f2:
                check(f1.read() == f2.read(), "%s differs between 1 and 2 threads" % rel)
        rc, err = batch(spec, os.path.join(tmp, "bad"), "--html", "some")
        check(rc == 2 and "--html" in err, "--html some: exit %d: %s" % (rc, err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


HOSTILE = ("<script", "onerror", "<img", "javascript:", "__pwned", "<!--", "<b>")


def case_xss():
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    try:
        fixture = os.path.join(ROOT, "tests", "web", "xss.jsonl")
        with open(fixture, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump({"schema_version": "kivo_worker_job_spec.v1", "workflow_id": "xss<wf>",
                       "intended_use": "customer_facing", "strictness": "strict",
                       "worker_id": "w1", "inputs": [fixture],
                       "fields": {"customer_run_id": "/customer_run_id", "output": "/output",
                                  "sources": "/sources", "source_id": "/id",
                                  "source_title": "/title", "source_text": "/text"},
                       "report_store": {"path": "./out", "label": "x"}}, f)
        out = os.path.join(tmp, "out")
        rc, err = batch(spec, out, "--html", "all")
        check(rc == 0, "exit %d: %s" % (rc, err))
        got = pages(out)
        check(len(got) == len(records), "%d pages for %d records" % (len(got), len(records)))
        for path in [os.path.join(d, "claim_report.html") for d in got] + \
                [os.path.join(out, "index.html")]:
            outside, block, data = split_page(path)
            low = outside.lower()
            for h in HOSTILE:
                # Our own script mentions none of these; the one <script> element is ours.
                n = low.count(h)
                allowed = 2 if h == "<script" else 0
                check(n == allowed, "%s: %r appears %d times outside the data block" % (path, h, n))
            if data["kind"] == "run":
                rid = data["report"]["customer_run_id"]
                rec = next(r for r in records if r["customer_run_id"] == rid)
                check(data["packet"]["output"] == rec["output"], "%s: output changed" % path)
                check(data["packet"]["sources"][0]["text"] == rec["sources"][0]["text"],
                      "%s: source text changed" % path)
                check(data["packet"]["sources"][0]["title"] == rec["sources"][0]["title"],
                      "%s: source title changed" % path)
            else:
                ids = {r["id"] for r in data["runs"]}
                flagged = {r["customer_run_id"] for r in records
                           if json.load(open(os.path.join(out, "reports", "xss%3Cwf%3E",
                                                          component(r["customer_run_id"]),
                                                          "claim_report.json")))["gate_verdict"]
                           in FLAGGED}
                check(ids == flagged, "index lists %s, want %s" % (ids, flagged))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_rejects():
    """A job with rejects: the index counts them and lists the first ones as rejects.jsonl does
    (file, line, reason), reasons shown as text."""
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    try:
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump({"schema_version": "kivo_worker_job_spec.v1", "workflow_id": "wf",
                       "intended_use": "customer_facing", "strictness": "strict",
                       "worker_id": "w1",
                       "inputs": [os.path.join(ROOT, "tests", "data", "bad_mixed.jsonl"),
                                  os.path.join(ROOT, "tests", "data", "bad_malformed_json.jsonl")],
                       "fields": {"customer_run_id": "/customer_run_id", "output": "/output",
                                  "sources": "/sources", "source_id": "/id",
                                  "source_title": "/title", "source_text": "/text"},
                       "report_store": {"path": "./out", "label": "x"}}, f)
        out = os.path.join(tmp, "out")
        rc, err = batch(spec, out)
        check(rc == 3, "exit %d, want 3 (rejects): %s" % (rc, err))
        with open(os.path.join(out, "rejects.jsonl"), encoding="utf-8") as f:
            rejects = [json.loads(line) for line in f]
        check(rejects, "the fixtures gave no rejects")
        _, _, data = split_page(os.path.join(out, "index.html"))
        want = [{"file": r["file"], "line": r["line"], "reason": r["reason"]}
                for r in rejects[:100]]
        check(data["rejects"] == want,
              "index rejects %s, want %s" % (data["rejects"][:2], want[:2]))
        check(data["summary"]["records_rejected"] == len(rejects), "summary counts %d rejects" %
              data["summary"]["records_rejected"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def component(rid):
    """output.c's path encoding, for the short ids of the fixture."""
    out = []
    for i, b in enumerate(rid.encode("utf-8")):
        c = chr(b)
        if (c.isascii() and c.isalnum()) or c in "_-" or (c == "." and i > 0):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


def main():
    return case_main(CASES, configure)

if __name__ == "__main__":
    sys.exit(main())
