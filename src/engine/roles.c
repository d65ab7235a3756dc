/*
 * roles.c - who did what to whom: the arguments of a relation on the other sides of it.
 *
 * A pivot is a word the claim and a window sentence both hold once that relates what stands on
 * its two sides: a verb ("acquired"), "than" after a comparative, an order word (before, after,
 * then), or a pair of converse words (beat / lost to, bought / sold, above / below; cues.c).
 * The claim's other words take a side of the pivot in each text: the left (the agent, what comes
 * first, what is more) or the right. In a passive clause the agent is the phrase after "by"
 * ("Pellis Data was acquired by Harlow Systems" puts Harlow on the left), and an order word put
 * first takes its own clause on the right ("Before adding the garlic, cook the onion" is "cook
 * the onion before adding the garlic").
 *
 * When words moved from left to right and others from right to left, the claim exchanged the
 * arguments: a contradiction ("Pellis Data acquired Harlow Systems"), unless the pivots are
 * converse ("Ravi Anand won two years before Marsh did" says what "Marsh won two years after
 * Anand" says), in which case the claim keeps the arguments in place only when it contradicts
 * ("Marsh won two years before Anand"). Pivots with no direction (married, met, merged,
 * versus) and nouns in a genitive ("Harlow's chief executive" / "the chief executive of
 * Harlow") are not read.
 */
#include <pthread.h>
#include <string.h>

#include "kivo/explain.h"
#include "sense_int.h"

#define COMPARATIVE_BACK 4 /* tokens from "than" back to its comparative */
#define PASSIVE_BE 3       /* tokens from "is"/"was" to the participle */
#define PASSIVE_BY 4       /* tokens from the participle to "by" */
#define ROLE_HELD 6        /* tenths of the claim's words a sentence must hold to be read */

enum { LEFT = 0, RIGHT = 1, NONE = -1 };
enum { PIVOT_WORD = 1, PIVOT_ORDER, PIVOT_THAN, PIVOT_CONVERSE };

static inline __attribute__((always_inline)) int is(const char *text, const kv_token *t,
                                                    const char *w)
{
    return kv_text_is(text + t->start, t->end - t->start, w);
}

/* 1 when a number follows token i: "before 2 p.m." is a bound, not an order of events. */
static int number_next(const kv_reading *r, size_t i)
{
    return i + 1 < r->n && r->t[i + 1].kind == KV_TOK_NUMBER;
}

/* 1 when token i of r is "than" after "later" or "earlier": "X opens later than Y" orders X
 * after Y as "X opens after Y" does. */
static int order_than(const kv_reading *r, size_t i)
{
    return (r->a[i].cue & KV_CUE_THAN) && i > 0 &&
           (is(r->text, &r->t[i - 1], "later") || is(r->text, &r->t[i - 1], "earlier"));
}

static int order_word(const kv_reading *r, size_t i)
{
    return ((r->a[i].cue & KV_CUE_ORDER) && r->t[i].kind == KV_TOK_STOP && !number_next(r, i)) ||
           (order_than(r, i) && !number_next(r, i));
}

/* 1 when order word i of r puts its left side after its right one (after, later than). */
static int order_after(const kv_reading *r, size_t i)
{
    if (order_than(r, i))
        return is(r->text, &r->t[i - 1], "later");
    return (r->a[i].cue & KV_CUE_AFTER) != 0;
}

static size_t passive_agent(const kv_reading *r, size_t p, size_t *be);
static int participle_like(const kv_reading *r, size_t i);
static int past_like(const kv_reading *r, size_t i);

/* Not a finite verb: a noun in a genitive, after a determiner or a preposition ("Harlow's
 * chief executive", "the acquisition of Pellis", "for outages"), whose arguments change places
 * freely; an infinitive or a gerund ("to charge", "Fully charging"), whose subject is not
 * written; a participle after "is"/"was" with no "by" agent ("are not charged late fees"),
 * whose subject may be any of its objects. */
