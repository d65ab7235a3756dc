/*
 * test_validate.c - closed schemas, length caps, cross-field rules and the raw-field scan of the
 * private-worker and hosted bodies, on bodies parsed by the real kivo_json parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/review.h"
#include "kivo/wire.h"

#include "validate.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH "\"sha256:" H64 "\""

static kivo_json_parser *parser;
static char buf[1 << 16];

static const kivo_json_node *parse(const char *text)
{
    const kivo_json_node *root = NULL;
    size_t len = strlen(text);

    assert_true(len + KIVO_JSON_PADDING < sizeof buf);
    memcpy(buf, text, len);
    assert_int_equal(kivo_json_parse(parser, buf, len, sizeof buf, KIVO_JSON_REJECT_DUPKEYS, &root),
                     KIVO_OK);
    return root;
}

static int setup(void **state)
{
    (void)state;
    return kivo_json_parser_create(32, &parser) == KIVO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kivo_json_parser_free(parser);
    return 0;
}

/* The fields list of e as one comma-joined string, for compact assertions. */
static const char *fields(const api_error *e)
{
    static char out[1024];
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; e->fields && i < json_array_size(e->fields); i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "," : "",
                              json_string_value(json_array_get(e->fields, i)));
    return out;
}

#define CREATE_MIN                                                                                \
    "\"schema_version\":\"kivo_private_worker_review_run_create.v1\",\"customer_run_id\":\"c1\"," \
    "\"workflow_id\":\"w\",\"worker_id\":\"wk\",\"worker_version\":\"v1\""

static void create_product_page_body_passes(void **state)
{
    api_error e = {0};

    (void)state;
    api_validate_pw_create(parse("{" CREATE_MIN ",\"workflow_name\":\"Support answer review\","
                                 "\"title\":\"Support answer check\",\"intended_use\":"
                                 "\"customer_facing\",\"strictness\":\"strict\",\"source_count\":2,"
                                 "\"source_hashes\":[" HASH "," HASH "],\"output_hash\":" HASH ","
                                 "\"policy_version\":\"standard-support-v1\","
                                 "\"customer_storage_pointer\":{\"type\":\"customer_owned\","
                                 "\"label\":\"Customer report store\","
                                 "\"opaque_id\":\"reports/x\"}}"),
                           &e);
    assert_int_equal(e.http, 0);
    api_error_clear(&e);
}

static void create_schema_violations(void **state)
{
    api_error e = {0};

    (void)state;
    api_validate_pw_create(parse("{\"schema_version\":\"kivo_private_worker_review_run_create.v2\","
                                 "\"workflow_id\":\"\",\"worker_id\":7,\"worker_version\":\"v\","
                                 "\"surprise\":1,\"intended_use\":\"marketing\"}"),
                           &e);
    assert_int_equal(e.http, 400);
    assert_string_equal(e.code, "schema_violation");
    assert_string_equal(fields(&e), "schema_version,workflow_id,worker_id,surprise,intended_use,"
                                    "customer_run_id");
    api_error_clear(&e);

    /* Counts and hash lists must agree; hashes must be lowercase hex. */
    api_validate_pw_create(
        parse("{" CREATE_MIN ",\"source_count\":2,\"source_hashes\":[" HASH "]}"), &e);
    assert_int_equal(e.http, 400);
    assert_string_equal(fields(&e), "source_hashes,source_count");
    api_error_clear(&e);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"output_hash\":\"sha256:" H64 "0\"}"), &e);
    assert_string_equal(fields(&e), "output_hash");
    api_error_clear(&e);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"output_hash\":\"sha256:ABCDEF" H64 "\"}"), &e);
    assert_string_equal(fields(&e), "output_hash");
    api_error_clear(&e);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"source_count\":-1}"), &e);
    assert_string_equal(fields(&e), "source_count");
    api_error_clear(&e);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"source_count\":1.5}"), &e);
    assert_string_equal(fields(&e), "source_count");
    api_error_clear(&e);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"customer_storage_pointer\":{\"type\":\"s3\","
                                 "\"opaque_id\":\"x\",\"bucket\":\"b\"}}"),
                           &e);
    assert_string_equal(fields(&e),
                        "customer_storage_pointer.type,customer_storage_pointer.bucket");
    api_error_clear(&e);
    api_validate_pw_create(parse("[1]"), &e);
    assert_int_equal(e.http, 400);
    api_error_clear(&e);
}

