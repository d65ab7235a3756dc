/*
 * ghsummary.c - Markdown for $GITHUB_STEP_SUMMARY, built from the same JSON a script would read
 * (summary.json, the compare result), so the views never disagree. Writing goes through a small
 * writer whose first failure sticks (curl's dynbuf habit), so the builders read as the page does.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ghsummary.h"
#include "kivo/wire.h"

#define GROUP_ROWS 50
#define RUN_ROWS 10

kivo_status wk_markdown_text(kivo_buf *out, const char *s, size_t max)
{
    kivo_status st = KIVO_OK;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && st == KIVO_OK; p++, n++) {
        if (n >= max && (*p & 0xC0) != 0x80) {
            st = kivo_buf_append_str(out, "…");
            break;
        }
        if (*p < 0x20 || *p == 0x7f)
            st = kivo_buf_append(out, " ", 1);
        else if (*p == '<' || *p == '>' || *p == '&')
            st = kivo_buf_append_str(out, *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : "&amp;");
        else if (strchr("\\`*_{}[]()#+-.!|~\"'=:;$%@^,/?", *p))
            st = kivo_buf_printf(out, "\\%c", *p);
        else
            st = kivo_buf_append(out, p, 1);
    }
    return st;
}

/* ---- the writer -------------------------------------------------------------------------- */

typedef struct md {
    kivo_buf *b;
    kivo_status st;
} md;

static void put(md *m, const char *s)
{
    if (m->st == KIVO_OK)
        m->st = kivo_buf_append_str(m->b, s);
}

