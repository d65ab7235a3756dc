/*
 * negation.c - polarity: the source negates what the claim asserts, or asserts what it denies.
 *
 * The claim's main clauses, and its conditions apart, are paired with the clause of each window
 * sentence that holds most of their words (a clause whose subject is a pronoun, "It does not
 * cover ...", also holds the words the sentences before it name). In that clause, a claim word
 * disagrees when the clause holds it only with the other polarity, read two ways that must both
 * disagree: word by word (the negations that reach it: a negation reaches from its cue to the
 * end of its clause or list) and clause by clause (whether its clause is negated at all). Word
 * by word alone misreads a subject moved by the passive ("Children under 12 must not be given
 * Calmora" against "Calmora must not be given to children under 12"); clause by clause alone
 * misreads an active subject, which stands before the negation and is not denied ("The return
 * policy covers unworn clothing" against "The return policy does not cover swimwear"). A word
 * also matches its antonym with the polarity turned ("isn't open on Sundays" / "closed on
 * Sundays") and its form with or without a negative prefix (align.c).
 *
 * "Water damage is covered by the 2-year warranty" against "It does not cover accidental
 * damage, water damage, or normal wear of batteries": water, damage and cover disagree. The
 * sentence contradicts the claim when
 * - it holds two claim words at least, and the words that disagree outnumber twice over those
 *   that agree inside the reach of a negation, exception or "unless" on either side;
 * - two words disagree, or one does and the claim has no word past it that the clause lacks
 *   ("The drone is waterproof" against "The drone is not waterproof"; but "covers unworn
 *   clothing" is about another object than "does not cover swimwear").
 * A condition read the other way round on both sides is no conflict: "fees are refunded if the
 * item arrived damaged" says what "fees are not refunded unless the item arrived damaged" says.
 */
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

/* 1 when claim token i repeats an earlier claim token's word. */
static int repeated(const kv_reading *c, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (c->t[k].h == c->t[i].h)
            return 1;
    return 0;
}

static int cond_kind(uint8_t k)
{
    return k == KV_CLAUSE_COND || k == KV_CLAUSE_UNLESS;
}

/* Where a claim word stands in its paired clause. */
typedef struct held {
    unsigned pol, cpol; /* 0: not held */
    int antonym;        /* held as its antonym: agrees or says nothing, never disagrees */
    int licensed;       /* held through the clause's pronoun subject */
} held;

static held hold(const kivo_engine *e, const kv_sense *sn, size_t s, size_t sc, size_t i,
                 int license)
{
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    held h = {0, 0, 0, 0};
    h.pol = kv_align_token(e, s, sc, i, c->a[i].absorbed, &h.cpol, &h.antonym);
    /* "Laptops are provided by the company, but monitors are not": the elliptic clause says
     * its subject with the clause before it. */
    if (!h.pol && license && sc + 1 < r->n_clauses && r->elliptic[sc + 1])
        h.pol = kv_align_token(e, s, sc + 1, i, c->a[i].absorbed, &h.cpol, &h.antonym);
    if (!h.pol && license && kv_pronoun_stands_for(sn, s, sc, i)) {
        /* The pronoun stands for it, as the clause's subject: before any negation. */
        h.pol = KV_POL_POS;
        h.cpol = r->clause_neg[sc] ? KV_POL_NEG : KV_POL_POS;
        h.licensed = 1;
    }
    return h;
}

/* 1 when the phrase of the claim's words before token i ends at i: a preposition opens an
 * adjunct ("refunds [for the unused part ...]", "refunded [within 30 days]"), or punctuation. */
static int phrase_ends(const kv_reading *c, size_t i)
{
    static const char *const preps[] = {"for",    "of",   "within", "in",     "on",
                                        "at",     "with", "from",   "during", "after",
                                        "before", "by",   "like",   "to",     NULL};
    if (i == 0)
        return 0;
    for (uint32_t q = c->t[i - 1].end; q < c->t[i].start; q++)
        if (c->text[q] == ',' || c->text[q] == ';' || c->text[q] == '.')
            return 1;
    return kv_text_in(c->text + c->t[i].start, c->t[i].end - c->t[i].start, preps);
}

/* 1 when clause sc of r (any clause: SIZE_MAX) holds a verb that denies what follows it:
 * "avoid", "prevent", "refrain", or "keep"/"stop" ... "from" ("keep the birds from nesting"). */
