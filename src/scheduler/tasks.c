/* The task state machine: waiting, queued, no-worker, processing, memory,
 * erred, released; dependency counting, release and forgetting, recompute
 * of lost results, error propagation. O(edges) per transition. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"
#include "scheduler/internal.h"

/* A small stack of tasks used as a worklist instead of recursion (chains
 * can be very deep). */
typedef TIDE__VEC(stask *) tvec;

static const char *const state_names[TIDE_TS__COUNT] = {
    "waiting", "queued", "no-worker", "processing", "memory", "erred", "released",
};

const char *tide__tstate_name(tide__tstate s)
{
  return (unsigned)s < TIDE_TS__COUNT ? state_names[s] : "unknown";
}

static bool pending(int st)
{
  return st == TIDE_TS_WAITING || st == TIDE_TS_QUEUED || st == TIDE_TS_NO_WORKER ||
         st == TIDE_TS_PROCESSING;
}

bool tide__task_needed(const stask *t)
{
  return t->nwants > 0 || t->nwaiters > 0;
}

stask *tide__task_find(tide__sched *s, const char *key, size_t len)
{
  stask *t;
  HASH_FIND(hh, s->tasks, key, len, t);
  return t;
}

void tide__task_free(stask *t)
{
  if (t->err) {
    free(t->err->msg);
    free(t->err->task);
    free(t->err->worker);
    free(t->err);
  }
  free(t->dependents);
  free(t->holders);
  free(t);
}

stask *tide__task_new(tide__sched *s, const char *key, size_t keylen, const char *fn, size_t fnlen,
                      const char *prefix, size_t prefixlen, const char *args, size_t args_len,
                      stask *const *deps, uint32_t ndeps)
{
  if (tide__task_find(s, key, keylen))
    return NULL;
  size_t sz = sizeof(stask) + ndeps * sizeof(tedge);
  stask *t = tide__xmalloc(sz + keylen + 1 + args_len);
  memset(t, 0, sizeof *t);
  char *k = (char *)t + sz;
  memcpy(k, key, keylen);
  k[keylen] = 0;
  t->key = k;
  if (args_len)
    memcpy(k + keylen + 1, args, args_len);
  t->args = args_len ? k + keylen + 1 : NULL;
  t->args_len = (uint32_t)args_len;
  t->fn = tide__sched_intern(s, fn, fnlen);
  if (fnlen >= 5 && memcmp(fn, "tide.", 5) == 0)
    t->flags |= TF_ANYWHERE;
  t->pfx =
      prefix && prefixlen ? tide__prefix_get(s, prefix, prefixlen) : tide__prefix_get(s, fn, fnlen);
  t->ndeps = ndeps;
  for (uint32_t i = 0; i < ndeps; i++) {
    stask *d = deps[i];
    /* Grown by hand, not through vec.h: most tasks have one or two
     * dependents, and a first room of 2 with 32-bit counts keeps the
     * scheduler's per-task memory (docs/benchmarks.md, sched_mem) where a
     * TIDE__VEC's first 8 edges and size_t counts would not. */
    if (d->ndependents == d->capdependents) {
      d->capdependents = d->capdependents ? d->capdependents * 2 : 2;
      d->dependents = tide__xrealloc(d->dependents, d->capdependents * sizeof(tedge));
    }
    d->dependents[d->ndependents] = (tedge){t, i};
    t->deps[i] = (tedge){d, d->ndependents};
    d->ndependents++;
  }
  t->state = TIDE_TS_RELEASED;
  s->counts[TIDE_TS_RELEASED]++;
  t->pfx->nstates[TIDE_TS_RELEASED]++;
  HASH_ADD_KEYPTR(hh, s->tasks, t->key, keylen, t);
  return t;
}

void tide__task_set_state(tide__sched *s, stask *t, tide__tstate st)
{
  int old = t->state;
  if (old == (int)st)
    return;
  s->counts[old]--;
  s->counts[st]++;
  t->pfx->nstates[old]--;
  t->pfx->nstates[st]++;
  t->state = (uint8_t)st;
  bool po = pending(old), pn = pending(st);
  if (po && !pn) {
    for (uint32_t i = 0; i < t->ndeps; i++) {
      stask *d = t->deps[i].t;
      if (d->nwaiters > 0)
        d->nwaiters--;
      if (d->nwaiters == 0)
        tide__task_maybe_release(s, d);
    }
  } else if (!po && pn) {
    for (uint32_t i = 0; i < t->ndeps; i++)
      t->deps[i].t->nwaiters++;
  }
}

