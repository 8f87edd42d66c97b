/* The Cluster core's life cycle (docs/design.md §8): create the scheduler, the
 * HTTP API and the backend on one loop, run until stopped or signalled,
 * then stop adapting, retire and stop every job, and close everything. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "cluster/cluster_int.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "http/api.h"

static void on_sched_event(tide__sched *s, tide__sched_event ev, const char *name, bool expected,
                           void *arg)
{
  tide_cluster *c = arg;
  if (c->shutdown_phase >= TIDE__SHUTDOWN_CLOSING)
    return;
  switch (ev) {
  case TIDE_SEV_WORKER_ADDED:
  case TIDE_SEV_WORKER_REMOVED:
    tide__cluster_worker_event(c, ev, name, expected);
    if (c->adaptive && ev == TIDE_SEV_WORKER_REMOVED)
      tide__adaptive_on_event(c->adaptive, (int)ev);
    break;
  case TIDE_SEV_NEW_WORK:
    if (c->adaptive && c->shutdown_phase == TIDE__SHUTDOWN_NONE)
      tide__adaptive_on_event(c->adaptive, (int)ev);
    break;
  case TIDE_SEV_RETIRE_REQUEST: {
    /* docs/design.md §7 "Walltime": retire it gracefully; its job stops once all its workers
     * are retired, and the plan (fixed or adaptive) is refilled at once */
    char *names[1] = {(char *)name};
    tide_error e = {{0}};
    if (c->shutdown_phase == TIDE__SHUTDOWN_NONE &&
        tide__cluster_retire_names(c, names, 1, false, NULL, NULL, &e) < 0)
      tide__clog(TIDE_LOG_WARNING, "retiring %s at the end of its lifetime: %s", name, e.text);
    tide__cluster_maintain(c);
    if (c->adaptive)
      tide__adaptive_on_event(c->adaptive, (int)ev);
    break;
  }
  }
}

static void on_house(uv_timer_t *t)
{
  tide_cluster *c = t->data;
  if (c->shutdown_phase != TIDE__SHUTDOWN_NONE)
    return;
  double now = tide__now();
  double pi = c->ops->poll_interval > 0 ? c->ops->poll_interval : 1.0;
  if (c->npools) {
    tide__cluster_pools_poll(c, now, 0);
  } else if (c->ops->poll && now - c->last_poll >= pi) {
    tide_error e = {{0}};
    c->last_poll = now;
    int rc = c->ops->poll(c->self, c, &e);
    if (rc < 0)
      tide__clog(TIDE_LOG_WARNING, "polling the %s backend failed: %s", c->ops->kind,
                 e.text[0] ? e.text : tide_strerror(rc));
  }
  tide__cluster_maintain(c);
}

