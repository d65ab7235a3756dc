/*
 * breakdown.c - a batch's labeled evaluation and --group-by breakdown (see breakdown.h). Memory is
 * bounded: a tally per group slot, and at most WK_DISAGREE_MAX disagreements kept.
 */
#include <stdlib.h>
#include <string.h>

#include "breakdown.h"
#include "kivo/wire.h"
#include "output.h"

typedef struct disagreement {
    char *id;
    uint32_t claims, unsupported, categories;
    uint8_t verdict, label, has_page;
} disagreement;

struct wk_breakdown {
    int labeled;
    char *label_pointer;
    char workflow[WK_COMPONENT_MAX];
    wk_tally total;
    wk_groups *groups;
    wk_tally *per[WK_GROUP_MAX_FIELDS]; /* wk_groups_slots() tallies per field */
    disagreement *dis;
    size_t n_dis;
    uint64_t dis_total;
};

int wk_breakdown_create(const wk_jobspec *spec, const char *group_by, wk_breakdown **out, char *err,
                        size_t errlen)
{
    wk_breakdown *b;
    *out = NULL;
    if (!spec->meta.label && !group_by)
        return 0;
    if (!(b = calloc(1, sizeof *b)))
        goto oom;
    b->labeled = spec->meta.label != NULL;
    wk_path_component(spec->workflow_id, strlen(spec->workflow_id), b->workflow);
    if (b->labeled && (!(b->label_pointer = strdup(spec->meta.label)) ||
                       !(b->dis = calloc(WK_DISAGREE_MAX, sizeof *b->dis))))
        goto oom;
    if (group_by) {
        if (wk_groups_create(group_by, &spec->meta, &b->groups, err, errlen) != 0) {
            wk_breakdown_free(b);
            return -1;
        }
        for (size_t k = 0; k < wk_groups_fields(b->groups); k++)
            if (!(b->per[k] = calloc(wk_groups_slots(), sizeof *b->per[k])))
                goto oom;
    }
    *out = b;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    wk_breakdown_free(b);
    return -1;
}

void wk_breakdown_free(wk_breakdown *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_dis; i++)
        free(b->dis[i].id);
    free(b->dis);
    for (size_t k = 0; k < WK_GROUP_MAX_FIELDS; k++)
        free(b->per[k]);
    wk_groups_free(b->groups);
    free(b->label_pointer);
    free(b);
}

const wk_groups *wk_breakdown_groups(const wk_breakdown *b)
{
    return b ? b->groups : NULL;
}

const wk_tally *wk_breakdown_total(const wk_breakdown *b)
{
    return &b->total;
}

int wk_breakdown_labeled(const wk_breakdown *b)
{
    return b->labeled;
}

int wk_breakdown_add(wk_breakdown *b, const char *run_id, kivo_verdict v, uint32_t categories,
                     uint32_t claims, uint32_t unsupported, wk_label label,
                     const char *const *values, const size_t *lens, int has_page)
{
    if (!b->labeled)
        label = WK_LABEL_NONE;
    wk_tally_add(&b->total, v, categories, claims, unsupported, label);
    for (size_t k = 0; b->groups && k < wk_groups_fields(b->groups); k++) {
        int slot = wk_groups_slot(b->groups, k, values[k], lens[k]);
        if (slot < 0)
            return -1;
        wk_tally_add(&b->per[k][slot], v, categories, claims, unsupported, label);
    }
    if (label != WK_LABEL_NONE && wk_flagged(v) != (label == WK_LABEL_HALLUCINATED)) {
        b->dis_total++;
        if (b->n_dis < WK_DISAGREE_MAX) {
            disagreement *d = &b->dis[b->n_dis];
            if (!(d->id = strdup(run_id)))
                return -1;
            d->claims = claims;
            d->unsupported = unsupported;
            d->categories = categories;
            d->verdict = (uint8_t)v;
            d->label = (uint8_t)label;
            d->has_page = (uint8_t) !!has_page;
            b->n_dis++;
        }
    }
    return 0;
}

static int put(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

/* {"value": v, ...tally} */
static json_t *group_json(const wk_breakdown *b, size_t k, int slot)
{
    json_t *t = wk_tally_json(&b->per[k][slot], b->labeled);
    json_t *o = json_object();
    if (!t || !o || put(o, "value", wk_groups_value_json(b->groups, k, slot)) != 0 ||
        json_object_update(o, t) != 0) {
        json_decref(t);
        json_decref(o);
        return NULL;
    }
    json_decref(t);
    return o;
}

int wk_breakdown_to_summary(const wk_breakdown *b, json_t *summary)
{
    int bad = 0;
    if (b->labeled) {
        json_t *e = wk_evaluation_json(&b->total);
        bad |= put(e, "label_pointer", json_string(b->label_pointer));
        bad |= put(e, "flagged_means", json_string("needs_review or fail"));
        bad |= put(e, "positive_means",
                   json_string("hallucinated (true, \"hallucinated\" or "
                               "\"fail\")"));
        bad |= put(summary, "evaluation", e);
    }
    if (!bad && b->groups) {
        json_t *groups = json_object();
        int *slots = malloc(WK_GROUP_MAX_VALUES * sizeof *slots);
        bad |= !groups || !slots;
        for (size_t k = 0; !bad && k < wk_groups_fields(b->groups); k++) {
            json_t *f = json_object(), *vals = json_array();
            size_t n = wk_groups_sorted(b->groups, k, slots);
            bad |= !f || !vals;
            for (size_t i = 0; !bad && i < n; i++)
                bad |= json_array_append_new(vals, group_json(b, k, slots[i])) != 0;
            bad |= put(f, "values", vals);
            vals = NULL;
            if (wk_groups_overflowed(b->groups, k)) {
                json_t *other = wk_tally_json(&b->per[k][WK_GROUP_OTHER], b->labeled);
                bad |= put(f, "other", other);
            } else {
                bad |= put(f, "other", json_null());
            }
            bad |= put(groups, wk_groups_name(b->groups, k), f);
        }
        free(slots);
        bad |= put(summary, "groups", groups);
    }
    return bad ? -1 : 0;
}

json_t *wk_breakdown_disagreements(const wk_breakdown *b)
{
    json_t *o = json_object(), *runs = json_array();
    int bad = !o || !runs;
    for (size_t i = 0; !bad && i < b->n_dis; i++) {
        const disagreement *d = &b->dis[i];
        char comp[WK_COMPONENT_MAX], dir[2 * WK_COMPONENT_MAX + 16];
        json_t *r = json_object();
        wk_path_component(d->id, strlen(d->id), comp);
        snprintf(dir, sizeof dir, "reports/%s/%s", b->workflow, comp);
        bad |= !r;
        bad |= put(r, "id", json_string(d->id));
        bad |= put(r, "dir", json_string(dir));
        bad |= put(r, "verdict", json_string(kivo_verdict_name((kivo_verdict)d->verdict)));
        bad |= put(r, "label", json_string(wk_label_name((wk_label)d->label)));
        bad |= put(r, "claims", json_integer(d->claims));
        bad |= put(r, "unsupported", json_integer(d->unsupported));
        bad |= put(r, "categories", wk_categories_json(d->categories));
        bad |= put(r, "page", json_boolean(d->has_page));
        bad |= json_array_append_new(runs, r) != 0;
    }
    bad |= put(o, "total", json_integer((json_int_t)b->dis_total));
    bad |= put(o, "runs", runs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
