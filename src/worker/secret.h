/*
 * secret.h - reading tokens (API keys, worker credentials) from files or the environment, so that
 * they need not be on the command line, where every user of the machine can read them in `ps`.
 */
#ifndef KIVO_WORKER_SECRET_H
#define KIVO_WORKER_SECRET_H

#include <stddef.h>

#define WK_SECRET_MAX 256

/* Reads the first line of path (surrounding white space dropped) into out. @return 0, or -1 with
 * a message naming the file (never its contents) in err. */
int wk_secret_read_file(const char *path, char out[WK_SECRET_MAX], char *err, size_t errlen);

/* Copies s into out, checking it is one line of printable ASCII. @return 0 or -1 with err. */
int wk_secret_copy(const char *s, const char *what, char out[WK_SECRET_MAX], char *err,
                   size_t errlen);

#endif
