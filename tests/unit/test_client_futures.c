/* The futures API against a real scheduler and worker, each on its own
 * loop thread in this process: submit with future arguments, map of 10,000,
 * as_completed order, cancel, errors, and release (the scheduler's task
 * count goes back to 0 after every test). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/internal.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "http/api.h"
#include "scheduler/scheduler.h"
#include "tide/client.h"
#include "worker/builtins.h"
#include "worker/registry.h"
#include "worker/worker.h"

/* --- a scheduler and a 4-thread worker on threads of their own ------------- */

typedef struct cluster {
  tide__config cfg;
  uv_loop_t sloop, wloop;
  uv_async_t sstop;
  tide__sched *s;
  tide__api *api;
  tide__wk *w;
  tide_registry *reg;
  pthread_t st, wt;
  char addr[128];
  pthread_mutex_t lock;
  pthread_cond_t cv;
  bool ready;
} cluster;

static cluster K;
static tide_client *C;

static void on_sstop(uv_async_t *a)
{
  tide__sched_close(K.s, true); /* the worker is told to close, and exits */
  uv_close((uv_handle_t *)a, NULL);
}

static void *sched_main(void *arg)
{
  tide_error err;
  (void)arg;
  uv_loop_init(&K.sloop);
  assert_int_equal(tide__sched_create(&K.sloop, &K.cfg, &K.s, &err), 0);
  assert_int_equal(tide__sched_listen(K.s, "127.0.0.1", 0, &err), 0);
  assert_int_equal(tide__api_create(K.s, NULL, NULL, &K.api), 0);
  uv_async_init(&K.sloop, &K.sstop, on_sstop);
  pthread_mutex_lock(&K.lock);
  snprintf(K.addr, sizeof K.addr, "%s", tide__sched_address(K.s));
  K.ready = true;
  pthread_cond_signal(&K.cv);
  pthread_mutex_unlock(&K.lock);
  uv_run(&K.sloop, UV_RUN_DEFAULT);
  tide__sched_destroy(K.s);
  tide__api_destroy(K.api);
  uv_loop_close(&K.sloop);
  return NULL;
}

static void *worker_main(void *arg)
{
  tide_error err;
  (void)arg;
  tide__wk_opts o = {.scheduler = K.addr, .name = "w1", .nthreads = 4};
  uv_loop_init(&K.wloop);
  assert_int_equal(tide__wk_create(&K.wloop, &o, &K.cfg, K.reg, &K.w, &err), 0);
  assert_int_equal(tide__wk_start(K.w, &err), 0);
  uv_run(&K.wloop, UV_RUN_DEFAULT);
  tide__wk_destroy(K.w);
  uv_loop_close(&K.wloop);
  return NULL;
}

/* Sum of the scheduler's task counts over every state (its HTTP API). */
static long task_count(void)
{
  int status = 0;
  char *body = NULL;
  tide_error err;
  assert_int_equal(tide_client_api(C, "GET", "/api/v1/identity", NULL, &status, &body, &err), 0);
  assert_int_equal(status, 200);
  json_t *j = json_loads(body, 0, NULL), *v;
  const char *k;
  long n = 0;
  json_object_foreach(json_object_get(j, "tasks"), k, v) n += (long)json_integer_value(v);
  json_decref(j);
  free(body);
  return n;
}

/* Wait (up to 10 s) for the scheduler to hold no task at all. */
static void assert_scheduler_empty(void)
{
  double end = tide__now() + 10;
  long n;
  while ((n = task_count()) != 0 && tide__now() < end) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(n, 0);
}

static int group_setup(void **state)
{
  tide_error err;
  (void)state;
  tide__log_init("test", TIDE_LOG_ERROR);
  signal(SIGPIPE, SIG_IGN);
  tide__config_defaults(&K.cfg);
  pthread_mutex_init(&K.lock, NULL);
  pthread_cond_init(&K.cv, NULL);
  tide__registry_create(&K.reg);
  tide__builtins_register(K.reg, true);
  pthread_create(&K.st, NULL, sched_main, NULL);
  pthread_mutex_lock(&K.lock);
  while (!K.ready)
    pthread_cond_wait(&K.cv, &K.lock);
  pthread_mutex_unlock(&K.lock);
  pthread_create(&K.wt, NULL, worker_main, NULL);
  assert_int_equal(tide_client_connect(K.addr, NULL, 10, &C, &err), 0);
  /* the worker has arrived once the scheduler lists it */
  double end = tide__now() + 10;
  for (;;) {
    int status;
    char *body = NULL;
    assert_int_equal(tide_client_api(C, "GET", "/api/v1/identity", NULL, &status, &body, &err), 0);
    bool has = strstr(body, "\"w1\"") != NULL;
    free(body);
    if (has)
      break;
    assert_true(tide__now() < end);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  tide_client_destroy(C);
  uv_async_send(&K.sstop);
  pthread_join(K.wt, NULL);
  pthread_join(K.st, NULL);
  tide__registry_destroy(K.reg);
  return 0;
}

/* Every test leaves nothing behind on the scheduler. */
static int test_teardown(void **state)
{
  (void)state;
  assert_scheduler_empty();
  return 0;
}

/* --- helpers ----------------------------------------------------------------- */

static int64_t int_of(const char *v, size_t len)
{
  msgpack_unpacked u;
  size_t off = 0;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, v, len, &off), MSGPACK_UNPACK_SUCCESS);
  assert_true(u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
              u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
  int64_t x = u.data.via.i64;
  msgpack_unpacked_destroy(&u);
  return x;
}

