/*
 * test_metadata.c - fields.metadata and fields.label (metadata.c): loading, the values read out
 * of a record, the label's accepted forms, and the splice into a rendered report, which leaves the
 * report's own bytes untouched and nothing at all without metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/json.h"
#include "metadata.h"

typedef struct fixture {
    kivo_json_parser *p;
    char buf[16384];
} fixture;

static const kivo_json_node *parse(fixture *f, const char *json)
{
    const kivo_json_node *root;
    size_t n = strlen(json);
    assert_true(n + KIVO_JSON_PADDING < sizeof f->buf);
    memset(f->buf, 0, sizeof f->buf);
    memcpy(f->buf, json, n);
    assert_int_equal(kivo_json_parse(f->p, f->buf, n, sizeof f->buf, 0, &root), KIVO_OK);
    return root;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || kivo_json_parser_create(64, &f->p) != KIVO_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kivo_json_parser_free(f->p);
    free(f);
    return 0;
}

static int load(fixture *f, const char *fields, wk_meta_spec *m, char *err, size_t errlen)
{
    /* A second parser: the spec and the record trees live side by side. */
    kivo_json_parser *p;
    const kivo_json_node *root;
    static char buf[4096];
    size_t n = strlen(fields);
    (void)f;
    memset(buf, 0, sizeof buf);
    memcpy(buf, fields, n);
    assert_int_equal(kivo_json_parser_create(16, &p), KIVO_OK);
    assert_int_equal(kivo_json_parse(p, buf, n, sizeof buf, 0, &root), KIVO_OK);
    int rc = wk_meta_spec_load(kivo_json_get(root, "metadata"), kivo_json_get(root, "label"), m,
                               err, errlen);
    kivo_json_parser_free(p);
    return rc;
}

