/*
 * test_outbox.c - the outbox's local guarantees: no raw field leaves at any depth, the state log
 * survives reopening and a torn last line, unsafe ids never reach a state line, its files are
 * created 0640 less the umask, and a link planted at any of them is refused, never followed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"
#include "kivo/wire.h"
#include "outbox.h"

static void expect_raw(const char *json, const char *want)
{
    const char *field = NULL, *use = NULL;
    int r = wk_event_raw_field_text(json, strlen(json), &field, &use);
    if (want) {
        assert_int_equal(r, 1);
        assert_string_equal(field, want);
        assert_non_null(use);
    } else {
        assert_int_equal(r, 0);
    }
}

static void test_raw_fields_any_depth(void **state)
{
    (void)state;
    expect_raw("{}", NULL);
    expect_raw("{\"event_id\":\"evt_1\",\"output_hash\":\"sha256:00\"}", NULL);
    /* A value that merely says a rejected name is not a field. */
    expect_raw("{\"note\":\"prompt\",\"a\":[\"messages\"]}", NULL);
    /* Near misses are allowed names. */
    expect_raw("{\"prompts\":1,\"Prompt\":2,\"source_tex\":3,\"prompt_version\":\"v1\"}", NULL);
    expect_raw("{\"ai_output\":\"x\"}", "ai_output");
    expect_raw("{\"a\":{\"b\":{\"prompt\":\"x\"}}}", "prompt");
    expect_raw("{\"a\":[1,{\"c\":[{\"source_text\":null}]}]}", "source_text");
    expect_raw("[{\"system_prompt\":\"\"}]", "system_prompt");
    expect_raw("{\"artifact_summaries\":[{\"tool_calls\":[]}]}", "tool_calls");
    expect_raw("{\"x\":{\"retrieved_context\":{}}}", "retrieved_context");
    for (size_t i = 0; kivo_wire_raw_fields[i].name; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"deep\":[[{\"k\":{\"%s\":0}}]]}",
                 kivo_wire_raw_fields[i].name);
        expect_raw(json, kivo_wire_raw_fields[i].name);
    }
    /* Escaped keys are compared unescaped. */
    expect_raw("{\"m\\u0065ssages\":[]}", "messages");
    assert_int_equal(wk_event_raw_field_text("{\"a\":", 5, NULL, NULL), -1);
}

