/*
 * jsonwrite.c - the direct JSON writer's strings, numbers and end (see jsonwrite_int.h): jansson's
 * compact dump, byte for byte, without the tree.
 */
#include "jsonwrite_int.h"

#include <math.h>
#include <stdio.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "kivo/wire.h"

kivo_status kv_jw_end(kv_jw *w, int newline)
{
    if (newline)
        kv_jw_raw(w, "\n", 1);
    kivo_status st = w->bad ? KIVO_ENOMEM : w->st;
    if (st != KIVO_OK && w->out->data) {
        w->out->len = w->mark;
        w->out->data[w->mark] = '\0';
    }
    return st;
}

#ifdef __SSE2__
/* The bytes of v a string's scan must stop at - below 0x20, '"', '\\' (escaped) or 0x80 and up
 * (checked as UTF-8) - as a 16-bit mask. Signed compare: bytes of 0x80 and up are below 0x20 too.
 * (Without SSE2: special8 below, the same test 8 bytes a step; only one of them is built, since
 * clang's -Wunused-function stops the other.) */
static inline unsigned special16(__m128i v)
{
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  bslash = _mm_set1_epi8('\\');
    const __m128i hit =
        _mm_or_si128(_mm_cmplt_epi8(v, space),
                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
    return (unsigned)_mm_movemask_epi8(hit);
}
#else
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether any of 8 bytes is one a string's scan must stop at: below 0x20, '"', '\\' (escaped) or
 * 0x80 and up (checked as UTF-8). Each test is the exact "has a byte" form (Anderson's bit hacks),
 * used only as a yes/no. */
static inline int special8(const unsigned char *p)
{
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ (ONES * '"');
    b = x ^ (ONES * '\\');
    return (((x - ONES * 0x20) & ~x) | x | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS ? 1 : 0;
}
#endif

/* The offset of the first byte of s[0..n) that a string's scan must stop at (special16), or n;
 * 16 bytes a step where SSE2 is there (every x86-64), so a long run of plain text costs a few
 * instructions per 16 bytes and the scan lands on the byte itself. The last bytes are one more
 * step: the 16 that end the string (the ones before them already passed), or a string shorter
 * than 16 copied into plain filler; most strings written (names, ids, hashes) are short. */
static inline size_t plain_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    unsigned m;
    for (; i + 16 <= n; i += 16) {
        m = special16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    if (i == n)
        return n;
    if (n >= 16) {
        m = special16(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)));
        return m ? n - 16 + (size_t)__builtin_ctz(m) : n;
    }
    unsigned char t[16];
    memset(t, 'a', sizeof t);
    memcpy(t, p, n);
    m = special16(_mm_loadu_si128((const __m128i *)(const void *)t));
    return m ? (size_t)__builtin_ctz(m) : n;
#else
    while (i + 8 <= n && !special8(p + i))
        i += 8;
    while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
#endif
}

/* The length of the UTF-8 sequence at s[0..n) whose lead byte is >= 0x80, or 0 when it is not one
 * RFC 3629 allows (a stray continuation byte, C0/C1/F5.., a cut or overlong sequence, a surrogate,
 * past U+10FFFF): jansson's utf8_check_first/utf8_check_full. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000))
        return 0;
    return len;
}

/* jansson's escapes: the two-character ones, else \u00XX in capitals. */
static void escape(kv_jw *w, unsigned c)
{
    static const char hex[] = "0123456789ABCDEF";
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
    case '\\': kv_jw_raw(w, "\\\\", 2); break;
    case '"': kv_jw_raw(w, "\\\"", 2); break;
    case '\b': kv_jw_raw(w, "\\b", 2); break;
    case '\f': kv_jw_raw(w, "\\f", 2); break;
    case '\n': kv_jw_raw(w, "\\n", 2); break;
    case '\r': kv_jw_raw(w, "\\r", 2); break;
    case '\t': kv_jw_raw(w, "\\t", 2); break;
    default: kv_jw_raw(w, u, sizeof u); break;
    }
}

/* Whether `all` more bytes fit in w's buffer as it is, without growing it or passing its ceiling
 * (kivo_buf_append's inline test). */
static inline int room(const kv_jw *w, size_t all)
{
    const kivo_buf *b = w->out;
    return w->st == KIVO_OK && b->data && all < b->cap - b->len && all <= b->max - b->len;
}

