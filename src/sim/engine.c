/* The simulation engine (sim.h): a discrete-event queue on a virtual clock
 * drives the production scheduler (its message handlers, placement,
 * duration learning, adaptive_target, workers_to_close, retirement) and
 * the controller's decision round (adaptive/decide.h). Virtual workers get
 * the scheduler's compute-task messages through a tide__sched_tx that
 * captures them and answer task-finished after the task's duration. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/util.h"
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
  double arrived; /* < 0: not yet */
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
  size_t *left; /* per submission: wanted keys not done */
  size_t subs_done;
  bool react_queued;
  double last_react, last_t;
  tide__rec_state *st;
  /* the message being packed */
  msgpack_sbuffer sb;
  msgpack_packer pk;
  tide__op op;
  int err;
} sim;

/* The scheduler's send layer has no argument: the one simulation running
 * on this thread is found here (runs are sequential, sweeps included). */
static sim *cur;

static double clock_cb(void *arg, bool wall)
{
  sim *m = arg;
  (void)wall;
  return m->base + m->now;
}

/* ---- the event heap */

static bool before(const ev *a, const ev *b)
{
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(sim *m, double t, ev_kind k, void *p, void *q)
{
  ev e = {t, m->seq++, k, p, q};
  tide__vec_push(&m->heap, e);
  size_t i = m->heap.n - 1;
  while (i > 0 && before(&m->heap.v[i], &m->heap.v[(i - 1) / 2])) {
    ev tmp = m->heap.v[i];
    m->heap.v[i] = m->heap.v[(i - 1) / 2];
    m->heap.v[(i - 1) / 2] = tmp;
    i = (i - 1) / 2;
  }
}

static ev pop(sim *m)
{
  ev top = m->heap.v[0];
  m->heap.v[0] = m->heap.v[--m->heap.n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, b = i;
    if (l < m->heap.n && before(&m->heap.v[l], &m->heap.v[b]))
      b = l;
    if (r < m->heap.n && before(&m->heap.v[r], &m->heap.v[b]))
      b = r;
    if (b == i)
      break;
    ev tmp = m->heap.v[i];
    m->heap.v[i] = m->heap.v[b];
    m->heap.v[b] = tmp;
    i = b;
  }
  return top;
}

/* ---- virtual workers */

static void start_tasks(sim *m, vworker *vw)
{
  while (!vw->gone && vw->running < m->o->nthreads && vw->qhead < vw->q.n) {
    vtask *vt = vw->q.v[vw->qhead++];
    stask *t = tide__task_find(m->s, vt->t->key, strlen(vt->t->key));
    if (!t || t->proc != vw->w) /* freed or taken back while queued */
      continue;
    vw->running++;
    push(m, m->now + vt->t->duration, EV_FINISH, vw, vt);
  }
  if (vw->qhead == vw->q.n)
    vw->qhead = vw->q.n = 0;
}

static void worker_msg(sim *m, vworker *vw, const char *op, const vtask *vt, double start)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 6);
  tide__pk_kstr(&pk, "op", op);
  tide__pk_kstr(&pk, "key", vt->t->key);
  tide__pk_kint(&pk, "nbytes", vt->t->nbytes);
  tide__pk_knum(&pk, "start", m->base + start);
  tide__pk_knum(&pk, "stop", m->base + m->now);
  tide__pk_kint(&pk, "thread", 0);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
    tide__sched_worker_msg(m->s, vw->w, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

static void on_finish(sim *m, vworker *vw, vtask *vt)
{
  vw->running--;
  if (vw->gone)
    return;
  stask *t = tide__task_find(m->s, vt->t->key, strlen(vt->t->key));
  if (t && t->proc == vw->w && t->state == TIDE_TS_PROCESSING) {
    m->r->busy_seconds += vt->t->duration;
    m->r->tasks_done++;
    worker_msg(m, vw, "task-finished", vt, m->now - vt->t->duration);
  }
  start_tasks(m, vw);
}

static void on_arrive(sim *m, vworker *vw)
{
  if (vw->cancelled)
    return;
  tide_error err = {{0}};
  vw->w = tide__sw_add(m->s, vw, vw->name, vw->addr, "sim", vw->name, m->o->nthreads, m->o->memory,
                       NULL, 0, &err);
  if (!vw->w) {
    vw->cancelled = true;
    m->nplan--;
    return;
  }
  vw->arrived = m->now;
  m->nobs++;
  if (m->nobs > m->r->peak)
    m->r->peak = m->nobs;
  if (m->r->first_worker < 0)
    m->r->first_worker = m->now - m->tr->subs[0].t;
}

/* ---- the captured send layer */

static msgpack_packer *tx_begin(void *conn, tide__op op, uint32_t nfields)
{
  (void)conn;
  msgpack_sbuffer_clear(&cur->sb);
  msgpack_pack_map(&cur->pk, nfields + 1);
  tide__pk_kstr(&cur->pk, "op", tide__op_name(op));
  cur->op = op;
  return &cur->pk;
}

static vtask *msg_vtask(sim *m, const msgpack_object *o)
{
  const char *k;
  size_t kl;
  vtask *vt = NULL;
  if (tide__mp_str(o, "key", &k, &kl))
    HASH_FIND(hh, m->tasks, k, kl, vt);
  return vt;
}

static void tx_end(void *conn)
{
  sim *m = cur;
  if (m->op == TIDE_OP_ACQUIRE_REPLICAS) {
    /* answered as a later event: copies take no virtual time here */
    msgpack_sbuffer *copy = tide__xcalloc(1, sizeof *copy);
    msgpack_sbuffer_init(copy);
    msgpack_sbuffer_write(copy, m->sb.data, m->sb.size);
    push(m, m->now, EV_REPLICAS, conn, copy);
    return;
  }
  if (m->op != TIDE_OP_COMPUTE_TASK && m->op != TIDE_OP_CLOSE && m->op != TIDE_OP_KEY_DONE &&
      m->op != TIDE_OP_REPLY)
    return; /* free-keys, heartbeat intervals: nothing a virtual worker acts on */
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, m->sb.data, m->sb.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
    msgpack_unpacked_destroy(&u);
    return;
  }
  const msgpack_object *o = &u.data;
  if (conn == &m->client_conn) {
    bool ok = true;
    if (m->op == TIDE_OP_REPLY && tide__mp_bool(o, "ok", &ok) && !ok)
      m->err = TIDE_EUSAGE; /* the scheduler refused a submission */
    vtask *vt = m->op == TIDE_OP_KEY_DONE ? msg_vtask(m, o) : NULL;
    if (vt && m->left[vt->sub] > 0 && --m->left[vt->sub] == 0) {
      const tide__sim_sub *sub = &m->tr->subs[vt->sub];
      m->r->latency[vt->sub] = m->now - sub->t;
      m->subs_done++;
      push(m, m->now, EV_RELEASE, (void *)sub, NULL);
    }
  } else {
    vworker *vw = conn;
    if (m->op == TIDE_OP_COMPUTE_TASK) {
      vtask *vt = msg_vtask(m, o);
      if (vt) {
        tide__vec_push(&vw->q, vt);
        /* started once the scheduler has recorded the task as processing here */
        if (!vw->start_queued) {
          vw->start_queued = true;
          push(m, m->now, EV_START, vw, NULL);
        }
      }
    } else if (m->op == TIDE_OP_CLOSE && !vw->gone) {
      /* retired: the scheduler removes it right after this message */
      vw->gone = true;
      m->nobs--;
    }
  }
  msgpack_unpacked_destroy(&u);
}

