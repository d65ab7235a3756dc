/*
 * index.c - the per-record source index: every source split into sentences, every content token
 * posted as (hash, sentence), then grouped by term through a hash table (two linear passes: count,
 * then fill), so each claim term is one probe and its sentences lie side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "grow_int.h"
#include "hours_int.h"
#include "quantity_int.h"

/* Room for n more postings. Each append is covered by the call right before it: the initials
 * of names once used the room reserved for every token of a source, and the tokens' postings
 * after them were written past the end. */
static kivo_status reserve_posts(kivo_engine *e, size_t n)
{
    /* One spare, so that e->post + e->n_post points into an array even when n is 0. */
    return kv_grow((void **)&e->post, &e->cap_post, e->n_post + n + 1, sizeof *e->post, 256);
}

static kivo_status group_by_term(kivo_engine *e);

/* The yes/no value of a flattened leaf, or 0. */
static int field_value(const char *v, size_t len)
{
    if (kv_text_is(v, len, "false") || kv_text_is(v, len, "no") || kv_text_is(v, len, "none"))
        return KV_FIELD_FALSE;
    if (kv_text_is(v, len, "null"))
        return KV_FIELD_NULL;
    if (kv_text_is(v, len, "true") || kv_text_is(v, len, "yes") || kv_text_is(v, len, "free"))
        return KV_FIELD_TRUE;
    return 0;
}

/* Sets f->joined to the hash of w[0..n), a field's key words written as one word in lower case
 * ("TakeOut" is also "takeout", "WiFi" "wifi"), when that is one word. */
static kivo_status joined_key(kivo_engine *e, const char *w, size_t n, kv_field *f)
{
    e->key_toks.n = 0;
    kivo_status st = kv_tokenize(e->lx, w, n, &e->key_toks);
    if (st == KIVO_OK && e->key_toks.n == 1 && e->key_toks.v[0].kind != KV_TOK_NUMBER)
        f->joined = e->key_toks.v[0].h;
    return st;
}

/* Records the yes/no leaves of one structured source: each line "a.b.c: value" whose value is
 * true/false/null (or yes/no/none/free) becomes a field with the stems of "c" (its key) and of
 * "b" (its parent, unless "b" is the path's first part), function words included, so that
 * "TakeOut" needs "take out". toks are the source's tokens. */
