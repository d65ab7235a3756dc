/*
 * compare.c - pairing two report stores (see compare.h for the memory plan and the definitions).
 *
 * Pass 1 reads the baseline: each run's record goes to the spill file, and a 16-byte entry (the
 * XXH3 of workflow_id NUL customer_run_id, and the record's offset) to an open-addressing table.
 * Pass 2 reads the candidate: each run is looked up (a key match is confirmed against the ids in
 * the record), counted as a pair or as candidate-only. Pass 3 walks the table for the baseline
 * runs no candidate claimed, in the order they were read.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "compare.h"
#include "junit.h"
#include "kivo/hash.h"
#include "kivo/wire.h"
#include "stats.h"
#include "tally.h"

#define MATCHED (1ull << 63)
#define DISTINCT_MAX 8 /* engine versions / policies named per side */

typedef struct distinct {
    char name[DISTINCT_MAX][640];
    uint64_t count[DISTINCT_MAX];
    size_t n;
    uint64_t others; /* runs with a name past the first DISTINCT_MAX */
} distinct;

typedef struct side {
    const char *dir;
    wk_store *store;
    wk_tally all; /* every readable run of the side */
    uint64_t unreadable, duplicates;
    char unreadable_where[3][600];
    char unreadable_why[3][64];
    distinct engines, policies, batches;
} side;

/* Pairs of one scope: all pairs, or one group. */
typedef struct pstats {
    uint64_t paired;
    uint64_t trans[3][3]; /* [baseline verdict][candidate verdict] */
    uint64_t flag[4];     /* both flagged, baseline only, candidate only, none */
    uint64_t newly_flagged, no_longer_flagged;
    uint64_t cat_base[KIVO_CAT_COUNT], cat_cand[KIVO_CAT_COUNT];
} pstats;

enum { F_BOTH, F_BASE, F_CAND, F_NONE };

/* A baseline run's record in the spill file: this head, then uint16 group slots[n_groups], the
 * workflow id, the run id, and uint64 flagged-claim hashes[n_flag]. */
typedef struct spill_head {
    uint32_t len; /* bytes after the head */
    uint32_t categories, claims, unsupported, n_flag;
    uint16_t wf_len, id_len;
    uint8_t verdict;
    int8_t label;
    uint16_t n_groups;
} spill_head;

typedef struct entry {
    uint64_t key; /* 0: empty */
    uint64_t off; /* spill offset | MATCHED */
} entry;

typedef struct listed {
    uint64_t seq;
    char *wf, *id;
    uint8_t bv, cv;
    uint32_t bcats, ccats, newly;
} listed;

typedef struct named {
    char *wf, *id;
} named;

struct wk_compare {
    side base, cand;
    wk_groups *groups;
    pstats total;
    pstats *per[WK_GROUP_MAX_FIELDS]; /* wk_groups_slots() per field */
    entry *table;
    size_t cap, n;
    FILE *spill;
    uint64_t spill_len;
    char *rec; /* a record read back */
    size_t rec_cap;
    listed *heap; /* min-heap of the most severe regressions */
    size_t n_heap;
    uint64_t seq;
    named base_only[WK_COMPARE_UNPAIRED_MAX], cand_only[WK_COMPARE_UNPAIRED_MAX];
    size_t n_base_only, n_cand_only;
    uint64_t base_only_total, cand_only_total;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static uint64_t key_of(const char *wf, const char *id)
{
    size_t a = strlen(wf), b = strlen(id);
    char stack[2 * KIVO_RUN_ID_MAX + 2];
    memcpy(stack, wf, a);
    stack[a] = '\0';
    memcpy(stack + a + 1, id, b);
    uint64_t k = kivo_hash_xxh3(stack, a + 1 + b);
    return k ? k : 1;
}

static void distinct_add(distinct *d, const char *s, size_t len)
{
    char name[640];
    snprintf(name, sizeof name, "%.*s", (int)wk_cmp_utf8_cut(s, len, sizeof name - 1), s);
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->name[i], name) == 0) {
            d->count[i]++;
            return;
        }
    }
    if (d->n == DISTINCT_MAX) {
        d->others++;
        return;
    }
    memcpy(d->name[d->n], name, sizeof name);
    d->count[d->n++] = 1;
}

static int rank(uint8_t v)
{
    return v; /* kivo_verdict: pass 0 < needs_review 1 < fail 2 */
}

/* 1 when a is a worse regression than b: to a worse verdict, then by a larger step, then more
 * newly flagged claims, then earlier in the candidate's order. */
static int worse(const listed *a, const listed *b)
{
    if (a->cv != b->cv)
        return a->cv > b->cv;
    if (rank(a->cv) - rank(a->bv) != rank(b->cv) - rank(b->bv))
        return rank(a->cv) - rank(a->bv) > rank(b->cv) - rank(b->bv);
    if (a->newly != b->newly)
        return a->newly > b->newly;
    return a->seq < b->seq;
}

