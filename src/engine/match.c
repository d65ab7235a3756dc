/*
 * match.c - one claim against the source index: which sentences hold its terms, which window of
 * up to three neighbouring sentences covers it best, and what that says about the claim.
 *
 * Each distinct content term of the claim gets a bit; each source sentence that holds a term gets
 * a mask of those bits. A window's coverage is the number of bits its masks OR to, over the
 * claim's terms. Numbers and names the sources never mention, and negations or numbers
 * that disagree with the best window, decide the failure category.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* Thresholds chosen on the RAGTruth dev split only (scripts/eval-ragtruth --split dev). */
#define SUPPORTED_AT 0.80     /* coverage at or above: supported */
#define PARTIAL_AT 0.30       /* coverage at or above: partially supported */
#define ANY_W 0.5             /* share of coverage from terms found anywhere in the sources */
#define NEG_AT 0.90           /* word coverage at or above which an unmatched negation contradicts */
#define CONFLICT_AT 0.70      /* coverage of the rest at or above which a disagreement contradicts */
#define WINDOW_PENALTY 0.01   /* per extra sentence, so the tightest span wins a tie */

static kivo_status grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KIVO_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*v, c * elem);
    if (!n)
        return KIVO_ENOMEM;
    *v = n;
    *cap = c;
    return KIVO_OK;
}

int kv_match_is_claim(const char *text, const kv_span *span, const kv_token *toks, size_t n)
{
    size_t content = 0, numbers = 0, refs = 0, words = 0;
    int negated = 0;
    unsigned char last = (unsigned char)text[span->end - 1];
    if (last == '?' || last == ':')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (toks[i].kind != KV_TOK_STOP)
            content++;
        if (toks[i].kind == KV_TOK_NUMBER)
            numbers++;
        if (toks[i].flags & KV_TF_NEG)
            negated = 1;
        if (toks[i].flags & KV_TF_REF)
            refs++;
        else if (toks[i].kind == KV_TOK_WORD)
            words++;
    }
    /* Bare list numbers ("2.") and citations ("This is mentioned in passage 3.") say nothing. */
    if (content == 0 || words == 0)
        return 0;
    /* "Thanks for reaching out!", "I hope this helps." */
    size_t lead = 0;
    while (lead < n && toks[lead].kind == KV_TOK_STOP && !(toks[lead].flags & KV_TF_META))
        lead++;
    if (lead < n && (toks[lead].flags & KV_TF_META) && numbers == 0 && content <= 3)
        return 0;
    /* "The passages do not mention the price." */
    if (negated && refs > 0 && numbers == 0)
        return 0;
    return 1;
}

/* Collects the claim's distinct content terms. */
static kivo_status collect_terms(kv_claim_scratch *cs, const kv_token *toks, size_t n)
{
    kivo_status st = KIVO_OK;
    cs->n_terms = 0;
    if ((st = grow((void **)&cs->terms, &cs->cap_terms, n, sizeof *cs->terms)) != KIVO_OK)
        return st;
    /* present shares cap_terms: grow it alongside. */
    size_t cap = cs->cap_terms;
    uint8_t *pr = realloc(cs->present, cap * sizeof *pr);
    if (!pr)
        return KIVO_ENOMEM;
    cs->present = pr;
    for (size_t i = 0; i < n; i++) {
        const kv_token *t = &toks[i];
        if (t->kind == KV_TOK_STOP)
            continue;
        size_t k = 0;
        while (k < cs->n_terms && cs->terms[k]->h != t->h)
            k++;
        if (k < cs->n_terms)
            continue;
        cs->terms[cs->n_terms] = t;
        cs->present[cs->n_terms] = 0;
        cs->n_terms++;
    }
    return KIVO_OK;
}

/* Sets, for each term, its bit in the mask of every sentence that holds it. */
/* Big records (more source sentences than this) do not let a term held by more than FREQ_TERM
 * sentences pick candidate windows: such a term says little about where a claim is, and touching
 * all its sentences for every claim made review time grow with claims x sentences. Its bit is
 * still set, by binary search, in every sentence the rarer terms picked. Records below the limit
 * are scored exhaustively. */