static void test_load(void **state)
{
    fixture *f = *state;
    wk_meta_spec m;
    char err[512];
    assert_int_equal(load(f,
                          "{\"metadata\":{\"model\":\"/meta/model\",\"q\":\"/input\"},"
                          "\"label\":\"/label\"}",
                          &m, err, sizeof err),
                     0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.name[0], "model");
    assert_string_equal(m.pointer[1], "/input");
    assert_string_equal(m.label, "/label");
    assert_int_equal(wk_meta_find(&m, "q", 1), 1);
    assert_int_equal(wk_meta_find(&m, "qq", 2), -1);
    assert_true(wk_meta_active(&m));
    wk_meta_spec_free(&m);
    assert_int_equal(load(f, "{}", &m, err, sizeof err), 0);
    assert_false(wk_meta_active(&m));
    static const struct {
        const char *fields, *needle;
    } bad[] = {
        {"{\"metadata\":[]}", "fields.metadata"},
        {"{\"metadata\":{\"m\":\"x\"}}", "fields.metadata.m"},
        {"{\"metadata\":{\"m\":\"\"}}", "fields.metadata.m"},
        {"{\"metadata\":{\"m\":1}}", "fields.metadata.m"},
        {"{\"metadata\":{\"a b\":\"/x\"}}", "a b"},
        {"{\"metadata\":{\"\":\"/x\"}}", "name"},
        {"{\"label\":\"x\"}", "fields.label"},
        {"{\"label\":true}", "fields.label"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (load(f, bad[i].fields, &m, err, sizeof err) == 0)
            fail_msg("%s loaded", bad[i].fields);
        if (!strstr(err, bad[i].needle))
            fail_msg("%s: %s", bad[i].fields, err);
    }
}

static void test_label(void **state)
{
    fixture *f = *state;
    wk_meta_spec m;
    char err[256];
    static const struct {
        const char *value;
        wk_label want;
    } cases[] = {
        {"true", WK_LABEL_HALLUCINATED},
        {"false", WK_LABEL_FAITHFUL},
        {"\"hallucinated\"", WK_LABEL_HALLUCINATED},
        {"\"Faithful\"", WK_LABEL_FAITHFUL},
        {"\"FAIL\"", WK_LABEL_HALLUCINATED},
        {"\"pass\"", WK_LABEL_FAITHFUL},
        {"\"maybe\"", WK_LABEL_NONE},
        {"1", WK_LABEL_NONE},
        {"null", WK_LABEL_NONE},
        {"\"passed\"", WK_LABEL_NONE},
        {"[true]", WK_LABEL_NONE},
    };
    assert_int_equal(load(f, "{\"label\":\"/l\"}", &m, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rec[128];
        snprintf(rec, sizeof rec, "{\"l\":%s}", cases[i].value);
        if (wk_meta_label(&m, parse(f, rec)) != cases[i].want)
            fail_msg("label %s", cases[i].value);
    }
    assert_int_equal(wk_meta_label(&m, parse(f, "{}")), WK_LABEL_NONE);
    wk_meta_spec_free(&m);
}

static void test_splice(void **state)
{
    fixture *f = *state;
    wk_meta_spec m;
    char err[256];
    kivo_buf b;
    static const char report[] = "{\"schema_version\":\"kivo_claim_report.v1\",\"claims\":[]}\n";
    const kivo_json_node *rec = parse(f, "{\"meta\":{\"model\":\"gpt \\\"x\\\" <b>\",\"t\":0.70,"
                                         "\"n\":12,\"b\":false,\"o\":{\"k\":1},\"a\":[1],"
                                         "\"z\":null},\"gold\":\"fail\"}");
    kivo_buf_init(&b, 0);
    /* Nothing asked for: nothing changes. */
    assert_int_equal(load(f, "{}", &m, err, sizeof err), 0);
    assert_int_equal(kivo_buf_append_str(&b, "prefix"), KIVO_OK);
    assert_int_equal(kivo_buf_append_str(&b, report), KIVO_OK);
    assert_int_equal(wk_meta_splice(&m, rec, &b, 6), KIVO_OK);
    assert_string_equal(b.data,
                        "prefix{\"schema_version\":\"kivo_claim_report.v1\",\"claims\":[]}\n");
    wk_meta_spec_free(&m);

    assert_int_equal(load(f,
                          "{\"metadata\":{\"model\":\"/meta/model\",\"t\":\"/meta/t\","
                          "\"n\":\"/meta/n\",\"b\":\"/meta/b\",\"o\":\"/meta/o\","
                          "\"a\":\"/meta/a\",\"z\":\"/meta/z\",\"gone\":\"/nope\"},"
                          "\"label\":\"/gold\"}",
                          &m, err, sizeof err),
                     0);
    assert_int_equal(wk_meta_splice(&m, rec, &b, 6), KIVO_OK);
    assert_string_equal(b.data, "prefix{\"schema_version\":\"kivo_claim_report.v1\",\"claims\":[],"
                                "\"metadata\":{\"model\":\"gpt \\\"x\\\" <b>\",\"t\":0.70,"
                                "\"n\":12,\"b\":false,\"o\":null,\"a\":null,\"z\":null,"
                                "\"gone\":null},\"label\":\"hallucinated\"}\n");
    /* Group values: as written, NULL for no scalar. */
    size_t len;
    const char *v = wk_meta_value_text(&m, 1, rec, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(v, "0.70", 4);
    v = wk_meta_value_text(&m, 3, rec, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(v, "false", 5);
    assert_null(wk_meta_value_text(&m, 4, rec, &len));
    assert_null(wk_meta_value_text(&m, 7, rec, &len));
    /* Not a rendered report: refused, buffer unchanged. */
    kivo_buf_reset(&b);
    assert_int_equal(kivo_buf_append_str(&b, "{\"a\":1}"), KIVO_OK);
    assert_int_equal(wk_meta_splice(&m, rec, &b, 0), KIVO_EINVAL);
    assert_string_equal(b.data, "{\"a\":1}");
    wk_meta_spec_free(&m);
    kivo_buf_free(&b);
}

static void test_cap(void **state)
{
    fixture *f = *state;
    wk_meta_spec m;
    char err[256], *rec = malloc(12000);
    kivo_buf b;
    size_t n = 0;
    /* "é" is 2 bytes: 4095 bytes of them would split one; the value keeps 4094. */
    n += (size_t)sprintf(rec, "{\"v\":\"x");
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(rec + n, "\xC3\xA9");
    sprintf(rec + n, "\"}");
    assert_int_equal(load(f, "{\"metadata\":{\"v\":\"/v\"}}", &m, err, sizeof err), 0);
    const kivo_json_node *root = parse(f, rec);
    size_t len;
    assert_non_null(wk_meta_value_text(&m, 0, root, &len));
    assert_int_equal(len, 4095); /* "x" and 2047 two-byte characters */
    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_append_str(&b, "{}\n"), KIVO_OK);
    assert_int_equal(wk_meta_splice(&m, root, &b, 0), KIVO_OK);
    assert_int_equal(b.len, strlen("{\"metadata\":{\"v\":\"\"}}\n") + 4095);
    assert_memory_equal(b.data, "{\"metadata\":{\"v\":\"x\xC3\xA9", 20);
    kivo_buf_free(&b);
    wk_meta_spec_free(&m);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_label),
        cmocka_unit_test(test_splice),
        cmocka_unit_test(test_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
