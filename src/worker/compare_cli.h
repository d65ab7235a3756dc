/* compare_cli.h - `kivo-worker compare` (compare_cli.c). */
#ifndef KIVO_WORKER_COMPARE_CLI_H
#define KIVO_WORKER_COMPARE_CLI_H

#include "kivo/status.h"

/* Runs the command; argv[0] is "compare". *gate_failed says whether a --fail-on condition held.
 * @return KIVO_OK (--help too); KIVO_EINVAL for usage, a bad --fail-on or --group-by, a folder
 * that is no report store; KIVO_EIO for I/O and memory. The message is already on stderr. */
kivo_status wk_compare_command(int argc, char **argv, int *gate_failed);

#endif
