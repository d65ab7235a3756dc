/*
 * cues.c - the closed classes of words the sentence layer reads (sense_int.h): clause openers,
 * conditions, exceptions, order words, quantifiers, modals, converse pairs.
 *
 * Each list is a closed class of English as the reference grammars describe it; the lists are
 * written here from those descriptions, not copied from any file:
 * - subordinators and clause-opening connectives: Quirk, Greenbaum, Leech & Svartvik, "A
 *   Comprehensive Grammar of the English Language" (1985), ch. 14-15 (subordination,
 *   conditional and exceptive clauses: "if", "unless", "except");
 * - central determiners and quantifiers (all, every, each, some, only): ibid. ch. 5, and the
 *   generalized quantifiers of Barwise & Cooper, "Generalized Quantifiers and Natural
 *   Language" (1981);
 * - modal auxiliaries and semi-modals (may, must, have to, need to), their negation ("must not"
 *   prohibits, "need not" leaves it optional): Palmer, "Mood and Modality" (2nd ed., 2001),
 *   ch. 3-4, and Huddleston & Pullum, "The Cambridge Grammar of the English Language" (2002),
 *   ch. 3 §9;
 * - converse relations (X before Y = Y after X, X beat Y = Y lost to X, X is heavier than Y =
 *   Y is lighter than X) and symmetric predicates (marry, meet, merge): Lyons, "Semantics"
 *   (1977), §9.1-9.3, and Levin, "English Verb Classes and Alternations" (1993), §2.5
 *   (reciprocal alternations).
 *
 * Words are hashed as the tokenizer hashes them (kv_lexicon_word_hash), so a content word
 * matches through its stem ("required", "requires"); the table is built once per engine.
 */
#include <stdlib.h>
#include <string.h>

#include "sense_int.h"

typedef struct cue_word {
    const char *w;
    uint32_t cue;
} cue_word;

