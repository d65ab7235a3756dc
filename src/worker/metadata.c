/*
 * metadata.c - fields.metadata and fields.label: read by JSON Pointer from each record, written
 * after the last member of its local claim report, and nowhere else.
 *
 * The report comes from the engine's renderer with a fixed key order; the additions are spliced
 * in place of its closing brace rather than passed through the engine, so that the engine and the
 * event renderer never see a metadata value (nothing to leak by mistake) and a spec without
 * metadata leaves every byte as it was.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "metadata.h"

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > WK_META_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != ':' && c != '-')
            return 0;
    }
    return 1;
}

static int pointer_ok(const kivo_json_node *n)
{
    return n && n->type == KIVO_JSON_STRING && n->len > 0 && n->len <= WK_META_POINTER_MAX &&
           n->str[0] == '/' && !memchr(n->str, 0, n->len);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int wk_meta_spec_load(const kivo_json_node *metadata, const kivo_json_node *label, wk_meta_spec *m,
                      char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (metadata && metadata->type != KIVO_JSON_NULL) {
        if (metadata->type != KIVO_JSON_OBJECT) {
            snprintf(err, errlen,
                     "job spec: field \"fields.metadata\" must be an object of name "
                     "-> JSON Pointer, such as {\"model\":\"/meta/model\"}");
            return -1;
        }
        if (metadata->len > WK_META_MAX_NAMES) {
            snprintf(err, errlen, "job spec: field \"fields.metadata\" has %zu names; at most %d",
                     metadata->len, WK_META_MAX_NAMES);
            return -1;
        }
        for (const kivo_json_node *c = metadata->child; c; c = c->next) {
            int shown = (int)(c->key_len > 64 ? 64 : c->key_len);
            if (!name_ok(c->key, c->key_len)) {
                snprintf(err, errlen,
                         "job spec: name \"%.*s\" in \"fields.metadata\" must be 1 to "
                         "%d of A-Z a-z 0-9 _ . : -",
                         shown, c->key, WK_META_NAME_MAX);
                goto fail;
            }
            if (!pointer_ok(c)) {
                snprintf(err, errlen,
                         "job spec: field \"fields.metadata.%.*s\" must be a JSON "
                         "Pointer such as \"/meta/model\" (at most %d bytes)",
                         shown, c->key, WK_META_POINTER_MAX);
                goto fail;
            }
            m->name[m->n] = dup_n(c->key, c->key_len);
            m->pointer[m->n] = dup_n(c->str, c->len);
            m->n++;
            if (!m->name[m->n - 1] || !m->pointer[m->n - 1]) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    if (label && label->type != KIVO_JSON_NULL) {
        if (!pointer_ok(label)) {
            snprintf(err, errlen,
                     "job spec: field \"fields.label\" must be a JSON Pointer such as "
                     "\"/label\" (to a boolean, \"hallucinated\"/\"faithful\" or "
                     "\"fail\"/\"pass\")");
            goto fail;
        }
        if (!(m->label = dup_n(label->str, label->len))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    wk_meta_spec_free(m);
    return -1;
}

void wk_meta_spec_free(wk_meta_spec *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->name[i]);
        free(m->pointer[i]);
    }
    free(m->label);
    memset(m, 0, sizeof *m);
}

int wk_meta_active(const wk_meta_spec *m)
{
    return m->n > 0 || m->label != NULL;
}

int wk_meta_find(const wk_meta_spec *m, const char *name, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->name[i]) == len && memcmp(m->name[i], name, len) == 0)
            return (int)i;
    return -1;
}

static int word_is(const kivo_json_node *n, const char *w)
{
    size_t k = strlen(w);
    return n->len == k && strncasecmp(n->str, w, k) == 0;
}

wk_label wk_meta_label(const wk_meta_spec *m, const kivo_json_node *root)
{
    const kivo_json_node *n = m->label ? kivo_json_pointer(root, m->label) : NULL;
    if (!n)
        return WK_LABEL_NONE;
    if (n->type == KIVO_JSON_BOOL)
        return n->boolean ? WK_LABEL_HALLUCINATED : WK_LABEL_FAITHFUL;
    if (n->type == KIVO_JSON_STRING) {
        if (word_is(n, "hallucinated") || word_is(n, "fail"))
            return WK_LABEL_HALLUCINATED;
        if (word_is(n, "faithful") || word_is(n, "pass"))
            return WK_LABEL_FAITHFUL;
    }
    return WK_LABEL_NONE;
}

const char *wk_label_name(wk_label l)
{
    return l == WK_LABEL_HALLUCINATED ? "hallucinated" : l == WK_LABEL_FAITHFUL ? "faithful" : NULL;
}

/* The longest prefix of s[0..n) of at most max bytes that ends on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

const char *wk_meta_value_text(const wk_meta_spec *m, size_t i, const kivo_json_node *root,
                               size_t *len)
{
    const kivo_json_node *n = i < m->n ? kivo_json_pointer(root, m->pointer[i]) : NULL;
    *len = 0;
    if (!n)
        return NULL;
    switch (n->type) {
    case KIVO_JSON_STRING: *len = utf8_cut(n->str, n->len, WK_META_STRING_MAX); return n->str;
    case KIVO_JSON_NUMBER: *len = n->len; return n->str;
    case KIVO_JSON_BOOL: *len = n->boolean ? 4 : 5; return n->boolean ? "true" : "false";
    default: return NULL;
    }
}

/* Appends a record's scalar as JSON: a string cut to WK_META_STRING_MAX bytes, a number as
 * written (so that a group keyed by it reads the same from the report), true, false; null for a
 * missing value, null, an object or an array (only scalars are copied). */
