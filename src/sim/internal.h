/* What the files of src/sim share: the engine's state, its events, the
 * virtual tasks and workers (engine.c runs the clock and the controller,
 * peers.c plays the workers and the client). */
#ifndef TIDE_SIM_INTERNAL_H
#define TIDE_SIM_INTERNAL_H

#include <uthash.h>

#include "common/vec.h"
#include "scheduler/internal.h"
#include "sim/sim.h"

typedef enum {
  EV_SUBMIT,
  EV_ARRIVE,
  EV_START,
  EV_FINISH,
  EV_ROUND,
  EV_REACT,
  EV_RELEASE,
  EV_REPLICAS
} ev_kind;

typedef struct ev {
  double t;
  uint64_t seq; /* ties run in the order they were queued */
  ev_kind kind;
  void *p, *q;
} ev;

typedef struct vtask {
  UT_hash_handle hh;
  const tide__sim_task *t;
  size_t sub;
} vtask;

typedef struct vworker {
  sworker *w;
  char name[32], addr[48];
  int running;
  TIDE__VEC(vtask *) q;
  size_t qhead;
  double requested; /* virtual time its request was made */
  double arrived;   /* < 0: not yet */
  bool cancelled, gone, retiring, start_queued;
} vworker;

typedef struct sim {
  const tide__sim_trace *tr;
  const tide__sim_opts *o;
  tide__sim_result *r;
  double now, base;
  uv_loop_t loop;
  tide__sched *s;
  sclient *client;
  int client_conn;
  TIDE__VEC(ev) heap;
  uint64_t seq, rng;
  vtask *tasks;
  TIDE__VEC(vworker *) vws;
  size_t first_pending; /* vws before it have all arrived or been cancelled */
  int nplan, nobs, retiring;
  int nrm;                       /* requested, neither cancelled nor gone */
  int capped_asked, capped_plan; /* the last capped request counted (-1 none) */
  size_t *left;                  /* per submission: wanted keys not done */
  size_t subs_done;
  bool react_queued;
  double last_react, last_t;
  tide__rec_state *st;
  tide__startup *startup; /* learned request -> registered, as a cluster does */
  /* the message being packed */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  tide__op op;
  int err;
} sim;
/* The scheduler's send layer has no argument: the one simulation running
 * on this thread is found here (runs are sequential, sweeps included). */
extern sim *tide__sim_cur;
extern const tide__sched_tx tide__sim_tx;

/* engine.c */
void tide__sim_push(sim *m, double t, ev_kind k, void *p, void *q);

/* peers.c: virtual workers */
void tide__sim_start_tasks(sim *m, vworker *vw);
void tide__sim_finish(sim *m, vworker *vw, vtask *vt);
void tide__sim_arrive(sim *m, vworker *vw);
/* acquire-replicas (a copy of the message, freed here) */
void tide__sim_replicas(sim *m, vworker *vw, msgpack_sbuffer *req);
/* peers.c: the client */
void tide__sim_submit(sim *m, size_t si);
void tide__sim_release(sim *m, const tide__sim_sub *sub);

#endif
