/*
 * test_readmemo.c - the sentence layer's readings kept across reviews (src/engine/readmemo.c).
 *
 * The memo itself: a kept sentence is found by its bytes only, with its tokens, annotations and
 * reading; a full arena empties and fills again; a sentence too big for it is not kept. Then the
 * engine with it: packets whose window sentences come back in later packets, reviewed by an
 * engine with the memo and by one without (KIVO_ENGINE_MEMO=0), must render the same report
 * bytes, and the memo must have been used (else this test could not fail).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/report.h"
#include "kivo/review.h"
#include "readmemo_int.h"

/* A reading of n made-up tokens of text, annotations numbered from seed. */
static void made_up(size_t n, unsigned seed, kv_token *t, kv_ann *a, kv_reading *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].h = seed * 1000003u + i;
        t[i].start = (uint32_t)i;
        t[i].end = (uint32_t)i + 1;
        memset(&a[i], 0, sizeof a[i]);
        a[i].cue = seed + (uint32_t)i;
        a[i].clause = (uint8_t)(i % 3);
    }
    r->a = a;
    r->n = n;
    r->n_clauses = 3;
    r->clause_neg[1] = (uint8_t)(seed & 1);
    r->modal[2] = (uint8_t)(seed % 5);
}

static void test_find_what_was_put(void **state)
{
    (void)state;
    kv_readmemo *m = kv_readmemo_create(64 * 1024);
    assert_non_null(m);
    kv_token t[8];
    kv_ann a[8];
    kv_reading r;
    kv_readmemo_hit hit;
    made_up(8, 7, t, a, &r);
    assert_int_equal(kv_readmemo_find(m, "Refunds take 5 days.", 20, &hit), 0);
    kv_readmemo_put(m, "Refunds take 5 days.", 20, t, 8, &r);
    assert_int_equal(kv_readmemo_find(m, "Refunds take 5 days.", 20, &hit), 1);
    assert_int_equal(hit.n, 8);
    assert_memory_equal(hit.t, t, sizeof t);
    assert_memory_equal(hit.a, a, sizeof a);
    assert_int_equal(hit.r->n_clauses, 3);
    assert_int_equal(hit.r->clause_neg[1], 1);
    assert_int_equal(hit.r->modal[2], 2);
    assert_null(hit.r->a);
    /* Other bytes, a prefix, one byte more: not found. */
    assert_int_equal(kv_readmemo_find(m, "Refunds take 6 days.", 20, &hit), 0);
    assert_int_equal(kv_readmemo_find(m, "Refunds take 5 days", 19, &hit), 0);
    assert_int_equal(kv_readmemo_find(m, "Refunds take 5 days.!", 21, &hit), 0);
    /* An empty sentence is a sentence too. */
    kv_readmemo_put(m, "", 0, t, 0, &r);
    assert_int_equal(kv_readmemo_find(m, "", 0, &hit), 1);
    assert_int_equal(hit.n, 0);
    kv_readmemo_free(m);
}

static void test_full_arena_empties(void **state)
{
    (void)state;
    kv_readmemo *m = kv_readmemo_create(4096);
    assert_non_null(m);
    kv_token t[4];
    kv_ann a[4];
    kv_reading r;
    kv_readmemo_hit hit;
    char text[32];
    /* Far more sentences than 4 KiB holds: every one is found right after it is put, and the
     * first is gone once the arena has emptied. */
    for (unsigned k = 0; k < 200; k++) {
        made_up(4, k, t, a, &r);
        int len = snprintf(text, sizeof text, "sentence number %u.", k);
        kv_readmemo_put(m, text, (size_t)len, t, 4, &r);
        assert_int_equal(kv_readmemo_find(m, text, (size_t)len, &hit), 1);
        assert_int_equal(hit.t[0].h, t[0].h);
        assert_int_equal(hit.a[3].cue, a[3].cue);
    }
    assert_int_equal(kv_readmemo_find(m, "sentence number 0.", 18, &hit), 0);
    /* A sentence of more than an eighth of the arena is not kept. */
    static char big[1024];
    memset(big, 'x', sizeof big);
    made_up(1, 1, t, a, &r);
    kv_readmemo_put(m, big, sizeof big, t, 1, &r);
    assert_int_equal(kv_readmemo_find(m, big, sizeof big, &hit), 0);
    kv_readmemo_free(m);
}

/* Source sentences and claims that the sentence layer's rules read: negations, modals,
 * quantifiers, exceptions, "unless", numbers, opposites, roles. */
