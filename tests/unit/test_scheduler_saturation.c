/* Unit tests of the saturation depth (docs/design.md §4 "Saturation"): a
 * prefix far shorter than a round trip gets a deeper queue on each worker,
 * a prefix of real duration keeps worker-saturation's ratio, and root tasks
 * with large results are never produced ahead of their consumers. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scheduler/policy.h"
#include "test_scheduler_fake.h"

enum { MIB = 1 << 20 };

static void test_depth_rule(void **st)
{
  (void)st;
  /* 10 µs against a 1 ms round trip: 100 per thread, bounded at 64 */
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, 8, 1e-3), 64);
  assert_int_equal(tide__policy_saturation_depth(1.1, 2, 10e-6, 8, 1e-3), 128);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 0, 8, 1e-3), 64);
  /* 100 µs: ceil(1 ms / 100 µs) = 10 per thread */
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 100e-6, 8, 1e-3), 10);
  assert_int_equal(tide__policy_saturation_depth(1.1, 2, 100e-6, 8, 1e-3), 20);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 300e-6, 8, 1e-3), 4);
  /* a real duration keeps ceil(1.1 · nthreads) */
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 1e-3, 8, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 0.5, 8, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 4, 0.5, 8, 1e-3), 5);
  assert_int_equal(tide__policy_saturation_depth(1.1, 8, 0.5, 8, 1e-3), 9);
  /* large or unknown results, unknown duration, no round trip: the ratio */
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, MIB, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, 64 * 1024 + 1, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, 64 * 1024, 1e-3), 64);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, -1, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, -1, 8, 1e-3), 2);
  assert_int_equal(tide__policy_saturation_depth(1.1, 1, 10e-6, 8, 0), 2);
  /* no queue in the scheduler at all */
  assert_int_equal(tide__policy_saturation_depth(INFINITY, 1, 10e-6, 8, 1e-3), INT_MAX);
  assert_int_equal(tide__policy_saturation_depth(0, 1, 0.5, 8, 1e-3), INT_MAX);
  /* a saturation above the deeper depth stays */
  assert_int_equal(tide__policy_saturation_depth(100, 1, 10e-6, 8, 1e-3), 100);
}

static void activate(fixture *f, const char *fmt, int from, int to, const char *fn)
{
  char k[32];
  for (int i = from; i < to; i++) {
    snprintf(k, sizeof k, fmt, i);
    fx_task(f, k, fn, NULL, NULL);
    tide__task_want(f->s, T(f, k), 1);
    tide__task_activate(f->s, T(f, k));
  }
}

/* Finish the oldest task processing on w. */
static void finish_head(fixture *f, sworker *w, int64_t nbytes, double dur)
{
  stask *t = w->proc_head;
  assert_non_null(t);
  tide__task_finished(f->s, w, t, nbytes, 100.0, 100.0 + dur, 0);
}

static void test_tiny_prefix_gets_deeper_queue(void **st)
{
  (void)st;
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  activate(f, "inc-%d", 0, 200, "tide.inc");
  /* never seen: unknown duration, the plain 2 */
  assert_int_equal(w->nprocessing, 2);
  assert_int_equal(f->s->nqueued, 198);
  finish_head(f, w, 8, 2e-6);
  /* learned, but one task sent under the plain limit still runs */
  assert_int_equal(w->nprocessing, 2);
  finish_head(f, w, 8, 2e-6);
  /* 2 µs against 1 ms: 64 on the one thread */
  assert_int_equal(w->nprocessing, 64);
  assert_int_equal(f->s->nqueued, 200 - 2 - 64);
  finish_head(f, w, 8, 2e-6);
  assert_int_equal(w->nprocessing, 64);
  assert_int_equal(f->s->nqueued, 200 - 3 - 64);
  fx_free(f);
}

static void test_round_trip_zero_keeps_ratio(tide__config *c)
{
  c->scheduler.round_trip = 0;
}

static void test_no_round_trip(void **st)
{
  (void)st;
  fixture *f = fx_new(test_round_trip_zero_keeps_ratio);
  sworker *w = fx_worker(f, 1, 1, 0);
  activate(f, "inc-%d", 0, 100, "tide.inc");
  for (int i = 0; i < 10; i++) {
    finish_head(f, w, 8, 2e-6);
    assert_int_equal(w->nprocessing, 2);
  }
  assert_int_equal(f->s->nqueued, 100 - 10 - 2);
  fx_free(f);
}

