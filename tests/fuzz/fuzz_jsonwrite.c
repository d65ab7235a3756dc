/*
 * fuzz_jsonwrite.c - the direct JSON writer (src/engine/jsonwrite.c) against jansson: the claim
 * report and the events are written with it, and every string in them comes from a trace, so
 * its escaping and its UTF-8 check see input from outside.
 *
 * Input: one ceiling byte (0: none; else the buffer holds at most 4 * byte bytes), then a stream
 * of operations, one byte each, op % 8: 0 a string (a length byte, then that many bytes), 1 the
 * same as a NUL-terminated string, 2 an integer (8 bytes), 3 a real (8 bytes), 4 null, 5 open an
 * array, 6 open an object, 7 close the innermost. Values inside an object get keys k0, k1, ...
 * The root is an array; what is open at the end is closed.
 *
 * Checks: the writer and a jansson tree of the same values dumped by kv_render_dump() (the path
 * the report and events took before) give the same status and the same bytes, a refused value
 * (not UTF-8, NULL, not finite) included.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "jsonwrite_int.h"
#include "render_int.h"

#define MAX_DEPTH 32

typedef struct level {
    json_t *node;
    int object;
    unsigned count;
} level;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
    level stack[MAX_DEPTH];
    int depth = 0, bad = 0;
    size_t i = 0;
    kivo_buf a, b;
    kv_jw w;
    char s[257];

    if (size == 0)
        return 0;
    size_t max = data[i++] * (size_t)4;
    kivo_buf_init(&a, max);
    kivo_buf_init(&b, max);
    kv_jw_begin(&w, &a);
    kv_jw_open(&w, '[');
    stack[0] = (level){json_array(), 0, 0};
    while (i < size) {
        uint8_t op = data[i++] % 8;
        json_t *v = NULL;
        level *top = &stack[depth];
        if (op == 7) {
            if (depth == 0)
                continue;
            kv_jw_close(&w, top->object ? '}' : ']');
            depth--;
            continue;
        }
        if (top->object) {
            if (top->count >= sizeof keys / sizeof keys[0])
                continue; /* jansson keeps one value per key: keys stay distinct */
            kv_jw_key(&w, keys[top->count]);
        }
        if (op == 0 || op == 1) {
            size_t n = i < size ? data[i++] : 0;
            if (n > size - i)
                n = size - i;
            memcpy(s, data + i, n);
            i += n;
            s[n] = '\0';
            if (op == 0) {
                kv_jw_str(&w, s, n);
                v = json_stringn(s, n);
            } else {
                kv_jw_cstr(&w, s);
                v = json_string(s);
            }
        } else if (op == 2 || op == 3) {
            uint64_t bits = 0;
            size_t n = size - i < 8 ? size - i : 8;
            memcpy(&bits, data + i, n);
            i += n;
            if (op == 2) {
                kv_jw_int(&w, (int64_t)bits);
                v = json_integer((json_int_t)bits);
            } else {
                double d;
                memcpy(&d, &bits, sizeof d);
                kv_jw_real(&w, d);
                v = json_real(d);
            }
        } else if (op == 4) {
            kv_jw_null(&w);
            v = json_null();
        } else if (depth + 1 < MAX_DEPTH) {
            kv_jw_open(&w, op == 5 ? '[' : '{');
            v = op == 5 ? json_array() : json_object();
        } else {
            kv_jw_null(&w);
            v = json_null();
        }
        if (top->object)
            bad |= kv_render_put(top->node, keys[top->count], v);
        else if (!v || json_array_append_new(top->node, v) != 0)
            bad = 1;
        top->count++;
        if (v && (json_is_array(v) || json_is_object(v)) && depth + 1 < MAX_DEPTH &&
            (op == 5 || op == 6))
            stack[++depth] = (level){v, op == 6, 0};
    }
    while (depth > 0) {
        kv_jw_close(&w, stack[depth].object ? '}' : ']');
        depth--;
    }
    kv_jw_close(&w, ']');
    kivo_status sw = kv_jw_end(&w, 1);
    kivo_status sj = kv_render_dump(stack[0].node, bad, 1, &b);
    FUZZ_CHECK(sw == sj);
    FUZZ_CHECK(a.len == b.len);
    FUZZ_CHECK(a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
    kivo_buf_free(&a);
    kivo_buf_free(&b);
    return 0;
}
