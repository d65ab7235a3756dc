/*
 * clause.c - one sentence read for the sentence layer (sense_int.h): its clauses, the reach of
 * each negation, exception and condition, the bound on each number, and each clause's modal
 * force.
 *
 * - A clause ends at '.', ';', ':', '!' or '?', before a clause opener (but, while, because,
 *   which, if, unless, before, after ...; cues.c), and at ", and" / ", or" when a subject
 *   follows (", and it"). A subordinate clause put first ("If X, Y", "Before X, Y") ends at its
 *   first comma. Commas alone do not end a clause: "does not cover A, B, or C" negates the
 *   whole list.
 * - A negation cue (not, no, never, n't, without ...) reaches from itself to the end of its
 *   clause; two in one clause cancel ("not unlike" is read in align.c, through the prefix). In a
 *   passive clause ("are not covered by the policy") it also reaches back over the subject, and
 *   not into the agent after "by". A negation right before a bound ("not more than 6", "cannot
 *   exceed 50%") is the bound's, not the clause's: the number is at most 6.
 * - "except X", "other than X", "apart from X" put X (up to the next verb-like function word,
 *   three content words at most) on the other side of its clause's polarity.
 * - "unless B" opens a clause read as "if not B".
 */
#include <string.h>

#include "sense_int.h"

#define EXCEPT_WORDS 3 /* content words an exception phrase holds at most */
#define BOUND_BACK 3   /* tokens before a number where its bound words stand */
#define NEG_TO_BOUND 3 /* tokens from a negation to a bound it turns ("do not take more") */
#define MODAL_NEG 2    /* tokens between a modal and a negation that turns it */
#define DOUBLE_NEG 3   /* tokens between two negations that cancel ("not unlike") */

static inline __attribute__((always_inline)) int is(const char *text, const kv_token *t,
                                                    const char *w)
{
    return kv_text_is(text + t->start, t->end - t->start, w);
}

/* 1 when the bytes between tokens a and b hold a clause-ending mark. A period before a word in
 * lower case, or after a lone letter before a name, closes an abbreviation ("4 p.m. and on
 * Saturday", "approx. 5", "J. Smith"), as the segmenter reads it, not a clause. */
static int hard_break(const char *text, const kv_token *a, const kv_token *b)
{
    for (uint32_t i = a->end; i < b->start; i++) {
        char c = text[i];
        if (c == ';' || c == ':' || c == '!' || c == '?')
            return 1;
        if (c == '.' && !(text[b->start] >= 'a' && text[b->start] <= 'z') &&
            (a->end - a->start > 1 || (b->kind == KV_TOK_STOP && (b->flags & KV_TF_CAP))))
            return 1; /* "4 p.m. It is closed": an abbreviation ends a sentence too */
    }
    return 0;
}

/* (A loop, not memchr: the bytes between two tokens are mostly one space.) */
static int comma_between(const char *text, const kv_token *a, const kv_token *b)
{
    for (uint32_t i = a->end; i < b->start; i++)
        if (text[i] == ',')
            return 1;
    return 0;
}

/* Marks (mtarget) the verb and objects of a modal from token k: the content words up to a
 * preposition or conjunction past the first of them, or a clause opener. After an adjective
 * only what follows "to" counts ("required to renew", not "required for new hires"). */
static void mark_object(const char *text, const kv_token *t, kv_ann *a, size_t k, size_t end,
                        int adjective)
{
    if (adjective) {
        if (!(k < end && is(text, &t[k], "to")))
            return;
        k++;
    }
    int words = 0;
    for (; k < end; k++) {
        if (t[k].kind != KV_TOK_STOP) {
            a[k].mtarget = words == 0 && !adjective ? MT_VERB : MT_ARG;
            words++;
            continue;
        }
        if (words > 0 && !(a[k].cue & KV_CUE_DET))
            break;
    }
}

/* 1 when content token t is written as one of the modal adjectives and verbs. */
static int modal_word(const char *text, const kv_token *t)
{
    static const char *const words[] = {
        "required",  "mandatory", "compulsory", "obligatory", "obligated", "obliged", "optional",
        "voluntary", "allowed",   "permitted",  "prohibited", "forbidden", "banned",  "disallowed",
        "need",      "needs",     "needed",     "must",       "mustn't",   "needn't", NULL};
    for (size_t k = 0; words[k]; k++)
        if (is(text, t, words[k]))
            return 1;
    return 0;
}

