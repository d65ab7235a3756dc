/*
 * reply.c - helpers every route handler uses: error and JSON replies, body parsing through the
 * thread's kivo_json parser, query arguments, list paging, and jansson conversions.
 *
 * Request JSON is read only through kivo_json (simdjson); every JSON the API writes is built with
 * jansson. The one place jansson reads JSON is the store, and only JSON this server wrote.
 */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "cursor.h"
#include "server.h"
#include "timefmt.h"
#include "validate.h"

#define LIST_DEFAULT 50
#define LIST_MAX 200

void api_reply_json(api_reply *out, unsigned status, json_t *body)
{
    json_decref(out->json);
    out->status = status;
    out->json = body;
}

void api_reply_error(api_ctx *ctx, api_reply *out, api_error *e)
{
    if (!e->http)
        api_error_set(e, 500, "internal", "internal error");
    api_reply_json(out, e->http, api_error_json(e));
    out->retry_after = e->retry_after;
    if (ctx && ctx->r)
        ctx->r->reason = e->reason ? e->reason : e->code;
    api_error_clear(e);
}

const kivo_json_node *api_parse_body(api_ctx *ctx, api_error *e)
{
    api_request *r = ctx->r;
    const kivo_json_node *root = NULL;
    kivo_status st;

    /* simdjson reads whole blocks: keep KIVO_JSON_PADDING readable bytes past the body. */
    if (kivo_buf_reserve(&r->body, KIVO_JSON_PADDING) != KIVO_OK) {
        api_error_set(e, 500, "internal", "out of memory");
        goto out;
    }
    st = kivo_json_parse(ctx->t->parser, r->body.data, r->body.len, r->body.cap,
                         KIVO_JSON_REJECT_DUPKEYS, &root);
    switch (st) {
    case KIVO_OK: break;
    case KIVO_EUTF8: api_error_set(e, 400, "invalid_json", "body is not valid UTF-8"); break;
    case KIVO_EDEPTH:
        api_error_set(e, 400, "invalid_json", "JSON nested deeper than %d levels",
                      API_JSON_MAX_DEPTH);
        break;
    case KIVO_EDUPKEY:
        api_error_set(e, 400, "invalid_json", "the same key appears twice in one object");
        break;
    case KIVO_ENOMEM: api_error_set(e, 500, "internal", "out of memory"); break;
    default: api_error_set(e, 400, "invalid_json", "body is not valid JSON"); break;
    }
    if (st != KIVO_OK) {
        root = NULL;
        goto out;
    }
    if (root->type != KIVO_JSON_OBJECT) {
        api_error_set(e, 400, "invalid_json", "body must be one JSON object");
        root = NULL;
    }
out:
    return root;
}

const char *api_query(api_ctx *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx->r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct allow_ctx {
    const char *const *names;
    unsigned seen; /* bit i: names[i] was given */
    api_error *e;
} allow_ctx;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    allow_ctx *a = cls;
    char field[80];
    size_t i;

    (void)kind;
    (void)value;
    for (i = 0; a->names[i]; i++)
        if (strcmp(a->names[i], key) == 0)
            break;
    snprintf(field, sizeof field, "%.*s", (int)api_utf8_cut(key, strlen(key), 60), key);
    if (!a->names[i]) {
        api_error_set(a->e, 400, "schema_violation", "unknown query parameter");
        api_error_field(a->e, field);
    } else if (a->seen & (1u << i)) {
        /* Which one would count is not the client's guess to make. */
        api_error_set(a->e, 400, "schema_violation", "%s: given more than once", field);
        api_error_field(a->e, field);
    } else {
        a->seen |= 1u << i;
    }
    return MHD_YES;
}

void api_query_allow(api_ctx *ctx, const char *const *names, api_error *e)
{
    allow_ctx a = {names, 0, e};

    MHD_get_connection_values(ctx->r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &a);
}

int api_list_params(api_ctx *ctx, long *limit, int64_t *before, api_error *e)
{
    const char *l = api_query(ctx, "limit");
    const char *c = api_query(ctx, "cursor");
    uint64_t v;

    *limit = LIST_DEFAULT;
    *before = INT64_MAX;
    if (l) {
        if (api_cli_parse_u64(l, 0, &v) != 0 || v < 1 || v > LIST_MAX) {
            api_error_set(e, 400, "schema_violation", "limit: must be an integer in 1..%d",
                          LIST_MAX);
            api_error_field(e, "limit");
        } else {
            *limit = (long)v;
        }
    }
    if (c && *c && api_cursor_decode(c, strlen(c), before) != 0) {
        api_error_set(e, 400, "schema_violation", "cursor: not a cursor this API returned");
        api_error_field(e, "cursor");
    }
    return e->http ? -1 : 0;
}

void api_json_drop_default_batch(json_t *body)
{
    json_t *b = json_object_get(body, "batch_id");

    if (b && json_is_string(b) && strcmp(json_string_value(b), KIVO_WIRE_BATCH_DEFAULT) == 0)
        json_object_del(body, "batch_id");
}

json_t *api_json_from_node(const kivo_json_node *n)
{
    json_t *j = NULL;

    switch (n->type) {
    case KIVO_JSON_NULL: j = json_null(); break;
    case KIVO_JSON_BOOL: j = json_boolean(n->boolean); break;
    case KIVO_JSON_NUMBER: j = n->is_int ? json_integer(n->i) : json_real(n->d); break;
    case KIVO_JSON_STRING: j = json_stringn(n->str, n->len); break;
    case KIVO_JSON_ARRAY:
        j = json_array();
        for (const kivo_json_node *c = n->child; j && c; c = c->next)
            if (json_array_append_new(j, api_json_from_node(c)) != 0) {
                json_decref(j);
                j = NULL;
            }
        break;
    case KIVO_JSON_OBJECT:
        j = json_object();
        for (const kivo_json_node *c = n->child; j && c; c = c->next)
            if (json_object_setn_new(j, c->key, c->key_len, api_json_from_node(c)) != 0) {
                json_decref(j);
                j = NULL;
            }
        break;
    }
    return j;
}

int api_json_canonical(const json_t *j, char **text, unsigned char digest[API_DIGEST_SIZE])
{
    unsigned int n = 0;
    int ret = -1;

    *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!*text)
        goto out;
    if (EVP_Digest(*text, strlen(*text), digest, &n, EVP_sha256(), NULL) != 1) {
        free(*text);
        *text = NULL;
        goto out;
    }
    ret = 0;
out:
    return ret;
}

void api_json_set_str(json_t *obj, const char *key, const kivo_json_node *n)
{
    if (n && n->type == KIVO_JSON_STRING)
        json_object_set_new(obj, key, json_stringn(n->str, n->len));
}

void api_json_set_time(json_t *obj, const char *key, int64_t ms)
{
    char t[API_TIME_TEXT_MAX];

    if (ms < 0) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    api_time_format(ms, t);
    json_object_set_new(obj, key, json_string(t));
}
