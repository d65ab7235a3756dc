/* errors.c - building the API's error bodies with jansson (see errors.h). */
#include <stdarg.h>
#include <stdio.h>

#include "errors.h"

void api_error_set(api_error *e, unsigned http, const char *code, const char *fmt, ...)
{
    va_list ap;

    if (e->http != 0)
        return;
    e->http = http;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void api_error_field(api_error *e, const char *path)
{
    if (!e->fields)
        e->fields = json_array();
    if (e->fields && json_array_size(e->fields) < API_MAX_FIELDS)
        json_array_append_new(e->fields, json_string(path));
}

void api_error_rejected(api_error *e, const char *path, const char *use_instead)
{
    if (!e->rejected)
        e->rejected = json_array();
    if (e->rejected && json_array_size(e->rejected) < API_MAX_FIELDS)
        json_array_append_new(e->rejected,
                              json_pack("{s:s, s:s}", "field", path, "use_instead", use_instead));
    api_error_field(e, path);
}

json_t *api_error_json(const api_error *e)
{
    json_t *inner =
        json_pack("{s:s, s:s}", "code", e->code ? e->code : "internal", "message", e->message);
    json_t *root = NULL;

    if (!inner)
        goto out;
    json_object_set_new(inner, "fields", e->fields ? json_deep_copy(e->fields) : json_array());
    if (e->rejected)
        json_object_set_new(inner, "rejected_fields", json_deep_copy(e->rejected));
    if (e->retry_after)
        json_object_set_new(inner, "retry_after_seconds", json_integer(e->retry_after));
    root = json_pack("{s:o}", "error", inner);
out:
    return root;
}

void api_error_clear(api_error *e)
{
    json_decref(e->fields);
    json_decref(e->rejected);
    *e = (api_error){0};
}