/* Free a released task nobody refers to, and then its deps that became
 * unreferenced too. */
static void maybe_forget(tide__sched *s, stask *t)
{
  tvec q = {0};
  tide__vec_push(&q, t);
  while (q.n) {
    stask *x = q.v[--q.n];
    if (x->state != TIDE_TS_RELEASED || x->nwants || x->ndependents || x->nwaiters || x->nholders ||
        (x->flags & (TF_RELEASING | TF_PINNED)))
      continue;
    HASH_DELETE(hh, s->tasks, x);
    tide__client_forget(s, x);
    for (uint32_t i = 0; i < x->ndeps; i++) {
      stask *d = x->deps[i].t;
      uint32_t pos = x->deps[i].pos;
      tedge last = d->dependents[--d->ndependents];
      if (pos != d->ndependents) {
        d->dependents[pos] = last;
        last.t->deps[last.pos].pos = pos;
      }
      /* pushed once: only when its last dependent goes (a diamond's top
       * would otherwise be pushed twice and freed twice) */
      if (d->ndependents == 0)
        tide__vec_push(&q, d);
    }
    s->counts[TIDE_TS_RELEASED]--;
    x->pfx->nstates[TIDE_TS_RELEASED]--;
    tide__task_free(x);
  }
  free(q.v);
}

/* Release one task nobody needs: drop its result, or cancel it if it was
 * still to run; then forget it if nothing refers to it. */
static bool release_one(tide__sched *s, stask *t)
{
  bool cancelled = false;
  t->flags &= ~TF_RELEASING;
  if (tide__task_needed(t))
    return false;
  if (t->state == TIDE_TS_MEMORY) {
    while (t->nholders) {
      sworker *w = t->holders[t->nholders - 1].w;
      tide__send_free_keys(s, w, t);
      tide__holder_remove(s, t, w);
    }
    tide__task_set_state(s, t, TIDE_TS_RELEASED);
  } else if (t->state == TIDE_TS_ERRED) {
    tide__task_set_state(s, t, TIDE_TS_RELEASED);
  } else if (pending(t->state)) {
    if (t->proc) {
      tide__send_free_keys(s, t->proc, t);
      cancelled = true;
    }
    tide__task_unprocess(s, t);
    tide__task_set_state(s, t, TIDE_TS_RELEASED); /* pushes its deps */
  }
  if (t->state == TIDE_TS_RELEASED)
    maybe_forget(s, t);
  return cancelled;
}

/* Iterative (chains are deep): tasks waiting for release are flagged, and
 * maybe_forget leaves flagged ones alone until their turn. */
void tide__task_maybe_release(tide__sched *s, stask *t)
{
  if (tide__task_needed(t) || (t->flags & TF_RELEASING))
    return;
  t->flags |= TF_RELEASING;
  tide__vec_push(&s->work, t);
  if (s->releasing)
    return;
  s->releasing = true;
  bool cancelled = false;
  while (s->work.n)
    cancelled |= release_one(s, s->work.v[--s->work.n]);
  s->releasing = false;
  if (cancelled)
    tide__queue_drain(s);
}

void tide__task_want(tide__sched *s, stask *t, int delta)
{
  if (delta < 0 && t->nwants < (uint16_t)-delta)
    t->nwants = 0;
  else
    t->nwants = (uint16_t)(t->nwants + delta);
  if (delta < 0)
    tide__task_maybe_release(s, t); /* may free t */
}

/* Put a task that is in no list into waiting (or straight to ready), and
 * bring back the released deps it needs: recursively, through q. */
