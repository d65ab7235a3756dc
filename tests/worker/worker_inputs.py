#!/usr/bin/env python3
"""Issue 14's inputs, fail-fast and reuse, against the real kivo-worker: one case per ctest.

    worker_inputs.py --worker build/kivo-worker --root . CASE

Inputs: positional INPUTs replace the spec's, "-" is standard input, folders are searched
recursively, "**" in globs, .ndjson read like .jsonl, the order is sorted and documented; a batch
that rejects every record says why.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import (  # noqa: E402
    TempDir, case_main, check, read_records, run, store_reports, write_spec)

WORKER = ROOT = None


def traces():
    return sorted(glob.glob(os.path.join(ROOT, "data", "examples", "traces", "*.jsonl")))


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def read_lines(path):
    with open(path, "rb") as f:
        return f.read()


def run_ids(out):
    """The run ids of events.jsonl, in order (the merge's order is the input order)."""
    with open(os.path.join(out, "events.jsonl")) as f:
        return [json.loads(line)["customer_run_id"] for line in f]


def ids_of(paths):
    return [r["id"] for r in read_records(paths)]


def batch(spec, out, *extra, cwd=None, stdin=None):
    args = [WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet"] + list(extra)
    p = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def copies(path, n):
    """n copies of a JSONL file's records, each copy's run ids made unique."""
    out = []
    for i in range(n):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    r["customer_run_id"] = "%s-%d" % (r["customer_run_id"], i)
                    out.append(json.dumps(r))
    return ("\n".join(out) + "\n").encode()


def corpus(tmp):
    """tmp/c: the three example files spread over folders, with names that sort differently
    from how they were made, a hidden folder that must be skipped, and files that are not
    JSON Lines."""
    t = traces()
    c = os.path.join(tmp, "c")
    for d in ("b/deep/er", "a", ".hidden", "notes"):
        os.makedirs(os.path.join(c, d))
    shutil.copy(t[2], os.path.join(c, "b", "deep", "er", "z.jsonl"))
    shutil.copy(t[1], os.path.join(c, "b", "m.ndjson"))
    shutil.copy(t[0], os.path.join(c, "a", "k.jsonl"))
    shutil.copy(t[0], os.path.join(c, ".hidden", "k.jsonl"))   # same run ids: must not be read
    with open(os.path.join(c, "notes", "readme.txt"), "w") as f:
        f.write("not an input\n")
    return c, [os.path.join(c, "a", "k.jsonl"), os.path.join(c, "b", "deep", "er", "z.jsonl"),
               os.path.join(c, "b", "m.ndjson")]


# ---------------------------------------------------------------------------------------------

def case_positional():
    """INPUTs after the options replace the spec's inputs (a spec whose own input does not
    exist), relative to the working folder, in the order given; a file named twice is read
    once; one that matches nothing is exit 2 naming it."""
    with TempDir() as tmp:
        t = traces()
        spec = write_spec(os.path.join(tmp, "spec.json"), ["nothing-here/*.jsonl"])
        rc, _, err = batch(spec, os.path.join(tmp, "o0"))
        check(rc == 2 and "nothing-here" in err, "the spec's own inputs: %d %s" % (rc, err))
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        shutil.copy(t[1], os.path.join(work, "second.jsonl"))
        shutil.copy(t[0], os.path.join(work, "first.jsonl"))
        out = os.path.join(tmp, "o1")
        rc, _, err = batch(spec, out, "second.jsonl", "first.jsonl", "second.jsonl", cwd=work)
        check(rc == 0, "positional inputs: exit %d %s" % (rc, err))
        s = summary(out)
        check(s["files"] == 2, "files %r" % s["files"])
        check(run_ids(out) == ids_of([t[1], t[0]]), "not in the order given")
        rc, _, err = batch(spec, os.path.join(tmp, "o2"), "first.jsonl", "missing*.jsonl",
                           cwd=work)
        check(rc == 2 and "missing*.jsonl" in err and "matches no file" in err,
              "a pattern matching nothing: %d %s" % (rc, err))


def case_stdin():
    """"-" reads standard input: the same reports and events as the file itself; its rejects
    and line numbers name <stdin>; "-" beside files keeps the order given; "-" twice is exit 2;
    an interrupted stdin batch starts over instead of resuming."""
    with TempDir() as tmp:
        t = traces()
        spec = write_spec(os.path.join(tmp, "spec.json"), [t[0]])
        a, b = os.path.join(tmp, "file"), os.path.join(tmp, "stdin")
        rc, _, err = batch(spec, a)
        check(rc == 0, "file: %d %s" % (rc, err))
        rc, _, err = batch(spec, b, "-", stdin=read_lines(t[0]))
        check(rc == 0, "stdin: %d %s" % (rc, err))
        check(read_lines(os.path.join(a, "events.jsonl")) ==
              read_lines(os.path.join(b, "events.jsonl")), "events differ")
        check(store_reports(a) == store_reports(b), "reports differ")
        # Rejects name <stdin> with the line number.
        bad = read_lines(t[0]).split(b"\n")
        bad.insert(2, b"{not json")
        out = os.path.join(tmp, "mixed")
        rc, _, err = batch(spec, out, t[1], "-", stdin=b"\n".join(bad))
        check(rc == 3, "a reject on stdin: exit %d %s" % (rc, err))
        with open(os.path.join(out, "rejects.jsonl")) as f:
            rej = [json.loads(line) for line in f]
        check(len(rej) == 1 and rej[0]["file"] == "<stdin>" and rej[0]["line"] == 3,
              "the reject: %r" % rej)
        check(run_ids(out) == ids_of([t[1], t[0]]), "stdin after a file: order")
        rc, _, err = batch(spec, os.path.join(tmp, "twice"), "-", "-", stdin=b"")
        check(rc == 2 and "twice" in err, "- twice: %d %s" % (rc, err))
        # Killed at a checkpoint and run again with other records on stdin: it starts over
        # (a resume would keep the first records and skip as many of the new ones).
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1",
                   KIVO_WORKER_TEST_KILL="store:60")
        out = os.path.join(tmp, "killed")
        p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet",
                            "--chunk-bytes", "4096", "--threads", "1", "-"],
                           input=copies(t[0], 10), env=env, capture_output=True, timeout=120)
        check(p.returncode != 0, "the kill hook did not stop the batch: %d" % p.returncode)
        with open(os.path.join(out, "manifest.json")) as f:
            man = json.load(f)
        check(man.get("state") == "running" and man.get("checkpoint"),
              "no checkpoint before the kill: %r" % sorted(man))
        rc, _, err = batch(spec, out, "-", stdin=read_lines(t[1]))
        check(rc == 0, "rerun: %d %s" % (rc, err))
        s = summary(out)
        check(not s.get("resumed") and run_ids(out) == ids_of([t[1]]),
              "a stdin batch resumed: %r" % s.get("resumed"))


def case_recursion():
    """A folder is searched recursively for .jsonl and .ndjson files, sorted by path, hidden
    entries and other files left out; an empty folder tree is exit 2."""
    with TempDir() as tmp:
        c, order = corpus(tmp)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["c"])
        out = os.path.join(tmp, "o")
        rc, _, err = batch(spec, out)
        check(rc == 0, "folder: %d %s" % (rc, err))
        check(summary(out)["files"] == 3, "files %r" % summary(out)["files"])
        check(run_ids(out) == ids_of(order), "not sorted by path")
        os.makedirs(os.path.join(tmp, "empty", "sub"))
        rc, _, err = batch(spec, os.path.join(tmp, "o2"), os.path.join(tmp, "empty"))
        check(rc == 2 and "no .jsonl or .ndjson" in err, "empty tree: %d %s" % (rc, err))


