/*
 * batch.c - the batch pipeline, in four named steps per round of chunks: read, review, merge,
 * write; opening the out folder before the first round and finishing it after the last.
 *
 * A round is a few chunks per thread. Reading is serial (pread into reused buffers is far faster
 * than the review); reviewing is an OpenMP loop over chunks (the store v2 at 2 or more threads:
 * a pipeline of rounds with no barrier between them, pipeline_v2), each thread with its own parser,
 * record reader, engine and hasher made before the parallel region; the merge is serial and in
 * input order, which is what makes events, rejects and duplicate detection identical for any
 * thread count. Writing depends on the layout: the report store v2 (the default) appends each
 * report to the open part and its row to the index, serially and in input order, so the disk
 * sees large sequential writes; the per-run layout writes one folder and file per run, in
 * parallel. Memory is bounded by the round, not by the corpus: only an 8-byte hash (plus where it
 * was seen) per run id is kept for duplicates.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <omp.h>

#include "batch.h"
#include "breakdown.h"
#include "html.h"
#include "inputs.h"
#include "junit.h"
#include "manifest.h"
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "metrics_file.h"
#include "output.h"
#include "pages.h"
#include "part_stat.h"
#include "parts.h"
#include "progress.h"
#include "reader.h"
#include "report_index.h"
#include "reuse.h"
#include "review.h"
#include "seen.h"
#include "shard.h"
#include "testhook.h"
#include "twin.h"

#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_CHECKPOINT (64ull << 20) /* input bytes between checkpoints (v2) */
/* A line --reuse carried by its line key counts 1/CARRIED_WEIGHT of its bytes towards the next
 * checkpoint: it costs a small part of a review (no parse, no review, its files linked), and a
 * checkpoint bounds the work a kill loses. */
#define CARRIED_WEIGHT 16
#define WK_EVENTS_VBUF (256u << 10) /* events.jsonl's write buffer (v2), as a part's (parts.c) */
#define SLOTS_PER_THREAD 4
#define JSON_MAX_DEPTH 128

typedef struct item {
    uint64_t offset; /* of the line in its file */
    uint32_t line;   /* 0-based line index within the chunk */
    uint8_t rejected;
    uint8_t duplicate; /* set by the merge: not stored */
    uint8_t verdict;
    int8_t label; /* wk_label */
    uint32_t categories;
    uint32_t claims, unsupported;
    size_t text_off; /* the run id, or the reject reason, in slot.text (NUL-ended) */
    size_t event_off, event_len;
    size_t report_off, report_len;
    size_t page_off, page_len;        /* the page's data in slot.pages; 0 bytes: no page */
    int64_t page;                     /* set by the merge (v2): its page, or WK_PAGE_NONE */
    size_t groups_off;                /* --group-by values in slot.text (put_group_values) */
    uint64_t input_line;              /* set by the merge: 1-based line in its file */
    char sha256[KIVO_HASH_TEXT_SIZE]; /* the report's */
    uint8_t reused;                   /* --reuse carried its report over */
    uint8_t reused_line;              /* ... by its unchanged line (reuse.h's line key) */
    uint8_t has_line_key;
    unsigned char key[WK_REVIEW_KEY_SIZE];      /* its review key (reuse.h) */
    unsigned char line_key[WK_REVIEW_KEY_SIZE]; /* its line key (reuse.h) */
    uint64_t event_pos;                         /* set by the merge: its event in events.jsonl */
    /* Carried by its line (--reuse): where its report and page block are in the previous store,
     * for the writers to copy or link them there (twin.h). A page block carried so is not in
     * slot.pages (page_len is still its length). */
    uint8_t src_report, src_page_ref;
    uint32_t src_part;
    uint64_t src_off;
    int64_t src_page;
    uint64_t src_page_off;
    /* ... and its previous row's seq, input line and file, event place and page (wk_line_carry) */
    uint64_t src_seq, src_line, src_event_off;
    uint32_t src_file;
    int64_t src_row_page;
    uint64_t src_row_page_off, src_row_page_len;
} item;

typedef struct slot {
    wk_chunk chunk;
    item *items;
    size_t n_items, cap_items;
    uint32_t lines;
    kivo_buf text, events, reports, pages;
    int failed;                         /* KIVO_ENOMEM and such: fatal */
    char first_keys[WK_FIRST_KEYS_MAX]; /* the chunk's first record's top-level keys (see
                                         * wk_summary.first_keys) */
} slot;

typedef struct worker {
    kivo_json_parser *parser;
    kivo_record_reader *reader;
    kivo_engine *engine;
    kivo_hasher *hasher;
    wk_reuse *reuse; /* --reuse: this thread's reader of the previous store, or NULL */
    kivo_buf keybuf; /* the review key's input */
    wk_chunk in;     /* the store v2's pipeline: the chunk this thread reads and reviews */
} worker;

typedef struct job {
    const wk_jobspec *spec;
    wk_review_job review; /* every run's: no review_run_id yet, sequence 1 */
    wk_html_mode html;
    const wk_groups *groups; /* --group-by, or NULL */
    char report_root[4096];  /* DIR/reports/<workflow>, for messages */
    int wf_fd;               /* that folder, open (per-run layout) */
    int pages;               /* make the pages' data while reviewing */
    int runs_pages;          /* ... as the store v2's pages want it (wk_html_runs_item) */
    int page_refs; /* --reuse: carried page blocks are copied by the pages' writer, not read */
    unsigned char line_fp[WK_REVIEW_KEY_SIZE]; /* the job's fingerprint for line keys */
    int line_keys; /* compute them: v2 keeps them in its index, --reuse looks them up */
} job;

static item *new_item(slot *s)
{
    if (s->n_items == s->cap_items) {
        size_t cap = s->cap_items ? s->cap_items * 2 : 256;
        item *v = realloc(s->items, cap * sizeof *v);
        if (!v)
            return NULL;
        s->items = v;
        s->cap_items = cap;
    }
    item *it = &s->items[s->n_items++];
    memset(it, 0, sizeof *it);
    return it;
}

/* The record's value of each --group-by field, into slot.text: per field a 4-byte length
 * (UINT32_MAX: no value) and the bytes. */
static kivo_status put_group_values(const job *j, slot *s, item *it, const kivo_json_node *root)
{
    kivo_status st = KIVO_OK;
    it->groups_off = s->text.len;
    for (size_t k = 0; st == KIVO_OK && k < wk_groups_fields(j->groups); k++) {
        size_t len;
        const char *v =
            wk_meta_value_text(&j->spec->meta, wk_groups_meta_index(j->groups, k), root, &len);
        uint32_t n = v ? (uint32_t)len : UINT32_MAX;
        st = kivo_buf_append(&s->text, &n, sizeof n);
        if (st == KIVO_OK && v)
            st = kivo_buf_append(&s->text, v, len);
    }
    return st;
}

static void get_group_values(const slot *s, const item *it, size_t n, const char **v, size_t *len)
{
    const char *p = s->text.data + it->groups_off;
    for (size_t k = 0; k < n; k++) {
        uint32_t m;
        memcpy(&m, p, sizeof m);
        p += sizeof m;
        v[k] = m == UINT32_MAX ? NULL : p;
        len[k] = m == UINT32_MAX ? 0 : m;
        p += len[k];
    }
}

static kivo_status reject(slot *s, item *it, const char *prefix, const char *reason)
{
    it->rejected = 1;
    it->text_off = s->text.len;
    kivo_status st = kivo_buf_printf(&s->text, "%s%s", prefix, reason);
    if (st == KIVO_OK)
        st = kivo_buf_append(&s->text, "", 1);
    return st;
}

/* What the first record of a chunk holds at its top level, for the message of a batch that
 * rejects every record: its keys ("a", "b"), or what it is instead. */
static void first_keys(const kivo_json_node *root, char out[WK_FIRST_KEYS_MAX])
{
    size_t used = 0;
    if (!root) {
        snprintf(out, WK_FIRST_KEYS_MAX, "(not valid JSON)");
        return;
    }
    if (root->type != KIVO_JSON_OBJECT) {
        snprintf(out, WK_FIRST_KEYS_MAX, "(a JSON %s, not an object)",
                 kivo_json_type_name(root->type));
        return;
    }
    out[0] = '\0';
    for (const kivo_json_node *c = root->child; c; c = c->next) {
        int n = snprintf(out + used, WK_FIRST_KEYS_MAX - used, "%s\"%.*s\"", used ? ", " : "",
                         (int)(c->key_len > 64 ? 64 : c->key_len), c->key);
        if (n < 0 || (size_t)n >= WK_FIRST_KEYS_MAX - used) {
            /* Cut at a key, never inside a UTF-8 character. */
            snprintf(out + used, WK_FIRST_KEYS_MAX - used, "%s...", used ? ", " : "");
            return;
        }
        used += (size_t)n;
    }
    if (!used)
        snprintf(out, WK_FIRST_KEYS_MAX, "(an empty object)");
}

/* The reuse step: with --reuse, a record whose review key the previous store holds gets that
 * report carried over (reuse.h); any other is reviewed. Either way its report and event are
 * appended and its review key kept for the index. */
static kivo_status review_or_carry(const job *j, worker *w, slot *s, item *it,
                                   const kivo_json_node *root, const kivo_record *rec,
                                   const kivo_review **rv)
{
    kivo_status st = KIVO_OK;
    if (w->reuse) {
        int got = wk_reuse_carry(w->reuse, &j->review, w->hasher, root, rec, &s->reports,
                                 &s->events, it->sha256, rv, it->key, &st);
        if (got != 0) {
            it->reused = got > 0;
            return got > 0 ? KIVO_OK : st;
        }
    }
    st = wk_review_record(&j->review, w->engine, w->hasher, root, rec, &s->reports, &s->events,
                          NULL, it->sha256, rv);
    if (st == KIVO_OK && !w->reuse)
        st = wk_review_key(w->hasher, j->spec, rec, (*rv)->output_hash, (*rv)->source_hashes,
                           &w->keybuf, it->key);
    return st;
}

/* 1 when g[0..len) is n --group-by values as put_group_values() packs them, exactly: what the
 * merge and the index walk without bounds (the previous store's index may have been edited). */
static int groups_packed(const void *g, size_t len, size_t n)
{
    const char *p = g, *end = p + len;
    if (!g)
        return 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t m;
        if ((size_t)(end - p) < sizeof m)
            return 0;
        memcpy(&m, p, sizeof m);
        p += sizeof m;
        if (m != UINT32_MAX && (size_t)(end - p) < m)
            return 0;
        p += m == UINT32_MAX ? 0 : m;
    }
    return p == end;
}

/* The fast path of --reuse: a line the previous batch stored under the same job (its line key)
 * gets that batch's report, event and page block and its index fields, without being parsed.
 * @return 1 carried, 0 not (nothing appended), -1 with *st. */
