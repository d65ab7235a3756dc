/*
 * engine.c - kivo_engine: one review from packet to claims, counts, categories and verdict.
 *
 * The order is fixed so that results never depend on threads or earlier records: hash the bytes,
 * index the sources, segment and tokenize the output, score each claim in output order, count,
 * and decide. Every buffer is the engine's own and is reused from record to record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "sense_int.h"
#include "grow_int.h"
#include "kivo/json.h"

kivo_status kivo_engine_create(kivo_engine **out)
{
    kivo_status st;
    kivo_engine *e = calloc(1, sizeof *e);
    if (!e)
        return KIVO_ENOMEM;
    kivo_buf_init(&e->xbuf, 16u << 20);
    if ((st = kv_lexicon_create(&e->lx)) != KIVO_OK ||
        (st = kivo_hasher_create(&e->hasher)) != KIVO_OK ||
        (st = kv_opposites_build(e)) != KIVO_OK || (st = kv_sense_create(e)) != KIVO_OK ||
        (st = kv_sentmemo_create(&e->memo)) != KIVO_OK) {
        kivo_engine_free(e);
        return st;
    }
    *out = e;
    return KIVO_OK;
}

void kivo_engine_free(kivo_engine *e)
{
    if (!e)
        return;
    kv_lexicon_free(e->lx);
    kivo_hasher_free(e->hasher);
    kv_tokens_free(&e->out_toks);
    kv_tokens_free(&e->src_toks);
    kv_tokens_free(&e->key_toks);
    kv_tokens_free(&e->win_toks);
    kv_tokens_free(&e->sent_toks);
    free(e->opposites);
    free(e->prefix_memo);
    kv_spans_free(&e->out_spans);
    kv_spans_free(&e->spans);
    free(e->sents);
    free(e->post);
    free(e->terms);
    free(e->term_at);
    free(e->sent_of);
    free(e->cs.terms);
    free(e->cs.numbits);
    free(e->cs.present);
    free(e->cs.alt);
    free(e->cs.post);
    free(e->cs.n_post);
    free(e->cs.order);
    free(e->cs.picks);
    free(e->cs.slot);
    free(e->cs.touched);
    free(e->cs.masks);
    free(e->cs.dense);
    free(e->cs.miss);
    free(e->claims);
    free(e->at);
    free(e->fields);
    free(e->hashes);
    kivo_buf_free(&e->xbuf);
    kv_sense_free(e);
    kv_sentmemo_free(e->memo);
    free(e->mspans);
    free(e->mposts);
    free(e->xoff);
    free(e);
}

static kivo_status hash_all(kivo_engine *e, const kivo_packet *p)
{
    kivo_status st;
    if (p->n_sources > e->cap_hashes) {
        void *h = realloc(e->hashes, p->n_sources * sizeof *e->hashes);
        if (!h)
            return KIVO_ENOMEM;
        e->hashes = h;
        e->cap_hashes = p->n_sources;
    }
    st = kivo_hasher_sha256_text(e->hasher, p->output_len ? p->output : "", p->output_len,
                                 e->review.output_hash);
    for (size_t i = 0; i < p->n_sources && st == KIVO_OK; i++)
        st = kivo_hasher_sha256_text(e->hasher, p->sources[i].text_len ? p->sources[i].text : "",
                                     p->sources[i].text_len, e->hashes[i]);
    return st;
}

/* A span of more tokens than this (a text without sentence ends) is scored in pieces of this
 * many tokens, so that no claim costs more than a sentence's worth of work. Sentences of real
 * answers stay far below (RAGTruth: 73 tokens at most). */
#define CLAIM_TOKENS 256

/* Appends claim k's place, or only counts it past the limit (the array stays bounded). */
static kivo_status add_claim(kivo_engine *e, const kv_span *sp, size_t tok, size_t n)
{
    e->n_claims_found++;
    if (e->n_at > KIVO_MAX_CLAIMS)
        return KIVO_OK;
    kivo_status st = kv_grow((void **)&e->at, &e->cap_at, e->n_at + 1, sizeof *e->at, 64);
    if (st != KIVO_OK)
        return st;
    kv_claim_at *a = &e->at[e->n_at++];
    a->start = sp->start;
    a->end = sp->end;
    a->tok = (uint32_t)tok;
    a->n = (uint32_t)n;
    return KIVO_OK;
}

/* The output's claims, in order: its spans that are claims (kv_match_is_claim), a span of more
 * than CLAIM_TOKENS tokens cut into pieces of that many. */