/* 1 when token t is a word in -ing ("listing", "making"). */
static int gerund(const char *text, const kv_token *t)
{
    size_t len = t->end - t->start;
    return t->kind == KV_TOK_WORD && len > 5 && kv_text_is(text + t->end - 3, 3, "ing");
}

/* 1 when token t is a verb that asks ("check if", "see if", "ask if"). */
static int asks(const char *text, const kv_token *t)
{
    static const char *const verbs[] = {
        "check", "see",    "ask",    "asks",    "asked", "know", "determine", "find", "verify",
        "test",  "wonder", "decide", "confirm", "learn", "tell", "unsure",    NULL};
    for (size_t k = 0; verbs[k]; k++)
        if (is(text, t, verbs[k]))
            return 1;
    return 0;
}

/* A past participle, as far as its spelling says: -ed, -en, or a common irregular one. */
static int participle(const char *text, const kv_token *t)
{
    static const char *const irregular[] = {
        "paid",  "sold",  "made",   "held",   "led",     "won",    "lost",   "kept",
        "left",  "told",  "found",  "sent",   "brought", "bought", "caught", "thought",
        "done",  "run",   "set",    "put",    "cut",     "hit",    "read",   "spent",
        "met",   "built", "shut",   "struck", "sworn",   "hung",   "fed",    "heard",
        "meant", "shot",  "sought", "taught", "won",     NULL};
    size_t len = t->end - t->start;
    const char *w = text + t->start;
    if (len >= 4 &&
        ((w[len - 2] == 'e' && w[len - 1] == 'd') || (w[len - 2] == 'e' && w[len - 1] == 'n')))
        return 1;
    return kv_text_in(w, len, irregular);
}

/* The bound words before a number at token i ("up to", "at least", "more than", "within"). */
static int bound_before(const char *text, const kv_token *t, size_t first, size_t i)
{
    const kv_token *p1 = i >= first + 1 ? &t[i - 1] : NULL;
    const kv_token *p2 = i >= first + 2 ? &t[i - 2] : NULL;
    const kv_token *p3 = i >= first + 3 ? &t[i - 3] : NULL;
    if (p2 && is(text, p1, "to") && is(text, p2, "up"))
        return KV_BOUND_UP_INCL;
    if (p2 && is(text, p2, "at") && is(text, p1, "most"))
        return KV_BOUND_UP_INCL;
    if (p2 && is(text, p2, "at") && is(text, p1, "least"))
        return KV_BOUND_LO_INCL;
    if (p1 && is(text, p1, "than") && p2) {
        int neg = p3 && (p3->flags & KV_TF_NEG);
        static const char *const up[] = {"more",   "greater", "longer", "older", "higher",
                                         "larger", "heavier", "later",  NULL};
        static const char *const down[] = {"less",    "fewer",   "shorter", "younger", "lower",
                                           "smaller", "lighter", "earlier", NULL};
        for (size_t k = 0; up[k]; k++) {
            if (is(text, p2, up[k]))
                return neg ? KV_BOUND_UP_INCL : KV_BOUND_LO_STRICT;
            if (is(text, p2, down[k]))
                return neg ? KV_BOUND_LO_INCL : KV_BOUND_UP_STRICT;
        }
    }
    if (p2 && is(text, p1, "of") && (is(text, p2, "maximum") || is(text, p2, "max")))
        return KV_BOUND_UP_INCL;
    if (p2 && is(text, p1, "of") && is(text, p2, "minimum"))
        return KV_BOUND_LO_INCL;
    if (!p1)
        return KV_BOUND_EXACT;
    if (is(text, p1, "within") || is(text, p1, "maximum") || is(text, p1, "max"))
        return KV_BOUND_UP_INCL;
    if (is(text, p1, "under") || is(text, p1, "below") || is(text, p1, "before"))
        return KV_BOUND_UP_STRICT;
    if (is(text, p1, "over") || is(text, p1, "above") || is(text, p1, "beyond") ||
        is(text, p1, "exceed") || is(text, p1, "exceeds") || is(text, p1, "exceeding") ||
        is(text, p1, "after"))
        return KV_BOUND_LO_STRICT;
    if (is(text, p1, "minimum"))
        return KV_BOUND_LO_INCL;
    return KV_BOUND_EXACT;
}