#define BIG_RECORD_SENTS 4096
#define FREQ_TERM 64

/* The mask of sentence s, made (zeroed) when s is touched for the first time. */
static kivo_status slot_for(kv_claim_scratch *cs, uint32_t s, uint64_t **mask)
{
    kivo_status st;
    int32_t slot = cs->slot[s];
    if (slot < 0) {
        if ((st = grow((void **)&cs->touched, &cs->cap_touched, cs->n_touched + 1,
                       sizeof *cs->touched)) != KIVO_OK)
            return st;
        if (cs->cap_touched * cs->words > cs->cap_masks) {
            uint64_t *m = realloc(cs->masks, cs->cap_touched * cs->words * sizeof *m);
            if (!m)
                return KIVO_ENOMEM;
            cs->masks = m;
            cs->cap_masks = cs->cap_touched * cs->words;
        }
        slot = (int32_t)cs->n_touched++;
        cs->touched[slot] = s;
        cs->slot[s] = slot;
        memset(&cs->masks[(size_t)slot * cs->words], 0, cs->words * sizeof *cs->masks);
    }
    *mask = &cs->masks[(size_t)slot * cs->words];
    return KIVO_OK;
}

static int holds(const uint32_t *p, size_t n, uint32_t s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p[mid] < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && p[lo] == s;
}

static kivo_status touch_sentences(kivo_engine *e)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    uint64_t *m;
    /* slot[] is -1 everywhere but at the sentences the last claim touched: undo those. */
    for (size_t t = 0; t < cs->n_touched; t++)
        cs->slot[cs->touched[t]] = -1;
    cs->n_touched = 0;
    if (e->n_sents > cs->cap_slot) {
        size_t old = cs->cap_slot;
        if ((st = grow((void **)&cs->slot, &cs->cap_slot, e->n_sents, sizeof *cs->slot)) != KIVO_OK)
            return st;
        for (size_t i = old; i < cs->cap_slot; i++)
            cs->slot[i] = -1;
    }
    cs->words = (cs->n_terms + 63) / 64;
    if (cs->words > cs->cap_numbits) {
        uint64_t *nb = realloc(cs->numbits, cs->words * sizeof *nb);
        if (!nb)
            return KIVO_ENOMEM;
        cs->numbits = nb;
        cs->cap_numbits = cs->words;
    }
    memset(cs->numbits, 0, cs->words * sizeof *cs->numbits);
    for (size_t k = 0; k < cs->n_terms; k++)
        if (cs->terms[k]->kind == KV_TOK_NUMBER)
            cs->numbits[k / 64] |= 1ull << (k % 64);

    int big = e->n_sents > BIG_RECORD_SENTS;
    size_t rarest = (size_t)-1, rarest_n = (size_t)-1, frequent = 0;
    for (size_t k = 0; k < cs->n_terms; k++) {
        size_t np;
        const uint32_t *p = kv_index_find(e, cs->terms[k]->h, &np);
        cs->present[k] = np > 0;
        if (big && np > FREQ_TERM) {
            frequent++;
            if (np < rarest_n) {
                rarest = k;
                rarest_n = np;
            }
            continue;
        }
        for (size_t j = 0; j < np; j++) {
            if ((st = slot_for(cs, p[j], &m)) != KIVO_OK)
                return st;
            m[k / 64] |= 1ull << (k % 64);
        }
    }
    if (!frequent)
        return KIVO_OK;
    /* No rare term picked a sentence: let the rarest frequent one. */
    int rarest_used = cs->n_touched == 0;
    if (rarest_used) {
        size_t np;
        const uint32_t *p = kv_index_find(e, cs->terms[rarest]->h, &np);
        for (size_t j = 0; j < np; j++) {
            if ((st = slot_for(cs, p[j], &m)) != KIVO_OK)
                return st;
            m[rarest / 64] |= 1ull << (rarest % 64);
        }
    }
    for (size_t k = 0; k < cs->n_terms; k++) {
        size_t np;
        const uint32_t *p = kv_index_find(e, cs->terms[k]->h, &np);
        if (np <= FREQ_TERM || (rarest_used && k == rarest))
            continue;
        for (size_t t = 0; t < cs->n_touched; t++) {
            if (holds(p, np, cs->touched[t]))
                cs->masks[(size_t)t * cs->words + k / 64] |= 1ull << (k % 64);
        }
    }
    return KIVO_OK;
}

