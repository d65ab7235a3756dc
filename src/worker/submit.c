/*
 * submit.c - the sender: an outbox's pending events to kivo-api, through a window of jobs.
 *
 * A job is one run: the consecutive events of events.jsonl with the same customer_run_id (one
 * completed event per run in a batch; started then completed for `run`). Each job makes one
 * request at a time, so a run's events keep their order, while up to `concurrency` jobs have a
 * request in flight at once over kept-alive connections. A job is a small state machine:
 *
 *   CREATE --201/200--> DURABLE --state synced--> EVENT --202/200--> next event ... done
 *      \--409 (run terminal)--> VERIFY (GET) --stored result is ours--> done
 *
 * DURABLE exists so that "created <review_run_id>" is on disk before an event that may make that
 * run terminal leaves: after a crash, a terminal run can then always be found and checked. All
 * jobs waiting in DURABLE share one fdatasync per turn of the loop (group commit).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "kivo/json.h"
#include "kivo/wire.h"
#include "outbox.h"
#include "output.h"
#include "review.h"
#include "submit.h"

#define RUNS_PATH "/v1/private-worker/review-runs"
#define BACKOFF_BASE 0.2
#define BACKOFF_CAP 5.0
#define CRED_MAX 256

enum { STEP_CREATE = 0, STEP_DURABLE, STEP_EVENT, STEP_VERIFY, STEP_DONE };

typedef struct ev {
    char id[WK_ID_MAX];
    json_t *body;
    int terminal; /* completed or failed */
} ev;

typedef struct job {
    int used, busy, step, attempts, recreated;
    char *crid;
    char rr[WK_ID_MAX];
    char cred[CRED_MAX];
    ev *evs;
    size_t n, cap, cur;
    double next_at;
    char *create_body;
    char *body;        /* what the request in flight sends */
    long saved_status; /* the 409 that sent us to VERIFY */
    json_t *saved_error;
    wk_request req;
} job;

typedef struct sender {
    const char *dir; /* the outbox */
    const wk_send_opts *o;
    wk_send_stats *st;
    wk_outbox *ob;
    wk_outbox_meta meta;
    int have_meta;
    wk_client *client;
    kivo_json_parser *parser;
    FILE *in;
    char *line;
    size_t line_cap;
    kivo_buf pad; /* the line with simdjson's padding */
    uint64_t line_no;
    int input_done;
    /* The next event, already read, that starts another job. */
    int have_next;
    ev next;
    char *next_crid;
    const char *next_rr;
    job *jobs;
    int n_jobs;
    double last_progress;
    int stopping;
    kivo_status fatal;   /* why the whole send had to stop (KIVO_OK: it did not) */
    int refused;         /* kivo-api refused the token itself: the send stopped */
    int said_no_answer;  /* the first "no answer, retrying" line is out */
    char no_answer[300]; /* the last transport failure, for the closing message */
    char *err;
    size_t errlen;
} sender;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double jitter(void)
{
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

static void job_free(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        json_decref(j->evs[i].body);
    free(j->evs);
    free(j->crid);
    free(j->create_body);
    free(j->body);
    json_decref(j->saved_error);
    wk_request_clear(&j->req);
    memset(j->cred, 0, sizeof j->cred);
    memset(j, 0, sizeof *j);
}

/* The server's error object of a finished request, new reference, or NULL. */
static json_t *server_error(sender *s, const wk_request *r)
{
    const kivo_json_node *root, *e;
    if (r->response.len == 0 || r->response.cap < r->response.len + KIVO_JSON_PADDING ||
        kivo_json_parse(s->parser, r->response.data, r->response.len, r->response.cap, 0, &root) !=
            KIVO_OK ||
        !(e = kivo_json_get(root, "error")))
        return NULL;
    return wk_json_from_node(e);
}

static json_t *local_error(const char *code, const char *message, const char *field)
{
    json_t *e = json_object();
    if (!e)
        return NULL;
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(message));
    if (field)
        json_object_set_new(e, "fields", json_pack("[s]", field));
    return e;
}

static void say(sender *s, const char *fmt, const char *a, const char *b)
{
    if (!s->o->quiet)
        fprintf(stderr, fmt, a, b);
}