/* The bound words after a number at token i ("6 or more", "10 or fewer"), past its unit. */
static int bound_after(const char *text, const kv_token *t, size_t n, size_t i)
{
    for (size_t k = i + 1; k + 1 < n && k <= i + 2; k++) {
        if (!is(text, &t[k], "or"))
            continue;
        if (is(text, &t[k + 1], "more") || is(text, &t[k + 1], "longer"))
            return KV_BOUND_LO_INCL;
        if (is(text, &t[k + 1], "less") || is(text, &t[k + 1], "fewer"))
            return KV_BOUND_UP_INCL;
    }
    return KV_BOUND_EXACT;
}

/* The bound that "not" turns it into: not(<= N) is > N, not(< N) is >= N, and so on. */
static uint8_t negate_bound(uint8_t b)
{
    switch (b) {
    case KV_BOUND_UP_INCL: return KV_BOUND_LO_STRICT;
    case KV_BOUND_UP_STRICT: return KV_BOUND_LO_INCL;
    case KV_BOUND_LO_INCL: return KV_BOUND_UP_STRICT;
    case KV_BOUND_LO_STRICT: return KV_BOUND_UP_INCL;
    default: return b;
    }
}

/* Whether the negation cue at token c is spent on a bound right after it ("not more than 6",
 * "cannot exceed 50%", "not within 30 days", "do not take more than 6"): the number is then
 * bounded the other way (not more than 6 is at most 6), and the clause is not negated. */
static int bound_negation(const char *text, const kv_token *t, size_t c, size_t end, kv_ann *a)
{
    for (size_t j = c + 1; j < end && j <= c + NEG_TO_BOUND + 2; j++) {
        if (t[j].kind != KV_TOK_NUMBER)
            continue;
        int b = bound_before(text, t, c + 1, j);
        if (b == KV_BOUND_EXACT)
            return 0;
        a[j].bound = negate_bound((uint8_t)b);
        return 1;
    }
    return 0;
}

static int modal_word(const char *text, const kv_token *t);
static int gerund(const char *text, const kv_token *t);
static void mark_object(const char *text, const kv_token *t, kv_ann *a, size_t k, size_t end,
                        int adjective);

/* Reads the modal force of clause [first, end) into r->modal[cl]. @return the negation the
 * modal spent when it turns the modal rather than what the clause says ("need not", "don't
 * have to", "not required", "not optional"), else end. */
