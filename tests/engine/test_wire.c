/*
 * test_wire.c - the wire's renderers and tables (wire.c): every event type renders as one JSON
 * line with the documented keys in a fixed order (known answers, written here independently of
 * the tables); a completed event holds no raw text and no raw field at any depth; event ids are
 * SHA-256(workflow NUL run NUL type) and depend on nothing else; rendering is repeatable and
 * leaves the buffer as it was on failure; the create body's keys and what is left out; the name
 * tables and the raw-field list. tests/api/test_wire.c checks the same bodies against the
 * server's validator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "test_json_assert.h"
#include <openssl/evp.h>

#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/review.h"
#include "kivo/wire.h"

static const char output[] =
    "Hi Zo\xc3\xab! You can get a full refund within 60 days of delivery.\n"
    "- Gift cards are not refundable.\n"
    "- The \"Lumen Doorbell Pro\" costs $49.00.";

static const char refund_text[] =
    "Customers may request a full refund within 30 days of the delivery date. Digital downloads "
    "and gift cards are not refundable.";
static const char price_text[] = "Price List\nLumen Hub: $49.00\nLumen Bulb A19: $12.99\n";

/* kivo_private_worker_review_run_event.v1, as in spec/api.md and the product page. */
static const char *const completed_keys[] = {"schema_version",
                                             "event_id",
                                             "event_type",
                                             "review_run_id",
                                             "customer_run_id",
                                             "worker_id",
                                             "worker_version",
                                             "sequence",
                                             "status",
                                             "gate_verdict",
                                             "safe_use_status",
                                             "claim_count",
                                             "unsupported_claim_count",
                                             "source_count",
                                             "source_hashes",
                                             "output_hash",
                                             "redacted_failure_categories",
                                             "artifact_summaries",
                                             NULL};
static const char *const started_keys[] = {
    "schema_version", "event_id",       "event_type", "review_run_id", "customer_run_id",
    "worker_id",      "worker_version", "sequence",   "status",        NULL};
static const char *const failed_keys[] = {"schema_version",  "event_id",
                                          "event_type",      "review_run_id",
                                          "customer_run_id", "worker_id",
                                          "worker_version",  "sequence",
                                          "status",          "redacted_failure_categories",
                                          "failure_code",    NULL};
static const char *const artifact_keys[] = {"artifact_name", "artifact_type", "format", "sha256",
                                            "file_count",    "storage_label", NULL};
static const char *const create_keys[] = {"schema_version",
                                          "customer_run_id",
                                          "batch_id",
                                          "workflow_id",
                                          "worker_id",
                                          "worker_version",
                                          "workflow_name",
                                          "intended_use",
                                          "strictness",
                                          "policy_version",
                                          "source_count",
                                          "source_hashes",
                                          "output_hash",
                                          "customer_storage_pointer",
                                          NULL};
static const char *const pointer_keys[] = {"type", "label", "opaque_id", NULL};
static const char *const category_names[] = {"unsupported_claim",
                                             "unsupported_policy_claim",
                                             "unsupported_numeric_claim",
                                             "unsupported_entity_claim",
                                             "contradicted_claim",
                                             "no_sources",
                                             "empty_output",
                                             NULL};

#define REPORT_HASH "sha256:5dfea1c98fe888a790c8f3d2e6275ef8b9ffd830edfc2f44617845a4d271a31d"

