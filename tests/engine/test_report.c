/*
 * test_report.c - claim reports (report.c): one JSON line (jansson) with the documented keys in a
 * fixed order; claim texts are the output's bytes at [start, end); rendering is byte-for-byte
 * repeatable and appends. Events are the wire's (test_wire.c).
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

#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/report.h"
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

static const char *const report_keys[] = {"schema_version",
                                          "review_run_id",
                                          "customer_run_id",
                                          "workflow_id",
                                          "worker_id",
                                          "worker_version",
                                          "engine_version",
                                          "policy_version",
                                          "strictness",
                                          "intended_use",
                                          "gate_verdict",
                                          "safe_use_status",
                                          "claim_count",
                                          "unsupported_claim_count",
                                          "contradicted_claim_count",
                                          "partially_supported_claim_count",
                                          "failure_categories",
                                          "output_hash",
                                          "source_count",
                                          "sources",
                                          "claims",
                                          NULL};
static const char *const claim_keys[] = {"claim_id",
                                         "text",
                                         "start",
                                         "end",
                                         "status",
                                         "support_score",
                                         "failure_category",
                                         "evidence",
                                         "unsupported_spans",
                                         NULL};
static const char *const span_keys[] = {"start", "end", "text", NULL};
static const char *const evidence_keys[] = {"source_id", "start", "end", NULL};
static const char *const source_keys[] = {"source_id", "title", "sha256", NULL};
static const char *const category_names[] = {"unsupported_claim",
                                             "unsupported_policy_claim",
                                             "unsupported_numeric_claim",
                                             "unsupported_entity_claim",
                                             "contradicted_claim",
                                             "no_sources",
                                             "empty_output",
                                             NULL};

typedef struct fixture {
    kivo_engine *engine;
    kivo_source sources[2];
    kivo_packet packet;
    const kivo_review *review;
    kivo_run_meta meta;
    kivo_buf out;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || kivo_engine_create(&f->engine) != KIVO_OK)
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
    kivo_engine_free(f->engine);
    free(f);
    return 0;
}

/* Parses buf as exactly one JSON object followed by one newline, and nothing else. */
static json_t *parse_line(const kivo_buf *b)
{
    assert_true(b->len > 2);
    assert_int_equal(b->data[b->len - 1], '\n');
    assert_null(memchr(b->data, '\n', b->len - 1)); /* one line, compact */
    json_error_t err;
    json_t *root = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        fail_msg("not JSON: %s at %d: %.*s", err.text, err.position, (int)b->len, b->data);
    assert_true(json_is_object(root));
    return root;
}

static int is_category(const char *s)
{
    for (size_t i = 0; category_names[i]; i++)
        if (strcmp(s, category_names[i]) == 0)
            return 1;
    return 0;
}

