/*
 * routes_app.c - the reviewer's page of hosted runs: GET /app/ (app.html, review.js, review.css,
 * compiled into the binary from src/web/) and GET /v1/review-runs/{id}/packet, the answer and
 * source texts the page highlights claims and evidence in.
 *
 * The page holds no data and needs no auth: it asks for an API key, keeps it in the tab's session
 * storage and reads everything through the JSON API. Its Content-Security-Policy allows only this
 * server's own script, style and API, so text from a packet can never run as script even if the
 * page had a bug that wrote it as HTML.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "accesslog.h"
#include "server.h"
#include "web.h"

static const char *const app_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "X-Frame-Options",
    "DENY",
    NULL};

static const char *const redirect_headers[] = {"Location", "/app/", NULL};

void api_route_app(api_ctx *ctx, api_reply *out)
{
    const web_asset *a = ctx->r->id[0] ? web_asset_find(ctx->r->id) : NULL;
    api_error e = {0};

    if (!ctx->r->id[0]) {
        /* /app: the page's relative links need the trailing slash. */
        out->status = 308;
        out->text = strdup("");
        out->content_type = "text/plain; charset=utf-8";
        out->headers = redirect_headers;
    } else if (!a) {
        api_error_set(&e, 404, "not_found", "no such endpoint");
    } else if (!(out->text = malloc(a->len ? a->len : 1))) {
        api_error_set(&e, 500, "internal", "out of memory");
    } else {
        memcpy(out->text, a->data, a->len);
        out->text_len = a->len;
        out->status = 200;
        out->content_type = a->content_type;
        out->headers = app_headers;
    }
    if (e.http)
        api_reply_error(ctx, out, &e);
}

/* {"review_run_id","output","sources":[{"source_id","title","text"}]} from the stored packet
 * (the canonical create body, written by this server). */
static json_t *packet_json(const char *run_id, const char *stored)
{
    json_t *body = json_loads(stored, JSON_ALLOW_NUL, NULL), *ans = NULL, *sources = NULL, *s;
    size_t i;

    if (!body)
        goto out;
    sources = json_array();
    ans = json_pack("{s:s, s:O?}", "review_run_id", run_id, "output",
                    json_object_get(body, "output"));
    if (!ans || !sources)
        goto fail;
    json_array_foreach(json_object_get(body, "sources"), i, s)
    {
        json_t *title = json_object_get(s, "title");
        json_t *o =
            json_pack("{s:O?, s:O, s:O?}", "source_id", json_object_get(s, "source_id"), "title",
                      title ? title : json_null(), "text", json_object_get(s, "text"));
        if (!o || json_array_append_new(sources, o) != 0)
            goto fail;
    }
    if (json_object_set(ans, "sources", sources) != 0)
        goto fail;
    goto out;
fail:
    json_decref(ans);
    ans = NULL;
out:
    json_decref(sources);
    json_decref(body);
    return ans;
}

void api_route_hr_packet(api_ctx *ctx, api_reply *out)
{
    api_error e = {0};
    json_t *ans = NULL;
    api_hr_run r;
    int rc = api_store_hr_by_run_id(ctx->t->store, ctx->r->id, &r);

    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        api_log_event("error", "prepare: %s", api_store_error(ctx->t->store));
        api_error_set(&e, 500, "internal", "the store failed; retry later");
    } else if (rc != SQLITE_ROW) {
        api_error_set(&e, 404, "not_found", "no such run");
    } else if (strcmp(r.project, ctx->r->auth.project) != 0) {
        api_error_set(&e, 403, "forbidden", "this run belongs to another project");
    } else if (!r.packet) {
        api_error_set(&e, 404, "not_found", "the packet of this run was deleted");
    } else if (!(ans = packet_json(ctx->r->id, r.packet))) {
        api_error_set(&e, 500, "internal", "stored packet unreadable");
    }
    api_store_end(ctx->t->store);
    if (ans)
        api_reply_json(out, 200, ans);
    else
        api_reply_error(ctx, out, &e);
}
