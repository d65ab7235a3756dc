/*
 * list.c - the run lists (GET /v1/private-worker/review-runs and GET /v1/review-runs): one
 * filter check, one keyset page walk, one page shape, for both kinds of run.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "accesslog.h"
#include "cursor.h"
#include "server.h"
#include "validate.h"

static const char *const list_args[] = {"workflow_id", "batch_id", "status", "gate_verdict",
                                        "limit",       "cursor",   NULL};

/* A filter argument, when given, must be one of its value set. */
static void check_filter(const char *v, const char *const *allowed, const char *name, api_error *e)
{
    int ok = 0;

    if (!v)
        return;
    for (size_t i = 0; allowed[i]; i++)
        ok |= strcmp(v, allowed[i]) == 0;
    if (!ok) {
        api_error_set(e, 400, "schema_violation", "%s: not one of the allowed values", name);
        api_error_field(e, name);
    }
}

int api_list_full(api_list_page *p)
{
    if (p->n < p->limit)
        return 0;
    p->more = 1;
    return 1;
}

void api_list_add(api_list_page *p, int64_t id, json_t *item)
{
    json_array_append_new(p->runs, item);
    p->last = id;
    p->n++;
}

void api_list_reply(api_reply *out, api_list_page *p, const char *key)
{
    char cursor[API_CURSOR_MAX];
    json_t *page = json_pack("{s:o}", key, p->runs);

    p->runs = NULL;
    if (p->more) {
        api_cursor_encode(p->last, cursor);
        json_object_set_new(page, "next_cursor", json_string(cursor));
    } else {
        json_object_set_new(page, "next_cursor", json_null());
    }
    api_reply_json(out, 200, page);
}

void api_check_workflow_filter(const char *v, api_error *e)
{
    if (v && (strlen(v) == 0 || strlen(v) > KIVO_WIRE_ID_MAX)) {
        api_error_set(e, 400, "schema_violation", "workflow_id: 1..512 characters");
        api_error_field(e, "workflow_id");
    }
}

void api_list_runs(api_ctx *ctx, api_reply *out, const char *const *statuses, api_list_fetch fetch)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    api_list_filter f = {0};
    api_list_page p = {0};

    f.project = ctx->r->auth.project;
    f.workflow_id = api_query(ctx, "workflow_id");
    f.status = api_query(ctx, "status");
    f.gate_verdict = api_query(ctx, "gate_verdict");
    f.batch_id = api_query(ctx, "batch_id");
    api_query_allow(ctx, list_args, &e);
    check_filter(f.status, statuses, "status", &e);
    check_filter(f.gate_verdict, kivo_wire_verdict_names, "gate_verdict", &e);
    api_check_workflow_filter(f.workflow_id, &e);
    if (f.batch_id && !api_batch_id_valid(f.batch_id, strlen(f.batch_id))) {
        api_error_set(&e, 400, "schema_violation", "batch_id: " API_BATCH_ID_RULE);
        api_error_field(&e, "batch_id");
    }
    if (api_list_params(ctx, &p.limit, &f.before, &e) != 0 || e.http)
        goto fail;
    /* One row past the page says whether there is a next one. */
    f.limit = p.limit + 1;
    p.runs = json_array();
    if (!p.runs || fetch(s, &f, &p) != SQLITE_OK) {
        api_log_event("error", "list: %s", api_store_error(s));
        api_error_set(&e, 500, "internal", "the store failed; retry later");
        goto fail;
    }
    api_list_reply(out, &p, "runs");
    return;
fail:
    json_decref(p.runs);
    api_reply_error(ctx, out, &e);
}
