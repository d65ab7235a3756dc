/*
 * routes_private.c - the private-worker endpoints: metadata-only runs, their one-run worker
 * credentials and their events.
 *
 * Every state change happens inside one write transaction and is answered only after COMMIT.
 * A run is (project, batch_id, customer_run_id), an absent batch_id being "default": the same
 * customer run ids in a new batch make new runs. Idempotency: a create repeats on that identity
 * with the same canonical body, an
 * event on (run, event_id) with the same canonical body; "canonical" is the body re-rendered with
 * sorted keys, so white space and key order do not make a retry look different.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "accesslog.h"
#include "cursor.h"
#include "server.h"
#include "timefmt.h"
#include "validate.h"

static int is_terminal(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0;
}

static void internal(api_error *e, api_store *s, const char *what)
{
    api_log_event("error", "%s: %s", what, api_store_error(s));
    api_error_set(e, 500, "internal", "the store failed; retry later");
}

/* ---- POST /v1/private-worker/review-runs ----------------------------------------------------- */

void api_route_pw_create(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_auth *a = &ctx->r->auth;
    api_error e = {0};
    const kivo_json_node *root, *customer, *workflow, *worker, *batch;
    json_t *canon = NULL;
    char *canon_text = NULL;
    unsigned char digest[API_DIGEST_SIZE], cred_digest[API_DIGEST_SIZE];
    char cred[API_TOKEN_TEXT_MAX], run_id[API_RUN_ID_MAX], run_status[16] = "created";
    api_pw_found found;
    int64_t now, expires;
    int in_txn = 0, rc, attempt = 0;
    unsigned status = 201;

    cred[0] = '\0';
    root = api_parse_body(ctx, &e);
    if (!root || api_scan_raw_fields(root, &e))
        goto fail;
    api_validate_pw_create(root, &e);
    if (e.http)
        goto fail;
    canon = api_json_from_node(root);
    api_json_drop_default_batch(canon);
    if (api_json_canonical(canon, &canon_text, digest) != 0 ||
        api_token_generate(API_CRED_PREFIX, cred) != 0 ||
        api_token_digest(cred, strlen(cred), cred_digest) != 0 ||
        api_random_id("rr_", run_id, sizeof run_id) != 0) {
        api_error_set(&e, 500, "internal", "cannot prepare the run");
        goto fail;
    }
    customer = kivo_json_get(root, "customer_run_id");
    workflow = kivo_json_get(root, "workflow_id");
    worker = kivo_json_get(root, "worker_id");
    batch = kivo_json_get(root, "batch_id");
    now = api_now_ms();
    expires = now + ctx->cfg->credential_ttl_ms;

again:
    if (api_store_begin(s) != SQLITE_OK)
        goto store_fail;
    in_txn = 1;
    rc = api_store_pw_by_customer(s, a->project, batch ? batch->str : KIVO_WIRE_BATCH_DEFAULT,
                                  batch ? (int)batch->len : -1, customer->str, (int)customer->len,
                                  &found);
    if (rc == SQLITE_ROW) {
        int64_t row = found.id;
        int same = found.create_digest_len == API_DIGEST_SIZE &&
                   memcmp(found.create_digest, digest, API_DIGEST_SIZE) == 0;
        snprintf(run_id, sizeof run_id, "%s", found.run_id);
        snprintf(run_status, sizeof run_status, "%s", found.status);
        api_store_end(s);
        if (is_terminal(run_status)) {
            api_error_set(&e, 409, "conflict", "run %s is already %s", run_id, run_status);
            api_error_field(&e, "customer_run_id");
            e.reason = "conflict_terminal";
            goto fail;
        }
        if (!same) {
            api_error_set(&e, 409, "conflict",
                          "customer_run_id was already used with a different body");
            api_error_field(&e, "customer_run_id");
            goto fail;
        }
        /* A repeat hands out a fresh credential; storing its digest retires the old one. */
        rc = api_store_pw_reissue(s, row, cred_digest, API_DIGEST_SIZE, now, expires, a->key_id);
        status = 200;
    } else if (rc == SQLITE_DONE) {
        api_pw_new_run run = {
            .run_id = run_id,
            .project = a->project,
            .customer_run_id = customer->str,
            .customer_run_id_len = (int)customer->len,
            .workflow_id = workflow->str,
            .workflow_id_len = (int)workflow->len,
            .worker_id = worker->str,
            .worker_id_len = (int)worker->len,
            .batch_id = batch ? batch->str : KIVO_WIRE_BATCH_DEFAULT,
            .batch_id_len = batch ? (int)batch->len : -1,
            .create_body = canon_text,
            .create_digest = digest,
            .cred_digest = cred_digest,
            .digest_len = API_DIGEST_SIZE,
            .now = now,
            .cred_expires_at = expires,
            .key_id = a->key_id,
        };
        rc = api_store_pw_insert(s, &run);
    }
    if (rc != SQLITE_OK)
        goto store_fail;
    in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    {
        json_t *ans = json_pack("{s:s, s:s}", "review_run_id", run_id, "worker_credential", cred);
        api_json_set_time(ans, "credential_expires_at", expires);
        json_object_set_new(ans, "status", json_string(run_status));
        api_reply_json(out, status, ans);
    }
    goto out;

store_fail:
    if (in_txn)
        api_store_rollback(s);
    in_txn = 0;
    /* Another transaction (maybe another process) got there first: run it again, it then finds
     * that run (PostgreSQL; SQLite writers queue instead). */
    if (api_store_retry(s, &attempt)) {
        status = 201;
        snprintf(run_status, sizeof run_status, "created");
        goto again;
    }
    internal(&e, s, "create");
fail:
    if (in_txn)
        api_store_rollback(s);
    api_reply_error(ctx, out, &e);
out:
    memset(cred, 0, sizeof cred);
    free(canon_text);
    json_decref(canon);
}

