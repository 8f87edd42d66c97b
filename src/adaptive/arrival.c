/* Arrival-aware scale-up: startup latency learning and the cap
 * (docs/design.md §7 "Arrival-aware requests"). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "adaptive/arrival.h"
#include "common/util.h"

/* ---- startup latency */

double tide__startup_step(double prev, unsigned long nprev, double sample)
{
  if (nprev == 0)
    return sample;
  return TIDE__STARTUP_WEIGHT * sample + (1 - TIDE__STARTUP_WEIGHT) * prev;
}

typedef struct startup_entry {
  char *key;
  double seconds, last;
  unsigned long samples;
  UT_hash_handle hh;
} startup_entry;

struct tide__startup {
  startup_entry *map;
};

tide__startup *tide__startup_create(void)
{
  return tide__xcalloc(1, sizeof(tide__startup));
}

void tide__startup_destroy(tide__startup *t)
{
  if (!t)
    return;
  startup_entry *e, *tmp;
  HASH_ITER (hh, t->map, e, tmp) {
    HASH_DEL(t->map, e);
    free(e->key);
    free(e);
  }
  free(t);
}

void tide__startup_observe(tide__startup *t, const char *key, double seconds)
{
  if (!t || !key || !(seconds >= 0) || !isfinite(seconds))
    return;
  startup_entry *e = NULL;
  HASH_FIND_STR(t->map, key, e);
  if (!e) {
    e = tide__xcalloc(1, sizeof *e);
    e->key = tide__xstrdup(key);
    HASH_ADD_KEYPTR(hh, t->map, e->key, strlen(e->key), e);
  }
  e->seconds = tide__startup_step(e->seconds, e->samples, seconds);
  e->last = seconds;
  e->samples++;
}

bool tide__startup_get(const tide__startup *t, const char *key, double *seconds,
                       unsigned long *samples)
{
  startup_entry *e = NULL;
  if (t && key)
    HASH_FIND_STR(t->map, key, e);
  if (!e)
    return false;
  if (seconds)
    *seconds = e->seconds;
  if (samples)
    *samples = e->samples;
  return true;
}

void tide__startup_each(const tide__startup *t, tide__startup_fn fn, void *arg)
{
  if (!t)
    return;
  for (const startup_entry *e = t->map; e; e = e->hh.next)
    fn(e->key, e->seconds, e->samples, e->last, arg);
}

/* ---- the cap */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* ceil that ignores float noise, as the §5 formula does. */
static double ceil_eps(double x)
{
  return ceil(x - 1e-9);
}

/* Walk the capacity steps (threads present, then one step per pending
 * arrival): the work done by time `until`, and the time the work is done
 * (inf when it is not done by the last step and no thread works). */
static void drain(const tide__arrival_in *in, const double *arrivals, double until, double *done,
                  double *drained)
{
  double rate = in->threads > 0 ? in->threads : 0, t = 0, work = 0;
  double per = in->nthreads > 0 ? in->nthreads : 1;
  *drained = INFINITY;
  *done = -1;
  for (size_t i = 0; i <= in->npending; i++) {
    double next = i < in->npending ? (arrivals[i] > 0 ? arrivals[i] : 0) : INFINITY;
    if (next < t)
      next = t;
    /* this step runs from t to next at rate */
    if (*done < 0 && until <= next)
      *done = work + rate * (until - t);
    if (isinf(*drained) && rate > 0 && work + rate * (next - t) >= in->work)
      *drained = t + (in->work - work) / rate;
    if (*done >= 0 && !isinf(*drained))
      break;
    if (!isinf(next))
      work += rate * (next - t);
    t = next;
    rate += per;
  }
  if (*done < 0)
    *done = work;
}

void tide__arrival_cap(const tide__arrival_in *in, tide__arrival_out *out)
{
  memset(out, 0, sizeof *out);
  out->allowed = INT_MAX;
  out->drain = INFINITY;
  double startup = in->startup > 0 && isfinite(in->startup) ? in->startup : 0;
  if (!(in->work > 0) || !isfinite(in->work) || in->ntasks == 0) {
    /* no estimate of the work: nothing to compare arrivals with */
    out->uncapped = true;
    out->left = in->work > 0 ? in->work : 0;
    return;
  }
  double *arr = tide__xcalloc(in->npending + 1, sizeof *arr);
  for (size_t i = 0; i < in->npending; i++)
    arr[i] = in->pending[i] > 0 ? in->pending[i] : 0;
  qsort(arr, in->npending, sizeof *arr, cmp_double);
  double done = 0;
  drain(in, arr, startup, &done, &out->drain);
  free(arr);
  double left = in->work - done;
  out->left = left > 0 ? left : 0;

  double per = in->nthreads > 0 ? in->nthreads : 1;
  double tasks_left = ceil_eps((double)in->ntasks * out->left / in->work);
  double need = ceil_eps(tasks_left / per);
  int others = in->npresent + (int)in->npending;
  out->tasks = tasks_left > 1e9 ? 1000000000 : (int)tasks_left;
  out->need = need > 1e6 ? 1000000 : (int)need;
  long allowed = (long)out->need - others;
  out->allowed = allowed > 0 ? (int)allowed : 0;
}

void tide__arrival_explain(int asked, int capped, const tide__arrival_in *in,
                           const tide__arrival_out *out, char *buf, size_t len)
{
  char dr[32];
  if (isinf(out->drain))
    snprintf(dr, sizeof dr, "never drains without them");
  else
    snprintf(dr, sizeof dr, "drains in %.2f s", out->drain);
  snprintf(buf, len,
           "asked %d, capped to %d: queue %s, workers arrive in %.2f s "
           "(then %.2f s of work in %d task(s) left for %d worker(s): %d present, %zu pending)",
           asked, capped, dr, in->startup, out->left, out->tasks, out->need, in->npresent,
           in->npending);
}
