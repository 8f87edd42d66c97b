/* Routing and validation of the HTTP API through tide__api_dispatch, with a
 * real scheduler on a loop (no workers): 404, 405, 400 on bad bodies, and
 * the shapes of the 200 answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "http/api.h"
#include "http/internal.h"

typedef struct fixture {
  uv_loop_t loop;
  tide__config cfg;
  tide__sched *s;
  tide__api *a;
} fixture;

typedef struct answer {
  int done;
  int status;
  json_t *body;
} answer;

static void on_reply(void *rctx, int status, json_t *body)
{
  answer *ans = rctx;
  ans->done++;
  ans->status = status;
  ans->body = body;
}

static int setup(void **state)
{
  fixture *f = calloc(1, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  tide__config_defaults(&f->cfg);
  tide_error err = {{0}};
  assert_int_equal(tide__sched_create(&f->loop, &f->cfg, &f->s, &err), 0);
  assert_int_equal(tide__api_create(f->s, NULL, NULL, &f->a), 0);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  fixture *f = *state;
  tide__api_destroy(f->a);
  tide__sched_close(f->s, false);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  tide__sched_destroy(f->s);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
  return 0;
}

/* Dispatch and run the loop until the answer comes (asynchronous routes). */
static answer call(fixture *f, const char *method, const char *path, const char *body)
{
  answer ans = {0};
  tide__api_dispatch(f->a, method, path, body, body ? strlen(body) : 0, on_reply, &ans);
  for (int i = 0; i < 1000 && !ans.done; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(ans.done, 1);
  assert_non_null(ans.body);
  return ans;
}

static void expect_error(fixture *f, const char *method, const char *path, const char *body,
                         int status, const char *mention)
{
  answer a = call(f, method, path, body);
  if (a.status != status)
    fail_msg("%s %s %s: status %d, want %d", method, path, body ? body : "", a.status, status);
  const char *msg = json_string_value(json_object_get(a.body, "error"));
  assert_non_null(msg);
  if (mention && !strstr(msg, mention))
    fail_msg("%s %s: error \"%s\" does not mention \"%s\"", method, path, msg, mention);
  json_decref(a.body);
}

static void test_unknown_routes(void **state)
{
  fixture *f = *state;
  expect_error(f, "GET", "/api/v1/nope", NULL, 404, "/api/v1/nope");
  expect_error(f, "GET", "/api/v2/identity", NULL, 404, NULL);
  expect_error(f, "POST", "/nothing", "{}", 404, NULL);
  expect_error(f, "GET", "/api/v1/identity/", NULL, 404, NULL);
}

static void test_wrong_method(void **state)
{
  fixture *f = *state;
  expect_error(f, "GET", "/api/v1/adapt", NULL, 405, "POST");
  expect_error(f, "GET", "/api/v1/scale", NULL, 405, "POST");
  expect_error(f, "GET", "/api/v1/retire_workers", NULL, 405, "POST");
  expect_error(f, "POST", "/api/v1/identity", "{}", 405, "GET");
  expect_error(f, "DELETE", "/metrics", NULL, 405, "GET");
  expect_error(f, "POST", "/", "{}", 405, NULL);
}

static void test_bad_bodies(void **state)
{
  fixture *f = *state;
  expect_error(f, "POST", "/api/v1/scale", NULL, 400, "JSON object");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": ", 400, "malformed JSON");
  expect_error(f, "POST", "/api/v1/scale", "not json", 400, "malformed JSON");
  expect_error(f, "POST", "/api/v1/scale", "[1, 2]", 400, "JSON object");
  expect_error(f, "POST", "/api/v1/scale", "3", 400, "JSON object");
  expect_error(f, "POST", "/api/v1/scale", "{}", 400, "n");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": -1}", 400, "n:");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": 1.5}", 400, "n:");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": \"3\"}", 400, "n:");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": 2, \"x\": 1}", 400, "\"x\"");
  expect_error(f, "POST", "/api/v1/adapt", "{\"minimum\": \"two\"}", 400, "minimum");
  expect_error(f, "POST", "/api/v1/adapt", "{\"minimum\": -1}", 400, "minimum");
  expect_error(f, "POST", "/api/v1/adapt", "{\"maximum\": \"lots\"}", 400, "maximum");
  expect_error(f, "POST", "/api/v1/adapt", "{\"interval\": \"soon\"}", 400, "interval");
  expect_error(f, "POST", "/api/v1/adapt", "{\"interval\": true}", 400, "interval");
  expect_error(f, "POST", "/api/v1/adapt", "{\"target_duration\": [1]}", 400, "target_duration");
  expect_error(f, "POST", "/api/v1/adapt", "{\"wait_count\": 2.5}", 400, "wait_count");
  expect_error(f, "POST", "/api/v1/adapt", "{\"worker_key\": 3}", 400, "worker_key");
  expect_error(f, "POST", "/api/v1/adapt", "{\"stop\": \"yes\"}", 400, "stop");
  expect_error(f, "POST", "/api/v1/adapt", "{\"stop\": true, \"minimum\": 1}", 400, "stop");
  expect_error(f, "POST", "/api/v1/adapt", "{\"colour\": 1}", 400, "colour");
  expect_error(f, "POST", "/api/v1/retire_workers", "{}", 400, "workers");
  expect_error(f, "POST", "/api/v1/retire_workers", "{\"workers\": \"w1\"}", 400, "workers");
  expect_error(f, "POST", "/api/v1/retire_workers", "{\"workers\": [\"a\", 2]}", 400, "workers");
  expect_error(f, "GET", "/api/v1/task_stream?since=abc", NULL, 400, "since");
}

