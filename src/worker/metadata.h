/*
 * metadata.h - fields.metadata and fields.label of the job spec: what a record says about itself
 * (model, prompt version, question, split; a human label) for the customer's own analysis.
 *
 * The values are copied into the local claim report only, after its last member, as
 * "metadata":{name: scalar, ...} and "label":"hallucinated"|"faithful"|null. They never enter an
 * event: the event is rendered from the review alone (kivo_event_render_completed), and the only
 * trace of the report in it is the report's SHA-256. A spec without metadata and label gives
 * reports byte-identical to those of a worker that knows nothing of either.
 */
#ifndef KIVO_WORKER_METADATA_H
#define KIVO_WORKER_METADATA_H

#include <stddef.h>

#include "kivo/buf.h"
#include "kivo/json.h"
#include "kivo/status.h"

#define WK_META_MAX_NAMES 32    /* names in fields.metadata */
#define WK_META_NAME_MAX 64     /* bytes of a name: [A-Za-z0-9_.:-] */
#define WK_META_STRING_MAX 4096 /* bytes of a string value kept (cut at a UTF-8 boundary) */
#define WK_META_POINTER_MAX 512

typedef struct wk_meta_spec {
    size_t n;
    char *name[WK_META_MAX_NAMES];    /* in the spec's order */
    char *pointer[WK_META_MAX_NAMES]; /* JSON Pointers, "/..." */
    char *label;                      /* fields.label's pointer, or NULL */
} wk_meta_spec;

/* What a label says about a record. */
typedef enum wk_label {
    WK_LABEL_NONE = -1,       /* no label, or one that is not a recognised value */
    WK_LABEL_FAITHFUL = 0,    /* false, "faithful", "pass" */
    WK_LABEL_HALLUCINATED = 1 /* true, "hallucinated", "fail" */
} wk_label;

/* Loads fields.metadata (an object of name -> JSON Pointer, or NULL when absent) and fields.label
 * (a JSON Pointer string, or NULL). @return 0, or -1 with a message naming the field in err. */
int wk_meta_spec_load(const kivo_json_node *metadata, const kivo_json_node *label,
                      wk_meta_spec *out, char *err, size_t errlen);
void wk_meta_spec_free(wk_meta_spec *m);

/* 1 when the spec asks for anything to be added to reports. */
int wk_meta_active(const wk_meta_spec *m);

/* The index of `name` (name[0..len)) in m, or -1. */
int wk_meta_find(const wk_meta_spec *m, const char *name, size_t len);

/* The record's label (root: the parsed record). Booleans, and the strings "hallucinated" /
 * "faithful" / "fail" / "pass" in any case; anything else is WK_LABEL_NONE. */
wk_label wk_meta_label(const wk_meta_spec *m, const kivo_json_node *root);

/* The name a label value is written as: "hallucinated", "faithful", or NULL for NONE. */
const char *wk_label_name(wk_label l);

/* The value of metadata field i in root, as the text a group is keyed by: a string as itself (cut
 * to WK_META_STRING_MAX bytes), a number as written, true/false; NULL (and *len 0) when the
 * pointer names nothing, null, an object or an array. Points into the parsed document, or at a
 * static literal. */
const char *wk_meta_value_text(const wk_meta_spec *m, size_t i, const kivo_json_node *root,
                               size_t *len);

/*
 * Adds the record's metadata and label to the claim report that ends report[report_off..len) of
 * `reports` (as rendered by kivo_report_render: one JSON object and a newline): its closing brace
 * becomes ,"metadata":{...},"label":...} and the newline follows again. Nothing is changed when
 * the spec asks for neither. @return KIVO_OK, KIVO_ENOMEM, KIVO_ETOOBIG, or KIVO_EINVAL when the
 * report does not end with "}\n".
 */
kivo_status wk_meta_splice(const wk_meta_spec *m, const kivo_json_node *root, kivo_buf *reports,
                           size_t report_off);

#endif
