/* Cluster internals other modules use (`tide cluster`, and what the HTTP
 * API is served through, serve.c). The public face is include/tide/cluster.h. Loop thread only. */
#ifndef TIDE_CLUSTER_CLUSTER_H
#define TIDE_CLUSTER_CLUSTER_H

#include <jansson.h>
#include <stdint.h>

#include "http/api.h"
#include "scheduler/scheduler.h"
#include "tide/cluster.h"

/* GET /api/v1/adaptive body (docs/design.md §11): state, options, plan, requested,
 * observed, the decision log with inputs, and "backoff"/"paused"/"error"
 * fields for resource-manager faults. Caller owns the result. */
json_t *tide__cluster_adaptive_json(tide_cluster *c);

/* {"repr": "...", "backend": "...", "name": ..., "processes": P,
 *  "nthreads": T, "memory_limit": B, "jobs": [{"name", "state",
 *  "backend_id", "workers": [..]}]} for the dashboard and `tide status`. */
json_t *tide__cluster_info_json(tide_cluster *c);

/* POST /api/v1/retire_workers through the cluster: retire (docs/design.md §6), then stop
 * the jobs whose every worker is now gone. cb as for the scheduler. */
int tide__cluster_retire(tide_cluster *c, char *const *names, size_t n, tide__retire_fn cb,
                         void *arg, tide_error *err);

/* Adds the cluster manager's lines and the backends' job output lines:
 * sets out["cluster"] = [LINE] and merges job output into out["workers"]. */
void tide__cluster_logs_json(tide_cluster *c, json_t *out);

/* Figures for /metrics (the HTTP API's own type); the caller owns m->startup
 * (json_decref it). */
typedef tide__api_figures tide__cluster_metrics;
void tide__cluster_metrics_get(tide_cluster *c, tide__cluster_metrics *m);

#endif
