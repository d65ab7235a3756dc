/*
 * test_json.c - the simdjson shim (json.cc) and tree navigation (json_tree.c): known answers for
 * nesting, escapes, Unicode, the error statuses (UTF-8, depth, duplicate keys, trailing content),
 * JSON Pointers, and the edges simdjson cares about: empty input, one byte, lengths around its
 * 64-byte blocks, unaligned starts, and garbage in the padding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kivo/json.h"

/* A padded copy of one input. The padding holds JSON-looking garbage on purpose: the header says
 * the bytes there "may hold anything", so nothing in them may leak into a result. */
typedef struct input {
    char *mem;
    char *buf;
    size_t len, cap;
} input;

static void input_make(input *in, const char *s, size_t len, size_t shift)
{
    in->cap = len + KIVO_JSON_PADDING;
    in->mem = malloc(in->cap + shift + 1);
    assert_non_null(in->mem);
    in->buf = in->mem + shift;
    memcpy(in->buf, s, len);
    for (size_t i = 0; i < KIVO_JSON_PADDING; i++)
        in->buf[len + i] = "\"}],:1 \\"[i % 8];
    in->len = len;
}

static void input_free(input *in)
{
    free(in->mem);
    in->mem = in->buf = NULL;
}

static kivo_status parse_at(kivo_json_parser *p, input *in, const char *s, size_t len, size_t shift,
                            unsigned flags, const kivo_json_node **root)
{
    input_make(in, s, len, shift);
    return kivo_json_parse(p, in->buf, in->len, in->cap, flags, root);
}

static kivo_status parse(kivo_json_parser *p, input *in, const char *s, unsigned flags,
                         const kivo_json_node **root)
{
    return parse_at(p, in, s, strlen(s), 0, flags, root);
}

static void assert_str(const kivo_json_node *n, const char *want, size_t want_len)
{
    assert_non_null(n);
    assert_int_equal(n->type, KIVO_JSON_STRING);
    assert_int_equal(n->len, want_len);
    assert_memory_equal(n->str, want, want_len);
}

static kivo_json_parser *new_parser(size_t depth)
{
    kivo_json_parser *p = NULL;
    assert_int_equal(kivo_json_parser_create(depth, &p), KIVO_OK);
    assert_non_null(p);
    return p;
}

