/* One round of the Adaptive controller's decision (docs/design.md §7) as a
 * pure function of the scheduler's state, the options and the plan: the
 * controller's timer loop (src/cluster/adapt.c) and the simulator
 * (src/sim) both call it, so a simulated policy is the production one. */
#ifndef TIDE_ADAPTIVE_DECIDE_H
#define TIDE_ADAPTIVE_DECIDE_H

#include "adaptive/arrival.h"
#include "adaptive/recommend.h"
#include "scheduler/scheduler.h"

/* The options of adapt() in force (already resolved to their defaults). */
typedef struct tide__adapt_knobs {
  double minimum, maximum, target_duration;
  int wait_count, max_pending;
  bool arrival_aware; /* docs/design.md §7 "Arrival-aware requests" */
} tide__adapt_knobs;

/* What the caller knows of its plan at this round. */
typedef struct tide__adapt_plan {
  double now;
  int processes, nplan, pending_jobs;
  const tide__rec_member *not_arrived;
  size_t nnot_arrived;
  const tide__backoff *backoff; /* NULL: no faults */
  bool reactive, down_blocked;
  const int *raw_target; /* a custom target() answer; NULL: adaptive_target */
  tide__rec_close_fn to_close;
  void *to_close_arg;
  /* the learned request -> registered seconds of a worker asked for now;
   * < 0 while unknown (no arrival cap until a worker has arrived) */
  double startup;
  int nthreads; /* threads of a worker the backend starts; 0 unknown */
} tide__adapt_plan;

/* One round's decision and what it was made from. */
typedef struct tide__adapt_round {
  tide__target_inputs in; /* adaptive_target's figures (zero with a custom target) */
  tide__arrival_in arr;   /* the cap's inputs, when ri.arrival points here */
  tide__rec_in ri;        /* what tide__recommend was given */
  tide__rec_out out;      /* its answer: free with tide__rec_out_free */
} tide__adapt_round;

/* Compute the raw target (adaptive_target, inputs into r->in), the
 * arrival cap's inputs when the cap is on and the startup is known (not
 * with a custom target: its figures are not the scheduler's), and the
 * recommendation into r->out (free with tide__rec_out_free). Returns the
 * raw target, or a negative error code when adaptive_target failed (then
 * r->out is left untouched). */
int tide__adapt_decide(tide__rec_state *st, tide__sched *s, const tide__adapt_knobs *k,
                       const tide__adapt_plan *p, tide__adapt_round *r);

#endif
