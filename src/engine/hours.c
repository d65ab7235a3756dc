/*
 * hours.c - opening hours of a structured record: the weekday a word names, a record's
 * "H:M-H:M" values, and a claim's days and times ("open Monday to Friday from 9 am to 5 pm",
 * "closed on Sundays") held against the record's hours (hours_int.h). Moved out of match.c and
 * index.c unchanged (issue 13).
 */
#include <string.h>

#include "hours_int.h"

#define FIELD_CONFLICT KV_CHECK_CONFLICT
#define FIELD_NULL KV_CHECK_NULL

int kv_weekday(const char *s, size_t len)
{
    static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    if (len < 3)
        return -1;
    for (int d = 0; d < 7; d++) {
        size_t n = strlen(days[d]);
        /* "Sundays" too. */
        size_t m = len == n + 1 && (s[n] | 0x20) == 's' ? n : len;
        if (m != 3 && m != n)
            continue;
        size_t i = 0;
        while (i < m && (s[i] | 0x20) == days[d][i])
            i++;
        if (i == m)
            return d;
    }
    return -1;
}

int kv_hours_parse(const char *v, size_t len, uint16_t *open, uint16_t *close)
{
    unsigned t[2] = {0, 0};
    size_t i = 0;
    for (int k = 0; k < 2; k++) {
        unsigned h = 0, m = 0, digits = 0;
        while (i < len && v[i] >= '0' && v[i] <= '9' && digits < 2)
            h = h * 10 + (unsigned)(v[i++] - '0'), digits++;
        if (!digits || h > 24)
            return 0;
        if (i < len && v[i] == ':') {
            i++;
            digits = 0;
            while (i < len && v[i] >= '0' && v[i] <= '9' && digits < 2)
                m = m * 10 + (unsigned)(v[i++] - '0'), digits++;
            if (!digits || m > 59)
                return 0;
        }
        t[k] = h * 60 + m;
        if (k == 0) {
            if (i >= len || v[i] != '-')
                return 0;
            i++;
        }
    }
    if (i != len)
        return 0;
    *open = (uint16_t)t[0];
    *close = (uint16_t)t[1];
    return 1;
}

/* Leading decimal digits of s[0..len) as a number, and how many there were. */
static unsigned leading_number(const char *s, size_t len, size_t *digits)
{
    unsigned v = 0;
    size_t i = 0;
    while (i < len && i < 4 && s[i] >= '0' && s[i] <= '9')
        v = v * 10 + (unsigned)(s[i++] - '0');
    *digits = i;
    return v;
}

/* am (1), pm (2) or neither (0) for s[0..len). */
static int meridiem(const char *s, size_t len)
{
    return kv_text_is(s, len, "am") ? 1 : kv_text_is(s, len, "pm") ? 2 : 0;
}

/* A time of day at token i ("9 pm", "9pm", "11:30 am", "17:00"): minutes after midnight, with
 * *last the last token it spans; -1 when token i starts none. A bare number is no time. */
static int time_at(const char *text, const kv_token *toks, size_t n, size_t i, size_t *last)
{
    const kv_token *t = &toks[i];
    size_t len = t->end - t->start, digits;
    unsigned h = leading_number(text + t->start, len, &digits), m = 0;
    if (!digits || digits > 2 || h > 24)
        return -1;
    int mer = digits < len ? meridiem(text + t->start + digits, len - digits) : 0;
    if (digits < len && !mer)
        return -1;
    int colon = 0;
    *last = i;
    if (!mer && i + 1 < n && text[t->end] == ':' && toks[i + 1].start == t->end + 1) {
        const kv_token *u = &toks[i + 1];
        size_t ul = u->end - u->start, ud;
        m = leading_number(text + u->start, ul, &ud);
        if (ud != 2 || m > 59)
            return -1;
        mer = ud < ul ? meridiem(text + u->start + ud, ul - ud) : 0;
        if (ud < ul && !mer)
            return -1;
        colon = 1;
        *last = i + 1;
    }
    if (!mer && *last + 1 < n) {
        const kv_token *u = &toks[*last + 1];
        if ((mer = meridiem(text + u->start, u->end - u->start)) != 0)
            (*last)++;
    }
    if (!mer && !colon)
        return -1;
    if (mer == 2 && h < 12)
        h += 12;
    if (mer == 1 && h == 12)
        h = 0;
    return (int)(h * 60 + m);
}

