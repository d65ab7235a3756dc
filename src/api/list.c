/*
 * list.c - the run lists (GET /v1/private-worker/review-runs and GET /v1/review-runs): one
 * filter check, one keyset page walk, one page shape, for both kinds of run.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cursor.h"
#include "server.h"
#include "validate.h"

static const char *const list_args[] = {"workflow_id", "status", "gate_verdict", "limit",
                                        "cursor", NULL};

/* A filter argument, when given, must be one of its value set. */
static void check_filter(const char *v, const char *const *allowed, const char *name,
                         api_error *e)
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

void api_list_runs(api_ctx *ctx, api_reply *out, int stmt, const char *const *statuses,
                   api_row_json row)
{
    api_store *s = ctx->t->store;
    api_error e = {0};
    const char *workflow = api_query(ctx, "workflow_id");
    const char *status = api_query(ctx, "status");
    const char *verdict = api_query(ctx, "gate_verdict");
    sqlite3_stmt *st = NULL;
    json_t *runs = NULL, *page;
    char cursor[API_CURSOR_MAX];
    long limit = 0, n = 0;
    int64_t before = 0, last = 0;
    int more = 0;

    api_query_allow(ctx, list_args, &e);
    check_filter(status, statuses, "status", &e);
    check_filter(verdict, kivo_wire_verdict_names, "gate_verdict", &e);
    if (workflow && (strlen(workflow) == 0 || strlen(workflow) > KIVO_WIRE_ID_MAX)) {
        api_error_set(&e, 400, "schema_violation", "workflow_id: 1..512 characters");
        api_error_field(&e, "workflow_id");
    }
    if (api_list_params(ctx, &limit, &before, &e) != 0 || e.http)
        goto fail;
    st = api_store_stmt(s, stmt);
    runs = json_array();
    if (!st || !runs) {
        fprintf(stderr, "kivo-api: list: %s\n", api_store_error(s));
        api_error_set(&e, 500, "internal", "the store failed; retry later");
        goto fail;
    }
    /* Parameters of S_PW_LIST and S_HR_LIST alike: project, id below, filters, limit + 1. */
    sqlite3_bind_text(st, 1, ctx->r->auth.project, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before);
    if (workflow)
        sqlite3_bind_text(st, 3, workflow, -1, SQLITE_STATIC);
    if (status)
        sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
    if (verdict)
        sqlite3_bind_text(st, 5, verdict, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, limit + 1);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        json_array_append_new(runs, row(st));
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    sqlite3_reset(st);
    page = json_pack("{s:o}", "runs", runs);
    runs = NULL;
    if (more) {
        api_cursor_encode(last, cursor);
        json_object_set_new(page, "next_cursor", json_string(cursor));
    } else {
        json_object_set_new(page, "next_cursor", json_null());
    }
    api_reply_json(out, 200, page);
    return;
fail:
    json_decref(runs);
    api_reply_error(ctx, out, &e);
}