/* ---- POST /v1/private-worker/review-runs/{id}/events ---------------------------------------- */

/* Compares the hashes of a completed event with those given at create. */
static void check_hashes(const char *create_body, const kivo_json_node *ev, api_error *e)
{
    json_t *c = json_loads(create_body, 0, NULL);
    json_t *v;

    if (!c) {
        api_error_set(e, 500, "internal", "stored run unreadable");
        return;
    }
    v = json_object_get(c, "output_hash");
    if (v && !api_json_str_eq(kivo_json_get(ev, "output_hash"), json_string_value(v),
                              json_string_length(v))) {
        api_error_set(e, 409, "conflict", "hashes differ from those given at create");
        api_error_field(e, "output_hash");
    }
    v = json_object_get(c, "source_hashes");
    if (v) {
        const kivo_json_node *h = kivo_json_get(ev, "source_hashes");
        const kivo_json_node *x = h->child;
        int same = h->len == json_array_size(v);
        for (size_t i = 0; same && x; i++, x = x->next) {
            json_t *y = json_array_get(v, i);
            same = api_json_str_eq(x, json_string_value(y), json_string_length(y));
        }
        if (!same) {
            api_error_set(e, 409, "conflict", "hashes differ from those given at create");
            api_error_field(e, "source_hashes");
        }
    }
    v = json_object_get(c, "source_count");
    if (v && json_integer_value(v) != kivo_json_get(ev, "source_count")->i) {
        api_error_set(e, 409, "conflict", "source_count differs from the one given at create");
        api_error_field(e, "source_count");
    }
    if (e->http == 409)
        e->reason = "conflict_hash";
    json_decref(c);
}

/* One event request as it goes through its steps. */
typedef struct pw_event {
    const kivo_json_node *root, *event_id, *seq;
    kivo_event_type type;
    json_t *canon;
    char *canon_text; /* the body with sorted keys, and its digest */
    unsigned char digest[API_DIGEST_SIZE];
    int64_t now;
    /* the run as stored */
    int64_t row, last_seq, expires;
    char status[16];
    char *create_body;
    /* the answer */
    json_t *ans;
    char *ans_text;
} pw_event;

/* Step 1, validate: parses the body, refuses raw fields and schema violations, and makes the
 * canonical text and digest that idempotency compares. A body that is not valid gets a 401
 * instead when the credential has expired: only an accepted (hence valid) event may be replayed
 * with an expired credential. @return 0, or -1 with e filled. */
