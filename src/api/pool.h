/*
 * pool.h - hosted review on threads of its own.
 *
 * A hosted review runs the claim engine for as long as the packet needs; on libmicrohttpd's pool
 * threads it held every connection of its thread, and eight large packets held them all, so
 * /healthz, authentication and private-worker calls waited behind them. Here the connection is
 * suspended, the review runs on one of the pool's threads, and the connection is resumed with the
 * answer ready. Slots (reviews running or queued, counted from the request's headers, before its
 * body is read) are bounded: past them a hosted create is answered 503 with Retry-After.
 */
#ifndef KIVO_API_POOL_H
#define KIVO_API_POOL_H

/* One review to run. run() is called on a pool thread; done() after it, on the same thread (or
 * on the stopping thread, with ran = 0, for a job that never ran). */
typedef struct api_pool_job {
    void (*run)(struct api_pool_job *job);
    void (*done)(struct api_pool_job *job, int ran);
    struct api_pool_job *next;
} api_pool_job;

/* Starts `threads` review threads; at most `slots` reviews may be running or queued.
 * @return 0, or -1 when a thread cannot start (none is left running). */
int api_pool_start(unsigned threads, unsigned slots);

/* Takes a slot for a request whose body is still to come. @return 1, or 0 when every slot is
 * taken (answer 503). */
int api_pool_reserve(void);

/* Gives back a slot taken by api_pool_reserve (when the request ends, run or not). */
void api_pool_release(void);

/* Queues a job (its slot already reserved). @return 0, or -1 when the pool is stopping. */
int api_pool_submit(api_pool_job *job);

/* Reviews running or queued right now, and the slot limit, for the busy answer. */
unsigned api_pool_busy(void);
unsigned api_pool_slots(void);

/* Stops taking jobs, lets the running ones finish, calls done(job, 0) for the queued ones, and
 * joins the threads. Safe when never started. */
void api_pool_stop(void);

#endif
