/*
 * token.c - token generation, classification and hashing for kivo-api.
 *
 * Tokens are compared only as SHA-256 digests, with CRYPTO_memcmp; the plain token exists in
 * memory only while a request or `keys create` needs it and is never logged or echoed.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "token.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t api_base64url_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= len; i += 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8);
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long api_base64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    long ret = -1;

    if (len % 4 == 1)
        goto out;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            goto out;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_size)
                goto out;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so every byte string has exactly one encoding. */
    if (acc != 0)
        goto out;
    ret = (long)o;
out:
    return ret;
}

int api_token_generate(const char *prefix, char out[API_TOKEN_TEXT_MAX])
{
    unsigned char raw[API_TOKEN_RANDOM_BYTES];
    size_t plen = strlen(prefix);
    int ret = -1;

    if (plen + 44 + 1 > API_TOKEN_TEXT_MAX)
        goto out;
    if (RAND_bytes(raw, sizeof raw) != 1)
        goto out;
    memcpy(out, prefix, plen);
    api_base64url_encode(raw, sizeof raw, out + plen);
    ret = 0;
out:
    OPENSSL_cleanse(raw, sizeof raw);
    return ret;
}

api_token_kind api_token_classify(const char *s, size_t len)
{
    api_token_kind kind = API_TOKEN_INVALID;

    if (len > API_TOKEN_INPUT_MAX || len < API_TOKEN_PREFIX_LEN + 43)
        goto out;
    for (size_t i = API_TOKEN_PREFIX_LEN; i < len; i++)
        if (b64url_value(s[i]) < 0)
            goto out;
    if (memcmp(s, API_KEY_PREFIX, API_TOKEN_PREFIX_LEN) == 0)
        kind = API_TOKEN_KEY;
    else if (memcmp(s, API_CRED_PREFIX, API_TOKEN_PREFIX_LEN) == 0)
        kind = API_TOKEN_CREDENTIAL;
out:
    return kind;
}

int api_token_digest(const char *s, size_t len, unsigned char out[API_DIGEST_SIZE])
{
    unsigned int n = 0;

    if (EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) != 1 || n != API_DIGEST_SIZE)
        return -1;
    return 0;
}

int api_token_digest_equal(const unsigned char *a, const unsigned char *b)
{
    return CRYPTO_memcmp(a, b, API_DIGEST_SIZE) == 0;
}

int api_random_id(const char *prefix, char *out, size_t out_size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t plen = strlen(prefix);

    if (plen + 2 * sizeof raw + 1 > out_size || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, prefix, plen);
    for (size_t i = 0; i < sizeof raw; i++) {
        out[plen + 2 * i] = hex[raw[i] >> 4];
        out[plen + 2 * i + 1] = hex[raw[i] & 15];
    }
    out[plen + 2 * sizeof raw] = '\0';
    return 0;
}
