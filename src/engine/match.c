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

/* Thresholds chosen on the RAGTruth dev split only (scripts/eval-ragtruth --split dev). */
#define SUPPORTED_AT 0.80     /* coverage at or above: supported */
#define PARTIAL_AT 0.33       /* coverage at or above: partially supported */
#define PARTIAL_RECORD_AT 0.30 /* the same when a source is a flattened record */
#define ANY_W 0.5             /* share of coverage from terms found anywhere in the sources */
#define NAME_AT 0.65          /* coverage below which a name no source holds: unsupported */
#define NEG_AT 0.90           /* word coverage at or above which an unmatched negation contradicts */
#define CONFLICT_AT 0.70      /* coverage of the rest at or above which a disagreement contradicts */
#define WINDOW_PENALTY 0.01   /* per extra sentence, so the tightest span wins a tie */
#define MAX_WINDOW 3          /* sentences in a window */

/* 1 when token t's text is one of words (NULL-terminated), ASCII letters without case. */
static int tok_is(const char *text, const kv_token *t, const char *const *words)
{
    for (size_t k = 0; words[k]; k++)
        if (kv_text_is(text + t->start, t->end - t->start, words[k]))
            return 1;
    return 0;
}

/* "Please note that ...", "Keep in mind ...", "However, remember ...": a caveat to the reader, not
 * a statement of fact. */
static int is_caveat(const char *text, const kv_token *toks, size_t n)
{
    static const char *const connective[] = {"however", "additionally", "also", "overall",
                                              "finally", "therefore", "so", "but", NULL};
    static const char *const note[] = {"note", "remember", NULL};
    static const char *const keep[] = {"keep", "bear", NULL};
    static const char *const in[] = {"in", NULL};
    static const char *const mind[] = {"mind", NULL};
    static const char *const please[] = {"please", NULL};
    size_t i = n > 1 && tok_is(text, &toks[0], connective) ? 1 : 0;
    if (i < n && tok_is(text, &toks[i], please))
        i++;
    if (i < n && tok_is(text, &toks[i], note))
        return 1;
    return i + 2 < n && tok_is(text, &toks[i], keep) && tok_is(text, &toks[i + 1], in) &&
           tok_is(text, &toks[i + 2], mind);
}

#define REFERRAL_REACH 8   /* tokens from "consult" to the professional it names */

/* "Consult a professional locksmith", "seek advice from your doctor", "talk to a specialist":
 * a referral to someone else, not a statement of fact. */
static int is_referral(const char *text, const kv_token *toks, size_t n)
{
    static const char *const ask[] = {"consult", "consulting", "contact", "contacting", "seek",
                                      "seeking", "speak", "speaking", "talk", "talking", NULL};
    static const char *const who[] = {
        "professional", "professionals", "doctor", "doctors", "physician", "expert", "experts",
        "specialist", "specialists", "healthcare", "provider", "locksmith", "attorney", "lawyer",
        "veterinarian", "vet", "technician", "pharmacist", "dentist", "therapist", "counselor",
        "electrician", "plumber", "mechanic", "contractor", "advisor", "adviser", NULL};
    for (size_t i = 0; i < n; i++) {
        if (!tok_is(text, &toks[i], ask))
            continue;
        for (size_t j = i + 1; j < n && j <= i + REFERRAL_REACH; j++)
            if (tok_is(text, &toks[j], who))
                return 1;
    }
    return 0;
}

/* 1 when s[0..len) holds a typographic double quote (U+201C or U+201D). */
static int has_quote_mark(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if ((unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x9C || (unsigned char)s[i + 2] == 0x9D))
            return 1;
    return 0;
}

/* 1 when text[at..len) opens with the line under a Markdown table's header ("|---|:--:|"). */
static int table_rule_at(const char *text, size_t len, size_t at)
{
    while (at < len && (text[at] == '\n' || text[at] == '\r' || text[at] == ' '))
        at++;
    size_t dashes = 0;
    for (; at < len && text[at] != '\n'; at++) {
        char c = text[at];
        if (c == '-')
            dashes++;
        else if (c != '|' && c != ':' && c != ' ' && c != '\r')
            return 0;
    }
    return dashes >= 3;
}

