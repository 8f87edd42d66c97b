/* Paging (?offset=&limit=) and ?fields= of the routes that list workers,
 * through tide__api_dispatch with 2,500 workers on a scheduler whose sending
 * layer does nothing (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"
#include "http/api.h"
#include "http/internal.h"
#include "scheduler/internal.h"

enum { NW = 2500 };

static msgpack_sbuffer g_sb;
static msgpack_packer g_pk;

static msgpack_packer *nop_begin(void *conn, tide__op op, uint32_t n)
{
  (void)conn;
  (void)op;
  (void)n;
  msgpack_sbuffer_clear(&g_sb);
  msgpack_packer_init(&g_pk, &g_sb, msgpack_sbuffer_write);
  return &g_pk;
}

static void nop_end(void *conn)
{
  (void)conn;
}

static void nop_close(void *conn, const char *reason)
{
  (void)conn;
  (void)reason;
}

static const tide__sched_tx nop_tx = {nop_begin, nop_end, nop_close};

typedef struct fixture {
  uv_loop_t loop;
  tide__config cfg;
  tide__sched *s;
  tide__api *a;
} fixture;

typedef struct answer {
  int done, status;
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
  tide__log_init("test", TIDE_LOG_WARNING);
  msgpack_sbuffer_init(&g_sb);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  tide__config_defaults(&f->cfg);
  assert_int_equal(tide__sched_create(&f->loop, &f->cfg, &f->s, NULL), 0);
  tide__sched_set_tx(f->s, &nop_tx);
  assert_int_equal(tide__api_create(f->s, NULL, NULL, &f->a), 0);
  for (int i = 0; i < NW; i++) {
    char name[32], addr[64];
    snprintf(name, sizeof name, "w%d", i);
    snprintf(addr, sizeof addr, "tcp://10.0.0.1:%d", 1000 + i);
    assert_non_null(
        tide__sw_add(f->s, (void *)(intptr_t)(i + 1), name, addr, "h", "", 2, 1000, NULL, 0, NULL));
  }
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
  msgpack_sbuffer_destroy(&g_sb);
  free(f);
  return 0;
}

static answer call(fixture *f, const char *path)
{
  answer ans = {0};
  tide__api_dispatch(f->a, "GET", path, NULL, 0, on_reply, &ans);
  for (int i = 0; i < 1000 && !ans.done; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(ans.done, 1);
  assert_non_null(ans.body);
  return ans;
}

static const char *wname(json_t *workers, size_t i)
{
  return json_string_value(json_object_get(json_array_get(workers, i), "name"));
}

static void test_pages(void **state)
{
  fixture *f = *state;
  answer a = call(f, "/api/v1/get_workers");
  assert_int_equal(a.status, 200);
  assert_int_equal(json_integer_value(json_object_get(a.body, "num_workers")), NW);
  assert_int_equal(json_array_size(json_object_get(a.body, "workers")), NW);
  assert_int_equal(json_integer_value(json_object_get(a.body, "nthreads")), 2 * NW);
  json_decref(a.body);

  /* join order, 100 at a time: every worker once over 25 pages */
  int seen = 0;
  for (int off = 0; off < NW; off += 100) {
    char path[96];
    snprintf(path, sizeof path, "/api/v1/get_workers?offset=%d&limit=100", off);
    a = call(f, path);
    assert_int_equal(a.status, 200);
    json_t *ws = json_object_get(a.body, "workers");
    assert_int_equal(json_array_size(ws), 100);
    assert_int_equal(json_integer_value(json_object_get(a.body, "num_workers")), NW);
    assert_int_equal(json_integer_value(json_object_get(a.body, "offset")), off);
    assert_int_equal(json_integer_value(json_object_get(a.body, "nthreads")), 2 * NW);
    for (size_t i = 0; i < 100; i++) {
      char want[32];
      snprintf(want, sizeof want, "w%d", off + (int)i);
      assert_string_equal(wname(ws, i), want);
      seen++;
    }
    json_decref(a.body);
  }
  assert_int_equal(seen, NW);

  /* the last partial page, and past the end */
  a = call(f, "/api/v1/get_workers?offset=2450&limit=100");
  assert_int_equal(json_array_size(json_object_get(a.body, "workers")), 50);
  assert_string_equal(wname(json_object_get(a.body, "workers"), 49), "w2499");
  json_decref(a.body);
  a = call(f, "/api/v1/get_workers?offset=9999");
  assert_int_equal(a.status, 200);
  assert_int_equal(json_array_size(json_object_get(a.body, "workers")), 0);
  assert_int_equal(json_integer_value(json_object_get(a.body, "offset")), NW);
  json_decref(a.body);

  /* identity pages its workers map the same way; limit=0 leaves them out */
  a = call(f, "/api/v1/identity?limit=0");
  assert_int_equal(a.status, 200);
  assert_int_equal(json_object_size(json_object_get(a.body, "workers")), 0);
  json_decref(a.body);
  a = call(f, "/api/v1/identity?offset=10&limit=5");
  json_t *m = json_object_get(a.body, "workers");
  assert_int_equal(json_object_size(m), 5);
  assert_non_null(json_object_get(m, "tcp://10.0.0.1:1010"));
  assert_non_null(json_object_get(m, "tcp://10.0.0.1:1014"));
  json_decref(a.body);
}

static void test_fields(void **state)
{
  fixture *f = *state;
  answer a = call(f, "/api/v1/get_workers?fields=name,status&limit=3");
  assert_int_equal(a.status, 200);
  json_t *ws = json_object_get(a.body, "workers");
  assert_int_equal(json_array_size(ws), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *w = json_array_get(ws, i);
    assert_int_equal(json_object_size(w), 2);
    assert_string_equal(json_string_value(json_object_get(w, "status")), "running");
  }
  json_decref(a.body);
}

static void test_bad_paging(void **state)
{
  fixture *f = *state;
  const char *bad[] = {"/api/v1/get_workers?limit=-1", "/api/v1/get_workers?offset=x",
                       "/api/v1/get_workers?limit=", "/api/v1/identity?limit=1.5",
                       "/api/v1/get_workers?fields=name,nope"};
  const char *mention[] = {"limit", "offset", "limit", "limit", "nope"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    answer a = call(f, bad[i]);
    if (a.status != 400)
      fail_msg("%s: status %d, want 400", bad[i], a.status);
    const char *msg = json_string_value(json_object_get(a.body, "error"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, mention[i]));
    json_decref(a.body);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_paging, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
