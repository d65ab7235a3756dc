/*
 * jobspec.c - loading kivo_worker_job_spec.v1. The schema is closed: an unknown key is an error,
 * so a typo ("inptus") fails loudly instead of being ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "jobspec.h"
#include "kivo/json.h"
#include "kivo/wire.h"
#include "suggest.h"

#define SCHEMA "kivo_worker_job_spec.v1"

static const char *const field_names[6] = {"customer_run_id", "output",       "sources",
                                           "source_id",       "source_title", "source_text"};
static const char *const field_defaults[6] = {"/customer_run_id", "/output", "/sources", "/id",
                                              "/title",           "/text"};

int wk_read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    char *buf = NULL;
    int rc = -1;
    if (fstat(fd, &sb) != 0)
        goto out;
    if (!S_ISREG(sb.st_mode)) {
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        goto out;
    }
    buf = calloc(1, (size_t)sb.st_size + KIVO_JSON_PADDING + 1);
    if (!buf)
        goto out;
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

char *wk_path_join(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !dir[0])
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, path);
    return s;
}

static char *dup_str(const kivo_json_node *n)
{
    char *s = malloc(n->len + 1);
    if (s) {
        memcpy(s, n->str, n->len);
        s[n->len] = '\0';
    }
    return s;
}

/* A string member of at most max bytes, without NUL; *out NULL when absent and optional. */
static int get_string(const kivo_json_node *obj, const char *key, const char *where, int required,
                      size_t max, char **out, char *err, size_t errlen)
{
    const kivo_json_node *n = kivo_json_get(obj, key);
    *out = NULL;
    if (!n || n->type == KIVO_JSON_NULL) {
        if (required) {
            snprintf(err, errlen, "job spec: missing required field \"%s%s\"", where, key);
            return -1;
        }
        return 0;
    }
    if (n->type != KIVO_JSON_STRING || n->len == 0 || n->len > max || memchr(n->str, 0, n->len)) {
        snprintf(err, errlen,
                 "job spec: field \"%s%s\" must be a non-empty string of at most %zu "
                 "bytes",
                 where, key, max);
        return -1;
    }
    *out = dup_str(n);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int check_keys(const kivo_json_node *obj, const char *where, const char *const *allowed,
                      char *err, size_t errlen)
{
    for (const kivo_json_node *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strlen(allowed[i]) == c->key_len && memcmp(allowed[i], c->key, c->key_len) == 0;
        if (!ok) {
            size_t n = 0;
            while (allowed[n])
                n++;
            const char *hint = wk_suggest(c->key, c->key_len, allowed, n);
            snprintf(err, errlen, "job spec: unknown field \"%s%.*s\"%s%s%s%s", where,
                     (int)(c->key_len > 64 ? 64 : c->key_len), c->key,
                     hint ? "; did you mean \"" : "", hint ? where : "", hint ? hint : "",
                     hint ? "\"?" : "");
            return -1;
        }
    }
    return 0;
}

static const char *const top_keys[] = {
    "schema_version", "workflow_id",    "workflow_name", "title",    "intended_use",
    "strictness",     "policy_version", "worker_id",     "batch_id", "inputs",
    "fields",         "report_store",   "limits",        NULL};

int wk_batch_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WK_BATCH_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int wk_jobspec_set_batch(wk_jobspec *s, const char *batch_id, char *err, size_t errlen)
{
    char *copy;
    if (!wk_batch_id_valid(batch_id)) {
        snprintf(err, errlen, "a batch id is 1 to %d of A-Z a-z 0-9 . _ : - (not \"%.64s\")",
                 WK_BATCH_ID_MAX, batch_id);
        return -1;
    }
    if (!(copy = strdup(batch_id))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(s->batch_id);
    s->batch_id = copy;
    return 0;
}

int wk_jobspec_set_inputs(wk_jobspec *s, char *const *paths, size_t n, char *err, size_t errlen)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        if (!paths[i][0]) {
            snprintf(err, errlen, "an input on the command line is an empty string");
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return -1;
        }
        if (!(v[i] = strdup(paths[i]))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            v = NULL;
        }
    }
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->n_inputs; i++)
        free(s->inputs[i]);
    free(s->inputs);
    s->inputs = v;
    s->n_inputs = n;
    s->inputs_given = 1;
    return 0;
}

