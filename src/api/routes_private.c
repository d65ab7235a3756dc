/*
 * routes_private.c - the private-worker endpoints: metadata-only runs, their one-run worker
 * credentials and their events.
 *
 * Every state change happens inside one write transaction and is answered only after COMMIT.
 * Idempotency: a create repeats on (project, customer_run_id) with the same canonical body, an
 * event on (run, event_id) with the same canonical body; "canonical" is the body re-rendered with
 * sorted keys, so white space and key order do not make a retry look different.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cursor.h"
#include "server.h"
#include "timefmt.h"
#include "validate.h"

static int is_terminal(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0;
}

static void bind_node(sqlite3_stmt *st, int i, const kivo_json_node *n)
{
    sqlite3_bind_text(st, i, n->str, (int)n->len, SQLITE_TRANSIENT);
}

static int col_eq_node(sqlite3_stmt *st, int col, const kivo_json_node *n)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);

    return v && api_json_str_eq(n, v, len);
}

static void internal(api_error *e, api_store *s, const char *what)
{
    fprintf(stderr, "kivo-api: %s: %s\n", what, api_store_error(s));
    api_error_set(e, 500, "internal", "the store failed; retry later");
}

/* ---- POST /v1/private-worker/review-runs ----------------------------------------------------- */

void api_route_pw_create(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_auth *a = &ctx->r->auth;
    api_error e = {0};
    const kivo_json_node *root, *customer;
    json_t *canon = NULL;
    char *canon_text = NULL;
    unsigned char digest[API_DIGEST_SIZE], cred_digest[API_DIGEST_SIZE];
    char cred[API_TOKEN_TEXT_MAX], run_id[API_RUN_ID_MAX], run_status[16] = "created";
    sqlite3_stmt *st;
    int64_t now, expires;
    int in_txn = 0;
    unsigned status = 201;

    cred[0] = '\0';
    root = api_parse_body(ctx, &e);
    if (!root || api_scan_raw_fields(root, &e))
        goto fail;
    api_validate_pw_create(root, &e);
    if (e.http)
        goto fail;
    canon = api_json_from_node(root);
    if (api_json_canonical(canon, &canon_text, digest) != 0 ||
        api_token_generate(API_CRED_PREFIX, cred) != 0 ||
        api_token_digest(cred, strlen(cred), cred_digest) != 0 ||
        api_random_id("rr_", run_id, sizeof run_id) != 0) {
        api_error_set(&e, 500, "internal", "cannot prepare the run");
        goto fail;
    }
    customer = kivo_json_get(root, "customer_run_id");
    now = api_now_ms();
    expires = now + ctx->cfg->credential_ttl_ms;

    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    st = api_store_stmt(s, S_PW_BY_CUSTOMER);
    if (!st) {
        internal(&e, s, "prepare");
        goto fail;
    }
    sqlite3_bind_text(st, 1, a->project, -1, SQLITE_STATIC);
    bind_node(st, 2, customer);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        int same = sqlite3_column_bytes(st, 3) == API_DIGEST_SIZE &&
                   memcmp(sqlite3_column_blob(st, 3), digest, API_DIGEST_SIZE) == 0;
        snprintf(run_id, sizeof run_id, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(run_status, sizeof run_status, "%s", (const char *)sqlite3_column_text(st, 2));
        sqlite3_reset(st);
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
        st = api_store_stmt(s, S_PW_REISSUE);
        if (!st)
            goto store_fail;
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_blob(st, 2, cred_digest, API_DIGEST_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, expires);
        sqlite3_bind_int64(st, 5, a->key_id);
        status = 200;
    } else {
        sqlite3_reset(st);
        st = api_store_stmt(s, S_PW_INSERT);
        if (!st)
            goto store_fail;
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->project, -1, SQLITE_STATIC);
        bind_node(st, 3, customer);
        bind_node(st, 4, kivo_json_get(root, "workflow_id"));
        bind_node(st, 5, kivo_json_get(root, "worker_id"));
        sqlite3_bind_text(st, 6, canon_text, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, digest, API_DIGEST_SIZE, SQLITE_STATIC);
        sqlite3_bind_blob(st, 8, cred_digest, API_DIGEST_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, now);
        sqlite3_bind_int64(st, 10, expires);
        sqlite3_bind_int64(st, 11, a->key_id);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        goto store_fail;
    }
    sqlite3_reset(st);
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

