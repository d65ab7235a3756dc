/*
 * scratch.h - scratch folders and files for the cmocka unit tests: one folder under /tmp per test
 * file or test, removed with everything in it at the end. Each call fails the running test (a
 * cmocka assertion) rather than returning an error.
 */
#ifndef KIVO_TESTS_SCRATCH_H
#define KIVO_TESTS_SCRATCH_H

#include <stddef.h>

/* A new empty folder /tmp/kivo-test-NAME-XXXXXX; free it with kt_scratch_remove(). */
char *kt_scratch_dir(const char *name);

/* Removes dir and everything below it (symbolic links themselves, never what they point to),
 * then frees dir. NULL is a no-op. */
void kt_scratch_remove(char *dir);

/* Writes len bytes of data to dir/name, replacing the file; returns that path, valid until the
 * next call. */
const char *kt_scratch_write(const char *dir, const char *name, const void *data, size_t len);

#endif