static void test_report_fields(void **state)
{
    fixture *f = *state;
    const kivo_review *r = f->review;
    assert_int_equal(kivo_report_render(&f->packet, r, &f->meta, &f->out), KIVO_OK);
    json_t *root = parse_line(&f->out);
    assert_keys(root, report_keys, "claim report");
    assert_string_equal(str(root, "schema_version"), "kivo_claim_report.v1");
    assert_true(json_is_null(json_object_get(root, "review_run_id")));
    assert_string_equal(str(root, "customer_run_id"), "sup-1124-003");
    assert_string_equal(str(root, "workflow_id"), "support_answer_review");
    assert_string_equal(str(root, "worker_id"), "worker_support_001");
    assert_string_equal(str(root, "worker_version"), "kivo-worker.0.1.0");
    assert_string_equal(str(root, "engine_version"), KIVO_ENGINE_VERSION);
    assert_string_equal(str(root, "policy_version"), "standard-support-v1");
    assert_string_equal(str(root, "strictness"), "strict");
    assert_string_equal(str(root, "intended_use"), "customer_facing");
    assert_string_equal(str(root, "gate_verdict"), kivo_verdict_name(r->gate_verdict));
    assert_string_equal(str(root, "safe_use_status"), kivo_verdict_name(r->safe_use_status));
    assert_int_equal(integer(root, "claim_count"), r->n_claims);
    assert_int_equal(integer(root, "unsupported_claim_count"), r->unsupported_count);
    assert_int_equal(integer(root, "contradicted_claim_count"), r->contradicted_count);
    assert_int_equal(integer(root, "partially_supported_claim_count"), r->partial_count);
    assert_string_equal(str(root, "output_hash"), r->output_hash);
    assert_true(kivo_hash_text_valid(r->output_hash, strlen(r->output_hash)));
    assert_int_equal(integer(root, "source_count"), 2);

    /* failure_categories: exactly the review's bits, in enum order. */
    json_t *cats = json_object_get(root, "failure_categories");
    assert_true(json_is_array(cats));
    size_t k = 0;
    for (int c = 1; c < KIVO_CAT_COUNT; c++) {
        if (!((r->categories >> c) & 1u))
            continue;
        assert_string_equal(json_string_value(json_array_get(cats, k)),
                            kivo_category_name((kivo_category)c));
        k++;
    }
    assert_int_equal(json_array_size(cats), k);
    assert_true(k > 0); /* this output has unsupported claims */

    json_t *sources = json_object_get(root, "sources");
    assert_int_equal(json_array_size(sources), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *s = json_array_get(sources, i);
        assert_keys(s, source_keys, "source");
        assert_string_equal(str(s, "sha256"), r->source_hashes[i]);
    }
    assert_string_equal(str(json_array_get(sources, 0), "source_id"), "kb-refund-policy");
    assert_string_equal(str(json_array_get(sources, 0), "title"), "Refund Policy");
    assert_true(json_is_null(json_object_get(json_array_get(sources, 1), "title")));

    json_t *claims = json_object_get(root, "claims");
    assert_int_equal(json_array_size(claims), r->n_claims);
    assert_true(r->n_claims >= 3);
    for (size_t i = 0; i < r->n_claims; i++) {
        json_t *c = json_array_get(claims, i);
        char id[32];
        assert_keys(c, claim_keys, "claim");
        snprintf(id, sizeof id, "c%zu", i + 1);
        assert_string_equal(str(c, "claim_id"), id);
        json_int_t start = integer(c, "start"), end = integer(c, "end");
        assert_int_equal(start, r->claims[i].start);
        assert_int_equal(end, r->claims[i].end);
        /* The text is the output's bytes at [start, end). */
        const char *text = str(c, "text");
        assert_int_equal(strlen(text), (size_t)(end - start));
        assert_memory_equal(text, output + start, (size_t)(end - start));
        assert_string_equal(str(c, "status"), kivo_claim_status_name(r->claims[i].status));
        json_t *score = json_object_get(c, "support_score");
        assert_true(json_is_number(score));
        assert_true(json_number_value(score) == r->claims[i].support_score);
        json_t *fc = json_object_get(c, "failure_category");
        if (r->claims[i].category == KIVO_CAT_NONE) {
            assert_true(json_is_null(fc));
        } else {
            assert_true(is_category(json_string_value(fc)));
        }
        json_t *ev = json_object_get(c, "evidence");
        assert_int_equal(json_array_size(ev), r->claims[i].n_evidence);
        for (size_t e = 0; e < json_array_size(ev); e++) {
            json_t *x = json_array_get(ev, e);
            assert_keys(x, evidence_keys, "evidence");
            const kivo_source *s = &f->sources[r->claims[i].evidence[e].source];
            assert_memory_equal(str(x, "source_id"), s->id, s->id_len);
            assert_int_equal(integer(x, "start"), r->claims[i].evidence[e].start);
            assert_int_equal(integer(x, "end"), r->claims[i].evidence[e].end);
            assert_true(integer(x, "end") <= (json_int_t)s->text_len);
        }
        /* Unsupported spans: flagged claims only, inside the claim, in order, with their text. */
        json_t *us = json_object_get(c, "unsupported_spans");
        assert_true(json_is_array(us));
        assert_int_equal(json_array_size(us), r->claims[i].n_unsupported_spans);
        if (r->claims[i].status == KIVO_CLAIM_SUPPORTED ||
            r->claims[i].status == KIVO_CLAIM_PARTIALLY_SUPPORTED)
            assert_int_equal(json_array_size(us), 0);
        json_int_t prev = start;
        for (size_t k = 0; k < json_array_size(us); k++) {
            json_t *x = json_array_get(us, k);
            assert_keys(x, span_keys, "unsupported span");
            json_int_t a = integer(x, "start"), b = integer(x, "end");
            assert_true(prev <= a && a < b && b <= end);
            assert_int_equal(strlen(str(x, "text")), (size_t)(b - a));
            assert_memory_equal(str(x, "text"), output + a, (size_t)(b - a));
            prev = b;
        }
    }
    /* The changed number is what the first claim's span names. */
    json_t *us0 = json_object_get(json_array_get(claims, 0), "unsupported_spans");
    assert_int_equal(json_array_size(us0), 1);
    assert_string_equal(str(json_array_get(us0, 0), "text"), "60");
    /* The first claim starts after the greeting; a quoted name survives JSON escaping. */
    assert_string_equal(str(json_array_get(claims, 0), "text"),
                        "You can get a full refund within 60 days of delivery.");
    assert_string_equal(str(json_array_get(claims, 2), "text"),
                        "The \"Lumen Doorbell Pro\" costs $49.00.");
    json_decref(root);
}

