/*
 * test_bgqueue.c - bgqueue.c: jobs done in order on the queue's thread with the bytes pushed with
 * them, the pusher's buffer handed over and replaced, and the first failure stopping the queue
 * (later jobs dropped, every later push and wait returning its message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bgqueue.h"

#define JOBS 200

typedef struct seen {
    int n;          /* jobs done */
    int kind[JOBS]; /* in the order done */
    int64_t arg[JOBS];
    char text[JOBS][16]; /* each job's bytes */
    int fail_at;         /* the job (by arg) that fails, or -1 */
} seen;

static int record(void *ctx, int kind, int64_t arg, const kivo_buf *buf, char *err, size_t errlen)
{
    seen *s = ctx;
    if (arg == s->fail_at) {
        snprintf(err, errlen, "job %lld failed", (long long)arg);
        return -1;
    }
    if (s->n < JOBS) {
        s->kind[s->n] = kind;
        s->arg[s->n] = arg;
        snprintf(s->text[s->n], sizeof s->text[0], "%.*s", (int)buf->len,
                 buf->data ? buf->data : "");
    }
    s->n++;
    return 0;
}

static void test_in_order(void **state)
{
    (void)state;
    static seen s;
    char err[WK_BGQ_MSG_MAX];
    kivo_buf b;
    memset(&s, 0, sizeof s);
    s.fail_at = -1;
    kivo_buf_init(&b, 0);
    wk_bgq *q = wk_bgq_start(record, &s);
    assert_non_null(q);
    for (int i = 0; i < JOBS; i++) {
        if (i % 3 == 2) {
            assert_int_equal(wk_bgq_push(q, 7, i, NULL, err, sizeof err), 0);
            continue;
        }
        char t[16];
        snprintf(t, sizeof t, "bytes %d", i);
        assert_int_equal(kivo_buf_append_str(&b, t), KIVO_OK);
        assert_int_equal(wk_bgq_push(q, 1, i, &b, err, sizeof err), 0);
        assert_int_equal(b.len, 0); /* handed over: an empty spare in its place */
    }
    assert_int_equal(wk_bgq_wait(q, err, sizeof err), 0);
    assert_int_equal(s.n, JOBS);
    for (int i = 0; i < JOBS; i++) {
        char t[16];
        snprintf(t, sizeof t, "bytes %d", i);
        assert_int_equal(s.arg[i], i);
        assert_int_equal(s.kind[i], i % 3 == 2 ? 7 : 1);
        assert_string_equal(s.text[i], i % 3 == 2 ? "" : t);
    }
    wk_bgq_stop(q);
    kivo_buf_free(&b);
}

static void test_first_failure_stops(void **state)
{
    (void)state;
    static seen s;
    char err[WK_BGQ_MSG_MAX] = "";
    kivo_buf b;
    memset(&s, 0, sizeof s);
    s.fail_at = 5;
    kivo_buf_init(&b, 0);
    wk_bgq *q = wk_bgq_start(record, &s);
    assert_non_null(q);
    int refused = -1;
    for (int i = 0; i < JOBS && refused < 0; i++) {
        assert_int_equal(kivo_buf_append_str(&b, "x"), KIVO_OK);
        if (wk_bgq_push(q, 1, i, &b, err, sizeof err) != 0)
            refused = i;
    }
    /* Refused at some push after job 5 (when the thread got to it), or the wait says so. */
    assert_true(refused < 0 || refused > 5);
    err[0] = '\0';
    assert_int_equal(wk_bgq_wait(q, err, sizeof err), -1);
    assert_string_equal(err, "job 5 failed");
    assert_int_equal(s.n, 5); /* jobs 0..4 done, none after the failed one */
    assert_int_equal(wk_bgq_push(q, 1, 999, NULL, err, sizeof err), -1);
    assert_string_equal(err, "job 5 failed");
    wk_bgq_stop(q);
    assert_int_equal(s.n, 5);
    kivo_buf_free(&b);
}

static void test_stop_does_the_queued(void **state)
{
    (void)state;
    static seen s;
    char err[WK_BGQ_MSG_MAX];
    memset(&s, 0, sizeof s);
    s.fail_at = -1;
    wk_bgq *q = wk_bgq_start(record, &s);
    assert_non_null(q);
    for (int i = 0; i < 10; i++)
        assert_int_equal(wk_bgq_push(q, 2, i, NULL, err, sizeof err), 0);
    wk_bgq_stop(q);
    assert_int_equal(s.n, 10);
    wk_bgq_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_first_failure_stops),
        cmocka_unit_test(test_stop_does_the_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