static kivo_status collect_fields(kivo_engine *e, const char *text, size_t len,
                                  const kv_tokens *toks)
{
    kivo_status st;
    size_t i = 0, t = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *colon = memchr(text + i, ':', end - i);
        size_t c = colon ? (size_t)(colon - text) : end;
        int value = c + 2 <= end && text[c + 1] == ' ' ? field_value(text + c + 2, end - c - 2) : 0;
        while (t < toks->n && toks->v[t].start < i)
            t++;
        int hours_leaf = 0; /* "hours: null": the hours rule's, not a yes/no field */
        if (c < end && c + 2 <= end) {
            /* "hours.Monday: 17:0-21:0", and "hours: null" when the record does not know. */
            size_t ks = c;
            while (ks > i && text[ks - 1] != '.')
                ks--;
            int day = kv_weekday(text + ks, c - ks);
            if (day >= 0 && ks >= i + 6 && kv_text_is(text + ks - 6, 5, "hours") &&
                kv_hours_parse(text + c + 2, end - c - 2, &e->hours.open[day],
                               &e->hours.close[day])) {
                e->hours.state = KV_HOURS_KNOWN;
                /* "0:0-0:0" is how such records write a day they are closed. */
                if (e->hours.open[day] != e->hours.close[day])
                    e->hours.open_days |= (uint8_t)(1u << day);
            } else if (kv_text_is(text + ks, c - ks, "hours") && value == KV_FIELD_NULL) {
                hours_leaf = 1;
                if (e->hours.state == KV_HOURS_NONE)
                    e->hours.state = KV_HOURS_NULL;
            }
        }
        if (value && !hours_leaf && e->n_fields < KV_MAX_FIELDS) {
            /* Dots before the colon: the last part starts after the last one. */
            size_t last_dot = i, prev_dot = i, dots = 0;
            for (size_t k = i; k < c; k++) {
                if (text[k] == '.') {
                    prev_dot = last_dot;
                    last_dot = k + 1;
                    dots++;
                }
            }
            st = kv_grow((void **)&e->fields, &e->cap_fields, e->n_fields + 1, sizeof *e->fields,
                         64);
            if (st != KIVO_OK)
                return st;
            kv_field *f = &e->fields[e->n_fields];
            memset(f, 0, sizeof *f);
            f->value = (uint8_t)value;
            size_t key_words = 0, jn = 0;
            char joined[64];
            int fits = 1;
            for (size_t k = t; k < toks->n && toks->v[k].end <= c; k++)
                key_words += toks->v[k].start >= last_dot && toks->v[k].kind != KV_TOK_NUMBER;
            for (size_t k = t; k < toks->n && toks->v[k].end <= c; k++) {
                const kv_token *tk = &toks->v[k];
                /* Function words stay: "TakeOut" is "take out", not "take". */
                if (tk->kind == KV_TOK_NUMBER)
                    continue;
                const char *w = text + tk->start;
                size_t wl = tk->end - tk->start;
                if (tk->start >= last_dot) {
                    /* "RestaurantsReservations": a leading category word is not required. */
                    if (key_words > 1 &&
                        (kv_text_is(w, wl, "restaurants") || kv_text_is(w, wl, "business")))
                        continue;
                    if (f->n_key < KV_FIELD_TERMS)
                        f->key[f->n_key++] = tk->h;
                    fits = fits && jn + wl < sizeof joined;
                    for (size_t j = 0; fits && j < wl; j++)
                        joined[jn++] = w[j] >= 'A' && w[j] <= 'Z' ? (char)(w[j] | 0x20) : w[j];
                } else if (dots >= 2 && tk->start >= prev_dot && f->n_parent < KV_FIELD_TERMS &&
                           !kv_text_is(w, wl, "business") && !kv_text_is(w, wl, "restaurants")) {
                    f->parent[f->n_parent++] = tk->h;
                }
            }
            if (f->n_key > 1 && fits && (st = joined_key(e, joined, jn, f)) != KIVO_OK)
                return st;
            if (f->n_key > 0)
                e->n_fields++;
        }
        i = end + 1;
    }
    return KIVO_OK;
}

/* Lines of text[0..len), and how many of them look like a flattened record's "path: value"
 * (a path of letters, digits, '_', '.' and '-', then ": "). */
static void count_key_lines(const char *text, size_t len, size_t *lines, size_t *keyed)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t j = i;
        while (j < end && (((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z') ||
                           (text[j] >= '0' && text[j] <= '9') || text[j] == '_' || text[j] == '.' ||
                           text[j] == '-'))
            j++;
        if (end > i) {
            (*lines)++;
            if (j > i && j + 1 < end && text[j] == ':' && text[j + 1] == ' ')
                (*keyed)++;
        }
        i = end + 1;
    }
}

/*
 * Writes the postings of the sentence [s_start, s_end) of text[0..len), whose tokens are toks
 * from *tp on, at e->post + e->n_post (n_post is the caller's to move: *n_out of them), with *tp
 * moved past the sentence's tokens; *negated and *has_number say what it holds. Tokens before
 * s_start (list markers) are left out.
 */
