/*
 * sense_int.h - the claim engine's sentence layer: what a claim says against what its best
 * evidence says, beyond which words they share.
 *
 * Once a claim's best window is known, the claim and the window's sentences are read the same
 * way (clause.c): each token gets its polarity (negation scope up to the clause or list end),
 * the kind of clause it stands in (main, "if", "unless", an "except" phrase, before/after), and
 * each number its bound ("up to", "at least"). align.c finds each claim word in each window
 * sentence. The rules, one file each, then compare the two readings:
 *
 *   negation.c    polarity: the source negates what the claim asserts, or the reverse
 *   roles.c       argument order around a shared verb, comparative or before/after
 *   quantifier.c  all/every against "only" or against an exception; bounds on numbers
 *   modality.c    may / must / must not / optional
 *   antonym.c     a word for its antonym in the clause the claim copies
 *   swap.c        a name, number or unit in the slot where the source has another one
 *
 * The first rule that fires decides (sense.c), marks the claim words that carry the conflict,
 * and the claim is contradicted. Lexicons are in cues.c. Everything here works on one claim and
 * one window (at most KV_SENSE_MAX_TOKENS claim tokens, KV_SENSE_MAX_WINDOW window tokens; more
 * are not read), so its cost is bounded per claim.
 */
#ifndef KIVO_SENSE_INT_H
#define KIVO_SENSE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_int.h"

#define KV_SENSE_MAX_TOKENS 128 /* claim tokens read; a longer claim is not checked */
#define KV_SENSE_MAX_WINDOW 768 /* window tokens read; a longer window is not checked */
#define KV_SENSE_MAX_SENTS 3    /* sentences of a window (MAX_WINDOW in match.c) */

/* Cue classes of words (cues.c), by token hash. A word may have several. */
enum {
    KV_CUE_BREAK = 1u << 0,      /* starts a new clause: but, while, although, because, which */
    KV_CUE_COND = 1u << 1,       /* if, when, provided, assuming */
    KV_CUE_UNLESS = 1u << 2,     /* unless */
    KV_CUE_EXCEPT = 1u << 3,     /* except, excluding, besides (and "other than", "apart from") */
    KV_CUE_ORDER = 1u << 4,      /* before, after, until, then, once, prior, following */
    KV_CUE_ALL = 1u << 5,        /* all, every, each, any, always, both, entire */
    KV_CUE_ONLY = 1u << 6,       /* only, solely, exclusively */
    KV_CUE_SOME = 1u << 7,       /* some, several, many, few, most, certain */
    KV_CUE_POSSIBLE = 1u << 8,   /* may, might, can, could, allowed, permitted, able */
    KV_CUE_NECESSARY = 1u << 9,  /* must, shall, should, required, mandatory, need (to) */
    KV_CUE_WEAK_NEC = 1u << 10,  /* necessity whose negation is "not needed": need, required */
    KV_CUE_OPTIONAL = 1u << 11,  /* optional, voluntary */
    KV_CUE_PROHIBIT = 1u << 12,  /* prohibited, forbidden, banned */
    KV_CUE_BE = 1u << 13,        /* is, are, was, were, be, been, being, get, got */
    KV_CUE_BY = 1u << 14,        /* by: the agent of a passive */
    KV_CUE_SYMMETRIC = 1u << 15, /* married, met, merged, partnered, versus, tied: no direction */
    KV_CUE_THAN = 1u << 16,      /* than */
    KV_CUE_SUBJECT = 1u << 17,   /* it, he, she, they, we, you, i: a new clause's subject */
    KV_CUE_DET = 1u << 18,       /* the, a, an, this, these, your, their ...: after a verb */
    KV_CUE_NEG_MORE = 1u << 19,  /* more, over, above, exceed: "not more than" is an upper bound */
    KV_CUE_EVEN = 1u << 20,      /* even ("even if", "even when") */
    KV_CUE_AFTER = 1u << 21,     /* the "after" side of before/after (after, following, then) */
    KV_CUE_NEG_VERB = 1u << 22,  /* a verb that negates what follows: avoid, prevent, refrain */
};
/* Converse pairs (cues.c) sit in the high bits: a group number from 1 and a side. */
#define KV_CUE_CONVERSE_SHIFT 24
#define KV_CUE_SIDE_SHIFT 30
#define KV_CUE_CONVERSE(c) (((c) >> KV_CUE_CONVERSE_SHIFT) & 0x3fu)
#define KV_CUE_SIDE(c) (((c) >> KV_CUE_SIDE_SHIFT) & 1u)

/* What a number is said to be (clause.c): exactly it, or a bound on a quantity. */
enum kv_bound {
    KV_BOUND_EXACT = 0,
    KV_BOUND_UP_INCL,   /* up to, at most, no more than, within, maximum */
    KV_BOUND_UP_STRICT, /* less than, fewer than, under, below, before */
    KV_BOUND_LO_INCL,   /* at least, no less than, minimum, or more */
    KV_BOUND_LO_STRICT, /* more than, over, above, exceeding, after */
};

