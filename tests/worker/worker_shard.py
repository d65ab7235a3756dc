#!/usr/bin/env python3
"""Shards and merge (issue 17): `kivo-worker batch --shard K/N` and `kivo-worker merge`.

    worker_shard.py --worker build/kivo-worker --root . CASE

A merge of N shards must be byte for byte the store of one batch over the same inputs: events,
rejects, parts, the index's rows, summary counts and index.html (timing fields, threads and the
out folder aside). The generated corpus puts a large file across shard boundaries, duplicates and
case-differing run ids in different shards, bad lines, an over-long line and a compressed file.
"""
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kivo_testlib import TempDir, case_main, check, run, store_reports, tree  # noqa: E402

WORKER = ROOT = None
TIMING = ["seconds", "mb_per_s", "records_per_s", "claims_per_s", "peak_rss_bytes", "threads",
          "out_dir"]
FIELDS = {"customer_run_id": "/customer_run_id", "output": "/output", "sources": "/sources",
          "source_id": "/id", "source_title": "/title", "source_text": "/text"}


def example_spec():
    return os.path.join(ROOT, "data", "examples", "job-spec.json")


def batch(spec, out, *extra, env=None):
    p = subprocess.run([WORKER, "batch", "--job-spec-file", spec, "--out", out, "--quiet"] +
                       list(extra), capture_output=True, env=env, timeout=300)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def merge(out, dirs, *extra):
    return run(WORKER, "merge", "--out", out, *extra, *dirs, timeout=300)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def index_rows(out):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, "reports", "index"), uri=True)
    try:
        # part_stat.NNNNN: a part file's status (inode, times), of that folder's files only.
        rows = {t: db.execute("SELECT * FROM %s" % t).fetchall() for t in ("runs", "frames")}
        rows["store"] = db.execute("SELECT * FROM store WHERE key NOT LIKE 'part_stat.%'"
                                   ).fetchall()
        return rows
    finally:
        db.close()


def without_timing(text):
    for k in TIMING:
        text = re.sub(r'("%s":\s*)("[^"]*"|[-0-9.e+]+)' % k, r"\1X", text)
    return text


def same_store(one, merged, what):
    """The merged store against one batch's: every byte that is not timing."""
    for name in ("events.jsonl", "rejects.jsonl"):
        check(read(os.path.join(one, name)) == read(os.path.join(merged, name)),
              "%s: %s differs" % (what, name))
    ta, tb = tree(os.path.join(one, "reports")), tree(os.path.join(merged, "reports"))
    parts = sorted(k for k in ta if k.startswith("part-"))
    check(parts == sorted(k for k in tb if k.startswith("part-")),
          "%s: parts %s vs %s" % (what, parts, sorted(tb)))
    for k in parts:
        check(ta[k] == tb[k], "%s: %s differs" % (what, k))
    check(index_rows(one) == index_rows(merged), "%s: the index's rows differ" % what)
    check(store_reports(one) == store_reports(merged), "%s: reports differ" % what)
    sa = json.loads(read(os.path.join(one, "summary.json")))
    sb = json.loads(read(os.path.join(merged, "summary.json")))
    for k in set(sa) | set(sb):
        if k not in TIMING:
            check(sa.get(k) == sb.get(k), "%s: summary %s: %r vs %r" % (what, k, sa.get(k),
                                                                        sb.get(k)))
    ha, hb = os.path.join(one, "index.html"), os.path.join(merged, "index.html")
    check(os.path.exists(ha) == os.path.exists(hb), "%s: index.html in one only" % what)
    if os.path.exists(ha):
        check(without_timing(read(ha).decode()) == without_timing(read(hb).decode()),
              "%s: index.html differs" % what)
    check(not any(n.endswith((".tmp", ".partial")) for n in tree(merged)),
          "%s: temporary files left behind" % what)


def shards_then_merge(tmp, spec, n, tag, *extra, want_rc=(0, 3)):
    dirs = []
    for k in range(n):
        d = os.path.join(tmp, "%s-s%d-of-%d" % (tag, k, n))
        rc, err = batch(spec, d, "--shard", "%d/%d" % (k, n), *extra)
        check(rc in want_rc, "%s shard %d/%d: exit %d: %s" % (tag, k, n, rc, err))
        info = json.loads(read(os.path.join(d, "shard.json")))
        check(info["shard"] == k and info["shards"] == n, "shard.json says %r" % info)
        s = json.loads(read(os.path.join(d, "summary.json")))
        check(s["shard"] == {"index": k, "count": n}, "summary shard %r" % s.get("shard"))
        dirs.append(d)
    out = os.path.join(tmp, "%s-merged-%d" % (tag, n))
    # Any order on the command line.
    rc, _, err = merge(out, list(reversed(dirs)), "--quiet")
    check(rc in want_rc, "%s merge of %d: exit %d: %s" % (tag, n, rc, err))
    return out, dirs


