/*
 * bench_read.c - how fast a JSONL corpus comes off the page cache, and through simdjson.
 *
 * The worker must pick a default way to read its input (issue 2), so both candidates are timed
 * here on the same file: a fresh mmap walked once, and pread into one reused buffer (2 MiB unless
 * told otherwise). Each is timed finding line ends only (memchr touches every byte) and again
 * with every line parsed by kivo_json_parse(), beside `openssl dgst -sha256` over the same file:
 * a worker that must SHA-256 nearly every byte cannot beat that, so it is the yardstick
 * ("x openssl" is time / openssl time).
 *
 * Every figure is the median of RUNS timed runs after one warm-up run; the first warm-up also
 * pulls the file into the page cache. ru_maxrss only grows, so the pread runs go first and peak
 * RSS is printed after them and again after the mmap runs: a mapping's touched pages count as
 * resident, a reused buffer's do not grow with the file.
 *
 * Usage: bench_read FILE [RUNS [BUFFER_KIB]]   (RUNS 5, BUFFER_KIB 2048 by default)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "kivo/json.h"

#define DEFAULT_CHUNK_KIB 2048
#define MAX_RUNS 101

typedef struct walk {
    size_t lines; /* non-empty lines seen */
    size_t bad;   /* lines kivo_json_parse() rejected */
    size_t bytes; /* line bytes seen, so the walk cannot be optimized away */
} walk;

/* Scratch one run needs: a parser (NULL to only walk), the reused read buffer, a tail copy. */
typedef struct scratch {
    kivo_json_parser *parser;
    char *buf;       /* buf_size + KIVO_JSON_PADDING bytes, grown for longer lines */
    size_t buf_size; /* usable bytes in buf, padding not counted */
    char *tail;      /* padded copy of a line too close to the end of a mapping */
    size_t tail_size;
} scratch;

typedef int (*run_fn)(const char *path, scratch *s, walk *w);

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* One line, `readable` >= len bytes readable at `line`: walked, or parsed when s->parser is set. */
static int take_line(scratch *s, const char *line, size_t len, size_t readable, walk *w)
{
    const kivo_json_node *root;

    if (len == 0)
        return 0;
    w->lines++;
    w->bytes += len;
    if (!s->parser)
        return 0;
    if (readable < len + KIVO_JSON_PADDING) {
        /* Too close to the end of the mapping for simdjson's padding: parse a copy. */
        if (s->tail_size < len + KIVO_JSON_PADDING) {
            char *t = realloc(s->tail, len + KIVO_JSON_PADDING);
            if (!t)
                return -1;
            s->tail = t;
            s->tail_size = len + KIVO_JSON_PADDING;
        }
        memcpy(s->tail, line, len);
        line = s->tail;
        readable = s->tail_size;
    }
    if (kivo_json_parse(s->parser, line, len, readable, 0, &root) != KIVO_OK)
        w->bad++;
    return 0;
}

/* Maps the file afresh, walks it line by line, unmaps it: the first touch of every page counts. */
static int run_mmap_flags(const char *path, scratch *s, walk *w, int flags)
{
    struct stat st;
    int rc = -1;
    void *map = MAP_FAILED;
    const int fd = open(path, O_RDONLY);

    if (fd < 0 || fstat(fd, &st) != 0)
        goto out;
    if (st.st_size == 0) {
        rc = 0;
        goto out;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | flags, fd, 0);
    if (map == MAP_FAILED)
        goto out;
    madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    {
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        /* Bytes past EOF up to the end of the last page read as zeros. */
        const size_t mapped = ((size_t)st.st_size + page - 1) / page * page;
        const char *base = map, *p = map, *end = base + st.st_size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            if (take_line(s, p, (size_t)(e - p), mapped - (size_t)(p - base), w) != 0)
                goto out;
            p = e + 1;
        }
    }
    rc = 0;
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int run_mmap(const char *path, scratch *s, walk *w)
{
    return run_mmap_flags(path, s, w, 0);
}

static int run_mmap_populate(const char *path, scratch *s, walk *w)
{
    return run_mmap_flags(path, s, w, MAP_POPULATE);
}

/*
 * Reads the file with pread into the reused buffer, filling it each time; the partial line at the
 * end of a read moves to the front and the next read appends to it. A line longer than the
 * buffer doubles it, so memory follows the longest line, never the file.
 */
