/* Clients: update-graph with validation, wants and key-done, gather through
 * get-data to holder workers, release-keys, datasets, and the "api" op. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/graphcheck.h"
#include "scheduler/internal.h"

sclient *tide__client_find(tide__sched *s, uint64_t id)
{
  for (sclient *c = s->clients; c; c = c->next)
    if (c->id == id)
      return c;
  return NULL;
}

void tide__reply_ok(tide__sched *s, void *conn, int64_t id)
{
  msgpack_packer *pk = tide__sched_send(s, conn, TIDE_OP_REPLY, 2);
  if (!pk)
    return;
  tide__pk_kint(pk, "id", id);
  tide__pk_kbool(pk, "ok", true);
  tide__sched_sent(s, conn);
}

void tide__reply_err(tide__sched *s, void *conn, int64_t id, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  msgpack_packer *pk = tide__sched_send(s, conn, TIDE_OP_REPLY, 3);
  if (!pk)
    return;
  tide__pk_kint(pk, "id", id);
  tide__pk_kbool(pk, "ok", false);
  tide__pk_kstr(pk, "error", buf);
  tide__sched_sent(s, conn);
}

/* The graph's own key: client keys are "<token>/<key>". */
static const char *shown(const char *k, size_t len, int *outlen)
{
  const char *sl = memchr(k, '/', len);
  if (sl) {
    *outlen = (int)(len - (size_t)(sl + 1 - k));
    return sl + 1;
  }
  *outlen = (int)len;
  return k;
}

static swant *want_entry(sclient *c, stask *t, bool create)
{
  swant *e;
  HASH_FIND_PTR(c->wants, &t, e);
  if (!e && create) {
    e = tide__xcalloc(1, sizeof *e);
    e->t = t;
    HASH_ADD_PTR(c->wants, t, e);
  }
  return e;
}

static void send_key_done(tide__sched *s, sclient *c, stask *t)
{
  bool erred = t->state == TIDE_TS_ERRED;
  msgpack_packer *pk = tide__sched_send(s, c->conn, TIDE_OP_KEY_DONE, erred ? 4 : 2);
  if (!pk)
    return;
  tide__pk_kstr(pk, "key", t->key);
  tide__pk_kstr(pk, "state", erred ? "erred" : "memory");
  if (erred) {
    tide__pk_kstr(pk, "error", t->err && t->err->msg ? t->err->msg : "task failed");
    tide__pk_kstr(pk, "task", t->err && t->err->task ? t->err->task : t->key);
  }
  tide__sched_sent_deferred(s, c->conn);
}

void tide__client_key_done(tide__sched *s, stask *t)
{
  tide__gather_key_done(s, t); /* a gather waiting for its recompute */
  for (sclient *c = s->clients; c; c = c->next) {
    if (!c->wants)
      continue;
    swant *e = want_entry(c, t, false);
    if (e)
      send_key_done(s, c, t);
  }
}

void tide__client_forget(tide__sched *s, stask *t)
{
  tide__gather_key_done(s, t); /* a gather waiting for it fails */
  for (sclient *c = s->clients; c; c = c->next) {
    swant *e = c->wants ? want_entry(c, t, false) : NULL;
    if (e) {
      HASH_DEL(c->wants, e);
      free(e);
    }
  }
}

/* ---- update-graph ---- */

typedef struct gnode {
  UT_hash_handle hh;
  const msgpack_object *task;
  const char *key;
  size_t klen;
  uint32_t indeg;
  TIDE__VEC(uint32_t) out; /* indexes of new dependents */
  bool done;
  stask *t; /* once created (or found); pinned until the end of update-graph */
} gnode;

static bool obj_str(const msgpack_object *o, const char **p, size_t *n)
{
  if (!o || o->type != MSGPACK_OBJECT_STR)
    return false;
  *p = o->via.str.ptr;
  *n = o->via.str.size;
  return true;
}

static bool fn_known(tide__sched *s, const char *fn, size_t len)
{
  if (len >= 5 && memcmp(fn, "tide.", 5) == 0)
    return true;
  if (s->nworkers == 0)
    return true;
  struct sfunc *f;
  HASH_FIND(hh, s->functions, fn, len, f);
  return f != NULL;
}

/* Validate the graph and order its new tasks (deps first). Returns the
 * number ordered into order[], or -1 after replying with the error. */