def case_example():
    """The example job in 1, 2, 3 and 7 shards, merged: the single run's bytes."""
    with TempDir() as tmp:
        one = os.path.join(tmp, "one")
        rc, err = batch(example_spec(), one)
        check(rc == 0, "single run: exit %d: %s" % (rc, err))
        for n in (1, 2, 3, 7):
            merged, _ = shards_then_merge(tmp, example_spec(), n, "ex")
            same_store(one, merged, "example, %d shards" % n)
        # Shards run with --reuse: the merged summary.json counts records_reused and
        # records_reused_unchanged as one such run does (merge left them out before).
        for html in ("flagged", "none"):
            again = os.path.join(tmp, "again-" + html)
            rc, err = batch(example_spec(), again, "--reuse", one, "--html", html)
            check(rc == 0, "single run with --reuse: exit %d: %s" % (rc, err))
            merged, _ = shards_then_merge(tmp, example_spec(), 2, "re-" + html, "--reuse", one,
                                          "--html", html)
            same_store(again, merged, "--reuse, --html %s, 2 shards" % html)


def case_given_inputs():
    """Shards given their inputs on the command line (replacing the spec's): merge expands the
    same inputs (shard.json "inputs"), not the spec's, and equals one run given them too."""
    with TempDir() as tmp:
        traces = os.path.join(ROOT, "data", "examples", "traces")
        given = sorted(os.path.join(traces, n) for n in os.listdir(traces) if n.endswith(".jsonl"))
        given = given[::-1][:2]      # two of them, in another order than the spec's glob
        one = os.path.join(tmp, "one")
        rc, err = batch(example_spec(), one, *given)
        check(rc in (0, 3), "single run with inputs: exit %d: %s" % (rc, err))
        for n in (2, 3):
            merged, dirs = shards_then_merge(tmp, example_spec(), n, "given", *given)
            info = json.loads(read(os.path.join(dirs[0], "shard.json")))
            check(info.get("inputs") == given, "shard.json inputs %r" % info.get("inputs"))
            same_store(one, merged, "given inputs, %d shards" % n)


def make_corpus(tmp, dups=True, label=True):
    """Three inputs: a small file, a large one (~500 records) that shards split, and a gzip one.
    Duplicates and case-differing ids sit in different files and far apart in the large one."""
    recs = []
    for name in sorted(os.listdir(os.path.join(ROOT, "data", "examples", "traces"))):
        with open(os.path.join(ROOT, "data", "examples", "traces", name), "rb") as f:
            recs += [json.loads(l) for l in f.read().split(b"\n") if l.strip()]

    def rec(i, rid, meta=True):
        r = dict(recs[i % len(recs)])
        r["customer_run_id"] = rid
        if meta:
            r["meta"] = {"model": "m-%d" % (i % 3), "gold": i % 4 == 0}
        return json.dumps(r).encode()

    small = [rec(i, "small-%d" % i) for i in range(60)]
    small[7] = rec(7, "Case-A")
    big = []
    for i in range(520):
        big.append(rec(i + 3, "big-%d" % i))
        if i % 61 == 17:
            big.append(b'{"customer_run_id": "broken-%d", "output": ' % i)  # invalid JSON
        if i % 97 == 50:
            big.append(b'{"customer_run_id": "nooutput-%d"}' % i)
    if dups:
        big.insert(40, rec(1, "small-3"))     # a duplicate of the small file's
        big.insert(300, rec(2, "small-3"))    # ... and again, in another shard
        big.insert(310, rec(4, "big-5"))      # a duplicate inside the large file, far apart
    big.insert(450, rec(5, "case-a"))         # differs only in case from the small file's
    big.insert(200, b'{"pad": "' + b"x" * 70000 + b'"}')   # over limits.max_line_bytes
    gz = [rec(i + 7, "gz-%d" % i) for i in range(40)]
    if dups:
        gz[10] = rec(9, "big-400")             # a duplicate of a later shard's run
    with open(os.path.join(tmp, "a-small.jsonl"), "wb") as f:
        f.write(b"\n".join(small) + b"\n")
    with open(os.path.join(tmp, "b-big.jsonl"), "wb") as f:
        f.write(b"\r\n".join(big[:100]) + b"\r\n" + b"\n".join(big[100:]))  # no final newline
    with gzip.open(os.path.join(tmp, "c-gz.jsonl.gz"), "wb") as f:
        f.write(b"\n".join(gz) + b"\n")
    spec = os.path.join(tmp, "spec.json")
    fields = dict(FIELDS, metadata={"model": "/meta/model"})
    if label:
        fields["label"] = "/meta/gold"
    with open(spec, "w") as f:
        json.dump({"schema_version": "kivo_worker_job_spec.v1",
                   "workflow_id": "support_answer_review", "intended_use": "customer_facing",
                   "strictness": "strict", "policy_version": "standard-support-v1",
                   "worker_id": "worker_support_001",
                   "inputs": ["a-small.jsonl", "b-big.jsonl", "c-gz.jsonl.gz"],
                   "fields": fields, "limits": {"max_line_bytes": 65536},
                   "report_store": {"path": "./kivo-reports", "label": "store"}}, f)
    return spec


