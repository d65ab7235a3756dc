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

#include "accesslog.h"
#include "cursor.h"
#include "server.h"
#include "timefmt.h"
#include "validate.h"

#define WORKER_ID "kivo-api"

static void internal(api_error *e, api_store *s, const char *what)
{
    api_log_event("error", "%s: %s", what, api_store_error(s));
    api_error_set(e, 500, "internal", "the store failed; retry later");
}

/* The run as answered; claims only when with_claims. */
static json_t *hosted_json(const api_hr_run *r, int with_claims)
{
    json_t *run = json_loads(r->summary, 0, NULL);
    int deleted = r->deleted_at >= 0;

    if (!run)
        goto out;
    json_object_set_new(run, "status", json_string(r->status));
    api_json_set_time(run, "deleted_at", r->deleted_at);
    if (with_claims) {
        json_t *claims = NULL;
        if (!deleted && r->claims)
            claims = json_loads(r->claims, JSON_ALLOW_NUL, NULL);
        json_object_set_new(run, "claims", claims ? claims : json_null());
    }
out:
    return run;
}

/* Looks up (project, batch, customer_run_id). @return 0 none, 1 same body (run_id filled), 2
 * another body, 3 a deleted run (its body digest is gone with it), -1 when the store failed. */
static int find_existing(api_store *s, const char *project, const char *batch,
                         const kivo_json_node *customer, const unsigned char *digest,
                         char run_id[API_RUN_ID_MAX])
{
    api_hr_found f;
    int rc = api_store_hr_by_customer(s, project, batch, -1, customer->str, (int)customer->len, &f);
    int found = rc == SQLITE_DONE ? 0 : -1;

    if (rc == SQLITE_ROW) {
        found = f.deleted ? 3
                : f.body_digest_len == API_DIGEST_SIZE &&
                        memcmp(f.body_digest, digest, API_DIGEST_SIZE) == 0
                    ? 1
                    : 2;
        snprintf(run_id, API_RUN_ID_MAX, "%s", f.run_id);
        api_store_end(s);
    }
    return found;
}

/* Answers with the stored run `run_id` (a repeat of an identical create). */
static void answer_existing(api_ctx *ctx, const char *run_id, api_reply *out, api_error *e)
{
    api_hr_run r;
    json_t *run = NULL;

    if (api_store_hr_by_run_id(ctx->t->store, run_id, &r) == SQLITE_ROW)
        run = hosted_json(&r, 1);
    api_store_end(ctx->t->store);
    if (run)
        api_reply_json(out, 200, run);
    else
        api_error_set(e, 500, "internal", "stored run unreadable");
}

static void conflict(api_error *e, int found)
{
    if (found == 3)
        api_error_set(e, 409, "conflict",
                      "customer_run_id belongs to a deleted run; a deleted "
                      "run keeps its id");
    else
        api_error_set(e, 409, "conflict", "customer_run_id was already used with a different body");
    api_error_field(e, "customer_run_id");
}

/* One hosted create as it goes through its steps. */
typedef struct hr_create {
    const kivo_json_node *root, *customer;
    json_t *canon;
    char *canon_text; /* the body with sorted keys, and its digest */
    unsigned char digest[API_DIGEST_SIZE];
    char run_id[API_RUN_ID_MAX];
    int64_t now;
    /* the packet, pointing into the parsed body */
    kivo_source *src;
    kivo_packet packet;
    const kivo_review *review; /* owned by the thread's engine */
    /* the report and what is stored of it */
    kivo_run_meta meta;
    char customer_s[KIVO_WIRE_ID_MAX * 4 + 1], workflow_s[KIVO_WIRE_ID_MAX * 4 + 1];
    char policy_s[KIVO_WIRE_ID_MAX * 4 + 1];
    char batch_s[KIVO_WIRE_BATCH_ID_MAX + 1]; /* the body's batch_id or "default" */
    kivo_buf rb;
    json_t *report, *summary, *claims;
    char *summary_text, *claims_text;
} hr_create;

static void set_opt(const char **dst, const kivo_json_node *n, char *buf, size_t size)
{
    if (!n) {
        *dst = NULL;
        return;
    }
    snprintf(buf, size, "%.*s", (int)n->len, n->str);
    *dst = buf;
}

