/*
 * batch.h - `kivo-worker batch`: a whole corpus reviewed on every core, offline.
 *
 * Output: DIR/summary.json, DIR/events.jsonl, DIR/rejects.jsonl and the reports: by default the
 * report store v2 (docs/report-store.md), DIR/reports/part-NNNNN.jsonl[.zst] with the reports in
 * input order and DIR/reports/index mapping each run to its bytes; with --layout per-run,
 * DIR/reports/<workflow_id>/<customer_run_id>/claim_report.json, both ids path-encoded, and a
 * claim_report.html beside the report of each run --html picks (v2: the runs --html picks on
 * DIR/pages/NNNN.html, 500 a page, pages.h). Unless --html none, DIR/index.html.
 * DIR is opened once; everything below it is reached from its descriptor without following links
 * and written atomically, with the modes of output.h.
 */
#ifndef KIVO_WORKER_BATCH_H
#define KIVO_WORKER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "html.h"
#include "jobspec.h"
#include "kivo/review.h"
#include "kivo/status.h"

/* --layout: the report store v2 (parts and an index; the default) or one folder per run. */
typedef enum wk_layout { WK_LAYOUT_V2 = 0, WK_LAYOUT_PER_RUN } wk_layout;

typedef struct wk_batch_opts {
    const char *out_dir;            /* overrides report_store.path when not NULL */
    int threads;                    /* 0: all cores */
    int progress;                   /* a wk_progress_mode (progress.h): a bar, lines, or nothing */
    double progress_interval;       /* seconds between progress lines; 0: the default (30) */
    int verbose;                    /* a line per input file once read (-v) */
    const char *metrics_file;       /* --metrics-file, or NULL. The caller writes it at the end; a
                                 * checkpoint calls wk_metrics_file_write(metrics_file, sum,
                                 * spec, 1, 0) (metrics_file.h) */
    size_t chunk_bytes;             /* 0: the default */
    wk_html_mode html;              /* which runs get claim_report.html (0: flagged); index.html */
    int lock_fd;                    /* out: the out folder's descriptor, holding its lock
                                 * (wk_dir_lock) when the batch got that far; -1 if not opened.
                                 * The caller closes it once it is done with the folder */
    struct wk_breakdown *breakdown; /* labels and --group-by (breakdown.h), or NULL; fed here */
    struct wk_junit *junit;         /* --junit (junit.h), or NULL: a testcase per run is added */
    wk_layout layout;               /* --layout */
    unsigned long long part_size;   /* --part-size (v2); 0: WK_PART_SIZE_DEFAULT */
    int compress;                   /* --compress (v2): parts.h's wk_compress */
    const char *spec_path;          /* the job spec's file, for the batch's identity (or NULL) */
    const char *group_by;           /* --group-by as given, for the options' identity (or NULL) */
    int overwrite;                  /* --overwrite: an out folder of another batch is taken */
    uint64_t checkpoint_bytes;      /* v2: input bytes between checkpoints; 0: the default */
    const char *reuse;              /* --reuse: a previous batch's out folder (v2), or NULL */
    unsigned page_runs;             /* v2: runs per page (pages.h), 1..500; 0: 500 */
    const struct wk_shard *shard;   /* --shard K/N (shard.h), or NULL: all of the inputs */
    int merged_only;                /* kivo-worker-mpi's rank folder, read only by the merge:
                                     * its index is made without the lookup indexes */
} wk_batch_opts;

#define WK_FIRST_KEYS_MAX 320
#define WK_FIRST_REJECT_MAX 320

typedef struct wk_summary {
    uint64_t files, records_read, records_reviewed, records_rejected, duplicates;
    uint64_t reused;          /* --reuse: reviewed runs whose report was carried over (in
                      * records_reviewed too); summary.json's records_reused */
    uint64_t reused_lines;    /* --reuse: of those, carried by their unchanged input line
                               * (reuse.h's line key); summary.json's records_reused_unchanged */
    int reuse;                /* --reuse was given: summary.json has records_reused */
    uint64_t case_collisions; /* reviewed run ids that differ from an earlier one only in case */
    uint64_t claims, unsupported_claims, bytes;
    uint64_t verdicts[3];                /* by kivo_verdict */
    uint64_t categories[KIVO_CAT_COUNT]; /* runs with each failure category */
    double seconds;
    int threads;
    const char *layout;                   /* "v2" or "per-run" */
    uint64_t parts;                       /* v2: parts written */
    const char *compression;              /* v2: "none" or "zstd" */
    uint64_t pages;                       /* v2: pages written (DIR/pages/NNNN.html) */
    int interrupted;                      /* the signal that stopped the batch, or 0 */
    int resumed;                          /* it went on from a checkpoint */
    uint32_t shard_k, shard_n;            /* --shard K/N; shard_n 0: not a shard */
    const struct wk_breakdown *breakdown; /* adds "evaluation" and "groups", or NULL */
    /* For the message of a batch that rejects every record (not in summary.json; empty after a
     * resume): the first record's top-level keys ("a", "b", or what it is instead), and the
     * first reject's reason (it names the JSON Pointer that found nothing). */
    char first_keys[WK_FIRST_KEYS_MAX];
    char first_reject[WK_FIRST_REJECT_MAX];
} wk_summary;

/* Runs the job; writes the output layout under the out folder. Rejected records are data, counted
 * in sum (records_rejected), not a failure. @return KIVO_OK; or, with the message in err,
 * KIVO_EINVAL (an input pattern matches nothing or cannot be read), KIVO_EBUSY (another
 * kivo-worker holds the out folder) or KIVO_EIO (reading, writing, memory). */
kivo_status wk_batch_run(const wk_jobspec *spec, wk_batch_opts *opts, wk_summary *sum, char *err,
                         size_t errlen);

/* A line of rejects.jsonl (file, line, offset, reason[, customer_run_id]), for json_dumps with
 * JSON_COMPACT; NULL when out of memory. merge.c renders the duplicates it finds with it. */
struct json_t *wk_batch_reject_json(const char *file, uint64_t line, uint64_t offset,
                                    const char *reason, const char *run_id);

/* Renders the summary as JSON (with a newline) into a malloc'd string. */
char *wk_summary_json(const wk_summary *sum, const wk_jobspec *spec, const char *out_dir);

#endif
