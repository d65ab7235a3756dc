/*
 * accesslog.h - kivo-api's log on stderr: one line per request and the server's own events, as
 * text (the default, for a terminal) or as JSON lines (--log-format json, for a log stack).
 *
 * A request's line has the time, level, request id (also sent back as X-Request-Id), method,
 * route template, status, duration and project; a run id only when it is one the server made
 * (rr_...). Never the raw path, a header, a token or a body: a client can paste anything there.
 */
#ifndef KIVO_API_ACCESSLOG_H
#define KIVO_API_ACCESSLOG_H

#include <stddef.h>

#include "server.h"

typedef enum api_log_format { API_LOG_TEXT = 0, API_LOG_JSON } api_log_format;

/* Sets the format of every line after it. Call once, before any thread logs. */
void api_log_set_format(api_log_format f);

/* Parses "json" or "text". @return 0, or -1 for anything else. */
int api_log_format_parse(const char *s, api_log_format *out);

/* The request id: the client's X-Request-Id when it is 1..64 of [A-Za-z0-9._:-] (a trace id a
 * proxy set), else 16 random hex digits. out holds API_REQUEST_ID_MAX bytes. */
void api_request_id(const char *client, char out[API_REQUEST_ID_MAX]);

/* One request's line (thread-safe: one write per line). */
void api_log_request(const api_request *r, double duration_ms);

/* One line of the server's own ("info", "warn", "error"): text "kivo-api: MSG" (the level is
 * the message's to say, as "warning: ..."), or a JSON object with time, level and msg. */
void api_log_event(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