static kivo_status post_sentence(kivo_engine *e, const char *text, size_t len, const kv_tokens *tk,
                                 size_t *tp, uint32_t s_start, uint32_t s_end, uint32_t sent,
                                 size_t *n_out, uint8_t *negated, uint8_t *has_number)
{
    kivo_status st;
    size_t t = *tp;
    uint8_t neg = 0, num = 0;
    *n_out = 0;
    while (t < tk->n && tk->v[t].start < s_start)
        t++;
    size_t first = t, caps = 0, first_cap = 0;
    /* One posting per token at most: the tokens left bound the sentence's. */
    if ((st = reserve_posts(e, tk->n - t)) != KIVO_OK)
        return st;
    kv_posting *const base = e->post + e->n_post;
    kv_posting *post = base;
    const kv_token *toks = tk->v;
    const size_t n_toks = tk->n;
    for (; t < n_toks && toks[t].end <= s_end; t++) {
        const kv_token *k = &toks[t];
        if ((k->flags & KV_TF_CAP) && caps++ == 0)
            first_cap = t;
        if (k->flags & KV_TF_NEG)
            neg = 1;
        if (k->kind == KV_TOK_STOP)
            continue;
        if (k->kind == KV_TOK_NUMBER)
            num = 1;
        post->h = k->h;
        post->sent = sent;
        post++;
    }
    size_t n = (size_t)(post - base);
    *tp = t;
    *negated = neg;
    *has_number = num;
    /* Names of capitalised words are also held as their initials ("United Kingdom" as "UK"): two
     * capitals at least, one posting per name, a name at least a token. */
    if (caps >= 2 && (st = reserve_posts(e, n + t - first)) != KIVO_OK)
        return st;
    for (size_t i = caps >= 2 ? first_cap : t, end; i < t; i = end) {
        end = i + 1;
        if (!(toks[i].flags & KV_TF_CAP))
            continue;
        uint64_t h = kv_acronym_at(e, text, len, toks + first, t - first, i - first, &end);
        end += first;
        if (end <= i)
            end = i + 1;
        if (h) {
            e->post[e->n_post + n].h = h;
            e->post[e->n_post + n].sent = sent;
            n++;
        }
    }
    *n_out = n;
    return KIVO_OK;
}

/* Opens sentence number e->n_sents for span k of source s's spans (kv_sentence); the caller
 * fills negated and has_number and counts it. */
static kv_sentence *open_sentence(kivo_engine *e, size_t s, size_t k)
{
    kv_sentence *sn = &e->sents[e->n_sents];
    sn->source = (uint32_t)s;
    sn->start = e->spans.v[k].start;
    sn->end = e->spans.v[k].end;
    sn->negated = 0;
    sn->has_number = 0;
    sn->lead = (uint8_t)(k < 255 ? k : 255);
    sn->trail = (uint8_t)(e->spans.n - 1 - k < 255 ? e->spans.n - 1 - k : 255);
    return sn;
}

/* The sentences of spans [k0, k1) of source s, whose text from offset `base` on is
 * text[0..len) and tokens toks (offsets in text). */
static kivo_status index_spans(kivo_engine *e, size_t s, const char *text, size_t len,
                               uint32_t base, size_t k0, size_t k1, const kv_tokens *toks)
{
    size_t t = 0;
    for (size_t k = k0; k < k1; k++) {
        kv_sentence *sn = open_sentence(e, s, k);
        size_t n;
        kivo_status st = post_sentence(e, text, len, toks, &t, sn->start - base, sn->end - base,
                                       (uint32_t)e->n_sents, &n, &sn->negated, &sn->has_number);
        if (st != KIVO_OK)
            return st;
        e->n_post += n;
        e->n_sents++;
    }
    return KIVO_OK;
}