static void test_state_roundtrip(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("outbox"), err[256], path[512];
    const char *rr = NULL;
    wk_outbox *ob;
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_a", &rr), WK_STATE_NONE);
    assert_null(rr);
    assert_int_equal(wk_outbox_note(ob, "evt_a", WK_STATE_CREATED, "rr_1"), 0);
    assert_int_equal(wk_outbox_note(ob, "evt_b", WK_STATE_CREATED, "rr_2"), 0);
    assert_int_equal(wk_outbox_unsynced(ob), 2);
    assert_int_equal(wk_outbox_sync(ob), 0);
    assert_int_equal(wk_outbox_unsynced(ob), 0);
    assert_int_equal(wk_outbox_note(ob, "evt_a", WK_STATE_SENT, "rr_1"), 0);
    /* Ids that could break a state line or a URL are refused. */
    assert_int_equal(wk_outbox_note(ob, "evt a", WK_STATE_SENT, NULL), -1);
    assert_int_equal(wk_outbox_note(ob, "evt_c", WK_STATE_SENT, "rr/../x"), -1);
    assert_int_equal(wk_outbox_close(ob), 0);

    /* A crash tore the last line: it was never durable, so it does not count. */
    snprintf(path, sizeof path, "%s/outbox.state", dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("evt_b sent rr_", f);
    fclose(f);

    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_a", &rr), WK_STATE_SENT);
    assert_string_equal(rr, "rr_1");
    assert_int_equal(wk_outbox_state(ob, "evt_b", &rr), WK_STATE_CREATED);
    assert_string_equal(rr, "rr_2");
    assert_int_equal(wk_outbox_state(ob, "evt_c", NULL), WK_STATE_NONE);
    /* The next state written after that crash is a line of its own, not the torn line's tail
     * (found by tests/fuzz/fuzz_outbox_state.c: "evt_b sent rr_evt_c dead -" lost evt_c). */
    assert_int_equal(wk_outbox_note(ob, "evt_c", WK_STATE_DEAD, NULL), 0);
    assert_int_equal(wk_outbox_close(ob), 0);
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_c", &rr), WK_STATE_DEAD);
    assert_null(rr);
    assert_int_equal(wk_outbox_state(ob, "evt_b", &rr), WK_STATE_CREATED);
    assert_string_equal(rr, "rr_2");
    /* Another MPI rank's run (mpi_ranks.h): noted elsewhere, read back as that. */
    assert_int_equal(wk_outbox_note(ob, "evt_f", WK_STATE_ELSEWHERE, NULL), 0);
    assert_int_equal(wk_outbox_close(ob), 0);
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_f", &rr), WK_STATE_ELSEWHERE);
    assert_null(rr);
    assert_int_equal(wk_outbox_close(ob), 0);

    /* A line whose review_run_id wk_outbox_note() would refuse (it goes into a URL path) is
     * skipped on load like any foreign line (found by fuzz_outbox_state). */
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("evt_b sent rr_\xb1\nevt_d sent ../../v1/x\nevt_e sent rr_5\n", f);
    fclose(f);
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_b", &rr), WK_STATE_CREATED);
    assert_string_equal(rr, "rr_2");
    assert_int_equal(wk_outbox_state(ob, "evt_d", NULL), WK_STATE_NONE);
    assert_int_equal(wk_outbox_state(ob, "evt_e", &rr), WK_STATE_SENT);
    assert_string_equal(rr, "rr_5");
    assert_int_equal(wk_outbox_close(ob), 0);
    kt_scratch_remove(dir);
}

static void test_many_states(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("outbox"), err[256], id[32], rr[32];
    wk_outbox *ob;
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "evt_%d", i);
        snprintf(rr, sizeof rr, "rr_%d", i);
        assert_int_equal(wk_outbox_note(ob, id, i % 3 ? WK_STATE_SENT : WK_STATE_CREATED, rr), 0);
    }
    assert_int_equal(wk_outbox_close(ob), 0);
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    for (int i = 0; i < 5000; i++) {
        const char *got;
        snprintf(id, sizeof id, "evt_%d", i);
        snprintf(rr, sizeof rr, "rr_%d", i);
        assert_int_equal(wk_outbox_state(ob, id, &got), i % 3 ? WK_STATE_SENT : WK_STATE_CREATED);
        assert_string_equal(got, rr);
    }
    assert_int_equal(wk_outbox_close(ob), 0);
    kt_scratch_remove(dir);
}

static void test_dead_letter_and_append(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("outbox"), err[256], path[512], line[1024];
    wk_outbox *ob;
    json_t *e = json_pack("{s:s, s:s}", "code", "schema_violation", "message", "bad");
    assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
    assert_int_equal(wk_outbox_dead(ob, "evt_x", "cust_1", "rr_9", 400, e), 0);
    assert_int_equal(wk_outbox_state(ob, "evt_x", NULL), WK_STATE_DEAD);
    assert_int_equal(wk_outbox_close(ob), 0);
    json_decref(e);
    snprintf(path, sizeof path, "%s/dead-letter.jsonl", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"http_status\":400"));
    assert_non_null(strstr(line, "\"code\":\"schema_violation\""));

    /* The same event appended twice is kept once. */
    const char *ev = "{\"event_id\":\"evt_s\",\"sequence\":1}";
    assert_int_equal(wk_outbox_append_event(dir, "evt_s", ev, strlen(ev)), 0);
    assert_int_equal(wk_outbox_append_event(dir, "evt_s", ev, strlen(ev)), 0);
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    assert_int_equal(lines, 1);
    kt_scratch_remove(dir);
}

