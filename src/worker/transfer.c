/* Worker-to-worker data: the data server answering get-data, and fetching
 * dependencies from peers (one connection per peer, requests batched per
 * peer and loop turn, the next holder tried when one fails). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "worker/worker_int.h"

static void fetch_next(tide__wk *w, fetch *f);

/* ---- serving ---- */

static void send_hello(tide__wk *w, tide__conn *c, const char *role)
{
  msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 4);
  tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
  tide__pk_kstr(pk, "role", role);
  tide__pk_kstr(pk, "name", w->name);
  tide__pk_kstr(pk, "address", w->address ? w->address : "");
  tide__conn_end(c);
}

void tide__transfer_serve_store(const tide__store *st, tide__conn *c, const msgpack_object *msg)
{
  int64_t id = 0;
  tide__mp_int(msg, "id", &id);
  const msgpack_object_array *keys = tide__mp_array(msg, "keys");
  uint32_t n = keys ? keys->size : 0, have = 0;
  const char **data = tide__xcalloc(n ? n : 1, sizeof *data);
  size_t *len = tide__xcalloc(n ? n : 1, sizeof *len);
  for (uint32_t i = 0; i < n; i++)
    if (keys->ptr[i].type == MSGPACK_OBJECT_STR &&
        tide__store_get(st, keys->ptr[i].via.str.ptr, keys->ptr[i].via.str.size, &data[i], &len[i]))
      have++;
  /* Values go out in as many data messages as limits.frame-size needs
   * (each value alone fits: limits.result-size); all but the last say
   * "more", and the last lists the missing keys. */
  size_t budget = (size_t)tide__limits_result_size(tide__limits_get());
  uint32_t i = 0, sent = 0;
  do {
    uint32_t end = i, cnt = 0;
    size_t sum = 0;
    for (; end < n; end++) {
      if (!data[end])
        continue;
      size_t add = len[end] + keys->ptr[end].via.str.size + 16;
      if (cnt > 0 && sum + add > budget)
        break;
      sum += add;
      cnt++;
    }
    sent += cnt;
    bool last = sent == have;
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_DATA, 4);
    tide__pk_kint(pk, "id", id);
    msgpack_pack_str_with_body(pk, "data", 4);
    msgpack_pack_map(pk, cnt);
    for (uint32_t j = i; j < end; j++) {
      if (!data[j])
        continue;
      tide__pk_strn(pk, keys->ptr[j].via.str.ptr, keys->ptr[j].via.str.size);
      tide__pk_bin(pk, data[j], len[j]);
    }
    msgpack_pack_str_with_body(pk, "missing", 7);
    msgpack_pack_array(pk, last ? n - have : 0);
    for (uint32_t j = 0; last && j < n; j++) {
      const msgpack_object *k = &keys->ptr[j];
      if (k->type != MSGPACK_OBJECT_STR)
        tide__pk_str(pk, "");
      else if (!data[j])
        tide__pk_strn(pk, k->via.str.ptr, k->via.str.size);
    }
    tide__pk_kbool(pk, "more", !last);
    tide__conn_end(c);
    i = end;
  } while (sent < have);
  free(data);
  free(len);
}

void tide__transfer_serve(tide__wk *w, tide__conn *c, const msgpack_object *msg)
{
  tide__transfer_serve_store(w->store, c, msg);
}

void tide__transfer_serve_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  tide__wk *w = arg;
  switch (tide__mp_op(msg)) {
  case TIDE_OP_HELLO: send_hello(w, c, "worker"); break;
  case TIDE_OP_GET_DATA: tide__transfer_serve(w, c, msg); break;
  default: tide__debug("worker", "peer %s: ignored a message", tide__conn_peer(c)); break;
  }
}

static void serve_closed(tide__conn *c, int status, void *arg)
{
  tide__wk *w = arg;
  for (size_t i = 0; i < w->served.n; i++)
    if (w->served.v[i] == c) {
      w->served.v[i] = w->served.v[--w->served.n];
      break;
    }
}