const char *wk_jobspec_inputs_dir(const wk_jobspec *s)
{
    return s->inputs_given ? "" : s->dir;
}

const char *wk_jobspec_batch(const wk_jobspec *s)
{
    return s->batch_id ? s->batch_id : WK_BATCH_ID_DEFAULT;
}
static const char *const store_keys[] = {"path", "label", NULL};
static const char *const limit_keys[] = {"max_line_bytes", NULL};

static int load(const kivo_json_node *root, wk_jobspec *s, char *err, size_t errlen)
{
    char *tmp = NULL;
    if (root->type != KIVO_JSON_OBJECT) {
        snprintf(err, errlen, "job spec: must be a JSON object");
        return -1;
    }
    if (check_keys(root, "", top_keys, err, errlen))
        return -1;
    const kivo_json_node *sv = kivo_json_get(root, "schema_version");
    if (!kivo_json_streq(sv, SCHEMA)) {
        snprintf(err, errlen, "job spec: field \"schema_version\" must be \"%s\"", SCHEMA);
        return -1;
    }
    if (get_string(root, "workflow_id", "", 1, 512, &s->workflow_id, err, errlen) ||
        get_string(root, "workflow_name", "", 0, 200, &s->workflow_name, err, errlen) ||
        get_string(root, "policy_version", "", 0, 200, &s->policy_version, err, errlen) ||
        get_string(root, "worker_id", "", 0, 512, &s->worker_id, err, errlen))
        return -1;
    if (!s->worker_id && !(s->worker_id = strdup("kivo-worker")))
        return -1;
    if (get_string(root, "batch_id", "", 0, WK_BATCH_ID_MAX, &tmp, err, errlen))
        return -1;
    if (tmp && !wk_batch_id_valid(tmp)) {
        snprintf(err, errlen, "job spec: field \"batch_id\" must be 1 to %d of A-Z a-z 0-9 . _ : -",
                 WK_BATCH_ID_MAX);
        free(tmp);
        return -1;
    }
    s->batch_id = tmp ? tmp : strdup(WK_BATCH_ID_DEFAULT);
    tmp = NULL;
    if (!s->batch_id)
        return -1;

    s->strictness = KIVO_STANDARD;
    s->intended_use = KIVO_USE_CUSTOMER_FACING;
    if (get_string(root, "strictness", "", 0, 64, &tmp, err, errlen))
        return -1;
    if (tmp && kivo_strictness_parse(tmp, strlen(tmp), &s->strictness) != KIVO_OK) {
        snprintf(err, errlen, "job spec: field \"strictness\" must be strict, standard or lenient");
        free(tmp);
        return -1;
    }
    free(tmp);
    tmp = NULL;
    if (get_string(root, "intended_use", "", 0, 64, &tmp, err, errlen))
        return -1;
    if (tmp && kivo_intended_use_parse(tmp, strlen(tmp), &s->intended_use) != KIVO_OK) {
        snprintf(err, errlen,
                 "job spec: field \"intended_use\" must be customer_facing, internal "
                 "or evaluation");
        free(tmp);
        return -1;
    }
    free(tmp);

    const kivo_json_node *in = kivo_json_get(root, "inputs");
    if (in && in->type == KIVO_JSON_STRING) {
        s->inputs = calloc(1, sizeof *s->inputs);
        if (!s->inputs || !(s->inputs[0] = dup_str(in)))
            return -1;
        s->n_inputs = 1;
    } else if (in && in->type == KIVO_JSON_ARRAY && in->len > 0) {
        s->inputs = calloc(in->len, sizeof *s->inputs);
        if (!s->inputs)
            return -1;
        for (const kivo_json_node *c = in->child; c; c = c->next) {
            if (c->type != KIVO_JSON_STRING || c->len == 0) {
                snprintf(err, errlen, "job spec: field \"inputs\" must hold non-empty strings");
                return -1;
            }
            if (!(s->inputs[s->n_inputs++] = dup_str(c)))
                return -1;
        }
    } else {
        snprintf(err, errlen,
                 "job spec: field \"inputs\" must be a non-empty array of paths or "
                 "globs");
        return -1;
    }

    const kivo_json_node *f = kivo_json_get(root, "fields");
    if (f && f->type != KIVO_JSON_OBJECT) {
        snprintf(err, errlen, "job spec: field \"fields\" must be an object of JSON Pointers");
        return -1;
    }
    const char *const fkeys[] = {field_names[0], field_names[1], field_names[2],
                                 field_names[3], field_names[4], field_names[5],
                                 "metadata",     "label",        NULL};
    if (f && check_keys(f, "fields.", fkeys, err, errlen))
        return -1;
    for (int i = 0; i < 6; i++) {
        const kivo_json_node *n = f ? kivo_json_get(f, field_names[i]) : NULL;
        if (n && (n->type != KIVO_JSON_STRING || (n->len > 0 && n->str[0] != '/') ||
                  memchr(n->str, 0, n->len))) {
            snprintf(err, errlen,
                     "job spec: field \"fields.%s\" must be a JSON Pointer such as "
                     "\"%s\"",
                     field_names[i], field_defaults[i]);
            return -1;
        }
        s->field[i] = n ? dup_str(n) : strdup(field_defaults[i]);
        if (!s->field[i])
            return -1;
    }
    s->fields.customer_run_id = s->field[0];
    s->fields.output = s->field[1];
    s->fields.sources = s->field[2];
    s->fields.source_id = s->field[3];
    s->fields.source_title = s->field[4];
    s->fields.source_text = s->field[5];
    if (f && wk_meta_spec_load(kivo_json_get(f, "metadata"), kivo_json_get(f, "label"), &s->meta,
                               err, errlen) != 0)
        return -1;

    const kivo_json_node *rs = kivo_json_get(root, "report_store");
    char *path = NULL;
    if (rs && rs->type != KIVO_JSON_OBJECT) {
        snprintf(err, errlen, "job spec: field \"report_store\" must be an object");
        return -1;
    }
    if (rs && (check_keys(rs, "report_store.", store_keys, err, errlen) ||
               get_string(rs, "path", "report_store.", 0, 4096, &path, err, errlen) ||
               get_string(rs, "label", "report_store.", 0, 200, &s->report_label, err, errlen))) {
        free(path); /* a path read before a bad label (found by fuzz_jobspec) */
        return -1;
    }
    s->report_path = wk_path_join(s->dir, path ? path : "kivo-reports");
    free(path);
    if (!s->report_label && !(s->report_label = strdup("Customer report store")))
        return -1;

    s->max_line_bytes = WK_DEFAULT_MAX_LINE;
    const kivo_json_node *lim = kivo_json_get(root, "limits");
    if (lim) {
        if (lim->type != KIVO_JSON_OBJECT || check_keys(lim, "limits.", limit_keys, err, errlen)) {
            if (!err[0])
                snprintf(err, errlen, "job spec: field \"limits\" must be an object");
            return -1;
        }
        const kivo_json_node *ml = kivo_json_get(lim, "max_line_bytes");
        if (ml) {
            if (ml->type != KIVO_JSON_NUMBER || !ml->is_int || ml->i < 1024 ||
                ml->i > (int64_t)1 << 32) {
                snprintf(err, errlen,
                         "job spec: field \"limits.max_line_bytes\" must be an "
                         "integer from 1024 to 4294967296");
                return -1;
            }
            s->max_line_bytes = (size_t)ml->i;
        }
    }
    return 0;
}

