/*
 * submit.h - sending an outbox to kivo-api: nothing lost, nothing twice.
 *
 * Reads DIR/events.jsonl in order and, for every event the state log does not call sent or dead:
 *   - with a project API key (bulk): creates the event's run (idempotent on customer_run_id; the
 *     body is rebuilt the same way every time from the event and DIR/outbox.json), keeps the
 *     one-run credential in memory only, notes "created <review_run_id>" durably, then posts the
 *     event with review_run_id filled in;
 *   - with one run's worker credential (`run`): posts the events of that run in order.
 * An event is noted sent only after 202, or 200 for a replay. No answer, 429 and 5xx are retried
 * with exponential backoff and jitter (honouring Retry-After) until `deadline_s` passes without
 * any answer; the events left are pending for the next `submit`. Any other 4xx is final: the event
 * goes to DIR/dead-letter.jsonl with the server's error. A run found terminal on re-create (the
 * worker died after the server accepted its event) is checked with a GET and noted sent when the
 * stored result is the event's.
 */
#ifndef KIVO_WORKER_SUBMIT_H
#define KIVO_WORKER_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/status.h"

typedef struct wk_send_opts {
    const char *base_url;
    const char *api_key;    /* bulk: project key with private_worker:write/read */
    const char *credential; /* or: the worker credential of review_run_id */
    const char *review_run_id;
    int concurrency;   /* transfers in flight (default 16) */
    double deadline_s; /* stop retrying after this long without an answer (default 300) */
    long timeout_ms;   /* per request (default 30000) */
    int quiet;         /* no per-problem lines on stderr */
} wk_send_opts;

/* What became of the events a send tried to deliver. */
typedef enum wk_send_outcome {
    WK_SEND_DONE = 0, /* every event acknowledged (now or before) */
    WK_SEND_REFUSED,  /* kivo-api refused the token, or some events (see dead-letter.jsonl) */
    WK_SEND_PENDING   /* some events still to send: no usable answer in time */
} wk_send_outcome;

typedef struct wk_send_stats {
    wk_send_outcome outcome;
    uint64_t events;       /* lines in events.jsonl */
    uint64_t already;      /* sent or dead before this call */
    uint64_t elsewhere;    /* noted as another shard's run (WK_STATE_ELSEWHERE): not sent */
    uint64_t sent;         /* acknowledged now (202) */
    uint64_t replayed;     /* acknowledged now as a replay (200) or found done on the server */
    uint64_t runs_created; /* 201 */
    uint64_t runs_reused;  /* 200 on create: the run existed */
    uint64_t dead;         /* dead-lettered now */
    uint64_t pending;      /* still to send */
    uint64_t requests, retries;
    long last_error_status; /* of the last dead letter (401, 403, ...), 0 if none */
    char last_error[1024];  /* its message */
    double seconds;
} wk_send_stats;

/* Sends the outbox in dir; stats say what became of its events (a refusal's message is in err
 * too). @return KIVO_OK when the send ran its course, whatever kivo-api answered; or, with the
 * message in err, KIVO_EINVAL (no token, an unreadable outbox.json, a bad base URL), KIVO_EIO
 * (the outbox's files, libcurl) or KIVO_ENOMEM. */
kivo_status wk_send_outbox(const char *dir, const wk_send_opts *opts, wk_send_stats *stats,
                           char *err, size_t errlen);

/* One line for people: "1000 events: 1000 sent, 0 already sent, ...". */
void wk_send_stats_print(const wk_send_stats *s, const char *dir);

#endif
