/* The controller's decision round, shared by the timer loop and the
 * simulator (decide.h). */
#include <string.h>

#include "adaptive/decide.h"

/* docs/design.md §7 "Arrival-aware requests": the cap's inputs from the
 * scheduler's figures behind this round's target. */
static void arrival_inputs(const tide__target_inputs *in, const tide__adapt_plan *p,
                           tide__arrival_in *arr)
{
  memset(arr, 0, sizeof *arr);
  arr->work = in->total_occupancy + in->queued_occupancy;
  arr->ntasks = in->nqueued + in->nprocessing;
  arr->npresent = (int)in->nworkers;
  arr->threads = (double)in->nworkers * in->avg_nthreads;
  arr->nthreads = in->avg_nthreads > 0 ? in->avg_nthreads : p->nthreads > 0 ? p->nthreads : 1;
  arr->startup = p->startup;
}

int tide__adapt_decide(tide__rec_state *st, tide__sched *s, const tide__adapt_knobs *k,
                       const tide__adapt_plan *p, tide__adapt_round *r)
{
  memset(&r->in, 0, sizeof r->in);
  int raw =
      p->raw_target ? *p->raw_target : tide__sched_adaptive_target(s, k->target_duration, &r->in);
  if (raw < 0)
    return raw;
  bool capping = k->arrival_aware && !p->raw_target && p->startup >= 0;
  if (capping)
    arrival_inputs(&r->in, p, &r->arr);
  r->ri = (tide__rec_in){
      .now = p->now,
      .target = raw,
      .minimum = k->minimum,
      .maximum = k->maximum,
      .wait_count = k->wait_count,
      .processes = p->processes,
      .nplan = p->nplan,
      .not_arrived = p->not_arrived,
      .nnot_arrived = p->nnot_arrived,
      .pending_jobs = p->pending_jobs,
      .max_pending = k->max_pending,
      .backoff = p->backoff,
      .up_only = p->reactive,
      .down_blocked = p->down_blocked,
      .to_close = p->to_close,
      .to_close_arg = p->to_close_arg,
      .arrival = capping ? &r->arr : NULL,
  };
  tide__recommend(st, &r->ri, &r->out);
  return raw;
}
