/* retire_workers (docs/design.md §6): drain, copy keys whose only copies are on
 * retiring workers (acquire-replicas / add-keys), then remove and close;
 * undo with a reason when data cannot move or after retire-timeout. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "scheduler/internal.h"

/* Resend acquire-replicas if no answer came after this long. */
#define REPLICA_RESEND_S 5.0

struct sretire {
  sretire *next;
  tide__sched *s;
  sworker **workers; /* pending ones; NULL once resolved */
  size_t n, npending;
  char **retired;
  size_t nretired;
  char **not_retired, **reasons;
  size_t nnot;
  tide__retire_fn cb;
  void *arg;
  uv_timer_t timer;
  bool finishing, dead;
};

static void op_free(uv_handle_t *h)
{
  sretire *op = h->data;
  for (size_t i = 0; i < op->nretired; i++)
    free(op->retired[i]);
  for (size_t i = 0; i < op->nnot; i++) {
    free(op->not_retired[i]);
    free(op->reasons[i]);
  }
  free(op->retired);
  free(op->not_retired);
  free(op->reasons);
  free(op->workers);
  free(op);
}

static void op_unlink(tide__sched *s, sretire *op)
{
  for (sretire **p = &s->retires; *p; p = &(*p)->next)
    if (*p == op) {
      *p = op->next;
      break;
    }
}

static void finish_cb(uv_timer_t *t)
{
  sretire *op = t->data;
  tide__sched *s = op->s;
  op_unlink(s, op);
  if (op->cb) {
    tide__retire_result r = {op->retired, op->nretired, op->not_retired, op->reasons, op->nnot};
    op->cb(s, &r, op->arg);
  }
  uv_close((uv_handle_t *)&op->timer, op_free);
}

static void maybe_finish(sretire *op)
{
  if (op->npending > 0 || op->finishing)
    return;
  op->finishing = true;
  uv_timer_stop(&op->timer);
  uv_timer_start(&op->timer, finish_cb, 0, 0);
}

static void resolve(sretire *op, sworker *w)
{
  if (w->retire_pos < op->n && op->workers[w->retire_pos] == w) {
    op->workers[w->retire_pos] = NULL;
    op->npending--;
  }
  w->retire = NULL;
}

static void add_not(sretire *op, const char *name, const char *reason)
{
  op->not_retired = tide__xrealloc(op->not_retired, (op->nnot + 1) * sizeof(char *));
  op->reasons = tide__xrealloc(op->reasons, (op->nnot + 1) * sizeof(char *));
  op->not_retired[op->nnot] = tide__xstrdup(name);
  op->reasons[op->nnot] = tide__xstrdup(reason);
  op->nnot++;
}

/* Put a retiring worker back to running when its data cannot move or the
 * timeout passes (docs/design.md §6): never kill it. */
static void undo(tide__sched *s, sworker *w, const char *reason)
{
  sretire *op = w->retire;
  if (!op)
    return;
  tide__warn("sched", "worker %s not retired: %s", w->name, reason);
  add_not(op, w->name, reason);
  s->counters.retire_failed++;
  resolve(op, w);
  tide__sw_set_status(s, w, TIDE_W_RUNNING);
  maybe_finish(op);
}

static void timeout_cb(uv_timer_t *t)
{
  sretire *op = t->data;
  tide__sched *s = op->s;
  char why[128];
  snprintf(why, sizeof why, "retirement did not finish within %gs (retire-timeout)",
           s->cfg.scheduler.retire_timeout);
  for (size_t i = 0; i < op->n; i++)
    if (op->workers[i])
      undo(s, op->workers[i], why);
}

/* True when t has a copy on a worker that is not being retired. */
static bool safe(const stask *t)
{
  for (uint32_t i = 0; i < t->nholders; i++)
    if (t->holders[i].w->status != TIDE_W_CLOSING_GRACEFULLY)
      return true;
  return false;
}

/* The running worker holding the least data. Retiring k workers asks for it
 * k times while the running workers do not change, so the pick is kept
 * until a running worker's bytes or status change (workers.c). */
static sworker *least_memory(tide__sched *s)
{
  if (s->least_valid)
    return s->least_cache;
  sworker *best = NULL, *w, *tmp;
  HASH_ITER (hh, s->workers, w, tmp) {
    if (w->status != TIDE_W_RUNNING || w->removed)
      continue;
    if (!best || w->nbytes < best->nbytes)
      best = w;
  }
  s->least_cache = best;
  s->least_valid = true;
  return best;
}

