/*
 * test_review_hardening.c - the claim engine on input shaped to break it (issue 12): the index's
 * postings outgrowing the room reserved for them, reads past the end of a text (texts are not
 * NUL-terminated: each is put at the very end of an allocation of its exact size, so that
 * AddressSanitizer sees a read of one byte more), undefined float conversions; and the engine's
 * bounds: claims per record, claims of at most 256 tokens, repetitive input. These tests are meant to be run under ASan and
 * UBSan (CI's second pass); the assertions hold in every build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/review.h"

static int setup(void **state)
{
    kivo_engine *e = NULL;
    if (kivo_engine_create(&e) != KIVO_OK)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    kivo_engine_free(*state);
    return 0;
}

/* A copy of s[0..len) in an allocation of exactly len bytes, no NUL after it. */
static char *tail_copy(const char *s, size_t len)
{
    char *t = malloc(len ? len : 1);
    assert_non_null(t);
    memcpy(t, s, len);
    return t;
}

/* Reviews output against one source text, both copied to exact-size allocations. */
static const kivo_review *review_exact(kivo_engine *e, const char *output, const char *text,
                                       char **keep_out, char **keep_text)
{
    size_t ol = strlen(output), tl = strlen(text);
    *keep_out = tail_copy(output, ol);
    *keep_text = tail_copy(text, tl);
    kivo_source src = {"kb", 2, NULL, 0, *keep_text, tl};
    kivo_packet p = {*keep_out, ol, &src, 1, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    const kivo_review *r = NULL;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_non_null(r);
    return r;
}

/* Issue 12's packet: 43 sentences "Lumen Home Hub costs $N.". Each sentence adds the initials
 * of "Lumen Home Hub" to the index's postings on top of its tokens', which overflowed the room
 * reserved for the tokens alone (a heap write past the end, index.c). */
static void test_acronym_postings_overflow(void **state)
{
    kivo_engine *e = *state;
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 43; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%sLumen Home Hub costs $%d.",
                                i ? " " : "", i + 10);
    char *o, *t;
    const kivo_review *r = review_exact(e, "The Lumen Home Hub costs $10.", text, &o, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    free(o);
    free(t);

    /* The same, many times over: the postings grow again and again while names add to them. */
    size_t n = 20000, cap = n * 48;
    char *big = malloc(cap), *out;
    assert_non_null(big);
    len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, cap - len, "%sUnited Kingdom Home Hub costs $%zu.",
                                i ? " " : "", i + 10);
    r = review_exact(e, "The United Kingdom Home Hub costs $12345.", big, &out, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    free(out);
    free(t);
    free(big);
}

/* A capital letter as the last byte of the output and of a source: "U" might be the "U." of
 * "U.S.", and the byte after it was read to see. */
/* A claim that is all function words once its attribution is set aside has no term to match;
 * on a fresh engine (the setup's) the per-claim number bitmap was then still NULL and cleared
 * with memset(NULL, 0, 0), undefined behaviour UBSan stops on (match.c, touch_sentences). */
static void test_claim_without_terms(void **state)
{
    kivo_engine *e = *state;
    char *o, *t;
    const kivo_review *r =
        review_exact(e, "According to passage 1, the.", "Gift cards never expire.", &o, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    free(o);
    free(t);
}

static void test_dotted_letter_at_end(void **state)
{
    kivo_engine *e = *state;
    char *o, *t;
    const kivo_review *r =
        review_exact(e, "Acme Corp ships its goods to the U",
                     "Acme Corp ships its goods to the U.S. Acme Corp is in the U", &o, &t);
    assert_int_equal(r->n_claims, 1);
    free(o);
    free(t);
    r = review_exact(e, "The U.S. Postal Service and Acme Corp deliver in the U.K",
                     "Acme Corp and U", &o, &t);
    assert_int_equal(r->n_claims, 1);
    free(o);
    free(t);
}

/*
 * The opposite check (opposite.c) tokenizes the sentences of an evidence window one by one;
 * they were appended to one list, so the tokenizer read the first token of a sentence against
 * the last ones of the sentence before, at their offsets in the other sentence, here exactly
 * one past the end of the source's allocation: "March" before a day (month_of), a day before
 * "March" (day_of), "of" between them (kv_text_is).
 */
static void test_opposite_window_offsets(void **state)
{
    kivo_engine *e = *state;
    static const char *const cases[][3] = {
        /* sentence 1 up to its last word, that word, sentence 2 */
        {"Revenue rose sharply last year in", "March.",
         "5 analysts said that revenue rose again this year."},
        {"Revenue rose sharply last year by", "5.",
         "March analysts said that revenue rose again this year."},
        {"Revenue rose sharply last year and", "rose.",
         "5th of March analysts said that revenue rose this year."},
        {"Revenue rose sharply last year by 5", "of.",
         "March analysts said that revenue rose again this year."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *s1 = cases[c][0], *last = cases[c][1], *s2 = cases[c][2];
        size_t l1 = strlen(s1), l2 = strlen(s2);
        /* Spaces before the last word of sentence 1 put it at offset l2: read against
         * sentence 2's text, it starts one byte past the end of the source. */
        assert_true(l2 > l1 + 1);
        char text[512];
        int n = snprintf(text, sizeof text, "%s%*s%s %s", s1, (int)(l2 - l1), "", last, s2);
        assert_true(n > 0 && (size_t)n < sizeof text);
        assert_int_equal(strstr(text, last) - text, (ptrdiff_t)l2);
        char *o, *t;
        const kivo_review *r = review_exact(
            e, "Revenue fell sharply last year, 5 analysts said in March.", text, &o, &t);
        assert_int_equal(r->n_claims, 1);
        /* "fell" where the source says "rose" by the same words. */
        assert_int_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
        free(o);
        free(t);
    }
}

/* A number of 62 digits is 1e61 as a double: converting it to int64_t (to hash it as an integer)
 * was undefined. It hashes like any number: the same digits in the source hold it. */
static void test_huge_number(void **state)
{
    kivo_engine *e = *state;
    char digits[63];
    memset(digits, '7', 62);
    digits[62] = '\0';
    char output[256], text[256];
    snprintf(output, sizeof output, "The vault holds %s coins.", digits);
    snprintf(text, sizeof text, "The vault holds %s coins, a billion %s more.", digits, digits);
    char *o, *t;
    const kivo_review *r = review_exact(e, output, text, &o, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_not_equal(r->claims[0].category, KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM);
    free(o);
    free(t);
    snprintf(output, sizeof output, "The vault holds -%s.5 coins or %s billion.", digits, digits);
    r = review_exact(e, output, text, &o, &t);
    assert_int_equal(r->n_claims, 1);
    free(o);
    free(t);
}

/* Appends "The hub costs N dollars. " n times, N from `from`: n sentences, n claims. */
static size_t fact_sentences(char *buf, size_t cap, size_t from, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "The hub costs %zu dollars. ", from + i);
    return len;
}

/* KIVO_MAX_CLAIMS claims are reviewed; one more and the packet is refused before any is scored,
 * with a message that names the limit and the count (and no text of the packet). */
static void test_claim_limit(void **state)
{
    kivo_engine *e = *state;
    size_t cap = (KIVO_MAX_CLAIMS + 2) * 40;
    char *out = malloc(cap);
    assert_non_null(out);
    const char *text = "The hub costs 10 dollars.";
    kivo_source src = {"kb", 2, NULL, 0, text, strlen(text)};
    size_t len = fact_sentences(out, cap, 1, KIVO_MAX_CLAIMS);
    kivo_packet p = {out, len, &src, 1, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    const kivo_review *r = NULL;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->n_claims, KIVO_MAX_CLAIMS);
    assert_string_equal(kivo_engine_errmsg(e), "");

    len += fact_sentences(out + len, cap - len, 0, 1);
    p.output_len = len;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_ETOOBIG);
    assert_null(r);
    char want[160];
    snprintf(want, sizeof want, "the output has %d claims, over the limit of %d claims per record",
             KIVO_MAX_CLAIMS + 1, KIVO_MAX_CLAIMS);
    assert_string_equal(kivo_engine_errmsg(e), want);

    /* The engine is as good as new afterwards. */
    p.output = text;
    p.output_len = strlen(text);
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    assert_string_equal(kivo_engine_errmsg(e), "");
    free(out);
}

/* A span without sentence ends is reviewed in claims of 256 tokens at most, which together cover
 * it: the first starts where the span starts, the last ends where it ends. */
static void test_long_span_in_pieces(void **state)
{
    kivo_engine *e = *state;
    char out[8192];
    size_t len = 0;
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "",
                                i % 3 == 0   ? "refund"
                                : i % 3 == 1 ? "policy"
                                             : "window");
    char *o, *t;
    const kivo_review *r =
        review_exact(e, out, "The refund policy has a window of 30 days.", &o, &t);
    assert_int_equal(r->n_claims, 3); /* 256 + 256 + 88 words */
    assert_int_equal(r->claims[0].start, 0);
    assert_int_equal(r->claims[2].end, len);
    for (size_t k = 0; k < 3; k++) {
        assert_true(r->claims[k].start < r->claims[k].end);
        if (k > 0)
            assert_true(r->claims[k].start > r->claims[k - 1].end);
        assert_int_equal(r->claims[k].status, KIVO_CLAIM_SUPPORTED);
    }
    /* 256 words of 6 letters and their spaces. */
    assert_int_equal(r->claims[0].end, 256 * 7 - 1);
    free(o);
    free(t);

    /* Exactly 256: one claim, as before. */
    out[256 * 7 - 1] = '\0';
    r = review_exact(e, out, "The refund policy has a window of 30 days.", &o, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].end, 256 * 7 - 1);
    free(o);
    free(t);
}

