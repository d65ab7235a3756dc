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
#include "server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kivo-api <command> [options]\n\n"
            "commands:\n"
            "  serve --db PATH [--listen HOST:PORT]   run the API server (see serve --help)\n"
            "  keys create --db PATH --project NAME --scopes a,b\n"
            "                                         make a project API key; prints it once\n"
            "  keys list --db PATH                    list keys (prefix, project, scopes, times)\n"
            "  keys revoke --db PATH --prefix PREFIX  revoke a key\n\n"
            "  --help, --version\n\n"
            "exit codes: 0 success, 1 failure, 2 usage error, 3 key not found\n"
            "environment: KIVO_API_DB, KIVO_API_LISTEN and the others listed by serve --help\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int code = API_EXIT_USAGE;

    if (!cmd) {
        usage(stderr);
    } else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
               strcmp(cmd, "help") == 0) {
        usage(stdout);
        code = API_EXIT_OK;
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("kivo-api %s (engine %s, schema %d)\n", KIVO_VERSION_STRING, KIVO_ENGINE_VERSION,
               api_migrate_latest());
        code = API_EXIT_OK;
    } else if (strcmp(cmd, "serve") == 0) {
        code = api_serve_main(argc - 1, argv + 1);
    } else if (strcmp(cmd, "keys") == 0) {
        code = api_keys_main(argc - 1, argv + 1);
    } else {
        fprintf(stderr, "kivo-api: unknown command '%s' (see --help)\n", cmd);
    }
    return code;
}