static int denies(const kv_reading *r, size_t sc)
{
    for (size_t j = 0; j < r->n; j++) {
        if (sc != SIZE_MAX && r->a[j].clause != sc)
            continue;
        if (r->a[j].cue & KV_CUE_NEG_VERB)
            return 1;
        const kv_token *t = &r->t[j];
        /* "making sure not to overfill it", "try not to": a negated infinitive says what to
         * avoid, as "avoid" does. */
        if (kv_text_is(r->text + t->start, t->end - t->start, "not") && j + 1 < r->n &&
            kv_text_is(r->text + r->t[j + 1].start, r->t[j + 1].end - r->t[j + 1].start, "to"))
            return 1;
        if (kv_text_is(r->text + t->start, t->end - t->start, "keep") ||
            kv_text_is(r->text + t->start, t->end - t->start, "keeps") ||
            kv_text_is(r->text + t->start, t->end - t->start, "stop") ||
            kv_text_is(r->text + t->start, t->end - t->start, "stops"))
            for (size_t k = j + 1; k < r->n && k <= j + 4; k++)
                if (kv_text_is(r->text + r->t[k].start, r->t[k].end - r->t[k].start, "from"))
                    return 1;
    }
    return 0;
}

#define SUBJECT_BACK 4 /* tokens before the predicate where its subject stands */

/* 1 when clause sc of r names, in the few words before claim word d (the predicate the two
 * disagree on), a subject the claim's clause cc does not: a run of capitalised words, outside an
 * exception, none of whose words the claim holds, and that does not modify a word the claim
 * holds ("the FEHA does not distinguish ..." for "the ADA distinguishes"; but "The Aero X2 drone
 * weighs" for "The drone does not weigh", "Norvik Outfitters accepts" for "Norvik does not"). */
static int other_subject(const kv_reading *c, size_t cc, const kv_reading *r, size_t sc, uint64_t d)
{
    size_t at = 0;
    while (at < r->n && !(r->a[at].clause == sc && r->t[at].h == d))
        at++;
    if (at == r->n)
        return 0;
    size_t j = at > SUBJECT_BACK ? at - SUBJECT_BACK : 0;
    while (j > 0 && (r->t[j].flags & KV_TF_CAP) && (r->t[j - 1].flags & KV_TF_CAP))
        j--; /* from the start of a name the window cuts into */
    for (; j < at; j++) {
        const kv_token *t = &r->t[j];
        if (r->a[j].clause != sc || t->kind != KV_TOK_WORD || !(t->flags & KV_TF_CAP) ||
            r->a[j].except)
            continue;
        size_t k = j;
        int held = 0;
        for (; k < at && (r->t[k].flags & KV_TF_CAP) && r->t[k].kind == KV_TOK_WORD; k++)
            for (size_t i = 0; i < c->n && !held; i++)
                held = c->a[i].clause == cc && c->t[i].h == r->t[k].h;
        /* A lone capital opening the sentence says nothing ("Common side effects"). */
        int lone = j == 0 && k == 1;
        int modifies = 0;
        for (size_t i = 0; k < at && i < c->n && !modifies; i++)
            modifies = c->a[i].clause == cc && c->t[i].h == r->t[k].h;
        if (!held && !lone && !modifies)
            return 1;
        j = k - 1 < j ? j : k - 1;
    }
    return 0;
}

/* The kind of clause sc of r. */
static uint8_t pair_kind(const kv_reading *r, size_t sc)
{
    for (size_t j = 0; j < r->n; j++)
        if (r->a[j].clause == sc)
            return r->a[j].kind;
    return KV_CLAUSE_MAIN;
}

/* The clause of window sentence s that holds most words of the claim's main clauses (cond 0) or
 * of its conditions (cond 1); a later one wins a tie. SIZE_MAX when none holds any. */
static size_t pair_clause(const kivo_engine *e, const kv_sense *sn, size_t s, int cond)
{
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    size_t best = SIZE_MAX, best_n = 0;
    for (size_t sc = 0; sc < r->n_clauses; sc++) {
        /* A condition is held against a condition: what the claim supposes ("If you don't
         * have X") is no statement about X. */
        if (cond && !cond_kind(pair_kind(r, sc)))
            continue;
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++)
            if (sn->match[i].content && cond_kind(c->a[i].kind) == cond && !repeated(c, i) &&
                hold(e, sn, s, sc, i, 0).pol)
                n++;
        if (n > 0 && n >= best_n) {
            best = sc;
            best_n = n;
        }
    }
    return best;
}

/* The token of clause cl of r that says "until" or "till", or r->n. */
static size_t until_at(const kv_reading *r, size_t cl)
{
    for (size_t j = 0; j < r->n; j++)
        if (r->a[j].clause == cl &&
            (kv_text_is(r->text + r->t[j].start, r->t[j].end - r->t[j].start, "until") ||
             kv_text_is(r->text + r->t[j].start, r->t[j].end - r->t[j].start, "till")))
            return j;
    return r->n;
}

