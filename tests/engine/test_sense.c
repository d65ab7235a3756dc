/*
 * test_sense.c - the sentence layer's rules (sense.c and one file per rule): each rule fires on
 * the claim it is written for, names itself in kivo_claim.rule, puts its unsupported spans on
 * the words that carry the conflict, and stays quiet on a paraphrase of the same source. The
 * texts are written for this test, apart from the behavioural suite's (tests/checklist).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kivo/explain.h"
#include "kivo/review.h"
#include "kivo/wire.h"

static const char lease[] =
    "Tenants may keep one cat or one small dog in the flat. The lease does not allow birds, "
    "reptiles, or rabbits. Tenants must give 60 days of notice before they move out. A parking "
    "space is optional and costs 45 euros per month. Rent rises by 3% after the first year. "
    "The deposit is returned within 21 days unless the flat is damaged. Do not paint the walls "
    "until the landlord agrees.";

static const char clinic[] =
    "Dr. Ines Varga leads the cardiology ward, and Dr. Tomas Bell leads the surgery ward. The "
    "clinic is open from 8 a.m. to 6 p.m. on weekdays. Blood tests cost 30 euros for adults and "
    "15 euros for children. Morning appointments are shorter than afternoon ones. The new scanner "
    "arrived in May, two weeks after the old one broke down. Waiting times fell by 12% last year.";

static const char merger[] =
    "Norden Systems acquired Pellam Labs in 2021 for 40 million euros. The deal was led by Anna "
    "Frisk, the chief financial officer of Norden. Jonas Lind, who founded Pellam, joined the "
    "board of Norden.";

static const char shop[] =
    "Only the Pro plan includes a static IP address. All items except clearance items can be "
    "exchanged within 30 days. The store accepts returns of unworn clothing with the receipt. A "
    "replacement device is covered for the rest of the original warranty.";

/* Texts for kivo-engine.6's narrower cues: an ellipsis, a negated infinitive, a modal's
 * object. */
static const char chem[] =
    "Pure substances have a fixed melting point and boil at one temperature. "
    "Mixtures melt over a range of temperatures.";

static const char office[] =
    "Laptops are provided by the company. Monitors are provided on request.";

static const char care[] = "Wash the jacket by hand in cold water. The dye can run in warm water. "
                           "Patients often forget the evening dose of the tablets.";

static const char pets[] = "Tenants may not keep dogs. Cats are allowed.";

typedef struct sense_case {
    const char *source;
    const char *claim;
    kivo_rule rule;           /* KIVO_RULE_COVERAGE: no rule fires */
    kivo_claim_status status; /* KIVO_CLAIM_SUPPORTED: not flagged (supported or partially) */
    const char *span;         /* a word the unsupported spans must cover, or NULL */
} sense_case;