static const cue_word words[] = {
    /* Clause openers: a negation's reach ends before them, and a new clause starts. */
    {"but", KV_CUE_BREAK},
    {"while", KV_CUE_BREAK},
    {"whilst", KV_CUE_BREAK},
    {"although", KV_CUE_BREAK},
    {"though", KV_CUE_BREAK},
    {"whereas", KV_CUE_BREAK},
    {"however", KV_CUE_BREAK},
    {"yet", KV_CUE_BREAK},
    {"because", KV_CUE_BREAK},
    {"since", KV_CUE_BREAK},
    {"which", KV_CUE_BREAK},
    {"who", KV_CUE_BREAK},
    {"whom", KV_CUE_BREAK},
    {"whose", KV_CUE_BREAK},
    {"so", KV_CUE_BREAK},
    {"therefore", KV_CUE_BREAK},
    {"thus", KV_CUE_BREAK},
    {"hence", KV_CUE_BREAK},
    {"why", KV_CUE_BREAK},
    {"whether", KV_CUE_BREAK},
    {"how", KV_CUE_BREAK},
    {"what", KV_CUE_BREAK},
    {"where", KV_CUE_BREAK},
    {"whereby", KV_CUE_BREAK},
    /* Conditions. "Unless B" is read as "if not B". */
    {"if", KV_CUE_COND},
    {"when", KV_CUE_COND},
    {"whenever", KV_CUE_COND},
    {"provided", KV_CUE_COND},
    {"providing", KV_CUE_COND},
    {"assuming", KV_CUE_COND},
    {"unless", KV_CUE_UNLESS},
    /* Exceptions; "other than", "apart from", "aside from" are read in clause.c. */
    {"except", KV_CUE_EXCEPT},
    {"excluding", KV_CUE_EXCEPT},
    {"excepting", KV_CUE_EXCEPT},
    {"exception", KV_CUE_EXCEPT},
    {"unlike", KV_CUE_EXCEPT},
    /* Order in time: "before" and "then" put their left side first, "after" its right side. */
    {"before", KV_CUE_ORDER},
    {"prior", KV_CUE_ORDER},
    {"then", KV_CUE_ORDER},
    {"after", KV_CUE_ORDER | KV_CUE_AFTER},
    {"afterwards", KV_CUE_ORDER | KV_CUE_AFTER},
    /* Quantifiers. */
    {"all", KV_CUE_ALL},
    {"every", KV_CUE_ALL},
    {"each", KV_CUE_ALL},
    {"any", KV_CUE_ALL},
    {"always", KV_CUE_ALL},
    {"both", KV_CUE_ALL},
    {"entire", KV_CUE_ALL},
    {"everyone", KV_CUE_ALL},
    {"everybody", KV_CUE_ALL},
    {"everything", KV_CUE_ALL},
    {"only", KV_CUE_ONLY},
    {"solely", KV_CUE_ONLY},
    {"exclusively", KV_CUE_ONLY},
    {"some", KV_CUE_SOME},
    {"several", KV_CUE_SOME},
    {"many", KV_CUE_SOME},
    {"few", KV_CUE_SOME},
    {"most", KV_CUE_SOME},
    {"certain", KV_CUE_SOME},
    {"sometimes", KV_CUE_SOME},
    {"often", KV_CUE_SOME},
    /* Modals: possibility and permission. "cannot", "can't" are negations too (lexicon.c). */
    {"may", KV_CUE_POSSIBLE},
    {"might", KV_CUE_POSSIBLE},
    {"can", KV_CUE_POSSIBLE},
    {"could", KV_CUE_POSSIBLE},
    {"cannot", KV_CUE_POSSIBLE},
    {"can't", KV_CUE_POSSIBLE},
    {"cant", KV_CUE_POSSIBLE},
    {"couldn't", KV_CUE_POSSIBLE},
    {"allowed", KV_CUE_POSSIBLE},
    {"permitted", KV_CUE_POSSIBLE},
    /* Necessity and obligation. Strong ones are prohibitions when negated ("must not");
     * weak ones leave it optional ("need not", "not required", "don't have to"). */
    {"must", KV_CUE_NECESSARY},
    {"mustn't", KV_CUE_NECESSARY},
    {"shall", KV_CUE_NECESSARY},
    {"should", KV_CUE_NECESSARY},
    {"shouldn't", KV_CUE_NECESSARY},
    {"ought", KV_CUE_NECESSARY},
    {"required", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"mandatory", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"compulsory", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"obligatory", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"obligated", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"obliged", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"need", KV_CUE_NECESSARY | KV_CUE_WEAK_NEC},
    {"optional", KV_CUE_OPTIONAL},
    {"voluntary", KV_CUE_OPTIONAL},
    {"needn't", KV_CUE_OPTIONAL},
    {"prohibited", KV_CUE_PROHIBIT},
    {"forbidden", KV_CUE_PROHIBIT},
    {"banned", KV_CUE_PROHIBIT},
    {"disallowed", KV_CUE_PROHIBIT},
    /* Voice. */
    {"is", KV_CUE_BE},
    {"are", KV_CUE_BE},
    {"was", KV_CUE_BE},
    {"were", KV_CUE_BE},
    {"be", KV_CUE_BE},
    {"been", KV_CUE_BE},
    {"being", KV_CUE_BE},
    {"am", KV_CUE_BE},
    {"isn't", KV_CUE_BE},
    {"aren't", KV_CUE_BE},
    {"wasn't", KV_CUE_BE},
    {"weren't", KV_CUE_BE},
    {"get", KV_CUE_BE},
    {"got", KV_CUE_BE},
    {"by", KV_CUE_BY},
    /* Predicates with no direction: "X married Y" is "Y married X". */
    {"married", KV_CUE_SYMMETRIC},
    {"marry", KV_CUE_SYMMETRIC},
    {"wed", KV_CUE_SYMMETRIC},
    {"met", KV_CUE_SYMMETRIC},
    {"meet", KV_CUE_SYMMETRIC},
    {"merged", KV_CUE_SYMMETRIC},
    {"merge", KV_CUE_SYMMETRIC},
    {"partnered", KV_CUE_SYMMETRIC},
    {"collaborated", KV_CUE_SYMMETRIC},
    {"versus", KV_CUE_SYMMETRIC},
    {"vs", KV_CUE_SYMMETRIC},
    {"tied", KV_CUE_SYMMETRIC},
    {"drew", KV_CUE_SYMMETRIC},
    {"equal", KV_CUE_SYMMETRIC},
    {"resembles", KV_CUE_SYMMETRIC},
    {"than", KV_CUE_THAN},
    /* Subjects that open a coordinated clause (", and it ..."). */
    {"it", KV_CUE_SUBJECT},
    {"he", KV_CUE_SUBJECT},
    {"she", KV_CUE_SUBJECT},
    {"they", KV_CUE_SUBJECT},
    {"we", KV_CUE_SUBJECT},
    {"you", KV_CUE_SUBJECT},
    {"i", KV_CUE_SUBJECT},
    {"there", KV_CUE_SUBJECT},
    /* Words that follow an instruction's verb ("Take the tablets"). */
    {"the", KV_CUE_DET},
    {"a", KV_CUE_DET},
    {"an", KV_CUE_DET},
    {"this", KV_CUE_DET},
    {"these", KV_CUE_DET},
    {"those", KV_CUE_DET},
    {"your", KV_CUE_DET},
    {"their", KV_CUE_DET},
    {"his", KV_CUE_DET},
    {"her", KV_CUE_DET},
    {"its", KV_CUE_DET},
    {"our", KV_CUE_DET},
    {"my", KV_CUE_DET},
    {"them", KV_CUE_DET},
    {"it", KV_CUE_DET},
    {"up", KV_CUE_DET},
    {"off", KV_CUE_DET},
    /* "not more than N", "cannot exceed N": the negation bounds the number. */
    {"more", KV_CUE_NEG_MORE},
    {"over", KV_CUE_NEG_MORE},
    {"above", KV_CUE_NEG_MORE},
    {"exceed", KV_CUE_NEG_MORE},
    {"beyond", KV_CUE_NEG_MORE},
    {"longer", KV_CUE_NEG_MORE},
    {"even", KV_CUE_EVEN},
    /* Verbs that deny what follows them: "avoid rubbing" is "do not rub". */
    {"avoid", KV_CUE_NEG_VERB},
    {"avoids", KV_CUE_NEG_VERB},
    {"avoided", KV_CUE_NEG_VERB},
    {"avoiding", KV_CUE_NEG_VERB},
    {"prevent", KV_CUE_NEG_VERB},
    {"prevents", KV_CUE_NEG_VERB},
    {"prevented", KV_CUE_NEG_VERB},
    {"preventing", KV_CUE_NEG_VERB},
    {"refrain", KV_CUE_NEG_VERB},
    {"refrains", KV_CUE_NEG_VERB},
};

