/* `tide simulate TRACE [policy flags] [--sweep KNOB=V,V ...] [--json]`:
 * replay a workload trace under an Adaptive policy on a virtual clock
 * (src/sim, docs/simulate.md), and `tide simulate --generate SHAPE`. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/parse.h"
#include "common/util.h"
#include "sim/sim.h"

static const char usage_text[] =
    "usage: tide simulate TRACE [--backend local|slurm|cloud] [--startup DIST]\n"
    "                     [--startup-from LOGFILE] [--minimum N] [--maximum N]\n"
    "                     [--interval D] [--target-duration D] [--wait-count N]\n"
    "                     [--max-pending N] [--nthreads N] [--seed N] [--until S]\n"
    "                     [--max-workers N] [--arrival-aware | --no-arrival-aware]\n"
    "                     [--config FILE] [--log-level L] [--sweep KNOB=V,V.. ...] [--json]\n"
    "       tide simulate --generate burst|steady|longtail [--count N] [--tasks N]\n"
    "                     [--duration D] [--gap D] [--seed N]\n"
    "DIST: 5ms (constant), 1s+-0.3s or 1s±0.3s (normal), lognormal:60s+-20s;\n"
    "KNOB: interval, target_duration, wait_count, minimum, maximum.\n";

/* Startup latency by backend when --startup does not say (docs/simulate.md). */
static const struct {
  const char *backend, *dist;
} startup_defaults[] = {{"local", "5ms"}, {"slurm", "1s+-0.3s"}, {"cloud", "lognormal:60s+-15s"}};

enum { KNOB_INTERVAL, KNOB_TARGET, KNOB_WAIT, KNOB_MIN, KNOB_MAX, KNOB__COUNT };
static const char *const knob_names[KNOB__COUNT] = {"interval", "target_duration", "wait_count",
                                                    "minimum", "maximum"};
enum { SWEEP_MAX = 64 };

typedef struct sweep {
  double v[KNOB__COUNT][SWEEP_MAX];
  int n[KNOB__COUNT];
} sweep;

static int set_knob(tide__sim_opts *o, int k, double v)
{
  switch (k) {
  case KNOB_INTERVAL: o->interval = v; return v > 0 ? 0 : -1;
  case KNOB_TARGET: o->knobs.target_duration = v; return v > 0 ? 0 : -1;
  case KNOB_WAIT: o->knobs.wait_count = (int)v; return v >= 1 && v == floor(v) ? 0 : -1;
  case KNOB_MIN: o->knobs.minimum = v; return v >= 0 ? 0 : -1;
  default: o->knobs.maximum = v; return v >= 0 ? 0 : -1;
  }
}

static int knob_value(int k, const char *s, double *v, tide_error *e)
{
  if (k == KNOB_INTERVAL || k == KNOB_TARGET)
    return tide__parse_duration(s, false, v, e);
  return tide__parse_count(s, k == KNOB_MAX, v, e);
}

static int sweep_arg(sweep *sw, const char *arg)
{
  const char *eq = strchr(arg, '=');
  int k = -1;
  for (int i = 0; eq && i < KNOB__COUNT; i++)
    if (strlen(knob_names[i]) == (size_t)(eq - arg) && !strncmp(arg, knob_names[i], eq - arg))
      k = i;
  if (k < 0)
    return tide__cmd_fail(2,
                          "--sweep: expected KNOB=V,V,... with KNOB one of interval, "
                          "target_duration, wait_count, minimum, maximum; got \"%s\"",
                          arg);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", eq + 1);
  sw->n[k] = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    tide_error e;
    double v;
    tide__sim_opts probe = {0};
    if (sw->n[k] == SWEEP_MAX)
      return tide__cmd_fail(2, "--sweep: at most %d values per knob", SWEEP_MAX);
    if (knob_value(k, t, &v, &e) < 0 || set_knob(&probe, k, v) < 0)
      return tide__cmd_fail(2, "--sweep: %s: bad value \"%s\"", knob_names[k], t);
    sw->v[k][sw->n[k]++] = v;
  }
  if (!sw->n[k])
    return tide__cmd_fail(2, "--sweep: %s has no value", knob_names[k]);
  return 0;
}