static void length_caps(void **state)
{
    char body[4096];
    char title[256], id[600];
    api_error e = {0};

    (void)state;
    memset(title, 'x', 200);
    title[200] = '\0';
    snprintf(body, sizeof body, "{" CREATE_MIN ",\"title\":\"%s\"}", title);
    api_validate_pw_create(parse(body), &e);
    assert_int_equal(e.http, 0);
    title[200] = 'x';
    title[201] = '\0';
    snprintf(body, sizeof body, "{" CREATE_MIN ",\"title\":\"%s\"}", title);
    api_validate_pw_create(parse(body), &e);
    assert_string_equal(fields(&e), "title");
    api_error_clear(&e);
    /* 200 characters, not bytes: 200 x "é" (400 bytes) fits. */
    body[0] = '\0';
    {
        char t[512] = "";
        for (int i = 0; i < 200; i++)
            strcat(t, "\xc3\xa9");
        snprintf(body, sizeof body, "{" CREATE_MIN ",\"title\":\"%s\"}", t);
    }
    api_validate_pw_create(parse(body), &e);
    assert_int_equal(e.http, 0);
    memset(id, 'i', 513);
    id[513] = '\0';
    snprintf(body, sizeof body, "{" CREATE_MIN ",\"policy_version\":\"%s\"}", id);
    api_validate_pw_create(parse(body), &e);
    assert_string_equal(fields(&e), "policy_version");
    api_error_clear(&e);
    id[512] = '\0';
    snprintf(body, sizeof body, "{" CREATE_MIN ",\"policy_version\":\"%s\"}", id);
    api_validate_pw_create(parse(body), &e);
    assert_int_equal(e.http, 0);
    api_validate_pw_create(parse("{" CREATE_MIN ",\"title\":\"two\\nlines\"}"), &e);
    assert_string_equal(fields(&e), "title");
    api_error_clear(&e);
}

#define EVENT_MIN                                                                         \
    "\"schema_version\":\"kivo_private_worker_review_run_event.v1\",\"event_id\":\"e1\"," \
    "\"review_run_id\":\"rr_1\",\"customer_run_id\":\"c1\",\"worker_id\":\"wk\",\"sequence\":1"

#define COMPLETED_REST                                                                           \
    "\"gate_verdict\":\"needs_review\",\"safe_use_status\":\"needs_review\",\"claim_count\":18," \
    "\"unsupported_claim_count\":3,\"source_count\":1,\"source_hashes\":[" HASH "],"             \
    "\"output_hash\":" HASH ",\"redacted_failure_categories\":[\"unsupported_policy_claim\"],"   \
    "\"artifact_summaries\":[{\"artifact_name\":\"claim_report\",\"artifact_type\":"             \
    "\"claim_report\",\"format\":\"json\",\"sha256\":" HASH ",\"file_count\":1,"                 \
    "\"storage_label\":\"Customer report store\"}]"

static void events(void **state)
{
    api_error e = {0};

    (void)state;
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"started\"}"), &e);
    assert_int_equal(e.http, 0);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"completed\",\"status\":"
                                "\"completed\"," COMPLETED_REST "}"),
                          &e);
    assert_int_equal(e.http, 0);
    /* A completed event must carry its results. */
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"completed\"}"), &e);
    assert_int_equal(e.http, 400);
    assert_string_equal(fields(&e), "gate_verdict,safe_use_status,claim_count,"
                                    "unsupported_claim_count,source_count,source_hashes,"
                                    "output_hash,redacted_failure_categories,artifact_summaries");
    api_error_clear(&e);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"done\"}"), &e);
    assert_string_equal(fields(&e), "event_type");
    api_error_clear(&e);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"started\",\"status\":"
                                "\"completed\"}"),
                          &e);
    assert_string_equal(fields(&e), "status");
    api_error_clear(&e);
    api_validate_pw_event(parse("{\"schema_version\":\"kivo_private_worker_review_run_event.v1\","
                                "\"event_id\":\"e\",\"event_type\":\"progress\",\"review_run_id\":"
                                "\"r\",\"customer_run_id\":\"c\",\"worker_id\":\"w\","
                                "\"sequence\":0}"),
                          &e);
    assert_string_equal(fields(&e), "sequence");
    api_error_clear(&e);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"progress\",\"claim_count\":2,"
                                "\"unsupported_claim_count\":3}"),
                          &e);
    assert_string_equal(fields(&e), "unsupported_claim_count");
    api_error_clear(&e);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"progress\","
                                "\"redacted_failure_categories\":[\"made_up\",\"no_sources\","
                                "\"no_sources\"]}"),
                          &e);
    assert_string_equal(fields(&e), "redacted_failure_categories[0],"
                                    "redacted_failure_categories[2]");
    api_error_clear(&e);
    api_validate_pw_event(parse("{" EVENT_MIN ",\"event_type\":\"progress\",\"artifact_summaries\":"
                                "[{\"artifact_name\":\"a\",\"artifact_type\":\"t\","
                                "\"format\":\"f\","
                                "\"sha256\":\"nope\",\"file_count\":1,\"path\":\"/x\"}]}"),
                          &e);
    assert_string_equal(fields(&e), "artifact_summaries[0].sha256,artifact_summaries[0].path");
    api_error_clear(&e);
}

