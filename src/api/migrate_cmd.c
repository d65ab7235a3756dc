/*
 * migrate_cmd.c - the `migrate` command: brings a database up to this server's schema without
 * serving it, for a package's postinst, an upgrade done before the restart, or a check. With
 * --create it makes a missing database first (the one place besides `keys create` that may).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "migrate.h"
#include "migrate_cmd.h"
#include "store.h"

enum { O_DB, O_CREATE, O_HELP, O_COUNT };

static const api_option migrate_opts[O_COUNT] = {
    [O_DB] = {"--db", "KIVO_API_DB", "PATH|URI", "SQLite database file, or postgresql://..."},
    [O_CREATE] = {"--create", "KIVO_API_CREATE", NULL,
                  "make the database when it does not exist (without it a missing database is "
                  "an error)"},
    [O_HELP] = {"--help", NULL, NULL, "show this help"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: kivo-api migrate --db PATH|URI [--create]\n\n"
               "Applies the schema migrations this kivo-api has and the database lacks, each in "
               "its own\ntransaction, then prints the database's schema version. `serve` does "
               "the same when it\nstarts; run this to upgrade before a restart or to make the "
               "database ahead of the first.\n\nOptions:\n");
    api_cli_print_options(f, migrate_opts, O_COUNT);
}

int api_migrate_main(int argc, char **argv)
{
    const char *v[O_COUNT];
    api_store_options sopt = {0, 10000, 0};
    api_store *s = NULL;
    char errmsg[256], name[256];

    if (api_cli_collect(argc, argv, 1, migrate_opts, O_COUNT, v) != 0)
        return API_EXIT_USAGE;
    if (v[O_HELP]) {
        usage(stdout);
        return API_EXIT_OK;
    }
    if (!v[O_DB]) {
        fprintf(stderr, "kivo-api: migrate needs --db PATH|URI (or KIVO_API_DB)\n");
        return API_EXIT_USAGE;
    }
    sopt.create = v[O_CREATE] != NULL && strcmp(v[O_CREATE], "0") != 0;
    if (api_store_open(v[O_DB], &sopt, 1, &s, errmsg) != SQLITE_OK) {
        fprintf(stderr, "kivo-api: cannot open the database: %s%s\n", errmsg,
                sopt.create || api_store_is_pg(v[O_DB]) ? ""
                                                        : " (pass --create to make a new one)");
        return API_EXIT_FAILURE;
    }
    api_store_close(s);
    /* A URI is named without its password. */
    api_store_describe(v[O_DB], name, sizeof name);
    printf("%s: schema %d\n", name, api_migrate_latest());
    return API_EXIT_OK;
}
