/* compare_cli.h - `kivo-worker compare` (compare_cli.c). */
#ifndef KIVO_WORKER_COMPARE_CLI_H
#define KIVO_WORKER_COMPARE_CLI_H

/* Runs the command; argv[0] is "compare". @return the exit code. */
int wk_compare_main(int argc, char **argv);

#endif
