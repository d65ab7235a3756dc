/*
 * errors.h - the one error shape of the API: {"error":{"code","message","fields":[...]}}.
 *
 * Handlers and validators fill an api_error; the server turns it into the HTTP status and a body
 * rendered by jansson. Messages name fields and rules, never values a client sent (a value could
 * be a token or raw content).
 */
#ifndef KIVO_API_ERRORS_H
#define KIVO_API_ERRORS_H

#include <jansson.h>

#define API_MAX_FIELDS 64

typedef struct api_error {
    unsigned http;    /* 0 while there is no error */
    const char *code; /* "schema_violation", ... (static) */
    char message[256];
    json_t *fields;       /* array of field paths, owned; NULL when empty */
    json_t *rejected;     /* 422 only: [{"field","use_instead"}], owned */
    unsigned retry_after; /* 429 only: seconds */
    const char *reason;   /* finer label for metrics ("conflict_sequence"), static or NULL */
} api_error;

/* Sets the status, code and message. The first call wins: later ones leave the error as it is,
 * so the most specific check (which runs first) names the problem. */
void api_error_set(api_error *e, unsigned http, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a field path (at most API_MAX_FIELDS are kept). */
void api_error_field(api_error *e, const char *path);

/* Appends a rejected raw field with its advice (422). Also lists it in fields. */
void api_error_rejected(api_error *e, const char *path, const char *use_instead);

/* A new {"error":{...}} object (NULL only when out of memory). */
json_t *api_error_json(const api_error *e);

/* Frees what the error holds and makes it empty again. */
void api_error_clear(api_error *e);

#endif
