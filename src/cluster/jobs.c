/* Jobs of the Cluster core (docs/design.md §8): names, plan / requested,
 * submission with backoff, scale to n in whole jobs, retire-then-stop, and
 * job states reported by backends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

const char *tide__job_phase_name(tide__job_phase p)
{
  switch (p) {
  case TIDE__JOB_SUBMITTING: return "submitting";
  case TIDE__JOB_PENDING: return "pending";
  case TIDE__JOB_RUNNING: return "running";
  default: return "stopping";
  }
}

const char *tide__cluster_startup_key(const tide_cluster *c)
{
  return c->ops->kind;
}

int tide__cluster_processes(const tide_cluster *c)
{
  return c->opts.processes > 0 ? c->opts.processes : 1;
}

/* Leaving jobs (stopping, or every worker retiring / retired) are no longer
 * in the plan. */
static bool job_leaving(const tide__cjob *j)
{
  if (j->phase == TIDE__JOB_STOPPING)
    return true;
  for (int i = 0; i < j->pub.nworkers; i++)
    if (!j->w[i].retiring && !j->w[i].retired)
      return false;
  return true;
}

/* Outside the pool in scope (pools.c), when one is. */
static bool out_of_scope(const tide_cluster *c, const tide__cjob *j)
{
  return c->scope && j->pool != c->scope;
}

int tide__cluster_nplan(const tide_cluster *c)
{
  int n = 0;
  for (const tide__cjob *j = c->jobs; j; j = j->next)
    if (!job_leaving(j) && !out_of_scope(c, j))
      n += j->pub.nworkers;
  return n;
}

int tide__cluster_pending_jobs(const tide_cluster *c)
{
  int n = 0;
  for (const tide__cjob *j = c->jobs; j; j = j->next)
    if (!job_leaving(j) && !out_of_scope(c, j) &&
        (j->phase == TIDE__JOB_SUBMITTING || j->phase == TIDE__JOB_PENDING))
      n++;
  return n;
}

size_t tide__cluster_not_arrived(tide_cluster *c, tide__rec_member **out)
{
  TIDE__VEC(tide__rec_member) m = {0};
  for (tide__cjob *j = c->jobs; j; j = j->next) {
    if (job_leaving(j) || out_of_scope(c, j))
      continue;
    for (int i = 0; i < j->pub.nworkers; i++)
      if (!j->w[i].arrived && !j->w[i].retiring)
        tide__vec_push(&m, ((tide__rec_member){
                               .name = j->w[i].name, .job = j->name, .requested = j->created}));
  }
  *out = m.v;
  return m.n;
}

static tide__cjob *job_new(tide_cluster *c)
{
  int P = tide__cluster_processes(c);
  tide__cjob *j = tide__xcalloc(1, sizeof *j);
  j->pool = c->scope ? c->scope : c->npools ? &c->pools[0] : NULL;
  j->name = j->pool ? tide__xasprintf("%s-%s-%lu", c->name, j->pool->name, c->next_job++)
                    : tide__xasprintf("%s-%lu", c->name, c->next_job++);
  j->w = tide__xcalloc((size_t)P, sizeof *j->w);
  j->wnames = tide__xcalloc((size_t)P + 1, sizeof *j->wnames);
  for (int i = 0; i < P; i++) {
    j->w[i].name = P > 1 ? tide__xasprintf("%s-%d", j->name, i) : tide__xstrdup(j->name);
    j->w[i].job = j;
    j->w[i].index = i;
    j->wnames[i] = j->w[i].name;
    HASH_ADD_KEYPTR(hh, c->workers, j->w[i].name, strlen(j->w[i].name), &j->w[i]);
  }
  j->pub.name = j->name;
  j->pub.workers = j->wnames;
  j->pub.nworkers = P;
  j->pub.nthreads = c->opts.nthreads > 0 ? c->opts.nthreads : 1;
  j->pub.memory_limit = c->opts.memory_limit;
  j->pub.lifetime = c->opts.lifetime;
  j->pub.scheduler = tide__sched_address(c->sched);
  j->pub.scheduler_file = c->scheduler_file;
  j->pub.preload = c->opts.preload;
  j->pub.npreload = c->opts.npreload;
  j->pub.allow_exec = c->opts.allow_exec;
  j->pub.tls_ca_file = c->opts.tls_ca_file;
  j->pub.tls_cert = c->opts.tls_cert;
  j->pub.tls_key = c->opts.tls_key;
  j->pub.pool = j->pool ? j->pool->name : NULL;
  /* without pools the workers advertise the configuration's worker.resources */
  j->pub.resources = j->pool ? (j->pool->res_text[0] ? j->pool->res_text : NULL)
                     : c->cfg.worker.resources[0] ? c->cfg.worker.resources
                                                  : NULL;
  j->phase = TIDE__JOB_SUBMITTING;
  j->created = tide__now();
  DL_APPEND(c->jobs, j);
  HASH_ADD_KEYPTR(hh, c->jobs_by_name, j->name, strlen(j->name), j);
  return j;
}

