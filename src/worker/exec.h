/* Execution threads: a fixed pool of nthreads threads taking jobs from a
 * mutex/condition FIFO; finished jobs go back to the loop thread through
 * one uv_async_t, drained in batches (all completions per wake-up). */
#ifndef TIDE_WORKER_EXEC_H
#define TIDE_WORKER_EXEC_H

#include <msgpack.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "tide/error.h"
#include "tide/task.h"

/* How a call ended. */
typedef enum tide__wk_call_outcome {
  TIDE__CALL_OK,
  TIDE__CALL_ERRED,
  TIDE__CALL_CANCELLED, /* before it ran */
} tide__wk_call_outcome;

/* One function call. The owner (the worker's task) embeds it. */
typedef struct tide__wk_call {
  struct tide__wk_call *next;
  tide_task_fn fn;
  const char *key; /* borrowed from the owner, for tide_task_key */
  char *args;      /* packed msgpack array of the arguments (owned) */
  size_t args_len;
  /* results, set by tide__wk_call_run */
  tide__wk_call_outcome outcome;
  char *result; /* OK: the packed value (malloc'd, owned) */
  size_t result_len;
  char *error;           /* ERRED: message (malloc'd, owned) */
  double start, stop;    /* wall-clock epochs */
  int thread;            /* 1..nthreads, 0 = ran on the loop thread */
  atomic_bool cancelled; /* set by the loop thread: skip if not started */
} tide__wk_call;

/* Run job now on the calling thread (thread number thread): unpack args,
 * call fn, check that exactly one value was packed. Frees job->args. */
void tide__wk_call_run(tide__wk_call *job, int thread);
/* Free the job's buffers (args, result, error), not the job. */
void tide__wk_call_clear(tide__wk_call *job);

typedef struct tide__exec tide__exec;
/* Called on the loop thread for each finished (or cancelled) job, in the
 * order they finished. */
typedef void (*tide__exec_done_fn)(tide__wk_call *job, void *arg);

/* Start nthreads threads. */
int tide__exec_create(uv_loop_t *loop, int nthreads, tide__exec_done_fn done, void *arg,
                      tide__exec **out, tide_error *err);
/* Queue a job (loop thread). */
void tide__exec_submit(tide__exec *ex, tide__wk_call *job);
/* While paused, threads start no new jobs. */
void tide__exec_set_paused(tide__exec *ex, bool paused);
/* Pack the running jobs as an array of [key, elapsed seconds]. */
void tide__exec_pack_running(tide__exec *ex, msgpack_packer *pk);
/* Jobs queued but not started, and jobs running. */
size_t tide__exec_queued(tide__exec *ex);
size_t tide__exec_busy(tide__exec *ex);
/* Stop the threads and close the async handle. Idle threads are joined,
 * and in the close callback every job still held is handed to the done
 * function: finished ones with their results, queued ones cancelled (rc 1).
 * If a job is still running (a long sleep) the threads are detached and
 * the pool and its jobs are left to the process exit. */
void tide__exec_close(tide__exec *ex);

#endif
