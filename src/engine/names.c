/* names.c - the JSON names of the engine's enums, and parsing them back. One table per enum. */
#include <string.h>

#include "kivo/review.h"

static const char *const strictness_names[] = {"strict", "standard", "lenient"};
static const char *const use_names[] = {"customer_facing", "internal", "evaluation"};
static const char *const verdict_names[] = {"pass", "needs_review", "fail"};
static const char *const status_names[] = {"supported", "partially_supported", "unsupported",
                                           "contradicted"};
static const char *const category_names[] = {
    NULL, "unsupported_claim", "unsupported_policy_claim", "unsupported_numeric_claim",
    "unsupported_entity_claim", "contradicted_claim", "no_sources", "empty_output"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return (int)i;
    return -1;
}

const char *kivo_strictness_name(kivo_strictness s)
{
    return (size_t)s < COUNT(strictness_names) ? strictness_names[s] : "unknown";
}

const char *kivo_intended_use_name(kivo_intended_use u)
{
    return (size_t)u < COUNT(use_names) ? use_names[u] : "unknown";
}

const char *kivo_verdict_name(kivo_verdict v)
{
    return (size_t)v < COUNT(verdict_names) ? verdict_names[v] : "unknown";
}

const char *kivo_claim_status_name(kivo_claim_status s)
{
    return (size_t)s < COUNT(status_names) ? status_names[s] : "unknown";
}

const char *kivo_category_name(kivo_category c)
{
    return (size_t)c < COUNT(category_names) ? category_names[c] : NULL;
}

kivo_status kivo_strictness_parse(const char *s, size_t len, kivo_strictness *out)
{
    int i = lookup(strictness_names, COUNT(strictness_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_strictness)i;
    return KIVO_OK;
}

kivo_status kivo_intended_use_parse(const char *s, size_t len, kivo_intended_use *out)
{
    int i = lookup(use_names, COUNT(use_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_intended_use)i;
    return KIVO_OK;
}

kivo_status kivo_verdict_parse(const char *s, size_t len, kivo_verdict *out)
{
    int i = lookup(verdict_names, COUNT(verdict_names), s, len);
    if (i < 0)
        return KIVO_EINVAL;
    *out = (kivo_verdict)i;
    return KIVO_OK;
}

kivo_status kivo_category_parse(const char *s, size_t len, kivo_category *out)
{
    int i = lookup(category_names, COUNT(category_names), s, len);
    if (i <= 0)
        return KIVO_EINVAL;
    *out = (kivo_category)i;
    return KIVO_OK;
}
