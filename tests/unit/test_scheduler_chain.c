/* Unit tests of chains sent ahead (src/scheduler/chain.c, docs/design.md
 * §4 "Chains"): which links go ahead to the worker computing their input,
 * how many, and that every way the link before leaves that worker without
 * a result (error, retry, worker death) brings them back to waiting, with
 * each link computed once and every count back to zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

enum { N = 12, AHEAD = 8 };

/* k0 <- k1 <- ... <- k11, k11 wanted, activated. */
static void make_chain(fixture *f)
{
  char k[16], p[16];
  fx_task(f, "k0", "tide.inc", NULL, NULL);
  for (int i = 1; i < N; i++) {
    snprintf(k, sizeof k, "k%d", i);
    snprintf(p, sizeof p, "k%d", i - 1);
    fx_task(f, k, "tide.inc", p, NULL);
  }
  tide__task_want(f->s, T(f, "k11"), 1);
  tide__task_activate(f->s, T(f, "k11"));
}

static stask *K(fixture *f, int i)
{
  char k[16];
  snprintf(k, sizeof k, "k%d", i);
  return T(f, k);
}

static int ncompute(int i)
{
  char k[16];
  snprintf(k, sizeof k, "k%d", i);
  return nsent(0, TIDE_OP_COMPUTE_TASK, k);
}

static void finish(fixture *f, int i, double dur)
{
  char k[16];
  snprintf(k, sizeof k, "k%d", i);
  fx_finish(f, k, 8, dur);
}

static uint64_t count(fixture *f, tide__tstate st)
{
  uint64_t c[TIDE_TS__COUNT];
  tide__sched_task_counts(f->s, c);
  return c[st];
}

/* Short links go ahead, 8 beyond the running one, to its worker; each is
 * sent once; the chain completes with nothing left processing. */
static void test_short_links_go_ahead(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  make_chain(f);
  /* the prefix's duration is unknown until one finishes: nothing ahead */
  assert_int_equal(K(f, 0)->state, TIDE_TS_PROCESSING);
  assert_int_equal(K(f, 1)->state, TIDE_TS_WAITING);
  assert_int_equal(ncompute(1), 0);
  finish(f, 0, 1e-6); /* learned: 1 us, under the 1 ms round trip */
  for (int i = 1; i <= 1 + AHEAD; i++) {
    assert_int_equal(K(f, i)->state, TIDE_TS_PROCESSING);
    assert_ptr_equal(K(f, i)->proc, w);
    assert_int_equal(ncompute(i), 1);
    assert_int_equal(K(f, i)->chain & TC_AFTER, i == 1 ? 0 : TC_AFTER);
  }
  assert_int_equal(K(f, 2 + AHEAD)->state, TIDE_TS_WAITING);
  assert_int_equal(ncompute(2 + AHEAD), 0);
  assert_int_equal(w->nprocessing, 1 + AHEAD);
  /* each finished link lets one more go ahead */
  finish(f, 1, 1e-6);
  assert_int_equal(K(f, 2)->chain, TC_BEFORE);
  assert_int_equal(K(f, 2 + AHEAD)->state, TIDE_TS_PROCESSING);
  assert_int_equal(w->nprocessing, 1 + AHEAD);
  for (int i = 2; i < N; i++)
    finish(f, i, 1e-6);
  assert_int_equal(K(f, 11)->state, TIDE_TS_MEMORY);
  for (int i = 0; i < N; i++)
    assert_int_equal(ncompute(i), 1);
  assert_int_equal(nsent(0, TIDE_OP_FREE_KEYS, "k5"), 1); /* its result, once k6 is done */
  assert_int_equal(w->nprocessing, 0);
  assert_int_equal(count(f, TIDE_TS_PROCESSING), 0);
  assert_true(w->occupancy == 0);
  fx_free(f);
}

/* Links of real duration (above the round trip) wait for their input as
 * before; so does a link with an input on another worker. */