static json_t *result_json(const tide__sim_result *r, const tide__sim_trace *tr)
{
  json_t *lat = json_array();
  for (size_t i = 0; i < r->nlatency; i++)
    json_array_append_new(lat, r->latency[i] >= 0 ? json_real(r->latency[i]) : json_null());
  return json_pack(
      "{s:o, s:f, s:f, s:f, s:f, s:f, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:I}",
      "latency_s", lat, "mean_latency_s", tide__sim_mean_latency(r), "worker_seconds",
      r->worker_seconds, "rm_worker_seconds", r->rm_worker_seconds, "busy_seconds", r->busy_seconds,
      "utilisation", r->utilisation, "peak_workers", r->peak, "scale_up", (json_int_t)r->scale_up,
      "scale_down", (json_int_t)r->scale_down, "workers_requested", (json_int_t)r->requested,
      "capped", (json_int_t)r->capped, "tasks_recomputed", (json_int_t)r->recomputed, "tasks",
      (json_int_t)tr->ntasks, "virtual_s", r->end, "first_worker_s",
      r->first_worker >= 0 ? json_real(r->first_worker) : json_null(), "events",
      (json_int_t)r->events);
}

static void print_result(const tide__sim_result *r, const tide__sim_trace *tr, double real)
{
  printf("submissions %zu, tasks %llu, virtual time %.2f s (%llu events, %.2f s real)\n", tr->nsubs,
         (unsigned long long)tr->ntasks, r->end, (unsigned long long)r->events, real);
  printf("latency (s):");
  for (size_t i = 0; i < r->nlatency; i++)
    printf(r->latency[i] >= 0 ? " %.2f" : " unfinished", r->latency[i]);
  printf("  (mean %.2f)\n", tide__sim_mean_latency(r));
  printf("worker-seconds %.1f (resource manager %.1f), busy %.1f, utilisation %.3f, peak %d "
         "workers\n",
         r->worker_seconds, r->rm_worker_seconds, r->busy_seconds, r->utilisation, r->peak);
  printf("scale events: %llu up, %llu down; workers requested %llu (capped requests %llu); tasks "
         "recomputed %llu\n",
         (unsigned long long)r->scale_up, (unsigned long long)r->scale_down,
         (unsigned long long)r->requested, (unsigned long long)r->capped,
         (unsigned long long)r->recomputed);
}

