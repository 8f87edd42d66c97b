/* Unit tests of the task state machine without sockets: transitions,
 * dependencies, queueing beyond saturation, release and forgetting, worker
 * death (reschedule, recompute, allowed-failures), missing-data, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

static void test_chain_runs_and_releases(void **st)
{
  fixture *f = fx_new(NULL);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  fx_task(f, "b", "tide.inc", "a", NULL);
  fx_task(f, "c", "tide.inc", "b", NULL);
  tide__task_want(f->s, T(f, "c"), 1);
  tide__task_activate(f->s, T(f, "c"));
  assert_int_equal(tstate(f, "a"), TIDE_TS_NO_WORKER);
  assert_int_equal(tstate(f, "b"), TIDE_TS_WAITING);
  assert_int_equal(tstate(f, "c"), TIDE_TS_WAITING);
  fx_worker(f, 1, 1, 0);
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  assert_int_equal(sent_to("a"), 1);
  fx_finish(f, "a", 8, 0.01);
  assert_int_equal(tstate(f, "a"), TIDE_TS_MEMORY);
  assert_int_equal(tstate(f, "b"), TIDE_TS_PROCESSING);
  fx_finish(f, "b", 8, 0.01);
  /* a is no longer needed: freed on the worker, struct kept for b */
  assert_int_equal(tstate(f, "a"), TIDE_TS_RELEASED);
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "a"), 1);
  fx_finish(f, "c", 8, 0.01);
  assert_int_equal(tstate(f, "c"), TIDE_TS_MEMORY);
  assert_int_equal(tstate(f, "b"), TIDE_TS_RELEASED);
  uint64_t counts[TIDE_TS__COUNT];
  tide__sched_task_counts(f->s, counts);
  assert_int_equal(counts[TIDE_TS_MEMORY], 1);
  assert_int_equal(counts[TIDE_TS_RELEASED], 2);
  /* the client lets go: everything is forgotten */
  tide__task_want(f->s, T(f, "c"), -1);
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  tide__sched_task_counts(f->s, counts);
  for (int i = 0; i < TIDE_TS__COUNT; i++)
    assert_int_equal(counts[i], 0);
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "c"), 1);
  fx_free(f);
}

static void test_saturation_queues(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0); /* limit ceil(1.1 * 1) = 2 */
  char k[8];
  for (int i = 0; i < 5; i++) {
    snprintf(k, sizeof k, "t%d", i);
    fx_task(f, k, "tide.noop", NULL, NULL);
    tide__task_want(f->s, T(f, k), 1);
    tide__task_activate(f->s, T(f, k));
  }
  uint64_t c[TIDE_TS__COUNT];
  tide__sched_task_counts(f->s, c);
  assert_int_equal(c[TIDE_TS_PROCESSING], 2);
  assert_int_equal(c[TIDE_TS_QUEUED], 3);
  /* a new worker gets work at once */
  fx_worker(f, 2, 2, 0); /* limit ceil(2.2) = 3 */
  tide__sched_task_counts(f->s, c);
  assert_int_equal(c[TIDE_TS_PROCESSING], 5);
  assert_int_equal(c[TIDE_TS_QUEUED], 0);
  assert_int_equal(sent_to("t4"), 2);
  fx_free(f);
}

static void test_paused_and_closing_get_nothing(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  tide__sw_set_status(f->s, w1, TIDE_W_PAUSED);
  fx_task(f, "a", "tide.noop", NULL, NULL);
  tide__task_want(f->s, T(f, "a"), 1);
  tide__task_activate(f->s, T(f, "a"));
  assert_int_equal(tstate(f, "a"), TIDE_TS_NO_WORKER);
  tide__sw_set_status(f->s, w1, TIDE_W_RUNNING);
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  fx_free(f);
}

static void test_unwanted_results_are_forgotten(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_task(f, "a", "tide.noop", NULL, NULL);
  tide__task_activate(f->s, T(f, "a"));
  fx_finish(f, "a", 3, 0.01);
  assert_null(T(f, "a"));
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "a"), 1);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.tasks_completed, 1);
  fx_free(f);
}