static const sense_case cases[] = {
    /* negation_scope: a list a negation reaches; "unless" read as "if not". */
    {lease, "The lease allows rabbits.", KIVO_RULE_NEGATION_SCOPE, KIVO_CLAIM_CONTRADICTED,
     "allows rabbits"},
    /* bound: "not within 21 days" is "in more than 21 days". */
    {lease, "The deposit is not returned within 21 days.", KIVO_RULE_BOUND, KIVO_CLAIM_CONTRADICTED,
     "not"},
    /* modality: must / optional, may / must not. */
    {lease, "A parking space is required.", KIVO_RULE_MODALITY, KIVO_CLAIM_CONTRADICTED,
     "required"},
    {lease, "Tenants are not allowed to keep a cat in the flat.", KIVO_RULE_MODALITY,
     KIVO_CLAIM_CONTRADICTED, NULL},
    /* bound: "more than" where the source says "within". */
    {lease, "The deposit is returned in more than 21 days.", KIVO_RULE_BOUND,
     KIVO_CLAIM_CONTRADICTED, "21"},
    /* antonym: open / closed in the clause the claim copies. (A verb of change turned round,
     * "rose" for "fell", is the older opposite rule's: opposite.c decides first.) */
    {clinic, "The clinic is closed from 8 a.m. to 6 p.m. on weekdays.", KIVO_RULE_ANTONYM,
     KIVO_CLAIM_CONTRADICTED, "closed"},
    {clinic, "Waiting times rose by 12% last year.", KIVO_RULE_OPPOSITE, KIVO_CLAIM_CONTRADICTED,
     "rose"},
    /* role: a comparative with its arguments exchanged, an order of events turned round. */
    {clinic, "Afternoon appointments are shorter than morning ones.", KIVO_RULE_ROLE,
     KIVO_CLAIM_CONTRADICTED, NULL},
    {clinic, "The old scanner broke down two weeks after the new one arrived.", KIVO_RULE_ROLE,
     KIVO_CLAIM_CONTRADICTED, NULL},
    /* swap: a name in another's place; unit: another unit of the same kind. */
    {merger, "The deal was led by Jonas Lind, the chief financial officer of Norden.",
     KIVO_RULE_SWAP, KIVO_CLAIM_CONTRADICTED, "Jonas Lind"},
    {merger, "Pellam Labs acquired Norden Systems in 2021.", KIVO_RULE_ROLE,
     KIVO_CLAIM_CONTRADICTED, NULL},
    {lease, "Tenants must give 60 weeks of notice before they move out.", KIVO_RULE_UNIT,
     KIVO_CLAIM_CONTRADICTED, "weeks"},
    /* exchange: two values in each other's phrase (said in other words than the source's);
     * in the source's own words, swap.c sees the number in another's slot first. */
    {clinic, "Adults pay 15 euros for blood tests and children 30 euros.", KIVO_RULE_EXCHANGE,
     KIVO_CLAIM_CONTRADICTED, "15"},
    {clinic, "Blood tests cost 15 euros for adults and 30 euros for children.", KIVO_RULE_SWAP,
     KIVO_CLAIM_CONTRADICTED, "15"},
    /* "not ... until": both sides say "until", one denies the act. */
    {lease, "Paint the walls until the landlord agrees.", KIVO_RULE_NEGATION_SCOPE,
     KIVO_CLAIM_CONTRADICTED, NULL},

    /* quantifier: all against only, all against all-except; negation over an exception. */
    {shop, "All plans include a static IP address.", KIVO_RULE_QUANTIFIER, KIVO_CLAIM_CONTRADICTED,
     "All"},
    {shop, "All items can be exchanged within 30 days.", KIVO_RULE_QUANTIFIER,
     KIVO_CLAIM_CONTRADICTED, NULL},
    {shop, "Clearance items can be exchanged within 30 days.", KIVO_RULE_NEGATION_SCOPE,
     KIVO_CLAIM_CONTRADICTED, NULL},
    {shop, "Items can be exchanged within at least 30 days.", KIVO_RULE_BOUND,
     KIVO_CLAIM_CONTRADICTED, NULL},
    /* prefix: "worn" where the source says "unworn", and "not unworn". */
    {shop, "The store accepts returns of worn clothing with the receipt.", KIVO_RULE_NEGATION_SCOPE,
     KIVO_CLAIM_CONTRADICTED, NULL},
    {shop, "The store does not accept returns of unworn clothing.", KIVO_RULE_NEGATION_SCOPE,
     KIVO_CLAIM_CONTRADICTED, NULL},

    /* An ellipsis ("but monitors are not") borrows the predicate of the clause before it: the
     * source clause must say that predicate of the subject. */
    {office, "Laptops are provided by the company, but monitors are not.", KIVO_RULE_NEGATION_SCOPE,
     KIVO_CLAIM_CONTRADICTED, "monitors"},
    {chem, "Mixtures have a fixed melting point, while pure substances do not.",
     KIVO_RULE_NEGATION_SCOPE, KIVO_CLAIM_CONTRADICTED, NULL},
    {chem, "Pure substances have a fixed melting point, while mixtures do not.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    /* A negated infinitive is advice to avoid, as "avoid" is: no denial of the source's fact. */
    {care,
     "Wash the jacket by hand in cold water, making sure not to let the dye run in warm "
     "water.",
     KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED, NULL},
    {care, "Patients should be careful not to forget the evening dose of the tablets.",
     KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED, NULL},
    /* A modal clashes only over the same object: "may keep cats" is not "may not keep dogs". */
    {pets, "Tenants may keep cats, but dogs are not allowed.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    {pets, "Tenants may keep dogs.", KIVO_RULE_MODALITY, KIVO_CLAIM_CONTRADICTED, NULL},

    /* Invariance: paraphrases, reordered clauses, contractions, double negation, questions. */
    {lease, "Rabbits aren't allowed by the lease.", KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED, NULL},
    {lease, "Unless the flat is damaged, the deposit is returned within 21 days.",
     KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED, NULL},
    {lease, "It is not uncommon for tenants to keep one cat in the flat.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    {lease, "Don't paint the walls until the landlord agrees.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    {clinic, "Afternoon appointments are longer than morning ones.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    {merger, "Pellam Labs was acquired by Norden Systems in 2021.", KIVO_RULE_COVERAGE,
     KIVO_CLAIM_SUPPORTED, NULL},
    {shop, "The Pro plan includes a static IP address.", KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED,
     NULL},
    /* given.c: the reader's own case ("If your ... stops working") is not asserted. */
    {shop,
     "If your replacement device stops working, it is covered for the rest of the original "
     "warranty.",
     KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED, NULL},
    {clinic, "Dr. Ines Varga leads the cardiology ward.", KIVO_RULE_COVERAGE, KIVO_CLAIM_SUPPORTED,
     NULL},
};

static kivo_packet packet(const char *output, const kivo_source *s)
{
    kivo_packet p = {output, strlen(output), s, 1, KIVO_STANDARD, KIVO_USE_EVALUATION};
    return p;
}

/* 1 when one of c's unsupported spans covers the bytes of word in text. */
static int span_covers(const char *text, const kivo_claim *c, const char *word)
{
    const char *at = strstr(text, word);
    if (!at)
        return 0;
    size_t s = (size_t)(at - text), e = s + strlen(word);
    for (size_t k = 0; k < c->n_unsupported_spans; k++)
        if (c->unsupported_spans[k].start <= s && c->unsupported_spans[k].end >= e)
            return 1;
    return 0;
}

static void test_rules(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sense_case *k = &cases[i];
        kivo_source s = {"kb", 2, NULL, 0, k->source, strlen(k->source)};
        kivo_packet p = packet(k->claim, &s);
        const kivo_review *r = NULL;
        assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
        assert_int_equal(r->n_claims, 1);
        const kivo_claim *c = &r->claims[0];
        int flagged = c->status == KIVO_CLAIM_UNSUPPORTED || c->status == KIVO_CLAIM_CONTRADICTED;
        int ok = c->rule == k->rule &&
                 (k->status == KIVO_CLAIM_SUPPORTED ? !flagged : c->status == k->status) &&
                 (!k->span || span_covers(k->claim, c, k->span));
        if (k->status == KIVO_CLAIM_CONTRADICTED)
            ok &= c->category == KIVO_CAT_CONTRADICTED_CLAIM;
        if (!ok) {
            print_message("case %zu \"%s\": rule %s status %s (want %s %s)\n", i, k->claim,
                          kivo_rule_name(c->rule), kivo_claim_status_name(c->status),
                          kivo_rule_name(k->rule), kivo_claim_status_name(k->status));
            failed++;
        }
    }
    kivo_engine_free(e);
    assert_int_equal(failed, 0);
}

/* roles.c reads a verb pivot by its past tense: -ed, or a word of its irregular list, which it
 * passes over by length and first letter before it walks the list. Each irregular past (but
 * "met", a pivot without a direction) with its arguments exchanged is a role conflict. */
static void test_roles_irregular_past(void **state)
{
    (void)state;
    static const char *const verbs[] = {
        "wrote", "beat",     "bought", "sold", "made",  "held", "gave", "took",   "paid",
        "sent",  "brought",  "caught", "told", "found", "left", "hit",  "struck", "chose",
        "drove", "overtook", "sued",   "led",  "won",   "lost", NULL};
    kivo_engine *e = NULL;
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    int failed = 0;
    for (size_t k = 0; verbs[k]; k++) {
        char source[160], claim[160];
        snprintf(source, sizeof source, "Norden Systems %s Pellam Labs in 2019.", verbs[k]);
        snprintf(claim, sizeof claim, "Pellam Labs %s Norden Systems in 2019.", verbs[k]);
        kivo_source src = {"kb", 2, NULL, 0, source, strlen(source)};
        kivo_packet p = packet(claim, &src);
        const kivo_review *r = NULL;
        assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
        assert_int_equal(r->n_claims, 1);
        if (r->claims[0].rule != KIVO_RULE_ROLE) {
            print_message("\"%s\": rule %s\n", claim, kivo_rule_name(r->claims[0].rule));
            failed++;
        }
    }
    kivo_engine_free(e);
    assert_int_equal(failed, 0);
}

/* The explain line names the rule that fired; explain mode changes no status. */
static void test_explain_names_rule(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    kivo_engine_set_explain(e, 1);
    kivo_source s = {"kb", 2, NULL, 0, clinic, strlen(clinic)};
    kivo_packet p = packet("Adults pay 15 euros for blood tests and children 30 euros.", &s);
    const kivo_review *r = NULL;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->claims[0].rule, KIVO_RULE_EXCHANGE);
    assert_non_null(strstr(kivo_engine_explain(e, 0), "exchange:"));
    assert_string_equal(kivo_rule_name(KIVO_RULE_EXCHANGE), "exchange");
    kivo_engine_free(e);
}

