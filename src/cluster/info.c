/* What the Cluster core shows: plan / requested / observed, the repr,
 * /api/v1/adaptive, cluster info, logs, metrics and the scheduler file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"

static json_t *plan_json(tide_cluster *c, bool requested_only)
{
  json_t *a = json_array();
  for (tide__cjob *j = c->jobs; j; j = j->next) {
    if (j->phase == TIDE__JOB_STOPPING)
      continue;
    if (requested_only && j->phase == TIDE__JOB_SUBMITTING)
      continue;
    for (int i = 0; i < j->pub.nworkers; i++) {
      if (j->w[i].retiring || j->w[i].retired)
        continue;
      json_array_append_new(a, json_string(j->w[i].name));
    }
  }
  return a;
}

static json_t *observed_json(tide_cluster *c)
{
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(c->sched, &ws);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(ws[i].name));
  return a;
}

json_t *tide__cluster_adaptive_json(tide_cluster *c)
{
  json_t *o = tide__adaptive_json(c->adaptive);
  json_object_set_new(o, "plan", plan_json(c, false));
  json_object_set_new(o, "requested", plan_json(c, true));
  json_object_set_new(o, "observed", observed_json(c));
  json_object_set_new(o, "backend", json_string(c->ops->kind));
  json_object_set_new(o, "processes", json_integer(tide__cluster_processes(c)));
  json_object_set_new(o, "pending_jobs", json_integer(tide__cluster_pending_jobs(c)));
  json_object_set_new(o, "startup", tide__cluster_startup_json(c));
  json_object_set_new(o, "pools", tide__cluster_pools_json(c));
  const tide__backoff *b = &c->backoff;
  double now = tide__now();
  json_object_set_new(o, "paused", json_boolean(b->paused));
  json_object_set_new(o, "backoff",
                      json_pack("{s:i, s:I, s:f, s:b}", "failures", b->failures, "total_failures",
                                (json_int_t)b->total_failures, "next_try_in",
                                b->failures && b->next_try > now ? b->next_try - now : 0.0,
                                "paused", b->paused));
  if (b->failures) {
    json_object_set_new(o, "error", json_string(b->reason));
    if (b->paused)
      json_object_set_new(
          o, "paused_reason",
          json_sprintf("%d resource-manager failures in a row: %s", b->failures, b->reason));
  } else {
    json_object_set_new(o, "error", json_null());
  }
  return o;
}

json_t *tide__cluster_info_json(tide_cluster *c)
{
  char repr[512];
  tide_cluster_repr(c, repr, sizeof repr);
  json_t *jobs = json_array();
  for (tide__cjob *j = c->jobs; j; j = j->next) {
    json_t *ws = json_array();
    for (int i = 0; i < j->pub.nworkers; i++)
      json_array_append_new(ws, json_string(j->w[i].name));
    json_array_append_new(jobs,
                          json_pack("{s:s, s:s, s:s?, s:o, s:s?}", "name", j->name, "state",
                                    tide__job_phase_name(j->phase), "backend_id", j->pub.backend_id,
                                    "workers", ws, "pool", j->pool ? j->pool->name : NULL));
  }
  return json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:o, s:o, s:o}", "repr", repr, "backend",
                   c->ops->kind, "name", c->name, "processes", tide__cluster_processes(c),
                   "nthreads", c->opts.nthreads, "memory_limit", (json_int_t)c->opts.memory_limit,
                   "jobs", jobs, "startup", tide__cluster_startup_json(c), "pools",
                   tide__cluster_pools_json(c));
}

void tide_cluster_repr(const tide_cluster *c, char *buf, size_t len)
{
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(((tide_cluster *)c)->sched, &ws);
  long threads = 0;
  int64_t mem = 0;
  for (size_t i = 0; i < n; i++) {
    threads += ws[i].nthreads;
    mem += ws[i].memory_limit;
  }
  char m[32];
  tide__format_size(mem, m, sizeof m);
  snprintf(buf, len, "%s(%s, '%s', workers=%zu, threads=%ld, memory=%s)", c->ops->kind, c->name,
           tide__sched_address(c->sched), n, threads, m);
}

/* Lines of this process logged by the cluster manager, controller and
 * backends. */
static bool cluster_line(const char *l)
{
  static const char *subs[] = {" cluster: ", " adaptive: ", " backend: "};
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strstr(l, subs[i]))
      return true;
  return false;
}

void tide__cluster_logs_json(tide_cluster *c, json_t *out)
{
  size_t n = 0;
  char **lines = tide__log_recent(TIDE_LOG_RING, &n);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    if (cluster_line(lines[i]))
      json_array_append_new(a, json_string(lines[i]));
  tide__log_free_lines(lines);
  json_object_set_new(out, "cluster", a);
  json_t *workers = json_object_get(out, "workers");
  if (!json_is_object(workers)) {
    workers = json_object();
    json_object_set_new(out, "workers", workers);
  }
  for (tide__cjob *j = c->jobs; j; j = j->next) {
    char **jl = NULL;
    void *self;
    const tide_backend_ops *ops = tide__cluster_job_ops(c, j, &self);
    if (!ops->logs || ops->logs(self, c, &j->pub, &jl) < 0 || !jl)
      continue;
    json_t *dst = json_object_get(workers, j->name);
    if (!json_is_array(dst)) {
      dst = json_array();
      json_object_set_new(workers, j->name, dst);
    }
    for (size_t i = 0; jl[i]; i++) {
      json_array_append_new(dst, json_string(jl[i]));
      free(jl[i]);
    }
    free(jl);
  }
}

static void startup_one(const char *key, double seconds, unsigned long samples, double last,
                        void *arg)
{
  json_object_set_new(arg, key,
                      json_pack("{s:f, s:I, s:f}", "seconds", seconds, "samples",
                                (json_int_t)samples, "last", last));
}

json_t *tide__cluster_startup_json(const tide_cluster *c)
{
  json_t *o = json_object();
  tide__startup_each(c->startup, startup_one, o);
  return o;
}

void tide__cluster_metrics_get(tide_cluster *c, tide__cluster_metrics *m)
{
  *m = c->m;
  m->requested = tide__cluster_nplan(c);
  m->target = tide__adaptive_last_target(c->adaptive);
  m->capped = tide__adaptive_capped(c->adaptive) + tide__cluster_pools_capped(c);
  double now = tide__now();
  for (const tide__cjob *j = c->jobs; j; j = j->next)
    m->rm_worker_seconds += (now - j->created) * j->pub.nworkers;
  m->startup = tide__cluster_startup_json(c);
}

/* ---- scheduler file (docs/design.md §10): written atomically, removed at exit */

int tide__cluster_write_scheduler_file(tide_cluster *c, tide_error *err)
{
  /* a TLS cluster names its files (paths only), so that clients given the
   * scheduler file connect with TLS as they are */
  tide__tls_files tls = {c->opts.tls_ca_file, c->opts.tls_cert, c->opts.tls_key};
  return tide__schedfile_write(c->scheduler_file, tide__sched_address(c->sched), c->dashboard,
                               tide__sched_id(c->sched), tide__sched_auth(c->sched),
                               c->opts.tls_cert ? &tls : NULL, err);
}

void tide__cluster_remove_scheduler_file(tide_cluster *c)
{
  tide__schedfile_remove(c->scheduler_file);
}
