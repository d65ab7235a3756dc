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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <omp.h>

#include "batch.h"
#include "html.h"
#include "inputs.h"
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "kivo/report.h"
#include "output.h"
#include "progress.h"
#include "reader.h"
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
    uint32_t categories;
    uint32_t claims, unsupported;
    size_t text_off;            /* the run id, or the reject reason, in slot.text (NUL-ended) */
    size_t event_off, event_len;
    size_t report_off, report_len;
    size_t page_off, page_len;  /* claim_report.html's data in slot.pages; 0 bytes: no page */
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
    const char *worker_version;
    wk_html_mode html;
    char report_root[4096];     /* DIR/reports/<workflow> */
} job;

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

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

    kivo_packet pk = {rec.output, rec.output_len, rec.sources, rec.n_sources,
                      j->spec->strictness, j->spec->intended_use};
    if ((st = kivo_engine_review(w->engine, &pk, &rv)) != KIVO_OK)
        return st;

    kivo_run_meta meta = {NULL, rec.customer_run_id, j->spec->workflow_id, j->spec->worker_id,
                          j->worker_version, j->spec->policy_version, j->spec->report_label,
                          j->spec->strictness, j->spec->intended_use};
    it->text_off = s->text.len;
    if ((st = kivo_buf_append(&s->text, rec.customer_run_id, rec.customer_run_id_len + 1)) != KIVO_OK)
        return st;
    it->report_off = s->reports.len;
    if ((st = kivo_report_render(&pk, rv, &meta, &s->reports)) != KIVO_OK)
        return st;
    it->report_len = s->reports.len - it->report_off;
    char report_hash[KIVO_HASH_TEXT_SIZE];
    if ((st = kivo_hasher_sha256_text(w->hasher, s->reports.data + it->report_off, it->report_len,
                                      report_hash)) != KIVO_OK)
        return st;
    it->event_off = s->events.len;
    kivo_wire_event ev = {KIVO_EVENT_COMPLETED, &meta, 1, rv, rec.n_sources, report_hash, NULL};
    if ((st = kivo_wire_event_render(w->hasher, &ev, NULL, &s->events)) != KIVO_OK)
        return st;
    it->event_len = s->events.len - it->event_off;
    if (wk_html_wanted(j->html, rv->gate_verdict)) {
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
    return KIVO_OK;
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
    if (c->overlong || c->corrupt)
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
        if (over || !blank(p, len)) {
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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int report_path(const job *j, const char *run_id, char *dir, size_t dlen, char *file,
                       size_t flen)
{
    char comp[WK_COMPONENT_MAX];
    wk_path_component(run_id, strlen(run_id), comp);
    int n = snprintf(dir, dlen, "%s/%s", j->report_root, comp);
    int m = snprintf(file, flen, "%s/claim_report.json", dir);
    return (n < 0 || (size_t)n >= dlen || m < 0 || (size_t)m >= flen) ? -1 : 0;
}

int wk_batch_run(const wk_jobspec *spec, wk_batch_opts *opts, wk_summary *sum, char *err,
                 size_t errlen)
{
    int rc = WK_EXIT_IO;
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
    char events_tmp[4300], rejects_tmp[4300], events_path[4200], rejects_path[4200];
    wk_progress prog;
    job j = {spec, "kivo-worker." KIVO_VERSION_STRING, opts->html, ""};
    double t0 = now();

    memset(sum, 0, sizeof *sum);
    opts->lock_fd = -1;
    sum->threads = threads;
    err[0] = '\0';
    if (wk_inputs_expand(spec->dir, spec->inputs, spec->n_inputs, &in, err, errlen) != 0)
        return WK_EXIT_USAGE;
    sum->files = in.n;

    char wf[WK_COMPONENT_MAX];
    wk_path_component(spec->workflow_id, strlen(spec->workflow_id), wf);
    snprintf(j.report_root, sizeof j.report_root, "%s/reports/%s", out, wf);
    snprintf(events_path, sizeof events_path, "%s/events.jsonl", out);
    snprintf(rejects_path, sizeof rejects_path, "%s/rejects.jsonl", out);
    snprintf(events_tmp, sizeof events_tmp, "%s.partial", events_path);
    snprintf(rejects_tmp, sizeof rejects_tmp, "%s.partial", rejects_path);
    if (wk_mkdirs(j.report_root) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", j.report_root, strerror(errno));
        goto out;
    }
    if ((opts->lock_fd = wk_dir_lock(out)) < 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(err, errlen, "%s is in use by another kivo-worker process; wait for it to "
                     "end", out);
            rc = WK_EXIT_USAGE;
        } else {
            snprintf(err, errlen, "cannot lock %s: %s", out, strerror(errno));
        }
        goto out;
    }
    events = fopen(events_tmp, "w");
    rejects = fopen(rejects_tmp, "w");
    if (!events || !rejects) {
        snprintf(err, errlen, "cannot write in %s: %s", out, strerror(errno));
        goto out;
    }

    ws = calloc((size_t)threads, sizeof *ws);
    slots = calloc(n_slots, sizeof *slots);
    if (!ws || !slots || wk_seen_create(&seen) != 0 ||
        wk_reader_open(&in, opts->chunk_bytes ? opts->chunk_bytes : DEFAULT_CHUNK,
                       spec->max_line_bytes, &rd) != 0 ||
        (opts->html != WK_HTML_NONE &&
         wk_html_index_open(out, spec->workflow_id, 0, &index) != KIVO_OK)) {
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
    wk_progress_start(&prog, opts->progress, in.total_bytes);

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
                cur_file = s->chunk.file;
                cur_line = 0;
            }
            if (s->chunk.corrupt) {
                sum->records_read++;
                sum->records_rejected++;
                if (write_json_line(rejects, reject_json(file, cur_line + 1, s->chunk.offset,
                                                         "compressed data is corrupt or truncated "
                                                         "here; the rest of the file is unreadable",
                                                         NULL)) != 0)
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
                                                         reason, NULL)) != 0)
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
                    if (write_json_line(rejects, reject_json(file, line, it->offset, text, NULL)) != 0)
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
                    if (write_json_line(rejects, reject_json(file, line, it->offset, reason, text)) != 0)
                        goto write_failed;
                    continue;
                }
                count(sum, it);
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
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < n; i++) {
            slot *s = &slots[i];
            for (size_t k = 0; k < s->n_items; k++) {
                item *it = &s->items[k];
                char dir[4400], file[4500];
                int fresh = 0;
                if (it->rejected || it->duplicate)
                    continue;
                if (report_path(&j, s->text.data + it->text_off, dir, sizeof dir, file,
                                sizeof file) != 0 ||
                    (!(fresh = mkdir(dir, 0755) == 0) && errno != EEXIST && wk_mkdirs(dir) != 0) ||
                    wk_write_atomic(file, s->reports.data + it->report_off, it->report_len) != 0 ||
                    snprintf(file, sizeof file, "%s/claim_report.html", dir) >= (int)sizeof file ||
                    (it->page_len ? wk_html_write(file, "run", s->pages.data + it->page_off,
                                                  it->page_len)
                                  /* A page left by an earlier run with another --html is
                                   * stale; a folder made just now holds none. */
                                  : !fresh && unlink(file) != 0 && errno != ENOENT ? -1 : 0) != 0) {
                    __atomic_store_n(&write_errno, errno ? errno : ENAMETOOLONG, __ATOMIC_RELAXED);
                }
            }
        }
        if (write_errno) {
            snprintf(err, errlen, "cannot write reports under %s: %s", j.report_root,
                     strerror(write_errno));
            goto out;
        }
        sum->bytes = wk_reader_bytes(rd);
        wk_progress_update(&prog, sum->bytes, sum->records_read);
    }
    wk_progress_finish(&prog);

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
    if (rename(events_tmp, events_path) != 0 || rename(rejects_tmp, rejects_path) != 0)
        goto write_failed;
    sum->bytes = wk_reader_bytes(rd);
    sum->seconds = now() - t0;
    {
        char *js = wk_summary_json(sum, spec, out);
        char path[4200];
        snprintf(path, sizeof path, "%s/summary.json", out);
        if (!js || wk_write_atomic(path, js, strlen(js)) != 0 ||
            (index && wk_html_index_write(index, js) != 0)) {
            free(js);
            goto write_failed;
        }
        free(js);
    }
    if (!index) {
        char path[4200];
        snprintf(path, sizeof path, "%s/index.html", out);
        if (unlink(path) != 0 && errno != ENOENT)
            goto write_failed;
    }
    rc = sum->records_rejected ? WK_EXIT_REJECTS : WK_EXIT_OK;
    goto out;

write_failed:
    snprintf(err, errlen, "cannot write output in %s: %s", out, strerror(errno));
    rc = WK_EXIT_IO;
out:
    if (events)
        fclose(events);
    if (rejects)
        fclose(rejects);
    if (rc == WK_EXIT_IO) {
        unlink(events_tmp);
        unlink(rejects_tmp);
    }
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
    return rc;
}
