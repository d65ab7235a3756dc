/*
 * shard.c - deterministic shards of a job's inputs (shard.h): slices of the inputs laid end to
 * end, moved to line boundaries inside plain files, whole compressed files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>
#include <sys/uio.h>

#include <jansson.h>

#include "batch.h"
#include "manifest.h"
#include "output.h"
#include "parts.h"
#include "shard.h"
#include "stream.h"

#define SCAN_BLOCK (1u << 20)

static int parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int wk_shard_parse(const char *s, wk_shard *out, char *err, size_t errlen)
{
    static const char *const vars[] = {"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID",
                                       "OMPI_COMM_WORLD_RANK"};
    const char *slash = strchr(s, '/');
    const char *ks = s;
    size_t klen = slash ? (size_t)(slash - s) : 0;
    const char *from = NULL;
    if (!slash || parse_u32(slash + 1, strlen(slash + 1), WK_SHARD_MAX, &out->n) != 0 ||
        out->n == 0) {
        snprintf(err, errlen, "--shard takes K/N (0 <= K < N <= %u) or auto/N, not '%s'",
                 WK_SHARD_MAX, s);
        return -1;
    }
    if (klen == 4 && memcmp(s, "auto", 4) == 0) {
        for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !from; i++)
            if ((ks = getenv(vars[i])) && *ks)
                from = vars[i];
        if (!from) {
            snprintf(err, errlen,
                     "--shard auto/%u: none of JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or "
                     "OMPI_COMM_WORLD_RANK is set",
                     out->n);
            return -1;
        }
        klen = strlen(ks);
    }
    if (parse_u32(ks, klen, WK_SHARD_MAX, &out->k) != 0 || out->k >= out->n) {
        if (from)
            snprintf(err, errlen, "--shard auto/%u: %s is '%s', not a number below %u", out->n,
                     from, ks, out->n);
        else
            snprintf(err, errlen, "--shard %s: K must be a number from 0 to N-1", s);
        return -1;
    }
    return 0;
}

/* The offset just past the first '\n' at or after `at` in fd, or `size` when none is. */
static int line_after(int fd, uint64_t at, uint64_t size, char *buf, uint64_t *out)
{
    uint64_t pos = at;
    while (pos < size) {
        ssize_t n = pread(fd, buf, SCAN_BLOCK, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        const char *nl = memchr(buf, '\n', (size_t)n);
        if (nl) {
            *out = pos + (uint64_t)(nl - buf) + 1;
            return 0;
        }
        pos += (uint64_t)n;
    }
    *out = size;
    return 0;
}

/* Newlines in [0, end) of fd. */
static int count_lines(int fd, uint64_t end, char *buf, uint64_t *out)
{
    uint64_t pos = 0, lines = 0;
    while (pos < end) {
        size_t want = end - pos < SCAN_BLOCK ? (size_t)(end - pos) : SCAN_BLOCK;
        ssize_t n = pread(fd, buf, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        pos += (uint64_t)n;
    }
    *out = lines;
    return 0;
}

/* Where slice k of n starts: total * k / n, without overflow (k < n <= WK_SHARD_MAX). */
static uint64_t slice_start(uint64_t total, uint32_t k, uint32_t n)
{
    return total / n * k + total % n * k / n;
}

/* The shard whose slice holds stream position pos (the last of equal slices, at the end). */
static uint32_t owner(uint64_t pos, uint64_t total, uint32_t n)
{
    uint32_t s = 0;
    while (s + 1 < n && slice_start(total, s + 1, n) <= pos)
        s++;
    return s;
}

int wk_shard_plan(const wk_inputs *in, const wk_shard *sh, wk_range **out, uint64_t *bytes,
                  char *err, size_t errlen)
{
    uint64_t total = in->total_bytes, pos = 0;
    uint64_t lo = slice_start(total, sh->k, sh->n);
    uint64_t hi = sh->k + 1 == sh->n ? total : slice_start(total, sh->k + 1, sh->n);
    wk_range *r = calloc(in->n ? in->n : 1, sizeof *r);
    char *buf = malloc(SCAN_BLOCK);
    int rc = -1, fd = -1;
    *bytes = 0;
    if (!r || !buf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < in->n; pos += in->sizes[i], i++) {
        uint64_t size = in->sizes[i], fs = pos, fe = pos + size;
        if (wk_stream_is_compressed(in->paths[i]) || size == 0) {
            /* Whole, to the shard its first byte falls in. */
            if (owner(fs, total, sh->n) == sh->k) {
                r[i] = (wk_range){1, 0, UINT64_MAX, 0};
                *bytes += size;
            }
            continue;
        }
        if (fe <= lo || fs >= hi)
            continue;
        uint64_t a = lo > fs ? lo - fs : 0, b = hi < fe ? hi - fs : size;
        errno = 0;
        fd = open(in->paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (a > 0 && line_after(fd, a, size, buf, &a) != 0) ||
            (b < size && line_after(fd, b, size, buf, &b) != 0) ||
            (a > 0 && a < b && count_lines(fd, a, buf, &r[i].first_line) != 0)) {
            snprintf(err, errlen, "cannot read %s to find its shard's lines: %s", in->paths[i],
                     errno ? strerror(errno) : "it is shorter than it was");
            goto out;
        }
        close(fd);
        fd = -1;
        if (a >= b)
            continue; /* no line starts in this shard's slice of the file */
        r[i].take = 1;
        r[i].begin = a;
        r[i].end = b >= size ? UINT64_MAX : b;
        *bytes += b - a;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (rc != 0) {
        free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int wk_shard_info_write(int root, const struct wk_jobspec *spec, const struct wk_batch_opts *opts,
                        const wk_inputs *in, const wk_range *ranges, char *err, size_t errlen)
{
    static const char *const html[] = {"flagged", "all", "none"};
    char batch[KIVO_HASH_TEXT_SIZE], options[KIVO_HASH_TEXT_SIZE], cwd[PATH_MAX];
    wk_batch_opts whole = *opts;
    json_t *o = json_object(), *rs = json_array();
    char *js = NULL;
    int rc = -1;
    whole.shard = NULL; /* every shard of the batch names the same options */
    if (!o || !rs)
        goto no_memory;
    if (wk_manifest_identity(spec, &whole, in, batch, options, err, errlen) != 0)
        goto out;
    /* The inputs' paths (in rejects, and in the batch's identity) are the job spec's folder as
     * given joined with each pattern: merge loads the spec the same way, from the same folder. */
    if (!opts->spec_path || !getcwd(cwd, sizeof cwd)) {
        snprintf(err, errlen, "cannot note the job spec's path: %s",
                 opts->spec_path ? strerror(errno) : "none given");
        goto out;
    }
    for (size_t i = 0; i < in->n; i++) {
        if (!ranges[i].take)
            continue;
        json_t *r = json_pack("{s:I, s:I, s:I, s:I}", "file", (json_int_t)i, "begin",
                              (json_int_t)ranges[i].begin, "end",
                              ranges[i].end == UINT64_MAX ? (json_int_t)in->sizes[i]
                                                          : (json_int_t)ranges[i].end,
                              "first_line", (json_int_t)ranges[i].first_line);
        if (!r || json_array_append_new(rs, r) != 0)
            goto no_memory;
    }
    json_object_set_new(o, "schema_version", json_string("kivo_worker_shard.v1"));
    json_object_set_new(o, "shard", json_integer(opts->shard->k));
    json_object_set_new(o, "shards", json_integer(opts->shard->n));
    json_object_set_new(o, "batch", json_string(batch));
    json_object_set_new(o, "options", json_string(options));
    json_object_set_new(o, "job_spec", json_string(opts->spec_path));
    json_object_set_new(o, "cwd", json_string(cwd));
    json_object_set_new(o, "batch_id", json_string(spec->batch_id));
    json_object_set_new(o, "group_by", opts->group_by ? json_string(opts->group_by) : json_null());
    json_object_set_new(o, "html", json_string(html[opts->html]));
    json_object_set_new(o, "layout", json_string(opts->layout == WK_LAYOUT_V2 ? "v2" : "per-run"));
    json_object_set_new(
        o, "part_size",
        json_integer((json_int_t)(opts->part_size ? opts->part_size : WK_PART_SIZE_DEFAULT)));
    json_object_set_new(o, "compression",
                        json_string(wk_compress_name((wk_compress)opts->compress)));
    if (spec->inputs_given) {
        /* Inputs given on the command line replace the spec's: merge must expand the same. */
        json_t *given = json_array();
        if (!given)
            goto no_memory;
        for (size_t i = 0; i < spec->n_inputs; i++)
            json_array_append_new(given, json_string(spec->inputs[i]));
        json_object_set_new(o, "inputs", given);
    }
    json_object_set_new(o, "ranges", rs);
    rs = NULL;
    if (!(js = json_dumps(o, JSON_INDENT(2))))
        goto no_memory;
    size_t n = strlen(js);
    js[n] = '\n'; /* json_dumps' NUL becomes the newline; written by length */
    struct iovec v = {js, n + 1};
    if (wk_write_at(root, WK_SHARD_INFO_NAME, &v, 1, WK_MODE_META, 0) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", WK_SHARD_INFO_NAME, strerror(errno));
        goto out;
    }
    rc = 0;
    goto out;
no_memory:
    snprintf(err, errlen, "out of memory");
out:
    free(js);
    json_decref(rs);
    json_decref(o);
    return rc;
}
