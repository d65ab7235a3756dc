/*
 * quantity.c - numbers as quantities: a token's value, and what the tokens before it make of it.
 *
 * "passage 2" is a citation and "4.5 out of 5" a rating's scale, not quantities; "2 pm" is hour
 * 14, as 24-hour records write it; "1.5 million" is 1500000 and "$2bn" 2000000000; "March 5",
 * "5 March" and "2024-03-05" name one day, which another day of the same number does not match
 * ("March 6" is not held by "March 5 ... at 6 pm").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "quantity_int.h"

#define NUMBER_SEED 0x4b49564fu /* keeps number hashes apart from word hashes */
#define DATE_SEED (NUMBER_SEED + 3)
#define CITE_REACH 24 /* bytes around a number searched for a citation's brackets */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

/* What strtod() makes of t's leading digits and decimals, when that is exact without it: with at
 * most 19 digits, a mantissa m <= 2^53 and f <= 22 decimals, m and 10^f are exact doubles and one
 * division rounds m / 10^f correctly, as strtod does (Clinger's fast path). Returns 0 when t is
 * not such a number. */
static int exact_decimal(const char *t, double *value)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    int digits = 0, decimals = 0;
    size_t p = 0;
    for (; is_digit(t[p]); p++) {
        if (++digits > 19)
            return 0;
        m = m * 10 + (uint64_t)(t[p] - '0');
    }
    if (digits == 0)
        return 0;
    if (t[p] == '.' && is_digit(t[p + 1])) {
        for (p++; is_digit(t[p]); p++, decimals++) {
            if (++digits > 19)
                return 0;
            m = m * 10 + (uint64_t)(t[p] - '0');
        }
    }
    if (m > (1ULL << 53) || decimals > 22)
        return 0;
    *value = (double)m / pow10[decimals];
    return 1;
}

/* The digits, ',' and '.' that open s[0..len), as a number; *used is how many bytes. */
static int leading_value(const char *s, size_t len, double *value, size_t *used)
{
    char tmp[64];
    size_t k = 0, i = 0;
    if (len >= sizeof tmp)
        return 0;
    while (i < len && (is_digit(s[i]) || s[i] == ',' || s[i] == '.')) {
        if (s[i] != ',')
            tmp[k++] = s[i];
        i++;
    }
    tmp[k] = '\0';
    *used = i;
    if (exact_decimal(tmp, value))
        return 1;
    char *end;
    *value = strtod(tmp, &end);
    return end != tmp;
}

int kv_parse_number(const char *s, size_t len, double *value)
{
    size_t i;
    if (!leading_value(s, len, value, &i))
        return 0;
    if (i == len)
        return 1;
    /* 1st, 2nd, 3rd, 4th */
    if (len - i != 2)
        return 0;
    char a = lower(s[i]), b = lower(s[i + 1]);
    return (a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
           (a == 't' && b == 'h');
}

uint64_t kv_number_hash(double v)
{
    /* Equal values hash alike (4.50 and 4.5, 1,000 and 1000): integers by value, other numbers
     * rounded to millionths. No formatting: this runs for every number of every record. */
    int64_t key;
    uint64_t seed = NUMBER_SEED;
    /* The range first: converting a double out of int64_t's range is undefined. */
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        key = (int64_t)v;
    } else if (v > -1e12 && v < 1e12) {
        key = (int64_t)llround(v * 1e6);
        seed += 1;
    } else {
        memcpy(&key, &v, sizeof key);
        seed += 2;
    }
    uint64_t h = XXH3_64bits_withSeed(&key, sizeof key, seed);
    return h ? h : 1;
}

/* A day of a month: not the number alone, so that "March 6" is not held by a 6 elsewhere. */
static uint64_t date_hash(int month, int day)
{
    int64_t key = month * 32 + day;
    uint64_t h = XXH3_64bits_withSeed(&key, sizeof key, DATE_SEED);
    return h ? h : 1;
}

/* 1 when token t is a plain quantity: a number whose hash is its value's (not a date's). */
static int plain_number(const kv_token *t)
{
    return t->kind == KV_TOK_NUMBER && t->h == kv_number_hash(t->value);
}

static void set_value(kv_token *t, double v)
{
    t->kind = KV_TOK_NUMBER;
    t->value = v;
    t->h = kv_number_hash(v);
    t->flags &= (uint8_t)~KV_TF_CODE;
}

