/* Placement: which worker runs a ready task (most input bytes held, then
 * least occupancy, then fewest processing), the scheduler queue of ready
 * tasks beyond worker-saturation, and sending compute-task. */
#include <limits.h>
#include <math.h>

#include "common/log.h"
#include "scheduler/internal.h"

/* Fallback scan length over the room list for tasks without input data:
 * bounded so placement stays O(1) with thousands of workers. */
enum { ROOM_SCAN = 32 };

int tide__sw_limit(const tide__sched *s, int nthreads)
{
  return tide__policy_saturation_depth(s->cfg.scheduler.worker_saturation, nthreads, -1, -1, 0);
}

/* Keep w in the room list iff it is running and below its limit: the
 * deeper one while everything it processes was sent under it (docs/design.md
 * §4 "Saturation"), so one task of real duration brings it back to the
 * plain limit. */
void tide__room_update(tide__sched *s, sworker *w)
{
  int limit = w->nplain == 0 && w->deep > w->limit ? w->deep : w->limit;
  bool want = !w->removed && w->status == TIDE_W_RUNNING && w->nprocessing - w->nafter < limit;
  if (want == w->in_room)
    return;
  if (want) {
    w->room_prev = s->room_tail;
    w->room_next = NULL;
    if (s->room_tail)
      s->room_tail->room_next = w;
    else
      s->room_head = w;
    s->room_tail = w;
  } else {
    if (w->room_prev)
      w->room_prev->room_next = w->room_next;
    else
      s->room_head = w->room_next;
    if (w->room_next)
      w->room_next->room_prev = w->room_prev;
    else
      s->room_tail = w->room_prev;
    w->room_prev = w->room_next = NULL;
  }
  w->in_room = want;
}

bool tide__sw_can_run(const sworker *w, const stask *t)
{
  if (t->flags & TF_ANYWHERE)
    return true;
  for (size_t i = 0; i < w->nfunctions; i++)
    if (w->ifns[i] == t->fn)
      return true;
  return false;
}

static bool better(const sworker *a, int64_t abytes, const sworker *b, int64_t bbytes)
{
  if (!b)
    return true;
  if (abytes != bbytes)
    return abytes > bbytes;
  if (a->occupancy != b->occupancy)
    return a->occupancy < b->occupancy;
  return a->nprocessing < b->nprocessing;
}

/* The address a retried task keeps away from: the worker it erred on,
 * while another running worker could run it (docs/design.md §2); else
 * NULL, and it may run there again. */
static const char *avoided(const tide__sched *s, const stask *t)
{
  const char *avoid = t->err ? t->err->avoid : NULL;
  if (!avoid)
    return NULL;
  for (sworker *w = s->workers; w; w = w->hh.next)
    if (!w->removed && w->status == TIDE_W_RUNNING && strcmp(w->address, avoid) != 0 &&
        tide__sw_can_run(w, t))
      return avoid;
  return NULL;
}

static bool usable(const tide__sched *s, const sworker *w, const stask *t, const char *avoid,
                   bool plain_only)
{
  /* docs/tasks.md "Resources": a task without resources takes only an idle
   * thread of a worker that advertises some, never a place in its queue,
   * where it would wait behind a long task that needs the resources */
  if (w->res && !t->resi && (plain_only || w->nprocessing >= w->nthreads))
    return false;
  return tide__sw_can_run(w, t) && (!avoid || strcmp(w->address, avoid) != 0) &&
         tide__sres_free(s, w, t);
}

/* The worker for a ready task among those with room, and the occupancy the
 * task adds there (expected duration + bytes to fetch / bandwidth). */