static void test_nested(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(
        parse(p, &in, "{\"a\":{\"b\":[1,2,{\"c\":\"d\"}],\"e\":[]},\"f\":{}}", 0, &root), KIVO_OK);
    assert_int_equal(root->type, KIVO_JSON_OBJECT);
    assert_int_equal(root->len, 2);
    const kivo_json_node *a = kivo_json_get(root, "a");
    assert_non_null(a);
    assert_int_equal(a->type, KIVO_JSON_OBJECT);
    assert_int_equal(a->key_len, 1);
    assert_memory_equal(a->key, "a", 1);
    const kivo_json_node *b = kivo_json_get(a, "b");
    assert_int_equal(b->type, KIVO_JSON_ARRAY);
    assert_int_equal(b->len, 3);
    assert_int_equal(b->child->type, KIVO_JSON_NUMBER);
    assert_int_equal(b->child->i, 1);
    assert_null(b->child->key);
    assert_int_equal(b->child->next->i, 2);
    assert_str(kivo_json_get(b->child->next->next, "c"), "d", 1);
    assert_null(b->child->next->next->next);
    const kivo_json_node *e = kivo_json_get(a, "e");
    assert_int_equal(e->type, KIVO_JSON_ARRAY);
    assert_int_equal(e->len, 0);
    assert_null(e->child);
    const kivo_json_node *f = kivo_json_get(root, "f");
    assert_int_equal(f->type, KIVO_JSON_OBJECT);
    assert_int_equal(f->len, 0);
    assert_null(f->child);
    assert_null(kivo_json_get(root, "z"));
    assert_null(kivo_json_get(b, "a")); /* not an object */
    assert_string_equal(kivo_json_parser_error(p), "");
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_scalars(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in,
                           "{\"t\":true,\"f\":false,\"n\":null,\"i\":-42,\"d\":4.50,"
                           "\"e\":1e3,\"big\":18446744073709551615 , \"z\":-0}",
                           0, &root),
                     KIVO_OK);
    const kivo_json_node *n = kivo_json_get(root, "t");
    assert_int_equal(n->type, KIVO_JSON_BOOL);
    assert_int_equal(n->boolean, 1);
    assert_int_equal(kivo_json_get(root, "f")->boolean, 0);
    assert_int_equal(kivo_json_get(root, "n")->type, KIVO_JSON_NULL);
    n = kivo_json_get(root, "i");
    assert_int_equal(n->is_int, 1);
    assert_int_equal(n->i, -42);
    assert_true(n->d == -42.0);
    n = kivo_json_get(root, "d");
    assert_int_equal(n->type, KIVO_JSON_NUMBER);
    assert_int_equal(n->is_int, 0);
    assert_true(n->d == 4.5);
    assert_int_equal(n->len, 4); /* the literal as written, "4.50" */
    assert_memory_equal(n->str, "4.50", 4);
    n = kivo_json_get(root, "e");
    assert_true(n->d == 1000.0);
    assert_int_equal(n->len, 3);
    assert_memory_equal(n->str, "1e3", 3);
    n = kivo_json_get(root, "big"); /* above INT64_MAX: not is_int, still a value */
    assert_int_equal(n->is_int, 0);
    assert_true(n->d > 1.8e19);
    assert_int_equal(n->len, 20); /* white space before ',' is not the literal */
    n = kivo_json_get(root, "z");
    assert_int_equal(n->len, 2);
    assert_memory_equal(n->str, "-0", 2);
    input_free(&in);

    /* Scalars at the root. */
    assert_int_equal(parse(p, &in, "  \"root\"\n", 0, &root), KIVO_OK);
    assert_str(root, "root", 4);
    input_free(&in);
    assert_int_equal(parse(p, &in, "7", 0, &root), KIVO_OK);
    assert_int_equal(root->type, KIVO_JSON_NUMBER);
    assert_true(root->d == 7.0);
    input_free(&in);
    assert_int_equal(parse(p, &in, "true", 0, &root), KIVO_OK);
    assert_int_equal(root->type, KIVO_JSON_BOOL);
    assert_int_equal(root->boolean, 1);
    input_free(&in);
    assert_int_equal(parse(p, &in, "null", 0, &root), KIVO_OK);
    assert_int_equal(root->type, KIVO_JSON_NULL);
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_escapes_and_unicode(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in,
                           "{\"q\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\","
                           "\"u\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\","
                           "\"raw\":\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80\","
                           "\"k\\u00e9y\":1,\"nul\":\"a\\u0000b\"}",
                           0, &root),
                     KIVO_OK);
    assert_str(kivo_json_get(root, "q"), "a\"b\\c/d\n\t\r\b\f", 12);
    assert_str(kivo_json_get(root, "u"), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);
    assert_str(kivo_json_get(root, "raw"), "Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", 13);
    /* Keys are unescaped too. */
    assert_non_null(kivo_json_get(root, "k\xc3\xa9y"));
    /* An escaped NUL stays in the string; len, not strlen, is the length. */
    assert_str(kivo_json_get(root, "nul"), "a\0b", 3);
    input_free(&in);

    /* A lone surrogate escape is not a character. */
    assert_int_not_equal(parse(p, &in, "[\"\\ud800\"]", 0, &root), KIVO_OK);
    input_free(&in);
    /* A bad escape letter and a raw control character are not JSON. */
    assert_int_equal(parse(p, &in, "[\"\\x41\"]", 0, &root), KIVO_EJSON);
    input_free(&in);
    assert_int_equal(parse(p, &in, "[\"a\x01z\"]", 0, &root), KIVO_EJSON);
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"o\":\"\xc3\x28\"}", /* lead byte, then no continuation */
                                      "{\"o\":\"\xff\"}",     /* never valid */
                                      "{\"o\":\"\xe2\x82\"}", /* truncated 3-byte sequence */
                                      "{\"o\":\"\xc0\xaf\"}", /* overlong '/' */
                                      "{\"o\":\"\xed\xa0\x80\"}", /* UTF-16 surrogate in UTF-8 */
                                      "{\"\xff\":1}",             /* in a key */
                                      NULL};
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root = (const kivo_json_node *)1;
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(parse(p, &in, bad[i], 0, &root), KIVO_EUTF8);
        assert_null(root);
        assert_non_null(strstr(kivo_json_parser_error(p), "near byte"));
        input_free(&in);
    }
    /* The parser recovers: the next good document parses and the message is cleared. */
    assert_int_equal(parse(p, &in, "{\"o\":\"ok\"}", 0, &root), KIVO_OK);
    assert_string_equal(kivo_json_parser_error(p), "");
    input_free(&in);
    kivo_json_parser_free(p);
}

