/* gate.c - parsing and evaluating --fail-on conditions (see gate.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

typedef enum op { OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE } op;

static const char *const op_text[] = {">", ">=", "<", "<=", "==", "!="};

typedef struct cond {
    char text[128]; /* as written, white space removed */
    size_t metric;
    op op;
    double bound;
} cond;

struct wk_gate {
    cond c[WK_GATE_MAX];
    size_t n;
};

void wk_gate_names(const wk_metric *m, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", m[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* One condition, s[0..len) without white space. */
static int parse_one(const char *s, size_t len, const wk_metric *m, size_t n, cond *c, char *err,
                     size_t errlen)
{
    char names[1024];
    size_t k = 0;
    while (k < len && (isalnum((unsigned char)s[k]) || s[k] == '_'))
        k++;
    if (len >= sizeof c->text || k == 0 || k == len) {
        snprintf(err, errlen, "--fail-on: \"%.*s\" is not a condition such as fail_rate>0.02",
                 (int)(len > 80 ? 80 : len), s);
        return -1;
    }
    memcpy(c->text, s, len);
    c->text[len] = '\0';
    size_t i;
    for (i = 0; i < n; i++)
        if (strlen(m[i].name) == k && memcmp(m[i].name, s, k) == 0)
            break;
    if (i == n) {
        wk_gate_names(m, n, names, sizeof names);
        snprintf(err, errlen, "--fail-on: unknown metric \"%.*s\" in \"%s\"; the metrics are: %s",
                 (int)k, s, c->text, names);
        return -1;
    }
    c->metric = i;
    const char *p = s + k;
    size_t rest = len - k;
    int found = 0;
    /* Two-character operators first, so that ">=" is not read as ">" and "=0.1". */
    for (int o = OP_GE; !found && o <= OP_NE; o++) {
        size_t ol = strlen(op_text[o]);
        if (ol == 2 && rest > 2 && memcmp(p, op_text[o], 2) == 0) {
            c->op = (op)o;
            found = 2;
        }
    }
    if (!found && rest > 1 && (p[0] == '>' || p[0] == '<')) {
        c->op = p[0] == '>' ? OP_GT : OP_LT;
        found = 1;
    }
    char num[64];
    size_t nl = rest - (size_t)found;
    char *end;
    if (found && nl > 0 && nl < sizeof num) {
        memcpy(num, p + found, nl);
        num[nl] = '\0';
        c->bound = strtod(num, &end);
        if (*end == '\0' && isfinite(c->bound))
            return 0;
    }
    snprintf(err, errlen,
             "--fail-on: \"%s\" must be NAME OP NUMBER, OP one of > >= < <= == !=", c->text);
    return -1;
}

int wk_gate_parse(const char *expr, const wk_metric *m, size_t n, wk_gate **out, char *err,
                  size_t errlen)
{
    wk_gate *g = calloc(1, sizeof *g);
    char *copy = NULL;
    *out = NULL;
    if (!g || !(copy = malloc(strlen(expr) + 1))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* White space is allowed anywhere ("fail_rate > 0.02, p < 0.05"): drop it. */
    size_t w = 0;
    for (const char *p = expr; *p; p++)
        if (!isspace((unsigned char)*p))
            copy[w++] = *p;
    copy[w] = '\0';
    for (char *p = copy;;) {
        char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (g->n == WK_GATE_MAX) {
            snprintf(err, errlen, "--fail-on: at most %d conditions", WK_GATE_MAX);
            goto fail;
        }
        if (parse_one(p, len, m, n, &g->c[g->n], err, errlen) != 0)
            goto fail;
        g->n++;
        if (!e)
            break;
        p = e + 1;
    }
    free(copy);
    *out = g;
    return 0;
fail:
    free(copy);
    free(g);
    return -1;
}

void wk_gate_free(wk_gate *g)
{
    free(g);
}

static int holds(op o, double v, double b)
{
    switch (o) {
    case OP_GT: return v > b;
    case OP_GE: return v >= b;
    case OP_LT: return v < b;
    case OP_LE: return v <= b;
    case OP_EQ: return v == b;
    default: return v != b;
    }
}

size_t wk_gate_eval(const wk_gate *g, const wk_metric *m, size_t n, char *msg, size_t msglen)
{
    size_t tripped = 0, used = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        const cond *c = &g->c[i];
        if (c->metric >= n)
            continue;
        const wk_metric *x = &m[c->metric];
        int undefined = !isfinite(x->value);
        if (!undefined && !holds(c->op, x->value, c->bound))
            continue;
        tripped++;
        int wr = undefined ? snprintf(msg + used, msglen - used,
                                      "%s%s (%s is undefined for this job: "
                                      "%s)",
                                      used ? "\n" : "", c->text, x->name, x->undefined_why)
                           : snprintf(msg + used, msglen - used, "%s%s (%s = %.6g)",
                                      used ? "\n" : "", c->text, x->name, x->value);
        if (wr > 0 && (size_t)wr < msglen - used)
            used += (size_t)wr;
    }
    return tripped;
}
