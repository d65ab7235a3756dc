/*
 * spelling.c - British spellings as American ones, before the stemmer sees them.
 *
 * Snowball English stems "organization" to "organ" but "organisation" to "organis", and keeps
 * "colour" apart from "color". A few regular endings cover most of the difference: -ise/-yse
 * verbs and what is made of them (-ised, -ising, -isation), -our, -tre/-bre and -ogue; a short
 * list covers the rest (defence, programme, grey). Words that American English spells the same
 * way (advertise, exercise, hour, detour, acre) stay as they are, so a word family keeps one stem
 * ("advertise" and "advertisement" still match).
 */
#include <string.h>

#include "spelling_int.h"

/* w[0..n) ends with s; *stem is then the length before it. */
static int ends(const char *w, size_t n, const char *s, size_t *stem)
{
    size_t k = strlen(s);
    if (n < k || memcmp(w + n - k, s, k) != 0)
        return 0;
    *stem = n - k;
    return 1;
}

/* w[0..n) is one of the words of list (NULL-terminated). */
static int in_list(const char *w, size_t n, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && memcmp(w, list[i], n) == 0)
            return 1;
    return 0;
}

/* The stem before the suffix when w is stem + one of the suffixes; longest suffix first. */
static int split(const char *w, size_t n, const char *const *suffixes, size_t *stem, size_t *suffix)
{
    for (size_t i = 0; suffixes[i]; i++) {
        if (ends(w, n, suffixes[i], stem)) {
            *suffix = i;
            return 1;
        }
    }
    return 0;
}

/* -ise words that American English spells with -ise too, by the part before "ise". */
static const char *const ise_same[] = {
    "advert",  "adv",    "appr",    "ar",     "chast",   "circumc",    "compr",
    "comprom", "dem",    "desp",    "dev",    "disgu",   "enterpr",    "exc",
    "exerc",   "expert", "franch",  "improv", "inc",     "merchand",   "prem",
    "rev",     "superv", "surm",    "surpr",  "telev",   "w",          "prec",
    "conc",    "prom",   "ra",      "no",     "pra",     "cru",        "bru",
    "otherw",  "likew",  "clockw",  "parad",  "treat",   "repr",       "gu",
    "po",      "an",     "mort",    "r",      "pr",      "exorc",      "upr",
    "sunr",    "moonr",  "pre",     "concre", "cer",     "val",        "rem",
    "dispra",  "appra",  "reappra", "unw",    "streetw", "anticlockw", "counterclockw",
    "crossw",  "edgew",  "lengthw", "stepw",  "penny",   "port",       NULL};

/* -our words that American English spells with -our too, by the part before "our". */
static const char *const our_same[] = {"dev", "cont", "det", "param", "troubad", "vel",
                                       "am",  "sc",   "fl",  "glam",  NULL};

/* -tre/-bre words that American English spells with -re too, by the part before "re". */
static const char *const re_same[] = {"macab", "not", "timb", NULL};

static const char *const whole[][2] = {{"defence", "defense"},
                                       {"defences", "defenses"},
                                       {"offence", "offense"},
                                       {"offences", "offenses"},
                                       {"licence", "license"},
                                       {"licences", "licenses"},
                                       {"pretence", "pretense"},
                                       {"practise", "practice"},
                                       {"practised", "practiced"},
                                       {"practises", "practices"},
                                       {"practising", "practicing"},
                                       {"programme", "program"},
                                       {"programmes", "programs"},
                                       {"grey", "gray"},
                                       {"greys", "grays"},
                                       {"aluminium", "aluminum"},
                                       {"jewellery", "jewelry"},
                                       {"mould", "mold"},
                                       {"moulds", "molds"},
                                       {"plough", "plow"},
                                       {"sceptic", "skeptic"},
                                       {"sceptical", "skeptical"},
                                       {"pyjamas", "pajamas"},
                                       {"moustache", "mustache"},
                                       {"cosy", "cozy"},
                                       {"ageing", "aging"},
                                       {"judgement", "judgment"},
                                       {"judgements", "judgments"},
                                       {"fulfil", "fulfill"},
                                       {"skilful", "skillful"},
                                       {"instalment", "installment"},
                                       {"enrolment", "enrollment"},
                                       {"kerb", "curb"},
                                       {NULL, NULL}};

