/*
 * main.c - kivo-api: the hosted Kivo service (serve) and its key administration (keys).
 *
 * Commands map their outcome to the exit codes of cli.h here and nowhere else.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "migrate.h"
#include "migrate_cmd.h"
#include "server.h"

static const char usage_main[] =
    "Usage: kivo-api COMMAND [OPTIONS]\n"
    "\n"
    "The Kivo API server: creates private-worker runs and their one-run credentials, stores their\n"
    "metadata events, and reviews hosted packets with the same engine as kivo-worker.\n"
    "\n"
    "Commands:\n"
    "  serve     run the API server (kivo-api serve --help lists its options)\n"
    "  keys      create, list and revoke project API keys (kivo-api keys --help)\n"
    "  migrate   bring a database up to this server's schema without serving it\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text (also: kivo-api COMMAND --help)\n"
    "  -V, --version   print the server, engine and database schema versions\n"
    "\n"
    "Exit codes: 0 success; 1 failure (database, network, I/O); 2 usage error; 3 key not found\n"
    "(keys revoke).\n"
    "\n"
    "Environment: each serve option has a KIVO_API_* variable (KIVO_API_DB, KIVO_API_LISTEN, ...)\n"
    "listed by `kivo-api serve --help`; the command line wins.\n";

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int code = API_EXIT_USAGE;

    if (!cmd) {
        fputs(usage_main, stderr);
    } else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        code = API_EXIT_OK;
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
               strcmp(cmd, "version") == 0) {
        /* The same form as kivo-worker's: program version (engine version, ...). */
        printf("kivo-api %s (engine %s, database schema %d)\n", KIVO_VERSION_STRING,
               KIVO_ENGINE_VERSION, api_migrate_latest());
        code = API_EXIT_OK;
    } else if (strcmp(cmd, "serve") == 0) {
        code = api_serve_main(argc - 1, argv + 1);
    } else if (strcmp(cmd, "keys") == 0) {
        code = api_keys_main(argc - 1, argv + 1);
    } else if (strcmp(cmd, "migrate") == 0) {
        code = api_migrate_main(argc - 1, argv + 1);
    } else {
        fprintf(stderr, "kivo-api: unknown command '%s' (see --help)\n", cmd);
    }
    return code;
}
