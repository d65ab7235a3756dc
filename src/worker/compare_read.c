/*
 * compare_read.c - what compare takes from one claim report (kivo_claim_report.v1): ids, verdict,
 * categories, counts, engine and policy, the --group-by values under "metadata", the label, and
 * a hash of each flagged claim's text. Anything else in the report is left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "kivo/hash.h"
#include "kivo/wire.h"

static int copy_id(const kivo_json_node *n, char *out)
{
    if (!n || n->type != KIVO_JSON_STRING || n->len == 0 || n->len > KIVO_RUN_ID_MAX ||
        memchr(n->str, 0, n->len))
        return -1;
    memcpy(out, n->str, n->len);
    out[n->len] = '\0';
    return 0;
}

static uint32_t count_of(const kivo_json_node *n)
{
    return n && n->type == KIVO_JSON_NUMBER && n->is_int && n->i >= 0 && n->i <= UINT32_MAX
               ? (uint32_t)n->i
               : 0;
}

size_t wk_cmp_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t str_part(const kivo_json_node *n, const char **s)
{
    if (n && n->type == KIVO_JSON_STRING) {
        *s = n->str;
        return n->len;
    }
    *s = "";
    return 0;
}

int wk_cmp_read(kivo_json_parser *p, const wk_store_report *r, const wk_groups *g, wk_cmp_run *out,
                const char **why)
{
    const kivo_json_node *root, *n;
    if (kivo_json_parse(p, r->data, r->len, r->len + KIVO_JSON_PADDING, 0, &root) != KIVO_OK) {
        *why = "not valid JSON";
        return -1;
    }
    if (root->type != KIVO_JSON_OBJECT ||
        !kivo_json_streq(kivo_json_get(root, "schema_version"), KIVO_WIRE_SCHEMA_CLAIM_REPORT)) {
        *why = "not a " KIVO_WIRE_SCHEMA_CLAIM_REPORT;
        return -1;
    }
    if (copy_id(kivo_json_get(root, "workflow_id"), out->workflow_id) != 0 ||
        copy_id(kivo_json_get(root, "customer_run_id"), out->run_id) != 0) {
        *why = "no usable workflow_id or customer_run_id";
        return -1;
    }
    n = kivo_json_get(root, "gate_verdict");
    if (!n || n->type != KIVO_JSON_STRING ||
        kivo_verdict_parse(n->str, n->len, &out->verdict) != KIVO_OK) {
        *why = "no usable gate_verdict";
        return -1;
    }
    out->categories = 0;
    n = kivo_json_get(root, "failure_categories");
    for (const kivo_json_node *c = n && n->type == KIVO_JSON_ARRAY ? n->child : NULL; c;
         c = c->next) {
        kivo_category cat;
        if (c->type == KIVO_JSON_STRING && kivo_category_parse(c->str, c->len, &cat) == KIVO_OK)
            out->categories |= 1u << cat;
    }
    out->claims = count_of(kivo_json_get(root, "claim_count"));
    out->unsupported = count_of(kivo_json_get(root, "unsupported_claim_count"));
    out->engine_len = str_part(kivo_json_get(root, "engine_version"), &out->engine);
    out->batch_len = str_part(kivo_json_get(root, "batch_id"), &out->batch);
    if (!out->batch_len) {
        out->batch = "default"; /* absent means the default batch (api.md) */
        out->batch_len = 7;
    }
    const char *st, *use, *pol;
    size_t stl = str_part(kivo_json_get(root, "strictness"), &st);
    size_t usel = str_part(kivo_json_get(root, "intended_use"), &use);
    size_t poll = str_part(kivo_json_get(root, "policy_version"), &pol);
    if (!poll) {
        pol = "(no policy_version)";
        poll = strlen(pol);
    }
    snprintf(out->policy, sizeof out->policy, "%.*s/%.*s/%.*s", (int)wk_cmp_utf8_cut(st, stl, 64),
             st, (int)wk_cmp_utf8_cut(use, usel, 64), use, (int)wk_cmp_utf8_cut(pol, poll, 500),
             pol);

    /* The flagged claims, as a sorted list of text hashes. */
    out->n_flag = 0;
    n = kivo_json_get(root, "claims");
    for (const kivo_json_node *c = n && n->type == KIVO_JSON_ARRAY ? n->child : NULL; c;
         c = c->next) {
        const kivo_json_node *status = kivo_json_get(c, "status");
        const kivo_json_node *text = kivo_json_get(c, "text");
        if (!status || kivo_json_streq(status, "supported") || !text ||
            text->type != KIVO_JSON_STRING)
            continue;
        if (out->n_flag == out->cap_flag) {
            size_t cap = out->cap_flag ? out->cap_flag * 2 : 16;
            uint64_t *h = realloc(out->flag_hashes, cap * sizeof *h);
            if (!h) {
                *why = "out of memory";
                return -1;
            }
            out->flag_hashes = h;
            out->cap_flag = cap;
        }
        out->flag_hashes[out->n_flag++] = kivo_hash_xxh3(text->str, text->len);
    }
    if (out->n_flag > 1)
        qsort(out->flag_hashes, out->n_flag, sizeof *out->flag_hashes, by_u64);

    const kivo_json_node *md = kivo_json_get(root, "metadata");
    for (size_t k = 0; g && k < wk_groups_fields(g); k++) {
        const kivo_json_node *v =
            md && md->type == KIVO_JSON_OBJECT ? kivo_json_get(md, wk_groups_name(g, k)) : NULL;
        out->group_value[k] = NULL;
        out->group_len[k] = 0;
        if (v && (v->type == KIVO_JSON_STRING || v->type == KIVO_JSON_NUMBER)) {
            out->group_value[k] = v->str;
            out->group_len[k] = v->len;
        } else if (v && v->type == KIVO_JSON_BOOL) {
            out->group_value[k] = v->boolean ? "true" : "false";
            out->group_len[k] = v->boolean ? 4 : 5;
        }
    }
    n = kivo_json_get(root, "label");
    out->label = kivo_json_streq(n, "hallucinated") ? WK_LABEL_HALLUCINATED
                 : kivo_json_streq(n, "faithful")   ? WK_LABEL_FAITHFUL
                                                    : WK_LABEL_NONE;
    return 0;
}

void wk_cmp_run_free(wk_cmp_run *run)
{
    free(run->flag_hashes);
    run->flag_hashes = NULL;
    run->n_flag = run->cap_flag = 0;
}
