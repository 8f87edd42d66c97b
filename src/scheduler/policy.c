/* Pure scheduler policy: the adaptive_target formula (docs/design.md §5) and
 * workers_to_close (docs/design.md §6). No clock, no sockets. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/util.h"
#include "scheduler/policy.h"

const char *tide__wstatus_name(tide__wstatus s)
{
  switch (s) {
  case TIDE_W_RUNNING: return "running";
  case TIDE_W_PAUSED: return "paused";
  case TIDE_W_CLOSING_GRACEFULLY: return "closing_gracefully";
  }
  return "unknown";
}

/* ceil that ignores float noise (0.1*3/0.3 is 1, not 2). */
static double ceil_eps(double x)
{
  return ceil(x - 1e-9);
}

int tide__policy_adaptive_target(tide__target_inputs *in, double target_duration)
{
  if (!(target_duration > 0))
    target_duration = 5.0;
  double cpu = ceil_eps((in->total_occupancy + in->queued_occupancy) / target_duration);
  double slots = (double)(in->nqueued + in->nprocessing);
  if (cpu > slots)
    cpu = slots;
  if (cpu < 0)
    cpu = 0;
  if (in->nworkers > 0 && in->avg_nthreads > 0)
    cpu = ceil_eps(cpu / in->avg_nthreads);
  if (in->nqueued > 0 && in->nworkers == 0 && cpu < 1)
    cpu = 1;
  double lim = in->memory_target_fraction * (double)in->total_memory_limit;
  int memory = 0;
  if ((double)in->total_nbytes > lim && lim > 0)
    memory = 2 * (int)in->nworkers;
  in->cpu = cpu > 1e9 ? 1000000000 : (int)cpu;
  in->memory = memory;
  int target = in->cpu > memory ? in->cpu : memory;
  if (target < (int)in->nworkers) {
    size_t nclose = in->nclose > in->nworkers ? in->nworkers : in->nclose;
    target = (int)(in->nworkers - nclose);
  }
  in->target = target;
  return target;
}

const char *tide__group_by_job(const tide__sw_view *w, void *arg)
{
  (void)arg;
  return w->job && w->job[0] ? w->job : w->address;
}

const char *tide__group_by_host(const tide__sw_view *w, void *arg)
{
  (void)arg;
  return w->host && w->host[0] ? w->host : w->address;
}

typedef struct cgroup {
  const char *key;
  size_t first; /* index into members */
  size_t count;
  int64_t limit;
  int64_t nbytes;
  size_t unlimited; /* members with memory_limit 0 (no limit) */
  size_t order;     /* index of its first worker: ties go in join order */
  bool idle;
} cgroup;

static int cmp_group(const void *a, const void *b)
{
  const cgroup *x = a, *y = b;
  if (x->idle != y->idle)
    return x->idle ? -1 : 1;
  if (x->nbytes != y->nbytes)
    return x->nbytes < y->nbytes ? -1 : 1;
  /* as Dask's stable sort over its workers in the order they joined */
  return x->order < y->order ? -1 : x->order > y->order;
}

/* A group key's index in g[], found by hash so that grouping n workers
 * costs O(n) whatever the number of groups. */
typedef struct gindex {
  UT_hash_handle hh;
  size_t j;
} gindex;

/* Group the eligible workers: members[] lists worker indexes group by group. */
static size_t build_groups(const tide__sw_view *ws, size_t n, const tide__close_opts *o, cgroup *g,
                           size_t *members, size_t *gidx)
{
  size_t ng = 0;
  gindex *slots = tide__xcalloc(n, sizeof *slots), *index = NULL;
  for (size_t i = 0; i < n; i++) {
    gidx[i] = (size_t)-1;
    if (ws[i].status == TIDE_W_CLOSING_GRACEFULLY)
      continue;
    const char *k = o && o->key ? o->key(&ws[i], o->key_arg) : ws[i].address;
    if (!k)
      k = ws[i].address ? ws[i].address : "";
    size_t klen = strlen(k), j;
    gindex *e = NULL;
    /* without a key every worker is a group of its own (addresses are
     * unique): no lookup needed */
    if (o && o->key)
      HASH_FIND(hh, index, k, klen, e);
    if (e) {
      j = e->j;
    } else if (!(o && o->key)) {
      j = ng++;
      g[j] = (cgroup){.key = k, .order = i, .idle = true};
    } else {
      j = ng++;
      g[j] = (cgroup){.key = k, .order = i, .idle = true};
      slots[j].j = j;
      HASH_ADD_KEYPTR(hh, index, k, klen, &slots[j]);
    }
    gidx[i] = j;
    g[j].count++;
    g[j].limit += ws[i].memory_limit;
    if (ws[i].memory_limit <= 0)
      g[j].unlimited++;
    g[j].nbytes += ws[i].nbytes;
    if (ws[i].nprocessing > 0)
      g[j].idle = false;
  }
  HASH_CLEAR(hh, index);
  free(slots);
  size_t off = 0;
  for (size_t j = 0; j < ng; j++) {
    g[j].first = off;
    off += g[j].count;
    g[j].count = 0;
  }
  for (size_t i = 0; i < n; i++)
    if (gidx[i] != (size_t)-1) {
      cgroup *gr = &g[gidx[i]];
      members[gr->first + gr->count++] = i;
    }
  return ng;
}

