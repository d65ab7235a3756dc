/* test_json_assert.h - the engine tests' checks of rendered JSON (jansson): an object's keys in
 * their order, and a member that must be a string or an integer. Include after cmocka.h. */
#ifndef KIVO_TEST_JSON_ASSERT_H
#define KIVO_TEST_JSON_ASSERT_H

#include <jansson.h>
#include <string.h>

/* The object's keys are exactly `keys`, in that order. */
static inline void assert_keys(json_t *obj, const char *const *keys, const char *what)
{
    size_t i = 0;
    assert_true(json_is_object(obj));
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++) {
        const char *k = json_object_iter_key(it);
        if (!keys[i] || strcmp(k, keys[i]) != 0)
            fail_msg("%s: key %zu is \"%s\", want \"%s\"", what, i, k, keys[i] ? keys[i] : "(end)");
    }
    if (keys[i])
        fail_msg("%s: key \"%s\" missing", what, keys[i]);
}

static inline const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static inline json_int_t integer(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

#endif