static void test_no_cluster(void **state)
{
  fixture *f = *state;
  /* valid bodies, but a bare scheduler has no cluster manager */
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": 2}", 400, "no cluster manager");
  expect_error(f, "POST", "/api/v1/adapt", "{\"minimum\": 1, \"maximum\": \"inf\"}", 400,
               "no cluster manager");
  expect_error(f, "POST", "/api/v1/adapt", "{\"target_duration\": \"500ms\"}", 400,
               "no cluster manager");
  expect_error(f, "POST", "/api/v1/adapt", "{\"stop\": true}", 400, "no cluster manager");
}

/* A fake cluster manager behind the ops table: the routes reach it through
 * the interface alone, with the numbers it is given. */
typedef struct fake_manager {
  int scaled_to;
  int scale_calls;
  double td;
  char pool[16]; /* the pool of the last scale, "" none */
} fake_manager;

/* One pool, "big": any other name is not found. */
static int fake_scale(void *self, const char *pool, int n, tide_error *err)
{
  fake_manager *m = self;
  if (pool && strcmp(pool, "big") != 0)
    return tide_errprintf(err, TIDE_ENOTFOUND, "scale: no pool named \"%s\" (big)", pool);
  m->scale_calls++;
  m->scaled_to = n;
  snprintf(m->pool, sizeof m->pool, "%s", pool ? pool : "");
  return 0;
}

static double fake_td(void *self)
{
  return ((fake_manager *)self)->td;
}

static json_t *fake_info(void *self)
{
  return json_pack("{s:s}", "backend", "fake");
}

static void fake_figures(void *self, tide__api_figures *fig)
{
  fig->requested = ((fake_manager *)self)->scaled_to;
  fig->submissions = 7;
}

static void test_ops_table(void **state)
{
  fixture *f = *state;
  static const tide__api_ops ops = {.scale = fake_scale,
                                    .target_duration = fake_td,
                                    .info_json = fake_info,
                                    .figures = fake_figures};
  fake_manager m = {.td = 42.5};
  tide__api *a = NULL;
  assert_int_equal(tide__api_create(f->s, &ops, &m, &a), 0);
  tide__api *bare = f->a;
  f->a = a;

  answer r = call(f, "POST", "/api/v1/scale", "{\"n\": 3}");
  assert_int_equal(r.status, 200);
  assert_int_equal(m.scale_calls, 1);
  assert_int_equal(m.scaled_to, 3);
  assert_int_equal(json_integer_value(json_object_get(r.body, "requested")), 3);
  assert_string_equal(m.pool, "");
  assert_null(json_object_get(r.body, "pool"));
  json_decref(r.body);

  /* a pool by name; an unknown one is a 404 that scales nothing */
  m.scaled_to = 0;
  r = call(f, "POST", "/api/v1/scale", "{\"n\": 3, \"pool\": \"big\"}");
  assert_int_equal(r.status, 200);
  assert_int_equal(m.scale_calls, 2);
  assert_int_equal(m.scaled_to, 3);
  assert_string_equal(m.pool, "big");
  assert_string_equal(json_string_value(json_object_get(r.body, "pool")), "big");
  json_decref(r.body);
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": 2, \"pool\": \"nope\"}", 404,
               "no pool named \"nope\"");
  expect_error(f, "POST", "/api/v1/scale", "{\"n\": 2, \"pool\": 5}", 400,
               "pool: expected a pool's name");
  assert_int_equal(m.scale_calls, 2);
  assert_int_equal(m.scaled_to, 3);

  r = call(f, "GET", "/api/v1/cluster", NULL);
  assert_string_equal(json_string_value(json_object_get(r.body, "backend")), "fake");
  json_decref(r.body);

  r = call(f, "GET", "/api/v1/adaptive_target", NULL);
  assert_true(json_real_value(json_object_get(r.body, "target_duration")) == 42.5);
  json_decref(r.body);

  /* members left NULL answer as without a manager */
  expect_error(f, "POST", "/api/v1/adapt", "{\"minimum\": 1}", 400, "no cluster manager");

  size_t len = 0;
  char *text = tide__metrics_text(a, &len);
  assert_non_null(strstr(text, "tide_workers_requested 3\n"));
  assert_non_null(strstr(text, "tide_rm_submissions_total 7\n"));
  free(text);

  f->a = bare;
  tide__sched_set_api(f->s, NULL, NULL);
  tide__api_destroy(a);
}

