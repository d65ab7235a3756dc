/*
 * swap.c - a name, number or unit in the place where the source has another one.
 *
 * - Slots: a name or number of the claim that a window sentence lacks, between two claim words
 *   the sentence holds as neighbours, where the sentence has another name or number between
 *   them ("The majority opinion was written by Justice Peter Kahn" against "... by Justice Amira
 *   Sole"; "The Basic plan costs $49 per month" against "The Basic plan costs $29 per month").
 *   At the end of a clause one neighbour is enough. A name counts when it is capitalised and
 *   does not open the sentence, a number by its value.
 * - Units: a number with a unit of the same kind as the source's but another one ("249
 *   kilograms" against "249 grams", "34 hours" against "34 minutes").
 * - Days and months: a weekday or month the sources never name, where the window names another.
 */
#include <string.h>

#include "kivo/explain.h"
#include "quantity_int.h"
#include "sense_int.h"

#define SLOT_HELD 7 /* tenths of the claim's words a sentence it copies holds */

/* Units: a number's unit may only be swapped for another of the same kind (kind), and two
 * spellings of one unit (id) are the same unit. */
static const struct unit_word {
    const char *w;
    uint8_t kind, id;
} units[] = {
    {"second", 1, 1},      {"seconds", 1, 1},     {"sec", 1, 1},          {"secs", 1, 1},
    {"minute", 1, 2},      {"minutes", 1, 2},     {"min", 1, 2},          {"mins", 1, 2},
    {"hour", 1, 3},        {"hours", 1, 3},       {"hr", 1, 3},           {"hrs", 1, 3},
    {"day", 1, 4},         {"days", 1, 4},        {"week", 1, 5},         {"weeks", 1, 5},
    {"month", 1, 6},       {"months", 1, 6},      {"year", 1, 7},         {"years", 1, 7},
    {"yr", 1, 7},          {"yrs", 1, 7},         {"decade", 1, 8},       {"decades", 1, 8},
    {"mg", 2, 10},         {"milligram", 2, 10},  {"milligrams", 2, 10},  {"g", 2, 11},
    {"gram", 2, 11},       {"grams", 2, 11},      {"kg", 2, 12},          {"kilogram", 2, 12},
    {"kilograms", 2, 12},  {"kgs", 2, 12},        {"lb", 2, 13},          {"lbs", 2, 13},
    {"pound", 2, 13},      {"pounds", 2, 13},     {"oz", 2, 14},          {"ounce", 2, 14},
    {"ounces", 2, 14},     {"ton", 2, 15},        {"tons", 2, 15},        {"tonne", 2, 15},
    {"tonnes", 2, 15},     {"mm", 3, 20},         {"millimetre", 3, 20},  {"millimeter", 3, 20},
    {"cm", 3, 21},         {"centimetre", 3, 21}, {"centimeter", 3, 21},  {"metre", 3, 22},
    {"meter", 3, 22},      {"metres", 3, 22},     {"meters", 3, 22},      {"km", 3, 23},
    {"kilometre", 3, 23},  {"kilometer", 3, 23},  {"kilometres", 3, 23},  {"kilometers", 3, 23},
    {"inch", 3, 24},       {"inches", 3, 24},     {"foot", 3, 25},        {"feet", 3, 25},
    {"ft", 3, 25},         {"mile", 3, 26},       {"miles", 3, 26},       {"ml", 4, 30},
    {"millilitre", 4, 30}, {"milliliter", 4, 30}, {"millilitres", 4, 30}, {"litre", 4, 31},
    {"litres", 4, 31},     {"liter", 4, 31},      {"liters", 4, 31},      {"cup", 4, 32},
    {"cups", 4, 32},       {"tablespoon", 4, 33}, {"tablespoons", 4, 33}, {"tbsp", 4, 33},
    {"teaspoon", 4, 34},   {"teaspoons", 4, 34},  {"tsp", 4, 34},         {"gallon", 4, 35},
    {"gallons", 4, 35},    {"pint", 4, 36},       {"pints", 4, 36},       {"kbps", 5, 40},
    {"mbps", 5, 41},       {"gbps", 5, 42},       {"kb", 6, 50},          {"mb", 6, 51},
    {"gb", 6, 52},         {"tb", 6, 53},         {"hz", 7, 60},          {"khz", 7, 61},
    {"mhz", 7, 62},        {"ghz", 7, 63},
};