/* Dead-letters the job's events from cur on. */
static void kill_job(sender *s, job *j, long status, json_t *error, const char *msg)
{
    for (size_t i = j->cur; i < j->n; i++) {
        if (wk_outbox_dead(s->ob, j->evs[i].id, j->crid, j->rr[0] ? j->rr : NULL, status, error) !=
                0 &&
            !s->fatal && !s->refused) {
            snprintf(s->err, s->errlen, "cannot write %s/dead-letter.jsonl: %s",
                     wk_outbox_dir(s->ob), strerror(errno));
            s->fatal = KIVO_EIO;
        }
        s->st->dead++;
    }
    s->st->last_error_status = status;
    snprintf(s->st->last_error, sizeof s->st->last_error, "%s", msg);
    say(s, "kivo-worker: event of customer run %s dead-lettered: %s\n", j->crid, msg);
    j->cur = j->n;
    j->step = STEP_DONE;
}

static void mark_sent(sender *s, job *j, int replay)
{
    if (wk_outbox_note(s->ob, j->evs[j->cur].id, WK_STATE_SENT, j->rr) != 0 && !s->fatal &&
        !s->refused) {
        snprintf(s->err, s->errlen, "cannot note state: %s", strerror(errno));
        s->fatal = KIVO_EIO;
    }
    if (replay)
        s->st->replayed++;
    else
        s->st->sent++;
    j->cur++;
    j->attempts = 0;
    if (j->cur == j->n)
        j->step = STEP_DONE;
}

/* ---- reading events.jsonl ------------------------------------------------------------------- */

static int str_member(const kivo_json_node *root, const char *key, const char **s, size_t *len)
{
    const kivo_json_node *n = kivo_json_get(root, key);
    if (!n || n->type != KIVO_JSON_STRING)
        return -1;
    *s = n->str;
    *len = n->len;
    return 0;
}

/* Reads the next event that still has to be sent into s->next. @return 1 read, 0 end, -1 I/O. */
static int read_event(sender *s)
{
    ssize_t n;
    while ((n = getline(&s->line, &s->line_cap, s->in)) > 0) {
        const kivo_json_node *root, *seq;
        const char *id, *crid, *field, *use;
        size_t id_len, crid_len;
        char where[64], msg[512];
        s->line_no++;
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        s->st->events++;
        kivo_buf_reset(&s->pad);
        if (kivo_buf_append(&s->pad, s->line, (size_t)n) != KIVO_OK ||
            kivo_buf_reserve(&s->pad, KIVO_JSON_PADDING) != KIVO_OK)
            return -1;
        snprintf(where, sizeof where, "line-%llu", (unsigned long long)s->line_no);
        if (kivo_json_parse(s->parser, s->pad.data, s->pad.len, s->pad.cap, 0, &root) != KIVO_OK ||
            root->type != KIVO_JSON_OBJECT || str_member(root, "event_id", &id, &id_len) != 0 ||
            !wk_id_safe(id, id_len) || str_member(root, "customer_run_id", &crid, &crid_len) != 0 ||
            !(seq = kivo_json_get(root, "sequence")) || seq->type != KIVO_JSON_NUMBER) {
            json_t *e = local_error("invalid_event",
                                    "not an event with a safe event_id, a "
                                    "customer_run_id and a sequence",
                                    NULL);
            wk_outbox_dead(s->ob, where, NULL, NULL, 0, e);
            json_decref(e);
            s->st->dead++;
            continue;
        }
        memcpy(s->next.id, id, id_len);
        s->next.id[id_len] = '\0';
        const char *rr = NULL;
        int state = wk_outbox_state(s->ob, s->next.id, &rr);
        if (state == WK_STATE_SENT || state == WK_STATE_DEAD) {
            s->st->already++;
            continue;
        }
        if (state == WK_STATE_ELSEWHERE) { /* another shard's run: sent from its outbox */
            s->st->elsewhere++;
            continue;
        }
        /* Defence in depth: raw content never leaves, whatever wrote this file. */
        if (wk_event_raw_field(root, &field, &use)) {
            snprintf(msg, sizeof msg,
                     "the event holds the raw field \"%s\", which never leaves "
                     "your storage; send %s instead",
                     field, use);
            json_t *e = local_error("raw_fields_refused", msg, field);
            wk_outbox_dead(s->ob, s->next.id, NULL, rr, 0, e);
            json_decref(e);
            s->st->dead++;
            say(s, "kivo-worker: event %s refused before sending: %s\n", s->next.id, msg);
            continue;
        }
        const kivo_json_node *type = kivo_json_get(root, "event_type");
        s->next.terminal = kivo_json_streq(type, "completed") || kivo_json_streq(type, "failed");
        if (!(s->next.body = wk_json_from_node(root)))
            return -1;
        free(s->next_crid);
        if (!(s->next_crid = strndup(crid, crid_len)))
            return -1;
        s->next_rr = rr;
        return 1;
    }
    return ferror(s->in) ? -1 : 0;
}

