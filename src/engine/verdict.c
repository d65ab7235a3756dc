/*
 * verdict.c - the gate: strictness x intended use x counts -> gate_verdict and safe_use_status.
 * docs/engine.md carries the same table in words; change both together.
 */
#include "kivo/review.h"

#define HAS(cats, c) (((cats) >> (c)) & 1u)

void kivo_verdict_decide(kivo_strictness s, kivo_intended_use u, size_t n_claims,
                         size_t unsupported, size_t contradicted, size_t partial,
                         uint32_t categories, kivo_verdict *gate, kivo_verdict *safe_use)
{
    kivo_verdict g;
    /* Share of claims that are unsupported, in percent, rounded down. */
    size_t pct = n_claims ? unsupported * 100 / n_claims : 0;

    if (HAS(categories, KIVO_CAT_EMPTY_OUTPUT) || HAS(categories, KIVO_CAT_NO_SOURCES)) {
        g = KIVO_VERDICT_FAIL;
    } else if (s == KIVO_STRICT) {
        if (contradicted > 0 || unsupported >= 2 ||
            (unsupported >= 1 && u == KIVO_USE_CUSTOMER_FACING))
            g = KIVO_VERDICT_FAIL;
        else if (unsupported > 0 || partial > 0)
            g = KIVO_VERDICT_NEEDS_REVIEW;
        else
            g = KIVO_VERDICT_PASS;
    } else if (s == KIVO_STANDARD) {
        if (contradicted > 0 || pct >= 25)
            g = KIVO_VERDICT_FAIL;
        else if (unsupported > 0)
            g = KIVO_VERDICT_NEEDS_REVIEW;
        else
            g = KIVO_VERDICT_PASS;
    } else {
        if (pct >= 50)
            g = KIVO_VERDICT_FAIL;
        else if (contradicted > 0 || pct > 10)
            g = KIVO_VERDICT_NEEDS_REVIEW;
        else
            g = KIVO_VERDICT_PASS;
    }

    /* Safe use: what the answer may be used for. Customer-facing answers take the gate as is;
     * internal and evaluation use soften a fail without contradictions to needs_review, since a
     * person or a harness reads them anyway. Empty output and no sources stay a fail. */
    kivo_verdict su = g;
    if (u != KIVO_USE_CUSTOMER_FACING && g == KIVO_VERDICT_FAIL && contradicted == 0 &&
        !HAS(categories, KIVO_CAT_EMPTY_OUTPUT) && !HAS(categories, KIVO_CAT_NO_SOURCES))
        su = KIVO_VERDICT_NEEDS_REVIEW;
    *gate = g;
    *safe_use = su;
}
