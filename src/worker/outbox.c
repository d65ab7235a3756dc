/*
 * outbox.c - the outbox folder: the per-event state log, the dead letters, the job's metadata, and
 * the raw-field check every event passes before it may leave.
 *
 * The state log is append-only text so that a crash can only tear its last line, which loading
 * skips; the newest line for an event wins. Lines are buffered and made durable in groups
 * (wk_outbox_sync): the sender syncs before it posts any event whose run it has just created, so
 * that a review_run_id the server knows is always on disk before the event that would make that
 * run terminal.
 *
 * Every file is opened from the outbox folder's descriptor without following links (output.h),
 * and created WK_MODE_META: the outbox holds metadata only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobspec.h"
#include "kivo/buf.h"
#include "kivo/hash.h"
#include "kivo/wire.h"
#include "outbox.h"
#include "output.h"

#define STATE_FILE "outbox.state"
#define DEAD_FILE "dead-letter.jsonl"
#define META_FILE "outbox.json"
#define EVENTS_FILE "events.jsonl"
#define META_SCHEMA "kivo_worker_outbox.v1"

typedef struct entry {
    char *id; /* NULL: empty slot */
    char *rr; /* may be NULL */
    int state;
} entry;

struct wk_outbox {
    char *dir;
    int dir_fd;
    int state_fd;
    entry *tab;
    size_t cap, n;
    kivo_buf pending; /* state lines not yet written */
    size_t pending_lines;
};

static const char *const state_names[] = {"none", "created", "sent", "dead", "elsewhere"};