static void test_long_prefix_keeps_ratio(void **st)
{
  (void)st;
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  sworker *w4 = fx_worker(f, 4, 4, 0);
  activate(f, "sleep-%d", 0, 100, "tide.sleep");
  assert_int_equal(w1->nprocessing, 2);
  assert_int_equal(w4->nprocessing, 5);
  for (int i = 0; i < 20; i++) {
    finish_head(f, w1, 8, 0.05);
    finish_head(f, w4, 8, 0.05);
    assert_int_equal(w1->nprocessing, 2);
    assert_int_equal(w4->nprocessing, 5);
  }
  fx_free(f);
}

/* One task of real duration among tiny ones brings the worker back to the
 * plain limit until the tiny ones drain. */
static void test_long_task_ends_deep_queue(void **st)
{
  (void)st;
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  activate(f, "inc-%d", 0, 2, "tide.inc");
  finish_head(f, w, 8, 2e-6);
  finish_head(f, w, 8, 2e-6);
  activate(f, "inc-%d", 2, 12, "tide.inc");
  assert_int_equal(w->nprocessing, 10);
  activate(f, "sleep-%d", 0, 1, "tide.sleep"); /* unknown duration: plain */
  assert_int_equal(w->nprocessing, 11);
  assert_int_equal(sent_to("sleep-0"), 1);
  activate(f, "inc-%d", 12, 20, "tide.inc");
  assert_int_equal(w->nprocessing, 11);
  assert_int_equal(f->s->nqueued, 8);
  /* 9 tiny ones done: 2 left, still not below the plain 2 */
  for (int i = 0; i < 9; i++)
    finish_head(f, w, 8, 2e-6);
  assert_int_equal(w->nprocessing, 2);
  assert_int_equal(f->s->nqueued, 8);
  finish_head(f, w, 8, 2e-6); /* the last tiny one: only sleep-0 left */
  assert_int_equal(w->nprocessing, 2);
  assert_int_equal(f->s->nqueued, 7);
  fx_free(f);
}

/* 10,000 root tasks of 1 MiB each (tide.bytes, fast), each read by one
 * consumer, on 2 one-thread workers with 64 MiB: the deeper queue never
 * applies to the roots (their consumers, tiny, may queue deeper), so no
 * worker processes more roots than the plain limit nor holds more than
 * those plus one waiting for its consumer. */
static void test_large_roots_not_overproduced(void **st)
{
  (void)st;
  fixture *f = fx_new(NULL);
  sworker *w[2] = {fx_worker(f, 1, 1, 64 * MIB), fx_worker(f, 2, 1, 64 * MIB)};
  enum { N = 10000 };
  char k[32], c[32];
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof k, "bytes-%d", i);
    snprintf(c, sizeof c, "sum-%d", i);
    fx_task(f, k, "tide.bytes", NULL, NULL);
    fx_task(f, c, "tide.checksum", k, NULL);
    tide__task_want(f->s, T(f, c), 1);
    tide__task_activate(f->s, T(f, c));
  }
  int64_t peak[2] = {0, 0};
  int maxroots = 0;
  for (int done = 0; done < 2 * N;) {
    for (int j = 0; j < 2; j++) {
      stask *t = w[j]->proc_head;
      if (!t)
        continue;
      bool root = strncmp(t->key, "bytes-", 6) == 0;
      finish_head(f, w[j], root ? MIB : 8, 10e-6);
      done++;
      if (w[j]->nbytes > peak[j])
        peak[j] = w[j]->nbytes;
      int nroots = 0;
      for (stask *p = w[j]->proc_head; p; p = p->next)
        nroots += strncmp(p->key, "bytes-", 6) == 0;
      if (nroots > maxroots)
        maxroots = nroots;
    }
  }
  assert_int_equal(f->s->counters.tasks_completed, 2 * N);
  /* never more roots at once than ceil(1.1 · 1) */
  assert_int_equal(maxroots, 2);
  for (int j = 0; j < 2; j++) {
    print_message("worker %d: peak %lld bytes\n", j + 1, (long long)peak[j]);
    assert_true(peak[j] <= 2 * MIB + 8 * N);
  }
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_depth_rule),
      cmocka_unit_test(test_tiny_prefix_gets_deeper_queue),
      cmocka_unit_test(test_no_round_trip),
      cmocka_unit_test(test_long_prefix_keeps_ratio),
      cmocka_unit_test(test_long_task_ends_deep_queue),
      cmocka_unit_test(test_large_roots_not_overproduced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
