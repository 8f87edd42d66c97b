/* Worker pools (docs/adaptive.md "Pools"): several backend instances in one
 * cluster, each with the resources its workers advertise, a minimum, a
 * maximum and a cost weight. The adaptive round computes a target per pool
 * from the pure decisions of src/adaptive/pools.c and the recommendation
 * rules of src/adaptive/recommend.c, and scales each pool by itself (its
 * jobs, its workers to close). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive/pools.h"
#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"

static bool name_ok(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-'))
      return false;
  return true;
}

int tide__pool_spec_parse(const char *text, tide__pool_spec *out, tide_error *err)
{
  memset(out, 0, sizeof *out);
  out->maximum = INFINITY;
  out->cost = 1;
  if (strlen(text) >= sizeof out->buf)
    return tide_errprintf(err, TIDE_EUSAGE, "--pool: \"%.40s...\" is too long", text);
  snprintf(out->buf, sizeof out->buf, "%s", text);
  char *colon = strchr(out->buf, ':');
  if (colon)
    *colon = '\0';
  if (strlen(out->buf) >= sizeof out->name || !name_ok(out->buf))
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--pool: \"%s\" is not NAME:OPTION=VALUE,... (a name of letters, "
                          "digits, '_' and '-')",
                          text);
  snprintf(out->name, sizeof out->name, "%s", out->buf);
  char *p = colon ? colon + 1 : NULL;
  while (p && *p) {
    char *end = strchr(p, ',');
    if (end)
      *end = '\0';
    char *eq = strchr(p, '=');
    if (!eq || eq == p)
      return tide_errprintf(err, TIDE_EUSAGE, "--pool %s: \"%s\" is not OPTION=VALUE", out->name,
                            p);
    *eq = '\0';
    const char *k = p, *v = eq + 1;
    tide_error e;
    double x;
    int rc = 0;
    if (strcmp(k, "backend") == 0) {
      snprintf(out->backend, sizeof out->backend, "%s", v);
    } else if (strcmp(k, "min") == 0 || strcmp(k, "minimum") == 0) {
      rc = tide__parse_count(v, false, &out->minimum, &e);
    } else if (strcmp(k, "max") == 0 || strcmp(k, "maximum") == 0) {
      rc = tide__parse_count(v, true, &out->maximum, &e);
    } else if (strcmp(k, "cost") == 0) {
      rc = tide__parse_number(v, &x, &e);
      if (rc == 0 && !(x > 0))
        rc = tide_errprintf(&e, TIDE_EUSAGE, "must be more than 0");
      out->cost = x;
    } else if (strcmp(k, "resources") == 0) {
      /* '+' between resources: ',' separates the pool's options */
      char rbuf[512];
      snprintf(rbuf, sizeof rbuf, "%s", v);
      for (char *q = rbuf; *q; q++)
        if (*q == '+')
          *q = ',';
      rc = tide__res_parse(rbuf, &out->res, &e);
    } else if (out->nopts < TIDE__POOL_MAX_OPTS) {
      out->keys[out->nopts] = k; /* the backend's own flag, checked by the caller */
      out->values[out->nopts++] = v;
    } else {
      rc = tide_errprintf(&e, TIDE_EUSAGE, "too many options");
    }
    if (rc < 0)
      return tide_errprintf(err, TIDE_EUSAGE, "--pool %s: %s: %s", out->name, k, e.text);
    p = end ? end + 1 : NULL;
  }
  return 0;
}

int tide__pool_specs_check(const tide__pool_spec *p, size_t n, int max_workers, tide_error *err)
{
  double mins = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++)
      if (strcmp(p[i].name, p[j].name) == 0)
        return tide_errprintf(err, TIDE_EUSAGE, "--pool %s: declared twice", p[i].name);
    if (p[i].minimum > p[i].maximum)
      return tide_errprintf(err, TIDE_EUSAGE, "--pool %s: min %g is above max %g", p[i].name,
                            p[i].minimum, p[i].maximum);
    if (p[i].minimum > max_workers)
      return tide_errprintf(err, TIDE_EUSAGE,
                            "--pool %s: min %g is above the ceiling of %d workers (--max-workers)",
                            p[i].name, p[i].minimum, max_workers);
    if (isfinite(p[i].maximum) && p[i].maximum > max_workers)
      return tide_errprintf(err, TIDE_EUSAGE,
                            "--pool %s: max %g is above the ceiling of %d workers (--max-workers)",
                            p[i].name, p[i].maximum, max_workers);
    mins += p[i].minimum;
  }
  if (mins > max_workers)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "--pool: the minimums add up to %g, above the ceiling of %d workers "
                          "(--max-workers)",
                          mins, max_workers);
  return 0;
}