typedef struct fixture {
    kivo_engine *engine;
    kivo_hasher *hasher;
    kivo_source sources[2];
    kivo_packet packet;
    const kivo_review *review;
    kivo_run_meta meta;
    kivo_buf out;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || kivo_engine_create(&f->engine) != KIVO_OK ||
        kivo_hasher_create(&f->hasher) != KIVO_OK)
        return -1;
    f->sources[0] = (kivo_source){"kb-refund-policy", 16, "Refund Policy", 13, refund_text,
                                  strlen(refund_text)};
    f->sources[1] = (kivo_source){"kb-price-list", 13, NULL, 0, price_text, strlen(price_text)};
    f->packet =
        (kivo_packet){output, strlen(output), f->sources, 2, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    if (kivo_engine_review(f->engine, &f->packet, &f->review) != KIVO_OK)
        return -1;
    f->meta = (kivo_run_meta){NULL,
                              "sup-1124-003",
                              "support_answer_review",
                              "worker_support_001",
                              "kivo-worker.0.1.0",
                              "standard-support-v1",
                              "Customer report store",
                              KIVO_STRICT,
                              KIVO_USE_CUSTOMER_FACING,
                              NULL};
    kivo_buf_init(&f->out, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kivo_buf_free(&f->out);
    kivo_hasher_free(f->hasher);
    kivo_engine_free(f->engine);
    free(f);
    return 0;
}

/* Parses b[from..) as exactly one JSON object followed by `newline` newlines, nothing else. */
static json_t *parse_body(const kivo_buf *b, size_t from, int newline)
{
    const char *s = b->data + from;
    size_t len = b->len - from;
    assert_true(len > 2);
    if (newline) {
        assert_int_equal(s[len - 1], '\n');
        len--;
    }
    assert_null(memchr(s, '\n', len)); /* one line, compact */
    json_error_t err;
    json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        fail_msg("not JSON: %s at %d: %.*s", err.text, err.position, (int)len, s);
    assert_true(json_is_object(root));
    return root;
}

/* Walks every key at every depth: none is a rejected raw field. */
static void assert_no_raw_keys(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            const kivo_wire_raw_field *raw = kivo_wire_raw_field_find(k, strlen(k));
            if (raw)
                fail_msg("event holds rejected raw field \"%s\" (use %s)", k, raw->use_instead);
            assert_no_raw_keys(x);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) assert_no_raw_keys(x);
    }
}

static kivo_wire_event completed(fixture *f, const kivo_review *r, uint64_t seq)
{
    return (kivo_wire_event){KIVO_EVENT_COMPLETED, &f->meta, seq, r, 2, REPORT_HASH, NULL};
}