/*
 * The sentence memo (sentmemo.c). A source is tokenized in runs of sentences instead of whole,
 * cut between two sentences only where tokenizing each run by itself gives exactly the tokens
 * that tokenizing the whole source gives in it; a run of one sentence is then the memo's, keyed
 * by its bytes. A cut needs (docs/engine.md; tests/engine/test_sentmemo.c checks the rule on any
 * text, fuzz_engine_memo the index):
 *   - the gap between the sentences holds no byte a token can start or go on with (ASCII letters
 *     and digits, bytes >= 0x80), and opens and closes with white space: no token lies in it or
 *     across it, and no scan of a token before it (1,000 don't) reads past its first byte;
 *   - the sentence after has two tokens at least, and neither may open a quantity rule
 *     (kv_quantity_opens, the gate of kv_quantity_read): they never read the tokens or bytes
 *     before them, nor change those tokens; the tokens after them read at most two tokens back,
 *     inside the run, and their byte reads back (citation's walk over digits, ',', ' ' and '-',
 *     "out of ", '$', ':') stop at those two words. A capital that may name a month (All, Most)
 *     only reads back for "5 March", which needs spaces only between it and the day: it may open
 *     the run when the gap (or the end of the sentence before) holds another byte;
 *   - no read forward from the sentence before crosses it: kv_quantity_read's ("p.m.", a date's
 *     '-', the initials' dots) read one or two bytes, stopped by the gap's white space; a
 *     citation's walk over digits, ',', ' ' and '-' cannot leave a sentence that ends in
 *     another byte, and otherwise must stop in the gap on a byte that is not ']'.
 * Before the first sentence and after the last, the same, against the text's ends.
 */

/* What the memo (or a tokenization of its own) says of one span of a source. */
struct kv_memo_span {
    kv_memo_key key; /* its bytes' (MSPAN_READ) */
    uint64_t off;    /* its postings: in e->mposts when MSPAN_SCRATCH, else in the memo */
    const uint64_t *post;
    uint32_t n;
    uint8_t flags; /* KV_MEMO_*, MSPAN_* */
};

#define MSPAN_READ 0x40    /* to be read (read_span): a run may start at it */
#define MSPAN_CUT 0x20     /* a run starts at the span (at n: the last run ends at the last span) */
#define MSPAN_SCRATCH 0x80 /* its postings are in e->mposts at off */

static int ascii_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* 1 when g[0..n) holds no byte a token may start or go on with: ASCII letters and digits and
 * bytes >= 0x80. */
static int gap_holds_no_token(const unsigned char *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = g[i];
        if (c >= 0x80 || kv_ascii_alnum(c))
            return 0;
    }
    return 1;
}

/* 1 when a citation's forward walk (quantity.c: over digits, ',', ' ' and '-') from the sentence
 * that ends with byte last stops where a walk cut at the sentence's end would: the sentence's
 * last byte stops it, or the gap g[0..n) does on a byte that is not ']' (at_end: the text ends
 * after the gap, where a walk stops too). */
static int citation_stops(unsigned char last, const unsigned char *g, size_t n, int at_end)
{
    if (!(last >= '0' && last <= '9') && last != ',' && last != '-' && last != ' ')
        return 1;
    for (size_t i = 0; i < n; i++)
        if (g[i] != ' ' && g[i] != ',' && g[i] != '-')
            return g[i] != ']';
    return at_end;
}

/* 1 when the gap text[a..b) between the span that ends at a (0: none before) and the one that
 * starts at b (len: none after) may be cut, but for the first tokens after it (lead_cuts). */
static int gap_cuts(const unsigned char *text, size_t len, size_t a, size_t b)
{
    const unsigned char *g = text + a;
    const size_t n = b - a;
    if (n == 0 || !gap_holds_no_token(g, n))
        return 0;
    if (a > 0 && (!ascii_space(g[0]) || !citation_stops(text[a - 1], g, n, b == len)))
        return 0;
    return b == len || ascii_space(g[n - 1]);
}

/* 1 when token t of text may open a quantity rule whatever comes before it (kv_quantity_opens),
 * by the kind kv_tokenize made it with: kv_quantity_read turns numbers into function words
 * (citations, "out of 5", the scale of "2 million") and keeps their value's hash. A word whose
 * hash were a number's would count as a number: a cut less, never one more. */
