/*
 * metrics_file.h - `batch --metrics-file F`: the batch's counters in Prometheus' text exposition
 * format (version 0.0.4), for node_exporter's textfile collector.
 *
 * Every sample is a gauge labelled with the job's workflow_id and batch_id: the file describes
 * the latest batch (or the one running), and a new batch starts from zero, which a Prometheus
 * counter must not do. The file is replaced whole (output.h's wk_write_file(): a new O_EXCL
 * temporary file beside it, never written through a link, then renameat), so the collector never
 * reads half of it; the temporary name ends in ".tmp", which the collector skips.
 *
 * At the end of a batch: kivo_worker_batch_running 0 and the exit code. At a checkpoint of the
 * report store (issue 14): running 1 and the counts so far, through the same call.
 */
#ifndef KIVO_WORKER_METRICS_FILE_H
#define KIVO_WORKER_METRICS_FILE_H

#include "batch.h"
#include "jobspec.h"
#include "kivo/buf.h"
#include "kivo/status.h"

/* Mode of the file: counts and ids only, and the collector often runs as another user. */
#define WK_MODE_METRICS 0644

/* Appends the exposition of sum (a batch of spec) to out. running: 1 at a checkpoint (the exit
 * code is then not written), 0 at the end with exit_code. now: the Unix time to write as the
 * file's update time. @return KIVO_OK or KIVO_ENOMEM. */
kivo_status wk_metrics_render(kivo_buf *out, const wk_summary *sum, const wk_jobspec *spec,
                              int running, int exit_code, double now);

/* Renders and writes path atomically (see above). For the checkpoint hook: call it with
 * running = 1 from the thread that owns sum, between chunks. @return 0, or -1 with errno. */
int wk_metrics_file_write(const char *path, const wk_summary *sum, const wk_jobspec *spec,
                          int running, int exit_code);

#endif