static size_t put(char *out, const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b);
    memcpy(out, a, na);
    memcpy(out + na, b, nb);
    return na + nb;
}

size_t kv_spelling_us(const char *w, size_t n, char *out)
{
    static const char *const ise_suffix[] = {"isational", "isations", "isation", "isable",
                                             "isers",     "ising",    "ised",    "ises",
                                             "iser",      "ise",      NULL};
    static const char *const ize_suffix[] = {"izational", "izations", "ization", "izable",
                                             "izers",     "izing",    "ized",    "izes",
                                             "izer",      "ize",      NULL};
    static const char *const yse_suffix[] = {"ysers", "ysing", "ysed", "yses", "yser", "yse", NULL};
    static const char *const yze_suffix[] = {"yzers", "yzing", "yzed", "yzes", "yzer", "yze", NULL};
    static const char *const our_suffix[] = {"ourites", "ourably", "ourable", "ourhood", "ouring",
                                             "ourite",  "ourful",  "ourless", "ourers",  "oured",
                                             "ourer",   "ourly",   "ours",    "our",     NULL};
    static const char *const or_suffix[] = {"orites", "orably", "orable", "orhood", "oring",
                                            "orite",  "orful",  "orless", "orers",  "ored",
                                            "orer",   "orly",   "ors",    "or",     NULL};
    size_t stem, k;
    if (n < 4)
        return 0;
    for (size_t i = 0; whole[i][0]; i++)
        if (whole[i][0][0] == w[0] && strlen(whole[i][0]) == n && memcmp(w, whole[i][0], n) == 0)
            return put(out, whole[i][1], strlen(whole[i][1]), "");
    /* Every ending below holds "is", "ys", "ou", "re" or "og" in the word's last nine letters. */
    int may = 0;
    for (size_t i = n > 9 ? n - 9 : 0; i + 1 < n && !may; i++) {
        char a = w[i], b = w[i + 1];
        may = (b == 's' && (a == 'i' || a == 'y')) || (a == 'o' && (b == 'u' || b == 'g')) ||
              (a == 'r' && b == 'e');
    }
    if (!may)
        return 0;
    if (split(w, n, ise_suffix, &stem, &k) && stem >= 2 && !in_list(w, stem, ise_same))
        return put(out, w, stem, ize_suffix[k]);
    if (split(w, n, yse_suffix, &stem, &k) && stem >= 3 && w[stem - 1] == 'l')
        return put(out, w, stem, yze_suffix[k]); /* analyse, paralyse, catalyse */
    if (split(w, n, our_suffix, &stem, &k) && stem >= 2 && !in_list(w, stem, our_same))
        return put(out, w, stem, or_suffix[k]);
    /* centre, centres, centred; fibre; theatre (not "hatred" or "inbred") */
    if (n >= 5 &&
        (ends(w, n, "re", &stem) || ends(w, n, "res", &stem) ||
         (ends(w, n, "red", &stem) && stem >= 2 && w[stem - 2] == 'n' && w[stem - 1] == 't')) &&
        stem >= 3 && (w[stem - 1] == 't' || w[stem - 1] == 'b') && !in_list(w, stem, re_same))
        return put(out, w, stem, n - stem == 2 ? "er" : w[n - 1] == 's' ? "ers" : "ered");
    /* catalogue, dialogue, analogue */
    if ((ends(w, n, "ogue", &stem) || ends(w, n, "ogues", &stem)) && stem >= 4)
        return put(out, w, stem, n - stem == 4 ? "og" : "ogs");
    return 0;
}