/* "not ... until": clause.c reads the negation as about the time ("Do not add it until the
 * end" says to add it at the end), so it is left out of the clause's polarity. Both sides saying
 * "until", it is the act that one denies and the other asserts: "You do not keep access until
 * the end of the billing period" against "You keep access until the end of the billing period".
 * Fires when the claim's clause with "until" and its paired clause hold the same content words
 * (two at least, all of the claim's before "until") and one side's negation was set aside. */
static int until_turned(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    for (size_t cc = 0; cc < c->n_clauses; cc++) {
        size_t cu = until_at(c, cc);
        if (cu == c->n)
            continue;
        for (size_t s = 0; s < sn->n_sents; s++) {
            const kv_reading *r = &sn->sent[s];
            size_t sc = pair_clause(e, sn, s, cond_kind(c->a[cu].kind));
            if (sc == SIZE_MAX || until_at(r, sc) == r->n ||
                (c->until_neg[cc] == UINT16_MAX) == (r->until_neg[sc] == UINT16_MAX) ||
                c->clause_neg[cc] || r->clause_neg[sc])
                continue;
            size_t held_n = 0, missing = 0;
            for (size_t i = 0; i < c->n; i++) {
                if (c->a[i].clause != cc || !sn->match[i].content || repeated(c, i))
                    continue;
                if (hold(e, sn, s, sc, i, 1).pol)
                    held_n++;
                else if (i < cu)
                    missing++;
            }
            if (held_n < 2 || missing)
                continue;
            memset(res->mark, 0, c->n);
            if (c->until_neg[cc] != UINT16_MAX) {
                size_t k = c->until_neg[cc];
                res->mark[k] = 2;
                while (++k < cu && !sn->match[k].content)
                    ;
                if (k < cu)
                    res->mark[k] = 1;
            } else {
                size_t k = r->until_neg[sc];
                while (++k < r->n && r->t[k].kind == KV_TOK_STOP)
                    ;
                for (size_t i = 0; k < r->n && i < c->n; i++)
                    if (c->t[i].h == r->t[k].h) {
                        res->mark[i] = 1;
                        break;
                    }
            }
            res->rule = KIVO_RULE_NEGATION_SCOPE;
            res->sent = s;
            if (e->explain)
                kv_explain_add(e,
                               " negation_scope: window sentence %zu says the \"until\" "
                               "clause with the other polarity;",
                               s + 1);
            return 1;
        }
    }
    return 0;
}

/* 1 when another window sentence than s holds each claim word marked 1 with the claim's own
 * polarity in its paired clause: the window says both ("even where a man doesn't want to
 * become a father. Where a man does want to become a father, ..."), and the claim took one. */
static int agrees_elsewhere(const kivo_engine *e, const kv_sense *sn, size_t s, const uint8_t *mark,
                            size_t n_held)
{
    const kv_reading *c = &sn->claim;
    for (size_t s2 = 0; s2 < sn->n_sents; s2++) {
        if (s2 == s)
            continue;
        /* As much of the claim as s holds: "items can be refunded within 30 days" does not
         * speak for "Digital downloads and gift cards can be refunded" against "Digital
         * downloads and gift cards are not refundable". */
        size_t sc0 = pair_clause(e, sn, s2, 0), held2 = 0;
        for (size_t i = 0; i < c->n && sc0 != SIZE_MAX; i++)
            held2 += sn->match[i].content && !repeated(c, i) && !cond_kind(c->a[i].kind) &&
                     hold(e, sn, s2, sc0, i, 1).pol;
        if (held2 < n_held)
            continue;
        int all = 1, any = 0;
        for (size_t i = 0; i < c->n && all; i++) {
            if (mark[i] != 1)
                continue;
            int cond = cond_kind(c->a[i].kind);
            size_t sc = pair_clause(e, sn, s2, cond);
            int unless = c->a[i].kind == KV_CLAUSE_UNLESS;
            unsigned want = (c->a[i].neg ^ unless) ? KV_POL_NEG : KV_POL_POS;
            all = sc != SIZE_MAX && sn->sent[s2].until_neg[sc] == UINT16_MAX &&
                  (hold(e, sn, s2, sc, i, 1).pol & want);
            any = 1;
        }
        if (all && any)
            return 1;
    }
    return 0;
}

/* 1 when a polarity can differ between the claim and its window: one of them negates
 * something, or a claim word has a form with a negative prefix ("unworn") the window may hold.
 * Without that every word agrees, and the rule need not read the clauses. */
