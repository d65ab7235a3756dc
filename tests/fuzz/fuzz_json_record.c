/*
 * fuzz_json_record.c - one trace line through the JSON reader and the job spec's pointers, as the
 * worker's batch reads it: kivo_json_parse (simdjson), kivo_record_extract, kivo_json_flatten, and
 * the job spec's fields.metadata / fields.label (wk_meta_*: values read by pointer and spliced into
 * the claim report) with a fixed spec of six names and a label.
 *
 * Input: an optional first line "#fields\t<run id>\t<output>\t<sources>\t<id>\t<title>\t<text>\n"
 * with the six JSON Pointers of a job spec's "fields" (fewer are allowed, the rest keep their
 * defaults), then the trace line. Without that line the default pointers apply. The line sits in a
 * buffer whose padding holds JSON-looking junk after a line end, and the page after the padding
 * cannot be read: the parser may read the padding, never use it or read past it.
 *
 * Checks: every string of the tree is valid UTF-8 and every container's count is its number of
 * members; a record the reader accepts has a NUL-terminated run id of at most KIVO_RUN_ID_MAX
 * bytes and texts the engine may take (valid UTF-8); a refusal says why; metadata values are
 * valid UTF-8 of at most WK_META_STRING_MAX bytes, and a report with metadata spliced in is still
 * one JSON object.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "kivo/buf.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "metadata.h"

#define MAX_DEPTH 128 /* the worker's batch */

static kivo_json_parser *parser;
static wk_meta_spec meta;

/* The metadata spec every input is read with, loaded as a job spec's "fields" would give it. */
static void meta_load(void)
{
    static const char spec[] =
        "{\"metadata\":{\"model\":\"/model\",\"question\":\"/question\",\"split\":\"/meta/split\","
        "\"n\":\"/n\",\"flag\":\"/flag\",\"first\":\"/sources/0/id\"},\"label\":\"/label\"}";
    char *text = fuzz_copy_guarded(spec, sizeof spec - 1, KIVO_JSON_PADDING), err[256];
    const kivo_json_node *root;

    FUZZ_CHECK(kivo_json_parse(parser, text, sizeof spec - 1, sizeof spec - 1 + KIVO_JSON_PADDING,
                               0, &root) == KIVO_OK);
    if (wk_meta_spec_load(kivo_json_get(root, "metadata"), kivo_json_get(root, "label"), &meta, err,
                          sizeof err) != 0)
        fprintf(stderr, "fuzz_json_record: %s\n", err);
    FUZZ_CHECK(wk_meta_active(&meta));
}

static void check_meta(const kivo_json_node *root)
{
    static const char report[] = "{\"schema_version\":\"r\",\"claims\":[]}\n";
    wk_label label = wk_meta_label(&meta, root);
    kivo_buf reports;
    json_t *loaded;
    size_t len;

    FUZZ_CHECK(label == WK_LABEL_NONE || label == WK_LABEL_FAITHFUL ||
               label == WK_LABEL_HALLUCINATED);
    for (size_t i = 0; i < meta.n; i++) {
        const char *v = wk_meta_value_text(&meta, i, root, &len);
        FUZZ_CHECK(v || len == 0);
        FUZZ_CHECK(!v || (len <= WK_META_STRING_MAX && fuzz_utf8_valid((const uint8_t *)v, len)));
    }
    /* After one report already in the buffer, as the batch's slot holds them. */
    kivo_buf_init(&reports, 0);
    FUZZ_CHECK(kivo_buf_append(&reports, report, sizeof report - 1) == KIVO_OK);
    FUZZ_CHECK(kivo_buf_append(&reports, report, sizeof report - 1) == KIVO_OK);
    FUZZ_CHECK(wk_meta_splice(&meta, root, &reports, sizeof report - 1) == KIVO_OK);
    FUZZ_CHECK(memcmp(reports.data, report, sizeof report - 1) == 0);
    FUZZ_CHECK(reports.data[reports.len - 1] == '\n');
    /* A metadata number is copied as written: valid JSON even past int64 (2^63), which jansson
     * reads only as a real. */
    loaded = json_loadb(reports.data + sizeof report - 1, reports.len - (sizeof report - 1),
                        JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    FUZZ_CHECK(json_is_object(loaded) && json_is_object(json_object_get(loaded, "metadata")));
    json_decref(loaded);
    kivo_buf_free(&reports);
}

static void check_tree(const kivo_json_node *n, size_t input_len)
{
    size_t count = 0;

    FUZZ_CHECK(n->offset < input_len);
    if (n->key)
        FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)n->key, n->key_len));
    switch (n->type) {
    case KIVO_JSON_STRING:
        FUZZ_CHECK(n->len == 0 || n->str != NULL);
        FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)n->str, n->len));
        break;
    case KIVO_JSON_NUMBER: FUZZ_CHECK(n->str != NULL && n->len > 0); break;
    case KIVO_JSON_ARRAY:
    case KIVO_JSON_OBJECT:
        for (const kivo_json_node *c = n->child; c; c = c->next) {
            FUZZ_CHECK((c->key != NULL) == (n->type == KIVO_JSON_OBJECT));
            check_tree(c, input_len);
            count++;
        }
        FUZZ_CHECK(count == n->len);
        break;
    default: break;
    }
}

