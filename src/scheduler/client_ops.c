/* Client requests besides update-graph: gather (proxied as get-data to
 * holder workers), published datasets, the "api" op; and the client op table. */
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "scheduler/internal.h"

/* ---- gather ---- */

static void owe_free(sgather *g, sgather_owe *o)
{
  HASH_DEL(g->owed, o);
  tide__vec_free(&o->slots);
  free(o);
}

void tide__gather_free(tide__sched *s, sgather *g)
{
  s->gather_waiting -= g->nwaiting;
  sgather_owe *o, *otmp;
  HASH_ITER (hh, g->owed, o, otmp)
    owe_free(g, o);
  HASH_CLEAR(hh, g->index);
  for (uint32_t i = 0; i < g->nslots; i++)
    free(g->slots[i].key);
  free(g->slots);
  for (size_t i = 0; i < g->items.n; i++) {
    free(g->items.v[i].key);
    free(g->items.v[i].bin);
  }
  tide__vec_free(&g->items);
  free(g->error);
  free(g);
}

static void gather_finish(tide__sched *s, sgather *g)
{
  HASH_DEL(s->gathers, g);
  sclient *c = tide__client_find(s, g->client_id);
  if (c && c->conn) {
    if (g->error) {
      tide__reply_err(s, c->conn, g->req_id, "%s", g->error);
    } else {
      /* as many values as one frame carries (limits.result-size; one at
       * least, which always fits); "more" asks the client to gather the
       * rest again */
      size_t budget = (size_t)tide__limits_result_size(tide__limits_get()), sum = 0, cnt = 0;
      for (; cnt < g->items.n; cnt++) {
        size_t add = g->items.v[cnt].len + strlen(g->items.v[cnt].key) + 16;
        if (cnt > 0 && sum + add > budget)
          break;
        sum += add;
      }
      msgpack_packer *pk = tide__sched_send(s, c->conn, TIDE_OP_REPLY, 4);
      if (pk) {
        tide__pk_kint(pk, "id", g->req_id);
        tide__pk_kbool(pk, "ok", true);
        tide__pk_str(pk, "data");
        msgpack_pack_map(pk, (uint32_t)cnt);
        for (size_t i = 0; i < cnt; i++) {
          tide__pk_str(pk, g->items.v[i].key);
          tide__pk_bin(pk, g->items.v[i].bin, g->items.v[i].len);
        }
        tide__pk_kbool(pk, "more", cnt < g->items.n);
        tide__sched_sent(s, c->conn);
      }
    }
  }
  tide__gather_free(s, g);
}

static void gather_fail(sgather *g, const char *fmt, const char *key, const char *why)
{
  if (g->error)
    return;
  char buf[1024];
  snprintf(buf, sizeof buf, fmt, key, why);
  g->error = tide__xstrdup(buf);
}

static void slot_wait(tide__sched *s, sgather *g, sgather_slot *sl, bool on)
{
  if (sl->waiting == on)
    return;
  sl->waiting = on;
  if (on) {
    g->nwaiting++;
    s->gather_waiting++;
  } else {
    g->nwaiting--;
    s->gather_waiting--;
  }
}

static int by_holder(const void *a, const void *b)
{
  uintptr_t x = (uintptr_t)(*(sgather_slot *const *)a)->from;
  uintptr_t y = (uintptr_t)(*(sgather_slot *const *)b)->from;
  return x < y ? -1 : x > y;
}

/* Ask a holder for every key of cand[0..ncand) (all: every slot) not got
 * and not asked, wait for the keys being computed again, fail on a key
 * that erred or is gone for good; answer the client once every key is got
 * (or on the first failure). Only the candidates are looked at, and the
 * asks are grouped by sorting, so that a gather of k keys from n workers
 * costs O(k log k) however its answers arrive, not O(k x n). */
