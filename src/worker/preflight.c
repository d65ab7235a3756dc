/* preflight.c - the fail-fast check of kivo-api's URL, key and scope (see preflight.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "kivo/wire.h"
#include "preflight.h"

#define ATTEMPTS 3

/* 1 when the answer's "scopes" array names scope. */
static int has_scope(const char *body, const char *scope)
{
    json_t *o = json_loads(body, 0, NULL);
    json_t *list = json_object_get(o, "scopes"), *v;
    size_t i;
    int found = 0;
    json_array_foreach(list, i, v) found |=
        json_is_string(v) && !strcmp(json_string_value(v), scope);
    json_decref(o);
    return found;
}

int wk_preflight(const wk_send_opts *so, const char *api_key, char *err, size_t errlen)
{
    wk_client *c = NULL;
    wk_request req;
    int rc = -1;
    if (wk_client_create(so->base_url, 1, so->timeout_ms > 0 ? so->timeout_ms : 30000, &c, err,
                         errlen) != 0)
        return -1;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        memset(&req, 0, sizeof req);
        req.method = "GET";
        snprintf(req.path, sizeof req.path, "%s", KIVO_WIRE_PATH_PW_WHOAMI);
        req.token = api_key;
        if (wk_client_do(c, &req) != 0) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        if (req.status == 200) {
            rc = has_scope(req.response.data ? req.response.data : "", KIVO_WIRE_SCOPE_PW_WRITE)
                     ? 0
                     : -1;
            if (rc != 0)
                snprintf(err, errlen, "200 but not a kivo-api answer naming the scope %s",
                         KIVO_WIRE_SCOPE_PW_WRITE);
            wk_request_clear(&req);
            break;
        }
        wk_request_describe(&req, err, errlen);
        int again = wk_http_retryable(&req) && !wk_http_transport_fatal(&req) && attempt < ATTEMPTS;
        double wait = req.retry_after > 0 && req.retry_after < 5 ? req.retry_after : 1;
        wk_request_clear(&req);
        if (!again)
            break;
        usleep((useconds_t)(wait * 1e6));
    }
    wk_client_free(c);
    return rc;
}