/* A word of a vocabulary of 20, a sentence of 5 to 15 of them: every term is in nearly every
 * sentence, where a claim's work is bounded (issue 12: such a 2.9 MB packet took 14 s). The
 * claims built of the same words still find evidence and are held, with or without a big record
 * (more than 4096 sentences). */
static void test_tiny_vocabulary(void **state)
{
    kivo_engine *e = *state;
    static const char *const vocab[] = {
        "karo",  "lumi",  "teran", "vasso", "rupel", "dorchi", "benma", "turis", "galka", "lomite",
        "sopel", "chiru", "mavan", "kater", "pelso", "risdor", "tugal", "venbo", "solka", "mirun"};
    uint64_t seed = 12;
    for (size_t sentences = 3000; sentences <= 6000; sentences += 3000) {
        size_t cap = sentences * 120 + 1, len = 0;
        char *text = malloc(cap);
        assert_non_null(text);
        for (size_t i = 0; i < sentences; i++) {
            size_t words = 5 + (size_t)((seed = seed * 6364136223846793005ull + 1) >> 33) % 11;
            for (size_t w = 0; w < words; w++) {
                const char *v = vocab[((seed = seed * 6364136223846793005ull + 1) >> 33) % 20];
                len += (size_t)snprintf(text + len, cap - len, "%s%c%s", w ? " " : "",
                                        w ? v[0] : (char)(v[0] - 'a' + 'A'), v + 1);
            }
            len += (size_t)snprintf(text + len, cap - len, ". ");
        }
        char output[4096];
        size_t ol = 0;
        for (size_t c = 0; c < 40; c++) {
            for (size_t w = 0; w < 8; w++) {
                const char *v = vocab[((seed = seed * 6364136223846793005ull + 1) >> 33) % 20];
                ol += (size_t)snprintf(output + ol, sizeof output - ol, "%s%c%s", w ? " " : "",
                                       w ? v[0] : (char)(v[0] - 'a' + 'A'), v + 1);
            }
            ol += (size_t)snprintf(output + ol, sizeof output - ol, ". ");
        }
        char *o, *t;
        const kivo_review *r = review_exact(e, output, text, &o, &t);
        assert_int_equal(r->n_claims, 40);
        for (size_t k = 0; k < r->n_claims; k++) {
            assert_int_not_equal(r->claims[k].n_evidence, 0);
            assert_true(r->claims[k].support_score >= 0.5);
        }
        free(o);
        free(t);
        free(text);
    }
}