static int job_add(job *j, ev *e)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 2;
        ev *v = realloc(j->evs, cap * sizeof *v);
        if (!v)
            return -1;
        j->evs = v;
        j->cap = cap;
    }
    j->evs[j->n++] = *e;
    memset(e, 0, sizeof *e);
    return 0;
}

/* Fills a free job with the next run's pending events. @return 1, 0 at the end, -1 on error. */
static int next_job(sender *s, job *j)
{
    int r;
    if (!s->have_next) {
        if ((r = read_event(s)) <= 0)
            return r;
        s->have_next = 1;
    }
    memset(j, 0, sizeof *j);
    j->used = 1;
    j->crid = s->next_crid;
    s->next_crid = NULL;
    if (s->next_rr)
        snprintf(j->rr, sizeof j->rr, "%s", s->next_rr);
    if (job_add(j, &s->next) != 0)
        return -1;
    s->have_next = 0;
    while ((r = read_event(s)) == 1) {
        if (strcmp(s->next_crid, j->crid) != 0) {
            s->have_next = 1;
            break;
        }
        if (!j->rr[0] && s->next_rr)
            snprintf(j->rr, sizeof j->rr, "%s", s->next_rr);
        if (job_add(j, &s->next) != 0)
            return -1;
    }
    if (r < 0)
        return -1;
    if (r == 0)
        s->input_done = 1;
    if (s->o->credential) {
        snprintf(j->rr, sizeof j->rr, "%s", s->o->review_run_id);
        snprintf(j->cred, sizeof j->cred, "%s", s->o->credential);
        j->step = STEP_EVENT;
    } else {
        j->step = STEP_CREATE;
    }
    return 1;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* The create body of a job's run into j->create_body (malloc'd): outbox.json's metadata and what
 * the job's last (terminal) event, which knows the most, says of the worker and the hashes.
 * @return KIVO_OK, KIVO_ENOMEM, or KIVO_EINVAL when that event has no worker_id and
 * worker_version strings, or hashes and counts of the wrong type, or the storage pointer would
 * not fit. */
static kivo_status create_body(sender *s, job *j)
{
    const json_t *e = j->evs[j->n - 1].body;
    const json_t *count = json_object_get(e, "source_count");
    const json_t *hashes = json_object_get(e, "source_hashes");
    const json_t *output = json_object_get(e, "output_hash");
    const wk_outbox_meta *m = &s->meta;
    kivo_wire_create c = {0};
    const char **hv = NULL;
    char opaque[1024];
    kivo_buf b;
    kivo_status st = KIVO_EINVAL;

    kivo_buf_init(&b, 0);
    c.customer_run_id = j->crid;
    c.workflow_id = m->workflow_id;
    c.worker_id = json_string_value(json_object_get(e, "worker_id"));
    c.worker_version = json_string_value(json_object_get(e, "worker_version"));
    c.workflow_name = m->workflow_name;
    c.intended_use = m->intended_use;
    c.strictness = m->strictness;
    c.policy_version = m->policy_version;
    /* Events written before batch ids have none: the server reads that as "default". */
    c.batch_id = json_string_value(json_object_get(e, "batch_id"));
    c.source_count = json_is_integer(count) ? (long long)json_integer_value(count) : -1;
    c.output_hash = json_string_value(output);
    if ((count && !json_is_integer(count)) || (hashes && !json_is_array(hashes)) ||
        (output && !c.output_hash))
        goto out;
    if (hashes) {
        c.n_source_hashes = json_array_size(hashes);
        if (!(hv = calloc(c.n_source_hashes + 1, sizeof *hv))) {
            st = KIVO_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < c.n_source_hashes; i++)
            if (!(hv[i] = json_string_value(json_array_get(hashes, i))))
                goto out;
        c.source_hashes = hv;
    }
    if (wk_report_pointer(m->report_prefix, j->crid, opaque, sizeof opaque) != 0)
        goto out; /* outbox.json's prefix is longer than a pointer may be */
    c.storage_label = m->storage_label;
    c.storage_opaque_id = opaque;
    if ((st = kivo_wire_create_render(&c, &b)) == KIVO_OK) {
        j->create_body = b.data; /* the buffer's bytes are malloc'd: the job frees them */
        kivo_buf_init(&b, 0);
    }
out:
    free(hv);
    kivo_buf_free(&b);
    return st;
}

