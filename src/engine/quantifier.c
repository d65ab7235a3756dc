/*
 * quantifier.c - all, every, only, except, and bounds on numbers: the claim widens or narrows
 * what the source says.
 *
 * - "all"/"every"/"each"/"any"/"both" against "only" in the clause that holds most of the
 *   claim's words, or "only" against "all" ("All plans include a static IP address" against
 *   "Only the Pro plan includes a static IP address");
 * - "all" against "all ... except X", when the claim names no word of X ("All items can be
 *   exchanged" against "All items except clearance items can be exchanged");
 * - a bound against another on the same number (clause.c reads them): at least or more than
 *   against up to, at most, within or less than, and the reverse (a bound against the exact
 *   number is left alone: "over 1,000 points" is how answers round "1,000 points");
 * - every day (daily, every day, all week, seven days a week) against a day the source says is
 *   closed.
 */
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

static inline __attribute__((always_inline)) int is(const char *text, const kv_token *t,
                                                    const char *w)
{
    return kv_text_is(text + t->start, t->end - t->start, w);
}

static int lower_bound(int b)
{
    return b == KV_BOUND_LO_INCL || b == KV_BOUND_LO_STRICT;
}

static int upper_bound(int b)
{
    return b == KV_BOUND_UP_INCL || b == KV_BOUND_UP_STRICT;
}

/* 1 when "only" at i restricts what follows it to one thing ("only the Pro plan", "only on the
 * Business tier", "only Pro"), not "only a few", "only if", "text-only". */
static int restricts(const kv_reading *r, size_t i)
{
    if (i + 1 >= r->n || (i > 0 && r->text[r->t[i].start - 1] == '-'))
        return 0;
    const kv_token *u = &r->t[i + 1];
    if (r->a[i + 1].cue & (KV_CUE_COND | KV_CUE_SOME))
        return 0;
    if (is(r->text, u, "a") || is(r->text, u, "one"))
        return 0;
    return 1;
}

/* 1 when the quantifier at qa of a ("all [plans]") and "only" at qb of b ("only [the Pro plan]",
 * "only [on the Business tier]") range over one word: the first word after qa stands among the
 * first two after qb. */
static int same_range(const kv_reading *a, size_t qa, const kv_reading *b, size_t qb)
{
    size_t k = qa + 1;
    while (k < a->n && a->t[k].kind == KV_TOK_STOP && k <= qa + 3)
        k++;
    if (k >= a->n || a->t[k].kind == KV_TOK_STOP)
        return 0;
    for (size_t j = qb + 1, words = 0; j < b->n && words < 2 && j <= qb + 5; j++) {
        if (b->t[j].kind == KV_TOK_STOP)
            continue;
        if (b->t[j].h == a->t[k].h)
            return 1;
        words++;
    }
    return 0;
}

/* The clause of r holding most claim words (two at least), or SIZE_MAX. */
static size_t paired(const kivo_engine *e, const kv_reading *c, size_t s)
{
    const kv_reading *r = &e->sense->sent[s];
    size_t best = SIZE_MAX, best_n = 1;
    for (size_t sc = 0; sc < r->n_clauses; sc++) {
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (c->t[i].kind == KV_TOK_STOP)
                continue;
            unsigned cpol;
            int ant;
            if (kv_align_token(e, s, sc, i, 0, &cpol, &ant) && !ant)
                n++;
        }
        if (n > best_n) {
            best = sc;
            best_n = n;
        }
    }
    return best;
}

/* The first token of clause sc of r with cue bits `cue` outside a negation's reach, or r->n. */
static size_t cue_in(const kv_reading *r, size_t sc, uint32_t cue)
{
    for (size_t j = 0; j < r->n; j++)
        if (r->a[j].clause == sc && (r->a[j].cue & cue) && !r->a[j].neg)
            return j;
    return r->n;
}

static int fire(kivo_engine *e, kv_sense_result *res, kivo_rule rule, size_t s, const char *why)
{
    res->rule = rule;
    res->sent = s;
    if (e->explain)
        kv_explain_add(e, " %s: window sentence %zu: %s;", kivo_rule_name(rule), s + 1, why);
    return 1;
}

/* "every day", "daily", "all week", "seven days a week" with "open" and no negation. */
static int every_day(const kv_reading *c, size_t *at)
{
    int open = 0, every = 0;
    /* Without "open" the rest need not be read (*at is not used then). */
    for (size_t i = 0; i < c->n && !open; i++)
        open = (is(c->text, &c->t[i], "open") || is(c->text, &c->t[i], "opens")) && !c->a[i].neg;
    if (!open)
        return 0;
    for (size_t i = 0; i < c->n; i++) {
        const kv_token *t = &c->t[i];
        if (is(c->text, t, "daily") || is(c->text, t, "everyday") ||
            (i + 1 < c->n && (is(c->text, t, "every") || is(c->text, t, "all")) &&
             (is(c->text, &c->t[i + 1], "day") || is(c->text, &c->t[i + 1], "week"))) ||
            (i + 2 < c->n && is(c->text, &c->t[i + 1], "days") && is(c->text, &c->t[i + 2], "a") &&
             c->t[i].kind == KV_TOK_NUMBER && c->t[i].value == 7)) {
            every = 1;
            *at = i;
        }
    }
    return open && every;
}

