/* The worker's link to the scheduler (connect with retries, hello,
 * heartbeats, message dispatch, reconnecting after a loss), memory
 * pausing, lifetime and shutdown. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <sys/socket.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/schedfile.h"
#include "common/util.h"
#include "proto/frame.h"
#include "net/tls.h"
#include "proto/msg.h"
#include "worker/registry.h"
#include "worker/worker_int.h"

/* HEARTBEAT_MAX: the longest heartbeat interval a scheduler may ask for,
 * in seconds (its own grow to 51 s at 10,000 workers, docs/design.md §4). */
enum { DEFAULT_DEATH_TIMEOUT = 30, RETIRE_GRACE = 60, HEARTBEAT_MAX = 3600 };

static void try_connect(tide__wk *w);

tide__conn *tide__wk_sched(tide__wk *w)
{
  return w->registered && !w->closing ? w->sched : NULL;
}

int tide__wk_create(uv_loop_t *loop, const tide__wk_opts *o, const tide__config *cfg,
                    tide_registry *reg, tide__wk **out, tide_error *err)
{
  if (!o->scheduler && !o->scheduler_file)
    return tide_errprintf(err, TIDE_EUSAGE, "a scheduler address or --scheduler-file is required");
  if (o->nthreads < 1)
    return tide_errprintf(err, TIDE_EUSAGE, "--nthreads must be at least 1, got %d", o->nthreads);
  if (o->contact) {
    /* checked now, with a stand-in for the port bound later */
    char probe[300];
    tide_error e;
    if (tide__contact_address("tcp://0.0.0.0:1", o->contact, "127.0.0.1", probe, sizeof probe, &e) <
        0)
      return tide_errprintf(err, TIDE_EUSAGE, "--contact-address: %s", e.text);
  }
  if (o->scheduler) {
    char host[256];
    int port;
    int rc = tide__parse_address(o->scheduler, host, sizeof host, &port, err);
    if (rc != 0)
      return rc;
  }
  tide__wk *w = tide__xcalloc(1, sizeof *w);
  if (cfg->auth.token_file[0]) {
    int rc = tide__auth_load(&w->auth, cfg->auth.token_file, err);
    if (rc < 0) {
      free(w);
      return rc;
    }
  }
  const char *res = o->resources ? o->resources : cfg->worker.resources;
  tide_error rerr;
  if (tide__res_parse(res, &w->res, &rerr) < 0) {
    free(w);
    return tide_errprintf(err, TIDE_EUSAGE, "--resources: %s", rerr.text);
  }
  tide__limits_set(&cfg->limits);
  w->loop = loop;
  w->cfg = *cfg;
  w->reg = reg;
  w->name =
      o->name ? tide__xstrdup(o->name) : tide__xasprintf("%s-%d", tide__hostname(), (int)getpid());
  w->host = o->host ? tide__xstrdup(o->host) : NULL; /* NULL: chosen from the scheduler's */
  w->port = o->port;
  w->contact = o->contact ? tide__xstrdup(o->contact) : NULL;
  w->job = tide__xstrdup(o->job ? o->job : "");
  w->pool = o->pool && *o->pool ? tide__xstrdup(o->pool) : NULL;
  w->sched_address = o->scheduler ? tide__xstrdup(o->scheduler) : NULL;
  w->sched_file = o->scheduler_file ? tide__xstrdup(o->scheduler_file) : NULL;
  w->nthreads = o->nthreads;
  w->memory_limit = o->memory_limit;
  w->lifetime = o->lifetime;
  w->death_timeout = o->death_timeout > 0 ? o->death_timeout : DEFAULT_DEATH_TIMEOUT;
  w->heartbeat_interval = cfg->worker.heartbeat_interval > 0 ? cfg->worker.heartbeat_interval : 0.5;
  w->connect_delay = 0.005;
  w->peer_connect = tide__conn_connect;
  *out = w;
  return 0;
}

const char *tide__wk_address(const tide__wk *w)
{
  return w->address;
}
int tide__wk_exit_status(const tide__wk *w)
{
  return w->exit_code;
}
const char *tide__wk_fatal(const tide__wk *w)
{
  return w->has_fatal ? w->fatal.text : NULL;
}

static void fatal(tide__wk *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fatal(tide__wk *w, int code, const char *fmt, ...)
{
  if (w->closing)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->fatal.text, sizeof w->fatal.text, fmt, ap);
  va_end(ap);
  w->has_fatal = true; /* the command prints it once, as its tide: line */
  tide__wk_shutdown(w, code);
}

