/*
 * server.h - what the HTTP layer (serve.c) shares with the route handlers and auth.
 *
 * serve.c owns libmicrohttpd: it matches the route, authenticates from the headers before any body
 * is read, counts body bytes against the route's limit, and calls one handler per request with the
 * whole body. A handler fills an api_reply and never touches MHD. Each pool thread has its own
 * api_thread (SQLite connection, JSON parser, engine), made on first use.
 */
#ifndef KIVO_API_SERVER_H
#define KIVO_API_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kivo/buf.h"
#include "kivo/json.h"
#include "kivo/review.h"
#include "kivo/wire.h"

#include "cli.h"
#include "errors.h"
#include "pool.h"
#include "store.h"
#include "token.h"

#define API_PATH_ID_MAX 80
#define API_PROJECT_MAX 201
#define API_JSON_MAX_DEPTH 32

typedef enum api_route {
    API_R_UNKNOWN = 0,
    API_R_HEALTHZ,
    API_R_METRICS,
    API_R_PW_RUNS,    /* /v1/private-worker/review-runs */
    API_R_PW_RUN,     /* /v1/private-worker/review-runs/{id} */
    API_R_PW_EVENTS,  /* /v1/private-worker/review-runs/{id}/events */
    API_R_PW_BATCHES, /* /v1/private-worker/batches */
    API_R_PW_WHOAMI,  /* /v1/private-worker/whoami */
    API_R_HR_RUNS,    /* /v1/review-runs */
    API_R_HR_RUN,     /* /v1/review-runs/{id} */
    API_R_HR_REPORT,  /* /v1/review-runs/{id}/report */
    API_R_HR_PACKET,  /* /v1/review-runs/{id}/packet */
    API_R_APP,        /* /app/ and its assets (id: the asset's name, "" for /app) */
    API_R_COUNT
} api_route;

typedef enum api_method {
    API_M_GET = 0,
    API_M_POST,
    API_M_DELETE,
    API_M_OTHER,
    API_M_COUNT
} api_method;

/* Who is calling, resolved from the Authorization header. */
typedef struct api_auth {
    api_token_kind kind; /* API_TOKEN_INVALID when not authenticated */
    unsigned char digest[API_DIGEST_SIZE];
    /* API key */
    int64_t key_id;
    char project[API_PROJECT_MAX];
    unsigned scopes;
    /* worker credential */
    int64_t run_row;
    char run_id[API_RUN_ID_MAX];
    int cred_expired;
} api_auth;

typedef struct api_thread {
    api_store *store;
    kivo_json_parser *parser;
    kivo_engine *engine; /* NULL until the first hosted review */
    struct api_thread *next;
} api_thread;

typedef struct api_reply {
    unsigned status;
    json_t *json; /* body, owned; or */
    char *text;   /* raw body (malloc), owned, with text_len */
    size_t text_len;
    const char *content_type; /* default application/json */
    unsigned retry_after;
    const char *allow;
    const char *const *headers; /* extra headers: name, value, ..., NULL (static) */
} api_reply;

#define API_REQUEST_ID_MAX 65 /* a request id (accesslog.h) and its NUL */

typedef struct api_request {
    api_route route;
    api_method method;
    char request_id[API_REQUEST_ID_MAX]; /* the log's and X-Request-Id's, accesslog.h */
    char id[API_PATH_ID_MAX];            /* the {id} of the path, "" when none */
    uint64_t t0_ns;
    kivo_buf body;
    size_t limit;
    size_t received;
    int too_large;
    api_auth auth;
    unsigned status;         /* what was answered, for metrics and the log */
    const char *reason;      /* error code or finer reason, for metrics */
    int event_type;          /* API_R_PW_EVENTS: index of the accepted event type */
    void *conn;              /* struct MHD_Connection *, for query arguments */
    int begun;               /* the first on_request call (headers) happened */
    int bad_path, bad_query; /* the raw target had a %00 in the path / the query */
    size_t target_len;       /* bytes of the raw request target */
    size_t declared;         /* Content-Length, 0 when chunked */
    size_t body_held;        /* bytes of the body budget this request holds */
    int over_budget;         /* a chunked body passed the body budget */
    int pool_slot;           /* holds a hosted-review slot (pool.h) */
    int pool_done;           /* the review thread filled pool_reply */
    api_pool_job job;
    api_reply pool_reply; /* the hosted answer, made on a review thread */
} api_request;

typedef struct api_ctx {
    const api_config *cfg;
    api_thread *t;
    api_request *r;
} api_ctx;

