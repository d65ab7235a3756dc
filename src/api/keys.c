/*
 * keys.c - the `keys` command: create prints the new key alone on stdout's first line (shown
 * once, only its SHA-256 is stored); list shows prefix, project, scopes and times, never a key;
 * revoke marks a key by its prefix so every later request with it is a 401.
 *
 * These commands open the same database file as a running server; SQLite's locking and the busy
 * timeout make that safe.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "keys.h"
#include "scopes.h"
#include "store.h"
#include "timefmt.h"
#include "token.h"

enum { O_DB, O_CREATE, O_PROJECT, O_SCOPES, O_PREFIX, O_HELP, O_COUNT };

static const api_option key_opts[O_COUNT] = {
    [O_DB] = {"--db", "KIVO_API_DB", "PATH|URI", "SQLite database file, or postgresql://..."},
    [O_CREATE] = {"--create", NULL, NULL,
                  "make the database when it does not exist (create; without it a missing "
                  "database is an error, so a typo cannot mint a key nobody serves)"},
    [O_PROJECT] = {"--project", NULL, "NAME", "project the key belongs to (create)"},
    [O_SCOPES] = {"--scopes", NULL, "LIST", "comma-separated scopes (create)"},
    [O_PREFIX] = {"--prefix", NULL, "PREFIX", "key prefix as shown by `keys list` (revoke)"},
    [O_HELP] = {"--help", NULL, NULL, "show this help"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: kivo-api keys create --db PATH [--create] --project NAME --scopes a,b\n"
               "       kivo-api keys list --db PATH\n"
               "       kivo-api keys revoke --db PATH --prefix kivo_sk_XXXXXXXX\n\n"
               "Scopes: review_runs:write, review_runs:read, private_worker:write, "
               "private_worker:read\n\nOptions:\n");
    api_cli_print_options(f, key_opts, O_COUNT);
}

static int project_valid(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int keys_create(api_store *s, const char *project, unsigned mask)
{
    char token[API_TOKEN_TEXT_MAX];
    char prefix[API_KEY_DISPLAY_LEN + 1];
    char scopes[API_SCOPES_TEXT_MAX];
    unsigned char digest[API_DIGEST_SIZE];
    int code = API_EXIT_FAILURE;
    int rc = SQLITE_CONSTRAINT;

    api_scopes_format(mask, scopes);
    /* A prefix clash (48 random bits) is rare but possible: draw again. */
    for (int attempt = 0; attempt < 4 && rc == SQLITE_CONSTRAINT; attempt++) {
        if (api_token_generate(API_KEY_PREFIX, token) != 0 ||
            api_token_digest(token, strlen(token), digest) != 0) {
            fprintf(stderr, "kivo-api: cannot draw random bytes\n");
            goto out;
        }
        memcpy(prefix, token, API_KEY_DISPLAY_LEN);
        prefix[API_KEY_DISPLAY_LEN] = '\0';
        rc = api_store_key_insert(s, prefix, digest, sizeof digest, project, scopes, api_now_ms()) &
             0xff;
    }
    if (rc != SQLITE_OK) {
        fprintf(stderr, "kivo-api: cannot store the key: %s\n", api_store_error(s));
        goto out;
    }
    printf("%s\n", token);
    fflush(stdout);
    fprintf(stderr,
            "kivo-api: created key %s for project %s with scopes %s "
            "(shown once; only its SHA-256 is stored)\n",
            prefix, project, scopes);
    code = API_EXIT_OK;
out:
    memset(token, 0, sizeof token);
    return code;
}

static void print_time(int64_t ms)
{
    char t[API_TIME_TEXT_MAX];

    if (ms < 0) {
        printf("\t-");
        return;
    }
    api_time_format(ms, t);
    printf("\t%s", t);
}

static void print_key(const api_key_item *k, void *arg)
{
    (void)arg;
    printf("%s\t%s\t%s", k->prefix, k->project, k->scopes);
    print_time(k->created_at);
    print_time(k->last_used_at);
    print_time(k->revoked_at);
    putchar('\n');
}