int kv_quantifier_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    size_t c_all = c->n, c_only = c->n;
    for (size_t i = 0; i < c->n; i++) {
        /* "any" is as often "whichever" or a negative's ("uninstall any apps") as "all". */
        if ((c->a[i].cue & KV_CUE_ALL) && !c->a[i].neg && c_all == c->n &&
            !is(c->text, &c->t[i], "always") && !is(c->text, &c->t[i], "any"))
            c_all = i;
        if ((c->a[i].cue & KV_CUE_ONLY) && c_only == c->n && restricts(c, i))
            c_only = i;
    }
    size_t day_at = 0;
    int c_every_day = every_day(c, &day_at);
    for (size_t s = 0; s < sn->n_sents; s++) {
        const kv_reading *r = &sn->sent[s];
        /* Only a claim that says all or only is compared with the clause it pairs with. */
        size_t sc = c_all < c->n || c_only < c->n ? paired(e, c, s) : SIZE_MAX;
        if (sc != SIZE_MAX) {
            size_t s_only = cue_in(r, sc, KV_CUE_ONLY), s_all = cue_in(r, sc, KV_CUE_ALL);
            if (s_only < r->n && !restricts(r, s_only))
                s_only = r->n;
            if (s_all < r->n && is(r->text, &r->t[s_all], "any"))
                s_all = r->n;
            if (c_all < c->n && c_only == c->n && s_only < r->n &&
                same_range(c, c_all, r, s_only)) {
                res->mark[c_all] = 1;
                return fire(e, res, KIVO_RULE_QUANTIFIER, s,
                            "the claim says all where the source says only");
            }
            if (c_only < c->n && s_only == r->n && s_all < r->n &&
                same_range(r, s_all, c, c_only)) {
                res->mark[c_only] = 1;
                return fire(e, res, KIVO_RULE_QUANTIFIER, s,
                            "the claim says only where the source says all");
            }
            /* "all ... except X" against "all" without X. */
            if (c_all < c->n && s_all < r->n) {
                int excepted = 0, named = 0;
                for (size_t j = 0; j < r->n; j++) {
                    if (r->a[j].clause != sc || !r->a[j].except)
                        continue;
                    /* Words the clause also has outside the exception ("All items except
                     * clearance items") do not name it. */
                    int outside = 0;
                    for (size_t q = 0; q < r->n && !outside; q++)
                        outside = q != j && r->a[q].clause == sc && !r->a[q].except &&
                                  r->t[q].h == r->t[j].h;
                    if (outside)
                        continue;
                    excepted = 1;
                    for (size_t i = 0; i < c->n && !named; i++)
                        named = c->t[i].h == r->t[j].h && c->t[i].kind != KV_TOK_STOP &&
                                !(c->a[i].cue & KV_CUE_ALL);
                }
                int c_except = 0;
                for (size_t i = 0; i < c->n; i++)
                    c_except |= c->a[i].except;
                if (excepted && !named && !c_except) {
                    res->mark[c_all] = 1;
                    return fire(e, res, KIVO_RULE_QUANTIFIER, s,
                                "the claim says all where the source makes an exception");
                }
            }
        }
        /* Bounds on the same number, in a sentence that holds another claim word. */
        for (size_t i = 0; i < c->n; i++) {
            /* An exact number clashes with no bound. */
            if (c->t[i].kind != KV_TOK_NUMBER || sn->match[i].at[s] < 0 ||
                !(lower_bound(c->a[i].bound) || upper_bound(c->a[i].bound)))
                continue;
            size_t other = 0;
            for (size_t k = 0; k < c->n; k++)
                other += k != i && sn->match[k].content && sn->match[k].at[s] >= 0 &&
                         c->t[k].kind != KV_TOK_NUMBER;
            if (!other)
                continue;
            int bc = c->a[i].bound;
            for (size_t j = 0; j < r->n; j++) {
                if (r->t[j].h != c->t[i].h)
                    continue;
                int bs = r->a[j].bound;
                int clash =
                    (lower_bound(bc) && upper_bound(bs)) || (upper_bound(bc) && lower_bound(bs));
                if (!clash)
                    continue;
                res->mark[i] = 1;
                for (size_t k = i >= 3 ? i - 3 : 0; k < i; k++)
                    if (c->t[k].kind == KV_TOK_STOP || c->a[k].cue_tok ||
                        (c->a[k].cue & KV_CUE_NEG_MORE))
                        res->mark[k] = 1;
                return fire(e, res, KIVO_RULE_BOUND, s,
                            "the claim bounds the number the other way");
            }
        }
        /* Every day against a closed day. */
        if (c_every_day) {
            for (size_t j = 0; j < r->n; j++) {
                const kv_token *t = &r->t[j];
                if (t->kind != KV_TOK_WORD || kv_weekday(r->text + t->start, t->end - t->start) < 0)
                    continue;
                for (size_t k = 0; k < r->n; k++)
                    if (r->a[k].clause == r->a[j].clause &&
                        (is(r->text, &r->t[k], "closed") ||
                         ((is(r->text, &r->t[k], "open") || is(r->text, &r->t[k], "opens")) &&
                          r->a[k].neg))) {
                        res->mark[day_at] = 1;
                        return fire(e, res, KIVO_RULE_QUANTIFIER, s,
                                    "the claim says every day where the source names a closed "
                                    "day");
                    }
            }
        }
    }
    return 0;
}
