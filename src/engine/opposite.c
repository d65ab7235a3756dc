/*
 * opposite.c - words that say the opposite of each other: "revenue fell" against a source's
 * "revenue rose", "hired after the merger" against "before the merger", "her son" against "her
 * daughter".
 *
 * A claim word of one side of a pair is held against the words around the same neighbours in
 * its best evidence window: when, near where the source writes the claim word's neighbours
 * ("revenue", "15%"), only the other side's words stand, the claim says the opposite of the
 * source. The groups and the distances were checked on the RAGTruth dev split, where wider
 * distances, "before"/"after" and pronouns (he / she) fired on paraphrases only. Looking near the neighbours, not at the whole window, keeps "costs fell" in the same
 * sentence from answering for "revenue rose".
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "grow_int.h"

#define GROUP_WORDS 12 /* words of one side of a group, at most */

/* Pairs of opposite word groups; a group's words are written as answers write them, and match
 * through their stems ("increased", "increasing" as "increase"). The second sentence of the file
 * comment says why "before"/"after" is not one. */
static const char *const groups[][2][GROUP_WORDS] = {
    {{"increase", "rise", "rose", "risen", "grow", "grew", "grown", "growth", "climb", "surge",
      "soar", "boost"},
     {"decrease", "decline", "fall", "fell", "fallen", "drop", "shrink", "shrank", "reduce",
      "reduction", "plunge", "slump"}},
    {{"higher", "larger", "bigger", "greater", "longer", "older", "faster", "more"},
     {"lower", "smaller", "less", "fewer", "shorter", "younger", "slower"}},
    {{"approve", "approved", "accept", "accepted", "grant", "granted"},
     {"reject", "rejected", "refuse", "refused", "deny", "denied", "veto"}},
    {{"allow", "allowed", "permit", "permitted"},
     {"prohibit", "ban", "banned", "forbid", "forbidden", "disallow"}},
    {{"win", "won", "beat", "victory"}, {"lose", "lost", "loss"}},
    {{"praise", "praised", "commend", "applaud", "laud", "acclaim"},
     {"criticize", "criticized", "criticism", "condemn", "slam", "slammed", "blame"}},
    {{"success", "succeed", "successful"}, {"fail", "failed", "failure", "unsuccessful"}},
    {{"legal", "lawful"}, {"illegal", "unlawful"}},
    {{"guilty", "convicted"}, {"innocent", "acquitted"}},
    {{"alive", "survived", "survive", "survivor"}, {"dead", "died", "die", "killed"}},
    {{"positive"}, {"negative"}},
    {{"safe"}, {"dangerous", "unsafe", "hazardous"}},
    {{"true", "correct", "accurate"}, {"false", "incorrect", "inaccurate", "wrong"}},
    {{"minimum"}, {"maximum"}},
    {{"buy", "bought", "purchase", "purchased"}, {"sell", "sold"}},
    {{"import", "imports"}, {"export", "exports"}},
    {{"include", "included"}, {"exclude", "excluded"}},
    {{"public"}, {"private"}},
    {{"cheap", "inexpensive"}, {"expensive", "pricey"}},
    {{"hot", "warm"}, {"cold"}},
    {{"early"}, {"late"}},
    {{"quiet"}, {"loud", "noisy"}},
    {{"indoor", "indoors"}, {"outdoor", "outdoors"}},
    {{"north", "northern"}, {"south", "southern"}},
    {{"east", "eastern"}, {"west", "western"}},
    {{"son", "sons"}, {"daughter", "daughters"}},
    {{"father", "dad"}, {"mother", "mom", "mum"}},
    {{"husband"}, {"wife"}},
    {{"brother", "brothers"}, {"sister", "sisters"}},
    {{"boy", "boys"}, {"girl", "girls"}},
    {{"man", "men"}, {"woman", "women"}},
    {{"male"}, {"female"}},
    {{"king"}, {"queen"}},
    {{"uncle"}, {"aunt"}},
    {{"grandfather", "grandson"}, {"grandmother", "granddaughter"}},
};

#define N_GROUPS (sizeof groups / sizeof groups[0])
#define NEAR 2         /* tokens from a neighbour where a source word still speaks of it */
#define REACH 2        /* claim tokens from the opposite word to the neighbours it is held by */
#define NEG_BEFORE 3   /* tokens before a word where a negation turns it ("did not rise") */
#define WINDOW_SENTS 8 /* evidence windows are 1-3 sentences; more are not read */
#define WINDOW_BYTES 16384
#define CLAIM_WORDS 8 /* group words of one claim held against the window; the rest are not */

