/*
 * metrics.h - Prometheus counters of kivo-api, rendered as text for GET /metrics.
 *
 * kivo_api_requests_total{route,method,status}, kivo_api_request_duration_seconds{route}
 * (histogram), kivo_api_runs{kind,status} (counted from the store at scrape time),
 * kivo_api_events_accepted_total{event_type}, kivo_api_events_replayed_total and
 * kivo_api_events_rejected_total{reason}. Labels never carry ids, projects or tokens, so the page
 * is safe to expose to a scraper.
 */
#ifndef KIVO_API_METRICS_H
#define KIVO_API_METRICS_H

#include <stdint.h>

#include "kivo/buf.h"

#include "server.h"

/* Names of the routes as they appear in labels and the access log ("/v1/review-runs/{id}"). */
const char *api_route_name(api_route r);
const char *api_method_name(api_method m);

/* Counts one answered request. */
void api_metrics_request(api_route route, api_method method, unsigned status, uint64_t ns);

/* Counts an event outcome: accepted (event_type a kivo_event_type), replayed, or rejected for
 * `reason` (an error code or a finer "conflict_..." reason). */
void api_metrics_event_accepted(int event_type);
void api_metrics_event_replayed(void);
void api_metrics_event_rejected(const char *reason);

/* Appends the exposition text to out, reading run counts through `store`. @return 0 or -1. */
int api_metrics_render(api_store *store, kivo_buf *out);

#endif