void tide__retire_check(tide__sched *s, sworker *w)
{
  sretire *op = w->retire;
  if (!op || w->removed || w->nprocessing > 0)
    return;
  size_t nunsafe = 0;
  int64_t bytes = 0;
  for (uint32_t i = 0; i < w->nhas; i++)
    if (!safe(w->has[i])) {
      nunsafe++;
      bytes += w->has[i]->nbytes;
    }
  if (nunsafe == 0) {
    resolve(op, w);
    op->retired = tide__xrealloc(op->retired, (op->nretired + 1) * sizeof(char *));
    op->retired[op->nretired++] = tide__xstrdup(w->name);
    s->counters.retired++;
    msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_CLOSE, 1);
    if (pk) {
      tide__pk_kstr(pk, "reason", "retired");
      tide__sched_sent(s, w->conn);
    }
    tide__sw_remove(s, w, true, "retired");
    maybe_finish(op);
    return;
  }
  double now = tide__wall();
  if (w->replicas_sent_at > 0 && now - w->replicas_sent_at < REPLICA_RESEND_S)
    return; /* waiting for add-keys */
  sworker *dest = least_memory(s);
  char why[512];
  if (!dest) {
    snprintf(why, sizeof why, "no running worker can take its %zu keys", nunsafe);
    undo(s, w, why);
    return;
  }
  if (dest->memory_limit > 0 && dest->nbytes + bytes > dest->memory_limit) {
    snprintf(why, sizeof why, "its %zu keys (%lld bytes) would exceed the memory limit of %s",
             nunsafe, (long long)bytes, dest->name);
    undo(s, w, why);
    return;
  }
  msgpack_packer *pk = tide__sched_send(s, dest->conn, TIDE_OP_ACQUIRE_REPLICAS, 1);
  if (!pk)
    return;
  tide__pk_str(pk, "keys");
  msgpack_pack_map(pk, (uint32_t)nunsafe);
  for (uint32_t i = 0; i < w->nhas; i++) {
    stask *t = w->has[i];
    if (safe(t))
      continue;
    tide__pk_str(pk, t->key);
    msgpack_pack_array(pk, t->nholders);
    for (uint32_t j = 0; j < t->nholders; j++)
      tide__pk_str(pk, t->holders[j].w->address);
  }
  tide__sched_sent(s, dest->conn);
  w->replicas_sent_at = now;
  tide__info("sched", "retiring %s: copying %zu keys to %s", w->name, nunsafe, dest->name);
}

static void check_all(tide__sched *s, bool resend)
{
  for (sretire *op = s->retires; op; op = op->next)
    for (size_t i = 0; i < op->n; i++)
      if (op->workers[i]) {
        if (resend)
          op->workers[i]->replicas_sent_at = 0;
        tide__retire_check(s, op->workers[i]);
      }
}

void tide__retire_check_all(tide__sched *s)
{
  check_all(s, false);
}

void tide__retire_add_keys(tide__sched *s, sworker *from, const msgpack_object *msg)
{
  tide__sw_keys_held(s, from, tide__mp_map(msg, "keys"), true);
  const msgpack_object_array *failed = tide__mp_array(msg, "failed");
  for (uint32_t i = 0; failed && i < failed->size; i++) {
    const msgpack_object *k = &failed->ptr[i];
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    stask *t = tide__task_find(s, k->via.str.ptr, k->via.str.size);
    if (!t)
      continue;
    for (uint32_t j = 0; j < t->nholders; j++) {
      sworker *h = t->holders[j].w;
      if (h->retire) {
        char why[512];
        snprintf(why, sizeof why, "%s could not copy key %s", from->name, t->key);
        undo(s, h, why);
      }
    }
  }
  check_all(s, false);
}

void tide__retire_worker_gone(tide__sched *s, sworker *w, bool expected)
{
  if (w->retire)
    undo(s, w, "the worker went away during retirement");
  else if (!expected && s->retires)
    check_all(s, true); /* a destination may have gone: ask again */
}

int tide__sched_retire_workers(tide__sched *s, char *const *names, size_t n, tide__retire_fn cb,
                               void *arg, tide_error *err)
{
  if (s->closing)
    return tide_errprintf(err, TIDE_ECLOSED, "the scheduler is closing");
  sretire *op = tide__xcalloc(1, sizeof *op);
  op->s = s;
  op->cb = cb;
  op->arg = arg;
  op->workers = tide__xcalloc(n + 1, sizeof *op->workers);
  uv_timer_init(s->loop, &op->timer);
  op->timer.data = op;
  op->next = s->retires;
  s->retires = op;
  for (size_t i = 0; i < n; i++) {
    sworker *w = tide__sw_find(s, names[i]);
    if (!w)
      add_not(op, names[i], "unknown worker");
    else if (w->retire || w->status == TIDE_W_CLOSING_GRACEFULLY)
      add_not(op, names[i], "already being retired");
    else {
      w->retire = op;
      w->replicas_sent_at = 0;
      tide__sw_set_status(s, w, TIDE_W_CLOSING_GRACEFULLY);
      w->retire_pos = op->n;
      op->workers[op->n++] = w;
      op->npending++;
      tide__info("sched", "retiring worker %s", w->name);
    }
  }
  double to = s->cfg.scheduler.retire_timeout;
  if (to > 0 && op->npending)
    uv_timer_start(&op->timer, timeout_cb, (uint64_t)(to * 1000), 0);
  for (size_t i = 0; i < op->n; i++)
    if (op->workers[i])
      tide__retire_check(s, op->workers[i]);
  maybe_finish(op);
  return 0;
}

void tide__retire_destroy_all(tide__sched *s)
{
  /* every accepted call gets its answer (scheduler.h), so that callers can
   * free what they keep for it: workers still pending are not retired */
  while (s->retires) {
    sretire *op = s->retires;
    s->retires = op->next;
    for (size_t i = 0; i < op->n; i++)
      if (op->workers[i]) {
        add_not(op, op->workers[i]->name, "the scheduler is closing");
        op->workers[i]->retire = NULL;
        op->workers[i] = NULL;
      }
    op->npending = 0;
    uv_timer_stop(&op->timer);
    if (op->cb) {
      tide__retire_result r = {op->retired, op->nretired, op->not_retired, op->reasons, op->nnot};
      op->cb(s, &r, op->arg);
    }
    uv_close((uv_handle_t *)&op->timer, op_free);
  }
}
