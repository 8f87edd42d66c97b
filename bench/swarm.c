/* A worker swarm for load tests: ONE process on one libuv loop that opens
 * N real worker connections to a scheduler, so that one scheduler can be
 * driven with 10,000 connected workers without 10,000 processes.
 *
 *   tide_swarm --scheduler-file FILE -n N [--nthreads T] [--ready-file PATH]
 *
 * Each swarm worker speaks the real worker protocol (docs/protocol.md)
 * through the library's own connection and message code (src/net,
 * src/proto): the token step of the scheduler file, hello with a name and
 * an address of its own, heartbeats at the interval the scheduler gives
 * it, compute-task, free-keys, get-data. It runs the builtins that are
 * cheap enough to run on the loop thread (tide.noop, tide.inc, tide.add,
 * ...) through the worker's own registry and call path, so results are
 * computed, not faked, and the client checks them; tide.sleep waits on a
 * timer instead of a thread. Anything else errs with a clear message.
 *
 * Data address: every swarm worker needs an address of its own (the
 * scheduler knows workers by address), but one listening socket per worker
 * would double the descriptors (20,000 at 10,000 workers, the whole hard
 * limit of a usual machine). A peer's get-data names keys, and keys are
 * unique in the cluster, so one listener can answer for every swarm
 * worker: it listens on the wildcard address at one port, each worker
 * advertises a distinct loopback host on it (127.0.0.2, 127.0.0.3, ...:
 * all of 127/8 reaches the loopback interface), and connections from
 * anything but loopback are closed at once. Results live in one store for
 * the swarm, with an index of which worker holds each key.
 *
 * It is a load generator, not a worker: no reconnecting (a lost scheduler
 * connection ends the run with status 1), no peer fetches of its own (a
 * dependency not held in the swarm is reported as missing-data), no
 * replicas (acquire-replicas answers that each key failed). */
#include "swarm.h"

