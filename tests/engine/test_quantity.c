/*
 * test_quantity.c - numbers read in context (quantity.c, through kv_tokenize): scale words and
 * money suffixes, times of day, dates in words and in ISO form, days that continue a date, and
 * the citations, labels and ratings that are no quantities.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quantity_int.h"
#include "test_lexicon_fixture.h"
#include "text_int.h"

/* The first token of text whose text is w. */
static kv_token token_of(kv_lexicon *lx, const char *text, const char *w)
{
    kv_tokens t = {0};
    assert_int_equal(kv_tokenize(lx, text, strlen(text), &t), KIVO_OK);
    size_t n = strlen(w);
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].end - t.v[i].start == n && memcmp(text + t.v[i].start, w, n) == 0) {
            kv_token r = t.v[i];
            kv_tokens_free(&t);
            return r;
        }
    }
    kv_tokens_free(&t);
    fail_msg("no token \"%s\" in \"%s\"", w, text);
    return (kv_token){0};
}

/* Token a of text x and token b of text y match (same kind and hash). */
static void same(kv_lexicon *lx, const char *x, const char *a, const char *y, const char *b)
{
    kv_token p = token_of(lx, x, a), q = token_of(lx, y, b);
    if (p.h != q.h || p.kind != q.kind)
        fail_msg("\"%s\" in \"%s\" should match \"%s\" in \"%s\"", a, x, b, y);
}

static void differ(kv_lexicon *lx, const char *x, const char *a, const char *y, const char *b)
{
    if (token_of(lx, x, a).h == token_of(lx, y, b).h)
        fail_msg("\"%s\" in \"%s\" should not match \"%s\" in \"%s\"", a, x, b, y);
}

/* Token w of text is the number v, in value and hash, and not a date or a code. */
static void value(kv_lexicon *lx, const char *text, const char *w, double v)
{
    kv_token t = token_of(lx, text, w);
    if (t.kind != KV_TOK_NUMBER || t.value != v || t.h != kv_number_hash(v) ||
        (t.flags & KV_TF_CODE))
        fail_msg("\"%s\" in \"%s\": kind %d value %g, want the number %g", w, text, t.kind, t.value,
                 v);
}

static void kind(kv_lexicon *lx, const char *text, const char *w, int k)
{
    kv_token t = token_of(lx, text, w);
    if (t.kind != k)
        fail_msg("\"%s\" in \"%s\": kind %d, want %d", w, text, t.kind, k);
}

static void test_scale_words(void **state)
{
    kv_lexicon *lx = *state;
    value(lx, "revenue of 1.5 million", "1.5", 1.5e6);
    kind(lx, "revenue of 1.5 million", "million", KV_TOK_STOP);
    same(lx, "revenue of $1.5 million", "1.5", "revenue of 1,500,000 dollars", "1,500,000");
    value(lx, "two hundred thousand people", "two", 2e5);
    value(lx, "3 billion", "3", 3e9);
    value(lx, "a 2-trillion economy", "2", 2e12);
    /* Without a number before it, a scale word is the number itself, as before. */
    value(lx, "a million people", "million", 1e6);
    /* Not across other words or punctuation. */
    value(lx, "in 2020, thousands left", "2020", 2020);
    value(lx, "page 3 hundred", "hundred", 100);
}

static void test_money_suffixes(void **state)
{
    kv_lexicon *lx = *state;
    value(lx, "raised $1.5M", "1.5M", 1.5e6);
    value(lx,
          "a \xE2\x82\xAC"
          "20k budget",
          "20k", 2e4);
    value(lx,
          "a \xC2\xA3"
          "3bn deal",
          "3bn", 3e9);
    value(lx, "a 3bn deal", "3bn", 3e9);
    value(lx, "cost $2b", "2b", 2e9);
    /* Without a currency, k and m may be units: a code word, as before. */
    kv_token t = token_of(lx, "ran the 10k race", "10k");
    assert_int_equal(t.kind, KV_TOK_WORD);
    assert_true(t.flags & KV_TF_CODE);
    assert_int_equal(token_of(lx, "a 5m drop", "5m").kind, KV_TOK_WORD);
}

static void test_times(void **state)
{
    kv_lexicon *lx = *state;
    value(lx, "opens at 2 pm", "2", 14);
    value(lx, "opens at 2 p.m. daily", "2", 14);
    kind(lx, "opens at 2 p.m. daily", "p", KV_TOK_STOP);
    value(lx, "opens at 2pm", "2pm", 14);
    value(lx, "opens at 2PM", "2PM", 14);
    value(lx, "opens at 9am", "9am", 9);
    value(lx, "opens at 12am", "12am", 0);
    value(lx, "closes at 12pm", "12pm", 12);
    /* The hour before a colon, not the minutes. */
    value(lx, "closes at 7:30 PM", "7", 19);
    value(lx, "closes at 7:30 PM", "30", 30);
    value(lx, "closes at 7:30pm", "7", 19);
    value(lx, "closes at 7:30pm", "30pm", 30);
    value(lx, "closes at 9:00 pm", "9", 21);
    value(lx, "closes at 9:00pm", "9", 21);
    same(lx, "opens at 18:00", "18", "opens at 6 pm", "6");
    value(lx, "at 9 a.m.", "9", 9);
    same(lx, "from 6 p.m.", "6", "until 18:00", "18");
}

