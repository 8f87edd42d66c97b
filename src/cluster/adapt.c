/* The Adaptive controller's loop (docs/design.md §7): a timer every interval
 * and a reactive wake-up on new work (at most once per 10 ms) run the pure
 * recommendations of recommend.c against the cluster, act on them, and keep
 * a bounded log of every up/down decision with its inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive/decide.h"
#include "adaptive/recommend.h"
#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/util.h"

enum { LOG_CAP = 1000, ERR_CAP = 100, HIST_CAP = 600 };

/* One point of the target / plan / observed curves the dashboard draws. */
typedef struct sample {
  double time;
  int target, plan, observed;
} sample;
#define REACT_MIN_GAP 0.010 /* docs/design.md §7: reactive rounds at most once per 10 ms */

struct tide__adaptive {
  tide_cluster *c;
  bool running, ever;
  /* resolved options */
  double minimum, maximum, interval, target_duration;
  int wait_count, max_pending;
  bool arrival_aware;
  char worker_key[16];
  tide_adapt_target_fn target;
  void *target_arg;
  tide_adapt_close_fn close_fn;
  void *close_arg;

  tide__rec_state *st;
  uv_timer_t tick, react;
  double last_react;
  bool in_round;
  int last_target;
  uint64_t rounds;
  json_t *log[LOG_CAP]; /* ring of decisions, oldest at head */
  size_t head, count;
  uint64_t capped;  /* capped decisions logged */
  int capped_asked; /* the last one logged: asked, plan (-1 none) */
  int capped_plan;
  json_t *errors;        /* recent errors, newest last */
  sample hist[HIST_CAP]; /* ring, one point per tick round */
  size_t hhead, hcount;
};

static void push_sample(tide__adaptive *a, int target, int plan, int observed)
{
  sample s = {tide__wall(), target, plan, observed};
  if (a->hcount == HIST_CAP) {
    a->hist[a->hhead] = s;
    a->hhead = (a->hhead + 1) % HIST_CAP;
  } else {
    a->hist[(a->hhead + a->hcount++) % HIST_CAP] = s;
  }
}

static json_t *num_or_inf(double v)
{
  return isinf(v) ? json_string("inf") : json_real(v);
}

tide__adaptive *tide__adaptive_create(tide_cluster *c)
{
  tide__adaptive *a = tide__xcalloc(1, sizeof *a);
  a->c = c;
  a->st = tide__rec_state_create();
  a->errors = json_array();
  a->last_target = -1;
  a->minimum = c->cfg.adaptive.minimum;
  a->maximum = c->cfg.adaptive.maximum;
  a->interval = c->cfg.adaptive.interval > 0 ? c->cfg.adaptive.interval : 1.0;
  a->wait_count = c->cfg.adaptive.wait_count > 0 ? c->cfg.adaptive.wait_count : 3;
  a->target_duration = c->cfg.adaptive.target_duration > 0 ? c->cfg.adaptive.target_duration : 5;
  a->max_pending = c->ops->max_pending;
  a->arrival_aware = c->cfg.adaptive.arrival_aware;
  a->capped_asked = -1;
  snprintf(a->worker_key, sizeof a->worker_key, "%s", c->opts.processes > 1 ? "job" : "none");
  uv_timer_init(c->loop, &a->tick);
  a->tick.data = a;
  uv_timer_init(c->loop, &a->react);
  a->react.data = a;
  return a;
}

bool tide__adaptive_running(const tide__adaptive *a)
{
  return a && a->running;
}

void tide__adaptive_set_max_pending(tide__adaptive *a, int n)
{
  if (a && n >= 0)
    a->max_pending = n;
}

int tide__adaptive_last_target(const tide__adaptive *a)
{
  return a ? a->last_target : -1;
}

double tide__adaptive_target_duration(const tide__adaptive *a)
{
  return a->target_duration;
}

uint64_t tide__adaptive_capped(const tide__adaptive *a)
{
  return a ? a->capped : 0;
}

bool tide__adaptive_arrival_aware(const tide__adaptive *a)
{
  return a && a->arrival_aware;
}

static void push_log(tide__adaptive *a, json_t *e)
{
  size_t i = (a->head + a->count) % LOG_CAP;
  if (a->count == LOG_CAP) {
    json_decref(a->log[a->head]);
    a->log[a->head] = e;
    a->head = (a->head + 1) % LOG_CAP;
  } else {
    a->log[i] = e;
    a->count++;
  }
}