void tide__cluster_set_pools(tide_cluster *c, const tide__pool_spec *p,
                             const tide_backend_ops *const *ops, void *const *self, size_t n)
{
  c->pools = tide__xcalloc(n, sizeof *c->pools);
  c->npools = n;
  tide__res *res = tide__xcalloc(n ? n : 1, sizeof *res);
  for (size_t i = 0; i < n; i++) {
    tide__cpool *q = &c->pools[i];
    q->name = tide__xstrdup(p[i].name);
    q->ops = ops[i];
    q->self = self[i];
    q->res = p[i].res;
    tide__res_format(&q->res, q->res_text, sizeof q->res_text);
    q->minimum = p[i].minimum;
    q->maximum = p[i].maximum;
    q->cost = p[i].cost;
    q->st = tide__rec_state_create();
    q->last_target = -1;
    q->wanted = -1;
    q->capped_asked = -1;
    snprintf(q->startup_key, sizeof q->startup_key, "pool:%s", q->name);
    res[i] = p[i].res;
    char mx[32];
    snprintf(mx, sizeof mx, isinf(q->maximum) ? "inf" : "%g", q->maximum);
    tide__clog(TIDE_LOG_INFO, "pool %s: %s backend, resources %s, min %g, max %s, cost %g", q->name,
               q->ops->kind, q->res_text[0] ? q->res_text : "none", q->minimum, mx, q->cost);
  }
  tide__sched_set_pools(c->sched, res, n);
  free(res);
}

int tide__cluster_implicit_pool(tide_cluster *c, tide_error *err)
{
  tide__res res;
  tide_error e;
  if (!c->cfg.worker.resources[0])
    return 0;
  if (tide__res_parse(c->cfg.worker.resources, &res, &e) < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "worker.resources: %s", e.text);
  tide__sched_set_pools(c->sched, &res, 1);
  return 0;
}

tide__cpool *tide__cluster_pool_find(tide_cluster *c, const char *name)
{
  for (size_t i = 0; i < c->npools; i++)
    if (strcmp(c->pools[i].name, name) == 0)
      return &c->pools[i];
  return NULL;
}

const tide_backend_ops *tide__cluster_job_ops(const tide_cluster *c, const tide__cjob *j,
                                              void **self)
{
  if (j->pool) {
    *self = j->pool->self;
    return j->pool->ops;
  }
  *self = c->self;
  return c->ops;
}

void tide__cluster_pools_poll(tide_cluster *c, double now, double min_gap)
{
  for (size_t i = 0; i < c->npools; i++) {
    tide__cpool *q = &c->pools[i];
    double pi = min_gap > 0 ? min_gap : q->ops->poll_interval > 0 ? q->ops->poll_interval : 1.0;
    if (!q->ops->poll || now - q->last_poll < pi)
      continue;
    q->last_poll = now;
    tide_error e = {{0}};
    int rc = q->ops->poll(q->self, c, &e);
    if (rc < 0 && c->shutdown_phase == TIDE__SHUTDOWN_NONE)
      tide__clog(TIDE_LOG_WARNING, "polling pool %s's %s backend failed: %s", q->name, q->ops->kind,
                 e.text[0] ? e.text : tide_strerror(rc));
  }
}

void tide__cluster_pools_destroy(tide_cluster *c)
{
  for (size_t i = 0; i < c->npools; i++) {
    tide__cpool *q = &c->pools[i];
    if (q->ops && q->ops->destroy)
      q->ops->destroy(q->self);
    tide__rec_state_destroy(q->st);
    free(q->name);
  }
  free(c->pools);
  c->pools = NULL;
  c->npools = 0;
}

