/* The scheduler object: create, listen, close; accepting connections, the
 * hello handshake and dispatching worker messages through a static op table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"
#include "scheduler/internal.h"

static msgpack_packer *net_begin(void *c, tide__op op, uint32_t n)
{
  return tide__conn_begin(c, op, n);
}
static void net_end(void *c)
{
  tide__conn_end(c);
}
static void net_close(void *c, const char *reason)
{
  tide__conn_close(c, 0, reason);
}
static const tide__sched_tx net_tx = {net_begin, net_end, net_close};

void tide__sched_set_tx(tide__sched *s, const tide__sched_tx *tx)
{
  s->tx = tx ? tx : &net_tx;
}

msgpack_packer *tide__sched_send(tide__sched *s, void *conn, tide__op op, uint32_t nfields)
{
  if (!conn)
    return NULL;
  return s->tx->begin(conn, op, nfields);
}

void tide__sched_sent(tide__sched *s, void *conn)
{
  s->tx->end(conn);
}

/* A client busy computing is woken at most once per CLIENT_NEWS_MS by its
 * key-done stream instead of once per loop iteration: on 2 cores, every
 * wake-up of the client is taken from the scheduler and the workers. The
 * same bound holds back a worker's free-keys of results (workers.c). */
enum { CLIENT_NEWS_MS = 2 };

void tide__sched_sent_deferred(tide__sched *s, void *conn)
{
  if (s->tx == &net_tx)
    tide__conn_end_deferred(conn, CLIENT_NEWS_MS);
  else
    s->tx->end(conn);
}

void tide__sched_live_frames(const tide__sched *s, uint64_t *sent, uint64_t *received)
{
  if (s->tx != &net_tx)
    return;
  for (const sworker *w = s->workers; w; w = w->hh.next) {
    if (!w->conn)
      continue;
    *sent += tide__conn_frames_sent(w->conn);
    *received += tide__conn_frames_received(w->conn);
  }
}

static void on_timer_closed(uv_handle_t *h)
{
  free(h);
}

static void new_work_cb(uv_timer_t *t)
{
  tide__sched *s = t->data;
  s->new_work_pending = false;
  tide__sched_emit(s, TIDE_SEV_NEW_WORK, NULL, false);
}

static void heartbeat_cb(uv_timer_t *t)
{
  tide__sched *s = t->data;
  tide__heartbeat_check(s, tide__wall());
  tide__resends_due(s, tide__wall());
}

int tide__sched_create(uv_loop_t *loop, const tide__config *cfg, tide__sched **out, tide_error *err)
{
  tide__sched *s = tide__xcalloc(1, sizeof *s);
  s->loop = loop;
  if (cfg)
    s->cfg = *cfg;
  else
    tide__config_defaults(&s->cfg);
  if (s->cfg.auth.token_file[0]) {
    int rc = tide__auth_load(&s->auth, s->cfg.auth.token_file, err);
    if (rc < 0) {
      free(s);
      return rc;
    }
  }
  int trc = tide__trace_open(s, err);
  if (trc < 0) {
    free(s);
    return trc;
  }
  tide__limits_set(&s->cfg.limits);
  s->tx = &net_tx;
  s->started = tide__wall();
  unsigned char rnd[8] = {0};
  if (uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL) != 0) {
    uint64_t x = (uint64_t)(tide__now() * 1e9) ^ ((uint64_t)uv_os_getpid() << 32);
    memcpy(rnd, &x, sizeof rnd);
  }
  snprintf(s->id, sizeof s->id, "Scheduler-%02x%02x%02x%02x-%02x%02x%02x%02x", rnd[0], rnd[1],
           rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  s->dashboard = tide__xstrdup("");
  s->new_work_timer = tide__xmalloc(sizeof *s->new_work_timer);
  s->heartbeat_timer = tide__xmalloc(sizeof *s->heartbeat_timer);
  s->retire_timer = tide__xmalloc(sizeof *s->retire_timer);
  uv_timer_init(loop, s->retire_timer);
  s->retire_timer->data = s;
  uv_timer_init(loop, s->new_work_timer);
  uv_timer_init(loop, s->heartbeat_timer);
  s->new_work_timer->data = s->heartbeat_timer->data = s;
  s->next_client_id = 1;
  s->next_gather_id = 1;
  *out = s;
  return 0;
}

const char *tide__sched_address(const tide__sched *s)
{
  return s->address;
}
const char *tide__sched_id(const tide__sched *s)
{
  return s->id;
}
const tide__auth *tide__sched_auth(const tide__sched *s)
{
  return s->auth.len ? &s->auth : NULL;
}