static void job_remove(tide_cluster *c, tide__cjob *j)
{
  c->m.rm_worker_seconds += (tide__now() - j->created) * j->pub.nworkers;
  DL_DELETE(c->jobs, j);
  HASH_DELETE(hh, c->jobs_by_name, j);
  for (int i = 0; i < j->pub.nworkers; i++) {
    HASH_DELETE(hh, c->workers, &j->w[i]);
    free(j->w[i].name);
  }
  free(j->w);
  free(j->wnames);
  free(j->pub.backend_id);
  free(j->name);
  free(j);
}

void tide__cluster_free_jobs(tide_cluster *c)
{
  tide__cjob *j, *tmp;
  DL_FOREACH_SAFE (c->jobs, j, tmp)
    job_remove(c, j);
}

static tide__cjob *job_find(tide_cluster *c, const char *name)
{
  tide__cjob *j = NULL;
  if (name)
    HASH_FIND_STR(c->jobs_by_name, name, j);
  return j;
}

/* Submit k new jobs. A failure removes them and backs off (docs/design.md §7). */
static int submit_jobs(tide_cluster *c, int k, tide_error *err)
{
  if (k <= 0)
    return 0;
  void *self = c->self;
  const tide_backend_ops *ops = c->scope ? c->scope->ops : c->ops;
  if (c->scope)
    self = c->scope->self;
  if (!ops->scale_up)
    return tide_errprintf(err, TIDE_ENOSCALE, "the %s backend cannot scale", ops->kind);
  tide__cjob **v = tide__xcalloc((size_t)k, sizeof *v);
  for (int i = 0; i < k; i++)
    v[i] = job_new(c);
  tide_job **pub = tide__xcalloc((size_t)k, sizeof *pub);
  for (int i = 0; i < k; i++)
    pub[i] = &v[i]->pub;
  tide_error e = {{0}};
  int rc = ops->scale_up(self, c, (tide_job *const *)pub, (size_t)k, &e);
  if (rc < 0) {
    if (!e.text[0])
      snprintf(e.text, sizeof e.text, "%s", tide_strerror(rc));
    tide__backoff_fail(&c->backoff, tide__now(), e.text);
    c->m.submit_failures += (uint64_t)k;
    tide__clog(TIDE_LOG_ERROR, "starting %d job(s) failed (%d in a row, next try in %.1fs): %s", k,
               c->backoff.failures, tide__backoff_delay(&c->backoff, c->backoff.failures), e.text);
    for (int i = 0; i < k; i++)
      job_remove(c, v[i]);
    if (err)
      *err = e;
    rc = rc == TIDE_ENOSCALE ? rc : TIDE_EBACKEND;
  } else {
    c->m.submissions += (uint64_t)k;
    for (int i = 0; i < k; i++)
      tide__clog(TIDE_LOG_INFO, "job %s submitted (%d worker(s))", v[i]->name, v[i]->pub.nworkers);
  }
  free(pub);
  free(v);
  return rc;
}

