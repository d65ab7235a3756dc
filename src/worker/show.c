/*
 * show.c - `kivo-worker show`: one run's claim report out of a batch's report store, its exact
 * stored bytes and a newline, read through store.h so that it works on either layout. In the
 * report store v2 that is one indexed lookup and one read, whatever the batch's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "html.h"
#include "output.h"
#include "pages.h"
#include "show.h"
#include "store.h"

static const char usage[] =
    "Usage: kivo-worker show --out DIR [--workflow-id ID] RUN_ID [--html FILE]\n"
    "\n"
    "Prints the claim report of the run RUN_ID (its customer_run_id) from the report store a\n"
    "batch wrote in DIR: the exact stored bytes, whose SHA-256 the run's completed event names\n"
    "(a report ends with a newline). Works on both layouts (v2: reports/part-NNNNN.jsonl and reports/index;\n"
    "per-run: reports/<workflow_id>/<customer_run_id>/claim_report.json). An event's\n"
    "customer_storage_pointer.opaque_id, reports/<workflow_id>/<customer_run_id>, names the\n"
    "same two ids.\n"
    "\n"
    "Options:\n"
    "  -o, --out DIR             the batch's out folder\n"
    "  -w, --workflow-id ID      the run's workflow (default: the batch's, from the store or\n"
    "                            DIR/summary.json)\n"
    "      --html FILE           write the run's page to FILE instead (a page of its own, from\n"
    "                            pages/NNNN.html in v2, claim_report.html per-run); the run\n"
    "                            needs one in the store (batch --html all, or flagged)\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit codes: 0 shown; 2 usage, not a report store, or no such run in it; 1 I/O error.\n";

enum { OPT_HTML = 400 };

/* The workflow of the batch in dir, from its summary.json, into out. @return 0 or -1. */
static int summary_workflow(const char *dir, char *out, size_t outlen)
{
    char path[4200];
    json_t *j;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    if (!(j = json_load_file(path, 0, NULL)))
        return -1;
    const char *wf = json_string_value(json_object_get(j, "workflow_id"));
    int rc = wf && strlen(wf) < outlen ? 0 : -1;
    if (!rc)
        memcpy(out, wf, strlen(wf) + 1);
    json_decref(j);
    return rc;
}

/* The report store v2: the run's block on its page (pages/NNNN.html) made into a page of its own
 * (the per-run layout's kind, without the link to the job index) at path. */
static kivo_status write_v2_page(wk_store *s, const char *dir, const char *id, const char *path)
{
    char err[4300], *data = NULL;
    size_t len = 0;
    kivo_buf page;
    kivo_status st = KIVO_OK;
    int got = wk_store_v2_page(s, id, &data, &len, err, sizeof err);
    if (got <= 0) {
        if (got < 0)
            fprintf(stderr, "kivo-worker show: %s\n", err);
        else
            fprintf(stderr,
                    "kivo-worker show: run \"%s\" has no page in %s (batch --html all "
                    "gives every run one; without --html, show prints the report)\n",
                    id, dir);
        return got < 0 ? KIVO_EIO : KIVO_EINVAL;
    }
    kivo_buf_init(&page, 0);
    /* The block is ours and was escaped when written; a '<' in it means the page was changed
     * since, and it would not stay inside its element. */
    if (memchr(data, '<', len)) {
        fprintf(stderr, "kivo-worker show: the page of run \"%s\" in %s/%s is damaged\n", id, dir,
                WK_PAGES_DIR);
        st = KIVO_EIO;
    } else if (wk_html_page_embedded("run", data, len, &page) != KIVO_OK) {
        fprintf(stderr, "kivo-worker show: out of memory\n");
        st = KIVO_EIO;
    } else {
        struct iovec v = {page.data, page.len};
        if (wk_write_file(path, &v, 1, WK_MODE_TEXT, 0) != 0) {
            fprintf(stderr, "kivo-worker show: cannot write %s: %s\n", path, strerror(errno));
            st = KIVO_EIO;
        }
    }
    kivo_buf_free(&page);
    free(data);
    return st;
}

