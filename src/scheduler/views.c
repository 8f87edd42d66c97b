/* Read-only views for other modules: worker snapshots, task counts, prefix
 * durations as JSON, the task stream ring, counters, adaptive_target and
 * workers_to_close over the live state, and worker log gathering. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/value.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"
#include "scheduler/internal.h"

static void fill_view(const sworker *w, tide__sw_view *v)
{
  v->address = w->address;
  v->name = w->name;
  v->host = w->host;
  v->job = w->job;
  v->nthreads = w->nthreads;
  v->memory_limit = w->memory_limit;
  v->nbytes = w->nbytes;
  v->nbytes_peak = w->nbytes_peak;
  v->rss = w->rss;
  v->nprocessing = w->nprocessing;
  v->occupancy = w->occupancy;
  v->status = w->status;
  v->connected_at = w->connected_at;
  v->last_seen = w->last_seen;
  v->executed = w->executed;
  v->pool = w->pool ? w->pool : "";
  v->resources = w->res_text ? w->res_text : "";
}

size_t tide__sched_workers(tide__sched *s, const tide__sw_view **out)
{
  if (s->nworkers > s->capviews) {
    s->capviews = s->nworkers * 2;
    s->views = tide__xrealloc(s->views, s->capviews * sizeof *s->views);
  }
  size_t n = 0;
  for (sworker *w = s->workers; w; w = w->hh.next)
    fill_view(w, &s->views[n++]);
  *out = s->views;
  return n;
}

void tide__sched_task_counts(const tide__sched *s, uint64_t counts[TIDE_TS__COUNT])
{
  memcpy(counts, s->counts, sizeof s->counts);
}

void tide__sched_counters_get(const tide__sched *s, tide__sched_counters *out)
{
  *out = s->counters;
  tide__sched_live_frames(s, &out->worker_frames_sent, &out->worker_frames_received);
}

json_t *tide__sched_prefixes_json(const tide__sched *s)
{
  json_t *o = json_object();
  for (const sprefix *p = s->prefixes; p; p = p->hh.next) {
    json_t *st = json_object();
    for (int i = 0; i < TIDE_TS__COUNT; i++)
      if (p->nstates[i])
        json_object_set_new(st, tide__tstate_name(i), json_integer(p->nstates[i]));
    json_object_set_new(o, p->name,
                        json_pack("{s:o, s:I, s:o}", "duration_average",
                                  p->avg >= 0 ? json_real(p->avg) : json_null(), "count",
                                  (json_int_t)p->count, "states", st));
  }
  return o;
}

static const char *task_worker(const stask *t)
{
  if (t->state == TIDE_TS_PROCESSING && t->proc)
    return t->proc->name;
  if (t->state == TIDE_TS_MEMORY && t->nholders)
    return t->holders[0].w->name;
  if (t->state == TIDE_TS_ERRED && t->err)
    return t->err->worker;
  return NULL;
}

static json_t *task_json(const stask *t)
{
  bool ran = t->state == TIDE_TS_MEMORY || (t->state == TIDE_TS_ERRED && t->err && t->err->worker);
  const char *w = task_worker(t);
  json_t *args = NULL;
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  if (t->args && msgpack_unpack_next(&u, t->args, t->args_len, &off) == MSGPACK_UNPACK_SUCCESS)
    args = tide__value_to_json(&u.data);
  msgpack_unpacked_destroy(&u);
  return json_pack("{s:s, s:s, s:o, s:o, s:o, s:i, s:o}", "key", t->key, "state",
                   tide__tstate_name(t->state), "worker", w ? json_string(w) : json_null(),
                   "duration", ran ? json_real(t->duration) : json_null(), "error",
                   t->err && t->err->msg ? json_string(t->err->msg) : json_null(), "retries",
                   (int)t->retries, "args", args ? args : json_array());
}

json_t *tide__sched_prefix_tasks_json(const tide__sched *s, const char *prefix)
{
  json_t *a = json_array();
  sprefix *p;
  HASH_FIND_STR(s->prefixes, prefix, p);
  if (!p)
    return a;
  for (const stask *t = s->tasks; t; t = t->hh.next)
    if (t->pfx == p)
      json_array_append_new(a, task_json(t));
  return a;
}

void tide__stream_add(tide__sched *s, stask *t, sworker *w, int thread, double start, double stop)
{
  sstream *e = &s->stream[s->nstream % TIDE__STREAM_RING];
  free(e->key);
  e->key = tide__xstrdup(t->key);
  e->pfx = t->pfx;
  e->worker = tide__sched_intern(s, w->address, strlen(w->address));
  e->thread = thread;
  e->start = start;
  e->stop = stop;
  s->nstream++;
}

void tide__stream_free(tide__sched *s)
{
  for (size_t i = 0; i < TIDE__STREAM_RING; i++) {
    free(s->stream[i].key);
    s->stream[i].key = NULL;
  }
}

json_t *tide__sched_task_stream_json(const tide__sched *s, double since)
{
  json_t *a = json_array();
  uint64_t first = s->nstream > TIDE__STREAM_RING ? s->nstream - TIDE__STREAM_RING : 0;
  for (uint64_t i = first; i < s->nstream; i++) {
    const sstream *e = &s->stream[i % TIDE__STREAM_RING];
    if (e->stop <= since)
      continue;
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:f, s:f}", "key", e->key, "prefix",
                                       e->pfx->name, "worker", e->worker, "thread", e->thread,
                                       "start", e->start, "stop", e->stop));
  }
  return a;
}

/* s as a JSON string. ASCII is escaped here; anything else goes through
 * jansson, and false means it is not valid UTF-8 (jansson drops such an
 * entry from the JSON array too). */