void kv_jw_str(kv_jw *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = plain_run(p, n), run = 0; /* s[run..i) is checked and needs no escape */
    /* Most strings (names, ids, hashes, plain English) need no escape and no UTF-8 check: with
     * room in the buffer they are written in one copy, with the comma and quotes around them. */
    const size_t all = n + 2 + (w->comma ? 1 : 0);
    if (i == n && room(w, all)) {
        char *q = w->out->data + w->out->len;
        if (w->comma)
            *q++ = ',';
        *q++ = '"';
        memcpy(q, s, n);
        q += n;
        *q++ = '"';
        *q = '\0';
        w->out->len += all;
        w->comma = 1;
        return;
    }
    kv_jw_sep(w);
    kv_jw_raw(w, "\"", 1);
    while (i < n) { /* s[i] is a byte the scan stopped at */
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (!k) {
                w->bad = 1;
                return;
            }
            i += k;
        } else if (c < 0x20 || c == '"' || c == '\\') {
            kv_jw_raw(w, s + run, i - run);
            escape(w, c);
            run = ++i;
        } else {
            i++;
        }
        i += plain_run(p + i, n - i);
    }
    kv_jw_raw(w, s + run, n - run);
    kv_jw_raw(w, "\"", 1);
    w->comma = 1;
}

/* "00" to "99", for two digits a division. */
static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";
_Static_assert(sizeof digit_pairs == 201, "100 pairs and the NUL");

/* kv_jw_int() where the buffer must grow (or has failed): through a copy on the stack. */
static void __attribute__((noinline)) int_slow(kv_jw *w, int64_t v)
{
    char b[24];
    char *end = b + sizeof b, *q = end;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    kv_jw_sep(w);
    kv_jw_raw(w, q, (size_t)(end - q));
}

void kv_jw_int(kv_jw *w, int64_t v)
{
    /* With room, the digits go straight into the buffer, counted first (most numbers are
     * offsets of a few digits): no copy on the stack and no memcpy call (160,000 numbers on
     * 5,000 reports). */
    static const uint64_t pow10[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull,
                                     10000000000000000000ull};
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t digits = 1;
    while (digits < sizeof pow10 / sizeof pow10[0] && u >= pow10[digits])
        digits++;
    const size_t all = digits + (v < 0) + (w->comma ? 1 : 0);
    if (room(w, all)) {
        char *o = w->out->data + w->out->len;
        if (w->comma)
            *o++ = ',';
        if (v < 0)
            *o++ = '-';
        char *q = o + digits;
        *q = '\0';
        /* Two digits a division. */
        while (u >= 100) {
            const size_t two = (size_t)(u % 100) * 2;
            u /= 100;
            *--q = digit_pairs[two + 1];
            *--q = digit_pairs[two];
        }
        if (u >= 10) {
            *--q = digit_pairs[u * 2 + 1];
            *--q = digit_pairs[u * 2];
        } else {
            *--q = (char)('0' + u);
        }
        w->out->len += all;
    } else {
        int_slow(w, v);
    }
    w->comma = 1;
}

/* jansson's jsonp_dtostr with precision 6: "%.6g", ".0" when that reads as an integer, and the
 * exponent without '+' or leading zeros. */
/* v's text when v is a multiple of 0.0001 in [0, 1], as every score is (match.c's round4): "0.0",
 * "1.0" or "0." and up to four digits, without trailing zeros. That is what "%.6g" and the ".0"
 * rule below make of it: such a double lies within 2^-53 of k / 10^4, so its first six
 * significant digits are k's. Else 0, and the caller formats it. */
static size_t ten_thousandths(double v, char b[8])
{
    if (!(v >= 0 && v <= 1) || signbit(v))
        return 0;
    const double k = floor(v * 10000.0 + 0.5);
    if (k / 10000.0 != v)
        return 0;
    unsigned u = (unsigned)k;
    if (u == 0 || u == 10000) {
        memcpy(b, u ? "1.0" : "0.0", 3);
        return 3;
    }
    size_t n = 6;
    memcpy(b, "0.", 2);
    for (size_t i = 5; i >= 2; i--) {
        b[i] = (char)('0' + u % 10);
        u /= 10;
    }
    while (b[n - 1] == '0')
        n--;
    return n;
}

void kv_jw_real(kv_jw *w, double v)
{
    char b[48];
    size_t fast = ten_thousandths(v, b);
    if (fast) {
        kv_jw_sep(w);
        kv_jw_raw(w, b, fast);
        w->comma = 1;
        return;
    }
    if (!isfinite(v)) {
        w->bad = 1;
        return;
    }
    int r = snprintf(b, sizeof b - 3, "%.6g", v);
    if (r < 0 || (size_t)r >= sizeof b - 3) {
        w->bad = 1;
        return;
    }
    size_t n = (size_t)r;
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        b[n++] = '.';
        b[n++] = '0';
        b[n] = '\0';
    }
    char *start = strchr(b, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, n - (size_t)(end - b) + 1);
            n -= (size_t)(end - start);
        }
    }
    kv_jw_sep(w);
    kv_jw_raw(w, b, n);
    w->comma = 1;
}

void kv_jw_categories(kv_jw *w, uint32_t cats)
{
    kv_jw_open(w, '[');
    for (int c = KIVO_CAT_NONE + 1; c < KIVO_CAT_COUNT; c++)
        if (((cats >> c) & 1u) && kivo_wire_category_names[c])
            kv_jw_cstr(w, kivo_wire_category_names[c]);
    kv_jw_close(w, ']');
}
