/*
 * testhook.h - kill points for the crash tests. With KIVO_WORKER_TEST_KILL=NAME:N in the
 * environment, the N-th time the worker passes the point NAME it kills itself with SIGKILL
 * (NAME:N:TERM or NAME:N:INT: sends itself that signal instead, once), so
 * that a test can stop a batch at an exact step (while reviewing, while closing a part, while
 * writing the manifest) instead of racing a timer. Without the variable a point costs one
 * relaxed load.
 */
#ifndef KIVO_WORKER_TESTHOOK_H
#define KIVO_WORKER_TESTHOOK_H

/* Points: "review" (a record reviewed, on a reviewing thread), "store" (a report appended to its
 * part and indexed), "part_close" (a part fsynced, not yet renamed), "checkpoint" (data synced,
 * the index committed, the manifest not yet written), "manifest" (a new manifest written to its
 * temporary file, not yet renamed), "finish" (parts, index, events and summary final, the
 * manifest not yet saying complete). */
void wk_test_point(const char *name);

#endif