/* Stop a job in the resource manager (idempotent). */
static void stop_job(tide_cluster *c, tide__cjob *j)
{
  if (j->phase == TIDE__JOB_STOPPING)
    return;
  j->phase = TIDE__JOB_STOPPING;
  c->m.jobs_stopped++;
  tide__clog(TIDE_LOG_INFO, "stopping job %s", j->name);
  void *self;
  const tide_backend_ops *ops = tide__cluster_job_ops(c, j, &self);
  if (!ops->scale_down)
    return;
  /* the backend may report the job gone (and free it) before returning */
  char *name = tide__xstrdup(j->name);
  tide_job *pub = &j->pub;
  tide_error e = {{0}};
  int rc = ops->scale_down(self, c, &pub, 1, &e);
  if (rc < 0)
    tide__clog(TIDE_LOG_ERROR, "stopping job %s failed: %s", name,
               e.text[0] ? e.text : tide_strerror(rc));
  free(name);
}

void tide__cluster_stop_all_jobs(tide_cluster *c)
{
  /* stopping a job may remove it (and others) from the list: rescan from
   * the head after each stop; every job is stopped once */
  for (;;) {
    tide__cjob *j = c->jobs;
    while (j && j->phase == TIDE__JOB_STOPPING)
      j = j->next;
    if (!j)
      break;
    stop_job(c, j);
  }
}

/* Stop the job when every worker is retired or retiring without having
 * arrived (docs/design.md §7 "Whole groups": never a partial job). */
static void check_job_done(tide_cluster *c, tide__cjob *j)
{
  for (int i = 0; i < j->pub.nworkers; i++) {
    tide__cworker *w = &j->w[i];
    if (!(w->retired || (w->retiring && !w->arrived)))
      return;
  }
  stop_job(c, j);
}

static void poke(tide_cluster *c)
{
  if (c->adaptive)
    tide__adaptive_on_event(c->adaptive, TIDE_SEV_NEW_WORK);
}

/* ---- backend reports */

void tide_cluster_job_state(tide_cluster *c, const char *job_name, tide_job_state st)
{
  tide__cjob *j = job_find(c, job_name);
  if (!j)
    return;
  switch (st) {
  case TIDE_JOB_PENDING:
    if (j->phase == TIDE__JOB_SUBMITTING)
      j->phase = TIDE__JOB_PENDING;
    tide__backoff_ok(&c->backoff);
    break;
  case TIDE_JOB_RUNNING:
    if (j->phase == TIDE__JOB_SUBMITTING || j->phase == TIDE__JOB_PENDING)
      j->phase = TIDE__JOB_RUNNING;
    tide__backoff_ok(&c->backoff);
    break;
  case TIDE_JOB_GONE: {
    bool expected = job_leaving(j) || c->shutdown_phase != TIDE__SHUTDOWN_NONE;
    if (!expected) {
      tide__clog(TIDE_LOG_WARNING, "job %s ended unexpectedly; it will be replaced", j->name);
      c->m.replaced += (uint64_t)j->pub.nworkers;
    } else {
      tide__clog(TIDE_LOG_INFO, "job %s gone", j->name);
    }
    job_remove(c, j);
    if (!expected) {
      tide__cluster_maintain(c);
      poke(c);
    }
    break;
  }
  }
}

void tide_cluster_job_set_id(tide_cluster *c, const char *job_name, const char *id)
{
  tide__cjob *j = job_find(c, job_name);
  if (!j)
    return;
  free(j->pub.backend_id);
  j->pub.backend_id = tide__xstrdup(id ? id : "");
}

