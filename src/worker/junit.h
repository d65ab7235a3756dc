/*
 * junit.h - --junit FILE: JUnit XML as GitLab, Jenkins and GitHub test reporters read it
 * (<testsuites><testsuite><testcase> with <failure>, <error> and <skipped>). One testcase per run,
 * streamed to a side file as runs come, so a million-run batch needs no memory for it; the counts
 * the <testsuite> element carries are known only at the end, when the file is put together and
 * renamed into place.
 */
#ifndef KIVO_WORKER_JUNIT_H
#define KIVO_WORKER_JUNIT_H

#include <stddef.h>
#include <stdio.h>

typedef struct wk_junit wk_junit;

/* Starts a report that wk_junit_close() writes to path. @return 0, or -1 with errno. */
int wk_junit_open(const char *path, wk_junit **out);

/* Kinds of testcase outcome. */
typedef enum wk_junit_outcome {
    WK_JUNIT_PASS = 0,
    WK_JUNIT_FAILURE, /* <failure message type>body</failure> */
    WK_JUNIT_ERROR,   /* <error message type>body</error> */
    WK_JUNIT_SKIPPED  /* <skipped message/> */
} wk_junit_outcome;

/* One testcase. classname and name are any UTF-8 text (escaped here; characters XML cannot hold
 * become U+FFFD); type, message and body may be NULL. @return 0, or -1 with errno. */
int wk_junit_case(wk_junit *j, const char *classname, const char *name, wk_junit_outcome outcome,
                  const char *type, const char *message, const char *body);

/* Writes the file (atomically: FILE.tmp, then rename) with one <testsuite> named suite, taking
 * `seconds`, and frees j. @return 0, or -1 with errno (j is freed either way). */
int wk_junit_close(wk_junit *j, const char *suite, double seconds);

/* Discards an unfinished report. NULL does nothing. */
void wk_junit_free(wk_junit *j);

/* Appends s to out as XML character data or an attribute value (quotes escaped too).
 * @return the bytes written, or -1 on a write error. */
int wk_xml_escape(FILE *out, const char *s);

#endif
