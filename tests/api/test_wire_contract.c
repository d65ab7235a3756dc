/*
 * test_wire_contract.c - the worker's side and the server's side of the wire cannot drift.
 *
 * 1. Every body kivo-api validates is built here from the wire's field tables alone (every member
 *    with a valid value of its kind, and with only the required ones) and must pass the server's
 *    validator; then, for every member at every depth, mutated bodies must fail naming exactly
 *    that member: a required one removed, a value of the wrong JSON type, one past its cap, a
 *    value not in its set, an unknown member beside it, a raw field inside it.
 * 2. Every body the worker sends, rendered by the wire's own renderers (started, progress,
 *    completed and failed events, full and minimal creates), must pass the same validator.
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

#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/review.h"
#include "kivo/wire.h"

#include "validate.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef void (*validator)(const kivo_json_node *root, api_error *e);

/* A top-level body and the validator the server runs on it. */
typedef struct top {
    const kivo_wire_body *body;
    validator validate;
    int private_worker;     /* raw fields are refused (422) */
    const char *event_type; /* events: the type to build (the status follows it) */
} top;

static kivo_json_parser *parser;
static char *buf;
static size_t buf_cap;

static int setup(void **state)
{
    (void)state;
    return kivo_json_parser_create(32, &parser) == KIVO_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kivo_json_parser_free(parser);
    free(buf);
    return 0;
}

/* Parses text the way the server does (duplicate keys refused). */
static const kivo_json_node *parse(const char *text, size_t len)
{
    const kivo_json_node *root = NULL;
    if (len + KIVO_JSON_PADDING > buf_cap) {
        free(buf);
        buf_cap = len + KIVO_JSON_PADDING;
        assert_non_null(buf = malloc(buf_cap));
    }
    memcpy(buf, text, len);
    memset(buf + len, 0, KIVO_JSON_PADDING);
    if (kivo_json_parse(parser, buf, len, buf_cap, KIVO_JSON_REJECT_DUPKEYS, &root) != KIVO_OK)
        fail_msg("not parsable: %.*s", (int)(len > 300 ? 300 : len), text);
    return root;
}

/* The fields list of e as one comma-joined string. */
static const char *fields(const api_error *e)
{
    static char out[4096];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; e->fields && i < json_array_size(e->fields); i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "," : "",
                              json_string_value(json_array_get(e->fields, i)));
    return out;
}

/* Runs t's validator (and, for private-worker bodies, the raw-field scan first, as the routes
 * do) on the dump of root. */
static void check(const top *t, json_t *root, api_error *e)
{
    char *text = json_dumps(root, JSON_COMPACT);
    assert_non_null(text);
    const kivo_json_node *n = parse(text, strlen(text));
    if (!t->private_worker || api_scan_raw_fields(n, e) == 0)
        t->validate(n, e);
    free(text);
}

static void expect_ok(const top *t, json_t *root, const char *what)
{
    api_error e = {0};
    check(t, root, &e);
    if (e.http) {
        char *text = json_dumps(root, JSON_COMPACT);
        fail_msg("%s (%s) refused: %u %s [%s]: %.400s", t->body->what, what, e.http, e.message,
                 fields(&e), text);
    }
    api_error_clear(&e);
}

static void expect_refused(const top *t, json_t *root, unsigned http, const char *path,
                           const char *what)
{
    api_error e = {0};
    check(t, root, &e);
    if (e.http != http || strcmp(fields(&e), path) != 0)
        fail_msg("%s, %s at %s: got %u [%s] (%s), want %u [%s]", t->body->what, what, path, e.http,
                 fields(&e), e.message, http, path);
    api_error_clear(&e);
}

/* ---- bodies from the tables ------------------------------------------------------------------ */

static json_t *build(const top *t, const kivo_wire_body *b, int all);

/* A string of n characters, "é" (two bytes) each: caps count code points, not bytes. */
static json_t *chars(size_t n)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[2 * n] = '\0';
    json_t *v = json_string(s);
    free(s);
    return v;
}

/* A valid value of f's kind. Counts and lists hold one item, so that the rules that tie fields
 * together (source_count == len(source_hashes), unsupported <= claims) hold. */
