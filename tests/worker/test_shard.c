/*
 * test_shard.c - shards of a job's inputs (shard.c) and the reader over them (reader.c): for N = 1
 * .. 9 shards of files of varied lines (with and without a final newline, a line longer than a
 * slice, an empty file, a compressed name), the shards' chunks put back together are every file
 * byte for byte, each line in exactly one shard; a range starts and ends on a line boundary and
 * knows the lines before it; a compressed file goes whole to one shard. And --shard's forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scratch.h"
#include "inputs.h"
#include "reader.h"
#include "shard.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = kt_scratch_dir("shard");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kt_scratch_remove(dir);
    dir = NULL;
    return 0;
}

static size_t count_nl(const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

static void test_parse(void **state)
{
    (void)state;
    wk_shard s;
    char err[256];
    unsetenv("JOB_COMPLETION_INDEX");
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("OMPI_COMM_WORLD_RANK");
    assert_int_equal(wk_shard_parse("0/1", &s, err, sizeof err), 0);
    assert_true(s.k == 0 && s.n == 1);
    assert_int_equal(wk_shard_parse("6/7", &s, err, sizeof err), 0);
    assert_true(s.k == 6 && s.n == 7);
    static const char *const bad[] = {"1/1", "7/7",  "-1/3",     "1/0",          "1", "/3", "1/",
                                      "a/3", "1/3x", "1/100001", "01234567890/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(wk_shard_parse(bad[i], &s, err, sizeof err), -1);
    assert_int_equal(wk_shard_parse("auto/4", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "JOB_COMPLETION_INDEX"));
    setenv("OMPI_COMM_WORLD_RANK", "2", 1);
    setenv("SLURM_ARRAY_TASK_ID", "1", 1);
    assert_int_equal(wk_shard_parse("auto/4", &s, err, sizeof err), 0);
    assert_int_equal(s.k, 1); /* Slurm's before mpirun's */
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    assert_int_equal(wk_shard_parse("auto/4", &s, err, sizeof err), 0);
    assert_int_equal(s.k, 3); /* Kubernetes' first */
    assert_int_equal(wk_shard_parse("auto/3", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a number below 3"));
    unsetenv("JOB_COMPLETION_INDEX");
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("OMPI_COMM_WORLD_RANK");
}

/* Files: varied lines; one long line (bigger than a slice for many N); an empty file; a file
 * without its final newline; a ".gz" name (whole to one shard; never read here: its bytes are
 * plain and its chunks are not compared). */
static void test_cover(void **state)
{
    (void)state;
    static const char *const names[] = {"a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "e.jsonl"};
    char *data[5];
    size_t len[5];
    for (int f = 0; f < 5; f++) {
        size_t cap = 70000, k = 0;
        data[f] = malloc(cap);
        assert_non_null(data[f]);
        int lines = f == 2 ? 0 : f == 1 ? 3 : 200;
        for (int i = 0; i < lines; i++) {
            size_t l = f == 1 && i == 1 ? 20000 : 1 + (size_t)(i * 7919 + f) % 120;
            for (size_t j = 0; j < l; j++)
                data[f][k++] = (char)('a' + (i + j) % 26);
            data[f][k++] = '\n';
        }
        if (f == 3)
            k--; /* no final newline */
        len[f] = k;
        kt_scratch_write(dir, names[f], data[f], k);
    }
    char *pat[] = {"a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl", "e.jsonl"};
    wk_inputs in;
    char err[256];
    assert_int_equal(wk_inputs_expand(dir, pat, 5, &in, err, sizeof err), 0);
    assert_int_equal(in.n, 5);
    for (uint32_t n = 1; n <= 9; n++) {
        char *got[5];
        size_t got_len[5] = {0};
        uint64_t total = 0;
        for (int f = 0; f < 5; f++) {
            got[f] = malloc(len[f] + 1);
            assert_non_null(got[f]);
        }
        for (uint32_t k = 0; k < n; k++) {
            wk_shard sh = {k, n};
            wk_range *r;
            uint64_t bytes;
            assert_int_equal(wk_shard_plan(&in, &sh, &r, &bytes, err, sizeof err), 0);
            total += bytes;
            for (int f = 0; f < 5; f++) {
                if (!r[f].take)
                    continue;
                uint64_t b = r[f].begin, e = r[f].end == UINT64_MAX ? len[f] : r[f].end;
                assert_true(b < e || len[f] == 0);
                assert_true(b == 0 || data[f][b - 1] == '\n');
                assert_true(e == len[f] || data[f][e - 1] == '\n');
                assert_int_equal(r[f].first_line, count_nl(data[f], b));
                /* Ranges come in order: each starts where the shards before it stopped. */
                assert_int_equal(b, got_len[f]);
            }
            wk_reader *rd;
            wk_chunk c = {0};
            assert_int_equal(wk_reader_open(&in, 4096, 1 << 20, &rd), 0);
            wk_reader_set_ranges(rd, r);
            int x;
            while ((x = wk_reader_next(rd, &c)) == 1) {
                assert_false(c.overlong || c.shrunk || c.corrupt);
                assert_int_equal(c.offset, got_len[c.file]);
                memcpy(got[c.file] + got_len[c.file], c.buf, c.len);
                got_len[c.file] += c.len;
            }
            assert_int_equal(x, 0);
            assert_int_equal(wk_reader_bytes(rd), bytes);
            wk_chunk_free(&c);
            wk_reader_close(rd);
            free(r);
        }
        assert_int_equal(total, in.total_bytes);
        for (int f = 0; f < 5; f++) {
            assert_int_equal(got_len[f], len[f]);
            assert_memory_equal(got[f], data[f], len[f]);
            free(got[f]);
        }
    }
    wk_inputs_free(&in);
    for (int f = 0; f < 5; f++)
        free(data[f]);
}

static void test_compressed_whole(void **state)
{
    (void)state;
    char line[100];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    char *big = malloc(100 * 100);
    assert_non_null(big);
    for (int i = 0; i < 100; i++)
        memcpy(big + i * 100, line, 100);
    kt_scratch_write(dir, "p1.jsonl", big, 5000);
    kt_scratch_write(dir, "z.jsonl.gz", big,
                     10000); /* its name decides; its bytes are not read here */
    kt_scratch_write(dir, "p2.jsonl", big, 5000);
    char *pat[] = {"p1.jsonl", "z.jsonl.gz", "p2.jsonl"};
    wk_inputs in;
    char err[256];
    assert_int_equal(wk_inputs_expand(dir, pat, 3, &in, err, sizeof err), 0);
    int owners = 0;
    for (uint32_t k = 0; k < 4; k++) {
        wk_shard sh = {k, 4};
        wk_range *r;
        uint64_t bytes;
        assert_int_equal(wk_shard_plan(&in, &sh, &r, &bytes, err, sizeof err), 0);
        if (r[1].take) {
            owners++;
            assert_true(r[1].begin == 0 && r[1].end == UINT64_MAX && r[1].first_line == 0);
            assert_int_equal(k, 1); /* its first byte, 5000 of 20000, is in slice 1 */
        }
        free(r);
    }
    assert_int_equal(owners, 1);
    wk_inputs_free(&in);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cover),
        cmocka_unit_test(test_compressed_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