/* A source of 20,000 different words: the index's term table grows with the terms (it was sized
 * by the postings alone), and every word is still found. */
static void test_many_terms(void **state)
{
    kivo_engine *e = *state;
    size_t n = 20000, cap = n * 8 + 1, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) {
        char w[6] = {
            'q', (char)('a' + i / 676 % 26), (char)('a' + i / 26 % 26), (char)('a' + i % 26), 'x',
            '\0'};
        len += (size_t)snprintf(text + len, cap - len, "%s%s", i ? " " : "", w);
    }
    char *o, *t;
    const kivo_review *r = review_exact(e, "Qaaax qzzzx qbcdx.", text, &o, &t);
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    free(o);
    free(t);
    r = review_exact(e, "Qaaax qzzzx qbcdx yyyyz.", text, &o, &t);
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    free(o);
    free(t);
    free(text);
}

/* What one review decided, claim by claim (the parts a report shows). */
static void claims_equal(const kivo_review *a, const kivo_review *b)
{
    assert_int_equal(a->n_claims, b->n_claims);
    for (size_t i = 0; i < a->n_claims; i++) {
        const kivo_claim *x = &a->claims[i], *y = &b->claims[i];
        assert_int_equal(x->start, y->start);
        assert_int_equal(x->status, y->status);
        assert_true(x->support_score == y->support_score);
        assert_int_equal(x->category, y->category);
        assert_int_equal(x->n_evidence, y->n_evidence);
        for (size_t k = 0; k < x->n_evidence; k++) {
            assert_int_equal(x->evidence[k].start, y->evidence[k].start);
            assert_int_equal(x->evidence[k].end, y->evidence[k].end);
        }
    }
}

