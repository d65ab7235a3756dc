/*
 * test_jsonwrite.c - the direct JSON writer (src/engine/jsonwrite.c) against jansson: the same
 * values written by the writer and built as a jansson tree dumped by kv_render_dump() (the path
 * the claim report and the events took before) must give the same status and the same bytes,
 * on random documents of hostile strings, integers and reals, every one- and two-byte string,
 * every three-byte string with a three-byte lead, and buffers with a ceiling.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonwrite_int.h"
#include "kivo/wire.h"
#include "render_int.h"
#include "test_rng.h"

/* Pieces random strings are made of: ASCII runs of every length around the writer's 8-byte
 * steps, each escape, valid UTF-8 of each length and its edges, and each way UTF-8 goes wrong. */
static const char *const pieces[] = {
    "a",
    "abcdefg",
    "abcdefgh",
    "abcdefghi",
    "The quick brown fox jumps over",
    " ",
    "/",
    "\"",
    "\\",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    "\x1b[0m",
    "'",
    "<\\/script>",
    "\xc3\xa9",         /* é */
    "\xe2\x82\xac",     /* € */
    "\xe2\x80\xa8",     /* U+2028 */
    "\xef\xbb\xbf",     /* BOM */
    "\xef\xbf\xbf",     /* U+FFFF */
    "\xed\x9f\xbf",     /* U+D7FF */
    "\xee\x80\x80",     /* U+E000 */
    "\xf0\x9f\x98\x80", /* 😀 */
    "\xf4\x8f\xbf\xbf", /* U+10FFFF */
    "\xc2\x80",
    "\xdf\xbf",
    "\xe0\xa0\x80",
    "\xf0\x90\x80\x80",
    "\xc0\x80", /* overlong NUL */
    "\xc1\xbf", /* overlong */
    "\xe0\x80\x80",
    "\xe0\x9f\xbf", /* overlong */
    "\xf0\x80\x80\x80",
    "\xf0\x8f\xbf\xbf", /* overlong */
    "\xed\xa0\x80",
    "\xed\xbf\xbf", /* surrogates */
    "\xf4\x90\x80\x80",
    "\xf5\x80\x80\x80",
    "\xf7\xbf\xbf\xbf", /* past U+10FFFF */
    "\x80",
    "\xbf",
    "\xfe",
    "\xff", /* stray bytes */
    "\xe2\x82",
    "\xf0\x9f\x98",
    "\xc3", /* cut */
    "\xc3\x28",
    "\xe2\x28\xa1", /* bad continuation */
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

typedef struct gen {
    uint64_t rng;
    int bad; /* a jansson constructor refused a value (the tree-building code's `bad`) */
} gen;

static uint64_t rnd(gen *g, uint64_t n)
{
    return test_xorshift(&g->rng) % n;
}

/* A random string into s (room for 512 bytes); its length. */
static size_t random_string(gen *g, char *s)
{
    size_t n = 0;
    switch (rnd(g, 4)) {
    case 0: /* random bytes */
        for (size_t k = rnd(g, 40); k > 0; k--)
            s[n++] = (char)rnd(g, 256);
        break;
    case 1: /* random printable ASCII with the occasional escape */
        for (size_t k = rnd(g, 70); k > 0; k--)
            s[n++] = (char)(rnd(g, 10) == 0 ? rnd(g, 0x20) : 0x20 + rnd(g, 0x5f));
        break;
    default: /* pieces */
        for (size_t k = rnd(g, 12); k > 0; k--) {
            const char *p = pieces[rnd(g, N_PIECES)];
            size_t len = strlen(p);
            memcpy(s + n, p, len);
            n += len;
        }
        break;
    }
    if (rnd(g, 8) == 0 && n > 0) /* a NUL inside */
        s[rnd(g, n)] = '\0';
    return n;
}

static double random_real(gen *g)
{
    static const double edges[] = {0.0,         -0.0,    1.0,    -1.0,     0.5,      0.1,
                                   0.25,        1e-5,    1e-4,   123456.5, 1234567,  999999.5,
                                   9999995,     1e21,    1e-300, DBL_MAX,  DBL_MIN,  5e-324,
                                   0.333333333, 2.0 / 3, 100,    1e6,      INFINITY, NAN};
    uint64_t bits;
    double d;
    switch (rnd(g, 4)) {
    case 0: return edges[rnd(g, sizeof edges / sizeof edges[0])];
    case 1: return (double)rnd(g, 1000001) / 1000000.0; /* like a support score */
    case 2:
        bits = test_xorshift(&g->rng);
        memcpy(&d, &bits, sizeof d);
        return d;
    default: return ((double)rnd(g, 2000001) - 1000000.0) * pow(10.0, (double)rnd(g, 60) - 30);
    }
}

static int64_t random_int(gen *g)
{
    static const int64_t edges[] = {0,
                                    1,
                                    -1,
                                    9,
                                    10,
                                    -10,
                                    99,
                                    100,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MIN + 1,
                                    4294967296LL,
                                    1000000000000000000LL};
    if (rnd(g, 3) == 0)
        return edges[rnd(g, sizeof edges / sizeof edges[0])];
    return (int64_t)(test_xorshift(&g->rng) >> rnd(g, 64));
}

/* One value, written by w and returned as a jansson value (NULL where jansson refuses it). */
static json_t *value(gen *g, kv_jw *w, int depth)
{
    static const char *const keys[] = {"a", "claim_id", "text", "start", "k4", "k5", "k6", "k7"};
    char s[600];
    size_t n;
    uint64_t kind = rnd(g, depth < 3 ? 8 : 6);
    switch (kind) {
    case 0:
        n = random_string(g, s);
        kv_jw_str(w, s, n);
        return json_stringn(s, n);
    case 1:
        n = random_string(g, s);
        s[n] = '\0';
        kv_jw_cstr(w, s);
        return json_string(s);
    case 2: {
        int64_t v = random_int(g);
        kv_jw_int(w, v);
        return json_integer((json_int_t)v);
    }
    case 3: {
        double d = random_real(g);
        kv_jw_real(w, d);
        return json_real(d);
    }
    case 4: kv_jw_null(w); return json_null();
    case 5:
        if (rnd(g, 2)) {
            kv_jw_str_or_null(w, NULL);
            return json_null();
        }
        kv_jw_cstr(w, NULL);
        return json_string(NULL);
    case 6: {
        json_t *a = json_array();
        kv_jw_open(w, '[');
        for (uint64_t k = rnd(g, 5); k > 0; k--) {
            json_t *v = value(g, w, depth + 1);
            if (!v)
                g->bad = 1;
            else
                json_array_append_new(a, v);
        }
        kv_jw_close(w, ']');
        return a;
    }
    default: {
        json_t *o = json_object();
        kv_jw_open(w, '{');
        for (size_t k = 0, m = rnd(g, 6); k < m; k++) { /* distinct keys: jansson keeps one */
            kv_jw_key(w, keys[k]);
            g->bad |= kv_render_put(o, keys[k], value(g, w, depth + 1));
        }
        kv_jw_close(w, '}');
        return o;
    }
    }
}

/* Writes one random document both ways into buffers with the same prefix and ceiling and checks
 * status and bytes. @return the status (for counting). */
static kivo_status one_document(uint64_t seed, size_t max)
{
    gen g = {seed * 0x9E3779B97F4A7C15ull + 1, 0};
    kivo_buf a, b;
    kv_jw w;
    int newline = (int)(seed & 1);
    kivo_buf_init(&a, max);
    kivo_buf_init(&b, max);
    assert_int_equal(kivo_buf_append_str(&a, "prefix\n"), KIVO_OK);
    assert_int_equal(kivo_buf_append_str(&b, "prefix\n"), KIVO_OK);

    kv_jw_begin(&w, &a);
    json_t *root;
    if (rnd(&g, 2)) {
        root = json_array();
        kv_jw_open(&w, '[');
        for (uint64_t k = rnd(&g, 6); k > 0; k--) {
            json_t *v = value(&g, &w, 1);
            if (!v)
                g.bad = 1;
            else
                json_array_append_new(root, v);
        }
        kv_jw_close(&w, ']');
    } else {
        static const char *const keys[] = {"schema_version", "review_run_id", "claims", "x"};
        root = json_object();
        kv_jw_open(&w, '{');
        for (size_t k = 0, m = rnd(&g, 5); k < m; k++) {
            kv_jw_key(&w, keys[k]);
            g.bad |= kv_render_put(root, keys[k], value(&g, &w, 1));
        }
        kv_jw_close(&w, '}');
    }
    kivo_status sw = kv_jw_end(&w, newline);
    kivo_status sj = kv_render_dump(root, g.bad, newline, &b);
    if (sw != sj || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        fail_msg("seed %llu max %zu: writer %d [%s], jansson %d [%s]", (unsigned long long)seed,
                 max, sw, a.data, sj, b.data);
    assert_int_equal(a.data[a.len], '\0');
    kivo_buf_free(&a);
    kivo_buf_free(&b);
    return sw;
}

static void test_random_documents(void **state)
{
    (void)state;
    size_t ok = 0, refused = 0;
    for (uint64_t seed = 1; seed <= 30000; seed++) {
        kivo_status st = one_document(seed, 0);
        ok += st == KIVO_OK;
        refused += st == KIVO_ENOMEM;
    }
    /* Both kinds are well represented, or the comparison proves little. */
    assert_true(ok > 5000);
    assert_true(refused > 5000);
}

static void test_ceiling(void **state)
{
    (void)state;
    size_t toobig = 0, ok = 0;
    for (uint64_t seed = 1; seed <= 10000; seed++) {
        kivo_status st = one_document(seed, 8 + (size_t)(seed % 100));
        toobig += st == KIVO_ETOOBIG;
        ok += st == KIVO_OK;
    }
    print_message("ceiling: %zu too big, %zu fit\n", toobig, ok);
    assert_true(toobig > 1000);
    assert_true(ok > 1000);
}

/* s[0..n) as one string both ways. */
static void same_string(const char *s, size_t n)
{
    kivo_buf a, b;
    kv_jw w;
    kivo_buf_init(&a, 0);
    kivo_buf_init(&b, 0);
    kv_jw_begin(&w, &a);
    kv_jw_open(&w, '[');
    kv_jw_str(&w, s, n);
    kv_jw_close(&w, ']');
    kivo_status sw = kv_jw_end(&w, 0);
    json_t *root = json_array(), *v = json_stringn(s, n);
    int bad = !v;
    if (v)
        json_array_append_new(root, v);
    kivo_status sj = kv_render_dump(root, bad, 0, &b);
    if (sw != sj || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
        char hex[64] = "";
        for (size_t i = 0; i < n && i < 16; i++)
            snprintf(hex + 3 * i, 4, "%02x ", (unsigned char)s[i]);
        fail_msg("string %s: writer %d, jansson %d", hex, sw, sj);
    }
    kivo_buf_free(&a);
    kivo_buf_free(&b);
}

static void test_short_strings_exhaustive(void **state)
{
    (void)state;
    char s[3];
    for (int x = 0; x < 256; x++) {
        s[0] = (char)x;
        same_string(s, 1);
        for (int y = 0; y < 256; y++) {
            s[1] = (char)y;
            same_string(s, 2);
        }
    }
    /* Every three-byte string with a three-byte lead (E0-EF), plus a stray byte before it. */
    for (int x = 0xE0; x <= 0xEF; x++)
        for (int y = 0; y < 256; y++)
            for (int z = 0; z < 256; z += (y >= 0x80 && y < 0xC0) ? 1 : 37) {
                s[0] = (char)x;
                s[1] = (char)y;
                s[2] = (char)z;
                same_string(s, 3);
            }
}

static void test_long_strings(void **state)
{
    (void)state;
    gen g = {77, 0};
    char s[4096];
    /* An escape or a multi-byte character at every offset of a long ASCII run. */
    for (size_t at = 0; at < 40; at++)
        for (size_t p = 0; p < N_PIECES; p++) {
            size_t len = strlen(pieces[p]), n = 0;
            memset(s, 'x', at);
            n = at;
            memcpy(s + n, pieces[p], len);
            n += len;
            memset(s + n, 'y', 17);
            n += 17;
            same_string(s, n);
        }
    for (int k = 0; k < 200; k++) {
        size_t n = 0;
        while (n < sizeof s - 600)
            n += random_string(&g, s + n);
        same_string(s, n);
    }
}

static void test_numbers(void **state)
{
    (void)state;
    gen g = {12345, 0};
    for (int k = 0; k < 200000; k++) {
        kivo_buf a, b;
        kv_jw w;
        kivo_buf_init(&a, 0);
        kivo_buf_init(&b, 0);
        kv_jw_begin(&w, &a);
        kv_jw_open(&w, '[');
        double d = random_real(&g);
        int64_t i = random_int(&g);
        kv_jw_real(&w, d);
        kv_jw_int(&w, i);
        kv_jw_close(&w, ']');
        kivo_status sw = kv_jw_end(&w, 0);
        json_t *root = json_array(), *v = json_real(d);
        int bad = !v;
        if (v)
            json_array_append_new(root, v);
        json_array_append_new(root, json_integer((json_int_t)i));
        kivo_status sj = kv_render_dump(root, bad, 0, &b);
        if (sw != sj || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
            fail_msg("%.17g %lld: writer %d [%s], jansson %d [%s]", d, (long long)i, sw,
                     a.data ? a.data : "", sj, b.data ? b.data : "");
        kivo_buf_free(&a);
        kivo_buf_free(&b);
    }
}

/* One real through the writer and through jansson: the same bytes. */
static void same_real(double d)
{
    kivo_buf a, b;
    kv_jw w;
    kivo_buf_init(&a, 0);
    kivo_buf_init(&b, 0);
    kv_jw_begin(&w, &a);
    kv_jw_open(&w, '[');
    kv_jw_real(&w, d);
    kv_jw_close(&w, ']');
    kivo_status sw = kv_jw_end(&w, 0);
    json_t *root = json_array(), *v = json_real(d);
    int bad = !v;
    if (v)
        json_array_append_new(root, v);
    kivo_status sj = kv_render_dump(root, bad, 0, &b);
    if (sw != sj || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        fail_msg("%.17g: writer %d [%s], jansson %d [%s]", d, sw, a.data ? a.data : "", sj,
                 b.data ? b.data : "");
    kivo_buf_free(&a);
    kivo_buf_free(&b);
}

/* Scores are multiples of 0.0001 in [0, 1] (match.c's round4), which the writer formats itself
 * (ten_thousandths): every one of them, negated, and the doubles either side, against jansson;
 * and the same rounding as match.c's, of values around each. */
static void test_score_reals(void **state)
{
    (void)state;
    for (int k = 0; k <= 10000; k++) {
        const double d = (double)k / 10000.0;
        same_real(d);
        same_real(-d);
        same_real(nextafter(d, 2.0));
        same_real(nextafter(d, -1.0));
        same_real(floor((d + 0.00003) * 10000.0 + 0.5) / 10000.0);
        same_real(d * 10);
    }
    same_real(-0.0);
    same_real(0.0);
    same_real(1.0 + DBL_EPSILON);
}

static void test_categories(void **state)
{
    (void)state;
    for (uint32_t cats = 0; cats < (1u << KIVO_CAT_COUNT); cats += 1 + cats / 7) {
        kivo_buf a, b;
        kv_jw w;
        kivo_buf_init(&a, 0);
        kivo_buf_init(&b, 0);
        kv_jw_begin(&w, &a);
        kv_jw_categories(&w, cats);
        assert_int_equal(kv_jw_end(&w, 0), KIVO_OK);
        json_t *arr = json_array();
        for (int c = KIVO_CAT_NONE + 1; c < KIVO_CAT_COUNT; c++)
            if ((cats >> c) & 1u)
                json_array_append_new(arr, json_string(kivo_wire_category_names[c]));
        assert_int_equal(kv_render_dump(arr, 0, 0, &b), KIVO_OK);
        assert_string_equal(a.data, b.data);
        kivo_buf_free(&a);
        kivo_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_documents),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_short_strings_exhaustive),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_score_reals),
        cmocka_unit_test(test_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