/* Step 1, validate: parses and checks the body, and makes its canonical digest (idempotency)
 * and the new run's id. @return 0, or -1 with e filled. */
static int create_validate(api_ctx *ctx, hr_create *c, api_error *e)
{
    c->root = api_parse_body(ctx, e);
    if (!c->root)
        return -1;
    api_validate_hosted_create(c->root, e);
    if (e->http)
        return -1;
    c->canon = api_json_from_node(c->root);
    api_json_drop_default_batch(c->canon);
    if (api_json_canonical(c->canon, &c->canon_text, c->digest) != 0 ||
        api_random_id("rr_", c->run_id, sizeof c->run_id) != 0) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    c->customer = kivo_json_get(c->root, "customer_run_id");
    set_opt(&c->meta.batch_id, kivo_json_get(c->root, "batch_id"), c->batch_s, sizeof c->batch_s);
    if (!c->meta.batch_id)
        c->meta.batch_id = KIVO_WIRE_BATCH_DEFAULT;
    return 0;
}

/* Step 2 (and again inside the transaction of step 6), a run already made from this
 * customer_run_id: the same body is answered with the stored run, another body or a deleted run
 * is a conflict. @return 0 when there is none, 1 when out or e holds the answer. */
static int create_existing(api_ctx *ctx, hr_create *c, api_reply *out, api_error *e)
{
    char existing[API_RUN_ID_MAX];
    int found = find_existing(ctx->t->store, ctx->r->auth.project, c->meta.batch_id, c->customer,
                              c->digest, existing);

    if (found == 1)
        answer_existing(ctx, existing, out, e);
    else if (found == 2 || found == 3)
        conflict(e, found);
    else if (found < 0)
        internal(e, ctx->t->store, "lookup");
    return found != 0;
}

/* Step 3, the packet: the engine's view of the body, pointing into the parsed body (nothing is
 * copied). @return 0, or -1 with e filled. */
static int create_packet(hr_create *c, api_error *e)
{
    const kivo_json_node *sources = kivo_json_get(c->root, "sources"), *n;
    size_t i = 0;

    c->src = calloc(sources->len ? sources->len : 1, sizeof *c->src);
    if (!c->src) {
        api_error_set(e, 500, "internal", "out of memory");
        return -1;
    }
    for (const kivo_json_node *x = sources->child; x; x = x->next, i++) {
        const kivo_json_node *title = kivo_json_get(x, "title");
        n = kivo_json_get(x, "source_id");
        c->src[i].id = n->str;
        c->src[i].id_len = n->len;
        if (title) {
            c->src[i].title = title->str;
            c->src[i].title_len = title->len;
        }
        n = kivo_json_get(x, "text");
        c->src[i].text = n->str;
        c->src[i].text_len = n->len;
    }
    n = kivo_json_get(c->root, "output");
    c->packet.output = n->str;
    c->packet.output_len = n->len;
    c->packet.sources = c->src;
    c->packet.n_sources = sources->len;
    c->packet.strictness = KIVO_STANDARD;
    c->packet.intended_use = KIVO_USE_CUSTOMER_FACING;
    if ((n = kivo_json_get(c->root, "strictness")))
        kivo_strictness_parse(n->str, n->len, &c->packet.strictness);
    if ((n = kivo_json_get(c->root, "intended_use")))
        kivo_intended_use_parse(n->str, n->len, &c->packet.intended_use);
    return 0;
}

/* Step 4, review: runs the thread's engine (made on first use) outside any transaction, and
 * refuses a packet over the engine's bounds or this server's claim limit before anything is
 * rendered. @return 0, or -1 with e filled. */