static void stop(swarm *sm, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void stop(swarm *sm, int code, const char *fmt, ...)
{
  if (sm->stopping)
    return;
  sm->stopping = true;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    fputs("tide: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
  sm->exit_code = code;
  for (int i = 0; i < sm->n; i++)
    if (sm->workers[i].c)
      tide__conn_close(sm->workers[i].c, 0, "swarm stopping");
  if (sm->server)
    tide__server_close(sm->server);
  sm->server = NULL;
  uv_stop(sm->loop);
}

static void heartbeat(uv_timer_t *t)
{
  sworker *w = t->data;
  if (!w->c || !w->registered)
    return;
  double now = tide__wall();
  msgpack_packer *pk = tide__conn_begin(w->c, TIDE_OP_HEARTBEAT, 4);
  tide__pk_kint(pk, "rss", (int64_t)w->sm->rss_share);
  tide__pk_kint(pk, "nbytes", (int64_t)w->nbytes);
  tide__pk_kstr(pk, "status", "running");
  msgpack_pack_str_with_body(pk, "running", 7);
  msgpack_pack_array(pk, HASH_COUNT(w->sleeping));
  for (sleeper *s = w->sleeping; s; s = s->hh.next) {
    msgpack_pack_array(pk, 2);
    tide__pk_str(pk, s->key);
    msgpack_pack_double(pk, now - s->start);
  }
  tide__conn_end(w->c);
}

/* Start (or restart) the beat; the first one at a random point of the
 * interval, so that N workers do not beat in step. */
static void start_heartbeat(sworker *w, bool spread)
{
  uint64_t ms = (uint64_t)(w->hb_interval * 1000);
  if (ms == 0)
    ms = 1;
  uint64_t first = spread ? (uint64_t)rand() % ms + 1 : ms;
  uv_timer_start(&w->hb_timer, heartbeat, first, ms);
}

/* ---- the scheduler connections ---- */

static void connect_more(swarm *sm);

static void all_registered(swarm *sm)
{
  double dt = tide__now() - sm->t0;
  printf("tide_swarm: %d workers registered in %.2f s\n", sm->n, dt);
  fflush(stdout);
  if (sm->ready_file) {
    FILE *f = fopen(sm->ready_file, "w");
    if (f) {
      fprintf(f, "%d\n", sm->n);
      fclose(f);
    }
  }
}

static void on_sched_hello(sworker *w, const msgpack_object *msg)
{
  swarm *sm = w->sm;
  double hb;
  if (w->registered)
    return;
  w->registered = true;
  if (tide__wk_heartbeat_interval(msg, &hb))
    w->hb_interval = hb;
  start_heartbeat(w, true);
  sm->inflight--;
  sm->registered++;
  if (sm->registered == sm->n)
    all_registered(sm);
  connect_more(sm);
}

static void sched_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  sworker *w = arg;
  tide__op op = tide__mp_op(msg);
  if (w->sm->stopping)
    return;
  if (op == TIDE_OP_HELLO) {
    on_sched_hello(w, msg);
    return;
  }
  if (op == TIDE_OP_ERROR) {
    const char *m = "";
    size_t n = 0;
    tide__mp_str(msg, "message", &m, &n);
    stop(w->sm, 2, "the scheduler refused swarm worker %s: %.*s", w->name, (int)n, m);
    return;
  }
  if (!w->registered)
    return;
  switch (op) {
  case TIDE_OP_COMPUTE_TASK: swarm_compute(w, msg); break;
  case TIDE_OP_FREE_KEYS: swarm_free_keys(w, msg); break;
  case TIDE_OP_GET_DATA: tide__transfer_serve_store(w->sm->store, c, msg); break;
  case TIDE_OP_ACQUIRE_REPLICAS: swarm_acquire_replicas(w, msg); break;
  case TIDE_OP_GET_LOGS: swarm_send_no_logs(w, msg); break;
  case TIDE_OP_HEARTBEAT: {
    double hb;
    if (tide__wk_heartbeat_interval(msg, &hb) && hb != w->hb_interval) {
      w->hb_interval = hb;
      start_heartbeat(w, false);
    }
    break;
  }
  case TIDE_OP_CLOSE: tide__conn_close(c, 0, "closed by the scheduler"); break;
  default: break;
  }
}

static void sched_closed(tide__conn *c, int status, void *arg)
{
  sworker *w = arg;
  swarm *sm = w->sm;
  bool was_registered = w->registered;
  w->c = NULL;
  w->closed = true;
  w->registered = false;
  uv_timer_stop(&w->hb_timer);
  while (w->sleeping)
    swarm_sleeper_end(w, w->sleeping);
  sm->closed++;
  if (sm->stopping)
    return;
  if (!was_registered) {
    stop(sm, 1, "swarm worker %s could not register with the scheduler at %s: %s", w->name,
         sm->sched_address, status ? tide_strerror(status) : "connection closed");
    return;
  }
  if (sm->closed == sm->n) { /* the scheduler closed every worker: done */
    sm->stopping = true;
    if (sm->server)
      tide__server_close(sm->server);
    sm->server = NULL;
    uv_stop(sm->loop);
  }
}

static const tide__conn_ops sched_ops = {sched_msg, sched_closed};

static void send_hello(sworker *w)
{
  swarm *sm = w->sm;
  msgpack_packer *pk = tide__conn_begin(w->c, TIDE_OP_HELLO, 11);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", "worker");
  tide__pk_kstr(pk, "name", w->name);
  tide__pk_kstr(pk, "address", w->address);
  tide__pk_kstr(pk, "host", "127.0.0.1");
  tide__pk_kint(pk, "pid", (int64_t)getpid());
  tide__pk_kstr(pk, "job", "");
  tide__pk_kint(pk, "nthreads", sm->nthreads);
  tide__pk_kint(pk, "memory_limit", 0);
  msgpack_pack_str_with_body(pk, "functions", 9);
  msgpack_pack_array(pk, (uint32_t)sm->nfunctions);
  for (size_t i = 0; i < sm->nfunctions; i++)
    tide__pk_str(pk, sm->functions[i]);
  msgpack_pack_str_with_body(pk, "keys", 4);
  msgpack_pack_map(pk, 0);
  tide__conn_end(w->c);
}

static void connected(tide__conn *c, int status, void *arg)
{
  sworker *w = arg;
  swarm *sm = w->sm;
  if (sm->stopping) {
    if (c)
      tide__conn_close(c, 0, "swarm stopping");
    return;
  }
  if (status < 0) {
    stop(sm, 1, "swarm worker %s cannot reach the scheduler at %s: %s", w->name, sm->sched_address,
         tide_strerror(status));
    return;
  }
  w->c = c;
  send_hello(w);
}

static void connect_more(swarm *sm)
{
  while (!sm->stopping && sm->next < sm->n && sm->inflight < CONNECT_WINDOW) {
    sworker *w = &sm->workers[sm->next++];
    tide_error err;
    sm->inflight++;
    if (tide__conn_connect(sm->loop, sm->sched_address, &sm->auth, &sched_ops, w, connected,
                           &err) != 0) {
      stop(sm, 2, "bad scheduler address %s: %s", sm->sched_address, err.text);
      return;
    }
  }
}

/* ---- the shared data port ---- */

static void peer_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  swarm *sm = arg;
  switch (tide__mp_op(msg)) {
  case TIDE_OP_HELLO: {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 4);
    tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
    tide__pk_kstr(pk, "role", "worker");
    tide__pk_kstr(pk, "name", "swarm");
    tide__pk_kstr(pk, "address", "");
    tide__conn_end(c);
    break;
  }
  case TIDE_OP_GET_DATA: tide__transfer_serve_store(sm->store, c, msg); break;
  default: break;
  }
}

