/*
 * spelling_int.h - British spellings as American ones, before stemming, so that an answer's
 * "organized" matches its source's "organised" (news in British English, answers in American).
 */
#ifndef KIVO_SPELLING_INT_H
#define KIVO_SPELLING_INT_H

#include <stddef.h>

/*
 * w[0..n) is a case-folded word. When it has a British spelling with an American one (organise,
 * organisation, colour, centre, catalogue, defence, analyse ...), writes that to out (room for n + 1
 * bytes: "centred" becomes "centered") and returns its length; else returns 0. Words both spell alike (advertise,
 * exercise, hour, acre) are left as they are.
 */
size_t kv_spelling_us(const char *w, size_t n, char *out);

#endif