static void close_handle(uv_handle_t *h)
{
  if (h->loop && !uv_is_closing(h))
    uv_close(h, NULL);
}

void tide__wk_shutdown(tide__wk *w, int code)
{
  if (w->closing)
    return;
  w->closing = true;
  w->exit_code = code;
  close_handle((uv_handle_t *)&w->hb_timer);
  close_handle((uv_handle_t *)&w->connect_timer);
  close_handle((uv_handle_t *)&w->lifetime_timer);
  close_handle((uv_handle_t *)&w->grace_timer);
  close_handle((uv_handle_t *)&w->sigterm);
  close_handle((uv_handle_t *)&w->sigint);
  close_handle((uv_handle_t *)&w->flush_check);
  if (w->server) {
    tide__server_close(w->server);
    w->server = NULL;
  }
  if (w->sched)
    tide__conn_close(w->sched, 0, "worker closing");
  tide__transfer_close_all(w);
  if (w->exec) {
    tide__exec_close(w->exec);
    w->exec = NULL;
  }
}

/* ---- heartbeats and memory ---- */

static void check_memory(tide__wk *w, size_t rss)
{
  if (w->memory_limit <= 0)
    return;
  bool over = (double)rss > w->cfg.worker.memory_pause * (double)w->memory_limit;
  if (over != w->paused) {
    w->paused = over;
    tide__exec_set_paused(w->exec, over);
    if (over)
      tide__warn("worker", "memory use %zu bytes is above %.0f%% of the limit: paused", rss,
                 100 * w->cfg.worker.memory_pause);
    else
      tide__info("worker", "memory use %zu bytes is below the pause fraction: running", rss);
  }
}

static void heartbeat(uv_timer_t *h)
{
  tide__wk *w = h->data;
  size_t rss = 0;
  if (uv_resident_set_memory(&rss) != 0)
    rss = 0;
  check_memory(w, rss);
  tide__conn *c = tide__wk_sched(w);
  if (!c)
    return;
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HEARTBEAT, 4);
  tide__pk_kint(pk, "rss", (int64_t)rss);
  tide__pk_kint(pk, "nbytes", (int64_t)tide__store_nbytes(w->store));
  tide__pk_kstr(pk, "status", w->paused ? "paused" : "running");
  msgpack_pack_str_with_body(pk, "running", 7);
  tide__exec_pack_running(w->exec, pk);
  tide__conn_end(c);
}

/* ---- lifetime ---- */

static void grace_up(uv_timer_t *h)
{
  tide__wk *w = h->data;
  tide__warn("worker", "the scheduler did not retire this worker within %ds: exiting",
             RETIRE_GRACE);
  tide__wk_shutdown(w, 0);
}

static void lifetime_up(uv_timer_t *h)
{
  tide__wk *w = h->data;
  tide__conn *c = tide__wk_sched(w);
  if (!c) {
    tide__info("worker", "lifetime reached before registering: exiting");
    tide__wk_shutdown(w, 0);
    return;
  }
  tide__info("worker", "lifetime reached: asking the scheduler to retire this worker");
  w->retiring = true;
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_RETIRE_ME, 1);
  tide__pk_kstr(pk, "reason", "lifetime");
  tide__conn_end(c);
  uv_timer_start(&w->grace_timer, grace_up, RETIRE_GRACE * 1000, 0);
}

/* ---- the scheduler connection ---- */

static void pack_held(void *arg, const char *key, size_t keylen, size_t len)
{
  msgpack_packer *pk = arg;
  tide__pk_strn(pk, key, keylen);
  msgpack_pack_uint64(pk, len);
}

