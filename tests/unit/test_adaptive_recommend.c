/* Unit tests of the Adaptive controller's pure decisions (docs/design.md §7):
 * clipping, up/same/down, close counts, not-arrived first, wait_count,
 * whole jobs, max-pending and the backoff state machine. */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adaptive/recommend.h"
#include "common/util.h"

/* A fake workers_to_close: returns the first min(nclose, observed-target)
 * names of a fixed list, and records the target it was asked for. */
typedef struct fake_close {
  const char *const *names;
  size_t n;
  int asked_target;
  int calls;
  int observed; /* workers connected */
} fake_close;

static size_t fake_to_close(void *arg, int target, char ***out)
{
  fake_close *f = arg;
  f->calls++;
  f->asked_target = target;
  int want = f->observed - target;
  size_t k = want < 0 ? 0 : (size_t)want;
  if (k > f->n)
    k = f->n;
  *out = tide__xcalloc(k ? k : 1, sizeof(char *));
  for (size_t i = 0; i < k; i++)
    (*out)[i] = tide__xstrdup(f->names[i]);
  return k;
}

static tide__rec_in base_in(void)
{
  tide__rec_in in = {0};
  in.minimum = 0;
  in.maximum = INFINITY;
  in.wait_count = 3;
  in.processes = 1;
  return in;
}

static void test_clip(void **unused)
{
  assert_int_equal(tide__rec_clip(5, 0, INFINITY, 1), 5);
  assert_int_equal(tide__rec_clip(5, 0, 2, 1), 2);
  assert_int_equal(tide__rec_clip(0, 1, 2, 1), 1);
  assert_int_equal(tide__rec_clip(-3, 0, 2, 1), 0);
  /* minimum wins when minimum > maximum (as in Dask) */
  assert_int_equal(tide__rec_clip(0, 4, 2, 1), 4);
  assert_int_equal(tide__rec_clip(10, 4, 2, 1), 4);
  /* whole jobs: P=4 */
  assert_int_equal(tide__rec_clip(5, 0, INFINITY, 4), 8);
  assert_int_equal(tide__rec_clip(5, 0, 6, 4), 4);   /* maximum rounds down */
  assert_int_equal(tide__rec_clip(5, 0, 2, 4), 4);   /* but one job at least */
  assert_int_equal(tide__rec_clip(0, 1, 100, 4), 4); /* minimum rounds up */
  assert_int_equal(tide__rec_clip(0, 0, 0, 4), 0);
  assert_int_equal(tide__rec_round_jobs(0, 3), 0);
  assert_int_equal(tide__rec_round_jobs(1, 3), 3);
  assert_int_equal(tide__rec_round_jobs(3, 3), 3);
  assert_int_equal(tide__rec_round_jobs(7, 3), 9);
  assert_int_equal(tide__rec_round_jobs(7, 1), 7);
}

static void test_up_same_down(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  const char *names[] = {"w-0", "w-1", "w-2"};
  fake_close f = {names, 3, 0, 0, 3};
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.to_close = fake_to_close;
  in.to_close_arg = &f;

  in.target = 5;
  in.nplan = 3;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 5);
  assert_int_equal(out.target, 5);
  tide__rec_out_free(&out);

  in.target = 3;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(f.calls, 0);
  tide__rec_out_free(&out);

  /* down needs wait_count rounds in a row */
  in.target = 1;
  for (int round = 1; round <= 3; round++) {
    tide__recommend(st, &in, &out);
    assert_int_equal(f.asked_target, 1);
    assert_int_equal(tide__rec_state_count(st, "w-0"), round);
    assert_int_equal(tide__rec_state_count(st, "w-1"), round);
    assert_int_equal(tide__rec_state_count(st, "w-2"), 0);
    if (round < 3) {
      assert_int_equal(out.status, TIDE__REC_SAME);
      assert_int_equal(out.nworkers, 0);
    } else {
      assert_int_equal(out.status, TIDE__REC_DOWN);
      assert_int_equal(out.nworkers, 2);
      assert_string_equal(out.workers[0], "w-0");
      assert_string_equal(out.workers[1], "w-1");
    }
    tide__rec_out_free(&out);
  }
  /* maximum clips a target above the plan to the plan: same */
  in.target = 10;
  in.maximum = 3;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(out.target, 3);
  assert_int_equal(tide__rec_state_size(st), 0);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

static void test_counts_consecutive(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  const char *names[] = {"w-0", "w-1"};
  fake_close f = {names, 2, 0, 0, 2};
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.to_close = fake_to_close;
  in.to_close_arg = &f;
  in.nplan = 2;

  /* two rounds of "close", then one "same" resets, then two more: no down */
  in.target = 1;
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 2);
  in.target = 2;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 0);
  tide__rec_out_free(&out);
  in.target = 1;
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  tide__rec_out_free(&out);
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_DOWN);
  tide__rec_out_free(&out);

  /* an up round resets every count too */
  tide__rec_state_clear(st);
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  in.target = 4;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(tide__rec_state_size(st), 0);
  tide__rec_out_free(&out);

  /* a worker that stops being a candidate loses its count */
  in.target = 1;
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  names[0] = "w-1"; /* now the scheduler prefers w-1 */
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 0);
  assert_int_equal(tide__rec_state_count(st, "w-1"), 1);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

