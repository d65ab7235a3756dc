/*
 * seen.c - an open-addressing set of run-id hashes that doubles at three-quarters load, and a
 * second one of the case-folded hashes of the ids that hold capitals (for wk_seen_case()).
 */
#include <stdlib.h>
#include <string.h>

#include "kivo/hash.h"
#include "seen.h"

typedef struct table {
    wk_seen_entry *v;
    size_t cap, n;
} table;

struct wk_seen {
    table ids;    /* every id */
    table folded; /* the folded ids of those with capitals */
};

static int table_init(table *t)
{
    t->cap = 1024;
    t->n = 0;
    t->v = calloc(t->cap, sizeof *t->v);
    return t->v ? 0 : -1;
}

int wk_seen_create(wk_seen **out)
{
    wk_seen *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    if (table_init(&s->ids) != 0 || table_init(&s->folded) != 0) {
        wk_seen_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void wk_seen_free(wk_seen *s)
{
    if (!s)
        return;
    free(s->ids.v);
    free(s->folded.v);
    free(s);
}

static wk_seen_entry *find(wk_seen_entry *v, size_t cap, uint64_t key)
{
    size_t i = (size_t)key & (cap - 1);
    while (v[i].key && v[i].key != key)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static uint64_t key_of(const char *s, size_t len)
{
    uint64_t key = kivo_hash_xxh3(s, len);
    return key ? key : 1;
}

/* Adds key (where it was seen) unless it is there; *first: the entry when it was. */
static int table_add(table *t, uint64_t key, uint32_t file, uint64_t line,
                     const wk_seen_entry **first)
{
    *first = NULL;
    if ((t->n + 1) * 4 > t->cap * 3) {
        size_t cap = t->cap * 2;
        wk_seen_entry *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i].key)
                *find(v, cap, t->v[i].key) = t->v[i];
        free(t->v);
        t->v = v;
        t->cap = cap;
    }
    wk_seen_entry *e = find(t->v, t->cap, key);
    if (e->key) {
        *first = e;
        return 0;
    }
    e->key = key;
    /* All ones is the mark of a place too far to pack (so is the very last file's last line). */
    e->where =
        (uint64_t)file < (1ull << (64 - WK_SEEN_LINE_BITS)) && line < (1ull << WK_SEEN_LINE_BITS)
            ? (uint64_t)file << WK_SEEN_LINE_BITS | line
            : WK_SEEN_UNKNOWN;
    t->n++;
    return 0;
}

int wk_seen_add(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                const wk_seen_entry **first)
{
    return table_add(&s->ids, key_of(id, strlen(id)), file, line, first);
}

int wk_seen_case(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                 const wk_seen_entry **other)
{
    size_t len = strlen(id), caps = 0;
    char small[256], *low = small;
    const wk_seen_entry *e;
    int rc = 0;
    *other = NULL;
    for (size_t i = 0; i < len; i++)
        caps += id[i] >= 'A' && id[i] <= 'Z';
    if (!caps) {
        /* Its folded form is itself: did an id with capitals fold to it? */
        e = find(s->folded.v, s->folded.cap, key_of(id, len));
        *other = e->key ? e : NULL;
        return 0;
    }
    if (len > sizeof small && !(low = malloc(len)))
        return -1;
    for (size_t i = 0; i < len; i++)
        low[i] = id[i] >= 'A' && id[i] <= 'Z' ? (char)(id[i] | 0x20) : id[i];
    uint64_t key = key_of(low, len);
    /* The same id in small letters, seen before; or another with capitals that folds the same. */
    e = find(s->ids.v, s->ids.cap, key);
    if (e->key)
        *other = e;
    if (table_add(&s->folded, key, file, line, &e) != 0)
        rc = -1;
    else if (!*other)
        *other = e;
    if (low != small)
        free(low);
    return rc;
}
