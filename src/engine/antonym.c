/*
 * antonym.c - a word for its antonym: "fell" where the source says "rose", "poorly tolerated"
 * where it says "well tolerated", "upheld the decision" where it says "reversed the decision".
 *
 * The claim's clause is paired with the clause of a window sentence that holds most of its words
 * (align.c), and that clause must hold nearly all of them: the claim copies the source's clause
 * but for one word. When the claim has a word the clause lacks and the clause has that word's
 * antonym in its place, both said the same way (neither or both negated: "isn't open" is
 * "closed"), the claim says the opposite of the source. Unlike opposite.c, which looks near the
 * word's neighbours in the whole window, this reads one clause: "Harlow's shares fell 4%"
 * against "Harlow's shares rose 4% on the news, while Pellis's shares fell 2%" pairs the claim
 * with the first clause, where "rose" stands. A relation said from its other side with its
 * arguments exchanged ("The Aero X1 is heavier than the X2" for "The X2 is lighter than the
 * Aero X1") is roles.c's, and is no conflict.
 *
 * The pairs are WordNet 3.0 direct antonyms (Princeton University, checked with `wn WORD
 * -antsn -antsv -antsa -antsr`), with the inflections and comparatives of their words, and these
 * added by hand, as WordNet lists them only as similar or not at all: gain/lose, profit/loss,
 * join/leave, start/end, uphold, affirm/reverse, violate/respect, protect, over/under,
 * charge/waive, allow/forbid, well/poorly, common/rare, approve/reject, add/remove.
 */
#include <stdlib.h>
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

#define ANTONYM_WORDS 20
#define ANTONYM_HELD 7 /* tenths of the claim clause's other words the source clause holds */

static const char *const pairs[][2][ANTONYM_WORDS] = {
    /* Change in amount: rise, increase and gain against fall, decrease and lose. */
    {{"rise", "rose", "risen", "rises", "climb", "climbed", "increase", "increased", "increases",
      "grow", "grew", "grows", "raise", "raised", "gain", "gains", "gained"},
     {"fall", "fell", "fallen", "falls", "drop", "dropped", "decrease", "decreased", "decreases",
      "decline", "declined", "shrink", "shrank", "lower", "lowered", "lose", "loses", "lost",
      "loss"}},
    {{"profit", "profits"}, {"loss", "losses"}},
    {{"win", "wins", "won", "victory"}, {"lose", "loses", "lost", "loss", "defeat"}},
    {{"join", "joins", "joined"}, {"leave", "leaves", "left", "quit"}},
    {{"open", "opens", "opened", "keep"}, {"close", "closes", "closed", "shut"}},
    {{"first"}, {"last", "final"}},
    {{"early", "earlier", "earliest"}, {"late", "later", "latest"}},
    {{"start", "beginning", "begin", "begins"}, {"end", "ends"}},
    {{"large", "larger", "big", "bigger", "great", "greater"},
     {"small", "smaller", "little", "tiny"}},
    {{"hard", "harder", "firm"}, {"soft", "softer"}},
    {{"uphold", "upheld", "affirm", "affirmed"}, {"reverse", "reversed", "overturn", "overturned"}},
    {{"violate", "violated", "breach", "breached"},
     {"respect", "respected", "protect", "protected", "uphold", "upheld", "obey", "obeyed"}},
    {{"above", "over"}, {"below", "under"}},
    {{"praise", "praised", "commend", "commended"},
     {"criticize", "criticized", "criticise", "criticised", "condemn", "condemned"}},
    {{"heavy", "heavier", "heaviest"}, {"light", "lighter", "lightest"}},
    {{"more"}, {"less", "fewer"}},
    /* "weighs more than" is not "lighter than": a bare "more" or "less" (before "than" or at
     * its clause's end, bare() below) against a comparative of the other side. */
    {{"more"}, {"lighter", "smaller", "lower", "shorter", "younger", "cheaper", "fewer", "less"}},
    {{"heavier", "larger", "bigger", "greater", "higher", "longer", "older", "more"},
     {"less", "fewer"}},
    {{"old", "older", "oldest"}, {"young", "younger", "youngest"}},
    {{"charge", "charged", "charges"}, {"waive", "waived", "waives"}},
    {{"same", "identical"}, {"different"}},
    {{"original"}, {"new"}},
    {{"accept", "accepted", "approve", "approved"},
     {"reject", "rejected", "refuse", "refused", "deny", "denied"}},
    {{"allow", "allowed", "permit", "permitted"},
     {"forbid", "forbidden", "prohibit", "prohibited", "ban", "banned"}},
    {{"include", "included", "includes"}, {"exclude", "excluded", "excludes"}},
    {{"buy", "bought", "purchase"}, {"sell", "sold"}},
    {{"import", "imports"}, {"export", "exports"}},
    {{"enter", "entered"}, {"exit", "exited"}},
    {{"arrive", "arrived"}, {"depart", "departed"}},
    {{"maximum"}, {"minimum"}},
    {{"positive"}, {"negative"}},
    {{"true", "correct"}, {"false", "incorrect", "wrong"}},
    {{"safe"}, {"dangerous", "unsafe"}},
    {{"hot", "warm"}, {"cold", "cool"}},
    {{"wet"}, {"dry"}},
    {{"full"}, {"empty"}},
    {{"high", "higher", "highest"}, {"low", "lower", "lowest"}},
    {{"long", "longer", "longest"}, {"short", "shorter", "shortest"}},
    {{"fast", "faster", "fastest", "quick"}, {"slow", "slower", "slowest"}},
    {{"strong", "stronger"}, {"weak", "weaker"}},
    {{"easy", "easier"}, {"difficult", "hard", "harder"}},
    {{"cheap", "cheaper", "inexpensive"}, {"expensive", "pricey"}},
    {{"good", "better", "best", "well"}, {"bad", "worse", "worst", "poorly", "badly"}},
    {{"success", "succeed", "succeeded", "pass", "passed"}, {"failure", "fail", "failed"}},
    {{"guilty", "convicted"}, {"innocent", "acquitted"}},
    {{"legal", "lawful"}, {"illegal", "unlawful"}},
    {{"alive", "survived"}, {"dead", "died"}},
    {{"common", "frequent", "usual"}, {"rare", "rarer", "uncommon", "infrequent", "unusual"}},
    {{"north", "northern"}, {"south", "southern"}},
    {{"east", "eastern"}, {"west", "western"}},
    {{"mother"}, {"father"}},
    {{"son", "sons"}, {"daughter", "daughters"}},
    {{"husband"}, {"wife"}},
    {{"brother"}, {"sister"}},
    {{"male"}, {"female"}},
    {{"add", "added"}, {"remove", "removed", "subtract"}},
    {{"present"}, {"absent"}},
    {{"public"}, {"private"}},
    {{"inside", "indoor", "indoors", "internal"}, {"outside", "outdoor", "outdoors", "external"}},
    {{"top", "upper"}, {"bottom"}},
    {{"front"}, {"back", "rear"}},
    {{"rich", "wealthy"}, {"poor"}},
    {{"wide", "wider"}, {"narrow", "narrower"}},
    {{"thick", "thicker"}, {"thin", "thinner"}},
    {{"deep", "deeper"}, {"shallow"}},
};