static bool tb_jstr(tide__text *b, const char *s)
{
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)s[i] >= 0x80) {
      json_t *j = json_stringn(s, n);
      char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
      json_decref(j);
      if (!t)
        return false;
      tide__text_put(b, t, strlen(t));
      free(t);
      return true;
    }
  }
  char *o = tide__vec_reserve(b, n * 6 + 3);
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
    } else if (c < 0x20) {
      o += sprintf(o, "\\u%04x", c);
    } else {
      *o++ = (char)c;
    }
  }
  *o++ = '"';
  b->n = (size_t)(o - b->v);
  b->v[b->n] = 0;
  return true;
}

/* Seconds with 6 decimals by integer formatting (printf's %g of an epoch
 * time goes through multi-precision arithmetic). */
static bool tb_secs(tide__text *b, double x)
{
  if (!isfinite(x))
    return false;
  const char *sign = x < 0 ? "-" : "";
  x = fabs(x);
  double ip = floor(x);
  long long sec = (long long)ip, us = llround((x - ip) * 1e6);
  if (us >= 1000000) {
    sec++;
    us -= 1000000;
  }
  b->n += (size_t)sprintf(tide__vec_reserve(b, 48), "%s%lld.%06lld", sign, sec, us);
  return true;
}

char *tide__sched_task_stream_text(const tide__sched *s, double since, size_t *len)
{
  tide__text b = {0};
  tide__text_put(&b, "[", 1);
  uint64_t first = s->nstream > TIDE__STREAM_RING ? s->nstream - TIDE__STREAM_RING : 0;
  for (uint64_t i = first; i < s->nstream; i++) {
    const sstream *e = &s->stream[i % TIDE__STREAM_RING];
    if (e->stop <= since)
      continue;
    size_t mark = b.n;
    if (b.n > 1)
      tide__text_put(&b, ",", 1);
    bool ok = true;
    tide__text_put(&b, "{\"key\":", 7);
    ok = ok && tb_jstr(&b, e->key);
    tide__text_put(&b, ",\"prefix\":", 10);
    ok = ok && tb_jstr(&b, e->pfx->name);
    tide__text_put(&b, ",\"worker\":", 10);
    ok = ok && tb_jstr(&b, e->worker);
    b.n += (size_t)sprintf(tide__vec_reserve(&b, 40), ",\"thread\":%d,\"start\":", e->thread);
    ok = ok && tb_secs(&b, e->start);
    tide__text_put(&b, ",\"stop\":", 8);
    ok = ok && tb_secs(&b, e->stop);
    tide__text_put(&b, "}", 1);
    if (!ok) { /* as json_pack would: leave the entry out */
      tide__text_truncate(&b, mark);
    }
  }
  tide__text_put(&b, "]", 1);
  *len = b.n;
  return b.v;
}

