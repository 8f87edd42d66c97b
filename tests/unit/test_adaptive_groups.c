/* Unit tests of the group rules the controller relies on (docs/design.md §6,
 * docs/design.md §7 "Whole groups"): tide__policy_workers_to_close closes whole groups,
 * idle before busy, least data first, never below the target, and the
 * controller's recommendation retires whole jobs after wait_count rounds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adaptive/recommend.h"
#include "common/util.h"
#include "scheduler/policy.h"

static tide__sw_view W(const char *name, const char *job, int nproc, int64_t nbytes)
{
  tide__sw_view w;
  memset(&w, 0, sizeof w);
  w.address = name;
  w.name = name;
  w.host = "h";
  w.job = job;
  w.nthreads = 1;
  w.memory_limit = 1 << 30;
  w.nbytes = nbytes;
  w.nprocessing = nproc;
  w.occupancy = nproc * 0.5;
  w.status = TIDE_W_RUNNING;
  return w;
}

static bool chosen(const size_t *out, size_t n, size_t idx)
{
  for (size_t i = 0; i < n; i++)
    if (out[i] == idx)
      return true;
  return false;
}

static void test_whole_groups(void **unused)
{
  /* three jobs of two workers; job t-1 busy, t-2 holds more data */
  tide__sw_view ws[] = {
      W("t-0-0", "t-0", 0, 10), W("t-0-1", "t-0", 0, 0),   W("t-1-0", "t-1", 1, 0),
      W("t-1-1", "t-1", 0, 0),  W("t-2-0", "t-2", 0, 500), W("t-2-1", "t-2", 0, 0),
  };
  size_t out[6];
  tide__close_opts o = {
      .target = 4, .n = -1, .memory_ratio = 0, .minimum = -1, .key = tide__group_by_job};
  size_t k = tide__policy_workers_to_close(ws, 6, &o, out);
  /* one whole idle group with the least data: t-0 */
  assert_int_equal(k, 2);
  assert_true(chosen(out, k, 0) && chosen(out, k, 1));

  /* target 2: two groups, idle ones first (t-0 then t-2), never the busy t-1 */
  o.target = 2;
  k = tide__policy_workers_to_close(ws, 6, &o, out);
  assert_int_equal(k, 4);
  assert_true(chosen(out, k, 0) && chosen(out, k, 1) && chosen(out, k, 4) && chosen(out, k, 5));

  /* target 3: a group is never split, so only one group (2 workers) goes */
  o.target = 3;
  k = tide__policy_workers_to_close(ws, 6, &o, out);
  assert_int_equal(k, 2);

  /* without a key every worker is its own group: target 3 closes 3 */
  o.key = NULL;
  k = tide__policy_workers_to_close(ws, 6, &o, out);
  assert_int_equal(k, 3);

  /* minimum is not undercut */
  o.target = 0;
  o.minimum = 5;
  k = tide__policy_workers_to_close(ws, 6, &o, out);
  assert_int_equal(k, 1);
}

static void test_nothing_asked_all_busy(void **unused)
{
  tide__sw_view ws[] = {W("a", "", 1, 0), W("b", "", 2, 0)};
  size_t out[2];
  tide__close_opts o = {.target = -1, .n = -1, .memory_ratio = 0, .minimum = -1};
  assert_int_equal(tide__policy_workers_to_close(ws, 2, &o, out), 0);
}

/* The controller with the real policy: whole jobs retire together after
 * wait_count rounds. */
typedef struct pol {
  tide__sw_view *ws;
  size_t n;
} pol;

static size_t policy_close(void *arg, int target, char ***names)
{
  pol *p = arg;
  size_t out[16];
  tide__close_opts o = {
      .target = target, .n = -1, .memory_ratio = 0, .minimum = -1, .key = tide__group_by_job};
  size_t k = tide__policy_workers_to_close(p->ws, p->n, &o, out);
  *names = tide__xcalloc(k + 1, sizeof(char *));
  for (size_t i = 0; i < k; i++)
    (*names)[i] = tide__xstrdup(p->ws[out[i]].name);
  return k;
}

static void test_controller_whole_jobs(void **unused)
{
  tide__sw_view ws[] = {
      W("t-0-0", "t-0", 1, 0),
      W("t-0-1", "t-0", 0, 0),
      W("t-1-0", "t-1", 0, 0),
      W("t-1-1", "t-1", 0, 0),
  };
  pol p = {ws, 4};
  tide__rec_state *st = tide__rec_state_create();
  tide__rec_in in = {.minimum = 0,
                     .maximum = INFINITY,
                     .wait_count = 2,
                     .processes = 2,
                     .nplan = 4,
                     .target = 1,
                     .to_close = policy_close,
                     .to_close_arg = &p};
  tide__rec_out out;
  tide__recommend(st, &in, &out); /* target 1 -> 2 (whole job) */
  assert_int_equal(out.target, 2);
  assert_int_equal(out.status, TIDE__REC_SAME);
  tide__rec_out_free(&out);
  tide__recommend(st, &in, &out);
  assert_int_equal(out.status, TIDE__REC_DOWN);
  assert_int_equal(out.nworkers, 2);
  assert_string_equal(out.workers[0], "t-1-0");
  assert_string_equal(out.workers[1], "t-1-1");
  tide__rec_out_free(&out);
  tide__rec_state_destroy(st);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_groups),
      cmocka_unit_test(test_nothing_asked_all_busy),
      cmocka_unit_test(test_controller_whole_jobs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