static const tide__conn_ops serve_ops = {tide__transfer_serve_msg, serve_closed};

void tide__transfer_accept(tide__server *s, tide__conn *c, void *arg, const tide__conn_ops **ops,
                           void **carg)
{
  tide__wk *w = arg;
  *ops = &serve_ops;
  *carg = w;
  tide__vec_push(&w->served, c);
  if (w->closing)
    tide__conn_close(c, 0, "worker closing");
}

/* ---- fetch entries ---- */

fetch *tide__fetch_find(tide__wk *w, const char *key, size_t keylen)
{
  fetch *f;
  HASH_FIND(hh, w->fetches, key, keylen, f);
  return f;
}

static void fetch_maybe_free(tide__wk *w, fetch *f)
{
  if (f->state == FETCHING || f->refs > 0 || f->notifying)
    return;
  HASH_DEL(w->fetches, f);
  tide__fetch_free(f);
}

void tide__fetch_free(fetch *f)
{
  tide__strvec_free(&f->holders);
  tide__strvec_free(&f->failed);
  tide__vec_free(&f->waiters);
  free(f->data);
  free(f->key);
  free(f);
}

void tide__fetch_release(tide__wk *w, fetch *f)
{
  f->refs--;
  fetch_maybe_free(w, f);
}

static void add_holders(fetch *f, const msgpack_object_array *holders)
{
  for (uint32_t i = 0; holders && i < holders->size; i++) {
    const msgpack_object *h = &holders->ptr[i];
    if (h->type != MSGPACK_OBJECT_STR)
      continue;
    bool dup = false;
    for (size_t j = 0; j < f->holders.n && !dup; j++)
      dup = strlen(f->holders.v[j]) == h->via.str.size &&
            memcmp(f->holders.v[j], h->via.str.ptr, h->via.str.size) == 0;
    if (dup)
      continue;
    tide__vec_push(&f->holders, tide__xstrndup(h->via.str.ptr, h->via.str.size));
  }
}

static void flush_cb(uv_check_t *h)
{
  tide__transfer_flush(h->data);
}

static void arm_flush(tide__wk *w)
{
  if (!w->closing && !uv_is_active((uv_handle_t *)&w->flush_check))
    uv_check_start(&w->flush_check, flush_cb);
}

/* A new fetch of key, in FETCHING, known by key from now on. */
static fetch *fetch_new(tide__wk *w, const char *key, size_t keylen)
{
  fetch *f = tide__xcalloc(1, sizeof *f);
  f->key = tide__xstrndup(key, keylen);
  f->keylen = keylen;
  f->state = FETCHING;
  HASH_ADD_KEYPTR(hh, w->fetches, f->key, keylen, f);
  return f;
}

fetch *tide__fetch_want(tide__wk *w, const char *key, size_t keylen,
                        const msgpack_object_array *holders, waiter wt)
{
  fetch *f = tide__fetch_find(w, key, keylen);
  if (!f) {
    f = fetch_new(w, key, keylen);
  } else if (f->state == FETCH_FAILED) {
    f->state = FETCHING; /* try again with the holders we are told now */
    f->next = f->holders.n;
  }
  add_holders(f, holders);
  if (f->state == FETCHING && f->req_id == 0 && !f->peer && !f->starting) {
    f->starting = true;
    tide__vec_push(&w->starting, f);
    arm_flush(w);
  }
  if (wt.task)
    f->refs++;
  if (wt.acq)
    f->to_store = true;
  if (f->state == FETCHING) {
    tide__vec_push(&f->waiters, wt);
    if (wt.task)
      wt.task->waiting++;
    if (wt.acq)
      wt.acq->pending++;
  }
  return f;
}

static void acq_result(tide__wk *w, acquire *a, fetch *f, bool ok);
static void fetch_notify(tide__wk *w, fetch *f, bool ok);