static void test_completed_event(void **state)
{
    fixture *f = *state;
    const kivo_review *r = f->review;
    kivo_wire_event ev = completed(f, r, 1);
    char id[KIVO_WIRE_EVENT_ID_SIZE], want_id[KIVO_WIRE_EVENT_ID_SIZE];
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, id, &f->out), KIVO_OK);
    json_t *root = parse_body(&f->out, 0, 1);
    assert_keys(root, completed_keys, "event");
    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_COMPLETED,
                       want_id);
    assert_string_equal(id, want_id);
    assert_string_equal(str(root, "event_id"), want_id);
    assert_string_equal(str(root, "schema_version"), "kivo_private_worker_review_run_event.v1");
    assert_string_equal(str(root, "event_type"), "completed");
    assert_string_equal(str(root, "status"), "completed");
    assert_true(json_is_null(json_object_get(root, "review_run_id")));
    assert_string_equal(str(root, "customer_run_id"), "sup-1124-003");
    assert_string_equal(str(root, "worker_id"), "worker_support_001");
    assert_string_equal(str(root, "worker_version"), "kivo-worker.0.1.0");
    assert_int_equal(integer(root, "sequence"), 1);
    assert_string_equal(str(root, "gate_verdict"), kivo_verdict_name(r->gate_verdict));
    assert_string_equal(str(root, "safe_use_status"), kivo_verdict_name(r->safe_use_status));
    assert_int_equal(integer(root, "claim_count"), r->n_claims);
    assert_int_equal(integer(root, "unsupported_claim_count"), r->unsupported_count);
    assert_true(integer(root, "unsupported_claim_count") <= integer(root, "claim_count"));
    assert_int_equal(integer(root, "source_count"), 2);
    json_t *sh = json_object_get(root, "source_hashes");
    assert_int_equal(json_array_size(sh), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *h = json_string_value(json_array_get(sh, i));
        assert_string_equal(h, r->source_hashes[i]);
        assert_true(kivo_hash_text_valid(h, strlen(h)));
    }
    assert_string_equal(str(root, "output_hash"), r->output_hash);
    /* Categories: exactly the review's bits, in enum order. */
    json_t *cats = json_object_get(root, "redacted_failure_categories");
    size_t k = 0;
    for (int c = 1; c < KIVO_CAT_COUNT; c++) {
        if (!((r->categories >> c) & 1u))
            continue;
        assert_string_equal(json_string_value(json_array_get(cats, k)), category_names[c - 1]);
        k++;
    }
    assert_int_equal(json_array_size(cats), k);
    assert_true(k > 0);
    json_t *arts = json_object_get(root, "artifact_summaries");
    assert_int_equal(json_array_size(arts), 1);
    json_t *a = json_array_get(arts, 0);
    assert_keys(a, artifact_keys, "artifact summary");
    assert_string_equal(str(a, "artifact_name"), "claim_report");
    assert_string_equal(str(a, "artifact_type"), "claim_report");
    assert_string_equal(str(a, "format"), "json");
    assert_string_equal(str(a, "sha256"), REPORT_HASH);
    assert_int_equal(integer(a, "file_count"), 1);
    assert_string_equal(str(a, "storage_label"), "Customer report store");
    assert_no_raw_keys(root);
    json_decref(root);

    /* No raw text: no claim text, no stretch of the output or of a source. */
    char *text = f->out.data;
    for (size_t i = 0; i < r->n_claims; i++) {
        char piece[64];
        size_t n = r->claims[i].end - r->claims[i].start;
        n = n > 20 ? 20 : n;
        memcpy(piece, output + r->claims[i].start, n);
        piece[n] = '\0';
        if (strstr(text, piece))
            fail_msg("event holds output text \"%s\"", piece);
    }
    static const char *const fragments[] = {"refund", "Refund",   "Doorbell",   "Gift", "gift",
                                            "49.00",  "delivery", "Price List", "Zo",   NULL};
    for (size_t i = 0; fragments[i]; i++)
        if (strstr(text, fragments[i]))
            fail_msg("event holds raw text \"%s\"", fragments[i]);

    /* Without a storage label the artifact says "". */
    f->meta.storage_label = NULL;
    kivo_buf_reset(&f->out);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_OK);
    root = parse_body(&f->out, 0, 1);
    a = json_array_get(json_object_get(root, "artifact_summaries"), 0);
    assert_string_equal(str(a, "storage_label"), "");
    json_decref(root);
}