/* 1 when text[0..at) ends with "out of " (any case). */
static int out_of_before(const char *text, size_t at)
{
    static const char pat[] = "out of ";
    size_t n = sizeof pat - 1;
    return at >= n && kv_text_is(text + at - n, n, pat);
}

/* 1 when text[a..b) is one to three spaces, after an optional '.' when dot is set ("Mar. 5"). */
static int spaces(const char *text, size_t a, size_t b, int dot)
{
    if (dot && a < b && text[a] == '.')
        a++;
    if (b <= a || b - a > 3)
        return 0;
    for (size_t i = a; i < b; i++)
        if (text[i] != ' ')
            return 0;
    return 1;
}

const char *const kv_month_names[12] = {"january",   "february", "march",    "april",
                                        "may",       "june",     "july",     "august",
                                        "september", "october",  "november", "december"};

/* The month (1-12) token t names, in full or by its first three letters ("Sept" too), with a
 * capital; else 0. */
static int month_of(const char *text, const kv_token *t)
{
    const char *const *names = kv_month_names;
    const char *s = text + t->start;
    size_t len = t->end - t->start;
    if (t->kind == KV_TOK_NUMBER || !(s[0] >= 'A' && s[0] <= 'Z') || len < 3 || len > 9)
        return 0;
    char a = lower(s[0]), b = lower(s[1]), c = lower(s[2]);
    for (int m = 0; m < 12; m++) {
        if (names[m][0] != a || names[m][1] != b || names[m][2] != c)
            continue;
        if (len == 3 || kv_text_is(s, len, names[m]) || (m == 8 && kv_text_is(s, len, "sept")))
            return m + 1;
        return 0;
    }
    return 0;
}

/* The day of the month (1-31) token t can be ("5", "05", "5th"); else 0. */
static int day_of(const char *text, const kv_token *t)
{
    double v = t->value;
    if (t->kind != KV_TOK_NUMBER || !is_digit(text[t->start]) || t->end - t->start > 4 ||
        !(v >= 1 && v <= 31 && v == floor(v)) || !plain_number(t))
        return 0;
    return (int)v;
}

/* The month of date token t ("March 5"), or 0 when t is no date. */
static int date_month(const kv_token *t)
{
    if (t->kind != KV_TOK_NUMBER || t->value < 1 || t->value > 31 || plain_number(t))
        return 0;
    for (int m = 1; m <= 12; m++)
        if (t->h == date_hash(m, (int)t->value))
            return m;
    return 0;
}

/* 1 when text[a..b) joins two days of a list or a range: "-", "–", ", ", " to ". */
static int day_joint(const char *text, size_t a, size_t b)
{
    while (a < b && text[a] == ' ')
        a++;
    while (b > a && text[b - 1] == ' ')
        b--;
    return (b - a == 1 && (text[a] == '-' || text[a] == ',' || text[a] == '&')) ||
           (b - a == 3 && (unsigned char)text[a] == 0xE2 && (unsigned char)text[a + 1] == 0x80 &&
            (unsigned char)text[a + 2] == 0x93);
}

/* Digits only, n of them at most, in token t. */
static int digits_only(const char *text, const kv_token *t, size_t n)
{
    size_t len = t->end - t->start;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = t->start; i < t->end; i++)
        if (!is_digit(text[i]))
            return 0;
    return 1;
}

/* Money with a scale suffix ("$1.5M", "€20k", "2bn"): a number token instead of a code word. */
static void read_suffix(const char *text, kv_token *tok)
{
    const char *s = text + tok->start;
    size_t len = tok->end - tok->start, used;
    double v;
    if (tok->kind != KV_TOK_WORD || !is_digit(s[0]) || !leading_value(s, len, &v, &used) ||
        used == len)
        return;
    const char *suf = s + used;
    size_t sl = len - used;
    size_t at = tok->start;
    int money =
        (at >= 1 && text[at - 1] == '$') ||
        (at >= 2 && (unsigned char)text[at - 2] == 0xC2 &&
         (unsigned char)text[at - 1] == 0xA3) || /* £ */
        (at >= 3 && (unsigned char)text[at - 3] == 0xE2 && (unsigned char)text[at - 2] == 0x82 &&
         (unsigned char)text[at - 1] == 0xAC); /* € */
    double scale = 0;
    if (kv_text_is(suf, sl, "bn"))
        scale = 1e9;
    else if (kv_text_is(suf, sl, "mn"))
        scale = 1e6;
    else if (money && kv_text_is(suf, sl, "k"))
        scale = 1e3;
    else if (money && kv_text_is(suf, sl, "m"))
        scale = 1e6;
    else if (money && kv_text_is(suf, sl, "b"))
        scale = 1e9;
    else if (money && kv_text_is(suf, sl, "tn"))
        scale = 1e12;
    if (scale > 0)
        set_value(tok, v * scale);
}

