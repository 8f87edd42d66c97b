/* The Cluster abstraction (docs/design.md §8): a scheduler, a resource-manager
 * backend behind a table of operations, and the shared bookkeeping
 * (plan / requested / observed, worker names, repr, logs, replacement of
 * workers that died). A C program supplies its own backend through
 * tide_backend_ops, as Dask users subclass Cluster. */
#ifndef TIDE_CLUSTER_H
#define TIDE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tide/adaptive.h"
#include "tide/error.h"
#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_cluster tide_cluster;

/* One job: P workers that start and stop together. Owned by the cluster. */
typedef struct tide_job {
  const char *name;           /* "NAME-JOB", e.g. "tide-3" */
  const char *const *workers; /* worker names: NAME-JOB, or NAME-JOB-I when P > 1 */
  int nworkers;               /* P (--processes) */
  int nthreads;               /* per worker */
  int64_t memory_limit;       /* per worker, 0 = none */
  double lifetime;            /* seconds, 0 = none */
  const char *scheduler;      /* "tcp://..." */
  const char *scheduler_file; /* path, may be NULL */
  char *backend_id;           /* set by the backend (job id, pid); malloc'd */
  /* Plugins each worker loads (`tide worker --preload PATH` each), absolute
   * paths or library names; npreload may be 0. */
  const char *const *preload;
  int npreload;
  /* Nonzero: each worker starts with `--allow-exec` (tide.exec runs). */
  int allow_exec;
  /* TLS (docs/security.md "TLS"): PEM paths each worker gets as
   * `--tls-ca-file`, `--tls-cert`, `--tls-key`; NULL when TLS is off. Paths
   * only: key material never goes on a command line. */
  const char *tls_ca_file, *tls_cert, *tls_key;
  /* Pools (docs/adaptive.md "Pools"): each worker starts with `--pool
   * POOL --resources RESOURCES`; NULL when the cluster has no pools (or
   * the pool advertises no resources). */
  const char *pool, *resources;
} tide_job;

/* Job states a backend reports through tide_cluster_job_state(). */
typedef enum tide_job_state {
  TIDE_JOB_PENDING = 0, /* submitted, not running yet: requested, not arrived */
  TIDE_JOB_RUNNING,
  TIDE_JOB_GONE, /* finished, cancelled or failed */
} tide_job_state;

/* A backend: every member documents whether it may be NULL and blocks. */
typedef struct tide_backend_ops {
  /* Class name for the repr ("LocalCluster", "SLURMCluster"). Required. */
  const char *kind;
  /* Start these jobs (the core already chose names to reach the plan).
   * Must not block for long: submit and return. Set job->backend_id. A
   * failure returns < 0 with err; the core backs off (docs/design.md §7). NULL: the
   * backend cannot scale (adapt/scale fail with TIDE_ENOSCALE). */
  int (*scale_up)(void *self, tide_cluster *c, tide_job *const *jobs, size_t n, tide_error *err);
  /* Stop these jobs; every worker of each was chosen and retired (or never
   * arrived). Non-blocking. NULL only when scale_up is NULL. */
  int (*scale_down)(void *self, tide_cluster *c, tide_job *const *jobs, size_t n, tide_error *err);
  /* Optional: refresh job states (e.g. squeue), reporting them with
   * tide_cluster_job_state(). Called at most every poll_interval. */
  int (*poll)(void *self, tide_cluster *c, tide_error *err);
  double poll_interval; /* seconds; 0 = 1 s */
  /* Optional: append the backend's own log lines (job output files) for a
   * job to the NULL-terminated malloc'd array *lines. */
  int (*logs)(void *self, tide_cluster *c, const tide_job *job, char ***lines);
  /* Optional: free self when the cluster is destroyed. */
  void (*destroy)(void *self);
  /* Optional: jobs this backend lets be pending at once when adapt() does
   * not set max_pending (0 = no limit). */
  int max_pending;
} tide_backend_ops;

