/*
 * compare_cli.c - the `kivo-worker compare` command: options, the printed report (text, or JSON
 * with --json), --html, --junit, --fail-on and --github-summary around wk_compare_run().
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "compare_cli.h"
#include "ghsummary.h"
#include "junit.h"
#include "kivo/wire.h"

static const char usage[] =
    "Usage: kivo-worker compare BASE_DIR CAND_DIR [--json] [--html FILE]\n"
    "                           [--group-by NAME[,NAME]] [--fail-on EXPR] [--junit FILE]\n"
    "                           [--github-summary] [--quiet]\n"
    "\n"
    "Compares two batches over the same records (two model or prompt releases over one\n"
    "dataset): BASE_DIR and CAND_DIR are `batch` out folders. Runs are paired by (workflow_id,\n"
    "customer_run_id) and read as streams, so a million-run pair fits in a few hundred MB.\n"
    "\n"
    "Prints (pass < needs_review < fail; flagged = needs_review or fail):\n"
    "  the 3x3 verdict transition table (rows: baseline, columns: candidate); regressed pairs\n"
    "  (candidate more severe), fixed pairs, new fails (fail now, not before), fixed fails;\n"
    "  newly flagged claims (flagged claims of the candidate whose text was not flagged in the\n"
    "  baseline run); runs with each failure category on both sides; the flag-rate change with\n"
    "  a 95%% confidence interval for paired proportions (Newcombe) and the exact McNemar p-value\n"
    "  on the paired flags; the same per --group-by value; the runs only one side has; the\n"
    "  engine version and policy of both sides (a difference is a warning).\n"
    "\n"
    "Options:\n"
    "  -j, --json                print the result as JSON (kivo_worker_compare.v1) instead\n"
    "      --html FILE           write a self-contained page: the summary, then the regressed\n"
    "                            runs, each linking to its claim page in both batches\n"
    "      --group-by NAMES      break the comparison down by these fields.metadata names\n"
    "                            (comma-separated; values read from the reports' \"metadata\")\n"
    "      --fail-on EXPR        exit 6 when any condition holds, e.g.\n"
    "                            flag_rate_delta>0.01,new_fail>0,p<0.05 (NAME OP NUMBER, OP one\n"
    "                            of > >= < <= == !=; an undefined metric fails its condition).\n"
    "                            Metrics: %s\n"
    "      --junit FILE          JUnit XML: a testcase per candidate run, failed when the pair\n"
    "                            regressed; runs without a partner are skipped testcases\n"
    "      --github-summary      append a Markdown summary to $GITHUB_STEP_SUMMARY when set\n"
    "  -q, --quiet               no progress lines\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit codes: 0 compared (gate passed or none); 6 a --fail-on condition held; 2 usage, or a\n"
    "folder that is not a report store; 1 fatal I/O.\n";

enum { OPT_HTML = 300, OPT_GROUP_BY, OPT_FAIL_ON, OPT_JUNIT, OPT_GH };

static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                     {"quiet", no_argument, NULL, 'q'},
                                     {"help", no_argument, NULL, 'h'},
                                     {"html", required_argument, NULL, OPT_HTML},
                                     {"group-by", required_argument, NULL, OPT_GROUP_BY},
                                     {"fail-on", required_argument, NULL, OPT_FAIL_ON},
                                     {"junit", required_argument, NULL, OPT_JUNIT},
                                     {"github-summary", no_argument, NULL, OPT_GH},
                                     {NULL, 0, NULL, 0}};

/* Its variables are KIVO_COMPARE_*: batch's --html, --junit and --fail-on mean other things. */
static const char *const scoped[] = {"html", "group-by", "fail-on", "junit", NULL};

const wk_optenv_cmd wk_compare_cli = {"compare", ":jqh", opts, "COMPARE", scoped};

static void print_usage(FILE *f)
{
    wk_metric m[WK_COMPARE_METRICS];
    char names[1024];
    wk_gate_names(m, wk_compare_metrics(NULL, m), names, sizeof names);
    fprintf(f, usage, names);
    wk_optenv_help(f, &wk_compare_cli);
}

