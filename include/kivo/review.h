/*
 * review.h - the claim engine: an answer and its sources in, claims with evidence and a verdict out.
 *
 * kivo_engine_review() splits the output into claims, finds for each the source span that best
 * supports it, gives it a status, a support score and (when not supported) a failure category,
 * counts the unsupported ones and maps strictness x intended use x counts to a gate verdict (the
 * table is in docs/engine.md). The same packet always gives the same review, byte for byte.
 *
 * An engine holds per-thread state (stemmer, stem cache, scratch): make one per thread, before any
 * parallel region, and reuse it for every record that thread reviews.
 */
#ifndef KIVO_REVIEW_H
#define KIVO_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/hash.h"
#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the engine and its version, reported in claim reports ("kivo-engine.7"). */
#define KIVO_ENGINE_VERSION "kivo-engine.7"

typedef enum kivo_strictness { KIVO_STRICT = 0, KIVO_STANDARD, KIVO_LENIENT } kivo_strictness;
typedef enum kivo_intended_use {
    KIVO_USE_CUSTOMER_FACING = 0,
    KIVO_USE_INTERNAL,
    KIVO_USE_EVALUATION
} kivo_intended_use;
typedef enum kivo_verdict {
    KIVO_VERDICT_PASS = 0,
    KIVO_VERDICT_NEEDS_REVIEW,
    KIVO_VERDICT_FAIL
} kivo_verdict;
typedef enum kivo_claim_status {
    KIVO_CLAIM_SUPPORTED = 0,
    KIVO_CLAIM_PARTIALLY_SUPPORTED,
    KIVO_CLAIM_UNSUPPORTED,
    KIVO_CLAIM_CONTRADICTED
} kivo_claim_status;
typedef enum kivo_category {
    KIVO_CAT_NONE = 0,
    KIVO_CAT_UNSUPPORTED_CLAIM,
    KIVO_CAT_UNSUPPORTED_POLICY_CLAIM,
    KIVO_CAT_UNSUPPORTED_NUMERIC_CLAIM,
    KIVO_CAT_UNSUPPORTED_ENTITY_CLAIM,
    KIVO_CAT_CONTRADICTED_CLAIM,
    KIVO_CAT_NO_SOURCES,
    KIVO_CAT_EMPTY_OUTPUT,
    KIVO_CAT_COUNT
} kivo_category;

/* The JSON names of these enums, and parsing them back, are the wire's (kivo/wire.h). */

/* One source document. The engine reads, never keeps, these bytes. Strings need not be
 * NUL-terminated; text must be valid UTF-8. */
typedef struct kivo_source {
    const char *id;
    size_t id_len;
    const char *title; /* may be NULL */
    size_t title_len;
    const char *text;
    size_t text_len;
} kivo_source;

/* What the engine reviews: one AI output and the sources it was built from. */
typedef struct kivo_packet {
    const char *output; /* valid UTF-8; need not be NUL-terminated */
    size_t output_len;
    const kivo_source *sources;
    size_t n_sources;
    kivo_strictness strictness;
    kivo_intended_use intended_use;
} kivo_packet;

/* The rule that gave a claim its status (kivo_claim.rule); names in kivo/explain.h. Not part of
 * a claim report: `kivo-worker explain` shows it. */
typedef enum kivo_rule {
    KIVO_RULE_NONE = 0,           /* no rule ran: no sources */
    KIVO_RULE_COVERAGE,           /* the share of the claim's words the sources hold */
    KIVO_RULE_NUMBER_MISSING,     /* a number no source holds */
    KIVO_RULE_NUMBER_CONFLICT,    /* ... while the window holds other numbers */
    KIVO_RULE_NAME_MISSING,       /* a name no source holds */
    KIVO_RULE_NEGATION_UNMATCHED, /* the claim negates, its window does not */
    KIVO_RULE_FIELD,              /* a yes/no field of a structured record */
    KIVO_RULE_NULL_FIELD,         /* a field or hours the record does not know */
    KIVO_RULE_HOURS,              /* the opening hours of a structured record */
    KIVO_RULE_OPPOSITE,           /* a word whose opposite the source writes by its neighbours */
    KIVO_RULE_NEGATION_SCOPE,     /* the source negates what the claim asserts, or the reverse */
    KIVO_RULE_MODALITY,           /* may / must / must not / optional disagree */
    KIVO_RULE_QUANTIFIER,         /* all/every against only, or against an exception */
    KIVO_RULE_BOUND,              /* up to / at least / more than disagree on a number */
    KIVO_RULE_ROLE,               /* the arguments of a relation changed places */
    KIVO_RULE_SWAP,               /* a name or number where the source has another one */
    KIVO_RULE_UNIT,               /* a number with another unit than the source's */
    KIVO_RULE_ANTONYM,            /* a word for its antonym in the clause the claim copies */
    KIVO_RULE_EXCHANGE,           /* two values exchanged between two parallel phrases */
    KIVO_RULE_COUNT
} kivo_rule;

