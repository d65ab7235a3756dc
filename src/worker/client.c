/*
 * client.c - libcurl multi interface for kivo-api: bounded transfers, kept-alive connections.
 *
 * One multi handle owns the connection cache, so a finished transfer leaves its connection open
 * for the next request to the same host (keep-alive). Easy handles are recycled from a free list
 * for the same reason and to keep allocation off the hot path. "Expect: 100-continue" is turned
 * off: on a loopback server it only adds a round trip to every POST.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "kivo/json.h"

#define RESPONSE_MAX (1u << 20)

/* libcurl is loaded by the first wk_client_create(), not linked: linked, it and the libraries it
 * needs (TLS, Kerberos, LDAP, SSH, IDN, ...) are mapped, relocated and initialised in every
 * process, about 4 MB of resident memory in a batch that sends nothing (issue 19's peak RSS).
 * Every libcurl call of the worker is in this file, through this table; KIVO_CURL_SONAME comes
 * from src/worker/CMakeLists.txt. */
static struct curl_api {
    CURLcode (*global_init)(long);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURL *(*easy_init)(void);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lc;

/* Each member of lc and the symbol that fills it. */
static const struct {
    const char *symbol;
    size_t offset;
} curl_fns[] = {
    {"curl_global_init", offsetof(struct curl_api, global_init)},
    {"curl_multi_init", offsetof(struct curl_api, multi_init)},
    {"curl_multi_setopt", offsetof(struct curl_api, multi_setopt)},
    {"curl_multi_add_handle", offsetof(struct curl_api, multi_add_handle)},
    {"curl_multi_remove_handle", offsetof(struct curl_api, multi_remove_handle)},
    {"curl_multi_perform", offsetof(struct curl_api, multi_perform)},
    {"curl_multi_poll", offsetof(struct curl_api, multi_poll)},
    {"curl_multi_info_read", offsetof(struct curl_api, multi_info_read)},
    {"curl_multi_cleanup", offsetof(struct curl_api, multi_cleanup)},
    {"curl_easy_init", offsetof(struct curl_api, easy_init)},
    {"curl_easy_reset", offsetof(struct curl_api, easy_reset)},
    {"curl_easy_setopt", offsetof(struct curl_api, easy_setopt)},
    {"curl_easy_getinfo", offsetof(struct curl_api, easy_getinfo)},
    {"curl_easy_strerror", offsetof(struct curl_api, easy_strerror)},
    {"curl_easy_cleanup", offsetof(struct curl_api, easy_cleanup)},
    {"curl_slist_append", offsetof(struct curl_api, slist_append)},
    {"curl_slist_free_all", offsetof(struct curl_api, slist_free_all)},
};
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym() gives function pointers");

/* libcurl loaded and initialised, once. @return 0, or -1 with a message in err. */
static int load_curl(char *err, size_t errlen)
{
    static int done;
    if (done)
        return 0;
    /* Never closed: libcurl stays initialised for the process's life, as it did linked. */
    void *h = dlopen(KIVO_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load libcurl: %s", dlerror());
        return -1;
    }
    for (size_t i = 0; i < sizeof curl_fns / sizeof curl_fns[0]; i++) {
        void *f = dlsym(h, curl_fns[i].symbol);
        if (!f) {
            snprintf(err, errlen, "cannot load libcurl: %s has no %s", KIVO_CURL_SONAME,
                     curl_fns[i].symbol);
            return -1;
        }
        /* POSIX: dlsym()'s address of a function is that function's pointer (same size). */
        memcpy((char *)&lc + curl_fns[i].offset, &f, sizeof f);
    }
    if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    done = 1;
    return 0;
}

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
    wk_client *c = NULL;
    *out = NULL;
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "--kivo-api-base-url must start with http:// or https://");
        return -1;
    }
    if (load_curl(err, errlen) != 0)
        return -1;
    c = calloc(1, sizeof *c);
    if (!c || !(c->base = strdup(base_url)) ||
        !(c->free_easy = calloc((size_t)max_transfers, sizeof *c->free_easy)) ||
        !(c->multi = lc.multi_init())) {
        wk_client_free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->base_len = strlen(c->base);
    while (c->base_len > 0 && c->base[c->base_len - 1] == '/')
        c->base[--c->base_len] = '\0';
    c->max = max_transfers;
    c->timeout_ms = timeout_ms;
    lc.multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_transfers);
    lc.multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_transfers);
    lc.multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)max_transfers);
    *out = c;
    return 0;
}

