/*
 * test_jobspec.c - loading kivo_worker_job_spec.v1 (jobspec.c): defaults, paths relative to the
 * spec's folder, and every way a spec can be wrong, each with a message naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"
#include "jobspec.h"
#include "kivo/json.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("jobspec");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kt_scratch_remove(dir);
    dir = NULL;
    return 0;
}

static const char *write_spec(const char *name, const char *text)
{
    return kt_scratch_write(dir, name, text, strlen(text));
}

#define MINIMAL                                                              \
    "\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\"," \
    "\"inputs\":[\"traces/*.jsonl\"]"

static void test_full_spec(void **state)
{
    (void)state;
    wk_jobspec s;
    char err[512] = "";
    const char *path = write_spec(
        "spec.json",
        "{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"support_answer_review\","
        "\"workflow_name\":\"Support answer review\",\"intended_use\":\"internal\","
        "\"strictness\":\"lenient\",\"policy_version\":\"standard-support-v1\","
        "\"worker_id\":\"worker_support_001\",\"inputs\":[\"a/*.jsonl\",\"b.jsonl\"],"
        "\"fields\":{\"customer_run_id\":\"/id\",\"output\":\"/answer\",\"sources\":\"/ctx\","
        "\"source_id\":\"/sid\",\"source_title\":\"/t\",\"source_text\":\"/body\"},"
        "\"report_store\":{\"path\":\"./out\",\"label\":\"My store\"},"
        "\"limits\":{\"max_line_bytes\":4096}}");
    assert_int_equal(wk_jobspec_load(path, &s, err, sizeof err), 0);
    assert_string_equal(s.dir, dir);
    assert_string_equal(s.workflow_id, "support_answer_review");
    assert_string_equal(s.workflow_name, "Support answer review");
    assert_string_equal(s.policy_version, "standard-support-v1");
    assert_string_equal(s.worker_id, "worker_support_001");
    assert_int_equal(s.strictness, KIVO_LENIENT);
    assert_int_equal(s.intended_use, KIVO_USE_INTERNAL);
    assert_int_equal(s.n_inputs, 2);
    assert_string_equal(s.inputs[0], "a/*.jsonl");
    assert_string_equal(s.inputs[1], "b.jsonl");
    assert_string_equal(s.fields.customer_run_id, "/id");
    assert_string_equal(s.fields.output, "/answer");
    assert_string_equal(s.fields.sources, "/ctx");
    assert_string_equal(s.fields.source_id, "/sid");
    assert_string_equal(s.fields.source_title, "/t");
    assert_string_equal(s.fields.source_text, "/body");
    char want[300];
    snprintf(want, sizeof want, "%s/./out", dir);
    assert_string_equal(s.report_path, want);
    assert_string_equal(s.report_label, "My store");
    assert_int_equal(s.max_line_bytes, 4096);
    wk_jobspec_free(&s);
    wk_jobspec_free(&s); /* freeing twice is harmless: free zeroes the spec */
}

static void test_defaults(void **state)
{
    (void)state;
    wk_jobspec s;
    char err[512] = "";
    const char *path = write_spec("min.json", "{" MINIMAL "}");
    assert_int_equal(wk_jobspec_load(path, &s, err, sizeof err), 0);
    assert_null(s.workflow_name);
    assert_null(s.policy_version);
    assert_string_equal(s.worker_id, "kivo-worker");
    assert_int_equal(s.strictness, KIVO_STANDARD);
    assert_int_equal(s.intended_use, KIVO_USE_CUSTOMER_FACING);
    assert_string_equal(s.fields.customer_run_id, "/customer_run_id");
    assert_string_equal(s.fields.output, "/output");
    assert_string_equal(s.fields.sources, "/sources");
    assert_string_equal(s.fields.source_id, "/id");
    assert_string_equal(s.fields.source_title, "/title");
    assert_string_equal(s.fields.source_text, "/text");
    char want[300];
    snprintf(want, sizeof want, "%s/kivo-reports", dir);
    assert_string_equal(s.report_path, want);
    assert_string_equal(s.report_label, "Customer report store");
    assert_int_equal(s.max_line_bytes, 8u << 20); /* safe on 64 cores (issue 12) */
    wk_jobspec_free(&s);

    /* inputs may be one string; an absolute report path stays as it is; "" is a pointer. */
    path = write_spec("str.json",
                      "{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\","
                      "\"inputs\":\"one.jsonl\",\"report_store\":{\"path\":\"/abs/reports\"},"
                      "\"fields\":{\"source_text\":\"\"}}");
    assert_int_equal(wk_jobspec_load(path, &s, err, sizeof err), 0);
    assert_int_equal(s.n_inputs, 1);
    assert_string_equal(s.inputs[0], "one.jsonl");
    assert_string_equal(s.report_path, "/abs/reports");
    assert_string_equal(s.fields.source_text, "");
    wk_jobspec_free(&s);
}

