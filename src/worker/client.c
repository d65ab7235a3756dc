/*
 * client.c - libcurl multi interface for kivo-api: bounded transfers, kept-alive connections.
 *
 * One multi handle owns the connection cache, so a finished transfer leaves its connection open
 * for the next request to the same host (keep-alive). Easy handles are recycled from a free list
 * for the same reason and to keep allocation off the hot path. "Expect: 100-continue" is turned
 * off: on a loopback server it only adds a round trip to every POST.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "kivo/json.h"

#define RESPONSE_MAX (1u << 20)

struct wk_client {
    CURLM *multi;
    char *base;
    size_t base_len;
    int max;
    int active;
    long timeout_ms;
    CURL **free_easy;
    int n_free;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    wk_request *r = ud;
    size_t len = size * n;
    if (kivo_buf_append(&r->response, p, len) != KIVO_OK)
        return 0; /* libcurl fails the transfer: an answer over 1 MiB is not kivo-api's */
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    wk_request *r = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[32];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = '\0';
        char *end;
        double s = strtod(v, &end);
        /* Only the delay-seconds form; an HTTP-date falls back to our own backoff. */
        if (end != v && s >= 0 && s < 86400)
            r->retry_after = s;
    }
    return len;
}

int wk_client_create(const char *base_url, int max_transfers, long timeout_ms, wk_client **out,
                     char *err, size_t errlen)
{
    static int global_done;
    wk_client *c = NULL;
    *out = NULL;
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "--kivo-api-base-url must start with http:// or https://");
        return -1;
    }
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "cannot initialise libcurl");
            return -1;
        }
        global_done = 1;
    }
    c = calloc(1, sizeof *c);
    if (!c || !(c->base = strdup(base_url)) ||
        !(c->free_easy = calloc((size_t)max_transfers, sizeof *c->free_easy)) ||
        !(c->multi = curl_multi_init())) {
        wk_client_free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->base_len = strlen(c->base);
    while (c->base_len > 0 && c->base[c->base_len - 1] == '/')
        c->base[--c->base_len] = '\0';
    c->max = max_transfers;
    c->timeout_ms = timeout_ms;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_transfers);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_transfers);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)max_transfers);
    *out = c;
    return 0;
}

void wk_client_free(wk_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_free; i++)
        curl_easy_cleanup(c->free_easy[i]);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c->free_easy);
    free(c->base);
    free(c);
}

int wk_client_has_room(const wk_client *c)
{
    return c->active < c->max;
}

int wk_client_active(const wk_client *c)
{
    return c->active;
}

