/*
 * pool.c - the hosted-review threads (pool.h): one FIFO queue under one mutex, a condition
 * variable to wake the threads, an atomic count of reserved slots.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pool.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static api_pool_job *queue_head, *queue_tail;
static pthread_t *threads;
static unsigned n_threads, n_slots;
static int stopping;
static atomic_uint reserved;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        api_pool_job *job;
        while (!queue_head && !stopping)
            pthread_cond_wait(&ready, &lock);
        if (!queue_head)
            break;
        job = queue_head;
        queue_head = job->next;
        if (!queue_head)
            queue_tail = NULL;
        pthread_mutex_unlock(&lock);
        job->run(job);
        job->done(job, 1);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int api_pool_start(unsigned n, unsigned slots)
{
    threads = calloc(n, sizeof *threads);
    if (!threads)
        return -1;
    n_slots = slots < n ? n : slots;
    stopping = 0;
    for (n_threads = 0; n_threads < n; n_threads++) {
        if (pthread_create(&threads[n_threads], NULL, worker, NULL) != 0) {
            api_pool_stop();
            return -1;
        }
    }
    return 0;
}

int api_pool_reserve(void)
{
    unsigned now = atomic_load(&reserved);

    do {
        if (now >= n_slots)
            return 0;
    } while (!atomic_compare_exchange_weak(&reserved, &now, now + 1));
    return 1;
}

void api_pool_release(void)
{
    atomic_fetch_sub(&reserved, 1);
}

unsigned api_pool_busy(void)
{
    return atomic_load(&reserved);
}

unsigned api_pool_slots(void)
{
    return n_slots;
}

int api_pool_submit(api_pool_job *job)
{
    int ret = -1;

    job->next = NULL;
    pthread_mutex_lock(&lock);
    if (!stopping) {
        if (queue_tail)
            queue_tail->next = job;
        else
            queue_head = job;
        queue_tail = job;
        pthread_cond_signal(&ready);
        ret = 0;
    }
    pthread_mutex_unlock(&lock);
    return ret;
}

void api_pool_stop(void)
{
    api_pool_job *left;

    if (!threads)
        return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    left = queue_head;
    queue_head = queue_tail = NULL;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    while (left) {
        api_pool_job *next = left->next;
        left->done(left, 0);
        left = next;
    }
    for (unsigned i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    n_threads = 0;
}
