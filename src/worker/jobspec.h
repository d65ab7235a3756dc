/*
 * jobspec.h - the job spec (kivo_worker_job_spec.v1): what to read, how to find each field, where
 * reports go. Loading validates everything up front so that a bad spec fails before any work.
 */
#ifndef KIVO_WORKER_JOBSPEC_H
#define KIVO_WORKER_JOBSPEC_H

#include <stddef.h>

#include "kivo/record.h"
#include "kivo/review.h"
#include "metadata.h"

/* limits.max_line_bytes when the spec has none. Memory grows with it on every thread (each holds
 * a few read chunks with their reports and pages, about 35 x this at worst: 64 threads x 8 MiB is
 * about 17 GiB), so it stays well below what one record needs; a spec may raise it to 4 GiB. */
#define WK_DEFAULT_MAX_LINE (8u << 20)

typedef struct wk_jobspec {
    char *dir; /* folder of the spec file: inputs are relative to it */
    char *workflow_id;
    char *workflow_name;  /* may be NULL */
    char *policy_version; /* may be NULL */
    char *worker_id;
    char *batch_id; /* [A-Za-z0-9._:-]{1,128}; "default" unless set */
    kivo_strictness strictness;
    kivo_intended_use intended_use;
    char **inputs;
    size_t n_inputs;
    int inputs_given;   /* inputs came from the command line: relative to the working folder */
    char *field[6];     /* run id, output, sources, source id, title, text pointers */
    kivo_fields fields; /* views of field[] */
    wk_meta_spec meta;  /* fields.metadata and fields.label (metadata.h) */
    char *report_path;  /* resolved against dir */
    char *report_label;
    size_t max_line_bytes;
} wk_jobspec;

#define WK_BATCH_ID_MAX 128
#define WK_BATCH_ID_DEFAULT "default"

/* 1 when s is a batch id: 1 to WK_BATCH_ID_MAX of A-Z a-z 0-9 . _ : - (api.md). */
int wk_batch_id_valid(const char *s);

/* Replaces the spec's batch_id (--batch-id). @return 0, or -1 with a message in err. */
int wk_jobspec_set_batch(wk_jobspec *spec, const char *batch_id, char *err, size_t errlen);

/* Replaces the spec's inputs with paths[0..n) given on the command line (relative to the working
 * folder, "-" for standard input). @return 0, or -1 with a message in err. */
int wk_jobspec_set_inputs(wk_jobspec *spec, char *const *paths, size_t n, char *err, size_t errlen);

/* The folder the inputs are relative to: the spec's folder, or "" (the working folder) for
 * inputs given on the command line. */
const char *wk_jobspec_inputs_dir(const wk_jobspec *spec);

/* The batch id that claim reports, events and create bodies carry, "default" included (issue 15:
 * every report and every event names its batch). Never NULL. */
const char *wk_jobspec_batch(const wk_jobspec *spec);

/* Loads and validates the spec at path. On failure returns non-zero and writes a message naming
 * the field into err. Free with wk_jobspec_free(). */
int wk_jobspec_load(const char *path, wk_jobspec *spec, char *err, size_t errlen);
void wk_jobspec_free(wk_jobspec *spec);

/* Reads a whole file into a malloc'd buffer with KIVO_JSON_PADDING zero bytes after it.
 * Returns 0, or -1 with errno set. */
int wk_read_file(const char *path, char **data, size_t *len);

/* Joins dir and a relative path ("" dir or absolute path: the path itself). malloc'd. */
char *wk_path_join(const char *dir, const char *path);

#endif