static int start_step(sender *s, job *j)
{
    wk_request *r = &j->req;
    free(j->body);
    j->body = NULL;
    r->user = j;
    r->body = NULL;
    r->body_len = 0;
    switch (j->step) {
    case STEP_CREATE:
        if (!j->create_body) {
            kivo_status st = create_body(s, j);
            if (st == KIVO_EINVAL) {
                json_t *e = local_error("invalid_event",
                                        "the run's last event has no "
                                        "worker_id and worker_version, or hashes of the wrong "
                                        "type (or outbox.json's report_prefix is too long), so "
                                        "its run cannot be created",
                                        NULL);
                kill_job(s, j, 0, e, "the run's last event cannot create its run");
                json_decref(e);
                return 0;
            }
            if (st != KIVO_OK)
                return -1;
        }
        r->method = "POST";
        snprintf(r->path, sizeof r->path, "%s", RUNS_PATH);
        r->token = s->o->api_key;
        r->body = j->create_body;
        break;
    case STEP_EVENT: {
        json_t *b = j->evs[j->cur].body;
        json_object_set_new(b, "review_run_id", json_string(j->rr));
        if (!(j->body = json_dumps(b, JSON_COMPACT)))
            return -1;
        r->method = "POST";
        snprintf(r->path, sizeof r->path, "%s/%s/events", RUNS_PATH, j->rr);
        r->token = j->cred;
        r->body = j->body;
        break;
    }
    case STEP_VERIFY:
        r->method = "GET";
        snprintf(r->path, sizeof r->path, "%s/%s", RUNS_PATH, j->rr);
        r->token = s->o->api_key ? s->o->api_key : j->cred;
        break;
    default: return -1;
    }
    if (r->body)
        r->body_len = strlen(r->body);
    if (wk_client_start(s->client, r) != 0)
        return -1;
    j->busy = 1;
    s->st->requests++;
    return 0;
}

static void retry_later(sender *s, job *j)
{
    double d = BACKOFF_BASE * pow(2.0, j->attempts < 20 ? j->attempts : 20);
    if (d > BACKOFF_CAP)
        d = BACKOFF_CAP;
    d = d / 2 + jitter() * d / 2;
    if (j->req.retry_after > d)
        d = j->req.retry_after;
    j->attempts++;
    j->next_at = mono() + d;
    s->st->retries++;
}

/* Stops the whole send: the token itself was refused, so every other request would be too. */
static void stop_auth(sender *s, job *j, const char *who)
{
    char msg[600];
    wk_request_describe(&j->req, msg, sizeof msg);
    s->st->last_error_status = j->req.status;
    if (j->req.status == 403)
        snprintf(s->st->last_error, sizeof s->st->last_error,
                 "the server refused the %s for run %s (%s): it belongs to another %s, or lacks "
                 "the scope",
                 who, j->rr[0] ? j->rr : j->crid, msg, s->o->api_key ? "project" : "run");
    else
        snprintf(s->st->last_error, sizeof s->st->last_error,
                 "the server did not accept the %s (%s): it is unknown, revoked, expired or was "
                 "replaced by a newer create",
                 who, msg);
    if (!s->fatal)
        s->refused = 1;
    s->stopping = 1;
}

static const char *json_str(const kivo_json_node *o, const char *key, size_t *len)
{
    const kivo_json_node *n = kivo_json_get(o, key);
    if (!n || n->type != KIVO_JSON_STRING)
        return NULL;
    *len = n->len;
    return n->str;
}

