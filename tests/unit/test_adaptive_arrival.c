/* Unit tests of arrival-aware scale-up (docs/design.md §7 "Arrival-aware
 * requests"): the startup-latency EWMA, the cap on its own, and the cap
 * inside a recommendation (minimum, pending workers, whole jobs). */
#include <setjmp.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adaptive/arrival.h"
#include "adaptive/recommend.h"

static void test_ewma(void **unused)
{
  assert_true(fabs(tide__startup_step(0, 0, 2.0) - 2.0) < 1e-12); /* the first sets it */
  assert_true(fabs(tide__startup_step(2.0, 1, 1.0) - 1.8) < 1e-12);
  assert_true(fabs(tide__startup_step(1.8, 2, 3.0) - 2.04) < 1e-12);

  tide__startup *t = tide__startup_create();
  double s = -1;
  unsigned long n = 0;
  assert_false(tide__startup_get(t, "SLURMCluster", &s, &n));
  tide__startup_observe(t, "SLURMCluster", 2.0);
  tide__startup_observe(t, "SLURMCluster", 1.0);
  tide__startup_observe(t, "local", 0.1);
  /* nonsense is ignored */
  tide__startup_observe(t, "SLURMCluster", -1);
  tide__startup_observe(t, "SLURMCluster", NAN);
  tide__startup_observe(t, "SLURMCluster", INFINITY);
  assert_true(tide__startup_get(t, "SLURMCluster", &s, &n));
  assert_true(fabs(s - 1.8) < 1e-12);
  assert_int_equal(n, 2);
  assert_true(tide__startup_get(t, "local", &s, &n));
  assert_true(fabs(s - 0.1) < 1e-12);
  assert_int_equal(n, 1);
  /* ten samples of 5 s after a first of 1 s: 5 - 4 * 0.8^10 = 4.571 */
  for (int i = 0; i < 10; i++)
    tide__startup_observe(t, "local", 0.1 + 4.9);
  assert_true(tide__startup_get(t, "local", &s, &n));
  assert_true(fabs(s - (5 - 4.9 * pow(0.8, 10))) < 1e-9);
  assert_int_equal(n, 11);
  tide__startup_destroy(t);
}

static tide__arrival_in base(double work, size_t ntasks, int npresent, double threads,
                             double startup)
{
  tide__arrival_in in = {0};
  in.work = work;
  in.ntasks = ntasks;
  in.npresent = npresent;
  in.threads = threads;
  in.nthreads = npresent ? threads / npresent : 1;
  in.startup = startup;
  return in;
}

/* The cap with no pending worker: inputs as base() takes them, then every
 * field of the outcome. */
static const struct cap_case {
  double work;
  size_t ntasks;
  int npresent;
  double threads, startup;
  double drain, left;
  int tasks, need, allowed;
} cap_cases[] = {
    /* 100 tasks x 0.1 s on 2 workers of 4 threads: drained in 1.25 s,
     * before a worker asked now arrives (2 s): none */
    {10, 100, 2, 8, 2, 1.25, 0, 0, 0, 0},
    /* the same on 2 one-thread workers: 6 s left at 2 s, 60 tasks for 60
     * workers: 58 more would each find one */
    {10, 100, 2, 2, 2, 5, 6, 60, 60, 58},
    /* 1000 x 1 s on 2 workers: 996 s left at 2 s: many more */
    {1000, 1000, 2, 2, 2, 500, 996, 996, 996, 994},
    /* few long tasks: one slot per task. 4 x 10 s, 1 present: 38 s left at
     * 2 s is still 4 tasks, so 4 workers, 3 more (not 38) */
    {40, 4, 1, 1, 2, 40, 38, 4, 4, 3},
    /* nobody present or pending: one for a single small task */
    {0.1, 1, 0, 0, 60, INFINITY, 0.1, 1, 1, 1},
};