static void tx_close(void *conn, const char *reason)
{
  (void)conn;
  (void)reason;
}

static const tide__sched_tx sim_tx = {tx_begin, tx_end, tx_close};

/* acquire-replicas {keys: {key: [address]}}: the worker fetched them all
 * and answers add-keys {keys: {key: nbytes}} (docs/protocol.md). */
static void on_replicas(sim *m, vworker *vw, msgpack_sbuffer *req)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  const msgpack_object_map *keys = NULL;
  if (!vw->gone && msgpack_unpack_next(&u, req->data, req->size, NULL) == MSGPACK_UNPACK_SUCCESS)
    keys = tide__mp_map(&u.data, "keys");
  if (keys) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    tide__pk_kstr(&pk, "op", "add-keys");
    tide__pk_str(&pk, "keys");
    msgpack_pack_map(&pk, keys->size);
    for (uint32_t i = 0; i < keys->size; i++) {
      const msgpack_object *k = &keys->ptr[i].key;
      vtask *vt = NULL;
      if (k->type == MSGPACK_OBJECT_STR)
        HASH_FIND(hh, m->tasks, k->via.str.ptr, k->via.str.size, vt);
      msgpack_pack_object(&pk, *k);
      msgpack_pack_int64(&pk, vt ? vt->t->nbytes : 0);
    }
    tide__pk_str(&pk, "failed");
    msgpack_pack_array(&pk, 0);
    msgpack_unpacked r;
    msgpack_unpacked_init(&r);
    if (msgpack_unpack_next(&r, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
      tide__sched_worker_msg(m->s, vw->w, &r.data);
    msgpack_unpacked_destroy(&r);
    msgpack_sbuffer_destroy(&sb);
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(req);
  free(req);
}

/* ---- the client side: submissions and releases */

static void client_msg(sim *m, msgpack_sbuffer *sb, bool update)
{
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, sb->data, sb->size, NULL) == MSGPACK_UNPACK_SUCCESS) {
    if (update)
      tide__client_update_graph(m->s, m->client, &u.data);
    else
      tide__client_release_keys(m->s, m->client, &u.data);
  }
  msgpack_unpacked_destroy(&u);
}