static int nominal(const kv_reading *r, size_t i)
{
    static const char *const preps[] = {"for",  "of",   "to",    "in",   "on", "at",
                                        "with", "from", "about", "into", "by", NULL};
    if (i > 0 && (r->a[i - 1].cue & KV_CUE_DET))
        return 1;
    if (i > 0 &&
        kv_text_in(r->text + r->t[i - 1].start, r->t[i - 1].end - r->t[i - 1].start, preps))
        return 1;
    const kv_token *t = &r->t[i];
    size_t len = t->end - t->start;
    const char *w = r->text + t->start;
    if (len > 4 && kv_text_is(w + len - 3, 3, "ing") && !(i > 0 && (r->a[i - 1].cue & KV_CUE_BE)))
        return 1;
    size_t be = r->n;
    if (i > 0 && participle_like(r, i) && passive_agent(r, i, &be) == r->n)
        for (size_t k = i; k > 0 && i - k < PASSIVE_BE; k--)
            if (r->a[k - 1].cue & KV_CUE_BE)
                return 1;
    if (i + 1 < r->n && is(r->text, &r->t[i + 1], "of"))
        return 1;
    if (i > 0) {
        const kv_token *p = &r->t[i - 1];
        const char *e = r->text + p->end;
        if ((e[0] == '\'' && (e[1] | 0x20) == 's') || (unsigned char)e[0] == 0xE2)
            return 1;
    }
    return 0;
}

/* A list of words (lower-case, NULL-terminated) with, by length, the first letters its words
 * have (made once, sign_sets): a word no entry fits is passed without walking the list. */
#define SET_LENS 16
typedef struct word_set {
    const char *const *words;
    uint32_t first[SET_LENS]; /* by length: bit c - 'a' for each first letter c */
    int any;                  /* a word is SET_LENS long or more, or opens with no a-z letter */
} word_set;

static const char *const participle_words[] = {
    "paid",  "sold", "made",    "held",   "led",    "won",  "lost",  "kept", "left", "told",
    "found", "sent", "brought", "bought", "caught", "done", "built", "met",  NULL};
static const char *const past_words[] = {
    "wrote",   "written", "won",    "beat",  "beaten",   "led",   "bought", "sold",
    "made",    "held",    "gave",   "given", "took",     "taken", "paid",   "sent",
    "brought", "caught",  "told",   "found", "left",     "lost",  "hit",    "struck",
    "met",     "chose",   "chosen", "drove", "overtook", "sued",  NULL};
static word_set participle_set = {participle_words, {0}, 0}, past_set = {past_words, {0}, 0};
static pthread_once_t sets_once = PTHREAD_ONCE_INIT;

static void sign(word_set *ws)
{
    for (size_t k = 0; ws->words[k]; k++) {
        size_t len = strlen(ws->words[k]);
        char c = ws->words[k][0];
        if (len < SET_LENS && c >= 'a' && c <= 'z')
            ws->first[len] |= 1u << (c - 'a');
        else
            ws->any = 1;
    }
}

static void sign_sets(void)
{
    sign(&participle_set);
    sign(&past_set);
}

/* kv_text_in(w, len, ws->words). */
static int in_set(const char *w, size_t len, const word_set *ws)
{
    if (!ws->any) {
        if (len == 0 || len >= SET_LENS)
            return 0;
        const char c = w[0] >= 'A' && w[0] <= 'Z' ? (char)(w[0] | 0x20) : w[0];
        if (c < 'a' || c > 'z' || !(ws->first[len] >> (c - 'a') & 1u))
            return 0;
    }
    return kv_text_in(w, len, ws->words);
}

/* An -ed or -en word, or one of the common irregular participles. */
static int participle_like(const kv_reading *r, size_t i)
{
    const kv_token *t = &r->t[i];
    size_t len = t->end - t->start;
    const char *w = r->text + t->start;
    if (len >= 4 && (w[len - 2] | 0x20) == 'e' &&
        ((w[len - 1] | 0x20) == 'd' || (w[len - 1] | 0x20) == 'n'))
        return 1;
    return in_set(w, len, &participle_set);
}

