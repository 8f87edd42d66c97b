/* The read-only routes of the HTTP API: identity, workers, tasks, the task
 * stream, adaptive state and target, cluster info and logs. JSON is built
 * here, on the loop thread, only when asked for. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "http/internal.h"

/* JSON cannot hold infinity: write it as the string "inf", the form that
 * POST /api/v1/adapt and `tide adapt --maximum` accept. */
static json_t *num_or_inf(double v)
{
  if (isinf(v))
    return json_string("inf");
  if (isnan(v))
    return json_null();
  if (v == floor(v) && fabs(v) < 9e15)
    return json_integer((json_int_t)v);
  return json_real(v);
}

static json_t *worker_json(const tide__sw_view *w, bool with_address)
{
  json_t *o = json_object();
  if (with_address)
    json_object_set_new(o, "address", json_string(w->address ? w->address : ""));
  json_object_set_new(o, "name", json_string(w->name ? w->name : ""));
  json_object_set_new(o, "host", json_string(w->host ? w->host : ""));
  json_object_set_new(o, "job", json_string(w->job ? w->job : ""));
  json_object_set_new(o, "nthreads", json_integer(w->nthreads));
  json_object_set_new(o, "memory_limit", json_integer(w->memory_limit));
  json_object_set_new(o, "nbytes", json_integer(w->nbytes));
  json_object_set_new(o, "nbytes_peak", json_integer(w->nbytes_peak));
  json_object_set_new(o, "rss", json_integer(w->rss));
  json_object_set_new(o, "processing", json_integer(w->nprocessing));
  json_object_set_new(o, "occupancy", json_real(w->occupancy));
  json_object_set_new(o, "status", json_string(tide__wstatus_name(w->status)));
  json_object_set_new(o, "connected_at", json_real(w->connected_at));
  json_object_set_new(o, "last_seen", json_real(w->last_seen));
  json_object_set_new(o, "executed", json_integer(w->executed));
  json_object_set_new(o, "pool", json_string(w->pool ? w->pool : ""));
  json_object_set_new(o, "resources", json_string(w->resources ? w->resources : ""));
  return o;
}

static json_t *task_counts_json(tide__sched *s)
{
  uint64_t counts[TIDE_TS__COUNT];
  tide__sched_task_counts(s, counts);
  json_t *o = json_object();
  for (int i = 0; i < TIDE_TS__COUNT; i++)
    json_object_set_new(o, tide__tstate_name((tide__tstate)i), json_integer((json_int_t)counts[i]));
  return o;
}

/* ?offset=M&limit=N of the routes that list workers: a page of the list in
 * join order; absent means from the first / to the end. False after a 400. */
typedef struct page {
  size_t offset, limit;
} page;

static bool page_arg(tide__req *r, const char *name, size_t *out)
{
  char buf[32];
  if (!tide__req_query(r, name, buf, sizeof buf))
    return true;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(buf, &end, 10);
  if (end == buf || *end || buf[0] == '-' || errno) {
    tide__req_error(r, 400, "%s: expected a non-negative integer, got \"%s\"", name, buf);
    return false;
  }
  *out = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
  return true;
}

static bool page_parse(tide__req *r, page *pg)
{
  *pg = (page){0, SIZE_MAX};
  return page_arg(r, "offset", &pg->offset) && page_arg(r, "limit", &pg->limit);
}

/* The index just past the page within n entries. */
static size_t page_end(const page *pg, size_t n)
{
  size_t first = pg->offset < n ? pg->offset : n;
  return n - first < pg->limit ? n : first + pg->limit;
}

/* ?fields=a,b: keep only these fields of each worker; an unknown one is a
 * 400 naming it. *keep is NULL when every field is wanted. */
static bool fields_parse(tide__req *r, json_t **keep)
{
  char buf[512];
  *keep = NULL;
  if (!tide__req_query(r, "fields", buf, sizeof buf))
    return true;
  tide__sw_view none;
  memset(&none, 0, sizeof none);
  json_t *all = worker_json(&none, true);
  json_t *k = json_object();
  for (char *save = NULL, *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    if (!json_object_get(all, f)) {
      tide__req_error(r, 400, "fields: no worker field \"%s\"", f);
      json_decref(all);
      json_decref(k);
      return false;
    }
    json_object_set_new(k, f, json_true());
  }
  json_decref(all);
  *keep = k;
  return true;
}

static json_t *worker_fields(json_t *o, const json_t *keep)
{
  if (!keep)
    return o;
  const char *key;
  json_t *v, *tmp;
  json_object_foreach_safe(o, tmp, key, v)
  {
    if (!json_object_get(keep, key))
      json_object_del(o, key);
  }
  return o;
}