static void test_report_nulls_and_repeatable(void **state)
{
    fixture *f = *state;
    kivo_run_meta m = f->meta;
    m.policy_version = NULL;
    m.worker_id = NULL;
    m.worker_version = NULL;
    m.review_run_id = "rr_123";
    m.strictness = KIVO_LENIENT;
    m.intended_use = KIVO_USE_EVALUATION;
    assert_int_equal(kivo_report_render(&f->packet, f->review, &m, &f->out), KIVO_OK);
    json_t *root = parse_line(&f->out);
    assert_true(json_is_null(json_object_get(root, "policy_version")));
    assert_true(json_is_null(json_object_get(root, "worker_id")));
    assert_true(json_is_null(json_object_get(root, "worker_version")));
    assert_string_equal(str(root, "review_run_id"), "rr_123");
    assert_string_equal(str(root, "strictness"), "lenient");
    assert_string_equal(str(root, "intended_use"), "evaluation");
    json_decref(root);

    /* Same input, same bytes; rendering appends to what the buffer holds. */
    kivo_buf a, b;
    kivo_buf_init(&a, 0);
    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_append_str(&b, "prefix|"), KIVO_OK);
    assert_int_equal(kivo_report_render(&f->packet, f->review, &f->meta, &a), KIVO_OK);
    assert_int_equal(kivo_report_render(&f->packet, f->review, &f->meta, &b), KIVO_OK);
    assert_int_equal(b.len, a.len + 7);
    assert_memory_equal(b.data, "prefix|", 7);
    assert_memory_equal(b.data + 7, a.data, a.len);
    assert_int_equal(b.data[b.len], '\0');
    kivo_buf_free(&a);
    kivo_buf_free(&b);

    /* A ceiling too small: a status, not a truncated report. */
    kivo_buf small;
    kivo_buf_init(&small, 100);
    assert_int_equal(kivo_report_render(&f->packet, f->review, &f->meta, &small), KIVO_ETOOBIG);
    kivo_buf_free(&small);
}

static void empty_review_report(fixture *f, const char *out, size_t n_sources, const char *cat)
{
    kivo_packet p = f->packet;
    const kivo_review *r;
    p.output = out;
    p.output_len = strlen(out);
    p.n_sources = n_sources;
    assert_int_equal(kivo_engine_review(f->engine, &p, &r), KIVO_OK);
    kivo_buf_reset(&f->out);
    assert_int_equal(kivo_report_render(&p, r, &f->meta, &f->out), KIVO_OK);
    json_t *root = parse_line(&f->out);
    assert_keys(root, report_keys, "claim report");
    assert_string_equal(str(root, "gate_verdict"), "fail");
    json_t *cats = json_object_get(root, "failure_categories");
    assert_int_equal(json_array_size(cats), 1);
    assert_string_equal(json_string_value(json_array_get(cats, 0)), cat);
    assert_int_equal(integer(root, "source_count"), n_sources);
    assert_int_equal(json_array_size(json_object_get(root, "sources")), n_sources);
    json_decref(root);
}

static void test_report_empty_and_no_sources(void **state)
{
    fixture *f = *state;
    empty_review_report(f, "", 2, "empty_output");
    empty_review_report(f, "Hope this helps!", 0, "no_sources");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_nulls_and_repeatable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_empty_and_no_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