sworker *tide__decide_worker(tide__sched *s, stask *t, double *occ)
{
  if (!s->room_head)
    return NULL;
  const char *avoid = avoided(s, t);
  uint64_t ep = ++s->epoch;
  int64_t total = 0;
  sworker *best = NULL;
  int64_t best_bytes = -1;
  for (uint32_t i = 0; i < t->ndeps; i++) {
    stask *d = t->deps[i].t;
    total += d->nbytes;
    for (uint32_t j = 0; j < d->nholders; j++) {
      sworker *w = d->holders[j].w;
      if (w->scratch_epoch != ep) {
        w->scratch_epoch = ep;
        w->scratch_bytes = 0;
      }
      w->scratch_bytes += d->nbytes > 0 ? d->nbytes : 1;
    }
  }
  /* docs/tasks.md "Resources": a task without resources keeps off workers
   * that advertise some while a worker without any has room for it */
  bool plain_first = !t->resi && s->nres_workers > 0;
  for (int pass = plain_first ? 0 : 1; pass < 2 && !best; pass++) {
    bool plain_only = pass == 0;
    for (uint32_t i = 0; i < t->ndeps; i++) {
      stask *d = t->deps[i].t;
      for (uint32_t j = 0; j < d->nholders; j++) {
        sworker *w = d->holders[j].w;
        if (w->in_room && better(w, w->scratch_bytes, best, best_bytes) &&
            usable(s, w, t, avoid, plain_only)) {
          best = w;
          best_bytes = w->scratch_bytes;
        }
      }
    }
    if (best)
      break;
    int n = 0;
    for (sworker *w = s->room_head; w && n < ROOM_SCAN; w = w->room_next, n++)
      if (better(w, 0, best, 0) && usable(s, w, t, avoid, plain_only))
        best = w;
    /* a plugin function or resources only some workers have: look further */
    for (sworker *w = s->room_head; !best && w; w = w->room_next)
      if (usable(s, w, t, avoid, plain_only))
        best = w;
    best_bytes = 0;
  }
  if (!best)
    return NULL;
  int64_t fetch = total;
  if (best->scratch_epoch == ep) {
    /* scratch counts 1 byte for empty results: recount exactly */
    fetch = 0;
    for (uint32_t i = 0; i < t->ndeps; i++) {
      stask *d = t->deps[i].t;
      bool held = false;
      for (uint32_t j = 0; j < d->nholders && !held; j++)
        held = d->holders[j].w == best;
      if (!held)
        fetch += d->nbytes;
    }
  }
  double bw = s->cfg.scheduler.bandwidth > 0 ? s->cfg.scheduler.bandwidth : 100e6;
  *occ = tide__prefix_expected(s, t->pfx) + (double)fetch / bw;
  return best;
}

void tide__proc_add(tide__sched *s, sworker *w, stask *t, double occ)
{
  const tide__config *c = &s->cfg;
  int depth = tide__policy_saturation_depth(c->scheduler.worker_saturation, w->nthreads,
                                            tide__prefix_expected(s, t->pfx),
                                            t->pfx ? t->pfx->out_avg : -1, c->scheduler.round_trip);
  if (depth > w->limit) {
    t->flags |= TF_DEEP;
    w->deep = depth;
  } else {
    w->nplain++;
  }
  t->proc = w;
  t->occ = (float)occ;
  t->prev = w->proc_tail;
  t->next = NULL;
  if (w->proc_tail)
    w->proc_tail->next = t;
  else
    w->proc_head = t;
  w->proc_tail = t;
  t->flags |= TF_IN_LIST;
  w->nprocessing++;
  tide__sres_take(s, w, t, 1);
  w->occupancy += occ;
  s->total_occupancy += occ;
  tide__room_update(s, w);
}

void tide__proc_remove(tide__sched *s, stask *t)
{
  sworker *w = t->proc;
  if (!w)
    return;
  if (t->chain & TC_BEFORE)
    tide__chain_undo(s, t); /* leaves without a result: the links after it wait again */
  if (t->chain & TC_AFTER)
    w->nafter--;
  t->chain &= (uint8_t)~TC_AFTER;
  if (t->prev)
    t->prev->next = t->next;
  else
    w->proc_head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    w->proc_tail = t->prev;
  t->prev = t->next = NULL;
  if (!(t->flags & TF_DEEP))
    w->nplain--;
  t->flags &= ~(TF_IN_LIST | TF_DEEP);
  t->proc = NULL;
  w->nprocessing--;
  tide__sres_take(s, w, t, -1);
  w->occupancy -= t->occ;
  s->total_occupancy -= t->occ;
  if (w->nprocessing == 0 || w->occupancy < 0)
    w->occupancy = 0;
  if (s->total_occupancy < 1e-9)
    s->total_occupancy = 0;
  tide__room_update(s, w);
  if (w->retire && w->nprocessing == 0)
    tide__sched_retire_kick(s);
}