static int cmp_entry(const void *a, const void *b)
{
    const kv_opposite *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

kivo_status kv_opposites_build(kivo_engine *e)
{
    kv_opposite *v = malloc(N_GROUPS * 2 * GROUP_WORDS * sizeof *v);
    size_t n = 0;
    if (!v)
        return KIVO_ENOMEM;
    for (size_t g = 0; g < N_GROUPS; g++) {
        for (int side = 0; side < 2; side++) {
            for (size_t k = 0; k < GROUP_WORDS && groups[g][side][k]; k++) {
                const char *w = groups[g][side][k];
                v[n].h = kv_lexicon_word_hash(e->lx, w, strlen(w));
                v[n].group = (uint16_t)(g + 1);
                v[n].side = (uint8_t)side;
                n++;
            }
        }
    }
    qsort(v, n, sizeof *v, cmp_entry);
    e->opposites = v;
    e->n_opposites = n;
    for (size_t i = 0; i < n; i++)
        kv_hfilter_add(&e->opposite_filter, v[i].h);
    return KIVO_OK;
}

/* The entry of the opposite groups for hash h, or NULL. */
static const kv_opposite *find(const kivo_engine *e, uint64_t h)
{
    if (!kv_hfilter_may(&e->opposite_filter, h))
        return NULL;
    size_t lo = 0, hi = e->n_opposites;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->opposites[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->n_opposites && e->opposites[lo].h == h ? &e->opposites[lo] : NULL;
}

/* 1 when a negation cue stands up to NEG_BEFORE tokens before token i. */
static int negated(const kv_token *t, size_t i)
{
    for (size_t k = i >= NEG_BEFORE ? i - NEG_BEFORE : 0; k < i; k++)
        if (t[k].flags & KV_TF_NEG)
            return 1;
    return 0;
}

/* 1 when token t is a neighbour worth looking for: content, and not itself a group word. */
static int anchor(const kivo_engine *e, const kv_token *t)
{
    return t->kind != KV_TOK_STOP && !find(e, t->h);
}

/* In source tokens s[0..n), the words of group g near the claim's neighbours a[0..na): how many
 * of each side (not negated). */
static void near_words(const kivo_engine *e, const kv_token *s, size_t n, const uint64_t *a,
                       size_t na, uint16_t g, size_t count[2])
{
    for (size_t j = 0; j < n; j++) {
        int is_anchor = 0;
        for (size_t k = 0; k < na && !is_anchor; k++)
            is_anchor = s[j].h == a[k];
        if (!is_anchor)
            continue;
        size_t lo = j >= NEAR ? j - NEAR : 0, hi = j + NEAR < n ? j + NEAR : n - 1;
        for (size_t i = lo; i <= hi; i++) {
            const kv_opposite *o = find(e, s[i].h);
            if (o && o->group == g && !negated(s, i))
                count[o->side]++;
        }
    }
}

/* Appends the tokens of from to to. */
static kivo_status append_tokens(kv_tokens *to, const kv_tokens *from)
{
    kivo_status st = kv_grow((void **)&to->v, &to->cap, to->n + from->n, sizeof *to->v, 256);
    if (st != KIVO_OK)
        return st;
    if (from->n)
        memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    return KIVO_OK;
}

int kv_opposite_conflict(kivo_engine *e, const kivo_packet *p, const kv_token *toks, size_t n,
                         size_t first, size_t last, uint8_t *mark)
{
    int found = 0, any = 0;
    for (size_t i = 0; i < n && !any; i++)
        any = find(e, toks[i].h) != NULL;
    if (!any)
        return 0;
    /* The window's sentences, tokenized once for all the claim's words; a window of more than
     * WINDOW_BYTES (a source without sentence ends) is not read: it says little about where a
     * word stands, and reading it for every claim would cost claims x its size. */
    size_t bytes = 0, ends[WINDOW_SENTS];
    if (last - first + 1 > WINDOW_SENTS)
        return 0;
    for (size_t s = first; s <= last; s++)
        bytes += e->sents[s].end - e->sents[s].start;
    if (bytes > WINDOW_BYTES)
        return 0;
    e->win_toks.n = 0;
    for (size_t s = first; s <= last; s++) {
        const kv_sentence *st = &e->sents[s];
        const kivo_source *src = &p->sources[st->source];
        /* Each sentence into a list of its own: the tokenizer reads a token against the tokens
         * before it in the list, at their offsets in the text it is given, which another
         * sentence's tokens are not. */
        e->sent_toks.n = 0;
        if (kv_tokenize(e->lx, src->text + st->start, st->end - st->start, &e->sent_toks) !=
                KIVO_OK ||
            append_tokens(&e->win_toks, &e->sent_toks) != KIVO_OK)
            return 0; /* out of memory: no conflict claimed */
        ends[s - first] = e->win_toks.n;
    }
    /* Each group word costs a pass over the window: a claim of hundreds of them ("rose fell rose
     * ...") would cost hundreds of passes. Real claims hold one or two. */
    for (size_t i = 0, words = 0; i < n && words < CLAIM_WORDS; i++) {
        const kv_opposite *o = find(e, toks[i].h);
        if (!o || negated(toks, i))
            continue;
        words++;
        /* The claim word's neighbours: content words up to REACH tokens on either side. */
        uint64_t a[2 * REACH];
        size_t na = 0;
        for (size_t k = i >= REACH ? i - REACH : 0; k < n && k <= i + REACH; k++)
            if (k != i && anchor(e, &toks[k]))
                a[na++] = toks[k].h;
        if (na == 0)
            continue;
        size_t count[2] = {0, 0};
        for (size_t s = 0, from = 0; s <= last - first; from = ends[s++])
            near_words(e, e->win_toks.v + from, ends[s] - from, a, na, o->group, count);
        if (count[1 - o->side] > 0 && count[o->side] == 0) {
            found = 1;
            if (mark)
                mark[i] = 1;
        }
    }
    return found;
}

int kv_opposite_known(const kivo_engine *e, uint64_t h)
{
    return find(e, h) != NULL;
}

int kv_opposite_pair(const kivo_engine *e, uint64_t a, uint64_t b)
{
    const kv_opposite *x = find(e, a), *y = find(e, b);
    return x && y && x->group == y->group && x->side != y->side;
}