static void gather_drive(tide__sched *s, sgather *g, bool all, sgather_slot **cand, uint32_t ncand)
{
  uint32_t nask = 0, n = all ? g->nslots : ncand;
  sgather_slot **ask = NULL;
  for (uint32_t i = 0; i < n && !g->error; i++) {
    sgather_slot *sl = all ? &g->slots[i] : cand[i];
    if (sl->got || sl->from)
      continue;
    stask *t = tide__task_find(s, sl->key, strlen(sl->key));
    int st = t ? t->state : -1;
    if (st == TIDE_TS_MEMORY && t->nholders > 0) {
      slot_wait(s, g, sl, false);
      sl->from = t->holders[0].w;
      if (!ask)
        ask = tide__xmalloc(((size_t)n + 1) * sizeof *ask);
      ask[nask++] = sl;
    } else if (st == TIDE_TS_ERRED) {
      gather_fail(g, "%s%s", "", t->err && t->err->msg ? t->err->msg : "task failed");
    } else if (st == TIDE_TS_WAITING || st == TIDE_TS_QUEUED || st == TIDE_TS_NO_WORKER ||
               st == TIDE_TS_PROCESSING) {
      slot_wait(s, g, sl, true); /* lost and being computed again */
    } else {
      gather_fail(g, "key \"%s\" is not in memory%s", sl->key, "");
    }
  }
  /* one get-data per holder */
  if (nask > 1)
    qsort(ask, nask, sizeof *ask, by_holder);
  for (uint32_t i = 0, j; i < nask && !g->error; i = j) {
    sworker *w = ask[i]->from;
    for (j = i; j < nask && ask[j]->from == w; j++) {}
    sgather_owe *o;
    HASH_FIND(hh, g->owed, &w, sizeof w, o);
    if (!o) {
      o = tide__xcalloc(1, sizeof *o);
      o->w = w;
      HASH_ADD(hh, g->owed, w, sizeof w, o);
    }
    for (uint32_t k = i; k < j; k++)
      tide__vec_push(&o->slots, ask[k]);
    msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_GET_DATA, 2);
    if (!pk)
      continue; /* its connection is closing: its removal asks again */
    tide__pk_kint(pk, "id", g->id);
    tide__pk_str(pk, "keys");
    msgpack_pack_array(pk, j - i);
    for (uint32_t k = i; k < j; k++)
      tide__pk_str(pk, ask[k]->key);
    tide__sched_sent(s, w->conn);
  }
  free(ask);
  if (g->error || g->ngot == g->nslots)
    gather_finish(s, g);
}

static void gather(tide__sched *s, sclient *c, const msgpack_object *msg)
{
  int64_t id = 0;
  tide__mp_int(msg, "id", &id);
  const msgpack_object_array *keys = tide__mp_array(msg, "keys");
  uint32_t n = keys ? keys->size : 0;
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object *k = &keys->ptr[i];
    if (k->type != MSGPACK_OBJECT_STR) {
      tide__reply_err(s, c->conn, id, "gather: keys must be strings");
      return;
    }
    stask *t = tide__task_find(s, k->via.str.ptr, k->via.str.size);
    if (!t) {
      tide__reply_err(s, c->conn, id, "key \"%.*s\" is not in memory", (int)k->via.str.size,
                      k->via.str.ptr);
      return;
    }
    if (t->state == TIDE_TS_ERRED && t->err) {
      tide__reply_err(s, c->conn, id, "%s", t->err->msg);
      return;
    }
  }
  sgather *g = tide__xcalloc(1, sizeof *g);
  g->id = s->next_gather_id++;
  g->client_id = c->id;
  g->req_id = id;
  g->slots = tide__xcalloc((size_t)n + 1, sizeof *g->slots);
  for (uint32_t i = 0; i < n; i++) {
    const msgpack_object *k = &keys->ptr[i];
    sgather_slot *sl, *dup;
    HASH_FIND(hh, g->index, k->via.str.ptr, k->via.str.size, dup);
    if (dup)
      continue; /* asked twice: one answer */
    sl = &g->slots[g->nslots++];
    sl->key = tide__xstrndup(k->via.str.ptr, k->via.str.size);
    HASH_ADD_KEYPTR(hh, g->index, sl->key, k->via.str.size, sl);
  }
  HASH_ADD(hh, s->gathers, id, sizeof g->id, g);
  gather_drive(s, g, true, NULL, 0);
}

