/* Unit tests of the task stream as JSON text (the dashboard's route):
 * same entries as the JSON form, escaping, since, the ring bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

static void run(fixture *f, const char *key)
{
  tide__task_want(f->s, T(f, key), 1);
  tide__task_activate(f->s, T(f, key));
}

/* Finish key with start/stop at t0/t1. */
static void finish_at(fixture *f, const char *key, double t0, double t1)
{
  stask *t = T(f, key);
  tide__task_finished(f->s, t->proc, t, 1, t0, t1, 1);
}

static json_t *parse_text(fixture *f, double since)
{
  size_t len = 0;
  char *s = tide__sched_task_stream_text(f->s, since, &len);
  assert_non_null(s);
  assert_int_equal(strlen(s), len);
  json_error_t e;
  json_t *j = json_loadb(s, len, 0, &e);
  if (!j)
    fail_msg("not JSON (%s): %s", e.text, s);
  free(s);
  return j;
}

static void test_text_matches_json(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 4, 0);
  const char *keys[] = {"plain", "q\"uote\\back", "tab\there\x01", "caf\xc3\xa9-\xe2\x9c\x93"};
  for (int i = 0; i < 4; i++) {
    fx_task(f, keys[i], "tide.inc", NULL, NULL);
    run(f, keys[i]);
  }
  for (int i = 0; i < 4; i++)
    finish_at(f, keys[i], 1795660000.25 + i, 1795660000.5 + i);
  json_t *a = tide__sched_task_stream_json(f->s, 0);
  json_t *b = parse_text(f, 0);
  assert_int_equal(json_array_size(a), 4);
  assert_int_equal(json_array_size(b), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
    const char *fields[] = {"key", "prefix", "worker"};
    for (int k = 0; k < 3; k++)
      assert_string_equal(json_string_value(json_object_get(x, fields[k])),
                          json_string_value(json_object_get(y, fields[k])));
    assert_int_equal(json_integer_value(json_object_get(y, "thread")), 1);
    for (int k = 0; k < 2; k++) {
      const char *fld = k ? "stop" : "start";
      double dx = json_number_value(json_object_get(x, fld));
      double dy = json_number_value(json_object_get(y, fld));
      assert_true(dx - dy < 1e-6 && dy - dx < 1e-6);
    }
  }
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 1), "key")),
                      "q\"uote\\back");
  json_decref(a);
  json_decref(b);
  /* since: entries that stopped after it only */
  b = parse_text(f, 1795660001.5);
  assert_int_equal(json_array_size(b), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "key")),
                      "tab\there\x01");
  json_decref(b);
  b = parse_text(f, 1e12);
  assert_int_equal(json_array_size(b), 0);
  json_decref(b);
  fx_free(f);
}

static void test_text_ring_bound(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1000000, 0);
  char k[32];
  int n = TIDE__STREAM_RING + 10;
  for (int i = 0; i < n; i++) {
    snprintf(k, sizeof k, "t%d", i);
    fx_task(f, k, "tide.inc", NULL, NULL);
    run(f, k);
    finish_at(f, k, 100.0 + i, 100.5 + i);
  }
  json_t *b = parse_text(f, 0);
  assert_int_equal(json_array_size(b), TIDE__STREAM_RING);
  assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "key")), "t10");
  double stop =
      json_number_value(json_object_get(json_array_get(b, TIDE__STREAM_RING - 1), "stop"));
  assert_true(stop > 100.5 + n - 1 - 1e-6 && stop < 100.5 + n - 1 + 1e-6);
  json_decref(b);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_matches_json),
      cmocka_unit_test(test_text_ring_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
