/* summary.c - summary.json: what the job read, reviewed, rejected and found, and how fast. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "batch.h"
#include "breakdown.h"
#include "kivo/wire.h"

char *wk_summary_json(const wk_summary *s, const wk_jobspec *spec, const char *out_dir)
{
    struct rusage ru;
    long long peak = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        peak = (long long)ru.ru_maxrss * 1024;
    double secs = s->seconds > 1e-9 ? s->seconds : 1e-9;
    json_t *o = json_object();
    json_t *v = json_object(), *c = json_object();
    if (!o || !v || !c) {
        json_decref(o);
        json_decref(v);
        json_decref(c);
        return NULL;
    }
    json_object_set_new(o, "schema_version", json_string("kivo_worker_summary.v1"));
    json_object_set_new(o, "worker_version", json_string("kivo-worker." KIVO_VERSION_STRING));
    json_object_set_new(o, "engine_version", json_string(KIVO_ENGINE_VERSION));
    json_object_set_new(o, "workflow_id", json_string(spec->workflow_id));
    json_object_set_new(o, "batch_id", json_string(spec->batch_id));
    json_object_set_new(o, "out_dir", json_string(out_dir));
    json_object_set_new(o, "threads", json_integer(s->threads));
    json_object_set_new(o, "files", json_integer((json_int_t)s->files));
    json_object_set_new(o, "records_read", json_integer((json_int_t)s->records_read));
    json_object_set_new(o, "records_reviewed", json_integer((json_int_t)s->records_reviewed));
    json_object_set_new(o, "records_rejected", json_integer((json_int_t)s->records_rejected));
    if (s->reuse) {
        json_object_set_new(o, "records_reused", json_integer((json_int_t)s->reused));
        json_object_set_new(o, "records_reused_unchanged",
                            json_integer((json_int_t)s->reused_lines));
    }
    json_object_set_new(o, "duplicate_run_ids", json_integer((json_int_t)s->duplicates));
    json_object_set_new(o, "run_ids_differing_in_case",
                        json_integer((json_int_t)s->case_collisions));
    json_object_set_new(o, "claims", json_integer((json_int_t)s->claims));
    json_object_set_new(o, "unsupported_claims", json_integer((json_int_t)s->unsupported_claims));
    for (int i = 0; i < 3; i++)
        json_object_set_new(v, kivo_verdict_name((kivo_verdict)i),
                            json_integer((json_int_t)s->verdicts[i]));
    json_object_set_new(o, "verdicts", v);
    for (int i = 1; i < KIVO_CAT_COUNT; i++)
        json_object_set_new(c, kivo_category_name((kivo_category)i),
                            json_integer((json_int_t)s->categories[i]));
    json_object_set_new(o, "failure_categories", c);
    json_object_set_new(o, "bytes_read", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "seconds", json_real(s->seconds));
    json_object_set_new(o, "mb_per_s", json_real((double)s->bytes / 1e6 / secs));
    json_object_set_new(o, "records_per_s", json_real((double)s->records_read / secs));
    json_object_set_new(o, "claims_per_s", json_real((double)s->claims / secs));
    json_object_set_new(o, "peak_rss_bytes", json_integer(peak));
    if (s->interrupted)
        json_object_set_new(o, "interrupted", json_true());
    if (s->resumed)
        json_object_set_new(o, "resumed", json_true());
    if (s->shard_n) {
        json_t *sh = json_object();
        json_object_set_new(sh, "index", json_integer(s->shard_k));
        json_object_set_new(sh, "count", json_integer(s->shard_n));
        json_object_set_new(o, "shard", sh);
    }
    if (s->layout) {
        json_t *rs = json_object();
        json_object_set_new(rs, "layout", json_string(s->layout));
        if (strcmp(s->layout, "v2") == 0) {
            json_object_set_new(rs, "parts", json_integer((json_int_t)s->parts));
            json_object_set_new(rs, "compression", json_string(s->compression));
            json_object_set_new(rs, "pages", json_integer((json_int_t)s->pages));
        }
        json_object_set_new(o, "report_store", rs);
    }
    if (s->breakdown && wk_breakdown_to_summary(s->breakdown, o) != 0) {
        json_decref(o);
        return NULL;
    }
    char *js = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!js)
        return NULL;
    size_t n = strlen(js);
    char *r = realloc(js, n + 2);
    if (!r) {
        free(js);
        return NULL;
    }
    r[n] = '\n';
    r[n + 1] = '\0';
    return r;
}
