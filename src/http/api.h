/* The HTTP API (docs/design.md §11) as a dispatcher that runs on the loop thread:
 * method + path + JSON body in, status + JSON out. Served by libmicrohttpd
 * (its own thread, bridged to the loop with uv_async) and reachable over the
 * scheduler's TCP port through the "api" op (tide scale/adapt/...). */
#ifndef TIDE_HTTP_API_H
#define TIDE_HTTP_API_H

#include <jansson.h>
#include <uv.h>

#include "scheduler/scheduler.h"

typedef struct tide_cluster tide_cluster;
typedef struct tide__api tide__api;
typedef struct tide__http tide__http;

/* Create the dispatcher for s and install it as the scheduler's handler of
 * the TCP "api" op (tide__sched_set_api). */
int tide__api_create(tide__sched *s, tide__api **out);
/* Attach the cluster (NULL for a bare `tide scheduler`): cluster routes then
 * work; without one they answer 400 {"error": "no cluster manager"}. */
void tide__api_set_cluster(tide__api *a, tide_cluster *c);
/* Free (NULL ok). Does not touch the scheduler, which may be gone already;
 * the HTTP server using it must be stopped first. */
void tide__api_destroy(tide__api *a);
/* Dispatch one request (loop thread). reply is called exactly once. */
void tide__api_dispatch(tide__api *a, const char *method, const char *path, const char *body,
                        size_t len, tide__api_reply_fn reply, void *rctx);

/* Serve the API and the dashboard page on host:port (0 picks) from
 * libmicrohttpd's threads; requests are answered on loop's thread. Call on
 * the loop thread. A port in use fails with an error naming it. */
int tide__http_start(tide__api *a, uv_loop_t *loop, const char *host, int port, tide__http **out,
                     tide_error *err);
int tide__http_port(const tide__http *h);
/* How long a request waits for the loop before answering 503 (default 30 s;
 * <= 0 restores it). For tests and embedders with slow handlers. */
void tide__http_set_timeout(tide__http *h, double seconds);
/* Stops the server thread (blocks until it ends) and frees. NULL ok. */
void tide__http_stop(tide__http *h);

#endif