/* The source index's term table is reused from record to record and emptied by a generation
 * mark, not cleared (issue 19): records that grow it (past its 8,192 first slots, so that it
 * doubles), shrink back and grow again on one engine give what a fresh engine gives, and no
 * term of an earlier record is found in a later one. */
static void test_index_reuse(void **state)
{
    kivo_engine *e = *state;
    static const size_t words[] = {20000, 12, 3000, 40, 9000, 5};
    for (size_t r = 0; r < sizeof words / sizeof words[0]; r++) {
        size_t n = words[r], len = 0;
        char *text = malloc(n * 16 + 64);
        assert_non_null(text);
        /* Distinct made-up words (zq<r><k>), a sentence every 12; the claim holds two of them
         * and a word of the previous record's source, which this one does not hold. */
        for (size_t k = 0; k < n; k++)
            len += (size_t)sprintf(text + len, "zq%zux%zu%s", r, k, k % 12 == 11 ? ". " : " ");
        text[len++] = '.';
        text[len] = '\0'; /* review_exact() takes C strings */
        char out[128];
        snprintf(out, sizeof out, "The zq%zux%zu and zq%zux%zu tiles match zq%zux%zu.", r, n / 2, r,
                 n - 1, r ? r - 1 : 9, (size_t)1);
        char *ko, *kt, *fo, *ft;
        const kivo_review *got = review_exact(e, out, text, &ko, &kt);
        kivo_engine *fresh = NULL;
        assert_int_equal(kivo_engine_create(&fresh), KIVO_OK);
        const kivo_review *want = review_exact(fresh, out, text, &fo, &ft);
        claims_equal(got, want);
        kivo_engine_free(fresh);
        free(ko);
        free(kt);
        free(fo);
        free(ft);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acronym_postings_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_without_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotted_letter_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opposite_window_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_span_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiny_vocabulary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_reuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
