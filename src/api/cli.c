/* cli.c - flags, environment variables and value parsing for kivo-api (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int api_cli_collect(int argc, char **argv, int first, const api_option *opts, size_t n_opts,
                    const char **values)
{
    int ret = -1;

    for (size_t i = 0; i < n_opts; i++)
        values[i] = NULL;
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        size_t i;
        for (i = 0; i < n_opts; i++)
            if (strlen(opts[i].flag) == name_len && memcmp(opts[i].flag, arg, name_len) == 0)
                break;
        if (i == n_opts) {
            fprintf(stderr, "kivo-api: unknown option '%.*s' (see --help)\n", (int)name_len, arg);
            goto out;
        }
        if (!opts[i].arg) {
            if (eq) {
                fprintf(stderr, "kivo-api: %s takes no value\n", opts[i].flag);
                goto out;
            }
            values[i] = "1";
        } else if (eq) {
            values[i] = eq + 1;
        } else if (a + 1 < argc) {
            values[i] = argv[++a];
        } else {
            fprintf(stderr, "kivo-api: %s needs a value (%s)\n", opts[i].flag, opts[i].arg);
            goto out;
        }
    }
    for (size_t i = 0; i < n_opts; i++)
        if (!values[i] && opts[i].env)
            values[i] = getenv(opts[i].env);
    ret = 0;
out:
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
    if (hlen == 0 || hlen >= 64 || api_cli_parse_u64(colon + 1, 0, &p) != 0 || p > 65535)
        goto out;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
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
