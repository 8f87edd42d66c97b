/* compute-task: resolve {"ref": KEY} arguments from the store or from
 * peers, run the function (inline for cheap builtins, else on a thread),
 * store the result and report task-finished / task-erred. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"
#include "worker/args.h"
#include "worker/registry.h"
#include "worker/report.h"
#include "worker/worker_int.h"

/* Cheap functions run on the loop thread when their arguments are small:
 * no thread hand-off for trivial tasks. */
#define INLINE_MAX_ARGS 4096

/* Where a task's references are looked up (tide__args_lookup): the store,
 * then the values fetched from peers for it. */
static bool value_of(void *ctx, const char *key, size_t len, const char **data, size_t *n)
{
  tide__wk *w = ctx;
  if (tide__store_get(w->store, key, len, data, n))
    return true;
  fetch *f = tide__fetch_find(w, key, len);
  if (f && f->state == FETCH_HAVE && f->data) {
    *data = f->data;
    *n = f->len;
    return true;
  }
  return false;
}

static void send_missing(tide__wk *w, const char *key, size_t klen, const char *dep, size_t dlen,
                         const char *holder)
{
  tide__wk_report_missing(tide__wk_sched(w), key, klen, dep, dlen, holder);
}

/* Report a task's outcome: task-erred with error, or task-finished with
 * nbytes when error is NULL. */
static void send_outcome(tide__wk *w, const char *key, size_t klen, const char *error,
                         size_t nbytes, double start, double stop, int thread)
{
  tide__wk_report_outcome(tide__wk_sched(w), key, klen, error, nbytes, start, stop, thread);
}

void tide__wtask_free(wtask *t)
{
  tide__vec_free(&t->deps);
  free(t->raw_args);
  tide__wk_call_clear(&t->job);
  free(t->key);
  free(t);
}

static void task_free(tide__wk *w, wtask *t)
{
  for (size_t i = 0; i < t->deps.n; i++)
    tide__fetch_release(w, t->deps.v[i]);
  /* tasks sent to run after this one start now, or learn it failed */
  tide__fetch_local_done(w, t->key, t->keylen);
  tide__wtask_free(t);
}

/* Forget the task (it runs nothing and reports nothing); the caller frees
 * it or leaves that to the last pending fetch or the execution thread. */
static void task_mark_cancelled(tide__wk *w, wtask *t)
{
  if (t->cancelled)
    return;
  HASH_DEL(w->tasks, t);
  t->cancelled = true;
  atomic_store(&t->job.cancelled, true);
}

static void task_cancel(tide__wk *w, wtask *t)
{
  if (t->cancelled)
    return;
  task_mark_cancelled(w, t);
  if (!t->in_exec && t->waiting == 0)
    task_free(w, t);
}

void tide__wtask_cancel_all(tide__wk *w)
{
  wtask *t, *tmp;
  HASH_ITER (hh, w->tasks, t, tmp)
    task_cancel(w, t);
}

/* All inputs are here: build the argument buffer and run. */
static void task_launch(tide__wk *w, wtask *t, const msgpack_object *args)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *missing = NULL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  bool ok = tide__args_subst(&sb, &pk, args, value_of, w, &missing);
  for (size_t i = 0; i < t->deps.n; i++)
    tide__fetch_release(w, t->deps.v[i]);
  tide__vec_free(&t->deps);
  free(t->raw_args);
  t->raw_args = NULL;
  if (!ok) {
    msgpack_sbuffer_destroy(&sb);
    tide__warn("worker", "task %s: dependency %.*s is not held here", t->key,
               (int)missing->via.str.size, missing->via.str.ptr);
    send_missing(w, t->key, t->keylen, missing->via.str.ptr, missing->via.str.size, w->address);
    task_cancel(w, t);
    return;
  }
  t->job.args_len = sb.size;
  t->job.args = msgpack_sbuffer_release(&sb);
  t->in_exec = true;
  if ((t->flags & TIDE_FN_INLINE) && t->job.args_len <= INLINE_MAX_ARGS && !w->paused) {
    tide__wk_call_run(&t->job, 0);
    tide__wtask_done(&t->job, w);
  } else {
    tide__exec_submit(w->exec, &t->job);
  }
}

void tide__wtask_done(tide__wk_call *job, void *arg)
{
  tide__wk *w = arg;
  wtask *t = (wtask *)((char *)job - offsetof(wtask, job));
  t->in_exec = false;
  if (t->cancelled || job->outcome == TIDE__CALL_CANCELLED) {
    if (!t->cancelled)
      HASH_DEL(w->tasks, t);
    task_free(w, t);
    return;
  }
  HASH_DEL(w->tasks, t);
  /* a result that could not travel in one frame would be lost in transit:
   * refuse it here, where the task can still err (docs/design.md §9) */
  int64_t maxr = tide__limits_result_size(tide__limits_get());
  if (job->outcome == TIDE__CALL_OK && job->result_len > (size_t)maxr) {
    char why[200];
    snprintf(why, sizeof why,
             "result of %zu bytes is too large to send: limits.result-size is %lld bytes",
             job->result_len, (long long)maxr);
    tide__warn("worker", "task %s: %s", t->key, why);
    send_outcome(w, t->key, t->keylen, why, 0, job->start, job->stop, job->thread);
  } else if (job->outcome == TIDE__CALL_OK) {
    size_t n = job->result_len;
    tide__store_put(w->store, t->key, t->keylen, job->result, n);
    job->result = NULL;
    send_outcome(w, t->key, t->keylen, NULL, n, job->start, job->stop, job->thread);
  } else {
    tide__debug("worker", "task %s erred: %s", t->key, job->error);
    send_outcome(w, t->key, t->keylen, job->error, 0, job->start, job->stop, job->thread);
  }
  task_free(w, t);
}

