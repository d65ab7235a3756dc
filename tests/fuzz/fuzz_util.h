/*
 * fuzz_util.h - what the fuzz targets share: a check that stays on in every build, a UTF-8
 * validator for the engine's input contract, exact-size copies (so ASan sees a read one byte past
 * a text), and a private scratch folder for targets that read files.
 */
#ifndef KIVO_FUZZ_UTIL_H
#define KIVO_FUZZ_UTIL_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An invariant the code under test must keep, whatever the input: abort() (a crash to libFuzzer
 * and to the replay test) with where and what, in release builds too. */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* 1 when s[0..len) is UTF-8 as RFC 3629 has it (no overlongs, no surrogates, at most U+10FFFF):
 * what simdjson accepts, and so what the engine may be handed. */
static inline int fuzz_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* A malloc'd copy of exactly len bytes (one when len is 0, never read). */
static inline char *fuzz_copy(const void *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    FUZZ_CHECK(c != NULL);
    if (len)
        memcpy(c, p, len);
    return c;
}

/* Padding for JSON input: bytes that look like more JSON, so code that takes the padding for part
 * of its text goes wrong visibly. The first byte is the line end the worker's reader leaves there
 * (simdjson 3.0.1's On Demand reads a value from the padding of a truncated document whose next
 * byte can start one, and then reads past the padding: see FINDINGS.md, fuzz, "padding"). */
static const char fuzz_junk[] = "\n\"}],:0123456789eE+-.\\u00e9 truefalsenull[{";

static inline void fuzz_pad(char *at, size_t pad)
{
    for (size_t i = 0; i < pad; i++)
        at[i] = fuzz_junk[i % (sizeof fuzz_junk - 1)];
}

/* A copy of len bytes and `pad` bytes of padding (fuzz_pad), placed so that the first byte past
 * the padding is on a page that cannot be read: code outside ASan's view (simdjson's shared
 * library) that reads past the bytes it was promised faults at once, whatever the heap layout.
 * The copy lives in one mapping reused by every call: valid until the next call. */
static inline char *fuzz_copy_guarded(const void *p, size_t len, size_t pad)
{
    static char *map;
    static size_t map_len;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), need = len + pad;
    size_t want = ((need + page - 1) / page + 1) * page;
    char *at;

    if (want > map_len) {
        if (map)
            munmap(map, map_len);
        map = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        FUZZ_CHECK(map != MAP_FAILED);
        map_len = want;
        FUZZ_CHECK(mprotect(map + map_len - page, page, PROT_NONE) == 0);
    }
    at = map + map_len - page - need;
    if (len)
        memcpy(at, p, len);
    fuzz_pad(at + len, pad);
    return at;
}

/* The scratch folder of this process (made on first use under $TMPDIR or /tmp, removed with the
 * files it holds at exit), for targets whose code under test reads files. */
static char fuzz_scratch[4096];

static inline void fuzz_scratch_remove(void)
{
    DIR *d = opendir(fuzz_scratch);
    struct dirent *e;
    char path[4400];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", fuzz_scratch, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(fuzz_scratch);
}

static inline const char *fuzz_scratch_dir(void)
{
    if (!fuzz_scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_scratch, sizeof fuzz_scratch, "%s/kivo-fuzz-XXXXXX",
                 tmp && tmp[0] ? tmp : "/tmp");
        FUZZ_CHECK(mkdtemp(fuzz_scratch) != NULL);
        atexit(fuzz_scratch_remove);
    }
    return fuzz_scratch;
}

/* Writes data[0..len) to the scratch folder's file `name`; @return the folder. */
static inline const char *fuzz_scratch_write(const char *name, const void *data, size_t len)
{
    char path[4400];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch_dir(), name);
    FUZZ_CHECK((f = fopen(path, "wb")) != NULL);
    FUZZ_CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    FUZZ_CHECK(fclose(f) == 0);
    return fuzz_scratch;
}

#endif
