#!/usr/bin/env python3
"""Expands the behavioural suite's templates into labeled cases (CheckList, Ribeiro et al. 2020).

    gen_cases.py --data tests/data/checklist --out cases.jsonl

Reads sources.json (the paragraphs) and templates.json (the groups), writes one JSON line per
case, shaped as a kivo-worker trace record (customer_run_id, output, sources[{id,title,text}])
plus the case's label: capability, kind, expect ("flag" or "pass"), group and template.

A group's template strings are filled from `rows` (slots filled together), the product of
`fill`'s lists, or `zip` (lists cycled side by side to the longest). A value "@<source id>" is
that source's base claim (templates.json base_claims), and the case's source is that one; the
slot name with "_lc" appended gives the claim in the form it takes after a lead-in. The first
letter of each output is capitalised. Case ids are the group id and a running number, so they
stay stable while a group is unchanged. Python 3 standard library only.
"""
import argparse
import itertools
import json
import os
import re
import sys

SLOT = re.compile(r"\{([A-Za-z_]+)\}")


def expand_rows(group):
    if "rows" in group:
        return [dict(r) for r in group["rows"]]
    if "fill" in group:
        keys = list(group["fill"])
        return [dict(zip(keys, vals)) for vals in itertools.product(*(group["fill"][k] for k in keys))]
    if "zip" in group:
        keys = list(group["zip"])
        n = max(len(group["zip"][k]) for k in keys)
        return [{k: group["zip"][k][i % len(group["zip"][k])] for k in keys} for i in range(n)]
    return [{}]


def fill(template, row, bases):
    """The template with row's slots filled; also the source a "@id" value named, if any."""
    named = []

    def sub(m):
        key = m.group(1)
        lc = key.endswith("_lc")
        base_key = key[:-3] if lc else key
        if base_key not in row:
            raise KeyError("slot {%s} has no value" % key)
        v = str(row[base_key])
        if v.startswith("@"):
            named.append(v[1:])
            b = bases[v[1:]]
            return b["lc"] if lc else b["text"]
        return v

    out = SLOT.sub(sub, template)
    if out and out[0].islower():
        out = out[0].upper() + out[1:]
    return out, (named[0] if named else None)


def source_record(src):
    text = src["json"] if "json" in src else src["text"]
    return {"id": src["id"], "title": src["title"], "text": text}


def generate(data_dir):
    with open(os.path.join(data_dir, "sources.json"), encoding="utf-8") as f:
        sources = {s["id"]: s for s in json.load(f)["sources"]}
    with open(os.path.join(data_dir, "templates.json"), encoding="utf-8") as f:
        tpl = json.load(f)
    bases = {k: v for k, v in tpl["base_claims"].items() if not k.startswith("_")}
    cases = []
    for g in tpl["groups"]:
        expect = g.get("expect", "pass" if g["cap"] == "invariance" else "flag")
        k = 0
        seen = set()
        for t in g["t"]:
            for row in expand_rows(g):
                out, named = fill(t, row, bases)
                if out in seen:     # a template without slots over several rows
                    continue
                seen.add(out)
                sid = g["src"] if g["src"] != "*" else row.get("src", named)
                if sid not in sources:
                    raise KeyError("%s: no source %r" % (g["id"], sid))
                k += 1
                cases.append({
                    "customer_run_id": "%s.%03d" % (g["id"], k),
                    "capability": g["cap"], "kind": g.get("kind", ""), "expect": expect,
                    "group": g["id"], "template": t, "output": out,
                    "sources": [source_record(sources[sid])],
                })
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="tests/data/checklist")
    ap.add_argument("--out", required=True, help="cases file to write (JSON lines)")
    a = ap.parse_args()
    cases = generate(a.data)
    with open(a.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    counts = {}
    for c in cases:
        counts[c["capability"]] = counts.get(c["capability"], 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