static void test_not_arrived_first(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  const char *names[] = {"w-0", "w-1"};
  fake_close f = {names, 2, 0, 0, 2};
  tide__rec_member na[] = {{"w-2", "w-2"}, {"w-3", "w-3"}};
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.to_close = fake_to_close;
  in.to_close_arg = &f;
  in.nplan = 4;
  in.not_arrived = na;
  in.nnot_arrived = 2;
  in.wait_count = 1;

  /* plan 4 (2 not arrived), target 2: only the not-arrived are closed and
   * workers_to_close is not asked */
  in.target = 2;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_DOWN);
  assert_int_equal(out.nworkers, 2);
  assert_int_equal(f.calls, 0);
  assert_true(strcmp(out.workers[0], "w-3") == 0 || strcmp(out.workers[1], "w-3") == 0);
  assert_true(strcmp(out.workers[0], "w-2") == 0 || strcmp(out.workers[1], "w-2") == 0);
  tide__rec_out_free(&out);

  /* target 3: one not-arrived (the newest) */
  tide__rec_state_clear(st);
  in.target = 3;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.nworkers, 1);
  assert_string_equal(out.workers[0], "w-3");
  tide__rec_out_free(&out);

  /* target 1: both not-arrived, then one from workers_to_close(target=1) */
  tide__rec_state_clear(st);
  in.target = 1;
  tide__recommend(st, &in, &out);
  assert_int_equal(f.calls, 1);
  assert_int_equal(f.asked_target, 1);
  assert_int_equal(out.nworkers, 3);
  assert_string_equal(out.workers[2], "w-0");
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

static void test_wait_count(void **unused)
{
  for (int wc = 1; wc <= 6; wc++) {
    tide__rec_state *st = tide__rec_state_create();
    const char *names[] = {"w-0"};
    fake_close f = {names, 1, 0, 0, 1};
    tide__rec_in in = base_in();
    tide__rec_out out;
    in.to_close = fake_to_close;
    in.to_close_arg = &f;
    in.nplan = 1;
    in.target = 0;
    in.wait_count = wc;
    int rounds = 0;
    do {
      tide__recommend(st, &in, &out);
      rounds++;
      int down = out.status == TIDE__REC_DOWN;
      tide__rec_out_free(&out);
      if (down)
        break;
    } while (rounds < 20);
    assert_int_equal(rounds, wc);
    tide__rec_state_destroy(st);
  }
}

static void test_whole_jobs(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.processes = 2;
  in.wait_count = 1;

  /* target 3 with P=2 asks for 2 jobs = 4 workers */
  in.target = 3;
  in.nplan = 0;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.target, 4);
  assert_int_equal(out.n, 4);
  tide__rec_out_free(&out);

  /* plan 4 = two jobs; target 3 rounds to 4: same, never a half job */
  in.nplan = 4;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  tide__rec_out_free(&out);

  /* a job with one worker arrived and one not is not a not-arrived job */
  tide__rec_member na[] = {{"t-0-1", "t-0"}, {"t-1-0", "t-1"}, {"t-1-1", "t-1"}};
  in.not_arrived = na;
  in.nnot_arrived = 3;
  in.target = 1; /* -> 2 */
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_DOWN);
  assert_int_equal(out.nworkers, 2);
  assert_string_equal(out.workers[0], "t-1-0");
  assert_string_equal(out.workers[1], "t-1-1");
  tide__rec_out_free(&out);

  /* up_n adds whole jobs */
  assert_int_equal(tide__rec_up_n(5, 2, 0, 0, 2), 6);
  assert_int_equal(tide__rec_up_n(5, 6, 0, 0, 2), 6);
  tide__rec_state_destroy(st);
}

/* The shrink rule scale() and the controller share: newest whole
 * not-arrived jobs first, then workers_to_close, each name once. */
static void test_pick_down(void **unused)
{
  /* P=2, oldest first: t-0 half arrived, t-1 and t-2 not arrived at all */
  tide__rec_member na[] = {
      {"t-0-1", "t-0"}, {"t-1-0", "t-1"}, {"t-1-1", "t-1"}, {"t-2-0", "t-2"}, {"t-2-1", "t-2"}};
  const char *arrived[] = {"t-2-1", "t-0-0", "t-0-1"};
  fake_close f = {.names = arrived, .n = 3, .observed = 8};
  char **names = NULL;

  /* need 2: the newest job only, workers_to_close not asked */
  size_t n = tide__rec_pick_down(na, 5, 2, 2, 6, fake_to_close, &f, &names);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "t-2-0");
  assert_string_equal(names[1], "t-2-1");
  assert_int_equal(f.calls, 0);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);

  /* need 6: both whole not-arrived jobs (4), then workers_to_close(target
   * 2) whose t-2-1 is already taken: 6 names, no duplicate */
  n = tide__rec_pick_down(na, 5, 2, 6, 2, fake_to_close, &f, &names);
  assert_int_equal(f.calls, 1);
  assert_int_equal(f.asked_target, 2);
  assert_int_equal(n, 6);
  assert_string_equal(names[0], "t-2-0");
  assert_string_equal(names[1], "t-2-1");
  assert_string_equal(names[2], "t-1-0");
  assert_string_equal(names[3], "t-1-1");
  assert_string_equal(names[4], "t-0-0");
  assert_string_equal(names[5], "t-0-1");
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);

  /* nothing to pick and no workers_to_close: an empty list */
  n = tide__rec_pick_down(NULL, 0, 1, 3, 0, NULL, NULL, &names);
  assert_int_equal(n, 0);
  free(names);
}