static void heap_down(listed *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[m], &h[l]))
            m = l;
        if (r < n && worse(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        listed t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(listed *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(&h[p], &h[i]))
            return;
        listed t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int keep_regression(wk_compare *c, const listed *e)
{
    if (c->n_heap == WK_COMPARE_LIST_MAX && !worse(e, &c->heap[0]))
        return 0;
    listed x = *e;
    if (!(x.wf = strdup(e->wf)) || !(x.id = strdup(e->id))) {
        free(x.wf);
        return -1;
    }
    if (c->n_heap < WK_COMPARE_LIST_MAX) {
        c->heap[c->n_heap] = x;
        heap_up(c->heap, c->n_heap++);
    } else {
        free(c->heap[0].wf);
        free(c->heap[0].id);
        c->heap[0] = x;
        heap_down(c->heap, c->n_heap, 0);
    }
    return 0;
}

static int keep_named(named *list, size_t *n, const char *wf, const char *id)
{
    if (*n == WK_COMPARE_UNPAIRED_MAX)
        return 0;
    named *x = &list[*n];
    if (!(x->wf = strdup(wf)) || !(x->id = strdup(id))) {
        free(x->wf);
        x->wf = NULL;
        return -1;
    }
    (*n)++;
    return 0;
}

/* ---- the table and the spill file ------------------------------------------------------------ */

static int table_grow(wk_compare *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1u << 16;
    entry *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->table[i].key)
            continue;
        size_t h = c->table[i].key & (cap - 1);
        while (t[h].key)
            h = (h + 1) & (cap - 1);
        t[h] = c->table[i];
    }
    free(c->table);
    c->table = t;
    c->cap = cap;
    return 0;
}

/* Reads the record at off into c->rec; *head, and pointers to its parts. @return 0 or -1. */
static int read_record(wk_compare *c, uint64_t off, spill_head *head, const uint16_t **slots,
                       const char **wf, const char **id, const uint64_t **hashes)
{
    int fd = fileno(c->spill);
    if (pread(fd, head, sizeof *head, (off_t)off) != (ssize_t)sizeof *head)
        return -1;
    if (head->len + 16 > c->rec_cap) {
        size_t cap = head->len + 16 + c->rec_cap;
        char *r = realloc(c->rec, cap);
        if (!r)
            return -1;
        c->rec = r;
        c->rec_cap = cap;
    }
    if (pread(fd, c->rec, head->len, (off_t)(off + sizeof *head)) != (ssize_t)head->len)
        return -1;
    /* The parts, in record order. add_base pads the ids so that the hashes start at a multiple
     * of 8 bytes into the record, and c->rec comes from malloc: they can be read in place. */
    size_t gbytes = (size_t)head->n_groups * sizeof(uint16_t);
    *slots = (const uint16_t *)(const void *)c->rec;
    *wf = c->rec + gbytes;
    *id = *wf + head->wf_len + 1;
    size_t before = gbytes + head->wf_len + 1 + head->id_len + 1;
    *hashes = (const uint64_t *)(const void *)(c->rec + before + ((8 - (before & 7)) & 7));
    return 0;
}

/* Looks up (wf, id): @return the table index of its entry, or -(index of the empty slot) - 1.
 * On a key match the record is read back to compare the ids; head and the parts stay in
 * c->rec for the caller. -INT64_MAX on an I/O error. */
static int64_t lookup(wk_compare *c, uint64_t key, const char *wf, const char *id, spill_head *head,
                      const uint16_t **slots, const uint64_t **hashes)
{
    size_t h = key & (c->cap - 1);
    for (; c->table[h].key; h = (h + 1) & (c->cap - 1)) {
        const char *rwf, *rid;
        if (c->table[h].key != key)
            continue;
        if (read_record(c, c->table[h].off & ~MATCHED, head, slots, &rwf, &rid, hashes) != 0)
            return -INT64_MAX;
        if (strcmp(rwf, wf) == 0 && strcmp(rid, id) == 0)
            return (int64_t)h;
    }
    return -(int64_t)h - 1;
}

/* ---- pairing ---------------------------------------------------------------------------- */

/* Counts of sorted a not in sorted b. */
static uint64_t missing_from(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    uint64_t n = 0;
    size_t j = 0;
    for (size_t i = 0; i < na; i++) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j == nb || b[j] != a[i])
            n++;
    }
    return n;
}

static void pair_add(pstats *p, const spill_head *b, const wk_cmp_run *r, uint64_t newly,
                     uint64_t gone)
{
    int fb = wk_flagged((kivo_verdict)b->verdict), fc = wk_flagged(r->verdict);
    p->paired++;
    p->trans[b->verdict][r->verdict]++;
    p->flag[fb ? (fc ? F_BOTH : F_BASE) : (fc ? F_CAND : F_NONE)]++;
    p->newly_flagged += newly;
    p->no_longer_flagged += gone;
    for (int k = 1; k < KIVO_CAT_COUNT; k++) {
        p->cat_base[k] += (b->categories >> k) & 1u;
        p->cat_cand[k] += (r->categories >> k) & 1u;
    }
}