void kv_swap_units_read(kv_sense *sn)
{
    memset(sn->unit_initials, 0, sizeof sn->unit_initials);
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
        size_t len = strlen(units[k].w);
        char c = units[k].w[0];
        if (len < sizeof sn->unit_initials / sizeof sn->unit_initials[0] && c >= 'a' && c <= 'z')
            sn->unit_initials[len] |= 1u << (c - 'a');
        else
            sn->unit_other = 1;
    }
}

/* The unit token t of text names (its kind in the high byte, its id in the low one), or 0. */
static int unit_of(const kv_sense *sn, const kv_token *t, const char *text)
{
    size_t len = t->end - t->start;
    if (len > 12 || len == 0)
        return 0;
    /* The units are lower case: one whose first letter differs is passed at once. */
    const char c = text[t->start] >= 'A' && text[t->start] <= 'Z' ? (char)(text[t->start] | 0x20)
                                                                  : text[t->start];
    /* No unit of this length opens with this letter. */
    if (!sn->unit_other && (c < 'a' || c > 'z' || !(sn->unit_initials[len] >> (c - 'a') & 1u)))
        return 0;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (units[k].w[0] == c && kv_text_is(text + t->start, len, units[k].w))
            return units[k].kind << 8 | units[k].id;
    return 0;
}

/* 1 when token i of r is a name: capitalised, not a code like "4K", and not the first word
 * unless a second capitalised word follows it ("Norden Systems"; "Cook the ..." is no name). */
static int name_at(const kv_reading *r, size_t i)
{
    const kv_token *t = &r->t[i];
    if (t->kind != KV_TOK_WORD || !(t->flags & KV_TF_CAP))
        return 0;
    if (i == 0 && !r->first_name &&
        !(r->n > 1 && (r->t[1].flags & KV_TF_CAP) && r->t[1].kind == KV_TOK_WORD &&
          r->t[1].start == t->end + 1 && r->text[t->end] == ' '))
        return 0;
    const char *p = r->text + t->start;
    return !(p[0] >= '0' && p[0] <= '9');
}

/* The kind of token i for slots: 1 a number, 2 a name, 0 neither. */
static int slot_kind(const kv_reading *r, size_t i)
{
    if (r->t[i].kind == KV_TOK_NUMBER)
        return 1;
    return name_at(r, i) ? 2 : 0;
}

/* 1 when claim token hash h is among the claim's tokens. */
static int in_claim(const kv_reading *c, uint64_t h)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->t[i].h == h)
            return 1;
    return 0;
}

/* 1 when the sources hold h: a name or number they never mention is the name and number
 * rules' (match.c), which call it unsupported; a swap takes one of theirs. */
static int held_elsewhere(const kivo_engine *e, uint64_t h)
{
    size_t np;
    return kv_index_find(e, h, &np) && np > 0;
}

/* unit_of claim token i, read once per claim. */
static int claim_unit(kv_sense *sn, size_t i)
{
    if (!(sn->word_read[i] & KV_WORD_UNIT)) {
        sn->unit[i] = (uint16_t)unit_of(sn, &sn->claim.t[i], sn->claim.text);
        sn->word_read[i] |= KV_WORD_UNIT;
    }
    return sn->unit[i];
}

/* 1 when token a of c and token y of r open with the same four letters or more ("Reaper",
 * "Reap"): two forms of one word, not two names. */
static int same_stem(const kv_reading *c, size_t a, const kv_reading *r, size_t y)
{
    const kv_token *t = &c->t[a], *u = &r->t[y];
    size_t n = t->end - t->start, m = u->end - u->start, k = 0;
    while (k < n && k < m && (c->text[t->start + k] | 0x20) == (r->text[u->start + k] | 0x20))
        k++;
    return k >= 4;
}