static int run_pread(const char *path, scratch *s, walk *w)
{
    int rc = -1;
    size_t have = 0;
    off_t off = 0;
    const int fd = open(path, O_RDONLY);

    if (fd < 0)
        goto out;
    for (;;) {
        const ssize_t n = pread(fd, s->buf + have, s->buf_size - have, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        off += n;
        have += (size_t)n;
        char *p = s->buf;
        const char *end = s->buf + have;
        for (;;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                break;
            if (take_line(s, p, (size_t)(nl - p),
                          s->buf_size + KIVO_JSON_PADDING - (size_t)(p - s->buf), w) != 0)
                goto out;
            p = (char *)nl + 1;
        }
        const size_t rest = (size_t)(end - p);
        if (n == 0) {
            /* EOF: a last line without a newline is still a line. */
            if (take_line(s, p, rest, s->buf_size + KIVO_JSON_PADDING - (size_t)(p - s->buf), w) !=
                0)
                goto out;
            break;
        }
        memmove(s->buf, p, rest);
        have = rest;
        if (have == s->buf_size) {
            char *b = realloc(s->buf, 2 * s->buf_size + KIVO_JSON_PADDING);
            if (!b)
                goto out;
            s->buf = b;
            s->buf_size *= 2;
        }
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static char openssl_cmd[8192];

/* Runs `openssl dgst -sha256 FILE` to completion; its output is read and dropped. */
static int run_openssl(const char *path, scratch *s, walk *w)
{
    char line[512];
    (void)path;
    (void)s;
    FILE *f = popen(openssl_cmd, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        w->lines++;
    const int status = pclose(f);
    return status == 0 ? 0 : -1;
}

/* Warm-up, then `runs` timed runs. @return the median seconds, or -1 on failure. */
static double measure(run_fn fn, const char *path, scratch *s, int runs, walk *last)
{
    double t[MAX_RUNS];
    for (int i = -1; i < runs; i++) {
        walk w = {0, 0, 0};
        const double t0 = bench_now();
        if (fn(path, s, &w) != 0)
            return -1.0;
        if (i >= 0)
            t[i] = bench_now() - t0;
        *last = w;
    }
    qsort(t, (size_t)runs, sizeof t[0], bench_cmp_double);
    return runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2.0;
}

static void row(const char *name, double secs, double bytes, double openssl_secs, const walk *w,
                int parsed)
{
    printf("%-34s %9.1f %9.2f %9.2fx", name, bytes / secs / 1e6, secs * 1e3,
           openssl_secs > 0 ? secs / openssl_secs : 0.0);
    if (parsed)
        printf("   %zu lines, %zu rejected", w->lines, w->bad);
    printf("\n");
}

int main(int argc, char **argv)
{
    struct stat st;
    scratch s = {NULL, NULL, 0, NULL, 0};
    char name[64];
    walk w;
    kivo_json_parser *parser = NULL;
    double bytes, t, t_ssl;
    long rss_pread;
    int rc = 1;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s FILE [RUNS [BUFFER_KIB]]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    const int runs = argc >= 3 ? atoi(argv[2]) : 5;
    const long chunk_kib = argc >= 4 ? atol(argv[3]) : DEFAULT_CHUNK_KIB;
    if (runs < 1 || runs >= MAX_RUNS || chunk_kib < 4 || chunk_kib > (1L << 20)) {
        fprintf(stderr, "bench_read: RUNS must be 1..%d, BUFFER_KIB 4..%ld\n", MAX_RUNS - 1,
                1L << 20);
        return 2;
    }
    s.buf_size = (size_t)chunk_kib << 10;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_read: %s: %s\n", path, strerror(errno));
        return 2;
    }
    char quoted[sizeof openssl_cmd - 64];
    if (bench_shell_quote(path, quoted, sizeof quoted) != 0) {
        fprintf(stderr, "bench_read: path too long\n");
        return 2;
    }
    snprintf(openssl_cmd, sizeof openssl_cmd, "openssl dgst -sha256 %s", quoted);
    s.buf = malloc(s.buf_size + KIVO_JSON_PADDING);
    if (!s.buf || kivo_json_parser_create(0, &parser) != KIVO_OK) {
        fprintf(stderr, "bench_read: out of memory\n");
        goto out;
    }
    bytes = (double)st.st_size;

    printf("bench_read: %s, %.1f MiB, median of %d runs after 1 warm-up, load average %.2f\n", path,
           bytes / (1 << 20), runs, bench_load_average());
    printf("%-34s %9s %9s %10s\n", "method", "MB/s", "ms", "x openssl");

    t_ssl = measure(run_openssl, path, &s, runs, &w);
    if (t_ssl < 0) {
        fprintf(stderr, "bench_read: `%s` failed\n", openssl_cmd);
        goto out;
    }
    row("openssl dgst -sha256", t_ssl, bytes, t_ssl, &w, 0);

    s.parser = NULL;
    t = measure(run_pread, path, &s, runs, &w);
    if (t < 0)
        goto io_error;
    snprintf(name, sizeof name, "pread %ld KiB buffer, walk lines", chunk_kib);
    row(name, t, bytes, t_ssl, &w, 0);
    s.parser = parser;
    t = measure(run_pread, path, &s, runs, &w);
    if (t < 0)
        goto io_error;
    snprintf(name, sizeof name, "pread %ld KiB buffer, parse lines", chunk_kib);
    row(name, t, bytes, t_ssl, &w, 1);
    rss_pread = peak_rss_kib();

    s.parser = NULL;
    t = measure(run_mmap, path, &s, runs, &w);
    if (t < 0)
        goto io_error;
    row("mmap (fresh mapping), walk lines", t, bytes, t_ssl, &w, 0);
    t = measure(run_mmap_populate, path, &s, runs, &w);
    if (t < 0)
        goto io_error;
    row("mmap MAP_POPULATE, walk lines", t, bytes, t_ssl, &w, 0);
    s.parser = parser;
    t = measure(run_mmap, path, &s, runs, &w);
    if (t < 0)
        goto io_error;
    row("mmap (fresh mapping), parse lines", t, bytes, t_ssl, &w, 1);

    printf("peak RSS: %.1f MiB after the pread runs, %.1f MiB after the mmap runs\n",
           rss_pread / 1024.0, peak_rss_kib() / 1024.0);
    rc = 0;
    goto out;
io_error:
    fprintf(stderr, "bench_read: %s: %s\n", path, strerror(errno));
out:
    kivo_json_parser_free(parser);
    free(s.tail);
    free(s.buf);
    return rc;
}