static void test_max_pending(void **unused)
{
  assert_int_equal(tide__rec_up_n(10, 0, 0, 3, 1), 3);
  assert_int_equal(tide__rec_up_n(10, 3, 3, 3, 1), 3); /* full: nothing more */
  assert_int_equal(tide__rec_up_n(10, 3, 1, 3, 1), 5);
  assert_int_equal(tide__rec_up_n(10, 0, 0, 2, 4), 8);  /* jobs, not workers */
  assert_int_equal(tide__rec_up_n(10, 0, 0, 0, 1), 10); /* no limit */

  tide__rec_state *st = tide__rec_state_create();
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.target = 10;
  in.nplan = 4;
  in.pending_jobs = 4;
  in.max_pending = 4;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_non_null(out.blocked);
  assert_string_equal(out.blocked, "max-pending");
  tide__rec_out_free(&out);
  in.pending_jobs = 2; /* two arrived */
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 6);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

static void test_backoff(void **unused)
{
  tide__backoff b;
  tide__backoff_init(&b);
  double now = 1000;
  const double expect[] = {1, 5, 30, 60, 60, 60, 60, 60, 60, 60};
  assert_true(tide__backoff_ready(&b, now));
  for (int i = 0; i < 10; i++) {
    assert_false(b.paused);
    tide__backoff_fail(&b, now, "sbatch: error");
    assert_int_equal(b.failures, i + 1);
    assert_true(b.next_try - now > expect[i] - 1e-9 && b.next_try - now < expect[i] + 1e-9);
    assert_false(tide__backoff_ready(&b, now + expect[i] - 0.01));
    assert_true(tide__backoff_ready(&b, now + expect[i]));
    now += expect[i];
  }
  assert_true(b.paused);
  assert_string_equal(b.reason, "sbatch: error");
  /* paused: attempts still every 60 s; a success resets everything */
  tide__backoff_fail(&b, now, "again");
  assert_true(b.paused);
  assert_int_equal((int)(b.next_try - now), 60);
  tide__backoff_ok(&b);
  assert_false(b.paused);
  assert_int_equal(b.failures, 0);
  assert_true(tide__backoff_ready(&b, now));
  tide__backoff_fail(&b, now, "x");
  assert_int_equal((int)(b.next_try - now + 0.5), 1);

  /* the recommendation respects it */
  tide__rec_state *st = tide__rec_state_create();
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.target = 2;
  in.backoff = &b;
  in.now = now + 0.5;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_string_equal(out.blocked, "backoff");
  tide__rec_out_free(&out);
  in.now = now + 1;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 2);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);

  /* custom delays; bad ones refused */
  double d[] = {0.1, 0.2};
  assert_int_equal(tide__backoff_set_delays(&b, d, 2), 0);
  assert_true(tide__backoff_delay(&b, 1) == 0.1);
  assert_true(tide__backoff_delay(&b, 7) == 0.2);
  double bad[] = {0.1, -1};
  assert_int_equal(tide__backoff_set_delays(&b, bad, 2), -1);
  assert_true(tide__backoff_delay(&b, 2) == 0.2);
}

static void test_reactive_and_blocked(void **unused)
{
  tide__rec_state *st = tide__rec_state_create();
  const char *names[] = {"w-0"};
  fake_close f = {names, 1, 0, 0, 2};
  tide__rec_in in = base_in();
  tide__rec_out out;
  in.to_close = fake_to_close;
  in.to_close_arg = &f;
  in.nplan = 2;
  in.target = 1;
  tide__recommend(st, &in, &out);
  tide__rec_out_free(&out);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 1);
  /* a reactive (up-only) round below the plan changes nothing */
  in.up_only = true;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 1);
  tide__rec_out_free(&out);
  /* and scales up when the target is above it */
  in.target = 5;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_UP);
  assert_int_equal(out.n, 5);
  tide__rec_out_free(&out);
  /* during a retirement no down step and counts stay */
  in.up_only = false;
  in.down_blocked = true;
  in.target = 1;
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_SAME);
  assert_int_equal(tide__rec_state_count(st, "w-0"), 1);
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clip),
      cmocka_unit_test(test_up_same_down),
      cmocka_unit_test(test_counts_consecutive),
      cmocka_unit_test(test_not_arrived_first),
      cmocka_unit_test(test_wait_count),
      cmocka_unit_test(test_whole_jobs),
      cmocka_unit_test(test_pick_down),
      cmocka_unit_test(test_max_pending),
      cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_reactive_and_blocked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
