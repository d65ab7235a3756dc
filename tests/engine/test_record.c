/*
 * test_record.c - reading records through JSON Pointers (record.c): string and object sources,
 * generated ids, custom pointers, structured sources flattened to exact text, and the schema
 * errors that must name their field.
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
#include "kivo/record.h"

static const kivo_fields default_fields = {"/customer_run_id", "/output", "/sources", "/id",
                                           "/title",           "/text"};

typedef struct fixture {
    kivo_json_parser *parser;
    kivo_record_reader *reader;
    char *buf;
    kivo_buf flat;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || kivo_json_parser_create(64, &f->parser) != KIVO_OK ||
        kivo_record_reader_create(&default_fields, &f->reader) != KIVO_OK)
        return -1;
    kivo_buf_init(&f->flat, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kivo_record_reader_free(f->reader);
    kivo_json_parser_free(f->parser);
    kivo_buf_free(&f->flat);
    free(f->buf);
    free(f);
    return 0;
}

/* Parses s (the tree stays valid until the next call) and returns its root. */
static const kivo_json_node *doc(fixture *f, const char *s)
{
    size_t len = strlen(s);
    const kivo_json_node *root = NULL;
    free(f->buf);
    f->buf = malloc(len + KIVO_JSON_PADDING);
    assert_non_null(f->buf);
    memcpy(f->buf, s, len);
    memset(f->buf + len, 0, KIVO_JSON_PADDING);
    kivo_status st = kivo_json_parse(f->parser, f->buf, len, len + KIVO_JSON_PADDING, 0, &root);
    if (st != KIVO_OK)
        fail_msg("test input does not parse: %s", kivo_json_parser_error(f->parser));
    return root;
}

static kivo_status extract(fixture *f, const char *s, kivo_record *rec, const char **why)
{
    return kivo_record_extract(f->reader, doc(f, s), rec, why);
}

static void assert_bytes(const char *got, size_t got_len, const char *want)
{
    if (got_len != strlen(want) || (got_len && memcmp(got, want, got_len) != 0))
        fail_msg("got \"%.*s\" (%zu bytes), want \"%s\"", (int)got_len, got ? got : "", got_len,
                 want);
}

static const char *flatten(fixture *f, const char *s)
{
    kivo_buf_reset(&f->flat);
    assert_int_equal(kivo_json_flatten(doc(f, s), &f->flat), KIVO_OK);
    return f->flat.data ? f->flat.data : "";
}

static void test_object_sources(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why = "unset";
    assert_int_equal(extract(f,
                             "{\"customer_run_id\":\"run-1\",\"channel\":\"email\","
                             "\"output\":\"Refunds take 5 days.\",\"sources\":["
                             "{\"id\":\"kb-1\",\"title\":\"Refund Policy\",\"text\":\"Refunds "
                             "take 5 to 7 days.\"},"
                             "{\"id\":\"kb-2\",\"text\":\"Second.\",\"extra\":1}]}",
                             &rec, &why),
                     KIVO_OK);
    assert_null(why);
    assert_string_equal(rec.customer_run_id, "run-1");
    assert_int_equal(rec.customer_run_id_len, 5);
    assert_bytes(rec.output, rec.output_len, "Refunds take 5 days.");
    assert_int_equal(rec.n_sources, 2);
    assert_bytes(rec.sources[0].id, rec.sources[0].id_len, "kb-1");
    assert_bytes(rec.sources[0].title, rec.sources[0].title_len, "Refund Policy");
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "Refunds take 5 to 7 days.");
    assert_bytes(rec.sources[1].id, rec.sources[1].id_len, "kb-2");
    assert_null(rec.sources[1].title); /* no title: NULL, not "" */
    assert_bytes(rec.sources[1].text, rec.sources[1].text_len, "Second.");
}

static void test_string_sources_and_generated_ids(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why;
    assert_int_equal(extract(f,
                             "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":["
                             "\"first text\",{\"text\":\"no id\"},{\"id\":7,\"text\":\"n\"},"
                             "{\"id\":\"\",\"text\":\"empty id\"},\"escaped \\\"q\\\"\"]}",
                             &rec, &why),
                     KIVO_OK);
    assert_int_equal(rec.n_sources, 5);
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "first text");
    assert_bytes(rec.sources[0].id, rec.sources[0].id_len, "source_1");
    assert_null(rec.sources[0].title);
    assert_bytes(rec.sources[1].id, rec.sources[1].id_len, "source_2");
    assert_bytes(rec.sources[2].id, rec.sources[2].id_len, "7"); /* a number as written */
    assert_bytes(rec.sources[3].id, rec.sources[3].id_len, "source_4");
    assert_bytes(rec.sources[4].text, rec.sources[4].text_len, "escaped \"q\"");
    assert_bytes(rec.sources[4].id, rec.sources[4].id_len, "source_5");

    /* A lone source not wrapped in an array. */
    assert_int_equal(
        extract(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":\"only\"}", &rec, &why),
        KIVO_OK);
    assert_int_equal(rec.n_sources, 1);
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "only");
}

