/*
 * hash.c - SHA-256 through OpenSSL EVP with a fetched, reused digest and context, and XXH3.
 *
 * OpenSSL 3 looks a digest up by name on every EVP_DigestInit_ex() given the legacy EVP_sha256()
 * handle ("implicit fetch"); fetching once per hasher and reusing one EVP_MD_CTX keeps the cost
 * per call near the compression function itself.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <openssl/evp.h>
#include <xxhash.h>

#include "kivo/hash.h"

struct kivo_hasher {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

kivo_status kivo_hasher_create(kivo_hasher **out)
{
    kivo_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return KIVO_ENOMEM;
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        kivo_hasher_free(h);
        return KIVO_ECRYPTO;
    }
    *out = h;
    return KIVO_OK;
}

void kivo_hasher_free(kivo_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

kivo_status kivo_hasher_sha256(kivo_hasher *h, const void *data, size_t len,
                               unsigned char digest[KIVO_SHA256_SIZE])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(h->ctx, digest, &n) != 1 || n != KIVO_SHA256_SIZE)
        return KIVO_ECRYPTO;
    return KIVO_OK;
}

#ifdef __SSE2__
/* Nibbles 0..15 to '0'..'9', 'a'..'f': + '0', and + ('a' - '0' - 10) above 9. */
static inline __m128i hex_digits(__m128i x)
{
    const __m128i above9 = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(9)), _mm_set1_epi8(39));
    return _mm_add_epi8(_mm_add_epi8(x, _mm_set1_epi8('0')), above9);
}
#endif

void kivo_hash_format(const unsigned char digest[KIVO_SHA256_SIZE], char text[KIVO_HASH_TEXT_SIZE])
{
    memcpy(text, "sha256:", 7);
#ifdef __SSE2__
    /* 16 bytes a step (every x86-64): high and low nibbles interleaved, then to digits; ~10x
     * fewer instructions than the table loop below (five digests a record). */
    const __m128i low4 = _mm_set1_epi8(15);
    for (int k = 0; k < KIVO_SHA256_SIZE; k += 16) {
        const __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(digest + k));
        const __m128i lo = _mm_and_si128(d, low4), hi = _mm_and_si128(_mm_srli_epi16(d, 4), low4);
        _mm_storeu_si128((__m128i *)(void *)(text + 7 + 2 * k),
                         hex_digits(_mm_unpacklo_epi8(hi, lo)));
        _mm_storeu_si128((__m128i *)(void *)(text + 23 + 2 * k),
                         hex_digits(_mm_unpackhi_epi8(hi, lo)));
    }
#else
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < KIVO_SHA256_SIZE; i++) {
        text[7 + 2 * i] = hex[digest[i] >> 4];
        text[8 + 2 * i] = hex[digest[i] & 15];
    }
#endif
    text[7 + 2 * KIVO_SHA256_SIZE] = '\0';
}

kivo_status kivo_hasher_sha256_text(kivo_hasher *h, const void *data, size_t len,
                                    char text[KIVO_HASH_TEXT_SIZE])
{
    unsigned char d[KIVO_SHA256_SIZE];
    kivo_status st = kivo_hasher_sha256(h, data, len, d);
    if (st == KIVO_OK)
        kivo_hash_format(d, text);
    return st;
}

int kivo_hash_text_valid(const char *s, size_t len)
{
    if (len != 7 + 2 * KIVO_SHA256_SIZE || memcmp(s, "sha256:", 7) != 0)
        return 0;
    for (size_t i = 7; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

uint64_t kivo_hash_xxh3(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}