static void putf(md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(md *m, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    put(m, line);
}

/* Text from the data, escaped. */
static void text(md *m, const char *s, size_t max)
{
    if (m->st == KIVO_OK)
        m->st = wk_markdown_text(m->b, s ? s : "", max);
}

/* A number, or a dash when it is undefined. */
static void num(md *m, double v, const char *fmt)
{
    if (isnan(v))
        put(m, "–");
    else
        putf(m, fmt, v);
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long iget(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static double rget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A group's value: its text, or "(no value)". */
static void group_value(md *m, const json_t *g)
{
    const json_t *v = json_object_get(g, "value");
    if (json_is_string(v))
        text(m, json_string_value(v), 100);
    else
        put(m, "*(no value)*");
}

static void gate(md *m, const char *fail_on, const char *tripped)
{
    if (!fail_on)
        return;
    put(m, tripped ? "\n:x: **Gate failed**: " : "\n:white_check_mark: **Gate passed**: ");
    text(m, fail_on, 400);
    put(m, "\n");
    for (const char *line = tripped; line && *line;) {
        const char *e = strchr(line, '\n');
        size_t len = e ? (size_t)(e - line) : strlen(line);
        char one[600];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one - 1 ? len : sizeof one - 1), line);
        put(m, "- ");
        text(m, one, 600);
        put(m, "\n");
        line = e ? e + 1 : line + len;
    }
}

/* ---- batch ------------------------------------------------------------------------------- */

static void evaluation(md *m, const json_t *e)
{
    const json_t *c = json_object_get(e, "confusion");
    putf(m, "\n**Labeled evaluation** (%lld labeled, %lld without a label): precision ",
         iget(e, "labeled"), iget(e, "unlabeled"));
    num(m, rget(e, "precision"), "%.3f");
    put(m, " · recall ");
    num(m, rget(e, "recall"), "%.3f");
    put(m, " · F1 ");
    num(m, rget(e, "f1"), "%.3f");
    put(m, " · balanced accuracy ");
    num(m, rget(e, "balanced_accuracy"), "%.3f");
    putf(m,
         "\n\n| | labeled hallucinated | labeled faithful |\n|---|---:|---:|\n"
         "| flagged by Kivo | %lld | %lld |\n| passed by Kivo | %lld | %lld |\n",
         iget(c, "true_positive"), iget(c, "false_positive"), iget(c, "false_negative"),
         iget(c, "true_negative"));
}

kivo_status wk_markdown_batch(const json_t *s, const char *fail_on, const char *tripped,
                              kivo_buf *b)
{
    md m = {b, KIVO_OK};
    const json_t *v = json_object_get(s, "verdicts");
    long long reviewed = iget(s, "records_reviewed");
    long long flagged = iget(v, "needs_review") + iget(v, "fail");
    const char *k;
    json_t *x;
    put(&m, "### Kivo batch: ");
    text(&m, sget(s, "workflow_id"), 200);
    putf(&m,
         "\n\n| reviewed | pass | needs_review | fail | flag rate | rejected |\n"
         "|---:|---:|---:|---:|---:|---:|\n| %lld | %lld | %lld | %lld | ",
         reviewed, iget(v, "pass"), iget(v, "needs_review"), iget(v, "fail"));
    num(&m, reviewed ? 100.0 * (double)flagged / (double)reviewed : NAN, "%.1f%%");
    putf(&m, " | %lld |\n\nFailure categories (runs with each):", iget(s, "records_rejected"));
    json_object_foreach((json_t *)json_object_get(s, "failure_categories"), k,
                        x) if (json_integer_value(x))
        putf(&m, " %s %lld ·", k, (long long)json_integer_value(x));
    put(&m, "\n");
    if (json_is_object(json_object_get(s, "evaluation")))
        evaluation(&m, json_object_get(s, "evaluation"));
    json_object_foreach((json_t *)json_object_get(s, "groups"), k, x)
    {
        size_t i;
        json_t *g;
        put(&m, "\n#### By ");
        text(&m, k, 64);
        put(&m, "\n\n| value | runs | pass | needs_review | fail | flag rate | F1 |\n"
                "|---|---:|---:|---:|---:|---:|---:|\n");
        json_array_foreach(json_object_get(x, "values"), i, g)
        {
            const json_t *gv = json_object_get(g, "verdicts");
            if (i == GROUP_ROWS)
                break;
            put(&m, "| ");
            group_value(&m, g);
            putf(&m, " | %lld | %lld | %lld | %lld | ", iget(g, "runs"), iget(gv, "pass"),
                 iget(gv, "needs_review"), iget(gv, "fail"));
            num(&m, 100 * rget(g, "flag_rate"), "%.1f%%");
            put(&m, " | ");
            num(&m, rget(json_object_get(g, "evaluation"), "f1"), "%.3f");
            put(&m, " |\n");
        }
    }
    gate(&m, fail_on, tripped);
    return m.st;
}

/* ---- compare ----------------------------------------------------------------------------- */

#define PAIRS_HEAD                                                                                 \
    "| paired | regressed | fixed | new fails | newly flagged claims | flag rate (95%% CI of the " \
    "change) | McNemar p |\n"

/* The cells of one scope's pairs, after a leading "|" or a label cell. */
static void pairs_row(md *m, const json_t *p)
{
    const json_t *fr = json_object_get(p, "flag_rate");
    putf(m, " | %lld | %lld | %lld | %lld | %lld | ", iget(p, "paired"), iget(p, "regressed"),
         iget(p, "fixed"), iget(p, "new_fail"), iget(p, "newly_flagged_claims"));
    num(m, 100 * rget(fr, "baseline"), "%.1f%%");
    put(m, " → ");
    num(m, 100 * rget(fr, "candidate"), "%.1f%%");
    put(m, " (");
    num(m, 100 * rget(fr, "delta_ci95_low"), "%+.1f");
    put(m, " to ");
    num(m, 100 * rget(fr, "delta_ci95_high"), "%+.1f");
    put(m, " pts) | ");
    num(m, rget(p, "mcnemar_p"), "%.3g");
    put(m, " |\n");
}

kivo_status wk_markdown_compare(const json_t *r, const char *fail_on, const char *tripped,
                                kivo_buf *b)
{
    const char *const *vn = kivo_wire_verdict_names;
    static const char *const roles[2][2] = {{"baseline", "Baseline"}, {"candidate", "Candidate"}};
    md m = {b, KIVO_OK};
    const json_t *o = json_object_get(r, "overall"), *t = json_object_get(o, "transitions");
    const char *k;
    json_t *x;
    size_t i;
    put(&m, "### Kivo compare\n\n");
    for (int s = 0; s < 2; s++) {
        const json_t *side = json_object_get(r, roles[s][0]);
        putf(&m, "%s: ", roles[s][1]);
        text(&m, sget(side, "dir"), 200);
        putf(&m, " (%lld runs; ", iget(side, "runs"));
        json_object_foreach((json_t *)json_object_get(side, "engine_versions"), k, x)
        {
            text(&m, k, 100);
            put(&m, " ");
        }
        put(&m, ")  \n");
    }
    json_array_foreach(json_object_get(r, "warnings"), i, x)
    {
        put(&m, ":warning: ");
        text(&m, json_string_value(x), 600);
        put(&m, "  \n");
    }
    putf(&m, "\n" PAIRS_HEAD "|---:|---:|---:|---:|---:|---|---:|\n");
    pairs_row(&m, o);
    put(&m, "\n| baseline \\\\ candidate | pass | needs_review | fail |\n|---|---:|---:|---:|\n");
    for (int v = 0; v < 3; v++) {
        const json_t *row = json_object_get(t, vn[v]);
        putf(&m, "| %s | %lld | %lld | %lld |\n", vn[v], iget(row, "pass"),
             iget(row, "needs_review"), iget(row, "fail"));
    }
    putf(&m, "\nUnpaired: %lld only in the baseline, %lld only in the candidate.\n",
         iget(json_object_get(r, "unpaired_baseline"), "total"),
         iget(json_object_get(r, "unpaired_candidate"), "total"));
    json_object_foreach((json_t *)json_object_get(r, "groups"), k, x)
    {
        json_t *g;
        put(&m, "\n#### By ");
        text(&m, k, 64);
        putf(&m, "\n\n| value " PAIRS_HEAD "|---|---:|---:|---:|---:|---:|---|---:|\n");
        json_array_foreach(json_object_get(x, "values"), i, g)
        {
            if (i == GROUP_ROWS)
                break;
            put(&m, "| ");
            group_value(&m, g);
            pairs_row(&m, g);
        }
    }
    const json_t *reg = json_object_get(r, "regressed_runs");
    if (iget(reg, "total"))
        putf(&m,
             "\n#### Regressed runs (%lld; the most severe first)\n\n| run | baseline | "
             "candidate | failure categories now |\n|---|---|---|---|\n",
             iget(reg, "total"));
    json_array_foreach(json_object_get(reg, "runs"), i, x)
    {
        size_t j;
        json_t *c;
        if (i == RUN_ROWS)
            break;
        put(&m, "| ");
        text(&m, sget(x, "customer_run_id"), 120);
        putf(&m, " | %s | %s | ", sget(x, "baseline_verdict"), sget(x, "candidate_verdict"));
        json_array_foreach(json_object_get(x, "candidate_categories"), j, c)
            putf(&m, "%s%s", j ? ", " : "", json_string_value(c));
        put(&m, " |\n");
    }
    gate(&m, fail_on, tripped);
    return m.st;
}

/* ---- appending -------------------------------------------------------------------------- */

static int append(const kivo_buf *b, char *err, size_t errlen)
{
    const char *path = getenv("GITHUB_STEP_SUMMARY");
    if (!path || !*path) {
        snprintf(err, errlen,
                 "--github-summary: GITHUB_STEP_SUMMARY is not set; no summary "
                 "written");
        return 1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    size_t done = 0;
    if (fd < 0) {
        snprintf(err, errlen, "--github-summary: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (done < b->len) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "--github-summary: cannot write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "--github-summary: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int finish(kivo_status st, kivo_buf *b, char *err, size_t errlen)
{
    int rc = -1;
    if (st == KIVO_OK)
        st = kivo_buf_append_str(b, "\n");
    if (st != KIVO_OK)
        snprintf(err, errlen, "--github-summary: %s", kivo_status_str(st));
    else
        rc = append(b, err, errlen);
    kivo_buf_free(b);
    return rc;
}

int wk_github_summary_batch(const json_t *summary, const char *fail_on, const char *tripped,
                            char *err, size_t errlen)
{
    kivo_buf b;
    kivo_buf_init(&b, 0);
    return finish(wk_markdown_batch(summary, fail_on, tripped, &b), &b, err, errlen);
}

int wk_github_summary_compare(const json_t *result, const char *fail_on, const char *tripped,
                              char *err, size_t errlen)
{
    kivo_buf b;
    kivo_buf_init(&b, 0);
    return finish(wk_markdown_compare(result, fail_on, tripped, &b), &b, err, errlen);
}
