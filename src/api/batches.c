/*
 * batches.c - GET /v1/private-worker/batches: the batches of a project (optionally of one
 * workflow), each with its run count and verdict counts, newest first, paged like the run lists.
 *
 * A batch is (workflow_id, batch_id) within the key's project; the key's project is the only one
 * whose runs are read, so another project's batches cannot be seen or counted. Its keyset id is
 * its first run's, which never changes, so a page boundary stays put while runs are added.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "accesslog.h"
#include "server.h"

static const char *const batch_args[] = {"workflow_id", "limit", "cursor", NULL};

static int batch_row(const api_batch_row *b, void *arg)
{
    api_list_page *p = arg;
    json_t *item;

    if (api_list_full(p))
        return 1;
    item = json_pack("{s:s, s:s, s:I, s:{s:I, s:I, s:I}}", "workflow_id", b->workflow_id,
                     "batch_id", b->batch_id, "run_count", (json_int_t)b->run_count,
                     "verdict_counts", "pass", (json_int_t)b->pass, "needs_review",
                     (json_int_t)b->needs_review, "fail", (json_int_t)b->fail);
    if (item) {
        api_json_set_time(item, "first_created_at", b->first_created_at);
        api_json_set_time(item, "last_created_at", b->last_created_at);
    }
    api_list_add(p, b->key, item);
    return 0;
}

void api_route_pw_batches(api_ctx *ctx, api_reply *out)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    api_list_filter f = {0};
    api_list_page p = {0};

    f.project = ctx->r->auth.project;
    f.workflow_id = api_query(ctx, "workflow_id");
    api_query_allow(ctx, batch_args, &e);
    api_check_workflow_filter(f.workflow_id, &e);
    if (api_list_params(ctx, &p.limit, &f.before, &e) != 0 || e.http)
        goto fail;
    f.limit = p.limit + 1;
    p.runs = json_array();
    if (!p.runs || api_store_pw_batches(s, &f, batch_row, &p) != SQLITE_OK) {
        api_log_event("error", "batches: %s", api_store_error(s));
        api_error_set(&e, 500, "internal", "the store failed; retry later");
        goto fail;
    }
    api_list_reply(out, &p, "batches");
    return;
fail:
    json_decref(p.runs);
    api_reply_error(ctx, out, &e);
}