static void categories_text(uint32_t cats, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int k = 1; k < KIVO_CAT_COUNT && used < len; k++)
        if ((cats >> k) & 1u)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                                     kivo_category_name((kivo_category)k));
}

static int junit_pair(struct wk_junit *ju, const spill_head *b, const wk_cmp_run *r, uint64_t newly)
{
    char msg[600], body[900], bc[300], cc[300];
    if (!ju)
        return 0;
    if (r->verdict <= b->verdict)
        return wk_junit_case(ju, r->workflow_id, r->run_id, WK_JUNIT_PASS, NULL, NULL, NULL);
    categories_text(b->categories, bc, sizeof bc);
    categories_text(r->categories, cc, sizeof cc);
    snprintf(msg, sizeof msg, "regressed: %s -> %s%s%s", kivo_verdict_name(b->verdict),
             kivo_verdict_name(r->verdict), cc[0] ? ": " : "", cc);
    snprintf(body, sizeof body, "baseline %s (%s); candidate %s (%s); %llu newly flagged claims",
             kivo_verdict_name(b->verdict), bc[0] ? bc : "no failure categories",
             kivo_verdict_name(r->verdict), cc[0] ? cc : "no failure categories",
             (unsigned long long)newly);
    return wk_junit_case(ju, r->workflow_id, r->run_id, WK_JUNIT_FAILURE, "regressed", msg, body);
}

static void note_unreadable(side *s, const wk_store_report *r, const char *why)
{
    if (s->unreadable < 3) {
        size_t max = sizeof s->unreadable_where[0] - 1;
        snprintf(s->unreadable_where[s->unreadable], sizeof s->unreadable_where[0], "%.*s",
                 (int)wk_cmp_utf8_cut(r->where, strlen(r->where), max), r->where);
        snprintf(s->unreadable_why[s->unreadable], sizeof s->unreadable_why[0], "%s", why);
    }
    s->unreadable++;
}

static int slot_of(wk_compare *c, size_t k, const wk_cmp_run *r)
{
    return wk_groups_slot(c->groups, k, r->group_value[k], r->group_len[k]);
}

/* Pass 1: one baseline run into the spill file and the table. */
static int add_base(wk_compare *c, const wk_cmp_run *r, char *err, size_t errlen)
{
    uint64_t key = key_of(r->workflow_id, r->run_id);
    spill_head head;
    const uint16_t *slots;
    const uint64_t *hashes;
    if ((c->n + 1) * 4 > c->cap * 3 && table_grow(c) != 0)
        goto oom;
    int64_t at = lookup(c, key, r->workflow_id, r->run_id, &head, &slots, &hashes);
    if (at == -INT64_MAX)
        goto io;
    if (at >= 0) {
        c->base.duplicates++;
        return 0;
    }
    uint16_t gs[WK_GROUP_MAX_FIELDS];
    size_t ng = c->groups ? wk_groups_fields(c->groups) : 0;
    for (size_t k = 0; k < ng; k++) {
        int s = slot_of(c, k, r);
        if (s < 0)
            goto oom;
        gs[k] = (uint16_t)s;
    }
    size_t wl = strlen(r->workflow_id), il = strlen(r->run_id);
    memset(&head, 0, sizeof head);
    head.len = (uint32_t)(ng * sizeof *gs + wl + 1 + il + 1 + r->n_flag * sizeof(uint64_t));
    head.categories = r->categories;
    head.claims = r->claims;
    head.unsupported = r->unsupported;
    head.n_flag = (uint32_t)r->n_flag;
    head.wf_len = (uint16_t)wl;
    head.id_len = (uint16_t)il;
    head.verdict = (uint8_t)r->verdict;
    head.label = (int8_t)r->label;
    head.n_groups = (uint16_t)ng;
    /* Hashes go at an 8-byte boundary of the record so they can be read in place: pad the id. */
    size_t before = ng * sizeof *gs + wl + 1 + il + 1;
    size_t pad = (8 - (before & 7)) & 7;
    head.len += (uint32_t)pad;
    static const char zeros[8];
    if (fwrite(&head, sizeof head, 1, c->spill) != 1 ||
        (ng && fwrite(gs, sizeof *gs, ng, c->spill) != ng) ||
        fwrite(r->workflow_id, 1, wl + 1, c->spill) != wl + 1 ||
        fwrite(r->run_id, 1, il + 1, c->spill) != il + 1 ||
        (pad && fwrite(zeros, 1, pad, c->spill) != pad) ||
        (r->n_flag && fwrite(r->flag_hashes, sizeof(uint64_t), r->n_flag, c->spill) != r->n_flag))
        goto io;
    c->table[-at - 1] = (entry){key, c->spill_len};
    c->spill_len += sizeof head + head.len;
    c->n++;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
io:
    snprintf(err, errlen, "cannot use the temporary file: %s", strerror(errno));
    return -1;
}

