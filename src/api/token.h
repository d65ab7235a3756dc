/*
 * token.h - the secrets kivo-api hands out: project API keys (kivo_sk_...) and one-run worker
 * credentials (kivo_wc_...), plus the random public ids of runs (rr_...).
 *
 * A token is a prefix and 43 url-safe base64 characters of 32 bytes from OpenSSL's CSPRNG. Only
 * its SHA-256 is ever stored; lookups go by that digest and the final check is CRYPTO_memcmp, so a
 * stolen database holds nothing that authenticates and no comparison leaks timing.
 */
#ifndef KIVO_API_TOKEN_H
#define KIVO_API_TOKEN_H

#include <stddef.h>

#define API_KEY_PREFIX "kivo_sk_"
#define API_CRED_PREFIX "kivo_wc_"
#define API_TOKEN_PREFIX_LEN 8
#define API_TOKEN_RANDOM_BYTES 32
#define API_TOKEN_TEXT_MAX 96   /* prefix + 43 chars + NUL fits with room */
#define API_TOKEN_INPUT_MAX 256 /* longer bearer strings are refused unread */
#define API_KEY_DISPLAY_LEN 16  /* "kivo_sk_" + 8 chars: what `keys list` shows */
#define API_DIGEST_SIZE 32
#define API_RUN_ID_MAX 40 /* "rr_" + 32 hex + NUL */

typedef enum api_token_kind {
    API_TOKEN_INVALID = 0,
    API_TOKEN_KEY,
    API_TOKEN_CREDENTIAL
} api_token_kind;

/* Writes a fresh token, `prefix` + 43 base64url chars, NUL-terminated, into out.
 * @return 0, or -1 when the CSPRNG failed. */
int api_token_generate(const char *prefix, char out[API_TOKEN_TEXT_MAX]);

/* What s[0..len) looks like: a key, a credential, or neither (wrong prefix, fewer than 43
 * characters after it, a character outside [A-Za-z0-9_-], or longer than API_TOKEN_INPUT_MAX). */
api_token_kind api_token_classify(const char *s, size_t len);

/* SHA-256 of s[0..len). @return 0 or -1 when OpenSSL failed. */
int api_token_digest(const char *s, size_t len, unsigned char out[API_DIGEST_SIZE]);

/* 1 when the digests are equal; constant time. */
int api_token_digest_equal(const unsigned char *a, const unsigned char *b);

/* Writes `prefix` + 32 lowercase hex digits of 16 random bytes ("rr_9f..."). @return 0 or -1. */
int api_random_id(const char *prefix, char *out, size_t out_size);

/* Base64url without padding of in[0..len) into out (4*ceil(len/3) + 1 bytes suffice).
 * @return the number of characters written. */
size_t api_base64url_encode(const unsigned char *in, size_t len, char *out);

/* Decodes unpadded base64url text; @return bytes written, or -1 on a bad character or length. */
long api_base64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size);

#endif