static void test_identity_and_workers(void **state)
{
  fixture *f = *state;
  answer a = call(f, "GET", "/api/v1/identity", NULL);
  assert_int_equal(a.status, 200);
  assert_true(json_is_string(json_object_get(a.body, "id")));
  assert_true(json_is_string(json_object_get(a.body, "address")));
  assert_true(json_is_number(json_object_get(a.body, "started")));
  assert_int_equal(json_object_size(json_object_get(a.body, "workers")), 0);
  json_t *tasks = json_object_get(a.body, "tasks");
  assert_int_equal(json_object_size(tasks), 7);
  const char *states[] = {"waiting", "queued", "no-worker", "processing",
                          "memory",  "erred",  "released"};
  for (int i = 0; i < 7; i++)
    assert_int_equal(json_integer_value(json_object_get(tasks, states[i])), 0);
  json_decref(a.body);

  a = call(f, "GET", "/api/v1/get_workers", NULL);
  assert_int_equal(a.status, 200);
  assert_int_equal(json_integer_value(json_object_get(a.body, "num_workers")), 0);
  assert_int_equal(json_array_size(json_object_get(a.body, "workers")), 0);
  json_decref(a.body);
}

static void test_adaptive_routes(void **state)
{
  fixture *f = *state;
  answer a = call(f, "GET", "/api/v1/adaptive_target", NULL);
  assert_int_equal(a.status, 200);
  assert_int_equal(json_integer_value(json_object_get(a.body, "workers")), 0);
  assert_true(json_number_value(json_object_get(a.body, "target_duration")) == 5.0);
  json_decref(a.body);

  a = call(f, "GET", "/api/v1/adaptive", NULL);
  assert_int_equal(a.status, 200);
  assert_string_equal(json_string_value(json_object_get(a.body, "state")), "inactive");
  assert_int_equal(json_integer_value(json_object_get(a.body, "minimum")), 0);
  assert_string_equal(json_string_value(json_object_get(a.body, "maximum")), "inf");
  assert_int_equal(json_integer_value(json_object_get(a.body, "wait_count")), 3);
  assert_true(json_number_value(json_object_get(a.body, "interval")) == 1.0);
  assert_true(json_number_value(json_object_get(a.body, "target_duration")) == 5.0);
  const char *lists[] = {"plan", "requested", "observed", "log"};
  for (int i = 0; i < 4; i++) {
    json_t *l = json_object_get(a.body, lists[i]);
    assert_true(json_is_array(l));
    assert_int_equal(json_array_size(l), 0);
  }
  json_decref(a.body);
}