static void send_hello(tide__wk *w, tide__conn *c)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 11 + (w->res.n > 0) + (w->pool != NULL));
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", "worker");
  tide__pk_kstr(pk, "name", w->name);
  tide__pk_kstr(pk, "address", w->address);
  tide__pk_kstr(pk, "host", w->host);
  tide__pk_kint(pk, "pid", (int64_t)getpid());
  tide__pk_kstr(pk, "job", w->job);
  tide__pk_kint(pk, "nthreads", w->nthreads);
  tide__pk_kint(pk, "memory_limit", w->memory_limit);
  if (w->res.n > 0) {
    tide__pk_str(pk, "resources");
    tide__res_pack(pk, &w->res);
  }
  if (w->pool)
    tide__pk_kstr(pk, "pool", w->pool);
  msgpack_pack_str_with_body(pk, "functions", 9);
  size_t n = tide__registry_count(w->reg);
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, tide__registry_name(w->reg, i));
  /* what this worker holds, so a scheduler it reconnects to can use it */
  msgpack_pack_str_with_body(pk, "keys", 4);
  msgpack_pack_map(pk, (uint32_t)tide__store_count(w->store));
  tide__store_each(w->store, pack_held, pk);
  tide__conn_end(c);
}

bool tide__wk_heartbeat_interval(const msgpack_object *msg, double *out)
{
  double hb;
  if (!tide__mp_num(msg, "heartbeat_interval", &hb) || !(hb > 0))
    return false;
  *out = fmin(hb, HEARTBEAT_MAX);
  return true;
}

static void on_sched_hello(tide__wk *w, const msgpack_object *msg)
{
  double hb;
  if (w->registered)
    return;
  if (tide__wk_heartbeat_interval(msg, &hb))
    w->heartbeat_interval = hb;
  w->registered = true;
  if (w->reconnecting)
    tide__info("worker", "registered again with the scheduler at %s as %s (holding %zu keys)",
               w->sched_address, w->name, tide__store_count(w->store));
  else
    tide__info("worker", "registered with the scheduler at %s as %s (data at %s)", w->sched_address,
               w->name, w->address);
  w->reconnecting = false;
  uint64_t ms = (uint64_t)(w->heartbeat_interval * 1000);
  uv_timer_start(&w->hb_timer, heartbeat, ms ? ms : 1, ms ? ms : 1);
}

/* The scheduler lengthens the interval as the cluster grows (docs/protocol.md). */
static void set_heartbeat_interval(tide__wk *w, const msgpack_object *msg)
{
  double hb;
  if (!tide__wk_heartbeat_interval(msg, &hb) || hb == w->heartbeat_interval)
    return;
  w->heartbeat_interval = hb;
  uint64_t ms = (uint64_t)(hb * 1000);
  uv_timer_start(&w->hb_timer, heartbeat, ms ? ms : 1, ms ? ms : 1);
}

static void send_logs(tide__wk *w, tide__conn *c, const msgpack_object *msg)
{
  int64_t id = 0;
  size_t n = 0;
  tide__mp_int(msg, "id", &id);
  char **lines = tide__log_recent(TIDE_LOG_RING, &n);
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_REPLY, 2);
  tide__pk_kint(pk, "id", id);
  msgpack_pack_str_with_body(pk, "lines", 5);
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    tide__pk_str(pk, lines[i]);
  tide__conn_end(c);
  tide__log_free_lines(lines);
}

void tide__wk_sched_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  tide__wk *w = arg;
  tide__op op = tide__mp_op(msg);
  if (w->closing)
    return;
  if (op == TIDE_OP_HELLO) {
    on_sched_hello(w, msg);
    return;
  }
  if (op == TIDE_OP_ERROR) {
    const char *m = "";
    size_t n = 0;
    tide__mp_str(msg, "message", &m, &n);
    if (w->reconnecting) { /* e.g. it has not noticed the old link is gone */
      tide__warn("worker", "the scheduler at %s refused this worker again: %.*s; retrying",
                 w->sched_address, (int)n, m);
      return;
    }
    w->sched_error = true;
    fatal(w, 2, "the scheduler at %s refused this worker: %.*s", w->sched_address, (int)n, m);
    return;
  }
  if (!w->registered)
    return;
  switch (op) {
  case TIDE_OP_COMPUTE_TASK: tide__wtask_compute(w, msg); break;
  case TIDE_OP_FREE_KEYS: tide__wtask_free_keys(w, msg); break;
  case TIDE_OP_GET_DATA: tide__transfer_serve(w, c, msg); break;
  case TIDE_OP_ACQUIRE_REPLICAS: tide__transfer_acquire(w, msg); break;
  case TIDE_OP_GET_LOGS: send_logs(w, c, msg); break;
  case TIDE_OP_HEARTBEAT: set_heartbeat_interval(w, msg); break;
  case TIDE_OP_CLOSE: {
    const char *r = "";
    size_t n = 0;
    tide__mp_str(msg, "reason", &r, &n);
    tide__info("worker", "the scheduler asked this worker to close (%.*s)", (int)n, r);
    tide__wk_shutdown(w, 0);
    break;
  }
  default:
    tide__debug("worker", "ignored a %s message from the scheduler", tide__op_name(op));
    break;
  }
}