/* started, progress and failed: the envelope, then only what the type carries. */
static void test_other_events(void **state)
{
    fixture *f = *state;
    char id[KIVO_WIRE_EVENT_ID_SIZE], want[KIVO_WIRE_EVENT_ID_SIZE];
    f->meta.review_run_id = "rr_42";

    kivo_wire_event ev = {KIVO_EVENT_STARTED, &f->meta, 1, NULL, 0, NULL, NULL};
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, id, &f->out), KIVO_OK);
    json_t *root = parse_body(&f->out, 0, 1);
    assert_keys(root, started_keys, "started event");
    assert_string_equal(str(root, "event_type"), "started");
    assert_string_equal(str(root, "status"), "running");
    assert_string_equal(str(root, "review_run_id"), "rr_42");
    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_STARTED,
                       want);
    assert_string_equal(str(root, "event_id"), want);
    assert_string_equal(id, want);
    json_decref(root);

    ev.type = KIVO_EVENT_PROGRESS;
    kivo_buf_reset(&f->out);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_OK);
    root = parse_body(&f->out, 0, 1);
    assert_keys(root, started_keys, "progress event");
    assert_string_equal(str(root, "status"), "running");
    json_decref(root);

    ev = (kivo_wire_event){KIVO_EVENT_FAILED, &f->meta, 2, NULL, 0, NULL, "record_not_found"};
    kivo_buf_reset(&f->out);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, id, &f->out), KIVO_OK);
    root = parse_body(&f->out, 0, 1);
    assert_keys(root, failed_keys, "failed event");
    assert_string_equal(str(root, "status"), "failed");
    assert_int_equal(integer(root, "sequence"), 2);
    assert_int_equal(json_array_size(json_object_get(root, "redacted_failure_categories")), 0);
    assert_string_equal(str(root, "failure_code"), "record_not_found");
    json_decref(root);
    /* The exact bytes kivo-worker run wrote before the wire had one renderer. */
    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_FAILED, want);
    char line[1024];
    snprintf(line, sizeof line,
             "{\"schema_version\":\"kivo_private_worker_review_run_event.v1\",\"event_id\":\"%s\","
             "\"event_type\":\"failed\",\"review_run_id\":\"rr_42\",\"customer_run_id\":"
             "\"sup-1124-003\",\"worker_id\":\"worker_support_001\",\"worker_version\":"
             "\"kivo-worker.0.1.0\",\"sequence\":2,\"status\":\"failed\","
             "\"redacted_failure_categories\":[],\"failure_code\":\"record_not_found\"}\n",
             want);
    assert_string_equal(f->out.data, line);

    /* What a type needs, it must get; the buffer is left as it was. */
    assert_int_equal(kivo_buf_append_str(&f->out, ""), KIVO_OK);
    size_t len = f->out.len;
    ev.failure_code = NULL;
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_EINVAL);
    ev = (kivo_wire_event){KIVO_EVENT_COMPLETED, &f->meta, 2, NULL, 2, REPORT_HASH, NULL};
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_EINVAL);
    ev.type = KIVO_EVENT_TYPE_COUNT;
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_EINVAL);
    assert_int_equal(f->out.len, len);
}

static void test_event_id(void **state)
{
    fixture *f = *state;
    char id[KIVO_WIRE_EVENT_ID_SIZE], again[KIVO_WIRE_EVENT_ID_SIZE];
    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_COMPLETED,
                       id);
    /* Independently: "evt_" + the first 12 bytes of SHA-256(workflow NUL run NUL type), in hex. */
    static const char msg[] = "support_answer_review\0sup-1124-003\0completed";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    assert_int_equal(EVP_Digest(msg, sizeof msg - 1, d, &dn, EVP_sha256(), NULL), 1);
    char want[64] = "evt_";
    for (int i = 0; i < 12; i++)
        snprintf(want + 4 + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(id, want);
    assert_int_equal(strlen(id), 28);

    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_COMPLETED,
                       again);
    assert_string_equal(id, again);
    /* The separators keep ("a", "bc") and ("ab", "c") apart; every input counts. */
    kivo_wire_event_id(f->hasher, "a", "bc", KIVO_EVENT_COMPLETED, id);
    kivo_wire_event_id(f->hasher, "ab", "c", KIVO_EVENT_COMPLETED, again);
    assert_string_not_equal(id, again);
    kivo_wire_event_id(f->hasher, "w", "r", KIVO_EVENT_COMPLETED, id);
    kivo_wire_event_id(f->hasher, "w", "r", KIVO_EVENT_FAILED, again);
    assert_string_not_equal(id, again);
    kivo_wire_event_id(f->hasher, "w", "r2", KIVO_EVENT_COMPLETED, again);
    assert_string_not_equal(id, again);

    /* The event's id is that id, whatever the review, sequence or worker say. */
    kivo_wire_event_id(f->hasher, "support_answer_review", "sup-1124-003", KIVO_EVENT_COMPLETED,
                       want);
    kivo_run_meta m = f->meta;
    m.worker_id = "another-worker";
    kivo_wire_event ev = {KIVO_EVENT_COMPLETED, &m, 7, f->review, 2, "sha256:00", NULL};
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &f->out), KIVO_OK);
    json_t *root = parse_body(&f->out, 0, 1);
    assert_string_equal(str(root, "event_id"), want);
    assert_int_equal(integer(root, "sequence"), 7);
    json_decref(root);
}

