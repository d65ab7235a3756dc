/*
 * test_reader.c - input expansion (inputs.c) and the chunked reader (reader.c): chunks hold whole
 * lines, put back together they are the files byte for byte, whatever the chunk size; offsets and
 * file indexes are right; a last line without '\n' is marked; an over-long line is skipped and
 * reported, and reading goes on after it; the padding after each chunk is readable and zero; a
 * file truncated while it is read (plain, or compressed and cut at a frame's end) ends with a
 * `shrunk` chunk that says so, and a file that grows is read to its new end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zstd.h>

#include "scratch.h"
#include "inputs.h"
#include "kivo/json.h"
#include "reader.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("reader");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kt_scratch_remove(dir);
    dir = NULL;
    return 0;
}

/* A file of n lines of varied lengths; returns its malloc'd bytes. */
static char *make_lines(size_t n, unsigned seed, int final_newline, size_t *len)
{
    size_t cap = n * 400 + 16, k = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        size_t l = 1 + (i * 7919 + seed) % 300;
        k += (size_t)snprintf(d + k, cap - k, "{\"n\":%zu,\"pad\":\"", i);
        for (size_t j = 0; j < l; j++)
            d[k++] = (char)('a' + (i + j) % 26);
        k += (size_t)snprintf(d + k, cap - k, "\"}");
        if (i + 1 < n || final_newline)
            d[k++] = '\n';
    }
    *len = k;
    return d;
}

static void expand(const char *const *patterns, size_t n, wk_inputs *in)
{
    char err[512] = "";
    if (wk_inputs_expand(dir, (char *const *)patterns, n, in, err, sizeof err) != 0)
        fail_msg("expand failed: %s", err);
}

/* Reads everything; checks each chunk; returns the concatenation per file. */
static void read_all(const wk_inputs *in, size_t chunk, size_t max_line, char **files, size_t *lens,
                     size_t *n_overlong, uint64_t *overlong_at)
{
    wk_reader *r = NULL;
    wk_chunk c = {0};
    assert_int_equal(wk_reader_open(in, chunk, max_line, &r), 0);
    for (size_t i = 0; i < in->n; i++) {
        files[i] = malloc(in->sizes[i] + 1);
        assert_non_null(files[i]);
        lens[i] = 0;
    }
    *n_overlong = 0;
    size_t last_file = 0;
    int rc;
    uint64_t total = 0;
    while ((rc = wk_reader_next(r, &c)) == 1) {
        assert_true(c.file < in->n);
        assert_true(c.file >= last_file);
        last_file = c.file;
        if (c.overlong) {
            /* Skipped: where it was and how long, and no bytes handed out. */
            assert_int_equal(c.len, 0);
            overlong_at[(*n_overlong)++] = c.offset;
            lens[c.file] += (size_t)c.overlong; /* keep offsets lined up */
            memset(files[c.file] + c.offset, '#', (size_t)c.overlong);
            total += c.overlong;
            continue;
        }
        assert_true(c.len > 0);
        assert_int_equal(c.offset, lens[c.file]);
        /* Whole lines: ends with '\n', unless it is the file's last line without one. */
        if (c.no_final_newline) {
            assert_int_not_equal(c.buf[c.len - 1], '\n');
            assert_int_equal(c.offset + c.len, in->sizes[c.file]);
        } else {
            assert_int_equal(c.buf[c.len - 1], '\n');
        }
        for (size_t i = 0; i < KIVO_JSON_PADDING; i++)
            assert_int_equal(c.buf[c.len + i], 0);
        assert_true(c.cap >= c.len);
        memcpy(files[c.file] + lens[c.file], c.buf, c.len);
        lens[c.file] += c.len;
        total += c.len;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(wk_reader_next(r, &c), 0); /* stays at the end */
    assert_int_equal(wk_reader_bytes(r), total);
    wk_chunk_free(&c);
    wk_reader_close(r);
}

static void test_whole_vs_chunked(void **state)
{
    (void)state;
    size_t la, lb, lc;
    char *a = make_lines(500, 1, 1, &la);
    char *b = make_lines(77, 5, 0, &lb); /* no final newline */
    char *c = make_lines(1, 9, 1, &lc);
    kt_scratch_write(dir, "a.jsonl", a, la);
    kt_scratch_write(dir, "b.jsonl", b, lb);
    kt_scratch_write(dir, "c.jsonl", c, lc);
    kt_scratch_write(dir, "empty.jsonl", "", 0);
    const char *pats[] = {"a.jsonl", "empty.jsonl", "b.jsonl", "c.jsonl"};
    wk_inputs in;
    expand(pats, 4, &in);
    assert_int_equal(in.n, 4);
    assert_int_equal(in.total_bytes, la + lb + lc);
    const char *want[4] = {a, "", b, c};
    size_t want_len[4] = {la, 0, lb, lc};
    static const size_t chunks[] = {4096, 4097, 5000, 65536, 1 << 20};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        char *files[4];
        size_t lens[4], n_over;
        uint64_t at[4];
        read_all(&in, chunks[k], 1 << 20, files, lens, &n_over, at);
        assert_int_equal(n_over, 0);
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(lens[i], want_len[i]);
            assert_memory_equal(files[i], want[i], want_len[i]);
            free(files[i]);
        }
    }
    wk_inputs_free(&in);
    free(a);
    free(b);
    free(c);
}