void tide_cluster_job_failed(tide_cluster *c, const char *job_name, const char *why)
{
  tide__cjob *j = job_find(c, job_name);
  if (!j)
    return;
  tide__backoff_fail(&c->backoff, tide__now(), why);
  c->m.submit_failures++;
  if (c->m.submissions)
    c->m.submissions--;
  tide__clog(TIDE_LOG_ERROR, "job %s could not be started (%d in a row, next try in %.1fs%s): %s",
             j->name, c->backoff.failures, tide__backoff_delay(&c->backoff, c->backoff.failures),
             c->backoff.paused ? ", adapting paused" : "", why);
  if (c->adaptive)
    tide__adaptive_note_error(c->adaptive, why);
  job_remove(c, j);
}

/* ---- scheduler events */

void tide__cluster_worker_event(tide_cluster *c, tide__sched_event ev, const char *name,
                                bool expected)
{
  tide__cworker *w = NULL;
  if (name)
    HASH_FIND_STR(c->workers, name, w);
  switch (ev) {
  case TIDE_SEV_WORKER_ADDED:
    if (!w)
      return;
    /* docs/design.md §7 "Arrival-aware requests": request -> registered,
     * once per worker (a worker that reconnects says nothing of startup) */
    if (!w->ever_arrived) {
      tide__startup_observe(c->startup, tide__cluster_job_startup_key(c, w->job),
                            tide__now() - w->job->created);
      /* the same latency, for `tide simulate --startup-from` */
      tide__clog(TIDE_LOG_INFO, "worker %s registered %.3fs after its request", name,
                 tide__now() - w->job->created);
    }
    w->arrived = w->ever_arrived = true;
    w->died_at = 0;
    if (w->job->phase == TIDE__JOB_SUBMITTING || w->job->phase == TIDE__JOB_PENDING)
      w->job->phase = TIDE__JOB_RUNNING;
    tide__backoff_ok(&c->backoff);
    break;
  case TIDE_SEV_WORKER_REMOVED:
    if (!w)
      return;
    w->arrived = false;
    if (expected || w->retiring) {
      bool retiring = w->retiring;
      w->retired = true;
      check_job_done(c, w->job); /* may free the job and w */
      if (!retiring && c->shutdown_phase == TIDE__SHUTDOWN_NONE)
        poke(c); /* retired itself (lifetime): the controller may replace it */
    } else if (c->shutdown_phase == TIDE__SHUTDOWN_NONE && w->job->phase != TIDE__JOB_STOPPING) {
      w->died_at = tide__now();
      tide__clog(TIDE_LOG_WARNING, "worker %s left unexpectedly; replaced unless back within 15s",
                 name);
    }
    break;
  default: break;
  }
}

/* Housekeeping: workers that died and did not come back within 15 s are
 * replaced (their job stopped, the plan refilled); a fixed-size cluster
 * keeps its size. */
void tide__cluster_maintain(tide_cluster *c)
{
  double now = tide__now();
  tide__cjob *j, *tmp;
  DL_FOREACH_SAFE (c->jobs, j, tmp) {
    for (int i = 0; i < j->pub.nworkers; i++) {
      tide__cworker *w = &j->w[i];
      if (w->died_at > 0 && now - w->died_at >= 15.0 && j->phase != TIDE__JOB_STOPPING) {
        tide__clog(TIDE_LOG_WARNING, "worker %s did not come back: replacing job %s", w->name,
                   j->name);
        c->m.replaced += (uint64_t)j->pub.nworkers;
        j->replace = true;
        stop_job(c, j);
        poke(c);
        break;
      }
    }
  }
  if (c->shutdown_phase == TIDE__SHUTDOWN_NONE && c->wanted >= 0 &&
      !tide__adaptive_running(c->adaptive) && tide__cluster_nplan(c) < c->wanted &&
      tide__backoff_ready(&c->backoff, now)) {
    tide_error e;
    submit_jobs(c,
                (c->wanted - tide__cluster_nplan(c) + tide__cluster_processes(c) - 1) /
                    tide__cluster_processes(c),
                &e);
  }
  tide__cluster_pools_maintain(c, now);
}

/* ---- retire then stop */

