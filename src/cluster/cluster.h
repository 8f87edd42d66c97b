/* Cluster internals other modules use (the HTTP routes, metrics, `tide
 * cluster`). The public face is include/tide/cluster.h. Loop thread only. */
#ifndef TIDE_CLUSTER_CLUSTER_H
#define TIDE_CLUSTER_CLUSTER_H

#include <jansson.h>
#include <stdint.h>

#include "scheduler/scheduler.h"
#include "tide/cluster.h"

/* GET /api/v1/adaptive body (SPEC.md): state, options, plan, requested,
 * observed, the decision log with inputs, and "backoff"/"paused"/"error"
 * fields for resource-manager faults. Caller owns the result. */
json_t *tide__cluster_adaptive_json(tide_cluster *c);

/* {"repr": "...", "backend": "...", "name": ..., "processes": P,
 *  "nthreads": T, "memory_limit": B, "jobs": [{"name", "state",
 *  "backend_id", "workers": [..]}]} for the dashboard and `tide status`. */
json_t *tide__cluster_info_json(tide_cluster *c);

/* POST /api/v1/retire_workers through the cluster: retire (§4), then stop
 * the jobs whose every worker is now gone. cb as for the scheduler. */
int tide__cluster_retire(tide_cluster *c, char *const *names, size_t n, tide__retire_fn cb,
                         void *arg, tide_error *err);

/* Adds the cluster manager's lines and the backends' job output lines:
 * sets out["cluster"] = [LINE] and merges job output into out["workers"]. */
void tide__cluster_logs_json(tide_cluster *c, json_t *out);

/* Figures for /metrics. */
typedef struct tide__cluster_metrics {
  int requested;            /* workers asked for, arrived or not */
  int target;               /* last adaptive target (clipped), -1 none */
  uint64_t submissions;     /* successful scale_up calls (jobs) */
  uint64_t submit_failures;
  uint64_t jobs_stopped;
  uint64_t replaced;        /* workers replaced after dying / lifetime */
} tide__cluster_metrics;
void tide__cluster_metrics_get(tide_cluster *c, tide__cluster_metrics *m);

#endif
