/* A whole worker against a fake scheduler on one loop: hello fields,
 * heartbeats, compute-task (inline and threaded), unknown function,
 * get-data, worker-to-worker fetch between two workers, missing-data for
 * an unreachable holder, free-keys forgetting a queued task,
 * acquire-replicas / add-keys, get-logs, and close ending the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "net/conn.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "worker/builtins.h"
#include "worker/registry.h"
#include "worker/worker.h"

/* A received message, kept packed. */
typedef struct rmsg {
  int who; /* index of the worker connection */
  tide__op op;
  msgpack_zone zone;
  msgpack_object obj;
  msgpack_sbuffer sb;
} rmsg;

static uv_loop_t loop;
static tide__server *srv;
static tide__conn *conns[2];
static int nconns, nclosed;
static rmsg msgs[4096];
static int nmsgs;
static tide_registry *reg;
static tide__wk *workers[2];

static void on_msg(tide__conn *c, const msgpack_object *msg, void *arg)
{
  int who = (int)(intptr_t)arg;
  if (tide__mp_op(msg) == TIDE_OP_HELLO) {
    msgpack_packer *pk = tide__conn_begin(c, TIDE_OP_HELLO, 4);
    tide__pk_kint(pk, "proto", TIDE_PROTO_VERSION);
    tide__pk_kstr(pk, "role", "scheduler");
    tide__pk_kstr(pk, "id", "fake");
    tide__pk_knum(pk, "heartbeat_interval", 0.05);
    tide__conn_end(c);
  }
  rmsg *m = &msgs[nmsgs++ % 4096];
  m->who = who;
  m->op = tide__mp_op(msg);
  msgpack_sbuffer_init(&m->sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &m->sb, msgpack_sbuffer_write);
  msgpack_pack_object(&pk, *msg);
  msgpack_zone_init(&m->zone, 1024);
  size_t off = 0;
  msgpack_unpack(m->sb.data, m->sb.size, &off, &m->zone, &m->obj);
}

static void on_closed(tide__conn *c, int status, void *arg)
{
  nclosed++;
}

static const tide__conn_ops ops = {on_msg, on_closed};

static void on_accept(tide__server *s, tide__conn *c, void *arg, const tide__conn_ops **o,
                      void **carg)
{
  *o = &ops;
  *carg = (void *)(intptr_t)nconns;
  conns[nconns++] = c;
}

static void wake(uv_timer_t *t)
{
}

/* Run the loop until a message op (with "key" == key when key) from
 * worker who arrives after index *from; returns it or NULL after 5 s. */
