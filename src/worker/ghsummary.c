/*
 * ghsummary.c - Markdown for $GITHUB_STEP_SUMMARY, built from the same JSON a script would read
 * (summary.json, the compare result), so the three views never disagree.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ghsummary.h"

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

static kivo_status num(kivo_buf *b, double v, const char *fmt)
{
    return isnan(v) ? kivo_buf_append_str(b, "–") : kivo_buf_printf(b, fmt, v);
}

static kivo_status gate(kivo_buf *b, const char *fail_on, const char *tripped)
{
    kivo_status st = KIVO_OK;
    if (!fail_on)
        return KIVO_OK;
    st = kivo_buf_append_str(b, tripped ? "\n:x: **Gate failed**: " : "\n:white_check_mark: "
                                                                        "**Gate passed**: ");
    if (st == KIVO_OK)
        st = wk_markdown_text(b, fail_on, 400);
    if (st == KIVO_OK)
        st = kivo_buf_append_str(b, "\n");
    for (const char *line = tripped; st == KIVO_OK && line && *line;) {
        const char *e = strchr(line, '\n');
        size_t len = e ? (size_t)(e - line) : strlen(line);
        char one[600];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one - 1 ? len : sizeof one - 1),
                 line);
        st = kivo_buf_append_str(b, "- ");
        if (st == KIVO_OK)
            st = wk_markdown_text(b, one, 600);
        if (st == KIVO_OK)
            st = kivo_buf_append_str(b, "\n");
        line = e ? e + 1 : line + len;
    }
    return st;
}

static kivo_status evaluation(kivo_buf *b, const json_t *e)
{
    const json_t *c = json_object_get(e, "confusion");
    kivo_status st = kivo_buf_printf(b, "\n**Labeled evaluation** (%lld labeled, %lld without a "
                                     "label): precision ", iget(e, "labeled"),
                                     iget(e, "unlabeled"));
    if (st == KIVO_OK) st = num(b, rget(e, "precision"), "%.3f");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " · recall ");
    if (st == KIVO_OK) st = num(b, rget(e, "recall"), "%.3f");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " · F1 ");
    if (st == KIVO_OK) st = num(b, rget(e, "f1"), "%.3f");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " · balanced accuracy ");
    if (st == KIVO_OK) st = num(b, rget(e, "balanced_accuracy"), "%.3f");
    if (st == KIVO_OK)
        st = kivo_buf_printf(b, "\n\n| | labeled hallucinated | labeled faithful |\n|---|---:|---:|\n"
                             "| flagged by Kivo | %lld | %lld |\n| passed by Kivo | %lld | %lld |\n",
                             iget(c, "true_positive"), iget(c, "false_positive"),
                             iget(c, "false_negative"), iget(c, "true_negative"));
    return st;
}

kivo_status wk_markdown_batch(const json_t *s, const char *fail_on, const char *tripped,
                              kivo_buf *b)
{
    const json_t *v = json_object_get(s, "verdicts");
    long long reviewed = iget(s, "records_reviewed");
    long long flagged = iget(v, "needs_review") + iget(v, "fail");
    const char *k;
    json_t *x;
    kivo_status st = kivo_buf_append_str(b, "### Kivo batch: ");
    if (st == KIVO_OK) st = wk_markdown_text(b, sget(s, "workflow_id"), 200);
    if (st == KIVO_OK)
        st = kivo_buf_printf(b, "\n\n| reviewed | pass | needs_review | fail | flag rate | "
                             "rejected |\n|---:|---:|---:|---:|---:|---:|\n| %lld | %lld | %lld | "
                             "%lld | ", reviewed, iget(v, "pass"), iget(v, "needs_review"),
                             iget(v, "fail"));
    if (st == KIVO_OK)
        st = num(b, reviewed ? 100.0 * (double)flagged / (double)reviewed : NAN, "%.1f%%");
    if (st == KIVO_OK)
        st = kivo_buf_printf(b, " | %lld |\n\nFailure categories (runs with each):",
                             iget(s, "records_rejected"));
    json_object_foreach((json_t *)json_object_get(s, "failure_categories"), k, x)
        if (st == KIVO_OK && json_integer_value(x))
            st = kivo_buf_printf(b, " %s %lld ·", k, (long long)json_integer_value(x));
    if (st == KIVO_OK) st = kivo_buf_append_str(b, "\n");
    if (st == KIVO_OK && json_is_object(json_object_get(s, "evaluation")))
        st = evaluation(b, json_object_get(s, "evaluation"));
    json_object_foreach((json_t *)json_object_get(s, "groups"), k, x) {
        size_t i;
        json_t *g;
        if (st == KIVO_OK)
            st = kivo_buf_printf(b, "\n#### By %s\n\n| value | runs | pass | needs_review | fail "
                                 "| flag rate | F1 |\n|---|---:|---:|---:|---:|---:|---:|\n", k);
        json_array_foreach(json_object_get(x, "values"), i, g) {
            const json_t *gv = json_object_get(g, "verdicts");
            if (st != KIVO_OK || i == GROUP_ROWS)
                break;
            st = kivo_buf_append_str(b, "| ");
            if (st == KIVO_OK)
                st = json_is_string(json_object_get(g, "value"))
                         ? wk_markdown_text(b, sget(g, "value"), 100)
                         : kivo_buf_append_str(b, "*(no value)*");
            if (st == KIVO_OK)
                st = kivo_buf_printf(b, " | %lld | %lld | %lld | %lld | ", iget(g, "runs"),
                                     iget(gv, "pass"), iget(gv, "needs_review"), iget(gv, "fail"));
            if (st == KIVO_OK) st = num(b, 100 * rget(g, "flag_rate"), "%.1f%%");
            if (st == KIVO_OK) st = kivo_buf_append_str(b, " | ");
            if (st == KIVO_OK) st = num(b, rget(json_object_get(g, "evaluation"), "f1"), "%.3f");
            if (st == KIVO_OK) st = kivo_buf_append_str(b, " |\n");
        }
    }
    if (st == KIVO_OK)
        st = gate(b, fail_on, tripped);
    return st;
}

static kivo_status pairs_row(kivo_buf *b, const json_t *p)
{
    const json_t *fr = json_object_get(p, "flag_rate");
    kivo_status st = kivo_buf_printf(b, " | %lld | %lld | %lld | %lld | %lld | ", iget(p, "paired"),
                                     iget(p, "regressed"), iget(p, "fixed"), iget(p, "new_fail"),
                                     iget(p, "newly_flagged_claims"));
    if (st == KIVO_OK) st = num(b, 100 * rget(fr, "baseline"), "%.1f%%");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " → ");
    if (st == KIVO_OK) st = num(b, 100 * rget(fr, "candidate"), "%.1f%%");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " (");
    if (st == KIVO_OK) st = num(b, 100 * rget(fr, "delta_ci95_low"), "%+.1f");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " to ");
    if (st == KIVO_OK) st = num(b, 100 * rget(fr, "delta_ci95_high"), "%+.1f");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " pts) | ");
    if (st == KIVO_OK) st = num(b, rget(p, "mcnemar_p"), "%.3g");
    if (st == KIVO_OK) st = kivo_buf_append_str(b, " |\n");
    return st;
}

#define PAIRS_HEAD "| paired | regressed | fixed | new fails | newly flagged claims | flag rate " \
                   "(95%% CI of the change) | McNemar p |\n"

kivo_status wk_markdown_compare(const json_t *r, const char *fail_on, const char *tripped,
                                kivo_buf *b)
{
    static const char *const vn[] = {"pass", "needs_review", "fail"};
    const json_t *o = json_object_get(r, "overall"), *t = json_object_get(o, "transitions");
    const char *k;
    json_t *x;
    size_t i;
    kivo_status st = kivo_buf_append_str(b, "### Kivo compare\n\n");
    const char *roles[2][2] = {{"baseline", "Baseline"}, {"candidate", "Candidate"}};
    for (int s = 0; s < 2 && st == KIVO_OK; s++) {
        const json_t *side = json_object_get(r, roles[s][0]);
        st = kivo_buf_printf(b, "%s: ", roles[s][1]);
        if (st == KIVO_OK) st = wk_markdown_text(b, sget(side, "dir"), 200);
        if (st == KIVO_OK) st = kivo_buf_printf(b, " (%lld runs; ", iget(side, "runs"));
        json_object_foreach((json_t *)json_object_get(side, "engine_versions"), k, x) {
            if (st == KIVO_OK) st = wk_markdown_text(b, k, 100);
            if (st == KIVO_OK) st = kivo_buf_append_str(b, " ");
        }
        if (st == KIVO_OK) st = kivo_buf_append_str(b, ")  \n");
    }
    json_array_foreach(json_object_get(r, "warnings"), i, x) {
        if (st == KIVO_OK) st = kivo_buf_append_str(b, ":warning: ");
        if (st == KIVO_OK) st = wk_markdown_text(b, json_string_value(x), 600);
        if (st == KIVO_OK) st = kivo_buf_append_str(b, "  \n");
    }
    if (st == KIVO_OK)
        st = kivo_buf_printf(b, "\n" PAIRS_HEAD "|---:|---:|---:|---:|---:|---|---:|\n");
    if (st == KIVO_OK) st = pairs_row(b, o);
    if (st == KIVO_OK)
        st = kivo_buf_append_str(b, "\n| baseline \\\\ candidate | pass | needs_review | fail |\n"
                                    "|---|---:|---:|---:|\n");
    for (int v = 0; v < 3 && st == KIVO_OK; v++) {
        const json_t *row = json_object_get(t, vn[v]);
        st = kivo_buf_printf(b, "| %s | %lld | %lld | %lld |\n", vn[v], iget(row, "pass"),
                             iget(row, "needs_review"), iget(row, "fail"));
    }
    if (st == KIVO_OK)
        st = kivo_buf_printf(b, "\nUnpaired: %lld only in the baseline, %lld only in the "
                             "candidate.\n", iget(json_object_get(r, "unpaired_baseline"), "total"),
                             iget(json_object_get(r, "unpaired_candidate"), "total"));
    json_object_foreach((json_t *)json_object_get(r, "groups"), k, x) {
        json_t *g;
        if (st == KIVO_OK)
            st = kivo_buf_printf(b, "\n#### By %s\n\n| value " PAIRS_HEAD
                                 "|---|---:|---:|---:|---:|---:|---|---:|\n", k);
        json_array_foreach(json_object_get(x, "values"), i, g) {
            if (st != KIVO_OK || i == GROUP_ROWS)
                break;
            st = kivo_buf_append_str(b, "| ");
            if (st == KIVO_OK)
                st = json_is_string(json_object_get(g, "value"))
                         ? wk_markdown_text(b, sget(g, "value"), 100)
                         : kivo_buf_append_str(b, "*(no value)*");
            if (st == KIVO_OK) st = pairs_row(b, g);
        }
    }
    const json_t *reg = json_object_get(r, "regressed_runs");
    if (st == KIVO_OK && iget(reg, "total"))
        st = kivo_buf_printf(b, "\n#### Regressed runs (%lld; the most severe first)\n\n| run | "
                             "baseline | candidate | failure categories now |\n|---|---|---|---|\n",
                             iget(reg, "total"));
    json_array_foreach(json_object_get(reg, "runs"), i, x) {
        size_t j;
        json_t *c;
        if (st != KIVO_OK || i == RUN_ROWS)
            break;
        st = kivo_buf_append_str(b, "| ");
        if (st == KIVO_OK) st = wk_markdown_text(b, sget(x, "customer_run_id"), 120);
        if (st == KIVO_OK)
            st = kivo_buf_printf(b, " | %s | %s | ", sget(x, "baseline_verdict"),
                                 sget(x, "candidate_verdict"));
        json_array_foreach(json_object_get(x, "candidate_categories"), j, c)
            if (st == KIVO_OK)
                st = kivo_buf_printf(b, "%s%s", j ? ", " : "", json_string_value(c));
        if (st == KIVO_OK) st = kivo_buf_append_str(b, " |\n");
    }
    if (st == KIVO_OK)
        st = gate(b, fail_on, tripped);
    return st;
}

static int append(const kivo_buf *b, char *err, size_t errlen)
{
    const char *path = getenv("GITHUB_STEP_SUMMARY");
    if (!path || !*path) {
        snprintf(err, errlen, "--github-summary: GITHUB_STEP_SUMMARY is not set; no summary "
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
    return close(fd) == 0 ? 0 : -1;
}

int wk_github_summary_batch(const json_t *summary, const char *fail_on, const char *tripped,
                            char *err, size_t errlen)
{
    kivo_buf b;
    int rc = -1;
    kivo_buf_init(&b, 0);
    if (wk_markdown_batch(summary, fail_on, tripped, &b) != KIVO_OK ||
        kivo_buf_append_str(&b, "\n") != KIVO_OK)
        snprintf(err, errlen, "out of memory");
    else
        rc = append(&b, err, errlen);
    kivo_buf_free(&b);
    return rc;
}

int wk_github_summary_compare(const json_t *result, const char *fail_on, const char *tripped,
                              char *err, size_t errlen)
{
    kivo_buf b;
    int rc = -1;
    kivo_buf_init(&b, 0);
    if (wk_markdown_compare(result, fail_on, tripped, &b) != KIVO_OK ||
        kivo_buf_append_str(&b, "\n") != KIVO_OK)
        snprintf(err, errlen, "out of memory");
    else
        rc = append(&b, err, errlen);
    kivo_buf_free(&b);
    return rc;
}
