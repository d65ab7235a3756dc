/*
 * serve.c - `kivo-api serve`: libmicrohttpd in epoll thread-pool mode, request admission and the
 * shutdown sequence.
 *
 * Admission happens on the first callback of a request, from the headers alone: route, method,
 * token, scope, rate limit and Content-Length are all checked before one body byte is read, so an
 * unauthenticated or oversized upload is refused without being received. Bodies are then counted
 * as they arrive and dropped once past the route's limit (chunked uploads have no length).
 *
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish (up to the grace period), answer
 * everything meanwhile with "Connection: close", then stop the daemon, free every thread's state
 * and exit 0.
 *
 * Under systemd (Type=notify, data/systemd/kivo-api.service) the server says READY=1 once the
 * database is open and the port bound, and STOPPING=1 when a signal starts the drain. Outside
 * systemd NOTIFY_SOCKET is unset and sd_notify() does nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "accesslog.h"
#include "auth.h"
#include "headwatch.h"
#include "health.h"
#include "kivo/wire.h"
#include "metrics.h"
#include "migrate.h"
#include "pool.h"
#include "ratelimit.h"
#include "scopes.h"
#include "server.h"
#include "timefmt.h"

static api_config cfg;
static api_store_options store_opt;
static atomic_int in_flight;
static atomic_int draining;
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static api_thread *threads;

/* A request target and a request head at most this long are answered by kivo-api itself, as
 * JSON; libmicrohttpd's own limit (its 32 KiB connection memory) answers longer ones in HTML. */
#define TARGET_MAX 8192
#define HEAD_MAX 16384
static pthread_key_t thread_key;
static char *oom_body; /* the out-of-memory answer, rendered at start-up */

/* Request bodies held in memory at once, all and hosted ones (api_config.max_body_memory). */
static pthread_mutex_t budget_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t bodies_all, bodies_hosted;

/* ---- per-thread state ------------------------------------------------------------------- */

/* The calling pool thread's state, made on first use. @return NULL when the store cannot be
 * opened (the request is then answered 503). */
static api_thread *thread_get(void)
{
    api_thread *t = pthread_getspecific(thread_key);
    char errmsg[256];

    if (t)
        goto out;
    t = calloc(1, sizeof *t);
    if (!t)
        goto out;
    /* A new connection maps -shm: not while a file is unusable (a SIGBUS), nor made anew. */
    if (api_health_files(errmsg, sizeof errmsg, 1) == API_HEALTH_FILES_UNUSABLE ||
        (!api_store_is_pg(cfg.db_path) &&
         api_health_files_writable(cfg.db_path, errmsg, sizeof errmsg) != 0) ||
        api_store_open(cfg.db_path, &store_opt, 0, &t->store, errmsg) != SQLITE_OK) {
        api_log_event("error", "%s", errmsg);
        goto fail;
    }
    if (kivo_json_parser_create(API_JSON_MAX_DEPTH, &t->parser) != KIVO_OK)
        goto fail;
    pthread_setspecific(thread_key, t);
    pthread_mutex_lock(&threads_lock);
    t->next = threads;
    threads = t;
    pthread_mutex_unlock(&threads_lock);
    goto out;
fail:
    api_store_close(t->store);
    kivo_json_parser_free(t->parser);
    free(t);
    t = NULL;
out:
    return t;
}

static void threads_free(void)
{
    while (threads) {
        api_thread *t = threads;
        threads = t->next;
        api_store_close(t->store);
        kivo_json_parser_free(t->parser);
        kivo_engine_free(t->engine);
        free(t);
    }
}

/* ---- routing ------------------------------------------------------------------------------ */

