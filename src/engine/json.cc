/*
 * json.cc - the one C++ file: simdjson On-Demand walked into a kivo_json_node tree.
 *
 * On-Demand validates UTF-8 and structure while it iterates; walking every value once, in order,
 * is the fastest way to visit a whole document, and leaving a flat node array behind lets the rest
 * of libkivo stay C11. Nothing here throws across the extern "C" boundary: simdjson is used
 * through error codes only, and allocation failures are caught and turned into KIVO_ENOMEM.
 */
#include <jansson.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "kivo/json.h"

static_assert(KIVO_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "KIVO_JSON_PADDING below simdjson's");

namespace od = simdjson::ondemand;

struct kivo_json_parser {
    od::parser parser;
    std::vector<kivo_json_node> nodes;
    std::vector<size_t> first; /* per node: index of first child, or 0 */
    std::vector<size_t> next;  /* per node: index of next sibling, or 0 */
    std::vector<std::pair<std::string_view, size_t>> keys; /* scratch for duplicate checks */
    std::string copy; /* an input whose padding starts with a value, re-padded */
    size_t max_depth = 64;
    unsigned flags = 0;
    const char *base = nullptr;
    kivo_status fail = KIVO_OK;
    char error[160] = "";
};

namespace
{

kivo_status map_error(simdjson::error_code e)
{
    switch (e) {
    case simdjson::UTF8_ERROR: return KIVO_EUTF8;
    case simdjson::DEPTH_ERROR: return KIVO_EDEPTH;
    case simdjson::MEMALLOC: return KIVO_ENOMEM;
    case simdjson::CAPACITY: return KIVO_ETOOBIG;
    default: return KIVO_EJSON;
    }
}

kivo_status set_error(kivo_json_parser *p, kivo_status st, const char *what, size_t offset)
{
    p->fail = st;
    std::snprintf(p->error, sizeof p->error, "%s near byte %zu", what, offset);
    return st;
}

/* simdjson finds most syntax errors in its first pass over the whole document, before any value
 * has a position, and says "near byte 0". On that error path only, jansson (which libkivo links
 * for its reports) reads the document again and says at which byte it went wrong. */
void locate(kivo_json_parser *p, const char *buf, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (j) {
        json_decref(j);
        return;
    }
    if (je.position <= 0)
        return;
    /* jansson stops just after the token it could not take, and quotes it: "... near 'tru'". */
    size_t at = std::min((size_t)je.position, len);
    const char *near = std::strstr(je.text, "near '");
    size_t n = near ? std::strlen(near + 6) : 0;
    if (n > 1 && near[6 + n - 1] == '\'' && n - 1 <= at)
        at -= n - 1;
    std::snprintf(p->error, sizeof p->error, "near byte %zu: %.120s", at, je.text);
}

kivo_status set_simdjson_error(kivo_json_parser *p, simdjson::error_code e, size_t offset)
{
    return set_error(p, map_error(e), simdjson::error_message(e), offset);
}

size_t offset_of(kivo_json_parser *p, od::value &v)
{
    std::string_view raw = v.raw_json_token();
    return raw.data() ? (size_t)(raw.data() - p->base) : 0;
}

kivo_status check_duplicates(kivo_json_parser *p, size_t obj)
{
    p->keys.clear();
    for (size_t c = p->first[obj]; c != 0; c = p->next[c])
        p->keys.emplace_back(std::string_view(p->nodes[c].key, p->nodes[c].key_len), c);
    std::sort(p->keys.begin(), p->keys.end());
    for (size_t i = 1; i < p->keys.size(); i++) {
        if (p->keys[i].first == p->keys[i - 1].first) {
            char what[96];
            std::snprintf(what, sizeof what, "duplicate key \"%.*s\"",
                          (int)std::min<size_t>(p->keys[i].first.size(), 40),
                          p->keys[i].first.data());
            return set_error(p, KIVO_EDUPKEY, what, p->nodes[p->keys[i].second].offset);
        }
    }
    return KIVO_OK;
}

/* Appends one node for `v` (and its subtree); returns its index through *idx. */
kivo_status walk(kivo_json_parser *p, od::value v, size_t depth, size_t *idx)
{
    size_t at = offset_of(p, v);
    od::json_type t;
    auto e = v.type().get(t);
    if (e)
        return set_simdjson_error(p, e, at);

    size_t me = p->nodes.size();
    p->nodes.push_back(kivo_json_node{});
    p->first.push_back(0);
    p->next.push_back(0);
    p->nodes[me].offset = at;
    *idx = me;

    switch (t) {
    case od::json_type::null: {
        bool isnull = false;
        if ((e = v.is_null().get(isnull)) || !isnull)
            return set_simdjson_error(p, e ? e : simdjson::N_ATOM_ERROR, at);
        p->nodes[me].type = KIVO_JSON_NULL;
        break;
    }
    case od::json_type::boolean: {
        bool b;
        if ((e = v.get_bool().get(b)))
            return set_simdjson_error(p, e, at);
        p->nodes[me].type = KIVO_JSON_BOOL;
        p->nodes[me].boolean = b;
        break;
    }
    case od::json_type::number: {
        std::string_view raw = v.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' ||
                                raw.back() == '\r'))
            raw.remove_suffix(1);
        od::number n;
        if ((e = v.get_number().get(n)))
            return set_simdjson_error(p, e, at);
        kivo_json_node &nd = p->nodes[me];
        nd.type = KIVO_JSON_NUMBER;
        nd.str = raw.data();
        nd.len = raw.size();
        if (n.is_int64()) {
            nd.is_int = 1;
            nd.i = n.get_int64();
            nd.d = (double)nd.i;
        } else if (n.is_uint64()) {
            nd.d = (double)n.get_uint64();
        } else {
            nd.d = n.get_double();
        }
        break;
    }
    case od::json_type::string: {
        std::string_view s;
        if ((e = v.get_string().get(s)))
            return set_simdjson_error(p, e, at);
        p->nodes[me].type = KIVO_JSON_STRING;
        p->nodes[me].str = s.data();
        p->nodes[me].len = s.size();
        break;
    }
    case od::json_type::array: {
        if (depth >= p->max_depth)
            return set_error(p, KIVO_EDEPTH, "nesting too deep", at);
        od::array arr;
        if ((e = v.get_array().get(arr)))
            return set_simdjson_error(p, e, at);
        p->nodes[me].type = KIVO_JSON_ARRAY;
        size_t prev = 0, count = 0;
        for (auto el : arr) {
            od::value cv;
            if ((e = el.get(cv)))
                return set_simdjson_error(p, e, at);
            size_t c;
            kivo_status st = walk(p, cv, depth + 1, &c);
            if (st != KIVO_OK)
                return st;
            if (prev)
                p->next[prev] = c;
            else
                p->first[me] = c;
            prev = c;
            count++;
        }
        p->nodes[me].len = count;
        break;
    }
    case od::json_type::object: {
        if (depth >= p->max_depth)
            return set_error(p, KIVO_EDEPTH, "nesting too deep", at);
        od::object obj;
        if ((e = v.get_object().get(obj)))
            return set_simdjson_error(p, e, at);
        p->nodes[me].type = KIVO_JSON_OBJECT;
        size_t prev = 0, count = 0;
        for (auto f : obj) {
            std::string_view key;
            if ((e = f.unescaped_key().get(key)))
                return set_simdjson_error(p, e, at);
            od::value fv;
            if ((e = f.value().get(fv)))
                return set_simdjson_error(p, e, at);
            size_t c;
            kivo_status st = walk(p, fv, depth + 1, &c);
            if (st != KIVO_OK)
                return st;
            p->nodes[c].key = key.data();
            p->nodes[c].key_len = key.size();
            if (prev)
                p->next[prev] = c;
            else
                p->first[me] = c;
            prev = c;
            count++;
        }
        p->nodes[me].len = count;
        if ((p->flags & KIVO_JSON_REJECT_DUPKEYS) && count > 1) {
            kivo_status st = check_duplicates(p, me);
            if (st != KIVO_OK)
                return st;
        }
        break;
    }
    }
    return KIVO_OK;
}