def case_corpus():
    """The generated corpus in 1, 2, 3 and 7 shards (the large file split across them), with
    --group-by and labels, and in 3 shards with small zstd parts: the single run's bytes."""
    with TempDir() as tmp:
        spec = make_corpus(tmp)
        for tag, extra, counts in (("plain", ["--group-by", "model"], (1, 2, 3, 7)),
                                   ("zstd", ["--compress", "zstd", "--part-size", "16K",
                                             "--threads", "1", "--chunk-bytes", "8192"], (3,))):
            one = os.path.join(tmp, tag + "-one")
            rc, err = batch(spec, one, *extra)
            check(rc == 3, "%s single run: exit %d, want 3: %s" % (tag, rc, err))
            s = json.loads(read(os.path.join(one, "summary.json")))
            check(s["duplicate_run_ids"] == 4 and s["run_ids_differing_in_case"] == 1,
                  "%s: the corpus is not what the test means: %r" % (tag, s))
            for n in counts:
                merged, dirs = shards_then_merge(tmp, spec, n, tag, *extra)
                same_store(one, merged, "%s, %d shards" % (tag, n))
                split = [d for d in dirs if any(
                    r["file"] == 1 for r in json.loads(read(os.path.join(d, "shard.json")))
                    ["ranges"])]
                check(n == 1 or len(split) >= 2, "%d shards: the large file is not split" % n)


def merge_env(mode):
    return dict(os.environ, KIVO_WORKER_TEST_MERGE=mode)


def case_copy_ranges():
    """--html none, uncompressed parts, no run id in two shards: merge copies the shards' bytes
    by ranges (parts re-cut where one process cuts them, index rows copied by SQLite, events and
    rejects appended) instead of row by row. With 4K parts (many cuts falling inside and across
    shards) and the default size, in 1, 2, 3 and 7 shards: the single run's bytes, and the same
    as the row-by-row merge. With a duplicate across shards the merge goes row by row."""
    with TempDir() as tmp:
        spec = make_corpus(tmp, dups=False, label=False)
        for tag, extra in (("4k", ["--html", "none", "--part-size", "4K", "--threads", "1"]),
                           ("default", ["--html", "none"])):
            one = os.path.join(tmp, tag + "-one")
            rc, err = batch(spec, one, *extra)
            check(rc == 3, "%s single run: exit %d, want 3: %s" % (tag, rc, err))
            s = json.loads(read(os.path.join(one, "summary.json")))
            check(s["duplicate_run_ids"] == 0 and s["run_ids_differing_in_case"] == 1,
                  "%s: the corpus is not what the test means: %r" % (tag, s))
            check(tag != "4k" or s["report_store"]["parts"] > 20, "%s: %d parts" %
                  (tag, s["report_store"]["parts"]))
            for n in (1, 2, 3, 7):
                dirs = []
                for k in range(n):
                    d = os.path.join(tmp, "%s-s%d-of-%d" % (tag, k, n))
                    rc, err = batch(spec, d, "--shard", "%d/%d" % (k, n), *extra)
                    check(rc in (0, 3), "%s shard %d/%d: exit %d: %s" % (tag, k, n, rc, err))
                    dirs.append(d)
                for mode, way in (("say", "copy by ranges"), ("rows", None)):
                    out = os.path.join(tmp, "%s-merged-%d-%s" % (tag, n, mode))
                    p = subprocess.run([WORKER, "merge", "--out", out, "--quiet"] + dirs,
                                       env=merge_env(mode), capture_output=True, timeout=300)
                    err = p.stderr.decode("utf-8", "replace")
                    check(p.returncode == 3, "%s merge of %d (%s): exit %d: %s" %
                          (tag, n, mode, p.returncode, err))
                    check(way is None or way in err, "%s, %d shards: not merged by ranges: %s" %
                          (tag, n, err))
                    same_store(one, out, "%s, %d shards, %s" % (tag, n, mode))
        # A run id in two shards: row by row (the duplicate becomes a reject).
        os.mkdir(os.path.join(tmp, "dups"))
        spec2 = make_corpus(os.path.join(tmp, "dups"), label=False)
        extra = ["--html", "none"]
        one = os.path.join(tmp, "dups-one")
        rc, err = batch(spec2, one, *extra)
        check(rc == 3, "dups single run: exit %d: %s" % (rc, err))
        dirs = []
        for k in range(3):
            dirs.append(os.path.join(tmp, "dups-s%d" % k))
            rc, err = batch(spec2, dirs[-1], "--shard", "%d/3" % k, *extra)
            check(rc in (0, 3), "dups shard %d: exit %d: %s" % (k, rc, err))
        out = os.path.join(tmp, "dups-merged")
        p = subprocess.run([WORKER, "merge", "--out", out, "--quiet"] + dirs,
                           env=merge_env("say"), capture_output=True, timeout=300)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode == 3 and "row by row" in err, "dups merge: %d %s" % (p.returncode, err))
        same_store(one, out, "duplicates across shards, --html none")