static int id_valid(const char *s, size_t len)
{
    if (len == 0 || len >= API_PATH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Matches base, base/{id} and base/{id}/<leaf>. @return 0 none, 1 base, 2 id, 3 id + leaf. */
static int match_under(const char *url, const char *base, const char *leaf, char *id)
{
    size_t blen = strlen(base);
    const char *rest, *slash;

    if (strncmp(url, base, blen) != 0)
        return 0;
    rest = url + blen;
    if (*rest == '\0')
        return 1;
    if (*rest != '/')
        return 0;
    rest++;
    slash = strchr(rest, '/');
    if (!id_valid(rest, slash ? (size_t)(slash - rest) : strlen(rest)))
        return 0;
    memcpy(id, rest, slash ? (size_t)(slash - rest) : strlen(rest));
    id[slash ? (size_t)(slash - rest) : strlen(rest)] = '\0';
    if (!slash)
        return 2;
    return strcmp(slash + 1, leaf) == 0 ? 3 : 0;
}

static api_route route_of(const char *url, char *id)
{
    int m;

    if (strcmp(url, "/healthz") == 0)
        return API_R_HEALTHZ;
    if (strcmp(url, "/metrics") == 0)
        return API_R_METRICS;
    if (strncmp(url, "/app", 4) == 0) {
        /* The reviewer's page: /app redirects to /app/, which is app.html; then its assets. */
        static const char *const app[][2] = {{"/app", ""},
                                             {"/app/", "app.html"},
                                             {"/app/review.js", "review.js"},
                                             {"/app/review.css", "review.css"}};
        for (size_t i = 0; i < sizeof app / sizeof app[0]; i++) {
            if (strcmp(url, app[i][0]) == 0) {
                strcpy(id, app[i][1]);
                return API_R_APP;
            }
        }
    }
    if (strcmp(url, "/v1/private-worker/batches") == 0)
        return API_R_PW_BATCHES;
    if (strcmp(url, KIVO_WIRE_PATH_PW_WHOAMI) == 0)
        return API_R_PW_WHOAMI;
    m = match_under(url, "/v1/private-worker/review-runs", "events", id);
    if (m)
        return m == 1 ? API_R_PW_RUNS : m == 2 ? API_R_PW_RUN : API_R_PW_EVENTS;
    if (match_under(url, "/v1/review-runs", "packet", id) == 3)
        return API_R_HR_PACKET;
    m = match_under(url, "/v1/review-runs", "report", id);
    if (m)
        return m == 1 ? API_R_HR_RUNS : m == 2 ? API_R_HR_RUN : API_R_HR_REPORT;
    id[0] = '\0';
    return API_R_UNKNOWN;
}

static api_method method_of(const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return API_M_GET;
    if (strcmp(m, "POST") == 0)
        return API_M_POST;
    if (strcmp(m, "DELETE") == 0)
        return API_M_DELETE;
    return API_M_OTHER;
}

/* Which methods each route answers, as a bit per api_method, and its Allow header. */
static const struct {
    unsigned methods;
    const char *allow;
} route_methods[API_R_COUNT] = {
    [API_R_HEALTHZ] = {1u << API_M_GET, "GET"},
    [API_R_METRICS] = {1u << API_M_GET, "GET"},
    [API_R_PW_RUNS] = {(1u << API_M_GET) | (1u << API_M_POST), "GET, POST"},
    [API_R_PW_RUN] = {1u << API_M_GET, "GET"},
    [API_R_PW_EVENTS] = {1u << API_M_POST, "POST"},
    [API_R_PW_BATCHES] = {1u << API_M_GET, "GET"},
    [API_R_PW_WHOAMI] = {1u << API_M_GET, "GET"},
    [API_R_HR_RUNS] = {(1u << API_M_GET) | (1u << API_M_POST), "GET, POST"},
    [API_R_HR_RUN] = {(1u << API_M_GET) | (1u << API_M_DELETE), "GET, DELETE"},
    [API_R_HR_REPORT] = {1u << API_M_GET, "GET"},
    [API_R_HR_PACKET] = {1u << API_M_GET, "GET"},
    [API_R_APP] = {1u << API_M_GET, "GET"},
};

/* ---- answering ----------------------------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *c, api_request *r, api_reply *rep)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;
    char *text = rep->text;
    size_t len = rep->text_len;
    char num[16];

    if (!text && rep->json) {
        text = json_dumps(rep->json, JSON_COMPACT);
        len = text ? strlen(text) : 0;
    }
    if (!text) {
        rep->status = 500;
        resp = MHD_create_response_from_buffer(oom_body ? strlen(oom_body) : 0, oom_body,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
        free(text);
    }
    rep->text = NULL;
    json_decref(rep->json);
    rep->json = NULL;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            rep->content_type ? rep->content_type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (rep->retry_after) {
        snprintf(num, sizeof num, "%u", rep->retry_after);
        MHD_add_response_header(resp, "Retry-After", num);
    }
    if (rep->allow)
        MHD_add_response_header(resp, "Allow", rep->allow);
    for (size_t i = 0; rep->headers && rep->headers[i]; i += 2)
        MHD_add_response_header(resp, rep->headers[i], rep->headers[i + 1]);
    if (atomic_load(&draining))
        MHD_add_response_header(resp, "Connection", "close");
    if (!r->request_id[0])
        api_request_id(NULL, r->request_id);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    r->status = rep->status;
    ok = MHD_queue_response(c, rep->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* 200 while the database files are the ones opened and usable and writes work; 503 with the
 * problem otherwise (paths stay in the log). */
static void route_healthz(api_ctx *ctx, api_reply *out)
{
    char why[256], problem[320];
    json_t *j = json_pack("{s:s, s:s, s:i}", "status", "ok", "version", KIVO_VERSION_STRING,
                          "schema_version", api_migrate_latest());

    switch (api_health_check(ctx->t->store, why, sizeof why)) {
    case API_HEALTH_OK: api_reply_json(out, 200, j); return;
    case API_HEALTH_WRITES_FAIL:
        snprintf(problem, sizeof problem, "writes to the database fail: %s", why);
        break;
    case API_HEALTH_DB_GONE:
        snprintf(problem, sizeof problem,
                 "the database file was removed or replaced while the "
                 "server ran; restart it");
        break;
    case API_HEALTH_FILES_UNUSABLE:
        snprintf(problem, sizeof problem,
                 "a database file cannot be written (immutable, or "
                 "-shm truncated); see the server log");
        break;
    }
    json_object_set_new(j, "status", json_string("unavailable"));
    json_object_set_new(j, "problem", json_string(problem));
    api_reply_json(out, 503, j);
}

static void route_metrics(api_ctx *ctx, api_reply *out)
{
    kivo_buf b;
    api_error e = {0};

    kivo_buf_init(&b, 0);
    if (api_metrics_render(ctx->t->store, &b) != 0) {
        kivo_buf_free(&b);
        api_error_set(&e, 500, "internal", "cannot render metrics");
        api_reply_error(ctx, out, &e);
        return;
    }
    out->status = 200;
    out->text = b.data ? b.data : strdup("");
    out->text_len = b.len;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* Takes n more bytes of the body budget for r: hosted packets may hold three quarters of it, so
 * private-worker calls always find room. @return 1, or 0 when it is spent. */
static int budget_take(api_request *r, size_t n)
{
    int hosted = r->route == API_R_HR_RUNS, ok;
    size_t all_max = cfg.max_body_memory, hosted_max = cfg.max_body_memory / 4 * 3;

    pthread_mutex_lock(&budget_lock);
    ok = n <= all_max - bodies_all && (!hosted || n <= hosted_max - bodies_hosted);
    if (ok) {
        bodies_all += n;
        if (hosted)
            bodies_hosted += n;
        r->body_held += n;
    }
    pthread_mutex_unlock(&budget_lock);
    return ok;
}

static void budget_release(api_request *r)
{
    pthread_mutex_lock(&budget_lock);
    bodies_all -= r->body_held;
    if (r->route == API_R_HR_RUNS)
        bodies_hosted -= r->body_held;
    r->body_held = 0;
    pthread_mutex_unlock(&budget_lock);
}

static void busy(api_error *e, const char *what, unsigned retry)
{
    api_error_set(e, 503, "unavailable", "%s; retry after %u s", what, retry);
    e->retry_after = retry;
}

/* Checks everything the headers decide. @return 0 to go on reading the body, or -1 with e
 * filled. */
static int admit(api_ctx *ctx, struct MHD_Connection *c, api_error *e, api_reply *rep)
{
    api_request *r = ctx->r;
    api_auth *a = &r->auth;
    const char *len_hdr;
    uint64_t declared;
    unsigned retry = 0;
    int ret = -1;

    if (r->target_len > TARGET_MAX) {
        api_error_set(e, 414, "uri_too_long", "the request target is over %d bytes", TARGET_MAX);
        goto out;
    }
    {
        const union MHD_ConnectionInfo *hi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        if (hi && hi->header_size > HEAD_MAX) {
            api_error_set(e, 431, "headers_too_large", "the request head is over %d bytes",
                          HEAD_MAX);
            goto out;
        }
    }
    if (r->route == API_R_UNKNOWN) {
        api_error_set(e, 404, "not_found", "no such endpoint");
        goto out;
    }
    if (!(route_methods[r->route].methods & (1u << r->method))) {
        api_error_set(e, 405, "method_not_allowed", "this endpoint answers %s",
                      route_methods[r->route].allow);
        rep->allow = route_methods[r->route].allow;
        goto out;
    }
    if (r->bad_query) {
        api_error_set(e, 400, "schema_violation", "query parameters must not contain %%00");
        goto out;
    }
    r->limit = r->route == API_R_HR_RUNS && r->method == API_M_POST ? cfg.max_hosted_body
                                                                    : cfg.max_worker_body;
    if (r->route != API_R_HEALTHZ) {
        char why[256];
        api_health_state h = api_health_files(why, sizeof why, 0);
        if (h == API_HEALTH_FILES_UNUSABLE) {
            api_error_set(e, 503, "unavailable",
                          "a database file cannot be written; see the "
                          "server log");
            goto out;
        }
        if (h == API_HEALTH_DB_GONE && r->method != API_M_GET) {
            api_error_set(e, 503, "unavailable",
                          "the database file was removed or replaced "
                          "while the server ran; writes are refused "
                          "until it restarts");
            goto out;
        }
    }
    if (r->route == API_R_HEALTHZ || r->route == API_R_METRICS || r->route == API_R_APP) {
        ret = 0;
        goto out;
    }
    if (api_auth_resolve(
            ctx, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            e) != 0)
        goto out;
    switch (r->route) {
    case API_R_PW_RUNS:
        if (api_auth_need_key(a, r->method == API_M_POST ? API_SCOPE_PW_WRITE : API_SCOPE_PW_READ,
                              e) != 0)
            goto out;
        break;
    case API_R_PW_BATCHES:
        if (api_auth_need_key(a, API_SCOPE_PW_READ, e) != 0)
            goto out;
        break;
    case API_R_PW_WHOAMI: /* what a batch about to send its events needs */
        if (api_auth_need_key(a, API_SCOPE_PW_WRITE, e) != 0)
            goto out;
        break;
    case API_R_PW_RUN:
        if (a->kind == API_TOKEN_CREDENTIAL) {
            if (api_auth_need_credential(a, r->id, 0, e) != 0)
                goto out;
        } else if (api_auth_need_key(a, API_SCOPE_PW_READ, e) != 0) {
            goto out;
        }
        break;
    case API_R_PW_EVENTS:
        /* An expired credential of this run may still replay an accepted event; the route
         * decides once it has the body. */
        if (api_auth_need_credential(
                a, r->id, a->kind == API_TOKEN_CREDENTIAL && strcmp(a->run_id, r->id) == 0, e) != 0)
            goto out;
        break;
    case API_R_HR_RUNS:
    case API_R_HR_RUN:
        if (api_auth_need_key(
                a, r->method == API_M_GET ? API_SCOPE_REVIEW_READ : API_SCOPE_REVIEW_WRITE, e) != 0)
            goto out;
        break;
    case API_R_HR_REPORT:
    case API_R_HR_PACKET:
        if (api_auth_need_key(a, API_SCOPE_REVIEW_READ, e) != 0)
            goto out;
        break;
    default: break;
    }
    if (!api_ratelimit_take(a->kind == API_TOKEN_KEY ? (uint64_t)a->key_id << 1
                                                     : ((uint64_t)a->run_row << 1) | 1,
                            api_mono_ns(), &retry)) {
        api_error_set(e, 429, "rate_limited", "too many requests; retry after %u s", retry);
        e->retry_after = retry;
        goto out;
    }
    len_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (len_hdr && (api_cli_parse_u64(len_hdr, 0, &declared) != 0 || declared > r->limit)) {
        api_error_set(e, 413, "payload_too_large", "body over the limit of %zu bytes", r->limit);
        goto out;
    }
    if (r->route == API_R_HR_RUNS && r->method == API_M_POST) {
        if (!api_pool_reserve()) {
            char what[96];
            snprintf(what, sizeof what, "hosted review is busy (%u reviews running or queued)",
                     api_pool_slots());
            busy(e, what, 2);
            goto out;
        }
        r->pool_slot = 1;
    }
    /* The declared length is held from now on, so unfinished uploads cannot add up past the
     * budget; a chunked body is counted as it comes. */
    r->declared = len_hdr ? (size_t)declared : 0;
    if (len_hdr && !budget_take(r, r->declared + KIVO_JSON_PADDING + 1)) {
        busy(e, "the server holds too many request bodies", 1);
        goto out;
    }
    ret = 0;
out:
    return ret;
}

static void dispatch(api_ctx *ctx, api_reply *rep)
{
    api_request *r = ctx->r;
    api_error e = {0};

    if (r->too_large) {
        api_error_set(&e, 413, "payload_too_large", "body over the limit of %zu bytes", r->limit);
        api_reply_error(ctx, rep, &e);
        return;
    }
    switch (r->route) {
    case API_R_HEALTHZ: route_healthz(ctx, rep); break;
    case API_R_METRICS: route_metrics(ctx, rep); break;
    case API_R_PW_RUNS:
        if (r->method == API_M_POST)
            api_route_pw_create(ctx, rep);
        else
            api_route_pw_list(ctx, rep);
        break;
    case API_R_PW_RUN: api_route_pw_get(ctx, rep); break;
    case API_R_PW_EVENTS: api_route_pw_event(ctx, rep); break;
    case API_R_PW_BATCHES: api_route_pw_batches(ctx, rep); break;
    case API_R_PW_WHOAMI: api_route_pw_whoami(ctx, rep); break;
    case API_R_HR_RUNS:
        if (r->method == API_M_POST)
            api_route_hr_create(ctx, rep);
        else
            api_route_hr_list(ctx, rep);
        break;
    case API_R_HR_RUN:
        if (r->method == API_M_DELETE)
            api_route_hr_delete(ctx, rep);
        else
            api_route_hr_get(ctx, rep);
        break;
    case API_R_HR_REPORT: api_route_hr_report(ctx, rep); break;
    case API_R_HR_PACKET: api_route_hr_packet(ctx, rep); break;
    case API_R_APP: api_route_app(ctx, rep); break;
    default:
        api_error_set(&e, 404, "not_found", "no such endpoint");
        api_reply_error(ctx, rep, &e);
        break;
    }
    /* No read may keep its snapshot past the request (handlers end their rows themselves). */
    if (ctx->t && ctx->t->store)
        api_store_end(ctx->t->store);
}

static api_request *request_new(void)
{
    api_request *r = calloc(1, sizeof *r);

    if (r) {
        atomic_fetch_add(&in_flight, 1);
        r->t0_ns = api_mono_ns();
        r->event_type = -1;
    }
    return r;
}

/* Called with the raw request target once the request line is read, before MHD decodes it: the
 * request's state starts here. A %00 would cut the decoded path or value short ("/healthz%00x"
 * would be /healthz), so it is noted now and refused once the headers are in. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    api_request *r = request_new();
    const char *query = strchr(uri, '?');
    const char *nul = strstr(uri, "%00");

    (void)cls;
    (void)c;
    if (r)
        r->target_len = strlen(uri);
    if (r && nul) {
        if (query && nul > query)
            r->bad_query = 1;
        else
            r->bad_path = 1;
    }
    return r;
}

/* Every new connection, before MHD reads from it: once SIGTERM or SIGINT came, refused (MHD
 * closes it), so that only the requests in flight are finished. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)cls;
    (void)addr;
    (void)addrlen;
    return atomic_load(&draining) ? MHD_NO : MHD_YES;
}

/* On a review thread: the hosted create, with that thread's own store, parser and engine. */
static void hosted_run(api_pool_job *job)
{
    api_request *r = (api_request *)((char *)job - offsetof(api_request, job));
    api_ctx ctx = {&cfg, thread_get(), r};
    api_error e = {0};

    if (!ctx.t) {
        api_error_set(&e, 503, "unavailable", "the store cannot be opened");
        api_reply_error(&ctx, &r->pool_reply, &e);
        return;
    }
    api_route_hr_create(&ctx, &r->pool_reply);
    /* The body is not needed for the answer: give its memory and budget back now. */
    kivo_buf_free(&r->body);
    budget_release(r);
}

static void hosted_done(api_pool_job *job, int ran)
{
    api_request *r = (api_request *)((char *)job - offsetof(api_request, job));
    api_ctx ctx = {&cfg, NULL, r};
    api_error e = {0};

    if (!ran) {
        busy(&e, "the server is stopping", 5);
        api_reply_error(&ctx, &r->pool_reply, &e);
    }
    r->pool_done = 1;
    MHD_resume_connection(r->conn);
}

/* First call: admit from the headers (answering at once when refused). Calls with upload data:
 * count and keep the bytes, dropping them past the limit. Last call: run the route, a hosted
 * create on a review thread. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    api_request *r = *con_cls;
    api_reply rep = {0};
    api_error e = {0};
    api_ctx ctx = {&cfg, NULL, r};
    enum MHD_Result ret = MHD_YES;

    (void)cls;
    (void)version;
    if (!r && !(r = *con_cls = request_new())) {
        ret = MHD_NO;
        goto out;
    }
    if (!r->begun) {
        r->begun = 1;
        api_headwatch_head_done(c);
        r->conn = c;
        api_request_id(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id"),
                       r->request_id);
        r->method = method_of(method);
        r->route = r->bad_path ? API_R_UNKNOWN : route_of(url, r->id);
        ctx.r = r;
        ctx.t = thread_get();
        if (!ctx.t)
            api_error_set(&e, 503, "unavailable", "the store cannot be opened");
        else if (admit(&ctx, c, &e, &rep) == 0) {
            kivo_buf_init(&r->body, r->limit + KIVO_JSON_PADDING + 1);
            api_headwatch_body(c, 1);
        }
        if (e.http) {
            api_reply_error(&ctx, &rep, &e);
            ret = send_reply(c, r, &rep);
        }
        goto out;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size, before = r->received;
        r->received = r->received + n < r->received ? SIZE_MAX : r->received + n;
        if (r->declared && before < r->declared && r->received >= r->declared)
            api_headwatch_body(c, 0);
        if (!r->too_large && !r->over_budget) {
            if (r->received > r->limit) {
                r->too_large = 1;
            } else if (r->declared ? r->received > r->declared : !budget_take(r, n)) {
                r->over_budget = 1;
            } else if ((r->declared && !r->body.cap &&
                        kivo_buf_reserve(&r->body, r->declared + KIVO_JSON_PADDING + 1) !=
                            KIVO_OK) ||
                       kivo_buf_append(&r->body, upload_data, n) != KIVO_OK) {
                r->too_large = 1;
            }
            if (r->too_large || r->over_budget)
                kivo_buf_free(&r->body);
        }
        *upload_data_size = 0;
        goto out;
    }
    api_headwatch_body(c, 0); /* the whole body is in (or there was none) */
    if (r->pool_done) {
        /* Resumed: the hosted review has its answer ready. */
        ret = send_reply(c, r, &r->pool_reply);
        goto out;
    }
    if (r->over_budget) {
        api_error e2 = {0};
        busy(&e2, "the server holds too many request bodies", 1);
        api_reply_error(&ctx, &rep, &e2);
    } else if (r->pool_slot && !r->too_large) {
        /* Hosted review: suspend the connection and run it on a review thread. */
        r->job.run = hosted_run;
        r->job.done = hosted_done;
        MHD_suspend_connection(c);
        if (api_pool_submit(&r->job) == 0)
            goto out;
        MHD_resume_connection(c);
        busy(&e, "the server is stopping", 5);
        api_reply_error(&ctx, &rep, &e);
    } else if (!(ctx.t = thread_get())) {
        api_error_set(&e, 503, "unavailable", "the store cannot be opened");
        api_reply_error(&ctx, &rep, &e);
    } else {
        dispatch(&ctx, &rep);
    }
    ret = send_reply(c, r, &rep);
out:
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    api_request *r = *con_cls;
    uint64_t ns;

    (void)cls;
    (void)toe;
    api_headwatch_request_done(c);
    if (!r)
        return;
    ns = api_mono_ns() - r->t0_ns;
    if (r->status) {
        api_metrics_request(r->route, r->method, r->status, ns);
        if (r->route == API_R_PW_EVENTS && r->method == API_M_POST) {
            if (r->status == 202)
                api_metrics_event_accepted(r->event_type);
            else if (r->status == 200)
                api_metrics_event_replayed();
            else
                api_metrics_event_rejected(r->reason);
        }
    }
    /* The route pattern and a run id only: never the raw URL, headers or body (accesslog.h). */
    if (!cfg.quiet && r->begun)
        api_log_request(r, (double)ns / 1e6);
    kivo_buf_free(&r->body);
    budget_release(r);
    if (r->pool_slot)
        api_pool_release();
    json_decref(r->pool_reply.json);
    free(r->pool_reply.text);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&in_flight, 1);
}

/* ---- the command ---------------------------------------------------------------------------- */

enum {
    O_LISTEN,
    O_DB,
    O_CREATE,
    O_THREADS,
    O_TTL,
    O_MAX_WORKER,
    O_MAX_HOSTED,
    O_RATE,
    O_BURST,
    O_SYNC,
    O_GRACE,
    O_MAX_CONN,
    O_MAX_CONN_IP,
    O_HEAD_TIMEOUT,
    O_HOSTED_THREADS,
    O_HOSTED_QUEUE,
    O_BODY_MEMORY,
    O_MAX_CLAIMS,
    O_MAX_REPORT,
    O_QUIET,
    O_LOG_FORMAT,
    O_HELP,
    O_COUNT
};

static const api_option serve_opts[O_COUNT] = {
    [O_LISTEN] = {"--listen", "KIVO_API_LISTEN", "HOST:PORT",
                  "address to listen on: 127.0.0.1:8787 (the default), localhost:8787, "
                  "[::1]:8787, or :8787 for every IPv4 address"},
    [O_DB] = {"--db", "KIVO_API_DB", "PATH|URI",
              "SQLite database file, or postgresql://... (libpq URI) (required)"},
    [O_CREATE] = {"--create", "KIVO_API_CREATE", NULL,
                  "make the database (mode 0600 less the umask) when it does not exist; without "
                  "it a missing database is an error, never silently a new empty one"},
    [O_THREADS] = {"--threads", "KIVO_API_THREADS", "N",
                   "HTTP worker threads (default: 2 x CPUs, 4..32)"},
    [O_TTL] = {"--credential-ttl", "KIVO_API_CREDENTIAL_TTL", "SECONDS",
               "worker credential lifetime (default 86400)"},
    [O_MAX_WORKER] = {"--max-worker-body", "KIVO_API_MAX_WORKER_BODY", "BYTES",
                      "private-worker body limit (default 64K)"},
    [O_MAX_HOSTED] = {"--max-hosted-body", "KIVO_API_MAX_HOSTED_BODY", "BYTES",
                      "hosted packet limit (default 16M)"},
    [O_RATE] = {"--rate-limit", "KIVO_API_RATE_LIMIT", "N",
                "requests per second per token, 0 = off (default 1000)"},
    [O_BURST] = {"--rate-burst", "KIVO_API_RATE_BURST", "N", "burst size (default 2 x rate)"},
    [O_SYNC] = {"--sync", "KIVO_API_SYNC", "normal|full",
                "SQLite synchronous mode (default normal: survives process crashes; full: also "
                "power loss)"},
    [O_GRACE] = {"--shutdown-grace", "KIVO_API_SHUTDOWN_GRACE", "SECONDS",
                 "how long SIGTERM waits for requests in flight (default 30)"},
    [O_MAX_CONN] = {"--max-connections", "KIVO_API_MAX_CONNECTIONS", "N",
                    "open connections at most (default 4096)"},
    [O_MAX_CONN_IP] = {"--max-connections-per-ip", "KIVO_API_MAX_CONNECTIONS_PER_IP", "N",
                       "open connections per client address, 0 = no limit (default 128; raise "
                       "it behind a proxy that does not pool)"},
    [O_HEAD_TIMEOUT] = {"--header-timeout", "KIVO_API_HEADER_TIMEOUT", "SECONDS",
                        "deadline for a complete request head, from the connection's accept or "
                        "previous answer; 0 = none (default 30)"},
    [O_HOSTED_THREADS] = {"--hosted-threads", "KIVO_API_HOSTED_THREADS", "N",
                          "threads that run hosted reviews, apart from the HTTP threads "
                          "(default: half the CPUs, at least 1)"},
    [O_HOSTED_QUEUE] = {"--hosted-queue", "KIVO_API_HOSTED_QUEUE", "N",
                        "hosted reviews that may wait for a thread; past it 503 (default 8)"},
    [O_BODY_MEMORY] = {"--max-body-memory", "KIVO_API_MAX_BODY_MEMORY", "BYTES",
                       "request bodies held in memory at once, hosted ones at most 3/4 of it; "
                       "past it 503 (default 256M)"},
    [O_MAX_CLAIMS] = {"--max-claims", "KIVO_API_MAX_CLAIMS", "N",
                      "claims a hosted packet may have; past it 413 (default 10000)"},
    [O_MAX_REPORT] = {"--max-report-bytes", "KIVO_API_MAX_REPORT_BYTES", "BYTES",
                      "size of a hosted run's claim report; past it 413 (default 32M)"},
    [O_QUIET] = {"--quiet", "KIVO_API_QUIET", NULL, "no access log on stderr"},
    [O_LOG_FORMAT] = {"--log-format", "KIVO_API_LOG_FORMAT", "json|text",
                      "the log on stderr: text lines (the default) or JSON lines with time, "
                      "level, request_id (also the X-Request-Id answer header), method, route "
                      "(the template, never the raw path), status, duration_ms and project"},
    [O_HELP] = {"--help", NULL, NULL, "show this help"},
};

static void serve_usage(FILE *f)
{
    fprintf(f, "Usage: kivo-api serve --db PATH [--listen HOST:PORT] [OPTIONS]\n\nOptions:\n");
    api_cli_print_options(f, serve_opts, O_COUNT);
}

static int bad_value(const char *flag)
{
    fprintf(stderr, "kivo-api: invalid value for %s (see kivo-api serve --help)\n", flag);
    return -1;
}

static int load_config(int argc, char **argv, int *help)
{
    const char *v[O_COUNT];
    uint64_t n;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    *help = 0;
    if (api_cli_collect(argc, argv, 1, serve_opts, O_COUNT, v) != 0)
        return -1;
    if (v[O_HELP]) {
        *help = 1;
        return 0;
    }
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.host, "127.0.0.1");
    cfg.port = 8787;
    /* Twice the CPUs (4..32): the HTTP threads do the store's work of every request; hosted
     * reviews run on threads of their own (pool.h). */
    cfg.threads = cpus > 2 ? (unsigned)(cpus > 16 ? 32 : 2 * cpus) : 4;
    cfg.credential_ttl_ms = 86400 * 1000LL;
    cfg.max_worker_body = 64 * 1024;
    cfg.max_hosted_body = 16 * 1024 * 1024;
    cfg.rate_limit = 1000;
    cfg.shutdown_grace_s = 30;
    if (v[O_LISTEN] && api_cli_parse_listen(v[O_LISTEN], cfg.host, &cfg.port) != 0)
        return bad_value("--listen");
    cfg.db_path = v[O_DB];
    if (!cfg.db_path || !*cfg.db_path) {
        fprintf(stderr, "kivo-api: serve needs --db PATH (or KIVO_API_DB)\n");
        return -1;
    }
    if (v[O_THREADS]) {
        if (api_cli_parse_u64(v[O_THREADS], 0, &n) != 0 || n < 1 || n > 256)
            return bad_value("--threads");
        cfg.threads = (unsigned)n;
    }
    if (v[O_TTL]) {
        if (api_cli_parse_u64(v[O_TTL], 0, &n) != 0 || n < 1 || n > 366ull * 86400)
            return bad_value("--credential-ttl");
        cfg.credential_ttl_ms = (int64_t)n * 1000;
    }
    if (v[O_MAX_WORKER]) {
        if (api_cli_parse_u64(v[O_MAX_WORKER], 1, &n) != 0 || n < 1024 || n > (1ull << 30))
            return bad_value("--max-worker-body");
        cfg.max_worker_body = (size_t)n;
    }
    if (v[O_MAX_HOSTED]) {
        if (api_cli_parse_u64(v[O_MAX_HOSTED], 1, &n) != 0 || n < 1024 || n > (1ull << 30))
            return bad_value("--max-hosted-body");
        cfg.max_hosted_body = (size_t)n;
    }
    if (v[O_RATE]) {
        if (api_cli_parse_u64(v[O_RATE], 0, &n) != 0 || n > 1000000)
            return bad_value("--rate-limit");
        cfg.rate_limit = (double)n;
    }
    cfg.rate_burst = 2 * cfg.rate_limit;
    if (v[O_BURST]) {
        if (api_cli_parse_u64(v[O_BURST], 0, &n) != 0 || n < 1 || n > 10000000)
            return bad_value("--rate-burst");
        cfg.rate_burst = (double)n;
    }
    if (v[O_SYNC]) {
        if (strcmp(v[O_SYNC], "full") == 0)
            cfg.synchronous_full = 1;
        else if (strcmp(v[O_SYNC], "normal") != 0)
            return bad_value("--sync");
    }
    if (v[O_GRACE]) {
        if (api_cli_parse_u64(v[O_GRACE], 0, &n) != 0 || n > 3600)
            return bad_value("--shutdown-grace");
        cfg.shutdown_grace_s = (unsigned)n;
    }
    cfg.max_connections = 4096;
    if (v[O_MAX_CONN]) {
        if (api_cli_parse_u64(v[O_MAX_CONN], 0, &n) != 0 || n < 16 || n > 1000000)
            return bad_value("--max-connections");
        cfg.max_connections = (unsigned)n;
    }
    cfg.max_connections_per_ip = 128;
    if (v[O_MAX_CONN_IP]) {
        if (api_cli_parse_u64(v[O_MAX_CONN_IP], 0, &n) != 0 || n > 1000000)
            return bad_value("--max-connections-per-ip");
        cfg.max_connections_per_ip = (unsigned)n;
    }
    cfg.header_timeout_s = 30;
    if (v[O_HEAD_TIMEOUT]) {
        if (api_cli_parse_u64(v[O_HEAD_TIMEOUT], 0, &n) != 0 || n > 3600)
            return bad_value("--header-timeout");
        cfg.header_timeout_s = (unsigned)n;
    }
    cfg.hosted_threads = cpus > 1 ? (unsigned)(cpus / 2) : 1;
    if (v[O_HOSTED_THREADS]) {
        if (api_cli_parse_u64(v[O_HOSTED_THREADS], 0, &n) != 0 || n < 1 || n > 256)
            return bad_value("--hosted-threads");
        cfg.hosted_threads = (unsigned)n;
    }
    cfg.hosted_queue = 8;
    if (v[O_HOSTED_QUEUE]) {
        if (api_cli_parse_u64(v[O_HOSTED_QUEUE], 0, &n) != 0 || n > 100000)
            return bad_value("--hosted-queue");
        cfg.hosted_queue = (unsigned)n;
    }
    cfg.max_body_memory = 256u << 20;
    if (v[O_BODY_MEMORY]) {
        if (api_cli_parse_u64(v[O_BODY_MEMORY], 1, &n) != 0 || n < (1u << 20) || n > (1ull << 40))
            return bad_value("--max-body-memory");
        cfg.max_body_memory = (size_t)n;
    }
    if (cfg.max_body_memory / 4 * 3 < cfg.max_hosted_body + KIVO_JSON_PADDING + 1 ||
        cfg.max_body_memory < cfg.max_worker_body + KIVO_JSON_PADDING + 1) {
        fprintf(stderr, "kivo-api: --max-body-memory must hold one largest body (hosted ones "
                        "may use 3/4 of it)\n");
        return -1;
    }
    cfg.max_claims = 10000;
    if (v[O_MAX_CLAIMS]) {
        if (api_cli_parse_u64(v[O_MAX_CLAIMS], 0, &n) != 0 || n < 1 || n > 100000000)
            return bad_value("--max-claims");
        cfg.max_claims = (size_t)n;
    }
    cfg.max_report_bytes = 32u << 20;
    if (v[O_MAX_REPORT]) {
        if (api_cli_parse_u64(v[O_MAX_REPORT], 1, &n) != 0 || n < 4096 || n > (1ull << 34))
            return bad_value("--max-report-bytes");
        cfg.max_report_bytes = (size_t)n;
    }
    cfg.quiet = v[O_QUIET] && strcmp(v[O_QUIET], "0") != 0;
    api_log_format lf = API_LOG_TEXT;
    if (v[O_LOG_FORMAT] && api_log_format_parse(v[O_LOG_FORMAT], &lf) != 0)
        return bad_value("--log-format");
    cfg.log_format = (int)lf;
    cfg.create = v[O_CREATE] && strcmp(v[O_CREATE], "0") != 0;
    return 0;
}