double tide__sched_started(const tide__sched *s)
{
  return s->started;
}
const tide__config *tide__sched_config(const tide__sched *s)
{
  return &s->cfg;
}

void tide__sched_set_dashboard(tide__sched *s, const char *url)
{
  free(s->dashboard);
  s->dashboard = tide__xstrdup(url ? url : "");
}

void tide__sched_observe(tide__sched *s, tide__sched_event_fn fn, void *arg)
{
  if (s->nobservers < TIDE__MAX_OBSERVERS) {
    s->observers[s->nobservers].fn = fn;
    s->observers[s->nobservers].arg = arg;
    s->nobservers++;
  }
}

void tide__sched_emit(tide__sched *s, tide__sched_event ev, const char *name, bool expected)
{
  for (int i = 0; i < s->nobservers; i++)
    s->observers[i].fn(s, ev, name, expected, s->observers[i].arg);
}

/* At most one NEW_WORK per loop iteration: a 0 ms timer fires next turn. */
void tide__sched_new_work(tide__sched *s)
{
  if (s->new_work_pending || s->nobservers == 0 || s->closing)
    return;
  s->new_work_pending = true;
  uv_timer_start(s->new_work_timer, new_work_cb, 0, 0);
}

static void retire_kick_cb(uv_timer_t *t)
{
  tide__retire_check_all(t->data);
}

/* A retiring worker went idle outside a task-finished (a task cancelled or
 * taken back): check its retirement on the next loop turn. */
void tide__sched_retire_kick(tide__sched *s)
{
  if (!s->closing && !uv_is_active((uv_handle_t *)s->retire_timer))
    uv_timer_start(s->retire_timer, retire_kick_cb, 0, 0);
}

void tide__sched_set_api(tide__sched *s, tide__api_fn fn, void *arg)
{
  s->api_fn = fn;
  s->api_arg = arg;
}

/* ---- handshake ---- */

static void send_hello(tide__sched *s, void *conn)
{
  msgpack_packer *pk = tide__sched_send(s, conn, TIDE_OP_HELLO, 6);
  if (!pk)
    return;
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", "scheduler");
  tide__pk_kstr(pk, "id", s->id);
  tide__pk_kstr(pk, "address", s->address);
  tide__pk_kstr(pk, "dashboard", s->dashboard ? s->dashboard : "");
  /* a worker joining makes nworkers + 1 (docs/design.md §4 "Liveness") */
  tide__pk_knum(pk, "heartbeat_interval",
                tide__policy_heartbeat_interval(s->nworkers + 1, s->cfg.worker.heartbeat_interval));
  tide__sched_sent(s, conn);
}

static void send_error(tide__sched *s, void *conn, const char *message)
{
  msgpack_packer *pk = tide__sched_send(s, conn, TIDE_OP_ERROR, 1);
  if (!pk)
    return;
  tide__pk_kstr(pk, "message", message);
  tide__sched_sent(s, conn);
}

static void worker_hello(tide__sched *s, sconn *sc, const msgpack_object *msg)
{
  char *name = tide__mp_strdup(msg, "name");
  char *address = tide__mp_strdup(msg, "address");
  char *host = tide__mp_strdup(msg, "host");
  char *job = tide__mp_strdup(msg, "job");
  int64_t nthreads = 1, mem = 0;
  tide__mp_int(msg, "nthreads", &nthreads);
  tide__mp_int(msg, "memory_limit", &mem);
  /* optional (docs/protocol.md): what it advertises and its cluster pool */
  tide__res res = {0};
  tide_error rerr = {{0}};
  const msgpack_object *ro = tide__mp_get(msg, "resources");
  int rrc = ro ? tide__res_from_mp(ro, &res, &rerr) : 0;
  char *pool = tide__mp_strdup(msg, "pool");
  const msgpack_object_array *fa = tide__mp_array(msg, "functions");
  size_t nf = 0;
  char **fns = tide__xcalloc(fa ? fa->size + 1 : 1, sizeof *fns);
  for (uint32_t i = 0; fa && i < fa->size; i++)
    if (fa->ptr[i].type == MSGPACK_OBJECT_STR)
      fns[nf++] = tide__xstrndup(fa->ptr[i].via.str.ptr, fa->ptr[i].via.str.size);
  send_hello(s, sc->conn);
  tide_error err = {{0}};
  sworker *w = NULL;
  if (!name || !*name || !address || !*address) {
    tide_errprintf(&err, TIDE_EPROTO, "worker hello without name or address");
  } else if (rrc < 0) {
    tide_errprintf(&err, TIDE_EPROTO, "worker hello: %s", rerr.text);
  } else {
    w = tide__sw_add(s, sc->conn, name, address, host, job, (int)nthreads, mem, fns, nf, &err);
  }
  if (!w) {
    tide__warn("sched", "refusing worker %s: %s", name ? name : "?", err.text);
    send_error(s, sc->conn, err.text);
    s->tx->close(sc->conn, err.text);
    for (size_t i = 0; i < nf; i++)
      free(fns[i]);
    free(fns);
  } else {
    w->hb_interval = tide__policy_heartbeat_interval(s->nworkers, s->cfg.worker.heartbeat_interval);
    sc->role = SC_WORKER;
    sc->obj = w;
    w->link = sc;
    tide__sres_worker_set(s, w, &res, pool);
    tide__sw_keys_held(s, w, tide__mp_map(msg, "keys"), false);
    if (res.n > 0)
      tide__queue_drain(s); /* tasks that wait for its resources */
  }
  free(pool);
  free(name);
  free(address);
  free(host);
  free(job);
}

