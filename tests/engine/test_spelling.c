/*
 * test_spelling.c - British spellings as American ones (spelling.c): each regular ending and the
 * listed words, the words both spell alike, and the match through the tokenizer's stems.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spelling_int.h"
#include "text_int.h"

/* kv_spelling_us(uk) gives us; us NULL: leaves the word as it is. */
static void spell(const char *uk, const char *us)
{
    char out[80];
    size_t n = kv_spelling_us(uk, strlen(uk), out);
    if (!us) {
        if (n)
            fail_msg("\"%s\" should stay, got \"%.*s\"", uk, (int)n, out);
        return;
    }
    if (n != strlen(us) || memcmp(out, us, n) != 0)
        fail_msg("\"%s\" should be \"%s\", got \"%.*s\"", uk, us, (int)n, out);
}

static void test_endings(void **state)
{
    (void)state;
    spell("organise", "organize");
    spell("organised", "organized");
    spell("organising", "organizing");
    spell("organisation", "organization");
    spell("organisations", "organizations");
    spell("organisational", "organizational");
    spell("criticised", "criticized");
    spell("recognisable", "recognizable");
    spell("realiser", "realizer");
    spell("hospitalised", "hospitalized");
    spell("analyse", "analyze");
    spell("paralysed", "paralyzed");
    spell("colour", "color");
    spell("colourful", "colorful");
    spell("favourite", "favorite");
    spell("honourable", "honorable");
    spell("neighbourhood", "neighborhood");
    spell("behaviours", "behaviors");
    spell("odour", "odor");
    spell("centre", "center");
    spell("centres", "centers");
    spell("centred", "centered");
    spell("metre", "meter");
    spell("kilometres", "kilometers");
    spell("theatre", "theater");
    spell("fibre", "fiber");
    spell("sabre", "saber");
    spell("catalogue", "catalog");
    spell("dialogues", "dialogs");
    spell("defence", "defense");
    spell("programmes", "programs");
    spell("practising", "practicing");
    spell("grey", "gray");
    spell("jewellery", "jewelry");
}

static void test_same_in_both(void **state)
{
    (void)state;
    static const char *const words[] = {
        "advertise", "advertised", "advise",     "adviser",   "exercise",  "exercises",  "surprise",
        "surprised", "compromise", "enterprise", "franchise", "expertise", "televised",  "precise",
        "concise",   "promise",    "raise",      "raised",    "noise",     "praise",     "cruise",
        "otherwise", "likewise",   "paradise",   "premise",   "revise",    "supervised", "rise",
        "wise",      "arise",      "hour",       "hours",     "four",      "tour",       "touring",
        "pour",      "your",       "ours",       "flour",     "devour",    "contour",    "detour",
        "glamour",   "scouring",   "acre",       "genre",     "ogre",      "massacre",   "mediocre",
        "macabre",   "timbre",     "hatred",     "inbred",    "bred",      "vogue",      "rogue",
        "brogue",    "analysis",   "colonel",    "organ",     "organism",  "realistic",  "center",
        "color",     "organize",   "tre",        "re",        "ise",       "our",        "",
        NULL};
    for (size_t i = 0; words[i]; i++)
        spell(words[i], NULL);
}

/* Through the tokenizer: the two spellings stem alike, and the family stays one stem. */
static void test_stems(void **state)
{
    (void)state;
    kv_lexicon *lx = NULL;
    assert_int_equal(kv_lexicon_create(&lx), KIVO_OK);
    static const char *const pairs[][2] = {{"organisation", "organization"},
                                           {"organised", "organized"},
                                           {"criticised", "criticized"},
                                           {"realise", "realize"},
                                           {"colour", "color"},
                                           {"Colours", "colors"},
                                           {"centre", "center"},
                                           {"metres", "meters"},
                                           {"catalogue", "catalog"},
                                           {"defence", "defense"},
                                           {"analysed", "analyzed"},
                                           {"pressurisation", "pressurization"},
                                           {"advertise", "advertisement"},
                                           {"precise", "precisely"},
                                           {"travelled", "traveled"},
                                           {"5 km", "5 kilometers"},
                                           {"feet", "foot"},
                                           {"3 lbs", "3 pounds"},
                                           {NULL, NULL}};
    kv_tokens a = {0}, b = {0};
    for (size_t i = 0; pairs[i][0]; i++) {
        a.n = b.n = 0;
        assert_int_equal(kv_tokenize(lx, pairs[i][0], strlen(pairs[i][0]), &a), KIVO_OK);
        assert_int_equal(kv_tokenize(lx, pairs[i][1], strlen(pairs[i][1]), &b), KIVO_OK);
        assert_int_equal(a.n, b.n);
        for (size_t k = 0; k < a.n; k++)
            if (a.v[k].h != b.v[k].h)
                fail_msg("\"%s\" and \"%s\" should stem alike", pairs[i][0], pairs[i][1]);
    }
    /* Words that only look alike stay apart. */
    a.n = b.n = 0;
    assert_int_equal(kv_tokenize(lx, "timbre", 6, &a), KIVO_OK);
    assert_int_equal(kv_tokenize(lx, "timber", 6, &b), KIVO_OK);
    assert_true(a.v[0].h != b.v[0].h);
    kv_tokens_free(&a);
    kv_tokens_free(&b);
    kv_lexicon_free(lx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endings),
        cmocka_unit_test(test_same_in_both),
        cmocka_unit_test(test_stems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
