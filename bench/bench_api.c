/*
 * bench_api.c - kivo-api throughput: concurrent keep-alive clients, each doing create + completed
 * event pairs (the whole life of a private-worker run), printing pairs/s and p50/p99 latency.
 *
 * How to run (from the repository root, after scripts/build.sh):
 *
 *   build/bench/bench_api                     # starts build/kivo-api itself on a free 127.0.0.1
 *                                             # port with a temporary database and a fresh key
 *   build/bench/bench_api --clients 16 --seconds 5 --reps 5
 *   build/bench/bench_api --url http://127.0.0.1:8787 --key kivo_sk_...   # a running server;
 *                                             # start it with --rate-limit 0 or the per-key limit
 *                                             # (default 1000 requests/s) is what you measure
 *   build/bench/bench_api --url URL_A --url URL_B --key ...   # several servers on one database
 *                                             # (up to 8): client i uses URL number i % count
 *
 * Options: --clients N (8), --seconds S per repetition (3), --reps R (3), --warmup S (1),
 * --bin PATH (kivo-api to start; default: ../kivo-api next to this program), --threads N (server
 * threads when started here; default its own). One warm-up run is dropped; each repetition prints
 * its figures and the last line gives the median repetition (by pairs/s), as STYLE.md asks.
 * Latency is per pair, from sending the create to receiving the event's 202.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "benchlib.h"
#include "kivo/buf.h"
#include "kivo/json.h"

typedef struct client {
    pthread_t thread;
    int index;
    CURL *curl;
    kivo_json_parser *parser;
    kivo_buf resp;
    double *lat; /* per-pair latencies of the current repetition, seconds */
    size_t n_lat, cap_lat;
    uint64_t serial;
    int failed;
} client;

static const char *base_url; /* the first --url (or the server started here) */
static const char *urls[8];  /* every --url: client i talks to urls[i % n_urls] */
static int n_urls;
static char api_key[128];
static atomic_int phase_stop;
static pthread_barrier_t start_barrier, end_barrier;
static int n_clients = 8;
static double seconds = 3, warmup = 1;
static int reps = 3;
static unsigned run_id_seed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
    kivo_buf *b = cls;
    return kivo_buf_append(b, data, size * n) == KIVO_OK ? size * n : 0;
}

/* POSTs body with the bearer token; returns the HTTP status (0 on transport failure). */
static long post(client *c, const char *url, const char *token, const char *body)
{
    struct curl_slist *h = NULL;
    char auth[200];
    long status = 0;

    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    kivo_buf_reset(&c->resp);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c->curl) == CURLE_OK)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

