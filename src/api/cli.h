/*
 * cli.h - command-line and environment options of kivo-api, and its exit codes.
 *
 * Every option of `serve` has an environment variable (KIVO_API_<NAME>); a flag on the command
 * line wins over the variable, the variable over the default. Parsing never exits: it reports
 * through the return value so that main() maps outcomes to exit codes in one place.
 */
#ifndef KIVO_API_CLI_H
#define KIVO_API_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes of every kivo-api command. */
#define API_EXIT_OK 0
#define API_EXIT_FAILURE 1   /* the command ran and failed (store, network, I/O) */
#define API_EXIT_USAGE 2     /* bad command line or option value */
#define API_EXIT_NOT_FOUND 3 /* `keys revoke` named no active key */

typedef struct api_config {
    char host[64]; /* numeric address to listen on */
    unsigned port;
    const char *db_path;
    unsigned threads;          /* libmicrohttpd pool threads */
    int64_t credential_ttl_ms; /* worker credential lifetime */
    size_t max_worker_body;    /* private-worker request bodies */
    size_t max_hosted_body;    /* hosted packets */
    double rate_limit;         /* requests per second per token; 0 disables */
    double rate_burst;
    int synchronous_full;
    unsigned shutdown_grace_s;       /* how long SIGTERM waits for requests in flight */
    int quiet;                       /* no access log */
    int log_format;                  /* api_log_format (accesslog.h): text or JSON lines */
    int create;                      /* make the database when it does not exist */
    unsigned max_connections;        /* open connections at most */
    unsigned max_connections_per_ip; /* per client address; 0 = no limit */
    unsigned header_timeout_s;       /* deadline for a complete request head; 0 = none */
    unsigned hosted_threads;         /* threads that run hosted reviews */
    unsigned hosted_queue;           /* hosted reviews that may wait for one */
    size_t max_body_memory;          /* request bodies held at once (hosted: 3/4 of it) */
    size_t max_claims;               /* claims of one hosted packet; 0 = no limit */
    size_t max_report_bytes;         /* a hosted claim report; 0 = no limit */
} api_config;

/* One option: its flag, environment variable and help text. */
typedef struct api_option {
    const char *flag; /* "--listen" */
    const char *env;  /* "KIVO_API_LISTEN" or NULL */
    const char *arg;  /* "HOST:PORT", or NULL for a switch */
    const char *help;
} api_option;

/* Parses argv[first..argc) with getopt_long for the options of `opts` (flag VALUE, flag=VALUE,
 * a bare switch, or an unambiguous prefix of a flag), then the environment. values[i] gets the
 * string for opts[i] or NULL; a switch's value is "1"; the last of a repeated flag wins. Every
 * argument must be an option. @return 0, or -1 after printing what was wrong to stderr (unknown
 * flag or argument, missing value, value given to a switch). */
int api_cli_collect(int argc, char **argv, int first, const api_option *opts, size_t n_opts,
                    const char **values);

/* Prints the options table (flag, variable, help) to `out`. */
void api_cli_print_options(void *out, const api_option *opts, size_t n_opts);

/* Reads "HOST:PORT": an IPv4 address, a host name (resolved when the server starts), an
 * [IPv6] literal, or ":PORT" for every IPv4 address (host "0.0.0.0"). @return 0 or -1. */
int api_cli_parse_listen(const char *s, char host[64], unsigned *port);

/* Reads a non-negative decimal integer (with optional K/M/G binary suffix when `sizes`).
 * @return 0 or -1. */
int api_cli_parse_u64(const char *s, int sizes, uint64_t *out);

#endif