/* Invalid UTF-8 at every position around simdjson's 64-byte blocks, at unaligned starts. */
static void test_invalid_utf8_every_position(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    char doc[200];
    for (size_t n = 1; n <= 140; n++) {
        for (size_t at = 0; at < n; at += (n > 70 ? 7 : 1)) {
            size_t k = 0;
            doc[k++] = '"';
            for (size_t i = 0; i < n; i++)
                doc[k++] = i == at ? (char)0xff : 'a';
            doc[k++] = '"';
            input in;
            const kivo_json_node *root;
            assert_int_equal(parse_at(p, &in, doc, k, n % 8, 0, &root), KIVO_EUTF8);
            input_free(&in);
        }
    }
    kivo_json_parser_free(p);
}

static void test_depth(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(4);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in, "[[[[1]]]]", 0, &root), KIVO_OK); /* 4 levels: allowed */
    input_free(&in);
    assert_int_equal(parse(p, &in, "[[[[[1]]]]]", 0, &root), KIVO_EDEPTH);
    assert_non_null(strstr(kivo_json_parser_error(p), "deep"));
    input_free(&in);
    assert_int_equal(parse(p, &in, "{\"a\":{\"b\":[{\"c\":{}}]}}", 0, &root), KIVO_EDEPTH);
    input_free(&in);
    assert_int_equal(parse(p, &in, "{\"a\":{\"b\":[{\"c\":1}]}}", 0, &root), KIVO_OK);
    input_free(&in);
    kivo_json_parser_free(p);

    /* Far past any sensible depth: a status, never a stack overflow. */
    p = new_parser(64);
    size_t n = 5000;
    char *deep = malloc(2 * n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_int_equal(parse_at(p, &in, deep, 2 * n, 0, 0, &root), KIVO_EDEPTH);
    input_free(&in);
    free(deep);
    kivo_json_parser_free(p);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in, "{\"a\":1,\"b\":2,\"a\":3}", KIVO_JSON_REJECT_DUPKEYS, &root),
                     KIVO_EDUPKEY);
    assert_non_null(strstr(kivo_json_parser_error(p), "\"a\""));
    input_free(&in);
    /* Without the flag the document is fine and kivo_json_get finds the first member. */
    assert_int_equal(parse(p, &in, "{\"a\":1,\"b\":2,\"a\":3}", 0, &root), KIVO_OK);
    assert_int_equal(root->len, 3);
    assert_int_equal(kivo_json_get(root, "a")->i, 1);
    input_free(&in);
    /* Nested, and spelled differently but equal once unescaped. */
    assert_int_equal(
        parse(p, &in, "[{\"x\":{\"k\":1,\"\\u006b\":2}}]", KIVO_JSON_REJECT_DUPKEYS, &root),
        KIVO_EDUPKEY);
    input_free(&in);
    /* Same key in sibling objects is not a duplicate; neither are keys that differ by a byte. */
    assert_int_equal(parse(p, &in, "[{\"k\":1},{\"k\":2},{\"k\":1,\"K\":2,\"k \":3}]",
                           KIVO_JSON_REJECT_DUPKEYS, &root),
                     KIVO_OK);
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_trailing_and_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"a\":1} x", "{\"a\":1}{}", "[1] [2]", "{\"a\":1,}",
                                      "[1,]",        "{\"a\" 1}",   "{'a':1}", "[1 2]",
                                      "{\"a\":1",    "[\"abc",      "tru",     "nul",
                                      "01",          "1.",          "-",       "{\"a\":undefined}",
                                      "\"str\" x",   "7 8",         NULL};
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    for (size_t i = 0; bad[i]; i++) {
        kivo_status st = parse(p, &in, bad[i], 0, &root);
        if (st != KIVO_EJSON)
            fail_msg("\"%s\" gave %s, expected invalid JSON", bad[i], kivo_status_str(st));
        input_free(&in);
    }
    /* White space around the one value is fine. */
    assert_int_equal(parse(p, &in, " \t\r\n{\"a\":1}\r\n \t", 0, &root), KIVO_OK);
    input_free(&in);
    kivo_json_parser_free(p);
}

