/* The controller's decision round, shared by the timer loop and the
 * simulator (decide.h). */
#include <string.h>

#include "adaptive/decide.h"

int tide__adapt_decide(tide__rec_state *st, tide__sched *s, const tide__adapt_knobs *k,
                       const tide__adapt_plan *p, tide__target_inputs *in, tide__rec_out *out)
{
  memset(in, 0, sizeof *in);
  int raw = p->raw_target ? *p->raw_target : tide__sched_adaptive_target(s, k->target_duration, in);
  if (raw < 0)
    return raw;
  tide__rec_in ri = {
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
  };
  tide__recommend(st, &ri, out);
  return raw;
}
