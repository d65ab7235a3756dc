/*
 * stats.h - the statistics a batch summary and a compare report give: a flagger scored against
 * labels (precision, recall, F1, balanced accuracy), and two batches over the same records as
 * paired binary outcomes (the exact McNemar test, a confidence interval for the change in rate).
 *
 * A value that is undefined (a ratio with a zero denominator) is NAN; writers show it as null.
 */
#ifndef KIVO_WORKER_STATS_H
#define KIVO_WORKER_STATS_H

#include <stdint.h>

/* z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
#define WK_Z95 1.959963984540054

/* num / den, or NAN when den is 0. */
double wk_ratio(uint64_t num, uint64_t den);

/* A flagger against labels: positive = flagged / hallucinated. */
typedef struct wk_scores {
    double precision;         /* tp / (tp + fp) */
    double recall;            /* tp / (tp + fn), the true positive rate */
    double specificity;       /* tn / (tn + fp), the true negative rate */
    double f1;                /* 2 p r / (p + r) = 2 tp / (2 tp + fp + fn) */
    double balanced_accuracy; /* (recall + specificity) / 2 */
    double accuracy;          /* (tp + tn) / all */
} wk_scores;

void wk_scores_compute(uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn, wk_scores *out);

/*
 * The exact (binomial) two-sided McNemar test on the discordant pairs of a paired 2x2 table:
 * b pairs flagged only in the first batch, c only in the second. Under no change each discordant
 * pair goes either way with probability 1/2, so p = min(1, 2 P(X <= min(b, c))), X ~ Bin(b + c,
 * 1/2); 1 when b + c = 0.
 */
double wk_mcnemar_exact(uint64_t b, uint64_t c);

/* The Wilson score interval for k successes in n (n > 0) at the given z. */
void wk_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi);

/*
 * A confidence interval for p2 - p1 of paired proportions, by Newcombe's square-and-add method
 * from the two Wilson intervals and their estimated correlation (Newcombe 1998, "Improved
 * confidence intervals for the difference between binomial proportions based on paired data",
 * Statistics in Medicine 17:2635-50, method 10; the correlation term as in Fagerland, Lydersen and
 * Laake, "Statistical Analysis of Contingency Tables", chapter 8). The table: n11 pairs positive in
 * both, n10 positive in the first only, n01 in the second only, n00 in neither; p1 = (n11 + n10)
 * / n, p2 = (n11 + n01) / n. NAN bounds when n is 0.
 */
void wk_paired_diff_ci(uint64_t n11, uint64_t n10, uint64_t n01, uint64_t n00, double z, double *lo,
                       double *hi);

#endif
