/*
 * test_explain.c - the engine's debug view (kivo/explain.h): every claim names the rule that
 * decided it, explain mode adds one detail line per claim, and the claim report is the same bytes
 * with explain on or off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/explain.h"
#include "kivo/report.h"
#include "kivo/review.h"

static const char policy[] =
    "Customers may request a full refund within 30 days of the delivery date. Digital downloads "
    "and gift cards are not refundable. Standard shipping costs $4.99 and takes 3 to 5 business "
    "days. We ship to the United States and Canada.";

static const char *const outputs[] = {
    "You can get a full refund within 30 days of delivery. Hope this helps!",
    "Standard shipping costs $6.99.",
    "We ship to the United States, Canada and Australia.",
    "Refunds are processed by a dedicated team of agents in our warehouse.",
    "",
};

static kivo_packet packet(const char *output, const kivo_source *s, size_t n)
{
    kivo_packet p = {output, strlen(output), s, n, KIVO_STANDARD, KIVO_USE_EVALUATION};
    return p;
}

static void render(kivo_engine *e, const kivo_packet *p, kivo_buf *out)
{
    const kivo_review *r = NULL;
    kivo_run_meta meta = {
        NULL, "run-1", "wf", "worker", "test", NULL, NULL, KIVO_STANDARD, KIVO_USE_EVALUATION,
        NULL};
    assert_int_equal(kivo_engine_review(e, p, &r), KIVO_OK);
    assert_int_equal(kivo_report_render(p, r, &meta, out), KIVO_OK);
}

static void test_report_bytes_do_not_change(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    kivo_source s = {"kb", 2, NULL, 0, policy, strlen(policy)};
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        for (size_t n = 0; n <= 1; n++) {
            kivo_packet p = packet(outputs[i], &s, n);
            kivo_buf off, on;
            kivo_buf_init(&off, 0);
            kivo_buf_init(&on, 0);
            kivo_engine_set_explain(e, 0);
            render(e, &p, &off);
            kivo_engine_set_explain(e, 1);
            render(e, &p, &on);
            assert_int_equal(off.len, on.len);
            assert_memory_equal(off.data, on.data, off.len);
            kivo_buf_free(&off);
            kivo_buf_free(&on);
        }
    }
    kivo_engine_free(e);
}

static void test_rules_and_lines(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    const kivo_review *r = NULL;
    kivo_source s = {"kb", 2, NULL, 0, policy, strlen(policy)};
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    static const kivo_rule want[] = {KIVO_RULE_COVERAGE, KIVO_RULE_NUMBER_CONFLICT,
                                     KIVO_RULE_NAME_MISSING, KIVO_RULE_COVERAGE};
    /* Off: rules are set, lines are empty. */
    for (int on = 0; on <= 1; on++) {
        kivo_engine_set_explain(e, on);
        for (size_t i = 0; i < 4; i++) {
            kivo_packet p = packet(outputs[i], &s, 1);
            assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
            assert_int_equal(r->n_claims, 1);
            assert_int_equal(r->claims[0].rule, want[i]);
            const char *line = kivo_engine_explain(e, 0);
            if (on)
                assert_non_null(strstr(line, "coverage "));
            else
                assert_string_equal(line, "");
            assert_string_equal(kivo_engine_explain(e, 1), "");
        }
    }
    /* The missing number is named in the line. */
    kivo_packet p = packet(outputs[1], &s, 1);
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_non_null(strstr(kivo_engine_explain(e, 0), "6.99"));
    /* No sources: no rule ran. */
    p = packet(outputs[0], &s, 0);
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->claims[0].rule, KIVO_RULE_NONE);
    kivo_engine_free(e);
}

static void test_rule_names(void **state)
{
    (void)state;
    assert_string_equal(kivo_rule_name(KIVO_RULE_COVERAGE), "coverage");
    assert_string_equal(kivo_rule_name(KIVO_RULE_OPPOSITE), "opposite");
    assert_string_equal(kivo_rule_name(KIVO_RULE_COUNT), "unknown");
    for (int r = 0; r < KIVO_RULE_COUNT; r++) {
        const char *n = kivo_rule_name((kivo_rule)r);
        assert_true(strlen(n) > 0);
        for (int q = 0; q < r; q++)
            assert_string_not_equal(n, kivo_rule_name((kivo_rule)q));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_bytes_do_not_change),
        cmocka_unit_test(test_rules_and_lines),
        cmocka_unit_test(test_rule_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
