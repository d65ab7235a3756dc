/*
 * fuzz_outbox_state.c - an outbox folder's files as `kivo-worker submit` finds them after any crash
 * or edit: the input is written as outbox.state and loaded (wk_outbox_open_read: the same states,
 * the file untouched; then wk_outbox_open), then as outbox.json
 * (wk_outbox_meta_read).
 *
 * Checks for the state: loading any bytes works (a torn or foreign line is skipped, not fatal);
 * a state noted and synced after loading is what the next load reads, and it leaves the state of
 * every other event as it was. For outbox.json: a document that loads has every required field,
 * and writing it back and reading it again gives the same fields.
 */
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "outbox.h"

#define PROBE "evt_fuzz_probe"
#define MAX_IDS 64

/* Up to MAX_IDS distinct safe event ids from the first word of the input's lines. */
static size_t ids_of(const uint8_t *data, size_t size, char ids[MAX_IDS][WK_ID_MAX])
{
    size_t n = 0, at = 0;
    while (at < size && n < MAX_IDS) {
        size_t len = 0;
        while (at + len < size && data[at + len] != ' ' && data[at + len] != '\n')
            len++;
        if (wk_id_safe((const char *)data + at, len)) {
            memcpy(ids[n], data + at, len);
            ids[n][len] = '\0';
            n++;
        }
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        at = nl ? (size_t)(nl - data) + 1 : size;
    }
    return n;
}

static void check_state(const char *dir, const uint8_t *data, size_t size)
{
    char err[512], ids[MAX_IDS][WK_ID_MAX], rr_before[MAX_IDS][WK_ID_MAX];
    int state_before[MAX_IDS];
    size_t n = ids_of(data, size, ids);
    int state_ro[MAX_IDS];
    char path[4200], rr_ro[MAX_IDS][WK_ID_MAX];
    struct stat st;
    wk_outbox *ob;
    const char *rr;

    /* Read-only (merge, on a shard's folder): the same states, and the file left as it was. */
    snprintf(path, sizeof path, "%s/outbox.state", dir);
    FUZZ_CHECK(wk_outbox_open_read(dir, &ob, err, sizeof err) == 0);
    for (size_t i = 0; i < n; i++) {
        state_ro[i] = wk_outbox_state(ob, ids[i], &rr);
        snprintf(rr_ro[i], sizeof rr_ro[i], "%s", rr ? rr : "");
    }
    FUZZ_CHECK(wk_outbox_close(ob) == 0);
    FUZZ_CHECK(stat(path, &st) == 0 && (size_t)st.st_size == size);

    if (wk_outbox_open(dir, &ob, err, sizeof err) != 0)
        fprintf(stderr, "fuzz_outbox_state: %s\n", err);
    FUZZ_CHECK(ob != NULL);
    for (size_t i = 0; i < n; i++) {
        state_before[i] = wk_outbox_state(ob, ids[i], &rr);
        FUZZ_CHECK(state_before[i] >= WK_STATE_NONE && state_before[i] <= WK_STATE_ELSEWHERE);
        FUZZ_CHECK(!rr || wk_id_safe(rr, strlen(rr)));
        snprintf(rr_before[i], sizeof rr_before[i], "%s", rr ? rr : "");
        FUZZ_CHECK(state_before[i] == state_ro[i] && strcmp(rr_before[i], rr_ro[i]) == 0);
    }
    FUZZ_CHECK(wk_outbox_note(ob, PROBE, WK_STATE_SENT, "rr_fuzz") == 0);
    FUZZ_CHECK(wk_outbox_sync(ob) == 0);
    FUZZ_CHECK(wk_outbox_close(ob) == 0);

    FUZZ_CHECK(wk_outbox_open(dir, &ob, err, sizeof err) == 0);
    FUZZ_CHECK(wk_outbox_state(ob, PROBE, &rr) == WK_STATE_SENT);
    FUZZ_CHECK(rr && strcmp(rr, "rr_fuzz") == 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], PROBE) == 0)
            continue;
        FUZZ_CHECK(wk_outbox_state(ob, ids[i], &rr) == state_before[i]);
        FUZZ_CHECK(strcmp(rr ? rr : "", rr_before[i]) == 0);
    }
    FUZZ_CHECK(wk_outbox_close(ob) == 0);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_meta(const char *dir)
{
    wk_outbox_meta m, again;
    char err[512];

    if (wk_outbox_meta_read(dir, &m, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    FUZZ_CHECK(m.workflow_id && m.intended_use && m.strictness && m.storage_label &&
               m.report_prefix);
    FUZZ_CHECK(wk_outbox_meta_write(dir, &m) == 0);
    FUZZ_CHECK(wk_outbox_meta_read(dir, &again, err, sizeof err) == 0);
    FUZZ_CHECK(
        same(m.workflow_id, again.workflow_id) && same(m.workflow_name, again.workflow_name) &&
        same(m.intended_use, again.intended_use) && same(m.strictness, again.strictness) &&
        same(m.policy_version, again.policy_version) &&
        same(m.storage_label, again.storage_label) && same(m.report_prefix, again.report_prefix));
    wk_outbox_meta_free(&m);
    wk_outbox_meta_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_state(fuzz_scratch_write("outbox.state", data, size), data, size);
    check_meta(fuzz_scratch_write("outbox.json", data, size));
    return 0;
}
