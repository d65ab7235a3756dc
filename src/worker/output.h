/* output.h - the report store on disk: safe path names, folders, and writes that are atomic. */
#ifndef KIVO_WORKER_OUTPUT_H
#define KIVO_WORKER_OUTPUT_H

#include <stddef.h>
#include <sys/uio.h>

/* Encodes an id as one safe path component: [A-Za-z0-9_.-] stay (a leading '.' does not), every
 * other byte becomes %XX; an encoding over 200 bytes is cut and suffixed with '~' and 16 hex
 * digits of the id's SHA-256, so "../../x" and "a/b" can never leave their folder. out must hold
 * WK_COMPONENT_MAX bytes. */
#define WK_COMPONENT_MAX 256
void wk_path_component(const char *id, size_t len, char out[WK_COMPONENT_MAX]);

/* mkdir -p. Returns 0 or -1 with errno. */
int wk_mkdirs(const char *path);

/* Writes data to path through path.tmp and rename(2). Returns 0 or -1 with errno. */
int wk_write_atomic(const char *path, const void *data, size_t len);
/* The same for n pieces (the iovecs are consumed as they are written). */
int wk_write_atomicv(const char *path, struct iovec *v, int n);

/* Takes the folder's lock (flock(2) on the folder itself, which must exist), so that two
 * kivo-worker processes never write one report store or outbox at once. The lock lives as long as
 * the returned descriptor (and dies with the process, even on SIGKILL). Returns the descriptor,
 * or -1 with errno (EWOULDBLOCK: another process holds it). */
int wk_dir_lock(const char *dir);

#endif