void api_route_pw_event(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_request *r = ctx->r;
    api_error e = {0};
    const kivo_json_node *root, *event_id, *type, *seq;
    json_t *canon = NULL, *ans = NULL;
    char *canon_text = NULL, *ans_text = NULL, *create_body = NULL;
    unsigned char digest[API_DIGEST_SIZE];
    char status[16];
    const char *new_status;
    sqlite3_stmt *st;
    int64_t row, now = api_now_ms(), last_seq, expires;
    int in_txn = 0;
    kivo_event_type type_ix = KIVO_EVENT_STARTED;

    root = api_parse_body(ctx, &e);
    if (root && !api_scan_raw_fields(root, &e))
        api_validate_pw_event(root, &e);
    if (e.http && r->auth.cred_expired) {
        /* Only an accepted (hence valid) event may be replayed with an expired credential. */
        api_error_clear(&e);
        api_error_set(&e, 401, "unauthenticated", "this worker credential has expired");
    }
    if (e.http)
        goto fail;
    canon = api_json_from_node(root);
    if (api_json_canonical(canon, &canon_text, digest) != 0) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }
    event_id = kivo_json_get(root, "event_id");
    type = kivo_json_get(root, "event_type");
    seq = kivo_json_get(root, "sequence");
    kivo_event_type_parse(type->str, type->len, &type_ix);     /* validated above */

    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    /* The credential may have been re-issued since the headers were checked. */
    st = api_store_stmt(s, S_PW_BY_CRED);
    if (!st)
        goto store_fail;
    sqlite3_bind_blob(st, 1, r->auth.digest, API_DIGEST_SIZE, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != r->auth.run_row) {
        sqlite3_reset(st);
        api_error_set(&e, 401, "unauthenticated", "unknown worker credential");
        goto fail;
    }
    expires = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);

    st = api_store_stmt(s, S_PW_BY_RUN_ID);
    if (!st)
        goto store_fail;
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        api_error_set(&e, 404, "not_found", "no such run");
        goto fail;
    }
    row = sqlite3_column_int64(st, 0);
    snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(st, 6));
    last_seq = sqlite3_column_int64(st, 10);
    create_body = strdup((const char *)sqlite3_column_text(st, 8));
    if (!api_json_str_eq(kivo_json_get(root, "review_run_id"), r->id, strlen(r->id)))
        api_error_field(&e, "review_run_id");
    if (!col_eq_node(st, 3, kivo_json_get(root, "customer_run_id")))
        api_error_field(&e, "customer_run_id");
    if (!col_eq_node(st, 5, kivo_json_get(root, "worker_id")))
        api_error_field(&e, "worker_id");
    sqlite3_reset(st);
    if (!create_body) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }

    /* A retry of an accepted event gets the first answer, even after the run ended. */
    st = api_store_stmt(s, S_PW_EVENT_GET);
    if (!st)
        goto store_fail;
    sqlite3_bind_int64(st, 1, row);
    bind_node(st, 2, event_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int same = sqlite3_column_bytes(st, 0) == API_DIGEST_SIZE &&
                   memcmp(sqlite3_column_blob(st, 0), digest, API_DIGEST_SIZE) == 0;
        if (same) {
            out->status = 200;
            out->text = strdup((const char *)sqlite3_column_text(st, 1));
            out->text_len = out->text ? strlen(out->text) : 0;
        }
        sqlite3_reset(st);
        api_error_clear(&e);
        if (!same) {
            api_error_set(&e, 409, "conflict", "event_id was already used with a different body");
            api_error_field(&e, "event_id");
            e.reason = "conflict_event_id";
            goto fail;
        }
        if (!out->text) {
            api_error_set(&e, 500, "internal", "out of memory");
            goto fail;
        }
        goto done;
    }
    sqlite3_reset(st);

    if (r->auth.cred_expired || now >= expires) {
        api_error_clear(&e);
        api_error_set(&e, 401, "unauthenticated", "this worker credential has expired");
        goto fail;
    }
    if (is_terminal(status)) {
        api_error_clear(&e);
        api_error_set(&e, 409, "conflict", "the run is already %s", status);
        e.reason = "conflict_terminal";
        goto fail;
    }
    if (e.fields) {
        api_error_set(&e, 409, "conflict", "the event names another run, customer run or worker");
        e.reason = "conflict_run_mismatch";
        goto fail;
    }
    if (seq->i <= last_seq) {
        api_error_set(&e, 409, "conflict", "sequence must be above the last accepted (%lld)",
                      (long long)last_seq);
        api_error_field(&e, "sequence");
        e.reason = "conflict_sequence";
        goto fail;
    }
    if (type_ix == KIVO_EVENT_COMPLETED) {
        check_hashes(create_body, root, &e);
        if (e.http)
            goto fail;
    }
    new_status = kivo_event_status_name(type_ix);
    ans = json_pack("{s:b, s:s%, s:s}", "accepted", 1, "event_id", event_id->str, event_id->len,
                    "run_status", new_status);
    ans_text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    if (!ans_text) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }

    st = api_store_stmt(s, S_PW_EVENT_INSERT);
    if (!st)
        goto store_fail;
    sqlite3_bind_int64(st, 1, row);
    bind_node(st, 2, event_id);
    sqlite3_bind_int64(st, 3, seq->i);
    sqlite3_bind_text(st, 4, kivo_event_type_name(type_ix), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, canon_text, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, digest, API_DIGEST_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, ans_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        goto store_fail;
    }
    sqlite3_reset(st);

    st = api_store_stmt(s, S_PW_ADVANCE);
    if (!st)
        goto store_fail;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, new_status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, seq->i);
    sqlite3_bind_int64(st, 4, now);
    if (type_ix == KIVO_EVENT_COMPLETED)
        bind_node(st, 5, kivo_json_get(root, "gate_verdict"));
    if (type_ix == KIVO_EVENT_COMPLETED || type_ix == KIVO_EVENT_FAILED) {
        sqlite3_bind_text(st, 6, canon_text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, now);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        goto store_fail;
    }
    sqlite3_reset(st);
    in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    r->event_type = (int)type_ix;
    api_reply_json(out, 202, ans);
    ans = NULL;
    goto out;