static json_t *valid(const top *t, const kivo_wire_field *f, int all)
{
    switch (f->kind) {
    case KIVO_WIRE_CONST: return json_string(f->values[0]);
    case KIVO_WIRE_ENUM:
        /* An event's type and status are tied: build the type asked for, status alike. */
        if (t->event_type && (!strcmp(f->name, "event_type") || !strcmp(f->name, "status")))
            return json_string(t->event_type);
        return json_string(f->values[0]);
    case KIVO_WIRE_ID: return json_string("id-1");
    case KIVO_WIRE_NAME: return json_string("A name");
    case KIVO_WIRE_CODE: return json_string("code_1.x-2");
    case KIVO_WIRE_BATCH: return json_string("Release-2026.12:b_1");
    case KIVO_WIRE_HASH: return json_string("sha256:" H64);
    case KIVO_WIRE_HASHES: return json_pack("[s]", "sha256:" H64);
    case KIVO_WIRE_COUNT: return json_integer(f->max >= 1 ? 1 : f->min);
    case KIVO_WIRE_POSINT: return json_integer(1);
    case KIVO_WIRE_OBJECT: return build(t, f->sub, all);
    case KIVO_WIRE_OBJECTS: return json_pack("[o]", build(t, f->sub, all));
    case KIVO_WIRE_CATEGORIES: return json_pack("[s]", kivo_wire_category_names[1]);
    case KIVO_WIRE_TEXT: return json_string("Any text at all.");
    case KIVO_WIRE_FLATMAP:
        return json_pack("{s:s, s:i, s:b, s:n}", "team", "a", "n", 1, "b", 1, "z");
    }
    return NULL;
}

/* Does body b of top t need field f? (Completed events need their results.) */
static int needed(const top *t, const kivo_wire_field *f)
{
    return (f->flags & KIVO_WIRE_REQUIRED) ||
           (t->event_type && !strcmp(t->event_type, "completed") &&
            (f->flags & KIVO_WIRE_COMPLETED));
}

/* Every member of b (all), or only those needed, each with a valid value. */
static json_t *build(const top *t, const kivo_wire_body *b, int all)
{
    json_t *o = json_object();
    assert_non_null(o);
    for (size_t i = 0; i < b->n; i++)
        if (all || needed(t, &b->fields[i]))
            assert_int_equal(
                json_object_set_new(o, b->fields[i].name, valid(t, &b->fields[i], all)), 0);
    return o;
}

/* ---- mutations ------------------------------------------------------------------------------- */

/* A value of the wrong JSON type for f. */
static json_t *wrong_type(const kivo_wire_field *f)
{
    switch (f->kind) {
    case KIVO_WIRE_COUNT:
    case KIVO_WIRE_POSINT: return json_string("1");
    case KIVO_WIRE_HASHES:
    case KIVO_WIRE_OBJECTS:
    case KIVO_WIRE_CATEGORIES:
    case KIVO_WIRE_OBJECT:
    case KIVO_WIRE_FLATMAP: return json_string("x");
    default: return json_integer(7);
    }
}

/* A value of the right type that breaks f's bound or set, or NULL when the kind has none. */
static json_t *out_of_bounds(const top *t, const kivo_wire_field *f)
{
    json_t *a;
    switch (f->kind) {
    case KIVO_WIRE_CONST:
    case KIVO_WIRE_ENUM: return json_string("not-a-value");
    case KIVO_WIRE_ID: return chars(KIVO_WIRE_ID_MAX + 1);
    case KIVO_WIRE_NAME: return chars(KIVO_WIRE_NAME_MAX + 1);
    case KIVO_WIRE_CODE: return json_string("Upper_Case");
    case KIVO_WIRE_BATCH: return json_string("has space");
    case KIVO_WIRE_HASH: return json_string("sha256:" H64 "0");
    case KIVO_WIRE_COUNT: return json_integer(f->max + 1);
    case KIVO_WIRE_POSINT: return json_integer(0);
    case KIVO_WIRE_CATEGORIES: return json_pack("[s]", "made_up_category");
    case KIVO_WIRE_FLATMAP: return json_pack("{s:{}}", "deep");
    case KIVO_WIRE_HASHES:
    case KIVO_WIRE_OBJECTS:
        assert_non_null(a = json_array());
        for (long long i = 0; i < f->max + 1; i++)
            json_array_append_new(a, f->kind == KIVO_WIRE_HASHES ? json_string("sha256:" H64)
                                                                 : build(t, f->sub, 0));
        return a;
    case KIVO_WIRE_TEXT:
    case KIVO_WIRE_OBJECT: return NULL;
    }
    return NULL;
}

