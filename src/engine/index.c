/*
 * index.c - the per-record source index: every source split into sentences, every content token
 * posted as (hash, sentence), then grouped by term through a hash table (two linear passes: count,
 * then fill), so each claim term is one probe and its sentences lie side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static kivo_status grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return KIVO_OK;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *n = realloc(*v, c * elem);
    if (!n)
        return KIVO_ENOMEM;
    *v = n;
    *cap = c;
    return KIVO_OK;
}

static kivo_status group_by_term(kivo_engine *e);

kivo_status kv_index_build(kivo_engine *e, const kivo_packet *p)
{
    kivo_status st = KIVO_OK;
    e->n_sents = 0;
    e->n_post = 0;
    for (size_t s = 0; s < p->n_sources && st == KIVO_OK; s++) {
        const kivo_source *src = &p->sources[s];
        e->spans.n = 0;
        e->src_toks.n = 0;
        if ((st = kv_segment(src->text, src->text_len, &e->spans)) != KIVO_OK)
            break;
        if ((st = kv_tokenize(e->lx, src->text, src->text_len, &e->src_toks)) != KIVO_OK)
            break;
        st = grow((void **)&e->sents, &e->cap_sents, e->n_sents + e->spans.n, sizeof *e->sents);
        if (st == KIVO_OK)
            st = grow((void **)&e->post, &e->cap_post, e->n_post + e->src_toks.n, sizeof *e->post);
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
            while (t < e->src_toks.n && e->src_toks.v[t].start < sn->start)
                t++;
            for (; t < e->src_toks.n && e->src_toks.v[t].end <= sn->end; t++) {
                const kv_token *tk = &e->src_toks.v[t];
                if (tk->flags & KV_TF_NEG)
                    sn->negated = 1;
                if (tk->kind == KV_TOK_STOP)
                    continue;
                if (tk->kind == KV_TOK_NUMBER)
                    sn->has_number = 1;
                e->post[e->n_post].h = tk->h;
                e->post[e->n_post].sent = (uint32_t)e->n_sents;
                e->n_post++;
            }
            e->n_sents++;
        }
    }
    if (st != KIVO_OK)
        return st;
    return group_by_term(e);
}

static kv_term *probe(kv_term *tab, size_t cap, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (tab[i].h && tab[i].h != h)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static kivo_status group_by_term(kivo_engine *e)
{
    size_t cap = 64;
    while (cap < e->n_post * 2)
        cap *= 2;
    if (cap > e->cap_terms) {
        kv_term *t = realloc(e->terms, cap * sizeof *t);
        if (!t)
            return KIVO_ENOMEM;
        e->terms = t;
        e->cap_terms = cap;
    }
    memset(e->terms, 0, cap * sizeof *e->terms);
    e->n_terms_cap = cap;
    /* Pass 1: count each term's distinct sentences (postings arrive in sentence order). */
    size_t total = 0;
    for (size_t i = 0; i < e->n_post; i++) {
        kv_term *t = probe(e->terms, cap, e->post[i].h);
        if (!t->h) {
            t->h = e->post[i].h;
            t->last = UINT32_MAX;
        }
        if (t->last != e->post[i].sent) {
            t->last = e->post[i].sent;
            t->count++;
            total++;
        }
    }
    kivo_status st = grow((void **)&e->sent_of, &e->cap_sent_of, total ? total : 1,
                          sizeof *e->sent_of);
    if (st != KIVO_OK)
        return st;
    uint32_t off = 0;
    for (size_t i = 0; i < cap; i++) {
        if (!e->terms[i].h)
            continue;
        e->terms[i].off = off;
        off += e->terms[i].count;
        e->terms[i].count = 0;
        e->terms[i].last = UINT32_MAX;
    }
    /* Pass 2: fill. */
    for (size_t i = 0; i < e->n_post; i++) {
        kv_term *t = probe(e->terms, cap, e->post[i].h);
        if (t->last != e->post[i].sent) {
            t->last = e->post[i].sent;
            e->sent_of[t->off + t->count++] = e->post[i].sent;
        }
    }
    return KIVO_OK;
}

const uint32_t *kv_index_find(const kivo_engine *e, uint64_t h, size_t *n)
{
    *n = 0;
    if (!e->n_terms_cap)
        return NULL;
    const kv_term *t = probe(e->terms, e->n_terms_cap, h);
    if (!t->h)
        return NULL;
    *n = t->count;
    return &e->sent_of[t->off];
}