static void begin_shutdown(tide_cluster *c);
static void on_signal(uv_signal_t *h, int signum)
{
  tide_cluster *c = h->data;
  tide__clog(TIDE_LOG_INFO, "received %s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  begin_shutdown(c);
}

static void on_stop_async(uv_async_t *h)
{
  begin_shutdown(h->data);
}

int tide__cluster_create_cfg(const tide_cluster_opts *opts, const tide__config *cfg,
                             const tide_backend_ops *ops, void *self, tide_cluster **out,
                             tide_error *err)
{
  if (!ops || !ops->kind)
    return tide_errprintf(err, TIDE_EUSAGE, "cluster: a backend needs a kind");
  if (opts->processes < 0 || opts->nthreads < 0 || opts->workers < 0 || opts->memory_limit < 0)
    return tide_errprintf(err, TIDE_EUSAGE, "cluster: negative processes, threads or workers");
  if (opts->workers > cfg->cluster.max_workers)
    return tide_errprintf(err, TIDE_EUSAGE,
                          "cluster: %d workers is above the ceiling of %d (cluster.max-workers)",
                          opts->workers, cfg->cluster.max_workers);
  tide_cluster *c = tide__xcalloc(1, sizeof *c);
  c->cfg = *cfg;
  c->opts = *opts;
  c->name = tide__xstrdup(opts->name && *opts->name ? opts->name : "tide");
  c->host = tide__xstrdup(opts->host && *opts->host ? opts->host : "127.0.0.1");
  c->scheduler_file = opts->scheduler_file ? tide__xstrdup(opts->scheduler_file) : NULL;
  c->opts.name = c->name;
  c->opts.host = c->host;
  c->opts.scheduler_file = c->scheduler_file;
  c->opts.config_file = NULL;
  c->opts.backoff = NULL;
  c->opts.contact_address = NULL; /* used once, below */
  if (opts->npreload > 0 && !opts->preload) {
    c->ops = NULL;
    tide_cluster_destroy(c);
    return tide_errprintf(err, TIDE_EUSAGE, "cluster: npreload without preload");
  }
  c->preload =
      tide__xcalloc((size_t)(opts->npreload > 0 ? opts->npreload : 0) + 1, sizeof *c->preload);
  for (int i = 0; i < opts->npreload; i++)
    c->preload[i] = tide__xstrdup(opts->preload[i]);
  c->opts.preload = (const char *const *)c->preload;
  const char *tls[3] = {opts->tls_ca_file, opts->tls_cert, opts->tls_key};
  for (int i = 0; i < 3; i++)
    c->tls[i] = tls[i] && *tls[i] ? tide__xstrdup(tls[i]) : NULL;
  c->opts.tls_ca_file = c->tls[0];
  c->opts.tls_cert = c->tls[1];
  c->opts.tls_key = c->tls[2];
  if (c->opts.processes < 1)
    c->opts.processes = 1;
  if (c->opts.nthreads < 1)
    c->opts.nthreads = 1;
  c->wanted = -1;
  c->ops = ops;
  c->self = self;
  c->kill_grace = 2.0;
  tide__backoff_init(&c->backoff);
  c->startup = tide__startup_create();
  if (opts->backoff && opts->nbackoff > 0 &&
      tide__backoff_set_delays(&c->backoff, opts->backoff, opts->nbackoff) < 0) {
    c->ops = NULL;
    tide_cluster_destroy(c);
    return tide_errprintf(err, TIDE_EUSAGE, "cluster: bad backoff delays");
  }
  if (opts->pause_after > 0)
    c->backoff.pause_after = opts->pause_after;

  c->loop = tide__xmalloc(sizeof *c->loop);
  uv_loop_init(c->loop);
  c->own_loop = true;
  int rc = tide__sched_create(c->loop, &c->cfg, &c->sched, err);
  if (rc >= 0)
    rc = tide__cluster_implicit_pool(c, err);
  if (rc >= 0)
    rc = tide__sched_listen(c->sched, c->host, opts->port, err);
  if (rc >= 0)
    rc = tide__sched_set_contact(c->sched, opts->contact_address, err);
  /* the dashboard is told under the host the scheduler is reached at */
  char dhost[256];
  int dport;
  if (rc < 0 ||
      tide__parse_address(tide__sched_address(c->sched), dhost, sizeof dhost, &dport, NULL) < 0)
    snprintf(dhost, sizeof dhost, "%s", c->host);
  if (rc >= 0)
    rc = tide__api_create(c->sched, &tide__cluster_api_ops, c, &c->api);
  if (rc >= 0) {
    if (opts->dashboard_port >= 0) {
      rc = tide__http_start(c->api, c->loop, c->host, opts->dashboard_port, &c->http, err);
      if (rc >= 0) {
        tide__http_set_hosts(c->http, c->cfg.dashboard.hosts);
        c->dashboard = tide__xasprintf("http://%s:%d", dhost, tide__http_port(c->http));
        tide__sched_set_dashboard(c->sched, c->dashboard);
      }
    }
  }
  if (rc < 0) {
    c->ops = NULL; /* a failed call has no side effects: self stays the caller's */
    tide_cluster_destroy(c);
    return rc;
  }
  tide__sched_announce(c->sched);
  tide__sched_observe(c->sched, on_sched_event, c);
  uv_timer_init(c->loop, &c->house);
  c->house.data = c;
  uv_timer_init(c->loop, &c->shutdown_timer);
  c->shutdown_timer.data = c;
  uv_signal_init(c->loop, &c->sigint);
  c->sigint.data = c;
  uv_signal_init(c->loop, &c->sigterm);
  c->sigterm.data = c;
  uv_async_init(c->loop, &c->stop_async, on_stop_async);
  c->stop_async.data = c;
  c->adaptive = tide__adaptive_create(c);
  if (c->scheduler_file && (rc = tide__cluster_write_scheduler_file(c, err)) < 0) {
    c->ops = NULL;
    tide_cluster_destroy(c);
    return rc;
  }
  tide__clog(TIDE_LOG_INFO, "%s cluster \"%s\": scheduler %s, dashboard %s", ops->kind, c->name,
             tide__sched_address(c->sched), c->dashboard ? c->dashboard : "none");
  *out = c;
  return 0;
}

int tide_cluster_create(const tide_cluster_opts *opts, const tide_backend_ops *ops, void *self,
                        tide_cluster **out, tide_error *err)
{
  tide__config cfg;
  int rc = tide__config_load(&cfg, opts->config_file, NULL, err);
  if (rc < 0)
    return rc;
  return tide__cluster_create_cfg(opts, &cfg, ops, self, out, err);
}

/* ---- shutdown: retire (briefly), stop every job, wait for them, close */

static void close_all(tide_cluster *c);

static void on_shutdown_tick(uv_timer_t *t)
{
  tide_cluster *c = t->data;
  double now = tide__now();
  if (c->shutdown_phase == TIDE__SHUTDOWN_RETIRING) {
    /* retirement had its chance; now stop every job */
    c->shutdown_phase = TIDE__SHUTDOWN_STOPPING;
    tide__sched_close(c->sched, true);
    tide__cluster_stop_all_jobs(c);
    c->shutdown_deadline = now + c->kill_grace + 2.0;
    uv_timer_start(&c->shutdown_timer, on_shutdown_tick, 20, 20);
    return;
  }
  if (c->shutdown_phase == TIDE__SHUTDOWN_STOPPING && c->npools) {
    tide__cluster_pools_poll(c, now, 0.1);
  } else if (c->shutdown_phase == TIDE__SHUTDOWN_STOPPING && c->ops->poll &&
             now - c->last_poll >= 0.1) {
    c->last_poll = now; /* backends learn of exits by polling */
    c->ops->poll(c->self, c, NULL);
  }
  if (c->shutdown_phase == TIDE__SHUTDOWN_STOPPING && (!c->jobs || now >= c->shutdown_deadline)) {
    if (c->jobs)
      tide__clog(TIDE_LOG_WARNING, "some jobs did not report their end");
    close_all(c);
  }
}

static void on_shutdown_retired(tide__sched *s, const tide__retire_result *r, void *arg)
{
  tide_cluster *c = arg;
  if (c->shutdown_phase == TIDE__SHUTDOWN_RETIRING)
    uv_timer_start(&c->shutdown_timer, on_shutdown_tick, 0, 0);
}

static void begin_shutdown(tide_cluster *c)
{
  if (c->shutdown_phase != TIDE__SHUTDOWN_NONE)
    return;
  c->shutdown_phase = TIDE__SHUTDOWN_RETIRING;
  tide_cluster_adapt_stop(c);
  uv_timer_stop(&c->house);
  /* retire our workers that are connected, giving them 1.5 s */
  size_t n = 0;
  char **names = tide__xcalloc(HASH_COUNT(c->workers) + 1, sizeof *names);
  for (tide__cworker *w = c->workers; w; w = w->hh.next)
    if (w->arrived && !w->retired)
      names[n++] = w->name;
  int rc = -1;
  if (n)
    rc = tide__cluster_retire_names(c, names, n, false, on_shutdown_retired, c, NULL);
  free(names);
  uv_timer_start(&c->shutdown_timer, on_shutdown_tick, rc < 0 ? 0 : 1500, 0);
}

static void close_all(tide_cluster *c)
{
  if (c->shutdown_phase >= TIDE__SHUTDOWN_CLOSING)
    return;
  c->shutdown_phase = TIDE__SHUTDOWN_CLOSING;
  uv_timer_stop(&c->shutdown_timer);
  tide__adaptive_close(c->adaptive);
  tide__cluster_remove_scheduler_file(c);
  if (c->http) {
    tide__http_stop(c->http);
    c->http = NULL;
  }
  tide__sched_close(c->sched, true);
  uv_close((uv_handle_t *)&c->house, NULL);
  uv_close((uv_handle_t *)&c->shutdown_timer, NULL);
  uv_close((uv_handle_t *)&c->sigint, NULL);
  uv_close((uv_handle_t *)&c->sigterm, NULL);
  uv_close((uv_handle_t *)&c->stop_async, NULL);
  c->closed = true;
  if (c->jobs)
    uv_stop(c->loop); /* backends still hold handles: do not wait for them */
  tide__clog(TIDE_LOG_INFO, "cluster closed");
}

int tide_cluster_run(tide_cluster *c)
{
  if (c->closed)
    return 0;
  uv_signal_start(&c->sigint, on_signal, SIGINT);
  uv_signal_start(&c->sigterm, on_signal, SIGTERM);
  uv_timer_start(&c->house, on_house, 250, 250);
  if (c->opts.workers > 0 && tide__cluster_nplan(c) == 0) {
    tide_error e = {{0}};
    if (!tide__adaptive_running(c->adaptive))
      c->wanted = tide__rec_round_jobs(c->opts.workers, tide__cluster_processes(c));
    if (tide__cluster_scale_to(c, c->opts.workers, &e) < 0)
      tide__clog(TIDE_LOG_ERROR, "starting %d worker(s): %s", c->opts.workers, e.text);
  }
  uv_run(c->loop, UV_RUN_DEFAULT);
  return c->run_rc;
}

void tide_cluster_stop(tide_cluster *c)
{
  uv_async_send(&c->stop_async);
}

static void walk_close(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

void tide_cluster_destroy(tide_cluster *c)
{
  if (!c)
    return;
  if (c->loop) {
    if (!c->closed && c->house.loop)
      close_all(c);
    else if (!c->house.loop) {
      if (c->http)
        tide__http_stop(c->http);
      if (c->sched)
        tide__sched_close(c->sched, true);
    }
    for (int i = 0; i < 8 && uv_run(c->loop, UV_RUN_NOWAIT); i++)
      ;
  }
  if (c->npools)
    tide__cluster_pools_destroy(c); /* the first pool's backend is c->ops's */
  else if (c->ops && c->ops->destroy)
    c->ops->destroy(c->self);
  if (c->loop) {
    uv_run(c->loop, UV_RUN_NOWAIT);
    uv_walk(c->loop, walk_close, NULL);
    uv_run(c->loop, UV_RUN_NOWAIT);
  }
  tide__adaptive_destroy(c->adaptive);
  tide__startup_destroy(c->startup);
  if (c->sched)
    tide__sched_destroy(c->sched);
  if (c->api)
    tide__api_destroy(c->api);
  tide__cluster_free_jobs(c);
  if (c->loop) {
    uv_loop_close(c->loop);
    free(c->loop);
  }
  free(c->dashboard);
  free(c->name);
  free(c->host);
  free(c->scheduler_file);
  for (int i = 0; c->preload && i < c->opts.npreload; i++)
    free(c->preload[i]);
  free(c->preload);
  for (int i = 0; i < 3; i++)
    free(c->tls[i]);
  free(c);
}

const char *tide_cluster_scheduler_address(const tide_cluster *c)
{
  return tide__sched_address(c->sched);
}

void *tide_cluster_loop(tide_cluster *c)
{
  return c->loop;
}