def case_globstar():
    """'**' matches any number of folders, none included; other components are globs; the
    files are sorted by path."""
    with TempDir() as tmp:
        c, order = corpus(tmp)
        spec = write_spec(os.path.join(tmp, "spec.json"), ["c/**/*.jsonl"])
        out = os.path.join(tmp, "o")
        rc, _, err = batch(spec, out)
        check(rc == 0, "**: %d %s" % (rc, err))
        check(run_ids(out) == ids_of([order[0], order[1]]), "c/**/*.jsonl: wrong files")
        # "**" at the front, relative to the working folder; and zero folders matched.
        out = os.path.join(tmp, "o2")
        rc, _, err = batch(spec, out, "**/m.ndjson", "c/b/**/m.ndjson", cwd=tmp)
        check(rc == 0, "**/m.ndjson: %d %s" % (rc, err))
        check(run_ids(out) == ids_of([order[2]]), "**/m.ndjson: wrong files")
        out = os.path.join(tmp, "o3")
        rc, _, err = batch(spec, out, "c/*/**/*.jsonl", cwd=tmp)
        check(rc == 0 and run_ids(out) == ids_of([order[0], order[1]]),
              "c/*/**/*.jsonl: %d %s" % (rc, err))
        rc, _, err = batch(spec, os.path.join(tmp, "o4"), "c/**/*.csv", cwd=tmp)
        check(rc == 2 and "matches no file" in err, "no match: %d %s" % (rc, err))


def case_ndjson():
    """.ndjson (plain, .gz, .zst) is read like .jsonl: the same reports."""
    with TempDir() as tmp:
        t = traces()[0]
        plain = os.path.join(tmp, "a.ndjson")
        shutil.copy(t, plain)
        subprocess.run(["gzip", "-k", plain], check=True)
        spec = write_spec(os.path.join(tmp, "spec.json"), [t])
        ref = os.path.join(tmp, "ref")
        check(batch(spec, ref)[0] == 0, "reference batch")
        for name in ("a.ndjson", "a.ndjson.gz"):
            out = os.path.join(tmp, "o-" + name)
            rc, _, err = batch(spec, out, os.path.join(tmp, name))
            check(rc == 0, "%s: %d %s" % (name, rc, err))
            check(store_reports(out) == store_reports(ref), "%s: reports differ" % name)


def case_all_rejected():
    """Every record rejected (a wrong JSON Pointer): exit 3 and a message that says so, names
    the pointers and the first record's top-level keys, even with --quiet."""
    with TempDir() as tmp:
        t = traces()[0]
        spec = write_spec(os.path.join(tmp, "spec.json"), [t])
        with open(spec) as f:
            s = json.load(f)
        s["fields"]["output"] = "/answer"
        with open(spec, "w") as f:
            json.dump(s, f)
        rc, _, err = batch(spec, os.path.join(tmp, "o"))
        check(rc == 3, "exit %d" % rc)
        with open(t) as f:
            keys = list(json.loads(f.readline()).keys())
        check("every record was rejected" in err, "no all-rejected message: %s" % err)
        check('"/answer"' in err and "missing output at /answer" in err,
              "the pointer is not named: %s" % err)
        check(all('"%s"' % k in err for k in keys), "the first record's keys %r: %s" % (keys, err))
        # Some reviewed: no such message.
        rc, _, err = batch(write_spec(os.path.join(tmp, "ok.json"), [t]), os.path.join(tmp, "o2"),
                           t, os.path.join(ROOT, "tests", "data", "bad_mixed.jsonl"))
        check(rc == 3 and "every record" not in err, "partly rejected: %d %s" % (rc, err))


def index_rows(out):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
    try:
        return {r[0]: r[1:] for r in db.execute(
            "SELECT run_id, review_key, reused FROM runs ORDER BY seq")}
    finally:
        db.close()


def review_key(report, spec):
    """The review key as docs/report-store.md defines it, from a report's own members."""
    import hashlib

    def field(v):
        if v is None:
            return b"\xff" * 8
        b = v.encode("utf-8")
        return len(b).to_bytes(8, "little") + b
    data = b"".join(field(v) for v in (
        "kivo_review_key.v1", report["engine_version"], spec.get("policy_version"),
        report["strictness"], report["intended_use"], report["output_hash"],
        str(len(report["sources"]))))
    for s in report["sources"]:
        data += field(s["source_id"]) + field(s["title"]) + field(s["sha256"])
    return hashlib.sha256(data).digest()


def reuse_corpora(tmp):
    """prev.jsonl: the example records as an earlier night saw them. cur.jsonl: the same
    records under new run ids and other metadata (carried over), some with another output or a
    source with another title (reviewed again), one record's content twice (carried twice), and
    a malformed line."""
    recs = []
    for t in traces():
        with open(t) as f:
            recs += [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(tmp, "prev.jsonl"), "w") as f:
        for r in recs:
            r2 = dict(r, customer_run_id="prev-" + r["customer_run_id"],
                      meta={"model": "m-old", "gold": "faithful"})
            f.write(json.dumps(r2) + "\n")
    carried = 0
    with open(os.path.join(tmp, "cur.jsonl"), "w") as f:
        for i, r in enumerate(reversed(recs)):
            r2 = dict(r, customer_run_id="cur-%02d" % i,
                      meta={"model": "m-new-%d" % (i % 3), "gold": "hallucinated"})
            if i % 6 == 1:
                r2["output"] = r["output"] + " It ships within 42 days."
            elif i % 6 == 4 and r2["sources"] and isinstance(r2["sources"][0], dict):
                r2["sources"] = [dict(r2["sources"][0], title="Another title")] + \
                    r2["sources"][1:]
            else:
                carried += 1
            f.write(json.dumps(r2) + "\n")
            if i == 3:
                f.write("{broken\n")
                f.write(json.dumps(dict(r2, customer_run_id="cur-twin")) + "\n")
                carried += 1
    return carried


