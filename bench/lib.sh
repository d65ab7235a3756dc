# bench/lib.sh - what the bench scripts share (sourced, not run): the cached generated corpus and
# the bench job spec.

# bench_corpus ROOT CACHE SIZE SEED: sets corpus to scripts/gen-corpus --bytes SIZE --seed SEED,
# made once in CACHE, and corpus_tag to what names it (sSEED-SIZE-HASH). The generator's own hash
# is in the name, so a changed gen-corpus never reuses a stale corpus.
bench_corpus() {
    local root=$1 cache=$2 size=$3 seed=$4
    mkdir -p "$cache"
    corpus_tag=s$seed-$size-$(sha256sum "$root/scripts/gen-corpus" | cut -c1-8)
    corpus=$cache/corpus-$corpus_tag.jsonl
    if [ ! -s "$corpus" ]; then
        echo "${0##*/}: generating $corpus" >&2
        python3 "$root/scripts/gen-corpus" --bytes "$size" --seed "$seed" --out "$corpus.tmp"
        mv "$corpus.tmp" "$corpus"
    fi
}

# bench_spec SPEC INPUT: writes to SPEC the bench job spec, which reads the generated corpus's
# fields from INPUT (relative to SPEC's folder, or absolute).
bench_spec() {
    cat >"$1" <<SPEC
{"schema_version":"kivo_worker_job_spec.v1","workflow_id":"support_answer_review",
 "workflow_name":"Support answer review (bench)","intended_use":"customer_facing",
 "strictness":"strict","policy_version":"standard-support-v1","worker_id":"worker_bench_001",
 "inputs":["$2"],
 "fields":{"customer_run_id":"/customer_run_id","output":"/output","sources":"/sources",
           "source_id":"/id","source_title":"/title","source_text":"/text"},
 "report_store":{"path":"./kivo-reports","label":"Bench report store"}}
SPEC
}
