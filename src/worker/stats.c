/*
 * stats.c - scores against labels, the exact McNemar test and Newcombe's interval for a paired
 * difference. Plain double arithmetic; counts up to 2^53 are exact.
 */
#include <math.h>

#include "stats.h"

double wk_ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

void wk_scores_compute(uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn, wk_scores *s)
{
    s->precision = wk_ratio(tp, tp + fp);
    s->recall = wk_ratio(tp, tp + fn);
    s->specificity = wk_ratio(tn, tn + fp);
    s->f1 = wk_ratio(2 * tp, 2 * tp + fp + fn);
    s->balanced_accuracy = (s->recall + s->specificity) / 2; /* NAN if either is */
    s->accuracy = wk_ratio(tp + tn, tp + fp + fn + tn);
}

double wk_mcnemar_exact(uint64_t b, uint64_t c)
{
    uint64_t n = b + c, k = b < c ? b : c;
    if (n == 0)
        return 1.0;
    /* P(X <= k) summed from the largest term down, each term from the one above it by
     * C(n, i-1) = C(n, i) * i / (n - i + 1), starting from C(n, k) / 2^n in logs (n can be in the
     * millions: 2^-n underflows long before the sum does). */
    double dn = (double)n, dk = (double)k;
    double log_t = lgamma(dn + 1) - lgamma(dk + 1) - lgamma(dn - dk + 1) - dn * log(2.0);
    double t = exp(log_t), sum = 0;
    for (uint64_t i = k + 1; i-- > 0;) {
        sum += t;
        if (t < sum * 1e-17)
            break; /* the remaining terms shrink at least geometrically */
        t *= (double)i / (double)(n - i + 1);
    }
    double p = 2 * sum;
    return p > 1 ? 1 : p;
}

void wk_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
    double dn = (double)n, p = (double)k / dn, z2 = z * z;
    double den = 1 + z2 / dn;
    double mid = (p + z2 / (2 * dn)) / den;
    double half = z * sqrt(p * (1 - p) / dn + z2 / (4 * dn * dn)) / den;
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
}

void wk_paired_diff_ci(uint64_t n11, uint64_t n10, uint64_t n01, uint64_t n00, double z, double *lo,
                       double *hi)
{
    uint64_t n = n11 + n10 + n01 + n00;
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    double dn = (double)n;
    double r1 = (double)(n11 + n10), r0 = (double)(n01 + n00); /* first: positive, not */
    double c1 = (double)(n11 + n01), c0 = (double)(n10 + n00); /* second: positive, not */
    double p1 = r1 / dn, p2 = c1 / dn, d = p2 - p1;
    double l1, u1, l2, u2;
    wk_wilson(n11 + n10, n, z, &l1, &u1);
    wk_wilson(n11 + n01, n, z, &l2, &u2);

    /* The correlation of the two estimates, with Newcombe's continuity correction of the
     * cross-product difference: 0 while it is within n/2 above zero. */
    double phi = 0, prod = r1 * r0 * c1 * c0;
    if (prod > 0) {
        double a = (double)n11 * (double)n00 - (double)n10 * (double)n01;
        if (a > dn / 2)
            phi = (a - dn / 2) / sqrt(prod);
        else if (a < 0)
            phi = a / sqrt(prod);
    }
    /* p2 - p1 is lowest when p2 is at its lower bound and p1 at its upper, and so on. */
    double dl2 = p2 - l2, du1 = u1 - p1, du2 = u2 - p2, dl1 = p1 - l1;
    double below = dl2 * dl2 - 2 * phi * dl2 * du1 + du1 * du1;
    double above = du2 * du2 - 2 * phi * du2 * dl1 + dl1 * dl1;
    *lo = d - sqrt(below > 0 ? below : 0);
    *hi = d + sqrt(above > 0 ? above : 0);
}
