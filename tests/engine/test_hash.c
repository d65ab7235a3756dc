/*
 * test_hash.c - SHA-256 against the FIPS 180-2 test vectors, lengths around the 64-byte block and
 * its 55/56-byte padding edge, unaligned starts, the "sha256:<hex>" text form, and XXH3's
 * properties. The reference for the edge lengths is OpenSSL's one-shot EVP_Digest, a different
 * path from the reused context kivo_hasher keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "kivo/hash.h"

static kivo_hasher *new_hasher(void)
{
    kivo_hasher *h = NULL;
    assert_int_equal(kivo_hasher_create(&h), KIVO_OK);
    assert_non_null(h);
    return h;
}

static void check_text(kivo_hasher *h, const void *data, size_t len, const char *want)
{
    char text[KIVO_HASH_TEXT_SIZE];
    memset(text, 'X', sizeof text);
    assert_int_equal(kivo_hasher_sha256_text(h, data, len, text), KIVO_OK);
    assert_string_equal(text, want);
}

static void test_known_vectors(void **state)
{
    (void)state;
    kivo_hasher *h = new_hasher();
    check_text(h, "", 0, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_text(h, "abc", 3,
               "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_text(h, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
               "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Same context again after other input: nothing carries over. */
    check_text(h, "", 0, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* One million 'a'. */
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    check_text(h, a, n, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
    /* A NULL pointer with length 0 is the empty message. */
    check_text(h, NULL, 0,
               "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    unsigned char d[KIVO_SHA256_SIZE];
    assert_int_equal(kivo_hasher_sha256(h, "abc", 3, d), KIVO_OK);
    assert_int_equal(d[0], 0xba);
    assert_int_equal(d[31], 0xad);
    kivo_hasher_free(h);
    kivo_hasher_free(NULL);
}

/* Every length 0..200 (block 64, padding edge 55/56) at starts 0..7 against EVP_Digest. */
static void test_edges_against_evp(void **state)
{
    (void)state;
    kivo_hasher *h = new_hasher();
    unsigned char buf[256 + 8];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len <= 200; len++) {
        for (size_t shift = 0; shift < 8; shift++) {
            unsigned char want[EVP_MAX_MD_SIZE], got[KIVO_SHA256_SIZE];
            unsigned int wn = 0;
            assert_int_equal(EVP_Digest(buf + shift, len, want, &wn, EVP_sha256(), NULL), 1);
            assert_int_equal(wn, KIVO_SHA256_SIZE);
            assert_int_equal(kivo_hasher_sha256(h, buf + shift, len, got), KIVO_OK);
            assert_memory_equal(got, want, KIVO_SHA256_SIZE);
        }
    }
    kivo_hasher_free(h);
}

/* Two hashers give the same answer; a hasher does not depend on what it hashed before. */
static void test_independent_hashers(void **state)
{
    (void)state;
    kivo_hasher *a = new_hasher(), *b = new_hasher();
    char ta[KIVO_HASH_TEXT_SIZE], tb[KIVO_HASH_TEXT_SIZE];
    assert_int_equal(kivo_hasher_sha256_text(a, "warm up", 7, ta), KIVO_OK);
    assert_int_equal(kivo_hasher_sha256_text(a, "Zo\xc3\xab", 4, ta), KIVO_OK);
    assert_int_equal(kivo_hasher_sha256_text(b, "Zo\xc3\xab", 4, tb), KIVO_OK);
    assert_string_equal(ta, tb);
    assert_int_equal(kivo_hasher_sha256_text(b, "Zoe", 3, tb), KIVO_OK);
    assert_string_not_equal(ta, tb);
    kivo_hasher_free(a);
    kivo_hasher_free(b);
}

static void test_format(void **state)
{
    (void)state;
    unsigned char d[KIVO_SHA256_SIZE];
    char text[KIVO_HASH_TEXT_SIZE];
    for (int i = 0; i < KIVO_SHA256_SIZE; i++)
        d[i] = (unsigned char)(i * 8 + (i & 7));
    d[0] = 0x00;
    d[1] = 0xff;
    d[2] = 0x0a;
    d[3] = 0xa0;
    memset(text, 'X', sizeof text);
    kivo_hash_format(d, text);
    assert_int_equal(strlen(text), 71);
    assert_int_equal(KIVO_HASH_TEXT_SIZE, 72);
    assert_memory_equal(text, "sha256:00ff0aa0", 15);
    for (int i = 4; i < KIVO_SHA256_SIZE; i++) {
        static const char hex[] = "0123456789abcdef";
        assert_int_equal(text[7 + 2 * i], hex[d[i] >> 4]);
        assert_int_equal(text[8 + 2 * i], hex[d[i] & 15]);
    }
    assert_true(kivo_hash_text_valid(text, strlen(text)));
    /* Every byte value at every place, against printf's %02x. */
    for (int r = 0; r < 256; r++) {
        char want[KIVO_HASH_TEXT_SIZE] = "sha256:";
        for (int i = 0; i < KIVO_SHA256_SIZE; i++) {
            d[i] = (unsigned char)(r + 37 * i);
            snprintf(want + 7 + 2 * i, 3, "%02x", d[i]);
        }
        memset(text, 'X', sizeof text);
        kivo_hash_format(d, text);
        assert_string_equal(text, want);
    }
}

static void test_text_valid(void **state)
{
    (void)state;
    const char *good = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_true(kivo_hash_text_valid(good, strlen(good)));
    char s[100];
    /* Upper-case hex, a wrong prefix, a non-hex digit, one digit short or long, empty. */
    strcpy(s, good);
    s[10] = 'C';
    assert_false(kivo_hash_text_valid(s, strlen(s)));
    strcpy(s, good);
    s[0] = 'S';
    assert_false(kivo_hash_text_valid(s, strlen(s)));
    strcpy(s, good);
    s[6] = '=';
    assert_false(kivo_hash_text_valid(s, strlen(s)));
    strcpy(s, good);
    s[70] = 'g';
    assert_false(kivo_hash_text_valid(s, strlen(s)));
    assert_false(kivo_hash_text_valid(good, strlen(good) - 1));
    strcpy(s, good);
    strcat(s, "0");
    assert_false(kivo_hash_text_valid(s, strlen(s)));
    assert_false(kivo_hash_text_valid("", 0));
    assert_false(kivo_hash_text_valid("sha256:", 7));
    /* The length given counts, not the NUL. */
    strcpy(s, good);
    s[40] = '\0';
    assert_false(kivo_hash_text_valid(s, 71));
}

static void test_xxh3(void **state)
{
    (void)state;
    unsigned char buf[300 + 16];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 17 + 3);
    /* Same bytes at any alignment hash alike; one flipped bit changes the hash. XXH3 has
     * separate code paths at 0, 1-3, 4-8, 9-16, 17-128, 129-240 and >240 bytes. */
    static const size_t lens[] = {0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 300};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        unsigned char a[300], b[300 + 16];
        memcpy(a, buf, len);
        uint64_t h = kivo_hash_xxh3(a, len);
        for (size_t shift = 1; shift < 16; shift += 3) {
            memcpy(b + shift, buf, len);
            assert_true(kivo_hash_xxh3(b + shift, len) == h);
        }
        if (len > 0) {
            a[len - 1] ^= 1;
            assert_true(kivo_hash_xxh3(a, len) != h);
            a[len - 1] ^= 1;
            a[0] ^= 0x80;
            assert_true(kivo_hash_xxh3(a, len) != h);
        }
    }
    assert_true(kivo_hash_xxh3("refund", 6) != kivo_hash_xxh3("refunds", 7));
    assert_true(kivo_hash_xxh3("ab", 2) != kivo_hash_xxh3("ba", 2));
    assert_true(kivo_hash_xxh3("", 0) == kivo_hash_xxh3(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),       cmocka_unit_test(test_edges_against_evp),
        cmocka_unit_test(test_independent_hashers), cmocka_unit_test(test_format),
        cmocka_unit_test(test_text_valid),          cmocka_unit_test(test_xxh3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