/* A syntax error names the byte where the document went wrong, not "byte 0" (issue 18). */
static void test_error_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *where;
    } bad[] = {{"{\"a\":1,}", "near byte 7:"}, /* the '}' after a trailing comma */
               {"[1, 2,, 3]", "near byte 6:"},
               {"{\n  \"a\": 1,\n}\n", "near byte 12:"},
               {"{\"a\": tru}", "near byte 6:"},
               {"{\"a\" 1}", "near byte 5:"}, /* the 1 where ':' belongs */
               {"{\"a\":1} x", "near byte 8:"},
               {"{\"o\":\"\xff\"}", "near byte"},
               {NULL, NULL}};
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    for (size_t i = 0; bad[i].doc; i++) {
        kivo_status st = parse(p, &in, bad[i].doc, 0, &root);
        assert_true(st == KIVO_EJSON || st == KIVO_EUTF8);
        if (!strstr(kivo_json_parser_error(p), bad[i].where))
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i].doc, kivo_json_parser_error(p),
                     bad[i].where);
        input_free(&in);
    }
    kivo_json_parser_free(p);
}

static void test_empty_and_one_byte(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_not_equal(parse_at(p, &in, "", 0, 0, 0, &root), KIVO_OK);
    input_free(&in);
    assert_int_not_equal(parse(p, &in, "   \n", 0, &root), KIVO_OK);
    input_free(&in);
    assert_int_equal(parse(p, &in, "1", 0, &root), KIVO_OK);
    assert_true(root->d == 1.0);
    input_free(&in);
    assert_int_equal(parse(p, &in, "{", 0, &root), KIVO_EJSON);
    input_free(&in);
    assert_int_equal(parse(p, &in, "\"", 0, &root), KIVO_EJSON);
    input_free(&in);

    /* Too little padding is the caller's error, reported rather than read past. */
    char buf[8] = "[1]";
    assert_int_equal(kivo_json_parse(p, buf, 3, sizeof buf, 0, &root), KIVO_EINVAL);
    kivo_json_parser_free(p);
}

/* A truncated document whose padding starts with a value: simdjson read the value at buf[len]
 * (the end sentinel) as the next one, so `[` with `"aaa...` after it unescaped a string from the
 * padding and read on past it, and `[` with `]` after it parsed as `[]` (issue 12, found by
 * fuzzing). Each input ends exactly KIVO_JSON_PADDING bytes before a page that cannot be read. */
