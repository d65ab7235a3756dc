/* migrate_cmd.h - `kivo-api migrate --db PATH [--create]`: migrate a database without serving it. */
#ifndef KIVO_API_MIGRATE_CMD_H
#define KIVO_API_MIGRATE_CMD_H

/* Runs `migrate ...` with argv[0] == "migrate". @return an API_EXIT_* code. */
int api_migrate_main(int argc, char **argv);

#endif
