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
v2     the same on the report store v2 (the default layout): the runs --html picks are on
       pages/NNNN.html, at most 500 a page (and KIVO_WORKER_PAGE_RUNS a page when set), in input
       order, linked to the previous and next page and to index.html; every index.html link
       (pages/NNNN.html#run=ID) names a page that holds that run; the index's page columns name
       the run's block; `show --html` writes a run's page; a rerun with --html none, or with
       --layout per-run, leaves no page; pages are byte-identical at 1 and 2 threads and after
       `merge` of 3 shards.
v2_many  1,200 generated records with --html all: 3 pages of 500, 500 and 200 runs.
v2_xss   tests/web/xss.jsonl on v2: no hostile byte outside the JSON blocks of a page, and the
       blocks read back to the exact text.
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
from kivo_testlib import case_main, check, store_reports, write_spec  # noqa: E402


def batch(spec, out, *extra, layout="per-run", env=None):
    # The per-run layout unless asked: its claim_report.html pages are what most cases check.
    p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet"] +
                       (["--layout", layout] if layout != "v2" else []) + list(extra),
                       capture_output=True, timeout=300, env=env)
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
    # A page of the store v2 has a block per run: their contents are data too.
    outside = BLOCK.sub('<script type="application/json" class="kivo-run"></script>\n',
                        html[:d.start(1)] + html[d.end(1):])
    for bad in ("http://", "https://", "//cdn", "@import", "url(", " src=",
                "<link rel=\"stylesheet"):
        check(bad not in outside, "%s: page refers to %r" % (path, bad))
    check("http://" not in html and "https://" not in html, "%s: an http(s):// reference" % path)
    check(re.findall(r'href="([^"]*)"', outside) == ["data:,"], "%s: links %s" %
          (path, re.findall(r'href="([^"]*)"', outside)))
    for ch in "<>&":
        check(ch not in d.group(1), "%s: %r inside the data block" % (path, ch))
    return outside, d.group(1), json.loads(d.group(1))


BLOCK = re.compile(r'<script type="application/json" class="kivo-run">(.*?)</script>\n', re.S)


def v2_pages(out, per_page=500):
    """Reads every page of a v2 store and checks its shape: the skeleton (split_page), the head
    ({kind runs, index, page, prev}), at most per_page run blocks, the tail ({next} or {}), the
    chain of pages, and the index's page columns naming each run's block exactly. Returns
    ([ids in page order], {id: (page file, run data)}, {file: html})."""
    import sqlite3
    names = sorted(os.listdir(os.path.join(out, "pages"))) if os.path.isdir(
        os.path.join(out, "pages")) else []
    check(names == ["%04d.html" % i for i in range(len(names))], "pages %s" % names)
    order, runs, html = [], {}, {}
    for i, n in enumerate(names):
        path = os.path.join(out, "pages", n)
        outside, _, head = split_page(path)
        with open(path, "rb") as f:
            raw = f.read()
        html[n] = raw
        text = raw.decode("utf-8")
        check('<body data-kivo="runs">' in outside, "%s: not a runs page" % n)
        want = {"kind": "runs", "index": "../index.html", "page": i}
        if i:
            want["prev"] = "%04d.html" % (i - 1)
        check(head == want, "%s: head %s, want %s" % (n, head, want))
        tail = re.search(r'<script type="application/json" id="kivo-tail">(.*?)</script>', text)
        check(tail, "%s: no tail block" % n)
        check(json.loads(tail.group(1)) == ({"next": "%04d.html" % (i + 1)}
                                            if i + 1 < len(names) else {}),
              "%s: tail %s" % (n, tail.group(1)))
        blocks = BLOCK.findall(text)
        check(0 < len(blocks) <= per_page, "%s: %d runs" % (n, len(blocks)))
        check(i + 1 == len(names) or len(blocks) == per_page,
              "%s: %d runs on a page that is not the last" % (n, len(blocks)))
        for b in blocks:
            for ch in "<>&":
                check(ch not in b, "%s: %r inside a run block" % (n, ch))
            d = json.loads(b)
            check(sorted(d) == ["packet", "report"], "%s: block members %s" % (n, sorted(d)))
            rid = d["report"]["customer_run_id"]
            check(rid not in runs, "%s: run %s twice" % (n, rid))
            order.append(rid)
            runs[rid] = (n, d)
    if os.path.exists(os.path.join(out, "reports", "index")):
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
        rows = db.execute("SELECT run_id, page, page_offset, page_length FROM runs "
                          "WHERE page IS NOT NULL ORDER BY seq").fetchall()
        db.close()
        check([r[0] for r in rows] == order, "the index's paged runs are not the pages' order")
        for rid, page, off, length in rows:
            blk = html["%04d.html" % page][off:off + length]
            check(json.loads(blk)["report"]["customer_run_id"] == rid,
                  "index page columns of %s do not name its block" % rid)
            check(html["%04d.html" % page][off - 49:off] ==
                  b'<script type="application/json" class="kivo-run">', "block start of %s" % rid)
    return order, runs, html


