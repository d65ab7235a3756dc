/*
 * wire.h - the contract between kivo-worker and kivo-api, written once: schema ids, caps, the
 * JSON names of every enum, the raw fields that never travel, the closed field table of each
 * request body, and the renderers of the bodies the worker sends.
 *
 * The field tables are data. kivo-api's validator walks them (an unknown member is a
 * schema_violation, a missing required one too), and the renderers below emit their members in
 * table order under the table's names. Adding a field to a body is one row in its table in
 * wire.c, plus one case in its renderer when the worker sends it; tests/api/test_wire.c renders
 * every body from the tables and validates it with the server's validator, so the two sides
 * cannot drift. What is on the wire is in docs/api.md.
 */
#ifndef KIVO_WIRE_H
#define KIVO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/review.h"
#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- schema ids ------------------------------------------------------------------------------ */

#define KIVO_WIRE_SCHEMA_PW_CREATE "kivo_private_worker_review_run_create.v1"
#define KIVO_WIRE_SCHEMA_PW_EVENT "kivo_private_worker_review_run_event.v1"
#define KIVO_WIRE_SCHEMA_HOSTED_CREATE "kivo_review_run_create.v1"
#define KIVO_WIRE_SCHEMA_CLAIM_REPORT "kivo_claim_report.v1"

/* ---- paths the worker calls besides the contract's own ------------------------------------- */

/* GET with a project API key: who the key is (project, scopes). A batch that will send its events
 * checks its URL, key and scope with it before it reviews anything (docs/api.md). */
#define KIVO_WIRE_PATH_PW_WHOAMI "/v1/private-worker/whoami"
/* The scope that private-worker create calls need, and so the one the check asks for. */
#define KIVO_WIRE_SCOPE_PW_WRITE "private_worker:write"

/* ---- caps (docs/api.md), in Unicode code points ---------------------------------------------- */

#define KIVO_WIRE_ID_MAX 512              /* ids and pointers */
#define KIVO_WIRE_NAME_MAX 200            /* names, titles, labels */
#define KIVO_WIRE_CODE_MAX 64             /* failure codes, [a-z0-9_.-] */
#define KIVO_WIRE_BATCH_ID_MAX 128        /* batch ids, [A-Za-z0-9._:-] */
#define KIVO_WIRE_BATCH_DEFAULT "default" /* the batch of a run that names none */
#define KIVO_WIRE_HASHES_MAX 10000        /* source_count, source_hashes */
#define KIVO_WIRE_ARTIFACTS_MAX 64        /* artifact_summaries */
#define KIVO_WIRE_CLAIMS_MAX 100000000    /* claim counts */
#define KIVO_WIRE_FILES_MAX 1000000       /* an artifact's file_count */
#define KIVO_WIRE_HOSTED_SOURCES_MAX 200  /* a hosted packet's sources */
#define KIVO_WIRE_METADATA_KEYS_MAX 32    /* members of a hosted run's metadata */
#define KIVO_WIRE_METADATA_KEY_MAX 64     /* characters of one metadata key */

/* ---- enum names -------------------------------------------------------------------------------
 * Names as they appear in JSON ("customer_facing", "needs_review", "unsupported_numeric_claim").
 * Each table is in enum order and NULL-terminated, except categories: indexed by kivo_category,
 * whose KIVO_CAT_NONE entry is NULL (JSON null), with KIVO_CAT_COUNT + 1 entries. */

typedef enum kivo_event_type {
    KIVO_EVENT_STARTED = 0,
    KIVO_EVENT_PROGRESS,
    KIVO_EVENT_COMPLETED,
    KIVO_EVENT_FAILED,
    KIVO_EVENT_TYPE_COUNT
} kivo_event_type;

extern const char *const kivo_wire_strictness_names[];
extern const char *const kivo_wire_intended_use_names[];
extern const char *const kivo_wire_verdict_names[];
extern const char *const kivo_wire_claim_status_names[];
extern const char *const kivo_wire_category_names[];
extern const char *const kivo_wire_event_type_names[];
/* What an event's `status` may say: its event_type, or "running" for started and progress. */
extern const char *const kivo_wire_event_status_names[];
/* The states of a private-worker run, and of a hosted run. */
extern const char *const kivo_wire_pw_run_status_names[];
extern const char *const kivo_wire_hosted_run_status_names[];