/* 1 when every day in `days` opens (end 0) or closes (end 1) at minutes, mod 24 h. */
static int keeps(const kv_hours *hr, unsigned days, int end, int minutes)
{
    for (int d = 0; d < 7; d++)
        if ((days >> d & 1u) &&
            (end ? hr->close[d] : hr->open[d]) % 1440 != (unsigned)minutes % 1440)
            return 0;
    return 1;
}

#define HOURS_RANGES 8 /* opening-to-closing ranges of one claim that are checked */
#define HOURS_DAYS 32  /* day words of one claim that are checked */
#define DAY_LIST_GAP 2 /* tokens between day words of one list ("Monday, Tuesday and Friday") */
#define CLOSED_NEAR 3  /* tokens between a day and "closed" (or a negation) that make it closed */

/* What a claim says about opening hours: its day words, in order, each with the number of
 * time ranges ("9 am to 5 pm", "17:00-21:00") before it, and those ranges. */
typedef struct hours_claim {
    size_t n_days, n_ranges, times;
    struct {
        size_t tok, last; /* the day word, and the last of its span */
        unsigned days;    /* the days it names: one, or a span ("Monday to Friday") */
        size_t seg;       /* times of day before it */
        int closed;       /* said to be closed ("closed on Mondays", "not open Sunday") */
    } day[HOURS_DAYS];
    struct {
        int at[2];        /* minutes after midnight */
        size_t tok[2][2]; /* first and last tokens of the opening and of the closing time */
        size_t time;      /* times of day before it */
    } range[HOURS_RANGES];
    int open_word;
} hours_claim;

/* 1 when token t is "closed" or a negation. */
static int closed_cue(const char *text, const kv_token *t)
{
    return kv_text_is(text + t->start, t->end - t->start, "closed") || (t->flags & KV_TF_NEG);
}

/* Reads the claim's day words and time ranges into *hc. A time no open day opens or closes at
 * (or any time, when the record's hours are null) is a disagreement found here: @return its
 * FIELD_* bits, with its tokens marked in mark (may be NULL). */
static int read_hours(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                      hours_claim *hc, uint8_t *mark)
{
    const kv_hours *hr = &e->hours;
    int found = 0, pending = 0;
    int prev_day = -1;
    size_t prev_day_tok = 0;
    memset(hc, 0, sizeof *hc);
    for (size_t i = 0; i < n; i++) {
        const kv_token *t = &toks[i];
        const char *w = text + t->start;
        size_t len = t->end - t->start, last;
        hc->open_word |= kv_text_is(w, len, "open") || kv_text_is(w, len, "opens");
        int tm = t->kind != KV_TOK_STOP ? time_at(text, toks, n, i, &last) : -1;
        if (tm >= 0) {
            hc->times++;
            /* Times pair up: an opening, then a closing. */
            if (hc->n_ranges < HOURS_RANGES) {
                if (!pending)
                    hc->range[hc->n_ranges].time = hc->times - 1;
                hc->range[hc->n_ranges].at[pending] = tm;
                hc->range[hc->n_ranges].tok[pending][0] = i;
                hc->range[hc->n_ranges].tok[pending][1] = last;
                if (pending)
                    hc->n_ranges++;
                pending = !pending;
            }
            int ok = hr->state != KV_HOURS_KNOWN;
            for (int d = 0; d < 7 && !ok; d++)
                if ((hr->open_days >> d & 1u) && (hr->open[d] % 1440 == (unsigned)tm % 1440 ||
                                                  hr->close[d] % 1440 == (unsigned)tm % 1440))
                    ok = 1;
            if (!ok || hr->state == KV_HOURS_NULL) {
                found |= ok ? FIELD_NULL : FIELD_CONFLICT;
                for (size_t k = i; mark && k <= last; k++)
                    mark[k] = 1;
            }
            i = last;
            continue;
        }
        int day = -1;
        unsigned days = 0;
        if (t->kind == KV_TOK_WORD && (len > 3 || (t->flags & KV_TF_CAP)))
            day = kv_weekday(w, len);
        if (kv_text_is(w, len, "weekdays"))
            days = 0x1f;
        else if (kv_text_is(w, len, "weekends"))
            days = 0x60;
        else if (kv_text_is(w, len, "daily") || kv_text_is(w, len, "everyday") ||
                 (kv_text_is(w, len, "day") && i > 0 &&
                  kv_text_is(text + toks[i - 1].start, toks[i - 1].end - toks[i - 1].start,
                             "every")))
            days = 0x7f; /* "every day" too */
        if (day >= 0) {
            days = 1u << day;
            /* "Tuesday to Friday", "Mon-Fri", "Monday through Sunday": every day between. */
            int span = 0;
            if (prev_day >= 0 && i == prev_day_tok + 1) {
                size_t gap = t->start - toks[prev_day_tok].end;
                const char *g = text + toks[prev_day_tok].end;
                span = kv_text_is(g, gap, "-") || kv_text_is(g, gap, " - ") ||
                       kv_text_is(g, gap, "\xe2\x80\x93") || kv_text_is(g, gap, " \xe2\x80\x93 ");
            } else if (prev_day >= 0 && i == prev_day_tok + 2) {
                const kv_token *u = &toks[i - 1];
                span = kv_text_is(text + u->start, u->end - u->start, "to") ||
                       kv_text_is(text + u->start, u->end - u->start, "through");
            }
            int from = prev_day;
            prev_day = day;
            prev_day_tok = i;
            if (span && hc->n_days > 0) {
                /* The span widens the day word before it. */
                for (int d = from; d != day; d = (d + 1) % 7)
                    hc->day[hc->n_days - 1].days |= 1u << d;
                hc->day[hc->n_days - 1].days |= days;
                hc->day[hc->n_days - 1].last = i;
                continue;
            }
        }
        if (!days || hc->n_days == HOURS_DAYS)
            continue;
        hc->day[hc->n_days].tok = i;
        hc->day[hc->n_days].last = i;
        hc->day[hc->n_days].days = days;
        hc->day[hc->n_days].seg = hc->times;
        hc->n_days++;
    }
    /* A day with "closed" or a negation a few tokens from it is said to be closed. */
    for (size_t d = 0; d < hc->n_days; d++) {
        size_t at = hc->day[d].tok;
        size_t lo = at > CLOSED_NEAR ? at - CLOSED_NEAR : 0;
        size_t hi = at + CLOSED_NEAR < n ? at + CLOSED_NEAR : n - 1;
        for (size_t i = lo; i <= hi && !hc->day[d].closed; i++)
            hc->day[d].closed = closed_cue(text, &toks[i]);
    }
    return found;
}

