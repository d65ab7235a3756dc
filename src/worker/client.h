/*
 * client.h - HTTP to kivo-api over libcurl's multi interface: a bounded number of transfers in
 * flight, connections kept alive and reused between requests, and nothing that could leak a
 * token (it travels only in the Authorization header, never in a URL or a message).
 *
 * A wk_request is owned by the caller; wk_client_start() hands it to the client until
 * wk_client_poll() hands it back finished. The client never retries: the caller decides (see
 * wk_http_retryable()), because only the caller knows what is safe to send again.
 */
#ifndef KIVO_WORKER_CLIENT_H
#define KIVO_WORKER_CLIENT_H

#include <stddef.h>

#include "kivo/buf.h"

typedef struct wk_client wk_client;

typedef struct wk_request {
    /* in */
    const char *method; /* "GET" or "POST" */
    char path[256];     /* "/v1/private-worker/review-runs", appended to the base URL */
    const char *token;  /* Bearer token (not copied: keep it alive until finished) */
    const char *body;   /* POST body (not copied), body_len bytes */
    size_t body_len;
    void *user; /* the caller's, untouched */
    /* out */
    long status;          /* HTTP status, 0 when no answer came (see curl_error) */
    char curl_error[256]; /* transport failure ("Connection refused"), "" otherwise */
    int curl_code;        /* its CURLcode, 0 when an answer came */
    double retry_after;   /* seconds from Retry-After, -1 when absent */
    kivo_buf response;    /* the answer's body, NUL-terminated (max 1 MiB) */
    /* private */
    void *easy;
    void *headers;
} wk_request;

/* Base URL "http://127.0.0.1:8787" (a trailing '/' is ignored); max_transfers in flight at once
 * (and as many kept-alive connections); timeout_ms per request. @return 0, or -1 with a message
 * in err. Free with wk_client_free(). */
int wk_client_create(const char *base_url, int max_transfers, long timeout_ms, wk_client **out,
                     char *err, size_t errlen);
void wk_client_free(wk_client *c);

/* Room for one more transfer? */
int wk_client_has_room(const wk_client *c);
/* Transfers in flight. */
int wk_client_active(const wk_client *c);

/* Starts req (which must stay alive and unchanged until it comes back from wk_client_poll()).
 * @return 0, or -1 when out of memory or out of room. */
int wk_client_start(wk_client *c, wk_request *req);

/* Runs transfers for up to timeout_ms and hands back at most max finished requests in done[].
 * @return how many, or -1 on a libcurl failure of the multi handle itself. */
int wk_client_poll(wk_client *c, int timeout_ms, wk_request **done, int max);

/* Sends req and waits for it: wk_client_start() + wk_client_poll() until it is back. */
int wk_client_do(wk_client *c, wk_request *req);

/* Frees what a finished request holds (its response buffer); the request may be reused. */
void wk_request_clear(wk_request *req);

/* 1 for outcomes worth retrying: no answer at all (connection refused or reset, timeout), 429 and
 * 5xx. Every other 4xx is the server's final word on that body. */
int wk_http_retryable(const wk_request *req);

/* 1 for a transport failure that sending again cannot cure: TLS (handshake, certificate, pinned
 * key), a malformed URL or a protocol libcurl does not speak. The sender names it and stops
 * instead of retrying it until the deadline. A refused connection or a timeout is retried. */
int wk_http_transport_fatal(const wk_request *req);

/* The server's error ({"error":{"code","message"}}) as "409 conflict: the run is already
 * completed", or the transport failure, into msg. */
void wk_request_describe(const wk_request *req, char *msg, size_t len);

#endif
