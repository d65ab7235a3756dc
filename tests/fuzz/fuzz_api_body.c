/*
 * fuzz_api_body.c - a request body through kivo-api's route handler for its type, as the server
 * runs it once a request is admitted: body parsing (api_parse_body), the raw-field scan, the
 * closed-schema validator, and for a body that passes, what the route does with it (canonical
 * form, the hosted review and its report, the store).
 *
 * Input: one byte choosing the body type (modulo 3: 0 private-worker create, 1 private-worker
 * event, 2 hosted create; the seeds use the digits '0', '1', '2'), then the body. Handlers run on a
 * real SQLite store in a scratch folder, with an API key's identity for creates and the credential
 * of one private-worker run (made when the store is) for events; the store is made afresh every
 * STORE_INPUTS inputs so it stays small. In an event body, "$RUN" stands for that run's id (the
 * server makes it up), so seeds can carry events the route accepts.
 *
 * Checks: no body makes a 500 (a 500 on a body is a server bug, by api.md: bad bodies get a 4xx
 * naming the field) and every answer is a JSON body the server can send.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "auth.h"
#include "kivo/buf.h"
#include "scopes.h"
#include "server.h"
#include "store.h"

#define STORE_INPUTS 2000

static api_config cfg;
static api_thread thread;
static api_auth key_auth, cred_auth;
static char run_id[API_PATH_ID_MAX];
static unsigned long inputs;

static void reply_free(api_reply *rep)
{
    json_decref(rep->json);
    free(rep->text);
    memset(rep, 0, sizeof *rep);
}

/* Runs handler on body with auth; returns the reply (free with reply_free). */
static void run(void (*handler)(api_ctx *, api_reply *), const api_auth *auth, const char *id,
                const void *body, size_t len, api_reply *rep)
{
    api_request req = {0};
    api_ctx ctx = {&cfg, &thread, &req};

    kivo_buf_init(&req.body, 0);
    FUZZ_CHECK(len == 0 || kivo_buf_append(&req.body, body, len) == KIVO_OK);
    req.auth = *auth;
    snprintf(req.id, sizeof req.id, "%s", id);
    memset(rep, 0, sizeof *rep);
    handler(&ctx, rep);
    kivo_buf_free(&req.body);
}

static void store_remove(void)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4400];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/api.db%s", fuzz_scratch_dir(), suffix[i]);
        unlink(path);
    }
}

/* A fresh store, and one private-worker run whose credential events are sent with. */
static void session(void)
{
    static const char create[] =
        "{\"schema_version\":\"kivo_private_worker_review_run_create.v1\","
        "\"customer_run_id\":\"fuzz-run\",\"workflow_id\":\"wf\",\"worker_id\":\"w\","
        "\"worker_version\":\"1\",\"intended_use\":\"customer_facing\","
        "\"strictness\":\"standard\",\"source_count\":1,\"source_hashes\":"
        "[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"],"
        "\"output_hash\":"
        "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
        "\"customer_storage_pointer\":{\"type\":\"customer_owned\",\"opaque_id\":\"r/wf/1\"}}";
    api_store_options opt = {.busy_timeout_ms = 1000, .create = 1};
    char path[4400], err[256], bearer[256];
    api_request req = {0};
    api_ctx ctx = {&cfg, &thread, &req};
    api_error e = {0};
    api_reply rep;
    const char *cred;

    api_store_close(thread.store);
    thread.store = NULL;
    store_remove();
    snprintf(path, sizeof path, "%s/api.db", fuzz_scratch_dir());
    FUZZ_CHECK(api_store_open(path, &opt, 1, &thread.store, err) == SQLITE_OK);

    run(api_route_pw_create, &key_auth, "", create, sizeof create - 1, &rep);
    if (rep.status != 201)
        fprintf(stderr, "fuzz_api_body: the setup run was refused: %s\n",
                rep.json ? json_dumps(rep.json, 0) : "(no body)");
    FUZZ_CHECK(rep.status == 201);
    snprintf(run_id, sizeof run_id, "%s",
             json_string_value(json_object_get(rep.json, "review_run_id")));
    cred = json_string_value(json_object_get(rep.json, "worker_credential"));
    FUZZ_CHECK(cred != NULL);
    snprintf(bearer, sizeof bearer, "Bearer %s", cred);
    FUZZ_CHECK(api_auth_resolve(&ctx, bearer, &e) == 0);
    cred_auth = req.auth;
    reply_free(&rep);
}

static void cleanup(void)
{
    api_store_close(thread.store);
    kivo_json_parser_free(thread.parser);
    kivo_engine_free(thread.engine);
    store_remove();
}

/* body with every "$RUN" replaced by the run's id, into out. */
static void put_run_id(const uint8_t *body, size_t len, kivo_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (len - i >= 4 && memcmp(body + i, "$RUN", 4) == 0) {
            FUZZ_CHECK(kivo_buf_append_str(out, run_id) == KIVO_OK);
            i += 3;
        } else {
            FUZZ_CHECK(kivo_buf_append(out, body + i, 1) == KIVO_OK);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const handler[3])(api_ctx *, api_reply *) = {
        api_route_pw_create, api_route_pw_event, api_route_hr_create};
    api_reply rep;
    kivo_buf body;
    char *text;
    int type;

    if (!thread.parser) {
        cfg.credential_ttl_ms = 3600 * 1000;
        cfg.max_worker_body = 1 << 20;
        cfg.max_hosted_body = 16 << 20;
        FUZZ_CHECK(kivo_json_parser_create(API_JSON_MAX_DEPTH, &thread.parser) == KIVO_OK);
        key_auth.kind = API_TOKEN_KEY;
        key_auth.key_id = 1;
        snprintf(key_auth.project, sizeof key_auth.project, "fuzz-project");
        key_auth.scopes =
            API_SCOPE_REVIEW_WRITE | API_SCOPE_REVIEW_READ | API_SCOPE_PW_WRITE | API_SCOPE_PW_READ;
        fuzz_scratch_dir(); /* first, so its removal runs after cleanup */
        atexit(cleanup);
    }
    if (inputs++ % STORE_INPUTS == 0)
        session();
    if (size < 1)
        return 0;
    type = data[0] % 3;
    kivo_buf_init(&body, 0);
    if (type == 1)
        put_run_id(data + 1, size - 1, &body);
    run(handler[type], type == 1 ? &cred_auth : &key_auth, type == 1 ? run_id : "",
        type == 1 ? body.data : (const char *)data + 1, type == 1 ? body.len : size - 1, &rep);
    kivo_buf_free(&body);

    /* What serve.c's send_reply sends: the raw text (a replayed answer), or the JSON dumped. */
    text = rep.text ? strdup(rep.text) : rep.json ? json_dumps(rep.json, JSON_COMPACT) : NULL;
    if (rep.status >= 500 || !text)
        fprintf(stderr, "fuzz_api_body: status %u, body %s\n", rep.status,
                text ? text : "(none: the server could not render its answer)");
    FUZZ_CHECK(rep.status >= 200 && rep.status < 500);
    FUZZ_CHECK(text != NULL);
    free(text);
    reply_free(&rep);
    return 0;
}