int kv_hours_per_week(const char *text, const kv_token *toks, size_t n, size_t i)
{
    if (toks[i].kind != KV_TOK_NUMBER || i + 3 >= n || toks[i].value < 1 || toks[i].value > 7 ||
        toks[i].value != (double)(int)toks[i].value)
        return 0;
    const kv_token *d = &toks[i + 1], *a = &toks[i + 2], *w = &toks[i + 3];
    if (!kv_text_is(text + d->start, d->end - d->start, "days") ||
        !(kv_text_is(text + a->start, a->end - a->start, "a") ||
          kv_text_is(text + a->start, a->end - a->start, "per")) ||
        !kv_text_is(text + w->start, w->end - w->start, "week"))
        return 0;
    return (int)toks[i].value;
}

/* The number of days of the week the record keeps open. */
static int open_day_count(const kv_hours *hr)
{
    return __builtin_popcount(hr->open_days);
}

/* "open seven days a week", "six days per week": the count of days the record keeps open. A
 * count the record does not keep is a conflict (null hours: the record does not know); the
 * count tokens are marked. */
static int check_per_week(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                          uint8_t *mark)
{
    int found = 0;
    for (size_t i = 0; i + 3 < n; i++) {
        int count = kv_hours_per_week(text, toks, n, i);
        if (!count)
            continue;
        int bit = e->hours.state == KV_HOURS_NULL      ? FIELD_NULL
                  : count != open_day_count(&e->hours) ? FIELD_CONFLICT
                                                       : 0;
        found |= bit;
        if (bit && mark)
            memset(mark + i, 1, 4);
    }
    return found;
}

int kv_hours_per_week_kept(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                           size_t i)
{
    int count = kv_hours_per_week(text, toks, n, i);
    return count && e->hours.state == KV_HOURS_KNOWN && count == open_day_count(&e->hours);
}

/* Marks the tokens of day word d of *hc (a span: "Monday to Friday"). */
static void mark_day(const hours_claim *hc, size_t d, uint8_t *mark)
{
    if (mark)
        memset(mark + hc->day[d].tok, 1, hc->day[d].last - hc->day[d].tok + 1);
}

