/*
 * report.c - rendering a review as the claim report (customer storage) and as the completed event
 * (metadata only, for Kivo), through jansson with a fixed key order; and the list of raw fields
 * that must never travel in an event.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kivo/report.h"

const char *const kivo_raw_field_names[] = {
    "ai_output", "prompt", "system_prompt", "messages", "source_text", "source_spans",
    "retrieved_context", "embeddings", "screenshots", "uploads", "tool_traces", "tool_calls", NULL};
const char *const kivo_raw_field_use_instead[] = {
    "output_hash and your report pointer", "prompt_version or policy_version",
    "prompt_version or policy_version", "customer_run_id and workflow metadata",
    "source_count and source_hashes", "source_count and source_hashes",
    "redacted failure categories", "opaque storage pointer", "opaque storage pointer",
    "opaque storage pointer", "opaque storage pointer", "opaque storage pointer", NULL};

int kivo_raw_field_check(const char *key, size_t len, const char **use_instead)
{
    for (size_t i = 0; kivo_raw_field_names[i]; i++) {
        if (strlen(kivo_raw_field_names[i]) == len && memcmp(kivo_raw_field_names[i], key, len) == 0) {
            if (use_instead)
                *use_instead = kivo_raw_field_use_instead[i];
            return 1;
        }
    }
    return 0;
}

/* jansson setters that steal a new reference; a NULL value makes the whole render fail. Every key
 * is one of this file's ASCII literals, so jansson need not check it for UTF-8 (its check was
 * ~200 instructions of each of the ~130 keys a record's report and event set). */
static int put(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new_nocheck(obj, key, v) : -1;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A string of the engine's own making (a literal, a name from a table, a hex digest, an id built
 * here), ASCII by construction: no UTF-8 check. NULL gives NULL, as json_string. Text from a
 * record or a caller goes through json_string(n), which checks. */
static json_t *own(const char *s)
{
    return json_string_nocheck(s);
}

struct json_t *kivo_categories_json(uint32_t cats)
{
    json_t *a = json_array();
    for (int c = KIVO_CAT_NONE + 1; a && c < KIVO_CAT_COUNT; c++)
        if ((cats >> c) & 1u)
            json_array_append_new(a, own(kivo_category_name((kivo_category)c)));
    return a;
}

static json_t *source_hashes_json(const kivo_review *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, own(r->source_hashes[i]));
    return a;
}

/* json_dump_callback's sink: appends to a kivo_buf (one pass; json_dumpb would need two) and
 * keeps the first failure, so a report over the buffer's ceiling is KIVO_ETOOBIG, not ENOMEM. */
typedef struct sink {
    kivo_buf *out;
    kivo_status st;
} sink;

static int append_cb(const char *data, size_t size, void *arg)
{
    sink *k = arg;
    if (k->st == KIVO_OK)
        k->st = kivo_buf_append(k->out, data, size);
    return k->st == KIVO_OK ? 0 : -1;
}