static long validate(tide__sched *s, sclient *c, int64_t id, const msgpack_object_array *tasks,
                     gnode *nodes, gnode **index, uint32_t *order)
{
  uint32_t n = tasks->size;
  tide_error big;
  if (tide__graph_size_check(n, &big) < 0) {
    tide__reply_err(s, c->conn, id, "%s", big.text);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object *t = &tasks->ptr[i];
    const char *k, *fn;
    size_t kl, fl;
    int sl;
    if (t->type != MSGPACK_OBJECT_MAP || !tide__mp_str(t, "key", &k, &kl)) {
      tide__reply_err(s, c->conn, id, "task %u has no key", i);
      return -1;
    }
    const char *sk = shown(k, kl, &sl);
    tide_error why;
    if (tide__wire_task_check(t, &why) < 0) {
      tide__reply_err(s, c->conn, id, "task \"%.*s\": %s", sl > 64 ? 64 : sl, sk, why.text);
      return -1;
    }
    if (!tide__mp_str(t, "fn", &fn, &fl)) {
      tide__reply_err(s, c->conn, id, "task \"%.*s\" has no fn", sl, sk);
      return -1;
    }
    const msgpack_object *ro = tide__mp_get(t, "resources");
    tide__res res;
    if (ro && (tide__res_from_mp(ro, &res, &why) < 0 || tide__sres_intern(s, &res, &why) < 0)) {
      tide__reply_err(s, c->conn, id, "task \"%.*s\": %s", sl, sk, why.text);
      return -1;
    }
    if (!fn_known(s, fn, fl)) {
      tide__reply_err(s, c->conn, id, "task \"%.*s\": unknown function \"%.*s\"", sl, sk, (int)fl,
                      fn);
      return -1;
    }
    gnode *g;
    HASH_FIND(hh, *index, k, kl, g);
    if (g) {
      tide__reply_err(s, c->conn, id, "task \"%.*s\" appears twice", sl, sk);
      return -1;
    }
    nodes[i].task = t;
    nodes[i].key = k;
    nodes[i].klen = kl;
    HASH_ADD_KEYPTR(hh, *index, k, kl, &nodes[i]);
  }
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object_array *deps = tide__mp_array(nodes[i].task, "deps");
    for (uint32_t j = 0; deps && j < deps->size; j++) {
      const char *d;
      size_t dl;
      int sl, dsl;
      const char *sk = shown(nodes[i].key, nodes[i].klen, &sl);
      if (!obj_str(&deps->ptr[j], &d, &dl)) {
        tide__reply_err(s, c->conn, id, "task \"%.*s\": a dep is not a string", sl, sk);
        return -1;
      }
      gnode *g;
      HASH_FIND(hh, *index, d, dl, g);
      if (g) {
        tide__vec_push(&g->out, i);
        nodes[i].indeg++;
      } else if (!tide__task_find(s, d, dl)) {
        const char *sd = shown(d, dl, &dsl);
        tide__reply_err(s, c->conn, id, "task \"%.*s\" refers to unknown key \"%.*s\"", sl, sk, dsl,
                        sd);
        return -1;
      }
    }
  }
  /* Kahn's algorithm: what is left over sits on a cycle */
  uint32_t head = 0, tail = 0;
  for (uint32_t i = 0; i < n; i++)
    if (nodes[i].indeg == 0)
      order[tail++] = i;
  while (head < tail) {
    gnode *g = &nodes[order[head++]];
    g->done = true;
    for (size_t j = 0; j < g->out.n; j++)
      if (--nodes[g->out.v[j]].indeg == 0)
        order[tail++] = g->out.v[j];
  }
  if (tail < n) {
    for (uint32_t i = 0; i < n; i++)
      if (!nodes[i].done) {
        int sl;
        const char *sk = shown(nodes[i].key, nodes[i].klen, &sl);
        tide__reply_err(s, c->conn, id, "task \"%.*s\" is part of a dependency cycle", sl, sk);
        return -1;
      }
  }
  return tail;
}

/* The task a key names: one this graph creates, else one already known. */
static stask *graph_task(tide__sched *s, gnode *index, const char *k, size_t kl)
{
  gnode *g;
  HASH_FIND(hh, index, k, kl, g);
  return g ? g->t : tide__task_find(s, k, kl);
}