void tide__adaptive_note_error(tide__adaptive *a, const char *what)
{
  if (!a)
    return;
  if (json_array_size(a->errors) >= ERR_CAP)
    json_array_remove(a->errors, 0);
  json_array_append_new(a->errors, json_pack("{s:f, s:s}", "time", tide__wall(), "error", what));
}

static size_t close_cb(void *arg, int target, char ***names)
{
  tide__adaptive *a = arg;
  if (a->close_fn)
    return a->close_fn(a->c, target, names, a->close_arg);
  tide__close_opts o = {.target = target,
                        .n = -1,
                        .memory_ratio = 0,
                        .minimum = -1,
                        .key = tide__cluster_key_fn(a->worker_key)};
  return tide__sched_workers_to_close(a->c->sched, &o, names);
}

/* The inputs behind a decision (docs/design.md §7, the decision log). */
static json_t *entry(tide__adaptive *a, const char *status, const tide__target_inputs *in, int raw,
                     const tide__rec_out *out, bool reactive)
{
  tide_cluster *c = a->c;
  const tide__sw_view *ws;
  size_t nobs = tide__sched_workers(c->sched, &ws);
  json_t *e = json_pack("{s:f, s:s, s:i, s:i, s:i, s:I, s:b}", "time", tide__wall(), "status",
                        status, "target", out->target, "raw_target", raw, "plan",
                        tide__cluster_nplan(c), "observed", (json_int_t)nobs, "reactive", reactive);
  json_object_set_new(e, "occupancy", json_real(in->total_occupancy + in->queued_occupancy));
  json_object_set_new(e, "queued_occupancy", json_real(in->queued_occupancy));
  json_object_set_new(e, "queued", json_integer((json_int_t)in->nqueued));
  json_object_set_new(e, "processing", json_integer((json_int_t)in->nprocessing));
  json_object_set_new(e, "memory", json_integer(in->total_nbytes));
  json_object_set_new(e, "memory_limit", json_integer(in->total_memory_limit));
  json_object_set_new(e, "cpu_part", json_integer(in->cpu));
  json_object_set_new(e, "memory_part", json_integer(in->memory));
  return e;
}

/* The numbers behind a capped request, and its explanation, on entry e. */
static void add_capped(tide__adaptive *a, json_t *e, const tide__rec_in *ri,
                       const tide__rec_out *out)
{
  const tide__arrival_out *o = &out->arrival;
  int allowed = out->status == TIDE__REC_UP ? out->n - ri->nplan : 0;
  json_object_set_new(
      e, "capped",
      json_pack("{s:i, s:i, s:o, s:f, s:f, s:i, s:i, s:I}", "asked", out->asked - ri->nplan,
                "allowed", allowed, "drain", isinf(o->drain) ? json_null() : json_real(o->drain),
                "arrive", ri->arrival->startup, "work_left", o->left, "need", o->need, "present",
                ri->arrival->npresent, "pending", (json_int_t)ri->nnot_arrived));
  json_object_set_new(e, "why", json_string(out->why));
  a->capped++;
  a->capped_asked = out->asked;
  a->capped_plan = ri->nplan;
  tide__log(TIDE_LOG_INFO, "adaptive", "%s", out->why);
}

/* A request capped to nothing: logged once while the same request stays
 * capped, since reactive rounds repeat it every 10 ms of a burst. */
static json_t *capped_entry(tide__adaptive *a, const tide__target_inputs *in, int raw,
                            const tide__rec_in *ri, const tide__rec_out *out, bool reactive)
{
  if (out->asked == a->capped_asked && ri->nplan == a->capped_plan)
    return NULL;
  json_t *e = entry(a, "capped", in, raw, out, reactive);
  json_object_set_new(e, "n", json_integer(ri->nplan));
  add_capped(a, e, ri, out);
  return e;
}