static int opens_rule(const char *text, const kv_token *t)
{
    const uint8_t kind = t->kind == KV_TOK_STOP && t->h == kv_number_hash(t->value)
                             ? (uint8_t)KV_TOK_NUMBER
                             : t->kind;
    return kv_quantity_opens(kind, (unsigned char)text[t->start], t->end - t->start);
}

/* 1 when no byte between the last token before the gap text[a..b) (a > 0) and the first token
 * after it is a space: then a month's name after the gap is no date with a day before it ("5
 * March" needs one to three spaces between). The span before ends in ASCII punctuation other
 * than ' ' (no token ends in that), or the gap holds another byte than ' '. */
static int gap_not_spaces(const unsigned char *text, size_t a, size_t b)
{
    const unsigned char last = text[a - 1];
    if (last < 0x80 && last != ' ' && !kv_ascii_alnum(last))
        return 1;
    for (size_t i = a; i < b; i++)
        if (text[i] != ' ')
            return 1;
    return 0;
}

/* 1 when the span that starts at b, whose first tokens read alone have lead (KV_MEMO_INERT,
 * KV_MEMO_MONTH), may start a run after the gap text[a..b). */
static int lead_cuts(const unsigned char *text, size_t a, size_t b, uint8_t lead)
{
    return (lead & KV_MEMO_INERT) &&
           (!(lead & KV_MEMO_MONTH) || a == 0 || gap_not_spaces(text, a, b));
}

uint8_t kv_index_lead(const char *text, const kv_tokens *toks)
{
    uint8_t flags = 0;
    const kv_token *tv = toks->v;
    if (toks->n >= 2 && !opens_rule(text, &tv[0]) && !opens_rule(text, &tv[1])) {
        flags |= KV_MEMO_INERT;
        for (size_t i = 0; i < 2; i++)
            if (kv_quantity_month_like((unsigned char)text[tv[i].start], tv[i].end - tv[i].start))
                flags |= KV_MEMO_MONTH;
    }
    return flags;
}

int kv_index_cut(const char *text, size_t len, size_t a, size_t b, uint8_t lead)
{
    const unsigned char *t = (const unsigned char *)text;
    return gap_cuts(t, len, a, b) && (b == len || lead_cuts(t, a, b, lead));
}

/* Reads span k of source text apart from its neighbours, into e->mspans[k]: from the memo, or
 * by tokenizing its bytes alone (and keeping what it holds in the memo, or in e->mposts when
 * the memo is full). */
static kivo_status read_span(kivo_engine *e, const char *text, size_t k)
{
    struct kv_memo_span *ms = &e->mspans[k];
    const char *at = text + e->spans.v[k].start;
    const size_t sl = e->spans.v[k].end - e->spans.v[k].start;
    const kv_memo_key key = ms->key;
    kv_memo_val val;
    if (kv_sentmemo_find(e->memo, &key, &val)) {
        ms->post = val.post;
        ms->n = val.n;
        ms->flags |= val.flags;
        return KIVO_OK;
    }
    e->src_toks.n = 0;
    kivo_status st = kv_tokenize(e->lx, at, sl, &e->src_toks);
    if (st != KIVO_OK)
        return st;
    uint8_t flags = kv_index_lead(at, &e->src_toks);
    size_t t = 0, n;
    uint8_t neg, num;
    if ((st = post_sentence(e, at, sl, &e->src_toks, &t, 0, (uint32_t)sl, 0, &n, &neg, &num)) !=
        KIVO_OK)
        return st;
    flags |= (uint8_t)((neg ? KV_MEMO_NEG : 0) | (num ? KV_MEMO_NUM : 0));
    /* The postings as hashes, at the end of the scratch: kept there unless the memo takes them. */
    st = kv_grow((void **)&e->mposts, &e->cap_mposts, e->n_mposts + n + 1, sizeof *e->mposts, 256);
    if (st != KIVO_OK)
        return st;
    uint64_t *h = e->mposts + e->n_mposts;
    for (size_t i = 0; i < n; i++)
        h[i] = e->post[e->n_post + i].h;
    /* A span that is not inert never starts a run of its own: its postings are not kept. */
    const uint8_t keep = (uint8_t)(flags & KV_MEMO_INERT ? flags | KV_MEMO_POSTS : flags);
    if (kv_sentmemo_put(e->memo, &key, keep, h, n, &val) && (val.flags & KV_MEMO_POSTS)) {
        ms->post = val.post;
        ms->n = val.n;
        ms->flags |= val.flags;
        return KIVO_OK;
    }
    ms->off = e->n_mposts;
    ms->post = NULL;
    ms->n = (uint32_t)n;
    ms->flags |= (uint8_t)(flags | KV_MEMO_POSTS | MSPAN_SCRATCH);
    e->n_mposts += n;
    return KIVO_OK;
}

