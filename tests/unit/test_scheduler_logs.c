/* Unit tests of worker_logs without sockets: a request is answered once,
 * with the lines of the workers that replied, also when the scheduler
 * closes before every worker answered (the fuzz target fuzz_http found a
 * request left unanswered and leaked at close). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

typedef struct answer {
  int calls;
  size_t nworkers; /* keys of the answer */
  size_t w1_lines; /* lines given for w1 */
} answer;

static void on_logs(tide__sched *s, json_t *logs, void *arg)
{
  answer *a = arg;
  a->calls++;
  a->nworkers = json_object_size(logs);
  a->w1_lines = json_array_size(json_object_get(logs, "w1"));
}

static void test_logs_answered_at_close(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  answer a = {0};
  tide__sched_worker_logs(f->s, 30.0, on_logs, &a);
  assert_int_equal(nsent(0, TIDE_OP_GET_LOGS, NULL), 2);
  /* w1 answers with two lines, w2 never does */
  char reply[128];
  snprintf(reply, sizeof reply, "{\"op\": \"reply\", \"id\": %lld, \"lines\": [\"one\", \"two\"]}",
           (long long)f->s->next_gather_id - 1);
  worker_send(f, tide__sw_find(f->s, "w1"), reply);
  assert_int_equal(a.calls, 0); /* still waiting for w2 */
  fx_free(f);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.nworkers, 2);
  assert_int_equal(a.w1_lines, 2);
}

static void test_logs_answered_once(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  answer a = {0};
  tide__sched_worker_logs(f->s, 30.0, on_logs, &a);
  char reply[128];
  snprintf(reply, sizeof reply, "{\"op\": \"reply\", \"id\": %lld, \"lines\": [\"only\"]}",
           (long long)f->s->next_gather_id - 1);
  worker_send(f, tide__sw_find(f->s, "w1"), reply);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.w1_lines, 1);
  fx_free(f);
  assert_int_equal(a.calls, 1); /* not again at close */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logs_answered_at_close),
      cmocka_unit_test(test_logs_answered_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
