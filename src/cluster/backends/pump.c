/* The start queue shared by the local and command backends (pump.h). */
#include "cluster/backends/pump.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/util.h"
#include "common/vec.h"

typedef struct item {
  tide__pump_fn run, drop;
  void *arg;
} item;

struct tide__pump {
  uv_idle_t idle;
  const char *name;
  TIDE__VEC(item) q;
  size_t head;
  size_t nrun;        /* items run since the queue was last empty */
  uint64_t queued_at; /* uv_hrtime() when it stopped being empty */
};

static void pump_cb(uv_idle_t *h)
{
  tide__pump *p = h->data;
  uint64_t t0 = uv_hrtime();
  int n = 0;
  /* run() may push more: index, never hold a pointer into the vector */
  while (p->head < p->q.n && n < TIDE__PUMP_BATCH &&
         uv_hrtime() - t0 < (uint64_t)TIDE__PUMP_BUDGET_MS * 1000000) {
    item it = p->q.v[p->head++];
    it.run(it.arg);
    n++;
    p->nrun++;
  }
  if (p->head == p->q.n) {
    tide__log(TIDE_LOG_INFO, "backend", "started %zu %s in %.2fs", p->nrun, p->name,
              (double)(uv_hrtime() - p->queued_at) / 1e9);
    p->q.n = p->head = p->nrun = 0;
    uv_idle_stop(h);
  }
}

tide__pump *tide__pump_create(uv_loop_t *loop, const char *name)
{
  tide__pump *p = tide__xcalloc(1, sizeof *p);
  uv_idle_init(loop, &p->idle);
  p->idle.data = p;
  p->name = name;
  return p;
}

void tide__pump_push(tide__pump *p, tide__pump_fn run, tide__pump_fn drop, void *arg)
{
  if (p->head == p->q.n) {
    p->queued_at = uv_hrtime();
    uv_idle_start(&p->idle, pump_cb);
  }
  tide__vec_push(&p->q, ((item){run, drop, arg}));
}

size_t tide__pump_pending(const tide__pump *p)
{
  return p->q.n - p->head;
}

static void pump_closed(uv_handle_t *h)
{
  tide__pump *p = h->data;
  free(p->q.v);
  free(p);
}

void tide__pump_destroy(tide__pump *p)
{
  if (!p)
    return;
  for (size_t i = p->head; i < p->q.n; i++)
    if (p->q.v[i].drop)
      p->q.v[i].drop(p->q.v[i].arg);
  p->q.n = p->head = 0;
  uv_idle_stop(&p->idle);
  uv_close((uv_handle_t *)&p->idle, pump_closed);
}
