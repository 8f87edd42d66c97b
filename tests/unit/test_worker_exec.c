/* Execution threads: many jobs complete once each with right results,
 * completions are batched, pausing holds jobs, cancelled jobs skip, the
 * running list reports elapsed time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "worker/builtins.h"
#include "worker_testutil.h"

typedef struct ctx {
  tide__exec *ex;
  int done, ok, cancelled;
  int64_t sum;
  int target;
  int wakeups;
} ctx;

static tide_registry *reg;
static uv_loop_t loop;

static int setup(void **state)
{
  tide__registry_create(&reg);
  tide__builtins_register(reg, true);
  return uv_loop_init(&loop);
}

static int teardown(void **state)
{
  tide__registry_destroy(reg);
  return uv_loop_close(&loop);
}

static void on_done(tide__wk_call *job, void *arg)
{
  ctx *c = arg;
  c->done++;
  if (job->outcome == TIDE__CALL_CANCELLED) {
    c->cancelled++;
  } else if (job->outcome == TIDE__CALL_OK) {
    msgpack_zone z;
    msgpack_object o;
    size_t off = 0;
    msgpack_zone_init(&z, 64);
    msgpack_unpack(job->result, job->result_len, &off, &z, &o);
    if (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      c->sum += o.via.i64;
    msgpack_zone_destroy(&z);
    c->ok++;
  }
  tide__wk_call_clear(job);
  if (c->done == c->target)
    uv_stop(&loop);
}

static void make_job(tide__wk_call *j, const char *fn, int64_t x)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  memset(j, 0, sizeof *j);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 1);
  if (strcmp(fn, "tide.sleep") == 0)
    msgpack_pack_double(&pk, (double)x / 1000);
  else
    msgpack_pack_int64(&pk, x);
  j->fn = tide__registry_find(reg, fn, strlen(fn), NULL);
  j->key = fn;
  j->args_len = sb.size;
  j->args = msgpack_sbuffer_release(&sb);
  atomic_init(&j->cancelled, false);
}

static void stop_loop(uv_timer_t *t)
{
  uv_stop(t->loop);
}

static void run_for(uint64_t ms)
{
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, stop_loop, ms, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void close_exec(ctx *c)
{
  tide__exec_close(c->ex);
  uv_run(&loop, UV_RUN_DEFAULT); /* runs the close callback; loop ends clean */
}

static void test_many_jobs(void **state)
{
  enum { N = 20000 };
  ctx c = {.target = N};
  tide_error err;
  assert_int_equal(tide__exec_create(&loop, 2, on_done, &c, &c.ex, &err), 0);
  tide__wk_call *jobs = calloc(N, sizeof *jobs);
  for (int i = 0; i < N; i++) {
    make_job(&jobs[i], "tide.inc", i);
    tide__exec_submit(c.ex, &jobs[i]);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.done, N);
  assert_int_equal(c.ok, N);
  assert_int_equal(c.sum, (int64_t)N * (N + 1) / 2); /* sum of i + 1 */
  int threads[3] = {0};
  for (int i = 0; i < N; i++)
    threads[jobs[i].thread]++;
  assert_int_equal(threads[0], 0);
  assert_int_equal(threads[1] + threads[2], N);
  close_exec(&c);
  free(jobs);
}

static void test_pause_cancel(void **state)
{
  ctx c = {.target = 3};
  tide_error err;
  tide__wk_call j[3];
  assert_int_equal(tide__exec_create(&loop, 1, on_done, &c, &c.ex, &err), 0);
  tide__exec_set_paused(c.ex, true);
  for (int i = 0; i < 3; i++) {
    make_job(&j[i], "tide.inc", 10);
    tide__exec_submit(c.ex, &j[i]);
  }
  atomic_store(&j[1].cancelled, true);
  run_for(100);
  assert_int_equal(c.done, 0);
  assert_int_equal(tide__exec_queued(c.ex), 3);
  tide__exec_set_paused(c.ex, false);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.done, 3);
  assert_int_equal(c.cancelled, 1);
  assert_int_equal(c.ok, 2);
  assert_int_equal(c.sum, 22);
  close_exec(&c);
}

static void test_running(void **state)
{
  ctx c = {.target = 1};
  tide_error err;
  tide__wk_call j;
  assert_int_equal(tide__exec_create(&loop, 2, on_done, &c, &c.ex, &err), 0);
  make_job(&j, "tide.sleep", 300);
  tide__exec_submit(c.ex, &j);
  run_for(150);
  assert_int_equal(tide__exec_busy(c.ex), 1);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  tide__exec_pack_running(c.ex, &pk);
  msgpack_zone z;
  msgpack_object o;
  size_t off = 0;
  msgpack_zone_init(&z, 256);
  assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
  assert_int_equal(o.via.array.size, 1);
  msgpack_object *e = o.via.array.ptr[0].via.array.ptr;
  assert_int_equal(e[0].via.str.size, strlen("tide.sleep"));
  assert_true(e[1].via.f64 >= 0.1 && e[1].via.f64 < 0.3);
  msgpack_zone_destroy(&z);
  msgpack_sbuffer_destroy(&sb);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.ok, 1);
  assert_int_equal(tide__exec_busy(c.ex), 0);
  close_exec(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_jobs),
      cmocka_unit_test(test_pause_cancel),
      cmocka_unit_test(test_running),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