/* Text from reports, shown on a terminal: control characters become '?'. */
static void safe(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
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

static void print_rate(FILE *f, double v, int sign)
{
    if (isnan(v))
        fputs("-", f);
    else
        fprintf(f, sign ? "%+.4f" : "%.4f", v);
}

/* The keys of a {name: runs} object, comma-separated. */
static void print_names(FILE *f, const json_t *names)
{
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach((json_t *)names, k, v)
    {
        fputs(first ? "" : ", ", f);
        safe(f, k);
        first = 0;
    }
}

static void print_side(FILE *f, const char *label, const json_t *s)
{
    fprintf(f, "%s ", label);
    safe(f, sget(s, "dir"));
    fprintf(f, ": %lld runs (%s), batch ", iget(s, "runs"), sget(s, "layout"));
    print_names(f, json_object_get(s, "batch_ids"));
    fputs(", engine ", f);
    print_names(f, json_object_get(s, "engine_versions"));
    fputs(", policy ", f);
    print_names(f, json_object_get(s, "policies"));
    fputc('\n', f);
}

static void print_pairs(FILE *f, const json_t *p, const char *indent)
{
    const json_t *fr = json_object_get(p, "flag_rate"), *fa = json_object_get(p, "fail_rate");
    fprintf(f,
            "%sregressed %lld, fixed %lld, unchanged %lld; new fails %lld, fixed fails %lld; "
            "newly flagged claims %lld, no longer flagged %lld\n",
            indent, iget(p, "regressed"), iget(p, "fixed"), iget(p, "unchanged"),
            iget(p, "new_fail"), iget(p, "fixed_fail"), iget(p, "newly_flagged_claims"),
            iget(p, "no_longer_flagged_claims"));
    fprintf(f, "%sflag rate ", indent);
    print_rate(f, rget(fr, "baseline"), 0);
    fputs(" -> ", f);
    print_rate(f, rget(fr, "candidate"), 0);
    fputs(" (delta ", f);
    print_rate(f, rget(fr, "delta"), 1);
    fputs(", 95% CI ", f);
    print_rate(f, rget(fr, "delta_ci95_low"), 1);
    fputs(" to ", f);
    print_rate(f, rget(fr, "delta_ci95_high"), 1);
    fprintf(f,
            "); exact McNemar p = %.4g (%lld flagged only in the baseline, %lld only in the "
            "candidate)\n",
            rget(p, "mcnemar_p"), iget(fr, "flagged_baseline_only"),
            iget(fr, "flagged_candidate_only"));
    fprintf(f, "%sfail rate ", indent);
    print_rate(f, rget(fa, "baseline"), 0);
    fputs(" -> ", f);
    print_rate(f, rget(fa, "candidate"), 0);
    fputc('\n', f);
}

static void print_text(FILE *f, const json_t *r)
{
    const char *const *vn = kivo_wire_verdict_names;
    const json_t *o = json_object_get(r, "overall"), *t = json_object_get(o, "transitions");
    const char *k;
    json_t *v;
    print_side(f, "baseline ", json_object_get(r, "baseline"));
    print_side(f, "candidate", json_object_get(r, "candidate"));
    fprintf(f,
            "paired runs %lld; unpaired: %lld only in the baseline, %lld only in the "
            "candidate\n\n",
            iget(o, "paired"), iget(json_object_get(r, "unpaired_baseline"), "total"),
            iget(json_object_get(r, "unpaired_candidate"), "total"));
    fprintf(f, "verdicts (rows: baseline, columns: candidate)\n%-14s %12s %12s %12s\n", "", vn[0],
            vn[1], vn[2]);
    for (int b = 0; b < 3; b++) {
        const json_t *row = json_object_get(t, vn[b]);
        fprintf(f, "%-14s %12lld %12lld %12lld\n", vn[b], iget(row, vn[0]), iget(row, vn[1]),
                iget(row, vn[2]));
    }
    fputc('\n', f);
    print_pairs(f, o, "");
    fprintf(f, "\nfailure categories (paired runs with each): baseline -> candidate\n");
    json_object_foreach((json_t *)json_object_get(o, "failure_categories"), k, v)
        fprintf(f, "  %-26s %8lld -> %-8lld (%+lld)\n", k, iget(v, "baseline"),
                iget(v, "candidate"), iget(v, "delta"));
    json_object_foreach((json_t *)json_object_get(r, "groups"), k, v)
    {
        size_t i;
        json_t *g;
        fprintf(f, "\nby %s:\n", k);
        json_array_foreach(json_object_get(v, "values"), i, g)
        {
            const json_t *val = json_object_get(g, "value");
            fputs("  ", f);
            if (json_is_string(val))
                safe(f, json_string_value(val));
            else
                fputs("(no value)", f);
            fprintf(f, ": %lld paired\n", iget(g, "paired"));
            print_pairs(f, g, "    ");
        }
        if (json_is_object(json_object_get(v, "other"))) {
            fprintf(f, "  (other values, past the first %d): %lld paired\n", WK_GROUP_MAX_VALUES,
                    iget(json_object_get(v, "other"), "paired"));
            print_pairs(f, json_object_get(v, "other"), "    ");
        }
    }
    const json_t *reg = json_object_get(r, "regressed_runs");
    size_t i, shown = json_array_size(json_object_get(reg, "runs"));
    json_t *x;
    if (iget(reg, "total")) {
        fprintf(f, "\nregressed runs, most severe first (%zu of %lld):\n", shown < 20 ? shown : 20,
                iget(reg, "total"));
        json_array_foreach(json_object_get(reg, "runs"), i, x)
        {
            if (i == 20)
                break;
            fprintf(f, "  %-12s -> %-12s ", sget(x, "baseline_verdict"),
                    sget(x, "candidate_verdict"));
            safe(f, sget(x, "workflow_id"));
            fputc('/', f);
            safe(f, sget(x, "customer_run_id"));
            fputc('\n', f);
        }
    }
    static const char *const sides[2][2] = {{"unpaired_baseline", "only in the baseline"},
                                            {"unpaired_candidate", "only in the candidate"}};
    for (int s = 0; s < 2; s++) {
        const json_t *u = json_object_get(r, sides[s][0]);
        if (!iget(u, "total"))
            continue;
        fprintf(f, "\nruns %s (%lld):", sides[s][1], iget(u, "total"));
        json_array_foreach(json_object_get(u, "runs"), i, x)
        {
            if (i == 20) {
                fputs(" ...", f);
                break;
            }
            fputs(i ? ", " : " ", f);
            safe(f, sget(x, "customer_run_id"));
        }
        fputc('\n', f);
    }
}

kivo_status wk_compare_command(const wk_optenv *oe, int *gate_failed)
{
    int argc = oe->argc;
    char **argv = oe->argv;
    wk_compare_opts co = {0};
    const char *html = NULL, *junit_path = NULL, *fail_on = NULL;
    int json = 0, quiet = 0, gh = 0, c;
    kivo_status rc = KIVO_EIO;
    wk_gate *gate = NULL;
    wk_compare *cmp = NULL;
    json_t *result = NULL;
    char err[2048];
    wk_metric m[WK_COMPARE_METRICS];

    *gate_failed = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, wk_compare_cli.shortopts, opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': print_usage(stdout); return KIVO_OK;
        case OPT_HTML: html = optarg; break;
        case OPT_GROUP_BY: co.group_by = optarg; break;
        case OPT_FAIL_ON: fail_on = optarg; break;
        case OPT_JUNIT: junit_path = optarg; break;
        case OPT_GH: gh = 1; break;
        default: wk_optenv_unknown(oe, c); return KIVO_EINVAL;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "kivo-worker compare: BASE_DIR and CAND_DIR are required, and nothing "
                        "else (see 'kivo-worker compare --help')\n");
        return KIVO_EINVAL;
    }
    co.base_dir = argv[optind];
    co.cand_dir = argv[optind + 1];
    co.progress = !quiet && isatty(STDERR_FILENO);
    if (fail_on &&
        wk_gate_parse(fail_on, m, wk_compare_metrics(NULL, m), &gate, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker compare: %s\n", err);
        return KIVO_EINVAL;
    }
    if (co.group_by) {
        wk_groups *g;
        if (wk_groups_create(co.group_by, NULL, &g, err, sizeof err) != 0) {
            fprintf(stderr, "kivo-worker compare: %s\n", err);
            wk_gate_free(gate);
            return KIVO_EINVAL;
        }
        wk_groups_free(g);
    }
    if (junit_path && wk_junit_open(junit_path, &co.junit) != 0) {
        fprintf(stderr, "kivo-worker compare: cannot write %s: %s\n", junit_path, strerror(errno));
        goto out;
    }
    if ((rc = wk_compare_run(&co, &cmp, err, sizeof err)) != KIVO_OK) {
        fprintf(stderr, "kivo-worker compare: %s\n", err);
        goto out;
    }
    rc = KIVO_EIO;
    if (!(result = wk_compare_json(cmp))) {
        fprintf(stderr, "kivo-worker compare: out of memory\n");
        goto out;
    }
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(result, "warnings"), i, w)
        fprintf(stderr, "kivo-worker compare: warning: %s\n", json_string_value(w));
    if (json) {
        char *t = json_dumps(result, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        if (t)
            printf("%s\n", t);
        free(t);
    } else {
        print_text(stdout, result);
    }
    if (html && wk_compare_html_write(html, result, co.base_dir, co.cand_dir) != 0) {
        fprintf(stderr, "kivo-worker compare: cannot write %s: %s\n", html, strerror(errno));
        goto out;
    }
    if (co.junit) {
        wk_junit *j = co.junit;
        co.junit = NULL;
        if (wk_junit_close(j, "kivo compare", 0) != 0) {
            fprintf(stderr, "kivo-worker compare: cannot write %s: %s\n", junit_path,
                    strerror(errno));
            goto out;
        }
    }
    rc = KIVO_OK;
    char msg[4096] = "";
    if (gate) {
        size_t n = wk_compare_metrics(cmp, m);
        if (wk_gate_eval(gate, m, n, msg, sizeof msg) > 0) {
            fprintf(stderr, "kivo-worker compare: gate failed (--fail-on %s):\n", fail_on);
            for (char *line = msg; *line;) {
                char *e = strchr(line, '\n');
                fprintf(stderr, "  %.*s\n", e ? (int)(e - line) : (int)strlen(line), line);
                line = e ? e + 1 : line + strlen(line);
            }
            *gate_failed = 1;
        }
    }
    if (gh &&
        wk_github_summary_compare(result, fail_on, *gate_failed ? msg : NULL, err, sizeof err) != 0)
        fprintf(stderr, "kivo-worker compare: %s\n", err);
out:
    wk_junit_free(co.junit);
    json_decref(result);
    wk_compare_free(cmp);
    wk_gate_free(gate);
    return rc;
}