static void test_long_or_remote_links_wait(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  make_chain(f);
  finish(f, 0, 0.5);
  assert_int_equal(K(f, 1)->state, TIDE_TS_PROCESSING);
  assert_int_equal(K(f, 2)->state, TIDE_TS_WAITING);
  assert_int_equal(ncompute(2), 0);
  fx_free(f);

  f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_task(f, "a0", "tide.inc", NULL, NULL);
  fx_task(f, "y", "tide.inc", NULL, NULL);
  fx_task(f, "a1", "tide.inc", "a0", NULL);
  fx_task(f, "a2", "tide.add", "a1", "y");
  tide__task_want(f->s, T(f, "a2"), 1);
  tide__task_activate(f->s, T(f, "a2"));
  int wa = sent_to("a0"), wy = sent_to("y");
  assert_int_not_equal(wa, wy);
  fx_finish(f, "y", 8, 1e-6);
  fx_finish(f, "a0", 8, 1e-6);
  assert_int_equal(sent_to("a1"), wa);
  /* a2 also needs y, held only by the other worker: not sent ahead */
  assert_int_equal(tstate(f, "a2"), TIDE_TS_WAITING);
  assert_int_equal(nsent(0, TIDE_OP_COMPUTE_TASK, "a2"), 0);
  fx_free(f);
}

/* The running link errs: the links ahead are cancelled on the worker and
 * err with its error. */
static void test_error_cancels_links_ahead(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  make_chain(f);
  finish(f, 0, 1e-6);
  tide__task_erred(f->s, w, K(f, 1), "boom", 1, 2, 0);
  /* the wanted end errs; the links before it, wanted by nobody, go */
  assert_int_equal(K(f, 11)->state, TIDE_TS_ERRED);
  for (int i = 2; i < N - 1; i++)
    assert_true(!K(f, i) || K(f, i)->state == TIDE_TS_RELEASED);
  assert_string_equal(K(f, 11)->err->task, "k1");
  assert_string_equal(K(f, 11)->err->msg, "boom");
  for (int i = 2; i <= 1 + AHEAD; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%d", i);
    assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, k), 1);
  }
  assert_int_equal(w->nprocessing, 0);
  assert_int_equal(count(f, TIDE_TS_PROCESSING), 0);
  fx_free(f);
}

/* The running link erred with a retry left: it goes to the other worker,
 * the links ahead are cancelled on the first and follow it there. */
static void test_retry_moves_links_ahead(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  make_chain(f);
  finish(f, 0, 1e-6);
  assert_ptr_equal(K(f, 1)->proc, w1);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  K(f, 1)->retries = 1;
  tide__task_erred(f->s, w1, K(f, 1), "flaky", 1, 2, 0);
  assert_int_equal(nsent(1, TIDE_OP_FREE_KEYS, "k2"), 1);
  assert_int_equal(w1->nprocessing, 0);
  assert_ptr_equal(K(f, 1)->proc, w2);
  for (int i = 2; i <= 1 + AHEAD; i++) {
    assert_ptr_equal(K(f, i)->proc, w2);
    assert_int_equal(ncompute(i), 2); /* once to each worker */
  }
  assert_int_equal(w2->nprocessing, 1 + AHEAD);
  for (int i = 1; i < N; i++)
    finish(f, i, 1e-6);
  assert_int_equal(K(f, 11)->state, TIDE_TS_MEMORY);
  assert_int_equal(w2->nprocessing, 0);
  fx_free(f);
}

/* The worker dies mid-chain: its input is recomputed elsewhere, the links
 * ahead wait again without counting a failure, and the chain completes. */
static void test_death_mid_chain_recomputes(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  make_chain(f);
  finish(f, 0, 1e-6);
  finish(f, 1, 1e-6);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  tide__sw_remove(f->s, w1, false, "killed");
  /* k1's result was only on w1 and k0's is released: both computed again */
  assert_int_equal(K(f, 0)->state, TIDE_TS_PROCESSING);
  assert_ptr_equal(K(f, 0)->proc, w2);
  assert_int_equal(K(f, 2)->failures, 1); /* it was running */
  for (int i = 3; i < N; i++) {
    assert_int_equal(K(f, i)->failures, 0); /* only sent ahead */
    assert_false(K(f, i)->proc == w1);
  }
  for (int i = 0; i < N; i++)
    finish(f, i, 1e-6);
  assert_int_equal(K(f, 11)->state, TIDE_TS_MEMORY);
  assert_int_equal(w2->nprocessing, 0);
  assert_int_equal(count(f, TIDE_TS_PROCESSING), 0);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.recomputed, 2);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_short_links_go_ahead),
      cmocka_unit_test(test_long_or_remote_links_wait),
      cmocka_unit_test(test_error_cancels_links_ahead),
      cmocka_unit_test(test_retry_moves_links_ahead),
      cmocka_unit_test(test_death_mid_chain_recomputes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