/* Each connection is a descriptor: lift the soft limit (1024 under many service managers) to the
 * hard one when the connection limit needs more. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg.max_connections + 256;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        api_log_event("warn",
                      "warning: %llu descriptors allowed, --max-connections %u needs "
                      "about %llu",
                      (unsigned long long)rl.rlim_cur, cfg.max_connections,
                      (unsigned long long)want);
}

/* The address to listen on: a numeric one as it is, a name (localhost) as the resolver says,
 * its first address. @return 0, or -1 when the host is neither. */
static int make_addr(struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    memset(ss, 0, sizeof *ss);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", cfg.port);
    if (!strchr(cfg.host, ':') && inet_pton(AF_INET, cfg.host, &(struct in_addr){0}) != 1 &&
        getaddrinfo(cfg.host, port, &hints, &ai) == 0 && ai) {
        int ok = ai->ai_addrlen <= sizeof *ss;
        if (ok) {
            memcpy(ss, ai->ai_addr, ai->ai_addrlen);
            *len = ai->ai_addrlen;
        }
        freeaddrinfo(ai);
        return ok ? 0 : -1;
    }
    if (strchr(cfg.host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg.port);
        *len = sizeof *a6;
        return inet_pton(AF_INET6, cfg.host, &a6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)cfg.port);
    *len = sizeof *a4;
    return inet_pton(AF_INET, cfg.host, &a4->sin_addr) == 1 ? 0 : -1;
}

