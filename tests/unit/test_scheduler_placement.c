/* Unit tests of placement (most input bytes, then least occupancy, then
 * fewest processing), occupancy accounting and duration learning (docs/design.md §4). */
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

static void test_most_bytes_wins(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 4, 0);
  fx_worker(f, 2, 4, 0);
  fx_task(f, "big", "tide.bytes", NULL, NULL);
  fx_task(f, "small", "tide.bytes", NULL, NULL);
  run(f, "big");
  run(f, "small");
  assert_int_equal(sent_to("big"), 1);
  assert_int_equal(sent_to("small"), 2);
  fx_finish(f, "big", 1000000, 0.01);
  fx_finish(f, "small", 10, 0.01);
  fx_task(f, "sum", "tide.concat", "small", "big");
  run(f, "sum");
  assert_int_equal(sent_to("sum"), 1);
  /* w1 fetches nothing: its occupancy is just the unknown duration */
  assert_true(T(f, "sum")->occ > 0.49 && T(f, "sum")->occ < 0.51);
  fx_free(f);
}

static void test_transfer_cost_in_occupancy(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 4, 0);
  sworker *w2 = fx_worker(f, 2, 4, 0);
  fx_task(f, "a", "tide.bytes", NULL, NULL);
  fx_task(f, "b", "tide.bytes", NULL, NULL);
  fx_task(f, "c", "tide.concat", "a", "b");
  run(f, "c");
  assert_int_equal(sent_to("a"), 1);
  assert_int_equal(sent_to("b"), 2);
  fx_finish(f, "a", 300000000, 0.01); /* on w1 */
  tide__sw_set_status(f->s, w1, TIDE_W_PAUSED);
  fx_finish(f, "b", 100000000, 0.01); /* on w2 */
  /* w2 must fetch 300 MB at 100 MB/s: 3 s + 0.5 s unknown duration */
  assert_int_equal(sent_to("c"), 2);
  assert_true(w2->occupancy > 3.49 && w2->occupancy < 3.51);
  assert_true(f->s->total_occupancy > 3.49 && f->s->total_occupancy < 3.51);
  fx_finish(f, "c", 1, 0.01);
  assert_true(w2->occupancy == 0);
  assert_int_equal(w1->nbytes, 0); /* a released once c was done */
  fx_free(f);
}

static void test_ties_least_occupancy_then_processing(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 8, 0);
  fx_worker(f, 2, 8, 0);
  fx_worker(f, 3, 8, 0);
  /* no inputs: spread by occupancy */
  char k[8];
  for (int i = 0; i < 6; i++) {
    snprintf(k, sizeof k, "t%d", i);
    fx_task(f, k, "tide.noop", NULL, NULL);
    run(f, k);
  }
  int per[4] = {0};
  for (int i = 0; i < 6; i++) {
    snprintf(k, sizeof k, "t%d", i);
    per[sent_to(k)]++;
  }
  assert_int_equal(per[1], 2);
  assert_int_equal(per[2], 2);
  assert_int_equal(per[3], 2);
  fx_free(f);
}

static void test_duration_learning(void **st)
{
  fixture *f = fx_new(NULL);
  sprefix *p = tide__prefix_get(f->s, "x", 1);
  assert_true(tide__prefix_expected(f->s, p) == 0.5); /* unknown-task-duration */
  tide__prefix_sample(p, 2.0, 0);
  assert_true(p->avg == 2.0);
  tide__prefix_sample(p, 1.0, 0);
  assert_true(p->avg == 1.5);
  tide__prefix_running(p, 2.9); /* not beyond 2 * 1.5 */
  assert_true(p->avg == 1.5);
  tide__prefix_running(p, 3.5); /* beyond: dropped, counts 2 * longest */
  assert_true(p->avg < 0);
  assert_true(tide__prefix_expected(f->s, p) == 7.0);
  tide__prefix_running(p, 4.0);
  assert_true(tide__prefix_expected(f->s, p) == 8.0);
  tide__prefix_sample(p, 5.0, 0); /* next sample: first sample again */
  assert_true(p->avg == 5.0);
  assert_true(tide__prefix_expected(f->s, p) == 5.0);
  assert_int_equal(p->count, 3);
  fx_free(f);
}

static void test_finish_learns_prefix(void **st)
{
  fixture *f = fx_new(NULL);
  fx_worker(f, 1, 1, 0);
  fx_task(f, "a", "tide.sleep", NULL, NULL);
  fx_task(f, "b", "tide.sleep", NULL, NULL);
  run(f, "a");
  run(f, "b");
  fx_finish(f, "a", 1, 0.2);
  fx_finish(f, "b", 1, 0.4);
  json_t *j = tide__sched_prefixes_json(f->s);
  double avg =
      json_real_value(json_object_get(json_object_get(j, "tide.sleep"), "duration_average"));
  assert_true(avg > 0.299 && avg < 0.301);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "tide.sleep"), "count")),
                   2);
  json_decref(j);
  json_t *ts = tide__sched_task_stream_json(f->s, 0);
  assert_int_equal(json_array_size(ts), 2);
  json_decref(ts);
  fx_free(f);
}

