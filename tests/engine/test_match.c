/*
 * test_match.c - match.c on its own: kv_match_is_claim() on one span and its tokens, and
 * kv_match_claim() on a source index built by kv_index_build(), without the rest of a review
 * around them (no segmenting of an output, no claim limit, no verdict).
 *
 * What it holds: the best window is 1 to 3 neighbouring sentences of one source, the tightest on
 * a tie, and the second piece of evidence does not overlap it; a score is rounded to 4 decimals
 * and never says more than its status; each status comes with its category and rule; unsupported
 * spans lie inside the claim, in order; an attribution ("According to passage 1, ...") is not
 * judged; and the per-claim scratch, reused from claim to claim as claims and records grow and
 * shrink, gives what a fresh engine gives. Statuses are asserted only where they are clear-cut
 * (a sentence copied, a changed number, a name no source has), so the rules can be tuned without
 * rewriting these; the invariants are checked on every claim, random ones included.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_int.h"
#include "sense_int.h"
#include "test_rng.h"
#include "test_rng.h"

#define MAX_SOURCES 8

typedef struct fixture {
    kivo_engine *e;
    kv_tokens toks; /* the claim's */
    kv_spans spans;
    kivo_source src[MAX_SOURCES];
    kivo_packet p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || kivo_engine_create(&f->e) != KIVO_OK) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kv_tokens_free(&f->toks);
    kv_spans_free(&f->spans);
    kivo_engine_free(f->e);
    free(f);
    return 0;
}

/* The sentence of the index that starts at byte start of source s, or SIZE_MAX. */
static size_t sentence_at(const kivo_engine *e, size_t s, size_t start, int by_end)
{
    for (size_t i = 0; i < e->n_sents; i++)
        if (e->sents[i].source == s && (by_end ? e->sents[i].end : e->sents[i].start) == start)
            return i;
    return SIZE_MAX;
}

/* What every claim kv_match_claim() scores must satisfy, whatever the rules decide. */
static void check_claim(const fixture *f, const kivo_engine *e, const kivo_claim *c)
{
    const double s = c->support_score;
    assert_true(s >= 0 && s <= 1);
    assert_true(fabs(s * 10000 - floor(s * 10000 + 0.5)) < 1e-6);
    assert_int_equal(c->status == KIVO_CLAIM_SUPPORTED, c->category == KIVO_CAT_NONE);
    assert_int_equal(c->status == KIVO_CLAIM_CONTRADICTED,
                     c->category == KIVO_CAT_CONTRADICTED_CLAIM);
    switch (c->status) {
    case KIVO_CLAIM_SUPPORTED:
        assert_true(s >= 0.80);
        assert_int_equal(c->rule, KIVO_RULE_COVERAGE);
        break;
    case KIVO_CLAIM_PARTIALLY_SUPPORTED:
        /* At or above the bar of partial support (0.30 for records, else 0.33), below 0.80. */
        assert_true(s >= 0.30 && s < 0.80);
        assert_true(c->rule == KIVO_RULE_COVERAGE || c->rule == KIVO_RULE_NAME_MISSING);
        break;
    default:
        assert_true(s < 0.33);
        assert_int_not_equal(c->rule, KIVO_RULE_NONE);
        break;
    }
    if (c->rule == KIVO_RULE_NUMBER_MISSING)
        assert_int_equal(c->category, KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM);
    if (c->rule == KIVO_RULE_NAME_MISSING)
        assert_int_equal(c->category, KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM);
    if (c->rule == KIVO_RULE_NUMBER_CONFLICT || c->rule == KIVO_RULE_NEGATION_UNMATCHED ||
        c->rule == KIVO_RULE_OPPOSITE || c->rule == KIVO_RULE_FIELD || c->rule == KIVO_RULE_HOURS)
        assert_int_equal(c->status, KIVO_CLAIM_CONTRADICTED);

    /* Evidence: whole sentences of one source, at most three of them, and a second piece that
     * does not overlap the first. */
    assert_true(c->n_evidence <= 2);
    size_t first[2] = {0, 0}, last[2] = {0, 0};
    for (size_t k = 0; k < c->n_evidence; k++) {
        const kivo_evidence *ev = &c->evidence[k];
        assert_true(ev->source < f->p.n_sources);
        assert_true(ev->start < ev->end && ev->end <= f->p.sources[ev->source].text_len);
        first[k] = sentence_at(e, ev->source, ev->start, 0);
        last[k] = sentence_at(e, ev->source, ev->end, 1);
        assert_true(first[k] != SIZE_MAX && last[k] != SIZE_MAX);
        assert_true(first[k] <= last[k] && last[k] - first[k] < 3);
    }
    if (c->n_evidence == 2)
        assert_true(last[1] < first[0] || first[1] > last[0]);

    /* Unsupported spans: failures only, inside the claim, in order, apart. */
    if (c->status == KIVO_CLAIM_SUPPORTED || c->status == KIVO_CLAIM_PARTIALLY_SUPPORTED)
        assert_int_equal(c->n_unsupported_spans, 0);
    assert_true(c->n_unsupported_spans <= KIVO_MAX_UNSUPPORTED_SPANS);
    for (size_t k = 0; k < c->n_unsupported_spans; k++) {
        const kivo_text_span *u = &c->unsupported_spans[k];
        assert_true(u->start < u->end && u->end <= f->p.output_len);
        if (k)
            assert_true(u->start > c->unsupported_spans[k - 1].end);
    }
}