kivo_status parse(kivo_json_parser *p, const char *buf, size_t len, size_t capacity,
                  const kivo_json_node **root)
{
    p->nodes.clear();
    p->first.clear();
    p->next.clear();
    p->base = buf;

    od::document doc;
    auto e = p->parser.iterate(simdjson::padded_string_view(buf, len, capacity)).get(doc);
    if (e)
        return set_simdjson_error(p, e, 0);
    od::value v;
    od::json_type t;
    /* A scalar at the root is not reachable as a value in On-Demand; handle it apart. */
    if ((e = doc.type().get(t)))
        return set_simdjson_error(p, e, 0);
    size_t r;
    if (t == od::json_type::array || t == od::json_type::object) {
        if ((e = doc.get_value().get(v)))
            return set_simdjson_error(p, e, 0);
        kivo_status st = walk(p, v, 0, &r);
        if (st != KIVO_OK)
            return st;
    } else {
        /* Scalars at the root: validate by wrapping is not possible here; parse the token. */
        p->nodes.push_back(kivo_json_node{});
        p->first.push_back(0);
        p->next.push_back(0);
        kivo_json_node &nd = p->nodes[0];
        r = 0;
        switch (t) {
        case od::json_type::string: {
            std::string_view s;
            if ((e = doc.get_string().get(s)))
                return set_simdjson_error(p, e, 0);
            nd.type = KIVO_JSON_STRING;
            nd.str = s.data();
            nd.len = s.size();
            break;
        }
        case od::json_type::number: {
            std::string_view raw;
            if ((e = doc.raw_json_token().get(raw)))
                return set_simdjson_error(p, e, 0);
            while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' ||
                                    raw.back() == '\r'))
                raw.remove_suffix(1);
            od::number n;
            if ((e = doc.get_number().get(n)))
                return set_simdjson_error(p, e, 0);
            nd.type = KIVO_JSON_NUMBER;
            nd.str = raw.data();
            nd.len = raw.size();
            if (n.is_int64()) {
                nd.is_int = 1;
                nd.i = n.get_int64();
                nd.d = (double)nd.i;
            } else {
                nd.d = n.is_uint64() ? (double)n.get_uint64() : n.get_double();
            }
            break;
        }
        case od::json_type::boolean: {
            bool b;
            if ((e = doc.get_bool().get(b)))
                return set_simdjson_error(p, e, 0);
            nd.type = KIVO_JSON_BOOL;
            nd.boolean = b;
            break;
        }
        default: {
            bool isnull = false;
            if ((e = doc.is_null().get(isnull)) || !isnull)
                return set_simdjson_error(p, e ? e : simdjson::N_ATOM_ERROR, 0);
            nd.type = KIVO_JSON_NULL;
            break;
        }
        }
    }
    const char *rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS && rest)
        return set_error(p, KIVO_EJSON, "trailing content after the JSON value",
                         (size_t)(rest - buf));

    for (size_t i = 0; i < p->nodes.size(); i++) {
        p->nodes[i].child = p->first[i] ? &p->nodes[p->first[i]] : nullptr;
        p->nodes[i].next = p->next[i] ? &p->nodes[p->next[i]] : nullptr;
    }
    *root = &p->nodes[r];
    return KIVO_OK;
}

} // namespace