static int carry_line(const job *j, worker *w, slot *s, item *it, kivo_status *st)
{
    wk_line_carry c;
    size_t text_at = s->text.len;
    it->report_off = s->reports.len;
    it->event_off = s->events.len;
    it->page_off = s->pages.len;
    int got = wk_reuse_carry_line(w->reuse, w->hasher, it->line_key, j->pages, (int)j->html,
                                  &s->reports, &s->events, j->page_refs ? NULL : &s->pages, &c, st);
    if (got <= 0)
        return got;
    it->text_off = text_at;
    *st = kivo_buf_append(&s->text, c.run_id, strlen(c.run_id) + 1);
    if (*st == KIVO_OK && j->groups) {
        it->groups_off = s->text.len;
        *st = groups_packed(c.groups, c.groups_len, wk_groups_fields(j->groups))
                  ? kivo_buf_append(&s->text, c.groups, c.groups_len)
                  : KIVO_EINVAL;
    }
    if (*st != KIVO_OK) {
        /* Groups the previous batch did not keep, or not as packed: the slow way. */
        s->text.len = text_at;
        s->reports.len = it->report_off;
        s->events.len = it->event_off;
        s->pages.len = it->page_off;
        if (*st == KIVO_EINVAL) {
            *st = KIVO_OK;
            return 0;
        }
        return -1;
    }
    it->report_len = s->reports.len - it->report_off;
    it->event_len = s->events.len - it->event_off;
    it->page_len = s->pages.len - it->page_off;
    if (j->page_refs && c.page >= 0) {
        it->page_len = c.page_length;
        it->src_page_ref = 1;
        it->src_page = c.page;
        it->src_page_off = c.page_offset;
    }
    it->src_report = (uint8_t)c.from_part;
    it->src_part = c.part;
    it->src_off = c.offset;
    it->src_seq = c.seq;
    it->src_line = c.line;
    it->src_file = c.file;
    it->src_event_off = c.event_offset;
    it->src_row_page = c.row_page;
    it->src_row_page_off = c.row_page_offset;
    it->src_row_page_len = c.row_page_length;
    memcpy(it->sha256, c.sha256, sizeof it->sha256);
    memcpy(it->key, c.review_key, sizeof it->key);
    it->verdict = c.verdict;
    it->categories = c.categories;
    it->claims = c.claims;
    it->unsupported = c.unsupported;
    it->label = c.label;
    it->reused = it->reused_line = 1;
    return 1;
}

/* Reviews one line: a reject, or a report and an event in the slot's buffers. */
static kivo_status review_line(const job *j, worker *w, slot *s, item *it, const char *line,
                               size_t len, size_t readable, int last_without_newline)
{
    const kivo_json_node *root;
    kivo_record rec;
    const kivo_review *rv;
    const char *why;
    const char *trunc =
        last_without_newline ? "truncated last line (no newline at end of file): " : "";
    kivo_status st = KIVO_OK;
    if (j->line_keys) {
        if ((st = wk_line_key(w->hasher, j->line_fp, line, len, it->line_key)) != KIVO_OK)
            return st;
        it->has_line_key = 1;
    }
    /* The per-run layout's pages are made another way: its batches take the slow way. */
    if (w->reuse && (!j->pages || j->runs_pages)) {
        int got = carry_line(j, w, s, it, &st);
        if (got != 0)
            return got > 0 ? KIVO_OK : st;
    }
    st = kivo_json_parse(w->parser, line, len, readable, 0, &root);
    if (st == KIVO_ENOMEM)
        return st;
    if (it == &s->items[0])
        first_keys(st == KIVO_OK ? root : NULL, s->first_keys);
    if (st != KIVO_OK)
        return reject(s, it,
                      st == KIVO_EUTF8 ? "invalid UTF-8: "
                      : trunc[0]       ? trunc
                                       : "invalid JSON: ",
                      kivo_json_parser_error(w->parser));
    st = kivo_record_extract(w->reader, root, &rec, &why);
    if (st == KIVO_ESCHEMA)
        return reject(s, it, "", why);
    if (st != KIVO_OK)
        return st;

    it->text_off = s->text.len;
    if ((st = kivo_buf_append(&s->text, rec.customer_run_id, rec.customer_run_id_len + 1)) !=
        KIVO_OK)
        return st;
    it->report_off = s->reports.len;
    it->event_off = s->events.len;
    if ((st = review_or_carry(j, w, s, it, root, &rec, &rv)) == KIVO_ETOOBIG) {
        /* over an engine bound: nothing of it was appended but its id */
        s->text.len = it->text_off;
        return reject(s, it, "", kivo_engine_errmsg(w->engine));
    }
    if (st != KIVO_OK)
        return st;
    it->report_len = s->reports.len - it->report_off;
    it->event_len = s->events.len - it->event_off;
    if (j->pages && wk_html_wanted(j->html, rv->gate_verdict)) {
        kivo_packet pk = wk_review_packet(j->spec, &rec);
        it->page_off = s->pages.len;
        if ((st = (j->runs_pages ? wk_html_runs_item : wk_html_run_data)(
                 &pk, s->reports.data + it->report_off, it->report_len, &s->pages)) != KIVO_OK)
            return st;
        it->page_len = s->pages.len - it->page_off;
    }
    wk_test_point("review");
    it->verdict = (uint8_t)rv->gate_verdict;
    it->categories = rv->categories;
    it->claims = (uint32_t)rv->n_claims;
    it->unsupported = (uint32_t)rv->unsupported_count;
    it->label = (int8_t)wk_meta_label(&j->spec->meta, root);
    return j->groups ? put_group_values(j, s, it, root) : KIVO_OK;
}

/* The chunk c (s->chunk, or in the pipeline the reviewing thread's own input with s->chunk its
 * copy without the bytes) reviewed into slot s. */
static void review_slot(const job *j, worker *w, slot *s, const wk_chunk *c)
{
    s->n_items = 0;
    s->lines = 0;
    s->failed = 0;
    s->first_keys[0] = '\0';
    kivo_buf_reset(&s->text);
    kivo_buf_reset(&s->events);
    kivo_buf_reset(&s->reports);
    kivo_buf_reset(&s->pages);
    if (c->overlong || c->corrupt || c->shrunk)
        return;
    const char *p = c->buf, *end = c->buf + c->len;
    uint32_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t len = (size_t)(le - p), raw = len;
        if (len && p[len - 1] == '\r')
            len--;
        int over = raw > j->spec->max_line_bytes;
        if (over || !kivo_json_blank(p, len)) {
            item *it = new_item(s);
            kivo_status st = KIVO_ENOMEM;
            if (it) {
                it->offset = c->offset + (uint64_t)(p - c->buf);
                it->line = line;
            }
            if (it && over) {
                /* Over the limit inside one read chunk: the reject of an over-long chunk. */
                char reason[128];
                snprintf(reason, sizeof reason, "line of %zu bytes is over the limit of %zu bytes",
                         raw + (nl != NULL), j->spec->max_line_bytes);
                st = reject(s, it, "", reason);
            } else if (it) {
                size_t readable = (size_t)(c->buf + c->cap + KIVO_JSON_PADDING - p);
                st = review_line(j, w, s, it, p, len, readable, !nl && c->no_final_newline);
            }
            if (st != KIVO_OK) {
                s->failed = st;
                return;
            }
        }
        line++;
        p = le + 1;
    }
    s->lines = line;
}

json_t *wk_batch_reject_json(const char *file, uint64_t line, uint64_t offset, const char *reason,
                             const char *run_id)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "line", json_integer((json_int_t)line));
    json_object_set_new(o, "offset", json_integer((json_int_t)offset));
    /* A reason quotes at most a parser message or a field name, never the record's text. */
    json_t *r = json_string(reason);
    json_object_set_new(o, "reason", r ? r : json_string("unreadable reason"));
    if (run_id) {
        json_t *id = json_string(run_id);
        if (id)
            json_object_set_new(o, "customer_run_id", id);
    }
    return o;
}

static int write_json_line(FILE *f, json_t *o)
{
    int rc = -1;
    if (o) {
        char *s = json_dumps(o, JSON_COMPACT);
        if (s && fputs(s, f) >= 0 && fputc('\n', f) != EOF)
            rc = 0;
        free(s);
        json_decref(o);
    }
    return rc;
}

static void count(wk_summary *sum, const item *it)
{
    sum->records_reviewed++;
    sum->reused += it->reused;
    sum->reused_lines += it->reused_line;
    sum->claims += it->claims;
    sum->unsupported_claims += it->unsupported;
    if (it->verdict < 3)
        sum->verdicts[it->verdict]++;
    for (int c = 1; c < KIVO_CAT_COUNT; c++)
        if ((it->categories >> c) & 1u)
            sum->categories[c]++;
}

/* --junit: a testcase per reviewed run, failed when the run is flagged. */
static int junit_run(wk_junit *ju, const wk_jobspec *spec, const char *run_id, const item *it)
{
    char msg[512], body[256];
    kivo_verdict v = (kivo_verdict)it->verdict;
    if (!wk_flagged(v))
        return wk_junit_case(ju, spec->workflow_id, run_id, WK_JUNIT_PASS, NULL, NULL, NULL);
    size_t used = (size_t)snprintf(msg, sizeof msg, "%s", kivo_verdict_name(v));
    for (int c = 1; c < KIVO_CAT_COUNT && used < sizeof msg; c++)
        if ((it->categories >> c) & 1u)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s",
                                     used == strlen(kivo_verdict_name(v)) ? ": " : ", ",
                                     kivo_category_name((kivo_category)c));
    snprintf(body, sizeof body, "%u of %u claims unsupported or contradicted; verdict %s",
             it->unsupported, it->claims, kivo_verdict_name(v));
    return wk_junit_case(ju, spec->workflow_id, run_id, WK_JUNIT_FAILURE, kivo_verdict_name(v), msg,
                         body);
}