static void test_padding_is_never_a_value(void **state)
{
    (void)state;
    static const char *const docs[] = {"[",      "{\"a\":", "{\"a\":1,\"b\":[", "[1,",
                                       "{\"a\"", "",        "[\"x\",",          "  "};
    static const char *const pads[] = {"\"", "]", "}", "1", "1}", "]}", "\"a\"}", "true]", "n"};
    long page = sysconf(_SC_PAGESIZE);
    char *mem =
        mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    assert_int_equal(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
    kivo_json_parser *p = new_parser(64);
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        for (size_t k = 0; k < sizeof pads / sizeof pads[0]; k++) {
            size_t len = strlen(docs[d]), pl = strlen(pads[k]);
            char *buf = mem + page - KIVO_JSON_PADDING - len;
            memcpy(buf, docs[d], len);
            /* The value, then more of it up to the guard page: 'a's inside a string. */
            memset(buf + len, 'a', KIVO_JSON_PADDING);
            memcpy(buf + len, pads[k], pl);
            const kivo_json_node *root = NULL;
            kivo_status st = kivo_json_parse(p, buf, len, len + KIVO_JSON_PADDING, 0, &root);
            if (st != KIVO_EJSON)
                fail_msg("\"%s\" + padding \"%s...\": status %d, want KIVO_EJSON", docs[d], pads[k],
                         (int)st);
            assert_null(root);
        }
    }
    /* A complete document is unchanged by what follows it. */
    for (size_t k = 0; k < sizeof pads / sizeof pads[0]; k++) {
        char *buf = mem + page - KIVO_JSON_PADDING - 7;
        memcpy(buf, "[1,\"x\"]", 7);
        memset(buf + 7, 'a', KIVO_JSON_PADDING);
        memcpy(buf + 7, pads[k], strlen(pads[k]));
        const kivo_json_node *root = NULL;
        assert_int_equal(kivo_json_parse(p, buf, 7, 7 + KIVO_JSON_PADDING, 0, &root), KIVO_OK);
        assert_int_equal(root->len, 2);
        assert_str(root->child->next, "x", 1);
        assert_int_equal(root->child->len, 1);
        assert_memory_equal(root->child->str, "1", 1);
    }
    kivo_json_parser_free(p);
    munmap(mem, (size_t)page * 2);
}

/* Strings of every length around the 64-byte block, an escape at every position, at unaligned
 * starts: the unescaped bytes must be exact. */
static void test_block_edges(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    char doc[300], want[200];
    for (size_t n = 0; n <= 130; n++) {
        for (size_t at = 0; at <= n; at += (n > 70 ? 5 : 1)) {
            size_t k = 0, w = 0;
            doc[k++] = '{';
            doc[k++] = '"';
            doc[k++] = 'k';
            doc[k++] = '"';
            doc[k++] = ':';
            doc[k++] = '"';
            for (size_t i = 0; i < n; i++) {
                if (i == at) {
                    doc[k++] = '\\';
                    doc[k++] = '"';
                    want[w++] = '"';
                } else {
                    char c = (char)('a' + i % 26);
                    doc[k++] = c;
                    want[w++] = c;
                }
            }
            doc[k++] = '"';
            doc[k++] = '}';
            input in;
            const kivo_json_node *root;
            assert_int_equal(parse_at(p, &in, doc, k, (n + at) % 16, 0, &root), KIVO_OK);
            const kivo_json_node *v = kivo_json_get(root, "k");
            assert_str(v, want, w);
            assert_int_equal(v->offset, 5); /* the value's '"' */
            input_free(&in);
        }
    }
    kivo_json_parser_free(p);
}