/* The sentences of source s (not a flattened record), tokenized in runs (above). */
static kivo_status index_source_runs(kivo_engine *e, size_t s, const kivo_source *src)
{
    const unsigned char *text = (const unsigned char *)src->text;
    const size_t len = src->text_len, n = e->spans.n;
    const kv_span *sp = e->spans.v;
    if (n == 0)
        return KIVO_OK;
    kivo_status st = kv_grow((void **)&e->mspans, &e->cap_mspans, n + 1, sizeof *e->mspans, 64);
    if (st != KIVO_OK)
        return st;
    e->n_mposts = 0;
    /* Where runs may start (MSPAN_CUT at k < n) and whether the last may end at the last span
     * (at n): the text's start needs nothing, a gap needs gap_cuts and an inert span after it. */
    for (size_t k = 0; k < n; k++) {
        /* The keys first, their slots loading while the next are hashed. */
        struct kv_memo_span *ms = &e->mspans[k];
        ms->flags = 0;
        ms->n = 0;
        if ((k == 0 && sp[0].start == 0) ||
            gap_cuts(text, len, k ? sp[k - 1].end : 0, sp[k].start)) {
            ms->flags = MSPAN_READ;
            kv_sentmemo_key(e->memo, src->text + sp[k].start, sp[k].end - sp[k].start, &ms->key);
            kv_sentmemo_prefetch(e->memo, &ms->key);
        }
    }
    for (size_t k = 0; k < n; k++) {
        struct kv_memo_span *ms = &e->mspans[k];
        if (!(ms->flags & MSPAN_READ))
            continue;
        if ((st = read_span(e, src->text, k)) != KIVO_OK)
            return st;
        const size_t a = k ? sp[k - 1].end : 0;
        if ((k == 0 && sp[0].start == 0) || lead_cuts(text, a, sp[k].start, ms->flags))
            ms->flags |= MSPAN_CUT;
    }
    e->mspans[n].flags =
        sp[n - 1].end == len || gap_cuts(text, len, sp[n - 1].end, len) ? MSPAN_CUT : 0;
    for (size_t k = 0; k < n;) {
        size_t j = k + 1;
        while (j < n && !(e->mspans[j].flags & MSPAN_CUT))
            j++;
        const struct kv_memo_span *ms = &e->mspans[k];
        const size_t rs = ms->flags & MSPAN_CUT ? sp[k].start : 0;
        const size_t re = e->mspans[j].flags & MSPAN_CUT ? sp[j - 1].end : len;
        if (j == k + 1 && (ms->flags & KV_MEMO_POSTS) && rs == sp[k].start && re == sp[k].end) {
            /* A run of one span: what the memo (or the span's own reading) holds. */
            kv_sentmemo_counters(e->memo)->alone++;
            kv_sentence *sn = open_sentence(e, s, k);
            sn->negated = (ms->flags & KV_MEMO_NEG) != 0;
            sn->has_number = (ms->flags & KV_MEMO_NUM) != 0;
            if ((st = reserve_posts(e, ms->n)) != KIVO_OK)
                return st;
            const uint64_t *h = ms->flags & MSPAN_SCRATCH ? e->mposts + ms->off : ms->post;
            kv_posting *post = e->post + e->n_post;
            const uint32_t sent = (uint32_t)e->n_sents;
            for (uint32_t i = 0; i < ms->n; i++) {
                post[i].h = h[i];
                post[i].sent = sent;
            }
            e->n_post += ms->n;
            e->n_sents++;
        } else {
            kv_sentmemo_counters(e->memo)->in_runs += j - k;
            e->src_toks.n = 0;
            if ((st = kv_tokenize(e->lx, src->text + rs, re - rs, &e->src_toks)) != KIVO_OK ||
                (st = index_spans(e, s, src->text + rs, re - rs, (uint32_t)rs, k, j,
                                  &e->src_toks)) != KIVO_OK)
                return st;
        }
        k = j;
    }
    return KIVO_OK;
}