/* Claim words window sentence s holds. */
static size_t held_in(const kv_sense *sn, size_t s)
{
    size_t held = 0;
    for (size_t i = 0; i < sn->claim.n; i++)
        held += sn->match[i].content && sn->match[i].at[s] >= 0;
    return held;
}

static int glued(const kv_reading *r, size_t y);
static int boundary_before(const kv_reading *r, size_t y);
static int is_and(const kv_reading *r, size_t y);

/* The end (exclusive) of the run of r's tokens from y0 that may fill a slot of `kind`: tokens
 * of that kind, with single function words between them ("7 to 14"), at most `max` tokens. y0
 * when there is none. */
static size_t fill_run(const kv_reading *r, size_t y0, int kind, size_t max)
{
    size_t y = y0, last = y0;
    if (y0 < r->n && glued(r, y0))
        return y0;
    while (y < r->n && y - y0 < max) {
        if (y > y0 && boundary_before(r, y))
            break;
        if (slot_kind(r, y) == kind) {
            last = ++y;
        } else if (kind == 1 && y > y0 && r->t[y].kind == KV_TOK_STOP && y + 1 < r->n &&
                   slot_kind(r, y + 1) == kind) {
            y++; /* "7 to 14" */
        } else {
            break;
        }
    }
    return last;
}

/* 1 when token y of r is glued to the one before it, a part of a written word ("iPhone" reads
 * as "i" and "Phone"): no slot of its own. */
static int glued(const kv_reading *r, size_t y)
{
    return y > 0 && r->t[y].start == r->t[y - 1].end;
}

/* 1 when r ends a clause or a phrase before token y (its end, or a mark of punctuation). */
static int boundary_before(const kv_reading *r, size_t y)
{
    if (y >= r->n)
        return 1;
    for (uint32_t k = r->t[y - 1].end; k < r->t[y].start; k++) {
        char ch = r->text[k];
        if (ch == '.' || ch == ',' || ch == ';' || ch == ':' || ch == '!' || ch == '?' || ch == ')')
            return 1;
    }
    return 0;
}

/* 1 when a parenthesis opens before token y of r: "Harvester (Italian)" says no more of
 * "Italian" than the name it glosses. */
static int opens_paren(const kv_reading *r, size_t y)
{
    for (uint32_t k = r->t[y - 1].end; k < r->t[y].start; k++)
        if (r->text[k] == '(')
            return 1;
    return 0;
}

/* other_fill for one plain word i: r's word between the claim's neighbours of i, exactly. At
 * the end of a phrase, the two words before it and the end ("allergic to [aspirin].") stand
 * for the neighbours. */
static int other_word(const kv_reading *c, size_t i, const kv_reading *r, size_t *y, size_t *y1)
{
    /* Each place it reads follows the claim's word before i. */
    if (i == 0 || !kv_reading_may_hold(r, c->t[i - 1].h) || boundary_before(c, i))
        return 0;
    int last = i + 1 >= c->n || boundary_before(c, i + 1);
    if (last && (i < 2 || boundary_before(c, i - 1)))
        return 0;
    int same = 0, other = 0;
    for (size_t j = last ? 2 : 1; j < r->n && !same; j++) {
        if (r->t[j - 1].h != c->t[i - 1].h || r->t[j].kind != KV_TOK_WORD)
            continue;
        if (last ? r->t[j - 2].h != c->t[i - 2].h || !boundary_before(r, j + 1)
                 : j + 1 >= r->n || r->t[j + 1].h != c->t[i + 1].h)
            continue;
        if (r->t[j].h == c->t[i].h) {
            same = 1;
        } else if (!other) {
            other = 1;
            *y = j;
            *y1 = j + 1;
        }
    }
    return other && !same;
}

/* 1 when the content words of one of c[a, b] and r[y, y1) are all among the other's: one
 * name written longer ("New York City Police Department" / "New York Police Department"), not
 * two names ("Amira Sole" / "Amira Stone"). */