/* "9am", "6PM": an hour written with its meridiem; "30pm" after a colon is minutes. @return the
 * meridiem found (1 am, 2 pm) or 0. */
static int read_glued_time(const char *text, kv_token *tok)
{
    const char *s = text + tok->start;
    size_t len = tok->end - tok->start;
    if (tok->kind != KV_TOK_WORD || len < 3 || len > 4 || !is_digit(s[0]))
        return 0;
    size_t d = len - 2;
    int mer = kv_text_is(s + d, 2, "am") ? 1 : kv_text_is(s + d, 2, "pm") ? 2 : 0;
    if (!mer || !is_digit(s[d - 1]))
        return 0;
    unsigned v = 0;
    for (size_t i = 0; i < d; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    set_value(tok, v == 12 && mer == 1 && !(tok->start > 0 && text[tok->start - 1] == ':') ? 0 : v);
    return mer;
}

/* 1 when token t is a scale word: hundred, thousand, million, billion, trillion. */
static int is_scale(const char *text, const kv_token *t)
{
    static const char *const words[] = {"hundred", "thousand", "million",
                                        "billion", "trillion", NULL};
    char c = lower(text[t->start]);
    if (c != 'h' && c != 't' && c != 'm' && c != 'b')
        return 0;
    for (size_t i = 0; words[i]; i++)
        if (kv_text_is(text + t->start, t->end - t->start, words[i]))
            return 1;
    return 0;
}

/* 1 when the number token t is a citation marker: inside square brackets that hold only
 * numbers ("[1]", "[2][3]", "[1, 4-6]"), after a caret ("^1") or in the brackets some assistants
 * cite with ("【2†source】"). */
static int citation(const char *text, size_t len, const kv_token *t)
{
    size_t a = t->start, b = t->end;
    if (a > 0 && text[a - 1] == '^')
        return 1;
    if (a >= 3 && (unsigned char)text[a - 3] == 0xE3 && (unsigned char)text[a - 2] == 0x80 &&
        (unsigned char)text[a - 1] == 0x90)
        return 1;
    /* A marker is short: look no further than CITE_REACH bytes, so that a long list of numbers
     * costs its length, not its length squared. */
    size_t lo = a > CITE_REACH ? a - CITE_REACH : 0,
           hi = b + CITE_REACH < len ? b + CITE_REACH : len;
    while (a > lo && (is_digit(text[a - 1]) || text[a - 1] == ',' || text[a - 1] == ' ' ||
                      text[a - 1] == '-'))
        a--;
    while (b < hi && (is_digit(text[b]) || text[b] == ',' || text[b] == ' ' || text[b] == '-'))
        b++;
    return a > 0 && text[a - 1] == '[' && b < len && text[b] == ']';
}

/* Makes token t an afternoon hour: 2 becomes 14. */
static void afternoon(kv_token *t)
{
    if (t && t->kind == KV_TOK_NUMBER && t->value >= 1 && t->value < 12 &&
        t->value == (double)(int)t->value && plain_number(t))
        set_value(t, t->value + 12);
}

void kv_quantity_read_slow(const char *text, size_t len, const uint64_t month[12], kv_tokens *out,
                           kv_token *tok)
{
    kv_token *prev = out->n > 0 ? &out->v[out->n - 1] : NULL;
    kv_token *prev2 = out->n > 1 ? &out->v[out->n - 2] : NULL;
    size_t tl = tok->end - tok->start;

    read_suffix(text, tok);
    int glued = read_glued_time(text, tok);
    /* "passage 2", "source 3", "[2]": a citation; "step 6": a label. Not quantities. */
    if (tok->kind == KV_TOK_NUMBER &&
        ((prev && (prev->flags & (KV_TF_REF | KV_TF_LABEL))) || citation(text, len, tok))) {
        tok->kind = KV_TOK_STOP;
        return;
    }
    if (!prev)
        return;
    /* "4.5 out of 5": the scale of a rating, not a quantity the sources must hold. */
    if (tok->kind == KV_TOK_NUMBER && out_of_before(text, tok->start)) {
        tok->kind = KV_TOK_STOP;
        return;
    }

    /* "2 pm", "2:30 pm", "2 p.m.", "2pm", "2:30pm": the hour is 14. */
    int colon_before = tok->start > 0 && text[tok->start - 1] == ':';
    if (glued == 2) {
        afternoon(colon_before ? prev : tok);
        return;
    }
    int pm = (tl == 2 && kv_text_is(text + tok->start, 2, "pm")) ||
             (tl == 1 && lower(text[tok->start]) == 'p' && tok->end + 1 < len &&
              text[tok->end] == '.' && lower(text[tok->end + 1]) == 'm');
    if (pm) {
        tok->kind = KV_TOK_STOP;
        int minutes = prev->start > 0 && text[prev->start - 1] == ':';
        afternoon(minutes && prev2 ? prev2 : prev);
        return;
    }

    /* "1.5 million", "two hundred thousand", "3 billion": one quantity. */
    if (tok->kind == KV_TOK_NUMBER && is_scale(text, tok)) {
        kv_token *q = prev2 && prev->kind == KV_TOK_STOP && is_scale(text, prev) ? prev2 : prev;
        if (plain_number(q) && (spaces(text, prev->end, tok->start, 0) ||
                                (tok->start == prev->end + 1 && text[prev->end] == '-'))) {
            set_value(q, q->value * tok->value);
            tok->kind = KV_TOK_STOP;
            return;
        }
    }

    /* Dates. "March 5", "Mar. 5th" */
    int m;
    const int d = day_of(text, tok);
    if (d && (m = month_of(text, prev)) && spaces(text, prev->end, tok->start, 1)) {
        tok->h = date_hash(m, d);
        return;
    }
    /* "April 18-26", "Aug 18 and 19", "March 3, 4 and 5": the month goes on. */
    if (d) {
        static const char *const joins[] = {"and",  "or",    "to",   "through",
                                            "thru", "until", "till", NULL};
        const int joined = kv_text_in(text + prev->start, prev->end - prev->start, joins);
        kv_token *before = joined ? prev2 : prev;
        if (before && (m = date_month(before)) &&
            (joined ? spaces(text, before->end, prev->start, 0) ||
                          day_joint(text, before->end, prev->start)
                    : day_joint(text, before->end, tok->start))) {
            tok->h = date_hash(m, d);
            return;
        }
    }
    /* "5 March", "the 5th of March" */
    if (tok->kind != KV_TOK_NUMBER) {
        kv_token *day = NULL;
        int dd = 0;
        if (prev->kind == KV_TOK_NUMBER && (dd = day_of(text, prev)) &&
            spaces(text, prev->end, tok->start, 0))
            day = prev;
        else if (prev2 && prev2->kind == KV_TOK_NUMBER &&
                 kv_text_is(text + prev->start, prev->end - prev->start, "of") &&
                 (dd = day_of(text, prev2)) && spaces(text, prev2->end, prev->start, 0) &&
                 spaces(text, prev->end, tok->start, 0))
            day = prev2;
        if (day && (m = month_of(text, tok)))
            day->h = date_hash(m, dd);
        return;
    }
    /* "2024-03-05": the year, the month as its name, the day of that month. */
    if (prev2 && d && digits_only(text, tok, 2) && digits_only(text, prev, 2) &&
        digits_only(text, prev2, 4) && plain_number(prev) && tok->start == prev->end + 1 &&
        text[prev->end] == '-' && prev->start == prev2->end + 1 && text[prev2->end] == '-' &&
        prev->value >= 1 && prev->value <= 12 && prev2->value >= 1000 && prev2->value < 3000 &&
        !(tok->end < len && text[tok->end] == '-')) {
        m = (int)prev->value;
        prev->kind = KV_TOK_WORD;
        prev->h = month[m - 1];
        prev->value = 0;
        tok->h = date_hash(m, d);
    }
}