static int create_review(api_ctx *ctx, hr_create *c, api_error *e)
{
    if (!ctx->t->engine && kivo_engine_create(&ctx->t->engine) != KIVO_OK) {
        api_error_set(e, 500, "internal", "cannot start the claim engine");
        return -1;
    }
    switch (kivo_engine_review(ctx->t->engine, &c->packet, &c->review)) {
    case KIVO_OK: break;
    case KIVO_ETOOBIG:
        /* One of the engine's own bounds on a record (its work, its evidence). */
        api_error_set(e, 413, "payload_too_large",
                      "this packet is over the claim engine's "
                      "limits; send a shorter output or fewer, "
                      "shorter sources");
        api_error_field(e, "output");
        return -1;
    default: api_error_set(e, 500, "internal", "the claim engine failed on this packet"); return -1;
    }
    /* The claim count bounds the stored report and the answer (each claim carries its text and
     * evidence): refuse before rendering either. */
    if (ctx->cfg->max_claims && c->review->n_claims > ctx->cfg->max_claims) {
        api_error_set(e, 413, "payload_too_large",
                      "the output has %zu claims; this server reviews at most %zu claims per "
                      "packet (max_claims)",
                      c->review->n_claims, ctx->cfg->max_claims);
        api_error_field(e, "output");
        return -1;
    }
    return 0;
}

/* Step 5, render: the claim report (bounded by max_report_bytes), and from it the summary that
 * stays after DELETE (ids, verdicts, counts, hashes, options) and the claims the answer carries.
 * @return 0, or -1 with e filled. */