static void test_long_and_overlong_lines(void **state)
{
    (void)state;
    /* A 10000-byte line is longer than a 4096-byte chunk but under the limit: the buffer grows.
     * A 30000-byte line is over a 20000-byte limit: skipped and reported, the rest goes on. */
    size_t cap = 60000, k = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    k += (size_t)snprintf(d + k, cap - k, "{\"line\":1}\n");
    size_t long_at = k;
    d[k++] = '"';
    memset(d + k, 'L', 9998);
    k += 9998;
    d[k++] = '"';
    d[k++] = '\n';
    k += (size_t)snprintf(d + k, cap - k, "{\"line\":3}\n");
    size_t over_at = k;
    memset(d + k, 'O', 30000);
    k += 30000;
    d[k++] = '\n';
    size_t after = k;
    k += (size_t)snprintf(d + k, cap - k, "{\"line\":5}\n{\"line\":6}");
    kt_scratch_write(dir, "long.jsonl", d, k);
    const char *pats[] = {"long.jsonl"};
    wk_inputs in;
    expand(pats, 1, &in);
    char *files[1];
    size_t lens[1], n_over;
    uint64_t at[4];
    read_all(&in, 4096, 20000, files, lens, &n_over, at);
    assert_int_equal(n_over, 1);
    assert_int_equal(at[0], over_at);
    assert_int_equal(lens[0], k);
    assert_memory_equal(files[0], d, over_at);                   /* all before it, whole */
    assert_memory_equal(files[0] + after, d + after, k - after); /* all after it */
    assert_memory_equal(files[0] + long_at, d + long_at, 10001);
    free(files[0]);

    /* An over-long last line without a newline. */
    kt_scratch_write(dir, "tail.jsonl", d, over_at + 30000);
    const char *pats2[] = {"tail.jsonl"};
    wk_inputs_free(&in);
    expand(pats2, 1, &in);
    read_all(&in, 4096, 20000, files, lens, &n_over, at);
    assert_int_equal(n_over, 1);
    assert_int_equal(at[0], over_at);
    assert_int_equal(lens[0], over_at + 30000);
    free(files[0]);
    wk_inputs_free(&in);
    free(d);
}