int wk_client_start(wk_client *c, wk_request *req)
{
    char url[2048], auth[1024];
    if (c->active >= c->max)
        return -1;
    CURL *e = c->n_free ? c->free_easy[--c->n_free] : curl_easy_init();
    if (!e)
        return -1;
    curl_easy_reset(e);
    req->status = 0;
    req->curl_error[0] = '\0';
    req->retry_after = -1;
    if (req->response.max == 0)
        kivo_buf_init(&req->response, RESPONSE_MAX);
    kivo_buf_reset(&req->response);
    snprintf(url, sizeof url, "%s%s", c->base, req->path);

    struct curl_slist *h = NULL, *t;
    int n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", req->token ? req->token : "");
    if (n < 0 || (size_t)n >= sizeof auth)
        goto fail;
    if (!(t = curl_slist_append(h, auth)))
        goto fail;
    h = t;
    memset(auth, 0, sizeof auth);
    if (!(t = curl_slist_append(h, "Expect:")))
        goto fail;
    h = t;
    if (req->body) {
        if (!(t = curl_slist_append(h, "Content-Type: application/json")))
            goto fail;
        h = t;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->curl_error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, req);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "kivo-worker/" KIVO_VERSION_STRING);
    /* Tokens must never follow a redirect to somewhere else. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        goto fail;
    req->easy = e;
    req->headers = h;
    c->active++;
    return 0;
fail:
    memset(auth, 0, sizeof auth);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return -1;
}

static void finish(wk_client *c, CURL *e, CURLcode code)
{
    wk_request *req = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
    curl_multi_remove_handle(c->multi, e);
    req->curl_code = (int)code;
    if (code == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &req->status);
    } else {
        long os_errno = 0;
        req->status = 0;
        if (!req->curl_error[0])
            snprintf(req->curl_error, sizeof req->curl_error, "%s", curl_easy_strerror(code));
        /* libcurl says "Couldn't connect to server"; the system says why: refused, no route. */
        size_t n = strlen(req->curl_error);
        if (curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0 &&
            n + 8 < sizeof req->curl_error)
            snprintf(req->curl_error + n, sizeof req->curl_error - n, " (%s)",
                     strerror((int)os_errno));
    }
    /* Room for simdjson's padding past the end of the answer. */
    if (kivo_buf_reserve(&req->response, KIVO_JSON_PADDING) != KIVO_OK) {
        kivo_buf_reset(&req->response);
    }
    curl_slist_free_all(req->headers);
    req->headers = NULL;
    req->easy = NULL;
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (c->n_free < c->max)
        c->free_easy[c->n_free++] = e;
    else
        curl_easy_cleanup(e);
    c->active--;
}

int wk_client_poll(wk_client *c, int timeout_ms, wk_request **done, int max)
{
    int running = 0, got = 0, left;
    CURLMsg *m;
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return -1;
    if (timeout_ms > 0 && c->active > 0) {
        /* Only wait when nothing is finished yet. */
        if (curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
            return -1;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            return -1;
    }
    while (got < max && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        wk_request *req = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
        finish(c, e, code);
        done[got++] = req;
    }
    return got;
}

int wk_client_do(wk_client *c, wk_request *req)
{
    wk_request *done[1];
    if (wk_client_start(c, req) != 0)
        return -1;
    for (;;) {
        int n = wk_client_poll(c, 1000, done, 1);
        if (n < 0)
            return -1;
        if (n == 1)
            return 0;
    }
}

void wk_request_clear(wk_request *req)
{
    kivo_buf_free(&req->response);
    req->response.max = 0;
}

int wk_http_retryable(const wk_request *req)
{
    return req->status == 0 || req->status == 429 || req->status >= 500;
}

int wk_http_transport_fatal(const wk_request *req)
{
    if (req->status != 0)
        return 0;
    switch ((CURLcode)req->curl_code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED: return 1;
    default: return 0;
    }
}

void wk_request_describe(const wk_request *req, char *msg, size_t len)
{
    kivo_json_parser *p = NULL;
    const kivo_json_node *root = NULL, *err, *code = NULL, *text = NULL;
    if (req->status == 0) {
        snprintf(msg, len, "no answer: %s", req->curl_error[0] ? req->curl_error : "unknown error");
        return;
    }
    if (req->response.len > 0 && req->response.cap >= req->response.len + KIVO_JSON_PADDING &&
        kivo_json_parser_create(16, &p) == KIVO_OK &&
        kivo_json_parse(p, req->response.data, req->response.len, req->response.cap, 0, &root) ==
            KIVO_OK &&
        (err = kivo_json_get(root, "error")) && err->type == KIVO_JSON_OBJECT) {
        code = kivo_json_get(err, "code");
        text = kivo_json_get(err, "message");
    }
    if (code && code->type == KIVO_JSON_STRING && text && text->type == KIVO_JSON_STRING)
        snprintf(msg, len, "%ld %.*s: %.*s", req->status, (int)(code->len > 64 ? 64 : code->len),
                 code->str, (int)(text->len > 300 ? 300 : text->len), text->str);
    else
        snprintf(msg, len, "HTTP %ld", req->status);
    kivo_json_parser_free(p);
}