void tide__cluster_pools_reset(tide_cluster *c)
{
  for (size_t i = 0; i < c->npools; i++) {
    tide__rec_state_clear(c->pools[i].st);
    c->pools[i].wanted = -1; /* adapting again: no fixed size any more */
    c->pools[i].capped_asked = -1;
  }
}

const char *tide__cluster_job_startup_key(const tide_cluster *c, const tide__cjob *j)
{
  return j && j->pool ? j->pool->startup_key : tide__cluster_startup_key(c);
}

uint64_t tide__cluster_pools_capped(const tide_cluster *c)
{
  uint64_t n = 0;
  for (size_t i = 0; i < c->npools; i++)
    n += c->pools[i].capped;
  return n;
}

/* "small, big": the pools' names, for messages. */
static void pool_names(const tide_cluster *c, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < c->npools && k < len; i++) {
    int w = snprintf(buf + k, len - k, "%s%s", i ? ", " : "", c->pools[i].name);
    k += w > 0 ? (size_t)w : 0;
  }
}

int tide__cluster_pool_scale(tide_cluster *c, const char *pool, int n, tide_error *err)
{
  char names[512];
  pool_names(c, names, sizeof names);
  if (!pool && c->npools)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "scale: this cluster has pools (%s): name the one to scale "
                          "(tide scale N --pool NAME)",
                          names);
  tide__cpool *q = pool ? tide__cluster_pool_find(c, pool) : NULL;
  if (pool && !q)
    return tide_errprintf(err, TIDE_ENOTFOUND, "scale: no pool named \"%s\" (%s)", pool,
                          c->npools ? names : "this cluster has no pools");
  if (!q)
    return tide_cluster_scale(c, n, err);
  if (n < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "scale: n must be >= 0, not %d", n);
  /* the pool's limits hold for a fixed size as for adapting */
  if (n > q->maximum || n > c->cfg.cluster.max_workers)
    return tide_errprintf(err, TIDE_EUSAGE, "scale: n %d is above pool %s's max %g", n, q->name,
                          fmin(q->maximum, c->cfg.cluster.max_workers));
  if (n < q->minimum)
    return tide_errprintf(err, TIDE_EUSAGE, "scale: n %d is below pool %s's min %g", n, q->name,
                          q->minimum);
  if (!q->ops->scale_up)
    return tide_errprintf(err, TIDE_ENOSCALE, "pool %s: the %s backend cannot scale", q->name,
                          q->ops->kind);
  tide_cluster_adapt_stop(c);
  tide__backoff_ok(&c->backoff);
  q->wanted = tide__rec_round_jobs(n, tide__cluster_processes(c));
  tide__clog(TIDE_LOG_INFO, "pool %s: scale to %d worker(s)", q->name, q->wanted);
  c->scope = q;
  int rc = tide__cluster_scale_to(c, n, err);
  c->scope = NULL;
  return rc;
}

void tide__cluster_pools_maintain(tide_cluster *c, double now)
{
  if (c->shutdown_phase != TIDE__SHUTDOWN_NONE || tide__adaptive_running(c->adaptive) ||
      !tide__backoff_ready(&c->backoff, now))
    return;
  for (size_t i = 0; i < c->npools; i++) {
    tide__cpool *q = &c->pools[i];
    if (q->wanted < 0)
      continue;
    c->scope = q;
    if (tide__cluster_nplan(c) < q->wanted) {
      tide_error e = {{0}};
      if (tide__cluster_scale_to(c, q->wanted, &e) < 0)
        tide__clog(TIDE_LOG_WARNING, "pool %s: refilling to %d worker(s): %s", q->name, q->wanted,
                   e.text);
    }
    c->scope = NULL;
  }
}

/* The scheduler's worker views of one pool, copied into *out (malloc'd). */
static size_t pool_views(tide_cluster *c, const tide__cpool *pool, tide__sw_view **out)
{
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(c->sched, &ws), k = 0;
  tide__sw_view *v = tide__xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    if (ws[i].pool && strcmp(ws[i].pool, pool->name) == 0)
      v[k++] = ws[i];
  *out = v;
  return k;
}

