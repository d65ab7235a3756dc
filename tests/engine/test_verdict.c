/*
 * test_verdict.c - the gate table (verdict.c, kivo_verdict_decide): one case per branch and its
 * boundaries, for every strictness and intended use; and the enum names (wire.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/review.h"
#include "kivo/wire.h"

#define P KIVO_VERDICT_PASS
#define R KIVO_VERDICT_NEEDS_REVIEW
#define F KIVO_VERDICT_FAIL
#define CF KIVO_USE_CUSTOMER_FACING
#define IN KIVO_USE_INTERNAL
#define EV KIVO_USE_EVALUATION
#define CAT(c) (1u << (c))

typedef struct row {
    kivo_strictness s;
    kivo_intended_use u;
    size_t claims, unsupported, contradicted, partial;
    uint32_t cats;
    kivo_verdict gate, safe_use;
    const char *why;
} row;

static const row table[] = {
    /* Empty output and no sources fail everywhere, and stay a fail for safe use. */
    {KIVO_STRICT, CF, 0, 0, 0, 0, CAT(KIVO_CAT_EMPTY_OUTPUT), F, F, "empty output, strict"},
    {KIVO_LENIENT, IN, 0, 0, 0, 0, CAT(KIVO_CAT_EMPTY_OUTPUT), F, F, "empty output, lenient"},
    {KIVO_STANDARD, EV, 3, 3, 0, 0, CAT(KIVO_CAT_NO_SOURCES), F, F, "no sources, evaluation"},
    {KIVO_LENIENT, EV, 0, 0, 0, 0, CAT(KIVO_CAT_NO_SOURCES), F, F, "no sources, no claims"},

    /* strict */
    {KIVO_STRICT, CF, 3, 0, 0, 0, 0, P, P, "strict clean"},
    {KIVO_STRICT, CF, 0, 0, 0, 0, 0, P, P, "strict, nothing to check"},
    {KIVO_STRICT, CF, 3, 0, 0, 1, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R, "strict partial"},
    {KIVO_STRICT, CF, 3, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, F,
     "strict, one unsupported, customer facing"},
    {KIVO_STRICT, IN, 3, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R,
     "strict, one unsupported, internal"},
    {KIVO_STRICT, EV, 3, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R,
     "strict, one unsupported, evaluation"},
    {KIVO_STRICT, IN, 10, 2, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, R,
     "strict, two unsupported, internal: fail softened for safe use"},
    {KIVO_STRICT, IN, 10, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), F, F,
     "strict contradicted, internal: a contradiction is never softened"},
    {KIVO_STRICT, CF, 10, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), F, F, "strict contradicted"},

    /* standard: pct = unsupported * 100 / claims, rounded down; fail at 25. */
    {KIVO_STANDARD, CF, 4, 0, 0, 3, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), P, P,
     "standard ignores partial support"},
    {KIVO_STANDARD, CF, 5, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R, "standard 20%"},
    {KIVO_STANDARD, CF, 4, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, F, "standard 25%"},
    {KIVO_STANDARD, IN, 4, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, R,
     "standard 25%, internal"},
    {KIVO_STANDARD, CF, 401, 100, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R,
     "standard 24.9% rounds down"},
    {KIVO_STANDARD, CF, 100, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), F, F,
     "standard contradicted"},
    {KIVO_STANDARD, EV, 100, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), F, F,
     "standard contradicted, evaluation"},
    {KIVO_STANDARD, CF, 0, 0, 0, 0, 0, P, P, "standard, nothing to check"},

    /* lenient: fail at 50%, needs review above 10% or with a contradiction. */
    {KIVO_LENIENT, CF, 10, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), P, P, "lenient 10%"},
    {KIVO_LENIENT, CF, 9, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R, "lenient 11%"},
    {KIVO_LENIENT, CF, 3, 1, 0, 2, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), R, R, "lenient 33%"},
    {KIVO_LENIENT, CF, 2, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, F, "lenient 50%"},
    {KIVO_LENIENT, IN, 2, 1, 0, 0, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), F, R, "lenient 50%, internal"},
    {KIVO_LENIENT, CF, 20, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), R, R,
     "lenient, one contradiction in 20"},
    {KIVO_LENIENT, IN, 2, 1, 1, 0, CAT(KIVO_CAT_CONTRADICTED_CLAIM), F, F,
     "lenient 50% with a contradiction, internal"},
    {KIVO_LENIENT, CF, 5, 0, 0, 5, CAT(KIVO_CAT_UNSUPPORTED_CLAIM), P, P,
     "lenient ignores partial support"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const row *r = &table[i];
        kivo_verdict g = (kivo_verdict)99, su = (kivo_verdict)99;
        kivo_verdict_decide(r->s, r->u, r->claims, r->unsupported, r->contradicted, r->partial,
                            r->cats, &g, &su);
        if (g != r->gate || su != r->safe_use)
            fail_msg("%s: gate %s safe_use %s, want %s / %s", r->why, kivo_verdict_name(g),
                     kivo_verdict_name(su), kivo_verdict_name(r->gate),
                     kivo_verdict_name(r->safe_use));
    }
}

