/*
 * main.c - kivo-worker's command line: subcommands, options, and the one place where results
 * become exit codes (0 all reviewed, 3 some records rejected, 2 usage or job spec, 1 fatal I/O).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "jobspec.h"

static const char usage_main[] =
    "Usage: kivo-worker COMMAND [OPTIONS]\n"
    "\n"
    "Checks AI answers against their sources, in your own compute. Raw text stays here: only\n"
    "metadata events are meant for Kivo.\n"
    "\n"
    "Commands:\n"
    "  batch     review a whole trace corpus on every core, offline\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text (also: kivo-worker COMMAND --help)\n"
    "  -V, --version   print the worker and engine versions\n"
    "\n"
    "Exit codes: 0 all records reviewed; 3 finished, some records rejected (see rejects.jsonl);\n"
    "2 usage or job spec error; 1 fatal I/O error.\n";

static const char usage_batch[] =
    "Usage: kivo-worker batch --job-spec-file FILE [--out DIR] [--threads N] [--json] [--quiet]\n"
    "\n"
    "Reviews every record of the job's inputs (JSONL, one AI output with its sources per line)\n"
    "and writes, under DIR (default: the job spec's report_store.path):\n"
    "  summary.json     counts by verdict and failure category, records read/reviewed/rejected,\n"
    "                   bytes, seconds, MB/s, peak memory\n"
    "  events.jsonl     one metadata-only completed event per reviewed run\n"
    "  rejects.jsonl    one line per rejected record: file, line, byte offset, reason\n"
    "  reports/<workflow_id>/<customer_run_id>/claim_report.json\n"
    "\n"
    "Options:\n"
    "  -f, --job-spec-file FILE  the job spec (kivo_worker_job_spec.v1); inputs are relative to\n"
    "                            its folder\n"
    "  -o, --out DIR             write here instead of report_store.path\n"
    "  -t, --threads N           threads to use (default: all cores)\n"
    "  -j, --json                print the summary as JSON on stdout\n"
    "  -q, --quiet               no progress bar (it is drawn only on a terminal anyway)\n"
    "      --chunk-bytes N       bytes read per chunk (default 1 MiB; for benchmarks)\n"
    "  -h, --help                this text\n";

static int parse_positive(const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int cmd_batch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"job-spec-file", required_argument, NULL, 'f'}, {"out", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},       {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {"chunk-bytes", required_argument, NULL, 'c'},   {NULL, 0, NULL, 0}};
    const char *spec_path = NULL;
    wk_batch_opts bo = {0};
    int json = 0, quiet = 0, c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:t:jqh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': spec_path = optarg; break;
        case 'o': bo.out_dir = optarg; break;
        case 't':
            if (parse_positive(optarg, 4096, &v) != 0) {
                fprintf(stderr, "kivo-worker batch: --threads takes a whole number from 1 to 4096\n");
                return WK_EXIT_USAGE;
            }
            bo.threads = (int)v;
            break;
        case 'c':
            if (parse_positive(optarg, 1L << 30, &v) != 0 || v < 4096) {
                fprintf(stderr, "kivo-worker batch: --chunk-bytes takes 4096 to 1073741824\n");
                return WK_EXIT_USAGE;
            }
            bo.chunk_bytes = (size_t)v;
            break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage_batch, stdout); return WK_EXIT_OK;
        default: fputs(usage_batch, stderr); return WK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kivo-worker batch: unexpected argument '%s'\n", argv[optind]);
        return WK_EXIT_USAGE;
    }
    if (!spec_path) {
        fprintf(stderr, "kivo-worker batch: --job-spec-file is required\n\n%s", usage_batch);
        return WK_EXIT_USAGE;
    }
    char err[1024];
    wk_jobspec spec;
    if (wk_jobspec_load(spec_path, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker: %s\n", err);
        return WK_EXIT_USAGE;
    }
    bo.progress = !quiet && isatty(STDERR_FILENO);
    wk_summary sum;
    int rc = wk_batch_run(&spec, &bo, &sum, err, sizeof err);
    if (rc == WK_EXIT_OK || rc == WK_EXIT_REJECTS) {
        const char *out = bo.out_dir ? bo.out_dir : spec.report_path;
        if (json) {
            char *js = wk_summary_json(&sum, &spec, out);
            if (js)
                fputs(js, stdout);
            free(js);
        } else {
            fprintf(stderr,
                    "kivo-worker: %llu records read, %llu reviewed, %llu rejected; verdicts: "
                    "%llu pass, %llu needs_review, %llu fail; %.1f MB/s; reports in %s\n",
                    (unsigned long long)sum.records_read, (unsigned long long)sum.records_reviewed,
                    (unsigned long long)sum.records_rejected, (unsigned long long)sum.verdicts[0],
                    (unsigned long long)sum.verdicts[1], (unsigned long long)sum.verdicts[2],
                    sum.seconds > 0 ? (double)sum.bytes / 1e6 / sum.seconds : 0.0, out);
        }
        if (rc == WK_EXIT_REJECTS)
            fprintf(stderr, "kivo-worker: %llu records rejected: see %s/rejects.jsonl\n",
                    (unsigned long long)sum.records_rejected, out);
    } else {
        fprintf(stderr, "kivo-worker: %s\n", err);
    }
    wk_jobspec_free(&spec);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return WK_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return WK_EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("kivo-worker %s (%s)\n", KIVO_VERSION_STRING, KIVO_ENGINE_VERSION);
        return WK_EXIT_OK;
    }
    if (!strcmp(cmd, "batch"))
        return cmd_batch(argc - 1, argv + 1);
    fprintf(stderr, "kivo-worker: unknown command '%s'\n\n%s", cmd, usage_main);
    return WK_EXIT_USAGE;
}