/* Where the object of body b sits in a built top body: the top itself, `name` or `name[0]`. */
typedef struct place {
    const char *member; /* NULL: the top body */
    int in_array;
} place;

static json_t *locate(json_t *root, place p)
{
    json_t *o = p.member ? json_object_get(root, p.member) : root;
    if (p.in_array)
        o = json_array_get(o, 0);
    assert_true(json_is_object(o));
    return o;
}

static void path_of(char *out, size_t len, place p, const char *name)
{
    if (!p.member)
        snprintf(out, len, "%s", name);
    else
        snprintf(out, len, "%s%s.%s", p.member, p.in_array ? "[0]" : "", name);
}

/* Every mutation of every member of the object of body b at place p. */
static void mutate_members(const top *t, const kivo_wire_body *b, place p)
{
    char path[256];
    for (size_t i = 0; i < b->n; i++) {
        const kivo_wire_field *f = &b->fields[i];
        json_t *root, *v;
        path_of(path, sizeof path, p, f->name);

        if (needed(t, f)) {
            root = build(t, t->body, 1);
            json_object_del(locate(root, p), f->name);
            expect_refused(t, root, 400, path, "missing");
            json_decref(root);
        }
        if ((f->kind == KIVO_WIRE_HASHES || f->kind == KIVO_WIRE_OBJECTS) && f->min > 0) {
            root = build(t, t->body, 1);
            json_object_set_new(locate(root, p), f->name, json_array());
            expect_refused(t, root, 400, path, "too few items");
            json_decref(root);
        }
        root = build(t, t->body, 1);
        json_object_set_new(locate(root, p), f->name, wrong_type(f));
        expect_refused(t, root, 400, path, "wrong type");
        json_decref(root);
        if ((v = out_of_bounds(t, f))) {
            root = build(t, t->body, 1);
            json_object_set_new(locate(root, p), f->name, v);
            /* A list's bad item is named by its index; a list too long by its name. */
            char item[300];
            if (f->kind == KIVO_WIRE_CATEGORIES)
                snprintf(item, sizeof item, "%s[0]", path);
            else if (f->kind == KIVO_WIRE_FLATMAP)
                snprintf(item, sizeof item, "%s.deep", path);
            else
                snprintf(item, sizeof item, "%s", path);
            expect_refused(t, root, 400, item, "out of bounds");
            json_decref(root);
        }
        if (f->sub && (f->kind == KIVO_WIRE_OBJECT || f->kind == KIVO_WIRE_OBJECTS) && !p.member)
            mutate_members(t, f->sub, (place){f->name, f->kind == KIVO_WIRE_OBJECTS});
    }
    /* A member the table does not know, and (private-worker bodies) a raw field. */
    path_of(path, sizeof path, p, "zz_unknown");
    json_t *root = build(t, t->body, 1);
    json_object_set_new(locate(root, p), "zz_unknown", json_true());
    expect_refused(t, root, 400, path, "unknown member");
    json_decref(root);
    if (t->private_worker) {
        path_of(path, sizeof path, p, "prompt");
        root = build(t, t->body, 1);
        json_object_set_new(locate(root, p), "prompt", json_string("x"));
        expect_refused(t, root, 422, path, "raw field");
        json_decref(root);
    }
}

static const top tops[] = {
    {&kivo_wire_pw_create, api_validate_pw_create, 1, NULL},
    {&kivo_wire_pw_event, api_validate_pw_event, 1, "started"},
    {&kivo_wire_pw_event, api_validate_pw_event, 1, "progress"},
    {&kivo_wire_pw_event, api_validate_pw_event, 1, "completed"},
    {&kivo_wire_pw_event, api_validate_pw_event, 1, "failed"},
    {&kivo_wire_hosted_create, api_validate_hosted_create, 0, NULL},
};
#define N_TOPS (sizeof tops / sizeof tops[0])

static void table_bodies_pass(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TOPS; i++) {
        json_t *full = build(&tops[i], tops[i].body, 1), *min = build(&tops[i], tops[i].body, 0);
        expect_ok(&tops[i], full, "every member");
        expect_ok(&tops[i], min, "required members only");
        json_decref(full);
        json_decref(min);
    }
}

static void table_mutations_fail(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TOPS; i++)
        mutate_members(&tops[i], tops[i].body, (place){NULL, 0});
}

