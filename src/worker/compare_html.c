/*
 * compare_html.c - compare --html FILE: the reviewer's view (src/web/review.js, kind "compare")
 * around the compare result, with the way from FILE's folder to each store so that every listed
 * run links to its page in both batches. The page is written like the batch's pages: one escaped
 * JSON block, inlined script and style, a hash-source CSP.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "html.h"
#include "kivo/buf.h"
#include "output.h"

int wk_relpath(const char *from, const char *to, char *out, size_t outlen)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(from, a) || !realpath(to, b))
        return -1;
    /* The longest common prefix that ends at a component boundary. */
    size_t common = 0;
    for (size_t i = 0;; i++) {
        int end_a = a[i] == '\0' || a[i] == '/', end_b = b[i] == '\0' || b[i] == '/';
        if (end_a && end_b)
            common = i;
        if (a[i] != b[i] || a[i] == '\0')
            break;
    }
    size_t used = 0;
    out[0] = '\0';
    /* One ".." for each component of `from` past the common prefix. */
    for (const char *p = a + common; *p; p++) {
        if (*p == '/' && p[1] != '\0') {
            int n = snprintf(out + used, outlen - used, "%s..", used ? "/" : "");
            if (n < 0 || (size_t)n >= outlen - used)
                goto toolong;
            used += (size_t)n;
        }
    }
    const char *rest = b + common;
    while (*rest == '/')
        rest++;
    if (*rest) {
        int n = snprintf(out + used, outlen - used, "%s%s", used ? "/" : "", rest);
        if (n < 0 || (size_t)n >= outlen - used)
            goto toolong;
        used += (size_t)n;
    }
    if (!used)
        snprintf(out, outlen, ".");
    return 0;
toolong:
    errno = ENAMETOOLONG;
    return -1;
}

int wk_compare_html_write(const char *path, const json_t *result, const char *base_dir,
                          const char *cand_dir)
{
    char *copy = strdup(path), base_root[PATH_MAX], cand_root[PATH_MAX];
    json_t *data = json_deep_copy(result);
    char *text = NULL;
    kivo_buf page;
    int rc = -1;
    kivo_buf_init(&page, 0);
    if (!copy || !data) {
        errno = ENOMEM;
        goto out;
    }
    const char *dir = dirname(copy);
    if (wk_mkdirs(dir) != 0 || wk_relpath(dir, base_dir, base_root, sizeof base_root) != 0 ||
        wk_relpath(dir, cand_dir, cand_root, sizeof cand_root) != 0)
        goto out;
    if (json_object_set_new(data, "kind", json_string("compare")) != 0 ||
        json_object_set_new(data, "baseline_root", json_string(base_root)) != 0 ||
        json_object_set_new(data, "candidate_root", json_string(cand_root)) != 0 ||
        !(text = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(10)))) {
        errno = ENOMEM;
        goto out;
    }
    if (wk_html_page("compare", text, strlen(text), &page) != KIVO_OK) {
        errno = ENOMEM;
        goto out;
    }
    struct iovec v = {page.data, page.len};
    /* The page holds run ids, verdicts and counts, no text: a metadata file. */
    rc = wk_write_file(path, &v, 1, WK_MODE_META, 0);
out:
    kivo_buf_free(&page);
    free(text);
    json_decref(data);
    free(copy);
    return rc;
}