static int polarity_possible(const kivo_engine *e, const kv_sense *sn)
{
    const kv_reading *c = &sn->claim;
    if (c->polar)
        return 1;
    for (size_t s = 0; s < sn->n_sents; s++)
        if (sn->sent[s].polar)
            return 1;
    for (size_t i = 0; i < c->n; i++)
        if (sn->match[i].content && kv_align_word_alt(e, i))
            return 1;
    return 0;
}

/* 1 unless claim clause cc is elliptic ("..., while mixtures do not") and window sentence s's
 * clause sc, paired with it, lacks what the ellipsis leaves out: the predicate of the clause
 * before it (its content words past its first noun phrase, "[have] a fixed melting point" of
 * "Pure substances have a fixed melting point"), half of them at least. A clause that only names
 * the subject ("Mixtures melt over a range of temperatures") says something else of it. */
static int ellipsis_held(const kivo_engine *e, const kv_sense *sn, size_t s, size_t sc, size_t cc)
{
    const kv_reading *c = &sn->claim;
    if (cc == 0 || !c->elliptic[cc])
        return 1;
    /* An ellipsis ends on its auxiliary's "not" ("do not", "are not", "doesn't"); "costs you
     * nothing" has a predicate of its own. */
    size_t last = 0;
    for (size_t k = 0; k < c->n && c->a[k].clause <= cc; k++)
        last = k;
    const char *w = c->text + c->t[last].start;
    size_t len = c->t[last].end - c->t[last].start;
    int aux_not = (kv_text_is(w, len, "not") && last > 0 && c->a[last - 1].clause == cc &&
                   c->t[last - 1].kind == KV_TOK_STOP) ||
                  (len > 3 && (kv_text_is(w + len - 3, 3, "n't") ||
                               (len > 5 && !memcmp(w + len - 5, "n\xe2\x80\x99t", 5))));
    if (!aux_not)
        return 1;
    size_t i = 0, pred = 0, held_n = 0;
    while (i < c->n && c->a[i].clause < cc - 1)
        i++;
    while (i < c->n && c->a[i].clause == cc - 1 && c->t[i].kind == KV_TOK_STOP)
        i++;
    while (i < c->n && c->a[i].clause == cc - 1 && c->t[i].kind != KV_TOK_STOP)
        i++;
    for (; i < c->n && c->a[i].clause == cc - 1; i++) {
        if (!sn->match[i].content || repeated(c, i) || c->a[i].cue_tok)
            continue;
        pred++;
        held_n += hold(e, sn, s, sc, i, 1).pol != 0;
    }
    return 2 * held_n >= pred;
}

