/*
 * merge.c - `kivo-worker merge`: one report store from the out folders of `batch --shard K/N`
 * (merge.h says what is copied and what is redone, and why the result is a single run's bytes).
 *
 * Steps: load_shards (each folder's shard.json, summary.json and finished manifest), check_set
 * (one batch, one set of options, every K once), load_job (the job spec, loaded as the shards
 * loaded it, must still be the batch they name), open_out, then per shard walk_shard (its index
 * rows and its rejects merged by input position), and finish_out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "breakdown.h"
#include "groups.h"
#include "html.h"
#include "inputs.h"
#include "manifest.h"
#include "merge.h"
#include "outbox.h"
#include "output.h"
#include "pages.h"
#include "parts.h"
#include "report_index.h"
#include "review.h"
#include "seen.h"
#include "shard.h"
#include "shard_info.h"
#include "stream.h"
#include "twin.h"

#define SCAN_BLOCK (1u << 20)

/* One shard's out folder. */
typedef struct shard_in {
    const char *dir;        /* as given */
    char path[PATH_MAX];    /* absolute */
    int root;               /* its folder */
    json_t *info, *summary; /* shard.json, summary.json */
    uint32_t k, n;
    wk_rindex *ix;
    int reports_fd;
    wk_part_reader *pr;
    FILE *events, *rejects;
    wk_outbox *outbox; /* its outbox state, loaded for a duplicate across shards */
    int no_outbox;     /* it has none */
    int page_fd1;      /* its page page_no open (descriptor + 1), or 0 */
    int64_t page_no;   /* which */
} shard_in;

/* Where the merge is in one input file, to find a line's byte offset (a duplicate's reject). */
typedef struct cursor {
    int fd;             /* plain file, or -1 */
    wk_stream *stream;  /* compressed file */
    uint64_t off, line; /* off is where 0-based line `line` starts */
} cursor;

