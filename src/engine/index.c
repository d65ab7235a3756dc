/*
 * index.c - the per-record source index: every source split into sentences, every content token
 * posted as (hash, sentence). Sorting the postings once makes each claim term one binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static int cmp_posting(const void *a, const void *b)
{
    const kv_posting *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->sent < y->sent ? -1 : x->sent > y->sent;
}

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
    qsort(e->post, e->n_post, sizeof *e->post, cmp_posting);
    /* Drop repeats of the same token in one sentence. */
    size_t w = 0;
    for (size_t r = 0; r < e->n_post; r++)
        if (w == 0 || e->post[r].h != e->post[w - 1].h || e->post[r].sent != e->post[w - 1].sent)
            e->post[w++] = e->post[r];
    e->n_post = w;
    return KIVO_OK;
}

const kv_posting *kv_index_find(const kivo_engine *e, uint64_t h, size_t *n)
{
    size_t lo = 0, hi = e->n_post;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->post[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < e->n_post && e->post[end].h == h)
        end++;
    *n = end - lo;
    return *n ? &e->post[lo] : NULL;
}
