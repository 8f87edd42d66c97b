/* The worker swarm (bench/swarm.c): its records, shared by swarm.c (the
 * connections and the process) and swarm_tasks.c (the tasks and the
 * shared store). */
#ifndef TIDE_BENCH_SWARM_H
#define TIDE_BENCH_SWARM_H

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/schedfile.h"
#include "common/util.h"
#include "net/conn.h"
#include "net/tls.h"
#include "proto/auth.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "worker/args.h"
#include "worker/builtins.h"
#include "worker/exec.h"
#include "worker/registry.h"
#include "worker/report.h"
#include "worker/store.h"
#include "worker/worker_int.h"

enum { CONNECT_WINDOW = 256 }; /* connections in their handshake at once */

typedef struct swarm swarm;
typedef struct sworker sworker;

/* A tide.sleep task waiting on its timer. */
typedef struct sleeper {
  uv_timer_t timer;
  sworker *w;
  char *key;
  char *result; /* packed value to store when the timer fires */
  size_t result_len;
  double start;
  UT_hash_handle hh;
} sleeper;

/* Which swarm worker holds a key of the shared store. */
typedef struct held {
  char *key;
  sworker *w;
  UT_hash_handle hh;
} held;

struct sworker {
  swarm *sm;
  int idx;
  char name[64];
  char address[96];
  tide__conn *c;
  bool registered, closed;
  double hb_interval;
  uv_timer_t hb_timer;
  uint64_t nbytes;
  size_t nkeys;
  sleeper *sleeping;
};

struct swarm {
  uv_loop_t *loop;
  tide__auth auth;
  char *sched_address;
  tide_registry *reg;
  const char **functions; /* what the swarm runs */
  size_t nfunctions;
  int n, nthreads, next, inflight, registered, closed;
  sworker *workers;
  tide__store *store;
  held *index;
  tide__server *server;
  uv_timer_t rss_timer;
  uv_signal_t sigterm, sigint;
  size_t rss_share; /* this process's RSS divided among its workers */
  double t0;
  const char *ready_file;
  int exit_code;
  bool stopping;
  uint64_t tasks_done;
};
/* swarm_tasks.c: the messages of docs/protocol.md that carry work. */
void swarm_compute(sworker *w, const msgpack_object *msg);
void swarm_free_keys(sworker *w, const msgpack_object *msg);
void swarm_acquire_replicas(sworker *w, const msgpack_object *msg);
void swarm_send_no_logs(sworker *w, const msgpack_object *msg);
/* Forget a sleeping task (its timer is closed, the result never sent). */
void swarm_sleeper_end(sworker *w, sleeper *s);

#endif
