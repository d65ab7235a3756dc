/*
 * ghsummary.h - --github-summary: a Markdown summary of a batch or a compare, appended to the file
 * GitHub Actions names in $GITHUB_STEP_SUMMARY (shown on the run's page). Values that come from
 * the data (run ids, group values) are escaped, so they cannot add Markdown or HTML.
 */
#ifndef KIVO_WORKER_GHSUMMARY_H
#define KIVO_WORKER_GHSUMMARY_H

#include <stddef.h>

#include <jansson.h>

#include "kivo/buf.h"

/* summary: summary.json as an object; fail_on: the --fail-on text or NULL; tripped: the gate's
 * message when it failed, else NULL. Appends to $GITHUB_STEP_SUMMARY; when it is not set, says so
 * in err and returns 1. @return 0, 1, or -1 with err set. */
int wk_github_summary_batch(const json_t *summary, const char *fail_on, const char *tripped,
                            char *err, size_t errlen);

/* The same for a compare result (wk_compare_json). */
int wk_github_summary_compare(const json_t *result, const char *fail_on, const char *tripped,
                              char *err, size_t errlen);

/* The Markdown of each, into out (for tests). @return KIVO_OK or an error status. */
kivo_status wk_markdown_batch(const json_t *summary, const char *fail_on, const char *tripped,
                              kivo_buf *out);
kivo_status wk_markdown_compare(const json_t *result, const char *fail_on, const char *tripped,
                                kivo_buf *out);

/* Appends s as Markdown text that renders as itself: <, > and & as entities, other ASCII
 * punctuation backslash-escaped, line breaks and other control characters as spaces, at most max
 * bytes (cut at a character). */
kivo_status wk_markdown_text(kivo_buf *out, const char *s, size_t max);

#endif
