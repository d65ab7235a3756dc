/*
 * headwatch.h - a deadline for a complete request head, and uploads their client abandoned.
 *
 * libmicrohttpd's connection timeout is an idle timeout: every byte restarts it, so a client that
 * sends one header line every 20 s holds its connection, and 4,096 such clients hold them all.
 * Here each connection is timed from the moment it waits for a request (accepted, or its previous
 * answer sent) until its request head is complete; past the deadline a watchdog thread shuts the
 * socket down and libmicrohttpd closes the connection on its own thread. Bodies, the work of a
 * request and the answer are not timed here (the idle timeout still covers a stalled body).
 *
 * The same watchdog closes an upload whose client closed its connection before the body was
 * complete. libmicrohttpd (0.9.75, edge-triggered epoll) misses that end of file when it arrives
 * right behind body bytes it has not read yet: it reads the bytes and never the end of file (the
 * socket stays in CLOSE-WAIT with nothing unread, and no new event comes). The request's state (its body budget, its hosted-review slot, the
 * count of requests in flight that shutdown waits for) would then stay held until the 60 s idle
 * timeout. The watchdog sees it level-triggered (poll, POLLRDHUP, nothing left unread) and shuts
 * the socket down, which libmicrohttpd does notice.
 *
 * The watchdog only ever shutdown()s a descriptor under the list lock, and a connection leaves the
 * list in libmicrohttpd's "closed" notification, which comes before it closes the descriptor: a
 * descriptor number is never touched after it could have been reused.
 */
#ifndef KIVO_API_HEADWATCH_H
#define KIVO_API_HEADWATCH_H

#include <stdint.h>

#include <microhttpd.h>

/* Starts the watchdog with a head deadline of `seconds` (0: no deadline; abandoned uploads are
 * still closed). @return 0, or -1 when the thread cannot start. */
int api_headwatch_start(unsigned seconds);

/* Stops and joins the watchdog. Safe when it never started. */
void api_headwatch_stop(void);

/* The MHD_OPTION_NOTIFY_CONNECTION callback: tracks connections from start to close. */
void api_headwatch_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* The request head of c is complete (the first access-handler call of a request). */
void api_headwatch_head_done(struct MHD_Connection *c);

/* The request on c is receiving its body (receiving 1) or has all of it (0). Between the two, c
 * is shut down once its client closed the connection and every byte it sent was read. */
void api_headwatch_body(struct MHD_Connection *c, int receiving);

/* The request on c is finished: the connection waits for its next request head from now. */
void api_headwatch_request_done(struct MHD_Connection *c);

/* How many connections the deadline closed since start. */
uint64_t api_headwatch_closed(void);

#endif
