/*
 * validate.c - table-driven closed-schema validation of the API's request bodies.
 *
 * One table per object shape lists every allowed member with its kind, whether it is required and
 * its bounds; a member not in the table is a schema_violation. Rules that tie fields together
 * (counts against lists, what a completed event must carry) follow the table walk in code.
 */
#include <stdio.h>
#include <string.h>

#include "kivo/hash.h"
#include "kivo/report.h"
#include "kivo/review.h"

#include "validate.h"

#define PATH_MAX_LEN 256
#define MAX_RAW_DEPTH 128

typedef enum vkind {
    V_CONST,        /* string equal to values[0] */
    V_ID,           /* string, 1..API_ID_MAX chars, no control characters */
    V_NAME,         /* string, 1..API_NAME_MAX chars, no control characters */
    V_CODE,         /* string of [a-z0-9_.-], 1..64 chars */
    V_ENUM,         /* string in values[] */
    V_HASH,         /* "sha256:" + 64 lowercase hex */
    V_HASHES,       /* array of V_HASH, at most max */
    V_COUNT,        /* integer in 0..max */
    V_POSINT,       /* integer in 1..INT64_MAX */
    V_OBJECT,       /* object of schema sub */
    V_OBJECTS,      /* array of objects of schema sub, at most max */
    V_CATEGORIES,   /* array of distinct failure category names */
    V_TEXT,         /* any string (hosted output) */
    V_FLATMAP,      /* object of at most API_METADATA_KEYS_MAX scalar members */
    V_SOURCES       /* hosted sources: 1..max objects of schema sub */
} vkind;

typedef struct vschema vschema;

typedef struct vfield {
    const char *name;
    vkind kind;
    int required;
    const char *const *values;    /* V_CONST, V_ENUM: NULL-terminated */
    const vschema *sub;           /* V_OBJECT, V_OBJECTS, V_SOURCES */
    long long max;                /* V_COUNT, V_HASHES, V_OBJECTS, V_SOURCES */
} vfield;

