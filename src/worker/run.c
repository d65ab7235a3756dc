/*
 * run.c - one run, end to end, with its own credential (see run.h).
 *
 * The record is found by reading the inputs in order, as `batch` does, and taking the first line
 * whose customer_run_id is the run's; reading stops there. The review uses only libkivo's public
 * API, so `run` and `batch` give the same report and the same hashes for the same record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "inputs.h"
#include "jobspec.h"
#include "kivo/hash.h"
#include "kivo/json.h"
#include "kivo/record.h"
#include "kivo/wire.h"
#include "outbox.h"
#include "output.h"
#include "reader.h"
#include "review.h"
#include "run.h"
#include "submit.h"

typedef struct run_info {
    char customer_run_id[KIVO_RUN_ID_MAX + 1];
    char workflow_id[513];
    char worker_id[513];
    char status[32];
} run_info;

/* What became of the record. */
typedef struct found {
    int state; /* 0 not found, 1 reviewed, 2 found but unreviewable */
    const char *failure_code;
    char verdict[32];
    size_t claims, unsupported;
    char report_path[4600];
    char why[1200]; /* why the report could not be written */
} found;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int copy_member(const kivo_json_node *o, const char *key, char *out, size_t len)
{
    const kivo_json_node *n = kivo_json_get(o, key);
    if (!n || n->type != KIVO_JSON_STRING || n->len >= len)
        return -1;
    memcpy(out, n->str, n->len);
    out[n->len] = '\0';
    return 0;
}