static void retry_later(tide__wk *w, const char *why);

static void sched_closed(tide__conn *c, int status, void *arg)
{
  tide__wk *w = arg;
  w->sched = NULL;
  if (w->closing)
    return;
  if (w->retiring) {
    tide__info("worker", "the scheduler closed the connection after retirement");
    tide__wk_shutdown(w, 0);
    return;
  }
  if (w->registered) {
    /* A scheduler restarted at the same address, or one that dropped this
     * worker while it was stopped (SIGSTOP past the heartbeat timeout),
     * takes it back as a new registration: its tasks were given to others,
     * its results are offered again in the hello. */
    w->registered = false;
    w->reconnecting = true;
    uv_timer_stop(&w->hb_timer);
    tide__wtask_cancel_all(w);
    w->started = tide__now();
    w->connect_delay = 0.1;
    tide__warn("worker", "lost the scheduler at %s: reconnecting for up to %gs (--death-timeout)",
               w->sched_address, w->death_timeout);
  }
  if (w->reconnecting) {
    char why[600];
    snprintf(why, sizeof why, "the scheduler at %s closed the connection", w->sched_address);
    retry_later(w, why);
    return;
  }
  fatal(w, 1, "lost the scheduler at %s", w->sched_address);
}

static const tide__conn_ops sched_ops = {tide__wk_sched_msg, sched_closed};

static void retry_cb(uv_timer_t *h)
{
  try_connect(h->data);
}

/* Retry soon (growing delay) or give up after the death timeout. */
static void retry_later(tide__wk *w, const char *why)
{
  double now = tide__now();
  if (now - w->started >= w->death_timeout) {
    if (w->reconnecting)
      fatal(w, 1, "lost the scheduler at %s and could not register again within %gs: %s",
            w->sched_address, w->death_timeout, why);
    else
      fatal(w, 1, "%s (gave up after %gs)", why, w->death_timeout);
    return;
  }
  tide__debug("worker", "%s; retrying", why);
  double d = w->connect_delay;
  w->connect_delay = fmin(w->connect_delay * 2, 1.0);
  double left = w->started + w->death_timeout - now;
  uv_timer_start(&w->connect_timer, retry_cb, (uint64_t)(fmin(d, left) * 1000) + 1, 0);
}

static void connected(tide__conn *c, int status, void *arg)
{
  tide__wk *w = arg;
  w->connecting = false;
  if (w->closing) {
    if (c)
      tide__conn_close(c, 0, "worker closing");
    return;
  }
  if (status < 0) {
    char why[600];
    snprintf(why, sizeof why, "cannot reach the scheduler at %s: %s", w->sched_address,
             tide_strerror(status));
    retry_later(w, why);
    return;
  }
  w->sched = c;
  send_hello(w, c);
  tide__conn_flush(c);
}

/* The local address that routes to the scheduler's host: a loopback
 * scheduler gets 127.0.0.1; a remote one the interface facing it, so that
 * peers on other machines can reach this worker's data (Dask does the
 * same). Falls back to 127.0.0.1. */
static char *route_host(const char *sched_address)
{
  char host[256];
  int port;
  if (tide__parse_address(sched_address, host, sizeof host, &port, NULL) != 0 ||
      strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0)
    return tide__xstrdup("127.0.0.1");
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
  char out[INET_ADDRSTRLEN] = "127.0.0.1";
  if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai) {
    struct sockaddr_in to = *(struct sockaddr_in *)ai->ai_addr, me;
    socklen_t len = sizeof me;
    to.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* a UDP connect sends nothing: it only picks the route */
    if (fd >= 0 && connect(fd, (struct sockaddr *)&to, sizeof to) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0)
      inet_ntop(AF_INET, &me.sin_addr, out, sizeof out);
    if (fd >= 0)
      close(fd);
  }
  if (ai)
    freeaddrinfo(ai);
  return tide__xstrdup(out);
}

/* What a wildcard bind advertises: the address that routes to the
 * scheduler (static, for tide__contact_address). */
