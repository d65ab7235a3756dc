/*
 * render.c - one pass of jansson's dump into a kivo_buf, for the wire's create body (see
 * render_int.h).
 */
#include "render_int.h"

/* json_dump_callback's sink: appends to a kivo_buf (one pass; json_dumpb would need two) and
 * keeps the first failure, so a body over the buffer's ceiling is KIVO_ETOOBIG, not ENOMEM. */
typedef struct sink {
    kivo_buf *out;
    kivo_status st;
} sink;

static int append_cb(const char *data, size_t size, void *arg)
{
    sink *k = arg;
    if (k->st == KIVO_OK)
        k->st = kivo_buf_append(k->out, data, size);
    return k->st == KIVO_OK ? 0 : -1;
}

kivo_status kv_render_dump(json_t *root, int bad, int newline, kivo_buf *out)
{
    sink k = {out, KIVO_OK};
    size_t mark = out->len;
    if (bad || !root)
        k.st = KIVO_ENOMEM;
    else if (json_dump_callback(root, append_cb, &k, JSON_COMPACT | JSON_REAL_PRECISION(6)) != 0 &&
             k.st == KIVO_OK)
        k.st = KIVO_ENOMEM;
    if (k.st == KIVO_OK && newline)
        k.st = kivo_buf_append(out, "\n", 1);
    if (k.st != KIVO_OK && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    json_decref(root);
    return k.st;
}