static void test_offsets(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    const char *s = "{\"a\": \"xy\", \"b\": [10, {\"c\": null}]}";
    assert_int_equal(parse(p, &in, s, 0, &root), KIVO_OK);
    assert_int_equal(root->offset, 0);
    assert_int_equal(kivo_json_get(root, "a")->offset, (size_t)(strstr(s, "\"xy\"") - s));
    const kivo_json_node *b = kivo_json_get(root, "b");
    assert_int_equal(b->offset, (size_t)(strchr(s, '[') - s));
    assert_int_equal(b->child->offset, (size_t)(strstr(s, "10") - s));
    assert_int_equal(kivo_json_pointer(root, "/b/1/c")->offset, (size_t)(strstr(s, "null") - s));
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_pointer(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    /* The RFC 6901 section 5 document, plus an index past the end. */
    assert_int_equal(parse(p, &in,
                           "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
                           "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8,\"~1\":9,"
                           "\"arr\":[[0,1],[2,[3,4]]],\"obj\":{\"0\":\"zero\"}}",
                           0, &root),
                     KIVO_OK);
    assert_ptr_equal(kivo_json_pointer(root, ""), root);
    assert_int_equal(kivo_json_pointer(root, "/foo")->type, KIVO_JSON_ARRAY);
    assert_str(kivo_json_pointer(root, "/foo/0"), "bar", 3);
    assert_str(kivo_json_pointer(root, "/foo/1"), "baz", 3);
    assert_int_equal(kivo_json_pointer(root, "/")->i, 0);
    assert_int_equal(kivo_json_pointer(root, "/a~1b")->i, 1);
    assert_int_equal(kivo_json_pointer(root, "/c%d")->i, 2);
    assert_int_equal(kivo_json_pointer(root, "/e^f")->i, 3);
    assert_int_equal(kivo_json_pointer(root, "/g|h")->i, 4);
    assert_int_equal(kivo_json_pointer(root, "/i\\j")->i, 5);
    assert_int_equal(kivo_json_pointer(root, "/k\"l")->i, 6);
    assert_int_equal(kivo_json_pointer(root, "/ ")->i, 7);
    assert_int_equal(kivo_json_pointer(root, "/m~0n")->i, 8);
    /* "~01" decodes to "~1" (not "/"): ~1 is replaced after ~0 would be wrong. */
    assert_int_equal(kivo_json_pointer(root, "/~01")->i, 9);
    assert_int_equal(kivo_json_pointer(root, "/arr/1/1/0")->i, 3);
    assert_int_equal(kivo_json_pointer(root, "/arr/1/1/1")->i, 4);
    /* An object member named "0" is a key, not an index. */
    assert_str(kivo_json_pointer(root, "/obj/0"), "zero", 4);

    static const char *const none[] = {"/foo/2",  /* past the end */
                                       "/foo/-",  /* the "-" index names nothing to read */
                                       "/foo/01", /* leading zero */
                                       "/foo/1a",
                                       "/foo/-1",
                                       "/foo/", /* "" is not an index */
                                       "/nope",
                                       "/a/b",       /* the key is "a/b"; this walks a then b */
                                       "/m~2n",      /* invalid escape */
                                       "/m~",        /* dangling escape */
                                       "foo",        /* not starting with '/' */
                                       "/foo/0/x",   /* into a string */
                                       "/arr/0/0/0", /* into a number */
                                       "/foo/99999999999",
                                       NULL};
    for (size_t i = 0; none[i]; i++)
        if (kivo_json_pointer(root, none[i]) != NULL)
            fail_msg("pointer \"%s\" should name nothing", none[i]);
    assert_null(kivo_json_pointer(NULL, ""));
    assert_null(kivo_json_pointer(root, NULL));
    input_free(&in);
    kivo_json_parser_free(p);
}

static void test_streq_and_names(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in, "{\"s\":\"abc\",\"n\":1,\"z\":\"a\\u0000\"}", 0, &root),
                     KIVO_OK);
    assert_true(kivo_json_streq(kivo_json_get(root, "s"), "abc"));
    assert_false(kivo_json_streq(kivo_json_get(root, "s"), "ab"));
    assert_false(kivo_json_streq(kivo_json_get(root, "s"), "abcd"));
    assert_false(kivo_json_streq(kivo_json_get(root, "n"), "1"));
    assert_false(kivo_json_streq(kivo_json_get(root, "z"), "a"));
    assert_false(kivo_json_streq(NULL, "abc"));
    input_free(&in);
    assert_string_equal(kivo_json_type_name(KIVO_JSON_NULL), "null");
    assert_string_equal(kivo_json_type_name(KIVO_JSON_BOOL), "boolean");
    assert_string_equal(kivo_json_type_name(KIVO_JSON_NUMBER), "number");
    assert_string_equal(kivo_json_type_name(KIVO_JSON_STRING), "string");
    assert_string_equal(kivo_json_type_name(KIVO_JSON_ARRAY), "array");
    assert_string_equal(kivo_json_type_name(KIVO_JSON_OBJECT), "object");
    kivo_json_parser_free(p);
    kivo_json_parser_free(NULL);
}