typedef struct tide_cluster_opts {
  const char *name;           /* worker name prefix, default "tide" */
  const char *host;           /* scheduler host, default 127.0.0.1 */
  int port;                   /* default 8786; 0 picks */
  int dashboard_port;         /* default 8787; 0 picks; -1 none */
  const char *scheduler_file; /* may be NULL */
  const char *config_file;    /* NULL: $TIDE_CONFIG / default search */
  int processes;              /* workers per job, default 1 */
  int nthreads;               /* per worker, default 1 */
  int64_t memory_limit;       /* per worker, 0 = none */
  double lifetime;            /* seconds, 0 = none */
  double lifetime_stagger;
  int workers; /* initial scale, default 0 */
  /* Optional, 0 = defaults: the backoff between failed submissions (docs/design.md §7:
   * 1 s, 5 s, 30 s, 60 s) and the failures in a row before pausing (10). */
  const double *backoff;
  int nbackoff;
  int pause_after;
  /* Optional: plugins every worker loads, handed to the backend in each
   * tide_job (copied). Give absolute paths: workers may start elsewhere. */
  const char *const *preload;
  int npreload;
  /* Nonzero: workers are started with `--allow-exec`, so tide.exec runs on
   * them; off by default (a task could run any command as the user). */
  int allow_exec;
  /* Optional: the scheduler address workers and clients dial
   * ("tcp://HOST:PORT", or HOST for the bound port) when it is not host:
   * a NAT or a wildcard bind. NULL: host (a wildcard host advertises this
   * machine's first non-loopback IPv4 address). */
  const char *contact_address;
  /* Optional: TLS files handed to every worker in each tide_job (copied);
   * absolute paths. NULL: none. */
  const char *tls_ca_file, *tls_cert, *tls_key;
} tide_cluster_opts;

/* Create a cluster with its scheduler (listening, dashboard started) and
 * the given backend (self is owned by the cluster if ops->destroy is set). */
TIDE_API int tide_cluster_create(const tide_cluster_opts *opts, const tide_backend_ops *ops,
                                 void *self, tide_cluster **out, tide_error *err);
/* Run the loop until tide_cluster_stop() or SIGINT/SIGTERM; then retire and
 * stop every worker. Returns 0 on a clean stop. */
TIDE_API int tide_cluster_run(tide_cluster *c);
/* Ask run() to return (safe from any thread). */
TIDE_API void tide_cluster_stop(tide_cluster *c);
TIDE_API void tide_cluster_destroy(tide_cluster *c);

/* Scale to n workers (rounded up to whole jobs); stops adapting. */
TIDE_API int tide_cluster_scale(tide_cluster *c, int n, tide_error *err);
/* The scheduler address and the one-line repr
 * ("LocalCluster(tide, 'tcp://127.0.0.1:8786', workers=4, threads=4,
 * memory=8.00 GiB)") into buf. */
TIDE_API const char *tide_cluster_scheduler_address(const tide_cluster *c);
TIDE_API void tide_cluster_repr(const tide_cluster *c, char *buf, size_t len);

/* For backends: report a job's state as seen in the resource manager. */
TIDE_API void tide_cluster_job_state(tide_cluster *c, const char *job_name, tide_job_state st);
/* For backends whose submission finishes later (a start command, sbatch
 * run asynchronously): the job could not be submitted. Counts as a
 * resource-manager failure (backoff, docs/design.md §7) and removes the job from the plan.
 * Reporting TIDE_JOB_PENDING or RUNNING counts as a success. */
TIDE_API void tide_cluster_job_failed(tide_cluster *c, const char *job_name, const char *why);
/* For backends that learn a job's id later (the output of a submission
 * command): set job->backend_id (copied). No-op for an unknown job. */
TIDE_API void tide_cluster_job_set_id(tide_cluster *c, const char *job_name, const char *id);
/* For backends: the cluster's loop (a uv_loop_t *) to run processes on. */
TIDE_API void *tide_cluster_loop(tide_cluster *c);

#ifdef __cplusplus
}
#endif
#endif
