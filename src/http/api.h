/* The HTTP API (docs/design.md §11) as a dispatcher that runs on the loop thread:
 * method + path + JSON body in, status + JSON out. Served by libmicrohttpd
 * (its own thread, bridged to the loop with uv_async) and reachable over the
 * scheduler's TCP port through the "api" op (tide scale/adapt/...). */
#ifndef TIDE_HTTP_API_H
#define TIDE_HTTP_API_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "scheduler/scheduler.h"
#include "tide/adaptive.h"

typedef struct tide__api tide__api;
typedef struct tide__http tide__http;

/* Figures of what manages the workers, for /metrics. */
typedef struct tide__api_figures {
  int requested;        /* workers asked for, arrived or not */
  int target;           /* last adaptive target (clipped), -1 none */
  uint64_t submissions; /* successful scale_up calls (jobs) */
  uint64_t submit_failures;
  uint64_t jobs_stopped;
  uint64_t replaced; /* workers replaced after dying / lifetime */
  uint64_t capped;   /* scale-ups capped by arrival (docs/design.md §7) */
  /* what the resource manager was asked for: each job's workers times its
   * time from submission until it was gone (live jobs: until now) */
  double rm_worker_seconds;
  /* {KEY: {"seconds", "samples", "last"}}: startup latency learned per
   * backend or pool, NULL none; the caller of figures() releases it. */
  json_t *startup;
} tide__api_figures;

/* What the API serves besides the scheduler's own views: the one interface
 * between src/http and a cluster manager, so that http knows no cluster
 * type. The Cluster core fills it in; a bare `tide scheduler` has none.
 * Every member is called on the loop thread with the self given to
 * tide__api_create, returns without blocking, and may be NULL: the route
 * then answers as without a cluster manager (400 "no cluster manager" for
 * adapt and scale, the config's values for adaptive state, the scheduler
 * itself for retire_workers). Arguments are borrowed for the call. */
typedef struct tide__api_ops {
  /* GET /api/v1/adaptive: state, options, plan / requested / observed,
   * decision log. Returns a new reference the caller owns. */
  json_t *(*adaptive_json)(void *self);
  /* The adaptive target_duration in force (seconds, > 0). Called on each
   * /metrics and adaptive_target request, so it must be cheap. */
  double (*target_duration)(void *self);
  /* GET /api/v1/cluster. Returns a new reference the caller owns. */
  json_t *(*info_json)(void *self);
  /* POST /api/v1/adapt: start adapting, or change the options of a running
   * controller (o->worker_key lives only for the call). Rounds run later
   * on the loop. Returns 0 or a negative code with err filled. */
  int (*adapt)(void *self, const tide_adapt_opts *o, tide_error *err);
  /* POST /api/v1/adapt {"stop": true}: stop adapting (no-op when idle). */
  void (*adapt_stop)(void *self);
  /* POST /api/v1/scale: a fixed size of n workers, of the pool named pool
   * (NULL: none named; docs/adaptive.md "Pools"). Returns 0 or a negative
   * code with err filled (TIDE_ENOTFOUND: no such pool). */
  int (*scale)(void *self, const char *pool, int n, tide_error *err);
  /* POST /api/v1/retire_workers: retire names (§4), then stop the jobs left
   * empty. On 0, cb is called exactly once later, with the scheduler's
   * result; on a negative code it is never called and err is filled. */
  int (*retire)(void *self, char *const *names, size_t n, tide__retire_fn cb, void *arg,
                tide_error *err);
  /* GET /api/v1/logs: set out["cluster"] to the manager's lines and merge
   * job output into the object out["workers"]. out stays the caller's. */
  void (*logs_json)(void *self, json_t *out);
  /* /metrics and scale's answer: fill *f (preset with zeros, target -1). */
  void (*figures)(void *self, tide__api_figures *f);
} tide__api_ops;

/* Create the dispatcher for s and install it as the scheduler's handler of
 * the TCP "api" op (tide__sched_set_api). ops (NULL for a bare scheduler)
 * and self must outlive the dispatcher. */
int tide__api_create(tide__sched *s, const tide__api_ops *ops, void *self, tide__api **out);
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
/* Extra host names the dashboard answers to (comma-separated, the config's
 * dashboard.hosts): a Host or Origin naming anything else than these, the
 * bound host, the machine's name, localhost or an IP address is refused. */
void tide__http_set_hosts(tide__http *h, const char *names);
/* Stops the server thread (blocks until it ends) and frees. NULL ok. */
void tide__http_stop(tide__http *h);

#endif
