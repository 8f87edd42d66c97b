/* Arrival-aware scale-up (docs/design.md §7 "Arrival-aware requests"):
 * learn how long a resource manager takes from request to a registered
 * worker, and ask for no worker that would arrive after the work it was
 * asked for is done. Pure: no clock, no socket; the caller passes times
 * and the scheduler's figures, so unit tests and a simulator drive it. */
#ifndef TIDE_ADAPTIVE_ARRIVAL_H
#define TIDE_ADAPTIVE_ARRIVAL_H

#include <stdbool.h>
#include <stddef.h>

/* ---- Startup latency: request -> registered, per key */

/* The weight of a new sample in the moving average. A burst brings many
 * samples at once (the first workers of a request arrive before the last),
 * so one sample must not set the estimate: 0.2 averages over about the last
 * five arrivals and still follows a queue that got busier within a burst
 * or two. The first sample sets the estimate. */
#define TIDE__STARTUP_WEIGHT 0.2

/* One EWMA step: the estimate after sample when prev was the estimate over
 * nprev samples before it. */
double tide__startup_step(double prev, unsigned long nprev, double sample);

/* Estimates by key: a backend's kind ("SLURMCluster") or a pool's name, so
 * pools of one backend with different queues learn apart. */
typedef struct tide__startup tide__startup;
tide__startup *tide__startup_create(void);
void tide__startup_destroy(tide__startup *t);
/* Record one worker that took seconds (>= 0, finite) from request to
 * registered; other values are ignored. */
void tide__startup_observe(tide__startup *t, const char *key, double seconds);
/* The estimate of key: true and *seconds, *samples when known. */
bool tide__startup_get(const tide__startup *t, const char *key, double *seconds,
                       unsigned long *samples);
/* Every known key with its estimate, in the order keys were first seen. */
typedef void (*tide__startup_fn)(const char *key, double seconds, unsigned long samples,
                                 double last, void *arg);
void tide__startup_each(const tide__startup *t, tide__startup_fn fn, void *arg);

/* ---- The cap */

/* What the cap needs to know about the work and the workers. */
typedef struct tide__arrival_in {
  double work;           /* seconds of expected work queued + processing (§5 occupancy) */
  size_t ntasks;         /* tasks queued + processing */
  int npresent;          /* workers connected now */
  double threads;        /* their threads together */
  const double *pending; /* seconds from now until each asked-for, not-arrived worker
                            is expected (0: overdue, due now) */
  size_t npending;
  double nthreads; /* threads of one worker (present average, or the cluster's) */
  double startup;  /* expected seconds until a worker asked now registers */
} tide__arrival_in;

typedef struct tide__arrival_out {
  double drain;  /* seconds until the present and pending workers finish the work (inf: never) */
  double left;   /* seconds of work left when a worker asked now would arrive */
  int tasks;     /* tasks left then (in proportion to the work) */
  int need;      /* workers that would each find a task then, present and pending included */
  int allowed;   /* workers worth asking for now (INT_MAX: no cap) */
  bool uncapped; /* no cap applies (no work estimate, nobody to drain the queue) */
} tide__arrival_out;

/* A worker asked for now starts working after `startup` seconds. Until then
 * the queue drains at the rate of the threads present, growing as each
 * pending worker arrives (a fluid model: work flows to every free thread).
 * The tasks left at that moment, in proportion to the work left, can keep
 * need = ceil(tasks left / nthreads) workers busy; the present and pending
 * ones come first, and allowed = need - present - pending more would each
 * still find a task. Any more would arrive to find nothing to run (none at
 * all when the queue drains before they arrive), so they are not asked
 * for. Every worker that is asked for still shortens the queue, so in this
 * model the cap costs no latency; the controller's target (§5) still
 * decides how many of the allowed ones it wants. */
void tide__arrival_cap(const tide__arrival_in *in, tide__arrival_out *out);

/* One line for the decision log: "asked 40, capped to 3: queue drains in
 * 1.2 s, workers arrive in 2.1 s". */
void tide__arrival_explain(int asked, int capped, const tide__arrival_in *in,
                           const tide__arrival_out *out, char *buf, size_t len);

#endif
