/* Pure decision logic of the scheduler used by adaptive deployments:
 * the adaptive_target formula (docs/design.md §5) and workers_to_close (docs/design.md §6).
 * No clock, no sockets: inputs in, decisions out, so unit tests and a future
 * simulator drive them directly. */
#ifndef TIDE_SCHEDULER_POLICY_H
#define TIDE_SCHEDULER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worker states as the scheduler sees them. */
typedef enum tide__wstatus {
  TIDE_W_RUNNING = 0,
  TIDE_W_PAUSED,             /* above the memory pause fraction */
  TIDE_W_CLOSING_GRACEFULLY, /* being retired: gets no new tasks */
} tide__wstatus;

const char *tide__wstatus_name(tide__wstatus s);

/* A read-only snapshot of one worker. Strings are borrowed from the
 * scheduler and valid until control returns to the loop. */
typedef struct tide__sw_view {
  const char *address; /* "tcp://..." of its data server: the worker's id */
  const char *name;
  const char *host;
  const char *job; /* "" when not started by a cluster job */
  int nthreads;
  int64_t memory_limit; /* 0 = none */
  int64_t nbytes;       /* bytes of results held */
  int64_t nbytes_peak;  /* most bytes of results held at once since it joined */
  int64_t rss;          /* process memory from the last heartbeat */
  int nprocessing;      /* tasks sent to it and not finished */
  double occupancy;     /* seconds of expected work (docs/design.md §4) */
  tide__wstatus status;
  double connected_at;   /* wall-clock epoch */
  double last_seen;      /* wall-clock epoch of the last message */
  int64_t executed;      /* tasks completed there */
  const char *pool;      /* the cluster pool it belongs to, "" none */
  const char *resources; /* what it advertises ("GPU=1,MEM=6.4e+10"), "" none */
} tide__sw_view;

/* Inputs and parts of adaptive_target (docs/design.md §5), filled by the scheduler. */
typedef struct tide__target_inputs {
  double total_occupancy;  /* sum of the workers' occupancy */
  double queued_occupancy; /* q_occ: first 100 queued, scaled */
  size_t nqueued;          /* queued + no-worker */
  size_t nprocessing;
  size_t nworkers;
  double avg_nthreads; /* 0 when no workers */
  int64_t total_nbytes;
  int64_t total_memory_limit;
  double memory_target_fraction; /* 0.6 */
  size_t nclose;                 /* len(workers_to_close()) when target < nworkers */
  /* outputs */
  int cpu;
  int memory;
  int target;
} tide__target_inputs;

/* docs/design.md §5 formula: fills cpu, memory, target and returns target. The caller
 * supplies nclose (the count workers_to_close() would return). */
int tide__policy_adaptive_target(tide__target_inputs *in, double target_duration);

/* Options of workers_to_close (docs/design.md §6). target/n < 0 mean "not given";
 * memory_ratio <= 0 means not given; minimum < 0 means none. */
typedef const char *(*tide__group_key_fn)(const tide__sw_view *w, void *arg);
typedef struct tide__close_opts {
  int target;
  int n;
  double memory_ratio;
  int minimum;
  tide__group_key_fn key; /* NULL: each worker alone */
  void *key_arg;
} tide__close_opts;

/* Group keys for the CLI's --worker-key none|job|host. */
const char *tide__group_by_job(const tide__sw_view *w, void *arg);
const char *tide__group_by_host(const tide__sw_view *w, void *arg);

/* docs/design.md §6 workers_to_close over n views (closing_gracefully ones are skipped).
 * Writes the indexes of the chosen workers into out (capacity n) and returns
 * how many. Whole groups only; idle groups first, then least data. */
size_t tide__policy_workers_to_close(const tide__sw_view *ws, size_t n, const tide__close_opts *o,
                                     size_t *out);

/* Seconds between a worker's heartbeats when nworkers are connected, so that
 * the scheduler receives a bounded number of heartbeats per second: Dask's
 * heartbeat_interval (0.5 s up to 10 workers, 1 s below 50, 2 s below 200,
 * then n/200 + 1 s, at most 200 a second) scaled by base/0.5, base being
 * worker.heartbeat-interval (docs/design.md §4 "Liveness"). */
double tide__policy_heartbeat_interval(size_t nworkers, double base);

/* The silence after which a worker told to beat every interval s is dead:
 * the configured timeout while the interval is the base one, and at least
 * ten intervals once it has grown (as Dask's worker TTL check). */
double tide__policy_heartbeat_timeout(double timeout, double base, double interval);

/* Saturation depth (docs/design.md §4 "Saturation"): at most this many
 * tasks per thread of one prefix wait on a worker to cover a round trip. */
enum { TIDE__SATURATION_DEPTH_MAX = 64 };
/* A prefix whose results average more than this keeps the plain ratio: a
 * deeper queue of it would hold results ahead of their consumers. */
#define TIDE__SATURATION_SMALL_OUTPUT (64 * 1024)

/* How many tasks a worker of nthreads threads may process at once while it
 * processes tasks of one prefix: ceil(saturation · nthreads) (at least 1;
 * INT_MAX when saturation is not a finite positive number), raised to
 * nthreads · min(TIDE__SATURATION_DEPTH_MAX, ceil(round_trip / duration))
 * when the prefix's expected duration is far below round_trip and its
 * learned output size (out_bytes, < 0 unknown) is at most
 * TIDE__SATURATION_SMALL_OUTPUT. round_trip <= 0 turns the deeper queue off. */
int tide__policy_saturation_depth(double saturation, int nthreads, double duration,
                                  double out_bytes, double round_trip);

#endif