static void client_hello(tide__sched *s, sconn *sc, const msgpack_object *msg)
{
  sclient *c = tide__xcalloc(1, sizeof *c);
  c->conn = sc->conn;
  c->link = sc;
  c->id = s->next_client_id++;
  c->name = tide__mp_strdup(msg, "name");
  c->next = s->clients;
  s->clients = c;
  sc->role = SC_CLIENT;
  sc->obj = c;
  send_hello(s, sc->conn);
}

/* ---- worker messages: a static handler table indexed by op ---- */

typedef void (*worker_op_fn)(tide__sched *s, sworker *w, const msgpack_object *msg);

static void op_heartbeat(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  tide__sw_heartbeat(s, w, msg);
  /* The interval follows the worker count; a worker is told when it moved
   * by more than a tenth, so that growth does not answer every heartbeat. */
  double hb = tide__policy_heartbeat_interval(s->nworkers, s->cfg.worker.heartbeat_interval);
  if (fabs(hb - w->hb_interval) <= 0.1 * w->hb_interval)
    return;
  msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_HEARTBEAT, 1);
  if (!pk)
    return;
  tide__pk_knum(pk, "heartbeat_interval", hb);
  tide__sched_sent(s, w->conn);
  w->hb_interval = hb;
}

static stask *msg_task(tide__sched *s, const msgpack_object *msg, const char *field)
{
  const char *k;
  size_t klen;
  if (!tide__mp_str(msg, field, &k, &klen))
    return NULL;
  return tide__task_find(s, k, klen);
}

static void op_task_finished(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  stask *t = msg_task(s, msg, "key");
  if (!t) {
    const char *k;
    size_t klen;
    if (tide__mp_str(msg, "key", &k, &klen)) { /* forgotten meanwhile: drop it there */
      msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_FREE_KEYS, 1);
      if (pk) {
        tide__pk_str(pk, "keys");
        msgpack_pack_array(pk, 1);
        tide__pk_strn(pk, k, klen);
        tide__sched_sent_deferred(s, w->conn); /* a result: as tide__send_free_keys */
      }
    }
    return;
  }
  int64_t nbytes = 0, thread = 0;
  double start = 0, stop = 0;
  tide__mp_int(msg, "nbytes", &nbytes);
  tide__mp_num(msg, "start", &start);
  tide__mp_num(msg, "stop", &stop);
  tide__mp_int(msg, "thread", &thread);
  tide__task_finished(s, w, t, nbytes, start, stop, (int)thread);
}

static void op_task_erred(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  stask *t = msg_task(s, msg, "key");
  if (!t)
    return;
  char *e = tide__mp_strdup(msg, "error");
  int64_t thread = 0;
  double start = 0, stop = 0;
  tide__mp_num(msg, "start", &start);
  tide__mp_num(msg, "stop", &stop);
  tide__mp_int(msg, "thread", &thread);
  tide__task_erred(s, w, t, e ? e : "task failed", start, stop, (int)thread);
  free(e);
}

static void op_add_keys(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  tide__retire_add_keys(s, w, msg);
}

static void op_missing_data(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  const char *k = NULL, *d = NULL, *a = "";
  size_t kl = 0, dl = 0, al = 0;
  if (!tide__mp_str(msg, "key", &k, &kl) || !tide__mp_str(msg, "dep", &d, &dl))
    return;
  tide__mp_str(msg, "worker", &a, &al);
  tide__sw_missing_data(s, w, k, kl, d, dl, a, al);
}