static sgather_slot *slot_find(sgather *g, const char *key, size_t len)
{
  sgather_slot *sl;
  HASH_FIND(hh, g->index, key, len, sl);
  return sl;
}

void tide__gather_data(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  int64_t id = 0;
  if (!tide__mp_int(msg, "id", &id))
    return;
  sgather *g;
  HASH_FIND(hh, s->gathers, &id, sizeof id, g);
  if (!g)
    return;
  const msgpack_object_map *data = tide__mp_map(msg, "data");
  for (uint32_t i = 0; data && i < data->size; i++) {
    const msgpack_object *k = &data->ptr[i].key, *v = &data->ptr[i].val;
    if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_BIN)
      continue;
    sgather_slot *sl = slot_find(g, k->via.str.ptr, k->via.str.size);
    if (!sl || sl->got)
      continue;
    sl->got = true;
    sl->from = NULL;
    slot_wait(s, g, sl, false);
    g->ngot++;
    sgather_item *it = tide__vec_reserve(&g->items, 1);
    g->items.n++;
    it->key = tide__xstrndup(k->via.str.ptr, k->via.str.size);
    it->len = v->via.bin.size;
    it->bin = tide__xmalloc(it->len + 1);
    memcpy(it->bin, v->via.bin.ptr, it->len);
  }
  const msgpack_object_array *missing = tide__mp_array(msg, "missing");
  for (uint32_t i = 0; missing && i < missing->size; i++) {
    const msgpack_object *k = &missing->ptr[i];
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    stask *t = tide__task_find(s, k->via.str.ptr, k->via.str.size);
    if (t && t->state == TIDE_TS_MEMORY) {
      tide__holder_remove(s, t, w); /* it does not have it after all */
      if (t->nholders == 0)
        tide__task_lost(s, t); /* computed again: the gather waits for it */
    }
  }
  /* whatever w owed and did not send is asked again (or waited for), once
   * its last data message ("more" false) is in */
  bool more = false;
  tide__mp_bool(msg, "more", &more);
  sgather_owe *o = NULL;
  TIDE__VEC(sgather_slot *) again = {0};
  if (!more)
    HASH_FIND(hh, g->owed, &w, sizeof w, o);
  if (o) {
    for (size_t i = 0; i < o->slots.n; i++) {
      sgather_slot *sl = o->slots.v[i];
      if (sl->from == w && !sl->got) {
        sl->from = NULL;
        tide__vec_push(&again, sl);
      }
    }
    owe_free(g, o);
  }
  gather_drive(s, g, false, again.v, (uint32_t)again.n);
  tide__vec_free(&again);
}

void tide__gather_worker_gone(tide__sched *s, sworker *w)
{
  sgather *g, *tmp;
  HASH_ITER (hh, s->gathers, g, tmp) {
    sgather_owe *o;
    HASH_FIND(hh, g->owed, &w, sizeof w, o);
    if (!o)
      continue;
    TIDE__VEC(sgather_slot *) again = {0};
    for (size_t i = 0; i < o->slots.n; i++) {
      sgather_slot *sl = o->slots.v[i];
      if (sl->from == w) {
        sl->from = NULL;
        tide__vec_push(&again, sl);
      }
    }
    owe_free(g, o);
    if (again.n) /* another holder, or wait for the recompute */
      gather_drive(s, g, false, again.v, (uint32_t)again.n);
    tide__vec_free(&again);
  }
}

void tide__gather_key_done(tide__sched *s, stask *t)
{
  if (!s->gather_waiting)
    return;
  size_t len = strlen(t->key);
  sgather *g, *tmp;
  HASH_ITER (hh, s->gathers, g, tmp) {
    if (!g->nwaiting)
      continue;
    sgather_slot *sl = slot_find(g, t->key, len);
    if (sl && sl->waiting && !sl->got) {
      slot_wait(s, g, sl, false);
      if (t->state != TIDE_TS_MEMORY && t->state != TIDE_TS_ERRED)
        gather_fail(g, "key \"%s\" was released before it could be gathered%s", sl->key, "");
      gather_drive(s, g, false, &sl, 1);
    }
  }
}

