/*
 * routes_hosted.c - hosted review runs: the packet comes to Kivo, the server runs the same claim
 * engine as the worker and stores packet, claims with spans, report and verdict.
 *
 * The engine runs outside the write transaction (it is the slow part); the insert re-checks
 * idempotency inside it. Claims in answers are taken from the rendered claim report, so the run
 * and its report can never disagree. DELETE drops packet, claims, report, title and metadata and
 * keeps the verdict, counts and hashes, as the answer lists.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "kivo/report.h"
#include "kivo/review.h"

#include "cursor.h"
#include "server.h"
#include "timefmt.h"
#include "validate.h"

#define WORKER_ID "kivo-api"

static void internal(api_error *e, api_store *s, const char *what)
{
    fprintf(stderr, "kivo-api: %s: %s\n", what, api_store_error(s));
    api_error_set(e, 500, "internal", "the store failed; retry later");
}

/* The run as answered, from a row of S_HR_BY_RUN_ID / S_HR_LIST columns:
 * 0 id, 1 run_id, 2 project, 3 status, 4 summary, 5 packet, 6 claims, 7 report, 8 deleted_at. */
static json_t *hosted_json(sqlite3_stmt *st, int with_claims)
{
    json_t *run = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    int deleted = sqlite3_column_type(st, 8) != SQLITE_NULL;

    if (!run)
        goto out;
    json_object_set_new(run, "status", json_string((const char *)sqlite3_column_text(st, 3)));
    api_json_set_time(run, "deleted_at", deleted ? sqlite3_column_int64(st, 8) : -1);
    if (with_claims) {
        json_t *claims = NULL;
        if (!deleted && sqlite3_column_type(st, 6) != SQLITE_NULL)
            claims = json_loads((const char *)sqlite3_column_text(st, 6), JSON_ALLOW_NUL,
                                NULL);
        json_object_set_new(run, "claims", claims ? claims : json_null());
    }
out:
    return run;
}

/* Looks up (project, customer_run_id). @return 0 none, 1 same body (run_id filled), 2 another
 * body, 3 a deleted run (its body digest is gone with it), -1 when the store failed. */
static int find_existing(api_store *s, const char *project, const kivo_json_node *customer,
                         const unsigned char *digest, char run_id[API_RUN_ID_MAX])
{
    sqlite3_stmt *st = api_store_stmt(s, S_HR_BY_CUSTOMER);
    int found = -1;

    if (!st)
        goto out;
    found = 0;
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, customer->str, (int)customer->len, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = sqlite3_column_type(st, 3) != SQLITE_NULL ? 3
                : sqlite3_column_bytes(st, 2) == API_DIGEST_SIZE &&
                        memcmp(sqlite3_column_blob(st, 2), digest, API_DIGEST_SIZE) == 0 ? 1 : 2;
        snprintf(run_id, API_RUN_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
out:
    return found;
}

/* Answers with the stored run `run_id` (a repeat of an identical create). */
static void answer_existing(api_ctx *ctx, const char *run_id, api_reply *out, api_error *e)
{
    sqlite3_stmt *st = api_store_stmt(ctx->t->store, S_HR_BY_RUN_ID);
    json_t *run = NULL;

    if (st) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            run = hosted_json(st, 1);
        sqlite3_reset(st);
    }
    if (run)
        api_reply_json(out, 200, run);
    else
        api_error_set(e, 500, "internal", "stored run unreadable");
}

static void conflict(api_error *e, int found)
{
    if (found == 3)
        api_error_set(e, 409, "conflict", "customer_run_id belongs to a deleted run; a deleted "
                                          "run keeps its id");
    else
        api_error_set(e, 409, "conflict",
                      "customer_run_id was already used with a different body");
    api_error_field(e, "customer_run_id");
}

static void set_opt(kivo_run_meta *m, const char **dst, const kivo_json_node *n, char *buf,
                    size_t size)
{
    (void)m;
    if (!n) {
        *dst = NULL;
        return;
    }
    snprintf(buf, size, "%.*s", (int)n->len, n->str);
    *dst = buf;
}