typedef struct retire_ctx {
  tide_cluster *c;
  bool internal;
  tide__retire_fn cb;
  void *arg;
  char **extra; /* not-arrived names, reported as retired */
  size_t nextra;
  uv_timer_t t; /* for answers without a scheduler round */
} retire_ctx;

static void free_names(char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void retire_ctx_free(uv_handle_t *h)
{
  retire_ctx *x = h->data;
  for (size_t i = 0; i < x->nextra; i++)
    free(x->extra[i]);
  free(x->extra);
  free(x);
}

static void retire_finish(retire_ctx *x, const tide__retire_result *r)
{
  tide_cluster *c = x->c;
  tide__retire_result m = {0};
  m.retired = tide__xcalloc(r->nretired + x->nextra + 1, sizeof(char *));
  for (size_t i = 0; i < r->nretired; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, r->retired[i], w);
    if (w) {
      w->retired = true;
      check_job_done(c, w->job);
    }
    m.retired[m.nretired++] = r->retired[i];
  }
  for (size_t i = 0; i < x->nextra; i++)
    m.retired[m.nretired++] = x->extra[i];
  m.not_retired = r->not_retired;
  m.reasons = r->reasons;
  m.nnot_retired = r->nnot_retired;
  for (size_t i = 0; i < r->nnot_retired; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, r->not_retired[i], w);
    if (w && !w->retired) {
      w->retiring = false; /* docs/design.md §6: back to running, never killed */
      tide__clog(TIDE_LOG_WARNING, "worker %s not retired: %s", w->name,
                 r->reasons && r->reasons[i] ? r->reasons[i] : "unknown");
    }
  }
  if (x->internal && c->retiring > 0)
    c->retiring--;
  if (x->cb)
    x->cb(c->sched, &m, x->arg);
  free(m.retired);
}

static void on_sched_retired(tide__sched *s, const tide__retire_result *r, void *arg)
{
  retire_ctx *x = arg;
  retire_finish(x, r);
  uv_close((uv_handle_t *)&x->t, retire_ctx_free);
}

static void on_retire_timer(uv_timer_t *t)
{
  retire_ctx *x = t->data;
  tide__retire_result r = {0};
  retire_finish(x, &r);
  uv_close((uv_handle_t *)&x->t, retire_ctx_free);
}

int tide__cluster_retire_names(tide_cluster *c, char *const *names_in, size_t n, bool internal,
                               tide__retire_fn cb, void *arg, tide_error *err)
{
  /* the caller's names may be the scheduler's own strings, freed when it
   * removes a retired worker during the call: work on copies */
  char **names = tide__xcalloc(n + 1, sizeof *names);
  for (size_t i = 0; i < n; i++)
    names[i] = tide__xstrdup(names_in[i]);
  retire_ctx *x = tide__xcalloc(1, sizeof *x);
  char **known = tide__xcalloc(n + 1, sizeof *known);
  size_t nknown = 0;
  x->c = c;
  x->internal = internal;
  x->cb = cb;
  x->arg = arg;
  x->extra = tide__xcalloc(n + 1, sizeof *x->extra);
  uv_timer_init(c->loop, &x->t);
  x->t.data = x;
  for (size_t i = 0; i < n; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, names[i], w);
    if (w && !w->arrived && !w->retired) {
      x->extra[x->nextra++] = tide__xstrdup(names[i]); /* never arrived: just stop it */
    } else {
      known[nknown++] = names[i];
    }
  }
  int rc = 0;
  if (nknown)
    rc = tide__sched_retire_workers(c->sched, known, nknown, on_sched_retired, x, err);
  free(known);
  if (rc < 0) {
    uv_close((uv_handle_t *)&x->t, retire_ctx_free);
    free_names(names, n);
    return rc;
  }
  /* mark only once the call was accepted: a failed call has no effect */
  for (size_t i = 0; i < n; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, names[i], w);
    if (w && !w->retired)
      w->retiring = true;
  }
  for (size_t i = 0; i < x->nextra; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, x->extra[i], w);
    if (w)
      check_job_done(c, w->job);
  }
  free_names(names, n);
  if (internal)
    c->retiring++;
  if (!nknown)
    uv_timer_start(&x->t, on_retire_timer, 0, 0);
  return 0;
}

