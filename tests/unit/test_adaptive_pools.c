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

#include "adaptive/pools.h"

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

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serve),
      cmocka_unit_test(test_inputs_split),
      cmocka_unit_test(test_plain_spills_when_full),
      cmocka_unit_test(test_exclusive_never_starved),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
