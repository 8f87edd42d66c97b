/* Unit tests of the simulator (src/sim): traces, the startup model, the
 * event engine over the production scheduler and decision round, and the
 * Pareto front. Every run here is virtual: milliseconds of real time. */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim.h"

static tide__sim_opts opts(double maximum, const char *startup)
{
  tide__sim_opts o = {.knobs = {.minimum = 0,
                                .maximum = maximum,
                                .target_duration = 5,
                                .wait_count = 3,
                                .max_pending = 0},
                      .interval = 1,
                      .nthreads = 1,
                      .memory = (int64_t)1 << 32,
                      .seed = 7};
  assert_int_equal(tide__sim_dist_parse(startup, &o.startup, NULL), 0);
  return o;
}

static void trace_of(tide__sim_trace *tr, const char *const *lines, size_t n)
{
  memset(tr, 0, sizeof *tr);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(tide__sim_trace_line(tr, lines[i], i + 1, NULL), 0);
}

/* 100 tasks of 1 s on at most 10 workers arriving at once: 10 waves of 1 s. */
static void test_hundred_tasks(void **state)
{
  (void)state;
  const char *lines[] = {"{\"t\": 0, \"prefix\": \"inc\", \"n\": 100, \"duration\": 1}"};
  tide__sim_trace tr;
  trace_of(&tr, lines, 1);
  tide__sim_opts o = opts(10, "0s");
  tide__sim_result r;
  assert_int_equal(tide__sim_run(&tr, &o, &r, NULL), 0);
  assert_int_equal(r.nlatency, 1);
  assert_true(fabs(r.latency[0] - 10.0) < 1e-6);
  assert_int_equal(r.peak, 10);
  assert_int_equal(r.tasks_done, 100);
  assert_true(fabs(r.busy_seconds - 100.0) < 1e-6);
  /* the 10 workers live from 0 until they are all retired together */
  assert_true(r.end > 10.0 && r.end < 15.0);
  assert_true(fabs(r.worker_seconds - 10 * r.end) < 1e-6);
  assert_true(fabs(r.utilisation - 100.0 / r.worker_seconds) < 1e-9);
  assert_int_equal(r.recomputed, 0);
  tide__sim_result_free(&r);
  tide__sim_trace_free(&tr);
}

/* Dependencies and startup latency: a chain a(1 s) -> b(2 s) -> c(3 s)
 * waits 0.5 s for its one worker, then runs in order: 6.5 s. */
static void test_chain_startup(void **state)
{
  (void)state;
  const char *lines[] = {
      "{\"t\": 2, \"tasks\": [{\"key\": \"a\", \"prefix\": \"p\", \"duration\": 1},"
      " {\"key\": \"b\", \"prefix\": \"p\", \"duration\": 2, \"deps\": [\"a\"]},"
      " {\"key\": \"c\", \"prefix\": \"q\", \"duration\": 3, \"deps\": [\"b\"]}]}"};
  tide__sim_trace tr;
  trace_of(&tr, lines, 1);
  tide__sim_opts o = opts(4, "500ms");
  tide__sim_result r;
  assert_int_equal(tide__sim_run(&tr, &o, &r, NULL), 0);
  assert_true(fabs(r.latency[0] - 6.5) < 1e-6);
  assert_true(fabs(r.first_worker - 0.5) < 1e-6);
  assert_true(fabs(r.busy_seconds - 6.0) < 1e-6);
  assert_int_equal(r.tasks_done, 3);
  tide__sim_result_free(&r);
  tide__sim_trace_free(&tr);
}

/* Two bursts: the second comes after the cluster shrank to 0, and a fixed
 * end counts worker-seconds up to it; the same seed gives the same run. */
static void test_bursts_until_and_seed(void **state)
{
  (void)state;
  const char *lines[] = {"{\"t\": 0, \"prefix\": \"b\", \"n\": 20, \"duration\": 0.5}",
                         "{\"t\": 30, \"prefix\": \"b\", \"n\": 20, \"duration\": 0.5}"};
  tide__sim_trace tr;
  trace_of(&tr, lines, 2);
  tide__sim_opts o = opts(8, "1s+-0.3s");
  o.until = 60;
  tide__sim_result r1, r2;
  assert_int_equal(tide__sim_run(&tr, &o, &r1, NULL), 0);
  assert_int_equal(tide__sim_run(&tr, &o, &r2, NULL), 0);
  assert_true(r1.latency[0] > 1.0 && r1.latency[1] > 1.0);
  assert_true(fabs(r1.end - 60) < 1e-9);
  assert_int_equal(r1.scale_up, r2.scale_up);
  assert_true(r1.worker_seconds == r2.worker_seconds);
  assert_true(r1.latency[1] == r2.latency[1]);
  assert_true(fabs(r1.busy_seconds - 20.0) < 1e-6);
  /* back to 0 between the bursts: two separate scale-ups */
  assert_true(r1.scale_up >= 2);
  assert_true(r1.scale_down >= 2);
  tide__sim_result_free(&r1);
  tide__sim_result_free(&r2);
  tide__sim_trace_free(&tr);
}