int tide__cluster_retire(tide_cluster *c, char *const *names, size_t n, tide__retire_fn cb,
                         void *arg, tide_error *err)
{
  int ours = 0;
  for (size_t i = 0; i < n; i++) {
    tide__cworker *w = NULL;
    HASH_FIND_STR(c->workers, names[i], w);
    if (w && !w->retiring && !w->retired)
      ours++;
  }
  int rc = tide__cluster_retire_names(c, names, n, false, cb, arg, err);
  if (rc == 0 && c->wanted > 0 && ours) {
    /* a user's retirement shrinks a fixed-size cluster instead of being
     * undone by a replacement */
    int P = tide__cluster_processes(c);
    c->wanted = c->wanted - ours < 0 ? 0 : c->wanted - ours;
    c->wanted = (c->wanted / P) * P;
  }
  return rc;
}

tide__group_key_fn tide__cluster_key_fn(const char *worker_key)
{
  if (worker_key && strcmp(worker_key, "job") == 0)
    return tide__group_by_job;
  if (worker_key && strcmp(worker_key, "host") == 0)
    return tide__group_by_host;
  return NULL;
}

/* ---- scale */

/* workers_to_close for scale(): whole jobs when a job runs several. */
static size_t scale_close_cb(void *arg, int target, char ***names)
{
  tide_cluster *c = arg;
  if (c->scope)
    return tide__cluster_pool_close(c, c->scope, target, names);
  tide__close_opts o = {.target = target,
                        .n = -1,
                        .memory_ratio = 0,
                        .minimum = -1,
                        .key = tide__cluster_processes(c) > 1 ? tide__group_by_job : NULL};
  return tide__sched_workers_to_close(c->sched, &o, names);
}

int tide__cluster_scale_to(tide_cluster *c, int n, tide_error *err)
{
  int P = tide__cluster_processes(c);
  n = tide__rec_round_jobs(n, P);
  int nplan = tide__cluster_nplan(c);
  if (n > nplan)
    return submit_jobs(c, (n - nplan) / P, err);
  if (n == nplan)
    return 0;

  /* down: the rule of tide__rec_pick_down, with the scheduler's choice
   * of whole jobs */
  tide__rec_member *na = NULL;
  size_t nna = tide__cluster_not_arrived(c, &na);
  char **names = NULL;
  size_t k = tide__rec_pick_down(na, nna, P, nplan - n, n, scale_close_cb, c, &names);
  free(na);
  int rc = 0;
  if (k)
    rc = tide__cluster_retire_names(c, names, k, true, NULL, NULL, err);
  for (size_t i = 0; i < k; i++)
    free(names[i]);
  free(names);
  return rc;
}

int tide_cluster_scale(tide_cluster *c, int n, tide_error *err)
{
  if (n < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "scale: n must be >= 0, not %d", n);
  if (n > c->cfg.cluster.max_workers)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "scale: n %d is above the ceiling of %d workers (cluster.max-workers)", n,
                          c->cfg.cluster.max_workers);
  if (c->npools) /* docs/adaptive.md "Pools": one pool at a time, by name */
    return tide__cluster_pool_scale(c, NULL, n, err);
  if (!c->ops->scale_up)
    return tide_errprintf(err, TIDE_ENOSCALE, "the %s backend cannot scale", c->ops->kind);
  tide_cluster_adapt_stop(c);
  tide__backoff_ok(&c->backoff);
  c->wanted = tide__rec_round_jobs(n, tide__cluster_processes(c));
  tide__clog(TIDE_LOG_INFO, "scale to %d worker(s)", c->wanted);
  return tide__cluster_scale_to(c, n, err);
}
