/*
 * sentmemo.c - the source index's sentence memo: a fixed table of sentences by key (XXH3-128 of
 * their bytes under a secret drawn once per process, and their length) and a fixed pool of their
 * postings. It never grows: when a sentence does not fit, the memo is emptied at the next record
 * (kv_sentmemo_begin), so its memory is the same from the first record to the last.
 *
 * The key is a hash, not the bytes: two different sentences with one key and length would share
 * postings. The secret is drawn from the kernel when the first engine is made, so a tenant who
 * writes sources cannot compute which texts collide; by chance, two of the at most 8,192
 * sentences held at once collide with a probability under 2^-100 (docs/engine.md).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "sentmemo_int.h"

#define SLOTS (1u << 14)     /* entries, a power of two: 384 KiB */
#define MAX_USED (SLOTS / 2) /* entries held at most, so that probes stay short */
#define POOL (1u << 16)      /* posting hashes of all entries: 512 KiB */
#define PROBES 16            /* slots tried from a key's own before the memo counts as full */
#define WINDOW 512           /* lookups over which the memo judges its hit rate */
#define REST_FIRST 7         /* records read without the memo after a window of few hits, */
#define REST_MAX 255         /* doubling (+1) while the windows after stay so, to this */
#define MAX_POSTS 255        /* a sentence with more postings is not kept (nor counted full) */
#define MAX_LEN 65535        /* nor one of more bytes */
#define SECRET_SIZE 192      /* bytes of the hash's secret (XXH3 wants 136 at least), 8 a word */

/* 24 bytes. A slot is empty when len is 0 (a sentence has a byte at least). */
typedef struct entry {
    uint64_t lo, hi;
    uint16_t len;
    uint16_t off; /* its first posting in the pool */
    uint8_t n;    /* postings */
    uint8_t flags;
} entry;

struct kv_sentmemo {
    entry *slot;
    uint64_t *pool;
    size_t n_pool, n_used;
    int full; /* a sentence did not fit since the last begin */
    /* The hit rate of the records read with the memo, WINDOW lookups at a time: under a quarter
     * (sources that do not repeat), the next rest_len records are read without it, whose misses
     * would cost more than its hits save; a window of hits again ends the rests. */
    uint32_t looked, hit, rest, rest_len;
    kv_memo_stats stats;
};

static unsigned char secret[SECRET_SIZE];
static once_flag secret_once = ONCE_FLAG_INIT;

/* The secret: random bytes from the kernel, as XXH3 wants a secret to look. */
static void secret_make(void)
{
    size_t got = 0;
    while (got < sizeof secret) {
        ssize_t r = getrandom(secret + got, sizeof secret - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == sizeof secret)
        return;
    /* No kernel randomness (a sandbox without getrandom): the clock and the process, spread. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t mix[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid()};
    for (size_t i = 0; i < sizeof secret; i += 8) {
        uint64_t w = XXH64(mix, sizeof mix, i);
        memcpy(secret + i, &w, 8);
    }
}

int kv_memo_wanted(void)
{
    const char *env = getenv("KIVO_ENGINE_MEMO");
    return !(env && strcmp(env, "0") == 0);
}

kivo_status kv_sentmemo_create(kv_sentmemo **out)
{
    *out = NULL;
    if (!kv_memo_wanted())
        return KIVO_OK;
    call_once(&secret_once, secret_make);
    kv_sentmemo *m = calloc(1, sizeof *m);
    if (!m)
        return KIVO_ENOMEM;
    m->slot = calloc(SLOTS, sizeof *m->slot);
    m->pool = malloc(POOL * sizeof *m->pool);
    if (!m->slot || !m->pool) {
        kv_sentmemo_free(m);
        return KIVO_ENOMEM;
    }
    *out = m;
    return KIVO_OK;
}

void kv_sentmemo_free(kv_sentmemo *m)
{
    if (!m)
        return;
    free(m->slot);
    free(m->pool);
    free(m);
}

int kv_sentmemo_begin(kv_sentmemo *m)
{
    if (m->rest > 0) {
        m->rest--;
        m->stats.rested++;
        return 0;
    }
    if (m->looked >= WINDOW) {
        if (m->hit < m->looked / 4) {
            m->rest_len = m->rest_len ? m->rest_len * 2 + 1 : REST_FIRST;
            if (m->rest_len > REST_MAX)
                m->rest_len = REST_MAX;
            m->rest = m->rest_len;
        } else {
            m->rest_len = 0;
        }
        m->looked = m->hit = 0;
        if (m->rest > 0) {
            m->rest--;
            m->stats.rested++;
            return 0;
        }
    }
    if (m->full) {
        memset(m->slot, 0, SLOTS * sizeof *m->slot);
        m->n_pool = m->n_used = 0;
        m->full = 0;
        m->stats.clears++;
    }
    return 1;
}

void kv_sentmemo_key(const kv_sentmemo *m, const char *s, size_t len, kv_memo_key *key)
{
    (void)m;
    XXH128_hash_t h = XXH3_128bits_withSecret(s, len, secret, sizeof secret);
    key->lo = h.low64;
    key->hi = h.high64;
    key->len = (uint32_t)len;
}

void kv_sentmemo_prefetch(const kv_sentmemo *m, const kv_memo_key *key)
{
    __builtin_prefetch(&m->slot[(size_t)key->lo & (SLOTS - 1)]);
}

int kv_sentmemo_find(kv_sentmemo *m, const kv_memo_key *key, kv_memo_val *val)
{
    m->stats.lookups++;
    m->looked++;
    size_t i = (size_t)key->lo & (SLOTS - 1);
    for (unsigned p = 0; p < PROBES; p++, i = (i + 1) & (SLOTS - 1)) {
        const entry *en = &m->slot[i];
        if (!en->len)
            return 0;
        if (en->lo == key->lo && en->hi == key->hi && en->len == key->len) {
            val->post = m->pool + en->off;
            val->n = en->n;
            val->flags = en->flags;
            m->stats.hits++;
            m->hit++;
            return 1;
        }
    }
    return 0;
}

int kv_sentmemo_put(kv_sentmemo *m, const kv_memo_key *key, uint8_t flags, const uint64_t *post,
                    size_t n, kv_memo_val *val)
{
    if (!(flags & KV_MEMO_POSTS))
        n = 0;
    if (n > MAX_POSTS || key->len > MAX_LEN)
        return 0;
    if (m->n_pool + n > POOL || m->n_used == MAX_USED) {
        m->full = 1;
        m->stats.full++;
        return 0;
    }
    size_t i = (size_t)key->lo & (SLOTS - 1);
    for (unsigned p = 0; p < PROBES; p++, i = (i + 1) & (SLOTS - 1)) {
        entry *en = &m->slot[i];
        if (en->len)
            continue;
        en->lo = key->lo;
        en->hi = key->hi;
        en->len = (uint16_t)key->len;
        en->off = (uint16_t)m->n_pool;
        en->n = (uint8_t)n;
        en->flags = flags;
        if (n)
            memcpy(m->pool + m->n_pool, post, n * sizeof *post);
        m->n_pool += n;
        m->n_used++;
        m->stats.puts++;
        val->post = m->pool + en->off;
        val->n = en->n;
        val->flags = flags;
        return 1;
    }
    m->full = 1;
    m->stats.full++;
    return 0;
}

kv_memo_stats *kv_sentmemo_counters(kv_sentmemo *m)
{
    return &m->stats;
}
