/*
 * fuzz_compare_report.c - one stored claim report as `kivo-worker compare` reads it from a report
 * store it was pointed at (wk_cmp_read, with --group-by model,split): a folder from another
 * version, another machine or a hand edit, so its bytes are input from outside.
 *
 * Input: the report's bytes. They sit before an unreadable page, with the padding a store reader
 * gives (zeros), so a read past the promised padding faults.
 *
 * Checks: a report that is read has NUL-terminated, non-empty ids, a verdict and categories in
 * range, and every text compare writes into its JSON result (engine version, the policy line,
 * group values) is valid UTF-8 (jansson refuses anything else, and the value silently goes
 * missing from the result); flagged-claim hashes are sorted; a refused report says why.
 */
#include <string.h>

#include "compare.h"
#include "fuzz_util.h"
#include "groups.h"

static kivo_json_parser *parser;
static wk_groups *groups;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_cmp_run run;
    wk_store_report r;
    const char *why = NULL;
    char err[256];
    char *text;

    if (!parser) {
        FUZZ_CHECK(kivo_json_parser_create(64, &parser) == KIVO_OK);
        FUZZ_CHECK(wk_groups_create("model,split", NULL, &groups, err, sizeof err) == 0);
    }
    /* A store hands out reports with zeroed padding; the guarded copy's padding starts with a
     * line end, which reads the same to the parser. */
    text = fuzz_copy_guarded(data, size, KIVO_JSON_PADDING);
    r.data = text;
    r.len = size;
    r.where = "fuzz";
    memset(&run, 0, sizeof run);
    if (wk_cmp_read(parser, &r, groups, &run, &why) != 0) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
        wk_cmp_run_free(&run);
        return 0;
    }
    FUZZ_CHECK(run.workflow_id[0] && strlen(run.workflow_id) <= KIVO_RUN_ID_MAX);
    FUZZ_CHECK(run.run_id[0] && strlen(run.run_id) <= KIVO_RUN_ID_MAX);
    FUZZ_CHECK(run.verdict >= KIVO_VERDICT_PASS && run.verdict <= KIVO_VERDICT_FAIL);
    FUZZ_CHECK(run.categories >> KIVO_CAT_COUNT == 0);
    FUZZ_CHECK(run.label == WK_LABEL_NONE || run.label == WK_LABEL_FAITHFUL ||
               run.label == WK_LABEL_HALLUCINATED);
    FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)run.engine, run.engine_len));
    FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)run.policy, strlen(run.policy)));
    for (size_t k = 0; k < wk_groups_fields(groups); k++)
        FUZZ_CHECK(!run.group_value[k] ||
                   fuzz_utf8_valid((const uint8_t *)run.group_value[k], run.group_len[k]));
    for (size_t i = 1; i < run.n_flag; i++)
        FUZZ_CHECK(run.flag_hashes[i - 1] <= run.flag_hashes[i]);
    wk_cmp_run_free(&run);
    return 0;
}
