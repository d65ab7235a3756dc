/*
 * test_stats.c - stats.c against known answers: the exact McNemar test (small cases worked out by
 * hand, large ones as exact rational sums made with Python's integers), Newcombe's interval for a
 * paired difference (the worked examples of Fagerland, Lydersen and Laake, "Statistical Analysis
 * of Contingency Tables", chapter 8, as computed by the independent implementation in
 * tests/worker/worker_experiments.py), Wilson intervals and scores against labels.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stats.h"

static void near(double got, double want, double eps)
{
    if (!(fabs(got - want) <= eps))
        fail_msg("got %.17g, want %.17g (+- %g)", got, want, eps);
}

static void test_mcnemar_by_hand(void **state)
{
    (void)state;
    near(wk_mcnemar_exact(0, 0), 1.0, 0);             /* no discordant pair: no evidence */
    near(wk_mcnemar_exact(0, 1), 1.0, 0);             /* 2 * 1/2 */
    near(wk_mcnemar_exact(1, 7), 18.0 / 256, 1e-12);  /* 2 * (1 + 8) / 2^8 */
    near(wk_mcnemar_exact(7, 1), 18.0 / 256, 1e-12);  /* symmetric */
    near(wk_mcnemar_exact(0, 5), 2.0 / 32, 1e-12);    /* 2 * 1 / 2^5 */
    near(wk_mcnemar_exact(3, 5), 186.0 / 256, 1e-12); /* 2 * (1 + 8 + 28 + 56) / 2^8 */
    near(wk_mcnemar_exact(10, 10), 1.0, 0);           /* b = c: clamped at 1 */
}

static void test_mcnemar_large(void **state)
{
    (void)state;
    /* 2 * sum(comb(n, i) for i <= k) / 2^n with Python's exact integers. */
    near(wk_mcnemar_exact(40, 60), 0.05688793364098079, 1e-12);
    near(wk_mcnemar_exact(200, 260), 0.005883922473103979, 1e-13);
    near(wk_mcnemar_exact(5000, 5300), 0.003215819673645239, 1e-12);
    /* A million discordant pairs, all one way: 2^-999999 underflows to 0, not NaN. */
    double p = wk_mcnemar_exact(0, 1000000);
    assert_true(p == 0.0);
    /* Balanced and huge: close to 1, within [0, 1]. */
    p = wk_mcnemar_exact(500000, 500001);
    assert_true(p > 0.99 && p <= 1.0);
}

static void test_paired_ci(void **state)
{
    (void)state;
    double lo, hi;
    /* Bentur et al. (2009): first 2/21, second 8/21; p2 - p1 = 6/21. */
    wk_paired_diff_ci(1, 1, 7, 12, WK_Z95, &lo, &hi);
    near(lo, 0.02555912416485978, 1e-9);
    near(hi, 0.506920226686141, 1e-9);
    /* Cavo et al. (2012): 59 6 / 16 80. */
    wk_paired_diff_ci(59, 6, 16, 80, WK_Z95, &lo, &hi);
    near(lo, 0.004625113933050061, 1e-9);
    near(hi, 0.11862119563870992, 1e-9);
    /* Swapping first and second negates the interval. */
    double lo2, hi2;
    wk_paired_diff_ci(59, 16, 6, 80, WK_Z95, &lo2, &hi2);
    near(lo2, -hi, 1e-12);
    near(hi2, -lo, 1e-12);
    /* Nothing changes: the interval is around 0 and inside [-1, 1]. */
    wk_paired_diff_ci(10, 0, 0, 10, WK_Z95, &lo, &hi);
    assert_true(lo < 0 && hi > 0 && lo >= -1 && hi <= 1);
    /* No pairs: undefined. */
    wk_paired_diff_ci(0, 0, 0, 0, WK_Z95, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
    /* Everything flips one way: the interval stays inside [-1, 1] and excludes 0. */
    wk_paired_diff_ci(0, 0, 50, 0, WK_Z95, &lo, &hi);
    assert_true(lo > 0.5 && hi <= 1.0 + 1e-12);
}

static void test_wilson(void **state)
{
    (void)state;
    double lo, hi;
    /* 1 of 10: (0.017876, 0.404150) from the closed form, worked out separately. */
    wk_wilson(1, 10, WK_Z95, &lo, &hi);
    near(lo, 0.0179, 5e-5);
    near(hi, 0.4042, 5e-5);
    wk_wilson(0, 10, WK_Z95, &lo, &hi);
    near(lo, 0, 1e-12);
    near(hi, 0.2775, 5e-5);
    wk_wilson(10, 10, WK_Z95, &lo, &hi);
    near(hi, 1, 1e-12);
    near(lo, 0.7225, 5e-5);
}

static void test_scores(void **state)
{
    (void)state;
    wk_scores s;
    wk_scores_compute(8, 2, 4, 6, &s); /* tp fp fn tn */
    near(s.precision, 0.8, 1e-15);
    near(s.recall, 8.0 / 12, 1e-15);
    near(s.specificity, 6.0 / 8, 1e-15);
    near(s.f1, 16.0 / 22, 1e-15);
    near(s.balanced_accuracy, (8.0 / 12 + 6.0 / 8) / 2, 1e-15);
    near(s.accuracy, 14.0 / 20, 1e-15);
    wk_scores_compute(0, 0, 3, 5, &s); /* nothing flagged */
    assert_true(isnan(s.precision));
    near(s.recall, 0, 0);
    near(s.f1, 0, 0);
    wk_scores_compute(0, 0, 0, 5, &s); /* no positive label */
    assert_true(isnan(s.recall) && isnan(s.f1) && isnan(s.balanced_accuracy));
    near(s.specificity, 1, 0);
    assert_true(isnan(wk_ratio(1, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar_by_hand), cmocka_unit_test(test_mcnemar_large),
        cmocka_unit_test(test_paired_ci),       cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
