/*
 * groups.c - the value dictionaries behind --group-by: per field, an open-addressing table of at
 * most WK_GROUP_MAX_VALUES values (XXH3 of the bytes, then a byte compare), in a table twice that
 * size so that probes stay short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "kivo/hash.h"

#define TABLE 2048 /* power of two, > 2 * WK_GROUP_MAX_VALUES */

typedef struct value {
    char *text; /* NULL: the run has no value */
    size_t len;
} value;

typedef struct field {
    char *name;
    size_t meta_index;
    value values[WK_GROUP_MAX_VALUES];
    size_t n;
    int missing_slot;   /* the slot of "no value", or -1 */
    short table[TABLE]; /* slot + 1, 0 empty */
    int overflowed;
} field;

struct wk_groups {
    field *f;
    size_t n;
};

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

int wk_groups_create(const char *list, const wk_meta_spec *m, wk_groups **out, char *err,
                     size_t errlen)
{
    wk_groups *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g || !(g->f = calloc(WK_GROUP_MAX_FIELDS, sizeof *g->f)))
        goto oom;
    size_t commas = 0;
    for (const char *p = list; *p; p++)
        commas += *p == ',';
    if (commas >= WK_GROUP_MAX_FIELDS) {
        snprintf(err, errlen, "--group-by takes at most %d names", WK_GROUP_MAX_FIELDS);
        goto fail;
    }
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int ok = len > 0 && len <= WK_META_NAME_MAX;
        for (size_t i = 0; ok && i < len; i++)
            ok = name_char(p[i]);
        if (!ok) {
            snprintf(err, errlen,
                     "--group-by takes metadata names separated by commas "
                     "(\"model,split\"), not \"%s\"",
                     list);
            goto fail;
        }
        for (size_t i = 0; i < g->n; i++) {
            if (strlen(g->f[i].name) == len && memcmp(g->f[i].name, p, len) == 0) {
                snprintf(err, errlen, "--group-by names \"%.*s\" twice", (int)len, p);
                goto fail;
            }
        }
        if (g->n == WK_GROUP_MAX_FIELDS) {
            snprintf(err, errlen, "--group-by takes at most %d names", WK_GROUP_MAX_FIELDS);
            goto fail;
        }
        field *f = &g->f[g->n];
        if (m) {
            int k = wk_meta_find(m, p, len);
            if (k < 0) {
                char names[512] = "";
                for (size_t i = 0; i < m->n; i++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             i ? ", " : "", m->name[i]);
                snprintf(err, errlen,
                         "--group-by %.*s: the job spec's \"fields.metadata\" has no "
                         "such name (%s%s)",
                         (int)len, p, m->n ? "it has: " : "it has none", names);
                goto fail;
            }
            f->meta_index = (size_t)k;
        }
        if (!(f->name = malloc(len + 1)))
            goto oom;
        memcpy(f->name, p, len);
        f->name[len] = '\0';
        f->missing_slot = -1;
        g->n++;
        if (!e)
            break;
        p = e + 1;
    }
    *out = g;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    wk_groups_free(g);
    return -1;
}

void wk_groups_free(wk_groups *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->f && i < g->n; i++) {
        free(g->f[i].name);
        for (size_t k = 0; k < g->f[i].n; k++)
            free(g->f[i].values[k].text);
    }
    free(g->f);
    free(g);
}

size_t wk_groups_fields(const wk_groups *g)
{
    return g->n;
}

const char *wk_groups_name(const wk_groups *g, size_t field)
{
    return g->f[field].name;
}

size_t wk_groups_meta_index(const wk_groups *g, size_t field)
{
    return g->f[field].meta_index;
}

int wk_groups_slot(wk_groups *g, size_t fi, const char *text, size_t len)
{
    field *f = &g->f[fi];
    if (!text) {
        if (f->missing_slot >= 0)
            return f->missing_slot;
    } else {
        size_t h = (size_t)kivo_hash_xxh3(text, len) & (TABLE - 1);
        for (; f->table[h]; h = (h + 1) & (TABLE - 1)) {
            const value *v = &f->values[f->table[h] - 1];
            if (v->text && v->len == len && memcmp(v->text, text, len) == 0)
                return f->table[h] - 1;
        }
        if (f->n == WK_GROUP_MAX_VALUES) {
            f->overflowed = 1;
            return WK_GROUP_OTHER;
        }
        f->table[h] = (short)(f->n + 1);
    }
    if (f->n == WK_GROUP_MAX_VALUES) {
        f->overflowed = 1;
        return WK_GROUP_OTHER;
    }
    value *v = &f->values[f->n];
    v->len = len;
    v->text = NULL;
    if (text) {
        if (!(v->text = malloc(len + 1))) {
            f->table[(size_t)kivo_hash_xxh3(text, len) & (TABLE - 1)] = 0;
            return -1;
        }
        memcpy(v->text, text, len);
        v->text[len] = '\0';
    } else {
        f->missing_slot = (int)f->n;
    }
    return (int)f->n++;
}

static int by_value(const void *a, const void *b, void *arg)
{
    const field *f = arg;
    const value *x = &f->values[*(const int *)a], *y = &f->values[*(const int *)b];
    if (!x->text || !y->text)
        return !x->text - !y->text;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

size_t wk_groups_sorted(const wk_groups *g, size_t fi, int *slots)
{
    const field *f = &g->f[fi];
    for (size_t i = 0; i < f->n; i++)
        slots[i] = (int)i;
    qsort_r(slots, f->n, sizeof *slots, by_value, (void *)f);
    return f->n;
}

json_t *wk_groups_value_json(const wk_groups *g, size_t fi, int slot)
{
    size_t len;
    const char *v = wk_groups_value(g, fi, slot, &len);
    return v ? json_stringn(v, len) : json_null();
}

int wk_groups_overflowed(const wk_groups *g, size_t fi)
{
    return g->f[fi].overflowed;
}

const char *wk_groups_value(const wk_groups *g, size_t fi, int slot, size_t *len)
{
    const field *f = &g->f[fi];
    *len = 0;
    if (slot < 0 || (size_t)slot >= f->n)
        return NULL;
    *len = f->values[slot].len;
    return f->values[slot].text;
}
