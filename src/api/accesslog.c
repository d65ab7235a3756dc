/*
 * accesslog.c - the access log's two formats (accesslog.h). JSON lines are rendered with jansson,
 * so a value can never break out of its string; each line is written with one fputs on an
 * unbuffered stderr, so lines of parallel requests do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "accesslog.h"
#include "metrics.h"
#include "timefmt.h"

static api_log_format format = API_LOG_TEXT;

void api_log_set_format(api_log_format f)
{
    format = f;
}

int api_log_format_parse(const char *s, api_log_format *out)
{
    if (!strcmp(s, "json"))
        *out = API_LOG_JSON;
    else if (!strcmp(s, "text"))
        *out = API_LOG_TEXT;
    else
        return -1;
    return 0;
}

void api_request_id(const char *client, char out[API_REQUEST_ID_MAX])
{
    size_t n = client ? strlen(client) : 0;
    if (n > 0 && n < API_REQUEST_ID_MAX &&
        strspn(client, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == n) {
        memcpy(out, client, n + 1);
        return;
    }
    unsigned char b[8] = {0};
    static const char hex[] = "0123456789abcdef";
    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        /* No entropy yet (early boot): a process-wide counter is still unique per server. */
        static unsigned long long counter;
        unsigned long long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        memcpy(b, &c, sizeof b);
    }
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[16] = '\0';
}

static const char *level_of(unsigned status)
{
    return status >= 500 ? "error" : status >= 400 ? "warn" : "info";
}

/* Writes a JSON object as one line and frees it. */
static void put_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n';
        fwrite(s, 1, n + 1, stderr);
        s[n] = '\0';
    }
    free(s);
    json_decref(o);
}

void api_log_request(const api_request *r, double ms)
{
    char t[API_TIME_TEXT_MAX];
    /* A run id only when it has the form of the server's (rr_ and 32 hex digits): a path
     * segment could be anything a client pasted there. */
    int show_id = strncmp(r->id, "rr_", 3) == 0 && strlen(r->id) == 35 &&
                  strspn(r->id + 3, "0123456789abcdef") == 32;
    const char *project =
        r->auth.kind == API_TOKEN_KEY && r->auth.project[0] ? r->auth.project : NULL;
    api_time_format(api_now_ms(), t);
    if (format == API_LOG_TEXT) {
        char line[1024];
        snprintf(line, sizeof line, "%s %s %s%s%s %u %.3fms rid=%s%s%s\n", t,
                 api_method_name(r->method), api_route_name(r->route), show_id ? " id=" : "",
                 show_id ? r->id : "", r->status, ms, r->request_id, project ? " project=" : "",
                 project ? project : "");
        fputs(line, stderr);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "level", json_string(level_of(r->status)));
    json_object_set_new(o, "request_id", json_string(r->request_id));
    json_object_set_new(o, "method", json_string(api_method_name(r->method)));
    json_object_set_new(o, "route", json_string(api_route_name(r->route)));
    json_object_set_new(o, "status", json_integer(r->status));
    json_object_set_new(o, "duration_ms", json_real(ms));
    json_object_set_new(o, "project", project ? json_string(project) : json_null());
    if (show_id)
        json_object_set_new(o, "review_run_id", json_string(r->id));
    put_json(o);
}

void api_log_event(const char *level, const char *fmt, ...)
{
    char msg[1024], t[API_TIME_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (format == API_LOG_TEXT) {
        fprintf(stderr, "kivo-api: %s\n", msg);
        return;
    }
    api_time_format(api_now_ms(), t);
    json_t *o = json_object();
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "level", json_string(level));
    json_object_set_new(o, "msg", json_string(msg));
    put_json(o);
}