static void test_death_reschedules_and_recomputes(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  fx_task(f, "x", "tide.inc", NULL, NULL);
  fx_task(f, "b", "tide.add", "a", "x");
  tide__task_want(f->s, T(f, "b"), 1);
  tide__task_activate(f->s, T(f, "b"));
  assert_int_equal(sent_to("a"), 1);
  assert_int_equal(sent_to("x"), 2);
  fx_finish(f, "a", 100, 0.01);
  assert_int_equal(tstate(f, "b"), TIDE_TS_WAITING);
  tide__sw_remove(f->s, w1, false, "killed");
  /* a's only copy is gone and b still needs it: computed again on w2 */
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  assert_int_equal(sent_to("a"), 2);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.recomputed, 1);
  assert_int_equal(c.workers_removed_unexpected, 1);
  fx_finish(f, "x", 100, 0.01);
  fx_finish(f, "a", 100, 0.01);
  assert_int_equal(tstate(f, "b"), TIDE_TS_PROCESSING);
  assert_int_equal(sent_to("b"), 2);
  fx_finish(f, "b", 1, 0.01);
  assert_int_equal(tstate(f, "b"), TIDE_TS_MEMORY);
  fx_free(f);
}

static void test_recompute_recursive(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  fx_task(f, "b", "tide.inc", "a", NULL);
  fx_task(f, "c", "tide.inc", "b", NULL);
  tide__task_want(f->s, T(f, "c"), 1);
  tide__task_want(f->s, T(f, "b"), 1); /* b stays in memory on w1 */
  tide__task_activate(f->s, T(f, "c"));
  fx_finish(f, "a", 1, 0.01);
  fx_finish(f, "b", 1, 0.01);
  assert_int_equal(tstate(f, "a"), TIDE_TS_RELEASED);
  /* c is processing on w1 when it dies: b (wanted) must come back, and a,
   * released earlier, is computed again first */
  fx_worker(f, 2, 1, 0);
  tide__sw_remove(f->s, w1, false, "killed");
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  assert_int_equal(tstate(f, "b"), TIDE_TS_WAITING);
  assert_int_equal(tstate(f, "c"), TIDE_TS_WAITING);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.recomputed, 2);
  fx_finish(f, "a", 1, 0.01);
  fx_finish(f, "b", 1, 0.01);
  fx_finish(f, "c", 1, 0.01);
  assert_int_equal(tstate(f, "c"), TIDE_TS_MEMORY);
  assert_int_equal(T(f, "c")->failures, 1);
  fx_free(f);
}

static void tweak_failures(tide__config *c)
{
  c->scheduler.allowed_failures = 3;
}

static void test_allowed_failures(void **st)
{
  fixture *f = fx_new(tweak_failures);
  fx_task(f, "a", "tide.spin", NULL, NULL);
  tide__task_want(f->s, T(f, "a"), 1);
  tide__task_activate(f->s, T(f, "a"));
  for (int i = 1; i <= 3; i++) {
    sworker *w = fx_worker(f, i, 1, 0);
    assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
    tide__sw_remove(f->s, w, false, "killed");
  }
  assert_int_equal(tstate(f, "a"), TIDE_TS_ERRED);
  assert_non_null(strstr(T(f, "a")->err->msg, "worker died 3 times"));
  assert_non_null(strstr(T(f, "a")->err->msg, "allowed-failures=3"));
  fx_free(f);
}