def case_ranges():
    """The ranges of a split file are line-aligned, cover it once, and rejects inside a later
    range carry the file's real line numbers (checked against the file's bytes)."""
    with TempDir() as tmp:
        spec = make_corpus(tmp)
        big = read(os.path.join(tmp, "b-big.jsonl"))
        size = len(big)
        for n in (2, 5):
            covered = []
            for k in range(n):
                d = os.path.join(tmp, "r%d-%d" % (n, k))
                rc, err = batch(spec, d, "--shard", "%d/%d" % (k, n))
                check(rc in (0, 3), "shard %d/%d: exit %d: %s" % (k, n, rc, err))
                for r in json.loads(read(os.path.join(d, "shard.json")))["ranges"]:
                    if r["file"] != 1:
                        continue
                    b, e = r["begin"], r["end"]
                    check(b == 0 or big[b - 1:b] == b"\n", "range starts mid-line at %d" % b)
                    check(e == size or big[e - 1:e] == b"\n", "range ends mid-line at %d" % e)
                    check(r["first_line"] == big[:b].count(b"\n"), "first_line of %r" % r)
                    covered.append((b, e))
                with open(os.path.join(d, "rejects.jsonl")) as f:
                    for line in f:
                        rj = json.loads(line)
                        if rj["file"].endswith("b-big.jsonl"):
                            off = rj["offset"]
                            check(big[:off].count(b"\n") + 1 == rj["line"],
                                  "reject line %d at offset %d" % (rj["line"], off))
            covered.sort()
            check(covered[0][0] == 0 and covered[-1][1] == size and
                  all(a[1] == b[0] for a, b in zip(covered, covered[1:])),
                  "%d shards: ranges %s do not cover the file once" % (n, covered))


def case_refusals():
    """Missing, repeated, unfinished and foreign shards, and a bad --out, exit 2 and say why."""
    with TempDir() as tmp:
        spec = example_spec()
        dirs = []
        for k in range(3):
            d = os.path.join(tmp, "s%d" % k)
            rc, err = batch(spec, d, "--shard", "%d/3" % k)
            check(rc == 0, "shard %d: exit %d: %s" % (k, rc, err))
            dirs.append(d)
        other = os.path.join(tmp, "other1")
        rc, err = batch(spec, other, "--shard", "1/3", "--batch-id", "nightly-2")
        check(rc == 0, "foreign shard: exit %d: %s" % (rc, err))
        opts = os.path.join(tmp, "opts1")
        rc, err = batch(spec, opts, "--shard", "1/3", "--part-size", "8K")
        check(rc == 0, "other options: exit %d: %s" % (rc, err))
        four = os.path.join(tmp, "four1")
        rc, err = batch(spec, four, "--shard", "1/4")
        check(rc == 0, "1/4: exit %d: %s" % (rc, err))
        plain = os.path.join(tmp, "plain")
        rc, err = batch(spec, plain)
        check(rc == 0, "plain batch: exit %d: %s" % (rc, err))
        out = os.path.join(tmp, "m")
        for what, given, needle in (
                ("missing", [dirs[0], dirs[2]], "missing: 1/3"),
                ("twice", [dirs[0], dirs[1], dirs[1], dirs[2]], "given twice"),
                ("foreign batch id", [dirs[0], other, dirs[2]], "different batches"),
                ("other options", [dirs[0], opts, dirs[2]], "different batches"),
                ("other N", [dirs[0], four, dirs[2]], "different batches"),
                ("not a shard", [dirs[0], plain, dirs[2]], "not the out folder of"),
                ("no such folder", [dirs[0], os.path.join(tmp, "nope"), dirs[2]],
                 "cannot open shard folder")):
            rc, _, err = merge(out, given)
            check(rc == 2 and needle in err, "%s: exit %d, stderr %r" % (what, rc, err))
            check(not os.path.exists(os.path.join(out, "summary.json")),
                  "%s: a summary was written" % what)
        rc, _, err = merge(dirs[1], dirs)
        check(rc == 2 and "one of the shards' folders" in err, "--out a shard: %d %r" % (rc, err))
        # An unfinished shard (its manifest still running, as after a kill).
        man = os.path.join(dirs[1], "manifest.json")
        m = json.loads(read(man))
        m["state"] = "running"
        with open(man, "w") as f:
            json.dump(m, f)
        rc, _, err = merge(out, dirs)
        check(rc == 2 and "did not finish" in err, "unfinished: exit %d, %r" % (rc, err))
        # Finished again (the rerun resumes or redoes it): the merge goes through.
        rc, err = batch(spec, dirs[1], "--shard", "1/3")
        check(rc == 0, "rerun of shard 1: exit %d: %s" % (rc, err))
        rc, _, err = merge(out, dirs)
        check(rc == 0, "merge after the rerun: exit %d: %s" % (rc, err))
        # The job spec changed since the shards ran: refused.
        spec2 = os.path.join(tmp, "spec.json")
        with open(example_spec()) as f:
            sj = json.load(f)
        sj["inputs"] = [os.path.join(ROOT, "data", "examples", "traces", "*.jsonl")]
        with open(spec2, "w") as f:
            json.dump(sj, f)
        sd = []
        for k in range(2):
            sd.append(os.path.join(tmp, "c%d" % k))
            rc, err = batch(spec2, sd[-1], "--shard", "%d/2" % k)
            check(rc == 0, "spec2 shard %d: exit %d: %s" % (k, rc, err))
        sj["policy_version"] = "changed"
        with open(spec2, "w") as f:
            json.dump(sj, f)
        rc, _, err = merge(os.path.join(tmp, "m2"), sd)
        check(rc == 2 and "changed since the shards ran" in err,
              "changed spec: exit %d, %r" % (rc, err))
        # summary.json's threads over what --threads allows: merge adds them up in an int (two
        # shards of 2^31 - 1 overflowed it before: undefined behaviour, UBSan aborted the merge).
        for k in (0, 2):
            sp = os.path.join(dirs[k], "summary.json")
            s = json.loads(read(sp))
            s["threads"] = 2147483647
            with open(sp, "w") as f:
                json.dump(s, f)
        rc, _, err = merge(os.path.join(tmp, "m3"), dirs)
        check(rc == 2 and "threads is over 4096" in err, "threads: exit %d, %r" % (rc, err))


