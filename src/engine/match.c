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
#include "grow_int.h"
#include "fields_int.h"
#include "hours_int.h"
#include "sense_int.h"

/* Thresholds chosen on the RAGTruth dev split only (scripts/eval-ragtruth --split dev). */
#define SUPPORTED_AT 0.80      /* coverage at or above: supported */
#define PARTIAL_AT 0.33        /* coverage at or above: partially supported */
#define PARTIAL_RECORD_AT 0.30 /* the same when a source is a flattened record */
#define ANY_W 0.5              /* share of coverage from terms found anywhere in the sources */
#define NAME_AT 0.65           /* coverage below which a name no source holds: unsupported */
#define NEG_AT 0.90         /* word coverage at or above which an unmatched negation contradicts */
#define CONFLICT_AT 0.70    /* coverage of the rest at or above which a disagreement contradicts */
#define WINDOW_PENALTY 0.01 /* per extra sentence, so the tightest span wins a tie */
#define MAX_WINDOW 3        /* sentences in a window */
/* Word coverage of the window at or above which the sentence layer (sense.c) reads the claim
 * against it, and the same for the next best window. */
#define SENSE_AT 0.50
#define SENSE_NEXT_AT 0.70

/* Collects the claim's distinct content terms. */
static kivo_status collect_terms(kv_claim_scratch *cs, const char *text, const kv_token *toks,
                                 size_t n)
{
    kivo_status st = KIVO_OK;
    size_t old = cs->cap_terms;
    cs->n_terms = 0;
    if ((st = kv_grow((void **)&cs->terms, &cs->cap_terms, n, sizeof *cs->terms, 64)) != KIVO_OK)
        return st;
    /* The per-term arrays share cap_terms: grow them alongside. */
    if (cs->cap_terms != old || !cs->present) {
        size_t cap = cs->cap_terms;
        uint8_t *pr = realloc(cs->present, cap * sizeof *pr);
        if (pr)
            cs->present = pr;
        const uint32_t **po = realloc(cs->post, cap * sizeof *po);
        if (po)
            cs->post = po;
        size_t *np = realloc(cs->n_post, cap * sizeof *np);
        if (np)
            cs->n_post = np;
        uint32_t *order = realloc(cs->order, cap * sizeof *order);
        if (order)
            cs->order = order;
        uint8_t *picks = realloc(cs->picks, cap * sizeof *picks);
        if (picks)
            cs->picks = picks;
        uint64_t *alt = realloc(cs->alt, cap * sizeof *alt);
        if (alt)
            cs->alt = alt;
        if (!pr || !po || !np || !order || !picks || !alt) {
            cs->cap_terms = old; /* so that the next claim tries again */
            return KIVO_ENOMEM;
        }
    }
    if ((st = kv_grow((void **)&cs->miss, &cs->cap_miss, n ? n : 1, sizeof *cs->miss, 64)) !=
        KIVO_OK)
        return st;
    kv_given_mark(text, toks, n, cs->miss);
    for (size_t i = 0; i < n; i++) {
        const kv_token *t = &toks[i];
        if (t->kind == KV_TOK_STOP || cs->miss[i])
            continue;
        size_t k = 0;
        while (k < cs->n_terms && cs->terms[k]->h != t->h)
            k++;
        if (k < cs->n_terms)
            continue;
        cs->terms[cs->n_terms] = t;
        cs->present[cs->n_terms] = 0;
        cs->alt[cs->n_terms] = 0;
        cs->n_terms++;
    }
    return KIVO_OK;
}

/* Sets, for each term, its bit in the mask of every sentence that holds it. */
/* Big records (more source sentences than this) do not let a term held by more than FREQ_TERM
 * sentences pick candidate windows: such a term says little about where a claim is, and touching
 * all its sentences for every claim made review time grow with claims x sentences. Its bit is
 * still set in every sentence the rarer terms picked. Records below the limit are scored
 * exhaustively, within the budgets below. */
#define BIG_RECORD_SENTS 4096
#define FREQ_TERM 64

/* What one claim may spend in the index, so that a packet's review time grows with its size
 * (issue 12: a 2.9 MB packet of a 20-word vocabulary, every term in every sentence, took 14 s).
 * CLAIM_VISITS: sentences the claim's terms pick as candidates (postings read); past it the
 * rarest terms pick first, and a term whose sentences do not fit picks none. CLAIM_LOOKUPS:
 * postings read or searched to set the bits of the terms that picked none; a term that does not
 * fit is not set in the candidates. Claims of real text stay far below both (RAGTruth and the
 * generated corpus: at most 184 postings, no lookups), where reviews are what they were. */
#define CLAIM_VISITS 1024
#define CLAIM_LOOKUPS 32768

