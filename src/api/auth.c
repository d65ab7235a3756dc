/*
 * auth.c - bearer token resolution (see auth.h).
 *
 * The token is hashed and looked up by digest; the stored digest is then compared again with
 * CRYPTO_memcmp, so the decision itself never depends on a variable-time comparison. An API key's
 * last_used_at is written at most once a minute, keeping reads free of write locks.
 */
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "auth.h"
#include "scopes.h"
#include "timefmt.h"

#define TOUCH_INTERVAL_MS 60000

static int unauthenticated(api_error *e, const char *why)
{
    api_error_set(e, 401, "unauthenticated", "%s", why);
    return -1;
}

static void touch_key(api_store *s, int64_t id, int64_t now)
{
    if (api_store_begin(s) != SQLITE_OK)
        return;
    api_store_key_touch(s, id, now);
    api_store_commit(s);
}

static int resolve_key(api_ctx *ctx, api_auth *a, api_error *e)
{
    api_key_row k;
    int64_t now = api_now_ms();
    int ret = -1, touch = 0, rc;

    rc = api_store_key_by_hash(ctx->t->store, a->digest, API_DIGEST_SIZE, &k);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        api_error_set(e, 500, "internal", "store unavailable");
        goto out;
    }
    if (rc != SQLITE_ROW || k.token_hash_len != API_DIGEST_SIZE ||
        !api_token_digest_equal(k.token_hash, a->digest)) {
        unauthenticated(e, "unknown API key");
        goto out;
    }
    if (k.revoked) {
        unauthenticated(e, "this API key was revoked");
        goto out;
    }
    a->key_id = k.id;
    snprintf(a->project, sizeof a->project, "%s", k.project);
    if (api_scopes_parse(k.scopes, &a->scopes) != 0)
        a->scopes = 0;
    touch = k.last_used_at < 0 || now - k.last_used_at > TOUCH_INTERVAL_MS;
    a->kind = API_TOKEN_KEY;
    ret = 0;
out:
    api_store_end(ctx->t->store);
    if (ret == 0 && touch)
        touch_key(ctx->t->store, a->key_id, now);
    return ret;
}

static int resolve_credential(api_ctx *ctx, api_auth *a, api_error *e)
{
    api_pw_cred_row c;
    int ret = -1, rc;

    rc = api_store_pw_by_cred(ctx->t->store, a->digest, API_DIGEST_SIZE, &c);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        api_error_set(e, 500, "internal", "store unavailable");
        goto out;
    }
    if (rc != SQLITE_ROW || c.cred_hash_len != API_DIGEST_SIZE ||
        !api_token_digest_equal(c.cred_hash, a->digest)) {
        unauthenticated(e, "unknown worker credential");
        goto out;
    }
    if (c.key_revoked) {
        unauthenticated(e, "the API key this worker credential was issued to was revoked");
        goto out;
    }
    a->run_row = c.id;
    snprintf(a->run_id, sizeof a->run_id, "%s", c.run_id);
    snprintf(a->project, sizeof a->project, "%s", c.project);
    a->cred_expired = api_now_ms() >= c.cred_expires_at;
    a->kind = API_TOKEN_CREDENTIAL;
    ret = 0;
out:
    api_store_end(ctx->t->store);
    return ret;
}

int api_auth_resolve(api_ctx *ctx, const char *authorization, api_error *e)
{
    api_auth *a = &ctx->r->auth;
    const char *tok;
    size_t len;
    api_token_kind kind;
    int ret = -1;

    memset(a, 0, sizeof *a);
    if (!authorization || !*authorization) {
        unauthenticated(e, "missing Authorization: Bearer token");
        goto out;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        unauthenticated(e, "Authorization must be \"Bearer <token>\"");
        goto out;
    }
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    len = strnlen(tok, API_TOKEN_INPUT_MAX + 1);
    while (len && tok[len - 1] == ' ')
        len--;
    kind = api_token_classify(tok, len);
    if (kind == API_TOKEN_INVALID) {
        unauthenticated(e, "malformed bearer token");
        goto out;
    }
    if (api_token_digest(tok, len, a->digest) != 0) {
        api_error_set(e, 500, "internal", "hashing failed");
        goto out;
    }
    ret = kind == API_TOKEN_KEY ? resolve_key(ctx, a, e) : resolve_credential(ctx, a, e);
out:
    return ret;
}

int api_auth_need_key(const api_auth *a, unsigned scope, api_error *e)
{
    int ret = -1;

    if (a->kind != API_TOKEN_KEY)
        api_error_set(e, 403, "forbidden",
                      "this endpoint needs a project API key, not a worker credential");
    else if (!(a->scopes & scope))
        api_error_set(e, 403, "forbidden", "this API key lacks the scope %s",
                      api_scope_name(scope));
    else
        ret = 0;
    return ret;
}

int api_auth_need_credential(const api_auth *a, const char *run_id, int allow_expired, api_error *e)
{
    int ret = -1;

    if (a->kind != API_TOKEN_CREDENTIAL)
        api_error_set(e, 403, "forbidden",
                      "this endpoint needs the run's worker credential, not an API key");
    else if (a->cred_expired && !allow_expired)
        api_error_set(e, 401, "unauthenticated", "this worker credential has expired");
    else if (strcmp(a->run_id, run_id) != 0)
        api_error_set(e, 403, "forbidden", "this worker credential belongs to another run");
    else
        ret = 0;
    return ret;
}