/* Invariants over a grid: safe use is never stricter than the gate, equals it for customer-facing
 * use, and more unsupported claims never make a verdict better. */
static void test_monotone(void **state)
{
    (void)state;
    for (int s = KIVO_STRICT; s <= KIVO_LENIENT; s++) {
        for (int u = CF; u <= EV; u++) {
            for (size_t n = 1; n <= 12; n++) {
                kivo_verdict prev = P;
                for (size_t un = 0; un <= n; un++) {
                    kivo_verdict g, su;
                    kivo_verdict_decide((kivo_strictness)s, (kivo_intended_use)u, n, un, 0, 0,
                                        un ? CAT(KIVO_CAT_UNSUPPORTED_CLAIM) : 0, &g, &su);
                    assert_true(g >= prev);
                    assert_true(su <= g);
                    if (u == CF)
                        assert_int_equal(su, g);
                    prev = g;
                }
            }
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    static const char *const s_names[] = {"strict", "standard", "lenient"};
    static const char *const u_names[] = {"customer_facing", "internal", "evaluation"};
    static const char *const v_names[] = {"pass", "needs_review", "fail"};
    static const char *const st_names[] = {"supported", "partially_supported", "unsupported",
                                           "contradicted"};
    static const char *const c_names[] = {NULL,
                                          "unsupported_claim",
                                          "unsupported_policy_claim",
                                          "unsupported_numeric_claim",
                                          "unsupported_entity_claim",
                                          "contradicted_claim",
                                          "no_sources",
                                          "empty_output"};
    for (int i = 0; i < 3; i++) {
        kivo_strictness s;
        kivo_intended_use u;
        kivo_verdict v;
        assert_string_equal(kivo_strictness_name((kivo_strictness)i), s_names[i]);
        assert_string_equal(kivo_intended_use_name((kivo_intended_use)i), u_names[i]);
        assert_string_equal(kivo_verdict_name((kivo_verdict)i), v_names[i]);
        assert_int_equal(kivo_strictness_parse(s_names[i], strlen(s_names[i]), &s), KIVO_OK);
        assert_int_equal(s, i);
        assert_int_equal(kivo_intended_use_parse(u_names[i], strlen(u_names[i]), &u), KIVO_OK);
        assert_int_equal(u, i);
        assert_int_equal(kivo_verdict_parse(v_names[i], strlen(v_names[i]), &v), KIVO_OK);
        assert_int_equal(v, i);
    }
    for (int i = 0; i < 4; i++)
        assert_string_equal(kivo_claim_status_name((kivo_claim_status)i), st_names[i]);
    assert_int_equal(KIVO_CAT_COUNT, 8);
    assert_null(kivo_category_name(KIVO_CAT_NONE));
    for (int i = 1; i < KIVO_CAT_COUNT; i++) {
        kivo_category c;
        assert_string_equal(kivo_category_name((kivo_category)i), c_names[i]);
        assert_int_equal(kivo_category_parse(c_names[i], strlen(c_names[i]), &c), KIVO_OK);
        assert_int_equal(c, i);
    }
    /* Out of range values get a name, never NULL (except the one NULL category). */
    assert_string_equal(kivo_verdict_name((kivo_verdict)7), "unknown");
    assert_null(kivo_category_name(KIVO_CAT_COUNT));

    /* Parsing is exact: no prefixes, no case folding, no "none" category. */
    kivo_strictness s = KIVO_LENIENT;
    kivo_category c = KIVO_CAT_EMPTY_OUTPUT;
    kivo_verdict v;
    assert_int_equal(kivo_strictness_parse("strict", 5, &s), KIVO_EINVAL);
    assert_int_equal(kivo_strictness_parse("Strict", 6, &s), KIVO_EINVAL);
    assert_int_equal(kivo_strictness_parse("strictly", 8, &s), KIVO_EINVAL);
    assert_int_equal(kivo_strictness_parse("", 0, &s), KIVO_EINVAL);
    assert_int_equal(s, KIVO_LENIENT); /* untouched on failure */
    assert_int_equal(kivo_verdict_parse("needs review", 12, &v), KIVO_EINVAL);
    assert_int_equal(kivo_category_parse("", 0, &c), KIVO_EINVAL);
    assert_int_equal(kivo_category_parse("none", 4, &c), KIVO_EINVAL);
    assert_int_equal(c, KIVO_CAT_EMPTY_OUTPUT);
    kivo_intended_use u;
    assert_int_equal(kivo_intended_use_parse("customer-facing", 15, &u), KIVO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
