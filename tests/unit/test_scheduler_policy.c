/* Unit tests of the pure scheduler policy: the adaptive_target formula
 * (docs/design.md §5) and workers_to_close group rules (docs/design.md §6). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "scheduler/policy.h"

static tide__target_inputs base(void)
{
  tide__target_inputs in;
  memset(&in, 0, sizeof in);
  in.memory_target_fraction = 0.6;
  return in;
}

static void test_target_idle_is_zero(void **st)
{
  tide__target_inputs in = base();
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 0);
  assert_int_equal(in.cpu, 0);
  assert_int_equal(in.memory, 0);
}

static void test_target_queued_no_workers_at_least_one(void **st)
{
  tide__target_inputs in = base();
  in.nqueued = 1;
  in.queued_occupancy = 0.5;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 1);
}

static void test_target_cpu_from_occupancy(void **st)
{
  tide__target_inputs in = base();
  /* 100 tasks of 0.1 s queued, 1 worker of 1 thread: ceil(10/5) = 2 */
  in.nqueued = 100;
  in.queued_occupancy = 10;
  in.nworkers = 1;
  in.avg_nthreads = 1;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 2);
  /* exact multiples do not round up on float noise: 0.3/0.1 = 3 */
  in = base();
  in.nqueued = 10;
  in.queued_occupancy = 0.1 * 3;
  assert_int_equal(tide__policy_adaptive_target(&in, 0.1), 3);
}

static void test_target_capped_by_tasks(void **st)
{
  /* one long task of unknown duration never asks for more than one worker */
  tide__target_inputs in = base();
  in.nprocessing = 1;
  in.total_occupancy = 3600;
  in.nworkers = 1;
  in.avg_nthreads = 1;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 1);
  assert_int_equal(in.cpu, 1);
}

static void test_target_divided_by_threads(void **st)
{
  tide__target_inputs in = base();
  in.nqueued = 40;
  in.total_occupancy = 0;
  in.queued_occupancy = 40; /* 8 slots of 5 s */
  in.nworkers = 2;
  in.avg_nthreads = 4;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 2);
  assert_int_equal(in.cpu, 2);
}

static void test_target_memory_doubles(void **st)
{
  tide__target_inputs in = base();
  in.nworkers = 2;
  in.avg_nthreads = 1;
  in.total_memory_limit = 1000;
  in.total_nbytes = 601;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 4);
  assert_int_equal(in.memory, 4);
  in.total_nbytes = 600; /* not above 60% */
  in.nclose = 0;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 2);
  assert_int_equal(in.memory, 0);
  /* no limits: never the memory path */
  in.total_memory_limit = 0;
  in.total_nbytes = 1 << 30;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 2);
}

static void test_target_below_workers_uses_nclose(void **st)
{
  tide__target_inputs in = base();
  in.nworkers = 5;
  in.avg_nthreads = 1;
  in.nprocessing = 1;
  in.total_occupancy = 1;
  in.nclose = 3; /* target 1 < 5 workers: 5 - 3 */
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 2);
  in.nclose = 0;
  assert_int_equal(tide__policy_adaptive_target(&in, 5), 5);
}

/* ---- heartbeat interval and timeout ---- */

