/* The worker swarm's tasks (bench/swarm.c): compute-task through the
 * worker's registry and call path, tide.sleep on a timer, free-keys,
 * and the store shared by every swarm worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm.h"

/* ---- the shared store ---- */

static void hold(sworker *w, const char *key, size_t klen, char *data, size_t len)
{
  swarm *sm = w->sm;
  held *h;
  HASH_FIND(hh, sm->index, key, klen, h);
  if (!h) {
    h = tide__xcalloc(1, sizeof *h);
    h->key = tide__xstrndup(key, klen);
    HASH_ADD_KEYPTR(hh, sm->index, h->key, klen, h);
  } else {
    size_t old = 0;
    tide__store_get(sm->store, key, klen, NULL, &old);
    h->w->nbytes -= old;
    h->w->nkeys--;
  }
  h->w = w;
  tide__store_put(sm->store, key, klen, data, len);
  w->nbytes += len;
  w->nkeys++;
}

static void drop(sworker *w, const char *key, size_t klen)
{
  swarm *sm = w->sm;
  held *h;
  size_t len = 0;
  HASH_FIND(hh, sm->index, key, klen, h);
  if (!h || h->w != w)
    return; /* another swarm worker's copy stays */
  tide__store_get(sm->store, key, klen, NULL, &len);
  tide__store_del(sm->store, key, klen);
  w->nbytes -= len;
  w->nkeys--;
  HASH_DEL(sm->index, h);
  free(h->key);
  free(h);
}

/* ---- messages to the scheduler ---- */

static void send_outcome(sworker *w, const char *key, size_t klen, const char *error, size_t nbytes,
                         double start, double stop_t)
{
  if (!w->c || !w->registered)
    return;
  tide__wk_report_outcome(w->c, key, klen, error, nbytes, start, stop_t, 0);
  w->sm->tasks_done++;
}

/* ---- tasks ---- */

/* Where a task's references are looked up (tide__args_lookup): the store
 * every swarm worker shares. */
static bool value_of(void *ctx, const char *key, size_t len, const char **data, size_t *n)
{
  swarm *sm = ctx;
  return tide__store_get(sm->store, key, len, data, n);
}

/* The first holder the scheduler named for dep, for missing-data. */
static const char *first_holder(const msgpack_object *msg, const msgpack_object *dep, char *buf,
                                size_t len)
{
  const msgpack_object_map *deps = tide__mp_map(msg, "deps");
  snprintf(buf, len, "%s", "");
  for (uint32_t i = 0; deps && i < deps->size; i++) {
    const msgpack_object *k = &deps->ptr[i].key;
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != dep->via.str.size ||
        memcmp(k->via.str.ptr, dep->via.str.ptr, k->via.str.size) != 0)
      continue;
    const msgpack_object_array *who = tide__mp_array(&deps->ptr[i].val, "who_has");
    if (who && who->size > 0 && who->ptr[0].type == MSGPACK_OBJECT_STR)
      snprintf(buf, len, "%.*s", (int)who->ptr[0].via.str.size, who->ptr[0].via.str.ptr);
  }
  return buf;
}

static void sleeper_closed(uv_handle_t *h)
{
  sleeper *s = h->data;
  free(s->key);
  free(s->result);
  free(s);
}

void swarm_sleeper_end(sworker *w, sleeper *s)
{
  HASH_DEL(w->sleeping, s);
  uv_close((uv_handle_t *)&s->timer, sleeper_closed);
}

static void slept(uv_timer_t *t)
{
  sleeper *s = t->data;
  sworker *w = s->w;
  size_t klen = strlen(s->key), n = s->result_len;
  hold(w, s->key, klen, s->result, n);
  s->result = NULL;
  send_outcome(w, s->key, klen, NULL, n, s->start, tide__wall());
  swarm_sleeper_end(w, s);
}

/* tide.sleep [seconds, value?]: the value (or nil) after seconds, on a
 * timer (the builtin would block the loop thread of every worker here). */