/* The days range r of *hc is given for, and the day words that name them, hc->day[*d0..*d1):
 * the list of day words ("Monday, Tuesday and Friday", "weekdays") right before the range
 * (`before`) or right after it, less days the claim names again elsewhere ("9 am to 9 pm daily,
 * until 10 pm on Fridays"). */
static unsigned range_days(const hours_claim *hc, size_t r, int before, size_t *d0, size_t *d1)
{
    size_t seg = before ? hc->range[r].time : hc->range[r].time + 2;
    size_t lo = 0;
    while (lo < hc->n_days && hc->day[lo].seg != seg)
        lo++;
    size_t hi = lo;
    while (hi < hc->n_days && hc->day[hi].seg == seg)
        hi++;
    /* Only one list of neighbouring day words: the last one before, or the first one after. */
    if (before) {
        for (size_t d = hi - 1; d > lo; d--)
            if (hc->day[d].tok - hc->day[d - 1].last > DAY_LIST_GAP) {
                lo = d;
                break;
            }
    } else {
        for (size_t d = lo + 1; d < hi; d++)
            if (hc->day[d].tok - hc->day[d - 1].last > DAY_LIST_GAP) {
                hi = d;
                break;
            }
    }
    unsigned days = 0, elsewhere = 0;
    for (size_t d = 0; d < hc->n_days; d++) {
        if (d >= lo && d < hi && !hc->day[d].closed)
            days |= hc->day[d].days;
        else if (d < lo || d >= hi)
            elsewhere |= hc->day[d].days;
    }
    *d0 = lo;
    *d1 = hi;
    return days & ~elsewhere;
}

/* Holds the claim's times of day and days against the record's opening hours. A conflict
 * (FIELD_CONFLICT): a time no open day opens or closes at; a day named as open that has no hours,
 * or named as closed that has some; a range ("from 9 am to 5 pm") that a day it is given for
 * does not keep. Days go with the range after them ("Monday to Friday from 9 am to 5 pm, Sunday
 * 10 am to 2 pm") when the claim names days before its first range, else with the range before
 * them ("9 am to 5 pm on weekdays"). Times or open days when the record's hours are null are
 * FIELD_NULL. Marks what disagrees in mark (may be NULL). */
int kv_hours_check(const kivo_engine *e, const char *text, const kv_token *toks, size_t n,
                   uint8_t *mark)
{
    const kv_hours *hr = &e->hours;
    hours_claim hc;
    int found = read_hours(e, text, toks, n, &hc, mark) | check_per_week(e, text, toks, n, mark);
    unsigned open = 0, closed = 0;
    for (size_t d = 0; d < hc.n_days; d++) {
        if (hc.day[d].closed)
            closed |= hc.day[d].days;
        else
            open |= hc.day[d].days;
    }
    if (!(open | closed) || (!hc.times && !hc.open_word && !closed))
        return found;
    if (hr->state == KV_HOURS_NULL)
        return found | FIELD_NULL;
    if (open & ~(unsigned)hr->open_days) {
        found |= FIELD_CONFLICT;
        for (size_t d = 0; d < hc.n_days; d++)
            if (!hc.day[d].closed)
                mark_day(&hc, d, mark);
    }
    if (closed & hr->open_days) {
        found |= FIELD_CONFLICT;
        for (size_t d = 0; d < hc.n_days; d++)
            if (hc.day[d].closed && (hc.day[d].days & hr->open_days))
                mark_day(&hc, d, mark);
    }
    int before = hc.n_days > 0 && hc.day[0].seg == 0;
    for (size_t r = 0; r < hc.n_ranges; r++) {
        size_t d0, d1;
        unsigned days = range_days(&hc, r, before, &d0, &d1);
        days &= hr->open_days;
        if (!days ||
            (keeps(hr, days, 0, hc.range[r].at[0]) && keeps(hr, days, 1, hc.range[r].at[1])))
            continue;
        found |= FIELD_CONFLICT;
        for (size_t d = d0; d < d1; d++)
            mark_day(&hc, d, mark);
        /* The opening or closing time, or both, that the days do not keep. */
        for (int end = 0; end < 2; end++)
            for (size_t k = hc.range[r].tok[end][0];
                 mark && !keeps(hr, days, end, hc.range[r].at[end]) && k <= hc.range[r].tok[end][1];
                 k++)
                mark[k] = 1;
    }
    return found;
}