static void test_heartbeat_interval_grows(void **st)
{
  /* Dask's steps at base 0.5 s */
  assert_true(tide__policy_heartbeat_interval(0, 0.5) == 0.5);
  assert_true(tide__policy_heartbeat_interval(10, 0.5) == 0.5);
  assert_true(tide__policy_heartbeat_interval(11, 0.5) == 1);
  assert_true(tide__policy_heartbeat_interval(49, 0.5) == 1);
  assert_true(tide__policy_heartbeat_interval(50, 0.5) == 2);
  assert_true(tide__policy_heartbeat_interval(199, 0.5) == 2);
  assert_true(tide__policy_heartbeat_interval(200, 0.5) == 2);
  assert_true(tide__policy_heartbeat_interval(1000, 0.5) == 6);
  assert_true(tide__policy_heartbeat_interval(10000, 0.5) == 51);
  /* at most 200 heartbeats a second past 200 workers */
  for (size_t n = 200; n <= 100000; n *= 2)
    assert_true((double)n / tide__policy_heartbeat_interval(n, 0.5) <= 200);
  /* a configured base scales every step; none or bad means 0.5 s */
  assert_true(tide__policy_heartbeat_interval(5, 0.1) == 0.1);
  assert_true(fabs(tide__policy_heartbeat_interval(1000, 0.1) - 1.2) < 1e-9);
  assert_true(tide__policy_heartbeat_interval(20, 0) == 1);
}

static void test_heartbeat_timeout_follows(void **st)
{
  /* the configured timeout while the interval is the base one */
  assert_true(tide__policy_heartbeat_timeout(10, 0.5, 0.5) == 10);
  assert_true(tide__policy_heartbeat_timeout(1, 0.5, 0.5) == 1);
  /* ten intervals once it grew, never below the configured one */
  assert_true(tide__policy_heartbeat_timeout(10, 0.5, 6) == 60);
  assert_true(tide__policy_heartbeat_timeout(10, 0.5, 51) == 510);
  assert_true(tide__policy_heartbeat_timeout(100, 0.5, 2) == 100);
}

/* ---- workers_to_close ---- */

static tide__sw_view W(const char *name, const char *job, int nproc, int64_t nbytes, int64_t limit)
{
  tide__sw_view v;
  memset(&v, 0, sizeof v);
  v.name = name;
  v.address = name;
  v.host = "h";
  v.job = job;
  v.nthreads = 1;
  v.nprocessing = nproc;
  v.nbytes = nbytes;
  v.memory_limit = limit;
  v.status = TIDE_W_RUNNING;
  return v;
}

static tide__close_opts opts(int target, int n)
{
  tide__close_opts o = {.target = target, .n = n, .memory_ratio = 0, .minimum = -1};
  return o;
}

static void test_close_idle_first_then_least_data(void **st)
{
  tide__sw_view ws[4] = {W("a", "", 1, 0, 0), W("b", "", 0, 500, 0), W("c", "", 0, 100, 0),
                         W("d", "", 2, 10, 0)};
  size_t out[4];
  tide__close_opts o = opts(2, -1);
  size_t k = tide__policy_workers_to_close(ws, 4, &o, out);
  assert_int_equal(k, 2);
  assert_int_equal(out[0], 2); /* c: idle, least data */
  assert_int_equal(out[1], 1); /* b: idle */
  o = opts(1, -1);             /* asked n: busy ones may go too, least data first */
  k = tide__policy_workers_to_close(ws, 4, &o, out);
  assert_int_equal(k, 3);
  assert_int_equal(out[2], 0); /* a: busy with 0 bytes before d with 10 */
}

static void test_close_nothing_asked(void **st)
{
  /* memory_ratio 2, no limits: every idle worker; busy ones stop the walk */
  tide__sw_view ws[3] = {W("a", "", 0, 0, 0), W("b", "", 1, 0, 0), W("c", "", 0, 0, 0)};
  size_t out[3];
  size_t k = tide__policy_workers_to_close(ws, 3, NULL, out);
  assert_int_equal(k, 2);
  /* all busy: none */
  tide__sw_view busy[2] = {W("a", "", 1, 0, 0), W("b", "", 3, 0, 0)};
  assert_int_equal(tide__policy_workers_to_close(busy, 2, NULL, out), 0);
  /* data that the rest could not hold twice over stays */
  tide__sw_view mem[2] = {W("a", "", 0, 400, 1000), W("b", "", 0, 400, 1000)};
  assert_int_equal(tide__policy_workers_to_close(mem, 2, NULL, out), 0);
  tide__sw_view mem2[3] = {W("a", "", 0, 100, 1000), W("b", "", 0, 100, 1000),
                           W("c", "", 0, 100, 1000)};
  /* total 300, ratio 2 -> remaining limits must stay >= 600: 3000 -> 2000
   * -> 1000 (two closed), the third would leave 0 */
  assert_int_equal(tide__policy_workers_to_close(mem2, 3, NULL, out), 2);
}

