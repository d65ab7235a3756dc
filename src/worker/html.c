/*
 * html.c - claim_report.html for a run and index.html for a job: static skeletons around one
 * JSON data block, rendered in the browser by the embedded src/web/review.js.
 *
 * No untrusted byte is ever written as HTML. Answers, sources, run ids and reject reasons go only
 * into the data block, as JSON whose '<', '>', '&', U+2028 and U+2029 are \u-escaped, so the
 * block cannot be closed early; the script shows them with textContent. The page allows no other
 * script or style (CSP hash sources of the inlined bytes). Rendering a run touches no shared
 * state, so pages are made on the reviewing threads; the index keeps only the most severe flagged
 * runs in a bounded heap, whatever the size of the job.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>

#include "html.h"
#include "kivo/wire.h"
#include "kivo/scan.h"
#include "output.h"
#include "review.h"
#include "web.h"

#define INDEX_REJECTS 100

/* A run's failure categories (bit c = kivo_category c) as their names, in enum order. */
static json_t *categories_json(uint32_t cats)
{
    json_t *a = json_array();
    for (int c = KIVO_CAT_NONE + 1; a && c < KIVO_CAT_COUNT; c++)
        if ((cats >> c) & 1u)
            json_array_append_new(a, json_string(kivo_category_name((kivo_category)c)));
    return a;
}

kivo_status wk_html_mode_parse(const char *s, wk_html_mode *out)
{
    static const struct {
        const char *name;
        wk_html_mode mode;
    } modes[] = {{"flagged", WK_HTML_FLAGGED}, {"all", WK_HTML_ALL}, {"none", WK_HTML_NONE}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return KIVO_OK;
        }
    }
    return KIVO_EINVAL;
}

int wk_html_wanted(wk_html_mode mode, kivo_verdict verdict)
{
    switch (mode) {
    case WK_HTML_ALL: return 1;
    case WK_HTML_FLAGGED:
        return verdict == KIVO_VERDICT_NEEDS_REVIEW || verdict == KIVO_VERDICT_FAIL;
    default: return 0;
    }
}

