/*
 * fuzz_engine_memo.c - the source index's sentence memo (src/engine/sentmemo.c, index.c) changes
 * nothing: any packet reviewed on an engine whose memo is warm (the same engine from input to
 * input, so sentences come back in other contexts) gives the same index and the same report, byte
 * for byte, as on an engine without the memo (KIVO_ENGINE_MEMO=0, which reads every source whole
 * as before the memo; its reviews never depend on the ones before).
 *
 * Input: as fuzz_engine_review.c's: one byte of options (bits 0-1 strictness, bits 2-3 intended
 * use, each modulo 3), then the output and each source's text, separated by 0xFF; every part
 * valid UTF-8, else the input is skipped. Each text is copied into an allocation of its exact
 * size.
 *
 * Checks, in order: the packet on the memo engine, again on it (now warm), and on the engine
 * without: the same sentences and postings, the same report; then the sources joined into one
 * (each source's sentences after another's, across a gap of one byte of the input, or '\n'),
 * on both engines: the same again.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "fuzz_util.h"
#include "kivo/buf.h"
#include "kivo/report.h"
#include "kivo/review.h"
#include "kivo/wire.h"

#define MAX_SOURCES 32

static kivo_engine *warm, *plain;

static kivo_engine *make(const char *memo)
{
    kivo_engine *e = NULL;
    FUZZ_CHECK(setenv("KIVO_ENGINE_MEMO", memo, 1) == 0);
    FUZZ_CHECK(kivo_engine_create(&e) == KIVO_OK);
    FUZZ_CHECK(unsetenv("KIVO_ENGINE_MEMO") == 0);
    return e;
}

/* Reviews pk on e and renders its report into out; 0 when the engine refused the packet as over
 * one of its bounds. */
static int review(kivo_engine *e, const kivo_packet *pk, kivo_buf *out)
{
    const kivo_review *rv = NULL;
    kivo_run_meta meta = {NULL, "fuzz-run",   "fuzz-workflow", "fuzz-worker",    "0",
                          NULL, "fuzz store", pk->strictness,  pk->intended_use, NULL};
    out->len = 0;
    kivo_status st = kivo_engine_review(e, pk, &rv);
    if (st == KIVO_ETOOBIG)
        return 0;
    FUZZ_CHECK(st == KIVO_OK && rv != NULL);
    FUZZ_CHECK(kivo_report_render(pk, rv, &meta, out) == KIVO_OK);
    return 1;
}

/* The last reviews of a and b indexed the same sentences and postings. */
static void same_index(const kivo_engine *a, const kivo_engine *b)
{
    FUZZ_CHECK(a->n_sents == b->n_sents && a->n_post == b->n_post);
    for (size_t i = 0; i < a->n_sents; i++) {
        const kv_sentence *x = &a->sents[i], *y = &b->sents[i];
        FUZZ_CHECK(x->source == y->source && x->start == y->start && x->end == y->end &&
                   x->negated == y->negated && x->has_number == y->has_number &&
                   x->lead == y->lead && x->trail == y->trail);
    }
    for (size_t i = 0; i < a->n_post; i++)
        FUZZ_CHECK(a->post[i].h == b->post[i].h && a->post[i].sent == b->post[i].sent);
}

static void same_bytes(const kivo_buf *a, const kivo_buf *b)
{
    FUZZ_CHECK(a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0));
}

/* pk on the warm engine (twice when twice) and on the plain one: the same. */
static void compare(const kivo_packet *pk, int twice, kivo_buf *x, kivo_buf *y)
{
    if (!review(warm, pk, x))
        return;
    if (twice) {
        FUZZ_CHECK(review(warm, pk, y));
        same_bytes(x, y);
    }
    FUZZ_CHECK(review(plain, pk, y));
    same_index(warm, plain);
    same_bytes(x, y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kivo_source src[MAX_SOURCES];
    char *copies[MAX_SOURCES + 2];
    size_t n_copies = 0, n_parts = 0, joined_len = 0;
    kivo_packet pk = {0};
    kivo_buf x, y;

    if (!warm) {
        warm = make("1");
        plain = make("0");
        FUZZ_CHECK(warm->memo != NULL && plain->memo == NULL);
    }
    if (size < 1)
        return 0;
    pk.strictness = (kivo_strictness)((data[0] & 3) % 3);
    pk.intended_use = (kivo_intended_use)((data[0] >> 2 & 3) % 3);
    const char gap = data[0] >> 4 < 0x8 ? (char)" \n\t-. ]:,"[data[0] >> 4 & 7] : '\n';

    for (size_t at = 1; at <= size && n_parts <= MAX_SOURCES;) {
        const uint8_t *end = memchr(data + at, 0xFF, size - at);
        size_t len = end ? (size_t)(end - (data + at)) : size - at;
        if (!fuzz_utf8_valid(data + at, len))
            goto out;
        copies[n_copies++] = fuzz_copy(data + at, len);
        if (n_parts == 0) {
            pk.output = copies[n_copies - 1];
            pk.output_len = len;
        } else {
            kivo_source *s = &src[n_parts - 1];
            *s = (kivo_source){"s", 1, NULL, 0, copies[n_copies - 1], len};
            joined_len += len + 1;
        }
        n_parts++;
        at += len + 1;
    }
    pk.sources = src;
    pk.n_sources = n_parts ? n_parts - 1 : 0;

    kivo_buf_init(&x, 0);
    kivo_buf_init(&y, 0);
    compare(&pk, 1, &x, &y);
    if (pk.n_sources > 1) {
        /* The sources as one: their sentences after other sentences than before. */
        char *joined = malloc(joined_len);
        FUZZ_CHECK(joined != NULL);
        copies[n_copies++] = joined;
        size_t n = 0;
        for (size_t s = 0; s < pk.n_sources; s++) {
            if (s)
                joined[n++] = gap;
            memcpy(joined + n, src[s].text, src[s].text_len);
            n += src[s].text_len;
        }
        kivo_source one = {"s", 1, NULL, 0, joined, n};
        kivo_packet pj = pk;
        pj.sources = &one;
        pj.n_sources = 1;
        compare(&pj, 0, &x, &y);
        compare(&pk, 0, &x, &y); /* the parts again, after the whole */
    }
    kivo_buf_free(&x);
    kivo_buf_free(&y);
out:
    while (n_copies)
        free(copies[--n_copies]);
    return 0;
}