size_t tide__cluster_pool_close(tide_cluster *c, const tide__cpool *pool, int target, char ***names)
{
  tide__sw_view *v;
  size_t n = pool_views(c, pool, &v);
  size_t *idx = tide__xcalloc(n + 1, sizeof *idx);
  tide__close_opts o = {.target = target,
                        .n = -1,
                        .memory_ratio = 0,
                        .minimum = -1,
                        .key = tide__cluster_processes(c) > 1 ? tide__group_by_job : NULL};
  size_t k = tide__policy_workers_to_close(v, n, &o, idx);
  if (names) {
    char **out = tide__xcalloc(k + 1, sizeof *out);
    for (size_t i = 0; i < k; i++)
      out[i] = tide__xstrdup(v[idx[i]].name);
    *names = out;
  }
  free(idx);
  free(v);
  return k;
}

/* The numbers behind a capped request of pool q, and its explanation, on
 * its decision log entry e (as the no-pool controller logs them). */
static void add_capped(tide__cpool *q, json_t *e, const tide__rec_in *ri,
                       const tide__arrival_in *arr, const tide__rec_out *out)
{
  const tide__arrival_out *o = &out->arrival;
  int allowed = out->status == TIDE__REC_UP ? out->n - ri->nplan : 0;
  json_object_set_new(e, "capped",
                      json_pack("{s:i, s:i, s:o, s:f, s:f, s:i, s:i, s:I}", "asked",
                                out->asked - ri->nplan, "allowed", allowed, "drain",
                                isinf(o->drain) ? json_null() : json_real(o->drain), "arrive",
                                arr->startup, "work_left", o->left, "need", o->need, "present",
                                arr->npresent, "pending", (json_int_t)ri->nnot_arrived));
  snprintf(q->why, sizeof q->why, "pool %s: %s", q->name, out->why);
  json_object_set_new(e, "why", json_string(q->why));
  q->capped++;
  tide__log(TIDE_LOG_INFO, "adaptive", "%s", q->why);
}

typedef struct close_ctx {
  tide_cluster *c;
  tide__cpool *pool;
} close_ctx;

static size_t close_cb(void *arg, int target, char ***names)
{
  close_ctx *x = arg;
  return tide__cluster_pool_close(x->c, x->pool, target, names);
}

