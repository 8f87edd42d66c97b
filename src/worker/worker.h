/* The worker process: a libuv loop talking to the scheduler and to peers,
 * execution threads, the data store. Used by `tide worker` (cmd_worker.c)
 * and by anything that embeds a worker (tests, the local cluster). */
#ifndef TIDE_WORKER_WORKER_H
#define TIDE_WORKER_WORKER_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "tide/error.h"
#include "tide/task.h"

typedef struct tide__wk tide__wk;

/* How to run a worker; strings are borrowed for tide__wk_create. */
typedef struct tide__wk_opts {
  const char *scheduler;      /* "tcp://host:port", or NULL with scheduler_file */
  const char *scheduler_file; /* read (and re-read until it appears) for the address */
  const char *name;           /* NULL: "HOST-PID" */
  const char *host;           /* data server host; NULL: the local address that routes
                               * to the scheduler (127.0.0.1 for a loopback scheduler) */
  int port;                   /* data server port; 0 picks one */
  const char *contact;        /* the data address peers and the scheduler dial, when not
                               * the bound one (tide__contact_address); NULL: bound */
  const char *job;            /* cluster job name; NULL: "" */
  int nthreads;               /* >= 1 */
  int64_t memory_limit;       /* bytes, 0 = none */
  double lifetime;            /* seconds, 0 = none; stagger already applied */
  double death_timeout;       /* seconds to keep trying to reach the scheduler; 0 = 30 */
  /* What it advertises (docs/tasks.md "Resources"): "GPU=1,MEM=64e9";
   * NULL: the configuration's worker.resources */
  const char *resources;
  const char *pool; /* the cluster pool it belongs to; NULL none */
} tide__wk_opts;

/* Create a worker on loop with a copy of opts and cfg; reg (builtins and
 * plugins already registered) is borrowed and must outlive the worker. */
int tide__wk_create(uv_loop_t *loop, const tide__wk_opts *opts, const tide__config *cfg,
                    tide_registry *reg, tide__wk **out, tide_error *err);
/* Start: listen for peers, begin connecting to the scheduler, install
 * SIGTERM/SIGINT handlers. Then run the loop; it returns once the worker
 * has shut down. */
int tide__wk_start(tide__wk *w, tide_error *err);
/* Ask the worker to shut down (closes every handle); exit status code. */
void tide__wk_shutdown(tide__wk *w, int code);
/* After the loop returned: the exit status (0, 1, 2) and, when the worker
 * stopped because of an error, its one-line message (else NULL). */
int tide__wk_exit_status(const tide__wk *w);
const char *tide__wk_fatal(const tide__wk *w);
/* The worker's data address ("tcp://host:port" once started). */
const char *tide__wk_address(const tide__wk *w);
/* Free after the loop has closed every handle. NULL ok. */
void tide__wk_destroy(tide__wk *w);

#endif
