/*
 * inputs.c - expanding the job's inputs (glob(3), nftw(3) and fnmatch(3)) and checking every file
 * can be read before the job starts, so that a typo fails in a second rather than after an hour.
 *
 * The order is fixed so that line numbers, duplicates and checkpoints are the same on every run:
 * patterns in the order given, and within one pattern its files sorted by path (strcmp), whatever
 * order the file system lists them in.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inputs.h"
#include "jobspec.h"

#define WALK_FDS 32 /* descriptors nftw may hold open */

static int add(wk_inputs *in, const char *path, char *err, size_t errlen)
{
    struct stat sb;
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->paths[i], path) == 0)
            return 0;
    /* O_NONBLOCK: a FIFO among the files is refused below, not waited on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
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

/* Standard input: read as it comes, so its size is not known (0). */
static int add_stdin(wk_inputs *in, char *err, size_t errlen)
{
    if (in->stdin_index != SIZE_MAX) {
        snprintf(err, errlen, "standard input (-) is named twice among the inputs");
        return -1;
    }
    char **p = realloc(in->paths, (in->n + 1) * sizeof *p);
    if (p)
        in->paths = p;
    uint64_t *s = realloc(in->sizes, (in->n + 1) * sizeof *s);
    if (s)
        in->sizes = s;
    if (!p || !s || !(in->paths[in->n] = strdup(WK_STDIN_NAME))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    in->sizes[in->n] = 0;
    in->stdin_index = in->n++;
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

/* What a folder stands for: JSON Lines files, plain or compressed. */
static int jsonl_name(const char *name)
{
    static const char *const ext[] = {".jsonl",  ".jsonl.gz",  ".jsonl.zst",
                                      ".ndjson", ".ndjson.gz", ".ndjson.zst"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(name, ext[i]))
            return 1;
    return 0;
}

/* 1 when the '/'-separated relative path matches the pattern's components p[0..np), where a
 * component "**" matches any number of path components (zero included) and any other one is
 * matched by fnmatch(3) against one component. */
static int match_path(const char *path, char *const *p, size_t np)
{
    if (np == 0)
        return *path == '\0';
    const char *slash = strchr(path, '/');
    if (strcmp(p[0], "**") == 0) {
        if (match_path(path, p + 1, np - 1))
            return 1;
        if (!*path)
            return 0;
        return slash ? match_path(slash + 1, p, np) : match_path("", p + 1, np - 1);
    }
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    char comp[NAME_MAX + 1];
    if (len == 0 || len > NAME_MAX)
        return 0;
    memcpy(comp, path, len);
    comp[len] = '\0';
    if (fnmatch(p[0], comp, FNM_PERIOD) != 0)
        return 0;
    return slash ? match_path(slash + 1, p + 1, np - 1) : np == 1;
}

/* A list of malloc'd paths. */
typedef struct list {
    char **v;
    size_t n;
} list;

static int list_add(list *l, const char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    if (!(v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* nftw(3) passes its callback no argument: the walk in progress (inputs are expanded once, on
 * one thread, before the job starts). */
static struct walk {
    list *found;
    char *const *pat; /* "**" patterns: the components below the walked folder; NULL: a folder */
    size_t npat;
    size_t base_len; /* bytes of "FOLDER/" before the path a pattern is matched against */
    char *err;
    size_t errlen;
} * walk_now;

static int on_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    struct walk *w = walk_now;
    const char *name = path + ftw->base;
    struct stat target;
    (void)sb;
    if (ftw->level > 0 && name[0] == '.')
        return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    if (type == FTW_DNR || type == FTW_NS) {
        snprintf(w->err, w->errlen, "cannot read input folder %s: %s", path,
                 strerror(errno ? errno : EACCES));
        return FTW_STOP;
    }
    /* Files, and links to files (a link to a folder is not followed: no loops). */
    if (type != FTW_F && !(type == FTW_SL && stat(path, &target) == 0 && S_ISREG(target.st_mode)))
        return FTW_CONTINUE;
    int want = w->pat
                   ? strlen(path) > w->base_len && match_path(path + w->base_len, w->pat, w->npat)
                   : jsonl_name(name);
    if (want && list_add(w->found, path) != 0) {
        snprintf(w->err, w->errlen, "out of memory");
        return FTW_STOP;
    }
    return FTW_CONTINUE;
}

/* Every wanted file below folder into found. @return 0, or -1 with err set. */
static int walk(const char *folder, char *const *pat, size_t npat, list *found, char *err,
                size_t errlen)
{
    struct walk w = {found, pat, npat, strlen(folder) + 1, err, errlen};
    if (strcmp(folder, "/") == 0)
        w.base_len = 1;
    err[0] = '\0';
    walk_now = &w;
    int r = nftw(folder, on_entry, WALK_FDS, FTW_PHYS | FTW_ACTIONRETVAL);
    walk_now = NULL;
    if (r == -1 && !err[0])
        snprintf(err, errlen, "cannot read input folder %s: %s", folder, strerror(errno));
    return r == 0 ? 0 : -1;
}

/* Adds the sorted list's files. @return 0 or -1. */
static int add_sorted(wk_inputs *in, list *l, size_t strip, char *err, size_t errlen)
{
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    for (size_t i = 0; i < l->n; i++)
        if (add(in, l->v[i] + strip, err, errlen) != 0)
            return -1;
    return 0;
}

static int add_folder(wk_inputs *in, const char *dir, char *err, size_t errlen)
{
    list found = {0};
    int rc = walk(dir, NULL, 0, &found, err, errlen);
    if (rc == 0 && found.n == 0) {
        snprintf(err, errlen, "input folder %s holds no .jsonl or .ndjson file (searched below it)",
                 dir);
        rc = -1;
    }
    if (rc == 0)
        rc = add_sorted(in, &found, 0, err, errlen);
    list_free(&found);
    return rc;
}

/* A pattern with a "**" component: the folders its components before the first "**" name (a
 * glob of their own), each walked, and every file below matched against the rest. */
static int add_globstar(wk_inputs *in, const char *pattern, const char *full, char *err,
                        size_t errlen)
{
    char *copy = strdup(full), *save = NULL;
    char **comp = NULL, *prefix = NULL;
    size_t n = 0, star = (size_t)-1;
    list found = {0};
    glob_t g;
    int rc = -1, gr = GLOB_NOMATCH;
    if (!copy || !(comp = calloc(strlen(full) / 2 + 2, sizeof *comp)) ||
        !(prefix = calloc(strlen(full) + 2, 1)))
        goto oom;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (star == (size_t)-1 && strcmp(c, "**") == 0)
            star = n;
        comp[n++] = c;
    }
    /* The folders before "**": "/" or "" (the working folder) and the components up to it. */
    strcpy(prefix, full[0] == '/' ? "/" : "");
    for (size_t i = 0; i < star; i++) {
        strcat(prefix, comp[i]);
        strcat(prefix, "/");
    }
    memset(&g, 0, sizeof g);
    int here = prefix[0] == '\0';
    gr = glob(here ? "." : prefix, GLOB_ERR | GLOB_ONLYDIR, NULL, &g);
    if (gr == GLOB_NOSPACE)
        goto oom;
    for (size_t k = 0; gr == 0 && k < g.gl_pathc; k++) {
        struct stat sb;
        char *base = g.gl_pathv[k];
        size_t len = strlen(base);
        while (len > 1 && base[len - 1] == '/')
            base[--len] = '\0';
        if (stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (walk(base, comp + star, n - star, &found, err, errlen) != 0)
            goto out;
    }
    if (found.n == 0) {
        snprintf(err, errlen, "input \"%s\" matches no file (looked for %s)", pattern, full);
        goto out;
    }
    /* Relative to the working folder: "x/y.jsonl", not "./x/y.jsonl". */
    rc = add_sorted(in, &found, here ? 2 : 0, err, errlen);
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    if (gr == 0 || gr == GLOB_NOMATCH)
        globfree(&g);
    list_free(&found);
    free(prefix);
    free(comp);
    free(copy);
    return rc;
}

static int has_globstar(const char *p)
{
    for (const char *s = strstr(p, "**"); s; s = strstr(s + 1, "**"))
        if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
            return 1;
    return 0;
}

static int add_pattern(wk_inputs *in, const char *dir, const char *pattern, char *err,
                       size_t errlen)
{
    if (strcmp(pattern, "-") == 0)
        return add_stdin(in, err, errlen);
    char *full = wk_path_join(dir, pattern);
    glob_t g;
    int rc = -1;
    if (!full) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (has_globstar(full)) {
        rc = add_globstar(in, pattern, full, err, errlen);
        free(full);
        return rc;
    }
    memset(&g, 0, sizeof g);
    int gr = glob(full, GLOB_ERR | GLOB_MARK, NULL, &g);
    if (gr == GLOB_NOMATCH) {
        snprintf(err, errlen, "input \"%s\" matches no file (looked for %s)", pattern, full);
    } else if (gr != 0) {
        snprintf(err, errlen, "cannot expand input \"%s\": %s", pattern,
                 gr == GLOB_NOSPACE ? "out of memory" : strerror(errno));
    } else {
        rc = 0;
        for (size_t k = 0; k < g.gl_pathc && rc == 0; k++) {
            const char *p = g.gl_pathv[k];
            size_t len = strlen(p);
            if (len > 1 && p[len - 1] == '/') {
                char *d = strndup(p, len - 1);
                rc = d ? add_folder(in, d, err, errlen) : -1;
                free(d);
            } else {
                rc = add(in, p, err, errlen);
            }
        }
    }
    if (gr == 0 || gr == GLOB_NOMATCH)
        globfree(&g);
    free(full);
    return rc;
}

int wk_inputs_expand(const char *dir, char *const *patterns, size_t n, wk_inputs *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->stdin_index = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (add_pattern(out, dir, patterns[i], err, errlen) != 0) {
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
    in->stdin_index = SIZE_MAX;
}