/* Copies the run's page (the per-run layout's claim_report.html) to path. */
static kivo_status write_page(wk_store *s, const char *dir, const char *wf, const char *id,
                              const char *path)
{
    char href[8192], *data = NULL;
    size_t len = 0;
    int dfd = -1;
    size_t n;
    if (wk_store_workflow(s))
        return write_v2_page(s, dir, id, path);
    if (wk_store_link(s, wf, id, href, sizeof href) != 0 || (n = strlen(href)) < 5 ||
        strcmp(href + n - 5, ".html") != 0) {
        fprintf(stderr,
                "kivo-worker show: run \"%s\" has no page in %s (batch --html all "
                "gives every run one; without --html, show prints the report)\n",
                id, dir);
        return KIVO_EINVAL;
    }
    if ((dfd = wk_dir_open(dir, 0)) < 0 || wk_read_at(dfd, href, 0, &data, &len) != 0) {
        fprintf(stderr, "kivo-worker show: cannot read %s/%s: %s\n", dir, href, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return KIVO_EIO;
    }
    close(dfd);
    struct iovec v = {data, len};
    kivo_status st = KIVO_OK;
    if (wk_write_file(path, &v, 1, WK_MODE_TEXT, 0) != 0) {
        fprintf(stderr, "kivo-worker show: cannot write %s: %s\n", path, strerror(errno));
        st = KIVO_EIO;
    }
    free(data);
    return st;
}

static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                     {"workflow-id", required_argument, NULL, 'w'},
                                     {"html", required_argument, NULL, OPT_HTML},
                                     {"help", no_argument, NULL, 'h'},
                                     {NULL, 0, NULL, 0}};
/* Its variables are KIVO_SHOW_OUT, ... : batch's KIVO_OUT or KIVO_HTML must not reach show. */
static const char *const scoped[] = {"out", "workflow-id", "html", NULL};
const wk_optenv_cmd wk_show_cli = {"show", ":o:w:h", opts, "SHOW", scoped};

kivo_status wk_show_command(const wk_optenv *oe)
{
    int argc = oe->argc;
    char **argv = oe->argv;
    const char *dir = NULL, *wf = NULL, *html = NULL;
    char err[4300], wfbuf[1024];
    wk_store *s = NULL;
    wk_store_report r;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, wk_show_cli.shortopts, opts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'w': wf = optarg; break;
        case OPT_HTML: html = optarg; break;
        case 'h':
            fputs(usage, stdout);
            wk_optenv_help(stdout, &wk_show_cli);
            return KIVO_OK;
        default: wk_optenv_unknown(oe, c); return KIVO_EINVAL;
        }
    }
    if (!dir || optind != argc - 1) {
        fprintf(stderr, "kivo-worker show: %s\n\n%s",
                !dir ? "--out DIR is required" : "give exactly one RUN_ID", usage);
        return KIVO_EINVAL;
    }
    const char *id = argv[optind];
    if (wk_store_open(dir, &s, err, sizeof err) != 0) {
        fprintf(stderr, "kivo-worker show: %s\n", err);
        return KIVO_EINVAL;
    }
    if (!wf)
        wf = wk_store_workflow(s);
    if (!wf && summary_workflow(dir, wfbuf, sizeof wfbuf) == 0)
        wf = wfbuf;
    if (!wf) {
        fprintf(stderr,
                "kivo-worker show: %s/summary.json does not say the batch's workflow: "
                "give --workflow-id\n",
                dir);
        wk_store_close(s);
        return KIVO_EINVAL;
    }
    kivo_status st = KIVO_OK;
    int got = wk_store_get(s, wf, id, &r, err, sizeof err);
    if (got < 0) {
        fprintf(stderr, "kivo-worker show: %s\n", err);
        st = KIVO_EIO;
    } else if (got == 0) {
        fprintf(stderr, "kivo-worker show: no run \"%s\" in workflow \"%s\" in %s\n", id, wf, dir);
        st = KIVO_EINVAL;
    } else if (html) {
        st = write_page(s, dir, wf, id, html);
    } else if (fwrite(r.data, 1, r.len, stdout) != r.len ||
               ((!r.len || r.data[r.len - 1] != '\n') && putchar('\n') == EOF) ||
               fflush(stdout) != 0) {
        fprintf(stderr, "kivo-worker show: cannot write the report: %s\n", strerror(errno));
        st = KIVO_EIO;
    }
    wk_store_close(s);
    return st;
}