def folder_state(root):
    """{relative path: (mode, mtime_ns, bytes or None)} of root and everything below it."""
    st = {}
    for d, subdirs, names in os.walk(root):
        for n in [""] + subdirs + names:
            p = os.path.join(d, n) if n else d
            s = os.lstat(p)
            data = None
            if os.path.isfile(p) and not os.path.islink(p):
                data = read(p)
            st[os.path.relpath(p, root)] = (s.st_mode, s.st_mtime_ns, data)
    return st


def set_writable(root, on):
    """chmod -R a-w (on=False), or u+w back."""
    for d, subdirs, names in os.walk(root):
        for p in [d] + [os.path.join(d, n) for n in subdirs + names]:
            if not os.path.islink(p):
                m = os.lstat(p).st_mode
                os.chmod(p, (m | 0o200) if on else (m & ~0o222))


def case_read_only():
    """merge only reads the shards' folders: over shards made read-only (chmod -R a-w; as root,
    which writes anyway, the check is that no byte, mode or mtime of theirs changed), each with
    an outbox.state that says every event was sent and ends with a torn line (a submit killed
    mid-write, or still writing), merge writes nothing there (it cut the torn line off, opening
    the state for append, before), still names the duplicates their later shard sent too, and
    gives one batch's store. Row by row (duplicates across shards) and by ranges."""
    with TempDir() as tmp:
        for tag, dups, extra, way in (("rows", True, [], "row by row"),
                                      ("ranges", False, ["--html", "none"], "copy by ranges")):
            os.mkdir(os.path.join(tmp, tag))
            spec = make_corpus(os.path.join(tmp, tag), dups=dups, label=False)
            one = os.path.join(tmp, tag + "-one")
            rc, err = batch(spec, one, *extra)
            check(rc == 3, "%s single run: exit %d: %s" % (tag, rc, err))
            dirs = []
            for k in range(3):
                d = os.path.join(tmp, "%s-s%d" % (tag, k))
                rc, err = batch(spec, d, "--shard", "%d/3" % k, *extra)
                check(rc in (0, 3), "%s shard %d: exit %d: %s" % (tag, k, rc, err))
                ids = [json.loads(l)["event_id"] for l in read(os.path.join(d, "events.jsonl"))
                       .decode().splitlines()]
                with open(os.path.join(d, "outbox.state"), "w") as f:
                    f.write("".join("%s sent -\n" % i for i in ids) + ids[0] + " dea")
                dirs.append(d)
            for d in dirs:
                set_writable(d, False)
            try:
                before = [folder_state(d) for d in dirs]
                out = os.path.join(tmp, tag + "-merged")
                p = subprocess.run([WORKER, "merge", "--out", out] + dirs, env=merge_env("say"),
                                   capture_output=True, timeout=300)
                err = p.stderr.decode("utf-8", "replace")
                after = [folder_state(d) for d in dirs]
            finally:
                for d in dirs:
                    set_writable(d, True)
            for k in range(3):
                changed = sorted(x for x in set(before[k]) | set(after[k])
                                 if before[k].get(x) != after[k].get(x))
                check(not changed, "%s: merge changed shard %d's folder: %s" % (tag, k, changed))
            check(p.returncode == 3 and way in err, "%s merge: exit %d: %s" %
                  (tag, p.returncode, err))
            if dups:
                check("sent by their later shard too" in err and
                      " 2 runs whose customer_run_id" in err,
                      "%s: want 2 duplicates sent twice named: %s" % (tag, err))
            same_store(one, out, "%s, read-only shards" % tag)


