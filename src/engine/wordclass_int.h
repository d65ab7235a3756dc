/*
 * wordclass_int.h - the byte classes the tokenizer asks about, 64 bytes a step: ASCII letters and
 * digits, digits, capitals, non-ASCII bytes and ',' '.' '\'' as bitmaps, and the text with A-Z
 * lowered.
 *
 * kv_tokenize() classifies a window of text once and then finds token starts, token ends, its
 * "has digits / letters / small letters" flags and its folded bytes with bit operations instead
 * of a loop per byte. The paths (AVX-512BW, AVX2, scalar) are the ones of kivo/scan.h, picked the
 * same way (KIVO_SCAN pins one); every path gives the scalar result, bit for bit and byte for byte
 * (tests/engine/test_wordclass.c).
 */
#ifndef KIVO_WORDCLASS_INT_H
#define KIVO_WORDCLASS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kivo/scan.h"

#define KV_WC_BYTES 4096 /* the most bytes one fill classifies */
#define KV_WC_WORDS (KV_WC_BYTES / 64)

/* Classes of n bytes s[0, n): bit k % 64 of word k / 64 of a map is byte k. */
typedef struct kv_wordclass {
    uint64_t alnum[KV_WC_WORDS];     /* 0-9 A-Z a-z */
    uint64_t digit[KV_WC_WORDS];     /* 0-9 */
    uint64_t upper[KV_WC_WORDS];     /* A-Z */
    uint64_t high[KV_WC_WORDS];      /* 0x80-0xFF */
    uint64_t inner[KV_WC_WORDS];     /* ',' '.' '\'': what a token may hold between its letters */
    unsigned char fold[KV_WC_BYTES]; /* s[k] with A-Z made a-z, all other bytes as they are */
} kv_wordclass;

/* Fills wc for s[0, n), n <= KV_WC_BYTES: the words of the maps that hold bytes 0..n-1, with
 * their bits for bytes n and beyond 0, and fold[0, n). Nothing else of wc is written; only
 * s[0, n) is read. */
typedef void (*kv_wordclass_fill_fn)(kv_wordclass *wc, const unsigned char *s, size_t n);

/* The fill of a path; a path the CPU lacks gives the scalar one. */
kv_wordclass_fill_fn kv_wordclass_fill_at(kivo_scan_level level);

/* The fill of the path kivo_scan_level_used() names. */
kv_wordclass_fill_fn kv_wordclass_fill(void);

#endif