static int event_validate(api_ctx *ctx, pw_event *ev, api_error *e)
{
    const kivo_json_node *type;

    ev->root = api_parse_body(ctx, e);
    if (ev->root && !api_scan_raw_fields(ev->root, e))
        api_validate_pw_event(ev->root, e);
    if (e->http && ctx->r->auth.cred_expired) {
        api_error_clear(e);
        api_error_set(e, 401, "unauthenticated", "this worker credential has expired");
    }
    if (e->http)
        return -1;
    ev->canon = api_json_from_node(ev->root);
    if (api_json_canonical(ev->canon, &ev->canon_text, ev->digest) != 0) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    ev->event_id = kivo_json_get(ev->root, "event_id");
    ev->seq = kivo_json_get(ev->root, "sequence");
    type = kivo_json_get(ev->root, "event_type");
    kivo_event_type_parse(type->str, type->len, &ev->type); /* validated above */
    return 0;
}

/* Step 2, load (inside the write transaction): the credential's run, which may have been
 * re-issued since the headers were checked, and the run as stored. The members that name
 * another run, customer run or worker are listed in e's fields without an error yet: a replay
 * of an accepted event is answered before that matters. @return 0, or -1 with e filled. */
static int event_load(api_ctx *ctx, pw_event *ev, api_error *e)
{
    api_store *s = ctx->t->store;
    api_request *r = ctx->r;
    const kivo_json_node *batch;
    api_pw_cred_row cred;
    api_pw_run run;
    int rc;

    rc = api_store_pw_by_cred(s, r->auth.digest, API_DIGEST_SIZE, &cred);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto store_fail;
    if (rc != SQLITE_ROW || cred.id != r->auth.run_row) {
        api_store_end(s);
        api_error_set(e, 401, "unauthenticated", "unknown worker credential");
        return -1;
    }
    ev->expires = cred.cred_expires_at;

    rc = api_store_pw_by_run_id(s, r->id, &run);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto store_fail;
    if (rc != SQLITE_ROW) {
        api_error_set(e, 404, "not_found", "no such run");
        return -1;
    }
    ev->row = run.id;
    snprintf(ev->status, sizeof ev->status, "%s", run.status);
    ev->last_seq = run.last_sequence;
    ev->create_body = strdup(run.create_body);
    if (!api_json_str_eq(kivo_json_get(ev->root, "review_run_id"), r->id, strlen(r->id)))
        api_error_field(e, "review_run_id");
    if (!api_json_str_eq(kivo_json_get(ev->root, "customer_run_id"), run.customer_run_id,
                         run.customer_run_id_len))
        api_error_field(e, "customer_run_id");
    if (!api_json_str_eq(kivo_json_get(ev->root, "worker_id"), run.worker_id, run.worker_id_len))
        api_error_field(e, "worker_id");
    /* An event from a worker before batch ids names none; one that names a batch names its
     * run's. */
    batch = kivo_json_get(ev->root, "batch_id");
    if (batch && !api_json_str_eq(batch, run.batch_id, strlen(run.batch_id)))
        api_error_field(e, "batch_id");
    api_store_end(s);
    if (!ev->create_body) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    return 0;
store_fail:
    internal(e, s, "event");
    return -1;
}

/* A retry of an accepted event gets the first answer, even after the run ended; the same
 * event_id with another body is a conflict. @return 1 when out holds the first answer, 0 when
 * the event is new, -1 with e filled. */
static int event_replay(api_ctx *ctx, pw_event *ev, api_reply *out, api_error *e)
{
    api_store *s = ctx->t->store;
    const void *digest;
    const char *answer;
    size_t digest_len;
    int rc, same;

    rc = api_store_pw_event_get(s, ev->row, ev->event_id->str, (int)ev->event_id->len, &digest,
                                &digest_len, &answer);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        api_error_clear(e);
        internal(e, s, "event");
        return -1;
    }
    same = digest_len == API_DIGEST_SIZE && memcmp(digest, ev->digest, API_DIGEST_SIZE) == 0;
    if (same) {
        out->status = 200;
        out->text = strdup(answer);
        out->text_len = out->text ? strlen(out->text) : 0;
    }
    api_store_end(s);
    api_error_clear(e);
    if (!same) {
        api_error_set(e, 409, "conflict", "event_id was already used with a different body");
        api_error_field(e, "event_id");
        e->reason = "conflict_event_id";
        return -1;
    }
    if (!out->text) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    return 1;
}

