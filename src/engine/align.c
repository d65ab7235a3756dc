/*
 * align.c - the claim against its best window, word by word: the window's sentences tokenized
 * and read once per claim (clause.c), and for each claim word, where each sentence holds it and
 * with which polarity.
 *
 * A word matches by its token hash (stem, number value), or through a negative prefix
 * (prefix.c: "worn" against "unworn"), which turns its polarity unless a negation right before
 * the prefixed word already cancels with it ("not unlike"). A word in an "unless" clause is read
 * as negated ("unless B" is "if not B").
 */
#include <stdlib.h>
#include <string.h>

#include "grow_int.h"
#include "readmemo_int.h"
#include "sense_int.h"

/* Source sentence s (an index into e->sents) tokenized and read into the review's cache, once:
 * @return its index in sn->cached, or -1 when there is no memory. */
static long cache_sentence(kivo_engine *e, const kivo_packet *p, size_t s)
{
    kv_sense *sn = e->sense;
    if (sn->slot[s] >= 0)
        return sn->slot[s];
    const kv_sentence *st = &e->sents[s];
    const char *text = p->sources[st->source].text + st->start;
    const size_t len = st->end - st->start;
    /* A sentence an earlier review read: its tokens and reading from the memo (readmemo.c). */
    kv_readmemo_hit hit;
    const int kept = kv_readmemo_find(sn->memo, text, len, &hit);
    const kv_token *toks = hit.t;
    size_t n = hit.n;
    if (!kept) {
        /* Each sentence into a list of its own: the tokenizer reads a token against the tokens
         * before it in the list, at their offsets in the text it is given, which another
         * sentence's tokens are not (a read past the text's end, found by ASan). */
        sn->one.n = 0;
        if (kv_tokenize(e->lx, text, len, &sn->one) != KIVO_OK)
            return -1;
        toks = sn->one.v;
        n = sn->one.n;
    }
    size_t off = sn->cache_toks.n;
    /* One spare token, as for the annotations: a first sentence without tokens must still point
     * into an array, not at NULL + 0 (undefined; clang's UBSan reports it). */
    if (kv_grow((void **)&sn->cache_toks.v, &sn->cache_toks.cap, off + n + 1, sizeof(kv_token),
                256) != KIVO_OK ||
        kv_grow((void **)&sn->cache_ann, &sn->cap_ann, off + n + 1, sizeof(kv_ann), 256) !=
            KIVO_OK ||
        kv_grow((void **)&sn->cached, &sn->cap_cached, sn->n_cached + 1, sizeof *sn->cached, 16) !=
            KIVO_OK)
        return -1;
    if (n)
        memcpy(sn->cache_toks.v + off, toks, n * sizeof *toks);
    sn->cache_toks.n = off + n;
    kv_cached_sent *cs = &sn->cached[sn->n_cached];
    cs->off = off;
    if (kept) {
        cs->r = *hit.r;
        cs->r.text = text;
        cs->r.t = sn->cache_toks.v + off;
        cs->r.a = sn->cache_ann + off;
        if (n)
            memcpy(cs->r.a, hit.a, n * sizeof *hit.a);
    } else {
        cs->r.a = sn->cache_ann + off;
        kv_clause_read(e, text, sn->cache_toks.v + off, n, &cs->r);
        kv_readmemo_put(sn->memo, text, len, sn->cache_toks.v + off, n, &cs->r);
    }
    sn->slot[s] = (int32_t)sn->n_cached;
    return (long)sn->n_cached++;
}

int kv_align_window(kivo_engine *e, const kivo_packet *p, size_t first, size_t last)
{
    kv_sense *sn = e->sense;
    if (last - first + 1 > KV_SENSE_MAX_SENTS || last >= e->n_sents)
        return 0;
    size_t bytes = 0;
    for (size_t s = first; s <= last; s++)
        bytes += e->sents[s].end - e->sents[s].start;
    /* Windows are sentences; one this long is a source without sentence ends. */
    if (bytes > KV_SENSE_MAX_WINDOW * 16)
        return 0;
    long at[KV_SENSE_MAX_SENTS];
    size_t total = 0;
    for (size_t s = first; s <= last; s++) {
        if ((at[s - first] = cache_sentence(e, p, s)) < 0)
            return 0;
        total += sn->cached[at[s - first]].r.n;
        if (total > KV_SENSE_MAX_WINDOW)
            return 0;
    }
    /* The cache's arrays may have moved while it grew: the readings point into them now. */
    sn->n_sents = last - first + 1;
    for (size_t k = 0; k < sn->n_sents; k++) {
        const kv_cached_sent *cs = &sn->cached[at[k]];
        sn->sent[k] = cs->r;
        sn->sent[k].t = sn->cache_toks.v + cs->off;
        sn->sent[k].a = sn->cache_ann + cs->off;
    }
    return 1;
}