static void test_no_sources(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why;
    /* Missing, null or empty sources: a record with no sources (reviewed as no_sources). */
    assert_int_equal(extract(f, "{\"customer_run_id\":\"r\",\"output\":\"o\"}", &rec, &why),
                     KIVO_OK);
    assert_int_equal(rec.n_sources, 0);
    assert_int_equal(
        extract(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":null}", &rec, &why),
        KIVO_OK);
    assert_int_equal(rec.n_sources, 0);
    assert_int_equal(
        extract(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":[]}", &rec, &why),
        KIVO_OK);
    assert_int_equal(rec.n_sources, 0);
    /* An empty output is a record too (reviewed as empty_output). */
    assert_int_equal(
        extract(f, "{\"customer_run_id\":\"r\",\"output\":\"\",\"sources\":[]}", &rec, &why),
        KIVO_OK);
    assert_int_equal(rec.output_len, 0);
}

static void expect_schema(fixture *f, const char *json, const char *const *needles)
{
    kivo_record rec;
    const char *why = NULL;
    kivo_status st = extract(f, json, &rec, &why);
    if (st != KIVO_ESCHEMA)
        fail_msg("%s: got %s, want a schema error", json, kivo_status_str(st));
    assert_non_null(why);
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(why, needles[i]))
            fail_msg("%s: message \"%s\" does not name \"%s\"", json, why, needles[i]);
}