/* Indexes texts[0..n) as the sources of a packet whose output is the claim, matches the whole
 * claim against them with engine e (f->e when NULL) and checks the result's invariants. */
static kivo_claim match_with(fixture *f, kivo_engine *e, const char *claim,
                             const char *const *texts, size_t n)
{
    kivo_claim c;
    size_t len = strlen(claim);
    assert_true(n <= MAX_SOURCES);
    for (size_t i = 0; i < n; i++)
        f->src[i] = (kivo_source){"kb", 2, NULL, 0, texts[i], strlen(texts[i])};
    f->p = (kivo_packet){claim, len, f->src, n, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    if (!e)
        e = f->e;
    memset(&c, 0xA5, sizeof c); /* what kv_match_claim does not set shows up as a difference */
    c.start = 0;
    c.end = len;
    assert_int_equal(kv_index_build(e, &f->p), KIVO_OK);
    f->toks.n = 0;
    assert_int_equal(kv_tokenize(e->lx, claim, len, &f->toks), KIVO_OK);
    assert_int_equal(kv_match_claim(e, &f->p, f->toks.v, f->toks.n, &c), KIVO_OK);
    check_claim(f, e, &c);
    return c;
}

static kivo_claim match(fixture *f, const char *claim, const char *const *texts, size_t n)
{
    return match_with(f, NULL, claim, texts, n);
}

/* The text of evidence k. */
static const char *evidence_text(const fixture *f, const kivo_claim *c, size_t k, char *buf,
                                 size_t cap)
{
    const kivo_evidence *ev = &c->evidence[k];
    snprintf(buf, cap, "%.*s", (int)(ev->end - ev->start),
             f->p.sources[ev->source].text + ev->start);
    return buf;
}

/* The text of unsupported span k of the claim. */
static const char *span_text(const char *claim, const kivo_claim *c, size_t k, char *buf,
                             size_t cap)
{
    const kivo_text_span *u = &c->unsupported_spans[k];
    snprintf(buf, cap, "%.*s", (int)(u->end - u->start), claim + u->start);
    return buf;
}

/* kv_match_is_claim on text as one span (the first line of it when line is set). */
static int is_claim(fixture *f, const char *text, int line)
{
    size_t len = strlen(text);
    kv_span sp = {0, (uint32_t)(line ? (size_t)(strchr(text, '\n') - text) : len)};
    f->toks.n = 0;
    assert_int_equal(kv_tokenize(f->e->lx, text, sp.end, &f->toks), KIVO_OK);
    return kv_match_is_claim(text, len, &sp, f->toks.v, f->toks.n);
}

static void test_is_claim(void **state)
{
    fixture *f = *state;
    static const char *const not_claims[] = {"Do you ship to Canada?",
                                             "## Shipping",
                                             "Steps:",
                                             "**Answer:**",
                                             "2.",
                                             "Thanks for reaching out!",
                                             "I can help you with that.",
                                             "The passages do not mention the price.",
                                             "Please note that delivery may take longer.",
                                             "However, keep in mind that stock varies.",
                                             "Consult a professional locksmith if the lock sticks.",
                                             NULL};
    for (size_t i = 0; not_claims[i]; i++)
        if (is_claim(f, not_claims[i], 0))
            fail_msg("\"%s\" was taken for a claim", not_claims[i]);
    static const char *const claims[] = {"Refunds take 5 to 7 business days.",
                                         "Orders over $50 ship free.",
                                         "The manager said \"I will refund every customer.\"",
                                         "Gift cards are not refundable.",
                                         "Standard parcels weigh under 10 kg.",
                                         NULL};
    for (size_t i = 0; claims[i]; i++)
        if (!is_claim(f, claims[i], 0))
            fail_msg("\"%s\" was not taken for a claim", claims[i]);
    /* A Markdown table: its header row names columns, the rows under it are claims. */
    assert_int_equal(is_claim(f, "| Plan | Price |\n|---|---|\n| Basic | $5 |\n", 1), 0);
    assert_int_equal(is_claim(f, "| Basic | $5 |\n| Plus | $9 |\n", 1), 1);
}

/* claimkind.c's word lists, each word in three cases and with a letter more: the word makes its
 * sentence no claim, the longer one does not (tok_is passes a token by the lists' first letters
 * and lengths before it compares: a wrong mask loses a word). */
static void test_is_claim_word_lists(void **state)
{
    fixture *f = *state;
    static const char *const ask[] = {"consult", "consulting", "contact",  "contacting", "seek",
                                      "seeking", "speak",      "speaking", "talk",       "talking"};
    static const char *const who[] = {
        "professional", "professionals", "doctor",       "doctors",     "physician",  "expert",
        "experts",      "specialist",    "specialists",  "healthcare",  "provider",   "locksmith",
        "attorney",     "lawyer",        "veterinarian", "vet",         "technician", "pharmacist",
        "dentist",      "therapist",     "counselor",    "electrician", "plumber",    "mechanic",
        "contractor",   "advisor",       "adviser"};
    static const char *const meta[] = {
        "answer",   "answers",   "question",    "questions", "information", "info",
        "provide",  "provides",  "provided",    "providing", "base",        "based",
        "given",    "necessary", "relevant",    "same",      "repeat",      "repeats",
        "repeated", "available", "unavailable", "detail",    "details",     "further",
        "first",    "second",    "third",       "fourth",    "fifth",       "last",
        "above",    "following", "previous",    "overall",   "therefore",   "thus"};
    static const char *const pleasantry[] = {"good", "have", "enjoy", "happy",           "best",
                                             "take", "stay", "merry", "congratulations", "cheers"};
    static const char *const caveat[] = {"note", "remember"};
    char text[160], w[40], v[40];
    for (int form = 0; form < 4; form++) {
        /* form 0: as listed; 1: capitalised; 2: in capitals; 3: a letter more (no longer listed) */
        const size_t n_ask = sizeof ask / sizeof ask[0], n_who = sizeof who / sizeof who[0];
        for (size_t i = 0; i < n_ask * n_who; i++) {
            snprintf(w, sizeof w, "%s%s", ask[i / n_who], form == 3 ? "x" : "");
            snprintf(v, sizeof v, "%s%s", who[i % n_who], form == 3 ? "q" : "");
            for (size_t k = 0; form == 2 && w[k]; k++)
                w[k] = (char)(w[k] - 32);
            for (size_t k = 0; form == 2 && v[k]; k++)
                v[k] = (char)(v[k] - 32);
            if (form == 1)
                w[0] = (char)(w[0] - 32);
            snprintf(text, sizeof text, "%s the %s about the broken lock.", w, v);
            if (is_claim(f, text, 0) != (form == 3))
                fail_msg("\"%s\": claim %d", text, form == 3);
        }
        for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
            snprintf(w, sizeof w, "%s%s", meta[i], form == 3 ? "x" : "");
            for (size_t k = 0; form == 2 && w[k]; k++)
                w[k] = (char)(w[k] - 32);
            if (form == 1)
                w[0] = (char)(w[0] - 32);
            snprintf(text, sizeof text, "The passage: %s.", w);
            if (is_claim(f, text, 0) != (form == 3))
                fail_msg("\"%s\": claim %d", text, form == 3);
        }
        for (size_t i = 0; i < sizeof pleasantry / sizeof pleasantry[0]; i++) {
            snprintf(w, sizeof w, "%s%s", pleasantry[i], form == 3 ? "x" : "");
            for (size_t k = 0; form == 2 && w[k]; k++)
                w[k] = (char)(w[k] - 32);
            if (form == 1)
                w[0] = (char)(w[0] - 32);
            snprintf(text, sizeof text, "%s weekend!", w);
            if (is_claim(f, text, 0) != (form == 3))
                fail_msg("\"%s\": claim %d", text, form == 3);
        }
        for (size_t i = 0; i < sizeof caveat / sizeof caveat[0]; i++) {
            snprintf(w, sizeof w, "%s%s", caveat[i], form == 3 ? "x" : "");
            for (size_t k = 0; form == 2 && w[k]; k++)
                w[k] = (char)(w[k] - 32);
            if (form == 1)
                w[0] = (char)(w[0] - 32);
            snprintf(text, sizeof text, "However, please %s that blue jackets vary by store size.",
                     w);
            if (is_claim(f, text, 0) != (form == 3))
                fail_msg("\"%s\": claim %d", text, form == 3);
        }
    }
    /* "Keep in mind", "bear in mind": three tokens. */
    assert_int_equal(is_claim(f, "Bear in mind that blue jackets vary by store size.", 0), 0);
    assert_int_equal(is_claim(f, "KEEP IN MIND that blue jackets vary by store size.", 0), 0);
    assert_int_equal(is_claim(f, "Keep on mind that blue jackets vary by store size.", 0), 1);
}