static int create_render(hr_create *c, api_error *e)
{
    static const char *const copy[] = {"gate_verdict",
                                       "safe_use_status",
                                       "strictness",
                                       "intended_use",
                                       "policy_version",
                                       "engine_version",
                                       "claim_count",
                                       "unsupported_claim_count",
                                       "contradicted_claim_count",
                                       "partially_supported_claim_count",
                                       "failure_categories",
                                       "output_hash",
                                       "source_count",
                                       NULL};
    const kivo_json_node *n;
    json_t *hashes;

    c->meta.review_run_id = c->run_id;
    set_opt(&c->meta.customer_run_id, c->customer, c->customer_s, sizeof c->customer_s);
    set_opt(&c->meta.workflow_id, kivo_json_get(c->root, "workflow_id"), c->workflow_s,
            sizeof c->workflow_s);
    set_opt(&c->meta.policy_version, kivo_json_get(c->root, "policy_version"), c->policy_s,
            sizeof c->policy_s);
    c->meta.worker_id = WORKER_ID;
    c->meta.worker_version = "kivo-api." KIVO_VERSION_STRING;
    c->meta.strictness = c->packet.strictness;
    c->meta.intended_use = c->packet.intended_use;
    switch (kivo_report_render(&c->packet, c->review, &c->meta, &c->rb)) {
    case KIVO_OK: break;
    case KIVO_ETOOBIG:
        api_error_set(e, 413, "payload_too_large",
                      "the claim report of this packet would pass %zu bytes, this server's "
                      "limit (max_report_bytes)",
                      c->rb.max);
        api_error_field(e, "output");
        return -1;
    default: api_error_set(e, 500, "internal", "cannot render the claim report"); return -1;
    }
    if (!(c->report = json_loadb(c->rb.data, c->rb.len, JSON_ALLOW_NUL, NULL))) {
        api_error_set(e, 500, "internal", "cannot render the claim report");
        return -1;
    }
    c->summary =
        json_pack("{s:s, s:O, s:s, s:O}", "review_run_id", c->run_id, "customer_run_id",
                  json_object_get(c->report, "customer_run_id"), "batch_id", c->meta.batch_id,
                  "workflow_id", json_object_get(c->report, "workflow_id"));
    if (!c->summary)
        goto oom;
    api_json_set_str(c->summary, "title", kivo_json_get(c->root, "title"));
    hashes = json_array();
    for (size_t k = 0; copy[k]; k++)
        json_object_set(c->summary, copy[k], json_object_get(c->report, copy[k]));
    for (size_t k = 0; k < c->packet.n_sources; k++)
        json_array_append_new(hashes, json_string(c->review->source_hashes[k]));
    json_object_set_new(c->summary, "source_hashes", hashes);
    if ((n = kivo_json_get(c->root, "metadata")))
        json_object_set_new(c->summary, "metadata", api_json_from_node(n));
    api_json_set_time(c->summary, "created_at", c->now);
    c->claims = json_object_get(c->report, "claims");
    c->summary_text = json_dumps(c->summary, JSON_COMPACT | JSON_REAL_PRECISION(6));
    c->claims_text =
        c->claims ? json_dumps(c->claims, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (!c->summary_text || !c->claims_text)
        goto oom;
    return 0;
oom:
    api_error_set(e, 500, "internal", "out of memory");
    return -1;
}

/* Step 6, store: inside one write transaction, checks again that no request made the run while
 * the engine ran (answering that run instead), then inserts and commits. @return 0 when stored,
 * 1 when out or e holds another answer, -1 with e filled. */
static int create_store(api_ctx *ctx, hr_create *c, api_reply *out, api_error *e)
{
    api_store *s = ctx->t->store;
    api_hr_new_run run = {
        .run_id = c->run_id,
        .project = ctx->r->auth.project,
        .customer_run_id = c->meta.customer_run_id,
        .workflow_id = c->meta.workflow_id,
        .batch_id = c->meta.batch_id,
        .gate_verdict = kivo_verdict_name(c->review->gate_verdict),
        .safe_use_status = kivo_verdict_name(c->review->safe_use_status),
        .summary = c->summary_text,
        .body_digest = c->digest,
        .digest_len = API_DIGEST_SIZE,
        .packet = c->canon_text,
        .claims = c->claims_text,
        .report = c->rb.data,
        .report_len = c->rb.len,
        .created_at = c->now,
    };

    if (api_store_begin(s) != SQLITE_OK) {
        internal(e, s, "begin");
        return -1;
    }
    /* Another request may have created it while the engine ran. */
    if (create_existing(ctx, c, out, e)) {
        api_store_rollback(s);
        return e->http ? -1 : 1;
    }
    if (api_store_hr_insert(s, &run) != SQLITE_OK) {
        internal(e, s, "hosted create");
        api_store_rollback(s);
        return -1;
    }
    if (api_store_commit(s) != SQLITE_OK) {
        internal(e, s, "hosted create");
        return -1;
    }
    return 0;
}

void api_route_hr_create(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    hr_create c = {.now = api_now_ms()};
    int rc, attempt = 0;

    kivo_buf_init(&c.rb, ctx->cfg->max_report_bytes);
    if (create_validate(ctx, &c, &e) != 0)
        goto fail;
    if (create_existing(ctx, &c, out, &e)) {
        if (e.http)
            goto fail;
        goto out;
    }
    if (create_packet(&c, &e) != 0 || create_review(ctx, &c, &e) != 0 || create_render(&c, &e) != 0)
        goto fail;
    /* A concurrent create of the same run (PostgreSQL, maybe another process) wins the race:
     * the next attempt answers its run. */
    while ((rc = create_store(ctx, &c, out, &e)) < 0 && e.http == 500 &&
           api_store_retry(ctx->t->store, &attempt))
        api_error_clear(&e);
    if (rc < 0)
        goto fail;
    if (rc > 0)
        goto out;
    /* Step 7, answer: the summary with the run's state and its claims. */
    json_object_set_new(c.summary, "status", json_string("completed"));
    json_object_set_new(c.summary, "deleted_at", json_null());
    json_object_set(c.summary, "claims", c.claims);
    api_reply_json(out, 201, c.summary);
    c.summary = NULL;
    goto out;

fail:
    api_reply_error(ctx, out, &e);
out:
    kivo_buf_free(&c.rb);
    free(c.src);
    free(c.canon_text);
    free(c.summary_text);
    free(c.claims_text);
    json_decref(c.canon);
    json_decref(c.summary);
    json_decref(c.report);
}

/* Loads the run of the path and checks its project. @return 0 with r filled (valid until
 * api_store_end), or -1 with e filled. */
static int load_run(api_ctx *ctx, api_hr_run *r, api_error *e)
{
    int rc = api_store_hr_by_run_id(ctx->t->store, ctx->r->id, r);

    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        internal(e, ctx->t->store, "prepare");
    else if (rc != SQLITE_ROW)
        api_error_set(e, 404, "not_found", "no such run");
    else if (strcmp(r->project, ctx->r->auth.project) != 0)
        api_error_set(e, 403, "forbidden", "this run belongs to another project");
    if (e->http) {
        api_store_end(ctx->t->store);
        return -1;
    }
    return 0;
}

void api_route_hr_get(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    api_hr_run r;
    int ok = load_run(ctx, &r, &e) == 0;
    json_t *run = ok ? hosted_json(&r, 1) : NULL;

    api_store_end(ctx->t->store);
    if (ok && !run)
        api_error_set(&e, 500, "internal", "stored run unreadable");
    if (run)
        api_reply_json(out, 200, run);
    else
        api_reply_error(ctx, out, &e);
}

void api_route_hr_report(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    api_hr_run r;
    int ok = load_run(ctx, &r, &e) == 0;

    if (ok && !r.report) {
        api_error_set(&e, 404, "not_found", "the report of this run was deleted");
    } else if (ok) {
        out->status = 200;
        out->text = strdup(r.report);
        out->text_len = out->text ? strlen(out->text) : 0;
        if (!out->text)
            api_error_set(&e, 500, "internal", "out of memory");
    }
    api_store_end(ctx->t->store);
    if (e.http)
        api_reply_error(ctx, out, &e);
}

void api_route_hr_delete(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    api_hr_run r;
    json_t *summary = NULL, *ans = NULL, *removed = NULL;
    char *summary_text = NULL;
    int64_t row, now = api_now_ms(), deleted_at = -1;
    size_t n_claims = 0, n_sources = 0;
    int had_title = 0, had_meta = 0, in_txn = 0, first = 0, attempt = 0;

again:
    if (api_store_begin(s) != SQLITE_OK) {
        internal(&e, s, "begin");
        goto fail;
    }
    in_txn = 1;
    if (load_run(ctx, &r, &e) != 0)
        goto fail;
    row = r.id;
    summary = json_loads(r.summary, 0, NULL);
    deleted_at = r.deleted_at;
    api_store_end(s);
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
        if (!summary_text || api_store_hr_delete(s, row, now, summary_text) != SQLITE_OK)
            goto store_fail;
        deleted_at = now;
    }
    in_txn = 0;
    if (api_store_commit(s) != SQLITE_OK)
        goto store_fail;
    /* The text is gone from the tables (zeroed, secure_delete); take it out of the WAL too. The
     * delete is committed either way: a checkpoint that fails is only logged. */
    if (first && api_store_checkpoint(s) != SQLITE_OK)
        api_log_event("error", "checkpoint after a delete: %s", api_store_error(s));
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
    json_object_set_new(ans, "kept",
                        json_pack("[s,s,s,s,s,s,s,s,s]", "review_run_id", "customer_run_id",
                                  "workflow_id", "gate_verdict", "safe_use_status", "counts",
                                  "output_hash", "source_hashes", "created_at"));
    api_reply_json(out, 200, ans);
    goto out;

store_fail:
    internal(&e, s, "delete");
fail:
    if (in_txn)
        api_store_rollback(s);
    in_txn = 0;
    /* A concurrent delete of this run won (PostgreSQL): the next attempt sees it deleted. */
    if (e.http == 500 && api_store_retry(s, &attempt)) {
        api_error_clear(&e);
        free(summary_text);
        json_decref(summary);
        json_decref(removed);
        summary_text = NULL;
        summary = removed = NULL;
        first = had_title = had_meta = 0;
        n_claims = n_sources = 0;
        goto again;
    }
    api_reply_error(ctx, out, &e);
out:
    free(summary_text);
    json_decref(summary);
    json_decref(removed);
}

static int list_row(const api_hr_run *r, void *arg)
{
    api_list_page *p = arg;

    if (api_list_full(p))
        return 1;
    api_list_add(p, r->id, hosted_json(r, 0));
    return 0;
}

static int list_fetch(api_store *s, const api_list_filter *f, api_list_page *p)
{
    return api_store_hr_list(s, f, list_row, p);
}

void api_route_hr_list(api_ctx *ctx, api_reply *out)
{
    api_list_runs(ctx, out, kivo_wire_hosted_run_status_names, list_fetch);
}
