/*
 * batch.c - the batch pipeline: read chunks of lines, review them on every core, merge in input
 * order, write reports in parallel.
 *
 * A batch is a few chunks per thread. Reading is serial (pread into reused buffers is far faster
 * than the review); reviewing is an OpenMP loop over chunks, each thread with its own parser,
 * record reader, engine and hasher made before the parallel region; the merge is serial and in
 * input order, which is what makes events, rejects and duplicate detection identical for any
 * thread count; writing the report files is parallel again. Memory is bounded by the batch, not
 * by the corpus: only an 8-byte hash (plus where it was seen) per run id is kept for duplicates.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "output.h"
#include "progress.h"
#include "reader.h"
#include "review.h"
#include "seen.h"

#define DEFAULT_CHUNK (1u << 20)
#define SLOTS_PER_THREAD 4
#define JSON_MAX_DEPTH 128

typedef struct item {
    uint64_t offset;            /* of the line in its file */
    uint32_t line;              /* 0-based line index within the chunk */
    uint8_t rejected;
    uint8_t duplicate;
    uint8_t verdict;
    int8_t label;               /* wk_label */
    uint32_t categories;
    uint32_t claims, unsupported;
    size_t text_off;            /* the run id, or the reject reason, in slot.text (NUL-ended) */
    size_t event_off, event_len;
    size_t report_off, report_len;
    size_t page_off, page_len;  /* claim_report.html's data in slot.pages; 0 bytes: no page */
    size_t groups_off;          /* --group-by values in slot.text (put_group_values) */
} item;

typedef struct slot {
    wk_chunk chunk;
    item *items;
    size_t n_items, cap_items;
    uint32_t lines;
    kivo_buf text, events, reports, pages;
    int failed;                 /* KIVO_ENOMEM and such: fatal */
} slot;

typedef struct worker {
    kivo_json_parser *parser;
    kivo_record_reader *reader;
    kivo_engine *engine;
    kivo_hasher *hasher;
} worker;

