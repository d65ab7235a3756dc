/*
 * manifest.c - DIR/manifest.json (see manifest.h), as JSON through jansson: small, read once at
 * the start and written at each checkpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jobspec.h"
#include "manifest.h"
#include "shard.h"
#include "output.h"
#include "review.h"
#include "testhook.h"

#define SCHEMA "kivo_worker_manifest.v1"

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* The summary's counts, in a fixed order. */
static json_t *counts_json(const wk_summary *s)
{
    json_t *a = json_array();
    uint64_t v[] = {s->files,      s->records_read,    s->records_reviewed, s->records_rejected,
                    s->duplicates, s->case_collisions, s->claims,           s->unsupported_claims,
                    s->bytes};
    for (size_t i = 0; a && i < sizeof v / sizeof v[0]; i++)
        json_array_append_new(a, u64(v[i]));
    for (int i = 0; a && i < 3; i++)
        json_array_append_new(a, u64(s->verdicts[i]));
    for (int i = 0; a && i < KIVO_CAT_COUNT; i++)
        json_array_append_new(a, u64(s->categories[i]));
    return a;
}

static int counts_read(const json_t *a, wk_summary *s)
{
    uint64_t *v[] = {
        &s->files,      &s->records_read,    &s->records_reviewed, &s->records_rejected,
        &s->duplicates, &s->case_collisions, &s->claims,           &s->unsupported_claims,
        &s->bytes};
    size_t n = sizeof v / sizeof v[0], k = 0;
    if (!json_is_array(a) || json_array_size(a) != n + 3 + KIVO_CAT_COUNT)
        return -1;
    for (size_t i = 0; i < n; i++)
        *v[i] = (uint64_t)json_integer_value(json_array_get(a, k++));
    for (int i = 0; i < 3; i++)
        s->verdicts[i] = (uint64_t)json_integer_value(json_array_get(a, k++));
    for (int i = 0; i < KIVO_CAT_COUNT; i++)
        s->categories[i] = (uint64_t)json_integer_value(json_array_get(a, k++));
    return 0;
}

int wk_manifest_write(int root, const wk_manifest *m)
{
    json_t *o = json_object(), *ck = NULL;
    char tmp[WK_TMP_MAX], *text = NULL;
    int fd = -1, rc = -1, e = ENOMEM;
    if (!o)
        goto out;
    json_object_set_new(o, "schema_version", json_string(SCHEMA));
    json_object_set_new(o, "state",
                        json_string(m->state == WK_MANIFEST_COMPLETE ? "complete" : "running"));
    json_object_set_new(o, "batch", json_string(m->batch));
    json_object_set_new(o, "options", json_string(m->options));
    if (m->has_checkpoint) {
        const wk_checkpoint *c = &m->ck;
        json_t *closed = json_array();
        for (uint32_t i = 0; closed && i < c->part; i++)
            json_array_append_new(closed, u64(c->closed[i]));
        ck = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                       "chunks", u64(c->chunks), "bytes", u64(c->bytes), "cur_file",
                       u64(c->cur_file), "cur_line", u64(c->cur_line), "stored", u64(c->stored),
                       "part", u64(c->part), "part_open", c->part_open, "part_bytes",
                       u64(c->part_bytes), "part_content", u64(c->part_content), "part_frames",
                       u64(c->part_frames), "closed_parts", closed, "events_bytes",
                       u64(c->events_bytes), "rejects_bytes", u64(c->rejects_bytes), "counts",
                       counts_json(&c->counts));
        if (!ck || json_object_set_new(ck, "page", u64((uint64_t)c->pages.page)) != 0 ||
            json_object_set_new(ck, "page_open", json_boolean(c->pages.open)) != 0 ||
            json_object_set_new(ck, "page_bytes", u64(c->pages.bytes)) != 0 ||
            json_object_set_new(ck, "page_runs", u64(c->pages.runs)) != 0)
            goto out;
        if (c->counts.reused) /* --reuse: carried reports so far (absent: none) */
            json_object_set_new(ck, "reused", u64(c->counts.reused));
        if (c->counts.reused_lines) /* of those, carried by their unchanged line */
            json_object_set_new(ck, "reused_lines", u64(c->counts.reused_lines));
        json_object_set_new(o, "checkpoint", ck);
    }
    if (!(text = json_dumps(o, JSON_INDENT(1))))
        goto out;
    if ((fd = wk_tmp_open(root, WK_MANIFEST_NAME, WK_MODE_META, tmp)) < 0) {
        e = errno;
        goto out;
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        e = errno;
        goto fail;
    }
    close(fd);
    fd = -1;
    wk_test_point("manifest");
    if (wk_commit_at(root, tmp, WK_MANIFEST_NAME, WK_WRITE_SYNC) != 0) {
        e = errno;
        goto out;
    }
    rc = 0;
    goto out;