static int shares_word(const kv_reading *c, size_t a, size_t b, const kv_reading *r, size_t y,
                       size_t y1)
{
    int c_in_r = 1, r_in_c = 1;
    for (size_t k = a; k <= b && c_in_r; k++) {
        int found = c->t[k].kind == KV_TOK_STOP;
        for (size_t j = y; j < y1 && !found; j++)
            found = c->t[k].h == r->t[j].h;
        c_in_r = found;
    }
    for (size_t j = y; j < y1 && r_in_c; j++) {
        int found = r->t[j].kind == KV_TOK_STOP;
        for (size_t k = a; k <= b && !found; k++)
            found = c->t[k].h == r->t[j].h;
        r_in_c = found;
    }
    return c_in_r || r_in_c;
}

/* 1 when runs [a, b] and [ya, yb] of c stand in one list: joined by "and", "or" or a comma
 * with at most one word between. */
static int listed(const kv_reading *c, size_t a, size_t b, size_t ya, size_t yb)
{
    size_t lo = b < ya ? b : yb, hi = b < ya ? ya : a;
    if (hi <= lo || hi - lo > 3)
        return 0;
    for (size_t k = lo + 1; k < hi; k++)
        if (c->t[k].kind != KV_TOK_STOP)
            return 0;
    return 1;
}

/* 1 when r[y, y1) is one word of capitals opening with the initials of c[a, b]. */
static int acronym_of(const kv_reading *c, size_t a, size_t b, const kv_reading *r, size_t y,
                      size_t y1)
{
    if (y1 != y + 1 || b == a)
        return 0;
    const char *w = r->text + r->t[y].start;
    size_t len = r->t[y].end - r->t[y].start, m = 0;
    for (size_t k = a; k <= b && m < len; k++) {
        if (c->t[k].kind == KV_TOK_STOP)
            continue;
        if (c->text[c->t[k].start] != w[m])
            return 0;
        m++;
    }
    return m >= 2;
}

/* 1 when tokens [a, b] of c and [y, y1) of r are the same words. */
static int same_fill(const kv_reading *c, size_t a, size_t b, const kv_reading *r, size_t y,
                     size_t y1)
{
    /* Their words, function words aside ("15-20" is "15 to 20"). */
    size_t k = a, j = y;
    for (;;) {
        while (k <= b && c->t[k].kind == KV_TOK_STOP)
            k++;
        while (j < y1 && r->t[j].kind == KV_TOK_STOP)
            j++;
        if (k > b || j >= y1)
            return k > b && j >= y1;
        if (c->t[k].h != r->t[j].h)
            return 0;
        k++;
        j++;
    }
}

/* The filler window sentence r has in the claim's slot [a, b] of `kind` (the words the claim
 * has around it, exactly): 1 and [*y, *y1) when r fills it with other words, 0 when r never
 * has that context or also fills it with the claim's words. */
static int other_fill(const kv_reading *c, size_t a, size_t b, int kind, const kv_reading *r,
                      size_t *y, size_t *y1)
{
    int has_l = a > 0 && !opens_paren(c, a);
    /* With a left neighbour, each filler it reads follows it. */
    if (has_l && !kv_reading_may_hold(r, c->t[a - 1].h))
        return 0;
    int has_r = b + 1 < c->n && !boundary_before(c, b + 1);
    if (!has_l && !has_r)
        return 0;
    size_t max = b - a + 3;
    int same = 0, other = 0;
    for (size_t j1 = 0; j1 <= r->n && !same; j1++) {
        size_t y0;
        if (has_l) {
            if (j1 >= r->n || r->t[j1].h != c->t[a - 1].h)
                continue;
            y0 = j1 + 1;
        } else {
            /* The claim opens with the slot: the sentence's filler opens a phrase too ("[Okoro]
             * was sent off" for "[Jonah Reyes] was sent off"). */
            if (j1 >= r->n)
                break;
            y0 = j1;
            if (y0 > 0 && r->t[y0 - 1].kind != KV_TOK_STOP && !boundary_before(r, y0))
                continue;
        }
        size_t end = fill_run(r, y0, kind, max);
        if (end == y0)
            continue;
        if (!(has_r ? end < r->n && r->t[end].h == c->t[b + 1].h && !boundary_before(r, end)
                    : boundary_before(r, end) || is_and(r, end)))
            continue;
        /* "the founder of [Pellis], will leave": a comma parts the filler from the neighbour the
         * claim has right beside its own. */
        if (has_l && y0 < r->n && boundary_before(r, y0) != boundary_before(c, a))
            continue;
        if (same_fill(c, a, b, r, y0, end)) {
            same = 1; /* the sentence says it this way too */
        } else if (!other) {
            other = 1;
            *y = y0;
            *y1 = end;
        }
    }
    return other && !same;
}

