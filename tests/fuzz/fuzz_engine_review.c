/*
 * fuzz_engine_review.c - the claim engine on any output and sources: kivo_engine_review, then what
 * a review becomes (claim report, completed event, the reviewer's page data).
 *
 * Input: one byte of options (bits 0-1 strictness, bits 2-3 intended use, each modulo 3), then
 * the output and each source's text, separated by 0xFF (a byte UTF-8 never holds). A source part
 * "title 0xFE text" has a title. Every part must be valid UTF-8 (the engine's contract; the JSON
 * reader guarantees it), else the input is skipped. Each text is copied into an allocation of its
 * exact size: texts are not NUL-terminated, and ASan sees the first byte read past one.
 *
 * Checks: claims, evidence and spans lie inside their texts; counts, categories and the verdict
 * agree with the claims; the report is JSON; the event has no raw field; the page data renders;
 * a second review of the same packet gives the same report, byte for byte; and so does a new
 * engine without the readings memo (KIVO_ENGINE_MEMO=0), which keeps nothing of earlier inputs:
 * what the long-lived engine's memos and caches carry over must not change a report.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "html.h"
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/report.h"
#include "kivo/review.h"
#include "kivo/wire.h"
#include "outbox.h"

#define MAX_SOURCES 32

static kivo_engine *engine;
static kivo_hasher *hasher;

static void check_review(const kivo_packet *pk, const kivo_review *rv)
{
    size_t unsupported = 0, contradicted = 0, partial = 0;
    uint32_t cats = 0;
    kivo_verdict gate, safe;

    for (size_t i = 0; i < rv->n_claims; i++) {
        const kivo_claim *c = &rv->claims[i];
        FUZZ_CHECK(c->start < c->end && c->end <= pk->output_len);
        FUZZ_CHECK(c->status >= KIVO_CLAIM_SUPPORTED && c->status <= KIVO_CLAIM_CONTRADICTED);
        FUZZ_CHECK(c->support_score >= 0.0 && c->support_score <= 1.0);
        FUZZ_CHECK(c->category >= KIVO_CAT_NONE && c->category < KIVO_CAT_COUNT);
        /* review.h: a category when not supported, none when supported. */
        FUZZ_CHECK(c->status != KIVO_CLAIM_SUPPORTED || c->category == KIVO_CAT_NONE);
        FUZZ_CHECK((c->status != KIVO_CLAIM_UNSUPPORTED && c->status != KIVO_CLAIM_CONTRADICTED) ||
                   c->category != KIVO_CAT_NONE);
        FUZZ_CHECK(c->n_evidence <= KIVO_MAX_EVIDENCE);
        for (size_t k = 0; k < c->n_evidence; k++) {
            const kivo_evidence *ev = &c->evidence[k];
            FUZZ_CHECK(ev->source < pk->n_sources);
            FUZZ_CHECK(ev->start <= ev->end && ev->end <= pk->sources[ev->source].text_len);
        }
        FUZZ_CHECK(c->n_unsupported_spans <= KIVO_MAX_UNSUPPORTED_SPANS);
        for (size_t k = 0; k < c->n_unsupported_spans; k++) {
            const kivo_text_span *sp = &c->unsupported_spans[k];
            FUZZ_CHECK(sp->start < sp->end && sp->start >= c->start && sp->end <= c->end);
            FUZZ_CHECK(k == 0 || sp->start >= c->unsupported_spans[k - 1].end);
        }
        unsupported += c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED;
        contradicted += c->status == KIVO_CLAIM_CONTRADICTED;
        partial += c->status == KIVO_CLAIM_PARTIALLY_SUPPORTED;
        if (c->category != KIVO_CAT_NONE)
            cats |= 1u << c->category;
    }
    FUZZ_CHECK(rv->unsupported_count == unsupported);
    FUZZ_CHECK(rv->contradicted_count == contradicted);
    FUZZ_CHECK(rv->partial_count == partial);
    FUZZ_CHECK((rv->categories & cats) == cats);
    FUZZ_CHECK(rv->categories >> KIVO_CAT_COUNT == 0 && (rv->categories & 1u) == 0);
    kivo_verdict_decide(pk->strictness, pk->intended_use, rv->n_claims, rv->unsupported_count,
                        rv->contradicted_count, rv->partial_count, rv->categories, &gate, &safe);
    FUZZ_CHECK(rv->gate_verdict == gate && rv->safe_use_status == safe);
    FUZZ_CHECK(kivo_hash_text_valid(rv->output_hash, strlen(rv->output_hash)));
    for (size_t i = 0; i < pk->n_sources; i++)
        FUZZ_CHECK(kivo_hash_text_valid(rv->source_hashes[i], strlen(rv->source_hashes[i])));
}

/* Reviews pk and renders its report into out. @return the review, or NULL when the engine
 * refused the packet as over one of its bounds. */