/* The bits a source token adds to a word's polarities: positive or negative, and whether that
 * match stands in the reach of a negation, exception or "unless". */
static unsigned pol_bit(const kv_ann *a, int flip)
{
    int neg = a->neg ^ (a->kind == KV_CLAUSE_UNLESS) ^ flip;
    unsigned target = a->target || flip ? KV_POL_TARGET : 0;
    if (neg)
        return KV_POL_NEG | (a->scoped ? KV_POL_NEG_SCOPED : 0) | target;
    return KV_POL_POS | (a->scoped ? KV_POL_POS_SCOPED : 0) | target;
}

/* The same for the match's clause as a whole. */
static unsigned cpol_bit(const kv_reading *r, const kv_ann *a, int flip)
{
    int neg = r->clause_neg[a->clause] ^ a->except ^ (a->kind == KV_CLAUSE_UNLESS) ^ flip;
    return neg ? KV_POL_NEG : KV_POL_POS;
}

/* 1 when words a and b say the opposite of each other. */
static int antonyms(const kivo_engine *e, uint64_t a, uint64_t b, uint32_t ca, uint32_t cb)
{
    if (KV_CUE_CONVERSE(ca) && KV_CUE_CONVERSE(ca) == KV_CUE_CONVERSE(cb) &&
        KV_CUE_SIDE(ca) != KV_CUE_SIDE(cb))
        return 1;
    return kv_opposite_pair(e, a, b) || kv_antonym_pair(e, a, b);
}

void kv_align_words(kivo_engine *e)
{
    kv_sense *sn = e->sense;
    memset(sn->word_read, 0, sn->claim.n);
    sn->closed_read = 0;
    /* Most claims have no term whose prefixed form the sources hold instead. */
    sn->any_alt = 0;
    for (size_t k = 0; k < e->cs.n_terms && !sn->any_alt; k++)
        sn->any_alt = e->cs.alt[k] != 0;
}

uint64_t kv_align_word_alt(const kivo_engine *e, size_t i)
{
    kv_sense *sn = e->sense;
    if (!sn->any_alt)
        return 0;
    if (!(sn->word_read[i] & KV_WORD_ALT)) {
        sn->alt[i] = kv_align_alt(e, sn->claim.t[i].h);
        sn->word_read[i] |= KV_WORD_ALT;
    }
    return sn->alt[i];
}

/* 1 when claim word i has a converse cue, an opposite or an antonym: kv_align_token looks for
 * them (its cues in *cue). */
static int word_opposed(const kivo_engine *e, size_t i, uint32_t *cue)
{
    kv_sense *sn = e->sense;
    if (!(sn->word_read[i] & KV_WORD_OPPOSED)) {
        uint64_t h = sn->claim.t[i].h;
        sn->hcue[i] = kv_cues_of(e, h);
        sn->opposed[i] =
            KV_CUE_CONVERSE(sn->hcue[i]) || kv_opposite_known(e, h) || kv_antonym_known(e, h);
        sn->word_read[i] |= KV_WORD_OPPOSED;
    }
    *cue = sn->hcue[i];
    return sn->opposed[i];
}

