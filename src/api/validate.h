/*
 * validate.h - closed-schema checks of request bodies, before anything touches the store.
 *
 * Each validator walks a parsed kivo_json tree and fills an api_error with every field it finds
 * wrong (so a client fixes all of them in one round trip), or leaves it empty. Field paths are
 * written "customer_storage_pointer.label", "artifact_summaries[0].sha256", "source_hashes[2]".
 *
 * The schemas are the wire's field tables (kivo/wire.h): this file only walks them, then checks
 * the rules that tie fields together. Limits (docs/api.md): ids and pointers at most 512
 * characters, names, titles and labels at most 200 (Unicode code points), no control or
 * bidirectional-format characters; required strings must not be empty; hashes "sha256:" + 64
 * lowercase hex.
 */
#ifndef KIVO_API_VALIDATE_H
#define KIVO_API_VALIDATE_H

#include <stddef.h>

#include "kivo/json.h"
#include "kivo/wire.h"

#include "errors.h"

/*
 * Finds every rejected raw field (api.md) at any depth of `root`: object keys only, in objects
 * nested in arrays too. Each goes into `e` as a 422 raw_fields_rejected with its use_instead.
 * @return how many were found.
 */
size_t api_scan_raw_fields(const kivo_json_node *root, api_error *e);

/* The private-worker create body (kivo_private_worker_review_run_create.v1). */
void api_validate_pw_create(const kivo_json_node *root, api_error *e);

/* A private-worker event body (kivo_private_worker_review_run_event.v1), on its own: types,
 * ranges, closed schema, fields a completed event must carry. Matching against the stored run is
 * the route's job. */
void api_validate_pw_event(const kivo_json_node *root, api_error *e);

/* The hosted create body (kivo_review_run_create.v1), including unique source ids. */
void api_validate_hosted_create(const kivo_json_node *root, api_error *e);

/* The longest prefix of valid UTF-8 s[0..len) that is at most max bytes and ends on a character
 * boundary (a cut inside a character would make the error body invalid JSON). */
size_t api_utf8_cut(const char *s, size_t len, size_t max);

/* Number of Unicode code points in valid UTF-8 s[0..len). */
size_t api_utf8_chars(const char *s, size_t len);

/* 1 when the tree node is a string equal to s[0..len). */
int api_json_str_eq(const kivo_json_node *n, const char *s, size_t len);

/* Whether s[0..len) is a batch id: 1..KIVO_WIRE_BATCH_ID_MAX of [A-Za-z0-9._:-]. */
int api_batch_id_valid(const char *s, size_t len);

/* The message for a bad batch id (a filter or a member). */
#define API_BATCH_ID_RULE "must be 1..128 characters of [A-Za-z0-9._:-]"

#endif