static void raw_fields_at_any_depth(void **state)
{
    api_error e = {0};
    const kivo_json_node *root;

    (void)state;
    root = parse("{\"prompt\":\"p\",\"a\":{\"b\":[1,{\"source_text\":\"s\"}]},\"tool_calls\":[],"
                 "\"ok\":{\"messages_count\":1},\"x\":[[{\"embeddings\":null}]]}");
    assert_int_equal(api_scan_raw_fields(root, &e), 4);
    assert_int_equal(e.http, 422);
    assert_string_equal(e.code, "raw_fields_rejected");
    assert_string_equal(fields(&e), "prompt,a.b[1].source_text,tool_calls,x[0][0].embeddings");
    assert_int_equal(json_array_size(e.rejected), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e.rejected, 0), "use_instead")),
        "prompt_version or policy_version");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(e.rejected, 1), "use_instead")),
        "source_count and source_hashes");
    api_error_clear(&e);
    /* Values are not keys: a string "prompt" is fine. */
    assert_int_equal(api_scan_raw_fields(parse("{\"title\":\"prompt\",\"l\":[\"messages\"]}"), &e),
                     0);
    assert_int_equal(e.http, 0);
}

static void hosted(void **state)
{
    api_error e = {0};

    (void)state;
    api_validate_hosted_create(parse("{\"schema_version\":\"kivo_review_run_create.v1\","
                                     "\"customer_run_id\":\"h\",\"workflow_id\":\"w\",\"output\":"
                                     "\"x\",\"sources\":[{\"source_id\":\"s1\",\"title\":\"t\","
                                     "\"text\":\"y\"}],\"metadata\":{\"team\":\"a\",\"n\":1}}"),
                               &e);
    assert_int_equal(e.http, 0);
    api_validate_hosted_create(parse("{\"schema_version\":\"kivo_review_run_create.v1\","
                                     "\"customer_run_id\":\"h\",\"workflow_id\":\"w\",\"output\":"
                                     "\"x\",\"sources\":[]}"),
                               &e);
    assert_string_equal(fields(&e), "sources");
    api_error_clear(&e);
    api_validate_hosted_create(parse("{\"schema_version\":\"kivo_review_run_create.v1\","
                                     "\"customer_run_id\":\"h\",\"workflow_id\":\"w\",\"output\":"
                                     "\"x\",\"sources\":[{\"source_id\":\"s\",\"text\":\"a\"},"
                                     "{\"source_id\":\"s\",\"text\":\"b\"}]}"),
                               &e);
    assert_string_equal(fields(&e), "sources[0].source_id");
    api_error_clear(&e);
    api_validate_hosted_create(parse("{\"schema_version\":\"kivo_review_run_create.v1\","
                                     "\"customer_run_id\":\"h\",\"workflow_id\":\"w\",\"output\":"
                                     "1,\"sources\":[{\"source_id\":\"s\"}],\"metadata\":"
                                     "{\"deep\":{}}}"),
                               &e);
    assert_string_equal(fields(&e), "output,sources[0].text,metadata.deep");
    api_error_clear(&e);
}

/* What the worker sends must pass: render a completed event with the engine's own renderer (an
 * empty storage label included) and validate it. */