static void test_tasks_stream_cluster_logs(void **state)
{
  fixture *f = *state;
  answer a = call(f, "GET", "/api/v1/tasks", NULL);
  assert_int_equal(a.status, 200);
  assert_int_equal(json_object_size(json_object_get(a.body, "states")), 7);
  assert_true(json_is_object(json_object_get(a.body, "prefixes")));
  json_decref(a.body);

  a = call(f, "GET", "/api/v1/task_stream?since=0", NULL);
  assert_int_equal(a.status, 200);
  assert_int_equal(json_array_size(json_object_get(a.body, "tasks")), 0);
  assert_int_equal(json_array_size(json_object_get(a.body, "workers")), 0);
  assert_true(json_number_value(json_object_get(a.body, "now")) > 1.6e9);
  json_decref(a.body);

  a = call(f, "GET", "/api/v1/cluster", NULL);
  assert_int_equal(a.status, 200);
  assert_true(json_is_object(a.body));
  assert_int_equal(json_object_size(a.body), 0);
  json_decref(a.body);

  a = call(f, "GET", "/api/v1/logs", NULL);
  assert_int_equal(a.status, 200);
  assert_true(json_is_array(json_object_get(a.body, "cluster")));
  assert_true(json_is_array(json_object_get(a.body, "scheduler")));
  assert_true(json_is_object(json_object_get(a.body, "workers")));
  json_decref(a.body);
}

static void test_retire(void **state)
{
  fixture *f = *state;
  answer a = call(f, "POST", "/api/v1/retire_workers", "{\"workers\": []}");
  assert_int_equal(a.status, 200);
  assert_int_equal(json_array_size(json_object_get(a.body, "retired")), 0);
  assert_int_equal(json_object_size(json_object_get(a.body, "not_retired")), 0);
  json_decref(a.body);

  a = call(f, "POST", "/api/v1/retire_workers", "{\"workers\": [\"ghost\"]}");
  assert_int_equal(a.status, 200);
  assert_int_equal(json_array_size(json_object_get(a.body, "retired")), 0);
  assert_true(json_is_string(json_object_get(json_object_get(a.body, "not_retired"), "ghost")));
  json_decref(a.body);
}

static void test_metrics(void **state)
{
  fixture *f = *state;
  answer a = call(f, "GET", "/metrics", NULL);
  assert_int_equal(a.status, 200);
  const char *t = json_string_value(a.body);
  assert_non_null(t);
  const char *gauges[] = {"tide_workers", "tide_workers_requested", "tide_adaptive_target",
                          "tide_memory_bytes"};
  char line[256];
  for (int i = 0; i < 4; i++) {
    snprintf(line, sizeof line, "# TYPE %s gauge\n%s 0\n", gauges[i], gauges[i]);
    if (!strstr(t, line))
      fail_msg("metrics lack \"%s\"", line);
    snprintf(line, sizeof line, "# HELP %s ", gauges[i]);
    assert_non_null(strstr(t, line));
  }
  const char *counters[] = {"tide_retired_workers_total", "tide_recomputed_tasks_total",
                            "tide_retirements_failed_total", "tide_rm_submissions_total",
                            "tide_rm_submit_failures_total"};
  for (int i = 0; i < 5; i++) {
    snprintf(line, sizeof line, "# TYPE %s counter\n%s 0\n", counters[i], counters[i]);
    if (!strstr(t, line))
      fail_msg("metrics lack \"%s\"", line);
  }
  assert_non_null(strstr(t, "# TYPE tide_tasks gauge\n"));
  assert_non_null(strstr(t, "tide_tasks{state=\"no-worker\"} 0\n"));
  assert_non_null(strstr(t, "# TYPE tide_task_prefix_duration_seconds gauge\n"));
  assert_non_null(strstr(t, "# TYPE tide_tasks_by_prefix gauge\n"));
  assert_non_null(strstr(t, "# TYPE tide_worker_nbytes gauge\n"));
  json_decref(a.body);
}

static void test_prom_escape(void **state)
{
  char *e = tide__prom_escape("a\"b\\c\nd");
  assert_string_equal(e, "a\\\"b\\\\c\\nd");
  free(e);
  e = tide__prom_escape("plain-name_1");
  assert_string_equal(e, "plain-name_1");
  free(e);
}

static void test_page_through_dispatch(void **state)
{
  fixture *f = *state;
  answer a = call(f, "GET", "/", NULL);
  assert_int_equal(a.status, 200);
  assert_non_null(strstr(json_string_value(a.body), "<html"));
  json_decref(a.body);
  a = call(f, "GET", "/static/app.js", NULL);
  assert_int_equal(a.status, 200);
  assert_true(json_string_length(a.body) > 100);
  json_decref(a.body);
  expect_error(f, "GET", "/static/missing.js", NULL, 404, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unknown_routes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_method, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_bodies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_cluster, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ops_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_identity_and_workers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_adaptive_routes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tasks_stream_cluster_logs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
      cmocka_unit_test(test_prom_escape),
      cmocka_unit_test_setup_teardown(test_page_through_dispatch, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
