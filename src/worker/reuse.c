/*
 * reuse.c - the review key and `batch --reuse` (see reuse.h). Each reviewing thread has its own
 * reader of the previous store: an SQLite connection to its index (a lookup by review key is one
 * probe of the index's runs_key), a part reader (which keeps the last zstd frame, so a rerun in
 * the same order decompresses each frame once) and a JSON parser for the carried report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groups.h"
#include "html.h"
#include "kivo/report.h"
#include "kivo/wire.h"
#include "metadata.h"
#include "pages.h"
#include "part_stat.h"
#include "parts.h"
#include "reuse.h"

#define BODY_KEY "\"engine_version\":"
#define NULL_LEN UINT64_MAX

struct wk_reuse {
    wk_rindex *ix;
    wk_part_reader *rd;
    int reports_fd;
    kivo_json_parser *parser;
    char (*hashes)[KIVO_HASH_TEXT_SIZE]; /* the record's source hashes */
    size_t cap_hashes;
    kivo_buf scratch; /* the key's input */
    kivo_review rv;   /* a carried review: verdict and counts, no claims */
    /* The line keys' fast path: the previous events.jsonl and pages (-1: none), the page open. */
    int lines, events_fd, pages_fd, page_fd, part_fd;
    uint64_t part_size, page_size; /* of the open part and page */
    struct window {
        int fd;
        uint64_t start;
        size_t len, cap;
        uint64_t run; /* bytes read in order before the window (read-ahead grows with it) */
        char *data;
    } w_part, w_events, w_page; /* read-ahead windows over part_fd, events_fd, page_fd */
    int64_t part_no;
    int part_same; /* the open part has the status its batch recorded: its reports not hashed */
    uint64_t events_size;
    int64_t page_no;
};

/* One field of the key's input: its length (8 bytes, little-endian; all ones for null) and its
 * bytes. */
static kivo_status field(kivo_buf *b, const char *s, size_t len)
{
    uint64_t n = s ? (uint64_t)len : NULL_LEN;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(n >> (8 * i));
    kivo_status st = kivo_buf_append(b, le, sizeof le);
    if (st == KIVO_OK && s && len)
        st = kivo_buf_append(b, s, len);
    return st;
}

static kivo_status field_str(kivo_buf *b, const char *s)
{
    return field(b, s, s ? strlen(s) : 0);
}

kivo_status wk_review_key(kivo_hasher *h, const wk_jobspec *spec, const kivo_record *rec,
                          const char *output_hash, const char (*source_hashes)[KIVO_HASH_TEXT_SIZE],
                          kivo_buf *b, unsigned char key[WK_REVIEW_KEY_SIZE])
{
    kivo_buf_reset(b);
    kivo_status st = field_str(b, WK_REVIEW_KEY_FORMAT);
    if (st == KIVO_OK)
        st = field_str(b, KIVO_ENGINE_VERSION);
    if (st == KIVO_OK)
        st = field_str(b, spec->policy_version);
    if (st == KIVO_OK)
        st = field_str(b, kivo_strictness_name(spec->strictness));
    if (st == KIVO_OK)
        st = field_str(b, kivo_intended_use_name(spec->intended_use));
    if (st == KIVO_OK)
        st = field_str(b, output_hash);
    if (st == KIVO_OK) {
        char n[32];
        snprintf(n, sizeof n, "%zu", rec->n_sources);
        st = field_str(b, n);
    }
    for (size_t i = 0; st == KIVO_OK && i < rec->n_sources; i++) {
        const kivo_source *s = &rec->sources[i];
        st = field(b, s->id, s->id_len);
        if (st == KIVO_OK)
            st = field(b, s->title, s->title_len);
        if (st == KIVO_OK)
            st = field_str(b, source_hashes[i]);
    }
    if (st == KIVO_OK)
        st = kivo_hasher_sha256(h, b->data, b->len, key);
    return st;
}