/* A member in a table but not in any body built above would go untested: there is none. */
static void every_member_is_built(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TOPS; i++) {
        json_t *full = build(&tops[i], tops[i].body, 1);
        for (size_t k = 0; k < tops[i].body->n; k++)
            assert_non_null(json_object_get(full, tops[i].body->fields[k].name));
        json_decref(full);
    }
}

/* ---- bodies from the renderers --------------------------------------------------------------- */

static void rendered_bodies_pass(void **state)
{
    static const kivo_source src[] = {{"s1", 2, "Policy", 6, "Refunds within 30 days.", 23},
                                      {"s2", 2, NULL, 0, "Shipping is free.", 17}};
    static const char *const outputs[] = {"Refunds are available within 60 days.",
                                          "Refunds are available within 30 days.", "", NULL};
    kivo_run_meta meta = {"rr_0123",
                          "cust_1",
                          "flow",
                          "worker_1",
                          "kivo-worker.0.1.0",
                          "policy-1",
                          NULL,
                          KIVO_STRICT,
                          KIVO_USE_CUSTOMER_FACING,
                          NULL};
    const top *create = &tops[0];
    kivo_engine *engine = NULL;
    kivo_hasher *hasher = NULL;
    kivo_buf out;
    api_error e = {0};

    (void)state;
    kivo_buf_init(&out, 0);
    assert_int_equal(kivo_engine_create(&engine), KIVO_OK);
    assert_int_equal(kivo_hasher_create(&hasher), KIVO_OK);
    for (size_t k = 0; outputs[k]; k++) {
        for (size_t n = 0; n <= 2; n++) {
            kivo_packet packet = {outputs[k], strlen(outputs[k]), src,
                                  n,          KIVO_STRICT,        KIVO_USE_CUSTOMER_FACING};
            const kivo_review *review = NULL;
            assert_int_equal(kivo_engine_review(engine, &packet, &review), KIVO_OK);
            for (int type = 0; type < KIVO_EVENT_TYPE_COUNT; type++) {
                kivo_wire_event ev = {
                    (kivo_event_type)type, &meta, (uint64_t)type + 1, review, n, "sha256:" H64,
                    "record_not_found"};
                kivo_buf_reset(&out);
                assert_int_equal(kivo_wire_event_render(hasher, &ev, NULL, &out), KIVO_OK);
                const kivo_json_node *root = parse(out.data, out.len);
                assert_int_equal(api_scan_raw_fields(root, &e), 0);
                api_validate_pw_event(root, &e);
                if (e.http)
                    fail_msg("rendered %s event refused: %s [%s]: %s",
                             kivo_event_type_name((kivo_event_type)type), e.message, fields(&e),
                             out.data);
            }
            /* The create of the same run, hashes as the completed event says them. */
            const char *hashes[2] = {review->source_hashes[0],
                                     n > 1 ? review->source_hashes[1] : NULL};
            kivo_wire_create c = {"cust_1",
                                  "flow",
                                  "worker_1",
                                  "kivo-worker.0.1.0",
                                  "Flow",
                                  "A title",
                                  "customer_facing",
                                  "strict",
                                  "policy-1",
                                  "p-2",
                                  (long long)n,
                                  n ? hashes : NULL,
                                  n,
                                  review->output_hash,
                                  "Store",
                                  "reports/flow/cust_1/claim_report.json",
                                  n ? "default" : "rel:2026-12_b.1"};
            kivo_buf_reset(&out);
            assert_int_equal(kivo_wire_create_render(&c, &out), KIVO_OK);
            json_error_t jerr;
            json_t *body = json_loadb(out.data, out.len, 0, &jerr);
            assert_non_null(body);
            expect_ok(create, body, "rendered create");
            json_decref(body);
        }
    }
    /* The optional create members may all be missing. */
    kivo_wire_create min = {"cust_1", "flow", "worker_1", "v", NULL, NULL, NULL, NULL, NULL,
                            NULL,     -1,     NULL,       0,   NULL, NULL, NULL, NULL};
    kivo_buf_reset(&out);
    assert_int_equal(kivo_wire_create_render(&min, &out), KIVO_OK);
    json_error_t jerr;
    json_t *body = json_loadb(out.data, out.len, 0, &jerr);
    expect_ok(create, body, "minimal rendered create");
    json_decref(body);
    kivo_buf_free(&out);
    kivo_hasher_free(hasher);
    kivo_engine_free(engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_member_is_built),
        cmocka_unit_test(table_bodies_pass),
        cmocka_unit_test(table_mutations_fail),
        cmocka_unit_test(rendered_bodies_pass),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
