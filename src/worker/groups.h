/*
 * groups.h - --group-by NAME[,NAME]: the values of metadata fields (fields.metadata) that runs
 * are broken down by. Each field is its own breakdown (by model, and separately by split). A
 * field keeps at most WK_GROUP_MAX_VALUES distinct values; runs with any value after that share
 * one "other" group, so memory stays bounded when a field is nearly unique per run.
 *
 * A group is a small number, its slot; callers keep their own counts per slot (a batch a tally,
 * compare a paired table), in arrays of wk_groups_slots() entries.
 */
#ifndef KIVO_WORKER_GROUPS_H
#define KIVO_WORKER_GROUPS_H

#include <stddef.h>

#include <jansson.h>

#include "metadata.h"

#define WK_GROUP_MAX_FIELDS 8
#define WK_GROUP_MAX_VALUES 1000
#define WK_GROUP_OTHER WK_GROUP_MAX_VALUES /* the slot of the values over the limit */

typedef struct wk_groups wk_groups;

/*
 * Parses a --group-by list ("model,split": names separated by commas, each at most once, at most
 * WK_GROUP_MAX_FIELDS). With a job spec (m not NULL) every name must be one of its
 * fields.metadata names; without one (compare reads names from reports) any valid name goes.
 * @return 0 and *out, or -1 with a message in err.
 */
int wk_groups_create(const char *list, const wk_meta_spec *m, wk_groups **out, char *err,
                     size_t errlen);
void wk_groups_free(wk_groups *g);

size_t wk_groups_fields(const wk_groups *g);
const char *wk_groups_name(const wk_groups *g, size_t field);
/* With a job spec: the field's index in m's names. */
size_t wk_groups_meta_index(const wk_groups *g, size_t field);

/* Slots per field: WK_GROUP_MAX_VALUES values and WK_GROUP_OTHER. */
#define wk_groups_slots() (WK_GROUP_MAX_VALUES + 1)

/* The slot of a value (value[0..len); NULL: the run has no value for the field). A new value takes
 * the next free slot, or WK_GROUP_OTHER once all are taken. @return the slot, or -1 without
 * memory. */
int wk_groups_slot(wk_groups *g, size_t field, const char *value, size_t len);

/* The slots in use of a field, ordered by value (bytes; no value last, "other" not included).
 * @return how many were written to slots (room for WK_GROUP_MAX_VALUES). */
size_t wk_groups_sorted(const wk_groups *g, size_t field, int *slots);

/* A slot's value as JSON: a string, or null for no value. A new reference. */
json_t *wk_groups_value_json(const wk_groups *g, size_t field, int slot);

/* 1 when the field had more values than it could keep. */
int wk_groups_overflowed(const wk_groups *g, size_t field);

/* The value of slot (NULL for no value or OTHER) and its length. */
const char *wk_groups_value(const wk_groups *g, size_t field, int slot, size_t *len);

#endif