static void create_tasks(tide__sched *s, gnode *nodes, gnode *index, uint32_t *order, uint32_t n)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  TIDE__VEC(stask *) deps = {0}; /* one task's, reused */
  for (uint32_t o = 0; o < n; o++) {
    gnode *g = &nodes[order[o]];
    const msgpack_object *t = g->task;
    const char *fn, *pfx = NULL;
    size_t fl, pl = 0;
    tide__mp_str(t, "fn", &fn, &fl);
    tide__mp_str(t, "prefix", &pfx, &pl);
    const msgpack_object *args = tide__mp_get(t, "args");
    msgpack_sbuffer_clear(&sb);
    if (args && args->type == MSGPACK_OBJECT_ARRAY)
      msgpack_pack_object(&pk, *args);
    else
      msgpack_pack_array(&pk, 0);
    const msgpack_object_array *da = tide__mp_array(t, "deps");
    deps.n = 0;
    for (uint32_t j = 0; da && j < da->size; j++) {
      const char *dk = da->ptr[j].via.str.ptr;
      size_t dl = da->ptr[j].via.str.size;
      stask *d = graph_task(s, index, dk, dl);
      bool dup = false;
      for (size_t k = 0; k < deps.n && d; k++)
        dup |= deps.v[k] == d;
      if (d && !dup)
        tide__vec_push(&deps, d);
    }
    /* a known key is reused, not recomputed */
    g->t = tide__task_new(s, g->key, g->klen, fn, fl, pfx, pl, sb.data, sb.size, deps.v,
                          (uint32_t)deps.n);
    if (g->t) {
      int64_t r = 0;
      if (tide__mp_int(t, "retries", &r)) /* checked: 0 to TIDE_RETRIES_MAX */
        g->t->retries = (uint8_t)r;
      const msgpack_object *ro = tide__mp_get(t, "resources");
      tide__res res;
      if (ro && tide__res_from_mp(ro, &res, NULL) == 0) /* checked and interned by validate */
        g->t->resi = (uint8_t)tide__sres_intern(s, &res, NULL);
    } else {
      g->t = tide__task_find(s, g->key, g->klen);
    }
    g->t->flags |= TF_PINNED;
  }
  tide__vec_free(&deps);
  msgpack_sbuffer_destroy(&sb);
}