static const char *hash_of(char out[72], uint64_t a, uint64_t b)
{
    snprintf(out, 72, "sha256:%016llx%016llx%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b, (unsigned long long)(a * 31 + b), 0x6b69766fULL);
    return out;
}

/* One create + completed event. @return 0 or -1. */
static int one_pair(client *c)
{
    char customer[96], url[512], src[72], out[72], rep[72];
    const kivo_json_node *root = NULL, *rid, *cred;
    char run_id[64], credential[128];
    json_t *body;
    char *text;
    long st;
    int ret = -1;

    snprintf(customer, sizeof customer, "bench_%08x_%d_%llu", run_id_seed, c->index,
             (unsigned long long)c->serial++);
    hash_of(src, c->serial, (uint64_t)c->index);
    hash_of(out, (uint64_t)c->index, c->serial);
    body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:[s], s:s, s:s, s:s}", "schema_version",
                     "kivo_private_worker_review_run_create.v1", "customer_run_id", customer,
                     "workflow_id", "bench_flow", "worker_id", "bench_worker", "worker_version",
                     "bench.1", "source_count", 1, "source_hashes", src, "output_hash", out,
                     "intended_use", "internal", "strictness", "standard");
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        goto out;
    snprintf(url, sizeof url, "%s/v1/private-worker/review-runs", urls[c->index % n_urls]);
    st = post(c, url, api_key, text);
    free(text);
    if (st != 201 || kivo_buf_reserve(&c->resp, KIVO_JSON_PADDING) != KIVO_OK ||
        kivo_json_parse(c->parser, c->resp.data, c->resp.len, c->resp.cap, 0, &root) != KIVO_OK)
        goto out;
    rid = kivo_json_get(root, "review_run_id");
    cred = kivo_json_get(root, "worker_credential");
    if (!rid || !cred || rid->len >= sizeof run_id || cred->len >= sizeof credential)
        goto out;
    memcpy(run_id, rid->str, rid->len);
    run_id[rid->len] = '\0';
    memcpy(credential, cred->str, cred->len);
    credential[cred->len] = '\0';

    body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:i,"
                     " s:[s], s:s, s:[], s:[{s:s, s:s, s:s, s:s, s:i}]}",
                     "schema_version", "kivo_private_worker_review_run_event.v1", "event_id",
                     "evt_completed", "event_type", "completed", "review_run_id", run_id,
                     "customer_run_id", customer, "worker_id", "bench_worker", "worker_version",
                     "bench.1", "sequence", 1, "status", "completed", "gate_verdict", "pass",
                     "safe_use_status", "pass", "claim_count", 12, "unsupported_claim_count", 0,
                     "source_count", 1, "source_hashes", src, "output_hash", out,
                     "redacted_failure_categories", "artifact_summaries", "artifact_name",
                     "claim_report", "artifact_type", "claim_report", "format", "json", "sha256",
                     hash_of(rep, 7, c->serial), "file_count", 1);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        goto out;
    snprintf(url, sizeof url, "%s/v1/private-worker/review-runs/%s/events", urls[c->index % n_urls],
             run_id);
    st = post(c, url, credential, text);
    free(text);
    if (st != 202)
        goto out;
    ret = 0;
out:
    return ret;
}

static void *client_main(void *arg)
{
    client *c = arg;

    for (int r = 0; r <= reps; r++) { /* repetition 0 is the warm-up */
        pthread_barrier_wait(&start_barrier);
        c->n_lat = 0;
        while (!atomic_load(&phase_stop) && !c->failed) {
            double t0 = now_s();
            if (one_pair(c) != 0) {
                fprintf(stderr, "bench_api: client %d: a pair failed (status or body): %.200s\n",
                        c->index, c->resp.data ? c->resp.data : "");
                c->failed = 1;
                break;
            }
            if (c->n_lat == c->cap_lat) {
                size_t cap = c->cap_lat ? 2 * c->cap_lat : 4096;
                double *p = realloc(c->lat, cap * sizeof *p);
                if (!p) {
                    c->failed = 1;
                    break;
                }
                c->lat = p;
                c->cap_lat = cap;
            }
            c->lat[c->n_lat++] = now_s() - t0;
        }
        pthread_barrier_wait(&end_barrier);
    }
    return NULL;
}

/* ---- starting a server of our own ----------------------------------------------------------- */

static pid_t server_pid = -1;