def case_reuse():
    """--reuse of an earlier night's store (other run ids, batch id and metadata; zstd, small
    parts): the records whose review key it holds are carried over, the others reviewed; every
    report, event and reject is byte-identical to a batch without --reuse, at 1 and 2 threads
    and in the per-run layout; summary.json and the index count and mark the carried runs; the
    index's review key is the documented SHA-256."""
    with TempDir() as tmp:
        carried = reuse_corpora(tmp)
        prev_spec = write_spec(os.path.join(tmp, "prev.json"), ["prev.jsonl"], batch_id="night-1")
        cur_spec = write_spec(os.path.join(tmp, "cur.json"), ["cur.jsonl"], batch_id="night-2")
        with open(cur_spec) as f:
            spec = json.load(f)
        spec["fields"]["metadata"] = {"model": "/meta/model"}
        spec["fields"]["label"] = "/meta/gold"
        with open(cur_spec, "w") as f:
            json.dump(spec, f)
        prev = os.path.join(tmp, "prev")
        rc, _, err = batch(prev_spec, prev, "--compress", "zstd", "--part-size", "4K")
        check(rc == 0, "previous batch: %d %s" % (rc, err))
        fresh = os.path.join(tmp, "fresh")
        rc, _, err = batch(cur_spec, fresh)
        check(rc == 3, "batch without --reuse: %d %s" % (rc, err))
        want = store_reports(fresh)
        for name, extra in (("r1", ["--threads", "1"]), ("r2", ["--threads", "2"]),
                            ("per-run", ["--layout", "per-run"])):
            out = os.path.join(tmp, name)
            rc, stdout, err = batch(cur_spec, out, "--reuse", prev, "--json", *extra)
            check(rc == 3, "%s: exit %d %s" % (name, rc, err))
            for f in ("events.jsonl", "rejects.jsonl"):
                check(read_lines(os.path.join(out, f)) == read_lines(os.path.join(fresh, f)),
                      "%s: %s differs from a batch without --reuse" % (name, f))
            got = store_reports(out)
            check(sorted(got) == sorted(want), "%s: other runs" % name)
            for k in want:
                check(got[k] == want[k], "%s: the report of %s differs:\n%s\n%s" %
                      (name, k, got[k][:300], want[k][:300]))
            s = json.loads(stdout)
            sf = summary(fresh)
            check(s["records_reused"] == carried, "%s: records_reused %r, want %d" %
                  (name, s["records_reused"], carried))
            for k in ("records_read", "records_reviewed", "records_rejected", "verdicts",
                      "failure_categories", "claims", "unsupported_claims"):
                check(s[k] == sf[k], "%s: summary %s %r != %r" % (name, k, s[k], sf[k]))
            check("records_reused" not in sf, "records_reused without --reuse")
        rows, fresh_rows = index_rows(os.path.join(tmp, "r2")), index_rows(fresh)
        check(sum(r[1] for r in rows.values()) == carried and
              sum(r[1] for r in fresh_rows.values()) == 0, "the index's reused column")
        check({k: r[0] for k, r in rows.items()} == {k: r[0] for k, r in fresh_rows.items()},
              "review keys differ with and without --reuse")
        for run_id, data in want.items():
            check(rows[run_id][0] == review_key(json.loads(data), spec),
                  "%s: the index's review key is not the documented one" % run_id)
        # Killed after a checkpoint and resumed: the same bytes, and the count of carried runs
        # goes on from the checkpoint.
        out = os.path.join(tmp, "resumed")
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1", KIVO_WORKER_TEST_KILL="store:25")
        p = subprocess.run([WORKER, "batch", "--job-spec-file", cur_spec, "--out", out, "--quiet",
                            "--threads", "1", "--chunk-bytes", "4096", "--reuse", prev], env=env,
                           capture_output=True, timeout=120)
        check(p.returncode != 0, "the kill hook did not stop the batch")
        rc, stdout, err = batch(cur_spec, out, "--threads", "1", "--chunk-bytes", "4096",
                                "--reuse", prev, "--json")
        s = json.loads(stdout)
        check(rc == 3 and s.get("resumed") and s["records_reused"] == carried,
              "resumed: %d %r %s" % (rc, s.get("records_reused"), err))
        check(store_reports(out) == want and read_lines(os.path.join(out, "events.jsonl")) ==
              read_lines(os.path.join(fresh, "events.jsonl")), "resumed: other bytes")
        # Reuse of the reuse: everything carried now, still the same bytes.
        out = os.path.join(tmp, "again")
        rc, stdout, err = batch(cur_spec, out, "--reuse", os.path.join(tmp, "r2"), "--json")
        check(rc == 3 and json.loads(stdout)["records_reused"] == len(want),
              "a second rerun: %d %s" % (rc, err))
        check(store_reports(out) == want, "second rerun: reports differ")


def index_all(out):
    """Every column of the index's runs but `reused`, in seq order."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
    try:
        cols = [r[1] for r in db.execute("PRAGMA table_info(runs)") if r[1] != "reused"]
        return cols, db.execute("SELECT %s FROM runs ORDER BY seq" % ", ".join(cols)).fetchall()
    finally:
        db.close()


def pages_of(out):
    return {os.path.basename(p): read_lines(p)
            for p in sorted(glob.glob(os.path.join(out, "pages", "*.html")))}


def same_as_fresh(fresh, out, what, summary_keys=(), part_files=False):
    """Checks that the out folder of a --reuse batch holds what the fresh folder of the same batch
    without --reuse holds: events, rejects, reports, pages, every index column but `reused`, the
    summary's summary_keys, and with part_files the part files one by one."""
    for f in ("events.jsonl", "rejects.jsonl"):
        check(read_lines(os.path.join(out, f)) == read_lines(os.path.join(fresh, f)),
              "%s: %s differs from a batch without --reuse" % (what, f))
    check(store_reports(out) == store_reports(fresh), "%s: reports differ" % what)
    check(pages_of(out) == pages_of(fresh), "%s: pages differ" % what)
    check(index_all(out) == index_all(fresh), "%s: index rows differ" % what)
    for k in summary_keys:
        check(summary(out).get(k) == summary(fresh).get(k), "%s: summary %s differs" % (what, k))
    if part_files:
        def parts(d):
            return {os.path.basename(p): read_lines(p)
                    for p in glob.glob(os.path.join(d, "reports", "part-*"))}
        check(parts(out) == parts(fresh), "%s: part files differ" % what)