void tide__client_update_graph(tide__sched *s, sclient *c, const msgpack_object *msg)
{
  int64_t id = 0;
  tide__mp_int(msg, "id", &id);
  const msgpack_object_array *tasks = tide__mp_array(msg, "tasks");
  const msgpack_object_array *wants = tide__mp_array(msg, "wants");
  bool progress = false;
  tide__mp_bool(msg, "progress", &progress);
  const msgpack_object *tf = tide__mp_get(msg, "tasks"), *wf = tide__mp_get(msg, "wants");
  if ((tf && tf->type != MSGPACK_OBJECT_ARRAY) || (wf && wf->type != MSGPACK_OBJECT_ARRAY)) {
    tide__reply_err(s, c->conn, id, "\"tasks\" and \"wants\" must be arrays");
    return;
  }
  uint32_t n = tasks ? tasks->size : 0;
  gnode *nodes = tide__xcalloc(n + 1, sizeof *nodes);
  uint32_t *order = tide__xcalloc(n + 1, sizeof *order);
  gnode *index = NULL;
  long nord = tasks ? validate(s, c, id, tasks, nodes, &index, order) : 0;
  for (uint32_t i = 0; nord >= 0 && wants && i < wants->size; i++) {
    const char *k;
    size_t kl;
    gnode *g = NULL;
    if (obj_str(&wants->ptr[i], &k, &kl))
      HASH_FIND(hh, index, k, kl, g);
    if (!g && (wants->ptr[i].type != MSGPACK_OBJECT_STR || !tide__task_find(s, k, kl))) {
      int sl = 0;
      const char *sk = wants->ptr[i].type == MSGPACK_OBJECT_STR ? shown(k, kl, &sl) : "?";
      tide__reply_err(s, c->conn, id, "wanted key \"%.*s\" is not in the graph", sl, sk);
      nord = -1;
    }
  }
  if (nord >= 0) {
    create_tasks(s, nodes, index, order, (uint32_t)nord);
    if (s->trace) {
      TIDE__VEC(stask *) rec = {0};
      for (uint32_t o = 0; o < (uint32_t)nord; o++)
        tide__vec_push(&rec, nodes[order[o]].t);
      tide__trace_submit(s, rec.v, rec.n);
      tide__vec_free(&rec);
    }
    /* wants and watches first, so no result is released before it is seen */
    for (uint32_t i = 0; wants && i < wants->size; i++) {
      const char *k = wants->ptr[i].via.str.ptr;
      size_t kl = wants->ptr[i].via.str.size;
      stask *t = graph_task(s, index, k, kl);
      swant *e = want_entry(c, t, true);
      if (!e->want) {
        e->want = true;
        tide__task_want(s, t, 1);
      }
    }
    if (progress)
      for (uint32_t i = 0; i < n; i++)
        want_entry(c, nodes[i].t, true)->watch = true;
    tide__reply_ok(s, c->conn, id);
    /* compute what the wants need (Dask: nothing else runs); the graph's
     * tasks are pinned so none is freed under our feet meanwhile */
    for (uint32_t o = 0; o < (uint32_t)nord; o++) {
      stask *t = nodes[order[o]].t;
      if (t->state == TIDE_TS_RELEASED && t->nwants > 0)
        tide__task_activate(s, t);
      else if ((t->state == TIDE_TS_MEMORY || t->state == TIDE_TS_ERRED) && want_entry(c, t, false))
        send_key_done(s, c, t);
    }
    /* unpin, dependents first; what no want reaches is forgotten again */
    for (uint32_t o = (uint32_t)nord; o-- > 0;) {
      stask *t = nodes[order[o]].t;
      t->flags &= ~TF_PINNED;
      if (t->state == TIDE_TS_RELEASED)
        tide__task_maybe_release(s, t); /* may free t */
    }
    tide__queue_drain(s);
  }
  for (uint32_t i = 0; i < n; i++)
    tide__vec_free(&nodes[i].out);
  HASH_CLEAR(hh, index);
  free(nodes);
  free(order);
}

void tide__client_release_keys(tide__sched *s, sclient *c, const msgpack_object *msg)
{
  const msgpack_object_array *keys = tide__mp_array(msg, "keys");
  for (uint32_t i = 0; keys && i < keys->size; i++) {
    const char *k;
    size_t kl;
    if (!obj_str(&keys->ptr[i], &k, &kl))
      continue;
    stask *t = tide__task_find(s, k, kl);
    swant *e = t ? want_entry(c, t, false) : NULL;
    if (!e)
      continue;
    bool wanted = e->want;
    HASH_DEL(c->wants, e);
    free(e);
    if (wanted)
      tide__task_want(s, t, -1); /* may free t */
  }
}

/* Free a client record already unlinked from s->clients, and its wants. */
static void client_free(sclient *c)
{
  swant *e, *tmp;
  HASH_ITER (hh, c->wants, e, tmp) {
    HASH_DEL(c->wants, e);
    free(e);
  }
  free(c->name);
  free(c);
}

void tide__client_gone(tide__sched *s, sclient *c)
{
  tide__gather_client_gone(s, c->id);
  size_t n = HASH_COUNT(c->wants), nk = 0;
  char **keys = tide__xmalloc((n + 1) * sizeof *keys);
  swant *e, *tmp;
  HASH_ITER (hh, c->wants, e, tmp)
    if (e->want)
      keys[nk++] = tide__xstrdup(e->t->key);
  for (sclient **p = &s->clients; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  client_free(c);
  for (size_t i = 0; i < nk; i++) {
    stask *t = tide__task_find(s, keys[i], strlen(keys[i]));
    if (t)
      tide__task_want(s, t, -1);
    free(keys[i]);
  }
  free(keys);
}

void tide__clients_destroy(tide__sched *s)
{
  while (s->clients) {
    sclient *c = s->clients;
    s->clients = c->next;
    client_free(c);
  }
  sdataset *d, *dt;
  HASH_ITER (hh, s->datasets, d, dt) {
    HASH_DEL(s->datasets, d);
    tide__dataset_free(d);
  }
  sgather *g, *gt;
  HASH_ITER (hh, s->gathers, g, gt) {
    HASH_DEL(s->gathers, g);
    tide__gather_free(s, g);
  }
}