static int free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* 1 when the file at path holds needle (the server's log is a few lines). */
static int file_has(const char *path, const char *needle)
{
    char text[16384];
    size_t n = 0;
    FILE *f = fopen(path, "r");

    if (f) {
        n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    return strstr(text, needle) != NULL;
}

/* 1 when GET url/healthz answers 200. */
static int healthy(const char *url)
{
    char health[256];
    long st = 0;
    CURL *c;

    if (snprintf(health, sizeof health, "%s/healthz", url) >= (int)sizeof health)
        return 0;
    c = curl_easy_init();
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, health);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    return st == 200;
}

/* Starts bin on a free port with its stderr in dir/server.log. free_port() only finds a port that
 * was free a moment ago: another program can take it before the server binds it. Then the server
 * exits saying the port is in use and is started again on a new one (five tries). It is up once
 * its own log says it listens on the port and /healthz answers (an answer alone could come from
 * another kivo-api on that port). */
static int start_server(const char *bin, const char *dir, const char *threads, char *url_out,
                        size_t url_size)
{
    char cmd[4096], db[1200], log[1200], listen_arg[64], listening[96];
    FILE *p;
    int status;

    if (snprintf(db, sizeof db, "%s/bench.db", dir) >= (int)sizeof db ||
        snprintf(log, sizeof log, "%s/server.log", dir) >= (int)sizeof log)
        return -1;
    if (snprintf(cmd, sizeof cmd,
                 "'%s' keys create --create --db '%s' --project bench --scopes "
                 "private_worker:write,private_worker:read 2>/dev/null",
                 bin, db) >= (int)sizeof cmd)
        return -1;
    p = popen(cmd, "r");
    if (!p || !fgets(api_key, sizeof api_key, p)) {
        if (p)
            pclose(p);
        fprintf(stderr, "bench_api: cannot create a key with %s\n", bin);
        return -1;
    }
    pclose(p);
    api_key[strcspn(api_key, "\n")] = '\0';
    for (int attempt = 1; attempt <= 5; attempt++) {
        int port = free_port(), exited = 0;

        snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", port);
        snprintf(listening, sizeof listening, "listening on 127.0.0.1:%d ", port);
        snprintf(url_out, url_size, "http://127.0.0.1:%d", port);
        server_pid = fork();
        if (server_pid < 0)
            return -1;
        if (server_pid == 0) {
            if (!freopen(log, "w", stderr))
                _exit(127);
            if (threads)
                execl(bin, bin, "serve", "--db", db, "--listen", listen_arg, "--rate-limit", "0",
                      "--quiet", "--threads", threads, (char *)NULL);
            else
                execl(bin, bin, "serve", "--db", db, "--listen", listen_arg, "--rate-limit", "0",
                      "--quiet", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 1200; i++) {
            if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
                exited = 1;
                server_pid = -1;
                break;
            }
            if (file_has(log, listening) && healthy(url_out))
                return 0;
            usleep(50000);
        }
        if (exited && file_has(log, "is already in use")) {
            fprintf(stderr, "bench_api: port %d was taken before kivo-api bound it (try %d)\n",
                    port, attempt);
            continue;
        }
        break;
    }
    fprintf(stderr, "bench_api: the server did not come up; its log %s:\n", log);
    p = fopen(log, "r");
    if (p) {
        char line[1024];
        while (fgets(line, sizeof line, p))
            fputs(line, stderr);
        fclose(p);
    }
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, &status, 0);
        server_pid = -1;
    }
    return -1;
}

static void stop_server(void)
{
    int status;

    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, &status, 0);
        server_pid = -1;
    }
}

