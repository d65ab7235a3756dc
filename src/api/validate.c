/*
 * validate.c - table-driven closed-schema validation of the API's request bodies.
 *
 * The wire (kivo/wire.h) keeps one table per object shape: every allowed member with its kind,
 * whether it is required and its bounds. This file walks them: a member not in the table is a
 * schema_violation, and so is a required one that is missing. Rules that tie fields together
 * (counts against lists, what a completed event must carry, status against event_type) follow
 * the table walk in code.
 */
#include <stdio.h>
#include <string.h>

#include "kivo/hash.h"
#include "kivo/wire.h"

#include "validate.h"

#define PATH_MAX_LEN 256
#define MAX_RAW_DEPTH 128

/* A cap as text, for messages: XSTR(KIVO_WIRE_ID_MAX) is "512". */
#define STR(x) #x
#define XSTR(x) STR(x)

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
        if (c - 0x20u < 0x5fu)
            continue; /* printable ASCII */
        if (c < 0x20 || c == 0x7f)
            return 1;
        if (c == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
            return 1; /* U+0080-009F */
        if (c == 0xD8 && i + 1 < len && p[i + 1] == 0x9C)
            return 1; /* U+061C */
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

static void check_object(const kivo_json_node *obj, const kivo_wire_body *body, const char *path,
                         api_error *e);

/* An ID or NAME: max is KIVO_WIRE_ID_MAX or KIVO_WIRE_NAME_MAX. */
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
        bad(e, path, "%s: %s",
            max == KIVO_WIRE_ID_MAX ? "longer than " XSTR(KIVO_WIRE_ID_MAX) " characters"
                                    : "longer than " XSTR(KIVO_WIRE_NAME_MAX) " characters");
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
    int ok = v->type == KIVO_JSON_STRING && v->len >= 1 && v->len <= KIVO_WIRE_CODE_MAX;

    for (size_t i = 0; ok && i < v->len; i++) {
        char c = v->str[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    }
    if (!ok)
        bad(e, path, "%s: %s", "must be 1.." XSTR(KIVO_WIRE_CODE_MAX) " characters of [a-z0-9_.-]");
}

_Static_assert(KIVO_WIRE_BATCH_ID_MAX == 128, "API_BATCH_ID_RULE names the cap");

int api_batch_id_valid(const char *s, size_t len)
{
    int ok = len >= 1 && len <= KIVO_WIRE_BATCH_ID_MAX;

    for (size_t i = 0; ok && i < len; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == ':' || c == '-';
    }
    return ok;
}

static void check_batch(const kivo_json_node *v, const char *path, api_error *e)
{
    if (v->type != KIVO_JSON_STRING || !api_batch_id_valid(v->str, v->len))
        bad(e, path, "%s: %s", API_BATCH_ID_RULE);
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
    if (v->len > KIVO_WIRE_METADATA_KEYS_MAX)
        bad(e, path, "%s: %s", "more than " XSTR(KIVO_WIRE_METADATA_KEYS_MAX) " members");
    for (const kivo_json_node *c = v->child; c; c = c->next) {
        path_join(sub, path, c->key, c->key_len, 0);
        if (c->key_len == 0 || api_utf8_chars(c->key, c->key_len) > KIVO_WIRE_METADATA_KEY_MAX ||
            has_control(c->key, c->key_len))
            bad(e, sub, "%s: %s",
                "keys must be 1.." XSTR(
                    KIVO_WIRE_METADATA_KEY_MAX) " characters without control characters");
        else if (c->type == KIVO_JSON_ARRAY || c->type == KIVO_JSON_OBJECT)
            bad(e, sub, "%s: %s", "metadata values must be strings, numbers, booleans or null");
        else if (c->type == KIVO_JSON_STRING && api_utf8_chars(c->str, c->len) > KIVO_WIRE_NAME_MAX)
            bad(e, sub, "%s: %s", "longer than " XSTR(KIVO_WIRE_NAME_MAX) " characters");
        else if (c->type == KIVO_JSON_STRING && has_control(c->str, c->len))
            bad(e, sub, "%s: %s", "must not contain control characters");
    }
}

static void check_array_of(const kivo_json_node *v, const kivo_wire_field *f, const char *path,
                           api_error *e)
{
    char sub[PATH_MAX_LEN];
    long i = 0;

    if (v->type != KIVO_JSON_ARRAY) {
        bad(e, path, "%s: must be an %s", "array");
        return;
    }
    if ((long long)v->len < f->min || (long long)v->len > f->max) {
        bad(e, path, "%s: %s", "wrong number of items");
        return;
    }
    for (const kivo_json_node *c = v->child; c; c = c->next, i++) {
        path_join(sub, path, NULL, 0, i);
        if (f->kind == KIVO_WIRE_HASHES)
            check_hash(c, sub, e);
        else
            check_object(c, f->sub, sub, e);
    }
}

static void check_value(const kivo_json_node *v, const kivo_wire_field *f, const char *path,
                        api_error *e)
{
    int required = (f->flags & KIVO_WIRE_REQUIRED) != 0;

    switch (f->kind) {
    case KIVO_WIRE_CONST:
    case KIVO_WIRE_ENUM:
        if (v->type != KIVO_JSON_STRING || !in_list(f->values, v->str, v->len))
            bad(e, path, "%s: %s",
                f->kind == KIVO_WIRE_CONST ? "unsupported value" : "not one of the allowed values");
        break;
    case KIVO_WIRE_ID: check_string(v, KIVO_WIRE_ID_MAX, required, path, e); break;
    case KIVO_WIRE_NAME: check_string(v, KIVO_WIRE_NAME_MAX, required, path, e); break;
    case KIVO_WIRE_CODE: check_code(v, path, e); break;
    case KIVO_WIRE_BATCH: check_batch(v, path, e); break;
    case KIVO_WIRE_HASH: check_hash(v, path, e); break;
    case KIVO_WIRE_COUNT: check_int(v, f->min, f->max, path, e); break;
    case KIVO_WIRE_POSINT: check_int(v, 1, INT64_MAX, path, e); break;
    case KIVO_WIRE_OBJECT: check_object(v, f->sub, path, e); break;
    case KIVO_WIRE_HASHES:
    case KIVO_WIRE_OBJECTS: check_array_of(v, f, path, e); break;
    case KIVO_WIRE_CATEGORIES: check_categories(v, path, e); break;
    case KIVO_WIRE_TEXT:
        if (v->type != KIVO_JSON_STRING)
            bad(e, path, "%s: must be a %s", "string");
        break;
    case KIVO_WIRE_FLATMAP: check_flatmap(v, path, e); break;
    }
}

static void check_object(const kivo_json_node *obj, const kivo_wire_body *body, const char *path,
                         api_error *e)
{
    char sub[PATH_MAX_LEN];

    if (obj->type != KIVO_JSON_OBJECT) {
        bad(e, path[0] ? path : "(body)", "%s: must be an %s", "object");
        return;
    }
    for (const kivo_json_node *c = obj->child; c; c = c->next) {
        const kivo_wire_field *f = kivo_wire_field_find(body, c->key, c->key_len);
        path_join(sub, path, c->key, c->key_len, 0);
        if (!f)
            bad(e, sub, "%s: %s", "unknown field");
        else
            check_value(c, f, sub, e);
    }
    for (size_t i = 0; i < body->n; i++) {
        const kivo_wire_field *f = &body->fields[i];
        if (!(f->flags & KIVO_WIRE_REQUIRED) || kivo_json_get(obj, f->name))
            continue;
        path_join(sub, path, f->name, strlen(f->name), 0);
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
        const kivo_wire_raw_field *raw;
        if (n->type == KIVO_JSON_OBJECT) {
            path_join(sub, path, c->key, c->key_len, 0);
            if ((raw = kivo_wire_raw_field_find(c->key, c->key_len))) {
                api_error_set(e, 422, "raw_fields_rejected",
                              "raw content is not accepted by private-worker endpoints; "
                              "send the listed use_instead fields");
                api_error_rejected(e, sub, raw->use_instead);
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
        api_error_set(e, 400, "schema_violation", "source_hashes: must hold source_count hashes");
        api_error_field(e, "source_hashes");
        api_error_field(e, "source_count");
    }
}

void api_validate_pw_create(const kivo_json_node *root, api_error *e)
{
    check_object(root, &kivo_wire_pw_create, "", e);
    check_hash_count(root, e);
}

void api_validate_pw_event(const kivo_json_node *root, api_error *e)
{
    const kivo_wire_body *body = &kivo_wire_pw_event;
    const kivo_json_node *type, *status, *claims, *unsupported;
    kivo_event_type t;

    check_object(root, body, "", e);
    if (e->http)
        return;
    /* The table walk checked event_type against the names. */
    type = kivo_json_get(root, "event_type");
    if (kivo_event_type_parse(type->str, type->len, &t) != KIVO_OK)
        return;
    if (t == KIVO_EVENT_COMPLETED) {
        for (size_t i = 0; i < body->n; i++) {
            const kivo_wire_field *f = &body->fields[i];
            if ((f->flags & KIVO_WIRE_COMPLETED) && !kivo_json_get(root, f->name))
                bad(e, f->name, "%s: %s", "required in a completed event");
        }
    }
    status = kivo_json_get(root, "status");
    if (status && !api_json_str_eq(status, type->str, type->len) &&
        !kivo_json_streq(status, kivo_event_status_name(t)))
        bad(e, "status", "%s: %s", "does not match event_type");
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

    check_object(root, &kivo_wire_hosted_create, "", e);
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