/* The mask of sentence s, made (zeroed) when s is touched for the first time. */
static kivo_status slot_for(kv_claim_scratch *cs, uint32_t s, uint64_t **mask)
{
    kivo_status st;
    int32_t slot = cs->slot[s];
    if (slot < 0) {
        if ((st = kv_grow((void **)&cs->touched, &cs->cap_touched, cs->n_touched + 1,
                          sizeof *cs->touched, 64)) != KIVO_OK)
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

/* Sets term k's bit in the first n of its sentences p[0..n). */
static kivo_status pick(kv_claim_scratch *cs, size_t k, const uint32_t *p, size_t n)
{
    kivo_status st;
    uint64_t *m;
    for (size_t j = 0; j < n; j++) {
        if ((st = slot_for(cs, p[j], &m)) != KIVO_OK)
            return st;
        m[k / 64] |= 1ull << (k % 64);
    }
    return KIVO_OK;
}

/* Orders cs->order[0..n) by the terms' posting counts, rarest first (stable: insertion sort,
 * claims have few terms). */
static void rarest_first(kv_claim_scratch *cs, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t k = cs->order[i];
        size_t j = i;
        while (j > 0 && cs->n_post[cs->order[j - 1]] > cs->n_post[k]) {
            cs->order[j] = cs->order[j - 1];
            j--;
        }
        cs->order[j] = k;
    }
}

/* Slots of cs->dense either side of the sentences: a window's neighbours of any sentence. */
#define DENSE_PAD (MAX_WINDOW - 1)
_Static_assert(DENSE_PAD == 2, "best_window_1's bound reads sentences s - 2 .. s + 2");

static kivo_status set_bits(kivo_engine *e);

/* Sets the claim's term bits in the mask of each sentence that holds them (set_bits); for a
 * claim of one mask word, also lays the masks out by sentence in cs->dense. */
static kivo_status touch_sentences(kivo_engine *e)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    /* slot[] is -1 and dense[] 0 everywhere but at the sentences the last claim touched: undo
     * those. */
    if (cs->dense_set)
        for (size_t t = 0; t < cs->n_touched; t++)
            cs->dense[cs->touched[t] + DENSE_PAD] = 0;
    cs->dense_set = 0;
    for (size_t t = 0; t < cs->n_touched; t++)
        cs->slot[cs->touched[t]] = -1;
    cs->n_touched = 0;
    if (e->n_sents > cs->cap_slot) {
        size_t old = cs->cap_slot;
        if ((st = kv_grow((void **)&cs->slot, &cs->cap_slot, e->n_sents, sizeof *cs->slot, 64)) !=
            KIVO_OK)
            return st;
        for (size_t i = old; i < cs->cap_slot; i++)
            cs->slot[i] = -1;
    }
    if (e->n_sents + 2 * DENSE_PAD > cs->cap_dense) {
        size_t old = cs->cap_dense;
        if ((st = kv_grow((void **)&cs->dense, &cs->cap_dense, e->n_sents + 2 * DENSE_PAD,
                          sizeof *cs->dense, 64)) != KIVO_OK)
            return st;
        memset(cs->dense + old, 0, (cs->cap_dense - old) * sizeof *cs->dense);
    }
    if ((st = set_bits(e)) != KIVO_OK)
        return st;
    if (cs->words == 1) {
        for (size_t t = 0; t < cs->n_touched; t++)
            cs->dense[cs->touched[t] + DENSE_PAD] = cs->masks[t];
        cs->dense_set = 1;
    }
    return KIVO_OK;
}

