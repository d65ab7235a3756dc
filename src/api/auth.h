/*
 * auth.h - who is calling: `Authorization: Bearer <token>` resolved against the store.
 *
 * 401 for no, malformed, unknown, revoked or expired tokens; 403 for a valid token of the wrong
 * kind, without the scope, or for another run. Messages never repeat the token.
 */
#ifndef KIVO_API_AUTH_H
#define KIVO_API_AUTH_H

#include "server.h"

/* Resolves the request's bearer token into r->auth. An expired worker credential resolves with
 * auth.cred_expired set (the events route still answers exact replays with it); everything else
 * that does not authenticate fills e with 401. @return 0, or -1 with e filled. */
int api_auth_resolve(api_ctx *ctx, const char *authorization, api_error *e);

/* Requires an API key with `scope`. @return 0, or -1 with e filled (403). */
int api_auth_need_key(const api_auth *a, unsigned scope, api_error *e);

/* Requires the worker credential of run `run_id` that has not expired (unless allow_expired).
 * @return 0, or -1 with e filled (401 expired, 403 wrong kind or other run). */
int api_auth_need_credential(const api_auth *a, const char *run_id, int allow_expired,
                             api_error *e);

#endif