/* 1 when token y of r is "and": a list or a second verb goes on ("funded by Meridian Pharma and
 * led by ..."), the phrase ends. */
static int is_and(const kv_reading *r, size_t y)
{
    return y < r->n && kv_text_is(r->text + r->t[y].start, r->t[y].end - r->t[y].start, "and");
}

/* The claim's run of slot words of `kind` around token i: a name's capitalised words ("Peter
 * Kahn"), a number's range ("3 to 5"). ck: slot_kind of each claim token. */
static void slot_run(const kv_reading *c, const uint8_t *ck, size_t i, int kind, size_t *a,
                     size_t *b)
{
    *a = *b = i;
    while (*a > 0 && ck[*a - 1] == kind && !boundary_before(c, *a))
        (*a)--;
    for (;;) {
        if (*b + 1 < c->n && ck[*b + 1] == kind && !boundary_before(c, *b + 1))
            (*b)++;
        else if (kind == 1 && *b + 2 < c->n && c->t[*b + 1].kind == KV_TOK_STOP &&
                 ck[*b + 2] == kind)
            *b += 2;
        else
            break;
    }
}

/* 1 when r holds tokens [a, b] of c with c's content word before a or after b next to them. */
static int said_with_neighbour(const kv_reading *c, size_t a, size_t b, const kv_reading *r)
{
    size_t len = b - a + 1;
    for (size_t j = 0; j + len <= r->n; j++) {
        size_t k = 0;
        while (k < len && r->t[j + k].h == c->t[a + k].h)
            k++;
        if (k < len)
            continue;
        if (a > 0 && j > 0 && r->t[j - 1].h == c->t[a - 1].h && !boundary_before(c, a) &&
            c->t[a - 1].kind != KV_TOK_STOP)
            return 1;
        if (b + 1 < c->n && j + len < r->n && r->t[j + len].h == c->t[b + 1].h &&
            !boundary_before(c, b + 1) && c->t[b + 1].kind != KV_TOK_STOP)
            return 1;
    }
    return 0;
}

/* Reading the next window (sense.c): 1 when a sentence of the best window holds the claim's
 * slot [a, b] with as many of the claim's words before it in its clause as sentence s holds
 * ("SMS stands for [Short Message Service]" there; "MMS stands for [Multimedia Messaging
 * Service] ... the SMS" here). "International orders take [3 to 5] business days" took its
 * number from "Standard shipping takes 3 to 5 business days", but not its subject. */
static int said_in_best(const kv_sense *sn, size_t a, size_t b, size_t s)
{
    const kv_reading *c = &sn->claim;
    for (size_t bs = 0; bs < sn->best_sents; bs++) {
        int all = 1;
        for (size_t k = a; k <= b && all; k++)
            all = c->t[k].kind == KV_TOK_STOP || sn->best_at[k][bs] >= 0;
        if (!all)
            continue;
        size_t there = 0, here = 0;
        for (size_t k = 0; k < a; k++) {
            if (!sn->match[k].content || c->a[k].clause != c->a[a].clause)
                continue;
            there += sn->best_at[k][bs] >= 0;
            here += sn->match[k].at[s] >= 0;
        }
        if (there >= here)
            return 1;
    }
    return 0;
}

