/*
 * modality.c - may, must, must not, optional: the claim gives an act another force than the
 * source does.
 *
 * Each clause has a modal force (clause.c): possible (may, can, allowed), necessary (must,
 * required, need to, have to, an instruction: "Take the tablets with food"), optional
 * (optional, need not, not required) or impossible (must not, cannot, may not, prohibited, "Do
 * not ..."); a plain statement has none. The claim's clause is paired with the clause of a
 * window sentence that holds most of its words (two at least). These forces disagree:
 *   possible / impossible, necessary / impossible, necessary / optional, optional / impossible,
 *   possible / necessary ("may renew" is not "must renew", "must include" not "may include").
 * Possible and optional agree (an optional act may be done), and a plain statement agrees with
 * any force: an answer that drops "may" or adds it is hedging, not contradicting.
 */
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

/* Whether forces a and b clash; strict_a / strict_b: the necessity is an obligation (must,
 * required, have to), not advice (should), an instruction or "may need to". */
static int clash(int a, int strict_a, int b, int strict_b)
{
    if (a == KV_MODAL_NONE || b == KV_MODAL_NONE || a == b)
        return 0;
    if (a > b) {
        int t = a;
        a = b;
        b = t;
        t = strict_a;
        strict_a = strict_b;
        strict_b = t;
    }
    /* POSSIBLE 1, NECESSARY 2, OPTIONAL 3, IMPOSSIBLE 4 */
    if (a == KV_MODAL_POSSIBLE && b == KV_MODAL_OPTIONAL)
        return 0;
    /* "You can run the dryer" says what "Run the dryer" says in a how-to; "may" against "must"
     * only clashes as permission against obligation. */
    if (a == KV_MODAL_POSSIBLE && b == KV_MODAL_NECESSARY)
        return strict_b;
    return 1;
}

/* 1 when clause cc of c and clause sc of r say their modal of one act: the same verb when both
 * modals have one ("may [include]" / "must [include]"; not "can [cause]" / "never [rub]"), else
 * a word both modals are about ("must include the [receipt]" / "the [receipt] is optional"). */
static int same_act(const kivo_engine *e, const kv_reading *c, size_t cc, const kv_reading *r,
                    size_t sc)
{
    int cverb = 0, sverb = 0, verb_match = 0, arg_match = 0;
    for (size_t i = 0; i < c->n; i++)
        cverb |= c->a[i].clause == cc && c->a[i].mtarget == MT_VERB;
    for (size_t j = 0; j < r->n; j++)
        sverb |= r->a[j].clause == sc && r->a[j].mtarget == MT_VERB;
    for (size_t i = 0; i < c->n; i++) {
        if (c->a[i].clause != cc || !c->a[i].mtarget)
            continue;
        uint64_t alt = kv_align_word_alt(e, i);
        for (size_t j = 0; j < r->n; j++) {
            if (r->a[j].clause != sc || !r->a[j].mtarget ||
                !(r->t[j].h == c->t[i].h || (alt && r->t[j].h == alt)))
                continue;
            if (c->a[i].mtarget == MT_VERB && r->a[j].mtarget == MT_VERB)
                verb_match = 1;
            else
                arg_match = 1;
        }
    }
    /* The claim's modal must be about what the source's is about: each object of the verb it
     * governs ("may keep [cats]") stands in the source's clause too, or "Tenants may keep cats"
     * would clash with "Tenants may not keep dogs". */
    for (size_t i = c->modal_tok[cc] < c->n ? c->modal_tok[cc] + 1u : c->n; i < c->n; i++) {
        if (c->a[i].clause != cc || c->a[i].mtarget != MT_ARG || c->t[i].kind == KV_TOK_STOP)
            continue;
        uint64_t alt = kv_align_word_alt(e, i);
        int in = 0;
        for (size_t j = 0; j < r->n && !in; j++)
            in = r->a[j].clause == sc && (r->t[j].h == c->t[i].h || (alt && r->t[j].h == alt));
        if (!in)
            return 0;
    }
    return cverb && sverb ? verb_match : verb_match || arg_match;
}

static const char *const force_names[] = {"none", "possible", "necessary", "optional",
                                          "impossible"};

/* Claim words of claim clause cc that clause sc of r holds (by hash or negative prefix). */
static size_t shared(const kivo_engine *e, const kv_reading *c, size_t cc, size_t s, size_t sc)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->a[i].clause != cc || c->t[i].kind == KV_TOK_STOP || c->a[i].cue_tok)
            continue;
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = c->t[k].h == c->t[i].h;
        unsigned cpol;
        int ant;
        if (!dup && kv_align_token(e, s, sc, i, 0, &cpol, &ant) && !ant)
            n++;
    }
    return n;
}

int kv_modality_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    for (size_t cc = 0; cc < c->n_clauses; cc++) {
        if (c->modal[cc] == KV_MODAL_NONE)
            continue;
        for (size_t s = 0; s < sn->n_sents; s++) {
            const kv_reading *r = &sn->sent[s];
            size_t best = SIZE_MAX, best_n = 1;
            for (size_t sc = 0; sc < r->n_clauses; sc++) {
                size_t k = shared(e, c, cc, s, sc);
                if (k > best_n) {
                    best = sc;
                    best_n = k;
                }
            }
            if (best == SIZE_MAX ||
                !clash(c->modal[cc], c->modal_strict[cc], r->modal[best], r->modal_strict[best]) ||
                !same_act(e, c, cc, r, best))
                continue;
            size_t m = c->modal_tok[cc];
            if (m < c->n) {
                res->mark[m] = 1;
                /* Its negation: "may not", "do not need to", "not required". */
                for (size_t k = m >= 2 ? m - 2 : 0; k < c->n && k <= m + 2; k++)
                    if ((c->t[k].flags & KV_TF_NEG) && c->a[k].clause == cc)
                        res->mark[k] = 1;
            }
            res->rule = KIVO_RULE_MODALITY;
            res->sent = s;
            if (e->explain) {
                size_t st = r->modal_tok[best];
                kv_explain_add(e, " modality: the claim says %s", force_names[c->modal[cc]]);
                if (m < c->n)
                    kv_explain_add(e, " (%.*s)", (int)(c->t[m].end - c->t[m].start),
                                   c->text + c->t[m].start);
                kv_explain_add(e, ", window sentence %zu %s", s + 1, force_names[r->modal[best]]);
                if (st < r->n)
                    kv_explain_add(e, " (%.*s)", (int)(r->t[st].end - r->t[st].start),
                                   r->text + r->t[st].start);
                kv_explain_add(e, ";");
            }
            return 1;
        }
    }
    return 0;
}
