/* Execution thread pool and the job runner. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/msg.h"
#include "worker/exec.h"
#include "worker/registry.h"

typedef struct slot {
  const char *key; /* running job's key, NULL when idle */
  double start;    /* monotonic */
} slot;

struct tide__exec {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  tide__wk_call *head, *tail; /* queued */
  size_t nqueued;
  tide__wk_call *done; /* finished, newest first */
  int nthreads, nidle, nbusy;
  bool paused, stop, closed;
  pthread_t *threads;
  slot *slots;
  tide__exec_done_fn done_fn;
  void *done_arg;
  struct tide__exec *next_abandoned;
};

/* Pools whose detached threads still run a job at close: kept reachable
 * until the process exits (their jobs may still be in use). */
static tide__exec *abandoned;

void tide__wk_call_clear(tide__wk_call *job)
{
  free(job->args);
  free(job->result);
  free(job->error);
  job->args = job->result = job->error = NULL;
}

void tide__wk_call_run(tide__wk_call *job, int thread)
{
  msgpack_zone zone;
  msgpack_object args;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  tide_task_ctx ctx = {job->key, NULL, thread};
  size_t off = 0;

  job->thread = thread;
  job->start = tide__wall();
  msgpack_zone_init(&zone, 2048);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int urc = msgpack_unpack(job->args, job->args_len, &off, &zone, &args);
  if (urc != MSGPACK_UNPACK_SUCCESS || args.type != MSGPACK_OBJECT_ARRAY) {
    tide_task_fail(&ctx, "internal error: bad arguments");
    job->outcome = TIDE__CALL_ERRED;
  } else {
    job->outcome = job->fn(&ctx, args.via.array.ptr, args.via.array.size, &pk) == 0
                       ? TIDE__CALL_OK
                       : TIDE__CALL_ERRED;
    if (job->outcome == TIDE__CALL_OK) {
      /* exactly one value must have been packed */
      size_t roff = 0;
      msgpack_zone rz;
      msgpack_object r;
      msgpack_zone_init(&rz, 256);
      int rrc =
          sb.size ? msgpack_unpack(sb.data, sb.size, &roff, &rz, &r) : MSGPACK_UNPACK_CONTINUE;
      msgpack_zone_destroy(&rz);
      if (rrc != MSGPACK_UNPACK_SUCCESS || roff != sb.size) {
        tide_task_fail(&ctx, "function returned %s",
                       sb.size ? "more than one value or a malformed value" : "no value");
        job->outcome = TIDE__CALL_ERRED;
      }
    } else if (!ctx.error) {
      tide_task_fail(&ctx, "function failed without a message");
    }
  }
  job->stop = tide__wall();
  msgpack_zone_destroy(&zone);
  free(job->args);
  job->args = NULL;
  if (job->outcome == TIDE__CALL_OK) {
    /* The store keeps the result: an exact-size copy, not the packer's
     * buffer (8 KiB at least: a page fault or two per task, and 8 KiB of
     * worker memory per small result held). */
    job->result_len = sb.size;
    job->result = tide__xmalloc(sb.size ? sb.size : 1);
    memcpy(job->result, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    free(ctx.error);
  } else {
    msgpack_sbuffer_destroy(&sb);
    job->error = ctx.error;
  }
}

static void *thread_main(void *p)
{
  tide__exec *ex = p;
  pthread_mutex_lock(&ex->lock);
  int me = 0;
  for (int i = 0; i < ex->nthreads; i++)
    if (pthread_equal(ex->threads[i], pthread_self()))
      me = i;
  for (;;) {
    while (!ex->stop && (ex->paused || !ex->head)) {
      ex->nidle++;
      pthread_cond_wait(&ex->cond, &ex->lock);
      ex->nidle--;
    }
    if (ex->stop)
      break;
    tide__wk_call *job = ex->head;
    ex->head = job->next;
    if (!ex->head)
      ex->tail = NULL;
    ex->nqueued--;
    bool skip = atomic_load(&job->cancelled);
    if (!skip) {
      ex->slots[me].key = job->key;
      ex->slots[me].start = tide__now();
      ex->nbusy++;
    }
    pthread_mutex_unlock(&ex->lock);
    if (skip) {
      job->outcome = TIDE__CALL_CANCELLED;
      free(job->args);
      job->args = NULL;
    } else {
      tide__wk_call_run(job, me + 1);
    }
    pthread_mutex_lock(&ex->lock);
    if (!skip) {
      ex->slots[me].key = NULL;
      ex->nbusy--;
    }
    bool wake = ex->done == NULL;
    job->next = ex->done;
    ex->done = job;
    if (wake && !ex->closed)
      uv_async_send(&ex->async);
  }
  pthread_mutex_unlock(&ex->lock);
  return NULL;
}

static void on_async(uv_async_t *h)
{
  tide__exec *ex = h->data;
  pthread_mutex_lock(&ex->lock);
  tide__wk_call *list = ex->done;
  ex->done = NULL;
  pthread_mutex_unlock(&ex->lock);
  tide__wk_call *fifo = NULL; /* reverse: oldest first */
  while (list) {
    tide__wk_call *n = list->next;
    list->next = fifo;
    fifo = list;
    list = n;
  }
  while (fifo) {
    tide__wk_call *n = fifo->next;
    fifo->next = NULL;
    ex->done_fn(fifo, ex->done_arg);
    fifo = n;
  }
}

int tide__exec_create(uv_loop_t *loop, int nthreads, tide__exec_done_fn done, void *arg,
                      tide__exec **out, tide_error *err)
{
  if (nthreads < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "nthreads must be at least 1, got %d", nthreads);
  tide__exec *ex = tide__xcalloc(1, sizeof *ex);
  ex->loop = loop;
  ex->nthreads = nthreads;
  ex->done_fn = done;
  ex->done_arg = arg;
  ex->threads = tide__xcalloc((size_t)nthreads, sizeof *ex->threads);
  ex->slots = tide__xcalloc((size_t)nthreads, sizeof *ex->slots);
  pthread_mutex_init(&ex->lock, NULL);
  pthread_cond_init(&ex->cond, NULL);
  int rc = uv_async_init(loop, &ex->async, on_async);
  if (rc != 0) {
    free(ex->threads);
    free(ex->slots);
    free(ex);
    return tide_errprintf(err, rc, "cannot create the completion handle: %s", uv_strerror(rc));
  }
  ex->async.data = ex;
  pthread_mutex_lock(&ex->lock); /* threads find their index once all exist */
  for (int i = 0; i < nthreads; i++) {
    if (pthread_create(&ex->threads[i], NULL, thread_main, ex) != 0) {
      tide__log(TIDE_LOG_ERROR, "worker", "cannot start execution thread %d", i + 1);
      abort();
    }
  }
  pthread_mutex_unlock(&ex->lock);
  *out = ex;
  return 0;
}

void tide__exec_submit(tide__exec *ex, tide__wk_call *job)
{
  job->next = NULL;
  pthread_mutex_lock(&ex->lock);
  if (ex->tail)
    ex->tail->next = job;
  else
    ex->head = job;
  ex->tail = job;
  ex->nqueued++;
  if (ex->nidle > 0 && !ex->paused)
    pthread_cond_signal(&ex->cond);
  pthread_mutex_unlock(&ex->lock);
}

void tide__exec_set_paused(tide__exec *ex, bool paused)
{
  pthread_mutex_lock(&ex->lock);
  ex->paused = paused;
  if (!paused)
    pthread_cond_broadcast(&ex->cond);
  pthread_mutex_unlock(&ex->lock);
}

void tide__exec_pack_running(tide__exec *ex, msgpack_packer *pk)
{
  double now = tide__now();
  pthread_mutex_lock(&ex->lock);
  msgpack_pack_array(pk, (uint32_t)ex->nbusy);
  for (int i = 0, n = 0; i < ex->nthreads && n < ex->nbusy; i++) {
    if (!ex->slots[i].key)
      continue;
    n++;
    msgpack_pack_array(pk, 2);
    tide__pk_str(pk, ex->slots[i].key);
    msgpack_pack_double(pk, now - ex->slots[i].start);
  }
  pthread_mutex_unlock(&ex->lock);
}

size_t tide__exec_queued(tide__exec *ex)
{
  pthread_mutex_lock(&ex->lock);
  size_t n = ex->nqueued;
  pthread_mutex_unlock(&ex->lock);
  return n;
}

size_t tide__exec_busy(tide__exec *ex)
{
  pthread_mutex_lock(&ex->lock);
  size_t n = (size_t)ex->nbusy;
  pthread_mutex_unlock(&ex->lock);
  return n;
}

static void on_async_closed(uv_handle_t *h)
{
  tide__exec *ex = h->data;
  if (!ex->threads) { /* joined: nobody else uses it */
    /* hand back the jobs still held so their owners can free them:
     * queued ones as cancelled, then every finished one */
    for (tide__wk_call *j = ex->head, *next; j; j = next) {
      next = j->next;
      j->outcome = TIDE__CALL_CANCELLED;
      free(j->args);
      j->args = NULL;
      j->next = ex->done;
      ex->done = j;
    }
    ex->head = ex->tail = NULL;
    ex->nqueued = 0;
    on_async(&ex->async);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->cond);
    free(ex->slots);
    free(ex);
  }
}

void tide__exec_close(tide__exec *ex)
{
  if (!ex)
    return;
  pthread_mutex_lock(&ex->lock);
  ex->stop = true;
  ex->closed = true;
  bool busy = ex->nbusy > 0;
  pthread_cond_broadcast(&ex->cond);
  pthread_mutex_unlock(&ex->lock);
  for (int i = 0; i < ex->nthreads; i++) {
    if (busy)
      pthread_detach(ex->threads[i]);
    else
      pthread_join(ex->threads[i], NULL);
  }
  if (!busy) {
    free(ex->threads);
    ex->threads = NULL;
  } else {
    ex->next_abandoned = abandoned;
    abandoned = ex;
  }
  uv_close((uv_handle_t *)&ex->async, on_async_closed);
}