static void test_cap(void **unused)
{
  tide__arrival_out out;
  tide__arrival_in in;
  for (size_t i = 0; i < sizeof cap_cases / sizeof cap_cases[0]; i++) {
    const struct cap_case *c = &cap_cases[i];
    in = base(c->work, c->ntasks, c->npresent, c->threads, c->startup);
    tide__arrival_cap(&in, &out);
    assert_false(out.uncapped);
    if (isinf(c->drain))
      assert_true(isinf(out.drain));
    else
      assert_true(fabs(out.drain - c->drain) < 1e-9);
    assert_true(fabs(out.left - c->left) < 1e-9);
    assert_int_equal(out.tasks, c->tasks);
    assert_int_equal(out.need, c->need);
    assert_int_equal(out.allowed, c->allowed);
  }

  /* a pending worker of 2 threads due in 0.5 s: 4 s of work in 40 tasks,
   * nobody present; by 2 s it did 3 s, 1 s is left in 10 tasks: 5 workers
   * of 2 threads, 4 besides the pending one; drained at 2.5 s */
  double pend[] = {0.5};
  in = base(4, 40, 0, 0, 2);
  in.nthreads = 2;
  in.pending = pend;
  in.npending = 1;
  tide__arrival_cap(&in, &out);
  assert_true(fabs(out.drain - 2.5) < 1e-9);
  assert_true(fabs(out.left - 1) < 1e-9);
  assert_int_equal(out.tasks, 10);
  assert_int_equal(out.need, 5);
  assert_int_equal(out.allowed, 4);
  /* without it, all 40 tasks are left: 20 workers */
  in.npending = 0;
  tide__arrival_cap(&in, &out);
  assert_true(isinf(out.drain));
  assert_int_equal(out.need, 20);
  assert_int_equal(out.allowed, 20);
  /* and a pending worker that is overdue (0) counts from now: drained at 2 s */
  pend[0] = -3;
  in.npending = 1;
  tide__arrival_cap(&in, &out);
  assert_true(fabs(out.drain - 2) < 1e-9);
  assert_int_equal(out.allowed, 0);

  /* no work estimate: no cap */
  in = base(0, 0, 2, 2, 2);
  tide__arrival_cap(&in, &out);
  assert_true(out.uncapped);
  assert_int_equal(out.allowed, INT_MAX);

  char why[256];
  in = base(10, 100, 2, 8, 2);
  tide__arrival_cap(&in, &out);
  tide__arrival_explain(3, 0, &in, &out, why, sizeof why);
  assert_non_null(strstr(why, "asked 3, capped to 0: queue drains in 1.25 s, workers arrive in "
                              "2.00 s"));
}

static tide__rec_in rec_base(void)
{
  tide__rec_in in = {0};
  in.maximum = INFINITY;
  in.wait_count = 3;
  in.processes = 1;
  in.now = 100;
  return in;
}

static void test_recommend_capped(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  tide__rec_out out;
  /* 2 workers of 4 threads, 10 s of work: the target of 5 is capped to the
   * plan: same, blocked by "arrival", explained */
  tide__arrival_in a = base(10, 100, 2, 8, 2);
  tide__rec_in in = rec_base();
  in.target = 5;
  in.nplan = 2;
  in.arrival = &a;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_string_equal(out.blocked, "arrival");
  assert_true(out.capped);
  assert_int_equal(out.asked, 5);
  assert_non_null(strstr(out.why, "asked 3, capped to 0"));
  tide__rec_out_free(&out);

  /* without the cap: up to 5 */
  in.arrival = NULL;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 5);
  assert_false(out.capped);
  tide__rec_out_free(&out);

  /* the minimum is never capped: 4 */
  in.arrival = &a;
  in.minimum = 4;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 4);
  assert_true(out.capped);
  assert_int_equal(out.asked, 5);
  tide__rec_out_free(&out);

  /* a pending worker asked at 98.5 s arrives at 100.5 s with a 2 s startup:
   * the case of test_cap with a pending worker due in 0.5 s; 20 asked, 4
   * more allowed: plan 1 -> 5 */
  tide__rec_member na[] = {{"w-1", "w-1", 98.5}};
  a = base(4, 40, 0, 0, 2);
  a.nthreads = 2;
  in = rec_base();
  in.target = 20;
  in.nplan = 1;
  in.not_arrived = na;
  in.nnot_arrived = 1;
  in.arrival = &a;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 5);
  assert_int_equal(out.asked, 20);
  assert_int_equal(out.arrival.allowed, 4);
  assert_non_null(strstr(out.why, "asked 19, capped to 4"));
  tide__rec_out_free(&out);

  /* whole jobs: 3 more workers allowed with 4 per job is one job */
  a = base(40, 4, 1, 1, 2);
  in = rec_base();
  in.processes = 4;
  in.target = 40;
  in.nplan = 4;
  in.arrival = &a;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 8);
  assert_int_equal(out.asked, 40);
  tide__rec_out_free(&out);

  /* enough work for everyone: not capped */
  a = base(1000, 1000, 2, 2, 2);
  in = rec_base();
  in.target = 100;
  in.nplan = 2;
  in.arrival = &a;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 100);
  assert_false(out.capped);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ewma),
      cmocka_unit_test(test_cap),
      cmocka_unit_test(test_recommend_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
