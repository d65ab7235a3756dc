/*
 * cli.c - flags, environment variables and value parsing for kivo-api (see cli.h).
 *
 * Flags are parsed with getopt_long, as the worker's are, from each command's option table: the
 * table stays the one list that the parser, --help and the environment fallback all read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long's value for opts[i]: above every character, so no short option can clash. */
#define OPT_VAL(i) (0x100 + (int)(i))

int api_cli_collect(int argc, char **argv, int first, const api_option *opts, size_t n_opts,
                    const char **values)
{
    struct option *longopts = calloc(n_opts + 1, sizeof *longopts);
    /* getopt_long reads argv[1..]: hand it the slice that starts before `first`. */
    int sub_argc = argc - first + 1, c, ret = -1;
    char **sub_argv = argv + first - 1;

    for (size_t i = 0; i < n_opts; i++)
        values[i] = NULL;
    if (!longopts) {
        fprintf(stderr, "kivo-api: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n_opts; i++) {
        longopts[i].name = opts[i].flag + 2; /* past "--" */
        longopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
        longopts[i].val = OPT_VAL(i);
    }
    /* "+": stop at the first argument that is not an option (reported below, none is allowed);
     * ":": a missing value is told apart from an unknown option; opterr 0: messages are ours. */
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(sub_argc, sub_argv, "+:", longopts, NULL)) != -1) {
        if (c >= OPT_VAL(0) && c < OPT_VAL(n_opts)) {
            size_t i = (size_t)(c - OPT_VAL(0));
            values[i] = opts[i].arg ? optarg : "1";
        } else if (c == ':' && optopt >= OPT_VAL(0) && optopt < OPT_VAL(n_opts)) {
            size_t i = (size_t)(optopt - OPT_VAL(0));
            fprintf(stderr, "kivo-api: %s needs a value (%s)\n", opts[i].flag, opts[i].arg);
            goto out;
        } else if (optopt >= OPT_VAL(0) && optopt < OPT_VAL(n_opts)) {
            fprintf(stderr, "kivo-api: %s takes no value\n", opts[optopt - OPT_VAL(0)].flag);
            goto out;
        } else {
            const char *arg = sub_argv[optind - 1];
            fprintf(stderr, "kivo-api: unknown option '%.*s' (see --help)\n",
                    (int)strcspn(arg, "="), arg);
            goto out;
        }
    }
    if (optind < sub_argc) {
        fprintf(stderr, "kivo-api: unknown option '%.*s' (see --help)\n",
                (int)strcspn(sub_argv[optind], "="), sub_argv[optind]);
        goto out;
    }
    for (size_t i = 0; i < n_opts; i++)
        if (!values[i] && opts[i].env)
            values[i] = getenv(opts[i].env);
    ret = 0;
out:
    free(longopts);
    return ret;
}

void api_cli_print_options(void *out, const api_option *opts, size_t n_opts)
{
    FILE *f = out;

    for (size_t i = 0; i < n_opts; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", opts[i].flag, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-28s %s", left, opts[i].help);
        if (opts[i].env)
            fprintf(f, " [env %s]", opts[i].env);
        fputc('\n', f);
    }
}

int api_cli_parse_listen(const char *s, char host[64], unsigned *port)
{
    const char *colon;
    uint64_t p;
    size_t hlen;
    int ret = -1;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            goto out;
        hlen = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            goto out;
        hlen = (size_t)(colon - s);
    }
    if (hlen >= 64 || (hlen == 0 && colon != s) || api_cli_parse_u64(colon + 1, 0, &p) != 0 ||
        p > 65535)
        goto out;
    /* ":8787": every IPv4 address, as other servers read it. */
    if (hlen == 0)
        memcpy(host, "0.0.0.0", 8);
    else {
        memcpy(host, s, hlen);
        host[hlen] = '\0';
    }
    *port = (unsigned)p;
    ret = 0;
out:
    return ret;
}

int api_cli_parse_u64(const char *s, int sizes, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    int ret = -1;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        goto out;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        goto out;
    if (sizes && *end) {
        unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
        if (!shift || end[1] || v > (UINT64_MAX >> shift))
            goto out;
        v <<= shift;
        end++;
    }
    if (*end)
        goto out;
    *out = v;
    ret = 0;
out:
    return ret;
}