static int run_sweep(const tide__sim_trace *tr, const tide__sim_opts *base, const sweep *sw,
                     bool as_json)
{
  size_t total = 1;
  for (int k = 0; k < KNOB__COUNT; k++)
    total *= sw->n[k] ? (size_t)sw->n[k] : 1;
  if (total > 4096)
    return tide__cmd_fail(2, "--sweep: %zu combinations (at most 4096)", total);
  tide__sim_opts *os = tide__xcalloc(total, sizeof *os);
  double *cost = tide__xcalloc(total, sizeof *cost), *lat = tide__xcalloc(total, sizeof *lat);
  bool *front = tide__xcalloc(total, sizeof *front);
  int status = 0;
  for (size_t i = 0; i < total; i++) {
    os[i] = *base;
    size_t rest = i;
    for (int k = 0; k < KNOB__COUNT; k++)
      if (sw->n[k]) {
        set_knob(&os[i], k, sw->v[k][rest % (size_t)sw->n[k]]);
        rest /= (size_t)sw->n[k];
      }
    if (os[i].knobs.minimum > os[i].knobs.maximum) {
      status = tide__cmd_fail(2, "--sweep: minimum %g is above maximum %g", os[i].knobs.minimum,
                              os[i].knobs.maximum);
      goto out;
    }
    tide__sim_result r;
    tide_error err = {{0}};
    if (tide__sim_run(tr, &os[i], &r, &err) < 0) {
      status = tide__cmd_fail(2, "%s", err.text);
      tide__sim_result_free(&r);
      goto out;
    }
    cost[i] = r.worker_seconds;
    lat[i] = tide__sim_mean_latency(&r);
    tide__sim_result_free(&r);
  }
  tide__sim_pareto(cost, lat, total, front);
  json_t *all = json_array();
  if (!as_json)
    printf("%-9s %-16s %-10s %-8s %-8s %15s %15s  front\n", "interval", "target_duration",
           "wait_count", "minimum", "maximum", "worker_seconds", "mean_latency_s");
  for (size_t i = 0; i < total; i++) {
    const tide__sim_opts *o = &os[i];
    if (as_json) {
      json_array_append_new(
          all, json_pack("{s:f, s:f, s:i, s:f, s:o, s:f, s:f, s:b}", "interval", o->interval,
                         "target_duration", o->knobs.target_duration, "wait_count",
                         o->knobs.wait_count, "minimum", o->knobs.minimum, "maximum",
                         isinf(o->knobs.maximum) ? json_string("inf") : json_real(o->knobs.maximum),
                         "worker_seconds", cost[i], "mean_latency_s", lat[i], "pareto", front[i]));
      continue;
    }
    printf("%-9g %-16g %-10d %-8g %-8g %15.1f %15.2f  %s\n", o->interval, o->knobs.target_duration,
           o->knobs.wait_count, o->knobs.minimum, o->knobs.maximum, cost[i], lat[i],
           front[i] ? "*" : "");
  }
  if (as_json) {
    char *s = json_dumps(all, JSON_INDENT(2));
    puts(s);
    free(s);
  }
  json_decref(all);
out:
  free(os);
  free(cost);
  free(lat);
  free(front);
  return status;
}

static int generate(int argc, char **argv, const char *shape)
{
  tide__gen_opts g = {.count = 3, .n = 64, .duration = 0.5, .gap = 10, .seed = 1};
  if (!strcmp(shape, "burst"))
    g.shape = TIDE__GEN_BURST;
  else if (!strcmp(shape, "steady")) {
    g = (tide__gen_opts){TIDE__GEN_STEADY, 60, 4, 0.5, 1, 1};
  } else if (!strcmp(shape, "longtail")) {
    g = (tide__gen_opts){TIDE__GEN_LONGTAIL, 3, 64, 0.5, 10, 1};
  } else
    return tide__cmd_fail(2, "--generate: unknown shape \"%s\" (burst, steady or longtail)", shape);
  for (int i = 0; i < argc; i += 2) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    tide_error e;
    double d;
    if (!v)
      return tide__cmd_fail(2, "%s needs a value", f);
    if (!strcmp(f, "--count") || !strcmp(f, "--tasks") || !strcmp(f, "--seed")) {
      if (tide__parse_count(v, false, &d, &e) < 0 || d < 1 || d > 1e8)
        return tide__cmd_fail(2, "%s: expected an integer from 1 to 1e8, got \"%s\"", f, v);
      if (!strcmp(f, "--count"))
        g.count = (int)d;
      else if (!strcmp(f, "--tasks"))
        g.n = (int)d;
      else
        g.seed = (uint64_t)d;
    } else if (!strcmp(f, "--duration") || !strcmp(f, "--gap")) {
      if (tide__parse_duration(v, false, &d, &e) < 0)
        return tide__cmd_fail(2, "%s: %s", f, e.text);
      *(!strcmp(f, "--gap") ? &g.gap : &g.duration) = d;
    } else
      return tide__cmd_fail(2, "--generate: unknown flag %s", f);
  }
  tide__sim_generate(&g, stdout);
  return 0;
}

