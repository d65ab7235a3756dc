/*
 * json.h - JSON input for libkivo: simdjson On-Demand behind a small C API.
 *
 * A parser walks one document with simdjson's On-Demand front end and leaves a read-only tree of
 * kivo_json_node in memory the parser owns. The tree, and every string in it, stays valid until
 * the next kivo_json_parse() on the same parser or kivo_json_parser_free(). One parser holds one
 * document at a time: make one per thread and reuse it, never share one between threads.
 *
 * Input must stay readable for KIVO_JSON_PADDING bytes past its end (simdjson reads whole SIMD
 * blocks); the bytes there may hold anything (when the first of them is not white space or NUL,
 * the parser works on a padded copy of the input). Strings in the tree are unescaped UTF-8 and
 * are NOT NUL-terminated: use `len`.
 */
#ifndef KIVO_JSON_H
#define KIVO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes that must be readable past the end of every input (simdjson's SIMDJSON_PADDING). */
#define KIVO_JSON_PADDING 64

typedef enum kivo_json_type {
    KIVO_JSON_NULL = 0,
    KIVO_JSON_BOOL,
    KIVO_JSON_NUMBER,
    KIVO_JSON_STRING,
    KIVO_JSON_ARRAY,
    KIVO_JSON_OBJECT
} kivo_json_type;

typedef struct kivo_json_node kivo_json_node;
struct kivo_json_node {
    kivo_json_type type;
    int is_int;      /* NUMBER: 1 when the value is an integer that fits int64_t */
    int boolean;     /* BOOL: 0 or 1 */
    int64_t i;       /* NUMBER with is_int */
    double d;        /* NUMBER: the value as a double (always set) */
    const char *str; /* STRING: unescaped bytes; NUMBER: the literal as written */
    size_t len;      /* STRING/NUMBER: bytes in str; ARRAY/OBJECT: member count */
    const char *key; /* member of an OBJECT: its unescaped key, else NULL */
    size_t key_len;
    const kivo_json_node *child; /* ARRAY/OBJECT: first member, NULL when empty */
    const kivo_json_node *next;  /* next member of the parent, NULL for the last */
    size_t offset;               /* byte offset of the value in the input */
};

typedef struct kivo_json_parser kivo_json_parser;

/* Flags for kivo_json_parse(). */
#define KIVO_JSON_REJECT_DUPKEYS 1u /* the same key twice in an object is KIVO_EDUPKEY */

/*
 * Creates a parser whose documents may nest at most `max_depth` levels (arrays and objects).
 * @return KIVO_OK and *out, or KIVO_ENOMEM. Free with kivo_json_parser_free().
 */
kivo_status kivo_json_parser_create(size_t max_depth, kivo_json_parser **out);

/* Frees the parser and every tree it handed out. NULL does nothing. */
void kivo_json_parser_free(kivo_json_parser *p);

/*
 * Parses exactly one JSON value from buf[0..len) (white space around it is allowed, anything else
 * is KIVO_EJSON). `capacity` >= len + KIVO_JSON_PADDING is the number of readable bytes at buf.
 * @return KIVO_OK and *root; or KIVO_EJSON, KIVO_EUTF8, KIVO_EDEPTH, KIVO_EDUPKEY, KIVO_ENOMEM,
 *         with a message in kivo_json_parser_error().
 */
kivo_status kivo_json_parse(kivo_json_parser *p, const char *buf, size_t len, size_t capacity,
                            unsigned flags, const kivo_json_node **root);

/* The message of the last failed parse ("invalid UTF-8 near byte 17"), or "" after success. */
const char *kivo_json_parser_error(const kivo_json_parser *p);

/* The member of OBJECT `obj` named `key` (NUL-terminated), or NULL. The first one if repeated. */
const kivo_json_node *kivo_json_get(const kivo_json_node *obj, const char *key);

/*
 * Resolves an RFC 6901 JSON Pointer ("" is the root itself; "/a/0/b~1c") from `root`.
 * @return the node, or NULL when the pointer names nothing or is malformed.
 */
const kivo_json_node *kivo_json_pointer(const kivo_json_node *root, const char *pointer);

/* 1 when `node` is a STRING equal to the NUL-terminated `s`. */
int kivo_json_streq(const kivo_json_node *node, const char *s);

/* A static name for a type ("object"), for messages. */
const char *kivo_json_type_name(kivo_json_type t);

/* 1 when s[0..len) is empty or only JSON white space (space, tab, LF, CR): a blank JSONL line,
 * which readers skip, or a blank answer, which the engine reviews as empty output. */
static inline int kivo_json_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

#ifdef __cplusplus
}
#endif
#endif
