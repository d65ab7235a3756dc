/*
 * secret.c - tokens from files and the environment. A token is checked for shape only (one line of
 * printable ASCII, bounded): the server is the judge of its worth, and no message ever quotes it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "secret.h"

int wk_secret_copy(const char *s, const char *what, char out[WK_SECRET_MAX], char *err,
                   size_t errlen)
{
    size_t b = 0, e = strlen(s);
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
        e--;
    if (e == b || e - b >= WK_SECRET_MAX) {
        snprintf(err, errlen, "%s is empty or longer than %d bytes", what, WK_SECRET_MAX - 1);
        return -1;
    }
    for (size_t i = b; i < e; i++) {
        if (s[i] <= ' ' || s[i] > '~') {
            snprintf(err, errlen, "%s must be one token of printable ASCII", what);
            return -1;
        }
    }
    memcpy(out, s + b, e - b);
    out[e - b] = '\0';
    return 0;
}

int wk_secret_read_file(const char *path, char out[WK_SECRET_MAX], char *err, size_t errlen)
{
    char buf[WK_SECRET_MAX + 2];
    FILE *f = fopen(path, "r");
    int rc;
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    char what[600];
    snprintf(what, sizeof what, "the token in %s", path);
    rc = wk_secret_copy(buf, what, out, err, errlen);
    memset(buf, 0, sizeof buf);
    return rc;
}