/* A heading: Markdown's "## Summary", or a label ending in ':' ("Steps:", "**Answer:**"). */
static int is_heading(const char *text, const kv_span *span)
{
    size_t a = span->start, b = span->end;
    if (text[a] == '#') {
        while (a < b && text[a] == '#')
            a++;
        if (a < b && text[a] == ' ')
            return 1;
    }
    while (b > a && (text[b - 1] == '*' || text[b - 1] == '_'))
        b--;
    return b > a && text[b - 1] == ':';
}

int kv_match_is_claim(const char *text, size_t len, const kv_span *span, const kv_token *toks,
                      size_t n)
{
    size_t content = 0, numbers = 0, refs = 0, words = 0;
    int negated = 0;
    if (text[span->end - 1] == '?' || is_heading(text, span))
        return 0;
    /* The header row of a Markdown table names its columns; the rows under it are claims. */
    if (text[span->start] == '|' && table_rule_at(text, len, span->end))
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
    /* "Thanks for reaching out!", "Sure!", "Good luck!", "I hope this helps." */
    int meta = 0, self = 0;
    for (size_t i = 0; i < n; i++) {
        meta |= (toks[i].flags & KV_TF_META) != 0;
        /* "I", not the "i" of "type i": the speaker is written in capitals. */
        self |= (toks[i].flags & KV_TF_SELF) && (toks[i].flags & KV_TF_CAP);
    }
    if (meta && numbers == 0 && content <= 3)
        return 0;
    /* "I can confidently answer the question.", "I'd be happy to help": about the assistant,
     * unless quoted (news quote their sources: "I was there," he said). */
    if (self && !memchr(text + span->start, '"', span->end - span->start) &&
        !has_quote_mark(text + span->start, span->end - span->start))
        return 0;
    /* "The passages do not mention the price." */
    if (negated && refs > 0 && numbers == 0)
        return 0;
    /* "Please note that results may vary.", "Consult a professional if it persists." */
    if (is_caveat(text, toks, n) || is_referral(text, toks, n))
        return 0;
    return 1;
}

/* Collects the claim's distinct content terms. */
static kivo_status collect_terms(kv_claim_scratch *cs, const kv_token *toks, size_t n)
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
        if (!pr || !po || !np || !order || !picks) {
            cs->cap_terms = old;    /* so that the next claim tries again */
            return KIVO_ENOMEM;
        }
    }
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