static void test_close_unlimited_memory(void **st)
{
  /* memory_limit 0 means no limit: while one such worker stays, data never
   * blocks a close; the last holder of data is kept */
  tide__sw_view ws[3] = {W("a", "", 0, 100, 0), W("b", "", 0, 100, 0), W("c", "", 0, 100, 0)};
  size_t out[3];
  assert_int_equal(tide__policy_workers_to_close(ws, 3, NULL, out), 2);
  tide__sw_view empty[3] = {W("a", "", 0, 0, 0), W("b", "", 0, 0, 0), W("c", "", 0, 0, 0)};
  assert_int_equal(tide__policy_workers_to_close(empty, 3, NULL, out), 3);
}

static void test_close_groups_whole(void **st)
{
  tide__sw_view ws[5] = {W("j1-0", "j1", 0, 0, 0), W("j1-1", "j1", 0, 0, 0),
                         W("j2-0", "j2", 0, 0, 0), W("j2-1", "j2", 1, 0, 0),
                         W("j3-0", "j3", 0, 5, 0)};
  size_t out[5];
  tide__close_opts o = opts(2, -1);
  o.key = tide__group_by_job;
  size_t k = tide__policy_workers_to_close(ws, 5, &o, out);
  /* groups: j1 idle 0 bytes (2), j3 idle 5 bytes (1), j2 busy (2).
   * 5 - 2 = 3 >= 2: j1; 3 - 1 = 2 >= 2: j3; then j2 would leave 0 */
  assert_int_equal(k, 3);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[1], 1);
  assert_int_equal(out[2], 4);
  /* target 4: j1 would leave 3 < 4; never split a group */
  o.target = 4;
  k = tide__policy_workers_to_close(ws, 5, &o, out);
  assert_int_equal(k, 0);
}

static void test_close_minimum_and_closing(void **st)
{
  tide__sw_view ws[4] = {W("a", "", 0, 0, 0), W("b", "", 0, 0, 0), W("c", "", 0, 0, 0),
                         W("d", "", 0, 0, 0)};
  size_t out[4];
  tide__close_opts o = opts(0, -1);
  o.minimum = 3;
  assert_int_equal(tide__policy_workers_to_close(ws, 4, &o, out), 1);
  ws[0].status = TIDE_W_CLOSING_GRACEFULLY; /* skipped entirely */
  o = opts(-1, 2);
  size_t k = tide__policy_workers_to_close(ws, 4, &o, out);
  assert_int_equal(k, 2);
  assert_true(out[0] != 0 && out[1] != 0);
  o = opts(-1, 0);
  assert_int_equal(tide__policy_workers_to_close(ws, 4, &o, out), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_idle_is_zero),
      cmocka_unit_test(test_target_queued_no_workers_at_least_one),
      cmocka_unit_test(test_target_cpu_from_occupancy),
      cmocka_unit_test(test_target_capped_by_tasks),
      cmocka_unit_test(test_target_divided_by_threads),
      cmocka_unit_test(test_target_memory_doubles),
      cmocka_unit_test(test_target_below_workers_uses_nclose),
      cmocka_unit_test(test_heartbeat_interval_grows),
      cmocka_unit_test(test_heartbeat_timeout_follows),
      cmocka_unit_test(test_close_idle_first_then_least_data),
      cmocka_unit_test(test_close_nothing_asked),
      cmocka_unit_test(test_close_unlimited_memory),
      cmocka_unit_test(test_close_groups_whole),
      cmocka_unit_test(test_close_minimum_and_closing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
