/*
 * record.c - reading a kivo_record out of a parsed JSON document with the job spec's pointers,
 * and flattening structured sources into "key: value" text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kivo/record.h"

struct kivo_record_reader {
    char *ptr[6]; /* owned copies: run id, output, sources, id, title, text */
    kivo_source *sources;
    size_t sources_cap;
    kivo_buf flat;    /* flattened structured texts, one after another */
    size_t *flat_off; /* per source: offset into flat, or SIZE_MAX when not flat */
    char *ids;        /* generated ids "source_<n>", KV_ID_SLOT bytes each */
    char run_id[KIVO_RUN_ID_MAX + 1];
    char why[256];
};

#define KV_ID_SLOT 24

enum { F_RUN_ID, F_OUTPUT, F_SOURCES, F_SOURCE_ID, F_SOURCE_TITLE, F_SOURCE_TEXT };

static int pointer_ok(const char *p)
{
    return p && (p[0] == '\0' || p[0] == '/');
}

kivo_status kivo_record_reader_create(const kivo_fields *f, kivo_record_reader **out)
{
    const char *src[6] = {f->customer_run_id, f->output,       f->sources,
                          f->source_id,       f->source_title, f->source_text};
    kivo_record_reader *r = calloc(1, sizeof *r);
    if (!r)
        return KIVO_ENOMEM;
    kivo_buf_init(&r->flat, 0);
    for (int i = 0; i < 6; i++) {
        if (!pointer_ok(src[i])) {
            kivo_record_reader_free(r);
            return KIVO_EINVAL;
        }
        r->ptr[i] = strdup(src[i]);
        if (!r->ptr[i]) {
            kivo_record_reader_free(r);
            return KIVO_ENOMEM;
        }
    }
    *out = r;
    return KIVO_OK;
}

void kivo_record_reader_free(kivo_record_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < 6; i++)
        free(r->ptr[i]);
    free(r->sources);
    free(r->flat_off);
    free(r->ids);
    kivo_buf_free(&r->flat);
    free(r);
}

static kivo_status flatten_into(const kivo_json_node *v, kivo_buf *path, kivo_buf *out)
{
    kivo_status st = KIVO_OK;
    size_t mark = path->len;
    if (v->type == KIVO_JSON_OBJECT || v->type == KIVO_JSON_ARRAY) {
        size_t pos = 0;
        for (const kivo_json_node *c = v->child; c && st == KIVO_OK; c = c->next) {
            pos++;
            if (path->len)
                st = kivo_buf_append(path, ".", 1);
            if (st == KIVO_OK) {
                if (v->type == KIVO_JSON_OBJECT)
                    st = kivo_buf_append(path, c->key, c->key_len);
                else
                    st = kivo_buf_printf(path, "%zu", pos);
            }
            if (st == KIVO_OK)
                st = flatten_into(c, path, out);
            path->len = mark;
        }
        return st;
    }
    if (path->len) {
        st = kivo_buf_append(out, path->data, path->len);
        if (st == KIVO_OK)
            st = kivo_buf_append(out, ": ", 2);
    }
    if (st != KIVO_OK)
        return st;
    switch (v->type) {
    case KIVO_JSON_NULL: st = kivo_buf_append(out, "null", 4); break;
    case KIVO_JSON_BOOL: st = kivo_buf_append_str(out, v->boolean ? "true" : "false"); break;
    case KIVO_JSON_NUMBER:
        if (v->str)
            st = kivo_buf_append(out, v->str, v->len);
        else
            st = kivo_buf_printf(out, "%.17g", v->d);
        break;
    case KIVO_JSON_STRING: st = kivo_buf_append(out, v->str, v->len); break;
    default: break;
    }
    if (st == KIVO_OK && path->len)
        st = kivo_buf_append(out, "\n", 1);
    return st;
}

kivo_status kivo_json_flatten(const kivo_json_node *value, kivo_buf *out)
{
    kivo_buf path;
    kivo_buf_init(&path, 1u << 20);
    kivo_status st = flatten_into(value, &path, out);
    kivo_buf_free(&path);
    return st;
}

static kivo_status fail(kivo_record_reader *r, const char **why, const char *fmt, const char *a,
                        const char *b)
{
    snprintf(r->why, sizeof r->why, fmt, a, b);
    *why = r->why;
    return KIVO_ESCHEMA;
}

static kivo_status grow_sources(kivo_record_reader *r, size_t n)
{
    if (n <= r->sources_cap)
        return KIVO_OK;
    size_t cap = r->sources_cap ? r->sources_cap : 8;
    while (cap < n)
        cap *= 2;
    kivo_source *s = realloc(r->sources, cap * sizeof *s);
    if (!s)
        return KIVO_ENOMEM;
    r->sources = s;
    size_t *fo = realloc(r->flat_off, cap * sizeof *fo);
    if (!fo)
        return KIVO_ENOMEM;
    r->flat_off = fo;
    char *ids = realloc(r->ids, cap * KV_ID_SLOT);
    if (!ids)
        return KIVO_ENOMEM;
    r->ids = ids;
    r->sources_cap = cap;
    return KIVO_OK;
}