typedef struct merge {
    const wk_merge_opts *o;
    wk_summary *sum;
    char *err;
    size_t errlen;
    shard_in *sh; /* by K after check_set */
    size_t n;
    wk_jobspec spec;
    int spec_loaded;
    wk_inputs in;
    wk_breakdown *bd;
    int html; /* index.html wanted */
    wk_html_index *index;
    wk_seen *seen;
    cursor *cur;       /* one per input */
    char **open_paths; /* the inputs' paths to open from any working folder: relative ones
                        * joined to the shards' cwd (m->in.paths stay as the shards wrote them) */
    int root, reports_fd;
    char out_path[PATH_MAX];
    wk_rindex *ix;
    wk_parts *parts;
    wk_pages *pages; /* the runs' pages, made again in input order (or NULL: --html none) */
    char *pbuf;      /* one run's block read from its shard's page */
    size_t pcap;
    FILE *events, *rejects;
    char events_tmp[WK_TMP_MAX], rejects_tmp[WK_TMP_MAX];
    wk_manifest man;
    uint64_t stored, cross_dups;
    uint64_t sent_twice;   /* of those, sent by their later shard as well */
    uint64_t events_bytes; /* events.jsonl's length so far: where the next event goes */
    int fast;              /* merged by merge_fast(): the copy by ranges */
    uint32_t fast_parts;   /* its parts */
    size_t last_file;      /* path_index's guess */
    char *line;            /* getline's buffers: events, rejects */
    size_t line_cap;
    char *rline;
    size_t rline_cap;
} merge;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static uint64_t num(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

/* A shard's shard.json or summary.json through its checking parser (shard_info.h). @return the
 * object, or NULL with a message in err (none when the file cannot be read: errno says why). */
static json_t *load_json_at(int root, const char *name,
                            json_t *(*parse)(const char *, size_t, char *, size_t), char *err,
                            size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    err[0] = '\0';
    if (wk_read_at(root, name, 0, &data, &len) == 0)
        j = parse(data, len, err, errlen);
    free(data);
    return j;
}

/* Step 1: each folder's shard.json, summary.json, and a manifest saying it finished. */
static kivo_status load_shards(merge *m)
{
    for (size_t i = 0; i < m->n; i++) {
        shard_in *s = &m->sh[i];
        wk_manifest man;
        char merr[512];
        s->dir = m->o->dirs[i];
        if (!realpath(s->dir, s->path) || (s->root = wk_dir_open(s->path, 0)) < 0) {
            snprintf(m->err, m->errlen, "cannot open shard folder %s: %s", s->dir, strerror(errno));
            return KIVO_EINVAL;
        }
        if (!(s->info = load_json_at(s->root, WK_SHARD_INFO_NAME, wk_shard_info_parse, merr,
                                     sizeof merr))) {
            if (merr[0])
                snprintf(m->err, m->errlen, "%s: %s", s->dir, merr);
            else
                snprintf(m->err, m->errlen,
                         "%s is not the out folder of a `kivo-worker batch --shard K/N` (no "
                         "readable %s)",
                         s->dir, WK_SHARD_INFO_NAME);
            return KIVO_EINVAL;
        }
        s->k = (uint32_t)num(s->info, "shard");
        s->n = (uint32_t)num(s->info, "shards");
        int had = wk_manifest_read(s->root, &man, merr, sizeof merr);
        int done = had > 0 && man.state == WK_MANIFEST_COMPLETE;
        if (had > 0)
            wk_manifest_free(&man);
        if (done &&
            !(s->summary = load_json_at(s->root, "summary.json", wk_shard_summary_parse, merr,
                                        sizeof merr)) &&
            merr[0]) {
            snprintf(m->err, m->errlen, "shard %u/%u in %s: %s", s->k, s->n, s->dir, merr);
            return KIVO_EINVAL;
        }
        if (!done || !s->summary || json_object_get(s->summary, "interrupted")) {
            snprintf(m->err, m->errlen,
                     "shard %u/%u in %s did not finish: run its batch again (it resumes from "
                     "its checkpoint), then merge",
                     s->k, s->n, s->dir);
            return KIVO_EINVAL;
        }
        if (strcmp(str(s->info, "layout"), "v2") != 0) {
            snprintf(m->err, m->errlen,
                     "shard %u/%u in %s has the per-run layout: merge joins report stores v2 "
                     "(batch without --layout per-run)",
                     s->k, s->n, s->dir);
            return KIVO_EINVAL;
        }
    }
    return KIVO_OK;
}

static int by_k(const void *a, const void *b)
{
    const shard_in *x = a, *y = b;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Step 2: one batch, one set of options, each of 0..N-1 exactly once. */
static kivo_status check_set(merge *m)
{
    static const char *const same[] = {"batch",    "options", "job_spec",    "cwd",
                                       "batch_id", "html",    "compression", "part_size"};
    const shard_in *a = &m->sh[0];
    for (size_t i = 1; i < m->n; i++) {
        const shard_in *s = &m->sh[i];
        for (size_t f = 0; f < sizeof same / sizeof same[0]; f++) {
            if (json_equal(json_object_get(a->info, same[f]), json_object_get(s->info, same[f])))
                continue;
            snprintf(m->err, m->errlen,
                     "%s and %s are shards of different batches (their %s differs: another "
                     "job spec, batch id, inputs or options); merge the shards of one batch",
                     a->dir, s->dir, same[f]);
            return KIVO_EINVAL;
        }
        if (!json_equal(json_object_get(a->info, "group_by"),
                        json_object_get(s->info, "group_by")) ||
            s->n != a->n) {
            snprintf(m->err, m->errlen, "%s and %s are shards of different batches (%s differs)",
                     a->dir, s->dir, s->n != a->n ? "their shard count N" : "--group-by");
            return KIVO_EINVAL;
        }
    }
    qsort(m->sh, m->n, sizeof *m->sh, by_k);
    for (size_t i = 1; i < m->n; i++)
        if (m->sh[i].k == m->sh[i - 1].k) {
            snprintf(m->err, m->errlen, "shard %u/%u is given twice: %s and %s", m->sh[i].k, a->n,
                     m->sh[i - 1].dir, m->sh[i].dir);
            return KIVO_EINVAL;
        }
    if (m->n != a->n || m->sh[m->n - 1].k >= a->n) {
        char missing[256] = "";
        size_t used = 0, j = 0;
        for (uint32_t k = 0; k < a->n && used < sizeof missing - 16; k++) {
            while (j < m->n && m->sh[j].k < k)
                j++;
            if (j < m->n && m->sh[j].k == k)
                continue;
            used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%u/%u",
                                     used ? ", " : "", k, a->n);
        }
        snprintf(m->err, m->errlen, "shards missing: %s (%zu of %u given)", missing, m->n, a->n);
        return KIVO_EINVAL;
    }
    return KIVO_OK;
}

/* The inputs the shards were given on the command line (shard.json "inputs"), which replaced the
 * spec's; none when they read the spec's own. */
static int given_inputs(merge *m, const json_t *list)
{
    size_t n = json_array_size(list);
    char **v;
    int rc;
    if (!list)
        return 0;
    if (!json_is_array(list) || !(v = calloc(n ? n : 1, sizeof *v))) {
        snprintf(m->err, m->errlen, "the shards' inputs in %s cannot be read", WK_SHARD_INFO_NAME);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (char *)json_string_value(json_array_get(list, i));
    for (size_t i = 0; i < n; i++)
        if (!v[i]) {
            free(v);
            snprintf(m->err, m->errlen, "an input in %s is not a string", WK_SHARD_INFO_NAME);
            return -1;
        }
    rc = wk_jobspec_set_inputs(&m->spec, v, n, m->err, m->errlen);
    free(v);
    return rc;
}

/* The inputs' paths as the merge opens them: a relative one is the shards' cwd joined to it, so
 * that a merge run from another working folder reads the same files (rejects still name them as
 * the shards did). @return 0, or -1 with a message. */
static int absolute_paths(merge *m, const char *cwd)
{
    if (!(m->open_paths = calloc(m->in.n + 1, sizeof *m->open_paths)))
        goto no_memory;
    for (size_t i = 0; i < m->in.n; i++) {
        const char *p = m->in.paths[i];
        size_t n = p[0] == '/' ? strlen(p) + 1 : strlen(cwd) + strlen(p) + 2;
        if (!(m->open_paths[i] = malloc(n)))
            goto no_memory;
        snprintf(m->open_paths[i], n, p[0] == '/' ? "%s%s" : "%s/%s", p[0] == '/' ? "" : cwd, p);
    }
    return 0;
no_memory:
    snprintf(m->err, m->errlen, "out of memory");
    return -1;
}

/* Step 3: the job spec, loaded from the folder and by the path the shards used (the inputs'
 * paths, which rejects name, depend on both), must still be the batch the shards name. */
static kivo_status load_job(merge *m)
{
    const json_t *info = m->sh[0].info;
    const char *gb = json_string_value(json_object_get(info, "group_by"));
    char batch[KIVO_HASH_TEXT_SIZE], options[KIVO_HASH_TEXT_SIZE];
    wk_batch_opts bo = {0};
    kivo_status st = KIVO_EINVAL;
    int back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (back < 0 || chdir(str(info, "cwd")) != 0) {
        snprintf(m->err, m->errlen, "cannot go to %s, where the shards ran: %s", str(info, "cwd"),
                 strerror(errno));
        goto out;
    }
    if (wk_jobspec_load(str(info, "job_spec"), &m->spec, m->err, m->errlen) != 0)
        goto out;
    m->spec_loaded = 1;
    if (given_inputs(m, json_object_get(info, "inputs")) != 0 ||
        wk_jobspec_set_batch(&m->spec, str(info, "batch_id"), m->err, m->errlen) != 0 ||
        wk_breakdown_create(&m->spec, gb, &m->bd, m->err, m->errlen) != 0 ||
        wk_inputs_expand(wk_jobspec_inputs_dir(&m->spec), m->spec.inputs, m->spec.n_inputs, &m->in,
                         m->err, m->errlen) != 0)
        goto out;
    if (absolute_paths(m, str(info, "cwd")) != 0) {
        st = KIVO_EIO;
        goto out;
    }
    bo.spec_path = str(info, "job_spec");
    if (wk_manifest_identity(&m->spec, &bo, &m->in, batch, options, m->err, m->errlen) != 0) {
        st = KIVO_EIO;
        goto out;
    }
    if (strcmp(batch, str(info, "batch")) != 0) {
        snprintf(m->err, m->errlen,
                 "the job spec %s (in %s) or its inputs changed since the shards ran: they are "
                 "not this batch's any more",
                 str(info, "job_spec"), str(info, "cwd"));
        goto out;
    }
    m->html = strcmp(str(info, "html"), "none") != 0;
    st = KIVO_OK;
out:
    if (back >= 0) {
        if (fchdir(back) != 0 && st == KIVO_OK) {
            snprintf(m->err, m->errlen, "cannot go back to the working folder: %s",
                     strerror(errno));
            st = KIVO_EIO;
        }
        close(back);
    }
    return st;
}

static FILE *open_tmp(int root, const char *name, char tmp[WK_TMP_MAX])
{
    int fd = wk_tmp_open(root, name, WK_MODE_META, tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f) {
        close(fd);
        unlinkat(root, tmp, 0);
        tmp[0] = '\0';
    }
    return f;
}

/* Step 4: the out folder, locked, claimed in its manifest, with a new index and parts. */
static kivo_status open_out(merge *m)
{
    const json_t *info = m->sh[0].info;
    const char *out = m->o->out;
    char rp[PATH_MAX + 16];
    struct stat so, ss;
    wk_manifest old;
    if ((m->root = wk_dir_open(out, 1)) < 0 || !realpath(out, m->out_path)) {
        snprintf(m->err, m->errlen, "cannot create %s: %s", out, strerror(errno));
        return KIVO_EIO;
    }
    if (wk_dir_lock(m->root) != 0) {
        snprintf(m->err, m->errlen, "%s is in use by another kivo-worker process", out);
        return KIVO_EBUSY;
    }
    for (size_t i = 0; i < m->n; i++)
        if (fstat(m->root, &so) == 0 && fstat(m->sh[i].root, &ss) == 0 && so.st_dev == ss.st_dev &&
            so.st_ino == ss.st_ino) {
            snprintf(m->err, m->errlen, "--out %s is one of the shards' folders: give another",
                     out);
            return KIVO_EINVAL;
        }
    if (faccessat(m->root, WK_SHARD_INFO_NAME, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        snprintf(m->err, m->errlen, "--out %s holds a shard (%s): give another folder", out,
                 WK_SHARD_INFO_NAME);
        return KIVO_EINVAL;
    }
    wk_tmp_sweep(m->root);
    int had = wk_manifest_read(m->root, &old, m->err, m->errlen);
    int other = had < 0 || (had > 0 && strcmp(old.batch, str(info, "batch")) != 0);
    if (had > 0)
        wk_manifest_free(&old);
    if (other && !m->o->overwrite) {
        snprintf(m->err, m->errlen,
                 "%s holds the output of another batch: give another --out, or --overwrite to "
                 "replace it",
                 out);
        return KIVO_EINVAL;
    }
    snprintf(m->man.batch, sizeof m->man.batch, "%s", str(info, "batch"));
    snprintf(m->man.options, sizeof m->man.options, "%s", str(info, "options"));
    m->man.state = WK_MANIFEST_RUNNING;
    if (wk_manifest_write(m->root, &m->man) != 0) {
        wk_output_error(m->err, m->errlen, "cannot write", out, WK_MANIFEST_NAME, errno);
        return KIVO_EIO;
    }
    wk_compress cz = WK_COMPRESS_NONE;
    wk_compress_parse(str(info, "compression"), &cz);
    snprintf(rp, sizeof rp, "%s/reports", m->out_path);
    if ((m->reports_fd = wk_dir_walk(m->root, "reports", 1, NULL, NULL)) < 0) {
        wk_output_error(m->err, m->errlen, "cannot create", out, "reports", errno);
        return KIVO_EIO;
    }
    if (wk_rindex_open_write(rp, 1, 0, 0, 0, &m->ix, m->err, m->errlen) != 0 ||
        wk_parts_open(m->reports_fd, cz, num(info, "part_size"), m->ix, &m->parts, m->err,
                      m->errlen) != 0)
        return KIVO_EIO;
    if (wk_rindex_set(m->ix, "format", "kivo_report_store.v2") ||
        wk_rindex_set(m->ix, "workflow_id", m->spec.workflow_id) ||
        wk_rindex_set(m->ix, "batch_id", m->spec.batch_id) ||
        wk_rindex_set(m->ix, "compression", wk_compress_name(cz))) {
        snprintf(m->err, m->errlen, "cannot write %s/reports/index: %s", out,
                 wk_rindex_errmsg(m->ix));
        return KIVO_EIO;
    }
    if (!(m->events = open_tmp(m->root, "events.jsonl", m->events_tmp)) ||
        !(m->rejects = open_tmp(m->root, "rejects.jsonl", m->rejects_tmp))) {
        wk_output_error(m->err, m->errlen, "cannot write", out,
                        m->events ? "rejects.jsonl" : "events.jsonl", errno);
        return KIVO_EIO;
    }
    if (wk_seen_create(&m->seen) != 0 || !(m->cur = calloc(m->in.n + 1, sizeof *m->cur)) ||
        (m->html && wk_html_index_open(m->root, m->spec.workflow_id, 0, &m->index) != KIVO_OK)) {
        snprintf(m->err, m->errlen, "out of memory");
        return KIVO_EIO;
    }
    for (size_t i = 0; i < m->in.n; i++)
        m->cur[i].fd = -1;
    /* The pages, as one process writes them (runs a page: KIVO_WORKER_PAGE_RUNS, as batch). */
    const char *pr = getenv("KIVO_WORKER_PAGE_RUNS");
    unsigned long long per_page = 0;
    if (!pr || wk_size_parse(pr, 1, &per_page) != 0 || per_page > WK_HTML_RUNS_PER_PAGE)
        per_page = 0;
    if (!m->html ? wk_pages_remove(m->root) != 0
                 : wk_pages_open(m->root, (uint32_t)per_page, &m->pages, m->err, m->errlen) != 0) {
        if (!m->html)
            wk_output_error(m->err, m->errlen, "cannot remove", out, WK_PAGES_DIR, errno);
        return KIVO_EIO;
    }
    return KIVO_OK;
}

/* The data block of a shard's run on its page (the shard's pages/NNNN.html, where the shard's
 * index says), into m->pbuf. @return 0, or -1 with a message. */
static int shard_block(merge *m, shard_in *s, const wk_rindex_row *r)
{
    char name[WK_HTML_PAGE_NAME_MAX];
    wk_html_page_name(r->page, name);
    if (!s->page_fd1 || s->page_no != r->page) {
        if (s->page_fd1)
            close(s->page_fd1 - 1);
        s->page_fd1 = 0;
        int d = wk_dir_walk(s->root, WK_PAGES_DIR, 0, NULL, NULL);
        int fd = d >= 0 ? wk_read_open(d, name) : -1;
        if (d >= 0)
            close(d);
        if (fd < 0)
            goto io;
        s->page_fd1 = fd + 1;
        s->page_no = r->page;
    }
    if (r->page_length > m->pcap) {
        char *b = realloc(m->pbuf, r->page_length);
        if (!b) {
            snprintf(m->err, m->errlen, "out of memory");
            return -1;
        }
        m->pbuf = b;
        m->pcap = r->page_length;
    }
    ssize_t n = pread(s->page_fd1 - 1, m->pbuf, r->page_length, (off_t)r->page_offset);
    if (n >= 0 && (uint64_t)n == r->page_length)
        return 0;
    if (n >= 0)
        errno = EIO;
io:
    snprintf(m->err, m->errlen, "cannot read %s/%s/%s: %s", s->dir, WK_PAGES_DIR, name,
             strerror(errno));
    return -1;
}

/* The input's number for a path a reject names (the merge's inputs are the shards'). */
static int path_index(merge *m, const char *path, size_t *out)
{
    for (size_t j = 0; j < m->in.n; j++) {
        size_t i = (m->last_file + j) % m->in.n;
        if (strcmp(m->in.paths[i], path) == 0) {
            *out = m->last_file = i;
            return 0;
        }
    }
    return -1;
}

/* The byte offset where 1-based line `line` of input f starts (a duplicate's reject gives it).
 * Plain files: lines are looked up in input order, so a cursor per file only moves on, and a
 * shard's range that starts nearer lets it jump there. A compressed file (never split, and
 * duplicates across shards are rare) is read from its start each time. */
static int find_offset(merge *m, const shard_in *s, size_t f, uint64_t line, uint64_t *out)
{
    cursor *c = &m->cur[f];
    const uint64_t want = line - 1; /* lines before it */
    const char *path = m->open_paths[f];
    int compressed = wk_stream_is_compressed(path);
    char *buf = NULL;
    int rc = -1;
    if (compressed || c->fd < 0 || c->line > want) {
        if (c->fd >= 0)
            close(c->fd);
        wk_stream_close(c->stream);
        c->fd = -1;
        c->stream = NULL;
        c->off = c->line = 0;
        if (compressed ? wk_stream_open(path, &c->stream) != 0
                       : (c->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            return -1;
    }
    json_t *rs = json_object_get(s->info, "ranges");
    for (size_t i = 0; !compressed && i < json_array_size(rs); i++) {
        const json_t *r = json_array_get(rs, i);
        uint64_t fl = num(r, "first_line");
        if (num(r, "file") == f && fl <= want && fl > c->line) {
            c->line = fl;
            c->off = num(r, "begin");
        }
    }
    if (!(buf = malloc(SCAN_BLOCK)))
        goto out;
    while (c->line < want) {
        ssize_t n = compressed ? wk_stream_read(c->stream, buf, SCAN_BLOCK)
                               : pread(c->fd, buf, SCAN_BLOCK, (off_t)c->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        const char *p = buf, *end = buf + n, *nl;
        while (c->line < want && (nl = memchr(p, '\n', (size_t)(end - p)))) {
            c->line++;
            p = nl + 1;
        }
        c->off += c->line == want ? (uint64_t)(p - buf) : (uint64_t)n;
    }
    *out = c->off;
    rc = 0;
out:
    free(buf);
    if (compressed) {
        wk_stream_close(c->stream);
        c->stream = NULL;
        c->off = c->line = 0;
    }
    return rc;
}

static int write_reject(merge *m, json_t *o)
{
    int rc = -1;
    char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (js && fputs(js, m->rejects) >= 0 && fputc('\n', m->rejects) != EOF)
        rc = 0;
    free(js);
    return rc;
}

static void duplicate_reason(const merge *m, const wk_seen_entry *first, char *out, size_t len)
{
    uint32_t ff;
    uint64_t fl;
    if (wk_seen_where(first, &ff, &fl) && ff < m->in.n)
        snprintf(out, len, "duplicate customer_run_id, first seen at %s line %llu", m->in.paths[ff],
                 (unsigned long long)fl);
    else
        snprintf(out, len, "duplicate customer_run_id, first seen earlier in this job");
}

/* One line of a shard's rejects.jsonl. A duplicate names the first place in the whole job,
 * which may be in an earlier shard: its reason is made again. */
static kivo_status merge_reject(merge *m, json_t *rj, const char *raw, size_t rawlen)
{
    const char *id = json_string_value(json_object_get(rj, "customer_run_id"));
    const wk_seen_entry *first = NULL;
    char reason[600];
    if (id) {
        size_t f = 0;
        path_index(m, str(rj, "file"), &f);
        if (wk_seen_add(m->seen, id, (uint32_t)f, num(rj, "line"), &first) != 0)
            return KIVO_ENOMEM;
    }
    if (first) {
        duplicate_reason(m, first, reason, sizeof reason);
        if (strcmp(reason, str(rj, "reason")) != 0) {
            json_object_set_new(rj, "reason", json_string(reason));
            return write_reject(m, rj) == 0 ? KIVO_OK : KIVO_EIO;
        }
    }
    return fwrite(raw, 1, rawlen, m->rejects) == rawlen ? KIVO_OK : KIVO_EIO;
}

/* A run's --group-by values as the index packs them (batch.c), into v/len. */
static void unpack_groups(const wk_rindex_row *r, size_t n, const char **v, size_t *len)
{
    const char *p = r->groups, *end = p ? p + r->groups_len : NULL;
    for (size_t k = 0; k < n; k++) {
        uint32_t w = UINT32_MAX;
        v[k] = NULL;
        len[k] = 0;
        if (!p || (size_t)(end - p) < sizeof w)
            continue;
        memcpy(&w, p, sizeof w);
        p += sizeof w;
        if (w == UINT32_MAX || (size_t)(end - p) < w)
            continue;
        v[k] = p;
        len[k] = w;
        p += w;
    }
}

static void count_row(wk_summary *sum, const wk_rindex_row *r)
{
    sum->records_reviewed++;
    sum->claims += r->claims;
    sum->unsupported_claims += r->unsupported;
    if (r->verdict < 3)
        sum->verdicts[r->verdict]++;
    for (int c = 1; c < KIVO_CAT_COUNT; c++)
        if ((r->categories >> c) & 1u)
            sum->categories[c]++;
}

/* 1 when the shard (run with --kivo-api-base-url) sent or tried to send this event: its
 * outbox.state names it. Only duplicates across shards are asked, so the state is loaded once per
 * shard that has one, and a folder without outbox.state is never written to. */
static int sent_by_shard(shard_in *s, const char *line, size_t len)
{
    char err[256];
    if (!s->outbox && !s->no_outbox) {
        if (faccessat(s->root, "outbox.state", F_OK, AT_SYMLINK_NOFOLLOW) != 0 ||
            wk_outbox_open_read(s->path, &s->outbox, err, sizeof err) != 0)
            s->no_outbox = 1;
    }
    if (!s->outbox)
        return 0;
    json_t *e = json_loadb(line, len, 0, NULL);
    const char *id = json_string_value(json_object_get(e, "event_id"));
    int st = id ? wk_outbox_state(s->outbox, id, NULL) : WK_STATE_NONE;
    json_decref(e);
    return st == WK_STATE_SENT || st == WK_STATE_DEAD || st == WK_STATE_CREATED;
}

/* One of a shard's stored runs: copied, unless an earlier shard holds its id (then it is a
 * duplicate reject, as in a single run). */
static kivo_status merge_row(merge *m, shard_in *s, const wk_rindex_hit *hit)
{
    const wk_rindex_row *r = &hit->row;
    const wk_seen_entry *first = NULL;
    ssize_t ev = getline(&m->line, &m->line_cap, s->events);
    if (ev <= 0) {
        snprintf(m->err, m->errlen, "%s/events.jsonl has fewer events than its index has runs",
                 s->dir);
        return KIVO_EINVAL;
    }
    if (wk_seen_add(m->seen, r->run_id, r->file, r->line, &first) != 0)
        return KIVO_ENOMEM;
    if (first) {
        char reason[600];
        uint64_t off = 0;
        errno = 0;
        if (r->file >= m->in.n || find_offset(m, s, r->file, r->line, &off) != 0) {
            snprintf(m->err, m->errlen, "cannot read line %llu of %s to name a duplicate: %s",
                     (unsigned long long)r->line,
                     r->file < m->in.n ? m->open_paths[r->file] : "an input",
                     errno ? strerror(errno) : "it is shorter than it was");
            return KIVO_EIO;
        }
        duplicate_reason(m, first, reason, sizeof reason);
        m->cross_dups++;
        if (sent_by_shard(s, m->line, (size_t)ev))
            m->sent_twice++;
        json_t *o = wk_batch_reject_json(m->in.paths[r->file], r->line, off, reason, r->run_id);
        int bad = write_reject(m, o);
        json_decref(o);
        return bad ? KIVO_EIO : KIVO_OK;
    }
    if (wk_seen_case(m->seen, r->run_id, r->file, r->line, &first) != 0)
        return KIVO_ENOMEM;
    if (first && m->sum->case_collisions++ == 0)
        fprintf(stderr,
                "kivo-worker: warning: customer_run_id \"%s\" (%s line %llu) differs only in "
                "letter case from an earlier one (see summary.json run_ids_differing_in_case)\n",
                r->run_id, r->file < m->in.n ? m->in.paths[r->file] : "?",
                (unsigned long long)r->line);
    const char *data;
    size_t len;
    wk_part_loc loc;
    if (wk_part_reader_get(s->pr, hit, &data, &len, m->err, m->errlen) != 0 ||
        wk_parts_append(m->parts, data, len, &loc, m->err, m->errlen) != 0)
        return KIVO_EIO;
    wk_rindex_row row = *r;
    row.seq = m->stored++;
    row.part = loc.part;
    row.offset = loc.offset;
    row.frame = loc.frame;
    /* Its block moves to the merged pages, which fill in input order as one process's do. */
    wk_page_loc pl = {-1, 0, 0};
    if (m->pages && r->page >= 0 &&
        (shard_block(m, s, r) != 0 ||
         wk_pages_append(m->pages, m->pbuf, r->page_length, &pl, m->err, m->errlen) != 0))
        return KIVO_EIO;
    row.page = pl.page;
    row.page_offset = pl.offset;
    row.page_length = pl.length;
    /* The line key (--reuse's fast path) stays; its event's place is the merged events'. */
    row.event_offset = m->events_bytes;
    row.event_length = (uint64_t)ev;
    int64_t page = pl.page >= 0 ? pl.page : WK_PAGE_NONE;
    if (wk_rindex_add(m->ix, &row) != 0) {
        snprintf(m->err, m->errlen, "cannot write %s/reports/index: %s", m->o->out,
                 wk_rindex_errmsg(m->ix));
        return KIVO_EIO;
    }
    count_row(m->sum, r);
    if (m->index && wk_html_index_add(m->index, r->run_id, (kivo_verdict)r->verdict, r->claims,
                                      r->unsupported, r->categories, page) != KIVO_OK)
        return KIVO_ENOMEM;
    if (m->bd) {
        const wk_groups *g = wk_breakdown_groups(m->bd);
        const char *gv[WK_GROUP_MAX_FIELDS];
        size_t gl[WK_GROUP_MAX_FIELDS];
        unpack_groups(r, g ? wk_groups_fields(g) : 0, gv, gl);
        if (wk_breakdown_add(m->bd, r->run_id, (kivo_verdict)r->verdict, r->categories, r->claims,
                             r->unsupported, (wk_label)r->label, gv, gl, page) != 0)
            return KIVO_ENOMEM;
    }
    m->events_bytes += (uint64_t)ev;
    return fwrite(m->line, 1, (size_t)ev, m->events) == (size_t)ev ? KIVO_OK : KIVO_EIO;
}

/* The next line of a shard's rejects, parsed, with its input position. @return 1, 0 at the
 * end, -1 when it is not a reject line. */
static int next_reject(merge *m, shard_in *s, json_t **rj, char **raw, size_t *rawlen, size_t *file,
                       uint64_t *line)
{
    json_decref(*rj);
    *rj = NULL;
    ssize_t n = getline(&m->rline, &m->rline_cap, s->rejects);
    if (n <= 0)
        return 0;
    *raw = m->rline;
    *rawlen = (size_t)n;
    const char *path;
    if (!(*rj = wk_shard_reject_parse(m->rline, (size_t)n, &path, line)) ||
        path_index(m, path, file) != 0)
        return -1;
    return 1;
}

/* Step 5, per shard in K order: its index rows and its rejects, merged by input position. */
static kivo_status walk_shard(merge *m, shard_in *s)
{
    char rp[PATH_MAX + 16];
    json_t *rj = NULL;
    char *raw = NULL;
    size_t rawlen = 0, rf = 0;
    uint64_t rl = 0, seq = 0;
    kivo_status st = KIVO_OK;
    wk_rindex_hit hit;
    snprintf(rp, sizeof rp, "%s/reports", s->path);
    /* One read transaction for the whole walk: without it SQLite locks and checks the files
     * again for every row (several fcntl and fstat calls each, most of the merge's time). */
    if (wk_rindex_open_read(rp, &s->ix, m->err, m->errlen) != 0 ||
        wk_rindex_hold_read(s->ix) != 0 ||
        (s->reports_fd = wk_dir_walk(s->root, "reports", 0, NULL, NULL)) < 0 ||
        wk_part_reader_open(s->reports_fd, &s->pr) != 0) {
        if (!s->ix || s->reports_fd < 0)
            snprintf(m->err, m->errlen, "%s holds no report store: %s", s->dir, strerror(errno));
        return KIVO_EINVAL;
    }
    int64_t rows = wk_rindex_count(s->ix);
    int efd = openat(s->root, "events.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int rfd = openat(s->root, "rejects.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (efd >= 0)
        s->events = fdopen(efd, "r");
    if (rfd >= 0)
        s->rejects = fdopen(rfd, "r");
    if (!s->events || !s->rejects) {
        if (efd >= 0 && !s->events)
            close(efd);
        if (rfd >= 0 && !s->rejects)
            close(rfd);
        snprintf(m->err, m->errlen, "cannot read %s/%s: %s", s->dir,
                 s->events ? "rejects.jsonl" : "events.jsonl", strerror(errno));
        return KIVO_EINVAL;
    }
    if (rows < 0 || (uint64_t)rows != num(s->summary, "records_reviewed")) {
        snprintf(m->err, m->errlen, "shard %u/%u in %s: its index and summary.json disagree", s->k,
                 s->n, s->dir);
        return KIVO_EINVAL;
    }
    int hr = next_reject(m, s, &rj, &raw, &rawlen, &rf, &rl);
    int have_row = 0;
    while (st == KIVO_OK) {
        if (hr < 0) {
            snprintf(m->err, m->errlen, "%s/rejects.jsonl: a line is not a reject of this job",
                     s->dir);
            st = KIVO_EINVAL;
            break;
        }
        if (!have_row && seq < (uint64_t)rows) {
            if (wk_rindex_next(s->ix, 0, &hit) != 1) {
                snprintf(m->err, m->errlen, "cannot read %s/reports/index: %s", s->dir,
                         wk_rindex_errmsg(s->ix));
                st = KIVO_EIO;
                break;
            }
            have_row = 1;
        }
        if (!have_row && hr == 0)
            break;
        if (hr == 1 &&
            (!have_row || rf < hit.row.file || (rf == hit.row.file && rl < hit.row.line))) {
            st = merge_reject(m, rj, raw, rawlen);
            hr = next_reject(m, s, &rj, &raw, &rawlen, &rf, &rl);
            continue;
        }
        st = merge_row(m, s, &hit);
        have_row = 0;
        seq++;
    }
    json_decref(rj);
    if (st == KIVO_ENOMEM)
        snprintf(m->err, m->errlen, "out of memory");
    else if (st == KIVO_EIO && !m->err[0])
        snprintf(m->err, m->errlen, "cannot write output in %s: %s", m->o->out, strerror(errno));
    return st;
}

/* ---- The copy by ranges ------------------------------------------------------------------
 * When nothing has to be redone row by row (no --html pages or index.html to rebuild, no
 * --group-by or label breakdown, uncompressed parts) and no run id is held by two shards, the
 * merged store is the shards' bytes laid end to end: the parts are re-cut where one process
 * would have cut them, found from the rows' lengths alone, and copied as byte ranges
 * (copy_file_range); the index rows are copied by SQLite itself (INSERT ... SELECT from the
 * attached shard index, seq, part and offset shifted); events.jsonl and rejects.jsonl are the
 * shards' files one after another. A first pass over each shard's ids (light columns only) finds
 * duplicates across shards: then this path is left before anything is written, and the merge
 * goes row by row (walk_shard). */

/* A range of one shard part's bytes that lands in one merged part. */
typedef struct piece {
    uint32_t shard, part; /* m->sh[shard]'s part-NNNNN */
    uint64_t lo, hi;      /* its bytes [lo, hi) */
    uint64_t first, last; /* its rows: the shard's seq first..last */
    uint32_t to;          /* the merged part */
    int closes;           /* the merged part is full after it */
    int64_t seq_delta;    /* merged seq - shard seq */
} piece;

typedef struct fast {
    merge *m;
    piece *v;
    size_t n, cap;
    uint32_t shard;
    int64_t seq_delta;
    uint32_t to;      /* the merged part being filled */
    uint64_t to_size; /* its bytes so far */
    uint64_t part_size;
    int dup;           /* a run id held by an earlier shard: leave this path */
    wk_summary counts; /* reviewed, claims, verdicts, categories, case collisions */
    char case_id[512];
    uint32_t case_file;
    uint64_t case_line;
} fast;

static int fast_row(const wk_rindex_row *r, void *arg)
{
    fast *f = arg;
    const wk_seen_entry *first = NULL;
    if (r->frame >= 0)
        return 1; /* not an uncompressed store after all */
    if (wk_seen_add(f->m->seen, r->run_id, r->file, r->line, &first) != 0)
        return -1;
    if (first) {
        f->dup = 1;
        return 1;
    }
    if (wk_seen_case(f->m->seen, r->run_id, r->file, r->line, &first) != 0)
        return -1;
    if (first && f->counts.case_collisions++ == 0) {
        snprintf(f->case_id, sizeof f->case_id, "%s", r->run_id);
        f->case_file = r->file;
        f->case_line = r->line;
    }
    count_row(&f->counts, r);
    /* Where one process puts this report: the open merged part at to_size. A piece is a run of
     * rows from one shard part into one merged part. */
    piece *p = f->n ? &f->v[f->n - 1] : NULL;
    if (!p || p->closes || p->shard != f->shard || p->part != r->part || p->to != f->to ||
        p->hi != r->offset) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 16;
            piece *v = realloc(f->v, cap * sizeof *v);
            if (!v)
                return -1;
            f->v = v;
            f->cap = cap;
        }
        p = &f->v[f->n++];
        *p = (piece){f->shard, r->part, r->offset, r->offset,   r->seq,
                     r->seq,   f->to,   0,         f->seq_delta};
    }
    p->hi = r->offset + r->length;
    p->last = r->seq;
    f->to_size += r->length;
    if (f->to_size >= f->part_size) { /* parts.c closes a part once it holds part_size bytes */
        p->closes = 1;
        f->to++;
        f->to_size = 0;
    }
    return 0;
}

/* A shard's whole file (events.jsonl, rejects.jsonl) appended to f. @return 0 or -1. */
static int append_file(int root, const char *name, FILE *f)
{
    int fd = openat(root, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[1 << 16];
    ssize_t n;
    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
            close(fd);
            return -1;
        }
    }
    return close(fd);
}

/* Closes the merged part being written (fd): synced, then given its final name. */
static int close_fast_part(merge *m, int fd, uint32_t to)
{
    char partial[WK_PART_NAME_MAX], final[WK_PART_NAME_MAX];
    wk_part_name(to, WK_COMPRESS_NONE, 1, partial);
    wk_part_name(to, WK_COMPRESS_NONE, 0, final);
    if (fdatasync(fd) != 0 || close(fd) != 0 ||
        wk_commit_at(m->reports_fd, partial, final, 0) != 0) {
        wk_output_error(m->err, m->errlen, "cannot write", m->o->out, final, errno);
        return -1;
    }
    return 0;
}

/* kivo-worker-mpi's merge: shard 0's index becomes the merged index (renamed over the empty one
 * open_out made, then opened to add the other shards' rows). Its rank folder is left without a
 * report store: a rerun of the mpirun command starts a finished rank over anyway. @return
 * KIVO_OK, or KIVO_EIO with a message. */
static kivo_status take_first(merge *m)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char name[64], rp[PATH_MAX + 16];
    shard_in *s = &m->sh[0];
    int d = wk_dir_walk(s->root, "reports", 0, NULL, NULL);
    int64_t rows = num(s->summary, "records_reviewed");
    wk_rindex_close(m->ix);
    m->ix = NULL;
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(name, sizeof name, "%s%s", WK_RINDEX_NAME, sfx[i]);
        if (unlinkat(m->reports_fd, name, 0) != 0 && errno != ENOENT)
            goto io;
    }
    if (d < 0 || renameat(d, WK_RINDEX_NAME, m->reports_fd, WK_RINDEX_NAME) != 0)
        goto io;
    close(d);
    d = -1;
    snprintf(rp, sizeof rp, "%s/reports", m->out_path);
    if (wk_rindex_open_write(rp, 0, (uint64_t)rows, 0, 0, &m->ix, m->err, m->errlen) != 0)
        return KIVO_EIO;
    return KIVO_OK;
io:
    snprintf(m->err, m->errlen, "cannot move %s/reports/%s into %s: %s", s->dir, WK_RINDEX_NAME,
             m->o->out, strerror(errno));
    if (d >= 0)
        close(d);
    return KIVO_EIO;
}

/* The copy by ranges. @return KIVO_OK with *done 1 (merged) or 0 (this merge has to go row by
 * row; nothing written), or an error with a message. */
static kivo_status merge_fast(merge *m, int *done)
{
    fast f = {.m = m, .part_size = num(m->sh[0].info, "part_size")};
    kivo_status st = KIVO_OK;
    int out = -1, in = -1;
    uint64_t *ev_at = NULL;
    *done = 0;
    uint32_t in_part = UINT32_MAX, in_shard = UINT32_MAX;
    if (m->html || m->bd || strcmp(str(m->sh[0].info, "compression"), "none") != 0)
        return KIVO_OK;
    /* First pass: ids (duplicates across shards), counts, and the pieces. */
    for (size_t i = 0; i < m->n && !f.dup; i++) {
        shard_in *s = &m->sh[i];
        char rp[PATH_MAX + 16];
        wk_rindex *ix = NULL;
        snprintf(rp, sizeof rp, "%s/reports", s->path);
        f.shard = (uint32_t)i;
        f.seq_delta = (int64_t)f.counts.records_reviewed;
        int rc = -1;
        if (wk_rindex_open_read(rp, &ix, m->err, m->errlen) == 0 && wk_rindex_hold_read(ix) == 0)
            rc = wk_rindex_each_light(ix, fast_row, &f);
        else if (!m->err[0])
            snprintf(m->err, m->errlen, "cannot read %s/reports/index: %s", s->dir,
                     wk_rindex_errmsg(ix));
        wk_rindex_close(ix);
        if (rc < 0) {
            st = KIVO_EIO;
            if (!m->err[0])
                snprintf(m->err, m->errlen, "cannot read %s/reports/index", s->dir);
            goto out;
        }
        if (rc > 0) {
            f.dup = 1;
            break;
        }
        if (f.counts.records_reviewed - (uint64_t)f.seq_delta !=
            num(s->summary, "records_reviewed")) {
            snprintf(m->err, m->errlen, "shard %u/%u in %s: its index and summary.json disagree",
                     s->k, s->n, s->dir);
            st = KIVO_EINVAL;
            goto out;
        }
    }
    if (f.dup) {
        /* Row by row from the start: a fresh table of ids. */
        wk_seen_free(m->seen);
        m->seen = NULL;
        st = wk_seen_create(&m->seen) == 0 ? KIVO_OK : KIVO_ENOMEM;
        if (st == KIVO_ENOMEM)
            snprintf(m->err, m->errlen, "out of memory");
        goto out;
    }
    /* Where each shard's events start in the merged events.jsonl (the shards' files one after
     * another): the index keeps a reused line's event place. */
    st = KIVO_EIO;
    if (!(ev_at = calloc(m->n + 1, sizeof *ev_at))) {
        snprintf(m->err, m->errlen, "out of memory");
        st = KIVO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < m->n; i++) {
        struct stat es;
        if (fstatat(m->sh[i].root, "events.jsonl", &es, AT_SYMLINK_NOFOLLOW) != 0) {
            snprintf(m->err, m->errlen, "cannot read %s/events.jsonl: %s", m->sh[i].dir,
                     strerror(errno));
            goto out;
        }
        ev_at[i + 1] = ev_at[i] + (uint64_t)es.st_size;
    }
    /* kivo-worker-mpi: shard 0's index and parts are the merged store's first rows and parts
     * as they are (its runs start the stream: same seq, part, offset and event place), so they
     * are moved, not copied. */
    int moved = 0;
    if (m->o->consume_first && f.n && f.v[0].shard == 0 && (st = take_first(m)) != KIVO_OK)
        goto out;
    moved = m->o->consume_first && f.n && f.v[0].shard == 0;
    st = KIVO_EIO;
    /* Second: the bytes and the rows, piece by piece, in merged order. */
    for (size_t i = 0; i < f.n; i++) {
        piece *p = &f.v[i];
        shard_in *s = &m->sh[p->shard];
        char name[WK_PART_NAME_MAX], rp[PATH_MAX + 16];
        if (moved && p->shard == 0) {
            /* A whole part of shard 0 (its cuts are the merged store's): renamed; the last one,
             * still open, under its partial name for the next shard's bytes. */
            char final[WK_PART_NAME_MAX];
            struct stat ps;
            errno = 0;
            int d = wk_dir_walk(s->root, "reports", 0, NULL, NULL);
            wk_part_name(p->part, WK_COMPRESS_NONE, 0, final);
            wk_part_name(p->to, WK_COMPRESS_NONE, !p->closes, name);
            int bad = d < 0 || p->lo != 0 || p->part != p->to ||
                      fstatat(d, final, &ps, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(ps.st_mode) ||
                      (uint64_t)ps.st_size != p->hi || renameat(d, final, m->reports_fd, name) != 0;
            if (d >= 0)
                close(d);
            /* Appended to in place: a part linked to another store's (--reuse, twin.h) is made
             * a file of its own first. */
            if (!bad && !p->closes &&
                (wk_unshare_at(m->reports_fd, name) != 0 ||
                 (out = openat(m->reports_fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0))
                bad = 1;
            if (bad) {
                snprintf(m->err, m->errlen, "cannot move %s/reports/%s into %s: %s", s->dir, final,
                         m->o->out, errno ? strerror(errno) : "not the part its index says");
                goto out;
            }
            continue;
        }
        if (p->shard != in_shard) {
            if (in_shard != UINT32_MAX && wk_rindex_detach(m->ix) != 0)
                goto index_failed;
            snprintf(rp, sizeof rp, "%s/reports", s->path);
            if (wk_rindex_attach(m->ix, rp) != 0)
                goto index_failed;
            in_shard = p->shard;
            in_part = UINT32_MAX;
        }
        if (p->part != in_part || in < 0) {
            if (in >= 0)
                close(in);
            int d = wk_dir_walk(s->root, "reports", 0, NULL, NULL);
            wk_part_name(p->part, WK_COMPRESS_NONE, 0, name);
            in = d >= 0 ? wk_read_open(d, name) : -1;
            if (d >= 0)
                close(d);
            if (in < 0) {
                snprintf(m->err, m->errlen, "cannot read %s/reports/%s: %s", s->dir, name,
                         strerror(errno));
                goto out;
            }
            in_part = p->part;
        }
        if (out < 0) {
            wk_part_name(p->to, WK_COMPRESS_NONE, 1, name);
            out = openat(m->reports_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                         WK_MODE_TEXT);
            if (out < 0) {
                wk_output_error(m->err, m->errlen, "cannot write", m->o->out, name, errno);
                goto out;
            }
        }
        /* Where lo lands: the merged part's bytes so far (pieces fill it in order). */
        off_t at = lseek(out, 0, SEEK_END);
        if (at < 0 || wk_copy_range(in, p->lo, p->hi - p->lo, out) != 0) {
            wk_part_name(p->to, WK_COMPRESS_NONE, 1, name);
            wk_output_error(m->err, m->errlen, "cannot write", m->o->out, name, errno);
            goto out;
        }
        if (wk_rindex_copy_rows(m->ix, p->seq_delta, p->first, p->last, p->to,
                                (int64_t)at - (int64_t)p->lo, (int64_t)ev_at[p->shard]) != 0)
            goto index_failed;
        if (p->closes) {
            int fd = out;
            out = -1;
            if (close_fast_part(m, fd, p->to) != 0)
                goto out;
        }
    }
    if (out >= 0) {
        int fd = out;
        out = -1;
        if (close_fast_part(m, fd, f.to) != 0)
            goto out;
    }
    if (in_shard != UINT32_MAX && (in_shard = UINT32_MAX, wk_rindex_detach(m->ix) != 0))
        goto index_failed;
    for (size_t i = 0; i < m->n; i++)
        if (append_file(m->sh[i].root, "events.jsonl", m->events) != 0 ||
            append_file(m->sh[i].root, "rejects.jsonl", m->rejects) != 0) {
            snprintf(m->err, m->errlen, "cannot copy %s's events and rejects: %s", m->sh[i].dir,
                     strerror(errno));
            goto out;
        }
    m->fast_parts = f.n ? f.v[f.n - 1].to + 1 : 0;
    m->sum->records_reviewed += f.counts.records_reviewed;
    m->sum->claims += f.counts.claims;
    m->sum->unsupported_claims += f.counts.unsupported_claims;
    for (int v = 0; v < 3; v++)
        m->sum->verdicts[v] += f.counts.verdicts[v];
    for (int c = 0; c < KIVO_CAT_COUNT; c++)
        m->sum->categories[c] += f.counts.categories[c];
    m->sum->case_collisions += f.counts.case_collisions;
    m->stored = f.counts.records_reviewed;
    m->events_bytes = ev_at[m->n];
    if (f.counts.case_collisions)
        fprintf(stderr,
                "kivo-worker: warning: customer_run_id \"%s\" (%s line %llu) differs only in "
                "letter case from an earlier one (see summary.json run_ids_differing_in_case)\n",
                f.case_id, f.case_file < m->in.n ? m->in.paths[f.case_file] : "?",
                (unsigned long long)f.case_line);
    st = KIVO_OK;
    *done = 1;
    goto out;
index_failed:
    snprintf(m->err, m->errlen, "cannot write %s/reports/index: %s", m->o->out,
             wk_rindex_errmsg(m->ix));
out:
    if (in_shard != UINT32_MAX)
        wk_rindex_detach(m->ix);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    free(f.v);
    free(ev_at);
    return st;
}

/* The counts only the shards know (records read and rejected, bytes), summed. */
static void add_shard_counts(merge *m, const shard_in *s, double *slowest)
{
    const json_t *j = s->summary;
    double secs = json_number_value(json_object_get(j, "seconds"));
    m->sum->files = num(j, "files");
    m->sum->records_read += num(j, "records_read");
    m->sum->records_rejected += num(j, "records_rejected");
    m->sum->duplicates += num(j, "duplicate_run_ids");
    if (json_object_get(j, "records_reused")) { /* the shard ran with --reuse */
        m->sum->reuse = 1;
        m->sum->reused += num(j, "records_reused");
        m->sum->reused_lines += num(j, "records_reused_unchanged");
    }
    m->sum->bytes += num(j, "bytes_read");
    m->sum->threads += (int)num(j, "threads");
    if (secs > *slowest)
        *slowest = secs;
}

/* Step 6: the parts closed, the index completed, events and rejects under their names, then
 * summary.json, index.html and the manifest's "complete". */
static kivo_status finish_out(merge *m)
{
    uint32_t parts = 0;
    FILE *f;
    if (wk_parts_finish(m->parts, &parts, m->err, m->errlen) != 0)
        return KIVO_EIO;
    if (wk_rindex_finish(m->ix) != 0) {
        snprintf(m->err, m->errlen, "cannot write %s/reports/index: %s", m->o->out,
                 wk_rindex_errmsg(m->ix));
        return KIVO_EIO;
    }
    m->sum->parts = m->fast ? m->fast_parts : parts;
    if (m->pages && wk_pages_finish(m->pages, &m->sum->pages, m->err, m->errlen) != 0)
        return KIVO_EIO;
    f = m->events;
    m->events = NULL;
    int bad = fclose(f) != 0;
    f = m->rejects;
    m->rejects = NULL;
    bad |= fclose(f) != 0;
    if (bad || wk_commit_at(m->root, m->events_tmp, "events.jsonl", 0) != 0 ||
        (m->events_tmp[0] = '\0', wk_commit_at(m->root, m->rejects_tmp, "rejects.jsonl", 0)) != 0) {
        wk_output_error(m->err, m->errlen, "cannot write", m->o->out, "events.jsonl", errno);
        return KIVO_EIO;
    }
    m->rejects_tmp[0] = '\0';
    /* The merged folder is an outbox too: `kivo-worker submit --outbox DIR` sends its runs, each
     * once, when the shards ran without --kivo-api-base-url (docs/scale-out.md). */
    char prefix[WK_REPORT_DIR_MAX];
    wk_outbox_meta om = {0};
    wk_report_dir(m->spec.workflow_id, prefix);
    om.workflow_id = m->spec.workflow_id;
    om.workflow_name = m->spec.workflow_name;
    om.intended_use = (char *)kivo_intended_use_name(m->spec.intended_use);
    om.strictness = (char *)kivo_strictness_name(m->spec.strictness);
    om.policy_version = m->spec.policy_version;
    om.storage_label = m->spec.report_label;
    om.report_prefix = prefix;
    if (wk_outbox_meta_write(m->out_path, &om) != 0) {
        wk_output_error(m->err, m->errlen, "cannot write", m->o->out, "outbox.json", errno);
        return KIVO_EIO;
    }
    char *js = wk_summary_json(m->sum, &m->spec, m->o->out);
    if (m->index && m->bd && wk_breakdown_labeled(m->bd) &&
        wk_html_index_attach(m->index, "disagreements", wk_breakdown_disagreements(m->bd)) != 0) {
        free(js);
        js = NULL;
    }
    struct iovec v = {js, js ? strlen(js) : 0};
    const char *name = "summary.json";
    bad = !js || wk_write_at(m->root, name, &v, 1, WK_MODE_META, 0) != 0 ||
          (m->index && (name = "index.html", wk_html_index_write(m->index, js) != KIVO_OK));
    int e = js ? errno : ENOMEM;
    free(js);
    if (bad || (!m->index && unlinkat(m->root, "index.html", 0) != 0 && errno != ENOENT)) {
        wk_output_error(m->err, m->errlen, "cannot write", m->o->out, name, bad ? e : errno);
        return KIVO_EIO;
    }
    m->man.state = WK_MANIFEST_COMPLETE;
    if (wk_manifest_write(m->root, &m->man) != 0) {
        wk_output_error(m->err, m->errlen, "cannot write", m->o->out, WK_MANIFEST_NAME, errno);
        return KIVO_EIO;
    }
    return KIVO_OK;
}

static void close_merge(merge *m)
{
    if (m->events)
        fclose(m->events);
    if (m->rejects)
        fclose(m->rejects);
    if (m->root >= 0 && m->events_tmp[0])
        unlinkat(m->root, m->events_tmp, 0);
    if (m->root >= 0 && m->rejects_tmp[0])
        unlinkat(m->root, m->rejects_tmp, 0);
    wk_parts_free(m->parts);
    wk_pages_free(m->pages);
    free(m->pbuf);
    wk_rindex_close(m->ix);
    if (m->reports_fd >= 0)
        close(m->reports_fd);
    for (size_t i = 0; m->cur && i < m->in.n; i++) {
        if (m->cur[i].fd >= 0)
            close(m->cur[i].fd);
        wk_stream_close(m->cur[i].stream);
    }
    free(m->cur);
    for (size_t i = 0; m->open_paths && i < m->in.n; i++)
        free(m->open_paths[i]);
    free(m->open_paths);
    for (size_t i = 0; m->sh && i < m->n; i++) {
        shard_in *s = &m->sh[i];
        json_decref(s->info);
        json_decref(s->summary);
        if (s->events)
            fclose(s->events);
        if (s->rejects)
            fclose(s->rejects);
        wk_part_reader_close(s->pr);
        if (s->outbox)
            wk_outbox_close(s->outbox);
        if (s->page_fd1)
            close(s->page_fd1 - 1);
        wk_rindex_close(s->ix);
        if (s->reports_fd >= 0)
            close(s->reports_fd);
        if (s->root >= 0)
            close(s->root);
    }
    free(m->sh);
    free(m->line);
    free(m->rline);
    wk_seen_free(m->seen);
    wk_html_index_free(m->index);
    wk_manifest_free(&m->man);
    wk_inputs_free(&m->in);
    if (m->spec_loaded)
        wk_jobspec_free(&m->spec);
    if (m->root >= 0)
        close(m->root);
}

kivo_status wk_merge_run(const wk_merge_opts *o, wk_summary *sum, char *err, size_t errlen)
{
    double t0 = now(), slowest = 0;
    merge m = {
        .o = o, .sum = sum, .err = err, .errlen = errlen, .n = o->n, .root = -1, .reports_fd = -1};
    kivo_status st = KIVO_EINVAL;
    memset(sum, 0, sizeof *sum);
    err[0] = '\0';
    if (o->n == 0) {
        snprintf(err, errlen, "give the shards' out folders");
        return KIVO_EINVAL;
    }
    if (!(m.sh = calloc(o->n, sizeof *m.sh))) {
        snprintf(err, errlen, "out of memory");
        return KIVO_EIO;
    }
    for (size_t i = 0; i < o->n; i++)
        m.sh[i].root = m.sh[i].reports_fd = -1;
    if ((st = load_shards(&m)) != KIVO_OK || (st = check_set(&m)) != KIVO_OK ||
        (st = load_job(&m)) != KIVO_OK || (st = open_out(&m)) != KIVO_OK)
        goto out;
    /* KIVO_WORKER_TEST_MERGE (tests only): "rows" forces the row-by-row merge, "say" prints
     * which way the merge went. */
    const char *tm = getenv("KIVO_WORKER_TEST_MERGE");
    if ((!tm || strcmp(tm, "rows") != 0) && (st = merge_fast(&m, &m.fast)) != KIVO_OK)
        goto out;
    if (tm && strcmp(tm, "say") == 0)
        fprintf(stderr, "kivo-worker merge: %s\n", m.fast ? "copy by ranges" : "row by row");
    for (size_t i = 0; i < m.n; i++) {
        add_shard_counts(&m, &m.sh[i], &slowest);
        if (!m.fast && (st = walk_shard(&m, &m.sh[i])) != KIVO_OK)
            goto out;
    }
    sum->records_rejected += m.cross_dups;
    sum->duplicates += m.cross_dups;
    if (m.sent_twice)
        fprintf(stderr,
                "kivo-worker merge: warning: %llu runs whose customer_run_id an earlier shard "
                "holds were sent by their later shard too (shards that send cannot know each "
                "other's ids): kivo-api kept the first create and refused a differing second "
                "event (see that shard's dead-letter.jsonl). Run shards without "
                "--kivo-api-base-url and `kivo-worker submit --outbox %s` instead, or use "
                "mpirun (docs/scale-out.md)\n",
                (unsigned long long)m.sent_twice, o->out);
    wk_compress cz = WK_COMPRESS_NONE;
    wk_compress_parse(str(m.sh[0].info, "compression"), &cz);
    sum->layout = "v2";
    sum->compression = wk_compress_name(cz);
    sum->breakdown = m.bd;
    sum->seconds = slowest + o->extra_seconds + (now() - t0);
    st = finish_out(&m);
out:
    sum->breakdown = NULL; /* freed below */
    wk_breakdown_free(m.bd);
    close_merge(&m);
    return st;
}

static const char usage[] =
    "Usage: kivo-worker merge --out DIR SHARD_DIR...\n"
    "\n"
    "Joins the out folders of `kivo-worker batch --shard K/N` (K = 0 .. N-1, any order) into\n"
    "one report store in DIR, reviewing nothing again: one summary.json, one reports/index, the\n"
    "parts (cut again at the shards' --part-size), index.html, events.jsonl and rejects.jsonl in\n"
    "input order. Reports, events, rejects and summary counts are the bytes a single `batch`\n"
    "over the same inputs writes (summary.json's timing fields and threads aside): a run id\n"
    "that an earlier shard holds becomes a duplicate reject here, as it is in one process.\n"
    "The shards must be of one batch (job spec, batch id, inputs, options), all finished, each\n"
    "K once; the job spec must still be where and what it was (merge runs it from the shards'\n"
    "working folder). Each shard sent its own events (its folder is its outbox); merge sends\n"
    "nothing. DIR is an outbox too: shards run without --kivo-api-base-url are sent from it\n"
    "with `kivo-worker submit --outbox DIR`, each run once.\n"
    "\n"
    "Options:\n"
    "  -o, --out DIR             the merged store's folder (not one of the shards')\n"
    "      --overwrite           take an out folder that holds another batch's output\n"
    "  -j, --json                print the summary as JSON on stdout\n"
    "  -q, --quiet               no closing line\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit codes: 0 merged; 3 merged, some records rejected; 2 usage, or a shard missing, given\n"
    "twice, unfinished, or of another batch; 1 I/O error.\n";

enum { OPT_OVERWRITE = 500 };

static const struct option opts[] = {
    {"out", required_argument, NULL, 'o'}, {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"json", no_argument, NULL, 'j'},      {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
/* KIVO_MERGE_OUT: batch's KIVO_OUT must not reach merge. */
static const char *const scoped[] = {"out", NULL};
const wk_optenv_cmd wk_merge_cli = {"merge", ":o:jqh", opts, "MERGE", scoped};

int wk_merge_command(const wk_optenv *oe)
{
    wk_merge_opts mo = {0};
    wk_summary sum;
    char err[4096];
    int c, json = 0, quiet = 0;
    optind = 1;
    while ((c = getopt_long(oe->argc, oe->argv, wk_merge_cli.shortopts, opts, NULL)) != -1) {
        switch (c) {
        case 'o': mo.out = optarg; break;
        case OPT_OVERWRITE: mo.overwrite = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h':
            fputs(usage, stdout);
            wk_optenv_help(stdout, &wk_merge_cli);
            return 0;
        default: wk_optenv_unknown(oe, c); return 2;
        }
    }
    if (!mo.out || optind >= oe->argc) {
        fprintf(stderr, "kivo-worker merge: %s\n\n%s",
                !mo.out ? "--out DIR is required" : "give the shards' out folders", usage);
        return 2;
    }
    mo.dirs = (const char *const *)oe->argv + optind;
    mo.n = (size_t)(oe->argc - optind);
    kivo_status st = wk_merge_run(&mo, &sum, err, sizeof err);
    if (st != KIVO_OK) {
        fprintf(stderr, "kivo-worker merge: %s\n", err);
        return st == KIVO_EINVAL || st == KIVO_EBUSY ? 2 : 1;
    }
    if (json) {
        /* The merged summary.json as written. */
        char path[PATH_MAX + 16];
        char *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/summary.json", mo.out);
        if (wk_read_file(path, &data, &len) == 0)
            fwrite(data, 1, len, stdout);
        free(data);
    } else if (!quiet) {
        fprintf(stderr,
                "kivo-worker merge: %zu shards, %llu records read, %llu reviewed, %llu rejected; "
                "verdicts: %llu pass, %llu needs_review, %llu fail; store in %s\n",
                mo.n, (unsigned long long)sum.records_read,
                (unsigned long long)sum.records_reviewed, (unsigned long long)sum.records_rejected,
                (unsigned long long)sum.verdicts[0], (unsigned long long)sum.verdicts[1],
                (unsigned long long)sum.verdicts[2], mo.out);
    }
    return sum.records_rejected ? 3 : 0;
}
