/* Unit tests of the adaptive pools' pure decisions (docs/adaptive.md
 * "Pools"): which pool serves a resource set, and each pool's
 * adaptive_target inputs from its exclusive work and its share of the
 * tasks without resources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "adaptive/pools.h"
#include "adaptive/recommend.h"

static tide__res R(const char *text)
{
  tide__res r;
  assert_int_equal(tide__res_parse(text, &r, NULL), 0);
  return r;
}

static void test_serve(void **st)
{
  tide__res none = R(""), big = R("BIG=1"), gpu = R("GPU=2,BIG=1");
  tide__pool_in p[3] = {
      {.res = &big, .cost = 1, .maximum = 2, .nthreads = 1},
      {.res = &none, .cost = 1, .maximum = 8, .nthreads = 1},
      {.res = &gpu, .cost = 5, .maximum = 2, .nthreads = 1},
  };
  tide__res need = R("BIG=1");
  assert_int_equal(tide__pools_serve(p, 3, &need), 0); /* cheaper than gpu */
  need = R("GPU=1");
  assert_int_equal(tide__pools_serve(p, 3, &need), 2);
  need = R("GPU=3");
  assert_int_equal(tide__pools_serve(p, 3, &need), -1);
  /* no needs: the plain pool at equal cost, though declared second */
  assert_int_equal(tide__pools_serve(p, 3, NULL), 1);
  p[0].cost = 0.5; /* cheaper wins over plainer */
  assert_int_equal(tide__pools_serve(p, 3, NULL), 0);
}

/* 200 plain tasks of 0.05 s and 4 BIG tasks of 1 s queued, no workers:
 * the small pool (max 8) takes every plain task, the big pool (max 2) only
 * the 4 BIG ones; targets 2 and 1 (target_duration 5 s). */
static void test_inputs_split(void **st)
{
  tide__res none = R(""), big = R("BIG=1");
  tide__pool_in p[2] = {
      {.res = &none, .cost = 1, .maximum = 8, .nthreads = 1},
      {.res = &big, .cost = 1, .maximum = 2, .nthreads = 1},
  };
  tide__demand d[2] = {{.nqueued = 200, .queued_occupancy = 10.0},
                       {.res = big, .nqueued = 4, .queued_occupancy = 4.0}};
  tide__target_inputs in[2];
  size_t share[2];
  tide__pools_inputs(p, 2, d, 2, 5.0, 0.6, in, share);
  assert_int_equal(in[0].nqueued, 200);
  assert_int_equal(share[0], 200);
  assert_int_equal(in[1].nqueued, 4);
  assert_int_equal(share[1], 0);
  assert_int_equal(tide__policy_adaptive_target(&in[0], 5.0), 2);
  assert_int_equal(tide__policy_adaptive_target(&in[1], 5.0), 1);
  /* nothing BIG queued: the big pool's target falls to 0 */
  tide__pools_inputs(p, 2, d, 1, 5.0, 0.6, in, share);
  assert_int_equal(tide__policy_adaptive_target(&in[1], 5.0), 0);
}

/* The small pool (max 2) has room for 2 workers of the 8 the plain work
 * wants: it takes a quarter, the rest spills to the medium pool (cost 3),
 * never to the big pool that advertises resources. */
static void test_plain_spills_when_full(void **st)
{
  tide__res none = R(""), big = R("BIG=1");
  tide__pool_in p[3] = {
      {.res = &big, .cost = 0.5, .maximum = 8, .nthreads = 1},
      {.res = &none, .cost = 3, .maximum = 8, .nthreads = 1},
      {.res = &none, .cost = 1, .maximum = 2, .nthreads = 1},
  };
  tide__demand d[1] = {{.nqueued = 400, .queued_occupancy = 40.0}};
  tide__target_inputs in[3];
  size_t share[3];
  tide__pools_inputs(p, 3, d, 1, 5.0, 0.6, in, share);
  assert_int_equal(share[2], 100);
  assert_int_equal(share[1], 300);
  assert_int_equal(share[0], 0);
  assert_true(fabs(in[2].queued_occupancy - 10.0) < 1e-9);
  assert_true(fabs(in[1].queued_occupancy - 30.0) < 1e-9);
  /* a busy small pool (its own load fills its maximum) spills it all */
  p[2].occupancy = 10.0;
  p[2].nworkers = 2;
  tide__pools_inputs(p, 3, d, 1, 5.0, 0.6, in, share);
  assert_int_equal(share[2], 0);
  assert_int_equal(share[1], 400);
  /* only pools with resources: the cheapest of them takes it */
  tide__pools_inputs(p, 1, d, 1, 5.0, 0.6, in, share);
  assert_int_equal(share[0], 400);
}