/* libmicrohttpd says only that it could not start: bind the address once more to learn why, so
 * that a port in use is named as such. */
static void listen_error(const struct sockaddr_storage *ss, socklen_t len)
{
    int e = 0, one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)ss, len) != 0)
            e = errno;
        close(fd);
    } else {
        e = errno;
    }
    if (e == EADDRINUSE)
        api_log_event("error",
                      "cannot listen on %s:%u: port %u is already in use (another "
                      "kivo-api, or another program: see `ss -ltnp 'sport = :%u'`); choose "
                      "another with --listen",
                      cfg.host, cfg.port, cfg.port, cfg.port);
    else if (e)
        api_log_event("error", "cannot listen on %s:%u: %s", cfg.host, cfg.port, strerror(e));
    else
        api_log_event("error", "cannot listen on %s:%u", cfg.host, cfg.port);
}

int api_serve_main(int argc, char **argv)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct MHD_Daemon *d = NULL;
    api_store *main_store = NULL;
    sigset_t sigs;
    char errmsg[256], db_name[256];
    int help = 0, sig = 0, code = API_EXIT_USAGE;
    unsigned flags;

    if (load_config(argc, argv, &help) != 0)
        goto out;
    if (help) {
        serve_usage(stdout);
        code = API_EXIT_OK;
        goto out;
    }
    api_log_set_format((api_log_format)cfg.log_format);
    if (make_addr(&ss, &sslen) != 0) {
        api_log_event("error",
                      "--listen %s:%u: no such address or host name (127.0.0.1:8787, "
                      "localhost:8787, [::1]:8787, :8787)",
                      cfg.host, cfg.port);
        goto out;
    }
    code = API_EXIT_FAILURE;
    store_opt.synchronous_full = cfg.synchronous_full;
    store_opt.busy_timeout_ms = 10000;
    store_opt.create = cfg.create;
    /* Migrate once, here, before any request thread opens its own connection. */
    if ((!api_store_is_pg(cfg.db_path) &&
         api_health_files_writable(cfg.db_path, errmsg, sizeof errmsg) != 0) ||
        api_store_open(cfg.db_path, &store_opt, 1, &main_store, errmsg) != SQLITE_OK) {
        api_log_event(
            "error", "cannot open the database: %s%s", errmsg,
            !cfg.create && !api_store_is_pg(cfg.db_path) && access(cfg.db_path, F_OK) != 0
                ? " (pass --create to make a new one; a database that disappeared is never "
                  "recreated silently)"
                : "");
        goto out;
    }
    /* Request threads open their connections later: never a new file behind the operator. */
    store_opt.create = 0;
    /* The file checks are SQLite's: a PostgreSQL server guards its own files, and a lost
     * connection shows in the write health instead. */
    if (!api_store_is_pg(cfg.db_path)) {
        if (api_health_watch(cfg.db_path) != 0) {
            api_log_event("error", "cannot stat %s", cfg.db_path);
            goto out;
        }
        api_health_on_fatal_signals(cfg.db_path);
    }
    api_ratelimit_configure(cfg.rate_limit, cfg.rate_burst);
    {
        api_error oom = {0};
        json_t *j;
        api_error_set(&oom, 500, "internal", "out of memory");
        j = api_error_json(&oom);
        oom_body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        api_error_clear(&oom);
    }
    if (pthread_key_create(&thread_key, NULL) != 0)
        goto out;

    /* Block the signals in every thread (MHD's inherit this mask); main waits for them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    raise_fd_limit();
    if (api_headwatch_start(cfg.header_timeout_s) != 0) {
        api_log_event("error", "cannot start the request-head watchdog");
        goto out;
    }
    if (api_pool_start(cfg.hosted_threads, cfg.hosted_threads + cfg.hosted_queue) != 0) {
        api_log_event("error", "cannot start the hosted-review threads");
        goto out;
    }
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, on_accept, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned int)cfg.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_NOTIFY_CONNECTION, api_headwatch_notify, NULL,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int)60, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int)cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                         (unsigned int)cfg.max_connections_per_ip, MHD_OPTION_END);
    if (!d) {
        listen_error(&ss, sslen);
        goto out;
    }
    api_store_describe(cfg.db_path, db_name, sizeof db_name);
    api_log_event("info",
                  "listening on %s:%u (kivo-api %s), database %s, %u threads, %u "
                  "hosted-review threads",
                  cfg.host, cfg.port, KIVO_VERSION_STRING, db_name, cfg.threads,
                  cfg.hosted_threads);
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s:%u", cfg.host, cfg.port);

    while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    /* From now on on_accept() closes every new connection at once. MHD_quiesce_daemon() is not
     * used: with epoll and MHD's own threads it races them for the listen socket's removal from
     * their epoll sets, and the loser panics ("Failed to remove listen FD from epoll set") and
     * aborts the server (seen under load in api_tenants; an open libmicrohttpd defect). The log
     * line and STOPPING=1 come after it, so whoever reads them knows new connections are
     * refused. */
    atomic_store(&draining, 1);
    api_log_event("info", "signal %d, finishing requests in flight", sig);
    sd_notify(0, "STOPPING=1\nSTATUS=finishing requests in flight");
    for (unsigned waited = 0; atomic_load(&in_flight) > 0 && waited < cfg.shutdown_grace_s * 100;
         waited++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Reviews still queued are answered 503 and every suspended connection resumed: libmicrohttpd
     * must not stop with one suspended. */
    api_pool_stop();
    MHD_stop_daemon(d);
    d = NULL;
    api_headwatch_stop();
    api_log_event("info", "stopped");
    code = API_EXIT_OK;
out:
    api_pool_stop();
    if (d)
        MHD_stop_daemon(d);
    api_headwatch_stop();
    threads_free();
    api_store_close(main_store);
    free(oom_body);
    oom_body = NULL;
    return code;
}
