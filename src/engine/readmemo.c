/*
 * readmemo.c - the sentence layer's readings kept across reviews (readmemo_int.h).
 *
 * One arena holds the entries back to back: a header (hash, length, token count, reading), the
 * sentence's bytes, its tokens, its annotations. An open-addressing table of arena offsets finds
 * them by hash; a hit is confirmed by comparing the bytes. When the arena or the table is full,
 * both are emptied at once: no entry is ever moved or freed alone, and memory stays what
 * kv_readmemo_create allocated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kivo/hash.h"
#include "readmemo_int.h"

typedef struct entry {
    uint64_t h;
    uint32_t len, n;
    kv_reading r;
} entry;

struct kv_readmemo {
    unsigned char *arena;
    size_t cap, used;
    uint32_t *slot; /* arena offset + 1 of an entry, 0 when empty */
    size_t n_slots, n_entries;
    size_t hits, misses;
};

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

kv_readmemo *kv_readmemo_create(size_t arena_bytes)
{
    if (arena_bytes < 4096 || arena_bytes > UINT32_MAX)
        return NULL;
    kv_readmemo *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    /* A slot per 128 bytes of arena: entries are several hundred bytes, so the table stays at
     * most about half full before the arena fills. */
    m->n_slots = 1;
    while (m->n_slots < arena_bytes / 128)
        m->n_slots *= 2;
    m->arena = malloc(arena_bytes);
    m->slot = calloc(m->n_slots, sizeof *m->slot);
    if (!m->arena || !m->slot) {
        kv_readmemo_free(m);
        return NULL;
    }
    m->cap = arena_bytes;
    return m;
}

void kv_readmemo_free(kv_readmemo *m)
{
    if (!m)
        return;
    free(m->arena);
    free(m->slot);
    free(m);
}

static size_t entry_size(size_t len, size_t n)
{
    return ALIGN8(sizeof(entry) + len) + n * sizeof(kv_token) + ALIGN8(n * sizeof(kv_ann));
}

static const unsigned char *entry_text(const entry *en)
{
    return (const unsigned char *)(en + 1);
}

static kv_token *entry_tokens(entry *en)
{
    return (kv_token *)((unsigned char *)en + ALIGN8(sizeof(entry) + en->len));
}

static kv_ann *entry_anns(entry *en)
{
    return (kv_ann *)(entry_tokens(en) + en->n);
}

int kv_readmemo_find(kv_readmemo *m, const char *text, size_t len, kv_readmemo_hit *hit)
{
    if (!m || len > UINT32_MAX)
        return 0;
    const uint64_t h = kivo_hash_xxh3(text, len);
    for (size_t i = (size_t)h & (m->n_slots - 1);; i = (i + 1) & (m->n_slots - 1)) {
        uint32_t at = m->slot[i];
        if (!at) {
            m->misses++;
            return 0;
        }
        entry *en = (entry *)(m->arena + at - 1);
        if (en->h == h && en->len == len && memcmp(entry_text(en), text, len) == 0) {
            hit->t = entry_tokens(en);
            hit->a = entry_anns(en);
            hit->n = en->n;
            hit->r = &en->r;
            m->hits++;
            return 1;
        }
    }
}

void kv_readmemo_put(kv_readmemo *m, const char *text, size_t len, const kv_token *t, size_t n,
                     const kv_reading *r)
{
    if (!m || len > UINT32_MAX || n > UINT32_MAX)
        return;
    const size_t size = entry_size(len, n);
    if (size > m->cap / 8)
        return;
    if (m->used + size > m->cap || (m->n_entries + 1) * 2 > m->n_slots) {
        memset(m->slot, 0, m->n_slots * sizeof *m->slot);
        m->used = 0;
        m->n_entries = 0;
    }
    entry *en = (entry *)(m->arena + m->used);
    en->h = kivo_hash_xxh3(text, len);
    en->len = (uint32_t)len;
    en->n = (uint32_t)n;
    en->r = *r;
    en->r.text = NULL;
    en->r.t = NULL;
    en->r.a = NULL;
    memcpy(en + 1, text, len);
    if (n) {
        memcpy(entry_tokens(en), t, n * sizeof *t);
        memcpy(entry_anns(en), r->a, n * sizeof *r->a);
    }
    size_t i = (size_t)en->h & (m->n_slots - 1);
    while (m->slot[i])
        i = (i + 1) & (m->n_slots - 1);
    m->slot[i] = (uint32_t)(m->used + 1);
    m->used += size;
    m->n_entries++;
}

void kv_readmemo_stats(const kv_readmemo *m, size_t *hits, size_t *misses)
{
    *hits = m ? m->hits : 0;
    *misses = m ? m->misses : 0;
}