/* kv_cues_of answers most hashes from a filter of the cue table's hashes: for each hash of the
 * table, for each with a far bit turned (the filter lets it by, the table has it not) and for
 * seeded random hashes, it gives what a search of the whole table gives. */
static uint32_t cues_by_search(const kivo_engine *e, uint64_t h)
{
    for (size_t i = 0; h && i < e->cue_cap; i++)
        if (e->cue_keys[i] == h)
            return e->cue_vals[i];
    return 0;
}

static void test_cues_filter(void **state)
{
    fixture *f = *state;
    const kivo_engine *e = f->e;
    size_t keys = 0;
    for (size_t i = 0; i < e->cue_cap; i++) {
        const uint64_t h = e->cue_keys[i];
        if (!h)
            continue;
        keys++;
        assert_int_equal(kv_cues_of(e, h), e->cue_vals[i]);
        assert_int_not_equal(kv_cues_of(e, h), 0);
        const uint64_t near = h ^ (1ULL << 50);
        assert_true(kv_hfilter_may(&e->cue_filter, near));
        assert_int_equal(kv_cues_of(e, near), cues_by_search(e, near));
    }
    assert_true(keys > 100);
    assert_int_equal(kv_cues_of(e, 0), 0);
    uint64_t rng = 0xC0FFEE1234567ULL;
    for (int k = 0; k < 20000; k++) {
        const uint64_t h = test_xorshift(&rng);
        assert_int_equal(kv_cues_of(e, h), cues_by_search(e, h));
    }
}

