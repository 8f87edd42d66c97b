/* Chains of short tasks sent ahead (docs/design.md §4 "Chains"): when a
 * task's one dependent can only start after it, is expected to take less
 * than a round trip, and would find its other inputs where the task runs,
 * the scheduler sends the dependent to that worker at once, marked
 * TC_AFTER; the worker starts it the moment the task before it stores its
 * result, without waiting for the scheduler. The dependent is processing
 * there in every count the scheduler keeps; whatever takes the task before
 * it off that worker without a result (an error, a retry, a lost worker, a
 * lost input, a cancel) calls tide__chain_undo, which cancels it there and
 * makes it wait again. */
#include "scheduler/internal.h"

/* At most this many links of one chain sent ahead of the one running:
 * enough to keep a worker busy through a round trip of frames while each
 * link takes a few microseconds, few enough that a worker lost mid-chain
 * costs little. */
enum { CHAIN_AHEAD_MAX = 8 };

/* The dependent sent after x on its worker, or NULL. */
static stask *after_of(const stask *x)
{
  if (!(x->chain & TC_BEFORE))
    return NULL;
  for (uint32_t i = 0; i < x->ndependents; i++) {
    stask *d = x->dependents[i].t;
    if ((d->chain & TC_AFTER) && d->proc == x->proc)
      return d;
  }
  return NULL;
}

static bool held_on(const stask *t, const sworker *w)
{
  for (uint32_t i = 0; i < t->nholders; i++)
    if (t->holders[i].w == w)
      return true;
  return false;
}

/* x's dependent if it may be sent after x to x's worker: x's only
 * dependent, waiting for x alone, every other input already on that
 * worker, no resources on either side, no worker to avoid, runnable there, and expected
 * to take less than a round trip (a longer task hides the round trip
 * anyway, and placement may know a better worker for it by then). */
static stask *candidate(const tide__sched *s, const stask *x)
{
  const sworker *w = x->proc;
  if (!w || w->removed || w->status != TIDE_W_RUNNING || w->res || x->ndependents != 1 ||
      (x->chain & TC_BEFORE))
    return NULL;
  stask *d = x->dependents[0].t;
  if (d->state != TIDE_TS_WAITING || d->nwaiting != 1 || d->resi || d->err || d->chain ||
      !tide__sw_can_run(w, d))
    return NULL;
  for (uint32_t i = 0; i < d->ndeps; i++) {
    const stask *e = d->deps[i].t;
    if (e != x && (e->state != TIDE_TS_MEMORY || !held_on(e, w)))
      return NULL;
  }
  double rt = s->cfg.scheduler.round_trip;
  if (!d->pfx || d->pfx->avg < 0 || !(d->pfx->avg < rt)) /* learned, not dropped */
    return NULL;
  return d;
}

void tide__chain_extend(tide__sched *s, stask *x)
{
  if (!x->proc || (x->chain & TC_AFTER))
    return;
  int ahead = 0;
  stask *tail = x, *d;
  while ((d = after_of(tail)) != NULL) {
    tail = d;
    ahead++;
  }
  tail->chain &= (uint8_t)~TC_BEFORE; /* none found after it */
  while (ahead < CHAIN_AHEAD_MAX && (d = candidate(s, tail)) != NULL) {
    sworker *w = tail->proc;
    d->chain = TC_AFTER;
    w->nafter++; /* before proc_add: its room stays what runnable tasks leave */
    tide__proc_add(s, w, d, tide__prefix_expected(s, d->pfx));
    tide__task_set_state(s, d, TIDE_TS_PROCESSING);
    tail->chain |= TC_BEFORE;
    tide__send_compute(s, w, d); /* tail has no holder yet: the worker waits for its own */
    tail = d;
    ahead++;
  }
}

void tide__chain_finished(tide__sched *s, stask *x)
{
  stask *d = after_of(x);
  x->chain = 0;
  if (!d)
    return;
  /* x's result is on d's worker now: d is an ordinary processing task */
  d->chain &= (uint8_t)~TC_AFTER;
  d->proc->nafter--;
  d->nwaiting = 0;
  tide__room_update(s, d->proc);
  tide__chain_extend(s, d);
}

void tide__chain_undo(tide__sched *s, stask *x)
{
  stask *d = after_of(x);
  x->chain &= (uint8_t)~TC_BEFORE;
  if (!d)
    return;
  tide__send_free_keys(s, d->proc, d); /* d is processing: goes out this turn */
  tide__proc_remove(s, d);             /* and the links after d, in turn */
  d->chain = 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < d->ndeps; i++)
    n += d->deps[i].t->state != TIDE_TS_MEMORY;
  tide__task_set_state(s, d, TIDE_TS_WAITING);
  d->nwaiting = n;
  if (n == 0)
    tide__task_ready(s, d);
}
