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
#include <string.h>

#include "engine_int.h"

#define PREFIX_ROOT_MIN 4 /* letters the word keeps without its prefix */
#define PREFIX_WORD_MAX 40

static const char *const prefixes[] = {"un", "in", "im", "il", "ir", "dis", "non"};
#define N_PREFIXES (sizeof prefixes / sizeof prefixes[0])

/* The hash of folded w[0..n) when the sources hold it, else 0. */
static uint64_t held(kivo_engine *e, const char *w, size_t n)
{
    size_t np;
    uint64_t h = kv_lexicon_word_hash(e->lx, w, n);
    return kv_index_find(e, h, &np) && np > 0 ? h : 0;
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
        for (size_t p = 0; p < N_PREFIXES && !h; p++) {
            size_t pl = strlen(prefixes[p]);
            memcpy(word - pl, prefixes[p], pl);
            h = held(e, word - pl, len + pl);
        }
        if (h) {
            cs->present[k] = 1;
            cs->alt[k] = h;
        }
    }
    (void)toks;
    (void)n;
}
