/*
 * report.c - the claim report (kivo_claim_report.v1): a review with its claims, spans and
 * evidence, written with a fixed key order for the customer's own storage by the direct JSON
 * writer (jsonwrite_int.h: jansson's compact dump, byte for byte, without a tree). The metadata
 * that goes to Kivo is the wire's (wire.c).
 */
#include <string.h>

#include "jsonwrite_int.h"
#include "kivo/report.h"
#include "kivo/wire.h"

static void claim_json(kv_jw *w, const kivo_packet *p, const kivo_claim *c, size_t index)
{
    /* "c<index + 1>", written without snprintf (~700 instructions a claim). */
    char id[24], *q = id + sizeof id;
    size_t k = index + 1;
    do {
        *--q = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    *--q = 'c';
    kv_jw_open(w, '{');
    kv_jw_key(w, "claim_id");
    kv_jw_str(w, q, (size_t)(id + sizeof id - q));
    kv_jw_key(w, "text");
    kv_jw_str(w, p->output + c->start, c->end - c->start);
    kv_jw_key(w, "start");
    kv_jw_int(w, (int64_t)c->start);
    kv_jw_key(w, "end");
    kv_jw_int(w, (int64_t)c->end);
    kv_jw_key(w, "status");
    kv_jw_cstr(w, kivo_claim_status_name(c->status));
    kv_jw_key(w, "support_score");
    kv_jw_real(w, c->support_score);
    kv_jw_key(w, "failure_category");
    kv_jw_str_or_null(w, kivo_category_name(c->category));
    kv_jw_key(w, "evidence");
    kv_jw_open(w, '[');
    for (size_t i = 0; i < c->n_evidence; i++) {
        const kivo_evidence *e = &c->evidence[i];
        const kivo_source *s = &p->sources[e->source];
        kv_jw_open(w, '{');
        kv_jw_key(w, "source_id");
        kv_jw_str(w, s->id, s->id_len);
        kv_jw_key(w, "start");
        kv_jw_int(w, (int64_t)e->start);
        kv_jw_key(w, "end");
        kv_jw_int(w, (int64_t)e->end);
        kv_jw_close(w, '}');
    }
    kv_jw_close(w, ']');
    kv_jw_key(w, "unsupported_spans");
    kv_jw_open(w, '[');
    for (size_t i = 0; i < c->n_unsupported_spans; i++) {
        const kivo_text_span *sp = &c->unsupported_spans[i];
        kv_jw_open(w, '{');
        kv_jw_key(w, "start");
        kv_jw_int(w, (int64_t)sp->start);
        kv_jw_key(w, "end");
        kv_jw_int(w, (int64_t)sp->end);
        kv_jw_key(w, "text");
        kv_jw_str(w, p->output + sp->start, sp->end - sp->start);
        kv_jw_close(w, '}');
    }
    kv_jw_close(w, ']');
    kv_jw_close(w, '}');
}

kivo_status kivo_report_render(const kivo_packet *p, const kivo_review *r, const kivo_run_meta *m,
                               kivo_buf *out)
{
    kv_jw w;
    kv_jw_begin(&w, out);
    kv_jw_open(&w, '{');
    kv_jw_key(&w, "schema_version");
    kv_jw_cstr(&w, KIVO_WIRE_SCHEMA_CLAIM_REPORT);
    kv_jw_key(&w, "review_run_id");
    kv_jw_str_or_null(&w, m->review_run_id);
    kv_jw_key(&w, "customer_run_id");
    kv_jw_cstr(&w, m->customer_run_id);
    kv_jw_key(&w, "workflow_id");
    kv_jw_cstr(&w, m->workflow_id);
    if (m->batch_id) {
        kv_jw_key(&w, "batch_id");
        kv_jw_cstr(&w, m->batch_id);
    }
    kv_jw_key(&w, "worker_id");
    kv_jw_str_or_null(&w, m->worker_id);
    kv_jw_key(&w, "worker_version");
    kv_jw_str_or_null(&w, m->worker_version);
    kv_jw_key(&w, "engine_version");
    kv_jw_cstr(&w, KIVO_ENGINE_VERSION);
    kv_jw_key(&w, "policy_version");
    kv_jw_str_or_null(&w, m->policy_version);
    kv_jw_key(&w, "strictness");
    kv_jw_cstr(&w, kivo_strictness_name(m->strictness));
    kv_jw_key(&w, "intended_use");
    kv_jw_cstr(&w, kivo_intended_use_name(m->intended_use));
    kv_jw_key(&w, "gate_verdict");
    kv_jw_cstr(&w, kivo_verdict_name(r->gate_verdict));
    kv_jw_key(&w, "safe_use_status");
    kv_jw_cstr(&w, kivo_verdict_name(r->safe_use_status));
    kv_jw_key(&w, "claim_count");
    kv_jw_int(&w, (int64_t)r->n_claims);
    kv_jw_key(&w, "unsupported_claim_count");
    kv_jw_int(&w, (int64_t)r->unsupported_count);
    kv_jw_key(&w, "contradicted_claim_count");
    kv_jw_int(&w, (int64_t)r->contradicted_count);
    kv_jw_key(&w, "partially_supported_claim_count");
    kv_jw_int(&w, (int64_t)r->partial_count);
    kv_jw_key(&w, "failure_categories");
    kv_jw_categories(&w, r->categories);
    kv_jw_key(&w, "output_hash");
    kv_jw_cstr(&w, r->output_hash);
    kv_jw_key(&w, "source_count");
    kv_jw_int(&w, (int64_t)p->n_sources);
    kv_jw_key(&w, "sources");
    kv_jw_open(&w, '[');
    for (size_t i = 0; i < p->n_sources; i++) {
        const kivo_source *s = &p->sources[i];
        kv_jw_open(&w, '{');
        kv_jw_key(&w, "source_id");
        kv_jw_str(&w, s->id, s->id_len);
        kv_jw_key(&w, "title");
        if (s->title)
            kv_jw_str(&w, s->title, s->title_len);
        else
            kv_jw_null(&w);
        kv_jw_key(&w, "sha256");
        kv_jw_cstr(&w, r->source_hashes[i]);
        kv_jw_close(&w, '}');
    }
    kv_jw_close(&w, ']');
    kv_jw_key(&w, "claims");
    kv_jw_open(&w, '[');
    for (size_t i = 0; i < r->n_claims && !w.bad; i++)
        claim_json(&w, p, &r->claims[i], i);
    kv_jw_close(&w, ']');
    kv_jw_close(&w, '}');
    return kv_jw_end(&w, 1);
}