/* A name, or "unknown" for a value out of range (kivo_category_name: NULL, for none as well). */
const char *kivo_strictness_name(kivo_strictness s);
const char *kivo_intended_use_name(kivo_intended_use u);
const char *kivo_verdict_name(kivo_verdict v);
const char *kivo_claim_status_name(kivo_claim_status s);
const char *kivo_category_name(kivo_category c);
const char *kivo_event_type_name(kivo_event_type t);

/* The status an event of type t reports, which its run takes once the event is accepted:
 * "running" for started and progress, else the type's own name. */
const char *kivo_event_status_name(kivo_event_type t);

/* Parse a name (s[0..len)); @return KIVO_OK, or KIVO_EINVAL when it is none of the names. */
kivo_status kivo_strictness_parse(const char *s, size_t len, kivo_strictness *out);
kivo_status kivo_intended_use_parse(const char *s, size_t len, kivo_intended_use *out);
kivo_status kivo_verdict_parse(const char *s, size_t len, kivo_verdict *out);
kivo_status kivo_category_parse(const char *s, size_t len, kivo_category *out);
kivo_status kivo_event_type_parse(const char *s, size_t len, kivo_event_type *out);

/* ---- raw fields ------------------------------------------------------------------------------ */

/* A name whose presence as an object key, at any depth of a private-worker body, is refused
 * (api.md), with the text of what to send instead. */
typedef struct kivo_wire_raw_field {
    const char *name;
    const char *use_instead;
} kivo_wire_raw_field;

/* Every raw field, ending with {NULL, NULL}. */
extern const kivo_wire_raw_field kivo_wire_raw_fields[];

/* The raw field whose name is exactly key[0..len), or NULL. */
const kivo_wire_raw_field *kivo_wire_raw_field_find(const char *key, size_t len);

/* ---- closed field tables --------------------------------------------------------------------- */

typedef enum kivo_wire_kind {
    KIVO_WIRE_CONST,      /* string equal to values[0] */
    KIVO_WIRE_ID,         /* string of at most KIVO_WIRE_ID_MAX characters, no control ones */
    KIVO_WIRE_NAME,       /* string of at most KIVO_WIRE_NAME_MAX characters, no control ones */
    KIVO_WIRE_CODE,       /* string of 1..KIVO_WIRE_CODE_MAX of [a-z0-9_.-] */
    KIVO_WIRE_BATCH,      /* string of 1..KIVO_WIRE_BATCH_ID_MAX of [A-Za-z0-9._:-] */
    KIVO_WIRE_ENUM,       /* string in values[] */
    KIVO_WIRE_HASH,       /* "sha256:" + 64 lowercase hex digits */
    KIVO_WIRE_HASHES,     /* array of min..max hashes */
    KIVO_WIRE_COUNT,      /* integer in min..max */
    KIVO_WIRE_POSINT,     /* integer in 1..INT64_MAX */
    KIVO_WIRE_OBJECT,     /* object of body sub */
    KIVO_WIRE_OBJECTS,    /* array of min..max objects of body sub */
    KIVO_WIRE_CATEGORIES, /* array of distinct failure category names */
    KIVO_WIRE_TEXT,       /* any string */
    KIVO_WIRE_FLATMAP     /* object of at most KIVO_WIRE_METADATA_KEYS_MAX scalar members, keys
                           * of 1..KIVO_WIRE_METADATA_KEY_MAX characters, strings of at most
                           * KIVO_WIRE_NAME_MAX, no control characters */
} kivo_wire_kind;

/* Field flags. A required ID or NAME must not be empty; an optional one may be. */
#define KIVO_WIRE_REQUIRED 1u  /* every body carries it */
#define KIVO_WIRE_COMPLETED 2u /* a completed event carries it (events only) */

typedef struct kivo_wire_body kivo_wire_body;

typedef struct kivo_wire_field {
    const char *name;
    kivo_wire_kind kind;
    unsigned flags;
    const char *const *values; /* CONST: {value, NULL}; ENUM: the names, NULL-terminated */
    const kivo_wire_body *sub; /* OBJECT, OBJECTS: the members' table */
    long long min, max;        /* COUNT: the range; HASHES, OBJECTS: how many items */
} kivo_wire_field;

struct kivo_wire_body {
    const char *what;              /* "private-worker event", for messages and tests */
    const kivo_wire_field *fields; /* in the order the renderers emit them */
    size_t n;
};

/* kivo_private_worker_review_run_create.v1 and .._event.v1, the members of their
 * customer_storage_pointer and of an event's artifact_summaries; kivo_review_run_create.v1 and
 * the members of its sources. */
