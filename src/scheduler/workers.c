/* Workers: add and remove, who holds what, heartbeats and death detection,
 * rescheduling of a dead worker's tasks and recompute of lost results. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "scheduler/internal.h"

sworker *tide__sw_find(tide__sched *s, const char *name_or_address)
{
  sworker *w;
  size_t len = strlen(name_or_address);
  HASH_FIND(hh, s->workers, name_or_address, len, w);
  if (!w)
    HASH_FIND(hh_name, s->workers_by_name, name_or_address, len, w);
  return w;
}

/* The one place a worker's byte count changes: keeps the scheduler's sum
 * (docs/design.md §5 memory term) current. A removed worker no longer counts. */
static void sw_set_nbytes(tide__sched *s, sworker *w, int64_t nbytes)
{
  if (!w->removed) {
    s->total_nbytes += nbytes - w->nbytes;
    if (w->status == TIDE_W_RUNNING)
      s->least_valid = false;
  }
  w->nbytes = nbytes;
  if (nbytes > w->nbytes_peak)
    w->nbytes_peak = nbytes;
}

void tide__holder_add(tide__sched *s, stask *t, sworker *w)
{
  if (t->nholders == t->capholders) {
    if (t->capholders >= 255)
      return; /* plenty of replicas already */
    t->capholders =
        t->capholders ? (uint8_t)(t->capholders * 2 > 255 ? 255 : t->capholders * 2) : 1;
    t->holders = tide__xrealloc(t->holders, t->capholders * sizeof *t->holders);
  }
  if (w->nhas == w->caphas) {
    w->caphas = w->caphas ? w->caphas * 2 : 64;
    w->has = tide__xrealloc(w->has, w->caphas * sizeof *w->has);
  }
  t->holders[t->nholders++] = (tholder){w, w->nhas};
  w->has[w->nhas++] = t;
  sw_set_nbytes(s, w, w->nbytes + t->nbytes);
}

void tide__holder_remove(tide__sched *s, stask *t, sworker *w)
{
  uint32_t j;
  for (j = 0; j < t->nholders; j++)
    if (t->holders[j].w == w)
      break;
  if (j == t->nholders)
    return;
  uint32_t idx = t->holders[j].idx;
  stask *last = w->has[--w->nhas];
  if (idx != w->nhas) {
    w->has[idx] = last;
    for (uint32_t k = 0; k < last->nholders; k++)
      if (last->holders[k].w == w)
        last->holders[k].idx = idx;
  }
  t->holders[j] = t->holders[--t->nholders];
  int64_t left = w->nbytes - t->nbytes;
  sw_set_nbytes(s, w, left < 0 ? 0 : left);
}

void tide__send_free_keys(tide__sched *s, sworker *w, stask *t)
{
  if (!w || w->removed)
    return;
  msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_FREE_KEYS, 1);
  if (!pk)
    return;
  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, 1);
  tide__pk_str(pk, t->key);
  /* Dropping a stored result waits for the connection's next frame (2 ms
   * at most): nothing waits on it, and a client releasing keys one at a
   * time would otherwise cost each worker a frame per key. Cancelling a
   * queued or running task goes out this loop turn (docs/protocol.md
   * "Batching"). */
  if (t->state == TIDE_TS_MEMORY)
    tide__sched_sent_deferred(s, w->conn);
  else
    tide__sched_sent(s, w->conn);
}

static void running_changed(tide__sched *s, size_t before)
{
  if ((before == 0) != (s->nrunning == 0))
    tide__queue_relabel(s);
}

void tide__sw_set_status(tide__sched *s, sworker *w, tide__wstatus st)
{
  if (w->status == st || w->removed)
    return;
  size_t before = s->nrunning;
  if (w->status == TIDE_W_RUNNING)
    s->nrunning--;
  if (st == TIDE_W_RUNNING)
    s->nrunning++;
  w->status = st;
  s->least_valid = false;
  tide__room_update(s, w);
  running_changed(s, before);
  if (st == TIDE_W_RUNNING)
    tide__queue_drain(s);
}