#define KIVO_MAX_EVIDENCE 2
#define KIVO_MAX_UNSUPPORTED_SPANS 4

/* A byte range [start, end) of the output. */
typedef struct kivo_text_span {
    size_t start, end;
} kivo_text_span;

typedef struct kivo_evidence {
    size_t source;     /* index into the packet's sources */
    size_t start, end; /* byte offsets in that source's text */
} kivo_evidence;

typedef struct kivo_claim {
    size_t start, end; /* byte offsets of the claim in the output */
    kivo_claim_status status;
    double support_score;   /* in [0, 1], rounded to 4 decimals */
    kivo_category category; /* KIVO_CAT_NONE when supported */
    size_t n_evidence;
    kivo_evidence evidence[KIVO_MAX_EVIDENCE]; /* best spans first */
    /* Unsupported and contradicted claims only: the words that carry the failure (names,
     * numbers and phrases the sources do not hold, a conflicting value or negation), in output
     * order, inside [start, end). Empty when no narrower part can be named. */
    size_t n_unsupported_spans;
    kivo_text_span unsupported_spans[KIVO_MAX_UNSUPPORTED_SPANS];
    kivo_rule rule; /* the rule that decided the status (not in the report) */
} kivo_claim;

typedef struct kivo_review {
    const kivo_claim *claims;
    size_t n_claims;
    size_t unsupported_count; /* unsupported + contradicted claims */
    size_t contradicted_count;
    size_t partial_count;
    kivo_verdict gate_verdict;
    kivo_verdict safe_use_status;
    uint32_t categories; /* bit (1u << c) set for each kivo_category c present */
    char output_hash[KIVO_HASH_TEXT_SIZE];
    const char (*source_hashes)[KIVO_HASH_TEXT_SIZE]; /* n_sources entries, packet order */
} kivo_review;

typedef struct kivo_engine kivo_engine;

/* @return KIVO_OK and *out, or KIVO_ENOMEM / KIVO_ECRYPTO. Free with kivo_engine_free(). */
kivo_status kivo_engine_create(kivo_engine **out);
void kivo_engine_free(kivo_engine *e);

/* Claims one review scores at most. An output with more (a 40 MB answer has ~600,000) is refused
 * with KIVO_ETOOBIG before any is scored: its report alone would take hundreds of megabytes. */
#define KIVO_MAX_CLAIMS 10000

/*
 * Reviews one packet. *out points into the engine and stays valid until the next review on the
 * same engine or its free. Empty output and no sources are reviews, not errors (categories
 * empty_output and no_sources). @return KIVO_OK, or KIVO_ETOOBIG when the packet is over one of
 * the engine's bounds (more than KIVO_MAX_CLAIMS claims; kivo_engine_errmsg() says which and its
 * value), or KIVO_ENOMEM / KIVO_ECRYPTO / KIVO_EINVAL.
 */
kivo_status kivo_engine_review(kivo_engine *e, const kivo_packet *packet, const kivo_review **out);

/* Why the last kivo_engine_review() on e failed, for a person to read: the bound a KIVO_ETOOBIG
 * packet is over and the bound's value ("the output has 151536 claims, over the limit of 10000
 * claims per record"); "" when it set no message. Holds no text of the packet. Valid until the
 * next review on e. */
const char *kivo_engine_errmsg(const kivo_engine *e);

/* The gate verdict and safe-use status for given counts (the table in docs/engine.md). */
void kivo_verdict_decide(kivo_strictness s, kivo_intended_use u, size_t n_claims,
                         size_t unsupported, size_t contradicted, size_t partial,
                         uint32_t categories, kivo_verdict *gate, kivo_verdict *safe_use);

#ifdef __cplusplus
}
#endif
#endif
