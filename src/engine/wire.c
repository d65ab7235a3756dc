/*
 * wire.c - the worker <-> server contract as data (see kivo/wire.h): the enums' JSON names, the
 * raw-field list, the closed field table of each body, and the renderers of the bodies the
 * worker sends, which walk those tables so that a member's name and place are written once.
 *
 * The tables use designated initializers indexed by a local enum, so a renderer's `case` names
 * the row it fills; the row order is the order on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "kivo/wire.h"
#include "jsonwrite_int.h"
#include "render_int.h"

/* ---- enum names ------------------------------------------------------------------------------ */

const char *const kivo_wire_strictness_names[] = {"strict", "standard", "lenient", NULL};
const char *const kivo_wire_intended_use_names[] = {"customer_facing", "internal", "evaluation",
                                                    NULL};
const char *const kivo_wire_verdict_names[] = {"pass", "needs_review", "fail", NULL};
const char *const kivo_wire_claim_status_names[] = {"supported", "partially_supported",
                                                    "unsupported", "contradicted", NULL};
/* By kivo_category: KIVO_CAT_NONE has no name (JSON null). */
const char *const kivo_wire_category_names[KIVO_CAT_COUNT + 1] = {
    [KIVO_CAT_UNSUPPORTED_CLAIM] = "unsupported_claim",
    [KIVO_CAT_UNSUPPORTED_POLICY_CLAIM] = "unsupported_policy_claim",
    [KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM] = "unsupported_numeric_claim",
    [KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM] = "unsupported_entity_claim",
    [KIVO_CAT_CONTRADICTED_CLAIM] = "contradicted_claim",
    [KIVO_CAT_NO_SOURCES] = "no_sources",
    [KIVO_CAT_EMPTY_OUTPUT] = "empty_output",
};
const char *const kivo_wire_event_type_names[] = {"started", "progress", "completed", "failed",
                                                  NULL};
const char *const kivo_wire_event_status_names[] = {"started",   "progress", "running",
                                                    "completed", "failed",   NULL};
const char *const kivo_wire_pw_run_status_names[] = {"created", "running", "completed", "failed",
                                                     NULL};
const char *const kivo_wire_hosted_run_status_names[] = {"completed", "deleted", NULL};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Entries of a NULL-terminated table, without its NULL. */
#define NAMES(a) (COUNT(a) - 1)

static int lookup(const char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    return -1;
}

const char *kivo_strictness_name(kivo_strictness s)
{
    return (size_t)s < NAMES(kivo_wire_strictness_names) ? kivo_wire_strictness_names[s]
                                                         : "unknown";
}

const char *kivo_intended_use_name(kivo_intended_use u)
{
    return (size_t)u < NAMES(kivo_wire_intended_use_names) ? kivo_wire_intended_use_names[u]
                                                           : "unknown";
}

const char *kivo_verdict_name(kivo_verdict v)
{
    return (size_t)v < NAMES(kivo_wire_verdict_names) ? kivo_wire_verdict_names[v] : "unknown";
}

const char *kivo_claim_status_name(kivo_claim_status s)
{
    return (size_t)s < NAMES(kivo_wire_claim_status_names) ? kivo_wire_claim_status_names[s]
                                                           : "unknown";
}

const char *kivo_category_name(kivo_category c)
{
    return (size_t)c < KIVO_CAT_COUNT ? kivo_wire_category_names[c] : NULL;
}

const char *kivo_event_type_name(kivo_event_type t)
{
    return (size_t)t < KIVO_EVENT_TYPE_COUNT ? kivo_wire_event_type_names[t] : "unknown";
}

const char *kivo_event_status_name(kivo_event_type t)
{
    return t == KIVO_EVENT_STARTED || t == KIVO_EVENT_PROGRESS ? "running"
                                                               : kivo_event_type_name(t);
}

