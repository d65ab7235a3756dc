/*
 * hours_int.h - opening hours: a structured record's "hours.Monday: 17:0-21:0" fields read into
 * the engine's kv_hours (index.c), and a claim's days and times held against them (match.c).
 */
#ifndef KIVO_HOURS_INT_H
#define KIVO_HOURS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_int.h"

/* What a check of a claim against a record's fields or hours found (bits). */
#define KV_CHECK_CONFLICT 1 /* the record says otherwise */
#define KV_CHECK_NULL 2     /* the record does not know (a null field or null hours) */

/* Parses "H:M-H:M" (minutes optional) into minutes after midnight; 1 on success. */
int kv_hours_parse(const char *v, size_t len, uint16_t *open, uint16_t *close);

/* The claim toks[0..n) of text against the record's hours (e->hours): KV_CHECK_CONFLICT when it
 * names a time no open day opens or closes at, a day as open that has no hours, or a day as
 * closed that has them, "N days a week" for another count of open days; KV_CHECK_NULL when it names times or open days and the record's hours
 * are null; 0 otherwise. Marks the claim tokens that disagree in mark (may be NULL). */
int kv_hours_check(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                   uint8_t *mark);

/* The N of "N days a week" ("seven days a week", "6 days per week") at token i, 1 to 7; else 0.
 * The claim's count of days open is held against the record's (kv_hours_check). */
int kv_hours_per_week(const char *text, const kv_token *toks, size_t n, size_t i);

/* 1 when "N days a week" at token i says as many days as the record's hours keep open. */
int kv_hours_per_week_kept(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                           size_t i);

#endif