/* Pass 2: one candidate run, paired or not. */
static int add_cand(wk_compare *c, const wk_cmp_run *r, struct wk_junit *ju, char *err,
                    size_t errlen)
{
    uint64_t key = key_of(r->workflow_id, r->run_id);
    spill_head head;
    const uint16_t *slots;
    const uint64_t *hashes;
    int64_t at = c->cap ? lookup(c, key, r->workflow_id, r->run_id, &head, &slots, &hashes) : -1;
    if (at == -INT64_MAX) {
        snprintf(err, errlen, "cannot read the temporary file: %s", strerror(errno));
        return -1;
    }
    if (at < 0) {
        c->cand_only_total++;
        if (keep_named(c->cand_only, &c->n_cand_only, r->workflow_id, r->run_id) != 0)
            goto oom;
        return ju ? wk_junit_case(ju, r->workflow_id, r->run_id, WK_JUNIT_SKIPPED, NULL,
                                  "no baseline run with this workflow_id and customer_run_id", NULL)
                  : 0;
    }
    if (c->table[at].off & MATCHED) {
        c->cand.duplicates++;
        return 0;
    }
    c->table[at].off |= MATCHED;
    uint64_t newly = missing_from(r->flag_hashes, r->n_flag, hashes, head.n_flag);
    uint64_t gone = missing_from(hashes, head.n_flag, r->flag_hashes, r->n_flag);
    pair_add(&c->total, &head, r, newly, gone);
    for (size_t k = 0; c->groups && k < wk_groups_fields(c->groups); k++) {
        int s = r->group_value[k] ? slot_of(c, k, r) : slots[k];
        if (s < 0)
            goto oom;
        pair_add(&c->per[k][s], &head, r, newly, gone);
    }
    if (r->verdict > head.verdict) {
        listed e = {c->seq,        (char *)r->workflow_id, (char *)r->run_id,
                    head.verdict,  (uint8_t)r->verdict,    head.categories,
                    r->categories, (uint32_t)newly};
        if (keep_regression(c, &e) != 0)
            goto oom;
    }
    c->seq++;
    return junit_pair(ju, &head, r, newly);
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int by_off(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Pass 3: the baseline runs nobody claimed, in baseline order. */
static int base_only(wk_compare *c, struct wk_junit *ju, char *err, size_t errlen)
{
    uint64_t *offs;
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        n += c->table[i].key && !(c->table[i].off & MATCHED);
    c->base_only_total = n;
    if (n == 0)
        return 0;
    if (!(offs = malloc(n * sizeof *offs))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->table[i].key && !(c->table[i].off & MATCHED))
            offs[n++] = c->table[i].off;
    qsort(offs, n, sizeof *offs, by_off);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        spill_head head;
        const uint16_t *slots;
        const char *wf, *id;
        const uint64_t *hashes;
        if (c->n_base_only == WK_COMPARE_UNPAIRED_MAX && !ju)
            break;
        if (read_record(c, offs[i], &head, &slots, &wf, &id, &hashes) != 0) {
            snprintf(err, errlen, "cannot read the temporary file: %s", strerror(errno));
            rc = -1;
        } else if (keep_named(c->base_only, &c->n_base_only, wf, id) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if (ju && wk_junit_case(ju, wf, id, WK_JUNIT_SKIPPED, NULL,
                                       "no candidate run with this workflow_id and "
                                       "customer_run_id",
                                       NULL) != 0) {
            snprintf(err, errlen, "cannot write the JUnit report: %s", strerror(errno));
            rc = -1;
        }
    }
    free(offs);
    return rc;
}

/* Reads every report of one side; add is add_base or add_cand. */
static int read_side(wk_compare *c, side *s, int is_base, const wk_compare_opts *o,
                     kivo_json_parser *p, wk_cmp_run *run, char *err, size_t errlen)
{
    wk_store_report r;
    int got;
    uint64_t n = 0;
    while ((got = wk_store_next(s->store, &r, err, errlen)) == 1) {
        const char *why;
        if (wk_cmp_read(p, &r, c->groups, run, &why) != 0) {
            note_unreadable(s, &r, why);
            continue;
        }
        wk_tally_add(&s->all, run->verdict, run->categories, run->claims, run->unsupported,
                     run->label);
        distinct_add(&s->engines, run->engine, run->engine_len);
        distinct_add(&s->batches, run->batch, run->batch_len);
        distinct_add(&s->policies, run->policy, strlen(run->policy));
        if ((is_base ? add_base(c, run, err, errlen) : add_cand(c, run, o->junit, err, errlen)) !=
            0)
            return -1;
        if (o->progress && ++n % 100000 == 0)
            fprintf(stderr, "kivo-worker compare: %s: %llu runs read\n",
                    is_base ? "baseline" : "candidate", (unsigned long long)n);
    }
    if (got < 0)
        return -1;
    return 0;
}

kivo_status wk_compare_run(const wk_compare_opts *o, wk_compare **out, char *err, size_t errlen)
{
    wk_compare *c = calloc(1, sizeof *c);
    kivo_json_parser *p = NULL;
    wk_cmp_run run;
    kivo_status rc = KIVO_EIO;
    memset(&run, 0, sizeof run);
    *out = NULL;
    if (!c || !(c->heap = malloc(WK_COMPARE_LIST_MAX * sizeof *c->heap)) ||
        kivo_json_parser_create(128, &p) != KIVO_OK) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->base.dir = o->base_dir;
    c->cand.dir = o->cand_dir;
    if (o->group_by) {
        if (wk_groups_create(o->group_by, NULL, &c->groups, err, errlen) != 0)
            goto out;
        for (size_t k = 0; k < wk_groups_fields(c->groups); k++)
            if (!(c->per[k] = calloc(wk_groups_slots(), sizeof *c->per[k]))) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
    }
    if (wk_store_open(o->base_dir, &c->base.store, err, errlen) != 0 ||
        wk_store_open(o->cand_dir, &c->cand.store, err, errlen) != 0) {
        rc = KIVO_EINVAL;
        goto out;
    }
    if (!(c->spill = tmpfile())) {
        snprintf(err, errlen, "cannot make a temporary file: %s", strerror(errno));
        goto out;
    }
    if (table_grow(c) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (read_side(c, &c->base, 1, o, p, &run, err, errlen) != 0)
        goto out;
    if (fflush(c->spill) != 0) {
        snprintf(err, errlen, "cannot write the temporary file: %s", strerror(errno));
        goto out;
    }
    if (read_side(c, &c->cand, 0, o, p, &run, err, errlen) != 0 ||
        base_only(c, o->junit, err, errlen) != 0)
        goto out;
    rc = KIVO_OK;
    *out = c;
    c = NULL;
out:
    wk_cmp_run_free(&run);
    kivo_json_parser_free(p);
    wk_compare_free(c);
    return rc;
}

void wk_compare_free(wk_compare *c)
{
    if (!c)
        return;
    wk_store_close(c->base.store);
    wk_store_close(c->cand.store);
    if (c->spill)
        fclose(c->spill);
    for (size_t i = 0; i < c->n_heap; i++) {
        free(c->heap[i].wf);
        free(c->heap[i].id);
    }
    for (size_t i = 0; i < c->n_base_only; i++) {
        free(c->base_only[i].wf);
        free(c->base_only[i].id);
    }
    for (size_t i = 0; i < c->n_cand_only; i++) {
        free(c->cand_only[i].wf);
        free(c->cand_only[i].id);
    }
    for (size_t k = 0; k < WK_GROUP_MAX_FIELDS; k++)
        free(c->per[k]);
    wk_groups_free(c->groups);
    free(c->heap);
    free(c->table);
    free(c->rec);
    free(c);
}

/* ---- results ------------------------------------------------------------------------------ */

static int put(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

static json_t *jint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static uint64_t regressed_of(const pstats *p)
{
    uint64_t n = 0;
    for (int b = 0; b < 3; b++)
        for (int v = b + 1; v < 3; v++)
            n += p->trans[b][v];
    return n;
}

static uint64_t fixed_of(const pstats *p)
{
    uint64_t n = 0;
    for (int b = 0; b < 3; b++)
        for (int v = 0; v < b; v++)
            n += p->trans[b][v];
    return n;
}

static uint64_t col(const pstats *p, int v)
{
    return p->trans[0][v] + p->trans[1][v] + p->trans[2][v];
}

static uint64_t row(const pstats *p, int b)
{
    return p->trans[b][0] + p->trans[b][1] + p->trans[b][2];
}

static json_t *rate_json(uint64_t base, uint64_t cand, uint64_t n)
{
    json_t *o = json_object();
    double rb = wk_ratio(base, n), rc = wk_ratio(cand, n);
    int bad = !o;
    bad |= put(o, "baseline", wk_json_real_or_null(rb));
    bad |= put(o, "candidate", wk_json_real_or_null(rc));
    bad |= put(o, "delta", wk_json_real_or_null(rc - rb));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *pstats_json(const pstats *p)
{
    json_t *o = json_object(), *t = json_object(), *cats = json_object();
    int bad = !o || !t || !cats;
    for (int b = 0; !bad && b < 3; b++) {
        json_t *r = json_object();
        for (int v = 0; r && v < 3; v++)
            bad |= put(r, kivo_verdict_name((kivo_verdict)v), jint(p->trans[b][v]));
        bad |= put(t, kivo_verdict_name((kivo_verdict)b), r);
    }
    for (int k = 1; !bad && k < KIVO_CAT_COUNT; k++) {
        json_t *x = json_object();
        bad |= put(x, "baseline", jint(p->cat_base[k]));
        bad |= put(x, "candidate", jint(p->cat_cand[k]));
        bad |=
            put(x, "delta", json_integer((json_int_t)p->cat_cand[k] - (json_int_t)p->cat_base[k]));
        bad |= put(cats, kivo_category_name((kivo_category)k), x);
    }
    double lo, hi;
    wk_paired_diff_ci(p->flag[F_BOTH], p->flag[F_BASE], p->flag[F_CAND], p->flag[F_NONE], WK_Z95,
                      &lo, &hi);
    json_t *fr =
        rate_json(p->flag[F_BOTH] + p->flag[F_BASE], p->flag[F_BOTH] + p->flag[F_CAND], p->paired);
    bad |= put(fr, "delta_ci95_low", wk_json_real_or_null(lo));
    bad |= put(fr, "delta_ci95_high", wk_json_real_or_null(hi));
    bad |= put(fr, "flagged_both", jint(p->flag[F_BOTH]));
    bad |= put(fr, "flagged_baseline_only", jint(p->flag[F_BASE]));
    bad |= put(fr, "flagged_candidate_only", jint(p->flag[F_CAND]));
    bad |= put(fr, "flagged_neither", jint(p->flag[F_NONE]));
    bad |= put(o, "paired", jint(p->paired));
    bad |= put(o, "transitions", t);
    t = NULL;
    bad |= put(o, "regressed", jint(regressed_of(p)));
    bad |= put(o, "fixed", jint(fixed_of(p)));
    bad |= put(o, "unchanged", jint(p->trans[0][0] + p->trans[1][1] + p->trans[2][2]));
    bad |= put(o, "new_fail", jint(col(p, KIVO_VERDICT_FAIL) - p->trans[2][2]));
    bad |= put(o, "fixed_fail", jint(row(p, KIVO_VERDICT_FAIL) - p->trans[2][2]));
    bad |= put(o, "newly_flagged_claims", jint(p->newly_flagged));
    bad |= put(o, "no_longer_flagged_claims", jint(p->no_longer_flagged));
    bad |= put(o, "flag_rate", fr);
    bad |= put(o, "mcnemar_p",
               wk_json_real_or_null(wk_mcnemar_exact(p->flag[F_BASE], p->flag[F_CAND])));
    bad |= put(o, "fail_rate",
               rate_json(row(p, KIVO_VERDICT_FAIL), col(p, KIVO_VERDICT_FAIL), p->paired));
    bad |= put(
        o, "needs_review_rate",
        rate_json(row(p, KIVO_VERDICT_NEEDS_REVIEW), col(p, KIVO_VERDICT_NEEDS_REVIEW), p->paired));
    bad |= put(o, "failure_categories", cats);
    cats = NULL;
    if (bad) {
        json_decref(t);
        json_decref(cats);
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *distinct_json(const distinct *d)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < d->n; i++)
        json_object_set_new(o, d->name[i], jint(d->count[i]));
    if (o && d->others)
        json_object_set_new(o, "(others)", jint(d->others));
    return o;
}

static json_t *side_json(const side *s)
{
    json_t *o = wk_tally_json(&s->all, s->all.unlabeled < s->all.runs);
    json_t *ex = json_array();
    int bad = !o || !ex;
    bad |= put(o, "dir", json_string(s->dir));
    bad |= put(o, "layout", json_string(wk_store_layout(s->store)));
    bad |= put(o, "batch_ids", distinct_json(&s->batches));
    bad |= put(o, "engine_versions", distinct_json(&s->engines));
    bad |= put(o, "policies", distinct_json(&s->policies));
    bad |= put(o, "duplicate_runs", jint(s->duplicates));
    bad |= put(o, "unreadable_reports", jint(s->unreadable));
    for (uint64_t i = 0; !bad && i < s->unreadable && i < 3; i++) {
        json_t *x = json_object();
        bad |= put(x, "where", json_string(s->unreadable_where[i]));
        bad |= put(x, "why", json_string(s->unreadable_why[i]));
        bad |= json_array_append_new(ex, x);
    }
    bad |= put(o, "unreadable_examples", ex);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The names of d that are not in e, joined, into out; 1 when there were any. */
static int names_differ(const distinct *d, const distinct *e)
{
    if (d->n != e->n)
        return 1;
    for (size_t i = 0; i < d->n; i++) {
        size_t j = 0;
        while (j < e->n && strcmp(d->name[i], e->name[j]) != 0)
            j++;
        if (j == e->n)
            return 1;
    }
    return 0;
}

/* d's names joined with ", " into out (len > 2), the last one cut on a character boundary when
 * out is full. */
static void names_join(const distinct *d, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n && used + 2 < len; i++) {
        if (i) {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
        size_t n = wk_cmp_utf8_cut(d->name[i], strlen(d->name[i]), len - 1 - used);
        memcpy(out + used, d->name[i], n);
        used += n;
        out[used] = '\0';
    }
    if (!d->n)
        snprintf(out, len, "(none)");
}

static json_t *warnings_json(const wk_compare *c)
{
    json_t *a = json_array();
    char msg[3000], x[1300], y[1300];
    if (!a)
        return NULL;
    if (names_differ(&c->base.engines, &c->cand.engines)) {
        names_join(&c->base.engines, x, sizeof x);
        names_join(&c->cand.engines, y, sizeof y);
        snprintf(msg, sizeof msg,
                 "engine versions differ: baseline %s, candidate %s; verdicts "
                 "may change with the engine, not with the answers",
                 x, y);
        json_array_append_new(a, json_string(msg));
    }
    if (names_differ(&c->base.policies, &c->cand.policies)) {
        names_join(&c->base.policies, x, sizeof x);
        names_join(&c->cand.policies, y, sizeof y);
        snprintf(msg, sizeof msg,
                 "policies (strictness/intended_use/policy_version) differ: "
                 "baseline %s, candidate %s",
                 x, y);
        json_array_append_new(a, json_string(msg));
    }
    const side *sides[2] = {&c->base, &c->cand};
    for (int i = 0; i < 2; i++) {
        const char *who = i ? "candidate" : "baseline";
        if (sides[i]->engines.n > 1 || sides[i]->policies.n > 1) {
            snprintf(msg, sizeof msg, "the %s mixes engine versions or policies", who);
            json_array_append_new(a, json_string(msg));
        }
        if (sides[i]->unreadable) {
            snprintf(msg, sizeof msg, "%llu reports of the %s could not be read (first: %s: %s)",
                     (unsigned long long)sides[i]->unreadable, who, sides[i]->unreadable_where[0],
                     sides[i]->unreadable_why[0]);
            json_array_append_new(a, json_string(msg));
        }
    }
    if (!c->total.paired) {
        snprintf(msg, sizeof msg,
                 "no run of the candidate has a baseline run with the same "
                 "workflow_id and customer_run_id");
        json_array_append_new(a, json_string(msg));
    }
    return a;
}

static json_t *named_json(const named *list, size_t n, uint64_t total)
{
    json_t *o = json_object(), *runs = json_array();
    int bad = !o || !runs;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *x = json_object();
        bad |= put(x, "workflow_id", json_string(list[i].wf));
        bad |= put(x, "customer_run_id", json_string(list[i].id));
        bad |= json_array_append_new(runs, x);
    }
    bad |= put(o, "total", jint(total));
    bad |= put(o, "runs", runs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int by_worse(const void *a, const void *b)
{
    return worse(a, b) ? -1 : worse(b, a) ? 1 : 0;
}

static json_t *regressed_json(const wk_compare *c)
{
    json_t *o = json_object(), *runs = json_array();
    int bad = !o || !runs;
    listed *sorted = malloc((c->n_heap ? c->n_heap : 1) * sizeof *sorted);
    bad |= !sorted;
    if (sorted) {
        memcpy(sorted, c->heap, c->n_heap * sizeof *sorted);
        qsort(sorted, c->n_heap, sizeof *sorted, by_worse);
    }
    for (size_t i = 0; !bad && i < c->n_heap; i++) {
        const listed *e = &sorted[i];
        char href[8192];
        json_t *x = json_object();
        bad |= put(x, "workflow_id", json_string(e->wf));
        bad |= put(x, "customer_run_id", json_string(e->id));
        bad |= put(x, "baseline_verdict", json_string(kivo_verdict_name(e->bv)));
        bad |= put(x, "candidate_verdict", json_string(kivo_verdict_name(e->cv)));
        bad |= put(x, "new_fail", json_boolean(e->cv == KIVO_VERDICT_FAIL));
        bad |= put(x, "baseline_categories", wk_categories_json(e->bcats));
        bad |= put(x, "candidate_categories", wk_categories_json(e->ccats));
        bad |= put(x, "newly_flagged_claims", jint(e->newly));
        bad |= put(x, "baseline_link",
                   wk_store_link(c->base.store, e->wf, e->id, href, sizeof href) == 0
                       ? json_string(href)
                       : json_null());
        bad |= put(x, "candidate_link",
                   wk_store_link(c->cand.store, e->wf, e->id, href, sizeof href) == 0
                       ? json_string(href)
                       : json_null());
        bad |= json_array_append_new(runs, x);
    }
    free(sorted);
    bad |= put(o, "total", jint(regressed_of(&c->total)));
    bad |= put(o, "runs", runs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *groups_json(const wk_compare *c)
{
    json_t *g = json_object();
    int *slots = malloc(WK_GROUP_MAX_VALUES * sizeof *slots);
    int bad = !g || !slots;
    for (size_t k = 0; !bad && k < wk_groups_fields(c->groups); k++) {
        json_t *f = json_object(), *vals = json_array();
        size_t n = wk_groups_sorted(c->groups, k, slots);
        bad |= !f || !vals;
        for (size_t i = 0; !bad && i < n; i++) {
            const pstats *p = &c->per[k][slots[i]];
            if (!p->paired)
                continue; /* a value only unpaired baseline runs had */
            json_t *x = json_object(), *ps = pstats_json(p);
            bad |= !x || !ps;
            bad |= put(x, "value", wk_groups_value_json(c->groups, k, slots[i]));
            bad |= !bad && json_object_update(x, ps) != 0;
            json_decref(ps);
            bad |= json_array_append_new(vals, x);
        }
        bad |= put(f, "values", vals);
        bad |= put(f, "other",
                   wk_groups_overflowed(c->groups, k) ? pstats_json(&c->per[k][WK_GROUP_OTHER])
                                                      : json_null());
        bad |= put(g, wk_groups_name(c->groups, k), f);
    }
    free(slots);
    if (bad) {
        json_decref(g);
        return NULL;
    }
    return g;
}

json_t *wk_compare_json(const wk_compare *c)
{
    json_t *o = json_object();
    int bad = !o;
    bad |= put(o, "schema_version", json_string("kivo_worker_compare.v1"));
    bad |= put(o, "worker_version", json_string("kivo-worker." KIVO_VERSION_STRING));
    bad |= put(o, "baseline", side_json(&c->base));
    bad |= put(o, "candidate", side_json(&c->cand));
    bad |= put(o, "warnings", warnings_json(c));
    bad |= put(o, "overall", pstats_json(&c->total));
    bad |=
        put(o, "unpaired_baseline", named_json(c->base_only, c->n_base_only, c->base_only_total));
    bad |=
        put(o, "unpaired_candidate", named_json(c->cand_only, c->n_cand_only, c->cand_only_total));
    bad |= put(o, "regressed_runs", regressed_json(c));
    if (c->groups)
        bad |= put(o, "groups", groups_json(c));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

size_t wk_compare_metrics(const wk_compare *c, wk_metric m[WK_COMPARE_METRICS])
{
    const pstats *p = c ? &c->total : NULL;
    uint64_t n = p ? p->paired : 0;
    double fb = p ? wk_ratio(p->flag[F_BOTH] + p->flag[F_BASE], n) : NAN;
    double fc = p ? wk_ratio(p->flag[F_BOTH] + p->flag[F_CAND], n) : NAN;
    double lo = NAN, hi = NAN;
    if (p)
        wk_paired_diff_ci(p->flag[F_BOTH], p->flag[F_BASE], p->flag[F_CAND], p->flag[F_NONE],
                          WK_Z95, &lo, &hi);
    const char *nopairs = "no runs were paired";
    const wk_tally *cand = c ? &c->cand.all : NULL;
    size_t k = 0;
#define M(name_, value_, why_) m[k++] = (wk_metric){name_, c ? (double)(value_) : NAN, why_}
    M("flag_rate_delta", fc - fb, nopairs);
    M("flag_rate_delta_ci_low", lo, nopairs);
    M("flag_rate_delta_ci_high", hi, nopairs);
    M("fail_rate_delta", p ? wk_ratio(col(p, 2), n) - wk_ratio(row(p, 2), n) : NAN, nopairs);
    M("needs_review_rate_delta", p ? wk_ratio(col(p, 1), n) - wk_ratio(row(p, 1), n) : NAN,
      nopairs);
    M("p", p ? wk_mcnemar_exact(p->flag[F_BASE], p->flag[F_CAND]) : NAN, nopairs);
    M("new_fail", p ? col(p, 2) - p->trans[2][2] : 0, "");
    M("fixed_fail", p ? row(p, 2) - p->trans[2][2] : 0, "");
    M("regressed", p ? regressed_of(p) : 0, "");
    M("fixed", p ? fixed_of(p) : 0, "");
    M("regressed_rate", p ? wk_ratio(regressed_of(p), n) : NAN, nopairs);
    M("newly_flagged_claims", p ? p->newly_flagged : 0, "");
    M("paired", n, "");
    M("unpaired_baseline", c ? c->base_only_total : 0, "");
    M("unpaired_candidate", c ? c->cand_only_total : 0, "");
    M("fail_rate", cand ? wk_ratio(cand->verdicts[2], cand->runs) : NAN,
      "the candidate has no runs");
    M("needs_review_rate", cand ? wk_ratio(cand->verdicts[1], cand->runs) : NAN,
      "the candidate has no runs");
    M("flag_rate", cand ? wk_tally_flag_rate(cand) : NAN, "the candidate has no runs");
#undef M
    return k;
}