static kivo_status put_value(kivo_buf *out, const kivo_json_node *n)
{
    if (n && n->type == KIVO_JSON_STRING) {
        json_t *s = json_stringn(n->str, utf8_cut(n->str, n->len, WK_META_STRING_MAX));
        char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        kivo_status st = text ? kivo_buf_append_str(out, text) : KIVO_ENOMEM;
        free(text);
        json_decref(s);
        return st;
    }
    if (n && n->type == KIVO_JSON_NUMBER && n->str)
        return kivo_buf_append(out, n->str, n->len);
    if (n && n->type == KIVO_JSON_BOOL)
        return kivo_buf_append_str(out, n->boolean ? "true" : "false");
    return kivo_buf_append_str(out, "null");
}

kivo_status wk_meta_splice(const wk_meta_spec *m, const kivo_json_node *root, kivo_buf *reports,
                           size_t report_off)
{
    if (!wk_meta_active(m))
        return KIVO_OK;
    size_t len = reports->len - report_off;
    const char *r = reports->data + report_off;
    if (len < 3 || r[0] != '{' || r[len - 2] != '}' || r[len - 1] != '\n')
        return KIVO_EINVAL;
    /* {"a":1} + "\n" -> {"a":1,"metadata":{...},"label":...} + "\n". Names are checked
     * [A-Za-z0-9_.:-], so they need no escaping. */
    size_t mark = reports->len;
    kivo_status st = KIVO_OK;
    reports->len -= 2;
    if (m->n) {
        st = kivo_buf_append_str(reports, ",\"metadata\":{");
        for (size_t i = 0; st == KIVO_OK && i < m->n; i++) {
            st = kivo_buf_printf(reports, "%s\"%s\":", i ? "," : "", m->name[i]);
            if (st == KIVO_OK)
                st = put_value(reports, kivo_json_pointer(root, m->pointer[i]));
        }
        if (st == KIVO_OK)
            st = kivo_buf_append(reports, "}", 1);
    }
    if (st == KIVO_OK && m->label) {
        const char *l = wk_label_name(wk_meta_label(m, root));
        st = kivo_buf_printf(reports, ",\"label\":%s%s%s", l ? "\"" : "", l ? l : "null",
                             l ? "\"" : "");
    }
    if (st == KIVO_OK)
        st = kivo_buf_append(reports, "}\n", 2);
    if (st == KIVO_OK && reports->data[mark - 3] == '{') {
        /* An empty object: its first member needs no comma. */
        memmove(reports->data + mark - 2, reports->data + mark - 1, reports->len - (mark - 1));
        reports->len--;
        reports->data[reports->len] = '\0';
    }
    if (st != KIVO_OK) {
        /* Leave the report as it came. */
        reports->len = mark - 2;
        if (kivo_buf_append(reports, "}\n", 2) != KIVO_OK)
            reports->len = mark;
    }
    return st;
}
