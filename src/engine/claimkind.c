/*
 * claimkind.c - which spans of an answer are claims at all: a heading, a table rule, a greeting or
 * sign-off, a sentence about the assistant or about the passages, a caveat or a referral is not
 * (kv_match_is_claim). Moved out of match.c, which holds a claim against the sources (issue 13).
 */
#include <pthread.h>
#include <string.h>

#include "engine_int.h"

/* A list of words (NULL-terminated, non-empty, lower-case ASCII) with the lengths its words have
 * by their first letter, so that tok_is passes most tokens without walking the list
 * (is_referral asks every token of every span). The masks are made once, from the list
 * (sign_sets). */
typedef struct word_set {
    const char *const *words;
    uint64_t lens[27]; /* [c - 'a'] for a first letter c, [26] for any other first byte: bit n
                        * for a length n, bit 63 for 63 and longer */
} word_set;

static uint64_t len_bit(size_t n)
{
    return 1ULL << (n < 63 ? n : 63);
}

/* The lens index of a first byte c, folded to lower case (as kv_text_in folds it). */
static unsigned first_of(char c)
{
    c = c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
    return c >= 'a' && c <= 'z' ? (unsigned)(c - 'a') : 26u;
}

static void sign(word_set *ws)
{
    for (size_t k = 0; ws->words[k]; k++)
        ws->lens[first_of(ws->words[k][0])] |= len_bit(strlen(ws->words[k]));
}

/* 1 when token t's text is one of ws's words, ASCII letters without case (kv_text_in). */
static inline __attribute__((always_inline)) int tok_is(const char *text, const kv_token *t,
                                                        const word_set *ws)
{
    const char *s = text + t->start;
    const size_t len = t->end - t->start;
    if (len == 0 || !(ws->lens[first_of(s[0])] & len_bit(len)))
        return 0;
    return kv_text_in(s, len, ws->words);
}

static const char *const connective_words[] = {
    "however", "additionally", "also", "overall", "finally", "therefore", "so", "but", NULL};
static const char *const note_words[] = {"note", "remember", NULL};
static const char *const keep_words[] = {"keep", "bear", NULL};
static const char *const in_words[] = {"in", NULL};
static const char *const mind_words[] = {"mind", NULL};
static const char *const please_words[] = {"please", NULL};
static word_set connective = {connective_words, {0}}, note = {note_words, {0}},
                keep = {keep_words, {0}}, in = {in_words, {0}}, mind = {mind_words, {0}},
                please = {please_words, {0}};

/* "Please note that ...", "Keep in mind ...", "However, remember ...": a caveat to the reader, not
 * a statement of fact. */
static int is_caveat(const char *text, const kv_token *toks, size_t n)
{
    size_t i = n > 1 && tok_is(text, &toks[0], &connective) ? 1 : 0;
    if (i < n && tok_is(text, &toks[i], &please))
        i++;
    if (i < n && tok_is(text, &toks[i], &note))
        return 1;
    return i + 2 < n && tok_is(text, &toks[i], &keep) && tok_is(text, &toks[i + 1], &in) &&
           tok_is(text, &toks[i + 2], &mind);
}

#define REFERRAL_REACH 8 /* tokens from "consult" to the professional it names */

static const char *const ask_words[] = {"consult", "consulting", "contact", "contacting",
                                        "seek",    "seeking",    "speak",   "speaking",
                                        "talk",    "talking",    NULL};
static const char *const who_words[] = {
    "professional", "professionals", "doctor",       "doctors",     "physician",  "expert",
    "experts",      "specialist",    "specialists",  "healthcare",  "provider",   "locksmith",
    "attorney",     "lawyer",        "veterinarian", "vet",         "technician", "pharmacist",
    "dentist",      "therapist",     "counselor",    "electrician", "plumber",    "mechanic",
    "contractor",   "advisor",       "adviser",      NULL};
static word_set ask = {ask_words, {0}}, who = {who_words, {0}};

/* "Consult a professional locksmith", "seek advice from your doctor", "talk to a specialist":
 * a referral to someone else, not a statement of fact. */
static int is_referral(const char *text, const kv_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!tok_is(text, &toks[i], &ask))
            continue;
        for (size_t j = i + 1; j < n && j <= i + REFERRAL_REACH; j++)
            if (tok_is(text, &toks[j], &who))
                return 1;
    }
    return 0;
}

/* Words an answer uses about itself and its sources rather than about the world: Hyland's
 * (2005, Metadiscourse, ch. 3 and appendix) endophoric markers and evidentials ("based on the
 * information provided in the passages"), frame markers ("the answer to the question"), and the
 * ordinals that number the sources ("the second passage"). */
static const char *const metadiscourse_words[] = {
    "answer",   "answers",  "question",  "questions", "information", "info",      "provide",
    "provides", "provided", "providing", "base",      "based",       "given",     "necessary",
    "relevant", "same",     "repeat",    "repeats",   "repeated",    "available", "unavailable",
    "detail",   "details",  "further",   "first",     "second",      "third",     "fourth",
    "fifth",    "last",     "above",     "following", "previous",    "overall",   "therefore",
    "thus",     NULL};
static word_set metadiscourse = {metadiscourse_words, {0}};