#define N_WORDS (sizeof words / sizeof words[0])

/* Converse pairs: "X beat Y" says what "Y lost to X" says, "X is heavier than Y" what "Y is
 * lighter than X" says. Read by roles.c: with a converse, the arguments change places. */
#define CONVERSE_WORDS 12
static const char *const converses[][2][CONVERSE_WORDS] = {
    {{"beat", "beats", "beaten", "defeated", "defeat", "won", "win", "wins"},
     {"lost", "lose", "loses"}},
    {{"bought", "buy", "buys", "purchased"}, {"sold", "sell", "sells"}},
    {{"gave", "give", "gives", "given"}, {"received", "receive", "receives"}},
    {{"above", "ahead"}, {"below", "behind"}},
    {{"higher", "more", "greater", "larger", "bigger", "heavier", "older", "longer", "faster",
      "taller", "earlier", "better"},
     {"lower", "less", "fewer", "smaller", "lighter", "younger", "shorter", "slower", "later",
      "worse"}},
    {{"precedes", "preceded"}, {"follows", "followed"}},
    {{"leads", "led"}, {"trails", "trailed"}},
};
#define N_CONVERSES (sizeof converses / sizeof converses[0])

static size_t slot_of(const kivo_engine *e, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 31)) & (e->cue_cap - 1);
    while (e->cue_keys[i] && e->cue_keys[i] != h)
        i = (i + 1) & (e->cue_cap - 1);
    return i;
}

kivo_status kv_cues_build(kivo_engine *e)
{
    size_t cap = 64;
    while (cap < (N_WORDS + N_CONVERSES * 2 * CONVERSE_WORDS) * 2)
        cap *= 2;
    e->cue_keys = calloc(cap, sizeof *e->cue_keys);
    e->cue_vals = calloc(cap, sizeof *e->cue_vals);
    if (!e->cue_keys || !e->cue_vals)
        return KIVO_ENOMEM;
    e->cue_cap = cap;
    for (size_t k = 0; k < N_WORDS; k++) {
        uint64_t h = kv_lexicon_word_hash(e->lx, words[k].w, strlen(words[k].w));
        size_t i = slot_of(e, h);
        e->cue_keys[i] = h;
        e->cue_vals[i] |= words[k].cue;
        kv_hfilter_add(&e->cue_filter, h);
    }
    for (size_t g = 0; g < N_CONVERSES; g++) {
        for (uint32_t side = 0; side < 2; side++) {
            for (size_t k = 0; k < CONVERSE_WORDS && converses[g][side][k]; k++) {
                const char *w = converses[g][side][k];
                uint64_t h = kv_lexicon_word_hash(e->lx, w, strlen(w));
                size_t i = slot_of(e, h);
                e->cue_keys[i] = h;
                kv_hfilter_add(&e->cue_filter, h);
                e->cue_vals[i] |=
                    (uint32_t)(g + 1) << KV_CUE_CONVERSE_SHIFT | side << KV_CUE_SIDE_SHIFT;
            }
        }
    }
    return KIVO_OK;
}

uint32_t kv_cues_find(const kivo_engine *e, uint64_t h)
{
    if (!h)
        return 0;
    size_t i = slot_of(e, h);
    return e->cue_keys[i] ? e->cue_vals[i] : 0;
}