void tide__gather_client_gone(tide__sched *s, uint64_t client_id)
{
  sgather *g, *tmp;
  HASH_ITER (hh, s->gathers, g, tmp) {
    if (g->client_id == client_id) {
      HASH_DEL(s->gathers, g);
      tide__gather_free(s, g);
    }
  }
}

/* ---- datasets ---- */

static void publish(tide__sched *s, sclient *c, const msgpack_object *msg, int64_t id)
{
  char *name = tide__mp_strdup(msg, "name");
  const msgpack_object_map *keys = tide__mp_map(msg, "keys");
  sdataset *d = NULL;
  if (!name || !keys) {
    tide__reply_err(s, c->conn, id, "publish needs a name and keys");
    goto out;
  }
  HASH_FIND_STR(s->datasets, name, d);
  if (d) {
    tide__reply_err(s, c->conn, id, "dataset \"%s\" already exists", name);
    goto out;
  }
  for (uint32_t i = 0; i < keys->size; i++) {
    const msgpack_object *v = &keys->ptr[i].val;
    if (keys->ptr[i].key.type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_STR ||
        !tide__task_find(s, v->via.str.ptr, v->via.str.size)) {
      tide__reply_err(s, c->conn, id, "publish \"%s\": unknown key", name);
      goto out;
    }
  }
  d = tide__xcalloc(1, sizeof *d);
  d->name = name;
  name = NULL;
  d->n = keys->size;
  d->outnames = tide__xcalloc(d->n + 1, sizeof *d->outnames);
  d->tasks = tide__xcalloc(d->n + 1, sizeof *d->tasks);
  for (uint32_t i = 0; i < keys->size; i++) {
    const msgpack_object *k = &keys->ptr[i].key, *v = &keys->ptr[i].val;
    d->tasks[i] = tide__task_find(s, v->via.str.ptr, v->via.str.size);
    /* a name that is its task's key (tide submit's jobs) is not copied:
     * the wanted task outlives the dataset's hold on it */
    if (k->via.str.size != v->via.str.size ||
        memcmp(k->via.str.ptr, v->via.str.ptr, k->via.str.size) != 0)
      d->outnames[i] = tide__xstrndup(k->via.str.ptr, k->via.str.size);
    tide__task_want(s, d->tasks[i], 1);
  }
  for (size_t i = 0; i < d->n; i++) /* a released result is computed again */
    if (d->tasks[i]->state == TIDE_TS_RELEASED)
      tide__task_activate(s, d->tasks[i]);
  HASH_ADD_KEYPTR(hh, s->datasets, d->name, strlen(d->name), d);
  tide__info("sched", "published dataset %s (%zu keys)", d->name, d->n);
  tide__reply_ok(s, c->conn, id);
out:
  free(name);
}

void tide__dataset_free(sdataset *d)
{
  for (size_t i = 0; i < d->n; i++)
    free(d->outnames[i]);
  free(d->outnames);
  free(d->tasks);
  free(d->name);
  free(d);
}

/* The dataset the message names, or NULL after replying why. */
static sdataset *dataset_named(tide__sched *s, sclient *c, const msgpack_object *msg, int64_t id)
{
  char *name = tide__mp_strdup(msg, "name");
  sdataset *d = NULL;
  if (name)
    HASH_FIND_STR(s->datasets, name, d);
  if (!d)
    tide__reply_err(s, c->conn, id, "unknown dataset \"%s\"", name ? name : "");
  free(name);
  return d;
}

static void unpublish(tide__sched *s, sclient *c, const msgpack_object *msg, int64_t id)
{
  sdataset *d = dataset_named(s, c, msg, id);
  if (!d)
    return;
  HASH_DEL(s->datasets, d);
  tide__reply_ok(s, c->conn, id);
  for (size_t i = 0; i < d->n; i++)
    tide__task_want(s, d->tasks[i], -1);
  tide__dataset_free(d);
}