/* The clause a token stands in. */
enum kv_clause_kind {
    KV_CLAUSE_MAIN = 0,
    KV_CLAUSE_COND,    /* "if B", "when B", "only if B", "even if B" */
    KV_CLAUSE_UNLESS,  /* "unless B": read as "if not B" */
    KV_CLAUSE_SUB,     /* another subordinate clause (because, which, before/after ...) */
    KV_CLAUSE_QUESTION /* "check if X", "whether X": X is asked, not said */
};

/* Modal force of a clause (modality.c). */
enum kv_modal {
    KV_MODAL_NONE = 0,  /* a plain statement */
    KV_MODAL_POSSIBLE,  /* may, can, allowed */
    KV_MODAL_NECESSARY, /* must, required, an instruction ("Take the tablets with food") */
    KV_MODAL_OPTIONAL,  /* optional, need not, not required */
    KV_MODAL_IMPOSSIBLE /* must not, cannot, prohibited, "Do not ..." */
};

enum { MT_VERB = 1, MT_ARG = 2 };

/* One token as the sentence layer reads it. */
typedef struct kv_ann {
    uint32_t cue;     /* KV_CUE_* of the word */
    uint8_t neg;      /* negations that govern it, mod 2 (own prefix negation included) */
    uint8_t scoped;   /* inside the reach of a polarity marker (negation, unless, except) */
    uint8_t except;   /* in the phrase an "except" names */
    uint8_t kind;     /* enum kv_clause_kind */
    uint8_t clause;   /* clause number in its sentence, from 0 */
    uint8_t bound;    /* numbers: enum kv_bound */
    uint8_t cue_tok;  /* the token is itself a polarity or bound marker (not content) */
    uint8_t absorbed; /* an un- word a negation right before it cancels with ("not unlike") */
    uint8_t target;   /* what a negation, exception or "unless" is about: the first word after
                       * the cue, the words it excepts, a clause a trailing "not" denies */
    uint8_t mtarget;  /* what its clause's modal is about: MT_VERB, the verb ("may [take]");
                       * MT_ARG, a subject or object ("[receipt] is optional") */
} kv_ann;

/* A sentence as the sentence layer reads it: its tokens (offsets into text), their readings,
 * and per clause the modal force and whether the clause is passive. */
#define KV_SENSE_MAX_CLAUSES 16
typedef struct kv_reading {
    const char *text; /* the tokens' offsets are into this */
    const kv_token *t;
    kv_ann *a;
    size_t n;
    size_t n_clauses;
    uint8_t clause_neg[KV_SENSE_MAX_CLAUSES];   /* the clause is negated (its negations, mod 2) */
    uint8_t elliptic[KV_SENSE_MAX_CLAUSES];     /* "but monitors are not": the clause's
                                                * predicate is the one before it */
    uint8_t modal[KV_SENSE_MAX_CLAUSES];        /* enum kv_modal */
    uint8_t modal_strict[KV_SENSE_MAX_CLAUSES]; /* said with must, shall, required, mandatory,
                                                 * have to: an obligation, not advice */
    uint16_t modal_tok[KV_SENSE_MAX_CLAUSES];   /* the token that set it, or UINT16_MAX */
    uint16_t until_neg[KV_SENSE_MAX_CLAUSES];   /* a negation "until" follows, read as about the
                                               * time ("Do not add it until the end"), not
                                               * counted in clause_neg; UINT16_MAX when none */
    uint8_t imperative;                         /* the sentence opens with an instruction */
    uint8_t polar;      /* a token is negated or in an "unless" clause, or a negation is set aside
                    * before "until": without it on either side no polarity can differ */
    uint8_t first_name; /* swap.c: its first word is a name, written
                                             * capitalised past a sentence's start in the claim
                                             * or the window ("Castlebay's manager") */
    uint64_t hashes;    /* kv_hash_bit of each token's hash, or'ed: a hash whose bit is not set
                         * is not among the tokens (kv_reading_may_hold) */
} kv_reading;

/* One of 64 bits for token hash h (its top 6 bits, mixed): a reading's `hashes` sets the bits
 * of its tokens, so a hash whose bit is clear is in none of them and a scan for it finds none. */
static inline uint64_t kv_hash_bit(uint64_t h)
{
    return 1ull << ((h * 0x9e3779b97f4a7c15ull) >> 58);
}

/* 0 when reading r holds no token of hash h; 1 when it may. */
static inline int kv_reading_may_hold(const kv_reading *r, uint64_t h)
{
    return (r->hashes & kv_hash_bit(h)) != 0;
}