static void run_round(tide__adaptive *a, bool reactive)
{
  tide_cluster *c = a->c;
  if (!a->running || a->in_round || c->shutdown_phase)
    return;
  a->in_round = true;
  a->rounds++;
  if (c->npools) { /* docs/adaptive.md "Pools": a target per pool */
    json_t *log = json_array();
    a->last_target = tide__cluster_pools_round(c, reactive, a->wait_count, a->max_pending,
                                               a->target_duration, a->maximum, log);
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) push_log(a, json_incref(e));
    json_decref(log);
    if (!reactive) {
      const tide__sw_view *ws;
      push_sample(a, a->last_target, tide__cluster_nplan(c),
                  (int)tide__sched_workers(c->sched, &ws));
    }
    a->in_round = false;
    return;
  }
  tide__rec_member *na = NULL;
  size_t nna = tide__cluster_not_arrived(c, &na);
  int custom = a->target ? a->target(c, a->target_arg) : 0;
  tide__adapt_knobs k = {
      .minimum = a->minimum,
      .maximum = fmin(a->maximum, c->cfg.cluster.max_workers),
      .target_duration = a->target_duration,
      .wait_count = a->wait_count,
      .max_pending = a->max_pending,
      .arrival_aware = a->arrival_aware,
  };
  double startup = -1;
  if (!tide__startup_get(c->startup, tide__cluster_startup_key(c), &startup, NULL))
    startup = -1;
  tide__adapt_plan p = {
      .now = tide__now(),
      .processes = tide__cluster_processes(c),
      .nplan = tide__cluster_nplan(c),
      .pending_jobs = tide__cluster_pending_jobs(c),
      .not_arrived = na,
      .nnot_arrived = nna,
      .backoff = &c->backoff,
      .reactive = reactive,
      .down_blocked = c->retiring > 0,
      .raw_target = a->target ? &custom : NULL,
      .to_close = close_cb,
      .to_close_arg = a,
      .startup = startup,
      .nthreads = c->opts.nthreads,
  };
  tide__adapt_round r;
  int raw = tide__adapt_decide(a->st, c->sched, &k, &p, &r);
  if (raw < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "target() failed: %s", tide_strerror(raw));
    tide__log(TIDE_LOG_ERROR, "adaptive", "%s", msg);
    tide__adaptive_note_error(a, msg);
    free(na);
    a->in_round = false;
    return;
  }
  const tide__target_inputs *in = &r.in;
  const tide__rec_in *ri = &r.ri;
  tide__rec_out *out = &r.out;
  free(na);
  a->last_target = out->target;
  if (!reactive) {
    const tide__sw_view *ws;
    push_sample(a, out->target, p.nplan, (int)tide__sched_workers(c->sched, &ws));
  }
  tide_error err = {{0}};
  int rc = 0;
  json_t *e = NULL;
  if (out->status == TIDE__REC_SAME && out->capped) {
    e = capped_entry(a, in, raw, ri, out, reactive);
  } else if (out->status == TIDE__REC_UP) {
    e = entry(a, "up", in, raw, out, reactive);
    json_object_set_new(e, "n", json_integer(out->n));
    if (out->capped)
      add_capped(a, e, ri, out);
    tide__log(TIDE_LOG_INFO, "adaptive", "up: %d -> %d worker(s) (target %d%s)", p.nplan, out->n,
              out->target, reactive ? ", reactive" : "");
    rc = tide__cluster_scale_to(c, out->n, &err);
  } else if (out->status == TIDE__REC_DOWN) {
    e = entry(a, "down", in, raw, out, reactive);
    json_t *ws = json_array();
    for (size_t i = 0; i < out->nworkers; i++)
      json_array_append_new(ws, json_string(out->workers[i]));
    json_object_set_new(e, "workers", ws);
    tide__log(TIDE_LOG_INFO, "adaptive", "down: retiring %zu worker(s) (target %d, plan %d)",
              out->nworkers, out->target, p.nplan);
    rc = tide__cluster_retire_names(c, out->workers, out->nworkers, true, NULL, NULL, &err);
  }
  if (rc < 0) {
    /* docs/design.md §7: an error is logged and adapting goes on */
    const char *msg = err.text[0] ? err.text : tide_strerror(rc);
    tide__log(TIDE_LOG_ERROR, "adaptive", "%s failed: %s", tide__rec_status_name(out->status), msg);
    tide__adaptive_note_error(a, msg);
    json_object_set_new(e, "error", json_string(msg));
  }
  if (e)
    push_log(a, e);
  if (e && !out->capped)
    a->capped_asked = -1; /* the next capped request is news again */
  tide__rec_out_free(out);
  a->in_round = false;
}

static void on_tick(uv_timer_t *t)
{
  run_round(t->data, false);
}

