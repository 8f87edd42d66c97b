/* The scheduler: task and worker state, placement, duration learning,
 * adaptive_target, workers_to_close and retirement, serving workers and
 * clients over src/net. Single-threaded: every function here runs on the
 * loop thread. This header is what other modules (http, cluster, adaptive,
 * cmd) use; the state machine's internals stay in this directory. */
#ifndef TIDE_SCHEDULER_SCHEDULER_H
#define TIDE_SCHEDULER_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "proto/auth.h"
#include "proto/resources.h"
#include "net/tls.h"
#include "scheduler/policy.h"
#include "tide/error.h"

typedef struct tide__sched tide__sched;

/* Task states (docs/design.md §2). */
typedef enum tide__tstate {
  TIDE_TS_WAITING = 0,
  TIDE_TS_QUEUED,
  TIDE_TS_NO_WORKER,
  TIDE_TS_PROCESSING,
  TIDE_TS_MEMORY,
  TIDE_TS_ERRED,
  TIDE_TS_RELEASED,
  TIDE_TS__COUNT
} tide__tstate;
const char *tide__tstate_name(tide__tstate s);

/* Create a scheduler on loop with a copy of cfg. Does not listen yet. */
int tide__sched_create(uv_loop_t *loop, const tide__config *cfg, tide__sched **out,
                       tide_error *err);
/* Listen for workers and clients (port 0 picks one). */
int tide__sched_listen(tide__sched *s, const char *host, int port, tide_error *err);
/* Log "listening at ADDRESS", once every port of the process is bound (so
 * a later bind error stays the only line the user sees). */
void tide__sched_announce(tide__sched *s);
/* "tcp://host:port" once listening; the scheduler's id; start epoch. */
const char *tide__sched_address(const tide__sched *s);
/* After listen: the address clients and workers are told to dial (the
 * scheduler file, identity, jobs), when it is not the bound one: a
 * wildcard bind or a --contact-address (tide__contact_address). */
int tide__sched_set_contact(tide__sched *s, const char *contact, tide_error *err);
const char *tide__sched_id(const tide__sched *s);
double tide__sched_started(const tide__sched *s);
/* The token of auth.token-file (loaded at create), or NULL when
 * authentication is off. Immutable: any thread may read it. */
const tide__auth *tide__sched_auth(const tide__sched *s);
/* Set the dashboard URL told to clients in the hello (may be NULL). */
void tide__sched_set_dashboard(tide__sched *s, const char *url);
/* Stop listening, tell every worker to close if close_workers, close all
 * connections. Non-blocking; handles finish closing on later loop turns. */
void tide__sched_close(tide__sched *s, bool close_workers);
/* Free after close once the loop has run the close callbacks. NULL ok. */
void tide__sched_destroy(tide__sched *s);
const tide__config *tide__sched_config(const tide__sched *s);

/* Events for observers (cluster manager, adaptive controller). */
typedef enum tide__sched_event {
  TIDE_SEV_WORKER_ADDED,   /* name: the worker's name */
  TIDE_SEV_WORKER_REMOVED, /* name: the worker's name; expected=retired/closed */
  TIDE_SEV_NEW_WORK,       /* tasks became ready; name NULL (reactive scale-up) */
  TIDE_SEV_RETIRE_REQUEST, /* a worker asked to retire (lifetime); name */
} tide__sched_event;
typedef void (*tide__sched_event_fn)(tide__sched *s, tide__sched_event ev, const char *name,
                                     bool expected, void *arg);
/* Register an observer (at most 8). */
void tide__sched_observe(tide__sched *s, tide__sched_event_fn fn, void *arg);

/* Snapshot of the workers: *out points to an array owned by the scheduler,
 * valid until control returns to the loop. Returns the count. */
size_t tide__sched_workers(tide__sched *s, const tide__sw_view **out);

/* Task counts by state (indexes of tide__tstate). */
void tide__sched_task_counts(const tide__sched *s, uint64_t counts[TIDE_TS__COUNT]);

/* Per-prefix learned durations (docs/design.md §4) as JSON:
 * {PREFIX: {"duration_average": S|null, "count": N, "states": {STATE: N}}}.
 * Caller owns the result. */
json_t *tide__sched_prefixes_json(const tide__sched *s);

/* The tasks of one prefix (a `tide submit` job's "tide-submit-JOB") as a
 * JSON array of {"key", "state", "worker": the name of the worker running
 * it, holding its result or it erred on (null: none), "duration": seconds
 * of its last run that finished or erred (null: none yet), "error" (null,
 * or the last run's error while it waits for a retry), "retries": left,
 * "args": its arguments as JSON}; [] for an unknown prefix. Caller owns it. */
json_t *tide__sched_prefix_tasks_json(const tide__sched *s, const char *prefix);