int wk_id_safe(const char *s, size_t len)
{
    if (len == 0 || len >= WK_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

/* Opens name in the folder dir_fd for reading as a stream, never through a link. */
static FILE *read_stream(int dir_fd, const char *name)
{
    int fd = wk_read_open(dir_fd, name);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

static entry *find(const wk_outbox *ob, const char *id)
{
    if (!ob->cap)
        return NULL;
    size_t mask = ob->cap - 1, i = (size_t)kivo_hash_xxh3(id, strlen(id)) & mask;
    while (ob->tab[i].id) {
        if (strcmp(ob->tab[i].id, id) == 0)
            return &ob->tab[i];
        i = (i + 1) & mask;
    }
    return &ob->tab[i];
}

static int grow(wk_outbox *ob)
{
    size_t cap = ob->cap ? ob->cap * 2 : 1024;
    entry *old = ob->tab;
    size_t old_cap = ob->cap;
    ob->tab = calloc(cap, sizeof *ob->tab);
    if (!ob->tab) {
        ob->tab = old;
        return -1;
    }
    ob->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].id)
            *find(ob, old[i].id) = old[i];
    free(old);
    return 0;
}

static int set_state(wk_outbox *ob, const char *id, int state, const char *rr)
{
    if ((ob->n + 1) * 2 > ob->cap && grow(ob) != 0)
        return -1;
    entry *e = find(ob, id);
    if (!e->id) {
        if (!(e->id = strdup(id)))
            return -1;
        ob->n++;
    }
    e->state = state;
    if (rr && (!e->rr || strcmp(e->rr, rr) != 0)) {
        char *copy = strdup(rr);
        if (!copy)
            return -1;
        free(e->rr);
        e->rr = copy;
    }
    return 0;
}

/* Loads the state lines of STATE_FILE; *whole gets the bytes of its complete lines, which is
 * where the next line must start (a torn line after them is cut off by the caller). */
static int load_state(wk_outbox *ob, off_t *whole)
{
    FILE *f = read_stream(ob->dir_fd, STATE_FILE);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    *whole = 0;
    if (!f)
        return errno == ENOENT ? 0 : -1;
    while ((n = getline(&line, &cap, f)) > 0 && rc == 0) {
        char id[WK_ID_MAX], st[16], rr[WK_ID_MAX];
        int state = 0;
        if (line[n - 1] != '\n')
            break; /* torn by a crash: never acknowledged as durable */
        *whole += n;
        if (sscanf(line, "%128s %15s %128s", id, st, rr) != 3)
            continue;
        for (int s = WK_STATE_CREATED; s <= WK_STATE_ELSEWHERE; s++)
            if (strcmp(st, state_names[s]) == 0)
                state = s;
        /* Only ids wk_outbox_note() could have written: a review_run_id goes into URL paths. */
        int no_rr = strcmp(rr, "-") == 0;
        if (!state || !wk_id_safe(id, strlen(id)) || (!no_rr && !wk_id_safe(rr, strlen(rr))))
            continue;
        rc = set_state(ob, id, state, no_rr ? NULL : rr);
    }
    free(line);
    fclose(f);
    return rc;
}

int wk_outbox_open(const char *dir, wk_outbox **out, char *err, size_t errlen)
{
    wk_outbox *ob = calloc(1, sizeof *ob);
    struct stat sb;
    off_t whole;
    *out = NULL;
    if (!ob)
        goto nomem;
    ob->dir_fd = ob->state_fd = -1;
    kivo_buf_init(&ob->pending, 0);
    if (!(ob->dir = strdup(dir)))
        goto nomem;
    if ((ob->dir_fd = wk_dir_open(dir, 1)) < 0) {
        snprintf(err, errlen, "cannot create outbox %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (load_state(ob, &whole) != 0) {
        wk_output_error(err, errlen, "cannot read", dir, STATE_FILE, errno);
        goto fail;
    }
    ob->state_fd = wk_append_open(ob->dir_fd, STATE_FILE, WK_MODE_META);
    if (ob->state_fd < 0) {
        wk_output_error(err, errlen, "cannot write", dir, STATE_FILE, errno);
        goto fail;
    }
    /* Cut a torn last line off, or the next line appended would become its tail and be lost. */
    if (fstat(ob->state_fd, &sb) != 0 ||
        (sb.st_size > whole && ftruncate(ob->state_fd, whole) != 0)) {
        wk_output_error(err, errlen, "cannot repair", dir, STATE_FILE, errno);
        goto fail;
    }
    *out = ob;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    wk_outbox_close(ob);
    return -1;
}

int wk_outbox_open_read(const char *dir, wk_outbox **out, char *err, size_t errlen)
{
    wk_outbox *ob = calloc(1, sizeof *ob);
    off_t whole;
    *out = NULL;
    if (ob) {
        ob->dir_fd = ob->state_fd = -1;
        kivo_buf_init(&ob->pending, 0);
    }
    if (!ob || !(ob->dir = strdup(dir))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((ob->dir_fd = wk_dir_open(dir, 0)) < 0) {
        snprintf(err, errlen, "cannot open outbox %s: %s", dir, strerror(errno));
        goto fail;
    }
    /* A torn last line is skipped, and left as it is: this outbox is another writer's. */
    if (load_state(ob, &whole) != 0) {
        wk_output_error(err, errlen, "cannot read", dir, STATE_FILE, errno);
        goto fail;
    }
    *out = ob;
    return 0;
fail:
    wk_outbox_close(ob);
    return -1;
}

int wk_outbox_close(wk_outbox *ob)
{
    int rc = 0;
    if (!ob)
        return 0;
    if (ob->state_fd >= 0) {
        rc = wk_outbox_sync(ob);
        close(ob->state_fd);
    }
    for (size_t i = 0; i < ob->cap; i++) {
        free(ob->tab[i].id);
        free(ob->tab[i].rr);
    }
    free(ob->tab);
    kivo_buf_free(&ob->pending);
    if (ob->dir_fd >= 0)
        close(ob->dir_fd);
    free(ob->dir);
    free(ob);
    return rc;
}

const char *wk_outbox_dir(const wk_outbox *ob)
{
    return ob->dir;
}

int wk_outbox_state(const wk_outbox *ob, const char *event_id, const char **review_run_id)
{
    const entry *e = find(ob, event_id);
    if (review_run_id)
        *review_run_id = e && e->id ? e->rr : NULL;
    return e && e->id ? e->state : WK_STATE_NONE;
}

int wk_outbox_note(wk_outbox *ob, const char *event_id, int state, const char *review_run_id)
{
    if (!wk_id_safe(event_id, strlen(event_id)) ||
        (review_run_id && !wk_id_safe(review_run_id, strlen(review_run_id)))) {
        errno = EINVAL;
        return -1;
    }
    if (set_state(ob, event_id, state, review_run_id) != 0 ||
        kivo_buf_printf(&ob->pending, "%s %s %s\n", event_id, state_names[state],
                        review_run_id ? review_run_id : "-") != KIVO_OK)
        return -1;
    ob->pending_lines++;
    return 0;
}

size_t wk_outbox_unsynced(const wk_outbox *ob)
{
    return ob->pending_lines;
}

int wk_outbox_sync(wk_outbox *ob)
{
    if (ob->pending.len == 0)
        return 0;
    if (wk_write_all(ob->state_fd, ob->pending.data, ob->pending.len) != 0 ||
        fdatasync(ob->state_fd) != 0)
        return -1;
    kivo_buf_reset(&ob->pending);
    ob->pending_lines = 0;
    return 0;
}

static int append_line_synced(int dir_fd, const char *name, const char *text, size_t len)
{
    int fd = wk_append_open(dir_fd, name, WK_MODE_META);
    int rc = -1;
    if (fd < 0)
        return -1;
    if (wk_write_all(fd, text, len) == 0 && wk_write_all(fd, "\n", 1) == 0 && fdatasync(fd) == 0)
        rc = 0;
    close(fd);
    return rc;
}

int wk_outbox_dead(wk_outbox *ob, const char *event_id, const char *customer_run_id,
                   const char *review_run_id, long status, json_t *error)
{
    char at[32];
    time_t t = time(NULL);
    struct tm tm;
    int rc = -1;
    char *text = NULL;
    json_t *o = json_object();
    if (!o)
        goto out;
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_object_set_new(o, "event_id", json_string(event_id));
    json_object_set_new(o, "customer_run_id",
                        customer_run_id ? json_string(customer_run_id) : json_null());
    json_object_set_new(o, "review_run_id",
                        review_run_id ? json_string(review_run_id) : json_null());
    json_object_set_new(o, "http_status", status ? json_integer(status) : json_null());
    json_object_set(o, "error", error ? error : json_null());
    json_object_set_new(o, "at", json_string(at));
    if (!(text = json_dumps(o, JSON_COMPACT)))
        goto out;
    if (append_line_synced(ob->dir_fd, DEAD_FILE, text, strlen(text)) != 0)
        goto out;
    if (wk_id_safe(event_id, strlen(event_id)) &&
        wk_outbox_note(ob, event_id, WK_STATE_DEAD, review_run_id) != 0)
        goto out;
    rc = 0;
out:
    free(text);
    json_decref(o);
    return rc;
}

int wk_outbox_sync_events(const char *dir)
{
    int dfd = wk_dir_open(dir, 0), fd = dfd >= 0 ? wk_read_open(dfd, EVENTS_FILE) : -1;
    int rc = fd >= 0 && fsync(fd) == 0 && fsync(dfd) == 0 ? 0 : -1, e = errno;
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    errno = e;
    return rc;
}

FILE *wk_outbox_events_read(const char *dir)
{
    int dfd = wk_dir_open(dir, 0), e;
    FILE *f = dfd >= 0 ? read_stream(dfd, EVENTS_FILE) : NULL;
    e = errno;
    if (dfd >= 0)
        close(dfd);
    errno = e;
    return f;
}

int wk_outbox_append_event(const char *dir, const char *event_id, const char *json, size_t len)
{
    FILE *f;
    int rc = -1, found = 0, dfd = wk_dir_open(dir, 1);
    if (dfd < 0)
        return -1;
    /* A rerun of `run` writes the same events again: keep one copy of each. */
    if ((f = read_stream(dfd, EVENTS_FILE))) {
        char *line = NULL, needle[WK_ID_MAX + 16];
        size_t cap = 0;
        snprintf(needle, sizeof needle, "\"event_id\":\"%s\"", event_id);
        while (!found && getline(&line, &cap, f) > 0)
            found = strstr(line, needle) != NULL;
        free(line);
        fclose(f);
    }
    rc = found ? 0 : append_line_synced(dfd, EVENTS_FILE, json, len);
    if (rc == 0 && !found)
        rc = fsync(dfd);
    int e = errno;
    close(dfd);
    errno = e;
    return rc;
}

int wk_outbox_meta_write(const char *dir, const wk_outbox_meta *m)
{
    json_t *o = json_object();
    char *text = NULL;
    int rc = -1, dfd = -1;
    if (!o)
        goto out;
    json_object_set_new(o, "schema_version", json_string(META_SCHEMA));
    json_object_set_new(o, "workflow_id", json_string(m->workflow_id));
    if (m->workflow_name)
        json_object_set_new(o, "workflow_name", json_string(m->workflow_name));
    json_object_set_new(o, "intended_use", json_string(m->intended_use));
    json_object_set_new(o, "strictness", json_string(m->strictness));
    if (m->policy_version)
        json_object_set_new(o, "policy_version", json_string(m->policy_version));
    json_object_set_new(o, "storage_label", json_string(m->storage_label));
    json_object_set_new(o, "report_prefix", json_string(m->report_prefix));
    if (!(text = json_dumps(o, JSON_INDENT(2))) || (dfd = wk_dir_open(dir, 0)) < 0)
        goto out;
    struct iovec v = {text, strlen(text)};
    /* submit reads it after any crash: durable before the batch says it is done. */
    rc = wk_write_at(dfd, META_FILE, &v, 1, WK_MODE_META, WK_WRITE_SYNC);
out:;
    int e = errno;
    if (dfd >= 0)
        close(dfd);
    free(text);
    json_decref(o);
    errno = e;
    return rc;
}

static char *meta_str(const kivo_json_node *root, const char *key, int required, int *bad)
{
    const kivo_json_node *n = kivo_json_get(root, key);
    char *s;
    if (!n || n->type != KIVO_JSON_STRING) {
        *bad |= required || (n && n->type != KIVO_JSON_NULL);
        return NULL;
    }
    if (!(s = malloc(n->len + 1))) {
        *bad = 1;
        return NULL;
    }
    memcpy(s, n->str, n->len);
    s[n->len] = '\0';
    return s;
}

int wk_outbox_meta_read(const char *dir, wk_outbox_meta *m, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    kivo_json_parser *p = NULL;
    const kivo_json_node *root;
    int rc = -1, bad = 0, dfd = wk_dir_open(dir, 0);
    memset(m, 0, sizeof *m);
    if (dfd < 0 || wk_read_at(dfd, META_FILE, KIVO_JSON_PADDING, &data, &len) != 0) {
        char why[1024];
        wk_output_error(why, sizeof why, "cannot read", dir, META_FILE, errno);
        snprintf(err, errlen, "%s (is this a batch's output folder?)", why);
        goto out;
    }
    if (kivo_json_parser_create(8, &p) != KIVO_OK ||
        kivo_json_parse(p, data, len, len + KIVO_JSON_PADDING, 0, &root) != KIVO_OK ||
        root->type != KIVO_JSON_OBJECT ||
        !kivo_json_streq(kivo_json_get(root, "schema_version"), META_SCHEMA)) {
        snprintf(err, errlen, "%s/%s is not a %s document", dir, META_FILE, META_SCHEMA);
        goto out;
    }
    m->workflow_id = meta_str(root, "workflow_id", 1, &bad);
    m->workflow_name = meta_str(root, "workflow_name", 0, &bad);
    m->intended_use = meta_str(root, "intended_use", 1, &bad);
    m->strictness = meta_str(root, "strictness", 1, &bad);
    m->policy_version = meta_str(root, "policy_version", 0, &bad);
    m->storage_label = meta_str(root, "storage_label", 1, &bad);
    m->report_prefix = meta_str(root, "report_prefix", 1, &bad);
    if (bad) {
        snprintf(err, errlen, "%s/%s: a field is missing or not a string", dir, META_FILE);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        wk_outbox_meta_free(m);
    kivo_json_parser_free(p);
    free(data);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

void wk_outbox_meta_free(wk_outbox_meta *m)
{
    free(m->workflow_id);
    free(m->workflow_name);
    free(m->intended_use);
    free(m->strictness);
    free(m->policy_version);
    free(m->storage_label);
    free(m->report_prefix);
    memset(m, 0, sizeof *m);
}

int wk_event_raw_field(const kivo_json_node *n, const char **field, const char **use_instead)
{
    if (!n)
        return 0;
    for (const kivo_json_node *c = n->child; c; c = c->next) {
        const kivo_wire_raw_field *raw;
        if (n->type == KIVO_JSON_OBJECT && (raw = kivo_wire_raw_field_find(c->key, c->key_len))) {
            /* Hand back the static name, not the document's bytes. */
            *field = raw->name;
            if (use_instead)
                *use_instead = raw->use_instead;
            return 1;
        }
        if ((c->type == KIVO_JSON_OBJECT || c->type == KIVO_JSON_ARRAY) &&
            wk_event_raw_field(c, field, use_instead))
            return 1;
    }
    return 0;
}

int wk_event_raw_field_text(const char *json, size_t len, const char **field,
                            const char **use_instead)
{
    kivo_json_parser *p = NULL;
    const kivo_json_node *root;
    char *copy = malloc(len + KIVO_JSON_PADDING);
    int rc = -1;
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    memset(copy + len, 0, KIVO_JSON_PADDING);
    if (kivo_json_parser_create(1024, &p) == KIVO_OK &&
        kivo_json_parse(p, copy, len, len + KIVO_JSON_PADDING, 0, &root) == KIVO_OK)
        rc = wk_event_raw_field(root, field, use_instead);
    kivo_json_parser_free(p);
    free(copy);
    return rc;
}

json_t *wk_json_from_node(const kivo_json_node *n)
{
    json_t *v = NULL;
    switch (n->type) {
    case KIVO_JSON_NULL: return json_null();
    case KIVO_JSON_BOOL: return json_boolean(n->boolean);
    case KIVO_JSON_NUMBER: return n->is_int ? json_integer((json_int_t)n->i) : json_real(n->d);
    case KIVO_JSON_STRING: return json_stringn(n->str, n->len);
    case KIVO_JSON_ARRAY:
        if (!(v = json_array()))
            return NULL;
        for (const kivo_json_node *c = n->child; c; c = c->next) {
            json_t *x = wk_json_from_node(c);
            if (!x || json_array_append_new(v, x) != 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    case KIVO_JSON_OBJECT:
        if (!(v = json_object()))
            return NULL;
        for (const kivo_json_node *c = n->child; c; c = c->next) {
            json_t *x = wk_json_from_node(c);
            if (!x || json_object_setn_new(v, c->key, c->key_len, x) != 0) {
                json_decref(v);
                return NULL;
            }
        }
        return v;
    }
    return NULL;
}