/* A formula of goodwill ending in "!" is no claim (match.c); a statement ending in "!" is. */
static void test_pleasantry(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    kivo_source s = {"kb", 2, NULL, 0, shop, strlen(shop)};
    const kivo_review *r = NULL;
    kivo_packet p = packet("Have a great day!", &s);
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->n_claims, 0);
    p = packet("All items can be exchanged within 30 days!", &s);
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    assert_int_equal(r->n_claims, 1);
    kivo_engine_free(e);
}

/* The layer keeps scratch in the engine: a review's result must not depend on the reviews
 * before it (the worker reuses one engine per thread). Each case reviewed after all the others,
 * in reverse order, agrees with a fresh engine's review. */
static void test_reviews_independent(void **state)
{
    (void)state;
    kivo_engine *shared = NULL;
    assert_int_equal(kivo_engine_create(&shared), KIVO_OK);
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t j = 0; j < 2 * n; j++) {
        const sense_case *k = &cases[j < n ? j : 2 * n - 1 - j];
        kivo_source s = {"kb", 2, NULL, 0, k->source, strlen(k->source)};
        kivo_packet p = packet(k->claim, &s);
        const kivo_review *r = NULL;
        assert_int_equal(kivo_engine_review(shared, &p, &r), KIVO_OK);
        kivo_rule rule = r->claims[0].rule;
        kivo_claim_status status = r->claims[0].status;
        kivo_engine *fresh = NULL;
        assert_int_equal(kivo_engine_create(&fresh), KIVO_OK);
        assert_int_equal(kivo_engine_review(fresh, &p, &r), KIVO_OK);
        assert_int_equal(r->claims[0].rule, rule);
        assert_int_equal(r->claims[0].status, status);
        kivo_engine_free(fresh);
    }
    kivo_engine_free(shared);
}