static void test_event_repeatable(void **state)
{
    fixture *f = *state;
    kivo_buf a, b, small;
    kivo_buf_init(&a, 0);
    kivo_buf_init(&b, 0);
    kivo_wire_event ev = completed(f, f->review, 1);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &a), KIVO_OK);
    /* Review something else in between, then the same packet again; render after a prefix. */
    kivo_packet p = f->packet;
    p.output = "Other text entirely.";
    p.output_len = strlen(p.output);
    const kivo_review *r;
    assert_int_equal(kivo_engine_review(f->engine, &p, &r), KIVO_OK);
    assert_int_equal(kivo_engine_review(f->engine, &f->packet, &r), KIVO_OK);
    ev.review = r;
    assert_int_equal(kivo_buf_append_str(&b, "prefix|"), KIVO_OK);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &b), KIVO_OK);
    assert_int_equal(b.len, a.len + 7);
    assert_memory_equal(b.data + 7, a.data, a.len);
    /* A ceiling too small: a status, and the buffer as it was. */
    kivo_buf_init(&small, 100);
    assert_int_equal(kivo_buf_append_str(&small, "keep"), KIVO_OK);
    assert_int_equal(kivo_wire_event_render(f->hasher, &ev, NULL, &small), KIVO_ETOOBIG);
    assert_int_equal(small.len, 4);
    assert_string_equal(small.data, "keep");
    kivo_buf_free(&small);
    kivo_buf_free(&a);
    kivo_buf_free(&b);
}