static const char *route_wildcard(const tide__wk *w)
{
  static char buf[64];
  char *h = route_host(w->sched_address);
  snprintf(buf, sizeof buf, "%s", h);
  free(h);
  return buf;
}

/* Open the data server once the scheduler's address is known. */
static int ensure_listening(tide__wk *w, tide_error *err)
{
  if (w->server)
    return 0;
  if (!w->host)
    w->host = route_host(w->sched_address);
  int rc =
      tide__server_listen(w->loop, w->host, w->port, tide__transfer_accept, w, &w->server, err);
  if (rc != 0)
    return rc;
  tide__server_set_auth(w->server, &w->auth); /* only peers with the token get data */
  /* peers on other hosts dial what this worker advertises */
  char addr[300];
  rc = tide__contact_address(tide__server_address(w->server), w->contact, route_wildcard(w), addr,
                             sizeof addr, err);
  if (rc != 0)
    return rc;
  w->address = tide__xstrdup(addr);
  return 0;
}

static void try_connect(tide__wk *w)
{
  tide_error err;
  if (w->closing)
    return;
  if (w->sched_file) {
    char *a, *token;
    if (tide__schedfile_read(w->sched_file, &a, &token, &err) < 0) {
      retry_later(w, err.text);
      return;
    }
    free(w->sched_address);
    w->sched_address = a;
    /* the file's token unless a token file was given */
    if (token && !w->cfg.auth.token_file[0] &&
        tide__auth_set(&w->auth, token, strlen(token), &err) < 0) {
      free(token);
      fatal(w, 2, "scheduler file %s: %s", w->sched_file, err.text);
      return;
    }
    free(token);
    if (tide__tls_adopt_schedfile(w->sched_file, &err) < 0) {
      fatal(w, 2, "%s", err.text);
      return;
    }
  }
  if (ensure_listening(w, &err) != 0) {
    fatal(w, 1, "cannot listen for peers on %s: %s", w->host, err.text);
    return;
  }
  int rc = tide__conn_connect(w->loop, w->sched_address, &w->auth, &sched_ops, w, connected, &err);
  if (rc != 0) {
    if (w->sched_file) {
      retry_later(w, err.text);
      return;
    }
    fatal(w, 2, "bad scheduler address %s: %s", w->sched_address, err.text);
    return;
  }
  w->connecting = true;
}

static void on_signal(uv_signal_t *h, int signum)
{
  tide__wk *w = h->data;
  tide__info("worker", "received %s: closing", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  tide__wk_shutdown(w, 0);
}

int tide__wk_start(tide__wk *w, tide_error *err)
{
  w->started = tide__now();
  w->store = tide__store_create();
  int rc = tide__exec_create(w->loop, w->nthreads, tide__wtask_done, w, &w->exec, err);
  if (rc != 0)
    return rc;
  uv_timer_t *timers[] = {&w->hb_timer, &w->connect_timer, &w->lifetime_timer, &w->grace_timer};
  for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
    uv_timer_init(w->loop, timers[i]);
    timers[i]->data = w;
  }
  uv_check_init(w->loop, &w->flush_check);
  w->flush_check.data = w;
  uv_signal_init(w->loop, &w->sigterm);
  uv_signal_init(w->loop, &w->sigint);
  w->sigterm.data = w->sigint.data = w;
  uv_signal_start(&w->sigterm, on_signal, SIGTERM);
  uv_signal_start(&w->sigint, on_signal, SIGINT);
  if (w->lifetime > 0)
    uv_timer_start(&w->lifetime_timer, lifetime_up, (uint64_t)(w->lifetime * 1000), 0);
  try_connect(w);
  return 0;
}

void tide__wk_destroy(tide__wk *w)
{
  if (!w)
    return;
  wtask *t, *tt;
  HASH_ITER (hh, w->tasks, t, tt) {
    HASH_DEL(w->tasks, t);
    if (!t->in_exec) /* jobs on detached threads are left to the exit */
      tide__wtask_free(t);
  }
  fetch *f, *ft;
  HASH_ITER (hh, w->fetches, f, ft) {
    HASH_DEL(w->fetches, f);
    tide__fetch_free(f);
  }
  tide__store_destroy(w->store);
  tide__vec_free(&w->served);
  tide__vec_free(&w->starting);
  free(w->name);
  free(w->host);
  free(w->contact);
  free(w->job);
  free(w->pool);
  free(w->address);
  free(w->sched_address);
  free(w->sched_file);
  free(w);
}
