/*
 * optenv.h - a command's options from KIVO_* environment variables, and the one-line answer to
 * an option getopt_long does not know.
 *
 * Each command keeps its own getopt_long table and checks. wk_optenv_init() gives it the argv to
 * parse: argv[0] (the command's name for getopt's messages), then "--NAME=VALUE" for every option
 * of the table that takes a value, has its variable set and is not on the command line, then the
 * command line. One getopt_long pass reads both with the same checks; the command line wins
 * because an option it names is never taken from the environment.
 *
 * Variable names: KIVO_ and the option's name in capitals with '-' as '_', less a leading
 * "kivo-" (--threads: KIVO_THREADS, --kivo-api-base-url: KIVO_API_BASE_URL). An option whose
 * meaning depends on the command (compare's --html FILE, batch's --html MODE) is listed in the
 * command's `scoped` names and gets the command's scope after KIVO_ (KIVO_COMPARE_HTML).
 * --worker-credential has no variable here: its token is KIVO_WORKER_CREDENTIAL, read as a
 * secret by the command itself.
 */
#ifndef KIVO_WORKER_OPTENV_H
#define KIVO_WORKER_OPTENV_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#define WK_OPTENV_NAME_MAX 64

typedef struct wk_optenv_cmd {
    const char *name;          /* "batch": messages say "kivo-worker batch" */
    const char *shortopts;     /* getopt_long's optstring */
    const struct option *opts; /* its table, ending with a zero entry */
    const char *scope;         /* "COMPARE" for KIVO_COMPARE_...; NULL: none */
    const char *const *scoped; /* long names that take the scope, NULL-terminated; or NULL */
} wk_optenv_cmd;

typedef struct wk_optenv {
    const wk_optenv_cmd *cmd;
    int argc;
    char **argv; /* malloc'd array; elements 1..n_env are malloc'd "--NAME=VALUE" */
    int n_env;
    char prog[64]; /* argv[0]: "kivo-worker batch" */
} wk_optenv;

/* Builds oe->argc/argv from argv[0..argc) (argv[0] the command's name) and the environment.
 * Leaves getopt's optind at 1 and opterr at 0 (wk_optenv_unknown() says what is wrong). @return 0, or -1 when out of memory. */
int wk_optenv_init(wk_optenv *oe, const wk_optenv_cmd *cmd, int argc, char **argv);

/* Frees what init made; the strings of the caller's argv stay theirs. */
void wk_optenv_free(wk_optenv *oe);

/* The variable of option o into out (WK_OPTENV_NAME_MAX bytes). @return 0, or -1 when the option
 * has no variable (it takes no value, or it is --worker-credential). */
int wk_optenv_name(const wk_optenv_cmd *cmd, const struct option *o, char *out);

/* Where an optarg came from, for an error message: " (from KIVO_THREADS)" when arg points into
 * an element made from the environment, else "". The string lives as long as a static buffer:
 * use it in one message at a time. */
const char *wk_optenv_origin(const wk_optenv *oe, const char *arg);

/* The "Environment:" section of the command's --help: every variable with its option. */
void wk_optenv_help(FILE *f, const wk_optenv_cmd *cmd);

/* After getopt_long returned '?' or ':' (c; the command's optstring starts with ':' and opterr is
 * 0 while it parses oe->argv): one line on stderr that says what is wrong (an unknown option,
 * with "did you mean '--NAME'?" when one is close; a missing or unexpected value; an ambiguous
 * abbreviation) and points to --help. Not the whole help. */
void wk_optenv_unknown(const wk_optenv *oe, int c);

#endif