fail:
    close(fd);
    fd = -1;
    unlinkat(root, tmp, 0);
out:
    free(text);
    json_decref(o);
    if (rc != 0)
        errno = e;
    return rc;
}

static int get_u64(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int wk_manifest_read(int root, wk_manifest *m, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    json_error_t je;
    json_t *o = NULL;
    int rc = -1;
    memset(m, 0, sizeof *m);
    if (wk_read_at(root, WK_MANIFEST_NAME, 0, &data, &len) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read %s: %s", WK_MANIFEST_NAME, strerror(errno));
        return -1;
    }
    const char *schema = NULL;
    if ((o = json_loadb(data, len, 0, &je)) != NULL)
        schema = json_string_value(json_object_get(o, "schema_version"));
    if (!o || !schema || strcmp(schema, SCHEMA) != 0) {
        snprintf(err, errlen, "%s is not a kivo-worker manifest (%s)", WK_MANIFEST_NAME,
                 o ? "another schema" : je.text);
        goto out;
    }
    const char *state = json_string_value(json_object_get(o, "state"));
    const char *batch = json_string_value(json_object_get(o, "batch"));
    const char *options = json_string_value(json_object_get(o, "options"));
    if (!state || !batch || !options || strlen(batch) >= sizeof m->batch ||
        strlen(options) >= sizeof m->options) {
        snprintf(err, errlen, "%s is damaged: no state, batch or options", WK_MANIFEST_NAME);
        goto out;
    }
    m->state = strcmp(state, "complete") == 0 ? WK_MANIFEST_COMPLETE : WK_MANIFEST_RUNNING;
    memcpy(m->batch, batch, strlen(batch) + 1);
    memcpy(m->options, options, strlen(options) + 1);
    const json_t *ck = json_object_get(o, "checkpoint");
    if (json_is_object(ck)) {
        wk_checkpoint *c = &m->ck;
        uint64_t part = 0, frames = 0;
        const json_t *closed = json_object_get(ck, "closed_parts");
        if (get_u64(ck, "chunks", &c->chunks) || get_u64(ck, "bytes", &c->bytes) ||
            get_u64(ck, "cur_file", &c->cur_file) || get_u64(ck, "cur_line", &c->cur_line) ||
            get_u64(ck, "stored", &c->stored) || get_u64(ck, "part", &part) ||
            get_u64(ck, "part_bytes", &c->part_bytes) ||
            get_u64(ck, "part_content", &c->part_content) || get_u64(ck, "part_frames", &frames) ||
            get_u64(ck, "events_bytes", &c->events_bytes) ||
            get_u64(ck, "rejects_bytes", &c->rejects_bytes) || part > WK_MANIFEST_PARTS_MAX ||
            frames > UINT32_MAX || !json_is_array(closed) || json_array_size(closed) != part ||
            counts_read(json_object_get(ck, "counts"), &c->counts) != 0) {
            snprintf(err, errlen, "%s is damaged: its checkpoint is incomplete", WK_MANIFEST_NAME);
            goto out;
        }
        /* The pages, when the checkpoint has them (a batch with --html none writes none). */
        uint64_t page = 0, page_runs = 0;
        if (json_object_get(ck, "page") &&
            (get_u64(ck, "page", &page) || get_u64(ck, "page_bytes", &c->pages.bytes) ||
             get_u64(ck, "page_runs", &page_runs) || page > INT64_MAX || page_runs > UINT32_MAX)) {
            snprintf(err, errlen, "%s is damaged: its checkpoint's pages are incomplete",
                     WK_MANIFEST_NAME);
            goto out;
        }
        c->pages.page = (int64_t)page;
        c->pages.runs = (uint32_t)page_runs;
        c->pages.open = json_is_true(json_object_get(ck, "page_open"));
        c->part = (uint32_t)part;
        c->part_frames = (uint32_t)frames;
        c->counts.reused = (uint64_t)json_integer_value(json_object_get(ck, "reused"));
        c->counts.reused_lines = (uint64_t)json_integer_value(json_object_get(ck, "reused_lines"));
        c->part_open = json_is_true(json_object_get(ck, "part_open"));
        if (!(c->closed = calloc(part + 1, sizeof *c->closed))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < part; i++)
            c->closed[i] = (uint64_t)json_integer_value(json_array_get(closed, i));
        m->has_checkpoint = 1;
    }
    rc = 1;
out:
    json_decref(o);
    free(data);
    if (rc != 1)
        wk_manifest_free(m);
    return rc;
}

void wk_manifest_free(wk_manifest *m)
{
    free(m->ck.closed);
    m->ck.closed = NULL;
}

static void put(EVP_MD_CTX *c, const char *s)
{
    EVP_DigestUpdate(c, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void put_u64(EVP_MD_CTX *c, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    put(c, t);
}

static int finish(EVP_MD_CTX *c, char out[KIVO_HASH_TEXT_SIZE])
{
    unsigned char d[KIVO_SHA256_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(c, d, &n) != 1 || n != KIVO_SHA256_SIZE)
        return -1;
    kivo_hash_format(d, out);
    return 0;
}

int wk_manifest_identity(const wk_jobspec *spec, const wk_batch_opts *opts, const wk_inputs *in,
                         char batch[KIVO_HASH_TEXT_SIZE], char options[KIVO_HASH_TEXT_SIZE],
                         char *err, size_t errlen)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    char *data = NULL;
    size_t len = 0;
    int rc = -1;
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "cannot hash the batch's identity");
        goto out;
    }
    /* The batch: what the spec says (its bytes, or its fields when it came from no file), the
     * batch id, and each input as found now. */
    if (opts->spec_path) {
        if (wk_read_file(opts->spec_path, &data, &len) != 0) {
            snprintf(err, errlen, "cannot read %s: %s", opts->spec_path, strerror(errno));
            goto out;
        }
        EVP_DigestUpdate(c, data, len);
    } else {
        put(c, spec->workflow_id);
        put(c, spec->policy_version);
        for (int i = 0; i < 6; i++)
            put(c, spec->field[i]);
    }
    put(c, spec->batch_id);
    for (size_t i = 0; i < in->n; i++)
        put(c, in->paths[i]);
    if (finish(c, batch) != 0 || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        goto hash_failed;
    /* What a resume needs unchanged: the inputs' contents as far as size and modification time
     * tell (a file that changed makes the batch start over, it is still the same batch), and
     * the options that shape the output's bytes. */
    for (size_t i = 0; i < in->n; i++) {
        struct stat sb;
        put_u64(c, in->sizes[i]);
        if (i != in->stdin_index && stat(in->paths[i], &sb) == 0) {
            put_u64(c, (uint64_t)sb.st_mtim.tv_sec);
            put_u64(c, (uint64_t)sb.st_mtim.tv_nsec);
        }
    }
    put(c, WK_WORKER_VERSION);
    put(c, KIVO_ENGINE_VERSION);
    put_u64(c, (uint64_t)opts->layout);
    put_u64(c, opts->part_size);
    put_u64(c, (uint64_t)opts->compress);
    put_u64(c, (uint64_t)opts->html);
    put_u64(c, opts->page_runs ? opts->page_runs : WK_HTML_RUNS_PER_PAGE);
    put_u64(c, opts->chunk_bytes);
    put(c, opts->group_by);
    put_u64(c, opts->junit != NULL);
    if (opts->shard) { /* a shard's checkpoint is resumed by the same shard only */
        put_u64(c, opts->shard->k);
        put_u64(c, opts->shard->n);
    }
    if (finish(c, options) != 0)
        goto hash_failed;
    rc = 0;
    goto out;
hash_failed:
    snprintf(err, errlen, "cannot hash the batch's identity");
out:
    free(data);
    EVP_MD_CTX_free(c);
    return rc;
}