static void enter_waiting(tide__sched *s, stask *x, tvec *q)
{
  for (uint32_t i = 0; i < x->ndeps; i++) {
    stask *d = x->deps[i].t;
    if (d->state == TIDE_TS_ERRED && d->err) {
      tide__task_err_with(s, x, d->err->msg, d->err->task);
      return;
    }
  }
  uint32_t n = 0;
  for (uint32_t i = x->ndeps; i-- > 0;) { /* reversed: the worklist pops in order */
    stask *d = x->deps[i].t;
    if (d->state != TIDE_TS_MEMORY) {
      n++;
      if (d->state == TIDE_TS_RELEASED || d->state == TIDE_TS_ERRED)
        tide__vec_push(q, d);
    }
  }
  tide__task_set_state(s, x, TIDE_TS_WAITING);
  x->nwaiting = n;
  if (n == 0)
    tide__task_ready(s, x);
}

static void run_waiting(tide__sched *s, tvec *q)
{
  while (q->n) {
    stask *x = q->v[--q->n];
    if (x->state != TIDE_TS_RELEASED && x->state != TIDE_TS_ERRED)
      continue;
    if (x->state == TIDE_TS_ERRED) /* erred without detail: run it again */
      tide__task_set_state(s, x, TIDE_TS_RELEASED);
    if (x->flags & TF_DONE_ONCE) {
      s->counters.recomputed++;
      tide__debug("sched", "recomputing %s", x->key);
    }
    enter_waiting(s, x, q);
  }
}

void tide__task_activate(tide__sched *s, stask *t)
{
  if (t->state != TIDE_TS_RELEASED)
    return;
  tvec q = {0};
  tide__vec_push(&q, t);
  run_waiting(s, &q);
  free(q.v);
}

void tide__task_unprocess(tide__sched *s, stask *t)
{
  if (t->flags & TF_IN_LIST) {
    if (t->proc)
      tide__proc_remove(s, t);
    else
      tide__queue_remove(s, t);
  }
}

void tide__task_rewait(tide__sched *s, stask *t)
{
  tide__task_unprocess(s, t);
  tvec q = {0};
  enter_waiting(s, t, &q);
  run_waiting(s, &q);
  free(q.v);
}

void tide__task_lost(tide__sched *s, stask *t)
{
  if (t->state != TIDE_TS_MEMORY || t->nholders > 0)
    return;
  if (!tide__task_needed(t)) {
    tide__task_set_state(s, t, TIDE_TS_RELEASED);
    maybe_forget(s, t);
    return;
  }
  tide__info("sched", "result of %s lost: computing it again", t->key);
  tide__task_set_state(s, t, TIDE_TS_RELEASED);
  /* dependents that counted on it wait again */
  for (uint32_t i = 0; i < t->ndependents; i++) {
    stask *d = t->dependents[i].t;
    if (d->state == TIDE_TS_WAITING) {
      d->nwaiting++;
    } else if (d->state == TIDE_TS_QUEUED || d->state == TIDE_TS_NO_WORKER ||
               d->state == TIDE_TS_PROCESSING) {
      if (d->proc)
        tide__send_free_keys(s, d->proc, d);
      tide__task_unprocess(s, d);
      tide__task_set_state(s, d, TIDE_TS_WAITING);
      d->nwaiting = 0;
      for (uint32_t j = 0; j < d->ndeps; j++)
        if (d->deps[j].t->state != TIDE_TS_MEMORY)
          d->nwaiting++;
    }
  }
  tide__task_activate(s, t);
}

void tide__task_finished(tide__sched *s, sworker *w, stask *t, int64_t nbytes, double start,
                         double stop, int thread)
{
  if (t->state != TIDE_TS_PROCESSING || t->proc != w) {
    if (t->state == TIDE_TS_MEMORY) {
      bool held = false;
      for (uint32_t i = 0; i < t->nholders; i++)
        held |= t->holders[i].w == w;
      if (!held)
        tide__holder_add(s, t, w);
    } else {
      tide__send_free_keys(s, w, t);
    }
    return;
  }
  tide__chain_finished(s, t); /* before proc_remove, which would undo the links after it */
  tide__proc_remove(s, t);
  tide__trace_done(s, t, nbytes, stop - start);
  tide__prefix_sample(t->pfx, stop - start, nbytes);
  t->duration = (float)(stop - start);
  t->nbytes = nbytes;
  t->resends = 0;
  tide__holder_add(s, t, w);
  t->flags |= TF_DONE_ONCE;
  tide__task_set_state(s, t, TIDE_TS_MEMORY);
  w->executed++;
  s->counters.tasks_completed++;
  tide__stream_add(s, t, w, thread, start, stop);
  for (uint32_t i = 0; i < t->ndependents; i++) {
    stask *d = t->dependents[i].t;
    if (d->state == TIDE_TS_WAITING && d->nwaiting > 0 && --d->nwaiting == 0)
      tide__task_ready(s, d);
  }
  tide__client_key_done(s, t);
  tide__task_maybe_release(s, t);
  if (w->status == TIDE_W_CLOSING_GRACEFULLY)
    tide__retire_check(s, w);
  tide__queue_drain(s);
}