/* A verb in the past tense or a participle, as its spelling says: -ed, or an irregular past. */
static int past_like(const kv_reading *r, size_t i)
{
    const kv_token *t = &r->t[i];
    size_t len = t->end - t->start;
    const char *w = r->text + t->start;
    if (len >= 4 && (w[len - 2] | 0x20) == 'e' && (w[len - 1] | 0x20) == 'd')
        return 1;
    return in_set(w, len, &past_set);
}

/* Where the passive clause of participle p has its agent: the token after "by", or r->n. The
 * subject stands before *be. */
static size_t passive_agent(const kv_reading *r, size_t p, size_t *be)
{
    size_t cl = r->a[p].clause, b = r->n;
    if (!participle_like(r, p))
        return r->n;
    for (size_t k = p; k > 0 && p - k < PASSIVE_BE; k--)
        if ((r->a[k - 1].cue & KV_CUE_BE) && r->a[k - 1].clause == cl) {
            b = k - 1;
            break;
        }
    if (b == r->n)
        return r->n;
    for (size_t k = p + 1; k < r->n && k <= p + PASSIVE_BY && r->a[k].clause == cl; k++)
        if (r->a[k].cue & KV_CUE_BY) {
            /* "reduced by half", "rose by 4%": a measure, not an agent. */
            if (k + 1 < r->n &&
                (r->t[k + 1].kind == KV_TOK_NUMBER || is(r->text, &r->t[k + 1], "half") ||
                 is(r->text, &r->t[k + 1], "far") || is(r->text, &r->t[k + 1], "much")))
                return r->n;
            *be = b;
            return k + 1;
        }
    return r->n;
}

/* The side of token k about pivot p of reading r. */
static int side_of(const kv_reading *r, size_t p, int kind, size_t k)
{
    if (k == p)
        return NONE;
    size_t cl = r->a[p].clause;
    if (kind == PIVOT_ORDER) {
        /* "Before X, Y": X, the order word's own clause, is the right side. */
        int fronted = cl == 0 && r->a[p].kind != KV_CLAUSE_MAIN;
        for (size_t j = 0; j < p && fronted; j++)
            fronted = r->t[j].kind == KV_TOK_STOP;
        if (fronted)
            return r->a[k].clause == cl ? RIGHT : LEFT;
        return k < p ? LEFT : RIGHT;
    }
    if (kind == PIVOT_WORD || kind == PIVOT_CONVERSE) {
        if (r->a[k].clause != cl)
            return NONE;
        size_t be = r->n, agent = passive_agent(r, p, &be);
        if (agent < r->n) {
            if (k >= agent)
                return LEFT;
            return k < be ? RIGHT : NONE;
        }
    }
    return k < p ? LEFT : RIGHT;
}

/* The comparative before "than" at p (within COMPARATIVE_BACK), or r->n. */
static size_t comparative(const kv_reading *r, size_t p)
{
    for (size_t k = p; k > 0 && p - k < COMPARATIVE_BACK; k--)
        if (KV_CUE_CONVERSE(r->a[k - 1].cue))
            return k - 1;
    return r->n;
}

/* 1 when claim word i stands once in c and once in r: a pivot candidate of kind PIVOT_WORD. */
static size_t once_in(const kv_reading *r, uint64_t h)
{
    size_t at = r->n, n = 0;
    for (size_t j = 0; j < r->n; j++)
        if (r->t[j].h == h) {
            at = j;
            n++;
        }
    return n == 1 ? at : r->n;
}

/* The side of claim word w in r about pivot p: LEFT, RIGHT, or NONE when r does not hold it on
 * one side only. */
static int word_side(const kv_reading *r, size_t p, int kind, uint64_t w)
{
    int side = NONE;
    for (size_t j = 0; j < r->n; j++) {
        if (r->t[j].h != w)
            continue;
        int sd = side_of(r, p, kind, j);
        if (sd == NONE)
            continue;
        if (side != NONE && side != sd)
            return NONE;
        side = sd;
    }
    return side;
}