def case_reuse_unchanged():
    """--reuse's fast path: a line byte-identical to one the previous batch stored under the same
    job is carried by its line key (report, event, page block, index fields) without being
    parsed; a line changed only in its metadata goes by its review key, a changed record is
    reviewed. Reports, events, rejects, pages and every index column but `reused` are
    byte-identical to a batch without --reuse, at 1 and 2 threads, with small chunks, --html all
    (the previous batch paged only flagged runs) and --group-by; summary.json counts the lines
    carried as records_reused_unchanged. A previous store whose events.jsonl is not the one
    its index names, another batch id, and a store resumed after a kill are handled too."""
    with TempDir() as tmp:
        recs = []
        for t in traces():
            with open(t) as f:
                recs += [json.loads(line) for line in f if line.strip()]
        prev_lines = [json.dumps(dict(r, customer_run_id="n-%02d" % i,
                                      meta={"model": "m%d" % (i % 3), "gold": "faithful"}))
                      for i, r in enumerate(recs)]
        cur_lines, same, by_key = [], 0, 0
        for i, line in enumerate(prev_lines):
            r = json.loads(line)
            if i % 7 == 2:      # only the metadata changed: same review key, another line
                r["meta"] = {"model": "m-new", "gold": "hallucinated"}
                cur_lines.append(json.dumps(r))
                by_key += 1
            elif i % 7 == 5:    # another answer: reviewed again
                r["output"] = r["output"] + " Delivery takes 42 days."
                cur_lines.append(json.dumps(r))
            else:
                cur_lines.append(line)
                same += 1
            if i == 3:
                cur_lines.append("{broken")
                cur_lines.append(line)      # the same line again: a duplicate run id
        cur_lines.append(json.dumps(dict(recs[0], customer_run_id="n-new",
                                         meta={"model": "m0", "gold": "faithful"})))
        by_key += 1             # a new run id, the content of a stored one
        with open(os.path.join(tmp, "prev.jsonl"), "w") as f:
            f.write("\n".join(prev_lines) + "\n")
        with open(os.path.join(tmp, "cur.jsonl"), "w") as f:
            f.write("\n".join(cur_lines) + "\n")
        fields = {"customer_run_id": "/customer_run_id", "output": "/output",
                  "sources": "/sources", "source_id": "/id", "source_title": "/title",
                  "source_text": "/text", "metadata": {"model": "/meta/model"},
                  "label": "/meta/gold"}
        prev_spec = write_spec(os.path.join(tmp, "prev.json"), ["prev.jsonl"], batch_id="nightly",
                               fields=fields)
        cur_spec = write_spec(os.path.join(tmp, "cur.json"), ["cur.jsonl"], batch_id="nightly",
                              fields=fields)
        gb = ("--group-by", "model")
        prev = os.path.join(tmp, "prev")
        rc, _, err = batch(prev_spec, prev, *gb)
        check(rc in (0, 3), "previous batch: %d %s" % (rc, err))

        def same_as(fresh, out, name):
            same_as_fresh(fresh, out, name, summary_keys=(
                "records_read", "records_reviewed", "records_rejected", "verdicts",
                "failure_categories", "claims", "unsupported_claims", "breakdown"))

        for html in ("flagged", "all"):
            fresh = os.path.join(tmp, "fresh-" + html)
            rc, _, err = batch(cur_spec, fresh, "--html", html, *gb)
            check(rc in (0, 3), "fresh: %d %s" % (rc, err))
            for name, extra in (("t1", ["--threads", "1"]), ("t2", ["--threads", "2"]),
                                ("chunks", ["--threads", "2", "--chunk-bytes", "4096"])):
                name = "%s-%s" % (html, name)
                out = os.path.join(tmp, name)
                rc, stdout, err = batch(cur_spec, out, "--reuse", prev, "--html", html, "--json",
                                        *gb, *extra)
                check(rc in (0, 3), "%s: exit %d %s" % (name, rc, err))
                same_as(fresh, out, name)
                s = json.loads(stdout)
                # --html all wants a page for the passing runs, which the previous batch
                # (flagged) did not make: those go by their review key.
                ok, seen, passed = passing(prev), set(), 0
                for line in cur_lines:
                    if line in prev_lines and line not in seen:
                        seen.add(line)
                        passed += json.loads(line)["customer_run_id"] in ok
                want_lines = same if html == "flagged" else same - passed
                check(s["records_reused_unchanged"] == want_lines and
                      s["records_reused"] == same + by_key,
                      "%s: reused %r, unchanged %r; want %d, %d" % (
                          name, s["records_reused"], s["records_reused_unchanged"],
                          same + by_key, want_lines))
        fresh = os.path.join(tmp, "fresh-flagged")
        # A previous store with compressed parts (zstd frames, small parts): the same.
        prev_z = os.path.join(tmp, "prev-zstd")
        rc, _, err = batch(prev_spec, prev_z, "--compress", "zstd", "--part-size", "4K", *gb)
        check(rc in (0, 3), "previous batch, zstd: %d %s" % (rc, err))
        out = os.path.join(tmp, "o-zstd")
        rc, stdout, err = batch(cur_spec, out, "--reuse", prev_z, "--json", *gb)
        check(rc in (0, 3) and json.loads(stdout)["records_reused_unchanged"] == same,
              "reuse of a zstd store: %d %s %s" % (rc, stdout[-200:], err))
        same_as(fresh, out, "reuse of a zstd store")
        # The per-run layout (without pages) takes the fast path too; with pages it cannot.
        for html, want in (("none", same), ("flagged", 0)):
            ref = os.path.join(tmp, "per-run-fresh-" + html)
            out = os.path.join(tmp, "per-run-" + html)
            rc, _, err = batch(cur_spec, ref, "--layout", "per-run", "--html", html, *gb)
            check(rc in (0, 3), "per-run fresh: %d %s" % (rc, err))
            rc, stdout, err = batch(cur_spec, out, "--layout", "per-run", "--html", html,
                                    "--reuse", prev, "--json", *gb)
            check(rc in (0, 3) and json.loads(stdout)["records_reused_unchanged"] == want,
                  "per-run --html %s: %d %s %s" % (html, rc, stdout[-200:], err))
            for f in ("events.jsonl", "rejects.jsonl"):
                check(read_lines(os.path.join(out, f)) == read_lines(os.path.join(ref, f)),
                      "per-run --html %s: %s differs" % (html, f))
            check(store_reports(out) == store_reports(ref), "per-run --html %s: reports" % html)
        # The previous store's events.jsonl is not what its index says: nothing is carried by
        # its line, everything still by its review key, and the bytes are the same.
        bad = os.path.join(tmp, "bad-prev")
        shutil.copytree(prev, bad)
        events = os.path.join(bad, "events.jsonl")
        with open(events, "rb") as f:
            lines = f.read().splitlines(True)
        for how, data in (("reordered", b"".join(reversed(lines))), ("emptied", b"")):
            with open(events, "wb") as f:
                f.write(data)
            out = os.path.join(tmp, "o-" + how)
            rc, stdout, err = batch(cur_spec, out, "--reuse", bad, "--json", *gb)
            s = json.loads(stdout)
            check(rc in (0, 3) and s["records_reused"] == same + by_key and
                  (how != "emptied" or s["records_reused_unchanged"] == 0),
                  "events %s: %s %s" % (how, stdout[-300:], err))
            same_as(fresh, out, "events " + how)
        import sqlite3

        def damaged_copy(name):
            """A copy of the previous store, to edit."""
            bad = os.path.join(tmp, "bad-" + name)
            shutil.rmtree(bad, ignore_errors=True)
            shutil.copytree(prev, bad)
            return bad

        def rerun_on(bad, what):
            """This batch again with --reuse of bad: its summary and out folder."""
            out = os.path.join(tmp, "o-" + what.split()[0])
            shutil.rmtree(out, ignore_errors=True)
            rc, stdout, err = batch(cur_spec, out, "--reuse", bad, "--json", *gb)
            check(rc in (0, 3) and stdout, "%s: exit %d %s" % (what, rc, err[-500:]))
            return json.loads(stdout), out

        # Values of an edited previous index that the fast path would carry into this batch:
        # --group-by values not as batch packs them (a length past the blob's end, a blob cut
        # short, one byte too many: read past the values, this crashed or wrote wrong group
        # values before), another run id than the event's, a label no batch writes, a page block
        # past its page's end. Those lines go by their review key; the bytes stay a fresh batch's.
        for what, sql, args in (
                ("groups length past the end", "UPDATE runs SET groups = ? WHERE seq % 2 = 0",
                 (b"\xff\xff\xff\x7f",)),
                ("groups cut short", "UPDATE runs SET groups = ? WHERE seq % 2 = 0", (b"\x01",)),
                ("groups a byte too many",
                 "UPDATE runs SET groups = groups || X'00' WHERE groups IS NOT NULL", ()),
                ("index run id", "UPDATE runs SET run_id = run_id || 'x' WHERE seq % 2 = 0", ()),
                ("index label", "UPDATE runs SET label = 7 WHERE seq % 2 = 0", ()),
                ("index page place", "UPDATE runs SET page_length = 1099511627776"
                                     " WHERE page IS NOT NULL", ())):
            bad = damaged_copy("index")
            db = sqlite3.connect(os.path.join(bad, "reports", "index"))
            db.execute(sql, args)
            db.commit()
            db.close()
            s, out = rerun_on(bad, what)
            check(s["records_reused"] == same + by_key and
                  s["records_reused_unchanged"] < same,
                  "%s: reused %r, unchanged %r" % (
                      what, s["records_reused"], s["records_reused_unchanged"]))
            same_as(fresh, out, what)
        # A report of the previous store edited in its part (same length, still JSON) is not the
        # one its index row and event name: neither by its line nor by its review key is it
        # carried, the record is reviewed again, and the bytes stay a fresh batch's (the line's
        # fast path carried the edited report under the old event's SHA-256 before).
        bad = damaged_copy("part")
        db = sqlite3.connect(os.path.join(bad, "reports", "index"))
        rows = db.execute("SELECT part, offset, length FROM runs WHERE seq % 3 = 0 AND frame IS NULL"
                          " ORDER BY seq").fetchall()
        db.close()

        def edit_claims(store, rows, keep_mtime=False):
            """Puts the first claim's first letter of each report at (part, offset, length) in
            the other case, in place; keep_mtime puts each part's mtime back (and checks that
            its size and mtime are as before). Returns how many reports were edited."""
            edited = 0
            for part, off, length in rows:
                path = os.path.join(store, "reports", "part-%05d.jsonl" % part)
                before = os.stat(path)
                with open(path, "r+b") as f:
                    f.seek(off)
                    rep = bytearray(f.read(length))
                    at = rep.find(b'"claims":[')
                    at = rep.find(b'"text":"', at) if at >= 0 else -1
                    if at < 0 or not chr(rep[at + 8]).isalpha():
                        continue
                    rep[at + 8] ^= 0x20
                    f.seek(off)
                    f.write(rep)
                    edited += 1
                if keep_mtime:
                    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
                    after = os.stat(path)
                    check(after.st_size == before.st_size
                          and after.st_mtime_ns == before.st_mtime_ns,
                          "part edit in place: size or mtime not put back")
            return edited

        edited = edit_claims(bad, rows)
        check(edited > 0, "part edit: no report with a claim to edit")
        s, out = rerun_on(bad, "part edit")
        check(s["records_reused"] <= same + by_key - edited,
              "part edit: %d edited, reused %r of %d" % (edited, s["records_reused"], same + by_key))
        same_as(fresh, out, "part edit")
        # The status check (part_stat.c): a part whose file status is the one its batch recorded
        # is not hashed again. Edits that leave the status as it was must still be caught: the
        # index edited in place (each even row given its odd neighbour's report: whole reports
        # of other runs, which only the run id in the report's head tells apart), and a part
        # edited in place with its size and mtime put back (its ctime moves: hashed, caught).
        def fresh_prev(name):
            d = os.path.join(tmp, name)
            rc, _, err = batch(prev_spec, d, *gb)
            check(rc in (0, 3), "%s: %d %s" % (name, rc, err))
            db = sqlite3.connect(os.path.join(d, "reports", "index"))
            rec = dict(db.execute("SELECT key, value FROM store WHERE key LIKE 'part_stat.%'"))
            db.close()
            fs = subprocess.run(["stat", "-f", "-c", "%T", d], capture_output=True,
                                text=True).stdout.strip()
            check(bool(rec) or fs not in ("ext2/ext3", "xfs", "btrfs", "tmpfs"),
                  "%s: no part status recorded on %s" % (name, fs))
            return d
        st_prev = fresh_prev("prev-status-index")
        db = sqlite3.connect(os.path.join(st_prev, "reports", "index"))
        rows = db.execute("SELECT a.seq, b.offset, b.length FROM runs a JOIN runs b"
                          " ON b.seq = a.seq + 1 AND b.part = a.part"
                          " WHERE a.seq % 2 = 0").fetchall()
        for seq, off, length in rows:
            db.execute("UPDATE runs SET offset = ?, length = ? WHERE seq = ?", (off, length, seq))
        db.commit()
        db.close()
        check(len(rows) > 0, "index places: no rows to swap")
        s, out = rerun_on(st_prev, "status index places")
        check(s["records_reused_unchanged"] < same,
              "status index places: reused %r, unchanged %r" % (
                  s["records_reused"], s["records_reused_unchanged"]))
        same_as(fresh, out, "status index places")
        st_prev = fresh_prev("prev-status-part")
        db = sqlite3.connect(os.path.join(st_prev, "reports", "index"))
        rows = db.execute("SELECT part, offset, length FROM runs WHERE seq % 3 = 0 ORDER BY seq"
                          ).fetchall()
        db.close()
        edited = edit_claims(st_prev, rows, keep_mtime=True)
        check(edited > 0, "status part edit: no report with a claim to edit")
        s, out = rerun_on(st_prev, "status part edit")
        check(s["records_reused"] <= same + by_key - edited,
              "status part edit: %d edited, reused %r of %d" % (
                  edited, s["records_reused"], same + by_key))
        same_as(fresh, out, "status part edit")
        # A line carried by its line key counts 1/16 of its bytes towards the next checkpoint:
        # with an interval between the input's bytes and its bytes less the carried lines', a
        # batch without --reuse writes a checkpoint (and is killed there), the rerun none.
        carried, seen = 0, set()
        for line in cur_lines:
            if line in prev_lines and line not in seen:
                seen.add(line)
                carried += len(line.encode()) + 1
        total = os.path.getsize(os.path.join(tmp, "cur.jsonl"))
        check(carried * 2 > total, "checkpoint weight: only %d of %d bytes carried" % (
            carried, total))
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES=str(total - carried // 2),
                   KIVO_WORKER_TEST_KILL="checkpoint:1")
        for what, extra in (("fresh", ("--threads", "1")),
                            ("rerun", ("--threads", "1", "--reuse", prev)),
                            ("rerun-t2", ("--threads", "2", "--reuse", prev))):
            out = os.path.join(tmp, "o-weight-" + what)
            p = subprocess.run([WORKER, "batch", "--job-spec-file", cur_spec, "--out", out,
                                "--quiet", *extra, *gb], env=env,
                               capture_output=True, timeout=120)
            if what == "fresh":
                check(p.returncode < 0 or p.returncode > 128,
                      "checkpoint weight: the batch without --reuse was not killed at its "
                      "checkpoint: %d" % p.returncode)
            else:
                check(p.returncode in (0, 3), "checkpoint weight: the rerun wrote a checkpoint "
                      "(killed) or failed: %d %s" % (p.returncode, p.stderr[-300:]))
                same_as(fresh, out, "checkpoint weight")
        # Another batch id is another job: the review keys carry, the lines do not.
        other = write_spec(os.path.join(tmp, "other.json"), ["cur.jsonl"], batch_id="other",
                           fields=fields)
        rc, stdout, err = batch(other, os.path.join(tmp, "o-other"), "--reuse", prev, "--json",
                                *gb)
        check(rc in (0, 3) and json.loads(stdout)["records_reused_unchanged"] == 0 and
              json.loads(stdout)["records_reused"] == same + by_key, "other batch id: %s" % err)
        # A previous store killed and resumed: its events' places are still right.
        resumed = os.path.join(tmp, "prev-resumed")
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1", KIVO_WORKER_TEST_KILL="store:9")
        p = subprocess.run([WORKER, "batch", "--job-spec-file", prev_spec, "--out", resumed,
                            "--quiet", "--threads", "1", "--chunk-bytes", "4096", *gb], env=env,
                           capture_output=True, timeout=120)
        check(p.returncode != 0, "the kill hook did not stop the batch")
        rc, _, err = batch(prev_spec, resumed, "--threads", "1", "--chunk-bytes", "4096", *gb)
        check(rc in (0, 3), "resumed previous batch: %d %s" % (rc, err))
        out = os.path.join(tmp, "o-resumed")
        rc, stdout, err = batch(cur_spec, out, "--reuse", resumed, "--json", *gb)
        check(rc in (0, 3) and json.loads(stdout)["records_reused_unchanged"] == same,
              "reuse of a resumed store: %d %s %s" % (rc, stdout[-200:], err))
        same_as(fresh, out, "reuse of a resumed store")
        # A store checkpointed by a build before line keys (its index without line_key,
        # event_offset and event_length) is resumed by this one: the columns are added, its
        # earlier rows keep no line key (resuming failed before: "table runs has no column named
        # line_key"), and a --reuse of it carries by line only the rows that have one.
        old = os.path.join(tmp, "prev-old-build")
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1", KIVO_WORKER_TEST_KILL="store:9")
        p = subprocess.run([WORKER, "batch", "--job-spec-file", prev_spec, "--out", old,
                            "--quiet", "--threads", "1", "--chunk-bytes", "4096", *gb], env=env,
                           capture_output=True, timeout=120)
        check(p.returncode != 0, "the kill hook did not stop the batch")
        db = sqlite3.connect(os.path.join(old, "reports", "index"))
        for col in ("line_key", "event_offset", "event_length"):
            db.execute("ALTER TABLE runs DROP COLUMN %s" % col)
        db.commit()
        db.close()
        rc, _, err = batch(prev_spec, old, "--threads", "1", "--chunk-bytes", "4096", *gb)
        check(rc in (0, 3), "resumed a store of an earlier build: %d %s" % (rc, err))
        db = sqlite3.connect(os.path.join(old, "reports", "index"))
        keyed = db.execute("SELECT count(*) FROM runs WHERE line_key IS NOT NULL").fetchone()[0]
        db.close()
        check(0 < keyed < len(prev_lines), "line keys after the resume: %d" % keyed)
        out = os.path.join(tmp, "o-old-build")
        rc, stdout, err = batch(cur_spec, out, "--reuse", old, "--json", *gb)
        check(rc in (0, 3) and 0 < json.loads(stdout)["records_reused_unchanged"] < same,
              "reuse of a store resumed from an earlier build: %d %s %s" % (rc, stdout[-200:], err))
        same_as(fresh, out, "reuse of a store resumed from an earlier build")
        # This rerun killed after a checkpoint and resumed: the same bytes and counts.
        out = os.path.join(tmp, "o-killed")
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1", KIVO_WORKER_TEST_KILL="store:25")
        p = subprocess.run([WORKER, "batch", "--job-spec-file", cur_spec, "--out", out, "--quiet",
                            "--threads", "1", "--chunk-bytes", "4096", "--reuse", prev, *gb],
                           env=env, capture_output=True, timeout=120)
        check(p.returncode != 0, "the kill hook did not stop the rerun")
        rc, stdout, err = batch(cur_spec, out, "--threads", "1", "--chunk-bytes", "4096",
                                "--reuse", prev, "--json", *gb)
        s = json.loads(stdout)
        check(rc in (0, 3) and s.get("resumed") and s["records_reused_unchanged"] == same,
              "resumed rerun: %d %r %s" % (rc, s.get("records_reused_unchanged"), err))
        same_as(fresh, out, "resumed rerun")


