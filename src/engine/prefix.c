/*
 * prefix.c - negative prefixes: a claim word the sources lack, whose form with or without a
 * negative prefix they hold ("worn" / "unworn", "uncommon" / "common", "ineligible" /
 * "eligible"), is held with its polarity turned.
 *
 * English forms the negation of an adjective or participle with un-, in- (im-, il-, ir- before
 * b/m/p, l, r), dis- and non- (Quirk et al. 1985, App. I.21). The claim word is the one the
 * sources do not hold, so the lookups cost a few hashes per missing word and nothing for the
 * others; the turned polarity is read by the sentence layer (align.c), so "not uncommon" agrees
 * with "common" and "worn clothing" disagrees with "unworn clothing".
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine_int.h"

#define PREFIX_ROOT_MIN 4 /* letters the word keeps without its prefix */
#define PREFIX_WORD_MAX 40

static const char *const prefixes[] = {"un", "in", "im", "il", "ir", "dis", "non"};
#define N_PREFIXES (sizeof prefixes / sizeof prefixes[0])

/* h when the sources hold hash h, else 0. */
static uint64_t held_hash(const kivo_engine *e, uint64_t h)
{
    size_t np;
    return kv_index_find(e, h, &np) && np > 0 ? h : 0;
}

/* The hash of folded w[0..n) when the sources hold it, else 0. */
static uint64_t held(kivo_engine *e, const char *w, size_t n)
{
    return held_hash(e, kv_lexicon_word_hash(e->lx, w, n));
}

/* The hashes of a word with each prefix ("unworn", "inworn" ... for "worn"), kept across claims
 * and reviews: a claim word the sources lack comes back in claim after claim, and its seven
 * made-up forms each cost a stem-cache probe (a cache miss: kv_lexicon_word_hash was 1.4% of a
 * review's time here) and often the stemmer. The hashes depend on the word alone; which of
 * them the sources hold is asked of the index each time. Direct-mapped by the word's XXH3. */
#define MEMO_SLOTS 256 /* 26 KiB per engine */

struct kv_prefix_memo {
    uint8_t len;  /* the word's length; 0: an empty slot */
    uint8_t have; /* bit p: with[p] is made */
    char w[PREFIX_WORD_MAX];
    uint64_t with[N_PREFIXES]; /* the hash of prefixes[p] + the word */
};
_Static_assert(N_PREFIXES <= 8, "kv_prefix_memo.have has a bit for each prefix");

/* The memo's slot for folded word[0..len), emptied for it when it holds another word; NULL when
 * the memo cannot be made (then every hash is made as before). */
static struct kv_prefix_memo *memo_slot(kivo_engine *e, const char *word, size_t len)
{
    if (!e->prefix_memo && !(e->prefix_memo = calloc(MEMO_SLOTS, sizeof *e->prefix_memo)))
        return NULL;
    struct kv_prefix_memo *m = &e->prefix_memo[XXH3_64bits(word, len) & (MEMO_SLOTS - 1)];
    if (m->len != len || memcmp(m->w, word, len) != 0) {
        m->len = (uint8_t)len;
        m->have = 0;
        memcpy(m->w, word, len);
    }
    return m;
}

void kv_prefix_hold(kivo_engine *e, const char *text, const kv_token *toks, size_t n)
{
    kv_claim_scratch *cs = &e->cs;
    for (size_t k = 0; k < cs->n_terms; k++) {
        cs->alt[k] = 0;
        const kv_token *t = cs->terms[k];
        size_t len = t->end - t->start;
        if (cs->present[k] || t->kind != KV_TOK_WORD || len < PREFIX_ROOT_MIN ||
            len + 3 > PREFIX_WORD_MAX)
            continue;
        char w[PREFIX_WORD_MAX + 4];
        int ascii = 1;
        for (size_t i = 0; i < len && ascii; i++) {
            char c = text[t->start + i];
            ascii = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            w[i + 3] = (char)(c | 0x20);
        }
        if (!ascii)
            continue;
        char *word = w + 3;
        uint64_t h = 0;
        /* Without its prefix: "uncommon" for "common". */
        for (size_t p = 0; p < N_PREFIXES && !h; p++) {
            size_t pl = strlen(prefixes[p]);
            if (len >= pl + PREFIX_ROOT_MIN && memcmp(word, prefixes[p], pl) == 0)
                h = held(e, word + pl, len - pl);
        }
        /* With one: "worn" for "unworn". */
        struct kv_prefix_memo *m = h ? NULL : memo_slot(e, word, len);
        for (size_t p = 0; p < N_PREFIXES && !h; p++) {
            if (m && (m->have >> p & 1)) {
                h = held_hash(e, m->with[p]);
                continue;
            }
            size_t pl = strlen(prefixes[p]);
            memcpy(word - pl, prefixes[p], pl);
            const uint64_t hp = kv_lexicon_word_hash(e->lx, word - pl, len + pl);
            if (m) {
                m->with[p] = hp;
                m->have |= (uint8_t)(1u << p);
            }
            h = held_hash(e, hp);
        }
        if (h) {
            cs->present[k] = 1;
            cs->alt[k] = h;
        }
    }
    (void)toks;
    (void)n;
}
