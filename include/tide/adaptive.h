/* The Adaptive controller (docs/design.md §7): every interval it asks the
 * scheduler for adaptive_target, clips it to [minimum, maximum], and scales
 * the cluster up at once or down after wait_count rounds of agreement. */
#ifndef TIDE_ADAPTIVE_H
#define TIDE_ADAPTIVE_H

#include <stddef.h>

#include "tide/error.h"
#include "tide/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_cluster tide_cluster;

/* Which fields of tide_adapt_opts were given: a second adapt() keeps the
 * options of the first that it does not set (docs/design.md §7). */
typedef enum tide_adapt_field {
  TIDE_ADAPT_MINIMUM = 1 << 0,
  TIDE_ADAPT_MAXIMUM = 1 << 1,
  TIDE_ADAPT_INTERVAL = 1 << 2,
  TIDE_ADAPT_WAIT_COUNT = 1 << 3,
  TIDE_ADAPT_TARGET_DURATION = 1 << 4,
  TIDE_ADAPT_WORKER_KEY = 1 << 5,
  TIDE_ADAPT_MAX_PENDING = 1 << 6,
  TIDE_ADAPT_ARRIVAL_AWARE = 1 << 7,
} tide_adapt_field;

/* A replacement for the controller's target(): return the desired number
 * of workers (before clipping). */
typedef int (*tide_adapt_target_fn)(tide_cluster *c, void *arg);

/* A replacement for the controller's workers_to_close(): choose workers to
 * retire so that target remain; return the count and a malloc'd array of
 * malloc'd worker names in *names (the controller frees them). */
typedef size_t (*tide_adapt_close_fn)(tide_cluster *c, int target, char ***names, void *arg);

typedef struct tide_adapt_opts {
  unsigned set;                /* tide_adapt_field bits */
  double minimum;              /* default adaptive.minimum (0) */
  double maximum;              /* default adaptive.maximum (inf) */
  double interval;             /* seconds, default 1 */
  int wait_count;              /* default 3 */
  double target_duration;      /* seconds, default 5 */
  const char *worker_key;      /* "none", "job", "host" (job when processes > 1) */
  int max_pending;             /* jobs outstanding in the resource manager */
  tide_adapt_target_fn target; /* NULL: the scheduler's adaptive_target */
  void *target_arg;
  /* NULL: the scheduler's workers_to_close(target, key=worker_key). */
  tide_adapt_close_fn workers_to_close;
  void *close_arg;
  /* Non-zero: ask for no worker that would arrive, after the resource
   * manager's learned startup latency, to find the queue drained
   * (docs/design.md §7 "Arrival-aware requests"); default
   * adaptive.arrival-aware (on). */
  int arrival_aware;
} tide_adapt_opts;

/* Start adapting (or replace the running controller, keeping the options
 * this call does not set). Validates: minimum and maximum >= 0, interval >
 * 0, wait_count >= 1, a known worker_key; TIDE_EUSAGE with err otherwise,
 * and the running controller is kept. TIDE_ENOSCALE if the backend cannot
 * scale. Must be called on the cluster's loop thread. */
TIDE_API int tide_cluster_adapt(tide_cluster *c, const tide_adapt_opts *opts, tide_error *err);

/* Stop adapting (logged once). No-op when not adapting. */
TIDE_API void tide_cluster_adapt_stop(tide_cluster *c);

#ifdef __cplusplus
}
#endif
#endif
