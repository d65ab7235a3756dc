/*
 * sentmemo_int.h - the source index's sentence memo (sentmemo.c): what the index needs from a
 * source sentence (its postings, whether it negates, whether it holds a number), kept by the
 * sentence's bytes, so a sentence that comes back in another record (a knowledge base's passage
 * that support and RAG traces retrieve again and again) is not tokenized again. One per engine;
 * index.c decides when a sentence may be read apart from its neighbours (docs/engine.md).
 */
#ifndef KIVO_SENTMEMO_INT_H
#define KIVO_SENTMEMO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/status.h"

#define KV_MEMO_INERT 0x01 /* two tokens at least, and neither opens a quantity rule */
#define KV_MEMO_MONTH 0x10 /* one of them may be a month after a day ("5 March") */
#define KV_MEMO_NEG 0x02   /* the sentence holds a negation cue (kv_sentence.negated) */
#define KV_MEMO_NUM 0x04   /* the sentence holds a number (kv_sentence.has_number) */
#define KV_MEMO_POSTS 0x08 /* the entry holds the sentence's postings */

typedef struct kv_sentmemo kv_sentmemo;

/* A sentence's key: its bytes hashed with the process's secret, and its length. */
typedef struct kv_memo_key {
    uint64_t lo, hi;
    uint32_t len;
} kv_memo_key;

/* What the memo holds of a sentence: KV_MEMO_* flags and, with KV_MEMO_POSTS, its n posting
 * hashes (token postings, then initials, in the index's order). post stays valid until the
 * next kv_sentmemo_begin. */
typedef struct kv_memo_val {
    const uint64_t *post;
    uint32_t n;
    uint8_t flags;
} kv_memo_val;

/* 0 when KIVO_ENGINE_MEMO=0 is set in the environment, else 1: the one switch of the engine's
 * memos across reviews, this one and the sentence layer's (readmemo.c); the tests and fuzz
 * targets compare reports with them and without. */
int kv_memo_wanted(void);

/* NULL when KIVO_ENGINE_MEMO=0 is set in the environment (no memo: the index tokenizes every
 * source whole, as before), else *out; KIVO_ENOMEM when it cannot be made. */
kivo_status kv_sentmemo_create(kv_sentmemo **out);
void kv_sentmemo_free(kv_sentmemo *m);

/* Called at each record's index build: 0 when the record is to be read without the memo (its
 * recent hit rate is low), else 1, the memo emptied first when an entry did not fit since. */
int kv_sentmemo_begin(kv_sentmemo *m);

/* The key of s[0..len). */
void kv_sentmemo_key(const kv_sentmemo *m, const char *s, size_t len, kv_memo_key *key);

/* Starts loading the slot where key's entry would be, for a kv_sentmemo_find soon after. */
void kv_sentmemo_prefetch(const kv_sentmemo *m, const kv_memo_key *key);

/* 1 and *val when the memo holds key, else 0. */
int kv_sentmemo_find(kv_sentmemo *m, const kv_memo_key *key, kv_memo_val *val);

/* Keeps flags and post[0..n) (copied; with KV_MEMO_POSTS only) for key. @return 1 when kept
 * (*val then points into the memo), 0 when the memo is full (it is emptied at the next begin). */
int kv_sentmemo_put(kv_sentmemo *m, const kv_memo_key *key, uint8_t flags, const uint64_t *post,
                    size_t n, kv_memo_val *val);

/* Counters for measurements (docs/performance.md): lookups, hits, clears. */
typedef struct kv_memo_stats {
    uint64_t lookups, hits, puts, full, clears;
    uint64_t rested;         /* records read without the memo for its low hit rate */
    uint64_t alone, in_runs; /* index.c's: spans read alone, in runs of several */
} kv_memo_stats;
/* The memo's counters, for index.c to count in and measurements to read. */
kv_memo_stats *kv_sentmemo_counters(kv_sentmemo *m);

#endif