/* One review of output against the source text src (a flattened record when it is "path: value"
 * lines); the review stays the engine's. */
static const kivo_review *review_one(kivo_engine *e, const char *src, const char *output)
{
    kivo_source s = {"kb", 2, NULL, 0, src, strlen(src)};
    kivo_packet p = packet(output, &s);
    const kivo_review *r = NULL;
    assert_int_equal(kivo_engine_review(e, &p, &r), KIVO_OK);
    return r;
}

/* prefix.c keeps the hashes of a word's prefixed forms across reviews, in a memo of 256 slots
 * keyed by the word: what a review finds must not depend on the words of the reviews before it.
 * The source holds "un" + each of 40 made-up words; 300 other made-up words of the same length
 * fill the memo's slots around them. Every claim, reviewed on one engine after all the others
 * (in both orders), agrees with a fresh engine's review of it alone; the two kinds of word are
 * read differently (the prefix is found for the first kind only). */
static void test_prefix_memo_across_reviews(void **state)
{
    (void)state;
    enum { HELD = 40, OTHER = 300, ALL = HELD + OTHER, LEN = 6 };
    static char words[ALL][LEN + 1];
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < ALL; i++) {
        for (size_t k = 0; k < LEN; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words[i][k] = (char)('a' + x % 26);
        }
        words[i][0] = (char)('b' + i % 20); /* no made-up word starts with a prefix */
    }
    /* Two sources: the first holds "un" + each held word, the second none of them. */
    static char src[HELD * 40]; /* 33 bytes a sentence */
    size_t n = 0;
    for (size_t i = 0; i < HELD; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "The shop sells un%.*s jackets. ", (int)LEN,
                              words[i]);
    assert_true(n < sizeof src);
    const char *const sources[2] = {src, "The shop sells warm jackets."};
    kivo_rule fresh_rule[2][ALL];
    kivo_claim_status fresh_status[2][ALL];
    char claim[64];
    for (size_t i = 0; i < 2 * ALL; i++) {
        kivo_engine *fresh = NULL;
        assert_int_equal(kivo_engine_create(&fresh), KIVO_OK);
        snprintf(claim, sizeof claim, "The shop sells %.*s jackets.", (int)LEN, words[i % ALL]);
        const kivo_review *r = review_one(fresh, sources[i / ALL], claim);
        assert_int_equal(r->n_claims, 1);
        fresh_rule[i / ALL][i % ALL] = r->claims[0].rule;
        fresh_status[i / ALL][i % ALL] = r->claims[0].status;
        kivo_engine_free(fresh);
    }
    /* The prefix decides: the held words are read through it, the others and every word against
     * the second source are not. */
    assert_int_equal(fresh_rule[0][0], KIVO_RULE_NEGATION_SCOPE);
    assert_int_not_equal(fresh_rule[0][HELD], KIVO_RULE_NEGATION_SCOPE);
    assert_int_not_equal(fresh_rule[1][0], KIVO_RULE_NEGATION_SCOPE);
    kivo_engine *shared = NULL;
    assert_int_equal(kivo_engine_create(&shared), KIVO_OK);
    for (size_t j = 0; j < 4 * ALL; j++) {
        /* Backwards through the words, then forwards; the sources in turn. */
        const size_t i = j < 2 * ALL ? ALL - 1 - j / 2 : (j - 2 * ALL) / 2, v = j % 2;
        snprintf(claim, sizeof claim, "The shop sells %.*s jackets.", (int)LEN, words[i]);
        const kivo_review *r = review_one(shared, sources[v], claim);
        if (r->claims[0].rule != fresh_rule[v][i] || r->claims[0].status != fresh_status[v][i])
            fail_msg("\"%s\" (source %zu) after %zu reviews: rule %s status %s, alone %s %s", claim,
                     v, j, kivo_rule_name(r->claims[0].rule),
                     kivo_claim_status_name(r->claims[0].status), kivo_rule_name(fresh_rule[v][i]),
                     kivo_claim_status_name(fresh_status[v][i]));
    }
    kivo_engine_free(shared);
}