done:
    in_txn = 0;
    api_store_commit(s);
    goto out;
store_fail:
    api_error_clear(&e);
    internal(&e, s, "event");
fail:
    if (in_txn)
        api_store_rollback(s);
    api_reply_error(ctx, out, &e);
out:
    json_decref(ans);
    json_decref(canon);
    free(ans_text);
    free(canon_text);
    free(create_body);
}

/* ---- GET one and list ---------------------------------------------------------------------- */

/* The stored metadata of the run at the statement's current row (S_PW_BY_RUN_ID columns). */
static json_t *run_json(sqlite3_stmt *st)
{
    static const char *const result_keys[] = {
        "gate_verdict", "safe_use_status", "claim_count", "unsupported_claim_count",
        "source_count", "source_hashes", "output_hash", "redacted_failure_categories",
        "artifact_summaries", "failure_code", NULL};
    json_t *run = json_loads((const char *)sqlite3_column_text(st, 8), 0, NULL);
    json_t *term = NULL;

    if (!run)
        goto out;
    json_object_del(run, "schema_version");
    json_object_set_new(run, "review_run_id",
                        json_string((const char *)sqlite3_column_text(st, 1)));
    json_object_set_new(run, "project", json_string((const char *)sqlite3_column_text(st, 2)));
    json_object_set_new(run, "status", json_string((const char *)sqlite3_column_text(st, 6)));
    json_object_set_new(run, "gate_verdict", json_null());
    json_object_set_new(run, "safe_use_status", json_null());
    if (sqlite3_column_type(st, 9) != SQLITE_NULL)
        term = json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL);
    for (size_t i = 0; term && result_keys[i]; i++) {
        json_t *v = json_object_get(term, result_keys[i]);
        if (v)
            json_object_set(run, result_keys[i], v);
    }
    json_object_set_new(run, "last_sequence", json_integer(sqlite3_column_int64(st, 10)));
    json_object_set_new(run, "event_count", json_integer(sqlite3_column_int64(st, 11)));
    api_json_set_time(run, "created_at", sqlite3_column_int64(st, 12));
    api_json_set_time(run, "updated_at", sqlite3_column_int64(st, 13));
    api_json_set_time(run, "terminal_at", sqlite3_column_type(st, 14) == SQLITE_NULL
                                              ? -1 : sqlite3_column_int64(st, 14));
    api_json_set_time(run, "credential_expires_at", sqlite3_column_int64(st, 15));
out:
    json_decref(term);
    return run;
}

void api_route_pw_get(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_auth *a = &ctx->r->auth;
    api_error e = {0};
    sqlite3_stmt *st = api_store_stmt(s, S_PW_BY_RUN_ID);
    json_t *run = NULL;

    if (!st) {
        internal(&e, s, "prepare");
        goto fail;
    }
    sqlite3_bind_text(st, 1, ctx->r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        api_error_set(&e, 404, "not_found", "no such run");
        goto fail;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 2), a->project) != 0) {
        api_error_set(&e, 403, "forbidden", "this run belongs to another project");
        goto fail;
    }
    run = run_json(st);
    if (!run) {
        api_error_set(&e, 500, "internal", "stored run unreadable");
        goto fail;
    }
    api_reply_json(out, 200, run);
    goto out;
fail:
    api_reply_error(ctx, out, &e);
out:
    if (st)
        sqlite3_reset(st);
}

void api_route_pw_list(api_ctx *ctx, api_reply *out)
{
    api_list_runs(ctx, out, S_PW_LIST, kivo_wire_pw_run_status_names, run_json);
}