static rmsg *wait_msg(int *from, int who, tide__op op, const char *key)
{
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, wake, 10, 10);
  double end = tide__now() + 5;
  rmsg *found = NULL;
  while (!found && tide__now() < end) {
    for (; *from < nmsgs && !found; (*from)++) {
      rmsg *m = &msgs[*from];
      const char *k;
      size_t kl;
      if (m->who == who && m->op == op &&
          (!key ||
           (tide__mp_str(&m->obj, "key", &k, &kl) && kl == strlen(key) && memcmp(k, key, kl) == 0)))
        found = m;
    }
    if (!found)
      uv_run(&loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return found;
}

static void start_worker(int i, const char *name, int nthreads)
{
  tide__config cfg;
  tide_error err;
  tide__config_defaults(&cfg);
  tide__wk_opts o = {.scheduler = tide__server_address(srv), .name = name, .nthreads = nthreads};
  assert_int_equal(tide__wk_create(&loop, &o, &cfg, reg, &workers[i], &err), 0);
  assert_int_equal(tide__wk_start(workers[i], &err), 0);
}

/* compute-task KEY FN with one packed int arg, or a ref arg with deps. */
static void compute(int who, const char *key, const char *fn, int64_t arg, const char *ref,
                    const char *holder)
{
  msgpack_packer *pk = tide__conn_begin(conns[who], TIDE_OP_COMPUTE_TASK, 5);
  tide__pk_kstr(pk, "key", key);
  tide__pk_kstr(pk, "fn", fn);
  tide__pk_kstr(pk, "prefix", fn);
  tide__pk_str(pk, "args");
  msgpack_pack_array(pk, 1);
  if (ref) {
    msgpack_pack_map(pk, 1);
    tide__pk_kstr(pk, "ref", ref);
  } else if (strcmp(fn, "tide.sleep") == 0) {
    msgpack_pack_double(pk, (double)arg / 1000);
  } else {
    msgpack_pack_int64(pk, arg);
  }
  tide__pk_str(pk, "deps");
  msgpack_pack_map(pk, ref ? 1 : 0);
  if (ref) {
    tide__pk_str(pk, ref);
    msgpack_pack_map(pk, 2);
    tide__pk_kint(pk, "nbytes", 1);
    tide__pk_str(pk, "who_has");
    msgpack_pack_array(pk, 1);
    tide__pk_str(pk, holder);
  }
  tide__conn_end(conns[who]);
}

static int64_t get_int(rmsg *m, const char *f)
{
  int64_t v = -1;
  assert_true(tide__mp_int(&m->obj, f, &v));
  return v;
}

static void test_node(void **state)
{
  int seen = 0;
  rmsg *m;
  tide__log_init("worker", TIDE_LOG_WARNING);
  assert_int_equal(uv_loop_init(&loop), 0);
  tide__registry_create(&reg);
  tide__builtins_register(reg, true);
  tide_error err;
  assert_int_equal(tide__server_listen(&loop, "127.0.0.1", 0, on_accept, NULL, &srv, &err), 0);

  start_worker(0, "w0", 1);
  assert_non_null(m = wait_msg(&seen, 0, TIDE_OP_HELLO, NULL));
  const char *s;
  size_t n;
  assert_true(tide__mp_str(&m->obj, "name", &s, &n) && n == 2 && memcmp(s, "w0", 2) == 0);
  assert_true(tide__mp_str(&m->obj, "role", &s, &n) && n == 6);
  assert_int_equal(get_int(m, "nthreads"), 1);
  assert_int_equal(get_int(m, "proto"), 1);
  assert_int_equal(tide__mp_array(&m->obj, "functions")->size, 12);
  assert_true(tide__mp_str(&m->obj, "address", &s, &n));
  char addr0[128];
  snprintf(addr0, sizeof addr0, "%.*s", (int)n, s);
  assert_string_equal(addr0, tide__wk_address(workers[0]));

  /* heartbeats at the interval the scheduler gave */
  assert_non_null(m = wait_msg(&seen, 0, TIDE_OP_HEARTBEAT, NULL));
  assert_true(get_int(m, "rss") > 0);
  assert_int_equal(get_int(m, "nbytes"), 0);

  /* inline and threaded tasks, and an unknown function */
  int from = seen;
  compute(0, "a", "tide.inc", 41, NULL, NULL);
  compute(0, "z", "nope.fn", 1, NULL, NULL);
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_FINISHED, "a"));
  assert_int_equal(get_int(m, "nbytes"), 1);
  assert_int_equal(get_int(m, "thread"), 0);
  from = seen;
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_ERRED, "z"));
  assert_true(tide__mp_str(&m->obj, "error", &s, &n));
  assert_int_equal(n, strlen("unknown function nope.fn"));
  assert_memory_equal(s, "unknown function nope.fn", n);
  from = seen;
  compute(0, "b", "tide.bytes", 1000, NULL, NULL);
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_FINISHED, "b"));
  assert_int_equal(get_int(m, "nbytes"), 1003); /* bin16 header + 1000 */
  assert_int_equal(get_int(m, "thread"), 1);
  /* a result larger than limits.result-size errs where it is produced, and
   * the worker goes on (a lower limit stands in for 1 GiB less 4 KiB) */
  tide__limits l = TIDE__LIMITS_DEFAULT;
  l.result_size = 1000;
  tide__limits_set(&l);
  compute(0, "big", "tide.identity", 0, "b", "tcp://127.0.0.1:1");
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_ERRED, "big"));
  assert_true(tide__mp_str(&m->obj, "error", &s, &n));
  const char *too_big =
      "result of 1003 bytes is too large to send: limits.result-size is 1000 bytes";
  assert_int_equal(n, strlen(too_big));
  assert_memory_equal(s, too_big, n);
  /* tide.bytes stops at the limit less its 3-byte bin 16 header: 997 fits
   * exactly */
  compute(0, "b997", "tide.bytes", 997, NULL, NULL);
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_FINISHED, "b997"));
  assert_int_equal(get_int(m, "nbytes"), 1000);
  compute(0, "b998", "tide.bytes", 998, NULL, NULL);
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_ERRED, "b998"));
  assert_true(tide__mp_str(&m->obj, "error", &s, &n));
  const char *over = "tide.bytes: length must be between 0 and 997 (limits.result-size less the "
                     "msgpack header), got 998";
  assert_int_equal(n, strlen(over));
  assert_memory_equal(s, over, n);
  tide__limits_set(NULL);
  compute(0, "b2", "tide.bytes", 1000, NULL, NULL);
  assert_non_null(m = wait_msg(&from, 0, TIDE_OP_TASK_FINISHED, "b2"));
  assert_int_equal(get_int(m, "nbytes"), 1003);
  seen = from;

  /* get-data from the scheduler connection */
  msgpack_packer *pk = tide__conn_begin(conns[0], TIDE_OP_GET_DATA, 2);
  tide__pk_kint(pk, "id", 7);
  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, 2);
  tide__pk_str(pk, "a");
  tide__pk_str(pk, "nothere");
  tide__conn_end(conns[0]);
  assert_non_null(m = wait_msg(&seen, 0, TIDE_OP_DATA, NULL));
  assert_int_equal(get_int(m, "id"), 7);
  const msgpack_object_map *data = tide__mp_map(&m->obj, "data");
  assert_int_equal(data->size, 1);
  assert_int_equal(data->ptr[0].val.via.bin.size, 1);
  assert_int_equal((unsigned char)data->ptr[0].val.via.bin.ptr[0], 42);
  assert_int_equal(tide__mp_array(&m->obj, "missing")->size, 1);

  /* a second worker fetches "a" from the first */
  start_worker(1, "w1", 1);
  int seen1 = 0;
  assert_non_null(wait_msg(&seen1, 1, TIDE_OP_HELLO, NULL));
  compute(1, "c", "tide.inc", 0, "a", addr0);
  assert_non_null(m = wait_msg(&seen1, 1, TIDE_OP_TASK_FINISHED, "c"));
  /* ... and reports missing-data for a holder that cannot be reached */
  compute(1, "d", "tide.inc", 0, "gone", "tcp://127.0.0.1:1");
  assert_non_null(m = wait_msg(&seen1, 1, TIDE_OP_MISSING_DATA, NULL));
  assert_true(tide__mp_str(&m->obj, "dep", &s, &n) && n == 4 && memcmp(s, "gone", 4) == 0);
  assert_true(tide__mp_str(&m->obj, "worker", &s, &n));
  assert_int_equal(n, strlen("tcp://127.0.0.1:1"));

  /* free-keys forgets a queued task: only the first sleep finishes */
  from = seen;
  compute(0, "s1", "tide.sleep", 200, NULL, NULL);
  compute(0, "s2", "tide.sleep", 200, NULL, NULL);
  pk = tide__conn_begin(conns[0], TIDE_OP_FREE_KEYS, 1);
  tide__pk_str(pk, "keys");
  msgpack_pack_array(pk, 4);
  tide__pk_str(pk, "s2");
  tide__pk_str(pk, "b"); /* and drops held results */
  tide__pk_str(pk, "b2");
  tide__pk_str(pk, "b997");
  tide__conn_end(conns[0]);
  assert_non_null(wait_msg(&from, 0, TIDE_OP_TASK_FINISHED, "s1"));
  int from2 = from;
  /* nbytes now: a (1) + s1 (nil, 1) */
  for (;;) {
    assert_non_null(m = wait_msg(&from2, 0, TIDE_OP_HEARTBEAT, NULL));
    if (get_int(m, "nbytes") == 2)
      break;
  }
  for (int i = seen; i < nmsgs; i++) {
    const char *k;
    size_t kl;
    if (msgs[i].op == TIDE_OP_TASK_FINISHED && tide__mp_str(&msgs[i].obj, "key", &k, &kl))
      assert_false(kl == 2 && memcmp(k, "s2", 2) == 0);
  }

  /* acquire-replicas: w1 copies s1 from w0 and answers add-keys */
  pk = tide__conn_begin(conns[1], TIDE_OP_ACQUIRE_REPLICAS, 1);
  tide__pk_str(pk, "keys");
  msgpack_pack_map(pk, 2);
  tide__pk_str(pk, "s1");
  msgpack_pack_array(pk, 1);
  tide__pk_str(pk, addr0);
  tide__pk_str(pk, "nowhere");
  msgpack_pack_array(pk, 0);
  tide__conn_end(conns[1]);
  assert_non_null(m = wait_msg(&seen1, 1, TIDE_OP_ADD_KEYS, NULL));
  const msgpack_object_map *keys = tide__mp_map(&m->obj, "keys");
  assert_int_equal(keys->size, 1);
  assert_true(tide__mp_streq(&keys->ptr[0].key, "s1"));
  assert_int_equal(keys->ptr[0].val.via.i64, 1);
  assert_int_equal(tide__mp_array(&m->obj, "failed")->size, 1);

  /* get-logs */
  pk = tide__conn_begin(conns[1], TIDE_OP_GET_LOGS, 1);
  tide__pk_kint(pk, "id", 3);
  tide__conn_end(conns[1]);
  assert_non_null(m = wait_msg(&seen1, 1, TIDE_OP_REPLY, NULL));
  assert_int_equal(get_int(m, "id"), 3);
  assert_non_null(tide__mp_array(&m->obj, "lines"));

  /* close: both workers shut down and the loop ends clean */
  for (int i = 0; i < 2; i++) {
    pk = tide__conn_begin(conns[i], TIDE_OP_CLOSE, 1);
    tide__pk_kstr(pk, "reason", "test over");
    tide__conn_end(conns[i]);
  }
  tide__server_close(srv);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(nclosed, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(tide__wk_exit_status(workers[i]), 0);
    assert_null(tide__wk_fatal(workers[i]));
    tide__wk_destroy(workers[i]);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
  tide__registry_destroy(reg);
  for (int i = 0; i < nmsgs && i < 4096; i++) {
    msgpack_zone_destroy(&msgs[i].zone);
    msgpack_sbuffer_destroy(&msgs[i].sb);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