/* Step 3, check: a new event needs a live credential, a run that has not ended, the ids of its
 * own run, a sequence above the last accepted and, to complete, the hashes given at create.
 * @return 0, or -1 with e filled. */
static int event_check(api_ctx *ctx, pw_event *ev, api_error *e)
{
    if (ctx->r->auth.cred_expired || ev->now >= ev->expires) {
        api_error_clear(e);
        api_error_set(e, 401, "unauthenticated", "this worker credential has expired");
        return -1;
    }
    if (is_terminal(ev->status)) {
        api_error_clear(e);
        api_error_set(e, 409, "conflict", "the run is already %s", ev->status);
        e->reason = "conflict_terminal";
        return -1;
    }
    if (e->fields) {
        api_error_set(e, 409, "conflict",
                      "the event names another run, customer run, worker or batch");
        e->reason = "conflict_run_mismatch";
        return -1;
    }
    if (ev->seq->i <= ev->last_seq) {
        api_error_set(e, 409, "conflict", "sequence must be above the last accepted (%lld)",
                      (long long)ev->last_seq);
        api_error_field(e, "sequence");
        e->reason = "conflict_sequence";
        return -1;
    }
    if (ev->type == KIVO_EVENT_COMPLETED) {
        check_hashes(ev->create_body, ev->root, e);
        if (e->http)
            return -1;
    }
    return 0;
}

/* Step 4, commit: stores the event with its answer and moves the run on (status, sequence, and
 * for a terminal event its verdict and body), then commits. @return 0, or -1 with e filled (the
 * caller rolls back). */
static int event_commit(api_ctx *ctx, pw_event *ev, int *in_txn, api_error *e)
{
    api_store *s = ctx->t->store;
    const char *new_status = kivo_event_status_name(ev->type);
    int terminal = ev->type == KIVO_EVENT_COMPLETED || ev->type == KIVO_EVENT_FAILED;
    const kivo_json_node *verdict = NULL;
    api_pw_new_event row = {0};
    api_pw_advance adv = {0};

    ev->ans = json_pack("{s:b, s:s%, s:s}", "accepted", 1, "event_id", ev->event_id->str,
                        ev->event_id->len, "run_status", new_status);
    ev->ans_text = ev->ans ? json_dumps(ev->ans, JSON_COMPACT) : NULL;
    if (!ev->ans_text) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    row.run = ev->row;
    row.event_id = ev->event_id->str;
    row.event_id_len = (int)ev->event_id->len;
    row.sequence = ev->seq->i;
    row.event_type = kivo_event_type_name(ev->type);
    row.body = ev->canon_text;
    row.body_digest = ev->digest;
    row.digest_len = API_DIGEST_SIZE;
    row.answer = ev->ans_text;
    row.received_at = ev->now;
    if (ev->type == KIVO_EVENT_COMPLETED)
        verdict = kivo_json_get(ev->root, "gate_verdict");
    adv.run = ev->row;
    adv.status = new_status;
    adv.sequence = ev->seq->i;
    adv.now = ev->now;
    adv.gate_verdict = verdict ? verdict->str : NULL;
    adv.gate_verdict_len = verdict ? (int)verdict->len : 0;
    adv.terminal_body = terminal ? ev->canon_text : NULL;
    if (api_store_pw_event_insert(s, &row) != SQLITE_OK ||
        api_store_pw_advance(s, &adv) != SQLITE_OK)
        goto store_fail;
    *in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    return 0;
store_fail:
    api_error_clear(e);
    internal(e, s, "event");
    return -1;
}