def snapshot(d):
    """{relative path: bytes} of every file under d."""
    files = {}
    for root, _, names in os.walk(d):
        for n in names:
            path = os.path.join(root, n)
            files[os.path.relpath(path, d)] = read_lines(path)
    return files


def linked_to(out, prev):
    """The store files of out (parts, pages, events.jsonl) that are prev's files (the same inode), and all
    of out's store files."""
    inodes = set()
    for root, _, names in os.walk(prev):
        for n in names:
            st = os.stat(os.path.join(root, n))
            inodes.add((st.st_dev, st.st_ino))
    files = sorted(glob.glob(os.path.join(out, "reports", "part-*")) +
                   glob.glob(os.path.join(out, "pages", "*.html")) +
                   [os.path.join(out, "events.jsonl")])
    linked = []
    for path in files:
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in inodes:
            linked.append(os.path.relpath(path, out))
    return linked, [os.path.relpath(p, out) for p in files]


def index_rows_reused(out):
    """The index's `reused` column, in seq order."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
    try:
        return [r[0] for r in db.execute("SELECT reused FROM runs ORDER BY seq")]
    finally:
        db.close()


def case_reuse_linked():
    """--reuse links a part or page that comes out byte-identical to the previous store's file of
    the same name, and copies carried runs inside the others: a rerun over the same input (all
    linked), and over an input changed in its middle (linked before the change, copied or written
    after it), are byte-identical to a batch without --reuse, with small parts and pages. The
    previous store shares those files' inodes, so its files must keep their bytes (and `show`
    must still read them) after the rerun, after a rerun killed (right after a link, at a
    checkpoint) and resumed, after a sharded rerun is merged, and after the rerun's folder is
    written again, with --overwrite too."""
    with TempDir() as tmp:
        lines = copies(traces()[0], 2).decode().splitlines() + \
            copies(traces()[1], 2).decode().splitlines() + \
            copies(traces()[2], 2).decode().splitlines()
        edited = list(lines)
        mid = len(edited) * 3 // 4   # late: the checkpoints before it find every file its twin
        r = json.loads(edited[mid])
        r["output"] = r["output"] + " Delivery takes 42 days."
        edited[mid] = json.dumps(r)
        for name, data in (("prev.jsonl", lines), ("edit.jsonl", edited)):
            with open(os.path.join(tmp, name), "w") as f:
                f.write("\n".join(data) + "\n")
        prev_spec = write_spec(os.path.join(tmp, "prev.json"), ["prev.jsonl"])
        edit_spec = write_spec(os.path.join(tmp, "edit.json"), ["edit.jsonl"])
        other_spec = write_spec(os.path.join(tmp, "other.json"), ["edit.jsonl"], batch_id="b2")
        opts = ("--part-size", "4K", "--threads", "2")
        env = dict(os.environ, KIVO_WORKER_PAGE_RUNS="3")

        def run_batch(spec, out, *extra, more_env=None, verbose=False):
            p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out,
                                "--verbose" if verbose else "--quiet"] + list(opts) + list(extra),
                               env=dict(env, **(more_env or {})), capture_output=True,
                               timeout=120)
            return p.returncode, p.stdout.decode(), p.stderr.decode()

        prev = os.path.join(tmp, "prev")
        rc, _, err = run_batch(prev_spec, prev)
        check(rc in (0, 3), "previous batch: %d %s" % (rc, err))
        snap = snapshot(prev)
        prev_reports = store_reports(prev)
        check(len(glob.glob(os.path.join(prev, "reports", "part-*"))) > 4 and
              len(glob.glob(os.path.join(prev, "pages", "*.html"))) > 2,
              "the previous store has few parts or pages: %s" % sorted(snap))

        def prev_intact(what):
            now = snapshot(prev)
            changed = sorted(k for k in set(now) | set(snap) if now.get(k) != snap.get(k))
            check(not changed, "%s: the previous store's files changed: %s" % (what, changed))
            for rid in sorted(prev_reports)[::7]:
                rc, shown, err = run(WORKER, "show", "--out", prev, rid)
                check(rc == 0 and shown.encode().rstrip(b"\n") == prev_reports[rid].rstrip(b"\n"),
                      "%s: show %s on the previous store: %d %s" % (what, rid, rc, err))

        def same_as(fresh, out, what):
            same_as_fresh(fresh, out, what, part_files=True)

        fresh_same = os.path.join(tmp, "fresh-same")
        fresh_edit = os.path.join(tmp, "fresh-edit")
        for spec, out in ((prev_spec, fresh_same), (edit_spec, fresh_edit)):
            rc, _, err = run_batch(spec, out)
            check(rc in (0, 3), "fresh batch: %d %s" % (rc, err))
        # The same input: every part and page is a link to the previous store's.
        same = os.path.join(tmp, "same")
        rc, _, err = run_batch(prev_spec, same, "--reuse", prev, verbose=True)
        check(rc in (0, 3), "rerun: %d %s" % (rc, err))
        same_as(fresh_same, same, "rerun")
        linked, files = linked_to(same, prev)
        check(linked == files, "rerun: linked %s of %s" % (linked, files))
        # Every row the previous index's own: its index is a copy of that one, reused set.
        check("a copy of" in err, "rerun: the index was not the previous one's: %s" % err[-300:])
        reused = index_rows_reused(same)
        check(reused == [1] * len(prev_reports), "rerun: reused %r" % reused[:5])
        for rid in sorted(prev_reports)[::5]:
            rc, shown, err = run(WORKER, "show", "--out", same, rid)
            check(rc == 0 and shown.encode().rstrip(b"\n") == prev_reports[rid].rstrip(b"\n"),
                  "show %s on the rerun: %d %s" % (rid, rc, err))
        prev_intact("rerun")
        # Killed once the previous index's copy took this one's place, before the batch was
        # complete: resumed, the same bytes and rows (the copy's rows are this batch's).
        out = os.path.join(tmp, "killed-adopted")
        ckpt = {"KIVO_WORKER_CHECKPOINT_BYTES": "1"}
        rc, _, err = run_batch(prev_spec, out, "--reuse", prev,
                               more_env=dict(ckpt, KIVO_WORKER_TEST_KILL="index_adopted:1"))
        check(rc < 0 or rc > 100, "killed after the index copy: not stopped (%d %s)" % (rc, err))
        rc, stdout, err = run_batch(prev_spec, out, "--reuse", prev, "--json", more_env=ckpt)
        check(rc in (0, 3) and json.loads(stdout).get("resumed"),
              "resumed after the index copy: %d %s" % (rc, err))
        same_as(fresh_same, out, "resumed after the index copy")
        prev_intact("resumed after the index copy")
        # Changed in the middle: the parts and pages before the change are links, the rest not.
        edit = os.path.join(tmp, "edit")
        rc, _, err = run_batch(edit_spec, edit, "--reuse", prev, verbose=True)
        check(rc in (0, 3), "rerun of the edited input: %d %s" % (rc, err))
        check("a copy of" not in err, "edited: the previous index was taken: %s" % err[-300:])
        same_as(fresh_edit, edit, "edited")
        linked, files = linked_to(edit, prev)
        parts = [f for f in files if f.startswith("reports/")]
        pages = [f for f in files if f.startswith("pages/")]
        check(0 < len([f for f in linked if f.startswith("reports/")]) < len(parts) and
              0 < len([f for f in linked if f.startswith("pages/")]) < len(pages) and
              "events.jsonl" not in linked, "edited: linked %s of %s" % (linked, files))
        prev_intact("edited")
        # Killed right after a link, and at a checkpoint (one every round), then resumed.
        for point in ("part_link:10", "page_link:3", "store:20", "store:40"):
            out = os.path.join(tmp, "killed-" + point.replace(":", "-"))
            ckpt = {"KIVO_WORKER_CHECKPOINT_BYTES": "1"}
            rc, _, err = run_batch(edit_spec, out, "--chunk-bytes", "4096", "--reuse", prev,
                                   more_env=dict(ckpt, KIVO_WORKER_TEST_KILL=point))
            check(rc < 0 or rc > 100, "killed at %s: the hook did not stop it (%d %s)" % (
                point, rc, err))
            prev_intact("killed at " + point)
            # Resumed and killed again at once: the resume cut back the part and page open at
            # the checkpoint (links to the previous store's, made by the checkpoint or by a
            # close after it), and the previous store's must not have been cut with them.
            rc, _, err = run_batch(edit_spec, out, "--chunk-bytes", "4096", "--reuse", prev,
                                   more_env=dict(ckpt, KIVO_WORKER_TEST_KILL="store:1"))
            check(rc < 0 or rc > 100, "resumed and killed after %s: not stopped (%d %s)" % (
                point, rc, err))
            prev_intact("resumed and killed again after " + point)
            rc, stdout, err = run_batch(edit_spec, out, "--chunk-bytes", "4096", "--reuse", prev,
                                        "--json", more_env=ckpt)
            check(rc in (0, 3) and json.loads(stdout).get("resumed"),
                  "resumed after %s: %d %s" % (point, rc, err))
            same_as(fresh_edit, out, "resumed after " + point)
            prev_intact("resumed after " + point)
        # A sharded rerun merged: the merge appends the next shard's reports to shard 0's last
        # part in place, and that part is a link when shard 0's previous store is shard 0 too.
        s0_prev = os.path.join(tmp, "s0-prev")
        rc, _, err = run_batch(prev_spec, s0_prev, "--shard", "0/2")
        check(rc in (0, 3), "shard 0: %d %s" % (rc, err))
        s0_snap = snapshot(s0_prev)
        dirs = []
        for k in range(2):
            d = os.path.join(tmp, "shard%d" % k)
            rc, _, err = run_batch(prev_spec, d, "--shard", "%d/2" % k, "--reuse",
                                   s0_prev if k == 0 else prev)
            check(rc in (0, 3), "shard %d: %d %s" % (k, rc, err))
            dirs.append(d)
        linked, files = linked_to(dirs[0], s0_prev)
        check(linked == files, "shard 0: linked %s of %s" % (linked, files))
        merged = os.path.join(tmp, "merged")
        rc, _, err = run(WORKER, "merge", "--out", merged, "--quiet", *dirs, timeout=120)
        check(rc in (0, 3), "merge: %d %s" % (rc, err))
        check(store_reports(merged) == store_reports(fresh_same), "merged: reports differ")
        now = snapshot(s0_prev)
        check(now == s0_snap, "merged: shard 0's previous store changed: %s" % sorted(
            k for k in set(now) | set(s0_snap) if now.get(k) != s0_snap.get(k)))
        prev_intact("merged shards")
        # The rerun's folder written again: the same batch, with --reuse of it, and another
        # batch with --overwrite. The previous store keeps its bytes every time.
        again = os.path.join(tmp, "again")
        rc, _, err = run_batch(edit_spec, again, "--reuse", same)
        check(rc in (0, 3), "rerun of a rerun: %d %s" % (rc, err))
        same_as(fresh_edit, again, "rerun of a rerun")
        for spec, extra in ((prev_spec, ()), (edit_spec, ("--overwrite",)),
                            (other_spec, ("--overwrite",))):
            rc, _, err = run_batch(spec, same, *extra)
            check(rc in (0, 3), "%s again in the rerun's folder: %d %s" % (spec, rc, err))
            prev_intact("the rerun's folder written again (%s %s)" % (
                os.path.basename(spec), " ".join(extra)))
        rc, _, err = run_batch(edit_spec, edit, "--overwrite", "--html", "all")
        check(rc in (0, 3), "edited folder overwritten: %d %s" % (rc, err))
        prev_intact("edited folder overwritten")
        linked, _ = linked_to(again, prev)
        check(linked, "the rerun of a rerun links nothing back to the first store")


def passing(out):
    """The run ids of a store whose verdict is pass."""
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
    try:
        return {r[0] for r in db.execute("SELECT run_id FROM runs WHERE verdict = 'pass'")}
    finally:
        db.close()


def case_reuse_wal_prev():
    """The previous store's index is only read by a rerun, whatever its journal mode: one put in
    WAL mode by a reader (sqlite3's PRAGMA journal_mode = WAL persists in the file) must not have
    it changed back, nor fail the rerun. The rerun attaches it (wk_rindex_attach_prev()); the
    finish's journal_mode and wal_checkpoint pragmas, unqualified, reached it too: an edited
    input's rerun failed with 'database is locked' (the reuse lookups hold it open), and without
    those readers would have rewritten the previous index's header."""
    import sqlite3
    with TempDir() as tmp:
        lines = copies(traces()[0], 2).decode().splitlines()
        edited = list(lines)
        r = json.loads(edited[len(edited) // 2])
        r["output"] = r["output"] + " Delivery takes 42 days."
        edited[len(edited) // 2] = json.dumps(r)
        for name, data in (("prev.jsonl", lines), ("edit.jsonl", edited)):
            with open(os.path.join(tmp, name), "w") as f:
                f.write("\n".join(data) + "\n")
        prev_spec = write_spec(os.path.join(tmp, "prev.json"), ["prev.jsonl"])
        edit_spec = write_spec(os.path.join(tmp, "edit.json"), ["edit.jsonl"])
        prev = os.path.join(tmp, "prev")
        rc, _, err = batch(prev_spec, prev, "--threads", "2")
        check(rc in (0, 3), "previous batch: %d %s" % (rc, err))
        index = os.path.join(prev, "reports", "index")
        db = sqlite3.connect(index)
        check(db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal",
              "the previous index did not take WAL mode")
        db.close()
        before = read_lines(index)
        fresh = os.path.join(tmp, "fresh")
        rc, _, err = batch(edit_spec, fresh, "--threads", "2")
        check(rc in (0, 3), "batch without --reuse: %d %s" % (rc, err))
        for threads in ("1", "2"):
            out = os.path.join(tmp, "rerun-" + threads)
            rc, stdout, err = batch(edit_spec, out, "--threads", threads, "--reuse", prev, "--json")
            check(rc in (0, 3) and json.loads(stdout)["records_reused_unchanged"] > 0,
                  "rerun of an edited input, %s thread(s), over a WAL-mode previous index: %d %s"
                  % (threads, rc, err))
            check(read_lines(index) == before,
                  "%s thread(s): the previous store's index changed" % threads)
            check(store_reports(out) == store_reports(fresh) and
                  read_lines(os.path.join(out, "events.jsonl")) ==
                  read_lines(os.path.join(fresh, "events.jsonl")),
                  "%s thread(s): reports or events differ from a batch without --reuse" % threads)
            rc, _, err = run(WORKER, "show", "--out", out, json.loads(lines[0])["customer_run_id"])
            check(rc == 0, "show on the rerun: %d %s" % (rc, err))


def case_reuse_refused():
    """--reuse needs a finished v2 store other than the out folder: a per-run store, a folder
    with no store, an unfinished batch and the out folder itself are exit 2 with a message, and
    nothing is reviewed."""
    with TempDir() as tmp:
        t = traces()
        spec = write_spec(os.path.join(tmp, "spec.json"), t)
        per_run = os.path.join(tmp, "per-run")
        check(batch(spec, per_run, "--layout", "per-run")[0] == 0, "per-run batch")
        v2 = os.path.join(tmp, "v2")
        check(batch(spec, v2)[0] == 0, "v2 batch")
        killed = os.path.join(tmp, "killed")
        env = dict(os.environ, KIVO_WORKER_CHECKPOINT_BYTES="1", KIVO_WORKER_TEST_KILL="store:20")
        subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", killed, "--quiet",
                        "--threads", "1", "--chunk-bytes", "4096"], env=env, capture_output=True,
                       timeout=120)
        os.makedirs(os.path.join(tmp, "empty"))
        for prev, out, needle in ((per_run, "o1", "per-run"), (os.path.join(tmp, "empty"), "o2",
                                                             "no report store"),
                                  (killed, "o3", "did not finish"), (v2, "v2", "out folder"),
                                  (os.path.join(tmp, "missing"), "o4", "No such file")):
            out = os.path.join(tmp, out)
            rc, _, err = batch(spec, out, "--reuse", prev)
            check(rc == 2 and needle in err, "--reuse %s: %d %s" % (prev, rc, err))
            check(not os.path.exists(os.path.join(out, "events.jsonl")) or out.endswith("v2"),
                  "--reuse %s: something was written" % prev)
        check(summary(v2)["records_reviewed"] == 30, "the refused batch touched the store")


def api_server():
    sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
    import apitest  # noqa: E402
    apitest.BIN = os.path.join(os.path.dirname(WORKER), "kivo-api")
    return apitest


def key_file(tmp, name, key):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(key + "\n")
    os.chmod(path, 0o600)
    return path


def case_fail_fast():
    """With --kivo-api-base-url a real kivo-api on loopback checks the URL, the key and its
    scope (GET /v1/private-worker/whoami) before any record is reviewed: a bad URL, a refused
    key and a key without private_worker:write end the batch with exit 2, the server's reason and
    no output; a good key goes on, reviews and sends. The endpoint answers the key's project and
    scopes, and refuses a worker credential."""
    t = api_server()
    with TempDir() as tmp:
        spec = write_spec(os.path.join(tmp, "spec.json"), traces())
        db = os.path.join(tmp, "kivo.db")
        good = t.make_key(db, scopes="private_worker:write,private_worker:read")
        read_only = t.make_key(db, scopes="private_worker:read,review_runs:read")
        srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
        try:
            url = "http://127.0.0.1:%d" % srv.port
            c = srv.client()
            st, _, body = c.request("GET", "/v1/private-worker/whoami", token=good)
            check(st == 200 and body.get("project") == "acme" and
                  "private_worker:write" in body.get("scopes", []), "whoami: %d %r" % (st, body))
            st, _, body = c.request("POST", "/v1/private-worker/whoami", token=good)
            check(st == 405, "whoami POST: %d" % st)
            # A port nobody listens on (the server's, after it is stopped, is not reliable): bound
            # by a socket that does not listen, so connections are refused and no other test can
            # take the port meanwhile.
            import socket
            sk = socket.socket()
            sk.bind(("127.0.0.1", 0))
            dead = "http://127.0.0.1:%d" % sk.getsockname()[1]
            bad_key = "kivo_sk_" + "A" * 43
            cases = (
                ("bad URL", dead, good, ["127.0.0.1", "onnect"]),
                ("not kivo-api", url + "/nothing-here", good, ["404"]),
                ("refused key", url, bad_key, ["401"]),
                ("missing scope", url, read_only, ["403", "private_worker:write"]),
            )
            for name, base, key, needles in cases:
                out = os.path.join(tmp, name.replace(" ", "-"))
                rc, _, err = batch(spec, out, "--kivo-api-base-url", base, "--api-key-file",
                                   key_file(tmp, "key", key), "--retry-deadline", "5")
                check(rc == 2, "%s: exit %d, want 2: %s" % (name, rc, err))
                check(all(n in err for n in needles) and "nothing was reviewed" in err,
                      "%s: the reason is not named: %s" % (name, err))
                check(not os.path.exists(out), "%s: the batch wrote %s" % (name, out))
            out = os.path.join(tmp, "good")
            rc, _, err = batch(spec, out, "--kivo-api-base-url", url, "--api-key-file",
                               key_file(tmp, "key", good))
            check(rc == 0, "good key: exit %d %s" % (rc, err))
            st, _, body = c.request("GET", "/v1/private-worker/review-runs?limit=100", token=good)
            check(st == 200 and len(body.get("runs", [])) == summary(out)["records_reviewed"],
                  "runs on the server: %d %r" % (st, body and len(body.get("runs", []))))
            sk.close()
        finally:
            srv.stop()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


if __name__ == "__main__":
    sys.exit(case_main(CASES, configure))