/* Line and column (from 1; columns count UTF-8 characters) of byte `at` of data. */
static void line_col(const char *data, size_t at, unsigned long *line, unsigned long *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)data[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

/* Why data[0..len) is not JSON, where: jansson reads it again (the fast parser says little about
 * where), and a trailing comma or a byte order mark is named as such. */
static void syntax_error(const char *path, const char *data, size_t len, const char *fallback,
                         char *err, size_t errlen)
{
    json_error_t je;
    unsigned long line, col;
    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) {
        snprintf(err, errlen,
                 "job spec %s is not valid JSON: it starts with a UTF-8 byte order "
                 "mark (bytes EF BB BF), which JSON does not allow; save it as UTF-8 without "
                 "a BOM",
                 path);
        return;
    }
    json_t *j = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (j || je.position <= 0) {
        json_decref(j);
        snprintf(err, errlen, "job spec %s is not valid JSON: %s", path, fallback);
        return;
    }
    /* jansson stops just after the token it could not take, and quotes it: "... near 'tru'". */
    size_t at = (size_t)je.position < len ? (size_t)je.position : len;
    const char *near = strstr(je.text, "near '");
    size_t n = near ? strlen(near + 6) : 0;
    if (n > 1 && near[6 + n - 1] == '\'' && n - 1 <= at)
        at -= n - 1;
    size_t prev = at;
    while (prev > 0 && strchr(" \t\r\n", data[prev - 1]))
        prev--;
    if (at < len && (data[at] == '}' || data[at] == ']') && prev > 0 && data[prev - 1] == ',') {
        line_col(data, prev - 1, &line, &col);
        snprintf(err, errlen,
                 "job spec %s is not valid JSON: line %lu, column %lu (byte %zu): a "
                 "trailing comma before '%c' (JSON allows none)",
                 path, line, col, prev - 1, data[at]);
        return;
    }
    line_col(data, at, &line, &col);
    snprintf(err, errlen, "job spec %s is not valid JSON: line %lu, column %lu (byte %zu): %s",
             path, line, col, at, je.text);
}