static void test_error_propagates(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  fx_task(f, "a", "tide.fail", NULL, NULL);
  fx_task(f, "b", "tide.inc", "a", NULL);
  fx_task(f, "c", "tide.inc", "b", NULL);
  fx_task(f, "z", "tide.inc", NULL, NULL);
  tide__task_want(f->s, T(f, "c"), 1);
  tide__task_want(f->s, T(f, "z"), 1);
  tide__task_activate(f->s, T(f, "c"));
  tide__task_activate(f->s, T(f, "z"));
  tide__task_erred(f->s, w, T(f, "a"), "boom", 1, 2, 0);
  assert_int_equal(tstate(f, "c"), TIDE_TS_ERRED);
  assert_string_equal(T(f, "c")->err->task, "a");
  assert_string_equal(T(f, "c")->err->msg, "boom");
  assert_int_equal(tstate(f, "z"), TIDE_TS_PROCESSING);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.tasks_erred, 1);
  tide__task_want(f->s, T(f, "c"), -1);
  assert_null(T(f, "a"));
  assert_null(T(f, "c"));
  fx_free(f);
}

/* docs/design.md §2: a task with retries runs again on another worker;
 * with one worker left, on that one; when none is left it errs with the
 * last run's error and the worker it ran on. */
static void test_retries_go_elsewhere(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  fx_task(f, "a", "tide.fail", NULL, NULL);
  T(f, "a")->retries = 2;
  tide__task_want(f->s, T(f, "a"), 1);
  tide__task_activate(f->s, T(f, "a"));
  sworker *first = T(f, "a")->proc, *other = first == w1 ? w2 : w1;
  int first_id = first == w1 ? 1 : 2, other_id = 3 - first_id;
  tide__task_erred(f->s, first, T(f, "a"), "boom 1", 1, 2, 0);
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  assert_ptr_equal(T(f, "a")->proc, other);
  assert_int_equal(sent_to("a"), other_id);
  assert_int_equal(T(f, "a")->retries, 1);
  /* erred on the other one too: back to the first, the one it did not
   * last err on */
  tide__task_erred(f->s, other, T(f, "a"), "boom 2", 1, 3.5, 0);
  assert_ptr_equal(T(f, "a")->proc, first);
  assert_int_equal(T(f, "a")->retries, 0);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.tasks_erred, 0); /* reruns are not errors yet */
  tide__task_erred(f->s, first, T(f, "a"), "boom 3", 4, 4.25, 0);
  assert_int_equal(tstate(f, "a"), TIDE_TS_ERRED);
  assert_string_equal(T(f, "a")->err->msg, "boom 3");
  assert_string_equal(T(f, "a")->err->worker, first->name);
  assert_float_equal(T(f, "a")->duration, 0.25, 1e-6);
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.tasks_erred, 1);

  /* one worker: the rerun goes back to it rather than waiting forever */
  fx_task(f, "b", "tide.fail", NULL, NULL);
  T(f, "b")->retries = 1;
  tide__sw_remove(f->s, w2, true, "gone");
  tide__task_want(f->s, T(f, "b"), 1);
  tide__task_activate(f->s, T(f, "b"));
  assert_ptr_equal(T(f, "b")->proc, w1);
  tide__task_erred(f->s, w1, T(f, "b"), "once", 1, 2, 0);
  assert_ptr_equal(T(f, "b")->proc, w1);
  assert_int_equal(tstate(f, "b"), TIDE_TS_PROCESSING);
  fx_free(f);
}

static void test_missing_data(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  fx_task(f, "b", "tide.inc", "a", NULL);
  tide__task_want(f->s, T(f, "b"), 1);
  tide__task_activate(f->s, T(f, "b"));
  tide__sw_set_status(f->s, w1, TIDE_W_PAUSED); /* b goes to w2 */
  fx_finish(f, "a", 10, 0.01);
  assert_int_equal(sent_to("b"), 2);
  tide__sw_missing_data(f->s, w2, "b", 1, "a", 1, "tcp://w1:1", 10);
  /* no holder left: a is computed again (on w2, w1 is paused), b waits */
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  assert_int_equal(sent_to("a"), 2);
  assert_int_equal(tstate(f, "b"), TIDE_TS_WAITING);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.recomputed, 1);
  fx_finish(f, "a", 10, 0.01);
  assert_int_equal(tstate(f, "b"), TIDE_TS_PROCESSING);
  assert_int_equal(nsent(2, TIDE_OP_COMPUTE_TASK, "b"), 2);
  fx_free(f);
}