def case_other_cwd():
    """Shards run from their folder with a relative job spec path and relative inputs given on
    the command line; the merge runs from another working folder (the relative paths mean
    nothing there) and still reads the inputs to name duplicates across shards: one process's
    store. A shard.json's cwd that no longer exists is refused with a message naming it."""
    with TempDir() as tmp:
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        spec = make_corpus(work)
        inputs = ["a-small.jsonl", "b-big.jsonl", "c-gz.jsonl.gz"]

        def rel_batch(out, *extra):
            p = subprocess.run([WORKER, "batch", "--job-spec-file", "spec.json", "--out", out,
                                "--quiet"] + list(extra) + inputs, cwd=work,
                               capture_output=True, timeout=300)
            return p.returncode, p.stderr.decode("utf-8", "replace")
        one = os.path.join(tmp, "one")
        rc, err = rel_batch(one)
        check(rc == 3, "single run: exit %d: %s" % (rc, err))
        dirs = []
        for k in range(3):
            dirs.append(os.path.join(tmp, "s%d" % k))
            rc, err = rel_batch(dirs[-1], "--shard", "%d/3" % k)
            check(rc == 3 or rc == 0, "shard %d: exit %d: %s" % (k, rc, err))
            info = json.loads(read(os.path.join(dirs[-1], "shard.json")))
            check(os.path.isabs(info["cwd"]) and info["job_spec"] == "spec.json",
                  "shard.json cwd %r job_spec %r" % (info["cwd"], info["job_spec"]))
        elsewhere = os.path.join(tmp, "elsewhere")
        os.mkdir(elsewhere)
        for name in inputs:   # decoys: the merge must not read these instead
            with open(os.path.join(elsewhere, name), "wb") as f:
                f.write(b"{}\n")
        out = os.path.join(tmp, "merged")
        rc, _, err = run(WORKER, "merge", "--out", out, "--quiet", *dirs, cwd=elsewhere,
                         timeout=300)
        check(rc == 3, "merge from another folder: exit %d: %s" % (rc, err))
        same_store(one, out, "merge from another working folder")
        # The shards' working folder gone: refused, naming it.
        os.rename(work, work + "-moved")
        rc, _, err = run(WORKER, "merge", "--out", os.path.join(tmp, "m2"), *dirs,
                         cwd=elsewhere, timeout=300)
        check(rc == 2 and work in err, "cwd gone: exit %d, %r" % (rc, err))