int main(int argc, char **argv)
{
    const char *bin = NULL, *key = NULL, *threads = NULL;
    char url_buf[128], dir[] = "/tmp/kivo-bench-api-XXXXXX", self[1024], binbuf[1100];
    client *clients = NULL;
    double *all = NULL, *pairs_per_s = NULL;
    int code = 1;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--url") == 0 && v && n_urls < 8)
            base_url = urls[n_urls++] = argv[++i];
        else if (strcmp(argv[i], "--key") == 0 && v)
            key = argv[++i];
        else if (strcmp(argv[i], "--bin") == 0 && v)
            bin = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && v)
            threads = argv[++i];
        else if (strcmp(argv[i], "--clients") == 0 && v)
            n_clients = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && v)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && v)
            warmup = atof(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && v)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_api [--url URL --key KEY | --bin PATH [--threads N]] "
                            "[--clients N] [--seconds S] [--reps R] [--warmup S]\n");
            return 2;
        }
    }
    if (n_clients < 1 || reps < 1 || seconds <= 0) {
        fprintf(stderr, "bench_api: --clients, --reps and --seconds must be positive\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run_id_seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if (base_url) {
        if (!key) {
            fprintf(stderr, "bench_api: --url needs --key\n");
            goto out;
        }
        snprintf(api_key, sizeof api_key, "%s", key);
    } else {
        if (!bin) {
            ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
            self[n > 0 ? n : 0] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            snprintf(binbuf, sizeof binbuf, "%s/../kivo-api", self);
            bin = binbuf;
        }
        if (!mkdtemp(dir) || start_server(bin, dir, threads, url_buf, sizeof url_buf) != 0)
            goto out;
        base_url = urls[n_urls++] = url_buf;
    }

    clients = calloc((size_t)n_clients, sizeof *clients);
    pairs_per_s = calloc((size_t)reps, sizeof *pairs_per_s);
    if (!clients || !pairs_per_s)
        goto out;
    pthread_barrier_init(&start_barrier, NULL, (unsigned)n_clients + 1);
    pthread_barrier_init(&end_barrier, NULL, (unsigned)n_clients + 1);
    for (int i = 0; i < n_clients; i++) {
        client *c = &clients[i];
        c->index = i;
        c->curl = curl_easy_init();
        kivo_buf_init(&c->resp, 1 << 20);
        if (!c->curl || kivo_json_parser_create(16, &c->parser) != KIVO_OK)
            goto out;
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->resp);
        curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    }
    for (int i = 0; i < n_clients; i++)
        pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
    printf("bench_api: %s%s, %d keep-alive clients, %d x %.1f s (after %.1f s warm-up)\n", base_url,
           n_urls > 1 ? " and more servers" : "", n_clients, reps, seconds, warmup);
    code = 0;
    for (int r = 0; r <= reps; r++) {
        double t0, el;
        size_t n = 0;
        atomic_store(&phase_stop, 0);
        pthread_barrier_wait(&start_barrier);
        t0 = now_s();
        usleep((useconds_t)((r == 0 ? warmup : seconds) * 1e6));
        atomic_store(&phase_stop, 1);
        pthread_barrier_wait(&end_barrier);
        el = now_s() - t0;
        for (int i = 0; i < n_clients; i++) {
            n += clients[i].n_lat;
            code |= clients[i].failed;
        }
        if (r == 0)
            continue;
        free(all);
        all = malloc((n ? n : 1) * sizeof *all);
        if (!all) {
            code = 1;
            break;
        }
        n = 0;
        for (int i = 0; i < n_clients; i++) {
            memcpy(all + n, clients[i].lat, clients[i].n_lat * sizeof *all);
            n += clients[i].n_lat;
        }
        qsort(all, n, sizeof *all, bench_cmp_double);
        pairs_per_s[r - 1] = (double)n / el;
        printf("rep %d: %zu pairs in %.2f s = %.0f pairs/s (%.0f requests/s); pair latency "
               "p50 %.2f ms, p99 %.2f ms\n",
               r, n, el, (double)n / el, 2.0 * (double)n / el, n ? all[n / 2] * 1e3 : 0,
               n ? all[(size_t)((double)n * 0.99)] * 1e3 : 0);
        fflush(stdout);
    }
    if (code == 0) {
        double sorted[64];
        int k = reps < 64 ? reps : 64;
        memcpy(sorted, pairs_per_s, (size_t)k * sizeof *sorted);
        qsort(sorted, (size_t)k, sizeof *sorted, bench_cmp_double);
        printf("median: %.0f pairs/s over %d repetitions\n", sorted[k / 2], k);
    }
    for (int i = 0; i < n_clients; i++)
        pthread_join(clients[i].thread, NULL);
out:
    if (clients) {
        for (int i = 0; i < n_clients; i++) {
            curl_easy_cleanup(clients[i].curl);
            kivo_json_parser_free(clients[i].parser);
            kivo_buf_free(&clients[i].resp);
            free(clients[i].lat);
        }
    }
    free(clients);
    free(all);
    free(pairs_per_s);
    stop_server();
    if (!base_url || base_url == url_buf) {
        char db[600];
        snprintf(db, sizeof db, "%s/bench.db", dir);
        unlink(db);
        snprintf(db, sizeof db, "%s/bench.db-wal", dir);
        unlink(db);
        snprintf(db, sizeof db, "%s/bench.db-shm", dir);
        unlink(db);
        snprintf(db, sizeof db, "%s/server.log", dir);
        unlink(db);
        rmdir(dir);
    }
    curl_global_cleanup();
    return code;
}
