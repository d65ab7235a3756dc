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

/* Room for n more postings. Each append is covered by the call right before it: the initials
 * of names once used the room reserved for every token of a source, and the tokens' postings
 * after them were written past the end. */
static kivo_status reserve_posts(kivo_engine *e, size_t n)
{
    return kv_grow((void **)&e->post, &e->cap_post, e->n_post + n, sizeof *e->post, 256);
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

kivo_status kv_index_build(kivo_engine *e, const kivo_packet *p)
{
    kivo_status st = KIVO_OK;
    e->n_sents = 0;
    e->n_post = 0;
    e->n_fields = 0;
    e->has_record = 0;
    memset(&e->hours, 0, sizeof e->hours);
    for (size_t s = 0; s < p->n_sources && st == KIVO_OK; s++) {
        const kivo_source *src = &p->sources[s];
        e->spans.n = 0;
        e->src_toks.n = 0;
        if ((st = kv_segment(src->text, src->text_len, &e->spans)) != KIVO_OK)
            break;
        if ((st = kv_tokenize(e->lx, src->text, src->text_len, &e->src_toks)) != KIVO_OK)
            break;
        /* A flattened record (mostly "path: value" lines) has fields and hours to check. */
        size_t lines = 0, keyed = 0;
        count_key_lines(src->text, src->text_len, &lines, &keyed);
        if (keyed * 2 > lines) {
            e->has_record = 1;
            if ((st = collect_fields(e, src->text, src->text_len, &e->src_toks)) != KIVO_OK)
                break;
        }
        /* One sentence per span. */
        st = kv_grow((void **)&e->sents, &e->cap_sents, e->n_sents + e->spans.n, sizeof *e->sents,
                     256);
        if (st != KIVO_OK)
            break;
        /* Spans and tokens both run in text order: one sweep assigns tokens to sentences;
         * tokens outside every span (list markers) are left out. */
        size_t t = 0;
        for (size_t k = 0; k < e->spans.n; k++) {
            kv_sentence *sn = &e->sents[e->n_sents];
            sn->source = (uint32_t)s;
            sn->start = e->spans.v[k].start;
            sn->end = e->spans.v[k].end;
            sn->negated = 0;
            sn->has_number = 0;
            sn->lead = (uint8_t)(k < 255 ? k : 255);
            sn->trail = (uint8_t)(e->spans.n - 1 - k < 255 ? e->spans.n - 1 - k : 255);
            while (t < e->src_toks.n && e->src_toks.v[t].start < sn->start)
                t++;
            size_t first = t, caps = 0, first_cap = 0;
            /* One posting per token at most: the source's tokens left bound the sentence's. */
            if ((st = reserve_posts(e, e->src_toks.n - t)) != KIVO_OK)
                break;
            kv_posting *post = e->post + e->n_post;
            const kv_token *toks = e->src_toks.v;
            const size_t n_toks = e->src_toks.n;
            const uint32_t sent = (uint32_t)e->n_sents, sent_end = sn->end;
            for (; t < n_toks && toks[t].end <= sent_end; t++) {
                const kv_token *tk = &toks[t];
                if ((tk->flags & KV_TF_CAP) && caps++ == 0)
                    first_cap = t;
                if (tk->flags & KV_TF_NEG)
                    sn->negated = 1;
                if (tk->kind == KV_TOK_STOP)
                    continue;
                if (tk->kind == KV_TOK_NUMBER)
                    sn->has_number = 1;
                post->h = tk->h;
                post->sent = sent;
                post++;
            }
            e->n_post = (size_t)(post - e->post);
            /* Names of capitalised words are also held as their initials ("United Kingdom" as
             * "UK"): two capitals at least, one posting per name, a name at least a token. */
            if (caps >= 2 && (st = reserve_posts(e, t - first)) != KIVO_OK)
                break;
            for (size_t i = caps >= 2 ? first_cap : t, end; i < t; i = end) {
                end = i + 1;
                if (!(e->src_toks.v[i].flags & KV_TF_CAP))
                    continue;
                uint64_t h = kv_acronym_at(e, src->text, src->text_len, e->src_toks.v + first,
                                           t - first, i - first, &end);
                end += first;
                if (end <= i)
                    end = i + 1;
                if (h) {
                    e->post[e->n_post].h = h;
                    e->post[e->n_post].sent = sent;
                    e->n_post++;
                }
            }
            e->n_sents++;
        }
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