fetch *tide__fetch_local(tide__wk *w, const char *key, size_t keylen, waiter wt)
{
  fetch *f = tide__fetch_find(w, key, keylen);
  if (!f) {
    f = fetch_new(w, key, keylen);
    f->local = true;
  } else if (f->state == FETCH_FAILED) {
    f->state = FETCHING;
    f->local = true;
  }
  f->refs++;
  if (f->state == FETCHING) {
    tide__vec_push(&f->waiters, wt);
    wt.task->waiting++;
  }
  return f;
}

void tide__fetch_local_done(tide__wk *w, const char *key, size_t keylen)
{
  fetch *f = w->fetches ? tide__fetch_find(w, key, keylen) : NULL;
  if (!f || !f->local || f->state != FETCHING || f->peer || f->starting)
    return; /* nobody waits here, or a fetch from a peer took over */
  bool ok = tide__store_get(w->store, key, keylen, NULL, NULL);
  f->local = false;
  f->state = ok ? FETCH_HAVE : FETCH_FAILED; /* the value is in the store */
  fetch_notify(w, f, ok);
}

static void fetch_notify(tide__wk *w, fetch *f, bool ok)
{
  /* taken out first: a notified waiter may want the key again and add itself */
  waitervec ws = f->waiters;
  f->waiters = (waitervec){0};
  f->notifying = true;
  for (size_t i = 0; i < ws.n; i++) {
    if (ws.v[i].task)
      tide__wtask_fetched(w, ws.v[i].task, f, ok);
    else if (ws.v[i].acq)
      acq_result(w, ws.v[i].acq, f, ok);
  }
  tide__vec_free(&ws);
  f->notifying = false;
  fetch_maybe_free(w, f);
}

static void fetch_success(tide__wk *w, fetch *f, const char *data, size_t len)
{
  f->state = FETCH_HAVE;
  f->peer = NULL;
  f->req_id = 0;
  if (f->to_store) {
    tide__store_put_copy(w->store, f->key, f->keylen, data, len);
  } else {
    f->data = tide__xmalloc(len);
    memcpy(f->data, data, len);
    f->len = len;
  }
  fetch_notify(w, f, true);
}

static void fetch_holder_failed(tide__wk *w, fetch *f, const char *addr)
{
  tide__vec_push(&f->failed, tide__xstrdup(addr));
  f->peer = NULL;
  f->req_id = 0;
  if (w->closing) {
    f->state = FETCH_FAILED;
    fetch_notify(w, f, false);
    return;
  }
  fetch_next(w, f);
}

/* ---- peers ---- */

static void peer_msg(tide__conn *c, const msgpack_object *msg, void *arg);
static void peer_closed(tide__conn *c, int status, void *arg);
static const tide__conn_ops peer_ops = {peer_msg, peer_closed};

static void peer_mark_dirty(tide__wk *w, peer *p)
{
  if (p->dirty)
    return;
  p->dirty = true;
  p->next_dirty = w->dirty;
  w->dirty = p;
  arm_flush(w);
}

/* Lose a peer: every fetch asked from it moves to its next holder. */
static void peer_lost(tide__wk *w, peer *p, const char *why)
{
  HASH_DEL(w->peers, p);
  for (peer **pp = &w->dirty; *pp; pp = &(*pp)->next_dirty)
    if (*pp == p) {
      *pp = p->next_dirty;
      break;
    }
  fetchvec all = p->queue; /* the queue, then every request in flight */
  p->queue = (fetchvec){0};
  for (request *r = p->inflight, *next; r; r = next) {
    next = r->next;
    for (size_t i = 0; i < r->entries.n; i++)
      tide__vec_push(&all, r->entries.v[i]);
    tide__vec_free(&r->entries);
    free(r);
  }
  if (all.n > 0)
    tide__info("worker", "peer %s: %s; %zu fetches move on", p->address, why, all.n);
  for (size_t i = 0; i < all.n; i++)
    if (all.v[i]->state == FETCHING && all.v[i]->peer == p)
      fetch_holder_failed(w, all.v[i], p->address);
  tide__vec_free(&all);
  free(p->address);
  free(p);
}

