/*
 * hash.h - SHA-256 (OpenSSL EVP, so the CPU's SHA extensions are used where present) for the
 * hashes Kivo reports, and XXH3 for internal token and shingle hashing.
 *
 * Reported hashes are text: "sha256:" followed by 64 lowercase hex digits, NUL-terminated, as in
 * `printf '%s' "$text" | sha256sum`.
 */
#ifndef KIVO_HASH_H
#define KIVO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KIVO_SHA256_SIZE 32
#define KIVO_HASH_TEXT_SIZE 72 /* "sha256:" + 64 hex + NUL */

/* A reusable SHA-256 context. One per thread; creating one per call is what makes EVP slow. */
typedef struct kivo_hasher kivo_hasher;

/* @return KIVO_OK and *out, or KIVO_ENOMEM / KIVO_ECRYPTO. Free with kivo_hasher_free(). */
kivo_status kivo_hasher_create(kivo_hasher **out);
void kivo_hasher_free(kivo_hasher *h);

/* SHA-256 of data[0..len) into digest. @return KIVO_OK or KIVO_ECRYPTO. */
kivo_status kivo_hasher_sha256(kivo_hasher *h, const void *data, size_t len,
                               unsigned char digest[KIVO_SHA256_SIZE]);

/* As kivo_hasher_sha256(), formatted as "sha256:<hex>" into text. */
kivo_status kivo_hasher_sha256_text(kivo_hasher *h, const void *data, size_t len,
                                    char text[KIVO_HASH_TEXT_SIZE]);

/* Formats a digest as "sha256:<64 lowercase hex>". */
void kivo_hash_format(const unsigned char digest[KIVO_SHA256_SIZE], char text[KIVO_HASH_TEXT_SIZE]);

/* 1 when s[0..len) is "sha256:" + 64 lowercase hex digits. */
int kivo_hash_text_valid(const char *s, size_t len);

/* XXH3 64-bit hash, seed 0. */
uint64_t kivo_hash_xxh3(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
