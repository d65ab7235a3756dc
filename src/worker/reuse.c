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

#include "kivo/report.h"
#include "kivo/wire.h"
#include "metadata.h"
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
    r->reports_fd = -1;
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