/* The mask words of sentence s, or NULL when it holds no term. */
static const uint64_t *mask_of(const kivo_engine *e, size_t s)
{
    const kv_claim_scratch *cs = &e->cs;
    int32_t slot = cs->slot[s];
    return slot >= 0 ? &cs->masks[(size_t)slot * cs->words] : NULL;
}

typedef struct window {
    size_t first, last;     /* sentences, inclusive */
    double coverage;        /* weight covered / total weight */
    double score;           /* coverage less the window penalty */
} window;

/* Valid-bit selector of word w of a claim mask: all terms (numbers < 0), number terms only (1),
 * or word terms only (0). */
static uint64_t selector(const kv_claim_scratch *cs, size_t w, int numbers)
{
    size_t bits = cs->n_terms - w * 64;
    uint64_t valid = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
    if (numbers < 0)
        return valid;
    return (numbers ? cs->numbits[w] : ~cs->numbits[w]) & valid;
}

/* Terms (of the selected kind) that sentences first..last hold between them. Terms weigh the
 * same, so a window's weight is a population count of its OR-ed masks. */
static double weight_of(const kivo_engine *e, size_t first, size_t last, int numbers)
{
    const kv_claim_scratch *cs = &e->cs;
    size_t n = 0;
    for (size_t w = 0; w < cs->words; w++) {
        uint64_t acc = 0;
        for (size_t s = first; s <= last; s++) {
            const uint64_t *m = mask_of(e, s);
            if (m)
                acc |= m[w];
        }
        n += (size_t)__builtin_popcountll(acc & selector(cs, w, numbers));
    }
    return (double)n;
}

static double total_weight(const kv_claim_scratch *cs, int numbers)
{
    size_t n = 0;
    for (size_t w = 0; w < cs->words; w++)
        n += (size_t)__builtin_popcountll(selector(cs, w, numbers));
    return (double)n;
}

/* Best window of 1-3 neighbouring sentences of one source around each touched sentence;
 * `skip` excludes windows overlapping it (for the second piece of evidence). */
static int best_window(const kivo_engine *e, double total, const window *skip, window *best)
{
    const kv_claim_scratch *cs = &e->cs;
    int found = 0;
    for (size_t t = 0; t < cs->n_touched; t++) {
        size_t s = cs->touched[t];
        for (int before = 0; before <= 1; before++) {
            for (int after = 0; after <= 1; after++) {
                if (before && (s == 0 || e->sents[s - 1].source != e->sents[s].source))
                    continue;
                if (after && (s + 1 >= e->n_sents || e->sents[s + 1].source != e->sents[s].source))
                    continue;
                window w = {s - (size_t)before, s + (size_t)after, 0, 0};
                if (skip && w.first <= skip->last && w.last >= skip->first)
                    continue;
                w.coverage = total > 0 ? weight_of(e, w.first, w.last, -1) / total : 0;
                w.score = w.coverage - WINDOW_PENALTY * (double)(w.last - w.first);
                if (!found || w.score > best->score ||
                    (w.score == best->score && w.first < best->first)) {
                    *best = w;
                    found = 1;
                }
            }
        }
    }
    return found;
}

/* "(FLSA)": an alias spelled out just before it, not a name of its own. */
static int in_parentheses(const char *text, size_t len, const kv_token *t)
{
    return t->start > 0 && text[t->start - 1] == '(' && t->end < len && text[t->end] == ')';
}

static double round4(double x)
{
    return floor(x * 10000.0 + 0.5) / 10000.0;
}

static void set_evidence(const kivo_engine *e, const window *w, kivo_evidence *ev)
{
    ev->source = e->sents[w->first].source;
    ev->start = e->sents[w->first].start;
    ev->end = e->sents[w->last].end;
}