/* The scheduler's settings reach the simulated scheduler: with an unknown
 * prefix expected to take 5 s instead of 0.5 s, the first round already
 * asks for all 16 workers and 64 tasks of 0.5 s take 2 s, not 5 s. */
static void test_config_reaches_scheduler(void **state)
{
  (void)state;
  const char *lines[] = {"{\"t\": 0, \"prefix\": \"b\", \"n\": 64, \"duration\": 0.5}"};
  tide__sim_trace tr;
  trace_of(&tr, lines, 1);
  tide__sim_opts o = opts(16, "0s");
  tide__sim_result r;
  assert_int_equal(tide__sim_run(&tr, &o, &r, NULL), 0);
  assert_true(r.latency[0] > 4.9);
  tide__sim_result_free(&r);
  tide__config cfg;
  tide__config_defaults(&cfg);
  cfg.scheduler.unknown_task_duration = 5;
  o.cfg = &cfg;
  assert_int_equal(tide__sim_run(&tr, &o, &r, NULL), 0);
  assert_true(fabs(r.latency[0] - 2.0) < 0.05);
  assert_int_equal(r.peak, 16);
  tide__sim_result_free(&r);
  tide__sim_trace_free(&tr);
}

/* The arrival-aware cap (docs/design.md §7) in the simulator: one warm
 * worker of 2 threads (minimum 1) and 3 bursts of 40 tasks of 0.05 s (2 s of
 * work, 1 s on the warm worker) 4 s apart, workers taking 2 s to start, a
 * latency-minded policy (interval 0.1 s, target 0.1 s). Without the cap each
 * burst asks for workers that arrive after its work is gone; with it, once
 * the startup and the tasks' duration are learned, the later bursts ask for
 * none. */
static void test_arrival_cap(void **state)
{
  (void)state;
  const char *lines[] = {"{\"t\": 3, \"prefix\": \"s\", \"n\": 40, \"duration\": 0.05}",
                         "{\"t\": 7, \"prefix\": \"s\", \"n\": 40, \"duration\": 0.05}",
                         "{\"t\": 11, \"prefix\": \"s\", \"n\": 40, \"duration\": 0.05}"};
  tide__sim_trace tr;
  trace_of(&tr, lines, 3);
  tide__sim_opts o = opts(16, "2s");
  o.knobs.minimum = 1;
  o.knobs.target_duration = 0.1;
  o.interval = 0.1;
  o.nthreads = 2;
  o.until = 17;
  tide__sim_result off, on;
  assert_int_equal(tide__sim_run(&tr, &o, &off, NULL), 0);
  o.knobs.arrival_aware = true;
  assert_int_equal(tide__sim_run(&tr, &o, &on, NULL), 0);
  /* without the cap: 36 requests (35 beyond the warm worker), all of them
   * cancelled before they arrive; with it: 16, from the first burst only
   * (its tasks' duration not learned yet), and capped requests counted */
  assert_true(off.requested >= 30);
  assert_true(on.requested * 2 <= off.requested);
  assert_int_equal(off.capped, 0);
  assert_true(on.capped >= 1);
  /* what the resource manager holds drops by more than a third (40.1 to
   * 25.1 worker-seconds); the warm worker, held from its request at 0,
   * is 2 s more there than connected (17 s against 15 s) */
  assert_true(on.rm_worker_seconds < 0.7 * off.rm_worker_seconds);
  assert_true(on.rm_worker_seconds >= on.worker_seconds + 2 - 1e-6);
  assert_true(fabs(on.worker_seconds - 15.0) < 1e-6);
  assert_true(fabs(off.worker_seconds - 15.0) < 1e-6);
  /* at the same latency: each burst within 5 % (1 s on the warm worker) */
  for (int i = 0; i < 3; i++) {
    assert_true(on.latency[i] >= 0.99 && on.latency[i] <= 1.1);
    assert_true(fabs(on.latency[i] - off.latency[i]) <= 0.05 * off.latency[i]);
  }
  tide__sim_result_free(&off);
  tide__sim_result_free(&on);
  tide__sim_trace_free(&tr);
}

