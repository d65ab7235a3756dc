/*
 * bgqueue.h - one thread that does a writer's file work in order, beside the thread that makes
 * the bytes: the maker fills a buffer, hands it over with wk_bgq_push() and goes on filling a
 * spare one, while the queue's thread writes it (and opens, syncs and renames files: the jobs are
 * the caller's). At --threads 1 the pages' write(2)s, their write-out and the fdatasync and rename
 * of each closed page then no longer stop the one reviewing thread (docs/performance.md).
 *
 * Jobs run one at a time in the order they were pushed. The first job that fails stops the queue:
 * later jobs are dropped (their buffers returned), and every later push and wait says so, with the
 * failed job's message. Memory: the maker's buffer, at most WK_BGQ_DEPTH queued ones and the one
 * being written.
 */
#ifndef KIVO_WORKER_BGQUEUE_H
#define KIVO_WORKER_BGQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/buf.h"

#define WK_BGQ_DEPTH 2
#define WK_BGQ_MSG_MAX 512

typedef struct wk_bgq wk_bgq;

/* What a job does, on the queue's thread: kind and arg as pushed, buf its bytes (empty for a job
 * pushed without). @return 0, or -1 with a message in err (errlen WK_BGQ_MSG_MAX). */
typedef int (*wk_bgq_fn)(void *ctx, int kind, int64_t arg, const kivo_buf *buf, char *err,
                         size_t errlen);

/* Starts the queue's thread, which calls fn(ctx, ...) for each job. @return the queue, or NULL
 * with errno (the caller then does the jobs itself). */
wk_bgq *wk_bgq_start(wk_bgq_fn fn, void *ctx);

/* Queues a job (waits while WK_BGQ_DEPTH jobs are queued). With buf, its bytes go with the job
 * and *buf becomes an empty spare (its memory kept from an earlier job's buffer when there is
 * one); NULL: a job without bytes. @return 0, or -1 with the message of the job that failed
 * (this one is not queued). */
int wk_bgq_push(wk_bgq *q, int kind, int64_t arg, kivo_buf *buf, char *err, size_t errlen);

/* Waits until every queued job is done. @return 0, or -1 with the failed job's message. */
int wk_bgq_wait(wk_bgq *q, char *err, size_t errlen);

/* Does the queued jobs, stops the thread and frees q. NULL does nothing. */
void wk_bgq_stop(wk_bgq *q);

#endif
