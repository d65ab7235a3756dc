/*
 * consumer.c - a program outside Kivo that uses the installed libkivo, built by test_prefix.sh
 * with nothing but `pkg-config --cflags --libs kivo`. It reviews one small packet and prints
 * what a caller would use: the verdict, the claim count, the output's hash and the report's size.
 * Every public header is included, so each one must compile on its own terms (C11, -pedantic).
 */
#include <stdio.h>
#include <string.h>

#include <kivo/buf.h>
#include <kivo/hash.h>
#include <kivo/json.h>
#include <kivo/record.h>
#include <kivo/report.h>
#include <kivo/review.h>
#include <kivo/scan.h>
#include <kivo/status.h>

int main(void)
{
    static const char output[] = "Refunds are issued within 30 days. The store opens at 9am.";
    static const char text[] = "Refunds are issued within 14 days of the return. "
                               "The store opens at 9am on weekdays.";
    const kivo_source src = {.id = "doc-1",
                             .id_len = 5,
                             .title = "Refund policy",
                             .title_len = 13,
                             .text = text,
                             .text_len = sizeof text - 1};
    const kivo_packet packet = {.output = output,
                                .output_len = sizeof output - 1,
                                .sources = &src,
                                .n_sources = 1,
                                .strictness = KIVO_STRICT,
                                .intended_use = KIVO_USE_CUSTOMER_FACING};
    const kivo_run_meta meta = {.customer_run_id = "run-1",
                                .workflow_id = "consumer_test",
                                .worker_id = "consumer",
                                .worker_version = "consumer.1",
                                .strictness = KIVO_STRICT,
                                .intended_use = KIVO_USE_CUSTOMER_FACING};
    kivo_engine *engine = NULL;
    const kivo_review *review = NULL;
    kivo_buf report;
    kivo_status st;
    int code = 1;

    kivo_buf_init(&report, 1 << 20);
    st = kivo_engine_create(&engine);
    if (st != KIVO_OK)
        goto out;
    st = kivo_engine_review(engine, &packet, &review);
    if (st != KIVO_OK)
        goto out;
    st = kivo_report_render(&packet, review, &meta, &report);
    if (st != KIVO_OK)
        goto out;
    printf("verdict=%s claims=%zu unsupported=%zu output_hash=%s report_bytes=%zu engine=%s\n",
           kivo_verdict_name(review->gate_verdict), review->n_claims, review->unsupported_count,
           review->output_hash, report.len, KIVO_ENGINE_VERSION);
    code = 0;
out:
    if (st != KIVO_OK)
        fprintf(stderr, "consumer: %s\n", kivo_status_str(st));
    kivo_buf_free(&report);
    kivo_engine_free(engine);
    return code;
}