size_t tide__policy_workers_to_close(const tide__sw_view *ws, size_t n, const tide__close_opts *o,
                                     size_t *out)
{
  if (n == 0)
    return 0;
  cgroup *g = calloc(n, sizeof *g);
  size_t *members = calloc(n, sizeof *members);
  size_t *gidx = calloc(n, sizeof *gidx);
  size_t ng = build_groups(ws, n, o, g, members, gidx);
  size_t neligible = 0;
  for (size_t j = 0; j < ng; j++)
    neligible += g[j].count;

  /* docs/design.md §6: n from the target; memory_ratio 2 by default */
  long target = o ? o->target : -1;
  long want = o ? o->n : -1;
  double ratio = o ? o->memory_ratio : 0;
  long minimum = o ? o->minimum : -1;
  if (target >= 0 && want < 0)
    want = (long)neligible - target;
  if (want >= 0) {
    if (want < 0)
      want = 0;
    target = (long)neligible - want;
  }
  if (want < 0 && !(ratio > 0))
    ratio = 2;
  bool asked_n = want >= 0;

  size_t nout = 0;
  bool all_busy = true;
  for (size_t j = 0; j < ng; j++)
    if (g[j].idle)
      all_busy = false;
  if ((!asked_n || want == 0) && all_busy)
    goto done;

  /* A worker without a memory limit can hold anything: while one remains,
   * the memory rule never stops a close. */
  int64_t limit = 0, total = 0;
  size_t unlimited = 0;
  for (size_t j = 0; j < ng; j++) {
    limit += g[j].limit;
    total += g[j].nbytes;
    unlimited += g[j].unlimited;
  }
  qsort(g, ng, sizeof *g, cmp_group);
  long remain = (long)neligible;
  for (size_t j = 0; j < ng; j++) {
    cgroup *gr = &g[j];
    if (!asked_n && !gr->idle)
      break;
    if (minimum > 0 && remain - (long)gr->count < minimum)
      break;
    limit -= gr->limit;
    unlimited -= gr->unlimited;
    bool by_n = asked_n && remain - (long)gr->count >= (target > 0 ? target : 0);
    bool by_mem = ratio > 0 && (unlimited > 0 || (double)limit >= ratio * (double)total);
    if (!(by_n || by_mem))
      break;
    for (size_t k = 0; k < gr->count; k++)
      out[nout++] = members[gr->first + k];
    remain -= (long)gr->count;
  }
done:
  free(g);
  free(members);
  free(gidx);
  return nout;
}

double tide__policy_heartbeat_interval(size_t nworkers, double base)
{
  if (!(base > 0))
    base = 0.5;
  double dask; /* distributed.scheduler.heartbeat_interval(n) */
  if (nworkers <= 10)
    dask = 0.5;
  else if (nworkers < 50)
    dask = 1;
  else if (nworkers < 200)
    dask = 2;
  else
    dask = (double)nworkers / 200 + 1;
  return base * dask / 0.5;
}

double tide__policy_heartbeat_timeout(double timeout, double base, double interval)
{
  if (!(interval > base))
    return timeout;
  return timeout > 10 * interval ? timeout : 10 * interval;
}

int tide__policy_saturation_depth(double saturation, int nthreads, double duration,
                                  double out_bytes, double round_trip)
{
  if (!isfinite(saturation) || saturation <= 0)
    return INT_MAX;
  double n = nthreads > 0 ? nthreads : 1;
  double base = ceil(saturation * n - 1e-9);
  if (base < 1)
    base = 1;
  if (base >= INT_MAX)
    return INT_MAX;
  /* unknown output size or duration, or results too large: the plain ratio,
   * so root tasks of large outputs are never produced ahead of need */
  if (!(round_trip > 0) || !(duration >= 0) || !(out_bytes >= 0) ||
      out_bytes > TIDE__SATURATION_SMALL_OUTPUT)
    return (int)base;
  double per = duration > 0 ? ceil(round_trip / duration - 1e-9) : TIDE__SATURATION_DEPTH_MAX;
  if (per > TIDE__SATURATION_DEPTH_MAX)
    per = TIDE__SATURATION_DEPTH_MAX;
  double deep = per * n;
  return deep > base ? (deep >= INT_MAX ? INT_MAX : (int)deep) : (int)base;
}