static size_t read_modal(const char *text, const kv_token *t, size_t first, size_t end, size_t cl,
                         kv_reading *r)
{
    kv_ann *a = r->a;
    for (size_t i = first; i < end; i++) {
        uint32_t c = a[i].cue;
        int have_to =
            (is(text, &t[i], "have") || is(text, &t[i], "has") || is(text, &t[i], "had")) &&
            i + 1 < end && is(text, &t[i + 1], "to");
        if (!(c & (KV_CUE_POSSIBLE | KV_CUE_NECESSARY | KV_CUE_OPTIONAL | KV_CUE_PROHIBIT)) &&
            !have_to)
            continue;
        /* Content words among the modals are read by their spelling: the stem of "optional"
         * is the noun "option"'s, the stem of "required" the noun "requirement"'s. */
        if (t[i].kind == KV_TOK_WORD && !have_to && !modal_word(text, &t[i]))
            continue;
        /* "need" is a modal before "to" or next to a negation ("need not", "don't need a
         * card"), not as a noun or participle ("the need", "proteins needed for ..."). */
        if (is(text, &t[i], "need") || is(text, &t[i], "needs") || is(text, &t[i], "needed")) {
            int neg_near = (i > first && (t[i - 1].flags & KV_TF_NEG)) ||
                           (i > first + 1 && (t[i - 2].flags & KV_TF_NEG)) ||
                           (i + 1 < end && (t[i + 1].flags & KV_TF_NEG));
            if (is(text, &t[i], "needed") ||
                (!(i + 1 < end && is(text, &t[i + 1], "to")) && !neg_near &&
                 !(i > first && is(text, &t[i - 1], "you"))))
                continue;
        }
        int neg = (t[i].flags & KV_TF_NEG) != 0;
        size_t lo = i >= first + MODAL_NEG ? i - MODAL_NEG : first, negat = end;
        for (size_t k = lo; k < end && k <= i + MODAL_NEG && !neg; k++) {
            neg = k != i && (t[k].flags & KV_TF_NEG) && !(is(text, &t[k], "without"));
            if (neg)
                negat = k;
        }
        uint8_t m;
        /* "may not be", "might not": it may be that not, not a refusal. */
        if (neg && (is(text, &t[i], "might") ||
                    (is(text, &t[i], "may") && negat + 1 < end && (a[negat + 1].cue & KV_CUE_BE))))
            continue;
        if (c & KV_CUE_POSSIBLE)
            m = neg || is(text, &t[i], "unable") ? KV_MODAL_IMPOSSIBLE : KV_MODAL_POSSIBLE;
        else if (have_to || (c & KV_CUE_WEAK_NEC))
            m = neg ? KV_MODAL_OPTIONAL : KV_MODAL_NECESSARY;
        else if (c & KV_CUE_NECESSARY)
            m = neg || is(text, &t[i], "mustn't") || is(text, &t[i], "shouldn't")
                    ? KV_MODAL_IMPOSSIBLE
                    : KV_MODAL_NECESSARY;
        else if (c & KV_CUE_OPTIONAL)
            m = neg ? KV_MODAL_NECESSARY : KV_MODAL_OPTIONAL;
        else
            m = neg ? KV_MODAL_POSSIBLE : KV_MODAL_IMPOSSIBLE;
        r->modal[cl] = m;
        r->modal_tok[cl] = (uint16_t)i;
        r->modal_strict[cl] = (uint8_t)(have_to || is(text, &t[i], "must") ||
                                        is(text, &t[i], "mustn't") || is(text, &t[i], "shall") ||
                                        ((c & KV_CUE_WEAK_NEC) && !is(text, &t[i], "need") &&
                                         !is(text, &t[i], "needs")));
        a[i].cue_tok = 1;
        /* What the modal is about: the verb and objects after an auxiliary ("must [include the
         * original receipt]", "can [cause damage]"); after an adjective, its subject ("[the
         * original receipt] is optional") and what follows "to" ("required to [renew]"). */
        int adjective = t[i].kind == KV_TOK_WORD && !have_to;
        /* A passive after an auxiliary is about its subject too: "[the soup] can be frozen",
         * "[Calmora] must not be given to children". */
        size_t v = i + 1 + (size_t)have_to;
        while (v < end && (t[v].flags & KV_TF_NEG))
            v++;
        int passive = !adjective && v + 1 < end && (a[v].cue & KV_CUE_BE) &&
                      is(text, &t[v], "be") && participle(text, &t[v + 1]);
        /* "need" with an object ("do not need [security training]") is about the object. */
        int need_obj = (is(text, &t[i], "need") || is(text, &t[i], "needs")) &&
                       !(i + 1 < end && is(text, &t[i + 1], "to"));
        if ((adjective && !need_obj) || passive)
            for (size_t q = first; q < i; q++)
                a[q].mtarget = t[q].kind != KV_TOK_STOP ? MT_ARG : 0;
        if (need_obj) {
            for (size_t q = i + 1; q < end && (t[q].kind != KV_TOK_STOP || (a[q].cue & KV_CUE_DET));
                 q++)
                a[q].mtarget = t[q].kind != KV_TOK_STOP ? MT_ARG : 0;
        } else {
            mark_object(text, t, a, i + 1 + (size_t)have_to, end, adjective);
        }
        /* "need not", "not required": optional, and what the clause says is not denied. */
        int weak = have_to || (c & (KV_CUE_WEAK_NEC | KV_CUE_OPTIONAL));
        return weak && !(c & KV_CUE_POSSIBLE) ? negat : end;
    }
    return end;
}

/* Marks what the negation at cue is about: the first word after it and the words that follow
 * it in one phrase or list, joined by determiners, "and", "or" and commas only: "does not
 * [cover accidental damage, water damage, or normal wear] of batteries", "charges no
 * [restocking fee]". A preposition ends the phrase ("does not [align] with the plate"). */