static int keys_list(api_store *s)
{
    printf("prefix\tproject\tscopes\tcreated\tlast_used\trevoked\n");
    return api_store_key_list(s, print_key, NULL) == SQLITE_OK ? API_EXIT_OK : API_EXIT_FAILURE;
}

static int keys_revoke(api_store *s, const char *prefix)
{
    int changed = 0;

    if (api_store_key_revoke(s, prefix, api_now_ms(), &changed) != SQLITE_OK) {
        fprintf(stderr, "kivo-api: %s\n", api_store_error(s));
        return API_EXIT_FAILURE;
    }
    if (!changed) {
        fprintf(stderr, "kivo-api: no active key with prefix %s\n", prefix);
        return API_EXIT_NOT_FOUND;
    }
    fprintf(stderr, "kivo-api: revoked %s\n", prefix);
    return API_EXIT_OK;
}

int api_keys_main(int argc, char **argv)
{
    const char *v[O_COUNT];
    const char *cmd = argc > 1 ? argv[1] : NULL;
    api_store_options sopt = {0, 10000, 0};
    api_store *s = NULL;
    char errmsg[256];
    unsigned mask = 0;
    int code = API_EXIT_USAGE;

    if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(cmd ? stdout : stderr);
        code = cmd ? API_EXIT_OK : API_EXIT_USAGE;
        goto out;
    }
    if (api_cli_collect(argc, argv, 2, key_opts, O_COUNT, v) != 0)
        goto out;
    if (v[O_HELP]) {
        usage(stdout);
        code = API_EXIT_OK;
        goto out;
    }
    if (strcmp(cmd, "create") != 0 && strcmp(cmd, "list") != 0 && strcmp(cmd, "revoke") != 0) {
        fprintf(stderr, "kivo-api: unknown keys command '%s' (create, list, revoke)\n", cmd);
        goto out;
    }
    if (!v[O_DB]) {
        fprintf(stderr, "kivo-api: keys %s needs --db PATH|URI (or KIVO_API_DB)\n", cmd);
        goto out;
    }
    if (strcmp(cmd, "create") == 0) {
        if (!v[O_PROJECT] || !project_valid(v[O_PROJECT])) {
            fprintf(stderr, "kivo-api: keys create needs --project NAME "
                            "(1..200 characters of [A-Za-z0-9_.-])\n");
            goto out;
        }
        if (!v[O_SCOPES] || api_scopes_parse(v[O_SCOPES], &mask) != 0) {
            const char *bad = NULL;
            size_t bad_len = 0;
            if (v[O_SCOPES] && api_scopes_unknown(v[O_SCOPES], &bad, &bad_len))
                fprintf(stderr, "kivo-api: unknown scope '%.*s'\n", (int)bad_len, bad);
            fprintf(stderr, "kivo-api: keys create needs --scopes with one or more of "
                            "review_runs:write, review_runs:read, private_worker:write, "
                            "private_worker:read\n");
            goto out;
        }
    }
    if (strcmp(cmd, "revoke") == 0 && !v[O_PREFIX]) {
        fprintf(stderr, "kivo-api: keys revoke needs --prefix (see keys list)\n");
        goto out;
    }
    if (v[O_CREATE] && strcmp(cmd, "create") != 0) {
        fprintf(stderr, "kivo-api: --create is for keys create only\n");
        goto out;
    }
    code = API_EXIT_FAILURE;
    sopt.create = v[O_CREATE] != NULL;
    if (api_store_open(v[O_DB], &sopt, 1, &s, errmsg) != SQLITE_OK) {
        fprintf(stderr, "kivo-api: cannot open the database: %s%s\n", errmsg,
                strcmp(cmd, "create") == 0 && !sopt.create && !api_store_is_pg(v[O_DB]) &&
                        access(v[O_DB], F_OK) != 0
                    ? " (pass --create to make a new one)"
                    : "");
        goto out;
    }
    if (strcmp(cmd, "create") == 0)
        code = keys_create(s, v[O_PROJECT], mask);
    else if (strcmp(cmd, "list") == 0)
        code = keys_list(s);
    else
        code = keys_revoke(s, v[O_PREFIX]);
out:
    api_store_close(s);
    return code;
}
