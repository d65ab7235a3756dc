/*
 * exchange.c - two values exchanged between two parallel phrases: "The Basic plan costs $49 per
 * month and the Plus plan costs $29 per month" against "The Basic plan costs $29 per month ...
 * The Plus plan costs $49 per month"; "15 minutes on the Standard tier and 1 hour on the
 * Business tier" against "15 minutes on the Business tier and 1 hour on the Standard tier".
 *
 * Each of the two numbers, in the claim and in the window, stands in a phrase: the stretch of
 * its sentence between commas, semicolons, clause breaks and "and", "while", "whereas", "but"
 * (a relative phrase, ", which weighs 320 grams", also holds the name it follows). A phrase's
 * owners are its names (capitalised words not opening the sentence); when either side has no
 * name in one of its two phrases, its content words, but for the two words after the number
 * (its unit: "10 business days"). Owners both phrases of a side share say nothing and are set
 * aside. The claim exchanged the values when each of its two phrases shares more owners with
 * the window phrase of the other number than with the one of its own. Each number must stand
 * once in the claim and once in the window, so that its phrase there is known.
 *
 * swap.c reads a single slot between the claim's neighbouring words; an exchange moves two
 * values between phrases whose neighbouring words are alike ("costs $[29] per" in both).
 */
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

#define OWNERS 12   /* owner words kept per phrase */
#define UNIT_SPAN 2 /* words after a number read as its unit */

/* 1 when token i of r is a name: a capitalised word; the sentence's first when written as a
 * name in the claim or the window (align.c). */
static int name_tok(const kv_reading *r, size_t i)
{
    const kv_token *t = &r->t[i];
    if (t->kind != KV_TOK_WORD || !(t->flags & KV_TF_CAP) || (t->flags & KV_TF_REF))
        return 0;
    return i > 0 || r->first_name;
}

static inline __attribute__((always_inline)) int word_is(const kv_reading *r, size_t i,
                                                         const char *w)
{
    return kv_text_is(r->text + r->t[i].start, r->t[i].end - r->t[i].start, w);
}

/* 1 when a phrase of r ends before token i. */
static int phrase_break(const kv_reading *r, size_t i)
{
    if (i == 0)
        return 0;
    if (r->a[i].clause != r->a[i - 1].clause)
        return 1;
    for (uint32_t q = r->t[i - 1].end; q < r->t[i].start; q++)
        if (r->text[q] == ',' || r->text[q] == ';' || r->text[q] == ':' || r->text[q] == '.')
            return 1;
    return word_is(r, i, "and") || word_is(r, i, "while") || word_is(r, i, "whereas") ||
           word_is(r, i, "but");
}

/* The phrase of r around token i: [*a, *b). */
static void phrase_of(const kv_reading *r, size_t i, size_t *a, size_t *b)
{
    *a = i;
    while (*a > 0 && !phrase_break(r, *a))
        (*a)--;
    *b = i + 1;
    while (*b < r->n && !phrase_break(r, *b))
        (*b)++;
}

typedef struct owners {
    uint64_t h[OWNERS];
    size_t n;
} owners;

static void add(owners *o, uint64_t h)
{
    for (size_t k = 0; k < o->n; k++)
        if (o->h[k] == h)
            return;
    if (o->n < OWNERS)
        o->h[o->n++] = h;
}

static int has(const owners *o, uint64_t h)
{
    for (size_t k = 0; k < o->n; k++)
        if (o->h[k] == h)
            return 1;
    return 0;
}

/* The owners of the phrase of r around number token i: names (names = 1) or content words. */
static void owners_of(const kv_reading *r, size_t i, int names, owners *o)
{
    size_t a, b;
    phrase_of(r, i, &a, &b);
    o->n = 0;
    /* ", which weighs 320 grams": the name before the comma. */
    if (a > 0 && a < r->n && (word_is(r, a, "which") || word_is(r, a, "who")))
        for (size_t k = a; k > 0 && name_tok(r, k - 1); k--)
            add(o, r->t[k - 1].h);
    for (size_t k = a; k < b; k++) {
        if (k > i && k <= i + UNIT_SPAN)
            continue;
        const kv_token *t = &r->t[k];
        if (names ? name_tok(r, k) : t->kind == KV_TOK_WORD)
            add(o, t->h);
    }
}