/* Splits "#fields\t..." off the input; fills f (defaults kept for pointers not given) and returns
 * the bytes of the header line, or 0 when there is none. Pointers are copied into store. */
static size_t read_header(const uint8_t *data, size_t size, kivo_fields *f, char store[6][512])
{
    static const char tag[] = "#fields";
    const char **slot[6] = {&f->customer_run_id, &f->output,       &f->sources,
                            &f->source_id,       &f->source_title, &f->source_text};
    const uint8_t *nl;
    size_t at = sizeof tag - 1;

    if (size < at || memcmp(data, tag, at) != 0 || !(nl = memchr(data, '\n', size)))
        return 0;
    for (int i = 0; i < 6 && at < (size_t)(nl - data) && data[at] == '\t'; i++) {
        size_t start = ++at;
        while (at < (size_t)(nl - data) && data[at] != '\t')
            at++;
        size_t len = at - start < 511 ? at - start : 511;
        memcpy(store[i], data + start, len);
        store[i][len] = '\0';
        *slot[i] = store[i];
    }
    return (size_t)(nl - data) + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kivo_fields f = {"/customer_run_id", "/output", "/sources", "/id", "/title", "/text"};
    char store[6][512];
    kivo_record_reader *reader = NULL;
    const kivo_json_node *root;
    kivo_record rec;
    kivo_buf flat;
    const char *why;
    char *line;
    size_t skip, len;
    kivo_status st;

    if (!parser) {
        FUZZ_CHECK(kivo_json_parser_create(MAX_DEPTH, &parser) == KIVO_OK);
        meta_load();
    }
    skip = read_header(data, size, &f, store);
    if (kivo_record_reader_create(&f, &reader) != KIVO_OK)
        return 0; /* a pointer a job spec would refuse */
    len = size - skip;
    line = fuzz_copy_guarded(data + skip, len, KIVO_JSON_PADDING);
    kivo_buf_init(&flat, 1u << 24);

    st = kivo_json_parse(parser, line, len, len + KIVO_JSON_PADDING, 0, &root);
    if (st != KIVO_OK) {
        FUZZ_CHECK(st != KIVO_ENOMEM);
        FUZZ_CHECK(kivo_json_parser_error(parser)[0] != '\0');
        goto out;
    }
    check_tree(root, len);
    {
        const char *ptr[6] = {f.customer_run_id, f.output,       f.sources,
                              f.source_id,       f.source_title, f.source_text};
        for (int i = 0; i < 6; i++)
            (void)kivo_json_pointer(root, ptr[i]);
    }

    check_meta(root);
    st = kivo_record_extract(reader, root, &rec, &why);
    if (st == KIVO_OK) {
        FUZZ_CHECK(rec.customer_run_id_len > 0 && rec.customer_run_id_len <= KIVO_RUN_ID_MAX);
        FUZZ_CHECK(strlen(rec.customer_run_id) == rec.customer_run_id_len);
        FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)rec.output, rec.output_len));
        for (size_t i = 0; i < rec.n_sources; i++) {
            const kivo_source *s = &rec.sources[i];
            FUZZ_CHECK(s->id != NULL && s->id_len > 0);
            FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)s->id, s->id_len));
            FUZZ_CHECK(!s->title || fuzz_utf8_valid((const uint8_t *)s->title, s->title_len));
            FUZZ_CHECK(s->text_len == 0 || s->text != NULL);
            FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)s->text, s->text_len));
        }
    } else if (st == KIVO_ESCHEMA) {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
    } else {
        FUZZ_CHECK(st == KIVO_ETOOBIG);
    }

    st = kivo_json_flatten(root, &flat);
    FUZZ_CHECK(st == KIVO_OK || st == KIVO_ETOOBIG);
    if (st == KIVO_OK)
        FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)flat.data, flat.len));
out:
    kivo_buf_free(&flat);
    kivo_record_reader_free(reader);
    return 0;
}