kivo_status kv_index_build(kivo_engine *e, const kivo_packet *p)
{
    kivo_status st = KIVO_OK;
    e->n_sents = 0;
    e->n_post = 0;
    e->n_fields = 0;
    e->has_record = 0;
    memset(&e->hours, 0, sizeof e->hours);
    const int memo = e->memo && kv_sentmemo_begin(e->memo);
    for (size_t s = 0; s < p->n_sources && st == KIVO_OK; s++) {
        const kivo_source *src = &p->sources[s];
        e->spans.n = 0;
        e->src_toks.n = 0;
        if ((st = kv_segment(src->text, src->text_len, &e->spans)) != KIVO_OK)
            break;
        /* One sentence per span. */
        st = kv_grow((void **)&e->sents, &e->cap_sents, e->n_sents + e->spans.n, sizeof *e->sents,
                     256);
        if (st != KIVO_OK)
            break;
        /* A flattened record (mostly "path: value" lines) has fields and hours to check: its
         * tokens are read whole. */
        size_t lines = 0, keyed = 0;
        count_key_lines(src->text, src->text_len, &lines, &keyed);
        if (keyed * 2 <= lines && memo) {
            st = index_source_runs(e, s, src);
            continue;
        }
        if ((st = kv_tokenize(e->lx, src->text, src->text_len, &e->src_toks)) != KIVO_OK)
            break;
        if (keyed * 2 > lines) {
            e->has_record = 1;
            if ((st = collect_fields(e, src->text, src->text_len, &e->src_toks)) != KIVO_OK)
                break;
        }
        st = index_spans(e, s, src->text, src->text_len, 0, 0, e->spans.n, &e->src_toks);
    }
    if (st != KIVO_OK || (st = group_by_term(e)) != KIVO_OK)
        return st;
    /* The sentence layer keeps the sentences it read for one review (sense.c): these now. */
    return kv_sense_reset(e);
}

/* The slot of h in a table of cap slots: its own, or the empty one where it would go. A slot is
 * empty unless the current record (gen) filled it. */
