/*
 * regression_driver.c - replays a fuzz target's corpus without libFuzzer.
 *
 * Linked with one harness (fuzz_<name>.c) in the normal build, so the harness compiles with every
 * build and each corpus entry, the inputs behind past crashes included, runs under ctest (and under
 * ASan/UBSan in the sanitizer build). Arguments are files or folders; a folder's files run in name
 * order, dot files and README* skipped. An input that crashes aborts the process, and the name of
 * the input is on stderr just before. Replaying nothing is a failure: a missing corpus must not
 * pass as a clean one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "regression_driver: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    /* Exactly size bytes (at least one, for malloc): a harness that reads past its input is
     * caught by ASan here as under libFuzzer. */
    if (!(data = malloc(size ? (size_t)size : 1)))
        goto out;
    if (size && fread(data, 1, (size_t)size, f) != (size_t)size)
        goto out;
    fprintf(stderr, "replay %s (%ld bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, (size_t)size);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "regression_driver: cannot read %s\n", path);
    free(data);
    fclose(f);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of a folder, in name order. @return files replayed, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long done = 0;

    if (!d) {
        fprintf(stderr, "regression_driver: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.' || strncmp(ent->d_name, "README", 6) == 0)
            continue;
        if (n == cap) {
            char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *v);
            if (!v)
                goto fail;
            names = v;
        }
        if (!(names[n] = malloc(strlen(dir) + strlen(ent->d_name) + 2)))
            goto fail;
        sprintf(names[n++], "%s/%s", dir, ent->d_name);
    }
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && done >= 0; i++) {
        struct stat sb;
        if (stat(names[i], &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        done = replay_file(names[i]) == 0 ? done + 1 : -1;
    }
    goto out;
fail:
    fprintf(stderr, "regression_driver: out of memory\n");
    done = -1;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return done;
}

int main(int argc, char **argv)
{
    long total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        long n;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "regression_driver: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        n = S_ISDIR(sb.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0)
            return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "regression_driver: no inputs to replay\n");
        return 1;
    }
    fprintf(stderr, "regression_driver: %ld inputs replayed\n", total);
    return 0;
}
