/*
 * metrics_file.c - a batch's counters as Prometheus text (metrics_file.h). One HELP and TYPE
 * line per metric name, then its samples; label values escaped as the format says (backslash,
 * double quote, newline).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "kivo/wire.h"
#include "metrics_file.h"
#include "output.h"

typedef struct ctx {
    kivo_buf *b;
    char labels[1200]; /* workflow_id="...",batch_id="..." */
    kivo_status st;
} ctx;

/* Appends a label value, escaped, cut to about 500 bytes (ids are at most 512). */
static size_t escape(char *out, size_t cap, const char *v)
{
    size_t k = 0;
    for (; v && *v && k + 3 < cap && k < 500; v++) {
        if (*v == '\\' || *v == '"') {
            out[k++] = '\\';
            out[k++] = *v;
        } else if (*v == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *v;
        }
    }
    out[k] = '\0';
    return k;
}

static void head(ctx *c, const char *name, const char *help)
{
    if (c->st == KIVO_OK)
        c->st = kivo_buf_printf(c->b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One sample; extra is "" or a label pair to add ("verdict=\"pass\""). */
static void sample(ctx *c, const char *name, const char *extra, double v)
{
    if (c->st == KIVO_OK)
        c->st = kivo_buf_printf(c->b, "%s{%s%s%s} %.17g\n", name, c->labels, *extra ? "," : "",
                                extra, v);
}

static void metric(ctx *c, const char *name, const char *help, double v)
{
    head(c, name, help);
    sample(c, name, "", v);
}

kivo_status wk_metrics_render(kivo_buf *out, const wk_summary *s, const wk_jobspec *spec,
                              int running, int exit_code, double now)
{
    ctx c = {out, "", KIVO_OK};
    char wf[520], batch[520], extra[200];
    escape(wf, sizeof wf, spec->workflow_id);
    escape(batch, sizeof batch, spec->batch_id ? spec->batch_id : "default");
    snprintf(c.labels, sizeof c.labels, "workflow_id=\"%s\",batch_id=\"%s\"", wf, batch);

    metric(&c, "kivo_worker_batch_running",
           "1 while the batch runs (a checkpoint), 0 once it "
           "ended.",
           running ? 1 : 0);
    if (!running)
        metric(&c, "kivo_worker_batch_exit_code",
               "The exit code of the batch (0 all reviewed, 3 "
               "some rejected, see kivo-worker(1)).",
               exit_code);
    metric(&c, "kivo_worker_batch_last_update_timestamp_seconds",
           "When this file was written "
           "(Unix time).",
           now);
    metric(&c, "kivo_worker_batch_duration_seconds", "Seconds the batch has run.", s->seconds);
    metric(&c, "kivo_worker_batch_threads", "Threads the batch reviews on.", s->threads);
    metric(&c, "kivo_worker_batch_files", "Input files of the batch.", (double)s->files);
    metric(&c, "kivo_worker_batch_bytes_read", "Bytes of input read (decompressed).",
           (double)s->bytes);
    metric(&c, "kivo_worker_batch_records_read", "Records read.", (double)s->records_read);
    metric(&c, "kivo_worker_batch_records_reviewed", "Records reviewed.",
           (double)s->records_reviewed);
    metric(&c, "kivo_worker_batch_records_rejected",
           "Records rejected (rejects.jsonl), "
           "duplicates included.",
           (double)s->records_rejected);
    metric(&c, "kivo_worker_batch_duplicate_run_ids",
           "Records rejected as a repeated "
           "customer_run_id.",
           (double)s->duplicates);
    metric(&c, "kivo_worker_batch_claims", "Claims checked.", (double)s->claims);
    metric(&c, "kivo_worker_batch_unsupported_claims", "Claims without support.",
           (double)s->unsupported_claims);
    head(&c, "kivo_worker_batch_runs", "Reviewed runs by gate verdict.");
    for (int i = 0; i < 3; i++) {
        snprintf(extra, sizeof extra, "verdict=\"%s\"", kivo_verdict_name((kivo_verdict)i));
        sample(&c, "kivo_worker_batch_runs", extra, (double)s->verdicts[i]);
    }
    head(&c, "kivo_worker_batch_runs_with_category", "Reviewed runs with each failure category.");
    for (int i = 1; i < KIVO_CAT_COUNT; i++) {
        snprintf(extra, sizeof extra, "category=\"%s\"", kivo_category_name((kivo_category)i));
        sample(&c, "kivo_worker_batch_runs_with_category", extra, (double)s->categories[i]);
    }
    head(&c, "kivo_worker_info", "Versions of the worker and its engine.");
    snprintf(extra, sizeof extra, "worker_version=\"%s\",engine_version=\"%s\"",
             KIVO_VERSION_STRING, KIVO_ENGINE_VERSION);
    sample(&c, "kivo_worker_info", extra, 1);
    return c.st;
}

int wk_metrics_file_write(const char *path, const wk_summary *sum, const wk_jobspec *spec,
                          int running, int exit_code)
{
    kivo_buf b;
    struct timeval tv;
    int rc = -1;
    gettimeofday(&tv, NULL);
    kivo_buf_init(&b, 0);
    if (wk_metrics_render(&b, sum, spec, running, exit_code,
                          (double)tv.tv_sec + (double)tv.tv_usec / 1e6) != KIVO_OK) {
        errno = ENOMEM;
        goto out;
    }
    struct iovec v = {b.data, b.len};
    rc = wk_write_file(path, &v, 1, WK_MODE_METRICS, 0);
out:
    kivo_buf_free(&b);
    return rc;
}