static void retire_self_done(tide__sched *s, const tide__retire_result *r, void *arg)
{
}

static void op_retire_me(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  if (w->retire_requested_at > 0)
    return;
  w->retire_requested_at = tide__wall();
  tide__info("sched", "worker %s asks to retire", w->name);
  if (s->nobservers > 0) {
    tide__sched_emit(s, TIDE_SEV_RETIRE_REQUEST, w->name, false);
  } else {
    char *names[1] = {w->name};
    tide__sched_retire_workers(s, names, 1, retire_self_done, NULL, NULL);
  }
}

static void op_data(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  tide__gather_data(s, w, msg);
}

static void op_reply(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  tide__logs_reply(s, w, msg);
}

static const worker_op_fn worker_ops[TIDE_OP__COUNT] = {
    [TIDE_OP_HEARTBEAT] = op_heartbeat,
    [TIDE_OP_TASK_FINISHED] = op_task_finished,
    [TIDE_OP_TASK_ERRED] = op_task_erred,
    [TIDE_OP_ADD_KEYS] = op_add_keys,
    [TIDE_OP_MISSING_DATA] = op_missing_data,
    [TIDE_OP_RETIRE_ME] = op_retire_me,
    [TIDE_OP_DATA] = op_data,
    [TIDE_OP_REPLY] = op_reply,
};

/* Handle one message from a worker (also used by unit tests). */
void tide__sched_worker_msg(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  tide__op op = tide__mp_op(msg);
  w->last_seen = tide__wall();
  if ((unsigned)op < TIDE_OP__COUNT && worker_ops[op])
    worker_ops[op](s, w, msg);
  else if (op != TIDE_OP_RELEASED)
    tide__debug("sched", "worker %s: ignoring op %s", w->name, tide__op_name(op));
}

const char *tide__sched_conn_msg(tide__sched *s, sconn *sc, const msgpack_object *msg)
{
  tide__op op = tide__mp_op(msg);
  if (sc->role == SC_NEW) {
    if (op != TIDE_OP_HELLO)
      return "bad handshake";
    const char *role;
    size_t rlen;
    if (!tide__mp_str(msg, "role", &role, &rlen))
      return "hello without role";
    if (rlen == 6 && memcmp(role, "worker", 6) == 0)
      worker_hello(s, sc, msg);
    else if (rlen == 6 && memcmp(role, "client", 6) == 0)
      client_hello(s, sc, msg);
    else {
      send_hello(s, sc->conn);
      send_error(s, sc->conn, "the scheduler serves workers and clients only");
      return "unexpected role";
    }
    return NULL;
  }
  if (!sc->obj)
    return NULL;
  if (sc->role == SC_WORKER)
    tide__sched_worker_msg(s, sc->obj, msg);
  else
    tide__client_msg(s, sc->obj, msg);
  return NULL;
}

static void on_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  sconn *sc = arg;
  tide__sched *s = sc->s;
  if (!s || s->closing)
    return;
  const char *why = tide__sched_conn_msg(s, sc, msg);
  if (why)
    tide__conn_close(c, TIDE_EPROTO, why);
}

static void on_closed(tide__conn *c, int status, void *arg)
{
  sconn *sc = arg;
  if (sc->s) {
    if (sc->prev)
      sc->prev->next = sc->next;
    else
      sc->s->conns = sc->next;
    if (sc->next)
      sc->next->prev = sc->prev;
  }
  if (sc->obj && sc->s) {
    tide__sched *s = sc->s;
    if (sc->role == SC_WORKER) {
      sworker *w = sc->obj;
      s->counters.worker_frames_sent += tide__conn_frames_sent(c);
      s->counters.worker_frames_received += tide__conn_frames_received(c);
      w->conn = NULL;
      w->link = NULL;
      tide__sw_remove(s, w,
                      w->status == TIDE_W_CLOSING_GRACEFULLY && w->nprocessing == 0 && w->nhas == 0,
                      "connection closed");
    } else if (sc->role == SC_CLIENT) {
      sclient *cl = sc->obj;
      cl->conn = NULL;
      cl->link = NULL;
      tide__client_gone(s, cl);
    }
  }
  free(sc);
}

static const tide__conn_ops conn_ops = {on_msg, on_closed};

static void on_accept(tide__server *srv, tide__conn *c, void *server_arg,
                      const tide__conn_ops **ops, void **arg)
{
  tide__sched *s = server_arg;
  sconn *sc = tide__xcalloc(1, sizeof *sc);
  sc->s = s;
  sc->conn = c;
  sc->next = s->conns;
  if (s->conns)
    s->conns->prev = sc;
  s->conns = sc;
  *ops = &conn_ops;
  *arg = sc;
}

