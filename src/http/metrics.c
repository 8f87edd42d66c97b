/* GET /metrics: the scheduler's and cluster's figures in the Prometheus text
 * exposition format (version 0.0.4), with HELP and TYPE for every family. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "common/util.h"
#include "http/internal.h"

char *tide__prom_escape(const char *s)
{
  size_t n = 0;
  for (const char *p = s; *p; p++)
    n += (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
  char *out = tide__xmalloc(n + 1), *o = out;
  for (const char *p = s; *p; p++) {
    if (*p == '\\' || *p == '"') {
      *o++ = '\\';
      *o++ = *p;
    } else if (*p == '\n') {
      *o++ = '\\';
      *o++ = 'n';
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  return out;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, double v)
{
  fprintf(f, "%s %.17g\n", name, v);
}

/* One sample with labels given as name, value pairs (NULL-terminated). */
static void lsample(FILE *f, const char *name, double v, ...)
{
  va_list ap;
  va_start(ap, v);
  fprintf(f, "%s{", name);
  const char *sep = "";
  for (const char *l = va_arg(ap, const char *); l; l = va_arg(ap, const char *)) {
    char *e = tide__prom_escape(va_arg(ap, const char *));
    fprintf(f, "%s%s=\"%s\"", sep, l, e);
    free(e);
    sep = ",";
  }
  va_end(ap);
  fprintf(f, "} %.17g\n", v);
}

static void worker_families(FILE *f, const tide__sw_view *ws, size_t n)
{
  static const struct {
    const char *name, *help;
  } fams[] = {
      {"tide_worker_nbytes", "Bytes of task results held by a worker."},
      {"tide_worker_memory_limit_bytes", "Memory limit of a worker (0 = none)."},
      {"tide_worker_rss_bytes", "Resident memory of a worker process at its last heartbeat."},
      {"tide_worker_processing", "Tasks sent to a worker and not finished."},
      {"tide_worker_occupancy_seconds", "Expected seconds of work on a worker."},
      {"tide_worker_threads", "Execution threads of a worker."},
  };
  for (size_t k = 0; k < sizeof fams / sizeof fams[0]; k++) {
    family(f, fams[k].name, "gauge", fams[k].help);
    for (size_t i = 0; i < n; i++) {
      const tide__sw_view *w = &ws[i];
      double v = k == 0   ? (double)w->nbytes
                 : k == 1 ? (double)w->memory_limit
                 : k == 2 ? (double)w->rss
                 : k == 3 ? (double)w->nprocessing
                 : k == 4 ? w->occupancy
                          : (double)w->nthreads;
      lsample(f, fams[k].name, v, "worker", w->name ? w->name : "", NULL);
    }
  }
}

static void prefix_families(FILE *f, json_t *prefixes)
{
  const char *prefix;
  json_t *p;
  family(f, "tide_task_prefix_duration_seconds", "gauge",
         "Learned average duration of the tasks of a prefix.");
  json_object_foreach(prefixes, prefix, p)
  {
    json_t *d = json_object_get(p, "duration_average");
    if (json_is_number(d))
      lsample(f, "tide_task_prefix_duration_seconds", json_number_value(d), "prefix", prefix, NULL);
  }
  family(f, "tide_tasks_by_prefix", "gauge", "Tasks known to the scheduler by prefix and state.");
  json_object_foreach(prefixes, prefix, p)
  {
    const char *state;
    json_t *c;
    json_object_foreach(json_object_get(p, "states"), state, c)
    {
      if (json_is_number(c))
        lsample(f, "tide_tasks_by_prefix", json_number_value(c), "prefix", prefix, "state", state,
                NULL);
    }
  }
}