static void test_dates(void **state)
{
    kv_lexicon *lx = *state;
    const char *src = "The meeting was held on March 5, 2024 in Berlin at 6 p.m. with 6 guests.";
    /* The day of a month is not the bare number. */
    differ(lx, src, "5", "in 5 cities", "5");
    differ(lx, "on March 6, 2024", "6", "with 6 guests", "6");
    differ(lx, "on March 6", "6", src, "5");
    assert_int_equal(token_of(lx, "on March 6", "6").kind, KV_TOK_NUMBER);
    /* One day, however it is written. */
    same(lx, src, "5", "on 5 March 2024", "5");
    same(lx, src, "5", "on the 5th of March", "5th");
    same(lx, src, "5", "on Mar. 5", "5");
    same(lx, src, "5", "on March 5th", "5th");
    same(lx, src, "5", "on 2024-03-05", "05");
    same(lx, src, "March", "on 2024-03-05", "03");
    same(lx, src, "2024", "on 2024-03-05", "2024");
    same(lx, "Sept 9", "9", "September 9", "9");
    differ(lx, "April 5", "5", "March 5", "5");
    /* May is a month with a capital and a number after it; else a function word. */
    differ(lx, "on May 5", "5", "on March 5", "5");
    kind(lx, "it may rain", "may", KV_TOK_STOP);
    /* Not a date: a month with no day, a day-sized number that is a year or a count. */
    value(lx, "in March 2024", "2024", 2024);
    value(lx, "March saw 45 arrests", "45", 45);
    value(lx, "the march was 5 miles", "5", 5);
    /* Not ISO when it goes on: a phone number or a code. */
    value(lx, "call 2024-03-05-17", "05", 5);
    value(lx, "from 2024-13-05", "05", 5);
}

/* A day before a month, for every month in full and by three letters ("5 Oct", "5th of June"):
 * the tokenizer's entry test (quantity_int.h) lets a capitalised word after a number in only
 * when it may name a month, so each month's capital must pass it. */
static void test_day_before_every_month(void **state)
{
    kv_lexicon *lx = *state;
    static const char *const names[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};
    char a[64], b[64], c[64], d[64];
    for (int m = 0; m < 12; m++) {
        snprintf(a, sizeof a, "on %s 7", names[m]);
        snprintf(b, sizeof b, "on 7 %s", names[m]);
        snprintf(c, sizeof c, "on 7 %.3s.", names[m]);
        snprintf(d, sizeof d, "the 7th of %s", names[m]);
        same(lx, a, "7", b, "7");
        same(lx, a, "7", c, "7");
        same(lx, a, "7", d, "7th");
        differ(lx, a, "7", "on 7 Mondays", "7");
    }
    same(lx, "on September 7", "7", "on 7 Sept", "7");
}

static void test_days_continue_a_date(void **state)
{
    kv_lexicon *lx = *state;
    same(lx, "during National Park Week (April 18-26)", "26", "until April 26", "26");
    same(lx, "on Aug 18 and 19", "19", "on August 19", "19");
    same(lx, "on March 3, 4 and 5", "4", "on March 4", "4");
    same(lx, "from March 3 to 7", "7", "on March 7", "7");
    same(lx, "from March 3 \xE2\x80\x93 7", "7", "on March 7", "7");
    value(lx, "on Aug 18 we met 19 people", "19", 19);
}

static void test_not_quantities(void **state)
{
    kv_lexicon *lx = *state;
    /* Citation markers. */
    kind(lx, "ships free [1].", "1", KV_TOK_STOP);
    kind(lx, "within 30 days [2][3].", "3", KV_TOK_STOP);
    kind(lx, "within 30 days [1, 4-6].", "4", KV_TOK_STOP);
    kind(lx, "[7] Ships free.", "7", KV_TOK_STOP);
    kind(lx, "within 30 days.^12", "12", KV_TOK_STOP);
    kind(lx,
         "within 30 days\xE3\x80\x90"
         "2\xE2\x80\xA0source\xE3\x80\x91.",
         "2", KV_TOK_STOP);
    kind(lx, "according to [Doc 1]", "1", KV_TOK_STOP);
    value(lx, "within 30 days [2].", "30", 30);
    value(lx, "costs [about 5] dollars", "5", 5);
    value(lx, "a 3-5 day trip", "5", 5);
    kind(lx, "as passage 2 says", "2", KV_TOK_STOP);
    kind(lx, "Step 6: rinse", "6", KV_TOK_STOP);
    kind(lx, "rated 4.5 out of 5", "5", KV_TOK_STOP);
    value(lx, "rated 4.5 out of 5", "4.5", 4.5);
}

/* A long list of numbers (a table flattened into a source): every one a quantity, none a
 * citation, and read in one pass (the citation check looks a few bytes around each number; a
 * search to the list's ends made this quadratic: minutes for a megabyte). */
static void test_long_number_list(void **state)
{
    kv_lexicon *lx = *state;
    enum { N = 100000 };
    char *text = malloc((size_t)N * 8 + 2);
    assert_non_null(text);
    size_t k = 0;
    for (int i = 0; i < N; i++)
        k += (size_t)sprintf(text + k, i ? ", %d" : "[%d", i % 997 + 1);
    text[k++] = ']';
    kv_tokens t = {0};
    assert_int_equal(kv_tokenize(lx, text, k, &t), KIVO_OK);
    assert_int_equal(t.n, N);
    for (size_t i = 0; i < t.n; i++) {
        /* Only the first and last numbers sit near a bracket. */
        int near_bracket = i < 3 || i + 3 >= t.n;
        if (!near_bracket && t.v[i].kind != KV_TOK_NUMBER)
            fail_msg("number %zu of the list is kind %d", i, t.v[i].kind);
    }
    kv_tokens_free(&t);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scale_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_money_suffixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_before_every_month, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_days_continue_a_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_quantities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_number_list, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
