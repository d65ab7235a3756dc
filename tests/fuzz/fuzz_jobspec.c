/*
 * fuzz_jobspec.c - a job spec file (kivo_worker_job_spec.v1) through wk_jobspec_load, as
 * `kivo-worker batch` and `run` read it: the input is written to a scratch file and loaded.
 *
 * Checks: a refused spec says why; an accepted one holds what the batch relies on (a workflow id,
 * at least one input, pointers a record reader takes, a line limit in range, a report path).
 */
#include <string.h>

#include "fuzz_util.h"
#include "jobspec.h"
#include "kivo/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4400], err[512];
    wk_jobspec spec;
    kivo_record_reader *reader = NULL;

    snprintf(path, sizeof path, "%s/job.json", fuzz_scratch_write("job.json", data, size));
    if (wk_jobspec_load(path, &spec, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(spec.workflow_id && spec.workflow_id[0] && spec.worker_id && spec.worker_id[0]);
    FUZZ_CHECK(spec.n_inputs > 0);
    for (size_t i = 0; i < spec.n_inputs; i++)
        FUZZ_CHECK(spec.inputs[i] != NULL);
    FUZZ_CHECK(spec.strictness >= KIVO_STRICT && spec.strictness <= KIVO_LENIENT);
    FUZZ_CHECK(spec.intended_use >= KIVO_USE_CUSTOMER_FACING &&
               spec.intended_use <= KIVO_USE_EVALUATION);
    FUZZ_CHECK(spec.max_line_bytes > 0);
    FUZZ_CHECK(spec.report_path && spec.report_path[0] && spec.report_label);
    FUZZ_CHECK(kivo_record_reader_create(&spec.fields, &reader) == KIVO_OK);
    kivo_record_reader_free(reader);
    wk_jobspec_free(&spec);
    return 0;
}