kivo_status kv_match_claim(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                           kivo_claim *c)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    c->n_evidence = 0;
    c->category = KIVO_CAT_NONE;
    if ((st = collect_terms(cs, toks, n)) != KIVO_OK)
        return st;
    if ((st = touch_sentences(e)) != KIVO_OK)
        return st;

    double total = total_weight(cs, -1);
    window best = {0, 0, 0, 0};
    int have = best_window(e, total, NULL, &best);
    /* Coverage blends the best window with the whole record: abstractive answers and summaries
     * fuse facts from sentences far apart, and structured records spread one fact over keys. */
    double anywhere = 0;
    for (size_t k = 0; k < cs->n_terms; k++)
        anywhere += cs->present[k];
    anywhere = total > 0 ? anywhere / total : 0;
    double coverage = (1 - ANY_W) * (have ? best.coverage : 0) + ANY_W * anywhere;

    /* What the sources never mention, and what the claim asserts. */
    size_t missing_numbers = 0, missing_names = 0;
    int policy = 0, claim_negated = 0;
    for (size_t k = 0; k < cs->n_terms; k++) {
        const kv_token *t = cs->terms[k];
        if (!cs->present[k] && t->kind == KV_TOK_NUMBER)
            missing_numbers++;
        /* A capitalised word not at the claim's start, or a code like X200, is a name. */
        if (!cs->present[k] && t->kind == KV_TOK_WORD && !(t->flags & (KV_TF_REF | KV_TF_META)) &&
            ((t->flags & KV_TF_CODE) || ((t->flags & KV_TF_CAP) && t != &toks[0])) &&
            !in_parentheses(p->output, p->output_len, t))
            missing_names++;
    }
    for (size_t i = 0; i < n; i++) {
        if (toks[i].flags & KV_TF_POLICY)
            policy = 1;
        if (toks[i].flags & KV_TF_NEG)
            claim_negated = 1;
    }

    int window_negated = 0, window_numbers = 0;
    if (have) {
        for (size_t s = best.first; s <= best.last; s++) {
            window_negated |= e->sents[s].negated;
            window_numbers |= e->sents[s].has_number;
        }
    }
    double words_total = total_weight(cs, 0);
    double words_cov = have && words_total > 0 ? weight_of(e, best.first, best.last, 0) / words_total
                                               : 0;

    int number_conflict = missing_numbers > 0 && window_numbers && words_cov >= CONFLICT_AT;
    /* A negation the sources do not make. The reverse (the window negates something) is too
     * often about another part of the sentence to call a contradiction. */
    int negation_conflict = have && claim_negated && !window_negated && words_cov >= NEG_AT;

    if (number_conflict || negation_conflict) {
        c->status = KIVO_CLAIM_CONTRADICTED;
        c->category = KIVO_CAT_CONTRADICTED_CLAIM;
    } else if (missing_numbers > 0) {
        c->status = KIVO_CLAIM_UNSUPPORTED;
        c->category = KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM;
    } else if (missing_names > 0) {
        c->status = KIVO_CLAIM_UNSUPPORTED;
        c->category = KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM;
    } else if (coverage < PARTIAL_AT) {
        c->status = KIVO_CLAIM_UNSUPPORTED;
        c->category = policy ? KIVO_CAT_UNSUPPORTED_POLICY_CLAIM : KIVO_CAT_UNSUPPORTED_CLAIM;
    } else if (coverage < SUPPORTED_AT) {
        c->status = KIVO_CLAIM_PARTIALLY_SUPPORTED;
        c->category = policy ? KIVO_CAT_UNSUPPORTED_POLICY_CLAIM : KIVO_CAT_UNSUPPORTED_CLAIM;
    } else {
        c->status = KIVO_CLAIM_SUPPORTED;
    }
    double score = coverage;
    if ((c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED) &&
        score >= PARTIAL_AT)
        score = PARTIAL_AT - 0.01;   /* the score never says more than the status */
    c->support_score = round4(score);

    if (have && best.coverage > 0) {
        set_evidence(e, &best, &c->evidence[c->n_evidence++]);
        window second;
        if (best_window(e, total, &best, &second) && second.coverage > 0 &&
            c->n_evidence < KIVO_MAX_EVIDENCE)
            set_evidence(e, &second, &c->evidence[c->n_evidence++]);
    }
    return KIVO_OK;
}
