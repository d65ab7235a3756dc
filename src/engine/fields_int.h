/*
 * fields_int.h - a claim against the record's yes/no fields (fields.c).
 */
#ifndef KIVO_FIELDS_INT_H
#define KIVO_FIELDS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_int.h"

/* Holds the claim toks[0..n) of text against the record's yes/no fields (e->fields) and their
 * groups: KV_CHECK_CONFLICT (hours_int.h) when it names a field against its value, KV_CHECK_NULL
 * when it names one the record does not know. When mark is not NULL, the key words and negations
 * of every field that disagrees are marked in it. @return those bits. */
int kv_fields_check(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                    uint8_t *mark);

/* Marks held each claim term that is a yes/no field's key written as one word ("takeout" for
 * RestaurantsTakeOut, "wifi" for WiFi): the record writes the key, split at its capitals. */
void kv_fields_hold(const kivo_engine *e, kv_claim_scratch *cs);

#endif
