/*
 * sense.c - the sentence layer's entry point (sense_int.h): the claim and its best window read,
 * aligned, and held against each rule in turn; the first that fires decides.
 *
 * The order puts the most specific explanation first: a modal conflict ("may" against "must
 * not") is also a polarity one, and is reported as the modal one.
 */
#include <stdlib.h>
#include <string.h>

#include "grow_int.h"
#include "readmemo_int.h"
#include "sense_int.h"

kivo_status kv_sense_create(kivo_engine *e)
{
    kv_sense *sn = calloc(1, sizeof *sn);
    if (!sn)
        return KIVO_ENOMEM;
    sn->claim.a = sn->ann_claim;
    kv_swap_units_read(sn);
    e->sense = sn;
    /* The readings memo (readmemo.c), unless KIVO_ENGINE_MEMO=0; without memory, none. */
    if (kv_memo_wanted())
        sn->memo = kv_readmemo_create(KV_READMEMO_BYTES);
    kivo_status st = kv_cues_build(e);
    return st == KIVO_OK ? kv_antonyms_build(e) : st;
}

void kv_sense_free(kivo_engine *e)
{
    if (!e->sense)
        return;
    kv_tokens_free(&e->sense->one);
    kv_tokens_free(&e->sense->cache_toks);
    free(e->sense->cache_ann);
    free(e->sense->cached);
    free(e->sense->slot);
    kv_readmemo_free(e->sense->memo);
    free(e->sense);
    e->sense = NULL;
    free(e->cue_keys);
    free(e->cue_vals);
    free(e->antonyms);
}

kv_readmemo *kv_engine_readmemo(const kivo_engine *e)
{
    return e->sense ? e->sense->memo : NULL;
}

kivo_status kv_sense_reset(kivo_engine *e)
{
    kv_sense *sn = e->sense;
    sn->cache_toks.n = 0;
    sn->n_cached = 0;
    kivo_status st = kv_grow((void **)&sn->slot, &sn->cap_slot, e->n_sents ? e->n_sents : 1,
                             sizeof *sn->slot, 64);
    if (st != KIVO_OK)
        return st;
    for (size_t s = 0; s < e->n_sents; s++)
        sn->slot[s] = -1;
    return KIVO_OK;
}

int kv_sense_check(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                   size_t first, size_t last, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    res->rule = KIVO_RULE_COVERAGE;
    res->converse = 0;
    res->checked = 0;
    res->sent = 0;
    if (n == 0 || n > KV_SENSE_MAX_TOKENS)
        return 0;
    memset(res->mark, 0, n);
    sn->claim.a = sn->ann_claim;
    kv_clause_read(e, p->output, toks, n, &sn->claim);
    kv_align_words(e);
    if (!kv_align_window(e, p, first, last))
        return 0;
    kv_align_claim(e);
    sn->next_window = 0;
    res->checked = 1;
    return kv_modality_check(e, res) || kv_negation_check(e, res) || kv_quantifier_check(e, res) ||
           kv_roles_check(e, res) || kv_antonym_check(e, res) || kv_swap_check(e, res) ||
           kv_exchange_check(e, res);
}

int kv_sense_window_necessary(const kivo_engine *e)
{
    const kv_sense *sn = e->sense;
    for (size_t s = 0; s < sn->n_sents; s++)
        for (size_t c = 0; c < sn->sent[s].n_clauses; c++)
            if (sn->sent[s].modal[c] == KV_MODAL_NECESSARY)
                return 1;
    return 0;
}

int kv_sense_swaps(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                   size_t first, size_t last, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    if (n == 0 || n > KV_SENSE_MAX_TOKENS)
        return 0;
    /* Where the best window (still aligned) holds each claim word (swap.c). */
    for (size_t i = 0; i < sn->claim.n; i++)
        memcpy(sn->best_at[i], sn->match[i].at, sizeof sn->best_at[i]);
    sn->best_sents = sn->n_sents;
    if (!kv_align_window(e, p, first, last))
        return 0;
    (void)toks;
    kv_align_claim(e);
    sn->next_window = 1;
    memset(res->mark, 0, n);
    return kv_swap_check(e, res);
}
