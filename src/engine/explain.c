/*
 * explain.c - the engine's debug view: rule names, and one detail line per claim when explain is
 * on (kivo/explain.h).
 *
 * The lines live in one buffer, each NUL-terminated, with an offset per claim; the buffer and the
 * offsets are reused from review to review. With explain off every call here returns at once, so
 * the rules can describe themselves without costing the normal path anything but a branch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine_int.h"
#include "grow_int.h"
#include "kivo/explain.h"

static const char *const rule_names[] = {
    "none",           "coverage",
    "number_missing", "number_conflict",
    "name_missing",   "negation_unmatched",
    "field",          "null_field",
    "hours",          "opposite",
    "negation_scope", "modality",
    "quantifier",     "bound",
    "role",           "swap",
    "unit",           "antonym",
    "exchange",
};

_Static_assert(sizeof rule_names / sizeof rule_names[0] == KIVO_RULE_COUNT,
               "one name per kivo_rule");

const char *kivo_rule_name(kivo_rule r)
{
    return (size_t)r < KIVO_RULE_COUNT ? rule_names[r] : "unknown";
}

void kivo_engine_set_explain(kivo_engine *e, int on)
{
    e->explain = on != 0;
}

const char *kivo_engine_explain(const kivo_engine *e, size_t i)
{
    if (!e->explain || i >= e->n_xoff || !e->xbuf.data)
        return "";
    return e->xbuf.data + e->xoff[i];
}

void kv_explain_reset(kivo_engine *e)
{
    e->n_xoff = 0;
    kivo_buf_reset(&e->xbuf);
}

void kv_explain_open(kivo_engine *e)
{
    if (!e->explain)
        return;
    if (kv_grow((void **)&e->xoff, &e->cap_xoff, e->n_xoff + 1, sizeof *e->xoff, 64) != KIVO_OK)
        return; /* the line is lost; kivo_engine_explain answers "" past n_xoff */
    e->xoff[e->n_xoff++] = e->xbuf.len;
}

void kv_explain_close(kivo_engine *e)
{
    if (e->explain)
        (void)kivo_buf_append(&e->xbuf, "", 1);
}

void kv_explain_add(kivo_engine *e, const char *fmt, ...)
{
    if (!e->explain)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)kivo_buf_append(&e->xbuf, line,
                              (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void kv_explain_words(kivo_engine *e, const char *label, const char *text, const kv_token *toks,
                      size_t n, const uint8_t *mark)
{
    if (!e->explain)
        return;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mark[i])
            continue;
        kv_explain_add(e, "%s%.*s", any ? " " : label, (int)(toks[i].end - toks[i].start),
                       text + toks[i].start);
        any = 1;
    }
    if (any)
        kv_explain_add(e, ";");
}