/* 1 when every content token of the span is a word about the sources (passage, context,
 * mention ...) or a word of metadiscourse: "Passage 3 provides the necessary information to
 * answer the question.", "The second passage repeats the same information.", "Passage 3:
 * (unavailable)". Such a sentence is about the answer and its sources, and claims nothing of
 * their subject. */
static int is_metadiscourse(const char *text, const kv_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (toks[i].kind != KV_TOK_STOP && !(toks[i].flags & KV_TF_REF) &&
            !tok_is(text, &toks[i], &metadiscourse))
            return 0;
    return 1;
}

/* 1 when s[0..len) holds a typographic double quote (U+201C or U+201D). */
static int has_quote_mark(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++)
        if ((unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x9C || (unsigned char)s[i + 2] == 0x9D))
            return 1;
    return 0;
}

/* 1 when text[at..len) opens with the line under a Markdown table's header ("|---|:--:|"). */
static int table_rule_at(const char *text, size_t len, size_t at)
{
    while (at < len && (text[at] == '\n' || text[at] == '\r' || text[at] == ' '))
        at++;
    size_t dashes = 0;
    for (; at < len && text[at] != '\n'; at++) {
        char c = text[at];
        if (c == '-')
            dashes++;
        else if (c != '|' && c != ':' && c != ' ' && c != '\r')
            return 0;
    }
    return dashes >= 3;
}

/* A heading: Markdown's "## Summary", or a label ending in ':' ("Steps:", "**Answer:**"). */
static int is_heading(const char *text, const kv_span *span)
{
    size_t a = span->start, b = span->end;
    if (text[a] == '#') {
        while (a < b && text[a] == '#')
            a++;
        if (a < b && text[a] == ' ')
            return 1;
    }
    while (b > a && (text[b - 1] == '*' || text[b - 1] == '_'))
        b--;
    return b > a && text[b - 1] == ':';
}

/* Words that open a formula of goodwill ("Good luck!", "Have a nice day!", "Take care!"). */
static const char *const pleasantry_words[] = {"good", "have", "enjoy", "happy",           "best",
                                               "take", "stay", "merry", "congratulations", "cheers",
                                               NULL};
static word_set pleasantry_open = {pleasantry_words, {0}};

/* Makes every word_set's masks (once: pthread_once). */
static pthread_once_t signed_once = PTHREAD_ONCE_INIT;
static void sign_sets(void)
{
    word_set *const sets[] = {&connective,    &note,           &keep, &in,
                              &mind,          &please,         &ask,  &who,
                              &metadiscourse, &pleasantry_open};
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
        sign(sets[k]);
}

int kv_match_is_claim(const char *text, size_t len, const kv_span *span, const kv_token *toks,
                      size_t n)
{
    pthread_once(&signed_once, sign_sets);
    size_t content = 0, numbers = 0, refs = 0, words = 0;
    int negated = 0;
    if (text[span->end - 1] == '?' || is_heading(text, span))
        return 0;
    /* The header row of a Markdown table names its columns; the rows under it are claims. */
    if (text[span->start] == '|' && table_rule_at(text, len, span->end))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (toks[i].kind != KV_TOK_STOP)
            content++;
        if (toks[i].kind == KV_TOK_NUMBER)
            numbers++;
        if (toks[i].flags & KV_TF_NEG)
            negated = 1;
        if (toks[i].flags & KV_TF_REF)
            refs++;
        else if (toks[i].kind == KV_TOK_WORD)
            words++;
    }
    /* Bare list numbers ("2.") and citations ("This is mentioned in passage 3.") say nothing. */
    if (content == 0 || words == 0)
        return 0;
    /* "Thanks for reaching out!", "Sure!", "Good luck!", "I hope this helps." */
    int meta = 0, self = 0;
    for (size_t i = 0; i < n; i++) {
        meta |= (toks[i].flags & KV_TF_META) != 0;
        /* "I", not the "i" of "type i": the speaker is written in capitals. */
        self |= (toks[i].flags & KV_TF_SELF) && (toks[i].flags & KV_TF_CAP);
    }
    if (meta && numbers == 0 && content <= 3)
        return 0;
    /* "Good morning!", "Have a great day!", "Enjoy your weekend!": a formula of goodwill. */
    if (text[span->end - 1] == '!' && numbers == 0 && content <= 3 && n > 0 &&
        tok_is(text, &toks[0], &pleasantry_open))
        return 0;
    /* "I can confidently answer the question.", "I'd be happy to help": about the assistant,
     * unless quoted (news quote their sources: "I was there," he said). */
    if (self && !memchr(text + span->start, '"', span->end - span->start) &&
        !has_quote_mark(text + span->start, span->end - span->start))
        return 0;
    /* "The passages do not mention the price." */
    if (negated && refs > 0 && numbers == 0)
        return 0;
    /* "Passage 3 provides the necessary information to answer the question." */
    if (refs > 0 && is_metadiscourse(text, toks, n))
        return 0;
    /* "Please note that results may vary.", "Consult a professional if it persists." */
    /* (A caveat that states a number is a claim: "Please note that there is a $10 fee".) */
    if ((is_caveat(text, toks, n) && numbers == 0) || is_referral(text, toks, n))
        return 0;
    return 1;
}
