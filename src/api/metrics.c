/*
 * metrics.c - lock-free counters (C11 relaxed atomics) behind GET /metrics (see metrics.h).
 *
 * Status codes are counted in a fixed table of the codes the API can answer plus "other", so the
 * label set is bounded and known in advance.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "kivo/wire.h"

#include "metrics.h"

static const unsigned codes[] = {200, 201, 202, 400, 401, 403, 404,
                                 405, 409, 413, 422, 429, 500, 503};
#define N_CODES (sizeof codes / sizeof codes[0])
#define N_STATUS (N_CODES + 1)

static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])

static const char *const reasons[] = {"invalid_json",
                                      "schema_violation",
                                      "raw_fields_rejected",
                                      "unauthenticated",
                                      "forbidden",
                                      "not_found",
                                      "payload_too_large",
                                      "rate_limited",
                                      "conflict_event_id",
                                      "conflict_sequence",
                                      "conflict_terminal",
                                      "conflict_hash",
                                      "conflict_run_mismatch",
                                      "conflict",
                                      "internal",
                                      "other"};
#define N_REASONS (sizeof reasons / sizeof reasons[0])

static atomic_ullong requests[API_R_COUNT][API_M_COUNT][N_STATUS];
static atomic_ullong hist[API_R_COUNT][N_BOUNDS + 1];
static atomic_ullong hist_sum_us[API_R_COUNT];
static atomic_ullong hist_count[API_R_COUNT];
static atomic_ullong ev_accepted[KIVO_EVENT_TYPE_COUNT];
static atomic_ullong ev_replayed;
static atomic_ullong ev_rejected[N_REASONS];

static const char *const route_names[API_R_COUNT] = {
    [API_R_UNKNOWN] = "unknown",
    [API_R_HEALTHZ] = "/healthz",
    [API_R_METRICS] = "/metrics",
    [API_R_PW_RUNS] = "/v1/private-worker/review-runs",
    [API_R_PW_RUN] = "/v1/private-worker/review-runs/{id}",
    [API_R_PW_EVENTS] = "/v1/private-worker/review-runs/{id}/events",
    [API_R_PW_BATCHES] = "/v1/private-worker/batches",
    [API_R_PW_WHOAMI] = "/v1/private-worker/whoami",
    [API_R_HR_RUNS] = "/v1/review-runs",
    [API_R_HR_RUN] = "/v1/review-runs/{id}",
    [API_R_HR_REPORT] = "/v1/review-runs/{id}/report",
    [API_R_HR_PACKET] = "/v1/review-runs/{id}/packet",
    [API_R_APP] = "/app/",
};

static const char *const method_names[API_M_COUNT] = {"GET", "POST", "DELETE", "other"};

const char *api_route_name(api_route r)
{
    return (unsigned)r < API_R_COUNT ? route_names[r] : "unknown";
}

const char *api_method_name(api_method m)
{
    return (unsigned)m < API_M_COUNT ? method_names[m] : "other";
}

void api_metrics_request(api_route route, api_method method, unsigned status, uint64_t ns)
{
    size_t c = N_CODES, b = N_BOUNDS;
    double secs = (double)ns / 1e9;

    if ((unsigned)route >= API_R_COUNT)
        route = API_R_UNKNOWN;
    if ((unsigned)method >= API_M_COUNT)
        method = API_M_OTHER;
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == status)
            c = i;
    for (size_t i = 0; i < N_BOUNDS && b == N_BOUNDS; i++)
        if (secs <= bounds[i])
            b = i;
    atomic_fetch_add_explicit(&requests[route][method][c], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_sum_us[route], ns / 1000, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_count[route], 1, memory_order_relaxed);
}

void api_metrics_event_accepted(int event_type)
{
    if (event_type >= 0 && event_type < KIVO_EVENT_TYPE_COUNT)
        atomic_fetch_add_explicit(&ev_accepted[event_type], 1, memory_order_relaxed);
}

void api_metrics_event_replayed(void)
{
    atomic_fetch_add_explicit(&ev_replayed, 1, memory_order_relaxed);
}

void api_metrics_event_rejected(const char *reason)
{
    size_t r = N_REASONS - 1;

    for (size_t i = 0; reason && i < N_REASONS - 1; i++)
        if (strcmp(reasons[i], reason) == 0)
            r = i;
    atomic_fetch_add_explicit(&ev_rejected[r], 1, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

typedef struct runs_out {
    kivo_buf *out;
    const char *kind;
    kivo_status ks;
} runs_out;

static int render_status(const char *status, int64_t n, void *arg)
{
    runs_out *r = arg;

    r->ks = kivo_buf_printf(r->out, "kivo_api_runs{kind=\"%s\",status=\"%s\"} %lld\n", r->kind,
                            status, (long long)n);
    return r->ks != KIVO_OK;
}

static kivo_status render_runs(api_store *store, kivo_buf *out, api_run_kind kind, const char *name)
{
    runs_out r = {out, name, KIVO_OK};

    if (api_store_count_by_status(store, kind, render_status, &r) != SQLITE_OK && r.ks == KIVO_OK)
        return KIVO_EIO;
    return r.ks;
}

int api_metrics_render(api_store *store, kivo_buf *out)
{
    kivo_status ks = KIVO_OK;

#define P(...)                                      \
    do {                                            \
        if (ks == KIVO_OK)                          \
            ks = kivo_buf_printf(out, __VA_ARGS__); \
    } while (0)

    P("# HELP kivo_api_requests_total HTTP requests answered, by route, method and status.\n");
    P("# TYPE kivo_api_requests_total counter\n");
    for (int r = 0; r < API_R_COUNT; r++)
        for (int m = 0; m < API_M_COUNT; m++)
            for (size_t c = 0; c < N_STATUS; c++) {
                unsigned long long v = get(&requests[r][m][c]);
                char status[8];
                if (!v)
                    continue;
                if (c < N_CODES)
                    snprintf(status, sizeof status, "%u", codes[c]);
                else
                    strcpy(status, "other");
                P("kivo_api_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                  route_names[r], method_names[m], status, v);
            }
    P("# HELP kivo_api_request_duration_seconds Time from request headers to response queued.\n");
    P("# TYPE kivo_api_request_duration_seconds histogram\n");
    for (int r = 0; r < API_R_COUNT; r++) {
        unsigned long long cum = 0, n = get(&hist_count[r]);
        if (!n)
            continue;
        for (size_t b = 0; b < N_BOUNDS; b++) {
            cum += get(&hist[r][b]);
            P("kivo_api_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
              route_names[r], bounds[b], cum);
        }
        P("kivo_api_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
          route_names[r], n);
        P("kivo_api_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
          (double)get(&hist_sum_us[r]) / 1e6);
        P("kivo_api_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r], n);
    }
    P("# HELP kivo_api_runs Runs in the store, by kind and status.\n");
    P("# TYPE kivo_api_runs gauge\n");
    if (ks == KIVO_OK)
        ks = render_runs(store, out, API_RUN_PRIVATE_WORKER, "private_worker");
    if (ks == KIVO_OK)
        ks = render_runs(store, out, API_RUN_HOSTED, "hosted");
    P("# HELP kivo_api_events_accepted_total Private-worker events accepted, by event type.\n");
    P("# TYPE kivo_api_events_accepted_total counter\n");
    for (int i = 0; i < KIVO_EVENT_TYPE_COUNT; i++)
        P("kivo_api_events_accepted_total{event_type=\"%s\"} %llu\n",
          kivo_event_type_name((kivo_event_type)i), get(&ev_accepted[i]));
    P("# HELP kivo_api_events_replayed_total Event retries answered with the first answer.\n");
    P("# TYPE kivo_api_events_replayed_total counter\n");
    P("kivo_api_events_replayed_total %llu\n", get(&ev_replayed));
    P("# HELP kivo_api_events_rejected_total Private-worker events refused, by reason.\n");
    P("# TYPE kivo_api_events_rejected_total counter\n");
    for (size_t i = 0; i < N_REASONS; i++)
        P("kivo_api_events_rejected_total{reason=\"%s\"} %llu\n", reasons[i], get(&ev_rejected[i]));
#undef P
    return ks == KIVO_OK ? 0 : -1;
}
