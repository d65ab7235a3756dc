/*
 * explain.c - `kivo-worker explain`: the same review as `batch`, one record at a time on one
 * thread, printed claim by claim with the rule that decided each status (kivo/explain.h).
 *
 * Records are read with the batch's reader (plain, .gz, .zst; over-long lines skipped), so a
 * record explains the same here as it reviews there. Text output is for people; --json gives one
 * object per record for scripts (the behavioural suite's runner reads it).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "explain.h"
#include "inputs.h"
#include "kivo/explain.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "kivo/review.h"
#include "kivo/wire.h"
#include "reader.h"
#include "review.h"

#define JSON_MAX_DEPTH 128
#define CHUNK_BYTES (1u << 20)

static int wanted(const wk_explain_opts *o, const char *id)
{
    if (!o->run_ids)
        return 1;
    for (size_t i = 0; i < o->n_run_ids; i++)
        if (strcmp(o->run_ids[i], id) == 0)
            return 1;
    return 0;
}

static json_t *text_json(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    return v ? v : json_string("");
}

static json_t *claim_json(const kivo_engine *e, const kivo_packet *p, const kivo_claim *c, size_t i)
{
    json_t *o = json_object(), *spans = json_array();
    const char *cat = kivo_category_name(c->category);
    char id[32];
    snprintf(id, sizeof id, "c%zu", i + 1);
    json_object_set_new(o, "claim_id", json_string(id));
    json_object_set_new(o, "text", text_json(p->output + c->start, c->end - c->start));
    json_object_set_new(o, "start", json_integer((json_int_t)c->start));
    json_object_set_new(o, "end", json_integer((json_int_t)c->end));
    json_object_set_new(o, "status", json_string(kivo_claim_status_name(c->status)));
    json_object_set_new(o, "failure_category", cat ? json_string(cat) : json_null());
    json_object_set_new(o, "support_score", json_real(c->support_score));
    json_object_set_new(o, "rule", json_string(kivo_rule_name(c->rule)));
    json_object_set_new(
        o, "detail",
        json_string(kivo_engine_explain(e, i) + strspn(kivo_engine_explain(e, i), " ")));
    for (size_t k = 0; k < c->n_unsupported_spans; k++) {
        const kivo_text_span *s = &c->unsupported_spans[k];
        json_array_append_new(spans, text_json(p->output + s->start, s->end - s->start));
    }
    json_object_set_new(o, "unsupported_spans", spans);
    return o;
}

static void print_record(FILE *out, const wk_explain_opts *o, const kivo_engine *e,
                         const char *file, uint64_t line, const char *id, const kivo_packet *p,
                         const kivo_review *r)
{
    if (o->json) {
        json_t *rec = json_object(), *claims = json_array();
        json_object_set_new(rec, "customer_run_id", json_string(id));
        json_object_set_new(rec, "file", json_string(file));
        json_object_set_new(rec, "line", json_integer((json_int_t)line));
        json_object_set_new(rec, "gate_verdict", json_string(kivo_verdict_name(r->gate_verdict)));
        json_t *cats = json_array();
        for (int c = 1; c < KIVO_CAT_COUNT; c++)
            if (r->categories & (1u << c))
                json_array_append_new(cats, json_string(kivo_category_name((kivo_category)c)));
        json_object_set_new(rec, "failure_categories", cats);
        for (size_t i = 0; i < r->n_claims; i++)
            json_array_append_new(claims, claim_json(e, p, &r->claims[i], i));
        json_object_set_new(rec, "claims", claims);
        char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            fprintf(out, "%s\n", s);
        free(s);
        json_decref(rec);
        return;
    }
    fprintf(out, "%s  (%s line %llu)  %s\n", id, file, (unsigned long long)line,
            kivo_verdict_name(r->gate_verdict));
    for (size_t i = 0; i < r->n_claims; i++) {
        const kivo_claim *c = &r->claims[i];
        const char *cat = kivo_category_name(c->category);
        fprintf(out, "  c%zu %s %.4f %s [%s] \"%.*s\"\n", i + 1, kivo_claim_status_name(c->status),
                c->support_score, cat ? cat : "-", kivo_rule_name(c->rule),
                (int)(c->end - c->start), p->output + c->start);
        const char *d = kivo_engine_explain(e, i);
        d += strspn(d, " ");
        if (d[0])
            fprintf(out, "      %s\n", d);
        for (size_t k = 0; k < c->n_unsupported_spans; k++)
            fprintf(out, "      unsupported: \"%.*s\"\n",
                    (int)(c->unsupported_spans[k].end - c->unsupported_spans[k].start),
                    p->output + c->unsupported_spans[k].start);
    }
}

static void print_reject(FILE *out, const wk_explain_opts *o, const char *file, uint64_t line,
                         const char *why)
{
    if (o->run_ids)
        return;
    if (o->json) {
        json_t *rec = json_object();
        json_object_set_new(rec, "file", json_string(file));
        json_object_set_new(rec, "line", json_integer((json_int_t)line));
        json_object_set_new(rec, "rejected", json_string(why));
        char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            fprintf(out, "%s\n", s);
        free(s);
        json_decref(rec);
    } else {
        fprintf(out, "%s line %llu: rejected: %s\n", file, (unsigned long long)line, why);
    }
}

kivo_status wk_explain_run(const wk_jobspec *spec, const wk_explain_opts *opts, FILE *out,
                           char *err, size_t errlen)
{
    kivo_status rc = KIVO_EIO;
    wk_inputs in = {0};
    wk_reader *rd = NULL;
    wk_chunk chunk = {0};
    kivo_json_parser *parser = NULL;
    kivo_record_reader *reader = NULL;
    kivo_engine *engine = NULL;
    if (wk_inputs_expand(wk_jobspec_inputs_dir(spec), spec->inputs, spec->n_inputs, &in, err,
                         errlen) != 0) {
        rc = KIVO_EINVAL;
        goto out;
    }
    if (wk_reader_open(&in, CHUNK_BYTES, spec->max_line_bytes, &rd) != 0 ||
        kivo_json_parser_create(JSON_MAX_DEPTH, &parser) != KIVO_OK ||
        kivo_record_reader_create(&spec->fields, &reader) != KIVO_OK ||
        kivo_engine_create(&engine) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    kivo_engine_set_explain(engine, 1);
    size_t cur_file = (size_t)-1;
    uint64_t line = 0;
    int r;
    while ((r = wk_reader_next(rd, &chunk)) > 0) {
        const char *file = in.paths[chunk.file];
        if (chunk.file != cur_file) {
            cur_file = chunk.file;
            line = 0;
        }
        if (chunk.corrupt) {
            print_reject(out, opts, file, line + 1, "compressed data is corrupt or truncated");
            continue;
        }
        if (chunk.overlong) {
            print_reject(out, opts, file, ++line, "line over the job's max_line_bytes");
            continue;
        }
        const char *p = chunk.buf, *end = chunk.buf + chunk.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            size_t len = (size_t)(le - p);
            line++;
            if (len && p[len - 1] == '\r')
                len--;
            size_t readable = (size_t)(chunk.buf + chunk.cap + KIVO_JSON_PADDING - p);
            const kivo_json_node *root;
            kivo_record rec;
            const kivo_review *rv;
            const char *why;
            if (kivo_json_blank(p, len)) {
                p = le + 1;
                continue;
            }
            kivo_status st = kivo_json_parse(parser, p, len, readable, 0, &root);
            if (st == KIVO_OK && (st = kivo_record_extract(reader, root, &rec, &why)) != KIVO_OK &&
                st != KIVO_ESCHEMA) {
                snprintf(err, errlen, "%s line %llu: %s", file, (unsigned long long)line,
                         kivo_status_str(st));
                goto out;
            }
            if (st != KIVO_OK) {
                print_reject(out, opts, file, line,
                             st == KIVO_ESCHEMA ? why : kivo_json_parser_error(parser));
            } else if (wanted(opts, rec.customer_run_id)) {
                kivo_packet pk = wk_review_packet(spec, &rec);
                if ((st = kivo_engine_review(engine, &pk, &rv)) == KIVO_ETOOBIG) {
                    print_reject(out, opts, file, line, kivo_engine_errmsg(engine));
                    p = le + 1;
                    continue;
                }
                if (st != KIVO_OK) {
                    snprintf(err, errlen, "%s line %llu: %s", file, (unsigned long long)line,
                             kivo_status_str(st));
                    goto out;
                }
                print_record(out, opts, engine, file, line, rec.customer_run_id, &pk, rv);
            }
            p = le + 1;
        }
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot read %s", wk_reader_failed_file(rd));
        goto out;
    }
    rc = fflush(out) == 0 ? KIVO_OK : KIVO_EIO;
    if (rc != KIVO_OK)
        snprintf(err, errlen, "cannot write the explanation");
out:
    kivo_engine_free(engine);
    kivo_record_reader_free(reader);
    kivo_json_parser_free(parser);
    wk_chunk_free(&chunk);
    wk_reader_close(rd);
    wk_inputs_free(&in);
    return rc;
}