static void mark_targets(const char *text, const kv_token *t, kv_ann *a, size_t cue, size_t end)
{
    int words = 0;
    for (size_t k = cue + 1; k < end; k++) {
        if (k > cue + 1) {
            int stop = 0;
            for (uint32_t q = t[k - 1].end; q < t[k].start && !stop; q++)
                stop = text[q] == '.' || text[q] == ';' || text[q] == ':' || text[q] == '(';
            if (stop)
                break;
        }
        if (t[k].kind != KV_TOK_STOP) {
            a[k].target = 1;
            words++;
            continue;
        }
        if (words > 0 && !(a[k].cue & KV_CUE_DET) && !is(text, &t[k], "and") &&
            !is(text, &t[k], "or"))
            break;
    }
}

/* 1 when token t is an adjective or adverb negated by "un-" ("unusual", "unlike", "unlikely"),
 * as far as its spelling says: "un" and four letters more, not one of the common words that
 * only begin so. */
static int un_word(const char *text, const kv_token *t)
{
    static const char *const not_prefixed[] = {
        "under",      "until",      "unit",       "united",  "union",      "unique",
        "universal",  "universe",   "university", "uniform", "unify",      "unanimous",
        "understand", "understood", "undertake",  "undergo", "underlying", "underneath",
        "units",      "unions",     "unity",      "unless",  "unto",       NULL};
    size_t len = t->end - t->start;
    const char *w = text + t->start;
    if (len < 6 || (w[0] | 0x20) != 'u' || (w[1] | 0x20) != 'n')
        return 0;
    for (size_t k = 0; k < len; k++)
        if (!((w[k] | 0x20) >= 'a' && (w[k] | 0x20) <= 'z'))
            return 0;
    for (size_t k = 0; not_prefixed[k]; k++) {
        size_t n = strlen(not_prefixed[k]);
        if (len >= n && kv_text_is(w, n, not_prefixed[k]))
            return 0;
    }
    return 1;
}

/* An instruction: the clause opens with a verb followed by what it acts on ("Take the tablets",
 * "Store the tablets", "Heat two tablespoons"), or with "Do not", "Don't", "Never". */
static int imperative_at(const char *text, const kv_token *t, size_t i, size_t end, const kv_ann *a)
{
    if (i < end && (is(text, &t[i], "please")))
        i++;
    if (i + 1 >= end)
        return KV_MODAL_NONE;
    if ((is(text, &t[i], "do") && (t[i + 1].flags & KV_TF_NEG)) || is(text, &t[i], "don't") ||
        is(text, &t[i], "never")) {
        /* "Do not add it until the end" says when to, not whether to. */
        for (size_t k = i + 1; k < end; k++)
            if (is(text, &t[k], "until") || is(text, &t[k], "till"))
                return KV_MODAL_NONE;
        return KV_MODAL_IMPOSSIBLE;
    }
    if (t[i].kind == KV_TOK_WORD && !(t[i].flags & KV_TF_CODE) &&
        ((a[i + 1].cue & KV_CUE_DET) || t[i + 1].kind == KV_TOK_NUMBER) &&
        !(a[i + 1].cue & KV_CUE_SUBJECT && !(a[i + 1].cue & KV_CUE_DET)))
        return KV_MODAL_NECESSARY;
    return KV_MODAL_NONE;
}