struct vschema {
    const vfield *fields;
    size_t n;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pw_create_version[] = {API_SCHEMA_PW_CREATE, NULL};
static const char *const pw_event_version[] = {API_SCHEMA_PW_EVENT, NULL};
static const char *const hosted_version[] = {API_SCHEMA_HOSTED_CREATE, NULL};
static const char *const customer_owned[] = {"customer_owned", NULL};
static const char *const uses[] = {"customer_facing", "internal", "evaluation", NULL};
static const char *const strictnesses[] = {"strict", "standard", "lenient", NULL};
static const char *const verdicts[] = {"pass", "needs_review", "fail", NULL};
static const char *const event_types[] = {"started", "progress", "completed", "failed", NULL};
static const char *const event_statuses[] = {"started", "progress", "running", "completed",
                                             "failed", NULL};

static const vfield pointer_fields[] = {
    {"type", V_CONST, 1, customer_owned, NULL, 0},
    {"label", V_NAME, 0, NULL, NULL, 0},
    {"opaque_id", V_ID, 1, NULL, NULL, 0},
};
static const vschema pointer_schema = {pointer_fields, COUNT(pointer_fields)};

static const vfield pw_create_fields[] = {
    {"schema_version", V_CONST, 1, pw_create_version, NULL, 0},
    {"customer_run_id", V_ID, 1, NULL, NULL, 0},
    {"workflow_id", V_ID, 1, NULL, NULL, 0},
    {"worker_id", V_ID, 1, NULL, NULL, 0},
    {"worker_version", V_ID, 1, NULL, NULL, 0},
    {"workflow_name", V_NAME, 0, NULL, NULL, 0},
    {"title", V_NAME, 0, NULL, NULL, 0},
    {"intended_use", V_ENUM, 0, uses, NULL, 0},
    {"strictness", V_ENUM, 0, strictnesses, NULL, 0},
    {"source_count", V_COUNT, 0, NULL, NULL, API_HASHES_MAX},
    {"source_hashes", V_HASHES, 0, NULL, NULL, API_HASHES_MAX},
    {"output_hash", V_HASH, 0, NULL, NULL, 0},
    {"policy_version", V_ID, 0, NULL, NULL, 0},
    {"prompt_version", V_ID, 0, NULL, NULL, 0},
    {"customer_storage_pointer", V_OBJECT, 0, NULL, &pointer_schema, 0},
};
static const vschema pw_create_schema = {pw_create_fields, COUNT(pw_create_fields)};

static const vfield artifact_fields[] = {
    {"artifact_name", V_NAME, 1, NULL, NULL, 0},
    {"artifact_type", V_NAME, 1, NULL, NULL, 0},
    {"format", V_NAME, 1, NULL, NULL, 0},
    {"sha256", V_HASH, 1, NULL, NULL, 0},
    {"file_count", V_COUNT, 1, NULL, NULL, 1000000},
    {"storage_label", V_NAME, 0, NULL, NULL, 0},
};
static const vschema artifact_schema = {artifact_fields, COUNT(artifact_fields)};

static const vfield pw_event_fields[] = {
    {"schema_version", V_CONST, 1, pw_event_version, NULL, 0},
    {"event_id", V_ID, 1, NULL, NULL, 0},
    {"event_type", V_ENUM, 1, event_types, NULL, 0},
    {"review_run_id", V_ID, 1, NULL, NULL, 0},
    {"customer_run_id", V_ID, 1, NULL, NULL, 0},
    {"worker_id", V_ID, 1, NULL, NULL, 0},
    {"worker_version", V_ID, 0, NULL, NULL, 0},
    {"sequence", V_POSINT, 1, NULL, NULL, 0},
    {"status", V_ENUM, 0, event_statuses, NULL, 0},
    {"gate_verdict", V_ENUM, 0, verdicts, NULL, 0},
    {"safe_use_status", V_ENUM, 0, verdicts, NULL, 0},
    {"claim_count", V_COUNT, 0, NULL, NULL, 100000000},
    {"unsupported_claim_count", V_COUNT, 0, NULL, NULL, 100000000},
    {"source_count", V_COUNT, 0, NULL, NULL, API_HASHES_MAX},
    {"source_hashes", V_HASHES, 0, NULL, NULL, API_HASHES_MAX},
    {"output_hash", V_HASH, 0, NULL, NULL, 0},
    {"redacted_failure_categories", V_CATEGORIES, 0, NULL, NULL, 0},
    {"artifact_summaries", V_OBJECTS, 0, NULL, &artifact_schema, API_ARTIFACTS_MAX},
    {"policy_version", V_ID, 0, NULL, NULL, 0},
    {"prompt_version", V_ID, 0, NULL, NULL, 0},
    {"customer_storage_pointer", V_OBJECT, 0, NULL, &pointer_schema, 0},
    {"failure_code", V_CODE, 0, NULL, NULL, 0},
};
static const vschema pw_event_schema = {pw_event_fields, COUNT(pw_event_fields)};

static const vfield source_fields[] = {
    {"source_id", V_ID, 1, NULL, NULL, 0},
    {"title", V_NAME, 0, NULL, NULL, 0},
    {"text", V_TEXT, 1, NULL, NULL, 0},
};
static const vschema source_schema = {source_fields, COUNT(source_fields)};

static const vfield hosted_fields[] = {
    {"schema_version", V_CONST, 1, hosted_version, NULL, 0},
    {"customer_run_id", V_ID, 1, NULL, NULL, 0},
    {"workflow_id", V_ID, 1, NULL, NULL, 0},
    {"output", V_TEXT, 1, NULL, NULL, 0},
    {"sources", V_SOURCES, 1, NULL, &source_schema, API_HOSTED_SOURCES_MAX},
    {"title", V_NAME, 0, NULL, NULL, 0},
    {"intended_use", V_ENUM, 0, uses, NULL, 0},
    {"strictness", V_ENUM, 0, strictnesses, NULL, 0},
    {"policy_version", V_ID, 0, NULL, NULL, 0},
    {"metadata", V_FLATMAP, 0, NULL, NULL, 0},
};
static const vschema hosted_schema = {hosted_fields, COUNT(hosted_fields)};

size_t api_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int api_json_str_eq(const kivo_json_node *n, const char *s, size_t len)
{
    return n && n->type == KIVO_JSON_STRING && n->len == len && memcmp(n->str, s, len) == 0;
}

size_t api_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/* Characters an id, name or label must not hold: C0 and C1 controls (U+0085 too), DEL, the line
 * and paragraph separators, and the bidirectional marks, embeddings, overrides and isolates
 * (U+061C, U+200E-200F, U+202A-202E, U+2066-2069), which make text display in another order than
 * it compares. s is valid UTF-8. @return 1 when one is there. */
static int has_control(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
        if (c == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
            return 1;                                           /* U+0080-009F */
        if (c == 0xD8 && i + 1 < len && p[i + 1] == 0x9C)
            return 1;                                           /* U+061C */
        if (c == 0xE2 && i + 2 < len) {
            unsigned cp = 0x2000 + ((p[i + 1] & 0x3Fu) << 6) + (p[i + 2] & 0x3Fu);
            if (cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
                (cp >= 0x2066 && cp <= 0x2069))
                return 1;
        }
    }
    return 0;
}

static int in_list(const char *const *values, const char *s, size_t len)
{
    for (size_t i = 0; values[i]; i++)
        if (strlen(values[i]) == len && memcmp(values[i], s, len) == 0)
            return 1;
    return 0;
}

/* Writes parent + "." + key (or parent + "[i]" when key is NULL) into out; deep paths are cut
 * short with "..." rather than overflow. */
static void path_join(char out[PATH_MAX_LEN], const char *parent, const char *key, size_t klen,
                      long index)
{
    int n;

    if (key)
        n = snprintf(out, PATH_MAX_LEN, "%s%s%.*s", parent, parent[0] ? "." : "",
                     (int)api_utf8_cut(key, klen, 120), key);
    else
        n = snprintf(out, PATH_MAX_LEN, "%s[%ld]", parent, index);
    if (n < 0 || n >= PATH_MAX_LEN)
        memcpy(out + api_utf8_cut(out, strlen(out), PATH_MAX_LEN - 4), "...", 4);
}

static void bad(api_error *e, const char *path, const char *fmt, const char *what)
{
    api_error_set(e, 400, "schema_violation", fmt, path, what);
    api_error_field(e, path);
}

static void check_object(const kivo_json_node *obj, const vschema *schema, const char *path,
                         api_error *e);

static void check_string(const kivo_json_node *v, size_t max, int required, const char *path,
                         api_error *e)
{
    size_t chars;

    if (v->type != KIVO_JSON_STRING) {
        bad(e, path, "%s: must be a %s", "string");
        return;
    }
    chars = api_utf8_chars(v->str, v->len);
    if (chars == 0 && required)
        bad(e, path, "%s: %s", "must not be empty");
    else if (chars > max)
        bad(e, path, "%s: %s", max == API_ID_MAX ? "longer than 512 characters"
                                                 : "longer than 200 characters");
    else if (has_control(v->str, v->len))
        bad(e, path, "%s: %s", "must not contain control or bidirectional-format characters");
}

static void check_hash(const kivo_json_node *v, const char *path, api_error *e)
{
    if (v->type != KIVO_JSON_STRING || !kivo_hash_text_valid(v->str, v->len))
        bad(e, path, "%s: %s", "must be \"sha256:\" followed by 64 lowercase hex digits");
}

static void check_int(const kivo_json_node *v, long long lo, long long hi, const char *path,
                      api_error *e)
{
    if (v->type != KIVO_JSON_NUMBER || !v->is_int)
        bad(e, path, "%s: must be an %s", "integer");
    else if (v->i < lo || v->i > hi)
        bad(e, path, "%s: %s", "out of range");
}

static void check_code(const kivo_json_node *v, const char *path, api_error *e)
{
    int ok = v->type == KIVO_JSON_STRING && v->len >= 1 && v->len <= 64;

    for (size_t i = 0; ok && i < v->len; i++) {
        char c = v->str[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
             c == '-';
    }
    if (!ok)
        bad(e, path, "%s: %s", "must be 1..64 characters of [a-z0-9_.-]");
}

static void check_categories(const kivo_json_node *v, const char *path, api_error *e)
{
    char sub[PATH_MAX_LEN];
    uint32_t seen = 0;
    long i = 0;

    if (v->type != KIVO_JSON_ARRAY) {
        bad(e, path, "%s: must be an %s", "array");
        return;
    }
    for (const kivo_json_node *c = v->child; c; c = c->next, i++) {
        kivo_category cat;
        path_join(sub, path, NULL, 0, i);
        if (c->type != KIVO_JSON_STRING || kivo_category_parse(c->str, c->len, &cat) != KIVO_OK ||
            cat == KIVO_CAT_NONE) {
            bad(e, sub, "%s: %s", "not a failure category");
        } else if (seen & (1u << cat)) {
            bad(e, sub, "%s: %s", "repeated category");
        } else {
            seen |= 1u << cat;
        }
    }
}

static void check_flatmap(const kivo_json_node *v, const char *path, api_error *e)
{
    char sub[PATH_MAX_LEN];

    if (v->type != KIVO_JSON_OBJECT) {
        bad(e, path, "%s: must be an %s", "object");
        return;
    }
    if (v->len > API_METADATA_KEYS_MAX)
        bad(e, path, "%s: %s", "more than 32 members");
    for (const kivo_json_node *c = v->child; c; c = c->next) {
        path_join(sub, path, c->key, c->key_len, 0);
        if (c->key_len == 0 || api_utf8_chars(c->key, c->key_len) > API_METADATA_KEY_MAX ||
            has_control(c->key, c->key_len))
            bad(e, sub, "%s: %s", "keys must be 1..64 characters without control characters");
        else if (c->type == KIVO_JSON_ARRAY || c->type == KIVO_JSON_OBJECT)
            bad(e, sub, "%s: %s", "metadata values must be strings, numbers, booleans or null");
        else if (c->type == KIVO_JSON_STRING && api_utf8_chars(c->str, c->len) > API_NAME_MAX)
            bad(e, sub, "%s: %s", "longer than 200 characters");
        else if (c->type == KIVO_JSON_STRING && has_control(c->str, c->len))
            bad(e, sub, "%s: %s", "must not contain control characters");
    }
}

static void check_array_of(const kivo_json_node *v, const vfield *f, const char *path,
                           long long min, api_error *e)
{
    char sub[PATH_MAX_LEN];
    long i = 0;

    if (v->type != KIVO_JSON_ARRAY) {
        bad(e, path, "%s: must be an %s", "array");
        return;
    }
    if ((long long)v->len < min || (long long)v->len > f->max) {
        bad(e, path, "%s: %s", "wrong number of items");
        return;
    }
    for (const kivo_json_node *c = v->child; c; c = c->next, i++) {
        path_join(sub, path, NULL, 0, i);
        if (f->kind == V_HASHES)
            check_hash(c, sub, e);
        else
            check_object(c, f->sub, sub, e);
    }
}

static void check_value(const kivo_json_node *v, const vfield *f, const char *path, api_error *e)
{
    switch (f->kind) {
    case V_CONST:
    case V_ENUM:
        if (v->type != KIVO_JSON_STRING || !in_list(f->values, v->str, v->len))
            bad(e, path, "%s: %s", f->kind == V_CONST ? "unsupported value"
                                                      : "not one of the allowed values");
        break;
    case V_ID:
        check_string(v, API_ID_MAX, f->required, path, e);
        break;
    case V_NAME:
        check_string(v, API_NAME_MAX, f->required, path, e);
        break;
    case V_CODE:
        check_code(v, path, e);
        break;
    case V_HASH:
        check_hash(v, path, e);
        break;
    case V_COUNT:
        check_int(v, 0, f->max, path, e);
        break;
    case V_POSINT:
        check_int(v, 1, INT64_MAX, path, e);
        break;
    case V_OBJECT:
        check_object(v, f->sub, path, e);
        break;
    case V_HASHES:
    case V_OBJECTS:
        check_array_of(v, f, path, 0, e);
        break;
    case V_SOURCES:
        check_array_of(v, f, path, 1, e);
        break;
    case V_CATEGORIES:
        check_categories(v, path, e);
        break;
    case V_TEXT:
        if (v->type != KIVO_JSON_STRING)
            bad(e, path, "%s: must be a %s", "string");
        break;
    case V_FLATMAP:
        check_flatmap(v, path, e);
        break;
    }
}

static void check_object(const kivo_json_node *obj, const vschema *schema, const char *path,
                         api_error *e)
{
    char sub[PATH_MAX_LEN];

    if (obj->type != KIVO_JSON_OBJECT) {
        bad(e, path[0] ? path : "(body)", "%s: must be an %s", "object");
        return;
    }
    for (const kivo_json_node *c = obj->child; c; c = c->next) {
        const vfield *f = NULL;
        for (size_t i = 0; i < schema->n && !f; i++)
            if (strlen(schema->fields[i].name) == c->key_len &&
                memcmp(schema->fields[i].name, c->key, c->key_len) == 0)
                f = &schema->fields[i];
        path_join(sub, path, c->key, c->key_len, 0);
        if (!f)
            bad(e, sub, "%s: %s", "unknown field");
        else
            check_value(c, f, sub, e);
    }
    for (size_t i = 0; i < schema->n; i++) {
        if (!schema->fields[i].required || kivo_json_get(obj, schema->fields[i].name))
            continue;
        path_join(sub, path, schema->fields[i].name, strlen(schema->fields[i].name), 0);
        bad(e, sub, "%s: %s", "required");
    }
}

static void scan_raw(const kivo_json_node *n, const char *path, size_t depth, api_error *e,
                     size_t *found)
{
    char sub[PATH_MAX_LEN];
    long i = 0;

    if (depth > MAX_RAW_DEPTH)
        return;
    for (const kivo_json_node *c = n->child; c; c = c->next, i++) {
        const char *use_instead = NULL;
        if (n->type == KIVO_JSON_OBJECT) {
            path_join(sub, path, c->key, c->key_len, 0);
            if (kivo_raw_field_check(c->key, c->key_len, &use_instead)) {
                api_error_set(e, 422, "raw_fields_rejected",
                              "raw content is not accepted by private-worker endpoints; "
                              "send the listed use_instead fields");
                api_error_rejected(e, sub, use_instead ? use_instead : "");
                (*found)++;
            }
        } else {
            path_join(sub, path, NULL, 0, i);
        }
        if (c->type == KIVO_JSON_OBJECT || c->type == KIVO_JSON_ARRAY)
            scan_raw(c, sub, depth + 1, e, found);
    }
}

size_t api_scan_raw_fields(const kivo_json_node *root, api_error *e)
{
    size_t found = 0;

    if (root && (root->type == KIVO_JSON_OBJECT || root->type == KIVO_JSON_ARRAY))
        scan_raw(root, "", 0, e, &found);
    return found;
}

static void check_hash_count(const kivo_json_node *root, api_error *e)
{
    const kivo_json_node *count = kivo_json_get(root, "source_count");
    const kivo_json_node *hashes = kivo_json_get(root, "source_hashes");

    if (e->http || !count || !hashes)
        return;
    if ((long long)hashes->len != count->i) {
        api_error_set(e, 400, "schema_violation",
                      "source_hashes: must hold source_count hashes");
        api_error_field(e, "source_hashes");
        api_error_field(e, "source_count");
    }
}

void api_validate_pw_create(const kivo_json_node *root, api_error *e)
{
    check_object(root, &pw_create_schema, "", e);
    check_hash_count(root, e);
}

void api_validate_pw_event(const kivo_json_node *root, api_error *e)
{
    static const char *const completed_needs[] = {
        "gate_verdict", "safe_use_status", "claim_count", "unsupported_claim_count",
        "source_count", "source_hashes", "output_hash", "redacted_failure_categories",
        "artifact_summaries", NULL};
    const kivo_json_node *type, *status, *claims, *unsupported;

    check_object(root, &pw_event_schema, "", e);
    if (e->http)
        return;
    type = kivo_json_get(root, "event_type");
    if (kivo_json_streq(type, "completed")) {
        for (size_t i = 0; completed_needs[i]; i++) {
            if (!kivo_json_get(root, completed_needs[i])) {
                char msg[PATH_MAX_LEN];
                snprintf(msg, sizeof msg, "%s", completed_needs[i]);
                bad(e, msg, "%s: %s", "required in a completed event");
            }
        }
    }
    status = kivo_json_get(root, "status");
    if (status) {
        int ok = api_json_str_eq(status, type->str, type->len) ||
                 ((kivo_json_streq(type, "started") || kivo_json_streq(type, "progress")) &&
                  kivo_json_streq(status, "running"));
        if (!ok)
            bad(e, "status", "%s: %s", "does not match event_type");
    }
    claims = kivo_json_get(root, "claim_count");
    unsupported = kivo_json_get(root, "unsupported_claim_count");
    if (!e->http && claims && unsupported && unsupported->i > claims->i)
        bad(e, "unsupported_claim_count", "%s: %s", "must not exceed claim_count");
    check_hash_count(root, e);
}

void api_validate_hosted_create(const kivo_json_node *root, api_error *e)
{
    const kivo_json_node *sources;
    char path[PATH_MAX_LEN];
    long i = 0;

    check_object(root, &hosted_schema, "", e);
    if (e->http)
        return;
    /* Source ids name evidence spans, so they must be unique within the packet. */
    sources = kivo_json_get(root, "sources");
    for (const kivo_json_node *a = sources->child; a; a = a->next, i++) {
        const kivo_json_node *ida = kivo_json_get(a, "source_id");
        for (const kivo_json_node *b = a->next; b; b = b->next) {
            const kivo_json_node *idb = kivo_json_get(b, "source_id");
            if (api_json_str_eq(idb, ida->str, ida->len)) {
                snprintf(path, sizeof path, "sources[%ld].source_id", i);
                bad(e, path, "%s: %s", "repeated source_id");
                return;
            }
        }
    }
}