typedef struct job {
    const wk_jobspec *spec;
    wk_review_job review;       /* every run's: no review_run_id yet, sequence 1 */
    wk_html_mode html;
    const wk_groups *groups;    /* --group-by, or NULL */
    char report_root[4096];     /* DIR/reports/<workflow>, for messages */
    int wf_fd;                  /* that folder, open */
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
        const char *v = wk_meta_value_text(&j->spec->meta, wk_groups_meta_index(j->groups, k),
                                           root, &len);
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

/* Reviews one line: a reject, or a report and an event in the slot's buffers. */
static kivo_status review_line(const job *j, worker *w, slot *s, item *it, const char *line,
                               size_t len, size_t readable, int last_without_newline)
{
    const kivo_json_node *root;
    kivo_record rec;
    const kivo_review *rv;
    const char *why;
    const char *trunc = last_without_newline ? "truncated last line (no newline at end of file): "
                                             : "";
    kivo_status st = kivo_json_parse(w->parser, line, len, readable, 0, &root);
    if (st == KIVO_ENOMEM)
        return st;
    if (st != KIVO_OK)
        return reject(s, it, st == KIVO_EUTF8 ? "invalid UTF-8: " : trunc[0] ? trunc : "invalid JSON: ",
                      kivo_json_parser_error(w->parser));
    st = kivo_record_extract(w->reader, root, &rec, &why);
    if (st == KIVO_ESCHEMA)
        return reject(s, it, "", why);
    if (st != KIVO_OK)
        return st;

    it->text_off = s->text.len;
    if ((st = kivo_buf_append(&s->text, rec.customer_run_id, rec.customer_run_id_len + 1)) != KIVO_OK)
        return st;
    it->report_off = s->reports.len;
    it->event_off = s->events.len;
    st = wk_review_record(&j->review, w->engine, w->hasher, root, &rec, &s->reports, &s->events,
                          NULL, &rv);
    if (st == KIVO_ETOOBIG) {    /* over an engine bound: nothing of it was appended but its id */
        s->text.len = it->text_off;
        return reject(s, it, "", kivo_engine_errmsg(w->engine));
    }
    if (st != KIVO_OK)
        return st;
    it->report_len = s->reports.len - it->report_off;
    it->event_len = s->events.len - it->event_off;
    if (wk_html_wanted(j->html, rv->gate_verdict)) {
        kivo_packet pk = wk_review_packet(j->spec, &rec);
        it->page_off = s->pages.len;
        if ((st = wk_html_run_data(&pk, s->reports.data + it->report_off, it->report_len,
                                   &s->pages)) != KIVO_OK)
            return st;
        it->page_len = s->pages.len - it->page_off;
    }
    it->verdict = (uint8_t)rv->gate_verdict;
    it->categories = rv->categories;
    it->claims = (uint32_t)rv->n_claims;
    it->unsupported = (uint32_t)rv->unsupported_count;
    it->label = (int8_t)wk_meta_label(&j->spec->meta, root);
    return j->groups ? put_group_values(j, s, it, root) : KIVO_OK;
}

static void review_slot(const job *j, worker *w, slot *s)
{
    wk_chunk *c = &s->chunk;
    s->n_items = 0;
    s->lines = 0;
    s->failed = 0;
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

static json_t *reject_json(const char *file, uint64_t line, uint64_t offset, const char *reason,
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
    return wk_junit_case(ju, spec->workflow_id, run_id, WK_JUNIT_FAILURE, kivo_verdict_name(v),
                         msg, body);
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
    if (it->page_len ? wk_html_write_at(fd, "claim_report.html", "run",
                                        s->pages.data + it->page_off, it->page_len,
                                        flags) != KIVO_OK
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

kivo_status wk_batch_run(const wk_jobspec *spec, wk_batch_opts *opts, wk_summary *sum, char *err,
                         size_t errlen)
{
    kivo_status st = KIVO_EIO;
    const char *out = opts->out_dir ? opts->out_dir : spec->report_path;
    int threads = opts->threads > 0 ? opts->threads : omp_get_max_threads();
    size_t n_slots = (size_t)threads * SLOTS_PER_THREAD;
    wk_inputs in = {0};
    wk_reader *rd = NULL;
    worker *ws = NULL;
    slot *slots = NULL;
    wk_seen *seen = NULL;
    wk_html_index *index = NULL;
    FILE *events = NULL, *rejects = NULL;
    char events_tmp[WK_TMP_MAX] = "", rejects_tmp[WK_TMP_MAX] = "", rel[WK_COMPONENT_MAX + 16];
    int root = -1;
    size_t bad = 0;
    wk_progress prog;
    job j = {spec, {spec, wk_jobspec_batch(spec), NULL, 1}, opts->html,
             wk_breakdown_groups(opts->breakdown), "", -1};
    double t0 = now();

    memset(sum, 0, sizeof *sum);
    sum->breakdown = opts->breakdown;
    opts->lock_fd = -1;
    sum->threads = threads;
    err[0] = '\0';
    if (wk_inputs_expand(spec->dir, spec->inputs, spec->n_inputs, &in, err, errlen) != 0)
        return KIVO_EINVAL;
    sum->files = in.n;

    char report_dir[WK_REPORT_DIR_MAX];
    wk_report_dir(spec->workflow_id, report_dir);
    snprintf(j.report_root, sizeof j.report_root, "%s/%s", out, report_dir);
    /* The out folder is opened once, locked, and everything below it reached from its
     * descriptor (output.h): a link planted inside it is refused, never followed. */
    if ((opts->lock_fd = root = wk_dir_open(out, 1)) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", out, strerror(errno));
        goto out;
    }
    if (wk_dir_lock(root) != 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(err, errlen, "%s is in use by another kivo-worker process; wait for it to "
                     "end", out);
            st = KIVO_EBUSY;
        } else {
            snprintf(err, errlen, "cannot lock %s: %s", out, strerror(errno));
        }
        goto out;
    }
    wk_tmp_sweep(root);     /* what a killed batch left; a failure here harms nothing */
    snprintf(rel, sizeof rel, "%s", report_dir);
    if ((j.wf_fd = wk_dir_walk(root, rel, 1, NULL, &bad)) < 0) {
        rel[bad] = '\0';
        wk_output_error(err, errlen, "cannot create", out, rel, errno);
        goto out;
    }
    if (!(events = open_partial(root, "events.jsonl", events_tmp)) ||
        !(rejects = open_partial(root, "rejects.jsonl", rejects_tmp))) {
        wk_output_error(err, errlen, "cannot write", out, events ? "rejects.jsonl" : "events.jsonl",
                        errno);
        goto out;
    }

    ws = calloc((size_t)threads, sizeof *ws);
    slots = calloc(n_slots, sizeof *slots);
    if (!ws || !slots || wk_seen_create(&seen) != 0 ||
        wk_reader_open(&in, opts->chunk_bytes ? opts->chunk_bytes : DEFAULT_CHUNK,
                       spec->max_line_bytes, &rd) != 0 ||
        (opts->html != WK_HTML_NONE &&
         wk_html_index_open(root, spec->workflow_id, 0, &index) != KIVO_OK)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int t = 0; t < threads; t++) {
        if (kivo_json_parser_create(JSON_MAX_DEPTH, &ws[t].parser) != KIVO_OK ||
            kivo_record_reader_create(&spec->fields, &ws[t].reader) != KIVO_OK ||
            kivo_engine_create(&ws[t].engine) != KIVO_OK ||
            kivo_hasher_create(&ws[t].hasher) != KIVO_OK) {
            snprintf(err, errlen, "cannot set up worker thread %d", t);
            goto out;
        }
    }
    for (size_t i = 0; i < n_slots; i++) {
        kivo_buf_init(&slots[i].text, 0);
        kivo_buf_init(&slots[i].events, 0);
        kivo_buf_init(&slots[i].reports, 0);
        kivo_buf_init(&slots[i].pages, 0);
    }
    wk_progress_start(&prog, opts->progress, opts->progress_interval, opts->verbose,
                      in.total_bytes, (const char *const *)in.paths, in.n);

    size_t cur_file = (size_t)-1;
    uint64_t cur_line = 0;      /* lines of the current file before this chunk */
    int done = 0;
    while (!done) {
        size_t n = 0;
        while (n < n_slots) {
            int r = wk_reader_next(rd, &slots[n].chunk);
            if (r < 0) {
                snprintf(err, errlen, "cannot read %s: %s", wk_reader_failed_file(rd),
                         strerror(errno));
                goto out;
            }
            if (r == 0) {
                done = 1;
                break;
            }
            n++;
        }
        if (n == 0)
            break;

#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < n; i++)
            review_slot(&j, &ws[omp_get_thread_num()], &slots[i]);

        /* Merge in input order: line numbers, duplicates, events, rejects, counts. */
        for (size_t i = 0; i < n; i++) {
            slot *s = &slots[i];
            const char *file = in.paths[s->chunk.file];
            if (s->failed) {
                snprintf(err, errlen, "reviewing %s: %s", file,
                         kivo_status_str((kivo_status)s->failed));
                goto out;
            }
            if (s->chunk.file != cur_file) {
                wk_progress_file(&prog, s->chunk.file, sum->records_read, sum->records_rejected);
                cur_file = s->chunk.file;
                cur_line = 0;
            }
            if (s->chunk.shrunk) {
                char reason[256];
                snprintf(reason, sizeof reason, "the file shrank while it was read (%llu bytes "
                         "when the job began, %llu at the end): what followed here was not read",
                         (unsigned long long)s->chunk.shrunk_from,
                         (unsigned long long)s->chunk.shrunk_to);
                sum->records_read++;
                sum->records_rejected++;
                if (write_json_line(rejects, reject_json(file, cur_line + 1, s->chunk.offset,
                                                         reason, NULL)) != 0)
                    goto write_failed;
                continue;
            }
            if (s->chunk.corrupt) {
                sum->records_read++;
                sum->records_rejected++;
                static const char corrupt[] = "compressed data is corrupt or truncated here; the "
                                              "rest of the file is unreadable";
                if (write_json_line(rejects, reject_json(file, cur_line + 1, s->chunk.offset,
                                                         corrupt, NULL)) != 0 ||
                    junit_reject(opts->junit, spec, file, cur_line + 1, corrupt) != 0)
                    goto write_failed;
                continue;
            }
            if (s->chunk.overlong) {
                char reason[128];
                snprintf(reason, sizeof reason, "line of %llu bytes is over the limit of %zu bytes",
                         (unsigned long long)s->chunk.overlong, spec->max_line_bytes);
                sum->records_read++;
                sum->records_rejected++;
                if (write_json_line(rejects, reject_json(file, cur_line + 1, s->chunk.offset,
                                                         reason, NULL)) != 0 ||
                    junit_reject(opts->junit, spec, file, cur_line + 1, reason) != 0)
                    goto write_failed;
                cur_line++;
                continue;
            }
            for (size_t k = 0; k < s->n_items; k++) {
                item *it = &s->items[k];
                uint64_t line = cur_line + it->line + 1;
                const char *text = s->text.data + it->text_off;
                sum->records_read++;
                if (it->rejected) {
                    sum->records_rejected++;
                    if (write_json_line(rejects, reject_json(file, line, it->offset, text, NULL)) != 0 ||
                        junit_reject(opts->junit, spec, file, line, text) != 0)
                        goto write_failed;
                    continue;
                }
                const wk_seen_entry *first = NULL;
                if (wk_seen_add(seen, text, (uint32_t)s->chunk.file, line, &first) != 0) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
                if (first) {
                    char reason[600];
                    uint32_t ff;
                    uint64_t fl;
                    it->duplicate = 1;
                    sum->records_rejected++;
                    sum->duplicates++;
                    if (wk_seen_where(first, &ff, &fl))
                        snprintf(reason, sizeof reason,
                                 "duplicate customer_run_id, first seen at %s line %llu",
                                 in.paths[ff], (unsigned long long)fl);
                    else
                        snprintf(reason, sizeof reason,
                                 "duplicate customer_run_id, first seen earlier in this job");
                    if (write_json_line(rejects, reject_json(file, line, it->offset, reason, text)) != 0 ||
                        junit_reject(opts->junit, spec, file, line, reason) != 0)
                        goto write_failed;
                    continue;
                }
                if (wk_seen_case(seen, text, (uint32_t)s->chunk.file, line, &first) != 0) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
                if (first && sum->case_collisions++ == 0) {
                    uint32_t ff;
                    uint64_t fl;
                    int known = wk_seen_where(first, &ff, &fl);
                    fprintf(stderr, "kivo-worker: warning: customer_run_id \"%s\" (%s line %llu) "
                            "differs only in letter case from the one at %s line %llu: on a "
                            "case-insensitive file system their report folders are one folder "
                            "(see summary.json run_ids_differing_in_case)\n", text, file,
                            (unsigned long long)line, known ? in.paths[ff] : "?",
                            (unsigned long long)fl);
                }
                count(sum, it);
                if (opts->breakdown) {
                    const char *gv[WK_GROUP_MAX_FIELDS];
                    size_t gl[WK_GROUP_MAX_FIELDS];
                    if (j.groups)
                        get_group_values(s, it, wk_groups_fields(j.groups), gv, gl);
                    if (wk_breakdown_add(opts->breakdown, text, (kivo_verdict)it->verdict,
                                         it->categories, it->claims, it->unsupported,
                                         (wk_label)it->label, gv, gl, it->page_len > 0) != 0) {
                        snprintf(err, errlen, "out of memory");
                        goto out;
                    }
                }
                if (opts->junit && junit_run(opts->junit, spec, text, it) != 0)
                    goto write_failed;
                if (index && wk_html_index_add(index, text, (kivo_verdict)it->verdict, it->claims,
                                               it->unsupported, it->categories,
                                               it->page_len > 0) != KIVO_OK) {
                    snprintf(err, errlen, "out of memory");
                    goto out;
                }
                if (fwrite(s->events.data + it->event_off, 1, it->event_len, events) != it->event_len)
                    goto write_failed;
            }
            cur_line += s->lines;
        }

        /* Reports, in parallel: one folder and one file per run. */
        int write_errno = 0;
        char what[WHAT_MAX] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < n; i++) {
            slot *s = &slots[i];
            for (size_t k = 0; k < s->n_items; k++) {
                item *it = &s->items[k];
                char failed[WHAT_MAX];
                if (it->rejected || it->duplicate || write_run(&j, s, it, failed) == 0)
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
            wk_output_error(err, errlen, "cannot write reports under", j.report_root, what,
                            write_errno);
            goto out;
        }
        sum->bytes = wk_reader_bytes(rd);
        wk_progress_update(&prog, sum->bytes, sum->records_read);
    }
    wk_progress_finish(&prog, sum->records_read, sum->records_rejected);

    if (fclose(events) != 0) {
        events = NULL;
        goto write_failed;
    }
    events = NULL;
    if (fclose(rejects) != 0) {
        rejects = NULL;
        goto write_failed;
    }
    rejects = NULL;
    if (wk_commit_at(root, events_tmp, "events.jsonl", 0) != 0) {
        events_tmp[0] = '\0';
        wk_output_error(err, errlen, "cannot write", out, "events.jsonl", errno);
        goto out;
    }
    events_tmp[0] = '\0';
    if (wk_commit_at(root, rejects_tmp, "rejects.jsonl", 0) != 0) {
        rejects_tmp[0] = '\0';
        wk_output_error(err, errlen, "cannot write", out, "rejects.jsonl", errno);
        goto out;
    }
    rejects_tmp[0] = '\0';
    sum->bytes = wk_reader_bytes(rd);
    sum->seconds = now() - t0;
    {
        char *js = wk_summary_json(sum, spec, out);
        if (index && opts->breakdown && wk_breakdown_labeled(opts->breakdown) &&
            wk_html_index_attach(index, "disagreements",
                                 wk_breakdown_disagreements(opts->breakdown)) != 0) {
            free(js);
            errno = ENOMEM;
            goto write_failed;
        }
        struct iovec v = {js, js ? strlen(js) : 0};
        const char *name = "summary.json";
        int bad_write = !js || wk_write_at(root, name, &v, 1, WK_MODE_META, 0) != 0 ||
                        (index && (name = "index.html", wk_html_index_write(index, js) != KIVO_OK));
        int e = js ? errno : ENOMEM;
        free(js);
        if (bad_write) {
            wk_output_error(err, errlen, "cannot write", out, name, e);
            goto out;
        }
    }
    /* No index with --html none: one left by an earlier batch would be stale. */
    if (!index && unlinkat(root, "index.html", 0) != 0 && errno != ENOENT)
        goto write_failed;
    st = KIVO_OK;
    goto out;

write_failed:
    snprintf(err, errlen, "cannot write output in %s: %s", out, strerror(errno));
    st = KIVO_EIO;
out:
    if (events)
        fclose(events);
    if (rejects)
        fclose(rejects);
    if (st != KIVO_OK && events_tmp[0])
        unlinkat(root, events_tmp, 0);
    if (st != KIVO_OK && rejects_tmp[0])
        unlinkat(root, rejects_tmp, 0);
    if (j.wf_fd >= 0)
        close(j.wf_fd);
    for (size_t i = 0; slots && i < n_slots; i++) {
        wk_chunk_free(&slots[i].chunk);
        free(slots[i].items);
        kivo_buf_free(&slots[i].text);
        kivo_buf_free(&slots[i].events);
        kivo_buf_free(&slots[i].reports);
        kivo_buf_free(&slots[i].pages);
    }
    free(slots);
    for (int t = 0; ws && t < threads; t++) {
        kivo_json_parser_free(ws[t].parser);
        kivo_record_reader_free(ws[t].reader);
        kivo_engine_free(ws[t].engine);
        kivo_hasher_free(ws[t].hasher);
    }
    free(ws);
    wk_seen_free(seen);
    wk_html_index_free(index);
    wk_reader_close(rd);
    wk_inputs_free(&in);
    return st;
}
