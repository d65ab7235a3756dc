/*
 * preflight.h - before a batch that will send its events reviews anything: one authenticated
 * call to kivo-api (GET /v1/private-worker/whoami with the project API key) checks the URL, the
 * key and its private_worker:write scope, so that a typo in any of them fails in a second, with
 * the server's reason, rather than after an hour of reviewing.
 */
#ifndef KIVO_WORKER_PREFLIGHT_H
#define KIVO_WORKER_PREFLIGHT_H

#include <stddef.h>

#include "submit.h"

/* Checks so->base_url with api_key. Answers worth retrying (no connection, 429, 5xx) are tried
 * up to 3 times within the request timeout. @return 0 when kivo-api accepted the key with the
 * scope, or -1 with the reason in err ("401 unauthenticated: ...", "Connection refused", ...). */
int wk_preflight(const wk_send_opts *so, const char *api_key, char *err, size_t errlen);

#endif