static const tide__conn_ops peer_ops = {peer_msg, NULL};

static void peer_accept(tide__server *s, tide__conn *c, void *arg, const tide__conn_ops **ops,
                        void **carg)
{
  *ops = &peer_ops;
  *carg = arg;
  /* the wildcard listener serves loopback peers only */
  if (strncmp(tide__conn_peer(c), "127.", 4) != 0)
    tide__conn_close(c, 0, "the swarm serves loopback peers only");
}

/* ---- process ---- */

static void rss_tick(uv_timer_t *t)
{
  swarm *sm = t->data;
  size_t rss = 0;
  if (uv_resident_set_memory(&rss) == 0 && sm->n > 0)
    sm->rss_share = rss / (size_t)sm->n;
}

static void on_signal(uv_signal_t *h, int signum)
{
  stop(h->data, 0, NULL);
}

/* Loopback host number i + 2 as 127.A.B.C (127.0.0.1 is left to others). */
static void loopback_host(int i, char *buf, size_t len)
{
  unsigned v = (unsigned)i + 2;
  snprintf(buf, len, "127.%u.%u.%u", (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

static void raise_nofile(int n)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 100)
    fprintf(stderr,
            "tide_swarm: warning: the open-file limit %llu is too low for %d workers (%d needed)\n",
            (unsigned long long)rl.rlim_cur, n, n + 100);
}

static void usage(void)
{
  fprintf(stderr, "usage: tide_swarm --scheduler-file FILE -n N [--nthreads T] "
                  "[--ready-file PATH]\n");
}

int main(int argc, char **argv)
{
  const char *sched_file = NULL;
  double n = -1, nthreads = 1;
  static swarm sm; /* static: what it holds at exit stays reachable (LeakSanitizer) */
  tide_error err;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      usage();
      return 2;
    }
    if (strcmp(a, "--scheduler-file") == 0)
      sched_file = v;
    else if (strcmp(a, "-n") == 0 || strcmp(a, "--workers") == 0) {
      if (tide__parse_count(v, false, &n, &err) < 0 || n < 1 || n > 1000000) {
        fprintf(stderr, "tide: -n: give a number of workers from 1 to 1000000, got \"%s\"\n", v);
        return 2;
      }
    } else if (strcmp(a, "--nthreads") == 0) {
      if (tide__parse_count(v, false, &nthreads, &err) < 0 || nthreads < 1 || nthreads > 1024) {
        fprintf(stderr, "tide: --nthreads: give a number from 1 to 1024, got \"%s\"\n", v);
        return 2;
      }
    } else if (strcmp(a, "--ready-file") == 0)
      sm.ready_file = v;
    else {
      usage();
      return 2;
    }
    i++;
  }
  if (!sched_file || n < 1) {
    usage();
    return 2;
  }
  tide__log_init("swarm", TIDE_LOG_WARNING);
  signal(SIGPIPE, SIG_IGN);
  sm.n = (int)n;
  sm.nthreads = (int)nthreads;
  raise_nofile(sm.n);

  char *token = NULL;
  if (tide__schedfile_read(sched_file, &sm.sched_address, &token, &err) < 0) {
    fprintf(stderr, "tide: scheduler file %s: %s\n", sched_file, err.text);
    return 2;
  }
  if (token && tide__auth_set(&sm.auth, token, strlen(token), &err) < 0) {
    fprintf(stderr, "tide: scheduler file %s: %s\n", sched_file, err.text);
    return 2;
  }
  free(token);
  if (tide__tls_adopt_schedfile(sched_file, &err) < 0) {
    fprintf(stderr, "tide: %s\n", err.text);
    return 2;
  }

  tide__registry_create(&sm.reg);
  tide__builtins_register(sm.reg, false);
  size_t nreg = tide__registry_count(sm.reg);
  sm.functions = tide__xcalloc(nreg, sizeof *sm.functions);
  for (size_t i = 0; i < nreg; i++) {
    const char *name = tide__registry_name(sm.reg, i);
    unsigned flags = 0;
    tide__registry_find(sm.reg, name, strlen(name), &flags);
    if ((flags & TIDE_FN_INLINE) || strcmp(name, "tide.sleep") == 0)
      sm.functions[sm.nfunctions++] = name;
  }

  sm.loop = uv_default_loop();
  sm.store = tide__store_create();
  if (tide__server_listen(sm.loop, "0.0.0.0", 0, peer_accept, &sm, &sm.server, &err) != 0) {
    fprintf(stderr, "tide: cannot listen for peers: %s\n", err.text);
    return 1;
  }
  tide__server_set_auth(sm.server, &sm.auth);
  const char *bound = tide__server_address(sm.server);
  const char *scheme = strncmp(bound, "tls://", 6) == 0 ? "tls" : "tcp";

  sm.workers = tide__xcalloc((size_t)sm.n, sizeof *sm.workers);
  for (int i = 0; i < sm.n; i++) {
    sworker *w = &sm.workers[i];
    char host[32];
    w->sm = &sm;
    w->idx = i;
    w->hb_interval = 0.5;
    snprintf(w->name, sizeof w->name, "swarm-%d-%d", (int)getpid(), i);
    loopback_host(i, host, sizeof host);
    snprintf(w->address, sizeof w->address, "%s://%s:%d", scheme, host,
             tide__server_port(sm.server));
    uv_timer_init(sm.loop, &w->hb_timer);
    w->hb_timer.data = w;
  }
  uv_timer_init(sm.loop, &sm.rss_timer);
  sm.rss_timer.data = &sm;
  uv_timer_start(&sm.rss_timer, rss_tick, 0, 1000);
  uv_signal_init(sm.loop, &sm.sigterm);
  uv_signal_init(sm.loop, &sm.sigint);
  sm.sigterm.data = sm.sigint.data = &sm;
  uv_signal_start(&sm.sigterm, on_signal, SIGTERM);
  uv_signal_start(&sm.sigint, on_signal, SIGINT);

  srand((unsigned)getpid());
  sm.t0 = tide__now();
  connect_more(&sm);
  uv_run(sm.loop, UV_RUN_DEFAULT);
  /* let the closes flush: one more pass over the loop */
  uv_run(sm.loop, UV_RUN_NOWAIT);
  fprintf(stderr, "tide_swarm: %d workers, %d registered, %" PRIu64 " tasks run\n", sm.n,
          sm.registered, sm.tasks_done);
  return sm.exit_code;
}