/* The outputs of a submission: its tasks no other task of it depends on. */
static bool *outputs(sim *m, const tide__sim_sub *sub, size_t *n)
{
  bool *dep = tide__xcalloc(sub->ntasks, 1);
  vtask *vt;
  for (size_t i = 0; i < sub->ntasks; i++)
    for (uint32_t d = 0; d < sub->tasks[i].ndeps; d++) {
      HASH_FIND_STR(m->tasks, sub->tasks[i].deps[d], vt);
      if (vt && vt->t >= sub->tasks && vt->t < sub->tasks + sub->ntasks)
        dep[vt->t - sub->tasks] = true;
    }
  *n = 0;
  for (size_t i = 0; i < sub->ntasks; i++)
    *n += !dep[i];
  return dep;
}

static void submit(sim *m, size_t si)
{
  const tide__sim_sub *sub = &m->tr->subs[si];
  size_t nout;
  bool *dep = outputs(m, sub, &nout);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 5);
  tide__pk_kstr(&pk, "op", "update-graph");
  tide__pk_kint(&pk, "id", (int64_t)si + 1);
  tide__pk_str(&pk, "tasks");
  msgpack_pack_array(&pk, (uint32_t)sub->ntasks);
  for (size_t i = 0; i < sub->ntasks; i++) {
    const tide__sim_task *t = &sub->tasks[i];
    msgpack_pack_map(&pk, 5);
    tide__pk_kstr(&pk, "key", t->key);
    tide__pk_kstr(&pk, "fn", "tide.sleep");
    tide__pk_kstr(&pk, "prefix", t->prefix);
    tide__pk_str(&pk, "args");
    msgpack_pack_array(&pk, 0);
    tide__pk_str(&pk, "deps");
    msgpack_pack_array(&pk, t->ndeps);
    for (uint32_t d = 0; d < t->ndeps; d++)
      tide__pk_str(&pk, t->deps[d]);
  }
  tide__pk_str(&pk, "wants");
  msgpack_pack_array(&pk, (uint32_t)nout);
  for (size_t i = 0; i < sub->ntasks; i++)
    if (!dep[i])
      tide__pk_str(&pk, sub->tasks[i].key);
  tide__pk_str(&pk, "progress");
  msgpack_pack_false(&pk);
  m->left[si] = nout;
  free(dep);
  client_msg(m, &sb, true);
  msgpack_sbuffer_destroy(&sb);
}