static const kivo_review *review_and_render(kivo_engine *e, const kivo_packet *pk,
                                            const kivo_run_meta *meta, kivo_buf *out)
{
    const kivo_review *rv = NULL;
    kivo_status st = kivo_engine_review(e, pk, &rv);

    if (st == KIVO_ETOOBIG)
        return NULL;
    FUZZ_CHECK(st == KIVO_OK && rv != NULL);
    check_review(pk, rv);
    st = kivo_report_render(pk, rv, meta, out);
    FUZZ_CHECK(st == KIVO_OK);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kivo_source src[MAX_SOURCES];
    char *copies[2 * MAX_SOURCES + 1];
    size_t n_copies = 0, n_parts = 0;
    kivo_packet pk = {0};
    kivo_run_meta meta = {
        NULL,         "fuzz-run",    "fuzz-workflow",          "fuzz-worker", "0", NULL,
        "fuzz store", KIVO_STANDARD, KIVO_USE_CUSTOMER_FACING, NULL};
    char ids[MAX_SOURCES][16], report_hash[KIVO_HASH_TEXT_SIZE];
    kivo_buf report, again, event, page;
    const kivo_review *rv;
    const char *field, *use_instead;
    json_t *loaded;

    if (!engine) {
        FUZZ_CHECK(kivo_engine_create(&engine) == KIVO_OK);
        FUZZ_CHECK(kivo_hasher_create(&hasher) == KIVO_OK);
    }
    if (size < 1)
        return 0;
    pk.strictness = (kivo_strictness)((data[0] & 3) % 3);
    pk.intended_use = (kivo_intended_use)((data[0] >> 2 & 3) % 3);
    meta.strictness = pk.strictness;
    meta.intended_use = pk.intended_use;

    /* Cut the rest into parts at 0xFF: the output, then one source each. */
    for (size_t at = 1; at <= size && n_parts <= MAX_SOURCES;) {
        const uint8_t *end = memchr(data + at, 0xFF, size - at);
        size_t len = end ? (size_t)(end - (data + at)) : size - at;
        const uint8_t *part = data + at, *text = part;
        size_t text_len = len;
        const uint8_t *sep = n_parts ? memchr(part, 0xFE, len) : NULL;
        if (sep) {
            text = sep + 1;
            text_len = len - (size_t)(text - part);
        }
        if (!fuzz_utf8_valid(text, text_len) ||
            (sep && !fuzz_utf8_valid(part, (size_t)(sep - part))))
            goto out;
        copies[n_copies++] = fuzz_copy(text, text_len);
        if (n_parts == 0) {
            pk.output = copies[n_copies - 1];
            pk.output_len = text_len;
        } else {
            kivo_source *s = &src[n_parts - 1];
            s->id_len = (size_t)snprintf(ids[n_parts - 1], sizeof ids[0], "s%zu", n_parts);
            s->id = ids[n_parts - 1];
            s->text = copies[n_copies - 1];
            s->text_len = text_len;
            s->title = NULL;
            s->title_len = 0;
            if (sep) {
                s->title_len = (size_t)(sep - part);
                s->title = copies[n_copies++] = fuzz_copy(part, s->title_len);
            }
        }
        n_parts++;
        at += len + 1;
    }
    pk.sources = src;
    pk.n_sources = n_parts ? n_parts - 1 : 0;

    kivo_buf_init(&report, 0);
    kivo_buf_init(&again, 0);
    kivo_buf_init(&event, 0);
    kivo_buf_init(&page, 0);
    rv = review_and_render(engine, &pk, &meta, &report);
    if (!rv)
        goto done;
    FUZZ_CHECK((loaded = json_loadb(report.data, report.len, JSON_ALLOW_NUL, NULL)) != NULL);
    FUZZ_CHECK(json_is_object(loaded));
    json_decref(loaded);

    FUZZ_CHECK(kivo_hasher_sha256_text(hasher, report.data, report.len, report_hash) == KIVO_OK);
    kivo_wire_event ev = {KIVO_EVENT_COMPLETED, &meta, 1, rv, pk.n_sources, report_hash, NULL};
    FUZZ_CHECK(kivo_wire_event_render(hasher, &ev, NULL, &event) == KIVO_OK);
    FUZZ_CHECK(wk_event_raw_field_text(event.data, event.len, &field, &use_instead) == 0);
    FUZZ_CHECK(wk_html_run_data(&pk, report.data, report.len, &page) == KIVO_OK);

    /* The same packet again, on the engine the last review left behind: the same bytes. */
    FUZZ_CHECK(review_and_render(engine, &pk, &meta, &again) != NULL);
    FUZZ_CHECK(again.len == report.len && memcmp(again.data, report.data, report.len) == 0);
    /* What the engine kept of earlier packets (memo hits, caches) gives the bytes of an engine
     * that saw none of them and reads every sentence. */
    kivo_engine *fresh;
    FUZZ_CHECK(setenv("KIVO_ENGINE_MEMO", "0", 1) == 0);
    FUZZ_CHECK(kivo_engine_create(&fresh) == KIVO_OK);
    FUZZ_CHECK(unsetenv("KIVO_ENGINE_MEMO") == 0);
    kivo_buf_reset(&again);
    FUZZ_CHECK(review_and_render(fresh, &pk, &meta, &again) != NULL);
    FUZZ_CHECK(again.len == report.len && memcmp(again.data, report.data, report.len) == 0);
    kivo_engine_free(fresh);
done:
    kivo_buf_free(&report);
    kivo_buf_free(&again);
    kivo_buf_free(&event);
    kivo_buf_free(&page);
out:
    while (n_copies)
        free(copies[--n_copies]);
    return 0;
}