static void peer_send(tide__wk *w, peer *p)
{
  if (!p->conn || p->queue.n == 0)
    return;
  request *r = tide__xcalloc(1, sizeof *r);
  r->id = ++p->next_id;
  r->entries = p->queue;
  p->queue = (fetchvec){0};
  r->next = p->inflight;
  p->inflight = r;
  msgpack_packer *pk = tide__conn_begin(p->conn, TIDE_OP_GET_DATA, 2);
  tide__pk_kint(pk, "id", (int64_t)r->id);
  msgpack_pack_str_with_body(pk, "keys", 4);
  msgpack_pack_array(pk, (uint32_t)r->entries.n);
  for (size_t i = 0; i < r->entries.n; i++) {
    r->entries.v[i]->req_id = r->id;
    tide__pk_strn(pk, r->entries.v[i]->key, r->entries.v[i]->keylen);
  }
  tide__conn_end(p->conn);
  tide__conn_flush(p->conn);
}

static void peer_connected(tide__conn *c, int status, void *arg)
{
  peer *p = arg;
  tide__wk *w = p->w;
  if (status < 0) {
    tide__warn("worker", "cannot reach peer %s: %s", p->address, tide_strerror(status));
    peer_lost(w, p, "unreachable");
    return;
  }
  p->conn = c;
  if (w->closing) {
    tide__conn_close(c, 0, "worker closing");
    return;
  }
  send_hello(w, c, "peer");
  peer_send(w, p);
}

static void peer_closed(tide__conn *c, int status, void *arg)
{
  peer *p = arg;
  p->conn = NULL;
  peer_lost(p->w, p, status == 0 ? "closed" : tide_strerror(status));
}

/* A data answer: deliver what came; keys it lacks move to their next holder. */
static void peer_data(tide__wk *w, peer *p, const msgpack_object *msg)
{
  int64_t id;
  if (!tide__mp_int(msg, "id", &id))
    return;
  request **rp = &p->inflight, *r;
  while ((r = *rp) && r->id != (uint64_t)id)
    rp = &r->next;
  if (!r)
    return;
  /* "more": further data messages follow for this request (the values did
   * not fit one frame); deliver what came, keep waiting for the rest */
  bool more = false;
  tide__mp_bool(msg, "more", &more);
  if (!more)
    *rp = r->next;
  /* Match values to the request before delivering any: delivering runs
   * tasks, which may free entries that are no longer fetching. */
  size_t n = r->entries.n;
  const char **vals = tide__xcalloc(n, sizeof *vals);
  size_t *lens = tide__xcalloc(n, sizeof *lens);
  char *mine = tide__xcalloc(n, 1); /* 1 asked here, 2 answered */
  for (size_t i = 0; i < n; i++) {
    fetch *f = r->entries.v[i];
    mine[i] = f->state == FETCHING && f->peer == p && f->req_id == r->id;
    if (mine[i])
      f->slot = i;
  }
  const msgpack_object_map *data = tide__mp_map(msg, "data");
  for (uint32_t i = 0; data && i < data->size; i++) {
    const msgpack_object *k = &data->ptr[i].key, *v = &data->ptr[i].val;
    if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_BIN)
      continue;
    fetch *f = tide__fetch_find(w, k->via.str.ptr, k->via.str.size);
    if (f && f->state == FETCHING && f->peer == p && f->req_id == r->id) {
      mine[f->slot] = 2;
      vals[f->slot] = v->via.bin.ptr;
      lens[f->slot] = v->via.bin.size;
    }
  }
  if (more) {
    /* the request keeps only what is still owed: delivering may free the
     * entries it completes */
    fetch **got = tide__xcalloc(n ? n : 1, sizeof *got);
    const char **gv = tide__xcalloc(n ? n : 1, sizeof *gv);
    size_t *gl = tide__xcalloc(n ? n : 1, sizeof *gl), ng = 0, keep = 0;
    for (size_t i = 0; i < n; i++) {
      if (mine[i] == 2) {
        got[ng] = r->entries.v[i];
        gv[ng] = vals[i] ? vals[i] : "";
        gl[ng++] = lens[i];
      } else {
        r->entries.v[keep++] = r->entries.v[i];
      }
    }
    r->entries.n = keep;
    for (size_t i = 0; i < ng; i++)
      fetch_success(w, got[i], gv[i], gl[i]);
    free(got);
    free(gv);
    free(gl);
  } else {
    for (size_t i = 0; i < n; i++) {
      if (!mine[i])
        continue;
      if (mine[i] == 2)
        fetch_success(w, r->entries.v[i], vals[i] ? vals[i] : "", lens[i]);
      else
        fetch_holder_failed(w, r->entries.v[i], p->address);
    }
  }
  free(vals);
  free(lens);
  free(mine);
  if (!more) {
    tide__vec_free(&r->entries);
    free(r);
  }
}