static void test_create_body(void **state)
{
    fixture *f = *state;
    static const char *const hashes[] = {
        "sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256:"
        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"};
    kivo_wire_create c = {"sup-1",
                          "wf",
                          "wk",
                          "kivo-worker.0.1.0",
                          "Support",
                          NULL,
                          "customer_facing",
                          "strict",
                          "pol-1",
                          NULL,
                          2,
                          hashes,
                          2,
                          "sha256:"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          "Store",
                          "reports/wf/sup-1/claim_report.json",
                          "release-2026.12"};
    assert_int_equal(kivo_wire_create_render(&c, &f->out), KIVO_OK);
    json_t *root = parse_body(&f->out, 0, 0);
    assert_keys(root, create_keys, "create");
    assert_string_equal(str(root, "schema_version"), "kivo_private_worker_review_run_create.v1");
    assert_int_equal(integer(root, "source_count"), 2);
    assert_string_equal(str(root, "batch_id"), "release-2026.12");
    assert_int_equal(json_array_size(json_object_get(root, "source_hashes")), 2);
    json_t *p = json_object_get(root, "customer_storage_pointer");
    assert_keys(p, pointer_keys, "storage pointer");
    assert_string_equal(str(p, "type"), "customer_owned");
    assert_string_equal(str(p, "opaque_id"), "reports/wf/sup-1/claim_report.json");
    json_decref(root);

    /* The optional members are left out, not null. */
    static const char *const min_keys[] = {"schema_version", "customer_run_id", "workflow_id",
                                           "worker_id",      "worker_version",  NULL};
    kivo_wire_create m = {"sup-1", "wf", "wk", "v", NULL, NULL, NULL, NULL, NULL,
                          NULL,    -1,   NULL, 0,   NULL, NULL, NULL, NULL};
    kivo_buf_reset(&f->out);
    assert_int_equal(kivo_wire_create_render(&m, &f->out), KIVO_OK);
    root = parse_body(&f->out, 0, 0);
    assert_keys(root, min_keys, "minimal create");
    json_decref(root);
    m.worker_version = NULL;
    assert_int_equal(kivo_wire_create_render(&m, &f->out), KIVO_EINVAL);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(kivo_event_type_name(KIVO_EVENT_STARTED), "started");
    assert_string_equal(kivo_event_type_name(KIVO_EVENT_FAILED), "failed");
    assert_string_equal(kivo_event_type_name(KIVO_EVENT_TYPE_COUNT), "unknown");
    assert_string_equal(kivo_event_status_name(KIVO_EVENT_STARTED), "running");
    assert_string_equal(kivo_event_status_name(KIVO_EVENT_PROGRESS), "running");
    assert_string_equal(kivo_event_status_name(KIVO_EVENT_COMPLETED), "completed");
    assert_string_equal(kivo_event_status_name(KIVO_EVENT_FAILED), "failed");
    for (int t = 0; t < KIVO_EVENT_TYPE_COUNT; t++) {
        kivo_event_type back;
        const char *n = kivo_wire_event_type_names[t];
        assert_int_equal(kivo_event_type_parse(n, strlen(n), &back), KIVO_OK);
        assert_int_equal(back, t);
    }
    assert_null(kivo_wire_event_type_names[KIVO_EVENT_TYPE_COUNT]);
    kivo_event_type t;
    assert_int_equal(kivo_event_type_parse("running", 7, &t), KIVO_EINVAL);
    assert_int_equal(kivo_event_type_parse("complete", 8, &t), KIVO_EINVAL);
    /* Tables end where their enums do. */
    assert_null(kivo_wire_verdict_names[3]);
    assert_null(kivo_wire_strictness_names[3]);
    assert_null(kivo_wire_intended_use_names[3]);
    assert_null(kivo_wire_claim_status_names[4]);
    assert_null(kivo_wire_category_names[KIVO_CAT_NONE]);
    assert_null(kivo_wire_category_names[KIVO_CAT_COUNT]);
    for (int c = 1; c < KIVO_CAT_COUNT; c++)
        assert_string_equal(kivo_wire_category_names[c], category_names[c - 1]);
}

static void test_raw_field_list(void **state)
{
    (void)state;
    static const char *const want[] = {
        "ai_output",   "prompt",       "system_prompt",     "messages",
        "source_text", "source_spans", "retrieved_context", "embeddings",
        "screenshots", "uploads",      "tool_traces",       "tool_calls",
        NULL};
    size_t n = 0;
    while (kivo_wire_raw_fields[n].name)
        n++;
    assert_null(kivo_wire_raw_fields[n].use_instead);
    for (size_t i = 0; want[i]; i++) {
        const kivo_wire_raw_field *raw = kivo_wire_raw_field_find(want[i], strlen(want[i]));
        if (!raw)
            fail_msg("\"%s\" should be a rejected raw field", want[i]);
        assert_string_equal(raw->name, want[i]);
        assert_true(raw->use_instead && strlen(raw->use_instead) > 0);
    }
    assert_int_equal(n, sizeof want / sizeof want[0] - 1);
    assert_string_equal(kivo_wire_raw_field_find("prompt", 6)->use_instead,
                        "prompt_version or policy_version");
    /* Exact names only: prefixes, longer names and other cases are fine. */
    assert_null(kivo_wire_raw_field_find("prompt", 5));
    assert_null(kivo_wire_raw_field_find("prompts", 7));
    assert_null(kivo_wire_raw_field_find("Prompt", 6));
    assert_null(kivo_wire_raw_field_find("prompt_version", 14));
    assert_null(kivo_wire_raw_field_find("output_hash", 11));
    assert_null(kivo_wire_raw_field_find("", 0));
    /* No body's table may allow a raw field. */
    const kivo_wire_body *bodies[] = {&kivo_wire_pw_create, &kivo_wire_pw_event,
                                      &kivo_wire_storage_pointer, &kivo_wire_artifact_summary};
    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++)
        for (size_t i = 0; i < bodies[b]->n; i++)
            assert_null(kivo_wire_raw_field_find(bodies[b]->fields[i].name,
                                                 strlen(bodies[b]->fields[i].name)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_completed_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_repeatable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_body, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_raw_field_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