void wk_client_free(wk_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_free; i++)
        lc.easy_cleanup(c->free_easy[i]);
    if (c->multi)
        lc.multi_cleanup(c->multi);
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
    CURL *e = c->n_free ? c->free_easy[--c->n_free] : lc.easy_init();
    if (!e)
        return -1;
    lc.easy_reset(e);
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
    if (!(t = lc.slist_append(h, auth)))
        goto fail;
    h = t;
    memset(auth, 0, sizeof auth);
    if (!(t = lc.slist_append(h, "Expect:")))
        goto fail;
    h = t;
    if (req->body) {
        if (!(t = lc.slist_append(h, "Content-Type: application/json")))
            goto fail;
        h = t;
    }
    lc.easy_setopt(e, CURLOPT_URL, url);
    lc.easy_setopt(e, CURLOPT_HTTPHEADER, h);
    lc.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    lc.easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    lc.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
    lc.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    lc.easy_setopt(e, CURLOPT_WRITEDATA, req);
    lc.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    lc.easy_setopt(e, CURLOPT_HEADERDATA, req);
    lc.easy_setopt(e, CURLOPT_ERRORBUFFER, req->curl_error);
    lc.easy_setopt(e, CURLOPT_PRIVATE, req);
    lc.easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    lc.easy_setopt(e, CURLOPT_USERAGENT, "kivo-worker/" KIVO_VERSION_STRING);
    /* Tokens must never follow a redirect to somewhere else. */
    lc.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (strcmp(req->method, "POST") == 0) {
        lc.easy_setopt(e, CURLOPT_POST, 1L);
        lc.easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        lc.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        lc.easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (lc.multi_add_handle(c->multi, e) != CURLM_OK)
        goto fail;
    req->easy = e;
    req->headers = h;
    c->active++;
    return 0;
fail:
    memset(auth, 0, sizeof auth);
    lc.slist_free_all(h);
    lc.easy_cleanup(e);
    return -1;
}

static void finish(wk_client *c, CURL *e, CURLcode code)
{
    wk_request *req = NULL;
    lc.easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
    lc.multi_remove_handle(c->multi, e);
    req->curl_code = (int)code;
    if (code == CURLE_OK) {
        lc.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &req->status);
    } else {
        long os_errno = 0;
        req->status = 0;
        if (!req->curl_error[0])
            snprintf(req->curl_error, sizeof req->curl_error, "%s", lc.easy_strerror(code));
        /* libcurl says "Couldn't connect to server"; the system says why: refused, no route. */
        size_t n = strlen(req->curl_error);
        if (lc.easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0 &&
            n + 8 < sizeof req->curl_error)
            snprintf(req->curl_error + n, sizeof req->curl_error - n, " (%s)",
                     strerror((int)os_errno));
    }
    /* Room for simdjson's padding past the end of the answer. */
    if (kivo_buf_reserve(&req->response, KIVO_JSON_PADDING) != KIVO_OK) {
        kivo_buf_reset(&req->response);
    }
    lc.slist_free_all(req->headers);
    req->headers = NULL;
    req->easy = NULL;
    lc.easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (c->n_free < c->max)
        c->free_easy[c->n_free++] = e;
    else
        lc.easy_cleanup(e);
    c->active--;
}

int wk_client_poll(wk_client *c, int timeout_ms, wk_request **done, int max)
{
    int running = 0, got = 0, left;
    CURLMsg *m;
    if (lc.multi_perform(c->multi, &running) != CURLM_OK)
        return -1;
    if (timeout_ms > 0 && c->active > 0) {
        /* Only wait when nothing is finished yet. */
        if (lc.multi_poll(c->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
            return -1;
        if (lc.multi_perform(c->multi, &running) != CURLM_OK)
            return -1;
    }
    while (got < max && (m = lc.multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        wk_request *req = NULL;
        lc.easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
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