/* Recent task stream entries (bounded ring, newest last) as JSON array of
 * {"key", "prefix", "worker", "thread", "start", "stop"}; entries with stop
 * > since only. Caller owns the result. */
json_t *tide__sched_task_stream_json(const tide__sched *s, double since);
/* The same array as JSON text (times with microsecond precision), built
 * without JSON objects: a full ring costs the loop about a tenth. *len is
 * its length; caller frees. */
char *tide__sched_task_stream_text(const tide__sched *s, double since, size_t *len);

/* Counters for metrics. */
typedef struct tide__sched_counters {
  uint64_t tasks_completed;
  uint64_t tasks_erred;
  uint64_t recomputed;    /* tide_recomputed_tasks_total */
  uint64_t retired;       /* workers retired gracefully */
  uint64_t retire_failed; /* retirements undone (not_retired) */
  uint64_t workers_removed_unexpected;
  uint64_t bytes_transferred; /* replicas moved for retirement */
  /* frames between the scheduler and its workers, each way, workers gone
   * included: divided by tasks_completed, the frames a task costs */
  uint64_t worker_frames_sent;
  uint64_t worker_frames_received;
} tide__sched_counters;
void tide__sched_counters_get(const tide__sched *s, tide__sched_counters *out);

/* adaptive_target(target_duration) (docs/design.md §5). Fills in (may be NULL) with the
 * inputs and parts behind the answer. */
int tide__sched_adaptive_target(tide__sched *s, double target_duration, tide__target_inputs *in);

/* workers_to_close (docs/design.md §6): names of the chosen workers, as a malloc'd array of
 * malloc'd strings (caller frees each and the array). Returns the count;
 * names NULL: only the count. */
size_t tide__sched_workers_to_close(tide__sched *s, const tide__close_opts *o, char ***names);

/* Adaptive pools (docs/adaptive.md "Pools"): the resources each pool's
 * workers provide, so that a task asking for resources no pool provides is
 * refused at submission (n = 0: no pools; then connected workers decide).
 * Copied. */
void tide__sched_set_pools(tide__sched *s, const tide__res *res, size_t n);

/* Queued work by resource set: one entry per set with queued tasks (res.n
 * == 0 for tasks without resources), with its count and expected seconds
 * (sampled and scaled as in adaptive_target). *out malloc'd. */
typedef struct tide__demand {
  tide__res res;
  size_t nqueued;
  double queued_occupancy;
} tide__demand;
size_t tide__sched_demand(tide__sched *s, tide__demand **out);

/* retire_workers(names) (docs/design.md §6): runs asynchronously; cb gets the outcome once
 * every named worker is retired (removed, told to close) or put back
 * running with a reason. Unknown names are reported in not_retired at
 * once. If this returns an error, cb never runs. */
typedef struct tide__retire_result {
  char **retired; /* names */
  size_t nretired;
  char **not_retired; /* names */
  char **reasons;     /* parallel to not_retired */
  size_t nnot_retired;
} tide__retire_result;
typedef void (*tide__retire_fn)(tide__sched *s, const tide__retire_result *r, void *arg);
int tide__sched_retire_workers(tide__sched *s, char *const *names, size_t n, tide__retire_fn cb,
                               void *arg, tide_error *err);

/* Recent log lines of a worker, fetched over the wire: cb gets a JSON
 * object {NAME: [LINE]} for every connected worker (or after timeout s). */
typedef void (*tide__logs_fn)(tide__sched *s, json_t *workers_logs, void *arg);
void tide__sched_worker_logs(tide__sched *s, double timeout, tide__logs_fn cb, void *arg);

/* Requests arriving as the TCP op "api" (tide scale/adapt/retire/status)
 * are handed to this function, which must eventually call reply exactly
 * once. The HTTP module installs its dispatcher here. */
typedef void (*tide__api_reply_fn)(void *rctx, int http_status, json_t *body /* stolen */);
typedef void (*tide__api_fn)(void *arg, const char *method, const char *path, const char *body,
                             size_t len, tide__api_reply_fn reply, void *rctx);
void tide__sched_set_api(tide__sched *s, tide__api_fn fn, void *arg);

/* Write the scheduler file (docs/design.md §10) atomically: temp file + rename;
 * with auth, the token goes in as "token" and the file is made 0600 before
 * it appears (docs/security.md). tls (may be NULL) adds {"tls": {"ca-file",
 * "cert", "key"}}: the paths a client of a TLS cluster connects with.
 * Returns 0 or a negative errno with err naming the file. */
int tide__schedfile_write(const char *path, const char *address, const char *dashboard,
                          const char *id, const tide__auth *auth, const tide__tls_files *tls,
                          tide_error *err);
/* Remove the scheduler file (NULL or "" ok). */
void tide__schedfile_remove(const char *path);

#endif