char *tide__metrics_text(tide__api *a, size_t *len)
{
  tide__sched *s = a->sched;
  char *buf = NULL;
  size_t blen = 0;
  FILE *f = open_memstream(&buf, &blen);
  if (!f)
    return NULL;
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(s, &ws);
  int64_t nbytes = 0, limit = 0;
  for (size_t i = 0; i < n; i++) {
    nbytes += ws[i].nbytes;
    limit += ws[i].memory_limit;
  }
  tide__api_figures m = {.requested = (int)n, .target = -1};
  if (a->ops->figures)
    a->ops->figures(a->self, &m);
  int target = m.target;
  if (target < 0)
    target = tide__sched_adaptive_target(s, tide__api_target_duration(a), NULL);

  family(f, "tide_workers", "gauge", "Workers connected to the scheduler.");
  sample(f, "tide_workers", (double)n);
  family(f, "tide_workers_requested", "gauge",
         "Workers asked of the resource manager, arrived or not.");
  sample(f, "tide_workers_requested", m.requested);
  family(f, "tide_adaptive_target", "gauge", "Workers the adaptive target asks for now.");
  sample(f, "tide_adaptive_target", target < 0 ? 0 : target);

  uint64_t counts[TIDE_TS__COUNT];
  tide__sched_task_counts(s, counts);
  family(f, "tide_tasks", "gauge", "Tasks known to the scheduler by state.");
  for (int i = 0; i < TIDE_TS__COUNT; i++)
    lsample(f, "tide_tasks", (double)counts[i], "state", tide__tstate_name((tide__tstate)i), NULL);

  json_t *prefixes = tide__sched_prefixes_json(s);
  prefix_families(f, prefixes);
  json_decref(prefixes);

  family(f, "tide_worker_startup_seconds", "gauge",
         "Learned seconds from asking a resource manager for a worker to its registration "
         "(moving average, per backend or pool).");
  const char *key;
  json_t *v;
  json_object_foreach(m.startup, key, v)
  {
    lsample(f, "tide_worker_startup_seconds", json_number_value(json_object_get(v, "seconds")),
            "backend", key, NULL);
  }
  family(f, "tide_worker_startups_total", "counter",
         "Workers whose startup latency was learned, per backend or pool.");
  json_object_foreach(m.startup, key, v)
  {
    lsample(f, "tide_worker_startups_total",
            (double)json_integer_value(json_object_get(v, "samples")), "backend", key, NULL);
  }
  json_decref(m.startup);

  family(f, "tide_memory_bytes", "gauge", "Bytes of task results held by all workers.");
  sample(f, "tide_memory_bytes", (double)nbytes);
  family(f, "tide_memory_limit_bytes", "gauge", "Summed memory limits of all workers.");
  sample(f, "tide_memory_limit_bytes", (double)limit);
  worker_families(f, ws, n);

  tide__sched_counters k;
  memset(&k, 0, sizeof k);
  tide__sched_counters_get(s, &k);
  static const char *const help[] = {
      "tide_tasks_completed_total",
      "Tasks that finished in memory.",
      "tide_tasks_erred_total",
      "Tasks that erred.",
      "tide_recomputed_tasks_total",
      "Tasks computed again because their result vanished.",
      "tide_retired_workers_total",
      "Workers retired gracefully.",
      "tide_retirements_failed_total",
      "Retirements undone (reported under not_retired).",
      "tide_workers_removed_unexpected_total",
      "Workers lost without being retired.",
      "tide_transferred_bytes_total",
      "Bytes of results copied to other workers for retirement.",
      "tide_worker_frames_sent_total",
      "Frames the scheduler sent to workers.",
      "tide_worker_frames_received_total",
      "Frames the scheduler received from workers.",
      "tide_rm_submissions_total",
      "Jobs submitted to the resource manager successfully.",
      "tide_rm_submit_failures_total",
      "Failed submissions to the resource manager.",
      "tide_rm_jobs_stopped_total",
      "Jobs stopped in the resource manager.",
      "tide_workers_replaced_total",
      "Workers replaced after dying or reaching their lifetime.",
      "tide_adaptive_capped_total",
      "Scale-ups the arrival-aware cap lowered (each logged with its reason).",
      "tide_rm_worker_seconds_total",
      "Worker-seconds asked of the resource manager: each job's workers times its time "
      "from submission until it was gone.",
      "tide_auth_refused_total",
      "Connections refused for a missing or wrong token.",
      "tide_handshake_refused_total",
      "Connections closed for not finishing the handshake in time, going silent in it, "
      "or holding too much memory before it.",
      "tide_source_refused_total",
      "Connections refused because their address, or the process, held too many already.",
      "tide_frame_memory_refused_total",
      "Connections closed because frames in flight on all connections held too much memory.",
  };
  tide__net_counters nc;
  tide__net_counters_get(&nc);
  const double vals[] = {(double)k.tasks_completed,
                         (double)k.tasks_erred,
                         (double)k.recomputed,
                         (double)k.retired,
                         (double)k.retire_failed,
                         (double)k.workers_removed_unexpected,
                         (double)k.bytes_transferred,
                         (double)k.worker_frames_sent,
                         (double)k.worker_frames_received,
                         (double)m.submissions,
                         (double)m.submit_failures,
                         (double)m.jobs_stopped,
                         (double)m.replaced,
                         (double)m.capped,
                         m.rm_worker_seconds,
                         (double)nc.auth_refused,
                         (double)nc.handshake_timeouts,
                         (double)nc.source_refused,
                         (double)nc.frame_memory_refused};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    family(f, help[2 * i], "counter", help[2 * i + 1]);
    sample(f, help[2 * i], vals[i]);
  }
  fclose(f);
  *len = blen;
  return buf;
}

void tide__h_metrics(tide__req *r)
{
  size_t len = 0;
  char *text = tide__metrics_text(r->api, &len);
  if (!text) {
    tide__req_error(r, 500, "cannot build the metrics text");
    return;
  }
  tide__req_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