static void on_create(sender *s, job *j, const kivo_json_node *root)
{
    wk_request *r = &j->req;
    char msg[600];
    size_t rl = 0, cl = 0;
    const char *rr = root ? json_str(root, "review_run_id", &rl) : NULL;
    const char *cred = root ? json_str(root, "worker_credential", &cl) : NULL;
    if (r->status == 200 || r->status == 201) {
        if (!rr || !wk_id_safe(rr, rl) || !cred || cl >= CRED_MAX) {
            json_t *e = local_error("bad_answer",
                                    "the create answer has no usable "
                                    "review_run_id and worker_credential",
                                    NULL);
            kill_job(s, j, r->status, e, "the create answer was unusable");
            json_decref(e);
            return;
        }
        memcpy(j->rr, rr, rl);
        j->rr[rl] = '\0';
        memcpy(j->cred, cred, cl);
        j->cred[cl] = '\0';
        if (r->status == 201)
            s->st->runs_created++;
        else
            s->st->runs_reused++;
        for (size_t i = j->cur; i < j->n; i++) {
            const char *known = NULL;
            if (wk_outbox_state(s->ob, j->evs[i].id, &known) != WK_STATE_CREATED || !known ||
                strcmp(known, j->rr) != 0) {
                if (wk_outbox_note(s->ob, j->evs[i].id, WK_STATE_CREATED, j->rr) != 0) {
                    snprintf(s->err, s->errlen, "cannot note state: %s", strerror(errno));
                    s->fatal = KIVO_EIO;
                }
            }
        }
        j->step = STEP_DURABLE;
        j->attempts = 0;
        return;
    }
    if (r->status == 401 || r->status == 403) {
        stop_auth(s, j, "API key");
        return;
    }
    wk_request_describe(r, msg, sizeof msg);
    json_t *e = server_error(s, r);
    if (r->status == 409 && j->rr[0] && !j->saved_error) {
        /* The run is terminal: most likely our own event landed before a crash. Check. */
        j->saved_status = r->status;
        j->saved_error = e ? e : json_null();
        j->step = STEP_VERIFY;
        return;
    }
    kill_job(s, j, r->status, e, msg);
    json_decref(e);
}

static void on_event(sender *s, job *j)
{
    wk_request *r = &j->req;
    char msg[600];
    if (r->status == 202 || r->status == 200) {
        mark_sent(s, j, r->status == 200);
        return;
    }
    if (r->status == 401 && s->o->api_key && !j->recreated) {
        /* Credentials live in memory only and are retired by a newer create: get a fresh one. */
        j->recreated = 1;
        j->step = STEP_CREATE;
        return;
    }
    if ((r->status == 401 || r->status == 403) && s->o->credential) {
        stop_auth(s, j, "worker credential");
        return;
    }
    wk_request_describe(r, msg, sizeof msg);
    json_t *e = server_error(s, r);
    if (r->status == 409 && !j->saved_error) {
        j->saved_status = r->status;
        j->saved_error = e ? e : json_null();
        j->step = STEP_VERIFY;
        return;
    }
    kill_job(s, j, r->status, e, msg);
    json_decref(e);
}

/* Does the run the server holds end with our terminal event? */
static int same_result(const kivo_json_node *run, const json_t *ev)
{
    static const char *const keys[] = {"gate_verdict", "output_hash", "failure_code", NULL};
    static const char *const counts[] = {"claim_count", "unsupported_claim_count", "source_count",
                                         NULL};
    const char *type = json_string_value(json_object_get(ev, "event_type"));
    if (!type || !kivo_json_streq(kivo_json_get(run, "status"), type))
        return 0;
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(ev, keys[i]);
        const kivo_json_node *n = kivo_json_get(run, keys[i]);
        if (json_is_string(v) &&
            !(n && n->type == KIVO_JSON_STRING && n->len == json_string_length(v) &&
              memcmp(n->str, json_string_value(v), n->len) == 0))
            return 0;
    }
    for (size_t i = 0; counts[i]; i++) {
        const json_t *v = json_object_get(ev, counts[i]);
        const kivo_json_node *n = kivo_json_get(run, counts[i]);
        if (json_is_integer(v) && !(n && n->is_int && n->i == json_integer_value(v)))
            return 0;
    }
    return 1;
}

static void on_verify(sender *s, job *j, const kivo_json_node *root)
{
    wk_request *r = &j->req;
    char msg[600];
    const json_t *last = j->evs[j->n - 1].body;
    if (r->status == 200 && root && j->evs[j->n - 1].terminal && same_result(root, last)) {
        /* The server already holds this run's result: everything up to it is settled. */
        while (j->cur < j->n)
            mark_sent(s, j, 1);
        return;
    }
    if (r->status == 200 || (r->status >= 400 && r->status < 500)) {
        const char *m = json_string_value(json_object_get(j->saved_error, "message"));
        snprintf(msg, sizeof msg, "%ld conflict: %s%s", j->saved_status, m ? m : "",
                 r->status == 200 ? " (and the run's stored result is not this event's)" : "");
        kill_job(s, j, j->saved_status, json_is_object(j->saved_error) ? j->saved_error : NULL,
                 msg);
        return;
    }
}