static void test_schema_errors(void **state)
{
    fixture *f = *state;
    expect_schema(f, "{\"output\":\"o\",\"sources\":[]}",
                  (const char *const[]){"customer_run_id", "/customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"sources\":[]}",
                  (const char *const[]){"output", "/output", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":null}",
                  (const char *const[]){"output", "null", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":[\"a\"]}",
                  (const char *const[]){"output", "array", NULL});
    expect_schema(f, "{\"customer_run_id\":\"\",\"output\":\"o\"}",
                  (const char *const[]){"customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":null,\"output\":\"o\"}",
                  (const char *const[]){"customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":{\"a\":1},\"output\":\"o\"}",
                  (const char *const[]){"customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":1.5,\"output\":\"o\"}",
                  (const char *const[]){"customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":\"a\\u0000b\",\"output\":\"o\"}",
                  (const char *const[]){"customer_run_id", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":5}",
                  (const char *const[]){"sources", "/sources", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":[\"a\",5]}",
                  (const char *const[]){"source 2", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":[{\"id\":\"x\"}]}",
                  (const char *const[]){"source 1", "source_text", "/text", NULL});
    expect_schema(f, "{\"customer_run_id\":\"r\",\"output\":\"o\",\"sources\":[{\"text\":null}]}",
                  (const char *const[]){"source_text", NULL});
    expect_schema(f, "[1,2]", (const char *const[]){"object", NULL});
    expect_schema(f, "\"just a string\"", (const char *const[]){"object", NULL});
}

static void test_run_id_limits(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why;
    char json[1200], id[KIVO_RUN_ID_MAX + 2];
    memset(id, 'r', sizeof id);
    id[KIVO_RUN_ID_MAX] = '\0';
    snprintf(json, sizeof json, "{\"customer_run_id\":\"%s\",\"output\":\"o\"}", id);
    assert_int_equal(extract(f, json, &rec, &why), KIVO_OK);
    assert_int_equal(rec.customer_run_id_len, KIVO_RUN_ID_MAX);
    assert_string_equal(rec.customer_run_id, id);
    id[KIVO_RUN_ID_MAX] = 'r';
    id[KIVO_RUN_ID_MAX + 1] = '\0';
    snprintf(json, sizeof json, "{\"customer_run_id\":\"%s\",\"output\":\"o\"}", id);
    expect_schema(f, json, (const char *const[]){"customer_run_id", "512", NULL});

    /* An integer run id is taken as written; ids keep their exact bytes, path characters too. */
    assert_int_equal(extract(f, "{\"customer_run_id\":42,\"output\":\"o\"}", &rec, &why), KIVO_OK);
    assert_string_equal(rec.customer_run_id, "42");
    assert_int_equal(extract(f, "{\"customer_run_id\":\"../../x\",\"output\":\"o\"}", &rec, &why),
                     KIVO_OK);
    assert_string_equal(rec.customer_run_id, "../../x");
    assert_int_equal(extract(f, "{\"customer_run_id\":\"Zo\\u00eb\",\"output\":\"o\"}", &rec, &why),
                     KIVO_OK);
    assert_string_equal(rec.customer_run_id, "Zo\xc3\xab");
}

static void test_custom_pointers(void **state)
{
    (void)state;
    kivo_fields fl = {"/meta/run~1id", "/data/answer/0", "/data/docs", "/meta/name", "", "/body"};
    kivo_record_reader *r = NULL;
    kivo_json_parser *p = NULL;
    assert_int_equal(kivo_record_reader_create(&fl, &r), KIVO_OK);
    assert_int_equal(kivo_json_parser_create(64, &p), KIVO_OK);
    const char *s = "{\"meta\":{\"run/id\":\"x-9\"},\"data\":{\"answer\":[\"The answer.\",\"no\"],"
                    "\"docs\":[{\"meta\":{\"name\":\"d1\"},\"body\":\"Doc one.\"}]}}";
    size_t len = strlen(s);
    char *buf = calloc(1, len + KIVO_JSON_PADDING);
    assert_non_null(buf);
    memcpy(buf, s, len);
    const kivo_json_node *root;
    assert_int_equal(kivo_json_parse(p, buf, len, len + KIVO_JSON_PADDING, 0, &root), KIVO_OK);
    kivo_record rec;
    const char *why;
    assert_int_equal(kivo_record_extract(r, root, &rec, &why), KIVO_OK);
    assert_string_equal(rec.customer_run_id, "x-9");
    assert_bytes(rec.output, rec.output_len, "The answer.");
    assert_int_equal(rec.n_sources, 1);
    assert_bytes(rec.sources[0].id, rec.sources[0].id_len, "d1");
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "Doc one.");
    /* The title pointer "" names the element itself, an object: not a string title. */
    assert_null(rec.sources[0].title);
    free(buf);
    kivo_json_parser_free(p);
    kivo_record_reader_free(r);

    /* A pointer that is neither "" nor starts with '/' is refused at create. */
    kivo_fields bad = default_fields;
    bad.output = "output";
    r = (kivo_record_reader *)1;
    assert_int_equal(kivo_record_reader_create(&bad, &r), KIVO_EINVAL);
    bad = default_fields;
    bad.source_text = NULL;
    assert_int_equal(kivo_record_reader_create(&bad, &r), KIVO_EINVAL);
    kivo_record_reader_free(NULL);
}

static void test_flatten_exact(void **state)
{
    fixture *f = *state;
    assert_string_equal(
        flatten(f, "{\"name\":\"Lumen Home Store\",\"hours\":{\"mon\":\"9-17\",\"sun\":\"closed\"},"
                   "\"rating\":4.5,\"accepts_returns\":true,\"parking\":false,\"note\":null,"
                   "\"services\":[\"repair\",\"pickup\"],\"nested\":[{\"a\":1},[2,3.50]],"
                   "\"empty\":{},\"none\":[]}"),
        "name: Lumen Home Store\n"
        "hours.mon: 9-17\n"
        "hours.sun: closed\n"
        "rating: 4.5\n"
        "accepts_returns: true\n"
        "parking: false\n"
        "note: null\n"
        "services.1: repair\n"
        "services.2: pickup\n"
        "nested.1.a: 1\n"
        "nested.2.1: 2\n"
        "nested.2.2: 3.50\n");
    /* The example in docs/engine.md, "What is hashed". */
    assert_string_equal(flatten(f, "{\"hours\":{\"mon\":\"9-17\"},\"rating\":4.5}"),
                        "hours.mon: 9-17\nrating: 4.5\n");
    /* Members in input order, not sorted; numbers exactly as written, spaces around them not. */
    assert_string_equal(flatten(f, "{ \"z\" : 1e3 , \"a\" : -0.0 }"), "z: 1e3\na: -0.0\n");
    /* Keys and values unescaped. */
    assert_string_equal(flatten(f, "{\"k\\u00e9y\":\"line\\nbreak\",\"q\\\"\":\"\\u20ac\"}"),
                        "k\xc3\xa9y: line\nbreak\nq\": \xe2\x82\xac\n");
    /* Top-level arrays count from 1; scalars flatten to themselves with no newline. */
    assert_string_equal(flatten(f, "[\"a\",[\"b\"]]"), "1: a\n2.1: b\n");
    assert_string_equal(flatten(f, "\"plain\""), "plain");
    assert_string_equal(flatten(f, "true"), "true");
    assert_string_equal(flatten(f, "null"), "null");
    assert_string_equal(flatten(f, "{}"), "");
    assert_string_equal(flatten(f, "[]"), "");
    /* Appends: what was in the buffer stays. */
    kivo_buf_reset(&f->flat);
    assert_int_equal(kivo_buf_append_str(&f->flat, "pre|"), KIVO_OK);
    assert_int_equal(kivo_json_flatten(doc(f, "{\"a\":1}"), &f->flat), KIVO_OK);
    assert_string_equal(f->flat.data, "pre|a: 1\n");
}

static void test_structured_sources(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why;
    /* Several structured sources, big enough that the shared flat buffer has to move while it
     * grows: every text must still be right afterwards. */
    char json[20000];
    size_t k = 0;
    k += (size_t)snprintf(json + k, sizeof json - k,
                          "{\"customer_run_id\":\"s\",\"output\":\"o\",\"sources\":[");
    for (int s = 0; s < 4; s++) {
        k += (size_t)snprintf(json + k, sizeof json - k, "%s{\"id\":\"rec-%d\",\"text\":{",
                              s ? "," : "", s);
        for (int i = 0; i < 60; i++)
            k += (size_t)snprintf(json + k, sizeof json - k, "%s\"field_%02d\":\"value %d.%d\"",
                                  i ? "," : "", i, s, i);
        k += (size_t)snprintf(json + k, sizeof json - k, "}}");
        if (s == 1)
            k += (size_t)snprintf(json + k, sizeof json - k, ",\"a plain one\"");
    }
    k += (size_t)snprintf(json + k, sizeof json - k, "]}");
    assert_true(k < sizeof json - 1);
    assert_int_equal(extract(f, json, &rec, &why), KIVO_OK);
    assert_int_equal(rec.n_sources, 5);
    int s = 0;
    for (size_t i = 0; i < rec.n_sources; i++) {
        if (i == 2) {
            assert_bytes(rec.sources[i].text, rec.sources[i].text_len, "a plain one");
            continue;
        }
        char want[4000], id[16];
        size_t w = 0;
        for (int j = 0; j < 60; j++)
            w += (size_t)snprintf(want + w, sizeof want - w, "field_%02d: value %d.%d\n", j, s, j);
        snprintf(id, sizeof id, "rec-%d", s);
        assert_bytes(rec.sources[i].id, rec.sources[i].id_len, id);
        assert_bytes(rec.sources[i].text, rec.sources[i].text_len, want);
        s++;
    }

    /* A structured source that is an array, and one with nothing in it. */
    assert_int_equal(extract(f,
                             "{\"customer_run_id\":\"s\",\"output\":\"o\",\"sources\":["
                             "{\"id\":\"a\",\"text\":[\"x\",{\"y\":2}]},"
                             "{\"id\":\"b\",\"text\":{}},"
                             "{\"id\":\"c\",\"text\":12}]}",
                             &rec, &why),
                     KIVO_OK);
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "1: x\n2.y: 2\n");
    assert_int_equal(rec.sources[1].text_len, 0);
    assert_bytes(rec.sources[2].text, rec.sources[2].text_len, "12");
}

/* The reader is reused record after record: nothing of the last one leaks into the next. */
static void test_reuse(void **state)
{
    fixture *f = *state;
    kivo_record rec;
    const char *why;
    assert_int_equal(extract(f,
                             "{\"customer_run_id\":\"long-run-id-1\",\"output\":\"o\","
                             "\"sources\":"
                             "[\"a\",\"b\",\"c\",{\"text\":{\"k\":\"v\"}}]}",
                             &rec, &why),
                     KIVO_OK);
    assert_int_equal(rec.n_sources, 4);
    assert_bytes(rec.sources[3].text, rec.sources[3].text_len, "k: v\n");
    expect_schema(f, "{\"output\":\"o\"}", (const char *const[]){"customer_run_id", NULL});
    assert_int_equal(extract(f,
                             "{\"customer_run_id\":\"r2\",\"output\":\"p\",\"sources\":"
                             "[{\"text\":{\"q\":1}}]}",
                             &rec, &why),
                     KIVO_OK);
    assert_string_equal(rec.customer_run_id, "r2");
    assert_int_equal(rec.n_sources, 1);
    assert_bytes(rec.sources[0].text, rec.sources[0].text_len, "q: 1\n");
    assert_bytes(rec.sources[0].id, rec.sources[0].id_len, "source_1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_object_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_sources_and_generated_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_id_limits, setup, teardown),
        cmocka_unit_test(test_custom_pointers),
        cmocka_unit_test_setup_teardown(test_flatten_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structured_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