static int g_events[4];

static void observer(tide__sched *s, tide__sched_event ev, const char *name, bool expected,
                     void *arg)
{
  g_events[ev]++;
  if (ev == TIDE_SEV_WORKER_REMOVED)
    *(int *)arg = expected ? 1 : 2;
}

static void test_heartbeat_timeout_and_events(void **st)
{
  fixture *f = fx_new(NULL);
  int removed = 0;
  memset(g_events, 0, sizeof g_events);
  tide__sched_observe(f->s, observer, &removed);
  sworker *w = fx_worker(f, 1, 1, 0);
  assert_int_equal(g_events[TIDE_SEV_WORKER_ADDED], 1);
  char k[8];
  for (int i = 0; i < 10; i++) {
    snprintf(k, sizeof k, "t%d", i);
    fx_task(f, k, "tide.noop", NULL, NULL);
    tide__task_want(f->s, T(f, k), 1);
    tide__task_activate(f->s, T(f, k));
  }
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(g_events[TIDE_SEV_NEW_WORK], 1); /* coalesced */
  tide__heartbeat_check(f->s, w->last_seen + 5);
  assert_int_equal(f->s->nworkers, 1);
  tide__heartbeat_check(f->s, w->last_seen + 11);
  assert_int_equal(f->s->nworkers, 0);
  assert_int_equal(removed, 2);
  uint64_t c[TIDE_TS__COUNT];
  tide__sched_task_counts(f->s, c);
  assert_int_equal(c[TIDE_TS_NO_WORKER], 10);
  fx_free(f);
}

static void test_release_cancels_pending(void **st)
{
  fixture *f = fx_new(NULL);
  /* a deep chain with no worker: letting go cancels it all, iteratively */
  char k[16], prev[16];
  for (int i = 0; i < 200000; i++) {
    snprintf(k, sizeof k, "c%d", i);
    fx_task(f, k, "tide.inc", i ? prev : NULL, NULL);
    memcpy(prev, k, sizeof k);
  }
  tide__task_want(f->s, T(f, prev), 1);
  tide__task_activate(f->s, T(f, prev));
  uint64_t c[TIDE_TS__COUNT];
  tide__sched_task_counts(f->s, c);
  assert_int_equal(c[TIDE_TS_WAITING], 199999);
  assert_int_equal(c[TIDE_TS_NO_WORKER], 1);
  tide__task_want(f->s, T(f, prev), -1);
  assert_int_equal(HASH_COUNT(f->s->tasks), 0);
  assert_int_equal(f->s->nqueued, 0);
  /* a processing task nobody wants any more is freed on its worker */
  fx_worker(f, 1, 1, 0);
  fx_task(f, "p", "tide.sleep", NULL, NULL);
  tide__task_want(f->s, T(f, "p"), 1);
  tide__task_activate(f->s, T(f, "p"));
  assert_int_equal(tstate(f, "p"), TIDE_TS_PROCESSING);
  tide__task_want(f->s, T(f, "p"), -1);
  assert_null(T(f, "p"));
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "p"), 1);
  assert_int_equal(f->s->nprocessing + tide__sw_find(f->s, "w1")->nprocessing, 0);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain_runs_and_releases),
      cmocka_unit_test(test_saturation_queues),
      cmocka_unit_test(test_paused_and_closing_get_nothing),
      cmocka_unit_test(test_unwanted_results_are_forgotten),
      cmocka_unit_test(test_death_reschedules_and_recomputes),
      cmocka_unit_test(test_recompute_recursive),
      cmocka_unit_test(test_allowed_failures),
      cmocka_unit_test(test_error_propagates),
      cmocka_unit_test(test_retries_go_elsewhere),
      cmocka_unit_test(test_missing_data),
      cmocka_unit_test(test_heartbeat_timeout_and_events),
      cmocka_unit_test(test_release_cancels_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