void api_route_hr_create(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_auth *a = &ctx->r->auth;
    api_error e = {0};
    const kivo_json_node *root, *customer, *sources, *n;
    json_t *canon = NULL, *report = NULL, *summary = NULL, *claims = NULL;
    char *canon_text = NULL, *summary_text = NULL, *claims_text = NULL;
    unsigned char digest[API_DIGEST_SIZE];
    char run_id[API_RUN_ID_MAX], existing[API_RUN_ID_MAX];
    char customer_s[KIVO_WIRE_ID_MAX * 4 + 1], workflow_s[KIVO_WIRE_ID_MAX * 4 + 1];
    char policy_s[KIVO_WIRE_ID_MAX * 4 + 1];
    kivo_source *src = NULL;
    kivo_packet packet = {0};
    kivo_run_meta meta = {0};
    const kivo_review *review = NULL;
    kivo_buf rb;
    sqlite3_stmt *st;
    int64_t now = api_now_ms();
    int in_txn = 0, found;
    size_t i = 0;

    kivo_buf_init(&rb, ctx->cfg->max_report_bytes);
    root = api_parse_body(ctx, &e);
    if (!root)
        goto fail;
    api_validate_hosted_create(root, &e);
    if (e.http)
        goto fail;
    canon = api_json_from_node(root);
    if (api_json_canonical(canon, &canon_text, digest) != 0 ||
        api_random_id("rr_", run_id, sizeof run_id) != 0) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }
    customer = kivo_json_get(root, "customer_run_id");
    found = find_existing(s, a->project, customer, digest, existing);
    if (found == 1) {
        answer_existing(ctx, existing, out, &e);
        if (e.http)
            goto fail;
        goto out;
    }
    if (found == 2 || found == 3) {
        conflict(&e, found);
        goto fail;
    }
    if (found < 0) {
        internal(&e, s, "lookup");
        goto fail;
    }

    /* The packet points into the parsed body; nothing is copied. */
    sources = kivo_json_get(root, "sources");
    src = calloc(sources->len ? sources->len : 1, sizeof *src);
    if (!src) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }
    for (const kivo_json_node *c = sources->child; c; c = c->next, i++) {
        const kivo_json_node *title = kivo_json_get(c, "title");
        n = kivo_json_get(c, "source_id");
        src[i].id = n->str;
        src[i].id_len = n->len;
        if (title) {
            src[i].title = title->str;
            src[i].title_len = title->len;
        }
        n = kivo_json_get(c, "text");
        src[i].text = n->str;
        src[i].text_len = n->len;
    }
    n = kivo_json_get(root, "output");
    packet.output = n->str;
    packet.output_len = n->len;
    packet.sources = src;
    packet.n_sources = sources->len;
    packet.strictness = KIVO_STANDARD;
    packet.intended_use = KIVO_USE_CUSTOMER_FACING;
    if ((n = kivo_json_get(root, "strictness")))
        kivo_strictness_parse(n->str, n->len, &packet.strictness);
    if ((n = kivo_json_get(root, "intended_use")))
        kivo_intended_use_parse(n->str, n->len, &packet.intended_use);

    if (!ctx->t->engine && kivo_engine_create(&ctx->t->engine) != KIVO_OK) {
        api_error_set(&e, 500, "internal", "cannot start the claim engine");
        goto fail;
    }
    switch (kivo_engine_review(ctx->t->engine, &packet, &review)) {
    case KIVO_OK:
        break;
    case KIVO_ETOOBIG:
        /* One of the engine's own bounds on a record (its work, its evidence). */
        api_error_set(&e, 413, "payload_too_large", "this packet is over the claim engine's "
                                                    "limits; send a shorter output or fewer, "
                                                    "shorter sources");
        api_error_field(&e, "output");
        goto fail;
    default:
        api_error_set(&e, 500, "internal", "the claim engine failed on this packet");
        goto fail;
    }
    /* The claim count bounds the stored report and the answer (each claim carries its text and
     * evidence): refuse before rendering either. */
    if (ctx->cfg->max_claims && review->n_claims > ctx->cfg->max_claims) {
        api_error_set(&e, 413, "payload_too_large",
                      "the output has %zu claims; this server reviews at most %zu claims per "
                      "packet (max_claims)", review->n_claims, ctx->cfg->max_claims);
        api_error_field(&e, "output");
        goto fail;
    }
    meta.review_run_id = run_id;
    set_opt(&meta, &meta.customer_run_id, customer, customer_s, sizeof customer_s);
    set_opt(&meta, &meta.workflow_id, kivo_json_get(root, "workflow_id"), workflow_s,
            sizeof workflow_s);
    set_opt(&meta, &meta.policy_version, kivo_json_get(root, "policy_version"), policy_s,
            sizeof policy_s);
    meta.worker_id = WORKER_ID;
    meta.worker_version = "kivo-api." KIVO_VERSION_STRING;
    meta.strictness = packet.strictness;
    meta.intended_use = packet.intended_use;
    switch (kivo_report_render(&packet, review, &meta, &rb)) {
    case KIVO_OK:
        break;
    case KIVO_ETOOBIG:
        api_error_set(&e, 413, "payload_too_large",
                      "the claim report of this packet would pass %zu bytes, this server's "
                      "limit (max_report_bytes)", rb.max);
        api_error_field(&e, "output");
        goto fail;
    default:
        api_error_set(&e, 500, "internal", "cannot render the claim report");
        goto fail;
    }
    if (!(report = json_loadb(rb.data, rb.len, JSON_ALLOW_NUL, NULL))) {
        api_error_set(&e, 500, "internal", "cannot render the claim report");
        goto fail;
    }

    /* What stays after DELETE: ids, verdicts, counts, hashes, options. */
    summary = json_pack("{s:s, s:O, s:O}", "review_run_id", run_id,
                        "customer_run_id", json_object_get(report, "customer_run_id"),
                        "workflow_id", json_object_get(report, "workflow_id"));
    if (!summary) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }
    api_json_set_str(summary, "title", kivo_json_get(root, "title"));
    {
        static const char *const copy[] = {
            "gate_verdict", "safe_use_status", "strictness", "intended_use", "policy_version",
            "engine_version", "claim_count", "unsupported_claim_count", "contradicted_claim_count",
            "partially_supported_claim_count", "failure_categories", "output_hash",
            "source_count", NULL};
        json_t *hashes = json_array();
        for (size_t k = 0; copy[k]; k++)
            json_object_set(summary, copy[k], json_object_get(report, copy[k]));
        for (size_t k = 0; k < packet.n_sources; k++)
            json_array_append_new(hashes, json_string(review->source_hashes[k]));
        json_object_set_new(summary, "source_hashes", hashes);
    }
    if ((n = kivo_json_get(root, "metadata")))
        json_object_set_new(summary, "metadata", api_json_from_node(n));
    api_json_set_time(summary, "created_at", now);
    claims = json_object_get(report, "claims");
    summary_text = json_dumps(summary, JSON_COMPACT | JSON_REAL_PRECISION(6));
    claims_text = claims ? json_dumps(claims, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (!summary_text || !claims_text) {
        api_error_set(&e, 500, "internal", "out of memory");
        goto fail;
    }

    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    found = find_existing(s, a->project, customer, digest, existing);
    if (found) {
        /* Another request created it while the engine ran. */
        api_store_rollback(s);
        in_txn = 0;
        if (found == 1)
            answer_existing(ctx, existing, out, &e);
        else if (found == 2 || found == 3)
            conflict(&e, found);
        else
            internal(&e, s, "lookup");
        if (e.http)
            goto fail;
        goto out;
    }
    st = api_store_stmt(s, S_HR_INSERT);
    if (!st)
        goto store_fail;
    sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, meta.customer_run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, meta.workflow_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, kivo_verdict_name(review->gate_verdict), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, kivo_verdict_name(review->safe_use_status), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, summary_text, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, digest, API_DIGEST_SIZE, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, canon_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, claims_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, rb.data, (int)rb.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        goto store_fail;
    }
    sqlite3_reset(st);
    in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    json_object_set_new(summary, "status", json_string("completed"));
    json_object_set_new(summary, "deleted_at", json_null());
    json_object_set(summary, "claims", claims);
    api_reply_json(out, 201, summary);
    summary = NULL;
    goto out;