static kv_term *probe(kv_term *tab, size_t cap, uint32_t gen, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (tab[i].gen == gen && tab[i].h != h)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Doubles the term table, moving its terms (their numbers stay). */
static kivo_status rehash(kivo_engine *e)
{
    const size_t old = e->n_terms_cap, cap = old * 2;
    const uint32_t gen = e->terms_gen;
    kv_term *t = calloc(cap, sizeof *t);
    if (!t)
        return KIVO_ENOMEM;
    for (size_t i = 0; i < old; i++)
        if (e->terms[i].gen == gen)
            *probe(t, cap, gen, e->terms[i].h) = e->terms[i];
    free(e->terms);
    e->terms = t;
    e->cap_terms = e->n_terms_cap = cap;
    return KIVO_OK;
}

/* Slots the term table of a record with many postings starts with; it doubles as its terms come
 * (a table sized by postings alone took 100 MB for an 8 MB source of short words). */
#define TERMS_START 8192

static kivo_status group_by_term(kivo_engine *e)
{
    kivo_status st;
    size_t cap = 64;
    while (cap < e->n_post * 2 && cap < TERMS_START)
        cap *= 2;
    if (cap > e->cap_terms) {
        /* New slots hold anything: they are cleared once here, then emptied by generation. */
        kv_term *t = realloc(e->terms, cap * sizeof *t);
        if (!t)
            return KIVO_ENOMEM;
        memset(t, 0, cap * sizeof *t);
        e->terms = t;
        e->cap_terms = cap;
        e->terms_gen = 0;
    }
    /* A new generation empties every slot at once; at the wrap, a real clear. */
    if (++e->terms_gen == 0) {
        memset(e->terms, 0, e->cap_terms * sizeof *e->terms);
        e->terms_gen = 1;
    }
    const uint32_t gen = e->terms_gen;
    e->n_terms_cap = cap;
    /* At most half the slots fill before a doubling: the list holds what the table may. */
    st = kv_grow((void **)&e->term_at, &e->cap_term_at, cap / 2 + 1, sizeof *e->term_at, 64);
    if (st != KIVO_OK)
        return st;
    /* Pass 1: number the terms, count each term's distinct sentences (postings arrive in
     * sentence order), and note each posting's term for pass 2. */
    size_t total = 0, distinct = 0;
    kv_term_at *at = e->term_at;
    for (size_t i = 0; i < e->n_post; i++) {
        kv_term *t = probe(e->terms, cap, gen, e->post[i].h);
        if (t->gen != gen) {
            /* At most half full, so that probes stay short. */
            if ((distinct + 1) * 2 > cap) {
                if ((st = rehash(e)) != KIVO_OK)
                    return st;
                cap = e->n_terms_cap;
                st = kv_grow((void **)&e->term_at, &e->cap_term_at, cap / 2 + 1, sizeof *e->term_at,
                             64);
                if (st != KIVO_OK)
                    return st;
                at = e->term_at;
                t = probe(e->terms, cap, gen, e->post[i].h);
            }
            t->h = e->post[i].h;
            t->gen = gen;
            t->id = (uint32_t)distinct;
            at[distinct].last = UINT32_MAX;
            at[distinct].count = 0;
            distinct++;
        }
        const uint32_t id = t->id;
        e->post[i].term = id;
        if (at[id].last != e->post[i].sent) {
            at[id].last = e->post[i].sent;
            at[id].count++;
            total++;
        }
    }
    st = kv_grow((void **)&e->sent_of, &e->cap_sent_of, total ? total : 1, sizeof *e->sent_of, 256);
    if (st != KIVO_OK)
        return st;
    uint32_t off = 0;
    for (size_t k = 0; k < distinct; k++) {
        at[k].off = off;
        off += at[k].count;
        at[k].count = 0;
        at[k].last = UINT32_MAX;
    }
    /* Pass 2: fill. */
    for (size_t i = 0; i < e->n_post; i++) {
        kv_term_at *a = &at[e->post[i].term];
        if (a->last != e->post[i].sent) {
            a->last = e->post[i].sent;
            e->sent_of[a->off + a->count++] = e->post[i].sent;
        }
    }
    return KIVO_OK;
}

const uint32_t *kv_index_find(const kivo_engine *e, uint64_t h, size_t *n)
{
    *n = 0;
    if (!e->n_terms_cap)
        return NULL;
    const kv_term *t = probe(e->terms, e->n_terms_cap, e->terms_gen, h);
    if (t->gen != e->terms_gen)
        return NULL;
    const kv_term_at *a = &e->term_at[t->id];
    *n = a->count;
    return &e->sent_of[a->off];
}
