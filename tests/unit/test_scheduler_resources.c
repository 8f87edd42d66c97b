/* Unit tests of task and worker resources (docs/tasks.md "Resources"): the
 * text and wire forms, placement only where a task's resources are free,
 * held while it runs and released when it finishes or its worker leaves,
 * tasks without resources kept off resource workers while plain ones have
 * room, the refusal of a set nobody provides, and the queued demand by set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

static void run(fixture *f, const char *key)
{
  tide__task_want(f->s, T(f, key), 1);
  tide__task_activate(f->s, T(f, key));
}

static sworker *res_worker(fixture *f, int id, int nthreads, const char *res)
{
  sworker *w = fx_worker(f, id, nthreads, 0);
  tide__res r;
  assert_int_equal(tide__res_parse(res, &r, NULL), 0);
  tide__sres_worker_set(f->s, w, &r, "big");
  tide__queue_drain(f->s);
  return w;
}

/* A task needing res (text form), not activated. */
static stask *res_task(fixture *f, const char *key, const char *res)
{
  stask *t = fx_task(f, key, "tide.bytes", NULL, NULL);
  tide__res r;
  assert_int_equal(tide__res_parse(res, &r, NULL), 0);
  int i = tide__sres_intern(f->s, &r, NULL);
  assert_true(i >= 1);
  t->resi = (uint8_t)i;
  return t;
}

