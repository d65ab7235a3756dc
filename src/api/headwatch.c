/*
 * headwatch.c - the request-head deadline and the abandoned-upload check (headwatch.h): one list
 * of the open connections, one watchdog thread that scans it four times a second.
 *
 * The list holds at most the connection limit (4,096 by default), so a scan is a few microseconds;
 * the lock is taken once when a connection opens and closes and twice per request.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "headwatch.h"
#include "timefmt.h"

#define SCAN_NS 250000000ull
#define LOG_EVERY_NS 10000000000ull

typedef struct watch_entry {
    struct watch_entry *prev, *next;
    MHD_socket fd;
    uint64_t since_ns; /* when the connection began to wait for a request head */
    int waiting;       /* no complete head since then */
    int body;          /* the request's body is still being received */
    int gone_scans;    /* scans in a row that found the body's sender gone */
    int shut;          /* the watchdog shut it down already */
} watch_entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static watch_entry *head;
static uint64_t deadline_ns;
static int stopping, running;
static pthread_t thread;
static _Atomic uint64_t closed_total;

static watch_entry *entry_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info ? info->socket_context : NULL;
}

void api_headwatch_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    watch_entry *w = *socket_context;

    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info;
        if (!(w = calloc(1, sizeof *w)))
            return;
        info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info) {
            free(w);
            return;
        }
        w->fd = info->connect_fd;
        w->since_ns = api_mono_ns();
        w->waiting = 1;
        pthread_mutex_lock(&lock);
        w->next = head;
        if (head)
            head->prev = w;
        head = w;
        pthread_mutex_unlock(&lock);
        *socket_context = w;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && w) {
        pthread_mutex_lock(&lock);
        if (w->prev)
            w->prev->next = w->next;
        else
            head = w->next;
        if (w->next)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&lock);
        free(w);
        *socket_context = NULL;
    }
}

static void set_waiting(struct MHD_Connection *c, int waiting)
{
    watch_entry *w = entry_of(c);

    if (!w)
        return;
    pthread_mutex_lock(&lock);
    w->waiting = waiting;
    w->since_ns = api_mono_ns();
    w->body = 0;
    pthread_mutex_unlock(&lock);
}

void api_headwatch_body(struct MHD_Connection *c, int receiving)
{
    watch_entry *w = entry_of(c);

    if (!w)
        return;
    pthread_mutex_lock(&lock);
    w->body = receiving;
    w->gone_scans = 0;
    pthread_mutex_unlock(&lock);
}

void api_headwatch_head_done(struct MHD_Connection *c)
{
    set_waiting(c, 0);
}

void api_headwatch_request_done(struct MHD_Connection *c)
{
    set_waiting(c, 1);
}

uint64_t api_headwatch_closed(void)
{
    return atomic_load(&closed_total);
}

/* The peer of fd shut its side down (end of file or reset) and every byte it sent has been read
 * from the socket: nothing more will come. Level-triggered, unlike libmicrohttpd's epoll. */
static int sender_gone(MHD_socket fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    int unread = 0;

    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) &&
           ioctl(fd, FIONREAD, &unread) == 0 && unread == 0;
}

static void *watchdog(void *arg)
{
    uint64_t logged = 0, last_log_ns = 0;

    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec until;
        uint64_t now = api_mono_ns(), n = 0;

        for (watch_entry *w = head; w; w = w->next) {
            if (w->shut)
                continue;
            if (deadline_ns && w->waiting && now - w->since_ns > deadline_ns) {
                /* libmicrohttpd reads end-of-file and closes the connection itself. */
                shutdown(w->fd, SHUT_RDWR);
                w->shut = 1;
                n++;
            } else if (w->body && !sender_gone(w->fd)) {
                w->gone_scans = 0;
            } else if (w->body && ++w->gone_scans >= 2) {
                /* Two scans apart, so a body whose last bytes libmicrohttpd has read but not yet
                 * handed over is not taken for an abandoned one. */
                shutdown(w->fd, SHUT_RDWR);
                w->shut = 1;
            }
        }
        if (n)
            atomic_fetch_add(&closed_total, n);
        if (atomic_load(&closed_total) != logged && now - last_log_ns >= LOG_EVERY_NS) {
            api_log_event("warn",
                          "closed %llu connection(s) that sent no complete request head "
                          "within %llu s (%llu in all)",
                          (unsigned long long)(atomic_load(&closed_total) - logged),
                          (unsigned long long)(deadline_ns / 1000000000ull),
                          (unsigned long long)atomic_load(&closed_total));
            logged = atomic_load(&closed_total);
            last_log_ns = now;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)SCAN_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wake, &lock, &until);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int api_headwatch_start(unsigned seconds)
{
    deadline_ns = (uint64_t)seconds * 1000000000ull;
    stopping = 0;
    if (pthread_create(&thread, NULL, watchdog, NULL) != 0)
        return -1;
    running = 1;
    return 0;
}

void api_headwatch_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = 0;
}