/* docs/design.md §5 over the live state. */
int tide__sched_adaptive_target(tide__sched *s, double target_duration, tide__target_inputs *in)
{
  tide__target_inputs loc;
  if (!in)
    in = &loc;
  memset(in, 0, sizeof *in);
  in->total_occupancy = s->total_occupancy;
  in->nqueued = s->nqueued;
  in->nprocessing = s->counts[TIDE_TS_PROCESSING];
  in->nworkers = s->nworkers;
  double q = 0;
  size_t k = 0;
  for (stask *t = s->q_head; t && k < 100; t = t->next, k++)
    q += tide__prefix_expected(s, t->pfx);
  if (s->nqueued > 100 && k > 0)
    q *= (double)s->nqueued / 100.0;
  in->queued_occupancy = q;
  /* sums kept as workers change (workers.c), not recomputed per round */
  in->total_nbytes = s->total_nbytes;
  in->total_memory_limit = s->total_memory_limit;
  in->avg_nthreads = s->nworkers ? (double)s->total_nthreads / (double)s->nworkers : 0;
  in->memory_target_fraction = s->cfg.worker.memory_target;
  /* docs/design.md §5: workers_to_close only matters when the target is
   * below the worker count, so only then is it computed (it is O(n log n)). */
  in->nclose = 0;
  int target = tide__policy_adaptive_target(in, target_duration);
  if ((in->cpu > in->memory ? in->cpu : in->memory) >= (int)s->nworkers)
    return target;
  tide__close_opts o = {.target = -1, .n = -1, .memory_ratio = 0, .minimum = -1};
  in->nclose = tide__sched_workers_to_close(s, &o, NULL);
  return tide__policy_adaptive_target(in, target_duration);
}

size_t tide__sched_workers_to_close(tide__sched *s, const tide__close_opts *o, char ***names)
{
  const tide__sw_view *ws;
  size_t n = tide__sched_workers(s, &ws);
  size_t *idx = tide__xcalloc(n + 1, sizeof *idx);
  size_t k = tide__policy_workers_to_close(ws, n, o, idx);
  if (!names) {
    free(idx);
    return k;
  }
  char **out = tide__xcalloc(k + 1, sizeof *out);
  for (size_t i = 0; i < k; i++)
    out[i] = tide__xstrdup(ws[idx[i]].name);
  free(idx);
  *names = out;
  return k;
}

/* ---- worker logs ---- */

typedef struct slogs {
  struct slogs *next;
  tide__sched *s;
  int64_t id;
  json_t *result;
  size_t pending;
  tide__logs_fn cb;
  void *arg;
  uv_timer_t timer;
} slogs;

static void logs_closed(uv_handle_t *h)
{
  slogs *l = h->data;
  json_decref(l->result);
  free(l);
}

static void logs_finish(slogs *l)
{
  tide__sched *s = l->s;
  for (slogs **p = (slogs **)&s->logs; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      break;
    }
  uv_timer_stop(&l->timer);
  json_t *r = l->result;
  l->result = NULL;
  l->cb(s, r, l->arg);
  json_decref(r);
  uv_close((uv_handle_t *)&l->timer, logs_closed);
}

static void logs_timeout(uv_timer_t *t)
{
  logs_finish(t->data);
}

void tide__sched_worker_logs(tide__sched *s, double timeout, tide__logs_fn cb, void *arg)
{
  slogs *l = tide__xcalloc(1, sizeof *l);
  l->s = s;
  l->id = s->next_gather_id++;
  l->result = json_object();
  l->cb = cb;
  l->arg = arg;
  uv_timer_init(s->loop, &l->timer);
  l->timer.data = l;
  l->next = s->logs;
  s->logs = l;
  for (sworker *w = s->workers; w; w = w->hh.next) {
    msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_GET_LOGS, 1);
    if (!pk)
      continue;
    tide__pk_kint(pk, "id", l->id);
    tide__sched_sent(s, w->conn);
    json_object_set_new(l->result, w->name, json_array());
    l->pending++;
  }
  uint64_t ms = (uint64_t)((timeout > 0 ? timeout : 2.0) * 1000);
  uv_timer_start(&l->timer, logs_timeout, l->pending ? ms : 0, 0);
}

void tide__logs_reply(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  int64_t id;
  if (!tide__mp_int(msg, "id", &id))
    return;
  for (slogs *l = s->logs; l; l = l->next) {
    if (l->id != id)
      continue;
    json_t *arr = json_array();
    const msgpack_object_array *lines = tide__mp_array(msg, "lines");
    for (uint32_t i = 0; lines && i < lines->size; i++)
      if (lines->ptr[i].type == MSGPACK_OBJECT_STR)
        json_array_append_new(arr,
                              json_stringn(lines->ptr[i].via.str.ptr, lines->ptr[i].via.str.size));
    json_object_set_new(l->result, w->name, arr);
    if (l->pending > 0 && --l->pending == 0)
      logs_finish(l);
    return;
  }
}

void tide__logs_destroy(tide__sched *s)
{
  /* Every request gets its answer, as a retirement does (the lines that
   * came so far): an HTTP /api/v1/logs in flight at close would otherwise
   * keep its request, and its caller waiting, forever. */
  while (s->logs)
    logs_finish(s->logs);
}