void tide__wtask_fetched(tide__wk *w, wtask *t, fetch *f, bool ok)
{
  t->waiting--;
  if (!ok && !t->cancelled) {
    if (f->failed.n == 0)
      send_missing(w, t->key, t->keylen, f->key, f->keylen, "");
    for (size_t i = 0; i < f->failed.n; i++)
      send_missing(w, t->key, t->keylen, f->key, f->keylen, f->failed.v[i]);
    task_mark_cancelled(w, t); /* the scheduler reschedules it */
  }
  if (t->waiting > 0)
    return;
  if (t->cancelled) {
    if (!t->in_exec)
      task_free(w, t);
    return;
  }
  msgpack_zone zone;
  msgpack_object args;
  size_t off = 0;
  msgpack_zone_init(&zone, 1024);
  if (msgpack_unpack(t->raw_args, t->raw_len, &off, &zone, &args) == MSGPACK_UNPACK_SUCCESS)
    task_launch(w, t, &args);
  else
    task_cancel(w, t);
  msgpack_zone_destroy(&zone);
}

static void add_dep(wtask *t, fetch *f)
{
  tide__vec_push(&t->deps, f);
}

void tide__wtask_compute(tide__wk *w, const msgpack_object *msg)
{
  const char *key, *fn;
  size_t klen, fnlen;
  if (!tide__mp_str(msg, "key", &key, &klen) || !tide__mp_str(msg, "fn", &fn, &fnlen)) {
    tide__warn("worker", "compute-task without key or fn: ignored");
    return;
  }
  const msgpack_object *args = tide__args_get(msg);
  wtask *t;
  HASH_FIND(hh, w->tasks, key, klen, t);
  if (t)
    return; /* already on it */
  size_t held;
  if (tide__store_get(w->store, key, klen, NULL, &held)) {
    double now = tide__wall();
    send_outcome(w, key, klen, NULL, held, now, now, 0);
    return;
  }
  unsigned flags;
  tide_task_fn f = tide__registry_find(w->reg, fn, fnlen, &flags);
  if (!f) {
    char *e = tide__xasprintf("unknown function %.*s", (int)fnlen, fn);
    double now = tide__wall();
    send_outcome(w, key, klen, e, 0, now, now, 0);
    free(e);
    return;
  }
  t = tide__xcalloc(1, sizeof *t);
  t->key = tide__xstrndup(key, klen);
  t->keylen = klen;
  t->flags = flags;
  t->job.fn = f;
  t->job.key = t->key;
  atomic_init(&t->job.cancelled, false);
  HASH_ADD_KEYPTR(hh, w->tasks, t->key, klen, t);

  const msgpack_object_map *deps = tide__mp_map(msg, "deps");
  for (uint32_t i = 0; deps && i < deps->size; i++) {
    const msgpack_object *dk = &deps->ptr[i].key;
    if (dk->type != MSGPACK_OBJECT_STR)
      continue;
    if (tide__store_get(w->store, dk->via.str.ptr, dk->via.str.size, NULL, NULL))
      continue;
    const msgpack_object_array *who = tide__mp_array(&deps->ptr[i].val, "who_has");
    wtask *before;
    HASH_FIND(hh, w->tasks, dk->via.str.ptr, dk->via.str.size, before);
    fetch *fe;
    /* sent after a task of ours (docs/protocol.md); never after itself: a
     * task naming its own key as a dep (no scheduler sends one) would wait
     * for itself for good, so that dep is fetched, fails and errs the task */
    if (before && before != t && (!who || who->size == 0))
      fe = tide__fetch_local(w, dk->via.str.ptr, dk->via.str.size, (waiter){t, NULL});
    else
      fe = tide__fetch_want(w, dk->via.str.ptr, dk->via.str.size, who, (waiter){t, NULL});
    add_dep(t, fe);
  }
  if (t->waiting == 0) {
    task_launch(w, t, args);
    return;
  }
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_object(&pk, *args);
  t->raw_len = sb.size;
  t->raw_args = msgpack_sbuffer_release(&sb);
  tide__transfer_flush(w);
}

void tide__wtask_free_keys(tide__wk *w, const msgpack_object *msg)
{
  const msgpack_object_array *keys = tide__mp_array(msg, "keys");
  for (uint32_t i = 0; keys && i < keys->size; i++) {
    const msgpack_object *k = &keys->ptr[i];
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    tide__store_del(w->store, k->via.str.ptr, k->via.str.size);
    wtask *t;
    HASH_FIND(hh, w->tasks, k->via.str.ptr, k->via.str.size, t);
    if (t)
      task_cancel(w, t);
  }
}