static void test_parse_and_format(void **st)
{
  tide__res r;
  tide_error err;
  assert_int_equal(tide__res_parse("MEM=64e9,GPU=1", &r, &err), 0);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.r[0].name, "GPU"); /* sorted */
  assert_true(r.r[1].amount == 64e9);
  char buf[128];
  tide__res_format(&r, buf, sizeof buf);
  assert_string_equal(buf, "GPU=1,MEM=64000000000");
  assert_int_equal(tide__res_parse("MEM=2GiB", &r, &err), 0);
  assert_true(r.r[0].amount == 2147483648.0);
  assert_int_equal(tide__res_parse("", &r, &err), 0);
  assert_int_equal(r.n, 0);
  assert_int_equal(tide__res_parse("GPU=0", &r, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "resource GPU must be a finite number > 0");
  assert_int_equal(tide__res_parse("GPU=1,GPU=2", &r, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "resource GPU is given twice");
  assert_int_equal(tide__res_parse("G PU=1", &r, &err), TIDE_EUSAGE);
  assert_int_equal(tide__res_parse("GPU", &r, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "\"GPU\" is not NAME=AMOUNT");
  assert_int_equal(tide__res_parse("GPU=lots", &r, &err), TIDE_EUSAGE);
  /* fit: 2 of 3 GPUs taken leaves 1 */
  tide__res have, need;
  tide__res_parse("GPU=3,MEM=10", &have, NULL);
  tide__res_parse("GPU=1", &need, NULL);
  double used[TIDE_RES_MAX] = {2, 0};
  assert_true(tide__res_fits(&need, &have, used));
  used[0] = 2.5;
  assert_false(tide__res_fits(&need, &have, used));
  tide__res_parse("TPU=1", &need, NULL);
  assert_false(tide__res_fits(&need, &have, NULL));
}

/* A worker with GPU=2 runs at most two GPU=1 tasks at once, whatever its
 * threads; the third waits, and runs when one finishes. */
static void test_resources_held_while_running(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 8, 0);                     /* plain, 8 threads */
  sworker *g = res_worker(f, 2, 8, "GPU=2"); /* 8 threads, 2 GPUs */
  res_task(f, "g1", "GPU=1");
  res_task(f, "g2", "GPU=1");
  res_task(f, "g3", "GPU=1");
  run(f, "g1");
  run(f, "g2");
  run(f, "g3");
  assert_int_equal(sent_to("g1"), 2);
  assert_int_equal(sent_to("g2"), 2);
  assert_int_equal(sent_to("g3"), 0); /* never on the plain worker */
  assert_int_equal(g->nprocessing, 2);
  assert_true(g->res_used[0] == 2);
  assert_int_equal(tstate(f, "g3"), TIDE_TS_QUEUED);
  fx_finish(f, "g1", 1, 0.01);
  assert_int_equal(sent_to("g3"), 2);
  assert_true(g->res_used[0] == 2);
  fx_finish(f, "g2", 1, 0.01);
  fx_finish(f, "g3", 1, 0.01);
  assert_true(g->res_used[0] == 0);
  fx_free(f);
}

/* Tasks without resources go to the plain worker while it has room (its
 * limit: ceil(1.1 * 2) = 3), and only then to the GPU worker's idle
 * threads. */
static void test_plain_tasks_keep_off_resource_workers(void **st)
{
  fixture *f = fx_new(NULL);
  res_worker(f, 2, 2, "GPU=1"); /* joined first: first in the room list */
  fx_worker(f, 1, 2, 0);
  char key[16];
  for (int i = 0; i < 4; i++) {
    snprintf(key, sizeof key, "p%d", i);
    fx_task(f, key, "tide.bytes", NULL, NULL);
    run(f, key);
  }
  assert_int_equal(sent_to("p0"), 1);
  assert_int_equal(sent_to("p1"), 1);
  assert_int_equal(sent_to("p2"), 1);
  assert_int_equal(sent_to("p3"), 2); /* the plain worker is full */
  /* the GPU worker's second thread is idle: p4 takes it; p5 waits rather
   * than queue there behind a GPU task */
  fx_task(f, "p4", "tide.bytes", NULL, NULL);
  run(f, "p4");
  assert_int_equal(sent_to("p4"), 2);
  fx_task(f, "p5", "tide.bytes", NULL, NULL);
  run(f, "p5");
  assert_int_equal(sent_to("p5"), 0);
  assert_int_equal(tstate(f, "p5"), TIDE_TS_QUEUED);
  fx_finish(f, "p4", 1, 0.01);
  /* p4 done: p5 took the idle thread; the GPU task still fits on the GPU
   * worker (2 of its 3 slots taken) */
  assert_int_equal(sent_to("p5"), 2);
  res_task(f, "g", "GPU=1");
  run(f, "g");
  assert_int_equal(sent_to("g"), 2);
  fx_free(f);
}

/* A worker that leaves gives back what its tasks held: they run again on
 * the next worker with the resources. */
static void test_worker_leaving_releases(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *a = res_worker(f, 1, 1, "BIG=1");
  res_task(f, "b1", "BIG=1");
  run(f, "b1");
  assert_int_equal(sent_to("b1"), 1);
  tide__sw_remove(f->s, a, false, "test");
  assert_int_equal(tstate(f, "b1"), TIDE_TS_NO_WORKER);
  sworker *b = res_worker(f, 2, 1, "BIG=1");
  assert_int_equal(sent_to("b1"), 2);
  assert_true(b->res_used[0] == 1);
  assert_int_equal(f->s->nres_workers, 1);
  fx_free(f);
}

static void test_refused_when_nobody_provides(void **st)
{
  fixture *f = fx_new(NULL);
  res_worker(f, 1, 1, "GPU=1");
  tide__res r;
  tide_error err;
  tide__res_parse("GPU=2", &r, NULL);
  assert_int_equal(tide__sres_intern(f->s, &r, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "needs resources GPU=2, which no connected worker provides");
  /* with pools, the pools decide, not who is connected */
  tide__res pools[2];
  tide__res_parse("", &pools[0], NULL);
  tide__res_parse("GPU=4", &pools[1], NULL);
  tide__sched_set_pools(f->s, pools, 2);
  assert_int_equal(tide__sres_intern(f->s, &r, &err), 1);
  tide__res_parse("TPU=1", &r, NULL);
  assert_int_equal(tide__sres_intern(f->s, &r, &err), TIDE_EUSAGE);
  assert_string_equal(err.text, "needs resources TPU=1, which no pool of the cluster provides");
  fx_free(f);
}

/* Queued work by set: 3 plain tasks and 2 BIG ones without workers. */
static void test_demand_by_set(void **st)
{
  fixture *f = fx_new(NULL);
  tide__res pools[1];
  tide__res_parse("BIG=1", &pools[0], NULL);
  tide__sched_set_pools(f->s, pools, 1);
  char key[16];
  for (int i = 0; i < 3; i++) {
    snprintf(key, sizeof key, "p%d", i);
    fx_task(f, key, "tide.bytes", NULL, NULL);
    run(f, key);
  }
  res_task(f, "b0", "BIG=1");
  res_task(f, "b1", "BIG=1");
  run(f, "b0");
  run(f, "b1");
  tide__demand *d;
  size_t n = tide__sched_demand(f->s, &d);
  assert_int_equal(n, 2);
  assert_int_equal(d[0].res.n, 0);
  assert_int_equal(d[0].nqueued, 3);
  assert_true(d[0].queued_occupancy > 1.49 && d[0].queued_occupancy < 1.51); /* 3 x 0.5 s */
  assert_int_equal(d[1].nqueued, 2);
  assert_string_equal(d[1].res.r[0].name, "BIG");
  free(d);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_and_format),
      cmocka_unit_test(test_resources_held_while_running),
      cmocka_unit_test(test_plain_tasks_keep_off_resource_workers),
      cmocka_unit_test(test_worker_leaving_releases),
      cmocka_unit_test(test_refused_when_nobody_provides),
      cmocka_unit_test(test_demand_by_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
