/* bgqueue.c - one thread doing a writer's file work in order (see bgqueue.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgqueue.h"

typedef struct job {
    int kind;
    int64_t arg;
    kivo_buf buf; /* empty for a job without bytes */
} job;

struct wk_bgq {
    wk_bgq_fn fn;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job queued, a job done, or stop */
    job ring[WK_BGQ_DEPTH];
    size_t head, n; /* queued: ring[head], ... (n of them) */
    int busy;       /* the thread is doing a job it took from the ring */
    int stop;
    int failed;
    char msg[WK_BGQ_MSG_MAX];
    /* Buffers of done jobs, emptied, for the maker's next spare. */
    kivo_buf spare[WK_BGQ_DEPTH + 1];
    size_t n_spare;
};

/* Keeps b's memory for a later spare, or frees it. Under q->mu. */
static void give_back(wk_bgq *q, kivo_buf *b)
{
    kivo_buf_reset(b);
    if (b->data && q->n_spare < sizeof q->spare / sizeof q->spare[0])
        q->spare[q->n_spare++] = *b;
    else
        kivo_buf_free(b);
}

static void *run(void *arg)
{
    wk_bgq *q = arg;
    char err[WK_BGQ_MSG_MAX];
    sigset_t stop;
    /* SIGINT and SIGTERM go to the threads that act on them (the batch stops at a checkpoint). */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->n && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (!q->n)
            break; /* stopped with nothing left */
        job j = q->ring[q->head];
        q->head = (q->head + 1) % WK_BGQ_DEPTH;
        q->n--;
        q->busy = 1;
        int skip = q->failed;
        pthread_cond_broadcast(&q->cv); /* a slot is free */
        pthread_mutex_unlock(&q->mu);
        int rc = skip ? 0 : q->fn(q->ctx, j.kind, j.arg, &j.buf, err, sizeof err);
        pthread_mutex_lock(&q->mu);
        if (rc != 0 && !q->failed) {
            q->failed = 1;
            snprintf(q->msg, sizeof q->msg, "%s", err);
        }
        give_back(q, &j.buf);
        q->busy = 0;
        pthread_cond_broadcast(&q->cv); /* a job done */
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

wk_bgq *wk_bgq_start(wk_bgq_fn fn, void *ctx)
{
    wk_bgq *q = calloc(1, sizeof *q);
    int e;
    if (!q)
        return NULL;
    q->fn = fn;
    q->ctx = ctx;
    if ((e = pthread_mutex_init(&q->mu, NULL)) != 0)
        goto fail;
    if ((e = pthread_cond_init(&q->cv, NULL)) != 0) {
        pthread_mutex_destroy(&q->mu);
        goto fail;
    }
    if ((e = pthread_create(&q->thread, NULL, run, q)) != 0) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        goto fail;
    }
    return q;
fail:
    free(q);
    errno = e;
    return NULL;
}

/* The failed job's message into err. Under q->mu. @return -1. */
static int failed(wk_bgq *q, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", q->msg);
    return -1;
}

int wk_bgq_push(wk_bgq *q, int kind, int64_t arg, kivo_buf *buf, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    while (q->n == WK_BGQ_DEPTH && !q->failed)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->failed) {
        rc = failed(q, err, errlen);
    } else {
        job *j = &q->ring[(q->head + q->n) % WK_BGQ_DEPTH];
        j->kind = kind;
        j->arg = arg;
        kivo_buf_init(&j->buf, 0);
        if (buf) {
            j->buf = *buf;
            if (q->n_spare)
                *buf = q->spare[--q->n_spare];
            else
                kivo_buf_init(buf, j->buf.max);
        }
        q->n++;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int wk_bgq_wait(wk_bgq *q, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    /* After a failure the jobs left are dropped, quickly: waited for all the same. */
    while (q->n || q->busy)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->failed)
        rc = failed(q, err, errlen);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void wk_bgq_stop(wk_bgq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    for (size_t i = 0; i < q->n_spare; i++)
        kivo_buf_free(&q->spare[i]);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