/* Fills ta: where claim word i stands in each clause of reading r, found once per window. */
static void token_align_fill(const kivo_engine *e, const kv_reading *r, size_t i, int absorbed,
                             kv_token_align *ta)
{
    /* The word's prefixed form and cues through their accessors, never sn->alt[i], hcue[i] or
     * opposed[i] directly: without any_alt no alt[i] is written, and the array holds an earlier
     * claim's (another packet's, as fuzz_engine_review found). */
    uint64_t h = e->sense->claim.t[i].h, alt = kv_align_word_alt(e, i);
    uint32_t hc;
    int passes = word_opposed(e, i, &hc) ? 3 : 2;
    if (passes == 2 && !kv_reading_may_hold(r, h) && !(alt && kv_reading_may_hold(r, alt))) {
        /* Neither the word nor its prefixed form is in the sentence, and it has no opposite
         * to look for: no clause holds it. */
        memset(ta, 0, sizeof *ta);
        ta->done = 1;
        return;
    }
    /* Every clause at once: each pass's polarities per clause, the
     * first pass that found the word in a clause deciding for it. */
    uint8_t pol[3][KV_SENSE_MAX_CLAUSES], cp[3][KV_SENSE_MAX_CLAUSES];
    memset(pol, 0, sizeof pol);
    memset(cp, 0, sizeof cp);
    for (size_t j = 0; j < r->n; j++) {
        const kv_ann *a = &r->a[j];
        uint64_t th = r->t[j].h;
        if (th == h) {
            pol[0][a->clause] |= (uint8_t)pol_bit(a, 0);
            cp[0][a->clause] |= (uint8_t)cpol_bit(r, a, 0);
        } else if (alt && th == alt) {
            int flip = !(absorbed || a->absorbed);
            pol[1][a->clause] |= (uint8_t)pol_bit(a, flip);
            cp[1][a->clause] |= (uint8_t)cpol_bit(r, a, flip);
        }
        if (passes == 3 && r->t[j].kind != KV_TOK_NUMBER && antonyms(e, h, th, hc, a->cue)) {
            pol[2][a->clause] |= (uint8_t)pol_bit(a, 1);
            cp[2][a->clause] |= (uint8_t)cpol_bit(r, a, 1);
        }
    }
    ta->antonym = 0;
    for (size_t k = 0; k < r->n_clauses && k < KV_SENSE_MAX_CLAUSES; k++) {
        int p = pol[0][k] ? 0 : alt && pol[1][k] ? 1 : 2;
        ta->pol[k] = pol[p][k];
        ta->cpol[k] = cp[p][k];
        if (p == 2 && pol[2][k])
            ta->antonym |= (uint16_t)(1u << k);
    }
    ta->done = 1;
}

unsigned kv_align_token(const kivo_engine *e, size_t s, size_t sc, size_t i, int absorbed,
                        unsigned *cpol, int *antonym)
{
    kv_sense *sn = e->sense;
    const kv_reading *r = &sn->sent[s];
    kv_token_align *ta = &sn->tal[i][s][absorbed != 0];
    if (!ta->done)
        token_align_fill(e, r, i, absorbed, ta);
    if (sc >= r->n_clauses || sc >= KV_SENSE_MAX_CLAUSES) {
        *cpol = 0;
        *antonym = 0;
        return 0;
    }
    *cpol = ta->cpol[sc];
    *antonym = (ta->antonym >> sc) & 1u;
    return ta->pol[sc];
}

uint64_t kv_align_alt(const kivo_engine *e, uint64_t h)
{
    const kv_claim_scratch *cs = &e->cs;
    for (size_t k = 0; k < cs->n_terms; k++)
        if (cs->terms[k]->h == h)
            return cs->alt[k];
    return 0;
}

/* 1 when punctuation (a sentence or phrase mark, a quotation mark, a bracket) stands right
 * before token j of r. */
static int marked_before(const kv_reading *r, size_t j)
{
    for (uint32_t k = r->t[j - 1].end; k < r->t[j].start; k++) {
        char ch = r->text[k];
        if (ch == '"' || ch == '\'' || ch == '(' || ch == '[' || ch == '.' || ch == ',' ||
            ch == ';' || ch == ':' || ch == '!' || ch == '?' || ch == ')')
            return 1;
    }
    return 0;
}

/* 1 when r writes word h as a name: capitalised right after a word in lower case ("the
 * founder of Pellis"), or opening the sentence before another capitalised word ("Norvik
 * Outfitters accepts") or as a possessive ("Harlow's shares"). */
static int written_as_name(const kv_reading *r, uint64_t h)
{
    for (size_t j = 0; j < r->n; j++) {
        if (r->t[j].h != h || !(r->t[j].flags & KV_TF_CAP))
            continue;
        if (j == 0) {
            if (r->n > 1 && (r->t[1].flags & KV_TF_CAP) && r->t[1].kind == KV_TOK_WORD &&
                !marked_before(r, 1))
                return 1;
            /* "Harlow's shares": a capitalised possessive. */
            const char *w = r->text + r->t[0].start;
            size_t len = r->t[0].end - r->t[0].start;
            if ((len > 2 && w[len - 2] == '\'' && w[len - 1] == 's') ||
                (len > 4 && !memcmp(w + len - 4, "\xe2\x80\x99s", 4)))
                return 1;
            continue;
        }
        if (!(r->t[j - 1].flags & KV_TF_CAP) && r->t[j - 1].kind != KV_TOK_NUMBER &&
            !marked_before(r, j))
            return 1;
    }
    return 0;
}

/* Sets first_name of the claim and of each window sentence: its first word is a name, written
 * as one in the claim or the window ("Castlebay's manager", "Norvik refunds"). */