static void start_sleep(sworker *w, const char *key, size_t klen, const msgpack_object *args,
                        double start)
{
  double secs = -1;
  if (args->via.array.size >= 1 && args->via.array.size <= 2) {
    const msgpack_object *a = &args->via.array.ptr[0];
    if (a->type == MSGPACK_OBJECT_POSITIVE_INTEGER || a->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      secs = (double)a->via.i64;
    else if (a->type == MSGPACK_OBJECT_FLOAT32 || a->type == MSGPACK_OBJECT_FLOAT64)
      secs = a->via.f64;
  }
  if (!(secs >= 0) || secs > 1e9) {
    send_outcome(w, key, klen, "tide.sleep: seconds must be between 0 and 1e9", 0, start, start);
    return;
  }
  sleeper *s = tide__xcalloc(1, sizeof *s);
  s->w = w;
  s->key = tide__xstrndup(key, klen);
  s->start = start;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (args->via.array.size == 2)
    msgpack_pack_object(&pk, args->via.array.ptr[1]);
  else
    msgpack_pack_nil(&pk);
  s->result_len = sb.size;
  s->result = msgpack_sbuffer_release(&sb);
  HASH_ADD_KEYPTR(hh, w->sleeping, s->key, klen, s);
  uv_timer_init(w->sm->loop, &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, slept, (uint64_t)(secs * 1000), 0);
}

void swarm_compute(sworker *w, const msgpack_object *msg)
{
  swarm *sm = w->sm;
  const char *key, *fn;
  size_t klen, fnlen, heldlen;
  if (!tide__mp_str(msg, "key", &key, &klen) || !tide__mp_str(msg, "fn", &fn, &fnlen))
    return;
  double start = tide__wall();
  sleeper *s;
  HASH_FIND(hh, w->sleeping, key, klen, s);
  if (s)
    return; /* already on it */
  if (tide__store_get(sm->store, key, klen, NULL, &heldlen)) {
    send_outcome(w, key, klen, NULL, heldlen, start, start);
    return;
  }
  const msgpack_object *args = tide__args_get(msg);
  unsigned flags = 0;
  tide_task_fn f = tide__registry_find(sm->reg, fn, fnlen, &flags);
  bool sleep_fn = fnlen == 10 && memcmp(fn, "tide.sleep", 10) == 0;
  if (!f || (!(flags & TIDE_FN_INLINE) && !sleep_fn)) {
    char *e = tide__xasprintf("the swarm does not run %.*s", (int)fnlen, fn);
    send_outcome(w, key, klen, e, 0, start, start);
    free(e);
    return;
  }
  msgpack_sbuffer sb;
  msgpack_packer pk;
  const msgpack_object *missing = NULL;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (!tide__args_subst(&sb, &pk, args, value_of, sm, &missing)) {
    char holder[300];
    tide__wk_report_missing(w->c, key, klen, missing->via.str.ptr, missing->via.str.size,
                            first_holder(msg, missing, holder, sizeof holder));
    msgpack_sbuffer_destroy(&sb);
    return;
  }
  if (sleep_fn) {
    msgpack_zone zone;
    msgpack_object a;
    size_t off = 0;
    msgpack_zone_init(&zone, 256);
    if (msgpack_unpack(sb.data, sb.size, &off, &zone, &a) == MSGPACK_UNPACK_SUCCESS)
      start_sleep(w, key, klen, &a, start);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
    return;
  }
  /* the worker's own call path: unpack, run, check one value was packed */
  tide__wk_call job = {.fn = f, .key = NULL};
  char *k = tide__xstrndup(key, klen);
  job.key = k;
  job.args_len = sb.size;
  job.args = msgpack_sbuffer_release(&sb);
  atomic_init(&job.cancelled, false);
  tide__wk_call_run(&job, 0);
  if (job.outcome == TIDE__CALL_OK) {
    size_t n = job.result_len;
    hold(w, key, klen, job.result, n);
    job.result = NULL;
    send_outcome(w, key, klen, NULL, n, job.start, job.stop);
  } else {
    send_outcome(w, key, klen, job.error ? job.error : "failed", 0, job.start, job.stop);
  }
  tide__wk_call_clear(&job);
  free(k);
}

void swarm_free_keys(sworker *w, const msgpack_object *msg)
{
  const msgpack_object_array *keys = tide__mp_array(msg, "keys");
  for (uint32_t i = 0; keys && i < keys->size; i++) {
    const msgpack_object *k = &keys->ptr[i];
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    drop(w, k->via.str.ptr, k->via.str.size);
    sleeper *s;
    HASH_FIND(hh, w->sleeping, k->via.str.ptr, k->via.str.size, s);
    if (s)
      swarm_sleeper_end(w, s);
  }
}

/* No fetching from peers here: every key failed. */
void swarm_acquire_replicas(sworker *w, const msgpack_object *msg)
{
  const msgpack_object_map *keys = tide__mp_map(msg, "keys");
  uint32_t n = keys ? keys->size : 0;
  msgpack_packer *pk = tide__conn_begin(w->c, TIDE_OP_ADD_KEYS, 2);
  msgpack_pack_str_with_body(pk, "keys", 4);
  msgpack_pack_map(pk, 0);
  msgpack_pack_str_with_body(pk, "failed", 6);
  msgpack_pack_array(pk, n);
  for (uint32_t i = 0; i < n; i++)
    tide__pk_object(pk, &keys->ptr[i].key);
  tide__conn_end(w->c);
}

void swarm_send_no_logs(sworker *w, const msgpack_object *msg)
{
  int64_t id = 0;
  tide__mp_int(msg, "id", &id);
  msgpack_packer *pk = tide__conn_begin(w->c, TIDE_OP_REPLY, 2);
  tide__pk_kint(pk, "id", id);
  msgpack_pack_str_with_body(pk, "lines", 5);
  msgpack_pack_array(pk, 0);
  tide__conn_end(w->c);
}
