/*
 * junit.c - JUnit XML written in two steps: testcases stream to a scratch file while the job runs
 * (made beside FILE and unlinked at once, so nothing is left if the job dies); at the end a new
 * temporary file gets the header with the counts, the cases copied over, and the footer, and is
 * renamed to FILE. Both are made with output.c's wk_tmp_open(): never through a link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "junit.h"
#include "output.h"

struct wk_junit {
    char *path;
    int dir_fd;       /* FILE's folder */
    const char *name; /* FILE's name in it (in path) */
    FILE *cases;
    unsigned long long tests, failures, errors, skipped;
};

int wk_junit_open(const char *path, wk_junit **out)
{
    wk_junit *j = calloc(1, sizeof *j);
    char scratch[WK_TMP_MAX], cases[WK_TMP_MAX];
    int fd = -1, e;
    *out = NULL;
    if (!j || !(j->path = strdup(path))) {
        free(j);
        errno = ENOMEM;
        return -1;
    }
    j->dir_fd = wk_file_dir(j->path, &j->name);
    snprintf(cases, sizeof cases, "%s.cases", j->name);
    if (j->dir_fd < 0 || (fd = wk_tmp_open(j->dir_fd, cases, WK_MODE_META, scratch)) < 0)
        goto fail;
    unlinkat(j->dir_fd, scratch, 0);
    if (!(j->cases = fdopen(fd, "w+")))
        goto fail;
    *out = j;
    return 0;
fail:
    e = errno;
    if (fd >= 0 && !j->cases)
        close(fd);
    wk_junit_free(j);
    errno = e;
    return -1;
}

void wk_junit_free(wk_junit *j)
{
    if (!j)
        return;
    if (j->cases)
        fclose(j->cases);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    free(j->path);
    free(j);
}

/* Length of the UTF-8 sequence at s (valid input assumed: reports and ids are checked JSON), or
 * 0 when it is a character XML 1.0 cannot hold (C0 controls but tab, LF, CR; U+FFFE, U+FFFF). */
static size_t xml_char(const unsigned char *s, int *ok)
{
    unsigned char c = s[0];
    *ok = 1;
    if (c < 0x80) {
        *ok = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
        return 1;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *ok = 0; /* broken sequence: replace its first byte */
            return 1;
        }
    }
    if (n == 1 || (n == 3 && c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)))
        *ok = 0;
    return n;
}

int wk_xml_escape(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int written = 0;
    while (*p) {
        int ok;
        size_t n = xml_char(p, &ok);
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\t': rep = "&#9;"; break; /* attribute values would fold raw white space */
        case '\n': rep = "&#10;"; break;
        case '\r': rep = "&#13;"; break;
        default:
            if (!ok)
                rep = "\xEF\xBF\xBD";
        }
        if (rep) {
            if (fputs(rep, out) < 0)
                return -1;
            written += (int)strlen(rep);
        } else {
            if (fwrite(p, 1, n, out) != n)
                return -1;
            written += (int)n;
        }
        p += n;
    }
    return written;
}

int wk_junit_case(wk_junit *j, const char *classname, const char *name, wk_junit_outcome outcome,
                  const char *type, const char *message, const char *body)
{
    static const char *const tag[] = {NULL, "failure", "error", "skipped"};
    FILE *f = j->cases;
    int bad = 0;
    j->tests++;
    j->failures += outcome == WK_JUNIT_FAILURE;
    j->errors += outcome == WK_JUNIT_ERROR;
    j->skipped += outcome == WK_JUNIT_SKIPPED;
    bad |= fputs("    <testcase classname=\"", f) < 0;
    bad |= wk_xml_escape(f, classname) < 0;
    bad |= fputs("\" name=\"", f) < 0;
    bad |= wk_xml_escape(f, name) < 0;
    bad |= fputs("\" time=\"0\"", f) < 0;
    if (outcome == WK_JUNIT_PASS) {
        bad |= fputs("/>\n", f) < 0;
        return bad ? -1 : 0;
    }
    bad |= fprintf(f, ">\n      <%s", tag[outcome]) < 0;
    if (message) {
        bad |= fputs(" message=\"", f) < 0;
        bad |= wk_xml_escape(f, message) < 0;
        bad |= fputc('"', f) == EOF;
    }
    if (type && outcome != WK_JUNIT_SKIPPED) {
        bad |= fputs(" type=\"", f) < 0;
        bad |= wk_xml_escape(f, type) < 0;
        bad |= fputc('"', f) == EOF;
    }
    if (body && outcome != WK_JUNIT_SKIPPED) {
        bad |= fputc('>', f) == EOF;
        bad |= wk_xml_escape(f, body) < 0;
        bad |= fprintf(f, "</%s>\n", tag[outcome]) < 0;
    } else {
        bad |= fputs("/>\n", f) < 0;
    }
    bad |= fputs("    </testcase>\n", f) < 0;
    return bad ? -1 : 0;
}

int wk_junit_close(wk_junit *j, const char *suite, double seconds)
{
    char tmp[WK_TMP_MAX] = "", stamp[32];
    FILE *out = NULL;
    int rc = -1, e = 0, fd = -1;
    time_t now = time(NULL);
    struct tm tm;
    char buf[65536];
    size_t n;

    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
    if (fflush(j->cases) != 0 || ferror(j->cases) || fseek(j->cases, 0, SEEK_SET) != 0 ||
        (fd = wk_tmp_open(j->dir_fd, j->name, WK_MODE_META, tmp)) < 0)
        goto out;
    if (!(out = fdopen(fd, "w"))) {
        close(fd);
        goto out;
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kivo\" "
            "tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" skipped=\"%llu\" time=\"%.3f\">\n"
            "  <testsuite name=\"",
            j->tests, j->failures, j->errors, j->skipped, seconds);
    wk_xml_escape(out, suite);
    fprintf(out,
            "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" skipped=\"%llu\" "
            "time=\"%.3f\" timestamp=\"%s\">\n",
            j->tests, j->failures, j->errors, j->skipped, seconds, stamp);
    while ((n = fread(buf, 1, sizeof buf, j->cases)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            break;
    if (ferror(j->cases))
        goto out;
    fputs("  </testsuite>\n</testsuites>\n", out);
    if (ferror(out) || fflush(out) != 0 || fsync(fileno(out)) != 0)
        goto out;
    if (fclose(out) != 0) {
        out = NULL;
        goto out;
    }
    out = NULL;
    rc = wk_commit_at(j->dir_fd, tmp, j->name, 0); /* removes tmp when it fails */
    tmp[0] = '\0';
out:
    e = errno;
    if (out)
        fclose(out);
    if (rc != 0 && tmp[0])
        unlinkat(j->dir_fd, tmp, 0);
    wk_junit_free(j);
    errno = e;
    return rc;
}