static void get_dataset(tide__sched *s, sclient *c, const msgpack_object *msg, int64_t id)
{
  sdataset *d = dataset_named(s, c, msg, id);
  if (!d)
    return;
  msgpack_packer *pk = tide__sched_send(s, c->conn, TIDE_OP_REPLY, 3);
  if (!pk)
    return;
  tide__pk_kint(pk, "id", id);
  tide__pk_kbool(pk, "ok", true);
  tide__pk_str(pk, "keys");
  msgpack_pack_map(pk, (uint32_t)d->n);
  for (size_t i = 0; i < d->n; i++) {
    tide__pk_str(pk, d->outnames[i] ? d->outnames[i] : d->tasks[i]->key);
    tide__pk_str(pk, d->tasks[i]->key);
  }
  tide__sched_sent(s, c->conn);
}

static void list_datasets(tide__sched *s, sclient *c, int64_t id)
{
  msgpack_packer *pk = tide__sched_send(s, c->conn, TIDE_OP_REPLY, 3);
  if (!pk)
    return;
  tide__pk_kint(pk, "id", id);
  tide__pk_kbool(pk, "ok", true);
  tide__pk_str(pk, "names");
  msgpack_pack_array(pk, HASH_COUNT(s->datasets));
  for (sdataset *d = s->datasets; d; d = d->hh.next)
    tide__pk_str(pk, d->name);
  tide__sched_sent(s, c->conn);
}

/* ---- api ---- */

typedef struct api_ctx {
  tide__sched *s;
  uint64_t client_id;
  int64_t id;
} api_ctx;

static void api_reply(void *rctx, int status, json_t *body)
{
  api_ctx *a = rctx;
  sclient *c = tide__client_find(a->s, a->client_id);
  if (c && c->conn) {
    char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    msgpack_packer *pk = tide__sched_send(a->s, c->conn, TIDE_OP_REPLY, 4);
    if (pk) {
      tide__pk_kint(pk, "id", a->id);
      tide__pk_kbool(pk, "ok", true);
      tide__pk_kint(pk, "status", status);
      tide__pk_kstr(pk, "body", txt ? txt : "null");
      tide__sched_sent(a->s, c->conn);
    }
    free(txt);
  }
  json_decref(body);
  free(a);
}

static void api(tide__sched *s, sclient *c, const msgpack_object *msg, int64_t id)
{
  const char *m = "GET", *p = "/", *b = "";
  size_t ml = 3, pl = 1, bl = 0;
  tide__mp_str(msg, "method", &m, &ml);
  tide__mp_str(msg, "path", &p, &pl);
  tide__mp_str(msg, "body", &b, &bl);
  api_ctx *a = tide__xmalloc(sizeof *a);
  *a = (api_ctx){s, c->id, id};
  if (!s->api_fn) {
    api_reply(a, 503, json_pack("{s:s}", "error", "no API on this scheduler"));
    return;
  }
  char *method = tide__xstrndup(m, ml), *path = tide__xstrndup(p, pl);
  char *body = tide__xstrndup(b, bl);
  s->api_fn(s->api_arg, method, path, body, bl, api_reply, a);
  free(method);
  free(path);
  free(body);
}

/* ---- the client op table ---- */

void tide__client_msg(tide__sched *s, sclient *c, const msgpack_object *msg)
{
  int64_t id = 0;
  tide__mp_int(msg, "id", &id);
  switch (tide__mp_op(msg)) {
  case TIDE_OP_UPDATE_GRAPH: tide__client_update_graph(s, c, msg); break;
  case TIDE_OP_GATHER: gather(s, c, msg); break;
  case TIDE_OP_RELEASE_KEYS: tide__client_release_keys(s, c, msg); break;
  case TIDE_OP_PUBLISH: publish(s, c, msg, id); break;
  case TIDE_OP_UNPUBLISH: unpublish(s, c, msg, id); break;
  case TIDE_OP_GET_DATASET: get_dataset(s, c, msg, id); break;
  case TIDE_OP_LIST_DATASETS: list_datasets(s, c, id); break;
  case TIDE_OP_API: api(s, c, msg, id); break;
  case TIDE_OP_HEARTBEAT: break;
  default:
    if (tide__mp_get(msg, "id"))
      tide__reply_err(s, c->conn, id, "unknown op");
    break;
  }
}