static const char *const policy[] = {
    "Orders ship from our Denver warehouse. They arrive within 5 business days. Gift cards never "
    "expire. Refunds are issued within 14 days of delivery. Returns need the original receipt.",
};

static void test_copied_sentence(void **state)
{
    fixture *f = *state;
    char buf[256];
    kivo_claim c = match(f, "Gift cards never expire.", policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_SUPPORTED);
    assert_true(c.support_score == 1.0);
    assert_int_equal(c.rule, KIVO_RULE_COVERAGE);
    /* The tightest window: the sentence alone, not it with a neighbour. */
    assert_true(c.n_evidence >= 1);
    assert_string_equal(evidence_text(f, &c, 0, buf, sizeof buf), "Gift cards never expire.");
    assert_int_equal(c.n_unsupported_spans, 0);

    /* An attribution is not judged: the claim after it scores the same. */
    kivo_claim d = match(f, "According to passage 1, gift cards never expire.", policy, 1);
    assert_int_equal(d.status, c.status);
    assert_true(d.support_score == c.support_score);
    assert_string_equal(evidence_text(f, &d, 0, buf, sizeof buf), "Gift cards never expire.");
}

static void test_window_of_neighbours(void **state)
{
    fixture *f = *state;
    char buf[256];
    /* Two neighbouring sentences hold it together: one window of both. */
    kivo_claim c = match(f,
                         "Orders ship from our Denver warehouse and arrive within 5 business "
                         "days.",
                         policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_SUPPORTED);
    assert_string_equal(evidence_text(f, &c, 0, buf, sizeof buf),
                        "Orders ship from our Denver warehouse. They arrive within 5 business "
                        "days.");

    /* The same two sentences in two sources: no window crosses a source, so the claim is held
     * less well than by one window of both. */
    static const char *const split[] = {"Orders ship from our Denver warehouse.",
                                        "They arrive within 5 business days."};
    kivo_claim d = match(f,
                         "Orders ship from our Denver warehouse and arrive within 5 business "
                         "days.",
                         split, 2);
    assert_true(d.support_score < c.support_score);
    assert_true(d.n_evidence == 2);
    assert_true(d.evidence[0].source != d.evidence[1].source);

    /* Sentences four apart never share a window: each is a piece of evidence of its own. */
    static const char *const apart[] = {
        "Orders ship from our Denver warehouse. Gift cards never expire. Returns need a receipt. "
        "Store credit is issued in euros. Parcels are tracked by courier."};
    kivo_claim g = match(f,
                         "Orders ship from our Denver warehouse and parcels are tracked by "
                         "courier.",
                         apart, 1);
    assert_int_equal(g.n_evidence, 2);
    const char *a = evidence_text(f, &g, 0, buf, sizeof buf);
    int denver = strstr(a, "Denver") != NULL, courier = strstr(a, "courier") != NULL;
    assert_true(denver != courier);
    a = evidence_text(f, &g, 1, buf, sizeof buf);
    assert_true(strstr(a, denver ? "courier" : "Denver") != NULL);
}