/* Fills one source from element `el` (string or object), index i (0-based). */
static kivo_status read_source(kivo_record_reader *r, const kivo_json_node *el, size_t i,
                               const char **why)
{
    kivo_source *s = &r->sources[i];
    char num[32]; /* the source's number, for a reject's reason only */
    const kivo_json_node *id = NULL, *title = NULL, *text = el;
    memset(s, 0, sizeof *s);
    r->flat_off[i] = (size_t)-1;
    if (el->type == KIVO_JSON_OBJECT) {
        id = kivo_json_pointer(el, r->ptr[F_SOURCE_ID]);
        title = kivo_json_pointer(el, r->ptr[F_SOURCE_TITLE]);
        text = kivo_json_pointer(el, r->ptr[F_SOURCE_TEXT]);
        if (!text || text->type == KIVO_JSON_NULL) {
            snprintf(num, sizeof num, "%zu", i + 1);
            return fail(r, why, "source %s: missing source_text at %s", num, r->ptr[F_SOURCE_TEXT]);
        }
    } else if (el->type != KIVO_JSON_STRING) {
        snprintf(num, sizeof num, "%zu", i + 1);
        return fail(r, why, "source %s: must be a string or an object, not %s", num,
                    kivo_json_type_name(el->type));
    }
    if (text->type == KIVO_JSON_STRING) {
        s->text = text->str;
        s->text_len = text->len;
    } else {
        r->flat_off[i] = r->flat.len;
        kivo_status st = kivo_json_flatten(text, &r->flat);
        if (st != KIVO_OK)
            return st;
        s->text_len = r->flat.len - r->flat_off[i];
    }
    if (id && id->type == KIVO_JSON_STRING && id->len > 0 && id->len <= KIVO_RUN_ID_MAX) {
        s->id = id->str;
        s->id_len = id->len;
    } else if (id && id->type == KIVO_JSON_NUMBER && id->str) {
        s->id = id->str;
        s->id_len = id->len;
    } else {
        char *slot = r->ids + i * KV_ID_SLOT;
        s->id_len = (size_t)snprintf(slot, KV_ID_SLOT, "source_%zu", i + 1);
        s->id = slot;
    }
    if (title && title->type == KIVO_JSON_STRING) {
        s->title = title->str;
        s->title_len = title->len;
    }
    return KIVO_OK;
}

kivo_status kivo_record_extract(kivo_record_reader *r, const kivo_json_node *root, kivo_record *out,
                                const char **why)
{
    kivo_status st = KIVO_OK;
    *why = NULL;
    memset(out, 0, sizeof *out);
    kivo_buf_reset(&r->flat);

    if (!root || root->type != KIVO_JSON_OBJECT)
        return fail(r, why, "record is %s, not a JSON object%s",
                    root ? kivo_json_type_name(root->type) : "empty", "");

    const kivo_json_node *id = kivo_json_pointer(root, r->ptr[F_RUN_ID]);
    if (!id)
        return fail(r, why, "missing customer_run_id at %s%s", r->ptr[F_RUN_ID], "");
    if ((id->type != KIVO_JSON_STRING &&
         !(id->type == KIVO_JSON_NUMBER && id->is_int && id->str)) ||
        id->len == 0)
        return fail(r, why, "customer_run_id at %s must be a non-empty string%s", r->ptr[F_RUN_ID],
                    "");
    if (id->len > KIVO_RUN_ID_MAX)
        return fail(r, why, "customer_run_id at %s is longer than 512 bytes%s", r->ptr[F_RUN_ID],
                    "");
    if (memchr(id->str, '\0', id->len))
        return fail(r, why, "customer_run_id at %s contains a NUL character%s", r->ptr[F_RUN_ID],
                    "");
    memcpy(r->run_id, id->str, id->len);
    r->run_id[id->len] = '\0';
    out->customer_run_id = r->run_id;
    out->customer_run_id_len = id->len;

    const kivo_json_node *output = kivo_json_pointer(root, r->ptr[F_OUTPUT]);
    if (!output)
        return fail(r, why, "missing output at %s%s", r->ptr[F_OUTPUT], "");
    if (output->type != KIVO_JSON_STRING)
        return fail(r, why, "output at %s must be a string, not %s", r->ptr[F_OUTPUT],
                    kivo_json_type_name(output->type));
    out->output = output->str;
    out->output_len = output->len;

    /* Missing or null sources is a review with no sources (category no_sources), not a reject. */
    const kivo_json_node *sources = kivo_json_pointer(root, r->ptr[F_SOURCES]);
    size_t n = 0;
    if (sources && sources->type != KIVO_JSON_NULL) {
        if (sources->type == KIVO_JSON_ARRAY) {
            n = sources->len;
        } else if (sources->type == KIVO_JSON_STRING || sources->type == KIVO_JSON_OBJECT) {
            n = 1; /* a lone source, not wrapped in an array */
        } else {
            return fail(r, why, "sources at %s must be an array, not %s", r->ptr[F_SOURCES],
                        kivo_json_type_name(sources->type));
        }
    }
    st = grow_sources(r, n ? n : 1);
    if (st != KIVO_OK)
        return st;
    if (sources && sources->type == KIVO_JSON_ARRAY) {
        size_t i = 0;
        for (const kivo_json_node *el = sources->child; el; el = el->next, i++)
            if ((st = read_source(r, el, i, why)) != KIVO_OK)
                return st;
    } else if (n == 1) {
        if ((st = read_source(r, sources, 0, why)) != KIVO_OK)
            return st;
    }
    /* Flattened texts live in one buffer that may have moved while growing: point at it now. */
    for (size_t i = 0; i < n; i++)
        if (r->flat_off[i] != (size_t)-1)
            r->sources[i].text = r->flat.data ? r->flat.data + r->flat_off[i] : "";
    out->sources = r->sources;
    out->n_sources = n;
    return KIVO_OK;
}
