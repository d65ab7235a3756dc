/*
 * readmemo_int.h - the sentence layer's readings kept across reviews.
 *
 * align.c reads each window sentence by itself: its bytes tokenized alone, then read into
 * clauses (kv_clause_read). Both are functions of the sentence's bytes and of the engine's
 * constant tables only, and the same knowledge-base sentences come back in record after record.
 * The memo keeps the tokens and the reading of recent sentences, keyed by their bytes (a copy is
 * kept and compared, so a hit is exact, not merely a hash match), in one arena of fixed size per
 * engine: when it is full it is emptied and fills again. A hit gives the same tokens and reading
 * the two calls would give, so reports are the same bytes with the memo or without it.
 */
#ifndef KIVO_READMEMO_INT_H
#define KIVO_READMEMO_INT_H

#include <stddef.h>

#include "sense_int.h"

typedef struct kv_readmemo kv_readmemo;

/* A memo of arena_bytes (0: none; every lookup misses). */
kv_readmemo *kv_readmemo_create(size_t arena_bytes);
void kv_readmemo_free(kv_readmemo *m);

/* A kept sentence: its n tokens and their annotations, and its reading (whose text, t and a
 * pointers are not set: the caller points them at its own copies). */
typedef struct kv_readmemo_hit {
    const kv_token *t;
    const kv_ann *a;
    size_t n;
    const kv_reading *r;
} kv_readmemo_hit;

/* 1 and *hit when text[0..len) is kept; else 0. */
int kv_readmemo_find(kv_readmemo *m, const char *text, size_t len, kv_readmemo_hit *hit);

/* Keeps text[0..len) with its tokens t[0..n) and reading r (r->a holds n annotations). A
 * sentence that would take more than an eighth of the arena is not kept. */
void kv_readmemo_put(kv_readmemo *m, const char *text, size_t len, const kv_token *t, size_t n,
                     const kv_reading *r);

/* Lookups that found their sentence and lookups that did not, since the memo was made (0 and 0
 * for no memo). */
void kv_readmemo_stats(const kv_readmemo *m, size_t *hits, size_t *misses);

/* The engine's memo (sense.c), or NULL when it has none. */
kv_readmemo *kv_engine_readmemo(const kivo_engine *e);

/* The memo's bytes when KIVO_ENGINE_MEMO is unset: engines of a process share nothing, so a
 * batch of T threads holds T of them. KIVO_ENGINE_MEMO=0 turns the memo off (the tests compare
 * reports with it on and off). */
#define KV_READMEMO_BYTES (512u * 1024u)

#endif