int tide__cmd_simulate(int argc, char **argv)
{
  const char *trace = NULL, *backend = "local", *startup = NULL, *startup_from = NULL;
  int arrival = -1; /* --arrival-aware 1, --no-arrival-aware 0, else the config's */
  const char *config = NULL, *log_level = "warning", *max_workers = NULL;
  bool as_json = false, in_sweep = false;
  sweep sw = {0};
  tide__sim_opts o = {.nthreads = 1, .memory = (int64_t)4 << 30, .seed = 1};
  double set[KNOB__COUNT];
  bool has[KNOB__COUNT] = {0};
  int max_pending = 0;
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i];
    if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (!strcmp(f, "--generate"))
      return i + 1 < argc ? generate(argc - i - 2, argv + i + 2, argv[i + 1])
                          : tide__cmd_fail(2, "--generate needs a shape");
    if (in_sweep && strncmp(f, "--", 2) && strchr(f, '=')) {
      if (sweep_arg(&sw, f))
        return 2;
      continue;
    }
    in_sweep = false;
    if (!strcmp(f, "--json")) {
      as_json = true;
      continue;
    }
    if (!strcmp(f, "--sweep")) {
      in_sweep = true;
      continue;
    }
    if (!strcmp(f, "--arrival-aware") || !strcmp(f, "--no-arrival-aware")) {
      arrival = !strcmp(f, "--arrival-aware");
      continue;
    }
    if (strncmp(f, "--", 2)) {
      if (trace)
        return tide__cmd_fail(2, "one trace only (got \"%s\" and \"%s\")", trace, f);
      trace = f;
      continue;
    }
    if (i + 1 >= argc)
      return tide__cmd_fail(2, "%s needs a value", f);
    const char *v = argv[++i];
    tide_error e;
    double d;
    int k = -1;
    static const char *const flags[KNOB__COUNT] = {"--interval", "--target-duration",
                                                   "--wait-count", "--minimum", "--maximum"};
    for (int j = 0; j < KNOB__COUNT; j++)
      if (!strcmp(f, flags[j]))
        k = j;
    if (k >= 0) {
      tide__sim_opts probe = {0};
      if (knob_value(k, v, &d, &e) < 0 || set_knob(&probe, k, d) < 0)
        return tide__cmd_fail(2, "%s: bad value \"%s\"", f, v);
      set[k] = d;
      has[k] = true;
    } else if (!strcmp(f, "--backend")) {
      backend = v;
    } else if (!strcmp(f, "--startup")) {
      startup = v;
    } else if (!strcmp(f, "--startup-from")) {
      startup_from = v;
    } else if (!strcmp(f, "--config")) {
      config = v;
    } else if (!strcmp(f, "--max-workers")) {
      max_workers = v;
    } else if (!strcmp(f, "--log-level")) {
      log_level = v;
    } else if (!strcmp(f, "--max-pending") || !strcmp(f, "--nthreads") || !strcmp(f, "--seed")) {
      if (tide__parse_count(v, false, &d, &e) < 0 || d > 1e9)
        return tide__cmd_fail(2, "%s: expected an integer >= 0, got \"%s\"", f, v);
      if (!strcmp(f, "--nthreads")) {
        if (d < 1 || d > 1024)
          return tide__cmd_fail(2, "--nthreads: expected an integer from 1 to 1024");
        o.nthreads = (int)d;
      } else if (!strcmp(f, "--seed"))
        o.seed = (uint64_t)d;
      else
        max_pending = (int)d;
    } else if (!strcmp(f, "--until")) {
      if (tide__parse_duration(v, false, &o.until, &e) < 0)
        return tide__cmd_fail(2, "--until: %s", e.text);
    } else {
      return tide__cmd_fail(2, "unknown flag %s (tide simulate --help)", f);
    }
  }
  if (!trace)
    return tide__cmd_fail(2, "simulate: which trace? (tide simulate TRACE, or --generate)");
  /* the simulated scheduler's lines would drown the summary */
  int lrc = tide__cmd_log_level("simulate", log_level);
  if (lrc)
    return lrc;

  tide__config cfg;
  tide_error err = {{0}};
  if (tide__config_load(&cfg, config, NULL, &err) < 0)
    return tide__cmd_fail(2, "%s", err.text);
  if (max_workers && tide__config_set(&cfg, "cluster.max-workers", max_workers, &err) < 0)
    return tide__cmd_fail(2, "--max-workers: %s", err.text);
  o.cfg = &cfg;
  o.interval = has[KNOB_INTERVAL] ? set[KNOB_INTERVAL] : cfg.adaptive.interval;
  o.knobs.target_duration = has[KNOB_TARGET] ? set[KNOB_TARGET] : cfg.adaptive.target_duration;
  o.knobs.wait_count = has[KNOB_WAIT] ? (int)set[KNOB_WAIT] : cfg.adaptive.wait_count;
  o.knobs.minimum = has[KNOB_MIN] ? set[KNOB_MIN] : cfg.adaptive.minimum;
  o.knobs.maximum = has[KNOB_MAX] ? set[KNOB_MAX] : cfg.adaptive.maximum;
  o.knobs.maximum = fmin(o.knobs.maximum, cfg.cluster.max_workers);
  o.knobs.max_pending = max_pending;
  o.knobs.arrival_aware = arrival < 0 ? cfg.adaptive.arrival_aware : arrival == 1;
  if (o.knobs.minimum > o.knobs.maximum)
    return tide__cmd_fail(2, "--minimum: minimum %g is above maximum %g", o.knobs.minimum,
                          o.knobs.maximum);

  if (startup_from) {
    FILE *lf = fopen(startup_from, "r");
    if (!lf)
      return tide__cmd_fail(2, "--startup-from: cannot open %s", startup_from);
    size_t n;
    int rc = tide__sim_dist_learn(lf, &o.startup, &n, &err);
    fclose(lf);
    if (rc < 0)
      return tide__cmd_fail(2, "--startup-from %s: %s", startup_from, err.text);
  } else {
    const char *spec = NULL;
    if (startup && strchr(startup, '=')) { /* BACKEND=DIST */
      size_t bl = (size_t)(strchr(startup, '=') - startup);
      if (strlen(backend) != bl || strncmp(startup, backend, bl))
        return tide__cmd_fail(2, "--startup %s: not for the %s backend", startup, backend);
      spec = startup + bl + 1;
    } else if (startup) {
      spec = startup;
    }
    for (size_t i = 0; !spec && i < sizeof startup_defaults / sizeof startup_defaults[0]; i++)
      if (!strcmp(startup_defaults[i].backend, backend))
        spec = startup_defaults[i].dist;
    if (!spec)
      return tide__cmd_fail(2,
                            "--backend: no startup model for \"%s\" (local, slurm or cloud; "
                            "or give --startup)",
                            backend);
    if (tide__sim_dist_parse(spec, &o.startup, &err) < 0)
      return tide__cmd_fail(2, "--startup: %s", err.text);
  }

  FILE *tf = strcmp(trace, "-") ? fopen(trace, "r") : stdin;
  if (!tf)
    return tide__cmd_fail(2, "cannot open trace %s", trace);
  tide__sim_trace tr = {0};
  int rc = tide__sim_trace_read(tf, trace, &tr, &err);
  if (tf != stdin)
    fclose(tf);
  int status = 0;
  if (rc < 0) {
    status = tide__cmd_fail(2, "%s", err.text);
    goto out;
  }
  bool any = false;
  for (int k = 0; k < KNOB__COUNT; k++)
    any |= sw.n[k] > 0;
  if (any) {
    status = run_sweep(&tr, &o, &sw, as_json);
    goto out;
  }
  tide__sim_result r;
  double t0 = tide__now();
  if ((rc = tide__sim_run(&tr, &o, &r, &err)) < 0) {
    status = tide__cmd_fail(2, "%s", err.text);
  } else if (as_json) {
    json_t *j = result_json(&r, &tr);
    json_object_set_new(j, "real_s", json_real(tide__now() - t0));
    json_object_set_new(j, "startup_mean_s", json_real(o.startup.mean));
    char *s = json_dumps(j, JSON_INDENT(2));
    puts(s);
    free(s);
    json_decref(j);
  } else {
    print_result(&r, &tr, tide__now() - t0);
  }
  tide__sim_result_free(&r);
out:
  tide__sim_trace_free(&tr);
  return status;
}