static void first_names(kv_sense *sn)
{
    for (size_t k = 0; k <= sn->n_sents; k++) {
        kv_reading *r = k < sn->n_sents ? &sn->sent[k] : &sn->claim;
        r->first_name = 0;
        if (r->n == 0 || r->t[0].kind != KV_TOK_WORD || !(r->t[0].flags & KV_TF_CAP))
            continue;
        for (size_t q = 0; q <= sn->n_sents && !r->first_name; q++)
            r->first_name =
                (uint8_t)written_as_name(q < sn->n_sents ? &sn->sent[q] : &sn->claim, r->t[0].h);
    }
}

void kv_align_claim(kivo_engine *e)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    for (size_t i = 0; i < c->n; i++) {
        kv_match *m = &sn->match[i];
        memset(m, 0, sizeof *m);
        for (size_t s = 0; s < KV_SENSE_MAX_SENTS; s++)
            sn->tal[i][s][0].done = sn->tal[i][s][1].done = 0;
        for (size_t s = 0; s < KV_SENSE_MAX_SENTS; s++)
            m->at[s] = -1;
        if (c->t[i].kind == KV_TOK_STOP)
            continue;
        m->content = 1;
        uint64_t h = c->t[i].h, alt = kv_align_word_alt(e, i);
        for (size_t s = 0; s < sn->n_sents; s++) {
            const kv_reading *r = &sn->sent[s];
            for (int pass = 0; pass < 2 && m->at[s] < 0; pass++) {
                uint64_t want = pass ? alt : h;
                if (!want || !kv_reading_may_hold(r, want))
                    continue;
                for (size_t j = 0; j < r->n; j++) {
                    if (r->t[j].h != want)
                        continue;
                    int flip = pass && !(c->a[i].absorbed || r->a[j].absorbed);
                    if (m->at[s] < 0)
                        m->at[s] = (int16_t)j;
                    m->pol[s] |= (uint8_t)pol_bit(&r->a[j], flip);
                    m->cpol[s] |= (uint8_t)cpol_bit(r, &r->a[j], flip);
                    m->flip |= (uint8_t)pass;
                }
            }
        }
    }
    first_names(sn);
}

/* 1 when clause sc of r opens with a pronoun subject ("It does not cover ..."). */
static int pronoun_subject(const kv_reading *r, size_t sc)
{
    for (size_t j = 0; j < r->n; j++) {
        if (r->a[j].clause < sc)
            continue;
        if (r->a[j].clause > sc)
            return 0;
        if (r->a[j].cue & KV_CUE_SUBJECT)
            return !(r->a[j].cue & KV_CUE_DET) || r->t[j].kind == KV_TOK_STOP;
        if (r->t[j].kind != KV_TOK_STOP)
            return 0;
    }
    return 0;
}

/* 1 when window sentence s holds word h anywhere. */
static int in_sentence(const kv_sense *sn, size_t s, uint64_t h)
{
    const kv_reading *r = &sn->sent[s];
    for (size_t j = 0; j < r->n; j++)
        if (r->t[j].h == h)
            return 1;
    return 0;
}

/* 1 when a window sentence before sentence s holds claim word h: what a pronoun subject of s
 * can stand for. */
static int named_before(const kv_sense *sn, size_t s, uint64_t h)
{
    for (size_t k = 0; k < s; k++) {
        const kv_reading *r = &sn->sent[k];
        for (size_t j = 0; j < r->n; j++)
            if (r->t[j].h == h)
                return 1;
    }
    return 0;
}

/* 1 when claim token i is in the claim's first run of words that earlier window sentences
 * hold (with only determiners, "of" and "and" between them): the one noun phrase a pronoun can
 * stand for ("the 2-year warranty" for "It"). */
static int in_first_phrase(const kv_sense *sn, size_t s, size_t i)
{
    const kv_reading *c = &sn->claim;
    size_t first = c->n;
    for (size_t k = 0; k < c->n && first == c->n; k++)
        if (c->t[k].kind != KV_TOK_STOP && named_before(sn, s, c->t[k].h) &&
            !in_sentence(sn, s, c->t[k].h))
            first = k;
    if (first == c->n || i < first)
        return 0;
    for (size_t k = first; k <= i; k++) {
        const kv_token *t = &c->t[k];
        if (t->kind != KV_TOK_STOP) {
            if (!named_before(sn, s, t->h))
                return 0;
        } else if (!(c->a[k].cue & KV_CUE_DET) &&
                   !kv_text_is(c->text + t->start, t->end - t->start, "of") &&
                   !kv_text_is(c->text + t->start, t->end - t->start, "and")) {
            return 0;
        }
    }
    return 1;
}

int kv_pronoun_stands_for(const kv_sense *sn, size_t s, size_t sc, size_t i)
{
    return pronoun_subject(&sn->sent[s], sc) && named_before(sn, s, sn->claim.t[i].h) &&
           in_first_phrase(sn, s, i);
}
