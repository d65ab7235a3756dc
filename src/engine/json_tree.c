/*
 * json_tree.c - navigating a parsed kivo_json_node tree: member lookup and RFC 6901 pointers.
 * Kept in C, apart from the simdjson shim, so the shim stays the one C++ file it has to be.
 */
#include <string.h>

#include "kivo/json.h"

const kivo_json_node *kivo_json_get(const kivo_json_node *obj, const char *key)
{
    size_t klen = strlen(key);
    if (!obj || obj->type != KIVO_JSON_OBJECT)
        return NULL;
    for (const kivo_json_node *c = obj->child; c; c = c->next)
        if (c->key_len == klen && memcmp(c->key, key, klen) == 0)
            return c;
    return NULL;
}

int kivo_json_streq(const kivo_json_node *node, const char *s)
{
    size_t n = strlen(s);
    return node && node->type == KIVO_JSON_STRING && node->len == n && memcmp(node->str, s, n) == 0;
}

/* Compares a pointer token (with ~0 and ~1 escapes) with an unescaped key. */
static int token_eq(const char *tok, size_t tlen, const char *key, size_t klen)
{
    size_t i = 0, k = 0;
    while (i < tlen) {
        char c = tok[i++];
        if (c == '~') {
            if (i >= tlen)
                return 0;
            c = tok[i] == '0' ? '~' : tok[i] == '1' ? '/' : 0;
            if (!c)
                return 0;
            i++;
        }
        if (k >= klen || key[k++] != c)
            return 0;
    }
    return k == klen;
}

/* Parses an array index token: digits only, no leading zero. Returns -1 when not an index. */
static long index_of(const char *tok, size_t tlen)
{
    long v = 0;
    if (tlen == 0 || tlen > 9 || (tlen > 1 && tok[0] == '0'))
        return -1;
    for (size_t i = 0; i < tlen; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        v = v * 10 + (tok[i] - '0');
    }
    return v;
}

const kivo_json_node *kivo_json_pointer(const kivo_json_node *root, const char *pointer)
{
    const kivo_json_node *cur = root;
    const char *p = pointer;
    if (!cur || !pointer)
        return NULL;
    if (*p == '\0')
        return cur;
    if (*p != '/')
        return NULL;
    while (cur && *p == '/') {
        const char *tok = ++p;
        while (*p && *p != '/')
            p++;
        size_t tlen = (size_t)(p - tok);
        const kivo_json_node *found = NULL;
        if (cur->type == KIVO_JSON_OBJECT) {
            for (const kivo_json_node *c = cur->child; c && !found; c = c->next)
                if (token_eq(tok, tlen, c->key, c->key_len))
                    found = c;
        } else if (cur->type == KIVO_JSON_ARRAY) {
            long idx = index_of(tok, tlen);
            const kivo_json_node *c = cur->child;
            for (long i = 0; c && i < idx; i++)
                c = c->next;
            if (idx >= 0)
                found = c;
        }
        cur = found;
    }
    return cur;
}

const char *kivo_json_type_name(kivo_json_type t)
{
    switch (t) {
    case KIVO_JSON_NULL: return "null";
    case KIVO_JSON_BOOL: return "boolean";
    case KIVO_JSON_NUMBER: return "number";
    case KIVO_JSON_STRING: return "string";
    case KIVO_JSON_ARRAY: return "array";
    case KIVO_JSON_OBJECT: return "object";
    }
    return "unknown";
}