static void peer_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  peer *p = arg;
  switch (tide__mp_op(msg)) {
  case TIDE_OP_HELLO: break;
  case TIDE_OP_DATA: peer_data(p->w, p, msg); break;
  case TIDE_OP_ERROR: {
    const char *m = NULL;
    size_t n = 0;
    tide__mp_str(msg, "message", &m, &n);
    tide__warn("worker", "peer %s: error: %.*s", p->address, (int)n, m ? m : "");
    break;
  }
  default: break;
  }
}

static peer *peer_get(tide__wk *w, const char *addr)
{
  peer *p;
  HASH_FIND_STR(w->peers, addr, p);
  if (p)
    return p;
  p = tide__xcalloc(1, sizeof *p);
  p->w = w;
  p->address = tide__xstrdup(addr);
  tide_error err;
  int rc = w->peer_connect(w->loop, addr, &w->auth, &peer_ops, p, peer_connected, &err);
  if (rc != 0) {
    tide__warn("worker", "cannot connect to peer %s: %s", addr, err.text);
    free(p->address);
    free(p);
    return NULL;
  }
  HASH_ADD_KEYPTR(hh, w->peers, p->address, strlen(p->address), p);
  return p;
}

/* Ask the next holder, or give up when none is left. */
static void fetch_next(tide__wk *w, fetch *f)
{
  while (f->next < f->holders.n) {
    const char *addr = f->holders.v[f->next++];
    peer *p = (w->address && strcmp(addr, w->address) == 0) ? NULL : peer_get(w, addr);
    if (!p) {
      tide__vec_push(&f->failed, tide__xstrdup(addr));
      continue;
    }
    f->peer = p;
    f->req_id = 0;
    tide__vec_push(&p->queue, f);
    peer_mark_dirty(w, p);
    return;
  }
  f->state = FETCH_FAILED;
  f->peer = NULL;
  fetch_notify(w, f, false);
}

void tide__transfer_flush(tide__wk *w)
{
  uv_check_stop(&w->flush_check);
  while (w->starting.n > 0) {
    fetchvec st = w->starting; /* fetch_next may start more */
    w->starting = (fetchvec){0};
    for (size_t i = 0; i < st.n; i++) {
      st.v[i]->starting = false;
      if (st.v[i]->state == FETCHING && !st.v[i]->peer)
        fetch_next(w, st.v[i]);
    }
    tide__vec_free(&st);
  }
  while (w->dirty) {
    peer *p = w->dirty;
    w->dirty = p->next_dirty;
    p->dirty = false;
    peer_send(w, p);
  }
}

/* ---- acquire-replicas ---- */

