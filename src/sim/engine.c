/* The simulation engine (sim.h): a discrete-event queue on a virtual clock
 * drives the production scheduler (its message handlers, placement,
 * duration learning, adaptive_target, workers_to_close, retirement) and
 * the controller's decision round (adaptive/decide.h) every interval and
 * on new work. The virtual workers and the client are peers.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/util.h"
#include "common/vec.h"
#include "sim/internal.h"

sim *tide__sim_cur;

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

void tide__sim_push(sim *m, double t, ev_kind k, void *p, void *q)
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

/* Capped requests as src/cluster/adapt.c logs and counts them: a request
 * capped to nothing once while the same request stays capped (reactive
 * rounds repeat it), news again after any other decision. */
static void count_capped(sim *m, const tide__rec_out *out)
{
  if (out->status == TIDE__REC_SAME && out->capped) {
    if (out->asked == m->capped_asked && m->nplan == m->capped_plan)
      return;
  } else if (out->status == TIDE__REC_SAME) {
    return; /* nothing logged */
  }
  if (out->capped) {
    m->r->capped++;
    m->capped_asked = out->asked;
    m->capped_plan = m->nplan;
  } else {
    m->capped_asked = -1;
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
      tide__rec_member mb = {vw->name, vw->name, vw->requested};
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
      .startup = -1,
      .nthreads = m->o->nthreads,
  };
  if (!tide__startup_get(m->startup, "sim", &p.startup, NULL))
    p.startup = -1;
  tide__adapt_round rd;
  tide__rec_out *out = &rd.out;
  if (tide__adapt_decide(m->st, m->s, &m->o->knobs, &p, &rd) < 0) {
    tide__vec_free(&na);
    return;
  }
  tide__vec_free(&na);
  count_capped(m, out);
  if (out->status == TIDE__REC_UP && out->n > m->nplan) {
    m->r->scale_up++;
    for (int i = m->nplan; i < out->n; i++) {
      vworker *vw = tide__xcalloc(1, sizeof *vw);
      snprintf(vw->name, sizeof vw->name, "sim-%zu", m->vws.n);
      snprintf(vw->addr, sizeof vw->addr, "tcp://sim-%zu:1", m->vws.n);
      vw->arrived = -1;
      vw->requested = m->now;
      tide__vec_push(&m->vws, vw);
      m->r->requested++;
      m->nrm++;
      tide__sim_push(m, m->now + tide__sim_dist_draw(&m->o->startup, &m->rng), EV_ARRIVE, vw, NULL);
    }
    m->nplan = out->n;
  } else if (out->status == TIDE__REC_DOWN && out->nworkers > 0) {
    m->r->scale_down++;
    TIDE__VEC(char *) names = {0};
    for (size_t i = 0; i < out->nworkers; i++) {
      vworker *vw = vw_by_name(m, out->workers[i]);
      if (!vw || vw->cancelled || vw->gone || vw->retiring)
        continue;
      m->nplan--;
      if (vw->arrived < 0) {
        vw->cancelled = true; /* never arrives: its job is cancelled */
        m->nrm--;
      } else {
        vw->retiring = true;
        tide__vec_push(&names, out->workers[i]);
      }
    }
    if (names.n) {
      m->retiring++;
      if (tide__sched_retire_workers(m->s, names.v, names.n, retired_cb, m, NULL) < 0)
        m->retiring--;
    }
    tide__vec_free(&names);
  }
  tide__rec_out_free(out);
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
  tide__sim_push(m, at, EV_REACT, NULL, NULL);
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
  tide__sim_push(m, m->tr->subs[0].t, EV_SUBMIT, NULL, NULL);
  tide__sim_push(m, 0, EV_ROUND, NULL, NULL);
  /* a guard: a policy that never gets back to its minimum stops an hour
   * after the last submission finished or could have */
  double last = m->tr->subs[m->tr->nsubs - 1].t;
  while (m->heap.n > 0 && !m->err) {
    ev e = pop(m);
    if (m->o->until > 0 && e.t > m->o->until)
      e.t = m->o->until;
    m->r->worker_seconds += m->nobs * (e.t - m->now);
    m->r->rm_worker_seconds += m->nrm * (e.t - m->now);
    m->now = e.t;
    if (m->o->until > 0 && m->now >= m->o->until)
      break;
    m->r->events++;
    switch (e.kind) {
    case EV_SUBMIT:
      tide__sim_submit(m, next_sub++);
      if (next_sub < m->tr->nsubs)
        tide__sim_push(m, m->tr->subs[next_sub].t, EV_SUBMIT, NULL, NULL);
      break;
    case EV_ARRIVE: tide__sim_arrive(m, e.p); break;
    case EV_START:
      ((vworker *)e.p)->start_queued = false;
      tide__sim_start_tasks(m, e.p);
      break;
    case EV_FINISH: tide__sim_finish(m, e.p, e.q); break;
    case EV_ROUND:
      round_(m, false);
      tide__sim_push(m, m->now + m->o->interval, EV_ROUND, NULL, NULL);
      break;
    case EV_REACT:
      m->react_queued = false;
      m->last_react = m->now;
      round_(m, true);
      break;
    case EV_RELEASE: tide__sim_release(m, e.p); break;
    case EV_REPLICAS: tide__sim_replicas(m, e.p, e.q); break;
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
  if (tide__sim_cur)
    return tide_errprintf(err, -EBUSY, "a simulation is already running on this thread");
  sim *m = tide__xcalloc(1, sizeof *m);
  m->tr = tr;
  m->o = o;
  m->r = r;
  m->base = 1e6; /* clocks well above 0: 0 means "never" in some fields */
  m->rng = o->seed;
  m->last_react = -1;
  m->capped_asked = -1;
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
  tide__sim_cur = m;
  tide__clock_set(clock_cb, m);
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
  uv_loop_init(&m->loop);
  tide__config cfg;
  if (o->cfg)
    cfg = *o->cfg;
  else
    tide__config_defaults(&cfg);
  cfg.scheduler.record_trace[0] = 0; /* a replay never records itself */
  if ((rc = tide__sched_create(&m->loop, &cfg, &m->s, err)) < 0)
    goto loop_out;
  tide__sched_set_tx(m->s, &tide__sim_tx);
  tide__sched_observe(m->s, on_sched_event, m);
  m->client = tide__xcalloc(1, sizeof *m->client);
  m->client->conn = &m->client_conn;
  m->client->id = m->s->next_client_id++;
  m->client->next = m->s->clients;
  m->s->clients = m->client;
  m->st = tide__rec_state_create();
  m->startup = tide__startup_create();
  run_loop(m);
  if (m->err)
    rc = tide_errprintf(err, m->err, "the scheduler refused a submission of the trace");
  tide__sched_counters c;
  tide__sched_counters_get(m->s, &c);
  r->recomputed = c.recomputed;
  r->utilisation = r->worker_seconds > 0 ? r->busy_seconds / r->worker_seconds : 0;
  tide__rec_state_destroy(m->st);
  tide__startup_destroy(m->startup);
  tide__sched_close(m->s, false);
  uv_run(&m->loop, UV_RUN_DEFAULT);
  tide__sched_destroy(m->s);
loop_out:
  uv_loop_close(&m->loop);
  msgpack_sbuffer_destroy(&m->sb);
  tide__clock_set(NULL, NULL);
  tide__sim_cur = NULL;
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