void tide__h_identity(tide__req *r)
{
  tide__sched *s = r->api->sched;
  page pg;
  if (!page_parse(r, &pg))
    return;
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(s, &ws);
  json_t *workers = json_object();
  for (size_t i = pg.offset, end = page_end(&pg, n); i < end; i++)
    json_object_set_new(workers, ws[i].address ? ws[i].address : "", worker_json(&ws[i], false));
  const char *addr = tide__sched_address(s);
  json_t *o =
      json_pack("{s:s, s:s, s:f, s:o, s:o}", "id", tide__sched_id(s) ? tide__sched_id(s) : "",
                "address", addr ? addr : "", "started", tide__sched_started(s), "workers", workers,
                "tasks", task_counts_json(s));
  tide__req_json(r, 200, o);
}

void tide__h_get_workers(tide__req *r)
{
  page pg;
  json_t *keep;
  if (!page_parse(r, &pg) || !fields_parse(r, &keep))
    return;
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(r->api->sched, &ws);
  /* totals over every worker, so that a page still shows the cluster */
  int64_t threads = 0, nbytes = 0;
  for (size_t i = 0; i < n; i++) {
    threads += ws[i].nthreads;
    nbytes += ws[i].nbytes;
  }
  json_t *arr = json_array();
  for (size_t i = pg.offset, end = page_end(&pg, n); i < end; i++)
    json_array_append_new(arr, worker_fields(worker_json(&ws[i], true), keep));
  json_decref(keep);
  tide__req_json(r, 200,
                 json_pack("{s:I, s:I, s:I, s:I, s:o}", "num_workers", (json_int_t)n, "offset",
                           (json_int_t)(pg.offset < n ? pg.offset : n), "nthreads",
                           (json_int_t)threads, "nbytes", (json_int_t)nbytes, "workers", arr));
}

double tide__api_target_duration(tide__api *a)
{
  double td = a->ops->target_duration ? a->ops->target_duration(a->self)
                                      : tide__sched_config(a->sched)->adaptive.target_duration;
  return td > 0 ? td : 5.0;
}

void tide__h_adaptive_target(tide__req *r)
{
  double td = tide__api_target_duration(r->api);
  tide__target_inputs in;
  memset(&in, 0, sizeof in);
  int n = tide__sched_adaptive_target(r->api->sched, td, &in);
  if (n < 0) {
    tide__req_error(r, 500, "adaptive_target failed: %s", tide_strerror(n));
    return;
  }
  json_t *inputs =
      json_pack("{s:f, s:f, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:i, s:i}", "total_occupancy",
                in.total_occupancy, "queued_occupancy", in.queued_occupancy, "queued",
                (json_int_t)in.nqueued, "processing", (json_int_t)in.nprocessing, "workers",
                (json_int_t)in.nworkers, "avg_nthreads", in.avg_nthreads, "nbytes",
                (json_int_t)in.total_nbytes, "memory_limit", (json_int_t)in.total_memory_limit,
                "nclose", (json_int_t)in.nclose, "cpu", in.cpu, "memory", in.memory);
  tide__req_json(
      r, 200, json_pack("{s:i, s:f, s:o}", "workers", n, "target_duration", td, "inputs", inputs));
}

void tide__h_adaptive(tide__req *r)
{
  if (r->api->ops->adaptive_json) {
    tide__req_json(r, 200, r->api->ops->adaptive_json(r->api->self));
    return;
  }
  const tide__config *cfg = tide__sched_config(r->api->sched);
  json_t *o = json_object();
  json_object_set_new(o, "state", json_string("inactive"));
  json_object_set_new(o, "minimum", num_or_inf(cfg->adaptive.minimum));
  json_object_set_new(o, "maximum", num_or_inf(cfg->adaptive.maximum));
  json_object_set_new(o, "interval", json_real(cfg->adaptive.interval));
  json_object_set_new(o, "wait_count", json_integer(cfg->adaptive.wait_count));
  json_object_set_new(o, "target_duration", json_real(cfg->adaptive.target_duration));
  json_object_set_new(o, "worker_key", json_string("none"));
  json_object_set_new(o, "plan", json_array());
  json_object_set_new(o, "requested", json_array());
  json_object_set_new(o, "observed", json_array());
  json_object_set_new(o, "log", json_array());
  tide__req_json(r, 200, o);
}

void tide__h_tasks(tide__req *r)
{
  tide__sched *s = r->api->sched;
  json_t *prefixes = tide__sched_prefixes_json(s);
  if (!prefixes)
    prefixes = json_object();
  json_t *body = json_pack("{s:o, s:o}", "states", task_counts_json(s), "prefixes", prefixes);
  char name[1024];
  /* ?prefix=NAME: every task of that prefix too (tide job) */
  if (tide__req_query(r, "prefix", name, sizeof name))
    json_object_set_new(body, "tasks", tide__sched_prefix_tasks_json(s, name));
  tide__req_json(r, 200, body);
}