static void acq_finish(tide__wk *w, acquire *a)
{
  tide__conn *c = tide__wk_sched(w);
  if (c) {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_ADD_KEYS, 2);
    msgpack_pack_str_with_body(pk, "keys", 4);
    msgpack_pack_map(pk, a->nok);
    if (a->ok.size)
      pk->callback(pk->data, a->ok.data, a->ok.size); /* pre-packed pairs */
    msgpack_pack_str_with_body(pk, "failed", 6);
    msgpack_pack_array(pk, a->nfailed);
    if (a->failed.size)
      pk->callback(pk->data, a->failed.data, a->failed.size);
    tide__conn_end(c);
  }
  msgpack_sbuffer_destroy(&a->ok);
  msgpack_sbuffer_destroy(&a->failed);
  free(a);
}

static void acq_add(acquire *a, const char *key, size_t keylen, bool ok, size_t nbytes)
{
  msgpack_packer pk;
  msgpack_packer_init(&pk, ok ? &a->ok : &a->failed, msgpack_sbuffer_write);
  tide__pk_strn(&pk, key, keylen);
  if (ok) {
    msgpack_pack_uint64(&pk, nbytes);
    a->nok++;
  } else {
    a->nfailed++;
  }
}

static void acq_result(tide__wk *w, acquire *a, fetch *f, bool ok)
{
  size_t n = 0;
  ok = ok && tide__store_get(w->store, f->key, f->keylen, NULL, &n);
  acq_add(a, f->key, f->keylen, ok, n);
  if (--a->pending == 0)
    acq_finish(w, a);
}

void tide__transfer_acquire(tide__wk *w, const msgpack_object *msg)
{
  const msgpack_object_map *keys = tide__mp_map(msg, "keys");
  acquire *a = tide__xcalloc(1, sizeof *a);
  msgpack_sbuffer_init(&a->ok);
  msgpack_sbuffer_init(&a->failed);
  a->pending = 1; /* held until every key is asked */
  for (uint32_t i = 0; keys && i < keys->size; i++) {
    const msgpack_object *k = &keys->ptr[i].key;
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    const char *key = k->via.str.ptr;
    size_t klen = k->via.str.size, n;
    fetch *f = tide__fetch_find(w, key, klen);
    if (!tide__store_get(w->store, key, klen, NULL, &n) && f && f->state == FETCH_HAVE && f->data)
      tide__store_put_copy(w->store, key, klen, f->data, f->len);
    if (tide__store_get(w->store, key, klen, NULL, &n)) {
      acq_add(a, key, klen, true, n);
      continue;
    }
    const msgpack_object *v = &keys->ptr[i].val;
    tide__fetch_want(w, key, klen, v->type == MSGPACK_OBJECT_ARRAY ? &v->via.array : NULL,
                     (waiter){NULL, a});
  }
  if (--a->pending == 0)
    acq_finish(w, a);
}

void tide__transfer_close_all(tide__wk *w)
{
  uv_check_stop(&w->flush_check);
  /* Fetches not started yet never will be (an acquire-replicas and a close
   * in one frame): fail them now, so the tasks and acquire-replicas waiting
   * for them are let go instead of leaking. */
  fetchvec st = w->starting;
  w->starting = (fetchvec){0};
  for (size_t i = 0; i < st.n; i++) {
    st.v[i]->starting = false;
    if (st.v[i]->state == FETCHING && !st.v[i]->peer) {
      st.v[i]->state = FETCH_FAILED;
      fetch_notify(w, st.v[i], false);
    }
  }
  tide__vec_free(&st);
  peer *p, *tmp;
  HASH_ITER (hh, w->peers, p, tmp) {
    if (p->conn)
      tide__conn_close(p->conn, 0, "worker closing");
  }
  /* closing may call serve_closed, which edits the array: close a copy */
  size_t n = w->served.n;
  tide__conn **copy = tide__xmalloc((n ? n : 1) * sizeof *copy);
  if (n > 0) /* w->served.v is NULL until the first peer connects */
    memcpy(copy, w->served.v, n * sizeof *copy);
  for (size_t i = 0; i < n; i++)
    tide__conn_close(copy[i], 0, "worker closing");
  free(copy);
}