/* A name or number of the claim where window sentence s, between the same neighbouring words,
 * has another one: "costs $[49] per" against "costs $[29] per", "the [Plus] plan" against "the
 * [Pro] plan", "by Justice [Peter Kahn]." against "by Justice [Amira Sole].". The claim must
 * hold the sentence's wording around the slot word for word; a paraphrase is not read.
 * - A name or number the sentence lacks (the sources hold it elsewhere; one they never hold is
 *   the name and number rules' in match.c): the sentence's filler must be one the claim lacks.
 * - One the sentence holds too: the claim must have exchanged the two, each in the other's
 *   place ("[Pellis]'s shares rose 4% ..., while [Harlow]'s shares fell" against "Harlow's ...
 *   rose ..., while Pellis's ... fell"); so must two words that are neither names nor numbers
 *   ("on [placebo] lost ..., while ... on [glucavin] gained"). */
static int slot_swap(kivo_engine *e, kv_sense_result *res, size_t s, uint8_t *ck, int *ck_read,
                     const size_t *held_k, size_t terms)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    size_t held = held_k[s];
    if (held < 1)
        return 0;
    /* The claim's slot kinds are the same for each sentence of the window. */
    if (!*ck_read) {
        for (size_t i = 0; i < c->n; i++)
            ck[i] = (uint8_t)slot_kind(c, i);
        *ck_read = 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        int kind = ck[i], present = sn->match[i].at[s] >= 0;
        if (!kind && c->t[i].kind == KV_TOK_WORD && present)
            kind = 3;
        if (!kind || (c->t[i].flags & KV_TF_REF) ||
            (kind != 1 && c->t[i].end - c->t[i].start < 2) || !held_elsewhere(e, c->t[i].h))
            continue;
        /* Another window sentence that holds the word and more of the claim is where the claim
         * took it from ("The dissent was written by Justice Peter Kahn" beside "The majority
         * opinion was written by Justice Amira Sole. Justice Peter Kahn wrote the dissent."). */
        size_t a, b, y, y1;
        if (kind == 3) {
            a = b = i;
        } else {
            slot_run(c, ck, i, kind, &a, &b);
        }
        /* It must hold a claim word past the name, though: "Jonah Reyes was sent off" took
         * the name from "Jonah Reyes scored twice" and what it says of him from "Okoro was sent
         * off". */
        int elsewhere = 0;
        for (size_t k = 0; k < sn->n_sents && !elsewhere && !present; k++) {
            if (k == s || sn->match[i].at[k] < 0 || held_k[k] <= held)
                continue;
            for (size_t q = 0; q < c->n && !elsewhere; q++)
                elsewhere = (q < a || q > b) && sn->match[q].content && sn->match[q].at[k] >= 0;
        }
        if (elsewhere)
            continue;
        if (sn->next_window && said_in_best(sn, a, b, s))
            continue;
        int fk = kind == 3 ? 0 : kind;
        if (fk ? !other_fill(c, a, b, fk, r, &y, &y1) : !other_word(c, i, r, &y, &y1))
            continue;
        /* The words the two runs open or end with alike say nothing ("Justice [Peter Kahn]" /
         * "Justice [Amira Sole]", "Aero [X1]" / "Aero [X2]"); one run left empty is the other
         * written longer ("Harlow Systems" / "Harlow"). */
        while (a < b && y + 1 < y1 && c->t[a].h == r->t[y].h) {
            a++;
            y++;
        }
        while (b > a && y1 > y + 1 && c->t[b].h == r->t[y1 - 1].h) {
            b--;
            y1--;
        }
        if (c->t[a].h == r->t[y].h && a == b && y1 == y + 1)
            continue;
        /* Two forms of one name ("Reaper" / "Reap", "New York City Police Department" / "New
         * York Police Department") share a word or a stem; and a glued part is no slot. */
        if (same_stem(c, a, r, y) || glued(c, a) || shares_word(c, a, b, r, y, y1))
            continue;
        /* A neighbour that is a content word, or one on each side: "the [FAA]." is too little
         * to tell a slot. */
        int content_l = a > 0 && c->t[a - 1].kind != KV_TOK_STOP;
        int content_r =
            b + 1 < c->n && c->t[b + 1].kind != KV_TOK_STOP && !boundary_before(c, b + 1);
        int both = a > 0 && b + 1 < c->n && !boundary_before(c, b + 1);
        /* Or a content word past a function word, both as the sentence has them ("funded by
         * [Leeds University]." / "funded by [Meridian Pharma]"; "[Jonah Reyes] was sent off" /
         * "[Okoro] was sent off"). */
        int content_l2 = a > 1 && y > 1 && c->t[a - 1].kind == KV_TOK_STOP &&
                         c->t[a - 2].kind != KV_TOK_STOP && !boundary_before(c, a - 1) &&
                         r->t[y - 2].h == c->t[a - 2].h;
        int content_r2 = b + 2 < c->n && y1 + 1 < r->n && c->t[b + 1].kind == KV_TOK_STOP &&
                         c->t[b + 2].kind != KV_TOK_STOP && !boundary_before(c, b + 1) &&
                         !boundary_before(c, b + 2) && r->t[y1 + 1].h == c->t[b + 2].h;
        if (!content_l && !content_r && !both && !content_l2 && !content_r2)
            continue;
        /* "ISU" for "Illinois State": the initials of the claim's name. */
        if (acronym_of(c, a, b, r, y, y1))
            continue;
        if (!in_claim(c, r->t[y].h) && kind != 3) {
            /* The sentence says the claim's name or number with one of the claim's neighbours
             * too ("in [Gemini] mythology ... of [Greek mythology]"): the claim took it
             * there. */
            if (said_with_neighbour(c, a, b, r))
                continue;
            /* A substitution: the sentence must be the one the claim copies, holding most of
             * its other words. */
            size_t run = 0;
            for (size_t k = a; k <= b; k++)
                run += sn->match[k].content;
            if (held * 10 < (terms - run) * SLOT_HELD)
                continue;
        } else {
            /* An exchange: the claim has the sentence's filler in a slot where the sentence has
             * the claim's word. */
            size_t ya = c->n, yb = c->n, z, z1;
            for (size_t k = 0; k < c->n && ya == c->n; k++)
                if (k != i && c->t[k].h == r->t[y].h)
                    ya = k;
            if (ya == c->n)
                continue;
            if (fk)
                slot_run(c, ck, ya, fk, &ya, &yb);
            else
                yb = ya;
            if (fk ? !other_fill(c, ya, yb, fk, r, &z, &z1) : !other_word(c, ya, r, &z, &z1))
                continue;
            if (r->t[z].h != c->t[a].h)
                continue;
            /* "Safra Catz and Mark Hurd" for "Mark Hurd and Safra Catz": a list has no order. */
            if (listed(c, a, b, ya, yb))
                continue;
        }
        for (size_t k = a; k <= b; k++)
            res->mark[k] = c->t[k].kind != KV_TOK_STOP;
        res->rule = KIVO_RULE_SWAP;
        res->sent = s;
        if (e->explain)
            kv_explain_add(e, " swap: window sentence %zu has %.*s where the claim has %.*s;",
                           s + 1, (int)(r->t[y1 - 1].end - r->t[y].start), r->text + r->t[y].start,
                           (int)(c->t[b].end - c->t[a].start), c->text + c->t[a].start);
        return 1;
    }
    return 0;
}

