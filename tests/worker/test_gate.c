/*
 * test_gate.c - --fail-on (gate.c): the grammar (names, the six operators, white space, commas),
 * the messages of bad conditions, and evaluation: true, false, several at once, undefined values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gate.h"

static wk_metric metrics[] = {
    {"fail_rate", 0.03, "no run was reviewed"},
    {"p", 0.5, "no runs were paired"},
    {"new_fail", 0, ""},
    {"f1", NAN, "the job spec has no fields.label"},
};
#define N (sizeof metrics / sizeof metrics[0])

static size_t eval(const char *expr, char *msg, size_t len)
{
    wk_gate *g;
    char err[512];
    if (wk_gate_parse(expr, metrics, N, &g, err, sizeof err) != 0)
        fail_msg("%s: %s", expr, err);
    size_t n = wk_gate_eval(g, metrics, N, msg, len);
    wk_gate_free(g);
    return n;
}

static void test_operators(void **state)
{
    (void)state;
    char msg[512];
    static const struct {
        const char *expr;
        size_t tripped;
    } cases[] = {
        {"fail_rate>0.02", 1},
        {"fail_rate>0.03", 0},
        {"fail_rate>=0.03", 1},
        {"fail_rate<0.03", 0},
        {"fail_rate<=0.03", 1},
        {"fail_rate==0.03", 1},
        {"fail_rate!=0.03", 0},
        {"new_fail>0", 0},
        {"new_fail==0", 1},
        {"p<0.05", 0},
        {"p<1e-1", 0},
        {"p>-1", 1},
        {" fail_rate > 0.02 , p < 0.6 ", 2},
        {"new_fail>0,p<0.05", 0},
        {"fail_rate>0.5,p<0.6,new_fail>=0", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = eval(cases[i].expr, msg, sizeof msg);
        if (n != cases[i].tripped)
            fail_msg("%s: %zu tripped, want %zu (%s)", cases[i].expr, n, cases[i].tripped, msg);
    }
}

static void test_messages(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(eval("fail_rate>0.02", msg, sizeof msg), 1);
    assert_string_equal(msg, "fail_rate>0.02 (fail_rate = 0.03)");
    assert_int_equal(eval("fail_rate > 0.02, p<0.6", msg, sizeof msg), 2);
    assert_string_equal(msg, "fail_rate>0.02 (fail_rate = 0.03)\np<0.6 (p = 0.5)");
    /* Undefined fails its condition, whichever way it points, and says why. */
    assert_int_equal(eval("f1<0.5", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "f1 is undefined"));
    assert_non_null(strstr(msg, "fields.label"));
    assert_int_equal(eval("f1>0.5", msg, sizeof msg), 1);
    /* A message that does not fit is cut, never overrun. */
    char small[8];
    assert_int_equal(eval("fail_rate>0.02,p<0.6", small, sizeof small), 2);
    assert_true(strlen(small) < sizeof small);
}

static void test_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {"",
                                      "fail_rate",
                                      "fail_rate>",
                                      ">0.1",
                                      "bogus>1",
                                      "fail_rate=0.1",
                                      "fail_rate=>0.1",
                                      "fail_rate>0.1x",
                                      "fail_rate>abc",
                                      "fail_rate>0.1,",
                                      "fail_rate>>1",
                                      "fail_rate>nan",
                                      "fail_rate>inf",
                                      "p<0.05;rm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wk_gate *g = NULL;
        char err[512] = "";
        if (wk_gate_parse(bad[i], metrics, N, &g, err, sizeof err) == 0)
            fail_msg("\"%s\" parsed", bad[i]);
        assert_null(g);
        assert_non_null(strstr(err, "--fail-on"));
    }
    wk_gate *g;
    char err[512];
    assert_int_not_equal(wk_gate_parse("bogus>1", metrics, N, &g, err, sizeof err), 0);
    assert_non_null(strstr(err, "unknown metric \"bogus\""));
    assert_non_null(strstr(err, "fail_rate, p, new_fail, f1"));
    /* At most WK_GATE_MAX conditions. */
    char many[64 * (WK_GATE_MAX + 1)] = "";
    for (int i = 0; i <= WK_GATE_MAX; i++)
        strcat(many, i ? ",p<1" : "p<1");
    assert_int_not_equal(wk_gate_parse(many, metrics, N, &g, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