static void on_done(sender *s, wk_request *r)
{
    job *j = r->user;
    const kivo_json_node *root = NULL;
    j->busy = 0;
    if (wk_http_transport_fatal(r)) {
        /* Named now, not retried: no later attempt can get past it. Events stay pending. */
        if (!s->stopping)
            snprintf(s->st->last_error, sizeof s->st->last_error,
                     "cannot reach kivo-api at %s: %s (%s); not retried: fix the URL, the "
                     "certificate or the CA bundle, then run `kivo-worker submit`",
                     s->o->base_url, r->curl_error,
                     r->curl_code == CURLE_UNSUPPORTED_PROTOCOL ||
                             r->curl_code == CURLE_URL_MALFORMAT
                         ? "URL"
                         : "TLS");
        s->stopping = 1;
        return;
    }
    if (wk_http_retryable(r)) {
        if (r->status == 0) {
            snprintf(s->no_answer, sizeof s->no_answer, "%s", r->curl_error);
            if (!s->said_no_answer++)
                fprintf(stderr,
                        "kivo-worker: no answer from kivo-api at %s: %s; retrying with "
                        "backoff for up to %.0f s (--retry-deadline)\n",
                        s->o->base_url, r->curl_error,
                        s->o->deadline_s > 0 ? s->o->deadline_s : 300);
        }
        retry_later(s, j);
        return;
    }
    s->last_progress = mono();
    if (r->response.len && r->response.cap >= r->response.len + KIVO_JSON_PADDING &&
        kivo_json_parse(s->parser, r->response.data, r->response.len, r->response.cap, 0, &root) !=
            KIVO_OK)
        root = NULL;
    switch (j->step) {
    case STEP_CREATE: on_create(s, j, root); break;
    case STEP_EVENT: on_event(s, j); break;
    case STEP_VERIFY: on_verify(s, j, root); break;
    default: break;
    }
}

/* ---- the loop -------------------------------------------------------------------------------- */

/*
 * wk_send_outbox() turns a loop of four steps until every job is settled or the send must stop:
 * fill_window() (jobs in, requests out), collect_answers() (or sleep until a retry is due),
 * group_commit() (one fdatasync, then created runs may send events) and check_deadline(). Before
 * it, open_sender(); after it, count_pending() and close_sender().
 */

/* Opens what a send needs: the outbox and its state, outbox.json's metadata (sending with an API
 * key: the create bodies come from it), events.jsonl, the window of jobs (two per transfer, so a
 * job that waits leaves the client work), a JSON parser and the libcurl client. @return KIVO_OK,
 * or with the message in s->err KIVO_EIO, KIVO_EINVAL or KIVO_ENOMEM; close_sender() frees what
 * was opened either way. */
static kivo_status open_sender(sender *s)
{
    const wk_send_opts *o = s->o;
    if (wk_outbox_open(s->dir, &s->ob, s->err, s->errlen) != 0)
        return KIVO_EIO;
    if (o->api_key) {
        if (wk_outbox_meta_read(s->dir, &s->meta, s->err, s->errlen) != 0)
            return KIVO_EINVAL;
        s->have_meta = 1;
    }
    if (!(s->in = wk_outbox_events_read(s->dir))) {
        wk_output_error(s->err, s->errlen, "cannot read", s->dir, "events.jsonl", errno);
        return KIVO_EIO;
    }
    s->n_jobs = (o->concurrency > 0 ? o->concurrency : 16) * 2;
    if (!(s->jobs = calloc((size_t)s->n_jobs, sizeof *s->jobs)) ||
        kivo_json_parser_create(64, &s->parser) != KIVO_OK) {
        snprintf(s->err, s->errlen, "out of memory");
        return KIVO_ENOMEM;
    }
    if (wk_client_create(o->base_url, o->concurrency > 0 ? o->concurrency : 16,
                         o->timeout_ms > 0 ? o->timeout_ms : 30000, &s->client, s->err,
                         s->errlen) != 0)
        return KIVO_EINVAL;
    s->last_progress = mono();
    return KIVO_OK;
}