static int64_t result_int(tide_future *f)
{
  char *v = NULL;
  size_t len = 0;
  tide_error err = {{0}};
  int rc = tide_future_result(f, 30, &v, &len, &err);
  if (rc != 0)
    fail_msg("result of %s: %s", tide_future_key(f), err.text);
  int64_t x = int_of(v, len);
  free(v);
  return x;
}

static tide_future *submit(const char *fn, const char *args, tide_future *const *fs, size_t n)
{
  tide_future *f = NULL;
  tide_error err = {{0}};
  int rc = tide_submit(C, fn, args, fs, n, &f, &err);
  if (rc != 0)
    fail_msg("submit %s %s: %s", fn, args ? args : "", err.text);
  return f;
}

/* --- tests ------------------------------------------------------------------- */

static void test_submit_with_future_arguments(void **state)
{
  (void)state;
  tide_future *a = submit("tide.inc", "[41]", NULL, 0);
  tide_future *b = submit("tide.inc", "[1]", NULL, 0);
  tide_future *ab[2] = {a, b};
  /* {"future": I} anywhere in the arguments, also inside an array */
  tide_future *sum = submit("tide.add", "[{\"future\": 0}, 100, {\"future\": 1}]", ab, 2);
  tide_future *arr = submit("tide.sum", "[[{\"future\": 1}, {\"future\": 1}, 7]]", ab, 2);
  /* NULL arguments: the futures themselves */
  tide_future *both = submit("tide.add", NULL, ab, 2);
  assert_int_equal(result_int(sum), 42 + 100 + 2);
  assert_int_equal(result_int(arr), 2 + 2 + 7);
  assert_int_equal(result_int(both), 44);
  assert_int_equal(tide_future_status_get(sum), TIDE_FUTURE_FINISHED);
  assert_int_equal(strncmp(tide_future_key(sum), "tide.add-", 9), 0);

  /* a dependency released before its dependent ran is kept for it */
  tide_future *slow = submit("tide.sleep", "[0.2, 5]", NULL, 0);
  tide_future *next = submit("tide.inc", "[{\"future\": 0}]", &slow, 1);
  tide_future_release(slow);
  assert_int_equal(result_int(next), 6);

  /* retain: the result stays until the last reference goes */
  tide_future *again = tide_future_retain(a);
  tide_future_release(a);
  assert_int_equal(result_int(again), 42);
  tide_future_release(again);
  tide_future_release(b);
  tide_future_release(sum);
  tide_future_release(arr);
  tide_future_release(both);
  tide_future_release(next);
}

static void test_map_10000(void **state)
{
  enum { N = 10000 };
  (void)state;
  char **argv = malloc(N * sizeof *argv);
  tide_future **fs = malloc(N * sizeof *fs), **sq = malloc(N * sizeof *sq);
  char **vals = malloc(N * sizeof *vals);
  size_t *lens = malloc(N * sizeof *lens);
  tide_error err = {{0}};
  for (int i = 0; i < N; i++)
    argv[i] = tide__xasprintf("[%d]", i);
  assert_int_equal(tide_map(C, "tide.inc", N, (const char *const *)argv, NULL, fs, &err), 0);
  /* a map over futures: inc(inc(i)) */
  assert_int_equal(tide_map(C, "tide.inc", N, NULL, fs, sq, &err), 0);
  if (tide_gather(C, N, sq, vals, lens, 60, &err) != 0)
    fail_msg("gather: %s", err.text);
  for (int i = 0; i < N; i++) {
    assert_int_equal(int_of(vals[i], lens[i]), i + 2);
    free(vals[i]);
  }
  /* reduce: one task taking every mapped future */
  tide_future *total = submit("tide.add", NULL, fs, N);
  assert_int_equal(result_int(total), (int64_t)N * (N + 1) / 2);
  tide_future_release(total);
  for (int i = 0; i < N; i++) {
    tide_future_release(fs[i]);
    tide_future_release(sq[i]);
    free(argv[i]);
  }
  free(argv);
  free(fs);
  free(sq);
  free(vals);
  free(lens);
}