static kivo_status touch_sentences(kivo_engine *e)
{
    kv_claim_scratch *cs = &e->cs;
    kivo_status st;
    /* slot[] is -1 everywhere but at the sentences the last claim touched: undo those. */
    for (size_t t = 0; t < cs->n_touched; t++)
        cs->slot[cs->touched[t]] = -1;
    cs->n_touched = 0;
    if (e->n_sents > cs->cap_slot) {
        size_t old = cs->cap_slot;
        if ((st = kv_grow((void **)&cs->slot, &cs->cap_slot, e->n_sents, sizeof *cs->slot,
                          64)) != KIVO_OK)
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
    /* A claim of function words only ("According to passage 1, the.") has no term: numbits
     * may still be NULL then, and memset(NULL, 0, 0) is undefined. */
    if (cs->words)
        memset(cs->numbits, 0, cs->words * sizeof *cs->numbits);
    for (size_t k = 0; k < cs->n_terms; k++)
        if (cs->terms[k]->kind == KV_TOK_NUMBER)
            cs->numbits[k / 64] |= 1ull << (k % 64);

    int big = e->n_sents > BIG_RECORD_SENTS;
    size_t picking = 0;     /* postings of the terms that may pick */
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
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* One clone with the POPCNT instruction, one for CPUs without it; picked at load time. */
#define KIVO_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define KIVO_POPCNT_CLONES
#endif

KIVO_POPCNT_CLONES
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

KIVO_POPCNT_CLONES
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

#define SPAN_GAP_WORDS 2   /* present content words a run of missing ones bridges */

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

#define FIELD_CONFLICT 1
#define FIELD_NULL 2
#define NEG_BEFORE 8    /* tokens before a field's key where a negation still applies to it */
#define NEG_AFTER 6     /* and after it ("garage and valet parking are not") */

/* 1 when the words between tokens a and b (a < b) end a clause: '.', ';', ':' or a contrast
 * word ("but", "while") at b. Commas do not: "no valet, garage or lot parking". */
static int clause_break(const char *text, const kv_token *a, const kv_token *b)
{
    for (uint32_t i = a->end; i < b->start; i++)
        if (text[i] == '.' || text[i] == ';' || text[i] == ':')
            return 1;
    static const char *const contrast[] = {"but", "while", "although", "though", "whereas",
                                           "however", "yet", NULL};
    size_t len = b->end - b->start;
    for (size_t k = 0; contrast[k]; k++) {
        if (strlen(contrast[k]) != len)
            continue;
        size_t i = 0;
        while (i < len && (text[b->start + i] | 0x20) == contrast[k][i])
            i++;
        if (i == len)
            return 1;
    }
    return 0;
}

/* Whether a negation cue governs tokens [*lo, *hi]: one up to NEG_BEFORE tokens before or
 * NEG_AFTER after, in the same clause. Widens [*lo, *hi] to the cue found. */
static int negation_scope(const char *text, const kv_token *toks, size_t n, size_t *lo, size_t *hi)
{
    for (size_t i = *lo, k = 0; i > 0 && k < NEG_BEFORE; i--, k++) {
        if (clause_break(text, &toks[i - 1], &toks[i]))
            break;
        if (toks[i - 1].flags & KV_TF_NEG) {
            *lo = i - 1;
            return 1;
        }
    }
    for (size_t i = *hi + 1, k = 0; i < n && k < NEG_AFTER; i++, k++) {
        if (clause_break(text, &toks[i - 1], &toks[i]))
            break;
        if (toks[i].flags & KV_TF_NEG) {
            *hi = i;
            return 1;
        }
    }
    return 0;
}

/* Index of the first claim token (not a number) with hash h, or n. */
static size_t find_word(const kv_token *toks, size_t n, uint64_t h)
{
    size_t i = 0;
    while (i < n && !(toks[i].kind != KV_TOK_NUMBER && toks[i].h == h))
        i++;
    return i;
}

/* 1 when the field's key words appear in no sentence but the field's own line ("upscale" in
 * Ambience.upscale): such a key names the field without its parent. */
static int key_only(const kivo_engine *e, const kv_field *fd)
{
    for (size_t j = 0; j < fd->n_key; j++) {
        size_t np;
        kv_index_find(e, fd->key[j], &np);
        if (np > 1)
            return 0;
    }
    return 1;
}

/* 1 when the claim holds every word h[0..k) (none when k is 0), with *first and *last the
 * first and last claim tokens among them. */
static int holds_all(const kv_token *toks, size_t n, const uint64_t *h, size_t k, size_t *first,
                     size_t *last)
{
    *first = n;
    *last = 0;
    for (size_t j = 0; j < k; j++) {
        size_t i = find_word(toks, n, h[j]);
        if (i == n)
            return 0;
        *first = i < *first ? i : *first;
        *last = i > *last ? i : *last;
    }
    return 1;
}

/* 1 when the claim names every key word of field fd (or its key written as one word). */
static int names_key(const kv_field *fd, const kv_token *toks, size_t n)
{
    size_t first, last;
    return holds_all(toks, n, fd->key, fd->n_key, &first, &last) ||
           (fd->joined && find_word(toks, n, fd->joined) < n);
}

/* 1 when fields a and b have the same parent. */
static int same_parent(const kv_field *a, const kv_field *b)
{
    return a->n_parent == b->n_parent &&
           memcmp(a->parent, b->parent, a->n_parent * sizeof *a->parent) == 0;
}

/* Holds the claim against groups of yes/no fields under one parent (BusinessParking.garage,
 * .street, ...) that it names as a whole: "there is no parking" when some kind of parking is
 * true is a conflict. A claim that names one of the group's keys is checked field by field
 * instead. Marks the parent's words and the negation in mark (may be NULL). */
static int check_groups(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                        uint8_t *mark)
{
    int found = 0;
    size_t f = 0;
    while (f < e->n_fields) {
        size_t g = f + 1;
        while (g < e->n_fields && same_parent(&e->fields[f], &e->fields[g]))
            g++;
        const kv_field *fd = &e->fields[f];
        size_t first = n, last = 0;
        int parent = fd->n_parent && holds_all(toks, n, fd->parent, fd->n_parent, &first, &last);
        int any_true = 0, named = 0;
        for (size_t h = f; h < g; h++) {
            any_true |= e->fields[h].value == KV_FIELD_TRUE;
            named |= names_key(&e->fields[h], toks, n);
        }
        size_t lo = first, hi = last;
        if (parent && any_true && !named &&
            negation_scope(text, toks, n, &lo, &hi)) {
            found |= FIELD_CONFLICT;
            for (size_t i = lo; mark && i <= hi; i++)
                if ((toks[i].flags & KV_TF_NEG) ||
                    (toks[i].kind != KV_TOK_NUMBER && (i >= first && i <= last)))
                    mark[i] = 1;
        }
        f = g;
    }
    return found;
}

/* Holds the claim against the record's yes/no fields. A claim names a field when it holds every
 * stem of the field's key and, for a nested key, one of its parent's ("street parking" for
 * BusinessParking.street) unless the key's words appear nowhere else in the record. Naming a
 * false field without a negation near it, or a true one with one, is a conflict
 * (FIELD_CONFLICT); naming a null one either way asserts what the record does not know
 * (FIELD_NULL). When mark is not NULL, the key words and negations of every field that
 * disagrees are marked in it. @return the FIELD_* bits found. */
static int check_fields(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                        uint8_t *mark)
{
    int found = 0;
    for (size_t f = 0; f < e->n_fields; f++) {
        const kv_field *fd = &e->fields[f];
        size_t first, last;
        if (!holds_all(toks, n, fd->key, fd->n_key, &first, &last)) {
            /* "takeout" for TakeOut, "wifi" for WiFi. */
            size_t i = fd->joined ? find_word(toks, n, fd->joined) : n;
            if (i == n)
                continue;
            first = last = i;
        }
        if (fd->n_parent && !key_only(e, fd)) {
            size_t k = 0;
            while (k < fd->n_parent && find_word(toks, n, fd->parent[k]) == n)
                k++;
            if (k == fd->n_parent)
                continue;
        }
        size_t lo = first, hi = last;
        int negated = negation_scope(text, toks, n, &lo, &hi);
        int hit = fd->value == KV_FIELD_NULL ? FIELD_NULL
                  : (fd->value == KV_FIELD_FALSE) != negated ? FIELD_CONFLICT : 0;
        found |= hit;
        if (!hit || !mark)
            continue;
        for (size_t i = lo; i <= hi; i++) {
            if (toks[i].flags & KV_TF_NEG)
                mark[i] = 1;
            for (size_t k = 0; k < fd->n_key; k++)
                if (toks[i].kind != KV_TOK_NUMBER && toks[i].h == fd->key[k])
                    mark[i] = 1;
            if (fd->joined && toks[i].kind != KV_TOK_NUMBER && toks[i].h == fd->joined)
                mark[i] = 1;
        }
    }
    return found | check_groups(e, text, toks, n, mark);
}

/* Leading decimal digits of s[0..len) as a number, and how many there were. */
static unsigned leading_number(const char *s, size_t len, size_t *digits)
{
    unsigned v = 0;
    size_t i = 0;
    while (i < len && i < 4 && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (unsigned)(s[i++] - '0');
    *digits = i;
    return v;
}

/* am (1), pm (2) or neither (0) for s[0..len). */
static int meridiem(const char *s, size_t len)
{
    return kv_text_is(s, len, "am") ? 1 : kv_text_is(s, len, "pm") ? 2 : 0;
}

/* A time of day at token i ("9 pm", "9pm", "11:30 am", "17:00"): minutes after midnight, with
 * *last the last token it spans; -1 when token i starts none. A bare number is no time. */
static int time_at(const char *text, const kv_token *toks, size_t n, size_t i, size_t *last)
{
    const kv_token *t = &toks[i];
    size_t len = t->end - t->start, digits;
    unsigned h = leading_number(text + t->start, len, &digits), m = 0;
    if (!digits || digits > 2 || h > 24)
        return -1;
    int mer = digits < len ? meridiem(text + t->start + digits, len - digits) : 0;
    if (digits < len && !mer)
        return -1;
    int colon = 0;
    *last = i;
    if (!mer && i + 1 < n && text[t->end] == ':' && toks[i + 1].start == t->end + 1) {
        const kv_token *u = &toks[i + 1];
        size_t ul = u->end - u->start, ud;
        m = leading_number(text + u->start, ul, &ud);
        if (ud != 2 || m > 59)
            return -1;
        mer = ud < ul ? meridiem(text + u->start + ud, ul - ud) : 0;
        if (ud < ul && !mer)
            return -1;
        colon = 1;
        *last = i + 1;
    }
    if (!mer && *last + 1 < n) {
        const kv_token *u = &toks[*last + 1];
        if ((mer = meridiem(text + u->start, u->end - u->start)) != 0)
            (*last)++;
    }
    if (!mer && !colon)
        return -1;
    if (mer == 2 && h < 12)
        h += 12;
    if (mer == 1 && h == 12)
        h = 0;
    return (int)(h * 60 + m);
}

/* 1 when every day in `days` opens (end 0) or closes (end 1) at minutes, mod 24 h. */
static int keeps(const kv_hours *hr, unsigned days, int end, int minutes)
{
    for (int d = 0; d < 7; d++)
        if ((days >> d & 1u) && (end ? hr->close[d] : hr->open[d]) % 1440 != (unsigned)minutes % 1440)
            return 0;
    return 1;
}

#define HOURS_RANGES 8     /* opening-to-closing ranges of one claim that are checked */
#define HOURS_DAYS 32      /* day words of one claim that are checked */
#define DAY_LIST_GAP 2     /* tokens between day words of one list ("Monday, Tuesday and Friday") */
#define CLOSED_NEAR 3      /* tokens between a day and "closed" (or a negation) that make it closed */

/* What a claim says about opening hours: its day words, in order, each with the number of
 * time ranges ("9 am to 5 pm", "17:00-21:00") before it, and those ranges. */
typedef struct hours_claim {
    size_t n_days, n_ranges, times;
    struct {
        size_t tok, last;   /* the day word, and the last of its span */
        unsigned days;      /* the days it names: one, or a span ("Monday to Friday") */
        size_t seg;         /* times of day before it */
        int closed;         /* said to be closed ("closed on Mondays", "not open Sunday") */
    } day[HOURS_DAYS];
    struct {
        int at[2];          /* minutes after midnight */
        size_t tok[2][2];   /* first and last tokens of the opening and of the closing time */
        size_t time;        /* times of day before it */
    } range[HOURS_RANGES];
    int open_word;
} hours_claim;

/* 1 when token t is "closed" or a negation. */
static int closed_cue(const char *text, const kv_token *t)
{
    return kv_text_is(text + t->start, t->end - t->start, "closed") || (t->flags & KV_TF_NEG);
}

/* Reads the claim's day words and time ranges into *hc. A time no open day opens or closes at
 * (or any time, when the record's hours are null) is a disagreement found here: @return its
 * FIELD_* bits, with its tokens marked in mark (may be NULL). */
static int read_hours(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                      hours_claim *hc, uint8_t *mark)
{
    const kv_hours *hr = &e->hours;
    int found = 0, pending = 0;
    int prev_day = -1;
    size_t prev_day_tok = 0;
    memset(hc, 0, sizeof *hc);
    for (size_t i = 0; i < n; i++) {
        const kv_token *t = &toks[i];
        const char *w = text + t->start;
        size_t len = t->end - t->start, last;
        hc->open_word |= kv_text_is(w, len, "open") || kv_text_is(w, len, "opens");
        int tm = t->kind != KV_TOK_STOP ? time_at(text, toks, n, i, &last) : -1;
        if (tm >= 0) {
            hc->times++;
            /* Times pair up: an opening, then a closing. */
            if (hc->n_ranges < HOURS_RANGES) {
                if (!pending)
                    hc->range[hc->n_ranges].time = hc->times - 1;
                hc->range[hc->n_ranges].at[pending] = tm;
                hc->range[hc->n_ranges].tok[pending][0] = i;
                hc->range[hc->n_ranges].tok[pending][1] = last;
                if (pending)
                    hc->n_ranges++;
                pending = !pending;
            }
            int ok = hr->state != KV_HOURS_KNOWN;
            for (int d = 0; d < 7 && !ok; d++)
                if ((hr->open_days >> d & 1u) &&
                    (hr->open[d] % 1440 == (unsigned)tm % 1440 ||
                     hr->close[d] % 1440 == (unsigned)tm % 1440))
                    ok = 1;
            if (!ok || hr->state == KV_HOURS_NULL) {
                found |= ok ? FIELD_NULL : FIELD_CONFLICT;
                for (size_t k = i; mark && k <= last; k++)
                    mark[k] = 1;
            }
            i = last;
            continue;
        }
        int day = -1;
        unsigned days = 0;
        if (t->kind == KV_TOK_WORD && (len > 3 || (t->flags & KV_TF_CAP)))
            day = kv_weekday(w, len);
        if (kv_text_is(w, len, "weekdays"))
            days = 0x1f;
        else if (kv_text_is(w, len, "weekends"))
            days = 0x60;
        else if (kv_text_is(w, len, "daily"))
            days = 0x7f;
        if (day >= 0) {
            days = 1u << day;
            /* "Tuesday to Friday", "Mon-Fri", "Monday through Sunday": every day between. */
            int span = 0;
            if (prev_day >= 0 && i == prev_day_tok + 1) {
                size_t gap = t->start - toks[prev_day_tok].end;
                const char *g = text + toks[prev_day_tok].end;
                span = kv_text_is(g, gap, "-") || kv_text_is(g, gap, " - ") ||
                       kv_text_is(g, gap, "\xe2\x80\x93") || kv_text_is(g, gap, " \xe2\x80\x93 ");
            } else if (prev_day >= 0 && i == prev_day_tok + 2) {
                const kv_token *u = &toks[i - 1];
                span = kv_text_is(text + u->start, u->end - u->start, "to") ||
                       kv_text_is(text + u->start, u->end - u->start, "through");
            }
            int from = prev_day;
            prev_day = day;
            prev_day_tok = i;
            if (span && hc->n_days > 0) {
                /* The span widens the day word before it. */
                for (int d = from; d != day; d = (d + 1) % 7)
                    hc->day[hc->n_days - 1].days |= 1u << d;
                hc->day[hc->n_days - 1].days |= days;
                hc->day[hc->n_days - 1].last = i;
                continue;
            }
        }
        if (!days || hc->n_days == HOURS_DAYS)
            continue;
        hc->day[hc->n_days].tok = i;
        hc->day[hc->n_days].last = i;
        hc->day[hc->n_days].days = days;
        hc->day[hc->n_days].seg = hc->times;
        hc->n_days++;
    }
    /* A day with "closed" or a negation a few tokens from it is said to be closed. */
    for (size_t d = 0; d < hc->n_days; d++) {
        size_t at = hc->day[d].tok;
        size_t lo = at > CLOSED_NEAR ? at - CLOSED_NEAR : 0;
        size_t hi = at + CLOSED_NEAR < n ? at + CLOSED_NEAR : n - 1;
        for (size_t i = lo; i <= hi && !hc->day[d].closed; i++)
            hc->day[d].closed = closed_cue(text, &toks[i]);
    }
    return found;
}

/* Marks the tokens of day word d of *hc (a span: "Monday to Friday"). */
static void mark_day(const hours_claim *hc, size_t d, uint8_t *mark)
{
    if (mark)
        memset(mark + hc->day[d].tok, 1, hc->day[d].last - hc->day[d].tok + 1);
}

/* The days range r of *hc is given for, and the day words that name them, hc->day[*d0..*d1):
 * the list of day words ("Monday, Tuesday and Friday", "weekdays") right before the range
 * (`before`) or right after it, less days the claim names again elsewhere ("9 am to 9 pm daily,
 * until 10 pm on Fridays"). */
static unsigned range_days(const hours_claim *hc, size_t r, int before, size_t *d0, size_t *d1)
{
    size_t seg = before ? hc->range[r].time : hc->range[r].time + 2;
    size_t lo = 0;
    while (lo < hc->n_days && hc->day[lo].seg != seg)
        lo++;
    size_t hi = lo;
    while (hi < hc->n_days && hc->day[hi].seg == seg)
        hi++;
    /* Only one list of neighbouring day words: the last one before, or the first one after. */
    if (before) {
        for (size_t d = hi - 1; d > lo; d--)
            if (hc->day[d].tok - hc->day[d - 1].last > DAY_LIST_GAP) {
                lo = d;
                break;
            }
    } else {
        for (size_t d = lo + 1; d < hi; d++)
            if (hc->day[d].tok - hc->day[d - 1].last > DAY_LIST_GAP) {
                hi = d;
                break;
            }
    }
    unsigned days = 0, elsewhere = 0;
    for (size_t d = 0; d < hc->n_days; d++) {
        if (d >= lo && d < hi && !hc->day[d].closed)
            days |= hc->day[d].days;
        else if (d < lo || d >= hi)
            elsewhere |= hc->day[d].days;
    }
    *d0 = lo;
    *d1 = hi;
    return days & ~elsewhere;
}

/* Holds the claim's times of day and days against the record's opening hours. A conflict
 * (FIELD_CONFLICT): a time no open day opens or closes at; a day named as open that has no hours,
 * or named as closed that has some; a range ("from 9 am to 5 pm") that a day it is given for
 * does not keep. Days go with the range after them ("Monday to Friday from 9 am to 5 pm, Sunday
 * 10 am to 2 pm") when the claim names days before its first range, else with the range before
 * them ("9 am to 5 pm on weekdays"). Times or open days when the record's hours are null are
 * FIELD_NULL. Marks what disagrees in mark (may be NULL). */
static int check_hours(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                       uint8_t *mark)
{
    const kv_hours *hr = &e->hours;
    hours_claim hc;
    int found = read_hours(e, text, toks, n, &hc, mark);
    unsigned open = 0, closed = 0;
    for (size_t d = 0; d < hc.n_days; d++) {
        if (hc.day[d].closed)
            closed |= hc.day[d].days;
        else
            open |= hc.day[d].days;
    }
    if (!(open | closed) || (!hc.times && !hc.open_word && !closed))
        return found;
    if (hr->state == KV_HOURS_NULL)
        return found | FIELD_NULL;
    if (open & ~(unsigned)hr->open_days) {
        found |= FIELD_CONFLICT;
        for (size_t d = 0; d < hc.n_days; d++)
            if (!hc.day[d].closed)
                mark_day(&hc, d, mark);
    }
    if (closed & hr->open_days) {
        found |= FIELD_CONFLICT;
        for (size_t d = 0; d < hc.n_days; d++)
            if (hc.day[d].closed && (hc.day[d].days & hr->open_days))
                mark_day(&hc, d, mark);
    }
    int before = hc.n_days > 0 && hc.day[0].seg == 0;
    for (size_t r = 0; r < hc.n_ranges; r++) {
        size_t d0, d1;
        unsigned days = range_days(&hc, r, before, &d0, &d1);
        days &= hr->open_days;
        if (!days || (keeps(hr, days, 0, hc.range[r].at[0]) && keeps(hr, days, 1, hc.range[r].at[1])))
            continue;
        found |= FIELD_CONFLICT;
        for (size_t d = d0; d < d1; d++)
            mark_day(&hc, d, mark);
        /* The opening or closing time, or both, that the days do not keep. */
        for (int end = 0; end < 2; end++)
            for (size_t k = hc.range[r].tok[end][0];
                 mark && !keeps(hr, days, end, hc.range[r].at[end]) && k <= hc.range[r].tok[end][1];
                 k++)
                mark[k] = 1;
    }
    return found;
}

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

#define ATTRIBUTION_MAX 8   /* tokens of a leading "According to passage 1," */

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

/* Marks held (present) the terms of each name in the claim that the sources hold as its
 * initials ("United Kingdom" where they say "UK"). */
static void hold_initials(kivo_engine *e, const char *text, size_t len, const kv_token *toks,
                          size_t n)
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
        for (size_t j = i; j < end; j++) {
            size_t k = term_of(cs, &toks[j]);
            if (toks[j].kind != KV_TOK_STOP && k < cs->n_terms)
                cs->present[k] = 1;
        }
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
    if ((st = collect_terms(cs, toks, n)) != KIVO_OK)
        return st;
    if ((st = touch_sentences(e)) != KIVO_OK)
        return st;

    hold_initials(e, p->output, p->output_len, toks, n);

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
             ((t->flags & KV_TF_CAP) && !starts_phrase(p->output, toks[0].start, t))) &&
            !in_parentheses(p->output, p->output_len, t) && !(p->output[t->start] >= '0' &&
                                                             p->output[t->start] <= '9'))
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

    /* A word whose opposite the source writes next to the same neighbours ("revenue fell" /
     * "revenue rose"), in a window that otherwise holds the claim. (Counting the word itself as
     * held, so that "The board rejected the plan" is checked too, fired on 3 paraphrases of the
     * RAGTruth dev split and on no hallucination.) */
    int opposite = have && words_cov >= CONFLICT_AT &&
                   kv_opposite_conflict(e, p, toks, n, best.first, best.last, NULL);

    int fields = e->n_fields ? check_fields(e, p->output, toks, n, NULL) : 0;
    int hours = e->hours.state ? check_hours(e, p->output, toks, n, NULL) : 0;
    fields |= hours;

    /* A record's keys and values hold its facts in other words than an answer's sentences
     * ("RestaurantsTakeOut: true"), so its claims get a lower bar than claims about text. */
    double partial_at = e->has_record ? PARTIAL_RECORD_AT : PARTIAL_AT;

    /* The rules name what looks wrong (the category) and how well the claim is covered. */
    kivo_claim_status rule;
    c->rule = KIVO_RULE_COVERAGE;
    if (number_conflict || negation_conflict || opposite || (fields & FIELD_CONFLICT)) {
        rule = KIVO_CLAIM_CONTRADICTED;
        c->category = KIVO_CAT_CONTRADICTED_CLAIM;
        c->rule = (fields & FIELD_CONFLICT) ? (hours & FIELD_CONFLICT ? KIVO_RULE_HOURS
                                                                      : KIVO_RULE_FIELD)
                  : number_conflict   ? KIVO_RULE_NUMBER_CONFLICT
                  : negation_conflict ? KIVO_RULE_NEGATION_UNMATCHED
                                      : KIVO_RULE_OPPOSITE;
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
        kv_explain_add(e, "coverage %.4f (best window %.4f", coverage, have ? best.coverage : 0.0);
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
        score = partial_at - 0.01;   /* the score never says more than the status */
    if (c->status == KIVO_CLAIM_PARTIALLY_SUPPORTED && score >= SUPPORTED_AT)
        score = SUPPORTED_AT - 0.01;
    c->support_score = round4(score);

    c->n_unsupported_spans = 0;
    if (c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED) {
        if ((st = kv_grow((void **)&cs->miss, &cs->cap_miss, n ? n : 1, sizeof *cs->miss,
                          64)) != KIVO_OK)
            return st;
        if (fields) {
            memset(cs->miss, 0, n);
            if (e->n_fields)
                check_fields(e, p->output, toks, n, cs->miss);
            if (hours)
                check_hours(e, p->output, toks, n, cs->miss);
        } else if (opposite && !number_conflict && !negation_conflict) {
            memset(cs->miss, 0, n);
            kv_opposite_conflict(e, p, toks, n, best.first, best.last, cs->miss);
        } else {
            mark_failure(e, toks, n, have ? &best : NULL, negation_conflict && !number_conflict,
                         cs->miss);
        }
        spans_from_marks(c, toks, n, cs->miss);
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