/* Where the field a load() message names ("fields.label", unknown field "limits.x") is: the
 * opening quote of its key, found back from its value. @return 0 and the byte, or -1. */
static int field_offset(const kivo_json_node *root, const char *data, const char *msg, size_t *at)
{
    const char *q = strstr(msg, "field \"");
    const kivo_json_node *n = root;
    if (!q)
        return -1;
    q += 7;
    while (n && *q && *q != '"') {
        char key[128];
        size_t k = strcspn(q, ".\"");
        if (k >= sizeof key || n->type != KIVO_JSON_OBJECT)
            return -1;
        memcpy(key, q, k);
        key[k] = '\0';
        n = kivo_json_get(n, key);
        q += k + (q[k] == '.');
    }
    if (!n || n == root || *q != '"')
        return -1;
    size_t i = n->offset;
    while (i > 0 && strchr(" \t\r\n", data[i - 1]))
        i--;
    if (i > 0 && data[i - 1] == ':')
        i--;
    while (i > 0 && strchr(" \t\r\n", data[i - 1]))
        i--;
    if (i > 0 && data[i - 1] == '"') {
        i--;
        while (i > 0 && !(data[i - 1] == '"' && (i < 2 || data[i - 2] != '\\')))
            i--;
        if (i > 0)
            i--;
    }
    *at = i;
    return 0;
}

int wk_jobspec_load(const char *path, wk_jobspec *s, char *err, size_t errlen)
{
    char *data = NULL, *pathcopy = NULL;
    size_t len = 0;
    kivo_json_parser *p = NULL;
    const kivo_json_node *root;
    int rc = -1;
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    if (wk_read_file(path, &data, &len) != 0) {
        snprintf(err, errlen, "cannot read job spec %s: %s", path, strerror(errno));
        goto out;
    }
    if (!(pathcopy = strdup(path)) || !(s->dir = strdup(dirname(pathcopy))))
        goto out;
    if (kivo_json_parser_create(64, &p) != KIVO_OK)
        goto out;
    if (kivo_json_parse(p, data, len, len + KIVO_JSON_PADDING, KIVO_JSON_REJECT_DUPKEYS, &root) !=
        KIVO_OK) {
        syntax_error(path, data, len, kivo_json_parser_error(p), err, errlen);
        goto out;
    }
    rc = load(root, s, err, errlen);
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "out of memory reading job spec");
    size_t at, n = strlen(err);
    if (rc != 0 && n + 1 < errlen && field_offset(root, data, err, &at) == 0) {
        unsigned long line, col;
        line_col(data, at, &line, &col);
        snprintf(err + n, errlen - n, " (%s line %lu, column %lu)", path, line, col);
    }
out:
    kivo_json_parser_free(p);
    free(data);
    free(pathcopy);
    if (rc != 0)
        wk_jobspec_free(s);
    return rc;
}

void wk_jobspec_free(wk_jobspec *s)
{
    free(s->dir);
    free(s->workflow_id);
    free(s->workflow_name);
    free(s->policy_version);
    free(s->worker_id);
    free(s->batch_id);
    for (size_t i = 0; i < s->n_inputs; i++)
        free(s->inputs[i]);
    free(s->inputs);
    for (int i = 0; i < 6; i++)
        free(s->field[i]);
    wk_meta_spec_free(&s->meta);
    free(s->report_path);
    free(s->report_label);
    memset(s, 0, sizeof *s);
}