static void test_as_completed_order(void **state)
{
  (void)state;
  /* indexes 0..3 sleep 0.9, 0.05, 0.5, 0.25 s: they finish 1, 3, 2, 0 */
  const char *argv[4] = {"[0.9, 0]", "[0.05, 1]", "[0.5, 2]", "[0.25, 3]"};
  tide_future *fs[4];
  tide_error err = {{0}};
  size_t order[4], idx;
  assert_int_equal(tide_map(C, "tide.sleep", 4, argv, NULL, fs, &err), 0);
  for (int i = 0; i < 4; i++) {
    if (tide_wait_any(C, 4, fs, 10, &order[i], &err) != 0)
      fail_msg("wait_any: %s", err.text);
    assert_int_equal(tide_future_status_get(fs[order[i]]), TIDE_FUTURE_FINISHED);
    assert_int_equal(result_int(fs[order[i]]), (int64_t)order[i]);
  }
  assert_int_equal(order[0], 1);
  assert_int_equal(order[1], 3);
  assert_int_equal(order[2], 2);
  assert_int_equal(order[3], 0);
  /* every one returned: nothing more to wait for */
  assert_int_equal(tide_wait_any(C, 4, fs, 1, &idx, &err), TIDE_ENOTFOUND);
  /* a timeout, with nothing finishing in time */
  tide_future *slow = submit("tide.sleep", "[2]", NULL, 0);
  double t0 = tide__now();
  assert_int_equal(tide_wait_any(C, 1, &slow, 0.2, &idx, &err), TIDE_ETIMEOUT);
  assert_true(tide__now() - t0 < 1.5);
  assert_int_equal(tide_future_status_get(slow), TIDE_FUTURE_PENDING);
  tide_future_release(slow);
  for (int i = 0; i < 4; i++)
    tide_future_release(fs[i]);
}

static void test_cancel(void **state)
{
  (void)state;
  tide_error err = {{0}};
  char *v = NULL;
  size_t len = 0;
  tide_future *slow = submit("tide.sleep", "[3, 1]", NULL, 0);
  tide_future *done = submit("tide.inc", "[1]", NULL, 0);
  assert_int_equal(result_int(done), 2);
  tide_future_cancel(slow);
  tide_future_cancel(done); /* a finished result is dropped too */
  assert_int_equal(tide_future_status_get(slow), TIDE_FUTURE_CANCELLED);
  assert_int_equal(tide_future_status_get(done), TIDE_FUTURE_CANCELLED);
  assert_int_equal(tide_future_result(slow, 5, &v, &len, &err), -ECANCELED);
  assert_non_null(strstr(err.text, "cancelled"));
  assert_null(v);
  /* a cancelled future cannot feed another task */
  tide_future *x = NULL;
  assert_int_equal(tide_submit(C, "tide.inc", "[{\"future\": 0}]", &slow, 1, &x, &err),
                   TIDE_EUSAGE);
  assert_null(x);
  assert_non_null(strstr(err.text, "cancelled"));
  /* the scheduler forgets both while the futures still exist */
  assert_scheduler_empty();
  size_t idx;
  assert_int_equal(tide_wait_any(C, 1, &slow, 1, &idx, &err), 0);
  assert_int_equal(idx, 0);
  tide_future_release(slow);
  tide_future_release(done);
}

static void test_errors(void **state)
{
  (void)state;
  tide_error err = {{0}};
  char *v = NULL;
  size_t len = 0;
  tide_future *bad = submit("tide.fail", "[\"boom\"]", NULL, 0);
  tide_future *dep = submit("tide.inc", "[{\"future\": 0}]", &bad, 1);
  assert_int_equal(tide_future_result(dep, 10, &v, &len, &err), TIDE_ETASK);
  assert_non_null(strstr(err.text, "boom"));
  assert_non_null(strstr(err.text, tide_future_key(bad))); /* the task that erred first */
  assert_int_equal(tide_future_status_get(bad), TIDE_FUTURE_ERROR);
  assert_non_null(strstr(tide_future_error(bad), "boom"));
  assert_non_null(tide_future_error(dep)); /* erred with its dependency */
  tide_future *ok = submit("tide.inc", "[1]", NULL, 0);
  tide_future *pair[2] = {ok, bad};
  char *vals[2];
  size_t lens[2];
  assert_int_equal(tide_gather(C, 2, pair, vals, lens, 10, &err), TIDE_ETASK);
  assert_null(vals[0]);
  tide_future_release(bad);
  tide_future_release(dep);
  tide_future_release(ok);

  /* refused before anything runs */
  tide_future *f = NULL, *g[2];
  assert_int_equal(tide_submit(C, "tide.nope", "[]", NULL, 0, &f, &err), TIDE_EGRAPH);
  assert_non_null(strstr(err.text, "tide.nope"));
  assert_int_equal(tide_submit(C, "no.such.fn", "[]", NULL, 0, &f, &err), TIDE_EGRAPH);
  assert_non_null(strstr(err.text, "no.such.fn"));
  assert_int_equal(tide_submit(C, "tide.inc", "[1", NULL, 0, &f, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "malformed JSON"));
  assert_int_equal(tide_submit(C, "tide.inc", "{\"a\": 1}", NULL, 0, &f, &err), TIDE_EUSAGE);
  assert_int_equal(tide_submit(C, "tide.inc", "[{\"future\": 1}]", NULL, 0, &f, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "future"));
  assert_int_equal(tide_submit(C, "tide.inc", "[{\"ref\": \"x\"}]", NULL, 0, &f, &err),
                   TIDE_EUSAGE);
  const char *argv[2] = {"[1]", "[oops]"};
  assert_int_equal(tide_map(C, "tide.inc", 2, argv, NULL, g, &err), TIDE_EUSAGE);
  assert_non_null(strstr(err.text, "element 1"));
  assert_null(f);
}