static mode_t mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(lstat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* The outbox's files hold metadata only: 0640, less the umask. */
static void test_file_modes(void **state)
{
    (void)state;
    static const mode_t masks[] = {022, 077};
    for (size_t m = 0; m < 2; m++) {
        char *dir = kt_scratch_dir("outbox"), err[256];
        wk_outbox *ob;
        const char *ev = "{\"event_id\":\"evt_m\"}";
        wk_outbox_meta meta = {"wf", NULL, "internal", "strict", NULL, "store", "reports/wf"};
        mode_t old = umask(masks[m]);
        assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
        assert_int_equal(wk_outbox_dead(ob, "evt_m", "c", NULL, 400, NULL), 0);
        assert_int_equal(wk_outbox_close(ob), 0);
        assert_int_equal(wk_outbox_append_event(dir, "evt_m", ev, strlen(ev)), 0);
        assert_int_equal(wk_outbox_meta_write(dir, &meta), 0);
        umask(old);
        static const char *const names[] = {"outbox.state", "dead-letter.jsonl", "events.jsonl",
                                            "outbox.json", NULL};
        for (size_t i = 0; names[i]; i++)
            assert_int_equal(mode_of(dir, names[i]), 0640 & ~masks[m]);
        kt_scratch_remove(dir);
    }
}

/* A link at any outbox file: the call fails, the victim keeps its bytes, the link stays. */
static void test_links_refused(void **state)
{
    (void)state;
    char *dir = kt_scratch_dir("outbox"), *outside = kt_scratch_dir("outbox"), err[512],
         victim[512], link[512], back[64];
    static const char *const names[] = {"outbox.state", "dead-letter.jsonl", "events.jsonl",
                                        "outbox.json", NULL};
    snprintf(victim, sizeof victim, "%s/victim", outside);
    for (size_t i = 0; names[i]; i++) {
        wk_outbox *ob = NULL;
        wk_outbox_meta meta = {"wf", NULL, "internal", "strict", NULL, "store", "reports/wf"};
        const char *ev = "{\"event_id\":\"evt_l\"}";
        FILE *f = fopen(victim, "w");
        assert_non_null(f);
        fputs("precious\n", f);
        fclose(f);
        snprintf(link, sizeof link, "%s/%s", dir, names[i]);
        assert_int_equal(symlink(victim, link), 0);
        if (i == 0) {
            /* Opening the outbox reads and appends the state: refused, with its name. */
            assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), -1);
            assert_non_null(strstr(err, "outbox.state"));
            assert_non_null(strstr(err, "symbolic link"));
        } else if (i == 1) {
            assert_int_equal(wk_outbox_open(dir, &ob, err, sizeof err), 0);
            assert_int_equal(wk_outbox_dead(ob, "evt_l", "c", NULL, 400, NULL), -1);
            assert_int_equal(wk_outbox_close(ob), 0);
        } else if (i == 2) {
            assert_int_equal(wk_outbox_append_event(dir, "evt_l", ev, strlen(ev)), -1);
            assert_null(wk_outbox_events_read(dir));
            assert_int_equal(wk_outbox_sync_events(dir), -1);
        } else {
            assert_int_equal(wk_outbox_meta_write(dir, &meta), -1);
            assert_int_equal(wk_outbox_meta_read(dir, &meta, err, sizeof err), -1);
            assert_non_null(strstr(err, "symbolic link"));
        }
        f = fopen(victim, "r");
        assert_non_null(f);
        assert_non_null(fgets(back, sizeof back, f));
        assert_null(fgets(back + 9, sizeof back - 9, f));
        fclose(f);
        assert_string_equal(back, "precious\n");
        assert_true(readlink(link, back, sizeof back) > 0);
        assert_int_equal(unlink(link), 0);
    }
    kt_scratch_remove(dir);
    kt_scratch_remove(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_fields_any_depth), cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_many_states),          cmocka_unit_test(test_dead_letter_and_append),
        cmocka_unit_test(test_file_modes),           cmocka_unit_test(test_links_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
