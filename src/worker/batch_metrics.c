/* batch_metrics.c - a batch's metrics for --fail-on (see batch_metrics.h). */
#include <math.h>

#include "batch_metrics.h"
#include "breakdown.h"
#include "stats.h"

size_t wk_batch_metrics(const wk_summary *s, wk_metric m[WK_BATCH_METRICS])
{
    uint64_t reviewed = s ? s->records_reviewed : 0;
    uint64_t fail = s ? s->verdicts[KIVO_VERDICT_FAIL] : 0;
    uint64_t review = s ? s->verdicts[KIVO_VERDICT_NEEDS_REVIEW] : 0;
    uint64_t pass = s ? s->verdicts[KIVO_VERDICT_PASS] : 0;
    wk_scores sc = {NAN, NAN, NAN, NAN, NAN, NAN};
    int labeled = s && s->breakdown && wk_breakdown_labeled(s->breakdown);
    const char *none = "no run was reviewed";
    const char *nolabel = labeled ? "too few labeled runs of each kind"
                                  : "the job spec has no "
                                    "fields.label";
    if (labeled) {
        const uint64_t *c = wk_breakdown_total(s->breakdown)->confusion;
        wk_scores_compute(c[WK_TP], c[WK_FP], c[WK_FN], c[WK_TN], &sc);
    }
    size_t n = 0;
#define M(name_, value_, why_) m[n++] = (wk_metric){name_, s ? (double)(value_) : NAN, why_}
    M("fail_rate", wk_ratio(fail, reviewed), none);
    M("needs_review_rate", wk_ratio(review, reviewed), none);
    M("flag_rate", wk_ratio(fail + review, reviewed), none);
    M("pass_rate", wk_ratio(pass, reviewed), none);
    M("fail", fail, "");
    M("needs_review", review, "");
    M("flagged", fail + review, "");
    M("reviewed", reviewed, "");
    M("rejected", s ? s->records_rejected : 0, "");
    M("reject_rate", wk_ratio(s ? s->records_rejected : 0, s ? s->records_read : 0),
      "no record was read");
    M("unsupported_claim_rate", wk_ratio(s ? s->unsupported_claims : 0, s ? s->claims : 0),
      "no claims were found");
    M("precision", sc.precision, labeled ? "no labeled run was flagged" : nolabel);
    M("recall", sc.recall, labeled ? "no run is labeled hallucinated" : nolabel);
    M("f1", sc.f1, nolabel);
    M("balanced_accuracy", sc.balanced_accuracy, labeled ? "runs of only one label" : nolabel);
    M("accuracy", sc.accuracy, labeled ? "no run had a usable label" : nolabel);
#undef M
    return n;
}