/* A failure that ends the whole send: what is in flight is left to finish, nothing new starts. */
static void stop_sending(sender *s, kivo_status why)
{
    s->fatal = why;
    s->stopping = 1;
}

/* Refills the window: a finished job's slot takes the next run of events.jsonl (none once the
 * send is stopping). Then starts the next request of every job that is idle, not waiting for the
 * group commit or a backoff, while the client has room. @return the jobs in the window; *wake
 * moves to the earliest backoff that ends before it. */
static int fill_window(sender *s, double now, double *wake)
{
    int active_jobs = 0;
    for (int i = 0; i < s->n_jobs; i++) {
        job *j = &s->jobs[i];
        if (j->used && j->step == STEP_DONE && !j->busy)
            job_free(j);
        if (!j->used && !s->input_done && !s->stopping) {
            int r = next_job(s, j);
            if (r < 0) {
                snprintf(s->err, s->errlen, "cannot read %s/events.jsonl: %s", s->dir,
                         strerror(errno));
                stop_sending(s, KIVO_EIO);
                job_free(j);
            } else if (r == 0) {
                s->input_done = 1;
                job_free(j);
            }
        }
        if (!j->used)
            continue;
        active_jobs++;
        if (j->busy || j->step == STEP_DURABLE || s->stopping)
            continue;
        if (j->next_at > now) {
            if (j->next_at < *wake)
                *wake = j->next_at;
            continue;
        }
        if (!wk_client_has_room(s->client))
            continue;
        if (start_step(s, j) != 0) {
            snprintf(s->err, s->errlen, "out of memory starting a request");
            stop_sending(s, KIVO_EIO);
        }
    }
    return active_jobs;
}

/* Waits up to 50 ms for answers and hands each to its job. With nothing in flight it sleeps
 * until wake instead (the next backoff's end), unless a job waits for the group commit, which
 * comes right after this. */
static void collect_answers(sender *s, double now, double wake)
{
    wk_request *done[64];
    if (wk_client_active(s->client) > 0) {
        int n = wk_client_poll(s->client, 50, done, 64);
        if (n < 0) {
            snprintf(s->err, s->errlen, "libcurl failed");
            stop_sending(s, KIVO_EIO);
        }
        for (int i = 0; i < n; i++)
            on_done(s, done[i]);
    } else if (wake > now) {
        int any_durable = 0;
        for (int i = 0; i < s->n_jobs && !any_durable; i++)
            any_durable = s->jobs[i].used && s->jobs[i].step == STEP_DURABLE;
        if (!any_durable)
            usleep((useconds_t)((wake - now) * 1e6));
    }
}

/* Group commit: one fdatasync for every run created this turn. Only then may those runs send an
 * event that can make them terminal (see the file's head). */
static void group_commit(sender *s)
{
    if (wk_outbox_unsynced(s->ob)) {
        if (wk_outbox_sync(s->ob) != 0) {
            snprintf(s->err, s->errlen, "cannot write %s/outbox.state: %s", s->dir,
                     strerror(errno));
            stop_sending(s, KIVO_EIO);
        }
    }
    for (int i = 0; i < s->n_jobs && !s->stopping; i++)
        if (s->jobs[i].used && s->jobs[i].step == STEP_DURABLE)
            s->jobs[i].step = STEP_EVENT;
}

/* Stops the send when kivo-api has given no usable answer for the deadline (default 300 s): the
 * rest stays pending, and that is said in the stats, not as a failure. */
static void check_deadline(sender *s)
{
    const double deadline = s->o->deadline_s > 0 ? s->o->deadline_s : 300;
    if (!s->stopping && mono() - s->last_progress > deadline) {
        s->stopping = 1;
        snprintf(s->st->last_error, sizeof s->st->last_error,
                 "kivo-api gave no usable answer for %.0f s%s%s%s; the rest stays pending",
                 deadline, s->no_answer[0] ? " (last: " : "", s->no_answer,
                 s->no_answer[0] ? ")" : "");
    }
}

/* After the loop: whatever was not settled is pending, to be sent by the next `submit` (the
 * window's unsent events, the one read ahead, and the rest of events.jsonl, counted), and the
 * send's outcome follows. @return the failure that stopped the send, KIVO_OK if none. */