sworker *tide__sw_add(tide__sched *s, void *conn, const char *name, const char *address,
                      const char *host, const char *job, int nthreads, int64_t memory_limit,
                      char **functions, size_t nfunctions, tide_error *err)
{
  sworker *w;
  HASH_FIND(hh_name, s->workers_by_name, name, strlen(name), w);
  if (w) {
    tide_errprintf(err, TIDE_EUSAGE, "a worker named \"%s\" is already connected", name);
    return NULL;
  }
  HASH_FIND(hh, s->workers, address, strlen(address), w);
  if (w) {
    tide_errprintf(err, TIDE_EUSAGE, "a worker with address %s is already connected", address);
    return NULL;
  }
  w = tide__xcalloc(1, sizeof *w);
  w->conn = conn;
  w->name = tide__xstrdup(name);
  w->address = tide__xstrdup(address);
  w->host = tide__xstrdup(host ? host : "");
  w->job = tide__xstrdup(job ? job : "");
  w->nthreads = nthreads > 0 ? nthreads : 1;
  w->limit = tide__sw_limit(s, w->nthreads);
  w->memory_limit = memory_limit > 0 ? memory_limit : 0;
  w->nfunctions = nfunctions;
  w->ifns = tide__xcalloc(nfunctions + 1, sizeof *w->ifns);
  for (size_t i = 0; i < nfunctions; i++)
    w->ifns[i] = tide__sched_intern(s, functions[i], strlen(functions[i]));
  w->connected_at = w->last_seen = tide__wall();
  w->status = TIDE_W_RUNNING;
  for (size_t i = 0; i < nfunctions; i++) {
    struct sfunc *f;
    size_t len = strlen(functions[i]);
    HASH_FIND(hh, s->functions, functions[i], len, f);
    if (!f) {
      f = tide__xcalloc(1, sizeof *f + len + 1);
      memcpy(f->name, functions[i], len);
      HASH_ADD_KEYPTR(hh, s->functions, f->name, len, f);
    }
    f->n++;
  }
  /* the interned names are all a worker keeps: every worker sends the same
   * list, and 10,000 copies of it were a tenth of the scheduler's memory */
  for (size_t i = 0; i < nfunctions; i++)
    free(functions[i]);
  free(functions);
  HASH_ADD_KEYPTR(hh, s->workers, w->address, strlen(w->address), w);
  HASH_ADD_KEYPTR(hh_name, s->workers_by_name, w->name, strlen(w->name), w);
  s->nworkers++;
  s->total_nthreads += w->nthreads;
  s->total_memory_limit += w->memory_limit;
  s->least_valid = false;
  size_t before = s->nrunning++;
  tide__room_update(s, w);
  running_changed(s, before);
  tide__info("sched", "worker %s (%s) joined: %d threads", w->name, w->address, w->nthreads);
  tide__queue_drain(s);
  tide__sched_emit(s, TIDE_SEV_WORKER_ADDED, w->name, false);
  return w;
}

