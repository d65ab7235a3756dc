/*
 * outbox.h - events that must reach Kivo, and what has become of each, on disk before any send.
 *
 * An outbox is a folder:
 *   events.jsonl      the events, one JSON object a line (written by `batch` or `run`)
 *   outbox.state      append-only, fsync'd lines "<event_id> <state> <review_run_id or ->" where
 *                     state is created (the run exists, the event is not yet acknowledged), sent
 *                     (202, or 200 for a replay) or dead (refused; see dead-letter.jsonl). The
 *                     last line for an event wins; a torn last line (a crash mid-write) is ignored,
 *                     and cut off when the outbox is opened so the next line starts clean.
 *   dead-letter.jsonl one line per refused event, with the server's error
 *   outbox.json       what `submit` needs to create runs with an API key (workflow, policy, store)
 *
 * The review_run_id of a bulk run is known only once the run is created, so it lives in the
 * state, and the body sent is the event of events.jsonl with that id filled in: the same bytes on
 * every retry, which is what makes the server's replay answer (200) possible.
 */
#ifndef KIVO_WORKER_OUTBOX_H
#define KIVO_WORKER_OUTBOX_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "kivo/json.h"

#define WK_ID_MAX 129 /* event ids and review run ids we accept, with the NUL */

/* ELSEWHERE: the event's run belongs to another shard's outbox (an earlier MPI rank holds its
 * customer_run_id: in one process this record is a duplicate); never sent from here. */
enum { WK_STATE_NONE = 0, WK_STATE_CREATED, WK_STATE_SENT, WK_STATE_DEAD, WK_STATE_ELSEWHERE };

typedef struct wk_outbox wk_outbox;

/* What outbox.json holds: how to create a bulk run from one of its events. */
typedef struct wk_outbox_meta {
    char *workflow_id;
    char *workflow_name; /* may be NULL */
    char *intended_use;
    char *strictness;
    char *policy_version; /* may be NULL */
    char *storage_label;
    char *report_prefix; /* "reports/<workflow folder>": opaque ids are relative to DIR */
} wk_outbox_meta;

/* Opens (creating if needed) the outbox folder dir and loads its state. @return 0, or -1 with a
 * message in err. Free with wk_outbox_close(), which syncs what is still buffered. */
int wk_outbox_open(const char *dir, wk_outbox **out, char *err, size_t errlen);
int wk_outbox_close(wk_outbox *ob);
/* Loads the state of the existing outbox folder dir read-only: nothing is created, repaired or
 * written (a torn last line is skipped, not cut); only wk_outbox_state() and _close() may be used
 * on it. @return 0, or -1 with a message in err. */
int wk_outbox_open_read(const char *dir, wk_outbox **out, char *err, size_t errlen);

const char *wk_outbox_dir(const wk_outbox *ob);

/* The state of event_id (WK_STATE_*) and, when known, its review run id (else NULL). */
int wk_outbox_state(const wk_outbox *ob, const char *event_id, const char **review_run_id);

/* Records a new state in memory and in the write buffer; it is durable after wk_outbox_sync().
 * @return 0 or -1 (out of memory). */
int wk_outbox_note(wk_outbox *ob, const char *event_id, int state, const char *review_run_id);

/* Lines noted but not yet durable. */
size_t wk_outbox_unsynced(const wk_outbox *ob);

/* Writes the buffered state lines and fdatasync()s them. @return 0, or -1 with errno. */
int wk_outbox_sync(wk_outbox *ob);

/* Appends one line to dead-letter.jsonl (fsync'd) and notes the event dead. error is the
 * server's error object (borrowed; NULL for none); status the HTTP status (0: refused here).
 * @return 0 or -1 with errno. */
int wk_outbox_dead(wk_outbox *ob, const char *event_id, const char *customer_run_id,
                   const char *review_run_id, long status, json_t *error);

/* Appends one event (a JSON object without newline; a newline is added) to DIR/events.jsonl and
 * fsyncs it, unless an event with the same event_id is already there. @return 0 or -1. */
int wk_outbox_append_event(const char *dir, const char *event_id, const char *json, size_t len);

/* fsyncs DIR/events.jsonl and DIR itself (after a batch wrote them). @return 0 or -1. */
int wk_outbox_sync_events(const char *dir);

/* Opens DIR/events.jsonl for reading, never through a link. @return the stream, or NULL with
 * errno (ENOENT, ELOOP ...). */
FILE *wk_outbox_events_read(const char *dir);

/* Writes DIR/outbox.json atomically. @return 0 or -1 with errno. */
int wk_outbox_meta_write(const char *dir, const wk_outbox_meta *m);
/* Reads DIR/outbox.json. @return 0, or -1 with a message in err. Free with _meta_free(). */
int wk_outbox_meta_read(const char *dir, wk_outbox_meta *m, char *err, size_t errlen);
void wk_outbox_meta_free(wk_outbox_meta *m);

/*
 * Defence in depth before any send: looks for a rejected raw field name (api.md: ai_output,
 * prompt, messages, source_text, ...) as a key at any depth of a parsed body.
 * @return 1 and *field (the name, static) and *use_instead when one is there; 0 when clean.
 */
int wk_event_raw_field(const kivo_json_node *root, const char **field, const char **use_instead);

/* The same on JSON text (parsed with its own parser): 1 found, 0 clean, -1 not valid JSON. */
int wk_event_raw_field_text(const char *json, size_t len, const char **field,
                            const char **use_instead);

/* A jansson copy of a parsed value, key order kept. NULL when out of memory. */
json_t *wk_json_from_node(const kivo_json_node *n);

/* 1 when s is 1..128 bytes of [A-Za-z0-9_.:-]: safe in a state line and a URL path. */
int wk_id_safe(const char *s, size_t len);

#endif