void kv_clause_read(const kivo_engine *e, const char *text, const kv_token *t, size_t n,
                    kv_reading *r)
{
    kv_ann *a = r->a;
    r->text = text;
    r->t = t;
    r->n = n;
    r->n_clauses = 0;
    r->imperative = 0;
    memset(a, 0, n * sizeof *a);
    uint64_t hashes = 0;
    for (size_t i = 0; i < n; i++) {
        a[i].cue = kv_cues_of(e, t[i].h);
        hashes |= kv_hash_bit(t[i].h);
    }
    r->hashes = hashes;
    /* A verb that can open a condition ("provided", "assuming") opens one before "that" or a
     * subject ("provided that ...", "provided you keep the receipt"), not as a verb ("The
     * company provides monitors", "are provided by"). The cue is the stem's: "provides" too. */
    for (size_t i = 0; i < n; i++)
        if ((a[i].cue & KV_CUE_COND) && t[i].kind == KV_TOK_WORD &&
            !((is(text, &t[i], "provided") || is(text, &t[i], "providing") ||
               is(text, &t[i], "assuming") || is(text, &t[i], "supposing")) &&
              i + 1 < n &&
              (is(text, &t[i + 1], "that") ||
               (kv_cues_of(e, t[i + 1].h) & (KV_CUE_SUBJECT | KV_CUE_DET)) == KV_CUE_SUBJECT) &&
              !(i > 0 && (a[i - 1].cue & KV_CUE_BE))))
            a[i].cue &= ~(uint32_t)KV_CUE_COND;

    /* Clauses: [start[c], start[c + 1]). */
    size_t start[KV_SENSE_MAX_CLAUSES + 1];
    uint8_t kind[KV_SENSE_MAX_CLAUSES];
    size_t nc = 0;
    int fronted = 0; /* the open clause is a subordinate one put first: a comma ends it */
    start[0] = 0;
    kind[0] = KV_CLAUSE_MAIN;
    nc = 1;
    if (n > 0 && (a[0].cue & (KV_CUE_COND | KV_CUE_UNLESS | KV_CUE_ORDER | KV_CUE_BREAK))) {
        kind[0] = (a[0].cue & KV_CUE_COND)     ? KV_CLAUSE_COND
                  : (a[0].cue & KV_CUE_UNLESS) ? KV_CLAUSE_UNLESS
                                               : KV_CLAUSE_SUB;
        fronted = 1;
    }
    for (size_t i = 1; i < n && nc < KV_SENSE_MAX_CLAUSES; i++) {
        uint32_t c = a[i].cue;
        int hard = hard_break(text, &t[i - 1], &t[i]), brk = hard, comma = 0;
        uint8_t k = KV_CLAUSE_MAIN;
        int opener = ((c & (KV_CUE_BREAK | KV_CUE_COND | KV_CUE_UNLESS)) &&
                      !(is(text, &t[i], "but") && i + 1 < n && is(text, &t[i + 1], "not"))) ||
                     ((c & KV_CUE_ORDER) && t[i].kind == KV_TOK_STOP &&
                      !(i + 1 < n && t[i + 1].kind == KV_TOK_NUMBER));
        /* "even if", "only if": the condition starts at "if". */
        if (opener && !brk) {
            k = (c & KV_CUE_COND)     ? KV_CLAUSE_COND
                : (c & KV_CUE_UNLESS) ? KV_CLAUSE_UNLESS
                                      : KV_CLAUSE_SUB;
            /* "Check if X", "see whether X", "asks why X": a question about X, not a condition
             * or a claim. */
            if ((is(text, &t[i], "if") && asks(text, &t[i - 1])) || is(text, &t[i], "whether") ||
                is(text, &t[i], "why") || is(text, &t[i], "how"))
                k = KV_CLAUSE_QUESTION;
            /* "which" and "who" right after a comma-less noun still open a clause. */
            brk = 1;
        } else if (!brk && (comma = comma_between(text, &t[i - 1], &t[i])) && gerund(text, &t[i]) &&
                   !fronted) {
            /* ", listing them as ...": a participle's clause, with a subject of its own. */
            brk = 1;
            k = KV_CLAUSE_SUB;
        } else if (!brk && comma) {
            if (fronted && kind[nc - 1] != KV_CLAUSE_MAIN) {
                brk = 1;
                fronted = 0;
            } else if ((is(text, &t[i], "and") || is(text, &t[i], "or")) && i + 1 < n &&
                       (a[i + 1].cue & KV_CUE_SUBJECT) && !(a[i + 1].cue & KV_CUE_DET)) {
                brk = 1;
            }
        } else if (brk) {
            fronted = 0;
        }
        if (!brk)
            continue;
        if (hard && (c & (KV_CUE_COND | KV_CUE_UNLESS | KV_CUE_ORDER | KV_CUE_BREAK))) {
            k = (c & KV_CUE_COND)     ? KV_CLAUSE_COND
                : (c & KV_CUE_UNLESS) ? KV_CLAUSE_UNLESS
                                      : KV_CLAUSE_SUB;
            fronted = 1;
        }
        start[nc] = i;
        kind[nc] = k;
        nc++;
    }
    start[nc] = n;
    r->n_clauses = nc;

    for (size_t cl = 0; cl < nc; cl++) {
        size_t first = start[cl], end = start[cl + 1];
        r->modal[cl] = KV_MODAL_NONE;
        r->modal_tok[cl] = UINT16_MAX;
        r->modal_strict[cl] = 0;
        r->elliptic[cl] = 0;
        r->until_neg[cl] = UINT16_MAX;
        int parity = 0, scoped = 0;
        size_t first_cue = end, last_cue = end;
        for (size_t i = first; i < end; i++)
            a[i].clause = (uint8_t)cl;
        size_t modal_neg = read_modal(text, t, first, end, cl, r);
        for (size_t i = first; i < end; i++) {
            a[i].clause = (uint8_t)cl;
            a[i].kind = kind[cl];
            if (kind[cl] == KV_CLAUSE_UNLESS) {
                a[i].scoped = 1;
                a[i].target = t[i].kind != KV_TOK_STOP;
            }
            /* "but not X" names an exception (read below), not a clause of its own. */
            int but_not = i > first && is(text, &t[i - 1], "but") && is(text, &t[i], "not");
            int absorbed = 0;
            /* "not unlike", "not an uncommon", "never unkind": the two negations cancel. The
             * un- word must be what the negation is about: right after it, or after an article
             * or a degree word, not an object past the verb ("do not include unlimited data"). */
            for (size_t k = i + 1; (t[i].flags & KV_TF_NEG) && k < end && k <= i + 2; k++) {
                if (un_word(text, &t[k])) {
                    a[k].absorbed = 1;
                    absorbed = 1;
                    break;
                }
                if (!(a[k].cue & KV_CUE_DET) && !is(text, &t[k], "so") &&
                    !is(text, &t[k], "very") && !is(text, &t[k], "entirely") &&
                    !is(text, &t[k], "completely") && !is(text, &t[k], "totally"))
                    break;
            }
            int cue = (t[i].flags & KV_TF_NEG) != 0;
            if (cue && !but_not && !absorbed && i != modal_neg &&
                !(i + 1 < end && is(text, &t[i + 1], "only")) &&
                !bound_negation(text, t, i, end, a)) {
                /* "Do not add it until the end": the negation is about the time, not the act. */
                int until = 0;
                for (size_t k = i + 1; k < end && !until; k++)
                    until = is(text, &t[k], "until") || is(text, &t[k], "till");
                if (until && r->until_neg[cl] == UINT16_MAX)
                    r->until_neg[cl] = (uint16_t)i;
                if (!until) {
                    /* A second negation close to the first cancels it ("not without", "never
                     * fails to"); a later one in the same clause repeats it ("isn't eligible,
                     * and underwear cannot be returned either"). */
                    if (last_cue < end && i <= last_cue + DOUBLE_NEG)
                        parity ^= 1;
                    else
                        parity = 1;
                    scoped = 1;
                    a[i].cue_tok = 1;
                    if (first_cue == end)
                        first_cue = i;
                    last_cue = i;
                    mark_targets(text, t, a, i, end);
                }
            }
            a[i].neg = (uint8_t)parity;
            a[i].scoped |= (uint8_t)scoped;
        }
        r->clause_neg[cl] = (uint8_t)parity;
        /* A negation that ends its clause leaves out the rest of what it denies: "Laptops are
         * provided, but monitors are not" denies the whole clause, its subject too. */
        if (last_cue < end) {
            /* Only words that close a sentence may follow it ("either", "too", "anymore"). */
            int after = 0;
            for (size_t i = last_cue + 1; i < end && !after; i++)
                after = !is(text, &t[i], "either") && !is(text, &t[i], "too") &&
                        !is(text, &t[i], "anymore") && !is(text, &t[i], "yet") &&
                        !is(text, &t[i], "so") && !is(text, &t[i], "though");
            if (!after) {
                for (size_t i = first; i < last_cue; i++) {
                    a[i].neg = (uint8_t)parity;
                    a[i].scoped = 1;
                    a[i].target = t[i].kind != KV_TOK_STOP;
                }
                r->elliptic[cl] = 1;
            }
        }
        /* A passive clause with a negation: the negation covers its subject too, and not the
         * agent after "by" ("Swimwear is not covered by the policy"). */
        if (first_cue < end) {
            size_t be = end, part = end, by = end;
            for (size_t i = first; i < end && be == end; i++)
                if ((a[i].cue & KV_CUE_BE) && i <= first_cue + 1)
                    be = i;
            for (size_t i = be + 1; be < end && i < end && i <= be + 3 && part == end; i++)
                if (t[i].kind == KV_TOK_WORD && participle(text, &t[i]))
                    part = i;
            for (size_t i = part + 1; part < end && i < end && i <= part + 3 && by == end; i++)
                if (a[i].cue & KV_CUE_BY)
                    by = i;
            if (by < end) {
                for (size_t i = first; i < first_cue; i++) {
                    a[i].neg ^= 1;
                    a[i].scoped = 1;
                }
                for (size_t i = by; i < end; i++) {
                    a[i].neg ^= 1;
                    a[i].scoped = 0;
                }
            }
        }
        /* Exceptions: "except X", "other than X", "apart from X", "aside from X". */
        for (size_t i = first; i < end; i++) {
            int ex = (a[i].cue & KV_CUE_EXCEPT) != 0 ||
                     (i > first && is(text, &t[i - 1], "but") && is(text, &t[i], "not"));
            if (!ex && i + 1 < end &&
                ((is(text, &t[i], "other") && is(text, &t[i + 1], "than")) ||
                 (is(text, &t[i], "rather") && is(text, &t[i + 1], "than")) ||
                 (is(text, &t[i], "instead") && is(text, &t[i + 1], "of")) ||
                 ((is(text, &t[i], "apart") || is(text, &t[i], "aside")) &&
                  is(text, &t[i + 1], "from")))) {
                ex = 1;
                i++;
            }
            if (!ex)
                continue;
            a[i].cue_tok = 1;
            size_t words = 0;
            for (size_t k = i + 1; k < end && words < EXCEPT_WORDS; k++) {
                if (comma_between(text, &t[k - 1], &t[k]) && words > 0)
                    break;
                if (t[k].kind == KV_TOK_STOP) {
                    /* Before the phrase's first word, prepositions ("except on Sundays", "but
                     * not on the sides"); in it, determiners, "and", "or", "of", "for", "by",
                     * "from". Another function word (can, are, will, to ...) ends it. */
                    if (words == 0 && !(a[k].cue & (KV_CUE_BE | KV_CUE_POSSIBLE | KV_CUE_NECESSARY |
                                                    KV_CUE_SUBJECT)))
                        continue;
                    if (!(a[k].cue & KV_CUE_DET) && !is(text, &t[k], "and") &&
                        !is(text, &t[k], "or") && !is(text, &t[k], "of") &&
                        !is(text, &t[k], "for") && !is(text, &t[k], "by") &&
                        !is(text, &t[k], "from") && !is(text, &t[k], "those"))
                        break;
                    continue;
                }
                a[k].except = 1;
                a[k].neg = (uint8_t)!r->clause_neg[cl];
                a[k].scoped = 1;
                a[k].target = 1;
                words++;
            }
        }
        if (r->modal[cl] == KV_MODAL_NONE &&
            (cl == 0 ||
             (kind[cl] == KV_CLAUSE_MAIN && comma_between(text, &t[first - 1], &t[first])))) {
            int m = imperative_at(text, t, first, end, a);
            if (m != KV_MODAL_NONE && !(cl == 0 && kind[0] != KV_CLAUSE_MAIN)) {
                r->modal[cl] = (uint8_t)m;
                r->modal_tok[cl] = (uint16_t)first;
                r->imperative = 1;
                a[first].mtarget = MT_VERB;
                mark_object(text, t, a, first + 1, end, 0);
            }
        }
    }

    r->polar = 0;
    for (size_t i = 0; i < n && !r->polar; i++)
        r->polar = a[i].neg || a[i].kind == KV_CLAUSE_UNLESS;
    for (size_t cl = 0; cl < nc && !r->polar; cl++)
        r->polar = r->until_neg[cl] != UINT16_MAX;

    /* Bounds on numbers. A bound inside a negation's reach turns ("not within 30 days"). */
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind != KV_TOK_NUMBER || a[i].bound)
            continue;
        size_t first = start[a[i].clause];
        int b = bound_before(text, t, first, i);
        if (b == KV_BOUND_EXACT)
            b = bound_after(text, t, n, i);
        a[i].bound = (uint8_t)b;
    }
}