static void on_react(uv_timer_t *t)
{
  tide__adaptive *a = t->data;
  a->last_react = tide__now();
  run_round(a, true);
}

void tide__adaptive_on_event(tide__adaptive *a, int ev)
{
  if (!a || !a->running || uv_is_active((uv_handle_t *)&a->react))
    return;
  double wait = a->last_react + REACT_MIN_GAP - tide__now();
  uint64_t ms = wait > 0 ? (uint64_t)ceil(wait * 1000) : 0;
  uv_timer_start(&a->react, on_react, ms, 0);
}

static int validate(const tide_adapt_opts *o, tide_error *err)
{
  if ((o->set & TIDE_ADAPT_MINIMUM) && !(o->minimum >= 0))
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: minimum must be >= 0");
  if ((o->set & TIDE_ADAPT_MAXIMUM) && !(o->maximum >= 0))
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: maximum must be >= 0");
  if ((o->set & TIDE_ADAPT_INTERVAL) && !(o->interval > 0 && isfinite(o->interval)))
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: interval must be > 0");
  if ((o->set & TIDE_ADAPT_WAIT_COUNT) && o->wait_count < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: wait_count must be >= 1");
  if ((o->set & TIDE_ADAPT_TARGET_DURATION) &&
      !(o->target_duration > 0 && isfinite(o->target_duration)))
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: target_duration must be > 0");
  if ((o->set & TIDE_ADAPT_MAX_PENDING) && o->max_pending < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: max_pending must be >= 0");
  if (o->set & TIDE_ADAPT_WORKER_KEY) {
    const char *k = o->worker_key ? o->worker_key : "";
    if (strcmp(k, "none") && strcmp(k, "job") && strcmp(k, "host"))
      return tide_errprintf(err, TIDE_EUSAGE,
                            "adapt: unknown worker_key \"%s\" (none, job or host)", k);
  }
  return 0;
}

int tide_cluster_adapt(tide_cluster *c, const tide_adapt_opts *o, tide_error *err)
{
  tide__adaptive *a = c->adaptive;
  if (!c->ops->scale_up)
    return tide_errprintf(err, TIDE_ENOSCALE, "the %s backend cannot scale: adapt is not possible",
                          c->ops->kind);
  if (c->shutdown_phase)
    return tide_errprintf(err, TIDE_ECLOSED, "the cluster is closing");
  int rc = validate(o, err);
  if (rc < 0)
    return rc;
  /* inf means "no maximum of its own": the ceiling still bounds it */
  if ((o->set & TIDE_ADAPT_MAXIMUM) && isfinite(o->maximum) &&
      o->maximum > c->cfg.cluster.max_workers)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "adapt: maximum %g is above the ceiling of %d workers "
                          "(cluster.max-workers)",
                          o->maximum, c->cfg.cluster.max_workers);
  if ((o->set & TIDE_ADAPT_MINIMUM) && o->minimum > c->cfg.cluster.max_workers)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "adapt: minimum %g is above the ceiling of %d workers "
                          "(cluster.max-workers)",
                          o->minimum, c->cfg.cluster.max_workers);
  /* minimum above maximum is bad input (no target satisfies both), checked on the options
   * in force after this call: a second adapt() keeps the others */
  double mn = (o->set & TIDE_ADAPT_MINIMUM) ? o->minimum : a->minimum;
  double mx_ = (o->set & TIDE_ADAPT_MAXIMUM) ? o->maximum : a->maximum;
  if (mn > mx_)
    return tide_errprintf(err, TIDE_EUSAGE, "adapt: minimum %g is above maximum %g", mn, mx_);
  /* a second adapt() keeps what this one does not set (docs/design.md §7) */
  if (o->set & TIDE_ADAPT_MINIMUM)
    a->minimum = o->minimum;
  if (o->set & TIDE_ADAPT_MAXIMUM)
    a->maximum = o->maximum;
  if (o->set & TIDE_ADAPT_INTERVAL)
    a->interval = o->interval;
  if (o->set & TIDE_ADAPT_WAIT_COUNT)
    a->wait_count = o->wait_count;
  if (o->set & TIDE_ADAPT_TARGET_DURATION)
    a->target_duration = o->target_duration;
  if (o->set & TIDE_ADAPT_MAX_PENDING)
    a->max_pending = o->max_pending;
  if (o->set & TIDE_ADAPT_WORKER_KEY)
    snprintf(a->worker_key, sizeof a->worker_key, "%s", o->worker_key);
  if (o->set & TIDE_ADAPT_ARRIVAL_AWARE)
    a->arrival_aware = o->arrival_aware != 0;
  if (o->target) {
    a->target = o->target;
    a->target_arg = o->target_arg;
  }
  if (o->workers_to_close) {
    a->close_fn = o->workers_to_close;
    a->close_arg = o->close_arg;
  }
  bool again = a->running;
  uv_timer_stop(&a->tick);
  uv_timer_stop(&a->react);
  tide__rec_state_clear(a->st);
  tide__cluster_pools_reset(c);
  tide__backoff_ok(&c->backoff); /* a new adapt() lifts a pause */
  a->running = a->ever = true;
  c->wanted = -1;
  char mx[32];
  snprintf(mx, sizeof mx, isinf(a->maximum) ? "inf" : "%g", a->maximum);
  tide__log(TIDE_LOG_INFO, "adaptive",
            "%s: minimum=%g maximum=%s interval=%gs wait_count=%d target_duration=%gs "
            "worker_key=%s max_pending=%d arrival_aware=%s",
            again ? "adapting again" : "adapting", a->minimum, mx, a->interval, a->wait_count,
            a->target_duration, a->worker_key, a->max_pending, a->arrival_aware ? "on" : "off");
  uint64_t ms = (uint64_t)ceil(a->interval * 1000);
  uv_timer_start(&a->tick, on_tick, 0, ms ? ms : 1);
  return 0;
}

