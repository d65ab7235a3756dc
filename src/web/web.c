/*
 * web.c - lookup of the embedded assets and their CSP hash sources. The digest was computed at
 * build time; turning its hex into base64 needs no hasher, no state and no lock, so pages can be
 * rendered on any thread.
 */
#include <string.h>

#include "web.h"

const web_asset *web_asset_find(const char *name)
{
    static const web_asset *const all[] = {&web_review_js, &web_review_css, &web_app_html};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

void web_csp_hash(const web_asset *a, char out[WEB_CSP_HASH_MAX])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[33] = {0};
    char *p = out;

    for (int i = 0; i < 32; i++)
        d[i] =
            (unsigned char)(hexval(a->sha256_hex[2 * i]) << 4 | hexval(a->sha256_hex[2 * i + 1]));
    memcpy(p, "'sha256-", 8);
    p += 8;
    /* 32 bytes: ten full groups of three, then two bytes and one '='. */
    for (int i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | (i + 2 < 32 ? d[i + 2] : 0);
        *p++ = b64[v >> 18 & 63];
        *p++ = b64[v >> 12 & 63];
        *p++ = b64[v >> 6 & 63];
        *p++ = i + 2 < 32 ? b64[v & 63] : '=';
    }
    *p++ = '\'';
    *p = '\0';
}