extern const kivo_wire_body kivo_wire_pw_create;
extern const kivo_wire_body kivo_wire_pw_event;
extern const kivo_wire_body kivo_wire_storage_pointer;
extern const kivo_wire_body kivo_wire_artifact_summary;
extern const kivo_wire_body kivo_wire_hosted_create;
extern const kivo_wire_body kivo_wire_hosted_source;

/* The field of body named exactly name[0..len), or NULL. */
const kivo_wire_field *kivo_wire_field_find(const kivo_wire_body *body, const char *name,
                                            size_t len);

/* ---- renderers ------------------------------------------------------------------------------- */

/* Who and what a run is: the ids a claim report and an event carry. Strings are NUL-terminated;
 * NULL means "not set" where noted. */
typedef struct kivo_run_meta {
    const char *review_run_id; /* NULL in offline batches (JSON null) */
    const char *customer_run_id;
    const char *workflow_id;
    const char *worker_id;
    const char *worker_version;
    const char *policy_version; /* may be NULL */
    const char *storage_label;  /* may be NULL (an event then says "") */
    kivo_strictness strictness;
    kivo_intended_use intended_use;
    const char *batch_id; /* the run's batch; NULL: not written (read as "default") */
} kivo_run_meta;

#define KIVO_WIRE_EVENT_ID_SIZE 64

/* The deterministic event id of a run's event of type t: "evt_" + 24 hex digits of
 * SHA-256(workflow_id NUL customer_run_id NUL type name). */
void kivo_wire_event_id(kivo_hasher *h, const char *workflow_id, const char *customer_run_id,
                        kivo_event_type t, char out[KIVO_WIRE_EVENT_ID_SIZE]);

/* One event of a run (kivo_private_worker_review_run_event.v1). */
typedef struct kivo_wire_event {
    kivo_event_type type;
    const kivo_run_meta *run;  /* ids; storage_label names the report's store (completed) */
    uint64_t sequence;         /* 1.., strictly increasing per run */
    const kivo_review *review; /* completed: the results */
    size_t n_sources;          /* completed: the packet's sources */
    const char *report_sha256; /* completed: the claim report's "sha256:<hex>" */
    const char *failure_code;  /* failed: why, 1..64 of [a-z0-9_.-] */
} kivo_wire_event;

/*
 * Appends the event as compact JSON and a newline (one events.jsonl line) to out, its members in
 * table order; started and progress say status "running"; a completed event carries the review's
 * verdicts, counts, hashes and categories and one claim_report artifact summary; a failed one
 * empty categories and its failure_code. Never any text of the review's packet. event_id (may be
 * NULL) gets the event's id. @return KIVO_OK, KIVO_EINVAL (a completed event without a review, a
 * failed one without a code), KIVO_ENOMEM or KIVO_ETOOBIG; out is then as it was.
 */
kivo_status kivo_wire_event_render(kivo_hasher *h, const kivo_wire_event *event,
                                   char event_id[KIVO_WIRE_EVENT_ID_SIZE], kivo_buf *out);

/* A private-worker create body (kivo_private_worker_review_run_create.v1). NULL members (and
 * source_count -1) are left out. */
typedef struct kivo_wire_create {
    const char *customer_run_id;
    const char *workflow_id;
    const char *worker_id;
    const char *worker_version;
    const char *workflow_name;
    const char *title;
    const char *intended_use; /* a name (kivo_intended_use_name) */
    const char *strictness;   /* a name (kivo_strictness_name) */
    const char *policy_version;
    const char *prompt_version;
    long long source_count;
    const char *const *source_hashes; /* n_source_hashes of them; NULL: left out */
    size_t n_source_hashes;
    const char *output_hash;
    const char *storage_label;     /* customer_storage_pointer.label */
    const char *storage_opaque_id; /* customer_storage_pointer.opaque_id; NULL: no pointer */
    const char *batch_id;          /* NULL: left out (the server reads it as "default") */
} kivo_wire_create;

/* Appends the create body as compact JSON, without a newline, to out, its members in table
 * order. @return KIVO_OK, KIVO_EINVAL (a required member is NULL), KIVO_ENOMEM or KIVO_ETOOBIG;
 * out is then as it was. */
kivo_status kivo_wire_create_render(const kivo_wire_create *create, kivo_buf *out);

#ifdef __cplusplus
}
#endif
#endif
