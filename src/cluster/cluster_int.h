/* Private state of the Cluster core, shared by the files of src/cluster (the
 * Adaptive controller, adapt.c, among them). Loop thread only. */
#ifndef TIDE_CLUSTER_CLUSTER_INT_H
#define TIDE_CLUSTER_CLUSTER_INT_H

#include <stdbool.h>
#include <uthash.h>
#include <uv.h>

#include "adaptive/recommend.h"
#include "cluster/cluster.h"
#include "common/config.h"
#include "proto/resources.h"

typedef struct tide__adaptive tide__adaptive;
typedef struct tide__api tide__api;
typedef struct tide__http tide__http;

/* A job's life in the core. */
typedef enum tide__job_phase {
  TIDE__JOB_SUBMITTING = 0, /* handed to scale_up, not accepted yet */
  TIDE__JOB_PENDING,        /* accepted by the resource manager, no worker yet */
  TIDE__JOB_RUNNING,        /* a worker arrived */
  TIDE__JOB_STOPPING,       /* scale_down called */
} tide__job_phase;
const char *tide__job_phase_name(tide__job_phase p);

/* How far tide_cluster_close has got; each step follows the one before. */
typedef enum tide__shutdown_phase {
  TIDE__SHUTDOWN_NONE = 0, /* running */
  TIDE__SHUTDOWN_RETIRING, /* retiring the workers */
  TIDE__SHUTDOWN_STOPPING, /* stopping the jobs */
  TIDE__SHUTDOWN_CLOSING,  /* closing the handles */
} tide__shutdown_phase;

typedef struct tide__cworker {
  char *name;
  struct tide__cjob *job;
  int index;
  bool arrived; /* connected to the scheduler now */
  bool ever_arrived;
  bool retiring;     /* chosen and being retired by us */
  bool retired;      /* removed from the scheduler as expected */
  double died_at;    /* monotonic time of an unexpected removal, 0 = none */
  UT_hash_handle hh; /* by name in tide_cluster.workers */
} tide__cworker;

/* A worker pool (docs/adaptive.md "Pools", pools.c): a backend instance of
 * its own, the resources its workers advertise, its limits and cost. */
typedef struct tide__cpool {
  char *name;
  const tide_backend_ops *ops;
  void *self;
  tide__res res;
  char res_text[TIDE_RES_MAX * (TIDE_RES_NAME_MAX + 32)]; /* "" none */
  double minimum, maximum, cost;
  double last_poll;
  tide__rec_state *st; /* its close counts (adaptive) */
  int last_target;     /* -1 none */
  char reason[768];    /* why its last target (decision log) */
  int wanted;          /* size asked by scale --pool, kept when not adapting; -1 none */
  /* docs/design.md §7 "Arrival-aware requests", per pool */
  char startup_key[80]; /* "pool:NAME": its latency in c->startup */
  uint64_t capped;      /* its capped decisions logged */
  int capped_asked;     /* the last one logged: asked, plan (-1 none) */
  int capped_plan;
  char why[352]; /* the last capped request's explanation, "" none */
} tide__cpool;

typedef struct tide__cjob {
  tide_job pub;      /* what backends see */
  tide__cpool *pool; /* NULL: no pools */
  char *name;
  tide__cworker *w;    /* array of P */
  const char **wnames; /* pub.workers */
  tide__job_phase phase;
  double created;
  bool replace;                   /* replace it when it is gone (it died) */
  struct tide__cjob *prev, *next; /* utlist, oldest first */
  UT_hash_handle hh;              /* by name */
} tide__cjob;

/* One retirement started by the cluster (adaptive down, scale, API). */
typedef struct tide__cretire {
  tide_cluster *c;
  tide__retire_fn cb; /* may be NULL */
  void *arg;
  bool internal; /* counted in c->retiring */
} tide__cretire;

struct tide_cluster {
  uv_loop_t *loop;
  bool own_loop;
  tide__config cfg;
  tide_cluster_opts opts; /* strings below are copies */
  char *name, *host, *scheduler_file;
  char **preload; /* opts.npreload copies, NULL-terminated */
  char *tls[3];   /* copies of opts.tls_ca_file, tls_cert, tls_key */
  tide__sched *sched;
  tide__api *api;
  tide__http *http;
  char *dashboard; /* "http://127.0.0.1:P" or NULL */

  const tide_backend_ops *ops;
  void *self;

  tide__cjob *jobs;         /* list, oldest first */
  tide__cjob *jobs_by_name; /* hash */
  tide__cworker *workers;   /* hash by worker name */
  unsigned long next_job;