typedef struct moves {
    int lr, rl, ll, rr;
    int named;            /* a name or a number moved: arguments, not a verb's adjuncts */
    int still_named;      /* a name or a number stayed on its side */
    int still_l, still_r; /* ... on the left, on the right */
} moves;

static moves compare(const kv_sense *sn, size_t s, size_t i, size_t j, int kind, uint8_t *mark)
{
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    moves m = {0, 0, 0, 0, 0, 0, 0, 0};
    int still_l = 0, still_r = 0;
    for (size_t k = 0; k < c->n; k++) {
        if (k == i || !sn->match[k].content || sn->match[k].at[s] < 0 || c->a[k].cue_tok)
            continue;
        if (KV_CUE_CONVERSE(c->a[k].cue) && kind == PIVOT_THAN)
            continue;
        int dup = 0;
        for (size_t q = 0; q < c->n && !dup; q++)
            dup = q != k && c->t[q].h == c->t[k].h;
        if (dup)
            continue;
        int a = side_of(c, i, kind, k), b = word_side(r, j, kind, c->t[k].h);
        if (a == NONE || b == NONE)
            continue;
        int named = c->t[k].kind == KV_TOK_NUMBER || (c->t[k].flags & (KV_TF_CAP | KV_TF_CODE));
        if (a == LEFT && b == RIGHT) {
            m.lr = 1;
            m.named |= named;
            mark[k] = 1;
        } else if (a == RIGHT && b == LEFT) {
            m.rl = 1;
            m.named |= named;
            mark[k] = 1;
        } else if (a == LEFT) {
            m.ll = 1;
            still_l |= named;
        } else {
            m.rr = 1;
            still_r |= named;
        }
    }
    m.still_named = still_l || still_r;
    m.still_l = still_l;
    m.still_r = still_r;
    return m;
}

/* Whether the pivots i (claim) and j (sentence) of kind are converse: the relation read from
 * its other side. */
static int converse(const kivo_engine *e, const kv_reading *c, size_t i, const kv_reading *r,
                    size_t j, int kind, size_t *ci)
{
    *ci = i;
    if (kind == PIVOT_ORDER)
        return order_after(c, i) != order_after(r, j);
    if (kind == PIVOT_CONVERSE)
        return KV_CUE_SIDE(c->a[i].cue) != KV_CUE_SIDE(r->a[j].cue);
    if (kind == PIVOT_THAN) {
        size_t a = comparative(c, i), b = comparative(r, j);
        if (a == c->n || b == r->n)
            return 0;
        *ci = a;
        return (KV_CUE_CONVERSE(c->a[a].cue) == KV_CUE_CONVERSE(r->a[b].cue) &&
                KV_CUE_SIDE(c->a[a].cue) != KV_CUE_SIDE(r->a[b].cue)) ||
               kv_opposite_pair(e, c->t[a].h, r->t[b].h);
    }
    return 0;
}

static int judge(kivo_engine *e, kv_sense_result *res, size_t s, size_t i, size_t j, int kind)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    if ((c->a[i].cue & KV_CUE_SYMMETRIC) || (r->a[j].cue & KV_CUE_SYMMETRIC))
        return 0;
    uint8_t mark[KV_SENSE_MAX_TOKENS];
    memset(mark, 0, c->n);
    moves m = compare(sn, s, i, j, kind, mark);
    size_t ci;
    int conv = converse(e, c, i, r, j, kind, &ci);
    if (conv && m.lr && m.rl) {
        res->converse = 1;
        return 0;
    }
    /* A verb's arguments must move with a name or number among them: around a verb, words
     * move freely ("Fully charging the battery takes" / "The battery takes ... to charge
     * fully"); around "than" and order words, what moves is compared or ordered. */
    int swapped = m.lr && m.rl && (m.named || kind == PIVOT_THAN || kind == PIVOT_ORDER);
    if (!conv && swapped) {
        memcpy(res->mark, mark, c->n);
    } else if (conv && !m.lr && !m.rl && m.ll && m.rr &&
               (kind == PIVOT_ORDER || (kind == PIVOT_THAN && m.still_named) ||
                (m.still_l && m.still_r))) {
        res->mark[ci] = 1;
    } else {
        return 0;
    }
    res->rule = KIVO_RULE_ROLE;
    res->sent = s;
    if (e->explain)
        kv_explain_add(e, " role: around %.*s the claim puts window sentence %zu's arguments %s;",
                       (int)(c->t[i].end - c->t[i].start), c->text + c->t[i].start, s + 1,
                       conv ? "where its converse needs them exchanged" : "on the other sides");
    return 1;
}