/* Where a claim token stands in window sentence s: the first matching token (or -1), and the
 * polarities of all its matches. */
#define KV_POL_POS 1u
#define KV_POL_NEG 2u
#define KV_POL_POS_SCOPED 4u /* a positive match in the reach of a polarity marker */
#define KV_POL_NEG_SCOPED 8u /* a negative one */
#define KV_POL_TARGET 16u    /* a match is what a negation or exception is about */
typedef struct kv_match {
    int16_t at[KV_SENSE_MAX_SENTS];
    uint8_t pol[KV_SENSE_MAX_SENTS];  /* word by word: the negations that reach each match */
    uint8_t cpol[KV_SENSE_MAX_SENTS]; /* clause by clause: whether the match's clause is
                                         * negated (an exception turns it) */
    uint8_t flip;                     /* matched through a negative prefix ("unworn" for "worn") */
    uint8_t content;                  /* the claim token is a content word (a term) */
} kv_match;

/* A source sentence as align.c read it, kept for the rest of the review: its tokens and
 * readings start at off in the cache's arrays (r's pointers are set when a window uses it). */
typedef struct kv_cached_sent {
    size_t off;
    kv_reading r;
} kv_cached_sent;

/* Where claim token i stands in each clause of window sentence s (kv_align_token), found once
 * per window: the polarities, clause polarities and whether through an antonym, per clause. */
typedef struct kv_token_align {
    uint8_t done;
    uint8_t pol[KV_SENSE_MAX_CLAUSES];
    uint8_t cpol[KV_SENSE_MAX_CLAUSES];
    uint16_t antonym; /* bit per clause */
} kv_token_align;

/* Which facts of a claim word kv_sense holds for the claim (word_read). */
enum {
    KV_WORD_ALT = 1u << 0,     /* alt */
    KV_WORD_OPPOSED = 1u << 1, /* hcue, opposed */
    KV_WORD_UNIT = 1u << 2,    /* unit */
};

/* The sense layer's scratch, one per engine. */
typedef struct kv_sense {
    kv_ann ann_claim[KV_SENSE_MAX_TOKENS];
    kv_tokens one; /* one sentence's tokens, before they join the cache */
    /* The source sentences read in this review (kv_sense_reset empties it): a sentence is
     * tokenized and read once, however many claims' windows hold it. slot[s] is sentence s's
     * index in cached, or -1. */
    kv_tokens cache_toks;
    kv_ann *cache_ann;
    size_t cap_ann;
    kv_cached_sent *cached;
    size_t n_cached, cap_cached;
    int32_t *slot;
    size_t cap_slot;
    struct kv_readmemo *memo; /* readings kept across reviews (readmemo.c), or NULL */
    kv_reading claim, sent[KV_SENSE_MAX_SENTS];
    size_t n_sents;
    kv_match match[KV_SENSE_MAX_TOKENS];
    int16_t best_at[KV_SENSE_MAX_TOKENS][KV_SENSE_MAX_SENTS]; /* reading another window for
                                                * swaps: match[].at of the best window */
    size_t best_sents;                                        /* and its sentences */
    int next_window;                           /* the window read is not the best one */
    uint64_t prefixed[KV_SENSE_MAX_TOKENS][2]; /* per claim token: hashes with/without a
                                                 * negative prefix, 0 when none */
    /* Per claim token, read once per claim (kv_sense_check): what depends on the word alone. */
    uint64_t alt[KV_SENSE_MAX_TOKENS];      /* kv_align_alt of its hash */
    uint32_t hcue[KV_SENSE_MAX_TOKENS];     /* kv_cues_of its hash */
    uint8_t opposed[KV_SENSE_MAX_TOKENS];   /* a converse cue, or an opposite or antonym known:
                                           * kv_align_token looks for its opposites */
    uint16_t unit[KV_SENSE_MAX_TOKENS];     /* swap.c: the unit the word names, or 0 */
    uint8_t word_read[KV_SENSE_MAX_TOKENS]; /* KV_WORD_*: which of these are read */
    int any_alt;     /* a term of the claim has an alt (else kv_align_word_alt is 0) */
    int closed_read; /* swap.c: closed is read for the claim */
    size_t n_closed;
    struct {
        uint8_t i;  /* a claim word the sources never name that is a weekday or a month */
        int8_t day; /* the weekday, or -1: a month */
    } closed[KV_SENSE_MAX_TOKENS];
    uint32_t unit_initials[13]; /* swap.c: by length, a bit per first letter of a unit word */
    int unit_other;             /* a unit word is longer or opens with no letter a-z */
    kv_token_align tal[KV_SENSE_MAX_TOKENS][KV_SENSE_MAX_SENTS][2]; /* by absorbed */
} kv_sense;