/* Sets aside the owners x and y share. */
static void drop_shared(owners *x, owners *y)
{
    owners a = *x, b = *y;
    x->n = y->n = 0;
    for (size_t k = 0; k < a.n; k++)
        if (!has(&b, a.h[k]))
            x->h[x->n++] = a.h[k];
    for (size_t k = 0; k < b.n; k++)
        if (!has(&a, b.h[k]))
            y->h[y->n++] = b.h[k];
}

static size_t common(const owners *x, const owners *y)
{
    size_t n = 0;
    for (size_t k = 0; k < x->n; k++)
        n += has(y, x->h[k]);
    return n;
}

/* The one token of the window with hash h: 1 and (*s, *j), or 0 when it has none or more. */
static int once_in_window(const kv_sense *sn, uint64_t h, size_t *s, size_t *j)
{
    int found = 0;
    for (size_t k = 0; k < sn->n_sents; k++)
        for (size_t q = 0; q < sn->sent[k].n; q++)
            if (sn->sent[k].t[q].h == h) {
                if (found)
                    return 0;
                found = 1;
                *s = k;
                *j = q;
            }
    return found;
}

static int once_in_claim(const kv_reading *c, size_t i)
{
    for (size_t k = 0; k < c->n; k++)
        if (k != i && c->t[k].h == c->t[i].h)
            return 0;
    return 1;
}

/* Owners of the claim's phrases around i and k (x, y) and the window's around the same numbers
 * (p, q), by names or by content words; 0 when a phrase has none left. */
static int read_owners(const kv_reading *c, size_t i, size_t k, const kv_reading *ri, size_t ji,
                       const kv_reading *rk, size_t jk, int names, owners *x, owners *y, owners *p,
                       owners *q)
{
    owners_of(c, i, names, x);
    owners_of(c, k, names, y);
    owners_of(ri, ji, names, p);
    owners_of(rk, jk, names, q);
    drop_shared(x, y);
    drop_shared(p, q);
    return x->n && y->n && p->n && q->n;
}

int kv_exchange_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    /* Two values at least, or there is nothing to exchange. */
    size_t numbers = 0, last = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->t[i].kind == KV_TOK_NUMBER) {
            numbers++;
            last = i;
        }
    if (numbers < 2)
        return 0;
    /* (The last number has none after it to be exchanged with.) */
    for (size_t i = 0; i < last; i++) {
        size_t si = 0, ji = 0;
        if (c->t[i].kind != KV_TOK_NUMBER || !once_in_claim(c, i) ||
            !once_in_window(sn, c->t[i].h, &si, &ji))
            continue;
        size_t ca, cb;
        phrase_of(c, i, &ca, &cb);
        for (size_t k = cb; k < c->n; k++) {
            size_t sk = 0, jk = 0;
            if (c->t[k].kind != KV_TOK_NUMBER || c->t[k].h == c->t[i].h || !once_in_claim(c, k) ||
                !once_in_window(sn, c->t[k].h, &sk, &jk))
                continue;
            const kv_reading *ri = &sn->sent[si], *rk = &sn->sent[sk];
            size_t pa, pb;
            phrase_of(ri, ji, &pa, &pb);
            if (si == sk && jk >= pa && jk < pb)
                continue; /* one phrase of the window holds both */
            owners x, y, p, q;
            if (!read_owners(c, i, k, ri, ji, rk, jk, 1, &x, &y, &p, &q) &&
                !read_owners(c, i, k, ri, ji, rk, jk, 0, &x, &y, &p, &q))
                continue;
            if (!(common(&x, &q) > common(&x, &p) && common(&y, &p) > common(&y, &q)))
                continue;
            res->mark[i] = res->mark[k] = 1;
            res->rule = KIVO_RULE_EXCHANGE;
            res->sent = si;
            if (e->explain)
                kv_explain_add(e,
                               " exchange: %.*s and %.*s stand in each other's phrase in "
                               "window sentences %zu and %zu;",
                               (int)(c->t[i].end - c->t[i].start), c->text + c->t[i].start,
                               (int)(c->t[k].end - c->t[k].start), c->text + c->t[k].start, si + 1,
                               sk + 1);
            return 1;
        }
    }
    return 0;
}
