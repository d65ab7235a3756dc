/*
 * report.c - the claim report (kivo_claim_report.v1): a review with its claims, spans and
 * evidence, rendered through jansson with a fixed key order for the customer's own storage. The
 * metadata that goes to Kivo is the wire's (wire.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kivo/report.h"
#include "render_int.h"

#define put kv_render_put
#define own kv_render_own
#define str_or_null kv_render_str_or_null

static json_t *claim_json(const kivo_packet *p, const kivo_claim *c, size_t index)
{
    char id[32];
    snprintf(id, sizeof id, "c%zu", index + 1);
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= put(o, "claim_id", own(id));
    bad |= put(o, "text", json_stringn(p->output + c->start, c->end - c->start));
    bad |= put(o, "start", json_integer((json_int_t)c->start));
    bad |= put(o, "end", json_integer((json_int_t)c->end));
    bad |= put(o, "status", own(kivo_claim_status_name(c->status)));
    bad |= put(o, "support_score", json_real(c->support_score));
    bad |= put(o, "failure_category", str_or_null(kivo_category_name(c->category)));
    json_t *ev = json_array();
    for (size_t i = 0; ev && i < c->n_evidence; i++) {
        const kivo_evidence *e = &c->evidence[i];
        const kivo_source *s = &p->sources[e->source];
        json_t *eo = json_object();
        bad |= !eo;
        bad |= put(eo, "source_id", json_stringn(s->id, s->id_len));
        bad |= put(eo, "start", json_integer((json_int_t)e->start));
        bad |= put(eo, "end", json_integer((json_int_t)e->end));
        json_array_append_new(ev, eo);
    }
    bad |= put(o, "evidence", ev);
    json_t *us = json_array();
    for (size_t i = 0; us && i < c->n_unsupported_spans; i++) {
        const kivo_text_span *sp = &c->unsupported_spans[i];
        json_t *so = json_object();
        bad |= !so;
        bad |= put(so, "start", json_integer((json_int_t)sp->start));
        bad |= put(so, "end", json_integer((json_int_t)sp->end));
        bad |= put(so, "text", json_stringn(p->output + sp->start, sp->end - sp->start));
        json_array_append_new(us, so);
    }
    bad |= put(o, "unsupported_spans", us);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

kivo_status kivo_report_render(const kivo_packet *p, const kivo_review *r, const kivo_run_meta *m,
                               kivo_buf *out)
{
    json_t *o = json_object();
    int bad = !o;
    if (bad)
        return KIVO_ENOMEM;
    bad |= put(o, "schema_version", own(KIVO_WIRE_SCHEMA_CLAIM_REPORT));
    bad |= put(o, "review_run_id", str_or_null(m->review_run_id));
    bad |= put(o, "customer_run_id", json_string(m->customer_run_id));
    bad |= put(o, "workflow_id", json_string(m->workflow_id));
    if (m->batch_id)
        bad |= put(o, "batch_id", json_string(m->batch_id));
    bad |= put(o, "worker_id", str_or_null(m->worker_id));
    bad |= put(o, "worker_version", str_or_null(m->worker_version));
    bad |= put(o, "engine_version", own(KIVO_ENGINE_VERSION));
    bad |= put(o, "policy_version", str_or_null(m->policy_version));
    bad |= put(o, "strictness", own(kivo_strictness_name(m->strictness)));
    bad |= put(o, "intended_use", own(kivo_intended_use_name(m->intended_use)));
    bad |= put(o, "gate_verdict", own(kivo_verdict_name(r->gate_verdict)));
    bad |= put(o, "safe_use_status", own(kivo_verdict_name(r->safe_use_status)));
    bad |= put(o, "claim_count", json_integer((json_int_t)r->n_claims));
    bad |= put(o, "unsupported_claim_count", json_integer((json_int_t)r->unsupported_count));
    bad |= put(o, "contradicted_claim_count", json_integer((json_int_t)r->contradicted_count));
    bad |= put(o, "partially_supported_claim_count", json_integer((json_int_t)r->partial_count));
    bad |= put(o, "failure_categories", kv_render_categories(r->categories));
    bad |= put(o, "output_hash", own(r->output_hash));
    bad |= put(o, "source_count", json_integer((json_int_t)p->n_sources));
    json_t *sources = json_array();
    for (size_t i = 0; sources && i < p->n_sources; i++) {
        const kivo_source *s = &p->sources[i];
        json_t *so = json_object();
        bad |= !so;
        bad |= put(so, "source_id", json_stringn(s->id, s->id_len));
        bad |= put(so, "title", s->title ? json_stringn(s->title, s->title_len) : json_null());
        bad |= put(so, "sha256", own(r->source_hashes[i]));
        json_array_append_new(sources, so);
    }
    bad |= put(o, "sources", sources);
    json_t *claims = json_array();
    for (size_t i = 0; claims && i < r->n_claims && !bad; i++) {
        json_t *c = claim_json(p, &r->claims[i], i);
        bad |= !c;
        json_array_append_new(claims, c);
    }
    bad |= put(o, "claims", claims);
    return kv_render_dump(o, bad, 1, out);
}
