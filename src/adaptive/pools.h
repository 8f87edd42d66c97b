/* Adaptive pools' pure decisions (docs/adaptive.md "Pools"): which pool
 * serves a set of task resources, and the adaptive_target inputs of each
 * pool: its own workers' load, the queued tasks only it (or it most
 * cheaply) can serve, and a share of the tasks without resources, which go
 * to the cheapest plain pool with room first. No clock, no socket. */
#ifndef TIDE_ADAPTIVE_POOLS_H
#define TIDE_ADAPTIVE_POOLS_H

#include <stddef.h>

#include "adaptive/arrival.h"
#include "proto/resources.h"
#include "scheduler/policy.h"
#include "scheduler/scheduler.h"

typedef struct tide__pool_in {
  const tide__res *res; /* what its workers advertise */
  double cost;          /* weight: the cheapest pool with room gets plain work */
  double maximum;       /* its own maximum (workers) */
  int nthreads;         /* per worker of its jobs */
  /* its connected workers, from the scheduler */
  double occupancy;
  size_t nprocessing, nworkers;
  int64_t nbytes, memory_limit;
} tide__pool_in;

/* The pool that serves tasks needing need (NULL or empty: any pool): among
 * the pools providing it, the lowest cost, then the fewest resources
 * (plain workers before special ones), then the first declared. -1 none. */
int tide__pools_serve(const tide__pool_in *p, size_t np, const tide__res *need);

/* Fill out[np] (adaptive_target inputs, nclose 0) from the pools and the
 * queued demand by resource set (tide__sched_demand). Tasks with resources
 * count for the pool tide__pools_serve picks; tasks without go to the pools
 * without resources (to the others only when every pool has some), in
 * tide__pools_serve's order, each taking the share it has room for below
 * its maximum after its own work; what no pool has room for stays with the
 * first. plain_share[np] (may be NULL) gets the plain tasks each took. */
void tide__pools_inputs(const tide__pool_in *p, size_t np, const tide__demand *d, size_t nd,
                        double target_duration, double memory_target_fraction,
                        tide__target_inputs *out, size_t *plain_share);

/* The arrival-aware cap's inputs (arrival.h) for one pool: the work its
 * target counts (its own workers' occupancy and its queued share, from
 * tide__pools_inputs), its present workers and their threads, and startup,
 * the latency this pool learned (docs/design.md §7 "Arrival-aware
 * requests": a pool learns its own, as two queues of one backend differ).
 * nthreads: threads of one of its workers when none is present. The
 * pending arrivals are filled by the recommendation (recommend.h). */
void tide__pools_arrival_in(const tide__target_inputs *in, int nthreads, double startup,
                            tide__arrival_in *out);

#endif
