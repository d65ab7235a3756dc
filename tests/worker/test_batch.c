/*
 * test_batch.c - wk_batch_run() as a library call (batch.c): a batch that fails in the middle of
 * its rounds gives SIGINT and SIGTERM back as it found them (it catches them only while it runs),
 * as a finished one does.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "jobspec.h"
#include "scratch.h"

#define SPEC KIVO_TEST_DATA "/../../data/examples/job-spec.json"

/* 1 when sig's handler is the default one. */
static int is_default(int sig)
{
    struct sigaction sa;
    assert_int_equal(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler == SIG_DFL;
}

static void run(const char *out, wk_layout layout, kivo_status want)
{
    wk_jobspec spec;
    char err[1024];
    wk_summary sum;
    wk_batch_opts o = {.out_dir = out, .threads = 2, .layout = layout, .spec_path = SPEC};
    assert_int_equal(wk_jobspec_load(SPEC, &spec, err, sizeof err), 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    kivo_status st = wk_batch_run(&spec, &o, &sum, err, sizeof err);
    if (o.lock_fd >= 0)
        close(o.lock_fd);
    wk_jobspec_free(&spec);
    assert_int_equal(st, want);
    assert_true(is_default(SIGINT));
    assert_true(is_default(SIGTERM));
}

/* A report that cannot be written mid-run (per-run layout: a file where its folder goes) fails
 * the batch from inside its loop of rounds; the handlers were left installed before. */
static void test_failed_batch_restores_signals(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("batch");
    char out[4096], path[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(path, sizeof path, "%s/reports/support_answer_review", out);
    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(path, sizeof path, "%s/reports", out);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/reports/support_answer_review", out);
    assert_int_equal(mkdir(path, 0700), 0);
    kt_scratch_write(path, "sup-1125-004", "", 0);
    run(out, WK_LAYOUT_PER_RUN, KIVO_EIO);
    kt_scratch_remove(dir);
}

static void test_finished_batch_restores_signals(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("batch");
    char out[4096];
    snprintf(out, sizeof out, "%s/out", dir);
    run(out, WK_LAYOUT_V2, KIVO_OK);
    kt_scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_batch_restores_signals),
        cmocka_unit_test(test_finished_batch_restores_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
