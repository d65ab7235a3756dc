/* tally.c - counts over reviewed runs and their JSON form (see tally.h). */
#include <math.h>

#include "kivo/wire.h"
#include "stats.h"
#include "tally.h"

int wk_flagged(kivo_verdict v)
{
    return v == KIVO_VERDICT_NEEDS_REVIEW || v == KIVO_VERDICT_FAIL;
}

void wk_tally_add(wk_tally *t, kivo_verdict v, uint32_t categories, uint32_t claims,
                  uint32_t unsupported, wk_label label)
{
    t->runs++;
    t->claims += claims;
    t->unsupported += unsupported;
    if ((unsigned)v < 3)
        t->verdicts[v]++;
    for (int c = 1; c < KIVO_CAT_COUNT; c++)
        if ((categories >> c) & 1u)
            t->categories[c]++;
    if (label == WK_LABEL_NONE) {
        t->unlabeled++;
        return;
    }
    int flag = wk_flagged(v), pos = label == WK_LABEL_HALLUCINATED;
    t->confusion[flag ? (pos ? WK_TP : WK_FP) : (pos ? WK_FN : WK_TN)]++;
}

double wk_tally_flag_rate(const wk_tally *t)
{
    return wk_ratio(t->verdicts[KIVO_VERDICT_NEEDS_REVIEW] + t->verdicts[KIVO_VERDICT_FAIL],
                    t->runs);
}

json_t *wk_categories_json(uint32_t cats)
{
    json_t *a = json_array();
    for (int c = KIVO_CAT_NONE + 1; a && c < KIVO_CAT_COUNT; c++)
        if (((cats >> c) & 1u) &&
            json_array_append_new(a, json_string(kivo_category_name((kivo_category)c))) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *wk_json_real_or_null(double d)
{
    return isfinite(d) ? json_real(d) : json_null();
}

static int put(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

json_t *wk_evaluation_json(const wk_tally *t)
{
    const uint64_t *m = t->confusion;
    wk_scores s;
    json_t *o = json_object(), *c = json_object();
    int bad = !o || !c;
    wk_scores_compute(m[WK_TP], m[WK_FP], m[WK_FN], m[WK_TN], &s);
    bad |= put(c, "true_positive", json_integer((json_int_t)m[WK_TP]));
    bad |= put(c, "false_positive", json_integer((json_int_t)m[WK_FP]));
    bad |= put(c, "false_negative", json_integer((json_int_t)m[WK_FN]));
    bad |= put(c, "true_negative", json_integer((json_int_t)m[WK_TN]));
    bad |= put(o, "labeled", json_integer((json_int_t)(m[0] + m[1] + m[2] + m[3])));
    bad |= put(o, "unlabeled", json_integer((json_int_t)t->unlabeled));
    bad |= put(o, "confusion", c);
    c = NULL;
    bad |= put(o, "precision", wk_json_real_or_null(s.precision));
    bad |= put(o, "recall", wk_json_real_or_null(s.recall));
    bad |= put(o, "f1", wk_json_real_or_null(s.f1));
    bad |= put(o, "balanced_accuracy", wk_json_real_or_null(s.balanced_accuracy));
    bad |= put(o, "accuracy", wk_json_real_or_null(s.accuracy));
    bad |= put(o, "specificity", wk_json_real_or_null(s.specificity));
    if (bad) {
        json_decref(c);
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *wk_tally_json(const wk_tally *t, int labeled)
{
    json_t *o = json_object(), *v = json_object(), *cats = json_object();
    int bad = !o || !v || !cats;
    for (int i = 0; !bad && i < 3; i++)
        bad |= put(v, kivo_verdict_name((kivo_verdict)i), json_integer((json_int_t)t->verdicts[i]));
    for (int i = 1; !bad && i < KIVO_CAT_COUNT; i++)
        bad |= put(cats, kivo_category_name((kivo_category)i),
                   json_integer((json_int_t)t->categories[i]));
    bad |= put(o, "runs", json_integer((json_int_t)t->runs));
    bad |= put(o, "claims", json_integer((json_int_t)t->claims));
    bad |= put(o, "unsupported_claims", json_integer((json_int_t)t->unsupported));
    bad |= put(o, "verdicts", v);
    v = NULL;
    bad |= put(o, "flag_rate", wk_json_real_or_null(wk_tally_flag_rate(t)));
    bad |= put(o, "fail_rate",
               wk_json_real_or_null(wk_ratio(t->verdicts[KIVO_VERDICT_FAIL], t->runs)));
    bad |= put(o, "needs_review_rate",
               wk_json_real_or_null(wk_ratio(t->verdicts[KIVO_VERDICT_NEEDS_REVIEW], t->runs)));
    bad |= put(o, "failure_categories", cats);
    cats = NULL;
    if (labeled)
        bad |= put(o, "evaluation", wk_evaluation_json(t));
    if (bad) {
        json_decref(v);
        json_decref(cats);
        json_decref(o);
        return NULL;
    }
    return o;
}