  tide__backoff backoff;
  tide__startup *startup; /* request -> registered, learned per key (arrival.h) */
  tide__cluster_metrics m;
  int retiring; /* internal retirements in flight */
  int wanted;   /* size asked by scale(), kept when not adapting; -1 none */

  tide__adaptive *adaptive; /* the controller (created on first adapt) */

  /* pools.c: the worker pools (none: one implicit pool, c->ops); the first
   * one's backend is also c->ops/c->self. scope: while set, plan counts,
   * new jobs and scale_to concern that pool only. */
  tide__cpool *pools;
  size_t npools;
  tide__cpool *scope;

  uv_timer_t house; /* replacement checks, backend poll */
  double last_poll;
  uv_signal_t sigint, sigterm;
  uv_async_t stop_async;
  uv_timer_t shutdown_timer;
  double shutdown_deadline;
  tide__shutdown_phase shutdown_phase;
  bool closed;
  int run_rc;
  double kill_grace; /* seconds between SIGTERM and SIGKILL (backends) */
};

/* tide_cluster_create with an already loaded configuration. */
int tide__cluster_create_cfg(const tide_cluster_opts *opts, const tide__config *cfg,
                             const tide_backend_ops *ops, void *self, tide_cluster **out,
                             tide_error *err);

/* Worker names in the plan / requested / observed (docs/design.md §8). */
int tide__cluster_nplan(const tide_cluster *c);
int tide__cluster_pending_jobs(const tide_cluster *c);
int tide__cluster_processes(const tide_cluster *c);
/* Planned workers that have not arrived, oldest job first; *out malloc'd,
 * names borrowed. */
size_t tide__cluster_not_arrived(tide_cluster *c, tide__rec_member **out);
/* Scale the plan to n (whole jobs) without touching the controller: up
 * submits new jobs, down retires and stops whole jobs (not-arrived first). */
int tide__cluster_scale_to(tide_cluster *c, int n, tide_error *err);
/* Retire these workers, then stop the jobs whose every worker is gone or
 * was never there. internal: counted in c->retiring (blocks adaptive down
 * steps until it ends). */
int tide__cluster_retire_names(tide_cluster *c, char *const *names, size_t n, bool internal,
                               tide__retire_fn cb, void *arg, tide_error *err);
/* Scheduler events about workers (jobs.c). */
void tide__cluster_worker_event(tide_cluster *c, tide__sched_event ev, const char *name,
                                bool expected);
/* Replacement of dead workers and refill of a fixed-size plan (jobs.c). */
void tide__cluster_maintain(tide_cluster *c);
void tide__cluster_stop_all_jobs(tide_cluster *c);
void tide__cluster_free_jobs(tide_cluster *c);
/* The key this cluster's startup latency is learned under: the backend's
 * kind. Pools key theirs by pool name in the same table. */
const char *tide__cluster_startup_key(const tide_cluster *c);
/* Group key function for worker_key ("none" -> NULL, "job", "host"). */
tide__group_key_fn tide__cluster_key_fn(const char *worker_key);
/* Append a line to the cluster's log (and stderr). */
#define tide__clog(level, ...) tide__log(level, "cluster", __VA_ARGS__)

/* The Adaptive controller (adapt.c): it drives the pure recommendations of
 * src/adaptive against this cluster. */
tide__adaptive *tide__adaptive_create(tide_cluster *c);
void tide__adaptive_destroy(tide__adaptive *a); /* after close + loop run */
void tide__adaptive_close(tide__adaptive *a);   /* stop and close handles */
bool tide__adaptive_running(const tide__adaptive *a);
/* A scheduler event (new work wakes it, docs/design.md §7 "Reactive scale-up"). */
void tide__adaptive_on_event(tide__adaptive *a, int ev);
json_t *tide__adaptive_json(tide__adaptive *a);
void tide__adaptive_note_error(tide__adaptive *a, const char *what);
/* Default max_pending for a later adapt(). */
void tide__adaptive_set_max_pending(tide__adaptive *a, int n);
/* Last clipped target, -1 none. */
int tide__adaptive_last_target(const tide__adaptive *a);
/* The target_duration adapting uses (seconds). */
double tide__adaptive_target_duration(const tide__adaptive *a);
/* Capped requests logged so far (docs/design.md §7 "Arrival-aware requests"). */
uint64_t tide__adaptive_capped(const tide__adaptive *a);
/* Is the arrival-aware cap on (the pools' rounds apply it too)? */
bool tide__adaptive_arrival_aware(const tide__adaptive *a);
/* {KEY: {"seconds", "samples", "last"}}: the learned startup latencies. */
json_t *tide__cluster_startup_json(const tide_cluster *c);