/* 1 when reading r holds a token with cue bits `cue`. */
static int has_cue(const kv_reading *r, uint32_t cue)
{
    for (size_t j = 0; j < r->n; j++)
        if (r->a[j].cue & cue)
            return 1;
    return 0;
}

int kv_roles_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    pthread_once(&sets_once, sign_sets);
    size_t terms = 0;
    for (size_t i = 0; i < c->n; i++)
        terms += sn->match[i].content;
    for (size_t s = 0; s < sn->n_sents; s++) {
        const kv_reading *r = &sn->sent[s];
        /* The sentence must be about what the claim is about. */
        size_t held = 0;
        for (size_t i = 0; i < c->n; i++)
            held += sn->match[i].content && sn->match[i].at[s] >= 0;
        if (held * 10 < terms * ROLE_HELD)
            continue;
        /* With a comparative on both sides, "than" decides, not the verb before it. */
        int than = has_cue(c, KV_CUE_THAN) && has_cue(r, KV_CUE_THAN);
        for (size_t i = 0; i < c->n; i++) {
            const kv_token *t = &c->t[i];
            if (order_word(c, i)) {
                /* One order word on each side: a list of steps ("then ..., then ...") has no
                 * single pair of events to compare. */
                size_t j = r->n, nr = 0, nc = 0;
                for (size_t k = 0; k < r->n; k++)
                    if (order_word(r, k)) {
                        j = k;
                        nr++;
                    }
                for (size_t k = 0; k < c->n; k++)
                    nc += order_word(c, k);
                if (nr == 1 && nc == 1 && judge(e, res, s, i, j, PIVOT_ORDER))
                    return 1;
                continue;
            }
            if (c->a[i].cue & KV_CUE_THAN) {
                for (size_t j = 0; j < r->n; j++)
                    if ((r->a[j].cue & KV_CUE_THAN) && judge(e, res, s, i, j, PIVOT_THAN))
                        return 1;
                continue;
            }
            if (t->kind == KV_TOK_NUMBER)
                continue;
            uint32_t g = KV_CUE_CONVERSE(c->a[i].cue);
            if (g && !is(c->text, t, "more") && !is(c->text, t, "less")) {
                int done = 0;
                for (size_t j = 0; j < r->n && !done && !nominal(c, i); j++)
                    if (KV_CUE_CONVERSE(r->a[j].cue) == g && r->t[j].kind != KV_TOK_NUMBER &&
                        !nominal(r, j) && !(r->a[j + 1 < r->n ? j + 1 : j].cue & KV_CUE_THAN) &&
                        !(i + 1 < c->n && (c->a[i + 1].cue & KV_CUE_THAN))) {
                        if (judge(e, res, s, i, j, PIVOT_CONVERSE))
                            return 1;
                        done = 1;
                    }
                if (done)
                    continue;
            }
            if (t->kind != KV_TOK_WORD)
                continue;
            /* A verb in the past both texts hold once, not a name, not a noun: the tense shows
             * it is a verb, where spelling alone cannot tell "the race" from "they race". */
            if ((t->flags & (KV_TF_CAP | KV_TF_CODE)) || !past_like(c, i) ||
                once_in(c, t->h) != i || nominal(c, i))
                continue;
            size_t j = once_in(r, t->h);
            if (j == r->n || nominal(r, j) || (r->t[j].flags & KV_TF_CAP) || than)
                continue;
            if (judge(e, res, s, i, j, PIVOT_WORD))
                return 1;
        }
    }
    return 0;
}