static void test_adaptive_target_live(void **st)
{
  fixture *f = fx_new(NULL);
  char k[8];
  for (int i = 0; i < 30; i++) {
    snprintf(k, sizeof k, "t%d", i);
    fx_task(f, k, "tide.noop", NULL, NULL);
    run(f, k);
  }
  tide__target_inputs in;
  /* 30 queued x 0.5 s unknown, no workers: ceil(15 / 5) = 3 */
  assert_int_equal(tide__sched_adaptive_target(f->s, 5.0, &in), 3);
  assert_int_equal(in.nqueued, 30);
  fx_worker(f, 1, 1, 0);
  fx_worker(f, 2, 1, 0);
  fx_worker(f, 3, 1, 0);
  fx_worker(f, 4, 1, 0);
  fx_worker(f, 5, 1, 0);
  /* 10 processing + 20 queued, still 15 s of work: 3, but no idle worker
   * may be closed, so the target stays at 5 */
  assert_int_equal(tide__sched_adaptive_target(f->s, 5.0, &in), 5);
  assert_int_equal(in.nprocessing, 10);
  fx_free(f);
}

static void test_heartbeat_long_runner_and_pause(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w = fx_worker(f, 1, 1, 0);
  fx_task(f, "a", "tide.sleep", NULL, NULL);
  fx_task(f, "b", "tide.sleep", NULL, NULL);
  run(f, "a");
  fx_finish(f, "a", 1, 1.0); /* average 1 s */
  run(f, "b");
  assert_true(w->occupancy > 0.99 && w->occupancy < 1.01);
  worker_send(f, w,
              "{\"op\": \"heartbeat\", \"rss\": 1000, \"nbytes\": 0, "
              "\"status\": \"running\", \"running\": [[\"b\", 1.5]]}");
  assert_true(T(f, "b")->pfx->avg == 1.0); /* 1.5 < 2 * 1 */
  worker_send(f, w,
              "{\"op\": \"heartbeat\", \"rss\": 1000, \"nbytes\": 0, "
              "\"status\": \"paused\", \"running\": [[\"b\", 3.0]]}");
  /* beyond twice the average: dropped, counts 2 * 3 s, occupancy follows */
  assert_true(T(f, "b")->pfx->avg < 0);
  assert_true(w->occupancy > 5.99 && w->occupancy < 6.01);
  assert_int_equal(w->rss, 1000);
  assert_int_equal(w->status, TIDE_W_PAUSED);
  fx_task(f, "c", "tide.noop", NULL, NULL);
  run(f, "c");
  assert_int_equal(tstate(f, "c"), TIDE_TS_NO_WORKER); /* paused: no running worker */
  worker_send(f, w, "{\"op\": \"heartbeat\", \"status\": \"running\", \"running\": []}");
  assert_int_equal(tstate(f, "c"), TIDE_TS_PROCESSING);
  fx_free(f);
}

static void test_gather_asks_another_holder(void **st)
{
  fixture *f = fx_new(NULL);
  sworker *w1 = fx_worker(f, 1, 1, 0);
  sworker *w2 = fx_worker(f, 2, 1, 0);
  fx_task(f, "a", "tide.inc", NULL, NULL);
  run(f, "a");
  fx_finish(f, "a", 5, 0.01);
  tide__holder_add(f->s, T(f, "a"), w2); /* a replica */
  sclient *c = fx_client(f, 50);
  client_send(f, c, "{\"op\": \"gather\", \"id\": 3, \"keys\": [\"a\"]}");
  assert_int_equal(nsent(1, TIDE_OP_GET_DATA, "a"), 1);
  int64_t gid = f->s->next_gather_id - 1;
  char buf[256];
  snprintf(buf, sizeof buf, "{\"op\": \"data\", \"id\": %lld, \"data\": {}, \"missing\": [\"a\"]}",
           (long long)gid);
  worker_send(f, w1, buf);
  assert_int_equal(nsent(2, TIDE_OP_GET_DATA, "a"), 1);
  assert_null(last_sent(50, TIDE_OP_REPLY));
  assert_int_equal(T(f, "a")->nholders, 1);
  /* the second holder went away too: a is recomputed and the gather waits
   * for it instead of failing (a client never loses a result) */
  tide__sw_remove(f->s, w2, false, "killed");
  assert_null(last_sent(50, TIDE_OP_REPLY));
  assert_int_equal(tstate(f, "a"), TIDE_TS_PROCESSING);
  fx_finish(f, "a", 5, 0.01);
  assert_int_equal(nsent(1, TIDE_OP_GET_DATA, "a"), 2);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  tide__pk_kstr(&pk, "op", "data");
  tide__pk_kint(&pk, "id", gid);
  tide__pk_str(&pk, "data");
  msgpack_pack_map(&pk, 1);
  tide__pk_str(&pk, "a");
  tide__pk_bin(&pk, "\x05", 1);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  msgpack_unpack_next(&u, sb.data, sb.size, NULL);
  tide__sched_worker_msg(f->s, w1, &u.data);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  assert_int_equal(last_sent(50, TIDE_OP_REPLY)->ok, 1);
  assert_int_equal(f->s->counters.recomputed, 1);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_most_bytes_wins),
      cmocka_unit_test(test_transfer_cost_in_occupancy),
      cmocka_unit_test(test_ties_least_occupancy_then_processing),
      cmocka_unit_test(test_duration_learning),
      cmocka_unit_test(test_finish_learns_prefix),
      cmocka_unit_test(test_adaptive_target_live),
      cmocka_unit_test(test_heartbeat_long_runner_and_pause),
      cmocka_unit_test(test_gather_asks_another_holder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