store_fail:
    internal(&e, s, "hosted create");
fail:
    if (in_txn)
        api_store_rollback(s);
    api_reply_error(ctx, out, &e);
out:
    kivo_buf_free(&rb);
    free(src);
    free(canon_text);
    free(summary_text);
    free(claims_text);
    json_decref(canon);
    json_decref(summary);
    json_decref(report);
}

/* Loads the run of the path into the statement's row and checks the project.
 * @return the statement positioned on the row, or NULL with e filled. */
static sqlite3_stmt *load_run(api_ctx *ctx, api_error *e)
{
    sqlite3_stmt *st = api_store_stmt(ctx->t->store, S_HR_BY_RUN_ID);

    if (!st) {
        internal(e, ctx->t->store, "prepare");
        goto out;
    }
    sqlite3_bind_text(st, 1, ctx->r->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        api_error_set(e, 404, "not_found", "no such run");
    else if (strcmp((const char *)sqlite3_column_text(st, 2), ctx->r->auth.project) != 0)
        api_error_set(e, 403, "forbidden", "this run belongs to another project");
    if (e->http) {
        sqlite3_reset(st);
        st = NULL;
    }
out:
    return st;
}

void api_route_hr_get(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    sqlite3_stmt *st = load_run(ctx, &e);
    json_t *run = st ? hosted_json(st, 1) : NULL;

    if (st)
        sqlite3_reset(st);
    if (st && !run)
        api_error_set(&e, 500, "internal", "stored run unreadable");
    if (run)
        api_reply_json(out, 200, run);
    else
        api_reply_error(ctx, out, &e);
}

void api_route_hr_report(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    sqlite3_stmt *st = load_run(ctx, &e);

    if (st && sqlite3_column_type(st, 7) == SQLITE_NULL) {
        api_error_set(&e, 404, "not_found", "the report of this run was deleted");
    } else if (st) {
        out->status = 200;
        out->text = strdup((const char *)sqlite3_column_text(st, 7));
        out->text_len = out->text ? strlen(out->text) : 0;
        if (!out->text)
            api_error_set(&e, 500, "internal", "out of memory");
    }
    if (st)
        sqlite3_reset(st);
    if (e.http)
        api_reply_error(ctx, out, &e);
}

void api_route_hr_delete(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    sqlite3_stmt *st;
    json_t *summary = NULL, *ans = NULL, *removed = NULL;
    char *summary_text = NULL;
    int64_t row, now = api_now_ms(), deleted_at = -1;
    size_t n_claims = 0, n_sources = 0;
    int had_title = 0, had_meta = 0, in_txn = 0, first = 0;

    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    st = load_run(ctx, &e);
    if (!st)
        goto fail;
    row = sqlite3_column_int64(st, 0);
    summary = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL)
        deleted_at = sqlite3_column_int64(st, 8);
    sqlite3_reset(st);
    if (!summary) {
        api_error_set(&e, 500, "internal", "stored run unreadable");
        goto fail;
    }
    removed = json_object();
    if (deleted_at < 0) {
        first = 1;
        n_claims = (size_t)json_integer_value(json_object_get(summary, "claim_count"));
        n_sources = (size_t)json_integer_value(json_object_get(summary, "source_count"));
        had_title = json_object_get(summary, "title") != NULL;
        had_meta = json_object_get(summary, "metadata") != NULL;
        json_object_del(summary, "title");
        json_object_del(summary, "metadata");
        summary_text = json_dumps(summary, JSON_COMPACT | JSON_REAL_PRECISION(6));
        st = api_store_stmt(s, S_HR_DELETE);
        if (!st || !summary_text)
            goto store_fail;
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_text(st, 3, summary_text, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_reset(st);
            goto store_fail;
        }
        sqlite3_reset(st);
        deleted_at = now;
    }
    in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    /* The text is gone from the tables (zeroed, secure_delete); take it out of the WAL too. The
     * delete is committed either way: a checkpoint that fails is only logged. */
    if (first && api_store_checkpoint(s) != SQLITE_OK)
        fprintf(stderr, "kivo-api: checkpoint after a delete: %s\n", api_store_error(s));
    /* What this call removed: a second DELETE removes nothing and says so. */
    json_object_set_new(removed, "packet", json_boolean(first));
    json_object_set_new(removed, "output", json_boolean(first));
    json_object_set_new(removed, "sources", json_integer((json_int_t)n_sources));
    json_object_set_new(removed, "claims", json_integer((json_int_t)n_claims));
    json_object_set_new(removed, "report", json_boolean(first));
    json_object_set_new(removed, "title", json_boolean(had_title));
    json_object_set_new(removed, "metadata", json_boolean(had_meta));
    ans = json_pack("{s:s, s:s}", "review_run_id", ctx->r->id, "status", "deleted");
    api_json_set_time(ans, "deleted_at", deleted_at);
    json_object_set_new(ans, "removed", removed);
    removed = NULL;
    json_object_set_new(ans, "kept", json_pack("[s,s,s,s,s,s,s,s,s]", "review_run_id",
                                               "customer_run_id", "workflow_id", "gate_verdict",
                                               "safe_use_status", "counts", "output_hash",
                                               "source_hashes", "created_at"));
    api_reply_json(out, 200, ans);
    goto out;

store_fail:
    internal(&e, s, "delete");
fail:
    if (in_txn)
        api_store_rollback(s);
    api_reply_error(ctx, out, &e);
out:
    free(summary_text);
    json_decref(summary);
    json_decref(removed);
}

static json_t *hosted_row(sqlite3_stmt *st)
{
    return hosted_json(st, 0);
}

void api_route_hr_list(api_ctx *ctx, api_reply *out)
{
    api_list_runs(ctx, out, S_HR_LIST, kivo_wire_hosted_run_status_names, hosted_row);
}