/* kivo-engine.7: a partitive's head is no content ("whatever remains of" = "the rest of"); a
 * sentence of metadiscourse about the sources is no claim; "N days a week" is held against the
 * count of days a record's hours keep open; spans that fill most of a claim become the claim; a
 * field's key written as one word is held; a field's negation stays in its own predicate. */
static void test_engine7(void **state)
{
    (void)state;
    kivo_engine *e = NULL;
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    const kivo_review *r =
        review_one(e, shop,
                   "A replacement device is covered for whatever remains of the original "
                   "warranty.");
    assert_int_equal(r->n_claims, 1);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    r = review_one(e, shop,
                   "A replacement device is covered for what is left of the original "
                   "warranty.");
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);
    /* "remains" that is no partitive's head is content: "the remains of" is a noun phrase. */
    r = review_one(e, shop, "Replacement devices are covered while the warranty remains valid.");
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);

    r = review_one(e, shop, "Passage 3 provides the necessary information to answer the question.");
    assert_int_equal(r->n_claims, 0);
    r = review_one(e, shop, "The second passage repeats the same information.");
    assert_int_equal(r->n_claims, 0);
    /* A word about the world makes it a claim: what the passage is said to hold. */
    r = review_one(e, shop, "Passage 2 provides a personal testimonial about the static IP.");
    assert_int_equal(r->n_claims, 1);

    static const char six[] = "name: Cafe Uno\nhours.Monday: 8:0-17:0\nhours.Tuesday: 8:0-17:0\n"
                              "hours.Wednesday: 8:0-17:0\nhours.Thursday: 8:0-17:0\n"
                              "hours.Friday: 8:0-17:0\nhours.Saturday: 9:0-14:0\n";
    static const char seven[] =
        "name: Cafe Uno\nhours.Monday: 8:0-17:0\nhours.Tuesday: 8:0-17:0\n"
        "hours.Wednesday: 8:0-17:0\nhours.Thursday: 8:0-17:0\nhours.Friday: 8:0-17:0\n"
        "hours.Saturday: 9:0-14:0\nhours.Sunday: 9:0-14:0\n";
    const char *claim = "Cafe Uno is open seven days a week.";
    /* Held (before kivo-engine.7, "seven" was a number no source holds: unsupported). */
    r = review_one(e, seven, claim);
    assert_true(r->claims[0].status != KIVO_CLAIM_CONTRADICTED &&
                r->claims[0].status != KIVO_CLAIM_UNSUPPORTED);
    r = review_one(e, six, claim);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
    assert_int_equal(r->claims[0].rule, KIVO_RULE_HOURS);
    assert_true(span_covers(claim, &r->claims[0], "seven days a week"));
    /* A yes/no field's key written as one word is the key: "takeout" for RestaurantsTakeOut. */
    r = review_one(e,
                   "name: Casa Azul\ncategories: Mexican, Restaurants\n"
                   "attributes.RestaurantsTakeOut: true\nattributes.OutdoorSeating: false\n",
                   "Casa Azul has takeout.");
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_SUPPORTED);

    /* A negation of a predicate of its own ("and does not accept reservations") or of a clause
     * with a subject of its own (", and the ambience is casual") is not the field's. */
    static const char casa[] = "name: Casa Azul\nattributes.RestaurantsReservations: false\n"
                               "attributes.WiFi: no\nattributes.Ambience.classy: true\n"
                               "attributes.Ambience.casual: true\n"
                               "attributes.BusinessParking.street: true\n"
                               "attributes.BusinessParking.validated: false\n"
                               "attributes.BusinessParking.lot: false\n"
                               "attributes.BusinessParking.valet: false\n";
    r = review_one(e, casa, "Casa Azul has a classy ambience and does not accept reservations.");
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
    r = review_one(e, casa, "There is no WiFi, and the ambience is casual.");
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
    /* A subordinate clause put first ends at its comma: its negation is not the main
     * clause's. */
    r = review_one(e, casa, "While it does not offer WiFi, street parking is available.");
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
    r = review_one(e, casa, "While parking may not be easy, Casa Azul offers validated parking.");
    assert_int_equal(r->claims[0].rule, KIVO_RULE_FIELD);
    /* A negation after a list of the record's fields reaches back over the whole list. */
    r = review_one(e, casa,
                   "There is street parking, but lot parking, validated parking, and valet "
                   "parking are not provided.");
    assert_int_not_equal(r->claims[0].status, KIVO_CLAIM_CONTRADICTED);
    r = review_one(e, casa, "The ambience is not casual.");
    assert_int_equal(r->claims[0].rule, KIVO_RULE_FIELD);
    r = review_one(e, casa, "Casa Azul accepts reservations and has a classy ambience.");
    assert_int_equal(r->claims[0].rule, KIVO_RULE_FIELD);

    /* "hours: null" is the hours rule's (times against null hours), not a yes/no field that
     * any "hours" names. */
    r = review_one(e, "name: Cafe Uno\nhours: null\nattributes.WiFi: no\n",
                   "Cafe Uno has long hours.");
    assert_int_not_equal(r->claims[0].rule, KIVO_RULE_NULL_FIELD);
    r = review_one(e, "name: Cafe Uno\nhours: null\nattributes.WiFi: no\n",
                   "Cafe Uno opens at 9 am.");
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_UNSUPPORTED);

    /* Failing words that fill most of a claim about text: the span is the whole claim. */
    const char *made_up = "The lighthouse keeper paints seashells purple every spring.";
    r = review_one(e, shop, made_up);
    assert_int_equal(r->claims[0].status, KIVO_CLAIM_UNSUPPORTED);
    assert_int_equal(r->claims[0].n_unsupported_spans, 1);
    assert_int_equal(r->claims[0].unsupported_spans[0].start, r->claims[0].start);
    assert_int_equal(r->claims[0].unsupported_spans[0].end, r->claims[0].end);
    r = review_one(e, six, "Cafe Uno is open 6 days per week.");
    assert_true(r->claims[0].status != KIVO_CLAIM_CONTRADICTED &&
                r->claims[0].status != KIVO_CLAIM_UNSUPPORTED);
    kivo_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_roles_irregular_past),
        cmocka_unit_test(test_engine7),
        cmocka_unit_test(test_explain_names_rule),
        cmocka_unit_test(test_reviews_independent),
        cmocka_unit_test(test_prefix_memo_across_reviews),
        cmocka_unit_test(test_pleasantry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
