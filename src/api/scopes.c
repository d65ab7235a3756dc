/* scopes.c - parsing and printing API key scopes (see scopes.h). */
#include <string.h>

#include "scopes.h"

static const struct {
    unsigned bit;
    const char *name;
} scopes[] = {
    {API_SCOPE_REVIEW_WRITE, "review_runs:write"},
    {API_SCOPE_REVIEW_READ, "review_runs:read"},
    {API_SCOPE_PW_WRITE, "private_worker:write"},
    {API_SCOPE_PW_READ, "private_worker:read"},
};

#define N_SCOPES (sizeof scopes / sizeof scopes[0])

/* Walks a comma-separated list; the first name that is no scope goes to *bad (its length to
 * *bad_len). @return 0 and *mask, or -1. */
static int walk(const char *s, unsigned *mask, const char **bad, size_t *bad_len)
{
    unsigned m = 0;
    int ret = -1;

    *bad = NULL;
    *bad_len = 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        size_t i;
        while (len && *s == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        for (i = 0; i < N_SCOPES; i++)
            if (strlen(scopes[i].name) == len && memcmp(scopes[i].name, s, len) == 0)
                break;
        if (i == N_SCOPES) {
            *bad = s;
            *bad_len = len;
            goto out;
        }
        m |= scopes[i].bit;
        if (!end)
            break;
        s = end + 1;
    }
    if (m == 0)
        goto out;
    *mask = m;
    ret = 0;
out:
    return ret;
}

int api_scopes_parse(const char *s, unsigned *mask)
{
    const char *bad;
    size_t bad_len;

    return walk(s, mask, &bad, &bad_len);
}

int api_scopes_unknown(const char *s, const char **name, size_t *len)
{
    unsigned mask;

    walk(s, &mask, name, len);
    return *name != NULL;
}

void api_scopes_format(unsigned mask, char out[API_SCOPES_TEXT_MAX])
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < N_SCOPES; i++) {
        size_t n = strlen(scopes[i].name);
        if (!(mask & scopes[i].bit) || o + n + 2 > API_SCOPES_TEXT_MAX)
            continue;
        if (o)
            out[o++] = ',';
        memcpy(out + o, scopes[i].name, n + 1);
        o += n;
    }
}

const char *api_scope_name(unsigned bit)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (scopes[i].bit == bit)
            return scopes[i].name;
    return "unknown";
}