int tide__cluster_pools_round(tide_cluster *c, bool reactive, int wait_count, int max_pending,
                              double target_duration, double maximum, json_t *log)
{
  size_t np = c->npools;
  tide__pool_in *pin = tide__xcalloc(np, sizeof *pin);
  tide__target_inputs *in = tide__xcalloc(np, sizeof *in);
  size_t *share = tide__xcalloc(np, sizeof *share);
  size_t *excl = tide__xcalloc(np, sizeof *excl);
  double ceiling = fmin(maximum, c->cfg.cluster.max_workers);
  const tide__sw_view *ws;
  size_t nw = tide__sched_workers(c->sched, &ws);
  for (size_t i = 0; i < np; i++) {
    tide__cpool *q = &c->pools[i];
    pin[i] = (tide__pool_in){.res = &q->res,
                             .cost = q->cost,
                             .maximum = fmin(q->maximum, ceiling),
                             .nthreads = c->opts.nthreads > 0 ? c->opts.nthreads : 1};
    for (size_t w = 0; w < nw; w++) {
      /* workers being retired are leaving: not counted as present */
      if (!ws[w].pool || strcmp(ws[w].pool, q->name) != 0 ||
          ws[w].status == TIDE_W_CLOSING_GRACEFULLY)
        continue;
      pin[i].occupancy += ws[w].occupancy;
      pin[i].nprocessing += (size_t)ws[w].nprocessing;
      pin[i].nworkers++;
      pin[i].nbytes += ws[w].nbytes;
      pin[i].memory_limit += ws[w].memory_limit;
    }
  }
  tide__demand *d = NULL;
  size_t nd = tide__sched_demand(c->sched, &d);
  tide__pools_inputs(pin, np, d, nd, target_duration, c->cfg.worker.memory_target, in, share);
  free(d);
  int total = 0;
  for (size_t i = 0; i < np; i++) {
    tide__cpool *q = &c->pools[i];
    excl[i] = in[i].nqueued - share[i];
    int raw = tide__policy_adaptive_target(&in[i], target_duration);
    if ((in[i].cpu > in[i].memory ? in[i].cpu : in[i].memory) < (int)in[i].nworkers) {
      tide__close_opts o = {.target = -1, .n = -1, .memory_ratio = 0, .minimum = -1};
      tide__sw_view *v;
      size_t n = pool_views(c, q, &v);
      size_t *idx = tide__xcalloc(n + 1, sizeof *idx);
      in[i].nclose = tide__policy_workers_to_close(v, n, &o, idx);
      free(idx);
      free(v);
      raw = tide__policy_adaptive_target(&in[i], target_duration);
    }
    c->scope = q;
    tide__rec_member *na = NULL;
    size_t nna = tide__cluster_not_arrived(c, &na);
    close_ctx cx = {c, q};
    /* docs/design.md §7 "Arrival-aware requests": this pool's work,
     * workers and learned startup */
    tide__arrival_in arr;
    double startup = 0;
    bool capping = tide__adaptive_arrival_aware(c->adaptive) &&
                   tide__startup_get(c->startup, q->startup_key, &startup, NULL);
    if (capping)
      tide__pools_arrival_in(&in[i], pin[i].nthreads, startup, &arr);
    tide__rec_in ri = {
        .now = tide__now(),
        .target = raw,
        .minimum = q->minimum,
        .maximum = fmin(q->maximum, ceiling),
        .wait_count = wait_count,
        .processes = tide__cluster_processes(c),
        .nplan = tide__cluster_nplan(c),
        .not_arrived = na,
        .nnot_arrived = nna,
        .pending_jobs = tide__cluster_pending_jobs(c),
        .max_pending = max_pending,
        .backoff = &c->backoff,
        .up_only = reactive,
        .down_blocked = c->retiring > 0,
        .to_close = close_cb,
        .to_close_arg = &cx,
        .arrival = capping ? &arr : NULL,
    };
    tide__rec_out out;
    tide__recommend(q->st, &ri, &out);
    free(na);
    q->last_target = out.target;
    total += out.target;
    /* docs/adaptive.md "Pools": what this pool grows for */
    if (excl[i] && share[i])
      snprintf(q->reason, sizeof q->reason,
               "%zu queued task(s) only it serves (%s) and %zu without resources", excl[i],
               q->res_text[0] ? q->res_text : "no resources", share[i]);
    else if (excl[i])
      snprintf(q->reason, sizeof q->reason, "%zu queued task(s) needing %s, which it serves",
               excl[i], q->res_text);
    else if (share[i])
      snprintf(q->reason, sizeof q->reason,
               "%zu queued task(s) without resources: the cheapest pool with room", share[i]);
    else
      snprintf(q->reason, sizeof q->reason, "no queued task for it; %zu processing",
               in[i].nprocessing);
    tide_error err = {{0}};
    int rc = 0;
    json_t *e = NULL;
    /* a request capped to nothing is logged once while it stays the same:
     * reactive rounds repeat it every 10 ms of a burst */
    bool capped_same = out.status == TIDE__REC_SAME && out.capped &&
                       !(out.asked == q->capped_asked && ri.nplan == q->capped_plan);
    if (out.status == TIDE__REC_UP || out.status == TIDE__REC_DOWN || capped_same) {
      const char *status = capped_same ? "capped" : tide__rec_status_name(out.status);
      e = json_pack("{s:f, s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:s}", "time", tide__wall(), "status",
                    status, "pool", q->name, "target", out.target, "raw_target", raw, "plan",
                    ri.nplan, "observed", (int)in[i].nworkers, "reactive", reactive, "reason",
                    q->reason);
      json_object_set_new(e, "queued", json_integer((json_int_t)in[i].nqueued));
      json_object_set_new(e, "queued_exclusive", json_integer((json_int_t)excl[i]));
      json_object_set_new(e, "queued_share", json_integer((json_int_t)share[i]));
      json_object_set_new(e, "processing", json_integer((json_int_t)in[i].nprocessing));
      json_object_set_new(e, "occupancy",
                          json_real(in[i].total_occupancy + in[i].queued_occupancy));
      json_object_set_new(e, "cpu_part", json_integer(in[i].cpu));
      json_object_set_new(e, "memory_part", json_integer(in[i].memory));
      if (capped_same)
        json_object_set_new(e, "n", json_integer(ri.nplan));
      if (out.capped)
        add_capped(q, e, &ri, &arr, &out);
    }
    if (e) { /* after an uncapped decision the next capped request is news again */
      q->capped_asked = out.capped ? out.asked : -1;
      q->capped_plan = ri.nplan;
    }
    if (out.status == TIDE__REC_UP) {
      json_object_set_new(e, "n", json_integer(out.n));
      tide__log(TIDE_LOG_INFO, "adaptive", "pool %s up: %d -> %d worker(s) (target %d%s): %s",
                q->name, ri.nplan, out.n, out.target, reactive ? ", reactive" : "", q->reason);
      rc = tide__cluster_scale_to(c, out.n, &err);
    } else if (out.status == TIDE__REC_DOWN) {
      json_t *wl = json_array();
      for (size_t k = 0; k < out.nworkers; k++)
        json_array_append_new(wl, json_string(out.workers[k]));
      json_object_set_new(e, "workers", wl);
      tide__log(TIDE_LOG_INFO, "adaptive",
                "pool %s down: retiring %zu worker(s) (target %d, plan %d): %s", q->name,
                out.nworkers, out.target, ri.nplan, q->reason);
      rc = tide__cluster_retire_names(c, out.workers, out.nworkers, true, NULL, NULL, &err);
    }
    c->scope = NULL;
    if (rc < 0) {
      const char *msg = err.text[0] ? err.text : tide_strerror(rc);
      tide__log(TIDE_LOG_ERROR, "adaptive", "pool %s: %s failed: %s", q->name,
                tide__rec_status_name(out.status), msg);
      tide__adaptive_note_error(c->adaptive, msg);
      json_object_set_new(e, "error", json_string(msg));
    }
    if (e)
      json_array_append_new(log, e);
    tide__rec_out_free(&out);
  }
  free(pin);
  free(in);
  free(share);
  free(excl);
  return total;
}