/* Answers with the error in e (its status, JSON body) and clears e. */
void api_reply_error(api_ctx *ctx, api_reply *out, api_error *e);

/* Answers status with a JSON body (reference stolen). */
void api_reply_json(api_reply *out, unsigned status, json_t *body);

/* Parses the request body as one JSON object with the thread's parser. On failure fills e with
 * 400 invalid_json. @return the root, or NULL. */
const kivo_json_node *api_parse_body(api_ctx *ctx, api_error *e);

/* The query argument `name` of the request, or NULL. */
const char *api_query(api_ctx *ctx, const char *name);

/* Checks that the query has only the listed arguments (NULL-terminated, at most 32), each at most
 * once; fills e otherwise. */
void api_query_allow(api_ctx *ctx, const char *const *names, api_error *e);

/* A jansson copy of a kivo_json tree (NULL when out of memory). */
json_t *api_json_from_node(const kivo_json_node *n);

/* Canonical compact text with sorted keys (malloc) and its SHA-256. @return 0 or -1. */
int api_json_canonical(const json_t *j, char **text, unsigned char digest[API_DIGEST_SIZE]);

/* Removes "batch_id": "default" from a create body before it is made canonical: a body that
 * names the default batch and one that names none are the same create (so a repeat from a worker
 * before batch ids, or after, stays idempotent). */
void api_json_drop_default_batch(json_t *body);

/* Sets key to a string copy of a tree string (or leaves it out when n is NULL). */
void api_json_set_str(json_t *obj, const char *key, const kivo_json_node *n);

/* Sets key to an RFC 3339 string of ms, or null when ms < 0. */
void api_json_set_time(json_t *obj, const char *key, int64_t ms);

/* The route handlers (routes_private.c, routes_hosted.c, serve.c). */
void api_route_pw_create(api_ctx *ctx, api_reply *out);
void api_route_pw_event(api_ctx *ctx, api_reply *out);
void api_route_pw_get(api_ctx *ctx, api_reply *out);
void api_route_pw_list(api_ctx *ctx, api_reply *out);
void api_route_hr_create(api_ctx *ctx, api_reply *out);
void api_route_hr_get(api_ctx *ctx, api_reply *out);
void api_route_hr_report(api_ctx *ctx, api_reply *out);
void api_route_hr_list(api_ctx *ctx, api_reply *out);
void api_route_hr_delete(api_ctx *ctx, api_reply *out);
/* routes_app.c: the reviewer's page (no auth) and the packet it shows a run with. */
void api_route_app(api_ctx *ctx, api_reply *out);
void api_route_hr_packet(api_ctx *ctx, api_reply *out);

/* list.c: a run list page (GET /v1/private-worker/review-runs, GET /v1/review-runs). The route's
 * fetch runs its store list with the filter and, per row, stops when api_list_full() says the
 * page is full (that row is one past it) or renders the row and api_list_add()s it.
 * statuses: the values the status filter takes. */
typedef struct api_list_page {
    json_t *runs;
    long n, limit;
    int64_t last; /* keyset id of the last row added */
    int more;
} api_list_page;
typedef int (*api_list_fetch)(api_store *s, const api_list_filter *f, api_list_page *p);
void api_list_runs(api_ctx *ctx, api_reply *out, const char *const *statuses, api_list_fetch fetch);
/* @return 1 (and marks the page as having more) when the page already holds its limit. */
int api_list_full(api_list_page *p);
/* Appends item (reference stolen) as the row with keyset id `id`. */
void api_list_add(api_list_page *p, int64_t id, json_t *item);
/* Answers 200 with the page: {key: its rows (taken from p), "next_cursor": the cursor after
 * its last row when there are more, or null}. */
void api_list_reply(api_reply *out, api_list_page *p, const char *key);

/* Fills e (400) when a workflow_id filter is given but empty or too long. */
void api_check_workflow_filter(const char *v, api_error *e);

/* GET /v1/private-worker/batches (batches.c). */
void api_route_pw_batches(api_ctx *ctx, api_reply *out);

/* GET /v1/private-worker/whoami (batches.c): the key's project and scopes. */
void api_route_pw_whoami(api_ctx *ctx, api_reply *out);

/* Reads limit and cursor of a list request. @return 0, or -1 with e filled (400). */
int api_list_params(api_ctx *ctx, long *limit, int64_t *before, api_error *e);

/* Runs `serve`. @return an API_EXIT_* code. */
int api_serve_main(int argc, char **argv);

#endif