int kv_negation_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    if (!polarity_possible(e, sn))
        return 0;
    for (size_t s = 0; s < sn->n_sents; s++) {
        const kv_reading *r = &sn->sent[s];
        size_t pair[2] = {pair_clause(e, sn, s, 0), pair_clause(e, sn, s, 1)};
        size_t n_held = 0, agree_scoped = 0, disagree = 0, first_d = c->n;
        int d_main = 0, d_cond = 0, cond_turned = 0;
        uint8_t mark[KV_SENSE_MAX_TOKENS], in[KV_SENSE_MAX_TOKENS];
        memset(mark, 0, c->n);
        memset(in, 0, c->n);
        for (size_t i = 0; i < c->n; i++) {
            if (!sn->match[i].content || repeated(c, i))
                continue;
            int cond = cond_kind(c->a[i].kind);
            size_t pc = pair[cond];
            if (pc == SIZE_MAX || c->a[i].kind == KV_CLAUSE_QUESTION)
                continue;
            /* A negation "until" follows says when, not whether (until_turned). */
            if (r->until_neg[pc] != UINT16_MAX || c->until_neg[c->a[i].clause] != UINT16_MAX)
                continue;
            held h = hold(e, sn, s, pc, i, 1);
            if (!h.pol || pair_kind(r, pc) == KV_CLAUSE_QUESTION ||
                (!cond && !ellipsis_held(e, sn, s, pc, c->a[i].clause)))
                continue;
            in[i] = 1;
            n_held++;
            int unless = c->a[i].kind == KV_CLAUSE_UNLESS;
            int wn = c->a[i].neg ^ unless;
            int cn = c->clause_neg[c->a[i].clause] ^ c->a[i].except ^ unless;
            if (h.pol & (wn ? KV_POL_NEG : KV_POL_POS)) {
                if (c->a[i].scoped || (h.pol & (wn ? KV_POL_NEG_SCOPED : KV_POL_POS_SCOPED)))
                    agree_scoped++;
                continue;
            }
            if ((h.cpol & (cn ? KV_POL_NEG : KV_POL_POS)) || h.antonym)
                continue;
            /* A negation denies what follows it: a word that disagrees counts when it is what a
             * negation or exception is about, on one side or the other ("does not [cover water
             * damage]"), not when it only stands in its reach further on ("neither equality of
             * resources nor ... represents a principle of global justice"). */
            if (!c->a[i].target && !(h.pol & KV_POL_TARGET))
                continue;
            disagree++;
            mark[i] = 1;
            if (first_d == c->n)
                first_d = i;
            uint8_t sk = r->a[0].kind;
            for (size_t j = 0; j < r->n; j++)
                if (r->a[j].clause == pc) {
                    sk = r->a[j].kind;
                    break;
                }
            uint8_t ck = c->a[i].kind;
            if (cond_kind(ck) || cond_kind(sk)) {
                d_cond = 1;
                /* "if B" on one side, "unless B" on the other. */
                cond_turned |= (ck == KV_CLAUSE_UNLESS) != (sk == KV_CLAUSE_UNLESS);
            } else {
                d_main = 1;
            }
        }
        if (n_held < 2 || disagree == 0 || disagree < 2 * agree_scoped + 1)
            continue;
        /* "avoid", "prevent": a denial without a negation cue, on one side only; the two texts
         * may say one thing in two ways ("prevent federal agents from cutting" / "stop federal
         * agents from cutting"), so their polarity is not compared. */
        if (denies(c, SIZE_MAX) || denies(r, pair[0]))
            continue;
        /* The paired clause names a subject the claim's clause does not: it speaks of another
         * one ("the ADA distinguishes ..." against "Unlike the ADA, the FEHA does not ..."). */
        if (pair[0] != SIZE_MAX &&
            other_subject(c, c->a[first_d].clause, r, pair[0], c->t[first_d].h))
            continue;
        if (d_main && d_cond && cond_turned && agree_scoped == 0)
            continue;
        /* Claim words past the first that disagrees which the clause lacks: the claim may be
         * about another object ("covers unworn clothing" against "does not cover swimwear").
         * No more of them than words that disagree; for one, none in its phrase (an adjunct
         * after it, "refunded [within 30 days]", says when or how, not what). */
        size_t extra = 0;
        for (size_t i = first_d + 1; i < c->n && !(disagree == 1 && phrase_ends(c, i)); i++)
            extra +=
                sn->match[i].content && !in[i] && !repeated(c, i) && c->t[i].kind != KV_TOK_NUMBER;
        if (extra > disagree || (disagree == 1 && extra == 1))
            continue;
        /* One word that disagrees: the clause must hold all the claim's clause says but its
         * names and adjuncts ("The Aero X2 is a waterproof drone" against "The drone is not
         * waterproof"), else the claim may say something else of it ("a conception of global
         * justice that values equality", "monthly plans are not refunded" against "annual
         * plans ... receive a full refund"). */
        size_t other = 0;
        int past = 0;
        for (size_t i = 0; i < c->n && disagree == 1; i++) {
            past |= i > first_d && phrase_ends(c, i);
            other += !past && sn->match[i].content && !in[i] && !repeated(c, i) &&
                     c->a[i].clause == c->a[first_d].clause && c->t[i].kind == KV_TOK_WORD &&
                     ((i == 0 && !c->first_name) || !(c->t[i].flags & (KV_TF_CAP | KV_TF_CODE)));
        }
        if (other > 0)
            continue;
        /* The claim's own negations, in the clauses of the words that disagree. */
        for (size_t i = 0; i < c->n; i++)
            if ((c->t[i].flags & KV_TF_NEG) && c->a[i].cue_tok)
                for (size_t k = 0; k < c->n; k++)
                    if (mark[k] == 1 && c->a[k].clause == c->a[i].clause) {
                        mark[i] = 2;
                        break;
                    }
        if (agrees_elsewhere(e, sn, s, mark, n_held))
            continue;
        memcpy(res->mark, mark, c->n);
        res->rule = KIVO_RULE_NEGATION_SCOPE;
        res->sent = s;
        if (e->explain) {
            kv_explain_add(e,
                           " negation_scope: window sentence %zu holds with the other "
                           "polarity:",
                           s + 1);
            for (size_t i = 0; i < c->n; i++)
                if (mark[i] == 1)
                    kv_explain_add(e, " %.*s", (int)(c->t[i].end - c->t[i].start),
                                   c->text + c->t[i].start);
            kv_explain_add(e, " (%zu disagree, %zu agree in a negation's reach);", disagree,
                           agree_scoped);
        }
        return 1;
    }
    return until_turned(e, res);
}
