/* test_token.c - kivo-api tokens: format, randomness, classification, digests, base64url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

static void generate_has_prefix_and_256_bits(void **state)
{
    char a[API_TOKEN_TEXT_MAX], b[API_TOKEN_TEXT_MAX];

    (void)state;
    assert_int_equal(api_token_generate(API_KEY_PREFIX, a), 0);
    assert_int_equal(api_token_generate(API_KEY_PREFIX, b), 0);
    assert_int_equal(strlen(a), 8 + 43); /* 32 bytes = 256 bits in 43 base64url chars */
    assert_memory_equal(a, "kivo_sk_", 8);
    assert_string_not_equal(a, b);
    assert_int_equal(api_token_classify(a, strlen(a)), API_TOKEN_KEY);
    assert_int_equal(api_token_generate(API_CRED_PREFIX, a), 0);
    assert_int_equal(api_token_classify(a, strlen(a)), API_TOKEN_CREDENTIAL);
    for (size_t i = 8; i < strlen(a); i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
}

static void classify_rejects_malformed(void **state)
{
    char t[API_TOKEN_TEXT_MAX];
    char long_tok[400];

    (void)state;
    assert_int_equal(api_token_generate(API_KEY_PREFIX, t), 0);
    assert_int_equal(api_token_classify(t, strlen(t) - 1), API_TOKEN_INVALID); /* 42 chars */
    assert_int_equal(api_token_classify("", 0), API_TOKEN_INVALID);
    t[20] = '+';
    assert_int_equal(api_token_classify(t, strlen(t)), API_TOKEN_INVALID);
    t[20] = 'A';
    t[0] = 'K';
    assert_int_equal(api_token_classify(t, strlen(t)), API_TOKEN_INVALID);
    memset(long_tok, 'A', sizeof long_tok);
    memcpy(long_tok, "kivo_sk_", 8);
    assert_int_equal(api_token_classify(long_tok, API_TOKEN_INPUT_MAX), API_TOKEN_KEY);
    assert_int_equal(api_token_classify(long_tok, API_TOKEN_INPUT_MAX + 1), API_TOKEN_INVALID);
}

static void digest_is_sha256(void **state)
{
    unsigned char d[API_DIGEST_SIZE], e[API_DIGEST_SIZE];
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    static const unsigned char abc[API_DIGEST_SIZE] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

    (void)state;
    assert_int_equal(api_token_digest("abc", 3, d), 0);
    assert_memory_equal(d, abc, API_DIGEST_SIZE);
    assert_true(api_token_digest_equal(d, abc));
    memcpy(e, d, sizeof e);
    e[31] ^= 1;
    assert_false(api_token_digest_equal(d, e));
}

static void base64url_round_trips(void **state)
{
    unsigned char in[40], back[40];
    char text[64];

    (void)state;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof in; len++) {
        size_t n = api_base64url_encode(in, len, text);
        assert_int_equal(n, (len * 4 + 2) / 3);
        assert_int_equal(api_base64url_decode(text, n, back, sizeof back), (long)len);
        assert_memory_equal(in, back, len);
    }
    assert_int_equal(api_base64url_decode("A", 1, back, sizeof back), -1);
    assert_int_equal(api_base64url_decode("AB=", 3, back, sizeof back), -1);
    /* "AB" leaves non-zero padding bits: only "AA".."AQ" style encodings are canonical. */
    assert_int_equal(api_base64url_decode("AB", 2, back, sizeof back), -1);
    assert_int_equal(api_base64url_decode("AAAA", 4, back, 2), -1);
}

static void run_ids(void **state)
{
    char id[API_RUN_ID_MAX], other[API_RUN_ID_MAX];

    (void)state;
    assert_int_equal(api_random_id("rr_", id, sizeof id), 0);
    assert_int_equal(api_random_id("rr_", other, sizeof other), 0);
    assert_int_equal(strlen(id), 3 + 32);
    assert_string_not_equal(id, other);
    assert_int_equal(api_random_id("rr_", id, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generate_has_prefix_and_256_bits),
        cmocka_unit_test(classify_rejects_malformed),
        cmocka_unit_test(digest_is_sha256),
        cmocka_unit_test(base64url_round_trips),
        cmocka_unit_test(run_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