int tide__sched_listen(tide__sched *s, const char *host, int port, tide_error *err)
{
  tide__server *srv = NULL;
  int rc = tide__server_listen(s->loop, host, port, on_accept, s, &srv, err);
  if (rc < 0)
    return rc;
  s->server = srv;
  tide__server_set_auth(srv, &s->auth);
  snprintf(s->address, sizeof s->address, "%s", tide__server_address(srv));
  double hb = s->cfg.scheduler.heartbeat_timeout / 5;
  if (!(hb > 0.05))
    hb = 0.05;
  if (hb > 1)
    hb = 1;
  uv_timer_start(s->heartbeat_timer, heartbeat_cb, (uint64_t)(hb * 1000), (uint64_t)(hb * 1000));
  return 0;
}

int tide__sched_set_contact(tide__sched *s, const char *contact, tide_error *err)
{
  char out[sizeof s->address];
  int rc = tide__contact_address(s->address, contact, tide__outward_ipv4(), out, sizeof out, err);
  if (rc == 0)
    snprintf(s->address, sizeof s->address, "%s", out);
  return rc;
}

void tide__sched_announce(tide__sched *s)
{
  tide__info("sched", "scheduler %s listening at %s", s->id, s->address);
}

void tide__sched_close(tide__sched *s, bool close_workers)
{
  if (s->closing)
    return;
  s->closing = true;
  if (s->server)
    tide__server_close(s->server);
  s->server = NULL;
  sworker *w, *tmp;
  HASH_ITER (hh, s->workers, w, tmp) {
    if (w->link)
      w->link->obj = NULL;
    w->link = NULL;
    if (w->conn) {
      if (close_workers) {
        msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_CLOSE, 1);
        if (pk) {
          tide__pk_kstr(pk, "reason", "scheduler closing");
          tide__sched_sent(s, w->conn);
        }
      }
      s->tx->close(w->conn, "scheduler closing");
      w->conn = NULL;
    }
  }
  for (sclient *c = s->clients; c; c = c->next) {
    if (c->link)
      c->link->obj = NULL;
    c->link = NULL;
    if (c->conn)
      s->tx->close(c->conn, "scheduler closing");
    c->conn = NULL;
  }
  /* connections that never said hello too */
  for (sconn *sc = s->conns; sc; sc = sc->next)
    if (sc->role == SC_NEW && sc->conn)
      s->tx->close(sc->conn, "scheduler closing");
  uv_timer_stop(s->new_work_timer);
  uv_timer_stop(s->heartbeat_timer);
  uv_close((uv_handle_t *)s->new_work_timer, on_timer_closed);
  uv_close((uv_handle_t *)s->heartbeat_timer, on_timer_closed);
  uv_timer_stop(s->retire_timer);
  uv_close((uv_handle_t *)s->retire_timer, on_timer_closed);
  tide__retire_destroy_all(s);
  tide__logs_destroy(s);
}

/* Empty a uthash table (handle hh) whose entries free_fn frees. */
#define FREE_TABLE(type, head, free_fn)                                                            \
  do {                                                                                             \
    type *e_, *next_;                                                                              \
    HASH_ITER (hh, head, e_, next_) {                                                              \
      HASH_DELETE(hh, head, e_);                                                                   \
      free_fn(e_);                                                                                 \
    }                                                                                              \
  } while (0)

void tide__sched_destroy(tide__sched *s)
{
  if (!s)
    return;
  if (!s->closing)
    tide__sched_close(s, false);
  tide__trace_close(s);
  for (sconn *sc = s->conns; sc; sc = sc->next) /* still closing: detach */
    sc->s = NULL;
  tide__clients_destroy(s);
  tide__resends_free(s);
  tide__sres_destroy(s);
  sworker *w, *wt;
  HASH_ITER (hh, s->workers, w, wt) {
    HASH_DELETE(hh, s->workers, w);
    HASH_DELETE(hh_name, s->workers_by_name, w);
    tide__sw_free(w);
  }
  FREE_TABLE(stask, s->tasks, tide__task_free);
  FREE_TABLE(sprefix, s->prefixes, free);
  FREE_TABLE(sintern, s->interned, free);
  FREE_TABLE(struct sfunc, s->functions, free);
  tide__stream_free(s);
  free(s->views);
  tide__vec_free(&s->work);
  free(s->dashboard);
  free(s);
}