kivo_status kivo_json_dump_buf(const struct json_t *root, size_t flags, kivo_buf *out)
{
    sink k = {out, KIVO_OK};
    size_t mark = out->len;
    if (json_dump_callback(root, append_cb, &k, flags) != 0 && k.st == KIVO_OK)
        k.st = KIVO_ENOMEM;
    if (k.st != KIVO_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return k.st;
}

static kivo_status dump(json_t *root, int bad, kivo_buf *out)
{
    size_t mark = out->len;
    kivo_status st = bad || !root ? KIVO_ENOMEM
                                  : kivo_json_dump_buf(root, JSON_COMPACT | JSON_REAL_PRECISION(6),
                                                       out);
    if (st == KIVO_OK && (st = kivo_buf_append(out, "\n", 1)) != KIVO_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    json_decref(root);
    return st;
}

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

kivo_status kivo_report_render(const kivo_packet *p, const kivo_review *r,
                               const kivo_run_meta *m, kivo_buf *out)
{
    json_t *o = json_object();
    int bad = !o;
    if (bad)
        return KIVO_ENOMEM;
    bad |= put(o, "schema_version", own("kivo_claim_report.v1"));
    bad |= put(o, "review_run_id", str_or_null(m->review_run_id));
    bad |= put(o, "customer_run_id", json_string(m->customer_run_id));
    bad |= put(o, "workflow_id", json_string(m->workflow_id));
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
    bad |= put(o, "failure_categories", kivo_categories_json(r->categories));
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
    return dump(o, bad, out);
}

void kivo_event_id(kivo_hasher *h, const char *workflow_id, const char *customer_run_id,
                   const char *type, char out[64])
{
    unsigned char d[KIVO_SHA256_SIZE];
    kivo_buf b;
    kivo_buf_init(&b, 0);
    /* NUL separators keep ("a", "bc") and ("ab", "c") apart. */
    if (kivo_buf_append(&b, workflow_id, strlen(workflow_id) + 1) != KIVO_OK ||
        kivo_buf_append(&b, customer_run_id, strlen(customer_run_id) + 1) != KIVO_OK ||
        kivo_buf_append(&b, type, strlen(type)) != KIVO_OK ||
        kivo_hasher_sha256(h, b.data, b.len, d) != KIVO_OK)
        memset(d, 0, sizeof d);
    kivo_buf_free(&b);
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "evt_", 4);
    for (int i = 0; i < 12; i++) {
        out[4 + 2 * i] = hex[d[i] >> 4];
        out[5 + 2 * i] = hex[d[i] & 15];
    }
    out[28] = '\0';
}

kivo_status kivo_event_render_completed(kivo_hasher *h, const kivo_review *r, size_t n_sources,
                                        const kivo_run_meta *m, uint64_t sequence,
                                        const char *report_sha256, kivo_buf *out)
{
    char event_id[64];
    kivo_event_id(h, m->workflow_id, m->customer_run_id, "completed", event_id);
    json_t *o = json_object();
    int bad = !o;
    if (bad)
        return KIVO_ENOMEM;
    bad |= put(o, "schema_version", own("kivo_private_worker_review_run_event.v1"));
    bad |= put(o, "event_id", own(event_id));
    bad |= put(o, "event_type", own("completed"));
    bad |= put(o, "review_run_id", str_or_null(m->review_run_id));
    bad |= put(o, "customer_run_id", json_string(m->customer_run_id));
    bad |= put(o, "worker_id", json_string(m->worker_id));
    bad |= put(o, "worker_version", json_string(m->worker_version));
    bad |= put(o, "sequence", json_integer((json_int_t)sequence));
    bad |= put(o, "status", own("completed"));
    bad |= put(o, "gate_verdict", own(kivo_verdict_name(r->gate_verdict)));
    bad |= put(o, "safe_use_status", own(kivo_verdict_name(r->safe_use_status)));
    bad |= put(o, "claim_count", json_integer((json_int_t)r->n_claims));
    bad |= put(o, "unsupported_claim_count", json_integer((json_int_t)r->unsupported_count));
    bad |= put(o, "source_count", json_integer((json_int_t)n_sources));
    bad |= put(o, "source_hashes", source_hashes_json(r, n_sources));
    bad |= put(o, "output_hash", own(r->output_hash));
    bad |= put(o, "redacted_failure_categories", kivo_categories_json(r->categories));
    json_t *arts = json_array();
    json_t *a = json_object();
    bad |= !arts || !a;
    bad |= put(a, "artifact_name", own("claim_report"));
    bad |= put(a, "artifact_type", own("claim_report"));
    bad |= put(a, "format", own("json"));
    bad |= put(a, "sha256", json_string(report_sha256));
    bad |= put(a, "file_count", json_integer(1));
    bad |= put(a, "storage_label", json_string(m->storage_label ? m->storage_label : ""));
    json_array_append_new(arts, a);
    bad |= put(o, "artifact_summaries", arts);
    return dump(o, bad, out);
}