/* What decided, and which claim tokens carry it. */
typedef struct kv_sense_result {
    kivo_rule rule; /* KIVO_RULE_COVERAGE when nothing fired */
    size_t sent;    /* the window sentence it fired on */
    int converse;   /* roles.c saw the claim say the source's relation from its other
                             * side ("Y lost to X" for "X beat Y"): not an opposite */
    int checked;    /* the claim and its window were read (else no rule ran) */
    uint8_t mark[KV_SENSE_MAX_TOKENS];
} kv_sense_result;

/* cues.c: the cue table, built once per engine; the cues of hash h (0 when none). */
kivo_status kv_cues_build(kivo_engine *e);
uint32_t kv_cues_find(const kivo_engine *e, uint64_t h);
/* Most words are no cue: the filter of the table's hashes answers them inline, one load of a
 * 2 KiB bitmap, before the table is probed (kv_cues_find). */
static inline uint32_t kv_cues_of(const kivo_engine *e, uint64_t h)
{
    return h && kv_hfilter_may(&e->cue_filter, h) ? kv_cues_find(e, h) : 0;
}

/* clause.c: reads tokens t[0..n) of text into r (r->a has room for n). */
void kv_clause_read(const kivo_engine *e, const char *text, const kv_token *t, size_t n,
                    kv_reading *r);

/* align.c: the polarities (KV_POL_*, word by word, and clause by clause into *cpol) with which
 * clause sc of window sentence s holds claim token i: by its hash, through a negative prefix
 * (its other form, kv_align_alt; absorbed: a negation before the claim's word cancels with the
 * prefix), or through its antonym (opposite groups, converse pairs; *antonym set). 0 when it
 * does not. Found for all of s's clauses at the first call, kept until the window changes. */
unsigned kv_align_token(const kivo_engine *e, size_t s, size_t sc, size_t i, int absorbed,
                        unsigned *cpol, int *antonym);

/* align.c: reads the window's sentences first..last (each tokenized and read once per review,
 * then kept); finds each claim token in each sentence. 0 when the window cannot be read (too
 * long, no memory). */
int kv_align_window(kivo_engine *e, const kivo_packet *p, size_t first, size_t last);
void kv_align_claim(kivo_engine *e);
/* align.c: the hash the sources hold for claim term h in place of it (prefix.c), or 0. */
uint64_t kv_align_alt(const kivo_engine *e, uint64_t h);
/* align.c: what each claim word's hash alone decides (sn->alt, hcue, opposed) is read at its
 * first use and kept for the claim; kv_align_words forgets the last claim's, after the claim is
 * read and before its first window is aligned. kv_align_word_alt: kv_align_alt of claim token
 * i. */
void kv_align_words(kivo_engine *e);
uint64_t kv_align_word_alt(const kivo_engine *e, size_t i);

/* align.c: 1 when clause sc of window sentence s opens with a pronoun subject ("It does not
 * cover ...") that stands for claim token i: a word of the claim's first noun phrase that an
 * earlier window sentence names and sentence s does not. */
int kv_pronoun_stands_for(const kv_sense *sn, size_t s, size_t sc, size_t i);

/* The rules. Each returns 1 and fills *res (rule, sentence, marks) when it fires. */
int kv_negation_check(kivo_engine *e, kv_sense_result *res);
int kv_roles_check(kivo_engine *e, kv_sense_result *res);
int kv_quantifier_check(kivo_engine *e, kv_sense_result *res);
int kv_modality_check(kivo_engine *e, kv_sense_result *res);
int kv_swap_check(kivo_engine *e, kv_sense_result *res);
int kv_antonym_check(kivo_engine *e, kv_sense_result *res);
int kv_exchange_check(kivo_engine *e, kv_sense_result *res);

/* antonym.c: the table, built with the engine; 1 when words a and b (token hashes) are
 * antonyms. */
kivo_status kv_antonyms_build(kivo_engine *e);
int kv_antonym_pair(const kivo_engine *e, uint64_t a, uint64_t b);
/* antonym.c: 1 when word h has an antonym in the table. */
int kv_antonym_known(const kivo_engine *e, uint64_t h);

/* sense.c: after kv_sense_check on the best window, reads the claim against another window
 * for swaps only (swap.c). */
int kv_sense_swaps(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                   size_t first, size_t last, kv_sense_result *res);

/* swap.c: reads the unit words' lengths and first letters into sn (unit_initials). */
void kv_swap_units_read(kv_sense *sn);

/* sense.c: the scratch and the cue table, made with the engine. */
kivo_status kv_sense_create(kivo_engine *e);
void kv_sense_free(kivo_engine *e);

/* sense.c: reads the claim toks[0..n) against its best window first..last and runs the rules.
 * @return 1 when one fired (*res says which), 0 when none did or the claim was not checked. */
int kv_sense_check(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                   size_t first, size_t last, kv_sense_result *res);

#endif