/* Exclusive work is never given away, even when its pool is full. */
static void test_exclusive_never_starved(void **st)
{
  tide__res none = R(""), big = R("BIG=1");
  tide__pool_in p[2] = {
      {.res = &none, .cost = 1, .maximum = 8, .nthreads = 1},
      {.res = &big, .cost = 1, .maximum = 1, .nthreads = 1},
  };
  tide__demand d[1] = {{.res = big, .nqueued = 50, .queued_occupancy = 500.0}};
  tide__target_inputs in[2];
  tide__pools_inputs(p, 2, d, 1, 5.0, 0.6, in, NULL);
  assert_int_equal(in[0].nqueued, 0);
  assert_int_equal(in[1].nqueued, 50);
  assert_int_equal(tide__policy_adaptive_target(&in[1], 5.0), 50); /* clipped to 1 later */
}

/* docs/design.md §7 "Arrival-aware requests", per pool: a fast pool
 * (plain, startup 0.3 s) and a slow one (BIG=1, startup 2 s), one worker of
 * 2 threads each. 200 plain tasks of 0.05 s (10 s of work) and 40 BIG ones
 * (2 s). The slow pool's worker drains its 2 s in 1.0 s, before any worker
 * asked now would arrive: its scale-up is capped to nothing. The fast
 * pool's queue still has 9.4 s (188 tasks, 94 workers' worth) when a new
 * worker arrives: its target of 8 goes through. */
static void test_arrival_per_pool(void **st)
{
  tide__res none = R(""), big = R("BIG=1");
  tide__pool_in p[2] = {
      {.res = &none, .cost = 1, .maximum = 8, .nthreads = 2, .nworkers = 1},
      {.res = &big, .cost = 1, .maximum = 12, .nthreads = 2, .nworkers = 1},
  };
  tide__demand d[2] = {{.nqueued = 200, .queued_occupancy = 10.0},
                       {.res = big, .nqueued = 40, .queued_occupancy = 2.0}};
  tide__target_inputs in[2];
  tide__pools_inputs(p, 2, d, 2, 0.1, 0.6, in, NULL);
  double startup[2] = {0.3, 2.0};
  tide__arrival_in a[2];
  tide__arrival_out o[2];
  for (int i = 0; i < 2; i++) {
    tide__pools_arrival_in(&in[i], p[i].nthreads, startup[i], &a[i]);
    tide__arrival_cap(&a[i], &o[i]);
  }
  assert_true(a[0].work == 10.0 && a[0].ntasks == 200 && a[0].threads == 2.0);
  assert_true(a[1].work == 2.0 && a[1].ntasks == 40 && a[1].startup == 2.0);
  assert_false(o[0].uncapped);
  assert_true(fabs(o[0].drain - 5.0) < 1e-9);
  assert_true(fabs(o[0].left - 9.4) < 1e-9);
  assert_int_equal(o[0].tasks, 188);
  assert_int_equal(o[0].need, 94);
  assert_int_equal(o[0].allowed, 93);
  assert_true(fabs(o[1].drain - 1.0) < 1e-9);
  assert_true(o[1].left == 0.0);
  assert_int_equal(o[1].need, 0);
  assert_int_equal(o[1].allowed, 0);

  /* through the recommendation, each pool with its own cap */
  int raw[2];
  tide__rec_out out[2];
  tide__rec_state *rs = tide__rec_state_create();
  for (int i = 0; i < 2; i++) {
    raw[i] = tide__policy_adaptive_target(&in[i], 0.1);
    tide__rec_in ri = {.now = 100,
                       .target = raw[i],
                       .minimum = 0,
                       .maximum = p[i].maximum,
                       .wait_count = 3,
                       .processes = 1,
                       .nplan = 1,
                       .arrival = &a[i]};
    tide__recommend(rs, &ri, &out[i]);
  }
  assert_int_equal(raw[1], 10); /* 2 s / 0.1 s over 2 threads */
  assert_int_equal(out[0].status, TIDE__REC_UP);
  assert_int_equal(out[0].n, 8);
  assert_false(out[0].capped);
  assert_int_equal(out[1].status, TIDE__REC_SAME);
  assert_true(out[1].capped);
  assert_int_equal(out[1].asked, 10);
  assert_string_equal(out[1].blocked, "arrival");
  assert_non_null(strstr(out[1].why, "asked 9, capped to 0: queue drains in 1.00 s, workers arrive "
                                     "in 2.00 s"));
  for (int i = 0; i < 2; i++)
    tide__rec_out_free(&out[i]);

  /* no worker present: a worker's threads come from the pool's jobs */
  tide__target_inputs none_present = {.nqueued = 4, .queued_occupancy = 4.0};
  tide__pools_arrival_in(&none_present, 4, 1.5, &a[0]);
  assert_true(a[0].nthreads == 4.0 && a[0].threads == 0.0 && a[0].npresent == 0);
  tide__rec_state_destroy(rs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serve),
      cmocka_unit_test(test_inputs_split),
      cmocka_unit_test(test_plain_spills_when_full),
      cmocka_unit_test(test_exclusive_never_starved),
      cmocka_unit_test(test_arrival_per_pool),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
