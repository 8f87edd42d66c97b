/* Unit tests of retire_workers (docs/design.md §6) without sockets: replicas
 * through acquire-replicas/add-keys, draining, undo with reasons, timeout,
 * and no recomputation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_scheduler_fake.h"

typedef struct outcome {
  int calls;
  char retired[8][32];
  int nretired;
  char notr[8][32];
  char reason[8][256];
  int nnot;
} outcome;

static void done(tide__sched *s, const tide__retire_result *r, void *arg)
{
  outcome *o = arg;
  o->calls++;
  for (size_t i = 0; i < r->nretired && i < 8; i++)
    snprintf(o->retired[o->nretired++], 32, "%s", r->retired[i]);
  for (size_t i = 0; i < r->nnot_retired && i < 8; i++) {
    snprintf(o->notr[o->nnot], 32, "%s", r->not_retired[i]);
    snprintf(o->reason[o->nnot++], 256, "%s", r->reasons[i]);
  }
}

/* Deliver add-keys {keys: {key: nbytes}, failed: [failed]} from w. */
static void add_keys(fixture *f, sworker *w, const char *key, int64_t nbytes, const char *failed)
{
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  tide__pk_kstr(&pk, "op", "add-keys");
  tide__pk_str(&pk, "keys");
  msgpack_pack_map(&pk, key ? 1 : 0);
  if (key)
    tide__pk_kint(&pk, key, nbytes);
  tide__pk_str(&pk, "failed");
  msgpack_pack_array(&pk, failed ? 1 : 0);
  if (failed)
    tide__pk_str(&pk, failed);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
  tide__sched_worker_msg(f->s, w, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

static void setup_data(fixture *f)
{
  fx_task(f, "a", "tide.bytes", NULL, NULL);
  tide__task_want(f->s, T(f, "a"), 1);
  tide__task_activate(f->s, T(f, "a"));
  assert_int_equal(sent_to("a"), 1);
  fx_finish(f, "a", 1000, 0.01);
}

static void test_retire_moves_data(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  setup_data(f);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  sworker *w3 = fx_worker(f, 3, 1, 0);
  w3->nbytes = 5000; /* w2 has the least memory in use */
  outcome o = {0};
  char *names[] = {"w1", "nope"};
  assert_int_equal(tide__sched_retire_workers(f->s, names, 2, done, &o, NULL), 0);
  assert_int_equal(w1->status, TIDE_W_CLOSING_GRACEFULLY);
  assert_int_equal(nsent(2, TIDE_OP_ACQUIRE_REPLICAS, "a"), 1);
  assert_int_equal(nsent(3, TIDE_OP_ACQUIRE_REPLICAS, NULL), 0);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 0);
  add_keys(f, w2, "a", 1000, NULL);
  assert_int_equal(nsent(1, TIDE_OP_CLOSE, NULL), 1);
  assert_int_equal(f->s->nworkers, 2);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.nretired, 1);
  assert_string_equal(o.retired[0], "w1");
  assert_int_equal(o.nnot, 1);
  assert_string_equal(o.notr[0], "nope");
  assert_string_equal(o.reason[0], "unknown worker");
  assert_int_equal(tstate(f, "a"), TIDE_TS_MEMORY);
  assert_int_equal(T(f, "a")->holders[0].w, w2);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.recomputed, 0);
  assert_int_equal(c.retired, 1);
  assert_int_equal(c.bytes_transferred, 1000);
  fx_free(f);
}

static void test_retire_drains_running_tasks(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_task(f, "long", "tide.sleep", NULL, NULL);
  tide__task_activate(f->s, T(f, "long"));
  assert_int_equal(sent_to("long"), 1);
  outcome o = {0};
  char *names[] = {"w1"};
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  fx_task(f, "new", "tide.noop", NULL, NULL);
  tide__task_activate(f->s, T(f, "new"));
  assert_int_equal(sent_to("new"), 2); /* closing_gracefully gets no new task */
  assert_int_equal(nsent(1, TIDE_OP_CLOSE, NULL), 0);
  stask *t = T(f, "long");
  tide__task_finished(f->s, w1, t, 8, 1, 2, 0); /* unwanted: released at once */
  assert_int_equal(nsent(1, TIDE_OP_CLOSE, NULL), 1);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.nretired, 1);
  fx_free(f);
}

static void test_retire_impossible_is_undone(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  setup_data(f);
  outcome o = {0};
  char *names[] = {"w1"};
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.nnot, 1);
  assert_non_null(strstr(o.reason[0], "no running worker"));
  assert_int_equal(w1->status, TIDE_W_RUNNING);
  assert_int_equal(nsent(1, TIDE_OP_CLOSE, NULL), 0);
  /* the destination would exceed its memory limit */
  sworker *w2 = fx_worker(f, 2, 1, 500);
  memset(&o, 0, sizeof o);
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.nnot, 1);
  assert_non_null(strstr(o.reason[0], "memory limit"));
  /* a failed copy undoes too */
  w2->memory_limit = 0;
  memset(&o, 0, sizeof o);
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  add_keys(f, w2, NULL, 0, "a");
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(o.nnot, 1);
  assert_non_null(strstr(o.reason[0], "could not copy"));
  assert_int_equal(w1->status, TIDE_W_RUNNING);
  tide__sched_counters c;
  tide__sched_counters_get(f->s, &c);
  assert_int_equal(c.retire_failed, 3);
  fx_free(f);
}

static void tweak_timeout(tide__config *c)
{
  c->scheduler.retire_timeout = 0.05;
}

static void test_retire_timeout(void **st)
{
  fixture *f = fx_new(tweak_timeout);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_task(f, "long", "tide.sleep", NULL, NULL);
  tide__task_activate(f->s, T(f, "long"));
  outcome o = {0};
  char *names[] = {"w1"};
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  double t0 = tide__now();
  while (o.calls == 0 && tide__now() - t0 < 5)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(o.nnot, 1);
  assert_non_null(strstr(o.reason[0], "retire-timeout"));
  assert_int_equal(w1->status, TIDE_W_RUNNING);
  fx_free(f);
}

static void test_retire_after_cancel(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_task(f, "long", "tide.sleep", NULL, NULL);
  tide__task_want(f->s, T(f, "long"), 1);
  tide__task_activate(f->s, T(f, "long"));
  assert_int_equal(sent_to("long"), 1);
  outcome o = {0};
  char *names[] = {"w1"};
  tide__sched_retire_workers(f->s, names, 1, done, &o, NULL);
  assert_int_equal(w1->status, TIDE_W_CLOSING_GRACEFULLY);
  /* the client lets go: the task is cancelled, w1 is idle and goes */
  tide__task_want(f->s, T(f, "long"), -1);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(nsent(1, TIDE_OP_CLOSE, NULL), 1);
  assert_int_equal(o.nretired, 1);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retire_moves_data),
      cmocka_unit_test(test_retire_drains_running_tasks),
      cmocka_unit_test(test_retire_impossible_is_undone),
      cmocka_unit_test(test_retire_timeout),
      cmocka_unit_test(test_retire_after_cancel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