/* ---- pools.c (docs/adaptive.md "Pools") */
/* One pool as declared: `NAME:backend=local,min=0,max=2,cost=1,
 * resources=BIG=1+GPU=2,FLAG=VALUE...` (FLAG: the backend's own flags). */
enum { TIDE__POOL_MAX_OPTS = 32 };
typedef struct tide__pool_spec {
  char name[64];
  char backend[32]; /* "" the cluster's --backend */
  tide__res res;
  double minimum, maximum, cost; /* maximum INFINITY when not given */
  const char *keys[TIDE__POOL_MAX_OPTS], *values[TIDE__POOL_MAX_OPTS];
  size_t nopts;
  char buf[1024]; /* keys and values point into it */
} tide__pool_spec;
/* Parse one --pool value. TIDE_EUSAGE with err naming what is wrong. */
int tide__pool_spec_parse(const char *text, tide__pool_spec *out, tide_error *err);
/* Check the pools together: names unique, min <= max, min and max within
 * the ceiling of max_workers, the minimums' sum too. */
int tide__pool_specs_check(const tide__pool_spec *p, size_t n, int max_workers, tide_error *err);
/* Give the cluster its pools: ops[i]/self[i] are pool i's backend (owned by
 * the cluster from now on; ops[0]/self[0] are the ones it was created
 * with). Tells the scheduler what the pools provide. */
void tide__cluster_set_pools(tide_cluster *c, const tide__pool_spec *p,
                             const tide_backend_ops *const *ops, void *const *self, size_t n);
tide__cpool *tide__cluster_pool_find(tide_cluster *c, const char *name);
/* Before any pool is set: the cluster's workers advertise the
 * configuration's worker.resources, so the scheduler takes those as
 * provided (TIDE_EUSAGE when they do not parse). */
int tide__cluster_implicit_pool(tide_cluster *c, tide_error *err);
/* workers_to_close (docs/design.md §6) among pool's workers only. */
size_t tide__cluster_pool_close(tide_cluster *c, const tide__cpool *pool, int target,
                                char ***names);
/* The backend of a job (its pool's, else the cluster's). */
const tide_backend_ops *tide__cluster_job_ops(const tide_cluster *c, const tide__cjob *j,
                                              void **self);
/* Poll every pool's backend that is due (house timer); destroy them all. */
void tide__cluster_pools_poll(tide_cluster *c, double now, double min_gap);
void tide__cluster_pools_destroy(tide_cluster *c);
/* One adaptive round over the pools (adapt.c calls it when there are
 * pools): per pool target, recommendation and action; appends a decision
 * log entry per pool that moves to log. Returns the sum of the targets. */
int tide__cluster_pools_round(tide_cluster *c, bool reactive, int wait_count, int max_pending,
                              double target_duration, double maximum, json_t *log);
void tide__cluster_pools_reset(tide_cluster *c);
/* The pools as JSON: [{name, backend, resources, minimum, maximum, cost,
 * workers, plan, target, reason, wanted, startup, startup_samples, capped,
 * capped_why}]. */
json_t *tide__cluster_pools_json(tide_cluster *c);
/* The key a job's startup latency is learned under: its pool's
 * "pool:NAME", else the cluster's (tide__cluster_startup_key). */
const char *tide__cluster_job_startup_key(const tide_cluster *c, const tide__cjob *j);
/* Capped decisions of every pool together. */
uint64_t tide__cluster_pools_capped(const tide_cluster *c);
/* scale N of one pool (NULL: refused when there are pools, with their
 * names), as tide_cluster_scale is for a cluster without: adapting stops
 * and the pool is kept at n workers. TIDE_ENOTFOUND for an unknown name. */
int tide__cluster_pool_scale(tide_cluster *c, const char *pool, int n, tide_error *err);
/* Keep each pool scaled by scale --pool at its size (house timer, when not
 * adapting): refill what died. */
void tide__cluster_pools_maintain(tide_cluster *c, double now);

/* What the HTTP API serves of the cluster (serve.c); self is the cluster. */
extern const tide__api_ops tide__cluster_api_ops;

/* Scheduler file (docs/design.md §10): write at start, remove at exit. */
int tide__cluster_write_scheduler_file(tide_cluster *c, tide_error *err);
void tide__cluster_remove_scheduler_file(tide_cluster *c);

#endif