/* Loads a bad spec: it must fail with a message holding every needle. */
static void bad(const char *text, const char *const *needles)
{
    wk_jobspec s;
    char err[512] = "";
    const char *path = write_spec("bad.json", text);
    if (wk_jobspec_load(path, &s, err, sizeof err) == 0)
        fail_msg("spec loaded but should not: %s", text);
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(err, needles[i]))
            fail_msg("message \"%s\" does not name \"%s\" (spec %s)", err, needles[i], text);
    assert_null(s.workflow_id); /* nothing half-loaded left behind */
}

#define N(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_bad_specs(void **state)
{
    (void)state;
    bad("{" MINIMAL ",\"inptus\":[]}", N("unknown field", "inptus"));
    bad("{" MINIMAL ",\"fields\":{\"outptu\":\"/o\"}}", N("unknown field", "fields.outptu"));
    bad("{" MINIMAL ",\"report_store\":{\"pth\":\"x\"}}", N("report_store.pth"));
    bad("{" MINIMAL ",\"limits\":{\"max_bytes\":1}}", N("limits.max_bytes"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\"}", N("inputs"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\",\"inputs\":[]}",
        N("inputs"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\",\"inputs\":[1]}",
        N("inputs"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"wf\",\"inputs\":[\"\"]}",
        N("inputs"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v2\",\"workflow_id\":\"wf\","
        "\"inputs\":[\"a\"]}",
        N("schema_version", "kivo_worker_job_spec.v1"));
    bad("{\"workflow_id\":\"wf\",\"inputs\":[\"a\"]}", N("schema_version"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"inputs\":[\"a\"]}", N("workflow_id"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"\",\"inputs\":[\"a\"]}",
        N("workflow_id"));
    bad("{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":7,\"inputs\":[\"a\"]}",
        N("workflow_id"));
    bad("{" MINIMAL ",\"strictness\":\"very\"}", N("strictness"));
    bad("{" MINIMAL ",\"intended_use\":\"public\"}", N("intended_use"));
    bad("{" MINIMAL ",\"fields\":{\"output\":\"output\"}}", N("fields.output"));
    bad("{" MINIMAL ",\"fields\":{\"sources\":5}}", N("fields.sources"));
    bad("{" MINIMAL ",\"fields\":[]}", N("fields"));
    bad("{" MINIMAL ",\"report_store\":\"x\"}", N("report_store"));
    bad("{" MINIMAL ",\"limits\":{\"max_line_bytes\":1023}}", N("limits.max_line_bytes"));
    bad("{" MINIMAL ",\"limits\":{\"max_line_bytes\":\"big\"}}", N("limits.max_line_bytes"));
    bad("{" MINIMAL ",\"limits\":{\"max_line_bytes\":1.5e3}}", N("limits.max_line_bytes"));
    bad("{" MINIMAL ",\"limits\":[]}", N("limits"));
    bad("{" MINIMAL ",\"workflow_id\":\"again\"}", N("duplicate", "workflow_id"));
    bad("[" MINIMAL "]", N("job spec"));
    bad("{" MINIMAL, N("not valid JSON"));
    bad("", N("not valid JSON"));
    bad("{" MINIMAL ",\"workflow_name\":\"\xff\"}", N("not valid JSON"));

    /* A 513-byte workflow id is over the 512-byte cap of ids. */
    char big[1200], id[514];
    memset(id, 'w', 513);
    id[513] = '\0';
    snprintf(big, sizeof big,
             "{\"schema_version\":\"kivo_worker_job_spec.v1\",\"workflow_id\":\"%s\","
             "\"inputs\":[\"a\"]}",
             id);
    bad(big, N("workflow_id", "512"));
}

/* batch_id (issue 15): "default" unless set; [A-Za-z0-9._:-]{1,128}; --batch-id replaces it;
 * reports, events and create bodies always carry it, "default" included. */
static void test_batch_id(void **state)
{
    (void)state;
    wk_jobspec s;
    char err[512] = "";
    assert_int_equal(wk_jobspec_load(write_spec("b0.json", "{" MINIMAL "}"), &s, err, sizeof err),
                     0);
    assert_string_equal(s.batch_id, "default");
    assert_string_equal(wk_jobspec_batch(&s), "default");
    assert_int_equal(wk_jobspec_set_batch(&s, "release-2026.12:v8_a", err, sizeof err), 0);
    assert_string_equal(wk_jobspec_batch(&s), "release-2026.12:v8_a");
    assert_int_not_equal(wk_jobspec_set_batch(&s, "no spaces", err, sizeof err), 0);
    assert_non_null(strstr(err, "batch id"));
    assert_string_equal(s.batch_id, "release-2026.12:v8_a"); /* unchanged */
    wk_jobspec_free(&s);
    assert_int_equal(
        wk_jobspec_load(write_spec("b1.json", "{" MINIMAL ",\"batch_id\":\"nightly-7\"}"), &s, err,
                        sizeof err),
        0);
    assert_string_equal(wk_jobspec_batch(&s), "nightly-7");
    wk_jobspec_free(&s);
    char long_id[200];
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    static const char *const bad[] = {"\"\"", "\"a b\"", "\"a/b\"", "\"\u00e9\"", "7", "null-ish!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[400];
        snprintf(text, sizeof text, "{" MINIMAL ",\"batch_id\":%s}", bad[i]);
        if (strcmp(bad[i], "null-ish!") == 0)
            snprintf(text, sizeof text, "{" MINIMAL ",\"batch_id\":\"%s\"}", long_id);
        err[0] = '\0';
        if (wk_jobspec_load(write_spec("bb.json", text), &s, err, sizeof err) == 0)
            fail_msg("batch_id %s loaded", bad[i]);
        if (!strstr(err, "batch_id"))
            fail_msg("batch_id %s: %s", bad[i], err);
    }
    assert_true(wk_batch_id_valid("a"));
    assert_true(wk_batch_id_valid("A.b_c:d-9"));
    memset(long_id, 'a', 128);
    long_id[128] = '\0';
    assert_true(wk_batch_id_valid(long_id));
    assert_false(wk_batch_id_valid(""));
    assert_false(wk_batch_id_valid("a,b"));
}

static void test_unreadable(void **state)
{
    (void)state;
    wk_jobspec s;
    char err[512] = "", path[256];
    snprintf(path, sizeof path, "%s/does-not-exist.json", dir);
    assert_int_not_equal(wk_jobspec_load(path, &s, err, sizeof err), 0);
    assert_non_null(strstr(err, "does-not-exist.json"));
    assert_non_null(strstr(err, "No such file"));
    assert_int_not_equal(wk_jobspec_load(dir, &s, err, sizeof err), 0); /* a folder */
    assert_non_null(strstr(err, "cannot read job spec"));
}

static void test_helpers(void **state)
{
    (void)state;
    char *p = wk_path_join("/a/b", "c.jsonl");
    assert_string_equal(p, "/a/b/c.jsonl");
    free(p);
    p = wk_path_join("/a/b", "/abs/c");
    assert_string_equal(p, "/abs/c");
    free(p);
    p = wk_path_join("", "rel");
    assert_string_equal(p, "rel");
    free(p);
    p = wk_path_join(NULL, "rel");
    assert_string_equal(p, "rel");
    free(p);

    /* wk_read_file: the bytes, then KIVO_JSON_PADDING zero bytes. */
    const char *path = write_spec("data.bin", "hello");
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(wk_read_file(path, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    for (size_t i = 0; i < KIVO_JSON_PADDING; i++)
        assert_int_equal(data[5 + i], 0);
    free(data);
    path = write_spec("empty.bin", "");
    assert_int_equal(wk_read_file(path, &data, &len), 0);
    assert_int_equal(len, 0);
    free(data);
    assert_int_equal(wk_read_file(dir, &data, &len), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_specs), cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_batch_id),  cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