def show(out, rid, *extra):
    p = subprocess.run([WORKER, "show", "--out", out, rid] + list(extra), capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def case_v2():
    spec = os.path.join(ROOT, "data", "examples", "job-spec.json")
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    env = dict(os.environ, KIVO_WORKER_PAGE_RUNS="4")
    try:
        out = os.path.join(tmp, "out")
        for mode in ("all", "flagged", "none", "default", "all"):
            rc, err = batch(spec, out, *([] if mode == "default" else ["--html", mode]),
                            layout="v2", env=env)
            check(rc == 0, "--html %s: exit %d: %s" % (mode, rc, err))
            reps = store_reports(out)
            check(len(reps) == 30, "--html %s: %d reports" % (mode, len(reps)))
            verdict = {k: json.loads(v)["gate_verdict"] for k, v in reps.items()}
            flagged = [k for k in reps if verdict[k] in FLAGGED]   # input order
            check(flagged and len(flagged) < 30, "the example has %d flagged" % len(flagged))
            want = {"all": list(reps), "none": []}.get(mode, flagged)
            order, runs, _ = v2_pages(out, 4)
            check(order == want, "--html %s: pages hold %d runs, want %d in input order" %
                  (mode, len(order), len(want)))
            with open(os.path.join(out, "summary.json")) as f:
                pages_n = json.load(f)["report_store"]["pages"]
            check(pages_n == (len(want) + 3) // 4, "summary: %d pages" % pages_n)
            check(os.path.exists(os.path.join(out, "pages")) == (mode != "none"),
                  "--html %s: pages/ %s" % (mode, "missing" if mode != "none" else "left"))
            check(os.path.exists(os.path.join(out, "index.html")) == (mode != "none"),
                  "--html %s: index.html" % mode)
            if mode == "none":
                continue
            for rid, (_, d) in runs.items():
                check(d["report"] == json.loads(reps[rid]), "%s: page report differs" % rid)
            _, _, data = split_page(os.path.join(out, "index.html"))
            listed = [r["id"] for r in data["runs"]]
            check(sorted(listed) == sorted(flagged), "index lists %d runs, want %d" %
                  (len(listed), len(flagged)))
            for r in data["runs"]:
                # The deep link resolves: the file it names holds that run.
                check(r.get("page_file") == "pages/" + runs[r["id"]][0],
                      "index links %s to %s, its page is %s" %
                      (r["id"], r.get("page_file"), runs[r["id"]][0]))
                check("dir" not in r, "a v2 index row with a per-run dir")
        # show --html: a page of its own, from the run's block; a run with no page: exit 2.
        order, runs, _ = v2_pages(out, 4)
        for rid in (order[0], order[len(order) // 2], order[-1]):
            page = os.path.join(tmp, "show.html")
            rc, _, err = show(out, rid, "--html", page)
            check(rc == 0, "show --html %s: exit %d: %s" % (rid, rc, err))
            outside, _, d = split_page(page)
            check('<body data-kivo="run">' in outside, "show --html: not a run page")
            check(d == runs[rid][1], "show --html %s: data differs from its block" % rid)
            rc, rep, _ = show(out, rid)
            check(rc == 0 and json.loads(rep) == d["report"], "show %s: report" % rid)
        rc, err = batch(spec, out, layout="v2", env=env)      # flagged: passing runs have none
        check(rc == 0, err)
        passing = [k for k, v in store_reports(out).items()
                   if json.loads(v)["gate_verdict"] == "pass"]
        rc, _, err = show(out, passing[0], "--html", os.path.join(tmp, "no.html"))
        check(rc == 2 and "has no page" in err, "show --html of a run without a page: %d %s" %
              (rc, err))
        check(not os.path.exists(os.path.join(tmp, "no.html")), "show wrote a page anyway")
        # Per-run after v2: no page of the store v2 is left.
        rc, err = batch(spec, out, "--html", "all")
        check(rc == 0 and not os.path.exists(os.path.join(out, "pages")),
              "--layout per-run left pages/: %s" % err)
        # Byte-identical at 1 and 2 threads.
        a, b = os.path.join(tmp, "t1"), os.path.join(tmp, "t2")
        for o, t in ((a, "1"), (b, "2")):
            rc, err = batch(spec, o, "--threads", t, "--html", "all", layout="v2", env=env)
            check(rc == 0, "threads %s: %s" % (t, err))
        check(v2_pages(a, 4)[2] == v2_pages(b, 4)[2], "pages differ between 1 and 2 threads")
        # Three shards merged: the same pages as one process (merge moves each run's block).
        for k in range(3):
            rc, err = batch(spec, os.path.join(tmp, "s%d" % k), "--html", "all", "--shard",
                            "%d/3" % k, layout="v2", env=env)
            check(rc == 0, "--shard %d/3: %s" % (k, err))
        p = subprocess.run([WORKER, "merge", "--out", os.path.join(tmp, "m")] +
                           [os.path.join(tmp, "s%d" % k) for k in range(3)], capture_output=True,
                           env=env, timeout=120)
        check(p.returncode == 0, "merge: %s" % p.stderr.decode(errors="replace"))
        check(v2_pages(os.path.join(tmp, "m"), 4)[2] == v2_pages(a, 4)[2],
              "merged shards' pages differ from one process's")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_v2_many():
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    try:
        corpus = os.path.join(tmp, "c.jsonl")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-corpus"), "--records",
                        "1200", "--seed", "14", "--out", corpus], check=True, timeout=120)
        spec = write_spec(os.path.join(tmp, "spec.json"), [corpus])
        out = os.path.join(tmp, "out")
        rc, err = batch(spec, out, "--html", "all", "--threads", "2", layout="v2")
        check(rc == 0, "exit %d: %s" % (rc, err))
        order, runs, html = v2_pages(out, 500)
        check(sorted(html) == ["0000.html", "0001.html", "0002.html"], "pages %s" % sorted(html))
        check(len(BLOCK.findall(html["0002.html"].decode())) == 200, "the last page's runs")
        check(order == list(store_reports(out)), "the pages are not in input order")
        _, _, data = split_page(os.path.join(out, "index.html"))
        for r in data["runs"]:
            check(runs[r["id"]][0] == r["page_file"][len("pages/"):], "link of %s" % r["id"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_v2_xss():
    tmp = tempfile.mkdtemp(prefix="kivo-web-test-")
    try:
        fixture = os.path.join(ROOT, "tests", "web", "xss.jsonl")
        with open(fixture, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        spec = write_spec(os.path.join(tmp, "spec.json"), [fixture], workflow_id="xss<wf>",
                          fields={"customer_run_id": "/customer_run_id", "output": "/output",
                                  "sources": "/sources", "source_id": "/id",
                                  "source_title": "/title", "source_text": "/text"})
        out = os.path.join(tmp, "out")
        rc, err = batch(spec, out, "--html", "all", layout="v2")
        check(rc == 0, "exit %d: %s" % (rc, err))
        order, runs, html = v2_pages(out)
        check(len(order) == len(records), "%d runs on pages for %d records" %
              (len(order), len(records)))
        for n, raw in html.items():
            text = raw.decode("utf-8")
            outside = split_page(os.path.join(out, "pages", n))[0]
            low = outside.lower()
            blocks = len(BLOCK.findall(text))
            for h in HOSTILE:
                # Ours: the head and tail data blocks, each run's block and the script.
                n_h = low.count(h)
                check(n_h == (3 + blocks if h == "<script" else 0),
                      "%s: %r appears %d times outside the data blocks" % (n, h, n_h))
        for rec in records:
            d = runs[rec["customer_run_id"]][1]
            check(d["packet"]["output"] == rec["output"], "output changed")
            check(d["packet"]["sources"][0]["text"] == rec["sources"][0]["text"],
                  "source text changed")
            check(d["packet"]["sources"][0]["title"] == rec["sources"][0]["title"],
                  "source title changed")
        page = os.path.join(tmp, "one.html")
        rc, _, err = show(out, records[0]["customer_run_id"], "--html", page)
        check(rc == 0, "show --html: %s" % err)
        outside, _, d = split_page(page)
        for h in HOSTILE:
            check(outside.lower().count(h) == (2 if h == "<script" else 0),
                  "show --html page: %r outside its data" % h)
        check(d["packet"]["output"] == records[0]["output"], "show --html: output changed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