static kivo_status count_pending(sender *s)
{
    wk_send_stats *st = s->st;
    for (int i = 0; i < s->n_jobs; i++)
        if (s->jobs[i].used)
            st->pending += s->jobs[i].n - s->jobs[i].cur;
    if (s->have_next)
        st->pending++;
    if (!s->input_done) {
        json_decref(s->next.body);
        s->next.body = NULL;
        int r;
        while ((r = read_event(s)) == 1) {
            st->pending++;
            json_decref(s->next.body);
            s->next.body = NULL;
        }
    }
    st->outcome = s->refused    ? WK_SEND_REFUSED
                  : st->pending ? WK_SEND_PENDING
                  : st->dead    ? WK_SEND_REFUSED
                                : WK_SEND_DONE;
    if (s->fatal == KIVO_OK && (st->outcome == WK_SEND_REFUSED || st->outcome == WK_SEND_PENDING) &&
        !s->err[0])
        snprintf(s->err, s->errlen, "%s", st->last_error);
    return s->fatal;
}

/* Frees what open_sender() made, in reverse; outbox.state is closed (and synced) last of the
 * outbox's files. @return rc, or KIVO_EIO when closing the state failed. */
static kivo_status close_sender(sender *s, kivo_status rc)
{
    for (int i = 0; s->jobs && i < s->n_jobs; i++)
        job_free(&s->jobs[i]);
    free(s->jobs);
    json_decref(s->next.body);
    free(s->next_crid);
    wk_client_free(s->client);
    if (s->ob && wk_outbox_close(s->ob) != 0 && rc != KIVO_EIO) {
        snprintf(s->err, s->errlen, "cannot write %s/outbox.state: %s", s->dir, strerror(errno));
        rc = KIVO_EIO;
    }
    if (s->have_meta)
        wk_outbox_meta_free(&s->meta);
    kivo_json_parser_free(s->parser);
    kivo_buf_free(&s->pad);
    free(s->line);
    if (s->in)
        fclose(s->in);
    return rc;
}

kivo_status wk_send_outbox(const char *dir, const wk_send_opts *o, wk_send_stats *st, char *err,
                           size_t errlen)
{
    sender s = {0};
    double t0 = mono();
    kivo_status rc;

    memset(st, 0, sizeof *st);
    s.o = o;
    s.st = st;
    s.dir = dir;
    s.err = err;
    s.errlen = errlen;
    err[0] = '\0';
    kivo_buf_init(&s.pad, 0);
    srand((unsigned)(time(NULL) ^ getpid()));
    if (!o->api_key && !(o->credential && o->review_run_id)) {
        snprintf(err, errlen, "sending needs an API key, or a worker credential and its run id");
        return KIVO_EINVAL;
    }
    if ((rc = open_sender(&s)) == KIVO_OK) {
        for (;;) {
            double now = mono(), wake = now + 0.1;
            int active_jobs = fill_window(&s, now, &wake);
            if (wk_client_active(s.client) == 0 && (s.stopping || (s.input_done && !active_jobs)))
                break;
            collect_answers(&s, now, wake);
            group_commit(&s);
            check_deadline(&s);
        }
        rc = count_pending(&s);
    }
    rc = close_sender(&s, rc);
    st->seconds = mono() - t0;
    return rc;
}

void wk_send_stats_print(const wk_send_stats *s, const char *dir)
{
    fprintf(stderr,
            "kivo-worker: %llu events: %llu sent, %llu replays or found done, %llu already sent "
            "before; runs %llu created, %llu reused; %llu dead-lettered, %llu pending; %llu "
            "requests (%llu retries) in %.2f s\n",
            (unsigned long long)s->events, (unsigned long long)s->sent,
            (unsigned long long)s->replayed, (unsigned long long)s->already,
            (unsigned long long)s->runs_created, (unsigned long long)s->runs_reused,
            (unsigned long long)s->dead, (unsigned long long)s->pending,
            (unsigned long long)s->requests, (unsigned long long)s->retries, s->seconds);
    if (s->elsewhere)
        fprintf(stderr,
                "kivo-worker: %llu events not sent from %s: an earlier shard holds their "
                "customer_run_id (duplicates; the merged store rejects them)\n",
                (unsigned long long)s->elsewhere, dir);
    if (s->dead)
        fprintf(stderr, "kivo-worker: refused events are in %s/dead-letter.jsonl (last: %s)\n", dir,
                s->last_error);
    if (s->pending)
        fprintf(stderr,
                "kivo-worker: %llu events are still pending; send them later with "
                "kivo-worker submit --outbox %s\n",
                (unsigned long long)s->pending, dir);
}
