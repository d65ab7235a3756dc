/*
 * record.h - one trace record, read out of any JSON shape through the job spec's JSON Pointers.
 *
 * The job spec names where a record keeps its run id, its output and its sources; each source may
 * be a string (the text itself) or an object (then the source_id/source_title/source_text
 * pointers apply inside it). A source text that is an object or array is flattened into
 * "key: value" lines (kivo_json_flatten) so that claims about structured data can be matched.
 */
#ifndef KIVO_RECORD_H
#define KIVO_RECORD_H

#include <stddef.h>

#include "kivo/buf.h"
#include "kivo/json.h"
#include "kivo/review.h"
#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON Pointers (RFC 6901), NUL-terminated. source_* apply inside each element of sources. */
typedef struct kivo_fields {
    const char *customer_run_id;
    const char *output;
    const char *sources;
    const char *source_id;
    const char *source_title;
    const char *source_text;
} kivo_fields;

/* Ceiling on a customer_run_id, in bytes (api.md caps ids at 512). */
#define KIVO_RUN_ID_MAX 512

typedef struct kivo_record {
    const char *customer_run_id; /* NUL-terminated copy */
    size_t customer_run_id_len;
    const char *output; /* points into the parsed document; not NUL-terminated */
    size_t output_len;
    const kivo_source *sources;
    size_t n_sources;
} kivo_record;

typedef struct kivo_record_reader kivo_record_reader;

/* The reader keeps its own copy of the pointers. @return KIVO_OK, KIVO_ENOMEM or KIVO_EINVAL
 * (a pointer that is not "" and does not start with '/'). */
kivo_status kivo_record_reader_create(const kivo_fields *fields, kivo_record_reader **out);
void kivo_record_reader_free(kivo_record_reader *r);

/*
 * Reads one record out of a parsed document. *out stays valid until the next extract on this
 * reader or until the document's parser parses again, whichever is first.
 * @return KIVO_OK; or KIVO_ESCHEMA with *why a static-lifetime-until-next-call message naming the
 *         field ("missing output at /output"); or KIVO_ENOMEM / KIVO_ETOOBIG.
 */
kivo_status kivo_record_extract(kivo_record_reader *r, const kivo_json_node *root, kivo_record *out,
                                const char **why);

/*
 * Appends the deterministic text form of a JSON value: a string as itself; a scalar as its JSON
 * literal (true, false, null, numbers as written); an object or array as one "path: value" line
 * per scalar leaf, paths joined with '.', array elements by 1-based position, members in input
 * order ("hours.mon: 9-17\nrating: 4.5\n"). This is the text a structured source is hashed as.
 */
kivo_status kivo_json_flatten(const kivo_json_node *value, kivo_buf *out);

#ifdef __cplusplus
}
#endif
#endif