static void engine_rendered_event_passes(void **state)
{
    static const kivo_source src[] = {{"s1", 2, "Policy", 6, "Refunds within 30 days.", 23}};
    kivo_packet packet = {
        "Refunds are available within 30 days.", 37, src, 1, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    kivo_run_meta meta = {"rr_0123",
                          "cust_1",
                          "flow",
                          "worker_1",
                          "kivo-private-worker.1",
                          "policy-1",
                          NULL,
                          KIVO_STRICT,
                          KIVO_USE_CUSTOMER_FACING,
                          NULL};
    kivo_engine *engine = NULL;
    kivo_hasher *hasher = NULL;
    const kivo_review *review = NULL;
    kivo_buf out;
    api_error e = {0};

    (void)state;
    kivo_buf_init(&out, 0);
    assert_int_equal(kivo_engine_create(&engine), KIVO_OK);
    assert_int_equal(kivo_hasher_create(&hasher), KIVO_OK);
    assert_int_equal(kivo_engine_review(engine, &packet, &review), KIVO_OK);
    kivo_wire_event ev = {KIVO_EVENT_COMPLETED, &meta, 3, review, 1, "sha256:" H64, NULL};
    assert_int_equal(kivo_wire_event_render(hasher, &ev, NULL, &out), KIVO_OK);
    api_validate_pw_event(parse(out.data), &e);
    assert_int_equal(e.http, 0);
    assert_int_equal(api_scan_raw_fields(parse(out.data), &e), 0);
    kivo_buf_free(&out);
    kivo_hasher_free(hasher);
    kivo_engine_free(engine);
}

/* Ids, names and labels refuse C0/C1 controls and the bidi formatting characters, which make a
 * string display in another order than it compares; other non-ASCII text passes. */
static void control_and_bidi_rejected(void **state)
{
    /* JSON escapes: the parser decodes them to the characters' UTF-8. */
    static const char *const bad[] = {"a\\u0001b", "a\\u007fb", "a\\u0085b", "a\\u0080b",
                                      "a\\u009fb", "a\\u061cb", "a\\u200eb", "a\\u200fb",
                                      "a\\u2028b", "a\\u2029b", "a\\u202ab", "a\\u202eb",
                                      "a\\u2066b", "a\\u2069b", NULL};
    static const char *const good[] = {"caf\\u00e9", "\\u05e9\\u05dc\\u05d5\\u05dd",
                                       "a\\u00a0b",  "a\\u2030b",
                                       "a\\u2065b",  "a\\u206ab",
                                       "a\\u201cb",  "\\ud83d\\ude00",
                                       NULL};
    char body[512];
    api_error e = {0};

    (void)state;
    for (int i = 0; bad[i]; i++) {
        snprintf(body, sizeof body, "{" CREATE_MIN ",\"policy_version\":\"%s\"}", bad[i]);
        api_validate_pw_create(parse(body), &e);
        assert_int_equal(e.http, 400);
        assert_string_equal(fields(&e), "policy_version");
        api_error_clear(&e);
        snprintf(body, sizeof body, "{" CREATE_MIN ",\"title\":\"%s\"}", bad[i]);
        api_validate_pw_create(parse(body), &e);
        assert_string_equal(fields(&e), "title");
        api_error_clear(&e);
    }
    for (int i = 0; good[i]; i++) {
        snprintf(body, sizeof body, "{" CREATE_MIN ",\"policy_version\":\"%s\"}", good[i]);
        api_validate_pw_create(parse(body), &e);
        assert_int_equal(e.http, 0);
        api_error_clear(&e);
    }
}

/* A field name over 120 bytes is cut in the error on a character boundary: the error body must
 * stay valid UTF-8 (a cut inside "\u00e9" made the answer a 500). Nested long names are cut
 * again at the path limit, also on a boundary. */
static void long_field_names_cut_on_characters(void **state)
{
    char body[4096], key[400];
    api_error e = {0};
    json_t *j;

    (void)state;
    for (size_t pad = 117; pad <= 121; pad++) {
        memset(key, 'a', pad);
        strcpy(key + pad, "\u00e9\u00e9");
        snprintf(body, sizeof body, "{" CREATE_MIN ",\"%s\":1}", key);
        api_validate_pw_create(parse(body), &e);
        assert_int_equal(e.http, 400);
        j = api_error_json(&e);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(json_object_get(j, "error"), "fields")),
                         1);
        assert_true(strlen(fields(&e)) <= 120);
        json_decref(j);
        api_error_clear(&e);
    }
    /* Three levels of 2-byte-character names: the path passes 256 bytes. */
    for (size_t pad = 0; pad < 3; pad++) {
        char name[300];
        size_t o = 0;
        memset(name, 'b', pad);
        o = pad;
        for (int i = 0; i < 60; i++)
            o += (size_t)snprintf(name + o, sizeof name - o, "\u00e9");
        snprintf(body, sizeof body,
                 "{" CREATE_MIN ",\"customer_storage_pointer\":"
                 "{\"type\":\"customer_owned\",\"opaque_id\":\"x\","
                 "\"%s\":{\"%s\":1}}}",
                 name, name);
        api_validate_pw_create(parse(body), &e);
        assert_int_equal(e.http, 400);
        j = api_error_json(&e);
        assert_non_null(j);
        json_decref(j);
        api_error_clear(&e);
    }
    assert_int_equal(api_utf8_cut("ab\xc3\xa9", 4, 3), 2);
    assert_int_equal(api_utf8_cut("ab\xc3\xa9", 4, 4), 4);
    assert_int_equal(api_utf8_cut("\xe2\x80\xae", 3, 2), 0);
    assert_int_equal(api_utf8_cut("abc", 3, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_product_page_body_passes),
        cmocka_unit_test(create_schema_violations),
        cmocka_unit_test(length_caps),
        cmocka_unit_test(events),
        cmocka_unit_test(raw_fields_at_any_depth),
        cmocka_unit_test(hosted),
        cmocka_unit_test(engine_rendered_event_passes),
        cmocka_unit_test(control_and_bidi_rejected),
        cmocka_unit_test(long_field_names_cut_on_characters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