int wk_reuse_check(const char *dir, const char *out_dir, char *err, size_t errlen)
{
    char path[4200], complete[8] = "";
    struct stat a, b;
    wk_rindex *ix = NULL;
    if (stat(dir, &a) != 0) {
        snprintf(err, errlen, "--reuse %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(out_dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        snprintf(err, errlen,
                 "--reuse %s is the out folder itself, which this batch replaces: give the "
                 "previous batch's folder and another --out",
                 dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/reports/%s", dir, WK_RINDEX_NAME);
    if (access(path, F_OK) != 0) {
        snprintf(path, sizeof path, "%s/reports", dir);
        snprintf(err, errlen,
                 access(path, F_OK) == 0
                     ? "--reuse %s: a per-run report store (--layout per-run) keeps no review "
                       "keys; --reuse needs the report store v2 (the default layout)"
                     : "--reuse %s: no report store there (no reports/index)",
                 dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/reports", dir);
    if (wk_rindex_open_read(path, &ix, err, errlen) != 0)
        return -1;
    int got = wk_rindex_get(ix, "complete", complete, sizeof complete);
    wk_rindex_close(ix);
    if (got != 1) {
        snprintf(err, errlen,
                 "--reuse %s: its batch did not finish (run it again to complete it, or give "
                 "another folder)",
                 dir);
        return -1;
    }
    return 0;
}

int wk_reuse_open(const char *dir, wk_reuse **out, char *err, size_t errlen)
{
    char path[4200];
    wk_reuse *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->reports_fd = r->events_fd = r->pages_fd = r->page_fd = -1;
    r->page_no = r->part_no = -1;
    r->part_fd = r->w_part.fd = r->w_events.fd = r->w_page.fd = -1;
    kivo_buf_init(&r->scratch, 0);
    snprintf(path, sizeof path, "%s/reports", dir);
    if ((r->reports_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "--reuse: cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (wk_rindex_open_read(path, &r->ix, err, errlen) != 0)
        goto fail;
    if (wk_rindex_hold_read(r->ix) != 0) {
        snprintf(err, errlen, "--reuse: cannot read %s/%s: %s", path, WK_RINDEX_NAME,
                 wk_rindex_errmsg(r->ix));
        goto fail;
    }
    if (wk_part_reader_open(r->reports_fd, &r->rd) != 0 ||
        kivo_json_parser_create(64, &r->parser) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* The fast path needs the previous store's line keys and its events; without them every
     * record goes by its review key. */
    r->lines = wk_rindex_has_lines(r->ix);
    if (r->lines) {
        struct stat sb;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r->events_fd = dfd >= 0 ? wk_read_open(dfd, "events.jsonl") : -1;
        r->pages_fd =
            dfd >= 0 ? openat(dfd, WK_PAGES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
                     : -1;
        if (dfd >= 0)
            close(dfd);
        if (r->events_fd < 0 || fstat(r->events_fd, &sb) != 0)
            r->lines = 0;
        else
            r->events_size = (uint64_t)sb.st_size;
    }
    *out = r;
    return 0;
fail:
    wk_reuse_close(r);
    return -1;
}

void wk_reuse_close(wk_reuse *r)
{
    if (!r)
        return;
    wk_rindex_close(r->ix);
    wk_part_reader_close(r->rd);
    if (r->reports_fd >= 0)
        close(r->reports_fd);
    if (r->events_fd >= 0)
        close(r->events_fd);
    if (r->pages_fd >= 0)
        close(r->pages_fd);
    if (r->page_fd >= 0)
        close(r->page_fd);
    if (r->part_fd >= 0)
        close(r->part_fd);
    free(r->w_part.data);
    free(r->w_events.data);
    free(r->w_page.data);
    kivo_json_parser_free(r->parser);
    free(r->hashes);
    kivo_buf_free(&r->scratch);
    free(r);
}

static int int_member(const kivo_json_node *doc, const char *name, size_t *out)
{
    const kivo_json_node *n = kivo_json_get(doc, name);
    if (!n || n->type != KIVO_JSON_NUMBER || !n->is_int || n->i < 0)
        return -1;
    *out = (size_t)n->i;
    return 0;
}

static int verdict_member(const kivo_json_node *doc, const char *name, kivo_verdict *out)
{
    const kivo_json_node *n = kivo_json_get(doc, name);
    return n && n->type == KIVO_JSON_STRING && kivo_verdict_parse(n->str, n->len, out) == KIVO_OK
               ? 0
               : -1;
}

/* The carried report's verdict and counts into rv, and where its review part is: [*body, *end)
 * from "engine_version" to the end of "claims" (what follows is the earlier record's metadata
 * and label, or nothing). @return 0, or -1 when it is not shaped as kivo_report_render() and
 * wk_meta_splice() write. */
static int review_part(const kivo_json_node *doc, const char *p, size_t len, kivo_review *rv,
                       size_t *body, size_t *end)
{
    const kivo_json_node *ev, *claims, *cats;
    if (!doc || doc->type != KIVO_JSON_OBJECT || !(ev = kivo_json_get(doc, "engine_version")) ||
        !(claims = kivo_json_get(doc, "claims")) || claims->type != KIVO_JSON_ARRAY ||
        !(cats = kivo_json_get(doc, "failure_categories")) || cats->type != KIVO_JSON_ARRAY)
        return -1;
    if (verdict_member(doc, "gate_verdict", &rv->gate_verdict) ||
        verdict_member(doc, "safe_use_status", &rv->safe_use_status) ||
        int_member(doc, "claim_count", &rv->n_claims) ||
        int_member(doc, "unsupported_claim_count", &rv->unsupported_count) ||
        int_member(doc, "contradicted_claim_count", &rv->contradicted_count) ||
        int_member(doc, "partially_supported_claim_count", &rv->partial_count))
        return -1;
    rv->categories = 0;
    for (const kivo_json_node *c = cats->child; c; c = c->next) {
        kivo_category cat;
        if (c->type != KIVO_JSON_STRING || kivo_category_parse(c->str, c->len, &cat) != KIVO_OK)
            return -1;
        rv->categories |= 1u << cat;
    }
    size_t key_len = strlen(BODY_KEY);
    if (ev->offset < key_len + 1 || len < 3)
        return -1;
    *body = ev->offset - key_len;
    /* A member after claims: ,"NAME": before its value (names that need no escaping). */
    *end = claims->next ? claims->next->offset - (claims->next->key_len + 4) : len - 2;
    if (*end <= *body || *end > len - 2 || p[*body - 1] != ',' ||
        memcmp(p + *body, BODY_KEY, key_len) != 0 || p[*end - 1] != ']' ||
        (p[*end] != ',' && p[*end] != '}') || p[len - 2] != '}' || p[len - 1] != '\n')
        return -1;
    return 0;
}

/* This record's head: the members before "engine_version" as kivo_report_render() writes them
 * for this run (rendered with an empty review, cut before its review part), comma included. */
static kivo_status head(const wk_review_job *job, const kivo_record *rec, kivo_buf *report)
{
    size_t at = report->len;
    kivo_run_meta meta = wk_review_meta(job, rec);
    kivo_packet pk = {0};
    kivo_review empty = {0};
    pk.strictness = job->spec->strictness;
    pk.intended_use = job->spec->intended_use;
    kivo_status st = kivo_report_render(&pk, &empty, &meta, report);
    if (st != KIVO_OK)
        return st;
    /* `,"` never occurs inside a JSON string (a quote there is escaped): the first one before
     * "engine_version" is the member's own. */
    const char *h = report->data + at;
    const char *m = memmem(h, report->len - at, "," BODY_KEY, strlen(BODY_KEY) + 1);
    if (!m)
        return KIVO_EINVAL;
    report->len = (size_t)(m - report->data) + 1;
    return KIVO_OK;
}

int wk_reuse_carry(wk_reuse *r, const wk_review_job *job, kivo_hasher *h,
                   const kivo_json_node *root, const kivo_record *rec, kivo_buf *report,
                   kivo_buf *event, char report_sha256[KIVO_HASH_TEXT_SIZE], const kivo_review **rv,
                   unsigned char key[WK_REVIEW_KEY_SIZE], kivo_status *st)
{
    const wk_jobspec *spec = job->spec;
    wk_rindex_hit hit;
    const kivo_json_node *doc;
    const char *prev;
    size_t prev_len, body, end, at = report->len, ev_at = event->len;
    char err[256];

    /* The hashes the engine would compute, for the key (and the event, when carried). */
    if (rec->n_sources > r->cap_hashes) {
        void *p = realloc(r->hashes, rec->n_sources * sizeof *r->hashes);
        if (!p) {
            *st = KIVO_ENOMEM;
            return -1;
        }
        r->hashes = p;
        r->cap_hashes = rec->n_sources;
    }
    *st = kivo_hasher_sha256_text(h, rec->output_len ? rec->output : "", rec->output_len,
                                  r->rv.output_hash);
    for (size_t i = 0; *st == KIVO_OK && i < rec->n_sources; i++)
        *st = kivo_hasher_sha256_text(h, rec->sources[i].text_len ? rec->sources[i].text : "",
                                      rec->sources[i].text_len, r->hashes[i]);
    if (*st == KIVO_OK)
        *st = wk_review_key(h, spec, rec, r->rv.output_hash,
                            (const char(*)[KIVO_HASH_TEXT_SIZE])r->hashes, &r->scratch, key);
    if (*st != KIVO_OK)
        return -1;
    int got = wk_rindex_find_key(r->ix, key, &hit);
    if (got < 0)
        *st = KIVO_EIO;
    if (got <= 0)
        return got;
    if (wk_part_reader_get(r->rd, &hit, &prev, &prev_len, err, sizeof err) != 0) {
        *st = KIVO_EIO;
        return -1;
    }
    /* A report whose bytes are not the ones its index row names (a part edited or damaged since)
     * is not carried: the record is reviewed again. */
    char prev_sha[KIVO_HASH_TEXT_SIZE];
    if ((*st = kivo_hasher_sha256_text(h, prev, prev_len, prev_sha)) != KIVO_OK)
        return -1;
    if (strcmp(prev_sha, hit.row.sha256) != 0)
        return 0;
    *st = kivo_json_parse(r->parser, prev, prev_len, prev_len + KIVO_JSON_PADDING, 0, &doc);
    if (*st == KIVO_ENOMEM)
        return -1;
    if (*st != KIVO_OK || review_part(doc, prev, prev_len, &r->rv, &body, &end) != 0) {
        *st = KIVO_OK;
        return 0;
    }
    r->rv.claims = NULL;
    r->rv.source_hashes = (const char(*)[KIVO_HASH_TEXT_SIZE])r->hashes;
    kivo_run_meta meta = wk_review_meta(job, rec);
    kivo_wire_event ev = {.type = KIVO_EVENT_COMPLETED,
                          .run = &meta,
                          .sequence = job->sequence,
                          .review = &r->rv,
                          .n_sources = rec->n_sources,
                          .report_sha256 = report_sha256};
    if ((*st = head(job, rec, report)) != KIVO_OK ||
        (*st = kivo_buf_append(report, prev + body, end - body)) != KIVO_OK ||
        (*st = kivo_buf_append(report, "}\n", 2)) != KIVO_OK ||
        (*st = wk_meta_splice(&spec->meta, root, report, at)) != KIVO_OK ||
        (*st = kivo_hasher_sha256_text(h, report->data + at, report->len - at, report_sha256)) !=
            KIVO_OK ||
        (*st = kivo_wire_event_render(h, &ev, NULL, event)) != KIVO_OK) {
        report->len = at;
        event->len = ev_at;
        return -1;
    }
    *rv = &r->rv;
    return 1;
}

kivo_status wk_line_job(kivo_hasher *h, const wk_jobspec *spec, const wk_groups *groups,
                        unsigned char fp[WK_REVIEW_KEY_SIZE])
{
    kivo_buf b;
    char n[32];
    kivo_buf_init(&b, 0);
    kivo_status st = field_str(&b, WK_LINE_KEY_FORMAT);
    const char *const strs[] = {KIVO_ENGINE_VERSION,
                                WK_WORKER_VERSION,
                                spec->workflow_id,
                                spec->worker_id,
                                wk_jobspec_batch(spec),
                                spec->policy_version,
                                spec->report_label,
                                kivo_strictness_name(spec->strictness),
                                kivo_intended_use_name(spec->intended_use)};
    for (size_t i = 0; st == KIVO_OK && i < sizeof strs / sizeof strs[0]; i++)
        st = field_str(&b, strs[i]);
    for (size_t i = 0; st == KIVO_OK && i < sizeof spec->field / sizeof spec->field[0]; i++)
        st = field_str(&b, spec->field[i]);
    snprintf(n, sizeof n, "%zu", spec->meta.n);
    if (st == KIVO_OK)
        st = field_str(&b, n);
    for (size_t i = 0; st == KIVO_OK && i < spec->meta.n; i++) {
        st = field_str(&b, spec->meta.name[i]);
        if (st == KIVO_OK)
            st = field_str(&b, spec->meta.pointer[i]);
    }
    if (st == KIVO_OK)
        st = field_str(&b, spec->meta.label);
    snprintf(n, sizeof n, "%zu", groups ? wk_groups_fields(groups) : 0);
    if (st == KIVO_OK)
        st = field_str(&b, n);
    for (size_t i = 0; st == KIVO_OK && groups && i < wk_groups_fields(groups); i++)
        st = field_str(&b, wk_groups_name(groups, i));
    if (st == KIVO_OK)
        st = kivo_hasher_sha256(h, b.data, b.len, fp);
    kivo_buf_free(&b);
    return st;
}

kivo_status wk_line_key(kivo_hasher *h, const unsigned char fp[WK_REVIEW_KEY_SIZE],
                        const char *line, size_t len, unsigned char key[WK_REVIEW_KEY_SIZE])
{
    unsigned char in[2 * WK_REVIEW_KEY_SIZE];
    memcpy(in, fp, WK_REVIEW_KEY_SIZE);
    kivo_status st = kivo_hasher_sha256(h, len ? line : "", len, in + WK_REVIEW_KEY_SIZE);
    return st == KIVO_OK ? kivo_hasher_sha256(h, in, sizeof in, key) : st;
}

/* A rerun asks for the previous batch's bytes in about the order they were written: reads go
 * through a window read ahead, so most of them cost no system call. The read-ahead grows with
 * the bytes asked for in order, half of them, from AHEAD_MIN up to WINDOW, and starts again
 * small after a jump: at 2 threads and more each thread carries every other chunk, and a fixed
 * 1 MiB read at each chunk's first report and event read the other threads' bytes too (events
 * five times over, ~0.2 MiB a chunk of 1 MiB of input). */
#define WINDOW (1u << 20)
#define AHEAD_MIN (16u << 10)

/* Appends len bytes of fd at off to b, through w (reset when fd is not w's). @return 0, or -1
 * (errno; EPIPE: the file is shorter). */
static int append_window(struct window *w, int fd, uint64_t off, size_t len, kivo_buf *b)
{
    if (w->fd != fd) {
        w->fd = fd;
        w->len = 0;
    }
    if (off < w->start || off - w->start > w->len || len > w->len - (off - w->start)) {
        /* In order: off in the window or just after it (a report across its end). */
        w->run =
            w->len && off >= w->start && off - w->start <= w->len ? w->run + (off - w->start) : 0;
        size_t ahead = w->run / 2 > WINDOW ? WINDOW : (size_t)(w->run / 2), got = 0;
        if (ahead < AHEAD_MIN)
            ahead = AHEAD_MIN;
        size_t want = len > ahead ? len : ahead;
        if (want > w->cap) {
            char *d = realloc(w->data, want);
            if (!d) {
                errno = ENOMEM;
                return -1;
            }
            w->data = d;
            w->cap = want;
        }
        w->len = 0;
        while (got < want) {
            ssize_t n = pread(fd, w->data + got, want - got, (off_t)(off + got));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            got += (size_t)n;
        }
        w->start = off;
        w->len = got;
        if (got < len) {
            errno = EPIPE;
            return -1;
        }
    }
    if (kivo_buf_append(b, w->data + (off - w->start), len) != KIVO_OK) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* The previous store's page `page`, open for reading (the last one is kept). @return its fd or
 * -1. */
static int page_file(wk_reuse *r, int64_t page)
{
    char name[WK_HTML_PAGE_NAME_MAX];
    if (r->page_no == page)
        return r->page_fd;
    if (r->page_fd >= 0)
        close(r->page_fd);
    r->page_no = -1;
    r->w_page.fd = -1; /* the next file may get the same descriptor number */
    wk_html_page_name(page, name);
    struct stat sb;
    if ((r->page_fd = r->pages_fd >= 0 ? wk_read_open(r->pages_fd, name) : -1) >= 0 &&
        fstat(r->page_fd, &sb) == 0) {
        r->page_no = page;
        r->page_size = (uint64_t)sb.st_size;
    } else if (r->page_fd >= 0) {
        close(r->page_fd);
        r->page_fd = -1;
    }
    return r->page_fd;
}

#define EVENT_MAX (1u << 20)

/* 1 when the run id is written in JSON as itself (no byte that needs escaping) and is short:
 * then the event's "customer_run_id" can be checked against it byte for byte. */
static int id_plain(const char *id)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++, n++)
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f || n >= 512)
            return 0;
    return n > 0;
}

int wk_reuse_carry_line(wk_reuse *r, kivo_hasher *h, const unsigned char key[WK_REVIEW_KEY_SIZE],
                        int want_page, int html_mode, kivo_buf *report, kivo_buf *event,
                        kivo_buf *page, wk_line_carry *out, kivo_status *st)
{
    wk_rindex_hit hit;
    const wk_rindex_row *row = &hit.row;
    size_t at = report->len, ev_at = event->len, pg_at = page ? page->len : 0;
    char err[256];
    *st = KIVO_OK;
    if (!r->lines)
        return 0;
    int got = wk_rindex_find_line(r->ix, key, &hit);
    if (got < 0)
        *st = KIVO_EIO;
    if (got <= 0)
        return got;
    /* The page: a run --html picks needs its block; a previous batch that made none for it (with
     * another --html) sends the record the slow way. */
    int paged = want_page && wk_html_wanted((wk_html_mode)html_mode, (kivo_verdict)row->verdict);
    /* Values the batch keeps in memory come from the previous index: one that batch could not
     * have written (an edited index) sends the line the slow way. */
    if (row->label < -1 || row->label > 1 || (row->categories >> KIVO_CAT_COUNT) != 0 ||
        !id_plain(row->run_id))
        return 0;
    if (!row->has_key || (paged && row->page < 0) || row->event_length < 2 ||
        row->event_length > EVENT_MAX || row->event_offset > r->events_size ||
        row->event_length > r->events_size - row->event_offset)
        return 0;
    /* The report, read straight into the slot's buffer when its part is not compressed. */
    if (hit.has_frame) {
        const char *data;
        size_t len;
        if (wk_part_reader_get(r->rd, &hit, &data, &len, err, sizeof err) != 0) {
            *st = KIVO_EIO;
            return -1;
        }
        if ((*st = kivo_buf_append(report, data, len)) != KIVO_OK)
            return -1;
    } else {
        if (r->part_fd < 0 || r->part_no != (int64_t)row->part) {
            char name[WK_PART_NAME_MAX];
            wk_part_name(row->part, WK_COMPRESS_NONE, 0, name);
            if (r->part_fd >= 0)
                close(r->part_fd);
            r->part_no = -1;
            r->part_same = 0;
            r->w_part.fd = -1; /* the next file may get the same descriptor number */
            struct stat sb;
            if ((r->part_fd = wk_read_open(r->reports_fd, name)) < 0 ||
                fstat(r->part_fd, &sb) != 0) {
                *st = KIVO_EIO;
                return -1;
            }
            r->part_no = row->part;
            r->part_size = (uint64_t)sb.st_size;
            /* A part with the status its batch recorded at its end is unchanged since
             * (part_stat.h): its reports need not be hashed again. */
            char key[WK_PART_STAT_KEY_MAX], rec[WK_PART_STAT_MAX];
            wk_part_stat_key(row->part, key);
            r->part_same = wk_rindex_get(r->ix, key, rec, sizeof rec) == 1 &&
                           wk_part_stat_same(r->part_fd, rec);
        }
        /* An index whose place is not in the part (edited, or another part's) is not trusted:
         * the slow way, which reads by its review key or reviews. */
        if (row->offset > r->part_size || row->length > r->part_size - row->offset ||
            row->length < 3)
            return 0;
        if (append_window(&r->w_part, r->part_fd, row->offset, row->length, report) != 0) {
            *st = errno == ENOMEM ? KIVO_ENOMEM : KIVO_EIO;
            report->len = at;
            return -1;
        }
    }
    /* The report must be the bytes its index row (and event) name: a part edited or damaged since
     * the previous batch wrote it is not carried. A part whose status proves it unchanged since
     * its batch wrote and indexed it holds them (part_stat.h). */
    int oom = 0;
    const char *rp = report->data + at;
    size_t rl = report->len - at;
    /* "customer_run_id":"ID", built by hand: a carried line's only formatting was this. */
    static const char id_key[] = "\"customer_run_id\":\"";
    char idm[600];
    size_t id_len = strlen(row->run_id), idn = sizeof id_key - 1 + id_len + 1;
    if (idn >= sizeof idm)
        goto slow;
    memcpy(idm, id_key, sizeof id_key - 1);
    memcpy(idm + sizeof id_key - 1, row->run_id, id_len);
    idm[idn - 1] = '"';
    if (!hit.has_frame && r->part_same) {
        /* The index row must still name one whole report of this run: an index edited since
         * (another place or length) is not trusted. */
        if (rp[0] != '{' || rp[rl - 1] != '\n' || memchr(rp, '\n', rl - 1) ||
            !memmem(rp, rl < 1024 ? rl : 1024, idm, idn))
            goto slow;
    } else {
        char sha[KIVO_HASH_TEXT_SIZE];
        if ((*st = kivo_hasher_sha256_text(h, report->data + at, report->len - at, sha)) !=
            KIVO_OK) {
            report->len = at;
            return -1;
        }
        if (strcmp(sha, row->sha256) != 0)
            goto slow;
    }
    /* The event, as the previous batch wrote it: one line naming this report's SHA-256. */
    if (append_window(&r->w_events, r->events_fd, row->event_offset, row->event_length, event) !=
        0) {
        oom = errno == ENOMEM;
        goto slow;
    }
    const char *e = event->data + ev_at;
    if (e[0] != '{' || e[row->event_length - 1] != '\n' ||
        !memmem(e, row->event_length, row->sha256, strlen(row->sha256)) ||
        !memmem(e, row->event_length, idm, idn))
        goto slow;
    out->page = -1;
    out->page_offset = out->page_length = 0;
    if (paged) {
        int fd = page_file(r, row->page);
        if (fd < 0 || row->page_offset > r->page_size || row->page_length == 0 ||
            row->page_length > r->page_size - row->page_offset)
            goto slow;
        if (page && append_window(&r->w_page, fd, row->page_offset, row->page_length, page) != 0) {
            oom = errno == ENOMEM;
            goto slow;
        }
        out->page = row->page;
        out->page_offset = row->page_offset;
        out->page_length = row->page_length;
    }
    out->from_part = !hit.has_frame;
    out->part = row->part;
    out->offset = row->offset;
    out->seq = row->seq;
    out->line = row->line;
    out->file = row->file;
    out->event_offset = row->event_offset;
    out->row_page = row->page;
    out->row_page_offset = row->page_offset;
    out->row_page_length = row->page_length;
    out->run_id = row->run_id;
    memcpy(out->sha256, row->sha256, sizeof out->sha256);
    memcpy(out->review_key, row->review_key, sizeof out->review_key);
    out->verdict = row->verdict;
    out->claims = row->claims;
    out->unsupported = row->unsupported;
    out->categories = row->categories;
    out->label = row->label;
    out->groups = row->groups;
    out->groups_len = row->groups_len;
    return 1;
slow:
    report->len = at;
    event->len = ev_at;
    if (page)
        page->len = pg_at;
    if (oom) {
        *st = KIVO_ENOMEM;
        return -1;
    }
    return 0;
}
