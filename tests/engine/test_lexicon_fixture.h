/* test_lexicon_fixture.h - the cmocka fixture of the tokenizer tests: a lexicon per test, in
 * *state. */
#ifndef KIVO_TEST_LEXICON_FIXTURE_H
#define KIVO_TEST_LEXICON_FIXTURE_H

#include "text_int.h"

static int setup(void **state)
{
    kv_lexicon *lx = NULL;
    if (kv_lexicon_create(&lx) != KIVO_OK)
        return -1;
    *state = lx;
    return 0;
}

static int teardown(void **state)
{
    kv_lexicon_free(*state);
    return 0;
}

#endif