static void test_trace_errors(void **state)
{
  (void)state;
  const char text[] = "{\"t\": 0, \"prefix\": \"x\", \"n\": 2, \"duration\": 1}\n"
                      "{\"t\": 1, \"prefix\": \"x\", \"n\": 0}\n";
  FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
  tide__sim_trace tr = {0};
  tide_error err = {{0}};
  assert_int_equal(tide__sim_trace_read(f, "w.jsonl", &tr, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "w.jsonl:2: "));
  fclose(f);
  tide__sim_trace_free(&tr);
  const char *bad[] = {"not json", "{\"tasks\": []}", "{\"t\": -1, \"prefix\": \"x\", \"n\": 1}",
                       "{\"t\": 0, \"tasks\": [{\"key\": \"a\", \"duration\": \"x\"}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tide__sim_trace t2 = {0};
    assert_int_equal(tide__sim_trace_line(&t2, bad[i], 1, NULL), TIDE_EUSAGE);
    assert_int_equal(t2.nsubs, 0);
  }
  /* a recorded trace: the done line gives the duration */
  const char rec[] = "{\"t\": 0, \"tasks\": [{\"key\": \"k\", \"prefix\": \"p\", \"deps\": []}]}\n"
                     "{\"done\": \"k\", \"duration\": 0.25, \"nbytes\": 9}\n";
  f = fmemopen((void *)rec, sizeof rec - 1, "r");
  assert_int_equal(tide__sim_trace_read(f, "r.jsonl", &tr, NULL), 0);
  fclose(f);
  assert_true(tr.subs[0].tasks[0].duration == 0.25);
  assert_int_equal(tr.subs[0].tasks[0].nbytes, 9);
  tide__sim_trace_free(&tr);
}

static void test_startup_model(void **state)
{
  (void)state;
  tide__sim_dist d;
  assert_int_equal(tide__sim_dist_parse("5ms", &d, NULL), 0);
  assert_int_equal(d.kind, TIDE__DIST_CONST);
  assert_true(fabs(d.mean - 0.005) < 1e-12);
  assert_int_equal(tide__sim_dist_parse("1s\xc2\xb1"
                                        "0.3s",
                                        &d, NULL),
                   0);
  assert_int_equal(d.kind, TIDE__DIST_NORMAL);
  assert_true(fabs(d.sd - 0.3) < 1e-12);
  uint64_t rng = 3;
  double sum = 0;
  for (int i = 0; i < 20000; i++) {
    double v = tide__sim_dist_draw(&d, &rng);
    assert_true(v >= 0);
    sum += v;
  }
  assert_true(fabs(sum / 20000 - 1.0) < 0.02);
  assert_int_equal(tide__sim_dist_parse("lognormal:60s+-15s", &d, NULL), 0);
  sum = 0;
  for (int i = 0; i < 20000; i++)
    sum += tide__sim_dist_draw(&d, &rng);
  assert_true(fabs(sum / 20000 - 60.0) < 1.5);
  assert_int_equal(tide__sim_dist_parse("fast", &d, NULL), TIDE_EUSAGE);
  const char log[] = "x cluster info cluster: worker a registered 0.200s after its request\n"
                     "y other line\n"
                     "z cluster info cluster: worker b registered 0.400s after its request\n";
  FILE *f = fmemopen((void *)log, sizeof log - 1, "r");
  size_t n;
  assert_int_equal(tide__sim_dist_learn(f, &d, &n, NULL), 0);
  fclose(f);
  assert_int_equal(n, 2);
  assert_true(fabs(d.mean - 0.3) < 1e-9);
  assert_true(fabs(d.sd - sqrt(0.02)) < 1e-9);
}

static void test_pareto(void **state)
{
  (void)state;
  /* (cost, latency): the 2nd is dominated by the 1st, the 4th by the 3rd */
  double cost[] = {10, 12, 20, 25, 40};
  double lat[] = {5, 6, 2, 2, 1};
  bool front[5];
  assert_int_equal(tide__sim_pareto(cost, lat, 5, front), 3);
  assert_true(front[0] && !front[1] && front[2] && !front[3] && front[4]);
}

int main(void)
{
  tide__log_init("test", TIDE_LOG_WARNING);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hundred_tasks),         cmocka_unit_test(test_chain_startup),
      cmocka_unit_test(test_bursts_until_and_seed), cmocka_unit_test(test_config_reaches_scheduler),
      cmocka_unit_test(test_arrival_cap),           cmocka_unit_test(test_trace_errors),
      cmocka_unit_test(test_startup_model),         cmocka_unit_test(test_pareto),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