/* GET the run with its own credential, retrying what is worth retrying. */
static int get_run(const wk_run_opts *o, wk_client *c, run_info *ri, long *status, char *err,
                   size_t errlen)
{
    wk_request r = {0};
    kivo_json_parser *p = NULL;
    const kivo_json_node *root;
    double t0 = mono(), delay = 0.2;
    int rc = -1, said = 0;
    r.method = "GET";
    snprintf(r.path, sizeof r.path, "/v1/private-worker/review-runs/%s", o->review_run_id);
    r.token = o->credential;
    for (;;) {
        if (wk_client_do(c, &r) != 0) {
            snprintf(err, errlen, "cannot start a request (out of memory)");
            goto out;
        }
        /* A TLS or URL failure is final; no answer is named once, then retried (issue 18). */
        if (wk_http_transport_fatal(&r) || !wk_http_retryable(&r) ||
            mono() - t0 > (o->deadline_s > 0 ? o->deadline_s : 300))
            break;
        if (r.status == 0 && !said++)
            fprintf(stderr,
                    "kivo-worker run: no answer from kivo-api at %s: %s; retrying with "
                    "backoff for up to %.0f s (--retry-deadline)\n",
                    o->base_url, r.curl_error, o->deadline_s > 0 ? o->deadline_s : 300);
        usleep((useconds_t)(delay * 1e6));
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
    *status = r.status;
    if (r.status != 200) {
        char msg[600];
        wk_request_describe(&r, msg, sizeof msg);
        if (r.status == 403)
            snprintf(err, errlen,
                     "the server refused this worker credential for review run %s "
                     "(%s): it is the credential of another run. Use the worker_credential that "
                     "the create call returned for %s",
                     o->review_run_id, msg, o->review_run_id);
        else if (r.status == 401)
            snprintf(err, errlen,
                     "the server did not accept the worker credential for review "
                     "run %s (%s): it is unknown, expired, replaced by a newer create, or its run "
                     "has already finished",
                     o->review_run_id, msg);
        else if (r.status == 404)
            snprintf(err, errlen, "review run %s does not exist (%s)", o->review_run_id, msg);
        else
            snprintf(err, errlen, "cannot read review run %s from %s: %s%s", o->review_run_id,
                     o->base_url, msg,
                     wk_http_transport_fatal(&r) ? " (not retried: fix the URL, the certificate "
                                                   "or the CA bundle)"
                                                 : "");
        goto out;
    }
    if (kivo_json_parser_create(32, &p) != KIVO_OK ||
        kivo_json_parse(p, r.response.data, r.response.len, r.response.cap, 0, &root) != KIVO_OK ||
        copy_member(root, "customer_run_id", ri->customer_run_id, sizeof ri->customer_run_id) ||
        copy_member(root, "workflow_id", ri->workflow_id, sizeof ri->workflow_id) ||
        copy_member(root, "worker_id", ri->worker_id, sizeof ri->worker_id) ||
        copy_member(root, "status", ri->status, sizeof ri->status)) {
        snprintf(err, errlen,
                 "the server's answer for review run %s lacks customer_run_id, "
                 "workflow_id, worker_id or status",
                 o->review_run_id);
        goto out;
    }
    rc = 0;
out:
    kivo_json_parser_free(p);
    wk_request_clear(&r);
    return rc;
}

typedef struct ctx {
    const wk_run_opts *o;
    const wk_jobspec *spec;
    const run_info *ri;
    kivo_json_parser *parser;
    kivo_record_reader *reader;
    kivo_engine *engine;
    kivo_hasher *hasher;
    kivo_buf report, event;
    char event_id[KIVO_WIRE_EVENT_ID_SIZE]; /* the completed event's */
    found *f;
} ctx;

/* Reviews the record in root (its customer_run_id is the run's) and renders report and event;
 * fields.metadata and fields.label go into the report only. */
static int review(ctx *x, const kivo_json_node *root, const kivo_record *rec)
{
    const kivo_review *rv;
    char report_dir[WK_REPORT_DIR_MAX], rel[WK_REPORT_DIR_MAX + WK_COMPONENT_MAX + 1];
    int store = -1, fd = -1, rc = -2;
    size_t bad = 0;
    /* The completed event follows the started one (sequence 1). */
    wk_review_job job = {x->spec, wk_jobspec_batch(x->spec), x->o->review_run_id, 2};
    kivo_status st = wk_review_record(&job, x->engine, x->hasher, root, rec, &x->report, &x->event,
                                      x->event_id, NULL, &rv);
    if (st == KIVO_ETOOBIG) {
        /* Over an engine bound (claims per record): the run fails, as an unreviewable record. */
        fprintf(stderr, "kivo-worker: %s: %s\n", x->ri->customer_run_id,
                kivo_engine_errmsg(x->engine));
        x->f->state = 2;
        x->f->failure_code = "record_over_limit";
        return 0;
    }
    if (st != KIVO_OK)
        return -1;
    wk_report_dir(x->spec->workflow_id, report_dir);
    if (wk_report_run_dir(report_dir, rec->customer_run_id, rel, sizeof rel) != 0 ||
        snprintf(x->f->report_path, sizeof x->f->report_path, "%s/%s/%s", x->spec->report_path, rel,
                 WK_REPORT_FILE) >= (int)sizeof x->f->report_path) {
        errno = ENAMETOOLONG;
        wk_output_error(x->f->why, sizeof x->f->why, "cannot create", x->spec->report_path, NULL,
                        errno);
        return -2;
    }
    /* The report store is the operator's folder; below it, no link is followed (output.h). */
    struct iovec v = {x->report.data, x->report.len};
    if ((store = wk_dir_open(x->spec->report_path, 1)) < 0) {
        wk_output_error(x->f->why, sizeof x->f->why, "cannot create", x->spec->report_path, NULL,
                        errno);
        goto out;
    }
    if ((fd = wk_dir_walk(store, rel, 1, NULL, &bad)) < 0) {
        rel[bad] = '\0';
        wk_output_error(x->f->why, sizeof x->f->why, "cannot create", x->spec->report_path, rel,
                        errno);
        goto out;
    }
    if (wk_write_at(fd, WK_REPORT_FILE, &v, 1, WK_MODE_TEXT, 0) != 0) {
        wk_output_error(x->f->why, sizeof x->f->why, "cannot write", x->f->report_path, NULL,
                        errno);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (store >= 0)
        close(store);
    if (rc != 0)
        return rc;
    x->f->state = 1;
    snprintf(x->f->verdict, sizeof x->f->verdict, "%s", kivo_verdict_name(rv->gate_verdict));
    x->f->claims = rv->n_claims;
    x->f->unsupported = rv->unsupported_count;
    return 0;
}

/* One line: 1 when it was the run's record (reviewed or not), 0 when another, <0 on failure. */
static int try_line(ctx *x, const char *line, size_t len, size_t readable)
{
    const kivo_json_node *root, *id;
    kivo_record rec;
    const char *why;
    const char *want = x->ri->customer_run_id;
    if (kivo_json_parse(x->parser, line, len, readable, 0, &root) != KIVO_OK)
        return 0; /* whatever it holds cannot be told apart from any other record */
    kivo_status st = kivo_record_extract(x->reader, root, &rec, &why);
    if (st == KIVO_OK) {
        if (strcmp(rec.customer_run_id, want) != 0)
            return 0;
        int r = review(x, root, &rec);
        return r == 0 ? 1 : r;
    }
    id = kivo_json_pointer(root, x->spec->fields.customer_run_id);
    if (id && id->type == KIVO_JSON_STRING && id->len == strlen(want) &&
        memcmp(id->str, want, id->len) == 0) {
        x->f->state = 2;
        x->f->failure_code = st == KIVO_ESCHEMA ? "unreviewable_record" : "review_error";
        return 1;
    }
    return 0;
}

static int find_and_review(ctx *x, char *err, size_t errlen)
{
    wk_inputs in = {0};
    wk_reader *rd = NULL;
    wk_chunk c = {0};
    int rc = -1, r, hit = 0;
    if (wk_inputs_expand(wk_jobspec_inputs_dir(x->spec), x->spec->inputs, x->spec->n_inputs, &in,
                         err, errlen) != 0)
        return -2;
    if (wk_reader_open(&in, 1u << 20, x->spec->max_line_bytes, &rd) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (!hit && (r = wk_reader_next(rd, &c)) == 1) {
        if (c.shrunk) {
            /* The record may have been in the part that is gone: not "not found". */
            snprintf(err, errlen,
                     "%s shrank while it was read (%llu bytes when the run began, "
                     "%llu at the end)",
                     in.paths[c.file], (unsigned long long)c.shrunk_from,
                     (unsigned long long)c.shrunk_to);
            goto out;
        }
        if (c.overlong)
            continue;
        const char *p = c.buf, *end = c.buf + c.len;
        while (!hit && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            size_t len = (size_t)(le - p);
            if (len && p[len - 1] == '\r')
                len--;
            if (!kivo_json_blank(p, len)) {
                int t = try_line(x, p, len, (size_t)(c.buf + c.cap + KIVO_JSON_PADDING - p));
                if (t == -2) {
                    snprintf(err, errlen, "the report of %s: %s", x->ri->customer_run_id,
                             x->f->why);
                    goto out;
                }
                if (t < 0) {
                    snprintf(err, errlen, "cannot review %s: %s", x->ri->customer_run_id,
                             strerror(errno));
                    goto out;
                }
                hit = t;
            }
            p = le + 1;
        }
    }
    if (!hit && r < 0) {
        snprintf(err, errlen, "cannot read %s: %s", wk_reader_failed_file(rd), strerror(errno));
        goto out;
    }
    if (!hit) {
        x->f->state = 0;
        x->f->failure_code = "record_not_found";
    }
    rc = 0;
out:
    wk_chunk_free(&c);
    wk_reader_close(rd);
    wk_inputs_free(&in);
    return rc;
}

/* Writes a started or failed event of the run to the outbox dir. @return 0, or -1 with errno. */
static int append_event(kivo_hasher *h, const char *dir, const wk_run_opts *o,
                        const wk_jobspec *spec, const run_info *ri, kivo_event_type type,
                        uint64_t seq, const char *failure_code)
{
    kivo_run_meta meta = {o->review_run_id,
                          ri->customer_run_id,
                          spec->workflow_id,
                          spec->worker_id,
                          WK_WORKER_VERSION,
                          NULL,
                          NULL,
                          spec->strictness,
                          spec->intended_use,
                          wk_jobspec_batch(spec)};
    kivo_wire_event ev = {type, &meta, seq, NULL, 0, NULL, failure_code};
    char event_id[KIVO_WIRE_EVENT_ID_SIZE];
    kivo_buf line;
    int rc = -1;
    kivo_buf_init(&line, 0);
    /* The rendered event ends with a newline; the outbox adds its own. */
    if (kivo_wire_event_render(h, &ev, event_id, &line) != KIVO_OK)
        errno = ENOMEM;
    else
        rc = wk_outbox_append_event(dir, event_id, line.data, line.len - 1);
    kivo_buf_free(&line);
    return rc;
}

/* Sends what the outbox dir holds; *outcome becomes REFUSED or PENDING (with err) when not all
 * of it was acknowledged. @return wk_send_outbox()'s status. */
static kivo_status send_events(const wk_run_opts *o, const char *dir, const char *what,
                               wk_run_outcome *outcome, char *err, size_t errlen)
{
    wk_send_opts so = {o->base_url, NULL,          o->credential, o->review_run_id,
                       1,           o->deadline_s, o->timeout_ms, 0};
    wk_send_stats st;
    kivo_status rc = wk_send_outbox(dir, &so, &st, err, errlen);
    if (rc != KIVO_OK)
        return rc;
    if (st.outcome == WK_SEND_REFUSED) {
        *outcome = WK_RUN_REFUSED;
        if (!err[0])
            snprintf(err, errlen, "%s", st.last_error);
        snprintf(err + strlen(err), errlen - strlen(err), " (sending the %s event)", what);
    } else if (st.outcome == WK_SEND_PENDING) {
        *outcome = WK_RUN_PENDING;
        snprintf(err, errlen,
                 "the %s event could not be delivered (%s); it is kept in %s: send "
                 "it later with kivo-worker submit --outbox %s --worker-credential-file FILE "
                 "--review-run-id %s",
                 what, st.last_error, dir, dir, o->review_run_id);
    }
    return KIVO_OK;
}

/* 1 when the outbox dir already holds this run's terminal event, acknowledged by the server: a
 * rerun after the run finished (its credential has expired by then) has nothing left to do. */
static int already_reported(const char *dir)
{
    char err[256];
    wk_outbox *ob = NULL;
    kivo_json_parser *p = NULL;
    kivo_buf b;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int done = 0;
    if (!(f = wk_outbox_events_read(dir)))
        return 0;
    kivo_buf_init(&b, 0);
    if (wk_outbox_open(dir, &ob, err, sizeof err) == 0 &&
        kivo_json_parser_create(64, &p) == KIVO_OK) {
        while (!done && (n = getline(&line, &cap, f)) > 0) {
            const kivo_json_node *root, *id, *type;
            kivo_buf_reset(&b);
            if (kivo_buf_append(&b, line, (size_t)n) != KIVO_OK ||
                kivo_buf_reserve(&b, KIVO_JSON_PADDING) != KIVO_OK ||
                kivo_json_parse(p, b.data, b.len, b.cap, 0, &root) != KIVO_OK)
                continue;
            id = kivo_json_get(root, "event_id");
            type = kivo_json_get(root, "event_type");
            if (id && id->type == KIVO_JSON_STRING && id->len < WK_ID_MAX &&
                (kivo_json_streq(type, "completed") || kivo_json_streq(type, "failed"))) {
                char ev[WK_ID_MAX];
                memcpy(ev, id->str, id->len);
                ev[id->len] = '\0';
                done = wk_outbox_state(ob, ev, NULL) == WK_STATE_SENT;
            }
        }
    }
    free(line);
    fclose(f);
    kivo_buf_free(&b);
    kivo_json_parser_free(p);
    wk_outbox_close(ob);
    return done;
}

/*
 * wk_run() in steps: check_run() (the run as kivo-api knows it, against the job spec),
 * make_engine(), lock_outbox(), send_started(), find_and_review() (the record, its review and its
 * report), send_result() (completed or failed) and tell_result(). Each event goes into the outbox
 * before it is sent, so one that cannot be delivered now stays there for `submit`.
 */

/* The run's outbox folder into dir: --outbox, or runs/<review_run_id> below the report store
 * (rrc: the run id as a path component, for lock_outbox()). */
static void outbox_dir(const wk_run_opts *o, const wk_jobspec *spec, char *dir, size_t len,
                       char rrc[WK_COMPONENT_MAX])
{
    if (o->outbox_dir) {
        snprintf(dir, len, "%s", o->outbox_dir);
    } else {
        wk_path_component(o->review_run_id, strlen(o->review_run_id), rrc);
        snprintf(dir, len, "%s/runs/%s", spec->report_path, rrc);
    }
}

/* GETs the run with its own credential into *ri and checks that the job spec is the one it
 * was created for. @return 1 to go on; 0 when the run ends here without a failure of ours: it was
 * already reviewed and reported (a rerun; err empty), or kivo-api refused or did not answer
 * (*outcome REFUSED or PENDING, err why); -1 when the job spec names another workflow or worker
 * (err). */
static int check_run(const ctx *x, run_info *ri, wk_client *client, const char *dir,
                     wk_run_outcome *outcome, char *err, size_t errlen)
{
    const wk_run_opts *o = x->o;
    const wk_jobspec *spec = x->spec;
    long status = 0;
    if (get_run(o, client, ri, &status, err, errlen) != 0) {
        if (status == 401 && already_reported(dir)) {
            fprintf(stderr,
                    "kivo-worker: review run %s was already reviewed and reported (see "
                    "%s); nothing to send\n",
                    o->review_run_id, dir);
            err[0] = '\0';
            return 0;
        }
        /* No answer, 429 and 5xx: kivo-api may answer later. Any other: its final word. */
        *outcome = status == 0 || status >= 500 || status == 429 ? WK_RUN_PENDING : WK_RUN_REFUSED;
        return 0;
    }
    if (strcmp(ri->workflow_id, spec->workflow_id) != 0 ||
        strcmp(ri->worker_id, spec->worker_id) != 0) {
        snprintf(err, errlen,
                 "review run %s was created for workflow_id \"%s\" and worker_id "
                 "\"%s\", but the job spec says \"%s\" and \"%s\"",
                 o->review_run_id, ri->workflow_id, ri->worker_id, spec->workflow_id,
                 spec->worker_id);
        return -1;
    }
    return 1;
}

/* The hasher, parser, record reader and engine the review uses, made once. */
static kivo_status make_engine(ctx *x)
{
    if (kivo_hasher_create(&x->hasher) != KIVO_OK ||
        kivo_json_parser_create(128, &x->parser) != KIVO_OK ||
        kivo_record_reader_create(&x->spec->fields, &x->reader) != KIVO_OK ||
        kivo_engine_create(&x->engine) != KIVO_OK)
        return KIVO_ENOMEM;
    return KIVO_OK;
}

/* One process per run folder: a second `run` of the same run waits for nothing, it stops. The
 * default folder is reached below the report store without following links; the outbox calls
 * after this open it by its path again. *lock is the folder's descriptor (>= 0 even when locking
 * failed; the caller closes it). @return KIVO_OK, KIVO_EBUSY (another process has it) or
 * KIVO_EIO, with the message in err. */
static kivo_status lock_outbox(const wk_run_opts *o, const wk_jobspec *spec, const char *dir,
                               const char *rrc, int *lock, char *err, size_t errlen)
{
    if (o->outbox_dir) {
        *lock = wk_dir_open(dir, 1);
    } else {
        int root = wk_dir_open(spec->report_path, 1);
        char rel[WK_COMPONENT_MAX + 8];
        size_t bad = 0;
        snprintf(rel, sizeof rel, "runs/%s", rrc);
        *lock = root >= 0 ? wk_dir_walk(root, rel, 1, NULL, &bad) : -1;
        if (*lock < 0 && root >= 0) {
            int e = errno;
            rel[bad] = '\0';
            wk_output_error(err, errlen, "cannot create", spec->report_path, rel, e);
            close(root);
            return KIVO_EIO;
        }
        if (root >= 0)
            close(root);
    }
    if (*lock < 0 || wk_dir_lock(*lock) != 0) {
        if (errno == EWOULDBLOCK) {
            snprintf(err, errlen, "%s is in use by another kivo-worker process", dir);
            return KIVO_EBUSY;
        }
        snprintf(err, errlen, "cannot lock %s: %s", dir, strerror(errno));
        return KIVO_EIO;
    }
    return KIVO_OK;
}

/* The started event: into the outbox first, then sent. @return as send_events(), or KIVO_EIO
 * when the outbox cannot be written. */
static kivo_status send_started(ctx *x, const char *dir, wk_run_outcome *outcome, char *err,
                                size_t errlen)
{
    if (append_event(x->hasher, dir, x->o, x->spec, x->ri, KIVO_EVENT_STARTED, 1, NULL) != 0) {
        snprintf(err, errlen, "cannot write the outbox %s: %s", dir, strerror(errno));
        return KIVO_EIO;
    }
    return send_events(x->o, dir, "started", outcome, err, errlen);
}

/* The run's terminal event: the completed event review() rendered, or a failed one with the
 * failure_code find_and_review() set; into the outbox, then sent. @return as send_started(). */
static kivo_status send_result(ctx *x, const char *dir, wk_run_outcome *outcome, char *err,
                               size_t errlen)
{
    const found *f = x->f;
    int r;
    if (f->state == 1)
        /* The rendered event ends with a newline; the outbox adds its own. */
        r = wk_outbox_append_event(dir, x->event_id, x->event.data, x->event.len - 1);
    else
        r = append_event(x->hasher, dir, x->o, x->spec, x->ri, KIVO_EVENT_FAILED, 2,
                         f->failure_code);
    if (r != 0) {
        snprintf(err, errlen, "cannot write the outbox %s: %s", dir, strerror(errno));
        return KIVO_EIO;
    }
    return send_events(x->o, dir, f->state == 1 ? "completed" : "failed", outcome, err, errlen);
}

/* Says what became of the run once kivo-api has both events: a reviewed record on stderr (and
 * with --json on stdout); a record not found or not reviewable as err, with *outcome
 * WK_RUN_UNREVIEWED. */
static void tell_result(const ctx *x, wk_run_outcome *outcome, char *err, size_t errlen)
{
    const wk_run_opts *o = x->o;
    const run_info *ri = x->ri;
    const found *f = x->f;
    if (f->state != 1) {
        snprintf(err, errlen,
                 "customer run %s of review run %s %s in the job's inputs; the "
                 "failed event (failure_code %s) was accepted",
                 ri->customer_run_id, o->review_run_id,
                 f->state == 0 ? "was not found" : "could not be reviewed", f->failure_code);
        *outcome = WK_RUN_UNREVIEWED;
        return;
    }
    if (o->json) {
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "review_run_id", o->review_run_id,
                      "customer_run_id", ri->customer_run_id, "status",
                      kivo_event_status_name(KIVO_EVENT_COMPLETED), "gate_verdict", f->verdict,
                      "claim_count", (json_int_t)f->claims, "unsupported_claim_count",
                      (json_int_t)f->unsupported, "report", f->report_path);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
    }
    fprintf(stderr,
            "kivo-worker: review run %s (customer run %s): %s, %zu claims, %zu "
            "unsupported; report %s; started and completed events accepted\n",
            o->review_run_id, ri->customer_run_id, f->verdict, f->claims, f->unsupported,
            f->report_path);
}

kivo_status wk_run(const wk_run_opts *o, wk_run_outcome *outcome, char *err, size_t errlen)
{
    wk_jobspec spec;
    wk_client *client = NULL;
    run_info ri = {0};
    found f = {0};
    ctx x = {.o = o, .spec = &spec, .ri = &ri, .f = &f};
    char dir[4600], rrc[WK_COMPONENT_MAX];
    kivo_status rc = KIVO_EINVAL;
    int spec_loaded = 0, lock = -1, r;

    err[0] = '\0';
    *outcome = WK_RUN_REPORTED;
    if (!wk_id_safe(o->review_run_id, strlen(o->review_run_id))) {
        snprintf(err, errlen, "--review-run-id must be 1 to 128 characters of [A-Za-z0-9_.:-]");
        return KIVO_EINVAL;
    }
    if (wk_jobspec_load(o->spec_path, &spec, err, errlen) != 0)
        return KIVO_EINVAL;
    spec_loaded = 1;
    if (o->batch_id && wk_jobspec_set_batch(&spec, o->batch_id, err, errlen) != 0)
        goto out;
    kivo_buf_init(&x.report, 0);
    kivo_buf_init(&x.event, 0);
    outbox_dir(o, &spec, dir, sizeof dir, rrc);
    if (wk_client_create(o->base_url, 1, o->timeout_ms > 0 ? o->timeout_ms : 30000, &client, err,
                         errlen) != 0)
        goto out;
    if ((r = check_run(&x, &ri, client, dir, outcome, err, errlen)) <= 0) {
        rc = r == 0 ? KIVO_OK : KIVO_EINVAL;
        goto out;
    }
    rc = KIVO_EIO;
    if (make_engine(&x) != KIVO_OK) {
        snprintf(err, errlen, "cannot set up the engine");
        goto out;
    }
    if ((rc = lock_outbox(o, &spec, dir, rrc, &lock, err, errlen)) != KIVO_OK)
        goto out;
    if ((rc = send_started(&x, dir, outcome, err, errlen)) != KIVO_OK ||
        *outcome != WK_RUN_REPORTED)
        goto out;
    if ((r = find_and_review(&x, err, errlen)) != 0) {
        rc = r == -2 ? KIVO_EINVAL : KIVO_EIO;
        goto out;
    }
    if ((rc = send_result(&x, dir, outcome, err, errlen)) != KIVO_OK || *outcome != WK_RUN_REPORTED)
        goto out;
    tell_result(&x, outcome, err, errlen);
    rc = KIVO_OK;
out:
    if (lock >= 0)
        close(lock);
    kivo_buf_free(&x.report);
    kivo_buf_free(&x.event);
    kivo_engine_free(x.engine);
    kivo_record_reader_free(x.reader);
    kivo_json_parser_free(x.parser);
    kivo_hasher_free(x.hasher);
    wk_client_free(client);
    if (spec_loaded)
        wk_jobspec_free(&spec);
    return rc;
}