void tide__sw_keys_held(tide__sched *s, sworker *w, const msgpack_object_map *keys,
                        bool transferred)
{
  for (uint32_t i = 0; keys && i < keys->size; i++) {
    const msgpack_object *k = &keys->ptr[i].key, *v = &keys->ptr[i].val;
    if (k->type != MSGPACK_OBJECT_STR)
      continue;
    stask *t = tide__task_find(s, k->via.str.ptr, k->via.str.size);
    if (!t || t->state != TIDE_TS_MEMORY) { /* of no use here: the worker drops it */
      msgpack_packer *pk = tide__sched_send(s, w->conn, TIDE_OP_FREE_KEYS, 1);
      if (pk) {
        tide__pk_str(pk, "keys");
        msgpack_pack_array(pk, 1);
        tide__pk_strn(pk, k->via.str.ptr, k->via.str.size);
        tide__sched_sent_deferred(s, w->conn); /* a result: as tide__send_free_keys */
      }
      continue;
    }
    bool held = false;
    for (uint32_t j = 0; j < t->nholders; j++)
      held |= t->holders[j].w == w;
    if (!held) {
      if (transferred && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        s->counters.bytes_transferred += v->via.u64;
      tide__holder_add(s, t, w);
    }
  }
}

void tide__sw_free(sworker *w)
{
  free(w->ifns);
  free(w->has);
  free(w->name);
  free(w->address);
  free(w->host);
  free(w->job);
  tide__sres_worker_free(NULL, w);
  free(w);
}

void tide__sw_remove(tide__sched *s, sworker *w, bool expected, const char *reason)
{
  if (w->removed)
    return;
  size_t before = s->nrunning;
  if (w->status == TIDE_W_RUNNING)
    s->nrunning--;
  w->removed = true;
  tide__sres_worker_free(s, w);
  s->total_nthreads -= w->nthreads;
  s->total_memory_limit -= w->memory_limit;
  s->total_nbytes -= w->nbytes;
  if (s->least_cache == w || w->status == TIDE_W_RUNNING)
    s->least_valid = false;
  tide__room_update(s, w);
  HASH_DELETE(hh, s->workers, w);
  HASH_DELETE(hh_name, s->workers_by_name, w);
  s->nworkers--;
  for (size_t i = 0; i < w->nfunctions; i++) {
    struct sfunc *f;
    HASH_FIND(hh, s->functions, w->ifns[i], strlen(w->ifns[i]), f);
    if (f && --f->n == 0) {
      HASH_DELETE(hh, s->functions, f);
      free(f);
    }
  }
  if (w->link)
    w->link->obj = NULL;
  if (w->conn && s->tx->close && !s->closing)
    s->tx->close(w->conn, reason);
  if (expected)
    tide__info("sched", "worker %s (%s) removed: %s", w->name, w->address, reason ? reason : "");
  else if (w->nprocessing > 0)
    tide__warn("sched", "worker %s (%s) lost: %s; the %d task(s) it was running go elsewhere",
               w->name, w->address, reason ? reason : "", w->nprocessing);
  else
    tide__warn("sched", "worker %s (%s) lost: %s", w->name, w->address, reason ? reason : "");

  /* 1. take its processing tasks back */
  size_t nproc = (size_t)w->nprocessing, np = 0;
  stask **procs = tide__xmalloc((nproc + 1) * sizeof *procs);
  while (w->proc_head) {
    stask *t = w->proc_head;
    tide__proc_remove(s, t);
    procs[np++] = t;
  }
  /* 2. results only it held are lost: recompute the needed ones */
  char **lost = tide__xmalloc((w->nhas + 1) * sizeof *lost);
  size_t nlost = 0;
  while (w->nhas) {
    stask *t = w->has[w->nhas - 1];
    tide__holder_remove(s, t, w);
    if (t->nholders == 0 && t->state == TIDE_TS_MEMORY)
      lost[nlost++] = tide__xstrdup(t->key);
  }
  for (size_t i = 0; i < nlost; i++) {
    stask *t = tide__task_find(s, lost[i], strlen(lost[i]));
    if (t)
      tide__task_lost(s, t);
    free(lost[i]);
  }
  free(lost);
  /* 3. reschedule what it was running, or err after allowed-failures */
  int allowed = s->cfg.scheduler.allowed_failures;
  for (size_t i = 0; i < np; i++) {
    stask *t = procs[i];
    if (!expected && t->failures < 255)
      t->failures++;
    if (!expected && t->failures >= allowed) {
      char msg[512];
      snprintf(msg, sizeof msg, "its worker died %d time%s while running it (allowed-failures=%d)",
               t->failures, t->failures == 1 ? "" : "s", allowed);
      tide__task_err_with(s, t, msg, t->key);
    } else if (t->state == TIDE_TS_PROCESSING) {
      tide__task_rewait(s, t);
    }
  }
  free(procs);
  tide__gather_worker_gone(s, w);
  tide__retire_worker_gone(s, w, expected);
  if (!expected)
    s->counters.workers_removed_unexpected++;
  running_changed(s, before);
  tide__queue_drain(s);
  tide__sched_emit(s, TIDE_SEV_WORKER_REMOVED, w->name, expected);
  tide__sw_free(w);
}

void tide__sw_heartbeat(tide__sched *s, sworker *w, const msgpack_object *msg)
{
  int64_t v;
  if (tide__mp_int(msg, "rss", &v))
    w->rss = v;
  const char *st;
  size_t stlen;
  if (w->status != TIDE_W_CLOSING_GRACEFULLY && tide__mp_str(msg, "status", &st, &stlen)) {
    if (stlen == 6 && memcmp(st, "paused", 6) == 0)
      tide__sw_set_status(s, w, TIDE_W_PAUSED);
    else if (stlen == 7 && memcmp(st, "running", 7) == 0)
      tide__sw_set_status(s, w, TIDE_W_RUNNING);
  }
  const msgpack_object_array *run = tide__mp_array(msg, "running");
  for (uint32_t i = 0; run && i < run->size; i++) {
    const msgpack_object *e = &run->ptr[i];
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 2 ||
        e->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
      continue;
    const msgpack_object *k = &e->via.array.ptr[0], *el = &e->via.array.ptr[1];
    double elapsed;
    if (el->type == MSGPACK_OBJECT_FLOAT32 || el->type == MSGPACK_OBJECT_FLOAT64)
      elapsed = el->via.f64;
    else if (el->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      elapsed = (double)el->via.u64;
    else
      continue;
    stask *t = tide__task_find(s, k->via.str.ptr, k->via.str.size);
    if (!t || t->proc != w)
      continue;
    tide__prefix_running(t->pfx, elapsed);
    /* keep the occupancy of a long runner current (docs/design.md §4) */
    double e2 = tide__prefix_expected(s, t->pfx);
    if (e2 > t->occ) {
      w->occupancy += e2 - t->occ;
      s->total_occupancy += e2 - t->occ;
      t->occ = (float)e2;
    }
  }
}

void tide__sw_missing_data(tide__sched *s, sworker *w, const char *key, size_t klen,
                           const char *dep, size_t dlen, const char *addr, size_t alen)
{
  stask *d = tide__task_find(s, dep, dlen);
  if (d) {
    char a[256];
    snprintf(a, sizeof a, "%.*s", (int)alen, addr);
    sworker *h = tide__sw_find(s, a);
    if (h) {
      bool held = false;
      for (uint32_t i = 0; i < d->nholders; i++)
        held |= d->holders[i].w == h;
      if (held) { /* believed lost there: make sure it is, and forget it */
        tide__send_free_keys(s, h, d);
        tide__holder_remove(s, d, h);
      }
    }
    if (d->nholders == 0 && d->state == TIDE_TS_MEMORY)
      tide__task_lost(s, d); /* recompute; rewaits the dependents */
  }
  stask *t = tide__task_find(s, key, klen);
  if (!t || t->state != TIDE_TS_PROCESSING || t->proc != w)
    return;
  for (size_t i = 0; i < s->nresends; i++)
    if (strcmp(s->resends[i].key, t->key) == 0)
      return; /* a resend is already on its way */
  /* A dep that the scheduler believes held but the worker cannot get would
   * otherwise bounce between the two forever: give up after a few tries. */
  if (++t->resends > TIDE_MAX_RESENDS) {
    char why[512];
    snprintf(why, sizeof why,
             "cannot be made runnable: dependency \"%.*s\" stayed missing on its worker after "
             "%d attempts",
             (int)(dlen > 300 ? 300 : dlen), dep, TIDE_MAX_RESENDS);
    tide__warn("sched", "task %s: %s", t->key, why);
    tide__task_err_with(s, t, why, t->key);
    tide__queue_drain(s);
    return;
  }
  double delay = tide__resend_delay(t->resends);
  if (delay <= 0) {
    tide__send_compute(s, w, t);
    return;
  }
  if (s->nresends == s->capresends) {
    s->capresends = s->capresends ? s->capresends * 2 : 8;
    s->resends = tide__xrealloc(s->resends, s->capresends * sizeof *s->resends);
  }
  s->resends[s->nresends++] =
      (sresend){tide__xstrdup(t->key), tide__xstrdup(w->address), tide__wall() + delay};
}

double tide__resend_delay(int n)
{
  return n <= 1 ? 0 : 0.25 * (double)(1u << (n - 2 < 10 ? n - 2 : 10));
}

void tide__resends_due(tide__sched *s, double now)
{
  for (size_t i = 0; i < s->nresends;) {
    sresend *r = &s->resends[i];
    if (r->due > now) {
      i++;
      continue;
    }
    stask *t = tide__task_find(s, r->key, strlen(r->key));
    if (t && t->state == TIDE_TS_PROCESSING && t->proc && strcmp(t->proc->address, r->worker) == 0)
      tide__send_compute(s, t->proc, t);
    free(r->key);
    free(r->worker);
    *r = s->resends[--s->nresends]; /* order does not matter */
  }
}

void tide__resends_free(tide__sched *s)
{
  for (size_t i = 0; i < s->nresends; i++) {
    free(s->resends[i].key);
    free(s->resends[i].worker);
  }
  free(s->resends);
  s->resends = NULL;
  s->nresends = s->capresends = 0;
}

void tide__heartbeat_check(tide__sched *s, double now)
{
  double timeout = s->cfg.scheduler.heartbeat_timeout;
  if (!(timeout > 0))
    return;
  sworker *w, *tmp;
  HASH_ITER (hh, s->workers, w, tmp) {
    /* each by the interval it was told: a worker not yet told of a shorter
     * one is not taken for dead */
    double limit =
        tide__policy_heartbeat_timeout(timeout, s->cfg.worker.heartbeat_interval, w->hb_interval);
    if (now - w->last_seen > limit) {
      char why[128];
      snprintf(why, sizeof why, "no heartbeat for %.1fs", now - w->last_seen);
      tide__sw_remove(s, w, false, why);
    }
  }
}