/* Set (or replace) why x erred; worker may be NULL. A retry's avoid is kept. */
static void set_error(stask *x, const char *msg, const char *origin, const char *worker)
{
  if (x->err) {
    free(x->err->msg);
    free(x->err->task);
    free(x->err->worker);
  } else {
    x->err = tide__xcalloc(1, sizeof *x->err);
  }
  x->err->msg = tide__xstrdup(msg);
  x->err->task = tide__xstrdup(origin);
  x->err->worker = worker ? tide__xstrdup(worker) : NULL;
}

/* Err t (on worker, a name, or NULL) and its pending dependents. */
static void err_cascade(tide__sched *s, stask *t, const char *msg, const char *origin,
                        const char *worker)
{
  tvec q = {0};
  tide__vec_push(&q, t);
  char *m = tide__xstrdup(msg ? msg : "task failed");
  char *o = tide__xstrdup(origin ? origin : t->key);
  tide__strvec keys = {0};
  while (q.n) {
    stask *x = q.v[--q.n];
    if (x->state == TIDE_TS_ERRED || x->state == TIDE_TS_MEMORY)
      continue;
    if (x->proc)
      tide__send_free_keys(s, x->proc, x);
    tide__task_unprocess(s, x);
    set_error(x, m, o, x == t ? worker : NULL);
    tide__task_set_state(s, x, TIDE_TS_ERRED);
    tide__vec_push(&keys, tide__xstrdup(x->key));
    for (uint32_t i = 0; i < x->ndependents; i++)
      if (pending(x->dependents[i].t->state))
        tide__vec_push(&q, x->dependents[i].t);
    tide__client_key_done(s, x);
  }
  free(m);
  free(o);
  /* release the unwanted ones only after the whole cascade, by key: a
   * release may free tasks that an earlier pointer would still name */
  while (keys.n) {
    char *k = keys.v[--keys.n];
    stask *x = tide__task_find(s, k, strlen(k));
    if (x)
      tide__task_maybe_release(s, x);
    free(k);
  }
  tide__vec_free(&keys);
  tide__vec_free(&q);
}

void tide__task_err_with(tide__sched *s, stask *t, const char *msg, const char *origin)
{
  err_cascade(s, t, msg, origin, NULL);
}

void tide__task_erred(tide__sched *s, sworker *w, stask *t, const char *msg, double start,
                      double stop, int thread)
{
  if (t->state != TIDE_TS_PROCESSING || t->proc != w)
    return;
  tide__proc_remove(s, t);
  tide__stream_add(s, t, w, thread, start, stop);
  t->duration = (float)(stop - start);
  if (t->retries > 0 && tide__task_needed(t)) {
    /* docs/design.md §2: run again, elsewhere when another worker can */
    t->retries--;
    set_error(t, msg ? msg : "task failed", t->key, w->name);
    t->err->avoid = tide__sched_intern(s, w->address, strlen(w->address));
    tide__info("sched", "task %s erred on %s, running it again (%u retries left): %s", t->key,
               w->name, t->retries, msg ? msg : "");
    tide__task_ready(s, t);
  } else {
    s->counters.tasks_erred++;
    tide__info("sched", "task %s erred on %s: %s", t->key, w->name, msg ? msg : "");
    err_cascade(s, t, msg, t->key, w->name); /* may free t */
  }
  if (w->status == TIDE_W_CLOSING_GRACEFULLY)
    tide__retire_check(s, w);
  tide__queue_drain(s);
}