void tide__send_compute(tide__sched *s, sworker *w, stask *t)
{
  msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_COMPUTE_TASK, 5);
  if (!pk)
    return;
  tide__pk_kstr(pk, "key", t->key);
  tide__pk_kstr(pk, "fn", t->fn);
  tide__pk_str(pk, "args");
  if (t->args_len)
    pk->callback(pk->data, t->args, t->args_len);
  else
    msgpack_pack_array(pk, 0);
  tide__pk_kstr(pk, "prefix", t->pfx->name);
  tide__pk_str(pk, "deps");
  msgpack_pack_map(pk, t->ndeps);
  for (uint32_t i = 0; i < t->ndeps; i++) {
    stask *d = t->deps[i].t;
    tide__pk_str(pk, d->key);
    msgpack_pack_map(pk, 2);
    tide__pk_kint(pk, "nbytes", d->nbytes);
    tide__pk_str(pk, "who_has");
    msgpack_pack_array(pk, d->nholders);
    for (uint32_t j = 0; j < d->nholders; j++)
      tide__pk_str(pk, d->holders[j].w->address);
  }
  tide__sched_sent(s, w->conn);
}

static void queue_push(tide__sched *s, stask *t, bool restricted)
{
  stask **head = restricted ? &s->rq_head : &s->q_head;
  stask **tail = restricted ? &s->rq_tail : &s->q_tail;
  t->proc = NULL;
  t->prev = *tail;
  t->next = NULL;
  if (*tail)
    (*tail)->next = t;
  else
    *head = t;
  *tail = t;
  t->flags |= TF_IN_LIST | (restricted ? TF_RQ : 0);
  s->nqueued++;
}

void tide__queue_remove(tide__sched *s, stask *t)
{
  if (!(t->flags & TF_IN_LIST) || t->proc)
    return;
  bool restricted = t->flags & TF_RQ;
  stask **head = restricted ? &s->rq_head : &s->q_head;
  stask **tail = restricted ? &s->rq_tail : &s->q_tail;
  if (t->prev)
    t->prev->next = t->next;
  else
    *head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    *tail = t->prev;
  t->prev = t->next = NULL;
  t->flags &= ~(TF_IN_LIST | TF_RQ);
  s->nqueued--;
}

static void place(tide__sched *s, stask *t, sworker *w, double occ)
{
  tide__proc_add(s, w, t, occ);
  tide__task_set_state(s, t, TIDE_TS_PROCESSING);
  tide__send_compute(s, w, t);
  tide__chain_extend(s, t);
}

/* A task whose deps are all in memory: send it or queue it. */
void tide__task_ready(tide__sched *s, stask *t)
{
  double occ = 0;
  sworker *w = tide__decide_worker(s, t, &occ);
  if (w) {
    place(s, t, w, occ);
  } else {
    /* a plugin task that a worker with room could not run waits apart, so
     * it does not block the queue's head */
    queue_push(s, t, s->room_head && (!(t->flags & TF_ANYWHERE) || t->resi));
    tide__task_set_state(s, t, s->nrunning ? TIDE_TS_QUEUED : TIDE_TS_NO_WORKER);
  }
  tide__sched_new_work(s);
}

/* Send queued tasks while some running worker has room. */
void tide__queue_drain(tide__sched *s)
{
  while (s->q_head && s->room_head) {
    stask *t = s->q_head;
    double occ = 0;
    sworker *w = tide__decide_worker(s, t, &occ);
    tide__queue_remove(s, t);
    if (w)
      place(s, t, w, occ);
    else
      queue_push(s, t, true); /* restricted: no worker with room runs it */
  }
  /* restricted tasks: few in practice, tried in order */
  for (stask *t = s->rq_head, *next; t && s->room_head; t = next) {
    next = t->next;
    double occ = 0;
    sworker *w = tide__decide_worker(s, t, &occ);
    if (w) {
      tide__queue_remove(s, t);
      place(s, t, w, occ);
    }
  }
}

/* queued <-> no-worker when the number of running workers crosses 0. */
void tide__queue_relabel(tide__sched *s)
{
  tide__tstate st = s->nrunning ? TIDE_TS_QUEUED : TIDE_TS_NO_WORKER;
  for (stask *t = s->q_head; t; t = t->next)
    tide__task_set_state(s, t, st);
  for (stask *t = s->rq_head; t; t = t->next)
    tide__task_set_state(s, t, st);
}