static kivo_status find_claims(kivo_engine *e, const kivo_packet *p)
{
    kivo_status st = KIVO_OK;
    size_t t = 0;
    e->n_at = 0;
    e->n_claims_found = 0;
    for (size_t k = 0; k < e->out_spans.n && st == KIVO_OK; k++) {
        const kv_span *sp = &e->out_spans.v[k];
        while (t < e->out_toks.n && e->out_toks.v[t].start < sp->start)
            t++;
        size_t first = t;
        while (t < e->out_toks.n && e->out_toks.v[t].end <= sp->end)
            t++;
        /* A span without tokens ("\0", a run of symbols) is no claim (kv_match_is_claim: no
         * content word), and toks + a would be NULL + 0 while no output had a token yet. */
        if (first == t)
            continue;
        const kv_token *toks = e->out_toks.v;
        for (size_t a = first; st == KIVO_OK; a += CLAIM_TOKENS) {
            size_t b = t - a > CLAIM_TOKENS ? a + CLAIM_TOKENS : t;
            kv_span piece = *sp;
            if (a > first)
                piece.start = toks[a].start;
            if (b < t)
                piece.end = toks[b - 1].end;
            if (kv_match_is_claim(p->output, p->output_len, &piece, toks + a, b - a))
                st = add_claim(e, &piece, a, b - a);
            if (b == t)
                break;
        }
    }
    return st;
}

const char *kivo_engine_errmsg(const kivo_engine *e)
{
    return e->errmsg;
}

kivo_status kivo_engine_review(kivo_engine *e, const kivo_packet *p, const kivo_review **out)
{
    kivo_status st;
    kivo_review *r = &e->review;
    *out = NULL;
    if (!p || (p->n_sources && !p->sources) || (p->output_len && !p->output) ||
        p->output_len > UINT32_MAX)
        return KIVO_EINVAL;
    for (size_t i = 0; i < p->n_sources; i++)
        if (p->sources[i].text_len > UINT32_MAX)
            return KIVO_EINVAL;

    memset(r, 0, sizeof *r);
    e->errmsg[0] = '\0';
    kv_explain_reset(e);
    e->n_given = 0;
    if ((st = hash_all(e, p)) != KIVO_OK)
        return st;
    r->source_hashes = (const char(*)[KIVO_HASH_TEXT_SIZE])e->hashes;

    if (kivo_json_blank(p->output, p->output_len)) {
        r->categories = 1u << KIVO_CAT_EMPTY_OUTPUT;
        goto decide;
    }
    e->out_spans.n = 0;
    e->out_toks.n = 0;
    if ((st = kv_segment(p->output, p->output_len, &e->out_spans)) != KIVO_OK ||
        (st = kv_tokenize(e->lx, p->output, p->output_len, &e->out_toks)) != KIVO_OK ||
        (st = find_claims(e, p)) != KIVO_OK)
        return st;
    /* Past the claim limit nothing is scored, and the sources are not even indexed. */
    if (e->n_at > KIVO_MAX_CLAIMS) {
        snprintf(e->errmsg, sizeof e->errmsg,
                 "the output has %zu claims, over the limit of %d claims per record",
                 e->n_claims_found, KIVO_MAX_CLAIMS);
        return KIVO_ETOOBIG;
    }
    if ((st = kv_index_build(e, p)) != KIVO_OK)
        return st;
    if (e->n_at > e->cap_claims) {
        void *c = realloc(e->claims, e->n_at * sizeof *e->claims);
        if (!c)
            return KIVO_ENOMEM;
        e->claims = c;
        e->cap_claims = e->n_at;
    }

    for (size_t k = 0; k < e->n_at; k++) {
        const kv_token *toks = &e->out_toks.v[e->at[k].tok];
        size_t n = e->at[k].n;
        kivo_claim *c = &e->claims[r->n_claims++];
        memset(c, 0, sizeof *c);
        c->start = e->at[k].start;
        c->end = e->at[k].end;
        kv_explain_open(e);
        if (p->n_sources == 0) {
            c->status = KIVO_CLAIM_UNSUPPORTED;
            c->category = KIVO_CAT_NO_SOURCES;
            c->support_score = 0;
            c->rule = KIVO_RULE_NONE;
        } else if ((st = kv_match_claim(e, p, toks, n, c)) != KIVO_OK) {
            return st;
        }
        kv_explain_close(e);
        if (c->status == KIVO_CLAIM_UNSUPPORTED)
            r->unsupported_count++;
        if (c->status == KIVO_CLAIM_CONTRADICTED) {
            r->unsupported_count++;
            r->contradicted_count++;
        }
        if (c->status == KIVO_CLAIM_PARTIALLY_SUPPORTED)
            r->partial_count++;
        if (c->category != KIVO_CAT_NONE)
            r->categories |= 1u << c->category;
    }
    if (p->n_sources == 0)
        r->categories |= 1u << KIVO_CAT_NO_SOURCES;

decide:
    r->claims = e->claims;
    kivo_verdict_decide(p->strictness, p->intended_use, r->n_claims, r->unsupported_count,
                        r->contradicted_count, r->partial_count, r->categories, &r->gate_verdict,
                        &r->safe_use_status);
    *out = r;
    return KIVO_OK;
}