static void test_expand(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    kt_scratch_write(dir, "sub/b.jsonl", "{}\n", 3);
    kt_scratch_write(dir, "sub/a.jsonl", "{}\n", 3);
    kt_scratch_write(dir, "sub/.hidden.jsonl", "{}\n", 3);
    kt_scratch_write(dir, "sub/notes.txt", "x", 1);
    kt_scratch_write(dir, "x1.jsonl", "{}\n", 3);
    kt_scratch_write(dir, "x2.jsonl", "{}\n", 3);
    wk_inputs in;
    char err[512];

    /* A folder stands for its *.jsonl files, sorted; a glob sorted; a file named twice once. */
    const char *pats[] = {"sub", "x*.jsonl", "x1.jsonl", "sub/a.jsonl"};
    expand(pats, 4, &in);
    assert_int_equal(in.n, 4);
    static const char *const names[] = {"sub/a.jsonl", "sub/b.jsonl", "x1.jsonl", "x2.jsonl"};
    for (size_t i = 0; i < 4; i++) {
        char want[256];
        snprintf(want, sizeof want, "%s/%s", dir, names[i]);
        assert_string_equal(in.paths[i], want);
        assert_int_equal(in.sizes[i], 3);
    }
    assert_int_equal(in.total_bytes, 12);
    wk_inputs_free(&in);

    /* Absolute paths are taken as they are. */
    snprintf(path, sizeof path, "%s/x2.jsonl", dir);
    const char *abs_pat[] = {path};
    expand(abs_pat, 1, &in);
    assert_int_equal(in.n, 1);
    wk_inputs_free(&in);

    /* Errors name the pattern. */
    const char *none[] = {"nothing-*.jsonl"};
    assert_int_equal(wk_inputs_expand(dir, (char *const *)none, 1, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "nothing-*.jsonl"));
    assert_non_null(strstr(err, "matches no file"));
    assert_int_equal(in.n, 0);
    const char *missing[] = {"x1.jsonl", "missing.jsonl"};
    assert_int_equal(wk_inputs_expand(dir, (char *const *)missing, 2, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.jsonl"));
    snprintf(path, sizeof path, "%s/emptydir", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    const char *emptydir[] = {"emptydir"};
    assert_int_equal(wk_inputs_expand(dir, (char *const *)emptydir, 1, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "no .jsonl or .ndjson file"));
    /* A dangling symlink cannot be opened. */
    snprintf(path, sizeof path, "%s/dangling.jsonl", dir);
    assert_int_equal(symlink("/nonexistent/kivo/target.jsonl", path), 0);
    const char *dangling[] = {"dangling.jsonl"};
    assert_int_equal(wk_inputs_expand(dir, (char *const *)dangling, 1, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read input"));
    assert_non_null(strstr(err, "dangling.jsonl"));
    /* A folder is searched recursively (a folder named like a data file too), .ndjson files
     * included, sorted by path. */
    snprintf(path, sizeof path, "%s/sub2", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub2/dir.jsonl", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    kt_scratch_write(dir, "sub2/dir.jsonl/deep.ndjson", "{}\n", 3);
    kt_scratch_write(dir, "sub2/c.jsonl", "{}\n", 3);
    const char *sub2[] = {"sub2"};
    expand(sub2, 1, &in);
    assert_int_equal(in.n, 2);
    snprintf(path, sizeof path, "%s/sub2/c.jsonl", dir);
    assert_string_equal(in.paths[0], path);
    snprintf(path, sizeof path, "%s/sub2/dir.jsonl/deep.ndjson", dir);
    assert_string_equal(in.paths[1], path);
    wk_inputs_free(&in);
    /* "**" matches any number of folders, none included. */
    const char *star[] = {"**/deep.ndjson", "sub*/**/c.jsonl", "sub2/**/*.ndjson"};
    expand(star, 3, &in);
    assert_int_equal(in.n, 2);
    assert_non_null(strstr(in.paths[0], "sub2/dir.jsonl/deep.ndjson"));
    assert_non_null(strstr(in.paths[1], "sub2/c.jsonl"));
    wk_inputs_free(&in);
    /* A FIFO among the files is not a regular file (and opening it does not block). */
    snprintf(path, sizeof path, "%s/sub2/fifo.jsonl", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(wk_inputs_expand(dir, (char *const *)sub2, 1, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* "-" is standard input, at most once. */
    const char *dash[] = {"-", "x1.jsonl"};
    expand(dash, 2, &in);
    assert_int_equal(in.n, 2);
    assert_int_equal(in.stdin_index, 0);
    assert_string_equal(in.paths[0], WK_STDIN_NAME);
    wk_inputs_free(&in);
    const char *dash2[] = {"-", "-"};
    assert_int_equal(wk_inputs_expand(dir, (char *const *)dash2, 2, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
}

/* Reads file name (made of data) with 4 KiB chunks; after the first chunk, truncate(2)s it to
 * cut bytes (or appends `grow` bytes). Checks what the reader hands out: every byte before the
 * cut, then (when it shrank) one shrunk chunk at the cut, then the end. */
static void read_while_changing(const char *name, const char *data, size_t len, size_t cut,
                                size_t plain_cut, const char *grow, int compressed)
{
    char path[256];
    const char *pat[] = {name};
    wk_inputs in;
    wk_reader *r = NULL;
    wk_chunk c = {0};
    size_t got = 0, shrunk = 0;
    uint64_t shrunk_at = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    kt_scratch_write(dir, name, data, len);
    expand(pat, 1, &in);
    assert_int_equal(in.sizes[0], len);
    assert_int_equal(wk_reader_open(&in, 4096, 1 << 20, &r), 0);
    for (int first = 1; wk_reader_next(r, &c) == 1; first = 0) {
        if (c.shrunk) {
            assert_int_equal(c.len, 0);
            assert_int_equal(c.shrunk_from, len);
            assert_int_equal(c.shrunk_to, cut);
            shrunk++;
            shrunk_at = c.offset;
        } else {
            assert_int_equal(shrunk, 0); /* nothing after it */
            assert_int_equal(c.offset, got);
            got += c.len;
        }
        if (first && grow) {
            FILE *f = fopen(path, "ab");
            assert_non_null(f);
            fputs(grow, f);
            fclose(f);
        } else if (first) {
            assert_int_equal(truncate(path, (off_t)cut), 0);
        }
    }
    if (grow) {
        assert_int_equal(shrunk, 0);
        assert_int_equal(got, plain_cut + strlen(grow));
    } else {
        assert_int_equal(shrunk, 1);
        assert_int_equal(got, plain_cut); /* everything before the cut, nothing lost */
        assert_int_equal(shrunk_at, plain_cut);
    }
    (void)compressed;
    wk_chunk_free(&c);
    wk_reader_close(r);
    wk_inputs_free(&in);
}

/* n lines of pseudo-random letters (which zstd cannot squeeze much), with '\n' each. */
static char *random_lines(size_t n, size_t *len)
{
    char *d = malloc(n * 320 + 1);
    uint64_t x = 88172645463325252ull;
    size_t k = 0;
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(d + k, "{\"n\":%zu,\"t\":\"", i);
        for (size_t j = 0, l = 1 + i * 7919 % 280; j < l; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            d[k++] = (char)('a' + x % 26);
        }
        k += (size_t)sprintf(d + k, "\"}\n");
    }
    *len = k;
    return d;
}

static void test_shrinks_while_read(void **state)
{
    (void)state;
    size_t len;
    char *d = random_lines(10000, &len); /* ~1.5 MB */
    /* Cut at a line's end, far past the first chunk: without the check the reader would end
     * there as if the file were whole. */
    size_t cut = len / 2;
    while (d[cut - 1] != '\n')
        cut++;
    read_while_changing("shrink.jsonl", d, len, cut, cut, NULL, 0);
    /* Cut inside a line: the cut line comes out as a last line without '\n', then the chunk
     * that says the file shrank. */
    read_while_changing("shrink2.jsonl", d, len, cut + 7, cut + 7, NULL, 0);
    /* Grown while read: its new lines are read, nothing is reported. */
    read_while_changing("grow.jsonl", d, len, len, len, "{\"n\":\"appended\"}\n", 0);

    /* zstd, two frames, cut after the first: the stream is complete as far as zstd can tell,
     * only the size says the second frame is gone. Each frame is far larger than the stream
     * reader's 128 KiB of compressed input, so the cut is past what the first chunk read. */
    size_t half = len / 2;
    while (d[half - 1] != '\n')
        half++;
    size_t bound = ZSTD_compressBound(len) + 16;
    char *z = malloc(2 * bound);
    assert_non_null(z);
    size_t z1 = ZSTD_compress(z, bound, d, half, 1);
    assert_false(ZSTD_isError(z1));
    size_t z2 = ZSTD_compress(z + z1, bound, d + half, len - half, 1);
    assert_false(ZSTD_isError(z2));
    assert_true(z1 > (1u << 18));
    read_while_changing("shrink.jsonl.zst", z, z1 + z2, z1, half, NULL, 1);
    free(z);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_vs_chunked),
        cmocka_unit_test(test_long_and_overlong_lines),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_shrinks_while_read),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
