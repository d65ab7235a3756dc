/*
 * web.h - the reviewer's view as compiled into the programs: review.js, review.css and app.html
 * from src/web/, each with its bytes and the SHA-256 computed at build time (embed.cmake).
 *
 * kivo-worker inlines the script and style into self-contained report pages whose
 * Content-Security-Policy allows exactly these bytes ('sha256-...' sources, the only kind a page
 * opened from file:// can use); kivo-api serves the same files under /app/.
 */
#ifndef KIVO_WEB_H
#define KIVO_WEB_H

#include <stddef.h>

typedef struct web_asset {
    const char *name;          /* "review.js" */
    const char *content_type;  /* "text/javascript; charset=utf-8" */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
    const char *sha256_hex; /* 64 lowercase hex digits of SHA-256(data[0..len)) */
} web_asset;

extern const web_asset web_review_js;
extern const web_asset web_review_css;
extern const web_asset web_app_html;

/* The asset called `name` ("review.js"), or NULL. */
const web_asset *web_asset_find(const char *name);

/* A CSP hash source for the asset: 'sha256-<base64 of the digest>' with the quotes, NUL-ended.
 * out must hold WEB_CSP_HASH_MAX bytes. */
#define WEB_CSP_HASH_MAX 64
void web_csp_hash(const web_asset *a, char out[WEB_CSP_HASH_MAX]);

#endif