static void task_stream_text(tide__req *r, double since);

void tide__h_task_stream(tide__req *r)
{
  char buf[64];
  double since = 0;
  if (tide__req_query(r, "since", buf, sizeof buf)) {
    char *end;
    since = strtod(buf, &end);
    if (end == buf || *end || !isfinite(since)) {
      tide__req_error(r, 400, "since: expected an epoch in seconds, got \"%s\"", buf);
      return;
    }
  }
  if (r->raw_reply) {
    task_stream_text(r, since);
    return;
  }
  tide__sched *s = r->api->sched;
  json_t *tasks = tide__sched_task_stream_json(s, since);
  if (!tasks)
    tasks = json_array();
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(s, &ws);
  json_t *workers = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(
        workers, json_pack("{s:s, s:s, s:i}", "name", ws[i].name ? ws[i].name : "", "address",
                           ws[i].address ? ws[i].address : "", "nthreads", ws[i].nthreads));
  tide__req_json(
      r, 200,
      json_pack("{s:f, s:o, s:o}", "now", tide__wall(), "tasks", tasks, "workers", workers));
}

/* HTTP (the dashboard polls this every second): the answer as text, without
 * building thousands of JSON objects on the loop (bench/ throughput_polled). */
static void task_stream_text(tide__req *r, double since)
{
  tide__sched *s = r->api->sched;
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(s, &ws), tlen;
  json_t *workers = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(
        workers, json_pack("{s:s, s:s, s:i}", "name", ws[i].name ? ws[i].name : "", "address",
                           ws[i].address ? ws[i].address : "", "nthreads", ws[i].nthreads));
  char *wtext = json_dumps(workers, JSON_COMPACT);
  json_decref(workers);
  char *tasks = tide__sched_task_stream_text(s, since, &tlen);
  char *body = tide__xasprintf("{\"now\":%.6f,\"tasks\":%s,\"workers\":%s}", tide__wall(), tasks,
                               wtext ? wtext : "[]");
  free(tasks);
  free(wtext);
  tide__req_text(r, 200, "application/json", body, strlen(body));
}

void tide__h_cluster(tide__req *r)
{
  json_t *o = r->api->ops->info_json ? r->api->ops->info_json(r->api->self) : json_object();
  tide__req_json(r, 200, o);
}

/* GET /api/v1/pools[?name=NAME] (docs/adaptive.md "Pools"): the cluster's
 * pools, or one by name (404 for a name no pool has). */
void tide__h_pools(tide__req *r)
{
  json_t *info = r->api->ops->info_json ? r->api->ops->info_json(r->api->self) : NULL;
  json_t *pools = json_incref(json_object_get(info, "pools"));
  json_decref(info);
  if (!json_is_array(pools)) {
    json_decref(pools);
    pools = json_array();
  }
  char name[128];
  if (!tide__req_query(r, "name", name, sizeof name)) {
    tide__req_json(r, 200, json_pack("{s:o}", "pools", pools));
    return;
  }
  size_t i;
  json_t *p;
  json_array_foreach(pools, i, p)
  {
    if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0) {
      json_incref(p);
      json_decref(pools);
      tide__req_json(r, 200, p);
      return;
    }
  }
  json_decref(pools);
  tide__req_error(r, 404, "no pool named \"%s\"", name);
}

/* /api/v1/logs: scheduler lines now, worker lines over the wire, then the
 * cluster's. The scheduler may answer the worker fetch later. */
static void logs_done(tide__sched *s, json_t *workers_logs, void *arg)
{
  tide__req *r = arg;
  size_t n = 0;
  char **lines = tide__log_recent(TIDE_LOG_RING, &n);
  json_t *sched_lines = json_array();
  for (size_t i = 0; i < n && lines && lines[i]; i++)
    json_array_append_new(sched_lines, json_string(lines[i]));
  if (lines)
    tide__log_free_lines(lines);
  json_t *workers = json_is_object(workers_logs) ? json_deep_copy(workers_logs) : json_object();
  json_t *o =
      json_pack("{s:[], s:o, s:o}", "cluster", "scheduler", sched_lines, "workers", workers);
  if (r->api->ops->logs_json)
    r->api->ops->logs_json(r->api->self, o);
  tide__req_json(r, 200, o);
}

void tide__h_logs(tide__req *r)
{
  tide__sched_worker_logs(r->api->sched, 3.0, logs_done, r);
}