#define N_PAIRS (sizeof pairs / sizeof pairs[0])

typedef struct kv_antonym antonym_entry;
struct kv_antonym {
    uint64_t h;
    uint16_t group; /* 1-based */
    uint8_t side;
};

static int cmp_entry(const void *a, const void *b)
{
    const antonym_entry *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

kivo_status kv_antonyms_build(kivo_engine *e)
{
    antonym_entry *v = malloc(N_PAIRS * 2 * ANTONYM_WORDS * sizeof *v);
    size_t n = 0;
    if (!v)
        return KIVO_ENOMEM;
    for (size_t g = 0; g < N_PAIRS; g++)
        for (int side = 0; side < 2; side++)
            for (size_t k = 0; k < ANTONYM_WORDS && pairs[g][side][k]; k++) {
                const char *w = pairs[g][side][k];
                v[n].h = kv_lexicon_word_hash(e->lx, w, strlen(w));
                v[n].group = (uint16_t)(g + 1);
                v[n].side = (uint8_t)side;
                n++;
            }
    qsort(v, n, sizeof *v, cmp_entry);
    e->antonyms = v;
    e->n_antonyms = n;
    for (size_t i = 0; i < n; i++)
        kv_hfilter_add(&e->antonym_filter, v[i].h);
    return KIVO_OK;
}

/* The first entry of the table for hash h, or e->n_antonyms. */
static size_t first_of(const kivo_engine *e, uint64_t h)
{
    const antonym_entry *v = e->antonyms;
    size_t lo = 0, hi = e->n_antonyms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int kv_antonym_known(const kivo_engine *e, uint64_t h)
{
    if (!kv_hfilter_may(&e->antonym_filter, h))
        return 0;
    size_t i = first_of(e, h);
    return i < e->n_antonyms && e->antonyms[i].h == h;
}

int kv_antonym_pair(const kivo_engine *e, uint64_t a, uint64_t b)
{
    const antonym_entry *v = e->antonyms;
    if (a == b || !e->n_antonyms || !kv_hfilter_may(&e->antonym_filter, a) ||
        !kv_hfilter_may(&e->antonym_filter, b))
        return 0;
    for (size_t i = first_of(e, a); i < e->n_antonyms && v[i].h == a; i++)
        for (size_t j = first_of(e, b); j < e->n_antonyms && v[j].h == b; j++)
            if (v[i].group == v[j].group && v[i].side != v[j].side)
                return 1;
    return 0;
}

/* 1 when words a and b stand on one side of an antonym group ("sell", "sold"). */
static int same_side(const kivo_engine *e, uint64_t a, uint64_t b)
{
    const antonym_entry *v = e->antonyms;
    if (a == b)
        return 1;
    for (size_t i = first_of(e, a); i < e->n_antonyms && v[i].h == a; i++)
        for (size_t j = first_of(e, b); j < e->n_antonyms && v[j].h == b; j++)
            if (v[i].group == v[j].group && v[i].side == v[j].side)
                return 1;
    return 0;
}

/* 1 unless token i of r is a "more", "less" or "fewer" that comes before a word it grades
 * ("more common", "fewer tablets"): bare, before "than" or at its clause's end, it is the
 * comparative of its verb ("weighs more than"). */
static int bare(const kv_reading *r, size_t i)
{
    const char *w = r->text + r->t[i].start;
    size_t len = r->t[i].end - r->t[i].start;
    if (!kv_text_is(w, len, "more") && !kv_text_is(w, len, "less") && !kv_text_is(w, len, "fewer"))
        return 1;
    if (i + 1 == r->n || r->a[i + 1].clause != r->a[i].clause)
        return 1;
    for (uint32_t q = r->t[i].end; q < r->t[i + 1].start; q++)
        if (r->text[q] == ',' || r->text[q] == '.' || r->text[q] == ';')
            return 1;
    const kv_token *n = &r->t[i + 1];
    return kv_text_is(r->text + n->start, n->end - n->start, "than");
}

/* 1 when clause sc of window sentence s holds claim token i: the word itself, or a pronoun
 * subject standing for it ("It is closed on Sundays" after "The library is open ..."). */
static int held_in(const kv_sense *sn, size_t s, size_t sc, size_t i)
{
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    /* (A content word the sentence lacks has no match there: align.c found none.) */
    if (sn->match[i].at[s] >= 0)
        for (size_t j = 0; j < r->n; j++)
            if (r->a[j].clause == sc && r->t[j].h == c->t[i].h)
                return 1;
    return kv_pronoun_stands_for(sn, s, sc, i);
}

int kv_antonym_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    if (res->converse)
        return 0;
    /* Only a claim word the table knows can be said for its antonym: the clauses that hold
     * one are read, by bit. */
    uint32_t known = 0;
    uint8_t kt[KV_SENSE_MAX_TOKENS];
    for (size_t i = 0; i < c->n; i++) {
        kt[i] = (uint8_t)kv_antonym_known(e, c->t[i].h);
        if (kt[i])
            known |= 1u << c->a[i].clause;
    }
    if (!known)
        return 0;
    for (size_t s = 0; s < sn->n_sents; s++) {
        const kv_reading *r = &sn->sent[s];
        for (size_t cc = 0; cc < c->n_clauses; cc++) {
            if (!(known >> cc & 1u))
                continue;
            /* Each clause of r that holds nearly all of claim clause cc's words, all but the
             * one in question at least (a clause shared with another subject, "while Pellis's
             * shares fell 2%", is read too). */
            for (size_t sc = 0; sc < r->n_clauses; sc++) {
                size_t held = 0, words = 0;
                for (size_t i = 0; i < c->n; i++) {
                    if (c->a[i].clause != cc || c->t[i].kind == KV_TOK_STOP)
                        continue;
                    words++;
                    held += (size_t)held_in(sn, s, sc, i);
                }
                if (words < 2 || held == 0 || held * 10 < (words - 1) * ANTONYM_HELD)
                    continue;
                for (size_t i = 0; i < c->n; i++) {
                    /* A condition restates what it supposes: "If your body fat is too high" is
                     * no claim against "a low body fat". */
                    if (!kt[i] || c->a[i].clause != cc || c->a[i].cue_tok ||
                        c->a[i].kind == KV_CLAUSE_COND || c->a[i].kind == KV_CLAUSE_UNLESS ||
                        c->a[i].kind == KV_CLAUSE_QUESTION || !bare(c, i))
                        continue;
                    int in = 0;
                    for (size_t j = 0; j < r->n && !in; j++)
                        in = r->a[j].clause == sc && r->t[j].h == c->t[i].h;
                    if (in)
                        continue;
                    for (size_t j = 0; j < r->n; j++) {
                        if (r->a[j].clause != sc || !bare(r, j) ||
                            !kv_antonym_pair(e, c->t[i].h, r->t[j].h))
                            continue;
                        /* Said the same way: "isn't open" agrees with "closed". */
                        if ((c->a[i].neg ^ c->a[i].absorbed) != (r->a[j].neg ^ r->a[j].absorbed))
                            continue;
                        /* The claim has the source's word, or one of its side ("buy ... sell"
                         * for "sold"): it speaks of both, not of one for the other. */
                        int both = 0;
                        for (size_t k = 0; k < c->n && !both; k++)
                            both = c->t[k].h == r->t[j].h || same_side(e, c->t[k].h, r->t[j].h);
                        if (both)
                            continue;
                        res->mark[i] = 1;
                        res->rule = KIVO_RULE_ANTONYM;
                        res->sent = s;
                        if (e->explain)
                            kv_explain_add(
                                e,
                                " antonym: window sentence %zu says %.*s where "
                                "the claim says %.*s;",
                                s + 1, (int)(r->t[j].end - r->t[j].start), r->text + r->t[j].start,
                                (int)(c->t[i].end - c->t[i].start), c->text + c->t[i].start);
                        return 1;
                    }
                }
            }
        }
    }
    return 0;
}