def api_server(tmp, name="kivo"):
    """A real kivo-api on loopback (tests/api/apitest.py) on tmp/NAME.db with a private-worker key
    in tmp/NAME.key: (the started server, the key, the worker's options to send to it). The
    caller stops it."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
    import apitest as t  # noqa: E402
    t.BIN = os.path.join(os.path.dirname(WORKER), "kivo-api")
    db = os.path.join(tmp, name + ".db")
    key = t.make_key(db, scopes="private_worker:write,private_worker:read")
    key_file = os.path.join(tmp, name + ".key")
    with open(key_file, "w") as f:
        f.write(key + "\n")
    os.chmod(key_file, 0o600)
    srv = t.Server(db, "--quiet", "--rate-limit", "0").start()
    return srv, key, ["--kivo-api-base-url", "http://127.0.0.1:%d" % srv.port,
                      "--api-key-file", key_file]


def case_submit_merged():
    """Independent shards (no MPI) cannot know each other's run ids while they run: run them
    without --kivo-api-base-url, merge, and send from the merged store, which is an outbox
    (outbox.json): `kivo-worker submit --outbox MERGED` against a real kivo-api creates each
    run of the job once, with the merged store's (one process's) event, even with run ids held
    by two shards; a second submit sends nothing."""
    with TempDir() as tmp:
        spec = make_corpus(tmp)
        merged, dirs = shards_then_merge(tmp, spec, 3, "send", "--html", "none")
        check(os.path.exists(os.path.join(merged, "outbox.json")), "no outbox.json in the merge")
        srv, key, sending = api_server(tmp)
        try:
            for attempt in (1, 2):
                p = subprocess.run([WORKER, "submit", "--outbox", merged, *sending, "--json"],
                                   capture_output=True, timeout=300)
                check(p.returncode == 0, "submit %d: exit %d: %s" % (attempt, p.returncode,
                                                                    p.stderr))
                st = json.loads(p.stdout)
                events = [json.loads(l) for l in open(os.path.join(merged, "events.jsonl"))]
                want = (len(events), 0) if attempt == 1 else (0, len(events))
                check((st["sent"], st["already_sent"]) == want and st["dead_lettered"] == 0,
                      "submit %d: %r" % (attempt, st))
            runs, cursor = [], None
            c = srv.client()
            while True:
                path = "/v1/private-worker/review-runs?limit=200" + (
                    "&cursor=" + cursor if cursor else "")
                code, _, body = c.request("GET", path, token=key, raw=True)
                check(code == 200, "run list: %d" % code)
                page = json.loads(body)
                runs += page["runs"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            c.close()
            mine = {e["customer_run_id"]: e for e in events}
            check(sorted(r["customer_run_id"] for r in runs) == sorted(mine),
                  "server holds %d runs, the merged store %d" % (len(runs), len(mine)))
            check(all(r["status"] == "completed" and r["gate_verdict"] ==
                      mine[r["customer_run_id"]]["gate_verdict"] for r in runs),
                  "a run not completed with the merged store's verdict")
        finally:
            srv.stop()
        # Shards that send themselves: the merge says which duplicates were sent twice.
        srv, _, sending = api_server(tmp, "kivo2")
        try:
            send = ["--html", "none", *sending]
            dirs2 = []
            for k in range(3):
                dirs2.append(os.path.join(tmp, "sending-%d" % k))
                rc, err = batch(spec, dirs2[-1], "--shard", "%d/3" % k, *send)
                check(rc in (0, 3, 4), "sending shard %d: exit %d: %s" % (k, rc, err))
            rc, _, err = merge(os.path.join(tmp, "sending-merged"), dirs2)
            check(rc == 3 and "sent by their later shard too" in err,
                  "merge of sending shards: exit %d, %r" % (rc, err))
            check(" 2 runs whose customer_run_id" in err, "want 2 sent twice: %r" % err)
        finally:
            srv.stop()


def case_shard_option():
    """--shard forms: K/N, auto/N from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, KIVO_SHARD;
    bad values exit 2 naming the problem."""
    with TempDir() as tmp:
        spec = example_spec()
        ref = os.path.join(tmp, "ref")
        rc, err = batch(spec, ref, "--shard", "1/3")
        check(rc == 0, "1/3: exit %d: %s" % (rc, err))
        base = {k: v for k, v in os.environ.items()
                if k not in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID",
                             "OMPI_COMM_WORLD_RANK", "KIVO_SHARD")}
        for name, env, extra in (
                ("k8s", {"JOB_COMPLETION_INDEX": "1"}, ["--shard", "auto/3"]),
                ("slurm", {"SLURM_ARRAY_TASK_ID": "1"}, ["--shard", "auto/3"]),
                ("env", {"KIVO_SHARD": "1/3"}, [])):
            out = os.path.join(tmp, name)
            rc, err = batch(spec, out, *extra, env=dict(base, **env))
            check(rc == 0, "%s: exit %d: %s" % (name, rc, err))
            check(read(os.path.join(out, "events.jsonl")) == read(os.path.join(ref,
                                                                               "events.jsonl")),
                  "%s: not shard 1/3's events" % name)
            check(json.loads(read(os.path.join(out, "shard.json")))["shard"] == 1,
                  "%s: shard.json" % name)
        for bad, env, needle in (("3/3", {}, "K must be"), ("1/0", {}, "--shard takes"),
                                 ("x/3", {}, "K must be"), ("1", {}, "--shard takes"),
                                 ("auto/3", {}, "none of JOB_COMPLETION_INDEX"),
                                 ("auto/3", {"JOB_COMPLETION_INDEX": "5"}, "not a number below"),
                                 ("1/100001", {}, "--shard takes")):
            rc, err = batch(spec, os.path.join(tmp, "bad"), "--shard", bad,
                            env=dict(base, **env))
            check(rc == 2 and needle in err, "--shard %s: exit %d, %r" % (bad, rc, err))


def case_slurm():
    """scripts/scale-out/kivo-shards.sbatch run as Slurm would run an array of 3 (bash, with
    SLURM_ARRAY_TASK_ID/COUNT set), then the merge its header gives: one process's store."""
    script = os.path.join(ROOT, "scripts", "scale-out", "kivo-shards.sbatch")
    with TempDir() as tmp:
        spec = make_corpus(tmp)
        one = os.path.join(tmp, "one")
        rc, err = batch(spec, one)
        check(rc == 3, "single run: exit %d: %s" % (rc, err))
        head = read(script).decode()
        check("#SBATCH" in head and "merge --out" in head, "no #SBATCH lines or merge example")
        run_root = os.path.join(tmp, "run")
        for k in range(3):
            env = {k_: v for k_, v in os.environ.items() if not k_.startswith(("SLURM_", "KIVO_"))}
            env.update(SLURM_ARRAY_TASK_ID=str(k), SLURM_ARRAY_TASK_COUNT="3",
                       SLURM_CPUS_PER_TASK="2", KIVO_WORKER=WORKER)
            p = subprocess.run(["bash", script, spec, run_root], env=env, capture_output=True,
                               timeout=300)
            check(p.returncode == 3, "task %d: exit %d: %s" % (k, p.returncode, p.stderr))
        p = subprocess.run(["bash", script, spec, run_root], capture_output=True, timeout=60,
                           env={k_: v for k_, v in os.environ.items()
                                if not k_.startswith("SLURM_")})
        check(p.returncode != 0 and b"array" in p.stderr, "outside an array: %r" % p.stderr)
        dirs = sorted(os.path.join(run_root, d) for d in os.listdir(run_root))
        check([os.path.basename(d) for d in dirs] == ["shard-0", "shard-1", "shard-2"],
              "shard folders %s" % dirs)
        out = os.path.join(run_root, "all")
        rc, _, err = merge(out, dirs)
        check(rc == 3, "merge: exit %d: %s" % (rc, err))
        same_store(one, out, "Slurm array of 3")


