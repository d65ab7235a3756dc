/* seen.c - an open-addressing set of run-id hashes that doubles at three-quarters load. */
#include <stdlib.h>
#include <string.h>

#include "kivo/hash.h"
#include "seen.h"

struct wk_seen {
    wk_seen_entry *v;
    size_t cap, n;
};

int wk_seen_create(wk_seen **out)
{
    wk_seen *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->cap = 1024;
    s->v = calloc(s->cap, sizeof *s->v);
    if (!s->v) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void wk_seen_free(wk_seen *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

static wk_seen_entry *find(wk_seen_entry *v, size_t cap, uint64_t key)
{
    size_t i = (size_t)key & (cap - 1);
    while (v[i].key && v[i].key != key)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

int wk_seen_add(wk_seen *s, const char *id, uint32_t file, uint64_t line,
                const wk_seen_entry **first)
{
    uint64_t key = kivo_hash_xxh3(id, strlen(id));
    if (!key)
        key = 1;
    *first = NULL;
    if ((s->n + 1) * 4 > s->cap * 3) {
        size_t cap = s->cap * 2;
        wk_seen_entry *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].key)
                *find(v, cap, s->v[i].key) = s->v[i];
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    wk_seen_entry *e = find(s->v, s->cap, key);
    if (e->key) {
        *first = e;
        return 0;
    }
    e->key = key;
    /* All ones is the mark of a place too far to pack (so is the very last file's last line). */
    e->where = (uint64_t)file < (1ull << (64 - WK_SEEN_LINE_BITS)) && line < (1ull << WK_SEEN_LINE_BITS)
                   ? (uint64_t)file << WK_SEEN_LINE_BITS | line
                   : WK_SEEN_UNKNOWN;
    s->n++;
    return 0;
}
