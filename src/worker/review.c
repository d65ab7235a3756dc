/*
 * review.c - one record reviewed and rendered the same way by `batch` and `run`, and the report
 * store's names for it (see review.h). Everything here is per record and touches no shared
 * state: batch calls it on its reviewing threads.
 */
#include <stdio.h>
#include <string.h>

#include "kivo/report.h"
#include "metadata.h"
#include "review.h"

void wk_report_dir(const char *workflow_id, char out[WK_REPORT_DIR_MAX])
{
    char wf[WK_COMPONENT_MAX];
    wk_path_component(workflow_id, strlen(workflow_id), wf);
    snprintf(out, WK_REPORT_DIR_MAX, "reports/%s", wf);
}

/* "<report_dir>/<run><tail>" into out. */
static int run_path(const char *report_dir, const char *customer_run_id, const char *tail,
                    char *out, size_t len)
{
    char run[WK_COMPONENT_MAX];
    int n;
    wk_path_component(customer_run_id, strlen(customer_run_id), run);
    n = snprintf(out, len, "%s/%s%s", report_dir, run, tail);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int wk_report_run_dir(const char *report_dir, const char *customer_run_id, char *out, size_t len)
{
    return run_path(report_dir, customer_run_id, "", out, len);
}

int wk_report_pointer(const char *report_dir, const char *customer_run_id, char *out, size_t len)
{
    return run_path(report_dir, customer_run_id, "/" WK_REPORT_FILE, out, len);
}

kivo_packet wk_review_packet(const wk_jobspec *spec, const kivo_record *rec)
{
    kivo_packet pk;
    pk.output = rec->output;
    pk.output_len = rec->output_len;
    pk.sources = rec->sources;
    pk.n_sources = rec->n_sources;
    pk.strictness = spec->strictness;
    pk.intended_use = spec->intended_use;
    return pk;
}

kivo_run_meta wk_review_meta(const wk_review_job *job, const kivo_record *rec)
{
    const wk_jobspec *spec = job->spec;
    kivo_run_meta meta = {job->review_run_id, rec->customer_run_id, spec->workflow_id,
                          spec->worker_id,    WK_WORKER_VERSION,    spec->policy_version,
                          spec->report_label, spec->strictness,     spec->intended_use,
                          job->batch_id};
    return meta;
}

kivo_status wk_review_record(const wk_review_job *job, kivo_engine *engine, kivo_hasher *hasher,
                             const kivo_json_node *root, const kivo_record *rec, kivo_buf *report,
                             kivo_buf *event, char event_id[KIVO_WIRE_EVENT_ID_SIZE],
                             char report_sha256[KIVO_HASH_TEXT_SIZE], const kivo_review **out)
{
    const wk_jobspec *spec = job->spec;
    kivo_packet pk = wk_review_packet(spec, rec);
    kivo_run_meta meta = wk_review_meta(job, rec);
    char hash[KIVO_HASH_TEXT_SIZE];
    const kivo_review *rv;
    size_t at = report->len;
    kivo_status st;

    if ((st = kivo_engine_review(engine, &pk, &rv)) != KIVO_OK ||
        (st = kivo_report_render(&pk, rv, &meta, report)) != KIVO_OK ||
        (st = wk_meta_splice(&spec->meta, root, report, at)) != KIVO_OK ||
        (st = kivo_hasher_sha256_text(hasher, report->data + at, report->len - at, hash)) !=
            KIVO_OK)
        return st;
    kivo_wire_event ev = {.type = KIVO_EVENT_COMPLETED,
                          .run = &meta,
                          .sequence = job->sequence,
                          .review = rv,
                          .n_sources = rec->n_sources,
                          .report_sha256 = hash};
    if ((st = kivo_wire_event_render(hasher, &ev, event_id, event)) != KIVO_OK)
        return st;
    if (report_sha256)
        memcpy(report_sha256, hash, KIVO_HASH_TEXT_SIZE);
    *out = rv;
    return KIVO_OK;
}