kivo_status kivo_strictness_parse(const char *s, size_t len, kivo_strictness *out)
{
    int i = lookup(kivo_wire_strictness_names, NAMES(kivo_wire_strictness_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_strictness)i;
    return KIVO_OK;
}

kivo_status kivo_intended_use_parse(const char *s, size_t len, kivo_intended_use *out)
{
    int i = lookup(kivo_wire_intended_use_names, NAMES(kivo_wire_intended_use_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_intended_use)i;
    return KIVO_OK;
}

kivo_status kivo_verdict_parse(const char *s, size_t len, kivo_verdict *out)
{
    int i = lookup(kivo_wire_verdict_names, NAMES(kivo_wire_verdict_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_verdict)i;
    return KIVO_OK;
}

kivo_status kivo_category_parse(const char *s, size_t len, kivo_category *out)
{
    int i = lookup(kivo_wire_category_names, KIVO_CAT_COUNT, s, len);
    if (i <= 0)
        return KIVO_EINVAL;
    *out = (kivo_category)i;
    return KIVO_OK;
}

kivo_status kivo_event_type_parse(const char *s, size_t len, kivo_event_type *out)
{
    int i = lookup(kivo_wire_event_type_names, KIVO_EVENT_TYPE_COUNT, s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_event_type)i;
    return KIVO_OK;
}

/* ---- raw fields ------------------------------------------------------------------------------ */

const kivo_wire_raw_field kivo_wire_raw_fields[] = {
    {"ai_output", "output_hash and your report pointer"},
    {"prompt", "prompt_version or policy_version"},
    {"system_prompt", "prompt_version or policy_version"},
    {"messages", "customer_run_id and workflow metadata"},
    {"source_text", "source_count and source_hashes"},
    {"source_spans", "source_count and source_hashes"},
    {"retrieved_context", "redacted failure categories"},
    {"embeddings", "opaque storage pointer"},
    {"screenshots", "opaque storage pointer"},
    {"uploads", "opaque storage pointer"},
    {"tool_traces", "opaque storage pointer"},
    {"tool_calls", "opaque storage pointer"},
    {NULL, NULL},
};

const kivo_wire_raw_field *kivo_wire_raw_field_find(const char *key, size_t len)
{
    for (const kivo_wire_raw_field *f = kivo_wire_raw_fields; f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, key, len) == 0)
            return f;
    return NULL;
}

/* ---- field tables ---------------------------------------------------------------------------- */

#define REQ KIVO_WIRE_REQUIRED
#define DONE KIVO_WIRE_COMPLETED

static const char *const pw_create_schema[] = {KIVO_WIRE_SCHEMA_PW_CREATE, NULL};
static const char *const pw_event_schema[] = {KIVO_WIRE_SCHEMA_PW_EVENT, NULL};
static const char *const hosted_schema[] = {KIVO_WIRE_SCHEMA_HOSTED_CREATE, NULL};
static const char *const customer_owned[] = {"customer_owned", NULL};

enum { PTR_TYPE, PTR_LABEL, PTR_OPAQUE_ID, PTR_COUNT };
static const kivo_wire_field pointer_fields[PTR_COUNT] = {
    [PTR_TYPE] = {"type", KIVO_WIRE_CONST, REQ, customer_owned, NULL, 0, 0},
    [PTR_LABEL] = {"label", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
    [PTR_OPAQUE_ID] = {"opaque_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
};
const kivo_wire_body kivo_wire_storage_pointer = {"customer storage pointer", pointer_fields,
                                                  PTR_COUNT};

enum {
    CR_SCHEMA_VERSION,
    CR_CUSTOMER_RUN_ID,
    CR_BATCH_ID,
    CR_WORKFLOW_ID,
    CR_WORKER_ID,
    CR_WORKER_VERSION,
    CR_WORKFLOW_NAME,
    CR_TITLE,
    CR_INTENDED_USE,
    CR_STRICTNESS,
    CR_POLICY_VERSION,
    CR_PROMPT_VERSION,
    CR_SOURCE_COUNT,
    CR_SOURCE_HASHES,
    CR_OUTPUT_HASH,
    CR_STORAGE_POINTER,
    CR_COUNT
};
static const kivo_wire_field pw_create_fields[CR_COUNT] = {
    [CR_SCHEMA_VERSION] = {"schema_version", KIVO_WIRE_CONST, REQ, pw_create_schema, NULL, 0, 0},
    [CR_CUSTOMER_RUN_ID] = {"customer_run_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [CR_BATCH_ID] = {"batch_id", KIVO_WIRE_BATCH, 0, NULL, NULL, 0, 0},
    [CR_WORKFLOW_ID] = {"workflow_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [CR_WORKER_ID] = {"worker_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [CR_WORKER_VERSION] = {"worker_version", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [CR_WORKFLOW_NAME] = {"workflow_name", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
    [CR_TITLE] = {"title", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
    [CR_INTENDED_USE] = {"intended_use", KIVO_WIRE_ENUM, 0, kivo_wire_intended_use_names, NULL, 0,
                         0},
    [CR_STRICTNESS] = {"strictness", KIVO_WIRE_ENUM, 0, kivo_wire_strictness_names, NULL, 0, 0},
    [CR_POLICY_VERSION] = {"policy_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    [CR_PROMPT_VERSION] = {"prompt_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    [CR_SOURCE_COUNT] = {"source_count", KIVO_WIRE_COUNT, 0, NULL, NULL, 0, KIVO_WIRE_HASHES_MAX},
    [CR_SOURCE_HASHES] = {"source_hashes", KIVO_WIRE_HASHES, 0, NULL, NULL, 0,
                          KIVO_WIRE_HASHES_MAX},
    [CR_OUTPUT_HASH] = {"output_hash", KIVO_WIRE_HASH, 0, NULL, NULL, 0, 0},
    [CR_STORAGE_POINTER] = {"customer_storage_pointer", KIVO_WIRE_OBJECT, 0, NULL,
                            &kivo_wire_storage_pointer, 0, 0},
};
const kivo_wire_body kivo_wire_pw_create = {"private-worker create", pw_create_fields, CR_COUNT};

enum { AR_NAME, AR_TYPE, AR_FORMAT, AR_SHA256, AR_FILE_COUNT, AR_STORAGE_LABEL, AR_COUNT };
static const kivo_wire_field artifact_fields[AR_COUNT] = {
    [AR_NAME] = {"artifact_name", KIVO_WIRE_NAME, REQ, NULL, NULL, 0, 0},
    [AR_TYPE] = {"artifact_type", KIVO_WIRE_NAME, REQ, NULL, NULL, 0, 0},
    [AR_FORMAT] = {"format", KIVO_WIRE_NAME, REQ, NULL, NULL, 0, 0},
    [AR_SHA256] = {"sha256", KIVO_WIRE_HASH, REQ, NULL, NULL, 0, 0},
    [AR_FILE_COUNT] = {"file_count", KIVO_WIRE_COUNT, REQ, NULL, NULL, 0, KIVO_WIRE_FILES_MAX},
    [AR_STORAGE_LABEL] = {"storage_label", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
};
const kivo_wire_body kivo_wire_artifact_summary = {"artifact summary", artifact_fields, AR_COUNT};

enum {
    EV_SCHEMA_VERSION,
    EV_EVENT_ID,
    EV_EVENT_TYPE,
    EV_REVIEW_RUN_ID,
    EV_CUSTOMER_RUN_ID,
    EV_BATCH_ID,
    EV_WORKER_ID,
    EV_WORKER_VERSION,
    EV_SEQUENCE,
    EV_STATUS,
    EV_GATE_VERDICT,
    EV_SAFE_USE_STATUS,
    EV_CLAIM_COUNT,
    EV_UNSUPPORTED_CLAIM_COUNT,
    EV_SOURCE_COUNT,
    EV_SOURCE_HASHES,
    EV_OUTPUT_HASH,
    EV_CATEGORIES,
    EV_ARTIFACTS,
    EV_POLICY_VERSION,
    EV_PROMPT_VERSION,
    EV_STORAGE_POINTER,
    EV_FAILURE_CODE,
    EV_COUNT
};
static const kivo_wire_field pw_event_fields[EV_COUNT] = {
    [EV_SCHEMA_VERSION] = {"schema_version", KIVO_WIRE_CONST, REQ, pw_event_schema, NULL, 0, 0},
    [EV_EVENT_ID] = {"event_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [EV_EVENT_TYPE] = {"event_type", KIVO_WIRE_ENUM, REQ, kivo_wire_event_type_names, NULL, 0, 0},
    [EV_REVIEW_RUN_ID] = {"review_run_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [EV_CUSTOMER_RUN_ID] = {"customer_run_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [EV_BATCH_ID] = {"batch_id", KIVO_WIRE_BATCH, 0, NULL, NULL, 0, 0},
    [EV_WORKER_ID] = {"worker_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    [EV_WORKER_VERSION] = {"worker_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    [EV_SEQUENCE] = {"sequence", KIVO_WIRE_POSINT, REQ, NULL, NULL, 0, 0},
    [EV_STATUS] = {"status", KIVO_WIRE_ENUM, 0, kivo_wire_event_status_names, NULL, 0, 0},
    [EV_GATE_VERDICT] = {"gate_verdict", KIVO_WIRE_ENUM, DONE, kivo_wire_verdict_names, NULL, 0, 0},
    [EV_SAFE_USE_STATUS] = {"safe_use_status", KIVO_WIRE_ENUM, DONE, kivo_wire_verdict_names, NULL,
                            0, 0},
    [EV_CLAIM_COUNT] = {"claim_count", KIVO_WIRE_COUNT, DONE, NULL, NULL, 0, KIVO_WIRE_CLAIMS_MAX},
    [EV_UNSUPPORTED_CLAIM_COUNT] = {"unsupported_claim_count", KIVO_WIRE_COUNT, DONE, NULL, NULL, 0,
                                    KIVO_WIRE_CLAIMS_MAX},
    [EV_SOURCE_COUNT] = {"source_count", KIVO_WIRE_COUNT, DONE, NULL, NULL, 0,
                         KIVO_WIRE_HASHES_MAX},
    [EV_SOURCE_HASHES] = {"source_hashes", KIVO_WIRE_HASHES, DONE, NULL, NULL, 0,
                          KIVO_WIRE_HASHES_MAX},
    [EV_OUTPUT_HASH] = {"output_hash", KIVO_WIRE_HASH, DONE, NULL, NULL, 0, 0},
    [EV_CATEGORIES] = {"redacted_failure_categories", KIVO_WIRE_CATEGORIES, DONE, NULL, NULL, 0, 0},
    [EV_ARTIFACTS] = {"artifact_summaries", KIVO_WIRE_OBJECTS, DONE, NULL,
                      &kivo_wire_artifact_summary, 0, KIVO_WIRE_ARTIFACTS_MAX},
    [EV_POLICY_VERSION] = {"policy_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    [EV_PROMPT_VERSION] = {"prompt_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    [EV_STORAGE_POINTER] = {"customer_storage_pointer", KIVO_WIRE_OBJECT, 0, NULL,
                            &kivo_wire_storage_pointer, 0, 0},
    [EV_FAILURE_CODE] = {"failure_code", KIVO_WIRE_CODE, 0, NULL, NULL, 0, 0},
};
const kivo_wire_body kivo_wire_pw_event = {"private-worker event", pw_event_fields, EV_COUNT};

static const kivo_wire_field hosted_source_fields[] = {
    {"source_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    {"title", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
    {"text", KIVO_WIRE_TEXT, REQ, NULL, NULL, 0, 0},
};
const kivo_wire_body kivo_wire_hosted_source = {"hosted source", hosted_source_fields,
                                                COUNT(hosted_source_fields)};

static const kivo_wire_field hosted_create_fields[] = {
    {"schema_version", KIVO_WIRE_CONST, REQ, hosted_schema, NULL, 0, 0},
    {"customer_run_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    {"batch_id", KIVO_WIRE_BATCH, 0, NULL, NULL, 0, 0},
    {"workflow_id", KIVO_WIRE_ID, REQ, NULL, NULL, 0, 0},
    {"output", KIVO_WIRE_TEXT, REQ, NULL, NULL, 0, 0},
    {"sources", KIVO_WIRE_OBJECTS, REQ, NULL, &kivo_wire_hosted_source, 1,
     KIVO_WIRE_HOSTED_SOURCES_MAX},
    {"title", KIVO_WIRE_NAME, 0, NULL, NULL, 0, 0},
    {"intended_use", KIVO_WIRE_ENUM, 0, kivo_wire_intended_use_names, NULL, 0, 0},
    {"strictness", KIVO_WIRE_ENUM, 0, kivo_wire_strictness_names, NULL, 0, 0},
    {"policy_version", KIVO_WIRE_ID, 0, NULL, NULL, 0, 0},
    {"metadata", KIVO_WIRE_FLATMAP, 0, NULL, NULL, 0, 0},
};
const kivo_wire_body kivo_wire_hosted_create = {"hosted create", hosted_create_fields,
                                                COUNT(hosted_create_fields)};

const kivo_wire_field *kivo_wire_field_find(const kivo_wire_body *body, const char *name,
                                            size_t len)
{
    for (size_t i = 0; i < body->n; i++)
        if (strlen(body->fields[i].name) == len && memcmp(body->fields[i].name, name, len) == 0)
            return &body->fields[i];
    return NULL;
}

/* ---- renderers ------------------------------------------------------------------------------- */

/* What the worker keeps in its report store, the one artifact a completed event summarises. */
#define ARTIFACT_CLAIM_REPORT "claim_report"
#define ARTIFACT_FORMAT "json"

#define put kv_render_put
#define own kv_render_own

void kivo_wire_event_id(kivo_hasher *h, const char *workflow_id, const char *customer_run_id,
                        kivo_event_type t, char out[KIVO_WIRE_EVENT_ID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    const char *type = kivo_event_type_name(t);
    unsigned char d[KIVO_SHA256_SIZE];
    size_t nw = strlen(workflow_id) + 1, nc = strlen(customer_run_id) + 1, nt = strlen(type);
    char small[1024];
    /* NUL separators keep ("a", "bc") and ("ab", "c") apart. Ids are capped well below the stack
     * buffer (KIVO_WIRE_ID_MAX), so the heap is only for callers that pass longer ones. */
    char *b = nw + nc + nt <= sizeof small ? small : malloc(nw + nc + nt);
    kivo_status st = KIVO_ENOMEM;
    if (b) {
        memcpy(b, workflow_id, nw);
        memcpy(b + nw, customer_run_id, nc);
        memcpy(b + nw + nc, type, nt);
        st = kivo_hasher_sha256(h, b, nw + nc + nt, d);
    }
    if (st != KIVO_OK)
        memset(d, 0, sizeof d);
    if (b != small)
        free(b);
    memcpy(out, "evt_", 4);
    for (int i = 0; i < 12; i++) {
        out[4 + 2 * i] = hex[d[i] >> 4];
        out[5 + 2 * i] = hex[d[i] & 15];
    }
    out[28] = '\0';
}

/* The one artifact summary of a completed event: its claim report. */
static void artifacts_json(kv_jw *w, const kivo_wire_event *e)
{
    const char *label = e->run->storage_label;
    kv_jw_open(w, '[');
    kv_jw_open(w, '{');
    for (size_t i = 0; i < AR_COUNT; i++) {
        kv_jw_key(w, artifact_fields[i].name);
        switch (i) {
        case AR_NAME: kv_jw_cstr(w, ARTIFACT_CLAIM_REPORT); break;
        case AR_TYPE: kv_jw_cstr(w, ARTIFACT_CLAIM_REPORT); break;
        case AR_FORMAT: kv_jw_cstr(w, ARTIFACT_FORMAT); break;
        case AR_SHA256: kv_jw_cstr(w, e->report_sha256); break;
        case AR_FILE_COUNT: kv_jw_int(w, 1); break;
        case AR_STORAGE_LABEL: kv_jw_cstr(w, label ? label : ""); break;
        }
    }
    kv_jw_close(w, '}');
    kv_jw_close(w, ']');
}

/* Whether an event of this kind carries pw_event_fields[i]. */
static int event_sends(size_t i, const kivo_wire_event *e)
{
    int completed = e->type == KIVO_EVENT_COMPLETED, failed = e->type == KIVO_EVENT_FAILED;
    switch (i) {
    case EV_SCHEMA_VERSION:
    case EV_EVENT_ID:
    case EV_EVENT_TYPE:
    case EV_REVIEW_RUN_ID:
    case EV_CUSTOMER_RUN_ID:
    case EV_WORKER_ID:
    case EV_WORKER_VERSION:
    case EV_SEQUENCE:
    case EV_STATUS: return 1;
    case EV_BATCH_ID: return e->run->batch_id != NULL;
    case EV_GATE_VERDICT:
    case EV_SAFE_USE_STATUS:
    case EV_CLAIM_COUNT:
    case EV_UNSUPPORTED_CLAIM_COUNT:
    case EV_SOURCE_COUNT:
    case EV_SOURCE_HASHES:
    case EV_OUTPUT_HASH:
    case EV_ARTIFACTS: return completed;
    /* A failed run names no category: its record was never reviewed. */
    case EV_CATEGORIES: return completed || failed;
    case EV_FAILURE_CODE: return failed;
    default: /* policy_version, prompt_version, customer_storage_pointer: not sent */ return 0;
    }
}

kivo_status kivo_wire_event_render(kivo_hasher *h, const kivo_wire_event *e,
                                   char event_id[KIVO_WIRE_EVENT_ID_SIZE], kivo_buf *out)
{
    const kivo_run_meta *m = e->run;
    const kivo_review *r = e->review;
    int completed = e->type == KIVO_EVENT_COMPLETED, failed = e->type == KIVO_EVENT_FAILED;
    char id[KIVO_WIRE_EVENT_ID_SIZE];
    kv_jw w;

    if ((size_t)e->type >= KIVO_EVENT_TYPE_COUNT || (completed && (!r || !e->report_sha256)) ||
        (failed && !e->failure_code))
        return KIVO_EINVAL;
    kivo_wire_event_id(h, m->workflow_id, m->customer_run_id, e->type, id);
    if (event_id)
        memcpy(event_id, id, sizeof id);
    kv_jw_begin(&w, out);
    kv_jw_open(&w, '{');
    for (size_t i = 0; i < EV_COUNT && !w.bad; i++) {
        if (!event_sends(i, e))
            continue;
        kv_jw_key(&w, pw_event_fields[i].name);
        switch (i) {
        case EV_SCHEMA_VERSION: kv_jw_cstr(&w, pw_event_fields[i].values[0]); break;
        case EV_EVENT_ID: kv_jw_cstr(&w, id); break;
        case EV_EVENT_TYPE: kv_jw_cstr(&w, kivo_event_type_name(e->type)); break;
        case EV_REVIEW_RUN_ID: kv_jw_str_or_null(&w, m->review_run_id); break;
        case EV_CUSTOMER_RUN_ID: kv_jw_cstr(&w, m->customer_run_id); break;
        case EV_BATCH_ID: kv_jw_cstr(&w, m->batch_id); break;
        case EV_WORKER_ID: kv_jw_cstr(&w, m->worker_id); break;
        case EV_WORKER_VERSION: kv_jw_cstr(&w, m->worker_version); break;
        case EV_SEQUENCE: kv_jw_int(&w, (int64_t)e->sequence); break;
        case EV_STATUS: kv_jw_cstr(&w, kivo_event_status_name(e->type)); break;
        case EV_GATE_VERDICT: kv_jw_cstr(&w, kivo_verdict_name(r->gate_verdict)); break;
        case EV_SAFE_USE_STATUS: kv_jw_cstr(&w, kivo_verdict_name(r->safe_use_status)); break;
        case EV_CLAIM_COUNT: kv_jw_int(&w, (int64_t)r->n_claims); break;
        case EV_UNSUPPORTED_CLAIM_COUNT: kv_jw_int(&w, (int64_t)r->unsupported_count); break;
        case EV_SOURCE_COUNT: kv_jw_int(&w, (int64_t)e->n_sources); break;
        case EV_SOURCE_HASHES:
            kv_jw_open(&w, '[');
            for (size_t k = 0; k < e->n_sources; k++)
                kv_jw_cstr(&w, r->source_hashes[k]);
            kv_jw_close(&w, ']');
            break;
        case EV_OUTPUT_HASH: kv_jw_cstr(&w, r->output_hash); break;
        case EV_CATEGORIES:
            if (completed)
                kv_jw_categories(&w, r->categories);
            else
                kv_jw_categories(&w, 0);
            break;
        case EV_ARTIFACTS: artifacts_json(&w, e); break;
        case EV_FAILURE_CODE: kv_jw_cstr(&w, e->failure_code); break;
        }
    }
    kv_jw_close(&w, '}');
    return kv_jw_end(&w, 1);
}

static json_t *pointer_json(const kivo_wire_create *c)
{
    json_t *p = json_object();
    int bad = !p;
    for (size_t i = 0; i < PTR_COUNT && !bad; i++) {
        json_t *v;
        switch (i) {
        case PTR_TYPE: v = own(pointer_fields[i].values[0]); break;
        case PTR_LABEL:
            if (!c->storage_label)
                continue;
            v = json_string(c->storage_label);
            break;
        case PTR_OPAQUE_ID: v = json_string(c->storage_opaque_id); break;
        default: continue;
        }
        bad |= put(p, pointer_fields[i].name, v);
    }
    if (bad) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *strings_json(const char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *v = json_string(s[i]);
        if (!v || json_array_append_new(a, v) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

kivo_status kivo_wire_create_render(const kivo_wire_create *c, kivo_buf *out)
{
    /* Optional strings by row; NULL leaves the member out. */
    const char *opt[CR_COUNT] = {
        [CR_WORKFLOW_NAME] = c->workflow_name,   [CR_TITLE] = c->title,
        [CR_INTENDED_USE] = c->intended_use,     [CR_STRICTNESS] = c->strictness,
        [CR_POLICY_VERSION] = c->policy_version, [CR_PROMPT_VERSION] = c->prompt_version,
        [CR_OUTPUT_HASH] = c->output_hash,       [CR_BATCH_ID] = c->batch_id,
    };
    json_t *o;
    int bad = 0;

    if (!c->customer_run_id || !c->workflow_id || !c->worker_id || !c->worker_version)
        return KIVO_EINVAL;
    if (!(o = json_object()))
        return KIVO_ENOMEM;
    for (size_t i = 0; i < CR_COUNT && !bad; i++) {
        json_t *v;
        switch (i) {
        case CR_SCHEMA_VERSION: v = own(pw_create_fields[i].values[0]); break;
        case CR_CUSTOMER_RUN_ID: v = json_string(c->customer_run_id); break;
        case CR_WORKFLOW_ID: v = json_string(c->workflow_id); break;
        case CR_WORKER_ID: v = json_string(c->worker_id); break;
        case CR_WORKER_VERSION: v = json_string(c->worker_version); break;
        case CR_SOURCE_COUNT:
            if (c->source_count < 0)
                continue;
            v = json_integer((json_int_t)c->source_count);
            break;
        case CR_SOURCE_HASHES:
            if (!c->source_hashes)
                continue;
            v = strings_json(c->source_hashes, c->n_source_hashes);
            break;
        case CR_STORAGE_POINTER:
            if (!c->storage_opaque_id)
                continue;
            v = pointer_json(c);
            break;
        default:
            if (!opt[i])
                continue;
            v = json_string(opt[i]);
            break;
        }
        bad |= put(o, pw_create_fields[i].name, v);
    }
    return kv_render_dump(o, bad, 0, out);
}