static int unit_swap(kivo_engine *e, kv_sense_result *res, size_t s)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim, *r = &sn->sent[s];
    for (size_t i = 0; i + 1 < c->n; i++) {
        if (c->t[i].kind != KV_TOK_NUMBER || sn->match[i].at[s] < 0)
            continue;
        int cu = claim_unit(sn, i + 1);
        if (!cu)
            continue;
        int same = 0;
        size_t other = r->n;
        for (size_t j = 0; j + 1 < r->n; j++) {
            if (r->t[j].h != c->t[i].h)
                continue;
            int su = unit_of(sn, &r->t[j + 1], r->text);
            if (!su || su >> 8 != cu >> 8)
                continue;
            if (su == cu)
                same = 1;
            else
                other = j + 1;
        }
        if (same || other == r->n)
            continue;
        res->mark[i + 1] = 1;
        res->rule = KIVO_RULE_UNIT;
        res->sent = s;
        if (e->explain)
            kv_explain_add(e, " unit: the claim has %.*s %.*s, window sentence %zu %.*s %.*s;",
                           (int)(c->t[i].end - c->t[i].start), c->text + c->t[i].start,
                           (int)(c->t[i + 1].end - c->t[i + 1].start), c->text + c->t[i + 1].start,
                           s + 1, (int)(c->t[i].end - c->t[i].start), c->text + c->t[i].start,
                           (int)(r->t[other].end - r->t[other].start), r->text + r->t[other].start);
        return 1;
    }
    return 0;
}