/* --junit: a rejected record is an error testcase named by where it is. */
static int junit_reject(wk_junit *ju, const wk_jobspec *spec, const char *file, uint64_t line,
                        const char *reason)
{
    char name[4300];
    if (!ju)
        return 0;
    snprintf(name, sizeof name, "%s:%llu", file, (unsigned long long)line);
    return wk_junit_case(ju, spec->workflow_id, name, WK_JUNIT_ERROR, "rejected", reason, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define WHAT_MAX (WK_COMPONENT_MAX + 32)

/* Writes one run's claim_report.json, and its page or no stale one, in its own folder below
 * reports/<workflow>, never through a link. On failure, what names the path that failed below
 * that folder (errno is set). */
static int write_run(const job *j, const slot *s, const item *it, char what[WHAT_MAX])
{
    const char *id = s->text.data + it->text_off;
    char comp[WK_COMPONENT_MAX];
    struct iovec v = {s->reports.data + it->report_off, it->report_len};
    int fresh, rc = -1, fd;
    wk_path_component(id, strlen(id), comp);
    snprintf(what, WHAT_MAX, "%s", comp);
    if ((fd = wk_dir_walk(j->wf_fd, comp, 1, &fresh, NULL)) < 0)
        return -1;
    /* A folder made just now holds nothing to check, nor a stale page to remove. */
    unsigned flags = fresh ? WK_WRITE_FRESH : 0;
    snprintf(what, WHAT_MAX, "%s/claim_report.json", comp);
    if (wk_write_at(fd, "claim_report.json", &v, 1, WK_MODE_TEXT, flags) != 0)
        goto out;
    snprintf(what, WHAT_MAX, "%s/claim_report.html", comp);
    if (it->page_len
            ? wk_html_write_at(fd, "claim_report.html", "run", s->pages.data + it->page_off,
                               it->page_len, flags) != KIVO_OK
            /* A page left by an earlier run with another --html is stale. */
            : !fresh && unlinkat(fd, "claim_report.html", 0) != 0 && errno != ENOENT)
        goto out;
    rc = 0;
out:;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* events.jsonl or rejects.jsonl, written to a new temporary file in the out folder (its name
 * into tmp) until the batch ends. NULL on failure, with errno and tmp emptied. */
static FILE *open_partial(int root, const char *name, char tmp[WK_TMP_MAX])
{
    int fd = wk_tmp_open(root, name, WK_MODE_META, tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlinkat(root, tmp, 0);
        }
        tmp[0] = '\0';
        errno = e;
    }
    return f;
}

/* Everything one batch holds, from open_out() to close_batch(). */
typedef struct batch {
    const wk_jobspec *spec;
    wk_batch_opts *opts;
    wk_summary *sum;
    char *err;
    size_t errlen;
    const char *out; /* the out folder, for messages */
    int threads;
    size_t n_slots; /* chunks a round; b->slots holds two sets of them (v2 overlaps rounds) */
    job j;
    wk_inputs in;
    wk_reader *rd;
    wk_range *ranges; /* --shard: what of each input this shard reads, or NULL */
    worker *ws;
    slot *slots;
    wk_seen *seen;
    wk_html_index *index;
    FILE *events, *rejects;
    char *events_vbuf; /* events' stdio buffer (v2), freed after it is closed */
    /* --reuse, not resumed (v2): events.jsonl is written through a twin (twin.h), the previous
     * events.jsonl, instead of `events`; ev_buf holds events rendered in memory. */
    int ev_on;
    wk_twin ev;
    kivo_buf ev_buf;
    int prev_root; /* the previous out folder (--reuse), or -1 */
    char events_tmp[WK_TMP_MAX], rejects_tmp[WK_TMP_MAX];
    int root;              /* the out folder, locked (opts->lock_fd) */
    int reports_fd;        /* v2: DIR/reports */
    wk_parts *parts;       /* v2 */
    wk_rindex *ix;         /* v2 */
    uint64_t stored;       /* v2: reports stored so far (the index's next seq) */
    wk_pages *pages;       /* v2 pages (--html all or flagged), or NULL */
    uint64_t paged;        /* v2: runs given a page so far (the merge's count) */
    uint64_t events_bytes; /* events.jsonl's length so far (the merge's count) */
    uint32_t per_page;     /* v2: runs a page */
    size_t cur_file;       /* merge: the file of the last chunk */
    uint64_t cur_line;     /* merge: lines of that file before the next chunk */
    wk_progress prog;
    wk_manifest man;     /* DIR/manifest.json as this batch writes it */
    int resume;          /* v2: going on from man.ck */
    int ix_same;         /* --reuse: every row so far is the previous index's row of the same seq */
    int ix_defer;        /* ... and rows from seq ix_from on are not inserted yet */
    uint64_t ix_from;    /* (wk_rindex_copy_prev() at a checkpoint, the end or the first other) */
    uint64_t chunks;     /* input chunks consumed */
    uint64_t ckpt_bytes; /* input bytes at the last checkpoint, less light then */
    uint64_t light;      /* input bytes not counted towards checkpoints (CARRIED_WEIGHT) */
    double t0;           /* when the batch started (now()) */

    /* The next checkpoint: the chunks and input bytes it names as consumed. */
    uint64_t ck_chunks, ck_bytes;
} batch;

/* SIGINT / SIGTERM: the batch stops at its next checkpoint. The handler runs on whichever thread
 * takes the signal and the storing thread reads it, so it is a lock-free atomic (safe in a signal
 * handler, and no data race between threads as a volatile sig_atomic_t would be); relaxed: it
 * orders nothing else. */
static atomic_int stop_signal;

static void on_stop(int sig)
{
    atomic_store_explicit(&stop_signal, sig, memory_order_relaxed);
}

static int stop_signal_now(void)
{
    return atomic_load_explicit(&stop_signal, memory_order_relaxed);
}

static int per_run(const batch *b)
{
    return b->opts->layout == WK_LAYOUT_PER_RUN;
}

/* Removes what the other layout left in the out folder that would be read instead of, or beside,
 * this batch's reports: a per-run batch removes the v2 index, parts and pages (readers pick v2 by
 * the index). A v2 batch leaves reports/<workflow>/ of an earlier per-run batch alone (no reader looks
 * there once the index exists): it holds whole runs the operator may still want. */
static int remove_v2(int root)
{
    int fd = wk_dir_walk(root, "reports", 0, NULL, NULL), rc = 0;
    static const char *const names[] = {WK_RINDEX_NAME, WK_RINDEX_NAME "-wal",
                                        WK_RINDEX_NAME "-shm", WK_RINDEX_NAME "-journal"};
    if (fd < 0)
        return errno == ENOENT ? wk_pages_remove(root) : -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (unlinkat(fd, names[i], 0) != 0 && errno != ENOENT)
            rc = -1;
    /* The parts go too: a v2 writer would remove them, and they are no longer indexed. */
    wk_parts *p = NULL;
    char e[8];
    if (rc == 0 && wk_parts_open(fd, WK_COMPRESS_NONE, 0, NULL, &p, e, sizeof e) != 0)
        rc = -1;
    wk_parts_free(p);
    close(fd);
    if (rc == 0 && wk_pages_remove(root) != 0)
        rc = -1;
    return rc;
}

/* --reuse: the previous store's reports/ and pages/ given to the parts' and pages' writers
 * (twin.h), and the reviewing threads told to leave carried page blocks to the pages' writer. */
static int previous_store(batch *b)
{
    int root = open(b->opts->reuse, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        wk_output_error(b->err, b->errlen, "cannot read", b->opts->reuse, NULL, errno);
        return -1;
    }
    /* A resumed batch did not see the rows before its checkpoint: it makes its own index. */
    b->ix_same = !b->resume && b->opts->compress == WK_COMPRESS_NONE && !b->opts->merged_only;
    char prev_reports[4200];
    snprintf(prev_reports, sizeof prev_reports, "%s/reports", b->opts->reuse);
    b->ix_defer = b->ix_same && wk_rindex_attach_prev(b->ix, prev_reports) == 0;
    b->ix_from = 0;
    int rfd = wk_dir_walk(root, "reports", 0, NULL, NULL);
    if (rfd >= 0)
        wk_parts_set_previous(b->parts, rfd);
    b->prev_root = root; /* events.jsonl's twin is there */
    if (b->pages) {
        int pfd = wk_dir_walk(root, WK_PAGES_DIR, 0, NULL, NULL);
        if (pfd >= 0) {
            wk_pages_set_previous(b->pages, pfd);
            b->j.page_refs = 1;
        }
    }
    return 0;
}

/* events.jsonl or rejects.jsonl of the report store v2, as NAME.partial until the batch ends, so
 * that a resumed batch finds them: made new (whatever was at the name is removed, never
 * followed), or with resume cut back to the committed length. NULL on failure, with errno. */
static FILE *open_durable(int root, const char *name, int resume, uint64_t committed, char *vbuf)
{
    char partial[64];
    struct stat sb;
    int fd;
    snprintf(partial, sizeof partial, "%s.partial", name);
    if (!resume) {
        if (unlinkat(root, partial, 0) != 0 && errno != ENOENT)
            return NULL;
        fd = openat(root, partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    WK_MODE_META);
    } else {
        /* Killed after the batch gave it its final name, before the manifest said complete. */
        if (fstatat(root, partial, &sb, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
            renameat(root, name, root, partial);
        /* Cut back in place: never through a link into another folder (twin.h). */
        fd = wk_unshare_at(root, partial) == 0
                 ? openat(root, partial, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
        if (fd >= 0 &&
            (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < committed ||
             ftruncate(fd, (off_t)committed) != 0 || lseek(fd, (off_t)committed, SEEK_SET) < 0)) {
            close(fd);
            errno = EIO;
            fd = -1;
        }
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    /* Large writes: a batch writes ~1 KB of events a run, 4 KiB at a time by default. glibc
     * ignores the size when it allocates the buffer itself (st_blksize, 4 KiB, was what a
     * batch wrote per call), so the caller's is given when it has one. */
    if (f)
        setvbuf(f, vbuf, _IOFBF, WK_EVENTS_VBUF);
    return f;
}

/* What the index says of the runs a checkpoint kept, fed again to what the merge keeps in
 * memory: the run ids (duplicates), index.html's most severe runs, the breakdown. */
static int replay_row(const wk_rindex_row *r, void *arg)
{
    batch *b = arg;
    const wk_seen_entry *first;
    if (wk_seen_add(b->seen, r->run_id, r->file, r->line, &first) != 0 ||
        wk_seen_case(b->seen, r->run_id, r->file, r->line, &first) != 0)
        return -1;
    int64_t page = r->page >= 0 ? r->page : WK_PAGE_NONE;
    if (b->index && wk_html_index_add(b->index, r->run_id, (kivo_verdict)r->verdict, r->claims,
                                      r->unsupported, r->categories, page) != KIVO_OK)
        return -1;
    if (b->opts->breakdown) {
        const char *gv[WK_GROUP_MAX_FIELDS];
        size_t gl[WK_GROUP_MAX_FIELDS];
        const char *p = r->groups, *end = p ? p + r->groups_len : NULL;
        for (size_t k = 0; b->j.groups && k < wk_groups_fields(b->j.groups); k++) {
            uint32_t m = UINT32_MAX;
            if (p && (size_t)(end - p) >= sizeof m)
                memcpy(&m, p, sizeof m);
            if (m != UINT32_MAX && (size_t)(end - p) - sizeof m < m)
                m = UINT32_MAX; /* not as written: no value rather than a read past it */
            if (!p || (size_t)(end - p) < sizeof m) {
                gv[k] = NULL;
                gl[k] = 0;
                continue;
            }
            p += sizeof m;
            gv[k] = m == UINT32_MAX ? NULL : p;
            gl[k] = m == UINT32_MAX ? 0 : m;
            p += gl[k];
        }
        if (wk_breakdown_add(b->opts->breakdown, r->run_id, (kivo_verdict)r->verdict, r->categories,
                             r->claims, r->unsupported, (wk_label)r->label, gv, gl, page) != 0)
            return -1;
    }
    return 0;
}

/* Step 0, open: the out folder (made, opened once, locked; everything below it is reached from
 * its descriptor, output.h, so a link planted inside it is refused, never followed), its
 * manifest (another batch's folder is refused; a checkpoint of this one is resumed), the
 * layout's report folder, and the events and rejects being written. */
static kivo_status open_out(batch *b)
{
    const wk_jobspec *spec = b->spec;
    char report_dir[WK_REPORT_DIR_MAX], rel[WK_REPORT_DIR_MAX];
    size_t bad = 0;
    wk_manifest old;
    if ((b->opts->lock_fd = b->root = wk_dir_open(b->out, 1)) < 0) {
        snprintf(b->err, b->errlen, "cannot create %s: %s", b->out, strerror(errno));
        return KIVO_EIO;
    }
    if (wk_dir_lock(b->root) != 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(b->err, b->errlen,
                     "%s is in use by another kivo-worker process; wait for "
                     "it to end",
                     b->out);
            return KIVO_EBUSY;
        }
        snprintf(b->err, b->errlen, "cannot lock %s: %s", b->out, strerror(errno));
        return KIVO_EIO;
    }
    wk_tmp_sweep(b->root); /* what a killed batch left; a failure here harms nothing */
    if (wk_manifest_identity(spec, b->opts, &b->in, b->man.batch, b->man.options, b->err,
                             b->errlen) != 0)
        return KIVO_EIO;
    int had = wk_manifest_read(b->root, &old, b->err, b->errlen);
    if (had < 0 && !b->opts->overwrite) {
        size_t n = strlen(b->err);
        snprintf(b->err + n, b->errlen - n, " in %s: give --overwrite to replace what is there",
                 b->out);
        return KIVO_EINVAL;
    }
    if (had > 0 && strcmp(old.batch, b->man.batch) != 0 && !b->opts->overwrite) {
        snprintf(b->err, b->errlen,
                 "%s holds the output of another batch (another job spec, "
                 "batch id or inputs): give another --out, or --overwrite to replace it",
                 b->out);
        wk_manifest_free(&old);
        return KIVO_EINVAL;
    }
    /* A checkpoint of this very batch, with the same options, is gone on from. */
    /* Standard input cannot be read again: a batch reading it starts over. */
    b->resume = had > 0 && !per_run(b) && old.state == WK_MANIFEST_RUNNING && old.has_checkpoint &&
                !b->opts->junit && b->in.stdin_index == SIZE_MAX &&
                strcmp(old.batch, b->man.batch) == 0 && strcmp(old.options, b->man.options) == 0;
    if (b->resume) {
        b->man.ck = old.ck; /* the closed parts' sizes move over */
        b->man.has_checkpoint = 1;
    } else {
        wk_manifest_free(&old);
        /* Claimed before anything is cleared: a kill from here on finds no checkpoint. */
        if (wk_manifest_write(b->root, &b->man) != 0) {
            wk_output_error(b->err, b->errlen, "cannot write", b->out, WK_MANIFEST_NAME, errno);
            return KIVO_EIO;
        }
    }
    wk_report_dir(spec->workflow_id, report_dir);
    snprintf(b->j.report_root, sizeof b->j.report_root, "%s/%s", b->out, report_dir);
    snprintf(rel, sizeof rel, "%s", per_run(b) ? report_dir : "reports");
    int fd = wk_dir_walk(b->root, rel, 1, NULL, &bad);
    if (fd < 0) {
        rel[bad] = '\0';
        wk_output_error(b->err, b->errlen, "cannot create", b->out, rel, errno);
        return KIVO_EIO;
    }
    if (per_run(b)) {
        b->j.wf_fd = fd;
        if (remove_v2(b->root) != 0) {
            wk_output_error(b->err, b->errlen, "cannot remove", b->out, "reports/index", errno);
            return KIVO_EIO;
        }
        if (!(b->events = open_partial(b->root, "events.jsonl", b->events_tmp)) ||
            !(b->rejects = open_partial(b->root, "rejects.jsonl", b->rejects_tmp))) {
            wk_output_error(b->err, b->errlen, "cannot write", b->out,
                            b->events ? "rejects.jsonl" : "events.jsonl", errno);
            return KIVO_EIO;
        }
        return KIVO_OK;
    }
    char path[4200];
    const wk_checkpoint *ck = &b->man.ck;
    b->reports_fd = fd;
    snprintf(path, sizeof path, "%s/reports", b->out);
    if (b->resume) {
        wk_parts_state ps = {ck->part, ck->part_open, ck->part_bytes, ck->part_content,
                             ck->part_frames};
        if (wk_rindex_open_write(path, 0, ck->stored, ck->part, ck->part_frames, &b->ix, b->err,
                                 b->errlen) != 0 ||
            wk_parts_resume(fd, (wk_compress)b->opts->compress, b->opts->part_size, b->ix, &ps,
                            ck->closed, &b->parts, b->err, b->errlen) != 0)
            return KIVO_EIO;
    } else {
        if (wk_rindex_open_write(path, 1, 0, 0, 0, &b->ix, b->err, b->errlen) != 0 ||
            wk_parts_open(fd, (wk_compress)b->opts->compress, b->opts->part_size, b->ix, &b->parts,
                          b->err, b->errlen) != 0)
            return KIVO_EIO;
        if (wk_rindex_set(b->ix, "format", "kivo_report_store.v2") ||
            wk_rindex_set(b->ix, "workflow_id", spec->workflow_id) ||
            wk_rindex_set(b->ix, "batch_id", spec->batch_id) ||
            wk_rindex_set(b->ix, "compression", wk_compress_name((wk_compress)b->opts->compress))) {
            snprintf(b->err, b->errlen, "cannot write %s/reports/index: %s", b->out,
                     wk_rindex_errmsg(b->ix));
            return KIVO_EIO;
        }
    }
    /* The pages: with --html none there are none, and an earlier batch's would be stale. */
    if (b->opts->html == WK_HTML_NONE) {
        if (wk_pages_remove(b->root) != 0) {
            wk_output_error(b->err, b->errlen, "cannot remove", b->out, WK_PAGES_DIR, errno);
            return KIVO_EIO;
        }
    } else if ((b->resume
                    ? wk_pages_resume(b->root, b->per_page, &ck->pages, &b->pages, b->err,
                                      b->errlen)
                    : wk_pages_open(b->root, b->per_page, &b->pages, b->err, b->errlen)) != 0) {
        return KIVO_EIO;
    }
    /* --reuse: the writers copy carried bytes from the previous store, or link its files. */
    if (b->opts->reuse && previous_store(b) != 0)
        return KIVO_EIO;
    /* --reuse: events.jsonl is a link to the previous one when every event is its own, in
     * order (twin.h); a resumed batch writes it as usual. */
    if (b->prev_root >= 0 && !b->resume) {
        kivo_buf_init(&b->ev_buf, 0);
        if (wk_twin_begin(&b->ev, b->root, "events.jsonl.partial", "events.jsonl", b->prev_root,
                          WK_MODE_META) != 0) {
            wk_output_error(b->err, b->errlen, "cannot write", b->out, "events.jsonl.partial",
                            errno);
            return KIVO_EIO;
        }
        b->ev_on = 1;
    } else {
        b->events_vbuf = malloc(WK_EVENTS_VBUF);
        if (!(b->events = open_durable(b->root, "events.jsonl", b->resume, ck->events_bytes,
                                       b->events_vbuf))) {
            wk_output_error(b->err, b->errlen, "cannot write", b->out, "events.jsonl.partial",
                            errno);
            return KIVO_EIO;
        }
    }
    if (!(b->rejects =
              open_durable(b->root, "rejects.jsonl", b->resume, ck->rejects_bytes, NULL))) {
        wk_output_error(b->err, b->errlen, "cannot write", b->out, "rejects.jsonl.partial", errno);
        return KIVO_EIO;
    }
    snprintf(b->events_tmp, sizeof b->events_tmp, "events.jsonl.partial");
    snprintf(b->rejects_tmp, sizeof b->rejects_tmp, "rejects.jsonl.partial");
    return KIVO_OK;
}

/* Resuming: the merge's memory rebuilt from the index, the counts from the checkpoint, and the
 * input chunks it had consumed read again and dropped (the reader's chunking is deterministic,
 * and reading is far cheaper than reviewing). */
static kivo_status resume_state(batch *b)
{
    const wk_checkpoint *ck = &b->man.ck;
    wk_breakdown *bd = b->opts->breakdown;
    uint64_t files = b->sum->files;
    *b->sum = ck->counts;
    b->sum->files = files;
    b->sum->breakdown = bd;
    b->sum->threads = b->threads;
    b->sum->layout = "v2";
    b->sum->compression = wk_compress_name((wk_compress)b->opts->compress);
    b->sum->resumed = 1;
    b->sum->reuse = b->opts->reuse != NULL;
    b->cur_file = (size_t)ck->cur_file;
    b->cur_line = ck->cur_line;
    b->stored = ck->stored;
    b->paged = wk_pages_runs(&ck->pages, b->per_page);
    b->events_bytes = ck->events_bytes;
    if (wk_rindex_each(b->ix, 0, replay_row, b) != 0) {
        snprintf(b->err, b->errlen, "cannot resume from %s/reports/index: %s", b->out,
                 wk_rindex_errmsg(b->ix));
        return KIVO_EIO;
    }
    for (uint64_t i = 0; i < ck->chunks; i++) {
        int r = wk_reader_next(b->rd, &b->slots[0].chunk);
        if (r <= 0) {
            snprintf(b->err, b->errlen, "cannot resume: %s",
                     r < 0 ? strerror(errno) : "the inputs are shorter than at the checkpoint");
            return KIVO_EIO;
        }
    }
    b->chunks = ck->chunks;
    b->ckpt_bytes = wk_reader_bytes(b->rd);
    return KIVO_OK;
}

static int sync_events(batch *b);

/* A checkpoint (v2): the parts, events and rejects synced, the index committed, then the
 * manifest that counts them; each step durable before the next names it. */
static kivo_status checkpoint(batch *b)
{
    wk_checkpoint *ck = &b->man.ck;
    wk_parts_state ps;
    const uint64_t *closed;
    wk_pages_state pg = {0, 0, 0, 0};
    if (wk_parts_sync(b->parts, &ps, &closed, b->err, b->errlen) != 0 ||
        (b->pages && wk_pages_sync(b->pages, &pg, b->err, b->errlen) != 0))
        return KIVO_EIO;
    if (sync_events(b) != 0 || fflush(b->rejects) != 0 || fdatasync(fileno(b->rejects)) != 0) {
        snprintf(b->err, b->errlen, "cannot write output in %s: %s", b->out, strerror(errno));
        return KIVO_EIO;
    }
    if (b->ix_defer && wk_rindex_copy_prev(b->ix, b->ix_from, b->stored) != 0) {
        snprintf(b->err, b->errlen, "cannot write %s/reports/index: %s", b->out,
                 wk_rindex_errmsg(b->ix));
        return KIVO_EIO;
    }
    b->ix_from = b->stored;
    if (wk_rindex_commit(b->ix) != 0) {
        snprintf(b->err, b->errlen, "cannot write %s/reports/index: %s", b->out,
                 wk_rindex_errmsg(b->ix));
        return KIVO_EIO;
    }
    wk_test_point("checkpoint");
    uint64_t *mine = realloc(ck->closed, (ps.part + 1) * sizeof *mine);
    if (!mine) {
        snprintf(b->err, b->errlen, "out of memory");
        return KIVO_EIO;
    }
    if (ps.part)
        memcpy(mine, closed, ps.part * sizeof *mine);
    ck->closed = mine;
    ck->chunks = b->ck_chunks;
    ck->bytes = b->ck_bytes;
    ck->cur_file = b->cur_file;
    ck->cur_line = b->cur_line;
    ck->stored = b->stored;
    ck->part = ps.part;
    ck->part_open = ps.open;
    ck->part_bytes = ps.bytes;
    ck->part_content = ps.content;
    ck->part_frames = ps.frames;
    ck->events_bytes = b->ev_on ? b->ev.pos : (uint64_t)ftello(b->events);
    ck->rejects_bytes = (uint64_t)ftello(b->rejects);
    ck->pages = pg;
    ck->counts = *b->sum;
    ck->counts.breakdown = NULL;
    ck->counts.layout = ck->counts.compression = NULL;
    b->man.has_checkpoint = 1;
    if (wk_manifest_write(b->root, &b->man) != 0) {
        wk_output_error(b->err, b->errlen, "cannot write", b->out, WK_MANIFEST_NAME, errno);
        return KIVO_EIO;
    }
    b->ckpt_bytes = ck->bytes - b->light;
    /* --metrics-file: the counts so far, running (main.c writes the final one). */
    if (b->opts->metrics_file) {
        b->sum->seconds = now() - b->t0;
        if (wk_metrics_file_write(b->opts->metrics_file, b->sum, b->spec, 1, 0) != 0)
            fprintf(stderr, "kivo-worker: warning: cannot write %s: %s\n", b->opts->metrics_file,
                    strerror(errno));
    }
    return KIVO_OK;
}

/* The reviewing threads' state and the chunk slots, made before the first parallel region. */
static kivo_status open_workers(batch *b)
{
    const wk_jobspec *spec = b->spec;
    b->ws = calloc((size_t)b->threads, sizeof *b->ws);
    b->slots = calloc(2 * b->n_slots, sizeof *b->slots);
    if (!b->ws || !b->slots || wk_seen_create(&b->seen) != 0 ||
        wk_reader_open(&b->in, b->opts->chunk_bytes ? b->opts->chunk_bytes : DEFAULT_CHUNK,
                       spec->max_line_bytes, &b->rd) != 0 ||
        (b->opts->html != WK_HTML_NONE &&
         wk_html_index_open(b->root, spec->workflow_id, 0, &b->index) != KIVO_OK)) {
        snprintf(b->err, b->errlen, "out of memory");
        return KIVO_EIO;
    }
    if (b->ranges)
        wk_reader_set_ranges(b->rd, b->ranges);
    for (int t = 0; t < b->threads; t++) {
        if (kivo_json_parser_create(JSON_MAX_DEPTH, &b->ws[t].parser) != KIVO_OK ||
            kivo_record_reader_create(&spec->fields, &b->ws[t].reader) != KIVO_OK ||
            kivo_engine_create(&b->ws[t].engine) != KIVO_OK ||
            kivo_hasher_create(&b->ws[t].hasher) != KIVO_OK) {
            snprintf(b->err, b->errlen, "cannot set up worker thread %d", t);
            return KIVO_EIO;
        }
        kivo_buf_init(&b->ws[t].keybuf, 0);
        if (b->opts->reuse &&
            wk_reuse_open(b->opts->reuse, &b->ws[t].reuse, b->err, b->errlen) != 0)
            return KIVO_EIO;
    }
    for (size_t i = 0; i < 2 * b->n_slots; i++) {
        kivo_buf_init(&b->slots[i].text, 0);
        kivo_buf_init(&b->slots[i].events, 0);
        kivo_buf_init(&b->slots[i].reports, 0);
        kivo_buf_init(&b->slots[i].pages, 0);
    }
    return KIVO_OK;
}

/* Step 1, read: up to n_slots chunks, serially. @return the chunks read (0 at the end of the
 * inputs), or -1 with the message in err. */
static long read_step(batch *b, slot *set)
{
    size_t n = 0;
    while (n < b->n_slots) {
        int r = wk_reader_next(b->rd, &set[n].chunk);
        if (r < 0) {
            snprintf(b->err, b->errlen, "cannot read %s: %s", wk_reader_failed_file(b->rd),
                     strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        n++;
    }
    b->chunks += n;
    return (long)n;
}

/* Step 2, review: every chunk on the threads; a chunk's results stay in its slot. */
static void review_step(batch *b, slot *set, size_t n)
{
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads)
    for (size_t i = 0; i < n; i++)
        review_slot(&b->j, &b->ws[omp_get_thread_num()], &set[i], &set[i].chunk);
}

/* A chunk the reader could not give lines of (the file shrank, broke off, or held a line over the
 * limit): one reject. @return 0, or -1 (errno) when the rejects cannot be written. */
static int merge_broken_chunk(batch *b, const slot *s, const char *file)
{
    char reason[256];
    const wk_chunk *c = &s->chunk;
    if (c->shrunk)
        snprintf(reason, sizeof reason,
                 "the file shrank while it was read (%llu bytes when the "
                 "job began, %llu at the end): what followed here was not read",
                 (unsigned long long)c->shrunk_from, (unsigned long long)c->shrunk_to);
    else if (c->corrupt)
        snprintf(reason, sizeof reason,
                 "compressed data is corrupt or truncated here; the rest "
                 "of the file is unreadable");
    else
        snprintf(reason, sizeof reason, "line of %llu bytes is over the limit of %zu bytes",
                 (unsigned long long)c->overlong, b->spec->max_line_bytes);
    b->sum->records_read++;
    b->sum->records_rejected++;
    if (write_json_line(b->rejects, wk_batch_reject_json(file, b->cur_line + 1, c->offset, reason,
                                                         NULL)) != 0 ||
        (!c->shrunk && junit_reject(b->opts->junit, b->spec, file, b->cur_line + 1, reason) != 0))
        return -1;
    if (c->overlong)
        b->cur_line++;
    return 0;
}

/* A reviewed run whose id was seen before in the job: a reject naming where. @return 0 or -1. */
static int merge_duplicate(batch *b, item *it, const char *file, const char *id,
                           const wk_seen_entry *first)
{
    char reason[600];
    uint32_t ff;
    uint64_t fl;
    it->duplicate = 1;
    b->sum->records_rejected++;
    b->sum->duplicates++;
    if (wk_seen_where(first, &ff, &fl))
        snprintf(reason, sizeof reason, "duplicate customer_run_id, first seen at %s line %llu",
                 b->in.paths[ff], (unsigned long long)fl);
    else
        snprintf(reason, sizeof reason,
                 "duplicate customer_run_id, first seen earlier in this job");
    if (write_json_line(b->rejects,
                        wk_batch_reject_json(file, it->input_line, it->offset, reason, id)) != 0 ||
        junit_reject(b->opts->junit, b->spec, file, it->input_line, reason) != 0)
        return -1;
    return 0;
}

/* Where the index.html and the disagreements link a kept run's page. */
static int64_t page_of(const batch *b, const item *it)
{
    if (per_run(b))
        return it->page_len ? WK_PAGE_RUN_HTML : WK_PAGE_RUN_DIR;
    return it->page;
}

/* The events rendered in memory since the last carried one, to the twin. @return 0 or -1. */
static int flush_events(batch *b)
{
    int rc = wk_twin_write(&b->ev, b->ev_buf.data, b->ev_buf.len);
    kivo_buf_reset(&b->ev_buf);
    return rc;
}

/* One run's event to events.jsonl: through the stdio stream, or (ev_on) through the twin, an
 * event carried by its line copied from its place in the previous events.jsonl (where
 * carry_line() read it). @return 0, or -1 with errno. */
static int put_event(batch *b, const item *it, const char *data)
{
    if (!b->ev_on)
        return fwrite(data, 1, it->event_len, b->events) == it->event_len ? 0 : -1;
    if (it->reused_line && b->ev.twin >= 0)
        return flush_events(b) != 0
                   ? -1
                   : wk_twin_copy(&b->ev, b->ev.twin, it->src_event_off, it->event_len);
    if (kivo_buf_append(&b->ev_buf, data, it->event_len) != KIVO_OK) {
        errno = ENOMEM;
        return -1;
    }
    return b->ev_buf.len >= WK_EVENTS_VBUF ? flush_events(b) : 0;
}

/* events.jsonl durable so far (a checkpoint). @return 0, or -1 with errno. */
static int sync_events(batch *b)
{
    if (b->ev_on)
        return flush_events(b) != 0 || wk_twin_sync(&b->ev) != 0 ? -1 : 0;
    return fflush(b->events) != 0 || fdatasync(fileno(b->events)) != 0 ? -1 : 0;
}

/* One reviewed, not duplicate run: counts, breakdown, JUnit, index.html and its event. */
static kivo_status merge_run(batch *b, slot *s, item *it, const char *id)
{
    /* v2: pages fill in input order, so the merge knows each run's page before it is written. */
    it->page = b->pages && it->page_len ? (int64_t)(b->paged++ / b->per_page) : WK_PAGE_NONE;
    count(b->sum, it);
    if (b->opts->breakdown) {
        const char *gv[WK_GROUP_MAX_FIELDS];
        size_t gl[WK_GROUP_MAX_FIELDS];
        if (b->j.groups)
            get_group_values(s, it, wk_groups_fields(b->j.groups), gv, gl);
        if (wk_breakdown_add(b->opts->breakdown, id, (kivo_verdict)it->verdict, it->categories,
                             it->claims, it->unsupported, (wk_label)it->label, gv, gl,
                             page_of(b, it)) != 0)
            return KIVO_ENOMEM;
    }
    if (b->opts->junit && junit_run(b->opts->junit, b->spec, id, it) != 0)
        return KIVO_EIO;
    if (b->index && wk_html_index_add(b->index, id, (kivo_verdict)it->verdict, it->claims,
                                      it->unsupported, it->categories, page_of(b, it)) != KIVO_OK)
        return KIVO_ENOMEM;
    if (put_event(b, it, s->events.data + it->event_off) != 0)
        return KIVO_EIO;
    it->event_pos = b->events_bytes;
    b->events_bytes += it->event_len;
    return KIVO_OK;
}

/* Step 3, merge: the chunks in input order give line numbers, duplicates, rejects, events and
 * counts, so all of these are the same for any thread count. */
static kivo_status merge_step(batch *b, slot *set, size_t n)
{
    kivo_status st = KIVO_OK;
    for (size_t i = 0; i < n; i++) {
        slot *s = &set[i];
        const char *file = b->in.paths[s->chunk.file];
        if (s->failed) {
            snprintf(b->err, b->errlen, "reviewing %s: %s", file,
                     kivo_status_str((kivo_status)s->failed));
            return KIVO_EIO;
        }
        if (s->chunk.file != b->cur_file) {
            wk_progress_file(&b->prog, s->chunk.file, b->sum->records_read,
                             b->sum->records_rejected);
            b->cur_file = s->chunk.file;
            /* A shard's range inside a file: line numbers stay the file's. */
            b->cur_line = b->ranges ? b->ranges[s->chunk.file].first_line : 0;
        }
        if (s->chunk.shrunk || s->chunk.corrupt || s->chunk.overlong) {
            if (merge_broken_chunk(b, s, file) != 0)
                goto write_failed;
            continue;
        }
        for (size_t k = 0; k < s->n_items; k++) {
            item *it = &s->items[k];
            const char *text = s->text.data + it->text_off;
            const wk_seen_entry *first = NULL;
            it->input_line = b->cur_line + it->line + 1;
            if (b->sum->records_read++ == 0)
                memcpy(b->sum->first_keys, s->first_keys, sizeof s->first_keys);
            if (it->rejected) {
                if (b->sum->records_rejected++ == 0)
                    snprintf(b->sum->first_reject, sizeof b->sum->first_reject, "%s", text);
                if (write_json_line(b->rejects, wk_batch_reject_json(file, it->input_line,
                                                                     it->offset, text, NULL)) !=
                        0 ||
                    junit_reject(b->opts->junit, b->spec, file, it->input_line, text) != 0)
                    goto write_failed;
                continue;
            }
            if (wk_seen_add(b->seen, text, (uint32_t)s->chunk.file, it->input_line, &first) != 0)
                goto no_memory;
            if (first) {
                if (merge_duplicate(b, it, file, text, first) != 0)
                    goto write_failed;
                continue;
            }
            if (wk_seen_case(b->seen, text, (uint32_t)s->chunk.file, it->input_line, &first) != 0)
                goto no_memory;
            if (first && b->sum->case_collisions++ == 0) {
                uint32_t ff;
                uint64_t fl;
                int known = wk_seen_where(first, &ff, &fl);
                fprintf(stderr,
                        "kivo-worker: warning: customer_run_id \"%s\" (%s line %llu) "
                        "differs only in letter case from the one at %s line %llu: on a "
                        "case-insensitive file system their report folders are one folder "
                        "(see summary.json run_ids_differing_in_case)\n",
                        text, file, (unsigned long long)it->input_line,
                        known ? b->in.paths[ff] : "?", (unsigned long long)fl);
            }
            if ((st = merge_run(b, s, it, text)) == KIVO_ENOMEM)
                goto no_memory;
            if (st != KIVO_OK)
                goto write_failed;
        }
        b->cur_line += s->lines;
    }
    return KIVO_OK;
no_memory:
    snprintf(b->err, b->errlen, "out of memory");
    return KIVO_EIO;
write_failed:
    snprintf(b->err, b->errlen, "cannot write output in %s: %s", b->out, strerror(errno));
    return KIVO_EIO;
}

/* Step 4, write (per-run layout): one folder and file per run, in parallel. */
static kivo_status write_step_per_run(batch *b, slot *set, size_t n)
{
    int write_errno = 0;
    char what[WHAT_MAX] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads)
    for (size_t i = 0; i < n; i++) {
        slot *s = &set[i];
        for (size_t k = 0; k < s->n_items; k++) {
            item *it = &s->items[k];
            char failed[WHAT_MAX];
            if (it->rejected || it->duplicate || write_run(&b->j, s, it, failed) == 0)
                continue;
            int e = errno ? errno : EIO;
#pragma omp critical(wk_batch_write_failure)
            if (!write_errno) {
                write_errno = e;
                memcpy(what, failed, sizeof what);
            }
        }
    }
    if (write_errno) {
        wk_output_error(b->err, b->errlen, "cannot write reports under", b->j.report_root, what,
                        write_errno);
        return KIVO_EIO;
    }
    return KIVO_OK;
}

/* Step 4, write (report store v2): each stored report appended to the open part and its row
 * added to the index, in input order. */
static kivo_status write_step_v2(batch *b, slot *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        slot *s = &set[i];
        if (s->chunk.shrunk || s->chunk.corrupt || s->chunk.overlong)
            continue;
        for (size_t k = 0; k < s->n_items; k++) {
            item *it = &s->items[k];
            wk_part_loc loc;
            wk_page_loc pl = {-1, 0, 0};
            if (it->rejected || it->duplicate)
                continue;
            if (it->page >= 0 &&
                (it->src_page_ref
                     ? wk_pages_append_carried(b->pages, it->src_page, it->src_page_off,
                                               it->page_len, &pl, b->err, b->errlen)
                     : wk_pages_append(b->pages, s->pages.data + it->page_off, it->page_len, &pl,
                                       b->err, b->errlen)) != 0)
                return KIVO_EIO;
            assert(pl.page == it->page);
            if ((it->src_report ? wk_parts_append_carried(
                                      b->parts, s->reports.data + it->report_off, it->report_len,
                                      it->src_part, it->src_off, &loc, b->err, b->errlen)
                                : wk_parts_append(b->parts, s->reports.data + it->report_off,
                                                  it->report_len, &loc, b->err, b->errlen)) != 0)
                return KIVO_EIO;
            wk_rindex_row row = {.seq = b->stored,
                                 .run_id = s->text.data + it->text_off,
                                 .part = loc.part,
                                 .offset = loc.offset,
                                 .length = it->report_len,
                                 .frame = loc.frame,
                                 .verdict = it->verdict,
                                 .claims = it->claims,
                                 .unsupported = it->unsupported,
                                 .categories = it->categories,
                                 .page = pl.page,
                                 .page_offset = pl.offset,
                                 .page_length = pl.length,
                                 .file = (uint32_t)s->chunk.file,
                                 .line = it->input_line,
                                 .has_key = 1,
                                 .label = it->label,
                                 .reused = it->reused,
                                 .has_line_key = it->has_line_key,
                                 .event_offset = it->event_pos,
                                 .event_length = it->event_len};
            memcpy(row.line_key, it->line_key, sizeof row.line_key);
            memcpy(row.sha256, it->sha256, sizeof row.sha256);
            memcpy(row.review_key, it->key, sizeof row.review_key);
            if (b->j.groups) { /* the packed values, for a resumed batch's breakdown */
                const char *g = s->text.data + it->groups_off, *p = g;
                for (size_t f = 0; f < wk_groups_fields(b->j.groups); f++) {
                    uint32_t m;
                    memcpy(&m, p, sizeof m);
                    p += sizeof m + (m == UINT32_MAX ? 0 : m);
                }
                row.groups = g;
                row.groups_len = (size_t)(p - g);
            }
            /* Each row the previous store's own (wk_rindex_adopt() at the end)? The fields a
             * line carries come from that row; these are the ones this batch decides. While
             * they all are, the rows are not inserted one by one: a checkpoint, the end or the
             * first other row copies them from the previous index in one statement. */
            int own = b->ix_same && it->reused_line && it->src_report && it->src_seq == row.seq &&
                      it->src_file == row.file && it->src_line == row.line &&
                      it->src_event_off == row.event_offset && it->src_part == row.part &&
                      it->src_off == row.offset && it->src_row_page == row.page &&
                      (row.page < 0 || (it->src_row_page_off == row.page_offset &&
                                        it->src_row_page_len == row.page_length));
            if (b->ix_same && !own) {
                if (b->ix_defer && wk_rindex_copy_prev(b->ix, b->ix_from, row.seq) != 0)
                    goto index_failed;
                b->ix_same = b->ix_defer = 0;
            }
            if (!(own && b->ix_defer) && wk_rindex_add(b->ix, &row) != 0)
                goto index_failed;
            b->stored++;
            wk_test_point("store");
        }
    }
    return KIVO_OK;
index_failed:
    snprintf(b->err, b->errlen, "cannot write %s/reports/index: %s", b->out,
             wk_rindex_errmsg(b->ix));
    return KIVO_EIO;
}

/* The chunks and their reports, events and pages are all written by now: their memory goes back
 * before the report index builds its indexes, so the two peaks do not add up (peak RSS). */
static void release_slots(batch *b)
{
    for (size_t i = 0; b->slots && i < 2 * b->n_slots; i++) {
        slot *s = &b->slots[i];
        wk_chunk_free(&s->chunk);
        free(s->items);
        s->items = NULL;
        s->n_items = s->cap_items = 0;
        kivo_buf_free(&s->text);
        kivo_buf_free(&s->events);
        kivo_buf_free(&s->reports);
        kivo_buf_free(&s->pages);
    }
    for (int t = 0; b->ws && t < b->threads; t++)
        wk_chunk_free(&b->ws[t].in);
}

/* Steps 3 and 4 of a round (v2): merged, then stored. */
static kivo_status store_round(batch *b, slot *set, size_t n)
{
    kivo_status st = merge_step(b, set, n);
    if (st == KIVO_OK)
        st = write_step_v2(b, set, n);
    /* The lines carried by their line key weigh less towards the next checkpoint. */
    for (size_t i = 0; st == KIVO_OK && i < n; i++) {
        const slot *c = &set[i];
        for (size_t k = 0; k < c->n_items; k++) {
            const item *it = &c->items[k];
            if (!it->reused_line)
                continue;
            uint64_t end =
                k + 1 < c->n_items ? c->items[k + 1].offset : c->chunk.offset + c->chunk.len;
            uint64_t len = end > it->offset ? end - it->offset : 0;
            b->light += len - len / CARRIED_WEIGHT;
        }
    }
    return st;
}

/* The store v2 at 2 threads or more: rounds go through read, review and store as a pipeline
 * over two sets of slots, with no barrier between rounds. A reviewing thread takes the next chunk
 * in input order: it reads it, under the pipeline's lock, into its own input buffer (worker.in)
 * and reviews it into the next slot of the set being filled, the older set and then the younger.
 * Once a set is full (n_slots chunks, the inputs' end or a signal) and all its chunks are
 * reviewed, a writer thread (one beside the reviewing threads) stores that round (merge and write,
 * serial and in input order, as ever) and writes the checkpoint due after it; the set then takes
 * the round after the younger one, while the reviewing threads go on with the younger set. A
 * reviewing thread that finds no free slot while a round is being stored waits for one, instead
 * of every thread waiting at the end of each round for the slowest chunk, the store and its
 * syncs. The merge and the store need only where a chunk came from (the slot's copy of its
 * wk_chunk, without the bytes), so the input held is one chunk a reviewing thread rather than two
 * rounds of them (peak RSS). The rounds are the same n_slots chunks as when a set was read at
 * once, so the checkpoints count the same chunks. */
typedef struct flow_set {
    slot *s;
    size_t n;               /* chunks read into it (each handed out to review as it is read) */
    size_t done;            /* chunks reviewed */
    int full;               /* no more chunks go into it (n_slots of them, the inputs' end or a
                             * signal); 0 with n == 0: free */
    uint64_t chunks, bytes; /* b->chunks and the reader's bytes once it was full */
} flow_set;

typedef struct flow {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    flow_set set[2];
    int older;               /* the set read first: reviewed first, stored next */
    int storing;             /* a thread is storing set[older] */
    int end;                 /* read no more: the inputs' end, a failure or a signal */
    kivo_status st;          /* the first failure */
    const char *failed_file; /* ... when it was a read's: the file, and errno then */
    int failed_errno;
    int sig; /* the signal that stopped the batch */
    uint64_t every;
} flow;

/* Under mu: no more chunks go into set f. */
static void flow_close(batch *b, flow_set *f)
{
    f->full = 1;
    f->chunks = b->chunks;
    f->bytes = wk_reader_bytes(b->rd);
}

/* Under mu: the set the next chunk goes into, or NULL (both full, or the end). */
static flow_set *flow_filling(flow *p)
{
    flow_set *o = &p->set[p->older], *y = &p->set[p->older ^ 1];
    if (p->end)
        return NULL;
    return !o->full ? o : !y->full ? y : NULL;
}

/* Under mu: the next chunk read into w->in, and its copy (without the bytes) into the next slot of
 * f. @return 1 with *i that slot, or 0 at the end of the inputs or on a read failure (p->st). */
static int flow_take(batch *b, flow *p, worker *w, flow_set *f, size_t *i)
{
    int r = wk_reader_next(b->rd, &w->in);
    if (r <= 0) {
        if (r < 0 && p->st == KIVO_OK) {
            p->failed_errno = errno;
            p->failed_file = wk_reader_failed_file(b->rd);
            p->st = KIVO_EIO;
        }
        p->end = 1;
        flow_close(b, f);
        return 0;
    }
    b->chunks++;
    *i = f->n++;
    f->s[*i].chunk = w->in;
    f->s[*i].chunk.buf = NULL;
    f->s[*i].chunk.cap = 0;
    if (f->n == b->n_slots)
        flow_close(b, f);
    return 1;
}

/* The store job: set o (full, all reviewed) merged and stored, then the checkpoint due after it
 * written. */
static kivo_status flow_store(batch *b, flow *p, const flow_set *o, flow_set *y)
{
    kivo_status st = store_round(b, o->s, o->n);
    if (st != KIVO_OK)
        return st;
    b->sum->bytes = o->bytes;
    wk_progress_update(&b->prog, o->bytes, b->sum->records_read);
    pthread_mutex_lock(&p->mu);
    int sig = stop_signal_now();
    if (!p->sig && sig) {
        p->sig = sig;
        p->end = 1; /* the chunks being reviewed are stored; no more are read */
        if (!y->full)
            flow_close(b, y);
    }
    /* A stopped batch: the checkpoint once every round read is stored. */
    int last = p->sig && !y->n;
    pthread_mutex_unlock(&p->mu);
    if (o->bytes - b->light - b->ckpt_bytes >= p->every || last) {
        b->ck_chunks = o->chunks;
        b->ck_bytes = o->bytes;
        if ((st = checkpoint(b)) != KIVO_OK)
            return st;
    }
    return KIVO_OK;
}

/* One thread of the pipeline. With a team of threads + 1, the last thread is the writer: it only
 * stores (so that its waits on the disk, the syncs of each page and part it closes and of the
 * checkpoints, leave both CPUs to the reviewing threads) and the others only read and review; a
 * smaller team (OMP_THREAD_LIMIT, OMP_DYNAMIC) shares both jobs. */
static void flow_work(batch *b, flow *p)
{
    int tid = omp_get_thread_num(), team = omp_get_num_threads();
    int writer = team > b->threads && tid == team - 1;
    int stores = writer || team <= b->threads;
    worker *w = writer ? NULL : &b->ws[tid];
    pthread_mutex_lock(&p->mu);
    for (;;) {
        flow_set *o = &p->set[p->older], *y = &p->set[p->older ^ 1];
        if (p->st != KIVO_OK)
            break;
        if (stores && !p->storing && o->full && o->n && o->done == o->n) {
            p->storing = 1;
            pthread_mutex_unlock(&p->mu);
            kivo_status st = flow_store(b, p, o, y);
            pthread_mutex_lock(&p->mu);
            p->storing = 0;
            if (st != KIVO_OK) {
                if (p->st == KIVO_OK)
                    p->st = st;
            } else {
                o->n = o->done = 0;
                o->full = 0;
                p->older ^= 1; /* o is free: it takes the round after y */
            }
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        flow_set *f = writer ? NULL : flow_filling(p);
        size_t i;
        if (f && flow_take(b, p, w, f, &i)) {
            pthread_mutex_unlock(&p->mu);
            review_slot(&b->j, w, &f->s[i], &w->in);
            pthread_mutex_lock(&p->mu);
            if (++f->done == f->n && f->full)
                pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (f) {
            /* The end (f full now, perhaps with every chunk reviewed) or a failure. */
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (p->end && !o->n && !y->n)
            break; /* every round read is stored */
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

/* Steps 1 to 4 of every round, and the checkpoints, as a pipeline (v2, 2+ threads). @return the
 * first failure; *sig the signal that stopped the batch, or 0. */
static kivo_status pipeline_v2(batch *b, uint64_t every, int *sig)
{
    flow p = {.set = {{.s = b->slots}, {.s = b->slots + b->n_slots}}, .every = every};
    *sig = 0;
    wk_chunk_free(&b->slots[0].chunk); /* resume_state()'s, which skipped the chunks done */
    if (pthread_mutex_init(&p.mu, NULL) != 0)
        return KIVO_ENOMEM;
    if (pthread_cond_init(&p.cv, NULL) != 0) {
        pthread_mutex_destroy(&p.mu);
        return KIVO_ENOMEM;
    }
#pragma omp parallel num_threads(b->threads + 1)
    flow_work(b, &p);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    if (p.failed_file)
        snprintf(b->err, b->errlen, "cannot read %s: %s", p.failed_file, strerror(p.failed_errno));
    *sig = p.sig;
    return p.st;
}

/* Step 5's files: events.jsonl and rejects.jsonl under their names, then summary.json and
 * index.html. */
static kivo_status finish_files(batch *b, double t0)
{
    FILE *f = b->events;
    int linked = 0;
    b->events = NULL;
    if (b->ev_on) {
        /* Every event the previous one's, in order: a link to it (twin.h), nothing to rename. */
        if (flush_events(b) != 0 || wk_twin_close(&b->ev, &linked) != 0)
            goto write_failed;
        b->ev_on = 0;
    } else if (fclose(f) != 0) {
        goto write_failed;
    }
    if (linked)
        b->events_tmp[0] = '\0';
    f = b->rejects;
    b->rejects = NULL;
    if (fclose(f) != 0)
        goto write_failed;
    if (b->events_tmp[0] && wk_commit_at(b->root, b->events_tmp, "events.jsonl", 0) != 0) {
        b->events_tmp[0] = '\0';
        wk_output_error(b->err, b->errlen, "cannot write", b->out, "events.jsonl", errno);
        return KIVO_EIO;
    }
    b->events_tmp[0] = '\0';
    if (wk_commit_at(b->root, b->rejects_tmp, "rejects.jsonl", 0) != 0) {
        b->rejects_tmp[0] = '\0';
        wk_output_error(b->err, b->errlen, "cannot write", b->out, "rejects.jsonl", errno);
        return KIVO_EIO;
    }
    b->rejects_tmp[0] = '\0';
    b->sum->bytes = wk_reader_bytes(b->rd);
    b->sum->seconds = now() - t0;
    char *js = wk_summary_json(b->sum, b->spec, b->out);
    if (b->index && b->opts->breakdown && wk_breakdown_labeled(b->opts->breakdown) &&
        wk_html_index_attach(b->index, "disagreements",
                             wk_breakdown_disagreements(b->opts->breakdown)) != 0) {
        free(js);
        errno = ENOMEM;
        goto write_failed;
    }
    struct iovec v = {js, js ? strlen(js) : 0};
    const char *name = "summary.json";
    int bad_write =
        !js || wk_write_at(b->root, name, &v, 1, WK_MODE_META, 0) != 0 ||
        (b->index && (name = "index.html", wk_html_index_write(b->index, js) != KIVO_OK));
    int e = js ? errno : ENOMEM;
    free(js);
    if (bad_write) {
        wk_output_error(b->err, b->errlen, "cannot write", b->out, name, e);
        return KIVO_EIO;
    }
    /* No index with --html none: one left by an earlier batch would be stale. */
    if (!b->index && unlinkat(b->root, "index.html", 0) != 0 && errno != ENOENT)
        goto write_failed;
    return KIVO_OK;
write_failed:
    snprintf(b->err, b->errlen, "cannot write output in %s: %s", b->out, strerror(errno));
    return KIVO_EIO;
}

/* The index completed: its lookup indexes built, or (--reuse, every row the previous index's
 * own row) a copy of the previous index, reused set (wk_rindex_adopt()). @return 0, or -1 with a
 * message in err. */
static int finish_index(batch *b, char *err, size_t errlen)
{
    int adopted = 0;
    if (b->ix_same && b->stored > 0) {
        char here[4200], there[4200];
        snprintf(here, sizeof here, "%s/reports", b->out);
        snprintf(there, sizeof there, "%s/reports", b->opts->reuse);
        if (wk_rindex_adopt(b->ix, here, there, b->stored, &adopted, err, errlen) != 0)
            return -1;
        if (adopted)
            wk_test_point("index_adopted");
        if (adopted && b->opts->verbose)
            fprintf(stderr,
                    "kivo-worker: %s/reports/index: a copy of %s/reports/index (every run "
                    "carried to its place), reused set\n",
                    b->out, b->opts->reuse);
    }
    if (!adopted && b->ix_defer && wk_rindex_copy_prev(b->ix, b->ix_from, b->stored) != 0) {
        snprintf(err, errlen, "cannot write %s/reports/index: %s", b->out, wk_rindex_errmsg(b->ix));
        return -1;
    }
    if (!adopted && wk_rindex_finish_ex(b->ix, !b->opts->merged_only) != 0) {
        snprintf(err, errlen, "cannot write %s/reports/index: %s", b->out, wk_rindex_errmsg(b->ix));
        return -1;
    }
    return 0;
}

/* Each closed part's file status into the index's store table, where it can prove the part
 * unchanged to a later --reuse (part_stat.h). A part without one is hashed by that rerun.
 * @return 0, or -1 with a message in b->err. */
static int record_part_stats(batch *b, uint32_t parts)
{
    for (uint32_t i = 0; i < parts; i++) {
        char name[WK_PART_NAME_MAX], key[WK_PART_STAT_KEY_MAX], rec[WK_PART_STAT_MAX];
        wk_part_name(i, WK_COMPRESS_NONE, 0, name);
        int fd = openat(b->reports_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int got = fd >= 0 ? wk_part_stat_take(fd, rec) : -1;
        if (fd >= 0)
            close(fd);
        if (got < 0) {
            wk_output_error(b->err, b->errlen, "cannot read", b->j.report_root, name, errno);
            return -1;
        }
        wk_part_stat_key(i, key);
        if (got && wk_rindex_set(b->ix, key, rec) != 0) {
            snprintf(b->err, b->errlen, "cannot write %s/reports/index: %s", b->out,
                     wk_rindex_errmsg(b->ix));
            return -1;
        }
    }
    return 0;
}

/* Step 5, finish: the last part and page closed, the index completed (its lookup indexes built)
 * and the files of finish_files(), then the manifest that says the batch is complete. At 2
 * threads or more the index is completed beside the files: neither reads what the other writes,
 * and the manifest, written after both, is what makes the batch complete. */
static kivo_status finish_out(batch *b, double t0)
{
    kivo_status st = KIVO_OK;
    int ix_failed = 0;
    if (!per_run(b)) {
        uint32_t parts = 0;
        if (wk_parts_finish(b->parts, &parts, b->err, b->errlen) != 0)
            return KIVO_EIO;
        b->sum->parts = parts;
        if (b->pages && wk_pages_finish(b->pages, &b->sum->pages, b->err, b->errlen) != 0)
            return KIVO_EIO;
        if (b->opts->compress == WK_COMPRESS_NONE && record_part_stats(b, parts) != 0)
            return KIVO_EIO;
    }
    char ix_err[512] = "";
#pragma omp parallel sections num_threads(b->threads > 1 && !per_run(b) ? 2 : 1)
    {
#pragma omp section
        ix_failed = !per_run(b) && finish_index(b, ix_err, sizeof ix_err) != 0;
#pragma omp section
        st = finish_files(b, t0);
    }
    if (ix_failed) {
        snprintf(b->err, b->errlen, "%s", ix_err);
        return KIVO_EIO;
    }
    if (st != KIVO_OK)
        return st;
    wk_test_point("finish");
    b->man.state = WK_MANIFEST_COMPLETE;
    b->man.has_checkpoint = 0;
    if (wk_manifest_write(b->root, &b->man) != 0) {
        wk_output_error(b->err, b->errlen, "cannot write", b->out, WK_MANIFEST_NAME, errno);
        return KIVO_EIO;
    }
    return KIVO_OK;
}

/* Frees what the batch holds; after a failure, removes the partial events and rejects (the
 * lock stays with opts->lock_fd, for the caller). */
static void close_batch(batch *b, kivo_status st)
{
    if (b->events)
        fclose(b->events);
    if (b->rejects)
        fclose(b->rejects);
    free(b->events_vbuf);
    b->events_vbuf = NULL;
    if (b->ev_on)
        wk_twin_end(&b->ev);
    b->ev_on = 0;
    kivo_buf_free(&b->ev_buf);
    if (b->prev_root >= 0)
        close(b->prev_root);
    b->prev_root = -1;
    /* The per-run layout's temporary files go; v2 keeps its partial ones for a resume. */
    if (per_run(b) && st != KIVO_OK && b->events_tmp[0])
        unlinkat(b->root, b->events_tmp, 0);
    if (per_run(b) && st != KIVO_OK && b->rejects_tmp[0])
        unlinkat(b->root, b->rejects_tmp, 0);
    wk_manifest_free(&b->man);
    if (b->j.wf_fd >= 0)
        close(b->j.wf_fd);
    wk_parts_free(b->parts);
    wk_pages_free(b->pages);
    wk_rindex_close(b->ix);
    if (b->reports_fd >= 0)
        close(b->reports_fd);
    for (size_t i = 0; b->slots && i < 2 * b->n_slots; i++) {
        wk_chunk_free(&b->slots[i].chunk);
        free(b->slots[i].items);
        kivo_buf_free(&b->slots[i].text);
        kivo_buf_free(&b->slots[i].events);
        kivo_buf_free(&b->slots[i].reports);
        kivo_buf_free(&b->slots[i].pages);
    }
    free(b->slots);
    for (int t = 0; b->ws && t < b->threads; t++) {
        kivo_json_parser_free(b->ws[t].parser);
        kivo_record_reader_free(b->ws[t].reader);
        kivo_engine_free(b->ws[t].engine);
        kivo_hasher_free(b->ws[t].hasher);
        wk_reuse_close(b->ws[t].reuse);
        kivo_buf_free(&b->ws[t].keybuf);
        wk_chunk_free(&b->ws[t].in);
    }
    free(b->ws);
    wk_seen_free(b->seen);
    wk_html_index_free(b->index);
    wk_reader_close(b->rd);
    free(b->ranges);
    wk_inputs_free(&b->in);
}

/* A batch stopped by SIGINT or SIGTERM: summary.json with "interrupted" (and no index.html);
 * events and rejects stay partial, the manifest's checkpoint says where to go on from. */
static kivo_status write_interrupted(batch *b)
{
    char *js = wk_summary_json(b->sum, b->spec, b->out);
    struct iovec v = {js, js ? strlen(js) : 0};
    int bad = !js || wk_write_at(b->root, "summary.json", &v, 1, WK_MODE_META, 0) != 0;
    int e = js ? errno : ENOMEM;
    free(js);
    if (bad) {
        wk_output_error(b->err, b->errlen, "cannot write", b->out, "summary.json", e);
        return KIVO_EIO;
    }
    return KIVO_OK;
}

/* --shard, before the out folder is opened: this shard's ranges of the inputs (shard.h). */
static kivo_status shard_step(batch *b, uint64_t *total)
{
    b->sum->shard_k = b->opts->shard->k;
    b->sum->shard_n = b->opts->shard->n;
    return wk_shard_plan(&b->in, b->opts->shard, &b->ranges, total, b->err, b->errlen) == 0
               ? KIVO_OK
               : KIVO_EIO;
}

/* --shard, once the out folder is open: DIR/shard.json says which shard of which batch it holds,
 * for `kivo-worker merge`. */
static kivo_status shard_note(batch *b)
{
    return wk_shard_info_write(b->root, b->spec, b->opts, &b->in, b->ranges, b->err, b->errlen) == 0
               ? KIVO_OK
               : KIVO_EIO;
}

kivo_status wk_batch_run(const wk_jobspec *spec, wk_batch_opts *opts, wk_summary *sum, char *err,
                         size_t errlen)
{
    kivo_status st;
    double t0 = now();
    batch b = {.spec = spec,
               .prev_root = -1,
               .opts = opts,
               .sum = sum,
               .err = err,
               .errlen = errlen,
               .out = opts->out_dir ? opts->out_dir : spec->report_path,
               .threads = opts->threads > 0 ? opts->threads : omp_get_max_threads(),
               .j = {.spec = spec,
                     .review = {spec, wk_jobspec_batch(spec), NULL, 1},
                     .html = opts->html,
                     .groups = wk_breakdown_groups(opts->breakdown),
                     .wf_fd = -1},
               .root = -1,
               .reports_fd = -1,
               .cur_file = (size_t)-1};
    /* Several chunks a thread balance the threads' work; one thread has nothing to balance and
     * reads, reviews and writes in turn, so more chunks a round would only hold more memory
     * (each chunk's reports and events stay in memory until the round is written). The store v2
     * at 2 or more threads holds two rounds' results (one reviewed while the other is stored):
     * half as many chunks a round keep as many in memory as the per-run layout's one round (and
     * of their input, only the chunk each thread reviews: pipeline_v2). */
    b.n_slots = b.threads == 1 ? 1
                : per_run(&b)  ? (size_t)b.threads * SLOTS_PER_THREAD
                               : (size_t)b.threads * (SLOTS_PER_THREAD / 2);
    b.t0 = t0;
    /* Pages' data is made on the reviewing threads: a run's own page (per-run layout) or its
     * block on a page of the store v2. */
    b.j.pages = opts->html != WK_HTML_NONE;
    b.j.runs_pages = !per_run(&b);
    b.j.line_keys = !per_run(&b) || opts->reuse;
    b.per_page = opts->page_runs && opts->page_runs <= WK_HTML_RUNS_PER_PAGE
                     ? opts->page_runs
                     : WK_HTML_RUNS_PER_PAGE;

    memset(sum, 0, sizeof *sum);
    sum->breakdown = opts->breakdown;
    sum->threads = b.threads;
    sum->layout = per_run(&b) ? "per-run" : "v2";
    sum->compression = wk_compress_name((wk_compress)opts->compress);
    sum->reuse = opts->reuse != NULL;
    opts->lock_fd = -1;
    err[0] = '\0';
    if (opts->reuse && wk_reuse_check(opts->reuse, b.out, err, errlen) != 0)
        return KIVO_EINVAL;
    if (wk_inputs_expand(wk_jobspec_inputs_dir(spec), spec->inputs, spec->n_inputs, &b.in, err,
                         errlen) != 0)
        return KIVO_EINVAL;
    sum->files = b.in.n;
    uint64_t total = b.in.total_bytes;
    if (opts->shard && b.in.stdin_index != SIZE_MAX) {
        /* Shards cut the inputs by size; standard input has none and is read only once. */
        snprintf(err, errlen, "--shard cannot split standard input (-): give files");
        wk_inputs_free(&b.in);
        return KIVO_EINVAL;
    }
    if (opts->shard && (st = shard_step(&b, &total)) != KIVO_OK)
        goto out;
    if ((st = open_out(&b)) != KIVO_OK || (st = open_workers(&b)) != KIVO_OK ||
        (st = wk_line_job(b.ws[0].hasher, spec, b.j.groups, b.j.line_fp)) != KIVO_OK ||
        (opts->shard && (st = shard_note(&b)) != KIVO_OK) ||
        (b.resume && (st = resume_state(&b)) != KIVO_OK))
        goto out;
    uint64_t every = opts->checkpoint_bytes ? opts->checkpoint_bytes : DEFAULT_CHECKPOINT;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    atomic_store_explicit(&stop_signal, 0, memory_order_relaxed);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    wk_progress_start(&b.prog, opts->progress, opts->progress_interval, opts->verbose, total,
                      (const char *const *)b.in.paths, b.in.n);
    if (!per_run(&b) && b.threads > 1) {
        int sig;
        if ((st = pipeline_v2(&b, every, &sig)) != KIVO_OK) {
            if (st == KIVO_ENOMEM && !b.err[0])
                snprintf(b.err, b.errlen, "out of memory");
            goto restore;
        }
        if (sig) {
            sum->interrupted = sig;
            sum->seconds = now() - t0;
            st = write_interrupted(&b);
            goto restore;
        }
    }
    slot *set = b.slots;
    while (per_run(&b) || b.threads == 1) {
        long n = read_step(&b, set);
        if (n < 0) {
            st = KIVO_EIO;
            goto restore;
        }
        if (n == 0)
            break;
        if (per_run(&b)) {
            review_step(&b, set, (size_t)n);
            if ((st = merge_step(&b, set, (size_t)n)) != KIVO_OK ||
                (st = write_step_per_run(&b, set, (size_t)n)) != KIVO_OK)
                goto restore;
        } else {
            /* One thread has nothing to overlap: each round is stored at once (one chunk held). */
            review_step(&b, set, (size_t)n);
            if ((st = store_round(&b, set, (size_t)n)) != KIVO_OK)
                goto restore;
        }
        sum->bytes = wk_reader_bytes(b.rd);
        wk_progress_update(&b.prog, sum->bytes, sum->records_read);
        int sig = stop_signal_now();
        if (!per_run(&b) && (sig || sum->bytes - b.light - b.ckpt_bytes >= every)) {
            b.ck_chunks = b.chunks; /* all of them stored */
            b.ck_bytes = sum->bytes;
            if ((st = checkpoint(&b)) != KIVO_OK)
                goto restore;
        }
        if (sig) {
            /* Stopped: what is done is counted (v2: in the checkpoint just written). */
            sum->interrupted = sig;
            sum->seconds = now() - t0;
            st = write_interrupted(&b);
            goto restore;
        }
    }
    wk_progress_finish(&b.prog, sum->records_read, sum->records_rejected);
    release_slots(&b);
    st = finish_out(&b, t0);
restore:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    close_batch(&b, st);
    return st;
}