/*
 * Regression (found by this test, fixed in 2cb3c9b): a number at the root must keep its literal
 * (json.h: "NUMBER: the literal as written") and its integer value, as numbers inside arrays and
 * objects do; kivo_json_flatten() of a root "4.50" must stay "4.50".
 */
static void test_root_number_literal(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    input in;
    const kivo_json_node *root;
    assert_int_equal(parse(p, &in, "7", 0, &root), KIVO_OK);
    assert_int_equal(root->type, KIVO_JSON_NUMBER);
    assert_int_equal(root->is_int, 1);
    assert_int_equal(root->i, 7);
    assert_non_null(root->str);
    assert_int_equal(root->len, 1);
    input_free(&in);
    assert_int_equal(parse(p, &in, " 4.50 ", 0, &root), KIVO_OK);
    assert_non_null(root->str);
    assert_int_equal(root->len, 4);
    assert_memory_equal(root->str, "4.50", 4);
    input_free(&in);
    kivo_json_parser_free(p);
}

/* One parser, many documents: each tree is right whatever came before (parser reuse). */
static void test_reuse(void **state)
{
    (void)state;
    kivo_json_parser *p = new_parser(64);
    char doc[128];
    for (int i = 0; i < 500; i++) {
        input in;
        const kivo_json_node *root;
        int n = snprintf(doc, sizeof doc, "{\"id\":\"r%d\",\"v\":[%d,%d]%s}", i, i, i * 2,
                         i % 3 == 0 ? ",\"x\":{\"y\":[true]}" : "");
        if (i % 7 == 0) {
            assert_int_equal(parse_at(p, &in, doc, (size_t)n - 1, 0, 0, &root), KIVO_EJSON);
            input_free(&in);
            continue;
        }
        assert_int_equal(parse_at(p, &in, doc, (size_t)n, (size_t)i % 5, 0, &root), KIVO_OK);
        char want[16];
        int wl = snprintf(want, sizeof want, "r%d", i);
        assert_str(kivo_json_get(root, "id"), want, (size_t)wl);
        assert_int_equal(kivo_json_pointer(root, "/v/1")->i, i * 2);
        assert_int_equal(kivo_json_get(root, "x") != NULL, i % 3 == 0);
        input_free(&in);
    }
    kivo_json_parser_free(p);
}

/* JSON white space only (RFC 8259: space, tab, LF, CR); any other byte, \v and \f too, is not. */
static void test_blank(void **state)
{
    (void)state;
    assert_true(kivo_json_blank("", 0));
    assert_true(kivo_json_blank(" \t\r\n", 4));
    assert_true(kivo_json_blank("  x", 2)); /* only the first len bytes count */
    assert_false(kivo_json_blank(" x ", 3));
    assert_false(kivo_json_blank("{}", 2));
    assert_false(kivo_json_blank("\v", 1));
    assert_false(kivo_json_blank("\f", 1));
    assert_false(kivo_json_blank("\xc2\xa0", 2)); /* U+00A0 is not JSON white space */
    assert_false(kivo_json_blank("\0", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_escapes_and_unicode),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_invalid_utf8_every_position),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_trailing_and_malformed),
        cmocka_unit_test(test_error_offsets),
        cmocka_unit_test(test_empty_and_one_byte),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_padding_is_never_a_value),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_streq_and_names),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_root_number_literal),
        cmocka_unit_test(test_blank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
