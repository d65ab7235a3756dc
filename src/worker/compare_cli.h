/* compare_cli.h - `kivo-worker compare` (compare_cli.c). */
#ifndef KIVO_WORKER_COMPARE_CLI_H
#define KIVO_WORKER_COMPARE_CLI_H

#include "kivo/status.h"
#include "optenv.h"

/* compare's options, for wk_optenv_init() (its variables are KIVO_COMPARE_*). */
extern const wk_optenv_cmd wk_compare_cli;

/* Runs the command on oe's argv (the command line with the environment's options, optenv.h;
 * argv[0] names the command). *gate_failed says whether a --fail-on condition held.
 * @return KIVO_OK (--help too); KIVO_EINVAL for usage, a bad --fail-on or --group-by, a folder
 * that is no report store; KIVO_EIO for I/O and memory. The message is already on stderr. */
kivo_status wk_compare_command(const wk_optenv *oe, int *gate_failed);

#endif