/* The client gathered a finished submission and lets its keys go. */
static void release(sim *m, const tide__sim_sub *sub)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  size_t nout;
  bool *dep = outputs(m, sub, &nout);
  msgpack_pack_map(&pk, 2);
  tide__pk_kstr(&pk, "op", "release-keys");
  tide__pk_str(&pk, "keys");
  msgpack_pack_array(&pk, (uint32_t)nout);
  for (size_t i = 0; i < sub->ntasks; i++)
    if (!dep[i])
      tide__pk_str(&pk, sub->tasks[i].key);
  free(dep);
  client_msg(m, &sb, false);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- the controller */

static size_t close_cb(void *arg, int target, char ***names)
{
  sim *m = arg;
  tide__close_opts o = {.target = target, .n = -1, .memory_ratio = 0, .minimum = -1, .key = NULL};
  return tide__sched_workers_to_close(m->s, &o, names);
}

static vworker *vw_by_name(sim *m, const char *name)
{
  unsigned long i;
  if (sscanf(name, "sim-%lu", &i) != 1 || i >= m->vws.n)
    return NULL;
  return m->vws.v[i];
}

static void retired_cb(tide__sched *s, const tide__retire_result *r, void *arg)
{
  sim *m = arg;
  (void)s;
  m->retiring--;
  for (size_t i = 0; i < r->nnot_retired; i++) {
    vworker *vw = vw_by_name(m, r->not_retired[i]);
    if (vw && vw->retiring) {
      vw->retiring = false;
      m->nplan++;
    }
  }
}

static void round_(sim *m, bool reactive)
{
  TIDE__VEC(tide__rec_member) na = {0};
  while (m->first_pending < m->vws.n &&
         (m->vws.v[m->first_pending]->arrived >= 0 || m->vws.v[m->first_pending]->cancelled))
    m->first_pending++;
  for (size_t i = m->first_pending; i < m->vws.n; i++) {
    vworker *vw = m->vws.v[i];
    if (vw->arrived < 0 && !vw->cancelled) {
      tide__rec_member mb = {vw->name, vw->name};
      tide__vec_push(&na, mb);
    }
  }
  tide__adapt_plan p = {
      .now = m->now,
      .processes = 1,
      .nplan = m->nplan,
      .pending_jobs = (int)na.n,
      .not_arrived = na.v,
      .nnot_arrived = na.n,
      .reactive = reactive,
      .down_blocked = m->retiring > 0,
      .to_close = close_cb,
      .to_close_arg = m,
  };
  tide__target_inputs in;
  tide__rec_out out;
  if (tide__adapt_decide(m->st, m->s, &m->o->knobs, &p, &in, &out) < 0) {
    tide__vec_free(&na);
    return;
  }
  tide__vec_free(&na);
  if (out.status == TIDE__REC_UP && out.n > m->nplan) {
    m->r->scale_up++;
    for (int i = m->nplan; i < out.n; i++) {
      vworker *vw = tide__xcalloc(1, sizeof *vw);
      snprintf(vw->name, sizeof vw->name, "sim-%zu", m->vws.n);
      snprintf(vw->addr, sizeof vw->addr, "tcp://sim-%zu:1", m->vws.n);
      vw->arrived = -1;
      tide__vec_push(&m->vws, vw);
      m->r->requested++;
      push(m, m->now + tide__sim_dist_draw(&m->o->startup, &m->rng), EV_ARRIVE, vw, NULL);
    }
    m->nplan = out.n;
  } else if (out.status == TIDE__REC_DOWN && out.nworkers > 0) {
    m->r->scale_down++;
    TIDE__VEC(char *) names = {0};
    for (size_t i = 0; i < out.nworkers; i++) {
      vworker *vw = vw_by_name(m, out.workers[i]);
      if (!vw || vw->cancelled || vw->gone || vw->retiring)
        continue;
      m->nplan--;
      if (vw->arrived < 0) {
        vw->cancelled = true; /* never arrives: its job is cancelled */
      } else {
        vw->retiring = true;
        tide__vec_push(&names, out.workers[i]);
      }
    }
    if (names.n) {
      m->retiring++;
      if (tide__sched_retire_workers(m->s, names.v, names.n, retired_cb, m, NULL) < 0)
        m->retiring--;
    }
    tide__vec_free(&names);
  }
  tide__rec_out_free(&out);
}