static kivo_status set_bits(kivo_engine *e)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    cs->words = (cs->n_terms + 63) / 64;
    if (cs->words > cs->cap_numbits) {
        uint64_t *nb = realloc(cs->numbits, cs->words * sizeof *nb);
        if (!nb)
            return KIVO_ENOMEM;
        cs->numbits = nb;
        cs->cap_numbits = cs->words;
    }
    /* A claim of function words only ("According to passage 1, the.") has no term: numbits
     * may still be NULL then, and memset(NULL, 0, 0) is undefined. */
    if (cs->words)
        memset(cs->numbits, 0, cs->words * sizeof *cs->numbits);
    for (size_t k = 0; k < cs->n_terms; k++)
        if (cs->terms[k]->kind == KV_TOK_NUMBER)
            cs->numbits[k / 64] |= 1ull << (k % 64);

    int big = e->n_sents > BIG_RECORD_SENTS;
    size_t picking = 0; /* postings of the terms that may pick */
    for (size_t k = 0; k < cs->n_terms; k++) {
        cs->post[k] = kv_index_find(e, cs->terms[k]->h, &cs->n_post[k]);
        cs->present[k] = cs->n_post[k] > 0;
        cs->order[k] = (uint32_t)k;
        if (!(big && cs->n_post[k] > FREQ_TERM))
            picking += cs->n_post[k];
    }
    /* Within the budget, the terms pick in claim order; past it the rarest pick first. The bits
     * set do not depend on the order, only which terms pick. */
    if (picking > CLAIM_VISITS)
        rarest_first(cs, cs->n_terms);
    size_t visits = CLAIM_VISITS, rarest = (size_t)-1, rarest_n = (size_t)-1, frequent = 0;
    for (size_t i = 0; i < cs->n_terms; i++) {
        size_t k = cs->order[i], np = cs->n_post[k];
        cs->picks[k] = !(big && np > FREQ_TERM) && np <= visits;
        if (!cs->picks[k]) {
            frequent++;
            if (np < rarest_n || (np == rarest_n && k < rarest)) {
                rarest = k;
                rarest_n = np;
            }
            continue;
        }
        visits -= np;
        if ((st = pick(cs, k, cs->post[k], np)) != KIVO_OK)
            return st;
    }
    if (!frequent)
        return KIVO_OK;
    /* No term picked a sentence: let the rarest of the others pick, its first CLAIM_VISITS. */
    int rarest_used = cs->n_touched == 0;
    if (rarest_used) {
        size_t np = cs->n_post[rarest];
        if ((st = pick(cs, rarest, cs->post[rarest], np < CLAIM_VISITS ? np : CLAIM_VISITS)) !=
            KIVO_OK)
            return st;
    }
    size_t lookups = CLAIM_LOOKUPS;
    for (size_t i = 0; i < cs->n_terms; i++) {
        size_t k = cs->order[i], np = cs->n_post[k];
        const uint32_t *p = cs->post[k];
        if (cs->picks[k] || (rarest_used && k == rarest) || np == 0)
            continue;
        /* Its bit in the candidates, by reading its sentences or by searching them, whichever
         * reads fewer postings. */
        size_t search = cs->n_touched * (size_t)(64 - __builtin_clzll((unsigned long long)np));
        if ((np < search ? np : search) > lookups)
            continue;
        const uint64_t bit = 1ull << (k % 64);
        if (np < search) {
            lookups -= np;
            for (size_t j = 0; j < np; j++)
                if (cs->slot[p[j]] >= 0)
                    cs->masks[(size_t)cs->slot[p[j]] * cs->words + k / 64] |= bit;
        } else {
            lookups -= search;
            for (size_t t = 0; t < cs->n_touched; t++)
                if (holds(p, np, cs->touched[t]))
                    cs->masks[(size_t)t * cs->words + k / 64] |= bit;
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
    size_t first, last; /* sentences, inclusive */
    double coverage;    /* weight covered / total weight */
    double score;       /* coverage less the window penalty */
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
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* One clone with the POPCNT instruction, one for CPUs without it; picked at load time. */
#define KIVO_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define KIVO_POPCNT_CLONES
#endif

static inline __attribute__((always_inline)) double weight_in(const kivo_engine *e, size_t first,
                                                              size_t last, int numbers)
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

KIVO_POPCNT_CLONES
static double weight_of(const kivo_engine *e, size_t first, size_t last, int numbers)
{
    return weight_in(e, first, last, numbers);
}

KIVO_POPCNT_CLONES
static double total_weight(const kv_claim_scratch *cs, int numbers)
{
    size_t n = 0;
    for (size_t w = 0; w < cs->words; w++)
        n += (size_t)__builtin_popcountll(selector(cs, w, numbers));
    return (double)n;
}

/* best_window for a claim of at most 64 terms (one mask word, nearly every claim): the same
 * windows in the same order with the same arithmetic, but read from flat arrays: the masks by
 * sentence (cs->dense, so a neighbour is an index, not a slot lookup) and how far each sentence's
 * source reaches either side (kv_sentence's lead and trail). Two things are passed over without
 * changing the result, which takes a strictly better score or an equal one of an earlier first
 * sentence:
 * - a window whose term count is below need[] for its span: it scores below the best so far;
 * - a touched sentence s none of whose windows can beat the best: their terms are among those of
 *   the sentences s - 2 .. s + 2 (of any source), so none covers more than those together.
 * (test_match.c's test_window_bound compares it with the general loop below.) */
/* The score of a window of span + 1 sentences covering n terms: best_window's arithmetic. */
static inline double window_score(double n, double total, size_t span)
{
    const double coverage = total > 0 ? n / total : 0;
    return coverage - WINDOW_PENALTY * (double)span;
}

/* need[span]: the fewest terms (0..65) with which a window of span + 1 sentences scores at least
 * `score`; 65 when none does. A score is nondecreasing in n (IEEE division by a positive total
 * and the subtraction are monotonic), so a window with fewer terms scores below `score`. The
 * estimate from the inverse is then moved to where window_score itself says the step is. */
static inline void set_need(double score, double total, size_t need[MAX_WINDOW])
{
    for (size_t span = 0; span < MAX_WINDOW; span++) {
        double x = ceil((score + WINDOW_PENALTY * (double)span) * total);
        size_t n = x <= 0 ? 0 : x >= 65 ? 65 : (size_t)x;
        while (n > 0 && window_score((double)(n - 1), total, span) >= score)
            n--;
        while (n < 65 && window_score((double)n, total, span) < score)
            n++;
        need[span] = n;
    }
}

static inline __attribute__((always_inline)) int best_window_1(const kivo_engine *e, double total,
                                                               const window *skip, window *best)
{
    const kv_claim_scratch *cs = &e->cs;
    const uint64_t valid = selector(cs, 0, -1);
    int found = 0;
    /* Until a window is found, every window is weighed; then only those whose term count can
     * reach the best score (need[]); when total is 0, every score is the penalty alone. */
    size_t need[MAX_WINDOW] = {0, 0, 0};
    const int bounded = total > 0;
    for (size_t t = 0; t < cs->n_touched; t++) {
        const size_t s = cs->touched[t];
        /* dense[s + DENSE_PAD + d]: the mask of sentence s + d, 0 past either end. */
        const uint64_t *around = cs->dense + s;
        if (found && bounded) {
            const uint64_t all = around[0] | around[1] | around[2] | around[3] | around[4];
            if ((size_t)__builtin_popcountll(all & valid) < need[0])
                continue;
        }
        /* The windows of s: up to `lead` sentences before it and `trail` after it are of its
         * source (index.c). */
        const kv_sentence *sn = &e->sents[s];
        const size_t lead = sn->lead < MAX_WINDOW - 1 ? sn->lead : MAX_WINDOW - 1;
        const size_t trail = sn->trail < MAX_WINDOW - 1 ? sn->trail : MAX_WINDOW - 1;
        const uint64_t *at = around + DENSE_PAD; /* at[d]: the mask of sentence s + d */
        uint64_t left = 0;                       /* sentences s - before .. s */
        for (size_t before = 0; before <= lead; before++) {
            left |= at[-(ptrdiff_t)before];
            uint64_t acc = left;
            for (size_t after = 0; after <= trail && before + after < MAX_WINDOW; after++) {
                acc |= at[after];
                const size_t count = (size_t)__builtin_popcountll(acc & valid);
                if (count < need[before + after])
                    continue; /* scores below the best */
                window w = {s - before, s + after, 0, 0};
                if (skip && w.first <= skip->last && w.last >= skip->first)
                    continue;
                const double n = (double)count;
                w.coverage = total > 0 ? n / total : 0;
                w.score = w.coverage - WINDOW_PENALTY * (double)(w.last - w.first);
                if (!found || w.score > best->score ||
                    (w.score == best->score && w.first < best->first)) {
                    *best = w;
                    found = 1;
                    if (bounded)
                        set_need(best->score, total, need);
                }
            }
        }
    }
    return found;
}

/* Best window of 1-3 neighbouring sentences of one source around each touched sentence;
 * `skip` excludes windows overlapping it (for the second piece of evidence). Cloned like
 * weight_of, whose body it inlines: its ~6 weights per touched sentence were a call each. */
KIVO_POPCNT_CLONES
static int best_window(const kivo_engine *e, double total, const window *skip, window *best)
{
    const kv_claim_scratch *cs = &e->cs;
    int found = 0;
    if (cs->words == 1 && !cs->weigh_all)
        return best_window_1(e, total, skip, best);
    for (size_t t = 0; t < cs->n_touched; t++) {
        size_t s = cs->touched[t];
        /* Windows that hold s: centred on it, or starting or ending at it, so that two
         * touched sentences with an untouched one between them share a window. */
        for (size_t before = 0; before < MAX_WINDOW; before++) {
            for (size_t after = 0; before + after < MAX_WINDOW; after++) {
                if (before > s || s + after >= e->n_sents ||
                    e->sents[s - before].source != e->sents[s].source ||
                    e->sents[s + after].source != e->sents[s].source)
                    continue;
                window w = {s - before, s + after, 0, 0};
                if (skip && w.first <= skip->last && w.last >= skip->first)
                    continue;
                w.coverage = total > 0 ? weight_in(e, w.first, w.last, -1) / total : 0;
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

/* 1 when token t opens a phrase, where a capital says nothing about a name: the claim's first
 * word, or a word right after ':', a quote or an opening bracket ("Determine the scale: Decide",
 * click "Export"); also a lone letter (50°F). */
static int starts_phrase(const char *text, size_t claim_start, const kv_token *t)
{
    if (t->end - t->start == 1 || t->start <= claim_start)
        return 1;
    size_t i = t->start;
    while (i > claim_start && text[i - 1] == ' ')
        i--;
    if (i == claim_start)
        return 1;
    unsigned char c = (unsigned char)text[i - 1];
    if (c == ':' || c == '"' || c == '\'' || c == '(' || c == '[')
        return 1;
    /* Typographic opening quotes, U+201C and U+2018. */
    return i >= claim_start + 3 && (unsigned char)text[i - 3] == 0xE2 &&
           (unsigned char)text[i - 2] == 0x80 && (c == 0x9C || c == 0x98);
}

/* 1 when the claim's first word t opens a name of two capitalised words ("Norden Systems has
 * acquired ..."): the capital of the first word says nothing, the second word's does. */
static int opens_name(const char *text, const kv_token *toks, size_t n, const kv_token *t)
{
    if (t != &toks[0] || n < 2 || !(toks[1].flags & KV_TF_CAP) || toks[1].kind != KV_TOK_WORD)
        return 0;
    /* One space between them: "Norden Systems", not "Yes, Norden". */
    return toks[1].start == t->end + 1 && text[t->end] == ' ';
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

/* Index of the claim term with token t's hash. */
static size_t term_of(const kv_claim_scratch *cs, const kv_token *t)
{
    size_t k = 0;
    while (k < cs->n_terms && cs->terms[k]->h != t->h)
        k++;
    return k;
}

/* Adds [start, end) to the claim's unsupported spans, in output order; when they are full, the
 * two neighbours with the smallest gap between them are merged, so no part is dropped. */
static void add_span(kivo_claim *c, size_t start, size_t end)
{
    kivo_text_span v[KIVO_MAX_UNSUPPORTED_SPANS + 1];
    size_t n = c->n_unsupported_spans;
    memcpy(v, c->unsupported_spans, n * sizeof *v);
    v[n].start = start;
    v[n].end = end;
    n++;
    if (n > KIVO_MAX_UNSUPPORTED_SPANS) {
        size_t at = 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (v[i + 1].start - v[i].end < v[at + 1].start - v[at].end)
                at = i;
        v[at].end = v[at + 1].end;
        memmove(&v[at + 1], &v[at + 2], (n - at - 2) * sizeof *v);
        n--;
    }
    memcpy(c->unsupported_spans, v, n * sizeof *v);
    c->n_unsupported_spans = n;
}

/* When the runs of failing words fill more than half of a claim about text, the claim fails as a
 * whole, and its one span is the claim: what stands between the runs are words any sentence of
 * the sources' subject holds ("the", "cooking time", a list number), not support. Against a
 * flattened record the words that disagree are the field values and times: kept as they are. */
static void whole_claim_when_most(kivo_claim *c)
{
    size_t covered = 0;
    for (size_t k = 0; k < c->n_unsupported_spans; k++)
        covered += c->unsupported_spans[k].end - c->unsupported_spans[k].start;
    if (c->n_unsupported_spans == 0 || 2 * covered <= c->end - c->start)
        return;
    c->unsupported_spans[0].start = c->start;
    c->unsupported_spans[0].end = c->end;
    c->n_unsupported_spans = 1;
}

#define SPAN_GAP_WORDS 2 /* present content words a run of missing ones bridges */

/* 1 when window w holds claim term k. */
static int window_holds(const kivo_engine *e, const window *w, size_t k)
{
    for (size_t s = w->first; s <= w->last; s++) {
        const uint64_t *m = mask_of(e, s);
        if (m && (m[k / 64] >> (k % 64) & 1u))
            return 1;
    }
    return 0;
}

/* Marks in miss[] (one byte per claim token) the tokens that carry the failure: for a negation
 * the window does not make, the negation cues; otherwise content words the sources never hold,
 * or, when the record holds every word, those its best window lacks. */
static void mark_failure(const kivo_engine *e, const kv_token *toks, size_t n, const window *best,
                         int negation, uint8_t *miss)
{
    const kv_claim_scratch *cs = &e->cs;
    size_t marked = 0;
    memset(miss, 0, n);
    for (size_t i = 0; i < n; i++) {
        if (negation) {
            miss[i] = (toks[i].flags & KV_TF_NEG) != 0;
        } else if (toks[i].kind != KV_TOK_STOP) {
            size_t k = term_of(cs, &toks[i]);
            miss[i] = k < cs->n_terms && !cs->present[k];
        }
        marked += miss[i];
    }
    if (marked || !best)
        return;
    for (size_t i = 0; i < n; i++) {
        if (toks[i].kind == KV_TOK_STOP)
            continue;
        size_t k = term_of(cs, &toks[i]);
        miss[i] = k < cs->n_terms && !window_holds(e, best, k);
    }
}

#define FIELD_CONFLICT KV_CHECK_CONFLICT
#define FIELD_NULL KV_CHECK_NULL

/* The narrow parts of an unsupported claim: runs of tokens marked in miss[], bridging function
 * words and up to SPAN_GAP_WORDS content words the sources do hold. */
static void spans_from_marks(kivo_claim *c, const kv_token *toks, size_t n, const uint8_t *miss)
{
    size_t i = 0;
    const int gap_words = SPAN_GAP_WORDS;
    c->n_unsupported_spans = 0;
    while (i < n) {
        if (!miss[i]) {
            i++;
            continue;
        }
        size_t first = i, last = i;
        size_t j = i + 1;
        int present = 0;
        while (j < n) {
            if (miss[j]) {
                last = j;
                present = 0;
            } else if (toks[j].kind != KV_TOK_STOP && ++present > gap_words) {
                break;
            }
            j++;
        }
        add_span(c, toks[first].start, toks[last].end);
        i = last + 1;
    }
}

#define ATTRIBUTION_MAX 8 /* tokens of a leading "According to passage 1," */

/* Tokens of a leading attribution to the sources, up to its comma: "According to passage 1,",
 * "Based on the given passages,", "As the article mentions,". What follows is the claim; the
 * attribution says where it is from, not what is so. 0 when there is none. */
static size_t attribution_prefix(const char *text, const kv_token *toks, size_t n)
{
    int ref = 0;
    for (size_t i = 0; i + 1 < n && i < ATTRIBUTION_MAX; i++) {
        ref |= (toks[i].flags & KV_TF_REF) != 0;
        if (memchr(text + toks[i].end, ',', toks[i + 1].start - toks[i].end))
            return ref ? i + 1 : 0;
    }
    return 0;
}

#define INITIALS_SENTS 8 /* sentences searched for initials written out */

/* 1 when one of sentences sent[0..np) writes the initials of the claim's name toks[i..end) as a
 * word of capitals, with or without dots ("ACS", "U.S."). */
static int initials_written(const kivo_engine *e, const kivo_packet *p, const char *text,
                            const kv_token *toks, size_t i, size_t end, const uint32_t *sent,
                            size_t np)
{
    char ini[16];
    size_t k = 0;
    for (size_t j = i; j < end && k < sizeof ini; j++)
        if (toks[j].flags & KV_TF_CAP)
            ini[k++] = text[toks[j].start];
    if (k < 2)
        return 0;
    for (size_t q = 0; q < np && q < INITIALS_SENTS; q++) {
        const kv_sentence *st = &e->sents[sent[q]];
        const char *s = p->sources[st->source].text + st->start;
        size_t len = st->end - st->start;
        /* The initials start where the first one is written: memchr finds the places. */
        for (size_t a = 0; a < len; a++) {
            const char *at = memchr(s + a, ini[0], len - a);
            if (!at)
                break;
            a = (size_t)(at - s);
            if (a > 0 &&
                ((s[a - 1] >= 'A' && s[a - 1] <= 'Z') || (s[a - 1] >= 'a' && s[a - 1] <= 'z')))
                continue;
            size_t b = a, m = 0;
            while (b < len && m < k && s[b] == ini[m]) {
                b++;
                m++;
                if (b < len && s[b] == '.')
                    b++;
            }
            if (m == k && b < len && s[b] == 's')
                b++; /* "NICs" */
            if (m == k &&
                (b == len || !((s[b] >= 'A' && s[b] <= 'Z') || (s[b] >= 'a' && s[b] <= 'z'))))
                return 1;
        }
    }
    return 0;
}

/* Marks held (present) the terms of each name in the claim that the sources hold as its
 * initials ("United Kingdom" where they say "UK"). */
static void hold_initials(kivo_engine *e, const kivo_packet *p, const char *text, size_t len,
                          const kv_token *toks, size_t n)
{
    kv_claim_scratch *cs = &e->cs;
    for (size_t i = 0, end; i < n; i = end) {
        end = i + 1;
        if (!(toks[i].flags & KV_TF_CAP))
            continue;
        uint64_t h = kv_acronym_at(e, text, len, toks, n, i, &end);
        if (end <= i)
            end = i + 1;
        size_t np;
        if (!h || !kv_index_find(e, h, &np) || np == 0)
            continue;
        /* The sources must write the initials ("ACS", "U.K."): the index also holds the
         * initials of the sources' own names, and "David Ortega" is not "David Ortiz". */
        /* The claim writes the initials itself: "U.S.", or "National Insurance Contributions
         * (NICs)". */
        int dotted = toks[i].end - toks[i].start == 1;
        int alias = end < n && text[toks[end].start - 1] == '(' && (toks[end].flags & KV_TF_CODE);
        if (!dotted && !alias &&
            !initials_written(e, p, text, toks, i, end, kv_index_find(e, h, &np), np))
            continue;
        for (size_t j = i; j < end; j++) {
            size_t k = term_of(cs, &toks[j]);
            if (toks[j].kind != KV_TOK_STOP && k < cs->n_terms)
                cs->present[k] = 1;
        }
    }
}

/* Marks held a claim's missing "need" of "needs to" when the window the sentence layer read
 * has a modal of necessity (must, required, have to): @return 1 when it did. */
static int hold_modal_paraphrase(kivo_engine *e, const char *text, const kv_token *toks, size_t n)
{
    kv_claim_scratch *cs = &e->cs;
    for (size_t i = 0; i + 1 < n; i++) {
        if (!(kv_text_is(text + toks[i].start, toks[i].end - toks[i].start, "needs") ||
              kv_text_is(text + toks[i].start, toks[i].end - toks[i].start, "need")) ||
            !kv_text_is(text + toks[i + 1].start, toks[i + 1].end - toks[i + 1].start, "to"))
            continue;
        size_t k = term_of(cs, &toks[i]);
        if (k >= cs->n_terms || cs->present[k] || !kv_sense_window_necessary(e))
            continue;
        cs->present[k] = 1;
        return 1;
    }
    return 0;
}

/* Marks held the claim's day words, "open"/"closed" and an "N days a week" the record keeps
 * (check_hours found them in agreement with the record's hours). */
static void hold_hours_words(const kivo_engine *e, kv_claim_scratch *cs, const char *text,
                             const kv_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const kv_token *t = &toks[i];
        /* "seven days a week" where the record keeps seven days open: its number is held. */
        if (kv_hours_per_week_kept(e, text, toks, n, i)) {
            for (size_t j = i; j < i + 4; j++) {
                size_t k = toks[j].kind != KV_TOK_STOP ? term_of(cs, &toks[j]) : cs->n_terms;
                if (k < cs->n_terms)
                    cs->present[k] = 1;
            }
            i += 3;
            continue;
        }
        const char *w = text + t->start;
        size_t len = t->end - t->start;
        if (t->kind != KV_TOK_WORD || (kv_weekday(w, len) < 0 && !kv_text_is(w, len, "closed") &&
                                       !kv_text_is(w, len, "open") && !kv_text_is(w, len, "opens")))
            continue;
        size_t k = term_of(cs, t);
        if (k < cs->n_terms)
            cs->present[k] = 1;
    }
}

kivo_status kv_match_claim(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                           kivo_claim *c)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    c->n_evidence = 0;
    c->category = KIVO_CAT_NONE;
    /* "According to passage 1, ..." is judged on what follows the attribution. */
    size_t skip = attribution_prefix(p->output, toks, n);
    toks += skip;
    n -= skip;
    kv_given_note(e, p->output, toks, n);
    if ((st = collect_terms(cs, p->output, toks, n)) != KIVO_OK)
        return st;
    if ((st = touch_sentences(e)) != KIVO_OK)
        return st;

    hold_initials(e, p, p->output, p->output_len, toks, n);
    kv_prefix_hold(e, p->output, toks, n);
    kv_given_hold(e, cs);
    if (e->n_fields)
        kv_fields_hold(e, cs);

    /* Opening hours the record keeps as the claim says them hold its day words and "closed"
     * or "open": "closed on Sundays" against a record without Sunday hours. */
    int hours = e->hours.state ? kv_hours_check(e, p->output, toks, n, NULL) : 0;
    if (e->hours.state == KV_HOURS_KNOWN && !hours)
        hold_hours_words(e, cs, p->output, toks, n);

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
    size_t missing_numbers = 0, missing_names = 0, missing_terms = 0;
    int policy = 0, claim_negated = 0;
    for (size_t k = 0; k < cs->n_terms; k++) {
        const kv_token *t = cs->terms[k];
        missing_terms += !cs->present[k];
        if (!cs->present[k] && t->kind == KV_TOK_NUMBER)
            missing_numbers++;
        /* A capitalised word that does not open a phrase, or a code like X200, is a name; a
         * number with a unit glued on ("10mph", "4x4") is not. */
        if (!cs->present[k] && t->kind == KV_TOK_WORD && !(t->flags & (KV_TF_REF | KV_TF_META)) &&
            ((t->flags & KV_TF_CODE) ||
             ((t->flags & KV_TF_CAP) && (!starts_phrase(p->output, toks[0].start, t) ||
                                         opens_name(p->output, toks, n, t)))) &&
            !in_parentheses(p->output, p->output_len, t) &&
            !(p->output[t->start] >= '0' && p->output[t->start] <= '9'))
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
    double words_cov =
        have && words_total > 0 ? weight_of(e, best.first, best.last, 0) / words_total : 0;

    int number_conflict = missing_numbers > 0 && window_numbers && words_cov >= CONFLICT_AT;
    /* A negation the sources do not make. The reverse (the window negates something) is too
     * often about another part of the sentence to call a contradiction. */
    int negation_conflict = have && claim_negated && !window_negated && words_cov >= NEG_AT;

    /* A word whose opposite the source writes next to the same neighbours ("revenue fell" /
     * "revenue rose"), in a window that otherwise holds the claim. (Counting the word itself as
     * held, so that "The board rejected the plan" is checked too, fired on 3 paraphrases of the
     * RAGTruth dev split and on no hallucination.) */
    /* What the claim says against what its window says: polarity, modality, quantifiers,
     * argument order, swapped names and numbers (sense.c). Not against a flattened record: its
     * "path: value" lines are no sentences, and its yes/no fields and hours have rules of their
     * own. */
    kv_sense_result sr;
    sr.rule = KIVO_RULE_COVERAGE;
    sr.converse = 0;
    sr.checked = 0;
    int sense = have && words_cov >= SENSE_AT && !e->has_record &&
                kv_sense_check(e, p, toks, n, best.first, best.last, &sr);
    /* The next best window, when it holds most of the claim too, may be the one whose value
     * the claim took another's for: "International orders take 3 to 5 business days" holds
     * more words of "Standard shipping takes 3 to 5 business days" than of "International
     * orders take 7 to 14 business days". Only the swaps are read there. */
    if (have && !sense && sr.checked && !sr.converse && words_cov < 1) {
        window next;
        if (best_window(e, total, &best, &next) &&
            weight_of(e, next.first, next.last, 0) >= words_total * SENSE_NEXT_AT)
            sense = kv_sense_swaps(e, p, toks, n, next.first, next.last, &sr);
    }
    /* "needs to" where the window says "must" or "required": the same force in other words
     * (the sentence layer read the window's modals). */
    if (sr.checked && hold_modal_paraphrase(e, p->output, toks, n)) {
        anywhere = 0;
        for (size_t k = 0; k < cs->n_terms; k++)
            anywhere += cs->present[k];
        anywhere = total > 0 ? anywhere / total : 0;
        coverage = (1 - ANY_W) * (have ? best.coverage + 1.0 / total : 0) + ANY_W * anywhere;
        if (coverage > 1)
            coverage = 1;
    }

    /* (A claim that says the source's relation from its other side, "Y lost to X" for "X beat
     * Y", has the opposite word by design: sense.c saw the arguments change places.) */
    /* Where the sentence layer read the claim, its polarity rule (negation.c) stands for this
     * one: it knows a negation spent on a bound or a modal ("not more than", "need not") and
     * antonyms ("isn't open" / "closed"). */
    if (sr.checked)
        negation_conflict = 0;
    int opposite = have && words_cov >= CONFLICT_AT && !sr.converse &&
                   kv_opposite_conflict(e, p, toks, n, best.first, best.last, NULL);

    int fields = e->n_fields ? kv_fields_check(e, p->output, toks, n, NULL) : 0;
    fields |= hours;

    /* A record's keys and values hold its facts in other words than an answer's sentences
     * ("RestaurantsTakeOut: true"), so its claims get a lower bar than claims about text. */
    double partial_at = e->has_record ? PARTIAL_RECORD_AT : PARTIAL_AT;

    /* The rules name what looks wrong (the category) and how well the claim is covered. */
    kivo_claim_status rule;
    c->rule = KIVO_RULE_COVERAGE;
    if (number_conflict || negation_conflict || opposite || (fields & FIELD_CONFLICT) || sense) {
        rule = KIVO_CLAIM_CONTRADICTED;
        c->category = KIVO_CAT_CONTRADICTED_CLAIM;
        c->rule = (fields & FIELD_CONFLICT)
                      ? (hours & FIELD_CONFLICT ? KIVO_RULE_HOURS : KIVO_RULE_FIELD)
                  : number_conflict   ? KIVO_RULE_NUMBER_CONFLICT
                  : negation_conflict ? KIVO_RULE_NEGATION_UNMATCHED
                  : opposite          ? KIVO_RULE_OPPOSITE
                                      : sr.rule;
    } else if (missing_numbers > 0) {
        rule = KIVO_CLAIM_UNSUPPORTED;
        c->category = KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM;
        c->rule = KIVO_RULE_NUMBER_MISSING;
    } else if (missing_names > 0) {
        /* Capitals are a noisy sign of a name (titles, headings, brand case): a claim the sources
         * otherwise cover well, in other words, is only partly supported by a name they lack. A
         * claim whose only new words are names ("... Canada and Australia") asserts them. */
        rule = coverage < NAME_AT || missing_terms == missing_names
                   ? KIVO_CLAIM_UNSUPPORTED
                   : KIVO_CLAIM_PARTIALLY_SUPPORTED;
        c->category = KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM;
        c->rule = KIVO_RULE_NAME_MISSING;
    } else if (coverage < partial_at || (fields & FIELD_NULL)) {
        rule = KIVO_CLAIM_UNSUPPORTED;
        if (coverage >= partial_at)
            c->rule = KIVO_RULE_NULL_FIELD;
        c->category = policy ? KIVO_CAT_UNSUPPORTED_POLICY_CLAIM : KIVO_CAT_UNSUPPORTED_CLAIM;
    } else if (coverage < SUPPORTED_AT) {
        rule = KIVO_CLAIM_PARTIALLY_SUPPORTED;
        c->category = policy ? KIVO_CAT_UNSUPPORTED_POLICY_CLAIM : KIVO_CAT_UNSUPPORTED_CLAIM;
    } else {
        rule = KIVO_CLAIM_SUPPORTED;
    }

    c->status = rule;
    if (e->explain) {
        kv_explain_add(e, " coverage %.4f (best window %.4f", coverage, have ? best.coverage : 0.0);
        if (have)
            kv_explain_add(e, ": source %u sentences %zu-%zu", e->sents[best.first].source,
                           best.first, best.last);
        kv_explain_add(e, "; anywhere %.4f; words in window %.4f);", anywhere, words_cov);
        for (size_t i = 0, any = 0; i < n; i++) {
            size_t k = toks[i].kind != KV_TOK_STOP ? term_of(cs, &toks[i]) : cs->n_terms;
            if (k < cs->n_terms && !cs->present[k])
                kv_explain_add(e, "%s%.*s", any++ ? " " : " no source holds: ",
                               (int)(toks[i].end - toks[i].start), p->output + toks[i].start);
        }
    }
    double score = coverage;
    if ((c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED) &&
        score >= partial_at)
        score = partial_at - 0.01; /* the score never says more than the status */
    if (c->status == KIVO_CLAIM_PARTIALLY_SUPPORTED && score >= SUPPORTED_AT)
        score = SUPPORTED_AT - 0.01;
    c->support_score = round4(score);

    c->n_unsupported_spans = 0;
    if (c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED) {
        if ((st = kv_grow((void **)&cs->miss, &cs->cap_miss, n ? n : 1, sizeof *cs->miss, 64)) !=
            KIVO_OK)
            return st;
        if (fields) {
            memset(cs->miss, 0, n);
            if (e->n_fields)
                kv_fields_check(e, p->output, toks, n, cs->miss);
            if (hours)
                kv_hours_check(e, p->output, toks, n, cs->miss);
        } else if (opposite && !number_conflict && !negation_conflict) {
            memset(cs->miss, 0, n);
            kv_opposite_conflict(e, p, toks, n, best.first, best.last, cs->miss);
        } else if (sense && !number_conflict && !negation_conflict) {
            for (size_t i = 0; i < n; i++)
                cs->miss[i] = sr.mark[i] != 0;
        } else {
            mark_failure(e, toks, n, have ? &best : NULL, negation_conflict && !number_conflict,
                         cs->miss);
        }
        spans_from_marks(c, toks, n, cs->miss);
        if (!e->has_record)
            whole_claim_when_most(c);
    }

    if (have && best.coverage > 0) {
        set_evidence(e, &best, &c->evidence[c->n_evidence++]);
        window second;
        if (best_window(e, total, &best, &second) && second.coverage > 0 &&
            c->n_evidence < KIVO_MAX_EVIDENCE)
            set_evidence(e, &second, &c->evidence[c->n_evidence++]);
    }
    return KIVO_OK;
}