/* The month (1-12) token t names, or 0. */
static int month_of(const char *text, const kv_token *t)
{
    size_t len = t->end - t->start;
    if (!(t->flags & KV_TF_CAP))
        return 0;
    for (int m = 0; m < 12; m++)
        if (kv_text_is(text + t->start, len, kv_month_names[m]))
            return m + 1;
    return 0;
}

/* A weekday or month the sources never name, where the window names another one. */
static int closed_class(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    const kv_reading *c = &sn->claim;
    /* The claim's weekdays and months the sources never name, found once per claim. */
    if (!sn->closed_read) {
        sn->n_closed = 0;
        for (size_t i = 0; i < c->n; i++) {
            const kv_token *t = &c->t[i];
            if (t->kind != KV_TOK_WORD || !(t->flags & KV_TF_CAP))
                continue;
            /* Whether the sources name it first: most capitalised words they do. */
            if (held_elsewhere(e, t->h))
                continue;
            int day = kv_weekday(c->text + t->start, t->end - t->start);
            int month = day < 0 ? month_of(c->text, t) : 0;
            if (day < 0 && !month)
                continue;
            sn->closed[sn->n_closed].i = (uint8_t)i;
            sn->closed[sn->n_closed].day = (int8_t)day;
            sn->n_closed++;
        }
        sn->closed_read = 1;
    }
    for (size_t k = 0; k < sn->n_closed; k++) {
        size_t i = sn->closed[k].i;
        int day = sn->closed[k].day;
        const kv_token *t = &c->t[i];
        for (size_t s = 0; s < sn->n_sents; s++) {
            const kv_reading *r = &sn->sent[s];
            for (size_t j = 0; j < r->n; j++) {
                const kv_token *u = &r->t[j];
                if (u->kind != KV_TOK_WORD || !(u->flags & KV_TF_CAP))
                    continue;
                int other = day >= 0 ? kv_weekday(r->text + u->start, u->end - u->start) >= 0
                                     : month_of(r->text, u) > 0;
                if (!other)
                    continue;
                res->mark[i] = 1;
                res->rule = KIVO_RULE_SWAP;
                res->sent = s;
                if (e->explain)
                    kv_explain_add(e,
                                   " swap: the sources never name %.*s; window sentence %zu "
                                   "names %.*s;",
                                   (int)(t->end - t->start), c->text + t->start, s + 1,
                                   (int)(u->end - u->start), r->text + u->start);
                return 1;
            }
        }
    }
    return 0;
}

int kv_swap_check(kivo_engine *e, kv_sense_result *res)
{
    kv_sense *sn = e->sense;
    uint8_t ck[KV_SENSE_MAX_TOKENS];
    int ck_read = 0;
    /* The claim words each window sentence holds, and the claim's terms. */
    size_t held_k[KV_SENSE_MAX_SENTS], terms = 0;
    for (size_t s = 0; s < sn->n_sents; s++)
        held_k[s] = held_in(sn, s);
    for (size_t i = 0; i < sn->claim.n; i++)
        terms += sn->match[i].content;
    for (size_t s = 0; s < sn->n_sents; s++)
        if (unit_swap(e, res, s) || slot_swap(e, res, s, ck, &ck_read, held_k, terms))
            return 1;
    return closed_class(e, res);
}