extern "C" {

kivo_status kivo_json_parser_create(size_t max_depth, kivo_json_parser **out)
{
    kivo_json_parser *p = new (std::nothrow) kivo_json_parser();
    if (!p)
        return KIVO_ENOMEM;
    p->max_depth = max_depth ? max_depth : 64;
    *out = p;
    return KIVO_OK;
}

void kivo_json_parser_free(kivo_json_parser *p)
{
    delete p;
}

kivo_status kivo_json_parse(kivo_json_parser *p, const char *buf, size_t len, size_t capacity,
                            unsigned flags, const kivo_json_node **root)
{
    p->fail = KIVO_OK;
    p->error[0] = '\0';
    p->flags = flags;
    *root = nullptr;
    if (capacity < len + KIVO_JSON_PADDING)
        return set_error(p, KIVO_EINVAL, "input without padding", 0);
    try {
        /* simdjson reads the byte at buf[len] as the next value of a truncated document ("["):
         * a string there is unescaped from the padding and read past it, a ']' completes it.
         * White space or NUL there (what the worker's lines and kivo_buf bodies have) ends it;
         * anything else, rare, is parsed from a copy padded with spaces. */
        const char c = buf[len];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\0') {
            p->copy.assign(buf, len);
            p->copy.append(simdjson::SIMDJSON_PADDING, ' ');
            buf = p->copy.data();
            capacity = p->copy.size();
        }
        kivo_status st = parse(p, buf, len, capacity, root);
        if (st == KIVO_EJSON || st == KIVO_EUTF8)
            locate(p, buf, len);
        return st;
    } catch (const std::bad_alloc &) {
        return set_error(p, KIVO_ENOMEM, "out of memory", 0);
    } catch (...) {
        return set_error(p, KIVO_EJSON, "unexpected parser failure", 0);
    }
}

const char *kivo_json_parser_error(const kivo_json_parser *p)
{
    return p->error;
}

} // extern "C"