static void on_sched_event(tide__sched *s, tide__sched_event ev_, const char *name, bool expected,
                           void *arg)
{
  sim *m = arg;
  (void)s;
  (void)name;
  (void)expected;
  if (ev_ != TIDE_SEV_NEW_WORK || m->react_queued)
    return;
  /* docs/design.md §7: reactive rounds at most once per 10 ms */
  double at = fmax(m->now, m->last_react + 0.010);
  m->react_queued = true;
  push(m, at, EV_REACT, NULL, NULL);
}

/* ---- a run */

/* Done: every submission finished, nothing running and the plan back at
 * its minimum (or the fixed end reached). */
static bool finished(const sim *m)
{
  if (m->o->until > 0)
    return m->now >= m->o->until;
  return m->subs_done == m->tr->nsubs && m->retiring == 0 && m->nplan <= m->o->knobs.minimum &&
         m->nobs <= m->o->knobs.minimum;
}

static void run_loop(sim *m)
{
  size_t next_sub = 0;
  push(m, m->tr->subs[0].t, EV_SUBMIT, NULL, NULL);
  push(m, 0, EV_ROUND, NULL, NULL);
  /* a guard: a policy that never gets back to its minimum stops an hour
   * after the last submission finished or could have */
  double last = m->tr->subs[m->tr->nsubs - 1].t;
  while (m->heap.n > 0 && !m->err) {
    ev e = pop(m);
    if (m->o->until > 0 && e.t > m->o->until)
      e.t = m->o->until;
    m->r->worker_seconds += m->nobs * (e.t - m->now);
    m->now = e.t;
    if (m->o->until > 0 && m->now >= m->o->until)
      break;
    m->r->events++;
    switch (e.kind) {
    case EV_SUBMIT:
      submit(m, next_sub++);
      if (next_sub < m->tr->nsubs)
        push(m, m->tr->subs[next_sub].t, EV_SUBMIT, NULL, NULL);
      break;
    case EV_ARRIVE: on_arrive(m, e.p); break;
    case EV_START:
      ((vworker *)e.p)->start_queued = false;
      start_tasks(m, e.p);
      break;
    case EV_FINISH: on_finish(m, e.p, e.q); break;
    case EV_ROUND:
      round_(m, false);
      push(m, m->now + m->o->interval, EV_ROUND, NULL, NULL);
      break;
    case EV_REACT:
      m->react_queued = false;
      m->last_react = m->now;
      round_(m, true);
      break;
    case EV_RELEASE: release(m, e.p); break;
    case EV_REPLICAS: on_replicas(m, e.p, e.q); break;
    }
    /* the scheduler's zero-delay timers (new-work news, retirement steps) */
    uv_run(&m->loop, UV_RUN_NOWAIT);
    if (m->subs_done == m->tr->nsubs && m->o->until <= 0 && finished(m))
      break;
    if (m->subs_done < m->tr->nsubs && m->now > last)
      last = m->now;
    if (m->now > last + 3600)
      break;
  }
  m->r->end = m->now;
}

