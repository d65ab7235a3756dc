/*
 * inputs.c - expanding the job spec's inputs with glob(3) and checking every file can be read
 * before the job starts, so that a typo fails in a second rather than after an hour.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inputs.h"
#include "jobspec.h"

static int add(wk_inputs *in, const char *path, char *err, size_t errlen)
{
    struct stat sb;
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->paths[i], path) == 0)
            return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "cannot read input %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "input %s is not a regular file", path);
        return -1;
    }
    char **p = realloc(in->paths, (in->n + 1) * sizeof *p);
    if (p)
        in->paths = p;
    uint64_t *s = realloc(in->sizes, (in->n + 1) * sizeof *s);
    if (s)
        in->sizes = s;
    if (!p || !s || !(in->paths[in->n] = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    in->sizes[in->n++] = (uint64_t)sb.st_size;
    in->total_bytes += (uint64_t)sb.st_size;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int add_folder(wk_inputs *in, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    if (!d) {
        snprintf(err, errlen, "cannot read input folder %s: %s", dir, strerror(errno));
        return -1;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.' ||
            !(ends_with(de->d_name, ".jsonl") || ends_with(de->d_name, ".jsonl.gz") ||
              ends_with(de->d_name, ".jsonl.zst")))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = wk_path_join(dir, de->d_name))) {
            names = nn ? nn : names;
            rc = -1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        names = nn;
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0) {
        snprintf(err, errlen, "input folder %s holds no .jsonl file", dir);
        rc = -1;
    }
    if (rc == 0)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = add(in, names[i], err, errlen);
        free(names[i]);
    }
    free(names);
    return rc;
}

int wk_inputs_expand(const char *dir, char *const *patterns, size_t n, wk_inputs *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        char *full = wk_path_join(dir, patterns[i]);
        glob_t g;
        int rc = -1;
        if (!full) {
            snprintf(err, errlen, "out of memory");
            wk_inputs_free(out);
            return -1;
        }
        memset(&g, 0, sizeof g);
        int gr = glob(full, GLOB_ERR | GLOB_MARK, NULL, &g);
        if (gr == GLOB_NOMATCH) {
            snprintf(err, errlen, "input \"%s\" matches no file (looked for %s)", patterns[i],
                     full);
        } else if (gr != 0) {
            snprintf(err, errlen, "cannot expand input \"%s\": %s", patterns[i],
                     gr == GLOB_NOSPACE ? "out of memory" : strerror(errno));
        } else {
            rc = 0;
            for (size_t k = 0; k < g.gl_pathc && rc == 0; k++) {
                const char *p = g.gl_pathv[k];
                size_t len = strlen(p);
                if (len > 1 && p[len - 1] == '/') {
                    char *d = strndup(p, len - 1);
                    rc = d ? add_folder(out, d, err, errlen) : -1;
                    free(d);
                } else {
                    rc = add(out, p, err, errlen);
                }
            }
        }
        if (gr == 0 || gr == GLOB_NOMATCH)
            globfree(&g);
        free(full);
        if (rc != 0) {
            wk_inputs_free(out);
            return -1;
        }
    }
    return 0;
}

void wk_inputs_free(wk_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->paths[i]);
    free(in->paths);
    free(in->sizes);
    memset(in, 0, sizeof *in);
}