kivo_status wk_html_json_embed(const char *json, size_t len, kivo_buf *out)
{
    kivo_status st = KIVO_OK;
    size_t from = 0;
    kivo_byteset special;
    kivo_byteset_init(&special, "<>&\xE2", 4);

    for (size_t i = 0; i < len && st == KIVO_OK; i++) {
        const char *esc = NULL;
        size_t skip = 1;
        i += kivo_scan_find(&special, json + i, len - i); /* vectorized skip */
        if (i >= len)
            break;
        unsigned char c = (unsigned char)json[i];
        if (c == '<')
            esc = "\\u003c";
        else if (c == '>')
            esc = "\\u003e";
        else if (c == '&')
            esc = "\\u0026";
        else if (c == 0xE2 && i + 2 < len && (unsigned char)json[i + 1] == 0x80 &&
                 ((unsigned char)json[i + 2] == 0xA8 || (unsigned char)json[i + 2] == 0xA9)) {
            /* U+2028 / U+2029: valid in JSON strings, line terminators to older JavaScript. */
            esc = (unsigned char)json[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (!esc)
            continue;
        if ((st = kivo_buf_append(out, json + from, i - from)) == KIVO_OK)
            st = kivo_buf_append(out, esc, 6);
        i += skip - 1;
        from = i + 1;
    }
    if (st == KIVO_OK)
        st = kivo_buf_append(out, json + from, len - from);
    return st;
}

void wk_html_csp(char out[WK_HTML_CSP_MAX])
{
    char js[WEB_CSP_HASH_MAX], css[WEB_CSP_HASH_MAX];
    web_csp_hash(&web_review_js, js);
    web_csp_hash(&web_review_css, css);
    snprintf(out, WK_HTML_CSP_MAX,
             "default-src 'none'; script-src %s; style-src %s; img-src data:; base-uri 'none'; "
             "form-action 'none'",
             js, css);
}

/* The page around an embedded data block, as pieces: head (to <style>), style, middle (to the
 * data), the data, the script element opening, script, tail. head and mid are built in the
 * caller's buffers. @return the number of pieces (7). */
#define PAGE_HEAD_MAX 1024
static int page_parts(const char *kind, const char *embedded, size_t len, char head[PAGE_HEAD_MAX],
                      char mid[PAGE_HEAD_MAX], struct iovec v[7])
{
    static const char open_js[] = "</script>\n<script>";
    static const char tail[] = "</script>\n</body>\n</html>\n";
    char csp[WK_HTML_CSP_MAX];
    int h, m;

    wk_html_csp(csp);
    h = snprintf(head, PAGE_HEAD_MAX,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n"
                 "<meta name=\"referrer\" content=\"no-referrer\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<link rel=\"icon\" href=\"data:,\">\n<title>Kivo</title>\n<style>",
                 csp);
    m = snprintf(mid, PAGE_HEAD_MAX,
                 "</style>\n</head>\n<body data-kivo=\"%s\">\n"
                 "<main id=\"kivo\"><noscript>This page needs JavaScript; the same data is in "
                 "the JSON files beside it.</noscript></main>\n"
                 "<script type=\"application/json\" id=\"kivo-data\">",
                 kind);
    assert(h > 0 && h < PAGE_HEAD_MAX && m > 0 && m < PAGE_HEAD_MAX);
    v[0] = (struct iovec){head, (size_t)h};
    v[1] = (struct iovec){(void *)web_review_css.data, web_review_css.len};
    v[2] = (struct iovec){mid, (size_t)m};
    v[3] = (struct iovec){(void *)embedded, len};
    v[4] = (struct iovec){(void *)open_js, sizeof open_js - 1};
    v[5] = (struct iovec){(void *)web_review_js.data, web_review_js.len};
    v[6] = (struct iovec){(void *)tail, sizeof tail - 1};
    return 7;
}

static kivo_status assemble(const char *kind, const char *embedded, size_t len, kivo_buf *out)
{
    char head[PAGE_HEAD_MAX], mid[PAGE_HEAD_MAX];
    struct iovec v[7];
    kivo_status st = KIVO_OK;
    int n = page_parts(kind, embedded, len, head, mid, v);

    for (int i = 0; i < n && st == KIVO_OK; i++)
        st = kivo_buf_append(out, v[i].iov_base, v[i].iov_len);
    return st;
}

kivo_status wk_html_page(const char *kind, const char *data_json, size_t len, kivo_buf *out)
{
    kivo_buf embedded;
    kivo_status st;

    kivo_buf_init(&embedded, 0);
    st = wk_html_json_embed(data_json, len, &embedded);
    if (st == KIVO_OK)
        st = assemble(kind, embedded.data ? embedded.data : "", embedded.len, out);
    kivo_buf_free(&embedded);
    return st;
}

kivo_status wk_html_write_at(int dirfd, const char *name, const char *kind, const char *embedded,
                             size_t len, unsigned flags)
{
    char head[PAGE_HEAD_MAX], mid[PAGE_HEAD_MAX];
    struct iovec v[7];
    int n = page_parts(kind, embedded, len, head, mid, v);
    return wk_write_at(dirfd, name, v, n, WK_MODE_TEXT, flags) == 0 ? KIVO_OK : KIVO_EIO;
}

/* Appends s[0..n) as a JSON string that can sit in a page's data block as it is: '"', '\\' and
 * the control characters escaped as JSON wants, and '<', '>', '&', U+2028 and U+2029 as
 * wk_html_json_embed() escapes them. The text is UTF-8 checked when its record was parsed. One
 * pass over the bytes with no tree: a jansson tree and its per-character dump were 88% of a
 * page's cost (docs/performance.md). */
static kivo_status put_string(kivo_buf *out, const char *s, size_t n)
{
    /* The bytes to look at: the control characters, '"', '\\', '<', '>', '&', and 0xE2 (the
     * first byte of U+2028 and U+2029). */
    static const unsigned char special[256] = {
        1, 1, 1, 1, 1, 1, 1,         1,          1,         1,         1,         1,         1,
        1, 1, 1, 1, 1, 1, 1,         1,          1,         1,         1,         1,         1,
        1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1, [0xE2] = 1};
    static const char hex[] = "0123456789abcdef";
    kivo_status st = kivo_buf_append(out, "\"", 1);
    size_t from = 0;

    for (size_t i = 0; i < n && st == KIVO_OK; i++) {
        while (i + 4 <= n && !(special[(unsigned char)s[i]] | special[(unsigned char)s[i + 1]] |
                               special[(unsigned char)s[i + 2]] | special[(unsigned char)s[i + 3]]))
            i += 4;
        while (i < n && !special[(unsigned char)s[i]])
            i++;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t elen = 6, skip = 1;
        if (c == 0xE2) {
            /* U+2028 / U+2029: valid in JSON strings, line terminators to older JavaScript. */
            if (i + 2 >= n || (unsigned char)s[i + 1] != 0x80 ||
                ((unsigned char)s[i + 2] != 0xA8 && (unsigned char)s[i + 2] != 0xA9))
                continue;
            memcpy(esc + 2, (unsigned char)s[i + 2] == 0xA8 ? "2028" : "2029", 4);
            skip = 3;
        } else if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
            elen = 2;
        }
        if ((st = kivo_buf_append(out, s + from, i - from)) == KIVO_OK)
            st = kivo_buf_append(out, esc, elen);
        i += skip - 1;
        from = i + 1;
    }
    if (st == KIVO_OK)
        st = kivo_buf_append(out, s + from, n - from);
    return st == KIVO_OK ? kivo_buf_append(out, "\"", 1) : st;
}

/* The data of a run's page, embedded: {"kind":"run","index":...,"packet":...,"report":...} for
 * the per-run layout's page (with_index), {"packet":...,"report":...} for a run on a page of the
 * store v2 (its page says where the index is). packet is {"output", "sources": [{"source_id",
 * "title" (or null), "text"}]}; the report is spliced in as rendered, so the page shows exactly
 * the bytes of the stored report. On failure out is as it was. */
static kivo_status run_data(const kivo_packet *p, const char *report, size_t report_len,
                            int with_index, kivo_buf *out)
{
    size_t start = out->len;
    kivo_status st;

    while (report_len && (report[report_len - 1] == '\n' || report[report_len - 1] == ' '))
        report_len--;
    if (!report_len || report[0] != '{')
        return KIVO_EINVAL;
    st = kivo_buf_append_str(out, with_index ? "{\"kind\":\"run\",\"index\":\"" WK_RUN_DIR_TO_ROOT
                                               "/index.html\",\"packet\":{\"output\":"
                                             : "{\"packet\":{\"output\":");
    if (st == KIVO_OK)
        st = put_string(out, p->output, p->output_len);
    if (st == KIVO_OK)
        st = kivo_buf_append_str(out, ",\"sources\":[");
    for (size_t i = 0; st == KIVO_OK && i < p->n_sources; i++) {
        const kivo_source *src = &p->sources[i];
        if ((st = kivo_buf_append_str(out, i ? ",{\"source_id\":" : "{\"source_id\":")) ==
                KIVO_OK &&
            (st = put_string(out, src->id, src->id_len)) == KIVO_OK &&
            (st = kivo_buf_append_str(out, ",\"title\":")) == KIVO_OK)
            st = src->title ? put_string(out, src->title, src->title_len)
                            : kivo_buf_append_str(out, "null");
        if (st == KIVO_OK && (st = kivo_buf_append_str(out, ",\"text\":")) == KIVO_OK &&
            (st = put_string(out, src->text, src->text_len)) == KIVO_OK)
            st = kivo_buf_append(out, "}", 1);
    }
    if (st == KIVO_OK && (st = kivo_buf_append_str(out, "]},\"report\":")) == KIVO_OK &&
        (st = wk_html_json_embed(report, report_len, out)) == KIVO_OK)
        st = kivo_buf_append(out, "}", 1);
    if (st != KIVO_OK)
        out->len = start;
    return st;
}

kivo_status wk_html_run_data(const kivo_packet *p, const char *report, size_t report_len,
                             kivo_buf *out)
{
    return run_data(p, report, report_len, 1, out);
}

kivo_status wk_html_runs_item(const kivo_packet *p, const char *report, size_t report_len,
                              kivo_buf *out)
{
    return run_data(p, report, report_len, 0, out);
}

kivo_status wk_html_page_embedded(const char *kind, const char *embedded, size_t len, kivo_buf *out)
{
    return assemble(kind, embedded, len, out);
}

void wk_html_page_name(int64_t page, char out[WK_HTML_PAGE_NAME_MAX])
{
    snprintf(out, WK_HTML_PAGE_NAME_MAX, "%04lld.html", (long long)page);
}

/* A page of the store v2: the skeleton's head with the page's own data block ({"kind":"runs",
 * "index", "page", "prev"}: our names only, nothing of a run), then the runs' blocks, then the
 * tail block ({"next"}) and the script. */
kivo_status wk_html_runs_head(int64_t page, kivo_buf *out)
{
    char head[PAGE_HEAD_MAX], mid[PAGE_HEAD_MAX], data[128], prev[WK_HTML_PAGE_NAME_MAX];
    struct iovec v[7];
    kivo_status st = KIVO_OK;
    int n;

    wk_html_page_name(page - 1, prev);
    n = snprintf(data, sizeof data,
                 "{\"kind\":\"runs\",\"index\":\"../index.html\",\"page\":%lld%s%s%s}",
                 (long long)page, page > 0 ? ",\"prev\":\"" : "", page > 0 ? prev : "",
                 page > 0 ? "\"" : "");
    assert(n > 0 && (size_t)n < sizeof data);
    page_parts("runs", data, (size_t)n, head, mid, v);
    for (int i = 0; i < 4 && st == KIVO_OK; i++)
        st = kivo_buf_append(out, v[i].iov_base, v[i].iov_len);
    if (st == KIVO_OK)
        st = kivo_buf_append_str(out, WK_HTML_RUN_CLOSE);
    return st;
}

kivo_status wk_html_runs_tail(int64_t next, kivo_buf *out)
{
    static const char tail[] = "</script>\n</body>\n</html>\n";
    char name[WK_HTML_PAGE_NAME_MAX];
    kivo_status st;

    wk_html_page_name(next, name);
    if ((st = kivo_buf_printf(out,
                              "<script type=\"application/json\" id=\"kivo-tail\">{%s%s%s}"
                              "</script>\n<script>",
                              next >= 0 ? "\"next\":\"" : "", next >= 0 ? name : "",
                              next >= 0 ? "\"" : "")) != KIVO_OK ||
        (st = kivo_buf_append(out, web_review_js.data, web_review_js.len)) != KIVO_OK)
        return st;
    return kivo_buf_append(out, tail, sizeof tail - 1);
}

kivo_status wk_html_render_run(const kivo_packet *p, const char *report, size_t report_len,
                               kivo_buf *out)
{
    kivo_buf embedded;
    kivo_status st;

    kivo_buf_init(&embedded, 0);
    st = wk_html_run_data(p, report, report_len, &embedded);
    if (st == KIVO_OK)
        st = assemble("run", embedded.data, embedded.len, out);
    kivo_buf_free(&embedded);
    return st;
}

/* ---- the job index ------------------------------------------------------------------------ */

int wk_html_link_members(json_t *o, const char *report_dir, const char *customer_run_id,
                         int64_t page)
{
    if (page == WK_PAGE_NONE)
        return 0;
    if (page >= 0) {
        char file[WK_HTML_PAGE_NAME_MAX + 8];
        snprintf(file, sizeof file, "pages/%04lld.html", (long long)page);
        return json_object_set_new(o, "page_file", json_string(file)) != 0 ? -1 : 0;
    }
    char dir[WK_REPORT_DIR_MAX + WK_COMPONENT_MAX + 1];
    if (wk_report_run_dir(report_dir, customer_run_id, dir, sizeof dir) != 0 ||
        json_object_set_new(o, "dir", json_string(dir)) != 0 ||
        json_object_set_new(o, "page", json_boolean(page == WK_PAGE_RUN_HTML)) != 0)
        return -1;
    return 0;
}

typedef struct entry {
    uint64_t seq; /* input order among reviewed runs */
    char *id;
    uint32_t claims, unsupported, categories;
    uint8_t verdict;
    int64_t page; /* WK_PAGE_* or a page number */
} entry;

struct wk_html_index {
    int out_fd;                         /* borrowed */
    char report_dir[WK_REPORT_DIR_MAX]; /* reports/<workflow>, for the links */
    size_t max;
    entry *heap; /* min-heap: heap[0] is the least severe run kept */
    size_t n;
    uint64_t seq, flagged;
    json_t *extra; /* members added by wk_html_index_attach, or NULL */
};

static int rank(uint8_t verdict)
{
    return verdict == KIVO_VERDICT_FAIL ? 2 : verdict == KIVO_VERDICT_NEEDS_REVIEW ? 1 : 0;
}

/* 1 when a is more severe than b: fail first, then more unsupported claims, then input order. */
static int more_severe(const entry *a, const entry *b)
{
    if (rank(a->verdict) != rank(b->verdict))
        return rank(a->verdict) > rank(b->verdict);
    if (a->unsupported != b->unsupported)
        return a->unsupported > b->unsupported;
    return a->seq < b->seq;
}

static void sift_down(entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && more_severe(&h[m], &h[l]))
            m = l;
        if (r < n && more_severe(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        entry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(entry *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!more_severe(&h[parent], &h[i]))
            return;
        entry t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

kivo_status wk_html_index_open(int out_fd, const char *workflow_id, size_t max_runs,
                               wk_html_index **out)
{
    wk_html_index *x = calloc(1, sizeof *x);
    *out = NULL;
    if (!x)
        return KIVO_ENOMEM;
    x->max = max_runs ? max_runs : WK_HTML_INDEX_MAX_RUNS;
    x->out_fd = out_fd;
    x->heap = malloc(x->max * sizeof *x->heap);
    if (!x->heap) {
        wk_html_index_free(x);
        return KIVO_ENOMEM;
    }
    wk_report_dir(workflow_id, x->report_dir);
    *out = x;
    return KIVO_OK;
}

kivo_status wk_html_index_add(wk_html_index *x, const char *customer_run_id, kivo_verdict verdict,
                              uint32_t claims, uint32_t unsupported, uint32_t categories,
                              int64_t page)
{
    entry e = {x->seq++, NULL, claims, unsupported, categories, (uint8_t)verdict, page};

    if (!rank(e.verdict))
        return KIVO_OK;
    x->flagged++;
    if (x->n == x->max && !more_severe(&e, &x->heap[0]))
        return KIVO_OK;
    if (!(e.id = strdup(customer_run_id)))
        return KIVO_ENOMEM;
    if (x->n < x->max) {
        x->heap[x->n] = e;
        sift_up(x->heap, x->n++);
    } else {
        free(x->heap[0].id);
        x->heap[0] = e;
        sift_down(x->heap, x->n, 0);
    }
    return KIVO_OK;
}

int wk_html_index_attach(wk_html_index *x, const char *key, json_t *value)
{
    if (!value || (!x->extra && !(x->extra = json_object()))) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(x->extra, key, value) == 0 ? 0 : -1;
}

static int by_severity(const void *a, const void *b)
{
    return more_severe(a, b) ? -1 : more_severe(b, a) ? 1 : 0;
}

/* The first INDEX_REJECTS lines of DIR/rejects.jsonl (written by this job, so trusted to be our
 * JSON; anything unreadable is skipped). */
static json_t *first_rejects(int out_fd)
{
    char *line = NULL;
    size_t cap = 0;
    json_t *a = json_array();
    int fd = wk_read_open(out_fd, "rejects.jsonl");
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    while (a && f && json_array_size(a) < INDEX_REJECTS && getline(&line, &cap, f) > 0) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *o = json_object();
        if (r && o) {
            json_object_set(o, "file", json_object_get(r, "file"));
            json_object_set(o, "line", json_object_get(r, "line"));
            json_object_set(o, "reason", json_object_get(r, "reason"));
            json_array_append(a, o);
        }
        json_decref(o);
        json_decref(r);
    }
    free(line);
    if (f)
        fclose(f);
    return a;
}

kivo_status wk_html_index_write(wk_html_index *x, const char *summary_json)
{
    json_t *root = json_object(), *runs = json_array();
    char *text = NULL;
    int bad = !root || !runs;
    kivo_status rc = KIVO_ENOMEM;
    kivo_buf page;

    kivo_buf_init(&page, 0);
    qsort(x->heap, x->n, sizeof *x->heap, by_severity);
    for (size_t i = 0; !bad && i < x->n; i++) {
        const entry *e = &x->heap[i];
        json_t *o = json_object();
        bad |= !o;
        bad |= json_object_set_new(o, "id", json_string(e->id));
        bad |= wk_html_link_members(o, x->report_dir, e->id, e->page) != 0;
        bad |= json_object_set_new(o, "verdict",
                                   json_string(kivo_verdict_name((kivo_verdict)e->verdict)));
        bad |= json_object_set_new(o, "claims", json_integer(e->claims));
        bad |= json_object_set_new(o, "unsupported", json_integer(e->unsupported));
        bad |= json_object_set_new(o, "categories", categories_json(e->categories));
        bad |= json_array_append_new(runs, o);
    }
    /* The heap is now a sorted array: a second write would still be correct, adds would not. */
    bad |= json_object_set_new(root, "kind", json_string("index"));
    bad |= json_object_set_new(root, "summary",
                               summary_json ? json_loads(summary_json, 0, NULL) : json_null());
    bad |= json_object_set_new(root, "flagged_total", json_integer((json_int_t)x->flagged));
    bad |= json_object_set(root, "runs", runs);
    bad |= json_object_set_new(root, "rejects", first_rejects(x->out_fd));
    if (x->extra)
        bad |= json_object_update(root, x->extra);
    if (bad || !(text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6)))) {
        errno = ENOMEM;
        goto out;
    }
    if (wk_html_page("index", text, strlen(text), &page) != KIVO_OK) {
        errno = ENOMEM;
        goto out;
    }
    struct iovec v = {page.data, page.len};
    rc = wk_write_at(x->out_fd, "index.html", &v, 1, WK_MODE_META, 0) == 0 ? KIVO_OK : KIVO_EIO;
out:
    kivo_buf_free(&page);
    free(text);
    json_decref(runs);
    json_decref(root);
    return rc;
}

void wk_html_index_free(wk_html_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        free(x->heap[i].id);
    free(x->heap);
    json_decref(x->extra);
    free(x);
}