int tide__sim_run(const tide__sim_trace *tr, const tide__sim_opts *o, tide__sim_result *r,
                  tide_error *err)
{
  memset(r, 0, sizeof *r);
  if (!tr->nsubs)
    return tide_errprintf(err, TIDE_EUSAGE, "the trace has no submission");
  if (cur)
    return tide_errprintf(err, -EBUSY, "a simulation is already running on this thread");
  sim *m = tide__xcalloc(1, sizeof *m);
  m->tr = tr;
  m->o = o;
  m->r = r;
  m->base = 1e6; /* clocks well above 0: 0 means "never" in some fields */
  m->rng = o->seed;
  m->last_react = -1;
  r->first_worker = -1;
  r->latency = tide__xcalloc(tr->nsubs, sizeof *r->latency);
  r->nlatency = tr->nsubs;
  for (size_t i = 0; i < tr->nsubs; i++)
    r->latency[i] = -1;
  m->left = tide__xcalloc(tr->nsubs, sizeof *m->left);
  int rc = 0;
  for (size_t i = 0; i < tr->nsubs; i++)
    for (size_t j = 0; j < tr->subs[i].ntasks; j++) {
      vtask *vt;
      const tide__sim_task *t = &tr->subs[i].tasks[j];
      HASH_FIND_STR(m->tasks, t->key, vt);
      if (vt) {
        rc = tide_errprintf(err, TIDE_EUSAGE, "task key \"%s\" appears twice in the trace", t->key);
        goto out;
      }
      vt = tide__xcalloc(1, sizeof *vt);
      vt->t = t;
      vt->sub = i;
      HASH_ADD_KEYPTR(hh, m->tasks, t->key, strlen(t->key), vt);
    }
  cur = m;
  tide__clock_set(clock_cb, m);
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
  uv_loop_init(&m->loop);
  tide__config cfg;
  tide__config_defaults(&cfg);
  if ((rc = tide__sched_create(&m->loop, &cfg, &m->s, err)) < 0)
    goto loop_out;
  tide__sched_set_tx(m->s, &sim_tx);
  tide__sched_observe(m->s, on_sched_event, m);
  m->client = tide__xcalloc(1, sizeof *m->client);
  m->client->conn = &m->client_conn;
  m->client->id = m->s->next_client_id++;
  m->client->next = m->s->clients;
  m->s->clients = m->client;
  m->st = tide__rec_state_create();
  run_loop(m);
  if (m->err)
    rc = tide_errprintf(err, m->err, "the scheduler refused a submission of the trace");
  tide__sched_counters c;
  tide__sched_counters_get(m->s, &c);
  r->recomputed = c.recomputed;
  r->utilisation = r->worker_seconds > 0 ? r->busy_seconds / r->worker_seconds : 0;
  tide__rec_state_destroy(m->st);
  tide__sched_close(m->s, false);
  uv_run(&m->loop, UV_RUN_DEFAULT);
  tide__sched_destroy(m->s);
loop_out:
  uv_loop_close(&m->loop);
  msgpack_sbuffer_destroy(&m->sb);
  tide__clock_set(NULL, NULL);
  cur = NULL;
out:;
  vtask *vt, *tmp;
  HASH_ITER (hh, m->tasks, vt, tmp) {
    HASH_DEL(m->tasks, vt);
    free(vt);
  }
  for (size_t i = 0; i < m->vws.n; i++) {
    tide__vec_free(&m->vws.v[i]->q);
    free(m->vws.v[i]);
  }
  tide__vec_free(&m->vws);
  for (size_t i = 0; i < m->heap.n; i++)
    if (m->heap.v[i].kind == EV_REPLICAS) {
      msgpack_sbuffer_destroy(m->heap.v[i].q);
      free(m->heap.v[i].q);
    }
  tide__vec_free(&m->heap);
  free(m->left);
  free(m);
  return rc;
}

void tide__sim_result_free(tide__sim_result *r)
{
  free(r->latency);
  memset(r, 0, sizeof *r);
}

double tide__sim_mean_latency(const tide__sim_result *r)
{
  double s = 0;
  size_t n = 0;
  for (size_t i = 0; i < r->nlatency; i++)
    if (r->latency[i] >= 0) {
      s += r->latency[i];
      n++;
    }
  return n ? s / (double)n : 0;
}