json_t *tide__cluster_pools_json(tide_cluster *c)
{
  json_t *a = json_array();
  const tide__sw_view *ws;
  size_t nw = tide__sched_workers(c->sched, &ws);
  for (size_t i = 0; i < c->npools; i++) {
    tide__cpool *q = &c->pools[i];
    int observed = 0;
    for (size_t w = 0; w < nw; w++)
      if (ws[w].pool && strcmp(ws[w].pool, q->name) == 0)
        observed++;
    c->scope = q;
    int plan = tide__cluster_nplan(c);
    c->scope = NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:o, s:f, s:i, s:i}", "name", q->name, "backend",
                          q->ops->kind, "resources", q->res_text, "minimum", q->minimum, "maximum",
                          isinf(q->maximum) ? json_string("inf") : json_real(q->maximum), "cost",
                          q->cost, "workers", observed, "plan", plan);
    json_object_set_new(o, "target",
                        q->last_target >= 0 ? json_integer(q->last_target) : json_null());
    json_object_set_new(o, "reason", json_string(q->reason));
    json_object_set_new(o, "wanted", q->wanted >= 0 ? json_integer(q->wanted) : json_null());
    /* docs/design.md §7 "Arrival-aware requests": what this pool learned */
    double st = 0;
    unsigned long ns = 0;
    bool known = tide__startup_get(c->startup, q->startup_key, &st, &ns);
    json_object_set_new(o, "startup", known ? json_real(st) : json_null());
    json_object_set_new(o, "startup_samples", json_integer((json_int_t)ns));
    json_object_set_new(o, "capped", json_integer((json_int_t)q->capped));
    json_object_set_new(o, "capped_why", q->why[0] ? json_string(q->why) : json_null());
    json_array_append_new(a, o);
  }
  return a;
}
