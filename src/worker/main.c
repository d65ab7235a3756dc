/*
 * main.c - kivo-worker's command line: subcommands, options, and the one place where results
 * become exit codes (exitcode.h: 0 all reviewed, 3 some records rejected, 2 usage or job spec,
 * 1 fatal I/O, 4 the server refused something, 5 events still pending, 6 a --fail-on gate
 * failed). The commands return a kivo_status and what they found; status_exit() and the *_exit()
 * helpers below map them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "batch.h"
#include "batch_metrics.h"
#include "breakdown.h"
#include "compare_cli.h"
#include "exitcode.h"
#include "gate.h"
#include "ghsummary.h"
#include "explain.h"
#include "jobspec.h"
#include "junit.h"
#include "kivo/wire.h"
#include "metrics_file.h"
#include "optenv.h"
#include "outbox.h"
#include "preflight.h"
#include "progress.h"
#include "output.h"
#include "review.h"
#include "run.h"
#include "parts.h"
#include "secret.h"
#include "merge.h"
#ifdef KIVO_WORKER_MPI
#include "mpi_ranks.h"
#endif
#include "shard.h"
#include "show.h"
#include "submit.h"
#include "suggest.h"

#define SEND_OPTIONS                                                                             \
    "      --concurrency N       requests in flight at once, over kept-alive connections\n"      \
    "                            (default 16)\n"                                                 \
    "      --retry-deadline S    retry no answer / 429 / 5xx with backoff and jitter until S\n"  \
    "                            seconds pass without a usable answer (default 300); the rest\n" \
    "                            stays pending for `submit`\n"                                   \
    "      --request-timeout S   per request (default 30)\n"

static const char usage_main[] =
    "Usage: kivo-worker COMMAND [OPTIONS]\n"
    "\n"
    "Checks AI answers against their sources, in your own compute. Raw text stays here: only\n"
    "metadata events are meant for Kivo.\n"
    "\n"
    "Commands:\n"
    "  batch     review a whole trace corpus on every core, offline (and, with\n"
    "            --kivo-api-base-url, create its runs and send their events)\n"
    "  run       review one run created with the private-worker API, report to Kivo\n"
    "  submit    send what an outbox still holds (after a network failure or a kill)\n"
    "  compare   compare two batches over the same records: transitions, regressions,\n"
    "            significance, per group; CI gates\n"
    "  explain   show, claim by claim, which rule of the engine decided it and why\n"
    "  show      print one run's claim report (or write its page) from a batch's report\n"
    "            store\n"
    "  merge     join the out folders of `batch --shard K/N` into one report store\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text (also: kivo-worker COMMAND --help)\n"
    "  -V, --version   print the worker and engine versions\n"
    "\n"
    "Exit codes: 0 all records reviewed; 3 finished, some records rejected (see rejects.jsonl);\n"
    "2 usage or job spec error; 1 fatal I/O error; 4 kivo-api refused a token or events (see\n"
    "dead-letter.jsonl); 5 events still pending (kivo-api unreachable: run `submit` later);\n"
    "6 a --fail-on gate failed (batch, compare; it takes precedence over 3, 4 and 5).\n"
    "\n"
    "Tokens: pass API keys and worker credentials in a file (--api-key-file,\n"
    "--worker-credential-file) or the environment (KIVO_API_KEY, KIVO_WORKER_CREDENTIAL), not\n"
    "as an argument: a command line is visible to every user of the machine in `ps` and\n"
    "/proc/PID/cmdline, and often lands in shell history and CI logs.\n";

static const char usage_batch[] =
    "Usage: kivo-worker batch --job-spec-file FILE [--out DIR] [--threads N] [--json]\n"
    "                         [--quiet | --verbose] [--progress-interval S]\n"
    "                         [--html all|flagged|none] [--group-by NAME[,NAME]]\n"
    "                         [--fail-on EXPR] [--junit FILE] [--github-summary]\n"
    "                         [--batch-id ID] [--layout v2|per-run] [--part-size SIZE]\n"
    "                         [--compress none|zstd] [--overwrite] [--reuse PREV_DIR]\n"
    "                         [INPUT...]\n"
    "\n"
    "Reviews every record of the job's inputs (JSON Lines, one AI output with its sources per\n"
    "line; files ending .gz or .zst are decompressed as they are read) and writes, under DIR\n"
    "(default: the job spec's report_store.path):\n"
    "  summary.json     counts by verdict and failure category, records read/reviewed/rejected,\n"
    "                   bytes, seconds, MB/s, peak memory\n"
    "  events.jsonl     one metadata-only completed event per reviewed run\n"
    "  rejects.jsonl    one line per rejected record: file, line, byte offset, reason\n"
    "  reports/part-NNNNN.jsonl   the claim reports, one per line in input order, in parts of\n"
    "                   --part-size bytes (part-NNNNN.jsonl.zst with --compress zstd)\n"
    "  reports/index    SQLite: each run's part, offset, length, SHA-256 and verdict; `kivo-worker\n"
    "                   show --out DIR RUN_ID` prints one report (docs/report-store.md)\n"
    "  index.html       the reviewer's view of the job: verdicts, failure categories, throughput,\n"
    "                   rejects, and the runs to review, most severe first\n"
    "With --layout per-run, instead of parts and index (small jobs, older scripts):\n"
    "  reports/<workflow_id>/<customer_run_id>/claim_report.json, and claim_report.html beside\n"
    "                   the report of each run --html picks: the answer with its claims coloured,\n"
    "                   each claim's evidence within its source. Self-contained (no network,\n"
    "                   strict CSP); open them from the file system\n"
    "A v2 batch checkpoints every 64 MiB of input (DIR/manifest.json): killed, it resumes from its\n"
    "last checkpoint when run again with the same job spec and DIR, with the same output as an\n"
    "uninterrupted run; SIGINT or SIGTERM stop it at the next checkpoint (exit 130 or 143).\n"
    "INPUTs given after the options replace the spec's \"inputs\" and are relative to the\n"
    "working folder. An input is a file, a folder (every *.jsonl and *.ndjson file below it,\n"
    "plain or compressed, searched recursively), a glob (a path component ** matches any number\n"
    "of folders: 'data/**/*.ndjson'), or - for standard input (named <stdin> in rejects; a batch\n"
    "reading it never resumes, it starts over). Inputs are read in the order given, each one's\n"
    "files sorted by path; a file named twice is read once.\n"
    "With --kivo-api-base-url, one call to kivo-api (GET /v1/private-worker/whoami) checks the\n"
    "URL, the API key and its scope private_worker:write before anything is reviewed: if any is\n"
    "wrong the batch ends at once with exit 2 and the server's reason.\n"
    "Reports and pages hold raw text and are created 0600, the other files 0640 and folders 0750,\n"
    "less the umask. No symbolic link below DIR is followed: a link where the batch must write,\n"
    "or a linked folder on its way, stops it (exit 1) with a message that names it.\n"
    "\n"
    "Options:\n"
    "  -f, --job-spec-file FILE  the job spec (kivo_worker_job_spec.v1); inputs are relative to\n"
    "                            its folder\n"
    "  -o, --out DIR             write here instead of report_store.path\n"
    "  -t, --threads N           threads to use (default: all cores)\n"
    "  -j, --json                print the summary as JSON on stdout\n"
    "  -q, --quiet               nothing on stderr but errors and warnings: no progress, no\n"
    "                            closing line\n"
    "  -v, --verbose             also a line per input file once it is read: records,\n"
    "                            reviewed, rejected\n"
    "      --progress-interval S  without a terminal, a progress line (records, MB/s, ETA)\n"
    "                            every S seconds on stderr (default 30; 0: none). On a\n"
    "                            terminal a bar is drawn instead\n"
    "      --chunk-bytes N       bytes read per chunk (default 1 MiB; for benchmarks)\n"
    "      --html MODE           pages for: flagged (needs_review and fail; the default), all,\n"
    "                            or none (no HTML at all, index.html included)\n"
    "      --layout LAYOUT       v2 (the default: parts and an index) or per-run (a folder and\n"
    "                            claim_report.json per run)\n"
    "      --part-size SIZE      v2: close a part once it holds SIZE bytes of reports (K, M, G;\n"
    "                            default 256M, at least 4K)\n"
    "      --compress C          v2: none (the default) or zstd: parts of independent zstd\n"
    "                            frames of about 1 MiB (zstdcat reads them; show reads one frame)\n"
    "      --reuse PREV_DIR      carry over the report of each record whose review key (engine\n"
    "                            and policy versions, strictness, intended use, the output's\n"
    "                            and sources' hashes, source ids and titles) the v2 store in\n"
    "                            PREV_DIR (an earlier batch's out folder) holds, instead of\n"
    "                            reviewing it again: the same bytes and events as a review;\n"
    "                            summary.json counts them as records_reused; a line identical\n"
    "                            to one PREV_DIR stored under the same job is carried whole,\n"
    "                            without being parsed (records_reused_unchanged)\n"
    "      --overwrite           take an out folder that holds another batch's output (another\n"
    "                            job spec, batch id or inputs), which is refused without it\n"
    "      --shard K/N           review only the K-th (0-based) of N deterministic shards of\n"
    "                            the inputs (whole files and line-aligned ranges of large\n"
    "                            ones), into this shard's own DIR and outbox; `kivo-worker\n"
    "                            merge` joins the shards' folders. auto/N takes K from\n"
    "                            JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or\n"
    "                            OMPI_COMM_WORLD_RANK (docs/scale-out.md)\n"
    "      --batch-id ID         the batch (experiment, release) these runs belong to,\n"
    "                            [A-Za-z0-9._:-]{1,128}; overrides the spec's batch_id (default\n"
    "                            \"default\"). In summary.json; in every claim report and event\n"
    "                            unless it is \"default\" (absent means default, as in api.md)\n"
    "      --group-by NAMES      break summary.json and index.html down by these names of the\n"
    "                            job spec's fields.metadata (comma-separated): verdicts, flag\n"
    "                            rate, categories (and scores, with fields.label) per value\n"
    "      --fail-on EXPR        exit 6 when any condition holds, e.g.\n"
    "                            fail_rate>0.02,needs_review_rate>0.10 (NAME OP NUMBER, OP one\n"
    "                            of > >= < <= == !=; an undefined metric fails its condition).\n"
    "                            Metrics: %s\n"
    "      --junit FILE          JUnit XML: a testcase per run, failed when it is flagged\n"
    "                            (message: verdict and categories); rejected records are errors\n"
    "      --github-summary      append a Markdown summary to $GITHUB_STEP_SUMMARY when set\n"
    "      --metrics-file FILE   write the batch's counters in Prometheus text format (for\n"
    "                            node_exporter's textfile collector, e.g. .../kivo.prom): all\n"
    "                            gauges, labelled workflow_id and batch_id; replaced atomically\n"
    "                            at the end (kivo_worker_batch_running 0, the exit code)\n"
    "  -h, --help                this text\n"
    "\n"
    "With fields.label in the job spec (a JSON Pointer to a boolean, \"hallucinated\"/\n"
    "\"faithful\" or \"fail\"/\"pass\"; true = hallucinated), summary.json gives the precision,\n"
    "recall, F1 and balanced accuracy of Kivo's flags (needs_review or fail) against the labels,\n"
    "overall and per group, and index.html the confusion table and the runs they disagree on.\n"
    "fields.metadata values are copied into each claim report only, never into an event.\n"
    "\n"
    "Limits (a record over one is a line of rejects.jsonl with the reason; the rest goes on):\n"
    "  line                      limits.max_line_bytes in the job spec: bytes of one input line,\n"
    "                            default 8 MiB, at most 4 GiB. Memory grows with it: a thread\n"
    "                            may hold about 35 x this at worst (its read chunks with their\n"
    "                            reports and pages), so 64 threads x 8 MiB is about 17 GiB\n"
    "  claims                    10,000 claims per record; a longer answer is rejected, not\n"
    "                            reviewed. A span of more than 256 words without a sentence end\n"
    "                            is reviewed as claims of 256 words\n"
    "\n"
    "Sending to Kivo (optional; DIR is then also the outbox, see `kivo-worker submit --help`):\n"
    "      --kivo-api-base-url URL  after the review, create each reviewed run with the project\n"
    "                            API key (idempotent on customer_run_id) and post its completed\n"
    "                            event with the run's one-run credential, kept in memory only\n"
    "      --api-key-file FILE   the project API key (private_worker:write and :read); or the\n"
    "                            KIVO_API_KEY environment variable. Not on the command line:\n"
    "                            argv is visible to every user in `ps`\n" SEND_OPTIONS;

