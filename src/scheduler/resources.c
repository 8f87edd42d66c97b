/* Task and worker resources in the scheduler (docs/tasks.md "Resources"):
 * the distinct resource sets tasks ask for, interned so that a task keeps
 * one byte; what each worker advertises and how much of it its processing
 * tasks hold; the check at submission that someone provides a set; and
 * the queued demand by set that adaptive pools size themselves on. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "scheduler/internal.h"

/* A task's set is one byte: 255 distinct sets at most. */
enum { RES_SETS_MAX = 255 };

const tide__res *tide__sres_of(const tide__sched *s, const stask *t)
{
  return t->resi ? s->res_sets.v[t->resi - 1] : NULL;
}

static bool same(const tide__res *a, const tide__res *b)
{
  if (a->n != b->n)
    return false;
  for (int i = 0; i < a->n; i++)
    if (strcmp(a->r[i].name, b->r[i].name) || a->r[i].amount != b->r[i].amount)
      return false;
  return true;
}

/* Does any pool of the cluster or any connected worker provide res whole?
 * A worker's resources are its total, not what is free now. */
static bool provided(const tide__sched *s, const tide__res *res)
{
  for (size_t i = 0; i < s->pool_res.n; i++)
    if (tide__res_fits(res, &s->pool_res.v[i], NULL))
      return true;
  for (const sworker *w = s->workers; w; w = w->hh.next)
    if (!w->removed && tide__res_fits(res, w->res, NULL))
      return true;
  return false;
}

int tide__sres_intern(tide__sched *s, const tide__res *res, tide_error *err)
{
  if (!res || res->n == 0)
    return 0;
  if (!provided(s, res)) {
    char text[TIDE_RES_MAX * (TIDE_RES_NAME_MAX + 32)];
    tide__res_format(res, text, sizeof text);
    return tide_errprintf(err, TIDE_EUSAGE, "needs resources %s, which no %s provides", text,
                          s->has_pools ? "pool of the cluster" : "connected worker");
  }
  for (size_t i = 0; i < s->res_sets.n; i++)
    if (same(s->res_sets.v[i], res))
      return (int)i + 1;
  if (s->res_sets.n >= RES_SETS_MAX)
    return tide_errprintf(err, TIDE_EUSAGE, "more than %d distinct resource sets", RES_SETS_MAX);
  tide__res *copy = tide__xmalloc(sizeof *copy);
  *copy = *res;
  tide__vec_push(&s->res_sets, copy);
  return (int)s->res_sets.n;
}

bool tide__sres_free(const tide__sched *s, const sworker *w, const stask *t)
{
  const tide__res *need = tide__sres_of(s, t);
  return !need || tide__res_fits(need, w->res, w->res_used);
}

void tide__sres_take(tide__sched *s, sworker *w, const stask *t, int sign)
{
  const tide__res *need = tide__sres_of(s, t);
  if (!need || !w->res)
    return;
  for (int i = 0; i < need->n; i++)
    for (int j = 0; j < w->res->n; j++)
      if (strcmp(w->res->r[j].name, need->r[i].name) == 0) {
        w->res_used[j] += sign * need->r[i].amount;
        if (w->res_used[j] < 1e-9 * w->res->r[j].amount)
          w->res_used[j] = 0;
      }
}

void tide__sres_worker_set(tide__sched *s, sworker *w, const tide__res *res, const char *pool)
{
  free(w->res);
  free(w->res_text);
  free(w->pool);
  w->res = NULL;
  memset(w->res_used, 0, sizeof w->res_used);
  char text[TIDE_RES_MAX * (TIDE_RES_NAME_MAX + 32)] = "";
  if (res && res->n > 0) {
    w->res = tide__xmalloc(sizeof *w->res);
    *w->res = *res;
    tide__res_format(res, text, sizeof text);
    s->nres_workers++;
  }
  w->res_text = tide__xstrdup(text);
  w->pool = tide__xstrdup(pool ? pool : "");
}

void tide__sres_worker_free(tide__sched *s, sworker *w)
{
  if (w->res && s)
    s->nres_workers--;
  free(w->res);
  free(w->res_text);
  free(w->pool);
  w->res = NULL;
  w->res_text = w->pool = NULL;
}

void tide__sres_destroy(tide__sched *s)
{
  for (size_t i = 0; i < s->res_sets.n; i++)
    free(s->res_sets.v[i]);
  tide__vec_free(&s->res_sets);
  tide__vec_free(&s->pool_res);
}

void tide__sched_set_pools(tide__sched *s, const tide__res *res, size_t n)
{
  s->has_pools = n > 0;
  s->pool_res.n = 0;
  for (size_t i = 0; i < n; i++)
    tide__vec_push(&s->pool_res, res[i]);
}

size_t tide__sched_demand(tide__sched *s, tide__demand **out)
{
  /* per set (index 0: no resources), sampled as adaptive_target samples the
   * queue (docs/design.md §5): the restricted queue whole (few in
   * practice), the main queue's first Q_SAMPLE scaled to its length, so a
   * round stays bounded whatever the queue holds */
  enum { Q_SAMPLE = 1000 };
  size_t nsets = s->res_sets.n + 1, nrq = 0;
  tide__demand *d = tide__xcalloc(nsets, sizeof *d);
  tide__demand *q = tide__xcalloc(nsets, sizeof *q);
  for (stask *t = s->rq_head; t; t = t->next, nrq++) {
    d[t->resi].nqueued++;
    d[t->resi].queued_occupancy += tide__prefix_expected(s, t->pfx);
  }
  size_t k = 0;
  for (stask *t = s->q_head; t && k < Q_SAMPLE; t = t->next, k++) {
    q[t->resi].nqueued++;
    q[t->resi].queued_occupancy += tide__prefix_expected(s, t->pfx);
  }
  size_t nq = s->nqueued > nrq ? s->nqueued - nrq : 0;
  double scale = k ? (double)nq / (double)k : 0;
  size_t n = 0;
  for (size_t i = 0; i < nsets; i++) {
    d[i].nqueued += (size_t)((double)q[i].nqueued * scale + 0.5);
    d[i].queued_occupancy += q[i].queued_occupancy * scale;
    if (!d[i].nqueued)
      continue;
    if (i > 0)
      d[i].res = *s->res_sets.v[i - 1];
    else
      memset(&d[i].res, 0, sizeof d[i].res);
    d[n++] = d[i];
  }
  free(q);
  *out = d;
  return n;
}