void tide_cluster_adapt_stop(tide_cluster *c)
{
  tide__adaptive *a = c ? c->adaptive : NULL;
  if (!a || !a->running)
    return;
  a->running = false;
  uv_timer_stop(&a->tick);
  uv_timer_stop(&a->react);
  tide__rec_state_clear(a->st);
  tide__log(TIDE_LOG_INFO, "adaptive", "adaptive stopped");
}

json_t *tide__adaptive_json(tide__adaptive *a)
{
  json_t *o = json_object();
  json_object_set_new(o, "state",
                      json_string(a->running ? "running"
                                  : a->ever  ? "stopped"
                                             : "inactive"));
  json_object_set_new(o, "minimum", num_or_inf(a->minimum));
  json_object_set_new(o, "maximum", num_or_inf(a->maximum));
  json_object_set_new(o, "interval", json_real(a->interval));
  json_object_set_new(o, "wait_count", json_integer(a->wait_count));
  json_object_set_new(o, "target_duration", json_real(a->target_duration));
  json_object_set_new(o, "worker_key", json_string(a->worker_key));
  json_object_set_new(o, "max_pending", json_integer(a->max_pending));
  json_object_set_new(o, "arrival_aware", json_boolean(a->arrival_aware));
  json_object_set_new(o, "capped", json_integer((json_int_t)a->capped));
  json_object_set_new(o, "target",
                      a->last_target >= 0 ? json_integer(a->last_target) : json_null());
  json_object_set_new(o, "rounds", json_integer((json_int_t)a->rounds));
  json_object_set_new(o, "custom_target", json_boolean(a->target != NULL));
  json_t *log = json_array();
  for (size_t i = 0; i < a->count; i++)
    json_array_append(log, a->log[(a->head + i) % LOG_CAP]);
  json_object_set_new(o, "log", log);
  json_object_set_new(o, "errors", json_copy(a->errors));
  /* [[time, target, plan, observed], ...] oldest first */
  json_t *h = json_array();
  for (size_t i = 0; i < a->hcount; i++) {
    const sample *p = &a->hist[(a->hhead + i) % HIST_CAP];
    json_array_append_new(h, json_pack("[f,i,i,i]", p->time, p->target, p->plan, p->observed));
  }
  json_object_set_new(o, "history", h);
  return o;
}

void tide__adaptive_close(tide__adaptive *a)
{
  if (!a)
    return;
  tide_cluster_adapt_stop(a->c);
  if (!uv_is_closing((uv_handle_t *)&a->tick)) {
    uv_close((uv_handle_t *)&a->tick, NULL);
    uv_close((uv_handle_t *)&a->react, NULL);
  }
}

void tide__adaptive_destroy(tide__adaptive *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->count; i++)
    json_decref(a->log[(a->head + i) % LOG_CAP]);
  json_decref(a->errors);
  tide__rec_state_destroy(a->st);
  free(a);
}