def k8s_commands(path):
    """The command of each container in the manifest (written as JSON flow sequences) and the
    Indexed Job's completions, parallelism and mode; standard library only, no YAML parser."""
    cmds, fields = [], {}
    for line in read(path).decode().split("\n"):
        m = re.match(r"\s*command:\s*(\[.*\])\s*$", line)
        if m:
            cmds.append(json.loads(m.group(1)))
        m = re.match(r"\s*(completions|parallelism|completionMode):\s*(\S+)\s*$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    return cmds, fields


def case_k8s():
    """scripts/scale-out/kivo-indexed-job.yaml: an Indexed Job whose completions, parallelism and
    --shard auto/N agree; its shard command run for each JOB_COMPLETION_INDEX, the merge Job's
    wait and merge commands after them (paths under /data moved to a temporary folder, the
    image's kivo-worker replaced by the build's): one process's store."""
    manifest = os.path.join(ROOT, "scripts", "scale-out", "kivo-indexed-job.yaml")
    cmds, fields = k8s_commands(manifest)
    check(fields.get("completionMode") == "Indexed", "not an Indexed Job: %r" % fields)
    n = int(fields.get("completions", "0"))
    check(n > 1 and fields.get("parallelism") == str(n), "completions/parallelism %r" % fields)
    check(len(cmds) == 3, "want the shard, wait and merge commands, got %d" % len(cmds))
    shard, wait, merge_cmd = cmds
    check(("for k in %s;" % " ".join(str(k) for k in range(n))) in wait[2],
          "the merge Job waits for other shards than 0..%d: %r" % (n - 1, wait))
    check(shard[:2] == ["sh", "-c"] and ("--shard auto/%d" % n) in shard[2],
          "shard command %r does not take auto/%d" % (shard, n))
    with TempDir() as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        spec_src = make_corpus(data)
        os.rename(spec_src, os.path.join(data, "job.json"))
        one = os.path.join(tmp, "one")
        rc, err = batch(os.path.join(data, "job.json"), one)
        check(rc == 3, "single run: exit %d: %s" % (rc, err))

        def local(cmd):
            return [c.replace("/data", data).replace("exec kivo-worker", "exec " + WORKER)
                    for c in cmd]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("KIVO_", "SLURM_"))}
        for k in range(n):
            p = subprocess.run(local(shard), env=dict(base, JOB_COMPLETION_INDEX=str(k)),
                               capture_output=True, timeout=300)
            check(p.returncode == 3, "index %d: exit %d: %s" % (k, p.returncode, p.stderr))
        p = subprocess.run(local(wait), env=base, capture_output=True, timeout=60)
        check(p.returncode == 0, "the merge Job's wait: exit %d %s" % (p.returncode, p.stderr))
        p = subprocess.run(local(merge_cmd), env=base, capture_output=True, timeout=300)
        check(p.returncode == 3, "merge: exit %d: %s" % (p.returncode, p.stderr))
        same_store(one, os.path.join(data, "run", "all"), "Indexed Job of %d" % n)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def configure(worker, root):
    global WORKER, ROOT
    WORKER, ROOT = worker, root


def main():
    return case_main(CASES, configure)


if __name__ == "__main__":
    sys.exit(main())