/* A command's failure: the caller's mistake (usage, job spec, inputs, a folder in use) is 2,
 * anything else at run time 1. */
static int status_exit(kivo_status st)
{
    switch (st) {
    case KIVO_OK: return WK_EXIT_OK;
    case KIVO_EINVAL:
    case KIVO_ESCHEMA:
    case KIVO_EBUSY: return WK_EXIT_USAGE;
    default: return WK_EXIT_IO;
    }
}

/* What a send left: all acknowledged 0, something refused 4, something pending 5. */
static int send_exit(wk_send_outcome o)
{
    return o == WK_SEND_REFUSED   ? WK_EXIT_REFUSED
           : o == WK_SEND_PENDING ? WK_EXIT_PENDING
                                  : WK_EXIT_OK;
}

static int run_exit(wk_run_outcome o)
{
    switch (o) {
    case WK_RUN_REPORTED: return WK_EXIT_OK;
    case WK_RUN_UNREVIEWED: return WK_EXIT_REJECTS;
    case WK_RUN_REFUSED: return WK_EXIT_REFUSED;
    case WK_RUN_PENDING: return WK_EXIT_PENDING;
    }
    return WK_EXIT_IO;
}

static int parse_positive(const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v <= 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char usage_run[] =
    "Usage: kivo-worker run --job-token local --job-spec-file FILE --kivo-api-base-url URL\n"
    "                       --review-run-id ID (--worker-credential-file FILE | env\n"
    "                       KIVO_WORKER_CREDENTIAL | --worker-credential TOKEN) [--outbox DIR]\n"
    "\n"
    "Reviews the one run that a private-worker create call made. With the run's own worker\n"
    "credential it reads the run (to learn its customer_run_id), posts a started event, finds\n"
    "that record in the job spec's inputs, reviews it, writes its claim report to the report\n"
    "store (REPORT_STORE/reports/<workflow_id>/<customer_run_id>/claim_report.json) and posts\n"
    "the completed event; or a failed event with a redacted failure_code (record_not_found,\n"
    "unreviewable_record) when the record is missing or cannot be reviewed. Only metadata\n"
    "leaves: ids, counts, hashes, verdicts, categories.\n"
    "\n"
    "Options:\n"
    "      --job-token local          where the job comes from; only `local` (the job spec\n"
    "                                 file) is supported\n"
    "  -f, --job-spec-file FILE       the job spec (kivo_worker_job_spec.v1)\n"
    "      --kivo-api-base-url URL    kivo-api, e.g. https://api.kivo.example\n"
    "      --review-run-id ID         the review_run_id the create call returned\n"
    "      --worker-credential-file FILE\n"
    "                                 the worker_credential the create call returned\n"
    "      --worker-credential TOKEN  the same, on the command line. Prefer the file or the\n"
    "                                 KIVO_WORKER_CREDENTIAL environment variable: argv is\n"
    "                                 visible to every user of the machine in `ps` and\n"
    "                                 /proc/PID/cmdline, and ends up in shell history and CI\n"
    "                                 logs; a file (mode 0600) or the environment is not\n"
    "      --batch-id ID              the run's batch in its report and events (default: the\n"
    "                                 spec's batch_id)\n"
    "      --outbox DIR               where the events wait (default\n"
    "                                 REPORT_STORE/runs/<review_run_id>)\n"
    "  -j, --json                     print the outcome as JSON on stdout\n"
    "      --retry-deadline S, --request-timeout S   as for `batch`\n"
    "  -h, --help                     this text\n"
    "\n"
    "Exit codes: 0 completed and reported; 3 record missing or unreviewable (failed event sent);\n"
    "2 usage or job spec; 4 the server refused the credential or an event; 5 kivo-api could\n"
    "not be reached in time (events kept in the outbox); 1 fatal I/O.\n";

static const char usage_submit[] =
    "Usage: kivo-worker submit --outbox DIR --kivo-api-base-url URL\n"
    "                          (--api-key-file FILE | --worker-credential-file FILE\n"
    "                           --review-run-id ID) [--json]\n"
    "\n"
    "Sends whatever an outbox still holds: a batch's output folder, or a run's outbox. Every\n"
    "event is in DIR/events.jsonl and its state in DIR/outbox.state (\"event_id state\n"
    "review_run_id\" lines, fsync'd before any send; state created, sent, dead, or elsewhere:\n"
    "an MPI rank's run that an earlier rank holds, never sent from here). An event is\n"
    "marked sent only once kivo-api acknowledged it (202, or 200 for a replay); sending again\n"
    "what is already sent sends nothing and creates nothing. No answer, 429 and 5xx are retried\n"
    "with exponential backoff and jitter (Retry-After honoured); any other 4xx goes to\n"
    "DIR/dead-letter.jsonl with the server's error. An event holding a raw field (ai_output,\n"
    "prompt, messages, source_text, ...) at any depth is refused before it is sent.\n"
    "\n"
    "Options:\n"
    "      --outbox DIR               the outbox folder\n"
    "      --kivo-api-base-url URL    kivo-api\n"
    "      --api-key-file FILE        project API key (or KIVO_API_KEY): creates the runs of a\n"
    "                                 batch's events (idempotent on customer_run_id)\n"
    "      --worker-credential-file FILE, --review-run-id ID\n"
    "                                 or one run's credential (or KIVO_WORKER_CREDENTIAL), for\n"
    "                                 a run's outbox. Tokens are never taken on the command\n"
    "                                 line: argv is visible to every user in `ps`\n"
    "  -j, --json                     print the counts as JSON on stdout\n" SEND_OPTIONS
    "  -h, --help                     this text\n"
    "\n"
    "Exit codes: 0 nothing left to send; 4 events were refused (dead-letter.jsonl) or the token\n"
    "was; 5 events still pending; 2 usage; 1 fatal I/O.\n";

enum {
    OPT_BASE_URL = 256,
    OPT_API_KEY_FILE,
    OPT_CONCURRENCY,
    OPT_DEADLINE,
    OPT_TIMEOUT,
    OPT_JOB_TOKEN,
    OPT_RUN_ID,
    OPT_CRED,
    OPT_CRED_FILE,
    OPT_OUTBOX,
    OPT_HTML,
    OPT_GROUP_BY,
    OPT_FAIL_ON,
    OPT_JUNIT,
    OPT_GH_SUMMARY,
    OPT_BATCH_ID,
    OPT_PROGRESS_INTERVAL,
    OPT_METRICS_FILE,
    OPT_LAYOUT,
    OPT_PART_SIZE,
    OPT_COMPRESS,
    OPT_OVERWRITE,
    OPT_REUSE,
    OPT_SHARD
};

/* Each command's options; optenv.h adds their KIVO_* variables and the unknown-option line. */
static const struct option batch_opts[] = {
    {"job-spec-file", required_argument, NULL, 'f'},
    {"out", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, 't'},
    {"json", no_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"verbose", no_argument, NULL, 'v'},
    {"progress-interval", required_argument, NULL, OPT_PROGRESS_INTERVAL},
    {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
    {"chunk-bytes", required_argument, NULL, 'c'},
    {"html", required_argument, NULL, OPT_HTML},
    {"group-by", required_argument, NULL, OPT_GROUP_BY},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"github-summary", no_argument, NULL, OPT_GH_SUMMARY},
    {"batch-id", required_argument, NULL, OPT_BATCH_ID},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"part-size", required_argument, NULL, OPT_PART_SIZE},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"reuse", required_argument, NULL, OPT_REUSE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"kivo-api-base-url", required_argument, NULL, OPT_BASE_URL},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"retry-deadline", required_argument, NULL, OPT_DEADLINE},
    {"request-timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0}};
static const wk_optenv_cmd batch_cmd = {"batch", ":f:o:t:jqvh", batch_opts, NULL, NULL};

static const struct option run_opts[] = {
    {"job-token", required_argument, NULL, OPT_JOB_TOKEN},
    {"job-spec-file", required_argument, NULL, 'f'},
    {"kivo-api-base-url", required_argument, NULL, OPT_BASE_URL},
    {"review-run-id", required_argument, NULL, OPT_RUN_ID},
    {"worker-credential", required_argument, NULL, OPT_CRED},
    {"worker-credential-file", required_argument, NULL, OPT_CRED_FILE},
    {"outbox", required_argument, NULL, OPT_OUTBOX},
    {"batch-id", required_argument, NULL, OPT_BATCH_ID},
    {"retry-deadline", required_argument, NULL, OPT_DEADLINE},
    {"request-timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};
static const wk_optenv_cmd run_cmd = {"run", ":f:jh", run_opts, NULL, NULL};

static const struct option submit_opts[] = {
    {"outbox", required_argument, NULL, OPT_OUTBOX},
    {"kivo-api-base-url", required_argument, NULL, OPT_BASE_URL},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"worker-credential-file", required_argument, NULL, OPT_CRED_FILE},
    {"review-run-id", required_argument, NULL, OPT_RUN_ID},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"retry-deadline", required_argument, NULL, OPT_DEADLINE},
    {"request-timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};
static const wk_optenv_cmd submit_cmd = {"submit", ":jqh", submit_opts, NULL, NULL};

static const struct option explain_opts[] = {{"job-spec-file", required_argument, NULL, 'f'},
                                             {"run-id", required_argument, NULL, 'r'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
static const char *const explain_scoped[] = {"run-id", NULL};
static const wk_optenv_cmd explain_cmd = {"explain", ":f:r:jh", explain_opts, "EXPLAIN",
                                          explain_scoped};

/* A command's --help: its usage, then its environment variables. */
static void usage_env(FILE *f, const char *usage, const wk_optenv_cmd *cmd)
{
    fputs(usage, f);
    wk_optenv_help(f, cmd);
}

/* batch --help: the usage with the gate's metric names filled in. */
static void batch_usage(FILE *f)
{
    wk_metric m[WK_BATCH_METRICS];
    char names[1024];
    wk_gate_names(m, wk_batch_metrics(NULL, m), names, sizeof names);
    fprintf(f, usage_batch, names);
    wk_optenv_help(f, &batch_cmd);
}

/* The send options shared by batch and submit. @return 0, 1 when not one of them, -1 bad. */
static int send_option(const wk_optenv *oe, int c, wk_send_opts *so, const char **api_key_file)
{
    const char *cmd = oe->cmd->name;
    long v;
    char *end;
    double d;
    switch (c) {
    case OPT_BASE_URL: so->base_url = optarg; return 0;
    case OPT_API_KEY_FILE: *api_key_file = optarg; return 0;
    case OPT_CONCURRENCY:
        if (parse_positive(optarg, 256, &v) != 0) {
            fprintf(stderr, "kivo-worker %s: --concurrency takes 1 to 256%s\n", cmd,
                    wk_optenv_origin(oe, optarg));
            return -1;
        }
        so->concurrency = (int)v;
        return 0;
    case OPT_DEADLINE:
    case OPT_TIMEOUT:
        d = strtod(optarg, &end);
        if (!*optarg || *end || !(d > 0) || d > 86400 * 7) {
            fprintf(stderr, "kivo-worker %s: %s takes a number of seconds%s\n", cmd,
                    c == OPT_DEADLINE ? "--retry-deadline" : "--request-timeout",
                    wk_optenv_origin(oe, optarg));
            return -1;
        }
        if (c == OPT_DEADLINE)
            so->deadline_s = d;
        else
            so->timeout_ms = (long)(d * 1000);
        return 0;
    }
    return 1;
}

/* The API key from --api-key-file or KIVO_API_KEY. */
static int load_api_key(const char *cmd, const char *file, char key[WK_SECRET_MAX])
{
    char err[1024];
    const char *env = getenv("KIVO_API_KEY");
    if (file  ? wk_secret_read_file(file, key, err, sizeof err)
        : env ? wk_secret_copy(env, "KIVO_API_KEY", key, err, sizeof err)
              : -1) {
        if (!file && !env)
            snprintf(err, sizeof err,
                     "--api-key-file FILE (or KIVO_API_KEY) is required with "
                     "--kivo-api-base-url");
        fprintf(stderr, "kivo-worker %s: %s\n", cmd, err);
        return -1;
    }
    return 0;
}

static int load_credential(const char *cmd, const char *flag, const char *file,
                           char cred[WK_SECRET_MAX])
{
    char err[1024];
    const char *env = getenv("KIVO_WORKER_CREDENTIAL");
    int rc;
    if (file)
        rc = wk_secret_read_file(file, cred, err, sizeof err);
    else if (flag)
        rc = wk_secret_copy(flag, "--worker-credential", cred, err, sizeof err);
    else if (env)
        rc = wk_secret_copy(env, "KIVO_WORKER_CREDENTIAL", cred, err, sizeof err);
    else {
        rc = -1;
        snprintf(err, sizeof err,
                 "a worker credential is required: --worker-credential-file "
                 "FILE, or KIVO_WORKER_CREDENTIAL in the environment");
    }
    if (rc != 0)
        fprintf(stderr, "kivo-worker %s: %s\n", cmd, err);
    return rc;
}

static void stats_json(const wk_send_stats *s, const char *dir)
{
    json_t *j =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "outbox",
                  dir, "events", (json_int_t)s->events, "sent", (json_int_t)s->sent, "replayed",
                  (json_int_t)s->replayed, "already_sent", (json_int_t)s->already, "other_shards",
                  (json_int_t)s->elsewhere, "runs_created", (json_int_t)s->runs_created,
                  "runs_reused", (json_int_t)s->runs_reused, "dead_lettered", (json_int_t)s->dead,
                  "pending", (json_int_t)s->pending, "requests", (json_int_t)s->requests, "retries",
                  (json_int_t)s->retries, "seconds", s->seconds);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (t)
        printf("%s\n", t);
    free(t);
    json_decref(j);
}

static int cmd_run(const wk_optenv *oe)
{
    wk_run_opts ro = {0};
    wk_send_opts so = {0};
    const char *job_token = NULL, *cred_flag = NULL, *cred_file = NULL, *unused = NULL;
    char cred[WK_SECRET_MAX], err[2048];
    int c, r;
    optind = 1;
    while ((c = getopt_long(oe->argc, oe->argv, run_cmd.shortopts, run_opts, NULL)) != -1) {
        switch (c) {
        case OPT_JOB_TOKEN: job_token = optarg; break;
        case OPT_BATCH_ID: ro.batch_id = optarg; break;
        case 'f': ro.spec_path = optarg; break;
        case OPT_RUN_ID: ro.review_run_id = optarg; break;
        case OPT_CRED: cred_flag = optarg; break;
        case OPT_CRED_FILE: cred_file = optarg; break;
        case OPT_OUTBOX: ro.outbox_dir = optarg; break;
        case 'j': ro.json = 1; break;
        case 'h': usage_env(stdout, usage_run, &run_cmd); return WK_EXIT_OK;
        default:
            r = send_option(oe, c, &so, &unused);
            if (r == 0 && c != OPT_API_KEY_FILE)
                break;
            if (r > 0)
                wk_optenv_unknown(oe, c);
            return WK_EXIT_USAGE;
        }
    }
    if (optind < oe->argc) {
        fprintf(stderr, "kivo-worker run: unexpected argument '%s'\n", oe->argv[optind]);
        return WK_EXIT_USAGE;
    }
    if (!job_token) {
        fprintf(stderr, "kivo-worker run: --job-token is required (only `local` is supported)\n");
        return WK_EXIT_USAGE;
    }
    if (strcmp(job_token, "local") != 0) {
        fprintf(stderr,
                "kivo-worker run: --job-token '%s' is not supported: this worker only "
                "runs local jobs (--job-token local with --job-spec-file)\n",
                job_token);
        return WK_EXIT_USAGE;
    }
    if (!ro.spec_path || !so.base_url || !ro.review_run_id) {
        fprintf(stderr, "kivo-worker run: --job-spec-file, --kivo-api-base-url and "
                        "--review-run-id are required (see 'kivo-worker run --help')\n");
        return WK_EXIT_USAGE;
    }
    if (load_credential("run", cred_flag, cred_file, cred) != 0)
        return WK_EXIT_USAGE;
    ro.base_url = so.base_url;
    ro.credential = cred;
    ro.deadline_s = so.deadline_s;
    ro.timeout_ms = so.timeout_ms;
    wk_run_outcome outcome;
    kivo_status st = wk_run(&ro, &outcome, err, sizeof err);
    r = st != KIVO_OK ? status_exit(st) : run_exit(outcome);
    if (r != WK_EXIT_OK)
        fprintf(stderr, "kivo-worker run: %s\n", err);
    memset(cred, 0, sizeof cred);
    return r;
}

/* Takes DIR's lock (made first if missing); on failure says why. @return the lock's fd or -1. */
static int lock_dir(const char *cmd, const char *dir)
{
    int fd = wk_dir_open(dir, 1);
    if (fd < 0 || wk_dir_lock(fd) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            fprintf(stderr,
                    "kivo-worker %s: %s is in use by another kivo-worker process (it "
                    "holds the folder's lock); wait for it to end\n",
                    cmd, dir);
        else
            fprintf(stderr, "kivo-worker %s: cannot lock %s: %s\n", cmd, dir, strerror(e));
        if (fd >= 0)
            close(fd);
        errno = e;
        fd = -1;
    }
    return fd;
}

static int cmd_submit(const wk_optenv *oe)
{
    wk_send_opts so = {0};
    wk_send_stats st;
    const char *outbox = NULL, *key_file = NULL, *cred_file = NULL;
    char key[WK_SECRET_MAX], cred[WK_SECRET_MAX], err[2048];
    int c, r, json = 0;
    optind = 1;
    while ((c = getopt_long(oe->argc, oe->argv, submit_cmd.shortopts, submit_opts, NULL)) != -1) {
        switch (c) {
        case OPT_OUTBOX: outbox = optarg; break;
        case OPT_CRED_FILE: cred_file = optarg; break;
        case OPT_RUN_ID: so.review_run_id = optarg; break;
        case 'j': json = 1; break;
        case 'q': so.quiet = 1; break;
        case 'h': usage_env(stdout, usage_submit, &submit_cmd); return WK_EXIT_OK;
        default:
            r = send_option(oe, c, &so, &key_file);
            if (r == 0)
                break;
            if (r > 0)
                wk_optenv_unknown(oe, c);
            return WK_EXIT_USAGE;
        }
    }
    if (optind < oe->argc) {
        fprintf(stderr, "kivo-worker submit: unexpected argument '%s'\n", oe->argv[optind]);
        return WK_EXIT_USAGE;
    }
    if (!outbox || !so.base_url) {
        fprintf(stderr, "kivo-worker submit: --outbox and --kivo-api-base-url are required (see "
                        "'kivo-worker submit --help')\n");
        return WK_EXIT_USAGE;
    }
    if (so.review_run_id || cred_file) {
        if (!so.review_run_id || load_credential("submit", NULL, cred_file, cred) != 0) {
            if (!so.review_run_id)
                fprintf(stderr, "kivo-worker submit: a worker credential needs --review-run-id\n");
            return WK_EXIT_USAGE;
        }
        so.credential = cred;
    } else {
        if (load_api_key("submit", key_file, key) != 0)
            return WK_EXIT_USAGE;
        so.api_key = key;
    }
    int lock = lock_dir("submit", outbox);
    if (lock < 0) {
        memset(key, 0, sizeof key);
        memset(cred, 0, sizeof cred);
        return errno == EWOULDBLOCK ? WK_EXIT_USAGE : WK_EXIT_IO;
    }
    kivo_status ks = wk_send_outbox(outbox, &so, &st, err, sizeof err);
    r = ks != KIVO_OK ? status_exit(ks) : send_exit(st.outcome);
    close(lock);
    wk_send_stats_print(&st, outbox);
    if (json)
        stats_json(&st, outbox);
    if (r != WK_EXIT_OK && err[0])
        fprintf(stderr, "kivo-worker submit: %s\n", err);
    memset(key, 0, sizeof key);
    memset(cred, 0, sizeof cred);
    return r;
}

/* After a batch: make its events durable, describe the outbox, send. */
static int batch_send(const wk_jobspec *spec, const char *out, const wk_send_opts *so_in,
                      const char *key, int quiet)
{
    wk_send_opts so = *so_in;
    wk_send_stats st;
    wk_outbox_meta m = {0};
    char prefix[WK_REPORT_DIR_MAX], err[2048];
    int r;
    wk_report_dir(spec->workflow_id, prefix);
    m.workflow_id = spec->workflow_id;
    m.workflow_name = spec->workflow_name;
    m.intended_use = (char *)kivo_intended_use_name(spec->intended_use);
    m.strictness = (char *)kivo_strictness_name(spec->strictness);
    m.policy_version = spec->policy_version;
    m.storage_label = spec->report_label;
    m.report_prefix = prefix;
    if (wk_outbox_sync_events(out) != 0 || wk_outbox_meta_write(out, &m) != 0) {
        fprintf(stderr, "kivo-worker batch: cannot make the outbox in %s durable: %s\n", out,
                strerror(errno));
        return WK_EXIT_IO;
    }
    so.api_key = key;
    kivo_status ks = wk_send_outbox(out, &so, &st, err, sizeof err);
    r = ks != KIVO_OK ? status_exit(ks) : send_exit(st.outcome);
    if (!quiet || r != WK_EXIT_OK)
        wk_send_stats_print(&st, out);
    if (r != WK_EXIT_OK && err[0])
        fprintf(stderr, "kivo-worker batch: %s\n", err);
    return r;
}

/* A batch that rejected every record: most often a JSON Pointer of the spec that names nothing
 * in these records. Says so, with the pointers, the first reject's reason (it names the one that
 * failed) and the keys the first record does have. A warning: printed even with --quiet. */
static void all_rejected(const wk_jobspec *spec, const wk_summary *sum, const char *out)
{
    static const char *const names[6] = {"customer_run_id", "output",       "sources",
                                         "source_id",       "source_title", "source_text"};
    fprintf(stderr,
            "kivo-worker: warning: every record was rejected (%llu of %llu), nothing was "
            "reviewed; see %s/rejects.jsonl\n",
            (unsigned long long)sum->records_rejected, (unsigned long long)sum->records_read, out);
    if (sum->first_reject[0])
        fprintf(stderr, "kivo-worker: the first reject: %s\n", sum->first_reject);
    fprintf(stderr, "kivo-worker: the job spec's JSON Pointers (fields.*):");
    for (int i = 0; i < 6; i++)
        fprintf(stderr, "%s %s \"%s\"", i ? "," : "", names[i], spec->field[i]);
    fprintf(stderr, "\n");
    if (sum->first_keys[0])
        fprintf(stderr, "kivo-worker: the first record's top-level keys: %s\n", sum->first_keys);
    fprintf(stderr, "kivo-worker: a pointer that names nothing in these records is the usual "
                    "cause: set fields in the job spec to match them\n");
}

static int cmd_batch(const wk_optenv *oe)
{
    wk_send_opts so = {0};
    const char *key_file = NULL;
    char key[WK_SECRET_MAX];
    const char *spec_path = NULL;
    wk_batch_opts bo = {0};
    wk_shard shard;
    const char *group_by = NULL, *fail_on = NULL, *junit_path = NULL, *batch_id = NULL;
    wk_gate *gate = NULL;
    wk_metric metrics[WK_BATCH_METRICS];
    int json = 0, quiet = 0, verbose = 0, gh_summary = 0, c;
    double interval = WK_PROGRESS_INTERVAL;
    char *end;
    long v;
    optind = 1;
    while ((c = getopt_long(oe->argc, oe->argv, batch_cmd.shortopts, batch_opts, NULL)) != -1) {
        switch (c) {
        case 'f': spec_path = optarg; break;
        case 'o': bo.out_dir = optarg; break;
        case 't':
            if (parse_positive(optarg, 4096, &v) != 0) {
                fprintf(stderr,
                        "kivo-worker batch: --threads takes a whole number from 1 to "
                        "4096%s\n",
                        wk_optenv_origin(oe, optarg));
                return WK_EXIT_USAGE;
            }
            bo.threads = (int)v;
            break;
        case 'c':
            if (parse_positive(optarg, 1L << 30, &v) != 0 || v < 4096) {
                fprintf(stderr, "kivo-worker batch: --chunk-bytes takes 4096 to 1073741824%s\n",
                        wk_optenv_origin(oe, optarg));
                return WK_EXIT_USAGE;
            }
            bo.chunk_bytes = (size_t)v;
            break;
        case OPT_HTML:
            if (wk_html_mode_parse(optarg, &bo.html) != 0) {
                fprintf(stderr, "kivo-worker batch: --html takes all, flagged or none%s\n",
                        wk_optenv_origin(oe, optarg));
                return WK_EXIT_USAGE;
            }
            break;
        case OPT_GROUP_BY: group_by = optarg; break;
        case OPT_FAIL_ON: fail_on = optarg; break;
        case OPT_JUNIT: junit_path = optarg; break;
        case OPT_GH_SUMMARY: gh_summary = 1; break;
        case OPT_BATCH_ID: batch_id = optarg; break;
        case OPT_LAYOUT:
            if (!strcmp(optarg, "v2"))
                bo.layout = WK_LAYOUT_V2;
            else if (!strcmp(optarg, "per-run"))
                bo.layout = WK_LAYOUT_PER_RUN;
            else {
                fprintf(stderr, "kivo-worker batch: --layout takes v2 or per-run\n");
                return WK_EXIT_USAGE;
            }
            break;
        case OPT_PART_SIZE:
            if (wk_size_parse(optarg, WK_PART_SIZE_MIN, &bo.part_size) != 0) {
                fprintf(stderr, "kivo-worker batch: --part-size takes a size of at least 4K, "
                                "e.g. 64M or 1G\n");
                return WK_EXIT_USAGE;
            }
            break;
        case OPT_OVERWRITE: bo.overwrite = 1; break;
        case OPT_REUSE: bo.reuse = optarg; break;
        case OPT_SHARD: {
            char serr[256];
            if (wk_shard_parse(optarg, &shard, serr, sizeof serr) != 0) {
                fprintf(stderr, "kivo-worker batch: %s%s\n", serr, wk_optenv_origin(oe, optarg));
                return WK_EXIT_USAGE;
            }
            bo.shard = &shard;
            break;
        }
        case OPT_COMPRESS: {
            wk_compress cz;
            if (wk_compress_parse(optarg, &cz) != 0) {
                fprintf(stderr, "kivo-worker batch: --compress takes none or zstd\n");
                return WK_EXIT_USAGE;
            }
            bo.compress = (int)cz;
            break;
        }
        case OPT_METRICS_FILE: bo.metrics_file = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case OPT_PROGRESS_INTERVAL:
            interval = strtod(optarg, &end);
            if (!*optarg || *end || !(interval >= 0) || interval > 86400) {
                fprintf(stderr,
                        "kivo-worker batch: --progress-interval takes seconds from 0 to "
                        "86400%s\n",
                        wk_optenv_origin(oe, optarg));
                return WK_EXIT_USAGE;
            }
            break;
        case 'h': batch_usage(stdout); return WK_EXIT_OK;
        default: {
            int r = send_option(oe, c, &so, &key_file);
            if (r == 0)
                break;
            if (r > 0)
                wk_optenv_unknown(oe, c);
            return WK_EXIT_USAGE;
        }
        }
    }
    char *const *cli_inputs = oe->argv + optind;
    size_t n_cli_inputs = (size_t)(oe->argc - optind);
    if (!spec_path) {
        fprintf(stderr, "kivo-worker batch: --job-spec-file is required (or KIVO_JOB_SPEC_FILE; "
                        "see 'kivo-worker batch --help')\n");
        return WK_EXIT_USAGE;
    }
    if (!so.base_url && key_file) {
        fprintf(stderr, "kivo-worker batch: --api-key-file needs --kivo-api-base-url\n");
        return WK_EXIT_USAGE;
    }
    char err[1024];
    if (fail_on && wk_gate_parse(fail_on, metrics, wk_batch_metrics(NULL, metrics), &gate, err,
                                 sizeof err) != 0) {
        fprintf(stderr, "kivo-worker batch: %s\n", err);
        return WK_EXIT_USAGE;
    }
    if (so.base_url && load_api_key("batch", key_file, key) != 0) {
        wk_gate_free(gate);
        return WK_EXIT_USAGE;
    }
    wk_jobspec spec;
    if (wk_jobspec_load(spec_path, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker: %s\n", err);
        wk_gate_free(gate);
        return WK_EXIT_USAGE;
    }
    if ((batch_id && wk_jobspec_set_batch(&spec, batch_id, err, sizeof err) != 0) ||
        (n_cli_inputs &&
         wk_jobspec_set_inputs(&spec, cli_inputs, n_cli_inputs, err, sizeof err) != 0) ||
        wk_breakdown_create(&spec, group_by, &bo.breakdown, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker batch: %s\n", err);
        wk_gate_free(gate);
        wk_jobspec_free(&spec);
        return WK_EXIT_USAGE;
    }
    /* The URL, key and scope, checked before anything is reviewed (preflight.h). */
    if (so.base_url && wk_preflight(&so, key, err, sizeof err) != 0) {
        fprintf(stderr,
                "kivo-worker batch: the check of kivo-api at %s (the URL, the API key and its "
                "scope private_worker:write) failed: %s; nothing was reviewed\n",
                so.base_url, err);
        memset(key, 0, sizeof key);
        wk_breakdown_free(bo.breakdown);
        wk_gate_free(gate);
        wk_jobspec_free(&spec);
        return WK_EXIT_USAGE;
    }
#ifdef KIVO_WORKER_MPI
    /* Under mpirun each rank is a shard with its own folder below DIR; rank 0 merges (mpi_ranks.h). */
    char rank_out[4096];
    const char *mpi_out = bo.out_dir ? bo.out_dir : spec.report_path;
    int mpi_json = json, mpi_quiet = quiet;
    int mpi_bad = bo.shard || junit_path || fail_on || gh_summary || bo.metrics_file ||
                  bo.layout == WK_LAYOUT_PER_RUN;
    if (mpi_bad)
        snprintf(err, sizeof err,
                 "under mpirun each rank is a shard: --shard, --junit, --fail-on, "
                 "--github-summary, --metrics-file and --layout per-run are not taken (merge "
                 "the ranks' folders, then gate with compare)");
    if (mpi_bad || wk_mpi_rank_dir(mpi_out, rank_out, sizeof rank_out, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker batch: %s\n", err);
        wk_breakdown_free(bo.breakdown);
        wk_gate_free(gate);
        wk_jobspec_free(&spec);
        return WK_EXIT_USAGE;
    }
    shard = (wk_shard){(uint32_t)wk_mpi_rank(), (uint32_t)wk_mpi_size()};
    bo.shard = &shard;
    bo.out_dir = rank_out;
    bo.merged_only = 1; /* rank 0 merges it: no lookups by id there */
    json = 0;
    quiet = 1; /* R ranks' lines would interleave: rank 0 says it once, for all */
#endif
    if (bo.metrics_file) {
        /* Its folder must be there now, not found missing after an hour's batch. */
        const char *name;
        struct stat st;
        int mfd = wk_file_dir(bo.metrics_file, &name);
        int link = mfd >= 0 && *name && fstatat(mfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISLNK(st.st_mode);
        if (mfd < 0 || !*name || link) {
            fprintf(stderr, "kivo-worker batch: cannot write --metrics-file %s: %s\n",
                    bo.metrics_file,
                    mfd < 0 ? strerror(errno)
                    : link  ? "it is a symbolic link, which is never followed"
                            : "it names a folder");
            if (mfd >= 0)
                close(mfd);
            wk_breakdown_free(bo.breakdown);
            wk_gate_free(gate);
            wk_jobspec_free(&spec);
            return WK_EXIT_USAGE;
        }
        close(mfd);
    }
    if (junit_path && wk_junit_open(junit_path, &bo.junit) != 0) {
        fprintf(stderr, "kivo-worker batch: cannot write %s: %s\n", junit_path, strerror(errno));
        wk_breakdown_free(bo.breakdown);
        wk_gate_free(gate);
        wk_jobspec_free(&spec);
        return WK_EXIT_IO;
    }
    bo.progress = quiet                   ? WK_PROGRESS_OFF
                  : isatty(STDERR_FILENO) ? WK_PROGRESS_BAR
                  : interval > 0          ? WK_PROGRESS_LINES
                                          : WK_PROGRESS_OFF;
    bo.progress_interval = interval;
    bo.verbose = verbose && !quiet;
    so.quiet = quiet;
    bo.spec_path = spec_path;
    bo.group_by = group_by;
    /* Input bytes between checkpoints: a tuning knob, and how the crash tests get many. */
    const char *ckb = getenv("KIVO_WORKER_CHECKPOINT_BYTES");
    unsigned long long ck = 0;
    if (ckb && wk_size_parse(ckb, 1, &ck) == 0)
        bo.checkpoint_bytes = ck;
    /* Runs a page of the store v2 (at most 500): a knob for the tests' many pages. */
    const char *pr = getenv("KIVO_WORKER_PAGE_RUNS");
    unsigned long long runs = 0;
    if (pr && wk_size_parse(pr, 1, &runs) == 0 && runs <= WK_HTML_RUNS_PER_PAGE)
        bo.page_runs = (unsigned)runs;
    wk_summary sum;
    kivo_status st = wk_batch_run(&spec, &bo, &sum, err, sizeof err);
    if (st == KIVO_OK && sum.interrupted) {
        const char *out = bo.out_dir ? bo.out_dir : spec.report_path;
        fprintf(stderr,
                "kivo-worker batch: stopped by %s after %llu records (%s/summary.json "
                "says \"interrupted\"); %s\n",
                sum.interrupted == SIGINT ? "SIGINT" : "SIGTERM",
                (unsigned long long)sum.records_read, out,
                bo.layout == WK_LAYOUT_PER_RUN
                    ? "the per-run layout does not resume: run the same command to start again"
                    : "run the same command again (same job spec and --out) to resume from "
                      "here");
        if (bo.lock_fd >= 0)
            close(bo.lock_fd);
        memset(key, 0, sizeof key);
        wk_junit_free(bo.junit);
        wk_breakdown_free(bo.breakdown);
        wk_gate_free(gate);
        wk_jobspec_free(&spec);
        return 128 + sum.interrupted;
    }
    int rc = st != KIVO_OK ? status_exit(st) : sum.records_rejected ? WK_EXIT_REJECTS : WK_EXIT_OK;
    char tripped[4096] = "";
    int gate_failed = 0;
    if (st == KIVO_OK) {
        if (bo.junit) {
            char suite[600];
            wk_junit *ju = bo.junit;
            bo.junit = NULL;
            snprintf(suite, sizeof suite, "kivo batch %s", spec.workflow_id);
            if (wk_junit_close(ju, suite, sum.seconds) != 0) {
                /* (kivo-worker-mpi takes no --junit: there the compiler sees NULL here.) */
                fprintf(stderr, "kivo-worker batch: cannot write %s: %s\n",
                        junit_path ? junit_path : "--junit", strerror(errno));
                rc = WK_EXIT_IO;
            }
        }
        if (gate) {
            size_t n = wk_batch_metrics(&sum, metrics);
            gate_failed = wk_gate_eval(gate, metrics, n, tripped, sizeof tripped) > 0;
        }
    }
    int may_send = so.base_url != NULL;
#ifdef KIVO_WORKER_MPI
    /* Which rank sends which run is known only once every rank finished: decided here, on all. */
    if (may_send) {
        int c = wk_mpi_claim_runs(rc == WK_EXIT_OK || rc == WK_EXIT_REJECTS, bo.out_dir, mpi_quiet);
        if (c < 0 && (rc == WK_EXIT_OK || rc == WK_EXIT_REJECTS))
            rc = WK_EXIT_IO;
        may_send = c > 0;
    }
#endif
    if (rc == WK_EXIT_OK || rc == WK_EXIT_REJECTS) {
        const char *out = bo.out_dir ? bo.out_dir : spec.report_path;
        if (json) {
            char *js = wk_summary_json(&sum, &spec, out);
            if (js)
                fputs(js, stdout);
            free(js);
        } else if (!quiet) {
            fprintf(stderr,
                    "kivo-worker: %llu records read, %llu reviewed, %llu rejected; verdicts: "
                    "%llu pass, %llu needs_review, %llu fail; %.1f MB/s; reports in %s\n",
                    (unsigned long long)sum.records_read, (unsigned long long)sum.records_reviewed,
                    (unsigned long long)sum.records_rejected, (unsigned long long)sum.verdicts[0],
                    (unsigned long long)sum.verdicts[1], (unsigned long long)sum.verdicts[2],
                    sum.seconds > 0 ? (double)sum.bytes / 1e6 / sum.seconds : 0.0, out);
        }
        if (rc == WK_EXIT_REJECTS && sum.records_reviewed == 0)
            all_rejected(&spec, &sum, out);
        else if (rc == WK_EXIT_REJECTS && !quiet)
            fprintf(stderr, "kivo-worker: %llu records rejected: see %s/rejects.jsonl\n",
                    (unsigned long long)sum.records_rejected, out);
        if (gh_summary) {
            char *js = wk_summary_json(&sum, &spec, out);
            json_t *sj = js ? json_loads(js, 0, NULL) : NULL;
            if (!sj || wk_github_summary_batch(sj, fail_on, gate_failed ? tripped : NULL, err,
                                               sizeof err) != 0)
                fprintf(stderr, "kivo-worker batch: %s\n", sj ? err : "out of memory");
            json_decref(sj);
            free(js);
        }
        if (may_send) {
            int sr = batch_send(&spec, out, &so, key, quiet);
            if (sr != WK_EXIT_OK)
                rc = sr;
        }
        if (gate_failed) {
            fprintf(stderr, "kivo-worker batch: gate failed (--fail-on %s):\n",
                    fail_on ? fail_on : "");
            for (char *line = tripped; *line;) {
                char *e = strchr(line, '\n');
                fprintf(stderr, "  %.*s\n", e ? (int)(e - line) : (int)strlen(line), line);
                line = e ? e + 1 : line + strlen(line);
            }
            rc = WK_EXIT_GATE;
        }
    } else if (rc != WK_EXIT_IO || err[0]) {
        fprintf(stderr, "kivo-worker: %s\n", err);
    }
    /* Last, with the exit code the batch ends with; even a failed batch leaves its counters. */
    if (bo.metrics_file && wk_metrics_file_write(bo.metrics_file, &sum, &spec, 0, rc) != 0) {
        fprintf(stderr, "kivo-worker batch: cannot write %s: %s\n", bo.metrics_file,
                strerror(errno));
        if (rc == WK_EXIT_OK || rc == WK_EXIT_REJECTS)
            rc = WK_EXIT_IO;
    }
    if (bo.lock_fd >= 0)
        close(bo.lock_fd);
#ifdef KIVO_WORKER_MPI
    rc = wk_mpi_batch_end(rc, &sum, mpi_out, mpi_json, mpi_quiet);
#endif
    memset(key, 0, sizeof key);
    wk_junit_free(bo.junit);
    wk_breakdown_free(bo.breakdown);
    wk_gate_free(gate);
    wk_jobspec_free(&spec);
    return rc;
}

static const char usage_explain[] =
    "Usage: kivo-worker explain --job-spec-file FILE [--run-id ID]... [--json]\n"
    "\n"
    "Reviews the job's records one by one, as `batch` would, and prints each claim with its\n"
    "status, the engine rule that decided it (coverage, number_conflict, negation_scope ...)\n"
    "and the words behind the decision. Writes no reports and sends nothing; the reports\n"
    "`batch` writes are the same bytes whether or not anything is explained.\n"
    "\n"
    "Options:\n"
    "  -f, --job-spec-file FILE  the job spec; inputs are relative to its folder\n"
    "  -r, --run-id ID           explain only this customer_run_id (repeatable)\n"
    "  -j, --json                one JSON object per record and line, for scripts\n"
    "  -h, --help                this text\n";

static int cmd_show(const wk_optenv *oe)
{
    return status_exit(wk_show_command(oe));
}

static int compare(const wk_optenv *oe)
{
    int gate_failed = 0;
    kivo_status st = wk_compare_command(oe, &gate_failed);
    return st != KIVO_OK ? status_exit(st) : gate_failed ? WK_EXIT_GATE : WK_EXIT_OK;
}

static int cmd_explain(const wk_optenv *oe)
{
    const char *spec_path = NULL;
    wk_explain_opts eo = {0};
    char **ids = NULL;
    int c, rc = WK_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(oe->argc, oe->argv, explain_cmd.shortopts, explain_opts, NULL)) != -1) {
        switch (c) {
        case 'f': spec_path = optarg; break;
        case 'r': {
            char **v = realloc(ids, (eo.n_run_ids + 1) * sizeof *v);
            if (!v) {
                fprintf(stderr, "kivo-worker explain: out of memory\n");
                goto out;
            }
            ids = v;
            ids[eo.n_run_ids++] = optarg;
            break;
        }
        case 'j': eo.json = 1; break;
        case 'h':
            usage_env(stdout, usage_explain, &explain_cmd);
            rc = WK_EXIT_OK;
            goto out;
        default: wk_optenv_unknown(oe, c); goto out;
        }
    }
    if (optind < oe->argc) {
        fprintf(stderr, "kivo-worker explain: unexpected argument '%s'\n", oe->argv[optind]);
        goto out;
    }
    if (!spec_path) {
        fprintf(stderr, "kivo-worker explain: --job-spec-file is required (see 'kivo-worker "
                        "explain --help')\n");
        goto out;
    }
    eo.run_ids = ids;
    char err[1024];
    wk_jobspec spec;
    if (wk_jobspec_load(spec_path, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker: %s\n", err);
        goto out;
    }
    rc = status_exit(wk_explain_run(&spec, &eo, stdout, err, sizeof err));
    if (rc != WK_EXIT_OK)
        fprintf(stderr, "kivo-worker explain: %s\n", err);
    wk_jobspec_free(&spec);
out:
    free(ids);
    return rc;
}

static int worker_main(int argc, char **argv)
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
        /* The same form as kivo-api's: program version (engine version). */
        printf("kivo-worker %s (engine %s)\n", KIVO_VERSION_STRING, KIVO_ENGINE_VERSION);
        return WK_EXIT_OK;
    }
    static const struct {
        const wk_optenv_cmd *cmd;
        int (*fn)(const wk_optenv *oe);
    } cmds[] = {{&batch_cmd, cmd_batch},          {&run_cmd, cmd_run},
                {&submit_cmd, cmd_submit},        {&wk_compare_cli, compare},
                {&explain_cmd, cmd_explain},      {&wk_show_cli, cmd_show},
                {&wk_merge_cli, wk_merge_command}};
    const char *names[sizeof cmds / sizeof cmds[0]];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        names[i] = cmds[i].cmd->name;
        if (strcmp(cmd, names[i]) != 0)
            continue;
        wk_optenv oe;
        if (wk_optenv_init(&oe, cmds[i].cmd, argc - 1, argv + 1) != 0) {
            fprintf(stderr, "kivo-worker: out of memory\n");
            return WK_EXIT_IO;
        }
        int rc = cmds[i].fn(&oe);
        wk_optenv_free(&oe);
        return rc;
    }
    const char *hint = wk_suggest(cmd, strlen(cmd), names, sizeof names / sizeof names[0]);
    if (hint)
        fprintf(stderr,
                "kivo-worker: unknown command '%s'; did you mean '%s'? (see 'kivo-worker "
                "--help')\n",
                cmd, hint);
    else
        fprintf(stderr, "kivo-worker: unknown command '%s' (see 'kivo-worker --help')\n", cmd);
    return WK_EXIT_USAGE;
}

int main(int argc, char **argv)
{
#ifdef KIVO_WORKER_MPI
    if (wk_mpi_init(&argc, &argv) != 0)
        return WK_EXIT_IO;
    int rc = worker_main(argc, argv);
    wk_mpi_finalize();
    return rc;
#else
    return worker_main(argc, argv);
#endif
}
