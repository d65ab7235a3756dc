/*
 * test_review_hardening.c - the claim engine on input shaped to break it (issue 12): the index's
 * postings outgrowing the room reserved for them, reads past the end of a text (texts are not
 * NUL-terminated: each is put at the very end of an allocation of its exact size, so that
 * AddressSanitizer sees a read of one byte more), undefined float conversions, and a review
 * whose work stays bounded on repetitive input. These tests are meant to be run under ASan and
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acronym_postings_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotted_letter_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opposite_window_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_number, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