/* A bad builtin call is refused up front by the same check as a graph's,
 * with the same words, and reaches no scheduler: the client's key table
 * grows by nothing. */
static void test_builtin_call_checked(void **state)
{
  (void)state;
  tide_error err = {{0}}, gerr = {{0}};
  tide_future *f = NULL, *g[3] = {NULL, NULL, NULL};
  tide_graph *graph = NULL;
  static const char json[] = "{\"tasks\": {\"a\": {\"fn\": \"tide.inc\", \"args\": [\"one\"]}}}";
  assert_int_equal(tide_graph_parse(json, strlen(json), "graph.json", &graph, &gerr), TIDE_EGRAPH);
  assert_null(graph);
  uint64_t before = tide__client_keys(C)->next;
  unsigned nkeys = HASH_COUNT(tide__client_keys(C)->by_key);
  assert_int_equal(tide_submit(C, "tide.inc", "[\"one\"]", NULL, 0, &f, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.inc: argument 1 must be an integer, got string");
  /* the graph's message is the same, after where in the file */
  assert_non_null(strstr(gerr.text, err.text));
  assert_null(f);
  assert_int_equal(tide_submit(C, "tide.inc", "[1, 2]", NULL, 0, &f, &err), TIDE_EGRAPH);
  assert_string_equal(err.text, "tide.inc takes 1 argument, got 2");
  const char *argv[3] = {"[1]", "[2]", "[true]"};
  assert_int_equal(tide_map(C, "tide.inc", 3, argv, NULL, g, &err), TIDE_EGRAPH);
  assert_string_equal(
      err.text, "map of tide.inc, element 2: tide.inc: argument 1 must be an integer, got bool");
  assert_null(g[0]);
  assert_int_equal(tide__client_keys(C)->next, before);
  assert_int_equal(HASH_COUNT(tide__client_keys(C)->by_key), nkeys);
  /* a future stands for a value known at run time: accepted */
  tide_future *one = submit("tide.inc", "[1]", NULL, 0);
  assert_int_equal(tide_submit(C, "tide.inc", NULL, &one, 1, &f, &err), 0);
  char *v = NULL;
  size_t len = 0;
  assert_int_equal(tide_future_result(f, 10, &v, &len, &err), 0);
  free(v);
  tide_future_release(f);
  tide_future_release(one);
}

/* The graph path and futures share one client and one key table. */
static void test_graph_and_futures_together(void **state)
{
  (void)state;
  tide_error err = {{0}};
  tide_graph *g = NULL;
  char *values = NULL;
  size_t len = 0;
  const char *json = "{\"tasks\": {\"x\": {\"fn\": \"tide.inc\", \"args\": [9]}}}";
  tide_future *f = submit("tide.inc", "[99]", NULL, 0);
  assert_int_equal(tide_graph_parse(json, strlen(json), "g", &g, &err), 0);
  assert_int_equal(tide_client_compute(C, g, 10, NULL, NULL, &values, &len, &err), 0);
  free(values);
  assert_int_equal(result_int(f), 100);
  assert_int_equal(tide_client_release(C, &err), 0);
  tide_future_release(f);
  tide_graph_destroy(g);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_submit_with_future_arguments, test_teardown),
      cmocka_unit_test_teardown(test_map_10000, test_teardown),
      cmocka_unit_test_teardown(test_as_completed_order, test_teardown),
      cmocka_unit_test_teardown(test_cancel, test_teardown),
      cmocka_unit_test_teardown(test_errors, test_teardown),
      cmocka_unit_test_teardown(test_builtin_call_checked, test_teardown),
      cmocka_unit_test_teardown(test_graph_and_futures_together, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
