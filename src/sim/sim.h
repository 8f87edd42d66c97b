/* tide simulate (docs/simulate.md): replay a workload trace under an
 * Adaptive policy on a virtual clock. The engine (engine.c) drives the
 * production scheduler state machine and the controller's decision round
 * (adaptive/decide.h) with virtual workers and a discrete-event queue: no
 * sleeping, no sockets. The trace reader (trace.c) is its only I/O. */
#ifndef TIDE_SIM_SIM_H
#define TIDE_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "adaptive/decide.h"
#include "common/config.h"
#include "tide/error.h"

/* ---- Traces: JSON lines of submissions (docs/simulate.md) */
typedef struct tide__sim_task {
  char *key, *prefix;
  double duration;
  int64_t nbytes;
  char **deps;
  uint32_t ndeps;
} tide__sim_task;

typedef struct tide__sim_sub {
  double t;
  tide__sim_task *tasks;
  size_t ntasks;
} tide__sim_sub;

typedef struct tide__sim_trace {
  tide__sim_sub *subs; /* sorted by t */
  size_t nsubs;
  uint64_t ntasks;
} tide__sim_trace;

/* Read a trace; a bad line is reported as "NAME:LINE: why" (TIDE_EUSAGE). */
int tide__sim_trace_read(FILE *f, const char *name, tide__sim_trace *tr, tide_error *err);
/* Parse one line into a new submission appended to tr (line no for keys). */
int tide__sim_trace_line(tide__sim_trace *tr, const char *line, size_t lineno, tide_error *err);
void tide__sim_trace_free(tide__sim_trace *tr);

/* The generator's shapes. */
typedef enum { TIDE__GEN_BURST = 0, TIDE__GEN_STEADY, TIDE__GEN_LONGTAIL } tide__gen_shape;
typedef struct tide__gen_opts {
  tide__gen_shape shape;
  int count;       /* bursts / submissions */
  int n;           /* tasks per submission */
  double duration; /* seconds per task (mean for longtail) */
  double gap;      /* seconds between submissions */
  uint64_t seed;
} tide__gen_opts;
/* Write a trace of that shape as JSON lines. */
void tide__sim_generate(const tide__gen_opts *o, FILE *out);

/* ---- Startup latency model */
typedef enum { TIDE__DIST_CONST = 0, TIDE__DIST_NORMAL, TIDE__DIST_LOGNORMAL } tide__dist_kind;
typedef struct tide__sim_dist {
  tide__dist_kind kind;
  double mean, sd; /* seconds */
} tide__sim_dist;
/* "5ms", "1s±0.3s" or "1s+-0.3s" (normal), "lognormal:60s±20s" */
int tide__sim_dist_parse(const char *s, tide__sim_dist *d, tide_error *err);
/* Learn mean and sd from "worker X registered S after its request" lines
 * of a tide cluster log; *n gets the sample count. */
int tide__sim_dist_learn(FILE *log, tide__sim_dist *d, size_t *n, tide_error *err);
/* A draw (never negative) from d with the RNG state *rng. */
double tide__sim_dist_draw(const tide__sim_dist *d, uint64_t *rng);

/* ---- A run */
typedef struct tide__sim_opts {
  tide__adapt_knobs knobs;
  double interval; /* seconds between controller rounds */
  int nthreads;    /* per virtual worker */
  int64_t memory;  /* per virtual worker */
  tide__sim_dist startup;
  uint64_t seed;
  double until; /* > 0: stop there; else when the work is done and the plan is at minimum */
  /* the scheduler's settings (unknown-task-duration, worker-saturation,
   * memory target...); NULL: the defaults */
  const tide__config *cfg;
} tide__sim_opts;

typedef struct tide__sim_result {
  double *latency; /* per submission: done - submitted (seconds) */
  size_t nlatency;
  double worker_seconds, busy_seconds, utilisation, end;
  /* what a resource manager holds: every requested worker from its request
   * until it is gone, cancelled before arriving or the end of the run */
  double rm_worker_seconds;
  int peak;
  uint64_t scale_up, scale_down; /* controller actions taken */
  uint64_t requested;            /* workers asked for */
  /* requests the arrival-aware cap lowered, counted as the cluster's
   * tide_adaptive_capped_total (a repeated capped-to-nothing once) */
  uint64_t capped;
  uint64_t recomputed, tasks_done, events;
  double first_worker; /* virtual seconds from the first submission to a worker, -1 none */
} tide__sim_result;

int tide__sim_run(const tide__sim_trace *tr, const tide__sim_opts *o, tide__sim_result *r,
                  tide_error *err);
void tide__sim_result_free(tide__sim_result *r);
/* Mean of the latencies (0 when none). */
double tide__sim_mean_latency(const tide__sim_result *r);

/* ---- Pareto front of (cost, latency) points, both minimised: marks
 * on_front[i] for each point no other point is at least as good on both
 * and better on one. Returns the count on the front. */
size_t tide__sim_pareto(const double *cost, const double *latency, size_t n, bool *on_front);

#endif