void api_route_pw_event(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    pw_event ev = {.type = KIVO_EVENT_STARTED, .now = api_now_ms()};
    int in_txn = 0, replay, attempt = 0;

    if (event_validate(ctx, &ev, &e) != 0)
        goto fail;
again:
    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    if (event_load(ctx, &ev, &e) != 0)
        goto fail;
    replay = event_replay(ctx, &ev, out, &e);
    if (replay < 0)
        goto fail;
    if (replay) {
        /* Nothing was written: the transaction only ends. */
        in_txn = 0;
        api_store_commit(s);
        goto out;
    }
    if (event_check(ctx, &ev, &e) != 0 || event_commit(ctx, &ev, &in_txn, &e) != 0)
        goto fail;
    ctx->r->event_type = (int)ev.type;
    api_reply_json(out, 202, ev.ans);
    ev.ans = NULL;
    goto out;

fail:
    if (in_txn)
        api_store_rollback(s);
    in_txn = 0;
    /* Lost a race with another transaction on this run (PostgreSQL): run it again from the
     * load, which then sees the other one's event. */
    if (e.http == 500 && api_store_retry(s, &attempt)) {
        api_error_clear(&e);
        json_decref(ev.ans);
        free(ev.ans_text);
        free(ev.create_body);
        ev.ans = NULL;
        ev.ans_text = NULL;
        ev.create_body = NULL;
        goto again;
    }
    api_reply_error(ctx, out, &e);
out:
    json_decref(ev.ans);
    json_decref(ev.canon);
    free(ev.ans_text);
    free(ev.canon_text);
    free(ev.create_body);
}

/* ---- GET one and list ---------------------------------------------------------------------- */

/* The stored metadata of a run, as GET and the list answer it. */
static json_t *run_json(const api_pw_run *r)
{
    static const char *const result_keys[] = {
        "gate_verdict",       "safe_use_status", "claim_count", "unsupported_claim_count",
        "source_count",       "source_hashes",   "output_hash", "redacted_failure_categories",
        "artifact_summaries", "failure_code",    NULL};
    json_t *run = json_loads(r->create_body, 0, NULL);
    json_t *term = NULL;

    if (!run)
        goto out;
    json_object_del(run, "schema_version");
    json_object_set_new(run, "review_run_id", json_string(r->run_id));
    json_object_set_new(run, "project", json_string(r->project));
    json_object_set_new(run, "batch_id", json_string(r->batch_id));
    json_object_set_new(run, "status", json_string(r->status));
    json_object_set_new(run, "gate_verdict", json_null());
    json_object_set_new(run, "safe_use_status", json_null());
    if (r->terminal_body)
        term = json_loads(r->terminal_body, 0, NULL);
    for (size_t i = 0; term && result_keys[i]; i++) {
        json_t *v = json_object_get(term, result_keys[i]);
        if (v)
            json_object_set(run, result_keys[i], v);
    }
    json_object_set_new(run, "last_sequence", json_integer(r->last_sequence));
    json_object_set_new(run, "event_count", json_integer(r->event_count));
    api_json_set_time(run, "created_at", r->created_at);
    api_json_set_time(run, "updated_at", r->updated_at);
    api_json_set_time(run, "terminal_at", r->terminal_at);
    api_json_set_time(run, "credential_expires_at", r->cred_expires_at);
out:
    json_decref(term);
    return run;
}

void api_route_pw_get(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_auth *a = &ctx->r->auth;
    api_error e = {0};
    api_pw_run r;
    json_t *run = NULL;
    int rc = api_store_pw_by_run_id(s, ctx->r->id, &r);

    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        internal(&e, s, "prepare");
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        api_error_set(&e, 404, "not_found", "no such run");
        goto fail;
    }
    if (strcmp(r.project, a->project) != 0) {
        api_error_set(&e, 403, "forbidden", "this run belongs to another project");
        goto fail;
    }
    run = run_json(&r);
    if (!run) {
        api_error_set(&e, 500, "internal", "stored run unreadable");
        goto fail;
    }
    api_store_end(s);
    api_reply_json(out, 200, run);
    return;
fail:
    api_store_end(s);
    api_reply_error(ctx, out, &e);
}

static int list_row(const api_pw_run *r, void *arg)
{
    api_list_page *p = arg;

    if (api_list_full(p))
        return 1;
    api_list_add(p, r->id, run_json(r));
    return 0;
}

static int list_fetch(api_store *s, const api_list_filter *f, api_list_page *p)
{
    return api_store_pw_list(s, f, list_row, p);
}

void api_route_pw_list(api_ctx *ctx, api_reply *out)
{
    api_list_runs(ctx, out, kivo_wire_pw_run_status_names, list_fetch);
}