/* No term at all (function words after an attribution), on the fixture's fresh engine first:
 * nothing can be held, and nothing is read or cleared through a scratch array never made. */
static void test_no_terms(void **state)
{
    fixture *f = *state;
    kivo_claim c = match(f, "According to passage 1, the.", policy, 1);
    assert_int_not_equal(c.status, KIVO_CLAIM_SUPPORTED);
    assert_int_equal(c.n_evidence, 0);
}

static void test_second_evidence(void **state)
{
    fixture *f = *state;
    static const char *const twice[] = {"Gift cards never expire. Orders ship daily.",
                                        "Returns need a receipt. Gift cards never expire."};
    kivo_claim c = match(f, "Gift cards never expire.", twice, 2);
    assert_int_equal(c.status, KIVO_CLAIM_SUPPORTED);
    assert_int_equal(c.n_evidence, 2);
    /* On a tie the earlier window comes first. */
    assert_int_equal(c.evidence[0].source, 0);
    assert_int_equal(c.evidence[1].source, 1);
    assert_int_equal(c.evidence[1].start, strlen("Returns need a receipt. "));
}

static void test_numbers(void **state)
{
    fixture *f = *state;
    char buf[64];
    /* A number the window holds another of, beside words it holds: a contradiction, and the
     * number is what is unsupported. */
    const char *changed = "Refunds are issued within 30 days of delivery.";
    kivo_claim c = match(f, changed, policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    assert_int_equal(c.rule, KIVO_RULE_NUMBER_CONFLICT);
    assert_int_equal(c.n_unsupported_spans, 1);
    assert_string_equal(span_text(changed, &c, 0, buf, sizeof buf), "30");
    assert_true(c.n_evidence >= 1);

    /* A number where the sources have none: unsupported, numeric. */
    static const char *const words_only[] = {"Gift cards never expire. Orders ship daily."};
    const char *added = "Gift cards never expire and hold 250 points.";
    c = match(f, added, words_only, 1);
    assert_int_equal(c.status, KIVO_CLAIM_UNSUPPORTED);
    assert_int_equal(c.category, KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM);
    assert_int_equal(c.rule, KIVO_RULE_NUMBER_MISSING);
    int has = 0;
    for (size_t k = 0; k < c.n_unsupported_spans; k++)
        has |= strstr(span_text(added, &c, k, buf, sizeof buf), "250") != NULL;
    assert_true(has);
}

static void test_names_and_coverage(void **state)
{
    fixture *f = *state;
    char buf[64];
    /* The only new word is a name: the claim asserts it. */
    const char *city = "Orders ship from our Boston warehouse.";
    kivo_claim c = match(f, city, policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_UNSUPPORTED);
    assert_int_equal(c.category, KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM);
    assert_int_equal(c.rule, KIVO_RULE_NAME_MISSING);
    assert_true(c.n_unsupported_spans >= 1);
    assert_non_null(strstr(span_text(city, &c, 0, buf, sizeof buf), "Boston"));

    /* Nothing of it in the sources: unsupported by coverage; with policy words, a policy claim. */
    c = match(f, "the lighthouse keeper paints seashells purple.", policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_UNSUPPORTED);
    assert_int_equal(c.category, KIVO_CAT_UNSUPPORTED_CLAIM);
    assert_int_equal(c.rule, KIVO_RULE_COVERAGE);
    assert_int_equal(c.n_evidence, 0);
    c = match(f, "warranty claims are eligible for a refund.",
              (const char *const[]){"The lighthouse keeper paints seashells purple."}, 1);
    assert_int_equal(c.status, KIVO_CLAIM_UNSUPPORTED);
    assert_int_equal(c.category, KIVO_CAT_UNSUPPORTED_POLICY_CLAIM);

    /* Four of six terms held: partly supported, and the score stays below supported. */
    c = match(f, "Orders ship from our Denver warehouse with tracking codes.", policy, 1);
    assert_int_equal(c.status, KIVO_CLAIM_PARTIALLY_SUPPORTED);
    assert_int_equal(c.category, KIVO_CAT_UNSUPPORTED_CLAIM);
}

/* A store record as the worker flattens it: "path: value" lines. */
static const char *const store[] = {"name: Casa Azul\n"
                                    "city: Santa Barbara\n"
                                    "hours.Monday: 0:0-0:0\n"
                                    "hours.Tuesday: 11:0-21:0\n"
                                    "hours.Wednesday: 11:0-21:0\n"
                                    "attributes.WiFi: no\n"
                                    "attributes.Music: null\n"
                                    "attributes.RestaurantsTakeOut: true\n"};

static void test_records(void **state)
{
    fixture *f = *state;
    char buf[64];
    const char *wifi = "Casa Azul offers wifi.";
    kivo_claim c = match(f, wifi, store, 1);
    assert_int_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    assert_int_equal(c.rule, KIVO_RULE_FIELD);
    assert_int_equal(c.n_unsupported_spans, 1);
    assert_string_equal(span_text(wifi, &c, 0, buf, sizeof buf), "wifi");

    c = match(f, "Casa Azul plays music.", store, 1);
    assert_int_equal(c.status, KIVO_CLAIM_UNSUPPORTED);

    const char *late = "Casa Azul is open from 11 am to 11 pm on Tuesday.";
    c = match(f, late, store, 1);
    assert_int_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    assert_int_equal(c.rule, KIVO_RULE_HOURS);
    assert_int_equal(c.n_unsupported_spans, 1);
    assert_string_equal(span_text(late, &c, 0, buf, sizeof buf), "11 pm on Tuesday");

    c = match(f, "Casa Azul is open from 11 am to 9 pm on Tuesday.", store, 1);
    assert_int_not_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    assert_int_not_equal(c.status, KIVO_CLAIM_UNSUPPORTED);
    c = match(f, "Casa Azul is closed on Monday.", store, 1);
    assert_int_not_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    c = match(f, "Casa Azul is closed on Tuesdays.", store, 1);
    assert_int_equal(c.status, KIVO_CLAIM_CONTRADICTED);
    assert_int_equal(c.rule, KIVO_RULE_HOURS);

    /* The record's fields and hours belong to that record: the next one starts without them. */
    c = match(f, wifi, (const char *const[]){"Casa Azul offers wifi."}, 1);
    assert_int_equal(c.status, KIVO_CLAIM_SUPPORTED);
}

/* Words for random sources and claims: content words, function words, capitals, numbers,
 * negations. */
static const char *const vocab[] = {
    "refund",  "orders",  "ship",   "warehouse", "Denver",    "Boston", "receipt",
    "days",    "within",  "the",    "a",         "of",        "not",    "never",
    "14",      "30",      "$49.99", "gift",      "cards",     "expire", "courier",
    "tracked", "parcels", "euros",  "credit",    "store",     "is",     "are",
    "free",    "Lumen",   "Hub",    "X200",      "monthly",   "plan",   "cancel",
    "anytime", "rose",    "fell",   "revenue",   "increased", "UK"};
#define N_VOCAB (sizeof vocab / sizeof *vocab)

/* Up to cap - 1 bytes of random sentences of words from vocab, NUL-terminated. */
static size_t random_text(uint64_t *rng, char *out, size_t cap, size_t words)
{
    size_t len = 0, in_sentence = 0;
    for (size_t i = 0; i < words; i++) {
        const char *w = vocab[test_xorshift(rng) % N_VOCAB];
        int end = ++in_sentence > 2 && test_xorshift(rng) % 6 == 0;
        int n = snprintf(out + len, cap - len, "%s%s%s", len ? " " : "", w, end ? "." : "");
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
        if (end)
            in_sentence = 0;
    }
    out[len] = '\0';
    return len;
}

/* Random records and claims, small and large, on one engine whose scratch is reused from claim
 * to claim: every claim satisfies the invariants, and a fresh engine gives the same claim. */
static void test_scratch_reuse(void **state)
{
    fixture *f = *state;
    uint64_t rng = 0x6b69766f6d617463ULL;
    static char texts[3][40000], claim[4000];
    static const size_t sizes[] = {1, 40, 400, 5000, 20, 2, 3000, 60};
    for (int round = 0; round < 48; round++) {
        size_t n = 1 + test_xorshift(&rng) % 3;
        const char *t[3];
        for (size_t i = 0; i < n; i++) {
            random_text(&rng, texts[i], sizeof texts[i], sizes[(round + i) % 8]);
            t[i] = texts[i];
        }
        /* Claims of 1 to ~300 words: more than 64 terms takes more than one mask word. */
        random_text(&rng, claim, sizeof claim, 1 + test_xorshift(&rng) % (round % 4 ? 12 : 300));
        if (!claim[0])
            continue;
        kivo_claim reused = match(f, claim, t, n);
        kivo_engine *fresh = NULL;
        assert_int_equal(kivo_engine_create(&fresh), KIVO_OK);
        kivo_claim again = match_with(f, fresh, claim, t, n);
        kivo_engine_free(fresh);
        if (memcmp(&reused, &again, sizeof reused) != 0)
            fail_msg("round %d: the reused engine and a fresh one disagree on \"%.60s...\"", round,
                     claim);
    }
}

/* What match.c's best_window_1 passes over (touched sentences by their bound, windows by need[])
 * and its flat arrays (masks by sentence, each sentence's reach in its source) change nothing:
 * random records of one to three sources of a small vocabulary (many touched sentences, many
 * ties, windows at the sources' edges) and claims of up to 64 terms give the same claim, evidence
 * included, as an engine that weighs every window through the general loop. */
static void test_window_bound(void **state)
{
    fixture *f = *state;
    uint64_t rng = 0x77696e646f77ULL;
    static char texts[3][20000], claim[2000];
    static const size_t sizes[] = {30, 300, 2000, 8, 900, 120};
    kivo_engine *all = NULL;
    assert_int_equal(kivo_engine_create(&all), KIVO_OK);
    all->cs.weigh_all = 1;
    for (int round = 0; round < 400; round++) {
        size_t n = 1 + test_xorshift(&rng) % 3;
        const char *t[3];
        for (size_t i = 0; i < n; i++) {
            random_text(&rng, texts[i], sizeof texts[i], sizes[(round + i) % 6]);
            t[i] = texts[i];
        }
        random_text(&rng, claim, sizeof claim, 2 + test_xorshift(&rng) % 14);
        if (!claim[0])
            continue;
        kivo_claim bound = match(f, claim, t, n);
        kivo_claim every = match_with(f, all, claim, t, n);
        if (memcmp(&bound, &every, sizeof bound) != 0)
            fail_msg("round %d: the bound changed the claim \"%.60s...\"", round, claim);
    }
    kivo_engine_free(all);

    /* A tie met late: "alpha" picks first (claim order) and touches the last sentence, "gamma"
     * then touches the first; the two windows score the same, and the earlier one is the
     * evidence, so the bound must not pass over a sentence whose bound only equals the best. */
    static const char *const late[] = {
        "Gamma ships daily. Orders wait here. Returns wait here. Stores wait here. Alpha arrives "
        "soon."};
    char buf[256];
    kivo_claim c = match(f, "alpha gamma.", late, 1);
    assert_true(c.n_evidence >= 1);
    assert_string_equal(evidence_text(f, &c, 0, buf, sizeof buf), "Gamma ships daily.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_claim_word_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cues_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copied_sentence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_of_neighbours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