static const char *const source_sents[] = {
    "Refunds are not available for gift cards.",
    "Customers may return unused items within 30 days.",
    "All orders over $75 ship free with standard shipping.",
    "Opened units are refunded minus a 10% restocking fee, unless the unit is defective.",
    "The warranty covers every part except the battery.",
    "Prices increased by 5% in March.",
    "Employees must wear a badge at all times.",
    "The store opens at 9 am and closes at 6 pm on weekdays.",
    "Acme acquired Globex in 2019.",
    "Returns are never accepted after 60 days.",
    "Some accessories are sold separately.",
    "The device does not support 5 GHz networks.",
    "Shipping to Canada is free; other customers pay their own return shipping.",
    "Only members can book the lounge.",
    "The battery lasts up to 12 hours.",
    "Orders placed before noon ship the same day.",
};
static const char *const claims[] = {
    "Refunds are available for gift cards.", "Customers must return unused items within 30 days.",
    "Some orders over $75 ship free.",       "Opened units are refunded in full.",
    "The warranty covers the battery.",      "Prices decreased by 5% in March.",
    "Employees may wear a badge.",           "The store opens at 9 am on weekdays.",
    "Globex acquired Acme in 2019.",         "Returns are accepted after 60 days.",
    "All accessories are included.",         "The device supports 5 GHz networks.",
    "Shipping to Canada is free.",           "Anyone can book the lounge.",
    "The battery lasts 20 hours.",           "Orders placed before noon ship the next day.",
};
#define N_SENTS (sizeof source_sents / sizeof *source_sents)
#define N_CLAIMS (sizeof claims / sizeof *claims)

/* Packet k: three claims and two sources of four sentences, picked by a fixed generator. */
static void packet_text(unsigned k, char *out, size_t out_cap, char *src1, char *src2, size_t cap)
{
    uint32_t x = 2463534242u ^ (k * 2654435761u);
#define NEXT() (x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
    out[0] = src1[0] = src2[0] = '\0';
    for (int i = 0; i < 3; i++) {
        strncat(out, claims[NEXT() % N_CLAIMS], out_cap - strlen(out) - 2);
        strncat(out, " ", out_cap - strlen(out) - 1);
    }
    for (int i = 0; i < 4; i++) {
        strncat(src1, source_sents[NEXT() % N_SENTS], cap - strlen(src1) - 2);
        strncat(src1, i == 1 ? "\n\n" : " ", cap - strlen(src1) - 1);
        strncat(src2, source_sents[NEXT() % N_SENTS], cap - strlen(src2) - 2);
        strncat(src2, " ", cap - strlen(src2) - 1);
    }
#undef NEXT
}

static void render(kivo_engine *e, unsigned k, kivo_buf *b)
{
    char out[512], s1[512], s2[512];
    packet_text(k, out, sizeof out, s1, s2, sizeof s1);
    kivo_source src[2] = {{"kb-1", 4, NULL, 0, s1, strlen(s1)},
                          {"kb-2", 4, NULL, 0, s2, strlen(s2)}};
    kivo_packet p = {out, strlen(out), src, 2, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING};
    const kivo_review *r = NULL;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    kivo_run_meta meta = {
        NULL, "run-1", "wf", "w1", "test", NULL, NULL, KIVO_STRICT, KIVO_USE_CUSTOMER_FACING, NULL};
    assert_int_equal(kivo_report_render(&p, r, &meta, b), KIVO_OK);
}

static void test_same_reports_with_and_without(void **state)
{
    (void)state;
    kivo_engine *with = NULL, *without = NULL;
    unsetenv("KIVO_ENGINE_MEMO");
    assert_int_equal(kivo_engine_create(&with), KIVO_OK);
    setenv("KIVO_ENGINE_MEMO", "0", 1);
    assert_int_equal(kivo_engine_create(&without), KIVO_OK);
    unsetenv("KIVO_ENGINE_MEMO");
    size_t differ = 0;
    kivo_buf a, b;
    for (unsigned k = 0; k < 300; k++) {
        kivo_buf_init(&a, 0);
        kivo_buf_init(&b, 0);
        render(with, k, &a);
        render(without, k, &b);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
            if (differ++ == 0)
                fprintf(stderr, "packet %u differs:\n%.*s\n%.*s\n", k, (int)a.len, a.data,
                        (int)b.len, b.data);
        }
        kivo_buf_free(&a);
        kivo_buf_free(&b);
    }
    assert_int_equal(differ, 0);
    /* The memo was read: most window sentences of later packets were kept from earlier ones. */
    size_t hits = 0, misses = 0;
    kv_readmemo_stats(kv_engine_readmemo(with), &hits, &misses);
    assert_true(hits > 10 * misses);
    kv_readmemo_stats(kv_engine_readmemo(without), &hits, &misses);
    assert_int_equal(hits + misses, 0);
    kivo_engine_free(with);
    kivo_engine_free(without);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_what_was_put),
        cmocka_unit_test(test_full_arena_empties),
        cmocka_unit_test(test_same_reports_with_and_without),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
